"""A minimal stand-in for ``runtime.backend.Backend`` used by the checks tests (pure).

It implements only what checks/ and engine/checker.py use: ``name``, ``conf``, ``servers``,
``server_state_changed(srv, now)``, ``usable_counts()``. The real Backend replaces it when available.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from haproxy_py.config.model import Address, Proxy, ServerConf
from haproxy_py.runtime.server import Server

if TYPE_CHECKING:
    from haproxy_py.runtime.backend import Backend


class SimpleBackend:
    def __init__(self, conf: Proxy, now: float = 0.0) -> None:
        self.conf = conf
        self.name = conf.name
        # a duck-typed stand-in for the Backend the servers expect
        self.servers = [Server(sc, cast("Backend", self), now) for sc in conf.servers]
        self.changes: list[tuple[str, str]] = []
        for s in self.servers:
            s.eweight = s.uweight

    def server_state_changed(self, srv: Server, now: float) -> None:
        srv.eweight = srv.uweight if srv.is_up and not srv.in_drain else 0
        self.changes.append((srv.name, srv.state))

    def usable_counts(self) -> tuple[int, int]:
        act = bck = 0
        for s in self.servers:
            if s.usable:
                if s.backup:
                    bck += 1
                else:
                    act += 1
        return act, bck

    def dynamic_maxconn(self, srv: Server) -> int:
        return srv.maxconn


def make_backend(name: str, servers: list[dict[str, Any]], mode: str = "http",
                 options: tuple[tuple[str, bool], ...] = (), now: float = 0.0,
                 **proxy_kw: object) -> SimpleBackend:
    """Build a backend from dicts of ServerConf fields (``host``/``port`` give the address)."""
    confs = []
    for i, d in enumerate(servers, 1):
        d = dict(d)
        host = d.pop("host", "127.0.0.1")
        port = d.pop("port", 1)
        confs.append(ServerConf(address=Address("ipv4", host, port, port), puid=i, **d))
    px = Proxy(name=name, kind="backend", mode=mode, servers=tuple(confs), options=tuple(options),
               **proxy_kw)  # type: ignore[arg-type]
    return SimpleBackend(px, now)
