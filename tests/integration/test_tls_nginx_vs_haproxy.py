"""TLS towards servers with nginx as the TLS backend, side by side with HAProxy 2.6: what nginx saw
(the client certificate's DN, session resumption, protocol, SNI, ALPN), the verdicts on the
server's certificate (verifyhost, crl-file), the log lines and the health checks' states, and the
ssl_bc_*/ssl_s_* fetches, compared between both proxies on the same nginx."""

from __future__ import annotations

import csv
import io
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import free_port, get, require_haproxy, run_proxy
from tests.integration.nginx_tls import Nginx, make_crl, nginx_available
from tests.integration.stats_client import admin_socket, stats_cli
from tests.integration.tls_certs import Certs

DEFAULTS = """defaults
    mode http
    option http-server-close
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 0
"""


class UdpLog:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(3)
        self.got: list[str] = []

    def lines(self, n: int) -> list[str]:
        """The first ``n`` lines received (3 s at most for each one still to come)."""
        while len(self.got) < n:
            try:
                d = self.sock.recv(65536)
            except TimeoutError:
                break
            self.got.append(d.decode("latin-1").split("]: ", 1)[-1].rstrip("\n"))
        return self.got[:n]

    def close(self) -> None:
        self.sock.close()


def _side_by_side(cfg: str, run: Any, **fmt: Any) -> tuple[Any, Any]:
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        port = free_port()
        log = UdpLog()
        try:
            with run_proxy(cfg.format(p0=port, log=log.port, **fmt), wait_ports=[port], which=which) as pp:
                try:
                    out.append(run(port, pp, log))
                except Exception:
                    print(pp.stderr_text())
                    raise
        finally:
            log.close()
    return out[0], out[1]


@pytest.fixture
def nginx(certs: Certs, tmp_path: Path) -> Any:
    if not nginx_available():
        pytest.fail("nginx is required (.ci/run installs nginx-light)")
    n = Nginx(certs, tmp_path)
    yield n
    n.close()


def _check_cols(r: dict[str, str]) -> tuple[str, str, str, str]:
    return (r["status"], r["check_status"], r["check_code"], r["last_chk"])


def _settled_rows(sock: Any) -> list[dict[str, str]]:
    """The servers' show stat rows at a moment no check runs ("* " marks a running check, whose
    code and text are blank until it ends, in 2.6 too): polled, a few seconds at most."""
    end = time.monotonic() + 5
    while True:
        rows = [r for r in csv.DictReader(io.StringIO(stats_cli(sock, "show stat").lstrip("# ")))
                if r["svname"] not in ("FRONTEND", "BACKEND")]
        if not any(r["check_status"].startswith("*") for r in rows) or time.monotonic() > end:
            return rows
        time.sleep(0.02)


def _client_pem(certs: Certs) -> str:
    p = certs.root / "client.pem"
    if not p.exists():
        p.write_text((certs.root / "client.crt").read_text() + (certs.root / "client.key").read_text())
    return str(p)


