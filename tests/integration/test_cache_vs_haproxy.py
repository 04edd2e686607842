"""The small object cache (``cache`` sections, ``http-request cache-use``, ``http-response
cache-store``, ``res.cache_hit``, ``res.cache_name``, ``show cache``) through Debian's HAProxy 2.6
and haproxy-py side by side.

Each proxy has an origin of its own (a raw server counting the requests it gets per path) that
answers each path with a generated response: status, Cache-Control, Expires, Pragma, ETag,
Last-Modified, Vary, Set-Cookie, Age, body size around max-object-size; its body names how many
times the origin was asked. A seeded sequence of requests (methods, HTTP/1.0 or 1.1, Cache-Control,
Pragma, Authorization, If-None-Match, If-Modified-Since, hosts, query strings) goes to both proxies
in lockstep. Compared for each request: the response (status line, headers with names lower-cased,
body; Age's value within a second) and how many requests each origin got so far; after the
sequence, ``show cache`` (addresses and expiry times normalised) and the httplog lines (a hit is
logged as the frontend's own, server ``<CACHE>``, ``LR--``, no queue/connect/response time). Then eviction in a cache of
1 MB holding objects of 300 kB, and show stat's cache_lookups and cache_hits columns.

Chunked responses (1500 bytes in three chunks, a trailer for some) are compared with their body
decoded (the chunk sizes are the proxies' own) and what follows the last chunk. Left out of the generator: close-delimited responses (haproxy-py does
not store them). The cache c1 has ``process-vary on`` and
``max-secondary-entries 3``: responses vary on Accept-Encoding, Referer (or a header 2.6 does not
handle) with Content-Encodings, requests send Accept-Encoding and Referer; ``show cache`` then
prints the secondary keys, compared as 2.6 prints them.
"""

from __future__ import annotations

import random
import re
import socket
import time

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import TcpServer, free_port, run_proxy, until

pytestmark = [pytest.mark.timeout(120)]

LM = "Tue, 01 Dec 2020 10:00:00 GMT"


