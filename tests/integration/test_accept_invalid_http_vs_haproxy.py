"""``option accept-invalid-http-request`` / ``accept-invalid-http-response`` against HAProxy 2.6
side by side, on generated heads: for each, what the client got (status line, the whole response
for responses), what the server received (request head), and in the end the proxies' error
counters (``show stat`` ereq of the frontends, eresp of the backends); one proxy with and one
without the option, so both the relaxed and the strict answer are compared.

The generator draws the bytes 2.6 relaxes (header names of any byte, URI bytes '#' and 0xa4-0xff,
HTTP/0.9 request lines, versions of upper-case letters, digits, '.' and '/', an absolute URI whose
authority is not the Host) and what stays refused (an empty name, URI control bytes, a bad
content-length, a lower-case version). Left out: URI bytes 0x7f-0xa3, which strict 2.6 lets
through or not depending on their place (its four-bytes-at-a-time URI skip; the relaxed parser
takes them like any other) and control bytes in header values (haproxy-py refuses them in both
modes, README's differences). Heads are compared in lower case: haproxy-py forwards header names
with their case (README), 2.6 in lower case.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy, wait_files

_NAME_BYTES = bytes(b for b in range(256) if b not in (10, 13, 58))
_URI_BYTES = bytes(range(0x21, 0x7f)) + bytes(range(0xa4, 0x100))
_VER_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./"


def _name(rng: random.Random) -> bytes:
    if rng.random() < 0.4:
        return rng.choice((b"X-A", b"x-b", b"Accept")) + bytes([rng.choice(_NAME_BYTES)])
    return bytes(rng.choice(_NAME_BYTES) for _ in range(rng.randint(1, 6)))


def _version(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.5:
        return rng.choice((b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.10", b"HTTP/11", b"FOO/1.1",
                           b"http/1.1", b"HTTP/1.x"))
    return bytes(rng.choice(_VER_BYTES) for _ in range(rng.randint(1, 9)))


def _request(rng: random.Random, k: int) -> bytes:
    kind = rng.choice(("uri", "name", "v09", "version", "authority", "refused", "mixed"))
    uri = b"/r%d" % k
    if kind in ("uri", "mixed"):
        uri += bytes(rng.choice(_URI_BYTES) for _ in range(rng.randint(1, 8)))
    if kind == "v09":
        return rng.choice((b"GET ", b"POST ", b"HEAD ")) + uri + rng.choice((b"\r\n", b"\n", b" \r\n"))
    if kind == "authority":
        uri = rng.choice((b"http://other", b"http://h", b"https://h:443")) + uri
    version = _version(rng) if kind in ("version", "mixed") else b"HTTP/1.1"
    lines = [b"GET " + uri + b" " + version, b"Host: h"]
    if kind in ("name", "mixed"):
        lines += [_name(rng) + b": v%d" % j for j in range(rng.randint(1, 3))]
    if kind == "refused":
        lines.append(rng.choice((b": empty", b"content-length: 1\r\ncontent-length: 2", b"content-length: x",
                                 b"x: a\rb", b"X\x01: 1")))
        if rng.random() < 0.5:
            lines[0] = b"GET /r%d\x01x HTTP/1.1" % k
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _response(rng: random.Random, k: int) -> bytes:
    kind = rng.choice(("name", "version", "refused", "mixed"))
    version = _version(rng) if kind in ("version", "mixed") else b"HTTP/1.1"
    lines = [version + b" 200 OK", b"x-k: %d" % k]
    if kind in ("name", "mixed"):
        lines += [_name(rng) + b": v%d" % j for j in range(rng.randint(1, 3))]
    if kind == "refused":
        lines.append(rng.choice((b": empty", b"content-length: 3", b"content-length: x", b"X\x0d: 1")))
    lines.append(b"content-length: 2")
    return b"\r\n".join(lines) + b"\r\n\r\nok"


class _Server:
    """Records each request head (by the /rN in it) and answers the response set for /rN."""

    def __init__(self, responses: dict[bytes, bytes]) -> None:
        self.responses = responses
        self.seen: dict[bytes, bytes] = {}
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        with c:
            c.settimeout(3)
            buf = b""
            try:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        break
                    buf += d
                key = buf.split(b" ", 2)[1].split(b"\x00")[0][:5] if b" " in buf else b""
                key = b"/r" + bytes(ch for ch in key[2:] if 48 <= ch <= 57)
                self.seen[key] = buf.split(b"\r\n\r\n")[0]
                c.sendall(self.responses.get(key, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"))
                time.sleep(0.05)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


def _exchange(port: int, raw: bytes) -> bytes:
    c = socket.create_connection(("127.0.0.1", port), timeout=3)
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


def _stat(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
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
    return {(r[0], r[1]): (r[12], r[14]) for r in rows if r[1] in ("FRONTEND", "BACKEND")}


def _cfg(p0: int, p1: int, srv: int, side: str) -> str:
    req = "    option accept-invalid-http-request\n" if side == "request" else ""
    res = "    option accept-invalid-http-response\n" if side == "response" else ""
    return (f"global\n    stats socket @DIR@/s.sock level admin\n"
            "defaults\n    mode http\n    timeout connect 2s\n    timeout client 2s\n    timeout server 2s\n"
            f"frontend strict\n    bind 127.0.0.1:{p0}\n    default_backend be_strict\n"
            f"frontend relaxed\n    bind 127.0.0.1:{p1}\n{req}    default_backend be_relaxed\n"
            f"backend be_strict\n    server s 127.0.0.1:{srv}\n"
            f"backend be_relaxed\n{res}    server s 127.0.0.1:{srv}\n")


def _run(which: str, side: str, seed: int, count: int) -> list[object]:
    rng = random.Random(seed)
    if side == "request":
        reqs = [_request(rng, k) for k in range(count)]
        responses: dict[bytes, bytes] = {}
    else:
        reqs = [b"GET /r%d HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n" % k for k in range(count)]
        responses = {b"/r%d" % k: _response(rng, k) for k in range(count)}
    srv = _Server(responses)
    p0, p1 = free_port(), free_port()
    out: list[object] = []
    try:
        with run_proxy(_cfg(p0, p1, srv.port, side), wait_ports=[p0, p1], which=which) as pp:
            sock = pp.workdir / "s.sock"
            wait_files([sock])
            for k, raw in enumerate(reqs):
                for port in (p0, p1):
                    srv.seen.pop(b"/r%d" % k, None)
                    got = _exchange(port, raw)
                    time.sleep(0.01)
                    seen = srv.seen.get(b"/r%d" % k)
                    # names compared without their case: haproxy-py forwards them as received (README)
                    out.append((k, port == p1, (got if side == "response" else got.split(b"\r\n")[0]).lower(),
                                seen.lower() if seen is not None else None))
            out.append(_stat(sock))
    finally:
        srv.close()
    return out


def _compare(side: str, seed: int) -> None:
    require_haproxy("haproxy")
    ref = _run("haproxy", side, seed, 40)
    ours = _run("ours", side, seed, 40)
    for r, o in zip(ref, ours, strict=True):
        assert o == r
    # the option relaxes something at all in 2.6 (the generator reaches it)
    assert any(isinstance(x, tuple) and x[1] and b" 200 " in x[2][:20] for x in ref), ref  # type: ignore[index]
    strict_ok = {x[0] for x in ref if isinstance(x, tuple) and not x[1] and b" 200 " in x[2][:20]}  # type: ignore[index]
    relaxed_ok = {x[0] for x in ref if isinstance(x, tuple) and x[1] and b" 200 " in x[2][:20]}  # type: ignore[index]
    assert relaxed_ok - strict_ok, "no generated head that only the option lets through"


@pytest.mark.parametrize("seed", [1, 2])
def test_accept_invalid_http_request_as_haproxy(seed: int) -> None:
    _compare("request", seed)


@pytest.mark.parametrize("seed", [1, 2])
def test_accept_invalid_http_response_as_haproxy(seed: int) -> None:
    _compare("response", seed)
