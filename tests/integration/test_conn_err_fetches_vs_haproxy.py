"""``fc_err``/``fc_err_str``/``bc_err``/``bc_err_str`` side by side with Debian's HAProxy 2.6: the
connection errors haproxy-py can produce, in log-format lines (``%[bc_err]``) and in rules
(``http-response``/``http-after-response`` headers, an ACL on ``bc_err``).

Server side: a TLS handshake to a server that closes or answers plain text (34 "SSL handshake
failure", for both, as 2.6), a TLS server that never answers (a connect timeout: no connection,
no sample), a refused connection (no sample), a server that resets after connecting (0), a
SOCKS4 proxy that denies (41), a good server (0). Client side: a TLS client whose record after the
handshake is garbage (43 "SSL fatal error", in mode tcp and in the middle of an HTTP request head,
logged CR 400 as 2.6 does), and 0 "Success" for every other session."""

from __future__ import annotations

import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy
from tests.integration.syslog_sinks import udp_sink
from tests.integration.tls_certs import Certs, certs  # noqa: F401 - the fixture

pytestmark = [pytest.mark.timeout(120)]


class _Servers:
    """TCP servers on loopback, one per behaviour."""

    def __init__(self, behaviours: dict[str, Callable[[socket.socket], None]]) -> None:
        self.socks: dict[str, socket.socket] = {}
        self.stop = threading.Event()
        self.threads = []
        for name, fn in behaviours.items():
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(16)
            s.settimeout(0.2)
            self.socks[name] = s
            t = threading.Thread(target=self._serve, args=(s, fn), daemon=True)
            t.start()
            self.threads.append(t)

    def port(self, name: str) -> int:
        return int(self.socks[name].getsockname()[1])

    def _serve(self, s: socket.socket, fn: Callable[[socket.socket], None]) -> None:
        while not self.stop.is_set():
            try:
                c, _ = s.accept()
            except OSError:
                continue
            c.settimeout(3)
            threading.Thread(target=self._run, args=(fn, c), daemon=True).start()

    @staticmethod
    def _run(fn: Callable[[socket.socket], None], c: socket.socket) -> None:
        try:
            fn(c)
        except OSError:
            pass
        finally:
            c.close()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(2)
        for s in self.socks.values():
            s.close()


def _close(c: socket.socket) -> None:
    return None


def _plain_answer(c: socket.socket) -> None:
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello")
    time.sleep(0.2)


def _silent(c: socket.socket) -> None:
    time.sleep(2)


def _reset(c: socket.socket) -> None:
    c.recv(4096)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _ok(c: socket.socket) -> None:
    c.recv(4096)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    time.sleep(0.2)


def _socks_deny(c: socket.socket) -> None:
    c.recv(4096)
    c.sendall(b"\x00\x5b\x00\x00\x00\x00\x00\x00")
    time.sleep(0.2)


def _echo(c: socket.socket) -> None:
    while c.recv(4096):
        pass


def _lines(u: socket.socket, want: int, timeout: float = 6.0) -> list[str]:
    out: list[str] = []
    deadline = time.monotonic() + timeout
    u.settimeout(0.2)
    while len(out) < want and time.monotonic() < deadline:
        try:
            out.append(u.recv(65536).decode(errors="replace").split(": ", 1)[-1].strip())
        except (TimeoutError, BlockingIOError):
            pass
    return out


def _drain(u: socket.socket) -> None:
    """Forget the lines of the harness's readiness probes (an empty connection to each port)."""
    u.settimeout(0.5)
    try:
        while u.recv(65536):
            pass
    except (TimeoutError, BlockingIOError):
        pass


