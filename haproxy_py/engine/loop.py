"""The process: one event loop (uvloop when importable), listeners, sessions, checks, stats sockets.

``run(config, options)`` is what the CLI calls. ``Engine`` holds the live runtime objects and is also
used directly by integration tests (``Engine.start()`` inside an existing loop).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from haproxy_py.checks.messages import stderr_form
from haproxy_py.config.model import Config, Proxy
from haproxy_py.engine.listener import BindError, Listener, bind_address, listener_ids
from haproxy_py.http.h1case import lookup_map
from haproxy_py.lb.keys import simple_fetch
from haproxy_py.runtime.frontend import Frontend
from haproxy_py.runtime.state import ProcessState


def new_event_loop() -> tuple[asyncio.AbstractEventLoop, str]:
    """uvloop when importable (and not disabled by HAPROXY_PY_NO_UVLOOP=1), plain asyncio otherwise."""
    if not os.environ.get("HAPROXY_PY_NO_UVLOOP"):
        try:
            import uvloop

            from haproxy_py.engine.fdpoll import loop_class

            # descriptors are watched through an epoll of our own (engine/fdpoll.py), timers,
            # callbacks, signals and the stats socket's streams stay uvloop's
            return loop_class(uvloop.Loop)(), f"uvloop {uvloop.__version__}"
        except ImportError:
            pass
    return asyncio.new_event_loop(), "asyncio"


class ProxyEntry:
    """One proxy as the stats layer sees it: its frontend and/or backend runtime objects."""

    __slots__ = ("name", "uuid", "conf", "frontend", "backend")

    def __init__(self, conf: Proxy, frontend: Frontend | None, backend: Any) -> None:
        self.name = conf.name
        self.uuid = conf.uuid
        self.conf = conf
        self.frontend = frontend
        self.backend = backend


def alert(msg: str, quiet: bool = False) -> None:
    if not quiet:
        sys.stderr.write(f"[ALERT]    ({os.getpid()}) : {msg}\n")
        sys.stderr.flush()


def notice(msg: str, quiet: bool = False) -> None:
    if not quiet:
        sys.stderr.write(f"[NOTICE]   ({os.getpid()}) : {msg}\n")
        sys.stderr.flush()


def warning(msg: str, quiet: bool = False) -> None:
    if not quiet:
        sys.stderr.write(f"[WARNING]  ({os.getpid()}) : {msg}\n")
        sys.stderr.flush()


def _raise_nofile(maxconn: int | None) -> None:
    """Raise the soft descriptor limit toward the hard one (HAProxy sizes ulimit-n itself)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = hard if maxconn is None else min(hard, 2 * maxconn + 64)
        if hard == resource.RLIM_INFINITY:
            want = max(soft, 2 * (maxconn or 10000) + 64)
        if want > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


def _whole(value: int) -> int:
    return value


