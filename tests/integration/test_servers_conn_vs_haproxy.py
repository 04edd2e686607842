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
