"""The two sample registries (fetches and converters) and their entries. Pure.

Each entry knows its function, its argument list (parsed from HAProxy 2.6's own signature in
:mod:`.known26`, with defaults and load-time checks), its output type and where it may be used
(the dump's usage mask: connection, session, content, HTTP request, HTTP response, logs, ...).

Fetch functions: ``fn(txn, args) -> list | None``: every value the fetch finds, in order, of the
entry's output type (a fetch whose type is ``any`` returns :class:`Sample` objects). In an
expression, one value is used (``pick``: the first, or the last as HAProxy does for headers);
an ACL tries them all.

Converter functions: ``fn(value, args, txn) -> value | None`` on a value of the entry's input
type, returning one of its output type (``any``: a :class:`Sample`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..registry import Registry
from . import known26
from .types import SampleError

__all__ = ["ArgSpec", "FetchDef", "ConvDef", "FETCHES", "CONVERTERS", "fetch", "converter",
           "parse_args", "PLACES", "LAYER"]

FETCHES: Registry[FetchDef] = Registry("fetch", "sample fetch", known=known26.FETCHES)
CONVERTERS: Registry[ConvDef] = Registry("converter", "converter", known=known26.CONVERTERS)

#: usage places (index into the 2.6 mask) by what the rule parsers ask
PLACES = {
    "tcp-request connection": (0,), "tcp-request session": (1,), "tcp-request content": (2, 6),
    "http-request": (3, 7), "use_backend": (5,), "balance": (9,), "tcp-response content": (11, 15),
    "http-response": (12, 16), "http-after-response": (12, 16), "log": (18,), "tcp-check": (19,),
    # the same, for a frontend (or listen) and for a backend, as 2.6 checks a rule of that proxy
    "fe tcp-request content": (2,), "be tcp-request content": (6,), "fe http-request": (3,),
    "be http-request": (7,), "fe http-response": (16,), "be http-response": (12,),
    "fe tcp-response content": (15,), "be tcp-response content": (11,),
    "stick": (9,), "stick-store": (14,), "use-server": (9,),
    # the global set-var keywords (while the configuration is read) and the runtime API
    "cfg": (20,), "cli": (21,),
}

#: fetches that read the request or status line (2.6 says they need the "HTTP request" /
#: "HTTP response" rather than its headers)
_LINE_FETCHES = {"method": "HTTP request",
                 "http_first_req": "HTTP request", "capture.req.method": "HTTP request",
                 "capture.req.uri": "HTTP request", "capture.req.ver": "HTTP request",
                 "status": "HTTP response", "capture.res.ver": "HTTP request"}


def needs(d: FetchDef) -> str:
    """What 2.6 says a fetch needs when it is used where it cannot work."""
    m = d.mask
    first = m.find("Y")
    if first == 0:  # unavailable only when the configuration is read or at the CLI
        if m[19] == ".":
            return "frontend"
        return "internal state" if m[21] == "Y" else "client address"
    if first == 1:
        return "client-side connection"
    if first == 6:
        return "backend"
    if first == 10:
        return "HTTP response" if d.name.startswith("res.") else "server"
    if d.name in _LINE_FETCHES:
        return _LINE_FETCHES[d.name]
    if d.name.startswith(_REQ_BUFFER):
        return "request buffer"
    if d.name.startswith(_RES_BUFFER):
        return "response buffer"
    if d.name.startswith("ssl_bc"):  # 2.6's L5SRV fetches
        return "server-side connection"
    if d.name.startswith("bc_"):  # L4SRV
        return "server address"
    if first >= 11:
        return "HTTP response headers"
    if d.mask[16] == "Y":  # hdr, cookie...: the request's or the response's
        return "HTTP request headers,HTTP response headers"
    return "HTTP request headers"


#: fetches that read the buffered stream (2.6: they need the "request buffer" / "response buffer")
_REQ_BUFFER = ("req.len", "req_len", "req.payload", "req_ssl", "req.ssl")
_RES_BUFFER = ("res.len", "res.payload", "res.ssl")

#: the layer of a fetch from its mask: usable at accept (L4), in TCP content only (L6), only once
#: an HTTP request exists (L7 request), only with a response (L7 response)
LAYER = ("L4", "L5", "L6", "L7req", "L7res", "internal")


@dataclass(frozen=True, slots=True)
class ArgSpec:
    type: str  # string integer backend frontend server table regex "IPv4 mask" ...
    optional: bool


_SIG_ITEM = re.compile(r"\[|\]|,|[^\[\],]+")


def parse_signature(sig: str) -> tuple[ArgSpec, ...]:
    """``"string,integer[,string]"`` -> arguments with their optionality."""
    out: list[ArgSpec] = []
    depth = 0
    for tok in _SIG_ITEM.findall(sig):
        if tok == "[":
            depth += 1
        elif tok == "]":
            depth -= 1
        elif tok != ",":
            t = tok.strip()
            # a proxy argument left out means the current proxy (2.6 resolves it at load time)
            out.append(ArgSpec(t, depth > 0 or t in ("backend", "frontend")))
    return tuple(out)


def _layer(mask: str) -> str:
    if mask[0] == "Y":
        return "L4"
    if mask[1] == "Y":
        return "L5"
    if mask[2] == "Y" and mask[3] == "Y":
        # content: usable in tcp-request content; HTTP fetches also are (they wait for HTTP)
        return "L6" if mask[11] == "Y" or mask[12] == "." else "L7req"
    if mask[12] == "Y" or mask[11] == "Y":
        return "L7res"
    return "internal"


@dataclass(frozen=True, slots=True)
class FetchDef:
    name: str
    fn: Callable[..., Any]
    args: tuple[ArgSpec, ...]
    out: str
    mask: str
    #: which value an expression uses: "first" | "last"
    pick: str = "first"
    #: load-time argument checks and conversion: (args as words, offset) -> tuple of values
    prepare: Callable[[tuple[str, ...]], tuple[Any, ...]] | None = None
    #: extra configuration lookups (backend/server names...) done by config/build/post.py
    needs: tuple[str, ...] = field(default=())
    #: reads the data buffered by tcp-request inspect-delay, which may still grow: an ACL on it
    #: that fails before the data is final asks the rules to wait (2.6's SMP_F_MAY_CHANGE)
    waits: bool = False

    def usable_in(self, place: str) -> bool:
        """Whether 2.6 accepts this fetch in ``place`` (a key of :data:`PLACES`)."""
        idx = PLACES.get(place)
        return True if idx is None else any(self.mask[i] == "Y" for i in idx)

    @property
    def layer(self) -> str:
        return _layer(self.mask)


@dataclass(frozen=True, slots=True)
class ConvDef:
    name: str
    fn: Callable[..., Any]
    args: tuple[ArgSpec, ...]
    in_type: str
    out: str
    prepare: Callable[[tuple[str, ...]], tuple[Any, ...]] | None = None
    #: the output type 2.6 checks the next converter against at load time, when the values
    #: have another type at run time (``out`` is then "any": protobuf's integers)
    checked_as: str | None = None
    #: 2.6's converter changes the value and not its type, and a boolean reaches its integer
    #: input uncast (``c_none``): its result is a boolean holding the integer (the arithmetic)
    keeps_bool: bool = False


def fetch(name: str, *, test: str, out: str | None = None, pick: str = "first",
          prepare: Callable[[tuple[str, ...]], tuple[Any, ...]] | None = None,
          args: str | None = None, waits: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``fn`` as the 2.6 fetch ``name`` (signature and type from 2.6's dump
    unless given)."""
    sig, out26, mask = known26.FETCHES.get(name, ("", "str", "Y" * 22))

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        FETCHES.register(name, FetchDef(name, fn, parse_signature(sig if args is None else args),
                                        out or out26, mask, pick, prepare, waits=waits), test=test)
        return fn

    return deco


