"""The listeners' TLS session cache side by side with HAProxy 2.6: show info's SslCacheLookups and
SslCacheMisses (resumptions by session ID looked up, and those the cache had no session for),
whether each session is resumed, across bind lines (one cache for all), with tune.ssl.cachesize
small (the oldest sessions make room) and 0 (no cache). The clients' sequences are generated."""

from __future__ import annotations

import random
import re
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli
from tests.integration.tls_certs import Certs

_V = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def _client(ver: str, ticket: bool) -> ssl.SSLContext:
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    c.minimum_version = c.maximum_version = _V[ver]
    if not ticket:
        c.options |= ssl.OP_NO_TICKET
    return c


def _request(ctx: ssl.SSLContext, port: int, session: Any = None) -> tuple[Any, bool]:
    """One request over a new TLS connection offering ``session``: the connection's session (with
    its TLS 1.3 ticket, read with the answer) and whether it was resumed."""
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), session=session)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        while s.recv(4096):
            pass
        return s.session, s.session_reused
    finally:
        s.close()


def _foreign(ctx: ssl.SSLContext, cert: str) -> Any:
    """A session of another TLS server (a Python one): its ID is unknown to the proxy."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(10)

    def serve() -> None:
        c, _ = ls.accept()
        t = sctx.wrap_socket(c, server_side=True)
        t.recv(4096)
        t.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        t.close()

    th = threading.Thread(target=serve)
    th.start()
    try:
        return _request(ctx, ls.getsockname()[1])[0]
    finally:
        th.join(10)
        ls.close()


def _counts(sock: str) -> tuple[int, ...]:
    text = stats_cli(sock, "show info")
    return tuple(int(x) for x in re.findall(r"^SslCache(?:Lookups|Misses): (\d+)$", text, re.M))


@pytest.mark.slow
@pytest.mark.parametrize("cachesize", [None, 3, 0])
def test_session_cache_counts_as_haproxy(certs: Certs, tmp_path: Path, cachesize: int | None) -> None:
    """Generated client sequences (seeded): each step a new connection to one of three bind lines
    (tickets, no-tls-tickets, another certificate), TLS 1.2 or 1.3, the client with or without
    tickets, offering no session, one of the sessions it got before (from any bind line) or a
    session of another server; after each, whether it resumed and SslCacheLookups /
    SslCacheMisses, the same as 2.6's."""
    tune = f"    tune.ssl.cachesize {cachesize}\n" if cachesize is not None else ""
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
    nbthread 1
{tune}defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {certs['ec.pem']}
    bind 127.0.0.1:{{p1}} ssl crt {certs['ec.pem']} no-tls-tickets
    bind 127.0.0.1:{{p2}} ssl crt {certs['rsa.pem']}
    http-request return status 200 content-type text/plain string ok
"""
    kinds = [(v, t) for v in ("1.2", "1.3") for t in (True, False)]
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        rng = random.Random(1600 + (cachesize or 0))
        ports = [free_port() for _ in range(3)]
        text = cfg
        for i, p in enumerate(ports):
            text = text.replace(f"{{p{i}}}", str(p))
        ctxs = {k: _client(*k) for k in kinds}
        foreign = {k: _foreign(c, certs["ec.pem"]) for k, c in ctxs.items()}
        pools: dict[Any, list[Any]] = {k: [] for k in kinds}
        with run_proxy(text, wait_ports=ports, which=which) as pp:
            sock = admin_socket(pp)
            got: list[Any] = [_counts(sock)]
            for _ in range(24):
                kind = rng.choice(kinds)
                bind = rng.randrange(3)
                pool = pools[kind]
                pick = rng.random()
                if pool and pick < 0.6:
                    i = rng.randrange(len(pool))
                    offer, what = pool[i], f"session {i}"
                elif pick < 0.75:
                    offer, what = foreign[kind], "foreign"
                else:
                    offer, what = None, "none"
                sess, reused = _request(ctxs[kind], ports[bind], offer)
                pool.append(sess)
                got.append((kind, bind, what, reused, _counts(sock)))
            out.append(got)
    assert out[1] == out[0]
    last = out[0][-1][-1]
    if cachesize == 0:
        assert last == (0, 0)
    else:
        assert last[0] > last[1] > 0, out[0]
        assert any(step[3] and step[1] != 0 for step in out[0][1:]), out[0]


@pytest.mark.slow
def test_client_certificate_kept_by_resumed_sessions_as_haproxy(certs: Certs) -> None:
    """A session resumed by ID from the cache keeps the client certificate it was made with: the
    ssl_c_* fetches of the resumed connection (and the counts) are 2.6's."""
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
    nbthread 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {certs['ec.pem']} ca-file {certs['ca.crt']} verify required
    http-request return status 200 content-type text/plain lf-string \
"r=%[ssl_fc_is_resumed] dn=%[ssl_c_s_dn] v=%[ssl_c_verify] used=%[ssl_c_used] sha=%[ssl_c_sha1,hex]"
"""
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        port = free_port()
        ctx = _client("1.2", False)
        ctx.load_cert_chain(certs["client.pem"])
        with run_proxy(cfg.replace("{p0}", str(port)), wait_ports=[port], which=which) as pp:
            sock = admin_socket(pp)
            got: list[Any] = []
            sess = None
            for _ in range(3):
                s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), session=sess)
                s.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                sess = s.session
                s.close()
                got.append((data.split(b"\r\n\r\n", 1)[-1].decode(), _counts(sock)))
            out.append(got)
    assert out[1] == out[0]
    assert out[0][2][0].startswith("r=1 dn=/C=FR/O=Acme/CN=client1 v=0 used=1"), out[0]
    assert out[0][2][1] == (2, 0)


@pytest.mark.slow
def test_tickets_resume_on_every_worker_as_haproxy(certs: Certs) -> None:
    """With nbthread 2 (two workers in haproxy-py, two threads in 2.6) a session ticket resumes
    whichever worker accepts the connection: the workers share each bind line's ticket keys (drawn
    when the configuration is read). TLS 1.2 and 1.3, several resumptions each, as 2.6."""
    cfg = f"""global
    nbthread 2
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {certs['ec.pem']}
    http-request return status 200 content-type text/plain string ok
"""
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        port = free_port()
        with run_proxy(cfg.replace("{p0}", str(port)), wait_ports=[port], which=which):
            got = []
            for ver in ("1.2", "1.3"):
                ctx = _client(ver, True)
                sess, reused = _request(ctx, port)
                got.append(reused)
                for _ in range(8):
                    sess, reused = _request(ctx, port, sess)
                    got.append(reused)
            out.append(got)
    assert out[1] == out[0]
    assert out[0] == ([False] + [True] * 8) * 2
