#!/usr/bin/env python3
"""Cost of stick tables in haproxy-py: per request, and of the table itself.

Usage: python bench/stick.py [--duration 4] [--conns 50] [--rounds 2] [--entries 1000000]

1. Through the proxy (nginx behind, wrk -t1 keep-alive, 1 KiB file), interleaved rounds, medians:
   ``plain`` (a frontend without rules), ``table`` (the same with a stick table nothing uses: what
   an unused table costs per request), ``rules`` (two rules of the same shape without a table:
   ``set-var(txn.x) src`` and a deny on ``var(txn.x),length``, the rule machinery's own cost) and
   ``track`` (``http-request track-sc0 src`` plus
   ``http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }``: one tracking and
   one rate check per request, never denying). Requests/s and the proxy's CPU seconds per 100k
   requests (its process group's utime+stime from /proc).
2. The pure table (no I/O): microseconds per get+track+count+read+release on a hot key, and
   memory (tracemalloc) and lookup time of a table filled with ``--entries`` IPv4 keys storing
   ``http_req_rate(10s)``.

Processes are started in their own process group and stopped by it; only 127.0.0.1 is used. Writes
``bench/results/stick.json``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from run import SMALL, cpu_seconds, free_port, nginx_conf, run_wrk, spawn, wait_ports  # noqa: E402

VARIANTS = {
    "plain": "",
    "table": "    stick-table type ip size 100k expire 30s store http_req_rate(10s)\n",
    "rules": ("    http-request set-var(txn.x) src\n"
              "    http-request deny deny_status 429 if { var(txn.x),length gt 100000000 }\n"),
    "track": ("    stick-table type ip size 100k expire 30s store http_req_rate(10s)\n"
              "    http-request track-sc0 src\n"
              "    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }\n"),
}


def proxy_conf(port: int, nginx_port: int, extra: str) -> str:
    return f"""global
    maxconn 4000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
{extra}    default_backend be
backend be
    server nginx 127.0.0.1:{nginx_port}
