"""HAProxy-generated responses, end to end: our proxy replays the lab setup of
``samples/error_pages/`` (same config, our ports) and must send the captured bytes and log the
captured lines (field by field, timers by shape, dates/ports/pids ignored)."""

from __future__ import annotations

import re
import socket
import time

import pytest

from haproxy_py.log.compare import compare_datagrams
from tests.conftest import SAMPLES
from tests.integration.harness import HttpBackend, TcpServer, free_port, http_request, run_proxy

PAGES = SAMPLES / "error_pages"


class UdpLog:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(3)

    def next(self) -> bytes:
        return self.sock.recv(65536)

    def close(self) -> None:
        self.sock.close()


def _lab_backend(name: str) -> HttpBackend:
    be = HttpBackend(name)

    def behaviour(rec):  # type: ignore[no-untyped-def]
        path = rec.start.split()[1].decode()
        if path.startswith("/noresp"):
            return None
        m = re.search(r"ms=(\d+)", path)
        if m:
            time.sleep(int(m.group(1)) / 1000)
        return 200, [], b"ok\n"

    be.behaviour = behaviour
    return be.start()


class _Garbage(TcpServer):
    """A server that answers anything with a non-HTTP line, or closes without answering."""

    threaded = False

    def __init__(self, payload: bytes | None) -> None:
        self.payload = payload
        super().__init__(16)

    def serve(self, c: socket.socket) -> None:
        try:
            c.recv(65536)
            if self.payload:
                c.sendall(self.payload)
        except OSError:
            pass
        c.close()


@pytest.fixture(scope="module")
def lab():  # type: ignore[no-untyped-def]
    log = UdpLog()
    ok = _lab_backend("s1")
    garbage = _Garbage(b"THIS IS NOT HTTP\r\n\r\n")
    refused = free_port()
    fe = free_port()
    cfg = (PAGES / "haproxy.cfg").read_text()
    cfg = cfg.replace("127.0.0.1:23515", f"127.0.0.1:{log.port}")
    cfg = re.sub(r"\n\s*stats socket .*", "", cfg)
    cfg = cfg.replace("127.0.0.1:23300", f"127.0.0.1:{fe}")
    cfg = cfg.replace("127.0.0.1:23310", f"127.0.0.1:{garbage.port}")
    cfg = cfg.replace("127.0.0.1:23099", f"127.0.0.1:{refused}")
    cfg = cfg.replace("127.0.0.1:23001", f"127.0.0.1:{ok.port}")
    with run_proxy(cfg, wait_ports=[fe]) as proxy:
        # the wait_port probe connection itself produces a 408 after http-request 1s: drain it
        time.sleep(1.3)
        try:
            while True:
                log.sock.settimeout(0.2)
                log.next()
        except TimeoutError:
            pass
        log.sock.settimeout(4)
        yield fe, log, proxy
    for x in (ok, garbage):
        x.stop() if hasattr(x, "stop") else x.close()
    log.close()


def _sample_log(fragment: str) -> bytes:
    for line in (PAGES / "log.txt").read_text().splitlines():
        if fragment in line:
            return line.encode() + b"\n"
    raise AssertionError(f"no sample log line with {fragment!r}")


CASES = [
    # (request path, expected sample file, log fragment identifying the sample line)
    ("/deny", "403_deny.http", '"GET /deny HTTP/1.1"'),
    ("/d500", "500_deny_status_500.http", '"GET /d500 HTTP/1.1"'),
    ("/d429", "429_deny_status.http", '"GET /d429 HTTP/1.1"'),
    ("/d404", "404_deny_status.http", '"GET /d404 HTTP/1.1"'),
    ("/d401", "401_deny_status.http", '"GET /d401 HTTP/1.1"'),
    ("/d405", "405_deny_status.http", '"GET /d405 HTTP/1.1"'),
    ("/d407", "407_deny_status.http", '"GET /d407 HTTP/1.1"'),
    ("/d410", "410_deny_status.http", '"GET /d410 HTTP/1.1"'),
    ("/d413", "413_deny_status.http", '"GET /d413 HTTP/1.1"'),
    ("/d425", "425_deny_status.http", '"GET /d425 HTTP/1.1"'),
    ("/d501", "501_deny_status.http", '"GET /d501 HTTP/1.1"'),
    ("/d200", "200_deny_status.http", '"GET /d200 HTTP/1.1"'),
    ("/nosrv", "503_backend_without_servers.http", '"GET /nosrv HTTP/1.1"'),
    ("/down", "503_all_servers_down.http", '"GET /down HTTP/1.1"'),
    ("/garbage", "502_invalid_server_response.http", '"GET /garbage HTTP/1.1"'),
    ("/refused", "503_connection_refused_after_retries.http", '"GET /refused HTTP/1.1"'),
    ("/slow?ms=3000", "504_server_timeout.http", '"GET /slow?ms=3000 HTTP/1.1"'),
    ("/noresp", "502_server_closed_without_response.http", '"GET /noresp HTTP/1.1"'),
]


@pytest.mark.parametrize("path,sample,fragment", CASES, ids=[c[0] for c in CASES])
def test_generated_response_and_log_match_haproxy(lab, path: str, sample: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    fe, log, proxy = lab
    raw = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    # stream-emitted errors keep the connection open: read with a short timeout
    got = http_request(fe, raw, timeout=2.5)
    want = (PAGES / sample).read_bytes()
    assert got == want, f"{path}: got {got!r}\nwant {want!r}\n{proxy.stderr_text()}"
    dgram = log.next()
    diffs = compare_datagrams(dgram, _sample_log(fragment))
    # the sample was produced with facility local0 on our side too; only dates/ports/pids differ
    assert diffs == [], f"{path}: {diffs}\n{dgram!r}"


def test_bad_request_is_mux_400_and_logged_badreq(lab) -> None:  # type: ignore[no-untyped-def]
    fe, log, _ = lab
    got = http_request(fe, b"GET /bad\x01path HTTP/1.1\r\nHost: x\r\n\r\n", timeout=2)
    assert got == (PAGES / "400_bad_request.http").read_bytes()
    diffs = compare_datagrams(log.next(), _sample_log('400 0 - - PR--'))
    assert diffs == []


def test_http_request_timeout_is_408(lab) -> None:  # type: ignore[no-untyped-def]
    fe, log, _ = lab
    s = socket.create_connection(("127.0.0.1", fe), timeout=4)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never completed
    t0 = time.monotonic()
    data = s.recv(65536)
    elapsed = time.monotonic() - t0
    s.close()
    assert data == (PAGES / "408_http_request_timeout.http").read_bytes()
    assert 0.8 < elapsed < 3.0
    diffs = compare_datagrams(log.next(), _sample_log('408 0 - - cR--'))
    assert diffs == []
