"""tcp-response content rules of an HTTP backend, as HAProxy 2.6.12 runs them (measured side by
side with it, tests/integration/test_http_tcp_response_delay_vs_haproxy.py).

2.6 runs them on its HTX message of the response, once the request went:

* first before any response data: ``res.len`` is 0, no status or header yet. Without
  ``tcp-response inspect-delay`` that evaluation is final and decides;
* with the delay, a condition that fails on data that may still grow (``res.len gt N``,
  ``WAIT_END``...) makes the rules wait, and they are evaluated again from the first one (the
  actions before the waiting rule run again) when the response head has been parsed, at each
  later arrival of body data, and a last time, final, once the message is complete, the server
  closed, the buffer is full or the delay ended. While they wait, nothing of the response reaches
  the client and the HTTP analysis (``%Tr``, http-response rules) waits too;
* ``res.len`` is the HTX size of what came (http/htx.py: the head as counted for ``%B``, the body
  de-chunked, 1 more and the trailers once a chunked body ended); ``res.payload``,
  ``res.payload_lv`` and ``res.ssl_hello_type`` find nothing (2.6 has no raw bytes there) and never
  wait; ``status``, ``res.hdr``... see the response once its head is there.

A decision once the head came: accept (or no rule deciding) lets the response go on as usual,
its ``%Tr`` the time of the decision; reject and silent-drop close both sides without a word,
logged ``PD``/``PR`` with ``%Tr`` -1, the bytes received as ``%B``, and status -1 unless a rule
read the response (2.6 then learnt its status); close ends the server side: what came reaches the
client (a complete response as usual, else its start, logged ``SD``, then the client connection
closes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from haproxy_py.actions.base import CLOSE, DROP, REJECT, RuleTxn, run_rules_from
from haproxy_py.http.body import BodyError, body_reader

if TYPE_CHECKING:
    from haproxy_py.engine.http import HttpSession
    from haproxy_py.http.message import ResponseHead


class ResTxn(RuleTxn):
    """The rules' context: notes whether a rule read the response (its status is then logged)."""

    saw_res = False
    payload: bytes | None = None
    payload_final = True
    res_htx = 0

    @property
    def res(self) -> ResponseHead | None:
        r = self._res
        if r is not None:
            self.saw_res = True
        return r

    @res.setter
    def res(self, value: ResponseHead | None) -> None:
        self._res = value


class Inspect:
    """The rules waiting for the response: their context, the rule to go on at (a named defaults
    section's rules then the backend's), the delay's end, and once the head came: the head as
    parsed and what the parser gave with it, the body bytes after it, their reader and HTX size."""

    __slots__ = ("ctx", "pos", "deadline", "t_sent", "resp", "parsed", "rest", "reader", "body_htx",
                 "expired", "eof", "complete")

    def __init__(self, ctx: ResTxn, pos: int, deadline: float, t_sent: float) -> None:
        self.ctx = ctx
        self.pos = pos
        self.deadline = deadline
        self.t_sent = t_sent
        self.resp: ResponseHead | None = None
        self.parsed: tuple[Any, ...] = ()
        self.rest = b""
        self.reader: Any = None
        self.body_htx = 0
        self.expired = False
        self.eof = False
        self.complete = False


def first(s: HttpSession, wall: float) -> str | None:
    """The evaluation before any response data: the verdict's kind (REJECT, DROP, CLOSE), or None
    (accept, no rule deciding, or waiting: then ``s.tres`` holds the state)."""
    rs = s.router.compiled_of(s.be).rs
    ctx = _ctx(s, wall)
    delay = rs.res_inspect_delay
    ctx.payload_final = not delay
    v, pos = run_rules_from(s.be.http_tcp_res, ctx, 0)
    if v is None:
        now = s.loop.time()
        s.tres = Inspect(ctx, _resume_at(pos, rs), now + delay / 1000.0, now)
        return None
    return v.kind if v.kind in (REJECT, DROP, CLOSE) else None


def _resume_at(pos: int, rs: Any) -> int:
    # 2.6.12 evaluates the rules again from the first one; after a wait in a named defaults
    # section's rules it goes on with the backend's own (as engine/stream.py's TCP sessions)
    return rs.tcp_res_def if pos < rs.tcp_res_def else 0


def _ctx(s: HttpSession, wall: float) -> ResTxn:
    txn = s.txn
    assert txn is not None  # made by the caller
    ctx: Any = ResTxn(s.req, s.src_ip, s.src_port, s.rec.frontend_ip, s.rec.frontend_port or 0,
                      s.router.facts, s.router.conf.name, s.be.name, rec=s.rec, sess_vars=txn.sess_vars,
                      now=s.loop.time(), wall=wall, cli_fd=s.cli.fd)
    ctx.vars = txn.vars
    ctx.stkctr = txn.stkctr
    ctx.sess_stkctr = txn.sess_stkctr
    ctx.server = s.srv.name
    ctx.payload = None  # no raw bytes in an HTTP stream: res.payload... find nothing
    ctx.res_htx = 0
    return ctx


