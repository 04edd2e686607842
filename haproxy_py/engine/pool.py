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
pool keeps (0: none, so with http-reuse other than never every request opens its own).

How many it keeps follows 2.6's estimate of the server's need: ``est_need`` rises to the number of
connections in use whenever a request starts; a connection coming back is kept when the server
has no safe one (and no idle one, unless this one is safe), or while the connections in use plus
the idle ones stay within ``max(in use, est_need) + pool-low-conn``; with ``pool-purge-delay 0`` none is kept.
Every ``pool-purge-delay`` (5s; armed when a connection enters an empty pool, again while any is
left) half the idle connections above ``max(peak in use since the last purge,
est_need)`` are closed (rounded up, plus one; idle list first, oldest first), then ``est_need`` moves halfway down to that peak: a pool left
alone empties in a few periods, as 2.6's does (see :func:`purge_plan`). "In use" is the server's
current requests (one connection each with HTTP/1.1). (The order for later requests, safe before
idle, is what 2.6 was seen doing by tests/differential/test_http_reuse_vs_haproxy.py.) A pooled
connection that talks or closes is dropped.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from haproxy_py.engine.conn import Conn, _nop


def purge_plan(used: int, idle: int, max_used: int, est_need: int) -> tuple[int, int]:
    """2.6's purge of a server's idle connections (srv_cleanup_idle_conns): how many to close
    and the new ``est_need``. Half the excess of the connections (in use + idle) over the need
    (the larger of the peak in use since the last purge and the estimate), rounded up, plus one
    (measured on 2.6.12 with nbthread 1: 8 idle over a need of 4 lose 3, 16 over 8 lose 5; and
    as its C reads it, one connection short of the need still loses 2)."""
    exceed = used + idle - max(max_used, est_need)
    # C's halving (towards zero) plus the low bit: an excess of -1 still gives 1 to close
    half = (exceed // 2 if exceed >= 0 else -(-exceed // 2)) + (exceed & 1)
    # 2.6 closes up to that half plus one on a thread (here: one worker, one thread of 2.6)
    kill = min(idle, half + 1) if half > 0 else 0
    return kill, max((est_need + max_used) // 2, max_used)


class _Lists:
    __slots__ = ("idle", "safe", "est_need", "max_used", "timer")

    def __init__(self) -> None:
        self.idle: deque[tuple[Conn, int]] = deque()
        self.safe: deque[tuple[Conn, int]] = deque()
        #: 2.6's est_need_conns and max_used_conns (the peak in use since the last purge)
        self.est_need = 0
        self.max_used = 0
        #: the pending purge (pool-purge-delay), while the pool has connections
        self.timer: Any = None


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
        conf = srv.conf
        pmax = conf.pool_max_conn
        n = len(idle) + len(safe)
        if (pmax >= 0 and n >= pmax) or not conf.pool_purge_delay:  # pool-max-conn; 2.6 keeps none with
            c.close(abort=True)                                    # pool-purge-delay 0 (and resets it)
            return
        # as 2.6, a connection is kept when the server has no safe one (and no idle one, unless
        # this one is safe), or while those in use (this one still counted) and the idle ones
        # stay within the estimated need plus pool-low-conn
        used = srv.served + 1
        if (safe or (uses <= 1 and idle)) and used + n > max(used, lists.est_need) + conf.pool_low_conn:
            c.close(abort=True)  # the pool does not keep it: reset, as 2.6 (no TIME_WAIT here)
            return
        dq = idle if uses <= 1 else safe
        entry = (c, uses)
        dq.append(entry)
        if lists.timer is None:
            lists.timer = c.loop.call_later(conf.pool_purge_delay / 1000.0, self._purge, srv, lists, c.loop)

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

    def note_use(self, srv: Any) -> _Lists:
        """A request to ``srv`` gets a connection (pooled, private or new): 2.6's peak of the
        connections in use and its estimate of the need follow (``show servers conn``)."""
        lists = self.by_server.get(srv)
        if lists is None:
            lists = self.by_server[srv] = _Lists()
        used = srv.served  # this request counted: the connections in use once it has one
        if used > lists.max_used:
            lists.max_used = used
            if used > lists.est_need:
                lists.est_need = used
        return lists

    def note_private(self, srv: Any) -> None:
        """A request to ``srv`` on a session's private connection (http-reuse never, PROXY
        protocol): 2.6.12's ``show servers conn`` then gives a peak and a need of 1 whatever the
        number of such connections at once (measured with bursts of 1 to 6:
        tests/integration/test_servers_conn_vs_haproxy.py)."""
        lists = self.by_server.get(srv)
        if lists is None:
            lists = self.by_server[srv] = _Lists()
        if lists.max_used < 1:
            lists.max_used = 1
        if lists.est_need < 1:
            lists.est_need = 1

    def take(self, srv: Any, first: bool, mode: str) -> tuple[Conn, int] | None:
        """An idle connection for a request to ``srv``, or None (see the table above)."""
        lists = self.note_use(srv)
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

    def _purge(self, srv: Any, lists: _Lists, loop: Any) -> None:
        """pool-purge-delay elapsed: 2.6's halving of the idle connections above the need."""
        lists.timer = None
        idle, safe = lists.idle, lists.safe
        for dq in (idle, safe):  # the dead ones first: they are not counted
            for e in [e for e in dq if e[0].closed or e[0].eof]:
                dq.remove(e)
        n = len(idle) + len(safe)
        if not n:
            return
        kill, lists.est_need = purge_plan(srv.served, n, lists.max_used, lists.est_need)
        lists.max_used = srv.served
        for dq in (idle, safe):
            while kill and dq:
                dq.popleft()[0].close()
                kill -= 1
        if idle or safe:
            lists.timer = loop.call_later(srv.conf.pool_purge_delay / 1000.0, self._purge, srv, lists, loop)

    def counts(self, srv: Any) -> tuple[int, int, int, int]:
        """``srv``'s (idle, safe, est_need, max_used) as 2.6's ``show servers conn`` gives them
        (curr_idle_nb, curr_safe_nb, est_need_conns, max_used_conns); connections that closed
        while pooled are not counted."""
        lists = self.by_server.get(srv)
        if lists is None:
            return 0, 0, 0, 0
        idle = sum(1 for c, _ in lists.idle if not c.closed and not c.eof)
        safe = sum(1 for c, _ in lists.safe if not c.closed and not c.eof)
        return idle, safe, lists.est_need, lists.max_used

    def close_all(self) -> None:
        for lists in self.by_server.values():
            if lists.timer is not None:
                lists.timer.cancel()
                lists.timer = None
            for dq in (lists.idle, lists.safe):
                while dq:
                    dq.popleft()[0].close()


#: the process's pools (one engine per process)
POOLS = ServerPools()
