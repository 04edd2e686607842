"""The built-in Prometheus exporter (``http-request use-service prometheus-exporter``), text format. Pure.

Metric names follow HAProxy 2.6's exporter (haproxy_process_*, haproxy_frontend_*, haproxy_backend_*,
haproxy_server_*, labels ``proxy`` and ``server``); values come from the same rows as ``show stat``.

    render(state, now, wall) -> str
"""

from __future__ import annotations

from typing import Any

from haproxy_py.stats.csv import StatFilter, collect
from haproxy_py.stats.info import info_fields

# (metric suffix, type, help, stat position, scale)
_COMMON: list[tuple[str, str, str, int, float]] = [
    ("current_sessions", "gauge", "Number of current sessions.", 4, 1),
    ("max_sessions", "gauge", "Maximum observed number of sessions.", 5, 1),
    ("limit_sessions", "gauge", "Configured session limit.", 6, 1),
    ("sessions_total", "counter", "Total number of sessions.", 7, 1),
    ("bytes_in_total", "counter", "Total number of request bytes since process started.", 8, 1),
    ("bytes_out_total", "counter", "Total number of response bytes since process started.", 9, 1),
]
FRONTEND = _COMMON + [
    ("requests_denied_total", "counter", "Total number of denied requests.", 10, 1),
    ("responses_denied_total", "counter", "Total number of denied responses.", 11, 1),
    ("request_errors_total", "counter", "Total number of request errors.", 12, 1),
    ("current_session_rate", "gauge", "Current number of sessions per second over last elapsed second.", 33, 1),
    ("limit_session_rate", "gauge", "Configured limit on new sessions per second.", 34, 1),
    ("max_session_rate", "gauge", "Maximum observed number of sessions per second.", 35, 1),
    ("http_requests_rate_max", "gauge", "Maximum observed number of HTTP requests per second.", 47, 1),
    ("http_requests_total", "counter", "Total number of HTTP requests received.", 48, 1),
    ("connections_rate_max", "gauge", "Maximum observed number of connections per second.", 78, 1),
    ("connections_total", "counter", "Total number of connections.", 79, 1),
    ("intercepted_requests_total", "counter", "Total number of intercepted HTTP requests.", 80, 1),
    ("denied_connections_total", "counter", "Total number of requests denied by \"tcp-request connection\" rules.",
     81, 1),
    ("denied_sessions_total", "counter", "Total number of requests denied by \"tcp-request session\" rules.", 82, 1),
    ("failed_header_rewriting_total", "counter", "Total number of failed header rewriting warnings.", 83, 1),
    ("internal_errors_total", "counter", "Total number of internal errors.", 94, 1),
]
_BS = [
    ("current_queue", "gauge", "Current number of queued requests.", 2, 1),
    ("max_queue", "gauge", "Maximum observed number of queued requests.", 3, 1),
    ("connection_errors_total", "counter", "Total number of connection errors.", 13, 1),
    ("response_errors_total", "counter", "Total number of response errors.", 14, 1),
    ("retry_warnings_total", "counter", "Total number of retry warnings.", 15, 1),
    ("redispatch_warnings_total", "counter", "Total number of redispatch warnings.", 16, 1),
    ("weight", "gauge", "Service weight.", 18, 1),
    ("check_up_down_total", "counter", "Total number of UP->DOWN transitions.", 22, 1),
    ("check_last_change_seconds", "gauge", "How long ago the last server state changed, in seconds.", 23, 1),
    ("downtime_seconds_total", "counter", "Total downtime (in seconds) for the service.", 24, 1),
    ("current_session_rate", "gauge", "Current number of sessions per second over last elapsed second.", 33, 1),
    ("max_session_rate", "gauge", "Maximum observed number of sessions per second.", 35, 1),
    ("loadbalanced_total", "counter", "Total number of times a service was selected.", 30, 1),
    ("http_requests_total", "counter", "Total number of HTTP requests received.", 48, 1),
    ("client_aborts_total", "counter", "Total number of data transfers aborted by the client.", 49, 1),
    ("server_aborts_total", "counter", "Total number of data transfers aborted by the server.", 50, 1),
    ("last_session_seconds", "gauge", "How long ago some traffic was seen on this object, in seconds.", 55, 1),
    ("queue_time_average_seconds", "gauge", "Avg. queue time for last 1024 successful connections.", 58, 0.001),
    ("connect_time_average_seconds", "gauge", "Avg. connect time for last 1024 successful connections.", 59, 0.001),
    ("response_time_average_seconds", "gauge", "Avg. response time for last 1024 successful connections.", 60,
     0.001),
    ("total_time_average_seconds", "gauge", "Avg. total time for last 1024 successful connections.", 61, 0.001),
    ("max_queue_time_seconds", "gauge", "Maximum observed time spent in the queue", 90, 0.001),
    ("max_connect_time_seconds", "gauge", "Maximum observed time spent waiting for a connection to complete", 91,
     0.001),
    ("max_response_time_seconds", "gauge", "Maximum observed time spent waiting for a server response", 92, 0.001),
    ("max_total_time_seconds", "gauge", "Maximum observed total request+response time", 93, 0.001),
    ("connection_attempts_total", "counter", "Total number of outgoing connection attempts.", 84, 1),
    ("connection_reuses_total", "counter", "Total number of reused connection.", 85, 1),
    ("failed_header_rewriting_total", "counter", "Total number of failed header rewriting warnings.", 83, 1),
    ("internal_errors_total", "counter", "Total number of internal errors.", 94, 1),
]
BACKEND = _COMMON + [
    ("active_servers", "gauge", "Current number of active servers.", 19, 1),
    ("backup_servers", "gauge", "Current number of backup servers.", 20, 1),
    ("requests_denied_total", "counter", "Total number of denied requests.", 10, 1),
    ("responses_denied_total", "counter", "Total number of denied responses.", 11, 1),
] + _BS
SERVER = _COMMON + [
    ("responses_denied_total", "counter", "Total number of denied responses.", 11, 1),
    ("check_failures_total", "counter", "Total number of failed checks (Only counts checks failed when the "
     "server is up).", 21, 1),
    ("check_code", "gauge", "layer5-7 code, if available of the last health check.", 37, 1),
    ("check_duration_seconds", "gauge", "Total duration of the latest server health check, in seconds.", 38,
     0.001),
] + _BS

