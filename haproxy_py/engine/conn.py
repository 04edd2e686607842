"""A raw non-blocking socket driven by loop readers/writers: no Task, no transport.

Reads call ``on_data(bytes)`` / ``on_eof()``; writes go out at once when the kernel takes them and
are buffered otherwise (``pending`` bytes). ``on_drained()`` fires when a buffer empties, which the
other side uses to resume reading (backpressure).

An HTTP session's client connection has an ``owner`` (the session): a callback left None is then
the owner's method of that event (``_cli_data``, ``_cli_eof``, ``_cli_error``, ``_cli_drained``),
looked up when the event comes, and the loop's readiness callback is the Conn itself (``__call__``),
so that an idle keep-alive connection holds no bound method (64 bytes each).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from haproxy_py.engine.fault import contain

RECV_SIZE = 65536
#: stop reading from the peer while this many bytes wait to be written here
HIGH_WATER = 1 << 18


def _nop(*_a: Any) -> None:
    return None


class Conn:
    __slots__ = ("loop", "sock", "fd", "on_data", "on_eof", "on_error", "on_drained", "wbuf",
                 "pending", "reading", "writing", "closed", "shut_wanted", "shut_done", "eof", "corked",
                 "failed", "local", "nolinger", "owner")

    #: the session may splice() a response body off this socket (not so a FastCGI one)
    SPLICE = True

    def __init__(self, loop: Any, sock: socket.socket, owner: Any = None) -> None:
        self.loop = loop
        self.sock = sock
        self.fd = sock.fileno()
        #: the HTTP session whose ``_cli_*`` methods the callbacks left None are (see above)
        self.owner = owner
        cb = _nop if owner is None else None
        self.on_data: Callable[[bytes], None] | None = cb
        self.on_eof: Callable[[], None] | None = cb
        self.on_error: Callable[[BaseException], None] | None = cb
        self.on_drained: Callable[[], None] | None = cb
        #: what waits to be written (``pending`` bytes); the shared empty tuple while nothing does,
        #: so that an idle connection holds no list of its own
        self.wbuf: list[bytes] | tuple[()] = ()
        self.pending = 0
        self.reading = False
        self.writing = False
        self.closed = False
        self.shut_wanted = False
        self.shut_done = False
        self.eof = False
        #: while corked, writes are gathered and sent by ``uncork()`` in one system call
        self.corked: list[bytes] | None = None
        self.failed = False
        #: (ip, port) text of the local end, once asked for (a pooled server connection is reused)
        self.local: tuple[str, int] | None = None
        #: 'option nolinger' of this side's proxy: a close before the peer's end was read resets
        #: the connection (2.6's FD_LINGER_RISK, dropped once the shutdown was read)
        self.nolinger = False

    # ------------------------------------------------------------------ reading
    def read_on(self) -> None:
        if not self.reading and not self.closed and not self.eof:
            self.loop.add_reader(self.fd, self)
            self.reading = True

    def read_off(self) -> None:
        if self.reading:
            self.loop.remove_reader(self.fd)
            self.reading = False

    def _readable(self) -> None:
        try:
            data = self.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.read_off()
            on_error = self.on_error
            if on_error is None:
                on_error = self.owner._cli_error
            try:
                on_error(e)
            except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
                contain(on_error, exc, "read error")
            return
        if data:
            on_data = self.on_data
            if on_data is None:
                on_data = self.owner._cli_data
            try:
                on_data(data)
            except Exception as exc:  # noqa: BLE001
                contain(on_data, exc, "read")
        else:
            self.eof = True
            self.read_off()
            on_eof = self.on_eof
            if on_eof is None:
                on_eof = self.owner._cli_eof
            try:
                on_eof()
            except Exception as exc:  # noqa: BLE001
                contain(on_eof, exc, "end of input")

    #: the loop's readiness callback (read_on): the Conn itself, not a bound method of it
    __call__ = _readable

    # ------------------------------------------------------------------ writing
    def cork(self) -> None:
        if self.corked is None:
            self.corked = []

    def uncork(self) -> None:
        parts = self.corked
        self.corked = None
        if parts:
            self.write(parts[0] if len(parts) == 1 else b"".join(parts))

    def _fail(self, e: BaseException) -> None:
        """A write error: reported from the loop, never re-entrantly inside ``write()``."""
        if not self.failed:
            self.failed = True
            self.read_off()
            self._stop_writing()
            self.loop.call_soon(self._report, e)

    def _report(self, e: BaseException) -> None:
        cb = self.on_error
        if cb is None:
            cb = self.owner._cli_error
        try:
            cb(e)
        except Exception as exc:  # noqa: BLE001
            contain(cb, exc, "write error")

    def write(self, data: bytes) -> None:
        if self.closed or self.failed or not data:
            return
        if self.corked is not None:
            self.corked.append(data)
            return
        if self.pending:
            self.wbuf.append(data)  # type: ignore[union-attr]  # a list while bytes are pending
            self.pending += len(data)
            return
        try:
            n = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError as e:
            self._fail(e)
            return
        if n < len(data):
            rest = data[n:]
            self.wbuf = [rest]
            self.pending = len(rest)
            if not self.writing:
                self.loop.add_writer(self.fd, self._writable)
                self.writing = True

    def _writable(self) -> None:
        buf = self.wbuf
        while buf:
            chunk = buf[0]
            try:
                n = self.sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self._fail(e)
                return
            self.pending -= n
            if n < len(chunk):
                buf[0] = chunk[n:]
                return
            buf.pop(0)
        self.wbuf = ()
        self._stop_writing()
        if self.shut_wanted:
            self._shutdown_now()
        cb = self.on_drained
        if cb is None:
            cb = self.owner._cli_drained
        try:
            cb()
        except Exception as exc:  # noqa: BLE001
            contain(cb, exc, "write")

    def _stop_writing(self) -> None:
        if self.writing:
            self.loop.remove_writer(self.fd)
            self.writing = False

    def shutdown_write(self) -> None:
        """Half-close once everything queued is written."""
        self.uncork()
        if self.pending:
            self.shut_wanted = True
        else:
            self._shutdown_now()

    def _shutdown_now(self) -> None:
        if not self.shut_done and not self.closed:
            self.shut_done = True
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self, *, abort: bool = False) -> None:
        if self.closed:
            return
        if self.corked:
            self.uncork()  # best effort: what fits in the socket buffer still leaves
        forget = getattr(self.loop, "forget_fd", None)
        if forget is not None and (self.reading or self.writing):
            # the loop's own epoll (engine/fdpoll.py): closing the socket takes it out of the set
            forget(self.fd)
            self.reading = self.writing = False
        else:
            self.read_off()
            self._stop_writing()
        self.closed = True
        if self.nolinger and not self.eof and not abort:
            # as 2.6 closes a connection at risk of lingering: its end of data first, then the reset
            if not self.shut_done:
                try:
                    self.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            abort = True
        if abort:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.wbuf = ()
        self.pending = 0
        # the callbacks are bound methods of the session that owns this Conn: dropping them breaks
        # the reference cycle, so both are freed at once by reference counting instead of
        # piling up for the cyclic garbage collector
        self.on_data = self.on_eof = self.on_error = self.on_drained = _nop

    def detach(self) -> socket.socket:
        """Stop driving the socket and hand it over (e.g. to a splice tunnel)."""
        self.read_off()
        self._stop_writing()
        self.closed = True
        return self.sock


def switch_interest(loop: Any, fd: int, have: str, want: str, cb: Callable[[], None]) -> str:
    """Move ``fd``'s readiness callback ``cb`` from ``have`` to ``want`` ("r", "w" or "" for
    none) on ``loop``; returns ``want`` (TLS handshakes want to read or to write by turns)."""
    if want == have:
        return have
    if have == "r":
        loop.remove_reader(fd)
    elif have == "w":
        loop.remove_writer(fd)
    if want == "r":
        loop.add_reader(fd, cb)
    elif want == "w":
        loop.add_writer(fd, cb)
    return want
