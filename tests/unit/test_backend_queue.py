"""Backend: maxconn, queues, maxqueue, persistence to full servers, retries/redispatch (fake time)."""

from __future__ import annotations

from test_lb_helpers import pick, proxy, request, server, weighted

from haproxy_py.config.model import CookieConf, HashType
from haproxy_py.lb.base import LbRequest
from haproxy_py.runtime.backend import FAIL, FULL, NOSRV, OK, QUEUED, REDISPATCH, RETRY, Backend

CK = CookieConf(name="SRV", mode="insert", indirect=True)


def two(maxconn: int = 1, maxqueue: int = 0, algo: str = "roundrobin", **kw: object) -> Backend:
    srvs = [server("s1", 1, maxconn=maxconn, maxqueue=maxqueue, cookie="A"),
            server("s2", 2, maxconn=maxconn, maxqueue=maxqueue, cookie="B")]
    return Backend(proxy(srvs, algo, cookie=CK, **kw), 0.0)  # type: ignore[arg-type]


def test_backend_queue_when_all_full_and_release_hands_over() -> None:
    be = two()
    s1, s2 = be.by_name["s1"], be.by_name["s2"]
    be.counters.scur = 3
    d1 = be.select(LbRequest(), 0.0)
    be.take(d1.server, 0.0)
    d2 = be.select(LbRequest(), 0.1)
    be.take(d2.server, 0.1)
    assert (d1.server, d2.server) == (s1, s2)
    d3 = be.select(LbRequest(), 0.2, owner="third")
    assert d3.status == QUEUED and d3.server is None and len(be.queue) == 1
    assert be.counters.qmax == 1
    p = be.release(s2, 1.0)
    assert p is d3.pending and p.server is s2 and p.owner == "third"
    assert s2.served == 1 and len(be.queue) == 0 and be.served == 2
    assert be.release(s1, 2.0) is None
    assert be.counters.lbtot == 2  # the dequeued request was not load-balanced


def test_roundrobin_queues_behind_existing_queue() -> None:
    """With a non-empty backend queue, roundrobin/static-rr/first queue new requests (fairness)."""
    be = two()
    be.counters.scur = 3
    for _ in range(2):
        d = be.select(LbRequest(), 0.0)
        be.take(d.server, 0.0)
    assert be.select(LbRequest(), 0.0).status == QUEUED
    s1 = be.by_name["s1"]
    s1.served -= 1  # a slot frees without the queue being processed yet
    be.served -= 1
    assert be.select(LbRequest(), 0.0).status == QUEUED
    lc = two(algo="leastconn")
    lc.counters.scur = 3
    for _ in range(2):
        d = lc.select(LbRequest(), 0.0)
        lc.take(d.server, 0.0)
    assert lc.select(LbRequest(), 0.0).status == QUEUED


def test_persistent_request_waits_in_server_queue_then_maxqueue() -> None:
    be = two(maxconn=1, maxqueue=1)
    s1 = be.by_name["s1"]
    d = be.select(request(cookie="A"), 0.0)
    assert d.status == OK and d.persistent and not d.by_lb and d.cookie_flag == "V"
    be.take(s1, 0.0)
    d = be.select(request(cookie="A"), 0.1)
    assert d.status == QUEUED and d.server is s1 and d.pending.server is s1
    assert len(s1.queue) == 1 and s1.counters.qmax == 1
    d = be.select(request(cookie="A"), 0.2)
    assert d.status == FULL and d.server is s1  # maxqueue reached, no redispatch -> 503
    assert s1.counters.econ == 1 and be.counters.econ == 1
    assert be.counters.lbtot == 0


def test_persistent_full_server_redispatches_with_option() -> None:
    be = two(maxconn=1, maxqueue=1, redispatch=-1)
    s1, s2 = be.by_name["s1"], be.by_name["s2"]
    be.take(s1, 0.0)
    be.select(request(cookie="A"), 0.0)  # queued on s1
    d = be.select(request(cookie="A"), 0.1)
    assert d.status == OK and d.server is s2 and d.redispatched and d.cookie_flag == "D"
    assert s1.counters.wredis == 1 and be.counters.wredis == 1
    assert s2.counters.lbtot == 1


