"""Connection limits: a full frontend (or process) stops accepting; excess connections wait in the
kernel backlog and are served as others close: never refused, never dropped. Also `fd@N` binds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.harness import (
    HTTP_DEFAULTS,
    ROOT,
    HttpBackend,
    free_port,
    get,
    http_defaults,
    run_proxy,
    wait_port,
)


def _slow_backend(delay: float) -> HttpBackend:
    be = HttpBackend("s1")
    be.delay = delay
    return be.start()


@pytest.mark.parametrize("where", ["frontend", "global"])
def test_maxconn_queues_in_backlog_and_serves_everyone(where: str) -> None:
    be = _slow_backend(0.4)
    fe = free_port()
    glob = "global\n    maxconn 2\n" if where == "global" else ""
    fe_max = "    maxconn 2\n" if where == "frontend" else ""
    cfg = glob + http_defaults("10s") + f"""\
frontend fe
    bind 127.0.0.1:{fe}
{fe_max}    default_backend be
backend be
    server s1 127.0.0.1:{be.port}
"""
    try:
        with run_proxy(cfg, wait_ports=[fe]):
            time.sleep(0.2)
            t0 = time.monotonic()
            with ThreadPoolExecutor(max_workers=6) as ex:
                results = list(ex.map(lambda i: get(fe, f"/m{i}", timeout=10)[0], range(6)))
            elapsed = time.monotonic() - t0
    finally:
        be.stop()
    assert results == [200] * 6
    assert be.max_concurrent <= 2
    # three waves of two 0.4 s requests: the limit really held connections back
    assert elapsed >= 1.1


def test_fd_bind_inherited_socket() -> None:
    """`bind fd@N`: a listening socket created by the parent is used as is."""
    be = HttpBackend("s1").start()
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    port = ls.getsockname()[1]
    fd = ls.fileno()
    os.set_inheritable(fd, True)
    cfg = HTTP_DEFAULTS + f"""\
frontend fe
    bind fd@{fd}
    default_backend be
backend be
    server s1 127.0.0.1:{be.port}
"""
    import tempfile

    d = tempfile.mkdtemp()
    path = os.path.join(d, "h.cfg")
    with open(path, "w") as f:
        f.write(cfg)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "haproxy_py", "-db", "-f", path], pass_fds=(fd,),
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ls.close()  # only the proxy holds it now
        wait_port(port)
        assert get(port, "/fd")[0] == 200
    finally:
        proc.terminate()
        proc.wait(5)
        be.stop()
