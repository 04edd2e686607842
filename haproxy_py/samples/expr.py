"""Sample expressions and log-format strings, compiled once at load time into closures. Pure.

* :func:`compile_expr` ``"fetch(args),conv(args),..."`` -> ``fn(txn) -> Sample | None``
* :func:`compile_values` the same for ACLs: ``fn(txn) -> list of values | None`` (every value the
  fetch finds, each through the converters) and the output type
* :func:`compile_format` a log-format string (``%[expr]``, ``%{+Q}ci``-style variables, ``%%``,
  literal text) -> ``fn(txn) -> bytes``

Errors raise :class:`SampleError` with the offset in the text, so the configuration reports the
column. Names 2.6 knows but haproxy-py does not implement are refused with the registry's message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .core import _EMPTY_IS_NONE, CONVERTERS, FETCHES, ConvDef, FetchDef, needs, parse_args, split_args_at
from .txn import Txn
from .types import Sample, SampleError, can_cast, caster, ntop6, to_text

__all__ = ["compile_expr", "compile_values", "compile_format", "parse_expr",
           "build_expr", "check_place", "ParsedExpr"]

_NAME = re.compile(r"[A-Za-z0-9_.+\-]+")


class ParsedExpr:
    """A checked expression: the fetch, its prepared arguments, and the converter chain."""

    __slots__ = ("text", "fetch", "fetch_args", "convs", "out", "fetch_word", "conv_words")

    def __init__(self, text: str, fetch: FetchDef, fetch_args: tuple[Any, ...],
                 convs: list[tuple[ConvDef, tuple[Any, ...], Callable[[Any], Any] | None]], out: str,
                 fetch_word: tuple[str, tuple[str, ...]],
                 conv_words: list[tuple[str, tuple[str, ...]]]) -> None:
        self.text = text
        self.fetch = fetch
        self.fetch_args = fetch_args
        self.convs = convs
        self.out = out
        self.fetch_word = fetch_word
        self.conv_words = conv_words


def _name_at(text: str, pos: int) -> str:
    m = _NAME.match(text, pos)
    return m.group(0) if m else ""


def _lookup_fetch(name: str, offset: int) -> FetchDef:
    d = FETCHES.get(name)
    if d is not None:
        return d
    if FETCHES.status(name) == "refused":
        raise SampleError(FETCHES.refusal(name), offset)
    raise SampleError(f"unknown fetch method '{name}'.", offset)


def _lookup_conv(name: str, offset: int) -> ConvDef:
    d = CONVERTERS.get(name)
    if d is not None:
        return d
    if CONVERTERS.status(name) == "refused":
        raise SampleError(CONVERTERS.refusal(name), offset)
    raise SampleError(f"unknown converter '{name}'.", offset)


def _prepared(d: FetchDef | ConvDef, kind: str, words: list[str] | None, offset: int,
              rests: list[str] | None = None) -> tuple[Any, ...]:
    args = parse_args(kind, d.name, d.args, words, offset, rests)
    if d.prepare is not None:
        try:
            args = d.prepare(args)
        except ValueError as e:
            where = (f"invalid args in converter '{d.name}' : " if kind == "converter"
                     else f"invalid args in fetch method '{d.name}' : ")
            msg = str(e)
            raise SampleError(where + msg + ("" if msg.endswith(".") else "."), offset) from None
    return args


def _expected_paren(rest: str) -> str:
    """2.6's words for an argument list that does not end where it must."""
    return f"expected ')' before '{rest}'" if rest else "expected ')'"


def _split_closed(sub: str, start: int, kind: str, d: FetchDef | ConvDef) -> tuple[list[str], list[int], int]:
    """:func:`split_args_at`, with 2.6's errors for a list that is never closed: the arguments
    it read are checked first (too few mandatory ones), then the missing ')' is reported."""
    try:
        return split_args_at(sub, start)
    except SampleError:
        words = sub[start:].split(",")
        nbarg = len(d.args)
        parse_args(kind, d.name, d.args, words[:nbarg] if nbarg else None, start)
        n = len(words)
        if n > 1 and words[-1] == "" and n <= nbarg and d.args[n - 1].optional \
                and d.args[n - 1].type in _EMPTY_IS_NONE:
            n -= 1  # an empty optional typed argument ends the list
        # (2.6 numbers the converter's argument so: never below 2)
        where = (f"invalid arg {max(2, min(n, nbarg))} in converter '{d.name}' : " if kind == "converter"
                 else f"fetch method '{d.name}' : ")
        if len(words) > nbarg:
            raise SampleError(where + f"expected ')' before '{',' + ','.join(words[nbarg:])}'.", start) from None
        raise SampleError(where + "expected ')'.", start) from None


