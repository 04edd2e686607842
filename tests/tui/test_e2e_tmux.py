"""The monitor end to end in a real terminal (tmux), against a running proxy given as a parameter:
Debian's HAProxy 2.6 and haproxy-py. The TUI (``python -m haproxy_py top SOCKET``) must show the
servers with their traffic; a drain done with the keys (``j`` to the second server, ``d``, ``y``)
must be visible in ``show servers state`` and stop new requests to that server; ``r`` brings it back.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import get, require_haproxy
from tests.integration.stats_client import socat_cli as cli
from tests.integration.stats_client import two_server_proxy
from tests.integration.tmux import Tmux

ROOT = Path(__file__).resolve().parents[2]


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
    require_haproxy(request.param, "the HAProxy half")
    with two_server_proxy(request.param, warmup=4) as lab:
        env = f"PYTHONPATH={ROOT} TEXTUAL_ANIMATIONS=none"
        t = Tmux(f"cd {ROOT} && env {env} {sys.executable} -m haproxy_py top {lab['sock']} -i 0.5; sleep 60",
                 prefix="hpy-tui", wait_timeout=30.0)  # the app's start on a loaded machine
        try:
            yield {"which": request.param, "tmux": t, **lab}
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


def cell(screen: str, backend: str, server: str, label: str) -> str:
    """The value under a right-aligned column label, on the row of backend/server."""
    lines = screen.splitlines()
    # KeyError (a "not yet" for Tmux.wait) while the table is not drawn; a StopIteration would
    # escape the wait
    head = next((ln for ln in lines if ln.split()[:3] == ["Backend", "Server", "Status"]), None)
    if head is None:
        raise KeyError("no server table on the screen")
    end = head.index(f" {label}") + 1 + len(label)
    for ln in lines:
        w = ln.split()
        if len(w) >= 2 and w[0] == backend and w[1] == server:
            return ln[:end].split()[-1]
    raise KeyError(server)


def test_views_and_detail_pane_with_the_same_keys(lab) -> None:  # type: ignore[no-untyped-def]
    """Keys 3 (HTTP), 2 (traffic), 4 (errors), 5 (timings), i (detail) on both proxies."""
    t = lab["tmux"]
    t.wait(lambda s: server_row(s, "app", "app1") and server_row(s, "app", "app2"))
    t.keys("3")
    # warmup: 4 requests, 2 per server (roundrobin), all 200 (a frontend's counters may land
    # a refresh later, when its stream ends: wait for them rather than read the first screen)
    s = t.wait(
        lambda s: "[3] http" in s
        and "5xx/s" in s
        and cell(s, "app", "app1", "2xx") == "2"
        and cell(s, "app", "app2", "2xx") == "2"
        and cell(s, "app", "BACKEND", "2xx") == "4"
        and cell(s, "main", "FRONTEND", "2xx") == "4"
    )
    assert cell(s, "app", "BACKEND", "5xx") == "0"
    for _ in range(6):
        assert get(lab["fe"], "/")[0] == 200
    t.wait(lambda s: cell(s, "app", "BACKEND", "2xx") == "10" and cell(s, "app", "app1", "2xx") == "5")
    t.keys("2")
    # the view is drawn at once from the last reading, its counts at the next refresh (-i 0.5):
    # wait for the screen that has them (a wrong count times out, with the screen)
    t.wait(lambda s: "[2] traffic" in s and "Bytes in" in s and cell(s, "app", "app1", "Total") == "5")
    t.keys("4")
    t.wait(lambda s: "[4] errors" in s and "ECONN" in s and cell(s, "app", "app1", "ECONN") == "0")
    t.keys("5")
    t.wait(lambda s: "[5] timings" in s and "Resp avg" in s)
    t.keys("1")
    t.wait(lambda s: "[1] status" in s)
    t.keys("j", "i")  # detail of app/app2
    port = lab["bes"][1].port
    t.wait(lambda s: "app/app2" in s and f"127.0.0.1:{port}" in s and "user 1  effective 1  configured 1" in s)
