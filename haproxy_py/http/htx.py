"""What 2.6 counts as the bytes of an HTTP message: the size of its HTX form. Pure.

2.6's byte counters (``%B``, ``%U``, ``bytes_in``/``bytes_out``, ``show stat`` bin/bout) add up
what the HTTP/1 layer put into the stream, and that is the message in HTX, not the bytes on the
wire: a head counts its start line's three parts plus a fixed 21 bytes (the start-line block and
the end-of-headers block), then each header's name and value (no ``": "``, no CRLF), after the
layer removed the ``close``/``keep-alive`` tokens from ``Connection`` (the header itself when
nothing is left); a body counts its payload (no chunk framing), and a chunked one 1 more byte
(its end-of-trailers block) plus each trailer's name and value. What is added on the way out
(``connection: close``, X-Forwarded-For, set-header...) is not counted, what the server sent is.
Measured with Debian's 2.6.12: a 43-byte ``HTTP/1.1 200 OK`` + ``Content-Length: 5`` + 5-byte body
logs 54; its error pages log their size + 3 (3 headers: 15 - 4 x 3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .message import BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH

__all__ = ["HEAD_OVERHEAD", "headers_size", "request_size", "response_size", "message_size",
           "dropped_content_length", "HTX_RESERVED", "BLOCK", "head_blocks", "request_room", "header_need",
           "header_fits", "room_floor", "response_room", "length_held", "chunked_held",
           "request_held", "response_held"]

HEAD_OVERHEAD = 21

_DROPPED_TOKENS = (b"close", b"keep-alive")


def _connection_size(name: bytes, value: bytes) -> int:
    kept = [p for p in value.split(b",") if p.strip(b" \t").lower() not in _DROPPED_TOKENS]
    rest = b",".join(kept).strip(b" \t")
    return len(name) + len(rest) if rest else 0


def headers_size(headers: Iterable[tuple[bytes, bytes]], clean_connection: bool = True) -> int:
    """Names and values; ``clean_connection`` False when the head has no close/keep-alive token
    (its parser's ``conn_close``/``conn_keep_alive``), which skips looking for Connection."""
    if not clean_connection:
        return sum([len(name) + len(value) for name, value in headers])
    n = 0
    for name, value in headers:
        if len(name) == 10 and name.lower() == b"connection":
            n += _connection_size(name, value)
        else:
            n += len(name) + len(value)
    return n


def request_size(method: bytes, uri: bytes, version: bytes, headers: Iterable[tuple[bytes, bytes]],
                 clean_connection: bool = True) -> int:
    """A request head as 2.6 counts it (``%U`` starts with this)."""
    return HEAD_OVERHEAD + len(method) + len(uri) + len(version) + headers_size(headers, clean_connection)


def response_size(version: bytes, reason: bytes, headers: Iterable[tuple[bytes, bytes]],
                  clean_connection: bool = True) -> int:
    """A response head as 2.6 counts it (``%B`` starts with this); the status is 3 digits."""
    return HEAD_OVERHEAD + len(version) + 3 + len(reason) + headers_size(headers, clean_connection)


def message_size(data: bytes) -> int:
    """A whole response as written (head and body, e.g. one haproxy-py generated itself), counted
    as 2.6 counts the same message: chunk framing and the connection tokens left out."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data)
    lines = data[:end].split(b"\r\n")
    first = lines[0].split(b" ", 2)
    version = first[0]
    reason = first[2] if len(first) > 2 else b""
    headers = []
    chunked = False
    for ln in lines[1:]:
        name, _, value = ln.partition(b":")
        value = value.strip(b" \t")
        headers.append((name, value))
        if name.lower() == b"transfer-encoding" and value.lower().endswith(b"chunked"):
            chunked = True
    size = response_size(version, reason, headers)
    body = data[end + 4:]
    if not chunked:
        return size + len(body)
    i = 0
    while i < len(body):
        j = body.find(b"\r\n", i)
        if j < 0:
            break
        try:
            n = int(body[i:j].split(b";", 1)[0], 16)
        except ValueError:
            break
        if n == 0:
            return size + 1
        size += n
        i = j + 2 + n + 2
    return size


def dropped_content_length(raw_head: bytes) -> int:
    """What the ``Content-Length`` lines of a raw 204 head count: haproxy-py's parser drops them
    (2.6 does so on the way out, after counting them)."""
    n = 0
    for ln in raw_head.split(b"\n")[1:]:
        name, sep, value = ln.partition(b":")
        if sep and name.lower() == b"content-length":
            n += len(name) + len(value.strip(b" \t\r"))
    return n


# --------------------------------------------------------------------------- room for rewrites
# What a rule can add to a message before 2.6 calls the rewrite failed (strict-mode on: 500 and
# an internal error, off: skipped; actions/http.py, engine/http.py). Measured on 2.6.12: an added
# header takes 8 + name + value, an in-place change (replace-*, set-path...) its growth only, a
# header set-header or del-header removed gives back its data but not its block. The body bytes
# that came with the head are in 2.6's buffer when the rules run (length_held, chunked_held).
# Limit: the rewrites of http-response rules on responses haproxy-py serves itself (cache,
# frontend-local) are sized, but a failure there is neither a 500 nor counted (unmeasured).
#: what 2.6.12 keeps of a buffer for the HTX structure itself (measured: tune.bufsize 4096)
HTX_RESERVED = 48
#: what each HTX block costs besides its data (the start line, a header, the end of headers, a
#: body data block); maxrewrite is not reserved when a rule adds to a message already in HTX
BLOCK = 8


def head_blocks(headers: Iterable[tuple[bytes, bytes]]) -> int:
    """The blocks of a head in HTX: its start line, each header the HTTP/1 layer kept (a
    ``Connection`` left empty by the close/keep-alive tokens is gone), the end of headers."""
    n = 2
    for name, value in headers:
        if len(name) == 10 and name.lower() == b"connection" and not _connection_size(name, value):
            continue
        n += 1
    return n


def request_room(bufsize: int, method: bytes, uri: bytes, version: bytes,
                 headers: list[tuple[bytes, bytes]], body: int = 0) -> int:
    """What a rule can still add to a request head held in a ``bufsize`` buffer: the buffer less
    the HTX structure, the message's data and 8 bytes per block (``body``: what the body already
    there takes, its blocks included: length_held, chunked_held)."""
    return bufsize - HTX_RESERVED - body - request_size(method, uri, version, headers) - BLOCK * head_blocks(headers)


def response_room(bufsize: int, version: bytes, reason: bytes, headers: list[tuple[bytes, bytes]],
                  body: int = 0) -> int:
    """request_room for a response head."""
    return bufsize - HTX_RESERVED - body - response_size(version, reason, headers) - BLOCK * head_blocks(headers)


# What of a body that came with its head 2.6 has in HTX when the rules run. ``limit`` is what
# the body may take there: the head's room (request_room/response_room without body) less
# tune.maxrewrite. Measured on 2.6.12 (tune.bufsize 16384 and 4096): the payload is one block
# (8 bytes, contiguous chunks merged into it); a length-delimited or close-delimited payload
# fills the limit; a chunk is taken whole while it fits, else only up to 16 bytes below the
# limit (a chunk still arriving too); the last chunk and the trailers (one block each, 8 + name
# + value, and the end of trailers, 9) come all together, once complete and if they fit. On
# the request side 2.6 also reads no more than tune.bufsize - tune.maxrewrite raw bytes of the
# message (head included) before its rules: the caller cuts the body there.
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,13})[ \t]*(?:;[^\r\n]*)?\r?\n")


def length_held(n: int, limit: int) -> int:
    """What ``n`` bytes of a length- or close-delimited payload take in HTX (its block included)."""
    n = min(n, limit - BLOCK)
    return n + BLOCK if n > 0 else 0


def chunked_held(body: bytes, limit: int) -> int:
    """What the chunked ``body`` bytes take in HTX (blocks included), framing stripped. Framing
    this does not understand ends the count (its error is found when the body is forwarded)."""
    data = 0
    i = 0
    n = len(body)
    while True:
        m = _CHUNK_LINE.match(body, i)
        if m is None:
            break
        size = int(m.group(1), 16)
        i = m.end()
        if size == 0:
            held = data + BLOCK if data else 0
            tail = BLOCK + 1  # the end of trailers
            while True:
                j = body.find(b"\n", i)
                if j < 0:
                    return held  # the trailers are still arriving
                line = body[i:j]
                if line[-1:] == b"\r":
                    line = line[:-1]
                if not line:
                    break
                name, _, value = line.partition(b":")
                tail += BLOCK + len(name) + len(value.strip(b" \t"))
                i = j + 1
            return held + tail if held + tail <= limit else held
        avail = n - i
        if size <= avail and data + size + BLOCK <= limit:
            data += size
            i += size
            if body.startswith(b"\r\n", i):
                i += 2
            elif body.startswith(b"\n", i):
                i += 1
            else:
                break
            continue
        data += max(0, min(avail, size, limit - 2 * BLOCK - data))
        break
    return data + BLOCK if data else 0


def room_floor(bufsize: int, head_len: int, nheaders: int) -> int:
    """A lower bound of request_room from the raw head's length and header count alone (O(1)):
    each header line has at least 2 bytes besides its name and value (``:`` and LF) where HTX
    spends 8 on its block, and the start line and the end of headers cost at most 37 more than
    their raw bytes."""
    return bufsize - HTX_RESERVED - 37 - head_len - 6 * nheaders


def header_need(name: bytes, value: bytes) -> int:
    """The room a header added by a rule takes: its block and its name and value."""
    return BLOCK + len(name) + len(value)


def header_fits(room: int, name: bytes, value: bytes) -> bool:
    """Whether 2.6 can add this header with ``room`` left (request_room): it fills it exactly."""
    return BLOCK + len(name) + len(value) <= room


def request_held(bufsize: int, maxrewrite: int, req: Any, body: bytes) -> int:
    """What the ``body`` bytes that came with the request head ``req`` take in 2.6's HTX when its
    http-request rules run (a RequestHead: its method, uri, version, headers, body kind, length
    and raw head length)."""
    limit = request_room(bufsize, req.method, req.uri, req.version, req.headers) - maxrewrite
    if req.body == BODY_CHUNKED:
        return chunked_held(body[:bufsize - maxrewrite - req.head_len], limit)
    if req.body == BODY_LENGTH:
        return length_held(min(len(body), req.content_length), limit)
    return 0


def response_held(bufsize: int, maxrewrite: int, res: Any, body: bytes) -> int:
    """request_held for a server's response when its http-response rules run (2.6 has read on
    until its buffer held the limit: no raw cut)."""
    limit = response_room(bufsize, res.version, res.reason, res.headers) - maxrewrite
    if res.body == BODY_CHUNKED:
        return chunked_held(body, limit)
    if res.body == BODY_LENGTH:
        return length_held(min(len(body), res.content_length), limit)
    if res.body == BODY_CLOSE:
        return length_held(len(body), limit)
    return 0
