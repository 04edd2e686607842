"""The order 2.6 keeps a response's records in, which decides which server takes which record.

2.6 stores the records of a resolution in a tree keyed by the XXH32 hash of the record's data
(the address bytes for A/AAAA, the target in DNS label form for SRV), seeded with the record type,
and walks it in key order (records with the same key in the order they were first seen). So the
first server of a template takes the address with the smallest key, not the first one of the
answer (dnsmasq rotates its answers; 2.6's picture does not move with them).

XXH32 is the one of lb/hashfn.py (the xxh32 converter's). Pure module.
"""

from __future__ import annotations

import ipaddress

from haproxy_py.lb.hashfn import xxh32

__all__ = ["ip_key", "label_form", "target_key", "xxh32"]


def label_form(name: str) -> bytes:
    """www.example.org -> b"\\x03www\\x07example\\x03org" (without the final zero)."""
    return b"".join(bytes([len(lb)]) + lb.encode() for lb in name.rstrip(".").split(".") if lb)


def ip_key(ip: str) -> int:
    a = ipaddress.ip_address(ip)
    return xxh32(a.packed, 1 if a.version == 4 else 28)


def target_key(target: str) -> int:
    return xxh32(label_form(target), 33)
