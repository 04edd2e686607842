"""The PROXY protocol codec (haproxy_py/conn/proxy_protocol.py): parsing as 2.6's conn_recv_proxy,
building as its make_proxy_line, and round trips. What 2.6 itself makes of generated headers is
tests/differential/test_proxy_protocol_vs_haproxy.py."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from haproxy_py.conn import proxy_protocol as P
from haproxy_py.lb.hashfn import crc32c


def test_v1_tcp4_and_tcp6() -> None:
    h = P.parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 111 222\r\nGET / HTTP/1.0\r\n\r\n")
    assert isinstance(h, P.Header)
    assert (h.version, h.length, h.src, h.dst) == (1, 36, ("1.2.3.4", 111), ("5.6.7.8", 222))
    h = P.parse(b"PROXY TCP6 ::1 2001:db8::1 1 65535\r\n")
    assert isinstance(h, P.Header)
    assert (h.src, h.dst) == (("::1", 1), ("2001:db8::1", 65535))
    h = P.parse(b"PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n")
    assert isinstance(h, P.Header) and h.src == ("::ffff:1.2.3.4", 1)


def test_v1_quirks_of_2_6() -> None:
    # a part above 255 spills into the next byte; ports are cut to 16 bits
    h = P.parse(b"PROXY TCP4 1.2.3.999 5.6.7.8 70000 222\r\n")
    assert isinstance(h, P.Header) and h.src == ("1.2.6.231", 4464)
    # missing parts are zeros, only the last three digits of a part count
    h = P.parse(b"PROXY TCP4 10 1.2.3.0004 1 2\r\n")
    assert isinstance(h, P.Header) and h.src == ("10.0.0.0", 1) and h.dst == ("1.2.3.4", 2)
    # TCP6 allows more fields after the destination port
    h = P.parse(b"PROXY TCP6 ::1 ::2 1 2 extra\r\n")
    assert isinstance(h, P.Header) and h.dst == ("::2", 2)
    # UNKNOWN must end at once
    h = P.parse(b"PROXY UNKNOWN\r\n")
    assert isinstance(h, P.Header) and h.src is None and h.length == 15
    assert P.parse(b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n") == P.ERR_BAD_PROTO


def test_v1_errors() -> None:
    assert P.parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == P.ERR_NOT_HDR
    assert P.parse(b"GET /\r\n") == P.ERR_TRUNCATED  # shorter than a v2 header: 2.6 says truncated
    assert P.parse(b"PROXY TCP4 1.2.3.4") == P.ERR_TRUNCATED
    assert P.parse(b"PROXY TCP4 1.2.3.4 x\r\n") == P.ERR_BAD_HDR
    assert P.parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n") == P.ERR_TRUNCATED  # 2 bytes needed after the port
    assert P.parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nX") == P.ERR_BAD_HDR
    assert P.parse(b"PROXY FOO\r\n\r\n") == P.ERR_BAD_PROTO
    assert P.parse(b"PROXY TCP6 ::1 ::2 1\r\n") == P.ERR_BAD_HDR
    assert P.parse(b"PROXY TCP6 ::1 ::2 1x 2\r\n") == P.ERR_BAD_HDR
    assert P.parse(b"PROXY TCP6 1.2.3.4 ::2 1 2\r\n") == P.ERR_BAD_HDR
    assert P.parse(b"PROXY TCP6 ::1 ::2 1 2") == P.ERR_TRUNCATED


def test_v2_commands_families_and_tlvs() -> None:
    h = P.parse(P.build_v2(None, None) + b"data")
    assert isinstance(h, P.Header) and h.local and h.src is None and h.length == 16
    raw = P.build_v2(("1.2.3.4", 5), ("6.7.8.9", 10), [(P.PP2_TYPE_AUTHORITY, b"example.com"),
                                                       (P.PP2_TYPE_UNIQUE_ID, b"id-1")], crc=True)
    h = P.parse(raw)
    assert isinstance(h, P.Header)
    assert (h.src, h.dst, h.authority, h.unique_id) == (("1.2.3.4", 5), ("6.7.8.9", 10), b"example.com", b"id-1")
    assert h.tlvs[0][0] == P.PP2_TYPE_CRC32C
    # a wrong CRC, a CRC TLV of 3 bytes, an authority of 256 bytes, a unique id of 129 bytes
    bad = bytearray(raw)
    bad[31] ^= 1
    assert P.parse(bytes(bad)) == P.ERR_BAD_HDR
    short_crc = P.V2_SIG + b"\x21\x11" + (12 + 6).to_bytes(2, "big") + bytes(12) + P.tlv(P.PP2_TYPE_CRC32C, b"abc")
    assert P.parse(short_crc) == P.ERR_BAD_HDR
    for kind, n in ((P.PP2_TYPE_AUTHORITY, 256), (P.PP2_TYPE_UNIQUE_ID, 129)):
        assert P.parse(P.build_v2(("1.2.3.4", 1), ("1.2.3.4", 2), [(kind, b"a" * n)])) == P.ERR_BAD_HDR
        assert isinstance(P.parse(P.build_v2(("1.2.3.4", 1), ("1.2.3.4", 2), [(kind, b"a" * (n - 1))])), P.Header)
    # the last of two AUTHORITY TLVs wins
    h = P.parse(P.build_v2(("1.2.3.4", 1), ("1.2.3.4", 2), [(2, b"a"), (2, b"b")]))
    assert isinstance(h, P.Header) and h.authority == b"b"
    # a TLV running past the end, a length shorter than the addresses, a version 1 binary header
    over = P.V2_SIG + b"\x21\x11" + (12 + 3).to_bytes(2, "big") + bytes(12) + b"\x04\x00\x05"
    assert P.parse(over) == P.ERR_BAD_HDR
    assert P.parse(P.V2_SIG + b"\x21\x11\x00\x04" + bytes(4)) == P.ERR_BAD_HDR
    assert P.parse(P.V2_SIG + b"\x11\x11\x00\x00") == P.ERR_NOT_HDR
    assert P.parse(P.V2_SIG + b"\x22\x11\x00\x00") == P.ERR_BAD_HDR  # command 2
    assert P.parse(P.V2_SIG + b"\x21\x11\x00\x0c" + bytes(8)) == P.ERR_TRUNCATED
    # another family: 2.6 parses TLVs from offset 0, which fails
    assert P.parse(P.V2_SIG + b"\x21\x31\x00\x10" + bytes(16)) == P.ERR_BAD_HDR
    # UNSPEC with the PROXY command: the same, even without data (the TLV parse starts at 0 < 16)
    assert P.parse(P.V2_SIG + b"\x21\x00\x00\x00") == P.ERR_BAD_HDR


def test_build_v1_and_v2_as_2_6() -> None:
    assert P.build_v1(("1.2.3.4", 1), ("5.6.7.8", 2)) == b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"
    assert P.build_v1(("1.2.3.4", 1), ("::1", 2)) == b"PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n"
    assert P.build_v1(("unix", 0), ("1.2.3.4", 2)) == b"PROXY UNKNOWN\r\n"
    assert P.build_v2(("unix", 0), None) == P.V2_SIG + b"\x20\x00\x00\x00"
    v2 = P.build_v2(("1.2.3.4", 1), ("5.6.7.8", 2))
    assert v2 == P.V2_SIG + b"\x21\x11\x00\x0c" + bytes([1, 2, 3, 4, 5, 6, 7, 8]) + b"\x00\x01\x00\x02"
    crc = P.build_v2(("1.2.3.4", 1), ("5.6.7.8", 2), crc=True)
    assert crc32c(crc[:31] + b"\0\0\0\0") == int.from_bytes(crc[31:35], "big")
    t, v = P.ssl_tlv(P.PP2_CLIENT_SSL, 0, [(P.PP2_SUBTYPE_SSL_VERSION, b"TLSv1.3")])
    assert t == 0x20 and v == b"\x01\x00\x00\x00\x00\x21\x00\x07TLSv1.3"


_v4 = st.ip_addresses(v=4).map(str)
_v6 = st.ip_addresses(v=6).map(lambda a: P.ntop6(a.packed))
_port = st.integers(0, 65535)
_tlv = st.tuples(st.integers(0, 255).filter(lambda t: t not in (2, 3, 5)), st.binary(max_size=40))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.tuples(_v4, _v4), st.tuples(_v6, _v6), st.tuples(_v4, _v6)), _port, _port,
       st.lists(_tlv, max_size=4), st.booleans(), st.binary(max_size=20))
def test_round_trip(ips: tuple[str, str], sport: int, dport: int, tlvs: list[tuple[int, bytes]], crc: bool,
                    rest: bytes) -> None:
    src, dst = (ips[0], sport), (ips[1], dport)
    mixed = (":" in ips[0]) != (":" in ips[1])

    def canon(ip: str) -> str:
        return P.ntop6(b"\0" * 10 + b"\xff\xff" + ipaddress.IPv4Address(ip).packed) if mixed and ":" not in ip else ip

    want = ((canon(ips[0]), sport), (canon(ips[1]), dport))
    one = P.build_v1(src, dst)
    h = P.parse(one + rest)
    assert isinstance(h, P.Header) and h.length == len(one) and (h.src, h.dst) == want
    two = P.build_v2(src, dst, tlvs, crc=crc)
    h = P.parse(two + rest)
    assert isinstance(h, P.Header) and h.length == len(two) and (h.src, h.dst) == want
    assert [t for t in h.tlvs if t[0] != P.PP2_TYPE_CRC32C] == tlvs


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=1, max_size=120))
def test_any_bytes_give_a_header_or_an_error(data: bytes) -> None:
    res = P.parse(data)
    assert isinstance(res, str) or (isinstance(res, P.Header) and 0 < res.length <= len(data))
    res = P.parse(b"PROXY " + data)
    assert isinstance(res, str) or (isinstance(res, P.Header) and res.length <= len(data) + 6)
