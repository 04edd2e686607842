#!/usr/bin/env python3
"""TLS benchmark: haproxy-py vs Debian's HAProxy 2.6, the same configuration, interleaved rounds.

    python bench/tls.py            # ~1 minute
    python bench/tls.py --quick    # ~20 s

Both proxies (one process each) terminate TLS on two listeners (an ECDSA P-256 and an RSA 2048
certificate made here with ``openssl``) and answer with ``http-request return`` (no backend: the
TLS layer is what is measured). Per round and target, with wrk over https: full handshakes per
second (``Connection: close``: one handshake per request, wrk resumes no session) for each key type,
and keep-alive requests per second on one TLS connection per wrk connection. Medians and the
haproxy-py / HAProxy ratios are printed and written as JSON to bench/results/. Processes are stopped
by PID (their own process group); only 127.0.0.1 is used.
"""

import os
import sys

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.append(os.path.dirname(os.path.abspath(__file__)))
import haproxy_py._pyversion  # noqa: F401  (first: exits on Python < 3.10)

# isort: split
import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from run import ROOT, free_port, log, run_wrk, spawn, wait_ports  # bench/run.py's helpers


def make_certs(work: Path) -> None:
    def ossl(*a: str) -> None:
        subprocess.run(["openssl", *a], cwd=work, check=True, capture_output=True, timeout=60)

    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ec.key",
         "-out", "ec.crt", "-days", "2", "-subj", "/CN=bench.test")
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.crt", "-days", "2",
         "-subj", "/CN=bench.test")
    for n in ("ec", "rsa"):
        (work / f"{n}.pem").write_text((work / f"{n}.crt").read_text() + (work / f"{n}.key").read_text())


def conf(work: Path, ec_port: int, rsa_port: int) -> str:
    return f"""global
    maxconn 4000
defaults
    mode http
    timeout client 10s
    timeout server 10s
    timeout connect 5s
frontend tls_ec
    bind 127.0.0.1:{ec_port} ssl crt {work}/ec.pem alpn http/1.1
    http-request return status 200 content-type text/plain string ok
frontend tls_rsa
    bind 127.0.0.1:{rsa_port} ssl crt {work}/rsa.pem alpn http/1.1
    http-request return status 200 content-type text/plain string ok
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--duration", type=float, default=None, help="seconds per wrk run")
    ap.add_argument("--out", help="write the JSON result to this file (default bench/results/tls-*.json)")
    args = ap.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    dur = args.duration or (2.0 if args.quick else 4.0)
    for tool in ("wrk", "openssl", "haproxy"):
        if shutil.which(tool) is None:
            log(f"{tool} not found")
            return 2
    work = Path(tempfile.mkdtemp(prefix="bench-tls-"))
    make_certs(work)
    cmds = {"haproxy": ["haproxy", "-db", "-f"], "haproxy-py": [sys.executable, "-m", "haproxy_py", "-db", "-f"]}
    results: dict[str, dict[str, list[float]]] = {t: {} for t in cmds}
    for rnd in range(rounds):
        for target, cmd in cmds.items():
            ec_port, rsa_port = free_port(), free_port()
            cfg = work / f"{target}.cfg"
            cfg.write_text(conf(work, ec_port, rsa_port))
            proc = spawn(target, [*cmd, str(cfg)], work, cwd=ROOT)
            try:
                why = wait_ports(proc, [ec_port, rsa_port], 20)
                if why:
                    log(f"{target}: {why}\n{proc.stderr_tail()}")
                    return 1
                cases = {
                    "handshakes_ecdsa": (f"https://127.0.0.1:{ec_port}/", True, 16),
                    "handshakes_rsa2048": (f"https://127.0.0.1:{rsa_port}/", True, 16),
                    "keepalive_rps": (f"https://127.0.0.1:{ec_port}/", False, 32),
                }
                for name, (url, close, conns) in cases.items():
                    r = run_wrk(url, dur, conns, close, False)
                    if r.get("rps") is None or r.get("socket_errors"):
                        log(f"{target} {name}: {r}")
                    if r.get("rps") is not None:
                        results[target].setdefault(name, []).append(r["rps"])
                    log(f"round {rnd + 1} {target} {name}: {r.get('rps')}")
            finally:
                proc.stop()
    med: dict[str, dict[str, float | None]] = {
        t: {k: statistics.median(v) for k, v in res.items()} for t, res in results.items()}
    names = ["handshakes_ecdsa", "handshakes_rsa2048", "keepalive_rps"]
    lines = [f"{'':22}{'haproxy':>12}{'haproxy-py':>12}{'ratio':>8}"]
    out: dict[str, Any] = {"rounds": rounds, "duration": dur, "medians": med, "ratios": {}}
    for n in names:
        a, b = med["haproxy"].get(n), med["haproxy-py"].get(n)
        ratio = (b / a) if a and b else None
        out["ratios"][n] = ratio
        lines.append(f"{n:22}{a or 0:12.0f}{b or 0:12.0f}{ratio or 0:8.2f}")
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2))
    else:
        rdir = ROOT / "bench" / "results"
        rdir.mkdir(exist_ok=True)
        (rdir / f"tls-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(out, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
