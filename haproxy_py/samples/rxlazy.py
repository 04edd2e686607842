"""Regexes of large pattern files (map_reg, map_regm, ``-m reg -f``), compiled when first used. Pure.

Python's ``re.compile`` costs about 40 us a regex: 100,000 lines of a regex map took seconds to
load. A pattern that a quick grammar check proves valid (literals, escaped punctuation, ``\\d
\\w \\s`` and their negations, ``\\b \\B``, ``.``, classes with ascending ranges, ``* + ?`` and their lazy
forms, groups ``(...)``/``(?:...)``, ``|``, ``^``, ``$``) is kept as a :class:`LazyRx` and
compiled at its first search; any other pattern is compiled at once, so a bad regex is still an
error at load time, with Python's message. The engine compiles what is pending in the background
(:func:`warm`, a few milliseconds at a time) so that traffic rarely pays for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["LazyRx", "make", "warm", "pending", "surely_valid", "lazy"]

_ESC = rb"\\[dDwWsS.\\/\-\[\](){}|^$*+?]"
_CITEM = rb"(?:[^\\\]\[]|\\[dDwWsS.\\/\-^])"
_CLS = rb"\[\^?(?:\]|(?!\^)" + _CITEM + rb")" + _CITEM + rb"*\]"
_ATOM = rb"(?:[^\\^$.|?*+()\[\]{}]|" + _ESC + rb"|\.|" + _CLS + rb")"
_QUANT = rb"(?:[*+?]\??)?"
_SAFE = re.compile(rb"(?:" + _ATOM + _QUANT + rb"|\((?:\?:)?|\)" + _QUANT + rb"|[|^$]|\\[bB])*")
_STRIP = re.compile(_ESC + rb"|" + _CLS)
_ESC_DASH = re.compile(rb"-\\|\\.-|\]-")
_RANGE = re.compile(rb"(?<!\\)([^\\\]\[])-([^\\\]\[])")

_PENDING: list[LazyRx] = []


class LazyRx:
    """A valid regex compiled at its first ``search`` (then ``search`` is the compiled one's)."""

    __slots__ = ("pattern", "flags", "search", "_rx")

    def __init__(self, pattern: bytes, flags: int) -> None:
        self.pattern = pattern
        self.flags = flags
        self._rx: re.Pattern[bytes] | None = None
        self.search: Callable[..., Any] = self._first

    def compiled(self) -> re.Pattern[bytes]:
        rx = self._rx
        if rx is None:
            rx = self._rx = re.compile(self.pattern, self.flags)
            self.search = rx.search
        return rx

    def _first(self, s: bytes, *a: Any) -> Any:
        return self.compiled().search(s, *a)

    def __getattr__(self, name: str) -> Any:  # match, groups, ... of the compiled regex
        return getattr(self.compiled(), name)


def surely_valid(p: bytes) -> bool:
    if _SAFE.fullmatch(p) is None:
        return False
    if b"(" in p or b")" in p:
        depth = 0
        for c in _STRIP.sub(b"", p):
            if c == 0x28:
                depth += 1
            elif c == 0x29:
                depth -= 1
                if depth < 0:
                    return False
        if depth:
            return False
    if b"-" in p and b"[" in p:
        if _ESC_DASH.search(p) is not None:  # [\d-z] and the like: let re judge
            return False
        for x, y in _RANGE.findall(p):  # (outside a class a-b is literal: being strict costs nothing)
            if x > y:
                return False
    return True


def make(pattern: bytes, flags: int = 0) -> Any:
    """A regex for ``pattern``: lazy when it is surely valid, else compiled now (``re.error``)."""
    if surely_valid(pattern):
        lz = LazyRx(pattern, flags)
        _PENDING.append(lz)
        return lz
    return re.compile(pattern, flags)


def lazy(pattern: bytes, flags: int = 0) -> LazyRx:
    """A regex the caller knows valid (an alternation of surely valid ones), compiled lazily."""
    lz = LazyRx(pattern, flags)
    _PENDING.append(lz)
    return lz


def pending() -> int:
    return len(_PENDING)


def warm(count: int = 200) -> bool:
    """Compile up to ``count`` pending regexes; whether some remain."""
    p = _PENDING
    for _ in range(min(count, len(p))):
        p.pop().compiled()
    return bool(p)
