"""Strict incremental HTTP/1.x head parser (sans-IO).

Call :func:`parse_request` / :func:`parse_response` with everything received so far:

* ``None``: the head is not complete yet, call again with more bytes;
* ``(head, consumed)``: a :class:`~haproxy_py.http.message.RequestHead` (or ResponseHead) and the
  number of bytes of ``buf`` the head used (body bytes start at ``buf[consumed:]``);
* raises :class:`ParseError` carrying the status HAProxy answers with (400, 422, ... for requests;
  502 for responses) and the byte offset of the error in ``buf`` (for ``show errors``).

The defences follow HAProxy 2.6.12 as observed (FACTS 6.4 and live probes), with one deliberate
extra strictness: NUL and control bytes (0x00-0x1f except HTAB, and 0x7f) anywhere in the head,
header values included, are rejected (HAProxy forwards them in values), except in a status line's
reason, where 2.6 takes every byte but CR and LF as the parser does (``status_line``; a status
below 100 stays refused, README).

The head size limit models HAProxy's internal HTX representation: a head is accepted when
``46 + 8 * (headers + 2) + len(method + uri + version) + sum(len(name + value))`` fits in
``bufsize - maxrewrite`` (15360 by default); verified at the byte against 2.6.12 with 3 and 9
headers.  A head that is still incomplete when ``bufsize`` bytes are buffered is a 400 too.
"""

from __future__ import annotations

import re
from typing import NoReturn

from .htx import HEAD_OVERHEAD, _connection_size
from .message import (
    BODY_CHUNKED,
    BODY_CLOSE,
    BODY_LENGTH,
    BODY_NONE,
    RequestHead,
    ResponseHead,
)

__all__ = ["ParseError", "parse_request", "parse_response", "htx_size", "DEFAULT_BUFSIZE",
           "DEFAULT_MAXREWRITE", "DEFAULT_MAXHDR"]

DEFAULT_BUFSIZE = 16384
DEFAULT_MAXREWRITE = 1024
#: tune.http.maxhdr's default: 2.6 refuses a head of 101 header lines or more (100 pass)
DEFAULT_MAXHDR = 101


class ParseError(Exception):
    """An invalid message head.

    ``status``: what to answer (400 bad request, 422 unsupported transfer coding, 502 for an
    invalid response); ``pos``: offset of the offending byte in the parsed buffer;
    ``reason``: a short human text.
    """

    __slots__ = ("status", "pos", "reason")

    def __init__(self, status: int, pos: int, reason: str) -> None:
        super().__init__(f"{status} at {pos}: {reason}")
        self.status = status
        self.pos = pos
        self.reason = reason


#: the ``reason`` of the error 2.6 answers through the stream (its 400 page in lower case with
#: ``connection: close``) rather than from the HTTP/1 layer: an HTTP/2 preface on an HTTP/1 listener
H2_PREFACE = "HTTP/2 connection preface (method PRI) on an HTTP/1 listener"

_TCHAR = rb"!#$%&'*+.^_`|~0-9A-Za-z\-"
_TOKEN = re.compile(rb"[" + _TCHAR + rb"]+")
# method SP+ uri SP+ version; the URI is visible ASCII except '#'
_REQLINE = re.compile(rb"([" + _TCHAR + rb"]+) +([\x21\x22\x24-\x7e]+) +HTTP/([0-9])\.([0-9])")
# a status line without its line end, split as 2.6's HTTP/1 parser splits it: a version of
# upper-case letters, digits, '.' and '/' (not first: it starts with a token character), blanks
# (SP, HTAB), any number of digits, then optionally blanks and a reason of any byte but CR and LF
# (NUL and control bytes included), the blanks before it not part of it
_STATUSLINE = re.compile(rb"([A-Z0-9.][A-Z0-9./]*)[ \t]+([0-9]+)(?:[ \t]+(.*))?", re.S)
# the usual status line: HTTP/1.0 or 1.1, one space, three digits from 100 on, one space and a
# reason that starts with neither a blank nor CR (or nothing)
_STATUSLINE_USUAL = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: ([^ \t\r][^\r]*)?)?")
# what a status line may look like while its end has not arrived
_STATUSLINE_PART = re.compile(rb"(?:[A-Z0-9.][A-Z0-9./]*)?|[A-Z0-9.][A-Z0-9./]*[ \t]+(?:[0-9]+(?:[ \t].*)?)?",
                              re.S)
