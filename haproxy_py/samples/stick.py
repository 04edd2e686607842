"""The stick-table fetches and converters: ``sc_*``/``sc0_*``..``sc2_*`` (a tracked counter),
``src_*`` (the client address looked up in a table), ``table_*`` (the table itself) and the
``in_table``/``table_*`` converters (the input looked up). Pure: the tables come from
``txn.runtime.stick_table(name)``, what is tracked from :mod:`haproxy_py.stick.track`.

As 2.6: a counter that tracks nothing gives no sample; a key that is not in the table reads 0;
a data type the table does not store gives no sample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from haproxy_py.stick import track as K
from haproxy_py.stick.table import StickTable

from .core import converter, fetch
from .txn import Txn
from .types import Sample

T = "tests/differential/test_stick_vs_haproxy.py::"
TEST_SC = T + "test_stick_fetches_as_haproxy"

D_TIMES = "tests/differential/test_samples_vs_haproxy.py::test_table_expire_idle_converters_vs_haproxy"
#: src_inc_gpc, src_clr_gpc (the indexed forms) and sc1_clr_gpc: tested against 2.6.12 where it
#: does not crash; on a table that stores no gpc array 2.6.12 dies of SIGSEGV on the src_ ones,
#: haproxy-py answers as 2.6 does for sc_inc_gpc/sc_clr_gpc there (0, no sample)
TEST_GPC = T + "test_indexed_gpc_fetches_as_haproxy"

#: fetch suffix -> (reader(t, e, now, idx), modifies, takes an index)
Reader = Callable[[StickTable, Any, int, int], "int | None"]


def _plain(name: str) -> Reader:
    return lambda t, e, now, idx: K.gpc_value(t, e, name, idx, now)


def _kbytes(name: str) -> Reader:
    def r(t: StickTable, e: Any, now: int, idx: int) -> int | None:
        v = t.value(e, name, now)
        return None if v is None else v >> 10
    return r


def _inc(which: str) -> Reader:
    return lambda t, e, now, idx: K.inc_gpc(t, e, which, idx, now)


def _clr(which: str) -> Reader:
    return lambda t, e, now, idx: K.clr_gpc(t, e, which, idx, now)


def _trackers(t: StickTable, e: Any, now: int, idx: int) -> int | None:
    return int(e.ref)


READERS: dict[str, tuple[Reader, bool, bool]] = {}
for _n in ("conn_cnt", "conn_cur", "conn_rate", "sess_cnt", "sess_rate", "http_req_cnt", "http_req_rate",
           "http_err_cnt", "http_err_rate", "http_fail_cnt", "http_fail_rate", "bytes_in_rate", "bytes_out_rate",
           "gpc0_rate", "gpc1_rate"):
    READERS[_n] = (_plain(_n), False, False)
READERS["kbytes_in"] = (_kbytes("bytes_in_cnt"), False, False)
READERS["kbytes_out"] = (_kbytes("bytes_out_cnt"), False, False)
for _n in ("gpc0", "gpc1", "gpt0"):
    READERS["get_" + _n] = (_plain(_n), False, False)
READERS["get_gpc"] = (_plain("gpc"), False, True)
READERS["get_gpt"] = (_plain("gpt"), False, True)
READERS["gpc_rate"] = (_plain("gpc_rate"), False, True)
READERS["inc_gpc0"] = (_inc("gpc0"), True, False)
READERS["inc_gpc1"] = (_inc("gpc1"), True, False)
READERS["inc_gpc"] = (_inc("gpc"), True, True)
READERS["clr_gpc0"] = (_clr("gpc0"), True, False)
READERS["clr_gpc1"] = (_clr("gpc1"), True, False)
READERS["clr_gpc"] = (_clr("gpc"), True, True)
READERS["trackers"] = (_trackers, False, False)


def _table(txn: Txn, name: str | None) -> StickTable | None:
    rt = txn.runtime
    if rt is None:
        return None
    t: StickTable | None = rt.stick_table(name or txn.backend)
    return t


# --------------------------------------------------------------------------- sc_*, scN_*
def _sc_entry(txn: Txn, num: int, tname: str | None) -> tuple[StickTable, Any] | None | bool:
    """(table, entry or None) for counter ``num``; False when it tracks nothing."""
    if not 0 <= num < K.MAX_STKCTR:
        return False
    c = K.counter(txn, num)
    if c is None:
        return False
    if not tname:
        return c
    t = _table(txn, tname)
    if t is None:
        return False
    return t, t.lookup(c[1].key, K.now_ms(txn))


def _sc_fetch(reader: Reader, fixed: int | None, indexed: bool) -> Callable[[Txn, tuple], list | None]:
    def fn(txn: Txn, args: tuple) -> list | None:
        a = list(args)
        idx = int(a.pop(0)) if indexed else 0
        num = fixed if fixed is not None else int(a.pop(0))
        tname = a[0] if a else None
        r = _sc_entry(txn, num, tname)
        if r is False or r is None or r is True:
            return None
        t, e = r
        if e is None:
            return [0]
        v = reader(t, e, K.now_ms(txn), idx)
        return None if v is None else [v]
    return fn


def _sc_tracked(fixed: int | None) -> Callable[[Txn, tuple], list | None]:
    def fn(txn: Txn, args: tuple) -> list | None:
        a = list(args)
        num = fixed if fixed is not None else int(a.pop(0))
        return [K.counter(txn, num) is not None] if 0 <= num < K.MAX_STKCTR else [False]
    return fn


for _suffix, (_rd, _mod, _ix) in READERS.items():
    if not _ix or _suffix in ("get_gpc", "get_gpt", "gpc_rate", "inc_gpc", "clr_gpc"):
        fetch("sc_" + _suffix, test=TEST_SC)(_sc_fetch(_rd, None, _ix))
    if not _ix:
        for _i in range(3):
            fetch(f"sc{_i}_{_suffix}", test=TEST_SC)(_sc_fetch(_rd, _i, False))
# 2.6 also registers sc1_clr_gpc(idx[,table]): gpc[idx] of counter 1 cleared (the only scN_ form
# of an indexed fetch it has)
fetch("sc1_clr_gpc", test=TEST_GPC)(_sc_fetch(READERS["clr_gpc"][0], 1, True))
fetch("sc_tracked", test=TEST_SC)(_sc_tracked(None))
for _i in range(3):
    fetch(f"sc{_i}_tracked", test=TEST_SC)(_sc_tracked(_i))


# --------------------------------------------------------------------------- src_*
def _src_fetch(reader: Reader, create: bool, indexed: bool) -> Callable[[Txn, tuple], list | None]:
    def fn(txn: Txn, args: tuple) -> list | None:
        a = list(args)
        idx = int(a.pop(0)) if indexed else 0
        t = _table(txn, a[0] if a else None)
        ip = txn.src_ip()
        if t is None or ip is None:
            return None
        key = t.key_of(ip)
        if key is None:
            return None
        now = K.now_ms(txn)
        e = t.get(key, now) if create else t.lookup(key, now)
        if e is None:
            return [0]
        v = reader(t, e, now, idx)
        return None if v is None else [v]
    return fn


for _suffix, (_rd, _mod, _ix) in READERS.items():
    if _suffix == "trackers":
        continue
    fetch("src_" + _suffix, test=TEST_GPC if _suffix in ("inc_gpc", "clr_gpc") else TEST_SC,
          args="integer[,table]" if _ix else "[table]")(_src_fetch(_rd, _mod, _ix))


def _updt_conn_cnt(t: StickTable, e: Any, now: int, idx: int) -> int | None:
    i = t.slot.get("conn_cnt")
    if i is None:
        return None
    e.d[i] = (e.d[i] + 1) & 0xFFFFFFFF
    if t.inflight is not None:
        t.inflight(e, "conn_cnt", 0, 1)
    t.touch(e, now)
    return t.value(e, "conn_cnt", now) if t.shared else int(e.d[i])


fetch("src_updt_conn_cnt", test=TEST_SC, args="[table]")(_src_fetch(_updt_conn_cnt, True, False))


# --------------------------------------------------------------------------- table_avl / table_cnt
@fetch("table_cnt", test=TEST_SC, args="[table]")
def f_table_cnt(txn: Txn, args: tuple) -> list | None:
    t = _table(txn, args[0] if args else None)
    return None if t is None else [t.used(K.now_ms(txn))]


@fetch("table_avl", test=TEST_SC, args="[table]")
def f_table_avl(txn: Txn, args: tuple) -> list | None:
    t = _table(txn, args[0] if args else None)
    return None if t is None else [t.size - t.used(K.now_ms(txn))]


# --------------------------------------------------------------------------- converters
def _key_entry(value: Any, tname: str, txn: Txn) -> tuple[StickTable, Any, int] | None:
    t = _table(txn, tname)
    if t is None:
        return None
    if isinstance(value, Sample):  # an "any" input: the typed sample
        value = value.value
    key = t.key_of(value)
    if key is None:
        return None
    now = K.now_ms(txn)
    return t, t.lookup(key, now), now


@converter("in_table", test=TEST_SC)
def c_in_table(value: Any, args: tuple, txn: Txn) -> Any:
    r = _key_entry(value, args[0], txn)
    return None if r is None else r[1] is not None


def _table_conv(reader: Reader, indexed: bool) -> Callable[[Any, tuple, Txn], Any]:
    def fn(value: Any, args: tuple, txn: Txn) -> Any:
        a = list(args)
        idx = int(a.pop(0)) if indexed else 0
        r = _key_entry(value, a[0], txn)
        if r is None:
            return None
        t, e, now = r
        if e is None:
            return 0
        return reader(t, e, now, idx)
    return fn


_CONVS = {n: READERS[n] for n in ("conn_cnt", "conn_cur", "conn_rate", "sess_cnt", "sess_rate", "http_req_cnt",
                                  "http_req_rate", "http_err_cnt", "http_err_rate", "http_fail_cnt",
                                  "http_fail_rate", "bytes_in_rate", "bytes_out_rate", "gpc0_rate", "gpc1_rate",
                                  "kbytes_in", "kbytes_out")}
# 2.6's converter reads the use count while its own lookup holds the entry: one more
_CONVS["trackers"] = (lambda t, e, now, idx: int(e.ref) + 1, False, False)
_CONVS["gpc0"] = READERS["get_gpc0"]
_CONVS["gpc1"] = READERS["get_gpc1"]
_CONVS["gpt0"] = READERS["get_gpt0"]
_CONVS["gpc"] = READERS["get_gpc"]
_CONVS["gpt"] = READERS["get_gpt"]
_CONVS["gpc_rate"] = READERS["gpc_rate"]
_CONVS["server_id"] = (_plain("server_id"), False, False)
for _suffix, (_rd, _mod, _ix) in _CONVS.items():
    converter("table_" + _suffix, test=TEST_SC)(_table_conv(_rd, _ix))


def _remaining(t: StickTable, e: Any, now: int, idx: int) -> int | None:
    return t.remaining(e, now) if t.expire is not None else None


def _idle(t: StickTable, e: Any, now: int, idx: int) -> int | None:
    if t.expire is None:
        return None
    return t.expire - t.remaining(e, now)


def _with_default(reader: Reader) -> Callable[[Any, tuple, Txn], Any]:
    def fn(value: Any, args: tuple, txn: Txn) -> Any:
        r = _key_entry(value, args[0], txn)
        dflt = int(args[1]) if len(args) > 1 and args[1] != "" else None
        if r is None or r[1] is None:
            return dflt
        return reader(r[0], r[1], r[2], 0)
    return fn


converter("table_expire", test=D_TIMES)(_with_default(_remaining))
converter("table_idle", test=D_TIMES)(_with_default(_idle))
