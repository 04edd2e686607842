"""Log receivers for tests: UDP sockets that collect datagrams, and a real rsyslogd (Debian package).

``rsyslogd`` runs in the foreground with its own config (imudp on a loopback port, the given rules)
and pid file, and is stopped by PID when the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.harness import stop_process

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"


def udp_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (free_port() only checks TCP)."""
    for _ in range(20):
        p = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
        return p
    raise RuntimeError("no free UDP port")


def udp_sink(timeout: float | None = None) -> tuple[socket.socket, int]:
    """A UDP socket bound to an ephemeral port of 127.0.0.1 (the caller closes it) and that port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    return s, s.getsockname()[1]


def recv_until_quiet(sock: socket.socket, timeout: float | None = None) -> list[bytes]:
    """The datagrams received until none comes for the socket's timeout (``timeout`` sets it first)."""
    if timeout is not None:
        sock.settimeout(timeout)
    got = []
    try:
        while True:
            got.append(sock.recv(65536))
    except (TimeoutError, BlockingIOError):
        pass
    return got


def recv_probe_lines(sock: socket.socket, n: int, timeout: float = 10.0) -> list[bytes]:
    """The ``n`` lines the harness's port probes (``wait_ports``: connections closed at once) make
    the proxy log, waited for (``timeout`` seconds at most: a loaded machine may bring them later
    than a fixed wait), then whatever else comes until 0.2 s of quiet; the socket's timeout is
    kept. After it, the next line received is the first of the test's own traffic."""
    kept = sock.gettimeout()
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < n and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                got.append(sock.recv(65536))
            except TimeoutError:
                break
        return got + recv_until_quiet(sock, 0.2)
    finally:
        sock.settimeout(kept)


def wait_lines(path: Path, n: int, timeout: float = 10.0) -> list[str]:
    """The lines of ``path`` once it has ``n`` of them, or what it has after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        if path.exists():
            lines = path.read_text(encoding="latin-1").splitlines()
            if len(lines) >= n:
                return lines
        time.sleep(0.05)
    return lines


@contextlib.contextmanager
def rsyslogd(workdir: Path, port: int, template: str, rules: list[tuple[str, Path]]) -> Iterator[None]:
    """rsyslogd listening on UDP 127.0.0.1:``port``; each rule ``(selector, file)`` writes with ``template``.

    Ready once it wrote its pid file (imudp is bound before that); fails the test if it does not start.
    """
    if not Path(RSYSLOGD).exists():
        pytest.fail("rsyslogd not found: install Debian's rsyslog package (see .ci/run)")
    conf = workdir / "rsyslog.conf"
    conf.write_text(
        f'global(workDirectory="{workdir}")\n'
        'module(load="imudp")\n'
        f'input(type="imudp" address="127.0.0.1" port="{port}")\n'
        f'template(name="t" type="string" string="{template}")\n'
        + "".join(f'{sel} action(type="omfile" file="{out}" template="t")\n'
                  for sel, out in rules)
    )
    pidfile = workdir / "rsyslogd.pid"
    proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(conf), "-i", str(pidfile)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not pidfile.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None or not pidfile.exists():
            pytest.fail("rsyslogd did not start: " + (proc.stdout.read().decode(errors="replace")  # type: ignore[union-attr]
                                                      if proc.poll() is not None else "timeout"))
        time.sleep(0.2)
        yield
    finally:
        stop_process(proc)
        proc.stdout.close()  # type: ignore[union-attr]
