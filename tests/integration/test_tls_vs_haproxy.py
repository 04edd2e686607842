"""TLS termination side by side with HAProxy 2.6: the same certificates (tls_certs.py) and the
same configuration, the same clients (Python's ssl, ``openssl s_client``, curl); what each
handshake gives (certificate chosen, protocol, cipher, ALPN, client-certificate verdict), the
fetch values a response carries, and the log lines, compared."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from tests.integration.harness import free_port, require_haproxy, run_proxy
from tests.integration.syslog_sinks import recv_until_quiet, udp_sink
from tests.integration.tls_certs import Certs, client_context

DEFAULTS = """defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
"""
REQ = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def _cn(cert: dict[str, Any]) -> str:
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return str(v)
    return "?"


def probe(port: int, ctx: ssl.SSLContext, sni: str | None, *, request: bytes = REQ) -> tuple[Any, ...]:
    """One TLS connection: ("ok", server CN, protocol, cipher, ALPN, response body) or ("fail",)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        try:
            s = ctx.wrap_socket(raw, server_hostname=sni)
        except (ssl.SSLError, OSError):
            return ("fail",)
        info = ("ok", _cn(s.getpeercert() or {}), s.version(), (s.cipher() or ("",))[0],
                s.selected_alpn_protocol())
        body = b""
        try:
            s.sendall(request)
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
            body = data.partition(b"\r\n\r\n")[2]
        except (ssl.SSLError, OSError) as e:
            body = f"<{type(e).__name__}>".encode()
        s.close()
        return (*info, body)
    finally:
        raw.close()


def side_by_side(cfg: str, nports: int, run: Callable[[list[int]], Any], *,
                 extra: dict[str, str] | None = None) -> tuple[Any, Any]:
    """``cfg`` formatted with ports p0..pN (and ``extra``) for each proxy; run(ports) on each."""
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        ports = [free_port() for _ in range(nports)]
        text = cfg.format(**{f"p{i}": p for i, p in enumerate(ports)}, **(extra or {}))
        with run_proxy(text, wait_ports=ports, which=which) as pp:
            try:
                out.append(run(ports))
            except Exception:
                print(pp.stderr_text())
                raise
    return out[0], out[1]


def test_sni_selects_the_certificate_as_haproxy(certs: Certs) -> None:
    cfg = ("global\n    crt-base {root}\n" + DEFAULTS + """frontend fe
    bind 127.0.0.1:{p0} ssl crt ec.pem crt rsa.pem crt wild.pem
    bind 127.0.0.1:{p1} ssl crt {root}/dir strict-sni
    http-request return status 200 content-type text/plain string ok
""")
    names = [None, "www.example.com", "WWW.Example.COM", "a.example.org", "a.b.example.org", "example.org",
             "rsa.example.net", "x.wild.test", "wild.test", "unknown.test"]
    ctx = client_context(certs)

    def run(ports: list[int]) -> list[Any]:
        return [(i, n, probe(ports[i], ctx, n)) for i in range(2) for n in names]

    theirs, ours = side_by_side(cfg, 2, run, extra={"root": certs.root})
    assert ours == theirs
    # the test means something: several certificates chosen, strict-sni refusing some names
    assert {r[2][1] for r in theirs if r[2][0] == "ok"} == {"www.example.com", "rsa.example.net", "*.wild.test"}
    assert any(r[2] == ("fail",) for r in theirs)


def test_alpn_as_haproxy(certs: Certs) -> None:
    cfg = DEFAULTS + """frontend fe
    bind 127.0.0.1:{p0} ssl crt {root}/ec.pem alpn http/1.1
    bind 127.0.0.1:{p1} ssl crt {root}/ec.pem
    bind 127.0.0.1:{p2} ssl crt {root}/ec.pem alpn foo,http/1.1,bar
    http-request return status 200 content-type text/plain string ok
"""
    offers: list[list[str] | None] = [None, ["h2", "http/1.1"], ["http/1.1"], ["foo"], ["bar", "http/1.1"], ["h2"]]

    def run(ports: list[int]) -> list[Any]:
        return [(i, o, probe(ports[i], client_context(certs, alpn=o), "www.example.com"))
                for i in range(3) for o in offers]

    theirs, ours = side_by_side(cfg, 3, run, extra={"root": certs.root})
    assert ours == theirs
    assert {r[2][4] for r in theirs} >= {"http/1.1", None, "foo"}


