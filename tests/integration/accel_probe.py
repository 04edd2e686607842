"""Run the accelerator's modules on seeded generated inputs and print one line per case.

``python tests/integration/accel_probe.py SEED COUNT`` prints, for each generated input, what the
modules compiled by the accelerator (build_zipapp.ACCEL_MODULES) answer: request and response heads
parsed (every fact, or the error's status, position and reason), rewritten for the server and the
client, their HTX sizes, log lines (httplog, tcplog, CLF, JSON and generated log-format strings) of
generated records, syslog headers and frames, sample casts, ACL matchers.  The first line says which
build ran (``compiled`` or ``pure``).  tests/integration/test_accel.py runs it once on the compiled
modules (HAPROXY_PY_ACCEL_DIR) and once on the pure ones and compares the outputs line for line.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from haproxy_py import _bootstrap  # noqa: E402

if os.environ.get(_bootstrap.ACCEL_DIR_ENV):
    _bootstrap.install_accel_dir(os.environ[_bootstrap.ACCEL_DIR_ENV])

# isort: split
from haproxy_py.acl.match import MatchError, compile_matcher  # noqa: E402
from haproxy_py.http import htx  # noqa: E402
from haproxy_py.http.message import RequestHead, ResponseHead, split_comma  # noqa: E402
from haproxy_py.http.parse import ParseError, parse_request, parse_response  # noqa: E402
from haproxy_py.http.rewrite import (  # noqa: E402
    MODE_CLOSE,
    MODE_KEEP_ALIVE,
    MODE_SERVER_CLOSE,
    ForwardForRule,
    prepare_request,
    prepare_response,
)
from haproxy_py.log import format as lf  # noqa: E402
from haproxy_py.log import syslog  # noqa: E402
from haproxy_py.samples import FETCHES, Txn, compile_expr  # noqa: E402
from haproxy_py.samples.core import CONVERTERS  # noqa: E402
from haproxy_py.samples.types import Sample, SampleError, cast, to_text  # noqa: E402

METHODS = [b"GET", b"HEAD", b"POST", b"PUT", b"OPTIONS", b"CONNECT", b"DELETE", b"G@T", b"get", b""]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.2", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/x", b"http/1.1", b""]
NAMES = [b"Host", b"host", b"Content-Length", b"content-length", b"Transfer-Encoding", b"Connection",
         b"Upgrade", b"Cookie", b"User-Agent", b"X-Forwarded-For", b"Keep-Alive", b"Proxy-Connection",
         b"Expect", b"X-Req", b"Set-Cookie", b"Content-Type", b"X Bad", b"X:Colon", b""]
VALUES = [b"", b"5", b"0", b"-1", b"x", b"chunked", b"gzip, chunked", b"chunked, gzip", b"close",
          b"keep-alive", b"Keep-Alive, Upgrade", b"upgrade", b"websocket", b"example.com",
          b"example.com:80", b"sid=1; a=b", b"100-continue", b"  spaced  ", b"a\tb", b"5, 5", b"5, 6",
          b"caf\xc3\xa9", b"\x01ctl"]
URIS = [b"/", b"/a?b=c", b"/v/1k.bin?r=12", b"*", b"http://example.com/x?y", b"https://h:8443",
        b"example.com:443", b"/%41%zz", b"/a b", b"//x", b"/admin/x", b"/" + b"p" * 300]
REASONS = [b"OK", b"Not Found", b"", b"Switching Protocols", b"caf\xc3\xa9"]
STATUSES = [200, 204, 304, 101, 100, 103, 301, 404, 500, 502, 999, 42]
EOLS = [b"\r\n", b"\r\n", b"\r\n", b"\n"]


def _headers(rng: random.Random, clean: bool) -> list[bytes]:
    out = []
    for _ in range(rng.randrange(0, 9)):
        if clean:  # well-formed names and values, framing headers rarely (they often conflict)
            name = rng.choice(NAMES[:2] + NAMES[7:14] + NAMES[15:16])
            line = name + rng.choice([b": ", b":"]) + rng.choice(VALUES[3:4] + VALUES[9:10] + VALUES[13:18])
            if rng.random() < 0.15:
                line = rng.choice([b"Content-Length: 5", b"Transfer-Encoding: chunked", b"Connection: close",
                                   b"Connection: Keep-Alive, Upgrade", b"Upgrade: websocket"])
        else:
            name, value = rng.choice(NAMES), rng.choice(VALUES)
            line = name + rng.choice([b": ", b":", b" : ", b":\t"]) + value
            if rng.random() < 0.05:
                line = b" folded"  # obs-fold
        out.append(line)
    return out


def gen_request(rng: random.Random) -> bytes:
    eol = rng.choice(EOLS)
    clean = rng.random() < 0.75
    if clean:
        line = rng.choice(METHODS[:7]) + b" " + rng.choice(URIS[:7] + URIS[10:]) + b" " + rng.choice(VERSIONS[:3])
    else:
        line = rng.choice(METHODS) + b" " + rng.choice(URIS) + b" " + rng.choice(VERSIONS)
    if rng.random() < 0.03:
        line = rng.choice(METHODS) + b" " + rng.choice(URIS)  # HTTP/0.9 style
    lead = rng.choice([b"", b"", b"", b"\r\n", b"\n"])
    head = lead + line + eol + b"".join(h + eol for h in _headers(rng, clean)) + eol
    body = rng.choice([b"", b"abcde", b"5\r\nhello\r\n0\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n"])
    if rng.random() < 0.1:
        head = head[: rng.randrange(len(head) + 1)]  # partial head
    return head + body


def gen_response(rng: random.Random) -> bytes:
    eol = rng.choice(EOLS)
    clean = rng.random() < 0.8
    ver = rng.choice([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.1"] + ([] if clean else [b"HTTP/2", b"HTP/1.1"]))
    line = ver + b" " + str(rng.choice(STATUSES[:9] if clean else STATUSES)).encode() + b" " + rng.choice(REASONS)
    head = line + eol + b"".join(h + eol for h in _headers(rng, clean)) + eol
    if rng.random() < 0.1:
        head = head[: rng.randrange(len(head) + 1)]
    return head + rng.choice([b"", b"hello"])


def facts(h: RequestHead | ResponseHead) -> dict[str, Any]:
    keys = ["version", "http11", "headers", "body", "content_length", "keep_alive", "conn_close",
            "conn_keep_alive", "upgrade", "head_len"]
    keys += ["method", "uri", "path", "query"] if isinstance(h, RequestHead) else ["status", "reason"]
    return {k: getattr(h, k) for k in keys}


def http_case(rng: random.Random) -> list[str]:
    out = []
    raw = gen_request(rng)
    kw: dict[str, int] = {}
    if rng.random() < 0.2:
        kw = {"bufsize": rng.choice([256, 1024, 16384]), "maxrewrite": rng.choice([0, 64, 1024]),
              "maxhdr": rng.choice([2, 5, 101])}
        kw["maxrewrite"] = min(kw["maxrewrite"], kw["bufsize"] // 2)
    try:
        r = parse_request(raw, rng.choice([0, 0, 0, 1]), **kw)
    except ParseError as e:
        return [f"req {raw!r} error {e.status} {e.pos} {e.reason}"]
    if r is None:
        return [f"req {raw!r} incomplete"]
    req, used = r
    out.append(f"req {raw!r} {used} {facts(req)}")
    out.append(f"req-size {htx.request_size(req.method, req.uri, req.version, req.headers)} "
               f"{htx.head_blocks(req.headers)} {htx.message_size(raw[:used])}")
    dup = req.copy()
    out.append(f"copy {facts(dup) == facts(req)}")
    mode = rng.choice([MODE_KEEP_ALIVE, MODE_SERVER_CLOSE, MODE_CLOSE])
    ff = ForwardForRule(if_none=rng.random() < 0.5) if rng.random() < 0.5 else None
    wire, reusable = prepare_request(dup, mode, src=rng.choice(["10.0.0.1", "::1", None]), forwardfor=ff,
                                     unique_id=(b"X-Id", b"abc") if rng.random() < 0.3 else None)
    out.append(f"fwd {wire!r} {reusable}")
    rraw = gen_response(rng)
    try:
        rr = parse_response(rraw, method=req.method)
    except ParseError as e:
        out.append(f"res {rraw!r} error {e.status} {e.pos} {e.reason}")
        return out
    if rr is None:
        out.append(f"res {rraw!r} incomplete")
        return out
    resp, used = rr
    out.append(f"res {rraw!r} {used} {facts(resp)}")
    out.append(f"res-size {htx.response_size(resp.version, resp.reason, resp.headers)}")
    cwire, keep = prepare_response(resp, req, mode)
    out.append(f"cli {cwire!r} {keep}")
    for _, v in req.headers[:3]:
        out.append(f"comma {split_comma(v)!r}")
    return out


ALPHA = "abcXYZ09 -_/.%\"\\'{}|#~\x7f\u00e9\x01\t"
LOG_VARS = ["%ci", "%cp", "%fi", "%fp", "%si", "%sp", "%bi", "%bp", "%f", "%ft", "%b", "%s", "%ST", "%B",
            "%U", "%Tt", "%Ta", "%Tw", "%Tc", "%Tr", "%TR", "%Th", "%Ti", "%Tq", "%ac", "%fc", "%bc",
            "%sc", "%rc", "%sq", "%bq", "%ts", "%tsc", "%hr", "%hs", "%hrl", "%hsl", "%r", "%HM", "%HU",
            "%HP", "%HPO", "%HQ", "%HV", "%CC", "%CS", "%ID", "%rt", "%lc", "%t", "%tr", "%T", "%Tl",
            "%{+Q}r", "%{+E}r", "%{+X}ci", "%{+Q}b", "%{-Q}hr", "%{+Q,+E}HU", "%{+E}hr", "%%", "%{+X}Ts"]


def _text(rng: random.Random, n: int = 12) -> str:
    return "".join(rng.choice(ALPHA) for _ in range(rng.randrange(n)))


def gen_record(rng: random.Random) -> lf.LogRecord:
    rec = lf.LogRecord(1700000000.0 + rng.random() * 1e6)
    rec.http = rng.random() < 0.7
    rec.client_ip = rng.choice(["127.0.0.1", "10.1.2.3", "::1", "2001:db8::1", None])
    rec.client_port = rng.choice([None, 0, 1234, 65535])
    rec.frontend_ip, rec.frontend_port = "127.0.0.1", rng.choice([80, 8080])
    if rng.random() < 0.8:
        rec.server_ip, rec.server_port = "127.0.0.1", rng.randrange(1, 65536)
        rec.backend_src_ip, rec.backend_src_port = "127.0.0.1", rng.randrange(1024, 65536)
    rec.frontend_name = rng.choice(["fe", "fe_http", "f" * 40])
    rec.backend_name = rng.choice(["be", None, "be_http"])
    rec.server_name = rng.choice(["srv1", None, "<STATS>"])
    rec.status = rng.choice([-1, 200, 404, 503, 0])
    rec.bytes_out, rec.bytes_in = rng.randrange(10**9), rng.randrange(10**6)
    rec.t_handshake, rec.t_idle = rng.randrange(5), rng.randrange(5)
    for slot in ("t_request", "t_queue", "t_connect", "t_data"):
        setattr(rec, slot, rng.choice([-1, rng.randrange(10**5)]))
    rec.t_close = rng.randrange(10**6)
    rec.term_cause, rec.term_phase = rng.choice("-CSPLRIDKcs"), rng.choice("-RQCHDLT")
    rec.ck_req, rec.ck_resp = rng.choice("-NIDVEOU"), rng.choice("-NIUPRD")
    rec.actconn, rec.feconn, rec.beconn, rec.srv_conn = (rng.randrange(100) for _ in range(4))
    rec.retries, rec.redispatched = rng.randrange(4), rng.random() < 0.2
    rec.srv_queue, rec.backend_queue = rng.randrange(3), rng.randrange(3)
    rec.request_line = rng.choice([None, "GET / HTTP/1.1", "POST /a?b=" + _text(rng) + " HTTP/1.0", _text(rng),
                                   "GET http://h/x%20y?q HTTP/1.1", "GET"])
    rec.cli_cookie = rng.choice([None, "sid=" + _text(rng)])
    rec.srv_cookie = rng.choice([None, "SRV=a"])
    caps: list[list[str | None] | None] = [None, [], [_text(rng), None], [_text(rng, 30)]]
    rec.req_caps = rng.choice(caps)
    rec.res_caps = rng.choice(caps[:1] + caps[3:])
    rec.unique_id = rng.choice([None, "id-" + _text(rng)])
    rec.req_counter, rec.log_counter = rng.randrange(10**4), rng.randrange(10**4)
    rec.logasap = rng.random() < 0.1
    return rec


def log_case(rng: random.Random) -> list[str]:
    rec = gen_record(rng)
    out = [f"http {lf.format_httplog(rec)}", f"tcp {lf.format_tcplog(rec)}", f"clf {lf.format_httplog_clf(rec)}",
           f"json {lf.format_http_json(rec)}", f"state {lf.term_state(rec)} {lf.is_error(rec)}"]
    fmt = " ".join(rng.choice(LOG_VARS) + rng.choice(["", "", "", "-", "\\ ", ":"]) for _ in range(rng.randrange(1, 8)))
    try:
        cf = lf.compile_log_format(fmt)
        out.append(f"fmt {fmt!r} {cf(rec)}")
    except lf.LogFormatError as e:
        out.append(f"fmt {fmt!r} error {e}")
    s = _text(rng, 30)
    out.append(f"enc {lf.url_encode(s)!r} {lf.hdr_encode(s)!r}")
    now = 1700000000.0 + rng.random() * 1e7
    for form in ("rfc3164", "rfc5424", "short", "timed", "iso", "raw", "priority"):
        hdr = syslog.build_header(form, rng.randrange(24), rng.randrange(8), now, "haproxy", 42,
                                  rng.choice([None, "host"]))
        out.append(f"syslog {hdr!r} {syslog.frame(hdr.encode(), s.encode(), rng.choice([10, 64, 1024]))!r}")
    out.append(f"date {lf.date_ms_local(now)} {lf.date_gmt(now)} {lf.date_local_tz(now)}")
    return out


SAMPLE_VALUES = [("str", b"123"), ("str", b"abc"), ("str", b" 12"), ("str", b"-9"), ("str", b"10.0.0.1"),
                 ("str", b"::1"), ("str", b""), ("bin", b"\x00\x01ab"), ("int", 0), ("int", -5), ("int", 2**40),
                 ("bool", True), ("bool", False), ("str", b"99999999999999999999")]
TYPES = ["str", "int", "bool", "bin", "ipv4", "ipv6", "addr", "meth"]
MATCHES = [("str", ("abc", "123")), ("beg", ("/adm", "ab")), ("end", ("bin", "c")), ("sub", ("b", "zz")),
           ("dir", ("admin", "x")), ("dom", ("example.com",)), ("int", ("10:200", "-5", "gt 3")),
           ("len", ("3", "0:1")), ("ip", ("10.0.0.0/8", "::1")), ("reg", ("^a.c$", "[0-9]+")),
           ("bin", ("6162",)), ("found", ()), ("bool", ())]


def sample_case(rng: random.Random) -> list[str]:
    out = []
    t, v = rng.choice(SAMPLE_VALUES)
    dst = rng.choice(TYPES)
    try:
        c = cast(Sample(t, v), dst)
        out.append(f"cast {t} {v!r} {dst} {c!r}")
    except SampleError as e:
        out.append(f"cast {t} {v!r} {dst} error {e}")
    out.append(f"text {to_text(t, v)!r}")
    method, pats = rng.choice(MATCHES)
    try:
        m = compile_matcher(method, pats, ignore_case=rng.random() < 0.3)
    except MatchError as e:
        out.append(f"match {method} {pats} error {e}")
        return out
    samples = [Sample(*rng.choice(SAMPLE_VALUES)) for _ in range(rng.randrange(1, 3))]
    try:
        out.append(f"match {method} {pats} {samples!r} {m(samples)}")
    except Exception as e:  # noqa: BLE001 - the exception type is part of the comparison
        out.append(f"match {method} {pats} {samples!r} raises {type(e).__name__}")
    return out


FETCH_NAMES = sorted(FETCHES.entries)
CONV_NAMES = sorted(CONVERTERS.entries)
ARGS = ["", "0", "1", "-1", "x", "a;b", "10.0.0.0/8", "8", "txn.v", "'q'", "s", "ms", "md5", "be", "+5", "Host",
        "cookie", "a"]
EXPR_FETCHES = ["path", "url", "query", "method", "src", "dst", "req.hdr(host)", "req.cook(sid)", "hdr_cnt",
                "url_param(r)", "req.fhdr(user-agent)", "base", "int(5)", "str(abc)", "src_port", "req.ver"]


def expr_case(rng: random.Random, raw: bytes) -> list[str]:
    """A sample expression (fetch and converters, generated) compiled, then run on a parsed head."""
    try:
        r = parse_request(raw)
    except ParseError:
        r = None
    req = r[0] if r is not None else RequestHead(b"GET", b"/p/q?a=1&r=x", headers=[(b"Host", b"h")])
    name = rng.choice(EXPR_FETCHES) if rng.random() < 0.7 else rng.choice(FETCH_NAMES)
    parts = [name]
    for _ in range(rng.randrange(4)):
        conv = rng.choice(CONV_NAMES)
        if rng.random() < 0.4:
            conv += "(" + ",".join(rng.choice(ARGS) for _ in range(rng.randrange(1, 3))) + ")"
        parts.append(conv)
    text = ",".join(parts)
    try:
        fn = compile_expr(text)
    except SampleError as e:
        return [f"expr {text!r} error {e}"]
    txn = Txn(req, "127.0.0.1", 1234, "127.0.0.2", 80, None, "fe", "be", now=1.0, wall=1e9)
    try:
        return [f"expr {text!r} {fn(txn)!r}"]
    except Exception as e:  # noqa: BLE001 - the exception type is part of the comparison
        return [f"expr {text!r} raises {type(e).__name__}"]


def main() -> int:
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    info = _bootstrap.accel_info()
    print("compiled" if info["active"] else "pure", flush=True)
    rng = random.Random(seed)
    for i in range(count):
        lines = [*http_case(rng), *log_case(rng), *sample_case(rng), *expr_case(rng, gen_request(rng))]
        for line in lines:
            print(f"{i} {line}")
    print("build", "compiled" if _bootstrap.accel_info()["active"] else "pure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
