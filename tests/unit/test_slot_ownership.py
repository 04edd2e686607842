"""Server slot ownership in the runtime layer (issue #13), as a property over random histories.

A small fake engine drives the real ``Backend``/``Server``/``Queue`` objects the way engine/stream.py
does: sessions arrive, are served or queued (server queues through a persistence cookie, the backend
queue otherwise), finish, time out in the queue or are aborted by their client; servers go to
maint/drain/ready/down/up, weights and maxconn change at runtime. A dequeue only *grants* a slot:
the owner hears about it later (the engine's ``call_soon``), so between the grant and the wake-up
the owner may time out or leave, the race of the issue.

After every step: each server's slots in use are exactly the sessions holding one there (as far
as the fake engine knows from what the runtime told it), no ended session holds a slot or a queue
place, and no usable server has a free slot while a request it may serve waits (work conservation).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from test_lb_helpers import proxy, request, server

from haproxy_py.config.model import CookieConf
from haproxy_py.lb.base import LbRequest
from haproxy_py.runtime.backend import Backend

CK = CookieConf(name="SRV", mode="insert", indirect=True)
OPS = ("maint", "ready", "drain", "down", "up")


class Sess:
    """A fake engine session: what it believes about its request."""

    __slots__ = ("n", "state", "pend", "srv")

    def __init__(self, n: int) -> None:
        self.n = n
        self.state = "new"  # queued | serving | ended
        self.pend = None
        self.srv = None

    def __repr__(self) -> str:
        return f"<S{self.n} {self.state}>"


class SlotMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.be: Backend | None = None
        self.sessions: list[Sess] = []
        #: wake-ups the runtime asked for and the fake loop has not run yet: (kind, pending)
        self.inflight: list[tuple[str, object]] = []
        self.now = 0.0
        self.count = 0

    # ------------------------------------------------------------------ setup
    @initialize(algo=st.sampled_from(["roundrobin", "leastconn", "first", "static-rr"]),
                maxconns=st.lists(st.integers(1, 3), min_size=2, max_size=3),
                maxqueue=st.sampled_from([0, 0, 2]),
                redispatch=st.booleans())
    def setup(self, algo: str, maxconns: list[int], maxqueue: int, redispatch: bool) -> None:
        srvs = [server(f"s{i + 1}", 21000 + i, maxconn=m, maxqueue=maxqueue, cookie="ABC"[i])
                for i, m in enumerate(maxconns)]
        self.be = Backend(proxy(srvs, algo, cookie=CK, redispatch=1 if redispatch else 0), 0.0)
        self.be.on_pendings = self._wake

    # ------------------------------------------------------------------ the fake engine
    def _wake(self, pendings: list) -> None:  # type: ignore[type-arg]
        for p in pendings:
            self.inflight.append(("dequeued" if p.granted else "requeue", p))

    def _live(self, state: str) -> list[Sess]:
        return [s for s in self.sessions if s.state == state]

    def _end(self, s: Sess) -> None:
        s.state = "ended"
        s.pend = None
        s.srv = None
        self.be.counters.scur -= 1

    def _assign(self, s: Sess, req: LbRequest) -> None:
        be = self.be
        d = be.select(req, self.now, owner=s)
        if d.status == "ok":
            be.take(d.server, self.now, s)
            s.state, s.srv = "serving", d.server
        elif d.status == "queued":
            s.state, s.pend = "queued", d.pending
        else:
            self._end(s)

    def _leave_queue(self, s: Sess) -> None:
        p, s.pend = s.pend, None
        if p is not None:
            self._wake(self.be.cancel(p, self.now))

    def _release(self, s: Sess) -> None:
        nxt = self.be.release(s.srv, self.now, s)
        if nxt is not None:
            self._wake([nxt])

    # ------------------------------------------------------------------ traffic
    @rule(cookie=st.sampled_from([None, None, "A", "B", "C", "Z"]), dt=st.sampled_from([0.0, 0.001, 0.25]))
    def arrive(self, cookie: str | None, dt: float) -> None:
        self.now += dt
        self.count += 1
        s = Sess(self.count)
        self.sessions.append(s)
        self.be.counters.scur += 1
        self._assign(s, request(cookie=cookie))

    @precondition(lambda self: any(s.state == "serving" for s in self.sessions))
    @rule(i=st.integers(0, 1000))
    def finish(self, i: int) -> None:
        live = self._live("serving")
        s = live[i % len(live)]
        self._release(s)
        self._end(s)

    @precondition(lambda self: any(s.state == "queued" for s in self.sessions))
    @rule(i=st.integers(0, 1000))
    def queue_timeout(self, i: int) -> None:
        """The engine's queue timer: a slot granted in the same instant wins (it is taken over)."""
        live = self._live("queued")
        s = live[i % len(live)]
        p = s.pend
        if p is not None and p.granted:
            assert self.be.claim(p)
            s.state, s.srv, s.pend = "serving", p.server, None
            return
        self._leave_queue(s)
        self._end(s)

    @precondition(lambda self: any(s.state in ("queued", "serving") for s in self.sessions))
    @rule(i=st.integers(0, 1000))
    def client_abort(self, i: int) -> None:
        live = [s for s in self.sessions if s.state in ("queued", "serving")]
        s = live[i % len(live)]
        if s.state == "queued":
            self._leave_queue(s)
        else:
            self._release(s)
            self._release(s)  # idempotent: a second release of the same slot changes nothing
        self._end(s)

    @precondition(lambda self: bool(self.inflight))
    @rule(i=st.integers(0, 1000))
    def loop_runs_a_wakeup(self, i: int) -> None:
        kind, p = self.inflight.pop(i % len(self.inflight))
        s = p.owner
        if kind == "dequeued":
            if s.pend is not p or s.state != "queued":
                if p.granted:  # a late wake-up: the slot goes back
                    self._wake(self.be.cancel(p, self.now))
                return
            assert self.be.claim(p)
            s.state, s.srv, s.pend = "serving", p.server, None
        elif s.pend is p and s.state == "queued":  # requeue: its server went away
            s.pend = None
            self._assign(s, LbRequest())

    # ------------------------------------------------------------------ operators
    @rule(k=st.integers(0, 2), op=st.sampled_from(OPS))
    def server_state(self, k: int, op: str) -> None:
        be = self.be
        srv = be.servers[k % len(be.servers)]
        if op == "maint":
            srv.admin.add("FMAINT")
        elif op == "drain":
            srv.admin.discard("FMAINT")
            srv.admin.add("FDRAIN")
        elif op == "ready":
            srv.admin.discard("FMAINT")
            srv.admin.discard("FDRAIN")
        elif op == "down":
            srv.state = "STOPPED"
        else:
            srv.state = "RUNNING"
        be.server_state_changed(srv, self.now)

    @rule(k=st.integers(0, 2), w=st.sampled_from([0, 1, 2, 100]))
    def set_weight(self, k: int, w: int) -> None:
        be = self.be
        be.set_weight(be.servers[k % len(be.servers)], w, self.now)

    @rule(k=st.integers(0, 2), v=st.sampled_from([0, 1, 2, 4]))
    def set_maxconn(self, k: int, v: int) -> None:
        be = self.be
        be.set_maxconn(be.servers[k % len(be.servers)], v, self.now)

    # ------------------------------------------------------------------ invariants
    @invariant()
    def slots_are_owned(self) -> None:
        be = self.be
        if be is None:
            return
        granted_wakeups = {id(p) for kind, p in self.inflight if kind == "dequeued"}
        total = 0
        for srv in be.servers:
            assert srv.anon_slots == 0
            holders = {s for s in self.sessions if s.state == "serving" and s.srv is srv}
            for s in self._live("queued"):
                p = s.pend
                if p is not None and p.granted and p.server is srv:
                    assert id(p) in granted_wakeups, "a slot granted without a wake-up for its owner"
                    holders.add(s)
            assert srv.slot_owners == holders, (srv.name, srv.slot_owners, holders)
            assert srv.served == len(holders)
            total += srv.served
        assert be.served == total

    @invariant()
    def ended_sessions_hold_nothing(self) -> None:
        be = self.be
        if be is None:
            return
        queues = [be.queue] + [srv.queue for srv in be.servers]
        for q in queues:
            owners = [p.owner for p in q]
            assert len(owners) == len(q)
            assert all(o.state == "queued" for o in owners), owners
        for srv in be.servers:
            assert all(o.state != "ended" for o in srv.slot_owners)
        # every waiting session is in a queue, granted, or about to be dispatched again
        requeues = {id(p) for kind, p in self.inflight if kind == "requeue"}
        for s in self._live("queued"):
            p = s.pend
            assert p is not None and (p.active or p.granted or id(p) in requeues), s
            if p.active:
                assert p in list(p.server.queue if p.server is not None else be.queue)

    @invariant()
    def work_conservation(self) -> None:
        be = self.be
        if be is None:
            return
        for srv in be.servers:
            lim = be.dynamic_maxconn(srv)
            if srv.maxconn and srv.served >= lim:
                continue
            # a free slot: nobody may wait for this server ...
            assert not len(srv.queue), (srv.name, srv.served, lim, len(srv.queue))
            # ... nor, when it is usable, in the backend queue
            if srv.lb.usable:
                assert not len(be.queue), (srv.name, srv.served, lim, len(be.queue))


SlotMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=60, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestSlotOwnership = SlotMachine.TestCase


def test_a_dequeue_drops_an_entry_whose_owner_is_closed() -> None:
    """Defence in depth: even an entry left behind by a closed session never gets a slot."""

    class Owner:
        closed = False

    be = Backend(proxy([server("s1", 21000, maxconn=1)], "roundrobin"), 0.0)
    s1 = be.servers[0]
    first, dead, alive = Owner(), Owner(), Owner()
    be.take(s1, 0.0, first)
    p_dead = be.select(LbRequest(), 1.0, owner=dead).pending
    p_alive = be.select(LbRequest(), 2.0, owner=alive).pending
    assert p_dead is not None and p_alive is not None
    dead.closed = True  # ended without cancel()
    assert be.release(s1, 3.0, first) is p_alive
    assert s1.slot_owners == {alive} and not p_dead.granted and len(be.queue) == 0
