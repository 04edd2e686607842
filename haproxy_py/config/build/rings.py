"""``ring NAME`` sections, checked with 2.6's messages (the ring itself: log/ring.py), and the
``log ring@NAME`` targets that name them."""

from __future__ import annotations

from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.keywords import RING_FORMATS
from haproxy_py.config.diagnostics import POST
from haproxy_py.config.grammar import AddressError, parse_address, parse_size, parse_time
from haproxy_py.config.model import Config
from haproxy_py.config.tokenizer import Line


class RingsMixin(BuilderBase):
    def ring_section(self, ln: Line, name: str) -> bool:
        """A new ring: False (after the alert) without a name or with a taken one."""
        if not name:
            self.alert(ln, "missing ring name.", 0)
            return False
        rings: dict[str, list[int]] = self.__dict__.setdefault("ring_sizes", {})
        if name in rings or name in ("buf0", "stdout", "stderr"):
            self.alert(ln, f"sink named '{name}' already exists.", 1)
            return False
        #: [size, maxlen, has servers, timeout connect, timeout server]
        rings[name] = [16384, 0, 0, 0, 0]
        return True

    def ring_kw(self, ln: Line, name: str) -> None:
        w = ln.words
        k = w[0]
        st = self.__dict__["ring_sizes"][name]
        if k == "description":
            if len(w) < 2:
                self.alert(ln, "missing ring description text.", 0)
        elif k == "format":
            f = w[1] if len(w) > 1 else ""
            if f not in RING_FORMATS:
                self.alert(ln, f"unknown format '{f}'.", 1)
        elif k in ("maxlen", "size"):
            a = w[1] if len(w) > 1 else ""
            v = parse_size(a) if a else None
            if not v:
                self.alert(ln, f"invalid size '{a}' for new sink buffer.", 1)
                return
            if k == "maxlen":
                st[1] = v
            elif v < st[0]:
                self.warn(ln, f"ignoring new size '{a}' that is smaller than current size '{st[0]}' for ring "
                              f"'{name}'.", 1)
            else:
                st[0] = v
        elif k == "timeout":
            if len(w) > 1 and w[1] in ("connect", "server"):
                if len(w) < 3 or not w[2]:
                    self.alert(ln, f"'timeout {w[1]}' expects <time> as argument.", 1)
                    return
                tv = parse_time(w[2])
                if tv.error == "junk":
                    self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: unexpected character '{tv.char}' in "
                                 f"argument to <timeout {w[1]}>.", ln.loc(2), line=ln.raw)
                    return
                st[3 if w[1] == "connect" else 4] = 1
            # 2.6 ignores other timeouts in a ring
        elif k == "server":
            if len(w) < 3:
                self.d.alert(f"[{ln.file}:{ln.lineno}] : 'server' expects <name> and <addr>[:<port>] as arguments.",
                             ln.loc(0), line=ln.raw)
                return
            try:
                addr, _ = parse_address(w[2], need_port=True)
            except AddressError as e:
                self.d.alert(f"[{ln.file}:{ln.lineno}] : 'server {name}/{w[1]}' : {e}", ln.loc(2), line=ln.raw)
                return
            if addr.kind not in ("ipv4", "ipv6"):
                self.alert(ln, f"'server {name}/{w[1]}': only TCP (ipv4/ipv6) ring servers are implemented by "
                               "haproxy-py (HAProxy 2.6 supports others).", 2, ours=True)
                return
            for p in w[3:]:
                if p not in ("check",):  # other server parameters are not implemented for rings
                    self.alert(ln, f"'server {name}/{w[1]}': parameter '{p}' of a ring server is not "
                                   "implemented by haproxy-py (HAProxy 2.6 supports it).", w.index(p), ours=True)
                    return
            st[2] = 1
        else:
            self.alert(ln, f"unknown statement '{k}'.", 0)

    def ring_end(self, name: str, loc: object) -> None:
        st = self.__dict__["ring_sizes"].get(name)
        if st is None:
            return
        if st[1] > st[0]:
            self.d.warning(f"ring '{name}' event max length '{st[1]}' exceeds size, forced to size '{st[0]}'.",
                           loc, phase=POST)  # type: ignore[arg-type]
        if st[2] and not (st[3] and st[4]):
            self.d.warning(f"missing timeouts for backend '{name}'.\n"
                           "   | While not properly invalid, you will certainly encounter various problems\n"
                           "   | with such a configuration. To fix this, please ensure that all following\n"
                           "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
                           loc, phase=POST)  # type: ignore[arg-type]

    def check_ring_targets(self, cfg: Config) -> None:
        """Every ``log ring@NAME`` names a ring section."""
        known = set(self.__dict__.get("ring_sizes", {}))
        targets = list(cfg.global_.logs)
        for p in cfg.proxies:
            targets.extend(t for t in p.logs if t is not None)
        for t in targets:
            if t.address.kind == "ring" and t.address.path not in known:
                self.d.alert(f"log: no ring section named '{t.address.path}' (haproxy-py's check).", t.loc,
                             phase=POST, ours=True)
