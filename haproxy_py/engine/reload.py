"""Seamless reload: listening sockets handed over a unix socket, and server state carried over.

Sockets (``-x SOCKET`` on the new process, ``stats socket ... expose-fd listeners`` on the old):
the new process connects to the old one's stats socket and sends ``_getsocks``. The old process
answers one JSON line ``{"count": N, "socks": [{"key": [...]}, ...]}`` then sends the N
descriptors with SCM_RIGHTS (batches of at most ``MAX_SEND_FD``, one byte of data each). The new
process adopts the descriptors whose address matches one of its binds: both processes then share
one listening socket (one accept queue), so no connection is refused while the old process stops.
(The framing is ours, not HAProxy's binary ``_getsocks`` layout.)

State (``_getstate`` on the same socket, or ``show servers state`` / ``server-state-file``): the
admin state (maint, drain), user weight and health-check verdict of every server, applied to the
new process's servers of the same backend and name *unless the new configuration changed that
server* (its configuration differs from the one the old process ran): configuration wins, as in
HAProxy's state-file rules, which fixes haproxy/haproxy#199's surprise of stale states applied to
edited servers.
"""

from __future__ import annotations

import array
import dataclasses
import json
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

MAX_SEND_FD = 253
SOCKS_CMD = "_getsocks"
STATE_CMD = "_getstate"


# ------------------------------------------------------------------------------------ socket keys


def _norm_host(family: int, host: str) -> str:
    try:
        return socket.inet_ntop(family, socket.inet_pton(family, host))
    except (OSError, ValueError):
        return host


def socket_key(sock: socket.socket) -> tuple[Any, ...] | None:
    """What identifies a listening socket: (family, host, port) or ("unix", path)."""
    try:
        fam = sock.family
        name = sock.getsockname()
    except OSError:
        return None
    if fam == socket.AF_UNIX:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        return ("unix", name)
    if fam in (socket.AF_INET, socket.AF_INET6):
        return (int(fam), _norm_host(fam, name[0]), int(name[1]))
    return None


def address_keys(addr: Any) -> list[tuple[Any, ...]] | None:
    """The keys an address of a ``bind`` line would produce (None when it cannot be inherited)."""
    kind = addr.kind
    if kind == "unix":
        return [("unix", addr.path)]
    if kind == "abns":
        return [("unix", "\0" + addr.path)]
    if kind in ("ipv4", "ipv6"):
        fam = socket.AF_INET6 if kind == "ipv6" else socket.AF_INET
        host = addr.host
        if host in ("", "*"):
            host = "::" if fam == socket.AF_INET6 else "0.0.0.0"
        host = _norm_host(fam, host)
        return [(int(fam), host, p) for p in addr.ports]
    return None


class Inherited:
    """Listening sockets received from an old process, taken by the binds that match them."""

    def __init__(self, socks: Iterable[socket.socket] = ()) -> None:
        self.by_key: dict[tuple[Any, ...], list[socket.socket]] = {}
        for s in socks:
            k = socket_key(s)
            if k is None:
                s.close()
                continue
            self.by_key.setdefault(k, []).append(s)
        self.taken = 0

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_key.values())

    def take(self, addr: Any, bind: Any = None) -> list[socket.socket] | None:
        """Every socket for this address (all ports of a range) or None if any is missing."""
        if addr.kind == "fd":  # fd@N: the very descriptor handed down (a forked worker, a re-exec)
            for lst in self.by_key.values():
                for s in lst:
                    if s.fileno() == addr.fd:
                        lst.remove(s)
                        s.setblocking(False)
                        self.taken += 1
                        return [s]
            return None
        keys = address_keys(addr)
        if not keys or any(not self.by_key.get(k) for k in keys):
            return None
        out = []
        for k in keys:
            s = self.by_key[k].pop(0)
            s.setblocking(False)
            out.append(s)
        self.taken += len(out)
        return out

    def close_unused(self) -> int:
        n = 0
        for lst in self.by_key.values():
            for s in lst:
                s.close()
                n += 1
        self.by_key.clear()
        return n


def _connect_unix(path: str, timeout: float) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s


