"""Differential: the bytes 2.6 counts (``%B``, ``%U``, ``bytes_in``/``bytes_out`` and ``show stat``
bin/bout of the frontend, the backends and the server), over seeded generated exchanges through
Debian's HAProxy 2.6 and haproxy-py, logged to UDP syslog sinks.

2.6 counts messages in their HTX form (haproxy_py/http/htx.py explains it): the request and the
response as received, chunk framing and the Connection close/keep-alive tokens left out, and
what it generates itself (redirects, ``http-request return``, deny and 503 pages) the same way.
The generator varies methods, header counts and sizes, Connection tokens, content-length,
chunked (with trailers) and close-delimited bodies, statuses, and sends some requests to rules
that answer locally or to a backend without a server.
"""

from __future__ import annotations

import csv
import io
import random

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.logdiff import ScriptedBackend, free_port, log_sink, run_requests

SEEDS = (7, 4242)
N_CASES = 36
VCHARS = "abcdefXYZ0123456789-_./=;, "
LOCAL = ["/redir", "/ret", "/deny", "/nos"]


def _v(rng: random.Random, hi: int = 40) -> str:
    return "".join(rng.choice(VCHARS) for _ in range(rng.randint(1, hi))).strip() or "v"


def _chunked(rng: random.Random, body: bytes, trailers: bool) -> bytes:
    out = []
    i = 0
    while i < len(body):
        n = rng.randint(1, 40)
        out.append(b"%x\r\n" % len(body[i:i + n]) + body[i:i + n] + b"\r\n")
        i += n
    tail = b"".join(b"X-T%d: %s\r\n" % (k, _v(rng, 10).encode()) for k in range(rng.randint(1, 2))) \
        if trailers else b""
    return b"".join(out) + b"0\r\n" + tail + b"\r\n"


def _exchange(rng: random.Random, case: int) -> tuple[bytes, bytes]:
    method = rng.choice(["GET", "GET", "POST", "PUT", "HEAD", "DELETE"])
    local = rng.random() < 0.25
    path = rng.choice(LOCAL) if local else "/" + "".join(rng.choice("abc/?=&") for _ in range(rng.randint(0, 30)))
    version = rng.choice(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0"])
    hdrs = [("Host", _v(rng, 15).replace(" ", "").replace(",", "").replace(";", "") or "h")]
    for _ in range(rng.randint(0, 8)):
        hdrs.append((rng.choice(["User-Agent", "Accept", "X-A", "X-Long", "Referer", "Proxy-Connection"]),
                     _v(rng, rng.choice([5, 40, 200]))))
    hdrs.append(("x-case", str(case)))
    if version == "HTTP/1.1":
        hdrs.append(("Connection", rng.choice(["close", "Close", "foo, close", "close, bar", "x,close,y"])))
    body = b""
    if method in ("POST", "PUT"):
        data = bytes(rng.choice(b"abcxyz") for _ in range(rng.randint(0, 300)))
        if version == "HTTP/1.1" and rng.random() < 0.4:
            hdrs.append(("Transfer-Encoding", "chunked"))
            body = _chunked(rng, data, rng.random() < 0.5)
        else:
            hdrs.append(("Content-Length", str(len(data))))
            body = data
    rng.shuffle(hdrs)
    req = (f"{method} {path} {version}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in hdrs) + "\r\n").encode() + body

    status = rng.choice([200, 200, 200, 201, 204, 301, 404, 500, 503])
    reason = rng.choice(["OK", "Reason", "A Longer Reason Phrase", ""])
    rh = []
    for _ in range(rng.randint(0, 6)):
        rh.append((rng.choice(["Server", "X-R", "Content-Type", "Cache-Control", "Set-Cookie", "Keep-Alive"]),
                   _v(rng, rng.choice([5, 60]))))
    conn = rng.choice([None, None, "keep-alive", "close", "foo, close", "Keep-Alive", "bar"])
    if conn is not None:
        rh.append(("Connection", conn))
    data = b"" if status == 204 else bytes(rng.choice(b"0123456789") for _ in range(rng.randint(0, 400)))
    framing = "length" if status == 204 else rng.choice(["length", "length", "chunked", "close"])
    if framing == "chunked" and version == "HTTP/1.1":
        rh.append(("Transfer-Encoding", "chunked"))
        rbody = _chunked(rng, data, rng.random() < 0.5)
    elif framing == "close" and method != "HEAD":
        rbody = data
    else:
        rh.append(("Content-Length", str(len(data))))
        rbody = data
    if method == "HEAD":
        rbody = b""
    rng.shuffle(rh)
    res = (f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in rh) + "\r\n").encode() + rbody
    return req, res


def _config(log_port: int, fe_port: int, be_port: int) -> str:
    return (
        f"global\n    log 127.0.0.1:{log_port} local2\n    stats socket @DIR@/stats.sock level admin\n"
        "defaults\n    mode http\n    log global\n    timeout connect 2s\n    timeout client 3s\n"
        "    timeout server 3s\n"
        f"frontend fe\n    bind 127.0.0.1:{fe_port}\n"
        "    log-format \"%ST %B %U %s|%{+Q}r\"\n"
        "    http-request redirect location /elsewhere if { path_beg /redir }\n"
        "    http-request return status 200 content-type text/plain string hello-there if { path_beg /ret }\n"
        "    http-request deny if { path_beg /deny }\n"
        "    use_backend nos if { path_beg /nos }\n"
        "    default_backend be\n"
        f"backend be\n    server s1 127.0.0.1:{be_port}\n"
        "backend nos\n"
    )


def _bytes_rows(show_stat: str) -> dict[str, tuple[str, str]]:
    rows = {}
    text = show_stat.lstrip("# ")
    for r in csv.DictReader(io.StringIO(text)):
        if r.get("pxname"):
            rows[f"{r['pxname']}/{r['svname']}"] = (r["bin"], r["bout"])
    return rows


def _run(which: str, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    pairs = [_exchange(rng, i) for i in range(N_CASES)]
    backend = ScriptedBackend([res for _, res in pairs])
    sink, log_port = log_sink()
    try:
        fe = free_port()
        run = run_requests(which, _config(log_port, fe, backend.port), [q for q, _ in pairs], fe_port=fe,
                           sink=sink, stats_sock="@DIR@/stats.sock", settle=0.3)
    finally:
        backend.close()
        sink.close()
    return run


@pytest.mark.parametrize("seed", SEEDS)
def test_logged_and_counted_bytes_as_haproxy(seed: int) -> None:
    require_haproxy_bin()
    theirs = _run("haproxy", seed)
    ours = _run("ours", seed)
    assert len(theirs.lines) == len(ours.lines) == N_CASES
    for i, (t, o) in enumerate(zip(theirs.lines, ours.lines, strict=True)):
        assert t == o, (seed, i, t, o)
    t_rows, o_rows = _bytes_rows(theirs.stats), _bytes_rows(ours.stats)
    for key in ("fe/FRONTEND", "be/BACKEND", "be/s1", "nos/BACKEND"):
        assert o_rows[key] == t_rows[key], (seed, key, t_rows[key], o_rows[key])
