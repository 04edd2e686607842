"""The PROXY protocol, v1 (text) and v2 (binary): parse a received header, build one to send. Pure.

Receiving follows HAProxy 2.6's ``conn_recv_proxy``: the engine peeks at what the client sent first
(one read, the header is never waited for in pieces) and :func:`parse` decides from those bytes
alone: a :class:`Header` (whose ``length`` bytes the engine then consumes) or one of 2.6's error
texts (the engine logs it and closes). 2.6's quirks are kept on purpose, since what a peer sees
must be what 2.6 would make of the same bytes:

* v1 ``TCP4`` addresses are read as 2.6's ``inetaddr_host_lim_ret`` reads them (the last three
  digits of each dotted part, a part above 255 spilling into the next byte, missing parts zero),
  ports as an unsigned 32-bit number cut to 16 bits; ``TCP6`` fields are split on spaces (a fourth
  space or more is allowed after the destination port) and checked with ``inet_pton``;
* ``UNKNOWN`` must be followed by CRLF at once (``PROXY UNKNOWN 1.2.3.4 ...`` is refused as an
  unhandled protocol);
* a v2 ``PROXY`` command with a family other than TCP over IPv4/IPv6 parses its TLVs from the
  start of the header (2.6's offset is left at zero), which refuses it unless its length is huge;
* a v2 CRC32C TLV must be 4 bytes and match; an AUTHORITY TLV is at most 255 bytes, a UNIQUE_ID
  one at most 128; the last of several wins.

Sending follows 2.6's ``make_proxy_line``: v1 ``PROXY TCP4|TCP6 SRC DST SPORT DPORT`` (an IPv4
address next to an IPv6 one is written v4-mapped), ``PROXY UNKNOWN`` without addresses; v2 with
the TLVs in 2.6's order (CRC32C, ALPN, AUTHORITY, UNIQUE_ID, SSL with its sub-TLVs), ``LOCAL``
without addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from haproxy_py.lb.hashfn import crc32c

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"

# TLV types (doc/proxy-protocol.txt)
PP2_TYPE_ALPN = 0x01
PP2_TYPE_AUTHORITY = 0x02
PP2_TYPE_CRC32C = 0x03
PP2_TYPE_NOOP = 0x04
PP2_TYPE_UNIQUE_ID = 0x05
PP2_TYPE_SSL = 0x20
PP2_SUBTYPE_SSL_VERSION = 0x21
PP2_SUBTYPE_SSL_CN = 0x22
PP2_SUBTYPE_SSL_CIPHER = 0x23
PP2_SUBTYPE_SSL_SIG_ALG = 0x24
PP2_SUBTYPE_SSL_KEY_ALG = 0x25
PP2_TYPE_NETNS = 0x30
# the SSL TLV's client flags
PP2_CLIENT_SSL = 0x01
PP2_CLIENT_CERT_CONN = 0x02
PP2_CLIENT_CERT_SESS = 0x04

#: 2.6's limits on the TLVs it keeps
AUTHORITY_MAX = 255
UNIQUE_ID_MAX = 128
#: what 2.6 peeks at once (its trash buffer, tune.bufsize)
PEEK_SIZE = 16384

# 2.6's connection error texts (CO_ER_PRX_*)
ERR_EMPTY = "Connection closed while waiting for PROXY protocol header"
ERR_ABORT = "Connection error while waiting for PROXY protocol header"
ERR_TIMEOUT = "Timeout while waiting for PROXY protocol header"
ERR_TRUNCATED = "Truncated PROXY protocol header received"
ERR_NOT_HDR = "Received something which does not look like a PROXY protocol header"
ERR_BAD_HDR = "Received an invalid PROXY protocol header"
ERR_BAD_PROTO = "Received an unhandled protocol in the PROXY protocol header"
#: the errors ``option dontlognull`` does not log (nothing was received, or the client failed)
QUIET_UNDER_DONTLOGNULL = (ERR_EMPTY, ERR_ABORT)

Addr = tuple[str, int]


class Refused(str):
    """An error text that comes with the header's addresses: 2.6 sets a v2 header's addresses
    before it reads the TLVs, so a bad TLV is logged with the header's source."""

    src: Addr | None = None


