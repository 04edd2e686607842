"""Runtime-API clients for tests: the unix stats socket spoken to directly or through socat.

``ADMIN_SOCKET`` is the ``global`` section most client tests start their config with; ``run_proxy``
replaces ``@DIR@`` with the proxy's work directory, where ``admin_socket`` then waits for the file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

from tests.conftest import free_port
from tests.integration.harness import (
    HTTP_DEFAULTS,
    MAIN_TO_APP,
    ProxyProcess,
    get,
    http_backends,
    recv_all,
    run_proxy,
    wait_files,
)

SOCAT = shutil.which("socat") or "/usr/bin/socat"

ADMIN_SOCKET = """\
global
    stats socket @DIR@/admin.sock mode 600 level admin
"""

# ``main`` -> ``app`` (round robin over app1 and app2) with an admin stats socket
TWO_SERVER_CFG = ADMIN_SOCKET + HTTP_DEFAULTS + MAIN_TO_APP + """\
    server app1 127.0.0.1:{p1}
    server app2 127.0.0.1:{p2}
"""


def admin_socket(pp: ProxyProcess, name: str = "admin.sock", timeout: float = 10.0,
                 detail: Callable[[], str] | None = None) -> str:
    """The path of a stats socket in the proxy's work directory, once the proxy created it."""
    path = str(pp.workdir / name)
    wait_files([path], timeout, detail)
    return path


def stats_cli(path: str, cmd: str, *, encoding: str = "utf-8", timeout: float = 5.0,
              bufsize: int = 65536) -> str:
    """One non-interactive runtime-API command over a unix stats socket: the whole reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(cmd.encode() + b"\n")
        return recv_all(s, bufsize).decode(encoding)


def socat(target: str, data: bytes, timeout: float = 10) -> bytes:
    """`printf DATA | socat - TARGET`, returning what socat printed (socat must exit 0)."""
    assert os.path.exists(SOCAT), "socat is required (Debian package socat)"
    p = subprocess.run([SOCAT, "-t2", "-", target], input=data, capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


def socat_cli(sock: str, cmd: str) -> str:
    """`echo CMD | socat - UNIX-CONNECT:SOCK` as an operator's script runs it (exit status not checked)."""
    return subprocess.run([SOCAT, "-t2", "-", f"UNIX-CONNECT:{sock}"], input=(cmd + "\n").encode(),
                          capture_output=True, timeout=10).stdout.decode()


@contextlib.contextmanager
def two_server_proxy(which: str, warmup: int = 0) -> Iterator[dict[str, Any]]:
    """``TWO_SERVER_CFG`` run by ``which`` ("ours" or "haproxy") over two recording backends.

    Yields ``fe`` (frontend port), ``sock`` (admin socket path, created), ``bes`` (the backends),
    ``pid``; ``warmup`` requests (each must answer 200) have gone through it.
    """
    with http_backends("app1", "app2") as bes:
        fe = free_port()
        with run_proxy(TWO_SERVER_CFG.format(fe=fe, p1=bes[0].port, p2=bes[1].port), wait_ports=[fe],
                       which=which) as pp:
            sock = admin_socket(pp)
            for _ in range(warmup):
                assert get(fe, "/")[0] == 200
            yield {"fe": fe, "sock": sock, "bes": bes, "pid": pp.pid}
