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


_CRC32C_TABLE: list[int] = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as HAProxy's hash_crc32c: the crc32c converter and the PROXY
    protocol v2 CRC32C TLV."""
    crc = 0xFFFFFFFF
    tab = _CRC32C_TABLE
    for b in data:
        crc = tab[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


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


# XXH3, 64-bit variant with a seed (the xxh3 converter), written from xxHash's specification: inputs of
# up to 16, 128 and 240 bytes each have their own short mix; longer ones run the striped accumulator
# over 1 KiB blocks with a secret derived from the seed
_XXH3_SECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
    "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e")
_MX1 = 0x165667919E3779F9
_MX2 = 0x9FB21C651E98DF25


def _le64(b: bytes, i: int) -> int:
    return int.from_bytes(b[i:i + 8], "little")


def _le32(b: bytes, i: int) -> int:
    return int.from_bytes(b[i:i + 4], "little")


def _fold64(a: int, b: int) -> int:
    p = a * b
    return (p ^ (p >> 64)) & M64


def _xxh3_aval(h: int) -> int:
    h ^= h >> 37
    h = (h * _MX1) & M64
    return h ^ (h >> 32)


def _xxh64_aval(h: int) -> int:
    h ^= h >> 33
    h = (h * _P64_2) & M64
    h ^= h >> 29
    h = (h * _P64_3) & M64
    return h ^ (h >> 32)


def _mix16(data: bytes, i: int, sec: bytes, s: int, seed: int) -> int:
    return _fold64(_le64(data, i) ^ ((_le64(sec, s) + seed) & M64),
                   _le64(data, i + 8) ^ ((_le64(sec, s + 8) - seed) & M64))


def _xxh3_long(data: bytes, sec: bytes) -> int:
    n = len(data)
    acc = [0xC2B2AE3D, _P64_1, _P64_2, _P64_3, _P64_4, 0x85EBCA77, _P64_5, 0x9E3779B1]
    ssize = len(sec)
    per_block = (ssize - 64) // 8
    block_len = 64 * per_block

    def stripe(off: int, s: int) -> None:
        for lane in range(8):
            v = _le64(data, off + 8 * lane)
            k = v ^ _le64(sec, s + 8 * lane)
            acc[lane ^ 1] = (acc[lane ^ 1] + v) & M64
            acc[lane] = (acc[lane] + (k & M32) * (k >> 32)) & M64

    def scramble() -> None:
        s = ssize - 64
        for lane in range(8):
            a = acc[lane]
            a ^= a >> 47
            a ^= _le64(sec, s + 8 * lane)
            acc[lane] = (a * 0x9E3779B1) & M64

    blocks = (n - 1) // block_len
    for b in range(blocks):
        for k in range(per_block):
            stripe(b * block_len + 64 * k, 8 * k)
        scramble()
    for k in range(((n - 1) - block_len * blocks) // 64):
        stripe(blocks * block_len + 64 * k, 8 * k)
    stripe(n - 64, ssize - 64 - 7)
    h = (n * _P64_1) & M64
    for k in range(4):
        h += _fold64(acc[2 * k] ^ _le64(sec, 11 + 16 * k), acc[2 * k + 1] ^ _le64(sec, 19 + 16 * k))
    return _xxh3_aval(h & M64)


def xxh3(data: bytes, seed: int = 0) -> int:
    """XXH3_64bits_withSeed: the unsigned 64-bit hash of ``data``."""
    n = len(data)
    seed &= M64
    sec = _XXH3_SECRET
    if n == 0:
        return _xxh64_aval(seed ^ _le64(sec, 56) ^ _le64(sec, 64))
    if n <= 3:
        combined = (data[0] << 16) | (data[n >> 1] << 24) | data[-1] | (n << 8)
        return _xxh64_aval(combined ^ (((_le32(sec, 0) ^ _le32(sec, 4)) + seed) & M64))
    if n <= 8:
        low = seed & M32
        s = seed ^ (int.from_bytes(low.to_bytes(4, "little"), "big") << 32)
        v = (_le32(data, n - 4) + (_le32(data, 0) << 32)) ^ (((_le64(sec, 8) ^ _le64(sec, 16)) - s) & M64)
        v ^= _rotl64(v, 49) ^ _rotl64(v, 24)
        v = (v * _MX2) & M64
        v ^= (v >> 35) + n
        v = (v * _MX2) & M64
        return v ^ (v >> 28)
    if n <= 16:
        lo = _le64(data, 0) ^ (((_le64(sec, 24) ^ _le64(sec, 32)) + seed) & M64)
        hi = _le64(data, n - 8) ^ (((_le64(sec, 40) ^ _le64(sec, 48)) - seed) & M64)
        swapped = int.from_bytes(lo.to_bytes(8, "little"), "big")
        return _xxh3_aval((n + swapped + hi + _fold64(lo, hi)) & M64)
    if n <= 128:
        h = n * _P64_1
        if n > 32:
            if n > 64:
                if n > 96:
                    h += _mix16(data, 48, sec, 96, seed) + _mix16(data, n - 64, sec, 112, seed)
                h += _mix16(data, 32, sec, 64, seed) + _mix16(data, n - 48, sec, 80, seed)
            h += _mix16(data, 16, sec, 32, seed) + _mix16(data, n - 32, sec, 48, seed)
        h += _mix16(data, 0, sec, 0, seed) + _mix16(data, n - 16, sec, 16, seed)
        return _xxh3_aval(h & M64)
    if n <= 240:
        h = n * _P64_1
        for i in range(8):
            h += _mix16(data, 16 * i, sec, 16 * i, seed)
        h = _xxh3_aval(h & M64)
        for i in range(8, n // 16):
            h += _mix16(data, 16 * i, sec, 16 * (i - 8) + 3, seed)
        h += _mix16(data, n - 16, sec, 136 - 17, seed)
        return _xxh3_aval(h & M64)
    if seed:
        sec = b"".join(((_le64(_XXH3_SECRET, 16 * i) + seed) & M64).to_bytes(8, "little")
                       + ((_le64(_XXH3_SECRET, 16 * i + 8) - seed) & M64).to_bytes(8, "little")
                       for i in range(len(_XXH3_SECRET) // 16))
    return _xxh3_long(data, sec)
