"""Pending requests of a server's or a backend's queue, in 2.6's order. Pure.

A queue is a FIFO (a deque) until an entry with a priority arrives (``set-priority-class`` /
``set-priority-offset`` ran for its request); from then on it is sorted as 2.6 sorts its
pendconn tree, so a configuration without those actions pays nothing for them.

2.6's order (its queue.c): each entry has a 32-bit key, the class (-2047..2047, plus 0x7ff) in
the top 12 bits and, in the low 20, the millisecond clock at the time it was queued plus the
offset (-524287..524287), truncated to 20 bits (it wraps every 17 min 28.576 s). The next entry
is the one of the lowest class whose time key comes first counted from a boundary half a wrap
(524288 ms) before now; equal keys leave in arrival order. A time key that fell before the
boundary (a large negative offset, or an entry waiting for more than 8 minutes) counts as the
last of its class, as in 2.6.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from typing import Any

#: the bounds 2.6 clamps a priority class and offset to (queue_limit_class / queue_limit_offset)
CLASS_MAX = 0x7FF
OFFSET_MAX = 0x7FFFF
_OFF_MASK = 0xFFFFF
_CLASS_MASK = 0xFFF00000
_HALF = 0x80000


def make_key(now: float, prio_class: int = 0, prio_offset: int = 0) -> int:
    """2.6's pendconn key for an entry queued at ``now`` (seconds) with this priority."""
    return ((prio_class + CLASS_MAX) << 20) | ((int(now * 1000) + prio_offset) & _OFF_MASK)


def boundary(now: float) -> int:
    """The time key from which a class's entries are counted at ``now``."""
    return (int(now * 1000) - _HALF) & _OFF_MASK


def order(key: int, now: float) -> tuple[int, int]:
    """(class bits, time key counted from the boundary): what 2.6 compares between the server's
    and the backend's queue."""
    return key & _CLASS_MASK, (key - boundary(now)) & _OFF_MASK


class Pending:
    """One queued request. ``owner`` is the engine's session; ``since`` the time it was queued.

    Life: ``active`` while it waits in a queue; a dequeue gives it a slot of ``server`` (held in
    the owner's name, ``granted`` until the owner claims it with ``Backend.claim`` or gives it back
    with ``Backend.cancel``); a cancel or a redistribution ends it without a slot. An entry is
    never in a queue and granted at once, and once ended it is never granted.

    ``queue`` is the queue it was put in and ``pos`` (set when it leaves it) how far it moved
    there, as 2.6 logs it in ``%sq``/``%bq``: the entries that left that queue by a dequeue from
    the moment it came in until it left, itself included when it was dequeued itself.
    ``key`` is its 2.6 queue key (:func:`make_key`), ``seq`` its arrival rank (ties).
    """

    __slots__ = ("owner", "since", "server", "backend", "active", "granted", "queue", "queue_idx",
                 "pos", "key", "seq")

    def __init__(self, owner: Any, since: float, server: Any = None, backend: Any = None,
                 key: int = -1) -> None:
        self.owner = owner
        self.since = since
        self.server = server
        self.backend = backend
        self.active = True
        self.granted = False
        self.queue: Queue | None = None
        self.queue_idx = 0
        self.pos = 0
        #: -1: no priority given (computed with the default one if the queue becomes sorted)
        self.key = key
        self.seq = 0


class Queue:
    """Insertion-ordered queue with O(1) push/pop and lazy O(1) removal, sorted by 2.6's keys once
    an entry with a priority came (``_s``: a list of (key, seq, entry), kept sorted). ``idx``
    counts the dequeues (2.6's queue index, for the positions logged)."""

    __slots__ = ("_q", "_n", "idx", "_s", "_seq")

    def __init__(self) -> None:
        self._q: deque[Pending] = deque()
        self._n = 0
        self.idx = 0
        self._s: list[tuple[int, int, Pending]] | None = None
        self._seq = 0

    def __len__(self) -> int:
        return self._n

    @property
    def sorted(self) -> bool:
        """Whether the queue orders by priority (an entry with a priority came)."""
        return self._s is not None

    def push(self, p: Pending) -> Pending:
        if p.key >= 0 or self._s is not None:
            return self._push_sorted(p)
        self._q.append(p)
        self._n += 1
        p.queue = self
        p.queue_idx = self.idx
        return p

    def _push_sorted(self, p: Pending) -> Pending:
        s = self._s
        if s is None:  # the first entry with a priority: the waiting ones get their default keys
            s = self._s = []
            for old in self._q:
                if old.active:
                    if old.key < 0:
                        old.key = make_key(old.since)
                    self._seq += 1
                    old.seq = self._seq
                    s.append((old.key, old.seq, old))
            s.sort(key=lambda e: (e[0], e[1]))
            self._q.clear()
        if p.key < 0:
            p.key = make_key(p.since)
        self._seq += 1
        p.seq = self._seq
        e = (p.key, p.seq, p)
        s.insert(bisect_left(s, (p.key, p.seq)), e)
        self._n += 1
        p.queue = self
        p.queue_idx = self.idx
        return p

    def remove(self, p: Pending) -> None:
        if p.active:
            p.active = False
            self._n -= 1
            p.pos = self.idx - p.queue_idx + 1
            s = self._s
            if s is not None:
                i = bisect_left(s, (p.key, p.seq))
                if i < len(s) and s[i][2] is p:
                    del s[i]

    def _first(self, now: float) -> int:
        """Index in ``_s`` of the entry 2.6 takes next (``_s`` not empty)."""
        s = self._s
        assert s
        cls = s[0][0] & _CLASS_MASK
        i = bisect_left(s, (cls | boundary(now),))
        if i < len(s) and s[i][0] & _CLASS_MASK == cls:
            return i
        return 0

    def peek(self, now: float = 0.0) -> Pending | None:
        s = self._s
        if s is not None:
            return s[self._first(now)][2] if s else None
        q = self._q
        while q and not q[0].active:
            q.popleft()
        return q[0] if q else None

    def pop(self, now: float = 0.0) -> Pending | None:
        s = self._s
        p: Pending | None
        if s is not None:
            if not s:
                return None
            p = s.pop(self._first(now))[2]
        else:
            p = self.peek()
            if p is None:
                return None
            self._q.popleft()
        p.active = False
        self._n -= 1
        self.idx += 1
        p.pos = self.idx - p.queue_idx
        return p

    def __iter__(self):  # type: ignore[no-untyped-def]
        if self._s is not None:
            return (e[2] for e in self._s)
        return (p for p in self._q if p.active)
