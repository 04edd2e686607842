"""tcp-response inspect-delay with tcp-response content rules in an HTTP backend, side by side
with Debian's HAProxy 2.6: generated responses (head and body in one to three pieces, some
after the delay, close-delimited or chunked ones) and requests choosing which rule decides
(accept, reject, close, silent-drop, on res.len or a response header), compared by what the
client got and the log line (status, termination state, %B, res.len at each evaluation, WAIT_END,
whether %Tr was measured)."""

from __future__ import annotations

import random
import re
import socket
import time

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import TcpServer, free_port, http_request, run_proxy

pytestmark = [pytest.mark.needs_haproxy]

SCEN: dict[str, list[tuple[float, bytes | None]]] = {}


class Scripted(TcpServer):
    """Reads request heads; answers each with its scenario's parts (pause, bytes; None: close)."""

    def serve(self, c: socket.socket) -> None:
        c.settimeout(5)
        try:
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    got = c.recv(4096)
                    if not got:
                        return
                    buf += got
                head, _, buf = buf.partition(b"\r\n\r\n")
                key = head.split(b" ")[1].decode().strip("/").split("-")[1]
                for pause, data in SCEN[key]:
                    time.sleep(pause)
                    if data is None:
                        return
                    c.sendall(data)
        except (OSError, KeyError, IndexError):
            pass
        finally:
            c.close()


CFG = """
global
    log stderr format raw local0
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 3s
    timeout server 3s
frontend f
    bind 127.0.0.1:{port}
    log-format "%ST %ts %B l=%[var(txn.l)] w=%[var(txn.w)] s=%[var(txn.s)] tr=%[var(txn.tr)] %{{+Q}}r"
    http-request set-var(txn.what) path,field(2,/),field(1,-)
    http-response set-var(txn.tr) str(y)
    default_backend b
backend b
    tcp-response inspect-delay 600ms
    tcp-response content set-var(txn.l) res.len,concat(/,txn.l)
    tcp-response content accept if {{ var(txn.what) -m str acc0 }}
    tcp-response content reject if {{ var(txn.what) -m str rej }} {{ res.len gt 0 }}
    tcp-response content close if {{ var(txn.what) -m str close }} {{ res.len gt 0 }}
    tcp-response content silent-drop if {{ var(txn.what) -m str drop }} {{ res.len gt 0 }}
    tcp-response content reject if {{ var(txn.what) -m str rejh }} {{ res.hdr(x-k) -m str r }}
    tcp-response content accept if {{ var(txn.what) -m str acc }} {{ res.len gt 60 }}
    tcp-response content reject if {{ var(txn.what) -m str rejp }} {{ res.payload(0,4) -m str HTTP }}
    tcp-response content set-var(txn.w) str(end) if WAIT_END
    tcp-response content set-var(txn.s) status
    http-response set-header X-L %[var(txn.l)]
    server s 127.0.0.1:{srv}
"""

WHATS = ["none", "acc0", "rej", "close", "drop", "rejh", "acc", "rejp", "none"]


def _response(rnd: random.Random) -> list[tuple[float, bytes | None]]:
    kind = rnd.choice(["cl", "cl", "cl", "close", "chunked"])
    body = bytes(rnd.choice(b"abcxyz") for _ in range(rnd.choice([0, 3, 20, 90])))
    hdrs = f"X-K: {rnd.choice('rn')}\r\n"
    if kind == "cl":
        msg = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{hdrs}\r\n".encode() + body
    elif kind == "close":
        msg = f"HTTP/1.1 200 OK\r\n{hdrs}\r\n".encode() + body
    else:
        msg = (f"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n{hdrs}\r\n".encode()
               + (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n")
    first = rnd.choice([0.0, 0.0, 0.0, 0.25, 0.9])  # 0.9: after the delay
    if kind == "chunked" or rnd.random() < 0.4:
        parts: list[tuple[float, bytes | None]] = [(first, msg)]
    else:
        cuts = sorted(rnd.sample(range(1, len(msg)), min(rnd.randint(1, 2), len(msg) - 1)))
        bounds = [0, *cuts, len(msg)]
        parts = [(first if i == 0 else 0.15, msg[bounds[i]:bounds[i + 1]]) for i in range(len(bounds) - 1)]
    if kind == "close":
        parts.append((0.1, None))
    return parts


def _scenarios(seed: int, n: int) -> list[bytes]:
    rnd = random.Random(seed)
    conns = []
    SCEN.clear()
    for i in range(n):
        SCEN[f"k{i}"] = _response(rnd)
        what = rnd.choice(WHATS)
        req = f"GET /{what}-k{i} HTTP/1.1\r\nHost: h\r\n"
        if SCEN[f"k{i}"][-1][1] is not None and rnd.random() < 0.3:
            # keep-alive: a second request (answered the same way) on the same connection
            conns.append((req + "\r\n" + req + "Connection: close\r\n\r\n").encode())
        else:
            conns.append((req + "Connection: close\r\n\r\n").encode())
    return conns


def _norm(data: bytes) -> bytes:
    """What the client got, header names lower-cased (2.6 lower-cases them; a deliberate
    difference) and chunked bodies de-chunked (2.6 merges the chunks it held into one)."""
    out = []
    for part in re.split(rb"(?=HTTP/1\.1 )", data):
        head, sep, body = part.partition(b"\r\n\r\n")
        if b"transfer-encoding: chunked" in head.lower():
            plain = b""
            while body:
                size, _, rest = body.partition(b"\r\n")
                n = int(size or b"0", 16)
                plain += rest[:n]
                body = rest[n + 2:]
                if not n:
                    break
            body = plain
        out.append(head.lower() + sep + body)
    return b"".join(out)


def _run(which: str, conns: list[bytes]) -> tuple[list[bytes], list[str]]:
    srv = Scripted()
    port = free_port()
    try:
        with run_proxy(CFG.format(port=port, srv=srv.port), wait_ports=[port], which=which) as pp:
            got = [_norm(http_request(port, c, timeout=1.2 if b"/drop" in c else 3)) for c in conns]
            deadline = time.monotonic() + 5
            want = sum(c.count(b"GET /") for c in conns)
            while time.monotonic() < deadline:
                lines = [ln for ln in pp.stderr_text().splitlines() if '"GET /' in ln]
                if len(lines) >= want:
                    break
                time.sleep(0.05)
            time.sleep(0.2)
            lines = sorted(ln for ln in pp.stderr_text().splitlines() if '"GET /' in ln)
    finally:
        srv.close()
    return got, lines


@pytest.mark.slow
def test_http_tcp_response_inspect_delay_as_haproxy() -> None:
    require_haproxy_bin()
    conns = _scenarios(1512, 18)
    ha = _run("haproxy", conns)
    ours = _run("ours", conns)
    for i, (a, b) in enumerate(zip(ha[0], ours[0], strict=True)):
        assert a == b, (conns[i], SCEN[f"k{i}"], a, b)
    assert ha[1] == ours[1]
    # the cases that make it worth comparing happened
    text = "\n".join(ha[1])
    assert " PD " in text and " SD " in text and " PR " in text and "w=end" in text
    assert re.search(r"l=\d+/\d+/\d+/", text)  # evaluated again as the response came
