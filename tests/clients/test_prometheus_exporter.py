"""prometheus-haproxy-exporter (Debian package, Go) scraping haproxy-py, and our built-in exporter.

The external exporter reads ``show stat`` over the unix stats socket (``--haproxy.scrape-uri=unix:PATH``)
and the CSV stats page (``http://HOST:PORT/stats;csv``); its metrics must reflect the requests sent.
Every case also runs against Debian's HAProxy 2.6 with the same config, which proves the assertions
are the right ones. The stats page lives on its own ``listen`` so its scrapes do not count on ``main``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import free_port
from tests.integration.harness import HTTP_DEFAULTS, get, http_backends, require_haproxy, run_proxy
from tests.integration.stats_client import ADMIN_SOCKET, admin_socket

EXPORTER = shutil.which("prometheus-haproxy-exporter") or "/usr/bin/prometheus-haproxy-exporter"

CFG = ADMIN_SOCKET + HTTP_DEFAULTS + """\
frontend main
    bind 127.0.0.1:{fe}
    http-request use-service prometheus-exporter if {{ path /metrics }}
    default_backend app
backend app
    balance roundrobin
    server app1 127.0.0.1:{p1}
    server app2 127.0.0.1:{p2}
    server app3 127.0.0.1:{p3}
listen stats
    bind 127.0.0.1:{st}
    stats enable
    stats uri /stats
"""


@pytest.fixture(params=["ours", "haproxy"], scope="module")
def lab(request):  # type: ignore[no-untyped-def]
    require_haproxy(request.param)
    assert os.path.exists(EXPORTER), "prometheus-haproxy-exporter (Debian package) is required"
    with http_backends("app1", "app2", "app3") as bes:
        fe, st = free_port(), free_port()
        cfg = CFG.format(fe=fe, st=st, p1=bes[0].port, p2=bes[1].port, p3=bes[2].port)
        with run_proxy(cfg, wait_ports=[fe, st], which=request.param) as pp:
            sock = admin_socket(pp)
            yield {"which": request.param, "fe": fe, "st": st, "sock": sock, "pp": pp}


class Exporter:
    def __init__(self, uri: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [EXPORTER, f"--haproxy.scrape-uri={uri}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--haproxy.timeout=3s"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def scrape(self) -> str:
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                    return r.read().decode()
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> str:
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate(timeout=5)
        return out.decode(errors="replace")


@pytest.fixture
def exporter() -> Iterator:
    started: list[Exporter] = []

    def start(uri: str) -> Exporter:
        e = Exporter(uri)
        started.append(e)
        return e

    yield start
    for e in started:
        e.stop()


def metrics(text: str) -> dict[str, float]:
    """``name{labels}`` -> value for every sample line (labels kept as printed, in order)."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, val = line.rpartition(" ")
            out[key] = float(val)
    return out


def test_exporter_help_lists_the_flags_we_use() -> None:
    p = subprocess.run([EXPORTER, "--help"], capture_output=True, text=True, timeout=10)
    text = p.stdout + p.stderr
    for flag in ("--haproxy.scrape-uri", "--web.listen-address", "--haproxy.timeout"):
        assert flag in text


@pytest.mark.parametrize("how", ["unix", "csv"])
def test_exporter_reflects_traffic(lab, exporter, how: str) -> None:  # type: ignore[no-untyped-def]
    uri = f"unix:{lab['sock']}" if how == "unix" else f"http://127.0.0.1:{lab['st']}/stats;csv"
    ex = exporter(uri)
    m0 = metrics(ex.scrape())
    assert m0["haproxy_up"] == 1
    assert m0["haproxy_exporter_csv_parse_failures_total"] == 0
    assert m0['haproxy_backend_up{backend="app"}'] == 1
    for s in ("app1", "app2", "app3"):
        assert m0[f'haproxy_server_up{{backend="app",server="{s}"}}'] == 1
    for _ in range(9):
        assert get(lab["fe"], "/")[0] == 200
    m1 = metrics(ex.scrape())
    assert m1["haproxy_up"] == 1
    k = 'haproxy_frontend_http_requests_total{frontend="main"}'
    assert m1[k] - m0[k] == 9
    k = 'haproxy_frontend_http_responses_total{code="2xx",frontend="main"}'
    assert m1[k] - m0[k] == 9
    for s in ("app1", "app2", "app3"):
        k = f'haproxy_server_sessions_total{{backend="app",server="{s}"}}'
        assert m1[k] - m0[k] == 3, s
    k = 'haproxy_backend_sessions_total{backend="app"}'
    assert m1[k] - m0[k] == 9
    assert m1['haproxy_server_current_sessions{backend="app",server="app1"}'] == 0
    assert m1['haproxy_backend_current_server{backend="app"}'] == 3
    assert m1['haproxy_frontend_bytes_out_total{frontend="main"}'] > m0['haproxy_frontend_bytes_out_total{frontend="main"}']


