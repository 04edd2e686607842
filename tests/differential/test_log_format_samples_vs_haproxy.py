"""Differential: ``%[expr]`` in a ``log-format``, Debian's HAProxy 2.6 against haproxy-py, over
seeded generated formats and traffic logged to a UDP syslog sink (issue #14, item 3).

Each seed draws a log-format of sample expressions that 2.6 accepts in a log line: variables of
every scope set by the rules (``sess.``, ``txn.``, ``req.``, ``res.``, ``proc.``; a header's value
through a variable), ``method``, addresses and ports, proxy and server names and ids, ``status``,
``str()``/``int()`` through converters (with variable arguments), captured headers and request
line pieces, ``unique-id``. The same generated requests go through both proxies: forwarded to a
server, answered by the proxy itself (``return``, ``deny``, ``redirect``), on a frontend with
rules (after-response rules too) and on one without any (the Txn is then made at log time only);
and TCP sessions through a ``mode tcp`` frontend with content rules and one without (``%ST`` is 0
there). The log lines must be equal.

The ``-c`` test checks what 2.6 refuses in a log-format (a fetch that needs the request or the
response contents, an unknown fetch or converter) with its message, the defaults' log-format
checked in each frontend that inherits it.
"""

from __future__ import annotations

import random
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import ROOT, TcpServer, free_port, run_proxy
from tests.integration.logdiff import log_sink, read_reply
from tests.integration.syslog_sinks import recv_probe_lines

SEEDS = (3, 77, 2026, 41)
N_HTTP = 14
N_TCP = 4
N_EXPR = {"http": 16, "tcp": 8}

# expressions 2.6 accepts in a frontend's log-format, on the variables the configuration sets
HTTP_EXPRS = (
    "var(txn.x)", "var(txn.n)", "var(txn.n),add(1)", "var(txn.h)", "var(txn.h),upper", "var(txn.m)",
    "var(sess.s)", "var(req.r)", "var(res.y)", "var(txn.rs)", "var(proc.p)", "var(txn.none)",
    "method", "method,lower", "src", "src,ipmask(8)", "src,upper", "dst", "dst_port", "fe_name", "be_name",
    "srv_name", "status", "status,div(100)", "str(abc),upper", "str(abc),length", "int(7),mul(6)",
    "str(hello),hex", "str(a;b;c),field(2,;)", "str(x),concat(-,txn.x,-)", "int(1),add(txn.n)",
    "var(txn.x),regsub(l,L,g)", "var(txn.x),crc32", "var(txn.x),base64", "var(txn.x),bytes(1,3)",
    "capture.req.hdr(0)", "capture.req.hdr(1),lower", "capture.res.hdr(0)", "capture.req.method",
    "capture.req.uri", "capture.req.ver", "unique-id", "fe_id", "be_id", "srv_id", "nbsrv(be)",
    "var(txn.n),bool", "str(),length",
)
TCP_EXPRS = (
    "var(txn.t)", "var(sess.s)", "var(req.q)", "var(txn.none)", "src", "dst_port", "fe_name", "be_name", "srv_name",
    "str(tcp),upper", "int(5),sub(7)", "var(txn.t),length", "fe_id", "srv_id",
)


class _Server(TcpServer):
    """HTTP: reads a head (and its Content-Length body), answers 200 with a header the frontend
    captures, then closes. TCP: echoes what it got until the client closes."""

    def __init__(self, http: bool) -> None:
        self.http = http
        super().__init__(backlog=32)

    def serve(self, c: socket.socket) -> None:
        try:
            c.settimeout(3)
            if not self.http:
                while d := c.recv(65536):
                    c.sendall(d)
                return
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    return
                data += d
            head, _, rest = data.partition(b"\r\n\r\n")
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            need = int(m.group(1)) if m else 0
            while len(rest) < need:
                d = c.recv(65536)
                if not d:
                    break
                rest += d
            c.sendall(b"HTTP/1.1 200 OK\r\nX-Res: Resp-V\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except OSError:
            pass
        finally:
            c.close()


def _fmt(rng: random.Random, pool: tuple[str, ...], tail: str, n: int) -> str:
    parts = []
    for e in rng.sample(pool, n):
        parts.append(("%{+Q}" if rng.random() < 0.2 else "%") + f"[{e}]")
    return "|".join(parts) + tail


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("abcXYZ019-") for _ in range(rng.randint(1, 8)))