def test_server_tls_params_as_haproxy(certs: Certs, nginx: Nginx) -> None:
    """crt (the DN nginx saw), verifyhost (match, wildcard, mismatch: 503 SC in the log with
    ssl_bc_err/ssl_bc_err_str, OpenSSL's verify error as 2.6 gives it),
    ssl-reuse/no-ssl-reuse and tls-tickets/no-tls-tickets (nginx's $ssl_session_reused on the
    second connection; 2.6 keeps one session per server and thread: nbthread 1), force-tlsv12, no-tlsv13, crl-file (a CRL revoking nginx's certificate or
    none), also through default-server and ssl-default-server-options."""
    _client_pem(certs)
    crl_ec = make_crl(certs, "ec", "crl-ec.pem")
    crl_none = make_crl(certs, None, "crl-none.pem")
    cases = {
        "crt": "ssl verify required ca-file {root}/ca.crt crt {root}/client.pem",
        "nocrt": "ssl verify none",
        "vh_ok": "ssl verify required ca-file {root}/ca.crt verifyhost www.example.com",
        "vh_wild": "ssl verify required ca-file {root}/ca.crt verifyhost foo.example.org",
        "vh_bad": "ssl verify required ca-file {root}/ca.crt verifyhost other.test",
        "vh_deep": "ssl verify required ca-file {root}/ca.crt verifyhost a.b.example.org",
        "vh_sni": "ssl verify required ca-file {root}/ca.crt sni str(other.test) verifyhost www.example.com",
        "vh_none": "ssl verify none verifyhost other.test",
        "reuse": "ssl verify none",
        "noreuse": "ssl verify none no-ssl-reuse",
        "reuse12": "ssl verify none ssl-max-ver TLSv1.2",
        "notickets12": "ssl verify none ssl-max-ver TLSv1.2 no-tls-tickets",
        "force12": "ssl verify none force-tlsv12",
        "no13": "ssl verify none no-tlsv13",
        "crl_revoked": "ssl verify required ca-file {root}/ca.crt crl-file {crl_ec}",
        "crl_ok": "ssl verify required ca-file {root}/ca.crt crl-file {crl_none}",
        "dflt": "",
    }
    fe = "".join(f"    use_backend {b} if {{{{ path_beg /{b}/ }}}}\n" for b in cases)
    bes = "".join(f"backend {b}\n    server s 127.0.0.1:{{ng}} {p}\n" for b, p in cases.items() if b != "dflt")
    bes += ("backend dflt\n    default-server ssl verify required ca-file {root}/ca.crt crt {root}/client.pem "
            "verifyhost www.example.com\n    server s 127.0.0.1:{ng}\n")
    bes += ("backend dflt_tickets\n    default-server ssl verify none no-tls-tickets ssl-max-ver TLSv1.2\n"
            "    server s 127.0.0.1:{ng} tls-tickets\n    server s2 127.0.0.1:{ng} disabled\n")
    fe += "    use_backend dflt_tickets if {{ path_beg /dflt_tickets/ }}\n"
    cfg = """global
    nbthread 1
    ssl-default-server-options no-tlsv11
""" + DEFAULTS + """    log 127.0.0.1:{log} local0
    log-format "%b/%s %ST %ts %[ssl_bc] %[ssl_bc_err] %[ssl_bc_err_str] %[ssl_bc_is_resumed]"
frontend fe
    bind 127.0.0.1:{p0}
""" + fe + bes
    # notickets12 goes to the port without tickets nor session cache: no way to resume
    cfg = cfg.replace("{ng} ssl verify none ssl-max-ver TLSv1.2 no-tls-tickets", "{ng2} ssl verify none "
                      "ssl-max-ver TLSv1.2 no-tls-tickets")
    cases["dflt_tickets"] = ""

    def run(port: int, pp: Any, log: UdpLog) -> list[Any]:
        out = []
        for b in cases:
            paths = ["/need-cert"] if b in ("crt", "nocrt", "dflt") else ["/x"]
            if b in ("reuse", "noreuse", "reuse12", "notickets12", "dflt_tickets"):
                paths = ["/x", "/x"]
            for path in paths:
                st, hdrs, body = get(port, f"/{b}{path}")
                out.append((b, st, hdrs.get("x-client-dn"), body))
                # its line (after the port probe's) before the next request: the lines are in
                # the order of the requests (a proxy may log just after closing the connection)
                log.lines(len(out) + 1)
        out.append(log.lines(len(out)))
        return out

    theirs, ours = _side_by_side(cfg, run, ng=nginx.port, ng2=nginx.port_notickets, root=certs.root,
                                 crl_ec=crl_ec, crl_none=crl_none)
    assert ours == theirs

    got = {(r[0], r[1]) for r in theirs[:-1]}
    assert ("crt", 200) in got and ("nocrt", 403) in got and ("vh_bad", 503) in got and ("crl_revoked", 503) in got
    assert any(r[0] == "crt" and r[2] == "CN=client1,O=Acme,C=FR" for r in theirs[:-1])
    reused = [r[3].split(b"reused=")[1][:1] for r in theirs[:-1] if r[0] in ("reuse", "noreuse")]
    assert reused == [b".", b"r", b".", b"."]
    assert "vh_bad/s 503 SC 1 167772294 error:0A000086:SSL routines::certificate verify failed 0" in theirs[-1]


