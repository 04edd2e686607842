"""Queue timeouts are counted as 2.6 counts them: `econ` of the backend, and of the server when the
request waited in that server's own queue (a persistence cookie pins it there). Generated load:
seeded numbers of concurrent clients, with and without the cookie, through both proxies."""

from __future__ import annotations

import random
import threading

import pytest

from tests.integration.harness import HttpBackend, free_port, get, http_defaults, run_proxy
from tests.integration.stats_client import ADMIN_SOCKET, admin_socket, stats_cli

SEED = 1313


def _run(which: str, clients: int, cookie: bool) -> tuple[list[int], dict[str, str]]:
    be = HttpBackend("s1")
    be.delay = 0.6
    be.start()
    fe = free_port()
    cfg = ADMIN_SOCKET + http_defaults() + "    timeout queue 250ms\n" + f"""\
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    cookie SRV insert indirect
    server s1 127.0.0.1:{be.port} maxconn 1 cookie a
"""
    statuses: list[int] = []
    lock = threading.Lock()
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)

            def one() -> None:
                st = get(fe, "/", {"Cookie": "SRV=a"} if cookie else None, timeout=5)[0]
                with lock:
                    statuses.append(st)

            threads = [threading.Thread(target=one) for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            text = stats_cli(sock, "show stat")
    finally:
        be.stop()
    lines = text.splitlines()
    cols = lines[0].lstrip("# ").split(",")
    out = {}
    for ln in lines[1:]:
        if ln:
            row = dict(zip(cols, ln.split(","), strict=False))
            out[f"{row['pxname']}/{row['svname']}"] = ",".join(row[c] for c in ("econ", "eresp", "wretr", "hrsp_5xx"))
    return sorted(statuses), out


@pytest.mark.needs_haproxy
def test_queue_timeouts_count_like_haproxy(haproxy_bin: str) -> None:
    rng = random.Random(SEED)
    for _ in range(3):
        clients, cookie = rng.randint(3, 7), rng.random() < 0.5
        theirs = _run("haproxy", clients, cookie)
        ours = _run("ours", clients, cookie)
        assert ours == theirs, (clients, cookie, ours, theirs)
        assert 503 in ours[0]
