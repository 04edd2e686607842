"""Time ``load_config`` on a generated 10,000-server / 1,000-backend configuration (goal: < 2 s).

Usage: python bench/config_parse.py [--backends N] [--servers-per-backend M] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from haproxy_py.config import load_config  # noqa: E402


def generate(backends: int, per_backend: int) -> str:
    out = ["global", "    log 127.0.0.1:514 local2", "    maxconn 100000",
           "    stats socket /tmp/haproxy-py-bench.sock level admin",
           "defaults", "    mode http", "    log global", "    option httplog", "    option dontlognull",
           "    option redispatch", "    retries 3", "    timeout connect 5s", "    timeout client 30s",
           "    timeout server 30s", "    timeout check 2s", "    default-server inter 2s fall 3 rise 2", "",
           "frontend main", "    bind *:8080"]
    for b in range(backends):
        out.append(f"    acl host_{b} hdr(host) -i app{b}.example.com")
        out.append(f"    use_backend be_{b} if host_{b}")
    out.append("    default_backend be_0")
    port = 10000
    for b in range(backends):
        out += ["", f"backend be_{b}", "    balance roundrobin", "    option httpchk GET /health",
                "    cookie SRV insert indirect nocache"]
        for s in range(per_backend):
            octet = (port // 250) % 250
            out.append(f"    server s{s} 10.{b % 250}.{octet}.{port % 250 + 1}:{port % 50000 + 1024} "
                       f"check weight {s % 200 + 1} maxconn 100 cookie c{s}")
            port += 1
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", type=int, default=1000)
    ap.add_argument("--servers-per-backend", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    text = generate(a.backends, a.servers_per_backend)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "big.cfg")
        with open(path, "w") as fh:
            fh.write(text)
        best = float("inf")
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            cfg, diags = load_config([path])
            best = min(best, time.perf_counter() - t0)
        if diags.has_errors:
            print("\n".join(diags.format(0)[:10]))
            return 1
    n_srv = sum(len(p.servers) for p in cfg.proxies)
    print(f"load_config: {len(text.splitlines())} lines, {len(cfg.proxies)} proxies, {n_srv} servers: "
          f"best of {a.repeat} = {best:.3f} s (goal < 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
