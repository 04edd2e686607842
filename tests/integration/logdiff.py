"""Shared machinery of the log-fidelity differentials (captures, byte counts, timers): a scripted
HTTP backend, one proxy (ours or Debian's HAProxy 2.6) logging to a UDP sink, and the client that
sends generated requests one at a time and collects the log line each one produced.

The backend answers each request with the response the test prepared for it: the request names
its case with an ``x-case: N`` header, so both proxies see the same exchange whatever they do with
the connection.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.integration.harness import TcpServer, free_port, run_proxy
from tests.integration.stats_client import stats_cli
from tests.integration.syslog_sinks import udp_sink


class ScriptedBackend(TcpServer):
    """Answers the request carrying ``x-case: N`` with ``responses[N]`` (raw bytes), then closes."""

    def __init__(self, responses: Sequence[bytes], delay: float = 0.0) -> None:
        self.responses = list(responses)
        self.delay = delay
        super().__init__(backlog=64)

    def serve(self, c: socket.socket) -> None:
        try:
            c.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    return
                data += d
            head, _, rest = data.partition(b"\r\n\r\n")
            case = -1
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"x-case":
                    case = int(value.strip())
                elif name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(rest) < length:
                d = c.recv(65536)
                if not d:
                    break
                rest += d
            if self.delay:
                time.sleep(self.delay)
            if 0 <= case < len(self.responses):
                c.sendall(self.responses[case])
        except OSError:
            pass
        finally:
            c.close()


def read_reply(c: socket.socket) -> bytes:
    """Everything the proxy sends until it closes (the requests ask for ``Connection: close``)."""
    got = []
    while True:
        try:
            d = c.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not d:
            break
        got.append(d)
    return b"".join(got)


@dataclass
class Run:
    lines: list[str] = field(default_factory=list)  # one log message per request (None-less)
    replies: list[bytes] = field(default_factory=list)
    stats: str = ""
    info: str = ""


def run_requests(which: str, cfg: str, requests: Sequence[bytes], *, fe_port: int, sink: socket.socket,
                 stats_sock: str | None = None, lines_per_request: int = 1, settle: float = 0.0) -> Run:
    """Start the proxy, send each request on its own connection, read the reply, then wait for its
    log lines (``lines_per_request``); with ``stats_sock`` (the config's ``@DIR@/stats.sock``) read
    ``show stat`` and ``show info`` at the end."""
    out = Run()
    with run_proxy(cfg, wait_ports=[fe_port], which=which) as pp:
        time.sleep(0.2)
        # whatever the port probe logged (its line comes when the probe closes, at once): until
        # 0.6 s of silence, not the sink's whole timeout
        timeout = sink.gettimeout()
        sink.settimeout(0.6)
        try:
            while True:
                sink.recv(65536)
        except (TimeoutError, BlockingIOError):
            pass
        finally:
            sink.settimeout(timeout)
        for raw in requests:
            with socket.create_connection(("127.0.0.1", fe_port), timeout=5) as c:
                c.sendall(raw)
                out.replies.append(read_reply(c))
            for _ in range(lines_per_request):
                try:
                    d = sink.recv(65536).decode("latin-1")
                except TimeoutError:
                    out.lines.append("<no log line>")
                    continue
                out.lines.append(d.split("]: ", 1)[1].rstrip("\n") if "]: " in d else d)
        if settle:
            time.sleep(settle)
        if stats_sock is not None:
            path = stats_sock.replace("@DIR@", str(pp.workdir))
            out.stats = stats_cli(path, "show stat")
            out.info = stats_cli(path, "show info")
    return out


def log_sink() -> tuple[socket.socket, int]:
    return udp_sink(3.0)


__all__ = ["ScriptedBackend", "read_reply", "run_requests", "log_sink", "free_port", "Run"]
