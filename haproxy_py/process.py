"""Process management: daemon mode, pidfile, privileges (chroot/user/group), old-process signals,
signal reports (SIGHUP dump, SIGTTOU/SIGTTIN), and systemd readiness.

The order is HAProxy's: every listening socket, stats socket and log socket is opened first (by
``engine.loop.run``), then ``before_loop`` detaches (``daemon``/``-D``: double fork, new session),
writes the pidfile, signals the processes named by ``-sf``/``-st`` and drops privileges
(``chroot``, then ``gid``/``group``, then ``uid``/``user``). ``ready`` is called once the event
loop serves: the daemon's first process (still attached to the caller's terminal) then exits 0,
and stdio of the daemon moves to /dev/null. A failure after the fork (chroot, setuid) makes that
first process exit with the same code, so ``haproxy-py -D`` reports errors like HAProxy does.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from haproxy_py.config.model import Config

#: set by a master-worker master re-executing itself (SIGUSR2): already detached, pidfile kept
REEXEC_ENV = "HAPROXY_PY_REEXEC"


def _program() -> str:
    """HAProxy names the program by its argv[0] in "[PROG.main()] ..." alerts."""
    a0 = sys.argv[0] if sys.argv else ""
    if not a0 or a0.endswith(("__main__.py", "-c")):
        return "haproxy-py"
    return a0


PROGRAM = _program()


def _alert(msg: str) -> None:
    sys.stderr.write(f"[ALERT]    ({os.getpid()}) : {msg}\n")
    sys.stderr.flush()


def _warning(msg: str) -> None:
    sys.stderr.write(f"[WARNING]  ({os.getpid()}) : {msg}\n")
    sys.stderr.flush()


class Daemon:
    """The detached process's link to the process that started it (a pipe carrying the exit code)."""

    __slots__ = ("wfd", "nullfd")

    def __init__(self, wfd: int, nullfd: int = -1) -> None:
        self.wfd = wfd
        #: /dev/null opened before any chroot
        self.nullfd = nullfd

    def report(self, rc: int) -> None:
        """Tell the waiting first process how the start went (0 = serving), then detach stdio."""
        if self.wfd < 0:
            return
        try:
            os.write(self.wfd, bytes([rc & 0xFF]))
        except OSError:
            pass
        try:
            os.close(self.wfd)
        except OSError:
            pass
        self.wfd = -1
        if rc == 0:
            redirect_stdio(self.nullfd)
        if self.nullfd > 2:
            os.close(self.nullfd)
        self.nullfd = -1


def redirect_stdio(fd: int = -1) -> None:
    """stdin, stdout and stderr to /dev/null (``fd``: an already open /dev/null)."""
    own = fd < 0
    if own:
        fd = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(fd, std)
    if own and fd > 2:
        os.close(fd)


