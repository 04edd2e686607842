"""Runtime-API commands that need the engine (runtime/ops.py EngineOps) change real traffic, through a real
stats socket, for haproxy-py and, as the reference, Debian's HAProxy 2.6 with the same config and commands:

* ``shutdown frontend``: its port refuses new connections, the other frontends go on;
* ``set maxconn server``: at most N requests reach the server at once, the others wait in its queue, and a
  higher limit hands them their slot at once;
* ``set maxconn global`` / ``set maxconn frontend``: a connection over the limit is not served until one
  closes;
* ``set server addr``: requests (and the health check) go to the new address;
* ``set server check-port`` / ``check-addr``: the health check goes there (the server goes down when
  nothing answers there, up again when moved back), the traffic does not.

The same four are checked in master-worker mode (``nbthread 2``: the master replays each command in every
worker), with ``disable``/``enable frontend``, for haproxy-py only (2.6 runs threads there, not
processes).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import free_port
from tests.integration.harness import HttpBackend, get, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

CFG = """
global
    stats socket @DIR@/admin.sock mode 600 level admin
    maxconn 100
{extra_global}
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout queue 10s
frontend main
    bind 127.0.0.1:{fe}
    use_backend slow if {{ path_beg /slow }}
    use_backend moved if {{ path_beg /moved }}
    default_backend app
frontend doomed
    bind 127.0.0.1:{doomed}
    default_backend app
frontend capped
    bind 127.0.0.1:{capped}
    default_backend app
backend app
    server app1 127.0.0.1:{p1}
backend slow
    server s1 127.0.0.1:{ps}
backend moved
    server m1 127.0.0.1:{pa} check inter 200ms rise 1 fall 1
