"""``tcp-check connect`` options against Debian's HAProxy 2.6: what the server receives.

A recording server answers +PONG to whatever comes; both proxies check it with the same
sequences (a ``connect send-proxy`` with and without a port, then a plain ``connect``); the bytes
each connection brought are compared (the check connection's own source port masked), and so are
the check results.
"""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from tests.integration.harness import TcpServer, require_haproxy, run_proxy, wait_files

pytestmark = [pytest.mark.needs_haproxy]


class Recorder(TcpServer):
    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        try:
            c.settimeout(0.3)
            data = b""
            while not data.endswith(b"PING\r\n"):  # the PROXY line may come in a segment of its own
                d = c.recv(1000)
                if not d:
                    break
                data += d
            with self.lock:
                self.got.append(data)
            c.sendall(b"+PONG\r\n")
        except OSError:
            pass
        finally:
            c.close()


def _cfg(port: int, port2: int) -> str:
    return f"""global
    stats socket @DIR@/s.sock level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
backend b_sp
    option tcp-check
    tcp-check connect send-proxy
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG
    server s1 127.0.0.1:{port} check inter 300
backend b_spport
    option tcp-check
    tcp-check connect port {port2} send-proxy linger comment "to the other port"
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG
    server s1 127.0.0.1:1 check inter 300
"""


def test_connect_send_proxy_as_haproxy() -> None:
    """The PROXY v1 line (TCP4, the check connection's addresses) before the first send."""
    require_haproxy("haproxy")
    got = {}
    for which in ("ours", "haproxy"):
        r1, r2 = Recorder(), Recorder()
        try:
            with run_proxy(_cfg(r1.port, r2.port), which=which) as pp:
                wait_files([pp.workdir / "s.sock"], 10, pp.stderr_text)
                time.sleep(1.2)
                for _ in range(20):  # a snapshot without a check in progress (2.6 blanks its text)
                    with socket.socket(socket.AF_UNIX) as s:
                        s.settimeout(5)
                        s.connect(str(pp.workdir / "s.sock"))
                        s.sendall(b"show stat\n")
                        stat = b""
                        while chunk := s.recv(65536):
                            stat += chunk
                    if b",* " not in stat:
                        break
                    time.sleep(0.05)
            rows = sorted(",".join(ln.split(",")[i] for i in (0, 1, 17, 36, 56))
                          for ln in stat.decode().splitlines()[1:] if ln and ",BACKEND," not in ln)
            with r1.lock, r2.lock:
                seen = [re.sub(rb" \d+ (\d+)\r\n", rb" SPORT \1\r\n", d)
                        .replace(str(r1.port).encode(), b"P1").replace(str(r2.port).encode(), b"P2")
                        for d in r1.got[:2] + r2.got[:2]]
            got[which] = (seen, rows)
        finally:
            r1.close()
            r2.close()
    assert got["haproxy"][0], "2.6 sent nothing"
    assert got["ours"] == got["haproxy"]
