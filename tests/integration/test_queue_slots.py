"""Server slots under queue timeouts and clients that give up (issue #13).

Two servers at ``maxconn 1`` answering in 0.5-0.6 s, ``timeout queue 1s`` and an open-loop load of
a few seconds on a fixed grid of instants (16 a second) mixing clients that wait, keep-alive clients
and clients that give up. The servers answer, and the clients that give up close, on that same grid
shifted by the queue timeout, so a slot is freed in the millisecond where the request that should
get it reaches its queue deadline or its client leaves: the race of the issue, hit many times a run. Afterwards the proxy must be idle with every slot free (``show stat`` scur, ``show servers conn``
used_cur), serve a new request at once, and its stderr must hold no Python traceback.
"""

from __future__ import annotations

import random
import socket
import threading
import time

import pytest

from tests.conftest import free_port
from tests.integration.harness import HttpBackend, get, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

DELAY = 0.5


def _cfg(fe: int, p1: int, p2: int) -> str:
    return f"""
global
    stats socket @DIR@/admin.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 1s
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    balance roundrobin
    server s1 127.0.0.1:{p1} maxconn 1
    server s2 127.0.0.1:{p2} maxconn 1
"""


STEP = 1 / 16.0


class Grid:
    """Instants t0 + TIMEOUT + k*STEP (+ a jitter of a millisecond or two), where queued requests
    reach their deadline."""

    def __init__(self, t0: float, seed: int) -> None:
        self.t0 = t0
        self.rnd = random.Random(seed)
        self.lock = threading.Lock()

    def next_after(self, t: float) -> float:
        k = max(0, int((t - self.t0 - 1.0) / STEP) + 1)
        with self.lock:
            j = self.rnd.uniform(-0.002, 0.002)
        return self.t0 + 1.0 + k * STEP + j


def _client(port: int, kind: str, give_up: float, out: list[str]) -> None:
    """One client: ``wait`` (Connection: close), ``keep`` (keep-alive, idle after the answer),
    ``quit`` (closes at the instant ``give_up`` whatever happened)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=4)
    except OSError as e:
        out.append(f"connect {e}")
        return
    try:
        conn = "close" if kind == "wait" else "keep-alive"
        s.sendall(f"GET /{kind} HTTP/1.1\r\nHost: t\r\nConnection: {conn}\r\n\r\n".encode())
        s.settimeout(max(0.01, give_up - time.monotonic()) if kind == "quit" else 4)
        try:
            got = s.recv(4096)
        except (TimeoutError, OSError):
            got = b""
        out.append(got[:12].decode("latin-1", "replace") if got else f"{kind}:none")
        if kind == "keep" and got:
            time.sleep(0.8)  # an idle kept-alive connection while the queue moves on
    finally:
        s.close()


def _slots(sock: str) -> dict[str, tuple[int, int]]:
    """server -> (scur from show stat, used_cur from show servers conn)."""
    scur = {}
    lines = stats_cli(sock, "show stat").splitlines()
    hdr = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        if not line:
            continue
        row = dict(zip(hdr, line.split(","), strict=False))
        if row["pxname"] == "be" and row["svname"] in ("s1", "s2"):
            scur[row["svname"]] = int(row["scur"])
    used = {}
    conn = stats_cli(sock, "show servers conn be").splitlines()
    chdr = conn[0].lstrip("# ").split()
    for line in conn[1:]:
        if not line.strip():
            continue
        row = dict(zip(chdr, line.split(), strict=False))
        used[row["bkname/svname"].split("/")[1]] = int(row["used_cur"])
    return {s: (scur[s], used[s]) for s in ("s1", "s2")}


@pytest.mark.parametrize("which", ["ours", "haproxy"])
def test_no_slot_leak_under_queue_timeouts_and_client_aborts(which: str) -> None:
    require_haproxy(which)
    fe = free_port()
    rnd = random.Random(1313)
    grid = Grid(time.monotonic() + 30, 13)  # t0 is set when the load starts

    def answer(rec: object) -> tuple[int, list[tuple[str, str]], bytes]:
        # service time of at least DELAY, ending on the deadline grid
        time.sleep(max(0.0, grid.next_after(time.monotonic() + DELAY) - time.monotonic()))
        return 200, [], b"ok\n"

    b1 = HttpBackend("s1", behaviour=answer).start()
    b2 = HttpBackend("s2", behaviour=answer).start()
    try:
        with run_proxy(_cfg(fe, b1.port, b2.port), wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            out: list[str] = []
            threads = []
            # open loop: 16 requests/s for 4 s (bounded: 64 clients), arrivals independent of answers
            t0 = grid.t0 = time.monotonic() + 0.2
            for i in range(64):
                at = t0 + i * STEP
                time.sleep(max(0.0, at - time.monotonic()))
                kind = rnd.choice(("wait", "wait", "keep", "quit"))
                give_up = grid.next_after(at + rnd.uniform(0.1, 0.9))
                t = threading.Thread(target=_client, args=(fe, kind, give_up, out), daemon=True)
                t.start()
                threads.append(t)
            for t in threads:
                t.join(10)
            assert not any(t.is_alive() for t in threads)
            assert any(x.startswith("HTTP/1.1 503") for x in out), "the load must overflow the queue"
            assert any(x.startswith("HTTP/1.1 200") for x in out)
            # the servers answered everything they got: give the proxy a moment to see it
            deadline = time.monotonic() + 3
            while True:
                slots = _slots(sock)
                if all(v == (0, 0) for v in slots.values()) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert slots == {"s1": (0, 0), "s2": (0, 0)}, slots
            # both servers take a new request at once: two in parallel, each served in ~DELAY
            res: list[tuple[int, float]] = []

            def one() -> None:
                t1 = time.monotonic()
                st, _, _ = get(fe, "/after", timeout=5)
                res.append((st, time.monotonic() - t1))

            ts = [threading.Thread(target=one) for _ in range(2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(8)
            assert sorted(st for st, _ in res) == [200, 200], res
            assert all(dt < DELAY + 0.4 for _, dt in res), res
            err = pp.stderr_text()
            assert "Traceback" not in err, err
            assert "Error" not in err, err
    finally:
        b1.stop()
        b2.stop()
