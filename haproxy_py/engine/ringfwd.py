"""The TCP connections of ``ring`` servers: each sends the ring's lines (log/ring.py), one
``\\n``-terminated line after the other, and waits for new ones. A refused or lost connection is
tried again a second later and resumes after the last line it sent (from the oldest line still in
the ring when that one was overwritten meanwhile)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from haproxy_py.log.ring import Ring

RETRY_S = 1.0


class RingForwarder:
    def __init__(self, loop: asyncio.AbstractEventLoop, rings: dict[str, Ring]) -> None:
        self.loop = loop
        self.tasks: list[asyncio.Task[None]] = []
        for ring in rings.values():
            for _name, addr in ring.conf.servers:
                self.tasks.append(loop.create_task(self._run(ring, addr)))

    async def _run(self, ring: Ring, addr: Any) -> None:
        wake = asyncio.Event()
        ring.waiters.append(wake.set)
        tc = ring.conf.timeout_connect / 1000 or None
        ts = ring.conf.timeout_server / 1000 or None
        fam = socket.AF_INET6 if addr.kind == "ipv6" else socket.AF_INET
        seq = 0
        try:
            while True:
                sock = socket.socket(fam, socket.SOCK_STREAM)
                sock.setblocking(False)
                reader: asyncio.Future[bytes] | None = None
                try:
                    await asyncio.wait_for(self.loop.sock_connect(sock, (addr.host, addr.port_lo)), tc)
                    # what the server sends is read and dropped; its end (or an error) closes ours
                    reader = asyncio.ensure_future(self.loop.sock_recv(sock, 4096))
                    while True:
                        wake.clear()
                        nseq, lines = ring.since(seq)
                        if lines:
                            data = b"".join(line + b"\n" for line in lines)
                            await asyncio.wait_for(self.loop.sock_sendall(sock, data), ts)
                            seq = nseq
                            continue
                        waiter = asyncio.ensure_future(wake.wait())
                        done, _ = await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
                        if reader in done:
                            waiter.cancel()
                            if not reader.result():
                                break
                            reader = asyncio.ensure_future(self.loop.sock_recv(sock, 4096))
                except (OSError, asyncio.TimeoutError):
                    pass
                finally:
                    if reader is not None and not reader.done():
                        reader.cancel()
                    sock.close()
                await asyncio.sleep(RETRY_S)
        finally:
            with contextlib.suppress(ValueError):
                ring.waiters.remove(wake.set)

    def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        self.tasks.clear()
