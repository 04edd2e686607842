"""TCP keep-alive of the client and server connections: ``option tcpka|clitcpka|srvtcpka`` and
``clitcpka-cnt|idle|intvl``, ``srvtcpka-cnt|idle|intvl`` (2.6's proxy_parse_tcpka_*), and
``option nolinger``.

What the proxy ends with (``freeze.py``): ``Proxy.cli_tcpka`` / ``srv_tcpka``, (cnt, idle, intvl)
when the option is on for that side (0: the kernel's own value), None when off. The engine sets
SO_KEEPALIVE and the three TCP_KEEP* options at accept (client side, a frontend's) and at connect
(server side, the backend's), as 2.6 does; 2.6 reads the counts with ``strtol`` and the times in
seconds with its time parser, and keeps them in unsigned ints.
"""

from __future__ import annotations

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.tokenizer import Line

_UNITS = {"s": (1, 1), "us": (1, 1000000), "ms": (1, 1000), "m": (60, 1), "h": (3600, 1), "d": (86400, 1)}


def parse_seconds(text: str) -> tuple[int | None, str]:
    """2.6's parse_time_err(text, TIME_UNIT_S): (seconds, "") or (None, error kind: "junk:C",
    "over", "under"); with "trail:C" a valid value followed by junk (2.6 only warns)."""
    if not text or not text[0].isdigit():
        return None, "junk:" + (text[:1] or "\0")
    i = 0
    while i < len(text) and text[i].isdigit():
        i += 1
    value = int(text[:i])
    rest = text[i:]
    trail = ""
    if not rest:
        mult, div = 1, 1
    else:
        unit = rest[:2] if rest[:2] in ("us", "ms") else rest[:1]
        if unit not in _UNITS:
            return None, "junk:" + rest[0]
        mult, div = _UNITS[unit]
        if rest[len(unit):]:
            trail = "trail:" + rest[len(unit)]
    res = (value * mult + div - 1) // div
    if res >= 0x80000000:
        return None, "over"
    if not res and value:
        return None, "under"
    return res, trail


def _c_strtol(text: str) -> tuple[int, str]:
    """strtol(text, &end, 0) kept in an unsigned int: (value, the rest from the first bad char)."""
    from haproxy_py.actions.sockopt import c_strtoul

    v, end = c_strtoul(text, True)
    return v & 0xFFFFFFFF, text[end:] if end else text


def tcpka_of(p: ProxyState, side: str) -> tuple[int, int, int] | None:
    """(cnt, idle, intvl) of a side ("cli", "srv") whose keep-alive is on, None when off."""
    f = p.f
    if not f.get(side + "_ka"):
        return None
    pre = "clitcpka_" if side == "cli" else "srvtcpka_"
    return (f.get(pre + "cnt", 0), f.get(pre + "idle", 0), f.get(pre + "intvl", 0))


class SockoptsMixin(BuilderBase):
    def _tcpka_side(self, ln: Line, p: ProxyState) -> bool:
        """The keyword's proxy side is present (else 2.6's warning; the value is kept anyway)."""
        kw = ln.words[0]
        need = K.FE if kw.startswith("cli") else K.BE
        if p.is_defaults or p.caps & need:
            return True
        what = "frontend" if need == K.FE else "backend"
        self.warn(ln, f"{kw} will be ignored because {p.type_str} '{p.name}' has no {what} capability", 0)
        return False

    def kw_clitcpka_cnt(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) < 2 or not w[1]:
            self.fail(ln, f"'{w[0]}' expects an integer value", 0)
        v, rest = _c_strtol(w[1])
        if rest:
            self.fail(ln, f"'{w[0]}' : unexpected character '{rest[0]}' in integer value '{w[1]}'", 1)
        self._tcpka_side(ln, p)
        p.f[w[0].replace("-", "_")] = v

    kw_srvtcpka_cnt = kw_clitcpka_cnt

    def kw_clitcpka_idle(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) < 2 or not w[1]:
            self.fail(ln, f"'{w[0]}' expects an integer value", 0)
        v, err = parse_seconds(w[1])
        if err == "over":
            self.fail(ln, f"timer overflow in argument '{w[1]}' to '{w[0]}' (maximum value is 2147483647 ms "
                      "or ~24.8 days)", 1)
        if err == "under":  # pragma: no cover - rounded up to 1 s, 2.6 never says it here
            self.fail(ln, f"timer underflow in argument '{w[1]}' to '{w[0]}' (minimum non-null value is 1 ms)", 1)
        if err.startswith("junk:"):
            self.fail(ln, f"unexpected character '{err[5:]}' in argument to <{w[0]}>.\n", 1)
        if err.startswith("trail:"):
            from haproxy_py.config.grammar import time_warning

            self.d.warning(time_warning(w[1], err[6:]), ln.loc(1), line=ln.raw)
        self._tcpka_side(ln, p)
        p.f[w[0].replace("-", "_")] = v

    kw_clitcpka_intvl = kw_srvtcpka_idle = kw_srvtcpka_intvl = kw_clitcpka_idle

    # option tcpka sets both sides, clitcpka / srvtcpka one; 'no option' clears what it names
    def opt_tcpka(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        if negate:  # 2.6 refuses it for this option (and for no other plain one)
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: negation/default is not supported for option "
                         "'tcpka'.", ln.loc(i), line=ln.raw)
            raise _Skip
        p.f["cli_ka"] = p.f["srv_ka"] = True

    def opt_clitcpka(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        p.f["cli_ka"] = not negate

    def opt_srvtcpka(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        p.f["srv_ka"] = not negate