def daemonize() -> Daemon:
    """Double fork and new session. The original process waits for ``Daemon.report`` and exits
    with the code reported (1 when the daemon died before reporting)."""
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid > 0:
        os.close(wfd)
        data = b""
        try:
            while True:
                chunk = os.read(rfd, 16)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        try:
            os.waitpid(pid, 0)  # the intermediate process exits at once
        except ChildProcessError:
            pass
        os._exit(data[0] if data else 1)
    os.close(rfd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    # stdin right away; stdout/stderr stay until the start is reported, so errors are seen
    fd = os.open(os.devnull, os.O_RDWR)
    os.dup2(fd, 0)
    return Daemon(wfd, fd)


def resolve_identity(config: Config) -> tuple[int | None, int | None, str | None]:
    """(uid, gid, error): numeric ids from ``uid``/``gid``/``user``/``group``. With ``user`` but no
    group, the user's primary group is used (HAProxy would keep gid 0: we never keep root's group)."""
    g = config.global_
    uid = g.uid
    gid = g.gid
    if g.group:
        import grp

        try:
            gid = grp.getgrnam(g.group).gr_gid
        except KeyError:
            if not g.group.isdigit():
                return None, None, f"cannot find group id for '{g.group}' (0:Success)"
            gid = int(g.group)
    if g.user:
        import pwd

        try:
            pw = pwd.getpwnam(g.user)
        except KeyError:
            if not g.user.isdigit():
                return None, None, f"cannot find user id for '{g.user}' (0:Success)"
            uid = int(g.user)
        else:
            uid = pw.pw_uid
            if gid is None:
                gid = pw.pw_gid
    return uid, gid, None


def drop_privileges(config: Config) -> int | None:
    """chroot, then setgroups/setgid, then setuid. Returns an exit code on failure (message as
    HAProxy's, on stderr), None when done. Afterwards no root id remains (real, effective, saved)."""
    g = config.global_
    uid, gid, err = resolve_identity(config)
    if err:
        _alert(f"[{PROGRAM}.main()] {err}.")
        return 1
    if g.chroot:
        try:
            os.chroot(g.chroot)
            os.chdir("/")
        except OSError:
            _alert(f"[{PROGRAM}.main()] Cannot chroot({g.chroot}).")
            return 1
    if gid is not None:
        try:
            if os.getuid() == 0:
                os.setgroups([])
        except OSError:
            _warning(f"[{PROGRAM}.main()] Failed to drop supplementary groups. Using 'gid'/'group' "
                     "without 'uid'/'user' is generally useless.")
        try:
            os.setresgid(gid, gid, gid)
        except OSError:
            _alert(f"[{PROGRAM}.main()] Cannot set gid {gid}.")
            return 1
    if uid is not None:
        try:
            os.setresuid(uid, uid, uid)
        except OSError:
            _alert(f"[{PROGRAM}.main()] Cannot set uid {uid}.")
            return 1
    return None


def preload_modules() -> None:
    """Import now what the engine imports lazily, and prime codecs: after ``chroot`` (or with a
    Python tree the new user cannot read) no module can be loaded any more."""
    import codecs
    import importlib
    import pkgutil

    import haproxy_py

    for m in pkgutil.walk_packages(haproxy_py.__path__, "haproxy_py."):
        if m.name.endswith(("__main__", "_bootstrap")):
            continue
        try:
            importlib.import_module(m.name)
        except Exception:  # noqa: BLE001 - optional parts (e.g. no textual) are not needed here
            pass
    for enc in ("idna", "ascii", "latin-1", "utf-8"):
        codecs.lookup(enc)
    "localhost".encode("idna")
    for name in ("json", "pickle", "random", "hashlib", "email.utils", "http", "array", "ipaddress",
                 "encodings.idna", "stringprep", "unicodedata"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def write_pidfile(path: str, pids: list[int]) -> str | None:
    try:
        with open(path, "w") as f:
            f.write("".join(f"{p}\n" for p in pids))
    except OSError as e:
        return f"[{PROGRAM}.main()] Cannot create pidfile {path} ({e.strerror})"
    return None


def is_daemon(config: Config, options: Any) -> bool:
    if getattr(options, "foreground", False):
        return False
    return bool(getattr(options, "daemon", False)) or config.global_.daemon


def pidfile_path(config: Config, options: Any) -> str | None:
    return getattr(options, "pidfile", None) or config.global_.pidfile


def signal_old(options: Any) -> None:
    """-sf PIDS: soft stop (SIGUSR1); -st PIDS: terminate (SIGTERM)."""
    for pid in getattr(options, "sf_pids", None) or ():
        _signal(pid, signal.SIGUSR1)
    for pid in getattr(options, "st_pids", None) or ():
        _signal(pid, signal.SIGTERM)


def needs_drop(config: Config) -> bool:
    g = config.global_
    return bool(g.chroot) or ((os.getuid() == 0 or os.geteuid() == 0)
                              and (bool(g.user or g.group) or g.uid is not None or g.gid is not None))


def before_loop(config: Config, options: Any, engine: Any, *, drop: bool = True) -> int | None:
    """Daemonise, write the pidfile, signal old processes, drop privileges. Returns an exit code
    to stop with, or None to go on. In daemon mode ``engine.daemon`` receives the ``Daemon`` link
    (``ready`` reports through it)."""
    daemon = is_daemon(config, options) and not os.environ.get(REEXEC_ENV)
    link: Daemon | None = None
    if daemon:
        link = daemonize()
        if engine is not None:
            engine.daemon = link
    pidfile = pidfile_path(config, options)
    if pidfile:
        err = write_pidfile(pidfile, [os.getpid()])
        if err:
            _alert(err)
            if link is not None:
                link.report(1)
            return 1
    signal_old(options)
    rc = None
    if drop and needs_drop(config):
        preload_modules()
        rc = drop_privileges(config)
    if rc is not None and link is not None:
        link.report(rc)
    return rc


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(int(pid), sig)
    except (ProcessLookupError, PermissionError, ValueError):
        pass


def sd_notify(message: str) -> bool:
    """Send a datagram to systemd's NOTIFY_SOCKET (Type=notify); False when unset or failed."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    import socket

    if path.startswith("@"):
        path = "\0" + path[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), path)
    except OSError:
        return False
    return True


def ready(config: Config, options: Any, engine: Any, mainpid: int | None = None) -> None:
    """The loop serves: release a waiting daemon parent; tell systemd (READY=1)."""
    link = getattr(engine, "daemon", None)
    if link is not None:
        link.report(0)
    sd_notify(f"READY=1\nMAINPID={mainpid or os.getpid()}")


def after_start(config: Config, options: Any, engine: Any) -> None:
    """Kept for callers of the first version: same as ``ready``."""
    ready(config, options, engine)


def at_exit(config: Config, options: Any, engine: Any) -> None:
    return None


# ---------------------------------------------------------------------------------- signal reports


def servers_state_lines(engine: Any) -> list[str]:
    """SIGHUP report lines, as HAProxy 2.6 prints them (without the "[WARNING] (pid) : " prefix)."""
    out = ["SIGHUP received, dumping servers states."]
    st = engine.state
    if st.config.global_.stats_sockets:
        out.append("SIGHUP: Proxy GLOBAL has no servers. Conn: act(FE+BE): 0+0, 0 pend (0 unass), "
                   "tot(FE+BE): 0+0.")
    for e in st.proxies:
        fe = e.frontend
        be = e.backend
        fe_cur = fe.counters.scur if fe is not None else 0
        fe_tot = fe.counters.conn_tot if fe is not None else 0
        be_cur = be.counters.scur if be is not None else 0
        be_tot = be.counters.stot if be is not None else 0
        pend = 0
        unass = 0
        if be is not None:
            unass = len(be.queue)
            pend = unass + sum(len(s.queue) for s in be.servers)
        tail = (f"Conn: act(FE+BE): {fe_cur}+{be_cur}, {pend} pend ({unass} unass), "
                f"tot(FE+BE): {fe_tot}+{be_tot}.")
        if be is None or not be.servers:
            out.append(f"SIGHUP: Proxy {e.name} has no servers. {tail}")
            continue
        for s in be.servers:
            state = "UP" if s.is_up and s.state != "STOPPED" else "DOWN"
            out.append(f"SIGHUP: Server {e.name}/{s.name} is {state}. Conn: {s.served} act, "
                       f"{len(s.queue)} pend, {s.counters.stot} tot.")
        act, bck = be.usable_counts()
        if act == 0 and bck == 0:
            out.append(f"SIGHUP: Proxy {e.name} has no server available ! {tail}")
        else:
            out.append(f"SIGHUP: Proxy {e.name} has {act} active servers and {bck} backup servers "
                       f"available. {tail}")
    return out


def dump_servers_state(engine: Any) -> None:
    """SIGHUP: each line on stderr as a warning and to the proxies' logs at notice."""
    for line in servers_state_lines(engine):
        _warning(line)
        log = getattr(engine, "log_event", None)
        if log is not None and line.startswith("SIGHUP: "):
            try:
                name = line.split(" ", 3)[2].split("/")[0]
                log(name, "notice", line)
            except Exception:  # noqa: BLE001 - a report never breaks the process
                pass


def pause_listeners(engine: Any) -> None:
    """SIGTTOU: stop accepting on every frontend (connections wait in the kernel backlog)."""
    for e in engine.state.proxies:
        if e.frontend is not None:
            _warning(f"Paused frontend {e.name}.")
    engine.pause_all()


def resume_listeners(engine: Any) -> None:
    """SIGTTIN: accept again."""
    for e in engine.state.proxies:
        if e.frontend is not None:
            _warning(f"Resumed frontend {e.name}.")
    engine.resume_all()


def apply_fd_limits(config: Config) -> int | None:
    """Size the descriptor limit as 2.6 does at start (runtime/limits.py): ask for 'ulimit-n' or
    maxsock, within 'fd-hard-limit'; with strict-limits (the default) failing to get it is fatal
    (returns 1), without it the process warns and takes what it can. None when the process goes on."""
    try:
        import resource
    except ImportError:
        return None
    from haproxy_py.runtime import limits

    g = config.global_
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if limits.BOOT is None:
        limits.BOOT = (soft, hard)
    bsoft, bhard = limits.BOOT
    p = limits.plan(g.maxconn, g.ulimit_n, g.fd_hard_limit, bsoft, bhard)
    fhl = g.fd_hard_limit or 0
    inf = resource.RLIM_INFINITY

    def raise_to(cur: int, mx: int) -> bool:
        """2.6's raise_rlim_nofile: changes only what it raises; True when nothing failed."""
        old_c, old_m = resource.getrlimit(resource.RLIMIT_NOFILE)
        higher = (old_c != inf and (cur == inf or cur > old_c)) or (old_m != inf and (mx == inf or mx > old_m))
        if not higher:
            return True
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (cur, mx))
        except (ValueError, OSError):
            return False
        return True

    nofile = p.nofile
    mx = bhard if bhard == inf else max(bhard, nofile)
    if (fhl and nofile > fhl) or not raise_to(nofile, mx):
        cur = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if fhl and cur > fhl:
            cur = fhl
        if g.strict_limits:
            _alert(limits.cannot_raise(PROGRAM, nofile, cur))
            return 1
        cur_m = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        want = fhl if fhl and (cur_m == inf or cur_m > fhl) else cur_m
        if raise_to(want, cur_m):
            cur = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        _warning(limits.cannot_raise(PROGRAM, nofile, cur))
        nofile = cur
    limits.NOFILE = nofile
    cur = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if cur != inf and cur < p.maxsock:
        _alert(limits.too_low(PROGRAM, cur, p.maxconn, p.maxsock))
        if g.strict_limits:
            return 1
    return None
