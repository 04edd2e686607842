"""tcp-request connection / session / content actions (2.6's inline ones: accept, reject).

``tcp-request connection reject`` closes the connection before anything is read (counted as a
denied connection, ``dcon``); ``session reject`` after the session exists (``dses``); ``content
reject`` once the content can be inspected (a denied request, ``dreq``, logged). The engine
applies the verdicts; these parsers only check the arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from haproxy_py.actions.base import (
    V_CONTINUE,
    V_REJECT,
    V_STOP,
    Action,
    ActionError,
    ParseCtx,
    TrailingWords,
    Verdict,
)
from haproxy_py.actions.http import Const


def _no_args(args: Sequence[str], ctx: ParseCtx) -> None:
    if args:
        raise TrailingWords("", 0)


def p_accept(args: Sequence[str], ctx: ParseCtx) -> Action:
    _no_args(args, ctx)
    return Const(V_STOP)


def p_reject(args: Sequence[str], ctx: ParseCtx) -> Action:
    _no_args(args, ctx)
    return Const(V_REJECT)


def p_close(args: Sequence[str], ctx: ParseCtx) -> Action:
    """``tcp-response content close``: the server connection closes at once; what the server
    sent so far still reaches the client, then the session ends (2.6)."""
    from .base import V_CLOSE

    _no_args(args, ctx)
    return Const(V_CLOSE)


class ExpectProxy(Action):
    """``tcp-request connection expect-proxy layer4``: the connection starts with a PROXY protocol
    header, read once the connection rules are done (engine/proxy_protocol.py); the next rules
    run."""

    __slots__ = ()

    def run(self, txn: Any) -> Verdict:
        txn.expect_proxy = True
        return V_CONTINUE


def p_expect_proxy(args: Sequence[str], ctx: ParseCtx) -> Action:
    got = args[0] if args else ""
    if got != "layer4":
        raise ActionError(f"'{ctx.family} {ctx.action}' only supports 'layer4' in {ctx.proxy_kind} "
                          f"'{ctx.proxy_name}' (got '{got}')", 0, ours=False)
    if len(args) > 1:
        raise TrailingWords("", 1)
    return ExpectProxy()


def p_use_service(args: Sequence[str], ctx: ParseCtx) -> Action:
    """``tcp-request content use-service NAME``: 2.6 has no native service usable in TCP rules
    (its only one, prometheus-exporter, answers HTTP requests) and haproxy-py runs no Lua, so
    every such rule is refused, with 2.6's own messages."""
    if not args:
        raise ActionError("'tcp-request' expects a service name.", -1, ours=False)
    if args[0] != "prometheus-exporter":
        raise ActionError("'content' unknown service name.", 0, ours=False)
    raise ActionError("Prometheus exporter service only available on 'http-request' rulesets", 0, ours=False)
