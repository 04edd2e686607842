"""The FastCGI record protocol (sans-IO): what a ``proto fcgi`` server line speaks.

Records: an 8-byte header (version 1, type, request id, content length, padding length, reserved)
then at most 65535 content bytes and the padding. A request is BEGIN_REQUEST (role responder,
flag KEEP_CONN when the connection is kept), PARAMS records carrying name-value pairs then an empty
PARAMS record, STDIN records carrying the body then an empty STDIN record. The application answers
with STDOUT records (a CGI response: header lines, a blank line, the body), STDERR records (its
error output) and END_REQUEST (application status, protocol status).

``cgi_params`` computes the parameters HAProxy 2.6 sends (mux_fcgi's defaults: its order, its
derivation of SCRIPT_NAME / PATH_INFO / QUERY_STRING from the URI, its HTTP_* header names);
``RecordReader`` splits received bytes into records with at most one record buffered (bounded
memory); ``CgiResponse`` turns the STDOUT stream into a status, headers and body bytes. Nothing
here touches a socket.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import Any, NamedTuple

VERSION = 1
BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
DATA = 8
GET_VALUES = 9
GET_VALUES_RESULT = 10
UNKNOWN_TYPE = 11

RESPONDER = 1
KEEP_CONN = 1

#: protocol status of END_REQUEST
REQUEST_COMPLETE = 0
CANT_MPX_CONN = 1
OVERLOADED = 2
UNKNOWN_ROLE = 3

MAX_CONTENT = 0xFFFF
_HDR = struct.Struct(">BBHHBx")


class FcgiError(ValueError):
    """Malformed FastCGI input (a record or a name-value pair)."""


def record(rtype: int, req_id: int, content: bytes = b"") -> bytes:
    """One record (no padding, as 2.6 sends them); ``content`` at most 65535 bytes."""
    if len(content) > MAX_CONTENT:
        raise ValueError("record content over 65535 bytes")
    return _HDR.pack(VERSION, rtype, req_id, len(content), 0) + content


def records(rtype: int, req_id: int, content: bytes) -> bytes:
    """``content`` as as many records of ``rtype`` as needed (none for empty content)."""
    return b"".join(record(rtype, req_id, content[i:i + MAX_CONTENT]) for i in range(0, len(content), MAX_CONTENT))


def begin_request(req_id: int, keep_conn: bool) -> bytes:
    return record(BEGIN_REQUEST, req_id, struct.pack(">HB5x", RESPONDER, KEEP_CONN if keep_conn else 0))


def _length(n: int) -> bytes:
    return bytes((n,)) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_nv(name: bytes, value: bytes) -> bytes:
    """One name-value pair (lengths of 1 byte below 128, else 4 bytes with the high bit set)."""
    return _length(len(name)) + _length(len(value)) + name + value


def decode_nv(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every name-value pair of ``data``; FcgiError if one is cut or a length overflows the data."""
    out = []
    i, n = 0, len(data)
    while i < n:
        lens = []
        for _ in range(2):
            if i >= n:
                raise FcgiError("name-value pair cut in its lengths")
            b = data[i]
            if b < 128:
                lens.append(b)
                i += 1
            else:
                if i + 4 > n:
                    raise FcgiError("name-value pair cut in a 4-byte length")
                lens.append(struct.unpack_from(">I", data, i)[0] & 0x7FFFFFFF)
                i += 4
        ln, lv = lens
        if i + ln + lv > n:
            raise FcgiError("name-value pair longer than its record")
        out.append((data[i:i + ln], data[i + ln:i + ln + lv]))
        i += ln + lv
    return out


def encode_params(req_id: int, params: list[tuple[bytes, bytes]]) -> bytes:
    """PARAMS records holding ``params`` (a pair never split between two records), then the empty
    PARAMS record that ends them. FcgiError for a pair that cannot fit in one record."""
    out = []
    cur = bytearray()
    for name, value in params:
        nv = encode_nv(name, value)
        if len(nv) > MAX_CONTENT:
            raise FcgiError("parameter too large for a record")
        if len(cur) + len(nv) > MAX_CONTENT:
            out.append(record(PARAMS, req_id, bytes(cur)))
            cur = bytearray()
        cur += nv
    if cur:
        out.append(record(PARAMS, req_id, bytes(cur)))
    out.append(record(PARAMS, req_id))
    return b"".join(out)


