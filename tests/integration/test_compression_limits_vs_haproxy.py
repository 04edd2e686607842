"""``maxcomprate`` (global): once the compressor took more than that many kB in the last second, a
response starts uncompressed (no Content-Encoding, no Vary, not counted in comp_rsp), as in
Debian's HAProxy 2.6; and ``show info``'s CompressBpsIn, CompressBpsOut and CompressBpsRateLim,
which were always 0 here. Both proxies run the same configuration on their own backend; seeded
generated sequences of response sizes and pauses decide which responses each compresses. The
pauses are none or long enough for the rate to have decayed: where a rate read falls inside
the one-second window (2.6 starts its windows at its own ticks, haproxy-py at whole seconds of
its clock) the two may read a different share of the previous second.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_haproxy_bin
from tests.integration.harness import HttpBackend, Recorded, free_port, run_proxy
from tests.integration.stats_client import stats_cli

CFG = """
global
    maxcomprate {rate}
    stats socket @DIR@/s.sock level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe}
    compression algo gzip
    compression type text/plain
    default_backend be
backend be
    server s 127.0.0.1:{be}
"""


def _get(port: int, size: int) -> dict[str, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(f"GET /{size} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := c.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    return {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head[1:])}


def _info(sock: str) -> dict[str, int]:
    out = {}
    for ln in stats_cli(sock, "show info").splitlines():
        k, _, v = ln.partition(":")
        if k.startswith("CompressBps"):
            out[k] = int(v)
    return out


def _backend() -> HttpBackend:
    def answer(req: Recorded) -> tuple[int, list[tuple[str, str]], bytes]:
        n = int(req.start.split()[1].strip(b"/") or 1000)
        return 200, [("Content-Type", "text/plain")], (b"compressible text, " * (n // 19 + 1))[:n]

    return HttpBackend("s", behaviour=answer).start()


def _run(which: str, rate: int, plan: list[tuple[int, float]]) -> tuple[list[bool], dict[str, int]]:
    be = _backend()
    try:
        fe = free_port()
        with run_proxy(CFG.format(rate=rate, fe=fe, be=be.port), wait_ports=[fe], which=which) as pp:
            time.sleep(1.1)  # the harness's probes are no compression: start on a fresh second anyway
            got = []
            for size, pause in plan:
                got.append(_get(fe, size).get("content-encoding") == "gzip")
                time.sleep(pause)
            return got, _info(str(pp.workdir / "s.sock"))
    finally:
        be.stop()


@pytest.mark.slow
def test_maxcomprate_as_haproxy() -> None:
    require_haproxy_bin()
    r = random.Random(2612)
    for _ in range(2):
        rate = r.choice([10, 40])
        plan = [(r.choice([4000, 20000, 60000]), r.choice([0.0, 0.0, 0.0, 2.1])) for _ in range(6)]
        plan[-1] = (plan[-1][0], 0.0)
        with ThreadPoolExecutor(2) as ex:  # side by side: each proxy its own backend and clock
            t, o = ex.submit(_run, "haproxy", rate, plan), ex.submit(_run, "ours", rate, plan)
            (theirs, ti), (ours, oi) = t.result(), o.result()
        assert ours == theirs, (rate, plan, theirs, ours)
        assert oi["CompressBpsRateLim"] == ti["CompressBpsRateLim"] == rate * 1024
        # the rates read at the end: both saw the same compressed bytes within the last seconds
        assert (oi["CompressBpsIn"] > 0) == (ti["CompressBpsIn"] > 0), (ti, oi)
    assert any(theirs) and not all(theirs)


def test_maxcomprate_arguments_as_haproxy(tmp_path: Path) -> None:
    require_haproxy_bin()
    for arg in ("", " 5 6", " 0", " 100"):
        cfg = tmp_path / "c.cfg"
        cfg.write_text(f"global\n    maxcomprate{arg}\n")
        a = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
        b = subprocess.run([sys.executable, "-m", "haproxy_py", "-c", "-f", str(cfg)], capture_output=True,
                           text=True, timeout=30, cwd=str(ROOT))
        alerts = [[ln.split(" : ", 2)[-1] for ln in p.stderr.splitlines() if ln.startswith("[ALERT]")][:1]
                  for p in (a, b)]
        assert (a.returncode == 0) == (b.returncode == 0) and alerts[0] == alerts[1], (arg, a.stderr, b.stderr)
