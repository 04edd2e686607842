"""Converters (HAProxy 2.6 names and semantics). Pure.

Each function is ``fn(value, args, txn) -> value | None`` on a value of the entry's input type
(see :mod:`.core`). Arithmetic saturates on 64 bits as 2.6 does (``div`` by 0 gives the largest
integer, ``mod`` by 0 gives 0); the integer argument of ``add``/``sub``/... may also name a
variable, read at run time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
import time
from typing import Any

from ..lb.hashfn import crc32 as _crc32
from ..lb.hashfn import crc32c, full_hash, xxh3, xxh32, xxh64
from ..lb.hashfn import djb2 as _djb2
from ..lb.hashfn import sdbm as _sdbm
from ..lb.hashfn import wt6 as _wt6
from .core import converter
from .txn import VAR_CONDS, VAR_SCOPES, Txn, var_name_error
from .types import INT_MAX, INT_MIN, clamp64, parse_int, to_text

T = "tests/unit/test_samples_conv.py::"
D = "tests/differential/test_samples_vs_haproxy.py::test_converters_vs_haproxy"

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


# --------------------------------------------------------------------------- strings


@converter("lower", test=D)
def c_lower(v: bytes, a: tuple, t: Txn) -> bytes:
    return v.lower()


@converter("upper", test=D)
def c_upper(v: bytes, a: tuple, t: Txn) -> bytes:
    return v.upper()


@converter("length", test=D)
def c_length(v: bytes, a: tuple, t: Txn) -> int:
    return len(v)


@converter("bytes", test=D)
def c_bytes(v: bytes, a: tuple, t: Txn) -> bytes | None:
    """2.6 accepts a negative offset or length (and then reads outside the sample): no sample."""
    off = a[0]
    if off < 0 or (len(a) > 1 and a[1] < 0):
        return None
    if off >= len(v):
        return b""
    if len(a) > 1:  # a length of 0 is no byte (2.6)
        return v[off:off + a[1]]
    return v[off:]


def _prep_delims(a: tuple) -> tuple:
    if a[0] == 0:
        raise ValueError("Unexpected value 0 for index.")
    if not a[1]:
        raise ValueError("Empty separators list")
    if len(a) > 2 and a[2] < 0:
        raise ValueError(f"Unexpected value {a[2]} for count.")
    return (a[0], frozenset(a[1].encode("latin1")), a[2] if len(a) > 2 else 1)


def _fields(v: bytes, delims: frozenset[int], merge: bool) -> list[tuple[int, int]]:
    """(start, end) of each field; ``merge``: consecutive delimiters make one, and the ends are
    trimmed (``word``)."""
    out: list[tuple[int, int]] = []
    start = 0
    for i, c in enumerate(v):
        if c in delims:
            if not merge or i > start:
                out.append((start, i))
            start = i + 1
    if not merge or len(v) > start:
        out.append((start, len(v)))
    return out


def _pick_fields(v: bytes, a: tuple, merge: bool) -> bytes:
    """``count`` fields from ``idx`` (negative: backwards from the last). A count of 0, or one that
    runs past an end of the string, extends the result to that end (delimiters included), as 2.6."""
    idx, delims, count = a
    fl = _fields(v, delims, merge)
    n = len(fl)
    if abs(idx) > n:
        return b""
    if idx > 0:
        first = idx - 1
        last = first + count - 1
        end = len(v) if count == 0 or last > n - 1 else fl[last][1]
        return v[fl[first][0]:end]
    last = n + idx
    first = last - count + 1
    start = 0 if count == 0 or first < 0 else fl[first][0]
    return v[start:fl[last][1]]


@converter("field", test=D, prepare=_prep_delims)
def c_field(v: bytes, a: tuple, t: Txn) -> bytes:
    return _pick_fields(v, a, False)


@converter("word", test=D, prepare=_prep_delims)
def c_word(v: bytes, a: tuple, t: Txn) -> bytes:
    return _pick_fields(v, a, True)


def _prep_regsub(a: tuple) -> tuple:
    if not a[0].pattern:  # 2.6 refuses it once the arguments are resolved ("missing regex in arg 1 ...")
        raise ValueError("missing regex in arg 1")
    flags = a[2] if len(a) > 2 else ""
    for f in flags:
        if f not in "gi":
            raise ValueError(f"invalid regex flag '{f}', only 'i' and 'g' are supported")
    rx = a[0]
    if "i" in flags:
        rx = re.compile(rx.pattern, re.IGNORECASE)
    # HAProxy's \1..\9 references; Python's \g<1>
    repl = re.sub(r"\\(\d)", r"\\g<\1>", a[1].replace("\\\\", "\0")).replace("\0", "\\\\")
    return (rx, repl.encode("latin1"), 0 if "g" in flags else 1)


@converter("regsub", test=D, prepare=_prep_regsub)
def c_regsub(v: bytes, a: tuple, t: Txn) -> bytes:
    rx, repl, count = a
    return rx.sub(repl, v, count=count)


def _prep_var(a: tuple, i: int) -> None:
    if len(a) > i and a[i] and var_name_error(a[i]) is not None:
        raise ValueError(f"failed to register variable name '{a[i]}'")


def arg_or_var(w: str) -> tuple[bytes, str | None]:
    """A string argument 2.6 reads as a variable when it names one (``txn.key``): (text, None)
    for a constant, (b"", name) for a variable."""
    scope, dot, rest = w.partition(".")
    if dot and rest and scope in VAR_SCOPES:
        return (b"", w)
    return (w.encode("latin1"), None)


def arg_value(a: tuple[bytes, str | None], t: Txn) -> bytes | None:
    """The value of an :func:`arg_or_var` argument (None: the variable is not set)."""
    return a[0] if a[1] is None else _var_text(t, a[1])


def _prep_concat(a: tuple) -> tuple:
    _prep_var(a, 1)
    return (a[0].encode("latin1") if a else b"", a[1] if len(a) > 1 else "",
            a[2].encode("latin1") if len(a) > 2 else b"")


def _var_text(t: Txn, name: str) -> bytes | None:
    if not name:
        return None
    s = t.get_var(name)
    return None if s is None else to_text(s.type, s.value)


@converter("concat", test=T + "test_string_converters", prepare=_prep_concat)
def c_concat(v: bytes, a: tuple, t: Txn) -> bytes:
    mid = _var_text(t, a[1]) or b""
    return v + a[0] + mid + a[2]


def _prep_strcmp(a: tuple) -> tuple:
    if not a or not a[0]:
        raise ValueError("missing variable name")
    _prep_var(a, 0)
    return a


def _prep_memcmp(a: tuple) -> tuple:
    if not a or not a[0]:
        raise ValueError("missing variable name")
    _prep_var(a, 0)
    return a


@converter("strcmp", test=T + "test_string_converters", prepare=_prep_strcmp)
def c_strcmp(v: bytes, a: tuple, t: Txn) -> int | None:
    other = _var_text(t, a[0])
    if other is None:
        return None
    n = min(len(v), len(other))
    for x, y in zip(v[:n], other[:n], strict=True):
        if x != y:
            return x - y
    # equal up to the shorter one: 2.6 answers the sign of the length difference
    return (len(v) > len(other)) - (len(v) < len(other))


@converter("ltrim", test=D, prepare=lambda a: (a[0].encode("latin1"),))
def c_ltrim(v: bytes, a: tuple, t: Txn) -> bytes:
    return v.lstrip(a[0])


@converter("rtrim", test=D, prepare=lambda a: (a[0].encode("latin1"),))
def c_rtrim(v: bytes, a: tuple, t: Txn) -> bytes:
    return v.rstrip(a[0])


@converter("cut_crlf", test=T + "test_string_converters")
def c_cut_crlf(v: bytes, a: tuple, t: Txn) -> bytes:
    for i, c in enumerate(v):
        if c in (10, 13):
            return v[:i]
    return v


def _prep_json(a: tuple) -> tuple:
    mode = a[0] if a and a[0] else "ascii"
    if mode not in ("ascii", "utf8", "utf8s", "utf8p", "utf8ps"):
        raise ValueError("Unexpected input code type. Allowed value are 'ascii', 'utf8', 'utf8s', "
                         "'utf8p' and 'utf8ps'")
    return (mode,)


_JSON_ESC = {0x22: b'\\"', 0x5C: b"\\\\", 0x2F: b"\\/", 0x08: b"\\b", 0x0C: b"\\f", 0x0A: b"\\n",
             0x0D: b"\\r", 0x09: b"\\t"}


@converter("json", test=T + "test_string_converters", prepare=_prep_json, args="[string]")
def c_json(v: bytes, a: tuple, t: Txn) -> bytes | None:
    out = bytearray()
    if a[0] == "ascii":
        for c in v:
            e = _JSON_ESC.get(c)
            if e is not None:
                out += e
            elif c < 0x20 or c > 0x7E:
                out += b"\\u%04x" % c
            else:
                out.append(c)
        return bytes(out)
    try:
        s = v.decode("utf-8", "strict")
    except UnicodeDecodeError:
        if a[0] in ("utf8s", "utf8ps"):
            s = v.decode("utf-8", "ignore")
        else:
            return None
    for ch in s:
        c = ord(ch)
        e = _JSON_ESC.get(c)
        if e is not None:
            out += e
        elif c < 0x20 or c > 0x7E:  # 2.6 writes every non-ASCII code point as \uXXXX too
            out += b"\\u%04x" % c
        else:
            out.append(c)
    return bytes(out)


# --------------------------------------------------------------------------- encodings


@converter("base64", test=D)
def c_base64(v: bytes, a: tuple, t: Txn) -> bytes:
    return base64.b64encode(v)


@converter("b64dec", test=D)
def c_b64dec(v: bytes, a: tuple, t: Txn) -> bytes | None:
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return None


@converter("ub64enc", test=D)
def c_ub64enc(v: bytes, a: tuple, t: Txn) -> bytes:
    return base64.urlsafe_b64encode(v).rstrip(b"=")


#: base64url -> base64; '+' and '/' are not base64url; 2.6 reads an '=' inside the text as 63
_URL_TO_STD = bytes.maketrans(b"-_+/=", b"+/\x00\x00/")


@converter("ub64dec", test=D)
def c_ub64dec(v: bytes, a: tuple, t: Txn) -> bytes | None:
    if len(v) % 4 == 1:
        return None
    try:  # only the base64url alphabet: anything else is no sample
        return base64.b64decode(v.translate(_URL_TO_STD) + b"=" * (-len(v) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


@converter("hex", test=D)
def c_hex(v: bytes, a: tuple, t: Txn) -> bytes:
    return v.hex().upper().encode()


@converter("hex2i", test=D)
def c_hex2i(v: bytes, a: tuple, t: Txn) -> int | None:
    """Hex digits only (no sign, no 0x; anything else: no sample), wrapping on 64 bits."""
    n = 0
    for c in v:
        if c not in _HEXD:
            return None
        n = (n << 4 | int(chr(c), 16)) & M64
    return _s64(n)


_HEXD = b"0123456789abcdefABCDEF"


@converter("url_dec", test=D)
def c_url_dec(v: bytes, a: tuple, t: Txn) -> bytes | None:
    in_form = bool(a[0]) if a else False
    out = bytearray()
    i, n = 0, len(v)
    while i < n:
        c = v[i]
        if c == 0x3F:  # '?' : the query string is form-encoded
            in_form = True
            out.append(c)
        elif c == 0x2B and in_form:
            out.append(0x20)
        elif c == 0x25:
            h = v[i + 1:i + 3]
            if len(h) < 2 or h[0] not in _HEXD or h[1] not in _HEXD:
                return None
            out.append(int(h, 16))
            i += 2
        else:
            out.append(c)
        i += 1
    return bytes(out)


def _prep_url_enc(a: tuple) -> tuple:
    if a and a[0] not in ("query", ""):
        raise ValueError("Unexpected encode type. Allowed value is 'query'")
    return ()


_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@converter("url_enc", test=D, prepare=_prep_url_enc, args="[string]")
def c_url_enc(v: bytes, a: tuple, t: Txn) -> bytes:
    return b"".join(bytes((c,)) if c in _URL_SAFE else b"%%%02X" % c for c in v)


# --------------------------------------------------------------------------- addresses


@converter("ipmask", test=D)
def c_ipmask(v: Any, a: tuple, t: Txn) -> Any:
    if v.version == 6:
        m = v.ipv4_mapped
        if m is not None:
            v = m
        elif len(a) > 1:
            bits = a[1]
            mask = ((1 << 128) - 1) ^ ((1 << (128 - bits)) - 1)
            return ipaddress.IPv6Address(int(v) & mask)
        else:
            return None
    return ipaddress.IPv4Address(int(v) & int(a[0]))


# --------------------------------------------------------------------------- time


def _strftime(fmt: str, ts: int, local: bool) -> bytes | None:
    try:
        tm = time.localtime(ts) if local else time.gmtime(ts)
    except (OverflowError, OSError, ValueError):
        return None
    return time.strftime(fmt, tm).encode("latin1", "replace")


@converter("ltime", test=T + "test_time_converters")
def c_ltime(v: int, a: tuple, t: Txn) -> bytes | None:
    return _strftime(a[0], v + (a[1] if len(a) > 1 else 0), True)


@converter("utime", test=D)
def c_utime(v: int, a: tuple, t: Txn) -> bytes | None:
    return _strftime(a[0], v + (a[1] if len(a) > 1 else 0), False)


def _prep_http_date(a: tuple) -> tuple:
    unit = a[1] if len(a) > 1 else "s"
    if unit not in ("s", "ms", "us"):
        raise ValueError(f"expects 's', 'ms' or 'us', got '{unit}'")
    return (a[0] if a else 0, unit)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@converter("http_date", test=D, prepare=_prep_http_date)
def c_http_date(v: int, a: tuple, t: Txn) -> bytes | None:
    off, unit = a
    div = {"s": 1, "ms": 1000, "us": 1_000_000}[unit]
    ts, frac = divmod(v, div)
    ts += off
    try:
        tm = time.gmtime(ts)
    except (OverflowError, OSError, ValueError):
        return None
    # with ms/us the remainder follows the seconds as a plain number (2.6: ".5" for 5 ms)
    fraction = f".{frac}" if div > 1 else ""
    return (f"{_DAYS[tm.tm_wday]}, {tm.tm_mday:02d} {_MONTHS[tm.tm_mon - 1]} {tm.tm_year} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}{fraction} GMT").encode()


# --------------------------------------------------------------------------- arithmetic


def _prep_operand(a: tuple) -> tuple:
    """A variable name, else an integer as 2.6 reads it (a sign and digits, each optional: "" and
    "-" are 0), else 2.6's error."""
    w = a[0]
    if var_name_error(w) is None:
        return (0, w)
    if re.fullmatch(r"[+-]?\d*", w):
        return (clamp64(int(w)) if w.strip("+-") else 0, None)
    raise ValueError("expects an integer or a variable name")


