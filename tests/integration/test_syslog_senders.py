"""Real sockets: UDP and unix-datagram listeners receive our datagrams; dead or full targets cost
no time and are counted as drops; stdout/stderr targets write one line per message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from haproxy_py.config.model import Address, LogTarget
from haproxy_py.log.compare import parse_datagram
from haproxy_py.log.syslog import Logger, SenderPool, dropped_logs
from tests.conftest import ROOT, free_port


@pytest.fixture
def pool():
    p = SenderPool()
    yield p
    p.close()


def _udp_listener() -> tuple[socket.socket, int]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2.0)
    return s, s.getsockname()[1]


def _udp_target(port: int, **kw) -> LogTarget:
    return LogTarget(Address("ipv4", "127.0.0.1", port, port, text=f"127.0.0.1:{port}"), "local2", **kw)


def test_udp_listener_receives_datagrams(pool: SenderPool) -> None:
    lsock, port = _udp_listener()
    with lsock:
        lg = Logger([_udp_target(port)], pid=4242, pool=pool)
        lg.send(6, "hello world")
        lg.send(1, "Server be/s1 is DOWN")
        lg.send(7, "x" * 5000)  # longer than len 1024: truncated, still one datagram
        got = [lsock.recv(65536) for _ in range(3)]
    first = parse_datagram(got[0])
    assert got[0].endswith(b"]: hello world\n")
    assert (first["pri"], first["tag"], first["pid"], first["host"]) == (150, "haproxy", "4242", None)
    assert parse_datagram(got[1])["pri"] == 145
    assert len(got[2]) == 1025 and got[2].endswith(b"x\n")
    assert lg.sent == 3 and lg.dropped == 0


def test_udp_ipv6_and_default_port_resolution(pool: SenderPool) -> None:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        s.bind(("::1", 0))
    except OSError:
        pytest.fail("IPv6 loopback is needed on CI for this test")
    s.settimeout(2.0)
    port = s.getsockname()[1]
    with s:
        lg = Logger([LogTarget(Address("ipv6", "::1", port, port), "local0")], pool=pool)
        lg.send(6, "v6")
        assert s.recv(100).endswith(b": v6\n")
    # port 0 means 514 (the sender is built even if nobody listens)
    lg514 = Logger([LogTarget(Address("ipv4", "127.0.0.1", 0, 0), "local0")], pool=pool)
    assert lg514.targets[0].sender.addr == ("127.0.0.1", 514)


def test_unix_datagram_listener(tmp_path: Path, pool: SenderPool) -> None:
    path = str(tmp_path / "log.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    srv.settimeout(2.0)
    with srv:
        lg = Logger([LogTarget(Address("unix", path=path), "daemon", format="short")], pool=pool)
        lg.send(3, "via unix")
        assert srv.recv(100) == b"<3>via unix\n"


def test_dead_udp_target_costs_no_time_and_drops_nothing(pool: SenderPool) -> None:
    """Nobody listens: 2.6 sends on an unconnected socket, so the ICMP refusals never come back and
    DroppedLogs stays 0 (tests/differential/test_dropped_logs_vs_haproxy.py); so does haproxy-py."""
    port = free_port()
    lg = Logger([_udp_target(port)], pool=pool)
    before = dropped_logs(pool)
    t0 = time.perf_counter()
    for i in range(10_000):
        lg.send(6, f"line {i}")
    elapsed = time.perf_counter() - t0
    assert elapsed < 3.0, elapsed  # ~10 us per send; the bound is loose on purpose
    assert lg.dropped == 0 and lg.sent == 10_000
    assert dropped_logs(pool) - before == 0


def test_full_unix_socket_drops_without_blocking(tmp_path: Path, pool: SenderPool) -> None:
    path = str(tmp_path / "full.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    srv.bind(path)  # never read: its queue fills up
    with srv:
        lg = Logger([LogTarget(Address("unix", path=path), "local2")], pool=pool)
        t0 = time.perf_counter()
        for _ in range(10_000):
            lg.send(6, "y" * 200)
        elapsed = time.perf_counter() - t0
    assert elapsed < 3.0, elapsed
    assert lg.sent > 0 and lg.dropped > 0
    assert lg.sent + lg.dropped == 10_000


def test_missing_unix_path_and_unresolvable_host_only_count(tmp_path: Path, pool: SenderPool) -> None:
    lg = Logger(
        [
            LogTarget(Address("unix", path=str(tmp_path / "absent.sock")), "local2"),
            LogTarget(Address("ipv4", "name.invalid", 514, 514), "local2"),
        ],
        pool=pool,
    )
    for _ in range(100):
        lg.send(6, "nobody")
    assert lg.dropped == 200 and lg.sent == 0


def test_stdout_and_stderr_targets() -> None:
    code = (
        "from haproxy_py.config.model import Address, LogTarget\n"
        "from haproxy_py.log.syslog import Logger\n"
        "lg = Logger([LogTarget(Address('stdout'), 'local3', format='raw'),"
        " LogTarget(Address('stderr'), 'local3')], pid=99)\n"
        "lg.send(6, 'to both')\n"
        "lg.send(5, 'second')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"to both\nsecond\n"
    lines = out.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(b"<158>") and lines[0].endswith(b" haproxy[99]: to both")
    assert lines[1].startswith(b"<157>")


def test_full_pipe_on_stdout_drops_instead_of_blocking() -> None:
    # stdout is a pipe nobody reads: after ~64 KiB the target must drop, not block
    code = (
        "import time\n"
        "from haproxy_py.config.model import Address, LogTarget\n"
        "from haproxy_py.log.syslog import Logger\n"
        "lg = Logger([LogTarget(Address('stdout'), 'local3', format='raw')])\n"
        "t0 = time.perf_counter()\n"
        "for i in range(5000): lg.send(6, 'z' * 100)\n"
        "import sys; sys.stderr.write(f'{lg.sent} {lg.dropped} {time.perf_counter() - t0:.3f}')\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        t0 = time.monotonic()
        while p.poll() is None and time.monotonic() - t0 < 20:
            time.sleep(0.05)
        assert p.poll() is not None, "the logger blocked on a full stdout pipe"
        err = p.stderr.read().decode()
        sent, dropped, _elapsed = err.split()
        assert int(sent) > 0 and int(dropped) > 0 and int(sent) + int(dropped) == 5000
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=5)
        p.stdout.close()
        p.stderr.close()
