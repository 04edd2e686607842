"""Lines to words, the way HAProxy 2.6 cuts them (FACTS §1.2). Plain string code, no pyparsing.

* words are separated by unprotected spaces/tabs; an unprotected ``#`` starts a comment;
* backslash escapes (outside single quotes): ``\\ `` ``\\#`` ``\\\\`` ``\\'`` ``\\"`` ``\\n`` ``\\r``
  ``\\t`` ``\\xHH``; any other backslash is kept as is (so a trailing ``\\`` is a word: no line
  continuation);
* ``"..."`` weak quoting (escapes and ``$VAR``/``${VAR}``/``${VAR-default}``/``${VAR[*]}`` work),
  ``'...'`` strong quoting; quoted parts may be glued to unquoted ones;
* ``.if/.elif/.else/.endif`` blocks (expressions: config/cfgcond.py); ``.notice``, ``.warning``,
  ``.alert``, ``.diag`` messages. As in 2.6, a bad expression, a lone or misplaced ``.elif``/
  ``.else``/``.endif``, an argument after ``.else``/``.endif`` and ``.alert`` stop the reading
  (``Diagnostics.aborted``).

Pure module: the environment is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from haproxy_py.config.cfgcond import COMPAT_VERSION, FEATURES, CondError, evaluate
from haproxy_py.config.diagnostics import DIAG, Diagnostic, Diagnostics
from haproxy_py.config.model import Location

__all__ = ["COMPAT_VERSION", "FEATURES", "Line", "TokenError", "eval_condition", "expand_address_env", "read_lines",
           "tokenize_line"]

#: HAProxy's limit on words per line
MAX_LINE_ARGS = 64
#: our limit on the length of one line (HAProxy grows its buffer; a 1 MB line is surely an error)
MAX_LINE_LEN = 65536



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
            if nxt == "$" and quote == '"':  # 2.6: "\$" is a '$' that names no variable
                cur.append("$")
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


def expand_address_env(text: str, env: Mapping[str, str] | None) -> str:
    """``$NAME`` and ``${NAME}`` in an address (bind, server, log, stats socket, ...), which 2.6
    expands whatever the quoting: ``fd@${LISTEN_FD}``. An undefined name gives ""; in ``${NAME...``
    the closing brace is taken only right after the name (2.6 reads ``${A-x}`` as ``$A`` + ``-x}``)."""
    if "$" not in text:
        return text
    env = env or {}
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        brace = i + 1 < n and text[i + 1] == "{"
        k = j = i + 1 + brace
        while k < n and text[k] in _VAR_CHARS:
            k += 1
        if k == j:
            out.append(text[i:j])
            i = j
            continue
        out.append(env.get(text[j:k], ""))
        i = k + 1 if brace and k < n and text[k] == "}" else k
    return "".join(out)


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


def eval_condition(words: list[str], env: Mapping[str, str]) -> bool:
    """The words after ``.if``/``.elif`` (joined by one space, as 2.6 does); raises CondError."""
    return evaluate(" ".join(words), env)


def _cond_col(words: list[str], cols: list[int], pos: int) -> int:
    """The 1-based column in the raw line of offset ``pos`` of the joined words."""
    off = 0
    for w, c in zip(words, cols, strict=True):
        if pos <= off + len(w):
            return c + (pos - off)
        off += len(w) + 1
    return (cols[-1] + len(words[-1])) if words else 1


#: 2.6 stops reading a file at this many lines with fatal errors
MAX_FATAL_LINES = 50

_DIRECTIVES = frozenset((".if", ".elif", ".else", ".endif", ".notice", ".warning", ".alert", ".diag"))


def read_lines(text: str, filename: str, env: Mapping[str, str] | None,
               diags: Diagnostics) -> Iterator[Line]:
    """Yield each statement of ``text`` (non-empty lines, conditional blocks resolved)."""
    env = env if env is not None else {}
    # stack of [active, taken, parent_active, seen_else]
    stack: list[list[bool]] = []
    lineno = 0
    active = True
    pieces = text.split("\n")
    nlines = len(pieces) - (pieces[-1] == "")  # the empty piece after a last LF is no line
    stopped = False
    for lineno, raw in enumerate(pieces, 1):
        # 2.6 gives up on a file when it has read 50 lines with fatal errors, as it reads the next
        # line (none after the 50th: no message); the other files are still read
        if lineno <= nlines and len(diags.fatal_lines.get(filename, ())) >= MAX_FATAL_LINES:
            diags.alert(f"parsing [{filename}:{lineno}]: too many fatal errors ({MAX_FATAL_LINES}), stopping now.",
                        Location(filename, lineno, 1))
            stopped = True
            diags.stopped.add(filename)
            break
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
        if w0.startswith(".") and w0 in _DIRECTIVES:
            loc = Location(filename, lineno, cols[0])
            pre = f"parsing [{filename}:{lineno}]: "

            def abort(msg: str, col: int | None = None, *, keep_blocks: bool = False, pre: str = pre,
                      loc: Location = loc, lineno: int = lineno, raw: str = raw) -> None:
                diags.alert(pre + msg, loc if col is None else Location(filename, lineno, col), line=raw)
                diags.aborted = True
                if not keep_blocks:  # 2.6 only reports the open block after an argument error
                    stack.clear()

            if w0 in (".if", ".elif"):
                if w0 == ".elif":
                    if not stack:
                        abort("lone '.elif' with no matching '.if'.")
                        break
                    if stack[-1][3]:
                        abort("'.elif' after '.else' is not permitted.")
                        break
                top = stack[-1] if w0 == ".elif" else None
                must_eval = active if top is None else (top[2] and not top[1])
                val = False
                if must_eval:
                    try:
                        val = eval_condition(words[1:], env)
                    except CondError as e:
                        col = _cond_col(words[1:], cols[1:], e.pos)
                        stripped = raw.lstrip(" \t")
                        caret = " " * max(col - 1 - (len(raw) - len(stripped)), 0)
                        diags.alert(f"{pre}{e.message} in '{w0}' at position {e.pos + 1}:\n  {stripped}\n  {caret}^",
                                    Location(filename, lineno, col), line=raw)
                        diags.aborted = True
                        stack.clear()
                        break
                if top is None:
                    stack.append([val, val, active, False])
                else:
                    top[0] = val
                    top[1] = top[1] or val
                active = val
                continue
            if w0 in (".else", ".endif"):
                if not stack:
                    abort(f"lone '{w0}' with no matching '.if'.")
                    break
                if len(words) > 1:
                    abort(f"Unexpected argument '{words[1]}' for '{w0}'.", cols[1], keep_blocks=True)
                    break
                top = stack[-1]
                if w0 == ".else":
                    if top[3]:
                        abort("'.else' after '.else' is not permitted.")
                        break
                    top[0] = active = top[2] and not top[1]
                    top[1] = top[3] = True
                else:
                    stack.pop()
                    active = stack[-1][0] if stack else True
                continue
            if not active:
                continue
            if len(words) > 2:
                diags.alert(f"{pre}Unexpected argument '{words[2]}' for '{w0}'. Use quotes if the message should "
                            "contain spaces.", Location(filename, lineno, cols[2]), line=raw)
                continue
            msg = f"{pre}'{words[1] if len(words) > 1 else ''}'."
            if w0 == ".notice":
                diags.notice(msg, loc)
            elif w0 == ".warning":
                diags.warning(msg, loc)
            elif w0 == ".alert":
                abort(msg[len(pre):])
                break
            elif diags.diag_mode:  # .diag: only shown under -dD
                diags.add(Diagnostic(DIAG, msg, loc))
            continue
        if not active:
            continue
        if w0.startswith(".") and len(w0) > 1:
            diags.alert(f"parsing [{filename}:{lineno}]: unknown directive '{w0}'.", Location(filename, lineno,
                        cols[0]), line=raw)
            continue
        if len(words) > MAX_LINE_ARGS:
            diags.alert(f"parsing [{filename}:{lineno}]: too many words, truncating after word "
                        f"{MAX_LINE_ARGS}, position {cols[MAX_LINE_ARGS]}: <{words[MAX_LINE_ARGS]}>.",
                        Location(filename, lineno, cols[MAX_LINE_ARGS]), line=raw)
            words = words[:MAX_LINE_ARGS]
            cols = cols[:MAX_LINE_ARGS]
        yield Line(words, cols, filename, lineno, raw)
    if stack:
        if not diags.aborted and not stopped and text.endswith("\n"):
            lineno -= 1  # the empty piece after the last LF is no line
        diags.alert(f"parsing [{filename}:{lineno}]: non-terminated '.if' block.", Location(filename, lineno, 1))
        diags.aborted = True

