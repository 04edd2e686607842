"""Email alerts on the event loop: one short SMTP exchange per alert and mailer
(checks/mailers.py says what is exchanged). Only a configuration with ``email-alert`` starts it."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from haproxy_py.checks import mailers as ML
from haproxy_py.config.mailers import Mailers
from haproxy_py.config.model import EmailAlert


class Mailer:
    def __init__(self, loop: Any, alerts: dict[str, tuple[EmailAlert, Mailers]]) -> None:
        self.loop = loop
        self.alerts = alerts
        self.hostname = os.uname().nodename
        self.tasks: set[asyncio.Task[None]] = set()

    def alert(self, proxy: str, level: int, text: str) -> None:
        """A state change's alert: mailed to each mailer of the proxy's section when its level is wanted."""
        conf = self.alerts.get(proxy)
        if conf is None or not ML.wanted(conf[0], level):
            return
        ea, mailers = conf
        steps = ML.steps(ea, self.hostname, text, time.time())
        for _name, host, port in mailers.servers:
            t = self.loop.create_task(self._send(host, port, steps, mailers.timeout / 1000.0))
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)

    async def _send(self, host: str, port: int, steps: list[ML.Step], timeout: float) -> None:
        try:
            await asyncio.wait_for(self._exchange(host, port, steps), timeout or None)
        except (OSError, asyncio.TimeoutError, EOFError):
            pass

    @staticmethod
    async def _exchange(host: str, port: int, steps: list[ML.Step]) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        buf = b""
        try:
            for kind, data in steps:
                if kind == "send":
                    writer.write(data)
                    await writer.drain()
                    continue
                while True:
                    code, used = ML.reply_code(buf)
                    if code is not None:
                        buf = buf[used:]
                        break
                    chunk = await reader.read(4096)
                    if not chunk:
                        return
                    buf += chunk
                if code != data:
                    return
        finally:
            writer.close()

    def stop(self) -> None:
        for t in list(self.tasks):
            t.cancel()