def arm(s: HttpSession) -> None:
    """The timer while the rules wait: the delay's end, or the server timeout if it comes first."""
    st = s.tres
    if st is None:  # the rules did not wait
        return
    now = s.loop.time()
    left = st.deadline - now
    tmo = s._srv_timeout()
    if tmo:
        srv_left = (s.last_io or st.t_sent) + tmo / 1000.0 - now
        left = min(left, srv_left)
    s.arm(max(1, int(left * 1000) + 1), lambda: _timer(s))


def _timer(s: HttpSession) -> None:
    st = s.tres
    if s.closed or st is None:
        return
    if s.loop.time() >= st.deadline:
        st.expired = True
        _eval(s, st)
        return
    tmo = s._srv_timeout()
    if tmo and s.loop.time() >= (s.last_io or st.t_sent) + tmo / 1000.0:
        # the server timeout before the delay ended: as without the rules (504 'sH')
        s.tres = None
        s.last_io = 0.0
        s._server_timeout()
        return
    arm(s)


def data(s: HttpSession, data: bytes) -> None:
    """Server data while the rules wait: the head is parsed as usual (``head`` gets it), then the
    body bytes are kept and the rules evaluated again."""
    st = s.tres
    assert st is not None
    if st.resp is None:
        s.resbuf = s.resbuf + data if s.resbuf else data
        s._try_parse_response()
        return
    st.rest += data
    _feed(st, data)
    _eval(s, st)


def head(s: HttpSession, resp: ResponseHead, parsed: tuple[Any, ...], rest: bytes) -> None:
    """The response head parsed (``parsed``: what _took_response needs to go on with it)."""
    st = s.tres
    assert st is not None
    st.resp = resp
    st.parsed = parsed
    st.rest = rest
    st.reader = body_reader(resp.body, resp.content_length)
    st.complete = st.reader.done
    st.ctx.res = resp
    if rest:
        _feed(st, rest)
    _eval(s, st)


def head_size(resp: ResponseHead, nres: int) -> int:
    """The head's size as 2.6 counts it (``nres``: the parser's memo count, -1: none)."""
    if nres >= 0:
        return nres
    from haproxy_py.http import htx

    return resp.htx_len if resp.htx_len >= 0 else htx.response_size(resp.version, resp.reason, resp.headers)


def _feed(st: Inspect, data: bytes) -> None:
    rd = st.reader
    if st.complete:
        return
    try:
        out, done = rd.feed(data)
    except BodyError:
        st.complete = True  # final: the body's error is found when it is forwarded
        return
    st.body_htx += rd.htx(out)
    st.complete = done


def eof(s: HttpSession) -> None:
    """The server closed while the rules wait: a last, final evaluation, then the close goes on."""
    st = s.tres
    assert st is not None
    st.eof = True
    _eval(s, st)
    if not s.closed and s.tres is None and s.srvc is not None:
        s._srv_eof()


def _eval(s: HttpSession, st: Inspect) -> None:
    ctx = st.ctx
    resp = st.resp
    eng = s.engine
    size = 0
    if resp is not None:
        size = head_size(resp, st.parsed[3]) + st.body_htx
    # the buffer full (approximately: 2.6 counts its HTX blocks' room) ends the wait too
    full = resp is not None and resp.head_len + len(st.rest) >= eng.bufsize - eng.maxrewrite
    ctx.payload_final = st.expired or st.eof or st.complete or full
    ctx.res_htx = size
    ctx.now = s.loop.time()
    v, pos = run_rules_from(s.be.http_tcp_res, ctx, st.pos)
    if v is None:  # never once the data is final
        st.pos = _resume_at(pos, s.router.compiled_of(s.be).rs)
        return
    s.tres = None
    kind = v.kind if v.kind in (REJECT, DROP, CLOSE) else None
    if resp is None:
        if kind is not None:
            s._http_tcp_res(kind)
        elif not st.eof:
            tmo = s._srv_timeout()
            if tmo:  # the server timeout, counted from the request as before
                s.last_io = s.last_io or st.t_sent
                s.arm(max(1, int(((s.last_io + tmo / 1000.0) - s.loop.time()) * 1000) + 1), s._server_timeout)
        return
    if kind == REJECT or kind == DROP:
        s.bytes_out += size
        if ctx.saw_res:
            s.rec.status = resp.status
        s._http_tcp_res(kind)
        return
    if kind == CLOSE:
        s.srv_reusable = False
    s._took_response(resp, st.rest, *st.parsed)
    if kind == CLOSE and not s.closed and s.res is resp and not s.res_done and s.srvc is not None:
        # the server side is closed: the client gets what came, then as a server that closed
        s._drop_server_conn()
        s._srv_eof()
