"""Runtime API, Prometheus exporter and stats page: haproxy-py against Debian's HAProxy 2.6 side by side.

Both proxies run the same config and receive the same traffic (6 proxied requests, one in flight on a
slow backend while ``show sess`` runs); then the outputs are compared field by field, leaving out what
depends on timing, pids, memory or the machine (listed next to each comparison).
"""

from __future__ import annotations

import html.parser
import os
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import free_port
from tests.integration.harness import HTTP_DEFAULTS, HttpBackend, get, run_proxy
from tests.integration.stats_client import ADMIN_SOCKET, admin_socket
from tests.integration.stats_client import stats_cli as cli

CFG = ADMIN_SOCKET + HTTP_DEFAULTS + """\
frontend main
    bind 127.0.0.1:{fe}
    http-request use-service prometheus-exporter if {{ path /metrics }}
    use_backend slow if {{ path_beg /slow }}
    default_backend app
backend app
    balance roundrobin
    cookie SRV insert indirect nocache
    server a1 127.0.0.1:{p1} cookie c1
    server a2 127.0.0.1:{p2} weight 3 maxconn 50 maxqueue 7
    server a3 127.0.0.1:{p3} backup
    server a4 127.0.0.1:{p3} disabled
backend slow
    server s1 127.0.0.1:{ps}
listen tcpl
    mode tcp
    bind 127.0.0.1:{tp}
    balance leastconn
    server t1 127.0.0.1:{p1}
listen stats
    bind 127.0.0.1:{st}
    stats enable
    stats uri /stats
    stats show-legends
    stats refresh 5s
"""


