"""Syslog framing and the senders (UDP, unix datagram, stdout/stderr/fd@N).

This module does socket I/O (it is the sender) but no asyncio: every target has a plain
non-blocking socket, a send either goes out at once or is dropped and counted, so ``Logger.send``
can be called from any callback without ever blocking or raising. Nothing is queued: memory is
bounded by one datagram.

Framing, as HAProxy 2.6 sends it (verified against the binary, see tests/unit/test_log_syslog.py):

==========  ===========================================================================
format      datagram (``\\n``-terminated; header+message cut at ``len`` bytes)
==========  ===========================================================================
rfc3164     ``<PRI>Mmm dd hh:mm:ss [HOST ]TAG[PID]: MSG`` (HOST only with log-send-hostname)
local       same, never a host
rfc5424     ``<PRI>1 2026-11-27T03:24:12.966175+00:00 HOST|- TAG PID - - MSG``
priority    ``<PRI>MSG``
short       ``<SEV>MSG``
timed       ``<SEV>ISODATE MSG``
iso         ``ISODATE MSG``
raw         ``MSG``
==========  ===========================================================================

PRI = facility * 8 + severity. A target with ``level L`` takes messages of severity <= L; its
``minlevel`` caps more severe messages to that level (HAProxy's semantics: it is not a filter).

Note on ``rfc3164``: the config model's default format is "rfc3164"; HAProxy's default is
"local", which becomes rfc3164 with ``log-send-hostname``. So "rfc3164" here shows the host name
only when one is configured (``hostname`` given), which is what an unspecified format does.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from haproxy_py.config.model import Address, Global, LogTarget, Proxy
from haproxy_py.log.format import FACILITIES, SEVERITIES
from haproxy_py.log.ring import RINGS

__all__ = [
    "Logger",
    "SenderPool",
    "DEFAULT_POOL",
    "dropped_logs",
    "frame",
    "build_header",
    "severity_of",
    "logger_for_proxy",
    "global_logger",
    "SEVERITIES",
    "FACILITIES",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DEFAULT_SYSLOG_PORT = 514


def severity_of(name: str | int) -> int:
    """``"info"`` -> 6 (ints pass through)."""
    if isinstance(name, int):
        return name
    return SEVERITIES[name]


# --------------------------------------------------------------------------- header


class _Clock:
    """Caches the two timestamp renderings per second."""

    __slots__ = ("sec3164", "str3164")

    def __init__(self) -> None:
        self.sec3164 = -1
        self.str3164 = ""

    def rfc3164(self, now: float) -> str:
        sec = int(now)
        if sec != self.sec3164:
            tm = time.localtime(sec)
            self.str3164 = (
                f"{_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
            )
            self.sec3164 = sec
        return self.str3164


_CLOCK = _Clock()


def iso_time(now: float) -> str:
    """``2026-11-27T03:24:12.966175+00:00`` (local time, microseconds, UTC offset)."""
    sec = int(now)
    us = int((now - sec) * 1_000_000)
    tm = time.localtime(sec)
    off = tm.tm_gmtoff or 0
    sign = "+" if off >= 0 else "-"
    off = abs(off) // 60
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T{tm.tm_hour:02d}:{tm.tm_min:02d}:"
        f"{tm.tm_sec:02d}.{us:06d}{sign}{off // 60:02d}:{off % 60:02d}"
    )


def build_header(
    fmt: str, facility: int, severity: int, now: float, tag: str, pid: int, hostname: str | None
) -> str:
    """The part of the datagram before the message, for one target format."""
    if fmt == "rfc3164" or fmt == "local":
        host = f"{hostname} " if (hostname and fmt == "rfc3164") else ""
        return f"<{facility * 8 + severity}>{_CLOCK.rfc3164(now)} {host}{tag}[{pid}]: "
    if fmt == "rfc5424":
        return f"<{facility * 8 + severity}>1 {iso_time(now)} {hostname or '-'} {tag} {pid} - - "
    if fmt == "priority":
        return f"<{facility * 8 + severity}>"
    if fmt == "short":
        return f"<{severity}>"
    if fmt == "timed":
        return f"<{severity}>{iso_time(now)} "
    if fmt == "iso":
        return f"{iso_time(now)} "
    if fmt == "raw":
        return ""
    raise ValueError(f"unknown log format {fmt!r}")


#: this process's pid, kept current across fork() (os.getpid() is a system call per log line)
_PID = [os.getpid()]


def _after_fork() -> None:
    _PID[0] = os.getpid()


os.register_at_fork(after_in_child=_after_fork)

#: formats whose header changes at most once a second (no sub-second time in them)
_SECOND_FORMATS = frozenset({"rfc3164", "local", "priority", "short", "raw"})
_HEADERS: dict[tuple[Any, ...], bytes] = {}


def _header_bytes(fmt: str, facility: int, severity: int, now: float, tag: str, pid: int,
                  hostname: str | None) -> bytes:
    """``build_header`` encoded, remembered for the current second (one log line per request
    would rebuild the same header otherwise)."""
    if fmt not in _SECOND_FORMATS:
        return _encode(build_header(fmt, facility, severity, now, tag, pid, hostname))
    key = (fmt, facility, severity, int(now), tag, pid, hostname)
    hdr = _HEADERS.get(key)
    if hdr is None:
        if len(_HEADERS) >= 64:
            _HEADERS.clear()
        hdr = _HEADERS[key] = _encode(build_header(fmt, facility, severity, now, tag, pid, hostname))
    return hdr


def frame(header: bytes, message: bytes, maxlen: int) -> bytes:
    """Header + message cut to ``maxlen`` bytes, then ``\\n`` (HAProxy 2.6 sends at most
    ``len`` + 1 bytes: verified with ``len 100`` -> 101-byte datagrams).

    Trailing ``\\n``/NUL bytes of the message are removed first (HAProxy does the same).
    """
    while message and message[-1] in (10, 0):
        message = message[:-1]
    if len(header) >= maxlen:
        return header[:maxlen] + b"\n"
    room = maxlen - len(header)
    if len(message) > room:
        message = message[:room]
    return header + message + b"\n"


def _encode(message: str) -> bytes:
    try:
        return message.encode("latin-1")
    except UnicodeEncodeError:
        return message.encode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- senders


class _Sender:
    """One destination. ``send()`` never blocks and never raises; it returns False on a drop."""

    __slots__ = ("key", "kind", "sock", "fd", "addr", "sent", "dropped", "last_error", "_poll")

    def __init__(self, address: Address) -> None:
        self.key = _addr_key(address)
        self.kind = address.kind
        self.sock: socket.socket | None = None
        self.fd = -1
        #: the sockaddr (inet) or the socket path (unix/abns); set by _open()
        self.addr: str | tuple[Any, ...] = ""
        self.sent = 0
        self.dropped = 0
        self.last_error = 0
        self._poll: select.poll | None = None
        try:
            self._open(address)
        except OSError as exc:
            self.last_error = exc.errno or -1
            self.sock = None

    def _open(self, address: Address) -> None:
        kind = address.kind
        if kind in ("ipv4", "ipv6"):
            port = address.port_lo or DEFAULT_SYSLOG_PORT
            host = address.host or ("127.0.0.1" if kind == "ipv4" else "::1")
            fam = socket.AF_INET6 if kind == "ipv6" else socket.AF_INET
            infos = socket.getaddrinfo(host, port, fam, socket.SOCK_DGRAM)
            fam, _, proto, _, sa = infos[0]
            s = socket.socket(fam, socket.SOCK_DGRAM, proto)
            s.setblocking(False)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)
            except OSError:
                pass
            # not connected, as 2.6 sends: a target nobody listens on takes the lines without an
            # error (a connected socket gets ICMP refusals back as ECONNREFUSED on a later send,
            # which dropped that line and counted it in DroppedLogs where 2.6 counts nothing)
            self.sock = s
            self.addr = sa
        elif kind in ("unix", "abns"):
            path = address.path if kind == "unix" else "\0" + address.path
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.setblocking(False)
            self.sock = s
            self.addr = path  # unconnected: survives a restart of the syslog daemon
        elif kind in ("stdout", "stderr", "fd"):
            self.fd = 1 if kind == "stdout" else 2 if kind == "stderr" else address.fd
            p = select.poll()
            p.register(self.fd, select.POLLOUT)
            self._poll = p
        else:
            raise OSError(errno.EAFNOSUPPORT, f"unsupported log address kind {kind!r}")

    def send(self, data: bytes) -> bool:
        try:
            if self.fd >= 0:
                if self._poll is not None and not self._poll.poll(0):
                    raise BlockingIOError(errno.EAGAIN, "log fd full")
                os.write(self.fd, data)
            elif self.sock is None:
                raise OSError(self.last_error or errno.EBADF, "log target unavailable")
            else:
                self.sock.sendto(data, self.addr)
        except OSError as exc:
            self.dropped += 1
            self.last_error = exc.errno or -1
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


class _RingSender(_Sender):
    """``ring@NAME``: the line (without its ``\\n``) goes into the ring (log/ring.py)."""

    __slots__ = ("name",)

    def __init__(self, address: Address) -> None:
        self.key = _addr_key(address)
        self.kind = "ring"
        self.sock = None
        self.fd = -1
        self.addr = ""
        self.sent = self.dropped = self.last_error = 0
        self._poll = None
        self.name = address.path

    def send(self, data: bytes) -> bool:
        ring = RINGS.get(self.name)
        if ring is None:
            self.dropped += 1
            return False
        ring.write(data[:-1] if data.endswith(b"\n") else data)
        self.sent += 1
        return True


def _addr_key(address: Address) -> tuple[str, str, int, str, int]:
    return (address.kind, address.host, address.port_lo, address.path, address.fd)


class SenderPool:
    """Senders shared by every ``Logger`` of the process (one socket per destination)."""

    def __init__(self) -> None:
        self._senders: dict[tuple[str, str, int, str, int], _Sender] = {}

    def get(self, address: Address) -> _Sender:
        key = _addr_key(address)
        s = self._senders.get(key)
        if s is None and address.kind == "ring":
            s = self._senders[key] = _RingSender(address)
        elif s is None or (s.sock is None and s.fd < 0 and s.kind != "ring"):
            if s is not None:
                # a destination that failed to open (e.g. name not resolvable yet): keep its counts
                old = s
                s = _Sender(address)
                s.dropped += old.dropped
                s.sent += old.sent
            else:
                s = _Sender(address)
            self._senders[key] = s
        return s

    @property
    def dropped(self) -> int:
        return sum(s.dropped for s in self._senders.values())

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self._senders.values())

    def close(self) -> None:
        for s in self._senders.values():
            s.close()
        self._senders.clear()


DEFAULT_POOL = SenderPool()


def dropped_logs(pool: SenderPool | None = None) -> int:
    """Process-wide dropped messages (``show info`` ``DroppedLogs``)."""
    return (pool or DEFAULT_POOL).dropped


# --------------------------------------------------------------------------- logger


class _Target:
    __slots__ = ("conf", "facility", "level", "minlevel", "maxlen", "fmt", "sender", "ranges", "size",
                 "idx", "rg", "rg_idx", "host")

    def __init__(self, conf: LogTarget, sender: _Sender) -> None:
        self.conf = conf
        self.facility = FACILITIES[conf.facility]
        self.level = SEVERITIES[conf.level]
        self.minlevel = SEVERITIES[conf.minlevel]
        self.maxlen = max(conf.length, 2)
        self.fmt = conf.format
        self.sender = sender
        #: the host name when the logger has none (a ring's rfc3164 lines say "localhost")
        self.host: str | None = None
        if conf.address.kind == "ring":
            ring = RINGS.get(conf.address.path)
            if ring is not None:
                self.fmt = ring.fmt
                if ring.fmt == "rfc3164":
                    self.host = "localhost"
        #: ``sample RANGES:SIZE``: None when every line goes out
        self.ranges = conf.sample or None
        self.size = conf.sample_size
        self.idx = 0  # position of the next line in the current period of SIZE lines (0-based)
        self.rg = 0  # the range that may take it
        self.rg_idx = 0  # lines the current range took so far

    def sampled(self) -> bool:
        """Whether the next line this target takes goes out, counted as 2.6 counts it: the line
        number in the period is checked against the current range only, which moves on once it
        took all its lines."""
        ranges = self.ranges
        if ranges is None:
            return True
        lo, hi = ranges[self.rg]
        take = lo <= self.idx + 1 <= hi
        if take:
            self.rg_idx = (self.rg_idx + 1) % (hi - lo + 1)
            if self.rg_idx == 0:
                self.rg = (self.rg + 1) % len(ranges)
        self.idx = (self.idx + 1) % self.size
        return take


class Logger:
    """Sends messages to a list of ``LogTarget`` (one proxy's, or the global ones).

    ``send(severity, text)`` formats the header per target and sends at once; a target that
    does not take the severity costs nothing, and ``wants(severity)`` lets callers skip building
    a line nobody takes. ``dropped`` counts this logger's drops (the pool counts the process').
    """

    __slots__ = ("targets", "tag", "pid", "hostname", "max_level", "dropped", "sent")

    def __init__(
        self,
        targets: Iterable[LogTarget],
        *,
        tag: str = "haproxy",
        pid: int | None = None,
        hostname: str | None = None,
        pool: SenderPool | None = None,
    ) -> None:
        pool = pool or DEFAULT_POOL
        self.targets = tuple(_Target(t, pool.get(t.address)) for t in targets)
        self.tag = tag
        self.pid = pid  # None = os.getpid() at each send (right after a fork too)
        self.hostname = hostname
        self.max_level = max((t.level for t in self.targets), default=-1)
        self.dropped = 0
        self.sent = 0

    def wants(self, severity: int) -> bool:
        """True when at least one target takes messages of this severity."""
        return severity <= self.max_level

    def send(self, severity: int, message: str | bytes, *, now: float | None = None) -> None:
        """Send one message (without trailing newline) at ``severity`` (0 emerg .. 7 debug)."""
        if severity > self.max_level:
            return
        try:
            if now is None:
                now = time.time()
            data = message if isinstance(message, bytes) else _encode(message)
            pid = self.pid if self.pid is not None else _PID[0]
            for t in self.targets:
                if severity > t.level:
                    continue
                if t.ranges is not None and not t.sampled():
                    continue
                sev = severity if severity >= t.minlevel else t.minlevel
                hdr = _header_bytes(t.fmt, t.facility, sev, now, self.tag, pid, self.hostname or t.host)
                if t.sender.send(frame(hdr, data, t.maxlen)):
                    self.sent += 1
                else:
                    self.dropped += 1
        except Exception:  # never raise into the proxy
            self.dropped += 1

    def log(self, severity: int, build: Callable[[], str], *, now: float | None = None) -> None:
        """Like ``send`` but calls ``build()`` only if some target takes the severity."""
        if severity > self.max_level:
            return
        try:
            text = build()
        except Exception:
            self.dropped += 1
            return
        self.send(severity, text, now=now)


def _hostname(g: Global) -> str | None:
    if g.log_send_hostname is None:
        return None
    return g.log_send_hostname or os.uname().nodename


def logger_for_proxy(proxy: Proxy, g: Global, *, pool: SenderPool | None = None) -> Logger:
    """The logger of a frontend/backend: its targets (``log global`` already expanded by the
    builder), its ``log-tag`` or the global one, the global ``log-send-hostname``."""
    targets = () if proxy.no_log else proxy.logs
    return Logger(
        targets, tag=proxy.log_tag or g.log_tag or "haproxy", hostname=_hostname(g), pool=pool
    )


def global_logger(g: Global, *, pool: SenderPool | None = None) -> Logger:
    """The logger for process-level messages (global targets)."""
    return Logger(g.logs, tag=g.log_tag or "haproxy", hostname=_hostname(g), pool=pool)