def recv_fds(sock: socket.socket, timeout: float = 5.0) -> tuple[dict[str, Any], list[int]]:
    """Read a ``_getsocks`` answer: the JSON head line and every descriptor announced."""
    sock.settimeout(timeout)
    data = b""
    fds: list[int] = []
    head: dict[str, Any] | None = None
    fdsize = array.array("i").itemsize
    deadline = time.monotonic() + timeout
    while True:
        if head is not None and len(fds) >= int(head.get("count", 0)):
            return head, fds
        if time.monotonic() > deadline:
            raise TimeoutError("timed out receiving listening sockets")
        msg, anc, _flags, _addr = sock.recvmsg(65536, socket.CMSG_SPACE(MAX_SEND_FD * fdsize))
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(cdata[: len(cdata) - (len(cdata) % fdsize)])
                fds.extend(a)
        if not msg and not anc:
            if head is None:
                raise ConnectionError("the old process closed the connection without sockets "
                                      "(is 'expose-fd listeners' set on its stats socket?)")
            raise ConnectionError(f"received {len(fds)} of {head.get('count')} sockets")
        data += msg
        if head is None and b"\n" in data:
            line, _, data = data.partition(b"\n")
            try:
                head = json.loads(line.decode())
            except ValueError:
                for fd in fds:
                    os.close(fd)
                raise ConnectionError(f"unexpected answer to {SOCKS_CMD}: {line[:80]!r}") from None


def fetch_listeners(path: str, timeout: float = 5.0) -> Inherited:
    """``-x PATH``: get the old process's listening sockets."""
    s = _connect_unix(path, timeout)
    try:
        s.sendall(SOCKS_CMD.encode() + b"\n")
        _head, fds = recv_fds(s, timeout)
    finally:
        s.close()
    socks = []
    for fd in fds:
        try:
            socks.append(socket.socket(fileno=fd))
        except OSError:
            os.close(fd)
    return Inherited(socks)


