"""Asynchronous client for HAProxy's stats socket (runtime API).

HAProxy's CLI in its default, non-interactive mode reads one line, runs it, writes the
output followed by an empty line and closes the connection. This client therefore opens one
connection per command, which also makes it immune to a proxy that restarts: the next command
simply connects to the new process.

Nothing here imports haproxy_py: the monitor must work against Debian's HAProxy as well.
"""

from __future__ import annotations

import asyncio
import csv
import errno
import os
import stat
from typing import cast

__all__ = [
    "StatsClient",
    "StatsError",
    "ConnectFailed",
    "PermissionDenied",
    "CommandFailed",
    "parse_address",
    "parse_stat_csv",
    "parse_stat_lines",
    "parse_info",
    "parse_servers_state",
    "escape_arg",
]

DEFAULT_TIMEOUT = 5.0
MAX_REPLY = 64 * 1024 * 1024


class StatsError(Exception):
    """Base class of every error this client reports (message is meant for the user)."""


class ConnectFailed(StatsError):
    """The socket could not be reached (missing, refused, timed out, closed early).

    ``address`` and ``reason`` are kept apart so a caller that already names the address
    prints it once: ``str()`` is ``"ADDRESS: reason"``.
    """

    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"{address}: {reason}")


def _os_reason(exc: OSError, kind: str, target: object) -> str:
    """A sentence for an OSError of connect/read (asyncio's strerror is 'Connect call failed (...)')."""
    code = exc.errno
    if code == errno.ECONNREFUSED:
        if kind == "unix":
            return "connection refused (a stale socket: nothing listens on it)"
        host, port = cast("tuple[str, int]", target)
        return f"connection refused: nothing listens on {host} port {port}"
    if code == errno.ENOENT:
        return "no such file"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied (not allowed to open the socket: check its mode and owner)"
    if code == errno.ENOTSOCK:
        return "not a socket"
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "host unreachable"
    if code == errno.ECONNRESET:
        return "connection reset by the peer"
    if code is not None:
        return os.strerror(code).lower()
    text = str(exc)
    return text if text else type(exc).__name__


class PermissionDenied(StatsError):
    """HAProxy answered ``Permission denied``: the socket's level is too low for the command."""

    def __init__(self, command: str) -> None:
        self.command = command
        super().__init__(
            f"Permission denied for {command!r}: the stats socket level is too low "
            "(actions need 'level admin' on the 'stats socket' line)"
        )


class CommandFailed(StatsError):
    """HAProxy refused the command with an error message (unknown server, bad weight...)."""

    def __init__(self, command: str, reply: str) -> None:
        self.command = command
        self.reply = reply
        super().__init__(f"{command}: {reply.strip()}")


def parse_address(address: str) -> tuple[str, str | tuple[str, int]]:
    """Split a socket address into ``("unix", path)`` or ``("tcp", (host, port))``.

    Accepts ``/path``, ``unix@/path``, ``HOST:PORT``, ``ipv4@HOST:PORT``, ``ipv6@[::1]:PORT``
    and ``[::1]:PORT``. Anything with a ``/`` or without a numeric port is a unix path.
    """
    addr = address.strip()
    if addr.startswith("unix@"):
        return "unix", addr[5:]
    for prefix in ("ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"):
        if addr.startswith(prefix):
            addr = addr[len(prefix) :]
            break
    else:
        if "/" in addr:
            return "unix", addr
    host, sep, port = addr.rpartition(":")
    if sep and port.isdigit() and host:
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return "tcp", (host, int(port))
    return "unix", addr


def escape_arg(word: str) -> str:
    """Escape a word for the CLI: ``;`` and ``\\`` are special in 2.6's command line."""
    return word.replace("\\", "\\\\").replace(";", "\\;")


def parse_stat_csv(text: str) -> list[dict[str, str]]:
    """Parse ``show stat`` CSV into one dict per row, keyed by the header's column names.

    Columns are found by name, never by position, so older (1.5: 62 columns) and newer
    HAProxy versions parse alike. The trailing comma of every line yields an empty last
    column that is dropped.
    """
    lines = text.splitlines()
    start = 0
    while start < len(lines) and not lines[start].startswith("#"):
        if lines[start].strip():
            raise ValueError(f"show stat: no CSV header, got {lines[start][:80]!r}")
        start += 1
    if start == len(lines):
        return []
    header = lines[start].lstrip("#").strip().split(",")
    if header and header[-1] == "":
        header.pop()
    ncol = len(header)
    rows: list[dict[str, str]] = []
    body = [ln for ln in lines[start + 1 :] if ln]
    for rec in csv.reader(body):
        if len(rec) > ncol:
            del rec[ncol:]
        rows.append(dict(zip(header, rec, strict=False)))
    return rows


def parse_stat_lines(text: str) -> tuple[list[str], list[list[str]]]:
    """``show stat`` as ``(header, records)``: the column names and one list of fields per row.

    The cheap form of :func:`parse_stat_csv` for large dumps (no dict per row): a line is split
    on commas, and only a line holding a double quote goes through the csv module.
    """
    start = text.find("# ")
    if start < 0 or text[:start].strip():
        if text.strip():
            raise ValueError(f"show stat: no CSV header, got {text[:80]!r}")
        return [], []
    end = text.find("\n", start)
    if end < 0:
        end = len(text)
    header = text[start + 2 : end].strip().split(",")
    if header and header[-1] == "":
        header.pop()
    ncol = len(header)
    records: list[list[str]] = []
    for line in text[end + 1 :].split("\n"):
        if not line:
            continue
        rec = next(csv.reader([line])) if '"' in line else line.split(",")
        if len(rec) > ncol:
            del rec[ncol:]
        records.append(rec)
    return header, records


