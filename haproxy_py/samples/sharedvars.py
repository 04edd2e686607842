"""Process-scope variables shared by several workers.

HAProxy 2.6's ``nbthread N`` runs N threads of one process, which see one ``proc`` scope;
haproxy-py runs N worker processes. So that a ``set-var(proc.x)`` in one worker is what every
worker's next ``var(proc.x)`` reads, the master maps one anonymous shared memory area before it
forks them (:func:`prepare`), with one slot per ``proc`` name the configuration declares (2.6
declares every proc name it reads): a sequence number, then the value's type and data pickled
(the workers are forks of one master: they trust each other's pickles). A write takes the area's lock, stores the
value and bumps the number; a read compares the number with the one it last decoded and, when
it moved, decodes the slot again under the lock. A name only the runtime API introduced, or a
value larger than a slot (:data:`SLOT_BYTES`), stays in the worker that set it.

:func:`attach` makes the worker's :data:`~haproxy_py.samples.txn.PROC_VARS` read and write
through the area (its class becomes :class:`SharedProcVars`); without several workers nothing
changes and nothing is mapped.
"""

from __future__ import annotations

import mmap
import multiprocessing
import pickle
import struct
from typing import Any

from .txn import PROC_VARS, ProcVars
from .types import Sample

__all__ = ["Area", "SharedProcVars", "prepare", "attach", "AREA", "SLOT_BYTES"]

#: the largest pickled value a slot holds (a sample is at most a buffer: tune.bufsize's default)
SLOT_BYTES = 16384 + 256
#: a slot: its sequence number (0: never written through the area) and the pickle's length
_HDR = struct.Struct("=QI")
_MISSING: Any = object()
#: how long a worker waits for the lock (held for a copy): past it, one that died holding it is
#: assumed and the slot is used without it (a torn value is read as the previous one)
_LOCK_S = 0.05


class Area:
    """The slots, their lock, and this process's last decoded value of each."""

    def __init__(self, names: list[str]) -> None:
        self.index = {n: i for i, n in enumerate(sorted(set(names)))}
        self.stride = _HDR.size + SLOT_BYTES
        self.mem = mmap.mmap(-1, max(1, len(self.index)) * self.stride)
        self.lock = multiprocessing.Lock()
        #: slot -> (sequence number, value) as this process last read or wrote it
        self.seen: dict[int, tuple[int, Sample | None]] = {}
        #: values too large for a slot (kept in the writing worker only), and the slots this
        #: worker reads from its own dict for that reason
        self.too_large = 0
        self.local: set[int] = set()

    def read(self, i: int) -> Any:
        """The slot's value (None: unset), or ``_MISSING`` when nothing was written through it."""
        off = i * self.stride
        seq = _HDR.unpack_from(self.mem, off)[0]
        if not seq or i in self.local:
            return _MISSING
        got = self.seen.get(i)
        if got is not None and got[0] == seq:
            return got[1]
        locked = self.lock.acquire(timeout=_LOCK_S)
        try:
            seq, n = _HDR.unpack_from(self.mem, off)
            data = self.mem[off + _HDR.size:off + _HDR.size + n]
        finally:
            if locked:
                self.lock.release()
        try:
            raw = pickle.loads(data)
        except Exception:  # noqa: BLE001 - torn by a writer that died holding the lock
            return got[1] if got is not None else _MISSING
        value = None if raw is None else Sample(raw[0], raw[1])
        self.seen[i] = (seq, value)
        return value

    def write(self, i: int, value: Sample | None) -> None:
        # the type and the value, not the Sample: the accelerator's compiled Sample does not pickle
        data = pickle.dumps(None if value is None else (value.type, value.value), protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > SLOT_BYTES:
            self.too_large += 1
            self.local.add(i)
            return
        self.local.discard(i)
        off = i * self.stride
        locked = self.lock.acquire(timeout=_LOCK_S)
        try:
            seq = _HDR.unpack_from(self.mem, off)[0] + 1
            self.mem[off + _HDR.size:off + _HDR.size + len(data)] = data
            _HDR.pack_into(self.mem, off, seq, len(data))
        finally:
            if locked:
                self.lock.release()
        self.seen[i] = (seq, value)


#: the area of this process group (made by the master before it forks), or None
AREA: list[Area | None] = [None]


class SharedProcVars(ProcVars):
    """The process scope of a worker among several: the declared names read and written through
    the shared area, the others as a plain dict."""

    __slots__ = ()

    @staticmethod
    def _slot(name: str) -> tuple[Area, int] | None:
        """The area and the slot of a declared name (None: a name kept in this worker's dict)."""
        area = AREA[0]
        i = area.index.get(name) if area is not None else None
        return None if i is None or area is None else (area, i)

    def get(self, name: str, default: Any = None) -> Any:
        slot = self._slot(name)
        if slot is not None:
            v = slot[0].read(slot[1])
            if v is not _MISSING:
                return default if v is None else v
        return dict.get(self, name, default)

    def __getitem__(self, name: str) -> Sample:
        v = self.get(name, _MISSING)
        if v is _MISSING:
            raise KeyError(name)
        return v

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name, _MISSING) is not _MISSING

    def __setitem__(self, name: str, value: Sample) -> None:
        dict.__setitem__(self, name, value)
        slot = self._slot(name)
        if slot is not None:
            slot[0].write(slot[1], value)

    def pop(self, name: str, default: Any = None) -> Any:
        cur = self.get(name, _MISSING)
        dict.pop(self, name, None)
        slot = self._slot(name)
        if slot is not None:
            slot[0].write(slot[1], None)
        return default if cur is _MISSING else cur

    def __delitem__(self, name: str) -> None:
        if self.pop(name, _MISSING) is _MISSING:
            raise KeyError(name)


def prepare(config: Any, workers: int) -> None:
    """In the master, before it forks ``workers`` workers: the area, when there are several and
    the configuration declares proc variables."""
    pv = getattr(config.global_, "proc_vars", None)
    AREA[0] = Area(sorted(pv.declared)) if workers > 1 and pv is not None and pv.declared else None


def attach() -> None:
    """In a worker, once its process scope is installed: read and write it through the area."""
    if AREA[0] is not None and type(PROC_VARS) is ProcVars:
        PROC_VARS.__class__ = SharedProcVars
