"""Generated inputs, both programs: a client's chunked request body that turns invalid, through
Debian's HAProxy 2.6 and haproxy-py side by side (the request-side twin of
test_chunked_response_errors_vs_haproxy.py).

Each case is a valid chunked body (test_http_defects_vs_haproxy.py's generator) broken by one of
its mutations, sent in two parts cut anywhere after the head with a pause between. Compared per
case: what the client received (its status line, whether the connection closed), what the server
got (the request's payload as the server decoded it, or nothing), the ``ereq`` counter and the
``show errors`` dump with the error's position (the dates, the source port and 2.6's ``H1 ...``
state lines aside); and the log lines' status and termination state.
"""

from __future__ import annotations

import random
import socket
import threading
import time

import pytest

from haproxy_py.http.body import dechunk
from tests.differential.test_http_defects_vs_haproxy import MUTATIONS, _chunk_parts
from tests.integration.harness import TcpServer, free_port, run_proxy, wait_files
from tests.integration.stats_client import stats_cli
from tests.integration.test_show_errors_vs_haproxy import _norm

pytestmark = [pytest.mark.timeout(240), pytest.mark.needs_haproxy]

PAUSE = 0.25

CFG = """\
global
    stats socket @DIR@/s.sock level admin
defaults
    mode http
    log stdout format raw local0
    option httplog
    timeout connect 2s
    timeout client 2s
    timeout server 2s
    timeout http-request 2s
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    server s1 127.0.0.1:{be}
"""


def generated_case(rng: random.Random, k: int) -> tuple[bytes, bytes]:
    """(first part, second part) of a request whose chunked body is invalid somewhere."""
    name = rng.choice(sorted(MUTATIONS))
    body = MUTATIONS[name](_chunk_parts(rng), rng)
    cut = rng.choice([len(body), rng.randint(0, len(body))])
    head = b"POST /c%d HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" % k
    return head + body[:cut], body[cut:]


class Recorder(TcpServer):
    """Reads what each connection sends until it pauses or ends, answers 200 once a head came."""

    def __init__(self) -> None:
        self.got: dict[bytes, bytes] = {}
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        buf = b""
        c.settimeout(PAUSE + 0.6)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                buf += d
                if buf.endswith(b"0\r\n\r\n"):
                    break
        except OSError:
            pass
        head, _, body = buf.partition(b"\r\n\r\n")
        key = head.split(b" ", 2)[1] if b" " in head else b"?"
        try:
            payload = dechunk(body) if b"chunked" in head.lower() else body
        except Exception:  # noqa: BLE001 - what a broken forward looks like, compared as is
            payload = b"undecodable:" + body
        with self.lock:
            self.got[key] = payload
        try:
            if head:
                c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        except OSError:
            pass
        c.close()


def _exchange(port: int, first: bytes, second: bytes) -> tuple[bytes, bool]:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    out, closed = b"", False
    try:
        s.sendall(first)
        time.sleep(PAUSE)
        try:
            s.sendall(second)
        except OSError:
            pass
        s.settimeout(1.2)
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            out += d
    except TimeoutError:
        pass
    except ConnectionResetError:
        closed = True
    finally:
        s.close()
    return out.split(b"\r\n", 1)[0], closed


def _log_fields(text: str) -> list[tuple[str, str]]:
    out = []
    for ln in text.splitlines():
        f = ln.split()
        if len(f) > 9 and f[2] == "fe":
            out.append((f[5], f[9]))
    return out


def _run(which: str, cases: list[tuple[bytes, bytes]]) -> dict[str, object]:
    srv = Recorder()
    port = free_port()
    per_case = []
    try:
        with run_proxy(CFG.format(fe=port, be=srv.port), wait_ports=[port], which=which) as pp:
            sock = str(pp.workdir / "s.sock")
            wait_files([sock])
            for k, (first, second) in enumerate(cases):
                got = _exchange(port, first, second)
                time.sleep(0.1)
                with srv.lock:
                    seen = srv.got.get(b"/c%d" % k)
                ereq = [ln.split(",")[12] for ln in stats_cli(sock, "show stat").splitlines() if ln.startswith("fe,")]
                per_case.append((got, seen, ereq, _norm(stats_cli(sock, "show errors"))))
            time.sleep(0.2)
            logs = _log_fields(pp.stderr_text())
    finally:
        srv.close()
    return {"cases": per_case, "logs": logs}


@pytest.mark.parametrize("seed", [1, 2])
def test_chunked_request_errors_as_haproxy(seed: int) -> None:
    cases = [generated_case(random.Random(f"req/{seed}/{k}"), k) for k in range(12)]
    ref = _run("haproxy", cases)
    ours = _run("ours", cases)
    for n, (r, o) in enumerate(zip(ref["cases"], ours["cases"], strict=True)):  # type: ignore[call-overload]
        assert o == r, f"case {n}: {cases[n]!r}\n 2.6:  {r}\n ours: {o}"
    # sorted: the harness's port probe (a connection closed at once, logged 400 CR--) is logged by
    # 2.6's two threads before or after the first case's line
    assert sorted(ours["logs"]) == sorted(ref["logs"])  # type: ignore[call-overload]
    assert any("error at position" in c[3] for c in ref["cases"])  # type: ignore[attr-defined]
