"""Zero-copy forwarding of a known-length HTTP body: ``splice()`` from the server socket into a
pooled kernel pipe (engine/tcp.py's pool) and from the pipe into the client socket.

The HTTP engine (engine/http.py) hands a response body over when nothing needs to see its bytes:
``Content-Length`` framing, no compression, no rule reading the body, plain TCP sockets on both
sides. Exactly ``remaining`` bytes are taken from the server (never more: the connection may carry
the next request), so keep-alive goes on afterwards. While it runs, the splicer owns the server
socket's read interest and the client socket's write interest; the session's ``Conn`` objects are
idle on those directions (nothing else is written to the client during a response body).

The session is told of every step through a few methods (``_spl_in``, ``_spl_blocked``,
``_spl_unblocked``, ``_spl_done``, ``_spl_eof``, ``_spl_error``, ``_spl_fallback``): the splicer
holds the session, not bound methods (like tcp.Pump holds its Tunnel).
"""

from __future__ import annotations

import errno
import os
from typing import Any

from haproxy_py.engine.tcp import _AGAIN, _SPLICE_FLAGS, SPLICE_CHUNK, SpliceEnds, _get_pipe

#: bodies shorter than this (after what came with the head) stay on the buffered path: a pipe and
#: its extra system calls only pay off on bulk transfers
SPLICE_MIN = 1 << 17
#: errors that say splice() cannot be used on these descriptors: the body goes on buffered
_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF)


class BodySplice(SpliceEnds):
    __slots__ = ("s", "remaining", "sent", "blocked", "moved")

    def __init__(self, loop: Any, session: Any, sfd: int, dfd: int, remaining: int) -> None:
        self.loop = loop
        self.s = session
        self.sfd = sfd
        self.dfd = dfd
        #: bytes still to take from the server
        self.remaining = remaining
        #: bytes inside the pipe
        self.pending = 0
        #: bytes written to the client (the write timer's progress mark)
        self.sent = 0
        self.pipe_r = self.pipe_w = -1
        self.reading = False
        self.writing = False
        self.closed = False
        self.blocked = False
        #: whether any byte went through (a first-call failure can fall back cleanly)
        self.moved = False

    def start(self) -> bool:
        """False when no pipe can be had (descriptors exhausted): the caller stays buffered."""
        try:
            self.pipe_r, self.pipe_w = _get_pipe()
        except OSError:
            self.closed = True
            return False
        self._want_read()
        return True

    # ------------------------------------------------------------------ interest
    def _want_read(self) -> None:
        if not self.reading:
            self.loop.add_reader(self.sfd, self._readable)
            self.reading = True

    def close(self) -> None:
        """Stop; the pipe goes back to the pool when empty (else it is closed with its bytes)."""
        if self.closed:
            return
        self.closed = True
        self._stop_read()
        self._stop_write()
        self._drop_pipe()

    def take_pipe_bytes(self) -> bytes:
        """What is still in the pipe (read back for the buffered path), the pipe left empty."""
        out = []
        while self.pending and self.pipe_r >= 0:
            try:
                b = os.read(self.pipe_r, self.pending)
            except OSError:
                break
            if not b:
                break
            self.pending -= len(b)
            out.append(b)
        return b"".join(out)

    # ------------------------------------------------------------------ events
    def _readable(self) -> None:
        s = self.s
        try:
            n = os.splice(self.sfd, self.pipe_w, min(SPLICE_CHUNK, self.remaining), flags=_SPLICE_FLAGS)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno in _AGAIN:
                return
            if e.errno in _UNSUPPORTED:
                s._spl_fallback()
            else:
                s._spl_error(True, e)
            return
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            s._spl_internal(exc)
            return
        if n == 0:
            s._spl_eof()
            return
        self.moved = True
        self.remaining -= n
        self.pending += n
        s._spl_in(n)
        self._out()

    def _writable(self) -> None:
        self._out()

    def _out(self) -> None:
        s = self.s
        try:
            while self.pending:
                try:
                    m = os.splice(self.pipe_r, self.dfd, self.pending, flags=_SPLICE_FLAGS)
                except BlockingIOError:
                    break
                except OSError as e:
                    if e.errno in _AGAIN:
                        break
                    if e.errno in _UNSUPPORTED:
                        s._spl_fallback()
                    else:
                        s._spl_error(False, e)
                    return
                if m <= 0:
                    break
                self.pending -= m
                self.sent += m
            if self.closed:
                return
            if self.pending:
                # the client takes it slower than the server sends: wait for it, not the server
                self._stop_read()
                self._want_write()
                if not self.blocked:
                    self.blocked = True
                    s._spl_blocked()
                return
            self._stop_write()
            if self.blocked:
                self.blocked = False
                s._spl_unblocked()
            if not self.remaining:
                self.close()
                s._spl_done()
                return
            self._want_read()
        except Exception as exc:  # noqa: BLE001 - the engine boundary (engine/fault.py)
            s._spl_internal(exc)
