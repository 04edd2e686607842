"""The listen() backlog of each bind, side by side with Debian's HAProxy 2.6, read from the kernel
(``ss -ltn``: Send-Q of a listening socket): the bind's ``backlog``, else the proxy's ``backlog``
(also from defaults), else the frontend's ``maxconn``, else the process maxconn (capped by the
kernel's somaxconn)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy

CFG = """\
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend plain
    bind 127.0.0.1:{plain}
    bind 127.0.0.1:{own} backlog 100
    default_backend be
frontend px
    bind 127.0.0.1:{px}
    backlog 200
    default_backend be
frontend mc
    bind 127.0.0.1:{mc}
    maxconn 50
    default_backend be
frontend both
    bind 127.0.0.1:{both}
    maxconn 50
    backlog 300
    default_backend be
defaults named
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    backlog 77
frontend inherited from named
    bind 127.0.0.1:{inh}
    default_backend be2
backend be
    server s 127.0.0.1:1
backend be2 from named
    server s 127.0.0.1:1
"""
NAMES = ("plain", "own", "px", "mc", "both", "inh")


def _backlogs(ports: dict[str, int]) -> dict[str, int]:
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, timeout=10).stdout
    by_port = {}
    for ln in out.splitlines():
        w = ln.split()
        if len(w) >= 4 and w[3].startswith("127.0.0.1:"):
            by_port[int(w[3].rsplit(":", 1)[1])] = int(w[2])
    return {n: by_port.get(p, -1) for n, p in ports.items()}


@pytest.mark.parametrize("which", ["haproxy", "ours"])
def test_listen_backlog_as_haproxy(which: str) -> None:
    require_haproxy(which, "2.6's backlogs")
    assert shutil.which("ss"), "ss (iproute2) is needed"
    ports = {n: free_port() for n in NAMES}
    with run_proxy(CFG.format(**ports), wait_ports=list(ports.values()), which=which):
        got = _backlogs(ports)
    somaxconn = int(open("/proc/sys/net/core/somaxconn").read())
    assert got == {"plain": min(somaxconn, got["plain"]), "own": 100, "px": 200, "mc": 50, "both": 300, "inh": 77}
    assert got["plain"] >= min(somaxconn, 4096), got  # the process maxconn, capped by the kernel
