"""Traffic log lines: the record the engine fills, and the formatters that turn it into text. Pure.

What lives here
* ``LogRecord``: one slots object per logged session/request holding everything a line can show.
  Timers are kept the way HAProxy keeps them internally: **cumulative** milliseconds since the
  accept date (``t_request``, ``t_queue``, ``t_connect``, ``t_data``, ``t_close``; -1 = event never
  happened), so the engine only writes ``rec.t_connect = now_ms - accept_ms`` at each event and the
  derived timers (TR, Tw, Tc, Tr, Ta, Tt, Th, Ti, Tq, Td, Tu) come out exactly as HAProxy computes
  them, quirks included (a TCP line shows ``Tw = 1`` when nothing was queued, because
  ``t_request`` is -1 there).
* Termination-state helpers (FACTS 8.4): ``set_term()`` (first error wins), the ``TERM_EVENTS``
  table, and the 2/4-char renderers.
* ``compile_log_format(fmt)``: a ``log-format`` string compiled once into a Python function
  (generated source, no per-node dispatch at run time). ``option httplog``, ``option httplog
  clf`` and ``option tcplog`` are HAProxy's own log-format strings compiled the same way, so there
  is one implementation of each variable.
* ``format_http_json`` / ``format_tcp_json``: beyond HAProxy, selected by ``option httplog json``
  / ``option tcplog json`` (``Proxy.log_style`` "httplog-json" / "tcplog-json").
* ``connect_line()``: the line logged at accept time when a proxy has neither httplog nor tcplog.

Strings are Python ``str``; bytes from the wire are expected decoded as latin-1 (so every byte
maps to one code point and the ``#XX`` encodings below reproduce HAProxy's byte-wise output).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

__all__ = [
    "LogRecord",
    "LogContext",
    "LogFormatError",
    "CompiledFormat",
    "compile_log_format",
    "LogSamples",
    "formatter_for",
    "connect_line",
    "format_http_json",
    "format_tcp_json",
    "set_term",
    "is_error",
    "should_log",
    "traffic_severity",
    "term_state",
    "term_state_cookie",
    "TERM_EVENTS",
    "HTTP_LOG_FORMAT",
    "HTTP_CLF_LOG_FORMAT",
    "TCP_LOG_FORMAT",
    "SEVERITIES",
    "FACILITIES",
]

# --------------------------------------------------------------------------- constants

#: HAProxy's own format strings (2.6), compiled by the same compiler as user formats.
HTTP_LOG_FORMAT = (
    "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc "
    "%ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
)
#: ``option httpslog``: httplog followed by the connection's and the TLS layer's error codes, whether
#: the TLS session was resumed, the SNI, the TLS version and cipher
HTTPS_LOG_FORMAT = (HTTP_LOG_FORMAT + " %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/"
                    "%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc")
HTTP_CLF_LOG_FORMAT = (
    '%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc '
    "%ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl"
)
TCP_LOG_FORMAT = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"

SEVERITIES = {
    "emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7,
}
FACILITIES = {
    name: i
    for i, name in enumerate(
        "kern user mail daemon auth syslog lpr news uucp cron auth2 ftp ntp audit alert cron2 "
        "local0 local1 local2 local3 local4 local5 local6 local7".split()
    )
}

#: first char: why the session ended
CAUSE_NONE = "-"
CAUSE_LOCAL = "L"  # served by HAProxy itself (stats, redirect, return)
CAUSE_CLIENT_TIMEOUT = "c"
CAUSE_CLIENT = "C"  # client abort / error
CAUSE_SERVER_TIMEOUT = "s"
CAUSE_SERVER = "S"  # server abort / refusal / error
CAUSE_PROXY = "P"  # deny, bad request/response, internal policy
CAUSE_RESOURCE = "R"
CAUSE_INTERNAL = "I"
CAUSE_DOWN = "D"  # killed because the server went down
CAUSE_KILLED = "K"  # shutdown session(s) from the CLI
CAUSE_UP = "U"  # killed on a backup when an active came back
#: second char: where the session was when it ended
PHASE_NONE = "-"
PHASE_REQUEST = "R"
PHASE_CONNECT = "C"
PHASE_HEADERS = "H"
PHASE_DATA = "D"
PHASE_LAST = "L"
PHASE_QUEUE = "Q"
PHASE_TARPIT = "T"

#: Named ways a session ends -> (cause, phase). The engine may call ``set_term(rec, *TERM_EVENTS[x])``.
TERM_EVENTS: dict[str, tuple[str, str]] = {
    "client_abort_request": ("C", "R"),  # CR: client closed before the full request
    "client_timeout_request": ("c", "R"),  # cR: timeout client / http-request
    "deny": ("P", "R"),  # PR: http-request deny / bad request / tarpit end
    "bad_request": ("P", "R"),
    "client_abort_queue": ("C", "Q"),
    "queue_timeout": ("s", "Q"),  # sQ
    "client_abort_connect": ("C", "C"),
    "connect_refused": ("S", "C"),  # SC: refused after retries / no server available
    "no_server": ("S", "C"),
    "connect_timeout": ("s", "C"),  # sC
    "client_abort_headers": ("C", "H"),  # CH
    "server_abort_headers": ("S", "H"),  # SH: server closed before/while sending headers
    "server_timeout_headers": ("s", "H"),  # sH
    "bad_response": ("P", "H"),  # PH
    "client_abort_data": ("C", "D"),  # CD
    "client_timeout_data": ("c", "D"),  # cD
    "server_abort_data": ("S", "D"),  # SD
    "server_timeout_data": ("s", "D"),  # sD
    "client_abort_last": ("C", "L"),
    "client_timeout_last": ("c", "L"),
    "tarpit": ("P", "T"),
    "client_abort_tarpit": ("C", "T"),
    "local": ("L", "R"),  # LR: stats page, redirect, http-request return
    "resource_connect": ("R", "C"),
    "resource": ("R", "R"),
    "internal": ("I", "R"),
    "server_down": ("D", "D"),
    "admin_kill": ("K", "D"),
    "backup_kill": ("U", "D"),
}


def set_term(rec: LogRecord, cause: str, phase: str) -> None:
    """Record why/where a session ended. Like HAProxy, the first cause and phase set are kept."""
    if rec.term_cause == "-":
        rec.term_cause = cause
    if rec.term_phase == "-":
        rec.term_phase = phase


def term_state(rec: LogRecord) -> str:
    """The 2-char state of ``%ts`` (tcplog)."""
    return rec.term_cause + rec.term_phase


def term_state_cookie(rec: LogRecord) -> str:
    """The 4-char state of ``%tsc`` (httplog): cause, phase, request cookie, response cookie."""
    return rec.term_cause + rec.term_phase + rec.ck_req + rec.ck_resp


def is_error(rec: LogRecord) -> bool:
    """HAProxy's notion of an abnormal session: redispatched, ended by an error other than a
    local answer, retried, or (HTTP) a 5xx status. Drives ``log-separate-errors`` and
    ``dontlog-normal``."""
    return (
        rec.redispatched
        or rec.term_cause not in "-L"
        or (rec.term_cause == "-" and rec.retries > 0)
        or (rec.http and rec.status >= 500)
    )


def should_log(rec: LogRecord, *, dontlognull: bool = False, dontlog_normal: bool = False) -> bool:
    """Whether the end-of-session line is emitted: ``option dontlognull`` drops sessions where
    the client sent nothing; ``option dontlog-normal`` drops sessions that are not errors."""
    if dontlognull and rec.bytes_in == 0 and rec.request_line is None and not rec.got_data:
        return False
    if dontlog_normal and not is_error(rec):
        return False
    return True


def traffic_severity(rec: LogRecord, *, separate_errors: bool = False) -> int:
    """Severity of a traffic line: info (6), or err (3) for errors with ``option log-separate-errors``."""
    return 3 if separate_errors and is_error(rec) else 6


# --------------------------------------------------------------------------- the record


class LogRecord:
    """Everything a log line may need, filled by the engine during a session (or one HTTP request).

    Times: ``accept_date`` is a wall-clock float (``time.time()`` scale). ``t_*`` fields are ms
    since the accept date (-1 = never happened): ``t_handshake`` (Th), ``t_idle`` (Ti: wait
    before the first byte of this request), ``t_request`` (head complete), ``t_queue`` (left
    the queue / server chosen), ``t_connect`` (server connection established), ``t_data``
    (response headers received), ``t_close`` (end of the session/request).
    """

    __slots__ = (
        "accept_date", "t_handshake", "t_idle", "t_request", "t_queue", "t_connect", "t_data",
        "t_close",
        "client_ip", "client_port", "frontend_ip", "frontend_port", "server_ip", "server_port",
        "backend_src_ip", "backend_src_port",
        "frontend_name", "ssl", "pp", "backend_name", "server_name", "http",
        "status", "bytes_out", "bytes_in",
        "cli_cookie", "srv_cookie", "req_caps", "res_caps",
        "term_cause", "term_phase", "ck_req", "ck_resp",
        "actconn", "feconn", "beconn", "srv_conn", "retries", "redispatched",
        "srv_queue", "backend_queue",
        "request_line", "unique_id", "req_counter", "log_counter", "logasap", "txn",
        "log_level", "got_data", "ssl_bc", "fc_err", "bc_err",
    )

    def __init__(self, accept_date: float = 0.0) -> None:
        self.accept_date = accept_date
        self.t_handshake = 0
        self.t_idle = 0
        self.t_request = -1
        self.t_queue = -1
        self.t_connect = -1
        self.t_data = -1
        self.t_close = 0
        self.client_ip: str | None = None
        self.client_port: int | None = None
        self.frontend_ip: str | None = None
        self.frontend_port: int | None = None
        self.server_ip: str | None = None  # None = no server connection
        self.server_port: int | None = None
        self.backend_src_ip: str | None = None
        self.backend_src_port: int | None = None
        self.frontend_name = ""
        #: the session's TLS facts (haproxy_py.tls.info.TlsInfo), None in plain text; adds "~" to %ft
        self.ssl: Any = None
        #: the server connection's TLS facts (tls/info.py BackendTlsInfo), None in plain text
        self.ssl_bc: Any = None
        #: 2.6's connection error codes (conn/errors.py) of the client connection (0: none) and
        #: of the server connection (None: no server connection)
        self.fc_err = 0
        self.bc_err: int | None = None
        #: the PROXY protocol header the connection began with (conn/proxy_protocol.py Header)
        self.pp: Any = None
        #: backend name; None = the request died before routing (the frontend name is logged)
        self.backend_name: str | None = None
        #: server name, "<STATS>" for the stats page, None = "<NOSRV>"
        self.server_name: str | None = None
        self.http = False  # mode http (affects %Td only)
        self.status = -1
        self.bytes_out = 0  # %B: server (or HAProxy) -> client, headers included
        self.bytes_in = 0  # %U: client -> server
        self.cli_cookie: str | None = None  # "NAME=value" captured by "capture cookie"
        self.srv_cookie: str | None = None
        #: captured request/response headers, one slot per "capture" line (None = header absent);
        #: the whole list is None when the frontend declares no capture of that direction
        self.req_caps: list[str | None] | None = None
        self.res_caps: list[str | None] | None = None
        self.term_cause = "-"
        self.term_phase = "-"
        self.ck_req = "-"  # N I D V E O U, "-" when the backend has no cookie
        self.ck_resp = "-"  # N I U P R D, "-" when the backend has no cookie
        self.actconn = 0
        self.feconn = 0
        self.beconn = 0
        self.srv_conn = 0
        self.retries = 0
        self.redispatched = False  # prints "+" before the retries count
        self.srv_queue = 0
        self.backend_queue = 0
        #: the request line as received ("GET /x HTTP/1.1"), None when unparsable (<BADREQ>)
        self.request_line: str | None = None
        self.unique_id: str | None = None
        self.req_counter = 0  # %rt
        self.log_counter = 0  # %lc
        self.logasap = False  # "+" before Ta/Tt/B
        #: the session's samples Txn (haproxy_py.samples.Txn), set by the engine at log time when
        #: the log-format has %[expr] (None: the formatter makes one of this record's facts)
        self.txn: Any = None
        #: severity set by a set-log-level rule (0-7), -1 for "silent" (no line), None: the default
        self.log_level: int | None = None
        #: the client sent bytes that never became a request (a bad or partial one): 2.6 logs
        #: its <BADREQ> line even with dontlognull
        self.got_data = False

    # --- derived timers, as HAProxy computes them
    @property
    def TR(self) -> int:
        return self.t_request - self.t_idle - self.t_handshake if self.t_request >= 0 else -1

    @property
    def Tq(self) -> int:
        return self.t_request

    @property
    def Tw(self) -> int:
        return self.t_queue - self.t_request if self.t_queue >= 0 else -1

    @property
    def Tc(self) -> int:
        return self.t_connect - self.t_queue if self.t_connect >= 0 else -1

    @property
    def Tr(self) -> int:
        return self.t_data - self.t_connect if self.t_data >= 0 else -1

    @property
    def Ta(self) -> int:
        return self.t_close - (self.t_idle + self.t_handshake if self.t_idle >= 0 else 0)

    @property
    def Tt(self) -> int:
        return self.t_close

    @property
    def Th(self) -> int:
        return self.t_handshake

    @property
    def Ti(self) -> int:
        return self.t_idle

    @property
    def Td(self) -> int:
        if self.http:
            return self.t_close - self.t_data if self.t_data >= 0 else -1
        return self.t_close - self.t_connect if self.t_connect >= 0 else -1

    @property
    def Tu(self) -> int:
        return self.t_close - (self.t_idle if self.t_idle >= 0 else 0)

    @property
    def request_date(self) -> float:
        """Wall date of the first byte of the request (``%tr``)."""
        if self.t_idle >= 0:
            return self.accept_date + (self.t_idle + self.t_handshake) / 1000.0
        return self.accept_date

    def set_timers(
        self, *, TR: int = -1, Tw: int = -1, Tc: int = -1, Tr: int = -1, Ta: int = 0,
        Th: int = 0, Ti: int = 0,
    ) -> None:
        """Set the cumulative fields from HTTP-log style timers (handy in tests and replays)."""
        self.t_handshake = Th
        self.t_idle = Ti
        base = Th + Ti
        self.t_request = base + TR if TR >= 0 else -1
        self.t_queue = self.t_request + Tw if Tw >= 0 else -1
        self.t_connect = self.t_queue + Tc if Tc >= 0 else -1
        self.t_data = self.t_connect + Tr if Tr >= 0 else -1
        self.t_close = base + Ta


class LogContext:
    """Process-wide facts some variables show (%pid, %H). Mutable: the engine updates ``pid``
    after forking workers; compiled formats read it at format time."""

    __slots__ = ("pid", "hostname", "fixed")

    def __init__(self, pid: int | None = None, hostname: str | None = None) -> None:
        self.pid = pid if pid is not None else os.getpid()
        self.hostname = hostname if hostname is not None else os.uname().nodename
        #: the fixed formats (httplog, clf, tcplog) compiled for this context, by format string
        self.fixed: dict[str, CompiledFormat] = {}


DEFAULT_CONTEXT = LogContext()


class LogFormatError(ValueError):
    """A log-format string that HAProxy would reject (message in HAProxy's words)."""


class UnclosedExpr(LogFormatError):
    """``%[`` without its ``]``: 2.6 reports a bad expression there first (``start``: its text)."""

    def __init__(self, message: str, start: int) -> None:
        super().__init__(message)
        self.start = start


# --------------------------------------------------------------------------- dates

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _split_ms(ts: float) -> tuple[int, int]:
    total = int(ts * 1000.0 + 1e-4)
    return total // 1000, total % 1000


class _DateCache:
    """Per-second caches of the date prefixes (one strftime-like build per second)."""

    __slots__ = ("sec_local", "pfx_local", "sec_gmt", "str_gmt", "sec_ltz", "str_ltz")

    def __init__(self) -> None:
        self.sec_local = -1
        self.pfx_local = ""
        self.sec_gmt = -1
        self.str_gmt = ""
        self.sec_ltz = -1
        self.str_ltz = ""


_DC = _DateCache()


def date_ms_local(ts: float) -> str:
    """``23/Nov/2026:20:51:48.473`` in local time (``%t``, ``%tr``)."""
    sec, ms = _split_ms(ts)
    dc = _DC
    if sec != dc.sec_local:
        tm = time.localtime(sec)
        dc.pfx_local = (
            f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:"
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}."
        )
        dc.sec_local = sec
    return f"{dc.pfx_local}{ms:03d}"


