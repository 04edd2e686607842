"""The peers sessions state machine (haproxy_py/stick/peersync.py) without sockets: two or three
sections wired by in-memory pipes, a fake clock."""

from __future__ import annotations

import random
import re

from haproxy_py.stick import cli as stk_cli
from haproxy_py.stick import peers as P
from haproxy_py.stick.config import parse_stick_table
from haproxy_py.stick.peersync import PeerConf, Session, Sync
from haproxy_py.stick.table import StickTable, with_types

LINE = "stick-table type ip size 1000 expire 30s store gpt0,gpc0,http_req_rate(10s),server_id,gpc_rate(2,5s)"


def _table(name: str = "t", line: str = LINE) -> StickTable:
    # a table stick rules use keeps the server's name too (server_key)
    return StickTable(with_types(parse_stick_table(line.split(), name)[0], ("server_key",)))


class Net:
    """Processes by name; a connection is a pair of sessions whose output the other is fed."""

    def __init__(self) -> None:
        self.procs: dict[str, Sync] = {}
        self.links: list[tuple[Session, Session]] = []
        self.now = 1000
        self.refuse: set[str] = set()

    def add(self, me: str, others: list[str], *, old: bool = False, key: str | None = None) -> Sync:
        confs = [PeerConf(n, "127.0.0.1", 1, n == me) for n in [me, *others]]
        t = _table()
        rnd = random.Random(f"{me}{len(self.procs)}")
        s = Sync("p", me, confs, [(t, "t")], self.now, pid=1, old_process=old, rand=rnd.randrange)
        self.procs[key or me] = s
        return s

    def run(self, ms: int = 0, step: int = 100) -> None:
        end = self.now + ms
        while True:
            for key, s in list(self.procs.items()):
                for peer in s.tick(self.now):
                    self._connect(key, s, peer)
            self._shuttle()
            if self.now >= end:
                break
            self.now += step

    def _connect(self, key: str, s: Sync, peer: object) -> None:
        out = s.connect(peer, self.now)  # type: ignore[arg-type]
        target = self._target(key, peer.name)  # type: ignore[attr-defined]
        if target is None:
            out.close()
            return
        s.tcp_connected(out)
        inc = target.accept(self.now)
        self.links.append((out, inc))

    def _target(self, key: str, name: str) -> Sync | None:
        if name in self.refuse:
            return None
        for k, s in self.procs.items():
            if s.local_name == name and k != key and not s.stopping:
                return s
        return None

    def _shuttle(self) -> None:
        for _ in range(50):
            moved = False
            for a, b in self.links:
                for x, y in ((a, b), (b, a)):
                    data = x.take()
                    if data:
                        moved = True
                        y.feed(data, self.now)
                    if x.closed and not y.closed:
                        y.eof()
                        moved = True
            self.links = [(a, b) for a, b in self.links if not (a.closed and b.closed)]
            if not moved:
                return


def _show(s: Sync, now: int) -> str:
    return re.sub(r"0x[0-9a-f]+:", "0xADDR:", stk_cli.show_table({"t": s.tables[0].table}, ["t"], now))


def _set(s: Sync, words: str, now: int) -> None:
    assert stk_cli.set_table({"t": s.tables[0].table}, words.split(), now, True) == ""


def test_handshake_resync_and_incremental_updates_both_ways() -> None:
    net = Net()
    a = net.add("a", ["b"])
    _set(a, "t key 10.0.0.1 data.gpc0 5 data.server_id 3", net.now)
    net.run()
    b = net.add("b", ["a"])
    net.run(200)
    assert a.by_name["b"].statuscode == 200 and b.by_name["a"].statuscode == 200
    # the entry a had before b started came with the connection (b asked a full resync)
    assert _show(b, net.now) == _show(a, net.now)
    # a was not synced itself (alone for less than 5 s): a partial resync, b gives up 5 s later
    assert b.by_name["a"].notup2date and not b.remote_done
    net.run(5000)
    assert b.remote_done
    _set(b, "t key 10.0.0.2 data.gpc0 9", net.now)
    _set(a, "t key 10.0.0.1 data.gpc0 6", net.now)
    net.run(100)
    assert _show(b, net.now) == _show(a, net.now)
    assert "gpc0=6" in _show(b, net.now) and "10.0.0.2" in _show(a, net.now)
    # acknowledgements reached the senders
    assert a.by_name["b"].acked[1] == a.tables[0].localupdate
    assert b.by_name["a"].acked[1] == b.tables[0].localupdate


