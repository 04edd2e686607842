"""A stick table as HAProxy 2.6 keeps one, sans-IO: every operation takes ``now`` (milliseconds).

* **keys** are normalised once (:meth:`StickTable.key_of`): ``ip`` 4 bytes, ``ipv6`` 16 bytes,
  ``integer`` an unsigned 32-bit int, ``string`` bytes cut to ``len``, ``binary`` bytes cut or
  zero-padded to ``len``; ``show table`` lists entries in key order, as 2.6's trees do;
* **data** are the ``store`` types, kept per entry in one list (``Entry.d``) at the slot the table
  gives each type; counters wrap as 2.6's 32-bit (64-bit for the byte counts) integers; rates
  are :class:`~haproxy_py.stick.freq.FreqCtr`; ``gpt(N)``/``gpc(N)``/``gpc_rate(N,period)`` lists;
* **expiry**: every touch (creation, tracking, an update, the release of a tracked entry) sets
  ``exp = now + expire`` (``now`` in a table without ``expire``). As in 2.6, entries sit in an
  expiry queue at the date they were queued with; the expiry task (run here whenever anything
  looks at the table, which nothing can tell from 2.6's timer) removes a due entry, queues again
  one touched since, and leaves one in use where it is;
* **eviction**: a new key in a full table first runs 2.6's ``stktable_trash_oldest``: in queue
  order it looks at no more than ``2 * (size // 256 + 1)`` entries, skips those in use, queues
  again those touched since they were queued, and removes the others until ``size // 256 + 1``
  are gone. When none could be (``nopurge``, or the first entries were all touched or in use:
  2.6 then refuses the key, "Unable to allocate a new entry"), the key is not stored.
"""

from __future__ import annotations

import heapq
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .freq import FreqCtr

__all__ = ["DATA_TYPES", "DataType", "TableConf", "StickTable", "Entry", "format_ipv6", "U32", "U64"]

U32 = 0xFFFFFFFF
U64 = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class DataType:
    name: str
    #: 2.6's standard type: sint | uint | ull | frqp | dict
    std: str
    #: argument: none | delay (rates) | int (array size) | int,delay (gpc_rate)
    arg: str = "none"
    array: bool = False


#: 2.6's data types in its own order (the order ``show table`` prints them)
DATA_TYPES: tuple[DataType, ...] = (
    DataType("server_id", "sint"),
    DataType("gpt0", "uint"),
    DataType("gpc0", "uint"),
    DataType("gpc0_rate", "frqp", "delay"),
    DataType("conn_cnt", "uint"),
    DataType("conn_rate", "frqp", "delay"),
    DataType("conn_cur", "uint"),
    DataType("sess_cnt", "uint"),
    DataType("sess_rate", "frqp", "delay"),
    DataType("http_req_cnt", "uint"),
    DataType("http_req_rate", "frqp", "delay"),
    DataType("http_err_cnt", "uint"),
    DataType("http_err_rate", "frqp", "delay"),
    DataType("bytes_in_cnt", "ull"),
    DataType("bytes_in_rate", "frqp", "delay"),
    DataType("bytes_out_cnt", "ull"),
    DataType("bytes_out_rate", "frqp", "delay"),
    DataType("gpc1", "uint"),
    DataType("gpc1_rate", "frqp", "delay"),
    DataType("server_key", "dict"),
    DataType("http_fail_cnt", "uint"),
    DataType("http_fail_rate", "frqp", "delay"),
    DataType("gpt", "uint", "int", True),
    DataType("gpc", "uint", "int", True),
    DataType("gpc_rate", "frqp", "int,delay", True),
)
BY_NAME = {d.name: d for d in DATA_TYPES}
ORDER = {d.name: i for i, d in enumerate(DATA_TYPES)}

KEY_TYPES = ("ip", "ipv6", "integer", "string", "binary")


@dataclass(frozen=True, slots=True)
class TableConf:
    """A ``stick-table`` line: the table of the proxy ``name``."""

    name: str
    type: str  # ip | ipv6 | integer | string | binary
    size: int
    #: key length in bytes (string and binary; 4/16/4 otherwise)
    key_len: int = 0
    #: ms; None when not set (entries never expire)
    expire: int | None = None
    nopurge: bool = False
    #: stored types: (name, array size or 0, period ms or 0), in 2.6's order
    store: tuple[tuple[str, int, int], ...] = ()
    peers: str | None = None
    srvkey: str = "name"


