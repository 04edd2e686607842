"""Stats sockets (unix and TCP): move request lines to ``stats.commands.Cli`` and replies back.

Framing as HAProxy 2.6 (HAPROXY_FACTS 9.1): without ``prompt`` the connection is closed after
the lines already received have been answered; with ``prompt`` it stays open and ``> `` follows
each reply; ``quit`` closes. Idle clients are closed after ``stats timeout``; at most
``stats maxconn`` clients are served at once (others wait in the kernel backlog). A line longer
than ``MAX_LINE`` closes that client only; no client error reaches the event loop.

Extension point for reloads: ``StatsSocketServer.fd_passing`` is None; the reload engineer may set
it to a callable(reader, writer, line) -> awaitable returning True when it handled ``_getsocks``
(expose-fd listeners) itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import stat
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from haproxy_py.config.model import StatsSocket
from haproxy_py.stats.commands import LEVELS, Cli

#: the largest payload a command takes (a certificate and its chain)
MAX_PAYLOAD = 1 << 20
MAX_LINE = 16384  # HAProxy's buffer size: a longer request line is refused
_LEVEL_NAMES = ("user", "operator", "admin")


class StatsSocketServer:
    """One listening stats socket."""

    def __init__(self, state: Any, conf: StatsSocket, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.state = state
        self.conf = conf
        self.loop = loop
        g = state.config.global_
        self.timeout = (g.stats_timeout or 10_000) / 1000.0
        self.sem = asyncio.Semaphore(max(1, g.stats_maxconn or 10))
        self.server: asyncio.AbstractServer | None = None
        self.clients: set[asyncio.Task[Any]] = set()
        self.fd_passing: Callable[..., Awaitable[bool]] | None = None
        self.path: str | None = None
        #: a socket bound by ``prebind`` (served by ``start``)
        self.sock: Any = None
        self.ino: int | None = None
        #: master of several workers: ``before_line(text, level)`` refreshes the aggregated state
        #: before a line runs (or answers it: a worker's reply, for what only workers hold, such
        #: as stick tables); ``after_line(text, level, reply, experimental)`` forwards changes to the workers
        self.before_line: Callable[[str, str], Awaitable[str | None]] | None = None
        #: sessions closed by an unexpected exception (each logged once, in one line)
        self.faults = 0
        self.after_line: Callable[[str, str, str, bool], Awaitable[None]] | None = None

    def prebind(self) -> None:
        """Bind and listen now, synchronously (before a daemon fork / privilege drop); ``start``
        then serves this socket. Raises OSError."""
        import socket

        ad = self.conf.address
        if ad.kind == "fd":  # stats socket fd@N: inherited from the parent, bound already
            s = socket.socket(fileno=ad.fd)
            s.listen(128)
        elif ad.kind == "unix":
            path = ad.path
            with contextlib.suppress(FileNotFoundError):
                if stat.S_ISSOCK(os.stat(path).st_mode):
                    os.unlink(path)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.bind(path)
                s.listen(128)
            except OSError:
                s.close()
                raise
            self.path = path
            self.ino = _ino(path)
            if self.conf.mode is not None:
                os.chmod(path, self.conf.mode)
            uid = self.conf.uid if self.conf.uid is not None else _uid(self.conf.user)
            gid = self.conf.gid if self.conf.gid is not None else _gid(self.conf.group)
            if uid is not None or gid is not None:
                os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
        else:
            host = ad.host if ad.host not in ("", "*") else "0.0.0.0"
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, ad.port_lo))
                s.listen(128)
            except OSError:
                s.close()
                raise
        s.setblocking(False)
        self.sock = s

    async def start(self) -> asyncio.AbstractServer:
        """Serve the socket (bound now by ``prebind`` unless that was done before a fork)."""
        if self.sock is None:
            self.prebind()
        import socket

        assert self.sock is not None
        if self.sock.family == socket.AF_UNIX:
            self.server = await asyncio.start_unix_server(self.handle, sock=self.sock, limit=MAX_LINE * 2)
        else:
            self.server = await asyncio.start_server(self.handle, sock=self.sock, limit=MAX_LINE * 2)
        return self.server

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for t in list(self.clients):
                t.cancel()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
        if self.path and _ino(self.path) == self.ino:  # not a successor's socket (reload)
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.clients.add(task)
        try:
            async with self.sem:
                await self.session(reader, writer)
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py): one line, counted
            from haproxy_py.engine.fault import describe

            self.faults += 1
            sys.stderr.write(f"[ALERT]    ({os.getpid()}) : Internal error in a stats socket session: "
                             f"{describe(exc)}; the connection is closed.\n")
        finally:
            if task is not None:
                self.clients.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        cli = Cli(self.state, timeout=self.timeout)
        level = self.conf.level
        while True:
            try:
                line = await asyncio.wait_for(reader.readuntil(b"\n"), timeout=cli.timeout or None)
            except asyncio.IncompleteReadError as e:
                if not e.partial:
                    return
                line = e.partial  # last line without a newline: still a command
            except asyncio.LimitOverrunError:
                return  # flood: drop this client only
            except asyncio.TimeoutError:
                return
            if len(line) > MAX_LINE:
                return
            text = line.decode("latin-1").rstrip("\r\n")
            if text.endswith("<<"):
                # a payload follows, up to an empty line (2.6: 'set ssl cert NAME <<')
                lines = []
                size = 0
                while True:
                    try:
                        more = await asyncio.wait_for(reader.readuntil(b"\n"), timeout=cli.timeout or None)
                    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
                        break
                    more_text = more.decode("latin-1").rstrip("\r\n")
                    size += len(more)
                    if not more_text or size > MAX_PAYLOAD:
                        break
                    lines.append(more_text)
                text = text + "\n" + "\n".join(lines) + "\n"
            if self.fd_passing is not None and text.startswith("_get"):  # _getsocks, _getstate (reload)
                if await self.fd_passing(reader, writer, text):
                    return
            eff = _LEVEL_NAMES[min(LEVELS.get(level, 1), cli.lowered)]
            answered = None
            if self.before_line is not None:
                answered = await self.before_line(text, eff)
            if answered is not None:
                reply = answered
            else:
                now = time.monotonic()
                wall = time.time()
                experimental = cli.experimental  # the mode the line started in goes along
                reply = cli.execute(text, level, now, wall)
                if self.after_line is not None:
                    await self.after_line(text, eff, reply, experimental)
            if reply:
                writer.write(reply.encode("latin-1", "replace"))
                await asyncio.wait_for(writer.drain(), timeout=cli.timeout or None)
            if cli.closing:
                return
            if not cli.interactive:
                # non-interactive: answer the lines already buffered, then close
                if not _has_buffered_line(reader):
                    return


def _has_buffered_line(reader: asyncio.StreamReader) -> bool:
    buf = getattr(reader, "_buffer", None)
    return buf is not None and b"\n" in buf


def _ino(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _uid(user: str | None) -> int | None:
    if not user:
        return None
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return int(user) if user.isdigit() else None


def _gid(group: str | None) -> int | None:
    if not group:
        return None
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        return int(group) if group.isdigit() else None


async def start_stats_sockets(state: Any, sockets: list[StatsSocket],
                              loop: asyncio.AbstractEventLoop | None = None) -> list[StatsSocketServer]:
    """Open every configured stats socket; returns the servers (call ``close()`` on each to stop)."""
    servers = []
    for conf in sockets:
        s = StatsSocketServer(state, conf, loop)
        await s.start()
        servers.append(s)
    return servers
