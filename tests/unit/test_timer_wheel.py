"""engine/stream.py's TimerWheel: the sessions' long timeouts share one loop timer per tick.

A fake loop (time and call_at recorded, fired by hand) drives it; Stream.arm/cancel_timer run on real
Streams of a real (not started) Engine whose loop is the fake one; their socket and listener are
stand-ins."""

from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace
from typing import Any

from haproxy_py.config import parse_text
from haproxy_py.engine import stream
from haproxy_py.engine.loop import Engine
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


CFG = """\
defaults
    mode http
frontend fe
    bind 127.0.0.1:8
    default_backend be
backend be
    server s1 127.0.0.1:1
"""


def new_engine(loop: FakeLoop) -> Engine:
    """A real Engine (not started: nothing listens) whose loop is then the fake one."""
    conf, diags = parse_text(CFG)
    assert not diags.has_errors
    real = asyncio.new_event_loop()
    try:
        eng = Engine(conf, real, quiet=True)
    finally:
        real.close()
    eng.loop = loop  # type: ignore[assignment]
    return eng


def new_sess(eng: Engine) -> Stream:
    """A real Stream of the frontend's real Router (the compiled build of the accelerator checks
    their types), on stand-ins for the client socket and the listener."""
    return Stream(eng.routers["fe"], None, ("127.0.0.1", 40000),  # type: ignore[arg-type]
                  SimpleNamespace(local=("127.0.0.1", 80)))


def test_long_timeouts_share_a_tick_and_fire_late_by_at_most_one_tick() -> None:
    loop = FakeLoop()
    eng = new_engine(loop)
    rng = random.Random(20)
    sessions = []
    for _ in range(200):
        s = new_sess(eng)
        fired: list[float] = []
        ms = rng.choice([WHEEL_MIN_MS, 1500, 5000, 300_000])
        loop.now += rng.random() / 1000
        s.arm(ms, lambda fired=fired: fired.append(loop.time()))
        assert type(s.timer) is _Bucket
        sessions.append((fired, loop.now + ms / 1000))
    # far fewer loop timers than sessions
    assert len(loop.handles) < len(sessions) / 3
    loop.run_until(loop.now + 301)
    for fired, deadline in sessions:
        (t,) = fired
        assert deadline <= t <= deadline + WHEEL_TICK + 1e-9
    assert eng.timer_wheel.buckets == {}  # type: ignore[attr-defined]


def test_short_timeouts_keep_their_own_exact_loop_timer() -> None:
    loop = FakeLoop()
    eng = new_engine(loop)
    s = new_sess(eng)
    fired: list[float] = []
    s.arm(WHEEL_MIN_MS - 1, lambda: fired.append(loop.time()))
    assert isinstance(s.timer, FakeHandle)
    loop.run_until(loop.now + 2)
    assert fired == [1000.0 + (WHEEL_MIN_MS - 1) / 1000]


def test_cancel_and_rearm_earlier_move_the_session_out_of_its_bucket() -> None:
    loop = FakeLoop()
    eng = new_engine(loop)
    a, b = new_sess(eng), new_sess(eng)
    a_fired: list[float] = []
    b_fired: list[float] = []
    a.arm(10_000, lambda: a_fired.append(loop.time()))
    b.arm(10_000, lambda: b_fired.append(loop.time()))
    assert a.timer is b.timer
    a.cancel_timer()
    assert a.timer is None and a not in b.timer
    b.arm(2_000, lambda: b_fired.append(loop.time()))  # earlier: another bucket
    loop.run_until(loop.now + 20)
    assert a_fired == []
    assert len(b_fired) == 1 and 1002.0 <= b_fired[0] <= 1002.0 + WHEEL_TICK


