"""Per frontend: accepts connections and makes the per-request decisions that need the frontend's
configuration (content switching, rule sets, memos). It starts the sessions: ``TcpSession``
(engine/stream.py) and ``HttpSession`` (engine/http.py); neither of those modules imports this one,
so the engine's imports have no cycle.
"""

from __future__ import annotations

import socket
import sys
import time
from typing import TYPE_CHECKING, Any

from haproxy_py._mypyc import mypyc_attr
from haproxy_py.actions.rules import RuleSets, compile_rules
from haproxy_py.config.model import Proxy
from haproxy_py.engine.http import SESSION_CLS
from haproxy_py.engine.stream import TCP_SESSION_CLS, TcpSession, _addr_str, silent_drop
from haproxy_py.http.errors import ErrorPages
from haproxy_py.http.memo import RequestMemo, ResponseMemo
from haproxy_py.http.rewrite import ForwardForRule, connection_mode
from haproxy_py.log.format import LogRecord, embryonic_line
from haproxy_py.runtime.facts import StateFacts

if TYPE_CHECKING:  # pragma: no cover
    from haproxy_py.engine.loop import Engine
    from haproxy_py.runtime.backend import Backend

_wall = time.time


class CompiledProxy:
    """What the engine compiles once from one proxy's configuration: its rule sets
    (actions/rules.py), its error pages (http/errors.py) and its forwardfor rule. The Engine builds
    one per proxy when it loads a configuration (``Engine.compiled``, per runtime backend, and
    ``Router.compiled`` for the frontend); a reload loads a new Engine, hence new ones. Nothing is
    looked up by ``id()`` of a configuration object: a freed object's id can be reused."""

    __slots__ = ("conf", "rs", "pages", "ff", "h1cli", "h1srv")

    def __init__(self, conf: Proxy, h1case: dict[bytes, bytes] | None = None) -> None:
        self.conf = conf
        #: the h1-case-adjust map for what goes to the client (option h1-case-adjust-bogus-client,
        #: a frontend's) and to the server (-bogus-server, a backend's); None: names go as they are
        self.h1cli = h1case if h1case and conf.option("h1-case-adjust-bogus-client") else None
        self.h1srv = h1case if h1case and conf.option("h1-case-adjust-bogus-server") else None
        #: the rule sets; a set without rules is an empty tuple
        self.rs: RuleSets = compile_rules(conf)
        try:
            pages = ErrorPages(conf.errorfiles)
        except Exception:  # noqa: BLE001 - a broken errorfile was reported at config time
            pages = ErrorPages(())
        #: the pages this proxy answers with: its errorfiles over the built-in ones
        self.pages = pages
        #: option forwardfor, or None
        self.ff = ForwardForRule.from_model(conf.forwardfor) if conf.forwardfor is not None else None


