"""stick/share.py: two workers' tables read as one (counters and rates summed, tags copied)."""

from __future__ import annotations

import pickle

from haproxy_py.stick.share import TableShare
from haproxy_py.stick.table import StickTable, TableConf

CONF = TableConf("fe", "ip", 100, expire=30000,
                 store=(("server_id", 0, 0), ("gpc0", 0, 0), ("http_req_cnt", 0, 0), ("http_req_rate", 0, 10000)))
K = b"\x7f\0\0\x01"


def _pair() -> tuple[TableShare, TableShare]:
    a, b = TableShare(StickTable(CONF)), TableShare(StickTable(CONF))
    a.attach()
    b.attach()
    return a, b


def _push(src: TableShare, idx: int, dst: TableShare, now: int) -> None:
    dst.apply(idx, pickle.loads(pickle.dumps(src.pending())), now)


def test_counts_sum_and_tags_copy() -> None:
    a, b = _pair()
    ta, tb = a.table, b.table
    for k in range(7):
        e = ta.get(K, 1000 + k)
        assert e is not None
        ta.count(e, "http_req_cnt", "http_req_rate", 1000 + k)
    e = ta.entries[K]
    e.d[ta.slot["server_id"]] = 3
    ta.touch(e, 1010)
    _push(a, 0, b, 1011)
    f = tb.get(K, 1012)
    assert f is not None
    for k in range(5):
        tb.count(f, "http_req_cnt", "http_req_rate", 1012 + k)
    _push(b, 1, a, 1020)
    for t, x in ((ta, e), (tb, f)):
        assert t.value(x, "http_req_cnt", 1030) == 12
        assert t.value(x, "http_req_rate", 1030) == 12
        assert t.value(x, "server_id", 1030) == 3  # copied, not summed
    line = a.view(1030).entries[K]
    assert line.d[ta.slot["http_req_cnt"]] == 12 and line.d[ta.slot["http_req_rate"]].read(1030, 10000) == 12
    # a later push replaces the earlier one: nothing counted twice
    tb.count(f, "http_req_cnt", "http_req_rate", 1040)
    _push(b, 1, a, 1041)
    assert ta.value(e, "http_req_cnt", 1042) == 13
    # clear table reaches every worker: each forgets the key, its own and the others'
    ta.remove(e)
    assert K not in ta.entries and K not in a.remote[1]


def test_a_counter_set_makes_the_sum_that_value() -> None:
    from haproxy_py.stick import cli as stk
    from haproxy_py.stick.track import clr_gpc, inc_gpc

    a, b = _pair()
    ta, tb = a.table, b.table
    ea, eb = ta.get(K, 1000), tb.get(K, 1000)
    assert ea is not None and eb is not None
    for _ in range(4):
        assert inc_gpc(tb, eb, "gpc0", 0, 1001) is not None
    _push(b, 1, a, 1002)
    assert inc_gpc(ta, ea, "gpc0", 0, 1003) == 5  # the sum, as one table would answer
    assert clr_gpc(ta, ea, "gpc0", 0, 1004) == 5
    assert ta.value(ea, "gpc0", 1004) == 0
    _push(a, 0, b, 1005)
    assert tb.value(eb, "gpc0", 1005) == 0
    assert inc_gpc(tb, eb, "gpc0", 0, 1006) == 1
    _push(b, 1, a, 1007)
    assert ta.value(ea, "gpc0", 1007) == 1
    tb.count(eb, "http_req_cnt", "http_req_rate", 1007)
    tb.count(eb, "http_req_cnt", "http_req_rate", 1007)
    _push(b, 1, a, 1008)
    assert stk.set_table({"fe": ta}, ["fe", "key", "127.0.0.1", "data.http_req_rate", "20"], 1008, True) == ""
    assert ta.value(ea, "http_req_rate", 1008) == 20
    for k in range(3):
        tb.count(eb, "http_req_cnt", "http_req_rate", 1009 + k)
    _push(b, 1, a, 1012)
    assert ta.value(ea, "http_req_rate", 1012) == 23
    assert a.view(1012).entries[K].d[ta.slot["http_req_cnt"]] == 5


def test_other_workers_entries_stay_bounded_without_expire() -> None:
    conf = TableConf("fe", "integer", 10, store=(("http_req_cnt", 0, 0),))
    a, b = TableShare(StickTable(conf)), TableShare(StickTable(conf))
    a.attach()
    b.attach()
    for k in range(200):  # b keeps evicting (size 10) while a keeps everything b pushed
        e = b.table.get(k, 1000 + k)
        assert e is not None
        b.table.count(e, "http_req_cnt", "http_req_rate", 1000 + k)
        _push(b, 1, a, 1000 + k)
    assert len(a.remote[1]) <= 2 * 10 + 1
