"""Process management: daemon mode, pidfile, privileges (chroot/user/group), old-process signals.

Called by ``engine.loop.run`` once every listening socket is bound and before the loop runs.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from haproxy_py.config.model import Config


def _alert(msg: str) -> None:
    sys.stderr.write(f"[ALERT]    ({os.getpid()}) : {msg}\n")
    sys.stderr.flush()


def _daemonize() -> None:
    """Double fork, new session, stdio to /dev/null. The original process exits 0."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    fd = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(fd, std)
    if fd > 2:
        os.close(fd)


def _drop_privileges(config: Config) -> int | None:
    g = config.global_
    uid = g.uid
    gid = g.gid
    try:
        if g.group:
            import grp

            gid = grp.getgrnam(g.group).gr_gid
        if g.user:
            import pwd

            pw = pwd.getpwnam(g.user)
            uid = pw.pw_uid
            if gid is None:
                gid = pw.pw_gid
    except KeyError as e:
        _alert(f"[haproxy-py] cannot find user or group id for {e.args[0]!r}.")
        return 1
    if g.chroot:
        try:
            os.chroot(g.chroot)
            os.chdir("/")
        except OSError as e:
            _alert(f"[haproxy-py] cannot chroot({g.chroot}) ({e.strerror}).")
            return 1
    try:
        if gid is not None and os.getgid() != gid:
            os.setgroups([gid])
            os.setgid(gid)
        if uid is not None and os.getuid() != uid:
            os.setuid(uid)
    except OSError as e:
        _alert(f"[haproxy-py] cannot set uid/gid ({e.strerror}).")
        return 1
    return None


def before_loop(config: Config, options: Any, engine: Any) -> int | None:
    """Daemonise, write the pidfile, signal old processes, drop privileges. Returns an exit code
    to stop with, or None to go on."""
    g = config.global_
    foreground = bool(getattr(options, "foreground", False))
    daemon = (bool(getattr(options, "daemon", False)) or g.daemon) and not foreground
    pidfile = getattr(options, "pidfile", None) or g.pidfile
    if daemon:
        _daemonize()
    if pidfile:
        try:
            with open(pidfile, "w") as f:
                f.write(f"{os.getpid()}\n")
        except OSError as e:
            _alert(f"[haproxy-py] cannot create pidfile {pidfile} ({e.strerror})")
            if daemon:
                return 1
    for pid in getattr(options, "sf_pids", None) or ():
        _signal(pid, signal.SIGUSR1)
    for pid in getattr(options, "st_pids", None) or ():
        _signal(pid, signal.SIGTERM)
    if os.getuid() == 0 or g.chroot:
        rc = _drop_privileges(config)
        if rc is not None:
            return rc
    return None


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(int(pid), sig)
    except (ProcessLookupError, PermissionError, ValueError):
        pass


def after_start(config: Config, options: Any, engine: Any) -> None:
    """Tell systemd we are ready when started with Type=notify."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    import socket

    if path.startswith("@"):
        path = "\0" + path[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(f"READY=1\nMAINPID={os.getpid()}".encode(), path)
    except OSError:
        pass


def at_exit(config: Config, options: Any, engine: Any) -> None:
    return None


def dump_servers_state(engine: Any) -> None:
    """SIGHUP: print each server's state on stderr, as HAProxy does."""
    for e in engine.state.proxies:
        be = e.backend
        if be is None:
            continue
        for s in be.servers:
            state = "UP" if s.is_up else "DOWN"
            sys.stderr.write(
                f"[NOTICE]   ({os.getpid()}) : SIGHUP: Server {be.name}/{s.name} is {state}. "
                f"Conn: {s.served} act, {len(s.queue)} pend, {s.counters.stot} tot.\n")
        act, bck = be.usable_counts()
        sys.stderr.write(
            f"[NOTICE]   ({os.getpid()}) : SIGHUP: Proxy {be.name} has {act} active servers and {bck} "
            f"backup servers available. Conn: act({be.counters.scur}) pend({len(be.queue)}) "
            f"tot({be.counters.stot}).\n")
    sys.stderr.flush()
