"""The peers sections' sockets and timer: the thin I/O around haproxy_py/stick/peersync.py.

Per section: a listener where the local peer listens (SO_REUSEPORT, so that a new process binds
it while the old one still runs: at reload, the old process connects there to teach the new
one), outgoing connections the state machine asks for (connect timeout 1 s, as 2.6's peers),
and a 100 ms timer for its sync task. Local table changes ask for a write on the next loop turn.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from typing import Any

from haproxy_py.stick.peersconf import listening_sections, shared_names
from haproxy_py.stick.peersync import Peer, Session, Sync

__all__ = ["PeersEngine", "start_peers"]

TICK = 0.1
CONNECT_TIMEOUT = 1.0
#: a refused connection is tried again this many times, 1 s apart (2.6's peers proxy: 3
#: retries, each after a 1 s turn-around)
CONNECT_RETRIES = 3
RETRY_DELAY = 1.0
#: a stopping process stops waiting for its local peer after this long (2.6 waits for ever,
#: bounded by hard-stop-after)
STOP_LIMIT = 10.0


class _Conn(asyncio.Protocol):
    def __init__(self, pe: PeersEngine, sync: Sync, session: Session | None) -> None:
        self.pe = pe
        self.sync = sync
        self.session = session
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.session is None:
            self.session = self.sync.accept(self.pe.now())
            sock = transport.get_extra_info("socket")
            try:
                src = sock.getpeername()[:2]
                dst = sock.getsockname()[:2]
            except (OSError, AttributeError):
                pass
            else:
                self.session.xprt = ("SSL" if transport.get_extra_info("sslcontext") else "RAW", src, dst)
        else:
            self.session.conn_state = "EST"
            self.sync.tcp_connected(self.session)
        self.pe.conns[self.session] = self
        self.pe.flush()

    def data_received(self, data: bytes) -> None:
        if self.session is not None:
            self.session.feed(data, self.pe.now())
            self.pe.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        s = self.session
        if s is not None:
            self.pe.conns.pop(s, None)
            s.eof()
            self.pe.flush()


def server_context(tls: Any) -> ssl.SSLContext:
    """The TLS context of a peers ``bind ... ssl``: its certificate, the peers' one checked
    with ``ca-file`` when ``verify`` asks (2.6's default on a bind: not asked)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls.crt)
    if tls.ca_file:
        ctx.load_verify_locations(tls.ca_file)
    ctx.verify_mode = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL}.get(tls.verify or "none",
                                                                                         ssl.CERT_NONE)
    return ctx


