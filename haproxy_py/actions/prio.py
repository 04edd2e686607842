"""``set-priority-class`` and ``set-priority-offset`` (http-request, tcp-request content).

Each evaluates a sample expression as an integer and sets the stream's queue priority, clamped
as 2.6 clamps it: the class to -2047..2047 (lower goes first), the offset to -524287..524287 ms
(added to the time the request is queued: lower goes first within a class). An expression that
gives no integer leaves the priority as it was. The engine hands ``txn.prio`` to the backend when
the request is queued (runtime/queue.py orders the queue as 2.6 does); ``prio_class`` and
``prio_offset`` read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from haproxy_py.actions.base import V_CONTINUE, Action, ActionError, ParseCtx, TrailingWords, Verdict

#: 2.6's bounds (queue_limit_class / queue_limit_offset; runtime/queue.py builds its keys on them)
CLASS_MAX = 0x7FF
OFFSET_MAX = 0x7FFFF


class SetPriority(Action):
    __slots__ = ("expr", "offset")

    def __init__(self, expr: Any, offset: bool) -> None:
        self.expr = expr
        self.offset = offset

    def run(self, txn: Any) -> Verdict:
        from haproxy_py.samples.types import cast

        s = self.expr(txn)
        if s is None:
            return V_CONTINUE
        s = cast(s, "sint")
        if s is None:
            return V_CONTINUE
        v = s.value
        cur = txn.prio or (0, 0)
        if self.offset:
            txn.prio = (cur[0], max(-OFFSET_MAX, min(OFFSET_MAX, v)))
        else:
            txn.prio = (max(-CLASS_MAX, min(CLASS_MAX, v)), cur[1])
        return V_CONTINUE


#: what 2.6 names as the source of a fetch that cannot work in a request rule
_SOURCES = {"L7res": "HTTP response headers"}


def p_set_priority(args: Sequence[str], ctx: ParseCtx) -> Action:
    from haproxy_py.samples import SampleError
    from haproxy_py.samples.expr import compile_expr, parse_expr

    pre = f"error detected in {ctx.proxy_kind} '{ctx.proxy_name}' while parsing '{ctx.family} {ctx.action}' rule : "
    if not args:
        raise ActionError(pre + "missing fetch method.", -1, ours=False)
    try:
        px = parse_expr(args[0])
        expr = compile_expr(args[0])
    except SampleError as e:
        raise ActionError(pre + e.message, 0) from None
    # 2.6 accepts a fetch usable in the request headers of the proxy's sides (FE: 3, BE: 7)
    idx = (3,) if ctx.proxy_kind == "frontend" else (7,) if ctx.proxy_kind == "backend" else (3, 7)
    if not any(px.fetch.mask[i] == "Y" for i in idx):
        src = _SOURCES.get(px.fetch.layer, "the response")
        if ctx.family == "http-request":
            # 2.6 names the action word where the fetch's name should be
            raise ActionError(pre + f"fetch method '{ctx.action}' extracts information from '{src}', none of "
                              "which is available here.", 0, ours=src not in _SOURCES.values())
        raise ActionError(f"fetch method 'tcp-request' extracts information from '{src}', none of which is "
                          "available here", 0, ours=src not in _SOURCES.values())
    if len(args) > 1:
        raise TrailingWords("", 1)
    return SetPriority(expr, ctx.action == "set-priority-offset")


def p_set_nice(args: Sequence[str], ctx: ParseCtx) -> Action:
    """``set-nice <n>``: its argument checked as 2.6 checks it (one word, read with atoi, so any
    word is accepted). The rule itself is a no-effect name (actions/__init__.py): 2.6 moves the
    stream in its scheduler's run queue, and haproxy-py's event loop (uvloop/asyncio) runs ready
    callbacks in arrival order, with no priority a stream could change."""
    if not args:
        msg = "expects exactly 1 argument (integer value)"
        if ctx.family.startswith("http"):
            msg = (f"error detected in {ctx.proxy_kind} '{ctx.proxy_name}' while parsing '{ctx.family} "
                   f"{ctx.action}' rule : {msg}.")
        raise ActionError(msg, -1, ours=False)
    if len(args) > 1:
        raise TrailingWords("", 1)
    from haproxy_py.actions import NO_OP

    return NO_OP
