"""Non-blocking outgoing connections without a Task per attempt: connect_ex + add_writer + timer."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any

from haproxy_py.engine.conn import switch_interest
from haproxy_py.engine.fault import contain

_INPROGRESS = (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, errno.EALREADY)
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)
#: 'tune.rcvbuf.server' / 'tune.sndbuf.server' (0: the kernel's), set by the engine: on every TCP
#: socket toward a server, health checks' too (2.6's tcp_connect_server)
SERVER_BUFS = (0, 0)


def server_bufs(s: socket.socket) -> None:
    rcv, snd = SERVER_BUFS
    if rcv:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcv)
    if snd:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, snd)
#: server addresses where connect() usually completes at once (see Connector.__init__)
_LOCAL_HOSTS = frozenset(("127.0.0.1", "::1", "::ffff:127.0.0.1"))
_resolved: dict[tuple[str, int], tuple[int, Any]] = {}


def resolve(host: str, port: int) -> tuple[int, Any]:
    """(family, sockaddr) for a server address; names are resolved once, like HAProxy at start."""
    key = (host, port)
    hit = _resolved.get(key)
    if hit is not None:
        return hit
    if host.startswith("/"):
        res: tuple[int, Any] = (socket.AF_UNIX, host)
    else:
        h = host.strip("[]")
        infos = socket.getaddrinfo(h or "127.0.0.1", port, type=socket.SOCK_STREAM)
        fam, _, _, _, sa = infos[0]
        res = (fam, sa)
    _resolved[key] = res
    return res


class Connector:
    """One connection attempt. Exactly one of ``on_done(sock)`` / ``on_fail(kind, err)`` is called.

    kind: "refused" (RST/unreachable/other error) or "timeout".

    ``handoff``: on success the loop writer watching the connect stays registered and ``on_done``
    must call ``loop.remove_writer(sock.fileno())`` once it registered its own reader: on uvloop a
    descriptor keeps its poll handle only while something watches it, and creating one costs four
    system calls (closing one three), so handing it over saves seven per server connection.
    ``sockaddr`` is the address connected to (what ``getpeername()`` would answer).
    """

    __slots__ = ("loop", "sock", "fd", "timer", "on_done", "on_fail", "finished", "started", "handoff",
                 "sockaddr", "tls", "timeout_ms", "want", "preamble", "tls_err", "socks", "sbuf")

    def __init__(
        self,
        loop: Any,
        host: str,
        port: int,
        timeout_ms: int | None,
        on_done: Callable[[socket.socket], None],
        on_fail: Callable[[str, str], None],
        *,
        source: str | None = None,
        handoff: bool = False,
        tls: Any = None,
        preamble: bytes | None = None,
        socks4: tuple[str, int] | None = None,
        tcpka: tuple[int, int, int] | None = None,
    ) -> None:
        self.loop = loop
        #: bytes sent first, before TLS and before the session's data (a PROXY protocol header)
        self.preamble = preamble
        #: ``socks4 ADDR:PORT`` on the server: the connection goes to that SOCKS4 proxy, which is
        #: asked to CONNECT to the server (the request bytes while pending, then None); its
        #: exchange comes before the preamble and TLS, as in 2.6
        self.socks: bytes | None = None
        self.sbuf = b""
        #: a TLS handshake follows the connection (tls/context.py ClientHandshake), bounded by the
        #: same connect timeout, before ``on_done`` gets the TLS socket; ``tls_done`` keeps it after
        self.tls = tls
        #: the OpenSSL error code of a failed handshake (ssl_bc_err), 0 before or without one
        self.tls_err = 0
        self.timeout_ms = timeout_ms
        self.want = ""
        self.on_done = on_done
        self.on_fail = on_fail
        self.finished = False
        self.handoff = handoff
        self.timer = None
        self.sock: socket.socket | None = None
        self.fd = -1
        self.sockaddr: Any = None
        self.started = loop.time()
        try:
            fam, sa = resolve(host, port)
            if socks4 is not None:
                self.socks = socks4_request(sa)
                fam, sa = resolve(*socks4)
            self.sockaddr = sa
            # created non-blocking: no ioctl() afterwards (Python then knows it is non-blocking)
            s = socket.socket(fam, socket.SOCK_STREAM | _NONBLOCK)
        except OSError as e:
            loop.call_soon(self._fail, "refused", e.strerror or str(e))
            return
        if not _NONBLOCK:
            s.setblocking(False)
        if fam != socket.AF_UNIX:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if SERVER_BUFS[0] or SERVER_BUFS[1]:
                server_bufs(s)
            if tcpka is not None:  # option srvtcpka / tcpka (the backend's)
                from haproxy_py.engine.sockopts import set_keepalive

                set_keepalive(s, tcpka)
        self.sock = s
        self.fd = s.fileno()
        rc = s.connect_ex(sa)
        if rc == 0:
            self.handoff = False  # no writer was registered
            loop.call_soon(self._connected)
            return
        if rc not in _INPROGRESS:
            loop.call_soon(self._fail, "refused", errno.errorcode.get(rc, str(rc)))
            return
        if fam != socket.AF_UNIX and (sa[0] in _LOCAL_HOSTS or sa[0].startswith("127.")):
            # on loopback the handshake completes inside connect() (the kernel runs the peer's
            # side at once): when the socket already has its peer, skip the wait for writability
            # (a poll handle created and dropped again, and one loop round)
            try:
                s.getpeername()
            except OSError:
                pass
            else:
                self.handoff = False
                loop.call_soon(self._established)
                return
        loop.add_writer(self.fd, self._connected)
        if timeout_ms:
            self.timer = loop.call_later(timeout_ms / 1000.0, self._timeout)

    def _connected(self) -> None:
        if self.finished or self.sock is None:
            return
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err in _INPROGRESS:
            return
        if err:
            self.loop.remove_writer(self.fd)
            self._fail("refused", _strerror(err))
            return
        if not self.handoff:
            self.loop.remove_writer(self.fd)
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
        self._done()

    def _established(self) -> None:
        if self.finished or self.sock is None:
            return
        self.finished = True
        self._done()

    def _done(self) -> None:
        cb = self.on_done
        sock = self.sock
        if sock is None:  # closed meanwhile: nothing to hand over
            return
        if self.socks is not None:
            self._socks_start()
            return
        pre = self.preamble
        if pre is not None:
            # a fresh connection's send buffer is empty: the few hundred bytes go at once
            self.preamble = None
            try:
                n = sock.send(pre)
            except OSError as e:
                self.finished = False
                self._fail("refused", e.strerror or str(e))
                return
            if n != len(pre):
                self.finished = False
                self._fail("refused", "short write")
                return
        if self.tls is not None:
            self._tls_start()
            return
        try:
            cb(sock)
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            contain(cb, exc, "connected")

    # -------------------------------------------------------------- through a SOCKS4 proxy
    def _socks_start(self) -> None:
        req = self.socks
        assert req is not None and self.sock is not None
        loop = self.loop
        if self.handoff:  # the reply is read by our own reader
            loop.remove_writer(self.fd)
            self.handoff = False
        self.finished = False
        if self.timer is None and self.timeout_ms:
            self.timer = loop.call_later(self.timeout_ms / 1000.0, self._timeout)
        try:
            self.sock.send(req)  # a fresh connection's send buffer takes the 16 bytes at once
        except OSError as e:
            self._fail("refused", e.strerror or str(e))
            return
        loop.add_reader(self.fd, self._socks_read)
        self.want = "r"

    def _socks_read(self) -> None:
        if self.finished or self.sock is None:
            return
        try:
            data = self.sock.recv(8 - len(self.sbuf))
        except BlockingIOError:
            return
        except OSError as e:
            self._socks_end(f"SOCKS4 Proxy read error during handshake ({e.strerror})")
            return
        if not data:
            self._socks_end("SOCKS4 Proxy read error during handshake")
            return
        self.sbuf += data
        if len(self.sbuf) < 8:
            return
        self._socks_end(None if self.sbuf[1] == 0x5A else "SOCKS4 Proxy deny the request")

    def _socks_end(self, err: str | None) -> None:
        self.loop.remove_reader(self.fd)
        self.want = ""
        if err is not None:
            self._fail("refused", err)
            return
        self.socks = None
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._done()

    # -------------------------------------------------------------- TLS to the server
    def _tls_start(self) -> None:
        import ssl

        hs = self.tls
        loop = self.loop
        if self.handoff:  # the connect watcher is ours to drop: the handshake watches by itself
            loop.remove_writer(self.fd)
            self.handoff = False
        self.finished = False
        try:
            self.sock = hs.wrap(self.sock)
        except (OSError, ValueError, ssl.SSLError) as e:
            from haproxy_py.tls.context import TooManySsl

            self._fail("internal" if isinstance(e, TooManySsl) else "refused", str(e))
            return
        if self.timeout_ms:
            self.timer = loop.call_later(self.timeout_ms / 1000.0, self._timeout)
        self._tls_step()

    def _tls_watch(self, want: str) -> None:
        self.want = switch_interest(self.loop, self.fd, self.want, want, self._tls_step)

    def _tls_step(self) -> None:
        if self.finished or self.sock is None:
            return
        import ssl

        try:
            self.sock.do_handshake()  # type: ignore[attr-defined]
        except ssl.SSLWantReadError:
            self._tls_watch("r")
            return
        except ssl.SSLWantWriteError:
            self._tls_watch("w")
            return
        except (ssl.SSLError, OSError, ValueError) as e:
            self._tls_watch("")
            from haproxy_py.tls.info import ssl_error_code

            self.tls_err = ssl_error_code(e) if isinstance(e, ssl.SSLError) else 0
            self._fail("refused", "SSL handshake failure")
            return
        self._tls_watch("")
        if self.tls.established(self.sock) is not None:
            from haproxy_py.tls.info import VERIFY_FAILED

            self.tls_err = VERIFY_FAILED  # 2.6 checks the name while verifying: the same error
            self._fail("refused", "SSL handshake failure")
            return
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        cb = self.on_done
        try:
            cb(self.sock)
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            contain(cb, exc, "connected")

    def _timeout(self) -> None:
        self._fail("timeout", "Connection timed out")

    def _fail(self, kind: str, info: str) -> None:
        if self.finished:
            return
        self.finished = True
        if self.want:
            self._tls_watch("")
        if self.timer is not None:
            self.timer.cancel()
        if self.sock is not None:
            try:
                self.loop.remove_writer(self.fd)
            except Exception:  # noqa: BLE001 - loop may be closing
                pass
            self.sock.close()
        cb = self.on_fail
        try:
            cb(kind, info)
        except Exception as exc:  # noqa: BLE001
            contain(cb, exc, "connection failed")

    def cancel(self) -> None:
        """Abandon the attempt (client went away)."""
        if self.finished:
            return
        self.finished = True
        if self.want:
            self._tls_watch("")
        if self.timer is not None:
            self.timer.cancel()
        if self.sock is not None:
            try:
                self.loop.remove_writer(self.fd)
            except Exception:  # noqa: BLE001
                pass
            self.sock.close()


def socks4_request(sa: Any) -> bytes:
    """SOCKS4 CONNECT to an IPv4 address as 2.6 sends it: version 4, command 1, the port and the
    address, user id ``HAProxy``."""
    import ipaddress

    return b"\x04\x01" + sa[1].to_bytes(2, "big") + ipaddress.IPv4Address(sa[0]).packed + b"HAProxy\x00"


def _strerror(err: int) -> str:
    import os

    try:
        return os.strerror(err)
    except ValueError:
        return str(err)
