"""The PROXY protocol, haproxy-py next to Debian's HAProxy 2.6.12, and with 2.6 as the peer.

* Receiving (``bind ... accept-proxy``, ``tcp-request connection expect-proxy layer4``): seeded
  generated headers, valid and malformed, v1 and v2 (TLVs, CRC32C, LOCAL, other families), are sent
  to both proxies; what the client gets (the addresses and fc_* fetches the frontend answers, or
  the closed connection), the log line (the request's, or 2.6's "fe/1: Received ..." line) and the
  frontend's counters must be the same.
* Sending (``send-proxy``, ``send-proxy-v2``, ``proxy-v2-options``, ``default-server`` and the
  ``no-`` forms, ``check-send-proxy``): both proxies get the same PROXY header from the client (so
  the addresses are fixed) and pass it on to a capture server: the bytes must be equal.
* Interop: haproxy-py sends to 2.6's accept-proxy and 2.6 sends to haproxy-py's, each reporting the
  addresses it saw.
"""

from __future__ import annotations

import os
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

from haproxy_py.conn import proxy_protocol as P
from tests.integration.harness import (
    HttpBackend,
    TcpServer,
    free_port,
    recv_all,
    require_haproxy,
    run_proxy,
)
from tests.integration.stats_client import admin_socket, stats_cli
from tests.integration.syslog_sinks import recv_probe_lines, recv_until_quiet, udp_sink
from tests.integration.tls_certs import Certs, client_context

pytestmark = pytest.mark.timeout(120)

REQ = b"GET / HTTP/1.0\r\n\r\n"
ANSWER = ('http-request return status 200 content-type text/plain lf-string '
          '"%[src] %[src_port] %[dst] %[dst_port] rcvd=%[fc_rcvd_proxy] '
          'auth=[%[fc_pp_authority,hex]] uid=[%[fc_pp_unique_id,hex]]\\n"')
LOGFMT = 'log-format "%ci:%cp %fi:%fp %ft %ST [%[fc_pp_authority]]"'


