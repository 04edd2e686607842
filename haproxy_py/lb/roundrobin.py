"""``balance roundrobin``: HAProxy's weighted, dynamic round robin (lb_fwrr.c; HAPROXY_FACTS 3.2).

Each group (active, backup) has a "current" tree of servers keyed by their next position, and
"init"/"next" trees keyed by weight. Trees return equal keys in insertion order. Pure.
"""

from __future__ import annotations

from typing import Any

from haproxy_py.lb.base import (
    BE_WEIGHT_SCALE,
    SRV_EWGHT_MAX,
    SRV_UWGHT_RANGE,
    Balancer,
    LbRequest,
    Tree,
    has_room,
    willbe_usable,
)

M32 = 0xFFFFFFFF


def _i32(v: int) -> int:
    v &= M32
    return v - 0x100000000 if v & 0x80000000 else v


class _Group:
    __slots__ = ("curr", "init", "next", "curr_pos", "curr_weight", "next_weight")

    def __init__(self, weight: int, name: str) -> None:
        self.curr = Tree(name + ".curr")
        self.init = Tree(name + ".t0")
        self.next = Tree(name + ".t1")
        self.curr_pos = self.curr_weight = self.next_weight = weight


class RoundRobin(Balancer):
    name = "roundrobin"
    dynamic = True
    kind = "rr"

    def _build(self) -> None:
        p = self.params
        self.act = _Group(p.tot_wact, "act")
        self.bck = _Group(p.tot_wbck, "bck")
        for s in p.servers:
            if s.lb.usable:
                self._grp(s).init.insert(s, SRV_EWGHT_MAX - s.lb.eweight)

    def _grp(self, s: Any) -> _Group:
        return self.bck if s.backup else self.act

    @staticmethod
    def _dequeue(s: Any) -> None:
        t = s.lb.tree
        if t is not None:
            t.delete(s)

    def _queue_srv(self, s: Any, ew: int, usable: bool) -> None:
        """fwrr_queue_srv: place a server in curr or next according to its next position."""
        grp = self._grp(s)
        n = s.lb
        if not usable:
            self._dequeue(s)
        elif ew <= 0 or n.npos >= 2 * grp.curr_weight or n.npos >= grp.curr_weight + grp.next_weight:
            n.npos = _i32(n.npos - grp.curr_weight)
            grp.next.insert(s, SRV_EWGHT_MAX - ew)
        else:
            grp.curr.insert(
                s, SRV_UWGHT_RANGE * n.npos + ((SRV_EWGHT_MAX + n.rweight - ew) & M32) // BE_WEIGHT_SCALE
            )

    def _get_srv(self, s: Any) -> None:
        """fwrr_get_srv: adjust npos according to the tree the server sits in."""
        grp = self._grp(s)
        n = s.lb
        if n.tree is grp.init:
            n.npos = n.rweight = 0
        elif n.tree is grp.next:
            n.npos = _i32(n.npos + grp.curr_weight)
        elif n.tree is None:
            n.npos = grp.curr_pos

    @staticmethod
    def _start_pos(grp: _Group, ew: int) -> int:
        num = (grp.next_weight + grp.curr_weight - grp.curr_pos) & M32  # int / unsigned in C
        return _i32(grp.curr_pos + num // ew)

    # ------------------------------------------------------------------ state changes
    def update(self, srv: Any, ew: int) -> None:
        n = srv.lb
        p = self.params
        old = n.usable
        new = willbe_usable(srv, ew)
        if not old and not new:
            self.commit(srv, ew)
            return
        grp = self._grp(srv)
        if old and not new:  # fwrr_set_server_status_down
            grp.next_weight -= n.eweight
            p.went_down(srv)
            self._dequeue(srv)
            self.commit(srv, ew)
            p.update_backend_weight()
            return
        if not old and new:  # fwrr_set_server_status_up
            grp.next_weight += ew
            p.went_up(srv, ew)
            self._get_srv(srv)
            n.npos = self._start_pos(grp, ew)
            self._queue_srv(srv, ew, True)
            self.commit(srv, ew)
            p.update_backend_weight()
            return
        if ew == n.eweight:
            self.commit(srv, ew)
            return
        # fwrr_update_server_weight: both usable, weight changed
        grp.next_weight = grp.next_weight - n.eweight + ew
        p.tot_wact = self.act.next_weight
        p.tot_wbck = self.bck.next_weight
        if n.tree is grp.init:
            self._dequeue(srv)
            grp.init.insert(srv, SRV_EWGHT_MAX - ew)
        elif n.tree is None:
            self._get_srv(srv)
            n.npos = self._start_pos(grp, ew)
            self._queue_srv(srv, ew, True)
        else:
            self._get_srv(srv)
            if ew > 0:
                prev_next = n.npos
                step = grp.next_weight // ew
                n.npos = n.lpos + step
                n.rweight = 0
                if n.npos > prev_next:
                    n.npos = prev_next
                if n.npos < grp.curr_pos + 2:
                    n.npos = grp.curr_pos + step
            else:
                n.npos = grp.curr_pos + grp.curr_weight
            self._dequeue(srv)
            self._queue_srv(srv, ew, True)
        self.commit(srv, ew)
        p.update_backend_weight()

    # ------------------------------------------------------------------ selection
    @staticmethod
    def _update_position(grp: _Group, s: Any) -> None:
        n = s.lb
        ew = n.eweight
        if not ew:
            return
        if not n.npos:
            n.npos = grp.curr_pos
        n.lpos = n.npos
        n.npos += grp.next_weight // ew
        n.rweight += grp.next_weight % ew
        if n.rweight >= ew:
            n.rweight -= ew
            n.npos += 1

    @staticmethod
    def _get_from_group(grp: _Group) -> Any:
        c = grp.curr.first()
        if c is not None and c.lb.eweight and c.lb.npos <= grp.curr_pos:
            return c
        i = grp.init.first()
        if i is not None and i.lb.eweight:
            i.lb.npos = i.lb.rweight = 0
            return i
        return c

    def pick(self, req: LbRequest | None, avoid: Any) -> Any:
        # hot path: _get_from_group, _update_position, _dequeue and has_room are inlined here
        p = self.params
        if p.srv_act:
            grp = self.act
        elif p.fbck is not None:
            return p.fbck
        elif p.srv_bck:
            grp = self.bck
        else:
            return None
        switched = False
        avoided = None
        full: list[Any] = []
        srv = None
        take = True
        while True:
            if not grp.curr_weight:
                grp.curr_pos = grp.curr_weight = grp.next_weight
            while True:
                c = grp.curr.first()
                if c is not None and c.lb.eweight and c.lb.npos <= grp.curr_pos:
                    srv = c
                else:
                    i = grp.init.first()
                    if i is not None and i.lb.eweight:
                        i.lb.npos = i.lb.rweight = 0
                        srv = i
                    else:
                        srv = c
                if srv is not None:
                    break
                if switched:
                    break
                switched = True
                grp.init, grp.next = grp.next, grp.init
                grp.curr_weight = grp.next_weight
                grp.curr_pos = grp.curr_weight
            if srv is None:
                if avoided is not None:
                    srv = avoided
                else:
                    take = False
                break
            n = srv.lb
            ew = n.eweight
            if ew:
                if not n.npos:
                    n.npos = grp.curr_pos
                n.lpos = n.npos
                nw = grp.next_weight
                n.npos += nw // ew
                n.rweight += nw % ew
                if n.rweight >= ew:
                    n.rweight -= ew
                    n.npos += 1
            t = n.tree
            if t is not None:
                t.delete(srv)
            grp.curr_pos += 1
            if not srv.maxconn or has_room(srv):
                if srv is not avoid or avoided is not None:
                    break
                avoided = srv
            full.append(srv)
        if take:
            # take stays True only when a server was found: srv is not None here
            self._queue_srv(srv, srv.lb.eweight, srv.lb.usable)  # type: ignore[union-attr]
        if full:
            if switched:
                for f in full:
                    if f is not srv:
                        grp.init.insert(f, SRV_EWGHT_MAX - f.lb.eweight)
            else:
                for f in full:
                    if f is not srv:
                        self._queue_srv(f, f.lb.eweight, f.lb.usable)
        return srv