def _get_retry(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """A refused connection never reaches the proxy's counters: retry those only."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return get(port, path)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _capture(which: str) -> dict[str, Any]:
    bes = [HttpBackend(n).start() for n in ("a1", "a2", "a3")]
    slow = HttpBackend("s1", delay=1.5).start()
    try:
        fe, tp, st = free_port(), free_port(), free_port()
        cfg = CFG.format(fe=fe, tp=tp, st=st, p1=bes[0].port, p2=bes[1].port, p3=bes[2].port, ps=slow.port)
        with run_proxy(cfg, which=which) as pp:
            sock = admin_socket(pp, timeout=15, detail=pp.stderr_text)
            res: dict[str, Any] = {"ports": (fe, tp, st)}
            for _ in range(6):
                code, _h, _b = _get_retry(fe, "/x")
                assert code == 200
            t = threading.Thread(target=get, args=(fe, "/slow"), daemon=True)
            t.start()
            time.sleep(0.5)
            res["sess"] = cli(sock, "show sess")
            res["sess2"] = cli(sock, "show sess")
            res["sess_missing"] = cli(sock, "show sess 0x1234")
            t.join(5)
            time.sleep(0.2)
            res["stat"] = cli(sock, "show stat")
            res["info_typed"] = cli(sock, "show info typed")
            res["schema"] = cli(sock, "show schema json")
            res["metrics"] = _get_retry(fe, "/metrics")[2].decode()
            res["page"] = _get_retry(st, "/stats")[2].decode()
            return res
    finally:
        for b in bes + [slow]:
            b.stop()


@pytest.fixture(scope="module")
def both(request: pytest.FixtureRequest) -> Iterator[dict[str, dict[str, Any]]]:
    from tests.conftest import HAPROXY_BIN

    if not os.path.exists(HAPROXY_BIN):
        pytest.fail(f"Debian's haproxy is required ({HAPROXY_BIN})")
    yield {"haproxy": _capture("haproxy"), "ours": _capture("ours")}


# ----------------------------------------------------------------------------- Prometheus exporter

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')


def parse_metrics(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, tuple]], dict[tuple, str]]:
    helps: dict[str, str] = {}
    types: dict[str, str] = {}
    order: list[tuple[str, tuple]] = []
    values: dict[tuple, str] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            n, _, h = line[7:].partition(" ")
            helps[n] = h
        elif line.startswith("# TYPE "):
            n, _, t = line[7:].partition(" ")
            types[n] = t
        elif line:
            m = _SAMPLE.match(line)
            assert m, line
            labels = tuple(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            key = (m.group(1), labels)
            order.append(key)
            values[key] = m.group(3)
    meta = {n: (helps.get(n, ""), types.get(n, "")) for n in set(helps) | set(types)}
    return meta, order, values


def test_exporter_same_names_help_type_and_order(both: dict[str, dict[str, Any]]) -> None:
    h_meta, h_order, _ = parse_metrics(both["haproxy"]["metrics"])
    o_meta, o_order, _ = parse_metrics(both["ours"]["metrics"])
    assert len(h_meta) > 180
    assert sorted(set(h_meta) - set(o_meta)) == []
    assert sorted(set(o_meta) - set(h_meta)) == []
    assert {n: v for n, v in o_meta.items() if v != h_meta[n]} == {}
    # the same samples in the same order (build_info's version label is ours)
    strip = [k for k in h_order if k[0] != "haproxy_process_build_info"]
    assert [k for k in o_order if k[0] != "haproxy_process_build_info"] == strip


DETERMINISTIC = (
    "haproxy_frontend_sessions_total", "haproxy_frontend_status", "haproxy_frontend_http_responses_total",
    "haproxy_frontend_limit_session_rate", "haproxy_frontend_requests_denied_total",
    "haproxy_backend_status", "haproxy_backend_weight", "haproxy_backend_uweight",
    "haproxy_backend_active_servers", "haproxy_backend_backup_servers", "haproxy_backend_sessions_total",
    "haproxy_backend_loadbalanced_total", "haproxy_backend_http_responses_total",
    "haproxy_backend_agg_server_status", "haproxy_backend_agg_check_status", "haproxy_backend_current_queue",
    "haproxy_server_status", "haproxy_server_weight", "haproxy_server_uweight", "haproxy_server_sessions_total",
    "haproxy_server_loadbalanced_total", "haproxy_server_limit_sessions", "haproxy_server_queue_limit",
    "haproxy_server_current_throttle", "haproxy_server_check_failures_total", "haproxy_server_downtime_seconds_total",
    "haproxy_server_http_responses_total", "haproxy_server_connection_errors_total",
    "haproxy_process_nbproc", "haproxy_process_relative_process_id", "haproxy_process_stopping",
    "haproxy_process_max_ssl_connections", "haproxy_process_current_zlib_memory",
)


def test_exporter_deterministic_values(both: dict[str, dict[str, Any]]) -> None:
    _, _, hv = parse_metrics(both["haproxy"]["metrics"])
    _, _, ov = parse_metrics(both["ours"]["metrics"])
    diffs = {k: (hv[k], ov.get(k)) for k in hv if k[0] in DETERMINISTIC and hv[k] != ov.get(k)}
    assert diffs == {}
    # and a few that must carry traffic: 6 + 1 slow requests went through main
    assert hv[("haproxy_backend_loadbalanced_total", (("proxy", "app"),))] == "6"
    assert ov[("haproxy_server_status", (("proxy", "app"), ("server", "a4"), ("state", "MAINT")))] == "1"


# ----------------------------------------------------------------------------- show sess

_SESS = re.compile(
    r"^0x[0-9a-f]+: proto=(\S+) src=(\S+) fe=(\S+) be=(\S+) srv=(\S+) ts=\d\d epoch=(0|0x[0-9a-f]+) age=\d+[smhd]\S* "
    r"calls=\d+ rate=\d+ cpu=\d+ lat=\d+ rq\[f=[0-9a-f]+h,i=\d+,an=[0-9a-f]+h,rx=\S*,wx=\S*,ax=\S*\] "
    r"rp\[f=[0-9a-f]+h,i=\d+,an=[0-9a-f]+h,rx=\S*,wx=\S*,ax=\S*\] scf=\[\d,[0-9a-f]+h,fd=-?\d+\] "
    r"scb=\[\d,[0-9a-f]+h,fd=-?\d+\] exp=\S* rc=\d+ c_exp=\S*$")


def _sess_rows(text: str) -> list[tuple[str, ...]]:
    assert text.endswith("\n\n")
    rows = []
    for line in text[:-2].splitlines():
        m = _SESS.match(line)
        assert m, line
        rows.append(m.groups())
    return rows


def test_show_sess_lines(both: dict[str, dict[str, Any]]) -> None:
    got = {}
    for which in ("haproxy", "ours"):
        r = both[which]
        rows = _sess_rows(r["sess"])
        # (proto, src without port, fe, be, srv): the in-flight request and the CLI itself
        got[which] = sorted((p, s.rpartition(":")[0], fe, be, srv) for p, s, fe, be, srv, _e in rows)
        cli_rows = [x for x in rows if x[2] == "GLOBAL"]
        assert len(cli_rows) == 1 and cli_rows[0][:2] == ("unix_stream", "unix:1")
        assert cli_rows[0][3:5] == ("<NONE>", "<none>") and cli_rows[0][5] == "0"
        # the second connection was made after one show sess: its epoch is 1
        assert [x[5] for x in _sess_rows(r["sess2"]) if x[2] == "GLOBAL"] == ["0x1"]
        assert r["sess_missing"] == "Session not found.\n\n"
    assert got["ours"] == got["haproxy"]
    assert ("tcpv4", "127.0.0.1", "main", "slow", "s1") in got["ours"]


def test_show_schema_json(both: dict[str, dict[str, Any]]) -> None:
    assert both["ours"]["schema"] == both["haproxy"]["schema"]


# ----------------------------------------------------------------------------- show info

def _typed_info(text: str) -> dict[str, tuple[str, str]]:
    out = {}
    for line in text.splitlines():
        if line:
            key, tags, typ, _v = line.split(":", 3)
            out[key] = (tags, typ)
    return out


def test_show_info_keys_tags_types(both: dict[str, dict[str, Any]]) -> None:
    h = _typed_info(both["haproxy"]["info_typed"])
    o = _typed_info(both["ours"]["info_typed"])
    assert len(h) > 60
    # "description" (51) only exists when configured, as in HAProxy
    assert list(o) == list(h)
    assert o == h


# ----------------------------------------------------------------------------- show stat

def _stat(text: str) -> tuple[list[str], dict[tuple[str, str], dict[str, str]]]:
    lines = text.splitlines()
    head = lines[0][2:].split(",")
    rows = {}
    for line in lines[1:]:
        if line:
            vals = line.split(",")
            d = dict(zip(head, vals, strict=False))
            rows[(d["pxname"], d["svname"])] = d
    return head, rows


# columns that depend on time, pids, the machine's fd limit, byte accounting of the HTTP layer or
# health-check timing are left out; everything else must be equal after the same traffic
STAT_COLUMNS = (
    "qcur", "qmax", "scur", "stot", "dreq", "dresp", "econ", "eresp", "wretr", "wredis", "status",
    "weight", "act", "bck", "chkfail", "chkdown", "qlimit", "pid", "iid", "sid", "throttle", "lbtot", "tracked",
    "type", "rate_lim", "check_status", "check_code", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_5xx",
    "hrsp_other", "hanafail", "cli_abrt", "srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp",
    "check_desc", "check_rise", "check_fall", "check_health", "addr", "cookie", "mode", "algo",
    "dcon", "dses", "wrew", "connect", "reuse", "cache_lookups", "cache_hits", "eint", "uweight",
    "agg_server_status", "agg_server_check_status", "agg_check_status", "ssl_sess",
)


def test_show_stat_columns_after_same_traffic(both: dict[str, dict[str, Any]]) -> None:
    hh, hrows = _stat(both["haproxy"]["stat"])
    oh, orows = _stat(both["ours"]["stat"])
    assert oh == hh
    assert list(orows) == list(hrows)
    diffs = {}
    for key, hrow in hrows.items():
        for col in STAT_COLUMNS:
            hv, ov = hrow[col], orows[key][col]
            if col == "addr":  # each run has its own backend ports
                hv, ov = hv.rpartition(":")[0], ov.rpartition(":")[0]
            if ov != hv:
                diffs[(key, col)] = (hv, ov)
    assert diffs == {}
    assert hrows[("app", "BACKEND")]["lbtot"] == "6"


# ----------------------------------------------------------------------------- stats page

class _Tables(html.parser.HTMLParser):
    """Per proxy table: its name (class=pxname link), header cells, row names (first cell of rows)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self.in_th = False
        self.cell: list[str] = []
        self.row_first: str | None = None
        self.cell_idx = 0
        self.in_td = False

    depth = 0  # table nesting inside a "tbl" table (tips hold their own small tables)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            if self.depth == 0 and (a.get("class") or "") == "tbl":
                self.tables.append({"headers": [], "rows": []})
                self.depth = 1
            elif self.depth:
                self.depth += 1
            return
        if self.depth != 1:
            return
        if tag == "th":
            self.in_th = True
            self.cell = []
        elif tag == "tr":
            self.cell_idx = 0
        elif tag == "td":
            self.in_td = True
            self.cell = []
            self.cell_idx += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
            return
        if self.depth != 1:
            return
        if tag == "th" and self.in_th:
            self.in_th = False
            self.tables[-1]["headers"].append(" ".join("".join(self.cell).split()))
        elif tag == "td" and self.in_td:
            self.in_td = False
            if self.cell_idx == 1:
                text = " ".join("".join(self.cell).split())
                if text:
                    self.tables[-1]["rows"].append(text)

    def handle_data(self, data: str) -> None:
        if self.in_th or self.in_td:
            self.cell.append(data)


def _page(text: str) -> list[dict[str, Any]]:
    p = _Tables()
    p.feed(text)
    return p.tables


def test_stats_page_tables(both: dict[str, dict[str, Any]]) -> None:
    h = _page(both["haproxy"]["page"])
    o = _page(both["ours"]["page"])
    assert len(h) == 10  # a title table and a data table per proxy
    assert [t["headers"] for t in o] == [t["headers"] for t in h]
    # first cells (row names with their show-legends tips); backend ports differ between the runs
    def names(ts: list[dict[str, Any]]) -> list[list[str]]:
        return [[re.sub(r":\d+,", ":PORT,", x) for x in t["rows"] if not x[:1].isdigit()] for t in ts]

    assert names(o) == names(h)
    assert ["Frontend"] in names(h)
