"""MQTT packets for the ``mqtt_is_valid`` and ``mqtt_field_value`` converters, as 2.6 reads them:
only the first packet of each direction is understood (CONNECT from the client, CONNACK from the
server), MQTT 3.1.1 (protocol level 4) and 5.0 (level 5). Pure. As Debian's 2.6.12 (unlike later
sources), a CONNECT may also name its protocol ``MQIsdp`` and be of level 3 (MQTT 3.1).

How 2.6 judges a packet (and so do we):

* fewer than 2 bytes, or fewer bytes after the fixed header than its remaining length announces:
  more data is needed (no sample; an ACL on it waits while the buffer may grow);
* the type nibble 0 or the type's fixed flags wrong, a remaining length of 4 bytes that all carry
  the continuation bit: invalid;
* any type but CONNECT and CONNACK: invalid;
* the body is read from the bytes after the fixed header (trailing bytes included), and the packet
  is valid only when exactly the remaining length was consumed. A CONNACK is 3.1.1 when the bytes
  after its fixed header are exactly 2, 5.0 otherwise;
* a property given twice, an unknown property, a boolean property above 1, a zero receive maximum
  or maximum packet size, a zero-length assigned client identifier: invalid. User properties are
  read and skipped. An unknown property is invalid in a CONNECT but, in a CONNACK, makes 2.6 answer
  "need more data" (its parser returns 0 there, the value of that verdict): reproduced.

``mqtt_field_value`` returns a field of a valid packet of the asked type; numbers as decimal text
(a property that is absent reads 0), strings as they are; an empty string is no sample; the MQTT 5
properties only for a 5.0 packet, the will properties only with the will flag.
"""

from __future__ import annotations

VALID, NEED_MORE, INVALID = 1, 0, -1

CONNECT, CONNACK = 1, 2
TYPES = {"CONNECT": 1, "CONNACK": 2, "PUBLISH": 3, "PUBACK": 4, "PUBREC": 5, "PUBREL": 6, "PUBCOMP": 7,
         "SUBSCRIBE": 8, "SUBACK": 9, "UNSUBSCRIBE": 10, "UNSUBACK": 11, "PINGREQ": 12, "PINGRESP": 13,
         "DISCONNECT": 14, "AUTH": 15}
#: the fixed-header flags each type must carry (PUBLISH: any, checked no further)
_TYPE_FLAGS = {3: None, 6: 2, 8: 2, 10: 2}

# field names 2.6 accepts (the MQTT 5 properties by their decimal identifier), per packet type
_COMMON = ("flags", "reason_code", "protocol_name", "protocol_version", "client_identifier", "will_topic",
           "will_payload", "username", "password", "keepalive")
_FIELDS_BY_TYPE: dict[int, frozenset[str]] = {
    CONNECT: frozenset(("protocol_name", "protocol_version", "flags", "keepalive", "17", "33", "39", "34", "25",
                        "23", "38", "21", "22", "client_identifier", "24", "1", "2", "3", "8", "9", "will_topic",
                        "will_payload", "username", "password")),
    CONNACK: frozenset(("flags", "protocol_version", "reason_code", "17", "33", "36", "37", "39", "18", "34", "31",
                        "40", "41", "42", "19", "26", "28", "38", "21", "22")),
    3: frozenset(("1", "2", "3", "8", "9", "11", "35", "38")),
    4: frozenset(("reason_code", "31", "38")), 5: frozenset(("reason_code", "31", "38")),
    6: frozenset(("reason_code", "31", "38")), 7: frozenset(("reason_code", "31", "38")),
    8: frozenset(("11", "38")), 9: frozenset(("31", "38")), 10: frozenset(("38",)), 11: frozenset(("31", "38")),
    12: frozenset(), 13: frozenset(),
    14: frozenset(("reason_code", "17", "28", "31", "38")),
    15: frozenset(("21", "22", "31", "38")),
}
_KNOWN = frozenset(_COMMON) | frozenset(("1", "2", "3", "8", "9", "11", "17", "18", "19", "21", "22", "23", "24",
                                         "25", "26", "28", "31", "33", "34", "35", "36", "37", "38", "39", "40",
                                         "41", "42"))


