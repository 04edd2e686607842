#!/usr/bin/env python3
"""Benchmark: haproxy-py vs Debian's HAProxy 2.6 vs direct-to-nginx, in one run, interleaved rounds.

    python bench/run.py                 # ~4 minutes (rounds bounded by --budget, 540 s)
    python bench/run.py --quick         # about a minute
    python bench/run.py --simple        # the simple configuration instead of the realistic one
    python bench/run.py --tls --record  # add bench/tls.py's rows; append the table to bench/RESULTS.md
    python bench/run.py --candidate "python haproxy.pyz"

nginx (own config in a temp dir, 127.0.0.1, worker_processes 1, access log off) serves a 1 KiB and a
64 MiB file; under /v/ every response carries its own X-Request-Id. HAProxy (``nbthread 1``) and the
candidate run the same generated configuration (``proxy_conf``). The default is the realistic one of
issue 20: httplog to a UDP syslog receiver this harness starts, a stats socket, two ACLs, two
``http-request`` rules (one ``set-header X-Src %[src]``), ``use_backend`` through a map lookup, an HTTP
health check on the server; ``--simple`` is one frontend and one backend. Both have ``mode tcp``
listeners to nginx, one with ``option splice-auto``.

Per round and target: session rate (wrk, one request per connection), keep-alive requests/s and p99
latency (wrk --latency) with the CPU seconds the target used (utime+stime from /proc/PID/stat over its
process group) per 100k requests, the same with varied requests (own query string, cookie and user
agent each, see VARIED_LUA) and varied responses, p99 latency at the same moderate request rate on both
(10 connections with a random think time, see THINK_LUA: at saturation a closed loop's latency is
just connections / throughput), data rate of 64 MiB downloads (curl) through the HTTP proxy, the tcp
listener and the splice-auto one. After the rounds: RSS per idle session at each idle level (default
1k/10k/50k) on a fresh process, for TCP sessions (a client and a server connection each) and for HTTP
keep-alive sessions (one request made, then idle); levels above what RLIMIT_NOFILE allows (a per
process limit, whose hard limit is raised only with CAP_SYS_RESOURCE) are measured at the largest
level that fits, with a note. ``--baseline DIR`` measures a second build (another checkout) in the
same interleaved rounds, for before / after figures. Medians and the haproxy-py / HAProxy ratios are
printed and written as JSON to bench/results/. Every process started here is stopped by PID (its own
process group). Only 127.0.0.1 is used.
"""

# No ``from __future__ import annotations``: Python 3.6 and older cannot compile it, and this file
# must reach the version check below on them (annotations are evaluated only on 3.10+, after it).
import os
import sys

# the repository root, for the version check (bench/ is sys.path[0] when this runs as a script)
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import haproxy_py._pyversion  # noqa: F401  (first: exits on Python < 3.10)

# isort: split
import argparse
import json
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
SMALL, LARGE = "1k.bin", "64m.bin"
LARGE_BYTES = 64 * 1024 * 1024


_PORTS_GIVEN: set[int] = set()


def free_port() -> int:
    """A free TCP port of 127.0.0.1, never one given before (the kernel may offer a port again once the
    probing socket is closed)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# /proc helpers
# --------------------------------------------------------------------------------------------------


def group_pids(pgid: int) -> list[int]:
    """PIDs whose process group is ``pgid`` (the group of a child we started with a new session)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def cpu_seconds(pgid: int) -> float:
    total = 0
    for pid in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def rss_kib(pgid: int) -> int:
    total = 0
    for pid in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE_KIB
        except OSError:
            continue
    return total


def established_to(ports: list[int]) -> int:
    """Established IPv4 TCP connections whose remote port is one of ``ports`` (proxy -> nginx)."""
    want = {f"{port:04X}" for port in ports}
    n = 0
    with open("/proc/net/tcp") as fh:
        next(fh)
        for line in fh:
            parts = line.split()
            if parts[3] == "01" and parts[2][-4:] in want:
                n += 1
    return n


def raise_nofile(want: int) -> int:
    """Raise RLIMIT_NOFILE (inherited by everything started here) to ``want`` if allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))  # raising hard needs root
    except (ValueError, OSError):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --------------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    stderr_path: Path

    @property
    def pgid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stderr_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM then SIGKILL to the process group this harness created (pgid == our child's pid)."""
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self.popen.poll() is not None and not group_pids(self.pgid):
                return
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                return
            try:
                self.popen.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            deadline = time.monotonic() + wait
            while group_pids(self.pgid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not group_pids(self.pgid):
                return


def spawn(name: str, cmd: list[str], workdir: Path, cwd: Path | None = None) -> Proc:
    err = workdir / f"{name}.stderr"
    fh = open(err, "wb")
    try:
        popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                 cwd=cwd, start_new_session=True)
    finally:
        fh.close()
    return Proc(name, popen, err)