def _operand(a: tuple, t: Txn) -> int | None:
    n, var = a
    if var is None:
        return n
    s = t.get_var(var)
    if s is None:
        return None
    from .types import caster
    c = caster(s.type, "sint")
    return None if c is None else c(s.value)


def _arith(name: str, op):
    def fn(v: int, a: tuple, t: Txn) -> int | None:
        b = _operand(a, t)
        if b is None:
            return None
        return op(v, b)
    converter(name, test=D, prepare=_prep_operand, keeps_bool=True)(fn)


def _div(x: int, y: int) -> int:
    if y == 0:
        return INT_MAX
    q = abs(x) // abs(y)
    return clamp64(q if (x >= 0) == (y >= 0) else -q)


def _mod(x: int, y: int) -> int:
    if y == 0:
        return 0
    r = abs(x) % abs(y)
    return r if x >= 0 else -r


def _s64(n: int) -> int:
    n &= M64
    return n - (1 << 64) if n >> 63 else n


def _add(a: int, b: int) -> int:
    """2.6's ``arith_add``, its overflow check included: with two negative operands the check
    ``LLONG_MAX - a < b`` itself overflows in C and the result is LLONG_MAX (so ``-3,add(-1)`` is
    9223372036854775807 in 2.6, and here)."""
    if (a ^ b) >= 0:
        if a < 0 and INT_MIN - a > b:
            return INT_MIN
        if _s64(INT_MAX - a) < b:
            return INT_MAX
    return _s64(a + b)


