"""``socks4 ADDR:PORT`` on a server, ``check-via-socks4`` and ``tcp-check connect via-socks4``,
against Debian's HAProxy 2.6 side by side, with a small SOCKS4 proxy written here (one per
behaviour: relays, denies with 0x5B, closes at once, says nothing; a refused port).

* traffic: requests to a server behind the proxy reach it through a SOCKS4 CONNECT for the
  server's address (2.6's request bytes: version 4, command 1, port, address, user id
  ``HAProxy``), the answers are the same;
* checks: plain, HTTP and tcp-check probes through the proxy or not (the implicit connect and
  ``connect default`` follow check-via-socks4, a plain ``connect`` does not, ``connect via-socks4``
  does); the failures as 2.6 reports them (SOCKERR "SOCKS4 Proxy deny the request", the read error
  text, a Layer7 timeout for a proxy that does not answer). Compared as in
  test_tcpcheck_vs_haproxy: per server the health-check logs, show stat and show servers state.

Not compared: a denied request of the traffic (2.6.12 waits for its connect timeout and does not
retry; haproxy-py answers at once, retries then 503 like any refused connection).
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy
from tests.integration.test_protocol_checks_vs_haproxy import Scripted
from tests.integration.test_tcpcheck_vs_haproxy import Sink, _compare, show_stat


class Socks4:
    """A SOCKS4 proxy on loopback: ``mode`` ok (relays), deny, close (a FIN after the request),
    reset (an RST) or silent; records requests."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _relay(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _serve(self, c: socket.socket) -> None:
        try:
            c.settimeout(3)
            req = c.recv(1000)
            self.requests.append(req)
            if self.mode == "close":
                return
            if self.mode == "reset":
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if self.mode == "silent":
                time.sleep(2)
                return
            port = struct.unpack(">H", req[2:4])[0]
            ip = socket.inet_ntoa(req[4:8])
            if self.mode == "deny":
                c.sendall(b"\x00\x5b" + req[2:8])
                time.sleep(0.3)
                return
            with socket.create_connection((ip, port), timeout=2) as up:
                up.settimeout(3)
                c.sendall(b"\x00\x5a" + req[2:8])
                t = threading.Thread(target=self._relay, args=(c, up), daemon=True)
                t.start()
                self._relay(up, c)
                t.join(3)
        except OSError:
            pass
        finally:
            c.close()

    def close(self) -> None:
        self.sock.close()


