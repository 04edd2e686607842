"""A large Content-Length response body goes through splice() (engine/bodysplice.py): the client
gets it byte for byte, exactly the body's bytes are taken from the server (the server connection
carries the next requests), the client's connection serves its next requests, and %B, %U and
``show stat`` bout count what 2.6 counts. Side by side: Debian's HAProxy 2.6, haproxy-py, and
haproxy-py with 'nosplice' (buffered: no pipe opened)."""

from __future__ import annotations

import os
import random
import socket
import threading
import time

import pytest

from tests.conftest import free_port, require_haproxy_bin
from tests.integration.harness import run_proxy
from tests.integration.syslog_sinks import recv_until_quiet, udp_sink

BIG = 3 << 20
PAYLOAD = random.Random(20).randbytes(BIG)


def _pipes(pid: int) -> int:
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            pass
    return n


class _Backend:
    """Keep-alive HTTP/1.1 server: /big answers PAYLOAD with Content-Length (in pieces), anything
    else a small body; records the requests each connection carried."""

    def __init__(self) -> None:
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.conns: list[list[str]] = []
        self.stop = False
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stop:
            try:
                c, _ = self.ls.accept()
            except (TimeoutError, OSError):
                continue
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, c: socket.socket) -> None:
        c.settimeout(10)
        seen: list[str] = []
        self.conns.append(seen)
        buf = b""
        try:
            while not self.stop:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                path = head.split(b" ", 2)[1].decode()
                seen.append(path)
                if path.startswith("/trunc"):
                    # a promise of BIG bytes, one MiB of them, then the server goes away
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % BIG + PAYLOAD[:1 << 20])
                    return
                if path.startswith("/huge"):
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (8 * BIG))
                    for _ in range(8):
                        c.sendall(PAYLOAD)
                    continue
                if path.startswith("/big"):
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                              b"Content-Length: %d\r\n\r\n" % BIG)
                    for i in range(0, BIG, 1 << 19):
                        c.sendall(PAYLOAD[i:i + (1 << 19)])
                else:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Path: " + path.encode() + b"\r\n\r\nsmall")
        except OSError:
            pass
        finally:
            c.close()

    def close(self) -> None:
        self.stop = True
        self.ls.close()
        for t in self.threads:
            t.join(timeout=12)


def _read_response(c: socket.socket, deadline: float) -> tuple[bytes, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        assert time.monotonic() < deadline, "response head timeout"
        d = c.recv(65536)
        assert d, "connection closed before the response head"
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    cl = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
              if line.lower().startswith(b"content-length:"))
    parts = [body]
    got = len(body)
    while got < cl:
        assert time.monotonic() < deadline, "response body timeout"
        d = c.recv(1 << 20)
        assert d, f"connection closed after {got} of {cl} body bytes"
        parts.append(d)
        got += len(d)
    body = b"".join(parts)
    assert len(body) == cl, "more bytes than the Content-Length"
    return head, body