def parse_expr(text: str, start: int = 0, end: int | None = None) -> ParsedExpr:
    """Check ``text[start:end]`` as a sample expression (raises :class:`SampleError`), left to
    right as 2.6 does: the fetch and its arguments, then each converter with its arguments."""
    end = len(text) if end is None else end
    sub = text[:end]
    pos = start
    name = _name_at(sub, pos)
    if not name:
        raise SampleError(f"unknown fetch method '{sub[pos:]}'.", pos)
    fdef = _lookup_fetch(name, pos)
    fpos = pos
    pos += len(name)
    words: list[str] | None = None
    # 2.6 quotes what follows an argument list it cannot end to the end of the whole text
    rest: list[str] | None = None
    if pos < end and sub[pos] == "(":
        if not fdef.args and not sub.startswith("()", pos):
            raise SampleError(f"fetch method '{name}' : {_expected_paren(text[pos + 1:])}.", pos + 1)
        words, seps, pos = _split_closed(sub, pos + 1, "fetch method", fdef)
        rest = [text[k:] for k in seps]
    b = _ExprBuilder(name, words, fpos, rest)
    while pos < end:
        if sub[pos] != ",":
            raise SampleError(f"missing comma after fetch keyword '{name}'.", pos)
        pos += 1
        cpos = pos
        cname = _name_at(sub, pos)
        if not cname:
            raise SampleError(f"unknown converter '{sub[pos:]}'.", pos)
        cdef = _lookup_conv(cname, cpos)
        pos += len(cname)
        cw: list[str] | None = None
        rest = None
        if pos < end and sub[pos] == "(":
            if not cdef.args and not sub.startswith("()", pos):
                raise SampleError(f"invalid arg 1 in converter '{cname}' : {_expected_paren(text[pos + 1:])}.",
                                  pos + 1)
            cw, seps, pos = _split_closed(sub, pos + 1, "converter", cdef)
            rest = [text[k:] for k in seps]
        b.add(cname, cw, cpos, rest)
    return b.done(text[start:end])


class _ExprBuilder:
    """An expression checked piece by piece, left to right as 2.6 does (the fetch and its
    arguments, then each converter with its arguments and input type): the first fault in the
    text is the one reported."""

    __slots__ = ("fdef", "fargs", "fetch_word", "t", "convs", "conv_words", "dyn")

    def __init__(self, name: str, words: list[str] | None, fpos: int, rest: list[str] | None = None) -> None:
        self.fdef = _lookup_fetch(name, fpos)
        self.fargs = _prepared(self.fdef, "fetch method", words, fpos, rest)
        self.fetch_word = (name, tuple(words or ()))
        self.t = self.fdef.out
        self.convs: list[tuple[ConvDef, tuple[Any, ...], Callable[[Any], Any] | None]] = []
        self.conv_words: list[tuple[str, tuple[str, ...]]] = []
        self.dyn = False  # the previous converter's values have their own type at run time

    def add(self, cname: str, cw: list[str] | None, cpos: int, rest: list[str] | None = None) -> None:
        cdef = _lookup_conv(cname, cpos)
        cargs = _prepared(cdef, "converter", cw, cpos, rest)
        t, dyn = self.t, self.dyn
        if t == "addr":  # ipv4 or ipv6, known per value: cast at run time (cst None)
            if not (can_cast("ipv4", cdef.in_type) or can_cast("ipv6", cdef.in_type)):
                raise SampleError(f"converter '{cname}' cannot be applied.", cpos)
        elif t != "any" and not can_cast(t, cdef.in_type):
            raise SampleError(f"converter '{cname}' cannot be applied.", cpos)
        cst = None if dyn or t in ("any", "addr") else caster(t, cdef.in_type)
        if not dyn and cdef.in_type == "addr" and t not in ("ipv4", "ipv6", "any"):
            cst = caster(t, "addr")
        self.convs.append((cdef, cargs, cst))
        self.conv_words.append((cname, tuple(cw or ())))
        self.t = cdef.checked_as or cdef.out
        self.dyn = cdef.checked_as is not None

    def done(self, text: str) -> ParsedExpr:
        t = "any" if self.dyn else self.t
        return ParsedExpr(text, self.fdef, self.fargs, self.convs, t, self.fetch_word, self.conv_words)


