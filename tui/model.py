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

    __slots__ = ("rate", "queue", "maxlen")

    def __init__(self, maxlen: int = SPARK_LEN) -> None:
        self.maxlen = maxlen
        self.rate: dict[str, deque[int]] = {}
        self.queue: dict[str, deque[int]] = {}

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
        rs = sparkline(hist.rate[key])
        qs = sparkline(hist.queue[key]) if not is_fe else ""
    else:
        rs = qs = ""
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
