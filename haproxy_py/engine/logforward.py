"""The sockets of ``log-forward`` sections: UDP receivers (``dgram-bind``) and TCP listeners
(``bind``, at most ``maxconn`` connections at once, ``timeout client`` of idleness); every
message is parsed and sent again to the section's targets by log/forward.py."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from haproxy_py.config.model import Address, LogForward
from haproxy_py.log.format import FACILITIES, SEVERITIES
from haproxy_py.log.forward import datagram, octet_frames, parse_message
from haproxy_py.log.syslog import DEFAULT_POOL

_BATCH = 64


class _Relay:
    def __init__(self, lf: LogForward, state: Any) -> None:
        self.state = state
        self.targets = [(fmt, max(t.length, 2), FACILITIES[t.facility], SEVERITIES[t.level], SEVERITIES[t.minlevel],
                         DEFAULT_POOL.get(t.address)) for t, fmt in lf.logs]

    def relay(self, msg: bytes) -> None:
        self.state.recv_logs += 1
        try:
            p = parse_message(msg)
            now = time.time()
            for fmt, maxlen, fac, lvl, minlvl, sender in self.targets:
                data = datagram(fmt, maxlen, fac, lvl, minlvl, p, now)
                if data is not None:
                    sender.send(data)
        except Exception:  # noqa: BLE001 - a bad message never stops the relay
            pass


def _sock(addr: Address, kind: int) -> socket.socket:
    fam = socket.AF_INET6 if addr.kind == "ipv6" else socket.AF_INET
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):  # the workers of nbthread N share the receivers
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.setblocking(False)
    host = addr.host or ("::" if fam == socket.AF_INET6 else "0.0.0.0")
    s.bind((host, addr.port_lo))
    return s


class _TcpListener:
    def __init__(self, loop: asyncio.AbstractEventLoop, lf: LogForward, relay: _Relay, sock: socket.socket) -> None:
        self.loop = loop
        self.lf = lf
        self.relay = relay
        self.sock = sock
        self.conns: dict[int, tuple[socket.socket, bytearray, list[Any]]] = {}
        self.paused = False
        sock.listen(lf.backlog or lf.maxconn or 10)
        loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        for _ in range(_BATCH):
            if len(self.conns) >= self.lf.maxconn > 0:
                self.loop.remove_reader(self.sock.fileno())
                self.paused = True
                return
            try:
                c, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            c.setblocking(False)
            fd = c.fileno()
            timer: list[Any] = [None]
            self.conns[fd] = (c, bytearray(), timer)
            self._arm(fd)
            self.loop.add_reader(fd, self._read, fd)

    def _arm(self, fd: int) -> None:
        if not self.lf.timeout_client:
            return
        timer = self.conns[fd][2]
        if timer[0] is not None:
            timer[0].cancel()
        timer[0] = self.loop.call_later(self.lf.timeout_client / 1000, self._drop, fd)

    def _read(self, fd: int) -> None:
        c, buf, _t = self.conns[fd]
        try:
            data = c.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(fd)
            return
        buf += data
        msgs, ok = octet_frames(buf)
        for m in msgs:
            self.relay.relay(m)
        if not ok:
            self._drop(fd)
            return
        self._arm(fd)

    def _drop(self, fd: int) -> None:
        entry = self.conns.pop(fd, None)
        if entry is None:
            return
        c, _buf, timer = entry
        if timer[0] is not None:
            timer[0].cancel()
        self.loop.remove_reader(fd)
        c.close()
        if self.paused:
            self.paused = False
            self.loop.add_reader(self.sock.fileno(), self._accept)

    def close(self) -> None:
        for fd in list(self.conns):
            self._drop(fd)
        if not self.paused:
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class LogForwarder:
    """Every log-forward section of the configuration, listening."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sections: tuple[LogForward, ...], state: Any) -> None:
        self.loop = loop
        self.udp: list[socket.socket] = []
        self.tcp: list[_TcpListener] = []
        for lf in sections:
            relay = _Relay(lf, state)
            for a in lf.dgram_binds:
                s = _sock(a, socket.SOCK_DGRAM)
                self.udp.append(s)
                loop.add_reader(s.fileno(), self._udp_read, s, relay)
            for a in lf.binds:
                self.tcp.append(_TcpListener(loop, lf, relay, _sock(a, socket.SOCK_STREAM)))

    @staticmethod
    def _udp_read(s: socket.socket, relay: _Relay) -> None:
        for _ in range(_BATCH):
            try:
                msg = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            relay.relay(msg)

    def close(self) -> None:
        for s in self.udp:
            self.loop.remove_reader(s.fileno())
            s.close()
        self.udp.clear()
        for t in self.tcp:
            t.close()
        self.tcp.clear()
