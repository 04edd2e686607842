"""http-request / http-response / http-after-response actions, as HAProxy 2.6 does them.

Each ``p_*`` function is an entry's parser: ``(args, ctx) -> Action`` (args = the words after the
action name, before ``if``/``unless``). Each Action's ``run(txn)`` changes ``txn.req`` (request
rules) or ``txn.res`` (response rules) in place, or returns the verdict that ends the rule set.
Pure: the engine applies the verdicts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from haproxy_py.actions.base import (
    DENY,
    REPLY,
    SERVICE,
    STOP,
    TARPIT,
    V_CONTINUE,
    V_DROP,
    V_REJECT,
    V_STOP,
    WAIT_BODY,
    Action,
    ActionError,
    ParseCtx,
    TrailingWords,
    Verdict,
    rewrite_failed,
)
from haproxy_py.actions.lf import Fmt, compile_lf, const
from haproxy_py.http import htx
from haproxy_py.samples.txn import VAR_CONDS as _VAR_CONDS

#: the reason phrase HAProxy 2.6 gives a status it writes itself (set-status, return, redirect)
REASONS: dict[int, bytes] = {
    100: b"Continue", 101: b"Switching Protocols", 102: b"Processing", 103: b"Early Hints",
    200: b"OK", 201: b"Created", 202: b"Accepted", 203: b"Non-Authoritative Information",
    204: b"No Content", 205: b"Reset Content", 206: b"Partial Content", 207: b"Multi-Status",
    210: b"Content Different", 226: b"IM Used",
    300: b"Multiple Choices", 301: b"Moved Permanently", 302: b"Found", 303: b"See Other",
    304: b"Not Modified", 305: b"Use Proxy", 307: b"Temporary Redirect", 308: b"Permanent Redirect",
    310: b"Too many Redirects",
    400: b"Bad Request", 401: b"Unauthorized", 402: b"Payment Required", 403: b"Forbidden",
    404: b"Not Found", 405: b"Method Not Allowed", 406: b"Not Acceptable",
    407: b"Proxy Authentication Required", 408: b"Request Time-out", 409: b"Conflict", 410: b"Gone",
    411: b"Length Required", 412: b"Precondition Failed", 413: b"Request Entity Too Large",
    414: b"Request-URI Too Long", 415: b"Unsupported Media Type", 416: b"Requested range unsatisfiable",
    417: b"Expectation failed", 418: b"I'm a teapot", 421: b"Misdirected Request",
    422: b"Unprocessable entity", 423: b"Locked", 424: b"Method failure", 425: b"Too Early",
    426: b"Upgrade Required", 428: b"Precondition Required", 429: b"Too Many Requests",
    431: b"Request Header Fields Too Large", 449: b"Retry With",
    450: b"Blocked by Windows Parental Controls", 451: b"Unavailable For Legal Reasons",
    456: b"Unrecoverable Error", 499: b"client has closed connection",
    500: b"Internal Server Error", 501: b"Not Implemented", 502: b"Bad Gateway or Proxy Error",
    503: b"Service Unavailable", 504: b"Gateway Time-out", 505: b"HTTP Version not supported",
    506: b"Variant also negociate", 507: b"Insufficient storage", 508: b"Loop detected",
    509: b"Bandwidth Limit Exceeded", 510: b"Not extended", 511: b"Network authentication required",
    520: b"Web server is returning an unknown error",
}


def reason(status: int) -> bytes:
    return REASONS.get(status, b"Other")


def _pre(ctx: ParseCtx) -> str:
    return f"'{ctx.family} {ctx.action}' "


def _rule_pre(ctx: ParseCtx) -> str:
    """2.6's prefix for an action's own errors."""
    return f"error detected in {ctx.proxy_kind} '{ctx.proxy_name}' while parsing '{ctx.family} {ctx.action}' rule : "


def _err(ctx: ParseCtx, msg: str, i: int = -1) -> ActionError:
    """An error worded as 2.6 words it (its prefix, its text)."""
    return ActionError(_rule_pre(ctx) + msg, i, ours=False)


def _only(args: Sequence[str], n: int) -> None:
    """The action takes ``n`` words: a further one is the rule parser's error."""
    if len(args) > n:
        raise TrailingWords("", n)


def _int(word: str) -> int | None:
    try:
        return int(word, 10)
    except ValueError:
        return None


def _regex(word: str, i: int) -> re.Pattern[bytes]:
    try:
        return re.compile(word.encode("latin-1"))
    except re.error as e:
        raise ActionError(f"regex '{word}' is invalid: {e}.", i) from None


_BACKREF = re.compile(rb"\\(\d)")


def _expand(template: bytes, m: re.Match[bytes]) -> bytes:
    """HAProxy's replacement: the template with ``\\N`` replaced by group N (empty if unset). The
    whole subject is replaced, not only the matched part."""
    if b"\\" not in template:
        return template

    def g(mm: re.Match[bytes]) -> bytes:
        n = int(mm.group(1))
        try:
            return m.group(n) or b""
        except IndexError:
            return b""

    return _BACKREF.sub(g, template)


def _side(ctx: ParseCtx) -> str:
    return "req" if ctx.family == "http-request" else "res"


# ============================================================================ headers
def _req_start(txn: Any, nheaders: int) -> int:
    """The first sized rewrite of the request: its room's lower bound (``nheaders``: the head's
    before this rewrite), less what the body that came with the head takes."""
    req = txn.req
    if txn.req_buf:
        txn.req_body_in = htx.request_held(txn.bufsize, txn.maxrewrite, req, txn.req_buf)
        txn.req_buf = b""
    room: int = htx.room_floor(txn.bufsize, req.head_len, nheaders) - txn.req_body_in if req.head_len else -1
    txn.req_room = room
    return room


def _req_fits(txn: Any, need: int) -> bool:
    """Whether a header of ``need`` bytes (http/htx.py header_need) fits in the request; it takes
    the room when it does. Until a rewrite comes near the limit only a cheap lower bound of the
    room is kept (htx.room_floor, from the raw head's length): one comparison per rewrite; the
    exact room (htx.request_room, a pass over the headers) is computed once, when one does."""
    room = txn.req_room
    if room is None:
        room = _req_start(txn, len(txn.req.headers))
    if need > room and not txn.req_exact:
        req = txn.req
        # a removed header's block stays (8 bytes each: measured on 2.6.12); the body bytes that
        # came with the head are in the buffer too
        room = htx.request_room(txn.bufsize, req.method, req.uri, req.version, req.headers, txn.req_body_in) \
            - htx.BLOCK * txn.req_dead
        txn.req_exact = True
    if need > room:
        txn.req_room = room
        return False
    txn.req_room = room - need
    return True


