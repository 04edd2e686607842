"""Byte forwarding between two raw non-blocking sockets (TCP mode).

Two ways, chosen per connection: ``splice()`` through a kernel pipe (zero copy; Linux) or a
buffered ``recv_into``/``send`` path. Both keep half-close (EOF on one side becomes
``shutdown(SHUT_WR)`` on the other once everything read was written) and backpressure (a side
stops reading while the bytes it produced are not yet written).
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

from haproxy_py.engine.fault import contain

SPLICE_AVAILABLE = hasattr(os, "splice") and hasattr(os, "SPLICE_F_MOVE")
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
#: pipe size asked for (F_SETPIPE_SZ): 1 MiB, the default fs.pipe-max-size. One splice() then moves
#: up to 1 MiB, a quarter of the calls and wake-ups of 256 KiB pipes; measured on a 64 MiB transfer
#: through a tcp listener: 36 -> 22 ms of CPU (bench/RESULTS.md, 2026-12-02)
PIPE_SIZE = 1 << 20
#: asked for when the kernel refuses PIPE_SIZE (EPERM: an unprivileged user whose pipes hold more
#: than fs.pipe-user-pages-soft pages, or a lower pipe-max-size); the kernel's default size after that
PIPE_SIZE_FALLBACK = 1 << 18
#: bytes asked of one splice() into a pipe (the kernel stops at what the pipe has room for)
SPLICE_CHUNK = PIPE_SIZE
#: bytes of one recv() on the buffered path
CHUNK = 1 << 18
_SPLICE_FLAGS = (getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)) if SPLICE_AVAILABLE else 0
_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR)


_PIPES: list[tuple[int, int]] = []
#: empty pipes kept for reuse (each costs two descriptors and its slot array; the kernel charges its
#: size to the user's fs.pipe-user-pages-soft, 16384 pages by default: 16 pooled 1 MiB pipes are a
#: quarter of it)
PIPE_POOL_MAX = 16


def _get_pipe() -> tuple[int, int]:
    if _PIPES:
        return _PIPES.pop()
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    for size in (PIPE_SIZE, PIPE_SIZE_FALLBACK):
        try:
            fcntl.fcntl(w, F_SETPIPE_SZ, size)
            break
        except OSError:
            pass
    return r, w


def _put_pipe(r: int, w: int) -> None:
    """Give back an EMPTY pipe."""
    if len(_PIPES) < PIPE_POOL_MAX:
        _PIPES.append((r, w))
    else:
        os.close(r)
        os.close(w)


def pipes_pooled() -> int:
    return len(_PIPES)


def splice_enabled() -> bool:
    """Whether the zero-copy path can be used (``HAPROXY_PY_NOSPLICE=1`` disables it)."""
    return SPLICE_AVAILABLE and not os.environ.get("HAPROXY_PY_NOSPLICE")


class SpliceEnds:
    """What a splicing forwarder (Pump here, engine/bodysplice.py's BodySplice) does with its two
    descriptors and its pooled pipe: read interest on ``sfd``, write interest on ``dfd``, the
    pipe given back to the pool when empty (closed with the bytes still in it otherwise). The
    subclass holds the attributes (``loop sfd dfd reading writing closed pipe_r pipe_w pending``)
    and its ``_writable``."""

    __slots__ = ("loop", "sfd", "dfd", "reading", "writing", "closed", "pipe_r", "pipe_w", "pending")
    loop: Any
    sfd: int
    dfd: int
    reading: bool
    writing: bool
    closed: bool
    pipe_r: int
    pipe_w: int
    pending: int

    def _writable(self) -> None:  # pragma: no cover - each subclass has its own
        raise NotImplementedError

    def _stop_read(self) -> None:
        if self.reading:
            self.loop.remove_reader(self.sfd)
            self.reading = False

    def _want_write(self) -> None:
        if not self.writing and not self.closed:
            self.loop.add_writer(self.dfd, self._writable)
            self.writing = True

    def _stop_write(self) -> None:
        if self.writing:
            self.loop.remove_writer(self.dfd)
            self.writing = False

    def _drop_pipe(self) -> None:
        if self.pipe_r >= 0:
            if self.pending:
                os.close(self.pipe_r)  # bytes still inside: not reusable
                os.close(self.pipe_w)
            else:
                _put_pipe(self.pipe_r, self.pipe_w)
            self.pipe_r = self.pipe_w = -1


class Pump(SpliceEnds):
    """One direction src -> dst of ``tunnel`` (``is_up``: client to server). The bytes it moves
    are counted on the tunnel; ``Tunnel._pump_eof`` is called when src closed and all its bytes
    were written, ``Tunnel._pump_error`` on a socket error ("src" or "dst"). The pump holds its
    tunnel rather than three bound methods of it: 400 bytes less per idle session."""

    __slots__ = ("src", "dst", "buf", "view", "eof", "tunnel", "is_up", "spliced", "shut")

    def __init__(
        self,
        loop: Any,
        src: socket.socket,
        dst: socket.socket,
        tunnel: Tunnel,
        is_up: bool,
        *,
        use_splice: bool,
        initial: bytes = b"",
    ) -> None:
        self.loop = loop
        self.src = src
        self.dst = dst
        self.sfd = src.fileno()
        self.dfd = dst.fileno()
        self.tunnel = tunnel
        self.is_up = is_up
        self.reading = False
        self.writing = False
        self.eof = False
        self.closed = False
        self.shut = False
        self.pending = 0
        self.buf = b""
        self.view: memoryview | None = None
        # pipes come from a process-wide pool when data flows and go back when they are empty:
        # an idle session holds no pipe (HAProxy's pipe pool, 'maxpipes')
        self.spliced = use_splice
        self.pipe_r = self.pipe_w = -1
        if initial:
            self.buf = initial
            self.view = memoryview(initial)

    # -------------------------------------------------------------- control
    def start(self) -> None:
        if self.buf:
            self._flush_buffer()
            if self.closed:
                return
            if self.buf:
                self._want_write()
                return
        self._want_read()

    def _want_read(self) -> None:
        if not self.reading and not self.eof and not self.closed:
            self.loop.add_reader(self.sfd, self._readable)
            self.reading = True

    def close(self) -> None:
        if self.closed:
            return
        self._stop_read()
        self._stop_write()
        self.closed = True
        self._drop_pipe()
        self.view = None
        self.buf = b""

    def _count(self, n: int) -> None:
        t = self.tunnel
        if self.is_up:
            t.bytes_in += n
        else:
            t.bytes_out += n
        t.last_activity = self.loop.time()

    # -------------------------------------------------------------- events
    def _readable(self) -> None:
        try:
            if self.spliced:
                self._splice_in()
            else:
                self._recv()
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            self.tunnel.internal_error(exc, "tunnel read")

    def _writable(self) -> None:
        try:
            if self.spliced:
                self._splice_out()
            else:
                self._flush_buffer()
            if self.closed:
                return
            if not self.pending and not self.buf:
                self._stop_write()
                if self.eof:
                    self._finish()
                else:
                    self._want_read()
        except Exception as exc:  # noqa: BLE001
            self.tunnel.internal_error(exc, "tunnel write")

    def _finish(self) -> None:
        if not self.shut:
            self.shut = True
            self._stop_read()
            self._stop_write()
            self.tunnel._pump_eof(self.is_up)

    # -------------------------------------------------------------- splice path
    def _splice_in(self) -> None:
        if self.pipe_r < 0:
            try:
                self.pipe_r, self.pipe_w = _get_pipe()
            except OSError:
                # no descriptor left for a pipe: this direction goes buffered
                self.spliced = False
                self._recv()
                return
        try:
            n = os.splice(self.sfd, self.pipe_w, SPLICE_CHUNK, flags=_SPLICE_FLAGS)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno in _AGAIN:
                return
            self.tunnel._pump_error(self.is_up, "src", e)
            return
        if n == 0:
            self.eof = True
            self._stop_read()
            if not self.pending:
                self._finish()
            return
        self.pending += n
        self._count(n)
        self._splice_out()
        if self.closed:
            return
        if self.pending:
            self._stop_read()
            self._want_write()

    def _splice_out(self) -> None:
        while self.pending:
            try:
                m = os.splice(self.pipe_r, self.dfd, self.pending, flags=_SPLICE_FLAGS)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in _AGAIN:
                    return
                self.tunnel._pump_error(self.is_up, "dst", e)
                return
            if m <= 0:
                return
            self.pending -= m
        if self.pipe_r >= 0 and not self.eof:
            _put_pipe(self.pipe_r, self.pipe_w)
            self.pipe_r = self.pipe_w = -1

    # -------------------------------------------------------------- buffered path
    def _recv(self) -> None:
        try:
            data = self.src.recv(CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.tunnel._pump_error(self.is_up, "src", e)
            return
        if not data:
            self.eof = True
            self._stop_read()
            if not self.buf:
                self._finish()
            return
        self._count(len(data))
        self.buf = data
        self.view = memoryview(data)
        self._flush_buffer()
        if self.closed:
            return
        if self.buf:
            self._stop_read()
            self._want_write()

    def _flush_buffer(self) -> None:
        view = self.view
        while view is not None and len(view):
            try:
                m = self.dst.send(view)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                self.tunnel._pump_error(self.is_up, "dst", e)
                return
            view = view[m:]
        if view is None or not len(view):
            self.buf = b""
            self.view = None
        else:
            self.view = view
            self.buf = b"x"  # marker: something left (the view holds it)


def no_linger(s: socket.socket) -> None:
    """SO_LINGER {1, 0}: closing the socket then resets the connection."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass


def is_ssl_error(exc: BaseException) -> bool:
    """A TLS layer's failure (not a plain socket error); ssl is loaded when TLS is in use."""
    mod = sys.modules.get("ssl")
    return mod is not None and isinstance(exc, mod.SSLError)


class Tunnel:
    """Two pumps between a client and a server socket; ``on_close(reason)`` once both are done.

    reason: "" (both sides closed normally), "cli" / "srv" (an error on that side), "timeout".
    """

    __slots__ = ("loop", "cli", "srv", "up", "down", "on_close", "done", "bytes_in", "bytes_out",
                 "last_activity", "half", "cli_ssl_fatal", "on_half", "cli_nolinger", "srv_nolinger")

    def __init__(
        self,
        loop: Any,
        cli: socket.socket,
        srv: socket.socket,
        on_close: Callable[[str], None],
        *,
        use_splice: bool,
        client_initial: bytes = b"",
        server_initial: bytes = b"",
    ) -> None:
        self.loop = loop
        self.cli = cli
        self.srv = srv
        self.on_close = on_close
        self.done = False
        self.bytes_in = len(client_initial)  # bytes from the client
        self.bytes_out = len(server_initial)  # bytes to the client
        self.last_activity = loop.time()
        self.half = 0
        #: the client connection's TLS layer failed (a bad record after the handshake): 2.6's
        #: CO_ERR_SSL_FATAL, fc_err 43
        self.cli_ssl_fatal = False
        #: called with ``up`` when the first direction ends (its FIN passed on): 'timeout
        #: client-fin' / 'server-fin' (None when the configuration has neither)
        self.on_half: Callable[[bool], None] | None = None
        #: 'option nolinger' of the frontend (client side) and the backend (server side): a side
        #: closed before its peer's end was read is reset; the backend's also turns the client's
        #: end into a reset of the server connection (2.6's SC_FL_NOLINGER on the server side)
        self.cli_nolinger = self.srv_nolinger = False
        self.up = Pump(loop, cli, srv, self, True, use_splice=use_splice, initial=client_initial)
        self.down = Pump(loop, srv, cli, self, False, use_splice=use_splice, initial=server_initial)

    @property
    def spliced(self) -> bool:
        return self.up.spliced

    def start(self) -> None:
        self.up.start()
        if not self.done:
            self.down.start()

    def _pump_eof(self, up: bool) -> None:
        if up:
            self._up_eof()
        else:
            self._down_eof()

    def _pump_error(self, up: bool, side: str, exc: BaseException) -> None:
        if up:
            self._up_error(side, exc)
        else:
            self._down_error(side, exc)

    def _up_eof(self) -> None:
        if self.srv_nolinger:
            self.close("")
            return
        try:
            self.srv.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self._half_done(True)

    def _down_eof(self) -> None:
        try:
            self.cli.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self._half_done(False)

    def _half_done(self, up: bool) -> None:
        self.half += 1
        if self.half >= 2:
            self.close("")
        elif self.on_half is not None:
            self.on_half(up)

    def _up_error(self, side: str, exc: BaseException) -> None:
        if side == "src":
            self.cli_ssl_fatal = is_ssl_error(exc)
        self.close("cli" if side == "src" else "srv")

    def _down_error(self, side: str, exc: BaseException) -> None:
        if side == "dst":
            self.cli_ssl_fatal = is_ssl_error(exc)
        self.close("srv" if side == "src" else "cli")

    def close(self, reason: str) -> None:
        if self.done:
            return
        self.done = True
        self.up.close()
        self.down.close()
        if self.cli_nolinger and not self.up.eof:
            no_linger(self.cli)
        if self.srv_nolinger and not self.down.eof:
            no_linger(self.srv)
        self.on_close(reason)

    def internal_error(self, exc: BaseException, where: str) -> None:
        """An exception in one of our pumps: the session that owns the tunnel deals with it."""
        self.up.close()
        self.down.close()
        contain(self.on_close, exc, where)


class ProfTunnel(Tunnel):
    """The tunnel of a ProfTcpSession (engine/stream.py): the end of a direction (or an error on it)
    is a call of the session's task, as 2.6 wakes the stream for a shutdown; the bytes forwarded are
    not (2.6 forwards them without waking the stream either). Here, not in stream.py: the
    accelerator compiles that one, and mypyc builds no class with ``__slots__`` on an interpreted
    base."""

    __slots__ = ("tprof",)
    tprof: Any  # the session's TaskProf, set as the session makes the tunnel

    def _pump_eof(self, up: bool) -> None:
        self.tprof.run(Tunnel._pump_eof, self, up)

    def _pump_error(self, up: bool, side: str, exc: BaseException) -> None:
        self.tprof.run(Tunnel._pump_error, self, up, side, exc)
