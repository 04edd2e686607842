"""``capture request header``, ``capture response header`` and ``capture cookie``: what a
frontend copies from each transaction into its log line (``%hr``/``%hs``/``%hrl``/``%hsl``,
``%CC``/``%CS``, ``capture.req.hdr(N)``/``capture.res.hdr(N)``). Pure.

As 2.6 does it:
* header captures read the message as parsed (before any rule): for every header whose name
  matches a capture (case-insensitive), the value (leading and trailing blanks already gone)
  truncated to the capture's ``len`` replaces what an earlier occurrence put there, so the last
  occurrence wins; a header never seen leaves its slot empty (``None``). Slots keep the order of
  the ``capture`` lines;
* ``capture cookie NAME len N`` takes, in the request, the first cookie of any ``Cookie`` header
  whose text *starts with* NAME (2.6 compares the first ``len(NAME)`` bytes of the cookie, so
  ``capture cookie SID`` also captures ``SIDFOO=1``), as ``name=value`` truncated to N bytes; in
  the response, the first ``Set-Cookie`` header whose cookie starts with NAME, the same way.
  2.6 does this where it handles persistence cookies: after the http-request rules (a request
  that never reaches a backend captures none), and after the http-response rules.

The captured texts are ``str`` decoded as latin-1, the way ``LogRecord`` keeps wire text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

__all__ = ["CapturePlan"]

Header = tuple[bytes, bytes]


class CaptureLine(Protocol):
    """What a ``capture`` line says (``config.model.Capture``)."""

    @property
    def kind(self) -> str: ...  # "request header" | "response header" | "cookie"

    @property
    def name(self) -> str: ...

    @property
    def length(self) -> int: ...


def _header_caps(slots: Sequence[tuple[bytes, int]], headers: Iterable[Header]) -> list[str | None]:
    out: list[str | None] = [None] * len(slots)
    for name, value in headers:
        ln = name.lower()
        for i, (want, length) in enumerate(slots):
            if ln == want:
                out[i] = value[:length].decode("latin-1")
    return out


def _cookie_spans(value: bytes) -> Iterable[bytes]:
    """Each cookie of a ``Cookie`` header value, from its name to the end of its value (blanks
    around it removed)."""
    for part in value.split(b";"):
        part = part.strip(b" \t")
        if part:
            yield part


class CapturePlan:
    """A frontend's captures, compiled once from its model (``Proxy.captures``)."""

    __slots__ = ("req", "res", "cookie", "cookie_len")

    def __init__(self, req: Sequence[tuple[bytes, int]], res: Sequence[tuple[bytes, int]],
                 cookie: bytes | None, cookie_len: int) -> None:
        self.req = tuple(req)
        self.res = tuple(res)
        self.cookie = cookie
        self.cookie_len = cookie_len

    @classmethod
    def build(cls, captures: Iterable[CaptureLine]) -> CapturePlan | None:
        """From ``config.model.Capture`` objects (kind, name, length); None when there are none."""
        req: list[tuple[bytes, int]] = []
        res: list[tuple[bytes, int]] = []
        cookie: bytes | None = None
        cookie_len = 0
        for c in captures:
            kind = c.kind
            name = c.name.encode("latin-1")
            length = c.length
            if kind == "request header":
                req.append((name.lower(), length))
            elif kind == "response header":
                res.append((name.lower(), length))
            elif kind == "request slot":  # declare capture / http-request capture ... len: no header
                req.append((b"", length))
            elif kind == "response slot":
                res.append((b"", length))
            elif kind == "cookie":  # a later 'capture cookie' replaces the earlier one, as in 2.6
                cookie, cookie_len = name, length
        if not req and not res and cookie is None:
            return None
        return cls(req, res, cookie, cookie_len)

    def blank(self) -> tuple[list[str | None] | None, list[str | None] | None]:
        """Empty request and response slots for a new transaction (2.6 logs ``{}`` for a response
        that never came when response headers are captured)."""
        return ([None] * len(self.req) if self.req else None, [None] * len(self.res) if self.res else None)

    # --- headers (the message as parsed)
    def request_headers(self, headers: Iterable[Header]) -> list[str | None] | None:
        """The request slots (``%hr``), None when the frontend captures no request header."""
        return _header_caps(self.req, headers) if self.req else None

    def response_headers(self, headers: Iterable[Header]) -> list[str | None] | None:
        """The response slots (``%hs``), None when the frontend captures no response header."""
        return _header_caps(self.res, headers) if self.res else None

    # --- cookies
    def request_cookie(self, headers: Iterable[Header]) -> str | None:
        """``%CC``: the first request cookie starting with the captured name."""
        want = self.cookie
        if want is None:
            return None
        for name, value in headers:
            if name.lower() != b"cookie":
                continue
            for span in _cookie_spans(value):
                if span.startswith(want):
                    return span[:self.cookie_len].decode("latin-1")
        return None

    def response_cookie(self, headers: Iterable[Header]) -> str | None:
        """``%CS``: the first ``Set-Cookie`` whose cookie starts with the captured name."""
        want = self.cookie
        if want is None:
            return None
        for name, value in headers:
            if name.lower() != b"set-cookie":
                continue
            span = value.split(b";", 1)[0].strip(b" \t")
            if span.startswith(want):
                return span[:self.cookie_len].decode("latin-1")
        return None
