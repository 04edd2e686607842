"""Rebuild every captured HAProxy 2.6 datagram from a LogRecord and compare byte for byte.

Each sample datagram is parsed into its fields; a LogRecord is filled with those values (dates
included: the samples were captured in UTC, so the test runs with TZ=UTC) and formatted with
our httplog/tcplog/CLF formatter, then framed with our syslog header (same PID as the sample).
The result must equal the captured bytes exactly.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import datetime

import pytest

from haproxy_py.log import format as lf
from haproxy_py.log.compare import parse_clf, parse_datagram, parse_httplog, parse_message, parse_tcplog
from haproxy_py.log.format import LogRecord
from haproxy_py.log.syslog import build_header, frame
from tests.conftest import SAMPLES
from tests.unit.log_helpers import utc_timezone


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with utc_timezone(lf._DC.__init__):
        yield


def _sample_lines(name: str) -> list[str]:
    text = (SAMPLES / name).read_text(encoding="latin-1")
    return [ln for ln in text.splitlines() if ln.startswith("<")]


ALL_LINES = [
    (name, ln)
    for name in (
        "httplog_samples.txt", "tcplog_samples.txt", "main_instance_log.txt", "error_pages/log.txt",
        "check_log_samples.txt",
    )
    for ln in _sample_lines(name)
]


def _date(s: str) -> float:
    dt = datetime.strptime(s, "%d/%b/%Y:%H:%M:%S.%f")
    return calendar.timegm(dt.timetuple()) + dt.microsecond / 1e6


def _hdr_time(s: str, year: int = 2026) -> float:
    dt = datetime.strptime(f"{year} {s}", "%Y %b %d %H:%M:%S")
    return float(calendar.timegm(dt.timetuple()))


def _int(s: str) -> int:
    return int(s.lstrip("+"))


def _common(r: LogRecord, d: dict) -> None:
    r.client_ip = d["client_ip"]
    r.client_port = int(d["client_port"])
    r.frontend_name = d["frontend"]
    r.backend_name = d["backend"]
    r.server_name = None if d["server"] == "<NOSRV>" else d["server"]
    r.bytes_out = _int(d["bytes"])
    r.actconn, r.feconn, r.beconn, r.srv_conn = (int(d[k]) for k in ("ac", "fc", "bc", "sc"))
    r.retries = _int(d["rc"])
    r.redispatched = d["rc"].startswith("+")
    r.srv_queue, r.backend_queue = int(d["sq"]), int(d["bq"])


def _caps(s: str | None) -> list[str | None] | None:
    if s is None:
        return None
    inner = s[1:-1]
    return [c or None for c in inner.split("|")]


def record_from_http(d: dict) -> LogRecord:
    r = LogRecord(_date(d["date"]))
    _common(r, d)
    r.http = True
    r.set_timers(TR=int(d["TR"]), Tw=int(d["Tw"]), Tc=int(d["Tc"]), Tr=int(d["Tr"]), Ta=_int(d["Ta"]))
    r.status = int(d["status"])
    r.cli_cookie = None if d["cc"] in ("-", "") else d["cc"]
    r.srv_cookie = None if d["cs"] in ("-", "") else d["cs"]
    r.term_cause, r.term_phase, r.ck_req, r.ck_resp = d["tsc"]
    r.request_line = None if d["request"] == "<BADREQ>" else d["request"]
    r.req_caps = _caps(d.get("hr"))
    r.res_caps = _caps(d.get("hs"))
    return r


def record_from_tcp(d: dict) -> LogRecord:
    r = LogRecord(_date(d["date"]))
    _common(r, d)
    # HAProxy's TCP timers: t_request is -1, so Tw = t_queue + 1
    r.t_request = -1
    tw, tc = int(d["Tw"]), int(d["Tc"])
    r.t_queue = tw - 1 if tw >= 0 else -1
    r.t_connect = r.t_queue + tc if tc >= 0 else -1
    r.t_close = _int(d["Tt"])
    r.term_cause, r.term_phase = d["ts"]
    return r


def record_from_clf(d: dict) -> LogRecord:
    r = LogRecord(_date(d["date"].split(" ")[0] + f".{int(d['ms']):03d}"))
    _common(r, d)
    r.set_timers(TR=int(d["TR"]), Tw=int(d["Tw"]), Tc=int(d["Tc"]), Tr=int(d["Tr"]), Ta=_int(d["Ta"]))
    r.status = int(d["status"])
    r.term_cause, r.term_phase, r.ck_req, r.ck_resp = d["tsc"]
    r.request_line = d["request"]
    r.cli_cookie = d["cc"] or None
    r.srv_cookie = d["cs"] or None
    return r


@pytest.mark.parametrize(("name", "line"), ALL_LINES, ids=[f"{n}:{i}" for i, (n, _) in enumerate(ALL_LINES)])
def test_rebuild_sample_datagram(name: str, line: str) -> None:
    dg = parse_datagram(line)
    assert dg["format"] == "rfc3164"
    msg = dg["message"]
    parsed = parse_message(msg)
    kind = parsed["kind"]
    if kind == "httplog":
        ours = lf.format_httplog(record_from_http(parsed))
    elif kind == "tcplog":
        ours = lf.format_tcplog(record_from_tcp(parsed))
    elif kind == "clf":
        ours = lf.format_httplog_clf(record_from_clf(parsed))
    elif kind == "connect":
        ours = lf.connect_line(
            parsed["client_ip"], int(parsed["client_port"]), parsed["frontend_ip"],
            int(parsed["frontend_port"]), parsed["frontend"], parsed["mode"] == "HTTP",
        )
    else:
        ours = msg  # state-change messages belong to the checks module; only the framing is ours
    assert ours == msg
    hdr = build_header(
        "rfc3164", dg["facility"], dg["severity"], _hdr_time(dg["header_date"]), dg["tag"], int(dg["pid"]), None
    )
    assert frame(hdr.encode(), ours.encode("latin-1"), 1024) == (line + "\n").encode("latin-1")


def test_samples_cover_every_kind() -> None:
    kinds = {parse_message(parse_datagram(ln)["message"])["kind"] for _, ln in ALL_LINES}
    assert {"httplog", "tcplog", "clf", "connect", "text"} <= kinds


def test_one_datagram_repr_has_trailing_newline() -> None:
    raw = (SAMPLES / "logging" / "one_datagram_repr.txt").read_text().strip()
    data = eval(raw)  # a Python bytes literal written by the capture script
    dg = parse_datagram(data)
    d = parse_httplog(dg["message"])
    assert d is not None
    ours = lf.format_httplog(record_from_http(d))
    hdr = build_header("rfc3164", 18, 6, _hdr_time(dg["header_date"]), "haproxy", int(dg["pid"]), None)
    assert frame(hdr.encode(), ours.encode(), 1024) == data


def test_parsers_reject_other_kinds() -> None:
    tcp = "127.0.0.1:59418 [23/Nov/2026:20:52:03.284] tcp_log tcpapp/t1 1/0/2 80 -- 1/1/0/0/0 0/0"
    assert parse_httplog(tcp) is None
    assert parse_tcplog(tcp) is not None
    assert parse_clf(tcp) is None
