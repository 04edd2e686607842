"""Structured argument grammars: times, sizes, addresses, fetch expressions, conditions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haproxy_py.config import fetches as F
from haproxy_py.config.grammar import (
    AddressError,
    CondError,
    parse_address,
    parse_address_list,
    parse_condition_words,
    parse_fetch_expr,
    parse_int,
    parse_size,
    parse_time,
)


@pytest.mark.parametrize("text,ms", [
    ("5000", 5000), ("5s", 5000), ("1m", 60_000), ("1h", 3_600_000), ("1d", 86_400_000),
    ("10ms", 10), ("100us", 1), ("1us", 1), ("1000us", 1), ("1001us", 2), ("0", 0), ("24d", 24 * 86_400_000),
])
def test_time_values(text: str, ms: int) -> None:
    tv = parse_time(text)
    assert tv.error is None and tv.value == ms


def test_time_errors() -> None:
    assert parse_time("30x")[1:] == ("junk", "x")
    assert parse_time("abc")[1:] == ("junk", "a")
    assert parse_time("25d").error == "overflow"
    assert parse_time("2147483648").error == "overflow"
    assert parse_time("2147483647").error is None
    assert parse_time("").error == "empty"
    tv = parse_time("10sx")
    assert (tv.value, tv.error, tv.char) == (10_000, "trailing", "x")


@given(st.integers(min_value=0, max_value=2_000_000), st.sampled_from(["", "ms", "s"]))
def test_time_roundtrip(n: int, unit: str) -> None:
    mult = {"": 1, "ms": 1, "s": 1000}[unit]
    tv = parse_time(f"{n}{unit}")
    if n * mult > 2**31 - 1:
        assert tv.error == "overflow"
    else:
        assert tv.value == n * mult and tv.error is None


def test_sizes_and_ints() -> None:
    assert parse_size("16384") == 16384
    assert parse_size("16k") == 16384
    assert parse_size("2M") == 2 * 1024 * 1024
    assert parse_size("1g") == 1024**3
    assert parse_size("1x") is None
    assert parse_int("12") == 12 and parse_int("-1") == -1
    assert parse_int("abc") is None and parse_int("10x") is None and parse_int("") is None


@pytest.mark.parametrize("text,kind,host,lo,hi", [
    ("*:5000", "ipv4", "*", 5000, 5000),
    (":80", "ipv4", "", 80, 80),
    ("1.2.3.4:80-90", "ipv4", "1.2.3.4", 80, 90),
    ("[::]:80", "ipv6", "::", 80, 80),
    ("[::1]:8080", "ipv6", "::1", 8080, 8080),
    ("ipv4@127.0.0.1:80", "ipv4", "127.0.0.1", 80, 80),
    ("ipv6@::1:80", "ipv6", "::1", 80, 80),
    ("localhost:23001", "ipv4", "localhost", 23001, 23001),
])
def test_inet_addresses(text: str, kind: str, host: str, lo: int, hi: int) -> None:
    a, off = parse_address(text, need_port=True, allow_range=True)
    assert (a.kind, a.host, a.port_lo, a.port_hi, a.text) == (kind, host, lo, hi, text)
    assert not off
    assert list(a.ports) == list(range(lo, hi + 1))


def test_other_address_families() -> None:
    assert parse_address("unix@/x/y")[0].path == "/x/y"
    a = parse_address("/var/run/haproxy.sock")[0]
    assert (a.kind, a.path) == ("unix", "/var/run/haproxy.sock")
    a = parse_address("abns@name")[0]
    assert (a.kind, a.path) == ("abns", "name")
    a = parse_address("fd@3")[0]
    assert (a.kind, a.fd) == ("fd", 3)
    with pytest.raises(AddressError):
        parse_address("fd@x")


def test_address_errors() -> None:
    with pytest.raises(AddressError) as ei:
        parse_address("127.0.0.1", need_port=True)
    assert ei.value.kind == "noport" and ei.value.message == "missing port specification in '127.0.0.1'"
    with pytest.raises(AddressError) as ei:
        parse_address("127.0.0.1:99999")
    assert ei.value.message == "invalid port '99999'"
    with pytest.raises(AddressError):
        parse_address("127.0.0.1:0", need_port=True)
    assert parse_address("127.0.0.1:0")[0].port_lo == 0  # where a port is optional, 0 is none (2.6)
    with pytest.raises(AddressError):
        parse_address("1.2.3.4:80-90")  # ranges only where allowed
    with pytest.raises(AddressError):
        parse_address("1.2.3.4:90-80", allow_range=True)


def test_server_port_offset_and_no_port() -> None:
    a, off = parse_address("1.2.3.4:+10", allow_offset=True)
    assert off and a.port_lo == 10
    a, off = parse_address("1.2.3.4")
    assert a.port_lo == 0 and not off


def test_address_list() -> None:
    addrs = parse_address_list("127.0.0.1:80,[::1]:81,:82")
    assert [(a.kind, a.port_lo) for a in addrs] == [("ipv4", 80), ("ipv6", 81), ("ipv4", 82)]


def test_fetch_expressions() -> None:
    fx = parse_fetch_expr("req.hdr(x-be,1),lower,map(/a/b,def)")
    assert fx is not None
    assert fx.name == "req.hdr" and fx.args == ("x-be", "1")
    assert fx.converters == (("lower", ()), ("map", ("/a/b", "def")))
    assert parse_fetch_expr("path_beg") == ("path_beg", (), (), False)
    assert parse_fetch_expr("hdr()").args == ()
    assert parse_fetch_expr("bad(") is None


def test_fetch_table_derivations() -> None:
    fd, match = F.lookup("path_beg")
    assert (fd.canonical, match, fd.layer) == ("path", "beg", "L7")
    fd, match = F.lookup("hdr_cnt")
    assert (fd.canonical, match, fd.out) == ("req.hdr_cnt", None, "int")
    fd, match = F.lookup("hdr_dom")
    assert (fd.canonical, match) == ("req.hdr", "dom")
    assert F.lookup("req.ssl_sni")[0].layer == "L6"
    assert F.lookup("src")[0].out == "ip"
    assert F.lookup("foo_bar") is None
    for name in ("TRUE", "FALSE", "HTTP", "HTTP_1.0", "HTTP_1.1", "HTTP_CONTENT", "HTTP_URL_ABS",
                 "HTTP_URL_SLASH", "HTTP_URL_STAR", "LOCALHOST", "METH_CONNECT", "METH_DELETE", "METH_GET",
                 "METH_HEAD", "METH_OPTIONS", "METH_POST", "METH_PUT", "METH_TRACE", "RDP_COOKIE",
                 "REQ_CONTENT", "WAIT_END"):
        fetch = F.PREDEFINED_ACLS[name][0]
        assert fetch in F.FETCHES, name


def test_condition_precedence() -> None:
    groups = parse_condition_words("m_post p_beg || p_end".split())
    assert [[t.name for t in g] for g in groups] == [["m_post", "p_beg"], ["p_end"]]


def test_condition_negation_or_and_anonymous() -> None:
    groups = parse_condition_words("a || b !c or ! d { path_end .css .js } e".split())
    assert [[(t.negate, t.name) for t in g] for g in groups] == [
        [(False, "a")], [(False, "b"), (True, "c")], [(True, "d"), (False, None), (False, "e")]]
    assert groups[2][1].anon == ["path_end", ".css", ".js"]


@pytest.mark.parametrize("text", ["", "a ||", "|| a", "!", "{ path /x", "a }"])
def test_condition_errors(text: str) -> None:
    with pytest.raises(CondError):
        parse_condition_words(text.split())
