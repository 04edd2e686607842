"""HTTP defect classes of issue #13, differential with generated inputs: the same bytes go to Debian's
HAProxy 2.6 and to haproxy-py on loopback, each in front of its own raw recording server, and we
compare what the client got (status line, the response headers that matter, whether the connection
was closed) and what reached the server (nothing, or the request it could decode).

Inputs are generated from fixed seeds (``random.Random(seed)``): the seed is in each case's id, so a
failure can be replayed.  Header names are compared case-insensitively and chunked bodies decoded
(HAProxy 2.6 lower-cases names and merges chunks; haproxy-py keeps case, see README), nothing else is
normalised.

Classes:

1. a chunked request body that is malformed in the bytes that come with the head: 2.6's HTTP/1 layer
   answers 400 and closes, no server is contacted; well-formed generated bodies reach the server with
   the same decoded payload and trailers.  Invalid trailer lines are left to the unit tests
   (tests/unit/test_http_body.py): 2.6.12 refuses them when probed alone, yet in some runs of this
   module it forwarded one (``X\x01: v``, ``Bad Name: v``) when the body came in one packet with the
   head, so 2.6 is no reference there.
3. what is not an HTTP/1.x request: HTTP/0.9 request lines, random bytes, truncated requests (then a
   client shutdown), header lines refused before the head ends, HTTP/2 prefaces, CONNECT (a tunnel
   after a 2xx).  2.6 runs with ``bind ... proto h1``: without it 2.6 answers a preface in HTTP/2,
   which haproxy-py does not speak (and it refuses ``proto``), so its listener is 2.6's h1 one.
2. header count: ``tune.http.maxhdr`` (default 101) on requests (400) and responses (502).
4. locally generated responses (403, 500, 502, 503, 504; 408, 400, 413) to generated HTTP/1.0 and
   1.1 requests, byte for byte, and whether the connection closes after them.
5. ``cookie ... nocache``: generated response header sets through insert/rewrite/prefix backends;
   the response headers compared (2.6 adds ``cache-control: private`` when it inserts a cookie into
   a response it takes as cacheable).
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import HTTP_DEFAULTS, TcpServer, free_port, run_proxy

pytestmark = [pytest.mark.timeout(300)]

# response headers whose presence and value are compared (names lower-case)
MATTER = ("connection", "content-length", "content-type", "cache-control", "transfer-encoding",
          "set-cookie")


# ----------------------------------------------------------------------------- recording server

def _request_end(buf: bytes) -> int:
    """Index just past the first complete request in ``buf`` (content-length or chunked framing,
    read leniently), or -1 while it is incomplete."""
    p = buf.find(b"\r\n\r\n")
    if p < 0:
        return -1
    head = buf[:p].lower()
    i = p + 4
    if b"transfer-encoding: chunked" in head:
        while True:
            e = buf.find(b"\r\n", i)
            if e < 0:
                return -1
            size = int(buf[i:e].split(b";")[0].strip() or b"0", 16)
            i = e + 2
            if size == 0:
                t = buf.find(b"\r\n\r\n", i - 2)
                return -1 if t < 0 else t + 4
            i += size + 2
            if i > len(buf):
                return -1
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            n = int(line.split(b":", 1)[1])
            return i + n if len(buf) >= i + n else -1
    return i


class Recorder(TcpServer):
    """Records every byte of every connection; answers ``200`` (``content-length: 2``, body
    ``ok``, then closes) once a complete request is there, or closes silently after 1 s without one."""

    def __init__(self) -> None:
        self.conns: list[bytearray] = []
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        rec = bytearray()
        with self.lock:
            self.conns.append(rec)
        c.settimeout(1.0)
        try:
            while _request_end(bytes(rec)) < 0:
                try:
                    d = c.recv(65536)
                except (TimeoutError, OSError):
                    return
                if not d:
                    return
                with self.lock:
                    rec += d
            c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        except OSError:
            pass
        finally:
            c.close()

    def take(self) -> list[bytes]:
        with self.lock:
            out = [bytes(x) for x in self.conns]
            self.conns.clear()
        return out


def decode_request(raw: bytes) -> tuple[bytes, list[tuple[str, str]], bytes, list[tuple[str, str]]] | bytes:
    """(request line, headers (names lower-case), payload, trailers) of what a server received, or
    the raw bytes when they are not one complete request."""
    end = _request_end(raw)
    if end < 0:
        return raw
    p = raw.find(b"\r\n\r\n")
    lines = raw[:p].decode("latin-1").split("\r\n")
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:])]
    body = raw[p + 4:end]
    trailers: list[tuple[str, str]] = []
    if any(k == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
        payload, i = b"", 0
        while True:
            e = body.find(b"\r\n", i)
            size = int(body[i:e].split(b";")[0].strip(), 16)
            i = e + 2
            if size == 0:
                for t in body[i:].decode("latin-1").split("\r\n"):
                    if t:
                        k, _, v = t.partition(":")
                        trailers.append((k.strip().lower(), v.strip()))
                break
            payload += body[i:i + size]
            i += size + 2
        body = payload
    return lines[0].encode("latin-1"), headers, body, trailers


# ----------------------------------------------------------------------------- the two proxies

@dataclass
class Side:
    name: str
    port: int
    rec: Recorder


def _cfg(port: int, server_port: int, *, haproxy: bool) -> str:
    # 2.6 speaks HTTP/2 (prior knowledge) on any HTTP listener unless told 'proto h1'; haproxy-py has
    # no HTTP/2 and refuses 'proto', so its listener is the same as 2.6's with 'proto h1'
    proto = " proto h1" if haproxy else ""
    return (HTTP_DEFAULTS + f"frontend fe\n    bind 127.0.0.1:{port}{proto}\n    default_backend be\n"
            f"backend be\n    server s1 127.0.0.1:{server_port}\n")


@contextlib.contextmanager
def _pair(cfg_h: str, cfg_o: str, rh: Recorder, ro: Recorder, ph: int, po: int) -> Iterator[tuple[Side, Side]]:
    with run_proxy(cfg_h, wait_ports=[ph], which="haproxy"), run_proxy(cfg_o, wait_ports=[po], which="ours"):
        time.sleep(0.3)  # the wait_port probes are connect-then-close: let both forget them
        rh.take()
        ro.take()
        yield Side("haproxy", ph, rh), Side("ours", po, ro)


@pytest.fixture(scope="module")
def sides() -> Iterator[tuple[Side, Side]]:
    require_haproxy_bin()
    rh, ro = Recorder(), Recorder()
    ph, po = free_port(), free_port()
    try:
        with _pair(_cfg(ph, rh.port, haproxy=True), _cfg(po, ro.port, haproxy=False), rh, ro, ph, po) as pair:
            yield pair
    finally:
        rh.close()
        ro.close()


@dataclass
class Outcome:
    status: bytes                    # the status line ("" when nothing came back)
    headers: list[tuple[str, str]]   # the headers of MATTER, names lower-case, in order
    raw: bytes                       # everything the client received
    closed: bool                     # the proxy closed the connection (within the wait)
    seen: list[object]               # per server connection: decode_request() of what it received


#: once a whole response (content-length framed, or without a body) is in, how long to wait for the
#: proxy to close: a proxy that closes after a response does it at once (where the keep-alive timeout
#: is shorter than the wait, as in ``err_sides``, the grace must cover it: ERR_GRACE)
CLOSE_GRACE = 0.4


def _response_complete(out: bytes, head_only: bool) -> bool:
    """``out`` holds one whole final response whose end is known without a close: its head, then
    no body (HEAD, 204, 304) or exactly content-length bytes."""
    p = out.find(b"\r\n\r\n")
    if p < 0:
        return False
    lines = out[:p].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or parts[1].startswith(b"1"):
        return False
    if head_only or parts[1] in (b"204", b"304"):
        return len(out) == p + 4
    cl = None
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        k = k.strip().lower()
        if k == b"transfer-encoding":
            return False
        if k == b"content-length":
            if cl is not None or not v.strip().isdigit():
                return False
            cl = int(v)
    return cl is not None and len(out) == p + 4 + cl


def exchange(side: Side, pieces: list[bytes], *, shut: bool = False, wait: float = 1.5,
             gap: float = 0.25, grace: float = CLOSE_GRACE) -> Outcome:
    """Send ``pieces`` (``gap`` seconds apart), optionally shut our write side, then read until the
    proxy closes or ``wait`` seconds pass without data (``grace`` seconds once a whole response
    is in)."""
    s = socket.create_connection(("127.0.0.1", side.port), timeout=wait)
    out = b""
    closed = False
    head_only = b"".join(pieces).startswith(b"HEAD ")
    try:
        for i, p in enumerate(pieces):
            if i:
                time.sleep(gap)
            s.sendall(p)
        if shut:
            s.shutdown(socket.SHUT_WR)
        while True:
            if _response_complete(out, head_only):
                s.settimeout(min(wait, grace))
            try:
                d = s.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not d:
                closed = True
                break
            out += d
    finally:
        s.close()
    time.sleep(0.1)  # a server connection the proxy opened has had time to deliver
    status, _, rest = out.partition(b"\r\n")
    head = rest.split(b"\r\n\r\n", 1)[0]
    headers = []
    for ln in head.decode("latin-1").split("\r\n"):
        k, sep, v = ln.partition(":")
        if sep and k.strip().lower() in MATTER:
            headers.append((k.strip().lower(), v.strip()))
    return Outcome(status, headers, out, closed, [decode_request(r) for r in side.rec.take()])


_POOL = ThreadPoolExecutor(1)


def compare(pair: tuple[Side, Side], pieces: list[bytes], *, answered: bool = True,
            **kw: object) -> tuple[Outcome, Outcome]:
    """Both outcomes, asserted equal; ``answered``: HAProxy must have answered something."""
    hs, us = pair
    # the two sides (each its own proxy and server) at the same time
    theirs = _POOL.submit(exchange, hs, pieces, **kw)  # type: ignore[arg-type]
    got = exchange(us, pieces, **kw)  # type: ignore[arg-type]
    want = theirs.result()
    assert want.status or not answered, f"HAProxy answered nothing to {pieces!r}"
    detail = f"\nrequest {pieces!r}\n haproxy: {want}\n ours:    {got}"
    assert (got.status, got.headers, got.closed) == (want.status, want.headers, want.closed), detail
    assert got.seen == want.seen, detail
    return want, got


# ----------------------------------------------------------------------------- class 1: chunked bodies

HEAD_TE = b"POST /up HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
_TCHAR = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


def _chunk_parts(rng: random.Random) -> list[list[bytes]]:
    """A valid chunked body as a list of chunks, each a list of its parts [size, ext, eol, data, eol];
    the last chunk is [b"0", ext, eol, trailers..., final eol]."""
    chunks = []
    for _ in range(rng.randint(1, 5)):
        n = rng.randint(1, 40)
        size = (b"%x" if rng.random() < 0.5 else b"%X") % n
        if rng.random() < 0.2:
            size = b"0" * rng.randint(1, 20) + size
        ext = rng.choice([b"", b"", b";a=b", b" ;x", b"\t;k=\"v\"", b";", b"  "])
        eol = rng.choice([b"\r\n", b"\r\n", b"\n"])
        data = bytes(rng.randrange(256) for _ in range(n))
        chunks.append([size, ext, eol, data, rng.choice([b"\r\n", b"\r\n", b"\n"])])
    trailers = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        name = "".join(rng.choice(_TCHAR) for _ in range(rng.randint(1, 10))).encode()
        trailers.append(b"X-" + name + b":" + rng.choice([b" ", b"", b"  "]) + b"v%d\r\n" % rng.randrange(99))
    chunks.append([b"0", rng.choice([b"", b";e"]), b"\r\n", *trailers, b"\r\n"])
    return chunks


def _join(chunks: list[list[bytes]]) -> bytes:
    return b"".join(b"".join(c) for c in chunks)


#: name -> how to break a generated body (chunks, rng) -> bytes
def _m_prefix(p: bytes):  # type: ignore[no-untyped-def]
    def f(chunks: list[list[bytes]], rng: random.Random) -> bytes:
        c = rng.randrange(len(chunks))
        chunks[c][0] = p + chunks[c][0]
        return _join(chunks)
    return f


def _m_space_inside(chunks: list[list[bytes]], rng: random.Random) -> bytes:
    c = rng.randrange(len(chunks))
    chunks[c][0] = chunks[c][0] + rng.choice([b" ", b"\t"]) + b"1"
    return _join(chunks)


def _m_overflow(chunks: list[list[bytes]], rng: random.Random) -> bytes:
    c = rng.randrange(len(chunks) - 1) if len(chunks) > 1 else 0
    chunks[c][0] = b"1" + b"0" * rng.randint(13, 18)
    return _join(chunks)


def _m_missing_crlf(chunks: list[list[bytes]], rng: random.Random) -> bytes:
    data_chunks = [c for c in chunks if len(c) == 5]
    c = rng.choice(data_chunks)
    c[4] = rng.choice([b"", b"X", b"\r\r\n", b"xx\r\n"])
    return _join(chunks)


def _m_bad_ext(chunks: list[list[bytes]], rng: random.Random) -> bytes:
    c = rng.randrange(len(chunks))
    chunks[c][1] = rng.choice([b";a\rb", b"x", b";\r;"])
    return _join(chunks)


def _m_garbage_size(chunks: list[list[bytes]], rng: random.Random) -> bytes:
    c = rng.randrange(len(chunks))
    chunks[c][0] = bytes(rng.choice(b"ghijkGXYZ-@\x00\x7f") for _ in range(rng.randint(1, 4)))
    return _join(chunks)


MUTATIONS = {
    "0x": _m_prefix(b"0x"), "plus": _m_prefix(b"+"), "space_before": _m_prefix(b" "),
    "tab_before": _m_prefix(b"\t"), "space_inside": _m_space_inside, "overflow": _m_overflow,
    "missing_crlf": _m_missing_crlf, "bad_extension": _m_bad_ext, "garbage_size": _m_garbage_size,
}
BODY_CASES = [(name, seed) for name in MUTATIONS for seed in (1, 2, 3)]


@pytest.mark.parametrize(("mutation", "seed"), BODY_CASES, ids=[f"{m}-seed{s}" for m, s in BODY_CASES])
def test_malformed_chunked_body_with_the_head_is_refused_before_any_server(sides, mutation, seed) -> None:
    rng = random.Random(f"{mutation}/{seed}")
    body = MUTATIONS[mutation](_chunk_parts(rng), rng)
    want, got = compare(sides, [HEAD_TE + body])
    # what 2.6 does, so that the comparison cannot pass on two equally wrong answers
    assert want.status == b"HTTP/1.1 400 Bad request" and want.closed and want.seen == [], want


@pytest.mark.parametrize("seed", range(8))
def test_generated_valid_chunked_bodies_reach_the_server_alike(sides, seed) -> None:
    rng = random.Random(f"valid/{seed}")
    chunks = _chunk_parts(rng)
    want, _ = compare(sides, [HEAD_TE + _join(chunks)])
    assert want.status == b"HTTP/1.1 200 OK" and len(want.seen) == 1
    payload = b"".join(c[3] for c in chunks[:-1])
    assert want.seen[0][2] == payload  # type: ignore[index]


@pytest.mark.parametrize("seed", range(4))
def test_generated_bodies_split_across_packets(sides, seed) -> None:
    """The body arrives in pieces after the head: still the same verdicts (valid -> forwarded,
    malformed in the first piece -> 400 before any server)."""
    rng = random.Random(f"split/{seed}")
    body = _join(_chunk_parts(rng))
    cut = rng.randint(1, len(body) - 1)
    want, _ = compare(sides, [HEAD_TE + body[:cut], body[cut:]])
    assert want.status == b"HTTP/1.1 200 OK"


# ----------------------------------------------------------------------------- class 3: not HTTP/1.x

_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "FOO", "get"]


def _path(rng: random.Random) -> str:
    return "/" + "/".join("".join(rng.choice(_TCHAR) for _ in range(rng.randint(0, 8)))
                          for _ in range(rng.randint(1, 3)))


def _valid_request(rng: random.Random) -> bytes:
    hdrs = ["Host: test"] + [f"X-{''.join(rng.choice(_TCHAR) for _ in range(rng.randint(1, 8)))}: "
                             f"v{rng.randrange(1000)}" for _ in range(rng.randint(0, 6))]
    rng.shuffle(hdrs)
    return (f"{rng.choice(_METHODS[:6])} {_path(rng)} HTTP/1.1\r\n" + "".join(h + "\r\n" for h in hdrs)
            + "\r\n").encode()


@pytest.mark.parametrize("seed", range(6))
def test_http09_request_line_is_refused_at_once(sides, seed) -> None:
    """A request line without a version: 2.6 answers 400 as soon as the line ends (haproxy-py
    used to wait for the end of a head that never comes, then answered 408)."""
    rng = random.Random(f"http09/{seed}")
    line = f"{rng.choice(_METHODS)} {_path(rng)}".encode() + rng.choice([b"\r\n", b"\n", b" \r\n"])
    want, _ = compare(sides, [line], wait=1.0)
    assert want.status == b"HTTP/1.1 400 Bad request" and want.closed and want.seen == []


@pytest.mark.parametrize("seed", range(12))
def test_random_bytes(sides, seed) -> None:
    """Random bytes, half of them after a valid request line: whatever 2.6 does at once (a 400 on a
    byte no request can hold, or waiting), haproxy-py does; then the client shuts its side: 400."""
    rng = random.Random(f"garbage/{seed}")
    data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 48)))
    if seed % 2:
        data = f"GET {_path(rng)} HTTP/1.1\r\nHost: test\r\n".encode() + data.replace(b"\n", b"")
    compare(sides, [data], answered=False, wait=0.8)
    want, _ = compare(sides, [data], shut=True, wait=1.0)
    assert want.status == b"HTTP/1.1 400 Bad request" and want.closed and want.seen == []


@pytest.mark.parametrize("seed", range(8))
def test_head_cut_after_a_cr(sides, seed) -> None:
    """A valid request cut anywhere (most cuts in its request line), then a CR whose LF does not come:
    2.6 waits for the LF wherever the line stops ("GET\\r", "GET /\\r"), unless what came cannot begin
    a request ("GET / HTTP/1.1 \\r", "GET /\\r\\r": 400 at once); haproxy-py used to refuse a CR
    after the method or the URI at once."""
    rng = random.Random(f"cutcr/{seed}")
    req = _valid_request(rng)
    line = req.index(b"\r\n")
    cut = rng.randint(1, line) if rng.random() < 0.75 else rng.randint(line, len(req) - 3)
    data = req[:cut] + rng.choice([b"\r", b"\r", b" \r", b"\r\r"])
    compare(sides, [data], answered=False, wait=0.8)


@pytest.mark.parametrize("seed", range(8))
def test_truncated_request_then_client_shuts(sides, seed) -> None:
    """A valid request cut anywhere, then the client closes its side: 2.6's HTTP/1 layer answers 400
    (haproxy-py used to close silently); nothing reaches a server."""
    rng = random.Random(f"trunc/{seed}")
    req = _valid_request(rng)
    cut = rng.randint(0, len(req) - 3)  # the final CRLF never arrives
    want, _ = compare(sides, [req[:cut]], shut=True, wait=1.0)
    assert want.status == b"HTTP/1.1 400 Bad request" and want.seen == []


@pytest.mark.parametrize("seed", range(6))
def test_bad_header_line_is_refused_before_the_head_ends(sides, seed) -> None:
    rng = random.Random(f"badhdr/{seed}")
    req = _valid_request(rng)[:-2]  # no end of head
    bad = rng.choice([b"No Colon Here\r\n", b"Bad Name: v\r\n", b"X(y): 1\r\n", b"\x01x: 1\r\n",
                      b"X y", b": v\r\n"])
    want, _ = compare(sides, [req + bad], wait=1.0)
    assert want.status == b"HTTP/1.1 400 Bad request" and want.seen == []


PREFACES = [b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"PRI * HTTP/2.0\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
            b"PRI / HTTP/1.1\r\nHost: test\r\n\r\n"]


@pytest.mark.parametrize("preface", PREFACES, ids=range(len(PREFACES)))
def test_http2_preface_on_an_http1_listener(sides, preface) -> None:
    """Never forwarded (haproxy-py used to send 'PRI * HTTP/1.1' to the server); 2.6 answers its
    stream 400 (lower-case names, connection: close) and closes."""
    want, got = compare(sides, [preface])
    assert want.status == b"HTTP/1.1 400 Bad request" and want.seen == [] and want.closed
    assert ("connection", "close") in want.headers
    assert got.raw == want.raw


@pytest.mark.parametrize("seed", range(4))
def test_connect_is_tunnelled_after_a_2xx(sides, seed) -> None:
    """CONNECT authority: forwarded, and after the server's 2xx the connection is a tunnel (the
    response's bytes after its head go through, the client is closed when the server closes)."""
    rng = random.Random(f"connect/{seed}")
    host = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 10))) + ".example"
    port = rng.choice([443, 8443, 80, 1234])
    hdr = rng.choice(["", f"Host: {host}:{port}\r\n"])
    want, _ = compare(sides, [f"CONNECT {host}:{port} HTTP/1.1\r\n{hdr}\r\n".encode()])
    assert want.status == b"HTTP/1.1 200 OK" and want.raw.endswith(b"ok") and want.closed