"""


def _lab(which: str, extra_global: str = "") -> Iterator[dict[str, Any]]:
    app = HttpBackend("app1").start()
    slow = HttpBackend("slow1", delay=0.4).start()
    a, b = HttpBackend("oldaddr").start(), HttpBackend("newaddr").start()
    try:
        ports = {k: free_port() for k in ("fe", "doomed", "capped")}
        cfg = CFG.format(extra_global=extra_global, p1=app.port, ps=slow.port, pa=a.port, **ports)
        with run_proxy(cfg, wait_ports=list(ports.values()), which=which) as pp:
            sock = admin_socket(pp, detail=pp.stderr_text)
            yield {"which": which, "sock": sock, "slow": slow, "old": a, "new": b, "stderr": pp.stderr_text, **ports}
    finally:
        for be in (app, slow, a, b):
            be.stop()


@pytest.fixture(params=["ours", "haproxy"], scope="module")
def lab(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    require_haproxy(request.param)
    yield from _lab(request.param)


@pytest.fixture(scope="module")
def workers_lab() -> Iterator[dict[str, Any]]:
    yield from _lab("ours", "    nbthread 2")


#: what Debian's 2.6.12 prints when its own watchdog kills it (seen once in a full run: stuck in the
#: CLI applet on 'set maxconn frontend' after 'disable'/'enable frontend', 3 s of CPU)
HAPROXY_PANIC = "is about to kill the process"


def cli(lab: dict[str, Any], cmd: str) -> str:
    try:
        reply = stats_cli(lab["sock"], cmd)
    except OSError:
        reply = ""
    if not reply and HAPROXY_PANIC in lab["stderr"]():
        # the reference half died of a 2.6.12 bug: nothing to compare with (ours runs on its own)
        pytest.xfail(f"Debian's HAProxy panicked (its watchdog) before answering {cmd!r}")
    assert reply, f"no reply to {cmd!r}; the proxy's stderr:\n{lab['stderr']()}"
    return reply


def _concurrent(port: int, path: str, n: int, stagger: float = 0.0) -> list[int]:
    codes: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            code = get(port, path, timeout=15)[0]
        except OSError:
            code = -1
        with lock:
            codes.append(code)

    ts = []
    for _ in range(n):
        t = threading.Thread(target=one, daemon=True)
        t.start()
        ts.append(t)
        time.sleep(stagger)
    for t in ts:
        t.join(20)
    return codes


def _wait_status(lab: dict[str, Any], pxsv: str, want: str, timeout: float = 5.0) -> str:
    px, sv = pxsv.split("/")
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        for line in cli(lab, "show stat").splitlines():
            f = line.split(",")
            if len(f) > 17 and f[0] == px and f[1] == sv:
                status = f[17]
        if status.startswith(want):
            return status
        time.sleep(0.1)
    return status


# ----------------------------------------------------------------------------- shutdown frontend


def _shutdown_frontend(lab: dict[str, Any]) -> None:
    assert get(lab["doomed"], "/")[0] == 200
    assert cli(lab, "shutdown frontend doomed") == "\n"
    deadline = time.monotonic() + 3
    while True:  # the master-worker case: every process closes its copy of the socket
        try:
            with socket.create_connection(("127.0.0.1", lab["doomed"]), timeout=2):
                pass
        except ConnectionRefusedError:
            break
        assert time.monotonic() < deadline, "the port of a shut down frontend still accepts connections"
        time.sleep(0.05)
    assert get(lab["fe"], "/")[0] == 200  # the other frontends go on
    assert cli(lab, "shutdown frontend doomed") == "Frontend was already shut down.\n\n"
    assert cli(lab, "enable frontend doomed") == "Frontend was previously shut down, cannot enable.\n\n"
    assert cli(lab, "shutdown frontend nosuch") == "No such frontend.\n\n"
    assert cli(lab, "shutdown frontend") == "A frontend name is expected.\n\n"
    assert ",STOP," in cli(lab, "show stat doomed 1 -1")


def test_shutdown_frontend_refuses_new_connections(lab: dict[str, Any]) -> None:
    _shutdown_frontend(lab)


def _disable_enable_frontend(lab: dict[str, Any]) -> None:
    assert cli(lab, "disable frontend capped") == "\n"
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", lab["capped"]), timeout=2).close()
    finally:
        assert cli(lab, "enable frontend capped") == "\n"
    assert _concurrent(lab["capped"], "/", 4) == [200] * 4


# ----------------------------------------------------------------------------- set maxconn server


def _maxconn_server(lab: dict[str, Any], limit: int, total: int, exact: bool = True) -> None:
    """``exact``: the server sees exactly ``limit`` at once (one process; with workers, which one
    accepts each connection is the kernel's choice: at most ``limit``)."""
    slow: HttpBackend = lab["slow"]
    assert cli(lab, f"set maxconn server slow/s1 {limit}") == "\n"
    try:
        # capped: never more than the limit at the server, the others queue and are served
        slow.max_concurrent = 0
        t0 = time.monotonic()
        codes = _concurrent(lab["fe"], "/slow", total, stagger=0.02)
        assert codes == [200] * total, codes
        assert slow.max_concurrent == limit if exact else 1 <= slow.max_concurrent <= limit, slow.max_concurrent
        assert time.monotonic() - t0 >= 0.4 * (total // limit) - 0.1
        # raised while requests wait: the queued ones get their slot at once
        slow.max_concurrent = 0
        got: list[list[int]] = []
        t = threading.Thread(target=lambda: got.append(_concurrent(lab["fe"], "/slow", total, 0.02)), daemon=True)
        t0 = time.monotonic()
        t.start()
        time.sleep(0.25)
        assert cli(lab, f"set maxconn server slow/s1 {total}") == "\n"
        t.join(20)
        assert got and got[0] == [200] * total, got
        assert slow.max_concurrent > limit, slow.max_concurrent
        if exact:  # (workers: the kernel may hand one worker most of the connections)
            assert time.monotonic() - t0 < 0.4 * (total // limit) - 0.1
    finally:
        cli(lab, "set maxconn server slow/s1 0")


def test_set_maxconn_server_caps_and_queues(lab: dict[str, Any]) -> None:
    _maxconn_server(lab, 1, 4)
    assert cli(lab, "set maxconn server slow/s1") == "Require <maxconn>.\n\n"
    assert cli(lab, "set maxconn server slow/s1 x") == "maxconn string empty or preceded by garbage\n"
    assert cli(lab, "set maxconn server slow/s1 3x") == "Trailing garbage in maxconn string\n"
    assert cli(lab, "set maxconn server slow/nosuch 3") == "No such server.\n\n"


# ----------------------------------------------------------------------------- set maxconn global / frontend


def _second_connection_waits(lab: dict[str, Any], port: int, set_cmd: str, reset_cmd: str, held: int = 1) -> None:
    """``held`` connections fill the limit; the next one waits until one of them closes."""
    assert cli(lab, set_cmd) == "\n"
    holders = []
    second = None
    try:
        for _ in range(held):
            h = socket.create_connection(("127.0.0.1", port), timeout=5)
            holders.append(h)
            h.sendall(b"GET / HTTP/1.1\r\n")  # accepted, its request unfinished: holds a slot
            time.sleep(0.3)
        first = holders[0]
        second = socket.create_connection(("127.0.0.1", port), timeout=5)
        second.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        second.settimeout(1.0)
        with pytest.raises(TimeoutError):
            data = second.recv(100)
            raise AssertionError(f"served over the limit: {data!r}")
        first.close()  # the slot is free: the waiting connection is accepted and served
        second.settimeout(5)
        assert second.recv(100).startswith(b"HTTP/1.1 200 "), "not served once the slot was free"
    finally:
        for h in holders:
            h.close()
        if second is not None:
            second.close()
        assert cli(lab, reset_cmd) == "\n"
    assert _concurrent(port, "/", 3) == [200] * 3


def test_set_maxconn_global_holds_new_connections(lab: dict[str, Any]) -> None:
    _second_connection_waits(lab, lab["capped"], "set maxconn global 1", "set maxconn global 100")
    assert cli(lab, "set maxconn global 100000000") == "Value out of range.\n\n"
    assert cli(lab, "set maxconn global") == "Expects an integer value.\n\n"


def test_set_maxconn_frontend_holds_new_connections(lab: dict[str, Any]) -> None:
    _second_connection_waits(lab, lab["capped"], "set maxconn frontend capped 1", "set maxconn frontend capped 100")
    assert cli(lab, "set maxconn frontend capped -1") == "Value out of range.\n\n"


# ----------------------------------------------------------------------------- set server addr


def _server_addr(lab: dict[str, Any], down_and_up: bool = True) -> None:
    old, new = lab["old"], lab["new"]
    assert _wait_status(lab, "moved/m1", "UP").startswith("UP")
    assert {get(lab["fe"], "/moved")[1]["x-server"] for _ in range(4)} == {"oldaddr"}
    try:
        assert cli(lab, f"set server moved/m1 addr 127.0.0.1 port {new.port}") == (
            f"no need to change the addr, port changed from '{old.port}' to '{new.port}' by 'stats socket command'\n\n")
        assert {get(lab["fe"], "/moved")[1]["x-server"] for _ in range(6)} == {"newaddr"}
        if not down_and_up:
            return
        # nothing listens there: the traffic and the check follow, the server goes down
        dead = free_port()
        assert cli(lab, f"set server moved/m1 addr 127.0.0.2 port {dead}") == (
            f"IP changed from '127.0.0.1' to '127.0.0.2', port changed from '{new.port}' to '{dead}' by "
            "'stats socket command'\n\n")
        assert get(lab["fe"], "/moved")[0] == 503
        assert _wait_status(lab, "moved/m1", "DOWN").startswith("DOWN")
        assert cli(lab, f"set server moved/m1 addr 127.0.0.1 port {new.port}") == (
            f"IP changed from '127.0.0.2' to '127.0.0.1', port changed from '{dead}' to '{new.port}' by "
            "'stats socket command'\n\n")
        assert _wait_status(lab, "moved/m1", "UP").startswith("UP")
        assert get(lab["fe"], "/moved")[1]["x-server"] == "newaddr"
    finally:
        cli(lab, f"set server moved/m1 addr 127.0.0.1 port {old.port}")


def test_set_server_addr_moves_traffic(lab: dict[str, Any]) -> None:
    _server_addr(lab)


def test_set_server_check_port_and_addr_move_the_check(lab: dict[str, Any]) -> None:
    old = lab["old"]
    assert _wait_status(lab, "moved/m1", "UP").startswith("UP")
    assert cli(lab, f"set server moved/m1 check-port {free_port()}") == "\n"  # nothing listens there
    assert _wait_status(lab, "moved/m1", "DOWN").startswith("DOWN")
    assert cli(lab, f"set server moved/m1 check-port {old.port}") == "\n"
    assert _wait_status(lab, "moved/m1", "UP").startswith("UP")
    assert cli(lab, "set server moved/m1 check-addr 127.0.0.2") == "\n"  # nor there
    assert _wait_status(lab, "moved/m1", "DOWN").startswith("DOWN")
    assert cli(lab, f"set server moved/m1 check-addr 127.0.0.1 port {old.port}") == "\n"
    assert _wait_status(lab, "moved/m1", "UP").startswith("UP")
    assert get(lab["fe"], "/moved")[1]["x-server"] == "oldaddr"  # the traffic never moved
    assert cli(lab, "set server app/app1 check-port 80") == "health checks are not enabled on this server\n"
    assert cli(lab, "set server moved/m1 check-port x") == "provided port is not an integer\n"


# ----------------------------------------------------------------------------- master-worker


def test_engine_ops_reach_every_worker(workers_lab: dict[str, Any]) -> None:
    """Each command is replayed in both workers: a worker left out would keep serving the old way."""
    lab = workers_lab
    assert "\nNbthread: 2\n" in cli(lab, "show info")
    assert {get(lab["fe"], "/")[0] for _ in range(4)} == {200}
    _server_addr(lab)  # the check (worker 0) sees it down and up; every worker follows
    _maxconn_server(lab, 2, 6, exact=False)  # each worker takes its share (1): 2 at most in all
    # 2 shared by 2 workers: one connection each, a third waits in the shared accept queue
    _second_connection_waits(lab, lab["capped"], "set maxconn global 2", "set maxconn global 100", held=2)
    _disable_enable_frontend(lab)  # every worker listens again, the master does not serve
    _shutdown_frontend(lab)


# ----------------------------------------------------------------------------- the master CLI (-S)


def test_master_cli_reload_and_pid_target() -> None:
    """``reload`` and ``@!<pid>`` on the master CLI (stats/mastercli.py, engine/workers.py)."""
    from tests.integration.test_process_master import CFG as MASTER_CFG
    from tests.integration.test_process_master import children, wait_until

    app = HttpBackend("app1").start()
    try:
        port = free_port()
        msock = f"/tmp/hpy-mcli-{port}.sock"
        cfg = MASTER_CFG.format(port=port, p1=app.port, p2=app.port)
        with run_proxy(cfg, wait_ports=[port], extra_args=["-S", msock]) as pp:
            wait_until(lambda: len(children(pp.pid)) == 1)
            first = children(pp.pid)[0]
            wait_until(lambda: "master" in stats_cli(msock, "show proc"))
            assert f"\nPid: {first}\n" in stats_cli(msock, f"@!{first} show info")
            assert stats_cli(msock, "@!1 show info") == "Can't find the target PID matching the prefix '@!1'\n"
            assert stats_cli(msock, "reload") == ""
            wait_until(lambda: (kids := children(pp.pid)) != [] and first not in kids)
            wait_until(lambda: f"{pp.pid:<16}master          1" in stats_cli(msock, "show proc"))
            assert get(port, "/")[0] == 200
    finally:
        app.stop()
