"""Grammars of structured arguments: time and size units, addresses, ACL fetch expressions,
conditions.

pyparsing is used for the grammars (built once, at import); results are cached with
``functools.lru_cache`` because configs repeat the same values (``inter 2s``) and hot paths (one
address per server) take a regex fast path first. Conditions are parsed over the words the
tokenizer already cut (``{``, ``}``, ``!``, ``||``, ``or`` are words), by recursive descent.

Pure module.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import pyparsing as pp

from haproxy_py.config.model import Address

TIME_MAX_MS = 2**31 - 1
_TIME_UNITS = {"us": 0, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

# --------------------------------------------------------------------------- time


_time_grammar = (
    pp.Regex(r"[0-9]+")("num")
    + pp.Optional(pp.one_of("us ms s m h d"))("unit")
    + pp.Regex(r".*")("rest")
).leave_whitespace()


class TimeValue(NamedTuple):
    """Result of :func:`parse_time`: ``value`` in ms, or an error kind.

    error: None | "junk" (bad character, fatal) | "trailing" (valid unit then junk: HAProxy only
    warns) | "overflow" | "empty".
    """

    value: int
    error: str | None = None
    char: str = ""


def _one(v: object) -> str:
    if not v:
        return ""
    if isinstance(v, str):
        return v
    return str(v[0])  # type: ignore[index]


@lru_cache(maxsize=4096)
def parse_time(text: str) -> TimeValue:
    """HAProxy's time syntax: digits then an optional unit (us ms s m h d); bare = ms."""
    if not text:
        return TimeValue(0, "empty")
    try:
        r = _time_grammar.parse_string(text, parse_all=True)
    except pp.ParseException:
        return TimeValue(0, "junk", text[0])
    num = int(r["num"])
    unit = _one(r.get("unit"))
    rest = r["rest"]
    # "1m" followed by "s" is "1ms": one_of is longest-first, so handled; "10x" -> junk
    if unit == "us":
        ms = (num + 999) // 1000
    else:
        ms = num * (_TIME_UNITS[unit] if unit else 1)
    if rest:
        if not unit:
            return TimeValue(0, "junk", rest[0])
        if ms > TIME_MAX_MS:
            return TimeValue(0, "overflow")
        return TimeValue(ms, "trailing", rest[0])
    if ms > TIME_MAX_MS:
        return TimeValue(0, "overflow")
    return TimeValue(ms)


def time_warning(text: str, char: str) -> str:
    return (f"unexpected character '{char}' after the timer value '{text}', only "
            "(us=microseconds,ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported. "
            "This will be reported as an error in next versions.")


# --------------------------------------------------------------------------- size

_size_grammar = (pp.Regex(r"[0-9]+")("num") + pp.Optional(pp.one_of("k K m M g G"))("unit")
                 ).leave_whitespace()
_SIZE_MULT = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@lru_cache(maxsize=1024)
def parse_size(text: str) -> int | None:
    """Bytes with an optional ``k``/``m``/``g`` suffix (powers of 1024); None if invalid."""
    try:
        r = _size_grammar.parse_string(text, parse_all=True)
    except pp.ParseException:
        return None
    unit = _one(r.get("unit")).lower()
    return int(r["num"]) * _SIZE_MULT[unit]


# --------------------------------------------------------------------------- integers

_INT_RE = re.compile(r"[+-]?[0-9]+\Z")


def parse_int(text: str) -> int | None:
    """A strict integer (HAProxy's atoi would take junk as 0: we refuse it)."""
    if _INT_RE.match(text):
        return int(text)
    return None


# --------------------------------------------------------------------------- addresses


def c_atoi(text: str) -> int:
    """C's atoi/atol, as 2.6 reads many numbers: optional blanks and sign, then the leading digits
    (0 when there are none)."""
    m = _ATOI.match(text)
    return int(m.group(1)) if m else 0


_ATOI = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def c_atoi_int(text: str) -> int:
    """glibc's atoi exactly: strtol's value (clamped to a 64-bit long) kept in a 32-bit int, so
    that 4294967376 reads as 80."""
    v = max(min(c_atoi(text), 2**63 - 1), -2**63)
    return (v + 2**31) % 2**32 - 2**31


def read_uint(text: str, pos: int = 0) -> tuple[int, int]:
    """2.6's read_uint: the decimal digits from ``pos`` as an unsigned 32-bit number (wrapping
    past 2^32), and the position after them."""
    v = 0
    while pos < len(text) and "0" <= text[pos] <= "9":
        v = (v * 10 + ord(text[pos]) - 48) % 2**32
        pos += 1
    return v, pos