def test_server_queue_and_backend_queue_oldest_first() -> None:
    be = two()
    s1, s2 = be.by_name["s1"], be.by_name["s2"]
    be.counters.scur = 10
    be.take(s1, 0.0)
    be.take(s2, 0.0)
    a = be.select(LbRequest(), 1.0, owner="be-old").pending
    b = be.select(request(cookie="A"), 2.0, owner="srv-new").pending
    assert a is not None and b is not None and b.server is s1
    assert be.release(s1, 3.0) is a  # the backend queue entry is older
    assert be.release(s1, 4.0) is None  # the slot is held by a's owner: only it gives it back
    assert be.release(s1, 4.0, "be-old") is b
    # equal ages: the server's own queue wins
    c = be.select(LbRequest(), 5.0, owner="be").pending
    d = be.select(request(cookie="A"), 5.0, owner="srv").pending
    assert be.release(s1, 6.0, "srv-new") is d
    assert be.release(s2, 6.0) is c


def test_cancel_pending_on_queue_timeout() -> None:
    be = two()
    be.counters.scur = 5
    for s in be.servers:
        be.take(s, 0.0)
    p = be.select(LbRequest(), 0.0).pending
    q = be.select(request(cookie="B"), 0.0).pending
    be.cancel(p)
    be.cancel(q)
    be.cancel(q)
    assert len(be.queue) == 0 and len(be.by_name["s2"].queue) == 0
    assert be.release(be.by_name["s2"], 1.0) is None


def test_hash_to_full_server_waits_in_its_queue() -> None:
    be = Backend(proxy([server("s1", 1, maxconn=1), server("s2", 2, maxconn=1)], "uri"), 0.0)
    d = be.select(request("/a"), 0.0)  # sdbm("/a") % 2 = 0 -> s1
    assert d.server is be.by_name["s1"] and d.by_lb
    be.take(d.server, 0.0)
    d2 = be.select(request("/a"), 0.0)
    assert d2.status == QUEUED and d2.server is be.by_name["s1"]
    assert be.select(request("/b"), 0.0).server is be.by_name["s2"]


def test_nosrv_when_nothing_usable() -> None:
    be = two()
    for s in be.servers:
        s.admin.add("FMAINT")
        be.server_state_changed(s, 0.0)
    d = be.select(LbRequest(), 0.0)
    assert d.status == NOSRV and be.counters.econ == 1
    assert be.usable_counts() == (0, 0) and be.total_weight() == 0


def test_retries_without_redispatch() -> None:
    be = Backend(proxy([server("dead", 1)], retries=3, connect=5000), 0.0)
    s = be.by_name["dead"]
    acts = [be.on_connect_error(s, i) for i in range(4)]
    assert [a.action for a in acts] == [RETRY, RETRY, RETRY, FAIL]
    assert [a.delay for a in acts[:3]] == [1.0, 1.0, 1.0]
    assert s.counters.wretr == 3 and be.counters.wretr == 3
    assert s.counters.econ == 1 and be.counters.econ == 1
    assert be.on_connect_error(s, 0, timeout=True).delay == 0.0
    short = Backend(proxy([server("x", 1)], retries=1, connect=300), 0.0)
    assert short.on_connect_error(short.servers[0], 0).delay == 0.3
    zero = Backend(proxy([server("x", 1)], retries=0), 0.0)
    assert zero.on_connect_error(zero.servers[0], 0).action == FAIL


