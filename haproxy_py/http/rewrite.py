"""Preparing the request sent to the server and the response sent to the client (sans-IO).

Connection modes (FACTS 6.1), from the options of the frontend and the backend
(:func:`connection_mode`): ``httpclose`` on either side wins, then ``http-server-close`` on either
side, else keep-alive (HAProxy's default).

* keep-alive: the server connection stays reusable: the client's ``close``/``keep-alive`` tokens
  are not forwarded; an HTTP/1.0 request gets ``connection: keep-alive`` (not a chunked one).  Toward the client a
  ``connection: close`` is added when the client asked to close (1.1 with ``close``, 1.0 without
  ``keep-alive``) and ``connection: keep-alive`` when a 1.0 client asked to stay.
* server-close: ``connection: close`` sent to the server; client side as in keep-alive.
* close (``httpclose``): ``connection: close`` in both directions, both closed after the response.

Headers that we add use HAProxy's own spelling, lower case (``connection: close``); the header
names of ``option forwardfor header NAME`` and ``http-send-name-header NAME`` are used exactly as
configured (HAProxy 2.6 lower-cases them; we keep the case, like every forwarded name).
Order of appended headers: forwardfor, then the server name header, then the connection header.

A response whose body is delimited by the server's close cannot be kept alive toward the client:
it is forwarded as-is with ``connection: close`` (HAProxy may re-chunk it instead; not done here).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .message import BODY_CHUNKED, BODY_CLOSE, RequestHead, ResponseHead

__all__ = [
    "MODE_KEEP_ALIVE",
    "MODE_SERVER_CLOSE",
    "MODE_CLOSE",
    "connection_mode",
    "ForwardForRule",
    "prepare_request",
    "prepare_response",
    "strip_connection_tokens",
]

MODE_KEEP_ALIVE = "keep-alive"
MODE_SERVER_CLOSE = "server-close"
MODE_CLOSE = "close"

_CONN = b"connection"


def connection_mode(frontend: object | None, backend: object | None) -> str:
    """Effective HTTP connection mode from two config ``Proxy`` objects (either may be None)."""
    def opt(p: object | None, name: str) -> bool:
        return p is not None and bool(p.option(name))  # type: ignore[attr-defined]

    if opt(frontend, "httpclose") or opt(backend, "httpclose"):
        return MODE_CLOSE
    if opt(frontend, "http-server-close") or opt(backend, "http-server-close"):
        return MODE_SERVER_CLOSE
    return MODE_KEEP_ALIVE


def strip_connection_tokens(msg: RequestHead | ResponseHead) -> None:
    """Remove the ``close`` and ``keep-alive`` tokens of Connection headers (drop emptied ones);
    other tokens (``Upgrade``, hop-by-hop names) are kept as received."""
    headers = msg.headers
    first = -1
    i = 0
    for n, _ in headers:
        if len(n) == 10 and n.lower() == _CONN:  # the length test spares most lower() calls
            first = i
            break
        i += 1
    if first < 0:
        return
    out = headers[:first]
    for n, v in headers[first:]:
        if len(n) == 10 and n.lower() == _CONN:
            lv = v.lower()
            if lv == b"keep-alive" or lv == b"close":  # the usual single token: drop the header
                continue
            keep = [t.strip(b" \t") for t in v.split(b",")]
            keep = [t for t in keep if t and t.lower() not in (b"close", b"keep-alive")]
            if not keep:
                continue
            v = b", ".join(keep)
        out.append((n, v))
    msg.headers = out


class ForwardForRule:
    """``option forwardfor [except NET] [header NAME] [if-none]`` compiled once."""

    __slots__ = ("header", "header_b", "lheader", "except_net", "if_none")

    def __init__(self, header: str = "X-Forwarded-For", except_net: str | None = None, if_none: bool = False):
        self.header = header
        self.header_b = header.encode("latin1")
        self.lheader = self.header_b.lower()
        self.except_net = ipaddress.ip_network(except_net, strict=False) if except_net else None
        self.if_none = if_none

    @classmethod
    def from_model(cls, ff: object) -> ForwardForRule:
        """From ``config.model.ForwardFor``."""
        return cls(ff.header, ff.except_net, ff.if_none)  # type: ignore[attr-defined]

    def apply(self, req: RequestHead, src: str | None) -> bool:
        """Append ``NAME: src`` unless excluded; returns True when a header was added."""
        if not src:
            return False
        if self.if_none:
            for n, _ in req.headers:
                if n.lower() == self.lheader:
                    return False
        if self.except_net is not None:
            try:
                ip = ipaddress.ip_address(src)
            except ValueError:
                ip = None
            if ip is not None:
                mapped = getattr(ip, "ipv4_mapped", None)
                if ip in self.except_net or (mapped is not None and mapped in self.except_net):
                    return False
        req.headers.append((self.header_b, src.encode("latin1")))
        return True


def prepare_request(
    req: RequestHead,
    mode: str,
    *,
    src: str | None = None,
    forwardfor: ForwardForRule | None = None,
    server_name_header: bytes | None = None,
    server_name: bytes | None = None,
    unique_id: tuple[bytes, bytes] | None = None,
    originalto: Any = None,
    dst: str | None = None,
) -> tuple[bytes, bool]:
    """Rewrite ``req`` in place for the server and serialise it. In 2.6's order: the
    ``unique-id-header`` (``unique_id``: name and value), X-Forwarded-For, X-Original-To
    (``originalto``: an ``http.features.OriginalToRule`` applied to ``dst``), the server name.

    Returns ``(head_bytes, server_reusable)``: whether the server connection may be kept for
    another request after this exchange (keep-alive mode only).
    """
    strip_connection_tokens(req)
    if unique_id is not None:
        req.headers.append(unique_id)
    if forwardfor is not None:
        forwardfor.apply(req, src)
    if originalto is not None:
        originalto.apply(req, dst)
    if server_name_header is not None and server_name is not None:
        req.remove(server_name_header)
        req.headers.append((server_name_header, server_name))
    if mode == MODE_KEEP_ALIVE:
        # HTTP/1.0 asks for keep-alive explicitly, except a chunked 1.0 request which HAProxy
        # already handles like 1.1 (samples: te_in_http10)
        if not req.http11 and req.body != BODY_CHUNKED:
            req.headers.append((b"connection", b"keep-alive"))
        reusable = True
    else:
        if req.http11:
            req.headers.append((b"connection", b"close"))
        reusable = False
    return req.to_bytes(), reusable


def client_keeps_alive(req: RequestHead, resp: ResponseHead, mode: str) -> bool:
    """Whether the client connection stays open after this response."""
    if mode == MODE_CLOSE or not req.keep_alive:
        return False
    if resp.body == BODY_CLOSE:
        return False
    # an HTTP/1.0 answer with a chunked body: 2.6.12 forwards it as chunked, then closes the client
    # connection whatever either side's Connection header says (measured)
    return resp.http11 or resp.body != BODY_CHUNKED


def prepare_response(resp: ResponseHead, req: RequestHead, mode: str) -> tuple[bytes, bool]:
    """Rewrite ``resp`` in place for the client and serialise it (the server's version: an
    HTTP/1.0 answer stays 1.0, as in 2.6; reason kept).  Returns ``(head_bytes, keep_client_alive)``.
    The connection header says what differs from the version's default: an HTTP/1.0 answer kept
    alive gets ``connection: keep-alive`` and none when it closes; a 1.1 one the reverse."""
    strip_connection_tokens(resp)
    keep = client_keeps_alive(req, resp, mode)
    if resp.status == 101:
        keep = True  # switched protocols: the connection becomes a tunnel
    elif not resp.http11:
        if keep:
            resp.headers.append((b"connection", b"keep-alive"))
    elif not keep:
        resp.headers.append((b"connection", b"close"))
    elif not req.http11:
        resp.headers.append((b"connection", b"keep-alive"))
    return resp.to_bytes(), keep