def _http_request(rng: random.Random) -> bytes:
    path = rng.choice(["/", "/a/b?q=1", "/local", "/deny", "/redir", "/post"])
    method = "POST" if path == "/post" else rng.choice(["GET", "GET", "HEAD", "DELETE"])
    lines = [f"{method} {path} HTTP/1.1", "Host: h.test"]
    if rng.random() < 0.7:
        lines.append(f"User-Agent: UA-{_word(rng)}")
    if rng.random() < 0.7:
        lines.append(f"X-Tag: {_word(rng)}")
    body = b""
    if method == "POST":
        body = _word(rng).encode()
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _config(seed: int, log_port: int, ports: dict[str, int], http_be: int, tcp_be: int) -> str:
    rng = random.Random(seed)
    hfmt, tfmt = _fmt(rng, HTTP_EXPRS, " %ST", N_EXPR["http"]), _fmt(rng, TCP_EXPRS, " %ts %ST", N_EXPR["tcp"])
    return (
        f"global\n    log 127.0.0.1:{log_port} local2\n"
        "defaults\n    log global\n    timeout connect 2s\n    timeout client 2s\n    timeout server 2s\n"
        f"frontend fe\n    mode http\n    bind 127.0.0.1:{ports['fe']}\n"
        "    capture request header User-Agent len 20\n    capture request header X-Tag len 10\n"
        "    capture response header X-Res len 10\n"
        "    unique-id-format id-%[var(txn.x)]-%[method]\n"
        f"    log-format \"{hfmt}\"\n"
        "    tcp-request session set-var(sess.s) str(sessval)\n"
        "    http-request set-var(txn.x) str(hello)\n"
        "    http-request set-var(txn.n) int(41)\n"
        "    http-request set-var(req.r) str(reqscope)\n"
        "    http-request set-var(txn.h) req.hdr(x-tag)\n"
        "    http-request set-var(txn.m) method,lower\n"
        "    http-request set-var(proc.p) str(procval)\n"
        "    http-request return status 201 content-type text/plain string made if { path /local }\n"
        "    http-request deny deny_status 403 if { path /deny }\n"
        "    http-request redirect location /elsewhere if { path /redir }\n"
        "    http-response set-var(res.y) status\n"
        "    http-response set-var(txn.rs) res.hdr(x-res)\n"
        "    http-after-response set-header x-after 1\n"
        "    default_backend be\n"
        f"frontend fe_bare\n    mode http\n    bind 127.0.0.1:{ports['fe_bare']}\n"
        f"    log-format \"{hfmt}\"\n    default_backend be\n"
        f"frontend ft\n    mode tcp\n    bind 127.0.0.1:{ports['ft']}\n    log-format \"{tfmt}\"\n"
        "    tcp-request session set-var(sess.s) str(tcpsess)\n"
        "    tcp-request content set-var(txn.t) str(tcpval)\n"
        "    tcp-request content set-var(req.q) str(tcpreq)\n"
        "    default_backend bt\n"
        f"frontend ft_bare\n    mode tcp\n    bind 127.0.0.1:{ports['ft_bare']}\n    log-format \"{tfmt}\"\n"
        "    default_backend bt\n"
        f"backend be\n    mode http\n    server s1 127.0.0.1:{http_be}\n"
        f"backend bt\n    mode tcp\n    server t1 127.0.0.1:{tcp_be}\n"
    )


def _run(which: str, seed: int) -> tuple[str, list[str]]:
    rng = random.Random(seed * 7 + 1)
    http_be, tcp_be = _Server(True), _Server(False)
    sink, log_port = log_sink()
    sink.settimeout(2.0)
    ports = {k: free_port() for k in ("fe", "fe_bare", "ft", "ft_bare")}
    cfg = _config(seed, log_port, ports, http_be.port, tcp_be.port)
    subs = {str(p): f"<{k}>" for k, p in ports.items()}
    subs |= {str(http_be.port): "<be>", str(tcp_be.port): "<bt>"}
    lines: list[str] = []

    def got(what: str) -> None:
        try:
            d = sink.recv(65536).decode("latin-1").split("]: ", 1)[1].rstrip("\n")
        except TimeoutError:
            d = "<not logged>"
        for k, v in subs.items():
            d = d.replace(k, v)
        lines.append(f"{what} -> {d}")

    try:
        with run_proxy(cfg, wait_ports=list(ports.values()), which=which):
            recv_probe_lines(sink, len(ports))  # one line for each start-up probe (wait_ports)
            sink.settimeout(2.0)
            for _ in range(N_HTTP):
                fe = rng.choice(["fe", "fe", "fe_bare"])
                req = _http_request(rng)
                with socket.create_connection(("127.0.0.1", ports[fe]), timeout=3) as c:
                    c.sendall(req)
                    read_reply(c)
                got(f"{fe} {req.split(b' HTTP')[0]!r}")
            for _ in range(N_TCP):
                ft = rng.choice(["ft", "ft_bare"])
                with socket.create_connection(("127.0.0.1", ports[ft]), timeout=3) as c:
                    c.sendall(b"ping")
                    got_back = c.recv(16)
                    assert got_back == b"ping"
                got(ft)
    finally:
        http_be.close()
        tcp_be.close()
        sink.close()
    return cfg, lines


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_log_format_sample_expressions_as_haproxy(seed: int) -> None:
    require_haproxy_bin()
    cfg, theirs = _run("haproxy", seed)
    _, ours = _run("ours", seed)
    assert len(theirs) == len(ours) == N_HTTP + N_TCP
    for t, o in zip(theirs, ours, strict=True):
        assert t == o, (seed, cfg, t, o)
    assert not any(line.endswith("<not logged>") for line in theirs)


