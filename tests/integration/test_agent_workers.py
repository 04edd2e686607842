"""agent-check with two workers (nbthread 2): worker 0 runs the agent; its verdicts reach the
master's show stat and the other worker's traffic (engine/workers.py)."""

from __future__ import annotations

import time

from tests.differential.test_agent_check_vs_haproxy import Agent, snapshot
from tests.integration.harness import HttpBackend, free_port, get, run_proxy, wait_files


def test_agent_drain_and_down_reach_master_and_workers() -> None:
    agent = Agent()
    b1, b2 = HttpBackend("b1").start(), HttpBackend("b2").start()
    fe = free_port()
    cfg = f"""global
    nbthread 2
    stats socket @DIR@/s.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    balance roundrobin
    server s1 127.0.0.1:{b1.port} agent-check agent-port {agent.port} agent-inter 100
    server s2 127.0.0.1:{b2.port}
"""
    try:
        with run_proxy(cfg, wait_ports=[fe]) as pp:
            sock = pp.workdir / "s.sock"
            wait_files([sock], 10, pp.stderr_text)
            agent.set(b"drain 50%\n")
            deadline = time.monotonic() + 5
            row = {}
            while time.monotonic() < deadline:
                row = snapshot(str(sock))["app/s1"]
                if row["status"] == "DRAIN (agent)":
                    break
                time.sleep(0.1)
            assert row["status"] == "DRAIN (agent)", row
            assert (row["agent_status"], row["agent_health"]) == ("CHECKED", "1"), row
            time.sleep(0.5)  # the other worker got it too (200 ms sync)
            before = len(b1.requests)
            for _ in range(12):  # new connections: each worker in turn
                get(fe, "/", headers={"Connection": "close"})
            assert len(b1.requests) == before, "a drained server got new traffic"
            agent.set(b"down\n")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and snapshot(str(sock))["app/s1"]["status"] != "DOWN (agent)":
                time.sleep(0.1)
            assert snapshot(str(sock))["app/s1"]["status"] == "DOWN (agent)"
    finally:
        agent.close()
        b1.stop()
        b2.stop()
