"""Pure view-model of the monitor: turns parsed ``show stat``/``show info`` into table cells.

No I/O, no Textual: the app feeds it snapshots and renders what it returns, so the
formatting, sparklines, filtering and sorting are unit-testable on their own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping

from rich.text import Text

__all__ = [
    "SortText",
    "Column",
    "PROXY_COLUMNS",
    "SERVER_COLUMNS",
    "History",
    "fmt_bytes",
    "fmt_duration",
    "sparkline",
    "status_style",
    "proxy_cells",
    "server_cells",
    "split_rows",
    "ServerRows",
    "FILTER_FIELDS",
    "VIEWS",
    "VIEW_KEYS",
    "RATE_VIEWS",
    "ViewColumn",
    "view_cells",
    "fit_columns",
    "check_text",
    "server_cells_update",
    "row_matches",
    "info_summary",
]

SPARK_CHARS = " ▁▂▃▄▅▆▇█"
SPARK_LEN = 10


class SortText(Text):
    """A table cell that carries its own sort key (numbers sort as numbers)."""

    __slots__ = ("sk",)

    def __init__(self, text: str, sk: object, style: str = "", justify: str | None = None) -> None:
        super().__init__(text, style=style, justify=justify, no_wrap=True, end="")  # type: ignore[arg-type]
        self.sk = sk


class Column:
    __slots__ = ("key", "label", "numeric")

    def __init__(self, key: str, label: str, numeric: bool = True) -> None:
        self.key = key
        self.label = label
        self.numeric = numeric


PROXY_COLUMNS: tuple[Column, ...] = (
    Column("name", "Proxy", False),
    Column("kind", "Type", False),
    Column("status", "Status", False),
    Column("scur", "Cur"),
    Column("smax", "Max"),
    Column("slim", "Limit"),
    Column("rate", "Rate/s"),
    Column("rate_spark", "Rate hist", False),
    Column("qcur", "Queue"),
    Column("qmax", "QMax"),
    Column("q_spark", "Queue hist", False),
    Column("bin", "In"),
    Column("bout", "Out"),
    Column("errors", "Errors"),
    Column("servers", "Act/Bck", False),
    Column("e5xx_spark", "5xx hist", False),
    Column("rt_spark", "Resp ms hist", False),
)

SERVER_COLUMNS: tuple[Column, ...] = (
    Column("backend", "Backend", False),
    Column("server", "Server", False),
    Column("status", "Status", False),
    Column("weight", "Weight eff/cfg"),
    Column("role", "Role", False),
    Column("scur", "Cur"),
    Column("smax", "Max"),
    Column("qcur", "Queue"),
    Column("qmax", "QMax"),
    Column("lbtot", "LB tot"),
    Column("rate", "Rate/s"),
    Column("check", "Last check", False),
    Column("downtime", "Downtime"),
    Column("lastchg", "Last chg"),
)


def _int(v: str | None, default: int = 0) -> int:
    if not v:
        return default
    try:
        return int(v)
    except ValueError:
        return default


def fmt_bytes(n: int) -> str:
    """Compact byte count: ``950``, ``12.3K``, ``4.0M``, ``1.2G``."""
    if n < 1000:
        return str(n)
    for unit in "KMGTP":
        n_f = n / 1024.0
        if n_f < 1000 or unit == "P":
            return f"{n_f:.1f}{unit}"
        n = int(n_f)
    return str(n)  # pragma: no cover


def fmt_duration(seconds: int) -> str:
    """``45s``, ``3m07s``, ``2h05m``, ``3d04h`` (empty string for negative)."""
    if seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def sparkline(values: Iterable[int], width: int = SPARK_LEN) -> str:
    """A fixed-width text sparkline of the last ``width`` values (scaled to their max)."""
    vals = list(values)[-width:]
    top = max(vals) if vals else 0
    if top <= 0:
        chars = ["▁" if vals else " "] * len(vals)
    else:
        n = len(SPARK_CHARS) - 1
        chars = [SPARK_CHARS[max(1, -(-v * n // top))] if v > 0 else "▁" for v in vals]
    return "".join(chars).rjust(width)


def status_style(status: str) -> str:
    """Colour for a status word, from the 8 basic ANSI colours only."""
    if status.startswith(("UP", "OPEN")):
        return "bold green" if status in ("UP", "OPEN") else "yellow"
    if status.startswith("DOWN"):
        return "bold red" if status == "DOWN" else "yellow"
    if status.startswith("MAINT"):
        return "bold magenta"
    if status in ("DRAIN", "NOLB"):
        return "bold blue"
    if status in ("no check",):
        return "cyan"
    if status in ("STOP", "PAUSED", "FULL"):
        return "bold yellow"
    return ""


class History:
    """Per-backend rolling history of the session rate and the queue length."""

    __slots__ = ("rate", "queue", "maxlen", "e5xx", "rt", "_last5xx")

    def __init__(self, maxlen: int = SPARK_LEN) -> None:
        self.maxlen = maxlen
        self.rate: dict[str, deque[int]] = {}
        self.queue: dict[str, deque[int]] = {}
        self.e5xx: dict[str, deque[int]] = {}  # new 5xx responses per refresh
        self.rt: dict[str, deque[int]] = {}  # average response time (ms), as the CSV's rtime
        self._last5xx: dict[str, int] = {}

    def add_http(self, key: str, total_5xx: int, rtime: int) -> None:
        last = self._last5xx.get(key)
        self._last5xx[key] = total_5xx
        d = self.e5xx.get(key)
        if d is None:
            d = self.e5xx[key] = deque(maxlen=self.maxlen)
            self.rt[key] = deque(maxlen=self.maxlen)
        d.append(max(0, total_5xx - last) if last is not None else 0)
        self.rt[key].append(rtime)

    def add(self, key: str, rate: int, queue: int) -> None:
        r = self.rate.get(key)
        if r is None:
            r = self.rate[key] = deque(maxlen=self.maxlen)
            self.queue[key] = deque(maxlen=self.maxlen)
        r.append(rate)
        self.queue[key].append(queue)


def _num(v: str, justify: str = "right") -> SortText:
    return SortText(v, _int(v, -1), justify=justify)


def proxy_cells(row: dict[str, str], hist: History | None = None) -> tuple[str, list[SortText]]:
    """Key and cells of one FRONTEND/BACKEND row (columns of PROXY_COLUMNS)."""
    name = row.get("pxname", "")
    sv = row.get("svname", "")
    is_fe = sv == "FRONTEND"
    key = f"{name}/{sv}"
    status = row.get("status", "")
    rate = _int(row.get("rate"))
    qcur = _int(row.get("qcur"))
    if hist is not None:
        hist.add(key, rate, qcur)
        hist.add_http(key, _int(row.get("hrsp_5xx")), _int(row.get("rtime")))
        rs = sparkline(hist.rate[key])
        qs = sparkline(hist.queue[key]) if not is_fe else ""
        e5 = sparkline(hist.e5xx[key])
        rt = sparkline(hist.rt[key]) if not is_fe else ""
    else:
        rs = qs = e5 = rt = ""
    if is_fe:
        errors = _int(row.get("ereq"))
        err_txt = f"req {errors}"
        servers = ""
    else:
        errors = _int(row.get("econ")) + _int(row.get("eresp"))
        err_txt = f"con {_int(row.get('econ'))} rsp {_int(row.get('eresp'))}"
        servers = f"{_int(row.get('act'))}/{_int(row.get('bck'))}"
    bin_, bout = _int(row.get("bin")), _int(row.get("bout"))
    cells = [
        SortText(name, name, style="bold"),
        SortText("FE" if is_fe else "BE", sv),
        SortText(status, status, style=status_style(status)),
        _num(row.get("scur", "")),
        _num(row.get("smax", "")),
        _num(row.get("slim", "")),
        _num(row.get("rate", "")),
        SortText(rs, rate, style="green"),
        SortText(
            "" if is_fe else row.get("qcur", ""), qcur, style="bold yellow" if qcur else "", justify="right"
        ),
        SortText("" if is_fe else row.get("qmax", ""), _int(row.get("qmax")), justify="right"),
        SortText(qs, qcur, style="yellow"),
        SortText(fmt_bytes(bin_), bin_, justify="right"),
        SortText(fmt_bytes(bout), bout, justify="right"),
        SortText(err_txt, errors, style="red" if errors else ""),
        SortText(servers, _int(row.get("act")), justify="right"),
        SortText(e5, _int(row.get("hrsp_5xx")), style="red"),
        SortText(rt, _int(row.get("rtime")), style="cyan"),
    ]
    return key, cells


def _c_backend(r: dict[str, str]) -> SortText:
    be = r.get("pxname", "")
    return SortText(be, be)


def _c_server(r: dict[str, str]) -> SortText:
    sv = r.get("svname", "")
    return SortText(sv, (r.get("pxname", ""), _int(r.get("sid")), sv), style="bold")


def _c_status(r: dict[str, str]) -> SortText:
    status = r.get("status", "")
    return SortText(status, status, style=status_style(status))


def _c_weight(r: dict[str, str]) -> SortText:
    """Effective weight (2.6's CSV ``weight``) / configured weight (``show servers state``'s
    ``srv_iweight``, put in the row as ``iweight``; ``?`` until known)."""
    weight = r.get("weight", "")
    cfg = r.get("iweight", "") or "?"
    return SortText(f"{weight}/{cfg}", _int(weight), justify="right")


def _c_role(r: dict[str, str]) -> SortText:
    backup = r.get("bck") == "1"
    return SortText("bck" if backup else "act", backup, style="cyan" if backup else "")


def _c_qcur(r: dict[str, str]) -> SortText:
    q = r.get("qcur", "")
    qn = _int(q)
    return SortText(q, qn, style="bold yellow" if qn else "", justify="right")


def _c_check(r: dict[str, str]) -> SortText:
    chk = r.get("check_status", "")
    if not chk:
        return SortText("-", "")
    dur = r.get("check_duration", "")
    style = "green" if chk.endswith("OK") else ("red" if chk not in ("INI", "UNK") else "")
    return SortText(f"{chk} {dur}ms" if dur else chk, chk, style=style)


def _c_duration(field: str) -> Callable[[dict[str, str]], SortText]:
    def build(r: dict[str, str]) -> SortText:
        v = r.get(field)
        n = _int(v, -1)
        return SortText(fmt_duration(n) if v else "", n, justify="right")

    return build


def _c_num(field: str) -> Callable[[dict[str, str]], SortText]:
    def build(r: dict[str, str]) -> SortText:
        return _num(r.get(field, ""))

    return build


# For each column of SERVER_COLUMNS: the raw fields it shows and how to build its cell.
SERVER_CELL_SOURCES: tuple[tuple[tuple[str, ...], Callable[[dict[str, str]], SortText]], ...] = (
    (("pxname",), _c_backend),
    (("pxname", "svname", "sid"), _c_server),
    (("status",), _c_status),
    (("weight", "iweight"), _c_weight),
    (("bck",), _c_role),
    (("scur",), _c_num("scur")),
    (("smax",), _c_num("smax")),
    (("qcur",), _c_qcur),
    (("qmax",), _c_num("qmax")),
    (("lbtot",), _c_num("lbtot")),
    (("rate",), _c_num("rate")),
    (("check_status", "check_duration"), _c_check),
    (("downtime",), _c_duration("downtime")),
    (("lastchg",), _c_duration("lastchg")),
)


def server_cells(row: dict[str, str]) -> tuple[str, list[SortText]]:
    """Key (``backend/server``) and cells of one server row (columns of SERVER_COLUMNS)."""
    return f"{row.get('pxname', '')}/{row.get('svname', '')}", [b(row) for _, b in SERVER_CELL_SOURCES]


def server_cells_update(
    row: dict[str, str], prev_row: dict[str, str], prev: list[SortText]
) -> list[SortText]:
    """Cells of ``row`` rebuilding only the columns whose raw fields differ from ``prev_row``.

    Returns ``prev`` itself when nothing changed (the caller then skips the row). On 1,000
    servers most refreshes only change a column or two (lastchg ticks every second).
    """
    out: list[SortText] | None = None
    g, pg = row.get, prev_row.get
    for i, (fields, build) in enumerate(SERVER_CELL_SOURCES):
        for f in fields:
            if g(f) != pg(f):
                if out is None:
                    out = list(prev)
                out[i] = build(row)
                break
    return prev if out is None else out


class ServerRows(Mapping[str, dict[str, str]]):
    """The servers of the last ``show stat``, by ``backend/server``, each turned into a dict only
    when asked (10,000 dicts a second would be most of the monitor's cost).

    ``fields[key]`` is the row's list of fields in ``header`` order; ``extra`` adds per-key
    fields that are not in the CSV (``iweight``).
    """

    __slots__ = ("header", "idx", "fields", "extra", "_dicts")

    def __init__(
        self,
        header: list[str] | None = None,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.header = header or []
        self.idx = {name: i for i, name in enumerate(self.header)}
        self.fields = fields or {}
        self.extra = extra or {}
        self._dicts: dict[str, dict[str, str]] = {}

    def __getitem__(self, key: str) -> dict[str, str]:
        d = self._dicts.get(key)
        if d is None:
            d = dict(zip(self.header, self.fields[key], strict=False))
            more = self.extra.get(key)
            if more:
                d.update(more)
            self._dicts[key] = d
        return d

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __contains__(self, key: object) -> bool:
        return key in self.fields

    def field(self, key: str, name: str) -> str:
        """One field of one row without building its dict."""
        more = self.extra.get(key)
        if more and name in more:
            return more[name]
        i = self.idx.get(name)
        rec = self.fields[key]
        return rec[i] if i is not None and i < len(rec) else ""

    def mini(self, key: str, names: Iterable[str]) -> dict[str, str]:
        """A dict of just ``names`` (enough for one cell builder or the filter)."""
        return {n: self.field(key, n) for n in names}


def split_rows(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(frontend+backend rows, server rows) of a ``show stat`` dump; listener rows are skipped."""
    proxies: list[dict[str, str]] = []
    servers: list[dict[str, str]] = []
    for r in rows:
        t = r.get("type")
        if t is None:
            sv = r.get("svname", "")
            t = "0" if sv == "FRONTEND" else "1" if sv == "BACKEND" else "2"
        if t in ("0", "1"):
            proxies.append(r)
        elif t == "2":
            servers.append(r)
    return proxies, servers


FILTER_FIELDS = ("pxname", "svname", "addr", "status")


def row_matches(row: dict[str, str], needle: str) -> bool:
    """Filter test: case-insensitive substring of ``backend/server``, address or status."""
    if not needle:
        return True
    n = needle.lower()
    hay = f"{row.get('pxname', '')}/{row.get('svname', '')} {row.get('addr', '')} {row.get('status', '')}"
    return n in hay.lower()


def info_summary(info: dict[str, str]) -> str:
    """One line from ``show info``: version, pid, uptime, connections, rates."""
    if not info:
        return "(no show info yet)"
    parts = [
        f"{info.get('Name', 'HAProxy')} {info.get('Version', '?')}",
        f"pid {info.get('Pid', '?')}",
        f"up {info.get('Uptime', '?')}",
        f"conns {info.get('CurrConns', '?')}/{info.get('Maxconn', '?')}",
        f"total {info.get('CumConns', '?')}",
        f"req {info.get('CumReq', '?')}",
        f"conn rate {info.get('ConnRate', '?')}/s (max {info.get('MaxConnRate', '?')})",
        f"sess rate {info.get('SessRate', '?')}/s (max {info.get('MaxSessRate', '?')})",
    ]
    return "  ".join(parts)


# ---- views: the same rows seen through other columns (keys 1-5) --------------------------

Ctx = tuple[dict[str, str] | None, float]  # (the row at the previous refresh, seconds since)
Builder = Callable[[dict[str, str], "dict[str, str] | None", float], SortText]


class ViewColumn(Column):
    """A column of a view: which raw fields it reads, how it builds its cell, and its priority
    when the terminal is too narrow (lower drops first; 9 never drops)."""

    __slots__ = ("build", "prio")

    def __init__(self, key: str, label: str, build: Builder, prio: int = 5, numeric: bool = True) -> None:
        super().__init__(key, label, numeric)
        self.build = build
        self.prio = prio


def _plain(field: str, style_if: str = "") -> Builder:
    def build(r: dict[str, str], prev: dict[str, str] | None, dt: float) -> SortText:
        v = r.get(field, "")
        n = _int(v, -1)
        return SortText(v, n, style=style_if if n > 0 else "", justify="right")

    return build


def _bytes(field: str) -> Builder:
    def build(r: dict[str, str], prev: dict[str, str] | None, dt: float) -> SortText:
        v = r.get(field, "")
        n = _int(v, -1)
        return SortText(fmt_bytes(n) if v else "", n, justify="right")

    return build


def fmt_rate(x: float) -> str:
    if x <= 0:
        return "0"
    if x < 10:
        return f"{x:.1f}"
    return fmt_bytes(int(x)) if x >= 1000 else f"{x:.0f}"


def per_second(r: dict[str, str], prev: dict[str, str] | None, dt: float, *fields: str) -> float:
    """Rate of a sum of counters between two refreshes (0 on the first, or after a reset)."""
    if prev is None or dt <= 0:
        return 0.0
    cur = sum(_int(r.get(f)) for f in fields)
    old = sum(_int(prev.get(f)) for f in fields)
    return max(0.0, (cur - old) / dt)


def _rate_of(*fields: str, style: str = "") -> Builder:
    def build(r: dict[str, str], prev: dict[str, str] | None, dt: float) -> SortText:
        x = per_second(r, prev, dt, *fields)
        return SortText(fmt_rate(x), x, style=style if x > 0 else "", justify="right")

    return build


def _ms(field: str) -> Builder:
    def build(r: dict[str, str], prev: dict[str, str] | None, dt: float) -> SortText:
        v = r.get(field, "")
        n = _int(v, -1)
        return SortText(f"{n}ms" if v else "", n, justify="right")

    return build


def check_text(r: dict[str, str]) -> str:
    """``L7STS/404 3ms``: the check status, with its code when there is one (2.6's page shows
    the same), and the duration; ``-`` without checks."""
    chk = r.get("check_status", "")
    if not chk:
        return "-"
    code = r.get("check_code", "")
    dur = r.get("check_duration", "")
    text = f"{chk}/{code}" if code else chk
    return f"{text} {dur}ms" if dur else text


def _check(r: dict[str, str], prev: dict[str, str] | None = None, dt: float = 0) -> SortText:
    chk = r.get("check_status", "")
    style = "green" if chk.endswith("OK") else ("red" if chk and chk not in ("INI", "UNK") else "")
    return SortText(check_text(r), chk, style=style)


def _desc(field: str) -> Builder:
    def build(r: dict[str, str], prev: dict[str, str] | None, dt: float) -> SortText:
        v = r.get(field, "")
        return SortText(v, v, style="dim")

    return build


def _name(r: dict[str, str], prev: dict[str, str] | None, dt: float) -> SortText:
    return _c_server(r)


def _be(r: dict[str, str], prev: dict[str, str] | None, dt: float) -> SortText:
    return _c_backend(r)


def _st(r: dict[str, str], prev: dict[str, str] | None, dt: float) -> SortText:
    return _c_status(r)


def _wrap(fn: Callable[[dict[str, str]], SortText]) -> Builder:
    def build(r: dict[str, str], prev: dict[str, str] | None, dt: float) -> SortText:
        return fn(r)

    return build


def _errors_total(r: dict[str, str], prev: dict[str, str] | None, dt: float) -> SortText:
    x = per_second(r, prev, dt, "econ", "eresp", "dresp", "ereq", "dreq")
    return SortText(fmt_rate(x), x, style="bold red" if x > 0 else "", justify="right")


_HEAD: tuple[ViewColumn, ...] = (
    ViewColumn("backend", "Backend", _be, 9, False),
    ViewColumn("server", "Server", _name, 9, False),
    ViewColumn("status", "Status", _st, 9, False),
)

VIEWS: dict[str, tuple[ViewColumn, ...]] = {
    "status": _HEAD
    + (
        ViewColumn("weight", "Weight eff/cfg", _wrap(_c_weight), 8),
        ViewColumn("role", "Role", _wrap(_c_role), 3, False),
        ViewColumn("scur", "Cur", _plain("scur"), 7),
        ViewColumn("smax", "Max", _plain("smax"), 2),
        ViewColumn("qcur", "Queue", _wrap(_c_qcur), 6),
        ViewColumn("qmax", "QMax", _plain("qmax"), 1),
        ViewColumn("lbtot", "LB tot", _plain("lbtot"), 2),
        ViewColumn("rate", "Rate/s", _plain("rate"), 5),
        ViewColumn("check", "Check", _check, 8, False),
        ViewColumn("downtime", "Downtime", _wrap(_c_duration("downtime")), 4),
        ViewColumn("lastchg", "Last chg", _wrap(_c_duration("lastchg")), 5),
        ViewColumn("check_desc", "Check detail", _desc("check_desc"), 0, False),
    ),
    "traffic": _HEAD
    + (
        ViewColumn("scur", "Cur", _plain("scur"), 8),
        ViewColumn("smax", "Max", _plain("smax"), 5),
        ViewColumn("slim", "Limit", _plain("slim"), 3),
        ViewColumn("stot", "Total", _plain("stot"), 7),
        ViewColumn("rate", "Sess/s", _plain("rate"), 8),
        ViewColumn("rate_max", "Max/s", _plain("rate_max"), 4),
        ViewColumn("lbtot", "LB tot", _plain("lbtot"), 2),
        ViewColumn("bin", "Bytes in", _bytes("bin"), 7),
        ViewColumn("bout", "Bytes out", _bytes("bout"), 7),
        ViewColumn("bin_rate", "In/s", _rate_of("bin"), 6),
        ViewColumn("bout_rate", "Out/s", _rate_of("bout"), 6),
        ViewColumn("qcur", "Queue", _wrap(_c_qcur), 5),
        ViewColumn("lastsess", "Last sess", _wrap(_c_duration("lastsess")), 1),
    ),
    "http": _HEAD
    + (
        ViewColumn(
            "req_s",
            "Req/s",
            _rate_of("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"),
            8,
        ),
        ViewColumn("hrsp_1xx", "1xx", _plain("hrsp_1xx"), 2),
        ViewColumn("hrsp_2xx", "2xx", _plain("hrsp_2xx"), 6),
        ViewColumn("hrsp_3xx", "3xx", _plain("hrsp_3xx"), 3),
        ViewColumn("hrsp_4xx", "4xx", _plain("hrsp_4xx", "yellow"), 6),
        ViewColumn("hrsp_5xx", "5xx", _plain("hrsp_5xx", "red"), 7),
        ViewColumn("hrsp_other", "Other", _plain("hrsp_other"), 1),
        ViewColumn("r2xx", "2xx/s", _rate_of("hrsp_2xx"), 4),
        ViewColumn("r4xx", "4xx/s", _rate_of("hrsp_4xx", style="yellow"), 5),
        ViewColumn("r5xx", "5xx/s", _rate_of("hrsp_5xx", style="bold red"), 8),
    ),
    "errors": _HEAD
    + (
        ViewColumn("econ", "ECONN", _plain("econ", "red"), 8),
        ViewColumn("ereq", "EREQ", _plain("ereq", "red"), 6),
        ViewColumn("eresp", "ERESP", _plain("eresp", "red"), 8),
        ViewColumn("dreq", "DREQ", _plain("dreq", "yellow"), 4),
        ViewColumn("dresp", "DRESP", _plain("dresp", "yellow"), 5),
        ViewColumn("wretr", "Retries", _plain("wretr", "yellow"), 6),
        ViewColumn("wredis", "Redisp", _plain("wredis", "yellow"), 5),
        ViewColumn("chkfail", "Chk fail", _plain("chkfail", "red"), 6),
        ViewColumn("chkdown", "Chk down", _plain("chkdown", "red"), 7),
        ViewColumn("cli_abrt", "Cli abrt", _plain("cli_abrt"), 2),
        ViewColumn("srv_abrt", "Srv abrt", _plain("srv_abrt"), 2),
        ViewColumn("err_s", "Err/s", _errors_total, 7),
    ),
    "timings": _HEAD
    + (
        ViewColumn("qtime", "Queue avg", _ms("qtime"), 6),
        ViewColumn("ctime", "Conn avg", _ms("ctime"), 7),
        ViewColumn("rtime", "Resp avg", _ms("rtime"), 8),
        ViewColumn("ttime", "Total avg", _ms("ttime"), 8),
        ViewColumn("qtime_max", "Queue max", _ms("qtime_max"), 3),
        ViewColumn("ctime_max", "Conn max", _ms("ctime_max"), 4),
        ViewColumn("rtime_max", "Resp max", _ms("rtime_max"), 5),
        ViewColumn("ttime_max", "Total max", _ms("ttime_max"), 5),
        ViewColumn("check", "Check", _check, 2, False),
    ),
}
RATE_VIEWS = frozenset({"traffic", "http", "errors"})
VIEW_KEYS: dict[str, str] = {"1": "status", "2": "traffic", "3": "http", "4": "errors", "5": "timings"}


def view_cells(view: str, row: dict[str, str], prev: dict[str, str] | None, dt: float) -> list[SortText]:
    """The cells of one row (server, or proxy with its name in the Server column) in a view."""
    return [c.build(row, prev, dt) for c in VIEWS[view]]


def fit_columns(cols: tuple[ViewColumn, ...], widths: list[int], room: int) -> list[int]:
    """Indexes of the columns to draw in ``room`` cells: every column if they fit, else the
    lowest priorities are dropped first (the order on screen is kept)."""
    need = sum(w + 2 for w in widths) + 1
    keep = set(range(len(cols)))
    for i in sorted(range(len(cols)), key=lambda i: (cols[i].prio, -i)):
        if need <= room:
            break
        if cols[i].prio >= 9:
            continue
        keep.discard(i)
        need -= widths[i] + 2
    return sorted(keep)


def _ago(v: str | None) -> str:
    n = _int(v, -1)
    return f"{fmt_duration(n)} ago" if n >= 0 and v else "never"


def _dash(v: str | None) -> str:
    return v if v else "-"


def detail_text(
    key: str, r: dict[str, str], hist: History, prev: dict[str, str] | None = None, dt: float = 0.0
) -> Text:
    """The detail pane of one server or FRONTEND/BACKEND row."""
    g = r.get
    status = g("status", "")
    t = Text()
    t.append(key, style="bold")
    t.append("  ")
    t.append(status, style=status_style(status))
    lastchg = _int(g("lastchg"), -1)
    if lastchg >= 0 and g("lastchg"):
        t.append(f" for {fmt_duration(lastchg)}")
    t.append("\n")
    lines: list[tuple[str, str]] = []
    sv = g("svname", "")
    r5 = per_second(r, prev, dt, "hrsp_5xx")
    if sv not in ("FRONTEND", "BACKEND"):
        lines += [
            ("address", f"{_dash(g('addr'))}" + (f"  cookie {g('cookie')}" if g("cookie") else "")),
            ("check", check_text(r)),
        ]
        if g("check_desc"):
            lines.append(("", g("check_desc", "")))
        if g("last_chk") and g("last_chk") != g("check_desc"):
            lines.append(("", f"last: {g('last_chk')}"))
        if g("check_health"):
            lines.append(("", f"health {g('check_health')} (rise {g('check_rise')}, fall {g('check_fall')})"))
        lines += [
            ("last change", f"{_ago(g('lastchg'))}   downtime {fmt_duration(_int(g('downtime'))) or '-'}"),
            ("", f"check fails {_dash(g('chkfail'))}, downs {_dash(g('chkdown'))}"),
            (
                "agent",
                f"{g('agent_status')}/{g('agent_code')} {g('agent_desc', '')}".strip()
                if g("agent_status")
                else "-",
            ),
            (
                "weights",
                f"user {_dash(g('uweight'))}  effective {_dash(g('weight'))}  "
                f"configured {_dash(g('iweight'))}",
            ),
            ("role", "backup" if g("bck") == "1" else "active"),
            ("maxconn", f"{_dash(g('slim'))}   current {_dash(g('scur'))}, max {_dash(g('smax'))}"),
            ("queue", f"{_dash(g('qcur'))} (max {_dash(g('qmax'))}, limit {_dash(g('qlimit'))})"),
            ("sessions", f"total {_dash(g('stot'))}  LB {_dash(g('lbtot'))}  last {_ago(g('lastsess'))}"),
        ]
    else:
        lines += [
            ("mode", f"{_dash(g('mode'))}" + (f"  balance {g('algo')}" if g("algo") else "")),
            ("sessions", f"current {_dash(g('scur'))}, max {_dash(g('smax'))}, limit {_dash(g('slim'))}"),
            ("", f"total {_dash(g('stot'))}, rate {_dash(g('rate'))}/s (max {_dash(g('rate_max'))})"),
        ]
        if sv == "BACKEND":
            lines += [
                ("servers", f"active {_dash(g('act'))}, backup {_dash(g('bck'))}, weight {_dash(g('weight'))}"),
                ("queue", f"{_dash(g('qcur'))} (max {_dash(g('qmax'))})"),
                ("last sess", _ago(g("lastsess"))),
                ("downtime", fmt_duration(_int(g("downtime"))) or "-"),
            ]
        else:
            lines.append(("requests", f"total {_dash(g('req_tot'))}, {_dash(g('req_rate'))}/s"))
    lines += [
        ("bytes", f"in {fmt_bytes(_int(g('bin')))}, out {fmt_bytes(_int(g('bout')))}"),
        (
            "http",
            " ".join(f"{c}:{_dash(g('hrsp_' + c))}" for c in ("1xx", "2xx", "3xx", "4xx", "5xx")),
        ),
        (
            "errors",
            f"conn {_dash(g('econ'))} req {_dash(g('ereq'))} resp {_dash(g('eresp'))} "
            f"retr {_dash(g('wretr'))} redis {_dash(g('wredis'))}",
        ),
        (
            "timings",
            f"q {_dash(g('qtime'))} c {_dash(g('ctime'))} r {_dash(g('rtime'))} t {_dash(g('ttime'))} ms",
        ),
        (
            "max",
            f"q {_dash(g('qtime_max'))} c {_dash(g('ctime_max'))} r {_dash(g('rtime_max'))} "
            f"t {_dash(g('ttime_max'))} ms",
        ),
    ]
    for label, value in lines:
        t.append(f"{label:<12}", style="bold" if label else "")
        t.append(value + "\n")
    if key in hist.rate:
        t.append(f"{'5xx/s':<12}", style="bold")
        t.append(sparkline(hist.rate[key], 24), style="red")
        t.append(f" {fmt_rate(r5)}\n")
        t.append(f"{'resp time':<12}", style="bold")
        t.append(sparkline(hist.queue[key], 24), style="cyan")
        t.append(f" {_dash(g('rtime'))}ms\n")
    return t