def test_versions_and_ciphers_as_haproxy(certs: Certs) -> None:
    cfg = ("global\n    ssl-default-bind-ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384\n"
           "    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256\n"
           "    ssl-default-bind-options no-tlsv11 ssl-min-ver TLSv1.2\n" + DEFAULTS + """frontend fe
    bind 127.0.0.1:{p0} ssl crt {root}/ec.pem
    bind 127.0.0.1:{p1} ssl crt {root}/ec.pem ssl-min-ver TLSv1.3
    bind 127.0.0.1:{p2} ssl crt {root}/rsa.pem ssl-max-ver TLSv1.2 ciphers ECDHE-RSA-CHACHA20-POLY1305
    bind 127.0.0.1:{p3} ssl crt {root}/ec.pem ciphersuites TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384
    bind 127.0.0.1:{p4} ssl crt {root}/ec.pem no-tlsv13
    bind 127.0.0.1:{p5} ssl crt {root}/ec.pem no-tlsv12 ssl-max-ver TLSv1.3
    http-request return status 200 content-type text/plain string ok
""")
    T = ssl.TLSVersion
    clients = [
        {}, {"max_ver": T.TLSv1_2}, {"min_ver": T.TLSv1_3},
        {"max_ver": T.TLSv1_2, "ciphers": "ECDHE-ECDSA-AES128-GCM-SHA256"},
        {"max_ver": T.TLSv1_2, "ciphers": "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256"},
        {"max_ver": T.TLSv1_1, "min_ver": T.TLSv1_1},
    ]

    def run(ports: list[int]) -> list[Any]:
        out = []
        for i, p in enumerate(ports):
            sni = "rsa.example.net" if i == 2 else "www.example.com"
            for c in clients:
                out.append((i, str(c), probe(p, client_context(certs, **c), sni)))  # type: ignore[arg-type]
        return out

    theirs, ours = side_by_side(cfg, 6, run, extra={"root": certs.root})
    assert ours == theirs
    assert {r[2][3] for r in theirs if r[2][0] == "ok"} >= {"TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
                                                           "ECDHE-RSA-CHACHA20-POLY1305"}


def test_client_certificates_as_haproxy(certs: Certs) -> None:
    cfg = ("global\n    ca-base {root}\n" + DEFAULTS + """frontend fe
    bind 127.0.0.1:{p0} ssl crt {root}/ec.pem verify required ca-file ca.crt
    bind 127.0.0.1:{p1} ssl crt {root}/ec.pem verify optional ca-file ca.crt
    bind 127.0.0.1:{p2} ssl crt {root}/ec.pem verify none ca-file ca.crt
    bind 127.0.0.1:{p3} ssl crt {root}/ec.pem ca-file {root}/ca.crt
    http-request return status 200 content-type text/plain string ok
""")

    def run(ports: list[int]) -> list[Any]:
        out = []
        for i, p in enumerate(ports):
            for cert in (None, "client", "stranger"):
                r = probe(p, client_context(certs, cert=cert), "www.example.com")
                # TLS 1.3: a refused client certificate ends the connection after the client's
                # handshake, when it reads (an alert, or a reset that discards it: a race in
                # both proxies); what matters is whether a response came
                out.append((i, cert, r[-1] == b"ok"))
        return out

    theirs, ours = side_by_side(cfg, 4, run, extra={"root": certs.root})
    assert ours == theirs
    assert {r[2] for r in theirs} == {True, False}


