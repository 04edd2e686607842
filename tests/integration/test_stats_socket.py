"""Drive engine/stats_socket.py with real socat on a unix socket (and a TCP one) in a tmp dir."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from haproxy_py.config.model import Address, StatsSocket
from haproxy_py.engine.stats_socket import start_stats_sockets
from tests.conftest import free_port
from tests.unit.test_stats_fixture import sample_state

SOCAT = shutil.which("socat")


class Running:
    """The stats sockets served by an event loop in a thread."""

    def __init__(self, socks: list[StatsSocket]) -> None:
        self.loop = asyncio.new_event_loop()
        self.state = sample_state()
        self.servers: list = []
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)

            async def boot() -> None:
                self.servers = await start_stats_sockets(self.state, socks, self.loop)
                ready.set()

            self.loop.run_until_complete(boot())
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        assert ready.wait(5)

    def stop(self) -> None:
        async def close() -> None:
            for s in self.servers:
                await s.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def unix_sock(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = str(tmp_path / "admin.sock")
    r = Running([StatsSocket(Address("unix", path=path), mode=0o600, level="admin")])
    yield path, r
    r.stop()


def socat(path: str, data: bytes, timeout: float = 5) -> bytes:
    assert SOCAT, "socat is required"
    p = subprocess.run([SOCAT, "-t2", "stdio", f"unix-connect:{path}"], input=data, capture_output=True,
                       timeout=timeout)
    return p.stdout


def test_one_command_per_connection(unix_sock) -> None:  # type: ignore[no-untyped-def]
    path, _r = unix_sock
    assert socat(path, b"show cli level\n") == b"admin\n\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    out = socat(path, b"show stat\n").decode()
    assert out.startswith("# pxname,svname,") and out.endswith(",\n\n")
    assert len(out.splitlines()) == 17  # header, 15 rows, the empty line


def test_semicolon_list_and_buffered_lines(unix_sock) -> None:  # type: ignore[no-untyped-def]
    path, _r = unix_sock
    assert socat(path, b"show cli level;get weight app/s2\n") == b"admin\n\n2 (initial 2)\n\n"
    assert socat(path, b"show cli level\nshow cli level\n") == b"admin\n\nadmin\n\n"


def test_prompt_mode_keeps_connection(unix_sock) -> None:  # type: ignore[no-untyped-def]
    path, _r = unix_sock
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(b"prompt\n")
        assert _read_until(s, b"> ") == b"\n> "
        s.sendall(b"show cli level\n")
        assert _read_until(s, b"> ") == b"admin\n\n> "
        s.sendall(b"set weight app/s1 3\n")
        assert _read_until(s, b"> ") == b"\n> "
        s.sendall(b"quit\n")
        assert s.recv(100) == b""
    assert socat(path, b"get weight app/s1\n") == b"3 (initial 1)\n\n"


def _read_until(s: socket.socket, end: bytes) -> bytes:
    buf = b""
    while not buf.endswith(end):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def test_garbage_flood_costs_only_the_flooder(unix_sock) -> None:  # type: ignore[no-untyped-def]
    path, _r = unix_sock
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(path)
        try:
            for _ in range(64):
                s.sendall(os.urandom(4096).replace(b"\n", b"x"))
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            rest = s.recv(100)
        except (TimeoutError, ConnectionResetError):
            rest = b""
        assert rest == b""
    # binary garbage with a newline is just an unknown command
    out = socat(path, b"\x00\xff\x01garbage\n")
    assert out.startswith(b"Unknown command")
    assert socat(path, b"show cli level\n") == b"admin\n\n"


def test_stale_socket_replaced_and_tcp_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    old = socket.socket(socket.AF_UNIX)
    old.bind(path)
    old.close()  # leaves a stale socket file
    port = free_port()
    r = Running([StatsSocket(Address("unix", path=path), mode=0o660, level="user"),
                 StatsSocket(Address("ipv4", "127.0.0.1", port, port), level="operator")])
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        assert socat(path, b"show cli level\n") == b"user\n\n"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"show cli level\n")
            assert _read_until(s, b"\n\n") == b"operator\n\n"
            assert s.recv(10) == b""
    finally:
        r.stop()
    assert not os.path.exists(path)