def test_redispatch_policies() -> None:
    # one server, option redispatch: retry the same server, redispatch on the last retry
    be = Backend(proxy([server("dead", 1)], retries=3, redispatch=-1), 0.0)
    s = be.by_name["dead"]
    assert [be.on_connect_error(s, i).action for i in range(3)] == [RETRY, RETRY, REDISPATCH]
    # the redispatch with a single active server still waits
    assert be.on_connect_error(s, 2).delay == 1.0
    # rd: roundrobin, two servers, not persistent: the first retry is already redispatched, at once
    rd = Backend(proxy([server("dead", 1), server("alive", 2)], retries=3, redispatch=-1), 0.0)
    dead = rd.by_name["dead"]
    d = rd.select(LbRequest(), 0.0)
    assert d.server is dead
    rd.take(dead, 0.0)
    a = rd.on_connect_error(dead, 0, persistent=d.persistent)
    assert (a.action, a.delay) == (REDISPATCH, 0.0)
    rd.release(dead, 0.0)
    d2 = rd.select(LbRequest(), 0.0, avoid=dead)
    assert d2.server is rd.by_name["alive"] and d2.redispatched
    assert rd.counters.wredis == 1 and rd.counters.lbtot == 2
    # ... but not when persistent: wait for the last retry
    assert rd.on_connect_error(dead, 0, persistent=True).action == RETRY
    # hash algorithms never redispatch early
    h = Backend(proxy([server("a", 1), server("b", 2)], "uri", retries=3, redispatch=-1), 0.0)
    assert [h.on_connect_error(h.servers[0], i).action for i in range(3)] == [RETRY, RETRY, REDISPATCH]
    # redispatch N: every N-th retry
    r2 = Backend(proxy([server("a", 1)], retries=4, redispatch=2), 0.0)
    assert [r2.on_connect_error(r2.servers[0], i).action for i in range(4)] == [
        RETRY, REDISPATCH, RETRY, REDISPATCH]
    # a server that went DOWN: redispatch at once
    r3 = Backend(proxy([server("a", 1), server("b", 2)], "uri", retries=3, redispatch=-1), 0.0)
    r3.servers[0].state = "STOPPED"
    assert r3.on_connect_error(r3.servers[0], 0).action == REDISPATCH
    # redispatch choosing the same server again counts a retry, not a redispatch
    one = Backend(proxy([server("a", 1)], retries=3, redispatch=-1), 0.0)
    d = one.select(LbRequest(), 0.0, avoid=one.servers[0])
    assert d.server is one.servers[0] and not d.redispatched and one.counters.wretr == 1


def test_dynamic_maxconn_minconn_fullconn() -> None:
    be = Backend(proxy([server("s1", 1, maxconn=100, minconn=10)]), 0.0, global_maxconn=1000)
    s = be.servers[0]
    assert be.fullconn == 100
    be.counters.scur = 0
    assert be.dynamic_maxconn(s) == 10
    be.counters.scur = 50
    assert be.dynamic_maxconn(s) == 50
    be.counters.scur = 100
    assert be.dynamic_maxconn(s) == 100
    static = Backend(proxy([server("s1", 1, maxconn=7)]), 0.0, global_maxconn=1000)
    assert static.servers[0].minconn == 7 and static.dynamic_maxconn(static.servers[0]) == 7


def test_server_down_redistributes_its_queue_and_up_grabs_backend_queue() -> None:
    be = two(redispatch=-1)
    s1, s2 = be.by_name["s1"], be.by_name["s2"]
    be.counters.scur = 9
    be.take(s1, 0.0)
    be.take(s2, 0.0)
    p = be.select(request(cookie="A"), 0.0).pending
    assert p.server is s1
    s1.admin.add("FMAINT")
    out = be.server_state_changed(s1, 1.0)
    assert out == [p] and p.server is None and len(s1.queue) == 0
    # s1 in maint; s2 full: a new request waits in the backend queue
    q = be.select(LbRequest(), 2.0).pending
    be.release(s1, 2.0)
    s1.admin.discard("FMAINT")
    out = be.server_state_changed(s1, 3.0)
    assert out == [q] and q.server is s1 and s1.served == 1


def test_weights_runtime_and_static_reply() -> None:
    be = weighted([1, 2, 3], "static-rr")
    s1 = be.by_name["s1"]
    assert be.parse_weight(s1, "5", 0.0) == \
        "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
    assert be.parse_weight(s1, "0%", 0.0) == ""
    assert [pick(be) for _ in range(5)] == ["s2", "s3", "s2", "s3", "s3"]  # table of weights 2,3
    assert be.total_weight() == 5
    assert be.parse_weight(s1, "100%", 0.0) == "" and be.total_weight() == 6
    assert be.parse_weight(s1, "300", 0.0) == "Absolute weight can only be between 0 and 256 inclusive.\n"
    assert be.parse_weight(s1, "x", 0.0) == "Empty weight string empty or preceded by garbage"
    assert be.parse_weight(s1, "2x", 0.0) == "Trailing garbage in weight string"
    assert be.parse_weight(s1, "", 0.0) == "Require <weight> or <weight%>.\n"
    rr = weighted([2, 4, 6], "static-rr")
    assert rr.total_weight() == 12 and rr.server_weight(rr.by_name["s3"]) == 6
    dyn = weighted([1, 1], "roundrobin")
    assert dyn.parse_weight(dyn.by_name["s1"], "50%", 0.0) == ""  # 1 * 50 / 100 = 0
    assert [pick(dyn) for _ in range(3)] == ["s2"] * 3
    assert dyn.parse_weight(dyn.by_name["s1"], "3", 0.0) == "" and dyn.total_weight() == 4