def wait_ports(proc: Proc, ports: list[int], timeout: float) -> str | None:
    """None when every port accepts; else why not."""
    deadline = time.monotonic() + timeout
    pending = list(ports)
    while pending:
        if not proc.alive():
            return f"exited with status {proc.popen.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", pending[0]), timeout=0.5):
                pending.pop(0)
                continue
        except OSError:
            pass
        if time.monotonic() > deadline:
            return f"port {pending[0]} not accepting after {timeout:.0f}s"
        time.sleep(0.1)
    return None


# --------------------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------------------


def nginx_conf(work: Path, port: int, extra_ports: list[int] | None = None) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    tmp = work / "nginx-tmp"
    extra = "".join(f"        listen 127.0.0.1:{p} backlog=16384;\n" for p in extra_ports or [])
    return f"""{user}daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 300000;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 140000; multi_accept on; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_header_timeout 300s;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ application/octet-stream bin; }}
    server {{
        listen 127.0.0.1:{port} backlog=16384;
{extra}        root {work}/www;
        # /v/: every response differs (a request id header), like real traffic
        location /v/ {{ alias {work}/www/; add_header X-Request-Id $request_id; }}
    }}
}}
"""


@dataclass
class ConfPorts:
    """What one target's generated configuration binds and connects to."""
    http: int
    tcp: int
    tcp_splice: int
    nginx: int
    idle_binds: list[int] = field(default_factory=list)
    idle_servers: list[int] = field(default_factory=list)
    syslog: int = 0
    stats_socket: str = ""
    map_file: str = ""


#: the map of the realistic configuration: path prefix -> backend (``use_backend %[path,map_beg(...)]``)
MAP_LINES = "/v/ be_http\n/1k be_http\n/64m be_http\n/static/ be_http\n"


def proxy_conf(p: ConfPorts, maxconn: int, simple: bool = False, lax_limits: bool = False) -> str:
    """The configuration both proxies run. ``simple``: one frontend and one backend, nothing else (the
    seed's benchmark). Default, the issue's realistic one: httplog to a UDP syslog receiver, a stats
    socket, two ACLs, two ``http-request`` rules (``deny`` on both ACLs, ``set-header X-Src %[src]``),
    ``use_backend`` through a map lookup, an HTTP health check on the server. ``lax_limits``: ``no
    strict-limits`` (both proxies then start, with an alert, when maxconn needs more descriptors than
    the hard limit allows, instead of refusing to)."""
    limit = "    no strict-limits\n" if lax_limits else ""
    idle = ""
    if p.idle_binds:
        idle = "\nlisten li_idle\n    mode tcp\n    balance roundrobin\n"
        idle += "".join(f"    bind 127.0.0.1:{b}\n" for b in p.idle_binds)
        idle += "".join(f"    server n{i} 127.0.0.1:{s}\n" for i, s in enumerate(p.idle_servers))
    if simple:
        return f"""global
    nbthread 1
    maxconn {maxconn}
{limit}
defaults
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    maxconn {maxconn}

frontend fe_http
    mode http
    bind 127.0.0.1:{p.http}
    default_backend be_http

backend be_http
    mode http
    server nginx 127.0.0.1:{p.nginx}

listen li_tcp
    mode tcp
    bind 127.0.0.1:{p.tcp}
    server nginx 127.0.0.1:{p.nginx}

listen li_tcp_splice
    mode tcp
    option splice-auto
    bind 127.0.0.1:{p.tcp_splice}
    server nginx 127.0.0.1:{p.nginx}
{idle}"""
    return f"""global
    nbthread 1
    maxconn {maxconn}
{limit}    log 127.0.0.1:{p.syslog} len 2048 local0 info
    stats socket {p.stats_socket} mode 600 level admin

defaults
    log global
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    maxconn {maxconn}

frontend fe_http
    mode http
    option httplog
    bind 127.0.0.1:{p.http}
    acl is_admin path_beg /admin
    acl has_sid req.cook(sid) -m found
    http-request deny if has_sid is_admin
    http-request set-header X-Src %[src]
    use_backend %[path,map_beg({p.map_file},be_http)]
    default_backend be_http

backend be_http
    mode http
    option httpchk GET /1k.bin
    server nginx 127.0.0.1:{p.nginx} check inter 2s

listen li_tcp
    mode tcp
    option tcplog
    bind 127.0.0.1:{p.tcp}
    server nginx 127.0.0.1:{p.nginx}

listen li_tcp_splice
    mode tcp
    option tcplog
    option splice-auto
    bind 127.0.0.1:{p.tcp_splice}
    server nginx 127.0.0.1:{p.nginx}
{idle}"""


