"""TLS towards servers side by side with HAProxy 2.6: a TLS backend (Python's ssl, the test
certificates) reports what each connection brought (server name, ALPN, protocol, cipher); the
answers each proxy passes on, its verdicts on server certificates (verify, ca-file, the SNI's
name) and the health checks' results over TLS (check-ssl), compared."""

from __future__ import annotations

import csv
import io
import socket
import ssl
import threading
import time
from typing import Any

from tests.integration.harness import HttpBackend, free_port, get, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli
from tests.integration.tls_certs import Certs


class TlsBackend:
    """An HTTP/1.1 server over TLS on 127.0.0.1: each response's body tells what the connection
    negotiated; one request per connection."""

    def __init__(self, certs: Certs, cert: str = "ec") -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs[cert + ".pem"])
        ctx.set_alpn_protocols(["foo", "http/1.1"])
        ctx.sni_callback = self._sni
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.seen: dict[int, str | None] = {}
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _sni(self, s: Any, name: str | None, ctx: Any) -> None:
        self.seen[id(s)] = name

    def _accept(self) -> None:
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        c.settimeout(5)
        try:
            s = self.ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError):
            c.close()
            return
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                d = s.recv(65536)
                if not d:
                    return
                data += d
            body = (f"sni={self.seen.pop(id(s), None)} alpn={s.selected_alpn_protocol()} ver={s.version()} "
                    f"cipher={(s.cipher() or ('',))[0]}").encode()
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        except (OSError, ssl.SSLError):
            pass
        finally:
            s.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join(2)
        self.sock.close()


DEFAULTS = """defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
    retries 1
"""


def _side_by_side(cfg: str, run: Any, **fmt: Any) -> tuple[Any, Any]:
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        port = free_port()
        with run_proxy(cfg.format(p0=port, **fmt), wait_ports=[port], which=which) as pp:
            try:
                out.append(run(port, pp))
            except Exception:
                print(pp.stderr_text())
                raise
    return out[0], out[1]


def test_tls_to_servers_as_haproxy(certs: Certs) -> None:
    ec, rsa = TlsBackend(certs, "ec"), TlsBackend(certs, "rsa")
    plain = HttpBackend("plain").start()
    cfg = """global
    ssl-server-verify none
    ssl-default-server-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256
    ssl-default-server-ciphersuites TLS_CHACHA20_POLY1305_SHA256
    ssl-default-server-options ssl-max-ver TLSv1.3
""" + DEFAULTS + """frontend fe
    bind 127.0.0.1:{p0}
    use_backend b1 if {{ path /b1 }}
    use_backend b2 if {{ path /b2 }}
    use_backend b3 if {{ path /b3 }}
    use_backend b4 if {{ path /b4 }}
    use_backend b5 if {{ path /b5 }}
    use_backend b6 if {{ path /b6 }}
    use_backend b7 if {{ path /b7 }}
    use_backend b8 if {{ path /b8 }}
backend b1
    server s 127.0.0.1:{ec} ssl
backend b2
    server s 127.0.0.1:{ec} ssl verify required ca-file {root}/ca.crt sni req.hdr(host) alpn http/1.1
backend b3
    server s 127.0.0.1:{rsa} ssl verify required ca-file {root}/ca.crt ssl-max-ver TLSv1.2 ciphers ECDHE-RSA-AES256-GCM-SHA384
backend b4
    server s 127.0.0.1:{ec} ssl verify required ca-file {root}/ca2.crt
backend b5
    default-server ssl verify none
    server s 127.0.0.1:{plain} no-ssl
backend b6
    server s 127.0.0.1:{ec} ssl sni str(foo.example.org) ciphersuites TLS_AES_128_GCM_SHA256 ssl-min-ver TLSv1.3 alpn bar,foo
backend b7
    server s 127.0.0.1:{plain} ssl
backend b8
    server s 127.0.0.1:{rsa} ssl verify required ca-file {root}/ca.crt sni req.hdr(host)
"""
    cases = [("b1", "x"), ("b2", "www.example.com"), ("b2", "a.example.org"), ("b2", "other.test"),
             ("b3", "x"), ("b4", "x"), ("b5", "x"), ("b6", "x"), ("b7", "x"), ("b8", "rsa.example.net"),
             ("b8", "www.example.com")]

    def run(port: int, pp: Any) -> list[Any]:
        out = []
        for be, host in cases:
            st, _, body = get(port, f"/{be}", headers={"Host": host})
            out.append((be, host, st, body if be != "b5" else b"plain" if st == 200 else body))
        return out

    try:
        theirs, ours = _side_by_side(cfg, run, ec=ec.port, rsa=rsa.port, plain=plain.port, root=certs.root)
    finally:
        ec.close()
        rsa.close()
        plain.stop()
    assert ours == theirs
    assert {r[2] for r in theirs} == {200, 503}
    assert any(b"sni=www.example.com alpn=http/1.1" in r[3] for r in theirs)


