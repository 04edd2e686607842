"""The order 2.6 keeps a response's records in, which decides which server takes which record.

2.6 stores the records of a resolution in a tree keyed by the XXH32 hash of the record's data
(the address bytes for A/AAAA, the target in DNS label form for SRV), seeded with the record type,
and walks it in key order (records with the same key in the order they were first seen). So the
first server of a template takes the address with the smallest key, not the first one of the
answer (dnsmasq rotates its answers; 2.6's picture does not move with them).

XXH32 is Yann Collet's public hash (https://github.com/Cyan4973/xxHash, spec in its doc/), written
here from the specification: a few lines instead of a native dependency. Pure module.
"""

from __future__ import annotations

import ipaddress

_P1, _P2, _P3, _P4, _P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
_M = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M


def xxh32(data: bytes, seed: int = 0) -> int:
    n = len(data)
    i = 0
    if n >= 16:
        v = [(seed + _P1 + _P2) & _M, (seed + _P2) & _M, seed & _M, (seed - _P1) & _M]
        while i + 16 <= n:
            for k in range(4):
                lane = int.from_bytes(data[i:i + 4], "little")
                i += 4
                v[k] = (_rotl((v[k] + lane * _P2) & _M, 13) * _P1) & _M
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while i + 4 <= n:
        h = (_rotl((h + int.from_bytes(data[i:i + 4], "little") * _P3) & _M, 17) * _P4) & _M
        i += 4
    while i < n:
        h = (_rotl((h + data[i] * _P5) & _M, 11) * _P1) & _M
        i += 1
    h ^= h >> 15
    h = (h * _P2) & _M
    h ^= h >> 13
    h = (h * _P3) & _M
    h ^= h >> 16
    return h


def label_form(name: str) -> bytes:
    """www.example.org -> b"\\x03www\\x07example\\x03org" (without the final zero)."""
    return b"".join(bytes([len(lb)]) + lb.encode() for lb in name.rstrip(".").split(".") if lb)


def ip_key(ip: str) -> int:
    a = ipaddress.ip_address(ip)
    return xxh32(a.packed, 1 if a.version == 4 else 28)


def target_key(target: str) -> int:
    return xxh32(label_form(target), 33)
