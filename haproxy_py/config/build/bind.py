"""'bind' and its parameters."""

from __future__ import annotations

import re
from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config import tls as TLS
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.diagnostics import did_you_mean
from haproxy_py.config.grammar import AddressError, c_atoi, parse_address, parse_int
from haproxy_py.config.model import Bind
from haproxy_py.config.tokenizer import Line, expand_address_env

#: 2.6's words for a bind parameter given without its value (the TLS ones: config/tls.py)
_MISSING = {
    "accept-netscaler-cip": "'accept-netscaler-cip' : missing value", "backlog": "'backlog' : missing value",
    "ca-sign-file": "'ca-sign-file' : missing CAfile path", "ca-sign-pass": "'ca-sign-pass' : missing CAkey password",
    "expose-fd": "'expose-fd' : missing fd type", "gid": "'gid' : missing value",
    "group": "'group' : missing group name", "id": "'id' : expects an integer argument",
    "interface": "'interface' : missing interface name", "level": "'level' : missing level",
    "maxconn": "'maxconn' : missing value", "mode": "'mode' : missing or invalid mode '' (octal integer expected)",
    "mss": "'mss' : missing MSS value", "name": "'name' : missing name",
    "namespace": "'namespace' : missing namespace id", "nice": "'nice' : missing value",
    "npn": "'npn' : missing the comma-delimited NPN protocol suite",
    "process": "'process' : '' is not a valid number/range. It supports numbers from 1 to 1.",
    "proto": "'proto' : missing value", "severity-output": "'severity-output' : missing severity format",
    "shards": "'shards' : missing value", "tcp-ut": "'tcp-ut' : missing TCP User Timeout value",
    "thread": "'' : '' is not a valid number/range. It supports numbers from 1 to 64.",
    "tls-ticket-keys": "'tls-ticket-keys' : missing TLS ticket keys file path", "uid": "'uid' : missing value",
    "user": "'user' : missing user name"}


def _set_error(v: str, top: int) -> str | None:
    """2.6's error for a 'process'/'thread' set (all, odd, even, N, N-M, N- up to the top; the bounds
    swapped when reversed), or None: junk after the numbers has no range hint, a number out of
    1..top has one."""
    if v in ("all", "odd", "even"):
        return None
    m = re.match(r"([0-9]*)(?:-([0-9]*))?", v)
    assert m is not None
    lo = int(m.group(1) or 0)
    hi = lo if m.group(2) is None else int(m.group(2) or top)
    if m.end() != len(v):
        return f"'{v}' is not a valid number/range."
    lo, hi = min(lo, hi), max(lo, hi)
    if lo < 1 or hi > top:
        return f"'{v}' is not a valid number/range. It supports numbers from 1 to {top}."
    return None


def thread_set(v: str, top: int = 64) -> frozenset[int]:
    """The thread numbers of a valid set (all, odd, even, N, N-M, N-)."""
    if v == "all":
        return frozenset(range(1, top + 1))
    if v in ("odd", "even"):
        return frozenset(range(1 if v == "odd" else 2, top + 1, 2))
    lo_s, dash, hi_s = v.partition("-")
    lo = int(lo_s or 0)
    hi = (int(hi_s) if hi_s else top) if dash else lo
    return frozenset(range(min(lo, hi), max(lo, hi) + 1))