def _sub(a: int, b: int) -> int:
    # 2.6: a + (-b), with -LLONG_MIN taken as LLONG_MAX
    return _add(a, INT_MAX if b == INT_MIN else -b)


_arith("add", _add)
_arith("sub", _sub)
_arith("mul", lambda x, y: clamp64(x * y))
_arith("div", _div)
_arith("mod", _mod)
_arith("and", lambda x, y: _s64(x & y))
_arith("or", lambda x, y: _s64(x | y))
_arith("xor", lambda x, y: _s64(x ^ y))


@converter("neg", test=D, keeps_bool=True)
def c_neg(v: int, a: tuple, t: Txn) -> int:
    return INT_MAX if v == INT_MIN else -v


@converter("cpl", test=D, keeps_bool=True)
def c_cpl(v: int, a: tuple, t: Txn) -> int:
    return ~v


@converter("not", test=D)
def c_not(v: bool, a: tuple, t: Txn) -> int:
    return 0 if v else 1


@converter("bool", test=D)
def c_bool(v: int, a: tuple, t: Txn) -> bool:
    return v != 0


@converter("odd", test=D)
def c_odd(v: int, a: tuple, t: Txn) -> int:
    return int(v) & 1


@converter("even", test=D)
def c_even(v: int, a: tuple, t: Txn) -> int:
    return 0 if int(v) & 1 else 1


