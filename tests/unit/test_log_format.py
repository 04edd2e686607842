"""log-format compiler, variables and flags, JSON styles, termination helpers.

The expected strings of the two "live" tests were produced by Debian's HAProxy 2.6.12 on this
machine with the same format strings (datagrams captured on UDP; see the comments).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from haproxy_py.log import format as lf
from haproxy_py.log.format import (
    HTTP_LOG_FORMAT,
    TERM_EVENTS,
    LogContext,
    LogFormatError,
    LogRecord,
    compile_log_format,
    connect_line,
    formatter_for,
    set_term,
    term_state,
    term_state_cookie,
)
from haproxy_py.samples import LOG_SAMPLES
from tests.unit.log_helpers import utc_timezone


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with utc_timezone(lf._DC.__init__):
        yield


def _denied(accept: float, request_line: str | None, **kw) -> LogRecord:
    r = LogRecord(accept)
    r.client_ip, r.client_port = "127.0.0.1", 34264
    r.frontend_ip, r.frontend_port = "127.0.0.1", 24612
    r.frontend_name = "fe2"
    r.http = True
    r.request_line = request_line
    r.t_request = 0 if request_line else -1
    r.t_close = 0
    set_term(r, *TERM_EVENTS["deny"])
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def test_live_format_flags_and_variables() -> None:
    # haproxy 2.6: frontend fe2, "http-request deny", request `GET /p"]a?q=1 HTTP/1.1`
    fmt = (
        "%{+Q}o %ci %{-Q}cp %{+X}ci %{+X}cp %{+X}Ts %{+X}ms %ms %{+X}pid %{+E}HU %HM %HP %HQ %HV %HU "
        "%[src] %fi:%fp %{+X}rt %rt %lc %H %ID %T %Tl %trg %trl %t %tr %{+Q}b %s %si:%sp %bi:%bp "
        "%Th %Ti %Tq %Td %Tu %U %{+Q}CC %tsc %ts %hrl %hsl %{+Q}hr end"
    )
    expected = (
        '"127.0.0.1" 34264 7F000001 85D8 6B08F7E6 39F 927 2B58 "/p#22\\]a?q=1" "GET" "/p#22]a" "?q=1" '
        '"HTTP/1.1" "/p#22]a?q=1" "127.0.0.1" "127.0.0.1":24612 0000 0 0 "vm" "" 27/Nov/2026:03:24:22 '
        "+0000 27/Nov/2026:03:24:22 +0000 27/Nov/2026:03:24:22 +0000 27/Nov/2026:03:24:22 +0000 "
        '27/Nov/2026:03:24:22.927 27/Nov/2026:03:24:22.927 "fe2" "<NOSRV>" "":"" "":"" 0 0 0 -1 0 99 "" '
        "PR-- PR end"
    )
    cf = compile_log_format(fmt, context=LogContext(pid=11096, hostname="vm"), samples=LOG_SAMPLES)
    r = _denied(1795749862.927, 'GET /p"]a?q=1 HTTP/1.1', bytes_in=99, status=403)
    assert cf(r) == expected


def test_live_missing_values_and_separators() -> None:
    # haproxy 2.6 with `capture request header y len 10` and log-format
    #   "%si:%sp %bi:%bp %ID %[dst_port] %HM|%HU|%HP|%HQ|%HV %{+Q}r\ \ %CC\ \ %b %%\ \ %{+Q}o ..."
    fmt = (
        "%si:%sp %bi:%bp %ID %[dst_port] %HM|%HU|%HP|%HQ|%HV %{+Q}r  %CC  %b %%  %{+Q}o %B %ac "
        "%[capture.req.hdr(0)] %ST"
    )
    cf = compile_log_format(fmt, samples=LOG_SAMPLES)
    ok = _denied(0.0, "GET /a?b HTTP/1.1", bytes_out=192, actconn=1, status=403, req_caps=['a"b'])
    assert cf(ok) == '-:- -:- - 24612 GET|/a?b|/a|?b|HTTP/1.1 "GET /a?b HTTP/1.1" - fe2 % 192 1 "a"b" 403'
    bad = _denied(0.0, None, bytes_out=0, actconn=1, status=400, req_caps=[None])
    assert cf(bad) == (
        '-:- -:- - 24612 <BADREQ>|<BADREQ>|<BADREQ>|<BADREQ>|<BADREQ> "<BADREQ>" - fe2 % 0 1 "" 400'
    )


def test_separator_rules() -> None:
    r = _denied(0.0, "GET / HTTP/1.1")
    # leading separators dropped, runs merged, trailing kept once
    assert compile_log_format("  %b   x ")(r) == "fe2 x "
    # a variable printing an empty string still counts as printed: the next space stays
    assert compile_log_format("a %HQ b")(r) == "a  b"
    # %hr without captures prints nothing and the following separator is dropped
    assert compile_log_format("a %hr %hs b")(r) == "a b"
    r.req_caps = ["x", None]
    assert compile_log_format("a %hr %hs b")(r) == "a {x|} b"
    assert compile_log_format("%hrl|%{+Q}hrl")(r) == 'x -|"x" ""'


def test_header_and_url_encoding() -> None:
    r = _denied(0.0, 'GET /a"#\x01\x7f\xe9 HTTP/1.1')
    r.req_caps = ['{a|b}"#\x1f\xff', "plain"]
    assert compile_log_format("%r")(r) == "GET /a#22#23#01#7F#E9 HTTP/1.1"
    assert compile_log_format("%hr")(r) == "{#7Ba#7Cb#7D#22#23#1F#FF|plain}"
    assert compile_log_format("%{+E}r")(r) == "GET /a#22#23#01#7F#E9 HTTP/1.1"
    r.request_line = "GET /x\\y] HTTP/1.1"
    assert compile_log_format("%{+E}r %r")(r) == "GET /x\\\\y\\] HTTP/1.1 GET /x\\y] HTTP/1.1"
    r.cli_cookie = 'a"b]'
    assert compile_log_format("%{+E}CC %{+Q,+E}CC")(r) == 'a\\"b\\] "a\\"b\\]"'


def test_request_line_pieces() -> None:
    cf = compile_log_format("%HM|%HU|%HP|%HPO|%HQ|%HV")
    assert cf(_denied(0.0, "POST /p/q?x=1&y HTTP/1.0")) == "POST|/p/q?x=1&y|/p/q|/p/q|?x=1&y|HTTP/1.0"
    assert cf(_denied(0.0, "GET /only")) == "GET|/only|/only|/only||HTTP/0.9"
    assert cf(_denied(0.0, "GET")) == "<BADREQ>|<BADREQ>|<BADREQ>|<BADREQ>||<BADREQ>"


def test_hex_and_misc_variables() -> None:
    r = _denied(1000.5, "GET / HTTP/1.1")
    r.server_ip, r.server_port = "10.0.0.2", 80
    r.backend_src_ip, r.backend_src_port = "10.0.0.1", 40000
    r.req_counter, r.log_counter = 17, 3
    r.unique_id = "abc"
    ctx = LogContext(pid=255, hostname="h")
    cf = compile_log_format("%{+X}si:%{+X}sp %{+X}bi:%{+X}bp %si:%sp %pid %{+X}pid %rt %{+X}rt %{+X}lc %ID %H %Ts %ms", context=ctx)
    assert cf(r) == "0A000002:0050 0A000001:9C40 10.0.0.2:80 255 00FF 17 0011 0003 abc h 1000 500"
    v6 = _denied(0.0, None, client_ip="::1")
    assert compile_log_format("%{+X}ci")(v6) == "00000000000000000000000000000001"


def test_timers_and_flags() -> None:
    r = LogRecord(0.0)
    r.set_timers(TR=1, Tw=2, Tc=3, Tr=4, Ta=20, Ti=5, Th=0)
    assert (r.TR, r.Tw, r.Tc, r.Tr, r.Ta, r.Tt, r.Tq, r.Ti) == (1, 2, 3, 4, 20, 25, 6, 5)
    r.http = True
    assert r.Td == 25 - (5 + 1 + 2 + 3 + 4)
    r.logasap = True
    r.redispatched, r.retries = True, 2
    r.bytes_out = 10
    assert compile_log_format("%Ta %Tt %B %rc %Tu")(r) == "+20 +25 +10 +2 +20"
    # %tr is the date of the first request byte: accept date + Ti + Th
    r2 = LogRecord(100.0)
    r2.set_timers(TR=0, Ti=1500)
    assert compile_log_format("%t %tr")(r2) == "01/Jan/1970:00:01:40.000 01/Jan/1970:00:01:41.500"


def test_tcp_timer_quirk() -> None:
    # in TCP HAProxy never sets t_request, so Tw = t_queue + 1 (captured "1/0/2")
    r = LogRecord(0.0)
    r.t_queue, r.t_connect, r.t_close = 0, 0, 2
    assert compile_log_format("%Tw/%Tc/%Tt")(r) == "1/0/2"


def test_samples_from_the_record_without_txn() -> None:
    """Without the session's Txn (rec.txn None), %[expr] read a Txn made of the record's facts (no
    response: 2.6's status fetch finds none for a response the proxy made itself)."""
    r = _denied(0.0, "GET / HTTP/1.1", status=403, backend_name="be1", server_name="s9")
    cf = compile_log_format(
        "%[src,upper] %[fe_name,upper] %[be_name] %[srv_name] %[status] %[var(txn.none)] %{+Q}[var(txn.none)] "
        "%[str(a),concat(-,txn.none,-)] %[int(6),mul(7)]", samples=LOG_SAMPLES
    )
    assert cf(r) == '127.0.0.1 FE2 be1 s9 - - "" a-- 42'
    assert r.txn is None


@pytest.mark.parametrize(
    ("fmt", "needle"),
    [
        ("%zz", "no such format variable 'zz'"),
        ("%{+Q}", "without variable name"),
        ("%[src", "missing ']'"),
        ("%[req.hdr(host)] x", "sample fetch <req.hdr(host)] x> may not be reliably used here"),
        ("%[nosuch] %ci", "failed to parse sample expression <nosuch] %ci> : unknown fetch method 'nosuch'"),
        ("%[src,nosuch]", "unknown converter 'nosuch'"),
        ("abc %", "truncated line"),
        ("% x", "Maybe you want to write a single '%'"),
    ],
)
def test_compile_errors(fmt: str, needle: str) -> None:
    with pytest.raises(LogFormatError, match=None) as ei:
        compile_log_format(fmt, samples=LOG_SAMPLES)
    assert needle in str(ei.value)


def test_formatter_for_styles() -> None:
    r = _denied(0.0, "GET / HTTP/1.1", status=403, bytes_out=192)
    assert formatter_for("default") is None
    assert formatter_for("httplog")(r).endswith('PR-- 0/0/0/0/0 0/0 "GET / HTTP/1.1"')
    assert formatter_for("tcplog")(r).endswith(" 192 PR 0/0/0/0/0 0/0")
    assert formatter_for("httplog", "%b %ST")(r) == "fe2 403"
    with pytest.raises(ValueError):
        formatter_for("nonsense")


def test_json_styles_are_typed() -> None:
    r = _denied(0.0, None, status=400)
    r.req_caps = ["h", None]
    d = json.loads(formatter_for("httplog-json")(r))
    assert d["TR"] is None and d["Tw"] is None and d["Ta"] == 0
    assert d["status_code"] == 400 and d["http_request"] is None
    assert d["server_name"] == "<NOSRV>" and d["backend_name"] == "fe2"
    assert d["termination_state"] == "PR--" and d["captured_request_headers"] == ["h", None]
    assert d["captured_request_cookie"] is None
    t = LogRecord(0.0)
    t.frontend_name, t.backend_name, t.server_name = "f", "b", "s"
    t.t_queue, t.t_connect, t.t_close, t.bytes_out = 0, 1, 9, 80
    d = json.loads(formatter_for("tcplog-json")(t))
    assert (d["Tw"], d["Tc"], d["Tt"], d["bytes_read"], d["termination_state"]) == (1, 1, 9, 80, "--")
    assert "\n" not in formatter_for("tcplog-json")(t)


def test_termination_helpers_first_wins() -> None:
    r = LogRecord(0.0)
    assert term_state(r) == "--" and term_state_cookie(r) == "----"
    set_term(r, *TERM_EVENTS["server_timeout_headers"])
    set_term(r, *TERM_EVENTS["client_abort_data"])
    r.ck_req, r.ck_resp = "N", "N"
    assert term_state_cookie(r) == "sHNN"
    for cause, phase in TERM_EVENTS.values():
        assert cause in "-LcCsSPRIDKU" and phase in "-RCHDLQT"


def test_connect_line() -> None:
    assert connect_line("127.0.0.1", 1, "127.0.0.1", 2, "fe", False) == "Connect from 127.0.0.1:1 to 127.0.0.1:2 (fe/TCP)"
    assert connect_line(None, None, None, None, "fe", True, listener_id=3) == "Connect to unix:3 (fe/HTTP)"


def test_httplog_speed_loose_bound() -> None:
    cf = compile_log_format(HTTP_LOG_FORMAT)
    r = _denied(time.time(), "GET /x HTTP/1.1", status=200)
    r.req_caps = ["host", "ua"]
    t0 = time.perf_counter()
    for _ in range(20_000):
        cf(r)
    assert time.perf_counter() - t0 < 2.0  # ~10 us each on a slow machine would be 0.2 s


def test_error_classification_and_log_decisions() -> None:
    from haproxy_py.log.format import is_error, should_log, traffic_severity

    ok = _denied(0.0, "GET / HTTP/1.1", status=200, bytes_in=40)
    ok.term_cause, ok.term_phase = "-", "-"
    assert not is_error(ok) and traffic_severity(ok, separate_errors=True) == 6
    assert should_log(ok, dontlognull=True) and not should_log(ok, dontlog_normal=True)
    stats = _denied(0.0, "GET /stats HTTP/1.1", status=200, bytes_in=40, term_cause="L", term_phase="R")
    assert not is_error(stats)
    five = _denied(0.0, "GET / HTTP/1.1", status=503, bytes_in=40, term_cause="-", term_phase="-")
    assert is_error(five) and traffic_severity(five, separate_errors=True) == 3
    assert traffic_severity(five) == 6
    retried = _denied(0.0, "GET / HTTP/1.1", status=200, bytes_in=40, term_cause="-", term_phase="-", retries=1)
    assert is_error(retried)
    denied = _denied(0.0, "GET / HTTP/1.1", status=403, bytes_in=40)  # PR--
    assert is_error(denied)
    empty = _denied(0.0, None, status=400, bytes_in=0)  # CR-- empty connection
    assert not should_log(empty, dontlognull=True) and should_log(empty)
    tcp_null = LogRecord(0.0)
    assert not should_log(tcp_null, dontlognull=True)
    tcp_null.bytes_in = 5
    assert should_log(tcp_null, dontlognull=True)


def test_fixed_formats_are_compiled_once_per_context() -> None:
    """httplog/clf/tcplog are compiled once per LogContext, held by the context (a cache keyed by
    id() would hand a new context, which may take a freed one's id, the old one's formats)."""
    for _ in range(3):
        ctx = LogContext(pid=7, hostname="h")
        f = formatter_for("httplog", context=ctx)
        assert f is formatter_for("httplog", context=ctx)
        assert list(ctx.fixed.values()) == [f]
        assert formatter_for("tcplog", context=ctx) is not f
    assert formatter_for("httplog") is formatter_for("httplog")


def test_inlined_timer_code_equals_the_record_properties() -> None:
    import random

    from haproxy_py.log import format as lf

    rng = random.Random(20)
    for _ in range(3000):
        r = lf.LogRecord(0.0)
        for f in ("t_idle", "t_handshake", "t_request", "t_queue", "t_connect", "t_data", "t_close"):
            setattr(r, f, rng.choice([-1, 0, rng.randrange(0, 5000)]))
        for name, code in lf._TIMER_CODE.items():
            assert eval(code, {}, {"r": r}) == getattr(r, name), (name, code)