def test_tls_checks_and_check_sni_alpn_as_haproxy(certs: Certs, nginx: Nginx) -> None:
    """Health checks over TLS to nginx: check-sni (the name verified with verify required),
    check-alpn, verifyhost mismatch, a client certificate on checks (crt), no-check-ssl; the
    servers' states and the checks' results in show stat."""
    _client_pem(certs)
    cfg = """global
    nbthread 1
    stats socket @DIR@/admin.sock mode 600 level admin
""" + DEFAULTS + """    log 127.0.0.1:{log} local0
frontend fe
    bind 127.0.0.1:{p0}
    default_backend web
backend web
    option httpchk GET /need-cert
    http-check expect status 200
    default-server check inter 200 rise 1 fall 1 check-ssl ca-file {root}/ca.crt
    server crt_ok 127.0.0.1:{ng} verify required crt {root}/client.pem
    server no_crt 127.0.0.1:{ng} verify none
    server sni_ok 127.0.0.1:{ng} verify required crt {root}/client.pem check-sni www.example.com
    server sni_bad 127.0.0.1:{ng} verify required crt {root}/client.pem check-sni other.test
    server vh_bad 127.0.0.1:{ng} verify required crt {root}/client.pem verifyhost other.test
    server alpn 127.0.0.1:{ng} verify none crt {root}/client.pem check-alpn http/1.1
    server no_check_ssl 127.0.0.1:{ng} verify none no-check-ssl
"""

    def run(port: int, pp: Any, log: UdpLog) -> list[Any]:
        sock = admin_socket(pp)
        want = {"crt_ok", "no_crt", "sni_ok", "sni_bad", "vh_bad", "alpn", "no_check_ssl"}
        end = time.monotonic() + 10
        rows: list[Any] = []
        while time.monotonic() < end:
            rows = list(csv.DictReader(io.StringIO(stats_cli(sock, "show stat").lstrip("# "))))
            done = {r["svname"] for r in rows if r["check_status"].lstrip("* ") and r["svname"] in want}
            if done == want:
                break
            time.sleep(0.2)
        time.sleep(0.6)  # every check ran more than once
        return sorted((r["svname"], *_check_cols(r)) for r in _settled_rows(sock) if r["svname"] in want)

    theirs, ours = _side_by_side(cfg, run, ng=nginx.port, root=certs.root)
    assert ours == theirs
    st = {r[0]: r[1] for r in theirs}
    assert st["crt_ok"] == "UP" and st["no_crt"] == "DOWN" and st["sni_bad"] == "DOWN" and st["vh_bad"] == "DOWN"


