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


def test_the_worker_speaking_for_peers_sends_and_learns_the_process_value() -> None:
    """merged: what a peer is sent is both workers' data as one entry; learned: a peer's value
    becomes the sum every worker reads (this worker's share rebased); on_remote: another
    worker's write is reported (to be sent to the peers)."""
    a, b = _pair()
    ta, tb = a.table, b.table
    reported: list[bytes] = []
    a.on_remote = reported.append
    e = ta.get(K, 1000)
    f = tb.get(K, 1000)
    assert e is not None and f is not None
    for k in range(3):
        ta.count(e, "http_req_cnt", "http_req_rate", 1000 + k)
    for k in range(4):
        tb.count(f, "http_req_cnt", "http_req_rate", 1005 + k)
    _push(b, 1, a, 1010)
    assert reported == [K]
    m = a.merged(e, 1020)
    assert m.d[ta.slot["http_req_cnt"]] == 7 and m.d[ta.slot["http_req_rate"]].read(1020, 10000) == 7
    assert e.d[ta.slot["http_req_cnt"]] == 3  # the entry itself is untouched
    # a peer says the process's gpc0 is 10 and http_req_cnt 20: the sum reads that, in both workers
    e.d[ta.slot["gpc0"]] = 10
    e.d[ta.slot["http_req_cnt"]] = 20
    a.learned(e, ["gpc0", "http_req_cnt"], 1030)
    assert ta.value(e, "http_req_cnt", 1030) == 20 and ta.value(e, "gpc0", 1030) == 10
    _push(a, 0, b, 1031)
    assert tb.value(f, "http_req_cnt", 1032) == 20 and tb.value(f, "gpc0", 1032) == 10
    tb.count(f, "http_req_cnt", "http_req_rate", 1033)
    _push(b, 1, a, 1034)
    assert ta.value(e, "http_req_cnt", 1035) == 21 and a.merged(e, 1035).d[ta.slot["http_req_cnt"]] == 21


def test_merge_freq_reads_the_sum() -> None:
    from haproxy_py.stick.freq import FreqCtr
    from haproxy_py.stick.share import merge_freq

    x, y = FreqCtr(), FreqCtr()
    for k in range(5):
        x.add(1000 + k, 1000)
    for k in range(3):
        y.add(1400 + k, 1000)
    assert merge_freq([x, y], 1500, 1000).read(1500, 1000) == 8
    assert merge_freq([x, FreqCtr()], 1500, 1000) is x


def test_increments_in_flight_are_read_at_once_and_never_twice() -> None:
    """Inflight: an increment on one worker is read by the other before any push (the limit
    admits no request on a count missing it), and once pushed it is not counted again."""
    from haproxy_py.stick.share import Inflight

    area = bytearray(Inflight.size(2))
    a, b = TableShare(StickTable(CONF)), TableShare(StickTable(CONF))
    a.inflight, b.inflight = (Inflight(area, 2, 0), 0), (Inflight(area, 2, 1), 0)
    a.attach()
    b.attach()
    ta, tb = a.table, b.table
    e, f = ta.get(K, 1000), tb.get(K, 1000)
    assert e is not None and f is not None
    for k in range(3):
        tb.count(f, "http_req_cnt", "http_req_rate", 1000 + k)
    tb.track(f, 1003)
    from haproxy_py.stick.track import inc_gpc

    inc_gpc(tb, f, "gpc0", 0, 1003, 2)
    # nothing pushed yet: a reads b's increments
    assert ta.value(e, "http_req_cnt", 1004) == 3 and ta.value(e, "http_req_rate", 1004) == 3
    assert ta.value(e, "gpc0", 1004) == 2
    ta.count(e, "http_req_cnt", "http_req_rate", 1005)
    assert ta.value(e, "http_req_cnt", 1005) == 4 and tb.value(f, "http_req_cnt", 1005) == 4
    # pushed (with the totals in flight): counted once
    frame_b = pickle.loads(pickle.dumps((b.pending(), b.inflight[0].marks())))
    a.apply(1, frame_b[0], 1006)
    a.inflight[0].applied(1, frame_b[1])
    assert ta.value(e, "http_req_cnt", 1006) == 4 and ta.value(e, "http_req_rate", 1006) == 4
    assert ta.value(e, "gpc0", 1006) == 2
    tb.count(f, "http_req_cnt", "http_req_rate", 1007)
    assert ta.value(e, "http_req_cnt", 1007) == 5
