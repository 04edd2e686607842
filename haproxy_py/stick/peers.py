"""The HAProxy peers protocol (version 2.1, as 2.6 speaks it): the wire format, sans-IO.

The codec (no socket, no timer): the hello and status lines, message framing, stick-table
definitions and entry updates, encoded from and applied to
:class:`~haproxy_py.stick.table.StickTable` objects.

* integers: 2.6's variable-length encoding (below 240 one byte; else the low 4 bits after 240,
  then 7 bits a byte, the high bit saying another byte follows);
* a message: class, type, and for types >= 128 an encoded length then the payload;
* class 0 (control): 0 resync request, 1 resync finished, 2 resync partial, 3 resync confirm,
  4 heartbeat; class 10 (stick tables): 0x80 update, 0x81 incremental update, 0x82 table
  definition, 0x83 table switch, 0x84 acknowledgement, 0x85/0x86 their timed forms;
* a table definition: sender table id, name (length, bytes), key type (2.6's sample type: 2
  integer, 4 ip, 5 ipv6, 6 string, 7 binary), key length (a string's plus one), the bitfield of the
  data types sent, the expire (ms), then each rate's period as (data type, period) pairs;
* an update: (its id, 32 bits, unless incremental), (the expire left, 32 bits, if timed: 2.6
  sends timed updates in a full resync only, its incremental pushes letting the receiving table
  set its own expiry), the key (a string
  with its encoded length, an integer as 32 bits, others raw), then each data type of the bitfield
  in 2.6's order: integers encoded, a rate as the ms since its period started, its current and its
  previous count.

Arrays (gpc, gpt, gpc_rate) go element by element (their sizes, and a gpc_rate's period, in the
definition); server_key through 2.6's per-connection dictionary cache (:class:`DictCache`).
The connections themselves are :mod:`haproxy_py.stick.peersync` (sans-IO too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .freq import FreqCtr
from .table import BY_NAME, DATA_TYPES, ORDER, U64, StickTable

__all__ = ["encode_int", "decode_int", "hello", "parse_messages", "Message", "TableDef", "encode_definition",
           "decode_definition", "encode_update", "apply_update", "msg", "CTRL", "STKT", "PeersError", "DictCache",
           "apply_update_entry"]

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
    #: array sizes (gpt, gpc, gpc_rate)
    nbelem: dict[str, int] = field(default_factory=dict)


class DictCache:
    """2.6's per-connection dictionary cache of ``server_key`` values: 128 slots; a value sent
    for the first time in a slot goes with its text, then by its slot number alone."""

    SIZE = 128

    def __init__(self) -> None:
        self.tx: dict[str, int] = {}
        self.tx_slots: list[str | None] = [None] * self.SIZE
        self.tx_next = 0
        self.rx: dict[int, str] = {}

    def encode(self, value: str | None) -> bytes:
        if value is None:
            return encode_int(0)
        i = self.tx.get(value)
        if i is not None:
            body = encode_int(i + 1)
        else:
            i = self.tx_next
            self.tx_next = (i + 1) % self.SIZE
            old = self.tx_slots[i]
            if old is not None:
                del self.tx[old]
            self.tx_slots[i] = value
            self.tx[value] = i
            raw = value.encode("latin-1")
            body = encode_int(i + 1) + encode_int(len(raw)) + raw
        return encode_int(len(body)) + body

    def decode(self, pl: bytes, p: int) -> tuple[str | None, int, bool]:
        """(value, position after, present): ``present`` False for 2.6's "no entry" (0)."""
        ln, p = decode_int(pl, p)
        if not ln:
            return None, p, False
        end = p + ln
        if end > len(pl):
            raise PeersError("truncated dictionary entry")
        i, q = decode_int(pl, p)
        if not i or i > self.SIZE:
            raise PeersError("bad dictionary entry id")
        if q == end:
            if i not in self.rx:
                raise PeersError("unknown dictionary entry")
            return self.rx[i], end, True
        vl, q = decode_int(pl, q)
        if q + vl > end:
            raise PeersError("truncated dictionary value")
        v = pl[q:q + vl].decode("latin-1")
        self.rx[i] = v
        return v, end, True


def _key_len(t: StickTable) -> int:
    return t.key_len + 1 if t.type == "string" else t.key_len


def encode_definition(t: StickTable, table_id: int, nid: str | None = None) -> bytes:
    """The definition of ``t`` as table ``table_id`` named ``nid`` on the wire (``t.name``)."""
    names = [n for n, _c, _p in t.conf.store]
    bits = 0
    for n in names:
        bits |= 1 << ORDER[n]
    raw = (nid if nid is not None else t.name).encode()
    out = encode_int(table_id) + encode_int(len(raw)) + raw
    out += encode_int(KEY_TYPES[t.type]) + encode_int(_key_len(t)) + encode_int(bits) + encode_int(t.expire or 0)
    for n, count, period in t.conf.store:
        if count:
            out += encode_int(ORDER[n]) + encode_int(count)
            if period:
                out += encode_int(period)
        elif period:
            out += encode_int(ORDER[n]) + encode_int(period)
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
    types = [d.name for i, d in enumerate(DATA_TYPES) if bits >> i & 1]
    periods: dict[str, int] = {}
    nbelem: dict[str, int] = {}
    if p < len(payload):
        expire, p = decode_int(payload, p)
        for i, d in enumerate(DATA_TYPES):
            if not bits >> i & 1 or not (d.array or d.std == "frqp"):
                continue
            idx, p = decode_int(payload, p)
            if idx != i:
                raise PeersError("definition: data type parameters out of order")
            if d.array:
                nbelem[d.name], p = decode_int(payload, p)
            if d.std == "frqp":
                periods[d.name], p = decode_int(payload, p)
    elif any(DATA_TYPES[ORDER[n]].array for n in types):
        raise PeersError("definition: array without its size")
    if kt not in _BY_CODE:
        raise PeersError(f"unknown key type {kt}")
    return TableDef(tid, name, _BY_CODE[kt], kl, types, expire, periods, nbelem)