def get_values_request() -> bytes:
    """The management record 2.6 sends first on a connection under 'option get-values': the
    application's FCGI_MAX_REQS and FCGI_MPXS_CONNS asked for (empty values), request id 0."""
    return record(GET_VALUES, 0, encode_nv(b"FCGI_MAX_REQS", b"") + encode_nv(b"FCGI_MPXS_CONNS", b""))


def decode_values(content: bytes) -> dict[bytes, bytes]:
    """The variables of a GET_VALUES_RESULT record (names in capitals); FcgiError if malformed."""
    return {n.upper(): v for n, v in decode_nv(content)}


class Record(NamedTuple):
    type: int
    req_id: int
    content: bytes


class RecordReader:
    """Splits a byte stream into records. Holds at most one record's bytes (64 KiB + padding)."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> Iterator[Record]:
        buf = self.buf + data if self.buf else data
        i = 0
        n = len(buf)
        while n - i >= 8:
            ver, rtype, rid, clen, plen = _HDR.unpack_from(buf, i)
            if ver != VERSION:
                self.buf = b""
                raise FcgiError(f"record version {ver}")
            end = i + 8 + clen + plen
            if end > n:
                break
            yield Record(rtype, rid, buf[i + 8:i + 8 + clen])
            i = end
        self.buf = buf[i:]

    @property
    def pending(self) -> int:
        return len(self.buf)


def decode_end_request(content: bytes) -> tuple[int, int]:
    """(application status, protocol status) of an END_REQUEST record."""
    if len(content) < 8:
        raise FcgiError("END_REQUEST record too short")
    app, proto = struct.unpack_from(">IB", content)
    return app, proto


# --------------------------------------------------------------------------- CGI parameters

_HEX = re.compile(rb"%([0-9A-Fa-f]{2})")


def url_decode(path: bytes) -> bytes | None:
    """%XX decoding ('+' stays); None for a '%' not followed by two hex digits (2.6's error)."""
    if b"%" not in path:
        return path
    out = bytearray()
    i = 0
    n = len(path)
    while i < n:
        c = path[i]
        if c == 0x25:
            h = path[i + 1:i + 3]
            if len(h) < 2 or not _HEX.fullmatch(b"%" + h):
                return None
            out.append(int(h, 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return bytes(out)


def param_name(header: bytes) -> bytes:
    """The parameter a request header becomes: HTTP_ then its name in capitals, every character
    that is not a letter or a digit as '_'."""
    return b"HTTP_" + bytes(c - 32 if 97 <= c <= 122 else c if (48 <= c <= 57 or 65 <= c <= 90) else 95
                            for c in header)


def _cgi_name(name: bytes) -> bytes:
    return bytes(c - 32 if 97 <= c <= 122 else c if (48 <= c <= 57 or 65 <= c <= 90) else 95 for c in name)


def rule_key(name: bytes) -> bytes:
    """The name 2.6 gives a set-param rule (its ':fcgi-' header): lower case, every character
    that is not a letter or a digit as '_'. Two rules of the same key set the same parameter."""
    return bytes(c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122) else 95 for c in name)


def uri_path(uri: bytes) -> bytes:
    """The path (and query string) of a request URI: an absolute URI loses its scheme and authority."""
    if uri.startswith(b"/") or uri == b"*":
        return uri if uri != b"*" else b""
    k = uri.find(b"://")
    if k <= 0:
        return b""
    j = uri.find(b"/", k + 3)
    if j < 0:
        q = uri.find(b"?", k + 3)
        return b"" if q < 0 else uri[q:]
    return uri[j:]


class AppConf(NamedTuple):
    """What of an ``fcgi-app`` section the parameters depend on."""

    docroot: bytes
    index_file: bytes = b""
    path_info: re.Pattern[bytes] | None = None


class ReqInfo(NamedTuple):
    """The request facts the parameters are made of."""

    method: bytes
    uri: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]]  # as forwarded, hop-by-hop and unpassed ones removed
    src: str
    src_port: int
    dst: str
    dst_port: int
    body_len: int  # CONTENT_LENGTH when no Content-Length header is sent
    https: bool = False
    software: bytes = b""  # SERVER_SOFTWARE
    #: AUTH_TYPE and REMOTE_USER come with the set-param ones (2.6's default rules, engine/fcgi.py)
    #: instead of being read here from a passed Authorization header
    auth_rules: bool = False


