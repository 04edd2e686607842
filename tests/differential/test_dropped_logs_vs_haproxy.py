"""Differential: ``show info`` DroppedLogs and the lines a restarted syslog receiver gets, Debian's
HAProxy 2.6 against haproxy-py. Two UDP targets: one nobody listens on, one whose receiver goes
away for a while and comes back on the same port. 2.6 sends syslog datagrams on unconnected
sockets, so neither loses a line to an ICMP refusal nor counts one: DroppedLogs stays 0 and the
receiver gets every line sent while it is there (a seeded number of requests in each phase).
"""

from __future__ import annotations

import random
import socket
import time

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import free_port, run_proxy
from tests.integration.logdiff import ScriptedBackend, read_reply
from tests.integration.stats_client import stats_cli
from tests.integration.syslog_sinks import recv_until_quiet, udp_port


def _bind(port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(0.3)
    return s


def _run(which: str, seed: int) -> tuple[str, list[int], list[int]]:
    rng = random.Random(seed)
    phases = [rng.randint(3, 12) for _ in range(3)]  # receiver up, down, up again
    backend = ScriptedBackend([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    dead, live = udp_port(), udp_port()
    fe = free_port()
    cfg = (
        f"global\n    log 127.0.0.1:{dead} local2\n    log 127.0.0.1:{live} local2\n"
        "    stats socket @DIR@/stats.sock level admin\n"
        "defaults\n    mode http\n    log global\n    timeout connect 2s\n    timeout client 2s\n"
        "    timeout server 2s\n"
        f"frontend fe\n    bind 127.0.0.1:{fe}\n    log-format \"%HP %ST\"\n    default_backend be\n"
        f"backend be\n    server s1 127.0.0.1:{backend.port}\n"
    )
    sink = _bind(live)
    got: list[list[int]] = []
    n = 0
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            time.sleep(0.3)
            recv_until_quiet(sink)
            for phase, count in enumerate(phases):
                if phase == 1:
                    sink.close()
                elif phase == 2:
                    sink = _bind(live)
                for _ in range(count):
                    n += 1
                    with socket.create_connection(("127.0.0.1", fe), timeout=3) as c:
                        c.sendall(f"GET /{n} HTTP/1.1\r\nHost: h\r\nx-case: 0\r\nConnection: close\r\n\r\n".encode())
                        read_reply(c)
                    time.sleep(0.02)
                if phase != 1:
                    lines = [d.decode().split("]: ", 1)[1].split()[0] for d in recv_until_quiet(sink, 0.4)]
                    got.append([int(x[1:]) for x in lines])
            info = stats_cli(str(pp.workdir / "stats.sock"), "show info")
    finally:
        backend.close()
        sink.close()
    dropped = next(ln for ln in info.splitlines() if ln.startswith("DroppedLogs:"))
    return dropped, got[0], got[1]


@pytest.mark.parametrize("seed", (11, 12))
def test_dropped_logs_and_restarted_receiver_as_haproxy(seed: int) -> None:
    require_haproxy_bin()
    theirs = _run("haproxy", seed)
    ours = _run("ours", seed)
    assert theirs[0] == "DroppedLogs: 0"
    assert ours == theirs
