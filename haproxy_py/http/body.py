"""Incremental HTTP/1 body framing for forwarding (sans-IO).

Every reader has ``feed(data) -> (out, done)``: ``out`` is what to forward now, ``done`` tells
that the message body is complete; bytes after the end (a pipelined request) are kept in
``leftover``.  Invalid framing raises :class:`BodyError` (answer 400 for a request, 502 for a
response).  ``eof()`` is called when the peer closed: it completes a close-delimited body and
raises for the others (truncated body).

Chunked bodies are validated and **re-framed**: every chunk size line is re-written as upper-case
hex without extensions (as HAProxy 2.6 writes it; it drops chunk extensions), chunk data is
streamed as it arrives (a chunk need not be complete to be forwarded), the last-chunk and the
trailers are forwarded with their header names as received (we keep case), each trailer line
re-written ``name: value`` and terminated by CRLF.

Validation is byte by byte, as 2.6's: a partial line is checked as far as it goes, so ``0x``,
``+5``, `` 5``, ``5\r\r``, a byte other than CR/LF after the chunk data or an invalid trailer
name fail as soon as the offending byte is there, not when its line ends.  A chunk size has at
most 13 significant hex digits (2.6 refuses 2^52 and more; leading zeros are free), optionally
followed by blanks and a ``;`` extension (any bytes but CR and LF); a line ends with CRLF or a
bare LF.  :func:`check_chunked` runs these checks over the body bytes that came with a request
head, so that a request already known to be invalid never reaches a server.
"""

from __future__ import annotations

import re

from .message import BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH

__all__ = ["BodyError", "ContentLengthBody", "ChunkedBody", "CloseBody", "NoBody", "body_reader", "check_chunked"]

_SIZE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?")
# what a size line may look like before its LF arrived (the CR may already be there)
_SIZE_PART = re.compile(rb"(?:([0-9A-Fa-f]+)(?:[ \t]*(?:;[^\r\n]*)?\r?)?)?")
_TRAILER = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z\-]+:[^\x00-\x08\x0a-\x1f\x7f]*")
_TRAILER_NAME_PART = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z\-]*")
_MAX_LINE = 4096
#: 2.6 refuses a chunk size of 2^52 or more (13 significant hex digits at most)
_MAX_CHUNK = 1 << 52


class BodyError(Exception):
    """Invalid body framing; ``pos`` counts bytes from the start of the body."""

    __slots__ = ("pos", "reason", "window", "at")

    def __init__(self, pos: int, reason: str) -> None:
        super().__init__(f"at body byte {pos}: {reason}")
        self.pos = pos
        self.reason = reason
        #: raised by a decoder's feed(): the bytes it held when it failed (what it kept of the
        #: previous feed, then the new ones: 2.6's input buffer) and the error's index in them
        self.window = b""
        self.at = -1


class NoBody:
    __slots__ = ("leftover", "done")

    def __init__(self) -> None:
        self.leftover = b""
        self.done = True

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        self.leftover += data
        return b"", True

    def eof(self) -> bytes:
        return b""

    def htx(self, out: bytes) -> int:
        """The bytes 2.6 counts for ``out``, what ``feed``/``eof`` just returned (http/htx.py)."""
        return 0


class ContentLengthBody:
    __slots__ = ("remaining", "leftover", "done", "total")

    def __init__(self, length: int) -> None:
        self.remaining = length
        self.total = 0
        self.leftover = b""
        self.done = length == 0

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        if self.done:
            self.leftover += data
            return b"", True
        r = self.remaining
        if len(data) < r:
            self.remaining = r - len(data)
            self.total += len(data)
            return data, False
        self.remaining = 0
        self.total += r
        self.done = True
        if len(data) > r:
            self.leftover += data[r:]
            return data[:r], True
        return data, True

    def eof(self) -> bytes:
        if not self.done:
            raise BodyError(self.total, "connection closed before the end of the body")
        return b""

    def htx(self, out: bytes) -> int:
        return len(out)


