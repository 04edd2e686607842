"""Arguments HAProxy 2.6 reads as log-format strings (header values, redirect targets, new paths...).

A string without ``%`` is a constant, compiled to a closure returning its bytes. A string with
``%[...]`` sample expressions or ``%var`` variables is compiled by ``haproxy_py.samples``
(``compile_format``: a fetch or converter haproxy-py does not implement is refused at load time
with the registry's not-implemented message, never sent as literal text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from haproxy_py.actions.base import ActionError, ParseCtx

Fmt = Callable[[Any], bytes]


class LfError(ActionError):
    """A log-format argument that does not compile: 2.6 reports it inside the sentence naming the
    rule (config/build/rules.py adds it when the action's parser did not)."""


def const(value: bytes) -> Fmt:
    def fmt(txn: Any, _v: bytes = value) -> bytes:
        return _v

    fmt.const = value  # type: ignore[attr-defined]
    return fmt


def const_value(fmt: Fmt) -> bytes | None:
    """The bytes of a constant format, None when it depends on the transaction."""
    return getattr(fmt, "const", None)


def lf_place(ctx: ParseCtx | None) -> str | None:
    """Where 2.6 checks the fetches of a rule's format: a request rule as its frontend side (a
    listen is a frontend there), a response rule as its backend side (a listen is a backend)."""
    if ctx is None:
        return None
    if ctx.family == "http-request":
        return "be http-request" if ctx.proxy_kind == "backend" else "fe http-request"
    if ctx.family in ("http-response", "http-after-response"):
        return "fe http-response" if ctx.proxy_kind == "frontend" else "be http-response"
    return None


def compile_lf(text: str, word_index: int, ctx: ParseCtx | None = None, *, plain: bool = False) -> Fmt:
    """A log-format argument -> ``fmt(txn) -> bytes``; ActionError for what cannot be compiled
    (with ``ctx``, a fetch that cannot work in that rule set too, as 2.6 refuses it). ``plain``:
    not written into HTTP (set-var-fmt: samples/expr.py compile_format)."""
    if "%" not in text.replace("%%", ""):
        return const(text.replace("%%", "%").encode("latin-1"))
    from haproxy_py.samples import SampleError, compile_format

    try:
        return compile_format(text, place=lf_place(ctx), plain=plain)
    except SampleError as e:
        raise LfError(f"{e.message}.", word_index) from None


class LfPage:
    """An ``http-error`` page with log-format parts (``lf-string``, ``lf-file``, a ``hdr`` value with
    ``%[...]``): built per reply from the transaction, serialised as 2.6 serialises its static
    replies (status line, the ``hdr`` headers, content-length, content-type, the body)."""

    __slots__ = ("head", "hdrs", "ctype", "body")

    def __init__(self, head: bytes, hdrs: list[tuple[bytes, Any]], ctype: bytes | None, body: Any) -> None:
        self.head, self.hdrs, self.ctype, self.body = head, hdrs, ctype, body

    def __call__(self, txn: Any) -> bytes:
        body = self.body(txn) if self.body is not None else b""
        out = [self.head]
        out += [n + b": " + f(txn) for n, f in self.hdrs]
        out.append(b"content-length: %d" % len(body))
        if self.ctype is not None and body:  # 2.6: no content-type for an empty payload
            out.append(b"content-type: " + self.ctype)
        return b"\r\n".join(out) + b"\r\n\r\n" + body
