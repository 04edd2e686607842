"""Pattern matchers, compiled once at load time (sans-IO).

:func:`compile_matcher` turns ``(method, patterns, ignore_case, operator)`` into a callable
``(samples) -> bool`` that is true when any sample matches any pattern: a set for ``str``, a tuple
for ``beg``/``end`` (``bytes.startswith`` with a tuple), one alternation regex for ``reg``, a list
of networks for ``ip``, (lo, hi) ranges for ``int``/``len``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from ..samples import rxlazy
from ..samples.maps import DIR_MATCH, DOM_MATCH
from ..samples.patref import beg_index, ip_index, parse_net

__all__ = ["MATCH_METHODS", "MatchError", "compile_matcher", "dotted_patterns", "parse_int_patterns"]

MATCH_METHODS = ("found", "bool", "int", "ip", "bin", "len", "str", "sub", "reg", "beg", "end", "dir", "dom")
_OPS = ("eq", "ge", "gt", "le", "lt")
_BIG = 1 << 63

Matcher = Callable[[list], bool]


class MatchError(ValueError):
    """A pattern that cannot be used with its match method (config-time error)."""


def _b(p: str) -> bytes:
    return p.encode("latin1")


_RANGE = re.compile(r"(\d*)[:-](\d*)")


def _int_range(p: str) -> tuple[int, int] | None:
    """2.6's integer pattern: ``N``, or a range ``N:M`` / ``N-M`` with either end left out
    (``:M``, ``-M``, ``N:``, ``N-``). There are no negative numbers: ``-3`` means up to 3. None
    when ``p`` is a plain number."""
    m = _RANGE.fullmatch(p)
    if m is None:
        if re.fullmatch(r"\d+", p) is None:
            raise MatchError(f"'{p}' is not a valid number range." if (":" in p or "-" in p)
                             else f"'{p}' is not a number.")
        return None
    lo, hi = m.group(1), m.group(2)
    return (int(lo) if lo else -_BIG, int(hi) if hi else _BIG)


def _dotted(text: str) -> int | None:
    """2.6's strl2llrc_dotted: ``MAJOR[.MINOR]``, each a decimal number below 65536."""
    major, dot, minor = text.partition(".")
    if not re.fullmatch(r"-?\d+", major) or (dot and not re.fullmatch(r"-?\d+", minor)):
        return None
    a, b = int(major), int(minor) if dot else 0
    if a >= 65536 or b >= 65536:
        return None
    return (a << 16) | (b & 0xFFFF)