"""


def pure(entries: int) -> dict[str, float]:
    from haproxy_py.stick.config import parse_stick_table
    from haproxy_py.stick.table import StickTable

    conf, _ = parse_stick_table(f"stick-table type ip size {entries + 10} expire 30s store http_req_rate(10s)".split(),
                                "fe")
    t = StickTable(conf)
    key = t.key_of(ipaddress.IPv4Address("10.0.0.1"))
    n = 200_000
    t0 = time.perf_counter()
    for i in range(n):
        now = i // 10
        e = t.get(key, now)
        assert e is not None
        t.track(e, now)
        t.count(e, "http_req_cnt", "http_req_rate", now)
        t.value(e, "http_req_rate", now)
        t.release(e, now)
    per_op = (time.perf_counter() - t0) / n * 1e6
    base = 0x0A000000
    big = StickTable(conf)
    t0 = time.perf_counter()
    for i in range(entries):
        big.get((base + i).to_bytes(4, "big"), 1000)
    fill = time.perf_counter() - t0
    # memory: a second table filled under tracemalloc (which slows allocations: not timed)
    tracemalloc.start()
    other = StickTable(conf)
    for i in range(entries):
        other.get((base + i).to_bytes(4, "big"), 1000)
    mem = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del other
    m = 200_000
    t0 = time.perf_counter()
    for i in range(m):
        big.lookup((base + (i * 7919) % entries).to_bytes(4, "big"), 2000)
    look = (time.perf_counter() - t0) / m * 1e6
    return {"track_cycle_us": per_op, "entries": entries, "bytes_per_entry": mem / entries,
            "fill_s": fill, "lookup_us": look}


def pure_shared(n: int = 100_000, only: str | None = None) -> dict[str, float]:
    """The same cycle on a table two workers share (stick/share.py): without and with the
    increments in flight published in shared memory (Inflight), the other worker having pushed
    its share of the key; microseconds per cycle, the three measured in the same run."""
    import pickle

    from haproxy_py.stick.config import parse_stick_table
    from haproxy_py.stick.share import Inflight, TableShare
    from haproxy_py.stick.table import StickTable

    conf, _ = parse_stick_table("stick-table type ip size 100 expire 30s store http_req_cnt,http_req_rate(10s)".split(),
                                "fe")
    key = b"\x0a\0\0\x01"

    def cycle(with_area: bool | None) -> float:
        t = StickTable(conf)
        if with_area is not None:
            area = bytearray(Inflight.size(2))
            mine, other = TableShare(t), TableShare(StickTable(conf))
            if with_area:
                mine.inflight = (Inflight(area, 2, 0), 0)
                other.inflight = (Inflight(area, 2, 1), 0)
            mine.attach()
            other.attach()
            oe = other.table.get(key, 0)
            assert oe is not None
            other.table.count(oe, "http_req_cnt", "http_req_rate", 0)
            mine.apply(1, pickle.loads(pickle.dumps(other.pending())), 0)
        t0 = time.perf_counter()
        for i in range(n):
            now = i // 10
            e = t.get(key, now)
            assert e is not None
            t.track(e, now)
            t.count(e, "http_req_cnt", "http_req_rate", now)
            t.value(e, "http_req_rate", now)
            t.release(e, now)
        return (time.perf_counter() - t0) / n * 1e6

    variants = {"one_us": None, "shared_us": False, "shared_inflight_us": True}
    return {name: cycle(v) for name, v in variants.items() if only in (None, name)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=4.0)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hpy-bench-stick-"))
    os.chmod(work, 0o755)
    (work / "www").mkdir()
    (work / "nginx-tmp").mkdir()
    (work / "www" / SMALL).write_bytes(os.urandom(1024))
    nginx_port = free_port()
    (work / "nginx.conf").write_text(nginx_conf(work, nginx_port))
    nginx = spawn("nginx", [a.nginx, "-c", str(work / "nginx.conf"), "-p", str(work), "-e",
                            str(work / "nginx-error.log")], work)
    res: dict[str, dict[str, list[float]]] = {v: {"rps": [], "cpu100k": []} for v in VARIANTS}
    try:
        why = wait_ports(nginx, [nginx_port], 10)
        if why:
            sys.exit(f"nginx failed: {why}\n{nginx.stderr_tail()}")
        for _r in range(a.rounds):
            for name, extra in VARIANTS.items():
                port = free_port()
                cfg = work / f"{name}.cfg"
                cfg.write_text(proxy_conf(port, nginx_port, extra))
                proc = spawn(name, [sys.executable, "-m", "haproxy_py", "-db", "-f", str(cfg)], work, cwd=ROOT)
                try:
                    why = wait_ports(proc, [port], 20)
                    if why:
                        sys.exit(f"haproxy-py ({name}) failed: {why}\n{proc.stderr_tail()}")
                    c0 = cpu_seconds(proc.pgid)
                    w = run_wrk(f"http://127.0.0.1:{port}/{SMALL}", a.duration, a.conns, close=False,
                                latency=False)
                    cpu = cpu_seconds(proc.pgid) - c0
                    rps = w.get("rps") or 0.0
                    res[name]["rps"].append(rps)
                    reqs = rps * a.duration
                    res[name]["cpu100k"].append(cpu / reqs * 1e5 if reqs else 0.0)
                    if w.get("non2xx"):
                        sys.exit(f"{name}: {w['non2xx']} non-2xx responses")
                finally:
                    proc.stop()
    finally:
        nginx.stop()
    p = pure(a.entries)
    print(f"haproxy-py stick tables ({os.cpu_count()} CPUs, wrk -t1 -c{a.conns} -d{a.duration:.0f}s keep-alive, "
          f"{a.rounds} rounds, medians)")
    print(f"{'variant':>8} {'req/s':>9} {'CPU s/100k':>11}")
    summary: dict[str, object] = {}
    for name in VARIANTS:
        rps = statistics.median(res[name]["rps"])
        cpu = statistics.median(res[name]["cpu100k"])
        summary[name] = {"rps": rps, "cpu_s_per_100k": cpu, "rounds": res[name]}
        print(f"{name:>8} {rps:>9.0f} {cpu:>11.2f}")
    print(f"pure: get+track+count+read+release {p['track_cycle_us']:.2f} us; {p['entries']} entries: "
          f"{p['bytes_per_entry']:.0f} B/entry (tracemalloc), filled in {p['fill_s']:.1f} s, "
          f"lookup {p['lookup_us']:.2f} us")
    summary["pure"] = p
    sh = pure_shared()
    print(f"shared by 2 workers, same cycle: one process {sh['one_us']:.2f} us, shared {sh['shared_us']:.2f} us, "
          f"shared with the increments in flight {sh['shared_inflight_us']:.2f} us")
    summary["pure_shared"] = sh
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "stick.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
