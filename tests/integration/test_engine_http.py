"""mode http end to end on loopback: the seed's routing, forwardfor, connection modes, bodies,
WebSocket upgrade, pipelining, and garbage that must cost only its own connection."""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import socket
import threading
import time

import pytest

from tests.conftest import ROOT
from tests.integration.harness import (
    HTTP_DEFAULTS,
    HttpBackend,
    free_port,
    get,
    http_backends,
    http_request,
    read_http_message,
    recv_all,
    run_proxy,
)
from tests.integration.syslog_sinks import recv_until_quiet, udp_sink

SEED = (ROOT / "samples" / "haproxy.cfg").read_text()


def seed_config(fe_port: int, ports: dict[str, int]) -> str:
    """The seed config as written, with only what a test machine needs changed: no chroot/user/
    daemon/stats socket under /var, and our ports."""
    cfg = SEED
    for line in ("chroot      /var/lib/haproxy", "pidfile     /var/run/haproxy.pid", "user        haproxy",
                 "group       haproxy", "    daemon", "stats socket /var/lib/haproxy/stats"):
        cfg = cfg.replace(line, "# (test) " + line.strip())
    cfg = cfg.replace("log         127.0.0.1 local2", "log         127.0.0.1:9 local2")
    cfg = cfg.replace("*:5000", f"127.0.0.1:{fe_port}")
    for name, port in ports.items():
        default = {"static": 4331, "app1": 5001, "app2": 5002, "app3": 5003, "app4": 5004}[name]
        cfg = cfg.replace(f"127.0.0.1:{default} ", f"127.0.0.1:{port} ")
    return cfg


@pytest.fixture(scope="module")
def seed():  # type: ignore[no-untyped-def]
    with http_backends("static", "app1", "app2", "app3", "app4") as bes:
        fe = free_port()
        cfg = seed_config(fe, {b.name: b.port for b in bes})
        with run_proxy(cfg, wait_ports=[fe]) as proxy:
            yield fe, {b.name: b for b in bes}, proxy


ROUTES = [
    ("/static/app.js", "static"), ("/images/logo.png", "static"), ("/javascript/x", "static"),
    ("/stylesheets/a", "static"), ("/STATIC/x", "static"),  # path_beg -i
    ("/a/b.css", "static"), ("/x.JPG", "static"), ("/pic.png?size=2", "static"),  # path_end -i, query
    ("/x.jpgz", "app"), ("/", "app"), ("/api/v1?file=a.css", "app"), ("/staticx", "static"), ("/stat", "app"),
    ("/static", "static"), ("/imagesfoo/x", "static"),
]


