"""HTTP request parsing defences end to end, replayed from HAProxy 2.6.12's capture.

``samples/http_handling/request_parsing.txt`` holds, for 39 requests, the exact bytes sent to HAProxy
(frontend of ``samples/error_pages/haproxy.cfg``, default HTTP options) and the exact bytes the client
received; the backend echoed the raw request (head and body) it got from HAProxy, so the capture also
shows what was forwarded. We run our proxy with the same configuration and an echo backend that
answers the same way, send the same bytes and compare everything the client receives, including the
forwarded request inside the echo.

Deliberate differences (normalised or checked separately, nothing else is):

=================================  =============================  ===================================
what                                HAProxy 2.6.12                 haproxy-py
=================================  =============================  ===================================
header name case (response head     lower-cased                    kept as received -> names compared
and the echoed request head)                                       case-insensitively
control byte / NUL in a header      forwarded unchanged            400 (documented strictness of
value                                                              http/parse.py)
=================================  =============================  ===================================
"""

from __future__ import annotations

import ast
import re
import socket
import time
from collections.abc import Iterator

import pytest

from tests.conftest import SAMPLES
from tests.integration.harness import TcpServer, free_port, run_proxy

CAPTURE = SAMPLES / "http_handling" / "request_parsing.txt"
DELIBERATE_400 = {"ctl_char_in_header_value", "nul_in_header_value"}

pytestmark = [pytest.mark.timeout(120)]


def _cases() -> list[tuple[str, bytes, bytes]]:
    data = CAPTURE.read_bytes()
    out = []
    for part in data.split(b"######## ")[1:]:
        name, _, rest = part.partition(b"\n")
        sent_hdr, _, rest = rest.partition(b"\n")
        assert sent_hdr.startswith(b">>>>>>>> SENT")
        sent_repr, _, rest = rest.partition(b"\n")
        recv_hdr, _, raw = rest.partition(b"\n")
        assert recv_hdr.startswith(b"<<<<<<<< RECEIVED")
        sent = ast.literal_eval(sent_repr.decode("latin-1"))
        assert raw.endswith(b"\n\n")
        out.append((name.decode().rstrip("?"), sent, raw[:-2]))
    return out


CASES = _cases()


class EchoServer(TcpServer):
    """Answers every request with its raw bytes (head + body as received), like the lab backend."""

    def __init__(self) -> None:
        super().__init__(32)

    def serve(self, c: socket.socket) -> None:
        c.settimeout(10)
        f = c.makefile("rb")
        try:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = f.readline()
                    if not line:
                        return
                    head += line
                lower = head.lower()
                body = b""
                m = re.search(rb"\r\ncontent-length: *(\d+)", lower)
                if b"\r\ntransfer-encoding:" in lower and b"chunked" in lower:
                    while True:
                        size_line = f.readline()
                        body += size_line
                        size = int(size_line.split(b";")[0].strip(), 16)
                        if size == 0:
                            while True:
                                t = f.readline()
                                body += t
                                if t in (b"\r\n", b""):
                                    break
                            break
                        body += f.read(size + 2)
                elif m:
                    body = f.read(int(m.group(1)))
                payload = head + body
                c.sendall(b"HTTP/1.1 200 X\r\ncontent-type: text/plain\r\nx-server: s1\r\n"
                          b"content-length: %d\r\n\r\n" % len(payload) + payload)
                if b"\r\nconnection: close" in lower:
                    return
        except (OSError, ValueError):
            return
        finally:
            c.close()


@pytest.fixture(scope="module")
def proxy_port() -> Iterator[int]:
    echo = EchoServer()
    fe = free_port()
    cfg = (SAMPLES / "error_pages" / "haproxy.cfg").read_text()
    cfg = re.sub(r"\n\s*stats socket .*", "", cfg)
    cfg = re.sub(r"\n\s*log 127\.0\.0\.1:\d+ .*", "", cfg)
    cfg = cfg.replace("127.0.0.1:23300", f"127.0.0.1:{fe}")
    cfg = cfg.replace("127.0.0.1:23001", f"127.0.0.1:{echo.port}")
    with run_proxy(cfg, wait_ports=[fe]) as p:
        time.sleep(0.2)
        yield fe
        assert p.proc.poll() is None, p.stderr_text()
    echo.close()


def _exchange(port: int, data: bytes) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        out = b""
        s.settimeout(3)  # keep-alive cases are closed by 'timeout http-request 1s'
        while True:
            try:
                d = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not d:
                break
            out += d
        return out
    finally:
        s.close()


def _lower_names(head: bytes) -> bytes:
    lines = head.split(b"\r\n")
    return b"\r\n".join([lines[0]] + [
        (ln.partition(b":")[0].lower() + b":" + ln.partition(b":")[2]) if b":" in ln else ln for ln in lines[1:]])


def _normalise(resp: bytes) -> bytes:
    """Header names lower-cased in the response head and in the echoed request head of the body."""
    out = b""
    rest = resp
    while rest:
        head, sep, rest = rest.partition(b"\r\n\r\n")
        if not sep:
            return out + rest
        out += _lower_names(head) + sep
        m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
        n = int(m.group(1)) if m else 0
        body, rest = rest[:n], rest[n:]
        bh, bsep, btail = body.partition(b"\r\n\r\n")
        if bsep and re.match(rb"[A-Za-z]+ \S+ HTTP/", bh):
            t0, zsep, trailers = btail.partition(b"0\r\n")
            if zsep and trailers.strip():
                btail = t0 + zsep + _lower_names(b"x\r\n" + trailers)[3:]
            body = _lower_names(bh) + bsep + btail
        out += body
    return out


@pytest.mark.parametrize("name,sent,want", CASES, ids=[c[0] for c in CASES])
def test_replay_request_parsing_capture(proxy_port: int, name: str, sent: bytes, want: bytes) -> None:
    got = _exchange(proxy_port, sent)
    if name in DELIBERATE_400:
        assert want.startswith(b"HTTP/1.1 200 X"), "HAProxy forwarded it"
        assert got.startswith(b"HTTP/1.1 400 Bad request\r\n"), got
        return
    assert _normalise(got) == _normalise(want), f"{name}\n got  {got!r}\n want {want!r}"


def test_capture_is_complete() -> None:
    assert len(CASES) == 39
    assert sum(1 for _, _, w in CASES if w.startswith(b"HTTP/1.1 400")) >= 15
