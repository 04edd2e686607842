"""Runtime API changes change where real requests go (recording backends), for haproxy-py and, as the
reference, Debian's HAProxy 2.6 with the same config and the same commands.

* ``set weight 0`` / ``state drain`` / ``state maint``: no new request reaches the server; weight back /
  ``state ready``: it receives requests again;
* ``disable frontend``: new connections are refused; ``enable frontend``: served again;
* ``shutdown sessions server``: a long-running TCP session through that server is closed, and its log
  line says it was killed by the admin (termination state ``K``).
"""

from __future__ import annotations

import shutil
import socket
import socketserver
import threading
import time

import pytest

from tests.conftest import free_port
from tests.integration.harness import get, http_backends, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket
from tests.integration.stats_client import socat_cli as cli
from tests.integration.syslog_sinks import recv_until_quiet, udp_sink

SOCAT = shutil.which("socat") or "/usr/bin/socat"
N = 8  # requests per phase

CFG = """
global
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend main
    mode http
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    mode http
    balance roundrobin
    server app1 127.0.0.1:{p1}
    server app2 127.0.0.1:{p2}
    server app3 127.0.0.1:{p3}
listen tcpin
    mode tcp
    log 127.0.0.1:{logport} local2
    option tcplog
    bind 127.0.0.1:{tcpfe}
    server echo1 127.0.0.1:{echo}
"""


class EchoServer:
    """A TCP echo server whose sessions last until the peer closes."""

    def __init__(self) -> None:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                while True:
                    try:
                        d = self.request.recv(65536)
                    except OSError:
                        return
                    if not d:
                        return
                    self.request.sendall(d)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["ours", "haproxy"], scope="module")
def lab(request):  # type: ignore[no-untyped-def]
    require_haproxy(request.param)
    echo = EchoServer()
    logsock, logport = udp_sink()
    try:
        with http_backends("app1", "app2", "app3") as bes:
            fe, tcpfe = free_port(), free_port()
            cfg = CFG.format(fe=fe, tcpfe=tcpfe, p1=bes[0].port, p2=bes[1].port, p3=bes[2].port,
                             echo=echo.port, logport=logport)
            with run_proxy(cfg, wait_ports=[fe, tcpfe], which=request.param) as pp:
                sock = admin_socket(pp)
                yield {"which": request.param, "fe": fe, "tcpfe": tcpfe, "sock": sock, "bes": bes,
                       "log": logsock, "proxy": pp}
    finally:
        echo.stop()
        logsock.close()