# --------------------------------------------------------------------------- hashes


def _hash_conv(name: str, fn):
    def conv(v: bytes, a: tuple, t: Txn) -> int:
        h = fn(v)
        return full_hash(h) if a and a[0] else h
    converter(name, test=D)(conv)


_hash_conv("djb2", _djb2)
_hash_conv("sdbm", _sdbm)
_hash_conv("wt6", _wt6)
_hash_conv("crc32", _crc32)
_hash_conv("crc32c", crc32c)


@converter("xxh32", test=D)
def c_xxh32(v: bytes, a: tuple, t: Txn) -> int:
    return xxh32(v, a[0] if a else 0)


@converter("xxh64", test=D)
def c_xxh64(v: bytes, a: tuple, t: Txn) -> int:
    return _s64(xxh64(v, a[0] if a else 0))


@converter("xxh3", test=D)
def c_xxh3(v: bytes, a: tuple, t: Txn) -> int:
    return _s64(xxh3(v, a[0] if a else 0))


@converter("sha1", test=D)
def c_sha1(v: bytes, a: tuple, t: Txn) -> bytes:
    return hashlib.sha1(v).digest()  # noqa: S324 - HAProxy's converter


def _prep_sha2(a: tuple) -> tuple:
    bits = a[0] if a else 256
    if bits not in (224, 256, 384, 512):
        raise ValueError(f"Unsupported number of bits: '{bits}'.")
    return (bits,)


