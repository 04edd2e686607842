"""Peers sessions as HAProxy 2.6 runs them, sans-IO: a state machine fed bytes and the time,
producing bytes, table changes and connection wishes. The engine (engine/peers.py) only moves the
bytes and calls :meth:`Sync.tick` on a timer.

* **handshake**: the connecting side sends ``HAProxyS 2.1``, the name it gives the remote peer
  and ``<its own name> <pid> <relative pid>``; the accepting side answers a status line: ``200``,
  ``300`` (try again: the local peer already has a session), ``501`` (protocol), ``502``
  (version), ``503`` (the remote does not call us by our name), ``504`` (unknown peer). A second
  session with a remote peer replaces the first (a collision);
* **pushes**: every local change of a shared entry gets the table's next update id; each session
  pushes, table by table (a definition first), the local changes after the last id that peer
  acknowledged (the receiver sets its own expiry); the receiving side acknowledges the last id it
  got. Entries learned from a peer are not pushed on, but are taught in a full resync, with the
  expiry each has left;
* **resync**: a process started to replace another (``-sf``) waits up to 5 s for the old one
  to teach it everything through the local peer; then (or at once) it asks one connected remote
  peer for a full resync (``resync request``), the peer teaching every entry then ``resync
  finished`` (or ``partial`` when itself not synced), confirmed; after 5 s with none, resync is
  over;
* **liveness**: a heartbeat every 3 s; a session that received nothing for two 5 s periods is
  killed and retried 50 ms to 2 s later; a peer is retried 5 s after a connection started;
* **reload**: the stopping process kills its sessions, connects to its local peer (the new
  process), teaches it everything, and may exit once the new one confirmed (or when it cannot be
  reached).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from . import peers as P
from .table import StickTable

__all__ = ["PeerConf", "Peer", "Shared", "Session", "Sync", "RESYNC_TIMEOUT", "RECONNECT_TIMEOUT",
           "HEARTBEAT_TIMEOUT"]

RESYNC_TIMEOUT = 5000
RECONNECT_TIMEOUT = 5000
HEARTBEAT_TIMEOUT = 3000
#: a stopping process tries its local peer again this often while nothing listens there, for
#: LOCAL_RETRY_FOR at most (with -W the new worker listens a moment after the old one was told
#: to stop; 2.6's new process listens before it tells the old one)
LOCAL_RETRY = 200
LOCAL_RETRY_FOR = 3000
#: how often the journals forget the keys their tables lost
TRIM_EVERY = 10000

SC_CONNECT, SC_CONNECTED, SC_SUCCESS, SC_TRYAGAIN = 100, 110, 200, 300
SC_ERRPROTO, SC_ERRVERSION, SC_ERRHOST, SC_ERRPEER = 501, 502, 503, 504

#: the longest hello line accepted
MAX_LINE = 1024
#: the largest message accepted (2.6's trash buffer)
MAX_MSG = 16384

#: 2.6's section flags (PEERS_F_*), as ``show peers`` prints them
F_RESYNC_LOCAL, F_RESYNC_REMOTE, F_RESYNC_ASSIGN, F_RESYNC_PROCESS = 0x1, 0x2, 0x4, 0x8
F_LOCALTIMEOUT, F_REMOTETIMEOUT, F_LOCALABORT, F_REMOTEABORT = 0x10, 0x20, 0x40, 0x80
F_LOCALFINISHED, F_REMOTEFINISHED, F_LOCALPARTIAL, F_REMOTEPARTIAL = 0x100, 0x200, 0x400, 0x800
F_LOCALASSIGN, F_REMOTEASSIGN, F_REQUESTED, F_DONOTSTOP = 0x1000, 0x2000, 0x4000, 0x10000
#: and a peer's (PEER_F_*)
PF_TEACH_PROCESS, PF_TEACH_FINISHED, PF_TEACH_COMPLETE = 0x1, 0x8, 0x10
PF_LEARN_ASSIGN, PF_LEARN_NOTUP2DATE, PF_ALIVE, PF_HEARTBEAT = 0x100, 0x200, 0x20000000, 0x40000000
_U32 = 0xFFFFFFFF


def _ge(a: int, b: int) -> bool:
    """``(int)(a - b) >= 0`` on 32-bit update ids, as 2.6 compares them."""
    return ((a - b) & _U32) < 0x80000000


@dataclass(frozen=True)
class PeerConf:
    name: str
    host: str
    port: int
    local: bool = False
    #: TLS towards this peer (stick/peersconf.py PeerTls), None for plain TCP
    tls: Any = None


class Shared:
    """A stick table as a peers section shares it: its network name (``nid``), the id it has
    in this process's definitions, and the journal of changed entries in update order."""

    def __init__(self, table: StickTable, nid: str, local_id: int) -> None:
        self.table = table
        self.nid = nid
        self.local_id = local_id
        #: the last update id given (local or learned), the last local one, the highest one
        #: pushed to a peer as an incremental update (2.6's t->update, localupdate, commitupdate)
        self.update = 0
        self.localupdate = 0
        self.commitupdate = 0
        #: key -> (update id, changed locally), oldest first
        self.journal: dict[Any, tuple[int, bool]] = {}
        self.on_local: Any = None
        #: with several workers (stick/share.py, engine/tableshare.py), in the worker speaking
        #: for them: ``merged(e, now)`` the entry with every worker's data (what is sent),
        #: ``on_learned(e, types, now)`` told of an entry a peer wrote (types: the data it sent)
        self.merged: Any = None
        self.on_learned: Any = None

    def mark(self, key: Any, local: bool) -> None:
        """2.6's stktable_touch: a local change gives the entry the next id unless it already
        waits, not pushed yet, behind newer ones; a learned entry gets an id (the next one,
        plus 2^31) only the first time."""
        j = self.journal
        old = j.get(key)
        if local:
            if old is None or _ge(self.commitupdate, old[0]) or _ge(old[0], self.localupdate):
                self.update = (self.update + 1) & _U32
                self.localupdate = self.update
                j.pop(key, None)
                j[key] = (self.update, True)
            if self.on_local is not None:
                self.on_local()
        elif old is None:
            self.update = (self.update + 1) & _U32
            j[key] = ((self.update + 0x80000000) & _U32, False)

    def since(self, last: int) -> list[tuple[int, Any]]:
        """(id, entry) of the local changes after id ``last``, oldest first."""
        out = []
        entries = self.table.entries
        for key, (uid, local) in reversed(self.journal.items()):
            if uid <= last:
                break
            if local:
                e = entries.get(key)
                if e is not None:
                    out.append((uid, e))
        out.reverse()
        return out

    def everything(self) -> list[tuple[int, Any]]:
        """(id, entry) of every entry of the journal still in the table (a teach), oldest first."""
        entries = self.table.entries
        out = []
        gone = []
        for key, (uid, _local) in self.journal.items():
            e = entries.get(key)
            if e is None:
                gone.append(key)
            else:
                out.append((uid, e))
        for key in gone:
            del self.journal[key]
        return out

    def trim(self, now: int) -> None:
        """Forget the keys the table no longer has (expired, evicted, cleared), once they
        outnumber the live ones: the journal stays about the size of the table."""
        self.table.purge(now)
        entries = self.table.entries
        if len(self.journal) > 2 * len(entries) + 100:
            self.journal = {k: v for k, v in self.journal.items() if k in entries}

    def attach(self) -> None:
        """Record every local change of the table: its ``touch`` (what each write of a track,
        a rule, ``set table``, a stick store calls) marks the entry; remote updates go through
        the class's own touch (peers.apply_update_entry)."""
        t = self.table
        plain = t.touch  # the table's own, or the workers' sharing (stick/share.py) wrapping it
        mark = self.mark

        def touch(e: Any, now: int) -> None:
            plain(e, now)
            mark(e.key, True)

        t.touch = touch  # type: ignore[method-assign]


