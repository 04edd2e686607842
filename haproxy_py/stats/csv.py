"""``show stat``: rows for frontends, backends and servers in HAProxy 2.6's column order. Pure.

A row is a list of 127 values (the typed/JSON positions: every column except the CSV-only ``-``
separator). ``None`` means "not applicable to this object" (empty in CSV, absent in typed/JSON);
``""`` is an empty string that typed/JSON still print (e.g. ``last_chk`` with nothing to say).

Public API:
    collect(state, now, wall, flt) -> list[Row]          rows in HAProxy's dump order
    render_csv(rows) -> str                              header + rows (the CLI adds its empty line)
    render_typed(rows, desc=False) -> str
    render_json(rows) -> str
    show_stat(state, now, wall, flt, fmt="csv", desc=False) -> str
    csv_header() -> str
    server_status(srv) -> str                            "UP", "DOWN 1/2", "MAINT", "no check", ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from haproxy_py.stats.fields import STAT_FIELDS, STAT_OVERRIDES

NFIELDS = len(STAT_FIELDS)  # 127
SEP_POS = 103  # the "-" column sits before this typed position in CSV
TYPE_FE, TYPE_BE, TYPE_SV, TYPE_SO = 1, 2, 4, 8

# positions by name, for readability below
P = {name: i for i, (name, _t, _ty, _d) in enumerate(STAT_FIELDS)}

_CHECK_L7_CODE = {"L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"}
_CHECK_NO_DURATION = {"", "UNK", "INI", "START"}
#: check_status -> its description (2.6's check_statuses; checks/messages.py CHECK_DESC has the same)
_STATUS_DESC = {
    "UNK": "Unknown", "INI": "Initializing", "CHECKED": "No status change", "HANA": "Health analyze",
    "SOCKERR": "Socket error", "L4OK": "Layer4 check passed", "L4TOUT": "Layer4 timeout",
    "L4CON": "Layer4 connection problem", "L6OK": "Layer6 check passed", "L6TOUT": "Layer6 timeout",
    "L6RSP": "Layer6 invalid response", "L7TOUT": "Layer7 timeout", "L7RSP": "Layer7 invalid response",
    "L7OK": "Layer7 check passed", "L7OKC": "Layer7 check conditionally passed", "L7STS": "Layer7 wrong status",
    "PROCERR": "External check error", "PROCTOUT": "External check timeout", "PROCOK": "External check passed",
}


@dataclass
class StatFilter:
    """``show stat [{px|iid} type sid] [up|no-maint]``; iid -1 = every proxy; type bitmask 1|2|4."""

    iid: int = -1
    types: int = -1
    sid: int = -1
    hide_down: bool = False  # "up"
    hide_maint: bool = False  # "no-maint"
    show_legends: bool = True  # addr/cookie/algo (False at CLI level user, stats page default)
    scope: tuple[str, ...] = ()  # stats page "scope": proxy names, empty = all
    search: str = ""  # the stats page's scope box (";scope=" / "?scope="): a part of the name, any case


class Row:
    __slots__ = ("kind", "iid", "sid", "values")

    def __init__(self, kind: str, iid: int, sid: int, values: list[Any]) -> None:
        self.kind = kind  # "F", "B", "S", "L" (a listener, option socket-stats)
        self.iid = iid
        self.sid = sid
        self.values = values


# ----------------------------------------------------------------------------- helpers


def _since(wall: float, t: float | None) -> int:
    if t is None or t < 0:
        return -1
    d = int(wall - t)
    return d if d > 0 else 0


def csv_quote(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        if any(c in v for c in ',"\r\n'):
            return '"' + v.replace('"', '""') + '"'
        return v
    return str(v)


def check_active(srv: Any) -> bool:
    """Checks configured, enabled and not paused by maintenance."""
    return bool(srv.check_enabled) and not srv.in_maint


def server_status(srv: Any) -> str:
    """The ``status`` column of a server row (HAProxy's srv_hlt_st strings)."""
    admin = srv.admin
    if "IMAINT" in admin:
        t = srv.track
        if t is not None and t.backend is not None:
            return f"MAINT (via {t.backend.name}/{t.name})"
        return "MAINT"
    if "FMAINT" in admin or "CMAINT" in admin:
        return "MAINT"
    if "RMAINT" in admin:
        return "MAINT (resolution)"
    ref = srv.track if srv.track is not None else srv
    chk = bool(ref.check_enabled)
    full = ref.rise + ref.fall - 1
    st = srv.state
    if st in ("RUNNING", "STARTING"):
        going_down = chk and ref.health < full
        if srv.in_drain:
            if getattr(ref, "agent_enabled", False):
                return "DRAIN (agent)"
            if going_down:
                return f"DRAIN {ref.health - ref.rise + 1}/{ref.fall}"
            return "DRAIN"
        if going_down:
            return f"UP {ref.health - ref.rise + 1}/{ref.fall}"
        return "UP" if chk or srv.track is not None else "no check"
    if st == "STOPPING":
        if (not srv.check_enabled and srv.track is None) or ref.health == full:
            return "NOLB"
        return f"NOLB {ref.health - ref.rise + 1}/{ref.fall}"
    # STOPPED
    agent = getattr(ref, "agent_enabled", False)
    if agent and not ref.agent_health:
        return "DOWN (agent)"
    if chk and not ref.health:
        return "DOWN"
    if chk or agent:
        return f"DOWN {ref.health}/{ref.rise}"
    return "DOWN"


def backend_weight(be: Any) -> int:
    tw = getattr(be, "total_weight", None)
    if callable(tw):
        return int(tw())
    act = [s for s in be.servers if s.usable and not s.backup]
    if act:
        return sum(s.uweight for s in act)
    bck = [s for s in be.servers if s.usable and s.backup]
    if not bck:
        return 0
    if be.conf.option("allbackups"):
        return sum(s.uweight for s in bck)
    return bck[0].uweight


def backend_usable_counts(be: Any) -> tuple[int, int]:
    uc = getattr(be, "usable_counts", None)
    if callable(uc):
        a, b = uc()
        return int(a), int(b)
    a = sum(1 for s in be.servers if s.usable and not s.backup)
    b = sum(1 for s in be.servers if s.usable and s.backup)
    return a, b


def backend_fullconn(state: Any, be: Any) -> int:
    fc = getattr(be, "fullconn", None)
    if isinstance(fc, int) and fc:
        return fc
    conf = be.conf
    if conf.fullconn:
        return conf.fullconn
    # HAProxy: 10% of the sum of maxconn of the frontends that may route here
    total = 0
    for px in state.proxies:
        fe = px.frontend
        if fe is None:
            continue
        pc = fe.conf
        if pc.name == be.name or pc.default_backend == be.name or any(
            u.backend == be.name for u in pc.use_backends
        ):
            total += fe.maxconn
    return (total + 9) // 10 if total else 0


def _http_counters(v: list[Any], c: Any) -> None:
    h = c.hrsp
    v[39] = h[1]
    v[40] = h[2]
    v[41] = h[3]
    v[42] = h[4]
    v[43] = h[5]
    v[44] = h[0]


def _modules(v: list[Any], c: Any, http: bool, with_h: bool = True) -> None:
    for i in range(103, 106):
        v[i] = 0
    if not with_h:
        return
    for i in range(106, 127):
        v[i] = 0
    if http:
        # h1_open_connections, h1_open_streams, h1_total_connections, h1_total_streams, h1_bytes_in/out
        v[119] = v[120] = c.scur
        v[121] = c.conn_tot if c.conn_tot else c.stot
        v[122] = c.req_tot
        v[123] = c.bin
        v[124] = c.bout


# ----------------------------------------------------------------------------- rows


def frontend_row(state: Any, fe: Any, now: float, wall: float) -> Row:
    c = fe.counters
    v: list[Any] = [None] * NFIELDS
    http = fe.mode == "http"
    v[0] = fe.name
    v[1] = "FRONTEND"
    v[4] = c.scur
    v[5] = c.smax
    v[6] = fe.maxconn
    v[7] = c.stot
    v[8] = c.bin
    v[9] = c.bout
    v[10] = c.dreq
    v[11] = c.dresp
    v[12] = c.ereq
    v[17] = fe.status
    v[26] = 1
    v[27] = fe.uuid
    v[28] = 0
    v[32] = 0
    v[33] = c.sess_rate.read(now)
    v[34] = fe.rate_limit
    v[35] = c.sess_rate.max
    if http:
        _http_counters(v, c)
    v[46] = c.req_rate.read(now)
    v[47] = c.req_rate.max
    v[48] = c.req_tot
    v[51], v[52], v[53], v[54] = c.comp_in, c.comp_out, c.comp_byp, c.comp_rsp
    v[75] = fe.mode
    v[77] = c.conn_rate.read(now)
    v[78] = c.conn_rate.max
    v[79] = c.conn_tot
    if http:
        v[80] = c.intercepted
    v[81] = c.dcon
    v[82] = c.dses
    v[83] = c.wrew
    if http:
        v[86], v[87] = c.cache_lookups, c.cache_hits
    v[94] = c.eint
    _modules(v, c, http)
    return Row("F", fe.uuid, 0, v)


def listener_row(fe: Any, ls: Any, legends: bool) -> Row:
    """'option socket-stats': a listening socket's row (type 3), the fields 2.6 fills for it."""
    c = ls.counters
    v: list[Any] = [None] * NFIELDS
    v[0] = fe.name
    v[1] = ls.name
    v[4] = c.scur
    v[5] = c.smax
    v[6] = ls.maxconn
    v[7] = c.stot
    v[8] = c.bin
    v[9] = c.bout
    v[10] = c.dreq
    v[11] = c.dresp
    v[12] = c.ereq
    v[17] = ls.status
    v[26] = 1
    v[27] = fe.uuid
    v[28] = ls.luid
    v[32] = 3
    if legends:
        v[73] = ls.addr
    v[75] = fe.mode
    v[81] = c.dcon
    v[82] = c.dses
    v[83] = c.wrew
    v[94] = c.eint
    _modules(v, c, False, with_h=False)
    return Row("L", fe.uuid, ls.luid, v)


def server_row(state: Any, be: Any, srv: Any, now: float, wall: float, legends: bool) -> Row:
    c = srv.counters
    v: list[Any] = [None] * NFIELDS
    http = be.mode == "http"
    chk_on = bool(srv.check_enabled)
    chk_act = chk_on and not srv.in_maint
    v[0] = be.name
    v[1] = srv.name
    v[2] = len(srv.queue)
    v[3] = c.qmax
    v[4] = c.scur
    v[5] = c.smax
    if srv.maxconn:
        v[6] = srv.maxconn
    v[7] = c.stot
    v[8] = c.bin
    v[9] = c.bout
    v[11] = c.dresp
    v[13] = c.econ
    v[14] = c.eresp
    v[15] = c.wretr
    v[16] = c.wredis
    v[17] = server_status(srv)
    weight = srv.uweight
    if srv.maint_weight is not None and srv.in_maint:
        weight = srv.maint_weight
    throttle = None
    if srv.state == "STARTING" and srv.slowstart_since is not None and srv.conf.slowstart:
        pct = int(100 * max(0.0, now - srv.slowstart_since) * 1000 / srv.conf.slowstart)
        if pct < 100:
            throttle = max(pct, 1)
            weight = (weight * throttle + 99) // 100
    v[18] = weight
    v[19] = 0 if srv.backup else 1
    v[20] = 1 if srv.backup else 0
    if chk_on:
        v[21] = c.chkfail
        v[22] = c.chkdown
    v[23] = _since(wall, srv.last_change)
    if chk_on:
        dt = srv.down_time + (wall - srv.down_since if srv.down_since is not None else 0.0)
        v[24] = int(dt)
    if srv.maxqueue:
        v[25] = srv.maxqueue
    v[26] = 1
    v[27] = be.uuid
    v[28] = srv.puid
    if throttle is not None:
        v[29] = throttle
    v[30] = c.lbtot
    if srv.track is not None and srv.track.backend is not None:
        v[31] = f"{srv.track.backend.name}/{srv.track.name}"
    v[32] = 2
    v[33] = c.sess_rate.read(now)
    v[35] = c.sess_rate.max
    if chk_act:
        st = srv.check_status or ""
        v[36] = ("* " + st) if srv.check_running else st
        if st in _CHECK_L7_CODE and srv.check_code is not None:
            v[37] = srv.check_code & 0xFFFFFFFF  # a u32 (an external check a signal ended has -1)
        if st not in _CHECK_NO_DURATION:
            v[38] = srv.check_duration if srv.check_duration is not None else 0
    if http:
        _http_counters(v, c)
    if srv.conf.observe:
        v[45] = c.hanafail
    if http:
        v[48] = c.req_tot
    v[49] = c.cli_abrt
    v[50] = c.srv_abrt
    v[55] = _since(wall, c.last_sess)
    if chk_act:
        v[56] = srv.check_info or ""
    v[58] = c.qtime.avg
    v[59] = c.ctime.avg
    v[60] = c.rtime.avg
    v[61] = c.ttime.avg
    if chk_act:
        v[65] = srv.check_desc or ""
        v[67] = srv.rise
        v[68] = srv.fall
        v[69] = srv.health
    if srv.agent_enabled:
        st = srv.agent_status or ""
        v[62] = ("* " + st) if srv.agent_running else st
        if st in _CHECK_L7_CODE and srv.agent_code is not None:
            v[63] = srv.agent_code
        if st not in _CHECK_NO_DURATION:
            v[64] = srv.agent_duration if srv.agent_duration is not None else 0
        v[57] = srv.agent_info or ""
        v[66] = _STATUS_DESC.get(st, "")
        v[70] = srv.agent_rise
        v[71] = srv.agent_fall
        v[72] = srv.agent_health
    if legends:
        h = srv.host
        # a server without an address (init-addr none, resolution maintenance) shows none
        v[73] = "" if not h else f"[{h}]:{srv.port}" if ":" in h else f"{h}:{srv.port}"
        if srv.cookie:
            v[74] = srv.cookie
    v[75] = be.mode
    v[83] = c.wrew
    v[84] = c.connect
    v[85] = c.reuse
    v[88] = 0
    v[90] = c.qtime.max
    v[91] = c.ctime.max
    v[92] = c.rtime.max
    v[93] = c.ttime.max
    v[94] = c.eint
    v[95] = v[96] = 0
    v[97] = srv.served
    v[98] = 0
    v[99] = srv.uweight
    _modules(v, c, http, with_h=False)
    return Row("S", be.uuid, srv.puid, v)


def backend_row(state: Any, be: Any, now: float, wall: float, legends: bool, counts: bool = False) -> Row:
    c = be.counters
    v: list[Any] = [None] * NFIELDS
    http = be.mode == "http"
    servers = be.servers
    v[0] = be.name
    v[1] = "BACKEND"
    v[2] = len(be.queue)
    v[3] = c.qmax
    v[4] = c.scur
    v[5] = c.smax
    v[6] = backend_fullconn(state, be)
    v[7] = c.stot
    v[8] = c.bin
    v[9] = c.bout
    v[10] = c.dreq
    v[11] = c.dresp
    v[13] = c.econ
    v[14] = c.eresp
    v[15] = c.wretr
    v[16] = c.wredis
    weight = backend_weight(be)
    status = "UP" if weight > 0 or not servers else "DOWN"
    if counts:
        nbup = sum(1 for s in servers if s.is_up)
        status += f" ({nbup}/{len(servers)})"
    v[17] = status
    v[18] = weight
    act, bck = backend_usable_counts(be)
    v[19] = act
    v[20] = bck
    v[22] = c.chkdown
    last_change = getattr(be, "last_change", None)
    v[23] = _since(wall, last_change if last_change is not None else state.start_wall)
    if servers:
        dt = getattr(be, "down_time", 0.0) or 0.0
        ds = getattr(be, "down_since", None)
        if ds is not None:
            dt += wall - ds
        v[24] = int(dt)
    v[26] = 1
    v[27] = be.uuid
    v[28] = 0
    v[30] = c.lbtot
    v[32] = 1
    v[33] = c.sess_rate.read(now)
    v[35] = c.sess_rate.max
    if http:
        _http_counters(v, c)
        v[48] = c.req_tot
    v[49] = c.cli_abrt
    v[50] = c.srv_abrt
    v[51], v[52], v[53], v[54] = c.comp_in, c.comp_out, c.comp_byp, c.comp_rsp
    v[55] = _since(wall, c.last_sess)
    v[58] = c.qtime.avg
    v[59] = c.ctime.avg
    v[60] = c.rtime.avg
    v[61] = c.ttime.avg
    if legends and be.cookie is not None:
        v[74] = be.cookie.name
    v[75] = be.mode
    if legends:
        v[76] = getattr(be, "algo_name", None) or be.conf.balance.algorithm
    v[83] = c.wrew
    v[84] = c.connect
    v[85] = c.reuse
    if http:
        v[86], v[87] = c.cache_lookups, c.cache_hits
    v[90] = c.qtime.max
    v[91] = c.ctime.max
    v[92] = c.rtime.max
    v[93] = c.ttime.max
    v[94] = c.eint
    v[99] = weight
    v[100] = v[101] = v[102] = 0
    _modules(v, c, http)
    return Row("B", be.uuid, 0, v)


def find_proxy_iid(state: Any, word: str) -> int:
    """``show stat`` proxy argument: a name, else atoi() of the word (0 = not found)."""
    for px in state.proxies:
        if px.name == word:
            return int(px.uuid)
    return _atoi(word)


def _atoi(s: str) -> int:
    s = s.strip()
    i = 0
    neg = False
    if s[:1] in "+-" and s:
        neg = s[0] == "-"
        i = 1
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    n = int(s[i:j]) if j > i else 0
    return -n if neg else n


def collect(state: Any, now: float, wall: float, flt: StatFilter | None = None) -> list[Row]:
    flt = flt or StatFilter()
    rows: list[Row] = []
    types = flt.types
    for px in state.proxies:
        if flt.iid != -1 and px.uuid != flt.iid:
            continue
        if flt.scope and px.name not in flt.scope:
            continue
        if flt.search and flt.search.lower() not in px.name.lower():
            continue
        fe = px.frontend
        be = px.backend
        if fe is not None and types & TYPE_FE:
            rows.append(frontend_row(state, fe, now, wall))
        if fe is not None and fe.socket_stats and types & TYPE_SO:
            rows.extend(listener_row(fe, ls, flt.show_legends) for ls in fe.socket_stats)
        if be is not None:
            if types & TYPE_SV:
                for srv in be.servers:
                    if flt.sid != -1 and srv.puid != flt.sid:
                        continue
                    if flt.hide_down and (srv.in_maint or srv.state == "STOPPED"):
                        continue
                    if flt.hide_maint and srv.in_maint:
                        continue
                    rows.append(server_row(state, be, srv, now, wall, flt.show_legends))
            if types & TYPE_BE:
                rows.append(backend_row(state, be, now, wall, flt.show_legends,
                                        counts=flt.hide_down or flt.hide_maint))
    return rows


# ----------------------------------------------------------------------------- rendering


def csv_header() -> str:
    names = [f[0] for f in STAT_FIELDS]
    names.insert(SEP_POS, "-")
    return "# " + ",".join(names) + ",\n"


def row_csv(row: Row) -> str:
    vals = row.values
    out = [csv_quote(x) for x in vals[:SEP_POS]]
    out.append("-")
    out.extend(csv_quote(x) for x in vals[SEP_POS:])
    return ",".join(out) + ",\n"


def render_csv(rows: list[Row]) -> str:
    return csv_header() + "".join(row_csv(r) for r in rows)


def field_tags(kind: str, pos: int) -> tuple[str, str]:
    o = STAT_OVERRIDES.get((kind, pos))
    if o is not None:
        return o
    f = STAT_FIELDS[pos]
    return f[1], f[2]


def render_typed(rows: list[Row], desc: bool = False) -> str:
    out: list[str] = []
    for row in rows:
        pre = f"{row.kind}.{row.iid}.{row.sid}."
        for pos, val in enumerate(row.values):
            if val is None:
                continue
            tags, typ = field_tags(row.kind, pos)
            line = f"{pre}{pos}.{STAT_FIELDS[pos][0]}.1:{tags}:{typ}:{val}"
            if desc:
                line += f':"{STAT_FIELDS[pos][3]}"'
            out.append(line + "\n")
    return "".join(out)


ORIGIN = {"M": "Metric", "S": "Status", "K": "Key", "C": "Config", "P": "Product"}
NATURE = {"G": "Gauge", "L": "Limit", "m": "Min", "M": "Max", "R": "Rate", "C": "Counter", "D": "Duration",
          "A": "Age", "T": "Time", "N": "Name", "O": "Output", "a": "Avg"}
SCOPE = {"P": "Process", "S": "Service", "s": "System", "C": "Cluster"}
OBJTYPE = {"F": "Frontend", "B": "Backend", "S": "Server", "L": "Listener"}


def tags_json(tags: str) -> dict[str, str]:
    return {"origin": ORIGIN.get(tags[0], ""), "nature": NATURE.get(tags[1], ""), "scope": SCOPE.get(tags[2], "")}


def render_json(rows: list[Row]) -> str:
    objs = []
    for row in rows:
        fields = []
        for pos, val in enumerate(row.values):
            if val is None:
                continue
            tags, typ = field_tags(row.kind, pos)
            fields.append({"objType": OBJTYPE[row.kind], "proxyId": row.iid, "id": row.sid,
                           "field": {"pos": pos, "name": STAT_FIELDS[pos][0]}, "processNum": 1,
                           "tags": tags_json(tags), "value": {"type": typ, "value": val}})
        objs.append(fields)
    return json.dumps(objs, separators=(",", ":")) + "\n"


def show_stat(state: Any, now: float, wall: float, flt: StatFilter | None = None, fmt: str = "csv",
              desc: bool = False) -> str:
    rows = collect(state, now, wall, flt)
    if fmt == "typed":
        return render_typed(rows, desc)
    if fmt == "json":
        return render_json(rows)
    return render_csv(rows)
