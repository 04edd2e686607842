"""``ring NAME`` sections, checked with 2.6's messages (the ring itself: log/ring.py), and the
``log ring@NAME`` targets that name them."""

from __future__ import annotations

from typing import Any

from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.diagnostics import POST
from haproxy_py.config.grammar import AddressError, parse_address, parse_address_list, parse_size, parse_time
from haproxy_py.config.keywords import RING_FORMATS
from haproxy_py.config.model import Config, LogForward
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


class LogForwardMixin(BuilderBase):
    """``log-forward NAME`` sections: bind (TCP), dgram-bind (UDP), log, maxconn, backlog,
    timeout client, with 2.6's messages."""

    def log_forward_section(self, ln: Line, name: str) -> bool:
        if not name:
            self.alert(ln, "missing name for ip-forward section.", 0)
            return False
        lfs: dict[str, dict[str, Any]] = self.__dict__.setdefault("log_forwards", {})
        prev = lfs.get(name)
        if prev is not None:
            self.d.alert(f"Parsing [{ln.file}:{ln.lineno}]: log-forward section '{name}' has the same name as "
                         f"another log-forward section declared at {prev['loc'].file}:{prev['loc'].line}.",
                         ln.loc(1), line=ln.raw)
            return False
        lfs[name] = {"loc": ln.loc(0), "binds": [], "dgram": [], "logs": [], "maxconn": 10, "backlog": 0,
                     "timeout": 0}
        return True

    def log_forward_kw(self, ln: Line, name: str) -> None:
        st = self.__dict__["log_forwards"][name]
        w = ln.words
        k = w[0]
        if k in ("bind", "dgram-bind"):
            if len(w) < 2:
                self.alert(ln, f"'{k}' expects {{<path>|[addr1]:port1[-end1]}}{{,[addr]:port[-end]}}... as "
                               "arguments.", 0)
                return
            if len(w) > 2:
                self.alert(ln, f"'{k}' parameter '{w[2]}' is not implemented by haproxy-py in a log-forward "
                               "section (HAProxy 2.6 supports it).", 2, ours=True)
                return
            try:
                addrs = parse_address_list(w[1], need_port=True, allow_range=False)
            except AddressError as e:
                self.alert(ln, f"'{k} {w[1]}' : {e}", 1)
                return
            if any(a.kind not in ("ipv4", "ipv6") for a in addrs):
                self.alert(ln, f"'{k} {w[1]}': only ipv4/ipv6 addresses are implemented by haproxy-py in a "
                               "log-forward section (HAProxy 2.6 supports others).", 1, ours=True)
                return
            st["binds" if k == "bind" else "dgram"].extend(addrs)
        elif k == "log":
            if len(w) == 2 and w[1] == "global":
                self.alert(ln, "'log global' is not implemented by haproxy-py in a log-forward section "
                               "(HAProxy 2.6 supports it).", 1, ours=True)
                return
            if len(w) < 3:
                self.alert(ln, "log : expects <address> and <facility> or global as arguments", 0)
                return
            from haproxy_py.config.build.state import _Skip

            try:
                t = self.parse_log(ln)
            except _Skip:
                return
            if t.address.kind == "ring" or t.sample:
                self.alert(ln, "a ring or 'sample' target in a log-forward section is not implemented by "
                               "haproxy-py (HAProxy 2.6 supports it).", 1, ours=True)
                return
            fmt = w[w.index("format") + 1] if "format" in w[2:] else None
            st["logs"].append((t, fmt))
        elif k in ("maxconn", "backlog"):
            if len(w) < 2 or not w[1]:
                self.alert(ln, f"'{k}' expects an integer argument.", 0)
                return
            v = _atol(w[1])
            st[k] = v
        elif k == "timeout" and len(w) > 1 and w[1] == "client":
            if len(w) < 3 or not w[2]:
                self.alert(ln, "missing timeout client value.", 1)
                return
            st["timeout"] = self.time_arg(ln, 2, "timeout client")
        elif k == "timeout":
            self.alert(ln, f"unknown keyword '{' '.join(w[:2])}' in log-forward section.", 0)
        else:
            self.alert(ln, f"unknown keyword '{k}' in log-forward section.", 0)

    def log_forward_models(self) -> tuple[LogForward, ...]:
        out = []
        for name, st in self.__dict__.get("log_forwards", {}).items():
            out.append(LogForward(name, tuple(st["binds"]), tuple(st["dgram"]), tuple(st["logs"]),
                                  st["maxconn"], st["backlog"], st["timeout"], st["loc"]))
        return tuple(out)


def _atol(text: str) -> int:
    """C's atol: the leading digits (0 without)."""
    i = 0
    neg = text[:1] == "-"
    if text[:1] in "+-":
        i = 1
    j = i
    while j < len(text) and text[j].isdigit():
        j += 1
    v = int(text[i:j]) if j > i else 0
    return -v if neg else v
