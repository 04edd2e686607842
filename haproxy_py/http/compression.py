"""HTTP response compression as HAProxy 2.6's compression filter does it (sans-IO, stdlib zlib).

``compression algo|type|offload`` (config/build/compression.py) give a proxy a ``CompConf``
(config/model.py).
2.6 takes the backend's algorithms when it has some, else the frontend's (the same for the types;
``offload`` from either), and decides in two steps:

* **on the request** (:func:`select_algo`): none for an old ``Mozilla/4`` user agent (MSIE 6 with SV1 and MSIE 7+ excepted); else every
  ``Accept-Encoding`` element, in order, with its ``q`` (2.6's qvalue reading: three decimals at
  most, a value it cannot read counts 1, ``q=0`` refuses), picks the first configured algorithm
  whose name it is (``*``: the first algorithm) when its q is above the best so far. The
  algorithms are tried in 2.6's list order, the last one written first. When none matched,
  ``identity`` if configured. With ``compression offload`` an algorithm that an element named
  (not the ``identity`` fallback) removes every ``Accept-Encoding`` header before the request
  goes to the server, an HTTP/1.0 request's too;
* **on the response head, as the server sent it** (:func:`compress_response`): not for HTTP/1.0
  on either side, HEAD, a status other than 200-203, a body of unknown length (close-delimited)
  or none (``Content-Length: 0``), an existing ``Content-Encoding``, ``Cache-Control:
  no-transform``, an invalid or repeated ``ETag``, a ``multipart`` type, a type not listed in
  ``compression type`` (no ``Content-Type`` while types are listed). The response rules run
  after that decision (``res.comp``, ``res.comp_algo``), then :func:`rewrite_head` changes the
  head: ``Content-Length`` removed, ``Transfer-Encoding: chunked`` added when not chunked, a
  strong ``ETag`` made weak, ``Vary: Accept-Encoding`` and ``Content-Encoding`` appended
  (``identity`` adds no ``Content-Encoding`` and sends the body as it is).

The body is streamed: :class:`Compressor` turns each piece of payload into chunks as it comes
(``Z_SYNC_FLUSH`` after each piece but the last, so a slow stream reaches the client as it is
produced; a body read at once is one deflate stream as 2.6 writes it) with
zlib's state as the only memory, at ``tune.comp.maxlevel`` (1 by default), lowered while the
limits are exceeded as 2.6 does (see :class:`Compressor`), window 15, memLevel 8. A chunked server body is read by :class:`ChunkedPayload` from what
``http/body.py``'s ``ChunkedBody`` re-framed; its trailers follow the last chunk.
"""

from __future__ import annotations

import zlib
from typing import Any

from .message import BODY_CHUNKED, BODY_LENGTH, RequestHead, ResponseHead

__all__ = ["ALGOS", "Compressor", "ChunkedPayload", "select_algo", "compress_response",
           "rewrite_head", "effective"]

#: configuration name -> the name in Accept-Encoding / Content-Encoding
ALGOS = {"identity": b"identity", "deflate": b"deflate", "raw-deflate": b"deflate", "gzip": b"gzip"}
_WBITS = {"deflate": 15, "raw-deflate": -15, "gzip": 31}
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def effective(fe: Any, be: Any) -> tuple[tuple[str, ...], tuple[bytes, ...], bool] | None:
    """The algorithms, types and offload a stream through ``fe`` and ``be`` (their
    ``config.model.CompConf`` or None) uses (2.6: the backend's when it has them, else the
    frontend's); None when no algorithm applies."""
    algos = be.algos if be is not None and be.algos else (fe.algos if fe is not None else ())
    if not algos:
        return None
    types = be.types if be is not None and be.types else (fe.types if fe is not None else ())
    offload = (be is not None and be.offload) or (fe is not None and fe.offload)
    return algos, types, offload


def _qvalue(v: bytes) -> int:
    """2.6's http_parse_qvalue, in thousandths: a digit, then '.' and up to three digits."""
    if not v[:1].isdigit():
        return 1000
    q = (v[0] - 48) * 1000
    if v[1:2] == b".":
        mul = 100
        for c in v[2:5]:
            if not 48 <= c <= 57:
                break
            q += (c - 48) * mul
            mul //= 10
    return min(q, 1000)


def _old_agent(ua: bytes) -> bool:
    """2.6 refuses to compress for ``Mozilla/4`` agents except MSIE 6 with SV1 and MSIE 7+."""
    if len(ua) < 9 or ua[:9] != b"Mozilla/4":
        return False
    if len(ua) < 31 or ua[25:30] != b"MSIE ":
        return True
    v = ua[30]
    if v < 0x36:
        return True
    return v == 0x36 and (len(ua) < 54 or ua[51:54] != b"SV1")