def parse_info(text: str) -> dict[str, str]:
    """Parse ``show info`` (``Key: value`` lines) into a dict, keeping HAProxy's key names."""
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def parse_servers_state(text: str) -> list[dict[str, str]]:
    """Parse ``show servers state`` (version line, ``# names`` header, space-separated rows)."""
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            header = line[1:].split()
            continue
        if header is None:
            continue  # the format version line ("1")
        rows.append(dict(zip(header, line.split(), strict=False)))
    return rows


class StatsClient:
    """One-command-per-connection client for a unix or TCP stats socket."""

    __slots__ = ("address", "kind", "target", "timeout")

    def __init__(self, address: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.address = address
        self.kind, self.target = parse_address(address)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"StatsClient({self.address!r})"

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.kind == "unix":
            path = str(self.target)
            try:
                st = os.stat(path)
            except FileNotFoundError:
                raise ConnectFailed(self.address, "no such file") from None
            except OSError as exc:
                raise ConnectFailed(self.address, _os_reason(exc, "unix", path)) from None
            if not stat.S_ISSOCK(st.st_mode):
                if stat.S_ISDIR(st.st_mode):
                    what = "it is a directory"
                elif stat.S_ISREG(st.st_mode):
                    what = "it is a regular file"
                else:
                    what = "it is neither a socket nor a regular file"
                raise ConnectFailed(self.address, f"not a unix socket ({what})")
            return await asyncio.open_unix_connection(path, limit=MAX_REPLY)
        host, port = cast("tuple[str, int]", self.target)
        return await asyncio.open_connection(host, port, limit=MAX_REPLY)

    async def raw(self, command: str) -> str:
        """Send one command line and return everything HAProxy wrote before closing."""
        if "\n" in command or "\r" in command:
            raise StatsError("a command must be a single line")
        try:
            reader, writer = await asyncio.wait_for(self._open(), self.timeout)
        except StatsError:
            raise
        except asyncio.TimeoutError:
            raise ConnectFailed(self.address, f"connection timed out after {self.timeout:g}s") from None
        except OSError as exc:
            raise ConnectFailed(self.address, _os_reason(exc, self.kind, self.target)) from None
        try:
            writer.write(command.encode("utf-8", "surrogateescape") + b"\n")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(-1), self.timeout)
        except asyncio.TimeoutError:
            raise ConnectFailed(self.address, f"no reply within {self.timeout:g}s") from None
        except OSError as exc:
            raise ConnectFailed(self.address, _os_reason(exc, self.kind, self.target)) from None
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
        return data.decode("utf-8", "replace")

    async def command(self, command: str) -> str:
        """Run a command; return its output without the final empty line.

        Raises PermissionDenied when the level is too low, ConnectFailed when the socket
        cannot be reached or closes without answering.
        """
        reply = await self.raw(command)
        if not reply:
            raise ConnectFailed(self.address, "connection closed without a reply")
        if reply.endswith("\n\n"):
            reply = reply[:-1]
        if reply.startswith("Permission denied"):
            raise PermissionDenied(command)
        return reply

    async def action(self, command: str) -> str:
        """Run a command that answers nothing on success; raise CommandFailed on an error text."""
        reply = await self.command(command)
        if reply.strip():
            raise CommandFailed(command, reply)
        return reply

    # ---- reads ---------------------------------------------------------------------------

    async def show_stat(self) -> list[dict[str, str]]:
        text = await self.command("show stat")
        return parse_stat_csv(text)

    async def show_info(self) -> dict[str, str]:
        return parse_info(await self.command("show info"))

    async def show_servers_state(self, backend: str | None = None) -> list[dict[str, str]]:
        cmd = "show servers state" if backend is None else f"show servers state {escape_arg(backend)}"
        text = await self.command(cmd)
        if text.startswith("Can't find backend"):
            raise CommandFailed(cmd, text)
        return parse_servers_state(text)

    async def cli_level(self) -> str:
        """``admin``, ``operator`` or ``user`` (``unknown`` on an old HAProxy without the command)."""
        reply = (await self.command("show cli level")).strip()
        return reply if reply in ("admin", "operator", "user") else "unknown"

    # ---- actions ------------------------------------------------------------------------

    @staticmethod
    def _srv(backend: str, server: str) -> str:
        return f"{escape_arg(backend)}/{escape_arg(server)}"

    async def set_state(self, backend: str, server: str, state: str) -> str:
        if state not in ("ready", "drain", "maint"):
            raise ValueError(f"state must be ready, drain or maint, not {state!r}")
        return await self.action(f"set server {self._srv(backend, server)} state {state}")

    async def set_weight(self, backend: str, server: str, weight: int | str) -> str:
        w = str(weight).strip()
        if not w or not (w[:-1] if w.endswith("%") else w).isdigit():
            raise ValueError(f"weight must be a number or a percentage, not {weight!r}")
        return await self.action(f"set weight {self._srv(backend, server)} {w}")

    async def set_health_checks(self, backend: str, server: str, enabled: bool) -> str:
        verb = "enable" if enabled else "disable"
        return await self.action(f"{verb} health {self._srv(backend, server)}")

    async def shutdown_sessions(self, backend: str, server: str) -> str:
        return await self.action(f"shutdown sessions server {self._srv(backend, server)}")
