"""mode http: one client connection, one transaction at a time (keep-alive, server-close, close).

Per request: read and parse the head (http/parse.py) -> stats page / http-request rules ->
content switching (Router.route) -> persistence cookie and server selection (runtime Backend) ->
queue / connect with retries -> forward head and body (http/body.py framing) -> parse and rewrite
the response -> forward its body -> log -> next request or close. Upgrades (101) become tunnels.
"""

from __future__ import annotations

import functools
import socket
import time
from typing import TYPE_CHECKING, Any

from haproxy_py.actions.base import (
    CLOSE,
    CONTINUE,
    DENY,
    DROP,
    REJECT,
    REPLY,
    REWRITE_FAIL,
    SERVICE,
    STOP,
    TARPIT,
    WAIT_BODY,
    WAIT_RESOLVE,
    RuleTxn,
    Verdict,
    resume_rules,
    rule_index,
    run_rules,
)
from haproxy_py.checks.probes import observe_http_ok
from haproxy_py.conn.errors import SSL_FATAL
from haproxy_py.engine import http_tcpres
from haproxy_py.engine.bodysplice import SPLICE_MIN, BodySplice
from haproxy_py.engine.conn import HIGH_WATER, Conn
from haproxy_py.engine.fcgi import FcgiConn, app_for
from haproxy_py.engine.pool import POOLS
from haproxy_py.engine.stream import Stream, _addr_str, hash_sample
from haproxy_py.engine.taskprof import ProfConn, TaskProf
from haproxy_py.engine.tcp import is_ssl_error, splice_enabled
from haproxy_py.http import compression as hcomp
from haproxy_py.http import cookie as hcookie
from haproxy_py.http import errors as herrors
from haproxy_py.http import htx
from haproxy_py.http.body import (
    BodyError,
    ChunkedBody,
    CloseBody,
    ContentLengthBody,
    NoBody,
    body_reader,
    check_chunked,
    chunked_tail,
    dechunk,
)
from haproxy_py.http.h1case import adjust_head
from haproxy_py.http.message import (
    BODY_CHUNKED,
    BODY_CLOSE,
    BODY_LENGTH,
    BODY_NONE,
    RequestHead,
    ResponseHead,
)
from haproxy_py.http.parse import H2_PREFACE, ParseError, buffer_size, head_room, parse_response
from haproxy_py.http.rewrite import (
    MODE_CLOSE,
    MODE_KEEP_ALIVE,
    ForwardForRule,
    prepare_request,
    prepare_response,
)
from haproxy_py.lb.base import LbRequest
from haproxy_py.log.format import LogRecord, set_term
from haproxy_py.samples.fetches import KEEP_REQUEST_LINE
from haproxy_py.samples.txn import PROC_VARS, Vars, release_vars
from haproxy_py.stick import persist
from haproxy_py.stick.track import count_bytes, count_http, release_all

#: how much of the request line the logs keep: 'tune.http.logurilen N' keeps N characters, and
#: 2.6's default (1024) keeps 1023; set by the engine
REQURI_LEN = [1023]

if TYPE_CHECKING:  # pragma: no cover
    from haproxy_py.engine.router import Router

_wall = time.time

# A proxy's compiled helpers (rule sets, error pages, forwardfor rule) are built once with the
# Engine: ``Router.compiled`` (the frontend's), ``Router.compiled_of(be)`` (a backend's).

# The head memo (http/memo.py): heads parsed and rewritten once per exact bytes, one memo of each
# kind per frontend (Router.req_memo, Router.res_memo). A memoised request head is shared
# read-only: whoever changes the request takes a private copy first (``HttpSession._own_req``).


#: the log record of every idle keep-alive connection (HttpSession._idle_rec): never filled nor
#: logged; the connection's next request gets a fresh one at its first byte
IDLE_REC = LogRecord(0.0)


def _ctx(req: RequestHead | None, s: HttpSession) -> RuleTxn:
    be = s.be
    sv = s.sess_vars
    if sv is None:
        sv = s.sess_vars = Vars()  # the connection's "sess" variables, shared by its requests
    lst = s.listener
    t = RuleTxn(req, s.src_ip, s.src_port, s.rec.frontend_ip, s.rec.frontend_port or 0,
                s.router.facts, s.router.conf.name, be.name if be is not None else "",
                now=s.loop.time(), wall=_wall(), rec=s.rec, sess_vars=sv, first_req=s.nreq <= 1,
                so_id=lst.luid, so_name=lst.name, cli_fd=s.cli.fd)
    router = s.router
    uid_fmt = router.uid_fmt
    if uid_fmt is not None:
        t.uid_fmt = uid_fmt
    if router.cap_rules:
        t.caps = router.caps
    if s.sess_stkctr is not None:
        t.sess_stkctr = s.sess_stkctr
    if s.tprof is not None:
        t.task = s.tprof
    if req is not None and s.buf and not s.head_sent:
        # the body bytes that came with the head: in 2.6's buffer already, they take rewrites'
        # room (http/htx.py request_held, at the first sized rewrite)
        t.req_buf = s.buf
    return t


def _with_head(resp: Any, rest: bytes) -> int:
    """The response body bytes that came with its head (what 2.6's buffer holds then)."""
    if resp.body == BODY_LENGTH:
        return min(len(rest), resp.content_length)
    return len(rest) if resp.body == BODY_CLOSE else 0


def _first_timeout(a: int | None, b: int | None) -> int | None:
    """The earlier of two timeouts in ms (None or 0: not set)."""
    return min(a, b) if a and b else a or b


