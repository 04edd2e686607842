"""Several workers (nbthread 2): one stats socket that sums the workers, runtime changes reaching
every worker, health checks run once and shared, soft stop of the whole group."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

from tests.conftest import free_port
from tests.integration.harness import FE_TO_BE, get, http_backends, http_defaults, run_proxy

CFG = """global
    nbthread 2
    stats socket @DIR@/stats.sock level admin
""" + http_defaults("10s") + FE_TO_BE + """backend be
    balance roundrobin
{chk}    server s1 127.0.0.1:{p1}{sx}
    server s2 127.0.0.1:{p2}{sx}
"""


def cli(path: Path, line: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall(line.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


def stat_rows(path: Path) -> dict[str, dict[str, str]]:
    lines = cli(path, "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    out = {}
    for ln in lines[1:]:
        if ln:
            row = dict(zip(head, ln.split(","), strict=False))
            out[f"{row['pxname']}/{row['svname']}"] = row
    return out


def children(pid: int, want: int = 2, timeout: float = 10.0) -> list[int]:
    p = Path(f"/proc/{pid}/task/{pid}/children")
    deadline = time.monotonic() + timeout
    while True:
        kids = [int(x) for x in p.read_text().split()] if p.exists() else []
        if len(kids) >= want or time.monotonic() > deadline:
            return kids
        time.sleep(0.05)


def send(port: int, n: int, threads: int = 4) -> list:
    out: list = []
    lock = threading.Lock()
    per = n // threads

    def run() -> None:
        for _ in range(per):
            try:
                st, h, _ = get(port, timeout=10)
                r = (st, h.get("x-server"))
            except Exception as e:  # noqa: BLE001
                r = (repr(e), None)
            with lock:
                out.append(r)

    ts = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return out


def test_two_workers_sum_in_show_stat_and_share_runtime_changes() -> None:
    port = free_port()
    with http_backends("s1", "s2") as (b1, b2):
        cfg = CFG.format(port=port, p1=b1.port, p2=b2.port, chk="", sx="")
        with run_proxy(cfg, wait_ports=[port]) as pp:
            sock = pp.workdir / "stats.sock"
            assert len(children(pp.pid)) == 2  # two worker processes under the master
            # the harness's port probes are empty connections, which count as requests (a 400
            # CR--, as in HAProxy 2.6): measure from here
            base_req = int(stat_rows(sock)["fe/FRONTEND"]["req_tot"])
            base_cum = int(cli(sock, "show info").split("\nCumReq: ")[1].split()[0])
            res = send(port, 200)
            assert [r[0] for r in res] == [200] * 200
            # counters move when a worker ends the session, a moment after the client got its answer
            deadline = time.monotonic() + 5
            rows = stat_rows(sock)
            while rows["be/BACKEND"]["stot"] != "200" and time.monotonic() < deadline:
                time.sleep(0.1)
                rows = stat_rows(sock)
            assert int(rows["fe/FRONTEND"]["req_tot"]) == base_req + 200
            assert int(rows["fe/FRONTEND"]["stot"]) >= 200  # plus the harness's port probes
            assert rows["be/BACKEND"]["stot"] == "200"
            assert int(rows["be/s1"]["stot"]) + int(rows["be/s2"]["stot"]) == 200
            assert int(rows["be/s1"]["stot"]) == len(b1.requests)
            assert int(rows["be/s2"]["stot"]) == len(b2.requests)
            info = cli(sock, "show info")
            assert f"\nCumReq: {base_cum + 200}\n" in info
            assert int(info.split("\nCumConns: ")[1].split()[0]) == int(rows["fe/FRONTEND"]["stot"])
            # a runtime change reaches both workers
            assert cli(sock, "set weight be/s1 0") == "\n"
            n1 = len(b1.requests)
            res = send(port, 40)
            assert {r for r in res} == {(200, "s2")}
            assert len(b1.requests) == n1
            assert cli(sock, "get weight be/s1") == "0 (initial 1)\n\n"
            assert cli(sock, "set weight be/s1 1; set server be/s2 state maint") == "\n\n"
            res = send(port, 40)
            assert {r for r in res} == {(200, "s1")}
            assert "MAINT" in stat_rows(sock)["be/s2"]["status"]
            # the group stops as one process would
            pp.proc.send_signal(signal.SIGUSR1)
            assert pp.proc.wait(timeout=15) == 0


def test_health_checks_run_once_and_their_verdict_reaches_every_worker() -> None:
    port = free_port()
    with http_backends("s1", "s2") as (b1, b2):
        cfg = CFG.format(port=port, p1=b1.port, p2=b2.port, chk="    option httpchk GET /chk\n",
                         sx=" check inter 200ms fall 2 rise 2")
        with run_proxy(cfg, wait_ports=[port]) as pp:
            sock = pp.workdir / "stats.sock"
            time.sleep(2.0)
            checks = [r for r in b1.requests if r.start.startswith(b"GET /chk")]
            # one checker: about 10 checks in 2 s (two checkers would send about 20)
            assert 4 <= len(checks) <= 14, len(checks)
            b2.status = 503
            deadline = time.monotonic() + 5
            while "DOWN" not in stat_rows(sock)["be/s2"]["status"] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "DOWN" in stat_rows(sock)["be/s2"]["status"]
            time.sleep(2 * 0.2 + 0.2)  # the verdict is pushed to the other worker within CHECK_SYNC_S
            n2 = len([r for r in b2.requests if not r.start.startswith(b"GET /chk")])
            res = send(port, 40)
            assert {r for r in res} == {(200, "s1")}
            assert len([r for r in b2.requests if not r.start.startswith(b"GET /chk")]) == n2