def with_types(conf: TableConf, names: tuple[str, ...]) -> TableConf:
    """``conf`` also storing the data types ``names`` (in 2.6's order)."""
    import dataclasses

    have = {n for n, _c, _p in conf.store}
    items = list(conf.store) + [(n, 0, 0) for n in names if n not in have]
    items.sort(key=lambda x: ORDER[x[0]])
    return dataclasses.replace(conf, store=tuple(items))


class Entry:
    """One key's data. ``ref`` counts who tracks it now (2.6's ``use``)."""

    __slots__ = ("key", "d", "exp", "ref", "qkey", "qseq")

    def __init__(self, key: Any, d: list[Any]) -> None:
        self.key = key
        self.d = d
        #: the date the entry expires (its last touch in a table without expire)
        self.exp = 0
        self.ref = 0
        #: where it sits in the expiry queue (2.6's exp.key), and which queue item is its own
        self.qkey = 0
        self.qseq = -1


def format_ipv6(b: bytes) -> str:
    """glibc's inet_ntop: an IPv4-mapped or IPv4-compatible address ends in dotted quad."""
    if len(b) == 16 and b[:10] == bytes(10) and (b[10:12] == b"\xff\xff" or (b[10:12] == b"\0\0" and b[12:14] != b"\0\0")):
        v4 = ".".join(str(x) for x in b[12:])
        return ("::ffff:" if b[10:12] == b"\xff\xff" else "::") + v4
    return ipaddress.IPv6Address(b).compressed


