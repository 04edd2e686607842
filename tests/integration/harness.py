"""Loopback test harness: recording HTTP/TCP backends and a proxy launcher (ours or Debian's HAProxy).

Backends run in threads of the test process (ThreadingTCPServer on 127.0.0.1) and record what they
receive; the proxy runs as a subprocess started and stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port  # noqa: F401  (the tests import it from here too)

ROOT = Path(__file__).resolve().parents[2]


def http_defaults(client_server: str = "5s") -> str:
    """A ``defaults`` section in mode http: connect timeout 2s, client and server timeouts as given."""
    return (f"defaults\n    mode http\n    timeout connect 2s\n"
            f"    timeout client {client_server}\n    timeout server {client_server}\n")


# the ``defaults`` section most HTTP test configs start with
HTTP_DEFAULTS = http_defaults()

# a frontend ``fe`` on port ``{port}`` sending everything to backend ``be`` (a ``.format`` template)
FE_TO_BE = """\
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
"""

# a frontend ``main`` on port ``{fe}`` sending everything to a round-robin backend ``app``; the
# config adds the backend's ``server`` lines
MAIN_TO_APP = """\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    balance roundrobin
"""


def wait_files(paths: list[str | Path] | tuple[str | Path, ...], timeout: float = 10.0,
               detail: Callable[[], str] | None = None) -> None:
    """Wait until every path exists (HAProxy binds its unix sockets after the TCP listeners).

    Fails (AssertionError) after ``timeout`` seconds; ``detail()`` (e.g. the proxy's stderr) is
    added to the message.
    """
    deadline = time.monotonic() + timeout
    while not all(os.path.exists(p) for p in paths):
        assert time.monotonic() < deadline, (
            f"not created after {timeout}s: {[str(p) for p in paths]}" + (f"\n{detail()}" if detail else ""))
        time.sleep(0.02)


def until(cond: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll ``cond()`` until it is true (True) or ``timeout`` seconds passed (False): for the
    asynchronous outputs a test compares (log lines, a backend's requests) instead of a sleep."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def stop_process(proc: subprocess.Popen, timeout: float = 5.0) -> None:  # type: ignore[type-arg]
    """SIGTERM a process this test started, SIGKILL it after ``timeout`` seconds; reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def recv_all(sock: socket.socket, bufsize: int = 65536) -> bytes:
    """Everything a connected socket receives until the peer closes."""
    chunks = []
    while True:
        d = sock.recv(bufsize)
        if not d:
            return b"".join(chunks)
        chunks.append(d)


def require_haproxy(which: str, what: str = "the reference half") -> None:
    """Fail (never skip) a ``which="haproxy"`` run when Debian's haproxy is not installed."""
    if which == "haproxy" and not os.path.exists(shutil.which("haproxy") or "/usr/sbin/haproxy"):
        pytest.fail(f"Debian's haproxy is required for {what}")


def wait_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


# ----------------------------------------------------------------------------- HTTP reading


def read_http_message(f, *, response: bool = False, head_only: bool = False) -> tuple[bytes, list[tuple[str, str]], bytes]:
    """Read one HTTP/1 message from a binary file object: (start line, headers, body)."""
    start = f.readline()
    if not start:
        raise EOFError
    start = start.rstrip(b"\r\n")
    headers: list[tuple[str, str]] = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name, value.strip()))
    hd = {k.lower(): v for k, v in headers}
    body = b""
    if head_only:
        return start, headers, body
    if "chunked" in hd.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size_line = f.readline()
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(f.read(size))
            f.readline()
        body = b"".join(chunks)
    elif "content-length" in hd:
        body = f.read(int(hd["content-length"]))
    elif response:
        code = int(start.split()[1])
        if not (100 <= code < 200 or code in (204, 304)):
            body = f.read()
    return start, headers, body


