"""HTTP/1.x message heads (sans-IO).

Representation choices (the contract for the rest of the code):

* Everything is ``bytes``: ``method``, ``uri``, ``version``, header names and values, ``reason``.
  Bytes are what travels on the wire and avoid a decode/encode per request.
* ``version`` is the version as it will be forwarded: ``b"HTTP/1.1"`` for every 1.1-or-later
  request line (``HTTP/1.2`` and ``HTTP/2.0`` are forwarded as 1.1 like HAProxy 2.6), otherwise
  as received (``b"HTTP/1.0"``, ``b"HTTP/0.9"``).  ``http11`` tells which one it is.
* ``headers`` is a plain ``list`` of ``(name, value)`` tuples in received order.  Names keep the
  case they were received with (deliberately unlike HAProxy 2.6, which lower-cases them); every
  lookup helper compares names case-insensitively.  Values have their surrounding blanks removed.
* Framing facts are computed by the parser and kept on the head: ``body`` (one of the
  ``BODY_*`` constants), ``content_length`` (``-1`` when not applicable), ``keep_alive`` (what
  the sender of this message asked for), ``upgrade`` (the Upgrade header value when the
  Connection header carries the ``upgrade`` token, else ``None``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = [
    "BODY_NONE",
    "BODY_LENGTH",
    "BODY_CHUNKED",
    "BODY_CLOSE",
    "Headers",
    "RequestHead",
    "ResponseHead",
    "split_comma",
]

#: no body at all (GET without length, 204/304/1xx responses, responses to HEAD)
BODY_NONE = 0
#: ``content-length`` framed body
BODY_LENGTH = 1
#: ``transfer-encoding: chunked`` body
BODY_CHUNKED = 2
#: body delimited by the connection close (responses only)
BODY_CLOSE = 3

#: ``_COLON_SP_JOIN((name, value))`` is the header line ``name: value`` (a C call, for map())
_COLON_SP_JOIN = b": ".join


def split_comma(value: bytes) -> list[bytes]:
    """Split a header value on commas, trimming blanks; empty elements are dropped."""
    if b"," not in value:
        v = value.strip(b" \t")
        return [v] if v else []
    out = []
    for part in value.split(b","):
        part = part.strip(b" \t")
        if part:
            out.append(part)
    return out


class Headers:
    """Base of both heads: case-insensitive helpers over ``self.headers`` (list of (name, value))."""

    # the framing facts both heads carry live here, so that the helpers below may set them
    __slots__ = (
        "version",
        "http11",
        "headers",
        "body",
        "content_length",
        "keep_alive",
        "conn_close",
        "conn_keep_alive",
        "upgrade",
        "head_len",
        "htx_len",
    )
    headers: list[tuple[bytes, bytes]]

    def get(self, name: bytes, default: bytes | None = None) -> bytes | None:
        """Value of the first header called ``name`` (any case), or ``default``."""
        key = name.lower()
        for n, v in self.headers:
            if n.lower() == key:
                return v
        return default

    def get_last(self, name: bytes, default: bytes | None = None) -> bytes | None:
        key = name.lower()
        for n, v in reversed(self.headers):
            if n.lower() == key:
                return v
        return default

    def get_all(self, name: bytes) -> list[bytes]:
        """Every full value of ``name`` in order (one entry per header line)."""
        key = name.lower()
        return [v for n, v in self.headers if n.lower() == key]

    def values(self, name: bytes) -> list[bytes]:
        """Every comma-separated element of every ``name`` header, in order (like ``hdr()``)."""
        key = name.lower()
        out: list[bytes] = []
        for n, v in self.headers:
            if n.lower() == key:
                out.extend(split_comma(v))
        return out

    def has(self, name: bytes) -> bool:
        key = name.lower()
        for n, _ in self.headers:
            if n.lower() == key:
                return True
        return False

    def count(self, name: bytes) -> int:
        """Number of header lines called ``name``."""
        key = name.lower()
        return sum(1 for n, _ in self.headers if n.lower() == key)

    def remove(self, name: bytes) -> int:
        """Remove every header called ``name``; returns how many were removed."""
        key = name.lower()
        before = len(self.headers)
        self.headers = [h for h in self.headers if h[0].lower() != key]
        return before - len(self.headers)

    def add(self, name: bytes, value: bytes) -> None:
        """Append a header at the end (HAProxy appends what it adds)."""
        self.headers.append((name, value))

    def set(self, name: bytes, value: bytes) -> None:
        """Replace every ``name`` header by one with ``value`` at the place of the first one."""
        key = name.lower()
        out: list[tuple[bytes, bytes]] = []
        done = False
        for h in self.headers:
            if h[0].lower() == key:
                if not done:
                    out.append((h[0], value))
                    done = True
            else:
                out.append(h)
        if not done:
            out.append((name, value))
        self.headers = out

    def _init_head(self, version: bytes, headers: Iterable[tuple[bytes, bytes]] | None) -> None:
        """What requests and responses share: version, headers and the framing facts."""
        self.version = version
        self.http11 = version == b"HTTP/1.1"
        self.headers = list(headers) if headers is not None else []
        self.body = BODY_NONE
        self.content_length = -1
        #: the sender wants the connection kept alive after this exchange
        self.keep_alive = self.http11
        #: the Connection header carried a ``close`` / ``keep-alive`` token
        self.conn_close = False
        self.conn_keep_alive = False
        self.upgrade: bytes | None = None
        #: raw size of the head on the wire (start line to the empty line), 0 when built
        self.head_len = 0
        #: the head's size as 2.6 counts it (http/htx.py), set by the parser for the head as
        #: parsed (-1 when built); stale once anything changes the head
        self.htx_len = -1

    def iter_names(self) -> Iterator[bytes]:
        for n, _ in self.headers:
            yield n

    def headers_bytes(self) -> bytes:
        """The header block: ``Name: value\\r\\n`` lines followed by the empty line."""
        if not self.headers:
            return b"\r\n"
        # every line made and joined in C: ``b": ".join((name, value))`` is ``name + b": " + value``
        return b"\r\n".join(map(_COLON_SP_JOIN, self.headers)) + b"\r\n\r\n"


class RequestHead(Headers):
    """A parsed (or built) HTTP/1.x request head."""

    __slots__ = ("method", "uri")

    def __init__(
        self,
        method: bytes,
        uri: bytes,
        version: bytes = b"HTTP/1.1",
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.method = method
        self.uri = uri
        self._init_head(version, headers)

    # --- URI pieces (what the ``path``/``query`` sample fetches see)
    @property
    def path(self) -> bytes:
        """The path part of the URI: no query string; for an absolute URI only the path."""
        return uri_path(self.uri)

    @property
    def query(self) -> bytes | None:
        q = self.uri.find(b"?")
        return None if q < 0 else self.uri[q + 1 :]

    def copy(self) -> RequestHead:
        """A head that can be changed without touching this one (a memoised head is shared,
        http/memo.py): every fact copied, a header list of its own (its (name, value) tuples are
        immutable, so they are shared)."""
        # built through the constructor, not ``RequestHead.__new__``: a class compiled by mypyc (the
        # accelerator, build_zipapp.py) runs ``__init__`` from ``__new__``
        r = RequestHead(self.method, self.uri, self.version)
        r.http11 = self.http11
        r.headers = list(self.headers)
        r.body = self.body
        r.content_length = self.content_length
        r.keep_alive = self.keep_alive
        r.conn_close = self.conn_close
        r.conn_keep_alive = self.conn_keep_alive
        r.upgrade = self.upgrade
        r.head_len = self.head_len
        r.htx_len = self.htx_len
        return r

    def start_line(self) -> bytes:
        return self.method + b" " + self.uri + b" " + self.version

    def to_bytes(self) -> bytes:
        """Request line + headers + empty line, ready to send."""
        return self.method + b" " + self.uri + b" " + self.version + b"\r\n" + self.headers_bytes()

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<RequestHead {self.method!r} {self.uri!r} {self.version!r} {len(self.headers)} headers>"


class ResponseHead(Headers):
    """A parsed (or built) HTTP/1.x response head."""

    __slots__ = ("status", "reason", "code")

    def __init__(
        self,
        status: int,
        reason: bytes = b"",
        version: bytes = b"HTTP/1.1",
        headers: Iterable[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        #: the status code's digits as the server wrote them when they are not ``%d`` of
        #: ``status`` (``0204``, ``65736``: 2.6 forwards them so), else None; whoever sets
        #: ``status`` sets it back to None
        self.code: bytes | None = None
        self._init_head(version, headers)

    def status_line(self) -> bytes:
        """The server's version toward the client, as 2.6 (``HTTP/1.0`` stays, anything 1.1 or
        later is ``HTTP/1.1``), code and reason kept verbatim."""
        if self.code is not None:
            return b"%s %s %s" % (self.version, self.code, self.reason)
        return b"%s %d %s" % (self.version, self.status, self.reason)

    def to_bytes(self) -> bytes:
        if self.code is not None:
            return b"%s %s %s\r\n" % (self.version, self.code, self.reason) + self.headers_bytes()
        return b"%s %d %s\r\n" % (self.version, self.status, self.reason) + self.headers_bytes()

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<ResponseHead {self.status} {self.reason!r} {len(self.headers)} headers>"


def uri_path(uri: bytes) -> bytes:
    """Path of a request URI (origin-form or absolute-form), without the query string.

    ``*`` and authority-form have no path (empty result).
    """
    if uri[:1] != b"/":
        s = uri.find(b"://")
        if s < 0:
            return b""
        p = uri.find(b"/", s + 3)
        if p < 0:
            return b""
        uri = uri[p:]
    q = uri.find(b"?")
    return uri if q < 0 else uri[:q]
