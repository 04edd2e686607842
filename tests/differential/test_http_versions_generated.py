"""Generated inputs, both programs: how the response head and the connection behave toward the
client for every mix of HTTP versions and connection headers, beside Debian's HAProxy 2.6.

A raw backend answers each request as its path says: version 1.0 or 1.1, Content-Length,
chunked or close-delimited framing, and an optional Connection header. Clients send HTTP/1.0 or
1.1 with or without a Connection header, through the default mode, http-server-close and
httpclose. Compared per case: the status line, the Connection header(s) sent to the client (names
lower-cased: haproxy-py keeps the case it received, 2.6 lower-cases), the body, and whether the
proxy closed the client connection after the response.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy

SEED = 2612


class RawBackend:
    """Answers ``GET /v/FRAMING/CONN`` with the head it names, then closes when asked to."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c: socket.socket) -> None:
        c.settimeout(5)
        buf = b""
        try:
            while not self.stop.is_set():
                while b"\r\n\r\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                parts = head.split(b" ", 2)[1].decode().strip("/").split("/")
                if len(parts) != 3:  # the harness's probe, or anything else
                    return
                ver, framing, conn = parts
                lines = [f"HTTP/{ver} 200 OK"]
                if conn != "none":
                    lines.append(f"Connection: {conn}")
                body = b"hello"
                if framing == "cl":
                    lines.append(f"Content-Length: {len(body)}")
                    payload = body
                elif framing == "chunked":
                    lines.append("Transfer-Encoding: chunked")
                    payload = b"5\r\nhello\r\n0\r\n\r\n"
                else:
                    payload = body
                c.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
                if framing == "close" or conn == "close" or (ver == "1.0" and conn != "keep-alive"):
                    return
        except OSError:
            return
        finally:
            c.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(timeout=5)


CFG = """\
defaults
    mode http
    timeout connect 2s
    timeout client 3s
    timeout server 3s
    timeout http-keep-alive 3s
listen ka
    bind 127.0.0.1:{ka}
    server s 127.0.0.1:{be}
listen sc
    bind 127.0.0.1:{sc}
    option http-server-close
    server s 127.0.0.1:{be}
listen hc
    bind 127.0.0.1:{hc}
    option httpclose
    server s 127.0.0.1:{be}
"""


#: once a whole response whose framing tells its end is in, how long to wait for the proxy to
#: close: a proxy that closes after a response does it at once
CLOSE_GRACE = 0.5


def _complete(data: bytes) -> bool:
    """``data`` is one whole response framed by content-length or chunked (not by the close)."""
    p = data.find(b"\r\n\r\n")
    if p < 0:
        return False
    head, body = data[:p].lower(), data[p + 4:]
    if b"\r\ntransfer-encoding: chunked" in head:
        return body.endswith(b"\r\n0\r\n\r\n")
    cl = [ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")[1:] if ln.startswith(b"content-length:")]
    return len(cl) == 1 and cl[0].isdigit() and len(body) == int(cl[0])


def _exchange(port: int, path: str, cver: str, cconn: str) -> tuple[str, tuple[str, ...], bytes, bool]:
    req = f"GET {path} HTTP/{cver}\r\nHost: t\r\n" + (f"Connection: {cconn}\r\n" if cconn != "none" else "") + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(req.encode())
        c.settimeout(1.5)
        data = b""
        closed = False
        while True:
            if _complete(data):
                c.settimeout(CLOSE_GRACE)
            try:
                d = c.recv(65536)
            except TimeoutError:
                break
            if not d:
                closed = True
                break
            data += d
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    conn = tuple(sorted(ln.lower() for ln in lines[1:] if ln.lower().startswith("connection:")))
    return lines[0], conn, body, closed


def cases(n: int, seed: int = SEED) -> list[tuple[str, str, str, str, str, str]]:
    every = [(lst, ver, fr, sconn, cver, cconn)
             for lst, ver, fr, sconn, cver, cconn in itertools.product(
                 ("ka", "sc", "hc"), ("1.0", "1.1"), ("cl", "chunked", "close"), ("none", "close", "keep-alive"),
                 ("1.0", "1.1"), ("none", "close", "keep-alive"))]
    return random.Random(seed).sample(every, n)


@contextlib.contextmanager
def _proxies() -> Iterator[dict[str, dict[str, int]]]:
    be = RawBackend()
    try:
        with contextlib.ExitStack() as st:
            out = {}
            for which in ("ours", "haproxy"):
                ports = {k: free_port() for k in ("ka", "sc", "hc")}
                st.enter_context(run_proxy(CFG.format(be=be.port, **ports), wait_ports=list(ports.values()),
                                           which=which))
                out[which] = ports
            yield out
    finally:
        be.close()


@pytest.mark.slow
def test_response_versions_and_connection_headers_as_haproxy() -> None:
    require_haproxy("haproxy")
    picked = cases(60)
    assert len({c[1] for c in picked}) == 2 and len({c[4] for c in picked}) == 2
    assert any(c[0] != "hc" and c[1:3] == ("1.0", "chunked") for c in picked)  # 2.6 closes after those
    diffs = []
    with _proxies() as px, ThreadPoolExecutor(4) as pool:
        # each case on connections of its own: a few at a time
        futs = {(lst, ver, fr, sconn, cver, cconn): {
                    w: pool.submit(_exchange, px[w][lst], f"/{ver}/{fr}/{sconn}", cver, cconn)
                    for w in ("ours", "haproxy")}
                for lst, ver, fr, sconn, cver, cconn in picked}
        for (lst, ver, fr, sconn, cver, cconn), fs in futs.items():
            path = f"/{ver}/{fr}/{sconn}"
            got = {w: f.result() for w, f in fs.items()}
            if got["ours"] != got["haproxy"]:
                diffs.append(((lst, path, cver, cconn), got))
    assert not diffs, "\n".join(f"{k}\n  2.6:  {g['haproxy']}\n  ours: {g['ours']}" for k, g in diffs[:8])
