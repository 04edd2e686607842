"""An unexpected exception in one session (issue #13): that session is closed (a 500 when no
response began), counted in ``eint`` of its frontend, backend and server, logged once as an alert
line with its context, and no Python traceback reaches stderr; the other sessions go on.

The fault is injected from outside the product: the proxy subprocess starts with a
``sitecustomize`` module (on PYTHONPATH, written by this test) that wraps engine/http.py's
``prepare_request`` so that it raises for the path ``/boom``. With the server at ``maxconn 1`` the
failing request holds the server's only slot when it fails, so the slot must come back too.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

from tests.conftest import free_port
from tests.integration.harness import ROOT, HttpBackend, TcpServer, get, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

HOOK = '''
import haproxy_py.engine.http as _h

_orig = _h.prepare_request


def _faulty(req, *args, **kwargs):
    if req.uri.startswith(b"/boom"):
        raise ZeroDivisionError("injected by test_internal_errors")
    return _orig(req, *args, **kwargs)


_h.prepare_request = _faulty

import haproxy_py.engine.tcp as _t

_count = _t.Pump._count


def _faulty_count(self, n):
    if self.is_up and n == 7:  # the client's b"BOOM!!\\n", read by the tunnel's upstream pump
        raise ZeroDivisionError("injected in a tunnel by test_internal_errors")
    return _count(self, n)


_t.Pump._count = _faulty_count
'''


def _cfg(fe: int, srv: int) -> str:
    return f"""
global
    stats socket @DIR@/admin.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 5s
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    server s1 127.0.0.1:{srv} maxconn 1
"""


def _eint(sock: str) -> dict[str, int]:
    lines = stats_cli(sock, "show stat").splitlines()
    hdr = lines[0].lstrip("# ").split(",")
    out = {}
    for line in lines[1:]:
        if line:
            row = dict(zip(hdr, line.split(","), strict=False))
            out[f"{row['pxname']}/{row['svname']}"] = int(row["eint"] or 0)
    return out


def test_a_failing_session_is_closed_counted_and_logged_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(HOOK)
    be = HttpBackend("s1")
    be.behaviour = lambda rec: (time.sleep(0.4) if rec.start.startswith(b"GET /slow") else None,
                                (200, [], b"ok\n"))[1]
    be.start()
    fe = free_port()
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    try:
        with run_proxy(_cfg(fe, be.port), wait_ports=[fe], env=env) as pp:
            sock = admin_socket(pp)
            assert get(fe, "/before")[0] == 200
            # /slow holds the only slot; /boom waits in the queue, gets the slot, then fails
            slow: list[int] = []
            t = threading.Thread(target=lambda: slow.append(get(fe, "/slow", timeout=5)[0]))
            t.start()
            time.sleep(0.1)
            s = socket.create_connection(("127.0.0.1", fe), timeout=5)
            s.sendall(b"GET /boom HTTP/1.1\r\nHost: t\r\n\r\n")
            got = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
            s.close()
            t.join(5)
            assert slow == [200], "the session before the failing one is served"
            assert got.startswith(b"HTTP/1.1 500 "), got[:80]
            # the slot came back: a new request is served at once
            t0 = time.monotonic()
            assert get(fe, "/after")[0] == 200
            assert time.monotonic() - t0 < 1.0
            eint = _eint(sock)
            assert eint["fe/FRONTEND"] == 1 and eint["be/BACKEND"] == 1 and eint["be/s1"] == 1, eint
            servers = stats_cli(sock, "show servers conn be").splitlines()[1]
            assert servers.split()[6] == "0", servers  # used_cur
            err = pp.stderr_text()
    finally:
        be.stop()
    assert "Traceback" not in err, err
    alerts = [ln for ln in err.splitlines() if "Internal error" in ln]
    assert len(alerts) == 1, err
    assert re.search(r"^\[ALERT\] +\(\d+\) : Internal error in a session: frontend fe, backend be, "
                     r"server s1, client 127\.0\.0\.1:\d+, phase \w+, during connected: "
                     r"ZeroDivisionError: injected by test_internal_errors at \S+sitecustomize\.py:\d+ "
                     r"in _faulty; the session is closed\.$", alerts[0]), alerts[0]


class _Echo(TcpServer):
    def serve(self, c: socket.socket) -> None:
        with c:
            while True:
                try:
                    d = c.recv(65536)
                except OSError:
                    return
                if not d:
                    return
                c.sendall(d)


def test_a_failing_tcp_session_is_closed_and_the_others_go_on(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(HOOK)
    echo = _Echo()
    fe = free_port()
    cfg = f"""
global
    stats socket @DIR@/admin.sock level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen tcp
    bind 127.0.0.1:{fe}
    server e1 127.0.0.1:{echo.port} maxconn 2
"""
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}

    def talk(s: socket.socket, data: bytes) -> bytes:
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            d = s.recv(65536)
            if not d:
                break
            got += d
        return got

    try:
        with run_proxy(cfg, wait_ports=[fe], env=env) as pp:
            sock = admin_socket(pp)
            a = socket.create_connection(("127.0.0.1", fe), timeout=5)
            b = socket.create_connection(("127.0.0.1", fe), timeout=5)
            assert talk(a, b"hello\n") == b"hello\n"
            # b's tunnel is up before the fault: bytes sent while the server connection is still
            # being made travel as its initial data and never reach the wrapped counter
            assert talk(b, b"hi\n") == b"hi\n"
            b.sendall(b"BOOM!!\n")
            # the fault fires after the pump forwarded the bytes: their echo may come back before
            # the close reaches the client; what matters is that the session ends
            rest = b""
            while d := b.recv(65536):
                rest += d
            assert rest in (b"", b"BOOM!!\n"), rest
            b.close()
            assert talk(a, b"still here\n") == b"still here\n", "the other session goes on"
            a.close()
            with socket.create_connection(("127.0.0.1", fe), timeout=5) as c:
                assert talk(c, b"new one\n") == b"new one\n"
            deadline = time.monotonic() + 3
            while True:
                eint = _eint(sock)
                conn = stats_cli(sock, "show servers conn tcp").splitlines()[1].split()[6]
                if conn == "0" or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert eint["tcp/FRONTEND"] == 1 and eint["tcp/BACKEND"] == 1 and eint["tcp/e1"] == 1, eint
            assert conn == "0"
            err = pp.stderr_text()
    finally:
        echo.close()
    assert "Traceback" not in err, err
    alerts = [ln for ln in err.splitlines() if "Internal error" in ln]
    assert len(alerts) == 1, err
    assert re.search(r"Internal error in a session: frontend tcp, backend tcp, server e1, client "
                     r"127\.0\.0\.1:\d+, phase tunnel, during tunnel read: ZeroDivisionError: injected in a "
                     r"tunnel by test_internal_errors at \S+sitecustomize\.py:\d+ in _faulty_count;", alerts[0])