def cgi_params(app: AppConf, r: ReqInfo, forced: tuple[tuple[bytes, bytes], ...] = ()) -> list[tuple[bytes, bytes]] | None:
    """The PARAMS of a request, in 2.6's order: the headers (Content-Length and Content-Type as
    CONTENT_LENGTH / CONTENT_TYPE, the others as HTTP_*), the ``set-param`` ones (``forced``,
    names as written, which replace the defaults of the same names), then the defaults 2.6
    derives (GATEWAY_INTERFACE, DOCUMENT_ROOT, SCRIPT_NAME, PATH_INFO, REQUEST_URI,
    REQUEST_METHOD, QUERY_STRING, SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL, REMOTE_ADDR,
    REMOTE_PORT, SCRIPT_FILENAME, PATH_TRANSLATED, CONTENT_LENGTH, HTTPS), empty ones left out.
    None when the request cannot be expressed (no path, a bad %-escape): 2.6's processing error."""
    out: list[tuple[bytes, bytes]] = []
    srv_name = b""
    has_cl = False
    auth_type = user = b""
    for n, v in r.headers:
        ln = n.lower()
        if ln == b"authorization" and not r.auth_rules:
            auth_type, user = _basic_user(v)
        if ln == b"content-length":
            out.append((b"CONTENT_LENGTH", v))
            has_cl = True
        elif ln == b"content-type":
            out.append((b"CONTENT_TYPE", v))
        else:
            if ln == b"host":
                srv_name = v
            out.append((param_name(ln), v))
    forced_names = set()
    for n, v in forced:
        cn = _cgi_name(n)
        forced_names.add(cn)
        out.append((cn, v))
    d: dict[bytes, bytes] = {}
    d[b"DOCUMENT_ROOT"] = dict((_cgi_name(n), v) for n, v in forced).get(b"DOCUMENT_ROOT", app.docroot)
    docroot = d[b"DOCUMENT_ROOT"]
    path = uri_path(r.uri)
    qs = b""
    script = b""
    pathinfo = b""
    if not path and b"SCRIPT_NAME" not in forced_names:
        return None
    q = path.find(b"?")
    if q >= 0:
        qs = path[q + 1:]
        path = path[:q]
    if b"SCRIPT_NAME" not in forced_names:
        dec = url_decode(path)
        if dec is None:
            return None
        script = dec
        if app.path_info is not None:
            if b"\n" in dec or b"\0" in dec:
                return None
            m = app.path_info.search(dec)
            if m is not None and m.lastindex and m.group(1) is not None:
                script = m.group(1)
                if (m.lastindex or 0) >= 2 and m.group(2) is not None:
                    pathinfo = m.group(2)
        if app.index_file and script.endswith(b"/"):
            script += app.index_file
    else:
        script = dict((_cgi_name(n), v) for n, v in forced)[b"SCRIPT_NAME"]
    defaults = [
        (b"GATEWAY_INTERFACE", b"CGI/1.1"),
        (b"DOCUMENT_ROOT", docroot),
        (b"SCRIPT_NAME", script),
        (b"PATH_INFO", pathinfo),
        (b"REQUEST_URI", r.uri),
        (b"REQUEST_METHOD", r.method),
        (b"QUERY_STRING", qs),
        (b"SERVER_NAME", srv_name or r.dst.encode()),
        (b"SERVER_PORT", str(r.dst_port).encode()),
        (b"SERVER_PROTOCOL", r.version),
        (b"REMOTE_ADDR", r.src.encode()),
        (b"REMOTE_PORT", str(r.src_port).encode()),
        (b"AUTH_TYPE", auth_type),
        (b"REMOTE_USER", user),
        (b"SCRIPT_FILENAME", docroot + script),
        (b"PATH_TRANSLATED", docroot + pathinfo if pathinfo else b""),
        (b"CONTENT_LENGTH", b"" if has_cl else str(r.body_len).encode()),
        (b"SERVER_SOFTWARE", r.software),
        (b"HTTPS", b"on" if r.https else b""),
    ]
    for n, v in defaults:
        if n in forced_names or not v:
            continue
        if n == b"CONTENT_LENGTH" and has_cl:
            continue
        out.append((n, v))
    return out