class Peer:
    """What the section knows of one peer across its sessions."""

    def __init__(self, conf: PeerConf) -> None:
        self.conf = conf
        self.name = conf.name
        self.local = conf.local
        self.session: Session | None = None
        self.statuscode = 0
        self.reconnect: int | None = None
        self.heartbeat: int | None = None
        self.alive = False
        self.last_hdshk: int | None = None
        #: per local table id: the last update id this peer acknowledged (2.6's st->update)
        self.acked: dict[int, int] = {}
        #: the per-table state of the last session (2.6 keeps it in the peer)
        self.last_tx: dict[int, _Tx] = {}
        self.notup2date = False
        self.teach_complete = False
        self.new_conn = self.tx_hbt = self.rx_hbt = self.no_hbt = self.proto_err = self.coll = 0


@dataclass
class _Rx:
    """A table as the remote peer defined it in this session."""

    d: P.TableDef
    shared: Shared | None


@dataclass
class _Tx:
    """Per local table in one session: pushes and acknowledgements."""

    last_pushed: int = 0
    teaching_origin: int = 0
    #: the remote's definition id for this table and the last update id got / acknowledged
    remote_id: int = 0
    last_get: int = 0
    last_acked: int = 0
    #: the data types of the remote's definition (a bit per type)
    remote_data: int = 0


