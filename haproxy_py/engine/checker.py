"""Active health checks on the event loop (asyncio or uvloop): the I/O half of checks/.

One timer per checked server (``loop.call_at``), raw non-blocking sockets watched with
``add_writer``/``add_reader`` (no Task, no Transport per check), results fed to ``checks.health``.

    checker = Checker(loop, backends, log=log, now=loop.time, wall=time.time, shutdown=shutdown)
    checker.start()          # schedules the first check of every server, spread over its interval
    checker.apply(outcome)   # emit the logs / shutdowns of a health.* call (runtime API, observe)
    checker.observe(srv, kind)   # passive check from the data path (observe layer4|layer7)
    checker.stop()

``log(proxy_name, severity, text)``; ``now()`` is the monotonic clock used for timers and durations
(seconds); ``wall()`` the wall clock given to health.* (Server.last_change); ``shutdown(session)`` ends
one session (default: ``session.shutdown()``).
"""

from __future__ import annotations

import errno
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from haproxy_py.checks import agent as A
from haproxy_py.checks import extcheck as XC
from haproxy_py.checks import health
from haproxy_py.checks import probes as P
from haproxy_py.checks import tcpcheck as TC
from haproxy_py.checks.health import Outcome
from haproxy_py.engine import connect
from haproxy_py.runtime.server import Server
from haproxy_py.samples.txn import release_vars

_SEV_TAG = {0: "[ALERT]   ", 1: "[ALERT]   ", 2: "[ALERT]   ", 3: "[ALERT]   ", 4: "[WARNING] ",
            5: "[WARNING] ", 6: "[NOTICE]  ", 7: "[NOTICE]  "}
_LINGER0 = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # struct linger {1, 0}: close with RST, no TIME_WAIT


_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)


def _established(s: socket.socket, host: str) -> bool:
    """On loopback the handshake completes inside connect(): when the socket already has its peer,
    the wait for writability (a poll handle made and dropped, one loop round) is skipped."""
    if not (host.startswith("127.") or host == "::1"):
        return False
    try:
        s.getpeername()
    except OSError:
        return False
    return True


def stderr_log(proxy: str, severity: int, text: str) -> None:
    sys.stderr.write(f"{_SEV_TAG.get(severity, '[NOTICE]  ')} ({os.getpid()}) : {text}\n")


