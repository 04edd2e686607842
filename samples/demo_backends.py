#!/usr/bin/env python3
"""The five demo backends named by samples/haproxy.cfg, on 127.0.0.1.

    static 127.0.0.1:4331    app1..app4 127.0.0.1:5001..5004

Each answers every request with a short text body naming itself and echoing the request line and
headers it received (to check what the proxy forwards: X-Forwarded-For, connection headers, ...),
``/health`` answers 200 ``OK``. HTTP/1.1 keep-alive is honoured; request bodies (Content-Length) are
read and ignored. Runs until interrupted (Ctrl-C or SIGTERM).

    python samples/demo_backends.py                      # the five default backends
    python samples/demo_backends.py --ports static=4331,app1=5001
    python samples/demo_backends.py --ports 6001,6002    # names become app1, app2
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

DEFAULT = (("static", 4331), ("app1", 5001), ("app2", 5002), ("app3", 5003), ("app4", 5004))
MAX_HEAD = 65536


class DemoHTTP(asyncio.Protocol):
    """A minimal HTTP/1.x responder; one instance per connection."""

    __slots__ = ("name", "transport", "buf", "skip")

    def __init__(self, name: str) -> None:
        self.name = name
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.skip = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None:
            if self.skip:
                n = min(self.skip, len(self.buf))
                self.buf = self.buf[n:]
                self.skip -= n
                if self.skip:
                    return
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self.reply(400, b"request head too large\n", close=True)
                return
            head, self.buf = self.buf[:end], self.buf[end + 4:]
            self.handle(head)

    def handle(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            self.reply(400, b"bad request line\n", close=True)
            return
        method, target, version = parts
        headers = []
        close = version == b"HTTP/1.0"
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            value = value.strip()
            headers.append((name, value))
            lname = name.strip().lower()
            if lname == b"content-length" and value.isdigit():
                self.skip = int(value)
            elif lname == b"connection":
                tokens = {t.strip().lower() for t in value.split(b",")}
                if b"close" in tokens:
                    close = True
                elif b"keep-alive" in tokens:
                    close = False
        if target.split(b"?", 1)[0] == b"/health":
            self.reply(200, b"OK\n", close=close, head_only=method == b"HEAD")
            return
        body = [b"server: " + self.name.encode(), b"request: " + lines[0]]
        body += [b"header: " + n + b": " + v for n, v in headers]
        self.reply(200, b"\n".join(body) + b"\n", close=close, head_only=method == b"HEAD")

    def reply(self, status: int, body: bytes, close: bool, head_only: bool = False) -> None:
        reason = {200: b"OK", 400: b"Bad Request"}.get(status, b"OK")
        head = [b"HTTP/1.1 %d %s" % (status, reason), b"Content-Type: text/plain",
                b"Content-Length: %d" % len(body), b"X-Server: " + self.name.encode()]
        if close:
            head.append(b"Connection: close")
        assert self.transport is not None
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + (b"" if head_only else body))
        if close:
            self.transport.close()
            self.transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def parse_ports(spec: str | None) -> list[tuple[str, int]]:
    """``static=4331,app1=5001`` or ``5001,5002`` (named app1, app2, ...)."""
    if not spec:
        return list(DEFAULT)
    out: list[tuple[str, int]] = []
    for i, item in enumerate(x for x in spec.split(",") if x.strip()):
        name, sep, port = item.strip().rpartition("=")
        out.append((name if sep else f"app{i + 1}", int(port)))
    return out


async def serve(backends: list[tuple[str, int]], host: str = "127.0.0.1") -> None:
    loop = asyncio.get_running_loop()
    servers = []
    for name, port in backends:
        servers.append(await loop.create_server(lambda n=name: DemoHTTP(n), host, port, reuse_address=True))
        print(f"demo backend {name} listening on {host}:{port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers:
        s.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Demo HTTP backends for samples/demo.cfg")
    ap.add_argument("--ports", help="name=port,... or port,... (default: static=4331,app1=5001..app4=5004)")
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args(argv)
    try:
        asyncio.run(serve(parse_ports(args.ports), args.host))
    except OSError as exc:
        print(f"demo_backends: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