def _basic_user(value: bytes) -> tuple[bytes, bytes]:
    """AUTH_TYPE and REMOTE_USER of a passed Authorization header (Basic credentials), as 2.6."""
    import base64
    import binascii

    scheme, _, cred = value.strip().partition(b" ")
    if scheme.lower() != b"basic":
        return b"", b""
    try:
        dec = base64.b64decode(cred.strip(), validate=True)
    except (binascii.Error, ValueError):
        return b"", b""
    u, sep, _pw = dec.partition(b":")
    return (b"Basic", u) if sep else (b"", b"")


# --------------------------------------------------------------------------- the CGI response

_STATUS = re.compile(rb"\s*(\d{3})(?:\s+(.*))?")


class CgiResponse:
    """The STDOUT stream of one request: ``feed`` gathers the CGI header block (bounded by
    ``max_head``), then hands out body bytes. ``status``/``reason``/``headers`` once ``done_head``."""

    __slots__ = ("buf", "done_head", "status", "reason", "headers", "max_head")

    def __init__(self, max_head: int = 16384) -> None:
        self.buf = b""
        self.done_head = False
        self.status = 200
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.max_head = max_head

    def feed(self, data: bytes) -> bytes:
        """Body bytes available after ``data``; FcgiError for a malformed or oversized head."""
        if self.done_head:
            return data
        buf = self.buf + data
        end, sep = buf.find(b"\r\n\r\n"), 4
        e2 = buf.find(b"\n\n")
        if e2 >= 0 and (end < 0 or e2 < end):
            end, sep = e2, 2
        if end < 0:
            if len(buf) > self.max_head:
                raise FcgiError("CGI response head too large")
            self.buf = buf
            return b""
        if end > self.max_head:
            raise FcgiError("CGI response head too large")
        self.buf = b""
        self._parse(buf[:end])
        self.done_head = True
        return buf[end + sep:]

    def _parse(self, head: bytes) -> None:
        for line in head.split(b"\n"):
            line = line.rstrip(b"\r")
            if not line:
                continue
            k = line.find(b":")
            if k <= 0 or line[:1] in (b" ", b"\t"):
                raise FcgiError("malformed CGI header line")
            name = line[:k]
            if any(c <= 32 or c >= 127 for c in name):
                raise FcgiError("malformed CGI header name")
            value = line[k + 1:].strip(b" \t")
            if name.lower() == b"status":
                m = _STATUS.fullmatch(value)
                if m is None:
                    raise FcgiError("malformed Status header")
                self.status = int(m.group(1))
                self.reason = (m.group(2) or b"").strip()
                continue
            self.headers.append((name, value))

    def header(self, name: bytes) -> bytes | None:
        ln = name.lower()
        for n, v in self.headers:
            if n.lower() == ln:
                return v
        return None


# --------------------------------------------------------------------------- HTTP/1 <-> FastCGI

_H_HEAD, _H_LEN, _H_CHUNK_SIZE, _H_CHUNK_DATA, _H_CHUNK_CRLF, _H_TRAILERS = range(6)
#: request headers 2.6 does not pass (hop-by-hop ones and credentials) unless 'pass-header'
NOT_PASSED = (b"connection", b"keep-alive", b"te", b"upgrade", b"transfer-encoding", b"authorization",
              b"proxy-authorization", b"proxy", b"proxy-authenticate", b"trailers")


