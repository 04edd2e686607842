"""``balance first`` (lb_fas.c; HAPROXY_FACTS 3.5): the usable server with the lowest id that still
has room. Pure.

Kept O(log N): a heap by server id holds the candidates that had room when last seen; entries are
validated lazily and servers are pushed back when a slot frees (``drop``) or they come up.
"""

from __future__ import annotations

import heapq
from typing import Any

from haproxy_py.lb.base import Balancer, LbRequest, has_room, willbe_usable


class First(Balancer):
    name = "first"
    dynamic = True
    kind = "fas"

    def _build(self) -> None:
        self.act: list[list[Any]] = []
        self.bck: list[list[Any]] = []
        self._seq = 0
        for s in self.params.servers:
            if s.lb.usable:
                self._push(s)

    def _push(self, s: Any) -> None:
        n = s.lb
        if n.entry is not None and n.entry[3]:
            return
        self._seq += 1
        e = [s.puid, self._seq, s, True]
        n.entry = e
        heapq.heappush(self.bck if s.backup else self.act, e)

    def update(self, srv: Any, ew: int) -> None:
        n = srv.lb
        p = self.params
        old = n.usable
        new = willbe_usable(srv, ew)
        if old and not new:
            p.went_down(srv)
            if n.entry is not None:
                n.entry[3] = False
                n.entry = None
            self.commit(srv, ew)
            p.update_backend_weight()
        elif not old and new:
            p.went_up(srv, ew)
            self.commit(srv, ew)
            self._push(srv)
            p.update_backend_weight()
        elif old and new and ew != n.eweight:
            if srv.backup:
                p.tot_wbck += ew - n.eweight
            else:
                p.tot_wact += ew - n.eweight
            self.commit(srv, ew)
            p.update_backend_weight()
        else:
            self.commit(srv, ew)

    def drop(self, srv: Any) -> None:
        if srv.lb.usable and has_room(srv):
            self._push(srv)

    refresh = drop

    @staticmethod
    def _valid(e: list[Any]) -> bool:
        s = e[2]
        return e[3] and s.lb.entry is e and s.lb.usable and has_room(s)

    def pick(self, req: LbRequest | None, avoid: Any) -> Any:
        p = self.params
        if p.srv_act:
            h = self.act
        elif p.fbck is not None:
            return p.fbck
        elif p.srv_bck:
            h = self.bck
        else:
            return None
        while h:
            e = h[0]
            if self._valid(e):
                break
            heapq.heappop(h)
            if e[2].lb.entry is e:
                e[2].lb.entry = None
        if not h:
            return None
        s = h[0][2]
        if s is not avoid:
            return s
        # the first one is to be avoided: look at the next valid candidate
        e0 = heapq.heappop(h)
        alt = None
        while h:
            e = h[0]
            if self._valid(e):
                alt = e[2]
                break
            heapq.heappop(h)
            if e[2].lb.entry is e:
                e[2].lb.entry = None
        heapq.heappush(h, e0)
        return alt if alt is not None else s
