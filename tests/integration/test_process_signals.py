"""Signals as HAProxy 2.6: SIGUSR1 soft stop (+ hard-stop-after), SIGTERM/SIGINT hard stop,
SIGTTOU/SIGTTIN pause/resume, SIGHUP server report (compared with Debian's haproxy)."""

from __future__ import annotations

import re
import signal
import socket
import threading
import time

import pytest

from tests.conftest import free_port
from tests.integration.harness import FE_TO_BE, get, http_backends, http_defaults, run_proxy

CFG = """global
    stats socket @DIR@/stats.sock level admin
{extra}
""" + http_defaults("10s") + FE_TO_BE + """backend be
    server s1 127.0.0.1:{p1}
    server s2 127.0.0.1:{p2} backup
"""


def _bg_get(port: int, out: list) -> threading.Thread:
    def run() -> None:
        try:
            out.append(get(port, timeout=15)[0])
        except Exception as e:  # noqa: BLE001 - recorded for the assertion
            out.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_sigusr1_finishes_sessions_then_exits() -> None:
    port = free_port()
    with http_backends("s1", "s2") as (b1, b2):
        b1.delay = 1.5
        with run_proxy(CFG.format(extra="", port=port, p1=b1.port, p2=b2.port), wait_ports=[port]) as pp:
            out: list = []
            t = _bg_get(port, out)
            deadline = time.monotonic() + 5
            while not b1.requests and time.monotonic() < deadline:
                time.sleep(0.02)
            assert b1.requests, "the slow request did not reach the server"
            pp.proc.send_signal(signal.SIGUSR1)
            time.sleep(0.3)
            assert pp.proc.poll() is None  # still finishing the in-flight request
            assert _refused(port)  # no longer listening
            t.join(10)
            assert out == [200]  # the in-flight request completed
            assert pp.proc.wait(timeout=10) == 0
            err = pp.stderr_text()
            assert re.search(r"\[WARNING\]  \(\d+\) : Proxy fe stopped \(cumulated conns: FE: \d+, BE: \d+\)\.", err)


def test_hard_stop_after_bounds_the_soft_stop() -> None:
    port = free_port()
    with http_backends("s1", "s2") as (b1, b2):
        b1.delay = 8
        cfg = CFG.format(extra="    hard-stop-after 1s", port=port, p1=b1.port, p2=b2.port)
        with run_proxy(cfg, wait_ports=[port]) as pp:
            out: list = []
            t = _bg_get(port, out)
            deadline = time.monotonic() + 5
            while not b1.requests and time.monotonic() < deadline:
                time.sleep(0.02)
            t0 = time.monotonic()
            pp.proc.send_signal(signal.SIGUSR1)
            pp.proc.wait(timeout=6)
            assert time.monotonic() - t0 < 4
            t.join(10)
            assert out and out[0] != 200  # the session was killed, not answered


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_hard_stop_signals_kill_sessions_and_die_like_haproxy(sig: int) -> None:
    port = free_port()
    with http_backends("s1", "s2") as (b1, b2):
        b1.delay = 8
        with run_proxy(CFG.format(extra="", port=port, p1=b1.port, p2=b2.port), wait_ports=[port]) as pp:
            out: list = []
            t = _bg_get(port, out)
            deadline = time.monotonic() + 5
            while not b1.requests and time.monotonic() < deadline:
                time.sleep(0.02)
            t0 = time.monotonic()
            pp.proc.send_signal(sig)
            rc = pp.proc.wait(timeout=5)
            assert time.monotonic() - t0 < 3
            assert rc == -sig  # Debian's haproxy 2.6 ends killed by the signal too
            t.join(10)
            assert out and out[0] != 200


def test_sigttou_pauses_and_sigttin_resumes() -> None:
    port = free_port()
    with http_backends("s1", "s2") as (b1, b2):
        with run_proxy(CFG.format(extra="", port=port, p1=b1.port, p2=b2.port), wait_ports=[port]) as pp:
            assert get(port)[0] == 200
            pp.proc.send_signal(signal.SIGTTOU)
            time.sleep(0.3)
            out: list = []
            t = _bg_get(port, out)
            time.sleep(0.8)
            assert out == []  # waits in the kernel backlog, not answered, not refused
            pp.proc.send_signal(signal.SIGTTIN)
            t.join(10)
            assert out == [200]
            err = pp.stderr_text()
            assert "Paused frontend fe." in err and "Resumed frontend fe." in err
            assert err.index("Paused frontend fe.") < err.index("Resumed frontend fe.")


def _sighup_lines(text: str) -> list[str]:
    out = []
    for ln in text.splitlines():
        if "SIGHUP" not in ln or "HTTPCLIENT" in ln:
            continue
        out.append(re.sub(r"\(\d+\)", "(PID)", ln))
    return out


def test_sighup_report_matches_haproxy(haproxy_bin: str) -> None:
    reports = {}
    with http_backends("s1", "s2") as (b1, b2):
        for which in ("ours", "haproxy"):
            port = free_port()
            with run_proxy(CFG.format(extra="", port=port, p1=b1.port, p2=b2.port), wait_ports=[port],
                           which=which) as pp:
                for _ in range(3):
                    assert get(port)[0] == 200
                # a client has its answer a moment before the proxy ends the session: let both
                # proxies settle (asking their stats socket would change what GLOBAL reports)
                time.sleep(0.5)
                pp.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 5
                while "Proxy be has" not in pp.stderr_text() and time.monotonic() < deadline:
                    time.sleep(0.05)
                reports[which] = _sighup_lines(pp.stderr_text())
    assert reports["ours"], "no SIGHUP report"
    assert reports["ours"] == reports["haproxy"]
    assert any("Server be/s1 is UP. Conn: 0 act, 0 pend, 3 tot." in ln for ln in reports["ours"])


def test_stop_by_pid_only(tmp_path) -> None:  # noqa: ANN001 - pytest fixture
    """-st PID terminates exactly the process named (the harness never kills by name)."""
    port = free_port()
    with http_backends("s1", "s2") as (b1, b2):
        cfg = CFG.format(extra="", port=port, p1=b1.port, p2=b2.port)
        with run_proxy(cfg, wait_ports=[port]) as old:
            port2 = free_port()
            cfg2 = cfg.replace(f"127.0.0.1:{port}", f"127.0.0.1:{port2}").replace("@DIR@/stats.sock",
                                                                                 f"{tmp_path}/s2.sock")
            with run_proxy(cfg2, wait_ports=[port2], extra_args=["-st", str(old.pid)]) as new:
                assert old.proc.wait(timeout=5) == -signal.SIGTERM
                assert new.proc.poll() is None
                assert get(port2)[0] == 200
