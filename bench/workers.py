#!/usr/bin/env python3
"""Throughput of haproxy-py with 1 and with N worker processes (``nbthread N``), nginx behind.

Usage: python bench/workers.py [--workers 1,2] [--duration 5] [--conns 50] [--rounds 2]

Per worker count and round: wrk (one thread, keep-alive, then ``Connection: close``) against a
1 KiB file through haproxy-py's HTTP frontend; prints requests/s (median over rounds) and the
errors wrk saw, and writes ``bench/results/workers.json``. Processes are started in their own
process group and stopped by that group id only. On a 2-core machine wrk, nginx and the proxy
share the cores: compare the ratio, not absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import SMALL, free_port, nginx_conf, run_wrk, spawn, wait_ports  # noqa: E402


def proxy_conf(port: int, nginx_port: int, workers: int, sock: Path) -> str:
    return f"""global
    maxconn 4000
    nbthread {workers}
    stats socket {sock} level admin
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server nginx 127.0.0.1:{nginx_port}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    a = ap.parse_args(argv)
    counts = [int(x) for x in a.workers.split(",")]
    work = Path(tempfile.mkdtemp(prefix="hpy-bench-workers-"))
    os.chmod(work, 0o755)
    (work / "www").mkdir()
    (work / "nginx-tmp").mkdir()
    (work / "www" / SMALL).write_bytes(os.urandom(1024))
    nginx_port = free_port()
    (work / "nginx.conf").write_text(nginx_conf(work, nginx_port))
    nginx = spawn("nginx", [a.nginx, "-c", str(work / "nginx.conf"), "-p", str(work), "-e",
                            str(work / "nginx-error.log")], work)
    results: dict[str, dict[str, list]] = {str(n): {"keepalive": [], "close": [], "errors": []} for n in counts}
    try:
        why = wait_ports(nginx, [nginx_port], 10)
        if why:
            sys.exit(f"nginx failed: {why}\n{nginx.stderr_tail()}")
        env_note = os.environ.get("HAPROXY_PY_NO_UVLOOP") and "asyncio" or "uvloop if importable"
        for _r in range(a.rounds):
            for n in counts:
                port = free_port()
                cfg = work / f"proxy-{n}.cfg"
                cfg.write_text(proxy_conf(port, nginx_port, n, work / f"stats-{n}.sock"))
                proc = spawn(f"proxy-{n}", [sys.executable, "-m", "haproxy_py", "-db", "-f", str(cfg)], work,
                             cwd=ROOT)
                try:
                    why = wait_ports(proc, [port], 20)
                    if why:
                        sys.exit(f"haproxy-py ({n} workers) failed: {why}\n{proc.stderr_tail()}")
                    time.sleep(0.5 + 0.2 * n)  # workers forked and serving
                    url = f"http://127.0.0.1:{port}/{SMALL}"
                    ka = run_wrk(url, a.duration, a.conns, close=False, latency=False)
                    cl = run_wrk(url, a.duration, a.conns, close=True, latency=False)
                    results[str(n)]["keepalive"].append(ka.get("rps") or 0.0)
                    results[str(n)]["close"].append(cl.get("rps") or 0.0)
                    results[str(n)]["errors"].append(ka.get("socket_errors", 0) + cl.get("socket_errors", 0)
                                                     + ka.get("non2xx", 0) + cl.get("non2xx", 0))
                finally:
                    proc.stop()
        print(f"haproxy-py workers benchmark ({os.cpu_count()} CPUs, event loop: {env_note}, "
              f"wrk -t1 -c{a.conns} -d{a.duration:.0f}s, {a.rounds} rounds, medians)")
        print(f"{'workers':>8} {'keep-alive req/s':>18} {'close req/s':>14} {'errors':>8}")
        summary = {}
        for n in counts:
            r = results[str(n)]
            ka = statistics.median(r["keepalive"])
            cl = statistics.median(r["close"])
            summary[str(n)] = {"keepalive_rps": ka, "close_rps": cl, "errors": sum(r["errors"]), "rounds": r}
            print(f"{n:>8} {ka:>18.0f} {cl:>14.0f} {sum(r['errors']):>8}")
        out = HERE / "results"
        out.mkdir(exist_ok=True)
        (out / "workers.json").write_text(json.dumps(summary, indent=2))
    finally:
        nginx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