class HttpSession(Stream):
    __slots__ = ("cli", "srvc", "buf", "req", "reqbody", "resbuf", "res", "resbody", "phase",
                 "mode", "keep_client", "srv_reusable", "req_done", "res_done", "nreq",
                 "req_start", "bytes_in", "bytes_out", "srv_owner", "cli_eof", "head_sent", "cs_in", "cs_out",
                 "cookie_ops",
                 "t_req_head", "paused_cli", "srv_counted", "last_io", "ff_rule", "name_hdr",
                 "req_key", "req_shared", "txn", "res_rules", "sess_vars", "w_pending",
                 "srv_uses", "priv_conns", "ot_rule", "hold", "comp_algo", "comp_types", "res_comp",
                 "comp", "comp_chunks", "res_hold", "splicer", "tcp_done", "up_be", "cache_tap",
                 "l7", "tprof", "tres", "mute_next", "res_early", "rec_facts")

    def __init__(self, router: Router, sock: socket.socket, peer: Any, listener: Any) -> None:
        super().__init__(router, sock, peer, listener)
        #: task profiling counters (engine/taskprof.py): ProfHttpSession's, else None
        self.tprof: TaskProf | None = None
        self.cli = Conn(self.loop, sock, self)  # its callbacks are _cli_data... (engine/conn.py)
        if router.conf.nolinger:
            self.cli.nolinger = True
        self.srvc: Conn | None = None
        self.srv_owner: Any = None  # the server the kept-alive srvc belongs to
        self.buf = b""
        self.req: RequestHead | None = None
        self.reqbody: Any = None
        self.resbuf = b""
        self.res: ResponseHead | None = None
        self.resbody: Any = None
        #: (rest, decoder, its feed(rest)): the chunked bytes that came with the response head,
        #: decoded once when they were checked (_try_parse_response), for _send_response
        self.res_early: tuple[bytes, ChunkedBody, tuple[bytes, bool]] | None = None
        self.phase = "idle"
        self.mode = MODE_KEEP_ALIVE
        self.keep_client = True
        #: after a 502 of a server that closed before its response: 2.6 keeps the client
        #: connection idle (timeout http-keep-alive) but closes it, silently, on its next request
        self.mute_next = False
        self.srv_reusable = False
        self.req_done = False
        self.res_done = False
        self.nreq = 0
        self.req_start = self.accept_mono
        self.bytes_in = 0
        self.bytes_out = 0
        #: what 'option contstats' counted already on the proxies and the server (the heads)
        self.cs_in = self.cs_out = 0
        self.cli_eof = False
        self.head_sent = False
        self.cookie_ops: Any = None
        self.t_req_head = 0.0
        self.paused_cli = False
        self.srv_counted = False
        self.last_io = 0.0
        self.ff_rule: ForwardForRule | None = None
        self.name_hdr: bytes | None = None
        #: option originalto of the frontend and the backend (http/features.py), None without it
        self.ot_rule: Any = None
        #: a request held until its body came (wait-for-body, http-buffer-request), else None
        self.hold: Any = None
        #: the request's head bytes while the request is as parsed (memo key), else None
        self.req_key: bytes | None = None
        #: ``req`` is the memo's shared object: copy it before any change (``_own_req``)
        self.req_shared = False
        #: the rules' context of the current transaction (None when no rule reads it)
        self.txn: RuleTxn | None = None
        #: (backend http-response, frontend http-response, backend http-after-response, frontend
        #: http-after-response) rules of the current transaction, None when there are none
        self.res_rules: Any = None
        #: a response cache-store keeps (http/cache.py): [cache, (expire, age, last-modified),
        #: stored time, status, reason, version, headers, body so far, expected length]
        self.cache_tap: list[Any] | None = None
        self.sess_vars: dict[str, Any] | None = None
        #: bytes waiting toward the client when its write timer was (re)armed
        self.w_pending = 0
        #: requests the current server connection carried, this one included (engine/pool.py)
        self.srv_uses = 0
        #: http-reuse never: this session's private idle server connections, by server
        self.priv_conns: dict[Any, tuple[Conn, int]] | None = None
        #: compression (http/compression.py): the algorithm the request allows and the types,
        #: set only when some proxy compresses; the algorithm the response goes through
        #: (res.comp), its Compressor, and the ChunkedPayload reading a chunked server body
        self.comp_algo: str | None = None
        self.comp_types: tuple[bytes, ...] = ()
        self.res_comp: str | None = None
        self.comp: Any = None
        self.comp_chunks: Any = None
        #: a response held by http-response wait-for-body: [head, bytes after it, server status,
        #: its counted size, compression, (rule set, rule) to resume at, at-least, limit, eof]
        self.res_hold: list[Any] | None = None
        #: the response body going through splice() (engine/bodysplice.py), else None
        self.splicer: BodySplice | None = None
        #: upgraded from TCP (Router.upgrade): the first request's tcp-request content rules ran
        #: already; the backend the TCP routing chose for it (None: routed here)
        self.tcp_done = False
        self.up_be: Any = None
        #: a request kept for a layer 7 retry (retry-on): (the client bytes of its body and what
        #: followed when it was sent, the request, bytes_in then, the length of those bytes that
        #: were left over), else None (see _l7_keep)
        self.l7: tuple[bytes, RequestHead, int, int] | None = None
        #: tcp-response content rules waiting for the response (engine/http_tcpres.py), else None
        self.tres: http_tcpres.Inspect | None = None
        #: while an idle keep-alive connection waits for its next request (``rec`` is then the
        #: shared IDLE_REC): what that request's log record starts with, else None (_idle_rec)
        self.rec_facts: tuple[Any, ...] | None = None

    # ================================================================== client side
    def start(self) -> None:
        l4 = self.router.l4_txn
        if l4 is not None:  # what the tcp-request connection/session rules set
            from haproxy_py.engine.stream import adopt_addresses

            self.router.l4_txn = None
            adopt_addresses(self, l4)
            self.sess_vars = l4.sess_vars
            self.sess_stkctr = l4.sess_stkctr
        self.cli.read_on()
        self._wait_request(first=True)

    def upgraded_start(self) -> None:
        """start() for a session upgraded from TCP (Router.upgrade): what the client sent is
        parsed at once."""
        self.cli.read_on()
        self._wait_request(first=True)

    def _timeouts(self) -> Any:
        return self.router.conf.timeouts

    def _wait_request(self, *, first: bool) -> None:
        self.phase = "head"
        now = self.req_start = self.loop.time()
        router = self.router
        if not first:
            # the next request's stream starts now (2.6 makes a new one at the end of the last):
            # what the wait logs (a 408, a bad or partial request) has none of the last request's
            # facts, and an idle connection keeps none of them (its request line, captures...)
            self.accept_mono = now
            if not self.sess_vars:
                self.sess_vars = None  # the next request's rules make it again if they need it
            self._idle_rec()
        self.arm(router.tmo_first if first else router.tmo_ka, "_head_timeout")
        if self.buf:
            if self.mute_next:
                self._close_all()
                return
            if self.rec_facts is not None:
                self._new_rec()
            self._try_parse()

    def _idle_rec(self) -> None:
        """Between two requests the connection holds no log record (464 bytes and what the last
        request left in it): only the connection's facts and the wait's date, which the next
        request's fresh record starts with (``_new_rec``, at its first byte)."""
        old = self.rec
        if old is IDLE_REC:
            return
        self.rec_facts = (old.client_ip, old.client_port, old.frontend_ip, old.frontend_port,
                          old.frontend_name, old.ssl, old.pp, _wall())
        self.rec = IDLE_REC

    def _new_rec(self) -> None:
        """The fresh log record of the connection's next request: the connection's facts only."""
        f = self.rec_facts
        assert f is not None  # _idle_rec kept them
        self.rec_facts = None
        rec = LogRecord(f[7])
        rec.client_ip = f[0]
        rec.client_port = f[1]
        rec.frontend_ip = f[2]
        rec.frontend_port = f[3]
        rec.frontend_name = f[4]
        rec.ssl = f[5]
        rec.pp = f[6]
        self.rec = rec

    def _head_timeout(self) -> None:
        self.timer = None
        if self.phase != "head" or self.closed:
            return
        if not self.buf and (self.nreq or self.router.conf.option("http-ignore-probes")):
            # idle keep-alive connection, or a probe under option http-ignore-probes: closed silently
            self._close_all()
            return
        rec = self.rec
        set_term(rec, "c", "R")
        rec.got_data = bool(self.buf)  # dontlognull keeps a partial request's line
        page = herrors.mux_error(408)
        rec.status = 408
        rec.bytes_out = herrors.log_bytes(page, mux=True)
        # 2.6 counts it as a request in error (req_tot, ereq, hrsp_4xx, CumReq)
        fc = self.fe.counters
        fc.req_tot += 1
        fc.ereq += 1
        fc.count_status(408)
        if (lc := self.listener.counters) is not None:  # option socket-stats
            lc.ereq += 1
        self.engine.state.cum_req += 1
        self._log(rec, error=True)
        self.cli.write(self._cli_case(page))
        self.keep_client = False
        self._close_after_write()

    def _cli_data(self, data: bytes) -> None:
        if self.phase == "head":
            if self.mute_next:
                self._close_all()
                return
            if self.rec_facts is not None:  # the next request's first bytes
                self._new_rec()
            self.buf = self.buf + data if self.buf else data
            self._try_parse()
        elif self.phase == "wait_body":
            self.buf = self.buf + data if self.buf else data
            self._check_hold()
        elif self.phase in ("body", "wait_server"):
            self._request_body_data(data)
        elif self.phase == "tunnel":
            self.bytes_in += len(data)
            if self.srvc is not None:
                self.srvc.write(data)
                if self.srvc.pending > HIGH_WATER:
                    self.cli.read_off()
        else:
            # pipelined data while a response is in flight: keep it for later
            self.buf = self.buf + data if self.buf else data
            if len(self.buf) > self.engine.bufsize:
                self.cli.read_off()
                self.paused_cli = True

    def _cli_eof(self) -> None:
        self.cli_eof = True
        if self.phase == "wait_body":
            self.hold = None
            self._abort("C", "R")
            return
        if self.phase == "head":
            if not self.buf and self.nreq == 0 and self.router.conf.option("http-ignore-probes"):
                self._close_all()  # a probe: no log, no error counted (2.6)
                return
            if self.buf or self.nreq == 0:
                # a partial request, or a connection that never sent one, then close: HAProxy
                # counts a 400 (req_tot, ereq, hrsp_4xx) and logs CR-- "<BADREQ>" (dontlognull
                # drops the empty one)
                self._partial_request_end()
                # and answers it with the HTTP/1 layer's 400 before closing (probed live)
                self.cli.write(self._cli_case(herrors.mux_error(400)))
                self.keep_client = False
                self._close_after_write()
                return
            self._close_all()
        elif self.phase == "tunnel":
            if self.srvc is not None:
                self.srvc.shutdown_write()
            self._maybe_end_tunnel()
        elif self.phase in ("body", "wait_server") and self.reqbody is not None and not self.req_done:
            try:
                out = self.reqbody.eof()
            except BodyError:
                self._abort("C", "D" if self.srv is not None else "R")
                return
            if out:
                self._send_body(out)
            self.req_done = True
        elif (self.phase in ("queue", "connect", "body", "wait_server") and self.req_done and self.res is None
              and self.be is not None and self.be.conf.option("abortonclose")):
            # option abortonclose: the client closed its side before the answer: in the queue or
            # while connecting the request is dropped (CQ/CC, nothing sent); once it went to the
            # server, 2.6 answers 400 and logs CH
            if self.phase in ("body", "wait_server"):
                self.be.counters.cli_abrt += 1
                self._drop_server_conn()
                self.keep_client = False
                self._local_error(400, "C", "H")
            else:
                self._abort("C", "Q" if self.phase == "queue" else "C")
        elif self.phase in ("queue", "connect"):
            # client gave up while waiting: abort (HAProxy keeps going unless abortonclose; we
            # keep going too when the request is complete, since a half-closed client may wait)
            if not self.req_done:
                self._abort("C", "Q" if self.phase == "queue" else "C")

    def _partial_request_end(self) -> None:
        rec = self.rec
        set_term(rec, "C", "R")
        rec.status = 400
        rec.request_line = None
        rec.got_data = bool(self.buf)  # dontlognull keeps a partial request's line
        fc = self.fe.counters
        fc.req_tot += 1
        fc.ereq += 1
        fc.count_status(400)
        if (lc := self.listener.counters) is not None:  # option socket-stats
            lc.ereq += 1
        self.engine.state.cum_req += 1
        if self.sess_stkctr is not None:
            self._stick_bad_request()
        self._log(rec, error=True)

    def _cli_error(self, exc: BaseException) -> None:
        self.cli_eof = True
        if self.phase in ("head", "idle") and not self.buf:
            if (self.phase == "head" and self.nreq == 0 and not is_ssl_error(exc)
                    and not self.router.conf.option("http-ignore-probes")):
                # reset before its first request: 2.6 counts and logs it as the close above
                # (400, ereq, CR-- "<BADREQ>"; dontlognull drops the line), nothing to answer
                self._partial_request_end()
                self.keep_client = False
            self._close_all()
            return
        if is_ssl_error(exc):
            # the client connection's TLS layer failed (a bad record): 2.6's CO_ERR_SSL_FATAL
            # (fc_err 43); a partial request is then logged as a bad one, CR 400
            self.rec.fc_err = SSL_FATAL
            if self.phase == "head":
                self._partial_request_end()
                self.keep_client = False
                self._close_all()
                return
        self._abort("C", self._phase_letter())

    def _cli_drained(self) -> None:
        # the client took what we had: resume reading from the server
        phase = self.phase
        if phase == "drain":
            self._drained_next()
            return
        if self.srvc is not None and not self.srvc.closed and phase in ("resbody", "reshead", "tunnel"):
            self.srvc.read_on()
            if self.t_cb == self._cli_write_timeout:
                self.arm(self._srv_timeout(), self._server_timeout)

    def _cli_blocked(self) -> None:
        """The client takes the response slower than the server sends it: stop reading the server.
        From now on the client's inactivity counts (timeout client), not the server's: in 2.6 a full
        buffer stops the server-side read timer while the client-side write timer runs."""
        c = self.srvc
        if c is not None:
            c.read_off()
        self.w_pending = self.cli.pending
        self.arm(self._timeouts().client, self._cli_write_timeout)

    def _cli_write_timeout(self) -> None:
        if self.closed:
            return
        cli = self.cli
        if cli.pending < self.w_pending:
            # the client took some of it: its inactivity starts again
            self.w_pending = cli.pending
            self.arm(self._timeouts().client, self._cli_write_timeout)
            return
        set_term(self.rec, "c", "D")
        self.keep_client = False
        self._finish_request(abort=True)

    def _phase_letter(self) -> str:
        return {"head": "R", "queue": "Q", "connect": "C", "wait_server": "H", "reshead": "H",
                "body": "H", "resbody": "D", "tunnel": "D"}.get(self.phase, "D")

    # ================================================================== request head
    def _try_parse(self) -> None:
        eng = self.engine
        buf = self.buf
        try:
            res = self.router.req_memo.parse(buf, bufsize=eng.bufsize, maxrewrite=eng.maxrewrite,
                                             maxhdr=eng.maxhdr)
        except ParseError as e:
            res = self._relaxed_request(e) if self.router.accept_invalid_req else None
            if res is None:
                self._bad_request(e.status, e.pos, stream=e.reason is H2_PREFACE)
                return
        if not res:
            if len(buf) >= (cap := head_room(eng.bufsize)):
                self._bad_request(400, cap)
            return
        req, consumed, size, key = res
        if req.body == BODY_CHUNKED and len(buf) > consumed and self._bad_early_body(buf, consumed):
            return
        self.buf = buf[consumed:]
        # a memo key: ``req`` is the memo's, shared (http/memo.py)
        self.req_key = key
        self.req_shared = key is not None
        self.bytes_in += size
        self._got_request(req)

    def _relaxed_request(self, e: ParseError) -> Any:
        """option accept-invalid-http-request: the head the strict parser refused, read as 2.6
        relaxes it (http/relaxed.py); None: still invalid (``e`` is then the error answered),
        ``False``: incomplete."""
        from haproxy_py.http.relaxed import parse_request_relaxed

        eng = self.engine
        found: list[int] = []
        try:
            got = parse_request_relaxed(self.buf, 0, bufsize=eng.bufsize, maxrewrite=eng.maxrewrite,
                                        maxhdr=eng.maxhdr, errs=found)
        except ParseError as e2:
            e.status, e.pos, e.reason = e2.status, e2.pos, e2.reason
            return None
        if got is None:
            return False
        req, consumed = got
        if found:  # 2.6 still captures what it let through
            self._record_error(found[0], consumed)
        return req, consumed, htx.request_size(req.method, req.uri, req.version, req.headers,
                                               req.conn_close or req.conn_keep_alive), None

    def _bad_early_body(self, buf: bytes, consumed: int) -> bool:
        """2.6 parses the body bytes that came with the head before the request goes anywhere: a
        chunked body already invalid there gets the HTTP/1 layer's 400 and no server sees it."""
        try:
            check_chunked(buf[consumed:consumed + self.engine.bufsize])
        except BodyError as e:
            self._bad_request(400, consumed + e.pos)
            return True
        return False

    def _own_req(self) -> RequestHead:
        """The request, private to this session and about to be changed (no longer memo-keyed)."""
        req = self.req
        assert req is not None  # a request is there
        if self.req_shared:
            req = self.req = req.copy()
            self.req_shared = False
        self.req_key = None
        return req

    def _bad_request(self, status: int, pos: int, *, stream: bool = False) -> None:
        """``stream``: 2.6 answers this one through the stream (an HTTP/2 preface): its page in
        lower case with ``connection: close``, logged with its size."""
        rec = self.rec
        rec.t_request = -1
        set_term(rec, "P", "R")
        rec.status = status
        rec.request_line = None
        rec.got_data = True  # logged even with dontlognull, as 2.6 does
        mux = status in (400, 408, 413) and not stream
        if mux:
            page = herrors.mux_error(status)
        else:
            page = self.router.compiled.pages.response(status, txn=_ctx(None, self))
            if stream:
                page = herrors.with_close(page)
        rec.bytes_out = herrors.log_bytes(page, mux=mux)
        fe = self.fe
        fe.counters.req_tot += 1  # 2.6 counts the bad request as a request too
        self.engine.state.cum_req += 1
        fe.counters.ereq += 1
        fe.counters.count_status(status)
        if (lc := self.listener.counters) is not None:  # option socket-stats
            lc.ereq += 1
        self._record_error(pos)
        if self.sess_stkctr is not None:
            self._stick_bad_request()
        self._log(rec, error=True)
        self.cli.write(self._cli_case(page))
        self.keep_client = False
        self._close_after_write()

    def _record_error(self, pos: int, parsed: int = -1, *, buf: bytes | None = None, in_backend: bool = False) -> None:
        """A ``show errors`` capture of the request buffer (``parsed``: the head's end when it was
        accepted by accept-invalid-http-request, else the error's place is where 2.6 stopped);
        ``buf``: another view of it (a body decoder's), ``in_backend``: the backend the stream is
        in is named (2.6 names no server there)."""
        be = self.be if in_backend else None
        self.engine.state.capture_error({
            "when": _wall(), "kind": "request", "frontend": self.router.conf.name,
            "fe_iid": self.router.conf.uuid, "backend": be.name if be is not None else "<NONE>",
            "be_iid": be.uuid if be is not None else -1, "server": "<NONE>",
            "srv_id": -1, "src": f"{self.src_ip}:{self.src_port}",
            **self._captured(self.buf if buf is None else buf, pos, parsed),
        })

    def _record_res_error(self, buf: bytes, pos: int, parsed: int = -1) -> None:
        """A ``show errors`` capture of a server's response head (refused, or accepted only by
        accept-invalid-http-response), in its backend."""
        srv = self.srv
        self.engine.state.capture_error({
            "when": _wall(), "kind": "response", "frontend": self.router.conf.name,
            "fe_iid": self.router.conf.uuid, "backend": self.be.name, "be_iid": self.be.uuid,
            "server": srv.name if srv is not None else "<NONE>",
            "srv_id": srv.puid if srv is not None else -1, "src": f"{self.src_ip}:{self.src_port}",
            **self._captured(buf, pos, parsed),
        })

    def _captured(self, buf: bytes | bytearray, pos: int, parsed: int) -> dict[str, Any]:
        """What a ``show errors`` capture holds of a head: as much as 2.6 buffers, the error's
        place, the buffer's size (tune.bufsize rounded as 2.6 sizes its buffers)."""
        bufsize = self.engine.bufsize
        return {"buf": herrors.as_captured(bytes(buf[:head_room(bufsize)]), pos if parsed < 0 else parsed),
                "err_pos": pos, "size": buffer_size(bufsize)}

    def _got_request(self, req: RequestHead) -> None:
        self.t_cb = None  # disarm
        now = self.loop.time()
        router = self.router
        nreq = self.nreq = self.nreq + 1
        self.req = req
        self.res = None
        self.resbuf = b""
        self.res_early = None
        self.req_done = False
        self.res_done = False
        self.head_sent = False
        self.prev_srv = None
        self.attempt = 0
        self.persistent = False
        self.prst = ""
        self.stick_srv = self.stick_stores = self.use_srv = None
        self.cookie_ops = None
        self.t_req_head = now
        rec = self.rec
        lg = router.logger
        logging = lg is not None and lg.active
        if nreq > 1:
            start = self.accept_mono = self.req_start
            if logging:
                # a fresh record per request on a kept-alive connection (made at its first byte,
                # _cli_data), dated by its head
                rec.accept_date = _wall()
            if router.upgraded and lg is not None and lg.default_line:
                router._log_connect(self.cli.sock, self.peer_addr())  # 2.6: each request is a new stream
        else:
            start = self.accept_mono
        rec.http = True
        rec.t_request = int((now - start) * 1000)
        if logging or router.uid_fmt is not None or KEEP_REQUEST_LINE[0]:
            line = req.method + b" " + req.uri + b" " + req.version
            if len(line) > REQURI_LEN[0]:
                line = line[:REQURI_LEN[0]]
            rec.request_line = line.decode("latin-1")
        caps = router.caps
        if caps is not None:  # capture request header: the request as parsed, before any rule
            rec.req_caps = caps.request_headers(req.headers)
            rec.res_caps = caps.blank()[1]
        st = self.engine.state
        if router.uid_fmt is not None:
            rec.req_counter = st.cum_req  # %rt: the request's number in the process, from 0
        st.cum_req += 1
        fc = self.fe.counters
        fc.req_tot += 1
        fc.req_rate.add(now)
        body = req.body
        self.reqbody = NoBody() if body == BODY_NONE else body_reader(body, req.content_length)
        self.mode = router.fe_mode if not self.engine.stopping else MODE_CLOSE  # (soft-stop: close)
        self.res_rules = None
        self.cache_tap = None
        # --- the frontend's tcp-request content then http-request rules
        if router.req_rules:
            req = self._own_req()  # rules may change the request
        ctx = self.txn = _ctx(req, self) if router.needs_ctx else None
        if router.stick and not router.req_rules and self.sess_stkctr is not None:
            from haproxy_py.stick.track import count_list

            count_list(self.sess_stkctr, "http_req_cnt", "http_req_rate", int(now * 1000))
        if router.req_rules:
            assert ctx is not None  # rules make needs_ctx true
            if router.rs.tcp_content:
                if self.tcp_done:  # upgraded from TCP: they ran on this request's data already
                    self.tcp_done = False
                else:
                    v = run_rules(router.rs.tcp_content, ctx)
                    if v.kind == WAIT_RESOLVE:
                        w = self._tcp_resolve(req, ctx, v)
                        if w is None:
                            return
                        v = w
                    if v.kind == REJECT or v.kind == DROP:
                        self._req_verdict(v)
                        return
            if router.stick and (ctx.stkctr is not None or ctx.sess_stkctr is not None):
                count_http(ctx, "http_req_cnt", "http_req_rate")  # 2.6: a new request on them
        # the same as _after_tcp_content (kept inline here: the hot path pays no extra call)
        if router.monitor is not None and router.monitor.matches(req):
            self._monitor(ctx)
            return
        if router.body is not None:  # option http-buffer-request, or rules that read the body
            if router.body and body != BODY_NONE and not self._body_in(req, ctx, 0, 0):
                self._hold_body(req, ctx, router.tmo_body, 0, lambda: self._fe_rules(req, ctx, 0))
                return
            if ctx is not None and ctx.req_body is None:
                self._body_in(req, ctx, 0, 0)
        self._fe_rules(req, ctx, 0)

    def _tcp_resolve(self, req: RequestHead, ctx: Any, v: Verdict) -> Verdict | None:
        """A tcp-request content do-resolve (``v``): with an inspect-delay the rules wait for the
        answer (None: resumed by _tcp_resumed); without one 2.6 evaluates them for the last time
        and never waits, the rules go on at once. Returns the verdict of the rules that follow."""
        rules = self.router.rs.tcp_content
        while v.kind == WAIT_RESOLVE:
            nxt = rule_index(rules, v) + 1
            if self.router.rs.inspect_delay:
                self.do_resolve(ctx, rules[nxt - 1][1], functools.partial(self._tcp_resumed, req, ctx, nxt))
                return None
            ctx.resolve_name = None
            v = resume_rules(rules, ctx, nxt)
        return v

    def _tcp_resumed(self, req: RequestHead, ctx: Any, start: int) -> None:
        v: Verdict | None = resume_rules(self.router.rs.tcp_content, ctx, start)
        if v is not None and v.kind == WAIT_RESOLVE:
            v = self._tcp_resolve(req, ctx, v)
        if v is None:
            return
        if v.kind == REJECT or v.kind == DROP:
            self._req_verdict(v)
            return
        self._after_tcp_content(req, ctx)

    def _after_tcp_content(self, req: RequestHead, ctx: Any) -> None:
        """What follows the tcp-request content rules once a do-resolve among them is answered
        (the end of _got_request, which keeps its own inline copy)."""
        router = self.router
        if router.req_rules and router.stick and (ctx.stkctr is not None or ctx.sess_stkctr is not None):
            count_http(ctx, "http_req_cnt", "http_req_rate")  # 2.6: a new request on them
        body = req.body
        if router.monitor is not None and router.monitor.matches(req):
            self._monitor(ctx)
            return
        if router.body is not None:  # option http-buffer-request, or rules that read the body
            if router.body and body != BODY_NONE and not self._body_in(req, ctx, 0, 0):
                self._hold_body(req, ctx, router.tmo_body, 0, lambda: self._fe_rules(req, ctx, 0))
                return
            if ctx is not None and ctx.req_body is None:
                self._body_in(req, ctx, 0, 0)
        self._fe_rules(req, ctx, 0)

    def _fe_rules(self, req: RequestHead, ctx: Any, start: int) -> None:
        """The frontend's http-request rules (from the rule at ``start``: resumed after a
        wait-for-body), its stats page and redirect rules, then the backend."""
        router = self.router
        rec = self.rec
        if router.req_rules:
            rs = router.rs
            if rs.http_req:
                v = run_rules(rs.http_req, ctx) if not start else resume_rules(rs.http_req, ctx, start)
                if ctx.wrew:
                    self._count_wrew(ctx, False)
                if ctx.early_hints:
                    self._send_early_hints(ctx)
                if v.kind != CONTINUE and v.kind != STOP:
                    if v.kind == WAIT_BODY:
                        nxt = rule_index(rs.http_req, v) + 1
                        self._wait_for_body(req, ctx, rs.http_req[nxt - 1][1],
                                            lambda: self._fe_rules(req, ctx, nxt))
                        return
                    if v.kind == WAIT_RESOLVE:
                        nxt = rule_index(rs.http_req, v) + 1
                        self.do_resolve(ctx, rs.http_req[nxt - 1][1], lambda: self._fe_rules(req, ctx, nxt))
                        return
                    self._req_verdict(v)
                    return
            if ctx.src is not self.src_ip or ctx.src_port != self.src_port or ctx.dst is not rec.frontend_ip \
                    or ctx.dst_port != rec.frontend_port:
                self._take_addresses(ctx)
            if ctx.cache_hit is not None:  # the frontend's cache-use found it: no backend, as 2.6
                self._serve_cached(ctx)
                return
        # --- stats page on the frontend itself (listen/frontend with stats enable)
        conf = router.conf
        if conf.stats.enabled and self._is_stats_uri(req, conf):
            self._serve_stats(req, conf)
            return
        # --- the legacy "redirect" rules: after every http-request rule and the stats page
        if router.req_rules and router.rs.redirect:
            v = run_rules(router.rs.redirect, ctx)
            if v.kind != CONTINUE:
                self._req_verdict(v)
                return
        if router.rules:
            be = router.route(ctx) if self.up_be is None else self.up_be
            self.up_be = None
        else:
            be = router.default_backend
        if be is None:
            rec.backend_name = None
            self._local_error(503, "S", "C", nosrv=True)
            return
        if router.upgraded and be.conf.mode != "http":
            # 2.6: an HTTP stream never goes to a TCP backend: closed without a word, logged 'IR'
            rec.backend_name = be.name
            set_term(rec, "I", "R")
            self._log(rec, error=True)
            self.keep_client = False
            self._close_all()
            return
        self._enter_backend(be, req, ctx)

    # ------------------------------------------------------------------ waiting for the body
    def _body_in(self, req: RequestHead, ctx: Any, at_least: int, limit: int) -> bool:
        """Put the body bytes that arrived (de-chunked) in the rules' context; True when the body
        is complete, or has ``at_least`` bytes (when set), or fills ``limit`` bytes of buffer."""
        if req.body == BODY_NONE:
            got, done = b"", True
        else:
            probe = body_reader(req.body, req.content_length)
            try:
                got, done = probe.feed(self.buf)
            except BodyError:
                got, done = b"", True  # the body's own error is found when it is forwarded
            if req.body == BODY_CHUNKED:
                if ctx is not None:
                    ctx.req_body_tail = chunked_tail(got)
                got = dechunk(got)
        if ctx is not None:
            ctx.req_body = got
            if req.body == BODY_LENGTH:
                ctx.req_body_size = req.content_length
            else:  # as 2.6 knows it: the data so far and what the current chunk still announces
                ctx.req_body_size = len(got) + (getattr(probe, "remaining", 0) if req.body != BODY_NONE else 0)
        return done or (at_least > 0 and len(got) >= at_least) or (limit > 0 and len(self.buf) >= limit)

    def _hold_body(self, req: RequestHead, ctx: Any, tmo: int | None, at_least: int, resume: Any) -> None:
        """Stop the request until its body is in (``_body_in``), then ``resume()``; a client still
        sending when ``tmo`` ms ran out gets a 408, as in 2.6."""
        eng = self.engine
        limit = max(1, eng.bufsize - eng.maxrewrite - req.head_len)
        self.phase = "wait_body"
        self.hold = (req, ctx, at_least, limit, resume)
        self.arm(tmo, self._hold_timeout)

    def _wait_for_body(self, req: RequestHead, ctx: Any, action: Any, resume: Any) -> None:
        """An http-request wait-for-body rule (actions/http.py WaitForBody): hold unless the
        body is already in."""
        eng = self.engine
        limit = max(1, eng.bufsize - eng.maxrewrite - req.head_len)
        if req.body == BODY_NONE or self._body_in(req, ctx, action.at_least, limit):
            resume()
            return
        # the client timeout ends the wait too (2.6.12: a 408 then, whichever comes first)
        self._hold_body(req, ctx, _first_timeout(action.time, self.router.conf.timeouts.client), action.at_least,
                        resume)

    def _check_hold(self) -> None:
        hold = self.hold
        if hold is None:
            return
        req, ctx, at_least, limit, resume = hold
        if self._body_in(req, ctx, at_least, limit):
            self.hold = None
            self.t_cb = None  # disarm
            self.phase = "head"
            resume()

    def _hold_timeout(self) -> None:
        self.timer = None
        if self.closed or self.hold is None:
            return
        self.hold = None
        self.phase = "head"
        self.keep_client = False
        self.rec.t_request = -1  # as 2.6 logs a request whose body did not come in time
        # counted with the connection: close 2.6 adds to it (a 408 while waiting for the body)
        self._local_error(408, "c", "R", extra=15)

    def _monitor(self, ctx: RuleTxn | None) -> None:
        """A monitor-uri request, before any http-request rule (as in 2.6): the 200 page, or the 503
        one when a 'monitor fail' condition holds; counted as intercepted, never logged."""
        self.fe.counters.intercepted += 1
        status = 200
        for test in self.router.monitor_fail:
            assert ctx is not None  # 'monitor fail' conditions make needs_ctx true
            if test(ctx):
                status = 503
                break
        self.rec.log_level = -1
        self._local_error(status, "L", "R")

    def _count_wrew(self, ctx: Any, backend: bool) -> None:
        """Rewrites of a request rule set that did not fit (actions/base.py rewrite_failed):
        2.6 counts them on the frontend, and on the backend once the request has one."""
        n = ctx.wrew
        ctx.wrew = 0
        self.fe.counters.wrew += n
        if (lc := self.listener.counters) is not None:  # option socket-stats
            lc.wrew += n
        be = self.be
        if backend and be is not None and be.conf is not self.router.conf:
            be.counters.wrew += n

    def _req_verdict(self, v: Verdict, *, backend: bool = False) -> None:
        """Apply an http-request / tcp-request content verdict that ends the request here.
        ``backend``: it came from the backend's rules (2.6 counts an intercepted request on the
        proxy whose rule intercepted it, which a backend's stats row does not show)."""
        k = v.kind
        rec = self.rec
        fc = self.fe.counters
        be = self.be
        ic = be.counters if backend and be is not None else fc
        if k == REPLY:
            ic.intercepted += 1
            set_term(rec, "L", "R")
            req = self.req
            # 2.6 answers a redirect whose request has a body with connection: close (and counts it)
            close = v.service == "redirect" and req is not None and (
                req.body == BODY_CHUNKED or (req.body == BODY_LENGTH and req.content_length > 0))
            self._local_response(v.status, v.headers, v.body, v.reason, close=close)
            return
        if k == REWRITE_FAIL:  # strict-mode on and a rewrite that did not fit: an internal error
            fc.eint += 1
            if (lc := self.listener.counters) is not None:  # option socket-stats
                lc.eint += 1
            if backend and be is not None and be.conf is not self.router.conf:
                be.counters.eint += 1
            self._local_error(500, "P", "R")
            return
        if k == SERVICE:
            from haproxy_py.stats import prometheus

            ic.intercepted += 1
            req = self.req
            assert req is not None
            q = req.uri.partition(b"?")[2].decode("latin-1")
            body = prometheus.render(self.engine.state, self.loop.time(), _wall(), query=q).encode()
            self._local_response(200, [(b"content-type", b"text/plain; version=0.0.4")], body)
            return
        if k == DENY and v.realm is not None:  # auth: a challenge, counted as 2.6 counts it
            ic.intercepted += 1
            if self.router.use_pxhdr and self.req is not None and self.req.uri[:1] not in (b"/", b"*"):
                # option http-use-proxy-header and a proxy's request (absolute URI, CONNECT):
                # 407 with Proxy-Authenticate
                v = Verdict(DENY, 407, realm=v.realm)
            self._deny(v, "R")
            return
        # deny, tarpit, reject, silent-drop: a denied request
        fc.dreq += 1
        if (lc := self.listener.counters) is not None:  # option socket-stats
            lc.dreq += 1
        if (k == DENY or k == TARPIT) and self.router.stick and self.txn is not None:
            count_http(self.txn, "http_err_cnt", "http_err_rate")  # 2.6 counts a deny as an error
        if be is not None and be.conf is not self.router.conf:
            be.counters.dreq += 1
        if k == DENY:
            self._deny(v, "R")
        elif k == TARPIT:
            conf = be.conf if be is not None else self.router.conf
            tmo = conf.timeouts.tarpit
            if tmo is None:
                tmo = conf.timeouts.connect
            self.phase = "tarpit"
            self.rec.t_request = -1
            t0 = self.loop.time()

            def done() -> None:
                self.timer = None
                if self.closed:
                    return
                self.rec.t_queue = int((self.loop.time() - t0) * 1000)
                self._deny(v, "T")

            if tmo:
                self.arm(tmo, done)
            else:
                done()
        else:
            # reject / silent-drop: no response at all, logged with status -1
            set_term(rec, "P", "R")
            rec.status = -1
            rec.t_request = -1
            rec.bytes_out = 0
            if k == DROP:
                self._silent_drop()
            self._log(rec)
            self.keep_client = False
            self._close_all()

    def _send_early_hints(self, ctx: RuleTxn) -> None:
        """The 103 Early Hints responses the http-request early-hint rules built, before the rest."""
        out = []
        for hdrs in ctx.early_hints or ():
            out.append(self._cli_case(b"HTTP/1.1 103 Early Hints\r\n"
                                      + b"".join(n + b": " + v + b"\r\n" for n, v in hdrs) + b"\r\n"))
        ctx.early_hints = None
        data = b"".join(out)
        self.bytes_out += len(data)
        self.cli.write(data)

    def _take_addresses(self, ctx: RuleTxn) -> None:
        """set-src / set-dst and their ports changed the connection's addresses: what follows
        (forwardfor, balance source, logs, the next requests) uses the new ones."""
        rec = self.rec
        self.src_ip = rec.client_ip = ctx.src or ""  # set-src sets one
        self.src_port = rec.client_port = ctx.src_port
        rec.frontend_ip, rec.frontend_port = ctx.dst, ctx.dst_port

    def _silent_drop(self) -> None:
        from haproxy_py.engine.stream import silent_drop

        silent_drop(self.cli.sock)
        try:
            self.cli.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass

    def _deny(self, v: Verdict, phase: str) -> None:
        if v.body is None:
            self._local_error(v.status, "P", phase, realm=v.realm)
            return
        set_term(self.rec, "P", phase)
        self._local_response(v.status, v.headers, v.body, v.reason, deny=True)

    def _is_stats_uri(self, req: RequestHead, conf: Any) -> bool:
        return req.uri.startswith(conf.stats.uri.encode("latin-1"))

    def _serve_stats(self, req: RequestHead, conf: Any) -> None:
        from haproxy_py.stats import page

        self.phase = "local"
        rec = self.rec
        rec.backend_name = conf.name
        rec.server_name = "<STATS>"
        self.fe.counters.intercepted += 1
        be = self.engine.state.backends.get(conf.name)
        if be is not None:  # 2.6 gives the request to the proxy's backend side: its 'Last' session is now
            be.counters.last_sess = _wall()
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in req.headers]
        body = b""
        if req.body != BODY_NONE and self.buf:
            # small admin POST bodies arrive with the head
            out, _ = self.reqbody.feed(self.buf)
            self.bytes_in += self.reqbody.htx(out)  # counted in %U as 2.6 counts it
            body = out
            self.buf = b""
        ctx = _ctx(req, self)
        router = self.router if conf is self.router.conf else None
        if router is not None:
            admin = any(t(ctx) for t in router.stats_admin)
        else:
            from haproxy_py.acl.condition import compile_acls, compile_condition

            acls = compile_acls(conf.acls)
            admin = any(compile_condition(c, acls)(ctx) for c in conf.stats.admin)
        status, hdrs, rbody = page.handle(self.engine.state, conf.stats, req.method.decode("latin-1"),
                                          req.uri.decode("latin-1"), headers, body, self.loop.time(), _wall(),
                                          admin_allowed=admin)
        set_term(rec, "L", "R")
        self._local_response(status, [(k.encode("latin-1"), v.encode("latin-1")) for k, v in hdrs], rbody)

    def _after_rules(self) -> tuple[Any, ...]:
        """The http-after-response rule sets for the current transaction: backend's, frontend's."""
        fe_rs = self.router.rs
        be = self.be
        be_rs = self.router.compiled_of(be).rs if be is not None and be.conf is not self.router.conf else None
        if be_rs is not None and be_rs.http_after:
            return (be_rs.http_after, fe_rs.http_after) if fe_rs.http_after else (be_rs.http_after,)
        return (fe_rs.http_after,) if fe_rs.http_after else ()

    def _run_after(self, resp: ResponseHead, sets: tuple[Any, ...]) -> bool:
        """True when a rewrite did not fit with strict-mode on (the rules stop there)."""
        txn = self.txn
        if txn is None:
            txn = self.txn = _ctx(self.req, self)
        txn.res = resp
        for rules in sets:
            v = run_rules(rules, txn)  # allow stops its own set only, as in 2.6
            if txn.wrew:
                self._count_res_wrew(txn)
            if v.kind == REWRITE_FAIL:
                return True
        return False

    def _local_response(self, status: int, headers: list[tuple[bytes, bytes]] | None, body: bytes | None,
                        reason: bytes | None = None, *, close: bool = False, deny: bool = False) -> None:
        """A response generated here (stats, prometheus, redirect, return): keep-alive as any
        response; the http-after-response rules apply to it (a rule's reply always has headers
        and a body: None stands for none)."""
        if headers is None:
            headers = []
        if body is None:
            body = b""
        req = self.req
        assert req is not None
        rec = self.rec
        resp = ResponseHead(status, reason or _REASONS.get(status, b"OK"), b"HTTP/1.1", list(headers))
        if not any(n.lower() == b"content-length" for n, _ in headers):
            resp.headers.append((b"content-length", str(len(body)).encode()))
        resp.content_length = len(body)
        resp.body = 1 if body else BODY_NONE
        after = self._after_rules()
        if after:
            txn = self.txn
            if txn is None:
                txn = self.txn = _ctx(req, self)
            txn.res_body_in = len(body) + htx.BLOCK if body else 0  # in 2.6's buffer with the head
            failed = self._run_after(resp, after)
            txn.res_body_in = 0
            if failed:
                # a rewrite of the reply did not fit with strict-mode on: 2.6 answers its 500
                # instead (through the same rules), an internal error
                if not deny:  # 2.6 counts an internal error for a reply, not for a deny's
                    self.fe.counters.eint += 1
                    if (lc := self.listener.counters) is not None:  # option socket-stats
                        lc.eint += 1
                self._local_error(500, "P", "R")
                return
            status = resp.status
        head, keep = prepare_response(resp, req, MODE_CLOSE if close else self.mode)
        if self.router.compiled.h1cli is not None:
            head = self._cli_case(head)
        data = head + (body if req.method != b"HEAD" else b"")
        rec.status = status
        self.bytes_in += self._unsent_body_htx()
        # counted as 2.6 counts what it generates (its connection: close too, when it adds one)
        self.bytes_out += htx.message_size(data) + (15 if close else 0)
        rec.bytes_out = self.bytes_out
        rec.bytes_in = self.bytes_in
        if rec.term_cause == "-":
            set_term(rec, "L", "R")
        rec.t_data = rec.t_connect = rec.t_queue = -1
        self.fe.counters.count_status(status)
        self._log(rec)
        self.cli.write(data)
        self.keep_client = keep and not self.cli_eof
        self._skip_request_body_then(self._transaction_end)

    def _serve_cached(self, txn: RuleTxn) -> None:
        """A response from the cache (http/cache.py): the stored head with its Age, a 304 for a
        conditional request it satisfies, through the http-response and http-after-response rules
        as a server's response would go; logged with the server '<CACHE>'."""
        _c, e = txn.cache_hit
        req = self.req
        assert req is not None
        rec = self.rec
        self.phase = "local"
        rec.server_name = "<CACHE>"
        resp = ResponseHead(e.status, e.reason, e.version, list(e.headers))
        resp.add(b"age", b"%d" % e.age_now(int(_wall())))
        if e.not_modified(req.headers):
            resp.status = 304
            resp.reason = b"Not Modified"
            body = b""
        else:
            body = e.body if req.method != b"HEAD" else b""
        chunked = e.chunked
        resp.content_length = -1 if chunked else len(e.body)
        resp.body = BODY_CHUNKED if chunked else BODY_LENGTH if e.body else BODY_NONE
        if chunked and resp.status != 304 and req.method != b"HEAD":
            body = (b"%X\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n" \
                + b"".join(n + b": " + v + b"\r\n" for n, v in e.trailers) + b"\r\n"
        self.res = resp
        status = resp.status
        rec.status = status
        # counted as 2.6 counts what its cache applet produces (before any rule)
        nout = htx.response_size(resp.version, resp.reason, resp.headers) + len(e.body if body else b"") \
            + (1 + sum(len(n) + len(v) for n, v in e.trailers) if chunked and body else 0)
        if self.be is None:  # served by the frontend: its own response rules only
            rec.backend_name = self.router.conf.name
            self.fe.counters.intercepted += 1
            fe_rs = self.router.rs
            txn.res = resp
            txn.server = ""
            if fe_rs.http_res:
                v = run_rules(fe_rs.http_res, txn)
                if v.kind == DENY:
                    self.fe.counters.dresp += 1
                    if (lc := self.listener.counters) is not None:  # option socket-stats
                        lc.dresp += 1
                    self._deny(v, "H")
                    return
                if v.kind == REPLY:
                    set_term(rec, "L", "H")
                    self._local_response(v.status, v.headers, v.body, v.reason)
                    return
            if fe_rs.http_after:
                run_rules(fe_rs.http_after, txn)
        elif self.res_rules is not None:
            nres = htx.response_size(resp.version, resp.reason, resp.headers)
            if self._response_rules(resp, b"", status, nres, None):
                return
        head, keep = prepare_response(resp, req, self.mode)
        if self.router.compiled.h1cli is not None:
            head = self._cli_case(head)
        data = head + body
        rec.status = resp.status
        self.bytes_in += self._unsent_body_htx()
        self.bytes_out += nout
        rec.bytes_out = self.bytes_out
        rec.bytes_in = self.bytes_in
        # the cache answers at once: no queue, connect or response time
        t = rec.t_request if rec.t_request >= 0 else int((self.loop.time() - self.accept_mono) * 1000)
        rec.t_queue = rec.t_connect = rec.t_data = t
        if rec.term_cause == "-":
            set_term(rec, "L", "R")
        self.fe.counters.count_status(resp.status)
        if self.be is not None and self.be.conf is not self.router.conf:
            self.be.counters.count_status(resp.status)
        self._log(rec)
        self.cli.write(data)
        self.keep_client = keep and not self.cli_eof
        self._skip_request_body_then(self._transaction_end)

    def _cache_keep(self, data: bytes) -> None:
        """Body bytes of a response cache-store keeps (a chunked body as re-framed); given up past
        the cache's max-object-size."""
        tap = self.cache_tap
        assert tap is not None
        tap[7] += data
        if len(tap[7]) > tap[0].maxobjsz > 0:
            self.cache_tap = None

    def _cache_commit(self) -> None:
        """The response cache-store keeps is complete: into the cache."""
        from haproxy_py.http import cache as hcache

        tap = self.cache_tap
        assert tap is not None
        self.cache_tap = None
        body = dechunk(bytes(tap[7])) if tap[8] < 0 else bytes(tap[7])
        if tap[8] >= 0 and len(body) != tap[8]:
            return
        c, (expire, age, lm, sig, sec), now = tap[0], tap[1], tap[2]
        txn = self.txn
        assert txn is not None and txn.cache_key is not None
        trailers = getattr(self.resbody, "trailers", ()) if tap[8] < 0 else ()
        c.store(hcache.Entry(txn.cache_key, tap[3], tap[4], tap[5], tap[6], body, expire, now, age, lm, sig, sec,
                             trailers), int(_wall()))

    def _cli_case(self, head: bytes) -> bytes:
        """A head for the client with h1-case-adjust's names in their case (option
        h1-case-adjust-bogus-client); as it is without the option."""
        cm = self.router.compiled.h1cli
        return head if cm is None else adjust_head(head, cm)

    def _error_page(self, status: int, realm: str | None = None) -> bytes:
        """The page 2.6 sends for a status: the backend's errorfile for it, else the frontend's,
        else the built-in page."""
        be = self.be
        pages = self.router.compiled.pages
        if be is not None:
            bp = self.router.compiled_of(be).pages
            if status in bp.overrides:
                pages = bp
        page = pages.overrides.get(status)
        if page is not None and not isinstance(page, bytes):  # http-error with log-format parts
            return page(self.sample_txn() or _ctx(None, self))
        return pages.response(status, realm)

    def _local_error(self, status: int, cause: str, phase: str, *, nosrv: bool = False,
                     mux: bool = False, realm: str | None = None, extra: int = 0) -> None:
        """A stream-style error page (403/500/502/503/504): the client connection stays usable.
        ``mux``: the HTTP/1 layer's page instead (400 on a bad request body), connection closed."""
        rec = self.rec
        set_term(rec, cause, phase)
        grown = 0
        if mux:
            page = herrors.mux_error(status)
            self.keep_client = False
        else:
            page = self._error_page(status, realm)
            if self.req is not None:
                after = self._after_rules()
                if after:
                    orig = page
                    page = self._after_page(page, after)
                    # 2.6 counts what the rules changed as it counts headers (name and value)
                    grown = htx.message_size(page) - htx.message_size(orig) - len(page) + len(orig)
        rec.status = status
        nbytes = herrors.log_bytes(page, mux=mux) + grown + extra
        if not mux and self.req is not None and self.req.method == b"HEAD":
            nbytes -= len(page) - page.find(b"\r\n\r\n") - 4  # sent without its body
        self.bytes_in += self._unsent_body_htx()
        self.bytes_out += nbytes  # the stats count the page as the log does
        rec.bytes_out = self.bytes_out
        self._count_bytes()
        self.fe.counters.count_status(status)
        if self.be is not None:
            self.be.counters.count_status(status)
        self.phase = "local"
        if self.srvc is not None:
            self._drop_server_conn()
        self._end_server_use()
        rec.bytes_in = self.bytes_in
        self._log(rec, error=status >= 500 or status == 400)
        req = self.req
        rb = self.reqbody
        if not self.req_done and rb is not None and not rb.done and self.buf and not self.head_sent:
            # a request body that came with the head is consumed with it
            try:
                _, self.req_done = rb.feed(self.buf)
                self.buf = rb.leftover
                rb.leftover = b""
            except BodyError:
                self.buf = b""
        intent = req is not None and req.keep_alive and self.mode != MODE_CLOSE and not self.cli_eof
        if not self.req_done and rb is not None and not getattr(rb, "done", True):
            intent = False  # an unread request body would be taken for the next request
        self.keep_client = intent and self.keep_client
        if not mux and req is not None:
            # as 2.6's HTTP/1 layer writes a stream response: the connection header follows what the
            # transaction wanted (connection: close when it ends the connection, keep-alive to an
            # HTTP/1.0 client that keeps it; a server that vanished still closes, unannounced), and
            # the page has no body for a HEAD
            if not intent:
                page = herrors.with_close(page)
            elif req.version == b"HTTP/1.0":
                page = herrors.with_close(page, b"keep-alive")
            if req.method == b"HEAD":
                page = page[:page.find(b"\r\n\r\n") + 4]
        self.cli.write(self._cli_case(page))
        self._transaction_end()

    def _unsent_body_htx(self) -> int:
        """The request body bytes that came with a head that never went to a server: 2.6 parsed
        and counted them before answering (``%U``, bin)."""
        req = self.req
        if req is None or self.head_sent or not self.buf or req.body == BODY_NONE:
            return 0
        probe = body_reader(req.body, req.content_length)
        try:
            out, _ = probe.feed(self.buf)
        except BodyError:
            return 0
        return probe.htx(out)

    def _count_bytes(self) -> None:
        """A transaction that ends without _finish_request (an error page): its backend and server
        count its bytes as 2.6 counts them (the frontend does in _transaction_end)."""
        be = self.be
        if be is None:
            return
        be.counters.bin += self.bytes_in
        be.counters.bout += self.bytes_out
        srv = self.srv
        if srv is not None:
            srv.counters.bin += self.bytes_in
            srv.counters.bout += self.bytes_out

    def _after_page(self, page: bytes, after: tuple[Any, ...]) -> bytes:
        """An error page with the http-after-response rules applied (it is parsed, rewritten, and
        serialised again; the body is kept)."""
        try:
            res = parse_response(page, 0, method=b"GET", bufsize=len(page) + 1024, maxrewrite=0)
        except ParseError:
            return page
        if res is None:
            return page
        resp, consumed = res
        if self._run_after(resp, after):  # a rewrite failed with strict-mode on: 2.6 sends the
            return page                   # page without any of the rules' changes
        return resp.to_bytes() + page[consumed:]

    def _skip_request_body_then(self, cont: Any) -> None:
        rb = self.reqbody
        if rb is not None and not getattr(rb, "done", True):
            self.keep_client = False
        cont()

    # ================================================================== backend / server
    def _enter_backend(self, be: Any, req: RequestHead, ctx: RuleTxn | None) -> None:
        rec = self.rec
        bc = be.counters
        old = self.be
        if old is not be:
            if old is not None:
                old.counters.scur -= 1
            bc.scur += 1
            if bc.scur > bc.smax:
                bc.smax = bc.scur
            self.be = be
        rec.backend_name = be.name
        bc.stot += 1
        bc.req_tot += 1
        bc.sess_rate.add(self.loop.time())
        bc.last_sess = _wall()
        router = self.router
        info = router.be_info.get(be) or router.backend_info(be)
        self.mode, self.ff_rule, self.name_hdr, self.ot_rule = info
        if self.engine.stopping:  # soft-stop: the response says connection: close, as 2.6's
            self.mode = MODE_CLOSE
        if router.comp_by_be is not None:
            self._comp_request(be, req)
        if self.ot_rule is not None or router.uid_hdr is not None:
            self._own_req()  # a head of its own for the server: no forward memo
        if be.tcp_content and be.conf is not router.conf:
            # the backend's tcp-request content rules, before anything else of the backend (2.6)
            ctx = self._be_txn(be, req)
            v = run_rules(be.tcp_content, ctx)
            if v.kind == REJECT or v.kind == DROP:
                self._req_verdict(v, backend=True)
                return
        prst = self.router.compiled_of(be).rs.persist
        if prst:  # force-persist / ignore-persist: once the backend is known, before its rules (2.6)
            from haproxy_py.actions.rules import persist_flag

            ctx = self._be_txn(be, req)
            self.prst = persist_flag(prst, ctx)
        # --- the backend's own http-request rules, then what the response will go through
        brules = router.be_rules.get(be)
        if brules is None:
            brules = router.be_rules[be] = self._backend_rules(be)
        be_req, be_redirect, self.res_rules, be_body = brules
        if be_body is not None:  # the backend's http-buffer-request, or its rules read the body
            ctx = self.txn
            if ctx is None:
                ctx = self.txn = _ctx(req, self)
            if be_body and req.body != BODY_NONE and not self._body_in(req, ctx, 0, 0):
                self._hold_body(req, ctx, be.conf.timeouts.http_request or be.conf.timeouts.client, 0,
                                lambda: self._be_stage(be, req, ctx, be_req, be_redirect, 0))
                return
            self._body_in(req, ctx, 0, 0)
        self._be_stage(be, req, ctx, be_req, be_redirect, 0)

    def _comp_request(self, be: Any, req: RequestHead) -> None:
        """Compression, request side: the algorithm the response may use (2.6 chooses it from
        Accept-Encoding once the backend is known); offload removes that header."""
        cmap = self.router.comp_by_be
        assert cmap is not None
        eff = cmap.get(be, False)
        if eff is False:
            eff = cmap[be] = hcomp.effective(self.router.conf.compression, be.conf.compression)
        self.comp_algo = None
        self.res_comp = None
        self.comp = self.comp_chunks = None
        if eff is None:
            return
        algos, self.comp_types, offload = eff
        if offload and req.has(b"accept-encoding"):
            req = self._own_req()
        self.comp_algo = hcomp.select_algo(req, algos, offload)

    def _be_stage(self, be: Any, req: RequestHead, ctx: Any, be_req: Any, be_redirect: Any, start: int) -> None:
        """The backend's http-request rules (from ``start``), stats page, redirect rules, then
        persistence and the server."""
        router = self.router
        rec = self.rec
        if be_req:
            req = self._own_req()
            ctx = self._be_txn(be, req)
            v = run_rules(be_req, ctx) if not start else resume_rules(be_req, ctx, start)
            if ctx.wrew:
                self._count_wrew(ctx, True)
            if ctx.early_hints:
                self._send_early_hints(ctx)
            if v.kind != CONTINUE and v.kind != STOP:
                if v.kind == WAIT_BODY:
                    nxt = rule_index(be_req, v) + 1
                    self._wait_for_body(req, ctx, be_req[nxt - 1][1], lambda: self._be_stage(be, req, ctx, be_req, be_redirect, nxt))
                    return
                if v.kind == WAIT_RESOLVE:
                    nxt = rule_index(be_req, v) + 1
                    self.do_resolve(ctx, be_req[nxt - 1][1],
                                    lambda: self._be_stage(be, req, ctx, be_req, be_redirect, nxt))
                    return
                self._req_verdict(v, backend=True)
                return
            if ctx.src is not self.src_ip or ctx.src_port != self.src_port or ctx.dst is not rec.frontend_ip \
                    or ctx.dst_port != rec.frontend_port:
                self._take_addresses(ctx)
            if ctx.cache_hit is not None:  # the backend's cache-use found the response
                self._serve_cached(ctx)
                return
        # backend-side stats page (stats enable in a backend)
        conf = be.conf
        if conf is not router.conf and conf.stats.enabled and self._is_stats_uri(req, conf):
            self._serve_stats(req, conf)
            return
        if be_redirect:  # the backend's legacy "redirect" rules
            req = self._own_req()
            ctx = self.txn
            if ctx is None:
                ctx = self.txn = _ctx(req, self)
            ctx.req = req
            v = run_rules(be_redirect, ctx)
            if v.kind != CONTINUE:
                self._req_verdict(v, backend=True)
                return
        if router.uid_fmt is not None:  # 2.6 makes the unique id here, after the backend's rules
            ctx = self.txn
            if ctx is None:
                ctx = self.txn = _ctx(req, self)
            ctx.backend = be.name
            ctx.get_unique_id()
        caps = router.caps
        if caps is not None and caps.cookie is not None:  # capture cookie, where 2.6 reads cookies
            rec.cli_cookie = caps.request_cookie(req.headers)
        rs = self.router.compiled_of(be).rs
        if rs.use_server:  # use-server rules, before persistence (2.6's server rules)
            self.use_srv = self._use_server(be, rs.use_server, req)
        # persistence cookie (with ignore-persist still removed as configured, but not used)
        cookie_srv = None
        if be.cookie is not None:
            req = self._own_req()
            rc = hcookie.parse_request(_str_headers(req.headers), be.cookie, _wall())
            req.headers = _bytes_headers(rc.headers)
            self.cookie_ops = rc
            cookie_srv = rc.value if self.prst != "I" else None
            rec.ck_req = hcookie.request_flag(rc, "")
            rec.ck_resp = "N"  # with a cookie configured HAProxy always prints both letters
        self.lbreq = _make_lbreq(self, req, cookie_srv) if be.needs_request else None
        stick = rs.stick
        if stick:  # stick match / store-request, once the backend is known
            self._stick_match(be, stick, req)
        self.phase = "queue"
        txn = self.txn
        if txn is not None:
            self.prio = txn.prio
            if txn.vars:  # 2.6 frees the "req" variables once the stream asks for a connection
                txn.drop_req_vars()
        else:
            self.prio = None
        # keep the client readable: request body bytes are buffered until the server is there
        self.assign()

    def _stick_bad_request(self) -> None:
        """2.6 counts a bad (or empty) request on the session's counters: a request, an error."""
        from haproxy_py.stick.track import count_list

        now = int(self.loop.time() * 1000)
        count_list(self.sess_stkctr, "http_req_cnt", "http_req_rate", now)
        count_list(self.sess_stkctr, "http_err_cnt", "http_err_rate", now)

    def _be_txn(self, be: Any, req: RequestHead) -> Any:
        """The transaction's samples context (made on first use), reading ``req`` in backend ``be``."""
        ctx = self.txn
        if ctx is None:
            ctx = self.txn = _ctx(req, self)
        ctx.req = req
        ctx.backend = be.name
        return ctx

    def _use_server(self, be: Any, rules: Any, req: RequestHead) -> Any:
        from haproxy_py.lb import use_server

        ctx = self._be_txn(be, req)
        return use_server.choose(rules, ctx, be, force=self.prst == "F")

    def _stick_match(self, be: Any, rules: Any, req: RequestHead) -> None:
        ctx = self._be_txn(be, req)
        self.stick_srv, self.stick_stores = persist.match(
            rules, ctx, self.engine.state.tables, be, int(self.loop.time() * 1000), force=self.prst == "F")

    def _stick_store(self, resp: ResponseHead) -> None:
        """2.6's store rules: the store-response keys, then every key, with the serving server."""
        be = self.be
        txn = self.txn
        if txn is None:
            txn = self.txn = _ctx(self.req, self)
        saved = txn.res
        txn.res = resp
        try:
            persist.store(self.router.compiled_of(be).rs.stick, txn, self.engine.state.tables,
                          self.stick_stores, self.srv, int(self.loop.time() * 1000))
        finally:
            txn.res = saved
        self.stick_stores = None

    def _backend_rules(self, be: Any) -> tuple[Any, Any, Any, Any]:
        """(the backend's http-request rules, its redirect rules, the response rule sets of this
        frontend with it or None): 2.6 runs a response through the backend's http-response rules then the frontend's,
        then the http-after-response ones in the same order."""
        fe_rs = self.router.rs
        be_rs = self.router.compiled_of(be).rs if be.conf is not self.router.conf else None
        res: tuple[Any, ...] = (be_rs.http_res if be_rs else (), fe_rs.http_res, be_rs.http_after if be_rs else (),
               fe_rs.http_after)
        # the backend's own wait for the body (True), its rules reading it (False), or None
        body = None
        if be.conf is not self.router.conf:
            from haproxy_py.http.features import body_use

            body = body_use(be.conf)
            if body and self.router.body:
                body = False  # the frontend waited already
        if any(res):
            # the response rules read the response body (res.body...) or wait for it
            text = ""
            for c in {self.router.conf.name: self.router.conf, be.conf.name: be.conf}.values():
                rules = [r for r in c.http_rules + c.defaults_rules if r.kind.startswith("http-")
                         and r.kind != "http-request"]
                text += repr(rules) + repr(c.acls) + repr(c.defaults_acls)
            res = res + ("res.body" in text or "'wait-for-body'" in text,)
        return ((be_rs.http_req if be_rs else ()), (be_rs.redirect if be_rs else ()),
                (res if any(res) else None), body)

    def _end_server_use(self) -> None:
        """The current request no longer uses its server: counters and the connection slot."""
        srv = self.srv
        if srv is None:
            return
        if self.srv_counted:
            self.srv_counted = False
            srv.counters.scur -= 1
        srv.sessions.discard(self)
        self._release_slot(srv)

    def cookie_flag(self, flag: str) -> None:
        rc = self.cookie_ops
        if rc is not None:
            self.rec.ck_req = hcookie.request_flag(rc, flag)

    def _observe(self, srv: Any, kind: str) -> None:
        if srv.conf.observe is not None:
            self.engine.observe(srv, kind)

    def _drop_server_conn(self, reset: bool = False) -> None:
        """``reset``: the transaction is complete and the connection not kept: as 2.6, it is
        reset (no TIME_WAIT left on the proxy's side), unless the server closed it first."""
        if self.splicer is not None:
            self._spl_stop()
        c = self.srvc
        if c is not None:
            c.close(abort=reset and not c.eof)
            self.srvc = None
            self.srv_owner = None

    def connect(self) -> None:
        # an idle connection to the chosen server, as http-reuse allows (engine/pool.py): the
        # session's own with 'never', the server's pool otherwise
        srv = self.srv
        if self.srvc is not None:
            self._drop_server_conn()
        mode = self.be.conf.http_reuse
        if mode == "never" or srv.conf.send_proxy or srv.conf.send_proxy_v2 or srv.conf.pp_opts:
            # a PROXY protocol header carries this client's addresses: its server connections
            # serve this session only
            priv = self.priv_conns
            got = priv.pop(srv, None) if priv else None
            POOLS.note_private(srv)
        else:
            got = POOLS.take(srv, self.nreq <= 1, mode)
        if got is not None:
            c, self.srv_uses = got
            c.on_data = self._srv_data
            c.on_eof = self._srv_eof
            c.on_error = self._srv_error
            c.on_drained = self._srv_drained
            if type(c) is FcgiConn:  # its requests' parameters are this session's from now on
                c.sess = self
            self.srvc = c
            self.srv_owner = srv
            srv.sessions.add(self)
            srv.counters.reuse += 1
            self.be.counters.reuse += 1
            rec = self.rec
            rec.t_connect = int((self.loop.time() - self.accept_mono) * 1000)
            rec.bc_err = 0
            rec.server_ip = srv.host
            rec.server_port = srv.port
            loc = c.local
            if loc is None:
                try:
                    loc = c.local = _addr_str(c.sock.getsockname())
                except OSError:
                    pass
            if loc is not None:
                rec.backend_src_ip, rec.backend_src_port = loc
            if srv.conf.tls is not None:
                from haproxy_py.tls.info import backend_info

                rec.ssl_bc = backend_info(c.sock)
            self._server_ready()
            return
        self.phase = "connect"
        super().connect()

    def _park_server_conn(self, srv: Any) -> None:
        """The transaction is over and its server connection may carry another request: to the
        server's pool, or with 'http-reuse never' to this session's private ones (at most 10,
        2.6's max-session-srv-conns default; one per server)."""
        c = self.srvc
        self.srvc = None
        self.srv_owner = None
        if c is None:
            return
        if c.closed or c.eof:
            c.close()
            return
        if self.be.conf.http_reuse != "never" and not (srv.conf.send_proxy or srv.conf.send_proxy_v2
                                                        or srv.conf.pp_opts):
            POOLS.put(srv, c, self.srv_uses)
            return
        priv = self.priv_conns
        if priv is None:
            priv = self.priv_conns = {}
        if srv not in priv and len(priv) >= 10:
            c.close(abort=True)  # not kept: reset, as 2.6
            return
        old = priv.get(srv)
        if old is not None:
            old[0].close(abort=True)
        entry = priv[srv] = (c, self.srv_uses)

        def gone(*_a: Any) -> None:
            c.close()
            if priv.get(srv) is entry:
                del priv[srv]

        c.on_data = c.on_eof = gone
        c.on_error = gone
        c.on_drained = gone
        c.read_on()

    HANDOFF = True

    def sample_txn(self) -> Any:
        txn = self.txn
        if txn is None and self.req is not None:
            txn = self.txn = _ctx(self.req, self)
        return txn

    def server_connected(self, sock: socket.socket) -> None:
        tp = self.tprof
        c: Conn
        if self.srv.conf.proto == "fcgi" and (app := app_for(self.engine.state, self.be)) is not None:
            c = FcgiConn(self.loop, sock, app, self)
        else:
            c = Conn(self.loop, sock) if tp is None else ProfConn(self.loop, sock, tp)
        if self.be.conf.nolinger:
            c.nolinger = True
        c.on_data = self._srv_data
        c.on_eof = self._srv_eof
        c.on_error = self._srv_error
        c.on_drained = self._srv_drained
        self.srvc = c
        self.srv_owner = self.srv
        self.srv_uses = 0
        # register our reader before dropping the connect watcher: the loop's poll handle for the
        # descriptor survives (see Connector.handoff)
        c.read_on()
        self.loop.remove_writer(c.fd)
        self._server_ready()

    def fcgi_error(self, conn: Any) -> None:
        """The request could not be turned into FastCGI (engine/fcgi.py): 2.6's 500, 'IH'."""
        if self.closed or self.srvc is not conn or self.res is not None:
            return
        self._local_error(500, "I", "H")

    def _server_ready(self) -> None:
        srv = self.srv
        c = self.srvc
        assert c is not None  # connected
        self.srv_uses += 1
        self.rec.server_name = srv.name
        self.srv_counted = True
        sc = srv.counters
        sc.stot += 1
        sc.req_tot += 1
        sc.scur += 1
        if sc.scur > sc.smax:
            sc.smax = sc.scur
        sc.sess_rate.add(self.loop.time())
        sc.last_sess = _wall()
        hdr_name = self.name_hdr
        ff = self.ff_rule
        key = self.req_key
        mode = self.mode
        if mode != MODE_KEEP_ALIVE and self.be.pretend_ka:
            # option http-pretend-keepalive: the request goes as in keep-alive mode (no
            # 'connection: close'), and the connection still closes after the response
            mode = MODE_KEEP_ALIVE
        if key is not None:
            fkey = (key, mode, ff, self.src_ip if ff is not None else None, hdr_name,
                    srv.name if hdr_name else None)
            memo = self.router.req_memo.fwd
            hit = memo.get(fkey)
            if hit is None:
                req = self._own_req()
                hit = prepare_request(
                    req, mode, src=self.src_ip, forwardfor=ff, server_name_header=hdr_name,
                    server_name=srv.name.encode("latin-1") if hdr_name else None)
                memo.put(fkey, hit)
            head, self.srv_reusable = hit
        else:
            uid_hdr = self.router.uid_hdr
            uid = None
            if uid_hdr is not None:
                txn = self.txn
                if txn is None:
                    txn = self.txn = _ctx(self.req, self)
                uid = (uid_hdr, txn.get_unique_id() or b"")
            head, self.srv_reusable = prepare_request(
                self._own_req(), mode, src=self.src_ip, forwardfor=ff, server_name_header=hdr_name,
                server_name=srv.name.encode("latin-1") if hdr_name else None, unique_id=uid,
                originalto=self.ot_rule, dst=self.rec.frontend_ip)
        if self.engine.h1case is not None:  # h1-case-adjust: option h1-case-adjust-bogus-server
            cm = self.router.compiled_of(self.be).h1srv
            if cm is not None:
                head = adjust_head(head, cm)
        tres = self.tres = None
        if self.be.http_tcp_res:  # the backend's tcp-response content rules, before the request goes
            if self.txn is None:
                self.txn = _ctx(self.req, self)
            tres = http_tcpres.first(self, _wall())
            if tres == CLOSE and self.srv_uses > 1:
                # on a reused server connection 2.6 closes everything before the request is sent,
                # without a response or a log line
                self.keep_client = False
                self._drop_server_conn()
                self._close_all()
                return
        self.head_sent = True
        self.phase = "body"
        self.resbuf = b""
        self.res = None
        c.read_on()
        # request body: what arrived early, then what remains in buf (same packet as the head)
        rb = self.reqbody
        raw = self.buf
        bin0 = self.bytes_in
        if self.buf and not self.req_done:
            c.cork()
            c.write(head)
            data, self.buf = self.buf, b""
            self._request_body_data(data)
            c.uncork()
            if self.srvc is not c:
                return  # a bad request body ended the transaction
        else:
            c.write(head)
            if rb is not None and rb.done:
                self.req_done = True
        if not self.req_done and c.pending <= HIGH_WATER:
            # reading may have been paused while we waited for the server
            self._srv_drained()
        self.last_io = 0.0
        self.arm(self._srv_timeout(), self._server_timeout)
        if self.be.http_tcp_res:  # the delay's timer, if the rules wait for the response (read in
            http_tcpres.arm(self)  # arm: compiled, self.tres would be taken for the None assigned above)
        if self.be.l7_retry is not None:
            self._l7_keep(raw, len(head), bin0)
        if tres is not None:
            self._http_tcp_res(tres)

    def _http_tcp_res(self, kind: str) -> None:
        """A verdict of an HTTP backend's tcp-response content rules before any response data
        (engine/http_tcpres.py; 2.6 runs them once the request went, res.len 0, no response
        header or status yet), or on a response head a reject or silent-drop ended. reject
        (silent-drop) closes both sides without a word, logged 'PD' ('PR'); close ends the server
        side: 2.6's 502 'SH' of a server that closed before its response, the client kept."""
        from haproxy_py.engine.stream import silent_drop

        if kind == REJECT or kind == DROP:
            if kind == DROP:
                silent_drop(self.cli.sock)
            self.be.counters.dresp += 1
            if self.be.conf is not self.router.conf:
                self.fe.counters.dresp += 1
            self.srv.counters.dresp += 1
            if (lc := self.listener.counters) is not None:  # option socket-stats
                lc.dresp += 1
            self._abort("P", "D" if kind == REJECT else "R")
        elif kind == CLOSE:
            # as a server that closed before its response, except that 2.6 keeps the client
            # connection (its 502 has no 'connection: close'; the next request is served)
            self.be.counters.eresp += 1
            self.srv.counters.eresp += 1
            self._drop_server_conn()
            self._local_error(502, "S", "H")

    # ================================================================== layer 7 retries
    def _l7_keep(self, raw: bytes, nhead: int, bin0: int) -> None:
        """retry-on with layer 7 events: keep the request just sent for another send, as 2.6
        keeps a copy of its buffer, only when the whole request went at once (its body had
        arrived) and fits in a buffer (tune.bufsize), and no http-request disable-l7-retry ran."""
        txn = self.txn
        left = len(self.buf)
        if (not self.req_done or nhead + len(raw) - left > self.engine.bufsize
                or (txn is not None and getattr(txn, "no_l7", False))):
            self.l7 = None
            return
        req = self.req
        assert req is not None
        self.l7 = (raw, req, bin0, left)

    def _l7_retry(self, why: str | int) -> bool:
        """A retry-on event (its keyword, or the response status): True when the request went
        again (to the same server or, redispatched, to another), False when the event ends the
        request as without retry-on (not in the list, request not kept, retries spent)."""
        kept = self.l7
        self.l7 = None
        be = self.be
        srv = self.srv
        if kept is None or kept[1] is not self.req or srv is None or be.l7_retry is None or why not in be.l7_retry:
            return False
        a = be.on_l7_error(srv, self.attempt, persistent=self.persistent, force_persist=self.prst == "F")
        if a.action == "fail":
            return False
        self.attempt += 1
        self.rec.retries += 1
        raw, req, bin0, left = kept
        self._drop_server_conn()
        if self.srv_counted:
            self.srv_counted = False
            srv.counters.scur -= 1
        srv.sessions.discard(self)
        # the request as it was before its first send: its body (and what followed) to read again
        self.buf = raw + self.buf[left:]
        self.bytes_in = bin0
        self.reqbody = NoBody() if req.body == BODY_NONE else body_reader(req.body, req.content_length)
        self.req_done = False
        self.head_sent = False
        self.res = None
        self.resbuf = b""
        self.disarm()
        if a.action == "redispatch":
            self._release_slot(srv)
            self.prev_srv = srv
            self.srv = None
            if self.persistent:
                self.cookie_flag("D")
            self.persistent = False
            self.assign()
        else:
            self.connect()
        return True

    def _request_body_data(self, data: bytes) -> None:
        rb = self.reqbody
        if rb is None or self.req_done or self.srvc is None or not self.head_sent:
            # the next pipelined request, or a body waiting for its server: kept, bounded (the
            # client is read again at the next request or when the server takes the body)
            self.buf = self.buf + data if self.buf else data
            if len(self.buf) > self.engine.bufsize:
                self.cli.read_off()
                self.paused_cli = True
            return
        try:
            out, done = rb.feed(data)
        except BodyError as e:
            self._abort_bad_body(e)
            return
        if out:
            self._send_body(out)
        if done:
            self.req_done = True
            left = rb.leftover
            if left:
                self.buf = left
                rb.leftover = b""

    def _send_body(self, out: bytes) -> None:
        self.last_io = self.loop.time()
        self.bytes_in += self.reqbody.htx(out)
        c = self.srvc
        assert c is not None
        c.write(out)
        if c.pending > HIGH_WATER:
            self.cli.read_off()
            self.paused_cli = True

    def _srv_drained(self) -> None:
        if self.paused_cli and not self.cli.closed:
            self.paused_cli = False
            self.cli.read_on()

    def _abort_bad_body(self, e: BodyError) -> None:
        """A request body whose framing turned invalid once its head had gone: counted as an
        invalid request and captured for ``show errors`` (what the decoder held, in the backend),
        as 2.6 does; a 400 if nothing of the answer went yet."""
        self._record_error(e.at, buf=e.window, in_backend=True)
        self.fe.counters.ereq += 1
        if (lc := self.listener.counters) is not None:  # option socket-stats
            lc.ereq += 1
        # 2.6 is waiting for the response's head then (H), or forwarding its data (D)
        phase = "H" if self.res is None else "D"
        set_term(self.rec, "P", phase)
        self.keep_client = False
        self._drop_server_conn()
        if self.res is None:
            self._local_error(400, "P", phase)
        else:
            self._finish_request()

    def _srv_timeout(self) -> int | None:
        """The server timeout of this transaction: an http-request set-timeout's, or the backend's."""
        txn = self.txn
        if txn is not None and txn.srv_timeout is not None:
            return txn.srv_timeout
        return self.be.conf.timeouts.server

    def _server_timeout(self) -> None:
        self.timer = None
        if self.closed:
            return
        # inactivity timeout: data moved since the timer was armed pushes it forward
        tmo = self._srv_timeout() if self.be is not None else None
        if tmo and self.last_io:
            idle = (self.loop.time() - self.last_io) * 1000
            if idle < tmo:
                self.arm(int(tmo - idle) + 1, self._server_timeout)
                return
        if self.res is None:
            if self.l7 is not None and self._l7_retry("response-timeout"):
                return
            srv = self._count_eresp()  # 2.6 counts a response timeout as a failed response
            if srv is not None:
                self._observe(srv, "HTTP_READ_TIMEOUT")
            self._drop_server_conn()
            self._local_error(504, "s", "H")
        else:
            set_term(self.rec, "s", "D")
            self.keep_client = False
            self._finish_request(abort=True)

    # ================================================================== response
    def _srv_data(self, data: bytes) -> None:
        self.last_io = self.loop.time()
        if self.srv is None:
            # an idle kept-alive server connection must not talk: drop it
            self._drop_server_conn()
            return
        if self.phase == "tunnel":
            self.bytes_out += len(data)
            self.cli.write(data)
            if self.cli.pending > HIGH_WATER and self.srvc is not None:
                self.srvc.read_off()
            return
        if self.tres is not None:
            http_tcpres.data(self, data)
            return
        if self.res is None:
            if self.resbuf:
                self.resbuf += data
            else:
                self.resbuf = data
            self._try_parse_response()
            return
        self._response_body_data(data)

    def _relaxed_response(self, buf: bytes, req: RequestHead) -> Any:
        """option accept-invalid-http-response (the backend's): the head the strict parser refused,
        read as 2.6 relaxes it (http/relaxed.py), as the response memo gives it; None: still
        invalid, ``False``: incomplete."""
        from haproxy_py.http.relaxed import parse_response_relaxed

        eng = self.engine
        found: list[int] = []
        try:
            got = parse_response_relaxed(buf, 0, method=req.method, bufsize=eng.bufsize,
                                         maxrewrite=eng.maxrewrite, maxhdr=eng.maxhdr, errs=found)
        except ParseError:
            return None
        if got is None:
            return False
        resp, consumed = got
        if found:  # 2.6 still captures what it let through
            self._record_res_error(buf, found[0], consumed)
        return resp, consumed, None, False, -1

    def _try_parse_response(self) -> None:
        eng = self.engine
        buf = self.resbuf
        req = self.req
        assert req is not None
        try:
            # the memo's rewrite for the client holds while nothing else changes the response
            res = self.router.res_memo.parse(buf, req, self.mode,
                                             use=self.be.cookie is None and self.res_rules is None and self.comp_algo is None,
                                             bufsize=eng.bufsize, maxrewrite=eng.maxrewrite, maxhdr=eng.maxhdr)
        except ParseError as e:
            res = None
            if self.be.conf.option("accept-invalid-http-response"):
                res = self._relaxed_response(buf, req)
            if res is None:
                self._record_res_error(buf, e.pos)
                self._bad_response()
                return
        if not res:
            if len(buf) > eng.bufsize:
                self._bad_response()
            return
        resp, consumed, head, keep, nres = res
        rest = buf[consumed:]
        if resp.body == BODY_CHUNKED and rest:
            # 2.6 decodes the body bytes that came with the head before the stream sees the head:
            # a chunked body already invalid there makes the response invalid (502 PH). The
            # decoder that found them valid goes on with the body (_send_response).
            rb = ChunkedBody()
            try:
                self.res_early = (rest, rb, rb.feed(rest))
            except BodyError as e:
                self._record_res_error(buf, consumed + e.pos)
                self._bad_response()
                return
        self.resbuf = b""
        if self.tres is not None:  # tcp-response content rules wait: they see the head first
            http_tcpres.head(self, resp, (buf[:consumed], head, keep, nres), rest)
            return
        self._took_response(resp, rest, buf[:consumed], head, keep, nres)

    def _took_response(self, resp: ResponseHead, rest: bytes, raw_head: bytes, head: bytes | None,
                       keep: bool, nres: int) -> None:
        """A parsed response head (``raw_head``: as received, ``rest``: what followed it)."""
        if self.l7 is not None and self._l7_retry(resp.status):
            return
        if resp.status == 204:
            self.bytes_out += htx.dropped_content_length(raw_head)
        if head is not None:
            self._got_response(resp, rest, head, keep, nres)
            return
        if 100 <= resp.status < 200 and resp.status != 101:
            # interim response: forward as is, keep waiting for the final one
            data = resp.to_bytes()
            self.bytes_out += htx.response_size(resp.version, resp.reason, resp.headers)
            self.cli.write(self._cli_case(data))
            if rest:
                self.resbuf = rest
                self._try_parse_response()
            return
        self._got_response(resp, rest)

    def _count_eresp(self) -> Any:
        """A failed or invalid response: counted (eresp) on the backend and on its server, if
        any, which is returned."""
        srv = self.srv
        self.be.counters.eresp += 1
        if srv is not None:
            srv.counters.eresp += 1
        return srv

    def _bad_response(self) -> None:
        srv = self._count_eresp()
        if srv is not None:
            self._observe(srv, "HTTP_HDRRSP")
        if self.l7 is not None and self._l7_retry("junk-response"):
            return
        self._drop_server_conn()
        self._local_error(502, "P", "H")

    def _got_response(self, resp: ResponseHead, rest: bytes, head: bytes | None = None,
                      keep: bool = True, nres: int = -1) -> None:
        """``head``/``keep``: the response already rewritten for the client (memo), else None;
        ``nres``: its size as 2.6 counts it (memo), -1 to compute it here."""
        now = self.loop.time()
        rec = self.rec
        be = self.be
        srv = self.srv
        req = self.req
        assert req is not None
        self.res = resp
        status = resp.status
        if self.stick_stores is not None:
            self._stick_store(resp)
        if self.router.stick and self.txn is not None and status >= 400:
            if status < 500:
                count_http(self.txn, "http_err_cnt", "http_err_rate")
            elif status < 600 and status != 501 and status != 505:
                count_http(self.txn, "http_fail_cnt", "http_fail_rate")
        # 2.6 counts the response as the server sent it (http/htx.py), before any rule
        if nres < 0:  # the parser's count for the head as parsed (http/htx.py response_size)
            nres = resp.htx_len if resp.htx_len >= 0 else htx.response_size(resp.version, resp.reason, resp.headers)
        caps = self.router.caps
        if caps is not None:  # capture response header: as the server sent them
            rec.res_caps = caps.response_headers(resp.headers)
        rec.t_data = int((now - self.accept_mono) * 1000)
        rec.status = status
        # rtime is %Tr: from the server connection to the response head, queue and connect excluded
        rt = rec.t_data - rec.t_connect if rec.t_connect >= 0 else int((now - self.t_req_head) * 1000)
        be.counters.rtime.add(rt)
        srv.counters.rtime.add(rt)
        if srv.conf.observe is not None:
            self.engine.observe(srv, "HTTP_OK" if observe_http_ok(status) else "HTTP_STS")
        comp = None
        if self.comp_algo is not None:  # compression: decided on the head as the server sent it
            st = self.engine.state
            if ((st.comp_rate_lim and st.comp_bps_in.read(self.loop.time()) > st.comp_rate_lim)
                    or st.idle_pct < st.comp_min_idle):
                pass  # maxcomprate: the compressor took more than that in the last second; maxcompcpuusage (2.6)
            elif hcomp.compress_response(req, resp, self.comp_types):
                comp = self.res_comp = self.comp_algo
                self.fe.counters.comp_rsp += 1
                be.counters.comp_rsp += 1
            self.comp_algo = None
        if head is None:
            if be.cookie is not None and self.prst != "I":  # ignore-persist: no cookie set or rewritten
                rc = self.cookie_ops
                hdrs, flag = hcookie.process_response(
                    _str_headers(resp.headers), be.cookie, server_cookie=srv.cookie, has_server=True,
                    direct=self.persistent, method=req.method.decode("latin-1"), now=_wall(),
                    last_date=rc.last_date if rc is not None else 0,
                    first_date=rc.first_date if rc is not None else 0, status=status)
                resp.headers = _bytes_headers(hdrs)
                rec.ck_resp = flag
            if self.res_rules is not None and status != 101 and self._response_rules(resp, rest, status, nres, comp):
                return
            self._after_response_rules(resp, rest, status, nres, comp)
            return
        if self.router.compiled.h1cli is not None:
            head = self._cli_case(head)
        self._send_response(resp, rest, head, keep, status, nres, None, None)

    def _after_response_rules(self, resp: ResponseHead, rest: bytes, status: int, nres: int, comp: str | None) -> None:
        """The head for the client once the response rules ran (compression's changes last)."""
        req = self.req
        assert req is not None
        self.rec.status = resp.status
        framing = None
        if comp is not None:
            framing = (resp.body, resp.content_length)
            hcomp.rewrite_head(resp, comp)
        head, keep = prepare_response(resp, req, self.mode)
        if self.router.compiled.h1cli is not None:
            head = self._cli_case(head)
        self._send_response(resp, rest, head, keep, status, nres, comp, framing)

    def _send_response(self, resp: ResponseHead, rest: bytes, head: bytes, keep: bool, status: int, nres: int,
                       comp: str | None, framing: tuple[int, int] | None) -> None:
        """The response head, then its body as it comes (``rest``: what came after the head)."""
        rec = self.rec
        be = self.be
        srv = self.srv
        req = self.req
        assert req is not None
        caps = self.router.caps
        if caps is not None and caps.cookie is not None:  # after the http-response rules, as 2.6
            rec.srv_cookie = caps.response_cookie(resp.headers)
        if self.cli_eof:
            keep = False
        self.keep_client = keep
        if not resp.keep_alive:
            self.srv_reusable = False
        self.fe.counters.count_status(status)
        be.counters.count_status(status)
        srv.counters.count_status(status)
        self.bytes_out += nres
        if self.router.logasap:
            self._log_asap(resp, rest)
        if self.router.contstats:
            self._contstats(_with_head(resp, rest))
        cli = self.cli
        if status == 101 or (status < 300 and status >= 200 and req.method == b"CONNECT"):
            cli.write(head)
            self._start_tunnel(rest)
            return
        self.phase = "resbody"
        if comp is not None:
            assert framing is not None
            self._comp_body_start(comp, head, rest, framing)
            return
        if resp.body == BODY_LENGTH:
            cl = resp.content_length
            if len(rest) >= cl:
                # the usual case: the whole body came with the head, it leaves in one write
                if len(rest) > cl:
                    self.srv_reusable = False  # the server sent more than the response
                    rest = rest[:cl]
                self.resbody = None
                if self.cache_tap is not None:
                    self._cache_keep(rest)
                if rest:
                    self.bytes_out += len(rest)
                    cli.write(head + rest)
                else:
                    cli.write(head)
                self._response_complete()
                return
        early = self.res_early
        rb: NoBody | ContentLengthBody | ChunkedBody | CloseBody
        if early is not None and early[0] is rest:  # decoded when checked, with the head
            rb = self.resbody = early[1]
        else:
            early = None
            rb = self.resbody = body_reader(resp.body, resp.content_length)
            if rb.done:
                cli.write(head)
                if rest:
                    self.srv_reusable = False
                self._response_complete()
                return
        self.res_early = None
        if rest:
            # the usual case: the whole (small) body came with the head, sent in one write
            if early is not None:
                out, done = early[2]
            else:
                try:
                    out, done = rb.feed(rest)
                except BodyError as e:
                    cli.write(head)
                    self._response_body_error(e)
                    return
            if out:
                if self.cache_tap is not None:
                    self._cache_keep(out)
                self.bytes_out += rb.htx(out)
                cli.write(head + out)
            else:
                cli.write(head)
            if done:
                if rb.leftover:
                    self.srv_reusable = False
                self._response_complete()
                return
            if cli.pending > HIGH_WATER:
                self._cli_blocked()
                return
        else:
            cli.write(head)
        if type(rb) is ContentLengthBody and rb.remaining >= SPLICE_MIN and self._splice_body(rb):
            return
        self.arm(self._srv_timeout(), self._server_timeout)

    # ------------------------------------------------------------------ spliced response body
    def _splice_body(self, rb: ContentLengthBody) -> bool:
        """Forward the rest of a Content-Length body with splice() (engine/bodysplice.py) when
        nothing has to see it: plain TCP sockets on both sides, no compression (not here), no rule
        reading the body, the request complete, the client's output empty. False: buffered."""
        cli = self.cli
        c = self.srvc
        if c is None or cli.pending or cli.corked is not None or not self.req_done or self.res_hold is not None \
                or not c.SPLICE:
            return False
        csock = cli.sock
        ssock = c.sock
        if type(csock) is not socket.socket or type(ssock) is not socket.socket \
                or csock.family == socket.AF_UNIX or ssock.family == socket.AF_UNIX:
            return False  # TLS on a side, or a UNIX socket
        rr = self.res_rules
        if (rr is not None and rr[4]) or self.cache_tap is not None or not splice_enabled():
            return False
        spl = BodySplice(self.loop, self, c.fd, cli.fd, rb.remaining)
        c.read_off()
        if not spl.start():
            c.read_on()
            return False
        self.splicer = spl
        self.arm(self._srv_timeout(), self._server_timeout)
        return True

    def _spl_stop(self) -> BodySplice | None:
        spl = self.splicer
        if spl is not None:
            self.splicer = None
            spl.close()
        return spl

    def _spl_in(self, n: int) -> None:
        self.bytes_out += n
        self.last_io = self.loop.time()

    def _spl_blocked(self) -> None:
        """The client's socket is full: its write inactivity counts now (as ``_cli_blocked``)."""
        spl = self.splicer
        if spl is not None:
            self.w_pending = spl.sent
            self.arm(self._timeouts().client, self._spl_write_timeout)

    def _spl_unblocked(self) -> None:
        self.arm(self._srv_timeout(), self._server_timeout)

    def _spl_write_timeout(self) -> None:
        spl = self.splicer
        if self.closed or spl is None:
            return
        if spl.sent > self.w_pending:
            self.w_pending = spl.sent
            self.arm(self._timeouts().client, self._spl_write_timeout)
            return
        set_term(self.rec, "c", "D")
        self.keep_client = False
        self._finish_request(abort=True)

    def _spl_done(self) -> None:
        """Exactly the body's bytes went through: the connections are the Conns' again."""
        self.splicer = None
        rb = self.resbody
        if rb is not None:
            rb.remaining = 0
            rb.done = True
        c = self.srvc
        if c is not None:
            c.read_on()
        self._response_complete()

    def _spl_eof(self) -> None:
        """The server closed before the end of the body: what the buffered path does."""
        spl = self._spl_stop()
        c = self.srvc
        if c is not None:
            c.eof = True
        rb = self.resbody
        if rb is not None and spl is not None:
            rb.remaining = spl.remaining
        self._srv_eof()

    def _spl_error(self, src: bool, exc: BaseException) -> None:
        self._spl_stop()
        if src:
            self._srv_error(exc)
        else:
            self._cli_error(exc)

    def _spl_fallback(self) -> None:
        """splice() refused these descriptors: the rest of the body goes the buffered way."""
        spl = self.splicer
        if spl is None:
            return
        data = spl.take_pipe_bytes()  # already counted
        self._spl_stop()
        rb = self.resbody
        if rb is not None:
            rb.remaining = spl.remaining
        if data:
            self.cli.write(data)
        c = self.srvc
        if c is not None and not c.closed:
            c.read_on()
        if self.cli.pending > HIGH_WATER:
            self._cli_blocked()
        else:
            self.arm(self._srv_timeout(), self._server_timeout)

    def _spl_internal(self, exc: BaseException) -> None:
        self._spl_stop()
        self.internal_error(exc, "body splice")

    def _response_rules(self, resp: ResponseHead, rest: bytes, status: int, nres: int, comp: str | None,
                        start: tuple[int, int] = (0, 0)) -> bool:
        """http-response (backend's, then frontend's) then http-after-response rules on a server's
        response; True when a rule denied it (the client got a 502 or the deny's response) or a
        wait-for-body rule holds it (``start``: the set and rule to resume at)."""
        txn = self.txn
        if txn is None:
            txn = self.txn = _ctx(self.req, self)
        txn.res = resp
        txn.res_comp = self.res_comp
        txn.backend = self.be.name
        txn.server = self.srv.name if self.srv is not None else ""
        be_res, fe_res, be_after, fe_after, body = self.res_rules
        txn.res_src = (resp, rest)  # its body bytes take rewrites' room (http/htx.py response_held)
        if body and not start[1]:
            self._res_body_in(resp, rest, txn, 0, 0)
        for si, rules in enumerate((be_res, fe_res)):
            if si < start[0]:
                continue
            if rules:
                # allow (STOP) ends this set only, as in 2.6
                v = resume_rules(rules, txn, start[1]) if si == start[0] and start[1] else run_rules(rules, txn)
                if txn.wrew:
                    self._count_res_wrew(txn)
                if v.kind == REWRITE_FAIL:
                    self._res_rewrite_failed(nres)
                    return True
                if v.kind == WAIT_BODY:
                    nxt = rule_index(rules, v) + 1
                    self._wait_res_body(resp, rest, status, nres, comp, (si, nxt), rules[nxt - 1][1])
                    return True
                if v.kind == DENY:
                    be = self.be
                    be.counters.dresp += 1
                    if be.conf is not self.router.conf:
                        self.fe.counters.dresp += 1
                    if (lc := self.listener.counters) is not None:  # option socket-stats
                        lc.dresp += 1
                    if self.srv is not None:
                        self.srv.counters.dresp += 1
                    self.srv_reusable = False
                    self._drop_server_conn()
                    self._deny(v, "H")
                    return True
                if v.kind == DROP:
                    # http-response silent-drop: nothing more reaches the client; 2.6 counts it as
                    # a denied request of the frontend and of the backend
                    self.fe.counters.dreq += 1
                    if self.be.conf is not self.router.conf:
                        self.be.counters.dreq += 1
                    if (lc := self.listener.counters) is not None:  # option socket-stats
                        lc.dreq += 1
                    self.srv_reusable = False
                    self._drop_server_conn()
                    self._end_server_use()
                    set_term(self.rec, "P", "H")
                    self._silent_drop()
                    self._log(self.rec)
                    self.keep_client = False
                    self._close_all()
                    return True
                if v.kind == REPLY:
                    # http-response return / redirect: the server's response is replaced
                    self.srv_reusable = False
                    self._drop_server_conn()
                    self._end_server_use()
                    set_term(self.rec, "L", "H")
                    self._local_response(v.status, v.headers, v.body, v.reason)
                    return True
        st = txn.cache_store
        if st is not None:
            txn.cache_store = None
            if comp is None and resp.body != BODY_CLOSE:
                c, d, now, hdrs = st
                self.cache_tap = [c, d, now, resp.status, resp.reason, resp.version, hdrs, bytearray(),
                                  resp.content_length if resp.body == BODY_LENGTH else
                                  -1 if resp.body == BODY_CHUNKED else 0]
        for rules in (be_after, fe_after):
            if rules:
                v = run_rules(rules, txn)
                if txn.wrew:
                    self._count_res_wrew(txn)
                if v.kind == REWRITE_FAIL:
                    self._res_rewrite_failed(nres)
                    return True
        return False

    def _count_res_wrew(self, txn: Any) -> None:
        """Rewrites of a response rule set that did not fit: counted on the frontend, the backend
        and the server, as 2.6 does."""
        n = txn.wrew
        txn.wrew = 0
        self.fe.counters.wrew += n
        if (lc := self.listener.counters) is not None:  # option socket-stats
            lc.wrew += n
        be = self.be
        if be is not None and be.conf is not self.router.conf:
            be.counters.wrew += n
        if self.srv is not None:
            self.srv.counters.wrew += n

    def _res_rewrite_failed(self, nres: int) -> None:
        """A server's response whose rewrite did not fit with strict-mode on: 2.6 answers 500
        instead (logged PH, an internal error of the frontend, backend and server; its bytes
        count the server's response, ``nres``, and the page)."""
        self.fe.counters.eint += 1
        if (lc := self.listener.counters) is not None:  # option socket-stats
            lc.eint += 1
        be = self.be
        if be is not None and be.conf is not self.router.conf:
            be.counters.eint += 1
        if self.srv is not None:
            self.srv.counters.eint += 1
        self.srv_reusable = False
        self._drop_server_conn()
        self._local_error(500, "P", "H", extra=nres)

    def _comp_body_start(self, algo: str, head: bytes, rest: bytes, framing: tuple[int, int]) -> None:
        """A compressed response: its head, then the body through zlib as it comes."""
        kind, cl = framing
        self.resbody = body_reader(kind, cl)
        self.comp = hcomp.Compressor(algo, self.engine.state.comp_maxlevel)
        self.comp_chunks = hcomp.ChunkedPayload() if kind == BODY_CHUNKED else None
        self.cli.write(head)
        if rest:
            self._comp_body_data(rest)
            if self.res_done:
                return
        self.arm(self._srv_timeout(), self._server_timeout)

    def _comp_body_data(self, data: bytes) -> None:
        rb = self.resbody
        comp = self.comp
        try:
            out, done = rb.feed(data)
        except BodyError as e:
            self.comp = self.comp_chunks = None
            self._response_body_error(e)
            return
        cli = self.cli
        cp = self.comp_chunks
        n0 = comp.size_out
        if out:
            n = rb.htx(out)
            self.bytes_out += n
            over = False
            if comp.z is None:  # identity: 2.6 counts it as bypassed
                self.fe.counters.comp_byp += n
                self.be.counters.comp_byp += n
            else:
                self.fe.counters.comp_in += n
                self.be.counters.comp_in += n
                st = self.engine.state
                st.comp_bps_in.add(self.loop.time(), n)
                # 2.6 lowers the level of what follows while the limits are exceeded
                over = ((st.comp_rate_lim and st.comp_bps_out.read(self.loop.time()) > st.comp_rate_lim)
                        or st.idle_pct < st.comp_min_idle)
            z = comp.feed(cp.feed(out) if cp is not None else out, not done, over)
            if z:
                cli.write(z)
        if done:
            ident = comp.z is None
            cli.write(comp.finish(cp.trailers if cp is not None and cp.trailers else b"\r\n"))
            if not ident:
                self.fe.counters.comp_out += comp.size_out - n0
                self.be.counters.comp_out += comp.size_out - n0
                self.engine.state.comp_bps_out.add(self.loop.time(), comp.size_out - n0)
            self.comp = self.comp_chunks = None
            if rb.leftover:
                self.srv_reusable = False
            self._response_complete()
            return
        if comp.z is not None and comp.size_out != n0:
            self.fe.counters.comp_out += comp.size_out - n0
            self.be.counters.comp_out += comp.size_out - n0
            self.engine.state.comp_bps_out.add(self.loop.time(), comp.size_out - n0)
        if cli.pending > HIGH_WATER and self.srvc is not None:
            self._cli_blocked()

    # ------------------------------------------------------------------ http-response wait-for-body
    def _res_body_in(self, resp: ResponseHead, data: bytes, txn: Any, at_least: int, limit: int) -> bool:
        """The response body bytes that came (de-chunked) for res.body...; True when the body is
        complete, or has ``at_least`` bytes (when set), or fills ``limit`` bytes of buffer."""
        if resp.body == BODY_NONE:
            got, done, left = b"", True, 0
        else:
            probe = body_reader(resp.body, resp.content_length)
            try:
                got, done = probe.feed(data)
            except BodyError:
                got, done = b"", True  # the body's own error is found when it is forwarded
            if resp.body == BODY_CHUNKED:
                got = dechunk(got)
            left = getattr(probe, "remaining", 0)
            if resp.body == BODY_CLOSE:
                done = self.res_hold is not None and self.res_hold[8]
        txn.res_body = got
        txn.res_body_size = resp.content_length if resp.body == BODY_LENGTH else len(got) + left
        return done or (at_least > 0 and len(got) >= at_least) or (limit > 0 and len(data) >= limit)

    def _wait_res_body(self, resp: ResponseHead, rest: bytes, status: int, nres: int, comp: str | None,
                       at: tuple[int, int], action: Any) -> None:
        """An http-response wait-for-body rule: the response waits for its body (all of it, or
        ``at-least`` bytes, or a full buffer), then the rules go on at the next one; a server
        still sending when the time ran out gets the client a 504, as in 2.6."""
        eng = self.engine
        limit = max(1, eng.bufsize - eng.maxrewrite - resp.head_len)
        self.res_hold = [resp, rest, status, nres, comp, at, action.at_least, limit, False]
        if self._res_body_in(resp, rest, self.txn, action.at_least, limit):
            self._res_resume()
            return
        # the server timeout ends the wait too (2.6.12: a 504 then, whichever comes first)
        self.arm(_first_timeout(action.time, self._srv_timeout()), self._res_hold_timeout)

    def _res_hold_data(self, data: bytes) -> None:
        hold = self.res_hold
        assert hold is not None
        hold[1] += data
        if self._res_body_in(hold[0], hold[1], self.txn, hold[6], hold[7]):
            self.disarm()
            self._res_resume()

    def _res_resume(self) -> None:
        hold = self.res_hold
        assert hold is not None
        self.res_hold = None
        resp, rest, status, nres, comp, at = hold[:6]
        if self._response_rules(resp, rest, status, nres, comp, at):
            return
        self._after_response_rules(resp, rest, status, nres, comp)

    def _res_hold_eof(self) -> None:
        """The server closed while the response waited for its body."""
        hold = self.res_hold
        assert hold is not None
        hold[8] = True
        self.srv_reusable = False
        # the rules go on with the body so far, and the response is forwarded (as 2.6.12 does:
        # a truncated length or chunked body then ends as a server abort, SD)
        self._res_body_in(hold[0], hold[1], self.txn, 0, 0)
        self.disarm()
        self._res_resume()
        if self.res_hold is None and self.resbody is not None and not self.res_done and not self.closed:
            self._srv_eof()  # the body it forwards ended with that close

    def _res_hold_timeout(self) -> None:
        self.timer = None
        if self.closed or self.res_hold is None:
            return
        hold, self.res_hold = self.res_hold, None
        self.srv_reusable = False
        self._drop_server_conn()
        self.rec.t_data = -1  # 2.6 logs it as a server timeout before the response: sR, Tr -1
        # 2.6 counts the response so far (its head and the body that came) with the 504 page, and
        # keeps the client connection
        resp = hold[0]
        txn = self.txn
        body = len(txn.res_body or b"") if txn is not None else 0
        self._local_error(504, "s", "R", extra=htx.response_size(resp.version, resp.reason, resp.headers) + body)

    def _response_body_data(self, data: bytes) -> None:
        rb = self.resbody
        if rb is None:
            if self.res_hold is not None:
                self._res_hold_data(data)
            return
        if self.comp is not None:
            self._comp_body_data(data)
            return
        try:
            out, done = rb.feed(data)
        except BodyError as e:
            self._response_body_error(e)
            return
        if out:
            if self.cache_tap is not None:
                self._cache_keep(out)
            self.bytes_out += rb.htx(out)
            cli = self.cli
            cli.write(out)
            if cli.pending > HIGH_WATER and self.srvc is not None:
                self._cli_blocked()
        if done:
            if rb.leftover:
                self.srv_reusable = False
            self._response_complete()

    def _response_body_error(self, e: BodyError) -> None:
        """A response body whose framing turned invalid once its head had gone: counted as an
        invalid response and captured for ``show errors`` (what the decoder held), as 2.6 does;
        the server side ends (SD)."""
        self._count_eresp()
        self._record_res_error(e.window, e.at)
        self.srv_reusable = False
        self.keep_client = False
        set_term(self.rec, "S", "D")
        self._finish_request(abort=True)

    def _response_complete(self) -> None:
        self.res_done = True
        if self.cache_tap is not None:
            self._cache_commit()
        if not self.req_done:
            # the server answered before the whole request body: close both sides afterwards
            self.srv_reusable = False
            rb = self.reqbody
            if rb is not None and not getattr(rb, "done", True):
                self.keep_client = False
        self._finish_request()

    def _srv_eof(self) -> None:
        if self.srv is None and self.phase != "tunnel":
            self._drop_server_conn()  # an idle kept-alive server connection went away
            return
        if self.phase == "tunnel":
            self.cli.shutdown_write()
            self._maybe_end_tunnel()
            return
        if self.tres is not None:  # tcp-response content rules waiting: a last evaluation first
            http_tcpres.eof(self)
            return
        srv = self.srv
        if self.res is None:
            # closed before a response (or within its head): 502 SH, unless retry-on
            # empty-response sends the request again
            if self.l7 is not None and self._l7_retry("empty-response"):
                return
            if srv is not None:
                self.be.counters.eresp += 1
                srv.counters.eresp += 1
                self._observe(srv, "HTTP_READ_ERROR")
            self._drop_server_conn()
            # 2.6 keeps the client connection (its 502 has no 'connection: close') until
            # timeout http-keep-alive, and closes it without a word when a next request comes
            self.mute_next = True
            self._local_error(502, "S", "H")
            return
        if self.res_hold is not None:
            self._res_hold_eof()
            return
        rb = self.resbody
        if rb is not None and not self.res_done:
            try:
                out = rb.eof()
            except BodyError:
                set_term(self.rec, "S", "D")
                self.be.counters.srv_abrt += 1
                if srv is not None:
                    srv.counters.srv_abrt += 1
                self.keep_client = False
                self.srv_reusable = False
                self._finish_request(abort=True)
                return
            self.bytes_out += rb.htx(out)
            if out:
                self.cli.write(out)
            self.srv_reusable = False
            self._response_complete()
        else:
            self.srv_reusable = False
            if self.srvc is not None and self.phase in ("head", "idle"):
                self._drop_server_conn()

    def _srv_error(self, exc: BaseException) -> None:
        if self.srv is None and self.phase != "tunnel":
            self._drop_server_conn()
            return
        if self.phase == "tunnel":
            set_term(self.rec, "S", "D")
            self._end_tunnel()
            return
        if self.res is None:
            # 2.6 counts a reset before a response as a failed response of its own (read error),
            # before the end of the connection that follows is (a 502) or is retried
            self._count_eresp()
            self._srv_eof()
            return
        set_term(self.rec, "S", "D")
        self.srv_reusable = False
        self.keep_client = False
        self._finish_request(abort=True)

    # ================================================================== end of a transaction
    def _finish_request(self, *, abort: bool = False) -> None:
        """The response is complete (or aborted): log, release the server, go on or close."""
        be = self.be
        if self.closed or be is None:
            return
        if self.splicer is not None:
            self._spl_stop()
        self.t_cb = None  # disarm
        rec = self.rec
        srv = self.srv
        nin = self.bytes_in
        nout = self.bytes_out
        rec.bytes_out = nout
        rec.bytes_in = nin
        if self.cs_out:  # option contstats counted the heads already
            nin -= self.cs_in
            nout -= self.cs_out
        bc = be.counters
        if srv is not None:
            tt = int((self.loop.time() - self.accept_mono) * 1000)
            sc = srv.counters
            sc.ttime.add(tt)
            bc.ttime.add(tt)
            sc.bin += nin
            sc.bout += nout
        bc.bin += nin
        bc.bout += nout
        if abort:
            self.srv_reusable = False
            self.keep_client = False
            if rec.term_cause == "S" and be is not None:
                be.counters.srv_abrt += 1
                if srv is not None:
                    srv.counters.srv_abrt += 1
            elif rec.term_cause == "C" and be is not None:
                be.counters.cli_abrt += 1
                if srv is not None:
                    srv.counters.cli_abrt += 1
        lg = self.router.logger
        if lg is not None and lg.active:
            self._log(rec)
        if srv is not None:
            self._end_server_use()
        if not self.srv_reusable or self.mode != MODE_KEEP_ALIVE or srv is None:
            self._drop_server_conn(reset=not abort and self.req_done and self.res_done)
        else:
            self._park_server_conn(srv)
        self._transaction_end()

    def _transaction_end(self) -> None:
        if self.tprof is not None:  # 2.6 counts each request's stream afresh
            self.tprof.reset()
        if self.pending is not None:
            self._leave_queue()  # a transaction never ends with a queue place
        if self.router.stick:
            self._stick_txn_end()
        txn = self.txn
        if txn is not None and txn.cache_counts is not None:  # cache-use lookups, per proxy side
            for px, hit in txn.cache_counts:
                c = self.fe.counters if px == self.router.conf.name else self.be.counters if self.be else None
                if c is not None:
                    c.cache_lookups += 1
                    c.cache_hits += hit
            txn.cache_counts = None
        nout = self.bytes_out
        if (lc := self.listener.counters) is not None:  # option socket-stats
            lc.bin += self.bytes_in
            lc.bout += nout
        fc = self.fe.counters
        if self.cs_out:  # option contstats counted the heads already
            fc.bin += self.bytes_in - self.cs_in
            fc.bout += nout - self.cs_out
            self.cs_in = self.cs_out = 0
        else:
            fc.bin += self.bytes_in
            fc.bout += nout
        self.engine.state.total_bytes_out += nout
        self.bytes_in = 0
        self.bytes_out = 0
        self.srv = None
        self.reqbody = None
        self.resbody = None
        # nothing of the finished transaction stays (2.6 frees its stream): a kept-alive connection
        # holds no request, response or rules' context while it waits for its next request
        self.req = None
        self.res = None
        if txn is not None and PROC_VARS.limits is not None:
            release_vars(txn.vars)  # 2.6 frees the stream's variables with it
        self.txn = None
        self.lbreq = None
        self.req_key = None
        self.res_rules = None
        self.cache_tap = None
        self.l7 = None
        self.cookie_ops = None
        be = self.be
        if be is not None:
            be.counters.scur -= 1
            self.be = None
        if not self.keep_client or self.cli_eof or self.engine.stopping:
            self._close_after_write()
            return
        cli = self.cli
        if cli.pending >= self.engine.bufsize:
            # the client does not take its responses (it pipelines and does not read): no next
            # request until it did, as in 2.6 whose full output buffer stops the connection there;
            # its input stays bounded too (``_cli_data`` stops reading past tune.bufsize)
            cli.read_off()
            self.paused_cli = True
            self.phase = "drain"
            self.w_pending = cli.pending
            self.arm(self._timeouts().client, self._drain_timeout)
            return
        if self.paused_cli and not cli.closed:
            self.paused_cli = False
            cli.read_on()
        self._wait_request(first=False)

    def _stick_txn_end(self) -> None:
        """The stream ends: its bytes count on the tracked entries, its own counters stop."""
        now = int(self.loop.time() * 1000)
        txn = self.txn
        ctrs = txn.stkctr if txn is not None else None
        nin = self.bytes_in
        nout = self.bytes_out
        if ctrs is not None:
            count_bytes(ctrs, nin, nout, now)
            release_all(ctrs, now)
        if self.sess_stkctr is not None:
            count_bytes(self.sess_stkctr, nin, nout, now)

    def _drained_next(self) -> None:
        """The client took the responses it was sent: on to its next request."""
        self.paused_cli = False
        self.cli.read_on()
        self._wait_request(first=False)

    def _drain_timeout(self) -> None:
        if self.closed or self.phase != "drain":
            return
        cli = self.cli
        if cli.pending < self.w_pending:
            self.w_pending = cli.pending
            self.arm(self._timeouts().client, self._drain_timeout)
            return
        self._close_all()  # timeout client, between two transactions: nothing to log

    def _close_after_write(self) -> None:
        self.phase = "closing"
        self.disarm()
        cli = self.cli
        cli.uncork()
        if cli.pending:
            cli.read_off()
            cli.on_drained = self._close_all
            cli.on_error = lambda e: self._close_all()
            # bound the wait for a client that does not read
            t = self._timeouts().client or 10_000
            self.arm(t, self._close_all)
        else:
            self._close_all()

    def _close_all(self, *_a: Any) -> None:
        if self.splicer is not None:
            self._spl_stop()
        if self.closed:
            return
        self._drop_server_conn()
        priv = self.priv_conns
        if priv:
            self.priv_conns = None
            for c, _ in list(priv.values()):
                c.close(abort=not c.eof)  # idle: reset, as 2.6 (no TIME_WAIT left here)
        if self.be is not None:
            self.be.counters.scur -= 1
            self.be = None
        # close() alone sends the FIN (a shutdown() first would be one more system call for nothing)
        self.cli.close()
        self.finish()

    def _abort(self, cause: str, phase: str) -> None:
        """Client or server failure in the middle of a transaction: log it and close everything."""
        if self.closed:
            return
        rec = self.rec
        set_term(rec, cause, phase)
        self._leave_queue()
        if self.connector is not None:
            self.connector.cancel()
            self.connector = None
            srv = self.srv
            if srv is not None:
                srv.sessions.discard(self)
                self._release_slot(srv)
                self.srv = None
        if self.be is not None and cause == "C":
            self.be.counters.cli_abrt += 1
        if self.req is not None and self.phase not in ("head", "idle", "closing", "drain"):
            self._end_server_use()
            rec.bytes_out = self.bytes_out
            rec.bytes_in = self.bytes_in
            self._log(rec, error=True)
        self.keep_client = False
        self._close_all()

    def no_server(self, term: str) -> None:
        self.keep_client = self.keep_client and True
        self._local_error(503, term[0], term[1], nosrv=True)

    def fail_connect(self, term: str) -> None:
        self._local_error(500 if term[0] == "I" else 503, term[0], term[1])

    def _fault_reply(self) -> None:
        """An internal error while a request is in progress and before any of its response went
        to the client: a 500 (what 2.6 answers on an internal error), logged and counted."""
        if self.req is None or self.res is not None or self.cli.closed:
            return
        if self.phase not in ("queue", "connect", "body", "wait_server", "reshead"):
            return
        page = self._error_page(500)
        rec = self.rec
        rec.status = 500
        rec.bytes_out = herrors.log_bytes(page, mux=False)
        self.fe.counters.count_status(500)
        if self.be is not None:
            self.be.counters.count_status(500)
        self.cli.write(self._cli_case(page))

    def soft_stop(self) -> None:
        """The process soft-stops (Engine.soft_stop), as 2.6: an idle connection (waiting for a
        request, nothing received) is closed now, or kept for one more request with option
        idle-close-on-response; a response sent from now on says connection: close and ends its
        connection."""
        if self.closed:
            return
        if self.phase == "head" and self.nreq and not self.buf \
                and not self.router.conf.option("idle-close-on-response"):
            self._close_all()
            return
        self.mode = MODE_CLOSE

    def kill(self, cause: str) -> None:
        if self.phase in ("head", "idle", "closing") and self.req is None:
            self._close_all()
            return
        self._abort(cause, self._phase_letter())

    # ================================================================== tunnel (101 Switching)
    def _start_tunnel(self, rest: bytes) -> None:
        self.phase = "tunnel"
        self.disarm()
        self.srv_reusable = False
        if rest:
            self.bytes_out += len(rest)
            self.cli.write(rest)
        srvc = self.srvc
        assert srvc is not None  # the server switched protocols on it
        if self.buf:
            data, self.buf = self.buf, b""
            self.bytes_in += len(data)
            srvc.write(data)
        self.cli.on_drained = self._tunnel_cli_drained
        srvc.on_drained = self._tunnel_srv_drained
        self.cli.read_on()
        srvc.read_on()
        t = self.be.conf.timeouts
        txn = self.txn
        tun = txn.tunnel_timeout if txn is not None and txn.tunnel_timeout is not None else t.tunnel
        self.arm(tun or t.server or self._timeouts().client, self._tunnel_timeout)

    def _tunnel_cli_drained(self) -> None:
        if self.srvc is not None and not self.srvc.eof:
            self.srvc.read_on()

    def _tunnel_srv_drained(self) -> None:
        if not self.cli.eof:
            self.cli.read_on()

    def _tunnel_timeout(self) -> None:
        self.timer = None
        set_term(self.rec, "c", "D")
        self._end_tunnel()

    def _maybe_end_tunnel(self) -> None:
        if self.cli.eof and (self.srvc is None or self.srvc.eof):
            self._end_tunnel()

    def _end_tunnel(self) -> None:
        self.keep_client = False
        self._finish_request()

    # ================================================================== logging
    def _contstats(self, body: int) -> None:
        """'option contstats': the bytes so far (the request, the response head and the ``body``
        bytes that came with it) count on the frontend, backend and server now, as 2.6 counts
        them at the stream's wake-up when the head goes (the body forwarded after it counts at
        the end, as there)."""
        nin, nout = self.bytes_in - self.cs_in, self.bytes_out + body - self.cs_out
        self.cs_in, self.cs_out = self.bytes_in, self.bytes_out + body
        for c in (self.fe.counters, self.be.counters, self.srv.counters if self.srv is not None else None):
            if c is not None:
                c.bin += nin
                c.bout += nout

    def _log_asap(self, resp: Any, rest: bytes) -> None:
        """'option logasap': the line now that the response head goes to the client, as 2.6:
        its total time is this moment's, its bytes what the response holds so far (the head
        and the body bytes that came with it), both marked '+'; the request logs nothing more."""
        rec = self.rec
        rec.bytes_out = self.bytes_out + _with_head(resp, rest)
        self._log(rec, asap=True)
        rec.logasap = True

    def _log(self, rec: LogRecord, *, error: bool = False, asap: bool = False) -> None:
        lg = self.router.logger
        if lg is None or not lg.active:
            return
        if rec is IDLE_REC:  # an engine bug: a path of an idle connection that forgot _new_rec
            raise RuntimeError("log line of a connection between two requests")
        if self.tprof is not None:  # cpu_ns_*: the call that logs counted so far, as 2.6 logs it
            self.tprof.settle()
        if asap:
            rec.logasap = True
        elif rec.logasap:  # logged when the response head went (option logasap)
            return
        rec.t_close = self.ms()
        st = self.engine.state
        rec.actconn = st.curr_conns
        rec.feconn = self.fe.counters.scur
        be = self.be
        # HAProxy logs these after the stream released them: the counts exclude this request
        rec.beconn = max(0, be.counters.scur - 1) if be is not None else 0
        srv = self.srv
        rec.srv_conn = max(0, srv.served - (1 if self.has_slot else 0)) if srv is not None else 0
        if asap:  # the stream still holds its backend and server
            rec.beconn = be.counters.scur if be is not None else 0
            rec.srv_conn = srv.served if srv is not None else 0
        # rec.srv_queue / backend_queue: the request's queue positions (Stream._queue_moved)
        if rec.backend_name is None and be is not None:
            rec.backend_name = be.name
        if self.router.uid_fmt is not None and rec.unique_id is None:
            txn = self.txn
            if txn is None and self.req is not None:
                txn = self.txn = _ctx(self.req, self)
            if txn is not None:
                if txn.status is None:
                    txn.status = rec.status  # made at log time, it sees the final status
                txn.get_unique_id(final=True)
        if lg.needs_txn:  # the log-format's %[expr] read the transaction the rules used
            txn = self.txn
            if txn is None and self.req is not None:
                txn = self.txn = _ctx(self.req, self)
            if txn is not None:
                _txn_at_log(txn, self, rec)
                rec.txn = txn
                lg.log_session(rec, self.router.conf, error=error)
                rec.txn = None  # txn.rec is rec: no cycle left behind
                return
        lg.log_session(rec, self.router.conf, error=error)


class ProfHttpSession(HttpSession):
    """The HTTP session of a configuration using the task profiling fetches: every callback the
    loop makes into it is a counted (and, under profiling, timed) call of its task."""

    __slots__ = ()

    def __init__(self, router: Router, sock: socket.socket, peer: Any, listener: Any) -> None:
        super().__init__(router, sock, peer, listener)
        tp = self.tprof = TaskProf(self.loop)
        c = ProfConn(self.loop, sock, tp, self)
        c.nolinger = self.cli.nolinger
        self.cli = c

    # the calls of the stream a task profiling configuration counts, beside its sockets' (ProfConn)
    def _timer_fire(self) -> None:
        self.tprof.run(HttpSession._timer_fire, self)  # type: ignore[union-attr]

    def _connected(self, sock: socket.socket) -> None:
        self.tprof.run(HttpSession._connected, self, sock)  # type: ignore[union-attr]

    def woken(self, pend: Any) -> None:
        self.tprof.run(HttpSession.woken, self, pend)  # type: ignore[union-attr]

#: the class of the HTTP sessions the routers start (engine/taskprof.py start() decides)
SESSION_CLS: list[type[HttpSession]] = [HttpSession]


def _txn_at_log(txn: RuleTxn, s: HttpSession, rec: LogRecord) -> None:
    """The transaction as the log line sees it: its backend and server, and the server's response
    (2.6's ``status`` finds the status of a server's response at log time, and none for a response
    the proxy generated: return, deny, redirect, errors, after-response rules or not)."""
    be = s.be
    if be is not None:
        txn.backend = be.name
    srv = s.srv
    txn.server = srv.name if srv is not None else ""
    txn.res = s.res  # None for a local response, even one the after-response rules read
    txn.res_comp = s.res_comp if s.res is not None else None
    # the "req" scope is gone once the request was processed, whoever answered it
    txn.drop_req_vars()


_REASONS = {200: b"OK", 301: b"Moved Permanently", 302: b"Found", 303: b"See Other", 401: b"Unauthorized",
            403: b"Forbidden", 404: b"Not Found", 500: b"Internal Server Error", 503: b"Service Unavailable"}


def _str_headers(h: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in h]


def _bytes_headers(h: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in h]


def _make_lbreq(s: HttpSession, req: RequestHead, cookie_srv: Any) -> LbRequest:
    def get_header(name: str, _req: RequestHead = req) -> str | None:
        v = _req.get(name.encode("latin-1"))
        return v.decode("latin-1") if v is not None else None

    body = None
    if s.buf and req.method == b"POST":
        body = bytes(s.buf[:16384])
    sample = None
    hx = s.be.hash_expr
    if hx is not None:  # balance hash EXPR: the sample as binary, as 2.6 hashes it
        txn = s.txn
        if txn is None:
            txn = s.txn = _ctx(req, s)
        sample = hash_sample(hx, txn)
    return LbRequest(src=s.src_ip, uri=req.uri.decode("latin-1"), method=req.method.decode("latin-1"),
                     get_header=get_header, cookie=cookie_srv, body=body, sample=sample)
