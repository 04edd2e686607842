"""hatop (Debian package, curses) in tmux against haproxy-py, with real traffic.

hatop runs in a detached tmux session on a private tmux server (``tmux -L NAME``, killed by the test);
the test reads the screen with ``capture-pane`` and presses hatop's hotkeys with ``send-keys``. The
server rows are also compared with what hatop shows for Debian's HAProxy after the same traffic.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import free_port
from tests.integration.harness import get, http_backends, run_proxy

HATOP = shutil.which("hatop") or "/usr/bin/hatop"
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
    """One detached session on a private tmux server."""

    def __init__(self, command: str, width: int = 160, height: int = 40) -> None:
        assert os.path.exists(TMUX), "tmux is required"
        self.name = f"hpy-test-{os.getpid()}-{time.monotonic_ns()}"
        subprocess.run([TMUX, "-L", self.name, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x",
                        str(width), "-y", str(height), command], check=True, timeout=10)

    def screen(self, escapes: bool = False) -> str:
        cmd = [TMUX, "-L", self.name, "capture-pane", "-p", "-t", "t"] + (["-e"] if escapes else [])
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([TMUX, "-L", self.name, "send-keys", "-t", "t", *keys], check=True, timeout=10)

    def wait(self, pred: Callable[[str], bool], timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            try:
                if pred(s):
                    return s
            except (AssertionError, IndexError, ValueError):  # a row hidden by hatop's "updating..."
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never matched; last screen:\n{s}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.name, "kill-server"], capture_output=True, timeout=10)


def cli(sock: str, cmd: str) -> str:
    return subprocess.run([SOCAT, "-t2", "-", f"UNIX-CONNECT:{sock}"], input=(cmd + "\n").encode(),
                          capture_output=True, timeout=10).stdout.decode()


def row(screen: str, name: str) -> list[str]:
    for line in screen.splitlines():
        if line.startswith(name + " "):
            return line.split()
    raise AssertionError(f"no row {name!r} on screen:\n{screen}")


STOT = -1  # last column in the STATUS view (NAME W STATUS CHECK ACT BCK QCUR QMAX SCUR SMAX SLIM STOT)


@pytest.fixture
def setup() -> Iterator[Callable[[str], dict]]:  # type: ignore[type-arg]
    assert os.path.exists(HATOP), "hatop (Debian package) is required"
    stack: list = []

    def start(which: str) -> dict:  # type: ignore[type-arg]
        bes_cm = http_backends("app1", "app2")
        bes = bes_cm.__enter__()
        stack.append(bes_cm)
        fe = free_port()
        pp_cm = run_proxy(CFG.format(fe=fe, p1=bes[0].port, p2=bes[1].port), wait_ports=[fe], which=which)
        pp = pp_cm.__enter__()
        stack.append(pp_cm)
        sock = str(pp.workdir / "admin.sock")
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        for _ in range(6):
            assert get(fe, "/")[0] == 200
        t = Tmux(f"{HATOP} -s {sock} -i 1; sleep 60")
        stack.append(t)
        t.wait(lambda s: bool(row(s, "BACKEND") and row(s, "app2")))
        return {"fe": fe, "sock": sock, "tmux": t, "bes": bes, "pid": pp.pid}

    yield start
    for x in reversed(stack):
        if isinstance(x, Tmux):
            x.close()
        else:
            x.__exit__(None, None, None)


def test_hatop_shows_haproxy_py(setup) -> None:  # type: ignore[no-untyped-def]
    lab = setup("ours")
    t = lab["tmux"]
    s = t.wait(lambda s: bool(row(s, "app1") and row(s, "app2") and row(s, "BACKEND")))
    assert "HATop version" in s
    assert re.search(r"HAProxy Version: 2\.6\.\d+", s), s
    assert f"PID: {lab['pid']} (proc 1)" in s
    assert re.search(r"Proxies:\s+2\s+Services:\s+4", s), s
    assert ">>> main" in s and ">>> app" in s
    assert row(s, "FRONTEND")[2] == "OPEN"
    assert row(s, "BACKEND")[2] == "UP"
    a1, a2 = row(s, "app1"), row(s, "app2")
    assert a1[1] == "1" and a2[1] == "1"  # weights
    assert int(a1[STOT]) + int(a2[STOT]) == 6 and int(row(s, "BACKEND")[STOT]) == 6
    # more traffic shows up at the next refresh (-i 1)
    for _ in range(4):
        assert get(lab["fe"], "/")[0] == 200
    s = t.wait(lambda s: row(s, "BACKEND")[STOT] == "10")
    assert int(row(s, "app1")[STOT]) == 5 and int(row(s, "app2")[STOT]) == 5


def test_hatop_hotkeys_change_haproxy_py(setup) -> None:  # type: ignore[no-untyped-def]
    lab = setup("ours")
    t, sock = lab["tmux"], lab["sock"]
    # the cursor starts on ">>> main"; rows: FRONTEND, blank, ">>> app", app1, app2
    t.keys("Down", "Down", "Down", "Down", "Down")
    t.wait(lambda s: "\x1b[7mapp2" in t.screen(escapes=True))
    t.keys("F10")  # disable server (maintenance)
    s = t.wait(lambda s: row(s, "app2")[2] == "MAINT")
    state = cli(sock, "show servers state app").splitlines()
    app2 = [ln.split() for ln in state if ln.startswith("3 app 2 app2 ")][0]
    assert app2[6] == "1"  # srv_admin_state FMAINT
    before = len(lab["bes"][1].requests)
    for _ in range(4):
        assert get(lab["fe"], "/")[0] == 200
    assert len(lab["bes"][1].requests) == before
    t.keys("F7")  # weight +1
    t.wait(lambda s: row(s, "app2")[1] == "2")
    assert cli(sock, "get weight app/app2") == "2 (initial 1)\n\n"
    t.keys("F4")  # back to the initial weight
    t.wait(lambda s: row(s, "app2")[1] == "1")
    t.keys("F9")  # enable server
    t.wait(lambda s: row(s, "app2")[2] == "-")
    assert cli(sock, "show servers state app").count(" 2 0 1 1 ") == 2  # both RUNNING, admin 0, weights 1/1
    for _ in range(4):
        assert get(lab["fe"], "/")[0] == 200
    assert len(lab["bes"][1].requests) == before + 2
    # hatop's CLI view logged the commands it sent
    t.keys("5")
    s = t.wait(lambda s: "disable server app/app2" in s)
    assert "enable server app/app2" in s


def test_hatop_server_rows_match_haproxy(setup, haproxy_bin) -> None:  # type: ignore[no-untyped-def]
    rows = {}
    for which in ("haproxy", "ours"):
        lab = setup(which)
        s = lab["tmux"].wait(lambda s: row(s, "BACKEND")[STOT] == "6")
        # FRONTEND/BACKEND have no CHECK cell: [:8] ends with SCUR (SMAX depends on probe timing)
        rows[which] = [row(s, "app1"), row(s, "app2"), row(s, "FRONTEND")[:8], row(s, "BACKEND")[:8]]
    assert rows["ours"] == rows["haproxy"]
