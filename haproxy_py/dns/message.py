"""DNS messages (RFC 1035, AAAA RFC 3596, SRV RFC 2782, EDNS0 RFC 6891): a query out, an answer in.

Only what a resolvers section needs: one question, A / AAAA / SRV answers (with the A/AAAA
records of the additional section that SRV targets point at), the response code and the
truncation bit. Pure module, stdlib only (struct and ipaddress): a few dozen lines are smaller
than a dependency in the zipapp.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

T_A = 1
T_CNAME = 5
T_AAAA = 28
T_SRV = 33
T_OPT = 41
TYPES = {"A": T_A, "AAAA": T_AAAA, "SRV": T_SRV}

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5


class DnsError(ValueError):
    """A message that cannot be read (short, a pointer loop, a bad label)."""


@dataclass(frozen=True, slots=True)
class Record:
    name: str
    rtype: int
    ttl: int
    #: A/AAAA: the address text; SRV: the target name; CNAME: the canonical name
    data: str
    priority: int = 0
    weight: int = 0
    port: int = 0


@dataclass(slots=True)
class Response:
    qid: int
    rcode: int
    truncated: bool
    qname: str
    qtype: int
    answers: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)


def _encode_name(name: str) -> bytes:
    out = bytearray()
    for label in name.rstrip(".").split("."):
        if not label:
            continue
        b = label.encode("idna") if not label.isascii() else label.encode()
        if len(b) > 63:
            raise DnsError(f"label too long in '{name}'")
        out.append(len(b))
        out += b
    out.append(0)
    return bytes(out)


def encode_query(qid: int, name: str, qtype: int, payload: int = 512) -> bytes:
    """A recursive query for NAME/QTYPE; an EDNS0 OPT record announces ``payload`` when above 512."""
    ar = 1 if payload > 512 else 0
    head = struct.pack("!HHHHHH", qid & 0xFFFF, 0x0100, 1, 0, 0, ar)
    msg = head + _encode_name(name) + struct.pack("!HH", qtype, 1)
    if ar:
        msg += b"\x00" + struct.pack("!HHIH", T_OPT, payload, 0, 0)
    return msg


def _read_name(buf: bytes, off: int) -> tuple[str, int]:
    labels: list[str] = []
    end = -1
    jumps = 0
    while True:
        if off >= len(buf):
            raise DnsError("name runs past the message")
        n = buf[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(buf):
                raise DnsError("short pointer")
            if end < 0:
                end = off + 2
            off = ((n & 0x3F) << 8) | buf[off + 1]
            jumps += 1
            if jumps > 64:
                raise DnsError("pointer loop")
            continue
        if n & 0xC0:
            raise DnsError("bad label type")
        off += 1
        if n == 0:
            break
        labels.append(buf[off:off + n].decode("ascii", "replace"))
        off += n
    return ".".join(labels).lower(), (end if end >= 0 else off)


def _records(buf: bytes, off: int, count: int) -> tuple[list[Record], int]:
    out: list[Record] = []
    for _ in range(count):
        name, off = _read_name(buf, off)
        if off + 10 > len(buf):
            raise DnsError("short record")
        rtype, _cls, ttl, rdlen = struct.unpack_from("!HHIH", buf, off)
        off += 10
        rd = off
        off += rdlen
        if off > len(buf):
            raise DnsError("short record data")
        if rtype == T_A and rdlen == 4:
            out.append(Record(name, rtype, ttl, str(ipaddress.IPv4Address(buf[rd:off]))))
        elif rtype == T_AAAA and rdlen == 16:
            out.append(Record(name, rtype, ttl, str(ipaddress.IPv6Address(buf[rd:off]))))
        elif rtype == T_SRV and rdlen >= 7:
            prio, weight, port = struct.unpack_from("!HHH", buf, rd)
            target, _ = _read_name(buf, rd + 6)
            out.append(Record(name, rtype, ttl, target, prio, weight, port))
        elif rtype == T_CNAME:
            out.append(Record(name, rtype, ttl, _read_name(buf, rd)[0]))
    return out, off


def decode_response(buf: bytes) -> Response:
    if len(buf) < 12:
        raise DnsError("short header")
    qid, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", buf, 0)
    if not flags & 0x8000:
        raise DnsError("not a response")
    off = 12
    qname, qtype = "", 0
    for i in range(qd):
        n, off = _read_name(buf, off)
        if off + 4 > len(buf):
            raise DnsError("short question")
        t = struct.unpack_from("!H", buf, off)[0]
        off += 4
        if i == 0:
            qname, qtype = n, t
    resp = Response(qid, flags & 0xF, bool(flags & 0x0200), qname, qtype)
    resp.answers, off = _records(buf, off, an)
    _, off = _records(buf, off, ns)
    resp.additional, off = _records(buf, off, ar)
    return resp


def addresses(resp: Response, qtype: int) -> list[str]:
    """The addresses of the answer for its question (CNAME chains followed within the message)."""
    return [r.data for r in resp.answers if r.rtype == qtype]