@pytest.mark.parametrize("path,expected", ROUTES)
def test_seed_routing(seed, path: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    fe, bes, _ = seed
    status, headers, body = get(fe, path)
    assert status == 200
    name = headers["x-server"]
    assert (name == "static") == (expected == "static"), f"{path} went to {name}"


def test_seed_roundrobin_spreads_over_the_four_apps(seed) -> None:  # type: ignore[no-untyped-def]
    fe, bes, _ = seed
    names = [get(fe, f"/r{i}")[1]["x-server"] for i in range(8)]
    assert sorted(names) == sorted(["app1", "app2", "app3", "app4"] * 2)


def test_seed_forwardfor_except_loopback(seed) -> None:  # type: ignore[no-untyped-def]
    """The seed says `option forwardfor except 127.0.0.0/8`: a loopback client gets no header."""
    fe, bes, _ = seed
    before = sum(len(b.requests) for b in bes.values())
    get(fe, "/ff")
    reqs = [r for b in bes.values() for r in b.requests if r.start.split()[1] == b"/ff"]
    assert len(reqs) == 1 and sum(len(b.requests) for b in bes.values()) == before + 1
    assert reqs[0].header("x-forwarded-for") is None
    # http-server-close: the server is told to close
    assert reqs[0].header("connection") == "close"


def _one_backend_cfg(fe: int, be: HttpBackend, extra_defaults: str = "", extra_fe: str = "",
                     extra_be: str = "") -> str:
    return HTTP_DEFAULTS + f"""\
{extra_defaults}
frontend fe
    bind 127.0.0.1:{fe}
{extra_fe}
    default_backend be
backend be
{extra_be}
    server s1 127.0.0.1:{be.port}
"""


@pytest.mark.parametrize("opt,expect_header", [
    ("option forwardfor", "127.0.0.1"),
    ("option forwardfor header X-Client", "127.0.0.1"),
    ("option forwardfor except 127.0.0.0/8", None),
    ("option forwardfor except 10.0.0.0/8", "127.0.0.1"),
])
def test_forwardfor_variants(opt: str, expect_header: str | None) -> None:
    with http_backends("s1") as (be,):
        fe = free_port()
        with run_proxy(_one_backend_cfg(fe, be, extra_defaults="    " + opt), wait_ports=[fe]):
            get(fe, "/", {"X-Forwarded-For": "1.2.3.4"})
    req = be.requests[-1]
    name = "X-Client" if "header X-Client" in opt else "X-Forwarded-For"
    values = req.header_all(name)
    if expect_header is None:
        assert values == ["1.2.3.4"]
    elif name == "X-Client":
        assert values == [expect_header]
        # we keep the configured case of the name (HAProxy 2.6 would send x-client)
        assert any(k == "X-Client" for k, _ in req.headers)
    else:
        # appended as a new line after the client's own header
        assert values == ["1.2.3.4", expect_header]


def _keepalive_requests(port: int, n: int, *, version: str = "1.1") -> list[tuple[int, dict[str, str], bytes]]:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    f = s.makefile("rb")
    out = []
    for i in range(n):
        extra = "Connection: keep-alive\r\n" if version == "1.0" else ""
        s.sendall(f"GET /k{i} HTTP/{version}\r\nHost: x\r\n{extra}\r\n".encode())
        start, hdrs, body = read_http_message(f, response=True)
        out.append((int(start.split()[1]), {k.lower(): v for k, v in hdrs}, body))
    s.close()
    return out


@pytest.mark.parametrize("mode,server_conns,client_close", [
    ("", 1, False),  # keep-alive both sides: one server connection for 5 requests
    ("option http-keep-alive", 1, False),
    ("option http-server-close", 5, False),
    ("option httpclose", 1, True),  # both sides close after the first response
])
def test_connection_modes_count_server_connections(mode: str, server_conns: int, client_close: bool) -> None:
    with http_backends("s1") as (be,):
        fe = free_port()
        with run_proxy(_one_backend_cfg(fe, be, extra_defaults="    " + mode if mode else ""), wait_ports=[fe]):
            conns_before = be.connections
            if client_close:
                s = socket.create_connection(("127.0.0.1", fe), timeout=5)
                s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
                data = recv_all(s)
                s.close()
                assert data.count(b"HTTP/1.1 200") == 1
                assert b"connection: close" in data.lower()
                got = be.connections - conns_before
            else:
                res = _keepalive_requests(fe, 5)
                assert [r[0] for r in res] == [200] * 5
                got = be.connections - conns_before
    assert got == server_conns
    if "server-close" in mode:
        assert all(r.header("connection") == "close" for r in be.requests)


def test_http10_client_gets_close_and_server_keepalive() -> None:
    with http_backends("s1") as (be,):
        fe = free_port()
        with run_proxy(_one_backend_cfg(fe, be), wait_ports=[fe]):
            data = http_request(fe, b"GET /old HTTP/1.0\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200")
    assert b"\r\nconnection: close\r\n" in data
    req = be.requests[-1]
    assert req.start == b"GET /old HTTP/1.0"
    assert req.header("connection") == "keep-alive"


def _echo_body_backend() -> HttpBackend:
    be = HttpBackend("echo")

    def behaviour(rec):  # type: ignore[no-untyped-def]
        path = rec.start.split()[1]
        if path.startswith(b"/big"):
            size = int(path.split(b"=")[1])
            rnd = random.Random(size)
            return 200, [("X-Sha", hashlib.sha256(_blob(rnd, size)).hexdigest())], _blob(random.Random(size), size)
        if path.startswith(b"/chunked"):
            body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (b"hello ", b"chunked ", b"world")) + b"0\r\n\r\n"
            return 200, [("Transfer-Encoding", "chunked")], body
        return 200, [("X-Sha", hashlib.sha256(rec.body).hexdigest())], b"got %d\n" % len(rec.body)

    be.behaviour = behaviour
    return be.start()


def _blob(rnd: random.Random, size: int) -> bytes:
    return rnd.randbytes(size)


