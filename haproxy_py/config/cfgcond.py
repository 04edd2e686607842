"""Conditional expressions: ``.if``/``.elif`` in configuration files and ``haproxy -cc EXPR``.

What HAProxy 2.6 accepts (observed with its ``-cc``), written from scratch:

* ``expr := and ( "||" and )*``, ``and := term ( "&&" term )*`` (so ``&&`` binds tighter);
* ``term := "!"* ( "(" expr ")" | NUMBER | PREDICATE [ "(" args ")" ] )``, spaces allowed around;
* a number is C's ``strtol(.., 0)``: ``0x1f`` hex, ``017`` octal, a sign; true when not 0;
* predicates: ``defined(VAR)``, ``feature(NAME)``, ``streq(A,B)``, ``strneq(A,B)``,
  ``version_atleast(V)``, ``version_before(V)``; arguments are the raw text between commas (spaces
  kept); a bare predicate name has one empty argument;
* versions: up to four dot-separated numbers then an optional ``-dev|-pre|-rc N`` and ``-N``; a
  version 2.6 cannot read makes ``version_atleast`` true and ``version_before`` false.

Pure module. :func:`evaluate` raises :class:`CondError` (message and 0-based offset) for text 2.6
refuses.
"""

from __future__ import annotations

from collections.abc import Mapping

#: the version ``version_atleast()``/``version_before()`` compare with: HAProxy's release we follow
COMPAT_VERSION = "2.6.12"

#: ``feature(X)``: the build features whose behaviour haproxy-py has (2.6 names). HAProxy 2.6's
#: Debian build also lists LUA, PCRE2, SLZ, OT, TPROXY, NETFILTER, ... which haproxy-py does
#: not implement: they answer false here.
#: the "+" names of Debian's 2.6.12 build (``haproxy -vv``'s Feature list)
DEBIAN_FEATURES = frozenset({
    "ACCEPT4", "BACKTRACE", "CPU_AFFINITY", "CRYPT_H", "DL", "EPOLL", "GETADDRINFO", "LIBCRYPT", "LINUX_SPLICE",
    "LINUX_TPROXY", "LUA", "NETFILTER", "NS", "OPENSSL", "OT", "PCRE2", "PCRE2_JIT", "POLL", "PRCTL", "PROMEX",
    "RT", "SLZ", "SYSTEMD", "TFO", "THREAD", "THREAD_DUMP", "TPROXY",
})
FEATURES = frozenset({
    "EPOLL", "POLL", "THREAD", "LINUX_SPLICE", "GETADDRINFO", "ACCEPT4", "PRCTL", "RT", "PROMEX",
    "SYSTEMD", "OPENSSL",
})

_ARITY = {"defined": 1, "feature": 1, "streq": 2, "strneq": 2, "version_atleast": 1, "version_before": 1}
_STAGES = {"dev": 0, "pre": 1, "rc": 2}
_U32 = 1 << 32


class CondError(Exception):
    """Text 2.6 refuses in a condition; ``pos`` is the 0-based offset of the trouble."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def parse_version(text: str) -> tuple[int, ...] | None:
    """``(n1, n2, n3, n4, stage, stage_num, after)`` or None when 2.6 could not read ``text``.

    stage: dev 0 < pre 1 < rc 2 < release 3; ``after`` is a trailing ``-N`` (commits after)."""
    i, n = 0, len(text)
    while i < n and text[i] in " \t":
        i += 1
    nums: list[int] = []
    while True:
        j = i
        while j < n and text[j].isdigit():
            j += 1
        if j == i:
            if nums and i == n:  # "2.7." : a trailing dot is harmless
                break
            return None
        nums.append(int(text[i:j]) % _U32)
        i = j
        if i < n and text[i] == "." and len(nums) < 4:
            i += 1
            if i == n:
                break
            continue
        break
    nums += [0] * (4 - len(nums))
    stage, stage_num, after = 3, 0, 0
    if i < n:
        if text[i] != "-":
            return None
        rest = text[i + 1:]
        for name, val in _STAGES.items():
            if rest.startswith(name):
                stage = val
                k = len(name)
                while k < len(rest) and rest[k].isdigit():
                    k += 1
                stage_num = int(rest[len(name):k]) if k > len(name) else 0
                rest = rest[k:]
                if rest.startswith("-"):
                    rest = rest[1:]
                else:
                    rest = ""
                break
        k = 0
        while k < len(rest) and rest[k].isdigit():
            k += 1
        if k:
            after = int(rest[:k])
    return (*nums, stage, stage_num, after)


_CURRENT = parse_version(COMPAT_VERSION)


def _compare(v: str) -> int | None:
    """-1/0/1 comparing the current version with ``v``; None when ``v`` is unreadable."""
    other = parse_version(v)
    if other is None or _CURRENT is None:
        return None
    return (_CURRENT > other) - (_CURRENT < other)


def _strtol(text: str, i: int) -> tuple[int, int] | None:
    """C's strtol(text+i, &end, 0): (value, end) or None when no digit was read."""
    n = len(text)
    j = i
    sign = 1
    if j < n and text[j] in "+-":
        sign = -1 if text[j] == "-" else 1
        j += 1
    if j >= n or not text[j].isdigit():
        return None
    if text[j] == "0" and j + 1 < n and text[j + 1] in "xX" and j + 2 < n and \
            text[j + 2] in "0123456789abcdefABCDEF":
        k = j + 2
        while k < n and text[k] in "0123456789abcdefABCDEF":
            k += 1
        return sign * int(text[j + 2:k], 16), k
    if text[j] == "0":
        k = j + 1
        while k < n and text[k] in "01234567":
            k += 1
        return sign * (int(text[j:k], 8) if k > j + 1 else 0), k
    k = j
    while k < n and text[k].isdigit():
        k += 1
    return sign * int(text[j:k]), k


