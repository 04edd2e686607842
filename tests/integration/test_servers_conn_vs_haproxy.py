"""``show servers conn`` against HAProxy 2.6 side by side: the connection counts of servers that
keep their connections alive (used_cur, used_max, need_est, unsafe_nb, safe_nb, idle_cur and the
thread's count), read after each of a generated sequence of bursts of concurrent requests, on
backends with ``http-reuse`` always, aggressive, safe and never and a generated ``pool-max-conn``.

The server (tests/integration/test_pool_purge_vs_haproxy.py's) answers a burst's requests only
once all of them arrived, so a burst of N needs N server connections at once; each client sends
one request with ``Connection: close``. The purge delay is long (30s): no purge happens during a
run (the purges are test_pool_purge_vs_haproxy.py's).
"""

from __future__ import annotations

import random
import time

import pytest

from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy, wait_files
from tests.integration.stats_client import stats_cli
from tests.integration.test_pool_purge_vs_haproxy import _burst, _Server

MODES = ("always", "aggressive", "safe", "never")


def _plan(seed: int) -> tuple[dict[str, str], list[tuple[str, int]]]:
    rng = random.Random(seed)
    extra = {m: rng.choice(("", "", "pool-max-conn 2", "pool-max-conn 0", "pool-low-conn 1")) for m in MODES}
    bursts = [(rng.choice(MODES), rng.randint(1, 6)) for _ in range(8)]
    return extra, bursts


def _run(which: str, seed: int) -> list[str]:
    extra, bursts = _plan(seed)
    srvs = {m: _Server() for m in MODES}
    ports = {m: free_port() for m in MODES}
    cfg = ("global\n    nbthread 1\n    stats socket @DIR@/s.sock level admin\n"
           "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n")
    for m in MODES:
        cfg += (f"listen l_{m}\n    bind 127.0.0.1:{ports[m]}\n    http-reuse {m}\n"
                f"    server s 127.0.0.1:{srvs[m].port} pool-purge-delay 30s {extra[m]}\n")
    seen: list[str] = []
    try:
        with run_proxy(cfg, wait_ports=list(ports.values()), which=which) as pp:
            sock = str(pp.workdir / "s.sock")
            wait_files([sock])
            for k, (m, n) in enumerate(bursts):
                _burst(ports[m], srvs[m], f"b{k}", n)
                # the last responses' server connections go back to the pool as their streams end
                time.sleep(0.3)
                out = stats_cli(sock, "show servers conn")
                # the servers' ports differ between the runs
                seen.append("\n".join(" ".join(w for i, w in enumerate(ln.split()) if i != 3)
                                      for ln in out.splitlines()))
    finally:
        for s in srvs.values():
            s.close()
    return seen


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_show_servers_conn_counts_as_haproxy(seed: int) -> None:
    require_haproxy("haproxy")
    theirs = _run("haproxy", seed)
    ours = _run("ours", seed)
    assert ours == theirs, (_plan(seed), ours, theirs)
    # the counts moved at all: some server kept idle connections, some estimate rose
    rows = [ln.split() for snap in theirs for ln in snap.splitlines()[1:]]
    assert any(int(r[11]) > 0 for r in rows), theirs  # idle_cur
    assert any(int(r[7]) > 1 for r in rows), theirs  # need_est


# ----------------------------------------------------------------------------- keep-alive clients
_REPLY = len(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def _ka_plan(seed: int) -> list[tuple[str, str, int]]:
    """Steps on kept-alive client connections: ("req", mode, i) sends a request on client i of
    that listener (opening it if needed), ("close", mode, i) closes it."""
    rng = random.Random(seed)
    steps: list[tuple[str, str, int]] = []
    for _ in range(14):
        m = rng.choice(MODES)
        steps.append((rng.choice(("req", "req", "close")), m, rng.randint(0, 3)))
    return steps


def _ka_run(which: str, seed: int) -> list[str]:
    """After each step of _ka_plan, ``show servers conn`` (the server's port left out)."""
    import socket

    srvs = {m: _Server() for m in MODES}
    ports = {m: free_port() for m in MODES}
    cfg = ("global\n    nbthread 1\n    stats socket @DIR@/s.sock level admin\n"
           "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n")
    for m in MODES:
        cfg += (f"listen l_{m}\n    bind 127.0.0.1:{ports[m]}\n    http-reuse {m}\n"
                f"    server s 127.0.0.1:{srvs[m].port} pool-purge-delay 30s\n")
    seen: list[str] = []
    clients: dict[tuple[str, int], socket.socket] = {}
    try:
        with run_proxy(cfg, wait_ports=list(ports.values()), which=which) as pp:
            sock = str(pp.workdir / "s.sock")
            wait_files([sock])
            for m in MODES:
                srvs[m].want = 1
            for k, (what, m, i) in enumerate(_ka_plan(seed)):
                c = clients.get((m, i))
                if what == "close":
                    if c is not None:
                        c.close()
                        del clients[(m, i)]
                else:
                    if c is None:
                        c = clients[(m, i)] = socket.create_connection(("127.0.0.1", ports[m]), timeout=5)
                    c.sendall(f"GET /k{k}-0 HTTP/1.1\r\nHost: t\r\n\r\n".encode())
                    got = b""
                    while len(got) < _REPLY and (d := c.recv(65536)):
                        got += d
                time.sleep(0.3)  # the server connection goes back to the pool (or stays) as the stream ends
                out = stats_cli(sock, "show servers conn")
                seen.append("\n".join(" ".join(w for j, w in enumerate(ln.split()) if j != 3)
                                      for ln in out.splitlines()))
    finally:
        for c in clients.values():
            c.close()
        for s in srvs.values():
            s.close()
    return seen


@pytest.mark.parametrize("seed", [1, 2])
def test_show_servers_conn_keepalive_clients_as_haproxy(seed: int) -> None:
    """Kept-alive clients: with ``http-reuse never`` the server connection stays with its client
    connection (counted used, not idle, until the client goes); the other modes give it back to
    the pool between requests."""
    require_haproxy("haproxy")
    theirs = _ka_run("haproxy", seed)
    ours = _ka_run("ours", seed)
    assert ours == theirs, (_ka_plan(seed), ours, theirs)