def select_algo(req: RequestHead, algos: tuple[str, ...], offload: bool) -> str | None:
    """The algorithm for this request's response (or None), removing ``Accept-Encoding`` when
    ``offload`` and one was chosen."""
    ua = req.get(b"user-agent")
    if ua is not None and _old_agent(ua):
        return None
    best_q = 0
    chosen = None
    for v in req.values(b"accept-encoding"):
        n = len(v)
        tl = 0
        while tl < n and v[tl] in _TOKEN:
            tl += 1
        q = 1000
        i = tl
        while True:  # the first ';q=' parameter, if any
            while i < n and v[i] in b" \t":
                i += 1
            if i >= n or v[i] != 0x3B:
                break
            i += 1
            while i < n and v[i] in b" \t":
                i += 1
            if i >= n:
                break
            if v[i:i + 2] == b"q=" or (n - i == 1 and v[i] == 0x71):
                q = _qvalue(v[i + 2:])
                break
            while i < n and v[i] != 0x3B:
                i += 1
        if q <= best_q:
            continue
        tok = v[:tl].lower()
        for a in algos:
            if v[:1] == b"*" or tok == ALGOS[a]:
                chosen = a
                best_q = q
                break
    if chosen is None and "identity" in algos:
        return "identity"
    if chosen is not None and offload:
        req.remove(b"accept-encoding")
    return chosen


def _etag_kind(v: bytes) -> int:
    """2.6's http_get_etag_type: 0 invalid, 1 strong, 2 weak."""
    if len(v) < 2 or v[-1:] != b'"':
        return 0
    if v[:1] == b'"':
        return 1
    if len(v) > 3 and v[:3] == b'W/"':
        return 2
    return 0


def compress_response(req: RequestHead, resp: ResponseHead, types: tuple[bytes, ...]) -> bool:
    """Whether 2.6 compresses this response (its head as the server sent it)."""
    if not resp.http11 or not req.http11 or req.method == b"HEAD":
        return False
    if not 200 <= resp.status <= 203:
        return False
    body = resp.body
    if body == BODY_LENGTH:
        if resp.content_length <= 0:
            return False
    elif body != BODY_CHUNKED:
        return False
    etags = 0
    ctype = None
    for n, v in resp.headers:
        k = n.lower()
        if k == b"content-encoding":
            return False
        if k == b"cache-control":
            for el in v.split(b","):
                if el.strip(b" \t").lower() == b"no-transform":
                    return False
        elif k == b"etag":
            etags += 1
            if etags > 1 or not _etag_kind(v):
                return False
        elif k == b"content-type" and ctype is None:
            ctype = v
    if ctype is not None:
        low = ctype.lower()
        if low[:9] == b"multipart":
            return False
        if types and not any(low.startswith(t) for t in types):
            return False
    elif types:
        return False
    return True


def rewrite_head(resp: ResponseHead, algo: str) -> None:
    """The head changes of a compressed response (after the response rules, as 2.6)."""
    hdrs = [h for h in resp.headers if h[0].lower() != b"content-length"]
    if resp.body != BODY_CHUNKED:
        hdrs.append((b"transfer-encoding", b"chunked"))
        resp.body = BODY_CHUNKED
        resp.content_length = -1
    for i, (n, v) in enumerate(hdrs):
        if n.lower() == b"etag":
            if v[:1] == b'"':
                hdrs[i] = (n, b"W/" + v)
            break
    hdrs.append((b"vary", b"Accept-Encoding"))
    if algo != "identity":
        hdrs.append((b"content-encoding", ALGOS[algo]))
    resp.headers = hdrs


def _gzip_head(level: int) -> bytes:
    """The gzip header zlib writes (mtime 0, XFL from the level, OS unix)."""
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + (b"\x02" if level == 9 else b"\x04" if level < 2 else b"\x00") + b"\x03"


def _zlib_head(level: int) -> bytes:
    """The zlib header zlib writes for a 32 KiB window (FLEVEL from the level)."""
    flags = 0 if level < 2 else 1 if level < 6 else 2 if level == 6 else 3
    h = (0x78 << 8) | (flags << 6)
    h += 31 - h % 31
    return h.to_bytes(2, "big")


