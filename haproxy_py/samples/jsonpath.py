"""The JSON path lookups of HAProxy 2.6's ``json_query`` and ``jwt_*_query`` converters. Pure.

2.6 embeds the small mjson scanner: it walks the text once, token by token, following a path of
``.key`` and ``[index]`` steps from ``$``, and stops at the first value at the path's end. What it
answers, reproduced here, is not a strict JSON parser's:

* the walk stops at the match: text after it is never looked at (``{"a":1,garbage`` finds ``a``),
  while an error met before the match is no sample;
* the first of duplicated keys wins; keys are compared as written (escapes not decoded), a
  backslash in the path escapes one character;
* numbers are read by mjson's own ``strtod`` (digit by digit, in doubles) and printed with
  ``%g``; with the ``int`` output the token is read by C's ``strtoll(..., 0)`` instead (so
  ``010`` is 8 and ``0x1A`` is 26, where the double is 10 and 0) and must lie within
  ±(2^53 - 1);
* strings decode ``\\b \\f \\n \\r \\t \\\\ \\"`` and ``\\u00XX`` only: any other escape
  (``\\/``, ``\\u0100``) makes no sample; ``true``/``false`` are booleans; ``null``, arrays and
  objects give no sample.
"""

from __future__ import annotations

import math

__all__ = ["find", "query", "TOK_STRING", "TOK_NUMBER", "TOK_TRUE", "TOK_FALSE", "TOK_NULL",
           "TOK_ARRAY", "TOK_OBJECT", "JSON_INT_MAX"]

TOK_INVALID = 0
TOK_KEY = 1
TOK_STRING = 11
TOK_NUMBER = 12
TOK_TRUE = 13
TOK_FALSE = 14
TOK_NULL = 15
TOK_ARRAY = 91
TOK_OBJECT = 123
MAX_DEPTH = 20

JSON_INT_MAX = (1 << 53) - 1

_WS = b" \t\n\r"
#: the characters mjson lets a backslash escape while skipping a string: the control characters
#: themselves (not their letters), the quote and the backslash
_PASS_ESC = frozenset(b"\b\f\n\r\t\\\"")
#: what a backslash followed by one of these letters decodes to
_UNESC = {0x62: 8, 0x66: 12, 0x6E: 10, 0x72: 13, 0x74: 9, 0x5C: 0x5C, 0x22: 0x22}


def strtod(s: bytes, i: int) -> tuple[float, int]:
    """mjson's strtod from ``s[i]``: (value, end index). The end is ``i`` when nothing was read;
    a lone sign or point reads nothing."""
    n = len(s)
    p = i
    a = i
    d = 0.0
    sign = 1.0
    if p < n and s[p] == 0x2D:
        sign = -1.0
        p += 1
    elif p < n and s[p] == 0x2B:
        p += 1
    if p < n and 48 <= s[p] <= 57:
        d = float(s[p] - 48)
        p += 1
        while p < n and 48 <= s[p] <= 57:
            d = d * 10.0 + float(s[p] - 48)
            p += 1
        a = p
    elif not (p < n and s[p] == 0x2E):
        return d, a
    d *= sign
    if p < n and s[p] == 0x2E:
        f = 0.0
        base = 0.1
        p += 1
        while p < n and 48 <= s[p] <= 57:
            f += base * (s[p] - 48)
            base /= 10.0
            p += 1
        d += f * sign
        a = p
    if p < n and s[p] in (0x45, 0x65):
        p += 1
        neg = False
        if p < n and s[p] == 0x2D:
            p += 1
            neg = True
        if p < n and s[p] == 0x2B:
            p += 1
        e = 0
        while p < n and 48 <= s[p] <= 57:
            e = e * 10 + s[p] - 48
            p += 1
        k = e
        ex = 10.0
        f = 1.0
        try:
            while k > 0:
                if k & 1:
                    f *= ex
                ex *= ex
                k >>= 1
        except OverflowError:
            f = float("inf")
        if e > 0 and not neg:
            d *= f
        elif e > 0:
            d /= f
        a = p
    elif p > i and not (48 <= s[p - 1] <= 57):
        a = i
    return d, a


def _pass_string(s: bytes, i: int) -> int:
    """Index of the closing quote of the string whose content starts at ``i``, -1 if none."""
    n = len(s)
    while i < n:
        c = s[i]
        if c == 0x5C and i + 1 < n and s[i + 1] in _PASS_ESC:
            i += 1
        elif c == 0:
            return -1
        elif c == 0x22:
            return i
        i += 1
    return -1


