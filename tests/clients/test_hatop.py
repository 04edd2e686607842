"""hatop (Debian package, curses) in tmux against haproxy-py, with real traffic.

hatop runs in a detached tmux session on a private tmux server (``tmux -L NAME``, killed by the test);
the test reads the screen with ``capture-pane`` and presses hatop's hotkeys with ``send-keys``. The
server rows are also compared with what hatop shows for Debian's HAProxy after the same traffic.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator

import pytest

from tests.integration.harness import get
from tests.integration.stats_client import socat_cli as cli
from tests.integration.stats_client import two_server_proxy
from tests.integration.tmux import Tmux

HATOP = shutil.which("hatop") or "/usr/bin/hatop"


def row(screen: str, name: str) -> list[str]:
    for line in screen.splitlines():
        if line.startswith(name + " "):
            return line.split()
    raise AssertionError(f"no row {name!r} on screen:\n{screen}")


STOT = -1  # last column in the STATUS view (NAME W STATUS CHECK ACT BCK QCUR QMAX SCUR SMAX SLIM STOT)


@pytest.fixture
def setup() -> Iterator[Callable[[str], dict]]:  # type: ignore[type-arg]
    assert os.path.exists(HATOP), "hatop (Debian package) is required"
    with contextlib.ExitStack() as stack:

        def start(which: str) -> dict:  # type: ignore[type-arg]
            lab = stack.enter_context(two_server_proxy(which, warmup=6))
            t = Tmux(f"{HATOP} -s {lab['sock']} -i 1; sleep 60", 160, 40, prefix="hpy-test", wait_timeout=10.0,
                     tolerate=(AssertionError, IndexError, ValueError))  # a row hidden by hatop's "updating..."
            stack.callback(t.close)
            t.wait(lambda s: bool(row(s, "BACKEND") and row(s, "app2")))
            return {"tmux": t, **lab}

        yield start


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
    t.keys("F7")  # weight +1: hatop sends 'set weight app/app2 2' (its weight column plus one)
    t.wait(lambda s: cli(sock, "get weight app/app2") == "2 (initial 1)\n\n")
    # in maintenance 'show stat' keeps the weight of before, as 2.6.12 does: hatop still shows 1
    t.wait(lambda s: "app2 " in s and row(s, "app2")[1] == "1")
    t.keys("F4")  # back to the initial weight
    t.wait(lambda s: cli(sock, "get weight app/app2") == "1 (initial 1)\n\n")
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
