"""``option http-pretend-keepalive`` and ``option http-use-proxy-header`` beside Debian's HAProxy
2.6: requests in every connection mode (HTTP/1.1 and 1.0, with and without ``Connection: close``,
absolute URIs, ``Proxy-Connection`` headers) through listens with and without the options.
Compared: the request head each server connection received (and whether a second request on the
same client connection used the same server connection), what the client got and whether the proxy closed the client connection. 2.6's behaviour,
checked here: pretend-keepalive (the backend's) sends the request as in keep-alive mode (no
``connection: close``, ``connection: keep-alive`` for HTTP/1.0) while the connection mode still
closes; use-proxy-header (the frontend's) answers an ``http-request auth`` challenge to a proxy's
request (a URI not starting with '/' or '*') with 407 and Proxy-Authenticate; Proxy-Connection
headers pass untouched with or without it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy

OPTS = {
    "sc": "option http-server-close",
    "scpk": "option http-server-close\n    option http-pretend-keepalive",
    "hcpk": "option httpclose\n    option http-pretend-keepalive",
    "kapk": "option http-pretend-keepalive",
    "fepk": None,  # pretend-keepalive in the frontend only: no effect (2.6 reads the backend's)
    "hc": "option httpclose",
    "uph": "option http-use-proxy-header\n    http-request auth if { path_beg /auth }",
    "nouph": "http-request auth if { path_beg /auth }",
}
REQS = [
    b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /b HTTP/1.0\r\n\r\n",
    b"GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    b"GET http://t/d HTTP/1.1\r\nHost: t\r\nProxy-Connection: close\r\n\r\n",
    b"GET http://t/e HTTP/1.0\r\nProxy-Connection: keep-alive\r\n\r\n",
    b"GET /f HTTP/1.1\r\nHost: t\r\nProxy-Connection: close\r\n\r\n",
    b"GET /auth HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET http://t/auth HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET t:80 HTTP/1.1\r\nHost: t\r\nPath: /auth\r\n\r\n",
]


class _Recorder:
    """Answers every request 200 on a kept-alive connection; records (connection number, head)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        n = 0
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            n += 1
            threading.Thread(target=self._serve, args=(c, n), daemon=True).start()

    def _serve(self, c: socket.socket, n: int) -> None:
        c.settimeout(3)
        buf = b""
        with c, contextlib.suppress(OSError):
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                self.seen.append((n, head.decode("latin-1")))
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _config(ports: dict[str, int], srvs: dict[str, int]) -> str:
    # http-reuse never: a client connection's requests use its own server connections, so which
    # idle connection of the server pool a new client connection takes (another matter) stays out
    cfg = ("defaults\n    mode http\n    http-reuse never\n    timeout connect 1s\n    timeout client 2s\n"
           "    timeout server 2s\n"
           "userlist U\n    user u insecure-password p\n")
    for name, opt in OPTS.items():
        if opt is None:
            cfg += (f"frontend {name}\n    bind 127.0.0.1:{ports[name]}\n    option http-pretend-keepalive\n"
                    f"    option http-server-close\n    default_backend b_{name}\n"
                    f"backend b_{name}\n    server s 127.0.0.1:{srvs[name]}\n")
            continue
        cfg += f"listen {name}\n    bind 127.0.0.1:{ports[name]}\n    {opt}\n    server s 127.0.0.1:{srvs[name]}\n"
    return cfg


def _responses(data: bytes) -> list[bytes]:
    """The complete responses (all have a Content-Length) at the start of ``data``."""
    out = []
    while b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
        if len(rest) < n:
            break
        out.append(head + b"\r\n\r\n" + rest[:n])
        data = rest[n:]
    return out


def _exchange(port: int, raw: bytes) -> tuple[bytes, bool]:
    """What the client got, and whether the proxy closed the connection after it: a second
    request follows the answer, and gets one only on a connection kept open."""
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    data = b""
    with s, contextlib.suppress(OSError):
        s.sendall(raw)
        s.settimeout(5)
        sent = False
        while True:
            got = _responses(data)
            if len(got) >= 2:
                break
            if got and not sent:
                sent = True
                with contextlib.suppress(OSError):
                    s.sendall(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n")
            d = s.recv(65536)
            if not d:
                break
            data += d
    got = _responses(data)
    return (got[0] if got else data).lower(), len(got) < 2


def _run_listen(which: str, name: str, port: int, rec: _Recorder, out: list[tuple[object, ...]]) -> None:
    for raw in REQS:
        conns: dict[int, int] = {}
        before = len(rec.seen)
        got, closed = _exchange(port, raw)
        expect = (1 if b" 200 " in got.split(b"\r\n", 1)[0] else 0) + (0 if closed else 1)
        deadline = time.monotonic() + 3
        while len(rec.seen) < before + expect and time.monotonic() < deadline:
            time.sleep(0.01)
        # the server connections of this exchange numbered in order of appearance (which idle
        # connection a new client connection reuses is the pool's business)
        seen = [(conns.setdefault(n, len(conns)), h.lower()) for n, h in rec.seen[before:]]
        out.append((name, raw.split(b"\r\n", 1)[0], got, closed, seen))


def _run(which: str) -> list[tuple[object, ...]]:
    recs = {k: _Recorder() for k in OPTS}
    ports = {k: free_port() for k in OPTS}
    outs: dict[str, list[tuple[object, ...]]] = {k: [] for k in OPTS}
    try:
        with run_proxy(_config(ports, {k: r.port for k, r in recs.items()}), wait_ports=list(ports.values()),
                       which=which):
            threads = [threading.Thread(target=_run_listen, args=(which, k, ports[k], recs[k], outs[k]), daemon=True)
                       for k in OPTS]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
    finally:
        for r in recs.values():
            r.close()
    return [x for k in OPTS for x in outs[k]]


def test_pretend_keepalive_and_use_proxy_header_as_haproxy() -> None:
    require_haproxy("haproxy")
    res: dict[str, list[tuple[object, ...]]] = {}
    threads = [threading.Thread(target=lambda w=w: res.__setitem__(w, _run(w)), daemon=True)
               for w in ("haproxy", "ours")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=100)
    assert set(res) == {"haproxy", "ours"}, "a run did not finish"
    assert len(res["ours"]) == len(OPTS) * len(REQS)
    for r, o in zip(res["haproxy"], res["ours"], strict=True):
        assert o == r, (r, o)
