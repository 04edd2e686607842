"""Checks alone, differentially: Debian's HAProxy and our Checker probe the same loopback servers and
must log the same state-change sequences (check durations excluded; checks.compare)."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import pytest

from haproxy_py.checks.compare import by_backend, diff_check_logs, normalize
from haproxy_py.checks.testing import make_backend
from haproxy_py.config.model import HttpCheck, Timeouts
from tests.conftest import free_port

RESP200 = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
RESP503 = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


async def serve(port: int, response: bytes | None) -> asyncio.AbstractServer:
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        if response is not None:
            try:
                await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 2)
                w.write(response)
                await w.drain()
            except Exception:
                pass
        w.close()
    return await asyncio.start_server(handle, "127.0.0.1", port)


@pytest.mark.needs_haproxy
def test_boot_sequence_matches_haproxy(haproxy_bin: str, tmp_path) -> None:
    up, h503, h200, closed, closed2, logport, fe = (free_port() for _ in range(7))
    cfg = f"""
global
    log 127.0.0.1:{logport} local2
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be_http
backend be_tcp
    mode tcp
    server up 127.0.0.1:{up} check inter 200
    server refused 127.0.0.1:{closed} check inter 200
backend be_http
    option httpchk GET /health
    server bad 127.0.0.1:{h503} check inter 200
    server bk 127.0.0.1:{h200} check inter 200 backup
backend be_loghc
    option httpchk
    option log-health-checks
    server lone 127.0.0.1:{closed2} check inter 200 rise 1 fall 1
"""
    (tmp_path / "h.cfg").write_text(cfg)
    ours: list[str] = []
    theirs: list[str] = []

    async def main() -> None:
        from haproxy_py.engine.checker import Checker

        srv_up = await serve(up, None)
        srv_503 = await serve(h503, RESP503)
        srv_200 = await serve(h200, RESP200)
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", logport))
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), lambda: theirs.append(sock.recv(4096).decode()))
        proc = subprocess.Popen([haproxy_bin, "-db", "-f", str(tmp_path / "h.cfg")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t = Timeouts(connect=1000, check=1000)
        bes = [
            make_backend("be_tcp", [dict(name="up", port=up, check=True, inter=200),
                                    dict(name="refused", port=closed, check=True, inter=200)], mode="tcp",
                         timeouts=t),
            make_backend("be_http", [dict(name="bad", port=h503, check=True, inter=200),
                                     dict(name="bk", port=h200, check=True, inter=200, backup=True)],
                         http_check=HttpCheck(method="GET", uri="/health"), timeouts=t),
            make_backend("be_loghc", [dict(name="lone", port=closed2, check=True, inter=200, rise=1, fall=1)],
                         http_check=HttpCheck(), options=(("log-health-checks", True),), timeouts=t),
        ]
        ck = Checker(loop, bes, log=lambda p, sev, text: ours.append(f"<{144 + sev}>haproxy[0]: {text}"))
        ck.start()
        try:
            await asyncio.sleep(2.0)
        finally:
            ck.stop()
            proc.terminate()
            proc.wait(5)
            loop.remove_reader(sock.fileno())
            sock.close()
            srv_up.close()
            srv_503.close()
            srv_200.close()

    asyncio.run(main())
    assert [n for n in map(normalize, theirs) if n], f"haproxy logged nothing: {theirs}"
    got = by_backend(theirs)
    assert sorted(got) == ["be_http", "be_loghc", "be_tcp"], theirs
    assert sum(len(v) for v in got.values()) >= 5, theirs
    assert any("Running on backup." in line for line in theirs), theirs
    diffs = diff_check_logs(ours, theirs)
    assert not diffs, "\n".join(diffs)
