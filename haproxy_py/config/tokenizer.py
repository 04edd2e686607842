"""Lines to words, the way HAProxy 2.6 cuts them (FACTS §1.2). Plain string code, no pyparsing.

* words are separated by unprotected spaces/tabs; an unprotected ``#`` starts a comment;
* backslash escapes (outside single quotes): ``\\ `` ``\\#`` ``\\\\`` ``\\'`` ``\\"`` ``\\n`` ``\\r``
  ``\\t`` ``\\xHH``; any other backslash is kept as is (so a trailing ``\\`` is a word: no line
  continuation);
* ``"..."`` weak quoting (escapes and ``$VAR``/``${VAR}``/``${VAR-default}``/``${VAR[*]}`` work),
  ``'...'`` strong quoting; quoted parts may be glued to unquoted ones;
* ``.if/.elif/.else/.endif`` blocks with ``defined()``, ``feature()``, ``version_atleast()``,
  ``version_before()``, ``streq()``, ``strneq()``, ``!`` and ``&&``/``||``; ``.notice``,
  ``.warning``, ``.alert``, ``.diag`` messages.

Pure module: the environment is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from haproxy_py.config.diagnostics import Diagnostics
from haproxy_py.config.model import Location

#: HAProxy's limit on words per line
MAX_LINE_ARGS = 64
#: our limit on the length of one line (HAProxy grows its buffer; a 1 MB line is surely an error)
MAX_LINE_LEN = 65536

#: the version our ``.if version_atleast()`` compares with
COMPAT_VERSION = "2.6.12"
#: ``.if feature(X)``: the build features we claim
FEATURES = frozenset({
    "EPOLL", "POLL", "THREAD", "LINUX_SPLICE", "GETADDRINFO", "ACCEPT4", "PRCTL", "RT", "TFO",
    "PROMEX", "CPU_AFFINITY", "NS", "BACKTRACE", "SYSTEMD",
})


class TokenError(Exception):
    """An error while cutting one line (unmatched quote, bad ``${``)."""

    def __init__(self, message: str, col: int) -> None:
        super().__init__(message)
        self.message = message
        self.col = col


class Line:
    """One statement: its words, the 1-based column of each word, its location and raw text."""

    __slots__ = ("words", "cols", "file", "lineno", "raw")

    def __init__(self, words: list[str], cols: list[int], file: str, lineno: int, raw: str) -> None:
        self.words = words
        self.cols = cols
        self.file = file
        self.lineno = lineno
        self.raw = raw

    def loc(self, i: int = 0) -> Location:
        col = self.cols[i] if 0 <= i < len(self.cols) else (len(self.raw) + 1)
        return Location(self.file, self.lineno, col)

    def __repr__(self) -> str:
        return f"Line({self.file}:{self.lineno} {self.words!r})"


_SIMPLE_ESC = {" ": " ", "#": "#", "\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
_HEX = "0123456789abcdefABCDEF"
_VAR_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_SPECIAL_RE = re.compile(r"[#\\'\"$]")
_WORD_RE = re.compile(r"[^ \t\r\n]+")


def tokenize_line(raw: str, env: Mapping[str, str] | None = None) -> tuple[list[str], list[int]]:
    """Cut one line into words; returns (words, 1-based columns). Raises :class:`TokenError`."""
    # fast path: no quote, escape, comment or variable
    if _SPECIAL_RE.search(raw) is None:
        words: list[str] = []
        cols: list[int] = []
        for m in _WORD_RE.finditer(raw):
            words.append(m.group())
            cols.append(m.start() + 1)
        return words, cols
    return _tokenize_slow(raw, env)


def _tokenize_slow(raw: str, env: Mapping[str, str] | None) -> tuple[list[str], list[int]]:
    words: list[str] = []
    cols: list[int] = []
    n = len(raw)
    i = 0
    cur: list[str] = []
    in_word = False
    start = 0
    quote = ""  # "", '"' or "'"
    quote_col = 0

    def end_word() -> None:
        nonlocal cur, in_word
        if in_word:
            words.append("".join(cur))
            cols.append(start + 1)
        cur = []
        in_word = False

    while i < n:
        c = raw[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                cur.append(c)
            i += 1
            continue
        if not quote:
            if c in " \t\r\n":
                end_word()
                i += 1
                continue
            if c == "#":
                break
        if not in_word:
            in_word = True
            start = i
        if c == "\\":
            nxt = raw[i + 1] if i + 1 < n else ""
            if nxt in _SIMPLE_ESC and nxt:
                cur.append(_SIMPLE_ESC[nxt])
                i += 2
                continue
            hx = raw[i + 2:i + 4]
            if nxt == "x" and len(hx) == 2 and hx[0] in _HEX and hx[1] in _HEX:
                cur.append(chr(int(raw[i + 2:i + 4], 16)))
                i += 4
                continue
            cur.append("\\")
            i += 1
            continue
        if c == '"':
            if quote == '"':
                quote = ""
            else:
                quote = '"'
                quote_col = i + 1
            i += 1
            continue
        if c == "'" and not quote:
            quote = "'"
            quote_col = i + 1
            i += 1
            continue
        if c == "$" and quote == '"':
            i = _expand(raw, i, cur, env)
            continue
        cur.append(c)
        i += 1
    if quote:
        raise TokenError(f"unmatched quote at position {quote_col}:", quote_col)
    end_word()
    return words, cols


def _expand(raw: str, i: int, cur: list[str], env: Mapping[str, str] | None) -> int:
    """Expand ``$NAME``/``${NAME...}`` at raw[i] == '$' into ``cur``; return the new index."""
    n = len(raw)
    env = env or {}
    if i + 1 < n and raw[i + 1] == "{":
        close = raw.find("}", i + 2)
        if close < 0:
            raise TokenError(f"missing closing '}}' in environment variable name at position {i + 1}:", i + 1)
        body = raw[i + 2:close]
        default: str | None = None
        star = False
        name = body
        k = 0
        while k < len(body) and body[k] in _VAR_CHARS:
            k += 1
        name = body[:k]
        rest = body[k:]
        if rest.startswith("[*]"):
            star = True
            rest = rest[3:]
        if rest.startswith("-"):
            default = rest[1:]
            rest = ""
        if rest or not name:
            raise TokenError(f"invalid environment variable '${{{body}}}' at position {i + 1}:", i + 1)
        value = env.get(name)
        if value is None:
            value = default if default is not None else ""
        if star:
            # split into several words: the first part joins the current word
            parts = value.split()
            if parts:
                cur.append(parts[0])
                for p in parts[1:]:
                    cur.append("\x00SPLIT\x00" + p)
        else:
            cur.append(value)
        return close + 1
    k = i + 1
    while k < n and raw[k] in _VAR_CHARS:
        k += 1
    name = raw[i + 1:k]
    if not name:
        cur.append("$")
        return i + 1
    cur.append(env.get(name, ""))
    return k


def _post_split(words: list[str], cols: list[int]) -> tuple[list[str], list[int]]:
    if not any("\x00SPLIT\x00" in w for w in words):
        return words, cols
    ow: list[str] = []
    oc: list[int] = []
    for w, c in zip(words, cols, strict=True):
        parts = w.split("\x00SPLIT\x00")
        for p in parts:
            ow.append(p)
            oc.append(c)
    return ow, oc


# --------------------------------------------------------------------------- conditional blocks


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.replace("-", ".").split("."):
        num = ""
        for ch in part:
            if ch.isdigit():
                num += ch
            else:
                break
        out.append(int(num) if num else 0)
    return tuple(out)


def _eval_term(term: str, env: Mapping[str, str]) -> bool:
    term = term.strip()
    neg = False
    while term.startswith("!"):
        neg = not neg
        term = term[1:].strip()
    val: bool
    if "(" in term and term.endswith(")"):
        fn, _, arg = term[:-1].partition("(")
        fn = fn.strip()
        args = [a.strip() for a in arg.split(",")] if arg else []
        a0 = args[0] if args else ""
        if fn == "defined":
            val = a0 in env
        elif fn == "feature":
            val = a0 in FEATURES
        elif fn == "version_atleast":
            val = _version_tuple(COMPAT_VERSION) >= _version_tuple(a0)
        elif fn == "version_before":
            val = _version_tuple(COMPAT_VERSION) < _version_tuple(a0)
        elif fn == "streq":
            val = len(args) >= 2 and args[0] == args[1]
        elif fn == "strneq":
            val = len(args) >= 2 and args[0] != args[1]
        else:
            raise ValueError(f"unknown term '{term}'")
    else:
        try:
            val = int(term) != 0
        except ValueError:
            val = bool(term) and term != "0"
    return val != neg


def eval_condition(words: list[str], env: Mapping[str, str]) -> bool:
    """Evaluate the words after ``.if``/``.elif`` (joined: ``||`` of ``&&`` of terms)."""
    text = " ".join(words)
    if not text.strip():
        raise ValueError("missing condition")
    return any(all(_eval_term(t, env) for t in part.split("&&")) for part in text.split("||"))


def read_lines(text: str, filename: str, env: Mapping[str, str] | None,
               diags: Diagnostics) -> Iterator[Line]:
    """Yield each statement of ``text`` (non-empty lines, conditional blocks resolved)."""
    env = env if env is not None else {}
    # stack of (active, taken, parent_active)
    stack: list[list[bool]] = []
    active = True
    for lineno, raw in enumerate(text.split("\n"), 1):
        if raw.endswith("\r"):
            raw = raw[:-1]
        if len(raw) > MAX_LINE_LEN:
            diags.alert(f"parsing [{filename}:{lineno}]: line too long ({len(raw)} characters, our limit "
                        f"is {MAX_LINE_LEN}).", Location(filename, lineno, 1), ours=True)
            continue
        if "\x00" in raw:
            pos = raw.index("\x00") + 1
            diags.alert(f"parsing [{filename}:{lineno}]: NUL character at position {pos} (binary content?).",
                        Location(filename, lineno, pos), ours=True)
            continue
        try:
            words, cols = tokenize_line(raw, env)
        except TokenError as e:
            stripped = raw.lstrip(" \t")
            indent = len(raw) - len(stripped)
            caret = " " * (e.col - 1 - indent) if e.col - 1 >= indent else ""
            if active:
                diags.alert(f"parsing [{filename}:{lineno}]: {e.message}\n  {stripped}\n  {caret}^",
                            Location(filename, lineno, e.col))
            continue
        if not words:
            continue
        words, cols = _post_split(words, cols)
        w0 = words[0]
        if w0.startswith("."):
            loc = Location(filename, lineno, cols[0])
            if w0 == ".if":
                parent = active
                try:
                    val = parent and eval_condition(words[1:], env)
                except ValueError as e:
                    diags.alert(f"parsing [{filename}:{lineno}]: {e} in '.if' expression.", loc, line=raw)
                    val = False
                stack.append([val, val, parent])
                active = val
                continue
            if w0 == ".elif":
                if not stack:
                    diags.alert(f"parsing [{filename}:{lineno}]: '.elif' without a matching '.if'.", loc)
                    continue
                top = stack[-1]
                if top[1] or not top[2]:
                    top[0] = False
                    active = False
                else:
                    try:
                        val = eval_condition(words[1:], env)
                    except ValueError as e:
                        diags.alert(f"parsing [{filename}:{lineno}]: {e} in '.elif' expression.", loc,
                                    line=raw)
                        val = False
                    top[0] = top[1] = val
                    active = val
                continue
            if w0 == ".else":
                if not stack:
                    diags.alert(f"parsing [{filename}:{lineno}]: '.else' without a matching '.if'.", loc)
                    continue
                top = stack[-1]
                top[0] = active = top[2] and not top[1]
                top[1] = True
                continue
            if w0 == ".endif":
                if not stack:
                    diags.alert(f"parsing [{filename}:{lineno}]: '.endif' without a matching '.if'.", loc)
                    continue
                stack.pop()
                active = stack[-1][0] if stack else True
                continue
            if not active:
                continue
            msg = " ".join(words[1:])
            if w0 == ".notice":
                diags.notice(f"parsing [{filename}:{lineno}]: {msg}.", loc)
                continue
            if w0 == ".warning":
                diags.warning(f"parsing [{filename}:{lineno}]: {msg}.", loc)
                continue
            if w0 == ".alert":
                diags.alert(f"parsing [{filename}:{lineno}]: {msg}.", loc)
                continue
            if w0 == ".diag":
                continue
        if not active:
            continue
        if len(words) > MAX_LINE_ARGS:
            diags.alert(f"parsing [{filename}:{lineno}]: too many words, truncating after word "
                        f"{MAX_LINE_ARGS}, position {cols[MAX_LINE_ARGS]}: <{words[MAX_LINE_ARGS]}>.",
                        Location(filename, lineno, cols[MAX_LINE_ARGS]), line=raw)
            words = words[:MAX_LINE_ARGS]
            cols = cols[:MAX_LINE_ARGS]
        yield Line(words, cols, filename, lineno, raw)
    if stack:
        diags.alert(f"parsing [{filename}:{lineno if text else 0}]: non-terminated '.if' block.",
                    Location(filename, lineno if text else 0, 1))

