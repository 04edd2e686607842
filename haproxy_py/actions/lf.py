"""Arguments HAProxy 2.6 reads as log-format strings (header values, redirect targets, new paths...).

A string without ``%`` is a constant, compiled to a closure returning its bytes. A string with
``%[...]`` sample expressions or ``%var`` variables is refused at load time with the
not-implemented message (never accepted and sent as literal text) until the engine hands rules a
``haproxy_py.samples.Txn``; then ``samples.compile_format`` compiles it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from haproxy_py.actions.base import ActionError
from haproxy_py.registry import not_implemented

Fmt = Callable[[Any], bytes]


def const(value: bytes) -> Fmt:
    def fmt(txn: Any, _v: bytes = value) -> bytes:
        return _v

    fmt.const = value  # type: ignore[attr-defined]
    return fmt


def const_value(fmt: Fmt) -> bytes | None:
    """The bytes of a constant format, None when it depends on the transaction."""
    return getattr(fmt, "const", None)


def compile_lf(text: str, word_index: int) -> Fmt:
    """A log-format argument -> ``fmt(txn) -> bytes``; ActionError for what cannot be compiled."""
    if "%" not in text.replace("%%", ""):
        return const(text.replace("%%", "%").encode("latin-1"))
    # haproxy_py.samples.compile_format compiles these, but its closures read a samples.Txn and the
    # engine still passes rules an acl RequestContext (actions.base.RuleTxn): refused until the
    # engine builds a samples.Txn per request (then: ``return compile_format(text)``, SampleError
    # -> ActionError at its offset).
    raise ActionError(not_implemented(
        f"log-format expression '{text}' in a rule argument ('%[...]' samples, '%ci'-style "
        f"variables)", "use a literal value"), word_index)
