"""Map-based selection (lb_map.c; HAPROXY_FACTS 3.3 and 3.8): the table behind ``static-rr`` and
``hash-type map-based``. Pure.

The table is HAProxy's ``recalc_server_map`` result, computed here in O((tot + N) log N) by an
event-driven equivalent of its O(tot * N) double loop (same output, proven by a property test
against :func:`build_map_naive`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from haproxy_py.lb.base import Balancer, LbRequest, has_room, willbe_usable


def build_map_naive(servers: list[Any], weights: list[int], tot: int) -> list[Any]:
    """HAProxy's loop verbatim (reference for tests)."""
    if not servers:
        return []
    wscore = [0] * len(servers)
    table: list[Any] = []
    for _ in range(tot):
        best = -1
        mx = 0
        for i, w in enumerate(weights):
            if tot == 1:
                best = i
                break
            wscore[i] += w
            v = (wscore[i] + tot) // tot
            if best < 0 or v > mx:
                mx = v
                best = i
        table.append(servers[best])
        wscore[best] -= tot
    return table


def build_map(servers: list[Any], weights: list[int], tot: int) -> list[Any]:
    """Same table as :func:`build_map_naive`.

    At step o, server i's score is ``base_i + (o+1)*w_i`` and its rank ``v_i = score // tot``; the
    pick is the max ``v`` (first declared on ties), whose base then drops by ``tot`` (v - 1). A rank
    only grows at predictable steps, so ranks live in a heap and growths in an event queue.
    """
    n = len(servers)
    if not n or tot <= 0:
        return []
    if tot == 1:
        return [servers[0]]
    base = [tot] * n
    v = [(tot + w) // tot for w in weights]
    ready = [(-v[i], i) for i in range(n)]
    heapq.heapify(ready)
    events: list[tuple[int, int]] = []
    for i in range(n):
        w = weights[i]
        x = (v[i] + 1) * tot - base[i]
        events.append(((x + w - 1) // w - 1, i))
    heapq.heapify(events)
    table: list[Any] = [None] * tot
    heappush = heapq.heappush
    heappop = heapq.heappop
    for o in range(tot):
        while events and events[0][0] <= o:
            _, i = heappop(events)
            w = weights[i]
            vi = (base[i] + (o + 1) * w) // tot
            v[i] = vi
            heappush(ready, (-vi, i))
            x = (vi + 1) * tot - base[i]
            heappush(events, ((x + w - 1) // w - 1, i))
        while True:
            negv, i = ready[0]
            if -negv == v[i]:
                break
            heappop(ready)
        heappop(ready)
        table[o] = servers[i]
        base[i] -= tot
        v[i] -= 1
        heappush(ready, (-v[i], i))
    return table


def gcd_weights(servers: list[Any]) -> int:
    """HAProxy's wmult for map algorithms: gcd of the user weights (zero weights skipped)."""
    pgcd = 1
    it = iter(servers)
    first = None
    for s in it:
        if s.uweight:
            first = s
            break
    if first is not None:
        pgcd = first.uweight
        for s in it:
            if pgcd <= 1:
                break
            w = s.uweight
            while w:
                pgcd, w = w, pgcd % w
    return pgcd


class MapBased(Balancer):
    """``hash-type map-based`` hashing; ``key`` maps a request to a 32-bit hash or None."""

    name = "map-based"
    dynamic = False
    kind = "hash"

    def __init__(self, allbackups: bool = False, key: Callable[[LbRequest, Any], int | None] | None = None) -> None:
        super().__init__(allbackups)
        self.key = key
        self.table: list[Any] = []
        self.rr_idx = 0

    def _init_weights(self, servers: list[Any]) -> None:
        self.params.wdiv = 1
        self.params.wmult = gcd_weights(servers)

    def _build(self) -> None:
        self.recalc()

    def recalc(self) -> None:
        p = self.params
        if not p.tot_used:
            return
        backup = not p.srv_act
        group = [s for s in p.servers if s.backup == backup and s.lb.usable]
        self.table = build_map(group, [s.lb.eweight for s in group], p.tot_weight)

    def update(self, srv: Any, ew: int) -> None:
        n = srv.lb
        if n.usable == willbe_usable(srv, ew) and (ew == n.eweight or not n.usable):
            self.commit(srv, ew)
            return
        self.commit(srv, ew)
        self.params.recount()
        self.recalc()

    def add_server(self, srv: Any) -> None:
        super().add_server(srv)

    # ------------------------------------------------------------------ selection
    def lookup(self, h: int) -> Any:
        tot = self.params.tot_weight
        if not tot:
            return None
        return self.table[h % tot]

    def next_rr(self, avoid: Any) -> Any:
        """map_get_server_rr: walk the table from the rotating index, skipping full servers."""
        tot = self.params.tot_weight
        if not tot:
            return None
        table = self.table
        idx = self.rr_idx
        if idx < 0 or idx >= tot:
            idx = self.rr_idx = 0
        start = idx
        avoided = None
        avoididx = 0
        while True:
            srv = table[idx]
            idx += 1
            if has_room(srv):
                avoided = srv
                avoididx = idx
                if srv is not avoid:
                    self.rr_idx = idx
                    return srv
            if idx == tot:
                idx = 0
            if idx == start:
                break
        if avoided is not None:
            self.rr_idx = avoididx
        return avoided

    def pick(self, req: LbRequest | None, avoid: Any) -> Any:
        key = self.key
        if key is not None and req is not None:
            h = key(req, self.params)
            if h is not None:
                srv = self.lookup(h)
                if srv is not None:
                    return srv
        return self.next_rr(avoid)
