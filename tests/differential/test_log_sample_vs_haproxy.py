"""Differential: ``log ADDR sample RANGES:SIZE`` — which traffic lines each sampled target gets, Debian's
HAProxy 2.6 against haproxy-py, with seeded generated ranges and sizes, one UDP sink per target.

The targets are global ones (``log global`` in the defaults). Each request asks for ``/N`` (N its
number), so a sink's lines say which requests it received; an unsampled target (every line) checks
that all were logged. The log-format has ``%ST``: without a variable that needs the response, 2.6.12
sends each traffic line twice (haproxy-py once; not what this test is about).
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import TcpServer, free_port, run_proxy
from tests.integration.logdiff import read_reply
from tests.integration.syslog_sinks import recv_until_quiet, udp_sink

SEEDS = (3, 77)
N_REQUESTS = 40


class _Ok(TcpServer):
    def serve(self, c: socket.socket) -> None:
        try:
            c.settimeout(3)
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    return
                data += d
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        finally:
            c.close()


def _sample(rng: random.Random) -> str:
    """A valid 2.6 sample argument: disjoint ranges (written in any order) and a size >= their top."""
    size = rng.randint(1, 9)
    points = sorted(rng.sample(range(1, size + 1), rng.randint(1, size)))
    ranges: list[str] = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1 and rng.random() < 0.6:
            j += 1
        ranges.append(str(points[i]) if i == j else f"{points[i]}-{points[j]}")
        i = j + 1
    rng.shuffle(ranges)
    return ",".join(ranges) + f":{size + rng.choice([0, 0, 2])}"


def _line(datagram: bytes) -> str:
    return datagram.decode("latin-1").split("]: ", 1)[1].strip()


def _recv_for(sink: socket.socket, done: Callable[[list[str]], bool], timeout: float = 10.0) -> list[str]:
    """The lines ``sink`` receives until ``done(lines)`` or ``timeout`` seconds."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while not done(lines) and time.monotonic() < deadline:
        try:
            lines.append(_line(sink.recv(65536)))
        except TimeoutError:
            pass
    return lines


def _run(which: str, seed: int) -> tuple[list[str], list[list[int]]]:
    rng = random.Random(seed)
    samples = [_sample(rng) for _ in range(4)]
    sinks = [udp_sink(0.3) for _ in range(len(samples) + 1)]
    backend = _Ok()
    fe = free_port()
    logs = "".join(f"    log 127.0.0.1:{port} sample {smp} local2\n"
                   for (_, port), smp in zip(sinks[:-1], samples, strict=True))
    logs += f"    log 127.0.0.1:{sinks[-1][1]} local2\n"
    cfg = (
        f"global\n{logs}"
        "defaults\n    mode http\n    log global\n    timeout connect 2s\n    timeout client 2s\n"
        "    timeout server 2s\n"
        f"frontend fe\n    bind 127.0.0.1:{fe}\n    log-format \"%HP %ST\"\n    default_backend be\n"
        f"backend be\n    server s1 127.0.0.1:{backend.port}\n"
    )
    got: list[list[int]] = []
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which):
            every = sinks[-1][0]
            # the port probe's line (it counts for the samples) comes first, then nothing
            _recv_for(every, lambda lines: bool(lines))
            for s, _ in sinks:
                recv_until_quiet(s)
            seen: list[str] = []  # what the unsampled target got during the traffic
            for n in range(1, N_REQUESTS + 1):
                with socket.create_connection(("127.0.0.1", fe), timeout=3) as c:
                    c.sendall(f"GET /{n} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())
                    read_reply(c)
                # request n's line before request n+1 is sent: the lines (and so the samples,
                # taken by their rank) are in the order of the requests (CI saw two swap)
                seen += _recv_for(every, lambda lines, n=n: any(x.split()[0] == f"/{n}" for x in lines))
            for s, _ in sinks:
                lines = [_line(d) for d in recv_until_quiet(s, 0.5)]
                if s is every:
                    lines = seen + lines
                got.append([int(x.split()[0][1:]) for x in lines if x.split()[0][1:].isdigit()])
    finally:
        backend.close()
        for s, _ in sinks:
            s.close()
    return samples, got


@pytest.mark.parametrize("seed", SEEDS)
def test_sampled_targets_get_the_lines_haproxy_sends(seed: int) -> None:
    require_haproxy_bin()
    samples, theirs = _run("haproxy", seed)
    _, ours = _run("ours", seed)
    assert theirs[-1] == list(range(1, N_REQUESTS + 1))  # the unsampled target got every line
    assert ours == theirs, (samples, theirs, ours)
