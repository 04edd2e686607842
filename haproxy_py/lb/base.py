"""The balancer interface and the state shared by all algorithms (HAPROXY_FACTS 3.1). Pure.

A balancer works on duck-typed server objects (``runtime.server.Server``) and only reads:
``puid backup uweight eweight maxconn maxqueue served queue is_up in_drain`` and
``effective_maxconn()``. It owns ``srv.lb`` (an :class:`LbNode`).

Life cycle, driven by ``runtime.backend.Backend``:
* ``init(servers)`` once, servers in declaration order;
* ``update(srv, new_eweight)`` after any change of the server's state, admin flags or user weight
  (the balancer compares with what it committed before and applies HAProxy's up/down/weight
  procedures, then commits);
* ``pick(req, avoid)`` -> a server or ``None`` (None = nobody usable *or* everybody full: the
  caller tells the two apart with ``params.tot_weight``);
* ``take(srv)`` / ``drop(srv)`` when a connection slot is taken / released (leastconn re-keys).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

#: dynamic algorithms scale user weights by this (HAProxy's BE_WEIGHT_SCALE)
BE_WEIGHT_SCALE = 16
SRV_UWGHT_RANGE = 256
SRV_EWGHT_MAX = SRV_UWGHT_RANGE * BE_WEIGHT_SCALE  # 4096
SRV_EWGHT_RANGE = SRV_EWGHT_MAX  # chash point id scale

M32 = 0xFFFFFFFF


class LbRequest:
    """What the key extractors need from a request. Build once per request (cheap)."""

    __slots__ = ("src", "uri", "method", "get_header", "cookie", "body", "rdp_cookie", "sample")

    def __init__(
        self,
        src: str = "",
        uri: str = "/",
        method: str = "GET",
        get_header: Callable[[str], str | None] | None = None,
        cookie: str | None = None,
        body: bytes | None = None,
        rdp_cookie: bytes | None = None,
        sample: bytes | None = None,
    ) -> None:
        self.src = src
        self.uri = uri
        self.method = method
        self.get_header = get_header if get_header is not None else _no_header
        #: value of the persistence cookie (server part, after cookie.py parsing) or None
        self.cookie = cookie
        #: first body chunk for ``url_param ... check_post``
        self.body = body
        #: raw payload of an RDP connection request (tcp mode) or the extracted cookie value
        self.rdp_cookie = rdp_cookie
        #: ``balance hash EXPR``: the sample already fetched and converted to bytes (engine side)
        self.sample = sample


def _no_header(name: str) -> str | None:
    return None


class LbNode:
    """Per-server private state of the balancers (``srv.lb``)."""

    __slots__ = (
        "usable", "eweight", "npos", "lpos", "rweight", "tree", "entry", "key", "wscore",
        "cumulative_weight", "nodes_now", "index",
    )

    def __init__(self, index: int) -> None:
        self.usable = False  # committed "currently usable" (HAProxy's srv_currently_usable)
        self.eweight = 0  # committed effective weight (cur_eweight)
        self.npos = 0
        self.lpos = 0
        self.rweight = 0
        self.tree: Tree | None = None
        self.entry: list[Any] | None = None
        self.key = 0
        self.wscore = 0
        self.cumulative_weight = 0
        self.nodes_now = 0
        self.index = index  # declaration order


class Tree:
    """An ordered multiset of servers by 32-bit key with FIFO order among equal keys (ebtree dups).

    Heap with lazy deletion: insert/delete O(log n), first O(1) amortised.
    """

    __slots__ = ("_h", "_n", "name")
    _seq = 0

    def __init__(self, name: str = "") -> None:
        self._h: list[list[Any]] = []
        self._n = 0
        self.name = name

    def __len__(self) -> int:
        return self._n

    def insert(self, srv: Any, key: int) -> None:
        Tree._seq += 1
        e = [key & M32, Tree._seq, srv, True]
        node = srv.lb
        node.entry = e
        node.key = key & M32
        node.tree = self
        heapq.heappush(self._h, e)
        self._n += 1

    def delete(self, srv: Any) -> None:
        node = srv.lb
        if node.tree is not self:
            return
        if node.entry is not None:
            node.entry[3] = False
            node.entry = None
            self._n -= 1
        node.tree = None
        h = self._h
        while h and not h[0][3]:
            heapq.heappop(h)

    def first(self) -> Any:
        h = self._h
        while h:
            e = h[0]
            if e[3]:
                return e[2]
            heapq.heappop(h)
        return None

    def iter_ordered(self):  # type: ignore[no-untyped-def]
        """Servers in key order (a sorted copy: for slow paths and tests only)."""
        return [e[2] for e in sorted(self._h) if e[3]]


def has_room(srv: Any) -> bool:
    """HAProxy's ``!s->maxconn || (!s->queue.length && s->served < srv_dynamic_maxconn(s))``."""
    if not srv.maxconn:
        return True
    return not len(srv.queue) and srv.served < srv.effective_maxconn()


def willbe_usable(srv: Any, eweight: int) -> bool:
    return eweight > 0 and srv.is_up and not srv.in_drain