#: while the configuration builder listens (``config/build/refs.py``): every expression compiled
#: (compile_expr) or built for an ACL (build_expr) is appended here, so that the proxy, server, table and userlist names its arguments give are
#: resolved once every section is read, as 2.6 does
BUILT: list[ParsedExpr] | None = None


def build_expr(text: str, name: str, words: list[str] | None,
               convs: list[tuple[str, list[str] | None, int]], fpos: int = 0,
               rests: dict[int, list[str]] | None = None) -> ParsedExpr:
    """An expression from its parts (fetch name and argument words, converters as
    ``(name, words, offset)``), as the ACL parser has them."""
    rests = rests or {}
    b = _ExprBuilder(name, words, fpos, rests.get(-1))
    for ci, (cname, cw, cpos) in enumerate(convs):
        b.add(cname, cw, cpos, rests.get(ci))
    px = b.done(text)
    if BUILT is not None:
        BUILT.append(px)
    return px


def _addr_type(v: Any) -> str:
    return "ipv6" if getattr(v, "version", 4) == 6 else "ipv4"


def _chain(px: ParsedExpr) -> Callable[[Txn, Any, str], tuple[str, Any] | None]:
    """The converter chain as one function (value, type) -> (type, value) or None."""
    steps = tuple(px.convs)

    def run(txn: Txn, v: Any, t: str) -> tuple[str, Any] | None:
        for cdef, cargs, cst in steps:
            if cst is None:  # dynamic input type (a variable)
                if t != cdef.in_type and cdef.in_type != "any":
                    if cdef.in_type == "addr" and t in ("ipv4", "ipv6"):
                        pass
                    else:
                        c = caster(t, "addr" if cdef.in_type == "addr" else cdef.in_type)
                        if c is None:
                            return None
                        v = c(v)
            else:
                v = cst(v)
            if v is None:
                return None
            if cdef.in_type == "any":  # the converter takes the typed sample (set-var, ...)
                v = Sample(t, v)
            v = cdef.fn(v, cargs, txn)
            if v is None:
                return None
            if t != "bool" or not cdef.keeps_bool:
                t = cdef.out
            if t == "any":
                t, v = v.type, v.value
            elif t == "addr":
                t = _addr_type(v)
        return t, v

    return run


def _unwrap(out: str, v: Any) -> tuple[str, Any]:
    if out == "any":
        return v.type, v.value
    if out == "addr":
        return _addr_type(v), v
    return out, v


def check_place(px: ParsedExpr, place: str | None, offset: int = 0) -> None:
    """Raise 2.6's error when the expression's fetch cannot work at ``place`` (a key of
    :data:`haproxy_py.samples.core.PLACES`, e.g. "fe http-request", "be http-response")."""
    if place is not None and not px.fetch.usable_in(place):
        raise SampleError(f"sample fetch <{px.text}> may not be reliably used here because it needs "
                          f"'{needs(px.fetch)}' which is not available here.", offset)


def _phase_guard(px: ParsedExpr) -> Callable[[Txn, tuple[Any, ...]], Any]:
    """The fetch function, made to find nothing once the response is attached when 2.6 cannot use
    it during the response processing (path, req.hdr, cook, ... in an http-response rule: 2.6
    refuses them in its formats and never matches their ACLs there)."""
    fn = px.fetch.fn
    if px.fetch.usable_in("http-response"):
        return fn

    def request_only(txn: Txn, args: tuple[Any, ...]) -> Any:
        return None if txn.res is not None else fn(txn, args)

    return request_only


def compile_expr(text: str, start: int = 0, end: int | None = None,
                 place: str | None = None) -> Callable[[Txn], Sample | None]:
    """``fn(txn) -> Sample | None`` for the expression ``text[start:end]``; with ``place``, a fetch
    that cannot work there is refused as 2.6 does."""
    px = parse_expr(text, start, end)
    check_place(px, place, start)
    if BUILT is not None:
        BUILT.append(px)
    ffn = _phase_guard(px)
    fargs = px.fetch_args
    fout = px.fetch.out
    last = px.fetch.pick == "last"
    if not px.convs:
        def simple(txn: Txn) -> Sample | None:
            vals = ffn(txn, fargs)
            if not vals:
                return None
            t, v = _unwrap(fout, vals[-1] if last else vals[0])
            return Sample(t, v)
        return simple
    chain = _chain(px)

    def full(txn: Txn) -> Sample | None:
        vals = ffn(txn, fargs)
        if not vals:
            return None
        t, v = _unwrap(fout, vals[-1] if last else vals[0])
        r = chain(txn, v, t)
        return None if r is None else Sample(r[0], r[1])

    return full


