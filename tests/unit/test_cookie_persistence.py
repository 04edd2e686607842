"""Cookie persistence (http/cookie.py + Backend) against samples/http_handling captures."""

from __future__ import annotations

import calendar
import re
import time

import pytest
from test_lb_helpers import proxy, request, server

from haproxy_py.config.model import CookieConf
from haproxy_py.http import cookie as ck
from haproxy_py.runtime.backend import Backend
from tests.conftest import SAMPLES

HH = SAMPLES / "http_handling"
CAPTURE = (HH / "forwardfor_connection_cookies.txt").read_text()
LOG = (HH / "forwardfor_connection_cookies_log.txt").read_text()
# the ck_opts capture was taken at this second (log line of fe_cookie_opts)
NOW = calendar.timegm(time.strptime("23/Nov/2026:20:45:47", "%d/%b/%Y:%H:%M:%S"))

INSERT = CookieConf(name="SRV", mode="insert", indirect=True, nocache=True)
REWRITE = CookieConf(name="APPSESS", mode="rewrite")
PREFIX = CookieConf(name="APPSESS", mode="prefix")
OPTS = CookieConf(name="SRV", mode="insert", indirect=True, nocache=True, httponly=True, secure=True,
                  domains=(".example.com",), maxidle=1800, maxlife=8 * 3600)
POSTONLY = CookieConf(name="SRV", mode="insert", postonly=True, preserve=True)


def backend(conf: CookieConf, **kw: object) -> Backend:
    return Backend(proxy([server("c1", 23001, cookie="A"), server("c2", 23002, cookie="B")],
                         cookie=conf, **kw), 0.0)  # type: ignore[arg-type]


def case(title: str) -> str:
    m = re.search(r"######## " + re.escape(title) + r" .*?\n(.*?)(?=\n######## |\Z)", CAPTURE, re.S)
    assert m, title
    return m.group(1)


def exchange(conf: CookieConf, be: Backend, req_headers: list[tuple[str, str]], *, method: str = "GET",
             resp_headers: list[tuple[str, str]] | None = None, now: float = NOW):
    """Request analysis, server choice, response analysis: what the engine does."""
    rc = ck.parse_request(req_headers, conf, now)
    d = be.select(request("/echo", method, cookie=rc.value), now)
    assert d.server is not None
    be.take(d.server, now)
    be.release(d.server, now)
    out, rflag = ck.process_response(resp_headers or [], conf, server_cookie=d.server.cookie,
                                     has_server=True, direct=d.persistent, method=method, now=now,
                                     last_date=rc.last_date, first_date=rc.first_date)
    flags = ck.log_flags(conf, ck.request_flag(rc, d.cookie_flag), rflag)
    return d.server.name, rc.headers, out, flags


def test_base64_dates() -> None:
    assert ck.s30tob64(0) == "AAAAA"
    assert ck.b64tos30(ck.s30tob64(448866687)) == 448866687
    assert ck.cookie_date(NOW) == "awSl/"  # as in the ck_opts capture
    assert ck.b64tos30("aw!l/") == -1


def test_insert_first_request_then_valid_cookie() -> None:
    be = backend(INSERT)
    name, fwd, resp, flags = exchange(INSERT, be, [("Host", "x")])
    assert (name, flags) == ("c1", "NI")
    assert resp == [("set-cookie", "SRV=A; path=/")]
    assert "set-cookie: SRV=A; path=/" in case("cookie_insert_first_request")
    # valid cookie B among others: goes to c2, cookie stripped (indirect), nothing inserted
    name, fwd, resp, flags = exchange(INSERT, be, [("Host", "x"), ("Cookie", "foo=1; SRV=B; bar=2")])
    assert (name, flags, resp) == ("c2", "VN", [])
    assert fwd == [("Host", "x"), ("Cookie", "foo=1; bar=2")]
    assert "cookie: foo=1; bar=2" in case("cookie_insert_with_valid_cookie_B")
    # only the persistence cookie: the whole header goes
    name, fwd, resp, flags = exchange(INSERT, be, [("Host", "x"), ("Cookie", "SRV=B")])
    assert (name, fwd, flags) == ("c2", [("Host", "x")], "VN")
    # unknown value: load-balanced (rr moves on to c2), re-inserted, flags II
    name, fwd, resp, flags = exchange(INSERT, be, [("Host", "x"), ("Cookie", "SRV=ZZZ")])
    assert (name, flags, resp) == ("c2", "II", [("set-cookie", "SRV=B; path=/")])
    assert "set-cookie: SRV=B; path=/" in case("cookie_insert_with_unknown_value")
    assert "ck_insert/c1 0/0/0/0/0 200 112 - - --NI" in LOG and "ck_insert/c2 0/0/0/0/0 200 112 - - --II" in LOG