def _res_start(txn: Any, res: Any) -> None:
    """The first sized rewrite of a response: its room's lower bound."""
    txn.res_for = res
    txn.res_exact = False
    txn.res_dead = 0
    src = txn.res_src
    if src is not None and src[0] is res:  # a server's response and the body that came with it
        txn.res_held = htx.response_held(txn.bufsize, txn.maxrewrite, res, src[1])
    else:
        txn.res_held = txn.res_body_in
    txn.res_room = htx.room_floor(txn.bufsize, res.head_len, len(res.headers)) - txn.res_held \
        if res.head_len else -1


def _res_fits(txn: Any, need: int) -> bool:
    """_req_fits for the response the rules run on (``txn.res``): its room is kept with the
    response it belongs to (``res_for``), so a new response (an error page after a server's one)
    starts from its own."""
    res = txn.res
    if txn.res_for is not res:
        _res_start(txn, res)
    room = txn.res_room
    if need > room and not txn.res_exact:
        room = htx.response_room(txn.bufsize, res.version, res.reason, res.headers, txn.res_held) \
            - htx.BLOCK * txn.res_dead
        txn.res_exact = True
    if need > room:
        txn.res_room = room
        return False
    txn.res_room = room - need
    return True


def _grows(txn: Any, req: bool, delta: int) -> bool:
    """A rewrite in place (replace-header/-value, set-path, set-uri, replace-uri...) that makes
    the message ``delta`` bytes bigger: 2.6.12 needs room for the growth only (measured)."""
    if req:
        if delta > 0:
            return _req_fits(txn, delta)
        if txn.req_room is not None:
            txn.req_room -= delta
        return True
    if delta > 0:
        return _res_fits(txn, delta)
    if txn.res_for is txn.res:
        txn.res_room -= delta
    return True


class AddHeader(Action):
    __slots__ = ("side", "name", "fmt")

    def __init__(self, side: str, name: bytes, fmt: Fmt) -> None:
        self.side, self.name, self.fmt = side, name, fmt

    def run(self, txn: Any) -> Verdict:
        value = self.fmt(txn)
        if self.side == "req":
            need = 8 + len(self.name) + len(value)  # htx.header_need
            room = txn.req_room
            if room is not None and need <= room:  # the usual case: one comparison
                txn.req_room = room - need
            elif not _req_fits(txn, need):
                return rewrite_failed(txn)
            txn.req.headers.append((self.name, value))
        else:
            need = 8 + len(self.name) + len(value)
            res = txn.res
            if txn.res_for is res and need <= txn.res_room:  # the usual case
                txn.res_room -= need
            elif not _res_fits(txn, need):
                return rewrite_failed(txn)
            res.headers.append((self.name, value))
        return V_CONTINUE


class SetHeader(AddHeader):
    __slots__ = ("key", "klen")

    def __init__(self, side: str, name: bytes, fmt: Fmt) -> None:
        super().__init__(side, name, fmt)
        self.key = name.lower()
        self.klen = len(name)

    def run(self, txn: Any) -> Verdict:
        req = self.side == "req"
        msg = txn.req if req else txn.res
        value = self.fmt(txn)  # evaluated before the old values go (it may read them)
        key, klen = self.key, self.klen
        old = msg.headers
        # the room's lower bound is taken on the head as it is, before the removal
        if req:
            if txn.req_room is None:
                _req_start(txn, len(old))
        elif txn.res_for is not msg:
            _res_start(txn, msg)
        # the length test spares the lower() of every other header
        msg.headers = [h for h in old if len(h[0]) != klen or h[0].lower() != key]
        need = htx.BLOCK + len(self.name) + len(value)
        gone = len(old) - len(msg.headers)
        # 2.6 removes the old values first (on a failure they stay removed): their data is room
        # again, not their blocks' 8 bytes (measured on 2.6.12)
        if req:
            if gone:
                txn.req_room += sum([len(n) + len(v) for n, v in old if len(n) == klen and n.lower() == key])
                txn.req_dead += gone
            if not _req_fits(txn, need):
                return rewrite_failed(txn)
        else:
            if gone:
                txn.res_room += sum([len(n) + len(v) for n, v in old if len(n) == klen and n.lower() == key])
                txn.res_dead += gone
            if not _res_fits(txn, need):
                return rewrite_failed(txn)
        msg.headers.append((self.name, value))
        return V_CONTINUE


def p_add_header(args: Sequence[str], ctx: ParseCtx) -> Action:
    if len(args) < 2 or not args[0]:
        raise _err(ctx, "expects exactly 2 arguments.")
    _only(args, 2)
    cls = SetHeader if ctx.action == "set-header" else AddHeader
    return cls(_side(ctx), args[0].encode("latin-1"), compile_lf(args[1], 1, ctx))


class DelHeader(Action):
    __slots__ = ("side", "test")

    def __init__(self, side: str, test: Any) -> None:
        self.side, self.test = side, test

    def run(self, txn: Any) -> Verdict:
        req = self.side == "req"
        msg = txn.req if req else txn.res
        t = self.test
        old = msg.headers
        kept = [h for h in old if not t(h[0])]
        gone = len(old) - len(kept)
        if gone and req and txn.req_room is None:
            _req_start(txn, len(old))  # on the head before the removal
        msg.headers = kept
        if gone:  # their data is room again, not their blocks (measured on 2.6.12, as set-header)
            freed = sum([len(n) + len(v) for n, v in old if t(n)])
            if req:
                txn.req_room += freed
                txn.req_dead += gone
            else:
                if txn.res_for is not msg:
                    _res_start(txn, msg)
                    if msg.head_len:  # the bound of the head before the removal
                        txn.res_room -= 6 * gone
                txn.res_room += freed
                txn.res_dead += gone
        return V_CONTINUE


def p_del_header(args: Sequence[str], ctx: ParseCtx) -> Action:
    if not args or not args[0]:
        raise _err(ctx, "expects at least 1 argument.")
    name = args[0].encode("latin-1")
    low = name.lower()
    meth = "str"
    if len(args) > 1 and args[1] == "-m":
        if len(args) < 3:
            raise _err(ctx, "-m flag expects exactly 1 argument.", 1)
        meth = args[2]
        _only(args, 3)
    else:
        _only(args, 1)
    if meth == "str":
        def test(n: bytes) -> bool:
            return n.lower() == low
    elif meth == "beg":
        def test(n: bytes) -> bool:
            return n.lower().startswith(low)
    elif meth == "end":
        def test(n: bytes) -> bool:
            return n.lower().endswith(low)
    elif meth == "sub":
        def test(n: bytes) -> bool:
            return low in n.lower()
    elif meth == "reg":
        rx = _regex(args[0], 0)

        def test(n: bytes) -> bool:
            return rx.search(n.lower()) is not None  # 2.6 matches the lower-cased name
    else:
        raise _err(ctx, f"-m with unsupported matching method '{meth}'.", 2)
    return DelHeader(_side(ctx), test)


