"""Listening sockets: binds of every address form, and an accept loop that honours maxconn.

We own the accept loop (``add_reader`` on the listening socket) instead of ``loop.create_server``:
it lets a full frontend stop accepting (connections then wait in the kernel backlog, as with
HAProxy) and lets TCP-mode sessions keep raw sockets for ``splice()``.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Callable
from typing import Any

from haproxy_py.config.model import Address, Bind

DEFAULT_BACKLOG = 1024
#: connections accepted per readiness event before yielding to other work (HAProxy's tune.maxaccept)
MAXACCEPT = 64


class BindError(Exception):
    """A listening address could not be bound; the message is HAProxy-like."""


def _inherited_socket(fd: int) -> socket.socket:
    s = socket.socket(fileno=fd)
    s.setblocking(False)
    return s


def _backlog(bind: Bind) -> int:
    """The bind's ``backlog`` (an integer in the model), else the default."""
    v = bind.param("backlog", 0)
    return (int(v) if isinstance(v, (int, str)) and v else 0) or DEFAULT_BACKLOG


#: 'tune.rcvbuf.client' / 'tune.sndbuf.client' (0: the kernel's), set by the engine: on TCP listening
#: sockets, which their connections inherit (as 2.6's sock_inet bind)
CLIENT_BUFS = (0, 0)


def tcp_listener_options(s: socket.socket, bind: Bind, backlog: int) -> None:
    """A TCP bind's socket options, between bind() and listen() as 2.6's tcp_bind_listener:
    ``mss`` (a positive one: TCP_MAXSEG; a negative one reduces each accepted connection's MSS:
    engine/sockopts.py), ``defer-accept`` (TCP_DEFER_ACCEPT, one second), ``tfo``
    (TCP_FASTOPEN, the backlog as its queue length). Failures are 2.6's warnings: ignored here."""
    mss = bind.param("mss")
    opts = []
    if isinstance(mss, int) and mss > 0:
        opts.append((socket.TCP_MAXSEG, mss))
    if bind.param("defer-accept"):
        opts.append((getattr(socket, "TCP_DEFER_ACCEPT", 9), 1))
    if bind.param("tfo"):
        opts.append((getattr(socket, "TCP_FASTOPEN", 23), backlog))
    for opt, v in opts:
        try:
            s.setsockopt(socket.IPPROTO_TCP, opt, v)
        except OSError:
            pass


def listener_ids(binds: tuple[Bind, ...]) -> list[int]:
    """The id of each listening socket of a proxy's binds, in order (2.6's luid): a bind's 'id',
    else the first id not taken from a counter that moves past every listener."""
    n = [sum(len(a.ports) if a.kind in ("ipv4", "ipv6") else 1 for a in b.addresses) for b in binds]
    used = {b.param("id") for b in binds if isinstance(b.param("id"), int)}
    ids: list[int] = []
    nxt = 1
    for b, count in zip(binds, n, strict=True):
        own = b.param("id")
        for _ in range(count):
            if isinstance(own, int):
                ids.append(own)
            else:
                while nxt in used:
                    nxt += 1
                used.add(nxt)
                ids.append(nxt)
            nxt += 1
    return ids


def bind_address(addr: Address, bind: Bind, backlog: int | None = None) -> list[socket.socket]:
    """Create, bind and listen every socket an address stands for (port ranges give several)."""
    if backlog is None:
        backlog = _backlog(bind)
    socks: list[socket.socket] = []
    try:
        if addr.kind == "fd":
            s = _inherited_socket(addr.fd)
            s.listen(backlog)
            socks.append(s)
        elif addr.kind in ("unix", "abns"):
            path = addr.path if addr.kind == "unix" else "\0" + addr.path
            if addr.kind == "unix":
                try:
                    if stat.S_ISSOCK(os.stat(path).st_mode):
                        os.unlink(path)
                except FileNotFoundError:
                    pass
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            mode = bind.param("mode")
            if addr.kind == "unix" and isinstance(mode, int):
                os.chmod(path, mode)
            s.listen(backlog)
            s.setblocking(False)
            socks.append(s)
        else:
            family = socket.AF_INET6 if addr.kind == "ipv6" else socket.AF_INET
            host = addr.host
            if host in ("", "*"):
                host = "::" if family == socket.AF_INET6 else "0.0.0.0"
            for port in addr.ports:
                s = socket.socket(family, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if hasattr(socket, "SO_REUSEPORT"):
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                rcv, snd = CLIENT_BUFS
                if rcv:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcv)
                if snd:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, snd)
                if family == socket.AF_INET6:
                    v6only = bool(bind.param("v6only", False)) and not bind.param("v4v6", False)
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
                iface = bind.param("interface")
                if iface:  # SO_BINDTODEVICE, before bind() as 2.6
                    try:
                        s.setsockopt(socket.SOL_SOCKET, 25, str(iface).encode() + b"\0")
                    except OSError as e:
                        s.close()
                        raise BindError(f"cannot bind receiver to device '{iface}' ({e.strerror}) for "
                                        f"[{host}:{port}]") from e
                try:
                    s.bind((host, port))
                except OSError as e:
                    s.close()
                    raise BindError(f"cannot bind socket ({e.strerror}) for [{host}:{port}]") from e
                if bind.params:
                    tcp_listener_options(s, bind, backlog)
                s.listen(backlog)
                s.setblocking(False)
                socks.append(s)
    except BindError:
        for s in socks:
            s.close()
        raise
    except OSError as e:
        for s in socks:
            s.close()
        raise BindError(f"cannot bind socket ({e.strerror}) for [{addr.text or addr.path}]") from e
    return socks


