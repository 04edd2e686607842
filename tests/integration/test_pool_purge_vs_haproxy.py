"""Idle server connections over time, ``pool-purge-delay`` and ``pool-low-conn``, beside Debian's
HAProxy 2.6, counted on the server side: how many connections the proxy keeps open to the server.

Each listen (``http-reuse always``) has its own server, which answers a burst's requests only once
all of them arrived (so a burst of N needs N server connections). The traffic: a burst of 8, then
(at 3.5 purge periods, when 2.6 has lowered its estimate of the need) a burst of 4 on the
connections left, repeated; the open connections are read at each half period between the
purges. The sequences must be equal to 2.6's: closing each period half (plus one) of the
connections above the need, the need itself decaying, pool-low-conn keeping more of the
connections that come back, and no idle connection kept with a delay of 0.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy

PERIOD = 0.4  # seconds: pool-purge-delay of the listens
LISTENS = {"purge": "", "low2": "pool-low-conn 2", "at_once": "pool-purge-delay 0"}


class _Server:
    """Answers 200 on kept-alive connections, a burst's requests (paths /bN-...) once ``want`` of
    them arrived; counts its open connections."""

    def __init__(self) -> None:
        self.open = 0
        self.seen: list[str] = []
        self.want = 0
        self.cond = threading.Condition()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                self.open += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        c.settimeout(30)
        buf = b""
        try:
            with c, contextlib.suppress(OSError):
                while True:
                    while b"\r\n\r\n" not in buf:
                        d = c.recv(65536)
                        if not d:
                            return
                        buf += d
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    path = head.split(b" ")[1].decode()
                    pre = path.split("-")[0]
                    with self.cond:
                        self.seen.append(path)
                        self.cond.notify_all()
                        self.cond.wait_for(lambda pre=pre: sum(p.startswith(pre + "-") for p in self.seen) >= self.want,
                                           timeout=3)
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        finally:
            with self.cond:
                self.open -= 1

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _burst(port: int, srv: _Server, name: str, n: int) -> None:
    srv.want = n

    def one(i: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(f"GET /{name}-{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            while s.recv(65536):
                pass

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)


def _observe(which: str) -> dict[str, list[int]]:
    srvs = {name: _Server() for name in LISTENS}
    ports = {name: free_port() for name in LISTENS}
    ms = int(PERIOD * 1000)
    # one thread: 2.6 splits a purge over its threads' idle lists (each worker of haproxy-py is one)
    cfg = "global\n    nbthread 1\n" + "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n"
    for name, extra in LISTENS.items():
        cfg += (f"listen {name}\n    bind 127.0.0.1:{ports[name]}\n    http-reuse always\n"
                f"    server s 127.0.0.1:{srvs[name].port} pool-purge-delay {ms} {extra}\n")
    seen: dict[str, list[int]] = {name: [] for name in LISTENS}
    try:
        with run_proxy(cfg, wait_ports=list(ports.values()), which=which):
            for name in LISTENS:  # one after the other: each its own timeline
                srv = srvs[name]
                _burst(ports[name], srv, "b1", 8)
                t0 = time.monotonic()
                for k in range(10):
                    if k == 4:  # at 3.5 periods, 4 at once on what is left
                        _burst(ports[name], srv, "b2", 4)
                    time.sleep(max(0.0, t0 + (k + 0.5) * PERIOD - time.monotonic()))
                    with srv.cond:
                        seen[name].append(srv.open)
    finally:
        for s in srvs.values():
            s.close()
    return seen


def test_pool_purge_delay_as_haproxy() -> None:
    require_haproxy("haproxy")
    with ThreadPoolExecutor(2) as ex:  # side by side: each proxy its own servers and ports
        t, o = ex.submit(_observe, "haproxy"), ex.submit(_observe, "ours")
        theirs, ours = t.result(), o.result()
    assert ours == theirs, (ours, theirs)
    assert theirs["purge"][:3] == [8, 8, 8] and theirs["at_once"] == [0] * 10  # the purges happened
    assert theirs["low2"] != theirs["purge"]  # and pool-low-conn changed what was kept


def test_show_servers_conn_settings_as_haproxy() -> None:
    """``show servers conn`` gives each server's pool-purge-delay and pool-max-conn (idle_lim)."""
    require_haproxy("haproxy")
    from tests.integration.harness import wait_files
    from tests.integration.stats_client import stats_cli

    port = free_port()
    cfg = ("global\n    nbthread 1\n    stats socket @DIR@/s.sock level admin\n"
           "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
           f"frontend f\n    bind 127.0.0.1:{port}\n    default_backend b\n"
           "backend b\n    server s 127.0.0.1:1 pool-purge-delay 400\n    server t 127.0.0.1:2 pool-max-conn 3\n"
           "    server u 127.0.0.1:3 pool-purge-delay 2s pool-max-conn 0\n")
    out = {}
    for which in ("haproxy", "ours"):
        with run_proxy(cfg, wait_ports=[port], which=which) as pp:
            wait_files([pp.workdir / "s.sock"])
            out[which] = stats_cli(str(pp.workdir / "s.sock"), "show servers conn b")
    assert out["ours"] == out["haproxy"]
    assert " 400 " in out["haproxy"] and " 2000 " in out["haproxy"]