def type_id(text: str) -> int:
    """The packet type named (by number or name, any case) by ``text``; 0 for none. A number is
    read as 2.6 reads it, each character's code minus '0' without checking it is a digit: ';' is
    11 and '0;' too, '1x' is 82 (none)."""
    if not text:
        return 0
    named = TYPES.get(text.upper(), 0)
    if named:
        return named
    n = 0
    for ch in text:
        n = n * 10 + ord(ch) - 48
    return n if 1 <= n <= 15 else 0


def field_id(ptype: int, text: str) -> str | None:
    """The canonical field name of ``text`` when a ``ptype`` packet has it, else None."""
    name = text.lower()
    if name not in _KNOWN or name not in _FIELDS_BY_TYPE.get(ptype, frozenset()):
        return None
    return name


class _Bad(Exception):
    pass


class _More(Exception):
    """2.6's CONNACK parser answers "need more data" on an unknown property (its return value 0)."""


class _Reader:
    __slots__ = ("d", "p", "end")

    def __init__(self, d: bytes, p: int, end: int) -> None:
        self.d, self.p, self.end = d, p, end

    def u8(self) -> int:
        if self.end - self.p < 1:
            raise _Bad
        self.p += 1
        return self.d[self.p - 1]

    def u16(self) -> int:
        if self.end - self.p < 2:
            raise _Bad
        self.p += 2
        return (self.d[self.p - 2] << 8) | self.d[self.p - 1]

    def u32(self) -> int:
        if self.end - self.p < 4:
            raise _Bad
        self.p += 4
        return int.from_bytes(self.d[self.p - 4:self.p], "big")

    def string(self) -> bytes:
        n = self.u16()
        if self.end - self.p < n:
            raise _Bad
        self.p += n
        return self.d[self.p - n:self.p]

    def varint(self) -> int:
        """2.6's reader: at most 4 bytes; the 4th must end the number; running out of data ends it."""
        v = m = off = 0
        while off < 4 and self.p < self.end:
            b = self.d[self.p]
            v += (b & 127) << m
            m += 7
            self.p += 1
            if b <= 127:
                break
            off += 1
        if off == 4:
            raise _Bad
        return v


# property id -> (field name, kind); kinds: 1, 2, 4 (byte widths), "s" (string), "b" (0 or 1),
# "nz2"/"nz4" (not zero), "nes" (a non-empty string)
_CONNECT_PROPS = {0x11: ("17", 4), 0x21: ("33", "nz2"), 0x27: ("39", "nz4"), 0x22: ("34", 2),
                  0x19: ("25", "b"), 0x17: ("23", "b"), 0x15: ("21", "s"), 0x16: ("22", "s")}
_WILL_PROPS = {0x18: ("24", 4), 0x01: ("1", "b"), 0x02: ("2", 4), 0x03: ("3", "s"), 0x08: ("8", "s"),
               0x09: ("9", "s")}
_CONNACK_PROPS = {0x11: ("17", 4), 0x21: ("33", "nz2"), 0x24: ("36", "b"), 0x25: ("37", "b"),
                  0x27: ("39", "nz4"), 0x12: ("18", "nes"), 0x22: ("34", 2), 0x1F: ("31", "s"),
                  0x28: ("40", "b"), 0x29: ("41", "b"), 0x2A: ("42", "b"), 0x13: ("19", 2), 0x1A: ("26", "s"),
                  0x1C: ("28", "s"), 0x15: ("21", "s"), 0x16: ("22", "s")}


def _props(r: _Reader, table: dict[int, tuple[str, object]], out: dict[str, object]) -> None:
    plen = r.varint()
    if r.end - r.p < plen:
        raise _Bad
    pr = _Reader(r.d, r.p, r.p + plen)
    r.p += plen
    seen: set[int] = set()
    while pr.p < pr.end:
        pid = pr.d[pr.p]
        pr.p += 1
        if pid == 0x26:  # a user property: a name and a value, kept by nobody
            pr.string()
            pr.string()
            continue
        ent = table.get(pid)
        if ent is None:
            raise _More if table is _CONNACK_PROPS else _Bad
        if pid in seen:
            raise _Bad
        seen.add(pid)
        name, kind = ent
        v: object
        if kind == 1:
            v = pr.u8()
        elif kind == 2:
            v = pr.u16()
        elif kind == 4:
            v = pr.u32()
        elif kind == "b":
            v = pr.u8()
            if v > 1:
                raise _Bad
        elif kind == "nz2":
            v = pr.u16()
            if not v:
                raise _Bad
        elif kind == "nz4":
            v = pr.u32()
            if not v:
                raise _Bad
        else:
            v = pr.string()
            if kind == "nes" and not v:
                raise _Bad
        out[name] = v