class ReplaceHeader(Action):
    """replace-header: the whole value; replace-value: each comma-separated element."""

    __slots__ = ("side", "name", "rx", "fmt", "each")

    def __init__(self, side: str, name: bytes, rx: re.Pattern[bytes], fmt: Fmt, each: bool) -> None:
        self.side, self.name, self.rx, self.fmt, self.each = side, name.lower(), rx, fmt, each

    def run(self, txn: Any) -> Verdict:
        req = self.side == "req"
        msg = txn.req if req else txn.res
        key = self.name
        rx = self.rx
        out: list[tuple[bytes, bytes]] = []
        tmpl = None
        old = msg.headers
        for i, (n, v) in enumerate(old):
            if n.lower() == key:
                if tmpl is None:
                    tmpl = self.fmt(txn)
                was = v
                if self.each:
                    parts = v.split(b",")
                    for k, part in enumerate(parts):
                        m = rx.search(part.strip(b" \t"))
                        if m is not None:
                            parts[k] = _expand(tmpl, m)
                    v = b",".join(parts)
                else:
                    m = rx.search(v)
                    if m is not None:
                        v = _expand(tmpl, m)
                if len(v) != len(was) and not _grows(txn, req, len(v) - len(was)):
                    # this one stays as it was, and the ones after it: those before are done
                    msg.headers = out + old[i:]
                    return rewrite_failed(txn)
            out.append((n, v))
        msg.headers = out
        return V_CONTINUE


def p_replace_header(args: Sequence[str], ctx: ParseCtx) -> Action:
    if len(args) < 3:
        raise _err(ctx, "expects exactly 3 arguments.")
    _only(args, 3)
    return ReplaceHeader(_side(ctx), args[0].encode("latin-1"), _regex(args[1], 1), compile_lf(args[2], 2, ctx),
                         ctx.action == "replace-value")


# ============================================================================ request line
def _split_uri(uri: bytes) -> tuple[bytes, bytes, bytes]:
    """(scheme://authority, path, ?query-with-mark) of a request URI."""
    if uri[:1] == b"/":
        pre = b""
        rest = uri
    else:
        s = uri.find(b"://")
        if s < 0:
            return uri, b"", b""
        p = uri.find(b"/", s + 3)
        q = uri.find(b"?", s + 3)
        cut = min(x for x in (p, q, len(uri)) if x >= 0)
        pre, rest = uri[:cut], uri[cut:]
    path, mark, query = rest.partition(b"?")
    return pre, path, mark + query


class SetLine(Action):
    """set-method, set-path, set-pathq, set-query, set-uri."""

    __slots__ = ("what", "fmt")

    def __init__(self, what: str, fmt: Fmt) -> None:
        self.what, self.fmt = what, fmt

    def run(self, txn: Any) -> Verdict:
        req = txn.req
        v = self.fmt(txn)
        w = self.what
        if w == "set-method":
            if len(v) != len(req.method) and not _grows(txn, True, len(v) - len(req.method)):
                return rewrite_failed(txn)
            req.method = v
            return V_CONTINUE
        uri = req.uri
        if w == "set-uri":
            uri = v
        else:
            pre, path, query = _split_uri(uri)
            if w == "set-path":
                uri = pre + v + query
            elif w == "set-pathq":
                uri = pre + v
            elif query:
                uri = pre + path + b"?" + v
            elif v:
                uri = pre + path + b"?" + v
        if len(uri) != len(req.uri) and not _grows(txn, True, len(uri) - len(req.uri)):
            return rewrite_failed(txn)
        req.uri = uri
        return V_CONTINUE


def p_set_line(args: Sequence[str], ctx: ParseCtx) -> Action:
    if len(args) != 1:
        raise _err(ctx, "expects exactly 1 argument <format>.", max(0, len(args) - 1))
    return SetLine(ctx.action, compile_lf(args[0], 0, ctx))


class ReplaceLine(Action):
    """replace-path (path), replace-pathq (path and query), replace-uri (the whole URI)."""

    __slots__ = ("what", "rx", "fmt")

    def __init__(self, what: str, rx: re.Pattern[bytes], fmt: Fmt) -> None:
        self.what, self.rx, self.fmt = what, rx, fmt

    def run(self, txn: Any) -> Verdict:
        req = txn.req
        w = self.what
        if w == "replace-uri":
            m = self.rx.search(req.uri)
            if m is not None:
                new = _expand(self.fmt(txn), m)
                if len(new) != len(req.uri) and not _grows(txn, True, len(new) - len(req.uri)):
                    return rewrite_failed(txn)
                req.uri = new
            return V_CONTINUE
        pre, path, query = _split_uri(req.uri)
        subject = path if w == "replace-path" else path + query
        m = self.rx.search(subject)
        if m is not None:
            new = pre + _expand(self.fmt(txn), m) + (query if w == "replace-path" else b"")
            if len(new) != len(req.uri) and not _grows(txn, True, len(new) - len(req.uri)):
                return rewrite_failed(txn)
            req.uri = new
        return V_CONTINUE


def p_replace_line(args: Sequence[str], ctx: ParseCtx) -> Action:
    if len(args) != 2:
        raise _err(ctx, "expects exactly 2 arguments <match-regex> and <replace-format>.", max(0, len(args) - 1))
    return ReplaceLine(ctx.action, _regex(args[0], 0), compile_lf(args[1], 1, ctx))


# ============================================================================ stop / deny
class Allow(Action):
    __slots__ = ()

    def run(self, txn: Any) -> Verdict:
        return V_STOP


def p_allow(args: Sequence[str], ctx: ParseCtx) -> Action:
    _only(args, 0)
    return Allow()


class Const(Action):
    """An action whose verdict never changes (reject, silent-drop, a plain deny...)."""

    __slots__ = ("v",)

    def __init__(self, v: Verdict) -> None:
        self.v = v

    def run(self, txn: Any) -> Verdict:
        return self.v


def p_reject(args: Sequence[str], ctx: ParseCtx) -> Action:
    _only(args, 0)
    return Const(V_REJECT if ctx.action == "reject" else V_DROP)


