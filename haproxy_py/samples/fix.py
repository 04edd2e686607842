"""The FIX protocol checks of the ``fix_is_valid`` and ``fix_tag_value`` converters, as 2.6 reads
a message: ``TAG=VALUE`` fields each ended by SOH (0x01). Pure.

A valid message starts with BeginString (8, a known version), then BodyLength (9, the byte count
from after its field to the CheckSum field), then MsgType (35), and ends with CheckSum (10, three
digits: the sum of every byte before it, modulo 256). Tag numbers must be numbers (and, once the
version is known, in its range or 10000-19999). A message cut before its end needs more data.
"""

from __future__ import annotations

VALID, NEED_MORE, INVALID = 1, 0, -1
SOH = 0x01
_VERSIONS = {b"FIX.4.0": 140, b"FIX.4.1": 211, b"FIX.4.2": 446, b"FIX.4.3": 659, b"FIX.4.4": 956,
             b"FIXT.1.1": 1621}
NAMES = {"msgtype": 35, "checksum": 10, "bodylength": 9, "targetcompid": 56, "beginstring": 8,
         "sendercompid": 49}


def _uint(b: bytes) -> tuple[int, int]:
    """(value, digits read) as 2.6's read_uint reads a number."""
    n = i = 0
    while i < len(b) and 48 <= b[i] <= 57:
        n = (n * 10 + b[i] - 48) & 0xFFFFFFFF
        i += 1
    return n, i


def check_id(tag: bytes, version: bytes | None) -> int:
    n, used = _uint(tag)
    if used != len(tag) or n == 0:
        return 0
    if version is None or 10000 <= n <= 19999:
        return n
    return n if n <= _VERSIONS[version] else 0


def tag_id(name: str) -> int:
    """A tag given by number or by one of the names 2.6 knows (0: neither)."""
    return check_id(name.encode("latin1"), None) or NAMES.get(name.lower(), 0)


def _field(msg: bytes, pos: int) -> tuple[int, int, int] | None:
    """(end of the tag at '=', end of the value at SOH) of the field at ``pos``; None when no
    SOH ends it in the data."""
    eq = msg.find(b"=", pos)
    if eq < 0:
        return None
    end = msg.find(bytes((SOH,)), eq)
    if end < 0:
        return None
    return eq, end, 0


def validate(msg: bytes) -> int:
    if len(msg) < 26:
        return NEED_MORE
    pos = 0
    version: bytes | None = None
    checksum = tagnum = bodylen = 0
    body = -1
    while pos < len(msg):
        f = _field(msg, pos)
        if f is None:
            return NEED_MORE
        eq, end, _ = f
        if eq == pos:
            return INVALID
        tag, value = msg[pos:eq], msg[eq + 1:end]
        tid = check_id(tag, version)
        if not tid:
            return INVALID
        tagnum += 1
        if tagnum == 1:
            if tid != 8 or value not in _VERSIONS:
                return INVALID
            version = value
        elif tagnum == 2:
            if tid != 9:
                return INVALID
            bodylen, used = _uint(value)
            if used != len(value) or not bodylen:
                return INVALID
            body = end + 1
        elif tagnum == 3:
            if tid != 35:
                return INVALID
        elif tid == 10:
            if bodylen != pos - body or len(value) != 3:
                return INVALID
            return VALID if checksum == _uint(value)[0] else INVALID
        checksum = (checksum + sum(tag) + 61 + sum(value) + SOH) & 0xFF
        pos = end + 1
    return NEED_MORE if body >= 0 else INVALID


def tag_value(msg: bytes, tid: int) -> bytes | None:
    """The value of the first field ``tid``; None when absent, invalid, or not there yet (the
    caller tells those apart with :func:`needs_more`)."""
    return _tag_value(msg, tid)[0]


def _tag_value(msg: bytes, tid: int) -> tuple[bytes | None, bool]:
    pos = 0
    while pos < len(msg):
        f = _field(msg, pos)
        if f is None:
            return None, True
        eq, end, _ = f
        if eq == pos:
            return None, False
        n = check_id(msg[pos:eq], None)
        if not n:
            return None, False
        if n == tid:
            return msg[eq + 1:end], False
        if n == 10:
            return None, False
        pos = end + 1
    return None, True


def needs_more(msg: bytes, tid: int) -> bool:
    return _tag_value(msg, tid)[1]