def test_expiry_rates_arrays_and_server_key_are_carried() -> None:
    net = Net()
    a = net.add("a", ["b"])
    t = a.tables[0].table
    e = t.get(t.key_of(b"10.1.1.1"), net.now)
    assert e is not None
    t.count(e, "http_req_cnt", "http_req_rate", net.now, 4)
    e.d[t.slot["server_key"]] = "srv1"
    e.d[t.slot["gpc_rate"]][1].add(net.now, 5000, 77)
    t.touch(e, net.now)
    net.run(2000)
    b = net.add("b", ["a"])
    net.run(100)
    # taught in b's full resync, then (a's local entries, 2.6 pushing again from where the teach
    # started) pushed again: b's own expiry
    ours = _show(a, net.now)
    assert _show(b, net.now) == ours.replace("exp=27900", "exp=29900") and "http_req_rate(10000)=4" in ours
    bt = b.tables[0].table
    be = bt.lookup(t.key_of(b"10.1.1.1"), net.now)
    assert be is not None and be.d[t.slot["server_key"]] == "srv1" and bt.value(be, "gpc_rate", net.now, 1) == 77
    # the server_key went once with its text, then by its cache slot
    sess = a.by_name["b"].session
    assert sess is not None and sess.dcache.tx == {"srv1": 0}
    # an incremental push: the receiving table sets its own expiry, as 2.6's
    net.run(1000)
    t.touch(e, net.now - 500)
    net.run(0)
    assert "exp=29500" in _show(a, net.now) and "exp=30000" in _show(b, net.now)


def test_hello_refusals_give_2_6_status_codes() -> None:
    net = Net()
    a = net.add("a", ["b"])
    for hello, code in ((b"HAProxyS 2.1\na\nb 1 1\n", b"200\n"), (b"HAProxyS 3.0\na\nb 1 1\n", b"502\n"),
                        (b"HAProxyX 2.1\n", b"501\n"), (b"HAProxyS 2.1\nzz\nb 1 1\n", b"503\n"),
                        (b"HAProxyS 2.1\na\nnobody 1 1\n", b"504\n"), (b"HAProxyS 2.1\na\nb\n", b"501\n")):
        s = a.accept(net.now)
        s.feed(hello, net.now)
        assert s.take()[:4] == code, hello
        assert s.closed == (code != b"200\n")
        s.close()
    # the local peer already in a session: try again
    a.by_name["a"].session = a.accept(net.now)
    s = a.accept(net.now)
    s.feed(b"HAProxyS 2.1\na\na 1 1\n", net.now)
    assert s.take() == b"300\n"


def test_reconnection_timing_and_heartbeats() -> None:
    net = Net()
    a = net.add("a", ["b"])
    net.refuse.add("b")
    net.run()
    pb = a.by_name["b"]
    assert pb.new_conn == 1
    net.run(4900)
    assert pb.new_conn == 1  # 2.6 tries a peer again 5 s after the last try
    net.run(100)
    assert pb.new_conn == 2
    net.refuse.clear()
    b = net.add("b", ["a"])
    net.run(10000)
    assert pb.statuscode == 200 and pb.tx_hbt >= 2 and b.by_name["a"].rx_hbt >= 2
    assert pb.no_hbt == 0 and pb.session is not None
    # a peer that falls silent is dropped after two reconnect periods, then tried again
    link = next(lk for lk in net.links if pb.session in lk)
    other = link[1] if link[0] is pb.session else link[0]
    other.feed, other.take = (lambda d, n: None), (lambda: b"")  # type: ignore[method-assign]
    del net.procs["b"]
    net.run(12000)
    assert pb.no_hbt == 1


def test_collision_keeps_one_session() -> None:
    net = Net()
    a = net.add("a", ["b"])
    b = net.add("b", ["a"])
    net.run(5000)
    pa, pb = b.by_name["a"], a.by_name["b"]
    assert pa.session is not None and pb.session is not None and pa.statuscode == pb.statuscode == 200
    assert len(a.sessions) == 1 and len(b.sessions) == 1


def test_reload_teaches_the_new_process_through_the_local_peer() -> None:
    net = Net()
    old = net.add("a", ["b"], key="old")
    for i in range(300):
        _set(old, f"t key 10.0.{i // 256}.{i % 256} data.gpc0 {i}", net.now)
    net.run(5000)
    assert old.synced()  # alone for 5 s: its own resync is over, it teaches a full one
    new = net.add("a", ["b"], old=True, key="new")
    assert not new.local_done
    old.stop(net.now)
    assert not old.done
    net.run(300)
    assert new.local_done and new.remote_done
    assert old.done and old.local is not None and old.local.teach_complete
    # with the expiry each entry had left
    assert _show(new, net.now) == _show(old, net.now) and "exp=24700" in _show(new, net.now)
    assert "used:300" in _show(new, net.now)


def test_new_process_gives_up_waiting_for_the_old_one_after_5s() -> None:
    net = Net()
    new = net.add("a", ["b"], old=True)
    net.run(4900)
    assert not new.local_done
    net.run(200)
    assert new.local_done and not new.remote_done
    net.run(5000)
    assert new.remote_done