def test_rewrite_and_prefix() -> None:
    be = backend(REWRITE)
    _, _, resp, flags = exchange(REWRITE, be, [], resp_headers=[("Set-Cookie", "APPSESS=abc123; path=/")])
    assert resp == [("Set-Cookie", "APPSESS=A; path=/")] and flags == "NR"
    assert "set-cookie: APPSESS=A; path=/" in case("cookie_rewrite_server_sets_cookie")
    name, fwd, resp, flags = exchange(REWRITE, be, [("Cookie", "APPSESS=B")])
    assert (name, fwd, flags) == ("c2", [("Cookie", "APPSESS=B")], "VN")

    be = backend(PREFIX)
    _, _, resp, flags = exchange(PREFIX, be, [], resp_headers=[("Set-Cookie", "APPSESS=abc123; path=/")])
    assert resp == [("Set-Cookie", "APPSESS=A~abc123; path=/")] and flags == "NR"
    name, fwd, resp, flags = exchange(PREFIX, be, [("Cookie", "APPSESS=B~abc123")])
    assert (name, fwd, flags) == ("c2", [("Cookie", "APPSESS=abc123")], "VN")
    assert "cookie: APPSESS=abc123" in case("cookie_prefix_client_sends_prefixed")


def test_opts_dates_and_attributes() -> None:
    be = backend(OPTS)
    name, _, resp, flags = exchange(OPTS, be, [("Host", "x")])
    want = "SRV=A|awSl/|awSl/; path=/; domain=.example.com; HttpOnly; Secure"
    assert (name, flags, resp) == ("c1", "NI", [("set-cookie", want)])
    assert "set-cookie: " + want in case("cookie_opts_first_request")
    # a cookie without dates is accepted and refreshed: VU
    name, fwd, resp, flags = exchange(OPTS, be, [("Cookie", "SRV=A")])
    assert (name, flags, resp, fwd) == ("c1", "VU", [("set-cookie", want)], [])
    # a fresh dated cookie: valid, first date kept, last date refreshed only once it is in the past
    first = ck.s30tob64((NOW - 100) >> 2)
    name, _, resp, flags = exchange(OPTS, be, [("Cookie", f"SRV=B|{ck.cookie_date(NOW)}|{first}")])
    assert name == "c2" and flags == "VN" and resp == []
    name, _, resp, flags = exchange(OPTS, be, [("Cookie", f"SRV=B|{ck.cookie_date(NOW - 60)}|{first}")])
    assert flags == "VU" and resp[0][1].startswith(f"SRV=B|awSl/|{first};")


def test_expired_idle_and_life() -> None:
    be = backend(OPTS)
    idle = ck.cookie_date(NOW - 4000)  # older than maxidle 30m
    rc = ck.parse_request([("Cookie", f"SRV=B|{idle}|{idle}")], OPTS, NOW)
    assert rc.value is None and rc.flag == "E" and rc.headers == []
    old = ck.s30tob64((NOW - 9 * 3600) >> 2)  # first seen 9h ago > maxlife 8h
    rc = ck.parse_request([("Cookie", f"SRV=B|{ck.cookie_date(NOW)}|{old}")], OPTS, NOW)
    assert rc.value is None and rc.flag == "O"
    name, _, resp, flags = exchange(OPTS, be, [("Cookie", f"SRV=B|{idle}|{idle}")])
    assert flags == "EI" and resp and resp[0][1].startswith("SRV=")


def test_postonly_preserve() -> None:
    be = backend(POSTONLY)
    name, _, resp, flags = exchange(POSTONLY, be, [("Host", "x")])
    assert (name, resp, flags) == ("c1", [], "NN")
    name, _, resp, flags = exchange(POSTONLY, be, [("Host", "x")], method="POST")
    assert (name, resp, flags) == ("c2", [("set-cookie", "SRV=B; path=/")], "NI")
    # preserve: the server's own SRV cookie is left alone and nothing is inserted
    _, fwd, resp, flags = exchange(POSTONLY, be, [("Cookie", "SRV=B")], method="POST",
                                   resp_headers=[("Set-Cookie", "SRV=mine")])
    assert fwd == [("Cookie", "SRV=B")]  # not indirect: forwarded
    assert resp == [("Set-Cookie", "SRV=mine")] and flags == "VP"
    assert "--NN" in LOG and "ck_postonly/c2 0/0/0/0/0 200 132 - - --NI" in LOG


def test_insert_deletes_server_cookie_and_deletion_cookie() -> None:
    be = Backend(proxy([server("c1", 23001), server("c2", 23002, cookie="B")], cookie=INSERT), 0.0)
    out, flag = ck.process_response([("Set-Cookie", "SRV=x; path=/")], INSERT, server_cookie=None,
                                    has_server=True, direct=False, method="GET", now=NOW)
    assert out == [("set-cookie", "SRV=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/")]
    assert flag == "I"
    assert be.persist_lookup("B")[1] == "V"
    assert ck.log_flags(None, "V", "N") == "--"


