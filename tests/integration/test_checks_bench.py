"""Cost of the checker: 1,000 servers with ``inter 1s`` against one local listener (1,000 checks/s).

Prints CPU seconds per minute of checking; fails if the checker misses checks or burns most of a core.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from haproxy_py.checks.testing import make_backend
from haproxy_py.config.model import HttpCheck, Timeouts
from haproxy_py.engine.checker import Checker
from tests.conftest import free_port

LISTENER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096)
resp = sys.argv[2].encode() if len(sys.argv) > 2 else b""
print("ready", flush=True)
while True:
    c, _ = s.accept()
    if resp:
        try:
            c.settimeout(1); c.recv(4096); c.sendall(resp)
        except OSError:
            pass
    c.close()
"""


def measure(loop_kind: str, http: bool, seconds: float = 8.0, n: int = 1000) -> tuple[int, float]:
    port = free_port()
    args = [sys.executable, "-c", LISTENER, str(port)]
    if http:
        args.append("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith(b"ready")
        if loop_kind == "uvloop":
            import uvloop  # a dependency: missing, the test fails (never skips)
            loop = uvloop.new_event_loop()
        else:
            loop = asyncio.new_event_loop()
        be = make_backend("be", [dict(name=f"s{i}", port=port, check=True, inter=1000) for i in range(n)],
                          http_check=HttpCheck() if http else None, timeouts=Timeouts(connect=1000, check=1000))
        logs: list[str] = []

        async def main() -> tuple[int, float]:
            ck = Checker(asyncio.get_running_loop(), [be], log=lambda p, s, t: logs.append(t))
            ck.start()
            await asyncio.sleep(1.5)  # first checks are spread over the first second
            c0 = sum(s.counters.chkfail for s in be.servers)
            done0 = _done(ck)
            t0 = time.process_time()
            await asyncio.sleep(seconds)
            cpu = time.process_time() - t0
            done = _done(ck) - done0
            ck.stop()
            assert sum(s.counters.chkfail for s in be.servers) == c0, logs[:5]
            return done, cpu

        try:
            return loop.run_until_complete(main())
        finally:
            loop.close()
    finally:
        proc.kill()
        proc.wait()


def _done(ck: Checker) -> int:
    return sum(sc.count for sc in ck.checks.values())


@pytest.mark.slow
@pytest.mark.parametrize("loop_kind,http", [("asyncio", False), ("uvloop", False), ("uvloop", True)])
def test_thousand_checks_per_second(loop_kind: str, http: bool) -> None:
    seconds = 4.0  # 4000 checks: the rate within 10 %, the CPU share well measured
    done, cpu = measure(loop_kind, http, seconds)
    rate = done / seconds
    per_min = cpu * 60 / seconds
    print(f"\n{loop_kind} {'http' if http else 'tcp'}: {rate:.0f} checks/s, {per_min:.1f} CPU s per minute")
    assert 900 <= rate <= 1100
    assert per_min < 45  # well under one core