# ----------------------------------------------------------------------------- class 4: local responses

class ErrServer(TcpServer):
    """By path: ``/bad`` answers garbage (502), ``/slow`` nothing for 2 s (504 after 'timeout server
    1s'), ``/close`` closes at once (502), anything else ``200`` with ``content-length: 2``."""

    def serve(self, c: socket.socket) -> None:
        buf = b""
        c.settimeout(3)
        try:
            while _request_end(buf) < 0:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            line = buf.split(b"\r\n", 1)[0]
            if b" /bad" in line:
                c.sendall(b"garbage\r\n\r\n")
            elif b" /slow" in line:
                time.sleep(2)
            elif b" /close" in line:
                return
            else:
                c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        except OSError:
            pass
        finally:
            c.close()


def _err_cfg(port: int, server_port: int, *, haproxy: bool) -> str:
    proto = " proto h1" if haproxy else ""
    return ("defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 1s\n"
            "    timeout http-request 1s\n"
            f"frontend fe\n    bind 127.0.0.1:{port}{proto}\n"
            "    http-request deny if { path_beg /deny }\n"
            "    http-request deny deny_status 500 if { path_beg /d500 }\n"
            "    use_backend nosrv if { path_beg /nosrv }\n    default_backend be\n"
            f"backend be\n    server s1 127.0.0.1:{server_port}\nbackend nosrv\n")