def test_stopping_process_without_new_one_exits() -> None:
    net = Net()
    old = net.add("a", ["b"])
    _set(old, "t key 1.2.3.4 data.gpc0 1", net.now)
    old.stop(net.now)
    net.run(100)
    assert not old.done  # tries its local peer again for 3 s
    net.run(3000)
    assert old.done


def test_protocol_error_and_unknown_tables() -> None:
    net = Net()
    a = net.add("a", ["b"])
    s = a.accept(net.now)
    s.feed(b"HAProxyS 2.1\na\nb 1 1\n", net.now)
    assert s.take().startswith(b"200\n")
    # a definition of a table a does not share, and its updates, are ignored
    other = _table("zz")
    e = other.get(other.key_of(b"1.1.1.1"), net.now)
    s.feed(P.encode_definition(other, 5, "zz") + P.encode_update(other, e, 1, net.now, timed=True), net.now)
    assert not s.closed and _show(a, net.now).count("key=") == 0
    s.feed(bytes((255, 0)), net.now)
    assert s.closed and s.take().endswith(bytes((1, 0))) and a.by_name["b"].proto_err == 1


def test_generated_traffic_converges() -> None:
    """Seeded writes on three fully meshed processes, each write delivered before the next one
    (two writes of one key crossing on the wire end differently on each side, in 2.6 too)."""
    rnd = random.Random(17)
    net = Net()
    procs = [net.add(n, [m for m in "abc" if m != n]) for n in "abc"]
    net.run(300)
    want: dict[str, str] = {}
    for _ in range(200):
        s = rnd.choice(procs)
        key, g, sid = f"10.9.0.{rnd.randrange(40)}", rnd.randrange(1000), rnd.randrange(5)
        _set(s, f"t key {key} data.gpc0 {g} data.server_id {sid}", net.now)
        want[key] = f"gpc0={g}"
        net.run(rnd.choice((0, 0, 100)))
    net.run(200)
    for s in procs:
        t = s.tables[0].table
        got = {t.key_text(e.key): f"gpc0={t.value(e, 'gpc0', net.now)}" for e in t.sorted_entries(net.now)}
        assert got == want, s.local_name


def test_stopping_process_waits_a_little_for_its_local_peer() -> None:
    """With -W the new worker listens a moment after the old one was told to stop: the old one
    tries again every 200 ms for 3 s, then gives up."""
    net = Net()
    old = net.add("a", ["b"], key="old")
    _set(old, "t key 1.2.3.4 data.gpc0 1", net.now)
    net.run(5000)
    old.stop(net.now)
    net.run(1000)
    assert not old.done and old.local is not None and old.local.new_conn >= 4
    new = net.add("a", ["b"], old=True, key="new")
    net.run(300)
    assert old.done and old.local.teach_complete and "key=1.2.3.4" in _show(new, net.now)
    lone = Net()
    s = lone.add("a", ["b"])
    s.stop(lone.now)
    lone.run(2900)
    assert not s.done
    lone.run(200)
    assert s.done


def test_garbled_input_never_raises() -> None:
    """Seeded garbage after a good handshake, and mutated real messages: the session answers a
    protocol error or goes on, nothing escapes (the engine would have to report it)."""
    rnd = random.Random(5)
    t = _table()
    e = t.get(t.key_of(b"10.0.0.9"), 1000)
    assert e is not None
    e.d[t.slot["server_key"]] = "s1"
    good = P.encode_definition(t, 1, "t") + P.encode_update(t, e, 1, 1000, timed=True, dcache=P.DictCache())
    net = Net()
    for i in range(300):
        a = net.add("a", ["b"])
        s = a.accept(net.now)
        s.feed(b"HAProxyS 2.1\na\nb 1 1\n", net.now)
        if i % 2:
            data = bytearray(good)
            for _ in range(rnd.randint(1, 4)):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        else:
            data = bytearray(rnd.randbytes(rnd.randint(1, 60)))
            data[0] = rnd.choice((0, 1, 10, 255))
        for j in range(0, len(data), 7):
            s.feed(bytes(data[j:j + 7]), net.now)
        s.take()
        a.tick(net.now + 100)


def test_journal_forgets_expired_keys() -> None:
    net = Net()
    a = net.add("a", ["b"])
    t = a.tables[0].table
    for i in range(900):
        e = t.get((0x0B000000 + i).to_bytes(4, "big"), net.now)
        assert e is not None
        t.touch(e, net.now)
    assert len(a.tables[0].journal) == 900
    net.run(31000, step=1000)  # expired (30 s), and the journal trimmed at the next 10 s mark
    assert t.used(net.now) == 0 and len(a.tables[0].journal) == 0
