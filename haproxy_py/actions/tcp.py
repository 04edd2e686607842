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


def p_switch_mode(args: Sequence[str], ctx: ParseCtx) -> Action:
    """``tcp-request content switch-mode http [proto h1]``: the tcp-request content rules stop and
    the session goes on as HTTP (engine/stream.py TcpSession._upgrade): the frontend's HTTP rules,
    routing per request, HTTP backends. In an HTTP frontend it only ends the rule set, as in 2.6.
    ``proto h2`` (and the other names 2.6 accepts) is refused: haproxy-py has no HTTP/2."""
    from .base import V_SWITCH

    if not args:  # 2.6 checks this before the proxy's capability
        raise ActionError("'tcp-request switch-mode' expects a mode as argument.", -1, ours=False)
    if ctx.proxy_kind == "backend":
        raise ActionError(f"'tcp-request switch-mode' not allowed because backend '{ctx.proxy_name}' has no "
                          "frontend capability", -1, ours=False)
    if args[0] != "http":
        raise ActionError(f"'tcp-request switch-mode' expects a valid mode (got '{args[0]}').", 0, ours=False)
    j = 1
    if len(args) > 1 and args[1] == "proto":
        if len(args) < 3:
            raise ActionError("'tcp-request switch-mode': 'proto' expects a protocol as argument.", 1, ours=False)
        proto = args[2]
        if proto not in ("h1", "h2", "fcgi", "none"):
            raise ActionError(f"'tcp-request switch-mode': 'proto' expects a valid MUX protocol, if specified "
                              f"(got '{proto}')", 2, ours=False)
        if proto != "h1":
            from haproxy_py.registry import not_implemented

            raise ActionError(not_implemented(f"'tcp-request content switch-mode http proto {proto}'",
                                              "'proto h1' is implemented"), 2)
        j = 3
    if len(args) > j:
        raise TrailingWords("", j)
    return Const(V_SWITCH)


def _atoi(word: str) -> int:
    """C's atoi as glibc does it: leading blanks, a sign, digits; the result truncated to 32 bits."""
    s = word.lstrip(" \t\n\r\f\v")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    digits = ""
    for ch in s:
        if not "0" <= ch <= "9":
            break
        digits += ch
    v = sign * int(digits) if digits else 0
    v = max(-(1 << 63), min((1 << 63) - 1, v)) & 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def p_capture(args: Sequence[str], ctx: ParseCtx) -> Action:
    """``tcp-request content capture <sample> len <n>``: the sample's text into a new request
    capture slot of the frontend (``%hr``, ``capture.req.hdr(N)``), as ``http-request capture``
    does (the builder numbers the slot, config/build/rules.py). 2.6 has no ``id`` form here; its
    connection and session rule sets refuse the action (config/build/rules.py)."""
    from haproxy_py.actions.http import CaptureSample
    from haproxy_py.samples import SampleError
    from haproxy_py.samples.expr import compile_expr, parse_expr

    pre = f"'{ctx.family} {ctx.action}' : "
    if not args:
        raise ActionError(pre + "missing fetch method", 0, ours=False)
    try:
        px = parse_expr(args[0])
        expr = compile_expr(args[0])
    except SampleError as e:
        raise ActionError(pre + e.message.rstrip("."), 0, ours=False) from None
    idx = (2,) if ctx.proxy_kind == "frontend" else (6,) if ctx.proxy_kind == "backend" else (2, 6)
    if not any(px.fetch.mask[i] == "Y" for i in idx):
        src = "HTTP response headers" if px.fetch.layer == "L7res" else "the response"
        raise ActionError(pre + f"fetch method '{args[0]}' extracts information from '{src}', none of which "
                          "is available here", 0, ours=src == "the response")
    if ctx.proxy_kind == "backend":
        raise ActionError(pre + f"proxy '{ctx.proxy_name}' has no frontend capability", 0, ours=False)
    if len(args) < 2 or args[1] != "len":
        raise ActionError(pre + "a positive 'len' argument is mandatory", 1, ours=False)
    n = _atoi(args[2]) if len(args) > 2 else 0
    if n <= 0:
        raise ActionError(pre + "length must be > 0", 2, ours=False)
    if len(args) > 3:
        raise TrailingWords("", 3)
    return CaptureSample(expr, -1, n, False)
