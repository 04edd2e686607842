"""Arguments HAProxy 2.6 reads as log-format strings (header values, redirect targets, new paths...).

A string without ``%`` is a constant, compiled to a closure returning its bytes. A string with
``%[...]`` sample expressions or ``%var`` variables is compiled by ``haproxy_py.samples``
(``compile_format``: a fetch or converter haproxy-py does not implement is refused at load time
with the registry's not-implemented message, never sent as literal text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from haproxy_py.actions.base import ActionError

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
    from haproxy_py.samples import SampleError, compile_format

    try:
        return compile_format(text)
    except SampleError as e:
        raise ActionError(f"failed to parse log-format expression '{text}': {e.message}", word_index) from None