class Session:
    """One TCP connection with a peer. ``feed`` the bytes received, ``take`` those to send;
    ``closed`` once it is over (``peer.statuscode`` says how)."""

    def __init__(self, sync: Sync, peer: Peer | None, outgoing: bool, now: int) -> None:
        self.sync = sync
        self.peer = peer
        self.outgoing = outgoing
        self.inbuf = bytearray()
        self.out = bytearray()
        self.closed = False
        self.established = False
        self.state = "getstatus" if outgoing else "getversion"
        self.tx: dict[int, _Tx] = {}
        self.rx: dict[int, _Rx] = {}
        self.rx_cur: _Rx | None = None
        self.last_local: Shared | None = None
        self.teach = False
        self.teach_finished = False
        #: none | assigned | processing (2.6's learn states; finished is none again at once)
        self.learn = "none"
        self.confirm = 0
        self.hb = False
        self.dcache = P.DictCache()
        #: the TCP side as ``show peers`` says it: CON (connecting), TAR (waiting to retry), EST;
        #: and for an accepted one (transport, source address, local address)
        self.conn_state = "CON" if outgoing else "EST"
        self.xprt: tuple[str, tuple[str, int], tuple[str, int]] | None = None
        if outgoing:
            assert peer is not None
            self.out += P.hello(peer.name, sync.local_name, sync.pid)

    # ------------------------------------------------------------------ input
    def take(self) -> bytes:
        b = bytes(self.out)
        self.out.clear()
        return b

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.sync.session_closed(self)

    def _fail(self, code: int) -> None:
        """Refuse the hello with ``code`` (accepting side), then close."""
        self.out += f"{code}\n".encode()
        self.close()

    def _line(self) -> bytes | None:
        i = self.inbuf.find(b"\n")
        if i < 0:
            if len(self.inbuf) > MAX_LINE:
                self._fail(SC_ERRPROTO)
            return None
        line = bytes(self.inbuf[:i])
        del self.inbuf[:i + 1]
        return line

    def eof(self) -> None:
        """The other side closed."""
        self.close()

    def feed(self, data: bytes, now: int) -> None:
        if self.closed:
            return
        self.inbuf += data
        while not self.closed and self.state != "waitmsg":
            line = self._line()
            if line is None:
                return
            self._hello_line(line, now)
        if self.state == "waitmsg" and not self.closed:
            try:
                msgs, rest = P.parse_messages(bytes(self.inbuf))
            except P.PeersError:
                self._proto_error()
                return
            if not msgs and len(rest) > MAX_MSG + 8:
                self._size_error()
                return
            self.inbuf = bytearray(rest)
            for m in msgs:
                if self.closed:
                    return
                self._message(m, now)
            if not self.closed:
                self.pump(now)

    def _hello_line(self, line: bytes, now: int) -> None:
        sync = self.sync
        if self.state == "getstatus":
            peer = self.peer
            assert peer is not None
            try:
                code = int(line.split()[0]) if line.split() else 0
            except ValueError:
                code = 0
            peer.statuscode = code
            peer.last_hdshk = now
            if code != SC_SUCCESS:
                self.close()
                return
            self._connected(now)
            return
        text = line.decode("latin-1")
        if self.state == "getversion":
            if not text.startswith("HAProxyS "):
                self._fail(SC_ERRPROTO)
                return
            maj, _, mnr = text[9:].partition(".")
            if not (maj.isdigit() and mnr.isdigit()) or int(maj) != 2 or int(mnr) > 1:
                self._fail(SC_ERRVERSION)
                return
            self.state = "gethost"
        elif self.state == "gethost":
            if text != sync.local_name:
                self._fail(SC_ERRHOST)
                return
            self.state = "getpeer"
        elif self.state == "getpeer":
            name, sp, _rest = text.partition(" ")
            if not sp:
                self._fail(SC_ERRPROTO)
                return
            peer = sync.by_name.get(name)
            if peer is None:
                self._fail(SC_ERRPEER)
                return
            old = peer.session
            if old is not None and old is not self:
                if peer.local:
                    self._fail(SC_TRYAGAIN)
                    return
                # a collision: this session replaces the other one, tried again after a while
                peer.reconnect = now + 50 + sync.rand(2000)
                peer.heartbeat = None
                peer.coll += 1
                old.peer = None
                old.close()
            peer.session = self
            peer.alive = True
            self.peer = peer
            sync.sessions.add(self)
            self.out += b"200\n"
            peer.statuscode = SC_SUCCESS
            peer.last_hdshk = now
            self._connected(now)

    @property
    def st0(self) -> int:
        """2.6's applet state number (PEER_SESS_ST_*)."""
        return {"getversion": 1, "gethost": 2, "getpeer": 3, "getstatus": 6, "waitmsg": 7}[self.state]

    def _connected(self, now: int) -> None:
        """2.6's init_connected_peer."""
        peer = self.peer
        assert peer is not None
        peer.heartbeat = now + HEARTBEAT_TIMEOUT
        if peer.reconnect is None:
            peer.reconnect = now
        for st in self.sync.tables:
            acked = peer.acked.get(st.local_id, 0)
            if st.localupdate < acked:  # a stale acknowledgement: 2.6 pushes from far back
                acked = 0
            self.tx[st.local_id] = _Tx(last_pushed=acked, teaching_origin=acked)
        self.confirm = 0
        self.teach = peer.local and self.outgoing
        self.teach_finished = False
        self.state = "waitmsg"
        self.established = True
        self.sync.established(self, now)

    # ------------------------------------------------------------------ messages
    def _proto_error(self) -> None:
        if self.peer is not None:
            self.peer.proto_err += 1
        self.out += P.msg(P.ERROR, 0)
        self.close()

    def _size_error(self) -> None:
        self.out += P.msg(P.ERROR, 1)
        self.close()

    def _message(self, m: P.Message, now: int) -> None:
        peer = self.peer
        assert peer is not None
        peer.alive = True
        sync = self.sync
        if m.cls == P.CTRL:
            if m.type == P.RESYNC_REQ:
                sync.hist |= F_REQUESTED
                for lid, tx in self.tx.items():
                    tx.teaching_origin = tx.last_pushed = peer.acked.get(lid, 0)
                self.teach = True
                self.teach_finished = False
            elif m.type in (P.RESYNC_FINISHED, P.RESYNC_PARTIAL):
                if self.learn == "processing":
                    self.learn = "none"  # 2.6's sync task takes the lesson and unassigns the peer
                    sync.learned(self, m.type == P.RESYNC_FINISHED, now)
                self.confirm += 1
            elif m.type == P.RESYNC_CONFIRM:
                if sync.stopping:
                    peer.teach_complete = True
                    self.close()
                    return
                for lid, tx in self.tx.items():
                    tx.last_pushed = tx.teaching_origin
                    peer.acked[lid] = tx.teaching_origin
                self.teach = False
                self.teach_finished = False
            elif m.type == P.HEARTBEAT:
                peer.reconnect = now + RECONNECT_TIMEOUT
                peer.rx_hbt += 1
            return
        if m.cls == 255:
            self._proto_error()
            return
        if m.cls != P.STKT:
            return
        try:
            if m.type == P.DEFINE:
                self._define(m.payload)
            elif m.type == P.SWITCH:
                tid, _p = P.decode_int(m.payload, 0)
                self.rx_cur = self.rx.get(tid)
            elif m.type in (P.UPDATE, P.INCUPDATE, P.UPDATE_TIMED, P.INCUPDATE_TIMED):
                cur = self.rx_cur
                if cur is None or cur.shared is None:
                    return
                st = cur.shared
                tx = self.tx[st.local_id]
                uid, e = P.apply_update_entry(st.table, cur.d, m, tx.last_get, now, self.dcache)
                tx.last_get = uid
                tx.remote_id = cur.d.id
                if e is not None:
                    st.mark(e.key, False)
                    if st.on_learned is not None:
                        st.on_learned(e, cur.d.types, now)
            elif m.type == P.ACK:
                if self.teach:
                    return
                tid, p = P.decode_int(m.payload, 0)
                if p + 4 > len(m.payload):
                    raise P.PeersError("truncated ack")
                upd = int.from_bytes(m.payload[p:p + 4], "big")
                if tid in self.tx:
                    peer.acked[tid] = upd
        except (P.PeersError, IndexError, ValueError):
            self._proto_error()

    def _define(self, payload: bytes) -> None:
        d = P.decode_definition(payload)
        for r in self.rx.values():
            if r.d.id == d.id:
                r.shared = None
        self.rx_cur = None
        st = next((s for s in self.sync.tables if s.nid == d.name), None)
        if st is None:
            return
        t = st.table
        want_len = t.key_len + 1 if t.type == "string" else t.key_len
        if d.key_type != t.type or d.key_len != want_len:
            return
        self.rx[d.id] = self.rx_cur = _Rx(d, st)
        tx = self.tx[st.local_id]
        tx.remote_id = d.id
        tx.remote_data = sum(1 << P.ORDER[n] for n in d.types if n in P.ORDER)

    # ------------------------------------------------------------------ output
    def _switch(self, st: Shared) -> None:
        if self.last_local is not st:
            self.out += P.encode_definition(st.table, st.local_id, st.nid)
            self.last_local = st

    def _push(self, st: Shared, tx: _Tx, items: list[tuple[int, Any]], now: int, timed: bool) -> None:
        """Updates of ``items``: the first of a batch with its id, then incremental ones while
        ids follow each other; ``timed`` (with the expiry left) in a teach, as 2.6."""
        t = st.table
        prev = -1
        merged = st.merged
        for uid, e in items:
            if merged is not None:
                e = merged(e, now)
            self._switch(st)
            self.out += P.encode_update(t, e, uid, now, timed=timed, incremental=uid == prev + 1,
                                        dcache=self.dcache)
            prev = uid
            tx.last_pushed = uid
            if not timed and not _ge(st.commitupdate, uid):
                st.commitupdate = uid

    def pump(self, now: int) -> None:
        """Write what is due: heartbeat, resync request, acknowledgements, pushes, teach,
        finished, confirms (2.6's peer_send_msgs)."""
        if self.closed or not self.established:
            return
        peer = self.peer
        assert peer is not None
        if self.hb:
            self.hb = False
            self.out += P.msg(P.CTRL, P.HEARTBEAT)
            peer.tx_hbt += 1
        if self.learn == "assigned":
            if not peer.local:
                self.out += P.msg(P.CTRL, P.RESYNC_REQ)
            self.learn = "processing"
        for st in self.sync.tables:
            tx = self.tx[st.local_id]
            if tx.last_get != tx.last_acked:
                self.out += P.msg(P.STKT, P.ACK, P.encode_int(tx.remote_id) +
                                  (tx.last_get & 0xFFFFFFFF).to_bytes(4, "big"))
                tx.last_acked = tx.last_get
            if not self.teach:
                if self.learn == "none" and tx.last_pushed != st.localupdate:
                    self._push(st, tx, st.since(tx.last_pushed), now, False)
                    tx.last_pushed = st.localupdate
            elif not self.teach_finished:
                self._switch(st)  # 2.6 announces every table it teaches, an empty one too
                self._push(st, tx, st.everything(), now, True)
        if self.teach and not self.teach_finished:
            self.out += P.msg(P.CTRL, P.RESYNC_FINISHED if self.sync.synced() else P.RESYNC_PARTIAL)
            self.teach_finished = True
        while self.confirm:
            self.out += P.msg(P.CTRL, P.RESYNC_CONFIRM)
            self.confirm -= 1


