"""Stick counters: ``track-scN`` and the ``sc-*`` actions, and what the ``sc*_``/``src_``/``table_``
fetches read. Pure: the table comes from ``txn.runtime.stick_table(name)``, the date from
``txn.now``.

A transaction's counters are ``txn.stkctr`` (the stream's, set by http-request and tcp-request
content rules: released when the request ends) and ``txn.sess_stkctr`` (the session's, set by
tcp-request connection/session rules: released when the connection ends); each is None until a
rule tracks something, then a list of ``MAX_STKCTR`` slots, each None or ``(table, entry)``.
A fetch looks at the stream's counter first, then the session's (as 2.6 does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .table import U32, Entry, StickTable

__all__ = ["MAX_STKCTR", "Track", "IncGpc", "SetGpt", "release_all", "counter", "now_ms",
           "count_http", "count_bytes", "count_list", "count_sess"]

#: 2.6's tune.stick-counters default
MAX_STKCTR = 3

Ctr = tuple[StickTable, Entry]


def now_ms(txn: Any) -> int:
    return int(txn.now * 1000)


def counter(txn: Any, idx: int) -> Ctr | None:
    """The entry counter ``idx`` tracks for this transaction (stream first, then session)."""
    s = getattr(txn, "stkctr", None)
    if s is not None and s[idx] is not None:
        return s[idx]
    s = getattr(txn, "sess_stkctr", None)
    if s is not None:
        return s[idx]
    return None


class Track:
    """``track-scN <key> [table <t>]``: the first valid tracking of counter N applies (a stream's
    rule does not track N when its session already does)."""

    __slots__ = ("idx", "expr", "table", "http", "session", "response")

    def __init__(self, idx: int, expr: Callable[[Any], Any], table: str, *, http: bool, session: bool,
                 response: bool = False) -> None:
        self.idx = idx
        self.expr = expr
        self.table = table
        #: an http-request rule: the tracked entry counts the request at once (2.6)
        self.http = http
        #: tcp-request connection/session: the session's counters
        self.session = session
        #: http-response: 2.6 counts the request and the response's status (4xx, 5xx) at once
        self.response = response

    def apply(self, txn: Any) -> None:
        attr = "sess_stkctr" if self.session else "stkctr"
        ctrs = getattr(txn, attr, None)
        if ctrs is not None and ctrs[self.idx] is not None:
            return
        if not self.session:  # 2.6: a counter the session tracks is not tracked again by a stream
            sess = getattr(txn, "sess_stkctr", None)
            if sess is not None and sess[self.idx] is not None:
                return
        rt = txn.runtime
        t = rt.stick_table(self.table) if rt is not None else None
        if t is None:
            return
        smp = self.expr(txn)
        if smp is None:
            return
        key = t.key_of(smp.value)
        if key is None:
            return
        now = now_ms(txn)
        e = t.get(key, now)
        if e is None:
            return
        if ctrs is None:
            ctrs = [None] * MAX_STKCTR
            setattr(txn, attr, ctrs)
        ctrs[self.idx] = (t, e)
        t.track(e, now)
        if self.http or self.response:
            t.count(e, "http_req_cnt", "http_req_rate", now)
        if self.response:
            res = txn.res
            status = res.status if res is not None else 0
            if 400 <= status < 500:
                t.count(e, "http_err_cnt", "http_err_rate", now)
            elif 500 <= status < 600 and status != 501 and status != 505:
                t.count(e, "http_fail_cnt", "http_fail_rate", now)
        return


def release_all(ctrs: list[Ctr | None], now: int) -> None:
    """The end of a stream (or session): every counter it tracks stops (conn_cur - 1, touched)."""
    for i, c in enumerate(ctrs):
        if c is not None:
            c[0].release(c[1], now)
            ctrs[i] = None


def count_http(txn: Any, cnt: str, rate: str) -> None:
    """One event of ``cnt``/``rate`` (http_err, http_fail, http_req) on every tracked entry."""
    now = now_ms(txn)
    for attr in ("stkctr", "sess_stkctr"):
        ctrs = getattr(txn, attr, None)
        if ctrs is not None:
            for c in ctrs:
                if c is not None:
                    c[0].count(c[1], cnt, rate, now)


def count_list(ctrs: Sequence[Ctr | None], cnt: str, rate: str, now: int) -> None:
    for c in ctrs:
        if c is not None:
            c[0].count(c[1], cnt, rate, now)


def count_sess(ctrs: Sequence[Ctr | None], now: int) -> None:
    """A new session on the session's counters (2.6's session_count_new)."""
    count_list(ctrs, "sess_cnt", "sess_rate", now)


def count_bytes(ctrs: Sequence[Ctr | None], nin: int, nout: int, now: int) -> None:
    for c in ctrs:
        if c is not None:
            t, e = c
            if nin:
                t.count(e, "bytes_in_cnt", "bytes_in_rate", now, nin)
            if nout:
                t.count(e, "bytes_out_cnt", "bytes_out_rate", now, nout)


# --------------------------------------------------------------------------- gpc / gpt
def inc_gpc(t: StickTable, e: Entry, which: str, idx: int, now: int, inc: int = 1) -> int | None:
    """gpc0/gpc1 (falling back to gpc[0]/gpc[1] as 2.6 does) or gpc[idx] plus ``inc``, with its
    rate; the new value, 0 when neither is stored."""
    s = t.slot
    if which in ("gpc0", "gpc1") and which not in s and f"{which}_rate" not in s:
        if "gpc" in s or "gpc_rate" in s:
            which, idx = "gpc", int(which[3])
    d = e.d
    touched = False
    val: int | None = None
    if which == "gpc":
        j = s.get("gpc_rate")
        if j is not None and idx < len(d[j]):
            d[j][idx].add(now, t.period["gpc_rate"], inc)
            touched = True
            if t.inflight is not None:
                t.inflight(e, "gpc_rate", idx, inc)
        i = s.get("gpc")
        if i is not None and idx < len(d[i]):
            d[i][idx] = (d[i][idx] + inc) & U32
            val = d[i][idx]
            touched = True
            if t.inflight is not None:
                t.inflight(e, "gpc", idx, inc)
    else:
        j = s.get(f"{which}_rate")
        if j is not None:
            d[j].add(now, t.period[f"{which}_rate"], inc)
            touched = True
            if t.inflight is not None:
                t.inflight(e, f"{which}_rate", 0, inc)
        i = s.get(which)
        if i is not None:
            d[i] = (d[i] + inc) & U32
            val = d[i]
            touched = True
            if t.inflight is not None:
                t.inflight(e, which, 0, inc)
    if touched:
        t.touch(e, now)
    if val is not None and t.shared:  # several workers: the sum of their shares
        val = t.value(e, which, now, idx)
    # 2.6 answers 0 when the table stores neither the counter nor its rate (or the index is
    # beyond the array): an increment always has a sample
    return 0 if val is None else val


def gpc_value(t: StickTable, e: Entry, which: str, idx: int, now: int) -> int | None:
    """gpc0/gpc1/gpt0 (with the array fallback) or gpc[idx]/gpt[idx]/gpc_rate[idx]."""
    s = t.slot
    if which in ("gpc0", "gpc1", "gpt0") and which not in s:
        arr = "gpt" if which == "gpt0" else "gpc"
        if arr in s:
            return t.value(e, arr, now, 0 if which != "gpc1" else 1)
        return None
    if which in ("gpc0_rate", "gpc1_rate") and which not in s:
        if "gpc_rate" in s:
            return t.value(e, "gpc_rate", now, int(which[3]))
        return None
    if which in ("gpc", "gpt", "gpc_rate"):
        return t.value(e, which, now, idx)
    return t.value(e, which, now)


def clr_gpc(t: StickTable, e: Entry, which: str, idx: int, now: int) -> int | None:
    """Set gpc to 0 (its rate counts nothing); the value it had."""
    s = t.slot
    if which in ("gpc0", "gpc1") and which not in s and "gpc" in s:
        which, idx = "gpc", int(which[3])
    i = s.get(which)
    if i is None:
        return None
    d = e.d
    if which == "gpc":
        if idx >= len(d[i]):
            return None
        old = t.value(e, which, now, idx) if t.shared else d[i][idx]
        d[i][idx] = 0
    else:
        old = t.value(e, which, now) if t.shared else d[i]
        d[i] = 0
    if t.shared:
        t.rebase(e, which, now, idx)
    t.touch(e, now)
    return old


def set_gpt(t: StickTable, e: Entry, which: str, idx: int, value: int, now: int) -> None:
    s = t.slot
    if which == "gpt0" and "gpt0" not in s and "gpt" in s:
        which, idx = "gpt", 0
    i = s.get(which)
    if i is None:
        return
    if which == "gpt":
        if idx >= len(e.d[i]):
            return
        e.d[i][idx] = value & U32
    else:
        e.d[i] = value & U32
    t.touch(e, now)


class IncGpc:
    """``sc-inc-gpc0(N)``, ``sc-inc-gpc1(N)``, ``sc-inc-gpc(idx,N)``."""

    __slots__ = ("which", "idx", "sc")

    def __init__(self, which: str, idx: int, sc: int) -> None:
        self.which, self.idx, self.sc = which, idx, sc

    def apply(self, txn: Any) -> None:
        c = counter(txn, self.sc)
        if c is not None:
            inc_gpc(c[0], c[1], self.which, self.idx, now_ms(txn))
        return


class SetGpt:
    """``sc-set-gpt0(N) <int|expr>``, ``sc-set-gpt(idx,N) <int|expr>``."""

    __slots__ = ("which", "idx", "sc", "value", "expr")

    def __init__(self, which: str, idx: int, sc: int, value: int | None, expr: Callable[[Any], Any] | None) -> None:
        self.which, self.idx, self.sc, self.value, self.expr = which, idx, sc, value, expr

    def apply(self, txn: Any) -> None:
        c = counter(txn, self.sc)
        if c is not None:
            v = self.value
            if v is None:
                v = _int_of(self.expr(txn)) if self.expr is not None else None
                if v is None:
                    return
            set_gpt(c[0], c[1], self.which, self.idx, v, now_ms(txn))
        return


def _int_of(smp: Any) -> int | None:
    if smp is None:
        return None
    v = smp.value
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, bytes):
        from .table import _str2int

        return _str2int(v)
    return None
