"""HTTP features of a proxy, compiled once from its configuration (pure): ``monitor-uri`` matching
and ``option originalto``'s header. The engine (engine/http.py) asks them per request only when the
proxy uses them.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from haproxy_py.http.message import RequestHead


def uri_pathq(uri: bytes) -> bytes:
    """The path and query of a request URI as 2.6's URI parser gives it: the whole origin-form URI,
    what follows the authority of an absolute-form one (empty when it has no path)."""
    if uri[:1] == b"/":
        return uri
    s = uri.find(b"://")
    if s < 0:
        return b""
    p = uri.find(b"/", s + 3)
    return b"" if p < 0 else uri[p:]


class MonitorUri:
    """``monitor-uri URI``: a request whose URI is exactly URI, or (URI starting with '/') whose
    path and query are exactly URI, is a monitor request. Case-sensitive, as in 2.6."""

    __slots__ = ("uri", "by_path")

    def __init__(self, uri: str) -> None:
        self.uri = uri.encode("latin-1")
        self.by_path = self.uri[:1] == b"/"

    def matches(self, req: RequestHead) -> bool:
        u = req.uri
        if u == self.uri:
            return True
        return self.by_path and uri_pathq(u) == self.uri


class OriginalToRule:
    """``option originalto [except NET] [header NAME]`` of a frontend and its backend: the
    connection's destination address in a header. As 2.6 does it: the backend's header name when
    the backend has the option, else the frontend's; no header when the address is in the
    ``except`` network of either (a network of the other family never matches), nor for a unix
    socket."""

    __slots__ = ("header", "nets")

    def __init__(self, header: str = "X-Original-To", nets: tuple[str, ...] = ()) -> None:
        self.header = header.encode("latin-1")
        self.nets = tuple(ipaddress.ip_network(n, strict=False) for n in nets)

    @classmethod
    def from_models(cls, fe: Any, be: Any) -> OriginalToRule | None:
        """From the frontend's and the backend's ``config.model.OriginalTo`` (None: neither)."""
        if fe is None and be is None:
            return None
        header = (be or fe).header
        return cls(header, tuple(o.except_net for o in (fe, be) if o is not None and o.except_net))

    def apply(self, req: RequestHead, dst: Any) -> bool:
        """Append ``NAME: dst`` unless excluded; True when a header was added."""
        if not dst:
            return False
        try:
            ip = ipaddress.ip_address(dst)
        except ValueError:
            return False
        for net in self.nets:
            if net.version == ip.version and ip in net:
                return False
        req.headers.append((self.header, _ntop(ip)))
        return True


def _ntop(ip: Any) -> bytes:
    """An address as inet_ntop writes it (a v4-mapped IPv6 one ends in dotted quad)."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return b"::ffff:" + str(ip.ipv4_mapped).encode("latin-1")
    return str(ip).encode("latin-1")


def body_use(conf: Any) -> bool | None:
    """What a proxy needs of request bodies before its http-request rules: True to wait for the
    body ('option http-buffer-request'), False when only its rules or ACLs read it (req.body...),
    None when nothing does (the request pays nothing)."""
    if conf.option("http-buffer-request"):
        return True
    text = repr(conf.http_rules) + repr(conf.acls) + repr(conf.defaults_rules) + repr(conf.defaults_acls)
    if "req.body" in text or "wait-for-body" in text or "req.len" in text or "req_len" in text:
        return False
    return None
