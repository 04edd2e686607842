"""Parse syslog datagrams and traffic lines, and compare two of them field by field. Pure.

Used by the differential tests (HAProxy vs haproxy-py through the proxy) and the sample tests:
``compare_datagrams(a, b)`` returns the list of differences ([] = same) ignoring what naturally
differs between two runs: dates, PIDs, client ports and timer values (timers are compared by
shape: "-1" must match "-1", any other value matches any other value).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "parse_datagram",
    "parse_httplog",
    "parse_tcplog",
    "parse_clf",
    "parse_message",
    "compare_datagrams",
    "compare_messages",
    "IGNORED_BY_DEFAULT",
]

_HDR_3164 = re.compile(
    r"^<(?P<pri>\d{1,3})>(?P<date>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) "
    r"(?:(?P<host>[^\s\[:]+) )?(?P<tag>[^\s\[:]+)\[(?P<pid>\d+)\]: "
)
_HDR_5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<date>\S+) (?P<host>\S+) (?P<tag>\S+) (?P<pid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|\[.*?\]) "
)
_HDR_PRI = re.compile(r"^<(?P<pri>\d{1,3})>")
_ISO = re.compile(r"^(?P<date>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ")

_HTTP = re.compile(
    r"^(?P<client_ip>\S+):(?P<client_port>\d+|-) \[(?P<date>[^\]]+)\] (?P<frontend>\S+) "
    r"(?P<backend>[^/\s]+)/(?P<server>\S+) "
    r"(?P<TR>-?\d+)/(?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tr>-?\d+)/(?P<Ta>\+?-?\d+) "
    r"(?P<status>-?\d+) (?P<bytes>\+?\d+) (?P<cc>\S+) (?P<cs>\S+) (?P<tsc>\S{4}) "
    r"(?P<ac>\d+)/(?P<fc>\d+)/(?P<bc>\d+)/(?P<sc>\d+)/(?P<rc>\+?\d+) (?P<sq>\d+)/(?P<bq>\d+)"
    r"(?: (?P<hr>\{[^}]*\}))?(?: (?P<hs>\{[^}]*\}))? \"(?P<request>.*)\"$"
)
_TCP = re.compile(
    r"^(?P<client_ip>\S+):(?P<client_port>\d+|-) \[(?P<date>[^\]]+)\] (?P<frontend>\S+) "
    r"(?P<backend>[^/\s]+)/(?P<server>\S+) (?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tt>\+?-?\d+) "
    r"(?P<bytes>\+?\d+) (?P<ts>\S{2}) "
    r"(?P<ac>\d+)/(?P<fc>\d+)/(?P<bc>\d+)/(?P<sc>\d+)/(?P<rc>\+?\d+) (?P<sq>\d+)/(?P<bq>\d+)$"
)
_CONNECT = re.compile(
    r"^Connect from (?P<client_ip>\S+):(?P<client_port>\d+) to (?P<frontend_ip>\S+):(?P<frontend_port>\d+) "
    r"\((?P<frontend>[^/]+)/(?P<mode>HTTP|TCP)\)$"
)
_CLF = re.compile(
    r'^(?P<client_ip>\S+) - - \[(?P<date>[^\]]+)\] "(?P<request>.*)" (?P<status>-?\d+) (?P<bytes>\+?\d+) '
    r'"" "" (?P<client_port>\d+) (?P<ms>\d+) "(?P<frontend>[^"]*)" "(?P<backend>[^"]*)" "(?P<server>[^"]*)" '
    r"(?P<TR>-?\d+) (?P<Tw>-?\d+) (?P<Tc>-?\d+) (?P<Tr>-?\d+) (?P<Ta>\+?-?\d+) (?P<tsc>\S{4}) "
    r"(?P<ac>\d+) (?P<fc>\d+) (?P<bc>\d+) (?P<sc>\d+) (?P<rc>\+?\d+) (?P<sq>\d+) (?P<bq>\d+) "
    r'"(?P<cc>[^"]*)" "(?P<cs>[^"]*)" ?(?P<caps>.*)$'
)

TIMERS = frozenset({"TR", "Tw", "Tc", "Tr", "Ta", "Tt"})
#: fields ignored by default: run-specific values
IGNORED_BY_DEFAULT = frozenset({"date", "pid", "client_port", "ms", "header_date"})


def parse_datagram(data: bytes | str) -> dict[str, Any]:
    """Split a datagram into header fields and ``message`` (trailing newline removed).

    Keys: ``format`` (rfc3164 | rfc5424 | priority (also "short") | timed | iso | raw), ``pri``, ``facility``, ``severity``,
    ``header_date``, ``host``, ``tag``, ``pid``, ``message``.
    """
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    if text.endswith("\n"):
        text = text[:-1]
    out: dict[str, Any] = {"host": None, "tag": None, "pid": None, "header_date": None}
    m = _HDR_3164.match(text)
    if m:
        out.update(format="rfc3164", header_date=m["date"], host=m["host"], tag=m["tag"], pid=m["pid"])
    else:
        m = _HDR_5424.match(text)
        if m:
            out.update(format="rfc5424", header_date=m["date"], host=m["host"], tag=m["tag"], pid=m["pid"])
        else:
            m = _HDR_PRI.match(text)
            out["format"] = "priority" if m else "raw"
    if m:
        pri = int(m["pri"])
        out.update(pri=pri, facility=pri >> 3, severity=pri & 7)
        rest = text[m.end():]
    else:
        out.update(pri=None, facility=None, severity=None)
        rest = text
    if out["format"] in ("priority", "raw"):
        iso = _ISO.match(rest)
        if iso:
            out["format"] = "timed" if m else "iso"
            out["header_date"] = iso["date"]
            rest = rest[iso.end():]
    out["message"] = rest
    return out


def _groups(m: re.Match[str] | None, kind: str) -> dict[str, Any] | None:
    if m is None:
        return None
    d: dict[str, Any] = {k: v for k, v in m.groupdict().items()}
    d["kind"] = kind
    return d


def parse_httplog(msg: str) -> dict[str, Any] | None:
    """Fields of an ``option httplog`` line, or None when it is not one."""
    return _groups(_HTTP.match(msg), "httplog")


def parse_tcplog(msg: str) -> dict[str, Any] | None:
    """Fields of an ``option tcplog`` line, or None."""
    return _groups(_TCP.match(msg), "tcplog")


def parse_clf(msg: str) -> dict[str, Any] | None:
    """Fields of an ``option httplog clf`` line, or None."""
    return _groups(_CLF.match(msg), "clf")


def parse_message(msg: str) -> dict[str, Any]:
    """Best-effort parse: httplog, CLF, tcplog, the default connect line, else ``{"kind": "text"}``."""
    for fn in (parse_httplog, parse_clf, parse_tcplog):
        d = fn(msg)
        if d is not None:
            return d
    d = _groups(_CONNECT.match(msg), "connect")
    if d is not None:
        return d
    return {"kind": "text", "text": msg}


def _timer_shape(v: str | None) -> str | None:
    if v is None:
        return None
    plus = "+" if v.startswith("+") else ""
    return plus + ("-1" if v.lstrip("+") == "-1" else "N")


def compare_messages(
    a: str, b: str, *, ignore: frozenset[str] | set[str] = IGNORED_BY_DEFAULT, exact_timers: bool = False
) -> list[str]:
    """Differences between two log messages (no syslog header), field by field."""
    pa, pb = parse_message(a), parse_message(b)
    if pa["kind"] != pb["kind"]:
        return [f"kind: {pa['kind']} != {pb['kind']} ({a!r} vs {b!r})"]
    diffs = []
    for key in pa:
        if key in ignore or key == "kind":
            continue
        va, vb = pa.get(key), pb.get(key)
        if key in TIMERS and not exact_timers:
            va, vb = _timer_shape(va), _timer_shape(vb)
        if va != vb:
            diffs.append(f"{key}: {va!r} != {vb!r}")
    return diffs


def compare_datagrams(
    a: bytes | str, b: bytes | str, *, ignore: frozenset[str] | set[str] = IGNORED_BY_DEFAULT,
    exact_timers: bool = False,
) -> list[str]:
    """Differences between two datagrams: header (format, priority, host, tag) then message fields.
    Dates, PIDs, client ports and timer values are ignored unless removed from ``ignore`` /
    ``exact_timers=True``."""
    da, db = parse_datagram(a), parse_datagram(b)
    diffs = []
    for key in ("format", "pri", "host", "tag", "pid", "header_date"):
        if key in ignore:
            continue
        if da.get(key) != db.get(key):
            diffs.append(f"header {key}: {da.get(key)!r} != {db.get(key)!r}")
    if isinstance(a, bytes) and isinstance(b, bytes) and (a.endswith(b"\n") != b.endswith(b"\n")):
        diffs.append("trailing newline differs")
    diffs += compare_messages(da["message"], db["message"], ignore=ignore, exact_timers=exact_timers)
    return diffs
