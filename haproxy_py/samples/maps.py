"""The ``map`` converters: ``map_<match>[_<output>](file[,default])``. Pure (the file is read once,
at load time).

A map file has one ``key value`` pair per line: leading blanks are skipped, the key ends at the
first blank, the value is the rest of the line after the blanks that follow the key, trailing blanks
removed; empty lines and lines starting with ``#`` are skipped (2.6's reader). The input is matched as the ``<match>``
method says (``str`` exact, ``beg``, ``end``, ``sub``, ``dir``, ``dom``, ``reg``, ``regm`` with
``\\1`` references in the value, ``int`` numbers and ranges, ``ip`` addresses and networks). For
``beg`` the longest matching key wins and for ``ip`` the most specific network (2.6 indexes them in
prefix trees); otherwise the first matching line wins (for ``str``, the first line of a key). The value is returned as
a string, or as an integer (``_int``) or an address (``_ip``), or the default when nothing
matches (no sample when there is no default).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from .core import converter
from .txn import Txn

D = "tests/differential/test_samples_vs_haproxy.py::test_maps_vs_haproxy"
T = "tests/unit/test_samples_conv.py::test_map_converters"


def read_map(path: str) -> list[tuple[str, str]]:
    try:
        with open(path, "rb") as f:
            data = f.read().decode("latin1")
    except OSError as e:
        raise ValueError(f"failed to open pattern file <{path}>") from e
    out = []
    for raw in data.split("\n"):
        line = raw.split("\r", 1)[0].lstrip(" \t")
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([^ \t]*)[ \t]*(.*)", line)
        assert m is not None
        out.append((m.group(1), m.group(2).rstrip(" \t")))
    return out


def _word(delims: bytes) -> Callable[[bytes, bytes], bool]:
    def match(sample: bytes, pat: bytes) -> bool:
        if not pat:
            return False
        n = len(pat)
        start = 0
        while True:
            i = sample.find(pat, start)
            if i < 0:
                return False
            j = i + n
            if (i == 0 or sample[i - 1] in delims) and (j == len(sample) or sample[j] in delims):
                return True
            start = i + 1
    return match


_DIR = _word(b"/?")
_DOM = _word(b"/?.:")


def _backrefs(m: re.Match[bytes], v: bytes) -> bytes:
    """``\\N`` in a ``map_regm`` value -> the Nth group of the match (empty if it did not take part)."""
    return re.sub(rb"\\(\d)", lambda g: m.group(int(g.group(1))) or b"", v)


def _int_range(key: str) -> tuple[int, int]:
    if ":" in key:
        lo, _, hi = key.partition(":")
        return (int(lo) if lo else -(1 << 63), int(hi) if hi else (1 << 63) - 1)
    n = int(key)
    return (n, n)


def _value(out: str, text: str, path: str) -> Any:
    if out == "str":
        return text.encode("latin1")
    if out == "sint":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"unable to parse '{text}' as an integer in map file <{path}>")
        return int(text)
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"unable to parse '{text}' as an address in map file <{path}>") from None


def _build(match: str, out: str) -> Callable[[tuple], tuple]:
    def prepare(a: tuple) -> tuple:
        path = a[0]
        entries = read_map(path)
        default = None
        if len(a) > 1:
            d = a[1]
            default = _value(out, str(d), "default") if not isinstance(d, int) else d
        vals = [(k, _value(out, v, path)) for k, v in entries]
        if match == "str":
            table: dict[bytes, Any] = {}
            for k, v in vals:
                table.setdefault(k.encode("latin1"), v)
            return (lambda s, t=table: t.get(s), default)
        if match == "beg":
            by_len = sorted(((k.encode("latin1"), v) for k, v in vals), key=lambda kv: -len(kv[0]))

            def look_beg(s: bytes, pats: list = by_len) -> Any:
                for p, v in pats:
                    if s.startswith(p):
                        return v
                return None
            return (look_beg, default)
        if match in ("end", "sub", "dir", "dom"):
            strip = {"dir": b"/?", "dom": b"/?.:"}.get(match, b"")
            pats = [(k.encode("latin1").strip(strip) if strip else k.encode("latin1"), v) for k, v in vals]
            test: Callable[[bytes, bytes], bool] = {
                "end": bytes.endswith, "sub": lambda s, p: p in s, "dir": _DIR, "dom": _DOM}[match]

            def look(s: bytes, pats: list = pats) -> Any:
                for p, v in pats:
                    if test(s, p):
                        return v
                return None
            return (look, default)
        if match in ("reg", "regm"):
            try:
                rx = [(re.compile(k.encode("latin1")), v) for k, v in vals]
            except re.error as e:
                raise ValueError(f"invalid regex in map file <{path}>: {e}") from None

            def look_rx(s: bytes, rx: list = rx) -> Any:
                for r, v in rx:
                    m = r.search(s)
                    if m is not None:
                        if match == "regm" and isinstance(v, bytes):
                            return _backrefs(m, v)
                        return v
                return None
            return (look_rx, default)
        if match == "int":
            try:
                ranges = [(_int_range(k), v) for k, v in vals]
            except ValueError:
                raise ValueError(f"invalid integer key in map file <{path}>") from None

            def look_int(n: int, ranges: list = ranges) -> Any:
                for (lo, hi), v in ranges:
                    if lo <= n <= hi:
                        return v
                return None
            return (look_int, default)
        # ip: the most specific network wins
        nets = []
        for k, v in vals:
            try:
                nets.append((ipaddress.ip_network(k, strict=False), v))
            except ValueError:
                raise ValueError(f"'{k}' is not a valid IPv4 or IPv6 address in map file <{path}>") from None
        nets.sort(key=lambda nv: -nv[0].prefixlen)

        def look_ip(ip: Any, nets: list = nets) -> Any:
            m4 = getattr(ip, "ipv4_mapped", None)
            for net, v in nets:
                if ip in net or (m4 is not None and m4 in net):
                    return v
            return None
        return (look_ip, default)

    return prepare


def _conv(name: str, match: str, out: str) -> None:
    def fn(v: Any, a: tuple, t: Txn) -> Any:
        look, default = a
        r = look(v)
        return default if r is None else r
    converter(name, test=D, prepare=_build(match, out))(fn)


_OUTS = {"": "str", "_int": "sint", "_ip": "addr"}
for _m in ("str", "beg", "sub", "dir", "dom", "end", "reg", "int", "ip"):
    for _suffix, _out in _OUTS.items():
        _conv(f"map_{_m}{_suffix}", _m, _out)
_conv("map", "str", "str")
_conv("map_regm", "regm", "str")
