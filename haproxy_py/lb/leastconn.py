"""``balance leastconn`` (lb_fwlc.c; HAPROXY_FACTS 3.4). Pure.

Servers sit in a tree keyed by ``(inflight + 1) * 4096 / eweight`` (0 when idle), equal keys in
insertion order; the key is recomputed whenever a connection is taken or released, and a server
whose key did not change keeps its place.
"""

from __future__ import annotations

import heapq
from typing import Any

from haproxy_py.lb.base import SRV_EWGHT_MAX, Balancer, LbRequest, Tree, willbe_usable


def _key(s: Any, ew: int) -> int:
    inflight = s.served + len(s.queue)
    return (inflight + 1) * SRV_EWGHT_MAX // ew if inflight else 0


class LeastConn(Balancer):
    name = "leastconn"
    dynamic = True
    kind = "lc"

    def _build(self) -> None:
        self.act = Tree("act")
        self.bck = Tree("bck")
        for s in self.params.servers:
            if s.lb.usable:
                self._tree(s).insert(s, _key(s, s.lb.eweight))

    def _tree(self, s: Any) -> Tree:
        return self.bck if s.backup else self.act

    def update(self, srv: Any, ew: int) -> None:
        n = srv.lb
        p = self.params
        old = n.usable
        new = willbe_usable(srv, ew)
        if not old and not new:
            self.commit(srv, ew)
        elif old and not new:
            p.went_down(srv)
            if n.tree is not None:
                n.tree.delete(srv)
            self.commit(srv, ew)
            p.update_backend_weight()
        elif not old and new:
            p.went_up(srv, ew)
            self._tree(srv).insert(srv, _key(srv, ew))
            self.commit(srv, ew)
            p.update_backend_weight()
        elif ew != n.eweight:
            if srv.backup:
                p.tot_wbck += ew - n.eweight
            else:
                p.tot_wact += ew - n.eweight
            self.commit(srv, ew)
            p.update_backend_weight()
            if n.tree is not None:
                n.tree.delete(srv)
            self._tree(srv).insert(srv, _key(srv, ew))
        else:
            self.commit(srv, ew)

    def _reposition(self, srv: Any) -> None:
        n = srv.lb
        t = n.tree
        if t is None or not n.eweight:
            return
        k = _key(srv, n.eweight)
        if k == n.key:
            return
        t.delete(srv)
        t.insert(srv, k)

    take = _reposition
    drop = _reposition

    def pick(self, req: LbRequest | None, avoid: Any) -> Any:
        p = self.params
        if p.srv_act:
            tree = self.act
        elif p.fbck is not None:
            return p.fbck
        elif p.srv_bck:
            tree = self.bck
        else:
            return None
        h = tree._h
        # fast path: the first server is eligible and not avoided
        first = tree.first()
        if first is None:
            return None
        if first is not avoid and (not first.maxconn or
                                   first.served + len(first.queue) < first.effective_maxconn() + first.maxqueue):
            return first
        popped = []
        srv = avoided = None
        while h:
            e = heapq.heappop(h)
            if not e[3]:
                continue
            popped.append(e)
            s = e[2]
            if not s.maxconn or s.served + len(s.queue) < s.effective_maxconn() + s.maxqueue:
                if s is not avoid:
                    srv = s
                    break
                avoided = s
        for e in popped:
            heapq.heappush(h, e)
        return srv if srv is not None else avoided
