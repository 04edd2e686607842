"""Running the proxy as a process (or a master and N workers): the ``run()`` behind the CLI.

One process (default): fetch sockets/state from an old process (``-x``), bind every listener and
stats socket, load the server state, then ``process.before_loop`` (daemon, pidfile, ``-sf``/``-st``,
privileges) and serve until a signal stops it:

=========  ==============================================================================
SIGUSR1    soft stop: close the listeners, let sessions end, exit 0 (``hard-stop-after``)
SIGTERM    hard stop: kill every session and exit 0;  SIGINT: same
SIGTTOU    pause the listeners (connections wait in the kernel backlog);  SIGTTIN: resume
SIGHUP     print each server's state (HAProxy's lines) on stderr and to the logs
=========  ==============================================================================

Several workers (``nbthread N`` / ``nbproc N``, N > 1) or master-worker mode (``-W``,
``master-worker``): see ``run_master`` below and the README section "Workers".
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import pickle
import signal
import socket
import struct
import sys
import time
from collections.abc import Iterator
from typing import Any

from haproxy_py import process
from haproxy_py.config.model import Config
from haproxy_py.engine import reload
from haproxy_py.engine.listener import BindError
from haproxy_py.engine.loop import Engine, alert, new_event_loop, warning, worker_count
from haproxy_py.engine.programs import PROGRAMS_ENV, Programs, exit_text
from haproxy_py.runtime.counters import Counters, FreqCtr, TimeAvg


def run(config: Config, options: Any) -> int:
    """What ``haproxy-py -f CFG`` runs. Returns the exit code."""
    rc = process.apply_fd_limits(config)
    if rc is not None:
        return rc
    if worker_count(config) > 1 or getattr(options, "master_worker", False) or config.global_.master_worker:
        return run_master(config, options)
    return run_single(config, options)


# ------------------------------------------------------------------------------------ one process


def carried_state(config: Config, options: Any, quiet: bool) -> tuple[Any, list[dict[str, Any]] | None, bool]:
    """(inherited sockets, carried server states, exact) from the old process, before binding."""
    path = getattr(options, "expose_socket", None)
    inherited = None
    items: list[dict[str, Any]] | None = None
    exact = True
    if path:
        try:
            inherited = reload.fetch_listeners(path)
        except (OSError, ConnectionError, ValueError) as e:
            alert(f"Failed to get the sockets from the old process! ({e})", quiet)
            raise SystemExit(1) from None
        try:
            items = reload.fetch_state(path)
        except (OSError, ConnectionError, ValueError):
            items = None
    elif getattr(options, "sf_pids", None) or getattr(options, "st_pids", None):
        # -sf/-st without -x: ask the old process through the stats socket the new config names
        for sc in config.global_.stats_sockets:
            if sc.address.kind != "unix" or not os.path.exists(sc.address.path):
                continue
            try:
                items = reload.fetch_state(sc.address.path, timeout=2.0)
                break
            except (OSError, ConnectionError, ValueError):
                pass
            try:
                items = reload.parse_servers_state(_cli_query(sc.address.path, "show servers state"))
                exact = False
                break
            except OSError:
                pass
    return inherited, items, exact


def _cli_query(path: str, line: str, timeout: float = 2.0) -> str:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode("latin-1")


def prebind_stats(engine: Engine, quiet: bool) -> int | None:
    """Open every stats socket now (before the fork and the privilege drop)."""
    from haproxy_py.engine.stats_socket import StatsSocketServer

    servers: list[StatsSocketServer] = []
    for conf in engine.config.global_.stats_sockets:
        srv = StatsSocketServer(engine.state, conf, engine.loop)
        try:
            srv.prebind()
        except OSError as e:
            ad = conf.address
            where = ad.path if ad.kind == "unix" else f"{ad.host}:{ad.port_lo}"
            kind = "UNIX" if ad.kind == "unix" else "TCP"
            alert(f"Starting proxy GLOBAL: cannot bind {kind} socket ({e.strerror}) [{where}]", quiet)
            for s in servers:
                if s.sock is not None:
                    s.sock.close()
            return 1
        if conf.expose_fd_listeners:
            srv.fd_passing = reload.make_handler(engine)
        servers.append(srv)
    engine.stats_servers = servers
    return None


def apply_startup_state(engine: Engine, items: list[dict[str, Any]] | None, exact: bool) -> None:
    now = engine.loop.time()
    wall = time.time()
    reload.load_state_file(engine.state, now, wall)
    if items:
        reload.apply_state(engine.state, items, now, wall, exact=exact)


HANDLED_SIGNALS = (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT, signal.SIGTTOU, signal.SIGTTIN, signal.SIGHUP)


MASTER_SIGNALS = (*HANDLED_SIGNALS, signal.SIGUSR2)


def install_signals(engine: Engine, loop: asyncio.AbstractEventLoop) -> tuple[list[int], Any]:
    """Handlers for every signal, installed before binding (a signal arriving before the engine
    serves is applied once it does). Returns (fatal, go): ``fatal`` receives the signal of a hard
    stop (HAProxy 2.6 then dies by that signal: status 128+N for the shell); call ``go()`` once
    the engine is started."""
    fatal: list[int] = []
    started = [False]
    pending: list[Any] = []

    def deliver(fn: Any) -> None:
        if started[0]:
            fn()
        else:
            pending.append(fn)

    def hard(sig: int) -> None:
        if not fatal:
            fatal.append(sig)
        deliver(engine.hard_stop)

    def go() -> None:
        started[0] = True
        loop.call_soon(signal.pthread_sigmask, signal.SIG_UNBLOCK, HANDLED_SIGNALS)
        for fn in pending:
            fn()
        pending.clear()

    # blocked until the loop serves: a signal received meanwhile stays pending in the kernel
    # (some loops lose signals that arrive before they first run)
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    loop.add_signal_handler(signal.SIGUSR1, deliver, engine.soft_stop)
    loop.add_signal_handler(signal.SIGTERM, hard, signal.SIGTERM)
    loop.add_signal_handler(signal.SIGINT, hard, signal.SIGINT)
    loop.add_signal_handler(signal.SIGTTOU, deliver, lambda: process.pause_listeners(engine))
    loop.add_signal_handler(signal.SIGTTIN, deliver, lambda: process.resume_listeners(engine))
    loop.add_signal_handler(signal.SIGHUP, deliver, lambda: process.dump_servers_state(engine))
    return fatal, go


def die_by(sig: int) -> None:
    """Leave as HAProxy does after SIGTERM/SIGINT: killed by the signal."""
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
    os.kill(os.getpid(), sig)



def bind_and_prepare(engine: Any, inherited: Any, items: Any, exact: bool, quiet: bool) -> int | None:
    """Bind every listener (inherited sockets first), the stats sockets, and apply the server
    state carried from an old process. Returns an exit code to stop with, or None."""
    try:
        engine.bind_all()
    except BindError as e:
        for line in str(e).split("\n"):
            alert(line, quiet)
        alert(f"[{process.PROGRAM}.main()] Some protocols failed to start their listeners! Exiting.", quiet)
        return 1
    finally:
        if inherited is not None:
            inherited.close_unused()
    if not engine.listeners and not engine.config.global_.stats_sockets and not _peers_listen(engine.config) \
            and engine.logfwd is None:
        # as 2.6: a stats socket is a listener (a backends-only process runs its health checks),
        # so is a local peer sharing tables
        alert(f"[{process.PROGRAM}.main()] No enabled listener found (check for 'bind' directives) ! Exiting.",
              quiet)
        return 1
    rc = prebind_stats(engine, quiet)
    if rc is not None:
        return rc
    apply_startup_state(engine, items, exact)
    return None

def _peers_listen(config: Config) -> bool:
    if not any(s.kind == "peers" for s in config.other_sections):
        return False
    from haproxy_py.engine.peers import listening_sections

    return bool(listening_sections(config))


def freeze_startup_heap() -> None:
    """Once the engine is ready to serve: what the configuration and the engine made so far lives as
    long as the process (a reload is a new process), so it leaves the cyclic collector's sight
    (``gc.freeze``, after a collection so no garbage is kept). A full collection during traffic then
    scans only what traffic made: the realistic bench configuration's ~42,000 startup objects made
    each gen2 collection a 15-20 ms pause of the loop."""
    gc.collect()
    gc.freeze()


def run_single(config: Config, options: Any) -> int:
    quiet = bool(getattr(options, "quiet", False))
    try:
        inherited, items, exact = carried_state(config, options, quiet)
    except SystemExit as e:
        return int(e.code or 1)
    loop, loop_name = new_event_loop()
    asyncio.set_event_loop(loop)
    engine: Engine | None = None
    try:
        engine = Engine(config, loop, loop_name=loop_name, quiet=quiet)
        engine.inherited = inherited
        engine.old_pids = bool(getattr(options, "sf_pids", None))
        engine.on_stopped = loop.create_future()
        fatal, go = install_signals(engine, loop)
        rc = bind_and_prepare(engine, inherited, items, exact, quiet)
        if rc is not None:
            return rc
        rc = process.before_loop(config, options, engine)
        if rc is not None:
            return rc
        loop.run_until_complete(engine.start())
        freeze_startup_heap()
        go()
        process.ready(config, options, engine)
        rc = loop.run_until_complete(engine.on_stopped)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
        loop.run_until_complete(engine.close())
        process.at_exit(config, options, engine)
        if fatal:
            loop.close()
            die_by(fatal[0])
        return int(rc or 0)
    finally:
        if engine is not None and engine.daemon is not None:
            engine.daemon.report(1)  # died before serving: the waiting parent exits 1
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        except Exception:  # noqa: BLE001
            pass
        loop.close()
        sys.stderr.flush()


# ------------------------------------------------------------------------------------ workers
#
# The master binds every listener and stats socket, applies carried state, daemonises and drops
# privileges like a single process, then forks N workers that inherit the listening sockets
# (one accept queue per socket, shared by all workers) and talk to the master over a socketpair
# each. The master runs no session: its Engine only holds an aggregated picture for the stats
# socket. Before a stats line runs, the master asks every worker for a snapshot of its counters
# and sums them into its picture; a line that changes state runs in the master and is then
# replayed in every worker at the same level. Health checks run in worker 0 only; the master
# polls worker 0's check verdicts every CHECK_SYNC_S and pushes changes to the other workers.

CHECK_SYNC_S = 0.2
_HDR = struct.Struct("!I")

# The master's lifeline: a pipe nobody writes to. The master holds both ends (carried across its
# re-executions by LIFELINE_ENV), each worker the read end only, which it watches: EOF means no
# master is left (SIGKILLed, crashed), and the worker exits at once, as 2.6's workers do when their
# socketpair to the master closes. A worker of the previous image, finishing its sessions after a
# reload, watches the same pipe, which the new image inherited. Programs get no end (both are
# close-on-exec); they are tied to the master by PR_SET_PDEATHSIG (engine/programs.py).
LIFELINE_ENV = "HAPROXY_PY_MASTER_LIFELINE"


def master_lifeline() -> tuple[int, int]:
    """The master's (read, write) lifeline fds: the previous image's, else a new pipe; both
    close-on-exec (made inheritable only for the master's own re-execution)."""
    value = os.environ.pop(LIFELINE_ENV, "")
    r_s, _, w_s = value.partition(",")
    if r_s.isdigit() and w_s.isdigit():
        r, w = int(r_s), int(w_s)
        try:
            for fd in (r, w):
                os.fstat(fd)
                os.set_inheritable(fd, False)
            return r, w
        except OSError:
            pass
    return os.pipe()


def watch_master(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    """In a worker: exit (status 1, at once, as 2.6) when the master's lifeline reads EOF."""
    os.set_blocking(fd, False)

    def check() -> None:
        try:
            if os.read(fd, 1):
                return  # nobody writes there; nothing to do with bytes
        except BlockingIOError:
            return
        except OSError:
            pass
        loop.remove_reader(fd)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    loop.add_reader(fd, check)
HEALTH_FIELDS = ("state", "health", "check_status", "check_code", "check_duration", "check_desc",
                 "check_info", "last_change", "down_time", "down_since", "check_enabled", "agent_status",
                 "agent_code", "agent_duration", "agent_info", "agent_health", "agent_enabled", "maint_weight")
READONLY_WORDS = {"show", "help", "get", "prompt", "quit", "operator", "user", "", "_getsocks", "_getstate",
                  "experimental-mode", "expert-mode"}


async def _send(writer: asyncio.StreamWriter, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(_HDR.pack(len(data)) + data)
    await writer.drain()


async def _recv(reader: asyncio.StreamReader) -> Any:
    hdr = await reader.readexactly(_HDR.size)
    return pickle.loads(await reader.readexactly(_HDR.unpack(hdr)[0]))  # noqa: S301 - our own processes


# ------------------------------------------------------------------------------------ snapshots


def snapshot(state: Any) -> dict[str, Any]:
    """A worker's counters (what ``show stat``/``show info`` sum up)."""
    px = {}
    for e in state.proxies:
        fe = e.frontend
        be = e.backend
        srvs = {}
        if be is not None:
            for s in be.servers:
                srvs[s.name] = (s.counters, s.served, len(s.queue))
        px[e.name] = {"fe": fe.counters if fe is not None else None,
                      "be": be.counters if be is not None else None,
                      "be_served": be.served if be is not None else 0,
                      "be_queue": len(be.queue) if be is not None else 0, "srv": srvs}
        if fe is not None and fe.socket_stats:  # option socket-stats: each listener's counters
            px[e.name]["ls"] = [ls.counters for ls in fe.socket_stats]
    proc = {k: getattr(state, k) for k in ("curr_conns", "cum_conns", "cum_req", "total_bytes_out",
                                           "spliced_bytes_out", "dropped_logs", "jobs",
                                           "recv_logs", "curr_ssl", "cum_ssl", "ssl_cache_lookups",
                                           "ssl_cache_misses")}
    for k in ("conn_rate", "sess_rate", "ssl_rate", "ssl_fe_keys", "ssl_be_keys"):
        proc[k] = getattr(state, k)
    proc["comp_bps_in"] = state.comp_bps_in
    proc["comp_bps_out"] = state.comp_bps_out
    return {"px": px, "proc": proc}


def merge_freq(items: list[FreqCtr]) -> FreqCtr:
    out = FreqCtr()
    if not items:
        return out
    sec = max(f.curr_sec for f in items)
    out.curr_sec = sec
    for f in items:
        if f.curr_sec == sec:
            out.curr += f.curr
            out.prev += f.prev
        elif f.curr_sec == sec - 1:
            out.prev += f.curr
        out.max += f.max
    return out


def merge_avg(items: list[TimeAvg]) -> TimeAvg:
    out = TimeAvg()
    live = [t for t in items if t.n]
    if live:
        out.n = max(t.n for t in live)
        out.sum = sum(t.sum * (out.n / t.n if t.n < TimeAvg.WINDOW else 1.0) for t in live) / len(live)
        out.max = max(t.max for t in live)
    return out


def merge_counters(items: list[Counters]) -> Counters:
    """Sums of every counter; maxima (smax, qmax, rate maxima) are summed too (an upper bound:
    workers do not peak at the same instant), averages are averaged, last_sess is the latest."""
    out = Counters()
    for name in Counters.__slots__:
        vals = [getattr(c, name) for c in items]
        if not vals:
            continue
        v0 = vals[0]
        if name == "last_sess":
            setattr(out, name, max(vals))
        elif isinstance(v0, FreqCtr):
            setattr(out, name, merge_freq(vals))
        elif isinstance(v0, TimeAvg):
            setattr(out, name, merge_avg(vals))
        elif isinstance(v0, list):
            setattr(out, name, [sum(x) for x in zip(*vals, strict=False)])
        elif isinstance(v0, (int, float)):
            setattr(out, name, sum(vals))
    return out


class _Count:
    """Stands for a queue in the master's picture: only its length is read."""

    __slots__ = ("n",)

    def __init__(self, n: int = 0) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def pop(self, now: float = 0.0) -> None:
        return None

    def peek(self, now: float = 0.0) -> None:  # the backend's queue walk finds nobody waiting in the master
        return None


def apply_snapshots(state: Any, snaps: list[dict[str, Any]]) -> None:
    """Overwrite the master's counters with the sums of the workers' snapshots."""
    for e in state.proxies:
        parts = [s["px"].get(e.name) for s in snaps]
        parts = [p for p in parts if p is not None]
        if not parts:
            continue
        if e.frontend is not None:
            e.frontend.counters = merge_counters([p["fe"] for p in parts if p["fe"] is not None])
            for i, ls in enumerate(e.frontend.socket_stats):
                got = [p["ls"][i] for p in parts if i < len(p.get("ls", ()))]
                if got:
                    ls.counters = merge_counters(got)
        be = e.backend
        if be is not None:
            be.counters = merge_counters([p["be"] for p in parts if p["be"] is not None])
            be.served = sum(p["be_served"] for p in parts)
            be.queue = _Count(sum(p["be_queue"] for p in parts))
            for srv in be.servers:
                rows = [p["srv"][srv.name] for p in parts if srv.name in p["srv"]]
                if not rows:
                    continue
                chk = (srv.counters.chkfail, srv.counters.chkdown)
                srv.counters = merge_counters([r[0] for r in rows])
                srv.counters.chkfail, srv.counters.chkdown = (rows[0][0].chkfail, rows[0][0].chkdown) \
                    if rows else chk
                srv.served = sum(r[1] for r in rows)
                srv.queue = _Count(sum(r[2] for r in rows))
    procs = [s["proc"] for s in snaps]
    for k in ("curr_conns", "cum_conns", "cum_req", "total_bytes_out", "spliced_bytes_out", "dropped_logs",
              "jobs", "recv_logs", "curr_ssl", "cum_ssl", "ssl_cache_lookups", "ssl_cache_misses"):
        setattr(state, k, sum(p.get(k, 0) for p in procs))
    for k in ("conn_rate", "sess_rate", "ssl_rate", "ssl_fe_keys", "ssl_be_keys"):
        setattr(state, k, merge_freq([p[k] for p in procs if k in p]))
    state.comp_bps_in = merge_freq([p["comp_bps_in"] for p in procs])
    state.comp_bps_out = merge_freq([p["comp_bps_out"] for p in procs])


def health_states(state: Any) -> dict[tuple[str, str], tuple[Any, ...]]:
    out = {}
    for e in state.proxies:
        if e.backend is None:
            continue
        for s in e.backend.servers:
            out[(e.name, s.name)] = tuple(getattr(s, f) for f in HEALTH_FIELDS) + (
                s.counters.chkfail, s.counters.chkdown) + _dns_fields(s) + _agent_fields(s)
    return out


_AGENT_FLAGS = frozenset(("FMAINT", "FDRAIN"))


def _agent_fields(s: Any) -> tuple[Any, ...]:
    """What worker 0's agent checks decide: the forced admin state (agent servers only; an agent's
    maxconn:N stays worker 0's: each worker holds its own part of a server's limit)."""
    if not s.agent_enabled:
        return (None,)
    return (tuple(sorted(s.admin & _AGENT_FLAGS)),)


_DNS_FLAGS = frozenset(("RMAINT", "HMAINT"))


def _dns_fields(s: Any) -> tuple[Any, ...]:
    """What worker 0's resolvers decide (engine/resolvers.py), for the others and the master."""
    return (s.host, s.port, s.dns_fqdn, s.uweight, tuple(sorted(s.admin & _DNS_FLAGS)))


def _apply_dns(srv: Any, vals: tuple[Any, ...], now: float) -> None:
    host, port, fqdn, uweight, flags = vals
    srv.host, srv.port, srv.dns_fqdn = host, port, fqdn
    srv.admin = (srv.admin - _DNS_FLAGS) | set(flags)
    if srv.uweight != uweight and srv.backend is not None:
        srv.backend.set_weight(srv, uweight, now)


def apply_health(state: Any, changes: dict[tuple[str, str], tuple[Any, ...]], now: float) -> None:
    """Install worker 0's check verdicts (other workers and the master's picture)."""
    for (bname, sname), vals in changes.items():
        be = state.backends.get(bname)
        srv = be.by_name.get(sname) if be is not None else None
        if srv is None:
            continue
        for f, v in zip(HEALTH_FIELDS, vals, strict=False):
            setattr(srv, f, v)
        srv.counters.chkfail, srv.counters.chkdown = vals[len(HEALTH_FIELDS)], vals[len(HEALTH_FIELDS) + 1]
        n = len(HEALTH_FIELDS) + 2
        if len(vals) > n:
            _apply_dns(srv, vals[n:n + 5], now)
        if len(vals) > n + 5 and vals[n + 5] is not None:
            srv.admin = (srv.admin - _AGENT_FLAGS) | set(vals[n + 5])
        be.server_state_changed(srv, now)


def share(total: int, i: int, n: int) -> int:
    """Worker i's part of a limit (at least 1: 0 would mean unlimited)."""
    if not total:
        return 0
    return max(1, total // n + (1 if i < total % n else 0))


def split_limits(engine: Engine, i: int, n: int) -> None:
    """Per-worker limits whose sum is the configured one (see README, Workers)."""
    st = engine.state
    st.maxconn = share(st.maxconn, i, n)
    engine.cps_lim = share(engine.cps_lim, i, n)  # maxconnrate, maxsessrate (show info: the total)
    engine.sps_lim = share(engine.sps_lim, i, n)
    engine.ssl_lim = share(engine.ssl_lim, i, n)  # maxsslrate
    if st.maxsslconn:
        st.maxsslconn = share(st.maxsslconn, i, n)
    for e in st.proxies:
        if e.frontend is not None and e.frontend.maxconn:
            e.frontend.maxconn = share(e.frontend.maxconn, i, n)
        if e.backend is not None:
            for srv in e.backend.servers:
                if srv.maxconn:
                    srv.maxconn = share(srv.maxconn, i, n)
                    srv.minconn = min(srv.maxconn, share(srv.minconn, i, n)) if srv.minconn else 0
                if srv.maxqueue:
                    srv.maxqueue = share(srv.maxqueue, i, n)


# ------------------------------------------------------------------------------------ worker side


async def serve_control(engine: Engine, sock: socket.socket) -> None:
    """Answer the master: ("cli", line, level[, experimental]) | ("snap",) | ("health",) |
    ("sethealth", dict)."""
    from haproxy_py.stats.commands import Cli

    reader, writer = await asyncio.open_unix_connection(sock=sock)
    while True:
        try:
            req = await _recv(reader)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return
        kind = req[0]
        if kind == "cli":  # (the master CLI adds its session's experimental mode)
            cli = Cli(engine.state)
            cli.experimental = len(req) > 3 and bool(req[3])
            reply = cli.execute(req[1], req[2], engine.loop.time(), time.time())
            await _send(writer, reply)
        elif kind == "snap":
            await _send(writer, snapshot(engine.state))
        elif kind == "health":
            await _send(writer, health_states(engine.state))
        elif kind == "sethealth":
            apply_health(engine.state, req[1], engine.loop.time())
            await _send(writer, True)
        else:
            await _send(writer, None)


def worker_main(config: Config, options: Any, i: int, n: int, ctl: socket.socket, socks: list[socket.socket],
                items: list[dict[str, Any]] | None, exact: bool, lifeline: int | None = None,
                tsocks: dict[int, socket.socket] | None = None, tarea: Any = None) -> int:
    """A worker's life; ``lifeline``: the read end of the master's lifeline, watched from the start;
    ``tsocks``: its ends of the stick table mesh (engine/tableshare.py), by worker."""
    quiet = bool(getattr(options, "quiet", False))
    wconf = dataclasses.replace(config, global_=dataclasses.replace(config.global_, stats_sockets=()))
    loop, loop_name = new_event_loop()
    asyncio.set_event_loop(loop)
    if lifeline is not None:
        watch_master(loop, lifeline)
    engine = Engine(wconf, loop, loop_name=loop_name, quiet=quiet)
    from haproxy_py.samples import sharedvars

    sharedvars.attach()  # with several workers: one proc scope for all (samples/sharedvars.py)
    engine.state.config = config  # show info / show cli sockets see the real configuration
    engine.run_checks = i == 0
    engine.state.thread = i  # the thread fetch: 2.6's threads are workers here
    engine.replays_cli = True
    engine.inherited = reload.Inherited(socks)
    # the first worker speaks the peers protocol for all (its table merges the others' shares,
    # engine/tableshare.py join_peers); started to replace another (-sf, a -W reload): it waits
    # for the old one to teach it through the local peer
    engine.speaks_peers = i == 0
    engine.old_pids = bool(getattr(options, "sf_pids", None))
    engine.on_stopped = loop.create_future()
    fatal, go = install_signals(engine, loop)
    engine.bind_all()
    engine.inherited.close_unused()
    split_limits(engine, i, n)
    engine.limit_part = lambda total: share(total, i, n)  # limits set later from the CLI, too
    apply_startup_state(engine, items, exact)
    if process.needs_drop(config):  # the master keeps its rights (re-exec, stats socket); workers not
        process.preload_modules()
        rc = process.drop_privileges(config)
        if rc is not None:
            return rc
    tmesh = None
    if tsocks:
        from haproxy_py.engine.tableshare import TableMesh

        tmesh = TableMesh(engine.state, loop, i, tsocks, tarea, n)
        if engine.peers is not None:
            tmesh.join_peers(engine.peers)
        loop.run_until_complete(tmesh.start())
    loop.run_until_complete(engine.start())
    engine.state.master_cli_fd = ctl.fileno()  # show cli sockets lists it, as 2.6 its sockpair
    ctl_task = loop.create_task(serve_control(engine, ctl))
    freeze_startup_heap()
    go()
    rc = loop.run_until_complete(engine.on_stopped)
    loop.run_until_complete(engine.close())
    ctl_task.cancel()
    if tmesh is not None:
        tmesh.close()
    if fatal:
        die_by(fatal[0])
    return int(rc or 0)


# ------------------------------------------------------------------------------------ master side


class Master:
    def __init__(self, engine: Engine, quiet: bool) -> None:
        self.engine = engine
        self.quiet = quiet
        self.workers: list[tuple[int, Any, Any]] = []  # (pid, reader, writer)
        self.pids: dict[int, int] = {}  # pid -> worker index
        self.lock = asyncio.Lock()
        self.last_health: dict[tuple[str, str], tuple[Any, ...]] = {}
        self.stopping = False
        self.exit_code = 0
        self.reloads = 0
        self.started = time.time()
        self.cli_server: Any = None  # the master CLI (-S)
        self.failed_reloads = 0
        self.programs = Programs(())
        #: the workers of the previous image, told to stop by -sf
        self.former_workers: set[int] = set()
        #: the reloads each of them survived (mworker-max-reloads)
        self.former_reloads: dict[int, int] = {}
        #: (read, write) ends of the master's lifeline (``master_lifeline``)
        self.lifeline: tuple[int, int] | None = None

    async def ask(self, idx: int, req: Any) -> Any:
        _pid, reader, writer = self.workers[idx]
        await _send(writer, req)
        return await _recv(reader)

    async def ask_all(self, req: Any, first: int = 0) -> list[Any]:
        async with self.lock:
            out = []
            for idx in range(first, len(self.workers)):
                try:
                    out.append(await asyncio.wait_for(self.ask(idx, req), 5.0))
                except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError) as e:
                    alert(f"worker #{idx + 1} did not answer the master ({type(e).__name__}: {e})", self.quiet)
            return out

    async def before_line(self, text: str, level: str) -> str | None:
        from haproxy_py.stats.commands import split_commands

        cmds = split_commands(text)
        if self.workers and cmds and all((tuple(w[1:2]) == ("table",) and w[0] in ("show", "clear", "set"))
                                         or tuple(w[:2]) == ("show", "peers") for w in cmds):
            # stick tables live in the workers: the first answers (its show table merges every
            # worker's data, engine/tableshare.py; it speaks the peers protocol, show peers);
            # clear table reaches all of them
            try:
                if len(self.workers) > 1 and any(w[0] == "clear" for w in cmds):
                    return str((await self.ask_all(("cli", text, level)) or [""])[0])
                async with self.lock:
                    return str(await asyncio.wait_for(self.ask(0, ("cli", text, level)), 5.0))
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError) as e:
                alert(f"worker #1 did not answer the master ({type(e).__name__}: {e})", self.quiet)
        snaps = await self.ask_all(("snap",))
        if snaps:
            apply_snapshots(self.engine.state, snaps)
        await self.sync_health()
        return None

    async def after_line(self, text: str, level: str, reply: str, experimental: bool = False) -> None:
        """Forward a line that changes state to every worker (in the experimental mode the
        session had when the line started: ``set var`` needs it there too)."""
        from haproxy_py.stats.commands import split_commands

        if all((w[0] if w else "") in READONLY_WORDS for w in split_commands(text)):
            return
        await self.ask_all(("cli", ("experimental-mode on; " + text) if experimental else text, level))

    async def sync_health(self) -> None:
        if not self.workers:
            return
        res = await self.ask_all(("health",), first=0)
        if not res:
            return
        cur = res[0]
        changes = {k: v for k, v in cur.items() if self.last_health.get(k) != v}
        if not changes:
            return
        self.last_health = cur
        apply_health(self.engine.state, changes, self.engine.loop.time())
        if len(self.workers) > 1:
            await self.ask_all(("sethealth", changes), first=1)

    async def health_loop(self) -> None:
        while not self.stopping:
            await asyncio.sleep(CHECK_SYNC_S)
            try:
                await self.sync_health()
            except Exception:  # noqa: BLE001 - a worker going away is seen by reap()
                pass

    def signal_former(self, pid: int, sig: int) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            self.former_workers.discard(pid)

    def signal_workers(self, sig: int) -> None:
        for pid in list(self.pids):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def reap(self) -> None:
        """Collect exited children (workers, programs, the former ones of a reload) with 2.6's
        messages; a current one ending with a status other than 0, 130 or 143 stops everything
        (2.6's exit-on-failure, the master's exit code is that status); the master ends when no
        worker is left."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.pids.clear()
                break
            if pid == 0:
                break
            if self.pids.pop(pid, None) is not None:
                alert(f"Current worker ({pid}) {exit_text(status)}", self.quiet)
                current = True
            elif pid in self.former_workers:
                self.former_workers.discard(pid)
                warning(f"Former worker ({pid}) {exit_text(status)}", self.quiet)
                continue
            else:
                current = pid in self.programs.current
                if not self.programs.reaped(pid, status, self.stopping):
                    continue
            code = exit_code(status)
            if current and code not in (0, 130, 143) and not self.stopping:
                alert("exit-on-failure: killing every processes with SIGTERM", self.quiet)
                self.stopping = True
                self.exit_code = code
                self.signal_workers(signal.SIGTERM)
                self.programs.stop()
        if not self.pids:
            fut = self.engine.on_stopped
            if fut is not None and not fut.done():
                self.programs.stop()  # the programs end with the workers, before the last words
                self.programs.wait_all()
                warning(f"All workers exited. Exiting... ({self.exit_code})", self.quiet)
                fut.set_result(self.exit_code)

    async def reap_loop(self) -> None:
        while True:
            self.reap()
            if not self.pids:
                return
            await asyncio.sleep(0.05)


def exit_code(status: int) -> int:
    """A child's status as 2.6 counts it: the exit code, or 128 + the signal that killed it."""
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def _table_mesh(engine: Engine, n: int) -> dict[tuple[int, int], tuple[socket.socket, socket.socket]]:
    """Several workers with stick tables: one socketpair per pair of them (engine/tableshare.py)."""
    if n < 2 or not getattr(engine.state, "tables", None):
        return {}
    from haproxy_py.engine.tableshare import mesh

    return mesh(n)


def run_master(config: Config, options: Any) -> int:
    quiet = bool(getattr(options, "quiet", False))
    n = worker_count(config)
    try:
        inherited, items, exact = carried_state(config, options, quiet)
    except SystemExit as e:
        return int(e.code or 1)
    reexec = reexec_inheritance()
    if reexec is not None:
        inherited, items, exact = reexec
    loop, loop_name = new_event_loop()
    asyncio.set_event_loop(loop)
    engine = Engine(config, loop, loop_name=loop_name, quiet=quiet)
    engine.run_checks = False
    engine.aggregate = True
    engine.inherited = inherited
    engine.on_stopped = loop.create_future()
    signal.pthread_sigmask(signal.SIG_BLOCK, MASTER_SIGNALS)
    try:
        rc = bind_and_prepare(engine, inherited, items, exact, quiet)
        if rc is not None:
            return rc
        rc = process.before_loop(config, options, engine, drop=False)
        if rc is not None:
            return rc
        master = Master(engine, quiet)
        reloads, _, failed = (os.environ.pop(RELOADS_ENV, "0") or "0").partition(":")
        master.reloads, master.failed_reloads = int(reloads or 0), int(failed or 0)
        os.environ.pop(process.REEXEC_ENV, None)
        master.programs = Programs(config.programs, quiet)
        former_programs = os.environ.pop(PROGRAMS_ENV, None)
        master.former_reloads = former_reloads(os.environ.pop(FORMER_ENV, ""))
        master.former_workers = set(master.former_reloads)
        limit = config.global_.mworker_max_reloads
        if limit is not None:  # 2.6: a worker that survived more reloads than that is terminated
            for fpid, count in master.former_reloads.items():
                if count > limit:
                    master.signal_former(fpid, signal.SIGTERM)
        master.lifeline = life_r, life_w = master_lifeline()
        master.programs.start(reloaded=reexec is not None)
        socks = [lst.sock for lst in engine.listeners]
        ctl_parent: list[socket.socket] = []
        tpairs = _table_mesh(engine, n)
        from haproxy_py.samples import sharedvars

        sharedvars.prepare(config, n)  # proc variables every worker reads and writes
        sharedvars.attach()  # the master's get var reads them too
        tarea = None
        if tpairs:  # the increments in flight, in memory every worker maps (stick/share.py Inflight)
            from haproxy_py.engine.tableshare import inflight_area

            tarea = inflight_area(n)
        for i in range(n):
            a, b = socket.socketpair()
            pid = os.fork()
            if pid == 0:  # worker
                os.close(life_w)  # the master alone holds the write end: its exit is our EOF
                a.close()
                for c in ctl_parent:
                    c.close()
                for srv in engine.stats_servers:
                    if srv.sock is not None:
                        srv.sock.close()
                code = 1
                tsocks = None
                if tpairs:
                    from haproxy_py.engine.tableshare import worker_socks

                    tsocks = worker_socks(tpairs, i)
                try:
                    code = worker_main(config, options, i, n, b, socks, items, exact, life_r, tsocks, tarea)
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            b.close()
            ctl_parent.append(a)
            master.pids[pid] = i
        for pair in tpairs.values():  # the workers' now
            for s_ in pair:
                s_.close()

        async def connect() -> None:
            for pid, a in zip(list(master.pids), ctl_parent, strict=True):
                r, w = await asyncio.open_unix_connection(sock=a)
                master.workers.append((pid, r, w))

        loop.run_until_complete(connect())
        master.programs.adopt_former(former_programs)
        for srv in engine.stats_servers:
            srv.before_line = master.before_line
            srv.after_line = master.after_line
        for lst in engine.listeners:
            lst.paused = True  # the master never accepts: its listeners are the workers'
        loop.run_until_complete(engine.start())  # stats sockets
        fatal: list[int] = []

        def soft() -> None:
            master.stopping = True
            master.signal_workers(signal.SIGUSR1)
            master.programs.stop()
            for lst in engine.listeners:
                lst.close()

        def hard(sig: int) -> None:
            master.stopping = True
            if not fatal:
                fatal.append(sig)
            master.signal_workers(signal.SIGTERM)
            master.programs.stop()

        loop.add_signal_handler(signal.SIGUSR1, soft)
        loop.add_signal_handler(signal.SIGTERM, hard, signal.SIGTERM)
        loop.add_signal_handler(signal.SIGINT, hard, signal.SIGINT)
        for sig in (signal.SIGTTOU, signal.SIGTTIN, signal.SIGHUP):
            loop.add_signal_handler(sig, master.signal_workers, sig)
        loop.add_signal_handler(signal.SIGUSR2, master_reexec, master, config, options)
        mcli = getattr(options, "master_cli", None)
        if mcli:
            try:
                # kept referenced: an asyncio server nobody holds is closed when collected
                master.cli_server = loop.run_until_complete(start_master_cli(master, mcli, config, options))
            except OSError as e:
                alert(f"Cannot create the master CLI socket {mcli} ({e.strerror}).", quiet)
        # unblocked from inside the running loop: a signal that was pending is then seen by it
        loop.call_soon(signal.pthread_sigmask, signal.SIG_UNBLOCK, MASTER_SIGNALS)
        tasks = [loop.create_task(master.reap_loop()), loop.create_task(master.health_loop())]
        process.ready(config, options, engine)
        rc = loop.run_until_complete(engine.on_stopped)
        master.stopping = True
        master.programs.stop()
        master.programs.wait_all()
        for t in tasks:
            t.cancel()
        loop.run_until_complete(engine.close())
        if fatal:
            die_by(fatal[0])
        return int(rc or 0)
    finally:
        if engine.daemon is not None:
            engine.daemon.report(1)
        loop.close()
        sys.stderr.flush()


# ------------------------------------------------------------------------------------ master-worker

FDS_ENV = "HAPROXY_PY_MASTER_FDS"
STATE_ENV = "HAPROXY_PY_MASTER_STATE"
RELOADS_ENV = "HAPROXY_PY_RELOADS"
FORMER_ENV = "HAPROXY_PY_FORMER_WORKERS"


def former_reloads(text: str) -> dict[int, int]:
    """FORMER_ENV's "PID:RELOADS,..." (a bare PID: one reload)."""
    out: dict[int, int] = {}
    for item in text.split(","):
        pid, _, count = item.partition(":")
        if pid.isdigit():
            out[int(pid)] = int(count) if count.isdigit() else 1
    return out


def reexec_inheritance() -> tuple[Any, list[dict[str, Any]] | None, bool] | None:
    """In a master re-executed by SIGUSR2: the listening sockets and the state it handed over."""
    fds = os.environ.pop(FDS_ENV, None)
    if fds is None:
        return None
    socks = []
    for x in fds.split(","):
        if x.strip().isdigit():
            try:
                socks.append(socket.socket(fileno=int(x)))
            except OSError:
                pass
    items = None
    path = os.environ.pop(STATE_ENV, None)
    if path:
        try:
            with open(path) as f:
                items = __import__("json").load(f)
            os.unlink(path)
        except (OSError, ValueError):
            items = None
    return reload.Inherited(socks), items, True


def _argv_without_old(argv: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-sf", "-st"):
            i += 1
            while i < len(argv) and argv[i].isdigit():
                i += 1
            continue
        if a == "-x":
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def master_reexec(master: Master, config: Config, options: Any) -> None:
    """SIGUSR2 / ``reload``: check the configuration, then exec this program again with the same
    arguments plus ``-sf <current workers>``; listening sockets and server state travel with it."""
    import json
    import tempfile

    paths = getattr(options, "config_paths", None) or []
    try:
        from haproxy_py.addresses import check_and_resolve
        from haproxy_py.config import load_config

        _cfg, diags = load_config(paths, localpeer=getattr(options, "localpeer", None))
        # what the new image will check at its start (names resolve, fd@N are sockets)
        check_and_resolve(_cfg, diags, ignore_failures=bool(getattr(options, "ignore_resolve_errors", False)))
    except Exception as e:  # noqa: BLE001
        alert(f"Reload failed: cannot load the configuration ({e}).", master.quiet)
        master.failed_reloads += 1
        return
    if diags.has_errors:
        for ln in diags.format(os.getpid()):
            sys.stderr.write(ln + "\n")
        alert("Reload failed: the new configuration has errors; the current workers keep running.",
              master.quiet)
        master.failed_reloads += 1
        return
    process.sd_notify("RELOADING=1")
    fds = []
    for lst in master.engine.listeners:
        fd = lst.sock.fileno()
        if fd >= 0:
            os.set_inheritable(fd, True)
            fds.append(str(fd))
    fd, path = tempfile.mkstemp(prefix="haproxy-py-state-")
    with os.fdopen(fd, "w") as f:
        json.dump(reload.collect_state(master.engine.state), f)
    env = dict(os.environ)
    env[FDS_ENV] = ",".join(fds)
    env[STATE_ENV] = path
    env[RELOADS_ENV] = f"{master.reloads + 1}:{master.failed_reloads}"
    env[PROGRAMS_ENV] = master.programs.handover()
    # each worker with the reloads it survived ('mworker-max-reloads'): the current ones one
    env[FORMER_ENV] = ",".join([f"{p}:1" for p in master.pids] + [
        f"{p}:{master.former_reloads.get(p, 0) + 1}" for p in master.former_workers])
    env[process.REEXEC_ENV] = "1"
    if master.lifeline is not None:  # the workers of this image watch it: the next image keeps it
        for lfd in master.lifeline:
            os.set_inheritable(lfd, True)
        env[LIFELINE_ENV] = ",".join(str(x) for x in master.lifeline)
    args = _argv_without_old(sys.argv[1:])
    old = [str(p) for p in master.pids]
    if old:
        args += ["-sf", *old]
    a0 = sys.argv[0] if sys.argv else ""
    prog = ["-m", "haproxy_py"] if (not a0 or a0.endswith("__main__.py")) else [a0]
    notice = f"[NOTICE]   ({os.getpid()}) : Reloading HAProxy\n"
    if not master.quiet:
        sys.stderr.write(notice)
    sys.stdout.flush()
    sys.stderr.flush()
    for srv in master.engine.stats_servers:
        if srv.sock is not None:
            if srv.conf.address.kind == "fd":  # handed to the new image as the supervisor handed it to us
                os.set_inheritable(srv.sock.fileno(), True)
            else:
                srv.sock.close()  # the new image binds its own
    os.execve(sys.executable, [sys.executable, *prog, *args], env)


async def start_master_cli(master: Master, spec: str, config: Config, options: Any) -> Any:
    """``-S PATH[,...]``: the master CLI (``show proc``, ``reload``, ``@N <command>``, ``help``)."""
    path = spec.split(",", 1)[0]
    inherited = None
    if path.startswith("fd@"):  # -S fd@N: a listening socket handed down by the supervisor
        inherited = socket.socket(fileno=int(path[3:]))
        os.set_inheritable(inherited.fileno(), True)  # a reload re-executes with the same -S fd@N
        inherited.listen(16)
        inherited.setblocking(False)
    elif path.startswith("unix@"):
        path = path[5:]
    if inherited is None and os.path.exists(path):
        os.unlink(path)

    tmo = max(config.global_.stats_timeout / 1000.0, 1.0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from haproxy_py.stats.mastercli import MasterCli

        cli = MasterCli()
        try:
            while True:
                raw = await asyncio.wait_for(reader.readline(), tmo)
                if not raw:
                    break
                for step in cli.plan(raw.decode("latin-1"), list(master.pids)):
                    writer.write(str(await _master_step(master, step, config, options)).encode("latin-1", "replace"))
                await writer.drain()
                if cli.closing or not cli.interactive:
                    break
        except (asyncio.TimeoutError, ConnectionError, OSError, ValueError):  # ValueError: a line over 64 KiB
            pass
        finally:
            writer.close()

    if inherited is not None:
        if inherited.family == socket.AF_UNIX:
            return await asyncio.start_unix_server(handle, sock=inherited)
        return await asyncio.start_server(handle, sock=inherited)
    return await asyncio.start_unix_server(handle, path=path)


def _uptime(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 86400}d{s % 86400 // 3600:02d}h{s % 3600 // 60:02d}m{s % 60:02d}s"


async def _master_step(master: Master, step: Any, config: Config, options: Any) -> str:
    """One step of a master-CLI line (stats/mastercli.py): text as it is, a worker's reply, or
    ``show proc`` / ``reload``."""
    from haproxy_py.stats.mastercli import Engine, Forward

    if isinstance(step, Forward):
        try:
            async with master.lock:
                return str(await asyncio.wait_for(
                    master.ask(step.idx, ("cli", step.line, step.level, step.experimental)), 10))
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError, IndexError) as e:
            alert(f"worker #{step.idx + 1} did not answer the master CLI ({type(e).__name__}: {e})", master.quiet)
            return ""
    if isinstance(step, Engine):
        return master_command(master, step.words[0], config, options)
    return str(step)


def master_command(master: Master, name: str, config: Config, options: Any) -> str:
    """``show proc`` (``name`` "show") and ``reload``, the master CLI's commands about the
    processes."""
    from haproxy_py import __version__

    if name == "show":
        now = time.time()
        # 2.6's columns: 16 characters wide, the last padded to 15
        out = [f"{'#<PID>':<16}{'<type>':<16}{'<reloads>':<16}{'<uptime>':<16}{'<version>':<15}",
               f"{os.getpid():<16}{'master':<16}{f'{master.reloads} [failed: {master.failed_reloads}]':<16}"
               f"{_uptime(now - master.started):<16}{__version__:<15}", "# workers"]
        for pid in master.pids:
            out.append(f"{pid:<16}{'worker':<16}{0:<16}{_uptime(now - master.started):<16}{__version__:<15}")
        out += master.programs.show_proc_lines(now, _uptime)
        return "\n".join(out) + "\n\n"
    if name == "reload":
        asyncio.get_running_loop().call_later(0.05, master_reexec, master, config, options)
    return ""
