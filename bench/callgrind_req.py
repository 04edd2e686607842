#!/usr/bin/env python3
"""Instructions per keep-alive request of haproxy-py on bench/run.py's realistic configuration.

    python bench/callgrind_req.py                      # varied requests (own query, cookie, agent), 2000
    python bench/callgrind_req.py --identical -n 4000  # the same request again and again

Timings are noisy on a shared machine; instruction counts are not: this runs the candidate
(``python -m haproxy_py`` from the repository root) under ``valgrind --tool=callgrind`` with
instrumentation off, sends 200 warm-up requests over 10 keep-alive connections, switches
instrumentation on (``callgrind_control -i on``), sends N more, dumps, and prints the instructions
(Ir) the proxy executed per request. nginx (bench/run.py's config, /v/ responses carry their own
X-Request-Id) is the server; the syslog target is a UDP socket of this process. Everything binds
127.0.0.1 and every process started here is stopped by PID. Needs valgrind and nginx.
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as B  # noqa: E402  (bench/run.py: its nginx and proxy configurations)

ROOT = Path(__file__).resolve().parent.parent
CONNS = 10


def _wait_port(port: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"callgrind_req: nothing listens on {port}")


def _request(i: int, port: int, varied: bool) -> bytes:
    if varied:
        return (f"GET /v/1k.bin?r={i} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: bench/{i % 1013}\r\n"
                f"Cookie: sid={i}\r\n\r\n").encode()
    return f"GET /1k.bin HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def drive(port: int, n: int, varied: bool) -> None:
    """``n`` requests over CONNS keep-alive connections, each sent once the previous answer came."""
    sel = selectors.DefaultSelector()
    conns = []
    sent = done = 0
    for _ in range(CONNS):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, [b""])
        conns.append(s)
    for s in conns:
        if sent < n:
            s.send(_request(sent, port, varied))
            sent += 1
    while done < n:
        events = sel.select(60)
        if not events:
            sys.exit("callgrind_req: no answer for 60 s")
        for key, _ in events:
            s, st = key.fileobj, key.data
            assert isinstance(s, socket.socket)
            d = s.recv(65536)
            if not d:
                sys.exit("callgrind_req: the proxy closed a connection")
            st[0] += d
            while True:
                buf = st[0]
                h = buf.find(b"\r\n\r\n")
                if h < 0:
                    break
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", buf[:h])
                if m is None or not buf.startswith(b"HTTP/1.1 200"):
                    sys.exit(f"callgrind_req: unexpected answer {buf[:200]!r}")
                end = h + 4 + int(m.group(1))
                if len(buf) < end:
                    break
                st[0] = buf[end:]
                done += 1
                if sent < n:
                    s.send(_request(sent, port, varied))
                    sent += 1
    for s in conns:
        s.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="measured requests (2000)")
    ap.add_argument("--identical", action="store_true", help="the same request each time")
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    for tool in ("valgrind", "callgrind_control"):
        if not shutil.which(tool):
            sys.exit(f"callgrind_req: {tool} not found")
    work = Path(tempfile.mkdtemp(prefix="haproxy-py-cg-"))
    os.chmod(work, 0o755)
    (work / "www").mkdir()
    (work / "nginx-tmp").mkdir()
    (work / "www" / B.SMALL).write_bytes(os.urandom(1024))
    (work / "paths.map").write_text(B.MAP_LINES)
    ng = B.free_port()
    (work / "nginx.conf").write_text(B.nginx_conf(work, ng))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    ports = B.ConfPorts(B.free_port(), B.free_port(), B.free_port(), ng, syslog=udp.getsockname()[1],
                        stats_socket=str(work / "stats.sock"), map_file=str(work / "paths.map"))
    (work / "proxy.cfg").write_text(B.proxy_conf(ports, 1000))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(work / "nginx.conf"), "-p", str(work), "-e",
                                       str(work / "nginx-error.log")], start_new_session=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        out = work / "callgrind.out"
        proxy = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                  f"--callgrind-out-file={out}", args.python, "-m", "haproxy_py", "-db", "-f",
                                  str(work / "proxy.cfg")], cwd=ROOT, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proxy)
        _wait_port(ng, 10)
        _wait_port(ports.http, 120)
        varied = not args.identical
        drive(ports.http, 200, varied)
        time.sleep(2.5)  # a health check has passed
        subprocess.run(["callgrind_control", "-i", "on", str(proxy.pid)], stdout=subprocess.DEVNULL, check=True)
        drive(ports.http, args.n, varied)
        subprocess.run(["callgrind_control", "-d", str(proxy.pid)], stdout=subprocess.DEVNULL, check=True)
        subprocess.run(["callgrind_control", "-i", "off", str(proxy.pid)], stdout=subprocess.DEVNULL, check=True)
        ir = 0
        for f in work.glob("callgrind.out.*"):  # the dump (the final file holds what follows it)
            for line in f.read_text(errors="replace").splitlines():
                if line.startswith("summary:"):
                    ir += int(line.split()[1])
        print(f"{'identical' if args.identical else 'varied'}: {ir / args.n:,.0f} Ir/request "
              f"({args.n} requests, {ir:,} Ir)")
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        udp.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
