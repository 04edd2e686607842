"""Sample types and the casts between them, as HAProxy 2.6 does them (sample.c's cast table). Pure.

Python values per type: ``bool`` bool, ``sint`` int (64-bit signed, saturated), ``ipv4``
:class:`ipaddress.IPv4Address`, ``ipv6`` :class:`ipaddress.IPv6Address`, ``str``/``bin``/``meth``
bytes. ``addr`` is "ipv4 or ipv6" (an input type only), ``any`` accepts everything.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import Any

__all__ = ["TYPES", "Sample", "SampleError", "MissingData", "cast", "caster", "can_cast", "to_text", "clamp64",
           "parse_int"]

TYPES = ("any", "bool", "sint", "addr", "ipv4", "ipv6", "str", "bin", "meth")

INT_MAX = (1 << 63) - 1
INT_MIN = -(1 << 63)


class SampleError(ValueError):
    """A sample expression that does not compile. ``offset``: where in the expression text."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class MissingData(Exception):  # noqa: N818 - 2.6's ACL_TEST_MISS
    """An ACL on data that may still grow failed before the data was final: the rule set waits
    for more (tcp-request content with inspect-delay) and evaluates this rule again."""


class Sample:
    """One typed value."""

    __slots__ = ("type", "value")

    def __init__(self, type: str, value: Any) -> None:  # noqa: A002 - HAProxy's word
        self.type = type
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sample) and other.type == self.type and other.value == self.value

    def __hash__(self) -> int:
        return hash((self.type, self.value))

    def __repr__(self) -> str:
        return f"Sample({self.type!r}, {self.value!r})"

    def as_bytes(self) -> bytes | None:
        """The value cast to ``str`` (what a log line or a header shows)."""
        return to_text(self.type, self.value)


def clamp64(n: int) -> int:
    if n > INT_MAX:
        return INT_MAX
    if n < INT_MIN:
        return INT_MIN
    return n


def parse_int(b: bytes) -> int | None:
    """HAProxy's ``c_str2int``: optional sign, then leading digits (none = 0); empty fails."""
    if not b:
        return None
    i = 0
    neg = False
    if b[:1] in (b"-", b"+"):
        neg = b[:1] == b"-"
        i = 1
    j = i
    n = len(b)
    while j < n and 48 <= b[j] <= 57:
        j += 1
    v = int(b[i:j]) if j > i else 0
    return clamp64(-v if neg else v)


def _str2ip(b: bytes) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(b.decode("latin1"))
    except ValueError:
        return None


def _str2ipv6(b: bytes) -> ipaddress.IPv6Address | None:
    try:
        return ipaddress.IPv6Address(b.decode("latin1"))
    except ValueError:
        return None


def _str2addr(b: bytes) -> Any:
    ip = _str2ip(b)
    return ip if ip is not None else _str2ipv6(b)


def _bin2str(b: bytes) -> bytes:
    z = b.find(b"\0")
    return b if z < 0 else b[:z]


def _int2bin(v: int) -> bytes:
    return (v & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def ntop6(ip: ipaddress.IPv6Address) -> str:
    """glibc's inet_ntop, as 2.6 prints an address: IPv4-mapped and IPv4-compatible ones end in a
    dotted quad (Python before 3.13 writes ``::ffff:102:304``)."""
    b = ip.packed
    if b[:10] == bytes(10) and (b[10:12] == b"\xff\xff" or (b[10:12] == b"\0\0" and b[12:14] != b"\0\0")):
        return ("::ffff:" if b[10:12] == b"\xff\xff" else "::") + ".".join(str(x) for x in b[12:])
    return ip.compressed


def _v4tov6(ip: ipaddress.IPv4Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + ip.packed)


def _v6tov4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    return ip.ipv4_mapped


def _same(v: Any) -> Any:
    return v


def _fail(v: Any) -> None:
    return None


# (from, to) -> function(value) -> value or None (None: the cast fails, the sample is lost)
@functools.lru_cache(maxsize=4096)
def _ip_text(v: Any) -> bytes:
    """An address as text; remembered, since a client's address is cast once per request
    (``%[src]``) and ipaddress's ``str()`` is Python code. IPv6 as glibc's inet_ntop writes it."""
    return (ntop6(v) if v.version == 6 else str(v)).encode()


_CASTS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("bool", "sint"): int,
    ("bool", "str"): lambda v: b"%d" % v,  # 2.6 prints the integer a boolean holds (see keeps_bool)
    ("bool", "bin"): lambda v: _int2bin(int(v)),
    ("sint", "bool"): bool,
    ("sint", "ipv4"): lambda v: ipaddress.IPv4Address(v & 0xFFFFFFFF),
    ("sint", "addr"): lambda v: ipaddress.IPv4Address(v & 0xFFFFFFFF),
    ("sint", "ipv6"): lambda v: _v4tov6(ipaddress.IPv4Address(v & 0xFFFFFFFF)),
    ("sint", "str"): lambda v: b"%d" % v,
    ("sint", "bin"): _int2bin,
    ("ipv4", "sint"): int,
    ("ipv4", "bool"): lambda v: int(v) != 0,
    ("ipv4", "addr"): _same,
    ("ipv4", "ipv6"): _v4tov6,
    ("ipv4", "str"): _ip_text,
    ("ipv4", "bin"): lambda v: v.packed,
    ("ipv6", "addr"): _same,
    ("ipv6", "ipv4"): _v6tov4,
    ("ipv6", "str"): _ip_text,
    ("ipv6", "bin"): lambda v: v.packed,
    ("str", "bool"): lambda v: (None if (n := parse_int(v)) is None else n != 0),
    ("str", "sint"): parse_int,
    ("str", "addr"): _str2addr,
    ("str", "ipv4"): _str2ip,
    ("str", "ipv6"): _str2ipv6,
    ("str", "bin"): _same,
    ("str", "meth"): _same,
    ("bin", "str"): _bin2str,
    ("meth", "str"): _same,
    ("meth", "bin"): _same,
}


def can_cast(src: str, dst: str) -> bool:
    if src == dst or dst == "any" or src == "any":
        return True
    if dst == "addr" and src in ("ipv4", "ipv6"):
        return True
    return (src, dst) in _CASTS


def caster(src: str, dst: str) -> Callable[[Any], Any] | None:
    """The function casting a ``src`` value to ``dst`` (identity when no cast is needed), None if
    HAProxy has no such cast."""
    if src == dst or dst == "any":
        return _same
    return _CASTS.get((src, dst))


def cast(s: Sample, dst: str) -> Sample | None:
    """``s`` as a ``dst`` sample, or None when the cast fails. ``addr`` keeps ipv4/ipv6."""
    if s.type == dst or dst == "any":
        return s
    if dst == "addr" and s.type in ("ipv4", "ipv6"):
        return s
    fn = _CASTS.get((s.type, dst))
    if fn is None:
        return None
    v = fn(s.value)
    if v is None:
        return None
    if dst == "addr":
        dst = "ipv4" if isinstance(v, ipaddress.IPv4Address) else "ipv6"
    return Sample(dst, v)


def to_text(t: str, v: Any) -> bytes | None:
    """A value of type ``t`` cast to ``str`` (None when it cannot be)."""
    if t in ("str", "meth"):
        return v
    fn = _CASTS.get((t, "str"))
    return None if fn is None else fn(v)
