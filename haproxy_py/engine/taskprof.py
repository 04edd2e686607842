"""Task profiling: what the ``cpu_calls`` / ``cpu_ns_avg`` / ``cpu_ns_tot`` fetches read.

HAProxy 2.6 counts the calls of the task that processes a stream, and under ``profiling.tasks on``
the CPU time spent in them. haproxy-py's stream is a session object driven by event-loop
callbacks: its "calls" are the callbacks the loop makes into it (a socket of the session readable
or writable, a timer of the session firing, its server connection established), and its CPU time
is the thread CPU time (``time.thread_time_ns``, the clock 2.6 reads too) spent in them.

Decided at load time: only a configuration that uses one of these fetches (``USED``, set when an
expression naming one is compiled) gets counting sessions (a ``TaskProf`` per session and
``ProfConn`` sockets); the others run the plain ``Conn`` and pay nothing. CPU time is measured only
while profiling is on (``global profiling.tasks on`` or the CLI's ``set profiling tasks on``);
otherwise the calls are counted and the times stay 0, as in 2.6. ``auto`` never switches profiling
on here (2.6 switches it on when its scheduler's latency is high, which haproxy-py cannot see).

``lat_ns_avg`` / ``lat_ns_tot``: 2.6 sums, over the calls of the stream's task, the time between its
wake-up and its run (measured under profiling only). Here a call woken by one of its sockets was
woken when the loop's epoll (engine/fdpoll.py) reported that socket: while profiling is on the
dispatcher stamps each batch of events (``loop.event_ns``) and the call adds the time from that
stamp to its start; a call woken by a queue slot was woken when the slot was handed to it
(``wake()``). Timer calls, and the calls of a loop without that epoll (plain asyncio), count no
latency: nothing tells when they became due.
"""

from __future__ import annotations

from time import monotonic_ns, thread_time_ns
from typing import Any

from haproxy_py.engine.conn import Conn
from haproxy_py.samples.fetches import TASK_PROF_USED as USED

#: the process's profiling settings, as ``show profiling`` reports them and ``set profiling``
#: changes them (the engine puts its ``state.cli_profiling`` dict here at start)
STATE: dict[str, str] = {"tasks": "auto-off"}

__all__ = ["STATE", "USED", "ProfConn", "TaskProf", "start", "watch_polls"]


class TaskProf:
    """The counters of one stream (an HTTP transaction, or a TCP session)."""

    __slots__ = ("calls", "cpu_ns", "lat_ns", "wake_ns", "loop", "t0")

    def __init__(self, loop: Any = None) -> None:
        self.calls = 0
        self.cpu_ns = 0
        #: the wake-up-to-run delays of the calls, summed (profiling on only)
        self.lat_ns = 0
        #: when the stream was woken outside of a poll's events (a queue slot handed), else 0
        self.wake_ns = 0
        #: the event loop, whose ``event_ns`` tells when the events being dispatched were polled
        self.loop = loop
        #: during a timed call: the thread CPU time up to which it is counted in ``cpu_ns``
        self.t0 = 0

    def reset(self) -> None:
        self.calls = 0
        self.cpu_ns = 0
        self.lat_ns = 0

    def wake(self) -> None:
        """The stream is woken now and will run from the loop later (a queue slot handed to it)."""
        if STATE.get("tasks") == "on":
            self.wake_ns = monotonic_ns()

    def run(self, fn: Any, *args: Any) -> Any:
        """One call into the stream: counted, and timed while profiling is on."""
        self.calls += 1
        if STATE.get("tasks") != "on":
            if self.wake_ns:
                self.wake_ns = 0
            return fn(*args)
        woke = self.wake_ns
        if woke:
            self.wake_ns = 0
        else:
            woke = getattr(self.loop, "event_ns", 0)
        if woke:
            self.lat_ns += max(0, monotonic_ns() - woke)
        now = thread_time_ns()
        outer = self.t0
        if outer:  # a call within a call: the outer one's time so far, then this one's
            self.cpu_ns += now - outer
        self.t0 = now
        try:
            return fn(*args)
        finally:
            end = thread_time_ns()
            self.cpu_ns += end - self.t0
            self.t0 = end if outer else 0

    def settle(self) -> None:
        """The time of the call under way counted so far (the log line, which 2.6 writes once
        the call that ends the stream has been timed); the rest of the call counts from now."""
        t0 = self.t0
        if t0:
            now = thread_time_ns()
            self.cpu_ns += now - t0
            self.t0 = now


def start(state: Any, setting: str) -> None:
    """At engine start: the configured ``profiling.tasks`` becomes the process's setting."""
    prof = getattr(state, "cli_profiling", None)
    if prof is None:
        prof = state.cli_profiling = {}
    prof.setdefault("tasks", {"auto": "auto-off"}.get(setting, setting))
    global STATE
    STATE = prof


def watch_polls(loop: Any) -> None:
    """At engine start, for a configuration using the fetches: the loop's dispatcher of readiness
    events (engine/fdpoll.py) stamps each batch while profiling is on (``lat_ns_*``)."""
    if hasattr(loop, "event_ns"):
        loop.prof = STATE


class ProfConn(Conn):
    """A ``Conn`` whose loop callbacks are calls of its session's task (``TaskProf``)."""

    __slots__ = ("tprof",)

    def __init__(self, loop: Any, sock: Any, tprof: TaskProf, owner: Any = None) -> None:
        super().__init__(loop, sock, owner)
        self.tprof = tprof
        if tprof.loop is None:
            tprof.loop = loop

    def _readable(self) -> None:
        self.tprof.run(Conn._readable, self)

    __call__ = _readable

    def _writable(self) -> None:
        self.tprof.run(Conn._writable, self)
