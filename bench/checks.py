#!/usr/bin/env python3
"""What active health checks cost the proxy's traffic: 1,000 servers ``check inter 1s`` vs none.

    python bench/checks.py              # < 4 minutes (hard deadline --budget 230 s)
    python bench/checks.py --quick      # < 90 s (deadline 85 s)
    python bench/checks.py --proxies haproxy-py --checks none,tcp --rounds 3

nginx (own config in a temp dir, 127.0.0.1, one worker, access log off) serves a 1 KiB file, an
``index.html`` for ``GET /`` and ``stub_status`` (its ``accepts`` counter tells how many checks really
arrived). Each proxy (haproxy-py: ``python -m haproxy_py -db -f CFG``; Debian's HAProxy ``nbthread 1``
for reference) runs three configurations, one process at a time:

* ``none``: frontend -> backend ``app`` (2 servers, both nginx), no checks;
* ``tcp``:  the same plus backend ``checked`` with 1,000 servers ``check inter 1s`` on nginx (TCP checks);
* ``http``: the same with ``option httpchk GET /`` in ``checked``;
* ``servers`` (not run by default): the 1,000 servers without ``check``, to tell what the servers cost
  apart from checking them.

Rounds are interleaved (every target once per round, the order rotated each round); in each, a fresh
proxy process is started, left alone one check interval so the first checks are spread, then:

1. idle window (no traffic): the proxy's CPU (utime+stime of its process group, /proc) as % of a core,
   nginx's CPU, and the checks per second nginx accepted; the window is ``--idle`` seconds in total
   (10 by default), split evenly over the rounds and summed;
   The checks per second are the proxy's own connect() calls in that window (``perf stat`` on the
   ``syscalls:sys_enter_connect`` tracepoint; HAProxy's connect-only checks never reach nginx's
   accept()), or, without perf, nginx's accepts (and the namespace's TCP ActiveOpens counter);
2. ``show stat`` on the proxy's stats socket: how many ``checked`` servers are UP and their check_status
   (the run is flagged when checks did not run at the expected rate or servers are not UP);
3. wrk keep-alive, then wrk ``Connection: close``, ``--duration`` seconds each, ``--latency``:
   req/s, p99 and the proxy's CPU seconds per 100k requests (check work included: that is the cost),
   split into user and system microseconds per request.

Medians over rounds per target, the with/without-checks ratios per proxy (median of the per-round
paired ratios, with their range) and the haproxy-py / HAProxy ratios are printed and written to bench/results/checks-*.json. Every process started here runs in its
own process group and is stopped by that group id. On a 2-core machine wrk, nginx (which also answers
the checks) and the proxy share the cores: read ratios, not absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import (  # noqa: E402
    CLK_TCK,
    SMALL,
    Proc,
    cpu_seconds,
    free_port,
    group_pids,
    log,
    raise_nofile,
    run_wrk,
    spawn,
    wait_ports,
)

#: "servers": the 1,000 servers without ``check`` (what the servers cost apart from checking them)
CHECK_MODES = ("none", "tcp", "http", "servers")
DEFAULT_MODES = ("none", "tcp", "http")
PROXIES = ("haproxy-py", "haproxy")


# --------------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------------


def nginx_conf(work: Path, port: int) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    tmp = work / "nginx-tmp"
    return f"""{user}daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 65536;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 20000; multi_accept on; }}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ application/octet-stream bin; text/html html; }}
    server {{
        listen 127.0.0.1:{port} backlog=16384;
        root {work}/www;
        location = /nginx_status {{ stub_status; }}
    }}
}}
"""


def proxy_conf(port: int, nginx_port: int, sock: Path, checks: str, servers: int, inter: str) -> str:
    lines = [
        "global",
        "    nbthread 1",
        "    maxconn 4000",
        f"    stats socket {sock} level admin",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 5s",
        "    timeout client 30s",
        "    timeout server 30s",
        "",
        "frontend fe",
        f"    bind 127.0.0.1:{port}",
        "    default_backend app",
        "",
        "backend app",
        "    balance roundrobin",
        f"    server web1 127.0.0.1:{nginx_port}",
        f"    server web2 127.0.0.1:{nginx_port}",
    ]
    if checks != "none":
        lines += ["", "backend checked"]
        if checks == "http":
            lines.append("    option httpchk GET /")
        width = len(str(servers))
        check = "" if checks == "servers" else f" check inter {inter}"
        lines += [f"    server c{i:0{width}d} 127.0.0.1:{nginx_port}{check}" for i in range(1, servers + 1)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Probes
# --------------------------------------------------------------------------------------------------


def cpu_split(pgid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of the process group ``pgid``."""
    user = system = 0
    for pid in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        user += int(fields[11])
        system += int(fields[12])
    return user / CLK_TCK, system / CLK_TCK


