"""``balance hash <expr>`` with converters, differential: Debian's HAProxy 2.6 and haproxy-py pick
the same server, request for request, on generated keys.

Each backend hashes another expression (headers through string converters, an address through
ipmask, an integer through crc32 or length: the sample is hashed as binary, so an integer is its
8 bytes and an address its 4), with map-based or consistent hashing and several hash functions,
over 3-5 servers of unequal weights. Every request carries every key, so no request falls back to
round-robin (whose rotation the two proxies would start at different points).
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import HTTP_DEFAULTS, HttpBackend, free_port, http_request, run_proxy

pytestmark = [pytest.mark.timeout(120), pytest.mark.needs_haproxy, pytest.mark.slow]

BACKENDS = [
    ("req.hdr(x-k),lower,field(1,.)", ""),
    ("req.hdr(x-k),upper,concat(-,txn.nope,-x)", "consistent"),
    ("req.hdr_ip(x-ip),ipmask(24)", ""),
    ("url_param(id),crc32", "map-based crc32"),
    ("req.cook(sid),length", ""),
    ("path,word(1,/),hex", "consistent djb2 avalanche"),
    ("req.hdr(x-k),bytes(1,3),sdbm", "map-based wt6"),
    ("req.fhdr(x-k),base64", "consistent sdbm"),
    ("url_param(id),add(1000),mul(7)", "map-based sdbm avalanche"),
]


def _requests(rng: random.Random, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        k = ".".join(rng.choice(("a", "B", "www", "api", "xYz", "q1", "long-name")) for _ in range(rng.randint(1, 3)))
        ip = f"10.{rng.randrange(4)}.{rng.randrange(256)}.{rng.randrange(256)}"
        path = "/" + "/".join(rng.choice(("p", "img", "v2", "x", "static")) for _ in range(rng.randint(1, 3)))
        out.append((f"GET {path}?id={rng.randint(-50, 5000)} HTTP/1.1\r\nHost: h\r\nX-K: {k}\r\nX-IP: {ip}\r\n"
                    f"Cookie: sid={'z' * rng.randint(1, 40)}\r\nConnection: close\r\n\r\n").encode())
    return out


def test_balance_hash_expressions_vs_haproxy() -> None:
    require_haproxy_bin()
    rng = random.Random(1914)
    servers: list[list[tuple[HttpBackend, int]]] = []
    for i in range(len(BACKENDS)):
        servers.append([(HttpBackend(f"b{i}s{j}").start(), rng.randint(1, 9)) for j in range(rng.randint(3, 5))])
    reqs = _requests(rng, 30)
    try:
        got = {}
        for which in ("haproxy", "ours"):
            ports = [free_port() for _ in BACKENDS]
            cfg = HTTP_DEFAULTS
            for i, (expr, htype) in enumerate(BACKENDS):
                cfg += f"frontend f{i}\n    bind 127.0.0.1:{ports[i]}\n    default_backend b{i}\n"
                cfg += f"backend b{i}\n    balance hash {expr}\n" + (f"    hash-type {htype}\n" if htype else "")
                cfg += "".join(f"    server {be.name} 127.0.0.1:{be.port} weight {w}\n" for be, w in servers[i])
            out = []
            with run_proxy(cfg, wait_ports=ports, which=which):
                for i in range(len(BACKENDS)):
                    row = []
                    for raw in reqs:
                        head = http_request(ports[i], raw).partition(b"\r\n\r\n")[0]
                        xs = [ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")
                              if ln.lower().startswith(b"x-server:")]
                        row.append(xs[0].decode() if xs else "?")
                    out.append(row)
            got[which] = out
        diffs = [f"balance hash {BACKENDS[i][0]} ({BACKENDS[i][1] or 'map-based'}): request {k}: 2.6 {a} ours {b}"
                 for i, (rt, ro) in enumerate(zip(got["haproxy"], got["ours"], strict=True))
                 for k, (a, b) in enumerate(zip(rt, ro, strict=True)) if a != b]
        assert not diffs, "\n".join(diffs[:20]) + f"\n({len(diffs)} differences)"
        for i, row in enumerate(got["haproxy"]):  # the keys spread: more than one server is used
            assert "?" not in row and len(set(row)) > 1, (BACKENDS[i], row)
    finally:
        for row in servers:
            for be, _ in row:
                be.stop()
