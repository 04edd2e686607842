"""HAProxy 2.6's built-in error responses, byte for byte (FACTS 5.4/5.5, samples/error_pages).

Two serialisations exist in 2.6:

* :func:`mux_error` - written by the HTTP/1 layer itself (400 on a parse error, 408 on a request
  timeout, 422 for an unsupported transfer-coding, 413): capitalised header names; 400 and 408
  carry ``Connection: close`` and the connection is closed.  Logged with 0 bytes.
* :func:`stream_error` - written through the stream (403 deny, 5xx, deny_status, ...): lower-case
  names, no connection header, the client connection stays usable.  Logged with the full size.
  When the connection closes after it, :func:`with_close` adds 2.6's ``connection: close``.

``errorfile`` overrides replace the whole response with the raw file content (loaded once at
configuration time by :func:`load_errorfile`, which raises :class:`ErrorFileError` when the file
is missing or does not start with a valid HTTP status line).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "REASONS",
    "TEXTS",
    "ErrorFileError",
    "ErrorPages",
    "error_body",
    "load_errorfile",
    "log_bytes",
    "mux_error",
    "stream_error",
    "with_close",
]

#: status -> reason phrase used by HAProxy 2.6 on its own pages (407 is "Unauthorized", sic)
REASONS: dict[int, bytes] = {
    200: b"OK",
    400: b"Bad request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    407: b"Unauthorized",
    408: b"Request Time-out",
    410: b"Gone",
    413: b"Payload Too Large",
    422: b"Unprocessable Content",
    425: b"Too Early",
    429: b"Too Many Requests",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
    504: b"Gateway Time-out",
}

#: status -> the sentence inside the page
TEXTS: dict[int, bytes] = {
    200: b"Service ready.",
    400: b"Your browser sent an invalid request.",
    401: b"You need a valid user and password to access this content.",
    403: b"Request forbidden by administrative rules.",
    404: b"The resource could not be found.",
    405: b"A request was made of a resource using a request method not supported by that resource",
    407: b"You need a valid user and password to access this content.",
    408: b"Your browser didn't send a complete request in time.",
    410: b"The resource is no longer available and will not be available again.",
    413: b"The request entity exceeds the maximum allowed.",
    422: b"The server cannot process the contained instructions.",
    425: b"Your browser sent early data.",
    429: b"You have sent too many requests in a given amount of time.",
    500: b"An internal server error occurred.",
    501: b".The server does not support the functionality required to fulfill the request.",
    502: b"The server returned an invalid or incomplete response.",
    503: b"No server is available to handle this request.",
    504: b"The server didn't respond in time.",
}


def _known(status: int) -> int:
    """Statuses without a page of their own use the 500 page (as HAProxy does)."""
    return status if status in REASONS else 500


def error_body(status: int) -> bytes:
    s = _known(status)
    return b"<html><body><h1>%d %s</h1>\n%s\n</body></html>\n" % (s, REASONS[s], TEXTS[s])


def _build_stream(status: int, extra: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    s = _known(status)
    body = error_body(s)
    head = b"HTTP/1.1 %d %s\r\ncontent-length: %d\r\ncache-control: no-cache\r\n" % (s, REASONS[s], len(body))
    head += b"content-type: text/html\r\n"
    for name, value in extra:
        head += name + b": " + value + b"\r\n"
    return head + b"\r\n" + body


def _build_mux(status: int) -> bytes:
    s = _known(status)
    body = error_body(s)
    conn = b"Connection: close\r\n" if s in (400, 408) else b""
    return (
        b"HTTP/1.1 %d %s\r\nContent-length: %d\r\nCache-Control: no-cache\r\n%sContent-Type: text/html\r\n\r\n"
        % (s, REASONS[s], len(body), conn)
        + body
    )


_STREAM: dict[int, bytes] = {code: _build_stream(code) for code in REASONS}
_MUX: dict[int, bytes] = {code: _build_mux(code) for code in (400, 408, 413, 422)}


def stream_error(status: int, realm: str | None = None) -> bytes:
    """The stream-style page for ``status``; for 401/407 with ``realm`` the challenge header is added
    (``www-authenticate`` for 401, ``proxy-authenticate`` for 407)."""
    if realm is not None and status in (401, 407):
        hdr = b"www-authenticate" if status == 401 else b"proxy-authenticate"
        return _build_stream(status, ((hdr, b'Basic realm="' + realm.encode("latin1") + b'"'),))
    page = _STREAM.get(status)
    return page if page is not None else _build_stream(status)


def with_close(page: bytes, token: bytes = b"close") -> bytes:
    """``page`` as 2.6's HTTP/1 layer sends a stream response on a connection it is closing:
    ``connection: close`` after the other headers (``token`` ``keep-alive``: what it adds for an
    HTTP/1.0 client that keeps the connection). A page with a connection header already (an
    ``errorfile``) is kept as is."""
    p = page.find(b"\r\n\r\n")
    if p < 0:
        return page
    head = page[:p].lower()
    if b"\nconnection:" in head:
        return page
    return page[:p] + b"\r\nconnection: " + token + page[p:]


def mux_error(status: int) -> bytes:
    """The HTTP/1-layer page (400, 408 close the connection; 413 and 422 as HAProxy writes them)."""
    page = _MUX.get(status)
    return page if page is not None else _build_mux(status)


class ErrorFileError(ValueError):
    """An ``errorfile`` that cannot be used (message says why, like HAProxy's config error)."""


def load_errorfile(status: int, path: str) -> bytes:
    """Read an ``errorfile`` once; its content is sent as-is. Raises :class:`ErrorFileError`."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ErrorFileError(f"error opening file '{path}' for custom error message {status}: {e.strerror}.") from e
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    parts = first.split(b" ", 2)
    if (
        len(parts) < 2
        or parts[0] not in (b"HTTP/1.0", b"HTTP/1.1")
        or len(parts[1]) != 3
        or not parts[1].isdigit()
        or (b"\r\n\r\n" not in data and b"\n\n" not in data)
    ):
        raise ErrorFileError(f"Unable to parse the error message contained in file '{path}'.")
    return data


class ErrorPages:
    """Per-proxy pages: the built-in ones unless an ``errorfile`` overrides a status.

    ``response(status)`` returns the bytes to send; ``log_bytes(status, sent)`` what the log shows.
    """

    __slots__ = ("overrides",)

    def __init__(self, errorfiles: tuple[tuple[int, Any], ...] = ()) -> None:
        #: a page given as bytes is used as it is (errorloc, http-error), a path is read once,
        #: None is no page of this proxy's own (http-error ... default-errorfiles: as 2.6, a
        #: backend's then falls back to its frontend's page, then to the built-in one)
        #: a page that is a callable (actions/lf.py LfPage: http-error with log-format parts) is
        #: built per reply from ``txn``, the transaction's samples context
        self.overrides: dict[int, Any] = {
            code: load_errorfile(code, src) if isinstance(src, str) else src
            for code, src in errorfiles if src is not None}

    def response(self, status: int, realm: str | None = None, txn: Any = None) -> bytes:
        page = self.overrides.get(status)
        if page is not None:
            return page if isinstance(page, bytes) else page(txn)
        return stream_error(status, realm)

    @staticmethod
    def log_bytes(page: bytes, mux: bool = False) -> int:
        """See :func:`log_bytes`."""
        return log_bytes(page, mux)


def log_bytes(page: bytes, mux: bool = False) -> int:
    """Bytes HAProxy 2.6 logs for a page it generated: 0 for the mux-emitted ones (400/408),
    else the response size + 3 (every stream page of samples/error_pages/log.txt logs 3 bytes
    more than its .http file: 503 -> 217 for 214 bytes, 403 -> 192 for 189)."""
    return 0 if mux else len(page) + 3


def as_captured(buf: bytes, upto: int) -> bytes:
    """A head's bytes as 2.6's ``show errors`` shows them: its HTTP/1 parser turns the line ends
    of obsolete folds into spaces in place as it reads them, up to where it stopped (``upto``)."""
    head = buf[:upto]
    if b"\n " not in head and b"\n\t" not in head:
        return buf
    from .parse import _unfold

    return _unfold(head) + buf[upto:]
