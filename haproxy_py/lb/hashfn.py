"""HAProxy's hash functions (HAPROXY_FACTS 3.7): sdbm, djb2, wt6, crc32 and the avalanche mix.

All arithmetic is modulo 2**32 on unsigned bytes. Pure.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def sdbm(key: bytes) -> int:
    h = 0
    for c in key:
        h = (c + (h << 6) + (h << 16) - h) & M32
    return h


def djb2(key: bytes) -> int:
    h = 5381
    for c in key:
        h = (h * 33 + c) & M32
    return h


def wt6(key: bytes) -> int:
    h0 = 0xA53C965A
    h1 = 0x5CA6953A
    s0 = 6
    s1 = 18
    for t in key:
        h0 = ~(h0 ^ t) & M32
        h1 = ~(h1 + t) & M32
        t = ((h1 << s0) | (h1 >> (32 - s0))) & M32
        h1 = ((h0 << s1) | (h0 >> (32 - s1))) & M32
        h0 = t
        t = ((h0 >> 16) ^ h1) & 0xFFFF
        s0 = t & 0x1F
        s1 = t >> 11
    return h0 ^ h1


def crc32(key: bytes) -> int:
    return zlib.crc32(key) & M32


def full_hash(a: int) -> int:
    """Bob Jenkins' 32-bit integer mix (HAProxy's ``full_hash``), used by ``avalanche``."""
    a &= M32
    a = ((a + 0x7ED55D16) + (a << 12)) & M32
    a = ((a ^ 0xC761C23C) ^ (a >> 19)) & M32
    a = ((a + 0x165667B1) + (a << 5)) & M32
    a = ((a + 0xD3A2646C) ^ (a << 9)) & M32
    a = ((a + 0xFD7046C5) + (a << 3)) & M32
    a = ((a ^ 0xB55A4F09) ^ (a >> 16)) & M32
    return (a * 3221225473) & M32


FUNCTIONS: dict[str, Callable[[bytes], int]] = {
    "sdbm": sdbm,
    "djb2": djb2,
    "wt6": wt6,
    "crc32": crc32,
}


def make_hasher(function: str = "sdbm", avalanche: bool = False) -> Callable[[bytes], int]:
    """HAProxy's ``gen_hash``: the configured function, then ``full_hash`` if ``avalanche``.

    ``function`` "none" (or unknown) behaves as sdbm like HAProxy's default branch.
    """
    fn = FUNCTIONS.get(function, sdbm)
    if not avalanche:
        return fn

    def hasher(key: bytes) -> int:
        return full_hash(fn(key))

    return hasher


# XXH32 and XXH64 (Yann Collet's public xxHash, written from its specification): the xxh32/xxh64
# converters, and the order 2.6 keeps DNS records in (dns/order.py)
_P32_1, _P32_2, _P32_3, _P32_4, _P32_5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393


def _rotl32(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & M32


def xxh32(data: bytes, seed: int = 0) -> int:
    n = len(data)
    i = 0
    seed &= M32
    if n >= 16:
        v1 = (seed + _P32_1 + _P32_2) & M32
        v2 = (seed + _P32_2) & M32
        v3 = seed
        v4 = (seed - _P32_1) & M32
        while i + 16 <= n:
            lanes = [int.from_bytes(data[i + k:i + k + 4], "little") for k in (0, 4, 8, 12)]
            v1 = (_rotl32((v1 + lanes[0] * _P32_2) & M32, 13) * _P32_1) & M32
            v2 = (_rotl32((v2 + lanes[1] * _P32_2) & M32, 13) * _P32_1) & M32
            v3 = (_rotl32((v3 + lanes[2] * _P32_2) & M32, 13) * _P32_1) & M32
            v4 = (_rotl32((v4 + lanes[3] * _P32_2) & M32, 13) * _P32_1) & M32
            i += 16
        h = (_rotl32(v1, 1) + _rotl32(v2, 7) + _rotl32(v3, 12) + _rotl32(v4, 18)) & M32
    else:
        h = (seed + _P32_5) & M32
    h = (h + n) & M32
    while i + 4 <= n:
        h = (_rotl32((h + int.from_bytes(data[i:i + 4], "little") * _P32_3) & M32, 17) * _P32_4) & M32
        i += 4
    while i < n:
        h = (_rotl32((h + data[i] * _P32_5) & M32, 11) * _P32_1) & M32
        i += 1
    h ^= h >> 15
    h = (h * _P32_2) & M32
    h ^= h >> 13
    h = (h * _P32_3) & M32
    h ^= h >> 16
    return h


_P64_1 = 11400714785074694791
_P64_2 = 14029467366897019727
_P64_3 = 1609587929392839161
_P64_4 = 9650029242287828579
_P64_5 = 2870177450012600261


def _rotl64(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & M64


def _round64(acc: int, lane: int) -> int:
    return (_rotl64((acc + lane * _P64_2) & M64, 31) * _P64_1) & M64


def _merge64(h: int, v: int) -> int:
    h ^= _round64(0, v)
    return (h * _P64_1 + _P64_4) & M64


def xxh64(data: bytes, seed: int = 0) -> int:
    n = len(data)
    i = 0
    seed &= M64
    if n >= 32:
        v1 = (seed + _P64_1 + _P64_2) & M64
        v2 = (seed + _P64_2) & M64
        v3 = seed
        v4 = (seed - _P64_1) & M64
        while i + 32 <= n:
            v1 = _round64(v1, int.from_bytes(data[i:i + 8], "little"))
            v2 = _round64(v2, int.from_bytes(data[i + 8:i + 16], "little"))
            v3 = _round64(v3, int.from_bytes(data[i + 16:i + 24], "little"))
            v4 = _round64(v4, int.from_bytes(data[i + 24:i + 32], "little"))
            i += 32
        h = (_rotl64(v1, 1) + _rotl64(v2, 7) + _rotl64(v3, 12) + _rotl64(v4, 18)) & M64
        for v in (v1, v2, v3, v4):
            h = _merge64(h, v)
    else:
        h = (seed + _P64_5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round64(0, int.from_bytes(data[i:i + 8], "little"))
        h = (_rotl64(h, 27) * _P64_1 + _P64_4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i:i + 4], "little") * _P64_1) & M64
        h = (_rotl64(h, 23) * _P64_2 + _P64_3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * _P64_5) & M64
        h = (_rotl64(h, 11) * _P64_1) & M64
        i += 1
    h ^= h >> 33
    h = (h * _P64_2) & M64
    h ^= h >> 29
    h = (h * _P64_3) & M64
    h ^= h >> 32
    return h