class Origin(TcpServer):
    """Answers each request with SPEC[path] (its body says how many times it was asked)."""

    def __init__(self, spec: dict[str, tuple[int, list[str], int]]) -> None:
        self.spec = spec
        self.count = 0
        self.per_path: dict[str, int] = {}
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        c.settimeout(5)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, uri = lines[0].split(" ")[:2]
                cl = next((int(ln.split(":", 1)[1]) for ln in lines[1:] if ln.lower().startswith("content-length:")),
                          0)
                while len(buf) < cl:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                buf = buf[cl:]
                path = uri.split("?")[0]
                self.count += 1
                self.per_path[path] = self.per_path.get(path, 0) + 1
                status, hdrs, size = self.spec.get(path, (404, [], 0))
                tag = f"{uri} #{self.per_path[path]} ".encode()
                body = (tag * (size // len(tag) + 1))[:size]
                if size == 1500:  # chunked, in chunks of 500 bytes, with a trailer for some
                    framing = "Transfer-Encoding: chunked\r\n"
                    tr = b"X-Tr: %d\r\n" % self.per_path[path] if "ETag: \"e1\"" in hdrs else b""
                    body = b"".join(b"1f4\r\n" + body[i:i + 500] + b"\r\n" for i in range(0, size, 500)) \
                        + b"0\r\n" + tr + b"\r\n"
                else:
                    framing = f"Content-Length: {len(body)}\r\n"
                resp = (f"HTTP/1.1 {status} R\r\n" + "".join(h + "\r\n" for h in hdrs) + framing + "\r\n").encode()
                c.sendall(resp + (body if method != "HEAD" else b""))
        except OSError:
            pass
        finally:
            c.close()


CFG = """
global
    stats socket @DIR@/s.sock level admin
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
cache c1
    total-max-size 1
    max-object-size 20000
    max-age 40
    process-vary on
    max-secondary-entries 3
cache small
    total-max-size 1
    max-object-size 400000
frontend fe
    bind 127.0.0.1:{fe}
    filter cache c1
    http-request cache-use c1 unless {{ path_beg /nouse }}
    http-response set-header x-hit %[res.cache_hit]
    http-response set-header x-name %[res.cache_name]
    default_backend be
backend be
    http-request cache-use small if {{ path_beg /big/ }}
    http-response cache-store c1 unless {{ res.hdr(etag) -m str "\\"e2\\"" }}
    server s 127.0.0.1:{srv}
frontend fe2
    bind 127.0.0.1:{fe2}
    http-request cache-use small
    http-response cache-store small
    http-after-response set-header x-hit %[res.cache_hit]
    default_backend be
"""

CC = [None, None, "max-age=60", "max-age=60", "max-age=60", "public, max-age=30", "public, max-age=30", "private", "no-store", "no-cache", "max-age=0",
      "s-maxage=10", 'no-cache="set-cookie"', "max-age=abc", "public", "max-age=100, must-revalidate"]


def _spec(rng: random.Random) -> tuple[int, list[str], int]:
    status = rng.choice([200] * 14 + [404, 301, 500, 203])
    hdrs = []
    cc = rng.choice(CC)
    if cc is not None:
        hdrs.append(f"Cache-Control: {cc}")
    r = rng.random()
    if r < 0.1:
        hdrs.append("Expires: Thu, 01 Dec 2099 10:00:00 GMT")
    elif r < 0.15:
        hdrs.append("Expires: Thu, 01 Dec 2005 10:00:00 GMT")
    elif r < 0.18:
        hdrs.append("Expires: soon")
    if rng.random() < 0.5:
        hdrs.append("ETag: " + rng.choice(['"e1"', 'W/"e1"', '"e2"']))
    if rng.random() < 0.4:
        hdrs.append(f"Last-Modified: {LM}")
    if rng.random() < 0.3:
        hdrs.append("Vary: " + rng.choice(["Accept-Encoding", "Accept-Encoding", "referer", "accept-encoding, Referer",
                                           "Cookie", "*"]))
    if rng.random() < 0.3:
        hdrs.append("Content-Encoding: " + rng.choice(["gzip", "br", "GZIP", "x-gzip", "weird", "identity"]))
    if rng.random() < 0.15:
        hdrs.append("Set-Cookie: a=b")
    if rng.random() < 0.1:
        hdrs.append("Pragma: no-cache")
    if rng.random() < 0.1:
        hdrs.append("Age: " + rng.choice(["5", "0", "abc", "1000"]))
    size = rng.choice([0, 10, 300, 1500, 3000, 3000, 30000])
    return status, hdrs, size


def _request(rng: random.Random, paths: list[str]) -> bytes:
    method = rng.choice(["GET"] * 20 + ["HEAD", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"])
    ver = "HTTP/1.0" if rng.random() < 0.07 else "HTTP/1.1"
    uri = rng.choice(paths)
    if rng.random() < 0.1:
        uri += "?q=1"
    h = [f"{method} {uri} {ver}", "Host: " + rng.choice(["h1"] * 8 + ["h2"])]
    r = rng.random()
    if r < 0.06:
        h.append("Cache-Control: " + rng.choice(["no-cache", "max-age=0", "no-store", "min-fresh=5", "only-if-cached"]))
    elif r < 0.09:
        h.append("Pragma: no-cache")
    if rng.random() < 0.05:
        h.append("Authorization: Basic YTpi")
    if rng.random() < 0.5:
        h.append("Accept-Encoding: " + rng.choice(["gzip", "br, gzip", "deflate", "*", "gzip;q=0", "identity",
                                                   "GZIP, br;q=0.5", ""]))
    if rng.random() < 0.3:
        h.append("Referer: " + rng.choice(["/r1", "/r2"]))
    r = rng.random()
    if r < 0.15:
        h.append("If-None-Match: " + rng.choice(['"e1"', '"zz"', "*", 'W/"e1"', '"zz", "e1"']))
    elif r < 0.25:
        h.append("If-Modified-Since: " + rng.choice([LM, "Mon, 01 Dec 2019 10:00:00 GMT",
                                                    "Fri, 01 Dec 2090 10:00:00 GMT", "never"]))
    body = b""
    if method in ("POST", "PUT"):
        body = b"data"
        h.append("Content-Length: 4")
    h.append("Connection: close")
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


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


def _norm(resp: bytes) -> tuple[list[str], int | None, bytes]:
    """(status line and headers with names lower-cased, Age left out), Age's value, the body."""
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    out = [lines[0]]
    age = None
    for ln in lines[1:]:
        n, _, v = ln.partition(":")
        n = n.lower()
        if n == "age" and v.strip().isdigit():
            age = int(v.strip())
            out.append("age: <n>")
        elif n != "connection":
            out.append(f"{n}:{v}")
    if "transfer-encoding: chunked" in out and body:
        data, i = [], 0
        while True:
            j = body.index(b"\r\n", i)
            n_ = int(body[i:j], 16)
            if n_ == 0:
                break
            data.append(body[j + 2:j + 2 + n_])
            i = j + 2 + n_ + 2
        body = b"CHUNKED:" + b"".join(data) + b"|" + body[j:].lower()  # trailer names: as header names
    return out, age, body


def _cli(sock: str, cmd: str) -> str:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(sock)
    s.sendall(cmd.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.decode()


def _show(text: str) -> list[str]:
    text = re.sub(r"0x[0-9a-f]+", "ADDR", text)
    return [re.sub(r"expire:(-?\d+)", lambda m: "expire:~" + str(int(m.group(1)) // 3), ln)
            for ln in text.splitlines()]


def _fe_scur(sock: str) -> str:
    """The current sessions of frontend fe (show stat's scur)."""
    for row in _cli(sock, "show stat").splitlines():
        f = row.split(",")
        if f[:2] == ["fe", "FRONTEND"]:
            return f[4]
    return "?"


def _log_lines(proc: object) -> list[str]:
    return [ln for ln in proc.stderr_text().splitlines()  # type: ignore[attr-defined]
            if ln.startswith("127.0.0.1:") and "<BADREQ>" not in ln]  # the port probes


def _logs(proc: object, n: int) -> list[str]:
    """The first ``n`` httplog lines of a proxy (its stdout), without client address and date; the
    timers reduced to which ones happened, but a cache hit's Tw/Tc/Tr kept."""
    until(lambda: len(_log_lines(proc)) >= n)
    lines = _log_lines(proc)
    out = []
    for ln in lines[:n]:
        f = ln.split(" ")
        t = f[4].split("/")
        keep = (1, 2, 3) if "<CACHE>" in f[3] else ()  # Tq and Ta are the machine's
        f[4] = "/".join(v if i in keep or v == "-1" else "n" for i, v in enumerate(t))
        out.append(" ".join(f[2:]))
    return out


@pytest.mark.slow  # 2-6 s: 140 exchanges through each proxy, 2.6 and haproxy-py started
def test_cache_as_haproxy() -> None:
    require_haproxy_bin()
    rng = random.Random(2026)
    paths = [f"/p{i}" for i in range(7)] + ["/nouse/a"]
    spec = {p: _spec(rng) for p in paths}
    spec["/p0"] = (200, ["Cache-Control: max-age=60", 'ETag: "e1"', f"Last-Modified: {LM}"], 300)
    spec["/p1"] = (200, ["Last-Modified: " + LM], 10)
    spec["/p2"] = (200, ["Cache-Control: max-age=60", "Age: 5"], 10)
    spec["/p3"] = (200, ["Expires: Thu, 01 Dec 2099 10:00:00 GMT", 'ETag: W/"e1"', "Set-Cookie: a=b"], 3000)
    spec["/p4"] = (200, ["Cache-Control: max-age=60", 'ETag: "e1"'], 1500)
    for i in range(4):
        spec[f"/big/{i}"] = (200, ["Cache-Control: max-age=60"], 300000)
    reqs = [_request(rng, paths) for _ in range(120)]
    origins = {w: Origin(spec) for w in ("ref", "ours")}
    ports = {w: (free_port(), free_port()) for w in origins}
    got: dict[str, list[tuple[list[str], int | None, bytes, int]]] = {"ref": [], "ours": []}
    shows: dict[str, list[str]] = {}
    evict: dict[str, list[tuple[str, int]]] = {"ref": [], "ours": []}
    stats: dict[str, list[tuple[str, ...]]] = {}
    logs: dict[str, list[str]] = {}
    try:
        with run_proxy(CFG.format(fe=ports["ref"][0], fe2=ports["ref"][1], srv=origins["ref"].port),
                       which="haproxy", wait_ports=list(ports["ref"])) as ref, \
                run_proxy(CFG.format(fe=ports["ours"][0], fe2=ports["ours"][1], srv=origins["ours"].port),
                          wait_ports=list(ports["ours"])) as ours:
            procs = {"ref": ref, "ours": ours}
            for i, raw in enumerate(reqs):
                for w in ("ref", "ours"):
                    head, age, body = _norm(_exchange(ports[w][0], raw))
                    got[w].append((head, age, body, origins[w].count))
                    # request i's line before the next request: the lines are compared in the
                    # order of the requests (a proxy may log just after closing the connection)
                    until(lambda w=w, i=i: len(_log_lines(procs[w])) > i)
                    # and its connection released: the next line's conn counters must not see it
                    until(lambda w=w: _fe_scur(str(procs[w].workdir / "s.sock")) == "0")
            for w in ("ref", "ours"):
                shows[w] = _show(_cli(str(procs[w].workdir / "s.sock"), "show cache"))
                logs[w] = _logs(procs[w], len(reqs))
            # eviction: three 300 kB objects fill most of 'small' (1 MB); /big/0 is used again, so
            # the fourth one takes the place of /big/1
            for path in ["/big/0", "/big/1", "/big/2", "/big/0", "/big/3", "/big/1", "/big/2", "/big/0",
                         "/big/3"]:
                for w in ("ref", "ours"):
                    raw = f"GET {path} HTTP/1.1\r\nHost: h1\r\nConnection: close\r\n\r\n".encode()
                    head, _age, body = _norm(_exchange(ports[w][1], raw))
                    evict[w].append((head[0] + " " + next(h for h in head if h.startswith("x-hit")),
                                     origins[w].per_path.get(path, 0)))
            for w in ("ref", "ours"):
                rows = _cli(str(procs[w].workdir / "s.sock"), "show stat").splitlines()
                cols = rows[0].lstrip("# ").split(",")
                idx = [cols.index(c) for c in ("pxname", "svname", "cache_lookups", "cache_hits", "intercepted",
                                                "req_tot", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx")]
                stats[w] = [tuple(r.split(",")[i] for i in idx) for r in rows[1:]
                            if r and r.split(",")[1] in ("FRONTEND", "BACKEND")]
    finally:
        for o in origins.values():
            o.close()
    for i, (r, o) in enumerate(zip(got["ref"], got["ours"], strict=True)):
        req = reqs[i].decode("latin-1").split("\r\n\r\n")[0]
        assert o[0] == r[0], f"request {i}:\n{req}\nstatus/headers differ"
        assert o[2] == r[2], f"request {i}:\n{req}\nbody differs"
        assert o[3] == r[3], f"request {i}:\n{req}\nthe origin was asked {o[3]} times by haproxy-py, {r[3]} by 2.6"
        assert (o[1] is None) == (r[1] is None) and (r[1] is None or abs(o[1] - r[1]) <= 1), \
            f"request {i}:\n{req}\nAge {o[1]} vs 2.6's {r[1]}"
    # x-hit is %[res.cache_hit], x-name %[res.cache_name] (no sample without a hit)
    assert "%[res.cache_hit]" in CFG and "%[res.cache_name]" in CFG
    for i, (r_, o_) in enumerate(zip(logs["ref"], logs["ours"], strict=True)):
        req = reqs[i].decode("latin-1").split("\r\n\r\n")[0]
        assert o_ == r_, f"request {i}:\n{req}\nlog line differs"
    assert len(logs["ref"]) == len(reqs)
    hits = sum(1 for h in got["ref"] if "x-hit: 1" in h[0])
    assert hits == sum(1 for h in got["ours"] if "x-name: c1" in h[0])
    assert hits >= 15, f"the sequence made only {hits} cache hits"
    assert sum(1 for h in got["ref"] if h[0][0].startswith("HTTP/1.1 304")) >= 2
    assert any("vary:0x0000000000000000" not in ln and "hash:" in ln for ln in shows["ref"])
    assert shows["ours"] == shows["ref"], "\n".join(shows["ours"] + ["--- 2.6:"] + shows["ref"])
    assert evict["ours"] == evict["ref"]
    # show stat's cache_lookups and cache_hits: the frontends' rules on their FRONTEND rows, the
    # backend's on its BACKEND row; a frontend's hit is an intercepted request that never reaches
    # the backend
    assert stats["ours"] == stats["ref"], (stats["ours"], stats["ref"])
    assert all(int(r[2]) > 0 for r in stats["ref"] if r[0] in ("fe", "fe2", "be") and r[1] != "BACKEND" or r[0] == "be")
    time.sleep(0)