def client_context(tls: Any) -> ssl.SSLContext:
    """The TLS context towards a peer (``server``/``peer`` line ``ssl``): the peer's certificate
    checked against ``ca-file`` unless ``verify none`` (no host name check: 2.6 checks one only
    with ``verifyhost``), ``crt`` shown when the peer asks for one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if tls.verify == "none":
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_verify_locations(tls.ca_file)
        ctx.verify_mode = ssl.CERT_REQUIRED
    if tls.crt:
        ctx.load_cert_chain(tls.crt)
    return ctx


class PeersEngine:
    def __init__(self, engine: Any, syncs: list[tuple[Sync, tuple[str, int] | None]],
                 bind_tls: dict[Sync, Any] | None = None) -> None:
        self.engine = engine
        self.loop: asyncio.AbstractEventLoop = engine.loop
        self.syncs = syncs
        self.conns: dict[Session, _Conn] = {}
        self.servers: list[Any] = []
        self._timer: Any = None
        self._soon = False
        self._stop_deadline: float | None = None
        self._closed = False
        self._socks: dict[Sync, socket.socket] = {}
        self._server_ctx = {sync: server_context(t) for sync, t in (bind_tls or {}).items() if t is not None}
        self._client_ctx: dict[Any, ssl.SSLContext] = {}
        engine.state.peer_syncs = [sync for sync, _b in syncs]

    def now(self) -> int:
        return int(self.loop.time() * 1000)

    def prebind(self) -> None:
        """Listen at each local peer's address now (with the other listeners: before a
        replaced process is told to stop, so that it finds this one there, as in 2.6)."""
        for sync, bind in self.syncs:
            if bind is None or sync in self._socks:
                continue
            host, port = bind
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(fam, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if hasattr(socket, "SO_REUSEPORT"):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((host, port))
                sock.listen(64)
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
            self._socks[sync] = sock

    async def start(self) -> None:
        self.prebind()
        for sync, _bind in self.syncs:
            sync.on_local_change(self.soon)
            sock = self._socks.pop(sync, None)
            if sock is not None:
                ctx = self._server_ctx.get(sync)
                self.servers.append(await self.loop.create_server(
                    lambda sync=sync: _Conn(self, sync, None),
                    sock=sock, ssl=ctx, ssl_handshake_timeout=5.0 if ctx is not None else None))
        self._tick()

    def soon(self) -> None:
        if not self._soon:
            self._soon = True
            self.loop.call_soon(self._pump)

    def _pump(self) -> None:
        self._soon = False
        now = self.now()
        for s in list(self.conns):
            s.pump(now)
        self.flush()

    def flush(self) -> None:
        for s, c in list(self.conns.items()):
            data = s.take()
            t = c.transport
            if t is None:
                continue
            if data:
                t.write(data)
            if s.closed:
                self.conns.pop(s, None)
                t.close()

    def _tick(self) -> None:
        self._timer = None
        if self._closed:
            return
        now = self.now()
        for sync, _bind in self.syncs:
            for peer in sync.tick(now):
                self._connect(sync, peer, now)
        self.flush()
        if self._stop_deadline is not None and self.loop.time() >= self._stop_deadline:
            for sync, _bind in self.syncs:
                sync.donotstop = False
        if self.stopping and self.done:
            self.engine.stopped_check()
        self._timer = self.loop.call_later(TICK, self._tick)

    def _connect(self, sync: Sync, peer: Peer, now: int) -> None:
        s = sync.connect(peer, now)
        tls = peer.conf.tls
        ctx = None
        if tls is not None:
            ctx = self._client_ctx.get(tls)
            if ctx is None:
                ctx = self._client_ctx[tls] = client_context(tls)
        self.loop.create_task(self._open(sync, s, peer.conf.host, peer.conf.port,
                                         0 if peer.local else CONNECT_RETRIES, ctx))

    async def _open(self, sync: Sync, s: Session, host: str, port: int, retries: int,
                    ctx: ssl.SSLContext | None = None) -> None:
        kw: dict[str, Any] = {} if ctx is None else {"ssl": ctx, "server_hostname": "",
                                                     "ssl_handshake_timeout": CONNECT_TIMEOUT}
        for attempt in range(retries + 1):
            if s.closed or self._closed:
                return
            s.conn_state = "CON"
            try:
                await asyncio.wait_for(self.loop.create_connection(lambda: _Conn(self, sync, s), host, port, **kw),
                                       CONNECT_TIMEOUT * (2 if ctx is not None else 1))
                return
            except asyncio.TimeoutError:
                continue
            except OSError:
                if attempt < retries:
                    s.conn_state = "TAR"
                    await asyncio.sleep(RETRY_DELAY)
        s.close()

    # ------------------------------------------------------------------ stopping
    @property
    def stopping(self) -> bool:
        return self._stop_deadline is not None

    @property
    def done(self) -> bool:
        return all(sync.done for sync, _b in self.syncs)

    def stop(self) -> None:
        """Soft stop: stop listening, end the sessions, teach the local peer (the new process)."""
        if self.stopping:
            return
        self._stop_deadline = self.loop.time() + STOP_LIMIT
        for srv in self.servers:
            srv.close()
        self.servers = []
        now = self.now()
        for sync, _b in self.syncs:
            sync.stop(now)
        self.flush()

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for srv in self.servers:
            srv.close()
        for sock in self._socks.values():
            sock.close()
        self._socks.clear()
        for c in list(self.conns.values()):
            if c.transport is not None:
                c.transport.close()
        self.conns.clear()


def start_peers(engine: Any) -> PeersEngine | None:
    """The peers sections of ``engine.config`` that share a table and name this process."""
    config = engine.config
    tables = engine.state.tables
    now = int(engine.loop.time() * 1000)
    syncs = []
    bind_tls: dict[Sync, Any] = {}
    for sec in listening_sections(config):
        shared = [(tables[n], nid) for n, nid in shared_names(config, sec.name) if n in tables]
        if not shared:
            continue
        sync = Sync(sec.name, sec.local, sec.peers, shared, now, pid=os.getpid(),
                    old_process=bool(getattr(engine, "old_pids", False)))
        syncs.append((sync, sec.bind))
        bind_tls[sync] = sec.bind_tls
    if not syncs:
        return None
    return PeersEngine(engine, syncs, bind_tls)