def _s_client(port: int, *args: str) -> str:
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args], input=b"",
                       capture_output=True, timeout=10)
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def test_handshake_failures_logged_as_haproxy(certs: Certs) -> None:
    cfg = ("global\n    log 127.0.0.1:{p9} local2\n" + DEFAULTS.replace("timeout client 5s", "timeout client 500ms")
           + """    log global
    option httplog
frontend fe
    bind 127.0.0.1:{p0} ssl crt {root}/ec.pem crt {root}/rsa.pem strict-sni
    bind 127.0.0.1:{p1} ssl crt {root}/ec.pem verify required ca-file {root}/ca.crt
    bind 127.0.0.1:{p2} ssl crt {root}/ec.pem name web
    http-request return status 200 content-type text/plain string ok
frontend quiet
    option dontlognull
    bind 127.0.0.1:{p3} ssl crt {root}/ec.pem strict-sni
    http-request return status 200 content-type text/plain string ok
frontend lf
    log-format "%ft %f %sslv %sslc %{{+Q}}sslv %b/%s %ST"
    bind 127.0.0.1:{p4} ssl crt {root}/ec.pem crt {root}/rsa.pem
    bind 127.0.0.1:{p5}
    http-request return status 200 content-type text/plain string ok
""")

    def run(ports: list[int]) -> list[str]:
        sink, sport = sinks[len(got)]
        del sport
        recv_until_quiet(sink, 0.3)  # the harness's connections that waited for the ports
        ctx = client_context(certs)
        steps = [
            lambda: _s_client(ports[0], "-noservername"),
            lambda: _s_client(ports[0], "-servername", "nope.test"),
            lambda: probe(ports[0], ctx, "rsa.example.net"),
            lambda: _s_client(ports[1], "-servername", "www.example.com"),
            lambda: socket.create_connection(("127.0.0.1", ports[2]), timeout=2).close(),
            lambda: _garbage(ports[2]),
            lambda: _idle(ports[2], 0.9),
            lambda: socket.create_connection(("127.0.0.1", ports[3]), timeout=2).close(),
            lambda: _s_client(ports[3], "-noservername"),
            lambda: probe(ports[4], ctx, "rsa.example.net"),
            lambda: probe(ports[4], client_context(certs, max_ver=ssl.TLSVersion.TLSv1_2), None),
            lambda: _plain(ports[5]),
        ]
        for step in steps:
            step()
            time.sleep(0.05)
        lines = [d.decode().split(": ", 1)[1].strip() for d in recv_until_quiet(sink, 1.0)]
        # as a multiset: a connection of its own per step, and a proxy may log one just after
        # closing it (2.6 runs two threads), so two steps' lines can come in either order
        return sorted(_norm_log(ln) for ln in lines)

    sinks = [udp_sink(), udp_sink()]
    got: list[Any] = []
    try:
        require_haproxy("haproxy")
        for which in ("haproxy", "ours"):
            ports = [free_port() for _ in range(6)]
            text = cfg.format(**{f"p{i}": p for i, p in enumerate(ports)}, p9=sinks[len(got)][1], root=certs.root)
            with run_proxy(text, wait_ports=ports, which=which) as pp:
                try:
                    got.append(run(ports))
                except Exception:
                    print(pp.stderr_text())
                    raise
    finally:
        for s, _ in sinks:
            s.close()
    theirs, ours = got
    assert ours == theirs
    assert any("SSL handshake failure" in ln for ln in theirs)
    assert any("Timeout during SSL handshake" in ln for ln in theirs)
    assert any(" fe~ " in ln for ln in theirs)


def _norm_log(line: str) -> str:
    """A log line without what differs from run to run: ports, dates, timers, byte counts."""
    import re

    line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:P", line)
    line = re.sub(r"\[\d\d/\w+/\d{4}:[\d:.]+\]", "[DATE]", line)
    line = re.sub(r" -?\d+/-?\d+/-?\d+/-?\d+/-?\d+ ", " T ", line)
    line = re.sub(r" (\d{3}) \d+ ", r" \1 B ", line)
    return line