class Router:
    """Per-frontend decisions: which backend serves a request (content switching)."""

    #: the HTTP view of a TCP frontend (UpgradedRouter): its sessions came from TCP ones
    upgraded = False

    def __init__(self, engine: Engine, conf: Any, frontend: Any, own_backend: Any,
                 compiled: CompiledProxy) -> None:
        self.engine = engine
        self.conf = conf
        #: the frontend's compiled helpers (shared with its own backend in a listen section)
        self.compiled = compiled
        self.frontend = frontend
        self.own_backend = own_backend
        self.mode = conf.mode
        #: socket options for each accepted connection (engine/sockopts.py), False: none
        self.accept_opts = conf.cli_tcpka is not None or any(
            isinstance(b.param("mss"), int) and b.param("mss") < 0 for b in conf.binds)
        self.logger = engine.loggers.get(conf.name)
        #: 'option logasap': the line goes when the response head is forwarded (http) or the
        #: server connection is made (tcp), with '+' before the times and bytes not final
        self.logasap = bool(conf.option("logasap"))
        #: 'option accept-invalid-http-request': a request head the strict parser refuses is read
        #: again as 2.6 relaxes it (http/relaxed.py; nothing per valid request)
        self.accept_invalid_req = conf.option("accept-invalid-http-request")
        #: 'option contstats': http bytes count on the proxies as the response head goes
        self.contstats = bool(conf.option("contstats"))
        #: the live facts sample fetches read (haproxy_py.samples.txn.Runtime)
        self.facts = EngineFacts(engine.state, lambda: engine.loop.time(), _wall, engine.listeners)
        #: use_backend rules: (condition or None, backend name or, for a name with %[...], its
        #: compiled format, evaluated per request)
        self.rules: list[tuple[Any, Any]] = []
        from haproxy_py.acl.condition import compile_acls, compile_condition

        self.acls = compile_acls(conf.acls)
        dynamic = False
        for ub in conf.use_backends:
            test = compile_condition(ub.cond, self.acls) if ub.cond is not None else None
            name: Any = ub.backend
            if "%" in name:  # 2.6: a name with '%' is a log-format string
                from haproxy_py.samples import compile_format

                name = compile_format(name, place="use_backend")
                dynamic = True
            self.rules.append((test, name))
        self.default_backend = None
        if conf.default_backend:
            self.default_backend = engine.state.backends.get(conf.default_backend)
        elif own_backend is not None:
            self.default_backend = own_backend
        #: the frontend's rule sets (haproxy_py.actions); a set without rules is an empty tuple
        self.rs = rs = compiled.rs
        #: some rule runs on each HTTP request of this frontend (tcp-request content, http-request,
        #: redirect)
        self.req_rules = bool(rs.tcp_content or rs.http_req or rs.redirect)
        #: the process has stick tables: sessions count on what they track (haproxy_py.stick)
        self.stick = bool(engine.state.tables) and engine.state.tracking
        #: backend object -> (its http-request rules, the response rule sets or None): engine/http.py
        self.be_rules: dict[Any, Any] = {}
        #: the tcp-request connection/session rules' context of the connection being accepted: the
        #: session created right after takes it over (its sess variables, rewritten addresses)
        self.l4_txn: Any = None
        self.stats_admin = [compile_condition(c, self.acls) for c in conf.stats.admin]
        from haproxy_py.http.capture import CapturePlan

        #: the frontend's capture lines (request/response headers, cookie), None when it has none
        #: (in mode tcp the slots only tcp-request content capture rules fill)
        self.caps = CapturePlan.build(conf.captures)
        #: capture rules (http-request/http-response capture, here or in a backend) may write the
        #: slots: the rules' context carries the plan
        self.cap_rules = self.caps is not None
        # HTTP features (http/features.py), each None when the frontend does not use it
        from haproxy_py.http.features import MonitorUri

        #: monitor-uri, and the compiled 'monitor fail' conditions
        self.monitor = MonitorUri(conf.monitor_uri) if conf.monitor_uri and conf.mode == "http" else None
        #: option http-use-proxy-header: an auth challenge to a proxy's request is a 407
        self.use_pxhdr = conf.option("http-use-proxy-header")
        self.monitor_fail = tuple(compile_condition(c, self.acls) for c in conf.monitor_fail)
        #: unique-id-format compiled (fmt(txn) -> bytes), and the unique-id-header name
        self.uid_fmt: Any = None
        self.uid_hdr: bytes | None = None
        if conf.unique_id_format:
            from haproxy_py.samples import compile_format

            self.uid_fmt = compile_format(conf.unique_id_format)
            if conf.unique_id_header and conf.mode == "http":
                self.uid_hdr = conf.unique_id_header.encode("latin-1")
        from haproxy_py.http.features import body_use

        #: True: wait for request bodies before the http-request rules (option http-buffer-request);
        #: False: the rules read them (req.body...); None: neither
        self.body = body_use(conf) if conf.mode == "http" else None
        self.tmo_body = conf.timeouts.http_request or conf.timeouts.client
        #: build an ACL request context only when some rule will read it
        self.needs_ctx = bool(self.req_rules or rs.http_res or rs.http_after
                              or any(t is not None for t, _ in self.rules) or dynamic or self.monitor_fail
                              or self.uid_fmt is not None or self.body is not None)
        # per-request constants, computed once (the configuration never changes in a process)
        t = conf.timeouts
        #: wait for the first request head / for the next one on a kept-alive connection
        self.tmo_first = t.http_request or t.client
        self.tmo_ka = t.http_keep_alive or t.http_request or t.client
        self.fe_mode = connection_mode(conf, None) if self.mode == "http" else ""
        #: per backend object: (connection mode, forwardfor rule, server name header or None,
        #: originalto rule or None)
        self.be_info: dict[Any, tuple[str, Any, bytes | None, Any]] = {}
        #: compression (http/compression.py): backend -> its (algos, types, offload) with this
        #: frontend, filled on first use; None when no proxy of the configuration compresses
        self.comp_by_be: dict[Any, Any] | None = (
            {} if any(p.compression is not None for p in engine.config.proxies) else None)
        #: bind -> its TLS contexts (tls/context.py ServerTls), for the 'bind ... ssl' lines only
        self.tls: dict[Any, Any] = {}
        for b in conf.binds:
            if b.tls is not None:
                from haproxy_py.tls.context import ServerTls

                self.tls[b] = ServerTls(b.tls)
        #: the HTTP head memos (http/memo.py): request heads (and the heads forwarded for them),
        #: response heads
        self.req_memo = RequestMemo()
        self.res_memo = ResponseMemo()
        #: a TCP frontend's HTTP view, made when a session first becomes HTTP (upgrade())
        self.http_view: UpgradedRouter | None = None

    def upgrade(self, tcp: TcpSession, ctx: Any, be: Any) -> None:
        """A TCP session becomes HTTP (2.6's in-place TCP to HTTP/1 upgrade): after a
        ``tcp-request content switch-mode http`` (``be`` None: the request is routed as in an HTTP
        frontend) or once the TCP routing chose an HTTP backend (``be``: the first request goes
        there). What the client sent so far is the first request's start; the content rules
        already ran for it (not again), the next requests go through all the frontend's rules.
        The frontend is then seen in mode http (its HTTP rules, captures, forwardfor apply, as
        2.6 applies them, its log format stays). The TCP session hands its connection, record and
        session state over without ending (nothing is logged or counted for it)."""
        view = self.http_view
        if view is None:
            import dataclasses

            conf = dataclasses.replace(self.conf, mode="http")
            view = self.http_view = UpgradedRouter(self.engine, conf, self.frontend, self.own_backend,
                                                   CompiledProxy(conf, self.engine.h1case))
        sock = tcp.cli_conn.detach() if tcp.cli_conn is not None else tcp.cli_sock
        tcp.cli_conn = None
        tcp.closed = True
        tcp.cancel_timer()
        self.engine.state.sessions.discard(tcp)
        if tcp.stk_txn is not None and getattr(tcp.stk_txn, "stkctr", None) is not None:
            from haproxy_py.stick.track import release_all  # the TCP stream's tracked counters end

            release_all(tcp.stk_txn.stkctr, int(self.engine.loop.time() * 1000))
        try:
            h = SESSION_CLS[0](view, sock, tcp.peer_addr(), tcp.listener)
            rec = tcp.rec
            rec.status = -1
            h.rec = rec
            h.accept_mono = h.req_start = tcp.accept_mono
            h.src_ip, h.src_port = tcp.src_ip, tcp.src_port
            h.sess_vars = getattr(ctx, "sess_vars", None)
            h.sess_stkctr = tcp.sess_stkctr
            h.buf = tcp.early
            h.tcp_done = True
            h.up_be = be
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            try:
                sock.close()
            except OSError:
                pass
            self.engine.connection_closed(self.frontend, tcp.listener)
            self.engine.session_fault(None, exc, "upgrade", fe=self.frontend, peer=tcp.peer_addr())
            return
        try:
            h.upgraded_start()
        except Exception as exc:  # noqa: BLE001
            h.internal_error(exc, "start")

    def compiled_of(self, be: Backend) -> CompiledProxy:
        """A backend's compiled helpers (built with the Engine)."""
        return self.engine.compiled[be]

    def backend_info(self, be: Any) -> tuple[str, Any, bytes | None, Any]:
        """What a request of this frontend needs from a backend's configuration (cached)."""
        info = self.be_info.get(be)
        if info is None:
            from haproxy_py.http.features import OriginalToRule

            hdr = be.conf.http_send_name_header
            info = (connection_mode(self.conf, be.conf), self.compiled_of(be).ff or self.compiled.ff,
                    hdr.encode("latin-1") if hdr else None,
                    OriginalToRule.from_models(self.conf.originalto, be.conf.originalto))
            self.be_info[be] = info
        return info

    def _nbsrv(self, name: str) -> int:
        be = self.engine.state.backends.get(name)
        if be is None:
            return 0
        act, bck = be.usable_counts()
        return act + bck

    def route(self, ctx: Any) -> Any:
        """The backend for a request context (None = no backend: 503)."""
        backends = self.engine.state.backends
        for test, name in self.rules:
            if test is None or (ctx is not None and test(ctx)):
                if not isinstance(name, str):  # use_backend %[...]: the first rule that applies
                    # decides, as in 2.6; a name that is no backend means the default backend
                    if ctx is None:
                        break
                    return backends.get(name(ctx).decode("latin-1")) or self.default_backend
                be = backends.get(name)
                if be is not None:
                    return be
        return self.default_backend

    def accept(self, sock: socket.socket, peer: Any, listener: Any) -> None:
        now = self.engine.loop.time()
        txn = None
        if self.rs.tcp_conn:
            txn = self._l4_rules(sock, peer, now, self.rs.tcp_conn, "dcon", lc=listener.counters)
            if txn is None:
                return
        if listener.pp or (txn is not None and txn.expect_proxy):
            # a PROXY protocol header first (engine/proxy_protocol.py): the connection is counted
            # now (and holds its place under maxconn, as 2.6's embryonic sessions), the session
            # once the header came; a failure closes it with engine.connection_closed
            from haproxy_py.engine.proxy_protocol import ProxyAccept

            self._count_conn(now, listener)
            ProxyAccept(self, sock, peer, listener, txn).start()
            return
        self._accepted(sock, peer, listener, txn, now, None)

    def proxied(self, sock: socket.socket, peer: Any, listener: Any, txn: Any, hdr: Any, t0: float,
                wall0: float) -> None:
        """A PROXY protocol header was received (engine/proxy_protocol.py): its addresses, when it
        carries some, become the connection's source and destination for everything that
        follows (tcp-request session rules, fetches, logs, forwardfor, send-proxy, stick tables)."""
        from haproxy_py.actions.base import RuleTxn

        if hdr.src is not None:
            peer = hdr.src
        if txn is None:
            ip, port = _addr_str(peer)
            if hdr.dst is not None:
                dst, dport = hdr.dst
            else:
                try:
                    dst, dport = _addr_str(sock.getsockname())
                except OSError:
                    dst, dport = "", 0
            txn = RuleTxn(None, ip, port, dst, dport, self.facts, self.conf.name, cli_fd=sock.fileno())
        elif hdr.src is not None:
            txn.src, txn.src_port = hdr.src
            txn.dst, txn.dst_port = hdr.dst
            txn._src_ip = txn._dst_ip = None
        txn.pp = hdr
        self._accepted(sock, peer, listener, txn, self.engine.loop.time(), (hdr, t0, wall0))

    def _count_conn(self, now: float, listener: Any) -> None:
        st = self.engine.state
        st.cum_conns += 1
        st.conn_rate.add(now)
        st.curr_conns += 1
        listener.nbconn += 1  # dst_conn
        if listener.bind.tls is not None:
            st.curr_ssl += 1
            st.cum_ssl += 1
            st.ssl_rate.add(now)
        c = self.frontend.counters
        c.conn_tot += 1
        c.conn_rate.add(now)
        c.scur += 1
        if c.scur > c.smax:
            c.smax = c.scur
        lc = listener.counters
        if lc is not None:  # option socket-stats
            lc.scur += 1
            if lc.scur > lc.smax:
                lc.smax = lc.scur

    def _accepted(self, sock: socket.socket, peer: Any, listener: Any, txn: Any, now: float,
                  pp: Any) -> None:
        eng = self.engine
        st = eng.state
        fe = self.frontend
        if self.rs.tcp_sess:
            txn = self._l4_rules(sock, peer, now, self.rs.tcp_sess, "dses", txn, counted=pp is not None,
                                  lc=listener.counters)
            if txn is None:
                if pp is not None:
                    # the connection had a handshake (a PROXY header): 2.6 kills it as an
                    # embryonic session and logs errno's text, which is "Success"
                    eng.connection_closed(fe, listener)
                    self.log_embryonic(listener, peer, pp[2], "Success", True)
                return
        if txn is not None:
            if txn.sess_stkctr is not None:  # 2.6: a new session counts on the session's counters
                from haproxy_py.stick.track import count_sess

                count_sess(txn.sess_stkctr, int(now * 1000))
            self.l4_txn = txn
        c = fe.counters
        if pp is None:  # (counted at accept when a PROXY header came first)
            st.curr_conns += 1
            listener.nbconn += 1  # dst_conn
            if listener.bind.tls is not None:
                st.curr_ssl += 1
                st.cum_ssl += 1
                st.ssl_rate.add(now)
            c.scur += 1
            if c.scur > c.smax:
                c.smax = c.scur
            st.cum_conns += 1
            st.conn_rate.add(now)
            c.conn_tot += 1
            c.conn_rate.add(now)
        st.sess_rate.add(now)
        c.stot += 1
        c.sess_rate.add(now)
        lc = listener.counters
        if lc is not None:  # option socket-stats
            if pp is None:
                lc.scur += 1
                if lc.scur > lc.smax:
                    lc.smax = lc.scur
            lc.stot += 1
        if fe.sps_ctr is not None:  # rate-limit sessions
            fe.sps_ctr.add(int(now * 1000), 1000)
        if eng.sps_ctr is not None:  # maxsessrate
            eng.sps_ctr.add(int(now * 1000), 1000)
        try:
            tcp = getattr(listener, "tcp", None)  # (the socket's family property makes an enum)
            if tcp is None:
                tcp = sock.family != socket.AF_UNIX
            if tcp:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self.accept_opts:  # option clitcpka / tcpka, bind mss -N
                    from haproxy_py.engine.sockopts import on_accept

                    on_accept(sock, self.conf, listener.bind)
        except OSError:
            pass
        lg = self.logger
        if lg is not None and lg.default_line and lg.logger.targets:
            self._log_connect(sock, peer, txn if pp is not None else None)
        if self.tls:
            tls = self.tls.get(listener.bind)
            if tls is not None:
                from haproxy_py.engine.tls import Handshake

                Handshake(self, tls, sock, peer, listener,
                          SESSION_CLS[0] if self.mode == "http" else TCP_SESSION_CLS[0], pp).start()
                return
        if self.mode == "http":
            self._start(SESSION_CLS[0], sock, peer, listener, pp)
        elif self.mode == "health":
            # 1.5's health mode: "OK" (or an HTTP 200 when option httpchk is set), then close
            try:
                sock.send(b"HTTP/1.0 200 OK\r\n\r\n" if self.conf.http_check is not None else b"OK\n")
            except OSError:
                pass
            sock.close()
            eng.connection_closed(fe, listener)
        else:
            self._start(TCP_SESSION_CLS[0], sock, peer, listener, pp)

    def _start(self, cls: Any, sock: socket.socket, peer: Any, listener: Any, pp: Any = None) -> None:
        """Create and start a session: an exception inside it closes that session only. ``pp``:
        (PROXY protocol header, accept time on the loop's clock, wall-clock accept date), or None."""
        try:
            sess = cls(self, sock, peer, listener)
            if pp is not None:
                from haproxy_py.engine.proxy_protocol import pp_session

                sess.peer = peer  # the PROXY header's source: not the socket's (Stream.peer_addr)
                pp_session(sess, pp)
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            try:
                sock.close()
            except OSError:
                pass
            self.engine.connection_closed(self.frontend, listener)
            self.engine.session_fault(None, exc, "accept", fe=self.frontend, peer=peer)
            return
        try:
            sess.start()
        except Exception as exc:  # noqa: BLE001
            sess.internal_error(exc, "start")


    def _l4_rules(self, sock: socket.socket, peer: Any, now: float, rules: Any, field: str, txn: Any = None,
                  counted: bool = False, lc: Any = None) -> Any:
        """tcp-request connection (at accept) or session (after a PROXY protocol header) rules,
        before anything is read: their context (``txn``, or a new one), or None when they
        rejected the connection. A rejected connection is counted (conn_tot unless ``counted``
        already, and dcon / dses as 2.6 counts them, dreq for a silent-drop), never logged, and
        closed with a reset by a connection rule (silently for a silent-drop), with a FIN by a
        session rule."""
        from haproxy_py.actions.base import DROP, REJECT, RuleTxn, run_rules

        if txn is None:
            ip, port = _addr_str(peer)
            try:
                dst, dport = _addr_str(sock.getsockname())
            except OSError:
                dst, dport = "", 0
            txn = RuleTxn(None, ip, port, dst, dport, self.facts, self.conf.name, cli_fd=sock.fileno())
        c = self.frontend.counters
        kind = run_rules(rules, txn).kind
        if kind == REJECT or kind == DROP:
            if txn.sess_stkctr is not None:
                from haproxy_py.stick.track import release_all

                release_all(txn.sess_stkctr, int(now * 1000))
            if not counted:
                self.engine.state.cum_conns += 1
                c.conn_tot += 1
                c.conn_rate.add(now)
            if kind == DROP:  # 2.6 counts a silent-drop as a denied request, even here
                c.dreq += 1
                if lc is not None:  # option socket-stats
                    lc.dreq += 1
                silent_drop(sock)
            else:
                setattr(c, field, getattr(c, field) + 1)
                if lc is not None:
                    setattr(lc, field, getattr(lc, field) + 1)
            if field == "dcon":  # a session rule's reject closes as usual (a FIN, as 2.6)
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                except OSError:
                    pass
            sock.close()
            return None
        return txn

    def log_embryonic(self, listener: Any, peer: Any, wall0: float, text: str, quiet: bool) -> None:
        """Log 2.6's line for a connection that died before its session existed (a failed TLS
        handshake, a bad PROXY protocol header): ``ip:port [date] fe/1: TEXT``, at level info;
        ``quiet``: not under ``option dontlognull`` (nothing was received)."""
        lg = self.logger
        if lg is None or not lg.logger.targets or (quiet and lg.dontlognull):
            return
        name = listener.name
        if not name:
            mine = [x for x in self.engine.listeners if x.frontend is listener.frontend]
            name = str(mine.index(listener) + 1) if listener in mine else "1"
        ip, port = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else ("unix", 0)
        lg.send_text(6, embryonic_line(ip, port, wall0, self.conf.name, name, text))

    def _log_connect(self, sock: socket.socket, peer: Any, txn: Any = None) -> None:
        lg = self.logger
        if lg is None:
            return
        rec = LogRecord(_wall())
        rec.client_ip, rec.client_port = _addr_str(peer)
        if txn is not None:
            rec.frontend_ip, rec.frontend_port = txn.dst, txn.dst_port
        else:
            try:
                rec.frontend_ip, rec.frontend_port = _addr_str(sock.getsockname())
            except OSError:
                pass
        rec.frontend_name = self.conf.name
        rec.http = self.mode == "http"
        lg.log_connect(rec)


