"""A fake HAProxy stats socket for the TUI tests.

An asyncio unix server running in its own thread (so it serves both ``App.run_test()`` and
pytest-textual-snapshot, which runs the app in its own loop). It replays real captures from
``reference/samples`` and records every command line it receives, byte for byte.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path

from tests.conftest import SAMPLES

SHOW_STAT = (SAMPLES / "show_stat.csv").read_text()
SHOW_INFO = (SAMPLES / "show_info.txt").read_text()
SHOW_SERVERS_STATE = (SAMPLES / "show_servers_state.txt").read_text()


def _ensure_blank(text: str) -> str:
    """Every reply ends with one empty line (HAPROXY_FACTS 9.1)."""
    text = text.rstrip("\n") + "\n"
    return text + "\n"


PERIODIC = (b"show stat\n", b"show info\n", b"show cli level\n", b"show servers state\n")


class FakeStatsServer:
    """Serve one command per connection, like HAProxy's non-interactive CLI."""

    def __init__(self, path: str | Path, level: str = "admin") -> None:
        self.path = str(path)
        self.level = level
        self.received: list[bytes] = []
        self.stat = SHOW_STAT
        self.info = SHOW_INFO
        self.handlers: dict[str, Callable[[str], str]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    # ---- replies -----------------------------------------------------------------------

    def reply_for(self, line: str) -> str:
        for prefix, fn in self.handlers.items():
            if line.startswith(prefix):
                return fn(line)
        if line == "show cli level":
            return self.level + "\n\n"
        if line == "show stat":
            return _ensure_blank(self.stat)
        if line == "show info":
            return _ensure_blank(self.info)
        if line.startswith("show servers state"):
            return _ensure_blank(SHOW_SERVERS_STATE)
        if line.startswith(("set ", "enable ", "disable ", "shutdown ", "clear ")):
            if self.level != "admin":
                return "Permission denied\n\n"
            return "\n"
        if line.startswith("get weight"):
            return "1 (initial 1)\n\n"
        return "Unknown command, but maybe one of the following ones is a better match:\n\n"

    def commands(self) -> list[str]:
        """Commands received, without the periodic reads of the monitor (``show servers state``
        without a backend is the monitor's read of the configured weights)."""
        with self._lock:
            got = list(self.received)
        return [c.decode() for c in got if c not in PERIODIC]

    # ---- server ------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            with self._lock:
                self.received.append(line)
            reply = self.reply_for(line.decode().rstrip("\n"))
            writer.write(reply.encode())
            await writer.drain()
        finally:
            writer.close()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def start() -> None:
            self._server = await asyncio.start_unix_server(self._handle, path=self.path)

        loop.run_until_complete(start())
        self._ready.set()
        loop.run_forever()
        # shutdown
        if self._server is not None:
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
        loop.close()

    def start(self) -> FakeStatsServer:
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("fake stats server did not start")
        return self

    def stop(self) -> None:
        """Close the socket and remove its file: the proxy 'goes away'."""
        loop = self._loop
        if loop is not None and self._thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(5)
        self._loop = None
        self._thread = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> FakeStatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
