"""One logical stick table across several worker processes, sans-IO (the engine part, moving the
bytes between workers, is haproxy_py/engine/tableshare.py).

Each worker **owns its increments**: its own table (``StickTable``) counts only what happens in
that worker, exactly as one process does. Every local write (a track, a rule, a stick store,
``set table``: they all end in the table's ``touch``) marks the entry; the engine pushes the
marked entries (their whole data, their expiry date and how many trackers hold them) to every
other worker, which keeps them apart, per sending worker (``remote[w][key]``), replacing what
that worker sent before (the peers protocol's rule: an update replaces the entry's data; a
worker pushes only its own counts, so nothing is counted twice). Reading then combines:

* **counters** (``conn_cnt``, ``conn_cur``, ``http_req_cnt``, ``gpc0``, ``gpc(N)``, the byte
  counts...) are the sum of every worker's share;
* **rates** read the sum of every worker's frequency counter (``sum(total) // period``: each
  worker's window, weighted as 2.6 weighs one), so ``sc_http_req_rate`` sees every worker's
  requests, those of the other workers as of their last push;
* **tags** (``server_id``, ``server_key``, ``gpt0``, ``gpt(N)``) are not summed: a worker's
  write of one is copied into the others' entries when they receive it (the last write
  received wins); a received entry is created locally if missing, so ``stick match`` finds a
  server another worker stored;
* **expiry**: an entry lives as long as its latest touch on any worker; ``use`` is the sum;
* **increments in flight**: a push leaves at the end of the event-loop turn, so a worker would
  read another's count as of its last push and admit requests a limit should have refused. Each
  increment is also added at once to the incrementing worker's column of a shared-memory area
  (``Inflight``: a monotonic total per slot, the key's hash plus an offset per table, data type
  and index, each worker
  writing only its own column, 8-byte aligned); each push carries the totals of the slots it
  covers, and a reader adds, for every other worker, that worker's total now minus the total its
  last applied push carried: the increments not pushed yet. Two keys sharing a slot make a
  reading higher for the moment until the next push (never lower);
* **a counter set** rather than counted (``sc-clr-gpc``, ``set table ... data.X V``) makes this
  worker's share ``V`` minus the others' shares as it knows them (modulo 2^32: a share may "go
  negative"), so the sum reads ``V`` and later increments anywhere add to it; a rate set that way
  gets ``V`` minus the others' readings in its current period.
"""

from __future__ import annotations

from typing import Any

from .freq import FreqCtr
from .table import BY_NAME, U32, U64, Entry, StickTable

__all__ = ["TableShare", "SumFreq", "TAGS", "merge_freq", "Inflight"]

#: data types copied (last write wins), not summed
TAGS = frozenset({"server_id", "server_key", "gpt0", "gpt"})


class Inflight:
    """The increments each worker made since its last push, readable at once by the others
    (see the module's docstring): ``buf`` a writable buffer shared by the workers (an anonymous
    shared mmap made before they fork) of ``n * slots`` signed 64-bit totals, column ``w`` worker
    ``w``'s."""

    def __init__(self, buf: Any, n: int, me: int, slots: int = 1 << 15) -> None:
        self.a = memoryview(buf).cast("q")
        self.n, self.me, self.slots = n, me, slots
        self.mask = slots - 1
        self.base = me * slots
        self.others = [w * slots for w in range(n) if w != me]
        #: slots written since the last push (their totals go with it)
        self.touched: set[int] = set()
        #: per other worker's column base: slot -> that worker's total its last applied push carried
        self.seen: dict[int, dict[int, int]] = {b: {} for b in self.others}

    @staticmethod
    def size(n: int, slots: int = 1 << 15) -> int:
        return n * slots * 8

    def marks(self) -> dict[int, int]:
        """The totals of the slots written since the last call (sent with a push)."""
        a, base = self.a, self.base
        out = {s: a[base + s] for s in self.touched}
        self.touched.clear()
        return out

    def applied(self, worker: int, marks: dict[int, int]) -> None:
        seen = self.seen.get(worker * self.slots)
        if seen is not None:
            seen.update(marks)

    def extra(self, slot: int) -> int:
        """The other workers' increments of ``slot`` not pushed yet (as far as applied here)."""
        a = self.a
        tot = 0
        for b, seen in self.seen.items():
            tot += a[b + slot] - seen.get(slot, 0)
        return tot


