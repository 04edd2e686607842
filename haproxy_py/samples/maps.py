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

from . import rxlazy
from .core import converter
from .patref import REFS, Entry, Index, beg_index, ip_index, parse_net, str_index
from .txn import Txn

D = "tests/differential/test_samples_vs_haproxy.py::test_maps_vs_haproxy"
T = "tests/unit/test_samples_conv.py::test_map_converters"


_LINE = re.compile(r"([^ \t]*)[ \t]*(.*)").match


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
        m = _LINE(line)
        assert m is not None
        out.append((m.group(1), m.group(2).rstrip(" \t")))
    return out


def word_match(delims: bytes) -> Callable[[bytes, bytes], bool]:
    """HAProxy's dir/dom: the pattern appears in the sample delimited by ``delims`` or the ends
    (the ACL matchers use it too)."""
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


DIR_MATCH = word_match(b"/?")
DOM_MATCH = word_match(b"/?.:")


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


def _key_check(match: str) -> Callable[[str], Any]:
    """A key as ``match`` reads it (raises ValueError with 2.6's words)."""
    if match == "ip":
        return parse_net
    if match == "int":
        def int_key(k: str) -> Any:
            try:
                return _int_range(k)
            except ValueError:
                raise ValueError(f"'{k}' is not a number.") from None
        return int_key
    if match in ("reg", "regm"):
        def reg_key(k: str) -> Any:
            try:
                return rxlazy.make(k.encode("latin1"))
            except re.error as e:
                raise ValueError(f"regex '{k}' is invalid (error={e.msg}, erroffset={e.pos}).") from None
        return reg_key
    strip = {"dir": b"/?", "dom": b"/?.:"}.get(match, b"")
    return lambda k: k.encode("latin1").strip(strip) if strip else k.encode("latin1")


def _lookup(match: str, pairs: list[tuple[Any, Any]]) -> Callable[[Any], Any]:
    """(key as ``_key_check`` made it, value) pairs, in order -> lookup(sample) -> value | None."""
    if match == "str":
        return str_index(pairs)
    if match == "beg":
        return beg_index(pairs)
    if match == "ip":
        return ip_index(pairs)
    if match in ("reg", "regm"):
        def look_rx(s: bytes) -> Any:
            for r, v in pairs:
                m = r.search(s)
                if m is not None:
                    if match == "regm" and isinstance(v, bytes):
                        return _backrefs(m, v)
                    return v
            return None
        return look_rx
    if match == "int":
        def look_int(n: int) -> Any:
            for (lo, hi), v in pairs:
                if lo <= n <= hi:
                    return v
            return None
        return look_int
    test: Callable[[bytes, bytes], bool] = {
        "end": bytes.endswith, "sub": lambda s, p: p in s, "dir": DIR_MATCH, "dom": DOM_MATCH}[match]

    def look(s: bytes) -> Any:
        for p, v in pairs:
            if test(s, p):
                return v
        return None
    return look


def map_index(match: str, out: str) -> Index:
    """The :class:`Index` a ``map_<match>`` converter of output ``out`` keeps on its reference."""
    key = _key_check(match)
    checked: dict[tuple[str, str | None], tuple[Any, Any]] = {}  # keys just checked, so a build does not parse them again

    def build(entries: list[Entry]) -> Callable[[Any], Any]:
        get = checked.get
        pairs = []
        for e in entries:
            kv = get((e.key, e.value))
            pairs.append((key(e.key), _value(out, e.value or "", "")) if kv is None else kv)
        checked.clear()
        return _lookup(match, pairs)

    def check(k: str, v: str | None) -> None:
        try:  # the value first, as 2.6
            vv = _value(out, v or "", "")
        except ValueError:
            raise ValueError(f"unable to parse '{v}'.") from None  # 2.6's words on the CLI
        checked[(k, v)] = (key(k), vv)

    def conv(k: str, v: str | None) -> tuple[Any, Any]:
        kv = checked.pop((k, v), None)
        return kv if kv is not None else (key(k), _value(out, v or "", ""))

    def finder(entries: list[Entry], text: str) -> Entry | None:
        if match == "ip":
            try:
                smp: Any = ipaddress.ip_address(text)
            except ValueError:
                return None
        elif match == "int":
            try:
                smp = int(text)
            except ValueError:
                return None
        else:
            smp = text.encode("latin1")
        r = _lookup(match, [(key(e.key), e) for e in entries])(smp)
        return r if isinstance(r, Entry) else None

    indexed = match in ("str", "beg", "ip")
    return Index(match, False, out, build, check, indexed, conv if indexed else None, finder)


def _build(match: str, out: str) -> Callable[[tuple], tuple]:
    def prepare(a: tuple) -> tuple:
        path = a[0]
        default = None
        if len(a) > 1:
            d = a[1]
            default = _value(out, str(d), "default") if not isinstance(d, int) else d
        ref = REFS.file_ref("map", path, lambda: [(k, v) for k, v in read_map(path)])
        ix = map_index(match, out)
        for en in ref.entries:
            try:
                if out != "str":
                    _value(out, en.value or "", path)  # a bad value: the load-time words
                ix.check(en.key, en.value)
            except ValueError as e:
                msg = str(e)
                if "in map file" in msg:
                    raise
                if match in ("reg", "regm"):
                    msg = f"invalid regex in map file <{path}>: {msg}"
                elif match == "int":
                    msg = f"invalid integer key in map file <{path}>"
                else:
                    msg = f"{msg.rstrip('.')} in map file <{path}>"
                raise ValueError(msg) from None
        ix = ref.attach(ix)
        return (ref, ix, default)

    return prepare


def _conv(name: str, match: str, out: str) -> None:
    def fn(v: Any, a: tuple, t: Txn) -> Any:
        ref, ix, default = a
        look = ix.look if ix.rev == ref.rev else ref.index(ix)
        r = look(v)
        return default if r is None else r
    converter(name, test=D, prepare=_build(match, out))(fn)


_OUTS = {"": "str", "_int": "sint", "_ip": "addr"}
for _m in ("str", "beg", "sub", "dir", "dom", "end", "reg", "int", "ip"):
    for _suffix, _out in _OUTS.items():
        _conv(f"map_{_m}{_suffix}", _m, _out)
_conv("map", "str", "str")
_conv("map_regm", "regm", "str")
