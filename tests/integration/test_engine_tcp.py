"""mode tcp end to end: bulk transfers (splice and buffered), half-close, timeouts, health mode."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time

import pytest

from tests.integration.harness import TcpServer, free_port, run_proxy
from tests.integration.syslog_sinks import recv_probe_lines, udp_sink


class EchoHashServer(TcpServer):
    """Reads everything until EOF, then answers with the sha256 of what it read followed by
    ``reply_size`` pseudo-random bytes, then closes (exercises both directions and half-close)."""

    def __init__(self, reply_size: int = 0) -> None:
        self.reply_size = reply_size
        self.reply = os.urandom(reply_size)
        super().__init__(16)

    def serve(self, c: socket.socket) -> None:
        h = hashlib.sha256()
        try:
            while True:
                d = c.recv(1 << 16)
                if not d:
                    break
                h.update(d)
            c.sendall(h.hexdigest().encode() + b"\n" + self.reply)
        except OSError:
            pass
        finally:
            c.close()


def _cfg(fe: int, port: int, extra: str = "") -> str:
    return f"""
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
{extra}
listen tcpsvc
    bind 127.0.0.1:{fe}
    server t1 127.0.0.1:{port}
"""


@pytest.mark.parametrize("splice", [True, False], ids=["splice", "buffered"])
def test_10mb_both_ways_checksum_and_half_close(splice: bool) -> None:
    srv = EchoHashServer(reply_size=10 * 1024 * 1024)
    fe = free_port()
    env = {} if splice else {"HAPROXY_PY_NOSPLICE": "1"}
    payload = os.urandom(10 * 1024 * 1024)
    with run_proxy(_cfg(fe, srv.port), wait_ports=[fe], env=env):
        s = socket.create_connection(("127.0.0.1", fe), timeout=20)
        sender = threading.Thread(target=lambda: (s.sendall(payload), s.shutdown(socket.SHUT_WR)))
        sender.start()
        chunks = []
        while True:
            d = s.recv(1 << 16)
            if not d:
                break
            chunks.append(d)
        sender.join()
        s.close()
    srv.close()
    data = b"".join(chunks)
    digest, _, rest = data.partition(b"\n")
    # the server only answers after our EOF reached it: half-close went through the proxy
    assert digest.decode() == hashlib.sha256(payload).hexdigest()
    assert hashlib.sha256(rest).digest() == hashlib.sha256(srv.reply).digest()


def test_server_refused_closes_client_after_retries() -> None:
    fe = free_port()
    dead = free_port()
    with run_proxy(_cfg(fe, dead, "    retries 1"), wait_ports=[fe]):
        s = socket.create_connection(("127.0.0.1", fe), timeout=5)
        t0 = time.monotonic()
        assert s.recv(10) == b""
        assert time.monotonic() - t0 < 4
        s.close()


def test_idle_tcp_session_times_out() -> None:
    srv = EchoHashServer()
    fe = free_port()
    cfg = _cfg(fe, srv.port).replace("timeout client 10s", "timeout client 600ms").replace(
        "timeout server 10s", "timeout server 600ms")
    with run_proxy(cfg, wait_ports=[fe]):
        s = socket.create_connection(("127.0.0.1", fe), timeout=5)
        t0 = time.monotonic()
        assert s.recv(10) == b""  # nobody talks: the proxy closes
        assert 0.4 < time.monotonic() - t0 < 3
        s.close()
    srv.close()


def test_tcplog_line() -> None:
    log, logport = udp_sink(3)
    srv = EchoHashServer(reply_size=100)
    fe = free_port()
    cfg = f"global\n    log 127.0.0.1:{logport} local2\n" + _cfg(
        fe, srv.port, "    log global\n    option tcplog")
    with run_proxy(cfg, wait_ports=[fe]):
        recv_probe_lines(log, 1)  # the probe connection of wait_ports
        log.settimeout(3)
        s = socket.create_connection(("127.0.0.1", fe), timeout=5)
        s.sendall(b"abc")
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
        s.close()
        line = log.recv(65536)
    log.close()
    srv.close()
    import re

    assert re.match(rb"<150>.* haproxy\[\d+\]: 127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] "
                    rb"tcpsvc tcpsvc/t1 \d+/\d+/\d+ 165 -- 1/1/0/0/0 0/0\n$", line), line


def test_health_mode_answers_ok() -> None:
    fe = free_port()
    cfg = f"""
listen h
    bind 127.0.0.1:{fe}
    mode health
"""
    with run_proxy(cfg, wait_ports=[fe]):
        s = socket.create_connection(("127.0.0.1", fe), timeout=3)
        assert s.recv(10) == b"OK\n"
        s.close()


def test_health_mode_with_httpchk_answers_http_200() -> None:
    fe = free_port()
    cfg = f"""
listen h
    bind 127.0.0.1:{fe}
    mode health
    option httpchk
"""
    with run_proxy(cfg, wait_ports=[fe]):
        s = socket.create_connection(("127.0.0.1", fe), timeout=3)
        assert s.recv(100) == b"HTTP/1.0 200 OK\r\n\r\n"
        s.close()