@converter("sha2", test=D, prepare=_prep_sha2)
def c_sha2(v: bytes, a: tuple, t: Txn) -> bytes:
    return hashlib.new(f"sha{a[0]}", v).digest()


# --------------------------------------------------------------------------- more of 2.6's converters


@converter("iif", test=D)
def c_iif(v: bool, a: tuple, t: Txn) -> bytes:
    return (a[0] if v else a[1]).encode("latin1")


@converter("htonl", test=D)
def c_htonl(v: int, a: tuple, t: Txn) -> bytes:
    return (v & M32).to_bytes(4, "big")


def _prep_digest(a: tuple) -> tuple:
    try:
        hashlib.new(a[0])
    except ValueError:
        raise ValueError(f"failed to get digest '{a[0]}'.") from None
    return a


@converter("digest", test=D, prepare=_prep_digest)
def c_digest(v: bytes, a: tuple, t: Txn) -> bytes:
    return hashlib.new(a[0], v).digest()


def _prep_hmac(a: tuple) -> tuple:
    _prep_digest(a)
    _prep_var(a, 1)
    return a


@converter("hmac", test=T + "test_var_converters", prepare=_prep_hmac)
def c_hmac(v: bytes, a: tuple, t: Txn) -> bytes | None:
    import hmac

    key = _var_text(t, a[1])
    if key is None:
        return None
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return None
    return hmac.new(raw, v, a[0]).digest()


@converter("host_only", test=D)
def c_host_only(v: bytes, a: tuple, t: Txn) -> bytes:
    """The host part of ``host[:port]`` (``[v6]`` kept bracketed), lower-cased as 2.6 does."""
    v = v.lower()
    if v[:1] == b"[":
        end = v.find(b"]")
        return v if end < 0 else v[:end + 1]
    host, sep, _ = v.rpartition(b":")
    return host if sep else v


@converter("port_only", test=D)
def c_port_only(v: bytes, a: tuple, t: Txn) -> int:
    if v[:1] == b"[":
        end = v.find(b"]")
        rest = v[end + 1:] if end >= 0 else b""
    else:
        rest = v[v.rfind(b":"):] if b":" in v else b""
    if rest[:1] != b":":
        return 0
    n = parse_int(rest[1:])
    return n or 0


def _prep_add_item(a: tuple) -> tuple:
    _prep_var(a, 1)
    return (a[0].encode("latin1"), a[1] if len(a) > 1 else "", a[2].encode("latin1") if len(a) > 2 else b"")


@converter("add_item", test=T + "test_var_converters", prepare=_prep_add_item)
def c_add_item(v: bytes, a: tuple, t: Txn) -> bytes:
    delim, var, suffix = a
    item = ((_var_text(t, var) or b"") if var else b"") + suffix
    if not item:
        return v
    return v + delim + item if v else item