class Sync:
    """A ``peers`` section at run time: its peers, its shared tables and the resync state."""

    def __init__(self, name: str, local_name: str, peers: list[PeerConf], tables: list[tuple[StickTable, str]],
                 now: int, *, pid: int = 0, old_process: bool = False, rand: Any = None) -> None:
        self.name = name
        self.local_name = local_name
        self.pid = pid
        self.peers = [Peer(c) for c in peers]
        self.by_name = {p.name: p for p in self.peers}
        self.local = next((p for p in self.peers if p.local), None)
        self.tables: list[Shared] = []
        for i, (t, nid) in enumerate(tables, 1):
            st = Shared(t, nid, i)
            st.attach()
            self.tables.append(st)
        self.sessions: set[Session] = set()
        #: resync: from the old process (through the local peer), then from a remote one
        self.local_done = not old_process
        self.remote_done = False
        #: what happened to the resync so far (2.6's PEERS_F_* bits that only ever get set)
        self.hist = 0 if old_process else F_LOCALTIMEOUT
        #: the sync task's runs (2.6's task_calls)
        self.calls = 0
        self.assigned: Peer | None = None
        self.resync_timeout = now + RESYNC_TIMEOUT
        self.stopping = False
        self._next_trim = now + TRIM_EVERY
        self.stop_started = 0
        #: the stopping process still has to teach the new one (2.6's DONOTSTOP)
        self.donotstop = False
        self.rand = rand or (lambda n: random.randrange(n))

    def on_local_change(self, cb: Any) -> None:
        for st in self.tables:
            st.on_local = cb

    def synced(self) -> bool:
        return self.local_done and self.remote_done

    @property
    def flags(self) -> int:
        """2.6's PEERS_F_* word of the section."""
        f = self.hist
        if self.local_done:
            f |= F_RESYNC_LOCAL
        if self.remote_done:
            f |= F_RESYNC_REMOTE
        a = self.assigned
        if a is not None:
            f |= F_RESYNC_ASSIGN
            if a.session is not None and a.session.learn == "processing":
                f |= F_RESYNC_PROCESS
        if self.donotstop:
            f |= F_DONOTSTOP
        return f

    def peer_flags(self, p: Peer) -> int:
        """2.6's PEER_F_* word of a peer."""
        f = 0
        s = p.session
        if s is not None:
            if s.teach:
                f |= PF_TEACH_PROCESS
            if s.teach_finished:
                f |= PF_TEACH_FINISHED
            if s.learn != "none":
                f |= PF_LEARN_ASSIGN
            if s.hb:
                f |= PF_HEARTBEAT
        if p.teach_complete:
            f |= PF_TEACH_COMPLETE
        if p.notup2date:
            f |= PF_LEARN_NOTUP2DATE
        if p.alive:
            f |= PF_ALIVE
        return f

    # ------------------------------------------------------------------ sessions
    def connect(self, peer: Peer, now: int) -> Session:
        """A new outgoing session: the engine connects it to ``peer.conf`` and sends ``take()``."""
        s = Session(self, peer, True, now)
        peer.session = s
        peer.new_conn += 1
        peer.statuscode = SC_CONNECT
        peer.last_hdshk = now
        peer.heartbeat = None
        peer.reconnect = now + (LOCAL_RETRY if self.stopping and peer.local else RECONNECT_TIMEOUT)
        peer.teach_complete = False
        self.sessions.add(s)
        return s

    def accept(self, now: int) -> Session:
        """A new incoming session (the peer is known after its hello)."""
        return Session(self, None, False, now)

    def tcp_connected(self, s: Session) -> None:
        if s.peer is not None and s.peer.session is s and s.peer.statuscode == SC_CONNECT:
            s.peer.statuscode = SC_CONNECTED

    def session_closed(self, s: Session) -> None:
        self.sessions.discard(s)
        peer = s.peer
        if peer is None or peer.session is not s:
            return
        peer.session = None
        if s.tx:
            peer.last_tx = s.tx
        if self.assigned is peer:
            self.assigned = None
            self.hist |= F_LOCALABORT if peer.local else F_REMOTEABORT
        if s.established:
            peer.heartbeat = None
        # 2.6's release: no longer alive, learning flags reset
        peer.alive = False
        peer.notup2date = False

    def established(self, s: Session, now: int) -> None:
        self.sessions.add(s)
        self._assign(now)

    def learned(self, s: Session, full: bool, now: int) -> None:
        peer = s.peer
        assert peer is not None
        if self.assigned is peer:
            self.assigned = None
        if peer.local:
            self.hist |= F_LOCALFINISHED if full else F_LOCALPARTIAL
            self.local_done = True
            if full:
                self.remote_done = True
        elif full:
            self.hist |= F_REMOTEFINISHED
            self.remote_done = True
        else:
            self.hist |= F_REMOTEPARTIAL
            peer.notup2date = True
            self.resync_timeout = now + RESYNC_TIMEOUT
        self._assign(now)

    def _assign(self, now: int) -> None:
        if self.stopping or self.assigned is not None:
            return
        if not self.local_done:
            p = self.local
            if p is not None and p.session is not None and p.session.established and not p.session.outgoing:
                self.assigned = p
                p.session.learn = "assigned"
                self.hist |= F_LOCALASSIGN
            return
        if self.remote_done:
            return
        for p in self.peers:
            s = p.session
            if not p.local and s is not None and s.established and not p.notup2date:
                self.assigned = p
                s.learn = "assigned"
                self.hist |= F_REMOTEASSIGN
                return

    # ------------------------------------------------------------------ the timer
    def tick(self, now: int) -> list[Peer]:
        """2.6's sync task, as of ``now``: the peers to connect to now. Sessions it kills are
        closed (``Session.closed``); the engine then sends every session's ``take()``."""
        todo: list[Peer] = []
        self.calls += 1
        if now >= self._next_trim:
            self._next_trim = now + TRIM_EVERY
            for st in self.tables:
                st.trim(now)
        if not self.stopping:
            if not self.local_done and now >= self.resync_timeout and self.assigned is None:
                self.local_done = True
                self.hist |= F_LOCALTIMEOUT
                self.resync_timeout = now + RESYNC_TIMEOUT
            for p in self.peers:
                if p.local:
                    continue
                s = p.session
                if s is None:
                    if p.statuscode == 0 or p.reconnect is None or now >= p.reconnect:
                        todo.append(p)
                elif s.established:
                    self._liveness(p, s, now)
            self._assign(now)
            if self.local_done and not self.remote_done and self.assigned is None and now >= self.resync_timeout:
                self.hist |= F_REMOTETIMEOUT
                self.remote_done = True
        else:
            lp = self.local
            if lp is None or not self.donotstop:
                pass
            elif lp.teach_complete:
                self.donotstop = False
            elif lp.session is None:
                if lp.statuscode in (0, SC_SUCCESS, SC_CONNECTED, SC_TRYAGAIN):
                    todo.append(lp)
                elif lp.statuscode == SC_CONNECT and now < self.stop_started + LOCAL_RETRY_FOR:
                    if lp.reconnect is None or now >= lp.reconnect:
                        todo.append(lp)
                else:
                    self.donotstop = False
            elif lp.session.established:
                self._liveness(lp, lp.session, now)
        for s in list(self.sessions):
            if not s.closed:
                s.pump(now)
        return todo

    def _liveness(self, p: Peer, s: Session, now: int) -> None:
        if p.reconnect is not None and now >= p.reconnect:
            if p.alive:
                p.alive = False
                p.reconnect = now + RECONNECT_TIMEOUT
            else:
                p.reconnect = now + 50 + self.rand(2000)
                p.heartbeat = None
                p.no_hbt += 1
                s.close()
        elif p.heartbeat is not None and now >= p.heartbeat:
            p.heartbeat = now + HEARTBEAT_TIMEOUT
            s.hb = True

    def stop(self, now: int) -> None:
        """The soft stop (a reload): sessions end; the local peer is to be taught."""
        if self.stopping:
            return
        self.stopping = True
        self.stop_started = now
        self.donotstop = self.local is not None and bool(self.tables)
        for p in self.peers:
            p.reconnect = now + 50 + self.rand(2000)
            if p.session is not None:
                p.session.close()
        if self.local is not None:
            self.local.statuscode = 0

    @property
    def done(self) -> bool:
        """Nothing keeps a stopping process alive any more."""
        return self.stopping and not self.donotstop