def test_a_later_deadline_is_lazy_and_rescheduled_when_the_tick_comes() -> None:
    loop = FakeLoop()
    eng = new_engine(loop)
    s = new_sess(eng)
    fired: list[float] = []
    s.arm(2_000, lambda: fired.append(loop.time()))
    loop.run_until(1001.5)
    s.arm(5_000, lambda: fired.append(loop.time()))  # now deadline 1006.5: no new timer yet
    loop.run_until(1003.0)
    assert fired == [] and s.timer is not None
    loop.run_until(1010.0)
    assert len(fired) == 1 and 1006.5 <= fired[0] <= 1006.5 + WHEEL_TICK
    assert stream.WHEEL_MIN_MS == WHEEL_MIN_MS


def _live(loop: FakeLoop) -> list[FakeHandle]:
    return [h for h in loop.handles if not h.cancelled]


def test_idle_sessions_hold_one_loop_timer_and_no_stale_bucket() -> None:
    """An HTTP keep-alive session's timeline (client timeout, then an earlier connect timeout,
    then the client timeout again): whatever the moves, the wheel keeps one live loop timer in all,
    and a bucket only for a deadline some session still waits for (issue 20: the handles and
    empty buckets of the deadlines left behind were kept until their tick, ~5 per idle session)."""
    loop = FakeLoop()
    eng = new_engine(loop)
    rng = random.Random(7)
    sessions = []
    for _ in range(300):
        s = new_sess(eng)
        loop.now += rng.random() / 100
        s.arm(300_000, lambda: None)  # waiting for the request (timeout client)
        s.arm(5_000, lambda: None)  # timeout connect: earlier, another bucket
        s.arm(300_000, lambda: None)  # the response went: waiting for the next request
        sessions.append(s)
        assert len(_live(loop)) == 1
    wheel: TimerWheel = eng.timer_wheel  # type: ignore[attr-defined]
    assert sum(len(b) for b in wheel.buckets.values()) == 300
    assert all(wheel.buckets.values())  # no empty bucket kept
    assert len(wheel.ticks) <= 64 + 2 * len(wheel.buckets)
    loop.run_until(loop.now + 10)  # the connect deadlines passed: each re-armed for its 300 s
    assert len(_live(loop)) == 1
    assert sum(len(b) for b in wheel.buckets.values()) == 300 and all(wheel.buckets.values())
    for s in sessions:
        s.cancel_timer()
    assert wheel.buckets == {}
    loop.run_until(loop.now + 400)  # the one timer left fires for nothing and is not re-armed
    assert _live(loop) == []


def test_a_tick_fired_early_by_the_clock_resolution_still_fires_its_bucket_once() -> None:
    loop = FakeLoop()
    eng = new_engine(loop)
    s = new_sess(eng)
    fired: list[float] = []
    s.arm(2_000, lambda: fired.append(loop.time()))
    (h,) = _live(loop)
    loop.handles.remove(h)
    loop.now = h.when - 1e-6  # the loop runs a timer a little before its time
    h.cb(*h.args)
    assert s.timer is not None or fired  # re-armed for the deadline, or fired
    loop.run_until(loop.now + 5)
    assert len(fired) == 1


def test_far_deadlines_share_coarse_buckets_and_still_fire_on_time() -> None:
    """Sessions that come slowly (one every 0.3-0.5 s) with a 300 s timeout: far fewer buckets
    than sessions (a deadline WHEEL_FAR ahead waits in a coarser tick first), each still fired at
    its deadline, at most one tick late, once."""
    loop = FakeLoop()
    eng = new_engine(loop)
    rng = random.Random(3)
    sessions = []
    for _ in range(250):
        s = new_sess(eng)
        fired: list[float] = []
        loop.now += 0.3 + rng.random() / 5
        s.arm(300_000, lambda fired=fired: fired.append(loop.time()))
        sessions.append((fired, loop.now + 300.0))
    wheel: TimerWheel = eng.timer_wheel  # type: ignore[attr-defined]
    assert len(wheel.buckets) <= len(sessions) / 8
    assert stream.WHEEL_FAR <= 300
    loop.run_until(loop.now + 301)
    for fired, deadline in sessions:
        (t,) = fired
        assert deadline <= t <= deadline + WHEEL_TICK + 1e-9
    assert wheel.buckets == {} and len(_live(loop)) == 0
