"""Stick-counter rule actions: ``track-scN``, ``sc-inc-gpc0/1(N)``, ``sc-inc-gpc(idx,N)``,
``sc-set-gpt0(N)``, ``sc-set-gpt(idx,N)``: parsed here as 2.6 parses them, run by
:mod:`haproxy_py.stick.track`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from haproxy_py.actions.base import V_CONTINUE, Action, ActionError, ParseCtx, TrailingWords, Verdict
from haproxy_py.stick.track import MAX_STKCTR, IncGpc, SetGpt, Track

__all__ = ["p_track", "p_inc_gpc", "p_set_gpt"]


class StickAction(Action):
    """A stick-counter action: it changes the tables and the rule set goes on."""

    __slots__ = ("impl",)
    #: what runtime/state.py looks for: some rule tracks stick counters
    stick = True

    def __init__(self, impl: Any) -> None:
        self.impl = impl

    def run(self, txn: Any) -> Verdict:
        self.impl.apply(txn)
        return V_CONTINUE


def _pre(ctx: ParseCtx) -> str:
    return (f"error detected in {ctx.proxy_kind} '{ctx.proxy_name}' while parsing '{ctx.family} {ctx.action}' "
            "rule : ")


def _expr(text: str, ctx: ParseCtx, i: int) -> Any:
    from haproxy_py.samples import SampleError, compile_expr

    place = ctx.family if ctx.family != "http-request" else None
    try:
        return compile_expr(text, place=place)
    except SampleError as e:
        raise ActionError(_pre(ctx) + e.message, i, ours=False) from None


def p_track(args: Sequence[str], ctx: ParseCtx) -> Action:
    num = ctx.action[len("track-sc"):]
    if not num.isdigit():
        raise ActionError(_pre(ctx) + f"Wrong track-sc number '{num}'.", -1, ours=False)
    idx = int(num)
    if idx >= MAX_STKCTR:
        raise ActionError(_pre(ctx) + f"{idx} track-sc number exceeding {MAX_STKCTR - 1} (MAX_SESS_STKCTR-1) "
                          "value.", -1, ours=False)
    if not args:
        raise ActionError(_pre(ctx) + "missing fetch method.", -1, ours=False)
    expr = _expr(args[0], ctx, 0)
    table = ctx.proxy_name
    j = 1
    if len(args) > 1 and args[1] == "table":
        if len(args) < 3:
            raise ActionError(_pre(ctx) + "missing table name.", 1, ours=False)
        table = args[2]
        j = 3
    if len(args) > j:
        raise TrailingWords("", j)
    session = ctx.family in ("tcp-request connection", "tcp-request session")
    return StickAction(Track(idx, expr, table, http=ctx.family == "http-request", session=session,
                             response=ctx.family == "http-response"))


_GPC = re.compile(r"sc-(inc-gpc|inc-gpc0|inc-gpc1|set-gpt|set-gpt0)(?:\((.*)\))?\Z")


_STRTOL = re.compile(r"[ \t\n\r\f\v]*([+-]?\d+)?")


def _strtol(text: str) -> tuple[int, str]:
    """C's strtol(text, &end, 10): the value and the text from ``end`` on."""
    m = _STRTOL.match(text)
    assert m is not None
    if m.group(1) is None:
        return 0, text
    return int(m.group(1)), text[m.end():]


def _ids(ctx: ParseCtx, array: bool) -> tuple[int, int]:
    """The gpc/gpt and track IDs of ``sc-inc-gpc(G,T)``, ``sc-set-gpt0(T)``, ... read as 2.6
    reads them (strtol, the character after each number checked), with its words per form."""
    word = ctx.action
    base, paren, inner = word.partition("(")
    what = "gpc" if "gpc" in base else "gpt"
    expects = f"Expects {base}(<{what.upper()} ID>,<Track ID>)" if array else f"Expects {base}(<Track ID>)"
    gi = 0
    si = 0
    if array:
        if not paren:
            raise ActionError(_pre(ctx) + f"invalid {what} ID '{word}'. {expects}.", -1, ours=False)
        gi, rest = _strtol(inner)
        if not rest.startswith(","):
            raise ActionError(_pre(ctx) + f"Missing {what} ID '{word}'. {expects}.", -1, ours=False)
        inner = rest[1:]
        paren = "("
    if paren:
        si, rest = _strtol(inner)
        if rest[:1] != ")":
            named = "" if base in ("sc-inc-gpc0", "sc-inc-gpc1") else f" '{word}'"
            tail = f"Expects {word}(<Track ID>)" if not named else expects
            raise ActionError(_pre(ctx) + f"invalid stick table track ID{named}. {tail}.", -1, ours=False)
    if si >= MAX_STKCTR:
        named = "" if base in ("sc-inc-gpc0", "sc-inc-gpc1") else f" '{word}'"
        raise ActionError(_pre(ctx) + f"invalid stick table track ID{named}. The max allowed ID is "
                          f"{MAX_STKCTR - 1}.", -1, ours=False)
    if si < 0:
        raise ActionError(_pre(ctx) + f"haproxy-py refuses the negative stick counter ID {si} ('{word}'), which "
                          "2.6 accepts and reads out of its stick counters.", -1)
    if array and not 0 <= gi < 100:
        raise ActionError(_pre(ctx) + f"haproxy-py refuses {what} ID {gi} ('{word}'): 2.6 accepts it and "
                          "ignores the rule at runtime (a table stores up to 100).", -1)
    return gi, si


def p_inc_gpc(args: Sequence[str], ctx: ParseCtx) -> Action:
    base = ctx.action.partition("(")[0]
    which = {"sc-inc-gpc": "gpc", "sc-inc-gpc0": "gpc0", "sc-inc-gpc1": "gpc1"}[base]
    gi, si = _ids(ctx, which == "gpc")
    if args:
        raise TrailingWords("", 0)
    return StickAction(IncGpc(which, gi, si))


_INT = re.compile(r"[+-]?\d+\Z")


def p_set_gpt(args: Sequence[str], ctx: ParseCtx) -> Action:
    base = ctx.action.partition("(")[0]
    which = "gpt" if base == "sc-set-gpt" else "gpt0"
    gi, si = _ids(ctx, which == "gpt")
    if not args:
        return StickAction(SetGpt(which, gi, si, 0, None))
    value, expr = (int(args[0]), None) if _INT.match(args[0]) else (None, _expr(args[0], ctx, 0))
    if len(args) > 1:  # 2.6 reads the value first
        raise TrailingWords("", 1)
    return StickAction(SetGpt(which, gi, si, value, expr))