class Reply(Action):
    """A response built from parts: return, deny/tarpit with a payload."""

    __slots__ = ("kind", "status", "hdrs", "ctype", "body")

    def __init__(self, kind: str, status: int, hdrs: list[tuple[bytes, Fmt]], ctype: bytes | None,
                 body: Fmt | None) -> None:
        self.kind, self.status, self.hdrs, self.ctype, self.body = kind, status, hdrs, ctype, body

    def run(self, txn: Any) -> Verdict:
        body = self.body(txn) if self.body is not None else b""
        headers = [(n, f(txn)) for n, f in self.hdrs]
        headers.append((b"content-length", str(len(body)).encode()))
        if self.ctype is not None and body:  # 2.6: no content-type for an empty payload
            headers.append((b"content-type", self.ctype))
        return Verdict(self.kind, self.status, reason(self.status), headers, body)


_REPLY_WORDS = ("status", "content-type", "errorfile", "errorfiles", "file", "lf-file", "string",
                "lf-string", "hdr")


_REPLY_ARG = {"status": "<status_code>", "content-type": "<ctype>", "errorfile": "<file>",
              "errorfiles": "<name>", "file": "<file>", "lf-file": "<file>", "string": "<str>",
              "lf-string": "<fmt>"}


def _parse_reply(args: Sequence[str], ctx: ParseCtx, kind: str, default_status: int,
                 start: int = 0) -> Reply:
    """2.6's http reply arguments; an unknown word ends them (the rule parser reports it)."""
    status = default_status
    ctype: bytes | None = None
    body: Fmt | None = None
    body_kw = ""
    hdrs: list[tuple[bytes, Fmt]] = []
    i = start
    while i < len(args):
        w = args[i]
        if w not in _REPLY_WORDS:
            raise TrailingWords("", i)
        if w == "hdr":
            if i + 2 >= len(args):
                raise _err(ctx, "'hdr' expects <name> and <value> as arguments.", i)
            name = args[i + 1].encode("latin-1")
            if name.lower() in (b"content-length", b"transfer-encoding", b"content-type"):
                ctx.warnings.append((f"header '{args[i + 1]}' always ignored by the http reply.", i + 1))
            else:
                hdrs.append((name, compile_lf(args[i + 2], i + 2, ctx)))
            i += 3
            continue
        if i + 1 >= len(args):
            raise _err(ctx, f"'{w}' expects {_REPLY_ARG[w]} as argument.", i)
        arg = args[i + 1]
        if w in ("errorfile", "errorfiles", "file", "lf-file", "string", "lf-string"):
            if body_kw:
                raise _err(ctx, f"unexpected '{w}' argument, '{body_kw}' already defined.", i)
            body_kw = w
        if w == "status":
            code = _int(arg)
            if code is None or not 200 <= code <= 599:
                raise _err(ctx, f"Unexpected status code '{arg}'.", i + 1)
            status = code
        elif w == "content-type":
            ctype = arg.encode("latin-1")
        elif w == "string":
            body = const(arg.encode("latin-1"))
        elif w == "lf-string":
            body = compile_lf(arg, i + 1, ctx)
        elif w == "file":
            try:
                with open(arg, "rb") as f:
                    data = f.read()
            except OSError:
                raise _err(ctx, f"error opening file '{arg}'.", i + 1) from None
            body = const(data)
        else:
            from haproxy_py.registry import not_implemented

            raise ActionError(not_implemented(f"'{ctx.family} {ctx.action} {w}'",
                                              "use 'string' or 'file' with 'content-type'"), i)
        i += 2
    if body is not None and ctype is None:
        raise _err(ctx, "a content type must be defined when non-empty payload is configured.")
    return Reply(kind, status, hdrs, ctype, body)


def p_return(args: Sequence[str], ctx: ParseCtx) -> Action:
    return _parse_reply(args, ctx, REPLY, 200)


_DENY_CODES = (200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504)


def p_deny(args: Sequence[str], ctx: ParseCtx) -> Action:
    """deny / tarpit [deny_status N] [a response as 'return' builds it]."""
    kind = TARPIT if ctx.action == "tarpit" else DENY
    status = 502 if ctx.family != "http-request" else (500 if kind == TARPIT else 403)
    start = 0
    if args and args[0] == "deny_status":
        if len(args) < 2:
            raise _err(ctx, "'status' expects <status_code> as argument.", 0)
        code = _int(args[1])
        if code is None or code not in _DENY_CODES:
            shown = args[1] if code is not None else "0"
            raise _err(ctx, f"Unexpected status code '{shown}'.", 1)
        status = code
        start = 2
    if start >= len(args):
        return Const(Verdict(kind, status))
    # with any response keyword the reply is built (an empty one without payload), not the error page
    return _parse_reply(args, ctx, kind, status, start)


# ============================================================================ redirect
_REDIR_CODES = (301, 302, 303, 307, 308)


class Redirect(Action):
    __slots__ = ("type", "fmt", "code", "drop_query", "append_slash", "cookie", "ignore_empty")

    def __init__(self, type_: str, fmt: Fmt, code: int, drop_query: bool, append_slash: bool,
                 cookie: bytes | None, ignore_empty: bool = False) -> None:
        self.type, self.fmt, self.code = type_, fmt, code
        self.drop_query, self.append_slash, self.cookie = drop_query, append_slash, cookie
        self.ignore_empty = ignore_empty

    def run(self, txn: Any) -> Verdict:
        req = txn.req
        dest = self.fmt(txn)
        if not dest and self.ignore_empty:
            return V_CONTINUE
        if self.type == "location":
            loc = dest
        else:
            _, path, query = _split_uri(req.uri)
            if not self.drop_query:
                path += query
            if self.append_slash and not path.endswith(b"/"):
                path += b"/"
            if self.type == "prefix":
                loc = path if dest == b"/" else dest + path
            else:
                loc = dest + b"://" + (req.get(b"host") or b"") + path
        code = self.code
        headers = [(b"content-length", b"0"), (b"location", loc)]
        if code in (302, 303, 307):
            headers.append((b"cache-control", b"no-cache"))
        if self.cookie is not None:
            headers.append((b"set-cookie", self.cookie))
        # service "redirect": the engine closes after a redirect whose request has a body, as 2.6
        return Verdict(REPLY, code, reason(code), headers, b"", service="redirect")


REDIRECT_EXPECTS = ("expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', "
                    "'drop-query', 'ignore-empty' or 'append-slash'")