def _http(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        try:
            while d := c.recv(65536):
                data += d
        except OSError:
            pass
    head = data.partition(b"\r\n\r\n")[0].split(b"\r\n")
    return b"|".join([head[0]] + sorted(h for h in head[1:] if h.lower().startswith(b"x-e")))


CASES = ("sslclose", "sslgarbage", "sslsilent", "rst", "ok", "socks", "refused", "resp")


def test_server_connection_errors_as_haproxy() -> None:
    require_haproxy("haproxy")
    srv = _Servers({"close": _close, "garbage": _plain_answer, "silent": _silent, "rst": _reset, "ok": _ok,
                    "socks": _socks_deny})
    out = []
    try:
        for which in ("haproxy", "ours"):
            u, lp = udp_sink()
            fe = free_port()
            cfg = f"""global
    log 127.0.0.1:{lp} local0
defaults
    log global
    mode http
    timeout client 3s
    timeout server 3s
    timeout connect 700ms
    retries 0
    log-format "%b %[bc_err] %[bc_err_str] %[fc_err] %[fc_err_str] %ts %ST"
frontend f
    bind 127.0.0.1:{fe}
    use_backend %[path,field(2,/)]
    http-after-response set-header x-e-after "%[bc_err]/%[bc_err_str]"
    http-after-response set-header x-e-acl failed if {{ bc_err gt 0 }}
backend sslclose
    server s 127.0.0.1:{srv.port('close')} ssl verify none
backend sslgarbage
    server s 127.0.0.1:{srv.port('garbage')} ssl verify none
backend sslsilent
    server s 127.0.0.1:{srv.port('silent')} ssl verify none
backend rst
    server s 127.0.0.1:{srv.port('rst')}
backend ok
    server s 127.0.0.1:{srv.port('ok')}
backend socks
    server s 127.0.0.1:{srv.port('ok')} socks4 127.0.0.1:{srv.port('socks')}
backend refused
    server s 127.0.0.1:1
backend resp
    http-response set-header x-e "%[bc_err] %[bc_err_str] %[fc_err] %[fc_err_str]"
    http-response set-header x-e-acl2 ok if {{ bc_err 0 }} {{ fc_err 0 }}
    server s 127.0.0.1:{srv.port('ok')}
"""
            try:
                with run_proxy(cfg, wait_ports=[fe], which=which):
                    _drain(u)
                    replies, logs = [], []
                    for case in CASES:
                        replies.append(_http(fe, f"/{case}"))
                        logs += _lines(u, 1)
                    out.append((replies, sorted(logs)))
            finally:
                u.close()
    finally:
        srv.close()
    theirs, ours = out
    assert ours == theirs
    assert "sslclose 34 SSL handshake failure 0 Success SC 503" in theirs[1]
    assert "socks 41 SOCKS4 Proxy deny the request 0 Success SC 503" in theirs[1]
    assert "refused - - 0 Success SC 503" in theirs[1]


def _tls_client(port: int, first: bytes) -> bytes:
    """A TLS 1.2 handshake by hand, ``first`` sent through it, then a garbage record."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out)
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                if d := out.read():
                    raw.sendall(d)
                inc.write(raw.recv(65536))
        if d := out.read():
            raw.sendall(d)
        obj.write(first)
        raw.sendall(out.read())
        time.sleep(0.3)
        raw.sendall(b"\x17\x03\x03\x00\x20" + os.urandom(32))
        got = b""
        try:
            while d := raw.recv(65536):
                got += d
        except OSError:
            pass
        return got[:1]  # a TLS alert record (0x15) from both


def test_client_connection_errors_as_haproxy(certs: Certs, tmp_path: Path) -> None:  # noqa: F811
    require_haproxy("haproxy")
    srv = _Servers({"echo": _echo, "ok": _ok})
    out: list[Any] = []
    try:
        for which in ("haproxy", "ours"):
            u, lp = udp_sink()
            ports = [free_port() for _ in range(3)]
            cfg = f"""global
    log 127.0.0.1:{lp} local0
defaults
    log global
    timeout client 3s
    timeout server 3s
    timeout connect 1s
    log-format "%f %ts %ST %[fc_err] %[fc_err_str] %[bc_err]"
frontend tcp_tls
    mode tcp
    bind 127.0.0.1:{ports[0]} ssl crt {certs['ec.pem']}
    default_backend echo
frontend http_tls
    mode http
    bind 127.0.0.1:{ports[1]} ssl crt {certs['ec.pem']}
    default_backend web
frontend http_plain
    mode http
    bind 127.0.0.1:{ports[2]}
    http-request return status 200 content-type text/plain lf-string "%[fc_err]:%[fc_err_str]" if {{ fc_err 0 }}
backend echo
    mode tcp
    server s 127.0.0.1:{srv.port('echo')}
backend web
    mode http
    server s 127.0.0.1:{srv.port('ok')}
"""
            try:
                with run_proxy(cfg, wait_ports=ports, which=which):
                    _drain(u)
                    got = [_tls_client(ports[0], b"hello"), _tls_client(ports[1], b"GET / HTTP/1.1\r\nHost: x\r\n")]
                    with socket.create_connection(("127.0.0.1", ports[2]), timeout=5) as c:
                        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        data = b""
                        while d := c.recv(65536):
                            data += d
                    got.append(data.partition(b"\r\n\r\n")[2])
                    out.append((got, sorted(_lines(u, 3))))
            finally:
                u.close()
    finally:
        srv.close()
    theirs, ours = out
    assert ours == theirs
    assert theirs[1] == ["http_plain LR 200 0 Success -", "http_tls CR 400 43 SSL fatal error -",
                         "tcp_tls CD 0 43 SSL fatal error 0"], theirs
    assert theirs[0][2] == b"0:Success"