class _Finder:
    """mjson's path follower, fed every token of the walk: returns True to stop."""

    __slots__ = ("path", "pos", "d1", "d2", "i1", "i2", "obj", "tok", "off", "len")

    def __init__(self, path: bytes) -> None:
        self.path = path + b"\0"
        self.pos = 1
        self.d1 = self.d2 = self.i1 = self.i2 = 0
        self.obj = -1
        self.tok = TOK_INVALID
        self.off = self.len = 0

    def _plen(self, at: int) -> tuple[int, int]:
        """(characters, bytes) of the key step starting at ``at`` (backslash escapes one)."""
        p = self.path
        i = n = 0
        while p[at + i] not in (0, 0x2E, 0x5B):
            n += 1
            i += 2 if p[at + i] == 0x5C else 1
            if at + i >= len(p):
                i = len(p) - 1 - at
                break
        return n, i

    def _key_is(self, key: bytes, at: int) -> bool:
        p = self.path
        i = at
        for c in key:
            if p[i] == 0x5C:
                i += 1
            if i >= len(p) or c != p[i]:
                return False
            i += 1
        return True

    def __call__(self, tok: int, s: bytes, off: int, ln: int) -> bool:
        if self.tok != TOK_INVALID:
            return True
        p = self.path
        if tok == 0x7B:  # '{'
            if not p[self.pos] and self.d1 == self.d2:
                self.obj = off
            self.d1 += 1
        elif tok == 0x5B:  # '['
            if self.d1 == self.d2 and p[self.pos] == 0x5B:
                self.i1 = 0
                self.i2 = int(strtod(p, self.pos + 1)[0])
                if self.i1 == self.i2:
                    self.d2 += 1
                    self.pos = min(self.pos + 3, len(p) - 1)
            if not p[self.pos] and self.d1 == self.d2:
                self.obj = off
            self.d1 += 1
        elif tok == 0x2C:  # ','
            if self.d1 == self.d2 + 1:
                self.i1 += 1
                if self.i1 == self.i2:
                    end = p.find(b"]", self.pos)
                    self.pos = len(p) - 1 if end < 0 else end + 1
                    self.d2 += 1
        elif (tok == TOK_KEY and self.d1 == self.d2 + 1 and p[self.pos] == 0x2E and ln >= 2
              and self._plen(self.pos + 1)[0] == ln - 2 and self._key_is(s[off + 1:off + ln - 1], self.pos + 1)):
            self.d2 += 1
            self.pos += self._plen(self.pos + 1)[1] + 1
        elif tok == TOK_KEY and self.d1 == self.d2:
            return True  # the path goes on where the text does not: not found
        elif tok in (0x7D, 0x5D):  # '}' ']'
            self.d1 -= 1
            if not p[self.pos] and self.d1 == self.d2 and self.obj != -1:
                self.tok = tok - 2
                self.off = self.obj
                self.len = off - self.obj + 1
                return True
        elif 10 < tok < 20:
            if self.d1 == self.d2 and not p[self.pos]:
                self.tok = tok
                self.off = off
                self.len = ln
                return True
        return False


def _walk(s: bytes, cb: _Finder) -> int:
    """mjson's scanner: calls ``cb`` with each token; < 0 on an error met before ``cb`` stopped."""
    S_VALUE, S_KEY, S_COLON, S_COMMA_OR_EOO = range(4)
    expecting = S_VALUE
    nesting: list[int] = []
    n = len(s)
    i = 0
    while i < n:
        start = i
        c = s[i]
        tok = c
        if c in _WS:
            i += 1
            continue
        if expecting == S_VALUE:
            if c == 0x7B or c == 0x5B:
                if len(nesting) >= MAX_DEPTH:
                    return -2
                nesting.append(c)
                if c == 0x7B:
                    expecting = S_KEY
                if cb(tok, s, start, i - start + 1):
                    return i + 1
                i += 1
                continue
            if c == 0x5D and nesting:  # empty array
                if c != nesting[-1] + 2:
                    return -1
                nesting.pop()
                if not nesting:
                    cb(tok, s, start, i - start + 1)
                    return i + 1
            elif c == 0x74 and i + 3 < n and s[i:i + 4] == b"true":
                i += 3
                tok = TOK_TRUE
            elif c == 0x6E and i + 3 < n and s[i:i + 4] == b"null":
                i += 3
                tok = TOK_NULL
            elif c == 0x66 and i + 4 < n and s[i:i + 5] == b"false":
                i += 4
                tok = TOK_FALSE
            elif c == 0x2D or 48 <= c <= 57:
                _, end = strtod(s, i)
                i += end - i - 1
                tok = TOK_NUMBER
            elif c == 0x22:
                q = _pass_string(s, i + 1)
                if q < 0:
                    return -1
                i = q
                tok = TOK_STRING
            else:
                return -1
            if not nesting:
                cb(tok, s, start, i - start + 1)
                return i + 1
            expecting = S_COMMA_OR_EOO
        elif expecting == S_KEY:
            if c == 0x22:
                q = _pass_string(s, i + 1)
                if q < 0:
                    return -1
                i = q
                tok = TOK_KEY
                expecting = S_COLON
            elif c == 0x7D:  # empty object
                if c != nesting[-1] + 2:
                    return -1
                nesting.pop()
                if not nesting:
                    cb(tok, s, start, i - start + 1)
                    return i + 1
                expecting = S_COMMA_OR_EOO
            else:
                return -1
        elif expecting == S_COLON:
            if c != 0x3A:
                return -1
            expecting = S_VALUE
        else:
            if not nesting:
                return -1
            if c == 0x2C:
                expecting = S_KEY if nesting[-1] == 0x7B else S_VALUE
            elif c in (0x5D, 0x7D):
                if c != nesting[-1] + 2:
                    return -1
                nesting.pop()
                if not nesting:
                    cb(tok, s, start, i - start + 1)
                    return i + 1
            else:
                return -1
        if cb(tok, s, start, i - start + 1):
            return i + 1
        i += 1
    return -1