class Listener:
    """One listening socket of a frontend. ``on_accept(sock, peer, listener)`` takes each connection."""

    __slots__ = ("loop", "sock", "bind", "addr", "frontend", "on_accept", "can_accept", "active",
                 "paused", "name", "local", "luid", "nbconn", "pp", "maxconn", "counters", "tcp")

    def __init__(
        self,
        loop: Any,
        sock: socket.socket,
        bind: Bind,
        addr: Address,
        frontend: Any,
        on_accept: Callable[[socket.socket, Any, Listener], None],
        can_accept: Callable[[Listener], bool],
    ) -> None:
        self.loop = loop
        self.sock = sock
        self.bind = bind
        self.addr = addr
        self.frontend = frontend
        self.on_accept = on_accept
        self.can_accept = can_accept
        self.active = False
        self.paused = False
        self.name = str(bind.param("name", "") or "")
        #: accept-proxy: every connection starts with a PROXY protocol header
        self.pp = bool(bind.param("accept-proxy", False))
        #: 2.6's automatic listener id: the rank among the frontend's listeners, from 1
        self.luid = 0
        #: its connections now (the dst_conn fetch)
        self.nbconn = 0
        #: bind 'maxconn': at that many connections the listener stops accepting (0: no limit)
        mc = bind.param("maxconn", 0)
        self.maxconn = mc if isinstance(mc, int) else 0
        #: 'option socket-stats': the listener's own counters (runtime ListenerStats.counters), None
        #: without the option (nothing is counted per listener then)
        self.counters: Any = None
        #: (ip, port) every accepted connection has as its local address, when the bind is on one
        #: address (not a wildcard): saves a getsockname() per connection
        self.local: tuple[str, int] | None = None
        #: a TCP socket (IPv4 or IPv6), not a unix one
        self.tcp = sock.family in (socket.AF_INET, socket.AF_INET6)
        try:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                name = sock.getsockname()
                if name[0] not in ("0.0.0.0", "::", "::ffff:0.0.0.0"):
                    self.local = (str(name[0]), int(name[1]))
        except OSError:
            pass

    def start(self) -> None:
        if not self.active and not self.paused:
            self.loop.add_reader(self.sock.fileno(), self._ready)
            self.active = True

    def stop_accepting(self) -> None:
        """Leave new connections in the kernel backlog (maxconn reached, or paused)."""
        if self.active:
            self.loop.remove_reader(self.sock.fileno())
            self.active = False

    def pause(self) -> None:
        self.paused = True
        self.stop_accepting()

    def resume(self) -> None:
        self.paused = False
        self.start()

    def suspend(self) -> None:
        """``disable frontend``: new connections are refused, as 2.6 does on Linux: a TCP listening
        socket shut down for reading leaves the listening state (queued connections are reset);
        :meth:`unsuspend` listens again. The socket may be shared (workers, reload): every holder
        sees it. A unix socket only stops being accepted from."""
        self.pause()
        # once only, by whichever holder comes first: shutting down a socket that no longer
        # listens marks it shut for reading for good, and its next connections would read EOF
        if self._listening() is True:
            try:
                self.sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass

    def unsuspend(self, accept: bool = True) -> None:
        """``enable frontend``: listen again; ``accept``: and take connections in this process."""
        if self._listening() is False:
            try:
                self.sock.listen(_backlog(self.bind))
            except OSError:
                pass
        if accept:
            self.resume()

    def _listening(self) -> bool | None:
        """Whether the TCP socket listens (SO_ACCEPTCONN); None for other sockets."""
        if self.sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        try:
            return bool(self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
        except OSError:
            return None

    def close(self) -> None:
        self.stop_accepting()
        try:
            if self.sock.family == socket.AF_UNIX and self.addr.kind == "unix":
                pass  # the file is left for a reloading successor; unlink happens at next bind
            self.sock.close()
        except OSError:
            pass

    def _ready(self) -> None:
        # socket.accept() without its wrapper: that one reads the listening socket's family and
        # type through their enum properties for every connection
        lsock = self.sock
        accept = lsock._accept  # type: ignore[attr-defined]
        fam, proto = int(lsock.family), lsock.proto
        mk = socket.socket
        stream = socket.SOCK_STREAM
        for _ in range(MAXACCEPT):
            if not self.can_accept(self):
                self.stop_accepting()
                return
            try:
                fd, peer = accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # out of descriptors: stop for now, the engine resumes when sessions end
                    self.stop_accepting()
                    return
                if e.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                    continue
                if e.errno == errno.EINVAL:
                    # no longer listening: shut down by another process sharing the socket
                    # (``disable frontend`` in a worker set); watching it would spin
                    self.stop_accepting()
                return
            conn = mk(fam, stream, proto, fd)
            conn.setblocking(False)
            self.on_accept(conn, peer, self)