def _http(c: socket.socket, rx: list[bytes]) -> None:
    data = c.recv(4096)
    rx.append(data)
    path = data.split(b" ")[1] if b" " in data else b"/"
    body = b"hello " + path
    c.sendall(b"HTTP/1.0 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
    time.sleep(0.2)


def config(ports: dict[str, int], logport: int, feport: int) -> str:
    web = ports["web"]

    def srv(name: str, via: str, params: str = "check check-via-socks4") -> str:
        return f"    server {name} 127.0.0.1:{web} socks4 127.0.0.1:{ports[via]} {params} inter 400\n"
    return f"""global
    stats socket @DIR@/s.sock level admin
    log 127.0.0.1:{logport} local2
defaults
    mode http
    log global
    option log-health-checks
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 600ms
frontend fe
    bind 127.0.0.1:{feport}
    use_backend t_web if {{ path_beg /via }}
    default_backend t_plain
backend t_web
{srv("s1", "ok", "")}backend t_plain
    server s1 127.0.0.1:{web}
backend k_plain
{srv("ok", "ok")}{srv("deny", "deny")}{srv("close", "close")}{srv("reset", "reset")}{srv("silent", "silent")}\
{srv("refused", "refused")}\
{srv("direct", "deny", "check")}backend k_http
    option httpchk GET /chk
{srv("ok", "ok")}{srv("deny", "deny")}{srv("silent", "silent")}{srv("direct", "deny", "check")}backend k_tcp_implicit
    option tcp-check
    tcp-check send "GET /tcp HTTP/1.0\\r\\n\\r\\n"
    tcp-check expect string hello
{srv("ok", "ok")}{srv("deny", "deny")}backend k_tcp_rule
    option tcp-check
    tcp-check connect via-socks4
    tcp-check send "GET /rule HTTP/1.0\\r\\n\\r\\n"
    tcp-check expect string hello
{srv("ok", "ok", "check")}{srv("deny", "deny", "check")}{srv("close", "close", "check")}{srv("reset", "reset", "check")}\
{srv("silent", "silent", "check")}backend k_tcp_plain_connect
    option tcp-check
    tcp-check connect
    tcp-check send "GET /direct HTTP/1.0\\r\\n\\r\\n"
    tcp-check expect string hello
{srv("deny", "deny")}backend k_tcp_default
    option tcp-check
    tcp-check connect default comment "by default"
{srv("deny", "deny")}{srv("ok", "ok")}"""


def _get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.settimeout(5)
        s.sendall(f"GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


@pytest.fixture(scope="module")
def both() -> Iterator[dict]:
    require_haproxy("haproxy")
    web = Scripted(_http)
    socks = {w: {m: Socks4(m) for m in ("ok", "deny", "close", "reset", "silent")} for w in ("ours", "haproxy")}
    sinks = {w: Sink() for w in ("ours", "haproxy")}
    refused = free_port()
    res: dict = {"answers": {}}
    try:
        cfgs = {}
        fe = {}
        for w in ("ours", "haproxy"):
            ports = {m: s.port for m, s in socks[w].items()} | {"web": web.port, "refused": refused}
            fe[w] = free_port()
            cfgs[w] = config(ports, sinks[w].port, fe[w])
        with run_proxy(cfgs["ours"], which="ours", wait_ports=[fe["ours"]]) as ours, \
                run_proxy(cfgs["haproxy"], which="haproxy", wait_ports=[fe["haproxy"]]) as theirs:
            procs = {"ours": ours, "haproxy": theirs}
            for w in procs:
                res["answers"][w] = [_get(fe[w], p) for p in ("/via/a", "/via/b?x=1", "/plain")]
            time.sleep(3.0)
            snaps: dict[str, list] = {w: [] for w in procs}
            for _ in range(5):
                for w, pp in procs.items():
                    snaps[w].append(show_stat(pp.workdir / "s.sock"))
                time.sleep(0.2)
            errs = [pp.stderr_text() for pp in procs.values()]
        for w in procs:
            res[w] = (snaps[w], list(sinks[w].lines))
        res["stderr"] = ([], errs)
        res["requests"] = {w: {m: set(s.requests) for m, s in socks[w].items()} for w in socks}
        res["web"] = port_of(web)
    finally:
        for s in sinks.values():
            s.close()
        for d in socks.values():
            for sk in d.values():
                sk.close()
        web.close()
    yield res


def port_of(s: Scripted) -> int:
    return s.port


@pytest.mark.needs_haproxy
def test_traffic_through_socks4_as_haproxy(both: dict) -> None:
    """A server with socks4: the requests go through the proxy, which was asked by 2.6's exact
    SOCKS4 request (the server's port and address, user id HAProxy); the same statuses and bodies
    (2.6.12 forwards the first answer through a SOCKS4 proxy in the server's HTTP/1.0, without
    its own connection header: not compared)."""
    a = {w: [(r.split(b" ", 2)[1], r.partition(b"\r\n\r\n")[2]) for r in rs] for w, rs in both["answers"].items()}
    assert a["ours"] == a["haproxy"], a
    assert a["haproxy"][0] == (b"200", b"hello /via/a"), a["haproxy"]
    want = b"\x04\x01" + both["web"].to_bytes(2, "big") + bytes([127, 0, 0, 1]) + b"HAProxy\x00"
    for w in ("ours", "haproxy"):
        assert both["requests"][w]["ok"] == {want}, (w, both["requests"][w]["ok"])


_STALE = re.compile(r"(SOCKS4 Proxy (?:read error during handshake|deny the request)) \([^)]*\)")


@pytest.mark.needs_haproxy
def test_checks_through_socks4_as_haproxy(both: dict) -> None:
    """check-via-socks4 for plain, HTTP and tcp-check probes, tcp-check connect via-socks4 and
    connect default; a proxy that denies, closes, resets, says nothing or is not there."""
    # 2.6 adds the text of whatever errno it saw last to these two, now and then ("(Message too
    # long)", "(Transport endpoint is not connected)"): not compared
    def drop(v: str) -> str:
        return _STALE.sub(r"\1", v)
    for w in ("ours", "haproxy"):
        snaps, lines = both[w]
        both[w] = ([{k: {c: drop(v) for c, v in row.items()} for k, row in s.items()} for s in snaps],
                   [drop(ln) for ln in lines])
    _compare(both, ("k_",))
    for w in ("ours", "haproxy"):
        assert both["requests"][w]["deny"], w