@pytest.fixture(scope="module")
def echo():  # type: ignore[no-untyped-def]
    be = _echo_body_backend()
    fe = free_port()
    with run_proxy(_one_backend_cfg(fe, be), wait_ports=[fe]) as proxy:
        yield fe, be, proxy
    be.stop()


def test_large_upload_content_length_checksum(echo) -> None:  # type: ignore[no-untyped-def]
    fe, be, _ = echo
    body = os.urandom(3 * 1024 * 1024)
    raw = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    resp = http_request(fe, raw, timeout=20)
    start, hdrs, rbody = read_http_message(io.BytesIO(resp), response=True)
    assert start.startswith(b"HTTP/1.1 200")
    assert dict((k.lower(), v) for k, v in hdrs)["x-sha"] == hashlib.sha256(body).hexdigest()


def test_chunked_upload_checksum(echo) -> None:  # type: ignore[no-untyped-def]
    fe, be, _ = echo
    parts = [os.urandom(random.randint(1, 70000)) for _ in range(40)]
    chunked = b"".join(b"%X;ext=1\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\nX-Trailer: t\r\n\r\n"
    raw = b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked
    resp = http_request(fe, raw, timeout=20)
    start, hdrs, _ = read_http_message(io.BytesIO(resp), response=True)
    assert dict((k.lower(), v) for k, v in hdrs)["x-sha"] == hashlib.sha256(b"".join(parts)).hexdigest()


def test_large_download_checksum(echo) -> None:  # type: ignore[no-untyped-def]
    fe, be, _ = echo
    size = 8 * 1024 * 1024
    resp = http_request(fe, b"GET /big?n=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % size, timeout=20)
    start, hdrs, body = read_http_message(io.BytesIO(resp), response=True)
    assert len(body) == size
    assert hashlib.sha256(body).hexdigest() == dict((k.lower(), v) for k, v in hdrs)["x-sha"]


def test_chunked_response_forwarded(echo) -> None:  # type: ignore[no-untyped-def]
    fe, be, _ = echo
    resp = http_request(fe, b"GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    start, hdrs, body = read_http_message(io.BytesIO(resp), response=True)
    assert body == b"hello chunked world"


def test_pipelined_requests_answered_in_order(echo) -> None:  # type: ignore[no-untyped-def]
    fe, be, _ = echo
    raw = b"".join(b"GET /p%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5))
    raw += b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    resp = http_request(fe, raw, timeout=10)
    f = io.BytesIO(resp)
    statuses = []
    for _ in range(6):
        start, _, _ = read_http_message(f, response=True)
        statuses.append(start)
    assert all(s.startswith(b"HTTP/1.1 200") for s in statuses)
    paths = [r.start.split()[1] for r in be.requests[-6:]]
    assert paths == [b"/p0", b"/p1", b"/p2", b"/p3", b"/p4", b"/last"]


def _ws_server() -> tuple[socket.socket, int]:
    """A tiny server accepting an Upgrade and then echoing bytes upper-cased."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)

    def run() -> None:
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(4096)
                if not d:
                    break
                buf += d
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            rest = buf.split(b"\r\n\r\n", 1)[1]
            if rest:
                c.sendall(rest.upper())
            while True:
                d = c.recv(4096)
                if not d:
                    break
                c.sendall(d.upper())
            c.close()

    threading.Thread(target=run, daemon=True).start()
    return ls, ls.getsockname()[1]


def test_websocket_upgrade_becomes_a_tunnel() -> None:
    ls, port = _ws_server()
    fe = free_port()
    cfg = HTTP_DEFAULTS + f"""\
    timeout tunnel 10s
frontend fe
    bind 127.0.0.1:{fe}
    default_backend ws
backend ws
    server w1 127.0.0.1:{port}
"""
    with run_proxy(cfg, wait_ports=[fe]):
        s = socket.create_connection(("127.0.0.1", fe), timeout=5)
        s.sendall(b"GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        assert head.startswith(b"HTTP/1.1 101")
        for msg in (b"hello", b"x" * 100000):
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                got += s.recv(65536)
            assert got == msg.upper()
        s.close()
    ls.close()


def test_garbage_flood_costs_only_its_connections() -> None:
    """Random bytes, truncated heads, huge headers and abrupt closes: every one gets its answer or
    is closed, a normal request still works afterwards, and nothing escapes to the event loop."""
    with http_backends("s1") as (be,):
        fe = free_port()
        with run_proxy(_one_backend_cfg(fe, be, extra_defaults="    timeout http-request 1s"),
                       wait_ports=[fe]) as proxy:
            rnd = random.Random(7)
            payloads = [rnd.randbytes(rnd.randint(1, 4000)) for _ in range(60)]
            payloads += [b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 20000 + b"\r\n\r\n",
                         b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                         b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
                         b"\r\n\r\n\r\n", b"GET /\x00 HTTP/1.1\r\n\r\n"]
            halfclose = [rnd.random() < 0.5 for _ in payloads]

            def one(i: int) -> bytes:
                s = socket.create_connection(("127.0.0.1", fe), timeout=4)
                try:
                    s.sendall(payloads[i])
                    if halfclose[i]:
                        s.shutdown(socket.SHUT_WR)
                    return s.recv(65536)
                except (ConnectionResetError, TimeoutError, BrokenPipeError):
                    return b""
                finally:
                    s.close()

            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=32) as ex:
                answers = list(ex.map(one, range(len(payloads))))
            for data in answers:
                assert data == b"" or data.startswith(b"HTTP/1.1 4") or data.startswith(b"HTTP/1.1 5"), data[:80]
            status, hdrs, body = get(fe, "/after")
            assert status == 200
            err = proxy.stderr_text()
    assert "internal error" not in err and "Traceback" not in err, err


def test_unix_socket_bind_and_ipv6() -> None:
    with http_backends("s1") as (be,):
        fe = free_port()
        cfg = _one_backend_cfg(fe, be).replace(f"bind 127.0.0.1:{fe}",
                                               f"bind 127.0.0.1:{fe},[::1]:{fe}\n    bind @DIR@/fe.sock")
        with run_proxy(cfg, wait_ports=[fe]) as proxy:
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(proxy.workdir / "fe.sock"))
            s.sendall(b"GET /u HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 200")
            s.close()
            try:
                s6 = socket.create_connection(("::1", fe), timeout=3)
            except OSError:
                pytest.skip("no IPv6 loopback on this machine")
            s6.sendall(b"GET /v6 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert s6.recv(100).startswith(b"HTTP/1.1 200")
            s6.close()


def test_server_silent_gives_504_and_then_next_request_works() -> None:
    with http_backends("s1") as (be,):
        be.behaviour = lambda rec: (time.sleep(2) or (200, [], b"late")) if b"/slow" in rec.start else (200, [], b"ok")
        fe = free_port()
        cfg = _one_backend_cfg(fe, be).replace("timeout server 5s", "timeout server 500ms")
        with run_proxy(cfg, wait_ports=[fe]):
            t0 = time.monotonic()
            status, _, _ = get(fe, "/slow")
            assert status == 504
            assert 0.4 < time.monotonic() - t0 < 1.8
            assert get(fe, "/fast")[0] == 200


def test_header_case_kept_toward_server() -> None:
    with http_backends("s1") as (be,):
        fe = free_port()
        with run_proxy(_one_backend_cfg(fe, be), wait_ports=[fe]):
            http_request(fe, b"GET / HTTP/1.1\r\nHost: x\r\nX-CamelCase-Header: v\r\nconnection: close\r\n\r\n")
    names = [k for k, _ in be.requests[-1].headers]
    assert "X-CamelCase-Header" in names and "Host" in names


def test_log_line_is_httplog_for_routed_request() -> None:
    log, logport = udp_sink(3)
    with http_backends("s1") as (be,):
        fe = free_port()
        cfg = f"global\n    log 127.0.0.1:{logport} local2\n" + _one_backend_cfg(
            fe, be, extra_defaults="    log global\n    option httplog")
        with run_proxy(cfg, wait_ports=[fe]):
            time.sleep(0.2)
            get(fe, "/logged?x=1")
            msgs = recv_until_quiet(log)
    log.close()
    line = [m for m in msgs if b"/logged" in m]
    # timers are checked by shape: under load a millisecond boundary can fall between two events
    assert line, msgs
    assert re.match(rb'<150>\w{3} [ \d]\d \d\d:\d\d:\d\d haproxy\[\d+\]: 127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:'
                    rb'\d\d:\d\d:\d\d\.\d{3}\] fe be/s1 \d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- \d+/\d+/0/0/0 0/0 '
                    rb'"GET /logged\?x=1 HTTP/1.1"\n$', line[0]), line[0]
