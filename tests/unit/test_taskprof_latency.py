"""Task profiling latency (lat_ns_avg / lat_ns_tot): engine/taskprof.py's TaskProf and the stamp
engine/fdpoll.py puts on each batch of readiness events while ``profiling.tasks`` is on."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from haproxy_py.engine import taskprof
from haproxy_py.engine.fdpoll import loop_class
from haproxy_py.samples.expr import compile_expr
from haproxy_py.samples.fetches import f_lat_ns_avg, f_lat_ns_tot


class _Loop:
    event_ns = 0


@pytest.fixture()
def prof(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    st = {"tasks": "on"}
    monkeypatch.setattr(taskprof, "STATE", st)
    return st


def test_a_call_adds_its_wait_since_the_poll(prof: dict[str, str]) -> None:
    lp = _Loop()
    tp = taskprof.TaskProf(lp)
    lp.event_ns = time.monotonic_ns() - 5_000_000  # polled 5 ms ago
    assert tp.run(lambda x: x + 1, 1) == 2
    assert tp.calls == 1 and tp.lat_ns >= 5_000_000
    first = tp.lat_ns
    lp.event_ns = 0  # not woken by the poll (a timer): no latency counted
    tp.run(lambda: None)
    assert tp.calls == 2 and tp.lat_ns == first
    # woken by a queue slot: from the wake-up on, whatever the poll's stamp
    tp.wake()
    time.sleep(0.002)
    tp.run(lambda: None)
    assert tp.lat_ns >= first + 2_000_000 and tp.wake_ns == 0
    tp.reset()
    assert (tp.calls, tp.cpu_ns, tp.lat_ns) == (0, 0, 0)


def test_nothing_measured_while_profiling_is_off(prof: dict[str, str]) -> None:
    prof["tasks"] = "off"
    lp = _Loop()
    lp.event_ns = time.monotonic_ns() - 5_000_000
    tp = taskprof.TaskProf(lp)
    tp.wake()
    assert tp.wake_ns == 0
    for _ in range(3):
        tp.run(lambda: sum(range(1000)))
    assert (tp.calls, tp.cpu_ns, tp.lat_ns) == (3, 0, 0)
    prof["tasks"] = "on"  # switched on (the CLI): the next call is measured
    tp.run(lambda: sum(range(1000)))
    assert tp.calls == 4 and tp.lat_ns >= 5_000_000 and tp.cpu_ns > 0


def test_fetches_read_the_counters(prof: dict[str, str]) -> None:
    tp = taskprof.TaskProf(_Loop())
    tp.calls, tp.lat_ns = 3, 1000

    class T:
        task = tp
    assert f_lat_ns_tot(T(), ()) == [1000]  # type: ignore[arg-type]
    assert f_lat_ns_avg(T(), ()) == [333]  # type: ignore[arg-type]  # lat_ns_tot // cpu_calls
    tp.calls = 0
    assert f_lat_ns_avg(T(), ()) == [0]  # type: ignore[arg-type]

    class NoTask:
        task = None
    assert f_lat_ns_tot(NoTask(), ()) is None  # type: ignore[arg-type]  # a session not counting
    # the fetches compile (they are implemented) and mark the configuration as a counting one
    was = taskprof.USED[0]
    taskprof.USED[0] = False
    try:
        compile_expr("lat_ns_avg")
        assert taskprof.USED[0]
    finally:
        taskprof.USED[0] = was


def _bases() -> list[Any]:
    out: list[Any] = [asyncio.SelectorEventLoop]
    try:
        import uvloop

        out.append(uvloop.Loop)
    except ImportError:
        pass
    return out


@pytest.mark.parametrize("base", _bases(), ids=lambda b: b.__module__)
@pytest.mark.parametrize("on", [True, False])
def test_fdpoll_stamps_each_batch_under_profiling(base: Any, on: bool) -> None:
    lp = loop_class(base)()
    a, b = socket.socketpair()
    seen: list[int] = []
    try:
        taskprof_state = {"tasks": "on" if on else "off"}
        lp.prof = taskprof_state

        def readable() -> None:
            seen.append(lp.event_ns)
            a.recv(100)

        lp.add_reader(a.fileno(), readable)
        before = time.monotonic_ns()
        b.send(b"x")

        async def wait() -> None:
            t0 = time.monotonic()
            while not seen and time.monotonic() - t0 < 2:
                await asyncio.sleep(0.005)

        lp.run_until_complete(wait())
        assert len(seen) == 1
        if on:
            assert before <= seen[0] <= time.monotonic_ns()
        else:
            assert seen[0] == 0
        assert lp.event_ns == 0  # outside a batch
        lp.remove_reader(a.fileno())
    finally:
        a.close()
        b.close()
        lp.close()


def test_without_a_latency_config_the_loop_is_not_stamped() -> None:
    lp = loop_class(asyncio.SelectorEventLoop)()
    try:
        assert lp.prof is None and lp.event_ns == 0
        st: dict[str, str] = {"tasks": "on"}

        class S:
            cli_profiling = st
        taskprof.start(S(), "on")
        taskprof.watch_polls(lp)
        assert lp.prof is st
    finally:
        lp.close()


def test_settle_counts_the_call_under_way_and_nested_calls_once(prof: dict[str, str]) -> None:
    tp = taskprof.TaskProf(_Loop())
    seen: list[int] = []

    def work() -> None:
        sum(range(20000))
        seen.append(tp.cpu_ns)  # 0: nothing counted yet during the first call
        sum(range(20000))
        tp.settle()  # as a log line written by this call
        seen.append(tp.cpu_ns)

    tp.run(work)
    assert seen[0] == 0 and 0 < seen[1] <= tp.cpu_ns and tp.t0 == 0
    before = tp.cpu_ns
    tp.settle()  # outside a call: nothing to add
    assert tp.cpu_ns == before
    # a call within a call counts the elapsed time once, not twice
    tp.reset()
    t_start = time.thread_time_ns()
    tp.run(lambda: tp.run(lambda: sum(range(50000))))
    elapsed = time.thread_time_ns() - t_start
    assert tp.calls == 2 and 0 < tp.cpu_ns <= elapsed and tp.t0 == 0


@pytest.mark.parametrize("on", [True, False])
def test_timer_wheel_stamps_its_tick_under_profiling(on: bool) -> None:
    from haproxy_py.engine.stream import TimerWheel

    lp = loop_class(asyncio.SelectorEventLoop)()
    try:
        lp.prof = {"tasks": "on" if on else "off"}
        seen: list[int] = []

        class Sess:
            timer: Any = None

            def _timer_fire(self) -> None:
                seen.append(lp.event_ns)

            def internal_error(self, exc: BaseException, where: str) -> None:
                raise AssertionError(exc)

        wheel = TimerWheel(lp)
        sessions = [Sess(), Sess()]
        when = lp.time() + 0.02
        for s in sessions:
            s.timer = wheel.add(when, s)

        async def wait() -> None:
            t0 = time.monotonic()
            while len(seen) < 2 and time.monotonic() - t0 < 2:
                await asyncio.sleep(0.005)

        lp.run_until_complete(wait())
        assert len(seen) == 2
        # both sessions found expired by the same tick: woken at its stamp (0 when off)
        assert (seen[0] > 0 and seen[0] == seen[1]) if on else seen == [0, 0]
        assert lp.event_ns == 0
    finally:
        lp.close()
