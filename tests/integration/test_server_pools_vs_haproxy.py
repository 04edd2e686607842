"""Server connection pools beside Debian's HAProxy 2.6, counted on the server side: ``pool-max-conn``
(0: no idle connection kept, N: at most N) and ``max-reuse`` (which 2.6 applies to multiplexed
server connections only: with HTTP/1.1 servers it changes nothing, and haproxy-py accepts it
without effect) under ``http-reuse always``, ``safe`` and ``never``. Each listen gets its own
server; the traffic: six requests on one kept-alive client connection, six client connections one
after the other, then three bursts of four concurrent requests (the server answers a burst's requests
once all four arrived, so they need four connections). Compared: which server connection each sequential request used, and for each burst
how many server connections it used and how many of them were new."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy

LISTENS = {
    "always": ("always", ""),
    "always_max0": ("always", "pool-max-conn 0"),
    "always_max2": ("always", "pool-max-conn 2"),
    "always_reuse1": ("always", "max-reuse 1"),
    "safe": ("safe", ""),
    "safe_max0": ("safe", "pool-max-conn 0"),
    "safe_max1": ("safe", "pool-max-conn 1"),
    "never_max0": ("never", "pool-max-conn 0"),
}


class _Server:
    """Answers every request 200 on kept-alive connections; records (connection number, path)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
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
        c.settimeout(10)
        buf = b""
        with c, contextlib.suppress(OSError):
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                path = head.split(b" ")[1].decode()
                with self.cond:
                    self.seen.append((n, path))
                    self.cond.notify_all()
                    if path.startswith("/b"):  # a burst's requests are answered once all four came
                        pre = path[:3]
                        self.cond.wait_for(lambda pre=pre: sum(p.startswith(pre) for _, p in self.seen) >= 4,
                                           timeout=3)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _one(s: socket.socket, path: str) -> None:
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    out = b""
    while not out.endswith(b"ok"):
        d = s.recv(4096)
        assert d, f"closed before the answer to {path}"
        out += d


def _traffic(port: int, srv: _Server, out: dict[str, object]) -> None:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    with s:
        for i in range(6):
            _one(s, f"/k{i}")
    for i in range(6):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            _one(s, f"/c{i}")
        time.sleep(0.05)  # the connection went back to the pool before the next one
    for burst in range(3):
        socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
        ts = [threading.Thread(target=_one, args=(x, f"/b{burst}{j}"), daemon=True) for j, x in enumerate(socks)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(timeout=10)
        for x in socks:
            x.close()
        time.sleep(0.1)
    time.sleep(0.1)
    with srv.lock:
        seen = list(srv.seen)
    num: dict[int, int] = {}
    seq = [f"{p}@{num.setdefault(n, len(num))}" for n, p in seen if not p.startswith("/b")]
    known = {num[n] for n, p in seen if not p.startswith("/b")}
    bursts = []
    for burst in range(3):
        used = {num.setdefault(n, len(num)) for n, p in seen if p.startswith(f"/b{burst}")}
        bursts.append((len(used), len(used - known)))
        known |= used
    out["seq"] = seq
    out["bursts"] = bursts


def _run(which: str) -> dict[str, dict[str, object]]:
    srvs = {k: _Server() for k in LISTENS}
    ports = {k: free_port() for k in LISTENS}
    # one thread: 2.6's idle connections are per thread (a client's thread may have none)
    cfg = "global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n"
    for k, (reuse, params) in LISTENS.items():
        cfg += (f"listen {k}\n    bind 127.0.0.1:{ports[k]}\n    http-reuse {reuse}\n"
                f"    server s 127.0.0.1:{srvs[k].port} {params}\n")
    outs: dict[str, dict[str, object]] = {k: {} for k in LISTENS}
    try:
        with run_proxy(cfg, wait_ports=list(ports.values()), which=which):
            time.sleep(0.2)
            for s in srvs.values():
                with s.lock:
                    s.seen.clear()
            ts = [threading.Thread(target=_traffic, args=(ports[k], srvs[k], outs[k]), daemon=True) for k in LISTENS]
            for t in ts:
                t.start()
            for t in ts:
                t.join(timeout=60)
    finally:
        for s in srvs.values():
            s.close()
    return outs


def test_pool_max_conn_and_max_reuse_as_haproxy() -> None:
    require_haproxy("haproxy")
    res: dict[str, dict[str, dict[str, object]]] = {}
    ts = [threading.Thread(target=lambda w=w: res.__setitem__(w, _run(w)), daemon=True) for w in ("haproxy", "ours")]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=100)
    assert set(res) == {"haproxy", "ours"}, "a run did not finish"
    for k in LISTENS:
        assert res["ours"][k] == res["haproxy"][k], (k, res["haproxy"][k], res["ours"][k])
    # the traffic reaches what it is about: pool-max-conn 0 keeps nothing, 2 caps the reuse
    assert res["ours"]["always_max0"]["bursts"] == [(4, 4)] * 3
    assert res["ours"]["always_max2"]["bursts"][1] == (4, 2)
