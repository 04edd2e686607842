#!/usr/bin/env python3
"""Peers update throughput: haproxy-py against HAProxy 2.6.

Usage: python bench/peers.py [--updates 100000] [--keys 10000] [--rounds 3]

1. **Over TCP** (loopback): this script is a remote peer of the proxy under test (haproxy-py, and
   Debian's /usr/sbin/haproxy when present): after the 2.1 handshake it sends a table definition
   and ``--updates`` incremental updates (``--keys`` distinct IPv4 keys, gpc0 and
   http_req_rate(10s) each) as fast as the socket takes them, and waits for the proxy's
   acknowledgement of the last one: updates applied per second, receive side. Medians of
   ``--rounds``.
2. **Pure** (no I/O): two haproxy-py state machines (haproxy_py/stick/peersync.py) wired in memory:
   local writes on one side pushed, decoded and applied on the other, per second.

Processes are started in their own process group and stopped by it; only 127.0.0.1 is used. Writes
``bench/results/peers.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from run import free_port, spawn, wait_ports  # noqa: E402

from haproxy_py.stick import peers as P  # noqa: E402
from haproxy_py.stick.config import parse_stick_table  # noqa: E402
from haproxy_py.stick.table import StickTable  # noqa: E402

TABLE = "stick-table type ip size 200k expire 60s store gpc0,http_req_rate(10s)"


def conf(port: int, bench_port: int) -> str:
    return f"""global
    maxconn 1000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
peers p
    peer target 127.0.0.1:{port}
    peer bench 127.0.0.1:{bench_port}
backend st
    {TABLE} peers p
"""


def _updates(n: int, keys: int) -> bytes:
    """A definition then ``n`` updates (the first with its id, the others incremental)."""
    t = StickTable(parse_stick_table(TABLE.split(), "st")[0])
    now = 1000
    entries = []
    for i in range(keys):
        e = t.get((0x0A000000 + i).to_bytes(4, "big"), now)
        assert e is not None
        t.count(e, "gpc0", "http_req_rate", now)
        entries.append(e)
    out = bytearray(P.encode_definition(t, 1, "st"))
    for i in range(n):
        e = entries[i % keys]
        e.d[t.slot["gpc0"]] = i
        out += P.encode_update(t, e, i + 1, now, incremental=i > 0)
    return bytes(out)


def over_tcp(port: int, payload: bytes, n: int, timeout: float = 120.0) -> float:
    """Seconds from the first update sent to the acknowledgement of update ``n``."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(P.hello("target", "bench", os.getpid()))
        buf = b""
        while b"\n" not in buf:
            d = c.recv(4096)
            if not d:
                raise RuntimeError("closed during the handshake")
            buf += d
        status, _, rest = buf.partition(b"\n")
        if status != b"200":
            raise RuntimeError(f"handshake refused: {status!r}")
        c.setblocking(False)
        t0 = time.perf_counter()
        deadline = time.monotonic() + timeout
        view = memoryview(payload)
        sent = 0
        inbuf = rest
        acked = 0
        while acked < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {acked} of {n} acknowledged")
            if sent < len(view):
                try:
                    sent += c.send(view[sent:sent + 262144])
                except BlockingIOError:
                    pass
            try:
                d = c.recv(65536)
                if not d:
                    raise RuntimeError("closed")
                inbuf += d
            except BlockingIOError:
                if sent >= len(view):
                    time.sleep(0.0005)
                continue
            msgs, inbuf = P.parse_messages(inbuf)
            for m in msgs:
                if m.cls == P.STKT and m.type == P.ACK:
                    _tid, q = P.decode_int(m.payload, 0)
                    acked = max(acked, int.from_bytes(m.payload[q:q + 4], "big"))
                elif m.cls == P.CTRL and m.type == P.RESYNC_REQ:  # nothing to teach
                    c.send(P.msg(P.CTRL, P.RESYNC_FINISHED))
        return time.perf_counter() - t0


def pure(n: int, keys: int) -> float:
    """Updates per second between two in-memory state machines."""
    from haproxy_py.stick.peersync import PeerConf, Sync

    def mk(me: str, other: str) -> Sync:
        t = StickTable(parse_stick_table(TABLE.split(), "st")[0])
        return Sync("p", me, [PeerConf(me, "", 0, True), PeerConf(other, "", 0)], [(t, "st")], 0,
                    rand=lambda k: 0)

    a, b = mk("a", "b"), mk("b", "a")
    sa = a.connect(a.by_name["b"], 0)
    sb = b.accept(0)
    for _ in range(4):
        sb.feed(sa.take(), 0)
        sa.feed(sb.take(), 0)
    a.remote_done = b.remote_done = True
    sa.learn = sb.learn = "none"
    ta = a.tables[0].table
    ks = [(0x0A000000 + i).to_bytes(4, "big") for i in range(keys)]
    now = 1
    t0 = time.perf_counter()
    done = 0
    while done < n:
        for _ in range(200):
            e = ta.get(ks[done % keys], now)
            assert e is not None
            ta.count(e, "http_req_cnt", "http_req_rate", now)
            ta.touch(e, now)
            done += 1
        sa.pump(now)
        sb.feed(sa.take(), now)
        sa.feed(sb.take(), now)
    dt = time.perf_counter() - t0
    assert b.tables[0].table.used(now) == min(keys, n)
    return n / dt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--updates", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hpy-bench-peers-"))
    payload = _updates(a.updates, a.keys)
    targets = {"haproxy-py": [sys.executable, "-m", "haproxy_py", "-db"]}
    hap = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if os.path.exists(hap):
        targets["haproxy"] = [hap, "-db"]
    res: dict[str, list[float]] = {k: [] for k in targets}
    for _r in range(a.rounds):
        for name, cmd in targets.items():
            port = free_port()
            cfg = work / f"{name}.cfg"
            cfg.write_text(conf(port, free_port()))
            proc = spawn(name, [*cmd, "-f", str(cfg), "-L", "target"], work, cwd=ROOT)
            try:
                why = wait_ports(proc, [port], 20)
                if why:
                    sys.exit(f"{name} failed: {why}\n{proc.stderr_tail()}")
                res[name].append(a.updates / over_tcp(port, payload, a.updates))
            finally:
                proc.stop()
    p = pure(a.updates, a.keys)
    print(f"peers update throughput ({os.cpu_count()} CPUs, {a.updates} updates over {a.keys} keys, "
          f"{a.rounds} rounds, medians)")
    summary: dict[str, object] = {}
    for name, v in res.items():
        med = statistics.median(v)
        summary[name] = {"updates_per_s": med, "rounds": v}
        print(f"  received and acknowledged over TCP by {name:>10}: {med:>10.0f} updates/s")
    print(f"  pure (two haproxy-py state machines, push+decode+apply): {p:.0f} updates/s")
    summary["pure_updates_per_s"] = p
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "peers.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
