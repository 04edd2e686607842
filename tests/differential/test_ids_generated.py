"""Proxy and server ids, and the order of `show stat` rows, as 2.6 numbers and lists them, over
generated configurations: random explicit `id` lines on some proxies and servers, the others
numbered automatically. Both proxies run each configuration; (pxname, svname, iid, sid) rows are
compared in order."""

from __future__ import annotations

import random

import pytest

from tests.integration.harness import run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

SEED = 4242
N_CONFIGS = 5


def _config(rng: random.Random) -> str:
    lines = ["global", "    stats socket @DIR@/admin.sock level admin", "defaults", "    mode http",
             "    timeout client 2s", "    timeout server 2s", "    timeout connect 2s"]
    n_px = rng.randint(2, 6)
    px_ids = rng.sample(range(2, 2 + 2 * n_px), n_px)
    for i in range(n_px):
        lines.append(f"backend b{i}")
        if rng.random() < 0.35:
            lines.append(f"    id {px_ids[i]}")
        n_srv = rng.randint(1, 6)
        srv_ids = rng.sample(range(1, 1 + 2 * n_srv), n_srv)
        for j in range(n_srv):
            extra = f" id {srv_ids[j]}" if rng.random() < 0.35 else ""
            lines.append(f"    server s{j} 127.0.0.1:1{extra}")
    return "\n".join(lines) + "\n"


def _rows(cfg: str, which: str) -> list[tuple[str, ...]]:
    with run_proxy(cfg, which=which) as pp:
        text = stats_cli(admin_socket(pp), "show stat")
    out = []
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            f = ln.split(",")
            out.append((f[0], f[1], f[27], f[28]))
    return out


@pytest.mark.needs_haproxy
def test_ids_and_row_order_match_haproxy(haproxy_bin: str) -> None:
    rng = random.Random(SEED)
    for n in range(N_CONFIGS):
        cfg = _config(rng)
        assert _rows(cfg, "ours") == _rows(cfg, "haproxy"), f"config {n} (seed {SEED}):\n{cfg}"
