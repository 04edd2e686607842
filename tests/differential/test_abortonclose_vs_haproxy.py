"""``option abortonclose`` beside Debian's HAProxy 2.6: a client that closes its side after its
request, while the request waits in the queue or for the server's answer. Without the option both
proxies deliver the answer; with it, a queued request is dropped (nothing sent, CQ) and one the
server is working on gets 2.6's 400 (CH). Compared: what the client received, and the status and
termination state of the log line."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy
from tests.integration.syslog_sinks import recv_probe_lines, recv_until_quiet, udp_sink

CFG = """\
global
    log 127.0.0.1:{log} local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 5s
listen plain
    bind 127.0.0.1:{plain}
    server s 127.0.0.1:{be} maxconn 1
listen aoc
    bind 127.0.0.1:{aoc}
    option abortonclose
    server s 127.0.0.1:{be} maxconn 1
"""


@contextlib.contextmanager
def _slow_backend(delay: float) -> Iterator[int]:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.3)
    stop = threading.Event()

    def conn(c: socket.socket) -> None:
        c.settimeout(5)
        with c:
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(4096)
                if not d:
                    return
                data += d
            if not stop.wait(delay):
                with contextlib.suppress(OSError):
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def run() -> None:
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            threading.Thread(target=conn, args=(c,), daemon=True).start()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        t.join(timeout=5)
        srv.close()


def _half_closed(port: int, path: str, wait: float = 0.2) -> bytes:
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    time.sleep(wait)
    c.shutdown(socket.SHUT_WR)
    out = b""
    c.settimeout(4)
    with contextlib.suppress(OSError):
        while True:
            d = c.recv(4096)
            if not d:
                break
            out += d
    c.close()
    return out.split(b"\r\n", 1)[0]


def _recv_until(log: socket.socket, done: Callable[[list[bytes]], bool], timeout: float = 10.0,
                quiet: float = 0.5) -> list[bytes]:
    """The datagrams received until ``done`` holds for them (``timeout`` seconds at most), then
    whatever else comes until ``quiet`` seconds without one (a late or extra line is kept)."""
    kept = log.gettimeout()
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while not done(got) and (left := deadline - time.monotonic()) > 0:
            log.settimeout(left)
            try:
                got.append(log.recv(65536))
            except TimeoutError:
                break
        return got + recv_until_quiet(log, quiet)
    finally:
        log.settimeout(kept)


def _fields(msgs: list[bytes], path: str) -> list[tuple[str, str]]:
    """(status, termination state) of the log lines for ``path``."""
    out = []
    for m in msgs:
        if f" {path} ".encode() not in m:
            continue
        w = m.decode("latin-1").split('"')[0].split()
        out.append((w[-7], w[-3]))  # ... STATUS BYTES - - TERM CONNS QUEUES
    return out


@pytest.mark.parametrize("which", ["haproxy", "ours"])
def test_abortonclose_as_haproxy(which: str) -> None:
    require_haproxy(which)
    log, logport = udp_sink(5)
    got: dict[str, object] = {}
    with _slow_backend(1.0) as be:
        ports = {"plain": free_port(), "aoc": free_port()}
        with run_proxy(CFG.format(log=logport, be=be, **ports), wait_ports=list(ports.values()), which=which):
            got["plain"] = _half_closed(ports["plain"], "/plain")
            got["aoc"] = _half_closed(ports["aoc"], "/aoc")
            # a second request while the first holds the server's only slot: it waits in the queue
            first = threading.Thread(target=_half_closed, args=(ports["aoc"], "/busy", 1.5), daemon=True)
            first.start()
            time.sleep(0.2)
            got["queued"] = _half_closed(ports["aoc"], "/queued")
            first.join(timeout=10)
            paths = ("/plain", "/aoc", "/busy", "/queued")
            msgs = _recv_until(log, lambda got: all(any(f" {p} ".encode() in m for m in got) for p in paths))
    log.close()
    assert got == {"plain": b"HTTP/1.1 200 OK", "aoc": b"HTTP/1.1 400 Bad request", "queued": b""}, got
    assert _fields(msgs, "/plain") == [("200", "----")], msgs
    assert _fields(msgs, "/aoc") == [("400", "CH--")], msgs
    assert _fields(msgs, "/queued") == [("-1", "CQ--")], msgs


PROBE_CFG = """\
global
    log 127.0.0.1:{log} local0
    stats socket @DIR@/s.sock level admin
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout http-request 400ms
frontend plain
    bind 127.0.0.1:{plain}
    default_backend b
frontend probes
    bind 127.0.0.1:{probes}
    option http-ignore-probes
    default_backend b
backend b
    server s 127.0.0.1:1
"""


def _probe_traffic(port: int) -> bytes:
    """A connection closed at once, one left to time out, one with half a request."""
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.settimeout(3)
    with contextlib.suppress(OSError):
        got = c.recv(100)
    c.close()
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"GET / HT")
    c.close()
    return got.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("which", ["haproxy", "ours"])
def test_http_ignore_probes_as_haproxy(which: str) -> None:
    """``option http-ignore-probes``: a connection that sends nothing, closed or timed out, is
    neither logged nor counted as an error, and gets no 408; half a request is still a 400."""
    from tests.integration.stats_client import admin_socket, stats_cli

    require_haproxy(which)
    log, logport = udp_sink(5)
    ports = {"plain": free_port(), "probes": free_port()}
    with run_proxy(PROBE_CFG.format(log=logport, **ports), wait_ports=list(ports.values()), which=which) as pp:
        sock = admin_socket(pp, "s.sock")
        recv_probe_lines(log, 1)  # the harness's port probes (the one of 'plain' is logged)
        got = {k: _probe_traffic(p) for k, p in ports.items()}
        msgs = _recv_until(log, lambda got: len(got) >= 4)  # plain's three, probes' half request
        stat = stats_cli(sock, "show stat")
    log.close()
    assert got == {"plain": b"HTTP/1.1 408 Request Time-out", "probes": b""}
    terms = {k: sorted(m.decode().split('"')[0].split()[-3] for m in msgs if f" {k} {k}/<NOSRV> ".encode() in m)
             for k in ports}
    assert terms == {"plain": ["CR--", "CR--", "cR--"], "probes": ["CR--"]}, msgs
    head = stat.splitlines()[0].lstrip("# ").split(",")
    rows = {r.split(",")[0]: dict(zip(head, r.split(","), strict=False)) for r in stat.splitlines()[1:]
            if ",FRONTEND," in r}
    # plain: the harness's port probe (a connection closed at once) counts too
    assert (rows["plain"]["ereq"], rows["probes"]["ereq"]) == ("4", "1"), rows