def dotted_patterns(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """The ACL patterns of ``req.ssl_ver``/``req_ssl_ver`` (2.6's pat_parse_dotted_ver): versions
    ``3.1`` (= 0x30001) or ranges of them (``3.0:3.3``, ``:3.1``, ``3.2-``), turned into the
    integer patterns they stand for; the operators stay."""
    out = []
    for p in patterns:
        if p in _OPS:
            out.append(p)
            continue
        i = min((k for k in (p.find(":"), p.find("-")) if k >= 0), default=-1)
        if i < 0:
            v = _dotted(p) if p else None
            if v is None:
                raise MatchError(f"'{p}' is not a dotted number.")
            out.append(str(v))
            continue
        bad = MatchError(f"'{p}' is not a valid dotted number range.")
        if i == 0 and len(p) > 1:
            hi = _dotted(p[1:])
            if hi is None:
                raise bad
            out.append(f":{hi}")
        elif i == len(p) - 1:
            lo = _dotted(p[:i])
            if lo is None:
                raise bad
            out.append(f"{lo}:")
        else:
            lo, hi = _dotted(p[:i]), _dotted(p[i + 1:])
            if lo is None or hi is None or lo > hi:
                raise bad
            out.append(f"{lo}:{hi}")
    return tuple(out)


def parse_int_patterns(patterns: tuple[str, ...], operator: str | None) -> list[tuple[int, int]]:
    """Integer patterns -> inclusive ranges, as 2.6 reads them: a number or a range (see
    :func:`_int_range`); an operator (given separately or as the first pattern: ``gt 10``)
    applies to the numbers that follow, a range after an operator stays a range (2.6)."""
    pats = list(patterns)
    if operator is None and pats and pats[0] in _OPS:
        operator = pats.pop(0)
    out = []
    for p in pats:
        rng = _int_range(p)
        if rng is not None:
            out.append(rng)
            continue
        n = int(p)
        if operator is None or operator == "eq":
            out.append((n, n))
        else:
            out.append({"ge": (n, _BIG), "gt": (n + 1, _BIG), "le": (-_BIG, n), "lt": (-_BIG, n - 1)}[operator])
    return out


def _as_int(s) -> int | None:
    if isinstance(s, int):
        return s
    if isinstance(s, bytes):
        s = s.strip()
    try:
        return int(s)
    except (TypeError, ValueError):
        return None


def _as_bytes(s) -> bytes:
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode("latin1")
    return b"%d" % s


_DIR = DIR_MATCH
_DOM = DOM_MATCH


def compile_matcher(
    method: str, patterns: tuple[str, ...], ignore_case: bool = False, operator: str | None = None
) -> Matcher:
    """Compile patterns for ``method``. Raises :class:`MatchError` for unusable patterns."""
    if method == "found":
        return lambda samples: True
    if method == "bool":
        return lambda samples: any(bool(_as_int(s)) for s in samples)
    if method in ("int", "len"):
        ranges = parse_int_patterns(patterns, operator)
        if method == "len":
            def m_len(samples):
                for s in samples:
                    n = len(_as_bytes(s))
                    for lo, hi in ranges:
                        if lo <= n <= hi:
                            return True
                return False
            return m_len

        def m_int(samples):
            for s in samples:
                n = _as_int(s)
                if n is None:
                    continue
                for lo, hi in ranges:
                    if lo <= n <= hi:
                        return True
            return False
        return m_int
    if method == "ip":
        if len(patterns) > 8:
            look = ip_index([(parse_net(p), True) for p in patterns]).by_text  # type: ignore[attr-defined]

            def m_ip_indexed(samples):
                for s in samples:
                    if look(s if isinstance(s, bytes) else str(s).encode("latin1")):
                        return True
                return False
            return m_ip_indexed
        nets = []
        for p in patterns:
            try:
                nets.append(ipaddress.ip_network(p, strict=False))
            except ValueError:
                raise MatchError(f"'{p}' is not a valid IPv4 or IPv6 address.") from None

        def m_ip(samples):
            for s in samples:
                try:
                    ip = ipaddress.ip_address(s.decode("latin1") if isinstance(s, bytes) else s)
                except ValueError:
                    continue
                mapped = getattr(ip, "ipv4_mapped", None)
                for net in nets:
                    if ip in net or (mapped is not None and mapped in net):
                        return True
            return False
        return m_ip
    if method == "bin":
        bins = set()
        for p in patterns:
            bad = next((c for c in p if c not in "0123456789abcdefABCDEF"), None)
            if bad is not None:
                raise MatchError(f"an hex digit is expected (found '{bad}').")
            if len(p) % 2:
                raise MatchError(f"'{p}' has an odd number of hex digits.")
            bins.add(bytes.fromhex(p))
        return lambda samples: any(_as_bytes(s) in bins for s in samples)
    if method == "reg":
        flags = re.IGNORECASE if ignore_case else 0
        chunks: list[Any] = []
        for i in range(0, len(patterns), 256):  # one alternation per 256 patterns
            part = patterns[i:i + 256]
            joined = b"|".join(b"(?:" + _b(p) + b")" for p in part)
            if all(rxlazy.surely_valid(_b(p)) for p in part):  # compiled at first use (or warm-up)
                chunks.append(rxlazy.lazy(joined, flags))
                continue
            try:
                chunks.append(re.compile(joined, flags))
            except re.error:
                for p in part:  # which one (and 2.6's words for it)
                    try:
                        re.compile(_b(p), flags)
                    except re.error as e:
                        raise MatchError(f"regex '{p}' is invalid (error={e.msg}, erroffset={e.pos}).") from None
                raise MatchError(f"regex '{part[0]}' is invalid.") from None
        if not chunks:
            return lambda samples: False
        if len(chunks) == 1:
            rx = chunks[0]  # (.search read at each call: a lazy one replaces it once compiled)
            return lambda samples: any(rx.search(_as_bytes(s)) is not None for s in samples)
        return lambda samples: any(c.search(v) is not None for v in map(_as_bytes, samples) for c in chunks)
    pats = tuple(_b(p).lower() if ignore_case else _b(p) for p in patterns)
    low = bytes.lower if ignore_case else None

    def prep(s):
        s = _as_bytes(s)
        return low(s) if low is not None else s

    if method == "str":
        pset = frozenset(pats)
        if low is None:
            return lambda samples: any(_as_bytes(s) in pset for s in samples)
        return lambda samples: any(prep(s) in pset for s in samples)
    if method == "beg" and len(pats) > 16:
        beg = beg_index([(p, True) for p in pats])
        return lambda samples: any(beg(prep(s)) for s in samples)
    if method == "beg":
        return lambda samples: any(prep(s).startswith(pats) for s in samples) if pats else False
    if method == "end":
        return lambda samples: any(prep(s).endswith(pats) for s in samples) if pats else False
    if method == "sub":
        return lambda samples: any(p in v for v in map(prep, samples) for p in pats)
    if method == "dir":
        dpats = tuple(p.strip(b"/?") for p in pats)
        return lambda samples: any(_DIR(v, p) for v in map(prep, samples) for p in dpats)
    if method == "dom":
        dpats = tuple(p.strip(b"/?.:") for p in pats)
        return lambda samples: any(_DOM(v, p) for v in map(prep, samples) for p in dpats)
    raise MatchError(f"unknown match method '{method}'")
