"""Live state of a frontend (the FE side of a ``frontend`` or ``listen``). Pure."""

from __future__ import annotations

from typing import Any

from haproxy_py.config.model import Proxy
from haproxy_py.runtime.counters import Counters


class Frontend:
    """``status`` is OPEN, PAUSED (``disable frontend`` / SIGTTOU), FULL (maxconn reached) or STOP."""

    __slots__ = ("name", "uuid", "conf", "mode", "maxconn", "counters", "paused", "stopped",
                 "rate_limit", "listeners", "sps_ctr")

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

    @property
    def status(self) -> str:
        if self.stopped:
            return "STOP"
        if self.paused:
            return "PAUSED"
        if self.maxconn and self.counters.scur >= self.maxconn:
            return "FULL"
        return "OPEN"
