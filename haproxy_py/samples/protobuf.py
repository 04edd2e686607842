"""Protocol buffers field lookup for the ``protobuf`` and ``ungrpc`` converters, as 2.6 walks a
message. Pure.

A field path ``1.3.2`` names field 1 of the message, then field 3 of that sub-message, then field
2 of that one. 2.6 walks the bytes once: a field whose number is the next one of the path is
entered (its value is not skipped, whatever its wire type), any other is skipped; the remaining
length of the sub-message being walked is counted down, and when a skipped field ends it (or
when a length-delimited one is skipped, whose length replaces the count) the path starts again
from its first number. The last field of the path gives the sample: its raw bytes (varint bytes,
8 or 4 bytes, or the length-delimited contents) without a type, else an integer decoded by the
type, which must fit the wire type (no sample otherwise).
"""

from __future__ import annotations

import struct

M64 = (1 << 64) - 1

#: type name -> (wire type, decoding)
TYPES = {
    "int32": (0, "int"), "uint32": (0, "int"), "int64": (0, "int"), "uint64": (0, "int"),
    "bool": (0, "int"), "enum": (0, "int"), "sint32": (0, "zigzag"), "sint64": (0, "zigzag"),
    "fixed32": (5, "u32"), "sfixed32": (5, "s32"), "float": (5, "float"),
    "fixed64": (1, "u64"), "sfixed64": (1, "u64"), "double": (1, "double"),
}


def parse_field_path(w: str) -> tuple[int, ...] | None:
    """2.6's dotted field numbers: digits separated by dots, not ending with one (an empty
    number between dots, or before the first, counts as 0); None when not one."""
    if not w or w.endswith(".") or any(c not in "0123456789." for c in w):
        return None
    return tuple((int(p) if p else 0) & 0xFFFFFFFF for p in w.split("."))


def _varint(data: bytes, pos: int, end: int) -> tuple[int | None, int]:
    """(value or None when malformed, position after the bytes read)."""
    val = shift = 0
    while pos < end:
        b = data[pos]
        val |= ((b & 0x7F) << shift) & M64
        pos += 1
        if not b & 0x80:
            return val, pos
        if pos >= end:
            return None, pos
        shift += 7
        if shift > 63:
            return None, pos
    return val, pos


def _s64(v: int) -> int:
    v &= M64
    return v - (1 << 64) if v >> 63 else v


def _double_to_u64(d: float) -> int:
    """What x86-64 code makes of a C cast of a double to uint64_t."""
    if d != d:
        return 1 << 63
    if d >= 2.0 ** 63:
        if d >= 2.0 ** 64:
            return 0
        return (int(d - 2.0 ** 63) | (1 << 63)) & M64
    if d <= -(2.0 ** 63):
        return 1 << 63
    return int(d) & M64


def _float_to_u32(f: float) -> int:
    if f != f or not -(2.0 ** 63) < f < 2.0 ** 63:
        return 0
    return int(f) & 0xFFFFFFFF


def _store(data: bytes, wire: int, kind: str | None, pos: int, end: int, elen: int) -> tuple[str, object] | None:
    left = end - pos
    if wire == 0:
        if kind is None:
            v, after = _varint(data, pos, end)
            return None if v is None else ("bin", data[pos:after])
        if kind not in ("int", "zigzag"):
            return None
        v, _ = _varint(data, pos, end)
        if v is None:
            return None
        if kind == "zigzag":
            v = (v >> 1) ^ (-(v & 1) & M64)
        return "sint", _s64(v)
    if wire == 1:
        if left < 8:
            return None
        raw = data[pos:pos + 8]
        if kind is None:
            return "bin", raw
        if kind == "u64":
            return "sint", _s64(int.from_bytes(raw, "little"))
        if kind == "double":
            return "sint", _s64(_double_to_u64(struct.unpack("<d", raw)[0]))
        return None
    if wire == 2:
        if left < elen or kind is not None:
            return None
        return "bin", data[pos:pos + elen]
    if left < 4:  # wire 5
        return None
    raw = data[pos:pos + 4]
    if kind is None:
        return "bin", raw
    if kind == "u32":
        return "sint", int.from_bytes(raw, "little")
    if kind == "s32":
        return "sint", int.from_bytes(raw, "little", signed=True)
    if kind == "float":
        return "sint", _float_to_u32(struct.unpack("<f", raw)[0])
    return None


def lookup(data: bytes, pos: int, end: int, path: tuple[int, ...],
           kind: str | None) -> tuple[tuple[str, object] | None, int]:
    """The field ``path`` in ``data[pos:end]``: ((type, value) or None, where the walk stopped)."""
    elen = 0
    field = 0
    last = len(path) - 1
    while field <= last:
        if end - pos <= 0:
            return None, pos
        before = end - pos
        key, pos = _varint(data, pos, end)
        if key is None:
            return None, pos
        wire = key & 7
        found = ((key >> 3) & 0xFFFFFFFF) == path[field]
        if wire == 0:
            if not found:
                v, pos = _varint(data, pos, end)
                if v is None:
                    return None, pos
        elif wire in (1, 5):
            if not found:
                size = 8 if wire == 1 else 4
                if end - pos < size:
                    return None, pos
                pos += size
        elif wire == 2:
            elen, pos = _varint(data, pos, end)  # type: ignore[assignment]
            if elen is None or elen > end - pos:
                return None, pos
            before = end - pos
            if not found:
                pos += elen
        else:
            return None, pos
        if found and field == last:
            return _store(data, wire, kind, pos, end, elen), pos
        if _s64(elen) > 0:
            elen = (elen - (before - (end - pos))) & M64
        if found:
            field += 1
        elif _s64(elen) <= 0:
            field = 0
    return None, pos


def protobuf(data: bytes, path: tuple[int, ...], kind: str | None) -> tuple[str, object] | None:
    return lookup(data, 0, len(data), path, kind)[0]


def ungrpc(data: bytes, path: tuple[int, ...], kind: str | None) -> tuple[str, object] | None:
    """The field in the gRPC messages of ``data`` (a flag byte and a 32-bit big-endian length
    before each): message after message while the field is not found, each next header read
    where the previous walk stopped, as 2.6 does."""
    pos = 0
    left = len(data)
    while left > 5:
        mlen = int.from_bytes(data[pos + 1:pos + 5], "big")
        pos += 5
        left -= 5
        if left < mlen:
            return None
        found, pos = lookup(data, pos, pos + mlen, path, kind)
        if found is not None:
            return found
        left -= mlen
    return None