def exchange(port: int, data: bytes, *, source: str | None = None, timeout: float = 5.0) -> bytes:
    """Send ``data`` in one write; everything received until the proxy closes, or ``<reset>``."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    try:
        s.sendall(data)
        return recv_all(s)
    except ConnectionResetError:
        return b"<reset>"
    finally:
        s.close()


_OWN = re.compile(rb"127\.0\.0\.(\d) \d+")


def body_of(resp: bytes) -> bytes:
    """The status line and body of an answer (the connection's own ports left out), or what came."""
    if resp.startswith(b"HTTP/"):
        head, _, body = resp.partition(b"\r\n\r\n")
        return head.split(b"\r\n", 1)[0] + b" | " + _OWN.sub(rb"127.0.0.\1 N", body)
    return resp


_LOG_PREFIX = re.compile(rb"^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d [^:]+: ")
_DATE = re.compile(rb"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]")
_PEER = re.compile(rb"127\.0\.0\.(\d):\d+ ")


def log_line(sock: socket.socket) -> bytes:
    try:
        got = sock.recv(65536)
    except TimeoutError:
        return b"<no log>"
    got = _LOG_PREFIX.sub(b"", got)
    got = _DATE.sub(b"[DATE]", got)
    return _PEER.sub(rb"127.0.0.\1:PORT ", got).rstrip(b"\n")


# --------------------------------------------------------------------------- generated headers


def _v4(rng: random.Random) -> str:
    return ".".join(str(rng.choice([0, 1, 10, 127, 192, 255, rng.randrange(256)])) for _ in range(4))


def _v6(rng: random.Random) -> str:
    return rng.choice(["::1", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1:2", "1:2:3:4:5:6:7:8", "::",
                       "::1.2.3.4", "2001:db8:0:0:1::"])


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(4)
        i = rng.randrange(len(b)) if b else 0
        if op == 0 and b:
            b[i] = rng.choice(b" .:\r\n0123456789abcdefxPT\x00\xff")
        elif op == 1 and b:
            del b[i]
        elif op == 2:
            b.insert(i, rng.choice(b" .:0123456789\r"))
        else:
            b = b[: max(1, i)]
    return bytes(b)


def _tlvs(rng: random.Random) -> list[tuple[int, bytes]]:
    out = []
    for _ in range(rng.randint(0, 3)):
        kind = rng.choice([P.PP2_TYPE_AUTHORITY, P.PP2_TYPE_UNIQUE_ID, P.PP2_TYPE_NOOP, P.PP2_TYPE_ALPN,
                           0xE0, P.PP2_TYPE_SSL])
        n = rng.choice([0, 1, 5, 20, 128, 129, 255, 256])
        out.append((kind, bytes(rng.choice(b"abcxyz.-0") for _ in range(n))))
    return out


def generated_headers(seed: int, n: int) -> list[bytes]:
    """Headers as a client could send them: valid ones of every kind, then mutated copies."""
    rng = random.Random(seed)
    out: list[bytes] = []
    while len(out) < n:
        kind = rng.randrange(9)
        if kind == 0:
            h = P.build_v1((_v4(rng), rng.randrange(65536)), (_v4(rng), rng.randrange(65536)))
        elif kind == 1:
            h = P.build_v1((_v6(rng), rng.randrange(65536)), (_v6(rng), rng.randrange(65536)))
        elif kind == 2:
            h = rng.choice([b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
                            b"PROXY TCP4 1.2.3.999 5.6.7.8 70000 222\r\n", b"PROXY TCP6 ::1 ::2 1 2 x y\r\n",
                            b"PROXY TCP4 01.2.3.4 5.6.7.8 001 2\r\n", b"PROXY TCP6 ::1%lo ::2 1 2\r\n",
                            b"PROXY TCP6 ::1 ::2  1 2\r\n", b"PROXY TCP4 1.2.3 4.5.6.7 1 2\r\n"])
        elif kind in (3, 4):
            src = (_v4(rng), rng.randrange(65536)) if kind == 3 else (_v6(rng), rng.randrange(65536))
            dst = (_v4(rng), rng.randrange(65536)) if kind == 3 else (_v6(rng), rng.randrange(65536))
            h = P.build_v2(src, dst, _tlvs(rng), crc=rng.random() < 0.4)
        elif kind == 5:
            h = P.build_v2(None, None, _tlvs(rng))  # LOCAL (TLVs are not even read)
        elif kind == 6:  # another family or command, or an odd length
            fam = rng.choice([0x00, 0x12, 0x22, 0x31, 0x32, 0x11])
            cmd = rng.choice([0x20, 0x21, 0x21, 0x22, 0x2F])
            body = bytes(rng.randrange(256) for _ in range(rng.choice([0, 4, 11, 12, 36])))
            h = P.V2_SIG + bytes((cmd, fam)) + len(body).to_bytes(2, "big") + body
        elif kind == 7:
            h = _mutate(rng, P.build_v1((_v4(rng), rng.randrange(65536)), (_v4(rng), 80)))
        else:
            h = _mutate(rng, P.build_v2((_v4(rng), 1), (_v4(rng), 2), _tlvs(rng), crc=rng.random() < 0.5))
        # 2.6 compares "TCP4 " / "UNKNOWN\r\n" against bytes it did not receive when a v1 line is
        # shorter than these words (its buffer's leftovers decide): such inputs are left out
        if h.startswith(b"PROXY ") and len(h) < 16:
            continue
        # a v2 length running into the request leaves a part of it, which then times out: 2.6
        # counts that 408 in ereq/req_tot, haproxy-py's HTTP layer does not (not a PROXY matter)
        res = P.parse(h + REQ)
        if isinstance(res, P.Header) and res.length > len(h) + 2:
            continue
        out.append(h)
    return out


def _accept_cfg(port: int, port2: int, port3: int, logport: int, sock: str) -> str:
    return f"""
global
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 2s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:{port} accept-proxy
    log 127.0.0.1:{logport} local2
    {LOGFMT}
    {ANSWER}
frontend fe2
    bind 127.0.0.1:{port2}
    log 127.0.0.1:{logport} local2
    {LOGFMT}
    stick-table type ip size 100 store conn_cnt
    tcp-request connection expect-proxy layer4 if {{ src 127.0.0.1 }}
    tcp-request session track-sc0 src
    tcp-request session reject if {{ src 10.9.9.9 }}
    tcp-request session accept if {{ fc_rcvd_proxy }}
    {ANSWER}
frontend fe3
    bind 127.0.0.1:{port3} accept-proxy
    log 127.0.0.1:{logport} local2
    {LOGFMT}
    option dontlognull
    {ANSWER}
"""


@pytest.fixture(scope="module")
def shared_pair() -> Iterator[dict[str, Any]]:
    """Both proxies with the accept-proxy frontends, shared by this module's receiving tests (each
    sends the same to both, so their counters stay comparable)."""
    with _accept_pair() as px:
        yield px


@contextmanager
def accept_pair(px: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The shared proxies, their log sockets drained of what an earlier test left."""
    for x in px.values():
        recv_until_quiet(x["log"], 0.2)
        x["log"].settimeout(3.0)
    yield px


@contextmanager
def _accept_pair() -> Iterator[dict[str, Any]]:
    require_haproxy("haproxy")
    with ExitStack() as st:
        out = {}
        for which in ("haproxy", "ours"):
            log, logport = udp_sink(3.0)
            st.callback(log.close)
            port, port2, port3 = free_port(), free_port(), free_port()
            pp = st.enter_context(run_proxy(_accept_cfg(port, port2, port3, logport, "@DIR@/admin.sock"),
                                            wait_ports=[port, port2, port3], which=which))
            out[which] = {"port": port, "port2": port2, "port3": port3, "log": log, "proc": pp,
                          "sock": admin_socket(pp)}
            recv_probe_lines(log, 2)  # the start's port probes: fe's and fe2's (fe3: dontlognull)
            log.settimeout(3.0)
        yield out


def _fe_counters(sock: str, fe: str) -> dict[str, str]:
    lines = stats_cli(sock, "show stat").splitlines()
    hdr = lines[0][2:].split(",")
    row = next(ln.split(",") for ln in lines[1:] if ln.startswith(f"{fe},FRONTEND,"))
    d = dict(zip(hdr, row, strict=False))
    return {k: d[k] for k in ("scur", "stot", "conn_tot", "dcon", "dses", "ereq", "req_tot")}


def test_accept_proxy_generated_headers_as_haproxy(shared_pair: dict[str, Any]) -> None:
    """Seeded headers (valid, malformed, v1 and v2) into ``bind ... accept-proxy``, each followed by
    an HTTP request in the same segment: the answer (addresses, fc_rcvd_proxy, fc_pp_authority,
    fc_pp_unique_id), the log line and the counters are 2.6's."""
    cases = generated_headers(int(os.environ.get("PP_SEED", "2612")), int(os.environ.get("PP_N", "160")))
    diffs = []
    with accept_pair(shared_pair) as px:
        for i, h in enumerate(cases):
            got = {}
            for which in ("haproxy", "ours"):
                x = px[which]
                resp = exchange(x["port"], h + REQ)
                got[which] = (body_of(resp), log_line(x["log"]))
            if got["haproxy"] != got["ours"]:
                diffs.append((i, h, got["haproxy"], got["ours"]))
        counters = {w: _fe_counters(px[w]["sock"], "fe") for w in ("haproxy", "ours")}
    assert not diffs, "\n".join(f"#{i} {h!r}\n  2.6: {a}\n  ours: {b}" for i, h, a, b in diffs[:8])
    assert counters["haproxy"] == counters["ours"]


def test_accept_proxy_timeout_and_empty_as_haproxy(shared_pair: dict[str, Any]) -> None:
    """Nothing within ``timeout client``: 2.6's timeout line, and meanwhile the connection counts in
    scur and CurrConns as 2.6's embryonic session; a client closing before sending: 2.6's
    'Connection closed while waiting for PROXY protocol header' (not under dontlognull)."""
    with accept_pair(shared_pair) as px:
        got = {}
        # both proxies wait at the same time
        conns = {w: socket.create_connection(("127.0.0.1", px[w]["port"]), timeout=10) for w in ("haproxy", "ours")}
        t0 = time.monotonic()
        # while it waits, the connection counts (scur, CurrConns: it holds a place under maxconn)
        time.sleep(0.3)
        waiting = {w: (_fe_counters(px[w]["sock"], "fe")["scur"],
                       [ln for ln in stats_cli(px[w]["sock"], "show info").splitlines() if ln.startswith("CurrConns")])
                   for w in ("haproxy", "ours")}
        assert waiting["haproxy"] == waiting["ours"] == ("1", ["CurrConns: 1"]), waiting
        for which in ("haproxy", "ours"):
            x = px[which]
            s = conns[which]
            data = recv_all(s)
            waited = time.monotonic() - t0
            s.close()
            s = socket.create_connection(("127.0.0.1", x["port"]), timeout=10)
            s.close()
            got[which] = (data, waited > 2.0, log_line(x["log"]), log_line(x["log"]))
        assert got["haproxy"] == got["ours"]
        assert b"Timeout while waiting for PROXY protocol header" in got["ours"][2]


def test_accept_proxy_dontlognull_as_haproxy(shared_pair: dict[str, Any]) -> None:
    """option dontlognull: a client that closes before sending anything is not logged, a bad
    header is (its line then the next connection's request line, as 2.6)."""
    with accept_pair(shared_pair) as px:
        got = {}
        for which in ("haproxy", "ours"):
            x = px[which]
            socket.create_connection(("127.0.0.1", x["port3"]), timeout=5).close()
            exchange(x["port3"], REQ)
            exchange(x["port3"], P.build_v1(("1.2.3.4", 5), ("6.7.8.9", 10)) + REQ)
            got[which] = [log_line(x["log"]), log_line(x["log"])]
            x["log"].settimeout(0.5)
            got[which].append(log_line(x["log"]))
    assert got["haproxy"] == got["ours"]
    assert b"does not look like a PROXY protocol header" in got["ours"][0] and got["ours"][2] == b"<no log>"


def test_expect_proxy_rule_as_haproxy(shared_pair: dict[str, Any]) -> None:
    """``tcp-request connection expect-proxy layer4 if { src 127.0.0.1 }``: a client from 127.0.0.1
    must send a header, one from 127.0.0.2 must not; the tcp-request session rules see the header's
    source (10.9.9.9 is rejected there, counted as dses), and track it in the stick table
    (``show table`` as 2.6's)."""
    cases = [(None, P.build_v1(("1.2.3.4", 1000), ("5.6.7.8", 80)) + REQ),
             (None, P.build_v2(("10.9.9.9", 1000), ("5.6.7.8", 80)) + REQ),
             (None, P.build_v2(("2001:db8::7", 7), ("::1", 8), [(P.PP2_TYPE_AUTHORITY, b"a.example")]) + REQ),
             (None, REQ),
             ("127.0.0.2", REQ),
             ("127.0.0.2", P.build_v1(("1.2.3.4", 1000), ("5.6.7.8", 80)) + REQ)]
    with accept_pair(shared_pair) as px:
        got: dict[str, list[Any]] = {"haproxy": [], "ours": []}
        for src, data in cases:
            for which in ("haproxy", "ours"):
                x = px[which]
                resp = exchange(x["port2"], data, source=src)
                x["log"].settimeout(1.0)
                line = log_line(x["log"])
                got[which].append((body_of(resp), line.replace(b"127.0.0.2", b"127.0.0.1")))
        for which in ("haproxy", "ours"):
            got[which].append(_fe_counters(px[which]["sock"], "fe2"))
            table = stats_cli(px[which]["sock"], "show table fe2")
            got[which].append(sorted(re.sub(r"^0x[0-9a-f]+: ", "", ln) for ln in table.splitlines() if ln))
    assert got["haproxy"] == got["ours"]
    # the session rules tracked the headers' sources (10.9.9.9 too: tracked, then rejected)
    assert any("key=1.2.3.4 " in ln for ln in got["ours"][-1]), got["ours"][-1]
    assert b"1.2.3.4 1000 5.6.7.8 80 rcvd=1" in got["ours"][0][0]
    assert got["ours"][-2]["dses"] == "1"


# --------------------------------------------------------------------------- sending


class Capture(TcpServer):
    """Records the PROXY header each connection starts with (or its first bytes), then answers an
    HTTP request (or nothing, for a check that closes)."""

    def __init__(self) -> None:
        self.got: list[bytes] = []
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        c.settimeout(3)
        buf = b""
        hdr: P.Header | str = P.ERR_TRUNCATED
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                buf += d
                hdr = P.parse(buf)
                if hdr == P.ERR_TRUNCATED:
                    continue
                rest = buf[hdr.length:] if isinstance(hdr, P.Header) else buf
                if b"\r\n\r\n" in rest:
                    break
        except OSError:
            pass
        head = buf[: hdr.length] if isinstance(hdr, P.Header) else b"<none>"
        with self.lock:
            self.got.append(head)
        if buf.endswith(b"\r\n\r\n"):
            try:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                pass
        c.close()


def _send_cfg(port: int, tport: int, cap: int, sslport: int, certs: Certs | None) -> str:
    ssl_fe = ""
    if certs is not None:
        ssl_fe = f"""
frontend tls
    bind 127.0.0.1:{sslport} ssl crt {certs["rsa.pem"]} alpn http/1.1 ca-file {certs["ca.crt"]} verify optional
    default_backend tls_be
backend tls_be
    server a 127.0.0.1:{cap} send-proxy-v2-ssl
    server b 127.0.0.1:{cap} send-proxy-v2-ssl-cn
    server c 127.0.0.1:{cap} send-proxy-v2 proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority
    server d 127.0.0.1:{cap} send-proxy-v2-ssl-cn no-send-proxy-v2-ssl-cn
"""
    return f"""
defaults
    mode http
    timeout connect 2s
    timeout client 3s
    timeout server 3s
    balance roundrobin
frontend fe
    bind 127.0.0.1:{port} accept-proxy
    unique-id-format "%ci-%cp-%fi"
    default_backend be
backend be
    default-server send-proxy-v2 proxy-v2-options crc32c
    server v1 127.0.0.1:{cap} send-proxy no-send-proxy-v2
    server v2 127.0.0.1:{cap} send-proxy-v2 no-send-proxy-v2 send-proxy-v2
    server t 127.0.0.1:{cap} proxy-v2-options authority,unique-id
    server u 127.0.0.1:{cap} proxy-v2-options ssl
    server n 127.0.0.1:{cap} no-send-proxy-v2
    server b 127.0.0.1:{cap} send-proxy send-proxy-v2 proxy-v2-options cert-cn,crc32c
    server z 127.0.0.1:{cap} no-send-proxy-v2-ssl send-proxy
listen tcp
    mode tcp
    bind 127.0.0.1:{tport} accept-proxy
    server t 127.0.0.1:{cap} send-proxy-v2 proxy-v2-options authority,unique-id,crc32c
{ssl_fe}"""


def _send_through(which: str, headers: list[bytes], nsrv: int, certs: Certs | None = None,
                  tls_rounds: int = 0) -> list[bytes]:
    cap = Capture()
    try:
        port, tport, sslport = free_port(), free_port(), free_port()
        with run_proxy(_send_cfg(port, tport, cap.port, sslport, certs), wait_ports=[port, tport],
                       which=which):
            for h in headers:
                for _ in range(nsrv):
                    assert exchange(port, h + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") \
                        .startswith(b"HTTP/1.1 200"), which
                assert exchange(tport, h + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 200")
            for i in range(tls_rounds):
                assert certs is not None
                ctx = client_context(certs, alpn=["http/1.1"], max_ver=ssl.TLSVersion.TLSv1_2,
                                     ciphers="ECDHE-RSA-AES128-GCM-SHA256", cert="client" if i >= 4 else None)
                with socket.create_connection(("127.0.0.1", sslport), timeout=5) as raw, \
                        ctx.wrap_socket(raw, server_hostname="rsa.example.net") as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    assert recv_all(s).startswith(b"HTTP/1.1 200")
            deadline = time.monotonic() + 5
            want = len(headers) * (nsrv + 1) + tls_rounds
            while len(cap.got) < want and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        cap.close()
    return sorted(cap.got)


def test_send_proxy_bytes_as_haproxy() -> None:
    """send-proxy, send-proxy-v2, proxy-v2-options (crc32c, authority, unique-id, ssl on a plain
    client), default-server and the no- forms, in mode http and tcp: the headers the servers get
    are 2.6's, byte for byte (the client's PROXY header fixes the addresses; its AUTHORITY TLV is
    passed on with 'authority')."""
    require_haproxy("haproxy")
    headers = [P.build_v1(("1.2.3.4", 1111), ("5.6.7.8", 80)),
               P.build_v2(("2001:db8::1", 2222), ("2001:db8::2", 443), [(P.PP2_TYPE_AUTHORITY, b"www.example.com")]),
               P.build_v2(("9.8.7.6", 3333), ("::1", 8080))]
    got = {w: _send_through(w, headers, 7) for w in ("haproxy", "ours")}
    assert got["haproxy"] == got["ours"]
    parsed = [P.parse(h) for h in got["ours"]]
    assert any(isinstance(h, P.Header) and h.authority == b"www.example.com" for h in parsed)
    assert any(isinstance(h, P.Header) and h.unique_id == b"1.2.3.4-1111-5.6.7.8" for h in parsed)
    assert any(h == b"PROXY TCP4 1.2.3.4 5.6.7.8 1111 80\r\n" for h in got["ours"])


def test_send_proxy_v2_ssl_tlv_as_haproxy(certs: Certs) -> None:
    """TLS clients (TLS 1.2, one cipher, ALPN http/1.1; without and with a client certificate): the
    ALPN TLV and the SSL TLV (client flags, verify result, version, CN of the client's certificate,
    key and signature algorithms of the frontend's, cipher) of send-proxy-v2-ssl,
    send-proxy-v2-ssl-cn and proxy-v2-options ssl,cert-cn,ssl-cipher,... are 2.6's, the SNI as the
    authority."""
    require_haproxy("haproxy")
    # the ports are the client's and the frontend's own: left out (no CRC32C covers them here)
    got = {w: sorted(h[:24] + bytes(4) + h[28:] for h in _send_through(w, [], 0, certs, 8))
           for w in ("haproxy", "ours")}
    assert got["haproxy"] == got["ours"]
    hdrs = [P.parse(h) for h in got["ours"]]
    assert all(isinstance(h, P.Header) and h.tlv(P.PP2_TYPE_ALPN) == b"http/1.1" for h in hdrs[:3])
    assert any(isinstance(h, P.Header) and h.authority == b"rsa.example.net" for h in hdrs)
    # with the client's certificate: its CN, and the certificate flags
    assert any(isinstance(h, P.Header) and b"\x22\x00\x07client1" in (h.tlv(P.PP2_TYPE_SSL) or b"") for h in hdrs)


def test_send_proxy_to_haproxy_accept_proxy(certs: Certs) -> None:
    """haproxy-py's send-proxy and send-proxy-v2 into 2.6's accept-proxy, and 2.6's into
    haproxy-py's: each end answers with the addresses it got, which are the client's and the first
    proxy's frontend's (a forwardfor header to a real server carries the client's address too; a
    header before TLS, on a 'bind ... ssl accept-proxy' behind a server with 'ssl send-proxy-v2')."""
    require_haproxy("haproxy")
    be = HttpBackend("app").start()
    try:
        for first, second in (("ours", "haproxy"), ("haproxy", "ours")):
            p_v1, p_v2, p_tls = free_port(), free_port(), free_port()
            fe1, fe2 = free_port(), free_port()
            front = f"""
defaults
    mode http
    timeout connect 2s
    timeout client 3s
    timeout server 3s
frontend fe
    bind 127.0.0.1:{fe1}
    use_backend v2 if {{ path_beg /v2 }}
    use_backend tls if {{ path_beg /tls }}
    default_backend v1
backend v1
    server s 127.0.0.1:{p_v1} send-proxy
backend v2
    server s 127.0.0.1:{p_v2} send-proxy-v2
backend tls
    server s 127.0.0.1:{p_tls} send-proxy-v2 ssl verify none
listen tcp
    mode tcp
    bind 127.0.0.1:{fe2}
    server s 127.0.0.1:{p_v2} send-proxy-v2
"""
            back = f"""
defaults
    mode http
    timeout connect 2s
    timeout client 3s
    timeout server 3s
frontend v1
    bind 127.0.0.1:{p_v1} accept-proxy
    {ANSWER}
frontend v2
    bind 127.0.0.1:{p_v2} accept-proxy
    option forwardfor
    http-request return status 200 content-type text/plain lf-string "%[src] %[dst]:%[dst_port]\\n" if {{ path_beg /v2 }}
    default_backend app
backend app
    server a 127.0.0.1:{be.port}
frontend tls
    bind 127.0.0.1:{p_tls} ssl crt {certs["rsa.pem"]} accept-proxy
    http-request return status 200 content-type text/plain lf-string "%[src] %[dst_port] %[ssl_fc] %[fc_rcvd_proxy]\\n"
"""
            with run_proxy(back, wait_ports=[p_v1, p_v2, p_tls], which=second), \
                    run_proxy(front, wait_ports=[fe1, fe2], which=first):
                s = socket.create_connection(("127.0.0.1", fe1), timeout=5)
                me = s.getsockname()
                s.sendall(b"GET /v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                r1 = recv_all(s)
                s.close()
                assert f"127.0.0.1 {me[1]} 127.0.0.1 {fe1} rcvd=1".encode() in r1, (first, r1)
                r2 = exchange(fe1, b"GET /v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert f"127.0.0.1 127.0.0.1:{fe1}".encode() in r2, (first, r2)
                r4 = exchange(fe1, b"GET /tls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert f"127.0.0.1 {fe1} 1 1".encode() in r4, (first, r4)
                be.requests.clear()
                r3 = exchange(fe2, b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert r3.startswith(b"HTTP/1.1 200"), (first, r3)
                assert be.requests and be.requests[0].header("x-forwarded-for") == "127.0.0.1", first
    finally:
        be.stop()


def _check_kind(h: bytes) -> bytes | None:
    """A check's header: b"v1" (its addresses are the check's own), the v2 bytes, None for none."""
    return None if h.startswith(b"<none") else b"v1" if h.startswith(b"PROXY ") else h


@pytest.mark.slow
def test_check_send_proxy_as_haproxy() -> None:
    """check-send-proxy: health checks start with a PROXY header, v1 with the check connection's own
    addresses, v2 (a server with send-proxy-v2) a LOCAL one with the CRC32C and SSL TLVs its
    proxy-v2-options ask for (with the check's addresses under the global pp2-never-send-local);
    none with no-check-send-proxy. Both proxies' checks are captured."""
    require_haproxy("haproxy")
    got = {}
    for which in ("haproxy", "ours", "haproxy+", "ours+"):
        cap = Capture()
        try:
            port = free_port()
            glob = "global\n    pp2-never-send-local\n" if which.endswith("+") else ""
            cfg = f"""{glob}
defaults
    mode http
    timeout connect 2s
    timeout client 3s
    timeout server 3s
    timeout check 2s
listen be
    bind 127.0.0.1:{port}
    default-server check inter 300 check-send-proxy
    server v1 127.0.0.1:{cap.port}
    server v2 127.0.0.1:{cap.port} send-proxy-v2 proxy-v2-options crc32c
    server h 127.0.0.1:{cap.port} send-proxy-v2 proxy-v2-options ssl,authority,unique-id
    server no 127.0.0.1:{cap.port} no-check-send-proxy
"""
            with run_proxy(cfg, wait_ports=[port], which=which.rstrip("+")):
                deadline = time.monotonic() + 8
                while len({_check_kind(g) for g in cap.got} - {None}) < 3 and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(0.5)
        finally:
            cap.close()
        kinds = set()
        for h in cap.got:
            if h.startswith(b"<none"):  # a check without a header (how it closes is not compared)
                continue
            hdr = P.parse(h)
            assert isinstance(hdr, P.Header), (which, h)
            if hdr.version == 1 or not hdr.local:  # the check's own addresses
                assert hdr.dst == ("127.0.0.1", cap.port) and hdr.src is not None and hdr.src[0] == "127.0.0.1"
                kinds.add(b"v1" if hdr.version == 1 else bytes(t for t, _ in hdr.tlvs))
            else:
                kinds.add(h)
        got[which] = kinds
    assert got["haproxy"] == got["ours"] and got["haproxy+"] == got["ours+"]
    assert len(got["ours"]) == 3 and b"v1" in got["ours"]
    assert got["ours+"] == {b"v1", bytes([P.PP2_TYPE_CRC32C]), bytes([P.PP2_TYPE_SSL])}


# --------------------------------------------------------------------------- -c verdicts

_CHECK_HDR = ("defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
              "frontend f\n    bind 127.0.0.1:18990 {bind}\n    {rule}\n    default_backend b\n"
              "backend b\n    {dflt}\n    server s 127.0.0.1:18991 {srv}\n")
CHECK_CASES = [
    ("accept-proxy", "", "", ""),
    ("", "tcp-request connection expect-proxy layer4", "", ""),
    ("", "tcp-request connection expect-proxy layer4 if { src 127.0.0.1 }", "", ""),
    ("", "tcp-request connection expect-proxy", "", ""),
    ("", "tcp-request connection expect-proxy layer7", "", ""),
    ("", "tcp-request connection expect-proxy layer4 foo", "", ""),
    ("", "tcp-request session expect-proxy layer4", "", ""),
    ("", "tcp-request content expect-proxy layer4", "", ""),
    ("", "", "", "send-proxy"),
    ("", "", "", "send-proxy-v2 proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c,unique-id"),
    ("", "", "", "proxy-v2-options crc32c,foo"),
    ("", "", "", "proxy-v2-options"),
    ("", "", "", "send-proxy-v2-ssl-cn no-send-proxy-v2-ssl-cn no-send-proxy-v2-ssl no-send-proxy no-send-proxy-v2"),
    ("", "", "default-server send-proxy-v2 check-send-proxy", "no-check-send-proxy check"),
    ("", "", "default-server proxy-v2-options bogus", ""),
]


@pytest.mark.needs_haproxy
@pytest.mark.parametrize("bind,rule,dflt,srv", CHECK_CASES)
def test_check_verdicts_as_haproxy(bind: str, rule: str, dflt: str, srv: str, haproxy_bin: str,
                                   tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``-c`` on the PROXY protocol keywords, right and wrong: 2.6's verdict."""
    from tests.differential.test_config_check import run_haproxy, run_ours, verdict

    cfg = tmp_path / "pp.cfg"
    cfg.write_text(_CHECK_HDR.format(bind=bind, rule=rule, dflt=dflt, srv=srv))
    hrc, hout, herr = run_haproxy(haproxy_bin, cfg)
    orc, oout, oerr = run_ours(cfg, monkeypatch, capsys)
    assert verdict(orc, oout) == verdict(hrc, hout), (herr, oerr)


class TlsCapture(TcpServer):
    """A TLS server behind a PROXY header: records what came before the handshake (the header's
    kind), whether the handshake then succeeded and the request line; answers 200."""

    def __init__(self, certs: Certs) -> None:
        self.got: list[tuple[bytes, bool, bytes]] = []
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certs["rsa.pem"])
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        c.settimeout(3)
        kind, ok, line = b"<none>", False, b""
        try:
            buf = c.recv(4096, socket.MSG_PEEK)
            hdr = P.parse(buf) if buf else ""
            if isinstance(hdr, P.Header):
                c.recv(hdr.length)
                kind = b"v1" if hdr.version == 1 else buf[: hdr.length]
            t = self.ctx.wrap_socket(c, server_side=True)
            ok = True
            req = b""
            while b"\r\n\r\n" not in req:
                d = t.recv(4096)
                if not d:
                    break
                req += d
            line = req.split(b"\r\n", 1)[0]
            t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            t.close()
        except (OSError, ssl.SSLError):
            pass
        finally:
            c.close()
        self.got.append((kind, ok, line))


def test_check_send_proxy_before_tls_as_haproxy(certs: Certs) -> None:
    """A PROXY header goes before the TLS handshake of a check: check-send-proxy with check-ssl,
    and 'http-check connect ssl send-proxy' (v1, or v2 LOCAL for a send-proxy-v2 server)."""
    require_haproxy("haproxy")
    got = {}
    for which in ("haproxy", "ours"):
        cap = TlsCapture(certs)
        try:
            port = free_port()
            cfg = f"""
defaults
    mode http
    timeout connect 2s
    timeout client 3s
    timeout server 3s
    timeout check 2s
listen a
    bind 127.0.0.1:{port}
    option httpchk GET /a
    server s 127.0.0.1:{cap.port} check inter 300 check-ssl verify none check-send-proxy
listen b
    option httpchk GET /b
    http-check connect ssl send-proxy
    server s 127.0.0.1:{cap.port} check inter 300 verify none send-proxy-v2
    server t 127.0.0.1:{cap.port} check inter 300 verify none
"""
            with run_proxy(cfg, wait_ports=[port], which=which):
                deadline = time.monotonic() + 8
                while len({g for g in cap.got if g[1]}) < 3 and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(0.3)
        finally:
            cap.close()
        # a handshake that failed (a check timed out on a loaded machine) says nothing of the order
        got[which] = {g for g in cap.got if g[1]}
    assert got["haproxy"] == got["ours"]
    assert (b"v1", True, b"GET /a HTTP/1.0") in got["ours"] and (b"v1", True, b"GET /b HTTP/1.0") in got["ours"]
    assert (P.build_v2(None, None), True, b"GET /b HTTP/1.0") in got["ours"]