def find(s: bytes, path: bytes) -> tuple[int, int, int]:
    """(token type, offset, length) of the value at ``path`` in ``s``; type 0 when none."""
    if path[:1] != b"$":
        return TOK_INVALID, 0, 0
    f = _Finder(path)
    if _walk(s, f) < 0:
        return TOK_INVALID, 0, 0
    return f.tok, f.off, f.len


def _unhex(b: bytes) -> int:
    v = 0
    for c in b:
        x = c - 48 if 48 <= c <= 57 else (c - 55 if 65 <= c <= 70 else c - 87)
        v = ((v << 4) | x) & 0xFF
    return v


def unescape(s: bytes) -> bytes | None:
    """A string token's content decoded as mjson does (None: an escape it gives up on)."""
    if b"\\" not in s:
        return s
    out = bytearray()
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == 0x5C and i + 5 < n and s[i + 1] == 0x75:
            if s[i + 2] != 0x30 or s[i + 3] != 0x30:
                return None
            out.append(_unhex(s[i + 4:i + 6]))
            i += 6
        elif c == 0x5C and i + 1 < n:
            d = _UNESC.get(s[i + 1])
            if d is None:
                return None
            out.append(d)
            i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def strtoll0(s: bytes, i: int) -> int:
    """C's ``strtoll(s + i, NULL, 0)``: spaces, a sign, then decimal, 0x hexadecimal or 0 octal
    digits, saturated on 64 bits; 0 when nothing is read."""
    n = len(s)
    while i < n and s[i] in b" \t\n\v\f\r":
        i += 1
    neg = False
    if i < n and s[i] in b"+-":
        neg = s[i] == 0x2D
        i += 1
    base = 10
    if i + 1 < n and s[i] == 0x30 and s[i + 1] in b"xX" and i + 2 < n and s[i + 2] in b"0123456789abcdefABCDEF":
        base = 16
        i += 2
    elif i < n and s[i] == 0x30:
        base = 8
    v = 0
    while i < n:
        c = s[i]
        d = c - 48 if 48 <= c <= 57 else (c - 87 if 97 <= c <= 102 else (c - 55 if 65 <= c <= 70 else 99))
        if d >= base:
            break
        v = v * base + d
        i += 1
    v = -v if neg else v
    return max(-(1 << 63), min((1 << 63) - 1, v))


def query(s: bytes, path: bytes, as_int: bool) -> tuple[str, object] | None:
    """``json_query(path[,int])`` on ``s``: (sample type, value) or None."""
    tok, off, ln = find(s, path)
    if tok == TOK_NUMBER:
        if as_int:
            v = strtoll0(s, off)
            if v < -JSON_INT_MAX or v > JSON_INT_MAX:
                return None
            return ("sint", v)
        d = strtod(s, off)[0]
        if d != d:  # C prints the sign of a NaN (0e999 is 0 * inf: -nan on x86)
            return ("str", b"-nan" if math.copysign(1.0, d) < 0 else b"nan")
        return ("str", b"%g" % d)
    if tok == TOK_TRUE:
        return ("bool", True)
    if tok == TOK_FALSE:
        return ("bool", False)
    if tok == TOK_STRING:
        text = unescape(s[off + 1:off + ln - 1])
        return None if text is None else ("str", text)
    return None
