"""End to end: the monitor in a real terminal (tmux) drains a server of a real proxy.

The proxy under test is a parameter: Debian's HAProxy 2.6 now; the integrator adds
haproxy-py to ``PROXIES`` (same config, same socket) once the engine runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.integration.harness import HTTP_DEFAULTS, stop_process
from tests.integration.stats_client import stats_cli

pytestmark = [pytest.mark.slow]

# name -> (fixture giving the executable or None, argv builder taking (exe, cfg path))
PROXIES: dict[str, Callable[[pytest.FixtureRequest, str], list[str]]] = {
    "haproxy": lambda req, cfg: [req.getfixturevalue("haproxy_bin"), "-db", "-f", cfg],
    # "haproxy-py": lambda req, cfg: [sys.executable, "-m", "haproxy_py", "-db", "-f", cfg],
}

BACKEND_SRC = r"""
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

NAME = sys.argv[1].encode()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(NAME)))
        self.end_headers()
        self.wfile.write(NAME)

    def log_message(self, *a):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[2])), H).serve_forever()
"""

CFG = """\
global
    stats socket {sock} mode 600 level admin
    stats timeout 10s

""" + HTTP_DEFAULTS + """
frontend fe
    bind 127.0.0.1:{port}
    default_backend be

backend be
    balance roundrobin
    server s1 127.0.0.1:{p1}
    server s2 127.0.0.1:{p2}
"""


def _get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        return r.read().decode()


def _wait(pred: Callable[[], bool], timeout: float, what: str, show: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last_exc = exc
        time.sleep(0.1)
    extra = f"\nscreen:\n{show()}" if show is not None else ""
    raise AssertionError(f"timed out waiting for {what} ({last_exc!r}){extra}")


@pytest.fixture(params=sorted(PROXIES))
def proxy(request: pytest.FixtureRequest, sockdir: Path) -> Iterator[dict]:
    """A running proxy with two tiny HTTP backends on loopback and an admin stats socket."""
    port, p1, p2 = free_port(), free_port(), free_port()
    sock = str(sockdir / "admin.sock")
    cfg = sockdir / "haproxy.cfg"
    cfg.write_text(CFG.format(sock=sock, port=port, p1=p1, p2=p2))
    backend_py = sockdir / "backend.py"
    backend_py.write_text(BACKEND_SRC)
    procs: list[subprocess.Popen] = []
    state: dict = {"sock": sock, "port": port, "dir": sockdir, "proc": None}
    try:
        for name, p in (("s1", p1), ("s2", p2)):
            procs.append(subprocess.Popen([sys.executable, str(backend_py), name, str(p)]))
        argv = PROXIES[request.param](request, str(cfg))

        def start() -> None:
            with open(sockdir / "proxy.log", "ab") as log:
                state["proc"] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
            _wait(lambda: "Name:" in stats_cli(sock, "show info"), 10, "the stats socket")

        def stop() -> None:
            if state["proc"] is not None:
                stop_process(state["proc"])
                state["proc"] = None

        state["start"], state["stop"] = start, stop
        start()
        _wait(lambda: {_get(port) for _ in range(4)} == {"s1", "s2"}, 10, "both backends serving")
        yield state
    finally:
        if state["proc"] is not None:
            stop_process(state["proc"])
        for proc in reversed(procs):
            stop_process(proc)


@pytest.fixture
def tmux(sockdir: Path) -> Iterator[Callable[..., str]]:
    """Run tmux commands on a private tmux server; the server is killed at the end."""
    exe = shutil.which("tmux")
    if exe is None:
        pytest.fail("tmux is required for the end-to-end TUI test")
    name = f"tui-e2e-{os.getpid()}-{sockdir.name}"
    # Something in the pytest process exports COLUMNS=80/LINES=24; tmux would hand them to the
    # monitor, whose terminal size detection prefers them to the real pane size.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}

    def run(*args: str) -> str:
        r = subprocess.run(
            [exe, "-L", name, "-f", "/dev/null", *args], capture_output=True, text=True, timeout=10, env=env
        )
        return r.stdout if r.returncode == 0 else ""

    try:
        yield run
    finally:
        subprocess.run([exe, "-L", name, "kill-server"], capture_output=True, timeout=10)


def test_drain_from_the_tui_stops_new_requests(proxy: dict, tmux: Callable[..., str]) -> None:
    sock, port = proxy["sock"], proxy["port"]
    cmd = f"cd {ROOT} && exec {sys.executable} -m tui -s {sock} -i 0.5"
    tmux("new-session", "-d", "-s", "top", "-x", "120", "-y", "30", cmd)

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "top")

    tmux("resize-window", "-t", "top", "-x", "120", "-y", "30")
    _wait(
        lambda: all(w in screen() for w in ("level admin", " s2 ", "Check", "2.6.")),
        15,
        "the monitor to show the servers on 120 columns",
        screen,
    )

    tmux("send-keys", "-t", "top", "d")
    _wait(lambda: "Drain server be/s1?" in screen(), 5, "the confirmation", screen)
    tmux("send-keys", "-t", "top", "y")

    def drained() -> bool:
        rows = [ln.split() for ln in stats_cli(sock, "show servers state be").splitlines()]
        s1 = next(r for r in rows if len(r) > 6 and r[3] == "s1")
        return int(s1[6]) & 0x08 != 0  # SRV_ADMF_DRAIN in srv_admin_state

    _wait(drained, 5, "s1 in drain according to show servers state")
    _wait(lambda: "DRAIN" in screen(), 5, "the monitor to show DRAIN", screen)
    assert {_get(port) for _ in range(10)} == {"s2"}

    tmux("send-keys", "-t", "top", "r")
    _wait(lambda: {_get(port) for _ in range(4)} == {"s1", "s2"}, 5, "s1 back in service")

    tmux("send-keys", "-t", "top", "q")
    _wait(lambda: "top" not in tmux("list-sessions", "-F", "#{session_name}"), 5, "the monitor to quit")


def test_monitor_survives_a_proxy_restart(proxy: dict, tmux: Callable[..., str]) -> None:
    sock = proxy["sock"]
    cmd = f"cd {ROOT} && exec {sys.executable} -m tui -s {sock} -i 0.3 --read-only"
    tmux("new-session", "-d", "-s", "top", "-x", "120", "-y", "30", cmd)

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "top")

    _wait(lambda: "level admin" in screen() and " s2 " in screen(), 15, "the monitor to start", screen)
    old_pid = stats_cli(sock, "show info").split("Pid: ")[1].split()[0]
    proxy["stop"]()
    _wait(
        lambda: "DISCONNECTED" in screen() and "retrying" in screen(), 5, "the disconnection to show", screen
    )
    assert " s2 " in screen()  # the last data stays on screen
    proxy["start"]()
    new_pid = stats_cli(sock, "show info").split("Pid: ")[1].split()[0]
    assert new_pid != old_pid
    _wait(lambda: f"pid {new_pid}" in screen() and "level admin" in screen(), 10, "the reconnection", screen)
    assert "DISCONNECTED" not in screen() and "reconnected" in screen()
    tmux("send-keys", "-t", "top", "q")
    _wait(lambda: "top" not in tmux("list-sessions", "-F", "#{session_name}"), 5, "the monitor to quit")