class UpgradedRouter(Router):
    """The HTTP view of a TCP frontend, for its sessions upgraded to HTTP (Router.upgrade)."""

    upgraded = True


@mypyc_attr(native_class=False)  # the accelerator (mypyc): its base, runtime/facts.py, is not compiled
class EngineFacts(StateFacts):
    """The live facts, with the ones only a socket (or the engine's listeners) can tell."""

    __slots__ = ("listeners",)

    def __init__(self, state: Any, mono: Any, wall: Any, listeners: list[Any]) -> None:
        super().__init__(state, mono, wall)
        self.listeners = listeners

    def dst_conn(self, frontend: str, so_id: int) -> int | None:
        for lst in self.listeners:
            if lst.luid == so_id and lst.frontend.conf.name == frontend:
                return int(lst.nbconn)
        return None

    def tcp_info(self, fd: int) -> tuple[int, ...] | None:
        """getsockopt(TCP_INFO) on the connection: the 32-bit fields after the 8 one-byte ones."""
        import struct

        if fd < 0 or not hasattr(socket, "TCP_INFO"):
            return None
        try:
            s = socket.socket(fileno=fd)
        except OSError:
            return None
        try:
            raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        except OSError:
            return None
        finally:
            s.detach()
        n = (len(raw) - 8) // 4
        return struct.unpack_from(f"={n}I", raw, 8) if n > 20 else None

    def set_mark(self, fd: int, mark: int) -> None:
        """SO_MARK (root only: a refusal is ignored, as 2.6 ignores it)."""
        try:
            s = socket.socket(fileno=fd)
        except OSError:
            return
        try:
            s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_MARK", 36), mark.to_bytes(4, sys.byteorder))
        except OSError:
            pass
        finally:
            s.detach()

    def set_tos(self, fd: int, tos: int) -> None:
        """IP_TOS on IPv4 (and v4-mapped IPv6) connections, IPV6_TCLASS on IPv6 ones (2.6)."""
        try:
            s = socket.socket(fileno=fd)
        except OSError:
            return
        try:
            if s.family == socket.AF_INET:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
            elif s.family == socket.AF_INET6:
                peer = s.getpeername()[0]
                if peer.startswith("::ffff:") and "." in peer:
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
                else:
                    s.setsockopt(socket.IPPROTO_IPV6, getattr(socket, "IPV6_TCLASS", 67), tos)
        except OSError:
            pass
        finally:
            s.detach()

    def is_local(self, ip: str) -> bool | None:
        """2.6's addr_is_local: whether a UDP socket can bind to the address (port 0)."""
        import errno

        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        try:
            s = socket.socket(fam, socket.SOCK_DGRAM)
        except OSError:
            return None
        try:
            s.bind((ip, 0))
            return True
        except OSError as e:
            return False if e.errno == errno.EADDRNOTAVAIL else None
        finally:
            s.close()