def compile_values(text: str, start: int = 0, end: int | None = None,
                   px: ParsedExpr | None = None) -> tuple[Callable[[Txn], list[Sample] | None], str]:
    """For ACLs: ``(fn(txn) -> every sample (through the converters) or None, output type)``."""
    if px is None:
        px = parse_expr(text, start, end)
    ffn = _phase_guard(px)
    fargs = px.fetch_args
    fout = px.fetch.out
    chain = _chain(px) if px.convs else None

    def values(txn: Txn) -> list[Sample] | None:
        vals = ffn(txn, fargs)
        if not vals:
            return None
        out = []
        for raw in vals:
            t, v = _unwrap(fout, raw)
            if chain is not None:
                r = chain(txn, v, t)
                if r is None:
                    continue
                t, v = r
            out.append(Sample(t, v))
        return out or None

    return values, px.out


# --------------------------------------------------------------------------- log-format strings

_VAR = re.compile(r"[A-Za-z][A-Za-z0-9]*")
OPT_Q, OPT_X, OPT_E, OPT_M = 1, 2, 4, 8
_FLAGS = {"Q": OPT_Q, "X": OPT_X, "E": OPT_E, "M": OPT_M}


def _flags(arg: str, opts: int) -> int:
    for item in arg.split(","):
        item = item.strip()
        if len(item) >= 2 and item[0] in "+-" and item[1:] in _FLAGS:
            if item[0] == "+":
                opts |= _FLAGS[item[1:]]
            else:
                opts &= ~_FLAGS[item[1:]]
    return opts


def _b(s: Any) -> bytes:
    if s is None:
        return b""
    if isinstance(s, bytes):
        return s
    return str(s).encode("latin1", "replace")


def _hexport(p: int) -> bytes:
    return b"%04X" % p


def _iphex(ip: Any) -> bytes:
    return ip.packed.hex().upper().encode() if ip is not None else b""


def _req_piece(txn: Txn, which: str) -> bytes | None:
    """A piece of the request line as the client sent it (2.6 captures it before any rule): from
    the log record's request line when the engine keeps one, else from the request."""
    r = txn.req
    if r is None:
        return None
    line = getattr(txn.rec, "request_line", None) if txn.rec is not None else None
    if line is not None:
        parts = line.encode("latin-1").split(b" ")
        if len(parts) == 3:
            method, uri, version = parts
        else:
            method, uri, version = r.method, r.uri, r.version
    else:
        method, uri, version = r.method, r.uri, r.version
    if which == "HM":
        return method
    if which == "HU":
        return uri
    if which in ("HP", "HPO"):
        from ..http.message import uri_path

        return uri_path(uri)
    if which == "HQ":
        q = uri.find(b"?")
        return b"" if q < 0 else uri[q:]
    if which == "HV":
        return version
    if which == "r":
        return method + b" " + uri + b" " + version
    return None  # pragma: no cover


