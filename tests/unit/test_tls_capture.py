"""tls/capture.py's ClientHello capture (2.6's rules) and GREASE filter, on built hellos: what
OpenSSL's clients never send (GREASE values, an empty last extension, a malformed extension)."""

from __future__ import annotations

import random
import struct

from haproxy_py.tls.capture import parse_hello, without_grease


def _ext(typ: int, body: bytes) -> bytes:
    return struct.pack(">HH", typ, len(body)) + body


def _hello(suites: list[int], exts: list[bytes], version: int = 0x0303, sid: bytes = b"\x01" * 32) -> bytes:
    cs = b"".join(struct.pack(">H", s) for s in suites)
    body = (struct.pack(">H", version) + bytes(32) + bytes([len(sid)]) + sid + struct.pack(">H", len(cs)) + cs
            + b"\x01\x00")
    e = b"".join(exts)
    body += struct.pack(">H", len(e)) + e
    return b"\x01" + len(body).to_bytes(3, "big") + body


def _groups(gs: list[int]) -> bytes:
    b = b"".join(struct.pack(">H", g) for g in gs)
    return _ext(10, struct.pack(">H", len(b)) + b)


def test_without_grease_drops_grease_pairs_keeps_odd_tail() -> None:
    rnd = random.Random(7)
    grease = [(0x0A + 16 * i) * 0x101 for i in range(16)]
    for _ in range(200):
        vals = [rnd.choice(grease) if rnd.random() < 0.3 else rnd.randrange(0x10000) for _ in range(rnd.randint(0, 9))]
        data = b"".join(struct.pack(">H", v) for v in vals)
        tail = bytes([rnd.randrange(256)]) if rnd.random() < 0.3 else b""
        want = b"".join(struct.pack(">H", v) for v in vals if v not in grease) + tail
        assert without_grease(data + tail) == want
    assert without_grease(b"\x0a\x1a") == b"\x0a\x1a"  # both bytes must be equal


def test_capture_lists_truncation_and_quirks() -> None:
    suites = [0x1A1A, 0x1301, 0xC02B, 0x00FF]
    exts = [_ext(0x2A2A, b""), _ext(0, b"\x00\x05\x00\x00\x02ab"), _groups([0x0A0A, 0x001D, 0x0017]),
            _ext(11, b"\x02\x00\x01"), _ext(0x0017, b"")]
    msg = _hello(suites, exts)
    h = parse_hello(msg, 4096)
    assert h is not None and h.version == 0x0303
    assert h.ciphers == bytes.fromhex("1A1A1301C02B00FF")
    assert h.suites == h.ciphers
    # the empty extension at the very end is not listed (2.6 walks while more than 4 bytes remain)
    assert h.exts == bytes.fromhex("2A2A0000000A000B")
    assert h.ec == bytes.fromhex("0A0A001D0017") and h.ecf == b"\x00\x01"
    # sizes cut the cipher suites, then the types, then the groups, then the formats
    for size, c, e, g, f in ((3, "1A1A13", "", "", ""), (8, "1A1A1301C02B00FF", "", "", ""),
                             (13, "1A1A1301C02B00FF", "2A2A0000", "", ""),
                             (19, "1A1A1301C02B00FF", "2A2A0000000A000B", "0A0A00", ""),
                             (23, "1A1A1301C02B00FF", "2A2A0000000A000B", "0A0A001D0017", "00")):
        h = parse_hello(msg, size)
        assert h is not None
        assert (h.ciphers.hex().upper(), h.exts.hex().upper(), h.ec.hex().upper(), h.ecf.hex().upper()) == \
            (c, e, g, f), size
        assert h.suites == bytes.fromhex("1A1A1301C02B00FF")  # what ssl_fc_cipherlist_xxh hashes
    # a malformed groups extension: the types seen so far are kept, no groups nor formats
    bad = _hello(suites, [_ext(11, b"\x01\x00"), _ext(10, b"\x00\x09\x00\x17"), _ext(5, b"\x01")])
    h = parse_hello(bad, 4096)
    assert h is not None and h.exts == bytes.fromhex("000B000A") and h.ec == b"" and h.ecf == b""
    assert parse_hello(msg[:20], 4096) is None and parse_hello(b"\x02" + msg[1:], 4096) is None
    assert parse_hello(msg, 0) is None