#: the UDP syslog receiver of the realistic configuration: one socket per port given, counts datagrams
#: and bytes per port, writes them as JSON to argv[1] every second and on SIGTERM
SYSLOG_SINK = r"""
import json, selectors, signal, socket, sys, time
out = sys.argv[1]
sel = selectors.DefaultSelector()
counts = {}
for port in sys.argv[2:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("127.0.0.1", int(port)))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, port)
    counts[port] = [0, 0]
def dump(*_):
    with open(out + ".tmp", "w") as fh:
        json.dump(counts, fh)
    import os
    os.replace(out + ".tmp", out)
def stop(*_):
    dump()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
last = time.monotonic()
while True:
    for key, _ in sel.select(1.0):
        c = counts[key.data]
        for _ in range(256):
            try:
                d = key.fileobj.recv(65536)
            except BlockingIOError:
                break
            c[0] += 1
            c[1] += len(d)
    if time.monotonic() - last >= 1.0:
        dump()
        last = time.monotonic()
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------------
# Load generators
# --------------------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(out: str) -> dict[str, Any]:
    res: dict[str, Any] = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    res["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    res["p99_ms"] = float(m.group(1)) * UNITS[m.group(2)] if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return res


#: wrk script for "varied" requests: every request has its own query string, cookie and user agent
#: (so nothing per-request can be served from a cache keyed by the head), as real traffic does
VARIED_LUA = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", wrk.path .. "?r=" .. counter,
    {["User-Agent"] = "bench/" .. (counter % 1013), ["Cookie"] = "sid=" .. counter})
end
"""

#: wrk script for latency at a fixed offered load: each connection waits a random think time (uniform
#: 0-40 ms, 20 ms on average) before each request, so RATE_CONNS connections offer about
#: RATE_CONNS * 50 requests/s to both proxies alike, well under what either serves (their p99 then
#: shows service time and stalls, not the queue of a saturated closed loop, which is 1/throughput)
THINK_LUA = """
math.randomseed(os.time())
function delay()
  return math.random(0, 40)
end
"""
RATE_CONNS = 10


def run_wrk(url: str, duration: float, conns: int, close: bool, latency: bool,
            script: str | None = None) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(duration))}s", "--timeout", "5s"]
    if close:
        cmd += ["-H", "Connection: close"]
    if script is not None:
        cmd += ["-s", script]
    if latency:
        cmd.append("--latency")
    cmd.append(url)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    except subprocess.TimeoutExpired:
        return {"rps": None, "error": "wrk timed out"}
    res = parse_wrk(r.stdout)
    if r.returncode != 0 or res["rps"] is None:
        res["error"] = (r.stderr or r.stdout)[-300:]
    return res


def curl_rate(url: str) -> float | None:
    """MiB/s of one download, None if it failed or came short."""
    cmd = ["curl", "-s", "-o", "/dev/null", "--max-time", "60", "-w", "%{http_code} %{size_download} %{speed_download}",
           url]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=70)
    except subprocess.TimeoutExpired:
        return None
    try:
        code, size, speed = r.stdout.split()
    except ValueError:
        return None
    if code != "200" or int(float(size)) != LARGE_BYTES:
        return None
    return float(speed) / (1024 * 1024)


def idle_sessions(pgid: int, ports: list[int], nginx_ports: list[int], levels: list[int],
                  budget: float) -> dict[str, Any]:
    """RSS growth of the target per idle TCP session (client + server connection) at each level.

    The clients spread over the listener's ``ports`` and the proxy's server connections over
    ``nginx_ports`` (round robin), so that neither side needs more than 20,000 ephemeral ports
    towards one address and port (the kernel's range here is about 28,000)."""
    socks: list[socket.socket] = []
    out: dict[str, Any] = {}
    deadline = time.monotonic() + budget
    try:
        time.sleep(0.3)
        base_rss = rss_kib(pgid)
        base_est = established_to(nginx_ports)
        out["base_rss_kib"] = base_rss
        for level in levels:
            while len(socks) < level:
                s = socket.socket()
                s.settimeout(5)
                s.connect(("127.0.0.1", ports[len(socks) % len(ports)]))
                socks.append(s)
                if time.monotonic() > deadline:
                    raise TimeoutError("idle test out of time")
            # wait until the proxy has opened its server-side connection for each client
            t_end = min(deadline, time.monotonic() + 30)
            seen = 0
            while time.monotonic() < t_end:
                seen = established_to(nginx_ports) - base_est
                if seen >= level:
                    break
                time.sleep(0.2)
            time.sleep(0.5)
            rss = rss_kib(pgid)
            out[str(level)] = {"rss_kib": rss, "kib_per_conn": round((rss - base_rss) / level, 2),
                               "server_conns": seen}
            if seen < level:
                out[str(level)]["note"] = f"only {seen} server connections established"
    except (OSError, TimeoutError) as exc:
        out["error"] = f"{type(exc).__name__}: {exc} (after {len(socks)} connections)"
    finally:
        for s in socks:
            s.close()
    return out


IDLE_REQUEST = f"GET /{SMALL} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench-idle\r\n\r\n".encode()


