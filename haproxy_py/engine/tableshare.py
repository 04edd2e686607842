"""Stick tables shared by several workers: the bytes between them (the merging rules are in
haproxy_py/stick/share.py). The master creates one socketpair per pair of workers before it forks
(``mesh``); each worker pushes the entries it wrote, batched at the end of each event loop turn (``FLUSH_S``), to every other
worker as one frame: a 4-byte length then a pickle of ``(worker, {table: [(key, data, exp,
use)]}, {slot: total})`` (the last: the totals of its increments in flight, ``inflight_area``) (the workers are forks of one master: they trust each other's pickles)."""

from __future__ import annotations

import asyncio
import mmap
import pickle
import socket
import struct
from typing import Any

from haproxy_py.stick.share import Inflight, TableShare

__all__ = ["mesh", "worker_socks", "TableMesh", "FLUSH_S", "inflight_area"]

#: how long local writes wait to be pushed together: 0, the end of the event loop's turn (every
#: write of one turn goes in one frame; a client's next request, sent once this one is answered,
#: finds the push already there)
FLUSH_S = 0.0
#: a worker that does not read (stuck) gets no more pushes past this many bytes waiting
MAX_BUFFER = 4 << 20
_HDR = struct.Struct("!I")


def mesh(n: int) -> dict[tuple[int, int], tuple[socket.socket, socket.socket]]:
    """A socketpair per pair of workers (i < j): the first end is i's, the second j's."""
    return {(i, j): socket.socketpair() for i in range(n) for j in range(i + 1, n)}


def worker_socks(pairs: dict[tuple[int, int], tuple[socket.socket, socket.socket]], me: int) -> dict[int, socket.socket]:
    """Worker ``me``'s ends (by the other worker's index); closes every other end."""
    out: dict[int, socket.socket] = {}
    for (i, j), (a, b) in pairs.items():
        if i == me:
            out[j] = a
            b.close()
        elif j == me:
            out[i] = b
            a.close()
        else:
            a.close()
            b.close()
    return out


def inflight_area(n: int) -> mmap.mmap:
    """The shared memory of the increments in flight (stick/share.py Inflight), made by the
    master before it forks the workers (an anonymous MAP_SHARED mapping: each fork sees it)."""
    return mmap.mmap(-1, Inflight.size(n))


class TableMesh:
    def __init__(self, state: Any, loop: asyncio.AbstractEventLoop, me: int, socks: dict[int, socket.socket],
                 area: Any = None, n: int = 0) -> None:
        self.loop = loop
        self.me = me
        self.socks = socks
        self.shares = {name: TableShare(t) for name, t in state.tables.items()}
        self.inflight = Inflight(area, n, me) if area is not None else None
        if self.inflight is not None:
            for ti, sh in enumerate(self.shares.values()):
                sh.inflight = (self.inflight, ti)
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.scheduled = False
        #: frames pushed and their bytes, frames not sent to a stuck worker
        self.frames = self.bytes = self.dropped = 0
        for sh in self.shares.values():
            sh.on_dirty = self.wake
            sh.attach()
        state.table_view = self.view

    def now(self) -> int:
        return int(self.loop.time() * 1000)

    async def start(self) -> None:
        for idx, s in self.socks.items():
            r, w = await asyncio.open_unix_connection(sock=s)
            self.writers.append(w)
            self.tasks.append(self.loop.create_task(self._read(idx, r)))

    def wake(self) -> None:
        if not self.scheduled:
            self.scheduled = True
            if FLUSH_S:
                self.loop.call_later(FLUSH_S, self.flush)
            else:
                self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        batch = {name: items for name, sh in self.shares.items() if (items := sh.pending())}
        if not batch:
            return
        marks = self.inflight.marks() if self.inflight is not None else None
        body = pickle.dumps((self.me, batch, marks), protocol=pickle.HIGHEST_PROTOCOL)
        frame = _HDR.pack(len(body)) + body
        for w in self.writers:
            if w.is_closing():
                continue
            if w.transport.get_write_buffer_size() > MAX_BUFFER:
                self.dropped += 1
                continue
            w.write(frame)
            self.frames += 1
            self.bytes += len(frame)

    async def _read(self, idx: int, r: asyncio.StreamReader) -> None:
        n = 0
        while True:
            try:
                (size,) = _HDR.unpack(await r.readexactly(4))
                worker, batch, marks = pickle.loads(await r.readexactly(size))
            except (asyncio.IncompleteReadError, ConnectionError, OSError, pickle.UnpicklingError, ValueError):
                return  # that worker is gone
            now = self.now()
            for name, items in batch.items():
                sh = self.shares.get(name)
                if sh is not None:
                    sh.apply(worker, items, now)
            if marks and self.inflight is not None:  # with the data just applied: not in flight any more
                self.inflight.applied(worker, marks)
            n += 1
            if n % 1000 == 0:
                for sh in self.shares.values():
                    sh.trim(now)

    def join_peers(self, peers: Any) -> None:
        """This worker speaks the peers protocol for the process (engine/peers.py): what it
        sends a peer is every worker's data merged; what another worker wrote is a local change
        of the process, to be sent; what a peer wrote sets the process's value (this worker's
        share rebased, then pushed to the other workers)."""
        for sync, _bind in peers.syncs:
            for st in sync.tables:
                sh = next((sh for sh in self.shares.values() if sh.table is st.table), None)
                if sh is None:
                    continue
                st.merged = sh.merged
                st.on_learned = sh.learned
                sh.on_remote = lambda key, st=st: st.mark(key, True)

    def view(self, now: int) -> dict[str, Any]:
        """The tables as ``show table`` sees them: every worker's data merged."""
        return {name: sh.view(now) for name, sh in self.shares.items()}

    def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        for w in self.writers:
            w.close()