class AddressError(Exception):
    """``kind``: "port" (invalid port), "noport" (missing port), "range", "syntax"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


_port = pp.Regex(r"[+-]?[0-9]*")
_port_spec = pp.Regex(r"[^:\]]*")("port")
_ipv6_bracket = pp.Suppress("[") + pp.Regex(r"[0-9A-Fa-f:.%a-zA-Z]*")("host") + pp.Suppress("]") \
    + pp.Optional(pp.Suppress(":") + _port_spec)
_host_port = pp.Regex(r"[^:\[\]]*")("host") + pp.Optional(pp.Suppress(":") + _port_spec)
_prefix = pp.Regex(r"(ipv4|ipv6|unix|abns|fd|sockpair|udp|udp4|udp6|tcp|tcp4|tcp6|stream|dgram|quic4|quic6)@")
_address_grammar = pp.Optional(_prefix)("prefix") + pp.Regex(r".*")("rest")

_FAST_V4 = re.compile(r"(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\*|)(?::(\d+))?\Z")


def _parse_ports(spec: str, text: str, allow_range: bool, allow_offset: bool,
                 need_port: bool = True) -> tuple[int, int, bool]:
    """Returns (lo, hi, offset). Where the port may be left out, 2.6 reads port 0 as no port."""
    if spec == "" or (spec == "0" and not need_port):
        return 0, 0, False
    offset = False
    if spec[0] in "+-":
        if not allow_offset:
            raise AddressError("port", f"port offset not permitted here in '{text}'")
        offset = True
        body = spec[1:]
        if not body.isdigit():
            raise AddressError("port", f"invalid port '{spec}'")
        v = int(body) * (-1 if spec[0] == "-" else 1)
        return v, v, True
    if not spec[0].isdigit():
        raise AddressError("port", f"invalid character '{spec[0]}' in port number '{spec}' in '{text}'")
    lo_s, sep, hi_s = spec.partition("-")
    if sep and not allow_range:
        raise AddressError("range", f"port range not permitted here in '{text}'")
    if not lo_s.isdigit():  # 2.6 reads the leading digits and ignores the rest
        raise AddressError("port", f"invalid port '{spec}': HAProxy 2.6 reads its leading digits, haproxy-py "
                                   "refuses the rest")
    if sep and not hi_s.isdigit():
        raise AddressError("port", f"invalid port '{hi_s}'")
    lo = int(lo_s)
    hi = int(hi_s) if sep else lo
    if sep and not allow_range:
        raise AddressError("range", f"port range not permitted here in '{text}'")
    if not (1 <= lo <= 65535) or not (1 <= hi <= 65535):
        raise AddressError("port", f"invalid port '{spec}'")
    if hi < lo:
        raise AddressError("port", f"invalid port range '{spec}'")
    return lo, hi, offset


@lru_cache(maxsize=4096)
def _parse_address_cached(text: str, need_port: bool, allow_range: bool,
                          allow_offset: bool) -> tuple[Address, bool]:
    m = _FAST_V4.match(text)
    if m is not None and text:
        host, port = m.group(1), m.group(2)
        if port is None:
            if need_port:
                raise AddressError("noport", f"missing port specification in '{text}'")
            return Address("ipv4", host=host, text=text), False
        lo, hi, off = _parse_ports(port, text, allow_range, allow_offset, need_port)
        return Address("ipv4", host=host, port_lo=lo, port_hi=hi, text=text), off
    r = _address_grammar.parse_string(text, parse_all=True)
    prefix = _one(r.get("prefix"))
    rest = r["rest"]
    family = prefix[:-1] if prefix else ""
    if family in ("unix",) or (not family and rest.startswith("/")):
        if not rest:
            raise AddressError("syntax", f"empty path in '{text}'")
        return Address("unix", path=rest, text=text), False
    if family == "abns":
        return Address("abns", path=rest, text=text), False
    if family in ("fd", "sockpair"):
        if not rest.isdigit():
            raise AddressError("syntax", f"file descriptor '{rest}' is not a valid integer in '{text}'")
        return Address("fd", fd=int(rest), text=text), False
    if not rest and family:
        raise AddressError("syntax", f"missing address in '{text}'")
    pr: pp.ParseResults | dict[str, str]
    try:
        if rest.startswith("["):
            pr = _ipv6_bracket.parse_string(rest, parse_all=True)
            kind = "ipv6"
        elif rest.count(":") > 1:
            # bare IPv6: the last colon separates the port
            host, _, port = rest.rpartition(":")
            pr = {"host": host, "port": port}
            if family == "ipv6" and not _looks_ipv6(host):
                pr = {"host": rest}
            kind = "ipv6"
        else:
            pr = _host_port.parse_string(rest, parse_all=True)
            kind = "ipv4"
    except pp.ParseException as e:
        raise AddressError("syntax", f"invalid address: '{text}'") from e
    host = pr["host"]
    if family in ("ipv6", "udp6", "tcp6", "quic6"):
        kind = "ipv6"
    elif family in ("ipv4", "udp4", "tcp4", "quic4"):
        kind = "ipv4"
    port = pr.get("port") if hasattr(pr, "get") else None
    if port is None or port == "":
        if need_port:
            raise AddressError("noport", f"missing port specification in '{text}'")
        return Address(kind, host=host, text=text), False
    lo, hi, off = _parse_ports(port, text, allow_range, allow_offset, need_port)
    return Address(kind, host=host, port_lo=lo, port_hi=hi, text=text), off


def _looks_ipv6(host: str) -> bool:
    return host.count(":") >= 2


def parse_address(text: str, *, need_port: bool = False, allow_range: bool = False,
                  allow_offset: bool = False) -> tuple[Address, bool]:
    """Parse one address (``*:80``, ``:80``, ``1.2.3.4:80-90``, ``[::]:80``, ``ipv4@``, ``unix@``,
    ``/path``, ``abns@``, ``fd@N``). Returns (address, port_is_offset). Raises AddressError."""
    return _parse_address_cached(text, need_port, allow_range, allow_offset)


def parse_address_list(text: str, *, need_port: bool = True,
                       allow_range: bool = True) -> list[Address]:
    """A comma-separated list of addresses (``bind``)."""
    return [parse_address(part, need_port=need_port, allow_range=allow_range)[0]
            for part in text.split(",")]


# --------------------------------------------------------------------------- fetch expressions

_ident = pp.Regex(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
_arg = pp.Regex(r"(?:\\.|[^,()\\])*")
_call = pp.Group(_ident("name") + pp.Optional(pp.Suppress("(") + pp.Group(pp.DelimitedList(_arg, allow_trailing_delim=False))("args")
                                              + pp.Suppress(")")))
_fetch_expr = (_call("fetch") + pp.Group(pp.ZeroOrMore(pp.Suppress(",") + _call))("convs")).leave_whitespace()


class FetchExpr(NamedTuple):
    name: str
    args: tuple[str, ...]
    converters: tuple[tuple[str, tuple[str, ...]], ...]
    has_parens: bool


@lru_cache(maxsize=4096)
def parse_fetch_expr(text: str) -> FetchExpr | None:
    """``fetch[(args)][,conv[(args)]]...`` or None when it does not parse."""
    try:
        r = _fetch_expr.parse_string(text, parse_all=True)
    except pp.ParseException:
        return None
    f = r["fetch"]
    args = tuple(a for a in f.get("args", [])) if "args" in f else ()
    if args == ("",):
        args = ()
    convs = []
    for c in r["convs"]:
        cargs = tuple(c.get("args", [])) if "args" in c else ()
        convs.append((c["name"], cargs if cargs != ("",) else ()))
    return FetchExpr(f["name"], args, tuple(convs), "(" in text.split(",")[0])


def fetch_name(text: str) -> str:
    """The bare fetch name at the start of an expression (for messages)."""
    m = re.match(r"[^(,]*", text)
    return m.group(0) if m else text


# --------------------------------------------------------------------------- conditions


class CondError(Exception):
    pass


class CondTerm(NamedTuple):
    negate: bool
    name: str | None  # named ACL reference
    anon: list[str] | None  # the words inside { ... }
    index: int  # type: ignore[assignment]  # word index (for locations); shadows tuple.index


def parse_condition_words(words: list[str], start: int = 0) -> list[list[CondTerm]]:
    """Split the words after ``if``/``unless`` into an OR of ANDs of terms.

    ``!`` negates the next term (alone or glued: ``!a``); ``||`` and ``or`` separate OR groups;
    ``{ ... }`` is an anonymous ACL (the braces must be separate words).
    """
    groups: list[list[CondTerm]] = [[]]
    i = start
    n = len(words)
    neg = False
    while i < n:
        w = words[i]
        if w in ("||", "or"):
            if neg:
                raise CondError("missing term after '!'")
            if not groups[-1]:
                raise CondError(f"missing term before '{w}'")
            groups.append([])
            i += 1
            continue
        if w == "!":
            neg = not neg
            i += 1
            continue
        if w.startswith("!"):
            neg = not neg
            w = w[1:]
        if w == "{":
            depth = 1
            j = i + 1
            while j < n:
                if words[j] == "{":
                    depth += 1
                elif words[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= n:
                raise CondError("missing closing '}' in condition")
            groups[-1].append(CondTerm(neg, None, words[i + 1:j], i))
            neg = False
            i = j + 1
            continue
        if w == "}":
            raise CondError("unexpected '}' in condition")
        if not w:
            raise CondError("empty term in condition")
        groups[-1].append(CondTerm(neg, w, None, i))
        neg = False
        i += 1
    if neg:
        raise CondError("missing term after '!'")
    if not groups[-1]:
        if len(groups) == 1:
            raise CondError("missing condition")
        raise CondError("missing term after '||'")
    return groups
