"""Differential test: the server HAProxy 2.6 picks for thousands of random keys vs our Backend.

Debian's haproxy runs on loopback with one frontend per algorithm; small Python backends answer
with their name in ``X-Server``. Our ``Backend`` is built from model objects describing the same
backends and replays the same request sequence (so round-robin fallbacks line up too).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from test_lb_helpers import proxy, request, server  # noqa: E402

from haproxy_py.config.model import HashType  # noqa: E402
from haproxy_py.runtime.backend import Backend  # noqa: E402
from tests.conftest import HAPROXY_BIN, free_port, require_haproxy_bin  # noqa: E402
from tests.integration.harness import stop_process  # noqa: E402
from tests.integration.stats_client import stats_cli  # noqa: E402

pytestmark = [pytest.mark.needs_haproxy, pytest.mark.slow, pytest.mark.timeout(240)]

WEIGHTS = [1, 2, 3, 1]
N_KEYS = int(os.environ.get("LB_DIFF_KEYS", "1500"))

# name -> (balance line, hash-type line or "", Balance kwargs for the model, HashType)
CASES: dict[str, tuple[str, str, dict[str, object], HashType]] = {
    "uri_map_sdbm": ("balance uri", "", {"algo": "uri"}, HashType()),
    "uri_chash_default": ("balance uri", "hash-type consistent", {"algo": "uri"},
                          HashType("consistent", "sdbm", True)),
    "uri_opts_map_crc32": ("balance uri len 20 depth 3", "hash-type map-based crc32",
                           {"algo": "uri", "uri_len": 20, "uri_depth": 3}, HashType("map-based", "crc32")),
    "uri_whole_chash_wt6": ("balance uri whole", "hash-type consistent wt6",
                            {"algo": "uri", "uri_whole": True}, HashType("consistent", "wt6")),
    "param_map_djb2_aval": ("balance url_param user", "hash-type map-based djb2 avalanche",
                            {"algo": "url_param", "param": "user"}, HashType("map-based", "djb2", True)),
    "param_chash_crc32": ("balance url_param user", "hash-type consistent crc32",
                          {"algo": "url_param", "param": "user"}, HashType("consistent", "crc32")),
    "hdr_map_wt6": ("balance hdr(X-Key)", "hash-type map-based wt6",
                    {"algo": "hdr", "header": "X-Key"}, HashType("map-based", "wt6")),
    "hdr_dom_chash_djb2": ("balance hdr(X-Host) use_domain_only", "hash-type consistent djb2",
                           {"algo": "hdr", "header": "X-Host", "use_domain_only": True},
                           HashType("consistent", "djb2")),
    "hash_path_map": ("balance hash path", "", {"algo": "hash", "expression": "path"}, HashType()),
    "hash_hdr_chash": ("balance hash req.hdr(X-Key)", "hash-type consistent djb2",
                       {"algo": "hash", "expression": "req.hdr(X-Key)"}, HashType("consistent", "djb2")),
    "hash_src_map": ("balance hash src", "", {"algo": "hash", "expression": "src"}, HashType()),
    "source_map": ("balance source", "", {"algo": "source"}, HashType()),
    "source_chash": ("balance source", "hash-type consistent", {"algo": "source"},
                     HashType("consistent", "sdbm", True)),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("X-Server", self.server.srv_name)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A proxy that is stopped resets its idle server connections: not an error of the test."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _start_backends(n: int) -> tuple[list[ThreadingHTTPServer], list[int]]:
    servers: list[ThreadingHTTPServer] = []
    ports = []
    for i in range(n):
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.srv_name = f"s{i + 1}"  # type: ignore[attr-defined]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        ports.append(httpd.server_address[1])
    return servers, ports


@contextlib.contextmanager
def _haproxy_running(cfg: Path, fe_ports: Iterable[int], backends: list[ThreadingHTTPServer]) -> Iterator[None]:
    """Debian's haproxy on ``cfg`` until the block ends; then it is stopped and ``backends`` shut down."""
    proc = subprocess.Popen([HAPROXY_BIN, "-db", "-f", str(cfg)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        for p in fe_ports:
            _wait_port(p, deadline)
        yield
    finally:
        stop_process(proc)
        for b in backends:
            b.shutdown()
            b.server_close()


def _wait_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} never opened")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    # module-scoped, so it cannot use the function-scoped ``haproxy_bin`` fixture: same rule here,
    # a missing binary fails (never skips)
    require_haproxy_bin()
    backends, ports = _start_backends(len(WEIGHTS))
    # haproxy binds with SO_REUSEPORT: two frontends on one port would silently share traffic
    fe_ports: dict[str, int] = {}
    while len(set(fe_ports.values())) < len(CASES):
        fe_ports = {name: free_port() for name in CASES}
    assert not set(fe_ports.values()) & set(ports)
    lines = ["global", "    nbthread 1", "defaults", "    mode http", "    timeout connect 2s",
             "    timeout client 10s", "    timeout server 10s"]
    for name, (bal, ht, _, _) in CASES.items():
        lines += [f"frontend fe_{name}", f"    bind 127.0.0.1:{fe_ports[name]}", f"    default_backend {name}",
                  f"backend {name}", f"    {bal}"]
        if ht:
            lines.append(f"    {ht}")
        for i, w in enumerate(WEIGHTS):
            lines.append(f"    server s{i + 1} 127.0.0.1:{ports[i]} weight {w}")
    cfg = tmp_path_factory.mktemp("lbdiff") / "haproxy.cfg"
    cfg.write_text("\n".join(lines) + "\n")
    with _haproxy_running(cfg, fe_ports.values(), backends):
        yield fe_ports, ports


def _model(name: str, ports: list[int]) -> Backend:
    _, _, kw, ht = CASES[name]
    srvs = [server(f"s{i + 1}", ports[i], weight=w) for i, w in enumerate(WEIGHTS)]
    kw = dict(kw)
    algo = kw.pop("algo")
    return Backend(proxy(srvs, algo, hash_type=ht, **kw), 0.0)  # type: ignore[arg-type]


ALPHABET = "abcdefghijklmnopqrstuvwxyzABC0123456789-_.~/"


def _word(r: random.Random, lo: int = 0, hi: int = 24) -> str:
    return "".join(r.choice(ALPHABET) for _ in range(r.randint(lo, hi)))


def _requests(name: str, r: random.Random) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    for _ in range(N_KEYS):
        if name.startswith(("uri", "hash_path")):
            uri = "/" + _word(r)
            if r.random() < 0.4:
                uri += "?" + _word(r, 0, 10) + "=" + _word(r, 0, 10)
            if r.random() < 0.2:
                uri = "http://h" + _word(r, 0, 6) + ".example" + uri  # absolute form
            out.append((uri, {}))
        elif name.startswith("param"):
            x = r.random()
            if x < 0.1:
                uri = "/p?other=" + _word(r)  # missing: round-robin fallback
            elif x < 0.2:
                uri = "/p?users=" + _word(r) + "&x=1"
            elif x < 0.3:
                uri = "/p"
            else:
                pre = "a=1&" if r.random() < 0.3 else ""
                uri = f"/p?{pre}user={_word(r)}" + ("&b=2" if r.random() < 0.3 else "")
            out.append((uri, {}))
        else:  # hdr
            hname = "X-Key" if name.startswith(("hdr_map", "hash_hdr")) else "X-Host"
            x = r.random()
            if x < 0.1:
                out.append(("/h", {}))
            elif name.startswith(("hdr_map", "hash_hdr")):
                v = _word(r, 1, 30)
                if r.random() < 0.15:
                    v += ", " + _word(r, 1, 5)  # only the first comma-separated value counts
                out.append(("/h", {hname: v}))
            else:
                labels = [_word(r, 1, 8).replace(".", "") or "x" for _ in range(r.randint(1, 4))]
                out.append(("/h", {hname: ".".join(labels)}))
    return out


def _ask(conn: http.client.HTTPConnection, uri: str, headers: dict[str, str]) -> str:
    conn.request("GET", uri, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp.getheader("X-Server") or f"<{resp.status}>"


@pytest.mark.parametrize("name", [n for n in CASES if not n.startswith(("source", "hash_src"))])
def test_hash_algorithms_match_haproxy(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    fe_ports, ports = lab
    reqs = _requests(name, random.Random(hash(name) & 0xFFFF))
    model = _model(name, ports)
    conn = http.client.HTTPConnection("127.0.0.1", fe_ports[name], timeout=5)
    mismatches = []
    for uri, headers in reqs:
        got = _ask(conn, uri, headers)
        d = model.select(request(uri, headers=headers), 0.0)
        assert d.server is not None
        model.take(d.server, 0.0)
        model.release(d.server, 0.0)
        if got != d.server.name:
            mismatches.append((uri, headers, got, d.server.name))
    conn.close()
    assert not mismatches[:10], f"{len(mismatches)}/{len(reqs)} mismatches"


@pytest.mark.parametrize("name", ["source_map", "source_chash", "hash_src_map"])
def test_source_hash_matches_haproxy(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    fe_ports, ports = lab
    model = _model(name, ports)
    r = random.Random(7)
    addrs = sorted({f"127.{r.randint(0, 3)}.{r.randint(0, 255)}.{r.randint(1, 254)}" for _ in range(300)})
    mismatches = []
    for a in addrs:
        conn = http.client.HTTPConnection("127.0.0.1", fe_ports[name], timeout=5, source_address=(a, 0))
        got = _ask(conn, "/s", {})
        conn.close()
        want = model.select(request("/s", src=a), 0.0).server.name
        if got != want:
            mismatches.append((a, got, want))
    assert len(addrs) > 250
    assert not mismatches[:10], f"{len(mismatches)}/{len(addrs)} mismatches"


# ---------------------------------------------------------------------------- round-robin family
RR_CASES = {
    "rr_233": ("roundrobin", [2, 3, 3]),
    "rr_5117": ("roundrobin", [5, 1, 1, 7]),
    "srr_1234": ("static-rr", [1, 2, 3, 4]),
    "lc_123": ("leastconn", [1, 2, 3]),
}
# runtime changes applied to both between request batches: (backend, CLI command, model action)
RR_STEPS = [
    ("rr_233", "set weight rr_233/s1 5", ("weight", "s1", "5")),
    ("rr_5117", "set server rr_5117/s4 state maint", ("admin", "s4", "maint")),
    ("srr_1234", "set weight srr_1234/s4 0", ("weight", "s4", "0")),
    ("rr_233", "set server rr_233/s2 state drain", ("admin", "s2", "drain")),
    ("rr_5117", "set server rr_5117/s4 state ready", ("admin", "s4", "ready")),
    ("srr_1234", "set weight srr_1234/s4 100%", ("weight", "s4", "100%")),
    ("rr_233", "set weight rr_233/s3 1", ("weight", "s3", "1")),
    ("rr_233", "set server rr_233/s2 state ready", ("admin", "s2", "ready")),
]


@pytest.fixture(scope="module")
def rrlab(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    require_haproxy_bin()
    backends, ports = _start_backends(4)
    fe_ports: dict[str, int] = {}
    while len(set(fe_ports.values())) < len(RR_CASES):
        fe_ports = {name: free_port() for name in RR_CASES}
    d = tmp_path_factory.mktemp("rrlab")
    sock = d / "admin.sock"
    lines = ["global", "    nbthread 1", f"    stats socket {sock} level admin", "defaults", "    mode http",
             "    timeout connect 2s", "    timeout client 10s", "    timeout server 10s"]
    for name, (algo, ws) in RR_CASES.items():
        lines += [f"frontend fe_{name}", f"    bind 127.0.0.1:{fe_ports[name]}", f"    default_backend {name}",
                  f"backend {name}", f"    balance {algo}"]
        for i, w in enumerate(ws):
            lines.append(f"    server s{i + 1} 127.0.0.1:{ports[i]} weight {w}")
    cfg = d / "haproxy.cfg"
    cfg.write_text("\n".join(lines) + "\n")
    with _haproxy_running(cfg, fe_ports.values(), backends):
        yield fe_ports, ports, str(sock)


def _cli(sock: str, cmd: str) -> str:
    return stats_cli(sock, cmd, bufsize=4096)


def _one(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        return _ask(conn, "/r", {"Connection": "close"})
    finally:
        conn.close()


def test_roundrobin_family_sequences_and_runtime_changes(rrlab) -> None:  # type: ignore[no-untyped-def]
    fe_ports, ports, sock = rrlab
    models = {}
    for name, (algo, ws) in RR_CASES.items():
        srvs = [server(f"s{i + 1}", ports[i], weight=w) for i, w in enumerate(ws)]
        models[name] = Backend(proxy(srvs, algo, name=name), 0.0)

    def batch(n: int) -> None:
        for name in RR_CASES:
            be = models[name]
            got = [_one(fe_ports[name]) for _ in range(n)]
            want = []
            for _ in range(n):
                dec = be.select(request("/r"), 0.0)
                be.take(dec.server, 0.0)
                be.release(dec.server, 0.0)
                want.append(dec.server.name)
            assert got == want, name

    batch(23)
    for bname, cmd, (kind, sname, arg) in RR_STEPS:
        assert _cli(sock, cmd).strip() == ""
        be = models[bname]
        srv = be.by_name[sname]
        if kind == "weight":
            assert be.parse_weight(srv, arg, 1.0) == ""
        else:
            srv.admin.discard("FMAINT")
            srv.admin.discard("FDRAIN")
            if arg != "ready":
                srv.admin.add("FMAINT" if arg == "maint" else "FDRAIN")
            be.server_state_changed(srv, 1.0)
        batch(11)
    # static algorithms refuse other weights, with HAProxy's exact reply
    reply = _cli(sock, "set weight srr_1234/s1 3")
    # (the CLI adds the empty line that ends every reply)
    assert reply == models["srr_1234"].parse_weight(models["srr_1234"].by_name["s1"], "3", 1.0) + "\n"
