"""CI smoke run of the benchmark (bench/run.py): the realistic configuration, both proxies and nginx,
every row measured once in its shortest form. No figure is asserted (the machine is shared): only
that every process starts, every row has a value for both proxies and the run ends by itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.needs_haproxy, pytest.mark.timeout(120)]


@pytest.mark.skipif(not (shutil.which("wrk") and shutil.which("nginx") and shutil.which("curl")),
                    reason="wrk, nginx and curl are installed by .ci/run")
def test_bench_quick_smoke_realistic(haproxy_bin: str, tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--rounds", "1", "--duration", "1",
           "--transfers", "1", "--idle", "200", "--targets", "haproxy,haproxy-py", "--out", str(tmp_path),
           "--haproxy", haproxy_bin]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=100, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    (out,) = tmp_path.glob("bench-*.json")
    res = json.loads(out.read_text())
    assert res["settings"]["config"] == "realistic"
    for name in ("haproxy", "haproxy-py"):
        t = res["targets"][name]
        assert t["failed"] is None, t["failed"]
        (rnd,) = t["rounds"]
        for key in ("session_rate", "keepalive_rps", "varied_rps", "cpu_s_per_100k", "rate_p99_ms",
                    "data_http_mibps", "data_tcp_mibps", "data_tcp_splice_mibps"):
            assert rnd[key] is not None, (name, key, rnd)
        assert t["idle"]["200"]["server_conns"] >= 200, t["idle"]
        # idle HTTP keep-alive sessions: each made one request and stayed open
        assert t["idle_http"]["200"]["kib_per_conn"] is not None, t["idle_http"]
        # httplog reached the bench's UDP syslog receiver
        assert res["syslog_datagrams"][name] > 0, res["syslog_datagrams"]
    assert "idle KiB/conn tcp @200" in r.stdout and "idle KiB/conn http @200" in r.stdout


@pytest.mark.parametrize("script, args", [
    ("maps.py", ["--sizes", "100,1000", "--lookups", "200"]),
    ("lb_select.py", ["--sizes", "10,100", "--ops", "200"]),
    ("config_parse.py", ["--backends", "20", "--servers-per-backend", "5", "--repeat", "1"]),
    ("peers.py", ["--updates", "200", "--keys", "50", "--rounds", "1"]),
])
def test_pure_benches_run(script: str, args: list[str]) -> None:
    """The benchmarks of pure parts (no proxy process) in their smallest form: they run to the end
    against the current code (bench/maps.py had fallen behind a change of RequestHead)."""
    p = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True,
                       timeout=100, cwd=str(ROOT))
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip()
