"""Descriptor readiness through one epoll instance of our own, watched by the event loop as one reader.

uvloop gives every descriptor that is watched a poll handle of its own, made when the first reader
or writer comes and dropped when the last goes: creating one costs four system calls (libuv checks
the descriptor by adding and removing it, sets O_NONBLOCK, adds it again), dropping one three, and
each handle with its callback Handle is about 400 bytes. A session that opens a server connection
and closes both ends paid about twelve epoll_ctl() and two ioctl() for that.

``FdInterest`` (mixed into the loop class ``new_event_loop`` makes) keeps the loop's interface
(``add_reader`` / ``remove_reader`` / ``add_writer`` / ``remove_writer``, level-triggered, a
callback with arguments, exceptions to the loop's exception handler) over a ``select.epoll`` of
its own: a descriptor costs one epoll_ctl() when it is first watched and one per change of
interest after that; ``forget_fd`` drops a descriptor that is about to be closed without any
system call (closing it takes it out of the epoll set), as HAProxy's own poller does.

Task profiling (engine/taskprof.py, ``lat_ns_*``): with ``prof`` set (a configuration using those
fetches) and ``profiling.tasks`` on, each batch of events is stamped (``event_ns``, monotonic ns,
0 outside a batch) before its callbacks run, so that a call can tell how long it waited.
"""

from __future__ import annotations

import errno
import select
from collections.abc import Callable
from functools import partial
from time import monotonic_ns
from typing import Any

_IN = select.EPOLLIN
_OUT = select.EPOLLOUT
#: what wakes a reader / a writer (a hang-up or an error wakes whichever is watching, as libuv)
_RMASK = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR | select.EPOLLPRI
_WMASK = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR


def _fileno(fd: Any) -> int:
    if isinstance(fd, int):
        return fd
    return int(fd.fileno())


