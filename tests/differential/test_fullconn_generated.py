"""A backend's default `fullconn` (the `slim` column of its BACKEND row) is derived as 2.6 derives
it, over generated topologies: random global and frontend maxconn, frontends routing to random
backends through default_backend and use_backend, listens, explicit fullconn, unreachable
backends. Both proxies run each configuration and their `show stat` slim columns are compared."""

from __future__ import annotations

import random

import pytest

from tests.integration.harness import free_port, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

SEED = 2611
N_CONFIGS = 6


def _config(rng: random.Random) -> tuple[str, list[int]]:
    gmax = rng.choice([None, 100, 2000, 3001, 777])
    lines = ["global", "    stats socket @DIR@/admin.sock level admin"]
    if gmax is not None:
        lines.append(f"    maxconn {gmax}")
    lines += ["defaults", "    mode http", "    timeout client 2s", "    timeout server 2s", "    timeout connect 2s"]
    backends = [f"b{i}" for i in range(rng.randint(2, 5))]
    ports = []
    for i in range(rng.randint(1, 4)):
        port = free_port()
        ports.append(port)
        kind = rng.choice(["frontend", "frontend", "listen"])
        lines += [f"{kind} f{i}", f"    bind 127.0.0.1:{port}"]
        if rng.random() < 0.6:
            lines.append(f"    maxconn {rng.randint(1, 5000)}")
        for be in rng.sample(backends, rng.randint(0, len(backends))):
            lines.append(f"    use_backend {be} if {{ path /{be} }}")
        if kind == "frontend" and rng.random() < 0.7:
            lines.append(f"    default_backend {rng.choice(backends)}")
        if kind == "listen":
            lines.append("    server s 127.0.0.1:1")
            if rng.random() < 0.3:
                lines.append(f"    fullconn {rng.randint(1, 900)}")
    for be in backends:
        lines.append(f"backend {be}")
        if rng.random() < 0.25:
            lines.append(f"    fullconn {rng.randint(1, 900)}")
        lines.append("    server s 127.0.0.1:1 maxconn 10 minconn 2")
    return "\n".join(lines) + "\n", ports


def _slims(cfg: str, ports: list[int], which: str) -> dict[str, str]:
    with run_proxy(cfg, wait_ports=ports, which=which) as pp:
        text = stats_cli(admin_socket(pp), "show stat")
    rows = [ln.split(",") for ln in text.splitlines() if ln and not ln.startswith("#")]
    return {r[0]: r[6] for r in rows if r[1] == "BACKEND"}


@pytest.mark.needs_haproxy
def test_default_fullconn_matches_haproxy(haproxy_bin: str) -> None:
    rng = random.Random(SEED)
    for n in range(N_CONFIGS):
        cfg, ports = _config(rng)
        theirs = _slims(cfg, ports, "haproxy")
        ours = _slims(cfg, ports, "ours")
        assert ours == theirs, f"config {n} (seed {SEED}):\n{cfg}\nours={ours}\nhaproxy={theirs}"
