"""An unfinished request head that fills the buffer, against HAProxy 2.6 side by side: seeded
random head sizes around the limit (tune.bufsize rounded up to 16, less 64), random tune.bufsize
and tune.maxrewrite values, heads ending with or without a partial line end; after each, the
``show errors`` dump (bytes, length, free, wraps-at, error position) must be the same, times,
source ports and the ``H1 ...`` lines of 2.6's multiplexer left out (as
test_show_errors_vs_haproxy.py normalises them)."""

from __future__ import annotations

import random
import time

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy, wait_files
from tests.integration.stats_client import stats_cli
from tests.integration.test_accept_invalid_http_vs_haproxy import _exchange
from tests.integration.test_show_errors_vs_haproxy import _norm


def _cases(seed: int) -> tuple[int, int, list[bytes]]:
    rng = random.Random(seed)
    bufsize = rng.choice((4096, 8192, 10001, 16384, rng.randint(5000, 20000)))
    maxrw = rng.choice((0, 512, 1024, bufsize // 2))
    room = ((bufsize + 15) & ~15) - 64
    heads = []
    for _ in range(4):
        size = rng.choice((room, room + 1, room + rng.randint(2, 3000), bufsize + rng.randint(0, 100)))
        tail = rng.choice((b"", b"\r", b"\r\n"))
        heads.append(b"GET /" + b"a" * (size - 5 - len(tail)) + tail)
    return bufsize, maxrw, heads


def _run(which: str, seed: int) -> list[str]:
    bufsize, maxrw, heads = _cases(seed)
    port = free_port()
    cfg = (f"global\n    stats socket @DIR@/s.sock level admin\n    tune.bufsize {bufsize}\n"
           f"    tune.maxrewrite {maxrw}\n"
           "defaults\n    mode http\n    timeout connect 2s\n    timeout client 2s\n    timeout server 2s\n"
           f"frontend f\n    bind 127.0.0.1:{port}\n    default_backend b\n"
           "backend b\n    server s 127.0.0.1:9\n")
    seen = []
    with run_proxy(cfg, wait_ports=[port], which=which) as pp:
        sock = str(pp.workdir / "s.sock")
        wait_files([sock])
        for raw in heads:
            seen.append(_exchange(port, raw)[:12].decode("latin-1"))
            time.sleep(0.01)
            seen.append(_norm(stats_cli(sock, "show errors")))
    return seen


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_oversized_head_capture_as_haproxy(seed: int) -> None:
    require_haproxy("haproxy")
    ref = _run("haproxy", seed)
    ours = _run("ours", seed)
    for k, (r, o) in enumerate(zip(ref, ours, strict=True)):
        assert o == r, k
