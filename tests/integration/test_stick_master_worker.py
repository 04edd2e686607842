"""Stick tables under master-worker (-W): the master holds no traffic, its worker does; the table
commands on the stats socket are answered by the worker (with several, the first: see
tests/integration/test_tables_workers_vs_haproxy.py)."""

from __future__ import annotations

import re
import time

from tests.conftest import free_port
from tests.integration.harness import HTTP_DEFAULTS, get, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli


def test_table_commands_reach_the_worker() -> None:
    port = free_port()
    cfg = ("global\n    stats socket @DIR@/admin.sock mode 600 level admin\n" + HTTP_DEFAULTS +
           f"frontend fe\n    bind 127.0.0.1:{port}\n"
           "    stick-table type ip size 10 store http_req_cnt,gpc0\n"
           "    http-request track-sc0 src\n"
           "    http-request return status 200 content-type text/plain lf-string \"%[sc0_get_gpc0]\"\n")
    with run_proxy(cfg, wait_ports=[port], extra_args=["-W"]) as pp:
        sock = admin_socket(pp, detail=pp.stderr_text)
        for _ in range(3):
            assert get(port, "/", source="127.0.0.70")[0] == 200
        deadline = time.monotonic() + 5
        while "http_req_cnt=3" not in (out := stats_cli(sock, "show table fe")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert re.search(r"key=127\.0\.0\.70 use=0 exp=0 gpc0=0 http_req_cnt=3", out), out
        assert stats_cli(sock, "set table fe key 127.0.0.70 data.gpc0 7") == "\n"
        # the worker's table changed: its traffic reads it
        assert get(port, "/", source="127.0.0.70")[2] == b"7"
        assert "used:1" in stats_cli(sock, "show table")
