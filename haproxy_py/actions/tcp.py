"""tcp-request connection / session / content actions (2.6's inline ones: accept, reject).

``tcp-request connection reject`` closes the connection before anything is read (counted as a
denied connection, ``dcon``); ``session reject`` after the session exists (``dses``); ``content
reject`` once the content can be inspected (a denied request, ``dreq``, logged). The engine
applies the verdicts; these parsers only check the arguments.
"""

from __future__ import annotations

from collections.abc import Sequence

from haproxy_py.actions.base import V_REJECT, V_STOP, Action, ParseCtx, TrailingWords
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
