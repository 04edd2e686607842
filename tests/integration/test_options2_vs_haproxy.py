"""Options real configurations use, side by side with Debian's HAProxy 2.6: 'timeout client-fin'
and 'timeout server-fin' (the inactivity timeout of the side still sending once the other one
half-closed)."""

from __future__ import annotations

import re
import socket
import threading
import time

from tests.conftest import free_port
from tests.integration.harness import TcpServer, require_haproxy, run_proxy, wait_files
from tests.integration.syslog_sinks import recv_probe_lines, recv_until_quiet, udp_sink

WHICH = ("haproxy", "ours")


class HalfServer(TcpServer):
    """Records, per connection, what it read and when its reading ended (recv gave b"" or an
    error), counted from its accept. ``fin_first``: send b"hello" and half-close at once, then
    read until the proxy closes; otherwise read until the client's FIN, then stay silent with the
    socket open until ``release`` is set (at most ``hold`` seconds)."""

    def __init__(self, fin_first: bool, hold: float = 6.0) -> None:
        self.fin_first = fin_first
        self.hold = hold
        self.closed_after: list[float] = []
        self.got: list[bytes] = []
        self.ev = threading.Event()
        self.release = threading.Event()
        self.first = threading.Event()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        t0 = time.monotonic()
        c.settimeout(self.hold)
        data = b""
        try:
            if self.fin_first:
                c.sendall(b"hello")
                c.shutdown(socket.SHUT_WR)
            while True:
                d = c.recv(1000)
                if not d:
                    break
                data += d
                self.first.set()
        except OSError:
            pass
        if data or self.fin_first:
            self.got.append(data)
            self.closed_after.append(time.monotonic() - t0)
            self.ev.set()
            if not self.fin_first:
                self.release.wait(self.hold)
        c.close()


TCP_CFG = """\
global
    log 127.0.0.1:{log} local2
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
{extra}
listen l
    bind 127.0.0.1:{port}
    server s 127.0.0.1:{srv}
"""

_TCPLOG = re.compile(rb"l l/s (-?\d+)/(-?\d+)/(\d+) (\d+) (\S\S) ")


def _tcp_run(which: str, fin_first: bool, extra: str) -> tuple[float, float, bytes, tuple[bytes, ...]]:
    """One session through ``which``: (when the client saw the end, when the server saw the proxy
    close, what the server received, the log line's (Tt, bytes, termination state))."""
    log, logport = udp_sink(5.0)
    srv = HalfServer(fin_first)
    port = free_port()
    try:
        with run_proxy(TCP_CFG.format(log=logport, port=port, srv=srv.port, extra=extra),
                       wait_ports=[port], which=which):
            recv_probe_lines(log, 1)  # the port probe's line (it would match _TCPLOG too)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.settimeout(6)
                t0 = time.monotonic()
                t_fin = 0.0
                if not fin_first:
                    # the FIN once the server has the data (2.6 treats a FIN that comes while
                    # it connects otherwise, by chance of timing)
                    c.sendall(b"abc")
                    assert srv.first.wait(5), which
                    c.shutdown(socket.SHUT_WR)
                    t_fin = time.monotonic() - t0
                got = b""
                try:
                    while True:
                        d = c.recv(1000)
                        if not d:
                            break
                        got += d
                except OSError:
                    pass
                t_cli = time.monotonic() - t0 - t_fin
                if fin_first:
                    assert got == b"hello"
                assert srv.ev.wait(8), f"{which}: the server was never closed"
                log.settimeout(5.0)
                line = b""
                deadline = time.monotonic() + 6
                while time.monotonic() < deadline and not _TCPLOG.search(line):
                    line = log.recv(65536)
        m = _TCPLOG.search(line)
        assert m, (which, line)
        return t_cli, srv.closed_after[-1], srv.got[-1], (m.group(3), m.group(4), m.group(5))
    finally:
        srv.release.set()
        log.close()
        srv.close()


def _both(fin_first: bool, extra: str) -> dict[str, tuple[float, float, bytes, tuple[bytes, ...]]]:
    require_haproxy("haproxy")
    return {w: _tcp_run(w, fin_first, extra) for w in WHICH}


def test_timeout_client_fin_as_haproxy() -> None:
    """The server sends and half-closes; the client gets the data and the FIN, then says nothing:
    'timeout client-fin' (shorter than 'timeout client' here; 'timeout tunnel' would not change it
    either) closes both sides after it, logged 'cD'. 'timeout server-fin' does not apply."""
    res = _both(True, "    timeout client-fin 700ms\n    timeout server-fin 100ms")
    for which, (_t_cli, t_srv, got, (tt, nbytes, term)) in res.items():
        assert got == b"", which
        assert 0.6 <= t_srv < 3.5, (which, t_srv)
        assert term == b"cD" and nbytes == b"5", (which, term, nbytes)
        assert 650 <= int(tt) < 3500, (which, tt)
    assert res["ours"][3][1:] == res["haproxy"][3][1:]


