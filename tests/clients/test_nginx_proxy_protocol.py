"""The PROXY protocol with nginx (Debian's nginx with its stream module, libnginx-mod-stream) as the
peer, both ways, haproxy-py and HAProxy 2.6 side by side:

* haproxy-py's (and 2.6's) ``send-proxy`` / ``send-proxy-v2`` into nginx's ``listen ...
  proxy_protocol``, which answers with ``$proxy_protocol_addr``, ``$proxy_protocol_port``,
  ``$proxy_protocol_server_addr`` and ``$proxy_protocol_server_port``: the client's address and the
  proxy's frontend address, in mode http and tcp;
* nginx's stream ``proxy_protocol on`` (v1) into ``bind ... accept-proxy``: the proxy answers with
  ``src``/``dst``, which must be the client's address and nginx's listener.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import free_port, recv_all, require_haproxy, run_proxy, stop_process, wait_port

pytestmark = pytest.mark.timeout(120)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
WHICH = ("ours", "haproxy")


@contextlib.contextmanager
def nginx(body: str, ports: list[int], stream: str = "") -> Iterator[Path]:
    """nginx in the foreground with its own configuration in a temp dir, stopped by PID."""
    assert os.path.exists(NGINX), "nginx is required (Debian package nginx-light)"
    if stream:
        assert os.path.exists(STREAM_MODULE), "nginx's stream module is required (Debian package libnginx-mod-stream)"
    work = Path(tempfile.mkdtemp(prefix="ngx-pp-"))
    tmp = work / "tmp"
    tmp.mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    load = f"load_module {STREAM_MODULE};\n" if stream else ""
    (work / "nginx.conf").write_text(f"""{load}{user}daemon off;
master_process off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{body}
}}
{"stream { " + stream + " }" if stream else ""}
""")
    proc = subprocess.Popen([NGINX, "-c", str(work / "nginx.conf"), "-p", str(work), "-e", str(work / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for p in ports:
            try:
                wait_port(p, timeout=10)
            except TimeoutError:
                err = (work / "error.log").read_text() if (work / "error.log").exists() else ""
                raise AssertionError(f"nginx did not start: {err}") from None
        yield work
    finally:
        stop_process(proc)
        shutil.rmtree(work, ignore_errors=True)


def _get(port: int, path: str) -> tuple[tuple[str, int], bytes]:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        me = s.getsockname()
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        resp = recv_all(s)
    finally:
        s.close()
    return (me[0], me[1]), resp.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("which", WHICH)
def test_send_proxy_to_nginx(which: str) -> None:
    """send-proxy (v1) and send-proxy-v2, in mode http and tcp, to nginx's proxy_protocol
    listeners: nginx reads the client's address and the proxy's frontend address."""
    require_haproxy(which)
    n1, n2 = free_port(), free_port()
    fe, tcp = free_port(), free_port()
    ret = 'return 200 "$proxy_protocol_addr $proxy_protocol_port $proxy_protocol_server_addr ' \
          '$proxy_protocol_server_port\\n";'
    body = f"""
    server {{ listen 127.0.0.1:{n1} proxy_protocol; location / {{ {ret} }} }}
    server {{ listen 127.0.0.1:{n2} proxy_protocol; location / {{ {ret} }} }}
"""
    cfg = f"""
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe}
    use_backend v2 if {{ path_beg /v2 }}
    default_backend v1
backend v1
    server n 127.0.0.1:{n1} send-proxy
backend v2
    server n 127.0.0.1:{n2} send-proxy-v2 proxy-v2-options crc32c
listen tcp
    mode tcp
    bind 127.0.0.1:{tcp}
    server n 127.0.0.1:{n2} send-proxy-v2
"""
    with nginx(body, [n1, n2]), run_proxy(cfg, wait_ports=[fe, tcp], which=which):
        for port, path in ((fe, "/v1"), (fe, "/v2"), (tcp, "/t")):
            me, got = _get(port, path)
            assert got == f"{me[0]} {me[1]} 127.0.0.1 {port}\n".encode(), (which, path, got)


@pytest.mark.parametrize("which", WHICH)
def test_nginx_proxy_protocol_to_accept_proxy(which: str) -> None:
    """nginx's stream proxy with ``proxy_protocol on`` in front of ``bind ... accept-proxy``: the
    proxy's src/dst (and its log-format's %ci/%cp) are the client's address and nginx's listener;
    a connection straight to the proxy, without the header, is refused."""
    require_haproxy(which)
    ng, fe = free_port(), free_port()
    stream = f"server {{ listen 127.0.0.1:{ng}; proxy_pass 127.0.0.1:{fe}; proxy_protocol on; }}"
    cfg = f"""
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe} accept-proxy
    http-request return status 200 content-type text/plain lf-string "%[src] %[src_port] %[dst] %[dst_port] %[fc_rcvd_proxy]\\n"
"""
    with run_proxy(cfg, wait_ports=[fe], which=which), nginx("", [ng], stream=stream):
        for _ in range(3):
            me, got = _get(ng, "/")
            assert got == f"{me[0]} {me[1]} 127.0.0.1 {ng} 1\n".encode(), (which, got)
        s = socket.create_connection(("127.0.0.1", fe), timeout=5)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                direct = recv_all(s)
            except ConnectionResetError:
                direct = b""
        finally:
            s.close()
        assert direct == b"", (which, direct)
