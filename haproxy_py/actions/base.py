"""What every rule action shares: the parse-time context and error, the verdicts, the runner.

An action is registered in its rule set's :class:`~haproxy_py.registry.Registry` as an
:class:`ActionDef`: ``parse(args, ctx) -> Action`` runs once at load time (arguments checked and
compiled, :class:`ActionError` for what HAProxy 2.6 refuses), and ``Action.run(txn) -> Verdict``
runs per request. Pure: no I/O, no clock (a verdict that waits, tarpit, names what it waits for and
the engine owns the timer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from haproxy_py.samples import Txn

FE = 1
BE = 2
FB = FE | BE


class ActionError(ValueError):
    """A rule's arguments that HAProxy 2.6 refuses: ``message`` and the argument's word index
    (0 = the first word after the action name)."""

    def __init__(self, message: str, word_index: int = -1, *, ours: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.word_index = word_index
        #: False when the message is 2.6's own text, word for word
        self.ours = ours


class TrailingWords(ActionError):
    """The action took what it needs; the word at ``word_index`` is neither ``if`` nor ``unless``
    (the rule parser words this message, as 2.6 does)."""


@dataclass(frozen=True, slots=True)
class ParseCtx:
    """Where a rule is parsed: its rule set ("http-request", "tcp-request content", ...), the action
    word as written, and the proxy."""

    family: str
    action: str
    proxy_kind: str = "frontend"
    proxy_name: str = ""
    #: warnings the parser found (text, word index): the builder reports them
    warnings: list[tuple[str, int]] = field(default_factory=list)
    #: the rule has an 'if'/'unless' condition after its arguments
    has_cond: bool = False


class RuleTxn(Txn):
    """The per-transaction context rules run on: the samples' Txn (request, response while response
    rules run, addresses, variables, live facts), which ACL conditions read too, plus what rules
    set for the engine to apply (no __slots__: these stay class defaults until a rule sets them)."""

    #: http-request set-timeout server / tunnel (ms), None: the proxy's own
    srv_timeout: int | None = None
    tunnel_timeout: int | None = None
    #: http-request early-hint: one header list per 103 response to send before the final one
    early_hints: list[list[tuple[bytes, bytes]]] | None = None
    #: http-request disable-l7-retry: the request is not kept for a retry-on resend
    no_l7: bool = False
    #: the frontend's capture plan (http/capture.py) when capture rules write its slots
    caps: Any = None
    #: stick counters (haproxy_py.stick.track): the stream's and the session's, None: none tracked
    stkctr: list[Any] | None = None
    sess_stkctr: list[Any] | None = None
    #: do-resolve: the name its rule hands the engine to resolve (actions/resolve.py)
    resolve_name: str | None = None
    #: (file, line) of the last allow/deny/tarpit rule that ended a rule set, when an expression
    #: of the configuration reads it (last_rule_file, last_rule_line)
    last_rule: tuple[str, int] | None = None
    #: tcp-request connection expect-proxy layer4: read a PROXY protocol header before the session
    expect_proxy: bool = False
    #: the PROXY protocol header received (conn/proxy_protocol.py Header), for tcp-request session
    #: rules, before the session's log record exists
    pp: Any = None
    #: set-priority-class / set-priority-offset: (class, offset) for the queue, None: never set
    prio: tuple[int, int] | None = None
    #: what 2.6's HTX holds after a chunked body's data once its last chunk came (req.len)
    req_body_tail: int = 0
    #: the cache: the request's key (cache-use), the (cache, entry) it serves, what cache-store
    #: keeps once the body came (http/cache.py, actions/cache.py)
    cache_key: bytes | None = None
    cache_hit: Any = None
    cache_store: Any = None
    #: the request forbids storing its response (Authorization, Cache-Control: no-store)
    cache_nostore: bool = False
    #: the buffer size the room for rewrites comes from (tune.bufsize; set once by the engine)
    bufsize: int = 16384
    #: what header rewrites can still add to the request: a lower bound (htx.room_floor) until
    #: ``req_exact`` (htx.request_room); None until the first header rewrite
    req_room: int | None = None
    req_exact: bool = False
    #: tune.maxrewrite (set once by the engine): what 2.6 keeps free when it reads a body
    maxrewrite: int = 1024
    #: the request bytes that came after the head (the body 2.6 has in its buffer when the rules
    #: run: htx.request_held, computed at the first sized rewrite into ``req_body_in``)
    req_buf: bytes = b""
    #: what that body takes in HTX (its blocks included)
    req_body_in: int = 0
    #: (server's response, the bytes that came after its head): htx.response_held, at the first
    #: sized rewrite of that response
    res_src: Any = None
    #: what the body of a reply haproxy-py generates takes in HTX (its payload and block)
    res_body_in: int = 0
    #: what the body of ``res_for`` takes in HTX (res_src's or res_body_in)
    res_held: int = 0
    #: headers the rules removed (set-header): their blocks still take 8 bytes each
    req_dead: int = 0
    res_dead: int = 0
    #: the same for the response ``res_for`` (the one the rules ran on last)
    res_room: int = 0
    res_exact: bool = False
    res_for: Any = None
    #: rewrites that did not fit since the engine last counted them (2.6's failed_rewrites, wrew)
    wrew: int = 0
    #: http-request strict-mode off in the rule set being evaluated (2.6's HTTP_MSGF_SOFT_RW)
    soft_rw: bool = False
    #: the request's secondary key (process-vary on), for cache-store
    cache_sec: bytes | None = None
    #: (proxy of the cache-use rule, served) of each lookup, for the proxies' counters
    cache_counts: list[tuple[str, bool]] | None = None


# --------------------------------------------------------------------------- verdicts
CONTINUE = "continue"   # next rule
STOP = "stop"           # allow / accept: stop this rule set, go on with the transaction
DENY = "deny"           # an error response (status; custom headers and body or the proxy's page)
TARPIT = "tarpit"       # hold the request for "timeout tarpit", then answer like deny
REPLY = "reply"         # a local response: redirect, return
REJECT = "reject"       # close the connection, no response
DROP = "silent-drop"    # close without telling the client (no FIN/RST reaching it if possible)
SERVICE = "service"     # an internal service answers (use-service)
WAIT_BODY = "wait-for-body"  # hold the rule set until the body came (``status``: ms, ``service``: unused)
CLOSE = "close"         # tcp-response content close: the server connection closes, what came goes on
SWITCH = "switch-mode"  # tcp-request content switch-mode http: the session becomes HTTP (engine/stream.py)
REWRITE_FAIL = "rewrite-fail"  # a rewrite did not fit with strict-mode on: 500, logged PR (engine)
WAIT_RESOLVE = "do-resolve"  # pause the rule set while ``txn.resolve_name`` is resolved (actions/resolve.py)


class Verdict:
    """What a rule decided. ``headers`` is a list of (name, value) bytes; ``body`` bytes or None
    (None with deny/tarpit: the proxy's error page for ``status``)."""

    __slots__ = ("kind", "status", "reason", "headers", "body", "service", "realm")

    def __init__(self, kind: str, status: int = 0, reason: bytes | None = None,
                 headers: list[tuple[bytes, bytes]] | None = None, body: bytes | None = None,
                 service: str = "", realm: str | None = None) -> None:
        self.kind = kind
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.service = service
        #: deny with the error page's authentication challenge (http-request auth)
        self.realm = realm

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Verdict {self.kind} {self.status}>"


V_CONTINUE = Verdict(CONTINUE)
V_STOP = Verdict(STOP)
V_REJECT = Verdict(REJECT)
V_DROP = Verdict(DROP)
V_CLOSE = Verdict(CLOSE)
V_SWITCH = Verdict(SWITCH)
V_REWRITE_FAIL = Verdict(REWRITE_FAIL, 500)


def rewrite_failed(txn: Any) -> Verdict:
    """A rewrite that did not fit: counted (wrew), then an internal error unless the rule set
    turned strict-mode off before it (then the rewrite is silently skipped)."""
    txn.wrew += 1
    return V_CONTINUE if txn.soft_rw else V_REWRITE_FAIL


class Action:
    """A compiled rule action. Subclasses set ``__slots__`` and implement :meth:`run`."""

    __slots__ = ()

    def run(self, txn: Any) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ActionDef:
    """A registry entry: the parser, and the proxy kinds where the action is valid (FE/BE)."""

    parse: Callable[[Sequence[str], ParseCtx], Action]
    caps: int = FB


Rule = tuple[Callable[[Any], bool] | None, Action]


def run_rules_from(rules: Sequence[Rule], txn: Any, start: int) -> tuple[Verdict | None, int]:
    """tcp-request content with inspect-delay: evaluate from rule ``start``; (None, index) when
    that rule's condition needs more data (2.6 evaluates it again when some arrives)."""
    from ..samples.types import MissingData

    for i in range(start, len(rules)):
        test, action = rules[i]
        try:
            if test is not None and not test(txn):
                continue
        except MissingData:
            return None, i
        v = action.run(txn)
        if v.kind != CONTINUE:
            return v, i
    return V_CONTINUE, len(rules)


def resume_rules(rules: Sequence[Rule], txn: Any, start: int) -> Verdict:
    """:func:`run_rules` from the rule at ``start`` on (a rule set resumed after wait-for-body)."""
    for i in range(start, len(rules)):
        test, action = rules[i]
        if test is not None and not test(txn):
            continue
        v = action.run(txn)
        if v.kind != CONTINUE:
            return v
    return V_CONTINUE


def rule_index(rules: Sequence[Rule], v: Verdict) -> int:
    """The index of the rule whose action returned the verdict object ``v`` (its own)."""
    for i, (_t, action) in enumerate(rules):
        if getattr(action, "verdict", None) is v:
            return i
    raise ValueError("verdict of no rule of this set")


def run_rules(rules: Sequence[Rule], txn: Any) -> Verdict:
    """Evaluate a rule set in order: the first verdict that is not "continue" ends it."""
    for test, action in rules:
        if test is not None and not test(txn):
            continue
        v = action.run(txn)
        if v.kind != CONTINUE:
            return v
    return V_CONTINUE