class SumFreq(FreqCtr):
    """Several workers' frequency counters read as one (``show table`` of the merged view)."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[FreqCtr]) -> None:
        super().__init__()
        self.parts = parts

    def total(self, now: int, period: int) -> int:
        return sum(p.total(now, period) for p in self.parts)

    def total_exact(self, now: int, period: int) -> int:
        return sum(p.total_exact(now, period) for p in self.parts)

    def read(self, now: int, period: int) -> int:
        return self.total(now, period) // period


#: what a worker pushes for one key: (data or None when removed, expiry date, trackers)
Item = tuple[Any, list[Any] | None, int, int]


class TableShare:
    """The shared side of one table in one worker."""

    def __init__(self, table: StickTable) -> None:
        self.table = table
        #: sending worker -> key -> (data, expiry date, trackers), as last received
        self.remote: dict[int, dict[Any, tuple[list[Any], int, int]]] = {}
        self.dirty: set[Any] = set()
        #: called on the first local change since the last ``pending`` (the engine's flush timer)
        self.on_dirty: Any = None
        #: called with each key another worker pushed (the worker speaking the peers protocol
        #: marks it as a local change of the process: engine/tableshare.py ``join_peers``)
        self.on_remote: Any = None
        #: (Inflight, this table's index) with several workers (engine/tableshare.py)
        self.inflight: tuple[Inflight, int] | None = None
        self._tags = [(table.slot[n], n) for n in TAGS if n in table.slot]
        self._sums = [(i, BY_NAME[n].std, n) for n, i in table.slot.items() if n not in TAGS]

    def attach(self) -> None:
        """Mark every local write; read values and remove keys through the merged view."""
        t = self.table
        plain_touch = t.touch  # the table's own, or a peers section's (stick/peersync.py) wrapping it
        plain_value = StickTable.value
        plain_remove = StickTable.remove
        dirty = self.dirty
        remote = self.remote

        def touch(e: Any, now: int) -> None:
            plain_touch(e, now)
            if not dirty and self.on_dirty is not None:
                self.on_dirty()
            dirty.add(e.key)

        expire = t.expire
        slot, asize, period = t.slot, t.asize, t.period

        infl = self.inflight
        if infl is not None:
            area, ti = infl
            extra = area.extra
            # a slot: the key's hash (kept by the key object) plus an offset per data type
            offs = {(n, k): hash((ti, n, k)) for n in t.slot for k in range(t.asize.get(n, 1))}
            cells, base, mask, touched = area.a, area.base, area.mask, area.touched

            def slot_of(name: str, idx: int, key: Any) -> int:
                return (hash(key) + offs[name, idx]) & mask

            def inflight(e: Any, name: str, idx: int, inc: int) -> None:
                s = (hash(e.key) + offs[name, idx]) & mask
                cells[base + s] += inc
                touched.add(s)

            t.inflight = inflight

        def value(e: Any, name: str, now: int, idx: int = 0) -> int | None:
            v = plain_value(t, e, name, now, idx)
            if v is None or name in TAGS or (not remote and infl is None):
                return v
            i = slot[name]
            key = e.key
            own = e.d[i]
            arr = name in asize
            if arr:
                own = own[idx]
            more = extra(slot_of(name, idx, key)) if infl is not None else 0
            if isinstance(own, FreqCtr):
                per = period[name]
                tot = own.total(now, per) + more * per
                for m in remote.values():
                    r = m.get(key)
                    if r is not None and (expire is None or r[1] > now):
                        tot += (r[0][i][idx] if arr else r[0][i]).total(now, per)
                return max(tot, 0) // per
            v += more
            for m in remote.values():
                r = m.get(key)
                if r is not None and (expire is None or r[1] > now):
                    v += r[0][i][idx] if arr else r[0][i]
            return v & (U64 if name.startswith("bytes") else U32)

        def remove(e: Any) -> None:
            plain_remove(t, e)
            for m in remote.values():  # clear table reaches every worker: each forgets the key
                m.pop(e.key, None)

        def rebase(e: Any, name: str, now: int, idx: int = 0) -> None:
            if name in TAGS:
                return
            i = t.slot[name]
            parts = [r[0][i] for m in remote.values() if (r := m.get(e.key)) is not None and self._live(r, now)]
            if not parts:
                return
            holder, j = (e.d[i], idx) if name in t.asize else (e.d, i)
            if name in t.asize:
                parts = [p[idx] for p in parts]
            own = holder[j]
            if isinstance(own, FreqCtr):
                per = t.period[name]
                own.curr -= sum(p.total(now, per) for p in parts) // per
            else:
                holder[j] = (own - sum(parts)) & (U64 if BY_NAME[name].std == "ull" else U32)

        t.touch = touch  # type: ignore[method-assign]
        t.value = value  # type: ignore[method-assign]
        t.remove = remove  # type: ignore[method-assign]
        t.rebase = rebase  # type: ignore[method-assign]
        t.shared = True

    def _live(self, r: tuple[list[Any], int, int], now: int) -> bool:
        return self.table.expire is None or r[1] > now

    # ------------------------------------------------------------------ pushing
    def pending(self) -> list[Item]:
        """What to push: every entry written locally since the last call."""
        entries = self.table.entries
        out: list[Item] = []
        for key in self.dirty:
            e = entries.get(key)
            out.append((key, e.d, e.exp, e.ref) if e is not None else (key, None, 0, 0))
        self.dirty.clear()
        return out

    # ------------------------------------------------------------------ receiving
    def apply(self, worker: int, items: list[Item], now: int) -> None:
        t = self.table
        m = self.remote.setdefault(worker, {})
        on_remote = self.on_remote
        for key, d, exp, ref in items:
            if d is None:
                m.pop(key, None)
                continue
            prev = m.get(key)
            m[key] = (d, exp, ref)
            if prev is None and len(m) > 2 * t.size:
                self.trim(now)
            e = t.entries.get(key)
            if e is None:
                e = t.get(key, now)  # created without touch: not pushed back
                if e is None:
                    continue
            for i, _n in self._tags:  # a tag this worker wrote since its last push
                x = d[i]
                if (x != prev[0][i]) if prev is not None else _set(x):
                    e.d[i] = list(x) if isinstance(x, list) else x
            if t.expire is not None and exp > e.exp:
                e.exp = exp
            if on_remote is not None:
                on_remote(key)

    def trim(self, now: int) -> None:
        """Forget the other workers' entries that expired, and (once they outnumber twice the
        table's size) those whose key this worker's table no longer has (evicted)."""
        t = self.table
        for m in self.remote.values():
            if t.expire is not None:
                for key in [k for k, r in m.items() if r[1] <= now]:
                    del m[key]
            if len(m) > 2 * t.size:
                for key in [k for k in m if k not in t.entries]:
                    del m[key]

    # ------------------------------------------------------------------ peers
    def merged(self, e: Entry, now: int) -> Entry:
        """Entry ``e`` with every worker's data, as the process's one entry (what the worker
        speaking the peers protocol sends): counters summed, rates merged into one counter
        (``merge_freq``), tags this worker's (the others' are copied in when received), the
        latest expiry."""
        t = self.table
        rs = [r for m in self.remote.values() if (r := m.get(e.key)) is not None and self._live(r, now)]
        if not rs:
            return e
        d = list(e.d)
        for i, std, n in self._sums:
            if std == "frqp":
                per = t.period[n]
                if n in t.asize:
                    d[i] = [merge_freq([e.d[i][k], *(r[0][i][k] for r in rs)], now, per) for k in range(len(e.d[i]))]
                else:
                    d[i] = merge_freq([e.d[i], *(r[0][i] for r in rs)], now, per)
            elif std in ("uint", "ull"):
                mask = U64 if std == "ull" else U32
                if n in t.asize:
                    d[i] = [(e.d[i][k] + sum(r[0][i][k] for r in rs)) & mask for k in range(len(e.d[i]))]
                else:
                    d[i] = (e.d[i] + sum(r[0][i] for r in rs)) & mask
        ne = Entry(e.key, d)
        ne.exp = max([e.exp, *(r[1] for r in rs)])
        ne.ref = e.ref + sum(r[2] for r in rs)
        return ne

    def learned(self, e: Entry, types: list[str], now: int) -> None:
        """A peer replaced the data ``types`` of ``e`` (the process's value, not this worker's
        share): this worker's share of each counter becomes that value minus the other
        workers' shares, so that the sum reads it; then pushed to the other workers."""
        t = self.table
        for n in types:
            if n in TAGS or n not in t.slot or BY_NAME[n].std == "dict":
                continue
            for idx in range(t.asize.get(n, 1)):
                t.rebase(e, n, now, idx)
        if not self.dirty and self.on_dirty is not None:
            self.on_dirty()
        self.dirty.add(e.key)

    # ------------------------------------------------------------------ show table
    def view(self, now: int) -> StickTable:
        """A copy of the table whose entries carry the merged data (``show table``)."""
        t = self.table
        t.purge(now)
        self.trim(now)
        v = StickTable(t.conf)
        for key, e in t.entries.items():
            rs = [r for m in self.remote.values() if (r := m.get(key)) is not None]
            d = list(e.d)
            if rs:
                for i, std, n in self._sums:
                    if std == "frqp":
                        if n in t.asize:
                            d[i] = [SumFreq([e.d[i][k], *(r[0][i][k] for r in rs)]) for k in range(len(e.d[i]))]
                        else:
                            d[i] = SumFreq([e.d[i], *(r[0][i] for r in rs)])
                    elif std in ("uint", "ull"):
                        mask = U64 if std == "ull" else U32
                        if n in t.asize:
                            d[i] = [(e.d[i][k] + sum(r[0][i][k] for r in rs)) & mask for k in range(len(e.d[i]))]
                        else:
                            d[i] = (e.d[i] + sum(r[0][i] for r in rs)) & mask
            ne = v.entries[key] = Entry(key, d)
            ne.exp = max([e.exp, *(r[1] for r in rs)])
            ne.ref = e.ref + sum(r[2] for r in rs)
        return v


def merge_freq(parts: list[FreqCtr], now: int, period: int) -> FreqCtr:
    """Several workers' counters of one rate as one counter (to send to a peer): the latest
    period start; each part's current and previous counts go to the same period of the result
    when its period starts within one period of it, its current one to the previous period of
    the result when one period older. One live part is sent as it is."""
    live = [p for p in parts if p.tick is not None]
    if len(live) <= 1:
        return live[0] if live else parts[0]
    tick = max(p.tick for p in live if p.tick is not None)
    out = FreqCtr()
    out.tick = tick
    for p in live:
        age = tick - (p.tick or 0)
        if age < period:
            out.curr += p.curr
            out.prev += p.prev
        elif age < 2 * period:
            out.prev += p.curr
    out.curr &= U32
    out.prev &= U32
    return out


def _set(x: Any) -> bool:
    """A tag holding something (not its initial 0 / None / zeros)."""
    if isinstance(x, list):
        return any(x)
    return x not in (None, 0)
