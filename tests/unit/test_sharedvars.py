"""Process-scope variables shared by forked workers (haproxy_py/samples/sharedvars.py)."""

from __future__ import annotations

import os

from haproxy_py.samples import sharedvars as SV
from haproxy_py.samples.txn import ProcVars
from haproxy_py.samples.types import Sample


def _shared(names: list[str]) -> ProcVars:
    pv = ProcVars()
    pv.__class__ = SV.SharedProcVars
    SV.AREA[0] = SV.Area(names)
    return pv


def test_a_child_process_write_is_read_by_the_parent() -> None:
    pv = _shared(["proc.a", "proc.b"])
    try:
        dict.__setitem__(pv, "proc.b", Sample("sint", 1))  # an initial value, never written through
        assert pv.get("proc.b") == Sample("sint", 1)
        pid = os.fork()
        if pid == 0:  # the other worker (never back into pytest: whatever happens, it exits)
            code = 1
            try:
                pv["proc.a"] = Sample("str", b"from the child")
                pv.pop("proc.b")
                pv["proc.local"] = Sample("sint", 9)  # not declared: stays in the child
                code = 0
            finally:
                os._exit(code)
        assert os.waitpid(pid, 0)[1] == 0
        assert pv.get("proc.a") == Sample("str", b"from the child")
        assert pv.get("proc.b") is None and "proc.b" not in pv
        assert pv.get("proc.local") is None
        pv["proc.a"] = Sample("bool", True)
        assert pv["proc.a"] == Sample("bool", True)
    finally:
        SV.AREA[0] = None


def test_a_value_too_large_stays_local() -> None:
    pv = _shared(["proc.big"])
    try:
        pv["proc.big"] = Sample("sint", 1)
        pv["proc.big"] = Sample("str", b"x" * (SV.SLOT_BYTES + 1))
        assert SV.AREA[0] is not None and SV.AREA[0].too_large == 1
        assert pv.get("proc.big") == Sample("str", b"x" * (SV.SLOT_BYTES + 1))  # this worker's own
    finally:
        SV.AREA[0] = None


def test_one_worker_maps_nothing() -> None:
    class G:
        proc_vars = ProcVars()

    class C:
        global_ = G

    G.proc_vars.declare("proc.a")
    SV.prepare(C, 1)
    assert SV.AREA[0] is None
    SV.prepare(C, 2)
    assert SV.AREA[0] is not None and list(SV.AREA[0].index) == ["proc.a"]
    SV.AREA[0] = None
