"""The pure stick-table core: the rate counter against a reference model (hypothesis), expiry,
eviction when full, keys, and the stick-table line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haproxy_py.stick.config import StickConfError, parse_stick_table
from haproxy_py.stick.freq import FreqCtr
from haproxy_py.stick.table import StickTable, TableConf


def _model_rate(events: list[int], now: int, period: int) -> int:
    """A straightforward model of 2.6's sliding window: periods start at the first event (an even
    ms) and follow each other back to back, or restart at an event when a whole period was
    missed; the rate is the current period's count plus the previous one's times the share of
    the current period still ahead (remain/period), floored; at most one event over the last
    two periods and none in the current one reads as that previous count."""
    start = None
    cur = prev = 0
    for t in events:
        if start is None:
            start, cur = t & ~1, 1
            continue
        if t - start < period:
            cur += 1
            continue
        nxt = start + period
        if t - nxt >= period:
            start, prev, cur = t & ~1, 0, 1
        else:
            start, prev, cur = nxt & ~1, cur, 1
    if start is None:
        return 0
    remain = start + period - now
    if remain < 0:
        remain += period
        prev = cur if remain >= 0 else 0
        cur = 0
    if cur == 0 and prev <= 1:
        return prev
    return (prev * remain + cur * period) // period


@settings(max_examples=300, deadline=None)
@given(gaps=st.lists(st.integers(0, 2500), min_size=0, max_size=40), tail=st.integers(0, 3000),
       period=st.sampled_from([1, 2, 10, 999, 1000, 1001]))
def test_freq_ctr_matches_the_model(gaps: list[int], tail: int, period: int) -> None:
    c = FreqCtr()
    t = 12345
    events = []
    for g in gaps:
        t += g
        events.append(t)
        c.add(t, period)
        assert c.read(t, period) == _model_rate(events, t, period)
    assert c.read(t + tail, period) == _model_rate(events, t + tail, period)


def test_freq_ctr_known_values() -> None:
    c = FreqCtr()
    for t in (1000, 1100, 1200):
        c.add(t, 1000)
    assert c.read(1200, 1000) == 3
    c.add(2500, 1000)  # next period: 3 before, 1 now; 500 ms of the window still on the previous one
    assert c.read(2500, 1000) == 1 + 3 * 500 // 1000
    assert c.read(3999, 1000) == 1  # only the low-rate correction left: prev=1, curr=0
    assert c.read(4001, 1000) == 0


def _table(**kw: object) -> StickTable:
    line = kw.pop("line", "stick-table type ip size 4 expire 10s store conn_cur,http_req_cnt")
    conf, _ = parse_stick_table(str(line).split(), "fe")
    return StickTable(conf)


def test_expiry_and_use() -> None:
    t = _table()
    k = t.key_of(b"10.0.0.1")
    e = t.get(k, 0)
    assert e is not None and t.used(5000) == 1
    assert t.used(10_000) == 0  # exp = 0 + 10 s
    e = t.get(k, 20_000)
    assert e is not None
    t.track(e, 20_000)
    assert t.used(40_000) == 1  # in use: never expires
    t.release(e, 40_000)
    assert t.used(49_999) == 1 and t.used(50_000) == 0


@pytest.mark.parametrize("expire", ["", " expire 60s"])
def test_eviction_when_full_as_2_6_trashes(expire: str) -> None:
    """2.6's stktable_trash_oldest (size 4: one entry a time, at most two looked at), with and
    without expire; the same sequences were run through HAProxy 2.6 with ``set table``."""
    t = _table(line=f"stick-table type integer size 4{expire} store gpc0")

    def put(k: int, now: int) -> bool:
        e = t.get(k, now)
        if e is None:
            return False
        t.touch(e, now)
        return True

    for k in (1, 2, 3, 4):
        assert put(k, k)
    assert put(2, 10)  # 2 touched after it was queued: queued again, not evicted, when looked at
    assert put(5, 20) and sorted(t.entries) == [2, 3, 4, 5]  # 1 goes
    assert put(6, 30) and sorted(t.entries) == [2, 4, 5, 6]  # 2 requeued, 3 goes
    assert put(7, 40) and sorted(t.entries) == [2, 5, 6, 7]
    # every entry touched since it was queued: the two looked at are queued again, nothing goes
    for k, when in ((2, 50), (5, 51)):  # the first two in the queue
        assert put(k, when)
    assert not put(8, 60) and sorted(t.entries) == [2, 5, 6, 7]
    # an entry in use is never evicted
    for k in list(t.entries):
        t.track(t.entries[k], 70)
    assert not put(9, 80)


def test_nopurge_refuses_new_keys_when_full() -> None:
    t = _table(line="stick-table type integer size 2 nopurge store gpc0")
    assert t.get(1, 0) is not None and t.get(2, 0) is not None
    assert t.get(3, 0) is None
    assert t.key_of(-1) == 0xFFFFFFFF


def test_keys() -> None:
    import ipaddress

    t6 = _table(line="stick-table type ipv6 size 4")
    assert t6.key_text(t6.key_of(ipaddress.IPv4Address("127.0.0.1"))) == "::ffff:127.0.0.1"
    ts = _table(line="stick-table type string len 4 size 4")
    assert ts.key_of(b"abcdefg") == b"abcd"
    tb = _table(line="stick-table type binary len 4 size 4")
    assert tb.key_text(tb.key_of(b"ab")) == "61620000"


@pytest.mark.parametrize("line,msg", [
    ("stick-table type ip", "stick-table: missing size."),
    ("stick-table type foo size 1", "stick-table: unknown type 'foo'."),
    ("stick-table type ip size 10 store foo", "stick-table: unknown store option 'foo'."),
    ("stick-table type ip size 10 store http_req_rate", "stick-table: missing argument to store option "
                                                        "'http_req_rate'."),
    ("stick-table type ip size 10 store gpc(0)", "stick-table: array size is out of allowed range (1-100) for "
                                                 "store option 'gpc'."),
    ("stick-table type ip size 10 store gpc0(3)", "stick-table: unexpected argument to store option 'gpc0'."),
    ("stick-table type ip size 10 bogus", "stick-table: unknown argument 'bogus'."),
    ("stick-table type ip size 10 expire 10x", "stick-table: unexpected character 'x' in argument of 'expire'."),
])
def test_stick_table_line_errors_are_2_6s(line: str, msg: str) -> None:
    with pytest.raises(StickConfError) as ei:
        parse_stick_table(line.split(), "fe")
    assert ei.value.message == msg


def test_store_order_is_2_6s() -> None:
    conf, warns = parse_stick_table("stick-table type ip size 1k store gpc1,http_req_rate(10s),gpc0,gpc0".split(),
                                    "fe")
    assert isinstance(conf, TableConf) and conf.size == 1024
    assert [n for n, _c, _p in conf.store] == ["gpc0", "http_req_rate", "gpc1"]
    assert warns and "already enabled" in warns[0][0]


def _cfg(text: str):  # type: ignore[no-untyped-def]
    from haproxy_py.config import parse_text

    return parse_text(text, "s.cfg", env={})


_FE = ("defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
       "frontend fe\n bind 127.0.0.1:1\n")


def test_stick_table_with_several_workers_and_peers_is_accepted() -> None:
    """Workers share their tables among themselves and the first one speaks the peers protocol
    for all (tests/differential/test_peers_workers_vs_haproxy.py): accepted, peers or not."""
    _, d = _cfg("global\n nbthread 2\n" + _FE + " stick-table type ip size 1\n")
    assert not d.has_errors, d
    _, d = _cfg("global\n nbthread 2\npeers lb\n peer a 127.0.0.1:1\n" + _FE
                + " stick-table type ip size 1 peers lb\n")
    assert not d.has_errors, d
    _, d = _cfg("global\n nbthread 1\n" + _FE + " stick-table type ip size 1\n http-request track-sc0 src\n")
    assert not d.has_errors, d


def test_missing_tables_are_named_as_2_6_names_them() -> None:
    _, d = _cfg(_FE + " http-request track-sc1 src table nope\n")
    assert [e.haproxy for e in d.errors][0].endswith("Proxy 'fe': unable to find table 'nope' referenced by "
                                                     "track-sc1."), d.errors
    _, d = _cfg(_FE + " http-request deny if { src_http_req_rate gt 1 }\n")
    assert "unable to find table 'fe' referenced in arg 1 of ACL keyword 'src_http_req_rate' in proxy 'fe'." \
        in d.errors[0].haproxy
    _, d = _cfg(_FE + " http-request deny if { src,table_gpc0(nope) gt 1 }\n stick-table type ip size 1\n")
    assert [e.haproxy for e in d.errors][0].endswith(
        "unable to find table 'nope' referenced in arg 1 of conversion keyword 'table_gpc0' for ACL keyword 'src' "
        "in proxy 'fe'."), d.errors
    _, d = _cfg(_FE + " http-request deny if { src,in_table(fe) }\n stick-table type ip size 1\n")
    assert not d.errors, d
