"""engine/stream.py's TimerWheel: the sessions' long timeouts share one loop timer per tick.

A fake loop (time and call_at recorded, fired by hand) drives it; Stream.arm/cancel_timer run on a
stand-in object with the attributes they use."""

from __future__ import annotations

import random
from typing import Any

from haproxy_py.engine import stream
from haproxy_py.engine.stream import WHEEL_MIN_MS, WHEEL_TICK, Stream, TimerWheel, _Bucket


class FakeHandle:
    def __init__(self, loop: FakeLoop, when: float, cb: Any, args: tuple) -> None:
        self.loop, self.when, self.cb, self.args, self.cancelled = loop, when, cb, args, False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    def __init__(self) -> None:
        self.now = 1000.0
        self.handles: list[FakeHandle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, cb: Any, *args: Any) -> FakeHandle:
        h = FakeHandle(self, when, cb, args)
        self.handles.append(h)
        return h

    def run_until(self, t: float) -> None:
        """Fire every due handle in time order, moving the clock to each one's time."""
        while True:
            due = [h for h in self.handles if not h.cancelled and h.when <= t]
            if not due:
                break
            h = min(due, key=lambda x: x.when)
            self.handles.remove(h)
            self.now = max(self.now, h.when)
            h.cb(*h.args)
        self.now = t


class Sess:
    """The attributes Stream.arm / _timer_fire / cancel_timer use."""

    def __init__(self, loop: FakeLoop, engine: Any) -> None:
        self.loop, self.engine = loop, engine
        self.timer: Any = None
        self.t_deadline = self.t_sched = 0.0
        self.t_cb: Any = None
        self.closed = False
        self.fired: list[float] = []

    def arm(self, ms: int | None, cb: Any) -> None:
        Stream.arm(self, ms, cb)  # type: ignore[arg-type]

    def cancel_timer(self) -> None:
        Stream.cancel_timer(self)  # type: ignore[arg-type]

    def engine_wheel(self) -> TimerWheel:
        return Stream.engine_wheel(self)  # type: ignore[arg-type]

    def _timer_fire(self) -> None:
        Stream._timer_fire(self)  # type: ignore[arg-type]

    def internal_error(self, exc: BaseException, where: str) -> None:
        raise AssertionError(f"{where}: {exc!r}")


class Engine:
    pass


def test_long_timeouts_share_a_tick_and_fire_late_by_at_most_one_tick() -> None:
    loop, eng = FakeLoop(), Engine()
    rng = random.Random(20)
    sessions = []
    for _ in range(200):
        s = Sess(loop, eng)
        ms = rng.choice([WHEEL_MIN_MS, 1500, 5000, 300_000])
        loop.now += rng.random() / 1000
        s.arm(ms, lambda s=s: s.fired.append(loop.time()))
        assert type(s.timer) is _Bucket
        sessions.append((s, loop.now + ms / 1000))
    # far fewer loop timers than sessions
    assert len(loop.handles) < len(sessions) / 3
    loop.run_until(loop.now + 301)
    for s, deadline in sessions:
        (t,) = s.fired
        assert deadline <= t <= deadline + WHEEL_TICK + 1e-9
    assert eng.timer_wheel.buckets == {}  # type: ignore[attr-defined]


def test_short_timeouts_keep_their_own_exact_loop_timer() -> None:
    loop, eng = FakeLoop(), Engine()
    s = Sess(loop, eng)
    s.arm(WHEEL_MIN_MS - 1, lambda: s.fired.append(loop.time()))
    assert isinstance(s.timer, FakeHandle)
    loop.run_until(loop.now + 2)
    assert s.fired == [1000.0 + (WHEEL_MIN_MS - 1) / 1000]


def test_cancel_and_rearm_earlier_move_the_session_out_of_its_bucket() -> None:
    loop, eng = FakeLoop(), Engine()
    a, b = Sess(loop, eng), Sess(loop, eng)
    a.arm(10_000, lambda: a.fired.append(loop.time()))
    b.arm(10_000, lambda: b.fired.append(loop.time()))
    assert a.timer is b.timer
    a.cancel_timer()
    assert a.timer is None and a not in b.timer
    b.arm(2_000, lambda: b.fired.append(loop.time()))  # earlier: another bucket
    loop.run_until(loop.now + 20)
    assert a.fired == []
    assert len(b.fired) == 1 and 1002.0 <= b.fired[0] <= 1002.0 + WHEEL_TICK


def test_a_later_deadline_is_lazy_and_rescheduled_when_the_tick_comes() -> None:
    loop, eng = FakeLoop(), Engine()
    s = Sess(loop, eng)
    s.arm(2_000, lambda: s.fired.append(loop.time()))
    loop.run_until(1001.5)
    s.arm(5_000, lambda: s.fired.append(loop.time()))  # now deadline 1006.5: no new timer yet
    loop.run_until(1003.0)
    assert s.fired == [] and s.timer is not None
    loop.run_until(1010.0)
    assert len(s.fired) == 1 and 1006.5 <= s.fired[0] <= 1006.5 + WHEEL_TICK
    assert stream.WHEEL_MIN_MS == WHEEL_MIN_MS