def alias(name: str, of: str, *, test: str) -> None:
    """Register ``name`` as another spelling of the implemented fetch ``of``."""
    d = FETCHES.get(of)
    assert d is not None, of
    sig, out26, mask = known26.FETCHES.get(name, ("", d.out, d.mask))
    FETCHES.register(name, FetchDef(name, d.fn, d.args, d.out, mask, d.pick, d.prepare, waits=d.waits), test=test)


def converter(name: str, *, test: str, in_type: str | None = None, out: str | None = None,
              prepare: Callable[[tuple[str, ...]], tuple[Any, ...]] | None = None,
              args: str | None = None, checked_as: str | None = None,
              keeps_bool: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    sig, in26, out26 = known26.CONVERTERS.get(name, ("", "str", "str"))

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        CONVERTERS.register(name, ConvDef(name, fn, parse_signature(sig if args is None else args),
                                          in_type or in26, out or out26, prepare, checked_as, keeps_bool),
                            test=test)
        return fn

    return deco


# --------------------------------------------------------------------------- argument lists


def split_args(text: str, start: int) -> tuple[list[str], int]:
    """Arguments from ``text[start]`` (just after '(') to the closing ')': (words, end index after
    ')'). As 2.6: commas separate, spaces are kept, a parenthesis does not nest (``str(a(b)`` is
    ``a(b``); quotes (' and ") protect commas and parentheses, a backslash escapes one character."""
    words, _, end = split_args_at(text, start)
    return words, end


def split_args_at(text: str, start: int) -> tuple[list[str], list[int], int]:
    """:func:`split_args` with, for each word, the index of the ',' or ')' that ends it."""
    args: list[str] = []
    seps: list[int] = []
    cur: list[str] = []
    i = start
    n = len(text)
    quote = ""
    while i < n:
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
                i += 1
                cur.append(text[i])
            else:
                cur.append(c)
            i += 1
            continue
        if c in "'\"":
            quote = c
        elif c == "\\" and i + 1 < n and text[i + 1] in "'\"\\,()":
            i += 1
            cur.append(text[i])
        elif c == ")":
            args.append("".join(cur))
            seps.append(i)
            return args, seps, i + 1
        elif c == ",":
            args.append("".join(cur))
            seps.append(i)
            cur = []
        else:
            cur.append(c)
        i += 1
    raise SampleError(f"expected ')' before '{text[start:]}'", start)


def _check_int(w: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", w):
        raise ValueError
    return int(w)


def _check_mask4(w: str) -> ipaddress.IPv4Address:
    if re.fullmatch(r"\d+", w):
        n = int(w)
        if n > 32:
            raise ValueError
        return ipaddress.IPv4Address((0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF)
    return ipaddress.IPv4Address(w)


def _check_mask6(w: str) -> int:
    if not re.fullmatch(r"\d+", w) or int(w) > 128:
        raise ValueError
    return int(w)


def _check_ipv4(w: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(w)


def _check_ipv6(w: str) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(w)


def _check_pbuf(w: str) -> tuple[int, ...]:
    from .protobuf import parse_field_path

    path = parse_field_path(w)
    if path is None:
        raise ValueError
    return path


def _check_regex(w: str) -> re.Pattern[bytes]:
    try:
        return re.compile(w.encode("latin1"))
    except re.error as e:
        raise ValueError(str(e)) from e


_ARG_CHECKS: dict[str, Callable[[str], Any]] = {
    "integer": _check_int,
    "IPv4 mask": _check_mask4,
    "IPv6 mask": _check_mask6,
    "IPv4 address": _check_ipv4,
    "IPv6 address": _check_ipv6,
    "regex": _check_regex,
    "Protocol buffers field number": _check_pbuf,
}


#: argument types 2.6 reads as "no argument" when the word is empty (the others are strings then);
#: an empty server name is refused by 2.6 once the names are resolved, here at once
_EMPTY_IS_NONE = frozenset({"integer", "IPv4 mask", "IPv6 mask", "IPv4 address", "IPv6 address", "time", "size",
                            "Protocol buffers field number", "server"})


def parse_args(kind: str, name: str, spec: tuple[ArgSpec, ...], words: list[str] | None,
               offset: int, rests: list[str] | None = None) -> tuple[Any, ...]:
    """Check and convert the argument words of fetch/converter ``name`` as 2.6 does at load
    time (its argument list parser, with its messages). ``kind`` is "fetch method" or "converter";
    ``words`` None when the name has no parentheses; ``rests[i]``: the text from the ',' or ')'
    that ends word ``i`` to the end of the expression's text (what 2.6 quotes after "expected
    ')' before"). String arguments stay ``str``."""
    conv = kind == "converter"

    def fail(pos: int, msg: str) -> SampleError:
        where = f"invalid arg {pos + 1} in converter '{name}' : " if conv else f"fetch method '{name}' : "
        return SampleError(f"{where}{msg}.", offset)

    def rest(i: int) -> str:
        if rests is not None and i < len(rests):
            return rests[i]
        return "," + ",".join(ws[i + 1:]) + ")"

    nbarg = len(spec)
    min_arg = sum(1 for x in spec if not x.optional)
    empty = words is None
    ws = [""] if words is None else words
    out: list[Any] = []
    # 2.6 stops reading after an optional typed argument left empty (k: that word) or after the
    # last argument the signature has (k: the last word read); what follows must be ')'
    k = -1
    if nbarg == 0:
        if not (empty or ws == [""]):
            raise fail(0, "expected ')' before '" + ",".join(ws) + ")'")
        return ()
    if empty and not min_arg:
        return ()
    for i, w in enumerate(ws):
        if i >= nbarg:
            k = nbarg - 1
            break
        a = spec[i]
        chk = _ARG_CHECKS.get(a.type)
        if w == "" and a.type in _EMPTY_IS_NONE:
            if i < min_arg:
                raise fail(i, f"expected type '{a.type}' at position {i + 1}, but got nothing")
            if i < len(ws) - 1:
                k = i
            break
        if chk is None:
            out.append(w)
            continue
        try:
            out.append(chk(w))
        except ValueError:
            raise fail(i, f"failed to parse '{w}' as type '{a.type}' at position {i + 1}") from None
    got = len(out)
    if got < min_arg:
        raise fail(got, f"missing arguments (got {got}/{min_arg}), type '{spec[got].type}' expected")
    if k >= 0:
        raise fail(got - 1 if got > 1 else got, f"expected ')' before '{rest(k)}'")
    return tuple(out)
