"""The HTTP statistics page (``stats enable``/``stats uri``), pure: request in, response out.

    handle(state, conf, method, uri, headers, body, now, wall, admin_allowed=False)
        -> (status, [(name, value), ...], body bytes)

``conf`` is the proxy's ``config.model.StatsConf``. Supports ``;csv``, ``;json``, ``;typed``, ``;up``,
``;no-maint``, ``;norefresh``, ``;st=STATUS``, ``stats auth`` (Basic, 401 with realm), ``stats scope``,
``hide-version``, ``show-legends`` and the admin POST actions (ready, drain, maint, dhlth, ehlth, hrunn,
hnolb, hdown, shutdown) answered with ``303`` to ``URI;st=RESULT``.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from haproxy_py.stats.commands import Cli
from haproxy_py.stats.csv import StatFilter, collect, render_csv, render_json, render_typed
from haproxy_py.stats.info import format_uptime, info_fields, release_date_of, version_of

Response = tuple[int, list[tuple[str, str]], bytes]

UNAUTHORIZED_BODY = (b"<html><body><h1>401 Unauthorized</h1>\n"
                     b"You need a valid user and password to access this content.\n</body></html>\n")
ST_MESSAGES = {
    "DONE": "Action processed successfully.", "NONE": "Nothing has changed.",
    "PART": "Action not processed for some servers.", "ERRP": "Action not processed because of invalid parameters.",
    "EXCD": "Action not processed: the buffer could not contain all the data.",
    "DENY": "Action denied.", "UNKN": "Unexpected result.", "IVAL": "Invalid parameters.",
}
# the style sheet 2.6 sends with its page, as it sends it (row colours, the tips shown on
# hover, the dark-mode variant)
CSS = """body { font-family: arial, helvetica, sans-serif; font-size: 12px; font-weight: normal; color: black; background: white;}
th,td { font-size: 10px;}
h1 { font-size: x-large; margin-bottom: 0.5em;}
h2 { font-family: helvetica, arial; font-size: x-large; font-weight: bold; font-style: italic; color: #6020a0; margin-top: 0em; margin-bottom: 0em;}
h3 { font-family: helvetica, arial; font-size: 16px; font-weight: bold; color: #b00040; background: #e8e8d0; margin-top: 0em; margin-bottom: 0em;}
li { margin-top: 0.25em; margin-right: 2em;}
.hr {margin-top: 0.25em; border-color: black; border-bottom-style: solid;}
.titre	{background: #20D0D0;color: #000000; font-weight: bold; text-align: center;}
.total	{background: #20D0D0;color: #ffff80;}
.frontend	{background: #e8e8d0;}
.socket	{background: #d0d0d0;}
.backend	{background: #e8e8d0;}
.active_down		{background: #ff9090;}
.active_going_up		{background: #ffd020;}
.active_going_down	{background: #ffffa0;}
.active_up		{background: #c0ffc0;}
.active_nolb		{background: #20a0ff;}
.active_draining		{background: #20a0FF;}
.active_no_check		{background: #e0e0e0;}
.backup_down		{background: #ff9090;}
.backup_going_up		{background: #ff80ff;}
.backup_going_down	{background: #c060ff;}
.backup_up		{background: #b0d0ff;}
.backup_nolb		{background: #90b0e0;}
.backup_draining		{background: #cc9900;}
.backup_no_check		{background: #e0e0e0;}
.maintain	{background: #c07820;}
.rls      {letter-spacing: 0.2em; margin-right: 1px;}

a.px:link {color: #ffff40; text-decoration: none;}a.px:visited {color: #ffff40; text-decoration: none;}a.px:hover {color: #ffffff; text-decoration: none;}a.lfsb:link {color: #000000; text-decoration: none;}a.lfsb:visited {color: #000000; text-decoration: none;}a.lfsb:hover {color: #505050; text-decoration: none;}
table.tbl { border-collapse: collapse; border-style: none;}
table.tbl td { text-align: right; border-width: 1px 1px 1px 1px; border-style: solid solid solid solid; padding: 2px 3px; border-color: gray; white-space: nowrap;}
table.tbl td.ac { text-align: center;}
table.tbl th { border-width: 1px; border-style: solid solid solid solid; border-color: gray;}
table.tbl th.pxname { background: #b00040; color: #ffff40; font-weight: bold; border-style: solid solid none solid; padding: 2px 3px; white-space: nowrap;}
table.tbl th.empty { border-style: none; empty-cells: hide; background: white;}
table.tbl th.desc { background: white; border-style: solid solid none solid; text-align: left; padding: 2px 3px;}

table.lgd { border-collapse: collapse; border-width: 1px; border-style: none none none solid; border-color: black;}
table.lgd td { border-width: 1px; border-style: solid solid solid solid; border-color: gray; padding: 2px;}
table.lgd td.noborder { border-style: none; padding: 2px; white-space: nowrap;}
table.det { border-collapse: collapse; border-style: none; }
table.det th { text-align: left; border-width: 0px; padding: 0px 1px 0px 0px; font-style:normal;font-size:11px;font-weight:bold;font-family: sans-serif;}
table.det td { text-align: right; border-width: 0px; padding: 0px 0px 0px 4px; white-space: nowrap; font-style:normal;font-size:11px;font-weight:normal;}
u {text-decoration:none; border-bottom: 1px dotted black;}
div.tips {
 display:block;
 visibility:hidden;
 z-index:2147483647;
 position:absolute;
 padding:2px 4px 3px;
 background:#f0f060; color:#000000;
 border:1px solid #7040c0;
 white-space:nowrap;
 font-style:normal;font-size:11px;font-weight:normal;
 -moz-border-radius:3px;-webkit-border-radius:3px;border-radius:3px;
 -moz-box-shadow:gray 2px 2px 3px;-webkit-box-shadow:gray 2px 2px 3px;box-shadow:gray 2px 2px 3px;
}
u:hover div.tips {visibility:visible;}
@media (prefers-color-scheme: dark) {
 body { font-family: arial, helvetica, sans-serif; font-size: 12px; font-weight: normal; color: #e8e6e3; background: #131516;}
 h1 { color: #a265e0!important; }
 h2 { color: #a265e0; }
 h3 { color: #ff5190; background-color: #3e3e1f; }
 a { color: #3391ff; }
 input { background-color: #2f3437; }
 .hr { border-color: #8c8273; }
 .titre { background-color: #1aa6a6; color: #e8e6e3; }
 .frontend {background: #2f3437;}
 .socket	{background: #2a2d2f;}
 .backend {background: #2f3437;}
 .active_down {background: #760000;}
 .active_going_up {background: #b99200;}
 .active_going_down {background: #6c6c00;}
 .active_up {background: #165900;}
 .active_nolb {background: #006ab9;}
 .active_draining {background: #006ab9;}
 .active_no_check {background: #2a2d2f;}
 .backup_down {background: #760000;}
 .backup_going_up {background: #7f007f;}
 .backup_going_down {background: #580092;}
 .backup_up {background: #2e3234;}
 .backup_nolb {background: #1e3c6a;}
 .backup_draining {background: #a37a00;}
 .backup_no_check {background: #2a2d2f;}
 .maintain {background: #9a601a;}
 a.px:link {color: #d8d83b; text-decoration: none;}
 a.px:visited {color: #d8d83b; text-decoration: none;}
 a.px:hover {color: #ffffff; text-decoration: none;}
 a.lfsb:link {color: #e8e6e3; text-decoration: none;}
 a.lfsb:visited {color: #e8e6e3; text-decoration: none;}
 a.lfsb:hover {color: #b5afa6; text-decoration: none;}
 table.tbl th.empty { background-color: #181a1b; }
 table.tbl th.desc { background: #181a1b; }
 table.tbl th.pxname { background-color: #8d0033; color: #ffff46; }
 table.tbl th { border-color: #808080; }
 table.tbl td { border-color: #808080; }
 u {text-decoration:none; border-bottom: 1px dotted #e8e6e3;}
 div.tips {
  background:#8e8e0d;
  color:#e8e6e3;
  border-color: #4e2c86;
  -moz-box-shadow: #60686c 2px 2px 3px;
  -webkit-box-shadow: #60686c 2px 2px 3px;
  box-shadow: #60686c 2px 2px 3px;
 }
}
"""


def check_auth(conf: Any, headers: list[tuple[str, str]], userlists: Any = ()) -> bool:
    if not conf.auth:
        return True
    for k, v in headers:
        if k.lower() == "authorization" and v[:6].lower() == "basic ":
            try:
                user, _, pw = base64.b64decode(v[6:].strip()).decode("latin-1").partition(":")
            except Exception:
                return False
            return (user, pw) in set(conf.auth)
    return False


def server_class(srv_row: list[Any]) -> str:
    st = str(srv_row[17])
    bck = "backup" if srv_row[20] == 1 else "active"
    if st.startswith("MAINT"):
        return "maintain"
    if st.startswith("DRAIN"):
        return f"{bck}_draining"
    if st == "no check":
        return f"{bck}_no_check"
    if st.startswith("NOLB"):
        return f"{bck}_nolb"
    if st.startswith("UP "):
        return f"{bck}_going_down"
    if st.startswith("DOWN "):
        return f"{bck}_going_up"
    if st.startswith("DOWN"):
        return f"{bck}_down"
    return f"{bck}_up"


def _v(x: Any) -> str:
    return "" if x is None else html.escape(str(x))


def human_time(t: Any) -> str:
    """2.6's duration in the page: at most two units (``29m22s``, ``1h2m``, ``3d4h``, ``0s``)."""
    if t is None:
        return "?"
    t = int(t)
    if t < 0:
        return "?"
    out = []
    left = 2
    if t >= 86400:
        out.append(f"{t // 86400}d")
        left -= 1
    if left and t % 86400 // 3600:
        out.append(f"{t % 86400 // 3600}h")
        left -= 1
    if left and t % 3600 // 60:
        out.append(f"{t % 3600 // 60}m")
        left -= 1
    if (left and t % 60) or not t:
        out.append(f"{t % 60}s")
    return "".join(out)


def _u2h(x: Any) -> str:
    """A counter as 2.6's page prints it: the thousands digits wrapped in ``<span class="rls">``
    (the page's CSS spaces them), ``64643`` -> ``6<span class="rls">4</span>643``."""
    if isinstance(x, bool) or not isinstance(x, int):
        try:
            x = int(x)
        except (TypeError, ValueError):
            return _v(x)
    digits = str(x)
    if len(digits) <= 3:
        return digits
    out = []
    for i, d in enumerate(digits):
        pos = len(digits) - i  # 1-based from the right
        out.append(f'<span class="rls">{d}</span>' if pos % 3 == 1 and pos > 1 else d)
    return "".join(out)


def _h(x: Any) -> str:
    """A counter cell value: ``_u2h`` for a number, empty for a missing field."""
    return "" if x is None or x == "" else _u2h(x)


def _dash(x: Any) -> str:
    """A limit: ``-`` when there is none (2.6 prints the dash for servers' and frontends' limits)."""
    return "-" if x is None or x == "" or (x == 0 and not isinstance(x, bool)) else _u2h(x)


def _n(x: Any) -> int:
    try:
        return int(x or 0)
    except (TypeError, ValueError):
        return 0


def _pct(part: Any, whole: Any) -> str:
    w = _n(whole)
    return f"{100 * _n(part) // w if w else 0}%"


def _det(rows: Sequence[tuple[str, ...]]) -> str:
    """A tip's detail table: (label, value[, second cell]) rows; a 1-tuple is a colspan=3 title."""
    out = ["<table class=det>"]
    for row in rows:
        if len(row) == 1:
            out.append(f"<tr><th colspan=3>{row[0]}</th></tr>")
        else:
            out.append(f"<tr><th>{row[0]}</th>" + "".join(f"<td>{c}</td>" for c in row[1:]) + "</tr>")
    return "".join(out) + "</table>"


def _times(v: Any, http: bool) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [("Max / Avg over last 1024 success. conn.",),
                                   ("- Queue time:", f"{_u2h(_n(v[90]))} / {_u2h(_n(v[58]))}", "ms"),
                                   ("- Connect time:", f"{_u2h(_n(v[91]))} / {_u2h(_n(v[59]))}", "ms")]
    if http:
        rows.append(("- Responses time:", f"{_u2h(_n(v[92]))} / {_u2h(_n(v[60]))}", "ms"))
    rows.append(("- Total time:", f"{_u2h(_n(v[93]))} / {_u2h(_n(v[61]))}", "ms"))
    return rows


def _tip(value: Any, table: str, underline: bool = True) -> str:
    inner = f"{_h(value)}<div class=tips>{table}</div>"
    return f"<td><u>{inner}</u></td>" if underline else f"<td>{inner}</td>"


def _server_tips(v: Any) -> tuple[str, str]:
    """The Sessions Cur and Total cells of a server, with the tips 2.6 shows on them."""
    cur = _tip(v[4], _det([("Current active connections:", _u2h(_n(v[4]))),
                           ("Current used connections:", _u2h(_n(v[97]))),
                           ("Current idle connections:", _u2h(_n(v[88]))),
                           ("- unsafe:", _u2h(_n(v[95]))), ("- safe:", _u2h(_n(v[96]))),
                           ("Estimated need of connections:", _u2h(_n(v[98]))),
                           ("Active connections limit:", _dash(v[6])),
                           ("Idle connections limit:", _dash(v[89]))]))
    http = v[75] == "http"
    rows: list[tuple[str, ...]] = [("Cum. sessions:", _u2h(_n(v[7])))]
    if http:
        codes = [_n(v[i]) for i in range(39, 45)]
        tot = sum(codes)
        rows += [("New connections:", _u2h(_n(v[84]))),
                 ("Reused connections:", _u2h(_n(v[85])), f"({_pct(v[85], _n(v[84]) + _n(v[85]))})"),
                 ("Cum. HTTP requests:", _u2h(tot))]
        for label, c in zip(("- HTTP 1xx responses:", "- HTTP 2xx responses:", "- HTTP 3xx responses:",
                             "- HTTP 4xx responses:", "- HTTP 5xx responses:", "- other responses:"), codes,
                            strict=True):
            rows.append((label, _u2h(c), f"({_pct(c, tot)})"))
        rows += [("Failed hdr rewrites:", _u2h(_n(v[83]))), ("Internal error:", _u2h(_n(v[94])))]
    rows += _times(v, http)
    return cur, _tip(v[7], _det(rows))


def _backend_tips(v: Any) -> tuple[str, str]:
    """The Sessions Total and Bytes Out cells of a backend, with 2.6's tips."""
    http = v[75] == "http"
    rows: list[tuple[str, ...]] = [("Cum. sessions:", _u2h(_n(v[7])))]
    if http:
        rows += [("New connections:", _u2h(_n(v[84]))),
                 ("Reused connections:", _u2h(_n(v[85])), f"({_pct(v[85], _n(v[84]) + _n(v[85]))})"),
                 ("Cum. HTTP requests:", _u2h(_n(v[48]))),
                 ("- HTTP 1xx responses:", _u2h(_n(v[39]))), ("- HTTP 2xx responses:", _u2h(_n(v[40]))),
                 ("&nbsp;&nbsp;Compressed 2xx:", _u2h(_n(v[54])), f"({_pct(v[54], v[40])})"),
                 ("- HTTP 3xx responses:", _u2h(_n(v[41]))), ("- HTTP 4xx responses:", _u2h(_n(v[42]))),
                 ("- HTTP 5xx responses:", _u2h(_n(v[43]))), ("- other responses:", _u2h(_n(v[44]))),
                 ("Cache lookups:", _u2h(_n(v[86]))), ("Cache hits:", _u2h(_n(v[87])), f"({_pct(v[87], v[86])})"),
                 ("Failed hdr rewrites:", _u2h(_n(v[83]))), ("Internal errors:", _u2h(_n(v[94])))]
    rows += _times(v, http)
    return _tip(v[7], _det(rows)), _bytes_out_tip(v)


def _bytes_out_tip(v: Any) -> str:
    comp_in, comp_out, comp_byp = _n(v[51]), _n(v[52]), _n(v[53])
    saved = comp_in - comp_out
    return _tip(v[9], _det([("Response bytes in:", _u2h(_n(v[9]))), ("Compression in:", _u2h(comp_in)),
                            ("Compression out:", _u2h(comp_out), f"({_pct(comp_out, comp_in)})"),
                            ("Compression bypass:", _u2h(comp_byp)),
                            ("Total bytes saved:", _u2h(saved), f"({_pct(saved, v[9])})")]),
                underline=bool(comp_in or comp_byp))


def _frontend_cells(v: Any) -> str:
    """A frontend row's cells from Queue to Warnings, with the rate, sessions and bytes tips."""
    http = v[75] == "http"
    cur = [("Current connection rate:", f"{_u2h(_n(v[77]))}/s"), ("Current session rate:", f"{_u2h(_n(v[33]))}/s")]
    top = [("Max connection rate:", f"{_u2h(_n(v[78]))}/s"), ("Max session rate:", f"{_u2h(_n(v[35]))}/s")]
    if http:
        cur.append(("Current request rate:", f"{_u2h(_n(v[46]))}/s"))
        top.append(("Max request rate:", f"{_u2h(_n(v[47]))}/s"))
    rows: list[tuple[str, ...]] = [("Cum. connections:", _u2h(_n(v[79]))), ("Cum. sessions:", _u2h(_n(v[7])))]
    if http:
        rows += [("Cum. HTTP requests:", _u2h(_n(v[48]))),
                 ("- HTTP 1xx responses:", _u2h(_n(v[39]))), ("- HTTP 2xx responses:", _u2h(_n(v[40]))),
                 ("&nbsp;&nbsp;Compressed 2xx:", _u2h(_n(v[54])), f"({_pct(v[54], v[40])})"),
                 ("- HTTP 3xx responses:", _u2h(_n(v[41]))), ("- HTTP 4xx responses:", _u2h(_n(v[42]))),
                 ("- HTTP 5xx responses:", _u2h(_n(v[43]))), ("- other responses:", _u2h(_n(v[44]))),
                 ("Intercepted requests:", _u2h(_n(v[80]))),
                 ("Cache lookups:", _u2h(_n(v[86]))), ("Cache hits:", _u2h(_n(v[87])), f"({_pct(v[87], v[86])})"),
                 ("Failed hdr rewrites:", _u2h(_n(v[83]))), ("Internal errors:", _u2h(_n(v[94])))]
    cells = ["<td colspan=3></td>", _tip(v[33], _det(cur)), _tip(v[35], _det(top)), f"<td>{_dash(v[34])}</td>",
             f"<td>{_h(v[4])}</td>", f"<td>{_h(v[5])}</td>", f"<td>{_h(v[6])}</td>", _tip(v[7], _det(rows)),
             "<td></td><td></td>", f"<td>{_h(v[8])}</td>", _bytes_out_tip(v)]
    cells += [f"<td>{_h(x)}</td>" for x in (v[10], v[11], v[12])]
    cells += [f"<td>{_v(x)}</td>" for x in (v[13], v[14], v[15], v[16])]
    return "".join(cells)


def _counter_cells(r: Any) -> str:
    """The cells between the name and the Server group (Queue ... Warnings) of one row."""
    v = r.values
    td = "".join
    if r.kind == "F":
        return _frontend_cells(v)
    resets = (f"<td><u>{_h(v[14])}<div class=tips>Connection resets during transfers: {_v(v[49] or 0)} client, "
              f"{_v(v[50] or 0)} server</div></u></td>")
    last = human_time(v[55]) if v[55] is not None and int(v[55]) >= 0 else "?"
    qlim = _dash(v[25]) if r.kind == "S" else _h(v[25])
    slim = _dash(v[6]) if r.kind == "S" else _h(v[6])
    plain = [f"<td>{x}</td>" for x in (_h(v[2]), _h(v[3]), qlim, _h(v[33]), _h(v[35]), _h(v[34]), _h(v[4]),
                                       _h(v[5]), slim, _h(v[7]), _h(v[30]), last, _h(v[8]), _h(v[9]),
                                       _h(v[10]), _h(v[11]), _h(v[12]), _h(v[13]))]
    if r.kind == "S":
        plain[6], plain[9] = _server_tips(v)
    else:
        plain[9], plain[13] = _backend_tips(v)
    cells = plain + [resets]
    cells += [f"<td>{_v(v[15])}</td>", f"<td>{_v(v[16])}</td>"]
    return td(cells)


def _server_group(r: Any) -> str:
    """The nine cells of the "Server" column group (Status ... Thrtle) of one row, as 2.6 draws
    them: status with its duration, the check with code, duration and reason as a tip, weights
    effective/user, Y/- for active/backup."""
    v = r.values
    status = str(v[17] or "")
    if r.kind == "F":
        return f"<td class=ac>{_v(status)}</td><td class=ac colspan=8></td>"
    since = human_time(v[23])
    if r.kind == "B":
        shown = '<font color="red"><b>DOWN</b></font>' if status == "DOWN" else _v(status)
        down = human_time(v[24]) if v[24] is not None else "&nbsp;"
        return (f"<td class=ac>{since} {shown}</td><td class=ac>&nbsp;</td>"
                f"<td class=ac>{_v(v[18])}/{_v(v[99])}</td><td class=ac>{_v(v[19])}</td><td class=ac>{_v(v[20])}</td>"
                f"<td class=ac>&nbsp;</td><td>{_v(v[22] or 0)}</td><td>{down}</td><td></td>")
    if status.startswith("MAINT"):
        st = f"{since} MAINT"
    elif status == "no check":
        st = "<i>no check</i>"
    else:
        st = f"{since} {_v(status)}"
        health, rise, fall = (int(x or 0) for x in (v[69], v[67], v[68]))
        if status.startswith("DOWN"):
            if health:
                st += " &uarr;"
        elif health < rise + fall - 1:
            st += " &darr;"
    out = [f"<td class=ac>{st}"]

    def probe(stat: Any, code: Any, dur: Any, desc: Any, last: Any) -> str:
        text = f"</td><td class=ac><u> {_v(stat)}"
        if code is not None:
            text += f"/{_v(code)}"
        if dur is not None:
            text += f" in {_v(dur)}ms"
        text += f"<div class=tips>{_v(desc)}"
        if last:
            text += f": {_v(last)}"
        return text + "</div></u>"

    if status.startswith("DOWN") and v[62] and not v[72]:
        out.append(probe(v[62], v[63], v[64], v[66], v[57]))
    elif v[36]:
        out.append(probe(v[36], v[37], v[38], v[65], v[56]))
    else:
        out.append("</td><td>")
    bck = v[20] == 1
    out.append(f"</td><td class=ac>{_v(v[18])}/{_v(v[99])}</td>"
               f"<td class=ac>{'-' if bck else 'Y'}</td><td class=ac>{'Y' if bck else '-'}</td>")
    if status == "MAINT (resolution)":
        out.append("<td class=ac colspan=3>resolution</td>")
    elif v[21] is not None:
        hana = v[45] is not None
        out.append(f"<td><u>{_v(v[21])}" + (f"/{_v(v[45])}" if hana else "")
                   + f"<div class=tips>Failed Health Checks{'/Health Analyses' if hana else ''}</div></u></td>"
                   f"<td>{_v(v[22] or 0)}</td><td>{human_time(v[24] or 0)}</td>")
    elif status != "MAINT" and v[31]:
        out.append(f'<td class=ac colspan=3><a class=lfsb href="#{_v(v[31])}">via {_v(v[31])}</a></td>')
    else:
        out.append("<td colspan=3></td>")
    out.append(f"<td class=ac>{_v(v[29])} %</td>" if v[29] is not None else "<td class=ac>-</td>")
    return "".join(out)


def _name_cell(pxname: str, r: Any, name: str, legends: bool) -> str:
    """First cell of a row: anchor and link as 2.6, with the legend tips under ``stats show-legends``."""
    anchor = f'<a name="{pxname}/{name}"></a>'
    link = f'<a class=lfsb href="#{pxname}/{name}">{name}</a>'
    if not legends or r.kind == "F":
        return anchor + link
    v = r.values
    if r.kind == "S":
        addr = _v(v[73])
        fam = "IPv6" if addr.count(":") > 1 else "IPv4"
        tips = f"{fam}: {html.escape(addr)}, id: {r.sid}"
        if v[74]:
            tips += f", cookie: '{html.escape(str(v[74]))}'"
        return f"{anchor}<u>{link}<div class=tips>{tips}</div></u>"
    tips = f"balancing: {html.escape(str(v[76] or ''))}"
    if v[74]:
        tips += f", cookie: '{html.escape(str(v[74]))}'"
    return f"<u>{anchor}{link}<div class=tips>{tips}</div></u>"


LEGEND = (
    '<table class="lgd"><tr>\n'
    '<td class="active_up">&nbsp;</td><td class="noborder">active UP </td><td class="backup_up">&nbsp;</td>'
    '<td class="noborder">backup UP </td></tr><tr>\n'
    '<td class="active_going_down"></td><td class="noborder">active UP, going down </td>'
    '<td class="backup_going_down"></td><td class="noborder">backup UP, going down </td></tr><tr>\n'
    '<td class="active_going_up"></td><td class="noborder">active DOWN, going up </td>'
    '<td class="backup_going_up"></td><td class="noborder">backup DOWN, going up </td></tr><tr>\n'
    '<td class="active_down"></td><td class="noborder">active or backup DOWN &nbsp;</td>'
    '<td class="active_no_check"></td><td class="noborder">not checked </td></tr><tr>\n'
    '<td class="maintain"></td><td class="noborder" colspan="3">active or backup DOWN for maintenance (MAINT) '
    '&nbsp;</td></tr><tr>\n'
    '<td class="active_draining"></td><td class="noborder" colspan="3">active or backup SOFT STOPPED for '
    'maintenance &nbsp;</td></tr></table>\n'
    'Note: "NOLB"/"DRAIN" = UP with load-balancing disabled.'
)


def _general_info(state: Any, conf: Any, now: float, wall: float, flt: StatFilter, refresh: bool) -> str:
    """2.6's "General process information" block: process and system limits, running tasks,
    the legend of the row colours, the "Display option" box and the external links."""
    ops = getattr(state, "ops", None)
    info = {pos: val for pos, _name, val in info_fields(state, now, wall, ops.sysinfo() if ops is not None else None)}
    base = html.escape(conf.uri)
    kbps = _n(info.get(63)) * 8 / 1000
    out = ['<hr width="100%" class="hr">\n<h3>&gt; General process information</h3>\n'
           '<table border=0><tr><td align="left" nowrap width="1%">\n'
           f"<p><b>pid = </b> {state.pid} (process #1, nbproc = 1, nbthread = {info.get(3, 1)})<br>\n"
           f"<b>uptime = </b> {format_uptime(int(state.uptime(now)))}<br>\n"
           f"<b>system limits:</b> memmax = unlimited; ulimit-n = {info.get(13)}<br>\n"
           f"<b>maxsock = </b> {info.get(14)}; <b>maxconn = </b> {info.get(15)}; <b>maxpipes = </b> 0<br>\n"
           f"current conns = {info.get(17)}; current pipes = 0/0; conn rate = {info.get(26)}/sec; "
           f"bit rate = {kbps:.3f} kbps<br>\n"
           f"Running tasks: {_n(info.get(48))}/{_n(info.get(47))}; idle = {_n(info.get(49))} %<br>\n"
           '</td><td align="center" nowrap>\n' + LEGEND +
           '</td><td align="left" valign="top" nowrap width="1%"><b>Display option:</b>'
           '<ul style="margin-top: 0.25em;">']
    # 2.6 carries the page's options and scope in its links (";up", ";norefresh", "?scope=")
    scope = f"?scope={flt.search}" if flt.search else ""
    up = ";up" if flt.hide_down else ""
    noref = "" if refresh else ";norefresh"
    out.append(f'<li><form method="GET">Scope : <input value="{flt.search}" name="scope" size="8" '
               'maxlength="20" tabindex="1"/></form>\n')
    if flt.hide_down:
        out.append(f'<li><a href="{base}{noref}{scope}">Show all servers</a><br>\n')
    else:
        out.append(f'<li><a href="{base};up{noref}{scope}">Hide \'DOWN\' servers</a><br>\n')
    if conf.refresh:
        if refresh:
            out.append(f'<li><a href="{base}{up};norefresh{scope}">Disable refresh</a><br>\n')
        else:
            out.append(f'<li><a href="{base}{up}{scope}">Enable refresh</a><br>\n')
    csv_noref = ";norefresh" if conf.refresh else ""
    out.append(f'<li><a href="{base}{up}{noref}{scope}">Refresh now</a><br>\n'
               f'<li><a href="{base};csv{csv_noref}{scope}">CSV export</a><br>\n'
               f'<li><a href="{base};json{csv_noref}{scope}">JSON export</a> (<a href="{base};json-schema">schema</a>)<br>\n'
               '</ul></td><td align="left" valign="top" nowrap width="1%"><b>External resources:</b>'
               '<ul style="margin-top: 0.25em;">\n'
               '<li><a href="http://www.haproxy.org/">Primary site</a><br>\n'
               '<li><a href="http://www.haproxy.org/#down">Updates (v2.6)</a><br>\n'
               '<li><a href="http://www.haproxy.org/#docs">Online manual</a><br>\n'
               "</ul></td></tr></table>\n")
    return "".join(out)


def render_html(state: Any, conf: Any, uri: str, now: float, wall: float, flt: StatFilter, st: str | None,
                admin: bool, refresh: bool) -> bytes:
    # the listeners' rows (option socket-stats) are not drawn on the HTML page
    rows = [r for r in collect(state, now, wall, flt) if r.kind != "L"]
    # 'stats show-node' without a name shows the process's node name; 'stats show-desc' follows it
    node = conf.show_node if conf.show_node else (getattr(state, "node", "") if conf.show_node == "" else "")
    on = f" on {html.escape(node)}" if node else ""
    desc = getattr(conf, "show_desc", None)
    out = ['<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"\n'
           '"http://www.w3.org/TR/html4/loose.dtd">\n'
           f"<html><head><title>Statistics Report for HAProxy{on}</title>\n"
           '<link rel="icon" href="data:,">\n'
           '<meta http-equiv="content-type" content="text/html; charset=iso-8859-1">\n'
           f'<style type="text/css"><!--\n{CSS}-->\n</style></head>\n<body>']
    ver = "" if conf.hide_version else \
        f" version {html.escape(version_of(state))}, released {html.escape(release_date_of(state))}"
    out.append(f'<h1><a href="http://www.haproxy.org/" style="text-decoration: none;">HAProxy{ver}</a></h1>\n'
               f"<h2>Statistics Report for pid {state.pid}{on}" + (f": {html.escape(desc)}" if desc else "")
               + "</h2>\n")
    out.append(_general_info(state, conf, now, wall, flt, refresh))
    if st and st in ST_MESSAGES:
        out.append(f"<p><div class=active_up><b>{ST_MESSAGES[st]}</b></div></p>\n")
    by_px: dict[int, list] = {}
    names: dict[int, str] = {}
    for r in rows:
        by_px.setdefault(r.iid, []).append(r)
        names[r.iid] = r.values[0]
    for iid, rs in by_px.items():
        pxname = html.escape(names[iid])
        has_srv = any(r.kind == "S" for r in rs)
        # in admin mode 2.6 gives every proxy with a backend side the first (checkbox) column
        admin_col = admin and any(r.kind == "B" for r in rs)
        if admin and has_srv:
            out.append('<form method="post">')
        title = f'<a name="{pxname}"></a><a class=px href="#{pxname}">{pxname}</a>'
        if conf.show_legends:
            kinds = {r.kind for r in rs}
            cap = "proxy" if {"F", "B"} <= kinds else "frontend" if "F" in kinds else "backend"
            mode = next((r.values[75] for r in rs if r.values[75]), "tcp")
            title = f"<a name=\"{pxname}\"></a><u><a class=px href=\"#{pxname}\">{pxname}</a>" \
                    f"<div class=tips>cap: {cap}, mode: {mode}, id: {iid}</div></u>"
        out.append(f'<table class="tbl" width="100%">\n<tr class="titre"><th class="pxname" width="10%">'
                   f'{title}</th>'
                   '<th class="empty" width="90%"></th></tr>\n</table>\n<table class="tbl" width="100%">\n'
                   '<tr class="titre">'
                   + ('<th rowspan=2 width=1><input type="checkbox" onclick="for(c in document.'
                      f"getElementsByClassName('{pxname}-checkbox')) document.getElementsByClassName("
                      f"'{pxname}-checkbox').item(c).checked = this.checked\"></th>" if admin and has_srv
                      else "<th rowspan=2></th>" if admin_col else "")
                   + '<th rowspan=2></th><th colspan=3>Queue</th><th colspan=3>Session rate</th>'
                   '<th colspan=6>Sessions</th><th colspan=2>Bytes</th><th colspan=2>Denied</th>'
                   '<th colspan=3>Errors</th><th colspan=2>Warnings</th><th colspan=9>Server</th></tr>\n'
                   '<tr class="titre"><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th>'
                   '<th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th>'
                   '<th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th>'
                   '<th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th>'
                   '<th>Dwn</th><th>Dwntme</th><th>Thrtle</th></tr>\n')
        for r in rs:
            v = r.values
            if r.kind == "S":
                cls = server_class(v)
                name = _v(v[1])
            else:
                cls = "frontend" if r.kind == "F" else "backend"
                name = "Frontend" if r.kind == "F" else "Backend"
            tds = _counter_cells(r)
            pre = ""
            if admin_col:
                pre = (f"<td><input class='{pxname}-checkbox' type=\"checkbox\" name=\"s\" value=\"{name}\"></td>"
                       if r.kind == "S" else "<td></td>")
            out.append(f'<tr class="{cls}">{pre}<td class=ac>{_name_cell(pxname, r, name, conf.show_legends)}</td>'
                       + tds + _server_group(r) + "</tr>\n")
        out.append("</table>\n")
        if admin and has_srv:
            out.append('Choose the action to perform on the checked servers : <select name=action>'
                       '<option value=""></option><option value="ready">Set state to READY</option>'
                       '<option value="drain">Set state to DRAIN</option><option value="maint">Set state to '
                       'MAINT</option><option value="dhlth">Health: disable checks</option><option value="ehlth">'
                       'Health: enable checks</option><option value="hrunn">Health: force UP</option>'
                       '<option value="hnolb">Health: force NOLB</option><option value="hdown">Health: force '
                       'DOWN</option><option value="dagent">Agent: disable checks</option><option value="eagent">'
                       'Agent: enable checks</option><option value="arunn">Agent: force UP</option>'
                       '<option value="adown">Agent: force DOWN</option><option value="shutdown">Kill Sessions'
                       '</option></select>'
                       f'<input type="hidden" name="b" value="#{iid}">&nbsp;<input type="submit" value="Apply">'
                       "</form>\n")
        out.append("<p>\n")
    out.append("</body></html>\n")
    return "".join(out).encode("latin-1", "replace")


_ACTIONS = {"ready": ("state", "ready"), "drain": ("state", "drain"), "maint": ("state", "maint"),
            "hrunn": ("health", "up"), "hnolb": ("health", "stopping"), "hdown": ("health", "down")}


def admin_post(state: Any, body: bytes, now: float, wall: float) -> str:
    """Apply a POSTed admin action; returns the ``st=`` result code."""
    try:
        form = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
    except Exception:
        return "ERRP"
    be_s = next((v for k, v in form if k == "b"), "")
    action = next((v for k, v in form if k == "action"), "")
    servers = [v for k, v in form if k == "s"]
    cli = Cli(state)
    be = cli.find_backend(be_s) if be_s else None
    if be is None or not action:
        return "ERRP"
    if not servers:
        return "NONE"  # no server checked: nothing has changed, as 2.6 answers
    done = fail = 0
    for sname in servers:
        srv = be.by_name.get(sname) if hasattr(be, "by_name") else None
        if srv is None:
            fail += 1
            continue
        if action in _ACTIONS:
            kind, arg = _ACTIONS[action]
            if kind == "state":
                cli.set_admin(be, srv, arg, now, wall)
            elif cli.set_health(be, srv, arg, now, wall):
                fail += 1
                continue
        elif action in ("dhlth", "ehlth"):
            if not srv.conf.check:
                fail += 1
                continue
            cli.set_checks(be, srv, action == "ehlth", now, wall)
        elif action == "shutdown":
            cli.cmd_shutdown("sessions", ["shutdown", "sessions", "server", f"{be.name}/{srv.name}", "", ""])
        else:
            return "UNKN"
        done += 1
    if done and fail:
        return "PART"
    return "DONE" if done else "NONE"


_SCOPE_OK = re.compile(r"[A-Za-z0-9.:_-]*")


def page_scope(rest: str) -> str:
    """The scope box's text in what follows the stats URI, read as 2.6 reads it: after the first
    "scope=" that has at least two characters after it, up to ';', '&' or ' ', 20 characters at
    most; a character other than letters, digits and ".:_-" clears it. The page then shows only
    the proxies whose name contains it, in any case (the CSV and JSON exports too)."""
    i = rest.find("scope=")
    if i < 0 or i > len(rest) - 8:
        return ""
    v = re.split(r"[;& ]", rest[i + 6:], maxsplit=1)[0][:20]
    return v if _SCOPE_OK.fullmatch(v) else ""


def handle(state: Any, conf: Any, method: str, uri: str, headers: list[tuple[str, str]], body: bytes,
           now: float, wall: float, admin_allowed: bool = False) -> Response:
    if not check_auth(conf, headers):
        realm = conf.realm or "HAProxy Statistics"
        return 401, [("content-length", str(len(UNAUTHORIZED_BODY))), ("cache-control", "no-cache"),
                     ("content-type", "text/html"), ("www-authenticate", f'Basic realm="{realm}"')], \
            UNAUTHORIZED_BODY
    base = conf.uri
    rest = uri[len(base):] if uri.startswith(base) else ""
    opts = [x for x in re.split(r"[;?&]", rest) if x]
    if method == "POST":
        code = admin_post(state, body, now, wall) if admin_allowed else "DENY"
        # 2.6's headers, in its order
        return 303, [("cache-control", "no-cache"), ("content-type", "text/plain"), ("content-length", "0"),
                     ("location", f"{base};st={code}")], b""
    flt = StatFilter(show_legends=conf.show_legends, scope=tuple(conf.scopes), search=page_scope(rest))
    st = None
    refresh = True
    fmt = "html"
    for o in opts:
        if o in ("csv", "json", "typed"):
            fmt = o
        elif o == "up":
            flt.hide_down = True
        elif o == "no-maint":
            flt.hide_maint = True
        elif o == "norefresh":
            refresh = False
        elif o.startswith("st="):
            st = o[3:]
    hdrs = [("cache-control", "no-cache")]
    if fmt == "html":
        hdrs.append(("content-type", "text/html"))
        data = render_html(state, conf, uri, now, wall, flt, st, admin_allowed, refresh)
    elif fmt == "json":
        hdrs.append(("content-type", "application/json"))
        data = render_json(collect(state, now, wall, flt)).encode()
    else:
        hdrs.append(("content-type", "text/plain"))
        rows = collect(state, now, wall, flt)
        data = (render_csv(rows) if fmt == "csv" else render_typed(rows)).encode("latin-1", "replace")
    if refresh and conf.refresh:
        hdrs.append(("refresh", str(conf.refresh // 1000)))
    return 200, hdrs, data