class CloseBody:
    """A response body that ends when the server closes (no length, not chunked)."""

    __slots__ = ("leftover", "done", "total")

    def __init__(self) -> None:
        self.leftover = b""
        self.done = False
        self.total = 0

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        self.total += len(data)
        return data, False

    def eof(self) -> bytes:
        self.done = True
        return b""

    def htx(self, out: bytes) -> int:
        return len(out)


# chunked states
_S_SIZE, _S_DATA, _S_DATA_END, _S_TRAILERS, _S_DONE = range(5)


class ChunkedBody:
    """Validating, re-framing chunked decoder/encoder."""

    __slots__ = ("state", "remaining", "buf", "leftover", "done", "pos", "payload", "trailers", "counted")

    def __init__(self) -> None:
        self.state = _S_SIZE
        self.remaining = 0
        self.buf = b""  # partial line (size line, CRLF after data, trailer line)
        self.leftover = b""
        self.done = False
        self.pos = 0  # body bytes consumed so far (error positions)
        self.payload = 0  # decoded payload bytes
        #: trailer lines seen (name, value), as received
        self.trailers: list[tuple[bytes, bytes]] = []
        self.counted = 0  # what htx() reported so far

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        if self.done:
            self.leftover += data
            return b"", True
        out: list[bytes] = []
        if self.buf:  # a partial line kept from the last bytes (not counted in pos)
            data = self.buf + data
            self.buf = b""
        i = 0
        n = len(data)
        try:
            while i < n:
                st = self.state
                if st == _S_DATA:
                    take = min(self.remaining, n - i)
                    out.append(data[i : i + take])
                    i += take
                    self.remaining -= take
                    self.payload += take
                    if self.remaining == 0:
                        self.state = _S_DATA_END
                    continue
                # line-oriented states
                j = data.find(b"\n", i)
                if j < 0:
                    if n - i > _MAX_LINE:
                        raise BodyError(self.pos + i, "chunk line too long")
                    part = data[i:]
                    _check_partial(st, part, self.pos + i)
                    self.buf = part
                    break
                line = data[i:j]
                if line[-1:] == b"\r":
                    line = line[:-1]
                if st == _S_SIZE:
                    m = _SIZE.fullmatch(line)
                    if m is None:
                        raise BodyError(self.pos + i + _size_error_at(data[i:j]), "invalid chunk size")
                    size = int(m.group(1), 16)
                    if size >= _MAX_CHUNK:
                        raise BodyError(self.pos + i + _size_error_at(data[i:j]), "chunk size too large")
                    if size == 0:
                        out.append(b"0\r\n")
                        self.state = _S_TRAILERS
                    else:
                        out.append(b"%X\r\n" % size)
                        self.remaining = size
                        self.state = _S_DATA
                elif st == _S_DATA_END:
                    if line:
                        raise BodyError(self.pos + i + (data[i:i + 1] == b"\r"), "missing CRLF after chunk data")
                    out.append(b"\r\n")
                    self.state = _S_SIZE
                else:  # trailers
                    if not line:
                        out.append(b"\r\n")
                        self.state = _S_DONE
                        self.done = True
                        i = j + 1
                        if i < n:
                            self.leftover += data[i:]
                        self.pos += i
                        return b"".join(out), True
                    if _TRAILER.fullmatch(line) is None:
                        raise BodyError(self.pos + i, "invalid trailer line")
                    name, _, value = line.partition(b":")
                    value = value.strip(b" \t")
                    self.trailers.append((name, value))
                    out.append(name + b": " + value + b"\r\n")
                i = j + 1
        except BodyError as e:
            e.window, e.at = data, e.pos - self.pos
            raise
        self.pos += n if not self.buf else n - len(self.buf)
        return b"".join(out), False

    def eof(self) -> bytes:
        if not self.done:
            raise BodyError(self.pos, "connection closed inside a chunked body")
        return b""

    def htx(self, out: bytes) -> int:
        """The payload decoded since the last call, plus the trailers and 1 byte for their end
        once the body is complete (the chunk framing in ``out`` is not counted, as in 2.6)."""
        total = self.payload
        if self.trailers:
            total += sum(len(n) + len(v) for n, v in self.trailers)
        if self.done:
            total += 1
        n = total - self.counted
        self.counted = total
        return n