def _var_fn(name: str, opts: int, mandatory: bool) -> Callable[[Txn], bytes]:
    """A request-time log variable read from the Txn (or, for the others, from its log record)."""
    q = bool(opts & OPT_Q)
    x = bool(opts & OPT_X)

    def text(get: Callable[[Txn], Any]) -> Callable[[Txn], bytes]:
        def f(txn: Txn) -> bytes:
            v = get(txn)
            if v is None or v == b"" or v == "":
                return b'""' if q else (b"-" if mandatory else b"")
            v = _b(v)
            return b'"' + v + b'"' if q else v
        return f

    def port(get: Callable[[Txn], int | None]) -> Callable[[Txn], bytes]:
        def f(txn: Txn) -> bytes:
            v = get(txn)
            if v is None:
                return b'""' if q else b"-"
            return _hexport(v) if x else b"%d" % v
        return f

    def ip(get: Callable[[Txn], Any]) -> Callable[[Txn], bytes]:
        if x:
            def fx(txn: Txn) -> bytes:
                v = get(txn)
                return _iphex(v) if v is not None else (b'""' if q else b"-")
            return fx
        return text(lambda t: None if (v := get(t)) is None else (ntop6(v) if v.version == 6 else str(v)))

    if name == "ci":
        return ip(lambda t: t.src_ip())
    if name == "cp":
        return port(lambda t: t.src_port if t.src is not None else None)
    if name == "fi":
        return ip(lambda t: t.dst_ip())
    if name == "fp":
        return port(lambda t: t.dst_port if t.dst is not None else None)
    if name == "f":
        return text(lambda t: t.frontend)
    if name == "ft":
        return text(lambda t: t.frontend + "~" if t.rec is not None and t.rec.ssl else t.frontend)
    if name == "sslv":
        return text(lambda t: t.rec.ssl.protocol if t.rec is not None and t.rec.ssl else None)
    if name == "sslc":
        return text(lambda t: t.rec.ssl.cipher if t.rec is not None and t.rec.ssl else None)
    if name == "b":
        return text(lambda t: t.backend or t.frontend)
    if name == "s":
        return text(lambda t: t.server or "<NOSRV>")
    if name == "H":
        return text(lambda t: t.hostname)
    if name == "pid":
        return (lambda t: b"%04X" % t.pid) if x else (lambda t: b"%d" % t.pid)
    if name == "ID":  # the id once made (2.6 does not make it for a rule's %ID)
        return text(lambda t: t.unique_id)
    if name == "ST":  # 2.6's txn status: -1 until there is a response
        return text(lambda t: t.status if t.status is not None else (t.res.status if t.res is not None else -1))
    if name in ("HM", "HU", "HP", "HPO", "HQ", "HV", "r"):
        piece = name

        def req_piece(t: Txn) -> bytes | None:
            return _req_piece(t, piece)
        return text(req_piece)
    if name == "Ts":
        return (lambda t: b"%04X" % int(t.wall)) if x else (lambda t: b"%d" % int(t.wall))
    # everything else is in the log record (timers, byte counts, captures, dates)
    from ..log.format import compile_log_format

    flag = "".join(f"+{k}" for k, bit in _FLAGS.items() if opts & bit and k != "M")
    cf = compile_log_format(f"%{{{flag}}}{name}" if flag else f"%{name}")

    def from_rec(txn: Txn) -> bytes:
        rec = txn.rec
        if rec is None:
            return b"-" if mandatory else b""
        return cf(rec).encode("latin1", "replace")

    return from_rec


def _log_vars() -> frozenset[str]:
    from ..log import format as lf

    return lf._VARS


def _closing_bracket(text: str, open_at: int) -> int:
    """The index of the ']' closing the '%[' expression whose '[' is at ``open_at`` (quotes and
    parentheses skipped); SampleError when there is none."""
    n = len(text)
    depth, k, quote = 0, open_at + 1, ""
    while k < n:
        ch = text[k]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "]" and depth <= 0:
            return k
        k += 1
    raise SampleError(f"missing ']' after '{text[open_at + 1:]}'", open_at)