def _phase(lab, n: int = N) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Send n requests (one connection each); how many each backend received."""
    before = {b.name: len(b.requests) for b in lab["bes"]}
    for _ in range(n):
        status, hdrs, body = get(lab["fe"], "/")
        assert status == 200, (status, body)
    return {b.name: len(b.requests) - before[b.name] for b in lab["bes"]}


def test_baseline_spreads_over_all(lab) -> None:  # type: ignore[no-untyped-def]
    got = _phase(lab, 9)
    assert got == {"app1": 3, "app2": 3, "app3": 3}


@pytest.mark.parametrize("off,on", [
    ("set weight app/app2 0", "set weight app/app2 1"),
    ("set server app/app2 weight 0", "set server app/app2 weight 100%"),
    ("set server app/app2 state drain", "set server app/app2 state ready"),
    ("set server app/app2 state maint", "set server app/app2 state ready"),
    ("disable server app/app2", "enable server app/app2"),
])
def test_server_taken_out_and_back(lab, off: str, on: str) -> None:  # type: ignore[no-untyped-def]
    assert cli(lab["sock"], off) == "\n"
    try:
        got = _phase(lab)
        assert got["app2"] == 0, got
        assert got["app1"] + got["app3"] == N and got["app1"] > 0 and got["app3"] > 0
    finally:
        assert cli(lab["sock"], on) == "\n"
    got = _phase(lab, 9)
    assert got["app2"] >= 2, got  # back in the rotation (3 servers, 9 requests)


def test_weight_shifts_the_share(lab) -> None:  # type: ignore[no-untyped-def]
    assert cli(lab["sock"], "set weight app/app1 4") == "\n"
    try:
        got = _phase(lab, 12)
        assert got == {"app1": 8, "app2": 2, "app3": 2}, got
    finally:
        cli(lab["sock"], "set weight app/app1 1")


def test_disable_frontend_refuses_connections(lab) -> None:  # type: ignore[no-untyped-def]
    assert cli(lab["sock"], "disable frontend main") == "\n"
    try:
        stat = cli(lab["sock"], "show stat main 1 -1")
        assert ",FRONTEND," in stat and ",PAUSED," in stat, stat
        with pytest.raises(ConnectionRefusedError):
            with socket.create_connection(("127.0.0.1", lab["fe"]), timeout=2) as s:
                # a paused listener must not take connections it will never serve
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                s.settimeout(1.5)
                data = s.recv(100)
                raise AssertionError(f"connection accepted while paused, got {data!r}")
    finally:
        assert cli(lab["sock"], "enable frontend main") == "\n"
    assert ",OPEN," in cli(lab["sock"], "show stat main 1 -1")
    assert sum(_phase(lab, 3).values()) == 3


def test_disable_frontend_stops_serving(lab) -> None:  # type: ignore[no-untyped-def]
    """The weaker property: while the frontend is paused, no request is served or forwarded."""
    before = sum(len(b.requests) for b in lab["bes"])
    assert cli(lab["sock"], "disable frontend main") == "\n"
    served = None
    try:
        try:
            served = get(lab["fe"], "/", timeout=1.0)
        except (OSError, EOFError):
            pass
    finally:
        assert cli(lab["sock"], "enable frontend main") == "\n"
    assert served is None, served
    # a connection the kernel queued meanwhile may be served once resumed: wait for it to settle
    time.sleep(0.3)
    mid = sum(len(b.requests) for b in lab["bes"])
    assert mid - before <= 1
    assert sum(_phase(lab, 3).values()) == 3


def _drain_log(sock: socket.socket) -> None:
    recv_until_quiet(sock, 0.05)


def _killed_session(lab) -> str:  # type: ignore[no-untyped-def]
    """Open a TCP session through tcpin/echo1, kill it with the CLI; return its log line."""
    _drain_log(lab["log"])
    c = socket.create_connection(("127.0.0.1", lab["tcpfe"]), timeout=5)
    try:
        c.sendall(b"hello\n")
        assert c.recv(100) == b"hello\n"
        time.sleep(0.1)
        c.sendall(b"still there\n")
        assert c.recv(100) == b"still there\n"
        assert cli(lab["sock"], "shutdown sessions server tcpin/echo1") == "\n"
        c.settimeout(3)
        t0 = time.monotonic()
        try:
            rest = c.recv(100)
        except ConnectionResetError:
            rest = b""
        assert rest == b"", rest
        assert time.monotonic() - t0 < 2
    finally:
        c.close()
    lab["log"].settimeout(3)
    return lab["log"].recv(65536).decode()


def test_shutdown_sessions_server_closes_tcp_session(lab) -> None:  # type: ignore[no-untyped-def]
    line = _killed_session(lab)
    # ... tcpin tcpin/echo1 Tw/Tc/Tt BYTES TERM ac/fc/bc/sc/rc sq/bq
    fields = line.split("]: ", 1)[1].split()
    assert fields[2] == "tcpin" and fields[3] == "tcpin/echo1", line
    assert fields[5] == "18", line  # bytes server -> client
    assert fields[6][0] == "K", line  # killed by the admin
    # the server still takes new sessions
    with socket.create_connection(("127.0.0.1", lab["tcpfe"]), timeout=5) as c2:
        c2.sendall(b"again\n")
        assert c2.recv(100) == b"again\n"


def test_killed_session_log_line_as_haproxy(lab) -> None:  # type: ignore[no-untyped-def]
    line = _killed_session(lab)
    fields = line.split("]: ", 1)[1].split()
    assert fields[6] == "K-", line  # observed with Debian's HAProxy 2.6.12: no phase letter
    assert fields[7] == "1/1/0/0/0", line
