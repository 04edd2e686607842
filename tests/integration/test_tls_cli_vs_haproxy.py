"""The runtime API's certificate and CA stores side by side with HAProxy 2.6: new ssl cert, del
ssl cert (unused, in use by a listener or by a server's crt, unknown), show ssl cert with the
servers' client certificates and an empty store, show ssl ca-file with the listeners' and servers'
CA files (a bundle of two), by index, bad indexes, unknown names; new ssl ca-file, del ssl ca-file
(in use, unused: a server's without crt, @system-ca; unknown); replies compared byte for byte."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from tests.integration.harness import free_port, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket
from tests.integration.tls_certs import Certs


def ask(path: Path, cmd: str) -> bytes:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    try:
        s.connect(str(path))
        s.sendall(cmd.encode() + b"\n")
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                return out
            out += d
    finally:
        s.close()


def test_ssl_store_commands_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    root = certs.root
    client = tmp_path / "client.pem"
    client.write_text((root / "client.crt").read_text() + (root / "client.key").read_text())
    bundle = tmp_path / "bundle.crt"
    bundle.write_text((root / "ca.crt").read_text() + (root / "ca2.crt").read_text())
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {root}/ec.pem ca-file {bundle} verify optional
backend b
    server s 127.0.0.1:1 ssl crt {client} ca-file {root}/ca2.crt verify required
    server s2 127.0.0.1:1 ssl ca-file {root}/ca.crt verify required
"""
    new = str(tmp_path / "new.pem")
    cmds = ["show ssl cert", "new ssl cert", f"new ssl cert {new}", f"new ssl cert {new}",
            f"new ssl cert {root}/ec.pem", "show ssl cert", f"show ssl cert {new}", f"show ssl cert {client}",
            "del ssl cert", f"del ssl cert {root}/ec.pem", f"del ssl cert {client}", f"del ssl cert {new}",
            f"del ssl cert {new}", "show ssl cert", "show ssl ca-file", f"show ssl ca-file {bundle}",
            f"show ssl ca-file {bundle}:1", f"show ssl ca-file {bundle}:2", f"show ssl ca-file {bundle}:3",
            f"show ssl ca-file {bundle}:0", f"show ssl ca-file {bundle}:x", f"show ssl ca-file {root}/ca2.crt",
            f"show ssl ca-file {root}/ca.crt", "show ssl ca-file /nonexistent",
            "new ssl ca-file", f"new ssl ca-file {tmp_path}/nca.pem", f"new ssl ca-file {tmp_path}/nca.pem",
            f"new ssl ca-file {root}/ca2.crt", "show ssl ca-file", f"show ssl ca-file {tmp_path}/nca.pem",
            "del ssl ca-file", "del ssl ca-file /nonexistent", f"del ssl ca-file {root}/ca2.crt",
            f"del ssl ca-file {bundle}", f"del ssl ca-file {tmp_path}/nca.pem", f"del ssl ca-file {tmp_path}/nca.pem",
            f"del ssl ca-file {root}/ca.crt", "del ssl ca-file @system-ca", "show ssl ca-file",
            f"show ssl ca-file {root}/ca.crt"]
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        port = free_port()
        with run_proxy(cfg.replace("{p0}", str(port)), wait_ports=[port], which=which) as pp:
            sock = Path(admin_socket(pp))
            out.append([(c, ask(sock, c)) for c in cmds])
    assert out[1] == out[0]
    assert out[0][2][1] == f"New empty certificate store '{new}'!\n\n".encode()
    assert out[0][3][1] == f"Certificate '{new}' already exists!\n\n".encode()
    assert b"Certificate #2:" in dict(out[0])[f"show ssl ca-file {bundle}"]


