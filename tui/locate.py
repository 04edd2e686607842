"""Find the stats socket to monitor: from the command line, a config file, or usual places.

The config reader is deliberately tiny (it only looks for ``stats socket`` lines in the
``global`` section) so that the monitor never needs haproxy_py.
"""

from __future__ import annotations

import glob
import os
import stat

__all__ = [
    "SocketNotFound",
    "stats_sockets_from_config",
    "sockets_of_config",
    "default_candidates",
    "default_configs",
    "search_sockets",
    "find_socket",
    "DEMO_SOCKET",
]

_LEVELS = {"admin": 3, "operator": 2, "user": 1}


class SocketNotFound(Exception):
    """No usable stats socket; the message lists what was tried."""

    def __init__(self, tried: list[str], detail: str = "") -> None:
        self.tried = tried
        lines = [detail or "no HAProxy stats socket found."]
        if tried:
            lines.append("Tried:")
            lines.extend(f"  {t}" for t in tried)
        lines.append("Give one with -s PATH, HOST:PORT, or -f haproxy.cfg.")
        super().__init__("\n".join(lines))


def _words(line: str) -> list[str]:
    """Split a config line into words: quotes, backslash escapes and ``#`` comments."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    have = False
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"' and i + 1 < n:
                i += 1
                cur.append(line[i])
            else:
                cur.append(c)
        elif c in "\"'":
            quote = c
            have = True
        elif c == "\\" and i + 1 < n:
            i += 1
            cur.append(line[i])
            have = True
        elif c == "#":
            break
        elif c in " \t":
            if cur or have:
                words.append("".join(cur))
                cur, have = [], False
        else:
            cur.append(c)
        i += 1
    if cur or have:
        words.append("".join(cur))
    return words


def _expand(word: str) -> str:
    return os.path.expandvars(word) if "$" in word else word


def stats_sockets_from_config(path: str) -> list[tuple[str, str]]:
    """Return ``(address, level)`` for every ``stats socket`` line of the global section,
    best level first (``operator`` is HAProxy's default level)."""
    found: list[tuple[str, str]] = []
    section = ""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            words = _words(raw.rstrip("\n"))
            if not words:
                continue
            if not raw[:1].isspace() and words[0] in (
                "global",
                "defaults",
                "frontend",
                "backend",
                "listen",
                "userlist",
                "peers",
                "resolvers",
                "mailers",
                "program",
                "http-errors",
                "ring",
                "cache",
            ):
                section = words[0]
                continue
            if section == "global" and len(words) >= 3 and words[0] == "stats" and words[1] == "socket":
                addr = _expand(words[2])
                level = "operator"
                if "level" in words[3:]:
                    idx = words.index("level", 3)
                    if idx + 1 < len(words):
                        level = words[idx + 1]
                found.append((addr, level))
    found.sort(key=lambda a: -_LEVELS.get(a[1], 0))
    return found


DEMO_SOCKET = "/tmp/haproxy-py-demo.sock"


def default_configs() -> list[str]:
    """Configuration files whose ``stats socket`` lines are tried first, in this order."""
    return ["haproxy.cfg", "/etc/haproxy/haproxy.cfg"]


def default_candidates() -> list[str]:
    """Usual places where a stats socket lives, in the order they are tried: the demo's
    socket (samples/demo.cfg), Debian's, then other distributions' and /tmp."""
    out = [
        DEMO_SOCKET,
        "/run/haproxy/admin.sock",
        "/var/run/haproxy/admin.sock",
        "/var/lib/haproxy/stats",
        "/run/haproxy.sock",
        "/var/run/haproxy.sock",
        "/tmp/haproxy.sock",
    ]
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        out.append(os.path.join(xdg, "haproxy-py", "*.sock"))
    out.append("/tmp/haproxy-py-*/stats")
    out.append("/tmp/haproxy-py-*/*.sock")
    return out


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _is_unix(address: str) -> bool:
    a = address.strip()
    if a.startswith("unix@"):
        return True
    if a.startswith(("ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@")):
        return False
    host, sep, port = a.rpartition(":")
    return "/" in a or not (sep and port.isdigit() and host)


def _check_path(path: str, origin: str, found: list[tuple[str, str]], tried: list[str]) -> None:
    note = f" (from {origin})" if origin else ""
    if _is_socket(path):
        if os.access(path, os.R_OK | os.W_OK):
            found.append((path, origin))
        else:
            tried.append(f"{path}{note} (no permission)")
    elif os.path.exists(path):
        tried.append(f"{path}{note} (not a socket)")
    else:
        tried.append(f"{path}{note} (missing)")


def search_sockets(
    candidates: list[str] | None = None, configs: list[str] | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """Look where a user expects a stats socket: the ``stats socket`` lines of ./haproxy.cfg
    and /etc/haproxy/haproxy.cfg, the demo's socket, then the usual paths.

    Returns ``(found, tried)``: ``found`` lists ``(address, origin)`` that look usable (a unix
    socket this user may open, or a TCP address from a config), best first; ``tried`` says
    why each other place was not kept. The caller still has to connect (a socket file can
    be stale) and should add its own notes for those that refuse.
    """
    found: list[tuple[str, str]] = []
    tried: list[str] = []
    for cfg in default_configs() if configs is None else configs:
        if not os.path.isfile(cfg):
            tried.append(f"{cfg} (no such config file)")
            continue
        try:
            socks = stats_sockets_from_config(cfg)
        except OSError as exc:
            tried.append(f"{cfg} (cannot read: {exc.strerror or exc})")
            continue
        if not socks:
            tried.append(f"{cfg} (no 'stats socket' line in its global section)")
        for addr, _level in socks:
            if _is_unix(addr):
                _check_path(addr[5:] if addr.startswith("unix@") else addr, cfg, found, tried)
            else:
                found.append((addr, cfg))
    for pattern in candidates if candidates is not None else default_candidates():
        matches = sorted(glob.glob(pattern)) if any(ch in pattern for ch in "*?[") else [pattern]
        if not matches:
            tried.append(f"{pattern} (nothing matches)")
            continue
        for path in matches:
            if any(path == f for f, _ in found):
                continue
            _check_path(path, "", found, tried)
    return found, tried


def find_socket(
    socket: str | None = None,
    config: str | None = None,
    candidates: list[str] | None = None,
    configs: list[str] | None = None,
) -> str:
    """Pick the address to monitor; raise SocketNotFound listing what was tried.

    ``configs`` defaults to no config files here (``search_sockets`` reads the default ones):
    this function is the offline part, the monitor's ``main`` also connects to each.
    """
    if socket:
        return socket
    if config:
        return sockets_of_config(config)[0][0]
    found, tried = search_sockets(candidates, [] if configs is None else configs)
    if not found:
        raise SocketNotFound(tried)
    return found[0][0]


def sockets_of_config(config: str) -> list[tuple[str, str]]:
    """The ``stats socket`` lines of ``config`` as ``(address, level)``, best level first."""
    try:
        socks = stats_sockets_from_config(config)
    except OSError as exc:
        raise SocketNotFound([], f"cannot read {config}: {exc.strerror or exc}") from None
    if not socks:
        raise SocketNotFound([], f"{config} has no 'stats socket' line in its global section.")
    return socks
