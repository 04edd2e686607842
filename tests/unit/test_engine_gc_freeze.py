"""engine/workers.py's freeze_startup_heap: the objects alive when the engine starts serving leave the
cyclic collector's sight (gc.freeze), after a collection, so cyclic garbage of the start-up is freed
rather than frozen for the process's life."""

from __future__ import annotations

import gc
import weakref

from haproxy_py.engine.workers import freeze_startup_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_live_objects_frozen_garbage_collected() -> None:
    live = _Node()
    garbage_a, garbage_b = _Node(), _Node()
    garbage_a.other, garbage_b.other = garbage_b, garbage_a  # a cycle only the collector frees
    dead = weakref.ref(garbage_a)
    del garbage_a, garbage_b
    try:
        freeze_startup_heap()
        assert dead() is None  # collected before the freeze
        assert gc.get_freeze_count() > 0
        # a full collection no longer looks at what was frozen: the live object stays out of gen2
        assert not any(o is live for o in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()
    assert any(o is live for o in gc.get_objects())
