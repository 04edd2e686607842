"""TLS handshakes of accepted connections, driven by the loop before the session exists.

A ``bind ... ssl`` listener's connection is wrapped (tls/context.py's EngineSSLSocket) and its
handshake stepped on readiness events, bounded by ``timeout client``. Once it succeeds the usual
session (HttpSession or TcpSession) starts on the TLS socket, which reads and writes like a plain
one; its log record carries the TLS facts (``~`` after the frontend name, %sslv, %sslc, the ssl_*
fetches) and the handshake time (%Th). A failed handshake is logged as 2.6 logs it ("fe/1: SSL
handshake failure") and closed. Plain-text listeners never come here.
"""

from __future__ import annotations

import ssl
import time
from typing import TYPE_CHECKING, Any

from haproxy_py.engine.conn import switch_interest
from haproxy_py.tls.info import TlsInfo

if TYPE_CHECKING:  # pragma: no cover
    from haproxy_py.engine.router import Router

_wall = time.time

#: 2.6's connection error texts (CO_ER_SSL_*); the ones with True are not logged under dontlognull
CLOSED = ("Connection closed during SSL handshake", True)
ABORTED = ("Connection error during SSL handshake", True)
FAILED = ("SSL handshake failure", False)
TIMEOUT = ("Timeout during SSL handshake", False)


class Handshake:
    __slots__ = ("router", "tls", "sock", "peer", "listener", "cls", "loop", "fd", "want", "timer",
                 "t0", "wall0", "done", "pp", "l4", "early")

    def __init__(self, router: Router, tls: Any, sock: Any, peer: Any, listener: Any, cls: Any,
                 pp: Any = None) -> None:
        self.router = router
        #: the PROXY protocol header that came first (engine/router.py pp_session), or None
        self.pp = pp
        #: the tcp-request connection/session rules' context: the session takes it when it starts
        #: (the router's slot may hold another connection's by then)
        self.l4 = router.l4_txn
        router.l4_txn = None
        self.tls = tls
        self.loop = router.engine.loop
        self.peer = peer
        self.listener = listener
        self.cls = cls
        self.t0 = self.loop.time()
        self.wall0 = _wall()
        self.sock = tls.wrap(sock)
        self.fd = self.sock.fileno()
        self.want = ""
        self.timer: Any = None
        self.done = False
        #: allow-0rtt: early data is read before the handshake ends (None: not, or done)
        self.early: Any = True if tls.conf.early else None

    def start(self) -> None:
        tmo = self.router.conf.timeouts.client
        if tmo:
            self.timer = self.loop.call_later(tmo / 1000.0, self._timeout)
        self._step()

    def _watch(self, want: str) -> None:
        self.want = switch_interest(self.loop, self.fd, self.want, want, self._step)

    def _step(self) -> None:
        if self.done:
            return
        if self.early is not None:
            # allow-0rtt: the early data first (SSL_read_early_data), then the handshake's end
            try:
                got = self.sock.read_early()
            except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
                self._end()
                self._close()
                self.router.engine.session_fault(None, exc, "TLS handshake", fe=self.router.frontend,
                                                 peer=self.peer)
                return
            if got in ("r", "w"):
                self._watch(got)
                return
            if got == "fail":
                self._fail(FAILED)
                return
            self.early = None
        try:
            self.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._watch("r")
            return
        except ssl.SSLWantWriteError:
            self._watch("w")
            return
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            self._fail(CLOSED)
            return
        except ssl.SSLError:
            self._fail(FAILED)
            return
        except OSError:
            self._fail(ABORTED)
            return
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            self._end()
            self._close()
            self.router.engine.session_fault(None, exc, "TLS handshake", fe=self.router.frontend, peer=self.peer)
            return
        self._end()
        if not self.sock.session_reused:
            self.router.engine.state.ssl_fe_keys.add(self.loop.time())  # SslFrontendKeyRate
        self._established()

    def _end(self) -> None:
        self.done = True
        self._watch("")
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _timeout(self) -> None:
        self.timer = None
        if not self.done:
            self._fail(TIMEOUT)

    def _close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        self.router.engine.connection_closed(self.router.frontend, self.listener)

    def _fail(self, err: tuple[str, bool]) -> None:
        self._end()
        self._close()
        self.router.log_embryonic(self.listener, self.peer, self.wall0, err[0], err[1])

    def _established(self) -> None:
        router = self.router
        sock = self.sock
        i = sock.cert_index
        info = TlsInfo(sock, sock.sni, self.tls.verify(i) != "none", self.tls.certs[i])
        try:
            sess = self.cls(router, sock, self.peer, self.listener)
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            self._close()
            router.engine.session_fault(None, exc, "accept", fe=router.frontend, peer=self.peer)
            return
        rec = sess.rec
        rec.ssl = info
        rec.accept_date = self.wall0
        rec.t_handshake = int((self.loop.time() - self.t0) * 1000)
        sess.accept_mono = self.t0
        if hasattr(sess, "req_start"):
            sess.req_start = self.t0
        if self.pp is not None:
            from haproxy_py.engine.proxy_protocol import pp_session

            pp_session(sess, self.pp)
        router.l4_txn = self.l4
        try:
            sess.start()
        except Exception as exc:  # noqa: BLE001
            sess.internal_error(exc, "start")
            return
        if sock.early_data:
            # the early data is no longer in the socket: no readiness event will announce it
            conn = getattr(sess, "cli", None) or getattr(sess, "cli_conn", None)
            if conn is not None and getattr(conn, "reading", False):
                self.loop.call_soon(conn._readable)
