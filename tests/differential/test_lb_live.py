"""Load balancing, live and differential: the same request sequence goes through Debian's HAProxy 2.6
and through haproxy-py (one configuration, one frontend per algorithm, both processes running at
once, the same recording backends s1..s4/b1..b3 answering ``X-Server: <name>``); the server each
request reached must be identical, request for request.

Requests are sent sequentially over kept-alive client connections (one per client source address,
several ``127.x.y.z`` addresses for ``balance source``), a few hundred per algorithm with seeded
random keys; hash algorithms also get requests without the key so the round-robin fallbacks are
interleaved with hashed picks.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import HttpBackend, free_port, read_http_message, run_proxy
from tests.integration.stats_client import stats_cli

pytestmark = [pytest.mark.timeout(240)]

N = int(os.environ.get("LB_LIVE_REQUESTS", "600"))
SERVERS = ("s1", "s2", "s3", "s4", "b1", "b2", "b3")


@dataclass(frozen=True)
class Algo:
    name: str
    lines: str                       # balance / hash-type / options of the backend
    servers: tuple[tuple[str, str], ...]  # (name, extra server params)
    make: Callable[[random.Random, int], tuple[str, dict[str, str], str]]  # -> (path, headers, src)
    n: int = N


W1231 = (("s1", "weight 1"), ("s2", "weight 2"), ("s3", "weight 3"), ("s4", "weight 1"),
         ("b1", "backup"))
W111 = (("s1", ""), ("s2", ""), ("s3", ""))


def _word(rng: random.Random, k: int = 8) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(1, k)))


def _plain(rng: random.Random, i: int) -> tuple[str, dict[str, str], str]:
    return f"/r{i}", {}, "127.0.0.1"


def _uri(rng: random.Random, i: int) -> tuple[str, dict[str, str], str]:
    depth = rng.randint(1, 4)
    path = "/" + "/".join(_word(rng) for _ in range(depth))
    if rng.random() < 0.4:
        path += f"?{_word(rng, 4)}={_word(rng, 4)}"
    return path, {}, "127.0.0.1"


def _abs_uri(rng: random.Random, i: int) -> tuple[str, dict[str, str], str]:
    path, h, src = _uri(rng, i)
    if rng.random() < 0.3:
        return "http://test" + path, h, src
    return path, h, src


def _param(rng: random.Random, i: int) -> tuple[str, dict[str, str], str]:
    r = rng.random()
    if r < 0.2:
        return f"/p?other={_word(rng)}", {}, "127.0.0.1"  # no key: round-robin fallback
    if r < 0.3:
        return f"/p?users={_word(rng)}&x=1", {}, "127.0.0.1"  # users= is not user=
    if r < 0.35:
        return "/p?user=", {}, "127.0.0.1"  # empty value hashes ""
    return f"/p?a=1&user={_word(rng, 6)}&z=2", {}, "127.0.0.1"


def _hdr(rng: random.Random, i: int) -> tuple[str, dict[str, str], str]:
    if rng.random() < 0.2:
        return "/h", {}, "127.0.0.1"  # no header: fallback
    return "/h", {"X-Key": _word(rng, 10)}, "127.0.0.1"


def _host_dom(rng: random.Random, i: int) -> tuple[str, dict[str, str], str]:
    labels = [_word(rng, 6) for _ in range(rng.randint(1, 4))]
    return "/d", {"Host": ".".join(labels)}, "127.0.0.1"


SOURCES = [f"127.{a}.{b}.{c}" for a, b, c in
           [(0, 0, 1), (0, 0, 2), (0, 0, 38), (0, 0, 75), (0, 0, 112), (0, 0, 149), (0, 0, 186),
            (0, 0, 223), (0, 1, 10), (0, 7, 200), (1, 2, 3), (9, 9, 9), (10, 20, 30), (100, 0, 1),
            (200, 100, 50), (254, 254, 254), (3, 141, 59), (42, 42, 42), (0, 255, 255), (128, 0, 0)]]


def _source(rng: random.Random, i: int) -> tuple[str, dict[str, str], str]:
    return f"/s{i}", {}, rng.choice(SOURCES)


ALGOS = [
    Algo("roundrobin_w1231", "balance roundrobin", W1231, _plain),
    Algo("static_rr_w2461", "balance static-rr",
         (("s1", "weight 2"), ("s2", "weight 4"), ("s3", "weight 6"), ("s4", "weight 1")), _plain),
    Algo("leastconn_w123", "balance leastconn", (("s1", "weight 1"), ("s2", "weight 2"), ("s3", "weight 3")),
         _plain, n=120),
    Algo("first_maxconn", "balance first", (("s1", "maxconn 2"), ("s2", "maxconn 2"), ("s3", "")), _plain,
         n=60),
    Algo("uri_map_w1231", "balance uri", W1231, _uri),
    Algo("uri_chash_w1231", "balance uri\n    hash-type consistent", W1231, _abs_uri),
    Algo("uri_len_depth_djb2", "balance uri len 12 depth 2\n    hash-type map-based djb2", W111, _uri),
    Algo("uri_whole_wt6_chash", "balance uri whole\n    hash-type consistent wt6", W111, _uri),
    Algo("uri_pathonly_crc32", "balance uri path-only\n    hash-type map-based crc32 avalanche", W111,
         _abs_uri),
    Algo("url_param_map", "balance url_param user", W1231, _param),
    Algo("url_param_chash", "balance url_param user\n    hash-type consistent", W1231, _param),
    Algo("hdr_map", "balance hdr(X-Key)", W1231, _hdr),
    Algo("hdr_chash_sdbm", "balance hdr(X-Key)\n    hash-type consistent sdbm", W1231, _hdr),
    Algo("hdr_host_domain_only", "balance hdr(Host) use_domain_only", W111, _host_dom),
    Algo("source_map_w1231", "balance source", W1231, _source),
    Algo("source_chash", "balance source\n    hash-type consistent", W1231, _source),
    Algo("backup_first_only", "balance roundrobin",
         (("s1", "disabled"), ("s2", "disabled"), ("b1", "backup"), ("b2", "backup")), _plain, n=40),
    Algo("backup_allbackups", "balance roundrobin\n    option allbackups",
         (("s1", "disabled"), ("b1", "backup weight 1"), ("b2", "backup weight 1"),
          ("b3", "backup weight 2")), _plain, n=80),
    Algo("backup_uri_allbackups", "balance uri\n    option allbackups",
         (("s1", "disabled"), ("b1", "backup weight 1"), ("b2", "backup weight 3"), ("b3", "backup")), _uri,
         n=150),
]


# backends whose servers change at runtime (stats socket) in the middle of the sequence
RUNTIME = [
    Algo("rt_roundrobin", "balance roundrobin", W1231, _plain, n=100),
    Algo("rt_static_rr", "balance static-rr", W1231, _plain, n=100),
    Algo("rt_leastconn", "balance leastconn", W1231, _plain, n=60),
    Algo("rt_uri_map", "balance uri", W1231, _uri, n=100),
    Algo("rt_uri_chash", "balance uri\n    hash-type consistent", W1231, _uri, n=100),
    Algo("rt_source_chash", "balance source\n    hash-type consistent", W1231, _source, n=100),
]
# (command template, applies to static algorithms too): weights and admin states, then back
STEPS = [
    ("set weight {be}/s2 7", False),
    ("set weight {be}/s3 0%", True),
    ("set server {be}/s1 state maint", True),
    ("set server {be}/s4 state drain", True),
    ("set weight {be}/s3 100%", True),
    ("set server {be}/s1 state ready", True),
    ("set server {be}/s2 state maint", True),
    ("set server {be}/s4 state maint", True),
    ("set server {be}/s3 state maint", True),
    ("set server {be}/s1 state maint", True),  # every active down: backup b1 takes over
    ("set server {be}/s3 state ready", True),
    ("set server {be}/s2 state ready", True),
    ("set server {be}/s1 state ready", True),
    ("set server {be}/s4 state ready", True),
    ("set weight {be}/s1 3", False),
]


def _config(ports: dict[str, int], fe_ports: dict[str, int]) -> str:
    out = ["global", "    maxconn 500", "    stats socket @DIR@/admin.sock level admin", "defaults", "    mode http", "    timeout connect 2s",
           "    timeout client 10s", "    timeout server 10s", "    timeout http-keep-alive 10s", ""]
    for a in ALGOS + RUNTIME:
        out += [f"frontend fe_{a.name}", f"    bind 127.0.0.1:{fe_ports[a.name]}", f"    default_backend be_{a.name}",
                "", f"backend be_{a.name}", "    " + a.lines]
        for name, params in a.servers:
            out.append(f"    server {name} 127.0.0.1:{ports[name]} {params}".rstrip())
        out.append("")
    return "\n".join(out) + "\n"


@dataclass
class Proxies:
    fe_h: dict[str, int]
    fe_o: dict[str, int]
    sock_h: str
    sock_o: str


def cli(path: str, cmd: str) -> str:
    """One runtime-API command over the unix stats socket (non-interactive: reply then close)."""
    return stats_cli(path, cmd, encoding="latin-1")


@pytest.fixture(scope="module")
def proxies() -> Iterator[Proxies]:
    require_haproxy_bin()
    bes = [HttpBackend(n).start() for n in SERVERS]
    ports = {b.name: b.port for b in bes}
    fe_h = {a.name: free_port() for a in ALGOS + RUNTIME}
    fe_o = {a.name: free_port() for a in ALGOS + RUNTIME}
    last = RUNTIME[-1].name
    try:
        with contextlib.ExitStack() as st:
            ph = st.enter_context(run_proxy(_config(ports, fe_h), wait_ports=[fe_h[last]], which="haproxy"))
            po = st.enter_context(run_proxy(_config(ports, fe_o), wait_ports=[fe_o[last]], which="ours"))
            yield Proxies(fe_h, fe_o, str(ph.workdir / "admin.sock"), str(po.workdir / "admin.sock"))
    finally:
        for b in bes:
            b.stop()


class Client:
    """Kept-alive connections, one per source address; reconnects when the proxy closed one."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conns: dict[str, tuple[socket.socket, object]] = {}

    def _conn(self, src: str) -> tuple[socket.socket, object]:
        c = self.conns.get(src)
        if c is None:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5, source_address=(src, 0))
            c = (s, s.makefile("rb"))
            self.conns[src] = c
        return c

    def get(self, path: str, headers: dict[str, str], src: str) -> str:
        h = {"Host": "test"}
        h.update(headers)
        raw = (f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n").encode()
        for attempt in (0, 1):
            s, f = self._conn(src)
            try:
                s.sendall(raw)
                start, hdrs, _ = read_http_message(f, response=True)
            except (EOFError, OSError):
                self.close_one(src)
                if attempt:
                    raise
                continue
            if not start.startswith(b"HTTP/1.1 200"):
                return start.decode("latin-1")
            for k, v in hdrs:
                if k.lower() == "connection" and v.lower() == "close":
                    self.close_one(src)
                if k.lower() == "x-server":
                    return v
            return "?"
        raise AssertionError("unreachable")

    def close_one(self, src: str) -> None:
        c = self.conns.pop(src, None)
        if c is not None:
            c[0].close()

    def close(self) -> None:
        for src in list(self.conns):
            self.close_one(src)


def _run(port: int, reqs: list[tuple[str, dict[str, str], str]]) -> list[str]:
    cl = Client(port)
    try:
        return [cl.get(p, h, s) for p, h, s in reqs]
    finally:
        cl.close()


@pytest.mark.parametrize("algo", ALGOS, ids=[a.name for a in ALGOS])
def test_same_server_per_request(proxies: Proxies, algo: Algo) -> None:
    fe_h, fe_o = proxies.fe_h, proxies.fe_o
    rng = random.Random(f"lb-live-{algo.name}")
    reqs = [algo.make(rng, i) for i in range(algo.n)]
    want = _run(fe_h[algo.name], reqs)
    got = _run(fe_o[algo.name], reqs)
    # the comparison means something only if HAProxy really answered and spread the load
    assert all(x in SERVERS for x in want), sorted(set(want))
    if algo.name.startswith(("roundrobin", "static", "uri", "url", "hdr", "source", "leastconn")):
        assert len(set(want)) >= 3, f"HAProxy used only {set(want)}"
    _compare(algo.name, reqs, want, got)


def _compare(name: str, reqs: list, want: list[str], got: list[str]) -> None:
    if got != want:
        first = next(i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b)
        diffs = sum(1 for a, b in zip(got, want, strict=False) if a != b)
        raise AssertionError(
            f"{name}: {diffs}/{len(want)} requests reached another server; first at #{first} "
            f"{reqs[first]}: haproxy {want[first]} ours {got[first]}\n"
            f"haproxy {want[max(0, first - 5):first + 10]}\nours    {got[max(0, first - 5):first + 10]}")


@pytest.mark.parametrize("algo", RUNTIME, ids=[a.name for a in RUNTIME])
def test_runtime_changes_same_servers(proxies: Proxies, algo: Algo) -> None:
    """Weights and admin states changed through the stats socket between request batches: both
    proxies answer the commands the same way and keep choosing the same servers afterwards."""
    rng = random.Random(f"lb-rt-{algo.name}")
    static = "static" in algo.name
    be = f"be_{algo.name}"
    ch = Client(proxies.fe_h[algo.name])
    co = Client(proxies.fe_o[algo.name])
    seen: set[str] = set()
    try:
        for step, (tmpl, for_static) in enumerate([("", True)] + STEPS):
            if tmpl and (for_static or not static):
                cmd = tmpl.format(be=be)
                rh = cli(proxies.sock_h, cmd)
                ro = cli(proxies.sock_o, cmd)
                assert ro == rh, f"{cmd!r}: haproxy {rh!r} ours {ro!r}"
            reqs = [algo.make(rng, i) for i in range(algo.n // 4 + 7)]
            want = [ch.get(p, h, s) for p, h, s in reqs]
            got = [co.get(p, h, s) for p, h, s in reqs]
            seen.update(want)
            _compare(f"{algo.name} after step {step} ({tmpl})", reqs, want, got)
    finally:
        ch.close()
        co.close()
    assert "b1" in seen, "the all-actives-in-maintenance step should have sent traffic to the backup"