class _Parser:
    def __init__(self, text: str, env: Mapping[str, str], features: frozenset[str]) -> None:
        self.t = text
        self.env = env
        self.features = features

    def skip(self, i: int) -> int:
        while i < len(self.t) and self.t[i] in " \t":
            i += 1
        return i

    def expr(self, i: int, op: int | None = None) -> tuple[bool, int]:
        val, i = self.conj(i, op)
        while True:
            j = self.skip(i)
            if not self.t.startswith("||", j):
                return val, i
            rhs, i = self.conj(j + 2, op=j)
            val = val or rhs

    def conj(self, i: int, op: int | None = None) -> tuple[bool, int]:
        val, i = self.term(i, op)
        while True:
            j = self.skip(i)
            if not self.t.startswith("&&", j):
                return val, i
            rhs, i = self.term(j + 2, op=j)
            val = val and rhs

    def _unparsable(self, start: int, op: int | None) -> CondError:
        at = start if start < len(self.t) or op is None else op
        return CondError(f"unparsable conditional expression '{self.t[at:]}'", at)

    def term(self, i: int, op: int | None = None) -> tuple[bool, int]:
        t = self.t
        start = i = self.skip(i)
        neg = False
        while i < len(t) and t[i] == "!":
            neg = not neg
            i = self.skip(i + 1)
        if i >= len(t):
            raise self._unparsable(start, op)
        if t[i] == "(":
            open_at = i
            val, j = self.expr(i + 1, op=open_at)
            j = self.skip(j)
            if j >= len(t) or t[j] != ")":
                raise CondError(f"expected ')' after conditional expression '{t[open_at:]}'", open_at)
            return val != neg, j + 1
        num = _strtol(t, i)
        if num is not None:
            return (num[0] != 0) != neg, num[1]
        k = i  # the name runs to a space, a '(' or the end: "feature||1" is one unknown name
        while k < len(t) and t[k] not in " \t(":
            k += 1
        name = t[i:k]
        if name not in _ARITY:
            raise self._unparsable(start, op)
        args, end = self.args(name, k)
        return self.predicate(name, args) != neg, end

    def args(self, name: str, k: int) -> tuple[list[str], int]:
        t = self.t
        need = _ARITY[name]
        where = f"of predicate '{name}' used in conditional expression"
        if k >= len(t) or t[k] != "(":
            args = [""]
        else:
            close = t.find(")", k + 1)
            inner = t[k + 1:close] if close >= 0 else t[k + 1:]
            parts = inner.split(",")
            if len(parts) > need:
                extra = k + 1 + len(",".join(parts[:need]))
                raise CondError(f"expected ')' before '{t[extra:]}' in argument 1 {where}", extra)
            if close < 0 and len(parts) == need:
                raise CondError(f"expected ')' in argument 1 {where}", len(t))
            args = parts
            k = close + 1 if close >= 0 else len(t)
        if len(args) < need:
            raise CondError(f"missing arguments (got {len(args)}/{need}), type 'string' expected in argument "
                            f"{len(args)} {where}", k - 1 if k > 0 and t[k - 1] == ")" else k)
        return args, k

    def predicate(self, name: str, args: list[str]) -> bool:
        a = args[0]
        if name == "defined":
            return bool(a) and a in self.env
        if name == "feature":
            return a == "" or a in self.features
        if name == "streq":
            return a == args[1]
        if name == "strneq":
            return a != args[1]
        cmp = _compare(a)
        if name == "version_atleast":
            return cmp is None or cmp >= 0
        return cmp is not None and cmp < 0  # version_before


def evaluate(text: str, env: Mapping[str, str], features: frozenset[str] = FEATURES) -> bool:
    """The value of a condition (the words after ``.if`` joined by spaces, or ``-cc``'s argument).

    An empty condition is false (as in 2.6); raises :class:`CondError` for what 2.6 refuses."""
    if text == "":
        return False
    p = _Parser(text, env, features)
    if not text.strip(" \t"):
        raise CondError(f"unparsable conditional sub-expression '{text[1:] or text}'", 0)
    val, i = p.expr(0)
    i = p.skip(i)
    if i < len(text):
        raise CondError(f"unexpected character '{text[i]}' at the end of conditional expression '{text}'", i)
    return val