def parse_redirect(args: Sequence[str], ctx: ParseCtx) -> Redirect:
    """``location|prefix|scheme <dest> [code N] [set-cookie N=V|clear-cookie N=] [drop-query]
    [append-slash] [ignore-empty]`` (the legacy ``redirect`` keyword and ``http-request
    redirect``). Errors carry 2.6's words without its prefix (the callers add theirs)."""
    type_ = None
    fmt: Fmt | None = None
    code = 302
    drop = slash = ignore = False
    cookie = None
    i = 0
    while i < len(args):
        w = args[i]
        if w in ("location", "prefix", "scheme"):
            if i + 1 >= len(args):
                raise ActionError(f"missing argument for '{w}'.", i, ours=False)
            type_ = w
            fmt = compile_lf(args[i + 1], i + 1, ctx)
            i += 2
        elif w == "code":
            if i + 1 >= len(args):
                raise ActionError("missing HTTP code.", i, ours=False)
            code_v = _int(args[i + 1])
            if code_v not in _REDIR_CODES:
                raise ActionError(f"'code': unsupported HTTP code '{args[i + 1]}' (must be one of 301, 302, "
                                  "303, 307 or 308).", i + 1, ours=False)
            code = int(code_v)
            i += 2
        elif w in ("set-cookie", "clear-cookie"):
            if i + 1 >= len(args):
                raise ActionError(f"missing argument for '{w}'.", i, ours=False)
            c = args[i + 1]
            cookie = (c + "; path=/;" if w == "set-cookie" else c + "; path=/; Max-Age=0;").encode("latin-1")
            i += 2
        elif w == "drop-query":
            drop = True
            i += 1
        elif w == "append-slash":
            slash = True
            i += 1
        elif w == "ignore-empty":
            ignore = True
            i += 1
        else:
            raise ActionError(f"{REDIRECT_EXPECTS} (was '{w}').", i, ours=False)
    if type_ is None or fmt is None:
        raise ActionError("redirection type expected ('prefix', 'location', or 'scheme').", -1, ours=False)
    return Redirect(type_, fmt, code, drop, slash, cookie, ignore)


def p_redirect(args: Sequence[str], ctx: ParseCtx) -> Action:
    try:
        r = parse_redirect(args, ctx)
        if ctx.family == "http-response" and r.type != "location":
            raise ActionError("response only supports redirect type 'location'.", 0, ours=False)
        return r
    except ActionError as e:
        raise ActionError(_rule_pre(ctx) + e.message, e.word_index, ours=e.ours) from None


# ============================================================================ response status
class SetStatus(Action):
    __slots__ = ("status", "reason")

    def __init__(self, status: int, reason_: bytes) -> None:
        self.status, self.reason = status, reason_

    def run(self, txn: Any) -> Verdict:
        res = txn.res
        res.status = self.status
        res.code = None
        res.reason = self.reason
        return V_CONTINUE


def p_set_status(args: Sequence[str], ctx: ParseCtx) -> Action:
    code = _int(args[0]) if args else None
    if code is None or not 100 <= code <= 999:
        raise ActionError(_rule_pre(ctx) + "expects an integer status code between 100 and 999.", 0,
                          ours=False)
    rs = reason(code)
    if len(args) >= 3 and args[1] == "reason":
        rs = args[2].encode("latin-1")
        _only(args, 3)
    else:
        _only(args, 1)
    return SetStatus(code, rs)


# ============================================================================ services
SERVICES = ("prometheus-exporter",)


def p_use_service(args: Sequence[str], ctx: ParseCtx) -> Action:
    if not args:
        raise _err(ctx, "'use-service' expects a service name..")
    if args[0] not in SERVICES:
        raise _err(ctx, f"'{args[0]}' unknown service name..", 0)
    _only(args, 1)
    return Const(Verdict(SERVICE, 200, service=args[0]))


# ============================================================================ variables
_VAR_SCOPES = ("proc", "sess", "txn", "req", "res", "check")


def _var_name(ctx: ParseCtx) -> str:
    """``set-var(txn.name)`` -> ``txn.name`` (checked as 2.6 checks it)."""
    word = ctx.action
    base, paren, rest = word.partition("(")
    pre = f"error detected in {ctx.proxy_kind} '{ctx.proxy_name}' while parsing '{ctx.family} {word}' rule : "
    forms = "Expects 'set-var(<var-name>)', 'set-var-fmt(<var-name>)' or 'unset-var(<var-name>)'."
    if not paren:
        raise ActionError(pre + f"invalid or incomplete action '{word}'. {forms}", -1, ours=False)
    if ")" not in rest:
        raise ActionError(pre + f"incomplete argument after action '{word}'. {forms}", -1, ours=False)
    if not rest.endswith(")"):
        raise ActionError(pre + "missing variable name.", -1)
    inner = rest[:-1]
    name = inner.partition(",")[0]
    scope, dot, var = name.partition(".")
    if scope not in _VAR_SCOPES or not dot or not var:
        raise ActionError(pre + f"invalid variable name '{name}'. A variable name must be start by its "
                          "scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'.", -1,
                          ours=False)
    return name


def _var_conds(ctx: ParseCtx) -> int:
    """The conditions after a set-var's name (``set-var(txn.x,ifgt,iflt)``) as bits; as 2.6, an
    empty one ends the list and the first unknown one before it is an error."""
    word = ctx.action
    conds = word.partition("(")[2][:-1].partition(",")[2]
    if not conds:
        return 0
    pre = f"error detected in {ctx.proxy_kind} '{ctx.proxy_name}' while parsing '{ctx.family} {word}' rule : "
    if word.startswith("unset-var"):
        raise ActionError(pre + 'unset-var does not expect parameters after the variable name. Only "set-var" '
                          'and "set-var-fmt" manage conditions.', -1, ours=False)
    bits = 0
    for c in conds.split(","):
        if not c:  # 2.6 reads no further (not even an unknown word)
            break
        if c not in _VAR_CONDS:
            raise ActionError(pre + f'unknown condition "{c}".', -1, ours=False)
        bits |= _VAR_CONDS[c]
    return bits


class SetVar(Action):
    __slots__ = ("name", "expr", "fmt", "conds")

    def __init__(self, name: str, expr: Any, fmt: Fmt | None, conds: int = 0) -> None:
        self.name, self.expr, self.fmt, self.conds = name, expr, fmt, conds

    def run(self, txn: Any) -> Verdict:
        if self.fmt is not None:
            from haproxy_py.samples import Sample

            s = Sample("str", self.fmt(txn))
        else:
            s = self.expr(txn)
            if s is None:
                return V_CONTINUE
        if self.conds:
            txn.set_var_if(self.name, s, self.conds)
        else:
            txn.set_var(self.name, s)
        return V_CONTINUE


class UnsetVar(Action):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, txn: Any) -> Verdict:
        txn.unset_var(self.name)
        return V_CONTINUE