def compile_format(text: str, *, mandatory: bool = False, place: str | None = None,
                   plain: bool = False) -> Callable[[Txn], bytes]:
    """A log-format string as used by ``set-header``/``add-header``/``redirect``/``return
    lf-string`` -> ``fn(txn) -> bytes``. A SampleError's message is 2.6's, without the final
    period each caller adds in its own sentence. ``mandatory``: a missing value prints ``-`` (log lines);
    without it (HTTP actions, as 2.6) it prints nothing. Text and spaces are kept verbatim.
    ``place`` (e.g. "fe http-request"): a fetch that cannot work there is refused, as 2.6 does.
    ``plain``: a format that does not go into HTTP (``set-var-fmt``): a ``%[expr]`` is written as in
    a log line, its bytes as they are, with the ``+Q`` and ``+E`` flags (the HTTP ones %-encode the
    control bytes and ignore both flags), as 2.6 does."""
    parts: list[bytes | Callable[[Txn], bytes]] = []
    lit: list[str] = []
    i, n = 0, len(text)
    known_vars = _log_vars()
    defopts = 0

    def flush() -> None:
        if lit:
            parts.append("".join(lit).encode("latin1", "replace"))
            lit.clear()

    while i < n:
        c = text[i]
        if c != "%":
            lit.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            raise SampleError("truncated line after '%'", i - 1)
        c = text[i]
        if c == "%":
            lit.append("%")
            i += 1
            continue
        arg = ""
        if c == "{":
            j = text.find("}", i)
            if j < 0:
                raise SampleError(f"truncated line after '{text[i + 1:]}'", i)
            arg = text[i + 1:j]
            i = j + 1
            if i >= n or not (text[i].isalnum() or text[i] == "["):
                raise SampleError(f"parse argument modifier without variable name near '%{{{arg}}}'", i)
            c = text[i]
        if c == "[":
            try:
                j = _closing_bracket(text, i)
            except SampleError:  # 2.6 reports a bad expression before the missing ']'
                j = -1
            try:
                fn = compile_expr(text, i + 1, j if j >= 0 else n, place)
            except SampleError as e:  # 2.6 shows the format from the expression to its end
                msg = e.message[:-1] if e.message.endswith(".") else e.message
                head = f"sample fetch <{text[i + 1:j if j >= 0 else n]}>"
                if msg.startswith(head):  # a fetch that cannot work here: said as is
                    msg = f"sample fetch <{text[i + 1:]}>" + msg[len(head):]
                else:
                    msg = f"failed to parse sample expression <{text[i + 1:]}> : {msg}"
                raise SampleError(msg, e.offset) from None
            if j < 0:
                _closing_bracket(text, i)  # "missing ']'"
            flush()
            parts.append(_plain_text(fn, _flags(arg, defopts), mandatory) if plain else _expr_text(fn, mandatory))
            i = j + 1
            continue
        if c.isalpha():
            m = _VAR.match(text, i)
            assert m is not None
            name = m.group(0)
            if name not in known_vars:
                raise SampleError(f"no such format variable '{name}'. If you wanted to emit the '%' "
                                  "character verbatim, you need to use '%%'", i)
            i = m.end()
            if name == "o":  # %{+X}o: the default flags of the variables that follow
                defopts = _flags(arg, defopts)
                continue
            flush()
            parts.append(_var_fn(name, _flags(arg, defopts), mandatory))
            continue
        raise SampleError(f"unexpected variable name near '{c}' at position {i} line : '{text}'. Maybe you "
                          "want to write a single '%', use the syntax '%%'", i)
    flush()
    return _join(parts)


#: control bytes (not TAB) and DEL in a sample's text are sent %-encoded, as 2.6 does
_CTL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def _pct(m: re.Match[bytes]) -> bytes:
    return b"%%%02X" % m.group(0)[0]


def _expr_text(fn: Callable[[Txn], Sample | None], mandatory: bool) -> Callable[[Txn], bytes]:
    missing = b"-" if mandatory else b""
    sub = _CTL.sub

    def f(txn: Txn) -> bytes:
        s = fn(txn)
        if s is None:
            return missing
        b = to_text(s.type, s.value)
        if b is None:
            return missing
        return sub(_pct, b)

    return f


_ESC_B = re.compile(rb'["\\\]]')


def _plain_text(fn: Callable[[Txn], Sample | None], opts: int, mandatory: bool) -> Callable[[Txn], bytes]:
    """A ``%[expr]`` of a ``plain`` format: ``+E`` puts a backslash before ``"``, ``\\`` and ``]``,
    ``+Q`` quotes (a missing value is then ``""``), ``+M`` (or ``mandatory``) prints ``-`` for it."""
    q = bool(opts & OPT_Q)
    esc = bool(opts & OPT_E)
    missing = b'""' if q else b"-" if mandatory or opts & OPT_M else b""

    def f(txn: Txn) -> bytes:
        s = fn(txn)
        b = None if s is None else to_text(s.type, s.value)
        if not b:
            return missing
        if esc:
            b = _ESC_B.sub(lambda m: b"\\" + m.group(0), b)
        return b'"' + b + b'"' if q else b

    return f


def _join(parts: list[bytes | Callable[[Txn], bytes]]) -> Callable[[Txn], bytes]:
    if not parts:
        return lambda txn: b""
    if len(parts) == 1:
        p = parts[0]
        if isinstance(p, bytes):
            return lambda txn: p
        return p
    items = tuple(parts)

    def fmt(txn: Txn) -> bytes:
        return b"".join(p if isinstance(p, bytes) else p(txn) for p in items)

    return fmt
