"""HTTP compression (``compression algo|type|offload``, ``res.comp``, ``res.comp_algo``) through
Debian's HAProxy 2.6 and haproxy-py side by side: seeded generated responses (status, framing,
size, Content-Type, Content-Encoding, Cache-Control, ETag) for generated requests (method,
version, Accept-Encoding with q-values, User-Agent), served by one raw backend that answers each
request with the bytes it names. Compared: the response head (header names lower-cased, Date
left out), the decompressed body (the compressed bytes themselves differ: zlib's flush points),
and what the server saw of Accept-Encoding (offload). Left out of the generator: an element ending in ``;q=`` (2.6 reads the q-value past the end of
the header value, whatever bytes follow it in its buffer). Not compared: the version in the status
line and the Connection header of an HTTP/1.0 server's answer (test_http_vs_haproxy.py's).
``show stat``'s compression columns are compared at the end (comp_out roughly: 2.6 uses libslz). Then the bounded memory of a large
streamed body, and 2.6's messages for bad ``compression`` lines."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from tests.conftest import HAPROXY_BIN, ROOT, require_haproxy_bin
from tests.integration.harness import TcpServer, free_port, run_proxy

pytestmark = [pytest.mark.timeout(180)]

RESP: dict[str, bytes] = {}


class RawBackend(TcpServer):
    """Answers a request with RESP[its X-Id], then closes; records the request heads."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], list[str]] = {}
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        c.settimeout(5)
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            lines = buf.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            hdrs = [ln.split(":", 1) for ln in lines[1:]]
            rid = next(v.strip() for k, v in hdrs if k.lower() == "x-id")
            who = next(v.strip() for k, v in hdrs if k.lower() == "x-who")
            self.seen[(who, rid)] = [v.strip() for k, v in hdrs if k.lower() == "accept-encoding"]
            c.sendall(RESP[rid])
            time.sleep(0.02)
        except (OSError, StopIteration):
            pass
        finally:
            c.close()


CFG = """
global
    stats socket @DIR@/s.sock level admin
defaults comp
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    compression algo gzip
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe}
    compression algo gzip deflate
    compression type text/html text/plain application/json
    http-request set-header X-Who {who}
    http-response set-header X-C %[res.comp]/%[res.comp_algo]
    http-after-response set-header X-A %[res.comp]
    use_backend be2 if {{ path_beg /b }}
    default_backend be
backend be
    server s 127.0.0.1:{srv}
backend be2 from comp
    compression algo raw-deflate identity
    compression offload
    server s 127.0.0.1:{srv}
"""

TYPES = ["text/html", "TEXT/HTML; charset=utf-8", "text/plain", "text/css", "application/json",
         "multipart/mixed", "image/png", "text/htmlx", None]
AE = ["gzip", "deflate", "deflate", "deflate, gzip;q=0.5", "*", "identity", "br", "x-gzip", "GZIP", "gzip;q=0", "gzip;q=0.000",
      "gzip;q=0.0001", "deflate;q=0.5, gzip;q=0.6", "gzip ; q=0.5 , deflate; q=0.500",
      "*;q=0.1, gzip;q=0.05", "gzip;q=abc", "gzip;Q=0", "gzip;q=1.0, deflate;q=1",
      "identity, gzip;q=0", "br, deflate;q=0.9, gzip;q=0.8", "gzip;foo=1;q=0.3, deflate;q=0.2", ""]
UA = [None, None, None, "Mozilla/4.0 (compatible)", "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)",
      "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", "Mozilla/5.0 (X11)"]


