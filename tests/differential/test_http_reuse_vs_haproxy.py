"""Server-side connection reuse against HAProxy 2.6: generated arrival patterns of keep-alive clients
(open, request, close, interleaved between clients), played one event at a time on both proxies;
the recording backend tells which server connection carried each request. Both proxies must open
the same number of server connections and group the requests on them the same way, for each
``http-reuse`` mode (``safe`` is 2.6's default: a client's first request never takes an idle
connection, its later ones take the oldest idle one of the chosen server, whoever opened it), and
show the same ``show servers conn`` after each event (with ``never``: no server pool at all)."""

from __future__ import annotations

import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.harness import (
    HttpBackend,
    free_port,
    read_http_message,
    require_haproxy,
    run_proxy,
    wait_files,
)
from tests.integration.stats_client import stats_cli

Event = tuple[str, int]


def _scenario(seed: int, clients: int, steps: int) -> list[Event]:
    rnd = random.Random(seed)
    open_: set[int] = set()
    nxt = 0
    ev: list[Event] = []
    for _ in range(steps):
        r = rnd.random()
        if (not open_ or r < 0.25) and nxt < clients:
            ev.append(("open", nxt))
            open_.add(nxt)
            nxt += 1
        elif open_ and r < 0.40:
            c = rnd.choice(sorted(open_))
            ev.append(("close", c))
            open_.discard(c)
        elif open_:
            ev.append(("req", rnd.choice(sorted(open_))))
    return ev


def _play(which: str, mode: str | None, nservers: int, events: list[Event]) -> tuple[list[str], list[int], list[str]]:
    """Play the events; returns (for each request, in order, the server and the rank of the server
    connection that carried it; connections per server; ``show servers conn`` after each event)."""
    bes = [HttpBackend(f"s{i}").start() for i in range(nservers)]
    fe = free_port()
    servers = "".join(f"    server s{i} 127.0.0.1:{b.port}\n" for i, b in enumerate(bes))
    reuse = f"    http-reuse {mode}\n" if mode else ""
    cfg = f"""global
    nbthread 1
    stats socket @DIR@/s.sock level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    balance roundrobin
{reuse}{servers}"""
    socks: dict[int, socket.socket] = {}
    files = {}
    order: list[str] = []
    conns: list[str] = []
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = str(pp.workdir / "s.sock")
            wait_files([sock])
            time.sleep(0.2)  # the port probe's connection is gone
            for n, (kind, c) in enumerate(events):
                if kind == "open":
                    socks[c] = socket.create_connection(("127.0.0.1", fe), timeout=5)
                    files[c] = socks[c].makefile("rb")
                elif kind == "close":
                    files.pop(c).close()
                    socks.pop(c).close()
                else:
                    path = f"/c{c}/e{n}"
                    socks[c].sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    start, _, _ = read_http_message(files[c], response=True)
                    assert b" 200 " in start, (which, start)
                    order.append(path)
                time.sleep(0.03)  # the proxy is done with the transaction before the next event
                # the pool as 2.6 shows it (used, max used, estimated need, idle unsafe/safe...), the
                # servers' addresses and ports aside
                conns.append(" | ".join(" ".join(ln.split()[:2] + ln.split()[4:])
                                        for ln in stats_cli(sock, "show servers conn be").splitlines()[1:] if ln))
            for c in list(socks):
                files.pop(c).close()
                socks.pop(c).close()
    finally:
        for b in bes:
            b.stop()
    where: dict[str, str] = {}
    for i, b in enumerate(bes):
        ranks: dict[int, int] = {}
        for r in b.requests:
            path = r.start.split()[1].decode()
            rank = ranks.setdefault(r.conn_id, len(ranks))
            where[path] = f"s{i}#{rank}"
    return [where.get(p, "?") for p in order], [b.connections for b in bes], conns


CASES = [(mode, nsrv, seed) for mode in (None, "safe", "never", "aggressive", "always")
         for nsrv in (1, 2) for seed in (1, 2)]


@pytest.mark.parametrize(("mode", "nservers", "seed"), CASES)
def test_server_connection_reuse_as_haproxy(mode: str | None, nservers: int, seed: int) -> None:
    require_haproxy("haproxy")
    events = _scenario(seed * 7 + nservers, clients=5, steps=28)
    # the two programs, each with its own backends, play the events at the same time
    with ThreadPoolExecutor(2) as pool:
        theirs_f = pool.submit(_play, "haproxy", mode, nservers, events)
        ours_f = pool.submit(_play, "ours", mode, nservers, events)
        theirs, ours = theirs_f.result(), ours_f.result()
    assert ours == theirs, f"events {events}\nours   {ours}\ntheirs {theirs}"


def test_http_reuse_config_messages_as_haproxy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``-c`` verdicts and messages of http-reuse lines, against 2.6's."""
    import re
    import subprocess
    import sys

    from tests.integration.harness import ROOT

    require_haproxy("haproxy")
    text = ("defaults\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n    http-reuse always\n"
            "frontend f\n    bind 127.0.0.1:1\n    http-reuse safe\n    default_backend e\n"
            "backend b\n    http-reuse\nbackend c\n    http-reuse foo\nbackend d\n    http-reuse safe extra\n"
            "backend e\n    http-reuse aggressive\n")
    got = {}
    for which, cmd in (("haproxy", ["haproxy"]), ("ours", [sys.executable, "-m", "haproxy_py"])):
        d = tmp_path / which
        d.mkdir()
        (d / "h.cfg").write_text(text)
        r = subprocess.run(cmd + ["-c", "-f", "h.cfg"], capture_output=True, text=True, cwd=str(d), timeout=30,
                           env={"PYTHONPATH": str(ROOT), "PATH": "/usr/sbin:/usr/bin:/bin"})
        got[which] = (r.returncode, [re.sub(r"\(\d+\)", "(PID)", ln) for ln in (r.stdout + r.stderr).splitlines()
                                     if "http-reuse" in ln and ln.startswith("[")])
    assert got["ours"] == got["haproxy"]
