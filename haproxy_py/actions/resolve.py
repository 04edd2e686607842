"""``do-resolve(<var>,<resolvers>[,ipv4|ipv6]) <expr>`` (http-request, tcp-request content).

The rule set pauses while the name the expression gives is resolved through the named
``resolvers`` section (engine/resolvers.py ``ResolversEngine.ask``: its nameservers, retries and
timeouts); the first address that fits the preferred family (ipv6 unless said, as in 2.6) is
stored in the variable as an ip sample, then the rules go on with the next one. A failure, a
timeout, no sample or a name that is no DNS name leaves the variable unset and the rules go on.

This module is pure: :meth:`DoResolve.run` only evaluates the expression and hands the name to
the engine through the ``WAIT_RESOLVE`` verdict (``txn.resolve_name``); the engine asks, waits and
calls :meth:`DoResolve.store` with the address, then resumes the rule set after this rule.
In tcp-request content the wait needs ``tcp-request inspect-delay``: without one 2.6 evaluates the
rules once, for the last time, and the action gives up at once (the variable stays unset).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from haproxy_py.actions.base import (
    V_CONTINUE,
    WAIT_RESOLVE,
    Action,
    ActionError,
    ParseCtx,
    TrailingWords,
    Verdict,
)

_USAGE = "Expects 'do-resolve(<varname>,<resolvers>[,<options>]) <expr>'. Available options are 'ipv4' and 'ipv6'."
_SCOPES = ("proc", "sess", "txn", "req", "res")
#: where 2.6 says a request fetch cannot be used (the fetch's source, in its own words)
_SOURCES = {"L7res": "HTTP response headers"}


def dns_name(value: bytes) -> str | None:
    """The name to ask, or None when it cannot be one (2.6 ignores the action then): empty, an
    empty label, a label over 63 bytes or a name over 255 bytes once encoded."""
    if not value:
        return None
    name = value[:-1] if value.endswith(b".") else value
    labels = name.split(b".")
    if any(not lb or len(lb) > 63 for lb in labels) or len(name) + 2 > 255:
        return None
    try:
        return name.decode("ascii")
    except UnicodeDecodeError:
        return None


class DoResolve(Action):
    __slots__ = ("var", "resolvers", "prefer", "expr", "verdict")

    def __init__(self, var: str | None, resolvers: str, prefer: str, expr: Any) -> None:
        #: the variable's name, None when 2.6 would fail to set it (no known scope)
        self.var = var
        self.resolvers = resolvers
        self.prefer = prefer
        self.expr = expr
        #: this rule's own verdict (actions.base.rule_index finds the rule by it)
        self.verdict = Verdict(WAIT_RESOLVE)

    def run(self, txn: Any) -> Verdict:
        s = self.expr(txn)
        if s is None:
            return V_CONTINUE
        b = s.as_bytes()
        name = dns_name(b) if b is not None else None
        if name is None:
            return V_CONTINUE
        try:
            txn.resolve_name = name
        except AttributeError:  # a plain samples Txn: tcp-request content without inspect-delay,
            return V_CONTINUE   # where 2.6 evaluates the rules once and never waits
        return self.verdict

    def store(self, txn: Any, ip: str) -> None:
        """The resolution found ``ip``: the variable gets it (type ipv4 or ipv6)."""
        if self.var is None:
            return
        from haproxy_py.samples import Sample

        a = ipaddress.ip_address(ip)
        txn.set_var(self.var, Sample("ipv4" if a.version == 4 else "ipv6", a))


def p_do_resolve(args: Sequence[str], ctx: ParseCtx) -> Action:
    word = ctx.action
    pre = f"error detected in {ctx.proxy_kind} '{ctx.proxy_name}' while parsing '{ctx.family} {word}' rule : "

    def bad(what: str, i: int) -> ActionError:
        return ActionError(pre + f"Can't parse '{what}'. " + _USAGE, i, ours=False)

    # 2.6 reads the word up to the first ')' (what follows it is ignored): var, section, option
    _, par, rest = word.partition("(")
    var, comma, rest = rest.partition(",")
    if not par or not comma:
        raise bad(word, -1)
    end = min((i for i in (rest.find(","), rest.find(")")) if i >= 0), default=-1)
    if end < 0:
        raise bad(word, -1)
    section = rest[:end]
    prefer = "ipv6"
    if rest[end] == ",":
        close = rest.find(")", end + 1)
        if close < 0:
            raise bad(word, -1)
        opt = rest[end + 1:close]
        # 2.6 compares the option's first characters only: a prefix of a family name is that family
        if "ipv4".startswith(opt):
            prefer = "ipv4"
        elif "ipv6".startswith(opt):
            prefer = "ipv6"
        else:
            raise bad(word, -1)
    if not args:
        raise bad("", -1)
    from haproxy_py.samples import SampleError, compile_expr
    from haproxy_py.samples.expr import parse_expr

    try:
        px = parse_expr(args[0])
        expr = compile_expr(args[0])
    except SampleError:
        raise bad(args[0], 0) from None
    idx = (3,) if ctx.proxy_kind == "frontend" else (7,) if ctx.proxy_kind == "backend" else (3, 7)
    if not any(px.fetch.mask[i] == "Y" for i in idx):
        src = _SOURCES.get(px.fetch.layer, "the response")
        raise ActionError(pre + f"fetch method '{args[0]}' extracts information from '{src}', none of which is "
                          "available here.", 0, ours=src not in _SOURCES.values())
    if len(args) > 1:
        raise TrailingWords("", 1)
    scope, dot, name = var.partition(".")
    return DoResolve(var if scope in _SCOPES and dot and name else None, section, prefer, expr)


def sections_used(config: Any) -> set[str]:
    """The resolvers sections do-resolve rules name (their nameservers are opened even when no
    server uses them)."""
    out: set[str] = set()
    for p in getattr(config, "proxies", ()):
        for r in getattr(p, "http_rules", ()):
            if isinstance(r.impl, DoResolve):
                out.add(r.impl.resolvers)
    return out