def _prep_be(a: tuple) -> tuple:
    sep = a[0].encode("latin1") if a else b""
    size = a[1] if len(a) > 1 else 0
    trunc = a[2] if len(a) > 2 else 0
    if not 1 <= size <= 8:
        raise ValueError(f"chunk_size out of [1..8] range ({size})")
    return (sep, size, trunc)


def _prep_be2hex(a: tuple) -> tuple:
    """2.6: chunks only with a positive size; a separator asks for one."""
    sep = a[0].encode("latin1") if a else b""
    size = a[1] if len(a) > 1 else 0
    if sep and size <= 0:
        raise ValueError(f"chunk_size needs to be positive ({size})")
    return (sep, size if size > 0 else 1 << 62, a[2] if len(a) > 2 else 0)


@converter("be2dec", test=D, prepare=_prep_be)
def c_be2dec(v: bytes, a: tuple, t: Txn) -> bytes:
    sep, size, trunc = a
    chunks = [v[i:i + size] for i in range(0, len(v), size)]
    if trunc and chunks and len(chunks[-1]) < size:
        chunks.pop()
    return sep.join(b"%d" % int.from_bytes(c, "big") for c in chunks)


@converter("be2hex", test=D, prepare=_prep_be2hex)
def c_be2hex(v: bytes, a: tuple, t: Txn) -> bytes:
    sep, size, trunc = a
    chunks = [v[i:i + size] for i in range(0, len(v), size)]
    if trunc and chunks and len(chunks[-1]) < size:
        chunks.pop()
    return sep.join(c.hex().upper().encode() for c in chunks)


def _prep_one_var(a: tuple) -> tuple:
    err = var_name_error(a[0] if a else "")
    if err is not None:
        raise ValueError(err)
    return a


@converter("secure_memcmp", test=T + "test_var_converters", prepare=_prep_memcmp)
def c_secure_memcmp(v: bytes, a: tuple, t: Txn) -> bool | None:
    import hmac

    s = t.get_var(a[0])
    if s is None:
        return None
    other = s.value if s.type == "bin" else to_text(s.type, s.value)
    return other is not None and hmac.compare_digest(v, other)


def _prep_set_var(a: tuple) -> tuple:
    _prep_one_var(a)
    bits = 0
    for c in a[1:]:  # 2.6 names the first word it does not know (an empty one too)
        if c not in VAR_CONDS:
            raise ValueError(f'unknown condition "{c}"')
        bits |= VAR_CONDS[c]
    return (a[0], bits)


@converter("set-var", test=T + "test_var_converters", prepare=_prep_set_var, in_type="any", out="any")
def c_set_var(v: Any, a: tuple, t: Txn) -> Any:
    """Stores the sample in the variable and passes it on; where nothing is set (conditions that
    do not hold, a limit, a scope the context lacks) the sample is lost (2.6's converter returns
    var_set's failure)."""
    from .types import Sample

    s = v if isinstance(v, Sample) else None
    if s is None:
        return None
    if a[1]:
        return s if t.set_var_if(a[0], s, a[1]) else None
    return s if t.set_var(a[0], s) else None


@converter("unset-var", test=T + "test_var_converters", prepare=_prep_one_var, in_type="any", out="any")
def c_unset_var(v: Any, a: tuple, t: Txn) -> Any:
    return v if t.unset_var(a[0]) else None


@converter("nbsrv", test=T + "test_var_converters")
def c_nbsrv(v: bytes, a: tuple, t: Txn) -> int | None:
    return None if t.runtime is None else t.runtime.nbsrv(v.decode("latin1"))


@converter("srv_queue", test=T + "test_var_converters")
def c_srv_queue(v: bytes, a: tuple, t: Txn) -> int | None:
    if t.runtime is None:
        return None
    be, _, srv = v.decode("latin1").rpartition("/")
    return t.runtime.srv_queue(be or t.backend, srv)


def _prep_language(a: tuple) -> tuple:
    langs = tuple(x for x in a[0].split(";") if x)
    return (frozenset(x.encode("latin1") for x in langs), a[1].encode("latin1") if len(a) > 1 else None)


