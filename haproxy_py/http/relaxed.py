"""The HTTP/1 head parser as HAProxy 2.6 relaxes it with ``option accept-invalid-http-request``
(a frontend's requests) and ``option accept-invalid-http-response`` (a backend's responses).

Called only for a head the strict parser (http/parse.py) refused: a head it accepts is accepted
the same way here, so a proxy with the option pays nothing on valid traffic, and one without it
never comes here (decided at load time, engine/router.py). What 2.6.12 lets through, as probed:

* request URI: every byte from 0x21 on, '#' and bytes >= 0x80 included (HTAB, SP end it;
  other control bytes are still refused). Strict 2.6 reads the URI four bytes at a time first
  and only looks at each byte of the first group that is not all within 0x24-0xa3 (or is all
  0x7f or above): bytes 0x7f-0xa3 of the groups skipped that way pass even without the option,
  which the strict parser's URI check does not reproduce (``uri_passes_strict`` does);
* header names: any byte but LF (and the colon that ends the name), an empty name still refused;
  names keep their bytes, trailing blanks included (and their case, as every name here: README);
* a request line without a version (HTTP/0.9): a GET with a URI becomes an HTTP/1.0 request
  without headers, its head ending with that line; other methods are still refused;
* versions: any run of upper-case letters, digits, '.' and '/' (``HTTP/1.10``, ``HTTP/11``,
  ``FOO/1.1``): kept as written (a non-1.1 message), except 8 bytes that 2.6 reads as 1.1;
* an absolute URI (or a CONNECT authority) whose authority differs from the Host header.

What stays refused: empty header names, different Host values, an invalid or conflicting
content-length, a transfer-encoding without chunked, control bytes in values (the strict parser's
deliberate difference, README), bad methods and status codes.
"""

from __future__ import annotations

from .message import BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH, BODY_NONE, RequestHead, ResponseHead
from .parse import (
    _CTL,
    _NO_BODY_10,
    _SPECIAL,
    _TCHARS,
    H2_PREFACE,
    ParseError,
    _authority_of,
    _conn_tokens,
    _find_head_end,
    _HeaderList,
    _locate,
    _norm_host,
    _Special,
    _unfold,
    forwarded_version,
    htx_size,
    status_line,
)

__all__ = ["parse_request_relaxed", "parse_response_relaxed", "uri_passes_strict"]

_VER = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./")


def _skip4(buf: bytes, i: int, end: int) -> int:
    """2.6's four-bytes-at-a-time URI skip (x86): the index of the first group it stops at."""
    while i <= end - 4:
        g = buf[i:i + 4]
        if min(g) < 0x24 or max(g) > 0xa3 or min(g) >= 0x7f:
            break
        i += 4
    return i


def uri_passes_strict(buf: bytes, start: int, end: int) -> bool:
    """Whether strict 2.6 accepts the URI bytes buf[start:end] (all >= 0x21) followed by the rest
    of the buffer up to ``len(buf)``: only the bytes after the skipped groups are looked at."""
    i = _skip4(buf, start, len(buf))
    return all(0x21 <= c <= 0x7e and c != 0x23 for c in buf[i:end])


def _headers(lines: list[bytes], buf: bytes, start: int, status: int,
             errs: list[int] | None = None) -> tuple[_HeaderList, _Special | None]:
    headers: _HeaderList = []
    special: _Special | None = None
    pos = -1
    for line in lines:
        name, sep, value = line.partition(b":")
        if not sep or not name or _CTL.search(value) is not None:
            raise ParseError(status, start, "invalid header line")
        if errs is not None and pos < 0 and name.translate(None, _TCHARS):
            # the first byte the strict parser refuses, where 2.6 records it (show errors)
            at = _locate(buf, start, name + b":")  # the line may have been unfolded: its name is as sent
            pos = at + next(i for i, c in enumerate(name) if c not in _TCHARS)
            errs.append(pos)
        value = value.strip(b" \t")
        lname = name.lower()
        if lname in _SPECIAL:
            if special is None:
                special = []
            special.append((len(headers), lname, value))
        headers.append((name, value))
    return headers, special