@pytest.mark.parametrize("state,flag,expected", [("maint", "DI", "s1"), ("drain", "VN", "s2"),
                                                 ("weight0", "VN", "s2")])
def test_cookie_vs_server_state(state: str, flag: str, expected: str) -> None:
    """samples/http_handling/cookie_vs_server_state_log.txt: MAINT -> DI, DRAIN/weight 0 -> VN."""
    log = (HH / "cookie_vs_server_state_log.txt").read_text()
    assert f"--{flag}" in log
    be = Backend(proxy([server_("s1", 23001, "A"), server_("s2", 23002, "B")], cookie=INSERT), 0.0)
    s2 = be.by_name["s2"]
    if state == "maint":
        s2.admin.add("FMAINT")
        be.server_state_changed(s2, 1.0)
    elif state == "drain":
        s2.admin.add("FDRAIN")
        be.server_state_changed(s2, 1.0)
    else:
        assert be.parse_weight(s2, "0", 1.0) == ""
    name, _, _, flags = exchange(INSERT, be, [("Cookie", "SRV=B")])
    assert (name, flags) == (expected, flag)


def server_(name: str, port: int, cookie: str):  # type: ignore[no-untyped-def]
    return server(name, port, cookie=cookie)


def test_redispatch_from_dead_cookie_server() -> None:
    """ck_redispatch: cookie to a server whose connect fails, retries 1 + redispatch -> c1, DI, +1."""
    assert "ck_redispatch/c1 0/0/0/3/3 200 112 - - --DI 1/1/0/0/+1" in LOG
    be = Backend(proxy([server("c1", 23001, cookie="A"), server("dead", 23098, cookie="D")],
                       cookie=INSERT, retries=1, redispatch=-1, connect=1000), 0.0)
    rc = ck.parse_request([("Cookie", "SRV=D")], INSERT, NOW)
    req = request("/echo", cookie=rc.value)
    d = be.select(req, NOW)
    assert d.server is be.by_name["dead"] and d.persistent and d.cookie_flag == "V"
    be.take(d.server, NOW)
    a = be.on_connect_error(d.server, 0, persistent=True)
    assert a.action == "redispatch"
    be.release(d.server, NOW)
    d2 = be.select(req, NOW, avoid=d.server)
    assert d2.server is be.by_name["c1"] and d2.redispatched and not d2.persistent
    out, rflag = ck.process_response([], INSERT, server_cookie="A", has_server=True, direct=d2.persistent,
                                     method="GET", now=NOW)
    assert out == [("set-cookie", "SRV=A; path=/")]
    # the log letter: the cookie's server was abandoned -> D
    assert ck.log_flags(INSERT, "D" if d2.redispatched else d.cookie_flag, rflag) == "DI"
    assert be.counters.wredis == 1 and be.by_name["dead"].counters.wredis == 1


def test_request_parsing_edge_cases() -> None:
    c = INSERT
    assert ck.parse_request([("Cookie", "SRV=B; foo=1")], c, 0).headers == [("Cookie", "foo=1")]
    assert ck.parse_request([("Cookie", "foo=1;SRV=B;bar=2")], c, 0).headers == [("Cookie", "foo=1; bar=2")]
    rc = ck.parse_request([("Cookie", "SRV=")], c, 0)
    assert rc.value == "" and rc.flag == ""
    assert ck.request_flag(rc, "I") == "I"
    rc = ck.parse_request([("Cookie", "other=1")], c, 0)
    assert rc.value is None and rc.flag == "N" and rc.headers == [("Cookie", "other=1")]
    rc = ck.parse_request([("cookie", 'SRV="q;x"; a=1')], c, 0)
    assert rc.value == '"q;x"' and rc.headers == [("cookie", "a=1")]


def test_nocache_cacheable_rules():
    from haproxy_py.http.cookie import cacheable
    assert cacheable([("Expires", "0")], 200, "GET")
    assert cacheable([("ETag", '"x"')], 404, "HEAD")
    assert not cacheable([("Expires", "0")], 302, "GET")
    assert not cacheable([("Expires", "0")], 200, "POST")
    assert cacheable([("Expires", "0"), ("Cache-Control", "public")], 200, "POST")
    assert not cacheable([("Cache-Control", "public")], 200, "GET")  # no freshness, no validator
    assert cacheable([("Cache-Control", "max-age=60")], 200, "GET")
    for neg in ("private", "no-cache", "no-store", "max-age=0", "s-maxage=0", "public, max-age=0"):
        assert not cacheable([("Expires", "0"), ("Cache-Control", neg)], 200, "GET"), neg
    assert not cacheable([("Expires", "0"), ("Pragma", "no-cache")], 200, "GET")
    assert cacheable([("Expires", "0"), ("Cache-Control", 'no-cache="set-cookie"')], 200, "GET")
