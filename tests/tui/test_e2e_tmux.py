"""The monitor end to end in a real terminal (tmux), against a running proxy given as a parameter:
Debian's HAProxy 2.6 and haproxy-py. The TUI (``python -m haproxy_py top SOCKET``) must show the
servers with their traffic; a drain done with the keys (``j`` to the second server, ``d``, ``y``)
must be visible in ``show servers state`` and stop new requests to that server; ``r`` brings it back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.harness import get, http_backends, run_proxy

ROOT = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux") or "/usr/bin/tmux"
SOCAT = shutil.which("socat") or "/usr/bin/socat"

CFG = """
global
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    balance roundrobin
    server app1 127.0.0.1:{p1}
    server app2 127.0.0.1:{p2}
"""


class Tmux:
    """One detached session on a private tmux server (``-L``), killed by ``close``."""

    def __init__(self, command: str, width: int = 120, height: int = 30) -> None:
        assert os.path.exists(TMUX), "tmux is required"
        self.name = f"hpy-tui-{os.getpid()}-{time.monotonic_ns()}"
        subprocess.run([TMUX, "-L", self.name, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x",
                        str(width), "-y", str(height), command], check=True, timeout=10)

    def screen(self) -> str:
        return subprocess.run([TMUX, "-L", self.name, "capture-pane", "-p", "-t", "t"], capture_output=True,
                              text=True, timeout=10).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([TMUX, "-L", self.name, "send-keys", "-t", "t", *keys], check=True, timeout=10)

    def wait(self, pred: Callable[[str], bool], timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            try:
                if pred(s):
                    return s
            except (IndexError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never matched; last screen:\n{s}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.name, "kill-server"], capture_output=True, timeout=10)


def cli(sock: str, cmd: str) -> str:
    return subprocess.run([SOCAT, "-t2", "-", f"UNIX-CONNECT:{sock}"], input=(cmd + "\n").encode(),
                          capture_output=True, timeout=10).stdout.decode()


def server_row(screen: str, backend: str, server: str) -> list[str]:
    for line in screen.splitlines():
        w = line.split()
        if len(w) >= 3 and w[0] == backend and w[1] == server:
            return w
    raise KeyError(server)


def admin_state(sock: str, server: str) -> str:
    for line in cli(sock, "show servers state app").splitlines():
        w = line.split()
        if len(w) > 6 and w[3] == server:
            return w[6]
    raise AssertionError(f"{server} not in show servers state")


@pytest.fixture(params=["haproxy", "ours"])
def lab(request) -> Iterator[dict]:  # type: ignore[no-untyped-def,type-arg]
    if request.param == "haproxy" and not os.path.exists(shutil.which("haproxy") or "/usr/sbin/haproxy"):
        pytest.fail("Debian's haproxy is required for the HAProxy half")
    with http_backends("app1", "app2") as bes:
        fe = free_port()
        with run_proxy(CFG.format(fe=fe, p1=bes[0].port, p2=bes[1].port), wait_ports=[fe],
                       which=request.param) as pp:
            sock = str(pp.workdir / "admin.sock")
            deadline = time.monotonic() + 10
            while not os.path.exists(sock):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            for _ in range(4):
                assert get(fe, "/")[0] == 200
            env = f"PYTHONPATH={ROOT} TEXTUAL_ANIMATIONS=none"
            t = Tmux(f"cd {ROOT} && env {env} {sys.executable} -m haproxy_py top {sock} -i 0.5; sleep 60")
            try:
                yield {"which": request.param, "fe": fe, "sock": sock, "bes": bes, "tmux": t, "pid": pp.pid}
            finally:
                t.close()


def test_tui_shows_servers_and_drains_with_keys(lab) -> None:  # type: ignore[no-untyped-def]
    t, sock = lab["tmux"], lab["sock"]
    s = t.wait(lambda s: server_row(s, "app", "app1") and server_row(s, "app", "app2"))
    assert "HAProxy 2.6." in s and f"pid {lab['pid']}" in s
    assert "level admin" in s
    for name in ("app1", "app2"):
        r = server_row(s, "app", name)
        assert r[2:5] == ["no", "check", "1/1"], r
    # proxies table: the frontend and the backend
    assert any(ln.split()[:3] == ["main", "FE", "OPEN"] for ln in s.splitlines() if ln.strip())
    assert any(ln.split()[:3] == ["app", "BE", "UP"] for ln in s.splitlines() if ln.strip())

    t.keys("j")  # second server
    t.keys("d")
    t.wait(lambda s: "Drain server app/app2?" in s)
    t.keys("y")
    t.wait(lambda s: server_row(s, "app", "app2")[2] == "DRAIN")
    assert admin_state(sock, "app2") == "8"  # FDRAIN
    assert admin_state(sock, "app1") == "0"
    before = [len(b.requests) for b in lab["bes"]]
    for _ in range(4):
        assert get(lab["fe"], "/")[0] == 200
    after = [len(b.requests) for b in lab["bes"]]
    assert (after[0] - before[0], after[1] - before[1]) == (4, 0)

    t.keys("r")  # ready again (no confirmation)
    t.wait(lambda s: server_row(s, "app", "app2")[2:4] == ["no", "check"])
    assert admin_state(sock, "app2") == "0"
    for _ in range(4):
        assert get(lab["fe"], "/")[0] == 200
    assert len(lab["bes"][1].requests) - after[1] == 2