def send_fds(sock: socket.socket, socks: list[socket.socket]) -> None:
    """Answer ``_getsocks`` on a connected (blocking) unix socket."""
    keys = [socket_key(s) for s in socks]
    head = {"count": len(socks), "socks": [{"key": list(k) if k else None} for k in keys]}
    sock.sendall(json.dumps(head).encode() + b"\n")
    fds = [s.fileno() for s in socks]
    for i in range(0, len(fds), MAX_SEND_FD):
        batch = fds[i:i + MAX_SEND_FD]
        sock.sendmsg([b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", batch))])


# ------------------------------------------------------------------------------------ state


def _plain(v: Any) -> Any:
    """Configuration value without source locations (moving a line is not a change)."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return tuple((f.name, _plain(getattr(v, f.name))) for f in dataclasses.fields(v) if f.name != "loc")
    if isinstance(v, (tuple, list)):
        return tuple(_plain(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((str(k), _plain(x)) for k, x in v.items()))
    if isinstance(v, (set, frozenset)):
        return tuple(sorted(repr(_plain(x)) for x in v))
    return v


def server_fingerprint(conf: Any) -> str:
    return repr(_plain(conf))


def collect_state(state: Any) -> list[dict[str, Any]]:
    """Every server's carried state, as plain data (the ``_getstate`` answer)."""
    out = []
    for e in state.proxies:
        be = e.backend
        if be is None:
            continue
        for s in be.servers:
            out.append({
                "be": be.name, "srv": s.name, "fp": server_fingerprint(s.conf),
                "maint": "FMAINT" in s.admin, "drain": "FDRAIN" in s.admin,
                "uweight": s.uweight, "iweight": s.iweight,
                "down": s.state == "STOPPED" and not s.in_maint and bool(s.check_enabled),
                "check_enabled": bool(s.check_enabled), "conf_check": bool(s.conf.check),
            })
    return out


def _admin_exec(state: Any, line: str, now: float, wall: float) -> str:
    from haproxy_py.stats.commands import Cli

    return Cli(state).execute(line, "admin", now, wall)


def apply_state(state: Any, items: Iterable[dict[str, Any]], now: float, wall: float,
                *, exact: bool = True) -> list[str]:
    """Apply carried states to the servers of ``state``; returns "be/srv" of each server changed.

    ``exact``: items carry a configuration fingerprint (``_getstate``); otherwise (state file)
    a server counts as changed when its configured weight or address differs."""
    done = []
    for it in items:
        be = state.backends.get(it.get("be"))
        if be is None:
            continue
        srv = be.by_name.get(it.get("srv"))
        if srv is None:
            continue
        if exact:
            if it.get("fp") != server_fingerprint(srv.conf):
                continue
        else:
            if int(it.get("iweight", srv.iweight)) != srv.iweight:
                continue
            addr = it.get("addr")
            port = it.get("port")
            if addr not in (None, "-", srv.host) or (port is not None and int(port) != srv.port):
                continue
        spec = f"{be.name}/{srv.name}"
        cmds = []
        if it.get("maint"):
            cmds.append(f"set server {spec} state maint")
        elif it.get("drain"):
            cmds.append(f"set server {spec} state drain")
        if int(it.get("uweight", srv.uweight)) != srv.uweight:
            cmds.append(f"set server {spec} weight {int(it['uweight'])}")
        if srv.conf.check:
            if it.get("check_enabled") is False and srv.check_enabled:
                cmds.append(f"disable health {spec}")
            if it.get("down") and not it.get("maint"):
                cmds.append(f"set server {spec} health down")
        for c in cmds:
            _admin_exec(state, c, now, wall)
        if cmds:
            done.append(spec)
    return done


def fetch_state(path: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Ask the old process (``_getstate`` on its stats socket) for its servers' state."""
    s = _connect_unix(path, timeout)
    try:
        s.sendall(STATE_CMD.encode() + b"\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    line = data.split(b"\n", 1)[0]
    try:
        items = json.loads(line.decode())
    except ValueError:
        raise ConnectionError(f"unexpected answer to {STATE_CMD}: {line[:80]!r}") from None
    return list(items) if isinstance(items, list) else []


# ------------------------------------------------------------------------------------ state file

# show servers state columns (version 1)
_SRV_MAINT_BITS = {"FMAINT": 0x01, "FDRAIN": 0x08}


def parse_servers_state(text: str) -> list[dict[str, Any]]:
    """``show servers state`` output / a ``server-state-file``: one dict per server row."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "1":
        return []
    out = []
    for ln in lines[1:]:
        if not ln.strip() or ln.startswith("#"):
            continue
        f = ln.split()
        if len(f) < 14:
            continue
        try:
            admin = int(f[6])
            op = int(f[5])
            chk_state = int(f[13])
            out.append({
                "be": f[1], "srv": f[3], "addr": f[4], "port": int(f[18]) if len(f) > 18 else None,
                "maint": bool(admin & _SRV_MAINT_BITS["FMAINT"]), "drain": bool(admin & _SRV_MAINT_BITS["FDRAIN"]),
                "uweight": int(f[7]), "iweight": int(f[8]),
                "down": op == 0 and not (admin & 0x07) and bool(chk_state & 0x04),
                "check_enabled": bool(chk_state & 0x04) if chk_state & 0x02 else None,
            })
        except (ValueError, IndexError):
            continue
    return out


def state_file_path(config: Any) -> str | None:
    g = config.global_
    path = g.server_state_file
    if not path:
        return None
    if not os.path.isabs(path) and g.server_state_base:
        path = os.path.join(g.server_state_base, path)
    return path


def load_state_file(state: Any, now: float, wall: float) -> list[str] | None:
    """``server-state-file`` + ``load-server-state-from-file``: apply the file at start.

    The per-backend ``load-server-state-from-file`` keyword is honoured when the config model
    carries it (``Proxy.load_server_state_from_file``: "global"/"local"/"none"); without it,
    a global ``server-state-file`` applies to every backend. Returns the servers changed, or
    None when there is no file to load."""
    path = state_file_path(state.config)
    if not path:
        return None
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    items = parse_servers_state(text)
    allowed = set()
    for e in state.proxies:
        if e.backend is None:
            continue
        mode = getattr(e.conf, "load_server_state_from_file", "global")
        if mode in (None, "global", True):
            allowed.add(e.name)
    return apply_state(state, [i for i in items if i["be"] in allowed], now, wall, exact=False)


# ------------------------------------------------------------------------------------ old side


def make_handler(engine: Any) -> Callable[[Any, Any, str], Awaitable[bool]]:
    """The ``StatsSocketServer.fd_passing`` hook of an ``expose-fd listeners`` socket."""

    async def handler(reader: Any, writer: Any, line: str) -> bool:
        cmd = line.strip().split(" ", 1)[0]
        if cmd == STATE_CMD:
            writer.write(json.dumps(collect_state(engine.state)).encode() + b"\n")
            await writer.drain()
            return True
        if cmd != SOCKS_CMD:
            return False
        await writer.drain()
        tsock = writer.get_extra_info("socket")
        if tsock is None:
            return True
        dup = socket.socket(fileno=os.dup(tsock.fileno()))
        try:
            dup.settimeout(5.0)  # keeps O_NONBLOCK (shared with the transport): Python polls
            socks = [lst.sock for lst in engine.listeners if lst.sock.fileno() >= 0]
            extra = getattr(engine, "extra_listen_socks", None)
            if extra:
                socks += [s for s in extra if s.fileno() >= 0]
            send_fds(dup, socks)
        except OSError:
            pass
        finally:
            dup.close()
        return True

    return handler