def p_set_var(args: Sequence[str], ctx: ParseCtx) -> Action:
    name = _var_name(ctx)
    conds = _var_conds(ctx)
    pre = f"error detected in {ctx.proxy_kind} '{ctx.proxy_name}' while parsing '{ctx.family} {ctx.action}' rule : "
    if ctx.action.startswith("unset-var"):
        if args:
            raise TrailingWords("", 0)
        return UnsetVar(name)
    if ctx.action.startswith("set-var-fmt"):
        # 2.6 reads the word after the action as the format, an empty one when there is none
        fmt = compile_lf(args[0] if args else "", 0, ctx, plain=True)
        if len(args) > 1:  # 2.6 reads the format first
            raise TrailingWords("", 1)
        return SetVar(name, None, fmt, conds)
    from haproxy_py.samples import SampleError, compile_expr
    from haproxy_py.samples.core import needs
    from haproxy_py.samples.expr import parse_expr

    if not args:
        raise ActionError(pre + "missing fetch method.", -1, ours=False)
    try:
        expr = compile_expr(args[0])
    except SampleError as e:
        raise ActionError(pre + e.message, 0) from None
    fdef = parse_expr(args[0]).fetch
    if not fdef.usable_in(_var_place(ctx)):
        # 2.6 names the action where it means the fetch, and words it without the rule for tcp rules
        msg = f"fetch method '{ctx.action}' extracts information from '{needs(fdef)}', none of which is available here"
        raise ActionError(pre + msg + "." if ctx.family.startswith("http") else msg, 0)
    if len(args) > 1:  # 2.6 reads the expression first
        raise TrailingWords("", 1)
    return SetVar(name, expr, None, conds)


def _var_place(ctx: ParseCtx) -> str:
    """Where 2.6 checks a set-var expression: the rule set, on the side of the proxy it names."""
    fe = ctx.proxy_kind != "backend"
    return {"http-request": "fe http-request" if fe else "be http-request",
            "http-response": "be http-response" if ctx.proxy_kind != "frontend" else "fe http-response",
            "http-after-response": "be http-response" if ctx.proxy_kind != "frontend" else "fe http-response",
            "tcp-request content": "fe tcp-request content" if fe else "be tcp-request content",
            "tcp-response content": "fe tcp-response content" if ctx.proxy_kind != "backend"
            else "be tcp-response content"}.get(ctx.family, ctx.family)


# ============================================================================ auth
def p_auth(args: Sequence[str], ctx: ParseCtx) -> Action:
    """``auth [realm <realm>]``: a 401 challenge (not counted as a denied request); the realm
    defaults to the proxy's name."""
    realm = ctx.proxy_name
    if args and args[0] == "realm":
        if len(args) < 2:
            raise _err(ctx, "missing realm value.", 0)
        realm = args[1]
        _only(args, 2)
    else:
        _only(args, 0)
    return Auth(realm)


class Auth(Action):
    __slots__ = ("v",)

    def __init__(self, realm: str) -> None:
        self.v = Verdict(DENY, 401, realm=realm)

    def run(self, txn: Any) -> Verdict:
        return self.v


# ============================================================================ addresses
class SetAddr(Action):
    """set-src / set-dst (an address from the expression; the port kept) and set-src-port /
    set-dst-port. The engine takes the new addresses over for what follows (forwardfor, balance
    source, logs, the next requests of the connection)."""

    __slots__ = ("what", "expr")

    def __init__(self, what: str, expr: Any) -> None:
        self.what, self.expr = what, expr

    def run(self, txn: Any) -> Verdict:
        from haproxy_py.samples.types import cast

        s = self.expr(txn)
        if s is None:
            return V_CONTINUE
        w = self.what
        if w.endswith("-port"):
            s = cast(s, "sint")
            if s is None or not 0 <= s.value <= 65535:
                return V_CONTINUE
            if w == "set-src-port":
                txn.src_port = s.value
            else:
                txn.dst_port = s.value
            return V_CONTINUE
        s = cast(s, "addr")
        if s is None:
            return V_CONTINUE
        if w == "set-src":
            txn.src, txn._src_ip = str(s.value), s.value
        else:
            txn.dst, txn._dst_ip = str(s.value), s.value
        return V_CONTINUE


def p_set_addr(args: Sequence[str], ctx: ParseCtx) -> Action:
    from haproxy_py.samples import SampleError, compile_expr

    pre = _rule_pre(ctx)
    if not args:
        raise ActionError(pre + "missing fetch method.", -1, ours=False)
    try:
        expr = compile_expr(args[0])
    except SampleError as e:
        raise ActionError(pre + e.message, 0) from None
    if len(args) > 1:  # 2.6 reads the expression first
        raise TrailingWords("", 1)
    return SetAddr(ctx.action, expr)


# ============================================================================ logs
LOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


class SetLogLevel(Action):
    __slots__ = ("level",)

    def __init__(self, level: int) -> None:
        self.level = level

    def run(self, txn: Any) -> Verdict:
        rec = txn.rec
        if rec is not None:
            rec.log_level = self.level
        return V_CONTINUE


def p_set_log_level(args: Sequence[str], ctx: ParseCtx) -> Action:
    if not args or (args[0] != "silent" and args[0] not in LOG_LEVELS):
        raise ActionError(_rule_pre(ctx) + "expects exactly 1 argument (log level name or 'silent').",
                          0 if args else -1, ours=False)
    if len(args) > 1:
        raise TrailingWords("", 1)
    return SetLogLevel(-1 if args[0] == "silent" else LOG_LEVELS.index(args[0]))


# ============================================================================ timeouts
class SetTimeout(Action):
    __slots__ = ("what", "ms", "expr")

    def __init__(self, what: str, ms: int | None, expr: Any) -> None:
        self.what, self.ms, self.expr = what, ms, expr

    def run(self, txn: Any) -> Verdict:
        ms = self.ms
        if ms is None:
            from haproxy_py.samples.types import cast

            s = self.expr(txn)
            s = cast(s, "sint") if s is not None else None
            if s is None or s.value <= 0:
                return V_CONTINUE
            ms = s.value
        if self.what == "server":
            txn.srv_timeout = ms
        else:
            txn.tunnel_timeout = ms
        return V_CONTINUE


def p_set_timeout(args: Sequence[str], ctx: ParseCtx) -> Action:
    """``set-timeout server|tunnel <time>|<expr>`` (a backend's or listen's rule): the timeout of
    this transaction instead of the proxy's."""
    if len(args) < 2:
        raise _err(ctx, "expects exactly 2 arguments.")
    if ctx.proxy_kind == "frontend":
        raise _err(ctx, f"proxy '{ctx.proxy_name}' has no backend capability.")
    what, value = args[0], args[1]
    if what not in ("server", "tunnel"):
        raise _err(ctx, f"'set-timeout' rule supports 'server'/'tunnel' (got '{what}').", 0)
    _only(args, 2)
    if value[:1].isdigit():
        from haproxy_py.config.grammar import parse_time

        tv = parse_time(value)
        if tv.error is not None:
            raise _err(ctx, f"unexpected character '{tv.char or value[0]}' in rule 'set-timeout {what}'.", 1)
        return SetTimeout(what, tv.value, None)
    from haproxy_py.samples import SampleError, compile_expr

    try:
        return SetTimeout(what, None, compile_expr(value))
    except SampleError:
        raise _err(ctx, f"unexpected character '{value[0]}' in rule 'set-timeout {what}'.", 1) from None