def test_timeout_server_fin_as_haproxy() -> None:
    """The client sends and half-closes; the server reads it and the FIN, then stays silent:
    'timeout server-fin' (longer than 'timeout client' and 'timeout server' too: it replaces them)
    closes both after it, logged 'sD'; the client sees its end then. 'timeout client-fin' does not
    apply."""
    extra = ("    timeout client 400ms\n    timeout server 400ms\n    timeout tunnel 300ms\n"
             "    timeout server-fin 1200ms\n    timeout client-fin 100ms")
    res = _both(False, extra)
    for which, (t_cli, t_srv, got, (tt, nbytes, term)) in res.items():
        assert got == b"abc" and t_srv < 1.0, (which, got, t_srv)  # the FIN passed on at once
        assert 1.1 <= t_cli < 4.0, (which, t_cli)
        assert term == b"sD" and nbytes == b"0", (which, term, nbytes)
        assert 1150 <= int(tt) < 4000, (which, tt)
    assert res["ours"][3][1:] == res["haproxy"][3][1:]


# ----------------------------------------------------------------------------- option logasap
class SlowBody(TcpServer):
    """HTTP: the head of a 12-byte response (with 5 body bytes when the path is /part), the rest
    once ``release`` is set (at most 5 s); any other first bytes (tcp): b"tcp-hello" once
    ``release`` is set, then close."""

    def __init__(self) -> None:
        self.release = threading.Event()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        c.settimeout(8)
        try:
            while True:
                d = c.recv(1000)
                if not d:
                    break
                if not d.startswith(b"GET"):
                    self.release.wait(5)
                    c.sendall(b"tcp-hello")
                    break
                part = b"hello" if d.split()[1] == b"/part" else b""
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Slow: yes\r\n\r\n" + part)
                self.release.wait(5)
                c.sendall(b"hello world!"[len(part):])
        except OSError:
            pass
        c.close()


LOGASAP_CFG = """\
global
    log 127.0.0.1:{log} local2
defaults
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen l
    mode http
    option httplog
    option logasap
    bind 127.0.0.1:{web}
    server s 127.0.0.1:{srv}
listen t
    mode tcp
    option tcplog
    option logasap
    bind 127.0.0.1:{raw}
    server s 127.0.0.1:{srv}
"""

_HTTP_ASAP = re.compile(r"\] l l/s (\d+)/(\d+)/(\d+)/(\d+)/(\+?\d+) (\d+) (\+?\d+) (.*)$")
_TCP_ASAP = re.compile(r"\] t t/s (\d+)/(\d+)/(\+?\d+) (\+?\d+) (.*)$")


def _lines(msgs: list[bytes]) -> list[str]:
    return [m.decode().rstrip("\n") for m in msgs if b"]: 127.0.0.1:" in m]


