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
import os
import signal
import sys
import time
from typing import Any

from haproxy_py import process
from haproxy_py.config.model import Config
from haproxy_py.engine import reload
from haproxy_py.engine.listener import BindError
from haproxy_py.engine.loop import Engine, alert, new_event_loop


def worker_count(config: Config) -> int:
    g = config.global_
    n = g.nbproc or 0
    if g.nbthread and g.nbthread > n:
        n = g.nbthread
    return max(1, n)


def run(config: Config, options: Any) -> int:
    """What ``haproxy-py -f CFG`` runs. Returns the exit code."""
    if worker_count(config) > 1 or getattr(options, "master_worker", False) or config.global_.master_worker:
        from haproxy_py.engine import master

        return master.run_master(config, options)
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

    servers = []
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
        engine.on_stopped = loop.create_future()
        fatal, go = install_signals(engine, loop)
        try:
            engine.bind_all()
        except BindError as e:
            alert(f"Starting frontend: {e}", quiet)
            return 1
        finally:
            if inherited is not None:
                inherited.close_unused()
        if not engine.listeners:
            alert("[haproxy-py] no listener: nothing to do.", quiet)
            return 2
        rc = prebind_stats(engine, quiet)
        if rc is not None:
            return rc
        apply_startup_state(engine, items, exact)
        rc = process.before_loop(config, options, engine)
        if rc is not None:
            return rc
        loop.run_until_complete(engine.start())
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