# ============================================================================ early hints
class EarlyHint(Action):
    """``early-hint <name> <fmt>``: a 103 Early Hints response carrying that header, sent before
    whatever the request gets (HTTP/1.1 clients only). 2.6.12 sends one 103 per rule."""

    __slots__ = ("name", "fmt")

    def __init__(self, name: bytes, fmt: Fmt) -> None:
        self.name, self.fmt = name, fmt

    def run(self, txn: Any) -> Verdict:
        if not txn.req.http11:
            return V_CONTINUE
        if txn.early_hints is None:
            txn.early_hints = []
        txn.early_hints.append([(self.name, self.fmt(txn))])
        return V_CONTINUE


def p_early_hint(args: Sequence[str], ctx: ParseCtx) -> Action:
    if len(args) < 2:
        raise _err(ctx, "expects exactly 2 arguments.")
    _only(args, 2)
    return EarlyHint(args[0].encode("latin-1"), compile_lf(args[1], 1, ctx))


# ============================================================================ wait-for-body
class WaitForBody(Action):
    """``wait-for-body time <time> [at-least <bytes>]``: the rule set stops until the whole body
    came, or ``at-least`` bytes of it, or the buffer is full; a client still sending when ``time``
    runs out gets a 408. The engine holds the request (engine/http.py ``_hold_body``) and resumes
    the rule set at the next rule. Its verdict is its own object (``rule_index`` finds the rule)."""

    __slots__ = ("verdict", "time", "at_least")

    def __init__(self, time_ms: int, at_least: int) -> None:
        self.time = time_ms
        self.at_least = at_least
        self.verdict = Verdict(WAIT_BODY, time_ms)

    def run(self, txn: Any) -> Verdict:
        return self.verdict


def p_wait_for_body(args: Sequence[str], ctx: ParseCtx) -> Action:
    from haproxy_py.config.grammar import parse_size, parse_time

    if not args or args[0] not in ("time", "at-least"):
        raise _err(ctx, "expects time <time> [ at-least <bytes> ].")
    tmo: int | None = None
    at_least = 0
    i = 0
    while i < len(args) and args[i] in ("time", "at-least"):
        what = args[i]
        if i + 1 >= len(args):
            raise _err(ctx, f"missing argument for '{what}'.", i)
        val = args[i + 1]
        if what == "time":
            tv = parse_time(val)
            if tv.error is not None:
                raise _err(ctx, f"unexpected character '{tv.char or val[0]}'.", i + 1)
            tmo = tv.value
        else:
            n = parse_size(val)
            if n is None:
                bad = next((c for c in val if not c.isdigit()), val[:1] or " ")
                raise _err(ctx, f"unexpected character '{bad}'.", i + 1)
            at_least = n
        i += 2
    if tmo is None:
        raise _err(ctx, "expects time <time> [ at-least <bytes> ].")
    _only(args, i)
    return WaitForBody(tmo, at_least)


# ============================================================================ maps and ACL files
class PatRefEdit(Action):
    """``set-map(<file>) <key> <value>``, ``del-map(<file>) <key>``, ``add-acl(<file>) <key>``,
    ``del-acl(<file>) <key>``: the same change the runtime API's ``set map`` / ``add map`` /
    ``del map`` / ``add acl`` / ``del acl`` make, on the reference of that file
    (samples/patref.py), so the map converters and ACLs using it see it at the next request. As in
    2.6 the reference is looked up by its file name when the rule runs: a file no map or ACL loaded
    has none, and the rule then changes nothing. set-map updates every entry of the key, or adds
    one; add-acl adds the key only when it is not there; del-* removes every entry of the key."""

    __slots__ = ("op", "file", "key", "value", "kinds")

    def __init__(self, op: str, file: str, key: Fmt, value: Fmt | None) -> None:
        self.op = op
        self.file = file
        self.key = key
        self.value = value
        self.kinds = ("map", "acl") if op.endswith("map") else ("acl", "map")

    def run(self, txn: Any) -> Verdict:
        from haproxy_py.samples.patref import REFS

        ref = None
        for kind in self.kinds:
            ref = REFS.files.get((kind, self.file))
            if ref is not None:
                break
        if ref is None:
            return V_CONTINUE
        key = self.key(txn).decode("latin-1")
        op = self.op
        if op == "set-map":
            value = self.value(txn).decode("latin-1") if self.value is not None else ""
            if ref.find(key):
                ref.set(key, value)
            else:
                ref.add(key, value)
        elif op == "add-acl":
            if not ref.find(key):
                ref.add(key, None)
        else:
            ref.delete(key)
        return V_CONTINUE


def p_patref_edit(args: Sequence[str], ctx: ParseCtx) -> Action:
    word = ctx.action
    op = word[:7]  # set-map, del-map, add-acl, del-acl
    rest = word[8:] if word[7:8] == "(" else ""
    file = rest[:-1] if rest.endswith(")") else rest
    need = 2 if op == "set-map" else 1
    if len(args) < need:
        raise _err(ctx, f"expects exactly {need} arguments.")
    _only(args, need)
    key = compile_lf(args[0], 0, ctx)
    value = compile_lf(args[1], 1, ctx) if need == 2 else None
    return PatRefEdit(op, file, key, value)


# ============================================================================ capture
class CaptureSample(Action):
    """``http-request|http-response capture <sample> len <n> | id <slot>``: the sample's text into
    a capture slot of the frontend (``%hr``/``%hs``, ``capture.req.hdr(N)``), truncated to the
    slot's length. ``len`` declares a new slot (the builder gives it its index: config/build/
    rules.py); ``id`` names one the frontend declared. Request and response slots are those of
    ``capture request|response header``, ``declare capture`` and these rules, in their order."""

    __slots__ = ("expr", "slot", "length", "response")

    def __init__(self, expr: Any, slot: int, length: int, response: bool) -> None:
        self.expr = expr
        self.slot = slot
        self.length = length  # > 0: a slot of its own ('len'), the builder sets ``slot``
        self.response = response

    def run(self, txn: Any) -> Verdict:
        rec = txn.rec
        if rec is None:
            return V_CONTINUE
        caps = rec.res_caps if self.response else rec.req_caps
        plan = getattr(txn, "caps", None)
        i = self.slot
        if caps is None or plan is None or not 0 <= i < len(caps):
            return V_CONTINUE
        from haproxy_py.samples.types import to_text

        smp = self.expr(txn)
        if smp is None:
            return V_CONTINUE
        b = to_text(smp.type, smp.value)
        if b is None:
            return V_CONTINUE
        limit = (plan.res if self.response else plan.req)[i][1]
        caps[i] = b[:limit].decode("latin-1")
        return V_CONTINUE


