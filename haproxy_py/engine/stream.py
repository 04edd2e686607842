"""Client sessions: route -> select -> queue -> connect (retries, redispatch) -> forward -> log.

``Router`` (engine/router.py) is per frontend: it accepts connections and starts the sessions.
``Stream`` holds what TCP and HTTP sessions share
(server assignment, queueing, connection attempts, logging); ``TcpSession`` and ``HttpSession``
(engine/http.py) move the bytes. Every policy decision is asked of the pure layers.
"""

from __future__ import annotations

import socket
import time
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

from haproxy_py._mypyc import mypyc_attr
from haproxy_py.acl.fetch import RequestContext
from haproxy_py.conn.errors import SSL_FATAL, server_failure
from haproxy_py.engine.conn import Conn
from haproxy_py.engine.connect import Connector
from haproxy_py.engine.tcp import ProfTunnel, Tunnel, splice_enabled
from haproxy_py.lb.base import LbRequest
from haproxy_py.log.format import LogRecord, set_term
from haproxy_py.samples.txn import PROC_VARS, release_vars

if TYPE_CHECKING:  # pragma: no cover
    from haproxy_py.engine.router import Router

_wall = time.time
#: a termination phase held by TcpSession.kill() until the session's end (logged as "-")
_HELD = "\x00"


#: address strings shared by the sessions that have the same one (accept() and getsockname()
#: return a new string each time: about 60 bytes per session and side); cleared when full
_ADDRS: dict[str, str] = {}


def _shared_ip(ip: str) -> str:
    got = _ADDRS.get(ip)
    if got is None:
        if len(_ADDRS) >= 4096:
            _ADDRS.clear()
        got = _ADDRS[ip] = ip
    return got


def _addr_str(sa: Any) -> tuple[str, int]:
    if isinstance(sa, tuple):
        return _shared_ip(str(sa[0])), int(sa[1])
    return "unix", 0


def hash_sample(hx: Any, txn: Any) -> bytes | None:
    """``balance hash EXPR``: the expression's sample cast to binary (an integer as 8 bytes, an
    address as 4 or 16), or None (no key: the backend balances as round-robin)."""
    from haproxy_py.samples.types import cast

    smp = hx(txn)
    if smp is None:
        return None
    b = cast(smp, "bin")
    return None if b is None else b.value


def adopt_addresses(s: Any, txn: Any) -> None:
    """A session takes over the addresses rules rewrote (set-src / set-dst and their ports)."""
    rec = s.rec
    if txn.src is not s.src_ip or txn.src_port != s.src_port:
        s.src_ip = rec.client_ip = txn.src
        s.src_port = rec.client_port = txn.src_port
    if txn.dst is not rec.frontend_ip or txn.dst_port != rec.frontend_port:
        rec.frontend_ip, rec.frontend_port = txn.dst, txn.dst_port