def _gen(rng: random.Random, i: int) -> tuple[bytes, bytes, str]:
    """(response bytes, request bytes without X-Who, its path)."""
    size = rng.choice([0, 1, 5, 100, 1000, 20000, 70000])
    unit = rng.choice([b"hello world ", bytes(range(256)), b"a"])
    body = (unit * (size // len(unit) + 1))[:size]
    if rng.random() < 0.3:
        body = rng.randbytes(size)
    status = rng.choice([200] * 8 + [201, 202, 203, 204, 206, 304, 404, 500])
    ver = "HTTP/1.0" if rng.random() < 0.08 else "HTTP/1.1"
    hdrs = []
    ct = rng.choice(TYPES + ["text/html", "text/plain"] * 3)
    if ct is not None:
        hdrs.append(f"Content-Type: {ct}")
    r = rng.random()
    if r < 0.06:
        hdrs.append(f"Content-Encoding: {rng.choice(['br', 'identity', 'gzip'])}")
    elif r < 0.12:
        hdrs.append(f"Cache-Control: {rng.choice(['no-transform', 'public, No-Transform', 'no-transformx', 'max-age=1'])}")
    if rng.random() < 0.3:
        hdrs.append("ETag: " + rng.choice(['"abc"', 'W/"abc"', 'abc', '"a", "b"']))
        if rng.random() < 0.1:
            hdrs.append('ETag: "second"')
    if rng.random() < 0.2:
        hdrs.append("Vary: Cookie")
    framing = rng.choice(["cl", "cl", "chunked", "chunked", "close"])
    if status in (204, 304):
        body, framing = b"", "cl"
    if framing == "cl":
        hdrs.append(f"Content-Length: {len(body)}")
        payload = body
    elif framing == "chunked":
        hdrs.insert(rng.randrange(len(hdrs) + 1), "Transfer-Encoding: chunked")
        parts, k = [], 0
        while k < len(body):
            n = rng.randint(1, 9000)
            parts.append(b"%x\r\n" % len(body[k:k + n]) + body[k:k + n] + b"\r\n")
            k += n
        payload = b"".join(parts) + b"0\r\n" + (b"X-Tr: 1\r\n" if rng.random() < 0.3 else b"") + b"\r\n"
    else:
        hdrs.append("Connection: close")
        payload = body
    resp = (f"{ver} {status} R\r\n" + "".join(h + "\r\n" for h in hdrs) + "\r\n").encode() + payload
    method = "HEAD" if rng.random() < 0.08 else "GET"
    rver = "HTTP/1.0" if rng.random() < 0.08 else "HTTP/1.1"
    path = rng.choice(["/", "/b"])
    req = [f"{method} {path} {rver}", "Host: x", f"X-Id: {i}"]
    for _ in range(rng.choice([0, 1, 1, 1, 2])):
        req.append(f"Accept-Encoding: {rng.choice(AE)}")
    ua = rng.choice(UA)
    if ua:
        req.append(f"User-Agent: {ua}")
    if rng.random() < 0.1:
        req.append("Range: bytes=0-5")
    req.append("Connection: close")
    return resp, ("\r\n".join(req) + "\r\n").encode(), method


def _exchange(port: int, raw: bytes) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    out = []
    try:
        s.sendall(raw)
        while True:
            d = s.recv(65536)
            if not d:
                break
            out.append(d)
    except OSError:
        pass
    finally:
        s.close()
    return b"".join(out)


def _dechunk(b: bytes) -> tuple[bytes, bytes]:
    out, i = [], 0
    while True:
        j = b.index(b"\r\n", i)
        n = int(b[i:j].split(b";")[0], 16)
        if n == 0:
            return b"".join(out), b[j + 2:].lower()
        out.append(b[j + 2:j + 2 + n])
        i = j + 2 + n + 2


def _decode(resp: bytes, method: str) -> tuple[list[str], bytes, bytes]:
    """(head lines, names lower-cased, without Date), the decoded body, the trailers."""
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hl = [lines[0]] + [ln.split(":", 1)[0].lower() + ":" + ln.split(":", 1)[1] for ln in lines[1:]]
    # the status line's version and the connection header of an HTTP/1.0 server's response are
    # test_http_vs_haproxy.py's business (haproxy-py answers HTTP/1.1 and closes)
    hl = ["HTTP/1.x" + hl[0][8:]] + [ln for ln in hl[1:] if not ln.startswith(("date:", "connection:"))]
    low = {ln.split(":", 1)[0]: ln.split(":", 1)[1].strip().lower() for ln in hl[1:]}
    trailers = b""
    if method != "HEAD" and low.get("transfer-encoding") == "chunked":
        body, trailers = _dechunk(body)
    enc = low.get("content-encoding")
    if enc == "gzip" and "x-c:1/gzip" in [ln.replace(" ", "") for ln in hl]:
        body = zlib.decompress(body, 31)
    elif enc == "deflate" and any(ln.replace(" ", "").startswith("x-c:1/") for ln in hl):
        algo = next(ln.split("/", 1)[1] for ln in hl if ln.replace(" ", "").startswith("x-c:1/"))
        body = zlib.decompress(body, -15 if algo == "raw-deflate" else 15)
    return hl, body, trailers


@pytest.mark.needs_haproxy
def test_compression_as_haproxy() -> None:
    """Generated exchanges through both proxies: same heads, same decoded bodies, same
    Accept-Encoding at the server; the generator must reach both compressed and uncompressed
    responses of every algorithm."""
    require_haproxy_bin()
    rng = random.Random(2615)
    cases = []
    for i in range(200):
        resp, req, method = _gen(rng, i)
        RESP[str(i)] = resp
        cases.append((str(i), req, method))
    srv = RawBackend()
    got: dict[str, dict[str, tuple[list[str], bytes, bytes]]] = {}
    stats: dict[str, dict[tuple[str, str], list[int]]] = {}
    try:
        for which in ("haproxy", "ours"):
            port = free_port()
            got[which] = {}
            with run_proxy(CFG.format(fe=port, srv=srv.port, who=which), wait_ports=[port], which=which) as pp:
                for rid, req, method in cases:
                    raw = _exchange(port, req + b"\r\n")
                    assert raw, (which, rid)
                    got[which][rid] = _decode(raw, method)
                stats[which] = _comp_stats(str(pp.workdir / "s.sock"))
    finally:
        srv.close()
    seen_algos = set()
    plain = 0
    for rid, req, _ in cases:
        h, o = got["haproxy"][rid], got["ours"][rid]
        assert o == h, (rid, req, RESP[rid][:300])
        assert srv.seen.get(("ours", rid)) == srv.seen.get(("haproxy", rid)), (rid, req)
        c = next((ln for ln in h[0] if ln.startswith("x-c:")), "")
        if c.strip().startswith("x-c: 1/"):
            seen_algos.add(c.split("/", 1)[1])
        else:
            plain += 1
    assert seen_algos == {"gzip", "deflate", "raw-deflate", "identity"}, seen_algos
    assert plain >= 30
    # show stat: comp_in, comp_byp (identity), comp_rsp as 2.6 counts them; comp_out only roughly
    # (Debian's 2.6 compresses with libslz, haproxy-py with zlib: not the same bytes)
    assert stats["ours"].keys() == stats["haproxy"].keys()
    for row, (cin, cout, byp, rsp) in stats["haproxy"].items():
        oin, oout, obyp, orsp = stats["ours"][row]
        assert (oin, obyp, orsp) == (cin, byp, rsp), (row, stats)
        assert (oout > 0) == (cout > 0) and oout < 2 * oin + 100, (row, stats)
    assert stats["ours"][("fe", "FRONTEND")][0] > 0 and stats["ours"][("be2", "BACKEND")][2] > 0


def _comp_stats(sock: str) -> dict[tuple[str, str], list[int]]:
    """(proxy, row) -> comp_in, comp_out, comp_byp, comp_rsp of the FRONTEND/BACKEND rows."""
    from tests.integration.stats_client import stats_cli

    lines = stats_cli(sock, "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    idx = [head.index(n) for n in ("comp_in", "comp_out", "comp_byp", "comp_rsp")]
    out = {}
    for ln in lines[1:]:
        f = ln.split(",")
        if len(f) > max(idx) and f[1] in ("FRONTEND", "BACKEND"):
            out[(f[0], f[1])] = [int(f[i] or 0) for i in idx]
    return out


def _rss_kib(pid: int) -> int:
    for ln in Path(f"/proc/{pid}/status").read_text().splitlines():
        if ln.startswith("VmRSS:"):
            return int(ln.split()[1])
    return 0


class StreamBackend(TcpServer):
    """A chunked response of ``total`` bytes of text, produced in 64 KiB pieces."""

    total = 48 << 20

    def serve(self, c: socket.socket) -> None:
        c.settimeout(10)
        try:
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
            piece = b"".join(b"line %d of a long streamed body\n" % i for i in range(2000))[:65536]
            sent = 0
            while sent < self.total:
                c.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                sent += len(piece)
            c.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        finally:
            c.close()


@pytest.mark.slow
def test_compression_streams_with_bounded_memory() -> None:
    """A 48 MiB chunked body compressed on the fly reaches the client whole (decompressed as it
    comes) while haproxy-py's RSS grows by less than 24 MiB: nothing buffers the body."""
    srv = StreamBackend()
    port = free_port()
    cfg = (f"defaults\n    mode http\n    timeout connect 2s\n    timeout client 20s\n    timeout server 20s\n"
           f"frontend fe\n    bind 127.0.0.1:{port}\n    compression algo gzip\n    default_backend be\n"
           f"backend be\n    server s 127.0.0.1:{srv.port}\n")
    try:
        with run_proxy(cfg, wait_ports=[port]) as pp:
            warm = _exchange(port, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert warm.startswith(b"HTTP/1.1 200")
            base = _rss_kib(pp.pid)
            peak = base
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.settimeout(10)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
            d = zlib.decompressobj(31)
            raw = b""
            head = b""
            total = 0
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                if not head:
                    raw += chunk
                    if b"\r\n\r\n" not in raw:
                        continue
                    head, _, chunk = raw.partition(b"\r\n\r\n")
                    raw = b""
                raw += chunk
                # de-chunk what is complete, decompress it, keep the rest
                while True:
                    j = raw.find(b"\r\n")
                    if j < 0:
                        break
                    n = int(raw[:j], 16)
                    if len(raw) < j + 2 + n + 2:
                        break
                    total += len(d.decompress(raw[j + 2:j + 2 + n]))
                    raw = raw[j + 2 + n + 2:]
                if total and total % (4 << 20) < 70000:
                    peak = max(peak, _rss_kib(pp.pid))
            s.close()
            peak = max(peak, _rss_kib(pp.pid))
    finally:
        srv.close()
    assert b"content-encoding: gzip" in head.lower(), head
    assert total == StreamBackend.total
    assert peak - base < 24 * 1024, (base, peak)


BAD_LINES = ["compression", "compression algo", "compression algo foo", "compression type",
             "compression foo", "compression algo gzip bar"]


@pytest.mark.needs_haproxy
def test_compression_lines_as_haproxy() -> None:
    """Bad 'compression' lines: 2.6's alert text, in a frontend and in a named defaults;
    'offload' in a defaults section is 2.6's warning."""
    require_haproxy_bin()
    head = "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"
    bad = "".join(f"    {b}\n" for b in BAD_LINES)
    text = (head + f"frontend f\n    bind 127.0.0.1:1\n{bad}defaults d\n    mode http\n{bad}"
            "    compression offload\n    timeout client 1s\nfrontend g from d\n    bind 127.0.0.1:2\n")
    import re
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "c.cfg"
        cfg.write_text(text)
        out = {}
        for who, cmd in (("haproxy", [HAPROXY_BIN, "-c", "-f", str(cfg)]),
                         ("ours", [sys.executable, "-m", "haproxy_py", "-c", "-f", str(cfg)])):
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=str(ROOT))
            msgs = re.findall(r"(?:ALERT|WARNING)\]?.*?: (?:config : )?(parsing \[.*?:\d+\] : .*)",
                              p.stdout + p.stderr)
            out[who] = ([m.replace(str(cfg), "C").strip() for m in msgs if "compression" in m],
                        p.returncode != 0)
    assert out["ours"] == out["haproxy"], out
    assert len(out["ours"][0]) == 2 * len(BAD_LINES) + 1, out
