"""Live state of a backend and every server-selection decision (HAPROXY_FACTS 3, 4, 5.1-5.3). Pure.

How the engine uses it (one request; ``owner`` is the engine's session):

1. ``d = be.select(LbRequest(...), now, owner=session)``
   * ``d.status == OK``: call ``be.take(d.server, now, owner)`` then connect to ``d.server``;
   * ``QUEUED``: ``d.pending`` waits in ``d.pending.server.queue`` (server queue) or ``be.queue``.
     A dequeue (:meth:`release`, :meth:`process_queue`, :meth:`cancel`, :meth:`set_maxconn`,
     :meth:`server_state_changed`) gives it a slot of ``pending.server`` at once, held in the
     owner's name (``pending.granted``), and returns it so that the engine wakes the owner; the
     owner then calls :meth:`claim` (True: the slot is its own, connect) or, if its request ended
     meanwhile, :meth:`cancel`, which gives the slot back (to the next waiter). A request that
     ends while it waits (``timeout queue``, client abort) calls :meth:`cancel` too: it leaves the
     queue at once, so no slot can be handed to it afterwards;
   * ``NOSRV`` (no usable server) or ``FULL`` (persistent server's queue at maxqueue): 503.
2. Connection failure: ``a = be.on_connect_error(srv, attempt, persistent=d.persistent)``;
   ``RETRY``: wait ``a.delay`` and reconnect to the same server (slot kept); ``REDISPATCH``:
   ``be.release(srv, now, owner)`` then ``be.select(req, now, avoid=srv)`` (wait ``a.delay`` first);
   ``FAIL``: ``be.release(srv, now, owner)`` and answer 503 (``SC--``).
3. End of the request on the server: ``be.release(srv, now, owner)`` -> the pending that gets the slot.

Slot ownership: a slot in use is held by exactly one owner, recorded in ``srv.slot_owners``
(``served`` counts them). :meth:`release` is owner-checked and idempotent: giving back a slot the
owner does not hold does nothing. Without an owner (pure tests of the balancing) slots are counted
anonymously in ``srv.anon_slots``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from haproxy_py.config.model import CookieConf, Proxy, ServerConf
from haproxy_py.lb.base import Balancer, LbRequest
from haproxy_py.lb.first import First
from haproxy_py.lb.hash_consistent import ConsistentHash
from haproxy_py.lb.hash_map import MapBased
from haproxy_py.lb.hashfn import xxh64
from haproxy_py.lb.keys import compile_key, rdp_cookie
from haproxy_py.lb.leastconn import LeastConn
from haproxy_py.lb.random import RandomLB
from haproxy_py.lb.roundrobin import RoundRobin
from haproxy_py.lb.static_rr import StaticRR
from haproxy_py.runtime.counters import Counters
from haproxy_py.runtime.queue import Pending, Queue, make_key, order
from haproxy_py.runtime.server import Server


def _strtoul(b: bytes, i: int) -> tuple[int, int]:
    """C's strtoul(…, 10) from index ``i``: (value mod 2**64, index after the digits; ``i`` when
    none were read)."""
    n = len(b)
    j = i
    while j < n and b[j] in b" \t\n\v\f\r":
        j += 1
    neg = False
    if j < n and b[j] in b"+-":
        neg = b[j] == 0x2D
        j += 1
    k = j
    while k < n and 0x30 <= b[k] <= 0x39:
        k += 1
    if k == j:
        return 0, i
    v = int(b[j:k]) & 0xFFFFFFFFFFFFFFFF if k - j < 40 else 0xFFFFFFFFFFFFFFFF
    if k - j < 40 and int(b[j:k]) > 0xFFFFFFFFFFFFFFFF:
        v = 0xFFFFFFFFFFFFFFFF  # ERANGE: ULONG_MAX
    return ((-v) & 0xFFFFFFFFFFFFFFFF if neg else v), k


OK = "ok"
QUEUED = "queued"
NOSRV = "nosrv"
FULL = "full"

RETRY = "retry"
REDISPATCH = "redispatch"
FAIL = "fail"

STATIC_WEIGHT_MSG = "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
HASH_ALGOS = ("source", "uri", "url_param", "hdr", "rdp-cookie", "hash")


class Decision:
    """Outcome of :meth:`Backend.select`.

    ``persistent``: the server came from the persistence cookie (no lbtot); ``by_lb``: chosen by
    the algorithm (lbtot counted); ``cookie_flag``: the request cookie letter of the log
    (``V`` valid, ``D`` server down, ``I`` invalid, ``""`` when no cookie was given);
    ``redispatched``: ``avoid`` was given and another server was chosen (log ``+N`` retries).
    """

    __slots__ = ("status", "server", "persistent", "by_lb", "pending", "cookie_flag", "redispatched")

    def __init__(self, status: str, server: Server | None = None, persistent: bool = False,
                 by_lb: bool = False, pending: Pending | None = None, cookie_flag: str = "",
                 redispatched: bool = False) -> None:
        self.status = status
        self.server = server
        self.persistent = persistent
        self.by_lb = by_lb
        self.pending = pending
        self.cookie_flag = cookie_flag
        self.redispatched = redispatched

    def __repr__(self) -> str:  # pragma: no cover
        s = self.server.name if self.server is not None else None
        return f"<Decision {self.status} {s} persistent={self.persistent} ck={self.cookie_flag!r}>"


class RetryAction:
    __slots__ = ("action", "delay")

    def __init__(self, action: str, delay: float = 0.0) -> None:
        self.action = action
        self.delay = delay

    def __repr__(self) -> str:  # pragma: no cover
        return f"<RetryAction {self.action} {self.delay}>"


def make_balancer(conf: Proxy, rand32: Callable[[], int] | None = None) -> Balancer:
    b = conf.balance
    algo = b.algorithm
    allb = conf.option("allbackups")
    if algo == "roundrobin":
        return RoundRobin(allb)
    if algo == "static-rr":
        return StaticRR(allb)
    if algo == "leastconn":
        return LeastConn(allb)
    if algo == "first":
        return First(allb)
    if algo == "random":
        return RandomLB(allb, draws=b.draws, rand32=rand32)
    if algo in HASH_ALGOS:
        ht = conf.hash_type
        key = compile_key(b, ht.function, ht.avalanche)
        if ht.method == "consistent":
            return ConsistentHash(allb, key=key, balance_factor=conf.hash_balance_factor)
        return MapBased(allb, key=key)
    raise ValueError(f"unknown balance algorithm {algo!r}")


class Backend:
    def __init__(self, conf: Proxy, now: float, *, global_maxconn: int = 0,
                 frontends_maxconn: int | None = None,
                 rand32: Callable[[], int] | None = None) -> None:
        self.conf = conf
        self.name = conf.name
        self.uuid = conf.uuid
        self.mode = conf.mode
        self.now = now
        #: called with the pendings a state change hands back (see server_state_changed); the
        #: engine sets it to wake or re-dispatch the queued requests
        self.on_pendings: Callable[[list[Pending]], None] | None = None
        #: whether selection reads the request (hash keys, persistence cookie): the engine builds
        #: an LbRequest only then
        self.needs_request = conf.balance.algorithm in HASH_ALGOS or conf.cookie is not None
        #: ``balance hash EXPR`` beyond the simple fetches lb/keys.py reads itself: the compiled
        #: sample expression (``fn(txn) -> Sample | None``), set by the engine
        self.hash_expr: Callable[[Any], Any] | None = None
        self.counters = Counters()
        self.queue = Queue()
        #: the priority of the request being selected (select's ``prio``)
        self._prio: tuple[int, int] | None = None
        self.cookie: CookieConf | None = conf.cookie
        #: connections currently using a server of this backend (HAProxy's px->served)
        self.served = 0
        self.redispatch = conf.redispatch
        self.retries = conf.retries
        ro = conf.retry_on
        #: retry-on conn-failure (2.6's default): a failed connection is tried again
        self.conn_retry = "conn-failure" in ro
        #: the layer 7 retry-on events and statuses ("empty-response", "503", ...) of an HTTP
        #: backend, None when it has none: the engine keeps a request for a second send only then
        l7 = frozenset(int(e) if e.isdigit() else e for e in ro if e != "conn-failure")
        self.l7_retry: frozenset[str | int] | None = l7 if l7 and conf.mode == "http" else None
        #: an HTTP backend's tcp-response content rules (engine/loop.py sets them), () for none
        self.http_tcp_res: tuple[Any, ...] = ()
        #: the backend's tcp-request content rules (engine/loop.py sets them), () for none; they
        #: run once a frontend other than the proxy itself chose this backend
        self.tcp_content: tuple[Any, ...] = ()
        self.persist = conf.option("persist")
        #: option prefer-last-server (not for the hash-based algorithms, as 2.6): a request whose
        #: session still holds an idle connection of its own to a server goes there
        self.prefer_last = (bool(conf.option("prefer-last-server"))
                            and conf.balance.algorithm not in HASH_ALGOS)
        #: persist rdp-cookie(NAME): the cookie name (bytes), None without it
        self.rdp_persist: bytes | None = (conf.rdp_persist.encode("latin-1", "replace")
                                          if conf.rdp_persist is not None else None)
        #: max-keep-alive-queue N stored as 2.6 does (N + 1; 0: no limit)
        self.max_ka_queue = conf.max_ka_queue
        #: option http-pretend-keepalive: requests go to the servers as in keep-alive mode
        self.pretend_ka = conf.option("http-pretend-keepalive")
        if conf.fullconn:
            self.fullconn = conf.fullconn
        elif frontends_maxconn is not None:
            # 2.6: a tenth of what the frontends that may route here accept, and 1 when none does
            self.fullconn = (frontends_maxconn + 9) // 10 if frontends_maxconn else 1
        else:  # a caller that does not know the frontends (tests): a tenth of the global maxconn
            self.fullconn = (global_maxconn + 9) // 10 if global_maxconn else 0
        used: set[int] = {s.id for s in conf.servers if s.id}
        nxt = 1
        self.servers: list[Server] = []
        for sc in conf.servers:
            srv = Server(sc, self, now)
            if sc.puid:
                srv.puid = sc.puid
            elif sc.id:
                srv.puid = sc.id
            else:
                while nxt in used:
                    nxt += 1
                srv.puid = nxt
                used.add(nxt)
            self._fix_limits(srv)
            self.servers.append(srv)
        self.by_name: dict[str, Server] = {s.name: s for s in self.servers}
        self.balancer = make_balancer(conf, rand32)
        if isinstance(self.balancer, ConsistentHash):
            self.balancer.backend = self
        self.balancer.init(list(self.servers))  # its own list: add/del server update both
        self._by_cookie: dict[str, list[Server]] = {}
        #: ``cookie ... dynamic`` (2.6's PR_CK_DYNAMIC, switched by ``enable|disable dynamic-cookie
        #: backend``) and ``dynamic-cookie-key`` (``set dynamic-cookie-key backend``)
        self.dyncookie = conf.cookie is not None and conf.cookie.dynamic
        self.dyncookie_key: str | None = conf.dyncookie_key
        #: servers whose dynamic cookie is the same as another's (2.6 warns about them)
        self.dup_dyncookies: list[Server] = []
        if self.dyncookie:
            for srv in self.servers:
                self.set_dyncookie(srv)
        self._index_cookies()
        #: ``dispatch ADDR`` in a backend without ``balance`` (config/build/freeze.py drops it otherwise,
        #: as 2.6 ignores it in balance mode): a request no persistence cookie holds goes to that
        #: address, through a server object of its own that no list shows (logged ``<NOSRV>``)
        self.dispatch: Server | None = None
        if conf.dispatch is not None:
            self.dispatch = Server(ServerConf(name="<NOSRV>", address=conf.dispatch), self, now)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _fix_limits(srv: Server) -> None:
        # HAProxy's config check: minconn > maxconn -> maxconn = minconn; minconn 0 -> maxconn
        if srv.minconn > srv.maxconn:
            srv.maxconn = srv.minconn
        elif srv.maxconn and not srv.minconn:
            srv.minconn = srv.maxconn

    def _index_cookies(self) -> None:
        d: dict[str, list[Server]] = {}
        for s in self.servers:
            if s.cookie:
                d.setdefault(s.cookie, []).append(s)
        self._by_cookie = d

    @property
    def algo_name(self) -> str:
        return self.conf.balance.algorithm

    @property
    def beconn(self) -> int:
        return self.counters.scur

    def usable_counts(self) -> tuple[int, int]:
        p = self.balancer.params
        return p.srv_act, p.srv_bck

    def total_weight(self) -> int:
        """Weight of the BACKEND stats row, in user-weight units."""
        p = self.balancer.params
        return (p.tot_weight * p.wmult + p.wdiv - 1) // p.wdiv

    def server_weight(self, srv: Server) -> int:
        """Weight of a server stats row (its effective weight in user units)."""
        p = self.balancer.params
        return (srv.eweight * p.wmult + p.wdiv - 1) // p.wdiv

    def dynamic_maxconn(self, srv: Server) -> int:
        """HAProxy's srv_dynamic_maxconn (minconn/fullconn, slowstart ramp)."""
        beconn = self.counters.scur
        if beconn >= self.fullconn or srv.minconn == srv.maxconn:
            mx = srv.maxconn
        else:
            mx = max(srv.minconn, beconn * srv.maxconn // self.fullconn)
        ss = srv.conf.slowstart / 1000.0
        since = srv.slowstart_since
        if srv.state == "STARTING" and ss and since is not None and since <= self.now < since + ss:
            ratio = int(100 * int(self.now - since) / ss)
            mx = max(1, mx * ratio // 100)
        return mx

    def _next_eweight(self, srv: Server, now: float) -> int:
        """server_recalc_eweight: slowstart throttling for dynamic algorithms."""
        bal = self.balancer
        p = bal.params
        ss = srv.conf.slowstart / 1000.0
        if srv.state == "STARTING":
            # the ramp starts when we first see the server STARTING (monotonic ``now``; the
            # server's last_change is wall time, owned by the checks and the CLI)
            if srv.slowstart_since is None:
                srv.slowstart_since = now
            since = srv.slowstart_since
            if now < since or not ss or now >= since + ss:
                srv.state = "RUNNING"
        if srv.state != "STARTING":
            srv.slowstart_since = None
        started = srv.slowstart_since  # set whenever the server is STARTING (above)
        if srv.state == "STARTING" and bal.dynamic and started is not None:
            w = int((p.wdiv * int(now - started) + ss) // ss)
        else:
            w = p.wdiv
        return (srv.uweight * w + p.wmult - 1) // p.wmult

    # ------------------------------------------------------------------ state changes
    def server_state_changed(self, srv: Server, now: float) -> list[Pending]:
        """Apply a change of ``srv.state``/``srv.admin``/``srv.uweight`` to the balancer.

        Returns pendings to act upon: those with ``pending.server`` set were given a slot on
        ``srv`` (already taken); those with ``server is None`` were redistributed from the server's
        queue (the server went away; ``option redispatch`` without ``persist``) and must go
        through :meth:`select` again.
        """
        self.now = now
        bal = self.balancer
        was = srv.lb.usable
        bal.update(srv, self._next_eweight(srv, now))
        out: list[Pending] = []
        if was and not srv.lb.usable:
            if self.redispatch and not self.persist and len(srv.queue):
                while True:
                    p = srv.queue.pop(now)
                    if p is None:
                        break
                    p.server = None
                    out.append(p)
        elif srv.lb.usable:
            out.extend(self.process_queue(srv, now))
        bal.refresh(srv)
        if out and self.on_pendings is not None:
            self.on_pendings(out)
        return out

    def warmup(self, now: float) -> None:
        """Slowstart: re-evaluate the weight of servers in STARTING state; the engine calls it
        about once a second while ``any(s.state == "STARTING" for s in be.servers)``."""
        for s in self.servers:
            if s.state == "STARTING":
                self.server_state_changed(s, now)

    def set_weight(self, srv: Server, w: int, now: float) -> str:
        """``set weight`` with an absolute weight already parsed; returns "" or the CLI error."""
        if w < 0 or w > 256:
            return "Absolute weight can only be between 0 and 256 inclusive.\n"
        if w and w != srv.iweight and not self.balancer.dynamic:
            return STATIC_WEIGHT_MSG
        srv.uweight = w
        self.server_state_changed(srv, now)
        return ""

    def parse_weight(self, srv: Server, text: str, now: float) -> str:
        """``set weight BE/SRV W[%]`` argument as HAProxy parses it; returns "" or the error."""
        if not text:
            return "Require <weight> or <weight%>.\n"
        i = 0
        if i < len(text) and text[i] in "+-":
            i += 1
        j = i
        while j < len(text) and text[j].isdigit():
            j += 1
        if j == i:
            return "Empty weight string empty or preceded by garbage"
        w = int(text[:j])
        rest = text[j:]
        if rest == "%":
            if w < 0:
                return "Relative weight must be positive.\n"
            w = min(w, 25600)
            w = min(srv.iweight * w // 100, 256)
        elif w < 0 or w > 256:
            return "Absolute weight can only be between 0 and 256 inclusive.\n"
        elif rest:
            return "Trailing garbage in weight string"
        return self.set_weight(srv, w, now)

    def add_server(self, conf: ServerConf, now: float) -> Server:
        """``add server``: the new server starts in maintenance (HAProxy's dynamic servers)."""
        if not self.balancer.dynamic:
            raise ValueError("Backend must use a dynamic load balancing to support dynamic servers.")
        if conf.name in self.by_name:
            raise ValueError("Already exists a server with the same name in backend.")
        srv = Server(conf, self, now)
        used = {s.puid for s in self.servers}
        puid = conf.id or conf.puid or 1
        while puid in used:
            puid += 1
        srv.puid = puid
        srv.dynamic = True
        srv.admin.add("FMAINT")
        self._fix_limits(srv)
        self.servers.append(srv)
        self.by_name[srv.name] = srv
        self.balancer.add_server(srv)
        self.balancer.update(srv, self._next_eweight(srv, now))
        self._index_cookies()
        return srv

    def del_server(self, srv: Server) -> None:
        """``del server``: only a server in maintenance without traffic may go."""
        if not srv.in_maint:
            raise ValueError("Only servers in maintenance mode can be deleted.")
        if srv.served or len(srv.queue):
            raise ValueError("Server still has connections attached to it, cannot remove it.")
        self.balancer.update(srv, 0)
        self.balancer.remove_server(srv)
        self.servers.remove(srv)
        self.by_name.pop(srv.name, None)
        self._index_cookies()

    # ------------------------------------------------------------------ dynamic cookies
    def set_dyncookie(self, srv: Server) -> None:
        """2.6's dynamic cookie of a server without a ``cookie`` of its own, while the backend has
        ``cookie ... dynamic`` and a key: the 16 hex digits of XXH64 (seed 0) over the key, the
        server's address (4 or 16 bytes, network order) and its port as 4 bytes in network order.
        Servers at a name or a unix socket get none. Call ``_index_cookies`` afterwards."""
        if srv.conf.cookie is not None or not self.dyncookie or self.dyncookie_key is None:
            return
        try:
            ip = ipaddress.ip_address(srv.host)
        except ValueError:
            return
        data = (self.dyncookie_key.encode("latin-1", "replace") + ip.packed
                + (srv.port & 0xFFFFFFFF).to_bytes(4, "big"))
        srv.cookie = f"{xxh64(data):016x}"
        if srv.in_maint:  # 2.6 checks no duplicates for a server in maintenance
            return
        if any(o is not srv and o.cookie == srv.cookie and not o.in_maint for o in self.servers):
            self.dup_dyncookies.append(srv)

    def set_dyncookies(self) -> None:
        """Every server's dynamic cookie again (enable dynamic-cookie, set dynamic-cookie-key)."""
        for srv in self.servers:
            self.set_dyncookie(srv)
        self._index_cookies()

    def clear_dyncookies(self) -> None:
        """``disable dynamic-cookie backend``: servers without a cookie of their own lose theirs."""
        self.dyncookie = False
        for srv in self.servers:
            if srv.conf.cookie is None:
                srv.cookie = None
        self._index_cookies()

    # ------------------------------------------------------------------ persistence
    def rdp_lookup(self, data: bytes) -> Server | None:
        """``persist rdp-cookie``: the server an RDP request's ``Cookie: NAME=ADDR.PORT.`` names,
        as 2.6 reads it: ADDR the decimal of the IPv4 address's 4 bytes as a little-endian
        integer, PORT the byte-swapped port, each followed by a dot (strtoul: leading blanks and
        a sign accepted, wrapped to 32 and 16 bits). The server must not be stopped (or
        ``option persist``). None: no (valid) cookie or no such server."""
        assert self.rdp_persist is not None
        raw = rdp_cookie(data, self.rdp_persist)
        if not raw:
            return None
        addr, i = _strtoul(raw, 0)
        if raw[i:i + 1] != b".":
            return None
        port, j = _strtoul(raw, i + 1)
        if raw[j:j + 1] != b".":
            return None
        addr &= 0xFFFFFFFF
        port &= 0xFFFF
        port = ((port & 0xFF) << 8) | (port >> 8)
        for srv in self.servers:
            if srv.port != port:
                continue
            try:
                ip = ipaddress.ip_address(srv.host)
            except ValueError:
                continue
            if ip.version != 4 or int.from_bytes(ip.packed, "little") != addr:
                continue
            if not (srv.state == "STOPPED" or srv.in_maint) or self.persist:
                return srv
        return None

    def persist_lookup(self, value: str, *, force: bool = False) -> tuple[Server | None, str]:
        """Server designated by a persistence cookie value, and the log flag (V, D or I)."""
        if not value:
            return None, "I"
        flag = "I"
        for s in self._by_cookie.get(value, ()):
            down = s.in_maint or s.state == "STOPPED"
            if not down or self.persist or force:
                return s, ("D" if down else "V")
            flag = "D"
        return None, flag

    # ------------------------------------------------------------------ selection
    def select(self, req: LbRequest | None, now: float, *, avoid: Server | None = None,
               owner: Any = None, forced: Server | None = None, force_persist: bool = False,
               assigned: Server | None = None, prio: tuple[int, int] | None = None,
               last: Iterable[Server] | None = None) -> Decision:
        """In 2.6's order: ``assigned`` (a use-server rule's server; a persistence cookie is then
        unused, flag U), the persistence cookie, ``forced`` (the server a stick table designates),
        load balancing. ``force_persist``: a ``force-persist`` rule holds (a cookie's server even
        when down). A retry after a failed connection (``avoid``) chooses again. ``prio``: the
        request's (class, offset) when set-priority-class/offset ran for it (its place in a
        queue, runtime/queue.py), None: the default one. ``last``: with prefer-last-server, the
        servers the session holds an idle connection to, in the order it got them."""
        self.now = now
        self._prio = prio
        if avoid is not None:
            return self._lb(req, now, owner, avoid)
        has_cookie = req is not None and req.cookie is not None and self.cookie is not None
        if assigned is not None:
            d = self._direct(assigned, req, now, owner)
            if has_cookie:
                d.cookie_flag = "U"
            return d
        flag = ""
        if has_cookie:
            assert req is not None and req.cookie is not None
            srv, flag = self.persist_lookup(req.cookie, force=force_persist)
            if srv is not None:
                d = self._assign(srv, now, owner, persistent=True, by_lb=False)
                if d.status == FULL and self.redispatch:
                    d2 = self._lb(req, now, owner, srv)
                    d2.cookie_flag = "D"
                    return d2
                if d.status == FULL:
                    srv.counters.econ += 1
                    self.counters.econ += 1
                d.cookie_flag = flag
                return d
        if forced is not None:
            d = self._direct(forced, req, now, owner)
        elif last is not None and (srv := self._last_server(last)) is not None:
            d = self._direct(srv, req, now, owner)
        else:
            d = self._lb(req, now, owner, None)
        if flag:
            d.cookie_flag = flag
        return d

    def _last_server(self, last: Iterable[Server]) -> Server | None:
        """2.6's prefer-last-server: the first of ``last`` of this backend that is usable (up or
        stopping, not in maintenance or drain, weight > 0) and, with max-keep-alive-queue, has a
        free slot or a queue shorter than the limit."""
        ka = self.max_ka_queue
        for srv in last:
            if srv.backend is not self:
                continue
            if ka and not (not srv.maxconn or srv.served < self.dynamic_maxconn(srv)
                           or len(srv.queue) + 1 < ka):
                continue
            if srv.state == "STOPPED" or srv.in_maint or srv.in_drain or srv.eweight <= 0:
                continue
            return srv
        return None

    def _direct(self, srv: Server, req: LbRequest | None, now: float, owner: Any) -> Decision:
        """A server chosen before load balancing (use-server, stick table), as 2.6 assigns it: its
        queue when it is full, or another server with ``option redispatch``."""
        d = self._assign(srv, now, owner, persistent=True, by_lb=False)
        if d.status == FULL and self.redispatch:
            return self._lb(req, now, owner, srv)
        if d.status == FULL:
            srv.counters.econ += 1
            self.counters.econ += 1
        return d

    def _lb(self, req: LbRequest | None, now: float, owner: Any, prev: Server | None) -> Decision:
        if self.dispatch is not None:
            return Decision(OK, self.dispatch)
        bal = self.balancer
        p = bal.params
        if not p.tot_weight:
            if prev is not None:
                prev.counters.wredis += 1
                self.counters.wredis += 1
            self.counters.econ += 1
            return Decision(NOSRV, redispatched=prev is not None)
        srv: Server | None = None
        if not (len(self.queue) and len(self.queue) != self.counters.scur
                and bal.name in ("roundrobin", "static-rr", "first")):
            srv = bal.pick(req, prev)
        redispatched = False
        if prev is not None:
            if srv is not prev:
                prev.counters.wredis += 1
                self.counters.wredis += 1
                redispatched = True
            else:
                prev.counters.wretr += 1
                self.counters.wretr += 1
        if srv is None:
            pend = self._enqueue(None, now, owner)
            return Decision(QUEUED, None, pending=pend, redispatched=redispatched)
        if srv is not prev:
            srv.counters.lbtot += 1
            self.counters.lbtot += 1
        d = self._assign(srv, now, owner, persistent=False, by_lb=True)
        d.redispatched = redispatched
        if d.status == FULL:
            srv.counters.econ += 1
            self.counters.econ += 1
        return d

    def _assign(self, srv: Server, now: float, owner: Any, *, persistent: bool, by_lb: bool) -> Decision:
        """assign_server_and_queue for a server already chosen."""
        if srv.maxconn and (len(srv.queue) or srv.served >= self.dynamic_maxconn(srv)):
            if srv.maxqueue > 0 and len(srv.queue) >= srv.maxqueue:
                return Decision(FULL, srv, persistent=persistent, by_lb=by_lb)
            pend = self._enqueue(srv, now, owner)
            return Decision(QUEUED, srv, persistent=persistent, by_lb=by_lb, pending=pend)
        return Decision(OK, srv, persistent, by_lb)

    def _enqueue(self, srv: Server | None, now: float, owner: Any) -> Pending:
        prio = self._prio
        key = -1 if prio is None else make_key(now, prio[0], prio[1])
        if srv is not None:
            pend = srv.queue.push(Pending(owner, now, srv, self, key))
            n = len(srv.queue)
            if n > srv.counters.qmax:
                srv.counters.qmax = n
            self.balancer.refresh(srv)
        else:
            pend = self.queue.push(Pending(owner, now, None, self, key))
            n = len(self.queue)
            if n > self.counters.qmax:
                self.counters.qmax = n
        return pend

    # ------------------------------------------------------------------ slots
    def _hold(self, srv: Server, owner: Any) -> bool:
        """Give a slot of ``srv`` to ``owner`` (False: the owner holds one there already)."""
        if owner is None:
            srv.anon_slots += 1
        else:
            held = srv.slot_owners
            if owner in held:
                return False
            held.add(owner)
        srv.served += 1
        self.served += 1
        if srv is not self.dispatch:
            self.balancer.take(srv)
        return True

    def holds(self, srv: Server, owner: Any) -> bool:
        """Whether ``owner`` holds a slot of ``srv``."""
        return owner in srv.slot_owners

    def take(self, srv: Server, now: float, owner: Any = None) -> None:
        """A request starts using ``srv`` (HAProxy's sess_change_server to srv). Taking a slot
        the owner already holds on ``srv`` does nothing (``_hold`` inlined: once per request)."""
        self.now = now
        if owner is None:
            srv.anon_slots += 1
        else:
            held = srv.slot_owners
            if owner in held:
                return
            held.add(owner)
        srv.served += 1
        self.served += 1
        if srv is not self.dispatch:
            self.balancer.take(srv)

    def release(self, srv: Server, now: float, owner: Any = None) -> Pending | None:
        """``owner`` stopped using ``srv``; returns the pending request that now gets the slot
        (already granted on ``pending.server``), if any. More may follow with :meth:`process_queue`
        when the dynamic maxconn grew. Owner-checked and idempotent: nothing happens (None) when
        ``owner`` holds no slot of ``srv``."""
        self.now = now
        if owner is None:
            if not srv.anon_slots:
                return None
            srv.anon_slots -= 1
        else:
            held = srv.slot_owners
            if owner not in held:
                return None
            held.discard(owner)
        srv.served -= 1
        self.served -= 1
        if srv is self.dispatch:
            return None
        bal = self.balancer
        bal.drop(srv)
        if not srv.maxconn:  # process_queue gives nothing to a server without maxconn
            bal.refresh(srv)
            return None
        got = self.process_queue(srv, now, limit=1)
        bal.refresh(srv)
        return got[0] if got else None

    def _serves_backend_queue(self, srv: Server) -> bool:
        """May ``srv`` take requests of the backend queue (usable; a backup only when no active
        server is usable and it is the first backup, or with ``option allbackups``)?"""
        p = self.balancer.params
        return srv.lb.usable and (not srv.backup or (not p.srv_act and (srv is p.fbck or p.allbackups)))

    def process_queue(self, srv: Server, now: float, limit: int = 0) -> list[Pending]:
        """process_srv_queue: give free slots of ``srv`` to the oldest pending requests of its own
        queue or (if it may serve them) of the backend queue; ties go to the server queue. Each
        returned pending holds its slot (``granted``) in its owner's name; an entry whose owner
        is closed (an engine session's ``closed``) is dropped, never granted. A server without
        maxconn has no limit: it takes them all (what 2.6 does for a server coming up)."""
        self.now = now
        out: list[Pending] = []
        mx = self.dynamic_maxconn(srv) if srv.maxconn else 0
        own = srv.queue
        bq = self.queue
        while not mx or srv.served < mx:
            a = own.peek(now)
            b = bq.peek(now) if len(bq) and self._serves_backend_queue(srv) else None
            if a is None and b is None:
                break
            if b is None or (a is not None and self._server_first(a, b, now)):
                own.pop(now)
                pend = a
            else:
                bq.pop(now)
                pend = b
            assert pend is not None
            if getattr(pend.owner, "closed", False):
                continue  # a session that ended without leaving (never happens: see cancel)
            pend.server = srv
            if not self._hold(srv, pend.owner):
                continue  # its owner holds a slot here already: the entry is simply over
            pend.granted = True
            out.append(pend)
            if limit and len(out) >= limit:
                break
        return out

    @staticmethod
    def _server_first(a: Pending, b: Pending, now: float) -> bool:
        """Whether the server queue's next entry ``a`` goes before the backend queue's ``b``: the
        older one, or with priorities 2.6's comparison (class, then time key; ties: the server's)."""
        if a.key < 0 and b.key < 0:
            return a.since <= b.since
        return order(a.key if a.key >= 0 else make_key(a.since), now) <= \
            order(b.key if b.key >= 0 else make_key(b.since), now)

    def claim(self, pend: Pending) -> bool:
        """The owner of a dequeued ``pend`` takes over the slot it was granted: True when the
        slot is still held in its name (then it is the owner's, to :meth:`release` later)."""
        if not pend.granted:
            return False
        pend.granted = False
        return pend.server is not None and pend.owner in pend.server.slot_owners

    def cancel(self, pend: Pending, now: float | None = None) -> list[Pending]:
        """A pending request ends (queue timeout, client abort, session end): it leaves its
        queue at once; if a slot was granted to it and not claimed, the slot is given back and
        the pendings it went to are returned (idempotent: a second cancel does nothing)."""
        if now is not None:
            self.now = now
        if pend.active:
            if pend.server is not None:
                pend.server.queue.remove(pend)
                self.balancer.refresh(pend.server)
            else:
                self.queue.remove(pend)
            return []
        if pend.granted:
            pend.granted = False
            srv = pend.server
            if srv is not None:
                got = self.release(srv, self.now, pend.owner)
                return [got] if got is not None else []
        return []

    def set_maxconn(self, srv: Server, value: int, now: float) -> list[Pending]:
        """``set maxconn server``: a static limit (minconn == maxconn) moves both, a dynamic one
        only maxconn (2.6); a higher limit (or none, 0) dequeues at once. The pendings given a
        slot are passed to ``on_pendings`` and returned."""
        if srv.maxconn == srv.minconn:
            srv.maxconn = srv.minconn = value
        else:
            srv.maxconn = value
        out = self.process_queue(srv, now)
        self.balancer.refresh(srv)
        if out and self.on_pendings is not None:
            self.on_pendings(out)
        return out

    # ------------------------------------------------------------------ retries
    def on_connect_error(self, srv: Server, attempt: int, *, persistent: bool = False,
                         timeout: bool = False, reused: bool = False,
                         force_persist: bool = False) -> RetryAction:
        """What to do after connection attempt number ``attempt`` (0 = the first one) to ``srv``
        failed (HAPROXY_FACTS 5.2/5.3). Counts ``wretr`` for a retry on the same server and
        ``econ`` on the final failure (``wredis`` is counted by the next ``select(avoid=srv)``).
        """
        retry = attempt + 1  # the retry about to be made
        if retry > self.retries or not self.conn_retry:
            srv.counters.econ += 1
            self.counters.econ += 1
            return RetryAction(FAIL)
        p = self.balancer.params
        delay = 0.0
        if not timeout and not reused:
            ct = self.conf.timeouts.connect
            delay = 1.0 if not ct else min(1.0, ct / 1000.0)
        if self._redispatches(srv, retry, persistent, force_persist):
            return RetryAction(REDISPATCH, delay if p.srv_act <= 1 else 0.0)
        srv.counters.wretr += 1
        self.counters.wretr += 1
        return RetryAction(RETRY, delay)

    def _redispatches(self, srv: Server, retry: int, persistent: bool, force_persist: bool) -> bool:
        """2.6's stream_choose_redispatch: whether retry number ``retry`` goes to another server."""
        rd = self.redispatch
        p = self.balancer.params
        return bool(rd and not force_persist and (
            not srv.is_up or srv.state == "STARTING"
            or (rd > 0 and retry % rd == 0)
            or (rd < 0 and (self.retries + 1 + rd) > 0 and retry % (self.retries + 1 + rd) == 0)
            or (not persistent and p.srv_act > 1 and self.balancer.kind != "hash")))

    def on_l7_error(self, srv: Server, attempt: int, *, persistent: bool = False,
                    force_persist: bool = False) -> RetryAction:
        """A layer 7 retry-on event (an empty or junk response, a response timeout, a status of
        the list) after attempt number ``attempt`` to ``srv``: retry at once (no turn-around delay),
        on the same server or redispatched as a failed connection would be, or FAIL once the
        ``retries`` are spent (the event then ends the request as without retry-on). 2.6 counts a
        retry of the server and backend (``wretr``) for each, and once more when it stays on the
        same server (do_l7_retry, then stream_choose_redispatch)."""
        retry = attempt + 1
        if retry > self.retries:
            return RetryAction(FAIL)
        srv.counters.wretr += 1
        self.counters.wretr += 1
        if self._redispatches(srv, retry, persistent, force_persist):
            return RetryAction(REDISPATCH)
        srv.counters.wretr += 1
        self.counters.wretr += 1
        return RetryAction(RETRY)


def frontends_maxconn(proxies: Iterable[Proxy], backend: str, global_maxconn: int) -> int:
    """The sum of ``maxconn`` of the enabled frontends that may send traffic to ``backend`` (its own
    frontend side for a listen, ``default_backend``, a ``use_backend`` naming it), as 2.6 sums them
    to derive a backend's default ``fullconn``."""
    total = 0
    for p in proxies:
        if not p.has_fe or p.disabled:
            continue
        if p.name == backend or p.default_backend == backend or any(u.backend == backend for u in p.use_backends):
            total += p.maxconn if p.maxconn is not None else global_maxconn
    return total