def test_ca_file_changed_at_run_time_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """set ssl ca-file NAME <<PEM (created, updated, another file while one is ongoing, a file
    nothing references, a payload without certificate), show ssl ca-file with the transaction and
    *NAME, abort, commit (2.6's dot per certificate instance rebuilt; none for an unused file): a
    listener's CA file replaced accepts the client certificate it refused, a server's CA file
    replaced lets its certificate verify (503 then 200)."""
    from tests.integration.harness import get
    from tests.integration.test_tls_servers_vs_haproxy import TlsBackend
    from tests.integration.test_tls_vs_haproxy import probe
    from tests.integration.tls_certs import client_context

    root = certs.root
    bind_ca = tmp_path / "bind-ca.crt"
    bind_ca.write_text((root / "ca2.crt").read_text())
    srv_ca = tmp_path / "srv-ca.crt"
    srv_ca.write_text((root / "ca2.crt").read_text())
    client = tmp_path / "client.pem"
    client.write_text((root / "client.crt").read_text() + (root / "client.key").read_text())
    good = (root / "ca.crt").read_text()
    both = good + (root / "ca2.crt").read_text()
    backend = TlsBackend(certs, "ec")
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 0
frontend tls
    bind 127.0.0.1:{{p1}} ssl crt {root}/ec.pem crt {root}/rsa.pem ca-file {bind_ca} verify required
    http-request return status 200 content-type text/plain lf-string "cn=%[ssl_c_s_dn(CN)]"
frontend plain
    bind 127.0.0.1:{{p0}}
    default_backend b
backend b
    server s 127.0.0.1:{backend.port} ssl ca-file {srv_ca} verify required crt {client}
"""
    new = f"{tmp_path}/new.pem"
    steps: list[Any] = [
        ("probe",), ("get",),
        f"set ssl ca-file {bind_ca}", f"set ssl ca-file /nonexistent <<\n{good}", f"set ssl ca-file {bind_ca} <<\njunk\n",
        f"set ssl ca-file {bind_ca} <<\n{both}", f"set ssl ca-file {bind_ca} <<\n{good}", f"set ssl ca-file {srv_ca} <<\n{good}",
        "show ssl ca-file", f"show ssl ca-file *{bind_ca}", f"show ssl ca-file *{srv_ca}", f"abort ssl ca-file {srv_ca}",
        f"commit ssl ca-file {srv_ca}", f"commit ssl ca-file {bind_ca}", f"commit ssl ca-file {bind_ca}",
        f"abort ssl ca-file {bind_ca}", ("probe",), ("get",), f"show ssl ca-file {bind_ca}",
        f"set ssl ca-file {srv_ca} <<\n{good}", f"abort ssl ca-file {srv_ca}", f"set ssl ca-file {srv_ca} <<\n{good}",
        f"commit ssl ca-file {srv_ca}", ("get",), f"new ssl ca-file {new}", f"set ssl ca-file {new} <<\n{good}",
        f"commit ssl ca-file {new}", "show ssl ca-file", f"del ssl ca-file {new}", "show ssl ca-file"]
    require_haproxy("haproxy")
    out = []
    try:
        for which in ("haproxy", "ours"):
            p0, p1 = free_port(), free_port()
            with run_proxy(cfg.replace("{p0}", str(p0)).replace("{p1}", str(p1)), wait_ports=[p0, p1],
                           which=which) as pp:
                sock = Path(admin_socket(pp))
                got: list[Any] = []
                for st in steps:
                    if st == ("probe",):
                        r = probe(p1, client_context(certs, cert="client"), "www.example.com")[::5]
                        # a refused client certificate (TLS 1.3): the alert, or the connection's end
                        # when the request the client sent meanwhile makes the close a reset
                        got.append(("refused",) if r[-1] in (b"<SSLError>", b"<SSLEOFError>") else r)
                    elif st == ("get",):
                        got.append(get(p0, "/")[0])
                    else:
                        got.append((st.split("\n")[0], ask(sock, st if "<<" not in st else st + "\n")))
                out.append(got)
    finally:
        backend.close()
    assert out[1] == out[0]
    assert out[0][0] == ("refused",) and out[0][1] == 503
    assert out[0][16] == ("ok", b"cn=client1") and out[0][23] == 200
