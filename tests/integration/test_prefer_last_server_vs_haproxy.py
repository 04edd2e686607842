"""``option prefer-last-server`` and ``max-keep-alive-queue``, side by side with Debian's HAProxy 2.6.

2.6 sends a keep-alive request to the server its session still holds an idle connection of its
own to (``http-reuse never``; with the default ``safe`` the connection goes to the server's pool
and the algorithm chooses as usual), except with the hash-based algorithms, or when that server is
unusable; ``max-keep-alive-queue N`` sends it elsewhere when that server is full and N requests
already wait for it.
"""

from __future__ import annotations

import random
import select
import socket
import threading
import time

import pytest

from tests.integration.harness import (
    HttpBackend,
    free_port,
    http_backends,
    read_http_message,
    require_haproxy,
    run_proxy,
)
from tests.integration.stats_client import admin_socket, stats_cli


class _Client:
    def __init__(self, fe: int) -> None:
        self.s = socket.create_connection(("127.0.0.1", fe), timeout=5)
        self.s.settimeout(5)
        self.f = self.s.makefile("rb")

    def send(self, path: str) -> None:
        self.s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())

    def read(self) -> str:
        _, hdrs, _ = read_http_message(self.f, response=True)
        return {k.lower(): v for k, v in hdrs}.get("x-server", "-")

    def close(self) -> None:
        self.f.close()
        self.s.close()


def _cfg(fe: int, bes: list[HttpBackend], balance: str, reuse: str, prefer: bool, extra: str = "",
         weights: tuple[str, ...] = ("", " weight 2", " weight 3")) -> str:
    return (f"global\n    stats socket @DIR@/admin.sock level admin\n"
            f"defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
            f"frontend fe\n    bind 127.0.0.1:{fe}\n    default_backend be\n"
            f"backend be\n    balance {balance}\n    http-reuse {reuse}\n"
            + ("    option prefer-last-server\n" if prefer else "") + extra
            + "".join(f"    server {b.name} 127.0.0.1:{b.port}{w}\n"
                      for b, w in zip(bes, weights, strict=False)))


def _sequence(which: str, cfg: str, fe: int, steps: list[tuple[int, str]]) -> list[str]:
    out: list[str] = []
    with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
        sock = admin_socket(pp)
        clients: dict[int, _Client] = {}
        try:
            for n, what in steps:
                if what == "close":
                    c = clients.pop(n, None)
                    if c is not None:
                        c.close()
                    out.append(f"{n} close")
                elif what.startswith("cli "):
                    out.append(stats_cli(sock, what[4:]).strip())
                else:
                    c = clients.get(n) or clients.setdefault(n, _Client(fe))
                    c.send(what)
                    out.append(f"{n} {what} {c.read()}")
        finally:
            for c in clients.values():
                c.close()
    return out


def _steps(rng: random.Random, names: list[str]) -> list[tuple[int, str]]:
    steps: list[tuple[int, str]] = []
    for i in range(rng.randint(14, 22)):
        n = rng.randrange(3)
        r = rng.random()
        if r < 0.12:
            steps.append((n, "close"))
        elif r < 0.2:
            srv = rng.choice(names)
            state = rng.choice(["drain", "maint", "ready", "ready"])
            steps.append((0, f"cli set server be/{srv} state {state}"))
        elif r < 0.25:
            steps.append((0, f"cli set server be/{rng.choice(names)} weight {rng.choice([0, 1, 3])}"))
        else:
            steps.append((n, f"/r{i}"))
    return steps