class LbParams:
    """Group accounting of HAProxy's ``lbprm``: usable counts, total weights, first backup."""

    __slots__ = ("servers", "allbackups", "srv_act", "srv_bck", "tot_wact", "tot_wbck", "fbck",
                 "tot_weight", "tot_used", "wmult", "wdiv")

    def __init__(self, servers: list[Any], allbackups: bool) -> None:
        self.servers = servers
        self.allbackups = allbackups
        self.srv_act = self.srv_bck = 0
        self.tot_wact = self.tot_wbck = 0
        self.fbck: Any = None
        self.tot_weight = 0
        self.tot_used = 0
        self.wmult = 1
        self.wdiv = 1

    def recount(self) -> None:
        """HAProxy's recount_servers + update_backend_weight, from committed LbNode values."""
        self.srv_act = self.srv_bck = 0
        self.tot_wact = self.tot_wbck = 0
        self.fbck = None
        for s in self.servers:
            n = s.lb
            if not n.usable:
                continue
            if s.backup:
                if not self.srv_bck and not self.allbackups:
                    self.fbck = s
                self.srv_bck += 1
                n.cumulative_weight = self.tot_wbck
                self.tot_wbck += n.eweight
            else:
                self.srv_act += 1
                n.cumulative_weight = self.tot_wact
                self.tot_wact += n.eweight
        self.update_backend_weight()

    def update_backend_weight(self) -> None:
        if self.srv_act:
            self.tot_weight = self.tot_wact
            self.tot_used = self.srv_act
        elif self.fbck is not None:
            self.tot_weight = self.fbck.lb.eweight
            self.tot_used = 1
        else:
            self.tot_weight = self.tot_wbck
            self.tot_used = self.srv_bck

    # incremental versions (HAProxy's set_server_status_down/up for tree-based algorithms)
    def went_down(self, srv: Any) -> None:
        n = srv.lb
        if srv.backup:
            self.tot_wbck -= n.eweight
            self.srv_bck -= 1
            if srv is self.fbck:
                nxt = None
                found = False
                for s in self.servers:
                    if found and s.backup and s.lb.usable:
                        nxt = s
                        break
                    if s is srv:
                        found = True
                self.fbck = nxt
        else:
            self.tot_wact -= n.eweight
            self.srv_act -= 1

    def went_up(self, srv: Any, eweight: int) -> None:
        if srv.backup:
            self.tot_wbck += eweight
            self.srv_bck += 1
            if not self.allbackups:
                if self.fbck is None or srv.lb.index < self.fbck.lb.index:
                    self.fbck = srv
        else:
            self.tot_wact += eweight
            self.srv_act += 1


class Balancer:
    """Base class. Subclasses set ``name``, ``dynamic`` (accepts any runtime weight) and ``kind``:
    "rr" (roundrobin, static-rr, random: non-deterministic), "hash", "lc" (leastconn), "fas"."""

    name = "?"
    dynamic = True
    kind = "rr"

    def __init__(self, allbackups: bool = False) -> None:
        self.params: LbParams = LbParams([], allbackups)

    # -- weights
    def compute_eweight(self, srv: Any, uweight: int | None = None, throttle_wdiv: int | None = None) -> int:
        """HAProxy's ``(uweight * wdiv + wmult - 1) / wmult``; ``throttle_wdiv`` replaces wdiv during
        slowstart."""
        p = self.params
        w = srv.uweight if uweight is None else uweight
        wdiv = p.wdiv if throttle_wdiv is None else throttle_wdiv
        return (w * wdiv + p.wmult - 1) // p.wmult

    def init(self, servers: list[Any]) -> None:
        self.params.servers = servers
        for i, s in enumerate(servers):
            s.lb = LbNode(i)
        self._init_weights(servers)
        for s in servers:
            e = self.compute_eweight(s)
            s.eweight = e
            s.lb.eweight = e
            s.lb.usable = willbe_usable(s, e)
        self.params.recount()
        self._build()

    def _init_weights(self, servers: list[Any]) -> None:
        self.params.wdiv = BE_WEIGHT_SCALE if self.dynamic else 1
        self.params.wmult = 1

    def _build(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def add_server(self, srv: Any) -> None:
        """A server added at runtime (``add server``): starts unusable, then ``update``."""
        srv.lb = LbNode(len(self.params.servers))
        self.params.servers.append(srv)

    def remove_server(self, srv: Any) -> None:
        """Only for servers already not usable (the backend ensures MAINT)."""
        self.params.servers.remove(srv)
        for i, s in enumerate(self.params.servers):
            s.lb.index = i

    # -- state changes
    def update(self, srv: Any, eweight: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def commit(self, srv: Any, eweight: int) -> None:
        n = srv.lb
        n.eweight = eweight
        srv.eweight = eweight
        n.usable = willbe_usable(srv, eweight)

    # -- traffic
    def pick(self, req: LbRequest | None, avoid: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def take(self, srv: Any) -> None:
        pass

    def drop(self, srv: Any) -> None:
        pass

    def refresh(self, srv: Any) -> None:
        """The server's limits or queue changed (``set maxconn``, queue drained)."""
        self.drop(srv)