@dataclass(frozen=True, slots=True)
class Header:
    """A received header: ``length`` bytes long; ``src``/``dst`` None when the connection keeps its
    own addresses (``UNKNOWN``, v2 ``LOCAL``, a v2 family other than TCP over IP)."""

    version: int
    length: int
    src: Addr | None = None
    dst: Addr | None = None
    local: bool = False
    #: the v2 TLVs in order: (type, value)
    tlvs: tuple[tuple[int, bytes], ...] = ()

    def tlv(self, kind: int) -> bytes | None:
        """The value of the last TLV of that type (2.6 keeps the last one), or None."""
        found = None
        for t, v in self.tlvs:
            if t == kind:
                found = v
        return found

    @property
    def authority(self) -> bytes | None:
        return self.tlv(PP2_TYPE_AUTHORITY)

    @property
    def unique_id(self) -> bytes | None:
        return self.tlv(PP2_TYPE_UNIQUE_ID)


# --------------------------------------------------------------------------- parsing


def _digit(c: int) -> bool:
    return 48 <= c <= 57


def _inetaddr_host(buf: bytes, p: int, end: int) -> tuple[int, int]:
    """2.6's inetaddr_host_lim_ret: a dotted address from ``p``, as an integer (host order), and
    where it stopped."""
    acc = 0
    shift = 24
    text = p
    while True:
        while p < end and _digit(buf[p]):
            p += 1
        n = p - text
        if n:
            val = buf[p - 1] - 48
            if n >= 2:
                val += (buf[p - 2] - 48) * 10
            if n >= 3:
                val += (buf[p - 3] - 48) * 100
            acc += val << shift
        if not shift or p == end or buf[p] != 0x2E:
            break
        shift -= 8
        p += 1
        text = p
    return acc & 0xFFFFFFFF, p


def _read_uint(buf: bytes, p: int, end: int) -> tuple[int, int]:
    """2.6's read_uint: decimal digits from ``p`` up to ``end``, as an unsigned 32-bit number."""
    v = 0
    while p < end and _digit(buf[p]):
        v = (v * 10 + buf[p] - 48) & 0xFFFFFFFF
        p += 1
    return v, p


def _v4(n: int) -> str:
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def ntop6(b: bytes) -> str:
    """glibc's inet_ntop for IPv6: an IPv4-mapped or IPv4-compatible address ends in dotted quad."""
    if b[:10] == bytes(10) and (b[10:12] == b"\xff\xff" or (b[10:12] == b"\0\0" and b[12:14] != b"\0\0")):
        return ("::ffff:" if b[10:12] == b"\xff\xff" else "::") + ".".join(str(x) for x in b[12:])
    return ipaddress.IPv6Address(b).compressed


def _pton6(field: bytes) -> bytes | None:
    """inet_pton(AF_INET6) of a NUL-terminated field, or None."""
    field = field.split(b"\0", 1)[0]
    try:
        text = field.decode("ascii")
    except UnicodeDecodeError:
        return None
    # glibc accepts what RFC 4291 allows: hex groups, '::' once, a trailing dotted quad; Python's
    # parser adds scope ids ('%eth0'), which inet_pton refuses
    if "%" in text or not text:
        return None
    try:
        return ipaddress.IPv6Address(text).packed
    except ValueError:
        return None


