"""The HAProxy peers protocol (version 2.1, as 2.6 speaks it): the wire format, sans-IO.

Only the codec lives here (no socket, no timer): the hello and status lines, message framing,
stick-table definitions and entry updates, encoded from and applied to
:class:`~haproxy_py.stick.table.StickTable` objects. ``peers`` sections and the connections that
would use it are not implemented yet (a ``stick-table ... peers`` line is refused).

* integers: 2.6's variable-length encoding (below 240 one byte; else the low 4 bits after 240,
  then 7 bits a byte, the high bit saying another byte follows);
* a message: class, type, and for types >= 128 an encoded length then the payload;
* class 0 (control): 0 resync request, 1 resync finished, 2 resync partial, 3 resync confirm,
  4 heartbeat; class 10 (stick tables): 0x80 update, 0x81 incremental update, 0x82 table
  definition, 0x83 table switch, 0x84 acknowledgement, 0x85/0x86 their timed forms;
* a table definition: sender table id, name (length, bytes), key type (2.6's sample type: 2
  integer, 4 ip, 5 ipv6, 6 string, 7 binary), key length (a string's plus one), the bitfield of the
  data types sent, the expire (ms), then each rate's period as (data type, period) pairs;
* an update: (its id, 32 bits, unless incremental), (the expire left, if timed), the key (a string
  with its encoded length, an integer as 32 bits, others raw), then each data type of the bitfield
  in 2.6's order: integers encoded, a rate as the ms since its period started, its current and its
  previous count.

Arrays (gpc, gpt, gpc_rate) and server_key (a dictionary cache in 2.6) are not encoded here:
:func:`encode_definition` refuses a table storing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .freq import FreqCtr
from .table import DATA_TYPES, ORDER, StickTable

__all__ = ["encode_int", "decode_int", "hello", "parse_messages", "Message", "TableDef", "encode_definition",
           "decode_definition", "encode_update", "apply_update", "msg", "CTRL", "STKT", "PeersError"]

CTRL = 0
ERROR = 1
STKT = 10
RESYNC_REQ, RESYNC_FINISHED, RESYNC_PARTIAL, RESYNC_CONFIRM, HEARTBEAT = 0, 1, 2, 3, 4
UPDATE, INCUPDATE, DEFINE, SWITCH, ACK, UPDATE_TIMED, INCUPDATE_TIMED = 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86

KEY_TYPES = {"integer": 2, "ip": 4, "ipv6": 5, "string": 6, "binary": 7}
_BY_CODE = {v: k for k, v in KEY_TYPES.items()}
VERSION = "2.1"


class PeersError(ValueError):
    pass


def encode_int(i: int) -> bytes:
    if i < 0:
        raise PeersError("negative integer")
    if i < 240:
        return bytes((i,))
    out = [(i | 240) & 0xFF]
    i = (i - 240) >> 4
    while i >= 128:
        out.append((i | 128) & 0xFF)
        i = (i - 128) >> 7
    out.append(i)
    return bytes(out)


def decode_int(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it); PeersError when ``buf`` ends inside it."""
    if pos >= len(buf):
        raise PeersError("truncated integer")
    i = buf[pos]
    pos += 1
    if i < 240:
        return i, pos
    shift = 4
    while True:
        if pos >= len(buf):
            raise PeersError("truncated integer")
        b = buf[pos]
        pos += 1
        i += b << shift
        shift += 7
        if b < 128:
            return i, pos


def hello(remote: str, local: str, pid: int, relative_pid: int = 1) -> bytes:
    """The connecting peer's three lines."""
    return f"HAProxyS {VERSION}\n{remote}\n{local} {pid} {relative_pid}\n".encode()


@dataclass(frozen=True, slots=True)
class Message:
    cls: int
    type: int
    payload: bytes = b""


def msg(cls: int, typ: int, payload: bytes = b"") -> bytes:
    if typ >= 128:
        return bytes((cls, typ)) + encode_int(len(payload)) + payload
    return bytes((cls, typ))


def parse_messages(buf: bytes) -> tuple[list[Message], bytes]:
    """The complete messages at the start of ``buf`` and what is left of it."""
    out = []
    pos = 0
    n = len(buf)
    while pos + 2 <= n:
        cls, typ = buf[pos], buf[pos + 1]
        if typ < 128:
            out.append(Message(cls, typ))
            pos += 2
            continue
        try:
            length, p = decode_int(buf, pos + 2)
        except PeersError:
            break
        if p + length > n:
            break
        out.append(Message(cls, typ, buf[p:p + length]))
        pos = p + length
    return out, buf[pos:]


@dataclass
class TableDef:
    id: int
    name: str
    key_type: str
    key_len: int
    #: data type names in 2.6's order
    types: list[str] = field(default_factory=list)
    expire: int = 0
    periods: dict[str, int] = field(default_factory=dict)