@pytest.fixture(scope="module")
def err_sides() -> Iterator[tuple[Side, Side]]:
    require_haproxy_bin()
    sh, so = ErrServer(), ErrServer()
    ph, po = free_port(), free_port()
    try:
        with run_proxy(_err_cfg(ph, sh.port, haproxy=True), wait_ports=[ph], which="haproxy"), \
                run_proxy(_err_cfg(po, so.port, haproxy=False), wait_ports=[po], which="ours"):
            time.sleep(0.3)
            yield Side("haproxy", ph, Recorder()), Side("ours", po, Recorder())
    finally:
        sh.close()
        so.close()


#: err_sides' 'timeout http-request 1s' is its keep-alive timeout too: a connection kept after a
#: response is closed 1 s later, which the comparison of ``closed`` has to see (as with the whole wait)
ERR_GRACE = 1.5

ERR_PATHS = {"/deny": 403, "/d500": 500, "/nosrv": 503, "/bad": 502, "/close": 502, "/slow": 504}
_CONN = [None, "close", "keep-alive", "Keep-Alive", "CLOSE", "keep-alive, x-hop"]


def _err_request(rng: random.Random, path: str) -> bytes:
    version = rng.choice(["HTTP/1.0", "HTTP/1.1"])
    hdrs = [f"X-{rng.choice(_TCHAR)}{rng.randrange(100)}: {rng.randrange(10**6)}" for _ in range(rng.randint(0, 4))]
    if rng.random() < 0.8:
        hdrs.append("Host: test")
    conn = rng.choice(_CONN)
    if conn is not None:
        hdrs.insert(rng.randint(0, len(hdrs)), f"Connection: {conn}")
    body = b""
    if rng.random() < 0.3:
        body = b"x" * rng.randint(0, 20)
        hdrs.append(f"Content-Length: {len(body)}")
    rng.shuffle(hdrs)
    return (f"{rng.choice(['GET', 'POST', 'HEAD'])} {path}{_path(rng)} {version}\r\n"
            + "".join(h + "\r\n" for h in hdrs) + "\r\n").encode() + body