def test_roundrobin_weight_change_mid_sequence_is_proportional() -> None:
    be = weighted([1, 1, 1])
    seq = [pick(be) for _ in range(3)]
    assert seq == ["s1", "s2", "s3"]
    assert be.parse_weight(be.by_name["s3"], "4", 0.0) == ""
    seq = [pick(be) for _ in range(60)]
    assert seq.count("s3") == 40 and seq.count("s1") == 10 and seq.count("s2") == 10


def test_add_and_del_server() -> None:
    be = weighted([1, 1])
    new = be.add_server(server("s3", 3, weight=1), 0.0)
    assert new.puid == 3 and new.in_maint
    assert "s3" not in {pick(be) for _ in range(6)}
    new.admin.discard("FMAINT")
    be.server_state_changed(new, 1.0)
    assert {pick(be) for _ in range(6)} == {"s1", "s2", "s3"}
    try:
        be.del_server(new)
        raise AssertionError("deleting a running server must fail")
    except ValueError as e:
        assert str(e) == "Only servers in maintenance mode can be deleted."
    new.admin.add("FMAINT")
    be.server_state_changed(new, 2.0)
    be.del_server(new)
    assert "s3" not in be.by_name and [s.name for s in be.servers] == ["s1", "s2"]
    st = weighted([1, 1], "static-rr")
    try:
        st.add_server(server("x", 9), 0.0)
        raise AssertionError
    except ValueError as e:
        assert "dynamic load balancing" in str(e)


def test_first_with_maxconn_refills_lowest_id() -> None:
    be = Backend(proxy([server(f"s{i}", i, maxconn=2) for i in (1, 2, 3)], "first"), 0.0)
    be.counters.scur = 10
    held = [be.select(LbRequest(), 0.0).server for _ in range(1)]
    be.take(held[0], 0.0)
    for _ in range(5):
        d = be.select(LbRequest(), 0.0)
        be.take(d.server, 0.0)
        held.append(d.server)
    assert [s.name for s in held] == ["s1", "s1", "s2", "s2", "s3", "s3"]
    assert be.select(LbRequest(), 0.0).status == QUEUED
    got = be.release(be.by_name["s2"], 1.0)
    assert got is not None and got.server.name == "s2"
    be.release(be.by_name["s1"], 2.0)
    assert be.select(LbRequest(), 2.0).server.name == "s1"


def test_leastconn_concurrent_keys_and_maxqueue() -> None:
    be = weighted([1, 2, 3], "leastconn")
    names = [pick(be, hold=True) for _ in range(6)]
    assert names == ["s1", "s2", "s3", "s3", "s2", "s3"]
    lc = Backend(proxy([server("a", 1, maxconn=1, maxqueue=1), server("b", 2, maxconn=1)], "leastconn"), 0.0)
    a, b = lc.by_name["a"], lc.by_name["b"]
    lc.take(a, 0.0)
    lc.take(b, 0.0)
    # a: served 1 < maxconn 1 + maxqueue 1 -> still a candidate for leastconn, then queued on a
    d = lc.select(LbRequest(), 0.0)
    assert d.status == QUEUED and d.server is a


def test_consistent_bounded_load() -> None:
    be = Backend(proxy([server(f"s{i}", i) for i in (1, 2, 3)], "uri",
                       hash_type=HashType("consistent", "sdbm", True)), 0.0)
    plain = be.select(request("/a"), 0.0).server
    be2 = Backend(proxy([server(f"s{i}", i) for i in (1, 2, 3)], "uri",
                        hash_type=HashType("consistent", "sdbm", True)), 0.0)
    be2.balancer.balance_factor = 150
    first = be2.select(request("/a"), 0.0).server
    assert first.name == plain.name
    be2.take(first, 0.0)
    be2.take(first, 0.0)
    # total served 2 -> slots ceil(3*1.5)=5 over weight 48: each server gets 1 or 2; the owner is
    # over its share so the walk moves on to another server
    other = be2.select(request("/a"), 0.0).server
    assert other is not first