def _key_len(t: StickTable) -> int:
    return t.key_len + 1 if t.type == "string" else t.key_len


def encode_definition(t: StickTable, table_id: int) -> bytes:
    names = [n for n, _c, _p in t.conf.store]
    for n in names:
        if n in ("gpt", "gpc", "gpc_rate", "server_key"):
            raise PeersError(f"data type '{n}' is not encoded by haproxy-py's peers codec")
    bits = 0
    for n in names:
        bits |= 1 << ORDER[n]
    out = encode_int(table_id) + encode_int(len(t.name.encode())) + t.name.encode()
    out += encode_int(KEY_TYPES[t.type]) + encode_int(_key_len(t)) + encode_int(bits) + encode_int(t.expire or 0)
    for n in names:
        if n in t.period:
            out += encode_int(ORDER[n]) + encode_int(t.period[n])
    return msg(STKT, DEFINE, out)


def decode_definition(payload: bytes) -> TableDef:
    tid, p = decode_int(payload, 0)
    ln, p = decode_int(payload, p)
    name = payload[p:p + ln].decode("latin-1")
    p += ln
    kt, p = decode_int(payload, p)
    kl, p = decode_int(payload, p)
    bits, p = decode_int(payload, p)
    expire = 0
    if p < len(payload):
        expire, p = decode_int(payload, p)
    types = [d.name for i, d in enumerate(DATA_TYPES) if bits >> i & 1]
    periods = {}
    while p < len(payload):
        idx, p = decode_int(payload, p)
        val, p = decode_int(payload, p)
        if idx < len(DATA_TYPES):
            periods[DATA_TYPES[idx].name] = val
    if kt not in _BY_CODE:
        raise PeersError(f"unknown key type {kt}")
    return TableDef(tid, name, _BY_CODE[kt], kl, types, expire, periods)


def _encode_key(t: StickTable, key: Any) -> bytes:
    if t.type == "string":
        return encode_int(len(key)) + key
    if t.type == "integer":
        return int(key).to_bytes(4, "big")
    return bytes(key)


def encode_update(t: StickTable, e: Any, update_id: int, now: int) -> bytes:
    """An update message (with its id) of entry ``e``, its data as of ``now``."""
    out = (update_id & 0xFFFFFFFF).to_bytes(4, "big") + _encode_key(t, e.key)
    for n, _c, _p in t.conf.store:
        v = e.d[t.slot[n]]
        if isinstance(v, FreqCtr):
            tick = v.tick if v.tick is not None else now
            out += encode_int(max(0, now - tick)) + encode_int(v.curr) + encode_int(v.prev)
        elif n == "server_id":
            out += encode_int(v & 0xFFFFFFFF)
        else:
            out += encode_int(v)
    return msg(STKT, UPDATE, out)


def apply_update(t: StickTable, d: TableDef, m: Message, last_id: int, now: int) -> int:
    """Write update ``m`` (for the table ``d`` defines) into ``t``; the update's id."""
    p = 0
    pl = m.payload
    if m.type in (UPDATE, UPDATE_TIMED):
        uid = int.from_bytes(pl[0:4], "big")
        p = 4
    else:
        uid = last_id + 1
    if m.type in (UPDATE_TIMED, INCUPDATE_TIMED):
        _exp, p = decode_int(pl, p)
    if d.key_type == "string":
        ln, p = decode_int(pl, p)
        raw: Any = pl[p:p + ln]
        p += ln
        key = t.key_of(raw)
    elif d.key_type == "integer":
        key = int.from_bytes(pl[p:p + 4], "big")
        p += 4
    else:
        key = bytes(pl[p:p + d.key_len])
        p += d.key_len
    e = t.get(key, now)
    values: dict[str, Any] = {}
    for n in d.types:
        std = next(x.std for x in DATA_TYPES if x.name == n)
        if std == "frqp":
            delta, p = decode_int(pl, p)
            curr, p = decode_int(pl, p)
            prev, p = decode_int(pl, p)
            if delta >= 1 << 31:  # 2.6 sends now - tick as 32 bits: a tick just ahead wraps
                delta -= 1 << 32
            values[n] = (now - delta, curr, prev)
        elif std == "dict":
            raise PeersError("server_key updates are not decoded by haproxy-py's peers codec")
        else:
            v, p = decode_int(pl, p)
            if std == "sint" and v & 0x80000000:
                v -= 1 << 32
            values[n] = v
    if e is None:
        return uid
    for n, v in values.items():
        i = t.slot.get(n)
        if i is None:
            continue
        if isinstance(v, tuple):
            c = FreqCtr()
            c.tick, c.curr, c.prev = v
            e.d[i] = c
        else:
            e.d[i] = v
    t.touch(e, now)
    return uid