def _qvalue(params: bytes) -> int:
    """The q of ``;q=0.8`` in thousandths (1000 when absent)."""
    for p in params.split(b";"):
        k, eq, v = p.strip(b" \t").partition(b"=")
        if eq and k.strip(b" \t").lower() == b"q":
            v = v.strip(b" \t")
            whole, _, frac = v.partition(b".")
            if not whole.isdigit() or (frac and not frac.isdigit()):
                return 1000  # 2.6 takes an unreadable q as the default, 1
            q = int(whole) * 1000 + int((frac + b"000")[:3] or b"0")
            return min(q, 1000)
    return 1000


@converter("language", test=D, prepare=_prep_language)
def c_language(v: bytes, a: tuple, t: Txn) -> bytes | None:
    """The supported language (``a``'s list) the Accept-Language value prefers most: a variant
    (``fr-CA``) matches itself or else its base language; q=0 is dropped; among equal q the
    first in the header wins; the default (if any) when none matches."""
    langs, default = a
    best, best_q = None, 0
    for item in v.split(b","):
        tag, _, params = item.strip(b" \t").partition(b";")
        tag = tag.strip(b" \t")
        q = _qvalue(params)
        hit = tag if tag in langs else (tag.partition(b"-")[0] if b"-" in tag else None)
        if hit is None or hit not in langs:
            continue
        if q > best_q:  # q=0 is never chosen
            best, best_q = hit, q
            if q >= 1000:  # nothing can beat it: 2.6 stops here
                break
    return best if best is not None else default




# --------------------------------------------------------------------------- captures

D_CAP = "tests/differential/test_samples_vs_haproxy.py::test_capture_converters_vs_haproxy"


def _capture_conv(name: str, response: bool) -> None:
    def conv(v: bytes, a: tuple, t: Txn) -> bytes | None:
        """The sample into the frontend's capture slot ``a[0]`` (cut to the slot's length); the
        sample goes on whole. No sample when the slot does not exist (2.6 fails silently)."""
        rec = t.rec
        plan = getattr(t, "caps", None)
        if rec is None or plan is None:
            return None
        caps = rec.res_caps if response else rec.req_caps
        i = a[0]
        if caps is None or not 0 <= i < len(caps):
            return None
        caps[i] = v[:(plan.res if response else plan.req)[i][1]].decode("latin-1")
        return v

    converter(name, test=D_CAP)(conv)


_capture_conv("capture-req", False)
_capture_conv("capture-res", True)




# --------------------------------------------------------------------------- aes_gcm_dec

D_AES = "tests/differential/test_samples_vs_haproxy.py::test_aes_gcm_dec_vs_haproxy"


