"""Idle server connections (HAProxy 2.6's per-server idle and safe lists, ``http-reuse``).

After a response, a server connection that may carry another request goes back to its server's
pool: to the *idle* list when it carried one request, to the *safe* list once it carried more
(the server proved it keeps connections open). A request then takes one, by ``http-reuse``
mode and by whether it is the first request of its client connection:

    mode        first request             later requests
    never       (the session's own private connections only: engine/http.py)
    safe        a new connection          safe, then idle
    aggressive  safe                      safe, then idle
    always      safe, then idle           safe, then idle

The oldest connection of a list goes first. A server's ``pool-max-conn`` caps the connections its
pool keeps (0: none, so with http-reuse other than never every request opens its own). The pool of a server holds at most as many connections
as the server has had concurrent requests (2.6 sizes it from the need it observed). (The order for later requests, safe before idle, is
what 2.6 was seen doing by tests/differential/test_http_reuse_vs_haproxy.py.) A pooled connection that talks or closes is dropped.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from haproxy_py.engine.conn import Conn, _nop


class _Lists:
    __slots__ = ("idle", "safe")

    def __init__(self) -> None:
        self.idle: deque[tuple[Conn, int]] = deque()
        self.safe: deque[tuple[Conn, int]] = deque()


class ServerPools:
    """Every server's idle connections, keyed by the runtime server object."""

    __slots__ = ("by_server",)

    def __init__(self) -> None:
        self.by_server: dict[Any, _Lists] = {}

    def put(self, srv: Any, c: Conn, uses: int) -> None:
        """``c`` (which carried ``uses`` requests) waits for the next request to ``srv``."""
        lists = self.by_server.get(srv)
        if lists is None:
            lists = self.by_server[srv] = _Lists()
        idle, safe = lists.idle, lists.safe
        pmax = srv.conf.pool_max_conn
        if pmax >= 0 and len(idle) + len(safe) >= pmax:  # pool-max-conn
            c.close()
            return
        # as 2.6, a connection is kept when the server has no safe one (and no idle one, unless
        # this one is safe), or while the idle ones do not outnumber what the server has needed
        # at once (2.6 estimates that need at each purge; here: the peak of concurrent requests)
        if (safe or (uses <= 1 and idle)) and len(idle) + len(safe) >= srv.counters.smax:
            c.close()
            return
        dq = idle if uses <= 1 else safe
        entry = (c, uses)
        dq.append(entry)

        def gone(*_a: Any) -> None:
            c.close()
            try:
                dq.remove(entry)
            except ValueError:
                pass

        c.on_data = gone  # an idle server has nothing to say: the connection is broken
        c.on_eof = gone
        c.on_error = gone
        c.on_drained = _nop
        c.read_on()

    def take(self, srv: Any, first: bool, mode: str) -> tuple[Conn, int] | None:
        """An idle connection for a request to ``srv``, or None (see the table above)."""
        lists = self.by_server.get(srv)
        if lists is None:
            return None
        if not first or mode == "always":
            order: tuple[deque[tuple[Conn, int]], ...] = (lists.safe, lists.idle)
        elif mode == "aggressive":
            order = (lists.safe,)
        else:
            return None
        for dq in order:
            while dq:
                c, uses = dq.popleft()
                if not c.closed and not c.eof:
                    return c, uses
        return None

    def close_all(self) -> None:
        for lists in self.by_server.values():
            for dq in (lists.idle, lists.safe):
                while dq:
                    dq.popleft()[0].close()


#: the process's pools (one engine per process)
POOLS = ServerPools()
