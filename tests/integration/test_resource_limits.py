"""Resource limits against a client that does not read: which timeout cuts it, and how much memory it
may make the proxy hold (issue #13). Every case runs on both proxies, HAProxy 2.6 being the reference."""

from __future__ import annotations

import socket
import time

import pytest

from tests.integration.harness import HttpBackend, free_port, require_haproxy, run_proxy

WHICH = ["haproxy", "ours"]


def _cfg(fe: int, be_port: int, tmo_client: str, tmo_server: str, extra_global: str = "") -> str:
    return f"""global
    log stderr format raw local0
{extra_global}defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client {tmo_client}
    timeout server {tmo_server}
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    server s1 127.0.0.1:{be_port}
"""


@pytest.mark.parametrize("which", WHICH)
@pytest.mark.parametrize(("tmo_client", "tmo_server"), [(1.0, 3.0), (3.0, 1.0)])
def test_client_that_stops_reading_is_cut_by_timeout_client(which: str, tmo_client: float,
                                                            tmo_server: float) -> None:
    """A big response, a client that never reads it: the proxy's buffers fill, the server side
    waits for room (no server timeout runs), and the client's inactivity ends the session after
    `timeout client`, logged cD (the client-side timeout during the data phase)."""
    require_haproxy(which)
    big = b"x" * (48 << 20)
    be = HttpBackend("s1")
    be.behaviour = lambda r: (200, [], big)
    be.start()
    fe = free_port()
    try:
        with run_proxy(_cfg(fe, be.port, f"{int(tmo_client * 1000)}ms", f"{int(tmo_server * 1000)}ms"), wait_ports=[fe], which=which) as p:
            s = socket.create_connection(("127.0.0.1", fe))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            try:
                s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                t0 = time.monotonic()
                line = ""
                while time.monotonic() - t0 < 8:
                    line = next((ln for ln in p.stderr_text().splitlines() if "GET /big" in ln), "")
                    if line:
                        break
                    time.sleep(0.05)
                elapsed = time.monotonic() - t0
            finally:
                s.close()
    finally:
        be.stop()
    assert line, f"{which}: nothing logged in 8 s"
    fields = line.split()
    assert fields[fields.index("200") + 4] == "cD--", line
    assert tmo_client - 0.1 <= elapsed <= tmo_client + 0.9, (which, elapsed, line)