class RequestEncoder:
    """The HTTP/1 requests the engine forwards (head, then a Content-Length or chunked body) as
    FastCGI records: BEGIN_REQUEST, PARAMS (``params_of(head, body_len)``), STDIN records, the
    empty STDIN record. Requests follow each other (a kept connection): each gets the next id.
    Holds at most a request head and a chunk size line."""

    __slots__ = ("params_of", "keep_conn", "state", "buf", "remaining", "req_id", "head", "held")

    #: a chunked body is held up to this size before the parameters go (its CONTENT_LENGTH)
    HOLD = 16384

    def __init__(self, params_of, keep_conn: bool) -> None:  # type: ignore[no-untyped-def]
        self.params_of = params_of
        self.keep_conn = keep_conn
        self.state = _H_HEAD
        self.buf = b""
        self.remaining = 0
        self.req_id = 0
        self.head: Any = None
        self.held: list[bytes] | None = None

    def feed(self, data: bytes) -> bytes:
        from haproxy_py.http.message import BODY_CHUNKED, BODY_LENGTH
        from haproxy_py.http.parse import parse_request

        out: list[bytes] = []
        buf = self.buf + data if self.buf else data
        self.buf = b""
        i = 0
        n = len(buf)
        while i < n or self.state == _H_LEN and self.remaining == 0:
            st = self.state
            if st == _H_HEAD:
                got = parse_request(buf, i, bufsize=1 << 20, maxrewrite=0)
                if got is None:
                    self.buf = buf[i:]
                    break
                head, i = got
                self.head = head
                self.req_id = self.req_id % 0xFFFF + 1
                if head.body == BODY_LENGTH:
                    self.state, self.remaining = _H_LEN, head.content_length
                    body_len = head.content_length
                elif head.body == BODY_CHUNKED:
                    # the parameters wait for the body, as far as HOLD: CONTENT_LENGTH is what came
                    self.state = _H_CHUNK_SIZE
                    self.held = []
                    continue
                else:
                    self.state, self.remaining = _H_LEN, 0
                    body_len = 0
                params = self.params_of(head, body_len)
                if params is None:
                    raise FcgiError("the request cannot be expressed in CGI parameters")
                out.append(begin_request(self.req_id, self.keep_conn) + encode_params(self.req_id, params))
            elif st == _H_LEN:
                take = min(self.remaining, n - i)
                if take:
                    out.append(records(STDIN, self.req_id, buf[i:i + take]))
                    i += take
                    self.remaining -= take
                if self.remaining == 0:
                    out.append(record(STDIN, self.req_id))
                    self.state = _H_HEAD
            elif st == _H_CHUNK_SIZE or st == _H_TRAILERS:
                e = buf.find(b"\n", i)
                if e < 0:
                    if n - i > 4096:
                        raise FcgiError("chunk line too long")
                    self.buf = buf[i:]
                    break
                line = buf[i:e].rstrip(b"\r")
                i = e + 1
                if st == _H_TRAILERS:
                    if not line:
                        if self.held is not None:
                            out.append(self._flush())
                        out.append(record(STDIN, self.req_id))
                        self.state = _H_HEAD
                    continue
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.state = _H_TRAILERS
                else:
                    self.state, self.remaining = _H_CHUNK_DATA, size
            elif st == _H_CHUNK_DATA:
                take = min(self.remaining, n - i)
                if self.held is not None:
                    self.held.append(buf[i:i + take])
                    if sum(len(x) for x in self.held) > self.HOLD:
                        out.append(self._flush())
                else:
                    out.append(records(STDIN, self.req_id, buf[i:i + take]))
                i += take
                self.remaining -= take
                if self.remaining == 0:
                    self.state = _H_CHUNK_CRLF
            else:  # _H_CHUNK_CRLF
                e = buf.find(b"\n", i)
                if e < 0:
                    self.buf = buf[i:]
                    break
                i = e + 1
                self.state = _H_CHUNK_SIZE
        return b"".join(out)


    def _flush(self) -> bytes:
        body = b"".join(self.held or ())
        self.held = None
        params = self.params_of(self.head, len(body))
        if params is None:
            raise FcgiError("the request cannot be expressed in CGI parameters")
        return begin_request(self.req_id, self.keep_conn) + encode_params(self.req_id, params) + \
            records(STDIN, self.req_id, body)