def test_ssl_bc_fetches_as_haproxy(certs: Certs, nginx: Nginx) -> None:
    """The ssl_bc_* fetches (the connection to the server) and ssl_s_* (the server's certificate)
    in http-response headers and in a log-format, on TLS and plain-text server connections; the
    values that are random per connection (session id, tls-unique) are compared by length."""
    from tests.integration.harness import HttpBackend

    plain = HttpBackend("plain").start()
    exprs = ["ssl_bc", "ssl_bc_protocol", "ssl_bc_cipher", "ssl_bc_alpn", "ssl_bc_is_resumed",
             "ssl_bc_use_keysize", "ssl_bc_alg_keysize", "ssl_bc_session_id,hex,length",
             "ssl_bc_unique_id,hex,length", "ssl_s_der,hex,length", "ssl_s_sha1,hex", "ssl_s_serial,hex",
             "ssl_s_s_dn", "ssl_s_s_dn(CN)", "ssl_s_i_dn", "ssl_s_i_dn(CN,1)", "ssl_s_notbefore",
             "ssl_s_notafter", "ssl_s_version", "ssl_s_key_alg", "ssl_s_sig_alg", "ssl_s_chain_der,hex,length",
             "ssl_bc_client_random,hex,length", "ssl_bc_server_random,hex,length",
             "ssl_bc_session_key,hex,length", "ssl_bc_err", "ssl_bc_err_str", "ssl_bc_npn"]
    hdrs = "".join(f'    http-response set-header X-F{i} "%[{e}]"\n' for i, e in enumerate(exprs))
    cfg = """global
    nbthread 1
""" + DEFAULTS + """    log 127.0.0.1:{log} local0
    log-format "%b %[ssl_bc] %[ssl_bc_protocol] %[ssl_bc_cipher] %[ssl_bc_alpn] %[ssl_bc_is_resumed] %[ssl_s_s_dn(CN)]"
frontend fe
    bind 127.0.0.1:{p0}
    use_backend plain if {{ path_beg /plain }}
    use_backend tls12 if {{ path_beg /tls12 }}
    default_backend tls
backend tls
""" + hdrs + """    server s 127.0.0.1:{ng} ssl verify required ca-file {root}/ca.crt alpn http/1.1 sni str(www.example.com)
backend tls12
""" + hdrs + """    server s 127.0.0.1:{ng} ssl verify none ssl-max-ver TLSv1.2 ciphers ECDHE-ECDSA-AES128-GCM-SHA256
backend plain
""" + hdrs + """    server s 127.0.0.1:{plain}
"""

    def run(port: int, pp: Any, log: UdpLog) -> list[Any]:
        out: list[Any] = []
        for path in ("/tls", "/tls", "/tls12", "/tls12", "/plain"):
            st, h, _ = get(port, path)
            out.append((path, st, [h.get(f"x-f{i}") for i in range(len(exprs))]))
            log.lines(len(out) + 1)  # its line before the next request (so in the requests' order)
        out.append(log.lines(len(out) + 1)[1:])  # the first line: wait_port's probe
        return out

    try:
        theirs, ours = _side_by_side(cfg, run, ng=nginx.port, plain=plain.port, root=certs.root)
    finally:
        plain.stop()
    assert ours == theirs
    assert theirs[1][2][:5] == ["1", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "http/1.1", "1"]
    assert theirs[-1][0].startswith("tls 1 TLSv1.3 TLS_AES_256_GCM_SHA384 http/1.1 0 www.example.com")


CHECK_RULES = """
backend t1
    option tcp-check
    tcp-check connect ssl sni www.example.com alpn http/1.1
    tcp-check send "GET / HTTP/1.0\\r\\n\\r\\n"
    tcp-check expect rstring "sni=www.example.com alpn=http/1.1"
    server vnone 127.0.0.1:{ng} check inter 400 rise 1 fall 1 verify none
    server vreq 127.0.0.1:{ng} check inter 400 rise 1 fall 1 verify required ca-file {root}/ca.crt
    server vbad 127.0.0.1:{ng} check inter 400 rise 1 fall 1 verify required ca-file {root}/ca2.crt
backend t2
    option tcp-check
    tcp-check connect
    tcp-check send "GET / HTTP/1.0\\r\\n\\r\\n"
    tcp-check expect rstring "proto=TLS"
    server chkssl 127.0.0.1:{ng} check inter 400 rise 1 fall 1 check-ssl verify none
backend t3
    option tcp-check
    tcp-check send "GET / HTTP/1.0\\r\\n\\r\\n"
    tcp-check expect rstring "proto=TLS"
    server chkssl 127.0.0.1:{ng} check inter 400 rise 1 fall 1 check-ssl verify none
    server sslsni 127.0.0.1:{ng} check inter 400 rise 1 fall 1 ssl verify none check-sni foo.example.org check-alpn http/1.1
    server vhost 127.0.0.1:{ng} check inter 400 rise 1 fall 1 check-ssl verify required ca-file {root}/ca.crt check-sni x.test
backend t4
    option tcp-check
    tcp-check connect default linger
    tcp-check send "GET / HTTP/1.0\\r\\n\\r\\n"
    tcp-check expect rstring "sni=foo.example.org alpn=http/1.1"
    server chkssl 127.0.0.1:{ng} check inter 400 rise 1 fall 1 check-ssl verify none check-sni foo.example.org check-alpn http/1.1
backend t5
    option httpchk
    http-check connect ssl sni www.example.com alpn http/1.1
    http-check send meth GET uri /
    http-check expect rstring "sni=www.example.com alpn=http/1.1"
    server vnone 127.0.0.1:{ng} check inter 400 rise 1 fall 1 verify none
    server vsni 127.0.0.1:{ng} check inter 400 rise 1 fall 1 verify required ca-file {root}/ca.crt
backend t6
    option httpchk
    http-check connect
    http-check send meth GET uri /
    http-check expect rstring "proto=TLS"
    server chk 127.0.0.1:{ng} check inter 400 rise 1 fall 1 verify none check-ssl
backend t7
    option httpchk
    http-check connect ssl sni other.test
    http-check send meth GET uri /
    server vsni 127.0.0.1:{ng} check inter 400 rise 1 fall 1 verify required ca-file {root}/ca.crt
"""