class FdInterest:
    """Mixed in before an asyncio loop class (uvloop's): see the module's docstring."""

    _ep: select.epoll | None = None
    _r: dict[int, Callable[[], Any]]
    _w: dict[int, Callable[[], Any]]
    _m: dict[int, int]
    #: the profiling settings (engine/taskprof.py's STATE) when a configuration measures latency
    prof: dict[str, str] | None = None
    #: while a batch of events is dispatched under profiling: when the poll returned it (ns)
    event_ns = 0

    # -------------------------------------------------------------- the epoll instance
    def _epoll(self) -> select.epoll:
        ep = self._ep
        if ep is None:
            # made at first use (the loop object may be made before a fork; the epoll is not shared)
            ep = select.epoll()
            self._r = {}
            self._w = {}
            self._m = {}
            self._ep = ep
            super().add_reader(ep.fileno(), self._dispatch)  # type: ignore[misc]
        return ep

    def _set(self, fd: int, old: int, new: int) -> None:
        """Move ``fd``'s registration from mask ``old`` (0: not registered) to ``new``."""
        ep = self._ep
        assert ep is not None
        m = self._m
        if new == 0:
            del m[fd]
            try:
                ep.unregister(fd)
            except OSError:
                pass  # closed already (a closed descriptor leaves the set by itself)
            return
        if old == 0:
            try:
                ep.register(fd, new)
            except FileExistsError:
                ep.modify(fd, new)  # forgotten but not closed: still in the set
        else:
            try:
                ep.modify(fd, new)
            except FileNotFoundError:
                ep.register(fd, new)  # closed without being removed, and the number reused
        m[fd] = new

    # -------------------------------------------------------------- the loop's interface
    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        if type(fd) is not int:
            fd = _fileno(fd)
        if self._ep is None:
            self._epoll()
        self._r[fd] = partial(callback, *args) if args else callback
        m = self._m
        old = m.get(fd, 0)
        if not old & _IN:
            if old == 0 and self._ep is not None:  # the usual case: one register, no other call
                try:
                    self._ep.register(fd, _IN)
                except FileExistsError:
                    self._ep.modify(fd, _IN)
                except BaseException:
                    del self._r[fd]
                    raise
                m[fd] = _IN
                return
            try:
                self._set(fd, old, old | _IN)
            except BaseException:
                del self._r[fd]
                raise

    def add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        if type(fd) is not int:
            fd = _fileno(fd)
        if self._ep is None:
            self._epoll()
        self._w[fd] = partial(callback, *args) if args else callback
        old = self._m.get(fd, 0)
        if not old & _OUT:
            try:
                self._set(fd, old, old | _OUT)
            except BaseException:
                del self._w[fd]
                raise

    def remove_reader(self, fd: Any) -> bool:
        if self._ep is None:
            return False
        if type(fd) is not int:
            fd = _fileno(fd)
        if self._r.pop(fd, None) is None:
            return False
        old = self._m.get(fd, 0)
        if old & _IN:
            self._set(fd, old, old & ~_IN)
        return True

    def remove_writer(self, fd: Any) -> bool:
        if self._ep is None:
            return False
        if type(fd) is not int:
            fd = _fileno(fd)
        if self._w.pop(fd, None) is None:
            return False
        old = self._m.get(fd, 0)
        if old & _OUT:
            self._set(fd, old, old & ~_OUT)
        return True

    def forget_fd(self, fd: int) -> None:
        """``fd`` is closed right after this call by its owner: its reader and writer are dropped
        without a system call (the close takes it out of the epoll set). Only for a descriptor
        nothing else holds a copy of (a duplicate would keep it in the set)."""
        if self._ep is not None:
            self._r.pop(fd, None)
            self._w.pop(fd, None)
            self._m.pop(fd, None)

    def watched_fds(self) -> int:
        """How many descriptors are in the epoll set (tests, ``show info`` style checks)."""
        return len(self._m) if self._ep is not None else 0

    # -------------------------------------------------------------- readiness
    def _dispatch(self) -> None:
        ep = self._ep
        if ep is None:
            return
        try:
            events = ep.poll(0)
        except InterruptedError:
            return
        prof = self.prof
        stamp = prof is not None and prof.get("tasks") == "on"
        if stamp:  # task profiling: the calls below were woken now
            self.event_ns = monotonic_ns()
        r = self._r
        w = self._w
        rmask = _RMASK
        wmask = _WMASK
        try:
            for fd, ev in events:
                hit = False
                if ev & rmask:
                    cb = r.get(fd)
                    if cb is not None:
                        hit = True
                        try:
                            cb()
                        except Exception as exc:  # noqa: BLE001 - as the loop's own handles do
                            self._cb_error(exc, cb)
                if ev & wmask:
                    cb = w.get(fd)
                    if cb is not None:
                        hit = True
                        try:
                            cb()
                        except Exception as exc:  # noqa: BLE001
                            self._cb_error(exc, cb)
                if not hit and fd not in self._m:
                    # forgotten, but still open somewhere (a copy): out of the set, or it would spin
                    try:
                        ep.unregister(fd)
                    except OSError as e:
                        if e.errno not in (errno.ENOENT, errno.EBADF):
                            raise
        finally:
            if stamp:
                self.event_ns = 0

    def _cb_error(self, exc: BaseException, cb: Any) -> None:
        self.call_exception_handler({  # type: ignore[attr-defined]
            "message": f"Exception in callback {getattr(cb, '__qualname__', cb)!r}",
            "exception": exc,
        })

    def close(self) -> None:
        ep = self._ep
        if ep is not None:
            try:
                super().remove_reader(ep.fileno())  # type: ignore[misc]
            except Exception:  # noqa: BLE001 - the loop may be closed already
                pass
            ep.close()
            self._ep = None
        super().close()  # type: ignore[misc]


def loop_class(base: type) -> type:
    """``base`` (an event loop class) with its descriptor watching through ``FdInterest``."""
    return type(f"Fd{base.__name__}", (FdInterest, base), {})
