"""Servers' status lines against HAProxy 2.6 side by side, on generated lines: what the client
receives for each (the status line as forwarded or the 502 page, headers and body), in the end the
backends' failed-response counters (``show stat`` eresp), with and without
``option accept-invalid-http-response``.

The generator draws what 2.6.12's HTTP/1 parser decides on: the version token (``HTTP/1.1``, any
four upper-case letters or digits before ``/D.D``, lower case, ``-``, other lengths), the blanks
between the parts (runs of SP and HTAB, a VT, none), the code (three digits, leading zeros, more
digits whose 16-bit value is a status of 200 or more, a letter), the reason (any byte but LF:
NUL, control bytes, 8-bit bytes; a CR refuses the line), empty lines before the status line.
Left out: codes whose 16-bit value is below 200: below 100 haproxy-py refuses what 2.6 forwards
without its framing headers (README), 1xx are interim responses (tests/unit/test_http_parse.py).
"""

from __future__ import annotations

import random
import re
import socket
import time
from pathlib import Path

import pytest

from tests.integration.harness import TcpServer, free_port, require_haproxy, run_proxy, wait_files

_VER_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./"
_REASON_BYTES = bytes(b for b in range(256) if b not in (10, 13))
# the code 2.6 would read in a line (its syntax is checked by the proxies, not here)
_CODE = re.compile(rb"[^ \t]+[ \t]+([0-9]+)")


def _version(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.35:
        return rng.choice((b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9"))
    if r < 0.6:
        return bytes(rng.choice(_VER_CHARS) for _ in range(4)) + b"/%d.%d" % (rng.randint(0, 9), rng.randint(0, 9))
    if r < 0.75:
        return rng.choice((b"http/1.1", b"HT-P/1.1", b"HTTP/1.10", b"HTTP/11", b"HTTP/a.1", b"HTTPX1.1",
                           b"HTTP/1.1/", b"xTTP/1.1"))
    return bytes(rng.choice(_VER_CHARS) for _ in range(rng.randint(1, 10)))


def _blanks(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.6:
        return b" "
    if r < 0.95:
        return bytes(rng.choice(b" \t") for _ in range(rng.randint(1, 4)))
    return rng.choice((b"\x0b", b"", b" \x0c"))


def _code(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.6:
        return b"%d" % rng.randint(200, 999)
    if r < 0.75:
        return b"0" * rng.randint(1, 3) + b"%d" % rng.choice((200, 204, 301, 404, 503))
    if r < 0.9:
        while True:  # more digits, a 16-bit value of 200 or more (2.6 wraps the status)
            v = rng.randint(1000, 10 ** rng.randint(4, 20))
            if (v % (1 << 32)) & 0xFFFF >= 200:
                return b"%d" % v
    return rng.choice((b"20x", b"+200", b"", b"x"))


def _reason(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.3:
        return rng.choice((b"OK", b"", b"Not Found", b"OK  ", b" spaced"))
    s = bytes(rng.choice(_REASON_BYTES) for _ in range(rng.randint(1, 12)))
    if rng.random() < 0.1:
        s += b"\r" + s
    return s


def _status_line(rng: random.Random) -> bytes:
    pre = b""
    if rng.random() < 0.15:
        pre = rng.choice((b"\r\n", b"\n", b"\r\n\r\n", b"\r", b" "))
    line = pre + _version(rng) + _blanks(rng) + _code(rng)
    if rng.random() < 0.85:
        line += _blanks(rng) + _reason(rng)
    return line


class _Server(TcpServer):
    """Answers request /rN with status line N, a content-length and a 2-byte body."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines
        super().__init__(backlog=64)

    def serve(self, c: socket.socket) -> None:
        with c:
            c.settimeout(3)
            buf = b""
            try:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
                k = int(buf.split(b" ", 2)[1][2:])
                c.sendall(self.lines[k] + b"\r\ncontent-length: 2\r\nx-k: %d\r\n\r\nok" % k)
                time.sleep(0.05)
            except (OSError, ValueError, IndexError):
                pass


def _exchange(port: int, raw: bytes) -> bytes:
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    out = b""
    with c:
        c.sendall(raw)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                out += d
        except OSError:
            pass
    return out


def _eresp(path: Path) -> dict[str, str]:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(b"show stat\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    rows = [ln.split(",") for ln in data.decode().splitlines() if ln and not ln.startswith("#")]
    return {r[0]: r[14] for r in rows if r[1] == "BACKEND"}


def _run(which: str, lines: list[bytes]) -> list[object]:
    srv = _Server(lines)
    p0, p1 = free_port(), free_port()
    cfg = (f"global\n    stats socket @DIR@/s.sock level admin\n"
           "defaults\n    mode http\n    timeout connect 2s\n    timeout client 3s\n    timeout server 3s\n"
           f"frontend strict\n    bind 127.0.0.1:{p0}\n    default_backend be_strict\n"
           f"frontend relaxed\n    bind 127.0.0.1:{p1}\n    default_backend be_relaxed\n"
           f"backend be_strict\n    server s 127.0.0.1:{srv.port}\n"
           f"backend be_relaxed\n    option accept-invalid-http-response\n    server s 127.0.0.1:{srv.port}\n")
    out: list[object] = []
    try:
        with run_proxy(cfg, wait_ports=[p0, p1], which=which) as pp:
            sock = pp.workdir / "s.sock"
            wait_files([sock])
            for k in range(len(lines)):
                for port in (p0, p1):
                    got = _exchange(port, b"GET /r%d HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n" % k)
                    out.append((k, port == p1, got))
            out.append(_eresp(sock))
    finally:
        srv.close()
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_status_lines_as_haproxy(seed: int) -> None:
    require_haproxy("haproxy")
    rng = random.Random(seed)
    lines = []
    while len(lines) < 40:
        line = _status_line(rng)
        m = _CODE.match(line.lstrip(b"\r\n"))
        if m is not None and (int(m.group(1)) % (1 << 32)) & 0xFFFF < 200:
            continue  # below 100: a deliberate difference; 1xx: interim responses (module doc)
        lines.append(line)
    ref = _run("haproxy", lines)
    ours = _run("ours", lines)
    for r, o in zip(ref, ours, strict=True):
        assert o == r, (lines[r[0]] if isinstance(r, tuple) else None)  # type: ignore[index]
    answers = [x for x in ref if isinstance(x, tuple)]
    # the generator reaches both verdicts, and lines only the option lets through
    assert any(b" 502 " not in x[2][:14] for x in answers)  # type: ignore[index]
    assert any(b" 502 " in x[2][:14] for x in answers)  # type: ignore[index]
    assert any(x[1] and b" 502 " not in x[2][:14] for x in answers)  # type: ignore[index]
