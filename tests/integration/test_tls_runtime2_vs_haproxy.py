"""TLS runtime leftovers side by side with HAProxy 2.6: CRL files changed at run time (show, new,
set, commit, abort, del ssl crl-file) with their effect on new handshakes, both on a listener's
client certificates and on a server's certificate; replies compared byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.integration.harness import free_port, get, require_haproxy, run_proxy
from tests.integration.nginx_tls import make_crl
from tests.integration.stats_client import admin_socket
from tests.integration.test_tls_cli_vs_haproxy import ask
from tests.integration.test_tls_servers_vs_haproxy import TlsBackend
from tests.integration.test_tls_vs_haproxy import probe
from tests.integration.tls_certs import Certs, client_context


def test_crl_file_changed_at_run_time_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """A listener verifying client certificates with an empty CRL, a server (presenting a client
    certificate) with an empty CRL, another server without crt (its CRL file unused): show ssl
    crl-file (list, NAME, NAME:INDEX, bad indexes, unknown), new (twice, an existing one), set
    (no payload, unknown file, junk, created then updated with two CRLs, another file while one
    is ongoing), *NAME, abort and commit (wrong file, none ongoing, 2.6's dot per certificate
    instance); the committed CRL revoking the client certificate makes the listener refuse it, the
    one revoking the backend's certificate makes the server fail (503); del (in use, unused,
    unknown)."""
    root = certs.root
    empty = Path(make_crl(certs, None, "rt2-empty.crl")).read_text()
    rev_client = Path(make_crl(certs, "client", "rt2-rev-client.crl")).read_text()
    rev_ec = Path(make_crl(certs, "ec", "rt2-rev-ec.crl")).read_text()
    bind_crl, srv_crl, unused_crl = tmp_path / "bind.crl", tmp_path / "srv.crl", tmp_path / "unused.crl"
    for f in (bind_crl, srv_crl, unused_crl):
        f.write_text(empty)
    client = tmp_path / "client.pem"
    client.write_text((root / "client.crt").read_text() + (root / "client.key").read_text())
    shutil.copy(root / "ca.crt", tmp_path / "ca.crt")
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
    bind 127.0.0.1:{{p1}} ssl crt {root}/ec.pem crt {root}/rsa.pem ca-file {root}/ca.crt verify required crl-file {bind_crl}
    http-request return status 200 content-type text/plain lf-string "cn=%[ssl_c_s_dn(CN)]"
frontend plain
    bind 127.0.0.1:{{p0}}
    default_backend b
backend b
    server s 127.0.0.1:{backend.port} ssl ca-file {tmp_path}/ca.crt verify required crt {client} crl-file {srv_crl}
    server s2 127.0.0.1:{backend.port} ssl ca-file {tmp_path}/ca.crt verify required crl-file {unused_crl} disabled
"""
    new = f"{tmp_path}/new.crl"
    both = rev_client + empty
    steps: list[Any] = [
        ("probe",), ("get",),
        "show ssl crl-file", f"show ssl crl-file {bind_crl}", f"show ssl crl-file {bind_crl}:1",
        f"show ssl crl-file {bind_crl}:2", f"show ssl crl-file {bind_crl}:0", f"show ssl crl-file {bind_crl}:x",
        "show ssl crl-file /nonexistent", f"show ssl crl-file {unused_crl}",
        "new ssl crl-file", f"new ssl crl-file {new}", f"new ssl crl-file {new}", f"new ssl crl-file {bind_crl}",
        "show ssl crl-file", f"show ssl crl-file {new}",
        "set ssl crl-file", f"set ssl crl-file {bind_crl}", f"set ssl crl-file /nonexistent <<\n{rev_client}",
        f"set ssl crl-file {bind_crl} <<\njunk\n", f"set ssl crl-file {bind_crl} <<\n{empty}",
        f"set ssl crl-file {bind_crl} <<\n{both}", f"set ssl crl-file {srv_crl} <<\n{rev_ec}",
        "show ssl crl-file", f"show ssl crl-file *{bind_crl}", f"show ssl crl-file *{bind_crl}:2",
        f"show ssl crl-file *{srv_crl}", f"abort ssl crl-file {srv_crl}", f"commit ssl crl-file {srv_crl}",
        "commit ssl crl-file", "abort ssl crl-file", ("probe",),
        f"commit ssl crl-file {bind_crl}", f"commit ssl crl-file {bind_crl}", f"abort ssl crl-file {bind_crl}",
        ("probe",), ("get",), f"show ssl crl-file {bind_crl}",
        f"set ssl crl-file {srv_crl} <<\n{rev_ec}", f"abort ssl crl-file {srv_crl}", ("get",),
        f"set ssl crl-file {srv_crl} <<\n{rev_ec}", f"commit ssl crl-file {srv_crl}", ("get",),
        f"set ssl crl-file {new} <<\n{rev_ec}", f"commit ssl crl-file {new}", "show ssl crl-file",
        f"show ssl crl-file {new}:1", f"del ssl crl-file {new}", f"del ssl crl-file {new}", "del ssl crl-file",
        f"del ssl crl-file {srv_crl}", f"del ssl crl-file {bind_crl}", f"del ssl crl-file {unused_crl}",
        "del ssl crl-file /nonexistent", "show ssl crl-file",
        f"set ssl crl-file {bind_crl} <<\n{empty}", f"commit ssl crl-file {bind_crl}", ("probe",)]
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
                        got.append(("refused",) if r[-1] in (b"<SSLError>", b"<SSLEOFError>") else r)
                    elif st == ("get",):
                        got.append(get(p0, "/")[0])
                    else:
                        # a payload ends at its first empty line
                        got.append((st.split("\n")[0], ask(sock, st if "<<" not in st else st.rstrip("\n") + "\n")))
                out.append(got)
    finally:
        backend.close()
    assert out[1] == out[0]
    res = [g for g in out[0] if isinstance(g, int) or g[0] in ("ok", "refused", "fail")]
    assert res == [("ok", b"cn=client1"), 200, ("ok", b"cn=client1"), ("refused",), 200, 200, 503,
                   ("ok", b"cn=client1")]
    replies = [g[1] for g in out[0] if not isinstance(g, int) and g[0] == f"commit ssl crl-file {bind_crl}"]
    assert replies[0] == f"Committing {bind_crl}..\nSuccess!\n\n".encode()