def _parse_v1(buf: bytes) -> Header | str:
    end = len(buf)
    if end < 9:
        return ERR_TRUNCATED
    proto = buf[6:11]
    if proto == b"TCP4 ":
        src, p = _inetaddr_host(buf, 11, end)
        if p == end:
            return ERR_TRUNCATED
        if buf[p] != 0x20:
            return ERR_BAD_HDR
        dst, p = _inetaddr_host(buf, p + 1, end)
        if p == end:
            return ERR_TRUNCATED
        if buf[p] != 0x20:
            return ERR_BAD_HDR
        sport, p = _read_uint(buf, p + 1, end)
        if p == end:
            return ERR_TRUNCATED
        if buf[p] != 0x20:
            return ERR_BAD_HDR
        dport, p = _read_uint(buf, p + 1, end)
        if p > end - 2:
            return ERR_TRUNCATED
        if buf[p] != 0x0D or buf[p + 1] != 0x0A:
            return ERR_BAD_HDR
        return Header(1, p + 2, (_v4(src), sport & 0xFFFF), (_v4(dst), dport & 0xFFFF))
    if proto == b"TCP6 ":
        p = 11
        marks: list[int] = []  # where the dst, sport, dport fields start
        while True:
            if p > end - 2:
                return ERR_TRUNCATED
            c = buf[p]
            if c == 0x0D:
                if buf[p + 1] != 0x0A:
                    return ERR_BAD_HDR
                break
            if c == 0x20 and len(marks) < 3:
                marks.append(p + 1)
            p += 1
        if len(marks) < 3:
            return ERR_BAD_HDR
        cr = p
        # every space and the CR end a field (2.6 writes NULs over them)
        line = bytes(b if b != 0x20 else 0 for b in buf[11:cr]) + b"\0"
        base = 11
        d_s, sp_s, dp_s = (m - base for m in marks)
        sport, q = _read_uint(line, sp_s, dp_s - 1)
        if line[q] != 0:
            return ERR_BAD_HDR
        dport, q = _read_uint(line, dp_s, len(line) - 1)
        if line[q] != 0:
            return ERR_BAD_HDR
        s6 = _pton6(line[:d_s - 1])
        d6 = _pton6(line[d_s:sp_s - 1])
        if s6 is None or d6 is None:
            return ERR_BAD_HDR
        return Header(1, cr + 2, (ntop6(s6), sport & 0xFFFF), (ntop6(d6), dport & 0xFFFF))
    if buf[6:15] == b"UNKNOWN\r\n":
        return Header(1, 15)
    return ERR_BAD_PROTO


def _parse_v2(buf: bytes) -> Header | str:
    if len(buf) < 16:
        return ERR_TRUNCATED
    if buf[:12] != V2_SIG or buf[12] & 0xF0 != 0x20:
        return ERR_NOT_HDR
    dlen = int.from_bytes(buf[14:16], "big")
    total = 16 + dlen
    if len(buf) < total:
        return ERR_TRUNCATED
    cmd = buf[12] & 0x0F
    if cmd == 0:
        return Header(2, total, local=True)
    if cmd != 1:
        return ERR_BAD_HDR
    fam = buf[13]
    src = dst = None
    off = 0
    if fam == 0x11:
        if dlen < 12:
            return ERR_BAD_HDR
        src = (_v4(int.from_bytes(buf[16:20], "big")), int.from_bytes(buf[24:26], "big"))
        dst = (_v4(int.from_bytes(buf[20:24], "big")), int.from_bytes(buf[26:28], "big"))
        off = 28
    elif fam == 0x21:
        if dlen < 36:
            return ERR_BAD_HDR
        src = (ntop6(buf[16:32]), int.from_bytes(buf[48:50], "big"))
        dst = (ntop6(buf[32:48]), int.from_bytes(buf[50:52], "big"))
        off = 52
    tlvs: list[tuple[int, bytes]] = []
    bad: str = ERR_BAD_HDR
    if src is not None:
        bad = Refused(ERR_BAD_HDR)
        bad.src = src
    while off < total:
        if off + 3 > total:
            return bad
        kind = buf[off]
        n = int.from_bytes(buf[off + 1:off + 3], "big")
        start = off + 3
        off = start + n
        if off > total:
            return bad
        value = buf[start:off]
        if kind == PP2_TYPE_CRC32C:
            if n != 4:
                return bad
            if crc32c(buf[:start] + b"\0\0\0\0" + buf[off:total]) != int.from_bytes(value, "big"):
                return bad
        elif kind == PP2_TYPE_AUTHORITY:
            if n > AUTHORITY_MAX:
                return bad
        elif kind == PP2_TYPE_UNIQUE_ID:
            if n > UNIQUE_ID_MAX:
                return bad
        tlvs.append((kind, value))
    return Header(2, total, src, dst, tlvs=tuple(tlvs))