ERR_CASES = [(p, seed) for p in ERR_PATHS for seed in range(4)]


@pytest.mark.parametrize(("path", "seed"), ERR_CASES, ids=[f"{p[1:]}-seed{s}" for p, s in ERR_CASES])
def test_local_error_responses_byte_for_byte(err_sides, path, seed) -> None:
    """403/500/503/502/504 to generated requests (HTTP/1.0 and 1.1, with and without Connection
    tokens): the same bytes as 2.6 (its HTTP/1 layer adds 'connection: close' when the connection
    ends after the page, 'connection: keep-alive' to an HTTP/1.0 client that keeps it) and the same
    closing (2.6 keeps the client after a 502 or 504)."""
    rng = random.Random(f"err/{path}/{seed}")
    req = _err_request(rng, path)
    want, got = compare(err_sides, [req], wait=2.5, grace=ERR_GRACE)
    line, _, rest = req.partition(b"\r\n")
    cl = re.search(rb"Content-Length: ([0-9]+)", rest)
    if line.endswith(b"HTTP/1.0") and line.split()[0] in (b"GET", b"HEAD") and cl and int(cl.group(1)):
        expected = 413  # 2.6's HTTP/1 layer: an HTTP/1.0 GET/HEAD/DELETE with a body
    else:
        expected = ERR_PATHS[path]
    assert want.status.split(b" ")[1] == str(expected).encode(), want
    assert got.raw == want.raw, f"{req!r}\n haproxy: {want.raw!r}\n ours:    {got.raw!r}"


