"""checks.probes: request bytes and response verdicts."""

from __future__ import annotations

import errno

from haproxy_py.checks import probes as P
from haproxy_py.config.model import HttpCheck


def test_request_forms() -> None:
    assert P.build_http_request(HttpCheck()) == b"OPTIONS / HTTP/1.0\r\n\r\n"
    assert P.build_http_request(HttpCheck(method="GET", uri="/health")) == b"GET /health HTTP/1.0\r\n\r\n"
    legacy = HttpCheck(method="HEAD", uri="/x", version="HTTP/1.1\r\nHost: www.example.com")
    assert P.build_http_request(legacy) == b"HEAD /x HTTP/1.1\r\nhost: www.example.com\r\nconnection: close\r\n\r\n"
    modern = HttpCheck(method="GET", uri="/h", version="HTTP/1.1", headers=(("Host", "www.example.com"),))
    assert P.build_http_request(modern) == b"GET /h HTTP/1.1\r\nhost: www.example.com\r\nconnection: close\r\n\r\n"
    body = HttpCheck(method="POST", uri="/p", version="HTTP/1.1", body="abc")
    assert P.build_http_request(body) == b"POST /p HTTP/1.1\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc"
    st = P.send_state_value("UP 1/3", "127.0.0.1", 23035, "b5", "c5", "vm", 1, 1, 0, 0, 0)
    assert P.build_http_request(HttpCheck(uri="/only-uri"), st) == (
        b"OPTIONS /only-uri HTTP/1.0\r\nx-haproxy-server-state: UP 1/3; address=127.0.0.1; port=23035;"
        b" name=b5/c5; node=vm; weight=1/1; scur=0/0; qcur=0\r\n\r\n")


def verdict(hc: HttpCheck | None, *chunks: bytes, close: bool = False) -> P.CheckResult | None:
    v = P.HttpVerdict(hc)
    res = None
    for c in chunks:
        res = v.feed(c)
        if res is not None:
            return res
    return v.closed() if close else res


def test_default_expect() -> None:
    r = verdict(None, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert (r.status, r.result, r.code, r.info) == ("L7OK", P.RES_PASSED, 200, "")
    r = verdict(None, b"HTTP/1.1 302 Found\r\n\r\n")
    assert r.status == "L7OK"
    r = verdict(None, b"HTTP/1.1 503 Service Unavailable\r\n", b"\r\n")
    assert (r.status, r.code, r.info) == ("L7STS", 503, "Service Unavailable")
    r = verdict(None, b"HTTP/1.1 404 Not Found\r\n\r\n")
    assert r.status == "L7STS"
    r = verdict(HttpCheck(disable_on_404=True), b"HTTP/1.1 404 Not Found\r\n\r\n")
    assert (r.status, r.result) == ("L7OKC", P.RES_CONDPASS)


def test_partial_and_invalid() -> None:
    v = P.HttpVerdict(None)
    assert v.feed(b"HTTP/1.1 2") is None
    assert v.feed(b"00 OK\r\nX: y\r\n") is None
    assert v.feed(b"\r\n").status == "L7OK"
    assert verdict(None, b"GARBAGE\r\n\r\n").status == "L7RSP"
    assert verdict(None, close=True).status == "L7RSP"
    assert verdict(None, b"HTTP/1.1 200", close=True).status == "L7RSP"
    assert P.HttpVerdict(None).timeout().status == "L7TOUT"


def test_expect_rules() -> None:
    st = HttpCheck(expect=("status", "200", False))
    assert verdict(st, b"HTTP/1.1 200 OK\r\n\r\n").status == "L7OK"
    assert verdict(st, b"HTTP/1.1 301 Moved\r\n\r\n").status == "L7STS"
    neg = HttpCheck(expect=("status", "500", True))
    assert verdict(neg, b"HTTP/1.1 404 NF\r\n\r\n").status == "L7OK"
    assert verdict(neg, b"HTTP/1.1 500 ISE\r\n\r\n").status == "L7STS"
    rng = HttpCheck(expect=("status", "200-299,404", False))
    assert verdict(rng, b"HTTP/1.1 404 NF\r\n\r\n").status == "L7OK"
    rs = HttpCheck(expect=("rstatus", "^2", False))
    assert verdict(rs, b"HTTP/1.1 204 NC\r\n\r\n").status == "L7OK"
    assert verdict(rs, b"HTTP/1.1 304 NM\r\n\r\n").status == "L7STS"
    s = HttpCheck(expect=("string", "alive", False))
    assert verdict(s, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", b"I'm ") is None  # body incomplete
    assert verdict(s, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nI'm alive").status == "L7OK"
    assert verdict(s, b"HTTP/1.1 500 ISE\r\n\r\nalive", close=True).status == "L7OK"
    r = verdict(s, b"HTTP/1.1 200 OK\r\n\r\ndead", close=True)
    assert r.status == "L7RSP" and r.result == P.RES_FAILED
    rx = HttpCheck(expect=("rstring", "ver=[0-9]+", True))
    assert verdict(rx, b"HTTP/1.1 200 OK\r\n\r\nver=12", close=True).status == "L7RSP"
    assert verdict(rx, b"HTTP/1.1 200 OK\r\n\r\nnothing", close=True).status == "L7OK"


def test_layer4_results() -> None:
    r = P.connect_failed(errno.ECONNREFUSED, 0)
    assert (r.status, r.info, r.result) == ("L4CON", "Connection refused", P.RES_FAILED)
    assert P.connect_timeout(1000).status == "L4TOUT"
    assert P.tcp_passed(1).status == "L4OK" and P.tcp_passed(1).passed


def test_observe_http_ok() -> None:
    assert all(P.observe_http_ok(c) for c in (100, 200, 302, 404, 499, 501, 505))
    assert not any(P.observe_http_ok(c) for c in (500, 502, 503, 504, 506, 0))
