"""engine/checker.py on loopback with real listening sockets (asyncio and uvloop)."""

from __future__ import annotations

import asyncio
import time

import pytest

from haproxy_py.checks.testing import make_backend
from haproxy_py.config.model import HttpCheck, Timeouts
from haproxy_py.engine.checker import Checker
from tests.conftest import SAMPLES, free_port

LOOPS = ["asyncio", "uvloop"]


def run(loop_kind: str, coro_fn) -> object:
    if loop_kind == "uvloop":
        import uvloop  # a dependency: missing, the test fails (never skips)
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro_fn(), 30))
    finally:
        loop.close()


class Logs:
    def __init__(self) -> None:
        self.lines: list[tuple[float, str, int, str]] = []

    def __call__(self, proxy: str, sev: int, text: str) -> None:
        self.lines.append((time.monotonic(), proxy, sev, text))

    async def wait_for(self, needle: str, timeout: float, start: int = 0) -> tuple[float, int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, (t, _p, _s, text) in enumerate(self.lines[start:], start):
                if needle in text:
                    return t, i
            await asyncio.sleep(0.01)
        raise AssertionError(f"no log line with {needle!r} within {timeout}s: {self.lines}")


async def tcp_listener(port: int) -> asyncio.AbstractServer:
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.close()
    return await asyncio.start_server(handle, "127.0.0.1", port)


async def http_listener(port: int, response: bytes | None, received: list[bytes] | None = None
                        ) -> asyncio.AbstractServer:
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            data = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
        except Exception:
            w.close()
            return
        if received is not None:
            received.append(data)
        if response is None:  # hang
            await asyncio.sleep(5)
        else:
            w.write(response)
            await w.drain()
        w.close()
    return await asyncio.start_server(handle, "127.0.0.1", port)


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_down_after_fall_and_up_after_rise(loop_kind: str) -> None:
    port = free_port()
    inter = 200

    async def main() -> None:
        logs = Logs()
        be = make_backend("be", [dict(name="s1", port=port, check=True, inter=inter, rise=2, fall=3)],
                          mode="tcp", timeouts=Timeouts(connect=1000))
        srv = be.servers[0]
        lst = await tcp_listener(port)
        loop = asyncio.get_running_loop()
        ck = Checker(loop, [be], log=logs, rng=lambda: 0.0)
        ck.start()
        try:
            # startup: UP with h = rise, then first success -> full health
            deadline = time.monotonic() + 3
            while srv.health != 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert srv.health == 4 and srv.check_status == "L4OK"
            lst.close()
            await lst.wait_closed()
            t0 = time.monotonic()
            t_down, i = await logs.wait_for("is DOWN", 5)
            assert 2 * inter / 1000 <= t_down - t0 <= 3 * inter / 1000 + 0.4
            assert 'reason: Layer4 connection problem, info: "Connection refused"' in logs.lines[i][3]
            assert logs.lines[i][2] == 1  # alert
            assert srv.state == "STOPPED" and srv.counters.chkdown == 1 and srv.counters.chkfail == 3
            lst = await tcp_listener(port)
            t1 = time.monotonic()
            t_up, j = await logs.wait_for("is UP", 5, i + 1)
            assert inter / 1000 <= t_up - t1 <= 2 * inter / 1000 + 0.4
            assert "reason: Layer4 check passed" in logs.lines[j][3]
            assert srv.state == "RUNNING" and srv.health == 4
            assert srv.down_time > 0
        finally:
            ck.stop()
            lst.close()

    run(loop_kind, main)


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_httpchk_500_is_l7sts(loop_kind: str) -> None:
    port = free_port()

    async def main() -> None:
        logs = Logs()
        be = make_backend("be", [dict(name="s1", port=port, check=True, inter=300)],
                          http_check=HttpCheck(method="GET", uri="/health"))
        srv = be.servers[0]
        lst = await http_listener(port, b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n")
        ck = Checker(asyncio.get_running_loop(), [be], log=logs, rng=lambda: 0.0)
        ck.start()
        try:
            _, i = await logs.wait_for("is DOWN", 5)
            assert srv.check_status == "L7STS" and srv.check_code == 500
            assert srv.check_info == "Internal Server Error"
            assert logs.lines[i][3].startswith(
                'Server be/s1 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error",'
                " check duration: ")
            assert logs.lines[i + 1][3] == "backend be has no server available!"
            assert logs.lines[i + 1][2] == 0
        finally:
            ck.stop()
            lst.close()

    run(loop_kind, main)


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_closed_port_is_l4con(loop_kind: str) -> None:
    port = free_port()

    async def main() -> None:
        logs = Logs()
        be = make_backend("be", [dict(name="s1", port=port, check=True, inter=200),
                                 dict(name="s2", port=port, check=False)], mode="tcp")
        srv = be.servers[0]
        ck = Checker(asyncio.get_running_loop(), [be], log=logs, rng=lambda: 0.0)
        ck.start()
        try:
            _, i = await logs.wait_for("is DOWN", 3)
            assert srv.check_status == "L4CON" and srv.check_info == "Connection refused"
            assert logs.lines[i][3] == (
                'Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check'
                f" duration: {srv.check_duration}ms. 1 active and 0 backup servers left. 0 sessions active,"
                " 0 requeued, 0 remaining in queue.")
        finally:
            ck.stop()

    run(loop_kind, main)


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_l7tout(loop_kind: str) -> None:
    port = free_port()

    async def main() -> None:
        logs = Logs()
        be = make_backend("be", [dict(name="s1", port=port, check=True, inter=2000)],
                          http_check=HttpCheck(), timeouts=Timeouts(connect=1000, check=300))
        srv = be.servers[0]
        lst = await http_listener(port, None)
        ck = Checker(asyncio.get_running_loop(), [be], log=logs, rng=lambda: 0.0)
        ck.start()
        try:
            _, i = await logs.wait_for("is DOWN", 3)
            assert srv.check_status == "L7TOUT"
            assert 280 <= srv.check_duration <= 600
            assert ", reason: Layer7 timeout, check duration: " in logs.lines[i][3]
        finally:
            ck.stop()
            lst.close()

    run(loop_kind, main)


def test_request_bytes_as_sample() -> None:
    """The five check request forms of samples/health_checks/check_requests.cfg, received on loopback."""
    expected_raw = (SAMPLES / "health_checks" / "check_requests_received.txt").read_text()
    ports = [free_port() for _ in range(4)]
    forms = [
        HttpCheck(),
        HttpCheck(method="GET", uri="/health"),
        HttpCheck(method="HEAD", uri="/x", version="HTTP/1.1\\r\\nHost:\\ www.example.com"),
        HttpCheck(method="GET", uri="/h", version="HTTP/1.1", headers=(("Host", "www.example.com"),)),
    ]

    async def main() -> list[list[bytes]]:
        received: list[list[bytes]] = [[] for _ in forms]
        lsts = [await http_listener(p, b"HTTP/1.0 200 OK\r\n\r\n", received[k]) for k, p in enumerate(ports)]
        bes = [make_backend(f"b{k + 1}", [dict(name=f"c{k + 1}", port=p, check=True, inter=1000)], http_check=hc)
               for k, (p, hc) in enumerate(zip(ports, forms, strict=True))]
        ck = Checker(asyncio.get_running_loop(), bes, log=lambda *a: None, rng=lambda: 0.0)
        ck.start()
        deadline = time.monotonic() + 3
        while not all(received) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        ck.stop()
        for lst in lsts:
            lst.close()
        return received

    got = run("asyncio", main)
    for k, rec in enumerate(got):  # type: ignore[arg-type]
        assert rec, f"form {k} received nothing"
        assert repr(rec[0]) in expected_raw, (k, rec[0])


def test_send_state_header() -> None:
    port = free_port()

    async def main() -> list[bytes]:
        received: list[bytes] = []
        lst = await http_listener(port, b"HTTP/1.0 200 OK\r\n\r\n", received)
        be = make_backend("b5", [dict(name="c5", port=port, check=True, inter=100)],
                          http_check=HttpCheck(uri="/only-uri", send_state=True))
        ck = Checker(asyncio.get_running_loop(), [be], log=lambda *a: None, rng=lambda: 0.0, node="vm")
        ck.start()
        deadline = time.monotonic() + 3
        while len(received) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        ck.stop()
        lst.close()
        return received

    got = run("asyncio", main)
    expected = (SAMPLES / "health_checks" / "check_requests_received.txt").read_text()
    sample = expected.split("port 23035 received:\n")[1].splitlines()
    exp = [s.replace("23035", str(port)) for s in sample]
    assert [repr(g) for g in got[:2]] == exp  # type: ignore[index]