def silent_drop(sock: socket.socket) -> None:
    """Prepare a socket so that closing it tells the client nothing (silent-drop): TCP_REPAIR where
    allowed (no FIN, no RST), else a TTL of 1 so the reset ends at the first router (as 2.6 does)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, 19, 1)  # TCP_REPAIR
        return
    except OSError:
        pass
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
    except OSError:
        pass


#: timeouts from this long on go to the shared TimerWheel; shorter ones get a loop timer each
WHEEL_MIN_MS = 1000
#: the wheel's tick (seconds): a wheel timeout fires at most this late
WHEEL_TICK = 1 / 128
#: deadlines this far ahead (seconds) or more wait in coarser buckets first (TimerWheel.add)
WHEEL_FAR = 8.0


@mypyc_attr(native_class=False)  # the accelerator (mypyc) compiles no subclass of a builtin type
class _Bucket(set[Any]):
    """The sessions whose lazy timer fires at one tick of a TimerWheel."""

    __slots__ = ("tick", "wheel")
    tick: int
    # a TimerWheel: not named here, the accelerator (mypyc) would evaluate the name before that
    # class exists (a crash at import)
    wheel: Any

    def drop(self, sess: Any) -> None:
        """``sess`` leaves the bucket; an emptied bucket leaves its wheel at once (it held a
        deadline that moved earlier: nothing of it is kept until its tick)."""
        self.discard(sess)
        if not self:
            self.wheel.forget(self)


class TimerWheel:
    """The sessions' long timeouts: one bucket per tick (WHEEL_TICK) that has sessions in it and
    one loop timer for the whole wheel (set for its earliest tick), instead of a loop timer per
    session or per tick: a loop timer handle, its context and the bound method cost hundreds of
    bytes each. A session's ``timer`` is then the bucket it sits in (``drop`` takes it out, and an
    emptied bucket is forgotten at once); the tick calls each one's ``_timer_fire``."""

    __slots__ = ("loop", "buckets", "ticks", "handle", "armed")

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.buckets: dict[int, _Bucket] = {}
        #: a heap of the ticks that have a bucket (and of some whose bucket was forgotten since:
        #: skipped when reached, compacted away when they are the most)
        self.ticks: list[int] = []
        #: the loop timer, set for tick ``armed`` (0: none)
        self.handle: Any = None
        self.armed = 0

    def add(self, when: float, sess: Any, ahead: float = 0.0) -> _Bucket:
        """``sess`` fires at the first tick at or after ``when``, ``ahead`` seconds from now. A
        deadline WHEEL_FAR or more ahead goes to a coarser tick before it (a power of two of ticks,
        an eighth of the wait at most), shared by the sessions that came in that span: the session
        then re-arms for its deadline (Stream._timer_fire), a few wake-ups in all for a 300 s idle
        timeout instead of a bucket per session of its own when the sessions come slowly."""
        tick = -int(-when // WHEEL_TICK)  # the first tick at or after ``when``
        if ahead >= WHEEL_FAR:
            g = 1 << (int(ahead * (0.125 / WHEEL_TICK)).bit_length() - 1)
            tick -= tick % g
        b = self.buckets.get(tick)
        if b is None:
            b = self.buckets[tick] = _Bucket()
            b.tick = tick
            b.wheel = self
            heappush(self.ticks, tick)
            if tick < self.armed or not self.armed:
                self._arm(tick)
        b.add(sess)
        return b

    def forget(self, b: _Bucket) -> None:
        buckets = self.buckets
        if buckets.get(b.tick) is b:
            del buckets[b.tick]
            if len(self.ticks) > 64 + 2 * len(buckets):
                self.ticks = sorted(buckets)  # a sorted list is a heap
        # the loop timer stays: it fires for nothing once at most, then follows the heap

    def _arm(self, tick: int) -> None:
        h = self.handle
        if h is not None:
            h.cancel()
        self.armed = tick
        self.handle = self.loop.call_at(tick * WHEEL_TICK, self._fire)

    def _fire(self) -> None:
        self.handle = None
        lp = self.loop
        # the ticks due: the one the timer was set for and any the clock passed (the buckets are
        # taken first: a session that re-arms goes to a later tick, fired by a later timer)
        limit = max(self.armed, int(lp.time() // WHEEL_TICK))
        self.armed = 0
        ticks = self.ticks
        buckets = self.buckets
        due: list[_Bucket] = []
        while ticks and ticks[0] <= limit:
            b = buckets.pop(heappop(ticks), None)
            if b:
                due.append(b)
        if due:
            prof = getattr(lp, "prof", None)  # task profiling (engine/taskprof.py, lat_ns_*): the
            stamp = prof is not None and prof.get("tasks") == "on"  # sessions were woken now
            if stamp:
                lp.event_ns = time.monotonic_ns()
            try:
                for b in due:
                    for sess in list(b):
                        if sess.timer is b:
                            try:
                                sess._timer_fire()
                            except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
                                sess.internal_error(exc, "timer")
            finally:
                if stamp:
                    lp.event_ns = 0
        while ticks and ticks[0] not in buckets:
            heappop(ticks)
        if ticks and (not self.armed or ticks[0] < self.armed):
            self._arm(ticks[0])


class Stream:
    """What TCP and HTTP sessions share: server assignment, queueing, connection attempts, logs."""

    __slots__ = ("router", "engine", "loop", "fe", "cli_sock", "peer", "listener", "rec", "be",
                 "srv", "lbreq", "persistent", "attempt", "connector", "pending", "timer",
                 "accept_mono", "closed", "src_ip", "src_port", "prev_srv", "queued_at", "has_slot",
                 "connect_started", "t_deadline", "t_sched", "t_cb", "faulted", "sess_stkctr", "stk_txn",
                 "stick_srv", "stick_stores", "prst", "use_srv",
                 "prio", "cli_epoch", "__weakref__")

    def __init__(self, router: Router, sock: socket.socket, peer: Any, listener: Any) -> None:
        self.router = router
        self.engine = router.engine
        self.loop = router.engine.loop
        self.fe = router.frontend
        self.cli_sock = sock
        #: the client's address as accepted when it is not an (ip, port) tuple, else None: the
        #: tuple and its text are not kept (``peer_addr()`` asks the socket again, which few do)
        self.peer = None if type(peer) is tuple else peer
        self.listener = listener
        self.accept_mono = self.loop.time()
        #: stick counters: the session's (tcp-request connection/session track-sc), and the
        #: transaction whose stream counters a TCP session releases at its end (None: nothing)
        self.sess_stkctr: Any = None
        self.stk_txn: Any = None
        #: stick match: the server the backend's table designates for this request (None: none);
        #: the keys the stick store rules write once the server answered (None: no stick rules)
        self.stick_srv: Any = None
        self.stick_stores: Any = None
        #: the server a use-server rule assigned (None: none)
        self.use_srv: Any = None
        #: (class, offset) set-priority-class/offset gave the request (None: the default)
        self.prio: tuple[int, int] | None = None
        #: the ``show sess`` epoch of a session that takes no weak reference (compiled by the
        #: accelerator: stats/commands.py); -1 until a ``show sess`` saw it
        self.cli_epoch = -1
        rec = LogRecord(_wall())
        if type(peer) is tuple:
            rec.client_ip = self.src_ip = _shared_ip(str(peer[0]))
            rec.client_port = self.src_port = int(peer[1])
        else:
            ip, port = _addr_str(peer)
            rec.client_ip = self.src_ip = ip
            rec.client_port = self.src_port = port
        local = getattr(listener, "local", None)
        if local is not None:
            fi, fp = local
        else:
            try:
                fi, fp = _addr_str(sock.getsockname())
            except OSError:
                fi, fp = "", 0
        rec.frontend_ip, rec.frontend_port = fi, fp
        rec.frontend_name = router.conf.name
        self.rec = rec
        self.be: Any = None
        self.srv: Any = None
        self.prev_srv: Any = None
        self.lbreq: LbRequest | None = None
        self.persistent = False
        #: force-persist ("F") / ignore-persist ("I") held for this request ("" otherwise)
        self.prst = ""
        self.attempt = 0
        self.connector: Connector | None = None
        self.pending: Any = None
        self.timer: Any = None
        self.t_deadline = 0.0
        self.t_sched = 0.0
        self.t_cb: Any = None
        self.closed = False
        #: an internal error was counted and logged for this session (once)
        self.faulted = False
        self.queued_at = 0.0
        self.has_slot = False
        self.connect_started = 0.0
        self.engine.state.sessions.add(self)

    # -------------------------------------------------------------- helpers
    def peer_addr(self) -> Any:
        """The client's address as it was accepted (before set-src or the PROXY protocol)."""
        if self.peer is not None:
            return self.peer
        try:
            return self.cli_sock.getpeername()
        except OSError:
            return (self.src_ip, self.src_port)  # gone already: what the session last knew

    def ms(self) -> int:
        """Milliseconds since accept (for log timers)."""
        return int((self.loop.time() - self.accept_mono) * 1000)

    # Timers are lazy: one loop timer per session at most, re-armed only when a deadline moves
    # earlier; a later deadline just updates ``t_deadline`` and the timer re-schedules itself when
    # it fires early. Re-arming per request then costs two attribute stores, not a call_later.
    # Timeouts of WHEEL_MIN_MS and more go to the TimerWheel (one loop timer for them all), at most
    # one tick late: an idle session then holds no loop timer of its own, only its bucket place.
    # ``cb`` is a callable or the name of a method of the session, looked up when the timer fires
    # (an idle keep-alive session's head timeout: no bound method held while it waits).
    def arm(self, timeout_ms: int | None, cb: Any) -> None:
        if not timeout_ms:
            self.t_cb = None
            return
        deadline = self.loop.time() + timeout_ms / 1000.0
        self.t_deadline = deadline
        self.t_cb = cb
        h = self.timer
        if h is None or self.t_sched > deadline:
            if h is not None:
                if type(h) is _Bucket:
                    h.drop(self)
                else:
                    h.cancel()
            self.t_sched = deadline
            if timeout_ms >= WHEEL_MIN_MS:
                self.timer = self.engine_wheel().add(deadline, self, timeout_ms / 1000.0)
            else:
                self.timer = self.loop.call_at(deadline, self._timer_fire)

    def engine_wheel(self) -> TimerWheel:
        eng = self.engine
        w: TimerWheel | None = getattr(eng, "timer_wheel", None)
        if w is None or w.loop is not self.loop:
            w = eng.timer_wheel = TimerWheel(self.loop)
        return w

    def disarm(self) -> None:
        self.t_cb = None

    def cancel_timer(self) -> None:
        """Really drop the loop timer (session end: nothing may keep the session alive)."""
        self.t_cb = None
        h = self.timer
        if h is not None:
            if type(h) is _Bucket:
                h.drop(self)
            else:
                h.cancel()
            self.timer = None

    def _timer_fire(self) -> None:
        self.timer = None
        cb = self.t_cb
        if cb is None or self.closed:
            return
        now = self.loop.time()
        if now < self.t_deadline:
            self.t_sched = self.t_deadline
            if self.t_deadline - now >= WHEEL_MIN_MS / 1000.0:
                self.timer = self.engine_wheel().add(self.t_deadline, self, self.t_deadline - now)
            else:
                self.timer = self.loop.call_at(self.t_deadline, self._timer_fire)
            return
        self.t_cb = None
        try:
            if type(cb) is str:
                cb = getattr(self, cb)
            cb()
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            self.internal_error(exc, "timer")

    # -------------------------------------------------------------- server assignment
    def assign(self) -> None:
        """Choose a server (or queue, or fail with 503 semantics). runtime/backend.py decides."""
        be = self.be
        now = self.loop.time()
        # prefer-last-server: the servers this session keeps idle connections of its own to
        # (engine/http.py priv_conns; None in TCP sessions)
        last = getattr(self, "priv_conns", None) if be.prefer_last else None
        d = be.select(self.lbreq, now, avoid=self.prev_srv, owner=self, forced=self.stick_srv,
                      force_persist=self.prst == "F", assigned=self.use_srv, prio=self.prio, last=last)
        if d.redispatched:
            self.rec.redispatched = True
        if d.cookie_flag:
            self.cookie_flag(d.cookie_flag)
        self.persistent = d.persistent
        st = d.status
        if st == "ok":
            srv = d.server
            be.take(srv, now, self)
            self.srv = srv
            self.has_slot = True
            self.rec.t_queue = int((now - self.accept_mono) * 1000)
            # 2.6 averages the queue time over every request that got a server: 0 for this one
            be.counters.qtime.add(0)
            srv.counters.qtime.add(0)
            self.connect()
        elif st == "queued":
            self.pending = d.pending
            self.queued_at = now
            self.srv = None
            tq = be.conf.timeouts.queue if be.conf.timeouts.queue is not None else be.conf.timeouts.connect
            self.arm(tq, self._queue_timeout)
            self.queued()
        else:
            # no usable server, or the persistent server's queue is full (maxqueue): HAProxy logs
            # the latter with that server's name and "SQ"
            self.srv = None
            if st != "nosrv" and d.server is not None:
                self.rec.server_name = d.server.name
                self.no_server("SQ")
            else:
                self.no_server("SC" if st == "nosrv" else "sQ")

    def cookie_flag(self, flag: str) -> None:
        """The request cookie letter chosen by the backend (HTTP sessions record it)."""
        return None

    def queued(self) -> None:
        """Hook: the request waits in a queue."""
        return None

    def _mark_queue_done(self) -> None:
        self.rec.t_queue = self.ms()

    def dequeued(self, pend: Any) -> None:
        """The queue entry ``pend`` was given a slot of ``pend.server`` (held in our name): take it
        over and connect. A late wake-up for an entry this session no longer waits on (its
        request ended, or the slot was already taken over) gives back a slot still granted."""
        be = pend.backend
        if pend is not self.pending or self.closed:
            if pend.granted:
                self.engine.wake_pendings(be.cancel(pend, self.loop.time()))
            return
        self.pending = None
        self._queue_moved(pend)
        srv = pend.server
        if not be.claim(pend):
            return  # released behind our back: nothing is ours (cannot happen: see Backend.claim)
        self.has_slot = True
        self.srv = srv
        self.disarm()
        qt = int((self.loop.time() - self.queued_at) * 1000)
        be.counters.qtime.add(qt)
        srv.counters.qtime.add(qt)
        self._mark_queue_done()
        self.connect()

    def woken(self, pend: Any) -> None:
        """The loop runs a queue wake-up (Engine.wake_pendings): a granted slot or a redispatch."""
        try:
            if pend.granted:
                self.dequeued(pend)
            else:
                self.requeue(pend)
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            self.internal_error(exc, "dequeue")

    def requeue(self, pend: Any) -> None:
        """Our queued request's server went away: choose again (redispatch)."""
        if self.closed or pend is not self.pending:
            return
        self.pending = None
        self._queue_moved(pend)
        self.disarm()
        self.assign()

    def _leave_queue(self) -> None:
        """The request stops waiting (timeout, abort, end): its entry leaves the queue now, and a
        slot granted to it but not taken over yet goes to the next waiter."""
        pend = self.pending
        if pend is not None:
            self.pending = None
            self.engine.wake_pendings(pend.backend.cancel(pend, self.loop.time()))
            self._queue_moved(pend)

    def _queue_moved(self, pend: Any) -> None:
        """How far the request moved in the queue it left (2.6's %sq / %bq, runtime/queue.py)."""
        if pend.queue is pend.backend.queue:
            self.rec.backend_queue += pend.pos
        else:
            self.rec.srv_queue += pend.pos

    def _queue_timeout(self) -> None:
        self.timer = None
        pend = self.pending
        if pend is not None and pend.granted:
            # a slot came in the same instant as the deadline: the dequeue wins, as in 2.6
            self.dequeued(pend)
            return
        self._leave_queue()
        self.rec.t_queue = self.ms()  # HAProxy logs the time spent queued (0/1001/-1/-1/1001 sQ--)
        # 2.6 names the server whose own queue the request waited in (a persistent one); a request
        # of the backend queue had none: <NOSRV>
        in_srv = pend is not None and pend.server is not None and pend.queue is pend.server.queue
        self.rec.server_name = pend.server.name if in_srv else None
        # 2.6 counts a queue timeout as a failed connection of the backend (and of the server
        # whose own queue it waited in)
        if self.be is not None:
            self.be.counters.econ += 1
        if in_srv:
            pend.server.counters.econ += 1
        self.srv = None
        self.no_server("sQ")

    def connect(self) -> None:
        srv = self.srv
        be = self.be
        self.connect_started = self.loop.time()
        tc = be.conf.timeouts.connect
        port = srv.port or self.rec.frontend_port or 0
        if srv.conf.port_offset:  # ADDR:+N / ADDR:-N: the port the client reached, moved by N (2.6)
            port = (self.rec.frontend_port or 0) + srv.port
        srv.sessions.add(self)
        t = srv.conf.tls
        tls = None
        if t is not None and t.ssl:
            from haproxy_py.tls.context import client_tls

            ct = client_tls(t)
            tls = ct.for_connection(self.sample_txn() if ct.sni is not None else None, srv)
        pre = None
        c = srv.conf
        if c.send_proxy or c.send_proxy_v2 or c.pp_opts:  # 2.6: any of them sends one
            from haproxy_py.engine.proxy_protocol import server_header

            pre = server_header(self, srv)
        self.connector = Connector(self.loop, srv.host, port, tc, self._connected, self._connect_failed,
                                   handoff=self.HANDOFF, tls=tls, preamble=pre, socks4=srv.conf.socks4,
                                   tcpka=be.conf.srv_tcpka)

    def sample_txn(self) -> Any:
        """What sample expressions evaluated for this session read (a server's ``sni``)."""
        return RequestContext(None, self.src_ip, self.src_port, self.rec.frontend_ip, self.rec.frontend_port or 0,
                              self.router.facts, self.router.conf.name, rec=self.rec)

    #: the session takes the connect watcher over (see Connector): it calls ``loop.remove_writer``
    HANDOFF = False

    def _connected(self, sock: socket.socket) -> None:
        conn = self.connector
        self.connector = None
        if self.closed:
            if conn is not None and conn.handoff:
                self.loop.remove_writer(sock.fileno())
            sock.close()
            return
        srv = self.srv
        srv.counters.connect += 1
        be = self.be
        be.counters.connect += 1
        now = self.loop.time()
        rec = self.rec
        rec.t_connect = int((now - self.accept_mono) * 1000)
        rec.bc_err = 0  # bc_err: a server connection, without error
        ct = int((now - self.connect_started) * 1000)
        be.counters.ctime.add(ct)
        srv.counters.ctime.add(ct)
        sa = conn.sockaddr if conn is not None else None
        if isinstance(sa, tuple):
            rec.server_ip, rec.server_port = sa[0], sa[1]
        else:
            try:
                rec.server_ip, rec.server_port = _addr_str(sock.getpeername())
            except OSError:
                rec.server_ip, rec.server_port = srv.host, srv.port
        try:  # %bi/%bp, bc_src/bc_src_port: the connection's own address
            rec.backend_src_ip, rec.backend_src_port = _addr_str(sock.getsockname())
        except OSError:
            pass
        if conn is not None and conn.tls is not None:
            from haproxy_py.tls.info import backend_info

            rec.ssl_bc = backend_info(sock)
        if srv.conf.observe is not None:
            self.engine.observe(srv, "L4_OK")
        self.server_connected(sock)

    def _connect_failed(self, kind: str, info: str) -> None:
        conn = self.connector
        self.connector = None
        # bc_err: a TLS or SOCKS4 handshake that failed leaves its connection's error code; a
        # connection that could not be made leaves none (conn/errors.py)
        self.rec.bc_err = server_failure(info)
        if conn is not None and conn.tls is not None:  # ssl_bc, ssl_bc_err after a failed handshake
            from haproxy_py.tls.info import BackendTlsInfo

            self.rec.ssl_bc = BackendTlsInfo(conn.sock, conn.tls.sni, True, None, conn.tls_err) \
                if conn.tls_err else None
        if self.closed:
            return
        srv = self.srv
        be = self.be
        if kind == "internal":  # 2.6's SF_ERR_INTERNAL (maxsslconn reached): no retry, 500, IC
            srv.sessions.discard(self)
            self._release_slot(srv)
            self.srv = None
            self.rec.server_name = srv.name
            self.fail_connect("IC")
            return
        if srv.conf.observe is not None:
            self.engine.observe(srv, "L4_ERR")
        a = be.on_connect_error(srv, self.attempt, persistent=self.persistent, timeout=kind == "timeout",
                                force_persist=self.prst == "F")
        self.attempt += 1
        srv.sessions.discard(self)
        if a.action == "fail":
            self._release_slot(srv)
            self.srv = None
            self.rec.server_name = srv.name
            self.fail_connect("sC" if kind == "timeout" else "SC")
            return
        self.rec.retries += 1
        if a.action == "redispatch":
            self._release_slot(srv)
            self.prev_srv = srv
            self.srv = None
            if self.persistent:
                self.cookie_flag("D")  # HAProxy logs a redispatched persistent request "DI"
            self.persistent = False
            if a.delay:
                self.arm(int(a.delay * 1000), self._redispatch_now)
            else:
                self.assign()
            return
        if a.delay:
            self.arm(int(a.delay * 1000), self._retry_same)
        else:
            self._retry_same()

    def _redispatch_now(self) -> None:
        self.timer = None
        if not self.closed:
            self.assign()

    def _retry_same(self) -> None:
        self.timer = None
        if not self.closed:
            self.connect()

    def _release_slot(self, srv: Any) -> None:
        """Give back our slot of ``srv`` (owner-checked by the backend: a no-op when we hold none)."""
        self.has_slot = False
        if srv is None:
            return
        nxt = srv.backend.release(srv, self.loop.time(), self)
        if nxt is not None:
            self.loop.call_soon(nxt.owner.woken, nxt)

    def release_server(self) -> None:
        srv = self.srv
        if srv is not None:
            srv.sessions.discard(self)
            self._release_slot(srv)

    def finish(self) -> None:
        """Common end of a session: counters, queue cleanup, slot release."""
        if self.closed:
            return
        self.closed = True
        self.cancel_timer()
        if self.connector is not None:
            self.connector.cancel()
            self.connector = None
        if PROC_VARS.limits is not None:
            self._release_vars()
        try:
            self._leave_queue()
            self.release_server()
            self.engine.state.sessions.discard(self)
            if self.router.stick:
                self._stick_end()
        finally:
            self.engine.connection_closed(self.fe, self.listener)

    def _release_vars(self) -> None:
        """The session ends: its variables (its transaction's, its own) leave the tune.vars totals
        (samples/txn.py Vars.release). Their values stay readable for the log line."""
        for t in (self.stk_txn, getattr(self, "txn", None), self.rec.txn):
            if t is not None:
                release_vars(getattr(t, "vars", None), getattr(t, "sess_vars", None))
        release_vars(getattr(self, "sess_vars", None))

    def _stick_end(self) -> None:
        """The session ends: the stick counters it (and its last stream) tracks stop."""
        from haproxy_py.stick.track import release_all

        now = int(self.loop.time() * 1000)
        t = self.stk_txn or getattr(self, "txn", None)
        if t is not None and getattr(t, "stkctr", None) is not None:
            release_all(t.stkctr, now)
        self.stk_txn = None
        if self.sess_stkctr is not None:
            release_all(self.sess_stkctr, now)
            self.sess_stkctr = None

    # -------------------------------------------------------------- internal errors
    def do_resolve(self, ctx: Any, action: Any, resume: Any) -> None:
        """A do-resolve rule (actions/resolve.py) paused its rule set: ask the name it left in
        ``ctx.resolve_name``, store the address found in its variable, then ``resume()`` (the rules
        after it); on a failure the variable stays unset and the rules go on too."""
        name, ctx.resolve_name = ctx.resolve_name, None

        def done(ip: str | None) -> None:
            if self.closed:
                return
            try:
                if ip is not None:
                    action.store(ctx, ip)
                resume()
            except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
                self.internal_error(exc, "do-resolve")

        res = self.engine.resolvers
        if res is None or name is None:
            done(None)
            return
        res.ask(action.resolvers, name, action.prefer, done)

    def internal_error(self, exc: BaseException, where: str) -> None:
        """An unexpected exception in this session (engine/fault.py): counted and logged once
        (Engine.session_fault), then the session is closed; the other sessions go on."""
        if not self.faulted:
            self.faulted = True
            self.engine.session_fault(self, exc, where)
        self._fault_close()

    def phase_name(self) -> str:
        """Where the session stands, for the alert (HTTP sessions have their own phase)."""
        ph = getattr(self, "phase", None)
        if ph:
            return str(ph)
        if self.pending is not None:
            return "queue"
        if self.connector is not None:
            return "connect"
        return "tunnel" if getattr(self, "tunnel", None) is not None else "start"

    def _fault_close(self) -> None:
        """Close a session in an unknown state: its own kill path (logged with the termination
        cause I, as 2.6), then whatever that left: sockets, queue place, slot, timer."""
        if not self.closed:
            try:
                self._fault_reply()
            except Exception:  # noqa: BLE001
                pass
            try:
                self.kill("I")
            except Exception:  # noqa: BLE001 - a broken session: the steps below finish the job
                pass
        for step in (self._close_io, self._leave_queue, self.release_server, self.cancel_timer):
            try:
                step()
            except Exception:  # noqa: BLE001
                pass
        self.engine.state.sessions.discard(self)
        if PROC_VARS.limits is not None:
            self._release_vars()
        if not self.closed:
            self.closed = True
            self.engine.connection_closed(self.fe, self.listener)

    def _fault_reply(self) -> None:
        """What the client is told of an internal error before the session closes (HTTP: a 500
        when no response began); TCP has nothing to say."""
        return None

    def _close_io(self) -> None:
        """Every socket of the session: connect attempt, client and server connections, tunnel."""
        if self.connector is not None:
            self.connector.cancel()
            self.connector = None
        for name in ("cli", "srvc", "cli_conn"):
            c = getattr(self, name, None)
            if c is not None:
                c.close()
        tun = getattr(self, "tunnel", None)
        if tun is not None:
            tun.up.close()
            tun.down.close()
            for s in (tun.cli, tun.srv):
                s.close()

    # subclasses
    def server_connected(self, sock: socket.socket) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def no_server(self, term: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def fail_connect(self, term: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def kill(self, cause: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class _Store:
    """A do-resolve action seen through a filter on its ``store`` (a resolution given up stores nothing)."""

    __slots__ = ("store", "resolvers", "prefer")

    def __init__(self, store: Any, action: Any) -> None:
        self.store = store
        self.resolvers = action.resolvers
        self.prefer = action.prefer


class TcpSession(Stream):
    """mode tcp: pick a server, connect, then forward both ways (splice when possible)."""

    __slots__ = ("tunnel", "early", "idle_ms", "cli_conn", "switched", "idle_side", "tprof")

    #: the tunnel class (ProfTcpSession's counts the ends of its directions as calls)
    TUNNEL: type[Tunnel] = Tunnel

    def __init__(self, router: Router, sock: socket.socket, peer: Any, listener: Any) -> None:
        super().__init__(router, sock, peer, listener)
        #: task profiling counters (engine/taskprof.py): ProfTcpSession's, else None
        self.tprof: Any = None
        self.tunnel: Tunnel | None = None
        self.early = b""
        self.cli_conn: Conn | None = None
        self.idle_ms = 0
        #: the side an expiring idle timer blames: "c", or "s" once 'timeout server-fin' runs
        self.idle_side = "c"
        self.rec.status = 0  # 2.6's %ST without an HTTP transaction
        #: a tcp-request content switch-mode http rule matched: the session becomes HTTP
        self.switched = False

    def _conn(self, sock: socket.socket) -> Conn:
        return Conn(self.loop, sock)

    def start(self) -> None:
        l4 = self.router.l4_txn
        if l4 is not None:  # what the tcp-request connection/session rules set
            self.router.l4_txn = None
            adopt_addresses(self, l4)
        lst = self.listener
        ctx_cls: Any = RequestContext
        if self.router.stick or self.router.rs.inspect_delay or self.router.rs.tcp_content or \
                self.router.caps is not None or self.engine.be_content:
            # the rules may track (their context keeps stick counters), wait for data or set
            # what the engine reads afterwards (the queue priority)
            from haproxy_py.actions.base import RuleTxn

            ctx_cls = RuleTxn
        ctx = ctx_cls(None, self.src_ip, self.src_port, self.rec.frontend_ip, self.rec.frontend_port or 0,
                      self.router.facts, self.router.conf.name, rec=self.rec,
                      sess_vars=l4.sess_vars if l4 is not None else None,
                      so_id=lst.luid, so_name=lst.name, cli_fd=self.cli_sock.fileno())
        if self.router.stick or PROC_VARS.limits is not None:
            # kept for the stick counters it tracks, or for its variables' release at the end
            self.stk_txn = ctx
            if l4 is not None and l4.sess_stkctr is not None:
                self.sess_stkctr = ctx.sess_stkctr = l4.sess_stkctr
        caps = self.router.caps
        if caps is not None:  # capture slots (tcp-request content capture fills request ones)
            self.rec.req_caps, self.rec.res_caps = caps.blank()
            ctx.caps = caps
        lg = self.router.logger
        if lg is not None and lg.needs_txn:  # the log-format's %[expr] read this session's Txn
            self.rec.txn = ctx
        if self.tprof is not None:  # cpu_calls & co (engine/taskprof.py)
            ctx.task = self.tprof
        rs = self.router.rs
        if rs.tcp_content:
            if rs.inspect_delay:
                self._inspect(ctx)
                return
            if self._content_rejects(ctx):
                return
        self._route(ctx)

    # tcp-request inspect-delay: the content rules run when data arrives, on what arrived so far
    # (ctx.payload); a rule whose condition needs more (an ACL on the payload that may still
    # change) waits for the next data, and the rules go on from it; when the delay expires, the
    # buffer is full or the client closes, the data is final and every rule decides. While the
    # data may still become an HTTP request head the rules wait for that head (HTTP fetches).
    def _inspect(self, ctx: Any) -> None:
        c = self.cli_conn = self._conn(self.cli_sock)
        ctx.payload = b""
        ctx.payload_final = False
        ctx.rule_pos = 0
        c.on_data = lambda data: self._inspect_data(ctx, data)
        c.on_eof = lambda: self._inspected(ctx, True)
        c.on_error = lambda e: self._inspected(ctx, True)
        c.read_on()
        self.arm(self.router.rs.inspect_delay, lambda: self._inspected(ctx, True))
        ndef = self.router.rs.tcp_content_def
        if ndef:
            # rules from a named defaults section: 2.6.12 evaluates the rules once at accept,
            # before any data, and when one of the defaults' rules waits there it resumes with
            # the proxy's own rules (its tcp_inspect_request switches rule lists on resumption:
            # the defaults' remaining rules are skipped)
            self._inspected(ctx, False)
            if not self.closed and c.on_data != self._early_data and ctx.rule_pos < ndef:
                ctx.rule_pos = ndef

    def _inspect_data(self, ctx: Any, data: bytes) -> None:
        from haproxy_py.http.parse import ParseError, parse_request

        self.early += data
        ctx.payload = self.early
        eng = self.engine
        full = len(self.early) >= eng.bufsize
        if ctx.req is None and not getattr(ctx, "not_http", False):
            try:
                res = parse_request(self.early, 0, bufsize=eng.bufsize, maxrewrite=eng.maxrewrite)
            except ParseError:
                res, ctx.not_http = None, True  # not HTTP: nothing more to wait for
            if res:
                ctx.req = res[0]
            elif not getattr(ctx, "not_http", False) and not full:
                return
        self._inspected(ctx, full)

    def _wait_resolve(self, ctx: Any, action: Any) -> None:
        """tcp-request content do-resolve within inspect-delay: the rules wait for the answer and go
        on after the rule; data arriving meanwhile is kept; when the delay ends first, 2.6 gives up
        the resolution and goes on at once."""
        token = ctx.resolving = object()
        ctx.rule_pos += 1

        def resume() -> None:
            if ctx.resolving is token:
                ctx.resolving = None
                self._inspected(ctx, ctx.payload_final)

        def store_if_current(txn: Any, ip: str) -> None:
            if ctx.resolving is token:
                action.store(txn, ip)

        self.do_resolve(ctx, _Store(store_if_current, action), resume)

    def _inspected(self, ctx: Any, final: bool) -> None:
        if self.closed or self.cli_conn is None or self.cli_conn.on_data == self._early_data:
            return
        if getattr(ctx, "resolving", None) is not None:
            if not final:
                return  # a do-resolve rule waits: the data is evaluated once it is answered
            ctx.resolving = None
        if final:
            ctx.payload_final = True
            ctx.payload = self.early
        verdict = self._content_rejects(ctx, ctx.rule_pos)
        if verdict is None:  # a rule waits for more data
            return
        self.disarm()
        if verdict or self.closed:  # rejected: the session ended (its connection is gone)
            return
        c = self.cli_conn
        c.on_data = self._early_data
        c.on_eof = self._early_eof
        c.on_error = lambda e: self._early_eof()
        ctx.payload_final = True
        if c.eof:
            self._early_eof()
            return
        self._route(ctx)

    def _content_rejects(self, ctx: Any, start: int = -1) -> bool | None:
        """The tcp-request content rules: True when they rejected the connection; None when,
        from rule ``start`` (inspect-delay), one waits for more data."""
        from haproxy_py.actions.base import (
            DROP,
            REJECT,
            SWITCH,
            WAIT_RESOLVE,
            resume_rules,
            rule_index,
            run_rules,
            run_rules_from,
        )

        rules = self.router.rs.tcp_content
        if start < 0:
            v0 = run_rules(rules, ctx)
            while v0.kind == WAIT_RESOLVE:  # no inspect-delay: 2.6's last evaluation, no waiting
                ctx.resolve_name = None
                v0 = resume_rules(rules, ctx, rule_index(rules, v0) + 1)
            kind = v0.kind
        else:
            v, ctx.rule_pos = run_rules_from(rules, ctx, start)
            while v is not None and v.kind == WAIT_RESOLVE:
                if ctx.payload_final:  # the delay is over: 2.6 gives up the resolution
                    ctx.resolve_name = None
                    v, ctx.rule_pos = run_rules_from(rules, ctx, ctx.rule_pos + 1)
                    continue
                self._wait_resolve(ctx, rules[ctx.rule_pos][1])
                return None
            if v is None:
                return None
            kind = v.kind
        if kind == REJECT or kind == DROP:
            # tcp-request content reject / silent-drop: a denied request, logged, closed
            if kind == DROP:
                silent_drop(self.cli_sock)
            self.fe.counters.dreq += 1
            self.rec.backend_name = None
            if (lc := self.listener.counters) is not None:  # option socket-stats
                lc.dreq += 1
            self.no_server("PR")
            return True
        if kind == SWITCH:
            self.switched = True
        rec = self.rec
        if ctx.src is not self.src_ip or ctx.src_port != self.src_port or ctx.dst is not rec.frontend_ip \
                or ctx.dst_port != rec.frontend_port:
            # set-src / set-dst: balance source and the log use the new addresses
            self.src_ip = rec.client_ip = ctx.src
            self.src_port = rec.client_port = ctx.src_port
            rec.frontend_ip, rec.frontend_port = ctx.dst, ctx.dst_port
        return False

    def _route(self, ctx: Any) -> None:
        if self.switched:  # switch-mode http: routed as HTTP, request by request
            self.router.upgrade(self, ctx, None)
            return
        be = self.router.route(ctx)
        rec = self.rec
        if be is None:
            rec.backend_name = None
            self.no_server("SC")
            return
        if be.conf.mode == "http":  # 2.6's implicit upgrade: an HTTP backend makes the session HTTP
            self.router.upgrade(self, ctx, be)
            return
        self.be = be
        rec.backend_name = be.name
        # balance rdp-cookie hashes the cookie of what the client sent so far (2.6's LB_HASH_RDP)
        self.lbreq = LbRequest(src=self.src_ip, rdp_cookie=self.early or None)
        if be.hash_expr is not None:  # balance hash EXPR on what the content rules saw
            self.lbreq.sample = hash_sample(be.hash_expr, ctx)
        c = be.counters
        c.scur += 1
        if c.scur > c.smax:
            c.smax = c.scur
        c.stot += 1
        c.sess_rate.add(self.loop.time())
        c.last_sess = _wall()
        if be.tcp_content and be.conf is not self.router.conf:
            # the backend's tcp-request content rules, on what the client sent so far; with the
            # backend's tcp-request inspect-delay they wait for more as the frontend's do
            delay = self.router.compiled_of(be).rs.inspect_delay
            if delay:
                self._be_inspect(ctx, be, delay)
                return
            if getattr(ctx, "payload_final", None) is False:
                ctx.payload_final = True
            if self._be_content(ctx, be, 0):
                return
        self._route_rest(ctx, be)

    # a backend's tcp-request content rules (2.6's AN_REQ_INSPECT_BE): run from rule ``start``;
    # True when they rejected the session (ended here), False to go on, None when one waits
    def _be_content(self, ctx: Any, be: Any, start: int) -> bool | None:
        from haproxy_py.actions.base import DROP, REJECT, run_rules_from

        v, ctx.be_pos = run_rules_from(be.tcp_content, ctx, start)
        if v is None:
            return None
        kind = v.kind
        if kind == REJECT or kind == DROP:
            c = be.counters
            if kind == DROP:
                silent_drop(self.cli_sock)
            self.fe.counters.dreq += 1
            c.dreq += 1
            if (lc := self.listener.counters) is not None:  # option socket-stats
                lc.dreq += 1
            # what the client sent is read first (2.6 has it in its buffer): a socket closed
            # with unread data would reset the connection
            got = bool(self.early)
            for _ in range(16):
                try:
                    if not self.cli_sock.recv(65536):
                        break
                    got = True
                except OSError:
                    break
            self.rec.got_data = got  # logged under dontlognull when the client sent something
            self.no_server("PR")
            return True
        return False

    def _be_inspect(self, ctx: Any, be: Any, delay: int) -> None:
        c = self.cli_conn
        if c is None:
            c = self.cli_conn = self._conn(self.cli_sock)
            c.read_on()
        ctx.payload = self.early
        ctx.payload_final = bool(c.eof)
        ctx.be_pos = 0
        c.on_data = lambda data: self._be_data(ctx, be, data)
        c.on_eof = lambda: self._be_eval(ctx, be, True)
        c.on_error = lambda e: self._be_eval(ctx, be, True)
        self.arm(delay, lambda: self._be_eval(ctx, be, True))
        if ctx.payload_final:
            self._be_eval(ctx, be, True)
        else:  # as the frontend's: while the data may still become an HTTP request head, wait for it
            self._be_data(ctx, be, b"")

    def _be_data(self, ctx: Any, be: Any, data: bytes) -> None:
        from haproxy_py.http.parse import ParseError, parse_request

        self.early += data
        ctx.payload = self.early
        eng = self.engine
        full = len(self.early) >= eng.bufsize
        if ctx.req is None and not getattr(ctx, "not_http", False):
            try:
                res = parse_request(self.early, 0, bufsize=eng.bufsize, maxrewrite=eng.maxrewrite)
            except ParseError:
                res, ctx.not_http = None, True
            if res:
                ctx.req = res[0]
            elif not getattr(ctx, "not_http", False) and not full:
                return
        self._be_eval(ctx, be, full)

    def _be_eval(self, ctx: Any, be: Any, final: bool) -> None:
        c = self.cli_conn
        if self.closed or c is None or c.on_data == self._early_data:
            return
        if final:
            ctx.payload_final = True
        r = self._be_content(ctx, be, ctx.be_pos)
        if r is None:
            return
        self.disarm()
        if r or self.closed:
            return
        c.on_data = self._early_data
        c.on_eof = self._early_eof
        c.on_error = lambda e: self._early_eof()
        ctx.payload_final = True
        if c.eof:
            self._early_eof()
            return
        self._route_rest(ctx, be)

    def _route_rest(self, ctx: Any, be: Any) -> None:
        """What follows the backend's choice (and its tcp-request content rules): timeouts,
        persistence, use-server and stick rules, then the server."""
        t = be.conf.timeouts
        fe_t = self.router.conf.timeouts
        cands = [x for x in (t.tunnel,) if x] or [x for x in (fe_t.client, t.server) if x]
        self.idle_ms = min(cands) if cands else 0
        # watch the client while we wait for a server: early data is kept, a close aborts
        if self.cli_conn is None:
            self.cli_conn = self._conn(self.cli_sock)
            self.cli_conn.on_data = self._early_data
            self.cli_conn.on_eof = self._early_eof
            self.cli_conn.on_error = lambda e: self._early_eof()
            self.cli_conn.read_on()
        rs = self.router.compiled_of(be).rs
        if rs.persist:
            from haproxy_py.actions.rules import persist_flag

            ctx.backend = be.name
            self.prst = persist_flag(rs.persist, ctx)
        if rs.use_server:  # use-server rules, before the stick tables (2.6's server rules)
            from haproxy_py.lb import use_server

            ctx.backend = be.name
            self.use_srv = use_server.choose(rs.use_server, ctx, be, force=self.prst == "F")
        stick = rs.stick
        if stick:  # stick match / store-request, once the backend is known
            from haproxy_py.stick import persist

            ctx.backend = be.name
            self.stick_srv, self.stick_stores = persist.match(
                stick, ctx, self.engine.state.tables, be, int(self.loop.time() * 1000), force=self.prst == "F")
            self.stk_txn = ctx
        if be.rdp_persist is not None and self.use_srv is None:
            # persist rdp-cookie (2.6's AN_REQ_PRST_RDP_COOKIE): the server the RDP cookie of
            # what the client sent so far names, unless a use-server rule chose one
            rsrv = be.rdp_lookup(self.early)
            if rsrv is not None:
                self.stick_srv = rsrv
        self.prio = getattr(ctx, "prio", None)
        if ctx.vars:  # 2.6 frees the "req" variables once the stream asks for a connection
            ctx.drop_req_vars()
        self.assign()

    def _early_data(self, data: bytes) -> None:
        self.early += data
        if len(self.early) >= self.engine.bufsize and self.cli_conn is not None:
            self.cli_conn.read_off()

    def _early_eof(self) -> None:
        # client closed before the server connection exists: abort (like abortonclose in tcp)
        if self.tunnel is None:
            set_term(self.rec, "C", "C" if self.srv is not None else "Q")
            self.end()

    def server_connected(self, sock: socket.socket) -> None:
        srv = self.srv
        if self.stick_stores is not None:  # the store rules, once the server is there
            from haproxy_py.stick import persist

            persist.store(self.router.compiled_of(self.be).rs.stick, self.stk_txn, self.engine.state.tables,
                          self.stick_stores, srv, int(self.loop.time() * 1000))
            self.stick_stores = None
        srv.counters.stot += 1
        srv.counters.last_sess = _wall()
        srv.counters.lbtot += 0
        srv.counters.scur += 1
        if srv.counters.scur > srv.counters.smax:
            srv.counters.smax = srv.counters.scur
        srv.counters.sess_rate.add(self.loop.time())
        brs = self.router.compiled_of(self.be).rs
        if brs.tcp_res:
            self._res_inspect(sock, brs)
            return
        self._open_tunnel(sock)

    def _open_tunnel(self, sock: socket.socket, server_initial: bytes = b"", sent_up: int = 0) -> None:
        srv = self.srv
        cli = self.cli_conn.detach() if self.cli_conn is not None else self.cli_sock
        self.cli_conn = None
        self.rec.server_name = srv.name
        use_splice = splice_enabled() and sock.family != socket.AF_UNIX and cli.family != socket.AF_UNIX \
            and type(cli) is socket.socket and type(sock) is socket.socket  # not through TLS
        self.tunnel = self.TUNNEL(self.loop, cli, sock, self._tunnel_closed, use_splice=use_splice,
                             client_initial=self.early, server_initial=server_initial)
        if self.tprof is not None:
            self.tunnel.tprof = self.tprof  # type: ignore[attr-defined]  # a ProfTunnel (TUNNEL)
        self.tunnel.bytes_in += sent_up
        if self.router.conf.nolinger or self.be.conf.nolinger:
            self.tunnel.cli_nolinger = self.router.conf.nolinger
            self.tunnel.srv_nolinger = self.be.conf.nolinger
        if self.router.conf.timeouts.client_fin or self.be.conf.timeouts.server_fin:
            self.tunnel.on_half = self._half_closed
        self.early = b""
        if self.router.logasap:
            self._log_asap()
        self.tunnel.start()
        if self.idle_ms and not self.tunnel.done:
            self.arm(self.idle_ms, self._idle_check)

    # tcp-response content rules (the backend's, after its named defaults section's): what the
    # server sends waits in a buffer while the rules evaluate it (txn.payload: res.len,
    # res.payload...; the client's data goes on to the server meanwhile), first at connect on no
    # data, then at each arrival from the rule that waited, until tcp-response inspect-delay
    # ends, the buffer is full or the server closes (the data is then final; without the delay
    # the first evaluation is final). accept (or no rule deciding) forwards the buffer and the rest as usual; reject
    # closes both sides (a denied response, 'PD'); close ends the server side at once, what came
    # still reaches the client, then the session ends.
    def _res_inspect(self, sock: socket.socket, brs: Any) -> None:
        from haproxy_py.actions.base import RuleTxn

        sc = self._conn(sock)
        ctx: Any = RuleTxn(None, self.src_ip, self.src_port, self.rec.frontend_ip, self.rec.frontend_port or 0,
                      self.router.facts, self.router.conf.name, rec=self.rec, cli_fd=self.cli_sock.fileno())
        ctx.backend = self.be.name
        ctx.server = self.srv.name
        req_ctx = self.rec.txn or self.stk_txn
        if req_ctx is not None:  # the session's variables and stick counters (set-var, sc-inc-gpc...)
            ctx.vars = req_ctx.vars
            ctx.sess_vars = req_ctx.sess_vars
            ctx.stkctr = getattr(req_ctx, "stkctr", None)
        ctx.sess_stkctr = self.sess_stkctr
        ctx.payload = b""
        ctx.payload_final = False
        ctx.rule_pos = 0
        st = [sc, ctx, brs, 0]  # server conn, context, rule sets, bytes sent to the server
        c = self.cli_conn
        if c is None:
            c = self.cli_conn = self._conn(self.cli_sock)
        if self.early:
            st[3] += len(self.early)
            sc.write(self.early)
            self.early = b""

        def up(data: bytes) -> None:
            st[3] += len(data)
            sc.write(data)

        def up_eof() -> None:
            sc.shutdown_write()

        c.on_data = up
        c.on_eof = up_eof
        c.on_error = lambda e: self._res_decided(st, "cli")
        c.read_on()
        sc.on_data = lambda data: self._res_data(st, data)
        sc.on_eof = lambda: self._res_eval(st, True)
        sc.on_error = lambda e: self._res_decided(st, "srv")
        sc.read_on()
        self.rec.server_name = self.srv.name
        if brs.res_inspect_delay:
            self.arm(brs.res_inspect_delay, lambda: self._res_eval(st, True))
        # 2.6 evaluates the rules once the server is connected, before any data (final at once
        # without inspect-delay)
        self._res_eval(st, not brs.res_inspect_delay)

    def _res_data(self, st: list[Any], data: bytes) -> None:
        ctx = st[1]
        ctx.payload += data
        full = len(ctx.payload) >= self.engine.bufsize
        if full:
            st[0].read_off()
        self._res_eval(st, full or not st[2].res_inspect_delay)

    def _res_eval(self, st: list[Any], final: bool) -> None:
        from haproxy_py.actions.base import CLOSE, DROP, REJECT, run_rules_from

        if self.closed or st[2] is None:
            return
        ctx = st[1]
        if final:
            ctx.payload_final = True
        v, ctx.rule_pos = run_rules_from(st[2].tcp_res, ctx, ctx.rule_pos)
        if v is None:  # a rule waits for more data
            # 2.6.12 evaluates the rules again from the first one at the next data (every action
            # before the waiting rule runs again: set-var, sc-inc-gpc...); after a wait in a named
            # defaults section's rules it goes on with the backend's own rules (its
            # tcp_inspect_response switches rule lists on resumption)
            ctx.rule_pos = st[2].tcp_res_def if ctx.rule_pos < st[2].tcp_res_def else 0
            return
        kind = v.kind
        if kind == DROP:  # silent-drop: the client is told nothing, then as a reject
            silent_drop(self.cli_sock)
        self._res_decided(st, "reject" if kind == REJECT else "drop" if kind == DROP else "close" if kind == CLOSE
                          else "accept")

    def _res_decided(self, st: list[Any], how: str) -> None:
        if st[2] is None:
            return
        sc, ctx, _brs, sent = st
        st[2] = None
        self.disarm()
        data = ctx.payload
        rec = self.rec
        if how == "accept":
            left = b"".join(sc.wbuf) if sc.pending else b""
            sock = sc.detach()
            self.early = left + self.early
            self._open_tunnel(sock, data, sent - len(left))
            if self.idle_ms and self.tunnel is not None and not self.tunnel.done:
                self.arm(self.idle_ms, self._idle_check)
            return
        rec.bytes_in = sent
        c = self.cli_conn
        if how == "reject" or how == "drop":
            self.be.counters.dresp += 1
            if self.fe is not None and self.be.conf is not self.router.conf:
                self.fe.counters.dresp += 1
            if (lc := self.listener.counters) is not None:  # option socket-stats
                lc.dresp += 1
            self.srv.counters.dresp += 1
            set_term(rec, "P", "D" if how == "reject" else "R")  # 2.6 logs a silent-drop 'PR'

            rec.bytes_out = len(data)
            sc.close(abort=True)
            if c is not None:
                # the client sees a plain close, as 2.6 gives it: what it sent is read first (a
                # socket closed with unread data resets the connection)
                for _ in range(16):
                    try:
                        if not c.sock.recv(65536):
                            break
                    except OSError:
                        break
                c.close()
                self.cli_conn = None
            self.end()
            return
        if how in ("cli", "srv"):
            set_term(rec, "C" if how == "cli" else "S", "D")
            sc.close(abort=True)
            if c is not None:
                c.close(abort=True)
                self.cli_conn = None
            self.end()
            return
        # close: the server side ends now, what it sent goes to the client, then the session ends
        sc.close()
        rec.bytes_out = len(data)
        if c is None:
            self.end()
            return
        c.on_data = lambda d: None

        def done() -> None:
            c.close()
            self.cli_conn = None
            self.end()

        c.on_drained = done
        c.write(data)
        if not c.pending:
            done()

    def _half_closed(self, up: bool) -> None:
        """One direction ended (its FIN passed on): 2.6 gives the side still sending its
        'timeout client-fin' (the server closed first) or 'timeout server-fin' (the client did)
        as its inactivity timeout, from now on, in place of the others."""
        fin = self.be.conf.timeouts.server_fin if up else self.router.conf.timeouts.client_fin
        tun = self.tunnel
        if not fin or tun is None or tun.done:
            return
        self.idle_ms = fin
        self.idle_side = "s" if up else "c"
        tun.last_activity = self.loop.time()
        self.arm(fin, self._idle_check)

    def _idle_check(self) -> None:
        self.timer = None
        tun = self.tunnel
        if tun is None or tun.done:
            return
        idle = (self.loop.time() - tun.last_activity) * 1000
        if idle >= self.idle_ms - 1:
            set_term(self.rec, self.idle_side, "D")
            tun.close("timeout")
        else:
            self.arm(int(self.idle_ms - idle) + 1, self._idle_check)

    def _tunnel_closed(self, reason: str) -> None:
        if reason == "cli":
            set_term(self.rec, "C", "D")
        elif reason == "srv":
            set_term(self.rec, "S", "D")
        tun = self.tunnel
        assert tun is not None  # called by the tunnel
        if tun.cli_ssl_fatal:
            self.rec.fc_err = SSL_FATAL
        self.rec.bytes_out = tun.bytes_out
        self.rec.bytes_in = tun.bytes_in
        for s in (tun.cli, tun.srv):
            try:
                s.close()
            except OSError:
                pass
        self.end()

    def no_server(self, term: str) -> None:
        set_term(self.rec, term[0], term[1])
        self.end()

    def fail_connect(self, term: str) -> None:
        set_term(self.rec, term[0], term[1])
        self.end()

    def kill(self, cause: str) -> None:
        rec = self.rec
        if rec.term_cause == "-" and rec.term_phase == "-":
            # 2.6 logs a stream killed while forwarding without a phase letter ("K-"): the phase
            # is held here so that closing the tunnel does not set one
            rec.term_cause = cause
            rec.term_phase = _HELD
        else:
            set_term(rec, cause, "D")
        if self.tunnel is not None and not self.tunnel.done:
            self.tunnel.close("kill")
        else:
            self.end()

    def end(self) -> None:
        if self.closed:
            return
        rec = self.rec
        rec.t_close = self.ms()
        be = self.be
        srv = self.srv
        tun = self.tunnel
        if tun is not None:
            nbin, nbout = tun.bytes_in, tun.bytes_out
            if self.router.stick:  # the tracked entries count the session's bytes
                from haproxy_py.stick.track import count_bytes

                now = int(self.loop.time() * 1000)
                for ctrs in (getattr(self.stk_txn, "stkctr", None), self.sess_stkctr):
                    if ctrs is not None:
                        count_bytes(ctrs, nbin, nbout, now)
            self.fe.counters.bin += nbin
            self.fe.counters.bout += nbout
            if (lc := self.listener.counters) is not None:  # option socket-stats
                lc.bin += nbin
                lc.bout += nbout
            self.engine.state.total_bytes_out += nbout
            if tun.spliced:
                self.engine.state.spliced_bytes_out += nbout
            if be is not None:
                be.counters.bin += nbin
                be.counters.bout += nbout
            if srv is not None:
                srv.counters.bin += nbin
                srv.counters.bout += nbout
                srv.counters.scur -= 1
                srv.counters.ttime.add(rec.t_close)
            if be is not None:
                be.counters.ttime.add(rec.t_close)
            if rec.term_cause == "C" and be is not None:
                be.counters.cli_abrt += 1
                if srv is not None:
                    srv.counters.cli_abrt += 1
            elif rec.term_cause == "S" and be is not None:
                be.counters.srv_abrt += 1
                if srv is not None:
                    srv.counters.srv_abrt += 1
        else:
            if self.cli_conn is not None:
                self.cli_conn.close()
                self.cli_conn = None
            else:
                try:
                    self.cli_sock.close()
                except OSError:
                    pass
        if be is not None:
            be.counters.scur -= 1
        rec.backend_name = be.name if be is not None else None
        if rec.term_phase == _HELD:
            rec.term_phase = "-"
        self._fill_conn_counts()
        self.finish()
        lg = self.router.logger
        if lg is not None and not rec.logasap and not (self.router.conf.option("dontlognull") and rec.bytes_in == 0
                                   and rec.term_cause in ("-", "C")):
            txn = rec.txn
            if txn is not None:
                txn.backend = be.name if be is not None else self.router.conf.name
                txn.server = self.srv.name if self.srv is not None else ""
                txn.drop_req_vars()  # gone once the request was processed, as in 2.6
            if self.tprof is not None:  # cpu_ns_*: this call counted so far, as 2.6 logs it
                self.tprof.settle()
            lg.log_session(rec, self.router.conf)
        rec.txn = None  # txn.rec is rec: no cycle left behind

    def _log_asap(self) -> None:
        """'option logasap' in tcp mode: the line as the server connection is made, as 2.6 (its
        total time is now, its bytes 0, both marked '+', the connection counts with this one);
        the session logs nothing more."""
        lg = self.router.logger
        if lg is None:
            return
        rec = self.rec
        rec.t_close = self.ms()
        rec.backend_name = self.be.name
        self._fill_conn_counts()
        srv = self.srv
        rec.srv_conn = srv.served if srv is not None else 0
        rec.logasap = True
        lg.log_session(rec, self.router.conf)

    def _fill_conn_counts(self) -> None:
        rec = self.rec
        st = self.engine.state
        rec.actconn = st.curr_conns
        rec.feconn = self.fe.counters.scur
        rec.beconn = self.be.counters.scur if self.be is not None else 0
        srv = self.srv
        rec.srv_conn = max(0, srv.served - (1 if self.has_slot else 0)) if srv is not None else 0


class ProfTcpSession(TcpSession):
    """The TCP session of a configuration using the task profiling fetches (engine/taskprof.py):
    its start, its timers, its server connection, its queue wake-up, the data it inspects and the
    ends of its tunnel's directions are counted (and, under profiling, timed) calls of its task."""

    __slots__ = ()

    TUNNEL = ProfTunnel

    def __init__(self, router: Router, sock: socket.socket, peer: Any, listener: Any) -> None:
        from haproxy_py.engine.taskprof import TaskProf

        super().__init__(router, sock, peer, listener)
        self.tprof = TaskProf(self.loop)

    def _conn(self, sock: socket.socket) -> Conn:
        from haproxy_py.engine.taskprof import ProfConn

        return ProfConn(self.loop, sock, self.tprof)

    def start(self) -> None:
        self.tprof.run(TcpSession.start, self)

    def _timer_fire(self) -> None:
        self.tprof.run(TcpSession._timer_fire, self)

    def _connected(self, sock: socket.socket) -> None:
        self.tprof.run(TcpSession._connected, self, sock)

    def woken(self, pend: Any) -> None:
        self.tprof.run(TcpSession.woken, self, pend)


#: the class of the TCP sessions the routers start (engine/loop.py decides, at load time)
TCP_SESSION_CLS: list[type[TcpSession]] = [TcpSession]
