"""Selection cost per load-balancing algorithm at 10, 1,000 and 50,000 servers.

Usage: python bench/lb_select.py [--sizes 10,1000,50000] [--ops 20000]

For each algorithm and backend size it prints: the time to build the backend, the cost of one
request as the engine runs it (select + take + release, in microseconds), and the cost of one
server state change (a server going to MAINT then back, in milliseconds). Bounded: every run does
a fixed number of operations.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from haproxy_py.config.model import Address, Balance, HashType, Proxy, ServerConf  # noqa: E402
from haproxy_py.lb.base import LbRequest  # noqa: E402
from haproxy_py.runtime.backend import Backend  # noqa: E402

ALGOS: list[tuple[str, Balance, HashType]] = [
    ("roundrobin", Balance("roundrobin"), HashType()),
    ("static-rr", Balance("static-rr"), HashType()),
    ("leastconn", Balance("leastconn"), HashType()),
    ("first", Balance("first"), HashType()),
    ("random(2)", Balance("random"), HashType()),
    ("uri map", Balance("uri"), HashType()),
    ("uri consistent", Balance("uri"), HashType("consistent", "sdbm", True)),
    ("source map", Balance("source"), HashType()),
    ("hdr consistent crc32", Balance("hdr", header="X-Key"), HashType("consistent", "crc32")),
    ("url_param map djb2", Balance("url_param", param="u"), HashType("map-based", "djb2")),
]


def make(n: int, bal: Balance, ht: HashType, rnd: random.Random) -> Backend:
    servers = tuple(
        ServerConf(name=f"s{i}", address=Address("ipv4", "127.0.0.1", 1024 + i % 60000, 1024 + i % 60000),
                   weight=rnd.randint(1, 4), puid=i + 1)
        for i in range(n)
    )
    return Backend(Proxy(name="be", kind="backend", mode="http", servers=servers, balance=bal, hash_type=ht),
                   0.0)


def requests(k: int, rnd: random.Random) -> list[LbRequest]:
    out = []
    for i in range(k):
        key = f"{rnd.getrandbits(40):x}"
        hdrs = {"x-key": key}
        out.append(LbRequest(src=f"10.{i % 250}.{(i >> 8) % 250}.{rnd.randint(1, 254)}",
                             uri=f"/p/{key}?u={key}", get_header=hdrs.get))
    return out


def run(sizes: list[int], ops: int) -> None:
    rnd = random.Random(1)
    reqs = requests(min(ops, 5000), rnd)
    print(f"{'algorithm':<22}{'servers':>9}{'build ms':>11}{'us/request':>12}{'state chg ms':>14}")
    for name, bal, ht in ALGOS:
        for n in sizes:
            t0 = time.perf_counter()
            be = make(n, bal, ht, rnd)
            build = (time.perf_counter() - t0) * 1000
            select, take, release = be.select, be.take, be.release
            nreq = len(reqs)
            t0 = time.perf_counter()
            for i in range(ops):
                d = select(reqs[i % nreq], 0.0)
                s = d.server
                take(s, 0.0)
                release(s, 0.0)
            per = (time.perf_counter() - t0) / ops * 1e6
            srv = be.servers[n // 2]
            t0 = time.perf_counter()
            srv.admin.add("FMAINT")
            be.server_state_changed(srv, 1.0)
            srv.admin.discard("FMAINT")
            be.server_state_changed(srv, 2.0)
            chg = (time.perf_counter() - t0) * 1000 / 2
            print(f"{name:<22}{n:>9}{build:>11.1f}{per:>12.2f}{chg:>14.3f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,1000,50000")
    ap.add_argument("--ops", type=int, default=20000)
    a = ap.parse_args()
    run([int(x) for x in a.sizes.split(",")], a.ops)


if __name__ == "__main__":
    main()
