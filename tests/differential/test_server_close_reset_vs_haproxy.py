"""How the proxy ends a server connection it does not keep, against Debian's HAProxy 2.6: after a
complete transaction 2.6 resets it (so that no TIME_WAIT piles up on its side: server-close,
httpclose, a private connection of ``http-reuse never`` when its client leaves, one its pool does
not keep), and closes with a FIN only what it still holds when it stops. A recording server tells,
for each of its connections, whether it saw a FIN or a reset; the sequences of a few client
patterns are compared per mode.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.integration.harness import TcpServer, free_port, require_haproxy, run_proxy

pytestmark = [pytest.mark.needs_haproxy]


class Ends(TcpServer):
    """Answers each request with 200 (``Connection: close`` when ``/close`` is asked) and notes how
    each connection ended: FIN, RST, or the server's own close."""

    def __init__(self) -> None:
        self.ends: dict[int, str] = {}
        self.n = 0
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        with self.lock:
            self.n += 1
            k = self.n
        buf, how = b"", "open"
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    how = "FIN"
                    break
                buf += d
                if b"\r\n\r\n" in buf:
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    if b" /close" in head:
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                        how = "server closed"
                        break
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except ConnectionResetError:
            how = "RST"
        except OSError:
            how = "error"
        with self.lock:
            self.ends[k] = how
        c.close()


def _get(port: int, path: str, linger: float) -> None:
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    c.recv(4096)
    time.sleep(linger)
    c.close()


PATTERNS = {
    "one client then another": [("/a", 0.2), ("/b", 0.0)],
    "three at a pause": [("/a", 0.1), ("/b", 0.1), ("/c", 0.1)],
    "server closes": [("/close", 0.1), ("/b", 0.0)],
}


def _run(which: str, option: str, pattern: list[tuple[str, float]]) -> list[str]:
    srv = Ends()
    port = free_port()
    cfg = f"""global
    nbthread 1
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    {option}
    server s1 127.0.0.1:{srv.port}
"""
    try:
        with run_proxy(cfg, wait_ports=[port], which=which):
            time.sleep(0.1)
            for path, linger in pattern:
                _get(port, path, linger)
                time.sleep(0.1)
            time.sleep(0.2)
            with srv.lock:
                before = dict(srv.ends)  # what the proxy ended while running
        time.sleep(0.2)
        with srv.lock:
            after = dict(srv.ends)
    finally:
        srv.close()
    return [before.get(k, "open") + " / " + after.get(k, "open") for k in sorted(after)]


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@pytest.mark.parametrize("option", ["option http-server-close", "option httpclose", "http-reuse never",
                                    "option http-keep-alive"])
def test_server_connections_end_as_haproxy(option: str, pattern: str) -> None:
    require_haproxy("haproxy")
    theirs = _run("haproxy", option, PATTERNS[pattern])
    ours = _run("ours", option, PATTERNS[pattern])
    assert ours == theirs
    assert any("RST" in t for t in theirs) or pattern == "server closes"