def parse(buf: bytes) -> Header | str:
    """What 2.6 makes of the first bytes a client sent (non-empty): the header, or its error text.
    A header cut short is an error (``ERR_TRUNCATED``): 2.6 does not wait for the rest."""
    if len(buf) < 6:
        return ERR_TRUNCATED
    if buf[:6] == b"PROXY ":
        return _parse_v1(buf)
    return _parse_v2(buf)


# --------------------------------------------------------------------------- building


def _is6(ip: str) -> bool:
    return ":" in ip


def _packed6(ip: str) -> bytes:
    if _is6(ip):
        return ipaddress.IPv6Address(ip).packed
    return b"\0" * 10 + b"\xff\xff" + ipaddress.IPv4Address(ip).packed


def _ip_ok(a: Addr | None) -> bool:
    if a is None:
        return False
    try:
        ipaddress.ip_address(a[0])
    except ValueError:
        return False
    return True


def build_v1(src: Addr | None, dst: Addr | None) -> bytes:
    """A v1 line for these addresses; ``PROXY UNKNOWN`` when either is not an IP address (a unix
    socket client, no client)."""
    if not _ip_ok(src) or not _ip_ok(dst):
        return b"PROXY UNKNOWN\r\n"
    assert src is not None and dst is not None
    if not _is6(src[0]) and not _is6(dst[0]):
        return f"PROXY TCP4 {src[0]} {dst[0]} {src[1]} {dst[1]}\r\n".encode()
    s, d = ntop6(_packed6(src[0])), ntop6(_packed6(dst[0]))
    return f"PROXY TCP6 {s} {d} {src[1]} {dst[1]}\r\n".encode()


def tlv(kind: int, value: bytes) -> bytes:
    return bytes((kind,)) + len(value).to_bytes(2, "big") + value


def ssl_tlv(client: int, verify: int, subs: list[tuple[int, bytes]]) -> tuple[int, bytes]:
    """The SSL TLV's (type, value): client flags, verify result, then the sub-TLVs."""
    return PP2_TYPE_SSL, bytes((client,)) + verify.to_bytes(4, "big") + b"".join(tlv(t, v) for t, v in subs)


def build_v2(src: Addr | None, dst: Addr | None, tlvs: list[tuple[int, bytes]] | None = None,
             crc: bool = False) -> bytes:
    """A v2 header: ``PROXY`` over TCP with these addresses (both IPv4, else both IPv6 with an IPv4
    one v4-mapped), ``LOCAL`` when either is not an IP address; the TLVs in the order given, after
    a CRC32C TLV when ``crc`` (2.6 puts it first and computes it over the whole header)."""
    if not _ip_ok(src) or not _ip_ok(dst):
        verfam, addrs = b"\x20\x00", b""
    else:
        assert src is not None and dst is not None
        if not _is6(src[0]) and not _is6(dst[0]):
            verfam = b"\x21\x11"
            addrs = (ipaddress.IPv4Address(src[0]).packed + ipaddress.IPv4Address(dst[0]).packed
                     + src[1].to_bytes(2, "big") + dst[1].to_bytes(2, "big"))
        else:
            verfam = b"\x21\x21"
            addrs = (_packed6(src[0]) + _packed6(dst[0]) + src[1].to_bytes(2, "big")
                     + dst[1].to_bytes(2, "big"))
    body = addrs
    crc_at = -1
    if crc:
        crc_at = 16 + len(body) + 3
        body += tlv(PP2_TYPE_CRC32C, b"\0\0\0\0")
    body += b"".join(tlv(t, v) for t, v in tlvs or ())
    out = V2_SIG + verfam + len(body).to_bytes(2, "big") + body
    if crc_at >= 0:
        out = out[:crc_at] + crc32c(out).to_bytes(4, "big") + out[crc_at + 4:]
    return out