class BindMixin(BuilderBase):
    def kw_bind(self, ln: Line, p: ProxyState) -> None:
        if self.capwarn(ln, p, K.FE):
            return
        self.do_bind(ln, p)

    def _bind_id(self, ln: Line, p: ProxyState, w: list[str], j: int, addrs: list[Any], pre: str) -> int:
        """bind 'id N': the listener's id (so_id, 2.6's luid), as 2.6's bind_parse_id: strtol base
        10 kept in an int, > 0, one socket only, unique in the proxy."""
        arg = w[j + 1]
        if sum(len(a.ports) if a.kind in ("ipv4", "ipv6") else 1 for a in addrs) != 1:  # checked first
            self.fail(ln, pre + "'id' can only be used with a single socket", j)
        m = re.match(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)", arg)
        if m is None or m.end() != len(arg):
            self.fail(ln, pre + f"'id' : expects an integer argument, found '{arg}'", j + 1)
        v = min(int(m.group(2)), 1 << 63) * (-1 if m.group(1) == "-" else 1)
        v = max(min(v, (1 << 63) - 1), -(1 << 63)) & 0xFFFFFFFF
        if v & 0x80000000:
            v -= 1 << 32
        if v <= 0:
            self.fail(ln, pre + "'id' : custom id has to be > 0", j + 1)
        used: dict[int, str] = p.f.setdefault("listener_ids", {})
        if v in used:
            self.fail(ln, pre + f"'id' : custom id {v} already used at {used[v]}", j + 1)
        used[v] = f"{ln.file}:{ln.lineno} ('bind {w[1]}')"
        return v

    def do_bind(self, ln: Line, p: ProxyState, offset: int = 0) -> None:
        w = ln.words
        if len(w) < 2:
            self.fail(ln, "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.", 0)
        addrs = []
        for part in w[1].split(","):
            try:
                addr, _ = parse_address(expand_address_env(part, self.env), need_port=True, allow_range=True)
            except AddressError as e:
                self.fail(ln, f"'bind' : {e.message}", 1)
            addrs.append(addr)
        params: list[tuple[str, object]] = []
        j = 2
        while j < len(w):
            k = w[j]
            nargs = K.BIND_KEYWORDS.get(k)
            if nargs is None:
                sug = did_you_mean(k, list(K.BIND_KEYWORDS))
                msg = f"'bind {w[1]}' in section '{p.kind}': unknown keyword '{k}'"
                msg += f"; did you mean '{sug}' maybe ?" if sug else "."
                self.alert(ln, msg, j, suggestion=sug)
                raise _Skip
            pre = f"'bind {w[1]}' in section '{p.kind}' : "
            if nargs and j + 1 >= len(w):
                if k in TLS.MISSING:
                    self.fail(ln, pre + TLS.MISSING[k], j)
                if k in _MISSING:
                    self.fail(ln, pre + _MISSING[k], j)
                self.fail(ln, pre + f"'{k}' : missing value.", j, ours=True)
            if k == "process":  # PROCS[/THREADS], deprecated
                procs, slash, threads = w[j + 1].partition("/")
                err = _set_error(procs, 1) or (_set_error(threads, 64) if slash else None)
                if err:
                    self.fail(ln, pre + f"'process' : {err}", j + 1)
                self.warn(ln, pre + f"'process {w[j + 1]}' on 'bind' lines is deprecated and will be removed in "
                          "2.7." + (f" Please use 'thread {threads}' instead." if slash else ""), j)
            if k == "thread":  # [GROUP/]THREADS
                v = w[j + 1]
                gm = re.match(r"([0-9]*)/", v)
                if gm is not None:
                    group = int(gm.group(1) or 0)
                    if group != 1:
                        self.fail(ln, pre + f"'{v}' thread-group number must be between 1 and 1 (was {group})",
                                  j + 1)
                    v = v[gm.end():]
                err = _set_error(v, 64)
                if err:
                    self.fail(ln, pre + f"'{v}' : {err}", j + 1)
                # the threads it names are checked against nbthread after parsing (freeze.py)
                sets = p.f.setdefault("bind_threads", {}).setdefault((ln.file, ln.lineno, w[1]), [])
                if any(g != (gm is not None) for g, _ in sets):
                    self.fail(ln, pre + f"'{w[j + 1]}' multiple thread-groups are not supported", j + 1)
                sets.append((gm is not None, thread_set(v)))
            if k == "nice":  # read as atol, then checked even though it has no effect here
                nv = c_atoi(w[j + 1])
                if not -1024 <= nv <= 1024:
                    self.fail(ln, pre + f"'nice' : invalid value {nv}, allowed range is -1024..1024", j + 1)
            if not self.supported(S.BIND, ln, k, j):
                j += 1 + nargs
                continue
            if nargs:
                val: object = w[j + 1]
                if k == "mss":  # 2.6: atoi, then 1..65535 in absolute value
                    val = c_atoi(w[j + 1])
                    if not val or abs(val) > 65535:
                        self.fail(ln, pre + "'mss' : expects an MSS with and absolute value between 1 and 65535",
                                  j + 1)
                elif k == "id":
                    val = self._bind_id(ln, p, w, j, addrs, pre)
                elif k in ("maxconn", "backlog", "nice", "uid", "gid"):
                    iv = parse_int(w[j + 1])
                    if iv is None:
                        self.fail(ln, pre + f"'{k}' expects an integer argument (got '{w[j + 1]}'); HAProxy 2.6 would "
                                  "silently take it as 0, haproxy-py refuses it.", j + 1, ours=True)
                    val = iv
                    if k == "maxconn" and iv < 0:
                        self.fail(ln, pre + f"'maxconn' : invalid value {iv}, must be >= 0", j + 1)
                elif k == "mode":
                    try:
                        val = int(w[j + 1], 8)
                    except ValueError:
                        self.fail(ln, pre + f"'mode' : missing or invalid mode '{w[j + 1]}' (octal integer expected)",
                                  j + 1)
                params.append((k, val))
                j += 2
            else:
                params.append((k, True))
                j += 1
        tls = TLS.bind_tls(self, ln, p, params) if any(k in TLS.BIND_PARAMS for k, _ in params) else None
        p.binds.append(Bind(tuple(addrs), tuple(params), ln.loc(0), tls))
