"""HAProxy 2.6's period frequency counter (its ``freq_ctr``), sans-IO: the caller gives ``now``.

A counter is three numbers: the start of the current period (``tick``, an even millisecond date),
the events counted since then (``curr``) and the events of the previous period (``prev``).

* **adding** ``n`` events at ``now``: while ``now - tick < period`` they go to ``curr``. Otherwise
  the period rotates: ``prev`` takes ``curr`` (or 0 when more than one whole period was missed),
  ``curr`` becomes ``n`` and ``tick`` moves one period on (or to ``now`` when periods were missed),
  its lowest bit cleared;
* **reading** at ``now``: with ``remain = tick + period - now``, the rate is
  ``(prev * remain + curr * period) // period``: the current period's events plus the share of the
  previous period's that the sliding window still covers. Past the current period (``remain < 0``)
  ``curr`` becomes the previous one (``remain += period``; nothing left when still negative). At
  very low rates (``curr == 0`` and ``prev <= 1``) the reading is ``prev``, which keeps a rate of
  one event per period from flapping between 0 and 1.

A new counter reads 0 and rotates at its first event (2.6's zeroed area has ``tick`` 0, far in the
past): its window then starts at that event's date. Millisecond dates are plain integers here
(2.6's wrap at 2**32 changes nothing while dates stay within 24 days of each other).
"""

from __future__ import annotations

__all__ = ["FreqCtr"]


class FreqCtr:
    __slots__ = ("tick", "curr", "prev")

    def __init__(self) -> None:
        #: start of the current period (ms), None: never updated (2.6's zeroed counter)
        self.tick: int | None = None
        self.curr = 0
        self.prev = 0

    def add(self, now: int, period: int, inc: int = 1) -> None:
        tick = self.tick
        if tick is not None and now - tick < period:
            self.curr += inc
            return
        if tick is None:
            # 2.6: tick 0 is ages ago: a missed rotation, the window starts now
            self.prev = 0
            self.curr = inc
            self.tick = now & ~1
            return
        self.prev = self.curr
        self.curr = inc
        tick += period
        if now - tick >= period:  # at least two periods were missed
            self.prev = 0
            tick = now
        self.tick = tick & ~1

    def total(self, now: int, period: int) -> int:
        """2.6's freq_ctr_total with its low-rate correction (read_freq_ctr_period * period)."""
        tick = self.tick
        if tick is None:
            return 0
        curr = self.curr
        past = self.prev
        remain = tick + period - now
        if remain < 0:
            remain += period
            past = curr if remain >= 0 else 0
            curr = 0
        if not curr and past <= 1:
            return past * period
        return past * remain + curr * period

    def total_exact(self, now: int, period: int) -> int:
        """2.6's freq_ctr_total without the low-rate correction: what its limit checks
        (freq_ctr_remain, next_event_delay) read, so one event per period is no limit of 1."""
        tick = self.tick
        if tick is None:
            return 0
        curr = self.curr
        past = self.prev
        remain = tick + period - now
        if remain < 0:
            remain += period
            past = curr if remain >= 0 else 0
            curr = 0
        return past * remain + curr * period if remain >= 0 else 0

    def read(self, now: int, period: int) -> int:
        return self.total(now, period) // period

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<FreqCtr tick={self.tick} curr={self.curr} prev={self.prev}>"
