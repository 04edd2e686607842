"""FIFO of pending requests (a server's or a backend's queue). Pure."""

from __future__ import annotations

from collections import deque
from typing import Any


class Pending:
    """One queued request. ``owner`` is the engine's session; ``since`` the time it was queued.

    Life: ``active`` while it waits in a queue; a dequeue gives it a slot of ``server`` (held in
    the owner's name, ``granted`` until the owner claims it with ``Backend.claim`` or gives it back
    with ``Backend.cancel``); a cancel or a redistribution ends it without a slot. An entry is
    never in a queue and granted at once, and once ended it is never granted.

    ``queue`` is the queue it was put in and ``pos`` (set when it leaves it) how far it moved
    there, as 2.6 logs it in ``%sq``/``%bq``: the entries that left that queue by a dequeue from
    the moment it came in until it left, itself included when it was dequeued itself.
    """

    __slots__ = ("owner", "since", "server", "backend", "active", "granted", "queue", "queue_idx",
                 "pos")

    def __init__(self, owner: Any, since: float, server: Any = None, backend: Any = None) -> None:
        self.owner = owner
        self.since = since
        self.server = server
        self.backend = backend
        self.active = True
        self.granted = False
        self.queue: Queue | None = None
        self.queue_idx = 0
        self.pos = 0


class Queue:
    """Insertion-ordered queue with O(1) push/pop and lazy O(1) removal. ``idx`` counts the
    dequeues (2.6's queue index, for the positions logged)."""

    __slots__ = ("_q", "_n", "idx")

    def __init__(self) -> None:
        self._q: deque[Pending] = deque()
        self._n = 0
        self.idx = 0

    def __len__(self) -> int:
        return self._n

    def push(self, p: Pending) -> Pending:
        self._q.append(p)
        self._n += 1
        p.queue = self
        p.queue_idx = self.idx
        return p

    def remove(self, p: Pending) -> None:
        if p.active:
            p.active = False
            self._n -= 1
            p.pos = self.idx - p.queue_idx + 1

    def peek(self) -> Pending | None:
        q = self._q
        while q and not q[0].active:
            q.popleft()
        return q[0] if q else None

    def pop(self) -> Pending | None:
        p = self.peek()
        if p is not None:
            self._q.popleft()
            p.active = False
            self._n -= 1
            self.idx += 1
            p.pos = self.idx - p.queue_idx
        return p

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (p for p in self._q if p.active)