def p_capture(args: Sequence[str], ctx: ParseCtx) -> Action:
    response = ctx.family != "http-request"
    usage = "expects <expression> id <idx>." if response else "expects <expression> [ 'len' <length> | id <idx> ]."
    if len(args) < 3:
        raise _err(ctx, usage)
    from haproxy_py.samples import SampleError, compile_expr

    try:
        expr = compile_expr(args[0])
    except SampleError as e:
        raise _err(ctx, e.message, 0) from None
    what, val = args[1], args[2]
    if what == "len" and not response:
        if ctx.proxy_kind == "backend":
            raise _err(ctx, f"proxy '{ctx.proxy_name}' has no frontend capability.")
        n = _int(val)
        if n is None or n <= 0:
            raise _err(ctx, usage, 2)
        _only(args, 3)
        return CaptureSample(expr, -1, n, response)
    if what == "id":
        n = _int(val)
        if n is None or n < 0:
            raise _err(ctx, f"cannot parse id '{val}'.", 2)
        _only(args, 3)
        return CaptureSample(expr, n, 0, response)
    raise _err(ctx, f"expects 'id', found '{what}'." if response else f"expects 'len' or 'id', found '{what}'.", 1)


# ============================================================================ normalize-uri
class NormalizeUri(Action):
    """``http-request normalize-uri <normalizer> [full|strict]`` (http/normalize.py): the URI
    rewritten in place; an invalid percent-encoding met in strict mode gets 2.6's 400."""

    __slots__ = ("fn",)

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def run(self, txn: Any) -> Verdict:
        from haproxy_py.http.normalize import Invalid, normalize

        req = txn.req
        try:
            new = normalize(self.fn, req.uri)
        except Invalid:
            return _BAD_URI
        if new != req.uri:
            if len(new) > len(req.uri) and not _grows(txn, True, len(new) - len(req.uri)):
                return rewrite_failed(txn)
            if len(new) < len(req.uri):
                _grows(txn, True, len(new) - len(req.uri))
            req.uri = new
        return V_CONTINUE


_BAD_URI = Verdict(DENY, 400)


def p_normalize_uri(args: Sequence[str], ctx: ParseCtx) -> Action:
    from haproxy_py.http.normalize import NORMALIZERS

    names = ", ".join(NORMALIZERS)
    if not args:
        raise _err(ctx, f"expects at least one argument (one of {names}).")
    entry = NORMALIZERS.get(args[0])
    if entry is None:
        raise _err(ctx, f"unknown normalizer '{args[0]}'.", 0)
    opt, build = entry
    if opt is not None and len(args) > 1 and args[1] == opt:
        _only(args, 2)
        return NormalizeUri(build(True))
    _only(args, 1)
    if opt is not None and ctx.has_cond:
        # 2.6.12 reads a normalizer with an optional word, written without it and followed by a
        # condition, as path-merge-slashes (checked: 'percent-to-uppercase if TRUE' merges slashes
        # and leaves %7e alone): reproduced
        return NormalizeUri(NORMALIZERS["path-merge-slashes"][1](False))
    return NormalizeUri(build(False))


# ============================================================================ layer 7 retries
class DisableL7Retry(Action):
    """``disable-l7-retry``: this request is not sent again on a retry-on event of its backend
    (engine/http.py _l7_keep); a failed connection is still retried."""

    __slots__ = ()

    def run(self, txn: Any) -> Verdict:
        txn.no_l7 = True
        return V_CONTINUE


def p_disable_l7_retry(args: Sequence[str], ctx: ParseCtx) -> Action:
    _only(args, 0)
    return DisableL7Retry()


# ============================================================================ strict-mode
#: a strict-mode rule exists in the configuration: every HTTP rule set then starts with strict
#: mode on again (actions/rules.py), as 2.6 resets it when a rule set evaluation ends
STRICT_USED = [False]


class StrictMode(Action):
    """``strict-mode on|off``: whether a failing rewrite of the following rules of this rule set
    is an internal error (on, the default) or silently skipped (off)."""

    __slots__ = ("soft",)

    def __init__(self, on: bool) -> None:
        self.soft = not on

    def run(self, txn: Any) -> Verdict:
        txn.soft_rw = self.soft
        return V_CONTINUE


class RestrictHdrNames(Action):
    """option http-restrict-req-hdr-names delete|reject: a request header whose name has a character
    other than a letter, a digit or '-' is removed, or the request is denied (403); put by
    actions/rules.py at the head of the proxy's http-request rules."""

    __slots__ = ("reject",)
    _BAD = re.compile(rb"[^A-Za-z0-9-]").search

    def __init__(self, reject: bool) -> None:
        self.reject = reject

    def run(self, txn: Any) -> Verdict:
        bad = self._BAD
        req = txn.req
        if not any(bad(h[0]) for h in req.headers):
            return V_CONTINUE
        if self.reject:
            return Verdict(DENY, 403)
        req.headers = [h for h in req.headers if not bad(h[0])]
        return V_CONTINUE


class ThenRestrict(Action):
    """A rule of a proxy with http-restrict-req-hdr-names: when it ends the rule set with allow,
    the check still applies (2.6 makes it after the rules, allow or not)."""

    __slots__ = ("inner", "check")

    def __init__(self, inner: Any, check: RestrictHdrNames) -> None:
        self.inner = inner
        self.check = check

    def run(self, txn: Any) -> Verdict:
        v: Verdict = self.inner.run(txn)
        if v.kind == STOP:
            c = self.check.run(txn)
            if c.kind == DENY:
                return c
        return v


#: the rule actions/rules.py puts at the head of every HTTP rule set when STRICT_USED
STRICT_ON = StrictMode(True)


def p_strict_mode(args: Sequence[str], ctx: ParseCtx) -> Action:
    if not args:
        raise _err(ctx, "expects exactly 1 arguments.")
    _only(args, 1)
    if args[0] not in ("on", "off"):
        raise _err(ctx, f"Unexpected value '{args[0]}'. Only 'on' and 'off' are supported.", 0)
    STRICT_USED[0] = True
    return StrictMode(args[0] == "on")