def _header_lines(buf: bytes, start: int, line_end: int, bufsize: int, status: int) -> tuple[list[bytes], int] | None:
    """The header lines after a start line ending at ``line_end`` (its LF) and the index after
    the head; None while the head is incomplete."""
    eol, after = _find_head_end(buf, line_end)
    if eol < 0:
        if len(buf) - start >= bufsize:
            raise ParseError(status, len(buf), "head too large")
        return None
    head = buf[line_end + 1:eol]
    if not head:
        return [], after
    if b"\n " in head or b"\n\t" in head:
        head = _unfold(head)
    return [ln[:-1] if ln[-1:] == b"\r" else ln for ln in head.split(b"\n")], after


def parse_request_relaxed(buf: bytes, start: int = 0, *, bufsize: int, maxrewrite: int,
                          maxhdr: int, errs: list[int] | None = None) -> tuple[RequestHead, int] | None:
    """``parse_request`` with 2.6's accept-invalid-http-request; the same results and errors.
    ``errs`` receives the position of the first byte the strict parser would have refused where
    2.6 records one for ``show errors`` (a header name's byte, a URI's byte)."""
    n = len(buf)
    while start < n and buf[start] in (10, 13):
        if buf[start] == 13:
            if start + 1 >= n:
                return None
            if buf[start + 1] != 10:
                raise ParseError(400, start, "bare CR")
        start += 1
    if start >= n:
        return None
    i = start
    while i < n and buf[i] in _TCHARS:
        i += 1
    method = buf[start:i]
    if i >= n:
        _incomplete(buf, start, bufsize)
        return None
    if not method or buf[i] not in (32, 9):
        raise ParseError(400, i, "invalid request line")
    while i < n and buf[i] in (32, 9):
        i += 1
    if i >= n:
        _incomplete(buf, start, bufsize)
        return None
    u = i
    i = _skip4(buf, i, n)
    while i < n:
        c = buf[i]
        if c > 0x20 and c != 0x7f:
            i += 1
        elif c in (32, 9, 10, 13):
            break
        else:
            raise ParseError(400, i, "invalid character in URI")
    if i >= n:
        _incomplete(buf, start, bufsize)
        return None
    uri = buf[u:i]
    if not uri and buf[i] in (10, 13):
        raise ParseError(400, i, "invalid request line")
    while i < n and buf[i] in (32, 9):
        i += 1
    v = i
    while i < n and buf[i] in _VER:
        i += 1
    if i >= n or (buf[i] == 13 and i + 1 >= n):
        _incomplete(buf, start, bufsize)
        return None
    if buf[i] == 13:
        i += 1
    if buf[i] != 10:
        raise ParseError(400, i, "invalid request line")
    raw_version = buf[v:i].rstrip(b"\r")
    if method == b"PRI":
        raise ParseError(400, start, H2_PREFACE)
    if not raw_version:  # HTTP/0.9: the head is this line
        if method != b"GET":
            raise ParseError(400, start, "HTTP/0.9 request other than GET")
        msg = RequestHead(method, uri, b"HTTP/1.0", None)
        msg.headers = []
        msg.head_len = i + 1 - start
        return msg, i + 1
    got = _header_lines(buf, start, i, bufsize, 400)
    if got is None:
        return None
    lines, after = got
    version = forwarded_version(raw_version)
    if uri[0] != 47 and uri != b"*":
        if method == b"CONNECT":
            host, colon, port = uri.rpartition(b":")
            if not colon or not host or not port.isdigit():
                raise ParseError(400, start + len(method) + 1, "invalid CONNECT authority")
        elif _authority_of(uri) is None:
            raise ParseError(400, start + len(method) + 1, "invalid URI")
    found: list[int] = []
    if errs is not None:
        # a URI byte the strict parser refuses (past the groups its four-byte scan skips)
        for k in range(_skip4(buf, u, len(buf)), u + len(uri)):
            if buf[k] == 0x23 or buf[k] > 0x7e:
                found.append(k)
                break
    headers, special = _headers(lines, buf, start, 400, None if found else found)
    if len(headers) >= maxhdr:
        raise ParseError(400, start, "too many headers (tune.http.maxhdr)")
    msg = RequestHead(method, uri, version, None)
    msg.headers = headers
    if special is not None:
        hosts = [(k, val) for k, nm, val in special if nm == b"host"]
        framing = len(hosts) != len(special)
        absolute = _authority_of(uri) if hosts and uri[:1] != b"/" and method != b"CONNECT" else None
        if (errs is not None and not found and absolute is not None
                and _norm_host(absolute[0], absolute[1]) != _norm_host(absolute[0], hosts[0][1])):
            found.append(_locate(buf, start, hosts[0][1]))  # 2.6 still records it (show errors)
        if len(hosts) > 1:
            ref = hosts[0][1].lower()
            for _, val in hosts[1:]:
                if val.lower() != ref:
                    raise ParseError(400, start, "different Host headers")
            drop = {k for k, _ in hosts[1:]}
            keep = [k for k in range(len(headers)) if k not in drop]
            remap = {old: new for new, old in enumerate(keep)}
            headers[:] = [headers[k] for k in keep]
            special = [(remap[k], nm, val) for k, nm, val in special if k in remap]
        if framing:
            _conn_tokens(msg, headers, special, 400, buf, start)
            if (version == b"HTTP/1.0" and method in _NO_BODY_10
                    and (msg.body == BODY_CHUNKED or (msg.body == BODY_LENGTH and msg.content_length > 0))):
                raise ParseError(413, start, "HTTP/1.0 request with a body its method does not take")
    if htx_size(method, uri, version, headers) > bufsize - maxrewrite:
        raise ParseError(400, start, "head too large")
    msg.head_len = after - start
    if errs is not None and found:
        errs.append(found[0])
    return msg, after


