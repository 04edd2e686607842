"""The map behind ``hash-type map-based`` and ``static-rr`` (lb/hash_map.py), by its structure.

2.6's construction (lb_map.c): user weights divided by their gcd (zero weights skipped, computed once
at start), the serving group is the usable active servers, else the usable backups; the table has
``tot_weight`` slots (the group's total effective weight, or the first backup's alone without
``option allbackups``) filled by a walk that gives each slot to the server whose accumulated weight
is furthest ahead, the first declared on ties. The properties below are stated without that walk
(counts, first slot, spread, who may appear) and checked on random backends and random runtime
changes; ``build_map_naive`` (the walk written plainly) pins the exact order.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_lb_helpers import proxy, request, server

from haproxy_py.config import parse_text
from haproxy_py.lb.hash_map import MapBased, build_map_naive
from haproxy_py.lb.static_rr import StaticRR
from haproxy_py.runtime.backend import Backend


class Srv:
    """The duck-typed server a balancer reads (see lb/base.py)."""

    def __init__(self, i: int, uweight: int, backup: bool, state: str) -> None:
        self.name = f"{'b' if backup else 's'}{i}"
        self.puid = i + 1
        self.uweight = self.iweight = uweight
        self.eweight = 0
        self.backup = backup
        self.is_up = state != "down"
        self.in_drain = state == "drain"
        self.maxconn = self.maxqueue = self.served = 0
        self.queue: list[Any] = []

    def effective_maxconn(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"{self.name}(w={self.uweight},{'up' if self.is_up else 'down'}{',drain' if self.in_drain else ''})"


def expected(servers: list[Srv], wmult: int, allbackups: bool) -> tuple[list[Srv], dict[str, int], int]:
    """(serving group in declaration order, each member's effective weight, table size) from the
    servers' current states, stated independently of the balancer."""
    ew = {s.name: (s.uweight + wmult - 1) // wmult for s in servers}
    usable = [s for s in servers if ew[s.name] > 0 and s.is_up and not s.in_drain]
    act = [s for s in usable if not s.backup]
    bck = [s for s in usable if s.backup]
    group = act or bck
    if act or allbackups:
        tot = sum(ew[s.name] for s in group)
    else:
        tot = ew[bck[0].name] if bck else 0
    return group, {s.name: ew[s.name] for s in group}, tot


def gcd_of_nonzero(ws: list[int]) -> int:
    nz = [w for w in ws if w]
    return math.gcd(*nz) if nz else 1


def check_table(bal: MapBased, servers: list[Srv], wmult: int, allbackups: bool) -> None:
    group, ew, tot = expected(servers, wmult, allbackups)
    p = bal.params
    assert p.tot_weight == tot
    if not tot:
        assert bal.pick(request("/x"), None) is None
        return
    table = bal.table[:tot]
    assert len(table) == tot
    members = {id(s) for s in group}
    # no server outside the serving group: down, drained, in maintenance, weight 0, or the other group
    assert all(id(s) in members for s in table), (table, group)
    # the exact table is 2.6's walk
    assert table == build_map_naive(group, [ew[s.name] for s in group], tot)
    # a hash lands on slot hash % tot
    for h in (0, 1, tot - 1, tot, 7 * tot + 3, 0xFFFFFFFF):
        assert bal.lookup(h) is table[h % tot]
    if tot < sum(ew.values()):
        # backups without allbackups: 2.6 sizes the table by the first backup's weight but walks
        # every usable backup, so a heavier later backup may hold the first slots (a live check of
        # 2.6: backups weighted 5/100/7, actives down, balance uri -> every request to the second)
        assert not p.srv_act and not allbackups and p.fbck is group[0]
        return
    # whatever the weights, the first slot is the first usable server of the group
    assert table[0] is group[0]
    # each server holds exactly its effective weight in slots...
    assert Counter(s.name for s in table) == ew
    # ...spread evenly: after k slots a server holds k*w/tot slots, at most one ahead and less than
    # two behind (the walk's accumulated scores stay within [-tot, 2*tot))
    seen: Counter[str] = Counter()
    for k, s in enumerate(table, 1):
        seen[s.name] += 1
        for g in group:
            d = tot * seen[g.name] - k * ew[g.name]
            assert -2 * tot < d <= tot, (g, k, seen[g.name], ew[g.name], tot)


server_spec = st.tuples(st.integers(min_value=0, max_value=256), st.booleans(),
                        st.sampled_from(("up", "up", "up", "down", "drain")))


@given(st.lists(server_spec, min_size=1, max_size=8), st.booleans(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_map_structure_for_any_weights_and_states(specs: list[tuple[int, bool, str]], allbackups: bool,
                                                   static_rr: bool) -> None:
    servers = [Srv(i, w, b, state) for i, (w, b, state) in enumerate(specs)]
    bal: MapBased = StaticRR(allbackups) if static_rr else MapBased(allbackups)
    bal.init(servers)
    wmult = gcd_of_nonzero([s.uweight for s in servers])
    assert bal.params.wmult == wmult
    check_table(bal, servers, wmult, allbackups)


change = st.tuples(st.integers(min_value=0, max_value=7), st.sampled_from(("maint", "drain", "ready", "w0", "w100")))


@given(st.lists(st.tuples(st.integers(min_value=1, max_value=256), st.booleans()), min_size=2, max_size=8),
       st.booleans(), st.lists(change, min_size=1, max_size=12))
@settings(max_examples=200, deadline=None)
def test_map_after_runtime_changes(specs: list[tuple[int, bool]], allbackups: bool,
                                   changes: list[tuple[int, str]]) -> None:
    """Servers leave and re-enter the table as their state and weight change (the runtime path:
    update() with the new effective weight); the gcd stays the one computed at start, as in 2.6."""
    servers = [Srv(i, w, b, "up") for i, (w, b) in enumerate(specs)]
    bal = MapBased(allbackups)
    bal.init(servers)
    wmult = bal.params.wmult
    for idx, what in changes:
        s = servers[idx % len(servers)]
        if what == "maint":
            s.is_up = False
        elif what == "drain":
            s.in_drain = True
        elif what == "ready":
            s.is_up, s.in_drain = True, False
        elif what == "w0":
            s.uweight = 0
        else:
            s.uweight = s.iweight
        bal.update(s, (s.uweight + wmult - 1) // wmult)
        check_table(bal, servers, wmult, allbackups)


def test_hash_type_forms_as_2_6_reads_them() -> None:
    """``hash-type map-based`` alone is sdbm without avalanche; only ``consistent`` alone implies
    avalanche; no line at all is map-based sdbm (the generated differential test caught the
    implicit avalanche on map-based)."""
    head = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
    cfg, d = parse_text(head + """backend none
    balance uri
backend map
    balance uri
    hash-type map-based
backend cons
    balance uri
    hash-type consistent
backend map_fn
    balance uri
    hash-type map-based djb2
backend map_aval
    balance uri
    hash-type map-based crc32 avalanche
defaults inherit
    mode http
    hash-type map-based
backend inherited
    balance source
""", "t.cfg")
    assert not d.has_errors, d
    got = {n: (cfg.proxy(n).hash_type.method, cfg.proxy(n).hash_type.function, cfg.proxy(n).hash_type.avalanche)
           for n in ("none", "map", "cons", "map_fn", "map_aval", "inherited")}
    assert got == {"none": ("map-based", "sdbm", False), "map": ("map-based", "sdbm", False),
                   "cons": ("consistent", "sdbm", True), "map_fn": ("map-based", "djb2", False),
                   "map_aval": ("map-based", "crc32", True), "inherited": ("map-based", "sdbm", False)}


def test_slowstart_keeps_full_weight_in_a_static_map() -> None:
    """2.6 throttles the weight of a STARTING server only for dynamic algorithms: in a map it takes
    all its slots back at once."""
    be = Backend(proxy([server("a", 1, weight=30, slowstart=60_000), server("b", 2, weight=50),
                        server("c", 3, weight=20)], "uri"), 0.0)
    bal = be.balancer
    assert isinstance(bal, MapBased) and bal.params.wmult == 10
    a = be.by_name["a"]
    a.admin.add("FMAINT")
    be.server_state_changed(a, 10.0)
    assert bal.params.tot_weight == 7 and a not in bal.table[:7]
    a.admin.discard("FMAINT")
    a.state = "STARTING"
    be.server_state_changed(a, 11.0)
    assert a.eweight == 3 and bal.params.tot_weight == 10
    assert Counter(s.name for s in bal.table[:10]) == {"a": 3, "b": 5, "c": 2}