def test_tls_check_rules_as_haproxy(certs: Certs, nginx: Nginx) -> None:
    """tcp-check connect ssl/sni/alpn, http-check connect ssl/sni/alpn (the name verified is the
    rule's sni), a plain 'connect' on a check-ssl server (plain, as in 2.6), the implicit connect
    and 'connect default' (the server's check-ssl, check-sni, check-alpn): the checks' states and
    texts in show stat. A server checked by a 'connect ssl' rule that would verify without a CA
    file is refused as 2.6 refuses it."""
    cfg = """global
    stats socket @DIR@/admin.sock mode 600 level admin
""" + DEFAULTS + """    timeout check 1s
    log 127.0.0.1:{log} local0
frontend fe
    bind 127.0.0.1:{p0}
    default_backend t1
""" + CHECK_RULES
    want = 12

    def run(port: int, pp: Any, log: UdpLog) -> list[Any]:
        sock = admin_socket(pp)
        end = time.monotonic() + 10
        rows: list[Any] = []
        while time.monotonic() < end:
            rows = [r for r in csv.DictReader(io.StringIO(stats_cli(sock, "show stat").lstrip("# ")))
                    if r["svname"] not in ("FRONTEND", "BACKEND")]
            if len(rows) == want and all(r["check_status"].lstrip("* ") and "/" not in r["status"] for r in rows):
                break
            time.sleep(0.2)
        time.sleep(0.7)  # every check ran more than once
        return sorted((r["pxname"], r["svname"], *_check_cols(r)) for r in _settled_rows(sock))

    theirs, ours = _side_by_side(cfg, run, ng=nginx.port, root=certs.root)
    assert ours == theirs
    st = {(r[0], r[1]): r[2] for r in theirs}
    assert st[("t1", "vnone")] == "UP" and st[("t1", "vbad")] == "DOWN" and st[("t2", "chkssl")] == "DOWN"
    assert st[("t4", "chkssl")] == "UP" and st[("t5", "vsni")] == "UP" and st[("t7", "vsni")] == "DOWN"

    # a server without 'verify none' nor a CA file under a 'connect ssl' rule: refused by -c
    bad = DEFAULTS + "backend b\n    option tcp-check\n    tcp-check connect ssl\n    server s 127.0.0.1:1 check\n"
    outs = []
    for cmd in (["haproxy"], [sys.executable, "-m", "haproxy_py"]):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "h.cfg"
            p.write_text(bad)
            r = subprocess.run([*cmd, "-c", "-f", str(p)], capture_output=True, text=True, timeout=30,
                               cwd=str(Path(__file__).resolve().parents[2]))
            outs.append((r.returncode, [ln.split(" : ", 1)[-1].replace(str(p), "F") for ln in r.stderr.splitlines()
                                        if ln.startswith("[ALERT]")]))
    assert outs[1] == outs[0]
    assert outs[0][0] != 0 and "verify is enabled by default but no CA file specified" in outs[0][1][0]