def _encode_key(t: StickTable, key: Any) -> bytes:
    if t.type == "string":
        return encode_int(len(key)) + key
    if t.type == "integer":
        return int(key).to_bytes(4, "big")
    return bytes(key)


def _enc_value(v: Any, std: str, now: int) -> bytes:
    if isinstance(v, FreqCtr):
        tick = v.tick if v.tick is not None else now
        return encode_int((now - tick) & 0xFFFFFFFF) + encode_int(v.curr) + encode_int(v.prev)
    if std == "sint":
        return encode_int(v & 0xFFFFFFFF)
    return encode_int(v)


def encode_update(t: StickTable, e: Any, update_id: int, now: int, *, timed: bool = False,
                  incremental: bool = False, dcache: DictCache | None = None) -> bytes:
    """An update message of entry ``e``, its data as of ``now``: with its id unless
    ``incremental`` (the id after the previous one), with the expiry left if ``timed``."""
    out = b"" if incremental else (update_id & 0xFFFFFFFF).to_bytes(4, "big")
    if timed:  # the expiry left, 32 bits (not the variable-length encoding)
        out += (t.remaining(e, now) if t.expire is not None else 0).to_bytes(4, "big")
    out += _encode_key(t, e.key)
    for n, count, _p in t.conf.store:
        v = e.d[t.slot[n]]
        std = BY_NAME[n].std
        if count:
            for x in v:
                out += _enc_value(x, std, now)
        elif std == "dict":
            out += (dcache or DictCache()).encode(v)
        else:
            out += _enc_value(v, std, now)
    typ = (INCUPDATE_TIMED if timed else INCUPDATE) if incremental else (UPDATE_TIMED if timed else UPDATE)
    return msg(STKT, typ, out)


def _dec_value(pl: bytes, p: int, std: str, now: int) -> tuple[Any, int]:
    if std == "frqp":
        delta, p = decode_int(pl, p)
        curr, p = decode_int(pl, p)
        prev, p = decode_int(pl, p)
        delta &= 0xFFFFFFFF
        if delta >= 1 << 31:  # 2.6 sends now - tick as 32 bits: a tick just ahead wraps
            delta -= 1 << 32
        c = FreqCtr()
        c.tick, c.curr, c.prev = (now - delta) & ~1, curr & 0xFFFFFFFF, prev & 0xFFFFFFFF
        return c, p
    v, p = decode_int(pl, p)
    if std == "sint":
        v &= 0xFFFFFFFF
        if v & 0x80000000:
            v -= 1 << 32
    elif std == "uint":
        v &= 0xFFFFFFFF
    else:
        v &= U64
    return v, p


def apply_update(t: StickTable, d: TableDef, m: Message, last_id: int, now: int,
                 dcache: DictCache | None = None) -> int:
    return apply_update_entry(t, d, m, last_id, now, dcache)[0]


def apply_update_entry(t: StickTable, d: TableDef, m: Message, last_id: int, now: int,
                       dcache: DictCache | None = None) -> tuple[int, Any]:
    """Write update ``m`` (for the table ``d`` defines) into ``t`` as 2.6 does (the data types
    both sides store; the expiry sent, else the table's); the update's id. The entry is touched
    as a remote update: the table's own ``touch`` (which a peers section may wrap to record a
    local change) is not called."""
    p = 0
    pl = m.payload
    if m.type in (UPDATE, UPDATE_TIMED):
        if len(pl) < 4:
            raise PeersError("truncated update")
        uid = int.from_bytes(pl[0:4], "big")
        p = 4
    else:
        uid = (last_id + 1) & 0xFFFFFFFF
    expire = t.expire or 0
    if m.type in (UPDATE_TIMED, INCUPDATE_TIMED):
        if p + 4 > len(pl):
            raise PeersError("truncated update")
        expire = int.from_bytes(pl[p:p + 4], "big")
        if expire & 0x80000000:
            expire -= 1 << 32
        p += 4
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
    if p > len(pl):
        raise PeersError("truncated update")
    values: dict[str, Any] = {}
    for n in d.types:
        std = BY_NAME[n].std
        if n in d.nbelem:
            arr = []
            for _ in range(d.nbelem[n]):
                v, p = _dec_value(pl, p, std, now)
                arr.append(v)
            values[n] = arr
        elif std == "dict":
            sv, p, present = (dcache or DictCache()).decode(pl, p)
            if present:
                values[n] = sv
        else:
            values[n], p = _dec_value(pl, p, std, now)
    e = t.get(key, now)
    if e is None:
        return uid, None
    for n, v in values.items():
        i = t.slot.get(n)
        if i is None:
            continue
        if isinstance(v, list):
            cur = e.d[i]
            for j in range(min(len(cur), len(v))):
                cur[j] = v[j]
        else:
            e.d[i] = v
    StickTable.touch(t, e, now)
    e.exp = now + expire
    return uid, e