def test_exporter_sees_server_state_changes(lab, exporter) -> None:  # type: ignore[no-untyped-def]
    ex = exporter(f"unix:{lab['sock']}")
    out = subprocess.run(["socat", "-", f"UNIX-CONNECT:{lab['sock']}"], capture_output=True, timeout=10,
                         input=b"set server app/app2 state maint;set weight app/app3 5\n").stdout
    assert out == b"\n\n"
    try:
        m = metrics(ex.scrape())
        assert m['haproxy_server_up{backend="app",server="app2"}'] == 0
        assert m['haproxy_server_up{backend="app",server="app1"}'] == 1
        assert m['haproxy_server_weight{backend="app",server="app3"}'] == 5
        assert m['haproxy_backend_current_server{backend="app"}'] == 2
        assert m['haproxy_backend_weight{backend="app"}'] == 6
    finally:
        subprocess.run(["socat", "-", f"UNIX-CONNECT:{lab['sock']}"], capture_output=True, timeout=10,
                       input=b"set server app/app2 state ready;set weight app/app3 1\n")
    m = metrics(ex.scrape())
    assert m['haproxy_server_up{backend="app",server="app2"}'] == 1


def test_exporter_down_when_proxy_unreachable(exporter, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ex = exporter(f"unix:{tmp_path}/nothing.sock")
    m = metrics(ex.scrape())
    assert m["haproxy_up"] == 0


# ----------------------------------------------------------------------------- built-in exporter

BUILTIN_NAMES = [
    "haproxy_process_uptime_seconds", "haproxy_process_requests_total", "haproxy_process_max_connections",
    "haproxy_frontend_status", "haproxy_frontend_current_sessions", "haproxy_frontend_sessions_total",
    "haproxy_frontend_bytes_in_total", "haproxy_frontend_bytes_out_total",
    "haproxy_frontend_http_requests_total", "haproxy_frontend_http_responses_total",
    "haproxy_backend_status", "haproxy_backend_active_servers", "haproxy_backend_weight",
    "haproxy_backend_sessions_total", "haproxy_backend_http_responses_total",
    "haproxy_server_status", "haproxy_server_weight", "haproxy_server_sessions_total",
    "haproxy_server_current_sessions", "haproxy_server_http_responses_total",
]


def _builtin(port: int) -> tuple[int, str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.status, r.headers.get("content-type", ""), r.read().decode()


def test_builtin_exporter(lab) -> None:  # type: ignore[no-untyped-def]
    status, ctype, text0 = _builtin(lab["fe"])
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text0, re.M))
    for name in BUILTIN_NAMES:
        assert name in types, name
    assert types["haproxy_frontend_http_requests_total"] == "counter"
    assert types["haproxy_server_current_sessions"] == "gauge"
    m0 = metrics(text0)
    for _ in range(6):
        assert get(lab["fe"], "/")[0] == 200
    m1 = metrics(_builtin(lab["fe"])[2])
    k = 'haproxy_frontend_http_requests_total{proxy="main"}'
    assert m1[k] - m0[k] == 7  # 6 requests + the previous scrape itself
    ks = [f'haproxy_server_sessions_total{{proxy="app",server="{s}"}}' for s in ("app1", "app2", "app3")]
    assert sum(m1[k] - m0[k] for k in ks) == 6
    k = 'haproxy_backend_http_responses_total{proxy="app",code="2xx"}'
    assert m1[k] - m0[k] == 6
    assert m1['haproxy_frontend_status{proxy="main",state="UP"}'] == 1
    assert m1['haproxy_backend_status{proxy="app",state="UP"}'] == 1
    assert m1['haproxy_backend_status{proxy="app",state="DOWN"}'] == 0
    assert m1['haproxy_server_status{proxy="app",server="app1",state="UP"}'] == 1
    assert m1['haproxy_server_status{proxy="app",server="app1",state="MAINT"}'] == 0
