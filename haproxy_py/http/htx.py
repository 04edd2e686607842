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

from collections.abc import Iterable

__all__ = ["HEAD_OVERHEAD", "headers_size", "request_size", "response_size", "message_size",
           "dropped_content_length", "HTX_RESERVED", "BLOCK", "head_blocks", "request_room", "header_need",
           "header_fits", "room_floor", "response_room"]

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
# header set-header or del-header removed gives back its data but not its block. Limits: a body
# already in 2.6's buffer when the rules run is not counted (haproxy-py's rules run on the head);
# the rewrites of http-response rules on responses haproxy-py serves itself (cache,
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
    the HTX structure, the message's data and 8 bytes per block (``body``: the payload already
    there, one block; haproxy-py's rules run before any body is read, so 0 there)."""
    used = request_size(method, uri, version, headers) + BLOCK * head_blocks(headers)
    if body:
        used += body + BLOCK
    return bufsize - HTX_RESERVED - used


def response_room(bufsize: int, version: bytes, reason: bytes, headers: list[tuple[bytes, bytes]],
                  body: int = 0) -> int:
    """request_room for a response head (its rules run before any body is added to haproxy-py's
    picture: ``body`` 0 there)."""
    used = response_size(version, reason, headers) + BLOCK * head_blocks(headers)
    if body:
        used += body + BLOCK
    return bufsize - HTX_RESERVED - used


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