def test_server_client_certificate_changed_at_run_time_as_haproxy(certs: Certs, nginx: Nginx,
                                                                  tmp_path: Path) -> None:
    """set ssl cert + commit ssl cert on a server's crt file: the next connections present the new
    client certificate (the DN nginx sees), show ssl cert shows it; compared with 2.6."""
    from tests.integration.stats_client import stats_cli as _cli
    from tests.integration.tls_certs import _signed

    for f in ("ca.crt", "ca.key"):
        (tmp_path / f).write_bytes((certs.root / f).read_bytes())
    _signed(tmp_path, "client2", "ec", "/C=DE/CN=client2", None, "ca", "0x7702")
    pem2 = (tmp_path / "client2.crt").read_text() + (tmp_path / "client2.key").read_text()
    client = _client_pem(certs)
    cfg = """global
    nbthread 1
    stats socket @DIR@/admin.sock mode 600 level admin
""" + DEFAULTS + """    log 127.0.0.1:{log} local0
frontend fe
    bind 127.0.0.1:{p0}
    default_backend b
backend b
    server s 127.0.0.1:{ng} ssl verify required ca-file {root}/ca.crt crt {client}
"""

    def run(port: int, pp: Any, log: UdpLog) -> list[Any]:
        sock = admin_socket(pp)
        out: list[Any] = [get(port, "/need-cert")[1].get("x-client-dn"), get(port, "/need-cert")[1].get("x-client-dn")]
        out.append(_cli(sock, f"set ssl cert {client} <<\n{pem2}\n"))
        out.append(get(port, "/need-cert")[1].get("x-client-dn"))
        out.append(_cli(sock, f"commit ssl cert {client}"))
        out += [get(port, "/need-cert")[1].get("x-client-dn"), get(port, "/need-cert")[2]]
        out.append(_cli(sock, f"show ssl cert {client}").split("Subject:")[1].split("\n")[0])
        return out

    theirs, ours = _side_by_side(cfg, run, ng=nginx.port, root=certs.root, client=client)
    assert ours == theirs
    assert theirs[0] == "CN=client1,O=Acme,C=FR" and theirs[5] == "CN=client2,C=DE"


@pytest.mark.slow
def test_checks_and_traffic_share_the_tls_session_as_haproxy(certs: Certs, nginx: Nginx) -> None:
    """ssl-reuse for health checks: a check resumes the session of the previous check or request
    and a request the session of a check (2.6 keeps one session per server): the (URI, resumed)
    pairs nginx logged, compared with 2.6; no-ssl-reuse: every connection a full handshake."""
    from tests.integration.nginx_tls import wait_log_lines

    cfg = """global
    nbthread 1
""" + DEFAULTS + """    log 127.0.0.1:{log} local0
frontend fe
    bind 127.0.0.1:{p0}
    use_backend noreuse if {{ path_beg /noreuse }}
    default_backend b
backend b
    option httpchk GET /chk
    server s 127.0.0.1:{ng} check inter 300 ssl verify none
backend noreuse
    option httpchk GET /chk-noreuse
    server s 127.0.0.1:{ng} check inter 300 ssl verify none no-ssl-reuse
"""

    def run(port: int, pp: Any, log: UdpLog) -> list[Any]:
        nginx.access_log.write_text("")  # what the other proxy left
        end = time.monotonic() + 5
        while time.monotonic() < end and "/chk " not in nginx.access_log.read_text():
            time.sleep(0.05)  # the server's first check: a full handshake; from here on
        nginx.access_log.write_text("")
        wait_log_lines(nginx.access_log, 6)
        for path in ("/x", "/noreuse/x", "/x"):
            get(port, path)
        lines = wait_log_lines(nginx.access_log, 10)
        return sorted({tuple(ln.split()) for ln in lines})

    theirs, ours = _side_by_side(cfg, run, ng=nginx.port)
    assert ours == theirs
    assert ("/x", "r") in theirs and ("/chk", "r") in theirs and ("/chk-noreuse", "r") not in theirs
    assert ("/noreuse/x", "r") not in theirs