PROCESS = [
    ("nbthread", "gauge", "Number of started threads (global.nbthread)", "Nbthread"),
    ("nbproc", "gauge", "Number of started worker processes (historical, always 1)", "Nbproc"),
    ("relative_process_id", "gauge", "Relative worker process number (1)", "Process_num"),
    ("uptime_seconds", "gauge", "How long ago this worker process was started (seconds)", "Uptime_sec"),
    ("start_time_seconds", "gauge", "Start time in seconds", "Start_time_sec"),
    ("max_fds", "gauge", "Hard limit on the number of per-process file descriptors", "Ulimit-n"),
    ("max_sockets", "gauge", "Hard limit on the number of per-process sockets", "Maxsock"),
    ("max_connections", "gauge", "Hard limit on the number of per-process connections", "Maxconn"),
    ("hard_max_connections", "gauge", "Hard limit on the number of per-process connections", "Hard_maxconn"),
    ("current_connections", "gauge", "Current number of connections on this worker process", "CurrConns"),
    ("connections_total", "counter", "Total number of connections on this worker process since started",
     "CumConns"),
    ("requests_total", "counter", "Total number of requests on this worker process since started", "CumReq"),
    ("current_connection_rate", "gauge", "Number of front connections created on this worker process over the "
     "last second", "ConnRate"),
    ("limit_connection_rate", "gauge", "Hard limit for ConnRate (global.maxconnrate)", "ConnRateLimit"),
    ("max_connection_rate", "gauge", "Highest ConnRate reached on this worker process since started",
     "MaxConnRate"),
    ("current_session_rate", "gauge", "Number of sessions created on this worker process over the last second",
     "SessRate"),
    ("limit_session_rate", "gauge", "Hard limit for SessRate (global.maxsessrate)", "SessRateLimit"),
    ("max_session_rate", "gauge", "Highest SessRate reached on this worker process since started",
     "MaxSessRate"),
    ("stopping", "gauge", "1 if the worker process is currently stopping, otherwise zero", "Stopping"),
    ("jobs", "gauge", "Current number of active jobs on the current worker process", "Jobs"),
    ("listeners", "gauge", "Current number of active listeners on the current worker process", "Listeners"),
    ("dropped_logs_total", "counter", "Total number of dropped logs for current worker process since started",
     "DroppedLogs"),
    ("bytes_out_total", "counter", "Total number of bytes emitted by current worker process since started",
     "TotalBytesOut"),
    ("spliced_bytes_out_total", "counter", "Total number of bytes emitted by current worker process through a "
     "kernel pipe since started", "TotalSplicdedBytesOut"),
    ("bytes_out_rate", "gauge", "Number of bytes emitted by current worker process over the last second",
     "BytesOutRate"),
]