class StickTable:
    """The live table. ``slot[name]`` is where an entry keeps data type ``name`` (absent: not
    stored); ``period[name]`` its rate period in ms; ``asize[name]`` an array's size."""

    #: several workers share the table (stick/share.py): ``value`` reads every worker's share,
    #: ``rebase`` turns this worker's share of a counter just set into "the sum is that value"
    shared = False
    #: several workers: ``inflight(e, name, idx, inc)`` publishes each increment at once to the
    #: other workers (stick/share.py Inflight); None in one process (nothing to do)
    inflight: Any = None

    def __init__(self, conf: TableConf) -> None:
        self.conf = conf
        self.name = conf.name
        self.type = conf.type
        self.size = conf.size
        self.expire = conf.expire
        self.key_len = conf.key_len or {"ip": 4, "ipv6": 16, "integer": 4}.get(conf.type, 32)
        self.entries: dict[Any, Entry] = {}
        self._heap: list[tuple[int, int, Entry]] = []
        self._seq = 0
        self.slot: dict[str, int] = {}
        self.period: dict[str, int] = {}
        self.asize: dict[str, int] = {}
        for i, (n, count, period) in enumerate(conf.store):
            self.slot[n] = i
            if period:
                self.period[n] = period
            if count:
                self.asize[n] = count
        self._proto: list[tuple[str, int]] = []
        for n, count, _p in conf.store:
            self._proto.append((BY_NAME[n].std, count))
        self._batch = (conf.size >> 8) + 1

    # ------------------------------------------------------------------ keys
    def key_of(self, value: Any) -> Any:
        """A sample value (bytes, int, ip address, bool) as this table's key, None when it does
        not convert (2.6's smp_to_stkey)."""
        t = self.type
        if t == "ip":
            if isinstance(value, ipaddress.IPv4Address):
                return value.packed
            if isinstance(value, ipaddress.IPv6Address):
                m = value.ipv4_mapped
                return m.packed if m is not None else None
            if isinstance(value, bool):
                return None
            if isinstance(value, int):
                return (value & U32).to_bytes(4, "big")
            if isinstance(value, bytes):
                try:
                    return ipaddress.IPv4Address(value.decode("latin-1")).packed
                except ValueError:
                    return None
            return None
        if t == "ipv6":
            if isinstance(value, ipaddress.IPv6Address):
                return value.packed
            if isinstance(value, ipaddress.IPv4Address):
                return b"\0" * 10 + b"\xff\xff" + value.packed
            if isinstance(value, bytes):
                try:
                    return ipaddress.IPv6Address(value.decode("latin-1")).packed
                except ValueError:
                    return None
            return None
        if t == "integer":
            if isinstance(value, int):
                return int(value) & U32
            if isinstance(value, ipaddress.IPv4Address):
                return int(value)
            if isinstance(value, bytes):
                return _str2int(value) & U32 if _str2int(value) is not None else None  # type: ignore[operator]
            return None
        # string and binary
        if isinstance(value, bytes):
            b = value
        elif isinstance(value, bool):
            b = b"1" if value else b"0"
        elif isinstance(value, int):
            b = str(value).encode()
        elif isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            b = str(value).encode() if t == "string" else value.packed
        else:
            return None
        n = self.key_len
        if t == "string":
            z = b.find(b"\0")
            if z >= 0:
                b = b[:z]
            return b[:n]
        return b[:n].ljust(n, b"\0")

    def key_text(self, key: Any) -> str:
        t = self.type
        if t == "ip":
            return ".".join(str(x) for x in key)
        if t == "ipv6":
            return format_ipv6(key)
        if t == "integer":
            return str(key)
        if t == "string":
            return _dump_text(key)
        return key.hex().upper()

    # ------------------------------------------------------------------ entries
    def _new_data(self) -> list[Any]:
        d: list[Any] = []
        for std, count in self._proto:
            if count:
                d.append([FreqCtr() for _ in range(count)] if std == "frqp" else [0] * count)
            elif std == "frqp":
                d.append(FreqCtr())
            elif std == "dict":
                d.append(None)
            else:
                d.append(0)
        return d

    # 2.6 keeps the entries in an expiry tree keyed by the date each was queued with (``qkey``,
    # set when it is created, and when its expiry task or an eviction finds it touched since):
    # a touch changes ``exp`` only. Here the tree is a heap of (qkey, seq, entry), an item whose
    # seq is not its entry's ``qseq`` being a removed one.
    def _queue(self, e: Entry) -> None:
        self._seq += 1
        e.qkey = e.exp
        e.qseq = self._seq
        heapq.heappush(self._heap, (e.exp, self._seq, e))

    def purge(self, now: int) -> None:
        """2.6's expiry task, as of ``now``: queued entries whose date has come go, unless in use
        (left queued) or touched since (queued again at their new date)."""
        heap = self._heap
        if self.expire is None or not heap or heap[0][0] > now:
            return
        aside = []
        while heap and heap[0][0] <= now:
            item = heapq.heappop(heap)
            e = item[2]
            if item[1] != e.qseq:
                continue
            if e.ref:
                aside.append(item)
                continue
            if e.exp > now:
                self._queue(e)
                continue
            e.qseq = -1
            del self.entries[e.key]
        for item in aside:
            heapq.heappush(heap, item)

    def lookup(self, key: Any, now: int) -> Entry | None:
        if self.expire is not None:
            self.purge(now)
        return self.entries.get(key)

    def get(self, key: Any, now: int) -> Entry | None:
        """The entry of ``key``, created if new; None when the table is full and nothing can
        be evicted."""
        if self.expire is not None:
            self.purge(now)
        entries = self.entries
        e = entries.get(key)
        if e is not None:
            return e
        if len(entries) >= self.size:
            if self.conf.nopurge or not self._trash_oldest(self._batch):
                return None
        e = entries[key] = Entry(key, self._new_data())
        e.exp = now + (self.expire or 0)
        self._queue(e)
        return e

    def _trash_oldest(self, batch: int) -> int:
        """2.6's stktable_trash_oldest: in queue order, at most ``2 * batch`` entries looked at;
        one in use is skipped, one touched since it was queued is queued again at its date, the
        others are removed until ``batch`` are."""
        heap = self._heap
        max_search = batch * 2
        gone = 0
        aside = []
        while gone < batch and heap:
            item = heapq.heappop(heap)
            e = item[2]
            if item[1] != e.qseq:
                continue
            max_search -= 1
            if max_search < 0:
                aside.append(item)
                break
            if e.ref:
                aside.append(item)
                continue
            if e.exp != e.qkey:
                self._queue(e)
                continue
            e.qseq = -1
            del self.entries[e.key]
            gone += 1
        for item in aside:
            heapq.heappush(heap, item)
        return gone

    def touch(self, e: Entry, now: int) -> None:
        e.exp = now + (self.expire or 0)

    def track(self, e: Entry, now: int) -> None:
        """A stick counter starts tracking ``e`` (2.6's stream_start_counters): conn_cur,
        conn_cnt and conn_rate count one, the entry is touched and in use."""
        e.ref += 1
        s = self.slot
        d = e.d
        inflight = self.inflight
        if "conn_cur" in s:
            d[s["conn_cur"]] = (d[s["conn_cur"]] + 1) & U32
            if inflight is not None:
                inflight(e, "conn_cur", 0, 1)
        if "conn_cnt" in s:
            d[s["conn_cnt"]] = (d[s["conn_cnt"]] + 1) & U32
            if inflight is not None:
                inflight(e, "conn_cnt", 0, 1)
        if "conn_rate" in s:
            d[s["conn_rate"]].add(now, self.period["conn_rate"])
            if inflight is not None:
                inflight(e, "conn_rate", 0, 1)
        self.touch(e, now)

    def release(self, e: Entry, now: int) -> None:
        """The tracking ends (2.6's stream_stop_content_counters / session end): conn_cur
        counts one less, the entry is touched and no longer in use by this counter."""
        s = self.slot
        if "conn_cur" in s:
            i = s["conn_cur"]
            if e.d[i] > 0:
                e.d[i] -= 1
                if self.inflight is not None:
                    self.inflight(e, "conn_cur", 0, -1)
        if e.ref > 0:
            e.ref -= 1
        self.touch(e, now)

    def count(self, e: Entry, cnt: str, rate: str, now: int, inc: int = 1) -> None:
        """``cnt``/``rate`` (e.g. http_req_cnt, http_req_rate) count ``inc`` events, if stored."""
        s = self.slot
        i = s.get(cnt)
        j = s.get(rate)
        if i is None and j is None:
            return
        d = e.d
        inflight = self.inflight
        if i is not None:
            d[i] = (d[i] + inc) & (U64 if cnt.startswith("bytes") else U32)
            if inflight is not None:
                inflight(e, cnt, 0, inc)
        if j is not None:
            d[j].add(now, self.period[rate], inc)
            if inflight is not None:
                inflight(e, rate, 0, inc)
        self.touch(e, now)

    # ------------------------------------------------------------------ reading data
    def value(self, e: Entry, name: str, now: int, idx: int = 0) -> int | None:
        """Data type ``name`` of ``e`` as 2.6's fetches read it (a rate: its current reading);
        None when the table does not store it."""
        i = self.slot.get(name)
        if i is None:
            return None
        v = e.d[i]
        if name in self.asize:
            if idx >= len(v):
                return None
            v = v[idx]
        if isinstance(v, FreqCtr):
            return v.read(now, self.period[name])
        return v

    def rebase(self, e: Entry, name: str, now: int, idx: int = 0) -> None:
        """Data type ``name`` of ``e`` was just set (not counted): nothing to do in one process."""

    def used(self, now: int) -> int:
        self.purge(now)
        return len(self.entries)

    def sorted_entries(self, now: int) -> Iterator[Entry]:
        self.purge(now)
        yield from sorted(self.entries.values(), key=lambda e: e.key)

    def remaining(self, e: Entry, now: int) -> int:
        if self.expire is None or e.exp <= now:
            return 0
        return e.exp - now

    def remove(self, e: Entry) -> None:
        if self.entries.pop(e.key, None) is not None:
            e.qseq = -1


def _str2int(b: bytes) -> int | None:
    """2.6's c_str2int: an optional sign then digits, stopping at the first other byte."""
    s = b.lstrip(b" \t")
    neg = s[:1] == b"-"
    if s[:1] in (b"-", b"+"):
        s = s[1:]
    n = 0
    seen = False
    for c in s:
        if 48 <= c <= 57:
            n = n * 10 + c - 48
            seen = True
        else:
            break
    if not seen:
        return None
    return -n if neg else n


_ESC = {9: "\\t", 10: "\\n", 13: "\\r", 27: "\\e", 92: "\\\\", 32: "\\ ", 61: "\\="}


def _dump_text(b: bytes) -> str:
    out = []
    for c in b:
        if c == 0:
            break
        if c in _ESC:
            out.append(_ESC[c])
        elif 33 <= c < 127:
            out.append(chr(c))
        else:
            out.append(f"\\x{c:02x}")
    return "".join(out)
