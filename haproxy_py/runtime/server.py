"""Live state of one server (pure: no I/O, no clock; ``now`` is passed in).

CONTRACT shared by lb/, checks/, stats/ and engine/ (names are stable; add, do not rename):

identity     name, puid (server id), backend (runtime Backend), conf (config.model.ServerConf),
             host, port (current address; changeable by ``set server addr``), backup
weights      iweight (configured), uweight (user weight, 0..256, changed by ``set weight``),
             eweight (effective weight as the balancer uses it, set by the backend's balancer)
admin state  admin: set of "FMAINT" (CLI), "CMAINT" (config ``disabled``), "IMAINT" (inherited
             from a tracked server), "RMAINT" (name resolution failed: resolvers), "FDRAIN" (CLI drain), "IDRAIN" (inherited drain)
oper. state  state: "RUNNING" | "STARTING" | "STOPPING" | "STOPPED"
health       check_enabled, health (h, 0..rise+fall-1), rise, fall, check_status ("INI", "L4OK" ...),
             check_code (int|None), check_duration (ms|None), check_desc, check_info,
             agent_* likewise for the agent check (checks/agent.py), last_change (wall time), down_time (seconds
             accumulated while DOWN), down_since (wall time or None)
traffic      served (connections/requests currently using the server: its slots in use), slot_owners
             (the sessions holding those slots; ``served == len(slot_owners) + anon_slots``, where
             anon_slots are slots taken without an owner, by pure tests), queue (runtime.queue.Queue
             of pending requests bound to this server), counters (runtime.counters.Counters),
             maxconn/maxqueue/minconn (current limits; ``set maxconn server`` changes maxconn)
balancer     lb: per-algorithm private state (an object owned by the balancer); never touched by
             others
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from haproxy_py.config.model import ServerConf
from haproxy_py.runtime.counters import Counters

if TYPE_CHECKING:  # pragma: no cover
    from haproxy_py.runtime.backend import Backend


class Server:
    __slots__ = (
        "name", "puid", "backend", "conf", "host", "port", "backup",
        "iweight", "uweight", "eweight",
        "admin", "state", "check_enabled", "health", "rise", "fall",
        "check_status", "check_code", "check_duration", "check_desc", "check_info", "check_running",
        "agent_enabled", "agent_status", "agent_code", "agent_duration", "agent_info", "agent_health",
        "agent_rise", "agent_fall", "agent_running", "agent_send", "agent_host", "agent_port",
        "last_change", "down_time", "down_since",
        "served", "queue", "counters", "maxconn", "maxqueue", "minconn",
        "cookie", "track", "trackers", "lb", "slowstart_since", "observe_errors",
        "sessions", "dynamic", "slot_owners", "anon_slots", "dns_fqdn", "maint_weight",
    )

    def __init__(self, conf: ServerConf, backend: Backend | None = None, now: float = 0.0) -> None:
        from haproxy_py.runtime.queue import Queue

        self.conf = conf
        self.name = conf.name
        self.puid = conf.puid
        self.backend = backend
        addr = conf.address
        self.host = addr.host if addr is not None else ""
        self.port = addr.port_lo if addr is not None else 0
        self.backup = conf.backup
        self.iweight = conf.weight
        self.uweight = conf.weight
        self.eweight = 0
        self.admin: set[str] = {"CMAINT"} if conf.disabled else set()
        if conf.no_addr:
            self.admin.add("RMAINT")  # 2.6: a server without an address starts in maintenance
        self.check_enabled = conf.check
        self.rise = conf.rise
        self.fall = conf.fall
        # HAProxy starts checked servers UP with minimal health (h = rise): "UP 1/3"; an unchecked
        # server's (unused) health is rise too, as show servers state shows it
        self.health = conf.rise
        self.state = "STOPPED" if conf.no_addr else "RUNNING"
        self.check_status = "INI" if conf.check else ""
        self.check_code: int | None = None
        self.check_duration: int | None = None
        self.check_desc = "Initializing" if conf.check else ""
        self.check_info = ""
        self.check_running = False
        #: the agent check (``agent-check``): its state as 2.6 keeps it (rise and fall are 1)
        self.agent_enabled = bool(conf.agent_check and conf.agent_port)
        self.agent_status = "INI" if self.agent_enabled else ""
        self.agent_code: int | None = None
        self.agent_duration: int | None = None
        self.agent_info = ""
        self.agent_rise = 1
        self.agent_fall = 1
        self.agent_health = 1
        self.agent_running = False
        #: what is sent to the agent, where it listens (``set server agent-send/agent-addr/agent-port``)
        self.agent_send: bytes | None = (conf.agent_send.encode("latin-1", "replace")
                                         if conf.agent_send else None)
        self.agent_host: str | None = conf.agent_addr
        self.agent_port: int | None = conf.agent_port
        self.last_change = now
        self.down_time = 0.0
        self.down_since: float | None = None
        self.served = 0
        #: who holds each slot in use (owner-checked release; see Backend.take/release)
        self.slot_owners: set[Any] = set()
        self.anon_slots = 0
        self.queue = Queue()
        self.counters = Counters()
        self.maxconn = conf.maxconn
        self.maxqueue = conf.maxqueue
        self.minconn = conf.minconn
        self.cookie = conf.cookie
        self.track: Server | None = None
        self.trackers: list[Server] = []
        self.lb: Any = None
        self.slowstart_since: float | None = None
        self.observe_errors = 0
        #: live sessions using this server (engine objects with a ``shutdown()`` method)
        self.sessions: set[Any] = set()
        self.dynamic = False
        #: the target name an SRV record gave this server ("" none; engine/resolvers.py)
        self.dns_fqdn = ""
        #: the weight show stat keeps while the server is in maintenance: 2.6 applies a weight
        #: changed meanwhile only when the server leaves it (None: not frozen)
        self.maint_weight: int | None = None

    # ------------------------------------------------------------------ derived state
    @property
    def in_maint(self) -> bool:
        return bool(self.admin & {"FMAINT", "CMAINT", "IMAINT", "RMAINT"})

    @property
    def in_drain(self) -> bool:
        return bool(self.admin & {"FDRAIN", "IDRAIN"})

    @property
    def is_up(self) -> bool:
        """Operationally usable (RUNNING or STARTING) and not in maintenance."""
        return self.state in ("RUNNING", "STARTING") and not self.in_maint

    @property
    def usable(self) -> bool:
        """May be chosen by load balancing (HAPROXY_FACTS 3.1)."""
        return self.eweight > 0 and self.is_up and not self.in_drain

    def has_room(self) -> bool:
        """Below its (dynamic) maxconn and nobody is already waiting in its queue."""
        lim = self.effective_maxconn()
        return not lim or (self.served < lim and not len(self.queue))

    def effective_maxconn(self) -> int:
        """The dynamic limit with minconn/fullconn (HAProxy's srv_dynamic_maxconn)."""
        if self.backend is not None:
            return self.backend.dynamic_maxconn(self)
        return self.maxconn

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Server {self.backend.name if self.backend else '?'}/{self.name} {self.state} w={self.uweight}>"
