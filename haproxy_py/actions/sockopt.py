"""``set-mark`` and ``set-tos``: socket options of the client connection, set when the rule runs.

2.6 accepts them in http-request, http-response and the three tcp-request rule sets; the value is
one integer read by C's ``strtoul``/``strtol`` with base 0 (``0x`` hex, a leading ``0`` octal, a
sign, leading blanks), truncated to 32 bits: ``set-mark`` puts it in SO_MARK (netfilter's
fwmark), ``set-tos`` in IP_TOS, or IPV6_TCLASS on an IPv6 connection (the kernel keeps the ECN
bits of TCP sockets itself). The action asks the engine through the samples' ``Runtime``
(``set_mark``/``set_tos`` on the client's file descriptor): pure here, nothing per request when no
rule uses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from haproxy_py.actions.base import V_CONTINUE, Action, ActionError, ParseCtx, TrailingWords, Verdict

_ULONG_MAX = (1 << 64) - 1
_LONG_MAX = (1 << 63) - 1
_LONG_MIN = -(1 << 63)
_HEX = "0123456789abcdefABCDEF"


def c_strtoul(text: str, signed: bool) -> tuple[int, int]:
    """C's ``strtol``/``strtoul(text, &end, 0)`` on a 64-bit system: (value, end index); end is 0
    when no digit was read."""
    n = len(text)
    j = 0
    while j < n and text[j] in " \t\n\v\f\r":
        j += 1
    neg = False
    if j < n and text[j] in "+-":
        neg = text[j] == "-"
        j += 1
    if j >= n or text[j] not in "0123456789":
        return 0, 0
    if text[j] == "0" and j + 2 < n and text[j + 1] in "xX" and text[j + 2] in _HEX:
        k = j + 2
        while k < n and text[k] in _HEX:
            k += 1
        v = int(text[j + 2:k], 16)
    elif text[j] == "0":
        k = j + 1
        while k < n and text[k] in "01234567":
            k += 1
        v = int(text[j:k], 8)
    else:
        k = j
        while k < n and text[k] in "0123456789":
            k += 1
        v = int(text[j:k])
    if signed:
        v = -v if neg else v
        v = min(max(v, _LONG_MIN), _LONG_MAX)
    elif v > _ULONG_MAX:
        v = _ULONG_MAX
    elif neg:
        v = (-v) & _ULONG_MAX
    return v, k


class SetMark(Action):
    """SO_MARK (an unsigned 32-bit value) on the client connection."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def run(self, txn: Any) -> Verdict:
        rt = txn.runtime
        if rt is not None and txn.cli_fd >= 0:
            rt.set_mark(txn.cli_fd, self.value)
        return V_CONTINUE


class SetTos(Action):
    """IP_TOS / IPV6_TCLASS (a signed C int) on the client connection."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def run(self, txn: Any) -> Verdict:
        rt = txn.runtime
        if rt is not None and txn.cli_fd >= 0:
            rt.set_tos(txn.cli_fd, self.value)
        return V_CONTINUE


def _error(ctx: ParseCtx, msg: str, i: int) -> ActionError:
    # 2.6 words an http rule's error with its rule prefix and a final dot, a tcp rule's bare
    if ctx.family.startswith("http"):
        return ActionError(f"error detected in {ctx.proxy_kind} '{ctx.proxy_name}' while parsing "
                           f"'{ctx.family} {ctx.action}' rule : {msg}.", i, ours=False)
    return ActionError(msg, i, ours=False)


def p_set_mark_tos(args: Sequence[str], ctx: ParseCtx) -> Action:
    if not args or not args[0]:
        raise _error(ctx, "expects exactly 1 argument (integer/hex value)", -1 if not args else 0)
    signed = ctx.action == "set-tos"
    v, end = c_strtoul(args[0], signed)
    if end != len(args[0]):
        raise _error(ctx, f"invalid character starting at '{args[0][end:]}' (integer/hex value expected)", 0)
    if len(args) > 1:
        raise TrailingWords("", 1)
    if signed:
        v &= 0xFFFFFFFF
        return SetTos(v - (1 << 32) if v & 0x80000000 else v)
    return SetMark(v & 0xFFFFFFFF)