@dataclass
class Recorded:
    start: bytes
    headers: list[tuple[str, str]]
    body: bytes
    peer: tuple[str, int]
    conn_id: int

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class HttpBackend:
    """A recording HTTP/1.1 backend. ``behaviour(req) -> (status, headers, body)`` may be replaced."""

    name: str
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    connections: int = 0
    concurrent: int = 0
    max_concurrent: int = 0
    delay: float = 0.0
    status: int = 200
    behaviour: Callable[[Recorded], tuple[int, list[tuple[str, str]], bytes] | None] | None = None
    _server: socketserver.ThreadingTCPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> HttpBackend:
        backend = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                with backend._lock:
                    backend.connections += 1
                    cid = backend.connections
                f = self.rfile
                while True:
                    try:
                        start, headers, body = read_http_message(f)
                    except (EOFError, ValueError, OSError):
                        return
                    rec = Recorded(start, headers, body, self.client_address, cid)
                    with backend._lock:
                        backend.requests.append(rec)
                        backend.concurrent += 1
                        backend.max_concurrent = max(backend.max_concurrent, backend.concurrent)
                    try:
                        if backend.delay:
                            time.sleep(backend.delay)
                        if backend.behaviour is not None:
                            res = backend.behaviour(rec)
                            if res is None:  # close without answering
                                return
                            status, hdrs, rbody = res
                        else:
                            status, hdrs, rbody = backend.status, [], f"{backend.name}\n".encode()
                    finally:
                        with backend._lock:
                            backend.concurrent -= 1
                    close = (rec.header("connection") or "").lower() == "close" or start.endswith(b"1.0")
                    out = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'X'}",
                           f"X-Server: {backend.name}"]
                    if not any(k.lower() == "content-length" for k, _ in hdrs) and not any(
                            k.lower() == "transfer-encoding" for k, _ in hdrs):
                        out.append(f"Content-Length: {len(rbody)}")
                    out += [f"{k}: {v}" for k, v in hdrs]
                    if close:
                        out.append("Connection: close")
                    try:
                        self.wfile.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + rbody)
                        self.wfile.flush()
                    except OSError:
                        return
                    if close:
                        return

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        # socketserver accepts on a blocking socket after select() said "readable": a connection
        # gone from the queue in between (a proxy resetting it) blocked accept() -- and the
        # stop() that waits for serve_forever -- for ever (seen: a full run hung there). With a
        # timeout accept() gives up (OSError, which socketserver ignores); accepted sockets stay
        # blocking.
        self._server.socket.settimeout(0.5)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def names(self) -> list[str]:
        return [r.header("x-server") or "" for r in self.requests]


@contextlib.contextmanager
def http_backends(*names: str) -> Iterator[list[HttpBackend]]:
    bes = [HttpBackend(n).start() for n in names]
    try:
        yield bes
    finally:
        for b in bes:
            b.stop()


class TcpServer:
    """A raw TCP server on 127.0.0.1 for tests: a thread accepts and calls ``serve(conn)`` for each
    connection, in a thread of its own when ``threaded`` (else one connection at a time).

    Subclasses set their own attributes before calling ``super().__init__()`` and implement ``serve``,
    which owns (and closes) the connection.
    """

    threaded = True

    def __init__(self, backlog: int = 16) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port: int = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.threaded:
                threading.Thread(target=self.serve, args=(c,), daemon=True).start()
            else:
                self.serve(c)

    def serve(self, c: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        try:  # wakes the accept() of the thread (close() alone leaves it blocked for ever)
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


# ----------------------------------------------------------------------------- proxies


@dataclass
class ProxyProcess:
    proc: subprocess.Popen
    cfg: Path
    workdir: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr_text(self) -> str:
        p = self.workdir / "stderr.txt"
        return p.read_text(errors="replace") if p.exists() else ""


@contextlib.contextmanager
def run_proxy(cfg_text: str, *, wait_ports: list[int] = (), which: str = "ours",
              extra_args: list[str] | None = None, env: dict[str, str] | None = None) -> Iterator[ProxyProcess]:
    """Start our proxy (``which="ours"``) or Debian's HAProxy (``which="haproxy"``) in the foreground."""
    workdir = Path(tempfile.mkdtemp(prefix="hpy-"))
    cfg = workdir / "haproxy.cfg"
    cfg.write_text(cfg_text.replace("@DIR@", str(workdir)))
    if which == "ours":
        cmd = [sys.executable, "-m", "haproxy_py", "-db", "-f", str(cfg)]
    else:
        cmd = ["haproxy", "-db", "-f", str(cfg)]
    cmd += extra_args or []
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        full_env.update(env)
    errf = open(workdir / "stderr.txt", "wb")
    proc = subprocess.Popen(cmd, stdout=errf, stderr=errf, cwd=str(ROOT), env=full_env)
    pp = ProxyProcess(proc, cfg, workdir)
    try:
        for port in wait_ports:
            try:
                wait_port(port, timeout=15)
            except TimeoutError:
                raise RuntimeError(f"proxy did not start: {pp.stderr_text()}") from None
        yield pp
    finally:
        stop_process(proc)
        errf.close()


def http_request(port: int, raw: bytes, *, timeout: float = 5.0, host: str = "127.0.0.1",
                 source: str | None = None) -> bytes:
    """Send raw bytes, read until the server closes (or timeout), return everything received."""
    s = socket.create_connection((host, port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    try:
        s.sendall(raw)
        chunks = []
        while True:
            try:
                d = s.recv(65536)
            except TimeoutError:
                break
            if not d:
                break
            chunks.append(d)
        return b"".join(chunks)
    finally:
        s.close()


def get(port: int, path: str = "/", headers: dict[str, str] | None = None, *, timeout: float = 5.0,
        source: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request with Connection: close; returns (status, headers (lower-case keys), body)."""
    h = {"Host": "test", "Connection": "close"}
    h.update(headers or {})
    raw = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
    resp = http_request(port, raw.encode(), timeout=timeout, source=source)
    import io

    start, hdrs, body = read_http_message(io.BytesIO(resp), response=True)
    return int(start.split()[1]), {k.lower(): v for k, v in hdrs}, body
