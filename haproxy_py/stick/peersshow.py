"""``show peers [dict|-] [SECTION]`` as HAProxy 2.6 prints it, pure: from the run-time peers
sections (stick/peersync.py ``Sync``), the time (ms, the sync's clock) and the wall clock of the
process start (2.6's section ``last_change``).

Per section, newest declared first (2.6's list): the section line (flags, resync timeout, the
sync task's calls), then each peer, last declared first: name, local or remote, whether a
session exists, address, last status, handshake age; reconnect and heartbeat timers and the
counters; the peer's flags, its session (applet state, TCP state, and for an accepted one the
transport and addresses); the tables the session last switched to (received and sent); each
shared table, last registered first, with the peer's update ids and the table's own. What
2.6 prints of its memory (``0x...``) is the address of the matching object here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .peersync import (
    SC_CONNECT,
    SC_CONNECTED,
    SC_ERRHOST,
    SC_ERRPEER,
    SC_ERRPROTO,
    SC_ERRVERSION,
    SC_SUCCESS,
    SC_TRYAGAIN,
    Peer,
    Sync,
    _Tx,
)

__all__ = ["show_peers", "human_time"]

_STATUS = {SC_CONNECT: "CONN", SC_CONNECTED: "HSHK", SC_SUCCESS: "ESTA", SC_TRYAGAIN: "RETR",
           SC_ERRPROTO: "PROT", SC_ERRVERSION: "VERS", SC_ERRHOST: "NAME", SC_ERRPEER: "UNKN"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def human_time(t: int) -> str:
    """2.6's human_time() of ``t`` seconds: two units at most (``1m3s``, ``2h``, ``0s``)."""
    if t < 0:
        return "?"
    out = ""
    cnt = 2
    if t >= 86400:
        out += f"{t // 86400}d"
        cnt -= 1
    if cnt and t % 86400 // 3600:
        out += f"{t % 86400 // 3600}h"
        cnt -= 1
    if cnt and t % 3600 // 60:
        out += f"{t % 3600 // 60}m"
        cnt -= 1
    if (cnt and t % 60) or not t:
        out += f"{t % 60}s"
    return out


def _timer(tick: int | None, now: int) -> str:
    """A timer as 2.6 shows one: <NEVER> unset, <PAST> expired, else the time left."""
    if tick is None:
        return "<NEVER>"
    if now >= tick:
        return "<PAST>"
    return human_time((tick - now) // 1000)


def _p(obj: Any) -> str:
    return hex(id(obj))


def _addr(a: tuple[str, int]) -> str:
    return f"{a[0]}:{a[1]}"


def _peer(sync: Sync, peer: Peer, now: int, dict_dump: bool) -> str:
    s = peer.session
    hdshk = human_time((now - peer.last_hdshk) // 1000) if peer.last_hdshk is not None else "<NEVER>"
    out = (f"  {_p(peer)}: id={peer.name}({'local' if peer.local else 'remote'},"
           f"{'active' if s is not None else 'inactive'}) addr={peer.conf.host}:{peer.conf.port} "
           f"last_status={_STATUS.get(peer.statuscode, 'NONE')} last_hdshk={hdshk}\n")
    out += (f"        reconnect={_timer(peer.reconnect, now)} heartbeat={_timer(peer.heartbeat, now)} "
            f"confirm={s.confirm if s is not None else 0} tx_hbt={peer.tx_hbt} rx_hbt={peer.rx_hbt} "
            f"no_hbt={peer.no_hbt} new_conn={peer.new_conn} proto_err={peer.proto_err} coll={peer.coll}\n")
    out += f"        flags={sync.peer_flags(peer):#x}"
    if s is not None:
        out += f" appctx:{_p(s)} st0={s.st0} st1=0 task_calls={sync.calls} state={s.conn_state}"
        if s.xprt is not None:
            name, src, dst = s.xprt
            out += f"\n        xprt={name} src={_addr(src)} addr={_addr(dst)}"
        cur = s.rx_cur
        if cur is not None and cur.shared is not None:
            st = cur.shared
            out += (f"\n        remote_table:{_p(s.tx.get(st.local_id))} id={st.table.name} "
                    f"local_id={st.local_id} remote_id={cur.d.id}")
        last = s.last_local
        if last is not None:
            tx = s.tx.get(last.local_id)
            out += (f"\n        last_local_table:{_p(tx)} id={last.table.name} local_id={last.local_id} "
                    f"remote_id={tx.remote_id if tx is not None else 0}")
    txs: dict[int, _Tx] = s.tx if s is not None and s.tx else peer.last_tx
    if sync.tables:
        out += "\n        shared tables:"
        for st in reversed(sync.tables):
            tx = txs.get(st.local_id) or _Tx()
            t = st.table
            out += (f"\n          {_p(tx)} local_id={st.local_id} remote_id={tx.remote_id} "
                    f"flags={_teach_flags(s, tx):#x} remote_data={tx.remote_data:#x}"
                    f"\n              last_acked={tx.last_acked} last_pushed={tx.last_pushed} "
                    f"last_get={tx.last_get} teaching_origin={tx.teaching_origin} "
                    f"update={peer.acked.get(st.local_id, 0)}"
                    f"\n              table:{_p(t)} id={t.name} update={st.update} localupdate={st.localupdate}"
                    f" commitupdate={st.commitupdate} refcnt=1")
            if dict_dump:
                out += _dcache(s.dcache if s is not None else None)
            else:
                out += '\n        Dictionary cache not dumped (use "show peers dict")'
    return out + "\n"


def _teach_flags(s: Any, tx: _Tx) -> int:
    """2.6's shared table flags: both teach stages done while a teach waits for its confirm."""
    if s is not None and s.teach and s.teach_finished:
        return 0x3
    return 0


def _dcache(dc: Any) -> str:
    out = "\n        TX dictionary cache:"
    slots = dc.tx_slots if dc is not None else []
    count = 0
    for i, v in enumerate(slots):
        if v is None:
            break
        if not count:
            out += "\n        "
        count += 1
        out += f"  {i:3d} -> {v}"
        count &= 3
    out += "\n        RX dictionary cache:"
    rx = dc.rx if dc is not None else {}
    count = 0
    for i in range(128):
        if not count:
            out += "\n        "
        count += 1
        out += f"  {i:3d} -> {rx.get(i + 1, '-')}"
        count &= 3
    return out


def _head(sync: Sync, now: int, started: float) -> str:
    tm = time.localtime(started)
    when = (f"[{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:"
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}]")
    return (f"{_p(sync)}: {when} id={sync.name} disabled=0 flags={sync.flags:#x} "
            f"resync_timeout={_timer(sync.resync_timeout, now)} task_calls={sync.calls}\n")


def show_peers(syncs: Iterable[Sync], args: list[str], now: int, started: float) -> str:
    """The reply to ``show peers`` followed by ``args`` (the words after it)."""
    secs = list(syncs)
    dict_dump = False
    if args and args[0] == "dict":
        dict_dump = True
        args = args[1:]
    elif args and args[0] == "-":
        args = args[1:]
    if args and args[0]:
        secs = [s for s in secs if s.name == args[0]][:1]
        if not secs:
            return "No such peers\n"
    out = []
    for sync in reversed(secs):
        text = _head(sync, now, started)
        for peer in reversed(sync.peers):
            text += _peer(sync, peer, now, dict_dump)
        out.append(text)
    return "\n".join(out)