FE_STATES = ("DOWN", "UP")
SRV_STATES = ("DOWN", "UP", "MAINT", "DRAIN", "NOLB")


def _num(v: float) -> str:
    if isinstance(v, float) and not v.is_integer():
        return repr(v)
    return str(int(v))


def render(state: Any, now: float, wall: float) -> str:
    out: list[str] = []
    vals = {name: v for _p, name, v in info_fields(state, now, wall)}
    for suffix, typ, hlp, key in PROCESS:
        name = f"haproxy_process_{suffix}"
        out.append(f"# HELP {name} {hlp}\n# TYPE {name} {typ}\n{name} {_num(vals.get(key, 0))}\n")
    rows = collect(state, now, wall, StatFilter(show_legends=True))
    fes = [r for r in rows if r.kind == "F"]
    bes = [r for r in rows if r.kind == "B"]
    svs = [r for r in rows if r.kind == "S"]

    def block(prefix: str, rs: list, table: list, with_server: bool) -> None:
        name = f"haproxy_{prefix}_status"
        out.append(f"# HELP {name} Current status of the service.\n# TYPE {name} gauge\n")
        for r in rs:
            lbl = _labels(r, with_server)
            st = str(r.values[17]).split(" ")[0]
            if prefix in ("frontend", "backend"):
                up = st == ("OPEN" if prefix == "frontend" else "UP")
                for s in FE_STATES:
                    out.append(f'{name}{{{lbl},state="{s}"}} {1 if (s == "UP") == up else 0}\n')
            else:
                for s in SRV_STATES:
                    cur = {"no": "UP"}.get(st, st)
                    out.append(f'{name}{{{lbl},state="{s}"}} {1 if cur == s else 0}\n')
        for suffix, typ, hlp, pos, scale in table:
            name = f"haproxy_{prefix}_{suffix}"
            lines = []
            for r in rs:
                v = r.values[pos]
                if v is None:
                    continue
                lines.append(f"{name}{{{_labels(r, with_server)}}} {_num(v * scale if scale != 1 else v)}\n")
            if lines:
                out.append(f"# HELP {name} {hlp}\n# TYPE {name} {typ}\n")
                out.extend(lines)
        # frontends, backends and servers alike (HAProxy 2.6 exports all three)
        name = f"haproxy_{prefix}_http_responses_total"
        lines = []
        for r in rs:
            for code, pos in (("1xx", 39), ("2xx", 40), ("3xx", 41), ("4xx", 42), ("5xx", 43), ("other", 44)):
                if r.values[pos] is not None:
                    lines.append(f'{name}{{{_labels(r, with_server)},code="{code}"}} {r.values[pos]}\n')
        if lines:
            out.append(f"# HELP {name} Total number of HTTP responses.\n# TYPE {name} counter\n")
            out.extend(lines)

    block("frontend", fes, FRONTEND, False)
    block("backend", bes, BACKEND, False)
    block("server", svs, SERVER, True)
    return "".join(out)


def _esc(s: Any) -> str:
    return str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(row: Any, with_server: bool) -> str:
    lbl = f'proxy="{_esc(row.values[0])}"'
    if with_server:
        lbl += f',server="{_esc(row.values[1])}"'
    return lbl