def test_408_and_400_pages_byte_for_byte(err_sides) -> None:
    rng = random.Random("408")
    req = _err_request(rng, "/x")
    want, got = compare(err_sides, [req[:len(req) // 2]], wait=2.5, grace=ERR_GRACE)  # timeout http-request 1s
    assert want.status == b"HTTP/1.1 408 Request Time-out" and got.raw == want.raw
    want, got = compare(err_sides, [b"GET /a b c\r\n\r\n"], wait=1.5, grace=ERR_GRACE)
    assert want.status == b"HTTP/1.1 400 Bad request" and got.raw == want.raw


@pytest.mark.parametrize("seed", range(3))
def test_body_turning_bad_after_the_head_gets_the_stream_400(err_sides, seed) -> None:
    """The malformed part comes after the head was forwarded: 2.6 answers its stream 400 (lower-case
    names, connection: close) and closes."""
    rng = random.Random(f"late/{seed}")
    body = _join(_chunk_parts(rng)[:-1])
    want, got = compare(err_sides, [HEAD_TE + body, rng.choice([b"0x", b"zz\r\n", b"+1\r\n"])], wait=1.5, grace=ERR_GRACE)
    assert want.status == b"HTTP/1.1 400 Bad request" and want.closed
    assert got.raw == want.raw


# ----------------------------------------------------------------------------- class 2: header count

def _many_headers(rng: random.Random, n: int, path: str = "/") -> bytes:
    """A GET with ``n`` header lines in all (Host among them, names random, some repeated)."""
    names = [f"X-{''.join(rng.choice(_TCHAR) for _ in range(rng.randint(1, 12)))}" for _ in range(n - 1)]
    for i in range(len(names)):
        if i and rng.random() < 0.1:
            names[i] = names[rng.randrange(i)]  # repeated names are lines of their own
    hdrs = [f"{k}: {rng.randrange(10**rng.randint(1, 8))}" for k in names] + ["Host: test"]
    rng.shuffle(hdrs)
    return (f"GET {path} HTTP/1.1\r\n" + "".join(h + "\r\n" for h in hdrs) + "\r\n").encode()


@pytest.mark.parametrize("seed", range(6))
def test_default_header_count_limit(sides, seed) -> None:
    """2.6 (tune.http.maxhdr 101) refuses a request of 101 header lines or more with its 400; haproxy-py
    had no limit."""
    rng = random.Random(f"maxhdr/{seed}")
    n = rng.choice([99, 100, 101, 102, rng.randint(95, 130)])
    want, _ = compare(sides, [_many_headers(rng, n)], wait=1.0)
    assert want.status == (b"HTTP/1.1 200 OK" if n <= 100 else b"HTTP/1.1 400 Bad request"), (n, want)


class HdrServer(TcpServer):
    """Answers ``/h/K`` with a 200 of K header lines (content-length among them)."""

    def serve(self, c: socket.socket) -> None:
        buf = b""
        c.settimeout(3)
        try:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            path = buf.split(b" ", 2)[1]
            k = int(path.rsplit(b"/", 1)[1]) if path.startswith(b"/h/") else 1
            c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"
                      + b"".join(b"x-r%d: %d\r\n" % (i, i) for i in range(k - 1)) + b"\r\nok")
        except (OSError, ValueError):
            pass
        finally:
            c.close()


@pytest.mark.parametrize("maxhdr", [5, 23, 150])
def test_tune_http_maxhdr_same_limit_and_answer(maxhdr) -> None:
    """'tune.http.maxhdr N' (the keyword haproxy-py used to refuse): requests of N-1 header lines pass,
    N and more get 2.6's 400 and reach no server; a response of N or more is a 502, as in 2.6."""
    require_haproxy_bin()
    sh, so = HdrServer(), HdrServer()
    ph, po = free_port(), free_port()
    cfg = (f"global\n    tune.http.maxhdr {maxhdr}\n" + HTTP_DEFAULTS
           + "frontend fe\n    bind 127.0.0.1:{port}{proto}\n    default_backend be\n"
           + "backend be\n    server s1 127.0.0.1:{sport}\n")
    rng = random.Random(f"tune.maxhdr/{maxhdr}")
    try:
        with run_proxy(cfg.format(port=ph, proto=" proto h1", sport=sh.port), wait_ports=[ph], which="haproxy"), \
                run_proxy(cfg.format(port=po, proto="", sport=so.port), wait_ports=[po], which="ours"):
            time.sleep(0.3)
            pair = Side("haproxy", ph, Recorder()), Side("ours", po, Recorder())
            for n in (maxhdr - 1, maxhdr, maxhdr + 1, rng.randint(1, maxhdr - 1), rng.randint(maxhdr, 2 * maxhdr)):
                want, _ = compare(pair, [_many_headers(rng, n)], wait=1.0)
                assert want.status == (b"HTTP/1.1 200 OK" if n < maxhdr else b"HTTP/1.1 400 Bad request"), (n, want)
            for k in (maxhdr - 1, maxhdr):
                want, _ = compare(pair, [f"GET /h/{k} HTTP/1.1\r\nHost: test\r\n\r\n".encode()], wait=1.0)
                assert want.status == (b"HTTP/1.1 200 OK" if k < maxhdr else b"HTTP/1.1 502 Bad Gateway"), (k, want)
    finally:
        sh.close()
        so.close()


@pytest.mark.parametrize("arg", ["", "0", "32768", "-5", "abc", "5", "101", "32767"])
def test_tune_http_maxhdr_checked_as_2_6_checks_it(arg, tmp_path) -> None:
    """'-c': refused where 2.6 refuses it, with 2.6's sentence; accepted values reach the model."""
    import subprocess

    from haproxy_py.config import parse_text
    from tests.conftest import HAPROXY_BIN

    text = f"global\n    tune.http.maxhdr {arg}\n" + HTTP_DEFAULTS
    cfg = tmp_path / "h.cfg"
    cfg.write_text(text)
    theirs = subprocess.run([HAPROXY_BIN, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    conf, d = parse_text(text, "h.cfg")
    alerts = [ln for ln in theirs.stdout.splitlines() + theirs.stderr.splitlines() if "ALERT" in ln and "maxhdr" in ln]
    if alerts:
        sentence = alerts[0].rsplit("] : ", 1)[-1]
        assert d.errors and sentence in d.errors[0].haproxy, (sentence, d)
    else:
        assert not d.errors, d
        assert conf is not None and conf.global_.tune_http_maxhdr == int(arg)


# ----------------------------------------------------------------------------- class 5: cookie nocache

class ScriptedServer(TcpServer):
    """Answers ``.../s/STATUS/HEX`` with that status and the header block HEX (bytes.hex) plus a
    content-length; anything else a plain 200."""

    def serve(self, c: socket.socket) -> None:
        buf = b""
        c.settimeout(3)
        try:
            while True:
                while _request_end(buf) < 0:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                end = _request_end(buf)
                head, buf = buf[:end], buf[end:]
                path = head.split(b" ", 2)[1].decode()
                status, block = 200, b""
                if "/s/" in path:
                    st, _, hx = path.split("/s/", 1)[1].partition("/")
                    status, block = int(st), bytes.fromhex(hx)
                body = b"" if status in (204, 304) or head.startswith(b"HEAD ") else b"ok"
                cl = b"" if status in (204, 304) else b"content-length: 2\r\n"
                c.sendall(b"HTTP/1.1 %d X\r\n" % status + cl + block + b"\r\n" + body)
        except (OSError, ValueError):
            pass
        finally:
            c.close()


COOKIE_MODES = ["insert nocache", "insert indirect nocache", "rewrite nocache", "prefix nocache",
                "insert", "insert nocache postonly", "insert nocache preserve"]


@pytest.fixture(scope="module")
def cookie_sides() -> Iterator[tuple[Side, Side]]:
    """One backend per cookie mode (path prefix /mN/ picks mode N)."""
    require_haproxy_bin()
    sh, so = ScriptedServer(), ScriptedServer()
    ph, po = free_port(), free_port()

    def cfg(port: int, sport: int, proto: str) -> str:
        out = HTTP_DEFAULTS + f"frontend fe\n    bind 127.0.0.1:{port}{proto}\n"
        for i in range(len(COOKIE_MODES)):
            out += f"    use_backend b{i} if {{ path_beg /m{i}/ }}\n"
        for i, mode in enumerate(COOKIE_MODES):
            out += f"backend b{i}\n    cookie SRV {mode}\n    server s1 127.0.0.1:{sport} cookie c1\n"
        return out

    try:
        with run_proxy(cfg(ph, sh.port, " proto h1"), wait_ports=[ph], which="haproxy"), \
                run_proxy(cfg(po, so.port, ""), wait_ports=[po], which="ours"):
            time.sleep(0.3)
            yield Side("haproxy", ph, Recorder()), Side("ours", po, Recorder())
    finally:
        sh.close()
        so.close()


_CC = ["public", "private", "no-cache", "no-store", "max-age=0", "s-maxage=0", "max-age=60", "public, max-age=0",
       "no-cache=\"set-cookie\"", "must-revalidate", "s-maxage=30", "public, max-age=3600", "No-Cache"]


def _scripted_response(rng: random.Random) -> tuple[int, bytes]:
    status = rng.choice([200, 200, 200, 203, 204, 206, 301, 302, 304, 404, 410, 500, 503])
    hdrs = []
    if rng.random() < 0.5:
        hdrs.append(b"Cache-Control: " + rng.choice(_CC).encode())
    if rng.random() < 0.2:
        hdrs.append(b"Pragma: no-cache")
    if rng.random() < 0.5:
        hdrs.append(rng.choice([b"Expires: Thu, 01 Jan 1970 00:00:00 GMT", b"Expires: Fri, 01 Jan 2038 00:00:00 GMT",
                                b"Last-Modified: Thu, 01 Jan 2015 00:00:00 GMT", b'ETag: "v1"', b"Expires: 0"]))
    if rng.random() < 0.4:
        hdrs.append(rng.choice([b"Set-Cookie: SRV=fromserver; path=/", b"Set-Cookie: other=1", b"Set-Cookie: SRV=x"]))
    if rng.random() < 0.3:
        hdrs.append(b"Vary: " + rng.choice([b"Accept", b"Cookie", b"*"]))
    rng.shuffle(hdrs)
    return status, b"".join(h + b"\r\n" for h in hdrs)


@pytest.mark.parametrize("seed", range(60))
def test_cookie_nocache_cache_control_as_2_6(cookie_sides, seed) -> None:
    """Generated responses (status, Cache-Control, Pragma, Expires/Last-Modified/ETag, the server's
    own Set-Cookie, Vary) to generated requests (GET/HEAD/POST, with or without the persistence
    cookie) through insert/rewrite/prefix backends with and without nocache: the same response
    headers as 2.6, which adds 'cache-control: private' after the cookie it inserts into a response
    it takes as cacheable (haproxy-py never added it)."""
    rng = random.Random(f"nocache/{seed}")
    mode = rng.randrange(len(COOKIE_MODES))
    status, block = _scripted_response(rng)
    method = rng.choice(["GET", "GET", "HEAD", "POST"])
    hdrs = ["Host: test"]
    if rng.random() < 0.4:
        hdrs.append(rng.choice(["Cookie: SRV=c1", "Cookie: SRV=zz", "Cookie: a=1; SRV=c1", "Cookie: a=1"]))
    if rng.random() < 0.2:
        hdrs.append(rng.choice(["Cache-Control: no-cache", "Pragma: no-cache", "Cache-Control: max-age=0"]))
    body = b""
    if method == "POST":
        body = b"abc"
        hdrs.append("Content-Length: 3")
    req = (f"{method} /m{mode}/s/{status}/{block.hex()} HTTP/1.1\r\n" + "".join(h + "\r\n" for h in hdrs)
           + "\r\n").encode() + body
    hs, us = cookie_sides
    theirs = _POOL.submit(exchange, hs, [req], wait=0.5)
    got = exchange(us, [req], wait=0.5)
    want = theirs.result()
    def head(o: Outcome) -> list[tuple[str, str]]:
        lines = o.raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
        return [(k.strip().lower(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines)]
    assert (got.status, head(got)) == (want.status, head(want)), f"{COOKIE_MODES[mode]} {req!r}"


@pytest.mark.parametrize(("mode", "block", "method", "private"), [
    (0, b"Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n", "GET", True),
    (0, b'ETag: "x"\r\nCache-Control: public\r\n', "POST", True),
    (0, b"Cache-Control: public\r\n", "GET", False),
    (0, b"Expires: 0\r\nCache-Control: no-cache\r\n", "GET", False),
    (4, b"Expires: 0\r\n", "GET", False),   # insert without nocache
    (2, b"Expires: 0\r\n", "GET", False),   # rewrite nocache: no cookie inserted
])
def test_cookie_nocache_known_cases(cookie_sides, mode, block, method, private) -> None:
    """Guards the generated comparison against two proxies that never add the header."""
    cl = "Content-Length: 0\r\n" if method == "POST" else ""
    req = f"{method} /m{mode}/s/200/{block.hex()} HTTP/1.1\r\nHost: test\r\n{cl}\r\n".encode()
    for side in cookie_sides:
        o = exchange(side, [req], wait=0.5)
        head = o.raw.split(b"\r\n\r\n", 1)[0].lower()
        assert head.endswith(b"\r\ncache-control: private") == private, (side.name, o.raw)