class Compressor:
    """Payload in, chunked body out; zlib's state is all it keeps.

    The deflate data is zlib's raw stream, with the gzip or zlib header and trailer written here
    (as zlib writes them), so that the level can change between two flushes as 2.6's does
    (deflateParams): it starts at ``tune.comp.maxlevel``; after each flushed piece, when the
    engine says the limits are exceeded (``maxcomprate`` on the compressor's output of the last
    second, ``maxcompcpuusage``) it goes down by one (0 stores the data as it is), else back up
    by one to the maximum. A new level is a new raw compressor after the sync flush: a valid
    continuation of the same stream."""

    __slots__ = ("z", "algo", "level", "max_level", "check", "size_in", "size_out", "started")

    def __init__(self, algo: str, max_level: int = 1) -> None:
        self.algo = algo
        self.level = self.max_level = max_level
        wbits = _WBITS.get(algo)
        self.z = zlib.compressobj(max_level, zlib.DEFLATED, -15, 8) if wbits is not None else None
        self.check = 0 if algo == "gzip" else 1  # crc32 / adler32 of what went in
        self.size_in = 0
        self.size_out = 0
        self.started = False

    def _head(self) -> bytes:
        self.started = True
        algo = self.algo
        return _gzip_head(self.level) if algo == "gzip" else _zlib_head(self.level) if algo == "deflate" else b""

    def feed(self, data: bytes, flush: bool = True, over: bool = False) -> bytes:
        """The chunk(s) for ``data`` (empty when zlib holds everything back); ``flush``: what
        zlib holds goes out now (not when :meth:`finish` comes next); ``over``: the limits are
        exceeded (the level of what follows a flush goes down, else back up)."""
        if not data:
            return b""
        self.size_in += len(data)
        z = self.z
        if z is None:
            out = data
        else:
            algo = self.algo
            if algo == "gzip":
                self.check = zlib.crc32(data, self.check)
            elif algo == "deflate":
                self.check = zlib.adler32(data, self.check)
            out = z.compress(data)
            if not self.started:
                out = self._head() + out
            if flush:
                out += z.flush(zlib.Z_SYNC_FLUSH)
                lvl = self.level
                new = (lvl - 1 if lvl > 0 else 0) if over else (lvl + 1 if lvl < self.max_level else lvl)
                if new != lvl:
                    self.level = new
                    self.z = zlib.compressobj(new, zlib.DEFLATED, -15, 8)
        if not out:
            return b""
        self.size_out += len(out)
        return b"%X\r\n" % len(out) + out + b"\r\n"

    def finish(self, trailers: bytes = b"\r\n") -> bytes:
        """The end of the stream, the last chunk and ``trailers`` (their lines and the empty one)."""
        z = self.z
        tail = b""
        if z is not None:
            tail = z.flush(zlib.Z_FINISH)
            if not self.started:
                tail = self._head() + tail
            if self.algo == "gzip":
                tail += (self.check & 0xFFFFFFFF).to_bytes(4, "little") + (self.size_in & 0xFFFFFFFF).to_bytes(4, "little")
            elif self.algo == "deflate":
                tail += (self.check & 0xFFFFFFFF).to_bytes(4, "big")
        self.z = None
        out = b"0\r\n" + trailers
        if tail:
            self.size_out += len(tail)
            out = b"%X\r\n" % len(tail) + tail + b"\r\n" + out
        return out


class ChunkedPayload:
    """Reads the payload back from ``ChunkedBody``'s re-framed output (``SIZE CRLF data CRLF``
    ... ``0 CRLF`` trailer lines ``CRLF``, cut anywhere): returns data bytes, keeps the trailer
    block (its lines and the final empty line) in ``trailers`` once the last chunk came."""

    __slots__ = ("left", "buf", "in_trailers", "trailers")

    def __init__(self) -> None:
        self.left = 0  # data bytes left in the current chunk, -2: its CRLF
        self.buf = b""
        self.in_trailers = False
        self.trailers = b""

    def feed(self, framed: bytes) -> bytes:
        if self.in_trailers:
            self.trailers += framed
            return b""
        data = self.buf + framed if self.buf else framed
        self.buf = b""
        out = []
        i, n = 0, len(data)
        while i < n:
            left = self.left
            if left > 0:
                take = min(left, n - i)
                out.append(data[i:i + take])
                i += take
                self.left = left - take or -2
                continue
            if left == -2:
                if n - i < 2:
                    self.buf = data[i:]
                    break
                i += 2
                self.left = 0
                continue
            j = data.find(b"\r\n", i)
            if j < 0:
                self.buf = data[i:]
                break
            size = int(data[i:j], 16)
            i = j + 2
            if size == 0:
                self.in_trailers = True
                self.trailers = data[i:]
                break
            self.left = size
        return b"".join(out)