# control bytes forbidden in a head once CRLF were turned into LF (HTAB allowed; CR left = bare CR)
_CTL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
_SCHEME = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*://")
# what a request line may look like while its end has not arrived: 2.6 refuses at once a byte that
# cannot belong to the method, the URI or the version (upper-case letters, digits, '.' and '/')
_REQLINE_PART = re.compile(rb"[" + _TCHAR + rb"]*(?: +(?:[\x21\x22\x24-\x7e]*(?: +[0-9A-Z./]*\r?)?)?)?")
# a complete request line without a version: HTTP/0.9, which 2.6 refuses as soon as the line ends
_REQLINE_09 = re.compile(rb"[" + _TCHAR + rb"]+ +[\x21\x22\x24-\x7e]+ *\r?")
# a header line's name and colon; the start of a header line whose end has not arrived
_HDR_NAME = re.compile(rb"[" + _TCHAR + rb"]+:")
_HDR_PART = re.compile(rb"[" + _TCHAR + rb"]*(?::.*)?", re.S)
_DIGITS = re.compile(rb"[0-9]+")

# names that need attention while parsing (lower case)
_SPECIAL = frozenset(
    (b"content-length", b"transfer-encoding", b"host", b"connection", b"upgrade")
)
_MAX_CL = (1 << 63) - 1
_CRLF = b"\r\n"