_HEX = frozenset(b"0123456789abcdefABCDEF")


def _size_error_at(raw: bytes) -> int:
    """The index, in an invalid chunk-size line (without its LF), of the byte where 2.6's parser
    gives up: the hex digit that makes the size reach 2^52, the first byte when there is no
    digit, the byte after a CR that no LF follows, else the first byte that is neither a blank
    after the digits nor an extension (';' to the end of the line)."""
    n = len(raw)
    i = size = 0
    while i < n and raw[i] in _HEX:
        size = (size << 4) | int(raw[i:i + 1], 16)
        if size >= _MAX_CHUNK:
            return i
        i += 1
    if i == 0:
        return 0
    while i < n and raw[i] in b" \t":
        i += 1
    if i < n and raw[i] == 0x3B:  # ';': an extension runs to the CR
        while i < n and raw[i] != 0x0D:
            i += 1
    if i < n and raw[i] == 0x0D:
        return i + 1
    return i


def _check_partial(state: int, part: bytes, pos: int) -> None:
    """Raise :class:`BodyError` if ``part``, the start of a line whose LF has not arrived yet,
    can no longer become a valid line in ``state``."""
    if state == _S_SIZE:
        m = _SIZE_PART.fullmatch(part)
        if m is None:
            raise BodyError(pos + _size_error_at(part), "invalid chunk size")
        digits = m.group(1)
        if digits is not None and len(digits) > 13 and int(digits, 16) >= _MAX_CHUNK:
            raise BodyError(pos + _size_error_at(part), "chunk size too large")
    elif state == _S_DATA_END:
        if part != b"\r":
            raise BodyError(pos + (part[:1] == b"\r"), "missing CRLF after chunk data")
    elif part[:1] == b"\r":  # trailers: only the empty line may start with CR
        if len(part) > 1:
            raise BodyError(pos, "invalid trailer line")
    else:
        name, colon, _ = part.partition(b":")
        if (colon and not name) or _TRAILER_NAME_PART.fullmatch(name) is None:
            raise BodyError(pos, "invalid trailer line")


def check_chunked(data: bytes) -> None:
    """Raise :class:`BodyError` when ``data``, the first bytes of a chunked body, is already
    invalid (what 2.6 finds in the bytes that came with the head, before any server is used)."""
    ChunkedBody().feed(data)


def body_reader(kind: int, content_length: int = -1) -> NoBody | ContentLengthBody | ChunkedBody | CloseBody:
    """The reader for a parsed head: ``body_reader(head.body, head.content_length)``."""
    if kind == BODY_LENGTH:
        return ContentLengthBody(content_length)
    if kind == BODY_CHUNKED:
        return ChunkedBody()
    if kind == BODY_CLOSE:
        return CloseBody()
    return NoBody()


def chunked_tail(framed: bytes) -> int:
    """What 2.6's HTX holds after the data of a chunked body once its last chunk came (1, plus
    each trailer's name and value), 0 before: the end of ``req.len`` in HTTP rules."""
    i, n = 0, len(framed)
    while i < n:
        j = framed.find(b"\r\n", i)
        if j < 0:
            return 0
        size = int(framed[i:j], 16)
        if size == 0:
            tail = 1
            k = j + 2
            while True:
                e = framed.find(b"\r\n", k)
                if e < 0 or e == k:
                    return tail
                name, _, value = framed[k:e].partition(b":")
                tail += len(name.strip()) + len(value.strip())
                k = e + 2
        i = j + 2 + size + 2
    return 0


def dechunk(framed: bytes) -> bytes:
    """The payload of chunked data as :class:`ChunkedBody` re-frames it (a whole or cut prefix
    of ``SIZE CRLF data CRLF ... 0 CRLF trailers CRLF``): the data bytes only."""
    out = []
    i, n = 0, len(framed)
    while i < n:
        j = framed.find(b"\r\n", i)
        if j < 0:
            break
        size = int(framed[i:j], 16)
        if size == 0:
            break
        out.append(framed[j + 2:j + 2 + size])
        i = j + 2 + size + 2
    return b"".join(out)