def nginx_accepts(port: int) -> int | None:
    """nginx's ``accepts`` counter (stub_status); the query itself adds one."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/nginx_status", timeout=3) as r:
            text = r.read().decode()
    except OSError:
        return None
    lines = text.splitlines()
    try:
        return int(lines[2].split()[0])
    except (IndexError, ValueError):
        return None


def tcp_active_opens() -> int | None:
    """TCP connect()s in this network namespace so far (/proc/net/snmp ``Tcp: ActiveOpens``):
    shared with everything else running on the machine, so only an upper bound."""
    try:
        with open("/proc/net/snmp") as fh:
            rows = [ln.split() for ln in fh if ln.startswith("Tcp:")]
        return int(rows[1][rows[0].index("ActiveOpens")])
    except (OSError, IndexError, ValueError):
        return None


def perf_usable(perf: str | None) -> bool:
    """Whether ``perf stat`` can count connect() system calls here (tracepoints, permissions)."""
    if not perf:
        return False
    try:
        r = subprocess.run([perf, "stat", "-x,", "-e", "syscalls:sys_enter_connect", "--", "true"],
                           capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and parse_perf_count(r.stderr) is not None


def parse_perf_count(text: str) -> int | None:
    for line in text.splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[2].startswith("syscalls:sys_enter_connect"):
            if parts[0] == "<not counted>":  # the process never ran in the window: no connect()
                return 0
            try:
                return int(parts[0])
            except ValueError:
                return None
    return None


class ConnectCounter:
    """connect() system calls of some processes over ``seconds`` (``perf stat`` on a tracepoint).

    HAProxy's connect-only checks never reach nginx's accept() (it resets the connection before
    acknowledging the handshake), so nginx's ``accepts`` cannot count them; the proxy's own connect()
    calls can, whatever the proxy. perf runs in its own process group and stops by itself."""

    def __init__(self, perf: str, pids: list[int], seconds: float, work: Path) -> None:
        self.out = work / f"perf-{pids[0]}.txt"
        self.popen = subprocess.Popen(
            [perf, "stat", "-x,", "-o", str(self.out), "-e", "syscalls:sys_enter_connect",
             "-p", ",".join(map(str, pids)), "--", "sleep", f"{seconds:.3f}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

    def result(self) -> int | None:
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=5)
            return None
        try:
            return parse_perf_count(self.out.read_text())
        except OSError:
            return None


def show_stat(sock: Path, timeout: float = 5.0) -> list[dict[str, str]]:
    """``show stat`` over the stats socket, rows as dicts keyed by the CSV header names."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock))
        s.sendall(b"show stat\n")
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    text = b"".join(chunks).decode(errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("# "):
        raise ValueError(f"unexpected show stat output: {text[:200]!r}")
    names = lines[0][2:].split(",")
    return [dict(zip(names, ln.split(","), strict=False)) for ln in lines[1:]]


def checked_states(sock: Path, backend: str = "checked") -> dict[str, Any]:
    """Counts of status and check_status over the servers of ``backend``."""
    try:
        rows = show_stat(sock)
    except (OSError, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    status: dict[str, int] = {}
    check: dict[str, int] = {}
    for row in rows:
        if row.get("pxname") != backend or row.get("svname") in ("FRONTEND", "BACKEND"):
            continue
        st = row.get("status", "?")
        cs = row.get("check_status", "?")
        status[st] = status.get(st, 0) + 1
        check[cs] = check.get(cs, 0) + 1
    return {"status": status, "check_status": check}


# --------------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------------


@dataclass
class Target:
    proxy: str
    checks: str
    servers: int
    expected_rate: float  # checks per second the config asks for (0 without checks)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    failed: str | None = None

    @property
    def name(self) -> str:
        return f"{self.proxy}:{self.checks}"


def measure(t: Target, args: argparse.Namespace, work: Path, nginx: Proc, nginx_port: int,
            idle_s: float) -> dict[str, Any]:
    port = free_port()
    sock = work / f"{t.proxy}-{t.checks}.sock"
    cfg = work / f"{t.proxy}-{t.checks}.cfg"
    cfg.write_text(proxy_conf(port, nginx_port, sock, t.checks, args.servers, args.inter))
    if t.proxy == "haproxy":
        cmd = [args.haproxy, "-db", "-f", str(cfg)]
    else:
        cmd = [*shlex.split(args.candidate), "-db", "-f", str(cfg)]
    res: dict[str, Any] = {}
    t0 = time.monotonic()
    proc = spawn(f"{t.proxy}-{t.checks}", cmd, work, cwd=ROOT)
    try:
        why = wait_ports(proc, [port], 20)
        if why:
            res["error"] = f"failed to start: {why}\n    " + proc.stderr_tail().replace("\n", "\n    ")
            return res
        res["start_s"] = round(time.monotonic() - t0, 2)
        # one check interval (plus a margin) so every server has had its first check, spread
        time.sleep(args.inter_s + 0.5)

        # 1. idle window
        a0 = nginx_accepts(nginx_port)
        o0 = tcp_active_opens()
        counter = ConnectCounter(args.perf, group_pids(proc.pgid), idle_s, work) if args.perf else None
        p0, n0, w0 = cpu_seconds(proc.pgid), cpu_seconds(nginx.pgid), time.monotonic()
        time.sleep(idle_s)
        p1, n1, w1 = cpu_seconds(proc.pgid), cpu_seconds(nginx.pgid), time.monotonic()
        o1 = tcp_active_opens()
        a1 = nginx_accepts(nginx_port)
        res["idle_window_s"] = round(w1 - w0, 3)
        res["idle_cpu_s"] = round(p1 - p0, 3)
        res["idle_nginx_cpu_s"] = round(n1 - n0, 3)
        res["idle_checks"] = (a1 - a0 - 1) if a0 is not None and a1 is not None else None
        if counter is not None:  # the proxy's own connect()s, over perf's window of idle_s
            n = counter.result()
            res["idle_connects"] = round(n * (w1 - w0) / idle_s) if n is not None else None
            res["connects_source"] = "perf"
        else:  # the stub_status query made between o1 and a1 is one connect
            res["idle_connects"] = (o1 - o0 - 1) if o0 is not None and o1 is not None else None
            res["connects_source"] = "netns"

        # 2. are the checks running and the servers up?
        if t.checks != "none":
            res["checked"] = checked_states(sock)

        # 3. traffic through the frontend
        url = f"http://127.0.0.1:{port}/{SMALL}"
        for mode, close in (("keepalive", False), ("close", True)):
            u0, s0 = cpu_split(proc.pgid)
            w = run_wrk(url, args.duration, args.connections, close=close, latency=True)
            u1, s1 = cpu_split(proc.pgid)
            reqs = w.get("requests") or 0
            res[f"{mode}_rps"] = w.get("rps")
            res[f"{mode}_p99_ms"] = w.get("p99_ms")
            res[f"{mode}_cpu_s_per_100k"] = round((u1 - u0 + s1 - s0) / reqs * 100_000, 3) if reqs else None
            # user (Python) and system (kernel) parts, microseconds per request
            res[f"{mode}_user_us"] = round((u1 - u0) / reqs * 1e6, 2) if reqs else None
            res[f"{mode}_sys_us"] = round((s1 - s0) / reqs * 1e6, 2) if reqs else None
            res[f"{mode}_errors"] = w.get("socket_errors", 0) + w.get("non2xx", 0)
            if "error" in w:
                res[f"{mode}_error"] = w["error"]
        if not proc.alive():
            res["error"] = f"died during the run\n    {proc.stderr_tail()}"
    finally:
        proc.stop()
    return res


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------

METRICS = [
    # key, label, higher is better
    ("idle_cpu_pct", "idle CPU (% of a core)", False),
    ("idle_checks_per_s", "checks/s", True),
    ("idle_accepts_per_s", "  nginx accepts/s", True),
    ("idle_connects_per_s", "  connect()s/s (*)", True),
    ("idle_nginx_cpu_pct", "nginx idle CPU (%)", False),
    ("cpu_us_per_check", "proxy CPU us / check", False),
    ("keepalive_rps", "keep-alive req/s", True),
    ("keepalive_p99_ms", "keep-alive p99 (ms)", False),
    ("keepalive_cpu_s_per_100k", "keep-alive CPU s/100k", False),
    ("keepalive_user_us", "  user us/req", False),
    ("keepalive_sys_us", "  system us/req", False),
    ("close_rps", "close req/s", True),
    ("close_p99_ms", "close p99 (ms)", False),
    ("close_cpu_s_per_100k", "close CPU s/100k", False),
    ("close_user_us", "  user us/req", False),
    ("close_sys_us", "  system us/req", False),
]
#: ratios printed with checks / without
RATIO_KEYS = ["keepalive_rps", "keepalive_p99_ms", "keepalive_cpu_s_per_100k",
              "close_rps", "close_p99_ms", "close_cpu_s_per_100k"]


def summarise(t: Target, baseline: Target | None) -> dict[str, Any]:
    """Medians of the per-round figures; idle figures are totals over every round's window."""
    ok = [r for r in t.rounds if "error" not in r]
    out: dict[str, Any] = {"rounds_ok": len(ok)}
    window = sum(r.get("idle_window_s") or 0 for r in ok)
    if window:
        out["idle_window_s"] = round(window, 2)
        out["idle_cpu_pct"] = round(100 * sum(r["idle_cpu_s"] for r in ok) / window, 2)
        out["idle_nginx_cpu_pct"] = round(100 * sum(r["idle_nginx_cpu_s"] for r in ok) / window, 2)
        checks = [r["idle_checks"] for r in ok if r.get("idle_checks") is not None]
        out["idle_accepts_per_s"] = round(sum(checks) / window, 1) if len(checks) == len(ok) else None
        conns = [r["idle_connects"] for r in ok if r.get("idle_connects") is not None]
        out["idle_connects_per_s"] = round(sum(conns) / window, 1) if len(conns) == len(ok) else None
        # checks per second: the proxy's connect()s (perf), else what nginx accepted, else the
        # namespace's connect()s (an upper bound: other activity on the machine counts)
        acc, con = out["idle_accepts_per_s"], out["idle_connects_per_s"]
        src = {r.get("connects_source") for r in ok}
        if not t.expected_rate:
            out["idle_checks_per_s"], out["check_rate_source"] = 0.0, None
        elif src == {"perf"} and con is not None:
            out["idle_checks_per_s"], out["check_rate_source"] = con, "proxy connect() calls"
        elif acc is not None and acc >= 0.5 * t.expected_rate:
            out["idle_checks_per_s"], out["check_rate_source"] = acc, "nginx accepts"
        else:
            out["idle_checks_per_s"], out["check_rate_source"] = con, "connect() count (netns)"
    for key in ("keepalive_rps", "keepalive_p99_ms", "keepalive_cpu_s_per_100k", "keepalive_user_us",
                "keepalive_sys_us", "close_rps", "close_p99_ms", "close_cpu_s_per_100k", "close_user_us",
                "close_sys_us"):
        vals = [r[key] for r in ok if r.get(key) is not None]
        out[key] = round(statistics.median(vals), 3) if vals else None
    out["errors"] = sum((r.get("keepalive_errors") or 0) + (r.get("close_errors") or 0) for r in ok)
    # CPU per check: the idle CPU above the no-check baseline, divided by the checks nginx saw
    if (t.expected_rate and baseline is not None and out.get("idle_checks_per_s")
            and baseline.rounds and window):
        base = summarise(baseline, None)
        if base.get("idle_cpu_pct") is not None:
            extra = (out["idle_cpu_pct"] - base["idle_cpu_pct"]) / 100  # core-seconds per second
            out["cpu_us_per_check"] = round(extra / out["idle_checks_per_s"] * 1e6, 1)
    # validity: checks at (roughly) the configured rate, every checked server UP
    if t.expected_rate:
        problems = []
        want = t.expected_rate
        rate = out.get("idle_checks_per_s")
        if want and (rate is None or rate < 0.8 * want):
            problems.append(f"checks/s {rate} below 80% of the expected {want:.0f}")
        for r in ok:
            st = r.get("checked", {})
            if "error" in st:
                problems.append(f"show stat: {st['error']}")
            elif st.get("status") != {"UP": t.servers}:
                problems.append(f"round {r.get('round')}: checked servers {st.get('status')} "
                                f"check_status {st.get('check_status')}")
        if problems:
            out["problems"] = problems
    return out


def paired_ratios(t: Target, base: Target, key: str) -> list[float]:
    """``key`` of ``t`` over ``key`` of ``base``, round by round (rounds both completed)."""
    by_round = {r.get("round"): r for r in base.rounds if "error" not in r}
    out = []
    for r in t.rounds:
        b = by_round.get(r.get("round"))
        if "error" in r or b is None:
            continue
        x, y = r.get(key), b.get(key)
        if x is not None and y:
            out.append(x / y)
    return out


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return str(v)


def report(targets: list[Target]) -> tuple[str, dict[str, Any]]:
    base = {t.proxy: t for t in targets if t.checks == "none"}
    sums = {t.name: summarise(t, base.get(t.proxy)) for t in targets}
    names = [t.name for t in targets]
    width = max(15, *(len(n) + 2 for n in names))
    lines = []
    head = f"{'metric':26}" + "".join(f"{n:>{width}}" for n in names)
    lines += [head, "-" * len(head)]
    for key, label, _ in METRICS:
        lines.append(f"{label:26}" + "".join(f"{fmt(sums[n].get(key)):>{width}}" for n in names))
    lines.append(f"{'wrk errors':26}" + "".join(f"{fmt(sums[n].get('errors')):>{width}}" for n in names))

    # with / without checks, per proxy: the median of per-round paired ratios (the two ran minutes
    # apart at most, so a slow change of the machine's load cancels), with the rounds' range
    ratios: dict[str, dict[str, Any]] = {}
    cols = [t for t in targets if t.checks != "none" and t.proxy in base]
    if cols:
        rw = max(width, 20)
        lines.append("")
        head = f"{'with / without checks':26}" + "".join(f"{t.name:>{rw}}" for t in cols)
        lines += [head, "-" * len(head)]
        row = f"{'idle CPU added (% core)':26}"
        for t in cols:
            a, b = sums[t.name].get("idle_cpu_pct"), sums[base[t.proxy].name].get("idle_cpu_pct")
            d = round(a - b, 2) if a is not None and b is not None else None
            ratios.setdefault(t.name, {})["idle_cpu_pct_added"] = d
            row += f"{fmt(d):>{rw}}"
        lines.append(row)
        for key in RATIO_KEYS:
            row = f"{key:26}"
            for t in cols:
                pr = paired_ratios(t, base[t.proxy], key)
                med = round(statistics.median(pr), 3) if pr else None
                ratios.setdefault(t.name, {})[key] = med
                ratios[t.name][key + "_rounds"] = [round(x, 3) for x in pr]
                cell = "-" if med is None else f"{med:.2f}"
                if len(pr) > 1:
                    cell += f" [{min(pr):.2f}-{max(pr):.2f}]"
                row += f"{cell:>{rw}}"
            lines.append(row)

    # haproxy-py / HAProxy per check mode
    vs: dict[str, dict[str, float | None]] = {}
    modes = [m for m in CHECK_MODES if f"haproxy-py:{m}" in sums and f"haproxy:{m}" in sums]
    if modes:
        lines.append("")
        head = f"{'haproxy-py / HAProxy':26}" + "".join(f"{m:>{width}}" for m in modes)
        lines += [head, "-" * len(head)]
        for key, label, _ in METRICS:
            if key.startswith("idle_") and key != "idle_cpu_pct":
                continue
            row = f"{label:26}"
            for m in modes:
                a, b = sums[f"haproxy-py:{m}"].get(key), sums[f"haproxy:{m}"].get(key)
                r = round(a / b, 3) if a is not None and b else None
                vs.setdefault(m, {})[key] = r
                row += f"{fmt(r):>{width}}"
            lines.append(row)

    for t in targets:
        if t.failed:
            lines.append(f"{t.name}: {t.failed}")
        for r in t.rounds:
            if "error" in r:
                lines.append(f"{t.name} round {r.get('round')}: {r['error']}")
        if sums[t.name].get("check_rate_source") == "connect() count (netns)":
            lines.append(f"{t.name}: checks/s counted as connect()s in the network namespace (the checks "
                         f"never reach nginx's accept()); other activity on the machine adds to it")
        for p in sums[t.name].get("problems", []):
            lines.append(f"{t.name}: INVALID: {p}")
    return "\n".join(lines), {"summary": sums, "with_vs_without": ratios, "py_vs_haproxy": vs}


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def parse_inter(text: str) -> float:
    """'1s', '500ms', '2' (ms, HAProxy's default unit) -> seconds."""
    for suffix, mult in (("ms", 0.001), ("us", 1e-6), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * mult
    return float(text) / 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short run (< 90 s)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    ap.add_argument("--duration", type=float, help="seconds per wrk run (default 3, quick 2)")
    ap.add_argument("--idle", type=float, help="idle seconds per target, over all rounds (default 10, quick 5)")
    ap.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    ap.add_argument("--servers", type=int, default=1000, help="checked servers (1000)")
    ap.add_argument("--inter", default="1s", help="check interval (1s)")
    ap.add_argument("--proxies", default=",".join(PROXIES))
    ap.add_argument("--checks", default=",".join(DEFAULT_MODES),
                    help="none,tcp,http (also: servers = the servers without 'check')")
    ap.add_argument("--candidate", default=f"{shlex.quote(sys.executable)} -m haproxy_py",
                    help="command for haproxy-py; '-db -f CFG' is appended (run from the repository root)")
    ap.add_argument("--haproxy", default=shutil.which("haproxy") or "/usr/sbin/haproxy")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--perf", default=shutil.which("perf") or "",
                    help="perf, to count the proxy's connect() calls ('' = use the namespace's TCP counter)")
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--budget", type=float, help="hard deadline in seconds (default 230, quick 85)")
    args = ap.parse_args(argv)
    q = args.quick
    args.rounds = args.rounds or (1 if q else 3)
    args.duration = args.duration or (2.0 if q else 3.0)
    args.idle = args.idle or (5.0 if q else 10.0)
    args.budget = args.budget or (85.0 if q else 230.0)
    args.inter_s = parse_inter(args.inter)
    proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    modes = [m.strip() for m in args.checks.split(",") if m.strip()]
    for p in proxies:
        if p not in PROXIES:
            sys.exit(f"bench: unknown proxy {p!r} (known: {', '.join(PROXIES)})")
    for m in modes:
        if m not in CHECK_MODES:
            sys.exit(f"bench: unknown check mode {m!r} (known: {', '.join(CHECK_MODES)})")
    for tool in ("wrk", args.nginx):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} not found")
    idle_s = args.idle / args.rounds
    if args.perf and not perf_usable(args.perf):
        log(f"{args.perf} cannot count connect() calls here: checks/s from nginx and the namespace's counter")
        args.perf = ""
    # what one target costs in a round (start, settle, idle, two wrk runs, stop), for the deadline
    per_target = 1.0 + args.inter_s + 0.5 + idle_s + 2 * (max(1, round(args.duration)) + 0.5) + 0.5

    started = time.monotonic()
    nofile = raise_nofile(args.servers * 2 + 8192)
    work = Path(tempfile.mkdtemp(prefix="haproxy-py-bench-checks-"))
    os.chmod(work, 0o755)
    (work / "www").mkdir()
    (work / "nginx-tmp").mkdir()
    (work / "www" / SMALL).write_bytes(os.urandom(1024))
    (work / "www" / "index.html").write_text("<html><body>ok</body></html>\n")
    nginx_port = free_port()
    (work / "nginx.conf").write_text(nginx_conf(work, nginx_port))
    targets = [Target(p, m, args.servers, args.servers / args.inter_s if m in ("tcp", "http") else 0.0)
               for p in proxies for m in modes]
    notes: list[str] = []
    nginx = spawn("nginx", [args.nginx, "-c", str(work / "nginx.conf"), "-p", str(work), "-e",
                            str(work / "nginx-error.log")], work)
    try:
        why = wait_ports(nginx, [nginx_port], 10)
        if why:
            sys.exit(f"bench: nginx failed to start: {why}\n{nginx.stderr_tail()}")
        log(f"targets: {', '.join(t.name for t in targets)}; {args.servers} checked servers, inter {args.inter}; "
            f"nginx on {nginx_port}; RLIMIT_NOFILE {nofile}; ~{per_target:.0f}s per target and round")
        stop = False
        for rnd in range(args.rounds):
            order = targets[rnd % len(targets):] + targets[:rnd % len(targets)]
            for t in order:
                if t.failed:
                    continue
                left = args.budget - (time.monotonic() - started)
                if left < per_target:
                    msg = f"deadline: stopped in round {rnd + 1} before {t.name} ({left:.0f}s left)"
                    log(msg)
                    notes.append(msg)
                    stop = True
                    break
                log(f"round {rnd + 1}/{args.rounds}: {t.name}")
                r = measure(t, args, work, nginx, nginx_port, idle_s)
                r["round"] = rnd + 1
                t.rounds.append(r)
                if "error" in r and rnd == 0 and not t.rounds[:-1]:
                    t.failed = r["error"]
                log("  " + json.dumps({k: v for k, v in r.items() if not k.endswith("error")}))
            if stop:
                break
        table, summary = report(targets)
        result = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "elapsed_s": round(time.monotonic() - started, 1),
            "settings": {"rounds": args.rounds, "duration_s": args.duration, "idle_s": args.idle,
                         "connections": args.connections, "servers": args.servers, "inter": args.inter,
                         "candidate": args.candidate, "haproxy": args.haproxy, "quick": q,
                         "connect_counter": "perf" if args.perf else "netns",
                         "cpus": os.cpu_count(), "python": sys.version},
            **summary,
            "notes": notes,
            "targets": {t.name: {"failed": t.failed, "rounds": t.rounds} for t in targets},
        }
        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        out_file = out_dir / f"checks-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out_file.write_text(json.dumps(result, indent=1))
        print(f"health-check cost: {args.servers} servers 'check inter {args.inter}' vs none "
              f"(wrk -t1 -c{args.connections} -d{max(1, round(args.duration))}s, {args.rounds} round(s), "
              f"idle {args.idle:g}s per target, {os.cpu_count()} CPUs; medians)")
        print(table)
        print("(*) " + ("the proxy's own connect() calls (perf stat)" if args.perf else
                        "TCP connects in the whole network namespace (no perf): an upper bound"))
        for n in notes:
            print(f"note: {n}")
        print(f"\nelapsed {result['elapsed_s']}s; results: {out_file}")
        invalid = any(s.get("problems") for s in summary["summary"].values())
        return 1 if invalid or any(t.failed for t in targets) else 0
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