def _b64_strict(text: bytes) -> bytes | None:
    if len(text) % 4:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _prep_aes(a: tuple) -> tuple:
    if a[0] not in (128, 192, 256):
        raise ValueError("key size must be 128, 192 or 256 (bits)..")
    out: list[Any] = [a[0] // 8]
    for name, w in zip(("nonce", "key", "aead_tag"), a[1:], strict=True):
        if var_name_error(w) is None:
            out.append((None, w))
            continue
        raw = _b64_strict(w.encode("latin1"))
        if raw is None:
            raise ValueError(f"failed to parse {name} : argument needs to be base64 encoded, and can either be "
                             "a string or a variable")
        out.append((raw, None))
    return tuple(out)


def _aes_arg(arg: tuple, t: Txn) -> bytes | None:
    raw, var = arg
    if var is None:
        return raw
    text = _var_text(t, var)
    return None if text is None else _b64_strict(text)


@converter("aes_gcm_dec", test=D_AES, prepare=_prep_aes)
def c_aes_gcm_dec(v: bytes, a: tuple, t: Txn) -> bytes | None:
    """AES-GCM decryption (samples/aesgcm.py); the nonce, key and tag base64-encoded, given as text
    or in variables; no sample when the tag does not verify. A key shorter than the size asked
    gives no sample (2.6 reads past its buffer then)."""
    from .aesgcm import decrypt

    size = a[0]
    nonce, key, tag = (_aes_arg(x, t) for x in a[1:])
    if nonce is None or key is None or tag is None or len(key) < size:
        return None
    return decrypt(key[:size], nonce, v, tag)


# --------------------------------------------------------------------------- FIX

D_FIX = "tests/differential/test_samples_vs_haproxy.py::test_fix_converters_vs_haproxy"


def _more_data(t: Txn) -> None:
    """The data may still grow (tcp-request content with inspect-delay): an ACL failing on it waits."""
    if getattr(t, "payload_final", True) is False:
        t.missing = True  # type: ignore[attr-defined]


@converter("fix_is_valid", test=D_FIX)
def c_fix_is_valid(v: bytes, a: tuple, t: Txn) -> bool | None:
    from .fix import NEED_MORE, VALID, validate

    r = validate(v)
    if r == NEED_MORE:
        _more_data(t)
        return None
    return r == VALID


def _prep_fix_tag(a: tuple) -> tuple:
    from .fix import tag_id

    tid = tag_id(a[0])
    if not tid:
        raise ValueError(f"Unknown FIX tag name '{a[0]}'")
    return (tid,)


@converter("fix_tag_value", test=D_FIX, prepare=_prep_fix_tag)
def c_fix_tag_value(v: bytes, a: tuple, t: Txn) -> bytes | None:
    from .fix import _tag_value

    value, more = _tag_value(v, a[0])
    if more:
        _more_data(t)
    return value or None


# --------------------------------------------------------------------------- MQTT (samples/mqtt.py)

D_MQTT = "tests/differential/test_mqtt_vs_haproxy.py::test_mqtt_converters_vs_haproxy"


@converter("mqtt_is_valid", test=D_MQTT)
def c_mqtt_is_valid(v: bytes, a: tuple, t: Txn) -> bool | None:
    from .mqtt import NEED_MORE, VALID, validate

    r = validate(v)
    if r == NEED_MORE:
        _more_data(t)
        return None
    return r == VALID


def _prep_mqtt(a: tuple) -> tuple:
    from .mqtt import field_id, type_id

    ptype = type_id(a[0])
    if not ptype:
        raise ValueError(f"Unknown MQTT type '{a[0]}'")
    name = field_id(ptype, a[1])
    if name is None:
        raise ValueError(f"Unknown MQTT field name '{a[1]}' for packet type '{a[0]}'")
    return (ptype, name)


@converter("mqtt_field_value", test=D_MQTT, prepare=_prep_mqtt)
def c_mqtt_field_value(v: bytes, a: tuple, t: Txn) -> bytes | None:
    from .mqtt import field_value

    value, more = field_value(v, a[0], a[1])
    if more:
        _more_data(t)
    return value


# --------------------------------------------------------------------------- protocol buffers, gRPC

D_PB = "tests/differential/test_samples_vs_haproxy.py::test_protobuf_converters_vs_haproxy"


def _prep_pbuf(a: tuple) -> tuple:
    from .protobuf import TYPES

    if len(a) > 1:
        if a[1] not in TYPES:
            raise ValueError(f"Wrong protocol buffer type '{a[1]}'")
        return (a[0], TYPES[a[1]][1])
    return (a[0], None)


def _pbuf_conv(name: str) -> None:
    from . import protobuf as pb
    from .types import Sample

    walk = pb.protobuf if name == "protobuf" else pb.ungrpc

    def conv(v: bytes, a: tuple, t: Txn) -> Any:
        found = walk(v, a[0], a[1])
        return None if found is None else Sample(found[0], found[1])

    converter(name, test=D_PB, prepare=_prep_pbuf, out="any", checked_as="bin")(conv)


_pbuf_conv("protobuf")
_pbuf_conv("ungrpc")


# --------------------------------------------------------------------------- debug

_PRINTABLE = bytes(c if 0x20 <= c < 0x7F else 0x2E for c in range(256))


def _prep_debug(a: tuple) -> tuple:
    sink = a[1] if len(a) > 1 and a[1] else "buf0"
    if sink not in ("buf0", "stdout", "stderr"):
        raise ValueError(f"No such sink '{sink}'.")
    if sink != "buf0":
        raise ValueError(f"the debug converter's sink '{sink}' is not implemented by haproxy-py "
                         "(HAProxy 2.6 supports it); buf0 is")
    return (a[0] if a else "",)


@converter("debug", test="tests/differential/test_samples_vs_haproxy.py::test_debug_converter_vs_haproxy",
           prepare=_prep_debug)
def c_debug(v: Any, a: tuple, t: Txn) -> Any:
    """The sample goes on unchanged; a line goes to the buf0 ring: its type and its value as text
    (cut at a NUL like any cast of binary to text), non-printable bytes as dots."""
    from ..log.sink import emit, event_line
    from .types import Sample

    s = v if isinstance(v, Sample) else None
    if s is None:
        return None
    text = to_text(s.type, s.value)
    shown = b"" if text is None else text.translate(_PRINTABLE)
    emit(event_line(t.wall, "debug", f"{a[0]}: type={s.type} <{shown.decode('latin1')}>"))
    return s