def _one_response(s: socket.socket) -> None:
    """Read one response with a Content-Length body from ``s`` (blocking, the socket's timeout)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("connection closed before the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    if not head.startswith(b"HTTP/1.1 200") or m is None:
        raise OSError(f"unexpected response: {head[:80]!r}")
    need = int(m.group(1)) - len(body)
    while need > 0:
        chunk = s.recv(min(need, 65536))
        if not chunk:
            raise OSError("connection closed in the response body")
        need -= len(chunk)


def idle_http_sessions(pgid: int, port: int, nginx_port: int, levels: list[int], budget: float) -> dict[str, Any]:
    """RSS growth of the target per idle HTTP keep-alive session at each level: each client connection
    makes one request (``GET /1k.bin``, the response read whole) and stays open, idle, as a browser's
    between two requests. The proxy then holds one descriptor per session; the server connections the
    requests used stay in its idle pool or are closed, as its reuse rules decide (``server_conns``:
    how many were still established when RSS was read)."""
    socks: list[socket.socket] = []
    out: dict[str, Any] = {}
    deadline = time.monotonic() + budget
    try:
        time.sleep(0.3)
        base_rss = rss_kib(pgid)
        base_est = established_to([nginx_port])
        out["base_rss_kib"] = base_rss
        for level in levels:
            while len(socks) < level:
                s = socket.socket()
                s.settimeout(5)
                s.connect(("127.0.0.1", port))
                socks.append(s)
                s.sendall(IDLE_REQUEST)
                _one_response(s)
                if time.monotonic() > deadline:
                    raise TimeoutError("idle test out of time")
            time.sleep(1.0)
            rss = rss_kib(pgid)
            out[str(level)] = {"rss_kib": rss, "kib_per_conn": round((rss - base_rss) / level, 2),
                               "server_conns": established_to([nginx_port]) - base_est}
    except (OSError, TimeoutError) as exc:
        out["error"] = f"{type(exc).__name__}: {exc} (after {len(socks)} connections)"
    finally:
        for s in socks:
            s.close()
    return out


# --------------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    ports: ConfPorts
    proc: Proc | None = None
    failed: str | None = None
    rounds: list[dict[str, Any]] = field(default_factory=list)
    idle: dict[str, Any] = field(default_factory=dict)
    idle_http: dict[str, Any] = field(default_factory=dict)
    #: where the target's command runs (the repository root; --baseline DIR: that checkout)
    cwd: Path = ROOT


def measure_round(t: Target, args: argparse.Namespace) -> dict[str, Any]:
    assert t.proc is not None
    pgid = t.proc.pgid
    small_http = f"http://127.0.0.1:{t.ports.http}/{SMALL}"
    res: dict[str, Any] = {}
    sess = run_wrk(small_http, args.duration, args.connections, close=True, latency=False)
    res["session_rate"] = sess.get("rps")
    res["session_errors"] = sess.get("socket_errors", 0) + sess.get("non2xx", 0)
    if "error" in sess:
        res["session_error"] = sess["error"]
    c0 = cpu_seconds(pgid)
    ka = run_wrk(small_http, args.duration, args.connections, close=False, latency=True)
    c1 = cpu_seconds(pgid)
    res["keepalive_rps"] = ka.get("rps")
    res["keepalive_p99_ms"] = ka.get("p99_ms")
    res["keepalive_errors"] = ka.get("socket_errors", 0) + ka.get("non2xx", 0)
    if "error" in ka:
        res["keepalive_error"] = ka["error"]
    reqs = ka.get("requests") or 0
    res["cpu_s_per_100k"] = round((c1 - c0) / reqs * 100_000, 3) if reqs else None
    # the same keep-alive run with requests and responses that all differ
    script = Path(tempfile.gettempdir()) / f"hpy-bench-varied-{os.getpid()}.lua"
    script.write_text(VARIED_LUA)
    small_varied = f"http://127.0.0.1:{t.ports.http}/v/{SMALL}"
    c0 = cpu_seconds(pgid)
    kv = run_wrk(small_varied, args.duration, args.connections, close=False, latency=True, script=str(script))
    c1 = cpu_seconds(pgid)
    res["varied_rps"] = kv.get("rps")
    res["varied_p99_ms"] = kv.get("p99_ms")
    res["keepalive_errors"] += kv.get("socket_errors", 0) + kv.get("non2xx", 0)
    vreqs = kv.get("requests") or 0
    res["varied_cpu_s_per_100k"] = round((c1 - c0) / vreqs * 100_000, 3) if vreqs else None
    # latency at the same moderate request rate on both (random think time, see THINK_LUA)
    think = Path(tempfile.gettempdir()) / f"hpy-bench-think-{os.getpid()}.lua"
    think.write_text(THINK_LUA)
    kr = run_wrk(small_http, args.duration, RATE_CONNS, close=False, latency=True, script=str(think))
    res["rate_rps"] = kr.get("rps")
    res["rate_p99_ms"] = kr.get("p99_ms")
    res["keepalive_errors"] += kr.get("socket_errors", 0) + kr.get("non2xx", 0)
    for mode, port in (("http", t.ports.http), ("tcp", t.ports.tcp), ("tcp_splice", t.ports.tcp_splice)):
        rates = [r for r in (curl_rate(f"http://127.0.0.1:{port}/{LARGE}") for _ in range(args.transfers)) if r]
        res[f"data_{mode}_mibps"] = round(statistics.median(rates), 1) if rates else None
    return res


METRICS = [
    ("session_rate", "session rate (conn/s)", True),
    ("keepalive_rps", "keep-alive req/s", True),
    ("keepalive_p99_ms", "keep-alive p99 (ms)", False),
    ("cpu_s_per_100k", "CPU s / 100k req", False),
    ("varied_rps", "keep-alive req/s, varied reqs", True),
    ("varied_p99_ms", "  p99 (ms), varied", False),
    ("varied_cpu_s_per_100k", "  CPU s / 100k, varied", False),
    ("rate_p99_ms", f"p99 (ms) @ ~{RATE_CONNS * 50} req/s", False),
    ("data_http_mibps", "data rate http (MiB/s)", True),
    ("data_tcp_mibps", "data rate tcp (MiB/s)", True),
    ("data_tcp_splice_mibps", "  tcp, option splice-auto", True),
]


def medians(t: Target) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, _, _ in METRICS:
        vals = [r[key] for r in t.rounds if r.get(key) is not None]
        out[key] = round(statistics.median(vals), 3) if vals else None
    return out


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return str(v)


def report(targets: list[Target], idle_levels: list[int], tls: dict[str, Any] | None = None,
           http_levels: list[int] | None = None) -> tuple[str, dict[str, Any]]:
    meds = {t.name: medians(t) for t in targets}
    names = [t.name for t in targets]
    ratios: dict[str, float | None] = {}
    lines = []
    # --baseline: the same ratio for the baseline build, in a column of its own (before / after)
    base = "baseline" in names
    head = f"{'metric':28}" + "".join(f"{n:>14}" for n in names) + f"{'py/haproxy':>12}"
    head += f"{'base/haproxy':>14}" if base else ""
    lines.append(head)
    lines.append("-" * len(head))
    base_ratios: dict[str, float | None] = {}

    def base_col(key: str, vals: dict[str, Any]) -> str:
        if not base:
            return ""
        hp, b = vals.get("haproxy"), vals.get("baseline")
        base_ratios[key] = r = round(b / hp, 3) if hp and b is not None else None
        return f"{fmt(r) if r is not None else '-':>14}"

    for key, label, _higher_better in METRICS:
        row = f"{label:28}" + "".join(f"{fmt(meds[n][key]):>14}" for n in names)
        hp, py = meds.get("haproxy", {}).get(key), meds.get("haproxy-py", {}).get(key)
        ratio = round(py / hp, 3) if hp and py is not None else None
        ratios[key] = ratio
        lines.append(row + f"{fmt(ratio) if ratio is not None else '-':>12}"
                     + base_col(key, {n: meds[n][key] for n in names}))
    # haproxy-py's plain tcp listener against HAProxy's splice-auto one (the second tcp goal)
    hp_splice = meds.get("haproxy", {}).get("data_tcp_splice_mibps")
    py_tcp = meds.get("haproxy-py", {}).get("data_tcp_mibps")
    ratio = round(py_tcp / hp_splice, 3) if hp_splice and py_tcp is not None else None
    ratios["data_tcp_vs_splice_auto"] = ratio
    lines.append(f"{'  tcp vs HAProxy splice-auto':28}" + " " * 14 * len(names)
                 + f"{fmt(ratio) if ratio is not None else '-':>12}"
                 + base_col("data_tcp_vs_splice_auto", {"haproxy": hp_splice, "baseline": meds.get(
                     "baseline", {}).get("data_tcp_mibps")}))
    idle_rows = [("idle", lv, f"idle_kib_per_conn_{lv}", f"idle KiB/conn tcp @{lv}") for lv in idle_levels]
    idle_rows += [("idle_http", lv, f"idle_http_kib_per_conn_{lv}", f"idle KiB/conn http @{lv}")
                  for lv in http_levels or []]
    for attr, level, key, label in idle_rows:
        vals = {t.name: getattr(t, attr).get(str(level), {}).get("kib_per_conn") for t in targets}
        row = f"{label:28}" + "".join(f"{fmt(vals[n]):>14}" for n in names)
        hp, py = vals.get("haproxy"), vals.get("haproxy-py")
        ratio = round(py / hp, 3) if hp and py is not None else None
        ratios[key] = ratio
        lines.append(row + f"{fmt(ratio) if ratio is not None else '-':>12}" + base_col(key, vals))
    if tls:
        for key in ("handshakes_ecdsa", "handshakes_rsa2048", "keepalive_rps"):
            vals = {n: (tls.get("medians") or {}).get(n, {}).get(key) for n in names}
            ratio = (tls.get("ratios") or {}).get(key)
            ratios[f"tls_{key}"] = round(ratio, 3) if ratio else None
            lines.append(f"{'TLS ' + key:28}" + "".join(f"{fmt(vals[n]):>14}" for n in names)
                         + f"{fmt(ratios[f'tls_{key}']) if ratio else '-':>12}")
    for t in targets:
        if t.failed:
            lines.append(f"{t.name}: {t.failed}")
        if t.idle.get("error"):
            lines.append(f"{t.name} idle test: {t.idle['error']}")
        if t.idle_http.get("error"):
            lines.append(f"{t.name} idle http test: {t.idle_http['error']}")
        errs = sum((r.get("session_errors") or 0) + (r.get("keepalive_errors") or 0) for r in t.rounds)
        if errs:
            lines.append(f"{t.name}: {errs} wrk socket errors / non-2xx responses (see JSON)")
    summary: dict[str, Any] = {"medians": meds, "ratios": ratios}
    if base:
        summary["baseline_ratios"] = base_ratios
    return "\n".join(lines), summary


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def git_head() -> str:
    try:
        r = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True,
                           text=True, timeout=10)
        return r.stdout.strip()[:100]
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def run_tls(quick: bool, budget: float) -> dict[str, Any]:
    """bench/tls.py in a subprocess (its own processes, stopped by it); its JSON result."""
    out = Path(tempfile.gettempdir()) / f"hpy-bench-tls-{os.getpid()}.json"
    cmd = [sys.executable, str(ROOT / "bench" / "tls.py"), "--out", str(out)] + (["--quick"] if quick else [])
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=budget, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": "bench/tls.py timed out"}
    try:
        res: dict[str, Any] = json.loads(out.read_text())
        out.unlink()
    except (OSError, ValueError):
        return {"error": f"bench/tls.py failed (rc {r.returncode}): {r.stderr[-300:]}"}
    return res


def record(path: Path, result: dict[str, Any], table: str) -> None:
    """Append one dated entry (commit, machine load, settings, the table) to bench/RESULTS.md."""
    st = result["settings"]
    entry = (f"\n## {result['when']} UTC - {st['config']} config{' (quick)' if st['quick'] else ''}\n\n"
             f"commit `{result['commit']}`; load average {result['load_before']} before, "
             f"{result['load_after']} after; {st['rounds']} rounds x {st['duration_s']} s, "
             f"{st['connections']} connections; elapsed {result['elapsed_s']} s\n\n```\n{table}\n```\n")
    with open(path, "a") as fh:
        fh.write(entry)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short run (about a minute)")
    ap.add_argument("--simple", action="store_true",
                    help="the simple configuration (one frontend, one backend) instead of the realistic one")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 2)")
    ap.add_argument("--duration", type=float, help="seconds per wrk run (default 8, quick 3)")
    ap.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    ap.add_argument("--transfers", type=int, help="64 MiB downloads per mode per round (default 3, quick 1)")
    ap.add_argument("--idle", help="idle-session levels (default 1000,10000,50000; quick 1000; 0 = skip)")
    ap.add_argument("--tls", action="store_true", help="also run bench/tls.py and add its rows")
    ap.add_argument("--record", action="store_true", help="append the table to bench/RESULTS.md")
    ap.add_argument("--targets", default="direct,haproxy,haproxy-py")
    ap.add_argument("--candidate", default=f"{shlex.quote(sys.executable)} -m haproxy_py",
                    help="command for haproxy-py; '-db -f CFG' is appended (run from the repository root)")
    ap.add_argument("--baseline", metavar="DIR|CMD",
                    help="a second haproxy-py measured in the same rounds (target 'baseline'), its ratios in a "
                         "column of their own: a directory (another checkout, e.g. `git worktree add --detach "
                         "/tmp/base main`: the --candidate command run from it) or a command")
    ap.add_argument("--haproxy", default=shutil.which("haproxy") or "/usr/sbin/haproxy")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--budget", type=float, help="stop starting new rounds after this many seconds")
    args = ap.parse_args(argv)
    q = args.quick
    args.rounds = args.rounds or (2 if q else 3)
    args.duration = args.duration or (3.0 if q else 8.0)
    args.transfers = args.transfers or (1 if q else 3)
    idle_levels = sorted({int(x) for x in (args.idle or ("1000" if q else "1000,10000,50000")).split(",")
                          if int(x) > 0})
    args.budget = args.budget or (100.0 if q else 540.0)
    wanted = [x.strip() for x in args.targets.split(",") if x.strip()]
    if args.baseline and "baseline" not in wanted:
        wanted.append("baseline")
    for tool in ("wrk", "curl"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} not found (apt-get install {tool})")

    started = time.monotonic()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    top = max(idle_levels, default=0)
    # the bench holds one fd per idle client; a proxy two per session; nginx one
    nofile = raise_nofile(top * 2 + 20_000)
    # RLIMIT_NOFILE is per process, and its hard limit can be raised only with CAP_SYS_RESOURCE
    # (this project's machines: 20,000, without it). An idle TCP session holds 2 descriptors in a
    # proxy (client + server side), an idle HTTP keep-alive session 1 (plus the server connections
    # its pool keeps: HAProxy keeps idle ones up to a quarter of its descriptors). The levels above
    # what fits are measured at the largest level that fits instead, with a note (after the start).
    tcp_cap = (nofile - 300) // 2
    http_cap = (nofile - 300) * 2 // 3
    tcp_levels = sorted({min(lv, tcp_cap) for lv in idle_levels})
    http_levels = sorted({min(lv, http_cap) for lv in idle_levels})
    # 20,000 sessions per listener port and per server port at most (ephemeral ports: see idle_sessions)
    n_idle_ports = max(1, -(-max(tcp_levels, default=0) // 20_000))
    work = Path(tempfile.mkdtemp(prefix="haproxy-py-bench-"))
    os.chmod(work, 0o755)
    (work / "www").mkdir()
    (work / "nginx-tmp").mkdir()
    (work / "www" / SMALL).write_bytes(os.urandom(1024))
    with open(work / "www" / LARGE, "wb") as fh:
        chunk = os.urandom(1 << 20)
        for _ in range(LARGE_BYTES >> 20):
            fh.write(chunk)
    (work / "paths.map").write_text(MAP_LINES)

    nginx_port = free_port()
    proxies = [n for n in wanted if n != "direct"]
    idle_servers = {n: [free_port() for _ in range(n_idle_ports)] if idle_levels else [] for n in proxies}
    (work / "nginx.conf").write_text(nginx_conf(work, nginx_port, [p for v in idle_servers.values() for p in v]))
    procs: list[Proc] = []
    targets: list[Target] = []
    result: dict[str, Any] = {}
    result_notes: list[str] = []
    syslog_ports = {n: free_udp_port() for n in proxies}
    syslog_out = work / "syslog-counts.json"
    try:
        nginx = spawn("nginx", [args.nginx, "-c", str(work / "nginx.conf"), "-p", str(work), "-e",
                                str(work / "nginx-error.log")], work)
        procs.append(nginx)
        why = wait_ports(nginx, [nginx_port], 10)
        if why:
            sys.exit(f"bench: nginx failed to start: {why}\n{nginx.stderr_tail()}")
        if not args.simple:
            sink = spawn("syslog", [sys.executable, "-c", SYSLOG_SINK, str(syslog_out),
                                    *map(str, syslog_ports.values())], work)
            procs.append(sink)
        for kind, cap, levels in (("tcp", tcp_cap, tcp_levels), ("http", http_cap, http_levels)):
            over = [lv for lv in idle_levels if lv > cap]
            if levels and over:
                fds = "2 descriptors (client and server side)" if kind == "tcp" else "1 descriptor"
                note = (f"idle {kind} levels {over} measured at {levels[-1]}: an idle {kind} session holds "
                        f"{fds} in the proxy, RLIMIT_NOFILE is {nofile} per process (the hard limit; raising "
                        f"it needs CAP_SYS_RESOURCE)")
                log(note)
                result_notes.append(note)
        # HAProxy asks for 2 descriptors per maxconn plus maxconn/4 pipes (2.5 per maxconn) and refuses
        # to start when it cannot raise its limit that far; with 'no strict-limits' it starts (with an
        # alert) and accepts what the limit allows, which the levels above stay under
        maxconn = max(1000, max(tcp_levels + http_levels, default=0) + 500)
        lax_limits = maxconn * 5 // 2 + 100 > nofile
        for name in wanted:
            if name == "direct":
                targets.append(Target("direct", ConfPorts(nginx_port, nginx_port, nginx_port, nginx_port),
                                      proc=nginx))
                continue
            ports = ConfPorts(free_port(), free_port(), free_port(), nginx_port,
                              idle_binds=[free_port() for _ in idle_servers.get(name, [])],
                              idle_servers=idle_servers.get(name, []), syslog=syslog_ports.get(name, 0),
                              stats_socket=str(work / f"{name}.sock"), map_file=str(work / "paths.map"))
            t = Target(name, ports)
            cfg = work / f"{name}.cfg"
            cfg.write_text(proxy_conf(ports, maxconn, simple=args.simple, lax_limits=lax_limits))
            if name == "haproxy":
                cmd = [args.haproxy, "-db", "-f", str(cfg)]
            elif name == "haproxy-py":
                cmd = [*shlex.split(args.candidate), "-db", "-f", str(cfg)]
            elif name == "baseline" and args.baseline:
                if os.path.isdir(args.baseline):
                    t.cwd = Path(args.baseline).resolve()
                    cmd = [*shlex.split(args.candidate), "-db", "-f", str(cfg)]
                else:
                    cmd = [*shlex.split(args.baseline), "-db", "-f", str(cfg)]
            else:
                sys.exit(f"bench: unknown target {name!r}")
            try:
                t.proc = spawn(name, cmd, work, cwd=t.cwd)
            except OSError as exc:
                t.failed = f"candidate failed to start: {exc}"
            else:
                procs.append(t.proc)
                why = wait_ports(t.proc, [ports.http, ports.tcp, ports.tcp_splice], 15)
                if why:
                    t.failed = f"{'candidate' if name == 'haproxy-py' else name} failed to start: {why}"
                    tail = t.proc.stderr_tail()
                    if tail:
                        t.failed += "\n    " + tail.replace("\n", "\n    ")
                    t.proc.stop()
            if t.failed:
                log(t.failed)
            targets.append(t)
        live = [t for t in targets if not t.failed]
        log(f"targets: {', '.join(t.name for t in live)}; {'simple' if args.simple else 'realistic'} config; "
            f"nginx on {nginx_port}; RLIMIT_NOFILE {nofile}")

        for rnd in range(args.rounds):
            if rnd and time.monotonic() - started > args.budget:
                log(f"time budget reached, stopping after {rnd} rounds")
                break
            # rotate the order each round so no target always runs first
            order = live[rnd % len(live):] + live[:rnd % len(live)] if live else []
            for t in order:
                if t.proc is None or not t.proc.alive():
                    if not t.failed:
                        t.failed = f"{t.name} died during the run\n    {t.proc.stderr_tail() if t.proc else ''}"
                        log(t.failed)
                    continue
                log(f"round {rnd + 1}/{args.rounds}: {t.name}")
                r = measure_round(t, args)
                r["round"] = rnd + 1
                t.rounds.append(r)
                log(f"  {json.dumps({k: v for k, v in r.items() if not k.endswith('error')})}")

        syslog_counts: dict[str, Any] = {}
        if not args.simple:
            time.sleep(1.2)
            try:
                raw = json.loads(syslog_out.read_text())
                syslog_counts = {n: raw.get(str(p), [0, 0])[0] for n, p in syslog_ports.items()}
            except (OSError, ValueError):
                pass
            log(f"syslog datagrams received: {syslog_counts}")

        for t in live:
            if t.name == "direct" or not idle_levels or t.failed or t.proc is None or not t.proc.alive():
                continue
            # a fresh process, so memory freed after the load rounds does not hide the growth
            t.proc.stop()
            t.proc = spawn(t.name + "-idle", t.proc.popen.args, work, cwd=t.cwd)  # type: ignore[arg-type]
            procs.append(t.proc)
            why = wait_ports(t.proc, [t.ports.http, t.ports.tcp, *t.ports.idle_binds], 15)
            if why:
                t.idle = {"error": f"restart for the idle test failed: {why}"}
                continue
            log(f"idle tcp sessions: {t.name} at {tcp_levels}")
            t.idle = idle_sessions(t.proc.pgid, t.ports.idle_binds, t.ports.idle_servers, tcp_levels,
                                   budget=30 + top / 500)
            t.proc.stop()
            if not http_levels:
                continue
            # idle HTTP keep-alive sessions, again on a fresh process
            t.proc = spawn(t.name + "-idle-http", t.proc.popen.args, work, cwd=t.cwd)  # type: ignore[arg-type]
            procs.append(t.proc)
            why = wait_ports(t.proc, [t.ports.http], 15)
            if why:
                t.idle_http = {"error": f"restart for the idle http test failed: {why}"}
                continue
            log(f"idle http sessions: {t.name} at {http_levels}")
            t.idle_http = idle_http_sessions(t.proc.pgid, t.ports.http, t.ports.nginx, http_levels,
                                             budget=30 + top / 200)
            t.proc.stop()

        tls: dict[str, Any] | None = None
        if args.tls:
            log("bench/tls.py")
            tls = run_tls(q, budget=300)
            if tls.get("error"):
                result_notes.append(tls["error"])

        table, summary = report(targets, tcp_levels, tls, http_levels)
        result = {
            "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "commit": git_head(),
            "load_before": load_before,
            "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "elapsed_s": round(time.monotonic() - started, 1),
            "settings": {"config": "simple" if args.simple else "realistic", "rounds": args.rounds,
                         "duration_s": args.duration, "connections": args.connections,
                         "transfers": args.transfers, "idle_levels": tcp_levels, "idle_http_levels": http_levels,
                         "maxconn": maxconn, "no_strict_limits": lax_limits, "nofile": nofile, "candidate": args.candidate,
                         "baseline": args.baseline,
                         "haproxy": args.haproxy, "quick": q, "cpus": os.cpu_count(), "python": sys.version},
            **summary,
            "syslog_datagrams": syslog_counts,
            "tls": tls,
            "notes": result_notes,
            "targets": {t.name: {"failed": t.failed, "rounds": t.rounds, "idle": t.idle, "idle_http": t.idle_http}
                        for t in targets},
        }
        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        out_file = out_dir / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out_file.write_text(json.dumps(result, indent=1))
        print(table)
        for note in result_notes:
            print(f"note: {note}")
        if syslog_counts:
            print(f"syslog datagrams received: {syslog_counts}")
        print(f"\nelapsed {result['elapsed_s']}s; load {load_before} -> {result['load_after']}; "
              f"results: {out_file}")
        if args.record:
            record(ROOT / "bench" / "RESULTS.md", result, table)
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
