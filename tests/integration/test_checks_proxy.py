"""Health checks through the whole proxy (engine + checker + runtime Backend + logs), and the same
scenario run by Debian's HAProxy: the sequence of state-change log lines must be identical
(durations masked), and no client request may reach a server while it is DOWN."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from haproxy_py.checks.compare import diff_check_logs
from tests.integration.harness import HttpBackend, free_port, get, run_proxy
from tests.integration.stats_client import stats_cli

INTER = 200  # ms


class LogSink:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._stop = False
        self.sock.settimeout(0.2)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                self.lines.append(self.sock.recv(65536).decode("latin-1"))
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop = True
        self.t.join(1)
        self.sock.close()


def _flip_backend(name: str) -> HttpBackend:
    """/health answers with ``be.health_status``; other paths answer ``be.status``."""
    be = HttpBackend(name)
    be.health_status = 200  # type: ignore[attr-defined]

    def behaviour(rec):  # type: ignore[no-untyped-def]
        if rec.start.split()[1] == b"/health":
            return be.health_status, [], b"h\n"  # type: ignore[attr-defined]
        return be.status, [], f"{name}\n".encode()

    be.behaviour = behaviour
    return be.start()


def _cfg(fe: int, log_port: int, a: int, b: int, extra_server: str = "") -> str:
    return f"""
global
    log 127.0.0.1:{log_port} local2
defaults
    mode http
    log global
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
    timeout check 500ms
frontend fe
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    option httpchk GET /health
    server s1 127.0.0.1:{a} check inter {INTER} fall 2 rise 2 {extra_server}
    server s2 127.0.0.1:{b} check inter {INTER} fall 2 rise 2
"""


def _wait(pred, timeout: float) -> float:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def _scenario(which: str) -> tuple[list[str], dict[str, float]]:
    """s1 answers 500 to checks, then 200 again, then its process stops, then it comes back."""
    sink = LogSink()
    s1, s2 = _flip_backend("s1"), _flip_backend("s2")
    fe = free_port()
    timings: dict[str, float] = {}
    try:
        with run_proxy(_cfg(fe, sink.port, s1.port, s2.port), wait_ports=[fe], which=which):
            time.sleep(3 * INTER / 1000)
            s1.health_status = 500  # type: ignore[attr-defined]
            timings["down_l7"] = _wait(lambda: any("s1 is DOWN" in x for x in sink.lines), 3)
            n_before = len(s1.requests)
            names = [get(fe, f"/r{i}")[1]["x-server"] for i in range(6)]
            assert names == ["s2"] * 6  # nothing reaches s1 while it is DOWN
            assert len([r for r in s1.requests[n_before:] if r.start.split()[1] != b"/health"]) == 0
            s1.health_status = 200  # type: ignore[attr-defined]
            timings["up"] = _wait(lambda: any("s1 is UP" in x for x in sink.lines), 3)
            time.sleep(2 * INTER / 1000)
            port = s1.port
            s1.stop()  # connection refused from now on
            timings["down_l4"] = _wait(lambda: sum("s1 is DOWN" in x for x in sink.lines) >= 2, 3)
            s1 = HttpBackend("s1", port=port)
            s1.health_status = 200  # type: ignore[attr-defined]
            s1.behaviour = lambda rec: (200, [], b"s1\n")
            s1.start()
            timings["up2"] = _wait(lambda: sum("s1 is UP" in x for x in sink.lines) >= 2, 3)
            time.sleep(0.3)
    finally:
        s1.stop()
        s2.stop()
        sink.close()
    return sink.lines, timings


def test_checks_state_changes_match_haproxy() -> None:
    ours, t_ours = _scenario("ours")
    theirs, _ = _scenario("haproxy")
    assert diff_check_logs(ours, theirs) == [], "\n".join(ours)
    # fall 2 / rise 2 at inter 200 ms: transitions within a few intervals (the first check of a
    # transition may be up to one interval away)
    assert t_ours["down_l7"] < 1.5 and t_ours["up"] < 1.5 and t_ours["down_l4"] < 1.5


def test_observe_layer7_marks_down_on_errors() -> None:
    sink = LogSink()
    s1, s2 = _flip_backend("s1"), _flip_backend("s2")
    s1.status = 503
    fe = free_port()
    try:
        cfg = _cfg(fe, sink.port, s1.port, s2.port,
                   extra_server="observe layer7 error-limit 2 on-error mark-down")
        with run_proxy(cfg, wait_ports=[fe]):
            time.sleep(0.3)
            for i in range(6):
                get(fe, f"/x{i}")
            _wait(lambda: any("s1 is DOWN, reason: Health analyze" in x for x in sink.lines), 2)
            assert {get(fe, "/after")[1]["x-server"] for _ in range(4)} == {"s2"}
    finally:
        s1.stop()
        s2.stop()
        sink.close()


@pytest.mark.parametrize("which", ["ours"])
def test_slowstart_ramps_weight(which: str) -> None:
    """After coming back, a server with `slowstart 2s` shows a growing weight in `show stat`."""
    sink = LogSink()
    s1, s2 = _flip_backend("s1"), _flip_backend("s2")
    fe = free_port()
    try:
        cfg = _cfg(fe, sink.port, s1.port, s2.port, extra_server="slowstart 2s weight 16").replace(
            "global\n", "global\n    stats socket @DIR@/s.sock level admin\n", 1)
        with run_proxy(cfg, wait_ports=[fe], which=which) as proxy:
            sock = str(proxy.workdir / "s.sock")

            def weight() -> int:
                row = stats_cli(sock, "show stat app 4 1").splitlines()[1].split(",")
                return int(row[18])

            s1.health_status = 500  # type: ignore[attr-defined]
            _wait(lambda: any("s1 is DOWN" in x for x in sink.lines), 3)
            s1.health_status = 200  # type: ignore[attr-defined]
            _wait(lambda: any("s1 is UP" in x for x in sink.lines), 3)
            # slowstart 2s ramps in one-second ticks; a loaded machine may delay a tick, so sample
            # until the full weight is reached (bounded) rather than at fixed instants
            w = [weight()]
            deadline = time.monotonic() + 6
            while w[-1] < 16 and time.monotonic() < deadline:
                time.sleep(0.25)
                w.append(weight())
            assert w[0] < 16 and w[-1] == 16 and w == sorted(w), w
    finally:
        s1.stop()
        s2.stop()
        sink.close()
