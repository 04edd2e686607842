"""``hash-type consistent`` (lb_chash.c; HAPROXY_FACTS 3.9). Pure.

Each usable server owns ``eweight`` points on a 32-bit ring, point j at
``full_hash(puid * 4096 + j)``; a hash picks the closer of the points around it. Points are kept
in a sorted list of ``key << 32 | insertion_seq`` (ties in insertion order, like ebtree dups).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from haproxy_py.lb.base import SRV_EWGHT_RANGE, Balancer, LbRequest, has_room, willbe_usable
from haproxy_py.lb.hashfn import full_hash

M32 = 0xFFFFFFFF


class Ring:
    __slots__ = ("keys", "owners", "name")

    def __init__(self, name: str) -> None:
        self.keys: list[int] = []
        self.owners: list[Any] = []
        self.name = name

    def __len__(self) -> int:
        return len(self.keys)

    def insert(self, comp: int, srv: Any) -> None:
        i = bisect_right(self.keys, comp)
        self.keys.insert(i, comp)
        self.owners.insert(i, srv)

    def index(self, comp: int) -> int:
        i = bisect_left(self.keys, comp)
        if i < len(self.keys) and self.keys[i] == comp:
            return i
        return -1

    def delete(self, comp: int) -> None:
        i = self.index(comp)
        if i >= 0:
            del self.keys[i]
            del self.owners[i]


class ConsistentHash(Balancer):
    name = "consistent"
    dynamic = True
    kind = "hash"

    def __init__(self, allbackups: bool = False, key: Callable[[LbRequest, Any], int | None] | None = None,
                 balance_factor: int = 0) -> None:
        super().__init__(allbackups)
        self.key = key
        self.balance_factor = balance_factor
        self.act = Ring("act")
        self.bck = Ring("bck")
        #: (ring, comp) of the last node used by the round-robin fallback, or None
        self.last: tuple[Ring, int] | None = None
        #: the owning backend (for ``served``, used by hash-balance-factor); set by the Backend
        self.backend: Any = None
        self._seq = 0
        #: per-server point composites, index j -> comp (or absent)
        self._points: dict[int, list[int]] = {}

    def _ring(self, s: Any) -> Ring:
        return self.bck if s.backup else self.act

    def _build(self) -> None:
        # bulk load: build every point then sort once (inserting one by one is quadratic)
        pending: dict[int, list[tuple[int, Any]]] = {id(self.act): [], id(self.bck): []}
        for s in self.params.servers:
            pts: list[int] = []
            self._points[id(s)] = pts
            if not s.lb.usable:
                continue
            bucket = pending[id(self._ring(s))]
            base = s.puid * SRV_EWGHT_RANGE
            for j in range(s.lb.eweight):
                self._seq += 1
                comp = (full_hash(base + j) << 32) | (self._seq & M32)
                pts.append(comp)
                bucket.append((comp, s))
            s.lb.nodes_now = len(pts)
        for ring in (self.act, self.bck):
            items = sorted(pending[id(ring)], key=lambda t: t[0])
            ring.keys = [c for c, _ in items]
            ring.owners = [o for _, o in items]

    def add_server(self, srv: Any) -> None:
        super().add_server(srv)
        self._points[id(srv)] = []

    def remove_server(self, srv: Any) -> None:
        self._set_nodes(srv, 0)
        self._points.pop(id(srv), None)
        super().remove_server(srv)

    def _set_nodes(self, s: Any, count: int) -> None:
        """chash_queue_dequeue_srv: keep exactly the first ``count`` points of the server."""
        pts = self._points.setdefault(id(s), [])
        ring = self._ring(s)
        n = s.lb
        while len(pts) > count:
            comp = pts.pop()
            if self.last is not None and self.last[1] == comp:
                self.last = self._skip(ring, comp)
            ring.delete(comp)
        base = s.puid * SRV_EWGHT_RANGE
        while len(pts) < count:
            self._seq += 1
            comp = (full_hash(base + len(pts)) << 32) | (self._seq & M32)
            pts.append(comp)
            ring.insert(comp, s)
        n.nodes_now = count

    def _skip(self, ring: Ring, comp: int) -> tuple[Ring, int] | None:
        i = ring.index(comp)
        if i < 0:
            return self.last
        j = i + 1
        if j >= len(ring.keys):
            j = 0
        if j == i:
            return None
        return (ring, ring.keys[j])

    def update(self, srv: Any, ew: int) -> None:
        n = srv.lb
        p = self.params
        old = n.usable
        new = willbe_usable(srv, ew)
        if not old and not new:
            self.commit(srv, ew)
            return
        if old and not new:
            p.went_down(srv)
            self._set_nodes(srv, 0)
            self.commit(srv, ew)
            p.update_backend_weight()
            return
        if not old and new:
            p.went_up(srv, ew)
            self._set_nodes(srv, ew)
            self.commit(srv, ew)
            p.update_backend_weight()
            return
        if ew == n.eweight:
            self.commit(srv, ew)
            return
        self._set_nodes(srv, ew)
        if srv.backup:
            p.tot_wbck += ew - n.eweight
        else:
            p.tot_wact += ew - n.eweight
        self.commit(srv, ew)
        p.update_backend_weight()

    # ------------------------------------------------------------------ selection
    def _root(self) -> Any:
        p = self.params
        if p.srv_act:
            return self.act
        if p.fbck is not None:
            return p.fbck
        if p.srv_bck:
            return self.bck
        return None

    def eligible(self, s: Any) -> bool:
        """chash_server_is_eligible (hash-balance-factor)."""
        p = self.params
        served = self.backend.served if self.backend is not None else 0
        tot_slots = ((served + 1) * self.balance_factor + 99) // 100
        tw = p.tot_weight or 1
        per = tot_slots // tw
        rem = tot_slots % tw
        n = s.lb
        slots = n.eweight * per
        slots += ((n.cumulative_weight + n.eweight) * rem) // tw - (n.cumulative_weight * rem) // tw
        if slots == 0:
            slots = 1
        room: bool = s.served < slots
        return room

    def lookup(self, h: int, avoid: Any) -> Any:
        root = self._root()
        if root is None or not isinstance(root, Ring):
            return root
        keys = root.keys
        n = len(keys)
        if not n:
            return None
        i = bisect_left(keys, h << 32)
        if i == n:
            i = 0
        pi = i - 1 if i else n - 1
        dp = (h - (keys[pi] >> 32)) & M32
        dn = ((keys[i] >> 32) - h) & M32
        if dp <= dn:
            i = pi
        owners = root.owners
        srv = owners[i]
        bf = self.balance_factor
        loop = 0
        while srv is avoid or (bf and not self.eligible(srv)):
            i += 1
            if i >= n:
                i = 0
                loop += 1
                if loop > 1:
                    break
            srv = owners[i]
        return srv

    def next_rr(self, avoid: Any) -> Any:
        """chash_get_next_server: walk the ring from the last position, skipping full servers."""
        root = self._root()
        if root is None or not isinstance(root, Ring):
            return root
        last = self.last
        stop = last
        node: tuple[Ring, int] | None = last
        avoided = None
        avoided_node = None
        srv = None
        budget = len(root.keys) + 2
        while True:
            nxt: tuple[Ring, int] | None = None
            if node is not None:
                ring, comp = node
                i = bisect_right(ring.keys, comp)
                if i < len(ring.keys):
                    nxt = (ring, ring.keys[i])
            if nxt is None:
                nxt = (root, root.keys[0]) if root.keys else None
            node = nxt
            self.last = node
            if node is None:
                return None
            if stop is None:
                stop = node
            ring, comp = node
            s = ring.owners[bisect_left(ring.keys, comp)]
            if has_room(s):
                if s is not avoid:
                    srv = s
                    break
                avoided = s
                avoided_node = node
            budget -= 1
            if node == stop or budget <= 0:
                break
        if srv is None:
            srv = avoided
            self.last = avoided_node
        return srv

    def pick(self, req: LbRequest | None, avoid: Any) -> Any:
        key = self.key
        if key is not None and req is not None:
            h = key(req, self.params)
            if h is not None:
                srv = self.lookup(h, avoid)
                if srv is not None:
                    return srv
        return self.next_rr(avoid)