@pytest.mark.slow
def test_prefer_last_server_as_haproxy() -> None:
    """Seeded request sequences over three keep-alive clients (closing, reopening, servers set to
    drain, maintenance, weight 0 meanwhile): which server answered each request, as 2.6, for
    the algorithms, both http-reuse modes and with the option off."""
    require_haproxy("haproxy")
    rng = random.Random(2615)
    with http_backends("a", "b", "c") as bes:
        fe = free_port()
        cases = [("roundrobin", "never", True), ("leastconn", "never", True),
                 ("first", "never", True), ("source", "never", True), ("roundrobin", "safe", True),
                 ("roundrobin", "never", False)]
        seen_sticky = False
        for balance, reuse, prefer in cases:
            cfg = _cfg(fe, bes, balance, reuse, prefer)
            steps = _steps(rng, [b.name for b in bes])
            want = _sequence("haproxy", cfg, fe, steps)
            got = _sequence("ours", cfg, fe, steps)
            assert got == want, f"{cfg}\n" + "\n".join(f"{w!r:40} {g!r}" for w, g in zip(want, got, strict=False))
            if balance == "roundrobin" and reuse == "never" and prefer:
                # guards the meaning: 2.6 kept a client on its server at least once in a row
                last: dict[str, str] = {}
                for line in want:
                    n, _, rest = line.partition(" ")
                    if rest.startswith("/"):
                        srv = rest.split()[1]
                        seen_sticky |= last.get(n) == srv
                        last[n] = srv
                    elif rest == "close":
                        last.pop(n, None)
        assert seen_sticky


def _ka_queue_run(which: str, fe: int, bes: list[HttpBackend], limit: str | None) -> list[str]:
    """Client A has an idle connection to server a (maxconn 1); B holds a's only slot with a
    request a blocks; then A asks again: queued behind B (no limit) or sent elsewhere."""
    release = threading.Event()
    a = bes[0]
    a.behaviour = lambda rec: (release.wait(10), (200, [], b"a\n"))[1] if b"/hold" in rec.start else (200, [], b"a\n")
    extra = f"    max-keep-alive-queue {limit}\n" if limit is not None else ""
    cfg = _cfg(fe, bes, "roundrobin", "never", True, extra, ("", "", "")).replace(f"{a.port}\n", f"{a.port} maxconn 1\n", 1)
    out: list[str] = []
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            ca, cb = _Client(fe), _Client(fe)
            try:
                ca.send("/first")
                out.append(ca.read())  # a (roundrobin's first)
                cb.send("/x")
                out.append(cb.read())  # b
                stats_cli(sock, "set server be/b state maint")
                stats_cli(sock, "set server be/c state maint")
                cb.close()
                cb = _Client(fe)
                cb.send("/hold")  # a, blocked there
                deadline = time.monotonic() + 10
                while not any(r.start.startswith(b"GET /hold") for r in list(a.requests)):
                    assert time.monotonic() < deadline, "the held request did not reach server a"
                    time.sleep(0.02)
                stats_cli(sock, "set server be/b state ready")
                ca.send("/again")
                # either answered by b at once, or queued for a: released once a's queue holds it
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    if select.select([ca.s], [], [], 0.05)[0]:
                        break
                    stat = stats_cli(sock, "show stat")
                    row = next((ln for ln in stat.splitlines() if ln.startswith("be,a,")), "")
                    if row and row.split(",")[2] not in ("", "0"):  # qcur
                        out.append("queued")
                        break
                release.set()
                out.append(ca.read())
                out.append(cb.read())
            finally:
                release.set()
                ca.close()
                cb.close()
    finally:
        a.behaviour = None
    return out


@pytest.mark.slow
def test_max_keep_alive_queue_as_haproxy() -> None:
    """A keep-alive request whose last server is full: queued for it without a limit (-1, or
    no max-keep-alive-queue) or while fewer than N wait there (2.6 compares queue + 1 < N + 1),
    sent elsewhere otherwise, as 2.6."""
    require_haproxy("haproxy")
    with http_backends("a", "b", "c") as bes:
        fe = free_port()
        results = {}
        for limit in (None, "-1", "0", "1"):
            want = _ka_queue_run("haproxy", fe, bes, limit)
            got = _ka_queue_run("ours", fe, bes, limit)
            assert got == want, f"max-keep-alive-queue {limit}: haproxy {want} ours {got}"
            results[limit] = want
        assert results[None][2:] == ["queued", "a", "a"]  # guards the meaning
        assert results["0"][2] == "b"