class ServerCheck:
    """The check of one server: its timer and, while a probe runs, its socket."""

    __slots__ = ("srv", "checker", "timer", "tmo", "sock", "fd", "started", "phase", "verdict", "req",
                 "due", "addr", "http", "warmup", "count", "cli_host", "cli_port", "tcp", "tcp_proto", "tcr",
                 "agent", "want", "ext", "proc", "pidfd", "hdr", "lf", "linger", "htxn", "socks", "sbuf", "tls_hs")

    def __init__(self, srv: Server, checker: Checker, agent: bool = False) -> None:
        self.srv = srv
        self.checker = checker
        #: the server's agent check (``agent-check``) rather than its health check
        self.agent = agent
        self.timer: Any = None
        self.tmo: Any = None
        self.sock: socket.socket | None = None
        self.fd = -1
        self.started = 0.0
        self.phase = 0  # 0 idle, 1 connecting, 2 reading
        self.verdict: P.HttpVerdict | None = None
        self.req = b""
        self.due = 0.0
        self.warmup: Any = None
        self.count = 0  # completed probes
        be = srv.backend
        pconf = getattr(be, "conf", None)
        #: ``option httpchk`` makes it an HTTP check, in tcp mode too
        self.http = pconf.http_check if pconf is not None else None
        #: ``option tcp-check`` / a protocol check: the rules (checks/tcpcheck.py runs them)
        self.tcp = pconf.tcp_check if pconf is not None else None
        self.tcp_proto = bool(pconf is not None and pconf.tcp_check_proto)
        #: ``option external-check``: the program each check runs
        self.ext = pconf.external_check if pconf is not None and not agent else None
        self.proc: subprocess.Popen[bytes] | None = None
        self.pidfd = -1
        #: a PROXY line to send with the first data (tcp-check connect send-proxy)
        self.hdr = b""
        #: the sequence has log-format strings or variables: each run gets a samples Txn
        self.lf = any(r.fmt is not None or r.action == "action" or r.port_expr is not None
                      or r.on_success_lf is not None or r.on_error_lf is not None or r.status_expr is not None
                      for r in self.tcp or ())
        if agent:
            self.http = None
            self.tcp = None
            self.tcp_proto = True
        self.tcr: TC.TcpCheckRun | None = None
        #: ``set server check-addr/check-port`` (None: as configured)
        self.cli_host: str | None = None
        self.cli_port: int | None = None
        self.addr = self.target()
        #: the TLS handshake of a check over TLS waits for "r" or "w" (phase 3)
        self.want = ""
        #: the connection closes with a FIN (``connect linger``), else with a reset as 2.6's checks
        self.linger = False
        #: an HTTP check's samples Txn (http-check set-var, log-format strings), per check
        self.htxn: Any = None
        #: the SOCKS4 request still to make through the server's ``socks4`` proxy (phase 4 waits
        #: for its reply in ``sbuf``)
        self.socks: bytes | None = None
        self.sbuf = b""
        self.tls_hs: Any = None

    def target(self) -> tuple[str, int]:
        """Where the probe goes: the CLI's address/port, else the check's own, else the server's."""
        srv = self.srv
        conf = srv.conf
        if self.agent:
            return srv.agent_host or srv.host, srv.agent_port or 0
        host = self.cli_host or conf.check_addr or srv.host
        port = self.cli_port if self.cli_port else conf.check_port or srv.port
        return host, port

    # ------------------------------------------------------------------ scheduling
    def schedule(self, delay_ms: float) -> None:
        loop = self.checker.loop
        if self.timer is not None:
            self.timer.cancel()
        self.due = loop.time() + delay_ms / 1000.0
        self.timer = loop.call_at(self.due, self.run)

    def hurry(self, delay_ms: int) -> None:
        """Run the next check no later than ``delay_ms`` from now (observe errors -> fastinter)."""
        if self.phase:
            return
        loop = self.checker.loop
        if loop.time() + delay_ms / 1000.0 < self.due:
            self.schedule(delay_ms)

    # ------------------------------------------------------------------ one probe
    def run(self) -> None:
        self.timer = None
        srv = self.srv
        ck = self.checker
        if ck.stopped:
            return
        if self.agent:  # the agent keeps running in maintenance: it may bring the server back
            if not srv.agent_enabled:
                self.schedule(self.inter())
                return
            self.started = ck.now()
            self.addr = self.target()
            srv.agent_running = True
            srv.agent_info = ""  # as 2.6: the text of a check in progress is blank
            self.tcr = TC.TcpCheckRun(TC.agent_rules(srv.agent_send or b""), True, ck.wall())
            self.tcp_advance()
            return
        if not srv.check_enabled or srv.in_maint or srv.track is not None:
            self.schedule(srv.conf.inter)
            return
        self.started = ck.now()
        if self.ext is not None:
            self.ext_start()
            return
        if self.tcp is not None:
            self.tcr = TC.TcpCheckRun(self.tcp, self.tcp_proto, ck.wall(), self.check_txn() if self.lf else None)
            self.tcp_advance()
            return
        host, port = self.addr
        hc = self.http
        if hc is not None and (hc.connect is not None or hc.lf):
            host, port = self.http_prepare(hc, host, port)
        c = hc.connect if hc is not None else None
        if srv.conf.socks4 is not None and (c.via_socks4 or (c.default and srv.conf.check_via_socks4)
                                            if c is not None else srv.conf.check_via_socks4):
            host, port = self.via_socks4(host, port)
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            # created non-blocking: no fcntl() afterwards
            s = socket.socket(family, socket.SOCK_STREAM | _NONBLOCK)
        except OSError as e:
            self.finish(P.socket_error(e.errno or 0, 0))
            return
        if not _NONBLOCK:
            s.setblocking(False)
        if connect.SERVER_BUFS[0] or connect.SERVER_BUFS[1]:
            connect.server_bufs(s)
        self.sock = s
        self.fd = s.fileno()
        try:
            rc = s.connect_ex((host, port))
        except OSError as e:  # e.g. name resolution for a non-literal host
            self.finish(P.socket_error(e.errno or 0, self._dur()))
            return
        if rc == 0 or (rc == errno.EINPROGRESS and _established(s, host)):
            self.connected()
            return
        if rc != errno.EINPROGRESS and rc != errno.EAGAIN:
            self.finish(P.connect_failed(rc, self._dur()))
            return
        self.phase = 1
        loop = ck.loop
        loop.add_writer(self.fd, self.on_writable)
        self.tmo = loop.call_later(ck.connect_timeout(srv) / 1000.0, self.on_timeout)

    def http_prepare(self, hc: Any, host: str, port: int) -> tuple[str, int]:
        """An HTTP check with ``http-check connect`` or variables: its Txn, the actions before the
        request, and where the connection goes (``addr``, ``port``)."""
        txn = self.htxn = self.check_txn() if hc.lf else None
        for r in hc.pre:
            r.expr(txn)
        c = hc.connect
        if c is None:
            return host, port
        self.linger = c.linger
        if c.port_expr is not None and txn is not None:
            port = c.port_expr(txn) or port
        return c.addr or host, c.port or port

    def via_socks4(self, host: str, port: int) -> tuple[str, int]:
        """This probe goes through the server's SOCKS4 proxy: the request for (host, port) is kept
        for when the connection to the proxy is made."""
        from haproxy_py.engine.connect import socks4_request

        sp = self.srv.conf.socks4
        assert sp is not None
        try:
            self.socks = socks4_request((host, port))
        except ValueError:  # not an IPv4 address: SOCKS4 cannot name it
            return host, port
        return sp

    def socks_begin(self, tcp: bool) -> None:
        """Connected to the SOCKS4 proxy: ask it to connect, then wait for its 8-byte reply, with
        the exchange's time limit (2.6: a Layer7 timeout)."""
        s = self.sock
        req = self.socks
        assert s is not None and req is not None
        ck = self.checker
        if self.tmo is not None:
            self.tmo.cancel()
        self.tmo = ck.loop.call_later(ck.read_timeout(self.srv, self.inter(), self._dur()) / 1000.0,
                                      self.on_tcp_timeout if tcp else self.on_timeout)
        try:
            s.send(req)  # a fresh connection's send buffer takes the 16 bytes at once
        except OSError as e:
            self.socks_fail(tcp, f"SOCKS4 Proxy write error during handshake ({os.strerror(e.errno or 0)})")
            return
        self.sbuf = b""
        self.phase = 4
        ck.loop.add_reader(self.fd, self.on_socks_tcp if tcp else self.on_socks)

    def on_socks(self) -> None:
        self.socks_read(False)

    def on_socks_tcp(self) -> None:
        self.socks_read(True)

    def socks_read(self, tcp: bool) -> None:
        s = self.sock
        if s is None:
            return
        # 2.6.12's texts (it adds the text of whatever errno it last saw to some of them, e.g.
        # "(Message too long)": not the connection's own, left out here)
        try:
            data = s.recv(8 - len(self.sbuf))
        except BlockingIOError:
            return
        except OSError as e:
            self.socks_fail(tcp, f"SOCKS4 Proxy handshake aborted by server ({os.strerror(e.errno or 0)})")
            return
        if not data:
            self.socks_fail(tcp, "SOCKS4 Proxy read error during handshake")
            return
        self.sbuf += data
        if len(self.sbuf) < 8:
            return
        if self.sbuf[1] != 0x5A:
            self.socks_fail(tcp, "SOCKS4 Proxy deny the request")
            return
        self.checker.loop.remove_reader(self.fd)
        self.phase = 0
        self.socks = None
        if self.tmo is not None:
            self.tmo.cancel()
            self.tmo = None
        if tcp:
            self.tcp_connected()
        else:
            self.connected()

    def socks_fail(self, tcp: bool, text: str) -> None:
        tc = self.tcr
        if tcp and tc is not None:
            self.tcp_fail(P.CheckResult("SOCKERR", P.RES_FAILED, None, text + tc.where()))
        else:
            self.finish(P.CheckResult("SOCKERR", P.RES_FAILED, None, text, self._dur()))

    def check_txn(self) -> Any:
        """A samples Txn for one check: its backend and server, the clocks, check-scoped variables
        that start empty at each check, as 2.6's."""
        from haproxy_py.samples.txn import CheckTxn

        srv = self.srv
        ck = self.checker
        be = srv.backend
        return CheckTxn(backend=be.name if be is not None else "", server=srv.name, now=ck.now(), wall=ck.wall(),
                   pid=os.getpid(), hostname=ck.node)

    def _dur(self) -> int:
        return int((self.checker.now() - self.started) * 1000)

    def on_writable(self) -> None:
        loop = self.checker.loop
        loop.remove_writer(self.fd)
        self.phase = 0
        if self.tmo is not None:
            self.tmo.cancel()
            self.tmo = None
        s = self.sock
        if s is None:
            return
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.finish(P.connect_failed(err, self._dur()))
            return
        self.connected()

    def _rule_tls(self, rule: Any) -> Any:
        """The TLS handshake (tls/context.py ClientHandshake) a check's connection makes, or None:
        a ``connect ssl`` rule's own (its sni, alpn; the server's other TLS settings); the implicit
        connect's, a ``connect default``'s and an HTTP check's without ``http-check connect``: the
        server's check settings (check-ssl, check-sni, check-alpn); another connect: plain. An
        agent check never runs over TLS."""
        if self.agent:
            return None
        if rule is None or rule.index == -1 or rule.default:
            ct = self._check_tls()
            if ct is not None:
                return ct.for_check(self.srv)
        if rule is not None and rule.ssl:
            from haproxy_py.config.tls import TlsServer
            from haproxy_py.tls.context import client_tls

            # a server without TLS settings: the configuration passed only with verification off
            return client_tls(self.srv.conf.tls or TlsServer(verify="none")).for_rule(rule.sni, rule.alpn)
        return None

    def _tls_start(self, hs: Any) -> None:
        """Wrap the check's connection in TLS and step its handshake (phase 3), bounded by the
        connect timeout; success goes on with the check (``_tls_done``)."""
        self.tls_hs = hs
        try:
            self.sock = hs.wrap(self.sock)
        except (OSError, ValueError) as e:
            self.finish(P.socket_error(getattr(e, "errno", 0) or 0, self._dur()))
            return
        self.phase = 3
        ck = self.checker
        if self.tmo is not None:
            self.tmo.cancel()
        self.tmo = ck.loop.call_later(ck.connect_timeout(self.srv) / 1000.0, self._tls_timeout)
        self._tls_step()

    def _check_tls(self) -> Any:
        """The client contexts when this check runs over TLS: ``check-ssl``, or ``ssl`` on a server
        whose checks go to its own address and port (2.6's rule)."""
        t = self.srv.conf.tls
        if t is None:
            return None
        conf = self.srv.conf
        if t.check_ssl or (t.check_ssl is None and t.ssl and not conf.check_port and not conf.check_addr and not self.cli_port
                           and not self.cli_host):
            from haproxy_py.tls.context import client_tls

            return client_tls(t)
        return None

    def _tls_watch(self, want: str) -> None:
        if want == self.want:
            return
        loop = self.checker.loop
        if self.want == "r":
            loop.remove_reader(self.fd)
        elif self.want == "w":
            loop.remove_writer(self.fd)
        if want == "r":
            loop.add_reader(self.fd, self._tls_step)
        elif want == "w":
            loop.add_writer(self.fd, self._tls_step)
        self.want = want

    def _tls_step(self) -> None:
        import ssl

        s = self.sock
        if s is None:
            return
        try:
            s.do_handshake()  # type: ignore[attr-defined]
        except ssl.SSLWantReadError:
            self._tls_watch("r")
            return
        except ssl.SSLWantWriteError:
            self._tls_watch("w")
            return
        except (ssl.SSLError, OSError, ValueError):
            self._tls_watch("")
            self._tls_fail("SSL handshake failure")
            return
        self._tls_watch("")
        hs = self.tls_hs
        err = hs.established(s) if hs is not None else None
        if err is not None:
            self._tls_fail(err)
            return
        self.phase = 0
        if self.tmo is not None:
            self.tmo.cancel()
            self.tmo = None
        if self.tcr is not None:
            self.tcp_connected(tls_done=True)
        else:
            self.connected(tls_done=True)

    def _tls_fail(self, text: str, timeout: bool = False) -> None:
        tc = self.tcr
        if tc is not None:
            self.tcp_fail(tc.tls_error(text, timeout))
        else:
            self.finish(P.CheckResult("L6TOUT" if timeout else "L6RSP", P.RES_FAILED, None, text, self._dur()))

    def _tls_timeout(self) -> None:
        self.tmo = None
        if self.phase == 3:
            self._tls_watch("")
            self._tls_fail("", timeout=True)

    def _pp_header(self) -> bytes:
        """The PROXY protocol header of this check's connection (engine/proxy_protocol.py)."""
        from haproxy_py.engine.proxy_protocol import check_header

        s = self.sock
        assert s is not None
        return check_header(self.srv.conf, s.getsockname()[:2], s.getpeername()[:2])

    def connected(self, tls_done: bool = False) -> None:
        if self.socks is not None:
            self.socks_begin(False)
            return
        if not tls_done and self.sock is not None:
            hc = self.http
            rule = hc.connect if hc is not None else None
            hs = self._rule_tls(rule)
            # check-send-proxy, or an 'http-check connect send-proxy' before TLS: the header first,
            # before the handshake and the probe (a fresh connection's send buffer takes it at once)
            if self.srv.conf.check_send_proxy or (hs is not None and rule is not None and rule.send_proxy):
                try:
                    self.sock.send(self._pp_header())
                except OSError as e:
                    self.finish(P.socket_error(e.errno or 0, self._dur()))
                    return
            if hs is not None:
                self._tls_start(hs)
                return
        hc = self.http
        if hc is None:
            res = P.tcp_passed(self._dur())
            if tls_done:
                res.status = "L6OK"
            self.finish(res)
            return
        ck = self.checker
        srv = self.srv
        send_state = ck.send_state(srv) if hc.send_state else None
        txn = self.htxn
        req = P.build_http_request(hc, send_state, txn)
        s = self.sock
        assert s is not None
        if hc.connect is not None and hc.connect.send_proxy and not srv.conf.check_send_proxy and not tls_done:
            try:
                req = self._pp_header() + req
            except OSError as e:
                self.finish(P.socket_error(e.errno or 0, self._dur()))
                return
        for r in hc.mid:
            r.expr(txn)
        try:
            n = s.send(req)
        except BlockingIOError:
            n = 0
        except OSError as e:
            self.finish(P.CheckResult("L7RSP", P.RES_FAILED, None, os.strerror(e.errno or 0), self._dur()))
            return
        self.req = req[n:]
        self.verdict = P.HttpVerdict(hc, txn)
        self.phase = 2
        loop = ck.loop
        if self.req:
            loop.add_writer(self.fd, self.on_send_more)
        loop.add_reader(self.fd, self.on_readable)
        self.tmo = loop.call_later(ck.read_timeout(srv, None, self._dur()) / 1000.0, self.on_timeout)

    def on_send_more(self) -> None:
        s = self.sock
        if s is None:
            return
        try:
            n = s.send(self.req)
        except BlockingIOError:
            return
        except OSError:
            n = len(self.req)
        self.req = self.req[n:]
        if not self.req:
            self.checker.loop.remove_writer(self.fd)

    def on_readable(self) -> None:
        s = self.sock
        v = self.verdict
        if s is None or v is None:
            return
        try:
            data = s.recv(16384)
        except BlockingIOError:
            return
        except OSError as e:
            # 2.6 reports a read error (a reset) as a socket error when nothing was read yet, else
            # judges what came (an RST often follows the last data)
            if not v.buf:
                self.finish(P.socket_error(e.errno or 0, self._dur()))
                return
            data = b""
        res = v.feed(data) if data else v.closed()
        if res is not None:
            res.duration = self._dur()
            hc = self.http
            if hc is not None and hc.post:
                for r in hc.post:
                    r.expr(self.htxn)
            self.finish(res)

    # ------------------------------------------------------------------ external checks
    def ext_start(self) -> None:
        """Start the program (2.6's arguments and environment) and wait for its end, at most the
        check's interval."""
        ext = self.ext
        assert ext is not None
        srv = self.srv
        ck = self.checker
        argv, env = XC.command_line(ext, srv.backend.conf if srv.backend is not None else None, srv)
        try:
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, close_fds=True)
        except OSError as e:
            stderr_log("", 1, XC.exec_failure_text(os.strerror(e.errno or 0) if e.errno else str(e)))
            self.finish(XC.not_started(self._dur()))
            return
        self.proc = proc
        loop = ck.loop
        try:
            self.pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            self.pidfd = -1
        if self.pidfd >= 0:
            loop.add_reader(self.pidfd, self.ext_poll)
        else:
            self.tmo_poll()
        self.tmo = loop.call_later(srv.conf.inter / 1000.0, self.ext_timeout)

    def tmo_poll(self) -> None:
        if self.proc is not None and not self.ext_poll():
            self.checker.loop.call_later(0.01, self.tmo_poll)

    def ext_poll(self) -> bool:
        proc = self.proc
        if proc is None:
            return True
        rc = proc.poll()
        if rc is None:
            return False
        self.ext_done()
        self.finish(XC.exited(rc, self._dur()))
        return True

    def ext_timeout(self) -> None:
        self.tmo = None
        proc = self.proc
        if proc is None:
            return
        sys.stderr.write(f"[WARNING]  ({os.getpid()}) : kill {proc.pid}\n")
        try:
            proc.kill()
            proc.wait(1)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.ext_done()
        self.finish(XC.timed_out(self._dur()))

    def ext_done(self) -> None:
        if self.pidfd >= 0:
            self.checker.loop.remove_reader(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = -1
        self.proc = None
        if self.tmo is not None:
            self.tmo.cancel()
            self.tmo = None

    # ------------------------------------------------------------------ tcp-check sequences
    def tcp_advance(self) -> None:
        """Walk the sequence until it needs the network or ends."""
        tc = self.tcr
        if tc is None:
            return
        while True:
            act = tc.step()
            if isinstance(act, TC.Connect):
                self.tcp_connect(act.rule)
                return
            if isinstance(act, TC.Send):
                if not self.tcp_send(act.data):
                    return
                continue
            if isinstance(act, TC.Recv):
                if self.hdr and not self.tcp_send(b""):
                    return
                if self.phase != 2:
                    self.phase = 2
                    self.checker.loop.add_reader(self.fd, self.on_tcp_readable)
                return
            res = act.result
            res.duration = self._dur()
            self.finish(res)
            return

    def tcp_connect(self, rule: Any) -> None:
        tc = self.tcr
        assert tc is not None
        self.close()
        host, port = self.addr
        host = rule.addr or host
        if rule.port_expr is not None and tc.txn is not None:
            port = rule.port_expr(tc.txn) or port
        port = rule.port or port
        self.linger = rule.linger
        conf = self.srv.conf
        if conf.socks4 is not None and not self.agent and (
                rule.via_socks4 or ((rule.index < 0 or rule.default) and conf.check_via_socks4)):
            host, port = self.via_socks4(host, port)
        try:
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM | _NONBLOCK)
        except OSError as e:
            self.finish(P.socket_error(e.errno or 0, self._dur()))
            return
        if not _NONBLOCK:
            s.setblocking(False)
        self.sock = s
        self.fd = s.fileno()
        try:
            rc = s.connect_ex((host, port))
        except OSError as e:
            self.finish(P.socket_error(e.errno or 0, self._dur()))
            return
        loop = self.checker.loop
        if rc == 0 or (rc == errno.EINPROGRESS and _established(s, host)):
            self.tcp_connected()
            return
        if rc != errno.EINPROGRESS and rc != errno.EAGAIN:
            self.tcp_fail(tc.connect_error(rc))
            return
        self.phase = 1
        loop.add_writer(self.fd, self.on_tcp_writable)
        self.tmo = loop.call_later(self.checker.connect_timeout(self.srv, self.inter()) / 1000.0,
                                   self.on_tcp_timeout)

    def on_tcp_writable(self) -> None:
        loop = self.checker.loop
        loop.remove_writer(self.fd)
        self.phase = 0
        s = self.sock
        tc = self.tcr
        if s is None or tc is None:
            return
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.tcp_fail(tc.connect_error(err))
            return
        self.tcp_connected()

    def tcp_connected(self, tls_done: bool = False) -> None:
        if self.socks is not None:
            self.socks_begin(True)
            return
        tc = self.tcr
        assert tc is not None
        rule = tc.cur
        if not tls_done and self.sock is not None:
            hs = self._rule_tls(rule)
            if hs is not None:
                if rule is not None and (rule.send_proxy or (self.srv.conf.check_send_proxy and not self.agent)):
                    try:  # the PROXY line goes before the handshake
                        self.sock.send(self._pp_header())
                    except OSError as e:
                        self.tcp_fail(tc.sock_error(e.errno or 0))
                        return
                self._tls_start(hs)
                return
        if self.tmo is not None:
            self.tmo.cancel()
        # after the connection, 'timeout check' bounds the rest of the exchange
        self.tmo = self.checker.loop.call_later(self.checker.read_timeout(self.srv, self.inter(), self._dur())
                                                / 1000.0,
                                                self.on_tcp_timeout)
        if rule is not None and (rule.send_proxy or (self.srv.conf.check_send_proxy and not self.agent)) \
                and self.sock is not None and not tls_done:
            try:
                line = self._pp_header()
            except OSError as e:
                self.tcp_fail(tc.sock_error(e.errno or 0))
                return
            self.hdr = line  # 2.6 sends it with the first data, in one segment
        tc.connected()
        self.tcp_advance()

    def tcp_send(self, data: bytes) -> bool:
        s = self.sock
        tc = self.tcr
        assert s is not None and tc is not None
        if self.hdr:
            data = self.hdr + data
            self.hdr = b""
        if self.req:  # still sending the previous data: queue after it
            self.req += data
            return True
        try:
            n = s.send(data)
        except BlockingIOError:
            n = 0
        except OSError as e:
            self.tcp_fail(tc.sock_error(e.errno or 0))
            return False
        if n < len(data):
            self.req = data[n:]
            self.checker.loop.add_writer(self.fd, self.on_send_more)
        return True

    def on_tcp_readable(self) -> None:
        s = self.sock
        tc = self.tcr
        if s is None or tc is None:
            return
        try:
            data = s.recv(16384)
        except BlockingIOError:
            return
        except OSError as e:
            if not tc.buf:
                self.tcp_fail(tc.sock_error(e.errno or 0))
                return
            data = b""  # data came before the error: judged as if the server had closed
        self.checker.loop.remove_reader(self.fd)
        self.phase = 0
        if data:
            tc.feed(data)
        else:
            tc.closed()
        self.tcp_advance()

    def on_tcp_timeout(self) -> None:
        self.tmo = None
        tc = self.tcr
        if tc is not None:
            # connected to a SOCKS4 proxy that does not answer: 2.6's Layer7 timeout
            self.tcp_fail(P.CheckResult("L7TOUT", P.RES_FAILED, None, tc.where()) if self.phase == 4
                          else tc.timeout())

    def tcp_fail(self, res: P.CheckResult) -> None:
        res.duration = self._dur()
        self.finish(res)

    def on_timeout(self) -> None:
        self.tmo = None
        dur = self._dur()
        if self.phase == 1:
            self.finish(P.connect_timeout(dur))
        else:
            v = self.verdict
            r = v.timeout() if v is not None else P.CheckResult("L7TOUT", P.RES_FAILED)
            r.duration = dur
            self.finish(r)

    def close(self) -> None:
        s = self.sock
        if s is None:
            return
        loop = self.checker.loop
        if self.want:
            self._tls_watch("")
        if self.phase == 1 or self.req:
            loop.remove_writer(self.fd)
        if self.phase == 2 or self.phase == 4:
            loop.remove_reader(self.fd)
        self.phase = 0
        self.socks = None
        self.req = b""
        self.hdr = b""
        self.verdict = None
        if self.tmo is not None:
            self.tmo.cancel()
            self.tmo = None
        if self.linger:
            self.linger = False
        else:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER0)
            except OSError:
                pass
        s.close()
        self.sock = None
        self.fd = -1

    def inter(self) -> int:
        """The check's interval (ms): an agent's is ``agent-inter`` (else ``inter``), always."""
        conf = self.srv.conf
        return (conf.agent_inter or conf.inter) if self.agent else conf.inter

    def finish(self, res: P.CheckResult) -> None:
        self.close()
        tcr = self.tcr
        for t in (self.htxn, tcr.txn if tcr is not None else None):
            if t is not None:  # 2.6 frees a check's variables when it ends (tune.vars.* totals)
                release_vars(t.vars, t.sess_vars)
        self.htxn = None
        self.tcr = None
        self.count += 1
        ck = self.checker
        if ck.stopped:
            return
        srv = self.srv
        if self.agent:
            srv.agent_running = False
            line = tcr.agent_line if tcr is not None else None
            if line is not None:
                be = srv.backend
                out = health.apply_agent_reply(srv, A.parse_reply(line), res.duration, ck.wall(),
                                               ck.agent_weight if be is not None else None)
            else:
                out = health.apply_agent_result(srv, res, ck.wall())
            if out.maxconn is not None:
                ck.set_maxconn(srv, out.maxconn)
            ck.apply(out, srv)
            iv = self.inter()
            if ck.spread_pct > 0:
                rv = iv * ck.spread_pct // 100
                iv += rv - int(2 * rv * ck.rng())
            self.schedule(max(1, iv))
            return
        out = health.apply_check_result(srv, res, ck.wall())
        ck.apply(out, srv)
        self.schedule(health.next_check_delay(srv, ck.spread_pct, ck.rng))

    # ------------------------------------------------------------------ slowstart
    def start_warmup(self) -> None:
        if self.warmup is None and self.srv.state == health.STARTING:
            self.warmup = self.checker.loop.call_later(health.slowstart_tick_interval(self.srv) / 1000.0,
                                                       self.on_warmup)

    def on_warmup(self) -> None:
        self.warmup = None
        if health.slowstart_tick(self.srv, self.checker.wall()) and not self.checker.stopped:
            self.start_warmup()

    def cancel(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(1)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self.ext_done()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.warmup is not None:
            self.warmup.cancel()
            self.warmup = None
        self.close()


class Checker:
    """Runs the active checks of every server with ``check`` and applies passive observations."""

    def __init__(self, loop: Any, backends: Iterable[Any], log: Callable[[str, int, str], None] | None = None,
                 now: Callable[[], float] | None = None, wall: Callable[[], float] | None = None,
                 shutdown: Callable[[Any], None] | None = None, *, spread_pct: int = 0,
                 rng: Callable[[], float] | None = None, node: str | None = None,
                 set_maxconn: Callable[[Server, int], None] | None = None,
                 mail: Callable[[str, int, str], None] | None = None) -> None:
        self.loop = loop
        self.backends = list(backends)
        self.log = log or stderr_log
        self.now = now or loop.time
        self.wall = wall or time.time
        self.shutdown = shutdown or _default_shutdown
        self.spread_pct = spread_pct
        self.rng = rng or random.random
        self.node = node or os.uname().nodename
        self.stopped = False
        self.checks: dict[Server, ServerCheck] = {}
        #: the agent checks, by server
        self.agents: dict[Server, ServerCheck] = {}
        self._set_maxconn = set_maxconn
        #: email alerts (engine/mailer.py Mailer.alert)
        self.mail = mail

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        health.link_tracking(self.backends)
        wall = self.wall()
        order: list[ServerCheck] = []
        for be in self.backends:
            for srv in be.servers:
                health.init_server(srv, wall)
                if srv.conf.check and srv.track is None:
                    sc = ServerCheck(srv, self)
                    self.checks[srv] = sc
                    order.append(sc)
                if srv.agent_enabled:
                    ac = ServerCheck(srv, self, agent=True)
                    self.agents[srv] = ac
                    order.append(ac)
        # 2.6 spreads the first checks, agents included, over the smallest interval
        n = len(order)
        if n:
            mininter = min(health.check_interval(c.srv) if not c.agent else c.inter() for c in order)
            for i, c in enumerate(order):
                c.schedule(mininter * i // n)

    def stop(self) -> None:
        self.stopped = True
        for sc in self.checks.values():
            sc.cancel()
        for sc in self.agents.values():
            sc.cancel()
        self.checks.clear()
        self.agents.clear()

    def agent_weight(self, srv: Server, word: str) -> str:
        """An agent's ``NN%``: 2.6's weight change (its error text, "" when applied)."""
        be = srv.backend
        fn = getattr(be, "parse_weight", None)
        if fn is None:
            return ""
        return str(fn(srv, word, self.now()))

    def set_maxconn(self, srv: Server, value: int) -> None:
        """An agent's ``maxconn:N`` (the engine's ``set maxconn server``)."""
        if self._set_maxconn is not None:
            self._set_maxconn(srv, value)
        else:
            srv.maxconn = value

    def agent_changed(self, srv: Server) -> None:
        """``set server agent-addr/agent-port``: the next agent check goes there."""
        ac = self.agents.get(srv)
        if ac is not None:
            ac.addr = ac.target()

    def server_addr_changed(self, srv: Server) -> None:
        """``set server addr``: the next probes follow the server unless the check has its own
        ``addr``/``port``."""
        sc = self.checks.get(srv)
        if sc is not None:
            sc.addr = sc.target()

    def set_check_target(self, srv: Server, host: str | None, port: int | None) -> None:
        """``set server check-addr/check-port``: the next probes go there."""
        sc = self.checks.get(srv)
        if sc is not None:
            sc.cli_host = host
            sc.cli_port = port
            sc.addr = sc.target()

    # ------------------------------------------------------------------ timeouts
    @staticmethod
    def connect_timeout(srv: Server, inter: int | None = None) -> int:
        """How long a check's connection may take (ms), as 2.6: ``min(inter, timeout connect)``
        only when ``timeout check`` is set too, else ``inter`` (which then bounds the whole check)."""
        be = srv.backend
        tm = be.conf.timeouts if be is not None and be.conf is not None else None
        inter = inter or srv.conf.inter
        if tm is not None and tm.check and tm.connect:
            return min(tm.connect, inter)
        return inter

    @staticmethod
    def read_timeout(srv: Server, inter: int | None = None, elapsed: int = 0) -> int:
        """How long the exchange may take once connected (ms): ``timeout check``, else what is left
        of ``inter`` since the check started (``elapsed`` ms ago), as 2.6."""
        be = srv.backend
        t = be.conf.timeouts.check if be is not None and be.conf is not None else None
        if t:
            return t
        return max(1, (inter or srv.conf.inter) - elapsed)

    def send_state(self, srv: Server) -> str:
        be = srv.backend
        tot = 0
        be_scur = 0
        if be is not None:
            for s in be.servers:
                be_scur += s.served
                if s.usable and s.backup == srv.backup:
                    tot += s.eweight
        return P.send_state_value(health.send_state_text(srv), srv.host, srv.port, be.name if be else "?",
                                  srv.name, self.node, srv.eweight, tot, srv.served, be_scur, len(srv.queue))

    # ------------------------------------------------------------------ results
    def apply(self, out: Outcome | None, srv: Server | None = None) -> None:
        """Emit the logs and shutdowns of an Outcome; honour fastinter; start slowstart ramps."""
        if out is None:
            return
        log = self.log
        for proxy, sev, text in out.logs:
            log(proxy, sev, text)
        if self.mail is not None:
            for proxy, level, text in out.mails:
                self.mail(proxy, level, text)
        if out.shutdown:
            for sess in list(out.shutdown):
                self.shutdown(sess)
        if srv is not None:
            sc = self.checks.get(srv) or self.agents.get(srv)
            if sc is not None:
                if out.fastinter:
                    sc.hurry(out.fastinter)
                sc.start_warmup()
        if out.logs:  # trackers and CLI changes may start slowstart on other servers
            for sc in self.checks.values():
                if sc.srv.state == health.STARTING and sc.warmup is None:
                    sc.start_warmup()

    def observe(self, srv: Server, kind: str) -> None:
        """Passive check from the data path (cheap when nothing changes)."""
        if srv.conf.observe is None:
            return
        out = health.observe(srv, kind, self.wall())
        if out is not None:
            self.apply(out, srv)


def _default_shutdown(session: Any) -> None:
    fn = getattr(session, "shutdown", None)
    if fn is not None:
        fn()