def _dechunk_prefix(data: bytes) -> bytes:
    """The payload of the complete chunks at the start of ``data`` (CONTENT_LENGTH of a chunked
    request: the body there is when the parameters are sent, as 2.6 counts it)."""
    out = []
    i = 0
    while True:
        e = data.find(b"\n", i)
        if e < 0:
            break
        try:
            size = int(data[i:e].rstrip(b"\r").split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            break
        if size == 0:
            break
        chunk = data[e + 1:e + 1 + size]
        out.append(chunk)
        if len(chunk) < size:
            break
        i = e + 1 + size
        e2 = data.find(b"\n", i)
        if e2 < 0:
            break
        i = e2 + 1
    return b"".join(out)


_REASONS = {100: b"Continue", 200: b"OK", 201: b"Created", 202: b"Accepted", 204: b"No Content",
            206: b"Partial Content", 301: b"Moved Permanently", 302: b"Found", 303: b"See Other",
            304: b"Not Modified", 307: b"Temporary Redirect", 308: b"Permanent Redirect", 400: b"Bad Request",
            401: b"Unauthorized", 403: b"Forbidden", 404: b"Not Found", 405: b"Method Not Allowed",
            408: b"Request Timeout", 409: b"Conflict", 410: b"Gone", 413: b"Payload Too Large",
            429: b"Too Many Requests", 500: b"Internal Server Error", 501: b"Not Implemented",
            502: b"Bad Gateway", 503: b"Service Unavailable", 504: b"Gateway Timeout"}


class ResponseDecoder:
    """The application's records for the current request as an HTTP/1.1 response: the CGI head
    (Status:, headers) becomes the status line and headers (a Date header added when the
    application sent none, as 2.6 does); the body gets a Content-Length when the whole of it came
    before the response head could go (within ``hold`` bytes), else it is chunked as it comes.
    ``feed`` returns (HTTP bytes, error output chunks, ended)."""

    __slots__ = ("cgi", "hold", "held", "chunked", "ended", "no_body", "date", "close", "sent_head")

    def __init__(self, date: bytes = b"", hold: int = 15360, head_request: bool = False, close: bool = False) -> None:
        self.cgi = CgiResponse()
        self.hold = hold
        self.held: list[bytes] | None = []
        self.chunked = False
        self.ended = False
        self.no_body = head_request
        self.date = date
        self.close = close
        self.sent_head = False

    def _head(self, length: int | None) -> bytes:
        c = self.cgi
        st = c.status
        lines = [b"HTTP/1.1 %d %s" % (st, c.reason or _REASONS.get(st, b"Unknown"))]
        has_date = False
        has_len = False
        for n, v in c.headers:
            ln = n.lower()
            if ln in (b"transfer-encoding", b"connection"):
                continue
            if ln == b"content-length":
                has_len = True
            has_date = has_date or ln == b"date"
            lines.append(n + b": " + v)
        if not has_date and self.date:
            lines.append(b"date: " + self.date)
        bodyless = self.no_body or st < 200 or st in (204, 304)
        if not has_len and not bodyless:
            if length is None:
                lines.append(b"transfer-encoding: chunked")
                self.chunked = True
            else:
                lines.append(b"content-length: %d" % length)
        if self.close:
            lines.append(b"connection: close")
        self.sent_head = True
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def _body(self, data: bytes) -> bytes:
        if not data or self.no_body:
            return b""
        return b"%X\r\n%s\r\n" % (len(data), data) if self.chunked else data

    def feed(self, records_: list[Record]) -> tuple[bytes, list[bytes], bool]:
        out: list[bytes] = []
        errs: list[bytes] = []
        for r in records_:
            if self.ended:
                break
            if r.type == STDOUT:
                if not r.content:
                    continue
                body = self.cgi.feed(r.content)
                if not self.cgi.done_head:
                    continue
                held = self.held
                if held is not None:
                    held.append(body)
                    if sum(len(x) for x in held) > self.hold:
                        self.held = None
                        out.append(self._head(None))
                        out.append(self._body(b"".join(held)))
                else:
                    out.append(self._body(body))
            elif r.type == STDERR:
                if r.content:
                    errs.append(r.content)
            elif r.type == END_REQUEST:
                if not self.cgi.done_head:
                    raise FcgiError("the application ended without a response head")
                self.ended = True
                if self.held is not None:
                    body = b"".join(self.held)
                    self.held = None
                    out.append(self._head(len(body)))
                    out.append(b"" if self.no_body else body)
                elif self.chunked:
                    out.append(b"0\r\n\r\n")
        return b"".join(out), errs, self.ended