def _show_stat(path: str) -> dict[tuple[str, str], dict[str, str]]:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    s.sendall(b"show stat\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    lines = out.decode().splitlines()
    names = lines[0].lstrip("# ").split(",")
    rows = {}
    for ln in lines[1:]:
        if ln:
            r = dict(zip(names, ln.split(","), strict=False))
            rows[(r["pxname"], r["svname"])] = r
    return rows


def _run(which: str, nosplice: bool) -> dict[str, object]:
    be = _Backend()
    sink, lport = udp_sink(1.0)
    fe = free_port()
    cfg = ("global\n" + ("    nosplice\n" if nosplice else "") +
           "    stats socket @DIR@/s.sock level admin\n"
           f"defaults\n    mode http\n    log 127.0.0.1:{lport} local0\n"
           "    log-format \"%HP %ST %B %U\"\n"
           "    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n"
           f"frontend f\n    bind 127.0.0.1:{fe}\n    default_backend b\n"
           f"backend b\n    server s 127.0.0.1:{be.port}\n")
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            before = _pipes(pp.pid)
            c = socket.create_connection(("127.0.0.1", fe), timeout=10)
            deadline = time.monotonic() + 60
            bodies = []
            pipes_after_big = -1
            for i, path in enumerate(["/big1", "/small1", "/big2", "/small2"]):
                c.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                _, body = _read_response(c, deadline)
                bodies.append(body)
                if i == 0:
                    pipes_after_big = _pipes(pp.pid)
            c.sendall(b"GET /small3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            _, body = _read_response(c, deadline)
            bodies.append(body)
            c.settimeout(5)
            assert c.recv(10) == b""  # closed after it, as asked
            c.close()
            lines = [d.decode().split(": ", 1)[-1].split() for d in recv_until_quiet(sink, 1.5)]
            lines = [x for x in lines if x[0].startswith("/")]  # not the harness's port probe
            st = _show_stat(str(pp.workdir / "s.sock"))
    finally:
        sink.close()
        be.close()
    return {"bodies": bodies, "pipes": (before, pipes_after_big), "log": sorted(lines),
            "bout": (st[("f", "FRONTEND")]["bout"], st[("b", "BACKEND")]["bout"], st[("b", "s")]["bout"]),
            "bin": st[("b", "BACKEND")]["bin"], "server_conns": [list(x) for x in be.conns if x]}


@pytest.mark.slow
def test_large_response_body_is_spliced_byte_exact_with_keepalive() -> None:
    require_haproxy_bin()
    ref = _run("haproxy", False)
    ours = _run("ours", False)
    buffered = _run("ours", True)
    for r in (ref, ours, buffered):
        b = r["bodies"]
        assert isinstance(b, list)
        assert b[0] == PAYLOAD and b[2] == PAYLOAD
        assert b[1] == b[3] == b[4] == b"small"
    # the transfer went through a pipe (kept in the pool after it); none with nosplice
    p0, p1 = ours["pipes"]  # type: ignore[misc]
    assert p1 > p0, ours["pipes"]
    b0, b1 = buffered["pipes"]  # type: ignore[misc]
    assert b1 == b0, buffered["pipes"]
    # exactly the body was taken: the one server connection carried all five requests
    assert ours["server_conns"] == [["/big1", "/small1", "/big2", "/small2", "/small3"]], ours["server_conns"]
    assert buffered["server_conns"] == ours["server_conns"]
    # %B, %U and show stat count what 2.6 counts, spliced or not
    assert ours["log"] == ref["log"], (ours["log"], ref["log"])
    assert buffered["log"] == ref["log"]
    assert ours["bout"] == ref["bout"] and buffered["bout"] == ref["bout"], (ours["bout"], ref["bout"])
    assert ours["bin"] == ref["bin"]
    assert len(ours["log"]) == 5  # type: ignore[arg-type]


def _run_failures(which: str, nosplice: bool) -> tuple[list[list[str]], int]:
    be = _Backend()
    sink, lport = udp_sink(1.0)
    fe = free_port()
    cfg = ("global\n" + ("    nosplice\n" if nosplice else "") +
           f"defaults\n    mode http\n    log 127.0.0.1:{lport} local0\n"
           "    log-format \"%HP %ST %ts %B\"\n"
           "    timeout connect 2s\n    timeout client 1s\n    timeout server 10s\n"
           f"frontend f\n    bind 127.0.0.1:{fe}\n    default_backend b\n"
           f"backend b\n    server s 127.0.0.1:{be.port}\n")
    lines: list[list[str]] = []
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which):
            # the server closes in the middle of the body: the client gets what came, then a close
            c = socket.create_connection(("127.0.0.1", fe), timeout=10)
            c.sendall(b"GET /trunc HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                d = c.recv(1 << 20)
                if not d:
                    break
                got += d
            c.close()
            truncated = len(got.split(b"\r\n\r\n", 1)[1])
            # a client that stops reading: 'timeout client' ends the transfer
            c = socket.socket()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.settimeout(10)
            c.connect(("127.0.0.1", fe))
            c.sendall(b"GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
            deadline = time.monotonic() + 30
            while len(lines) < 2 and time.monotonic() < deadline:
                for d in recv_until_quiet(sink, 1.0):
                    x = d.decode().split(": ", 1)[-1].split()
                    if x[0].startswith("/"):
                        # %B of a cut transfer depends on the socket buffers: kept for /trunc only
                        lines.append(x if x[0] == "/trunc" else x[:3])
            c.close()
    finally:
        sink.close()
        be.close()
    return sorted(lines), truncated


@pytest.mark.slow
def test_spliced_body_server_abort_and_client_timeout_as_haproxy() -> None:
    """A server closing in the middle of a spliced body ends the response as 2.6 ends it (SD, %B
    the head and the bytes that came, the client gets exactly those); a client that stops reading is cut by timeout client (cD)."""
    require_haproxy_bin()
    ref = _run_failures("haproxy", False)
    ours = _run_failures("ours", False)
    buffered = _run_failures("ours", True)
    assert ref == ([["/huge", "200", "cD"], ["/trunc", "200", "SD", str(55 + (1 << 20))]], 1 << 20), ref
    assert ours == ref, ours
    assert buffered == ref, buffered