def _incomplete(buf: bytes, start: int, bufsize: int) -> None:
    if len(buf) - start >= bufsize:
        raise ParseError(400, len(buf), "head too large")
    return None


def parse_response_relaxed(buf: bytes, start: int = 0, *, method: bytes, bufsize: int, maxrewrite: int,
                           maxhdr: int, errs: list[int] | None = None) -> tuple[ResponseHead, int] | None:
    """``parse_response`` with 2.6's accept-invalid-http-response; the same results and errors
    (``errs``: as for requests, a header name's byte)."""
    n = len(buf)
    while start < n and buf[start] in (10, 13):  # empty lines before it, as the strict parser
        if buf[start] == 13:
            if start + 1 >= n:
                return None
            if buf[start + 1] != 10:
                raise ParseError(502, start, "bare CR")
        start += 1
    nl = buf.find(b"\n", start)
    if nl < 0:
        _incomplete(buf, start, bufsize)
        return None
    first = buf[start:nl]
    if first[-1:] == b"\r":
        first = first[:-1]
    version, code, status, reason = status_line(first, start, relaxed=True)
    got = _header_lines(buf, start, nl, bufsize, 502)
    if got is None:
        return None
    lines, after = got
    found: list[int] = []
    headers, special = _headers(lines, buf, start, 502, found)
    if len(headers) >= maxhdr:
        raise ParseError(502, start, "too many headers (tune.http.maxhdr)")
    msg = ResponseHead(status, reason, version, None)
    if len(code) != 3 or code[0] == 48:
        msg.code = code
    msg.headers = headers
    if special is not None:
        _conn_tokens(msg, headers, special, 502, buf, start)
    if msg.body == BODY_NONE:
        msg.body = BODY_CLOSE
    if special is not None and (status == 204 or status < 200):
        drop = (b"content-length",) if status == 204 else (b"content-length", b"transfer-encoding")
        msg.headers = headers = [h for h in headers if h[0].lower() not in drop]
        msg.content_length = -1
    if status < 200 or status == 204 or status == 304 or method == b"HEAD":
        msg.body = BODY_NONE
    elif method == b"CONNECT" and 200 <= status < 300:
        msg.body = BODY_NONE
    if msg.body == BODY_CLOSE:
        msg.keep_alive = False
    if htx_size(b"", reason, version + code, headers) > bufsize - maxrewrite:
        raise ParseError(502, start, "head too large")
    msg.head_len = after - start
    if errs is not None and found:
        errs.append(found[0])
    return msg, after
