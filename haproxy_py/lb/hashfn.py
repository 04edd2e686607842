"""HAProxy's hash functions (HAPROXY_FACTS 3.7): sdbm, djb2, wt6, crc32 and the avalanche mix.

All arithmetic is modulo 2**32 on unsigned bytes. Pure.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

M32 = 0xFFFFFFFF


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
