"""nginx over TLS as the backend of the TLS-to-servers tests, started on 127.0.0.1 in a temp dir.

Every answer tells what nginx saw of the connection, in the body and in headers: the client
certificate's subject (``$ssl_client_s_dn``, header X-Client-DN), whether the TLS session was
resumed (``$ssl_session_reused``: ``r`` or ``.``), the protocol, the server name and the ALPN
protocol. ``/need-cert`` answers 403 without a verified client certificate. Two TLS ports: ``port``
(tickets on, no session cache) and ``port_notickets`` (no tickets, no session cache: a session can
be resumed by neither way). The access log has a line ``URI r|.`` per request. A CRL of the test CA that revokes the ``ec`` certificate is made by
:func:`make_crl`.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from tests.integration.harness import free_port, stop_process, wait_port
from tests.integration.tls_certs import Certs

_FMT = ('dn=$ssl_client_s_dn reused=$ssl_session_reused proto=$ssl_protocol sni=$ssl_server_name '
        'alpn=$ssl_alpn_protocol verify=$ssl_client_verify')


def nginx_available() -> bool:
    return shutil.which("nginx") is not None


class Nginx:
    def __init__(self, certs: Certs, tmp: Path, cert: str = "ec") -> None:
        self.dir = tmp
        self.access_log = tmp / "access.log"
        self.port = free_port()
        self.port_notickets = free_port()
        root = certs.root
        server = f"""
        ssl_certificate {root}/{cert}.crt;
        ssl_certificate_key {root}/{cert}.key;
        ssl_client_certificate {root}/ca.crt;
        ssl_verify_client optional;
        ssl_protocols TLSv1.2 TLSv1.3;
        location ~ /need-cert$ {{
            if ($ssl_client_verify != SUCCESS) {{ return 403 "no client certificate\\n"; }}
            add_header X-Client-DN $ssl_client_s_dn;
            return 200 "{_FMT}\\n";
        }}
        location / {{
            add_header X-Client-DN $ssl_client_s_dn;
            add_header X-Reused $ssl_session_reused;
            return 200 "{_FMT}\\n";
        }}
"""
        conf = f"""daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    log_format tls '$request_uri $ssl_session_reused';
    access_log {tmp}/access.log tls;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type text/plain;
    keepalive_timeout 5s;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_session_tickets on;
        {server}
    }}
    server {{
        listen 127.0.0.1:{self.port_notickets} ssl;
        ssl_session_tickets off;
        ssl_session_cache off;
        {server}
    }}
}}
"""
        (tmp / "nginx.conf").write_text(conf)
        self.proc = subprocess.Popen(["nginx", "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_port(self.port, timeout=10)
            wait_port(self.port_notickets, timeout=10)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        stop_process(self.proc)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def make_crl(certs: Certs, revoke: str | None = "ec", name: str = "crl.pem") -> str:
    """A CRL signed by the test CA, revoking the certificate ``revoke`` (None: revoking nothing),
    written next to the certificates; its path."""
    root = certs.root
    d = root / f"crl-{name}"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    (d / "index.txt").write_text("")
    (d / "crlnumber").write_text("1000\n")
    (d / "ca.cnf").write_text(f"""[ ca ]
default_ca = CA_default
[ CA_default ]
database = {d}/index.txt
crlnumber = {d}/crlnumber
default_md = sha256
default_crl_days = 30
""")

    def run(*args: str) -> None:
        subprocess.run(["openssl", "ca", "-config", str(d / "ca.cnf"), "-keyfile", str(root / "ca.key"),
                        "-cert", str(root / "ca.crt"), *args], check=True, capture_output=True, timeout=30)

    if revoke:
        run("-revoke", str(root / f"{revoke}.crt"))
    out = root / name
    run("-gencrl", "-out", str(out))
    return str(out)


def wait_log_lines(path: Path, n: int, timeout: float = 5.0) -> list[str]:
    """nginx's access log once it has ``n`` lines (it writes each at the end of its request)."""
    end = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < end:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= n:
            break
        time.sleep(0.05)
    return lines
