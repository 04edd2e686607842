"""``show info``: process-wide figures in HAProxy 2.6's order (plain, typed, JSON). Pure.

Figures that need the operating system (file-descriptor limit, memory) are read by the caller
and passed in as a ``SysInfo``; nothing here reads a clock or a file.

Public API:
    info_fields(state, now, wall, sysinfo=None) -> list[tuple[int, str, object]]
    show_info(state, now, wall, fmt="plain"|"typed"|"json", desc=False, sysinfo=None) -> str
    format_uptime(seconds) -> "0d 0h01m23s"
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from haproxy_py.stats.csv import tags_json
from haproxy_py.stats.fields import INFO_FIELDS

#: what ``show info``/``show version`` report unless ProcessState has ``version``/``release_date``
VERSION = "2.6.12-haproxy-py"
RELEASE_DATE = "2023/03/16"


@dataclass
class SysInfo:
    """Figures the engine reads from the OS (resource.getrlimit, /proc/self/status, its loop)."""

    ulimit_n: int = 0
    maxsock: int = 0
    pool_alloc_bytes: int = 0
    pool_used_bytes: int = 0
    tasks: int = 0
    run_queue: int = 0
    idle_pct: int = 100
    nbthread: int = 1


def version_of(state: Any) -> str:
    return getattr(state, "version", None) or VERSION


def release_date_of(state: Any) -> str:
    return getattr(state, "release_date", None) or RELEASE_DATE


def format_uptime(sec: int) -> str:
    d, r = divmod(max(0, int(sec)), 86400)
    h, r = divmod(r, 3600)
    m, s = divmod(r, 60)
    return f"{d}d {h}h{m:02d}m{s:02d}s"


def _rate(obj: Any, now: float) -> int:
    return obj.read(now) if obj is not None and hasattr(obj, "read") else int(obj or 0)


def ssl_reuse_pct(sess: int, keys: int) -> int:
    """SslFrontendSessionReuse_pct: the share of this second's TLS connections that resumed a
    session (no key computed), rounded down as 2.6 rounds it; 0 without connections."""
    if keys >= sess:
        return 0
    return 100 - (100 * keys + sess - 1) // sess


def info_fields(state: Any, now: float, wall: float, sysinfo: SysInfo | None = None) -> list[tuple[int, str, Any]]:
    si = sysinfo or SysInfo()
    up = int(state.uptime(now))
    g = state.config.global_
    nbthread = si.nbthread or g.nbthread or 1
    ver = version_of(state)
    maxsock = si.maxsock or (state.maxconn * 2 + 38)
    ssl_sess = state.ssl_rate.read(now)
    ssl_keys = state.ssl_fe_keys.read(now)
    vals: dict[int, Any] = {
        0: "HAProxy",
        1: ver,
        2: release_date_of(state),
        3: nbthread,
        4: 1,
        5: 1,
        6: state.pid,
        7: format_uptime(up),
        8: up,
        9: 0,
        10: si.pool_alloc_bytes >> 20,
        11: si.pool_used_bytes >> 20,
        12: 0,
        13: si.ulimit_n or maxsock,
        14: maxsock,
        15: state.maxconn,
        16: state.hard_maxconn,
        17: state.curr_conns,
        18: state.cum_conns,
        19: state.cum_req,
        20: state.maxsslconn, 21: state.curr_ssl, 22: state.cum_ssl, 23: 0, 24: 0, 25: 0,
        26: state.conn_rate.read(now),
        27: state.conn_rate_limit,
        28: state.conn_rate.max,
        29: state.sess_rate.read(now),
        30: state.rate_limit_sessions,
        31: state.sess_rate.max,
        32: ssl_sess, 33: state.ssl_rate_limit, 34: state.ssl_rate.max,
        35: ssl_keys, 36: state.ssl_fe_keys.max, 37: ssl_reuse_pct(ssl_sess, ssl_keys),
        38: state.ssl_be_keys.read(now), 39: state.ssl_be_keys.max,
        40: state.ssl_cache_lookups, 41: state.ssl_cache_misses,
        42: state.comp_bps_in.read(now), 43: state.comp_bps_out.read(now), 44: state.comp_rate_lim,
        47: si.tasks,
        48: si.run_queue,
        49: si.idle_pct,
        50: state.node,
        52: 1 if state.stopping else 0,
        53: state.jobs,
        54: 0,
        55: state.listeners,
        56: 0, 57: 0,
        58: state.dropped_logs,
        59: 0,
        60: 0,
        61: state.total_bytes_out,
        62: state.spliced_bytes_out,
        63: _rate(getattr(state, "bytes_out_rate", None), now),
        64: 0,
        65: state.recv_logs,
        66: ver,
        67: 0,
        68: si.pool_alloc_bytes,
        69: si.pool_used_bytes,
        70: int(state.start_wall),
        71: "0",
    }
    if state.description:
        vals[51] = state.description
    return [(pos, name, vals[pos]) for pos, name, _t, _ty, _d in INFO_FIELDS if pos in vals]


_META = {pos: (tags, typ, desc) for pos, _n, tags, typ, desc in INFO_FIELDS}


def show_info(state: Any, now: float, wall: float, fmt: str = "plain", desc: bool = False,
              sysinfo: SysInfo | None = None) -> str:
    fields = info_fields(state, now, wall, sysinfo)
    if fmt == "typed":
        out = []
        for pos, name, val in fields:
            tags, typ, d = _META[pos]
            line = f"{pos}.{name}.1:{tags}:{typ}:{val}"
            if desc:
                line += f':"{d}"'
            out.append(line + "\n")
        return "".join(out)
    if fmt == "json":
        objs = []
        for pos, name, val in fields:
            tags, typ, _d = _META[pos]
            objs.append({"field": {"pos": pos, "name": name}, "processNum": 1, "tags": tags_json(tags),
                         "value": {"type": typ, "value": val}})
        return json.dumps(objs, separators=(",", ":")) + "\n"
    return "".join(f"{name}: {val}\n" for _pos, name, val in fields)