def _logasap_run(which: str) -> list[tuple[str, list[str], list[str]]]:
    """For each session (GET /slow, GET /part, a tcp one): its log lines seen while the client was
    still waiting for the end of the answer, and those seen after."""
    log, logport = udp_sink(5.0)
    srv = SlowBody()
    web, raw = free_port(), free_port()
    out = []
    try:
        with run_proxy(LOGASAP_CFG.format(log=logport, web=web, raw=raw, srv=srv.port),
                       wait_ports=[web, raw], which=which):
            recv_probe_lines(log, 2)  # the port probes' lines
            for what in ("/slow", "/part", "tcp"):
                port = raw if what == "tcp" else web
                srv.release = threading.Event()
                with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                    c.settimeout(8)
                    c.sendall(b"tcp" if what == "tcp" else f"GET {what} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    end = b"tcp-hello" if what == "tcp" else b"world!"
                    # the line of a logasap session comes while the server holds the end back
                    during: list[str] = []
                    deadline = time.monotonic() + 4
                    log.settimeout(0.2)
                    while not during and time.monotonic() < deadline:
                        during = _lines(recv_until_quiet(log))
                    srv.release.set()
                    got = b""
                    while not got.endswith(end):
                        d = c.recv(1000)
                        if not d:
                            break
                        got += d
                    assert got.endswith(end), (which, what, got)
                after = _lines(recv_until_quiet(log, 0.3))
                out.append((what, during, after))
    finally:
        log.close()
        srv.close()
    return out


def test_option_logasap_as_haproxy() -> None:
    """'option logasap': the http line goes when the response head is forwarded (the body still
    on its way), with '+' before the total time and the bytes (the head, plus the body bytes that
    came with it: 2.6's count of its buffer); the tcp line when the server connection is made,
    '+0' bytes; nothing more is logged at the end. Each side by side with 2.6."""
    require_haproxy("haproxy")
    res = {w: _logasap_run(w) for w in WHICH}
    for which, sessions in res.items():
        for what, during, after in sessions:
            assert len(during) == 1 and after == [], (which, what, during, after)
    for (what, ours, _), (_w, ref, _a) in zip(res["ours"], res["haproxy"], strict=True):
        rx = _TCP_ASAP if what == "tcp" else _HTTP_ASAP
        mo, mr = rx.search(ours[0]), rx.search(ref[0])
        assert mo and mr, (what, ours, ref)
        if what == "tcp":
            assert mr.group(3).startswith("+") and int(mr.group(3)) < 3000, ref
            assert mo.group(3).startswith("+") and int(mo.group(3)) < 3000, ours
            assert mo.group(4, 5) == mr.group(4, 5) == ("+0", mr.group(5)), (ours, ref)
        else:
            for m in (mo, mr):
                assert m.group(5).startswith("+") and int(m.group(5)) < 3000, (what, ours, ref)
            assert mo.group(6, 7, 8) == mr.group(6, 7, 8), (what, ours, ref)
            assert mr.group(7).startswith("+"), ref


# ----------------------------------------------------------------------------- option contstats
MB = 1 << 20


class HeldBody(TcpServer):
    """Sends 1 MiB (for an HTTP request: the head of a 2 MiB response first, and the body once
    ``go`` is set: the head reached the client alone), then the second MiB once ``release`` is
    set (at most 5 s each), then closes."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.go = threading.Event()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        c.settimeout(8)
        try:
            d = c.recv(1000)
            if d:
                if d.startswith(b"GET"):
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (2 * MB))
                    self.go.wait(5)
                c.sendall(b"x" * MB)
                self.release.wait(5)
                c.sendall(b"y" * MB)
        except OSError:
            pass
        c.close()


CONTSTATS_CFG = """\
global
    stats socket @DIR@/s.sock level admin
defaults
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen h
    mode http
    option contstats
    bind 127.0.0.1:{h}
    server s 127.0.0.1:{srv}
listen h0
    mode http
    bind 127.0.0.1:{h0}
    server s 127.0.0.1:{srv}
listen t
    mode tcp
    option contstats
    bind 127.0.0.1:{t}
    server s 127.0.0.1:{srv}
"""


def _bytes(sock: str, px: str) -> list[tuple[str, int, int]]:
    from tests.integration.stats_client import stats_cli

    rows = [r.split(",") for r in stats_cli(sock, "show stat").splitlines() if r.startswith(px + ",")]
    return [(r[1], int(r[8] or 0), int(r[9] or 0)) for r in rows]  # svname, bin, bout


def _contstats_run(which: str) -> list[tuple[str, list[tuple[str, int, int]], list[tuple[str, int, int]]]]:
    """Per listen: its (svname, bin, bout) rows while the second MiB is held back, and at the end."""
    srv = HeldBody()
    ports = {"h": free_port(), "h0": free_port(), "t": free_port()}
    out = []
    try:
        with run_proxy(CONTSTATS_CFG.format(srv=srv.port, **ports), wait_ports=list(ports.values()),
                       which=which) as pp:
            sock = str(pp.workdir / "s.sock")
            wait_files([sock])
            for px, port in ports.items():
                srv.release = threading.Event()
                srv.go = threading.Event()
                with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                    c.settimeout(8)
                    c.sendall(b"hi" if px == "t" else b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    head = b""
                    if px != "t":
                        while b"\r\n\r\n" not in head:
                            d = c.recv(1000)
                            assert d, (which, px, head)
                            head += d
                        srv.go.set()
                    got = len(head.partition(b"\r\n\r\n")[2])
                    while got < MB:
                        d = c.recv(1 << 16)
                        assert d, (which, px, got)
                        got += len(d)
                    during = _bytes(sock, px)
                    srv.release.set()
                    while got < 2 * MB:  # (an http client connection stays open)
                        d = c.recv(1 << 16)
                        if not d:
                            break
                        got += len(d)
                    assert got >= 2 * MB, (which, px, got)
                deadline = time.monotonic() + 5
                while True:  # the session's end reaches the counters
                    end = _bytes(sock, px)
                    if all(b >= 2 * MB for _n, _i, b in end) or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                out.append((px, during, end))
    finally:
        srv.go.set()
        srv.release.set()
        srv.close()
    return out


def test_option_contstats_as_haproxy() -> None:
    """'option contstats': in http mode the request and the response head count on the frontend,
    backend and server as the head goes, while the body still flows (without the option nothing
    counts before the end); the body counts at the end, as 2.6. A tcp tunnel counts at its end
    with or without it (2.6 counts at its stream's wake-ups, which a tunnel forwarding data does
    not have: its bytes out stay 0 meanwhile; its bytes in depend on when the client's first
    bytes came, so they are not compared). The totals at the end are the same either way."""
    require_haproxy("haproxy")
    res = {w: _contstats_run(w) for w in WHICH}
    for (px, during, end), (_p, rdur, rend) in zip(res["ours"], res["haproxy"], strict=True):
        assert end == rend, (px, end, rend)
        if px == "t":
            assert [b for _n, _i, b in during] == [b for _n, _i, b in rdur] == [0, 0, 0], (during, rdur)
        else:
            assert during == rdur, (px, during, rdur)
    h_during = res["haproxy"][0][1]
    assert all(i > 0 and 0 < b < 1000 for _n, i, b in h_during), h_during  # the heads
    assert all(i == b == 0 for _n, i, b in res["haproxy"][1][1]), res["haproxy"][1]