def test_health_checks_over_tls_as_haproxy(certs: Certs) -> None:
    ec = TlsBackend(certs, "ec")
    plain = HttpBackend("plain").start()
    cfg = """global
    stats socket @DIR@/admin.sock mode 600 level admin
""" + DEFAULTS + """frontend fe
    bind 127.0.0.1:{p0}
    default_backend web
backend web
    option httpchk GET /
    default-server check inter 200 rise 1 fall 1 verify none
    server tls_traffic 127.0.0.1:{ec} ssl
    server tls_check_only 127.0.0.1:{ec} check-ssl
    server tls_other_port 127.0.0.1:{ec} ssl port {plain}
    server tls_to_plain 127.0.0.1:{plain} ssl
    server no_check_ssl 127.0.0.1:{plain} ssl no-check-ssl
    server check_ssl_plain 127.0.0.1:{plain} check-ssl
backend tcpchk
    default-server check inter 200 rise 1 fall 1 verify none
    server l6 127.0.0.1:{ec} check-ssl
    server l6_plain 127.0.0.1:{plain} check-ssl
    server l4 127.0.0.1:{ec}
"""

    def run(port: int, pp: Any) -> list[Any]:
        sock = admin_socket(pp)
        time.sleep(1.5)
        rows = list(csv.DictReader(io.StringIO(stats_cli(sock, "show stat").lstrip("# "))))
        # "* " marks a check running at that moment: when is a matter of timing
        return sorted((r["pxname"], r["svname"], r["status"], r["check_status"].lstrip("* "), r["check_code"])
                      for r in rows if r["svname"] not in ("FRONTEND", "BACKEND"))

    try:
        theirs, ours = _side_by_side(cfg, run, ec=ec.port, plain=plain.port)
    finally:
        ec.close()
        plain.stop()
    assert ours == theirs
    assert {r[3] for r in theirs} >= {"L7OK", "L6OK", "L4OK"}


def test_tcp_mode_tls_on_both_sides_as_haproxy(certs: Certs) -> None:
    """mode tcp: TLS terminated from the client, TLS again to the server (no splice through TLS)."""
    from tests.integration.test_tls_vs_haproxy import probe
    from tests.integration.tls_certs import client_context

    ec = TlsBackend(certs, "ec")
    cfg = """defaults
    mode tcp
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
listen tls_both
    bind 127.0.0.1:{p0} ssl crt {root}/rsa.pem
    server s 127.0.0.1:{ec} ssl verify required ca-file {root}/ca.crt sni ssl_fc_sni alpn http/1.1
"""
    big = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"x" * 40_000 + b"\r\nConnection: close\r\n\r\n"

    def run(port: int, pp: Any) -> list[Any]:
        ctx = client_context(certs)
        return [probe(port, ctx, "www.example.com"), probe(port, ctx, "rsa.example.net", request=big)]

    try:
        theirs, ours = _side_by_side(cfg, run, ec=ec.port, root=certs.root)
    finally:
        ec.close()
    assert ours == theirs
    assert theirs[0][-1] == b"sni=www.example.com alpn=http/1.1 ver=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384"


def test_dash_dV_disables_server_verification(certs: Certs) -> None:
    """-dV: a server line that does not say 'verify' is not verified (its CA file is not the one that
    signed the server's certificate), one that says 'verify required' still is."""
    ec = TlsBackend(certs, "ec")
    cfg = DEFAULTS + """frontend fe
    bind 127.0.0.1:{p0}
    use_backend b2 if {{ path /b2 }}
    default_backend b1
backend b1
    server s 127.0.0.1:{ec} ssl ca-file {root}/ca2.crt
backend b2
    server s 127.0.0.1:{ec} ssl ca-file {root}/ca2.crt verify required
"""
    require_haproxy("haproxy")
    out = []
    try:
        for which in ("haproxy", "ours"):
            port = free_port()
            with run_proxy(cfg.format(p0=port, ec=ec.port, root=certs.root), wait_ports=[port], which=which,
                           extra_args=["-dV"]):
                out.append([get(port, p)[0] for p in ("/b1", "/b2")])
    finally:
        ec.close()
    assert out[1] == out[0] == [200, 503]
