"""Live state of a frontend (the FE side of a ``frontend`` or ``listen``). Pure."""

from __future__ import annotations

from typing import Any

from haproxy_py.config.model import Proxy
from haproxy_py.runtime.counters import Counters


class Frontend:
    """``status`` is OPEN, PAUSED (``disable frontend`` / SIGTTOU), FULL (maxconn reached) or STOP."""

    __slots__ = ("name", "uuid", "conf", "mode", "maxconn", "counters", "paused", "stopped",
                 "rate_limit", "listeners", "sps_ctr", "socket_stats")

    def __init__(self, conf: Proxy, maxconn: int) -> None:
        self.conf = conf
        self.name = conf.name
        self.uuid = conf.uuid
        self.mode = conf.mode
        self.maxconn = conf.maxconn if conf.maxconn is not None else maxconn
        self.counters = Counters()
        self.paused = False
        self.stopped = False
        #: 'rate-limit sessions' (show stat's rate_lim)
        self.rate_limit = conf.rate_limit_sessions or 0
        #: 'rate-limit sessions': 2.6's period counter of the sessions accepted (stick/freq.py
        #: FreqCtr, set by the engine), None without the keyword (nothing counted then)
        self.sps_ctr: Any = None
        #: number of listening sockets (engine fills it)
        self.listeners = 0
        #: 'option socket-stats': one ListenerStats per listening socket, in order (engine fills it);
        #: empty without the option (then no listener counts anything)
        self.socket_stats: list[ListenerStats] = []

    @property
    def status(self) -> str:
        if self.stopped:
            return "STOP"
        if self.paused:
            return "PAUSED"
        if self.maxconn and self.counters.scur >= self.maxconn:
            return "FULL"
        return "OPEN"


class ListenerStats:
    """'option socket-stats': one listening socket's own row in ``show stat`` (type 3): its name
    (the bind's ``name``, else ``sock-<id>``), its id and address, and its counters (the subset 2.6
    keeps per listener: sessions, bytes, denials, errors)."""

    __slots__ = ("name", "luid", "addr", "maxconn", "counters", "frontend")

    def __init__(self, frontend: Frontend, name: str, luid: int, addr: str, maxconn: int) -> None:
        self.frontend = frontend
        self.name = name or f"sock-{luid}"
        self.luid = luid
        self.addr = addr
        self.maxconn = maxconn
        self.counters = Counters()

    @property
    def status(self) -> str:
        fe = self.frontend
        if fe.stopped:
            return "STOP"
        if fe.paused:
            return "PAUSED"
        if self.maxconn and self.counters.scur >= self.maxconn:
            return "FULL"
        return "OPEN"