# --------------------------------------------------------------------------- what -c refuses

_CHECK_HEAD = ("global\n    log stderr local0\ndefaults\n    mode {mode}\n    log global\n    timeout client 1s\n"
               "    timeout server 1s\n    timeout connect 1s\n")
REFUSED = (
    ("http", "%[req.hdr(host)]"), ("http", "a %[path,lower] b %ci"), ("http", "%[hdr(x)]"),
    ("http", "%[res.hdr(x)] %ST"), ("http", "%[url]"), ("http", "%[req.cook(a)]"), ("http", "%[query]"),
    ("http", "%[req.ver]"), ("http", "%[res.ver]"), ("http", "%[req.fhdr(a)]"), ("http", "%[urlp(a)]"),
    ("tcp", "%[req.len]"), ("tcp", "%[res.len]"), ("tcp", "%[req.payload(0,1)]"),
    ("http", "%[nosuch] %ci"), ("http", "%[str(a),nosuch]"), ("http", "%[bytes_in]"),
    ("tcp", "%[src_port,gt(0)]"),
)
ACCEPTED = (("http", "%[method] %[status] %[var(txn.x),lower] %[capture.req.uri] %[be_name]"),
            ("tcp", "%[src] %[fe_name] %[srv_name] %[str(a),concat(-,txn.x,)]"))


def _check(cfg: str, which: str, tmp: Path) -> tuple[int, list[str]]:
    path = tmp / f"{which}.cfg"
    path.write_text(cfg)
    cmd = (["haproxy"] if which == "haproxy" else [sys.executable, "-m", "haproxy_py"]) + ["-c", "-f", str(path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=str(ROOT))
    alerts = [re.sub(r"^\[ALERT\] +\(\d+\) : ", "", ln).replace(str(path), "CFG")
              for ln in (p.stdout + p.stderr).splitlines() if ln.startswith("[ALERT]")]
    return p.returncode, [a for a in alerts if "failed to parse log-format" in a]


@pytest.mark.parametrize(("mode", "fmt"), REFUSED + ACCEPTED)
def test_log_format_check_refusals_as_haproxy(mode: str, fmt: str, tmp_path: Path) -> None:
    require_haproxy_bin()
    cfg = (_CHECK_HEAD.format(mode=mode) + f"frontend fe\n    bind 127.0.0.1:1\n    log-format \"{fmt}\"\n"
           "    default_backend be\nbackend be\n    server s 127.0.0.1:1\n")
    theirs = _check(cfg, "haproxy", tmp_path)
    ours = _check(cfg, "ours", tmp_path)
    assert (ours[0] != 0) == (theirs[0] != 0) and ours[1] == theirs[1], (theirs, ours)
    assert (theirs[0] != 0) == ((mode, fmt) in REFUSED)


def test_defaults_log_format_checked_in_each_frontend_as_haproxy(tmp_path: Path) -> None:
    require_haproxy_bin()
    cfg = (_CHECK_HEAD.format(mode="http") + "    log-format \"x %[req.hdr(a)]\"\n"
           "frontend fe\n    bind 127.0.0.1:1\n    default_backend be\n"
           "frontend fe2\n    bind 127.0.0.1:2\n    default_backend be\n"
           "frontend fe3\n    bind 127.0.0.1:3\n    log-format \"%[src]\"\n    default_backend be\n"
           "backend be\n    server s 127.0.0.1:1\n")
    theirs = _check(cfg, "haproxy", tmp_path)
    ours = _check(cfg, "ours", tmp_path)
    assert theirs[0] != 0 and len(theirs[1]) == 2
    assert ours[0] != 0 and ours[1] == theirs[1]
