"""The process scope's variables outside the rules: the global ``set-var`` / ``set-var-fmt``
keywords (run while the configuration is read, on the fetches that work then) and the runtime
API's ``get var``. Pure but for the clock, pid and host name the global keywords' fetches read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from .core import needs
from .expr import compile_expr, compile_format, parse_expr
from .txn import VAR_CONDS, ProcVars, Txn, var_name_error
from .types import Sample, SampleError, to_text

__all__ = ["ProcSetError", "global_set_var", "get_var_reply", "set_var_reply"]


class ProcSetError(ValueError):
    """2.6's message for a set-var it refuses; ``word``: the argument it is about."""

    def __init__(self, message: str, word: int) -> None:
        super().__init__(message)
        self.message = message
        self.word = word


def _name_and_conds(inner: str) -> tuple[str, int]:
    """``proc.x,ifset`` -> (``proc.x``, condition bits), with 2.6's messages."""
    name, _, conds = inner.partition(",")
    err = var_name_error(name)
    if err is not None:
        head = "invalid syntax at char '"
        if err.startswith(head):  # 2.6 shows the rest of the action's parenthesis
            tail = err[len(head):-1]
            err = f"{head}{inner[len(name) - len(tail):]})'"
        raise ProcSetError(err, 0)
    bits = 0
    for c in conds.split(",") if conds else ():
        if not c:
            break
        if c not in VAR_CONDS:
            raise ProcSetError(f'unknown condition "{c}"', 0)
        bits |= VAR_CONDS[c]
    return name, bits


def global_set_var(pv: ProcVars, kw: str, args: list[str], env: Mapping[str, str] | None = None) -> None:
    """``set-var NAME EXPR`` / ``set-var-fmt NAME FMT`` in the global section: checked as 2.6
    checks it (only fetches that work at load time, only the proc scope), then run into ``pv``.
    Words after the expression are ignored, as in 2.6."""
    fmt = kw == "set-var-fmt"
    if len(args) < 2 or not args[0] or not args[1]:
        what = "a format string" if fmt else "a sample expression"
        raise ProcSetError(f"'{kw}' requires a process-wide variable name ('proc.<name>') and {what}.", 0)
    _set(pv, kw, args[0], args[1], fmt, "in the global section")


def _set(pv: ProcVars, kw: str, var: str, text: str, fmt: bool, where: str) -> None:
    """Check ``var`` (a name and its conditions) and ``text`` (an expression, or a format when
    ``fmt``) as 2.6 does at load time, then store the result in ``pv``."""
    word = f"set-var({var})"
    name, conds = _name_and_conds(var)
    try:
        if fmt:
            lf = compile_format(text, place="cfg", plain=True)
        else:
            expr = compile_expr(text)
            fdef = parse_expr(text).fetch
            if not fdef.usable_in("cfg"):
                raise ProcSetError(f"fetch method '{word}' extracts information from '{needs(fdef)}', none "
                                   "of which is available here", 1)
    except SampleError as e:
        raise ProcSetError(e.message.rstrip("."), 1) from None
    if not name.startswith("proc."):
        raise ProcSetError(f"'{kw}': cannot set variable '{name}', only scope 'proc' is permitted {where}.", 0)
    txn = Txn(wall=time.time(), now=time.monotonic(), pid=os.getpid(), hostname=os.uname().nodename)
    txn.proc_vars = pv
    s = Sample("str", lf(txn)) if fmt else expr(txn)
    if s is None:
        return
    if conds:
        txn.set_var_if(name, s, conds)
    else:
        txn.set_var(name, s)


def set_var_reply(pv: ProcVars, words: list[str]) -> str:
    """The runtime API's ``set var NAME EXPR`` / ``set var NAME expr|fmt TEXT`` (``words``: what
    follows ``set var``; words after TEXT are ignored): 2.6's reply, the empty line included
    only where 2.6 prints one (its two 'Missing' messages and success)."""
    if not words or not words[0]:
        return "Missing process-wide variable identifier.\n"
    if len(words) < 2 or not words[1]:
        return "Missing either 'expr', 'fmt' or expression.\n"
    if len(words) > 2 and words[2]:
        if words[1] not in ("expr", "fmt"):
            return f"'set var': arg type must be either 'expr' or 'fmt' but got '{words[1]}'."
        fmt, text = words[1] == "fmt", words[2]
    else:
        fmt, text = False, words[1]
    try:
        _set(pv, "set var", words[0], text, fmt, "here")
    except ProcSetError as e:
        return e.message
    return ""


def get_var_reply(pv: ProcVars, words: list[str]) -> str:
    """``get var <name>``: a proc variable's type and value as 2.6 prints them (the value as a
    C string: a binary one stops at its first NUL byte)."""
    if not words:
        return "Missing process-wide variable identifier.\n"
    name = words[0]
    v = pv.get(name) if name.startswith("proc.") else None
    if v is None or v.type == "any":
        return "Variable not found.\n"
    b = to_text("str" if v.type == "bin" else v.type, v.value) or b""
    b = b.split(b"\0", 1)[0]
    if v.type == "bin":  # 2.6 shows a binary's unprintable bytes as dots
        b = bytes(c if 32 <= c < 127 else 46 for c in b)
    return f"{name}: type={v.type} value=<{b.decode('latin-1')}>"  # no empty line after it, as 2.6
