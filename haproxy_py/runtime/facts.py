"""The live facts sample fetches ask for (``haproxy_py.samples.txn.Runtime``), read from the
process state. Pure: the engine creates one :class:`StateFacts` per process and hands it to every
transaction; ``now`` is passed in by the caller.

Unknown proxy or server names answer None (the fetch then has no sample). Semantics follow
HAProxy 2.6's fetches of the same names: ``connslots`` and ``be_conn_free`` are -1 when a usable
server has no maxconn (unlimited), ``queue`` counts the backend's and its servers' queues,
``avg_queue`` divides it by the usable servers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["StateFacts"]


def _no_clock() -> float:
    return 0.0


#: the host name, read by the first ``hostname()``
_HOSTNAME: list[str | None] = [None]


class StateFacts:
    """``mono`` and ``wall`` are the engine's clocks (loop time, epoch time), called when a
    transaction is built without its times."""

    __slots__ = ("state", "_mono", "_wall")

    def __init__(self, state: Any, mono: Callable[[], float] = _no_clock,
                 wall: Callable[[], float] = _no_clock) -> None:
        self.state = state
        self._mono = mono
        self._wall = wall

    def clock(self) -> tuple[float, float]:
        return self._mono(), self._wall()

    def pid(self) -> int:
        return int(getattr(self.state, "pid", 0))

    def thread(self) -> int:
        return int(getattr(self.state, "thread", 0))

    def dst_conn(self, frontend: str, so_id: int) -> int | None:
        """Unknown without the engine's listeners (engine/router.py EngineFacts)."""
        return None

    def tcp_info(self, fd: int) -> tuple[int, ...] | None:
        """Unknown without the engine (engine/router.py EngineFacts reads the socket)."""
        return None

    def set_mark(self, fd: int, mark: int) -> None:
        """No socket without the engine (engine/router.py EngineFacts sets it)."""

    def set_tos(self, fd: int, tos: int) -> None:
        """No socket without the engine (engine/router.py EngineFacts sets it)."""

    def is_local(self, ip: str) -> bool | None:
        """Unknown without the engine (it answers with a socket: engine/router.py EngineFacts)."""
        return None

    def hostname(self) -> str:
        """The system's host name (2.6's ``hostname`` fetch; not the ``node`` setting), read once
        per process as 2.6 does at start (a Txn asks for it per request: one uname() each)."""
        name = _HOSTNAME[0]
        if name is None:
            import os

            name = _HOSTNAME[0] = os.uname().nodename
        return name

    def stick_table(self, name: str) -> Any:
        """The live stick table of proxy ``name`` (haproxy_py.stick.table.StickTable), or None."""
        return self.state.tables.get(name)

    # --- helpers
    def _be(self, name: str) -> Any:
        return self.state.backends.get(name)

    def _fe(self, name: str) -> Any:
        return self.state.frontends.get(name)

    def _srv(self, backend: str, server: str) -> Any:
        be = self._be(backend)
        return None if be is None else be.by_name.get(server)

    # --- backends
    def nbsrv(self, backend: str) -> int | None:
        """2.6: the usable active servers; with none, the backups that would serve (the first
        one only, unless ``option allbackups``)."""
        be = self._be(backend)
        if be is None:
            return None
        act, bck = be.usable_counts()
        if act:
            return int(act)
        if bck and not be.conf.option("allbackups"):
            return 1
        return int(bck)

    def be_conn(self, backend: str) -> int | None:
        be = self._be(backend)
        return None if be is None else be.counters.scur

    def be_conn_free(self, backend: str) -> int | None:
        be = self._be(backend)
        if be is None:
            return None
        free = 0
        for s in be.servers:
            if not s.usable:
                continue
            lim = s.effective_maxconn()
            if not lim:
                return -1
            free += max(0, lim - s.served)
        return free

    def connslots(self, backend: str) -> int | None:
        be = self._be(backend)
        if be is None:
            return None
        slots = 0
        for s in be.servers:
            if not s.usable:
                continue
            lim = s.effective_maxconn()
            if not lim or not s.maxqueue:
                return -1
            slots += max(0, lim - s.served) + max(0, s.maxqueue - len(s.queue))
        return slots

    def queue(self, backend: str) -> int | None:
        be = self._be(backend)
        if be is None:
            return None
        return len(be.queue) + sum(len(s.queue) for s in be.servers)

    def avg_queue(self, backend: str) -> int | None:
        q = self.queue(backend)
        if q is None:
            return None
        n = self.nbsrv(backend) or 0
        return q // n if n else q

    def be_sess_rate(self, backend: str, now: float) -> int | None:
        be = self._be(backend)
        return None if be is None else be.counters.sess_rate.read(now)

    # --- frontends
    def fe_conn(self, frontend: str) -> int | None:
        fe = self._fe(frontend)
        return None if fe is None else fe.counters.scur

    def fe_req_rate(self, frontend: str, now: float) -> int | None:
        fe = self._fe(frontend)
        return None if fe is None else fe.counters.req_rate.read(now)

    def fe_sess_rate(self, frontend: str, now: float) -> int | None:
        fe = self._fe(frontend)
        return None if fe is None else fe.counters.sess_rate.read(now)

    # --- servers
    def srv_conn(self, backend: str, server: str) -> int | None:
        s = self._srv(backend, server)
        return None if s is None else s.served

    def srv_conn_free(self, backend: str, server: str) -> int | None:
        s = self._srv(backend, server)
        if s is None:
            return None
        lim = s.effective_maxconn()
        return -1 if not lim else max(0, lim - s.served)

    def srv_is_up(self, backend: str, server: str) -> bool | None:
        s = self._srv(backend, server)
        return None if s is None else bool(s.is_up)

    def srv_queue(self, backend: str, server: str) -> int | None:
        s = self._srv(backend, server)
        return None if s is None else len(s.queue)

    def srv_sess_rate(self, backend: str, server: str, now: float) -> int | None:
        s = self._srv(backend, server)
        return None if s is None else s.counters.sess_rate.read(now)

    def srv_weight(self, backend: str, server: str) -> int | None:
        be = self._be(backend)
        s = None if be is None else be.by_name.get(server)
        return None if s is None else int(be.server_weight(s))  # effective weight, user units

    def srv_uweight(self, backend: str, server: str) -> int | None:
        s = self._srv(backend, server)
        return None if s is None else s.uweight

    def srv_iweight(self, backend: str, server: str) -> int | None:
        s = self._srv(backend, server)
        return None if s is None else s.iweight

    # --- ids, process
    def proxy_id(self, proxy: str) -> int | None:
        p = self._fe(proxy) or self._be(proxy)
        return None if p is None else p.uuid

    def server_id(self, backend: str, server: str) -> int | None:
        s = self._srv(backend, server)
        return None if s is None else s.puid

    def stopping(self) -> bool:
        return bool(self.state.stopping)

    def proxy_timeout(self, proxy: str, name: str) -> int | None:
        p = self._fe(proxy) or self._be(proxy)
        if p is None:
            return None
        return int(getattr(p.conf.timeouts, name, None) or 0)

    def fcgi_app(self, backend: str) -> tuple[bytes, bytes] | None:
        """The docroot and index of the fcgi-app a backend uses (None: none)."""
        be = self._be(backend)
        name = None if be is None else getattr(be.conf, "fcgi_app", None)
        for a in getattr(self.state.config, "fcgi_apps", ()) if name else ():
            if a.name == name:
                return a.docroot.encode(), a.index.encode()
        return None

    def userlist(self, name: str) -> tuple[tuple[str, str, bool], ...] | None:
        for n, users in getattr(self.state.config, "userlists", ()):
            if n == name:
                return tuple(users)
        return None

    def user_groups(self, userlist: str, user: str) -> tuple[str, ...]:
        for n, groups in getattr(self.state.config, "userlist_groups", ()):
            if n == userlist:
                return tuple(g for g, members in groups if user in members)
        return ()

    def default_backend(self, frontend: str) -> str | None:
        fe = self._fe(frontend)
        return None if fe is None else fe.conf.default_backend
