"""runtime/queue.py: the positions 2.6 logs in %sq/%bq (the entries that left the queue by a
dequeue while a request waited there, itself included when it was dequeued itself)."""

from __future__ import annotations

from haproxy_py.runtime.queue import Pending, Queue


def test_positions_count_the_dequeues_seen_while_waiting() -> None:
    q = Queue()
    a, b = q.push(Pending("a", 0.0)), q.push(Pending("b", 0.1))
    assert q.pop() is a and a.pos == 1  # first in, first out: nobody before it
    c = q.push(Pending("c", 0.2))  # came in after one dequeue
    q.remove(b)  # gave up (timeout): one dequeue seen, plus itself as 2.6 counts it
    assert b.pos == 2 and len(q) == 1
    assert q.pop() is c and c.pos == 1  # b's removal is no dequeue
    d = q.push(Pending("d", 0.3))
    e = q.push(Pending("e", 0.4))
    assert q.pop() is d and q.pop() is e and (d.pos, e.pos) == (1, 2)
    assert q.idx == 4 and a.queue is q
    q.remove(e)  # no longer in the queue: nothing changes
    assert e.pos == 2 and len(q) == 0