def _plain(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
        c.sendall(REQ)
        while c.recv(65536):
            pass


def _garbage(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        try:
            c.recv(100)
        except OSError:
            pass


def _idle(port: int, secs: float) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
        time.sleep(secs)
        try:
            c.recv(100)
        except OSError:
            pass



def test_tls_fetches_as_haproxy(certs: Certs) -> None:
    fetches = ("fc=%[ssl_fc] sni=%[ssl_fc_sni] hassni=%[ssl_fc_has_sni] p=%[ssl_fc_protocol] c=%[ssl_fc_cipher] "
               "a=%[ssl_fc_alpn] hc=%[ssl_fc_has_crt] used=%[ssl_c_used] v=%[ssl_c_verify] err=%[ssl_c_err] "
               "caerr=%[ssl_c_ca_err] sdn=%[ssl_c_s_dn] cn=%[ssl_c_s_dn(CN)] o=%[ssl_c_s_dn(O,1)] idn=%[ssl_c_i_dn] "
               "icn=%[ssl_c_i_dn(CN,-1)] ser=%[ssl_c_serial] serh=%[ssl_c_serial,hex] nb=%[ssl_c_notbefore] "
               "na=%[ssl_c_notafter] ver=%[ssl_c_version] sha=%[ssl_c_sha1,hex] der=%[ssl_c_der,sha1,hex] "
               "fsdn=%[ssl_f_s_dn] fidn=%[ssl_f_i_dn] fcn=%[ssl_f_s_dn(CN)] fser=%[ssl_f_serial,hex] "
               "fver=%[ssl_f_version] fnb=%[ssl_f_notbefore] fna=%[ssl_f_notafter] fsha=%[ssl_f_sha1,hex] "
               "fder=%[ssl_f_der,sha1,hex] ks=%[ssl_fc_use_keysize] aks=%[ssl_fc_alg_keysize] "
               "res=%[ssl_fc_is_resumed] sv=%sslv sc=%sslc ft=%ft f=%f")
    cfg = DEFAULTS + """frontend fe
    bind 127.0.0.1:{p0} ssl crt {root}/ec.pem crt {root}/rsa.pem verify optional ca-file {root}/ca.crt alpn http/1.1
    bind 127.0.0.1:{p1} ssl crt {root}/wild.pem
    bind 127.0.0.1:{p2}
    acl org ssl_fc_sni_end .example.org
    http-request return status 201 content-type text/plain lf-string "org %[ssl_fc_sni]" if org
    http-request return status 200 content-type text/plain lf-string "FETCHES"
""".replace("FETCHES", fetches)
    T = ssl.TLSVersion

    def run(ports: list[int]) -> list[Any]:
        out: list[Any] = []
        for port, sni, kw in ((0, "www.example.com", {}), (0, "www.example.com", {"cert": "client"}),
                              (0, "rsa.example.net", {"cert": "client", "max_ver": T.TLSv1_2}),
                              (0, None, {}), (0, "a.example.org", {"cert": "client"}),
                              (1, "x.wild.test", {}), (1, "www.example.com", {"max_ver": T.TLSv1_2})):
            out.append(probe(ports[port], client_context(certs, **kw), sni))  # type: ignore[arg-type]
        # a resumed TLS 1.2 session
        ctx = client_context(certs, max_ver=T.TLSv1_2)
        with socket.create_connection(("127.0.0.1", ports[0]), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="www.example.com") as s:
                sess = s.session
        with socket.create_connection(("127.0.0.1", ports[0]), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="www.example.com", session=sess) as s:
                s.sendall(REQ)
                data = b""
                while d := s.recv(65536):
                    data += d
                out.append((s.session_reused, data.partition(b"\r\n\r\n")[2]))
        with socket.create_connection(("127.0.0.1", ports[2]), timeout=5) as c:
            c.sendall(REQ)
            data = b""
            while d := c.recv(65536):
                data += d
            out.append(data.partition(b"\r\n\r\n")[2])
        return out

    theirs, ours = side_by_side(cfg, 3, run, extra={"root": certs.root})
    for a, b in zip(ours, theirs, strict=True):
        assert a == b
    assert b"cn=client1" in theirs[1][-1] and theirs[-2][0] is True


def _client_hello(sni: str | None, alpn: list[str] | None, max_ver: ssl.TLSVersion | None = None) -> bytes:
    """The ClientHello Python's ssl (OpenSSL) sends for these settings."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if max_ver is not None:
        ctx.maximum_version = max_ver
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def _hellos(seed: int, n: int) -> list[bytes]:
    """Generated first bytes: real ClientHellos (server names, ALPN lists, versions), cut short,
    with a byte changed, SSLv2-looking, HTTP and junk."""
    import random

    rng = random.Random(seed)
    names = [None, "a.test", "A.TEST", "x.b.test", "b.test", "c.test"]
    alpns = [None, ["h2"], ["http/1.1"], ["h2", "http/1.1"], ["x"]]
    out = []
    for i in range(n):
        h = _client_hello(rng.choice(names), rng.choice(alpns), rng.choice([None, ssl.TLSVersion.TLSv1_2]))
        kind = i % 6
        if kind == 3:
            h = h[:rng.randrange(1, len(h))]
        elif kind == 4:
            pos = rng.choice([0, 1, 2, 3, 4, 5, 9, 10, 43, rng.randrange(len(h))])
            h = h[:pos] + bytes([rng.randrange(256)]) + h[pos + 1:]
        elif kind == 5:
            h = rng.choice([b"GET / HTTP/1.0\r\n\r\n", b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10" + bytes(37),
                            b"\x16\x03\x00\x00\x05\x02\x00\x00\x01\x00", bytes(rng.randrange(256) for _ in range(40))])
        out.append(h)
    return out


def test_clienthello_fetches_route_as_haproxy(certs: Certs) -> None:
    """mode tcp, nothing decrypted: req.ssl_sni / req_ssl_sni, req.ssl_hello_type / req_ssl_hello_type,
    req.ssl_ver and req.ssl_alpn choose the backend for generated first bytes, and a real client is
    sent to the server whose certificate its server name asks for."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tests.integration.test_tls_servers_vs_haproxy import TlsBackend

    names = ["a", "b", "none", "t1", "t2", "v1", "v3", "v2", "h2", "h1"]
    servers = []
    for name in names:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        s.settimeout(0.2)
        servers.append((name, s))
    stop = threading.Event()

    def serve(name: str, s: socket.socket) -> None:
        while not stop.is_set():
            try:
                c, _ = s.accept()
            except OSError:
                continue
            threading.Thread(target=reply, args=(name, c), daemon=True).start()

    def reply(name: str, c: socket.socket) -> None:
        try:
            c.sendall(name.encode())
            c.shutdown(socket.SHUT_WR)
            c.settimeout(1)
            while c.recv(65536):  # read what came (a close with unread bytes would be a reset)
                pass
        except OSError:
            pass
        c.close()

    threads = [threading.Thread(target=serve, args=ns, daemon=True) for ns in servers]
    for t in threads:
        t.start()
    ec, rsa = TlsBackend(certs, "ec"), TlsBackend(certs, "rsa")
    backends = "".join(f"backend b_{n}\n    server s 127.0.0.1:{s.getsockname()[1]}\n" for n, s in servers)
    front = """frontend {name}
    bind 127.0.0.1:{{p{i}}}
    tcp-request inspect-delay 1s
    tcp-request content accept if {{{{ req_ssl_hello_type 1 }}}}
{rules}    default_backend b_none
"""
    groups = [
        [("b_a", "req_ssl_sni", "-i a.test"), ("b_b", "req.ssl_sni", "-m end .b.test")],
        [("b_t1", "req.ssl_hello_type", "1"), ("b_t2", "req_ssl_hello_type", "2")],
        [("b_v1", "req.ssl_ver", "-m int 196609"), ("b_v3", "req.ssl_ver", "-m int 196611"),
         ("b_v2", "req.ssl_ver", "-m int 2")],
        [("b_h2", "req.ssl_alpn", "h2"), ("b_h1", "req.ssl_alpn", "http/1.1")],
    ]
    rules = ["".join(f"    use_backend {b} if {{{{ {f} {m} }}}}\n" for b, f, m in g) for g in groups]
    cfg = DEFAULTS.replace("mode http", "mode tcp") + "".join(
        front.format(name=f"fe{i}", i=i, rules=r) for i, r in enumerate(rules)) + backends + """frontend real
    bind 127.0.0.1:{p4}
    tcp-request inspect-delay 2s
    tcp-request content accept if {{ req_ssl_hello_type 1 }}
    use_backend tls_rsa if {{ req_ssl_sni -i rsa.example.net }}
    default_backend tls_ec
backend tls_ec
    server s 127.0.0.1:EC_PORT
backend tls_rsa
    server s 127.0.0.1:RSA_PORT
""".replace("EC_PORT", str(ec.port)).replace("RSA_PORT", str(rsa.port))
    # 1 s, not less: a hello that is complete must be judged complete on both sides even when a
    # loaded machine delays a proxy's read (with 150 ms 2.6 once routed a whole hello as "none")
    hellos = _hellos(1604, 36)

    def send(port: int, data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as c:
            c.sendall(data)
            got = b""
            try:
                while d := c.recv(100):
                    got += d
            except OSError:
                pass
            return got

    def run(ports: list[int]) -> list[Any]:
        with ThreadPoolExecutor(8) as pool:
            routed = list(pool.map(lambda a: send(*a), [(ports[i], h) for h in hellos for i in range(4)]))
        ctx = client_context(certs)
        real = [probe(ports[4], ctx, n, request=b"GET / HTTP/1.1\r\n\r\n")[:2]
                for n in ("rsa.example.net", "www.example.com", None)]
        return [routed, real]

    try:
        theirs, ours = side_by_side(cfg, 5, run)
    finally:
        stop.set()
        for t in threads:
            t.join(2)
        for _, s in servers:
            s.close()
        ec.close()
        rsa.close()
    for k, (a, b) in enumerate(zip(ours[0], theirs[0], strict=True)):
        assert a == b, (k % 4, hellos[k // 4])
    assert ours[1] == theirs[1] == [("ok", "rsa.example.net"), ("ok", "www.example.com"), ("ok", "www.example.com")]
    assert {b"a", b"b", b"none", b"t1", b"v3", b"h2", b"h1"} <= set(theirs[0])


def test_show_ssl_cert_as_haproxy(certs: Certs) -> None:
    """The runtime API's certificate listing and each file's details, byte for byte as 2.6's."""
    from tests.integration.stats_client import admin_socket, stats_cli

    cfg = ("global\n    stats socket @DIR@/admin.sock mode 600 level admin\n    crt-base {root}\n" + DEFAULTS
           + """frontend fe
    bind 127.0.0.1:{p0} ssl crt ec.pem crt {root}/dir
    bind 127.0.0.1:{p1} ssl crt rsa.pem crt ec.pem
    http-request return status 200 content-type text/plain string ok
""")
    names = [str(certs.root / n) for n in ("ec.pem", "rsa.pem", "dir/wild.pem", "dir/ec.pem", "nope.pem")]
    out = []
    require_haproxy("haproxy")
    for which in ("haproxy", "ours"):
        ports = [free_port(), free_port()]
        text = cfg.format(p0=ports[0], p1=ports[1], root=certs.root)
        with run_proxy(text, wait_ports=ports, which=which) as pp:
            sock = admin_socket(pp)
            out.append([stats_cli(sock, "show ssl cert")] + [stats_cli(sock, f"show ssl cert {n}") for n in names])
    theirs, ours = out
    assert ours == theirs
    assert "Algorithm: RSA2048" in theirs[2] and "Chain Subject: /CN=Test CA" in theirs[1]


def test_key_files_found_as_haproxy(certs: Certs, tmp_path: Any) -> None:
    """A certificate without its key in the file: FILE.key next to it, or with
    'ssl-load-extra-del-ext' a .crt FILE's name without its extension + .key (site.crt -> site.key,
    other.pem -> other.pem.key); the handshakes then present it, and -c names the key it looked for."""
    import shutil as sh

    d = tmp_path / "keys"
    d.mkdir()
    sh.copy(certs["ec.crt"], d / "site.crt")
    sh.copy(certs["ec.key"], d / "site.key")
    sh.copy(certs["rsa.crt"], d / "other.pem")
    sh.copy(certs["rsa.key"], d / "other.pem.key")
    cfg = ("global\n    ssl-load-extra-del-ext\n" + DEFAULTS + """frontend fe
    bind 127.0.0.1:{p0} ssl crt {d}/site.crt
    bind 127.0.0.1:{p1} ssl crt {d}/other.pem
    http-request return status 200 content-type text/plain string ok
""")
    ctx = client_context(certs)
    theirs, ours = side_by_side(cfg, 2, lambda ports: [probe(p, ctx, None)[:2] for p in ports], extra={"d": d})
    assert ours == theirs == [("ok", "www.example.com"), ("ok", "rsa.example.net")]
    (d / "site.key").rename(d / "site.crt.key")  # the name without del-ext: not looked for
    (tmp_path / "c.cfg").write_text(cfg.format(p0=1, p1=2, d=d))
    check = [subprocess.run([*cmd, "-c", "-f", str(tmp_path / "c.cfg")], capture_output=True, text=True, timeout=60)
             for cmd in (["haproxy"], [sys.executable, "-m", "haproxy_py"])]
    msgs = [[ln.split(" : ", 2)[-1] for ln in c.stderr.splitlines() if "No Private Key" in ln] for c in check]
    assert msgs[0] == msgs[1] and msgs[0] and msgs[0][0].endswith(f"'{d}/site.key'.")


def test_certificate_changed_at_run_time_as_haproxy(certs: Certs) -> None:
    """set ssl cert NAME <<PEM, show ssl cert (the transaction), abort / commit ssl cert: new
    handshakes present the committed certificate under that file's name (its server names with it),
    replies and handshakes compared with 2.6's."""
    from tests.integration.stats_client import admin_socket, stats_cli

    cfg = ("global\n    stats socket @DIR@/admin.sock mode 600 level admin\n" + DEFAULTS + """frontend fe
    bind 127.0.0.1:{p0} ssl crt {root}/ec.pem crt {root}/rsa.pem
    http-request return status 200 content-type text/plain string ok
""")
    ec, nope = str(certs.root / "ec.pem"), str(certs.root / "nope.pem")
    wild = (certs.root / "wild.pem").read_text()
    ctx = client_context(certs)
    names = ("x.wild.test", "www.example.com", "rsa.example.net")
    out = []
    require_haproxy("haproxy")
    for which in ("haproxy", "ours"):
        port = free_port()
        with run_proxy(cfg.format(p0=port, root=certs.root), wait_ports=[port], which=which) as pp:
            sock = admin_socket(pp)

            def cli(cmd: str) -> str:
                return stats_cli(sock, cmd)  # noqa: B023 - used within this iteration

            def cns() -> list[Any]:
                return [probe(port, ctx, n)[:2] for n in names]  # noqa: B023

            steps = [cli(f"commit ssl cert {ec}"), cli(f"abort ssl cert {ec}"),
                     cli(f"set ssl cert {nope} <<\n{wild}"), cli(f"set ssl cert {ec} <<\n{wild}"),
                     cli("show ssl cert"), cli(f"show ssl cert *{ec}"), cns(), cli(f"abort ssl cert {ec}"),
                     cli("show ssl cert"), cli(f"set ssl cert {ec} <<\n{wild}"), cli(f"commit ssl cert {ec}"),
                     cns(), cli("show ssl cert"), cli(f"show ssl cert {ec}"), cli("set ssl cert"),
                     cli("commit ssl cert"), cli("abort ssl cert")]
            out.append(steps)
    theirs, ours = out
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == b, k
    assert theirs[11][0] == ("ok", "*.wild.test") and theirs[6][0] == ("ok", "www.example.com")