def htx_size(method: bytes, uri: bytes, version: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """Bytes a head takes in HAProxy's internal buffer (see module doc)."""
    n = 46 + 8 * (len(headers) + 2) + len(method) + len(uri) + len(version)
    for name, value in headers:
        n += len(name) + len(value)
    return n


def _find_head_end(buf: bytes, start: int) -> tuple[int, int]:
    """Locate the empty line ending a head that starts at ``start``.

    Returns ``(eol, after)``: ``eol`` is the index of the LF ending the last header line (or
    the request line), ``after`` the index just past the empty line; ``(-1, -1)`` if absent.
    """
    a = buf.find(b"\n\r\n", start)
    b = buf.find(b"\n\n", start)
    if a < 0 and b < 0:
        return -1, -1
    if b < 0 or (0 <= a < b):
        return a, a + 3
    return b, b + 2


def _unfold(head: bytes) -> bytes:
    """Obsolete line folding: the CR/LF of the fold become spaces (like HAProxy)."""
    return (
        head.replace(b"\r\n ", b"   ")
        .replace(b"\r\n\t", b"  \t")
        .replace(b"\n ", b"  ")
        .replace(b"\n\t", b" \t")
    )


def _locate(buf: bytes, start: int, needle: bytes) -> int:
    p = buf.find(needle, start) if needle else -1
    return p if p >= 0 else start


# bytes allowed in a head besides CR and LF (HTAB, visible ASCII, 8-bit): translate() deletes
# them, what is left are CR, LF and forbidden control bytes
_HEAD_OK = bytes(i for i in range(256) if not (i < 32 or i == 127) or i == 9)
_TCHARS = bytes(i for i in range(256) if _TOKEN.fullmatch(bytes((i,))) is not None)
# the same sets as translate() tables that map what is outside them to NUL (NUL is in neither):
# a table without deletions takes CPython's fast translate loop, where ``translate(None, chars)``
# first builds a 256-entry table on every call (most of the parser's C time with short heads)
_HEAD_BAD_NUL = bytes(i if i in _HEAD_OK else 0 for i in range(256))
_TOKEN_BAD_NUL = bytes(i if i in _TCHARS else 0 for i in range(256))


#: a head's header list, and the (index, lower-case name, value) of the headers that drive framing
_HeaderList = list[tuple[bytes, bytes]]
_Special = list[tuple[int, bytes, bytes]]


class _Fold(Exception):
    """Internal: the fast path met something (obs-fold, bare LF) that needs the general path."""


def buffer_size(bufsize: int) -> int:
    """The size of 2.6's buffers for a tune.bufsize: rounded up to 16."""
    return (bufsize + 15) & ~15


def head_room(bufsize: int) -> int:
    """How much of an unfinished head 2.6 buffers before refusing it: its buffer size less 64
    (measured against 2.6.12: 16320 of 16384, 9952 of 10001, maxrewrite no part)."""
    return buffer_size(bufsize) - 64


def _split_head(buf: bytes, start: int, status: int,
                bufsize: int) -> tuple[list[bytes], int, int] | None:
    """Find the head, normalise line ends, check bytes (a response's status line may hold
    control bytes but CR: 2.6 takes any in its reason).

    Returns ``(lines, after, eol)`` or None; ``eol`` is -1 when the general path was taken.
    """
    p = buf.find(b"\r\n\r\n", start)
    if p >= 0:
        # fast path: CRLF everywhere and no control byte: the lines without their CRLF hold no
        # CR, LF (a bare one could also mean an earlier end of head) or forbidden control byte
        # (all mapped to NUL, which is one of them); folds are found later.
        head = buf[start:p]
        lines = head.split(b"\r\n")
        if 0 not in b"".join(lines).translate(_HEAD_BAD_NUL):
            return lines, p + 4, p + 1
        if (status == 502 and b"\r" not in lines[0] and b"\n" not in lines[0]
                and 0 not in b"".join(lines[1:]).translate(_HEAD_BAD_NUL)):
            return lines, p + 4, p + 1
    eol, after = _find_head_end(buf, start)
    if eol < 0:
        cap = head_room(bufsize)
        if len(buf) - start >= cap:
            raise ParseError(status, start + cap, "head too large")
        return None
    return _split_head_slow(buf, start, eol, status), after, -1


def _split_head_slow(buf: bytes, start: int, eol: int, status: int) -> list[bytes]:
    head = buf[start:eol]
    if b"\n " in head or b"\n\t" in head:
        head = _unfold(head)
    if b"\r" in head:
        head = head.replace(b"\r\n", b"\n")
        if head[-1:] == b"\r":
            head = head[:-1]
    pos = 0
    if status == 502:
        # the status line's bytes are its parse's business (2.6 takes any but CR in a reason)
        pos = head.find(b"\n")
        if pos < 0:
            pos = len(head)
    m = _CTL.search(head, pos)
    if m is not None:
        bad = head[m.start() : m.start() + 1]
        raise ParseError(status, _locate(buf, start, bad), "forbidden control character")
    return head.split(b"\n")


def _parse_headers(lines: list[bytes], buf: bytes, start: int,
                   status: int) -> tuple[_HeaderList, _Special | None, int]:
    """Header lines -> (headers, special, size): special lists (index, lower name, value) of the
    headers that drive framing, or is None when there is none; size is the sum of the names'
    and the values' lengths."""
    nv = 0
    headers: list[tuple[bytes, bytes]] = []
    append = headers.append
    special: _Special | None = None
    names: list[bytes] = []
    nappend = names.append
    special_names = _SPECIAL
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name:
            _header_error(line, buf, start, status)
        # no CR, LF, VT or FF reaches here (the head's checks reject them): strip() without an
        # argument (ASCII whitespace) is strip(b" \t"), with no argument to parse
        value = value.strip()
        nv += len(value)
        lname = name.lower()
        if lname in special_names:
            if special is None:
                special = []
            special.append((len(headers), lname, value))
        append((name, value))
        nappend(name)
    if names:
        joined = b"".join(names)
        nv += len(joined)
        if 0 in joined.translate(_TOKEN_BAD_NUL):
            for name in names:
                if name.translate(None, _TCHARS):
                    _header_error(name + b":", buf, start, status)
    return headers, special, nv


def _headers_htx(headers: _HeaderList, special: _Special | None, nv: int, clean: bool = True) -> int:
    """The headers' size as 2.6 counts it (``htx.headers_size(headers, clean)``), knowing from the
    parse where the Connection headers are (``special``) and the names' and values' length
    (``nv``, -1 when the parse changed the headers afterwards)."""
    n = nv
    if n < 0:
        n = 0
        for name, value in headers:
            n += len(name) + len(value)
    if special is not None and clean:
        for _, lname, value in special:
            if lname == b"connection":
                lv = value.lower()
                if lv == b"keep-alive" or lv == b"close":  # the usual single token: not counted
                    n -= 10 + len(value)
                else:
                    n += _connection_size(lname, value) - 10 - len(value)
    return n


def _header_error(line: bytes, buf: bytes, start: int, status: int) -> NoReturn:
    if line[:1] in (b" ", b"\t"):
        raise _Fold()
    name, sep, _ = line.partition(b":")
    if not sep:
        why = "header line without colon"
    elif not name:
        why = "empty header name"
    else:
        why = "invalid character in header name"
        # at the byte itself, as 2.6 points at it (show errors)
        bad = next((i for i, c in enumerate(name) if c not in _TCHARS), 0)
        raise ParseError(status, _locate(buf, start, line) + bad, why)
    raise ParseError(status, _locate(buf, start, line), why)


def _conn_tokens(msg: RequestHead | ResponseHead, headers: _HeaderList, special: _Special, status: int,
                 buf: bytes, start: int) -> bool:
    """Apply Content-Length/Transfer-Encoding/Connection facts to ``msg``; True when ``headers``
    changed (Content-Length merged or dropped)."""
    if len(special) <= 2 and _conn_tokens_plain(msg, special):
        return False
    changed = False
    cl = -1
    cl_idx: list[int] = []
    te: list[bytes] = []
    te_idx: list[int] = []
    conn: list[bytes] = []
    upgrade: bytes | None = None
    for idx, lname, value in special:
        if lname == b"content-length":
            cl_idx.append(idx)
            if value.isdigit():  # the usual single plain number (ASCII digits only)
                n = int(value)
                if n > _MAX_CL:
                    raise ParseError(status, _locate(buf, start, value), "content-length too large")
                if cl >= 0 and n != cl:
                    raise ParseError(status, _locate(buf, start, value), "conflicting content-length")
                cl = n
                continue
            for part in value.split(b","):
                part = part.strip(b" \t")
                if _DIGITS.fullmatch(part) is None:
                    raise ParseError(status, _locate(buf, start, value), "invalid content-length")
                n = int(part)
                if n > _MAX_CL:
                    raise ParseError(status, _locate(buf, start, value), "content-length too large")
                if cl >= 0 and n != cl:
                    raise ParseError(status, _locate(buf, start, value), "conflicting content-length")
                cl = n
        elif lname == b"transfer-encoding":
            te_idx.append(idx)
            for part in value.split(b","):
                part = part.strip(b" \t").lower()
                if not part:
                    raise ParseError(status, _locate(buf, start, value), "empty transfer-encoding")
                te.append(part)
        elif lname == b"connection":
            if b"," not in value:
                if value:
                    conn.append(value.lower())
                continue
            for part in value.split(b","):
                part = part.strip(b" \t").lower()
                if part:
                    conn.append(part)
        elif lname == b"upgrade":
            upgrade = value
    if te_idx:
        nchunked = te.count(b"chunked")
        if nchunked == 0 and not msg_is_response(msg):
            raise ParseError(status, _locate(buf, start, b"ransfer-"), "transfer-encoding without chunked")
        if nchunked > 1 or (nchunked and te[-1] != b"chunked"):
            raise ParseError(status, _locate(buf, start, b"ransfer-"), "chunked must be last and once")
        if nchunked and len(te) > 1 and not msg_is_response(msg):
            # HAProxy 2.6.12 answers 422 to requests with another coding before chunked
            raise ParseError(422, _locate(buf, start, b"ransfer-"), "unsupported transfer-coding")
        if cl_idx:
            # CL + TE: the content-length is removed, the body is chunked
            drop = set(cl_idx)
            headers[:] = [h for i, h in enumerate(headers) if i not in drop]
            changed = True
        msg.body = BODY_CHUNKED if nchunked else BODY_CLOSE
    elif cl_idx:
        if len(cl_idx) > 1 or b"," in headers[cl_idx[0]][1]:
            # merge duplicates into one header at the first place
            first = cl_idx[0]
            drop = set(cl_idx[1:])
            name = headers[first][0]
            headers[:] = [
                (name, b"%d" % cl) if i == first else h for i, h in enumerate(headers) if i not in drop
            ]
            changed = True
        msg.body = BODY_LENGTH
        msg.content_length = cl
    if conn:
        msg.conn_close = b"close" in conn
        msg.conn_keep_alive = b"keep-alive" in conn
        if upgrade is not None and b"upgrade" in conn:
            msg.upgrade = upgrade
    if msg.http11:
        msg.keep_alive = not msg.conn_close
    else:
        # an HTTP/1.0 request with a chunked body: 2.6.12 answers with 'connection: close' and
        # closes, whatever its Connection header says (measured)
        msg.keep_alive = (msg.conn_keep_alive and not msg.conn_close
                          and not (msg.body == BODY_CHUNKED and type(msg) is RequestHead))
    return changed


def _conn_tokens_plain(msg: RequestHead | ResponseHead, special: _Special) -> bool:
    """The usual heads in one step: at most one plain Content-Length (ASCII digits, not too large)
    and at most one Connection header with one token, nothing else that drives framing. True
    when ``msg`` got its facts here; False (``msg`` untouched) sends the head through the
    general code, which finds every error."""
    cl = -1
    conn: bytes | None = None
    for _, lname, value in special:
        if lname == b"content-length":
            if cl >= 0 or not value.isdigit() or len(value) > 18:
                return False
            cl = int(value)
        elif lname == b"connection":
            if conn is not None or b"," in value:
                return False
            conn = value.lower()
        else:
            return False
    if cl >= 0:
        msg.body = BODY_LENGTH
        msg.content_length = cl
    if conn:
        msg.conn_close = conn == b"close"
        msg.conn_keep_alive = conn == b"keep-alive"
    if msg.http11:
        msg.keep_alive = not msg.conn_close
    else:
        msg.keep_alive = msg.conn_keep_alive and not msg.conn_close
    return True


def msg_is_response(msg: object) -> bool:
    return type(msg) is ResponseHead


#: HTTP/1.0 methods 2.6 refuses with a body (413); OPTIONS, POST, PUT... may have one
_NO_BODY_10 = frozenset((b"GET", b"HEAD", b"DELETE"))

_DEFAULT_PORTS = {b"http": b":80", b"https": b":443"}


def _authority_of(uri: bytes) -> tuple[bytes, bytes] | None:
    """(scheme, host[:port] without userinfo) of an absolute-form URI, or None."""
    m = _SCHEME.match(uri)
    if m is None:
        return None
    scheme = uri[: m.end() - 3].lower()
    rest = uri[m.end() :]
    end = len(rest)
    for c in (b"/", b"?"):
        p = rest.find(c)
        if 0 <= p < end:
            end = p
    auth = rest[:end]
    at = auth.rfind(b"@")
    if at >= 0:
        auth = auth[at + 1 :]
    return scheme, auth


def _norm_host(scheme: bytes, host: bytes) -> bytes:
    host = host.lower()
    dp = _DEFAULT_PORTS.get(scheme)
    if dp is not None and host.endswith(dp):
        host = host[: -len(dp)]
    return host


def _no_default_port(authority: bytes) -> bytes:
    if authority.endswith(b":80"):
        return authority[:-3]
    if authority.endswith(b":443"):
        return authority[:-4]
    return authority


def _skip_empty_lines(buf: bytes, start: int, status: int) -> int:
    """The index of the first byte after the empty lines at ``buf[start:]`` (CRLF or LF), as 2.6
    skips them before a request or a status line; -1 when the buffer ends before another byte. A CR
    not followed by LF is refused with ``status``."""
    n = len(buf)
    while start < n:
        c = buf[start]
        if c == 10:
            start += 1
        elif c == 13:
            if start + 1 >= n:
                return -1
            if buf[start + 1] != 10:
                raise ParseError(status, start, "bare CR")
            start += 2
        else:
            return start
    return -1


def parse_request(
    buf: bytes,
    start: int = 0,
    *,
    bufsize: int = DEFAULT_BUFSIZE,
    maxrewrite: int = DEFAULT_MAXREWRITE,
    maxhdr: int = DEFAULT_MAXHDR,
) -> tuple[RequestHead, int] | None:
    """Parse one request head at ``buf[start:]``. See the module doc for the results.

    ``consumed`` in the result is an index into ``buf`` (absolute, counting ``start``).
    Empty lines before the request line are skipped, like HAProxy.
    """
    n = len(buf)
    if start < n and buf[start] in _CRLF:
        start = _skip_empty_lines(buf, start, 400)
        if start < 0:
            return None
    if start >= n:
        return None
    try:
        split = _split_head(buf, start, 400, bufsize)
    except ParseError as e:
        # 2.6 reads in order: a request line's error comes before a later forbidden byte's
        nl = buf.find(b"\n", start)
        if nl >= 0 and e.pos > nl:
            first = buf[start:nl]
            if first[-1:] == b"\r":
                first = first[:-1]
            if _REQLINE.fullmatch(first) is None:
                raise ParseError(400, start + _reqline_error(first), "invalid request line") from None
            _name_error_before(buf, nl + 1, e.pos, 400)
        raise
    if split is None:
        _check_partial_request(buf, start)
        return None
    lines, after, eol = split
    try:
        msg = _request(lines, buf, start, after, bufsize - maxrewrite, maxhdr)
    except _Fold:
        if eol < 0:
            raise ParseError(400, start, "invalid header line") from None
        msg = _request(_split_head_slow(buf, start, eol, 400), buf, start, after, bufsize - maxrewrite, maxhdr)
    msg.head_len = after - start
    return msg, after


def _name_error_before(buf: bytes, pos: int, end: int, status: int) -> None:
    """Raise the error 2.6 finds first in the header lines from ``pos`` when it comes before
    ``end`` (where another error was found): a header name's first byte that is not a token
    character, nor the colon that ends it."""
    n = len(buf)
    tchars = _TCHARS
    while pos < end and pos < n:
        c = buf[pos]
        if c == 13 or c == 10:  # the end of the head
            return
        nl = buf.find(b"\n", pos)
        if c != 32 and c != 9:  # not an obs-fold
            j = pos
            while j < n and buf[j] in tchars:
                j += 1
            if j < end and (j >= n or buf[j] != 58):
                raise ParseError(status, j, "invalid character in header name") from None
        if nl < 0:
            return
        pos = nl + 1


def _check_partial_request(buf: bytes, start: int) -> None:
    """A request head whose end has not arrived: raise the 400 that 2.6 answers at once when what
    is there already cannot become a valid head (a byte that fits no part of the request line, a
    request line without a version, a header line whose name holds a forbidden byte)."""
    nl = buf.find(b"\n", start)
    if nl < 0:
        # a CR that ends what came waits for its LF, wherever the line stops (2.6: "GET\r", "GET /\r")
        end = len(buf) - (buf[-1:] == b"\r")
        if _REQLINE_PART.fullmatch(buf, start, end) is None:
            raise ParseError(400, start + _reqline_error(buf[start:]), "invalid request line")
        return
    first = buf[start:nl]
    if _REQLINE_PART.fullmatch(first) is None or _REQLINE_09.fullmatch(first) is not None:
        raise ParseError(400, start + _reqline_error(first), "invalid request line (or HTTP/0.9)")
    pos = nl + 1
    n = len(buf)
    while pos < n:
        nl = buf.find(b"\n", pos)
        end = n if nl < 0 else nl
        c = buf[pos]
        if c != 32 and c != 9:  # not an obs-fold
            if nl < 0:
                ok = _HDR_PART.fullmatch(buf, pos, end) is not None or buf[pos:end] == b"\r"
            else:
                ok = _HDR_NAME.match(buf, pos, end) is not None
            if not ok:
                raise ParseError(400, pos, "invalid header line")
        if nl < 0:
            break
        pos = nl + 1


def _request(lines: list[bytes], buf: bytes, start: int, after: int, limit: int,
             maxhdr: int = DEFAULT_MAXHDR) -> RequestHead:
    m = _REQLINE.fullmatch(lines[0])
    if m is None:
        raise ParseError(400, start + _reqline_error(lines[0]), "invalid request line")
    method, uri, major, minor = m.groups()
    if method == b"PRI":
        raise ParseError(400, start, H2_PREFACE)
    if major == b"1" and minor == b"1":
        version = b"HTTP/1.1"
    elif major >= b"2" or (major == b"1" and minor >= b"1"):
        version = b"HTTP/1.1"
    else:
        version = b"HTTP/" + major + b"." + minor
    # URI form: origin (/...), asterisk (*), absolute (scheme://...), authority (CONNECT only)
    absolute = None
    if uri[0] != 47 and uri != b"*":  # 47 = "/"
        if method == b"CONNECT":
            host, colon, port = uri.rpartition(b":")
            if not colon or not host or not port.isdigit():
                raise ParseError(400, start + len(method) + 1, "invalid CONNECT authority")
        else:
            absolute = _authority_of(uri)
            if absolute is None:
                raise ParseError(400, start + len(method) + 1, "invalid URI")
    headers, special, nv = _parse_headers(lines, buf, start, 400)
    if len(headers) >= maxhdr:
        raise ParseError(400, start, "too many headers (tune.http.maxhdr)")
    msg = RequestHead(method, uri, version, None)
    msg.headers = headers
    if special is not None:
        hosts = [(i, v) for i, n, v in special if n == b"host"]
        framing = len(hosts) != len(special)  # framing or connection headers besides Host
        if len(hosts) > 1:
            # duplicate Host: same value (any case) merged, different values rejected
            ref = hosts[0][1].lower()
            for _, v in hosts[1:]:
                if v.lower() != ref:
                    raise ParseError(400, _locate(buf, start, v), "different Host headers")
            drop = {i for i, _ in hosts[1:]}
            keep_idx = [i for i in range(len(headers)) if i not in drop]
            remap = {old: new for new, old in enumerate(keep_idx)}
            headers[:] = [headers[i] for i in keep_idx]
            nv = -1
            special = [(remap[i], n, v) for i, n, v in special if i in remap]
        if absolute is not None and hosts:
            scheme, auth = absolute
            if _norm_host(scheme, auth) != _norm_host(scheme, hosts[0][1]):
                # at the Host value, where 2.6 points (show errors)
                raise ParseError(400, _locate(buf, start, b"\n" + headers[hosts[0][0]][0] + b":") + 1
                                 + len(headers[hosts[0][0]][0]) + 2,
                                 "absolute URI authority differs from Host")
        elif method == b"CONNECT" and hosts:
            # 2.6 compares Host with the authority without a default port (80, 443) and forwards
            # the Host without it
            hi, hv = hosts[0]
            nh = _no_default_port(hv)
            if nh.lower() != _no_default_port(uri).lower():
                raise ParseError(400, start + len(method) + 1, "CONNECT authority differs from Host")
            if nh is not hv:
                headers[hi] = (headers[hi][0], nh)
                nv = -1
        if framing:
            if _conn_tokens(msg, headers, special, 400, buf, start):
                nv = -1
            if (version == b"HTTP/1.0" and method in _NO_BODY_10
                    and (msg.body == BODY_CHUNKED or (msg.body == BODY_LENGTH and msg.content_length > 0))):
                # 2.6's HTTP/1 layer answers 413 to an HTTP/1.0 GET, HEAD or DELETE with a body
                raise ParseError(413, start, "HTTP/1.0 request with a body its method does not take")
    # the raw head is never smaller than its HTX data: only compute the exact size near the limit
    if after - start + 62 + 8 * len(headers) > limit and htx_size(method, uri, version, headers) > limit:
        raise ParseError(400, start, "head too large")
    msg.htx_len = HEAD_OVERHEAD + len(method) + len(uri) + len(version) + _headers_htx(
        headers, special, nv, msg.conn_close or msg.conn_keep_alive)
    return msg


def _reqline_error(line: bytes) -> int:
    """Best-effort offset of what is wrong in a request line."""
    m = _TOKEN.match(line)
    if m is None:
        return 0
    p = m.end()
    if line[p : p + 1] != b" ":
        return p
    while line[p : p + 1] == b" ":
        p += 1
    q = line.find(b" ", p)
    uri = line[p:] if q < 0 else line[p:q]
    for i, c in enumerate(uri):
        if c == 0x23 or c < 0x21 or c > 0x7E:
            return p + i
    return len(line) if q < 0 else q + 1


def parse_response(
    buf: bytes,
    start: int = 0,
    *,
    method: bytes = b"GET",
    bufsize: int = DEFAULT_BUFSIZE,
    maxrewrite: int = DEFAULT_MAXREWRITE,
    maxhdr: int = DEFAULT_MAXHDR,
) -> tuple[ResponseHead, int] | None:
    """Parse one response head (the request ``method`` decides whether a body follows).

    Errors raise :class:`ParseError` with status 502 (HAProxy's answer to an invalid response).
    """
    n = len(buf)
    if start < n and buf[start] in _CRLF:
        start = _skip_empty_lines(buf, start, 502)
        if start < 0:
            return None
    try:
        split = _split_head(buf, start, 502, bufsize)
    except ParseError as e:
        # 2.6 reads in order: a header name's error comes before a later forbidden byte's
        nl = buf.find(b"\n", start)
        if nl >= 0 and e.pos > nl:
            _name_error_before(buf, nl + 1, e.pos, 502)
        raise
    if split is None:
        # what cannot become a status line any more is refused at once, as 2.6
        nl = buf.find(b"\n", start)
        part = buf[start:] if nl < 0 else buf[start:nl]
        if part[-1:] == b"\r":
            part = part[:-1]
        if b"\r" in part or _STATUSLINE_PART.fullmatch(part) is None:
            raise ParseError(502, start, "invalid status line")
        if nl >= 0 and _STATUSLINE.fullmatch(part) is None:
            raise ParseError(502, start, "invalid status line")
        return None
    lines, after, eol = split
    try:
        msg = _response(lines, buf, start, after, method, bufsize - maxrewrite, maxhdr)
    except _Fold:
        if eol < 0:
            raise ParseError(502, start, "invalid header line") from None
        msg = _response(_split_head_slow(buf, start, eol, 502), buf, start, after, method,
                        bufsize - maxrewrite, maxhdr)
    msg.head_len = after - start
    return msg, after


def strict_version(v: bytes) -> bool:
    """The version check 2.6 makes unless accept-invalid-http-response/-request: 8 bytes, the
    5th '/', the 6th and 8th digits, the 7th '.' (the first four are not looked at:
    ``XTTP/1.1`` passes)."""
    return (len(v) == 8 and v[4] == 47 and v[6] == 46 and 48 <= v[5] <= 57 and 48 <= v[7] <= 57)


def forwarded_version(v: bytes) -> bytes:
    """A start line's version as 2.6 forwards it: HTTP/1.1 for 8 bytes whose 6th byte is above
    '1', or '1' with an 8th byte from '1' on (2.6 looks at nothing else), as written otherwise."""
    if len(v) == 8 and (v[5] > 49 or (v[5] == 49 and v[7] >= 49)):
        return b"HTTP/1.1"
    return v


def status_line(line: bytes, start: int, relaxed: bool = False) -> tuple[bytes, bytes, int, bytes]:
    """A status line (without its line end) as 2.6 reads it: ``(version as forwarded, code as
    written, status, reason)``; ``relaxed``: accept-invalid-http-response (no version check)."""
    m = _STATUSLINE.fullmatch(line)
    if m is None or b"\r" in line:
        raise ParseError(502, start, "invalid status line")
    raw_version, code, reason = m.groups()
    if not relaxed and not strict_version(raw_version):
        raise ParseError(502, start, "invalid HTTP version")
    # 2.6 adds the digits up in 32 bits and keeps a 16-bit status ("0204" is a 204, "65736" a
    # 200); the client gets the digits as written
    status = int(code) & 0xFFFF if len(code) > 3 else int(code)
    if status < 100:
        # 2.6 forwards such a response without its framing headers and its body as it came,
        # which haproxy-py does not do (README)
        raise ParseError(502, start + len(raw_version) + 1, "status code below 100")
    return forwarded_version(raw_version), code, status, reason or b""


def _response(lines: list[bytes], buf: bytes, start: int, after: int, method: bytes,
              limit: int, maxhdr: int = DEFAULT_MAXHDR) -> ResponseHead:
    m = _STATUSLINE_USUAL.fullmatch(lines[0])
    if m is not None:  # the usual line, in one step: what status_line() would find
        minor, code, reason = m.groups()
        version = b"HTTP/1.1" if minor == b"1" else b"HTTP/1.0"
        status = int(code)
        if reason is None:
            reason = b""
        odd_code = False
    else:
        version, code, status, reason = status_line(lines[0], start)
        odd_code = len(code) != 3 or code[0] == 48
    headers, special, nv = _parse_headers(lines, buf, start, 502)
    if len(headers) >= maxhdr:
        raise ParseError(502, start, "too many headers (tune.http.maxhdr)")
    msg = ResponseHead(status, reason, version, None)
    if odd_code:
        msg.code = code
    msg.headers = headers
    if special is not None:
        if _conn_tokens(msg, headers, special, 502, buf, start):
            nv = -1
    if msg.body == BODY_NONE:
        msg.body = BODY_CLOSE
    if special is not None and (status == 204 or status < 200):
        # HAProxy 2.6.12 drops any content-length of a 204 response (verified live; kept on 304),
        # and the content-length and transfer-encoding of an interim (1xx) one
        drop = (b"content-length",) if status == 204 else (b"content-length", b"transfer-encoding")
        msg.headers = headers = [h for h in headers if h[0].lower() not in drop]
        nv = -1
        msg.content_length = -1
    if status < 200 or status == 204 or status == 304 or method == b"HEAD":
        msg.body = BODY_NONE
    elif method == b"CONNECT" and 200 <= status < 300:
        msg.body = BODY_NONE  # the connection becomes a tunnel
    if msg.body == BODY_CLOSE:
        msg.keep_alive = False
    # the raw head is never smaller than its HTX data: only compute the exact size near the limit
    if after - start + 62 + 8 * len(headers) > limit and htx_size(b"", reason, version + code,
                                                                  headers) > limit:
        raise ParseError(502, start, "head too large")
    msg.htx_len = HEAD_OVERHEAD + len(version) + len(code) + len(reason) + _headers_htx(headers, special, nv)
    return msg


# BODY_LENGTH is re-exported for callers that only import this module
__all__ += ["BODY_NONE", "BODY_LENGTH", "BODY_CHUNKED", "BODY_CLOSE"]
