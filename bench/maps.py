"""Map and ACL-file cost: load time and per-lookup cost for str/beg/ip/reg at 1k and 100k entries,
and the per-request cost of a rule with three converters and a map lookup.

Usage: python bench/maps.py [--sizes 1000,100000] [--lookups 20000]

Load: a generated file read through the real path (the ``map_<m>`` converter's argument
preparation: file read, reference, index build; an ACL ``-f`` compiled by acl/condition.py).
Lookup: the compiled converter (or ACL matcher) applied to generated samples, half hits and half
misses, in microseconds per lookup. ``reg`` scans its regexes in order, as 2.6 does (``idx=list``):
its cost grows with the file, so it is measured on at most 1,000 lookups.
Rule: ``http-request set-header X-Be %[req.hdr(host),lower,field(1,:),map_str(FILE,default)]``
parsed once (actions/http.py) and run on a parsed request (a RuleTxn) with a 100k-line map.
Bounded: fixed numbers of operations, files in a temporary directory removed at the end.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from haproxy_py.acl.condition import compile_acl  # noqa: E402
from haproxy_py.config.model import Acl, Location  # noqa: E402
from haproxy_py.samples import Txn  # noqa: E402
from haproxy_py.samples.patref import REFS  # noqa: E402


def keys_for(method: str, n: int, rnd: random.Random) -> list[str]:
    if method == "ip":
        out = set()
        while len(out) < n:
            plen = rnd.choice((8, 16, 24, 24, 24, 32))
            a = rnd.getrandbits(32) & (((1 << 32) - 1) ^ ((1 << (32 - plen)) - 1))
            out.add(f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/{plen}")
        return sorted(out)
    if method == "beg":
        return [f"/{'abcdefgh'[i % 8]}{i:x}/" + "x" * (i % 5) for i in range(n)]
    if method == "reg":
        return [f"^/r{i}/[a-z]+$" for i in range(n)]
    return [f"host{i}.example.com" for i in range(n)]


def samples_for(method: str, keys: list[str], count: int, rnd: random.Random) -> list:
    import ipaddress

    out = []
    for i in range(count):
        k = rnd.choice(keys)
        hit = i % 2 == 0
        if method == "ip":
            net = ipaddress.ip_network(k)
            ip = int(net.network_address) + (rnd.randrange(net.num_addresses) if hit else 0)
            if not hit:
                ip ^= 0xFFFFFFFF
            out.append(ipaddress.ip_address(ip))
        elif method == "beg":
            out.append((k + "tail/page.html").encode() if hit else b"/zz/none/" + k.encode())
        elif method == "reg":
            out.append((k[1:-9] + "/abc").encode() if hit else b"/nope/abc")
        else:
            out.append(k.encode() if hit else b"miss-" + k.encode())
    return out


def bench_map(d: Path, method: str, n: int, lookups: int, rnd: random.Random) -> tuple[float, float]:
    from haproxy_py.samples.core import CONVERTERS

    keys = keys_for(method, n, rnd)
    f = d / f"{method}-{n}.map"
    f.write_text("".join(f"{k} value{i}\n" for i, k in enumerate(keys)))
    REFS.reset()
    conv = CONVERTERS.get(f"map_{method}")
    assert conv is not None and conv.prepare is not None
    t0 = time.perf_counter()
    args = conv.prepare((str(f), "default"))
    load = time.perf_counter() - t0
    smps = samples_for(method, keys, lookups if method != "reg" else min(lookups, 1000), rnd)
    fn = conv.fn
    txn = Txn()
    fn(smps[0], args, txn)
    t0 = time.perf_counter()
    for s in smps:
        fn(s, args, txn)
    per = (time.perf_counter() - t0) / len(smps)
    if method != "reg":  # a runtime change ('add map') then a lookup, as the next request does it
        ref = args[0]
        adds = [keys_for(method, 200, rnd)[i] + ("" if method == "ip" else "-new") for i in range(200)]
        t0 = time.perf_counter()
        for k in adds:
            ref.add(k, "added")
            fn(smps[0], args, txn)
        CHANGE[(method, n)] = (time.perf_counter() - t0) / len(adds)
    return load, per


CHANGE: dict[tuple[str, int], float] = {}


def bench_acl(d: Path, method: str, n: int, lookups: int, rnd: random.Random) -> tuple[float, float]:
    keys = keys_for(method, n, rnd)
    f = d / f"{method}-{n}.acl"
    f.write_text("".join(f"{k}\n" for k in keys))
    REFS.reset()
    fetch = "src" if method == "ip" else "path"
    acl = Acl(name="a", fetch=fetch, match=method, pattern_files=(str(f),), loc=Location("bench", 1))
    t0 = time.perf_counter()
    compile_acl(acl)
    load = time.perf_counter() - t0
    # the matcher itself, on raw samples as the evaluator hands them (text for ip)
    ref = REFS.refs[0]
    ix = ref.indexes[0]
    m = ref.index(ix)
    smps = samples_for(method, keys, lookups if method != "reg" else min(lookups, 1000), rnd)
    if method == "ip":
        smps = [str(s).encode() for s in smps]
    t0 = time.perf_counter()
    for s in smps:
        m([s])
    per = (time.perf_counter() - t0) / len(smps)
    return load, per


def bench_rule(d: Path, n: int, count: int) -> float:
    from haproxy_py.actions.base import ParseCtx, RuleTxn
    from haproxy_py.actions.http import p_add_header
    from haproxy_py.http.parse import parse_request

    f = d / "hosts.map"
    f.write_text("".join(f"host{i}.example.com be{i % 50}\n" for i in range(n)))
    REFS.reset()
    act = p_add_header(["X-Be", f"%[req.hdr(host),lower,field(1,:),map_str({f},default)]"],
                       ParseCtx("http-request", "set-header"))
    host = n * 4242 // 100000  # host4242 of the default 100,000 lines (any size: a key the map has)
    raw = (b"GET /index.html HTTP/1.1\r\nHost: HOST%d.example.com:8080\r\nUser-Agent: curl/8.0\r\n"
           b"Accept: */*\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n" % host)
    parsed = parse_request(raw)
    assert parsed is not None
    head = parsed[0]
    txns = []
    for _ in range(count):
        h = type(head).__new__(type(head))
        for cls in type(head).__mro__:  # the slots of the head's class and of its bases
            for k in getattr(cls, "__slots__", ()):
                if hasattr(head, k):
                    setattr(h, k, getattr(head, k))
        h.headers = list(head.headers)
        txns.append(RuleTxn(h, "10.0.0.1", 40000, "127.0.0.1", 80))
    act.run(txns[0])
    want = b"be%d" % (host % 50)
    assert (b"X-Be", want) in txns[0].req.headers or ("X-Be", want) in txns[0].req.headers, txns[0].req.headers
    t0 = time.perf_counter()
    for t in txns[1:]:
        act.run(t)
    return (time.perf_counter() - t0) / (count - 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,100000")
    ap.add_argument("--lookups", type=int, default=20000)
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    rnd = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="hpy-bench-maps-") as td:
        d = Path(td)
        print(f"{'what':<14}{'entries':>9}{'load ms':>10}{'lookup us':>11}")
        for kind, fn in (("map", bench_map), ("acl -f", bench_acl)):
            for method in ("str", "beg", "ip", "reg"):
                for n in sizes:
                    load, per = fn(d, method, n, a.lookups, rnd)
                    print(f"{kind + ' ' + method:<14}{n:>9}{load * 1e3:>10.1f}{per * 1e6:>11.2f}")
        for (method, n), c in CHANGE.items():
            print(f"add map + lookup, {method} at {n}: {c * 1e6:.1f} us")
        per = bench_rule(d, max(sizes), min(a.lookups, 20000))
        print(f"rule set-header %[req.hdr(host),lower,field(1,:),map_str(FILE,default)] with a {max(sizes)}-line "
              f"map: {per * 1e6:.2f} us per request")


if __name__ == "__main__":
    main()