def date_gmt(ts: float) -> str:
    """``23/Nov/2026:20:52:02 +0000`` (``%T``, ``%trg``)."""
    sec = _split_ms(ts)[0]
    dc = _DC
    if sec != dc.sec_gmt:
        tm = time.gmtime(sec)
        dc.str_gmt = (
            f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:"
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000"
        )
        dc.sec_gmt = sec
    return dc.str_gmt


def date_local_tz(ts: float) -> str:
    """``23/Nov/2026:21:52:02 +0100`` (``%Tl``, ``%trl``)."""
    sec = _split_ms(ts)[0]
    dc = _DC
    if sec != dc.sec_ltz:
        tm = time.localtime(sec)
        off = tm.tm_gmtoff or 0
        sign = "+" if off >= 0 else "-"
        off = abs(off) // 60
        dc.str_ltz = (
            f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:"
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {sign}{off // 60:02d}{off % 60:02d}"
        )
        dc.sec_ltz = sec
    return dc.str_ltz


# --------------------------------------------------------------------------- encodings

# %r, %HM.. : control chars, DEL and above, '"' and '#' become "#XX"
_URL_ENC = re.compile(r'[\x00-\x1f\x7f-\U0010ffff"#]')
# captured headers: also '{', '|', '}'
_HDR_ENC = re.compile(r'[\x00-\x1f\x7f-\U0010ffff"#{|}]')
# +E : '"', '\' and ']' get a backslash
_ESC = re.compile(r'["\\\]]')
_URL_ENC_E = re.compile(r'[\x00-\x1f\x7f-\U0010ffff"#\\\]]')
_HDR_ENC_E = re.compile(r'[\x00-\x1f\x7f-\U0010ffff"#{|}\\\]]')


def _hexrep(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"#{c:02X}" if c < 256 else "".join(f"#{b:02X}" for b in chr(c).encode("utf-8"))


def _hexrep_e(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in '\\]':
        return "\\" + ch
    return _hexrep(m)


def url_encode(s: str) -> str:
    return _URL_ENC.sub(_hexrep, s) if _URL_ENC.search(s) else s


def hdr_encode(s: str) -> str:
    return _HDR_ENC.sub(_hexrep, s) if _HDR_ENC.search(s) else s


def _url_encode_e(s: str) -> str:
    return _URL_ENC_E.sub(_hexrep_e, s)


def _hdr_encode_e(s: str) -> str:
    return _HDR_ENC_E.sub(_hexrep_e, s)


def _esc(s: str) -> str:
    return _ESC.sub(lambda m: "\\" + m.group(), s)


# --------------------------------------------------------------------------- request line pieces

_SP = " \t"


def _req_parts(line: str | None) -> tuple[str, str, str, str, str] | None:
    """(method, uri, path, query, version) as HAProxy's %HM/%HU/%HP/%HQ/%HV cut them."""
    if line is None:
        return None
    n = len(line)
    i = 0
    while i < n and line[i] not in _SP:
        i += 1
    method = line[:i] if i < n else "<BADREQ>"
    nsp = 0
    while i < n and line[i] in _SP:
        i += 1
        nsp += 1
    j = i
    while j < n and line[j] not in _SP:
        j += 1
    uri_full = line[i:j]
    q = uri_full.find("?")
    path = uri_full if q < 0 else uri_full[:q]
    query = "" if q < 0 else uri_full[q:]
    k = j
    while k < n and line[k] in _SP:
        k += 1
    if nsp == 0:
        return (method, "<BADREQ>", "<BADREQ>", query, "<BADREQ>")
    version = line[k:] if k < n else "HTTP/0.9"
    return (method, uri_full, path, query, version)


def _hm(r: LogRecord) -> str:
    p = _req_parts(r.request_line)
    return p[0] if p else "<BADREQ>"


def _hu(r: LogRecord) -> str:
    p = _req_parts(r.request_line)
    return p[1] if p else "<BADREQ>"


def _hp(r: LogRecord) -> str:
    p = _req_parts(r.request_line)
    return p[2] if p else "<BADREQ>"


def _hpo(r: LogRecord) -> str:
    """%HPO: the path alone, as 2.6 cuts it: after the authority of an absolute URI, empty for
    ``*``, an authority (CONNECT) or an absolute URI without a path."""
    p = _req_parts(r.request_line)
    if not p:
        return "<BADREQ>"
    path = p[2]
    if path.startswith("/") or path == "<BADREQ>":
        return path
    i = path.find("://")
    if i < 0:
        return ""
    j = path.find("/", i + 3)
    return path[j:] if j >= 0 else ""


def _hq(r: LogRecord) -> str:
    p = _req_parts(r.request_line)
    return p[3] if p else "<BADREQ>"


def _hv(r: LogRecord) -> str:
    p = _req_parts(r.request_line)
    return p[4] if p else "<BADREQ>"


# --------------------------------------------------------------------------- captures


def _caps_braces(caps: list[str | None] | None, enc: Callable[[str], str]) -> str:
    if caps is None:
        return ""
    return "{" + "|".join(enc(c) if c else "" for c in caps) + "}"


def _caps_list(caps: list[str | None] | None, enc: Callable[[str], str], quote: bool) -> str:
    if caps is None:
        return ""
    if quote:
        return " ".join('"' + (enc(c) if c else "") + '"' for c in caps)
    return " ".join(enc(c) if c is not None else "-" for c in caps)


# --------------------------------------------------------------------------- sample expressions


class LogSamples(Protocol):
    """What compiles a log-format's ``%[expr]`` (haproxy_py.samples.LOG_SAMPLES: this pure module
    formats, the samples package owns fetches and converters)."""

    def compile(self, fmt: str, start: int, end: int) -> Callable[[Any], str | None]:
        """``fmt[start:end]`` -> ``fn(txn) -> text | None``; LogFormatError in 2.6's words."""
        ...

    def txn_of(self, rec: LogRecord) -> Any:
        """The samples Txn of a record: ``rec.txn`` (the session's), else one of its facts."""
        ...


# --------------------------------------------------------------------------- the compiler

OPT_Q, OPT_X, OPT_E, OPT_M = 1, 2, 4, 8
_FLAG_BITS = {"Q": OPT_Q, "X": OPT_X, "E": OPT_E, "M": OPT_M}

_VARS = frozenset(
    "o B CC CS H HM HP HPO HQ HU HV ID ST T Ta Tc Td Th Ti Tl Tq Tr TR Ts Tt Tu Tw U ac b bc bi bp "
    "bq ci cp f fc fi fp ft hr hrl hs hsl lc ms pid r rc rt s sc si sp sq sslc sslv t tr trg trl ts "
    "tsc".split()
)


def _apply_flags(arg: str, opts: int) -> int:
    for item in arg.split(","):
        item = item.strip()
        if len(item) < 2 or item[0] not in "+-":
            continue
        bit = _FLAG_BITS.get(item[1:])
        if bit is None:
            continue
        if item[0] == "+":
            opts |= bit
        else:
            opts &= ~bit
    return opts


def parse_log_format(fmt: str) -> list[tuple[str, Any, int]]:
    """Split a log-format string into nodes: ("text", str, 0), ("sep", None, 0),
    ("var", name, opts), ("expr", text, opts)."""
    nodes: list[tuple[str, Any, int]] = []
    defopts = OPT_M
    text: list[str] = []
    i, n = 0, len(fmt)

    def flush_text() -> None:
        if text:
            nodes.append(("text", "".join(text), 0))
            text.clear()

    while i < n:
        c = fmt[i]
        if c == " ":
            flush_text()
            nodes.append(("sep", None, 0))
            i += 1
            continue
        if c != "%":
            text.append(c)
            i += 1
            continue
        # '%'
        i += 1
        if i >= n:
            raise LogFormatError("truncated line after '%'")
        c = fmt[i]
        if c == "%":
            text.append("%")
            i += 1
            continue
        arg = ""
        if c == "{":
            j = fmt.find("}", i)
            if j < 0:
                raise LogFormatError(f"truncated line after '{fmt[i + 1:]}'")
            arg = fmt[i + 1:j]
            i = j + 1
            if i >= n or not (fmt[i].isalnum() or fmt[i] == "["):
                raise LogFormatError(f"parse argument modifier without variable name near '%{{{arg}}}'")
            c = fmt[i]
        if c == "[":
            depth = 0
            j = i + 1
            while j < n:
                if fmt[j] == "(":
                    depth += 1
                elif fmt[j] == ")":
                    depth -= 1
                elif fmt[j] == "]" and depth <= 0:
                    break
                j += 1
            if j >= n:
                raise UnclosedExpr(f"missing ']' after '{fmt[i + 1:]}'", i + 1)
            flush_text()
            nodes.append(("expr", fmt[i + 1:j], _apply_flags(arg, defopts)))
            i = j + 1
            continue
        if c.isalpha():
            j = i
            while j < n and fmt[j].isalnum():
                j += 1
            name = fmt[i:j]
            if name not in _VARS:
                raise LogFormatError(
                    f"no such format variable '{name}'. If you wanted to emit the '%' character "
                    "verbatim, you need to use '%%'"
                )
            opts = _apply_flags(arg, defopts)
            i = j
            if name == "o":
                defopts = opts
                continue
            flush_text()
            nodes.append(("var", name, opts))
            continue
        if c.isdigit() or c in " \t":
            raise LogFormatError(
                f"unexpected variable name near '{c}' at position {i} line : '{fmt}'. Maybe you want "
                "to write a single '%', use the syntax '%%'"
            )
        # other characters after '%' are literals (HAProxy drops the '%')
        text.append(c)
        i += 1
    flush_text()
    return nodes


def _str_expr(val: str, opts: int, enc: str | None = None) -> tuple[str, bool]:
    """Code for a string variable ``val`` (an expression that may be None/"")."""
    if enc is None:
        inner = "_esc(_v)" if opts & OPT_E else "_v"
    else:
        inner = f"{enc}(_v)"
    if opts & OPT_Q:
        return f"('\"' + ({inner} if (_v := {val}) else '') + '\"')", False
    if opts & OPT_M:
        return f"({inner} if (_v := {val}) else '-')", False
    return f"({inner} if (_v := {val}) else '')", False


#: the bodies of LogRecord.TR/Tw/Tc/Tr/Ta as expressions on ``r`` (test_log_format checks they agree)
_TIMER_CODE = {
    "TR": "(r.t_request - r.t_idle - r.t_handshake if r.t_request >= 0 else -1)",
    "Tw": "(r.t_queue - r.t_request if r.t_queue >= 0 else -1)",
    "Tc": "(r.t_connect - r.t_queue if r.t_connect >= 0 else -1)",
    "Tr": "(r.t_data - r.t_connect if r.t_data >= 0 else -1)",
    "Ta": "(r.t_close - (r.t_idle + r.t_handshake if r.t_idle >= 0 else 0))",
}


def _int_expr(val: str) -> str:
    return f"str({val})"


def _ip_expr(val: str, opts: int) -> tuple[str, bool]:
    if opts & OPT_X:
        return f"(_iphex(_v) if (_v := {val}) else {'chr(34)*2' if opts & OPT_Q else repr('-')})", False
    return _str_expr(val, opts & ~OPT_E)


def _port_expr(val: str, opts: int) -> tuple[str, bool]:
    absent = "'\"\"'" if opts & OPT_Q else ("'-'" if opts & OPT_M else "''")
    if opts & OPT_X:
        return f"(f'{{_v:04X}}' if (_v := {val}) is not None else {absent})", False
    return f"(str(_v) if (_v := {val}) is not None else {absent})", False


def _iphex(ip: str) -> str:
    if ":" in ip:
        import ipaddress

        return ipaddress.IPv6Address(ip).packed.hex().upper()
    try:
        a, b, c, d = (int(x) for x in ip.split("."))
    except ValueError:
        return ip
    return f"{a:02X}{b:02X}{c:02X}{d:02X}"


def _var_code(name: str, opts: int, ctx_name: str = "_ctx") -> tuple[str, bool]:
    """(python expression over ``r``, transparent): ``transparent`` is True only for the variables
    that, like HAProxy's %hr/%hs/%hrl/%hsl without captures, may print nothing *and* leave the
    previous separator state alone (so the next separator is dropped). Every other variable
    counts as printed even when it printed nothing."""
    q = bool(opts & OPT_Q)
    x = bool(opts & OPT_X)
    plus = "('+' if r.logasap else '')"
    if name == "ci":
        return _ip_expr("r.client_ip", opts)
    if name == "cp":
        return _port_expr("r.client_port", opts)
    if name == "fi":
        return _ip_expr("r.frontend_ip", opts)
    if name == "fp":
        return _port_expr("r.frontend_port", opts)
    if name == "si":
        return _ip_expr("r.server_ip", opts)
    if name == "sp":
        return _port_expr("r.server_port", opts)
    if name == "bi":
        return _ip_expr("r.backend_src_ip", opts)
    if name == "bp":
        return _port_expr("r.backend_src_port", opts)
    if name in ("t",):
        return "_date_ms_local(r.accept_date)", False
    if name == "tr":
        return "_date_ms_local(r.request_date)", False
    if name == "T":
        return "_date_gmt(r.accept_date)", False
    if name == "trg":
        return "_date_gmt(r.request_date)", False
    if name == "Tl":
        return "_date_local_tz(r.accept_date)", False
    if name == "trl":
        return "_date_local_tz(r.request_date)", False
    if name == "Ts":
        return ("f'{int(r.accept_date):04X}'" if x else "str(int(r.accept_date))"), False
    if name == "ms":
        return ("f'{_split_ms(r.accept_date)[1]:02X}'" if x else "f'{_split_ms(r.accept_date)[1]:03d}'"), False
    if name == "pid":
        return (f"f'{{{ctx_name}.pid:04X}}'" if x else f"str({ctx_name}.pid)"), False
    if name == "rt":
        return ("f'{r.req_counter:04X}'" if x else "str(r.req_counter)"), False
    if name == "lc":
        return ("f'{r.log_counter:04X}'" if x else "str(r.log_counter)"), False
    if name == "H":
        return _str_expr(f"{ctx_name}.hostname", opts)
    if name == "f":
        return _str_expr("r.frontend_name", opts)
    if name == "ft":
        e = "_esc(r.frontend_name)" if opts & OPT_E else "r.frontend_name"
        code = f"({e} + ('~' if r.ssl else ''))"
        if q:
            code = f"('\"' + {code} + '\"')"
        return code, False
    if name == "b":
        return _str_expr("(r.backend_name if r.backend_name is not None else r.frontend_name)", opts)
    if name == "s":
        return _str_expr("(r.server_name or '<NOSRV>')", opts)
    if name == "sslc":
        return _str_expr("(r.ssl.cipher if r.ssl else None)", opts)
    if name == "sslv":
        return _str_expr("(r.ssl.protocol if r.ssl else None)", opts)
    if name == "ID":
        return _str_expr("r.unique_id", opts)
    if name == "CC":
        return _str_expr("r.cli_cookie", opts)
    if name == "CS":
        return _str_expr("r.srv_cookie", opts)
    if name == "ST":
        return _int_expr("r.status"), False
    if name == "B":
        return f"({plus} + str(r.bytes_out))", False
    if name == "U":
        return _int_expr("r.bytes_in"), False
    if name in _TIMER_CODE:  # LogRecord's timer properties, inlined (one call less each)
        code = _int_expr(_TIMER_CODE[name])
        return (f"({plus} + {code})" if name in ("Tu", "Ta") else code), False
    if name in ("Th", "Ti", "Tq", "Td", "Tu"):
        if name == "Tu":
            return f"({plus} + str(r.Tu))", False
        return _int_expr(f"r.{name}"), False
    if name == "Ta":
        return f"({plus} + str(r.Ta))", False
    if name == "Tt":
        return f"({plus} + str(r.t_close))", False
    if name == "ts":
        return "(r.term_cause + r.term_phase)", False
    if name == "tsc":
        return "(r.term_cause + r.term_phase + r.ck_req + r.ck_resp)", False
    if name == "ac":
        return _int_expr("r.actconn"), False
    if name == "fc":
        return _int_expr("r.feconn"), False
    if name == "bc":
        return _int_expr("r.beconn"), False
    if name == "sc":
        return _int_expr("r.srv_conn"), False
    if name == "rc":
        return "(('+' if r.redispatched else '') + str(r.retries))", False
    if name == "sq":
        return _int_expr("r.srv_queue"), False
    if name == "bq":
        return _int_expr("r.backend_queue"), False
    if name in ("hr", "hs"):
        fld = "r.req_caps" if name == "hr" else "r.res_caps"
        enc = "_hdr_encode_e" if opts & OPT_E else "hdr_encode"
        code = f"(_caps_braces(_cv, {enc}) if (_cv := {fld}) is not None else '')"
        if q:
            code = f"(('\"' + _c + '\"') if (_c := {code}) else '')"
        return code, True
    if name in ("hrl", "hsl"):
        fld = "r.req_caps" if name == "hrl" else "r.res_caps"
        enc = "_hdr_encode_e" if opts & OPT_E else "hdr_encode"
        return f"_caps_list({fld}, {enc}, {q})", True
    if name == "r":
        enc = "_url_encode_e" if opts & OPT_E else "url_encode"
        code = f"({enc}(_v) if (_v := r.request_line) is not None else '<BADREQ>')"
        if q:
            code = f"('\"' + {code} + '\"')"
        return code, False
    if name in ("HM", "HU", "HP", "HPO", "HQ", "HV"):
        fn = {"HM": "_hm", "HU": "_hu", "HP": "_hp", "HPO": "_hpo", "HQ": "_hq", "HV": "_hv"}[name]
        enc = "_url_encode_e" if opts & OPT_E else "url_encode"
        code = f"{enc}({fn}(r))"
        if q:
            return f"('\"' + {code} + '\"')", False
        return code, False
    raise LogFormatError(f"no such format variable '{name}'")  # pragma: no cover


class CompiledFormat:
    """A compiled log-format: call it with a ``LogRecord`` to get the line (``str``)."""

    __slots__ = ("fmt", "source", "_fn", "nodes", "has_samples")

    def __init__(self, fmt: str, source: str, fn: Callable[[LogRecord], str],
                 nodes: list[tuple[str, Any, int]], has_samples: bool = False) -> None:
        self.fmt = fmt
        self.source = source
        self._fn = fn
        self.nodes = nodes
        #: the format has %[expr]: the engine gives the record its session's samples Txn
        self.has_samples = has_samples

    def __call__(self, rec: LogRecord) -> str:
        return self._fn(rec)

    def __repr__(self) -> str:
        return f"CompiledFormat({self.fmt!r})"


def compile_log_format(fmt: str, *, context: LogContext | None = None,
                       samples: LogSamples | None = None) -> CompiledFormat:
    """Compile a ``log-format`` string (as the config tokenizer unescaped it) into a function.

    Spaces are separators: consecutive ones print one space, and a separator following a
    variable that printed nothing (``%hr`` without captures) is dropped, as HAProxy does.
    Raises ``LogFormatError`` for unknown variables and malformed ``%{..}``/``%[..]``.
    ``%[expr]`` is compiled here, once, by ``samples`` (``haproxy_py.samples.LOG_SAMPLES``: every
    fetch and converter, 2.6's casts), refused as 2.6 refuses it in a log-format (a fetch that
    needs the request or response contents: ``req.hdr``, ``path``, ...); a format with one needs
    ``samples``. At format time it reads the session's samples Txn (``rec.txn``);
    ``CompiledFormat.has_samples`` tells the engine to provide it.
    """
    try:
        nodes = parse_log_format(fmt)
    except UnclosedExpr as e:
        if samples is not None:
            samples.compile(fmt, e.start, len(fmt))  # its own error first, as 2.6
        raise
    ns: dict[str, Any] = {
        "_ctx": context or DEFAULT_CONTEXT,
        "_esc": _esc,
        "_iphex": _iphex,
        "_split_ms": _split_ms,
        "_date_ms_local": date_ms_local,
        "_date_gmt": date_gmt,
        "_date_local_tz": date_local_tz,
        "_caps_braces": _caps_braces,
        "_caps_list": _caps_list,
        "hdr_encode": hdr_encode,
        "url_encode": url_encode,
        "_hdr_encode_e": _hdr_encode_e,
        "_url_encode_e": _url_encode_e,
        "_hm": _hm, "_hu": _hu, "_hp": _hp, "_hpo": _hpo, "_hq": _hq, "_hv": _hv,
    }
    body: list[str] = []
    pending: list[str] = []
    known: bool | None = True  # is the last emitted char a space (HAProxy starts with True)
    dynamic_used = False
    cursor = 0
    has_samples = False

    def flush() -> None:
        if pending:
            if len(pending) == 1:
                body.append(f"    a({pending[0]})")
            else:
                body.append(f"    a(''.join(({', '.join(pending)},)))")
            pending.clear()

    for idx, (kind, val, opts) in enumerate(nodes):
        if kind == "text":
            pending.append(repr(val))
            known = False
            continue
        if kind == "sep":
            if known is False:
                pending.append("' '")
                known = True
            elif known is None:
                flush()
                body.append("    if not sp:")
                body.append("        a(' ')")
                body.append("        sp = True")
                known = True
            continue
        if kind == "expr":
            fname = f"_smp{idx}"
            start = fmt.find(val, cursor)
            cursor = start + len(val)
            if samples is None:
                raise LogFormatError(f"sample expression <{val}> without a sample compiler")
            ns[fname] = samples.compile(fmt, start, cursor)
            has_samples = True
            code, maybe_empty = _str_expr(f"{fname}(t)", opts)
        else:
            code, maybe_empty = _var_code(val, opts)
        if not maybe_empty:
            pending.append(code)
            known = False
            continue
        flush()
        dynamic_used = True
        if known is not None:
            body.append(f"    sp = {known}")
        body.append(f"    _e = {code}")
        body.append("    if _e:")
        body.append("        a(_e)")
        body.append("        sp = False")
        known = None
    flush()
    src_lines = ["def _fmt(r):", "    o = []", "    a = o.append"]
    if dynamic_used:
        src_lines.append("    sp = True")
    if has_samples:
        assert samples is not None
        ns["_txn_of"] = samples.txn_of
        src_lines.append("    t = _txn_of(r)")
    src_lines += body
    src_lines.append("    return ''.join(o)")
    source = "\n".join(src_lines) + "\n"
    exec(compile(source, f"<log-format {fmt[:40]!r}>", "exec"), ns)  # noqa: S102 - our own generated code
    return CompiledFormat(fmt, source, ns["_fmt"], nodes, has_samples)


# --------------------------------------------------------------------------- fixed formats

#: the fixed formats compiled without a context, by format string (with one: ``LogContext.fixed``,
#: never a cache keyed by id(): a freed context's id is reused by the next one)
_COMPILED: dict[str, CompiledFormat] = {}


def _cached(fmt: str, context: LogContext | None) -> CompiledFormat:
    cache = _COMPILED if context is None else context.fixed
    cf = cache.get(fmt)
    if cf is None:
        cf = cache[fmt] = compile_log_format(fmt, context=context)
    return cf


def format_httplog(rec: LogRecord) -> str:
    """``option httplog``."""
    return _cached(HTTP_LOG_FORMAT, None)(rec)


def format_httplog_clf(rec: LogRecord) -> str:
    """``option httplog clf``."""
    return _cached(HTTP_CLF_LOG_FORMAT, None)(rec)


def format_tcplog(rec: LogRecord) -> str:
    """``option tcplog``."""
    return _cached(TCP_LOG_FORMAT, None)(rec)


def connect_line(
    client_ip: str | None, client_port: int | None, frontend_ip: str | None, frontend_port: int | None,
    frontend_name: str, http: bool, *, listener_id: int = 1,
) -> str:
    """The line logged at accept time by a proxy with neither httplog nor tcplog nor log-format:
    ``Connect from 127.0.0.1:35946 to 127.0.0.1:23505 (tcp_default_log/TCP)``. A unix-socket client
    (``client_ip`` None) gives ``Connect to unix:ID (fe/TCP)``."""
    mode = "HTTP" if http else "TCP"
    if client_ip is None:
        return f"Connect to unix:{listener_id} ({frontend_name}/{mode})"
    return f"Connect from {client_ip}:{client_port} to {frontend_ip}:{frontend_port} ({frontend_name}/{mode})"


def embryonic_line(client_ip: str | None, client_port: int | None, accept_date: float, frontend_name: str,
                   listener: str, error: str) -> str:
    """The line 2.6 logs for a connection that died before it became a stream (a failed TLS
    handshake): ``127.0.0.1:60292 [01/Dec/2026:15:26:25.225] fe/1: SSL handshake failure``, where
    ``1`` is the listener's name or number in its frontend."""
    return f"{client_ip}:{client_port} [{date_ms_local(accept_date)}] {frontend_name}/{listener}: {error}"


def _num(v: int) -> int | None:
    return None if v < 0 else v


def _json_common(rec: LogRecord) -> dict[str, Any]:
    return {
        "client_ip": rec.client_ip,
        "client_port": rec.client_port,
        "frontend_name": rec.frontend_name + ("~" if rec.ssl else ""),
        "backend_name": rec.backend_name if rec.backend_name is not None else rec.frontend_name,
        "server_name": rec.server_name or "<NOSRV>",
    }


def format_http_json(rec: LogRecord) -> str:
    """``option httplog json``: the httplog fields as one JSON object (numbers typed, -1 -> null)."""
    d = _json_common(rec)
    d["accept_date"] = date_ms_local(rec.request_date)
    d.update(
        TR=_num(rec.TR), Tw=_num(rec.Tw), Tc=_num(rec.Tc), Tr=_num(rec.Tr), Ta=rec.Ta,
        status_code=_num(rec.status), bytes_read=rec.bytes_out, bytes_uploaded=rec.bytes_in,
        captured_request_cookie=rec.cli_cookie, captured_response_cookie=rec.srv_cookie,
        termination_state=term_state_cookie(rec),
        actconn=rec.actconn, feconn=rec.feconn, beconn=rec.beconn, srv_conn=rec.srv_conn,
        retries=rec.retries, redispatched=rec.redispatched,
        srv_queue=rec.srv_queue, backend_queue=rec.backend_queue,
        captured_request_headers=rec.req_caps, captured_response_headers=rec.res_caps,
        http_request=rec.request_line,
    )
    if rec.logasap:
        d["logasap"] = True
    return json.dumps(d, separators=(",", ":"), ensure_ascii=True)


def format_tcp_json(rec: LogRecord) -> str:
    """``option tcplog json``: the tcplog fields as one JSON object."""
    d = _json_common(rec)
    d["accept_date"] = date_ms_local(rec.accept_date)
    d.update(
        Tw=_num(rec.Tw), Tc=_num(rec.Tc), Tt=rec.t_close, bytes_read=rec.bytes_out,
        bytes_uploaded=rec.bytes_in, termination_state=term_state(rec),
        actconn=rec.actconn, feconn=rec.feconn, beconn=rec.beconn, srv_conn=rec.srv_conn,
        retries=rec.retries, redispatched=rec.redispatched,
        srv_queue=rec.srv_queue, backend_queue=rec.backend_queue,
    )
    if rec.logasap:
        d["logasap"] = True
    return json.dumps(d, separators=(",", ":"), ensure_ascii=True)


def formatter_for(
    log_style: str, log_format: str | None = None, *, context: LogContext | None = None,
    samples: LogSamples | None = None,
) -> Callable[[LogRecord], str] | None:
    """The end-of-session formatter for a frontend (``Proxy.log_style`` / ``Proxy.log_format``).

    Returns None for the "default" style (no end-of-session line: log ``connect_line()`` at accept
    instead). An explicit ``log-format`` wins over the style.
    """
    if log_format is not None:
        return compile_log_format(log_format, context=context, samples=samples)
    if log_style == "httplog":
        return _cached(HTTP_LOG_FORMAT, context)
    if log_style == "httplog-clf":
        return _cached(HTTP_CLF_LOG_FORMAT, context)
    if log_style == "httpslog":
        return compile_log_format(HTTPS_LOG_FORMAT, context=context, samples=samples)
    if log_style == "tcplog":
        return _cached(TCP_LOG_FORMAT, context)
    if log_style == "httplog-json":
        return format_http_json
    if log_style == "tcplog-json":
        return format_tcp_json
    if log_style == "default":
        return None
    raise ValueError(f"unknown log style {log_style!r}")