class Engine:
    def __init__(self, config: Config, loop: asyncio.AbstractEventLoop, *, loop_name: str = "asyncio",
                 quiet: bool = False) -> None:
        from haproxy_py.runtime.backend import Backend

        self.config = config
        self.loop = loop
        #: the sessions' shared loop timers for long timeouts (engine/stream.py TimerWheel)
        self.timer_wheel: Any = None
        self.quiet = quiet
        from haproxy_py.runtime import limits

        if limits.NOFILE is None:  # an engine built in-process, without process.apply_fd_limits
            _raise_nofile(config.global_.maxconn)
        now = loop.time()
        if config.global_.proc_vars is not None:
            from haproxy_py.samples.txn import PROC_VARS

            PROC_VARS.install(config.global_.proc_vars)  # global set-var, tune.vars.*
        self.state = ProcessState(config, now=now, wall=time.time())
        from haproxy_py.samples.procvars import get_var_reply, set_var_reply
        from haproxy_py.samples.txn import PROC_VARS as _PV

        self.state.get_var_reply = lambda words: get_var_reply(_PV, words)  # type: ignore[attr-defined]
        self.state.set_var_reply = lambda words: set_var_reply(_PV, words)  # type: ignore[attr-defined]
        from haproxy_py.tls.context import ACCOUNT

        ACCOUNT[0] = self.state  # the connections to servers over TLS count there (maxsslconn)
        from haproxy_py.http import cache as hcache

        self.state.caches = hcache.install(config.caches)  # the cache sections' storage
        self.state.loop_name = loop_name
        #: 'maxconnrate' / 'maxsessrate': 2.6's global accept limits (freq_ctr over one second)
        self.cps_lim = config.global_.maxconnrate or 0
        self.sps_lim = config.global_.maxsessrate or 0
        self.state.conn_rate_limit = self.cps_lim
        self.state.rate_limit_sessions = self.sps_lim
        self.cps_ctr: Any = None
        from haproxy_py.engine import connect, listener

        g0 = config.global_
        listener.CLIENT_BUFS = (g0.tune_rcvbuf_client or 0, g0.tune_sndbuf_client or 0)
        connect.SERVER_BUFS = (g0.tune_rcvbuf_server or 0, g0.tune_sndbuf_server or 0)
        from haproxy_py.engine import http as engine_http

        engine_http.REQURI_LEN[0] = 1023 if g0.tune_http_logurilen is None else g0.tune_http_logurilen
        self.sps_ctr: Any = None
        #: 'maxsslrate': the same over the connections the TLS listeners accept
        self.ssl_lim = config.global_.maxsslrate or 0
        self.ssl_ctr: Any = None
        if self.cps_lim or self.sps_lim or self.ssl_lim:
            from haproxy_py.stick.freq import FreqCtr as PeriodCtr

            self.cps_ctr = PeriodCtr() if self.cps_lim else None
            self.sps_ctr = PeriodCtr() if self.sps_lim else None
            self.ssl_ctr = PeriodCtr() if self.ssl_lim else None
        from haproxy_py.samples.patref import REFS

        self.state.patrefs = REFS  # map and ACL pattern references, for the runtime API
        self.listeners: list[Listener] = []
        self.stats_servers: list[Any] = []
        self.checker: Any = None
        #: engine/mailer.py Mailer when a proxy has email alerts (where the checks run)
        self.mailer: Any = None
        #: engine/resolvers.py ResolversEngine when a server names a 'resolvers' section
        self.resolvers: Any = None
        #: (process CPU time, monotonic time) of the last idle reading, and that reading
        self._idle_sample = (time.process_time(), time.monotonic())
        self._idle_last = 100
        self.stopping = False
        #: the timer that looks again at listeners held back by 'rate-limit sessions'
        self._rate_retry: Any = None
        #: 'grace': None before SIGUSR1, the timer during the delay, False once it ran out
        self._grace: Any = None
        self.on_stopped: asyncio.Future[int] | None = None
        #: engine/peers.py PeersEngine when a peers section shares a table; old_pids: started
        #: to replace another process (-sf), which then teaches its tables through the local peer
        self.peers: Any = None
        self.old_pids = False
        #: with several workers only the first speaks the peers protocol (engine/workers.py)
        self.speaks_peers = True
        # -- process hooks (engine/workers.py, engine/reload.py): sockets inherited from an old
        # process (-x) or a master, health checks on/off (only one worker runs them), daemon link
        self.inherited: Any = None
        self.run_checks = True
        self.daemon: Any = None
        g = config.global_
        gmax = self.state.maxconn
        from haproxy_py.engine.logs import build_loggers
        from haproxy_py.log.ring import install as install_rings
        from haproxy_py.runtime.backend import frontends_maxconn

        #: engine/ringfwd.py RingForwarder when a ring section has servers (started in start())
        self.rings = install_rings(config.other_sections)
        self.ringfwd: Any = None
        #: engine/logforward.py LogForwarder when there are log-forward sections (bound in bind_all)
        self.logfwd: Any = None
        self.loggers = build_loggers(config, self.state)
        backends: dict[str, Any] = {}
        for p in config.proxies:
            if p.disabled:
                continue
            fe = Frontend(p, gmax) if p.has_fe else None
            if fe is not None and p.rate_limit_sessions:
                from haproxy_py.stick.freq import FreqCtr

                fe.sps_ctr = FreqCtr()
            be = Backend(p, now, global_maxconn=gmax,
                         frontends_maxconn=frontends_maxconn(config.proxies, p.name, gmax)) if p.has_be else None
            if be is not None:
                backends[p.name] = be
            if fe is not None:
                self.state.frontends[p.name] = fe
            self.state.proxies.append(ProxyEntry(p, fe, be))
        self.state.backends = backends
        wall = time.time()
        for be in backends.values():
            be.on_pendings = self.wake_pendings
            bal = be.conf.balance
            if bal.algorithm == "hash" and bal.expression and simple_fetch(bal.expression) is None:
                from haproxy_py.samples import compile_expr

                be.hash_expr = compile_expr(bal.expression, place="balance")
            for srv in be.servers:
                # server-state times (lastchg, downtime) are wall-clock times
                srv.last_change = wall
        # show stat, show servers state, the page list proxies in declaration order, as 2.6 does
        self.bufsize = g.tune_bufsize
        from haproxy_py.actions.base import RuleTxn

        RuleTxn.bufsize = g.tune_bufsize  # the room of header rewrites (http/htx.py request_room)
        RuleTxn.maxrewrite = g.tune_maxrewrite
        self.maxrewrite = g.tune_maxrewrite
        self.maxhdr = g.tune_http_maxhdr
        from haproxy_py.engine.router import CompiledProxy, Router

        #: per runtime backend: what its proxy's configuration compiles to (rules, error pages,
        #: forwardfor), built here once; a reload builds a new Engine
        self.compiled: dict[Backend, CompiledProxy] = {}
        self.routers: dict[str, Router] = {}
        #: the names h1-case-adjust gives a case (http/h1case.py), None: none
        self.h1case = lookup_map(config.global_.h1_case)
        for e in self.state.proxies:
            compiled = CompiledProxy(e.conf, self.h1case)
            if e.backend is not None:
                self.compiled[e.backend] = compiled
                if e.conf.mode == "http":
                    e.backend.http_tcp_res = compiled.rs.tcp_res
                e.backend.tcp_content = compiled.rs.tcp_content
            if e.frontend is not None:
                self.routers[e.name] = Router(self, e.conf, e.frontend, e.backend, compiled)
        # task profiling: the configured setting, and whether sessions count their calls (load time)
        from haproxy_py.engine import http, stream, taskprof

        taskprof.start(self.state, config.global_.profiling_tasks)
        http.SESSION_CLS[0] = http.ProfHttpSession if taskprof.USED[0] else http.HttpSession
        stream.TCP_SESSION_CLS[0] = stream.ProfTcpSession if taskprof.USED[0] else stream.TcpSession
        if taskprof.USED[0]:
            taskprof.watch_polls(loop)
        #: some backend has tcp-request content rules (TCP sessions then give their rules a RuleTxn)
        self.be_content = any(b.tcp_content for b in self.compiled)
        self.internal_errors = 0
        loop.set_exception_handler(self._loop_exception)
        #: a per-process limit given by the runtime API, as this process applies it (a worker of
        #: several takes its share: engine/workers.py)
        self.limit_part: Callable[[int], int] = _whole
        #: the master of several workers: its state is the workers' summed picture, it holds no
        #: session and no queue of its own (engine/workers.py)
        self.aggregate = False
        #: a worker of several: its runtime API lines are the master's, replayed (engine/workers.py)
        self.replays_cli = False
        # the runtime API's engine operations (runtime/ops.py EngineOps): typed, every one implemented
        self.state.ops = self

    # ------------------------------------------------------------------ binding
    def bind_all(self) -> None:
        """Bind every listening address of every frontend. As 2.6, every bind is tried and each
        one that fails is named (FILE:LINE, proxy); then BindError carries those lines, one a line."""
        errors: list[str] = []
        for e in self.state.proxies:
            fe = e.frontend
            if fe is None:
                continue
            router = self.routers[e.name]
            luids = listener_ids(e.conf.binds)
            socket_stats = e.conf.option("socket-stats")
            for b in e.conf.binds:
                for addr in b.addresses:
                    got = self.inherited.take(addr, b) if self.inherited is not None else None
                    # 2.6: the bind's backlog, else the proxy's, else the bind's maxconn, else the
                    # proxy's (the kernel caps it)
                    backlog = (b.param("backlog") or e.conf.backlog or b.param("maxconn") or e.conf.maxconn
                               or self.state.maxconn)
                    try:
                        socks = got or bind_address(addr, b, backlog=int(backlog))
                    except BindError as err:
                        kind = "proxy" if e.conf.kind == "listen" else "frontend"
                        errors.append(f"Binding [{b.loc}] for {kind} {e.name}: {err}")
                        continue
                    on_accept = router.accept if self.cps_ctr is None else self._conn_counted(router.accept)
                    if self.ssl_ctr is not None and b.tls is not None:
                        on_accept = self._conn_counted(on_accept, self.ssl_ctr)
                    for sock in socks:
                        lst = Listener(self.loop, sock, b, addr, fe, on_accept, self._can_accept)
                        self.listeners.append(lst)
                        fe.listeners += 1
                        lst.luid = luids[fe.listeners - 1] if fe.listeners <= len(luids) else fe.listeners
                        if socket_stats:
                            self._socket_stats(fe, lst)
        self.state.listeners = len(self.listeners)
        self._bind_peers()
        if self.config.log_forwards and not self.aggregate and self.logfwd is None:
            from haproxy_py.engine.logforward import LogForwarder

            try:
                self.logfwd = LogForwarder(self.loop, self.config.log_forwards, self.state)
            except OSError as err:
                errors.append(f"Starting log-forward: cannot bind socket ({err.strerror or err})")
        if errors:
            raise BindError("\n".join(errors))

    def _bind_peers(self) -> None:
        """The peers sections' local peers listen with the other listeners (engine/peers.py)."""
        if self.aggregate or not self.speaks_peers or self.peers is not None \
                or not any(s.kind == "peers" for s in self.config.other_sections):
            return
        from haproxy_py.engine.peers import start_peers

        self.peers = start_peers(self)
        if self.peers is not None:
            try:
                self.peers.prebind()
            except OSError as e:
                alert(f"Starting peers: cannot bind the local peer's address ({e.strerror or e}).", self.quiet)

    def _conn_counted(self, accept: Any, ctr: Any = None) -> Any:
        """'maxconnrate': every accepted connection counts on the global connection rate (or on
        ``ctr``: 'maxsslrate', the TLS listeners' connections)."""
        ctr = ctr if ctr is not None else self.cps_ctr
        clock = self.loop.time

        def counted(conn: Any, peer: Any, lst: Listener) -> None:
            ctr.add(int(clock() * 1000), 1000)
            accept(conn, peer, lst)

        return counted

    def _rate_full(self, ctr: Any, lim: int) -> bool:
        """2.6's freq_ctr_remain over one second: no room left, then look again at
        next_event_delay (the 'rate-limit sessions' logic, for the global limits too)."""
        total = ctr.total_exact(int(self.loop.time() * 1000), 1000)
        if total < lim * 1000:
            return False
        if self._rate_retry is None:
            wait = max((total - lim * 1000) // lim, 1)
            self._rate_retry = self.loop.call_later(wait / 1000, self._rate_resume)
        return True

    def _can_accept(self, lst: Listener) -> bool:
        st = self.state
        if self.stopping:
            return False
        if st.maxconn and st.curr_conns >= st.maxconn:
            return False
        if st.maxsslconn and st.curr_ssl >= st.maxsslconn and lst.bind.tls is not None:
            return False
        if self.cps_ctr is not None and self._rate_full(self.cps_ctr, self.cps_lim):
            return False
        if self.sps_ctr is not None and self._rate_full(self.sps_ctr, self.sps_lim):
            return False
        if self.ssl_ctr is not None and lst.bind.tls is not None and self._rate_full(self.ssl_ctr, self.ssl_lim):
            return False
        fe = lst.frontend
        if fe.maxconn and fe.counters.scur >= fe.maxconn:
            return False
        if lst.maxconn and lst.nbconn >= lst.maxconn:  # bind maxconn
            return False
        sps = fe.sps_ctr
        if sps is not None:
            # rate-limit sessions, as 2.6's listener_accept: accept while the sessions counted
            # over the sliding second (a period that starts at the first session after an idle
            # one, so a burst of the limit passes, then nothing until that period ends) stay
            # below the limit; else the connections wait in the backlog for next_event_delay
            lim = fe.conf.rate_limit_sessions
            total = sps.total_exact(int(self.loop.time() * 1000), 1000)
            if total >= lim * 1000:
                if self._rate_retry is None:
                    wait = max((total - lim * 1000) // lim, 1)
                    self._rate_retry = self.loop.call_later(wait / 1000, self._rate_resume)
                return False
        return True

    def _rate_resume(self) -> None:
        self._rate_retry = None
        self._restart_listeners()

    @staticmethod
    def _socket_stats(fe: Frontend, lst: Listener) -> None:
        """'option socket-stats': the listener's own show stat row and counters."""
        from haproxy_py.runtime.frontend import ListenerStats

        addr = ""
        try:
            if lst.sock.family in (socket.AF_INET, socket.AF_INET6):
                h, port = lst.sock.getsockname()[:2]
                addr = f"[{h}]:{port}" if ":" in h else f"{h}:{port}"
            elif lst.sock.family == socket.AF_UNIX:
                addr = f"unix:{lst.sock.getsockname()}"
        except OSError:
            pass
        ls = ListenerStats(fe, lst.name, lst.luid, addr, lst.maxconn)
        fe.socket_stats.append(ls)
        lst.counters = ls.counters

    def connection_closed(self, fe: Frontend, listener: Listener | None = None) -> None:
        """A client connection ended: resume listeners that stopped because of maxconn."""
        st = self.state
        st.curr_conns -= 1
        if listener is not None:
            listener.nbconn -= 1
            if listener.bind.tls is not None:
                st.curr_ssl -= 1
        fe.counters.scur -= 1
        if listener is not None and listener.counters is not None:
            listener.counters.scur -= 1
        if self.stopping:
            self.stopped_check()
            return
        for lst in self.listeners:
            if not lst.active and not lst.paused and self._can_accept(lst):
                lst.start()

    # ------------------------------------------------------------------ lifecycle
    def _warm_regexes(self) -> None:
        from haproxy_py.samples import rxlazy

        if rxlazy.warm(100):  # about 4 ms of compiling, then the loop serves traffic
            self.loop.call_later(0.001, self._warm_regexes)

    def _comp_idle(self, cpu0: float, wall0: float) -> None:
        """maxcompcpuusage: the share of the last second the process did not spend on the CPU
        (2.6's idle_pct), each second, for the compression to read."""
        cpu, wall = time.process_time(), time.monotonic()
        if wall > wall0:
            self.state.idle_pct = max(0, min(100, round(100 - 100 * (cpu - cpu0) / (wall - wall0))))
        self.loop.call_later(1.0, self._comp_idle, cpu, wall)

    async def start(self) -> None:
        if self.state.comp_min_idle > 0:  # maxcompcpuusage: only then is the idle share measured
            self.loop.call_later(1.0, self._comp_idle, time.process_time(), time.monotonic())
        if not self.listeners:
            self.bind_all()
        for lst in self.listeners:
            lst.start()
        from haproxy_py.samples import rxlazy

        if rxlazy.pending():  # large regex pattern files: compile them between events
            self._warm_regexes()
        g = self.config.global_
        if self.stats_servers:  # prebound by engine/workers.py before privileges were dropped
            for srv in self.stats_servers:
                await srv.start()
        elif g.stats_sockets:
            from haproxy_py.engine.stats_socket import start_stats_sockets

            self.stats_servers = await start_stats_sockets(self.state, list(g.stats_sockets), self.loop)
        try:
            from haproxy_py.engine.checker import Checker
        except ImportError:  # pragma: no cover - during bring-up only
            Checker = None  # type: ignore[assignment,misc]  # noqa: N806
        if any(r.conf.servers for r in self.rings.values()):
            from haproxy_py.engine.ringfwd import RingForwarder

            self.ringfwd = RingForwarder(self.loop, self.rings)
        if self.run_checks and any(p.email_alert is not None for p in self.config.proxies):
            from haproxy_py.config.mailers import sections
            from haproxy_py.engine.mailer import Mailer

            known = sections(self.config.other_sections)
            self.mailer = Mailer(self.loop, {p.name: (p.email_alert, known[p.email_alert.mailers])
                                             for p in self.config.proxies
                                             if p.email_alert is not None and p.email_alert.mailers in known})
        if Checker is not None and self.run_checks:
            if self.config.global_.pp2_never_send_local:
                from haproxy_py.engine import proxy_protocol

                proxy_protocol.NEVER_SEND_LOCAL = True
            backends = [e.backend for e in self.state.proxies if e.backend is not None]
            if any(s.check_enabled or s.agent_enabled for b in backends for s in b.servers):
                self.checker = Checker(self.loop, backends, log=self.log_event,
                                       now=self.loop.time, wall=time.time,
                                       shutdown=self.shutdown_session,
                                       spread_pct=self.config.global_.spread_checks,
                                       node=self.state.node, set_maxconn=self.set_server_maxconn,
                                       mail=self.mailer.alert if self.mailer is not None else None)
                self.checker.start()
        from haproxy_py.engine.resolvers import ResolversEngine, wanted

        # built even without any section: show resolvers lists 2.6's implicit 'default' one
        backends = [e.backend for e in self.state.proxies if e.backend is not None]
        # the worker that runs the checks resolves; the master and the other workers take its
        # results with the check states (engine/workers.py health_states)
        from haproxy_py.actions.resolve import sections_used

        # do-resolve rules resolve in every worker: their sections are opened there too (the
        # servers stay resolved by the checking worker only)
        asked = sections_used(self.config)
        self.resolvers = ResolversEngine(self.loop, wanted(self.config) if self.run_checks or asked else [],
                                         backends if self.run_checks else [],
                                         now=self.loop.time, wall=time.time, set_addr=self.set_server_addr,
                                         apply=self.apply_outcome, log=self.log_event, asked=asked)
        try:
            with open("/etc/resolv.conf") as f:
                resolv_conf: str | None = f.read()
        except OSError:
            resolv_conf = None
        self.resolvers.start(resolv_conf)
        if self.peers is None:
            self._bind_peers()
        if self.peers is not None:
            try:
                await self.peers.start()
            except OSError as e:
                alert(f"Starting peers: cannot bind the local peer's address ({e.strerror or e}).", self.quiet)
        self._idle_sample = (time.process_time(), time.monotonic())  # idle counts from here, not the start
        self.state.resolvers = self.resolvers.table

    def log_event(self, proxy_name: str, severity: str | int, text: str) -> None:
        """State-change and alert messages: to the proxy's log targets and stderr (foreground)."""
        lg = self.loggers.get(proxy_name) or self.loggers.get("")
        if lg is not None:
            lg.send_text(severity, text)
        sev = severity if isinstance(severity, str) else {0: "emerg", 1: "alert", 2: "crit", 3: "err",
                                                          4: "warning", 5: "notice", 6: "info"}.get(severity, "info")
        if not self.quiet:
            line = stderr_form(sev, text)
            if line is not None:
                sys.stderr.write(f"{line[0]} ({os.getpid()}) : {line[1]}\n")

    def session_fault(self, sess: Any, exc: BaseException, where: str, *, fe: Any = None,
                      peer: Any = None) -> None:
        """A session met an unexpected exception (engine/fault.py; the session closes itself):
        counted as 2.6 counts internal errors (``eint`` of its frontend, backend and server) and
        logged once, as one alert line with its context, through the proxy's log and stderr."""
        from haproxy_py.engine.fault import describe

        self.internal_errors += 1
        be = srv = None
        client = phase = "-"
        if sess is not None:
            fe = sess.fe
            be = sess.be
            srv = sess.srv
            client = f"{sess.src_ip}:{sess.src_port}"
            phase = sess.phase_name()
        elif isinstance(peer, tuple) and len(peer) >= 2:
            client = f"{peer[0]}:{peer[1]}"
        for obj in (fe, be, srv):
            if obj is not None:
                obj.counters.eint += 1
        fe_name = fe.name if fe is not None else "-"
        text = (f"Internal error in a session: frontend {fe_name}, "
                f"backend {be.name if be is not None else '-'}, "
                f"server {srv.name if srv is not None else '-'}, client {client}, phase {phase}, "
                f"during {where}: {describe(exc)}; the session is closed.")
        try:
            self.log_event(fe_name if fe is not None else "", "alert", text)
        except Exception:  # noqa: BLE001 - the log path itself failed: stderr, one line
            sys.stderr.write(f"[ALERT]    ({os.getpid()}) : {text}\n")

    def _loop_exception(self, loop: Any, context: dict[str, Any]) -> None:
        """The last resort: an exception no session boundary caught (engine/fault.py) escaped a
        loop callback. Counted and logged in one alert line (no traceback); never a crash."""
        from haproxy_py.engine.fault import describe

        self.internal_errors += 1
        exc = context.get("exception")
        msg = context.get("message") or "unhandled exception"
        text = f"Internal error outside any session: {msg}"
        if isinstance(exc, BaseException):
            text += f": {describe(exc)}"
        try:
            self.log_event("", "alert", text)
        except Exception:  # noqa: BLE001
            if not self.quiet:
                sys.stderr.write(f"[ALERT]    ({os.getpid()}) : {text}\n")

    def observe(self, srv: Any, kind: str) -> None:
        """Passive health observation from traffic (``observe layer4|layer7``)."""
        if self.checker is not None:
            self.checker.observe(srv, kind)
            return
        from haproxy_py.checks import health

        out = health.observe(srv, kind, self.loop.time())
        if out is not None:
            self._emit_outcome(out)

    def server_pool_counts(self, srv: Any) -> tuple[int, int, int, int]:
        from haproxy_py.engine.pool import POOLS

        return POOLS.counts(srv)

    def sysinfo(self) -> Any:
        """What ``show info`` needs from the OS and the loop (read only when asked)."""
        from haproxy_py.engine.logs import dropped_total
        from haproxy_py.stats.info import SysInfo

        st = self.state
        st.dropped_logs = dropped_total()
        si = SysInfo()
        si.ulimit_n = st.ulimit_n
        si.maxsock = st.maxsock
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        si.pool_alloc_bytes = si.pool_used_bytes = int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
        # 2.6 counts its tasks (sessions, listeners, health checks, resolutions, the stats applet
        # serving this very request) and the ones ready to run; idle is the
        # share of wall time the process did not spend on the CPU since the previous reading
        checks = len(self.checker.checks) if self.checker is not None else 0
        res = len(self.resolvers.resolutions) if self.resolvers is not None else 0
        si.tasks = len(st.sessions) + len(self.listeners) + checks + res + 1
        si.run_queue = len(getattr(self.loop, "_ready", ()))  # callbacks ready to run (asyncio's loop shows them)
        cpu, wall = time.process_time(), time.monotonic()
        cpu0, wall0 = self._idle_sample
        if wall - wall0 > 0.01:
            si.idle_pct = max(0, min(100, round(100 - 100 * (cpu - cpu0) / (wall - wall0))))
            self._idle_sample = (cpu, wall)
        else:
            si.idle_pct = self._idle_last
        self._idle_last = si.idle_pct
        si.nbthread = worker_count(self.config)  # nbthread N runs N worker processes: 2.6's threads
        return si

    def wake_pendings(self, pendings: list[Any]) -> None:
        """Queued requests handed back by the backend: a slot was granted (``granted``), or their
        server went away and they must be dispatched again. Their sessions run from the loop,
        never inside the caller."""
        for p in pendings:
            owner = p.owner
            if owner is None:
                continue
            tp = getattr(owner, "tprof", None)
            if tp is not None:  # task profiling: woken now, runs from the loop (lat_ns_*)
                tp.wake()
            self.loop.call_soon(owner.woken, p)

    # ------------------------------------------------------------------ EngineOps (runtime/ops.py)
    def apply_outcome(self, out: Any) -> None:
        """A state change decided by pure code (CLI, stats page): through the checker when one runs
        (it owns the check timers), else its log lines and shutdowns at once."""
        if self.checker is not None:
            self.checker.apply(out)
        else:
            self._emit_outcome(out)

    def _emit_outcome(self, out: Any) -> None:
        """Emit the log lines of a state change and shut down the sessions it names."""
        for proxy, sev, text in out.logs:
            self.log_event(proxy, sev, text)
        if self.mailer is not None:
            for proxy, level, text in out.mails:
                self.mailer.alert(proxy, level, text)
        for sess in out.shutdown:
            sess.kill("D")

    def pause_frontend(self, fe: Frontend) -> None:
        """``disable frontend``: its listeners refuse new connections until resumed."""
        fe.paused = True
        for lst in self.listeners:
            if lst.frontend is fe:
                lst.suspend()

    def resume_frontend(self, fe: Frontend) -> None:
        """``enable frontend``: listening again (the master of workers never accepts itself)."""
        fe.paused = False
        for lst in self.listeners:
            if lst.frontend is fe:
                lst.unsuspend(accept=not self.aggregate)

    def pause_all(self) -> None:
        for lst in self.listeners:
            lst.pause()

    def resume_all(self) -> None:
        for lst in self.listeners:
            if not lst.frontend.paused:  # a disabled frontend stays disabled (``enable frontend``)
                lst.resume()

    def stop_frontend(self, fe: Frontend) -> None:
        """``shutdown frontend``: its listening sockets are closed (the kernel refuses new
        connections once every process holding them closed them), sessions in progress go on."""
        fe.stopped = True
        fe.paused = False
        keep = []
        for lst in self.listeners:
            if lst.frontend is fe:
                lst.paused = True  # never started again (connection_closed, resume_all)
                lst.close()
            else:
                keep.append(lst)
        self.listeners[:] = keep  # the same list: the routers' facts read it (dst_conn)

    def set_server_addr(self, srv: Any, host: str, port: int) -> None:
        """``set server addr``: the next connections go to host:port; so does the health check
        unless it has its own ``addr``/``port``."""
        srv.host = host
        srv.port = port
        if self.checker is not None:
            self.checker.server_addr_changed(srv)

    def set_server_fqdn(self, srv: Any, fqdn: str) -> None:
        """``set server fqdn``: the server's resolution asks for the new name now."""
        if self.resolvers is not None:
            self.resolvers.set_fqdn(srv, fqdn)

    def set_server_check(self, srv: Any, host: str | None, port: int | None) -> None:
        """``set server check-addr/check-port``: the next probes go there."""
        if self.checker is not None:
            self.checker.set_check_target(srv, host, port)

    def set_server_maxconn(self, srv: Any, value: int) -> None:
        """``set maxconn server``: this process's part of the limit; freed slots go to queued
        requests at once (the backend hands them to its ``on_pendings``)."""
        from haproxy_py.runtime.ops import set_server_maxconn

        set_server_maxconn(srv, self.limit_part(value) if value > 0 else value, self.loop.time(),
                           dequeue=not self.aggregate)

    def set_frontend_maxconn(self, fe: Frontend, value: int) -> None:
        """``set maxconn frontend``: this process's part; listeners held back accept again."""
        fe.maxconn = self.limit_part(value) if value > 0 else value
        self._restart_listeners()

    def replace_certificate(self, cert: Any) -> int:
        """``commit ssl cert``: every TLS listener that loaded this file serves the new one, every
        server presenting it as its client certificate presents the new one."""
        from haproxy_py.tls.context import replace_client_cert

        n = sum(1 for r in self.routers.values() for t in r.tls.values() if t.replace(cert))
        return n + replace_client_cert(cert)

    def replace_ca_file(self, name: str, pem: str) -> int:
        """``commit ssl ca-file``: listeners and servers using that CA file verify with the new one."""
        from haproxy_py.tls.context import replace_client_ca, write_ca

        path = write_ca(pem)
        n = sum(1 for r in self.routers.values() for t in r.tls.values() if t.set_ca(name, path))
        return n + replace_client_ca(name, path)

    def warning(self, text: str) -> None:
        """A runtime API command's warning (once: a worker replaying the master's line is silent)."""
        if not self.replays_cli:
            warning(text, self.quiet)

    def set_ocsp_response(self, key: bytes, der: bytes) -> int:
        """``set ssl ocsp-response``: the listeners' contexts of certificates with that CertID
        staple the new response from their next handshake on."""
        from haproxy_py.tls.context import set_stapled

        return set_stapled(key, der, [t for r in self.routers.values() for t in r.tls.values()])

    def replace_crl_file(self, name: str, pem: str) -> int:
        """``commit ssl crl-file``: listeners and servers using that CRL file check with the new one."""
        from haproxy_py.tls.context import replace_client_crl, write_ca

        path = write_ca(pem)
        n = sum(1 for r in self.routers.values() for t in r.tls.values() if t.set_crl(name, path))
        return n + replace_client_crl(name, path)

    def set_crt_list(self, path: str, entries: list[Any]) -> int:
        """``add/del ssl crt-list``: every TLS listener that loaded that crt-list serves its new
        entries."""
        return sum(1 for r in self.routers.values() for t in r.tls.values() if t.set_list(path, entries))

    def set_global_maxconn(self, value: int) -> None:
        """``set maxconn global``: listeners held back by the old limit accept again."""
        self.state.maxconn = self.limit_part(value)
        self._restart_listeners()

    def _restart_listeners(self) -> None:
        if self.stopping:
            return
        for lst in self.listeners:
            if not lst.active and not lst.paused and self._can_accept(lst):
                lst.start()

    def shutdown_session(self, sess: Any) -> None:
        sess.kill("K")

    def _shutdown_server_sessions(self, srv: Any) -> None:
        for sess in list(srv.sessions):
            sess.kill("D")

    def soft_stop(self) -> None:
        """SIGUSR1: stop listening, let sessions finish, then exit ('grace': after that delay, with
        'stopping' already true and the listeners still accepting, as 2.6)."""
        if self.stopping:
            return
        grace = self.config.global_.grace
        if grace and self._grace is not False:
            if self._grace is None:
                self.state.stopping = True
                self._grace = self.loop.call_later(grace / 1000.0, self._grace_over)
            return
        self.stopping = True
        self.state.stopping = True
        for lst in self.listeners:
            lst.close()
        for sess in list(self.state.sessions):  # HTTP: idle keep-alive connections close now
            stop = getattr(sess, "soft_stop", None)
            if stop is not None:
                stop()
        for e in self.state.proxies:
            fe = e.frontend
            if fe is not None:
                fe.stopped = True
            fe_conns = fe.counters.conn_tot if fe else 0
            be_conns = e.backend.counters.stot if e.backend is not None else 0
            self.log_event(e.name, "warning",
                           f"Proxy {e.name} stopped (cumulated conns: FE: {fe_conns}, BE: {be_conns}).")
        if self.checker is not None:
            self.checker.stop()
        if self.resolvers is not None:
            self.resolvers.stop()
            self.resolvers = None
        if self.peers is not None:
            self.peers.stop()
        self.stopped_check()
        hsa = self.config.global_.hard_stop_after
        if hsa:
            self.loop.call_later(hsa / 1000.0, self.hard_stop)

    def _grace_over(self) -> None:
        self._grace = False
        self.soft_stop()

    def stopped_check(self) -> None:
        """A soft stop ends once no session is left and the peers taught the new process."""
        if self.state.curr_conns <= 0 and (self.peers is None or self.peers.done) \
                and self.on_stopped is not None and not self.on_stopped.done():
            self.on_stopped.set_result(0)

    def hard_stop(self) -> None:
        self.stopping = True
        for lst in self.listeners:
            lst.close()
        for sess in list(self.state.sessions):
            sess.kill("K")
        if self.on_stopped is not None and not self.on_stopped.done():
            self.on_stopped.set_result(0)

    async def close(self) -> None:
        for lst in self.listeners:
            lst.close()
        for srv in self.stats_servers:
            res = srv.close()
            if asyncio.iscoroutine(res):
                await res
        if self.checker is not None:
            self.checker.stop()
        if self.resolvers is not None:
            self.resolvers.stop()
            self.resolvers = None
        for sess in list(self.state.sessions):
            sess.kill("K")
        if self.peers is not None:
            self.peers.close()
        if self.ringfwd is not None:
            self.ringfwd.stop()
        if self.logfwd is not None:
            self.logfwd.close()
            self.logfwd = None
        for lg in self.loggers.values():
            lg.close()


def worker_count(config: Config) -> int:
    """How many worker processes ``nbthread N`` (or the 1.5 ``nbproc N``) asks for: at least 1."""
    g = config.global_
    n = g.nbproc or 0
    if g.nbthread and g.nbthread > n:
        n = g.nbthread
    return max(1, n)


def socket_family_name(sock: socket.socket) -> str:  # pragma: no cover - debugging helper
    return {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6", socket.AF_UNIX: "unix"}.get(sock.family, "?")