def _connect(d: bytes, p: int, rlen: int) -> dict[str, object] | None:
    r = _Reader(d, p, len(d))
    f: dict[str, object] = {}
    name = r.string()
    if name.lower() not in (b"mqtt", b"mqisdp"):
        return None
    f["protocol_name"] = name
    ver = r.u8()
    if ver not in (3, 4, 5):
        return None
    f["protocol_version"] = ver
    flags = r.u8()
    if flags & 0x01 or (flags & 0x3C) == 0x18:
        return None
    f["flags"] = flags
    f["keepalive"] = r.u16()
    if ver == 5:
        _props(r, _CONNECT_PROPS, f)
    if not f.get("21") and f.get("22"):
        return None  # authentication data without a method
    f["client_identifier"] = r.string()
    will = flags & 0x04
    if ver == 5 and will:
        _props(r, _WILL_PROPS, f)
    if will:
        f["will_topic"] = r.string()
        f["will_payload"] = r.string()
    if flags & 0x80:
        f["username"] = r.string()
    if flags & 0x40:
        f["password"] = r.string()
    return f if r.p - p == rlen else None


def _connack(d: bytes, p: int, rlen: int) -> dict[str, object] | None:
    avail = len(d) - p
    if avail < 2:
        return None
    ver = 4 if avail == 2 else 5
    r = _Reader(d, p, len(d))
    f: dict[str, object] = {"protocol_version": ver}
    flags = r.u8()
    if flags & 0xFE:
        return None
    f["flags"] = flags
    f["reason_code"] = r.u8()
    if ver == 5:
        _props(r, _CONNACK_PROPS, f)
    return f if r.p - p == rlen else None


def parse(d: bytes) -> tuple[int, int, dict[str, object] | None]:
    """(VALID|NEED_MORE|INVALID, packet type, fields of a valid CONNECT/CONNACK)."""
    if len(d) < 2:
        return NEED_MORE, 0, None
    ptype, pflags = d[0] >> 4, d[0] & 0x0F
    want = _TYPE_FLAGS.get(ptype, 0)
    if ptype == 0 or (want is not None and pflags != want):
        return INVALID, ptype, None
    r = _Reader(d, 1, len(d))
    try:
        rlen = r.varint()
    except _Bad:
        return INVALID, ptype, None
    if len(d) - r.p < rlen:
        return NEED_MORE, ptype, None
    try:
        if ptype == CONNECT:
            f = _connect(d, r.p, rlen)
        elif ptype == CONNACK:
            f = _connack(d, r.p, rlen)
        else:
            f = None
    except _Bad:
        f = None
    except _More:
        return NEED_MORE, ptype, None
    return (INVALID, ptype, None) if f is None else (VALID, ptype, f)


def validate(d: bytes) -> int:
    return parse(d)[0]


#: fields that are MQTT 5 only, and those of them that need the will flag (CONNECT)
_V5_ONLY = frozenset(n for n in _KNOWN if n.isdigit())
_WILL_ONLY = frozenset(("1", "2", "3", "8", "9", "24"))
_STRINGS = frozenset(("protocol_name", "client_identifier", "will_topic", "will_payload", "username", "password",
                      "3", "8", "9", "18", "21", "22", "26", "28", "31"))
#: fields 2.6 accepts in the configuration but never returns (user properties)
_NEVER = frozenset(("38",))


def field_value(d: bytes, ptype: int, name: str) -> tuple[bytes | None, bool]:
    """(the field's value or None, more data could give one)."""
    st, t, f = parse(d)
    if st == NEED_MORE:
        return None, True
    if st != VALID or t != ptype or f is None or name in _NEVER:
        return None, False
    if name in _V5_ONLY:
        if f["protocol_version"] != 5:
            return None, False
        if ptype == CONNECT and name in _WILL_ONLY and not int(f["flags"]) & 0x04:  # type: ignore[call-overload]
            return None, False
    v = f.get(name)
    if name in _STRINGS:
        return (v if isinstance(v, bytes) and v else None), False
    return str(v if isinstance(v, int) else 0).encode(), False
