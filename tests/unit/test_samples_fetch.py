"""Sample fetches over a Txn (haproxy_py/samples): values checked against what HAProxy 2.6
computes (figures taken from 2.6.12 runs; tests/differential/test_samples_vs_haproxy.py compares
live)."""

from __future__ import annotations

import ipaddress

import pytest

from haproxy_py.http.message import RequestHead, ResponseHead
from haproxy_py.registry import FAMILIES
from haproxy_py.samples import FETCHES, Sample, SampleError, Txn, compile_expr, compile_format


class FakeRuntime:
    """A Runtime with fixed facts (structural typing: haproxy_py.samples.txn.Runtime)."""

    def nbsrv(self, b): return {"be": 2, "empty": 0}.get(b)
    def be_conn(self, b): return 5 if b == "be" else None
    def be_conn_free(self, b): return 7 if b == "be" else None
    def connslots(self, b): return 9 if b == "be" else None
    def queue(self, b): return 3 if b == "be" else None
    def avg_queue(self, b): return 1 if b == "be" else None
    def be_sess_rate(self, b, now): return int(now) if b == "be" else None
    def fe_conn(self, f): return 4 if f == "fe" else None
    def fe_req_rate(self, f, now): return 11 if f == "fe" else None
    def fe_sess_rate(self, f, now): return 12 if f == "fe" else None
    def srv_conn(self, b, s): return 2 if (b, s) == ("be", "s1") else None
    def srv_conn_free(self, b, s): return 8 if (b, s) == ("be", "s1") else None
    def srv_is_up(self, b, s): return {("be", "s1"): True, ("be", "s2"): False}.get((b, s))
    def srv_queue(self, b, s): return 0 if b == "be" else None
    def srv_sess_rate(self, b, s, now): return 6 if b == "be" else None
    def srv_weight(self, b, s): return 10 if b == "be" else None
    def srv_uweight(self, b, s): return 10 if b == "be" else None
    def srv_iweight(self, b, s): return 10 if b == "be" else None
    def proxy_id(self, p): return {"fe": 1, "be": 3}.get(p)
    def server_id(self, b, s): return 1 if s == "s1" else None
    def stopping(self): return False
    def clock(self): return (7.0, 1_600_000_000.5)
    def pid(self): return 99
    def hostname(self): return "rt-host"
    def proxy_timeout(self, p, name): return {("fe", "client"): 7000}.get((p, name), 0)
    def default_backend(self, f): return "be" if f == "fe" else None
    def userlist(self, name): return (("alice", "s3cret", True),) if name == "L" else None


REQ = RequestHead(b"GET", b"/p/q?a=1&b=2&a=3&=z&c", headers=[
    (b"Host", b"www.ex.com"), (b"X-A", b"1, 2"), (b"X-A", b"3"), (b"Cookie", b"c=1; d=2"),
    (b"Cookie", b"c=3"), (b"X-N", b"12 , 7"), (b"X-I", b"10.0.0.1, ::1"), (b"X-P", b"10.0.0.2:80")])


def txn(**kw) -> Txn:
    t = Txn(REQ, "127.0.0.1", 35750, "127.0.0.2", 8080, FakeRuntime(), "fe", "be", now=42.0,
            wall=1_700_000_000.25, pid=1234, hostname="node1", **kw)
    return t


def ev(expr: str, t: Txn | None = None):
    s = compile_expr(expr)(t or txn())
    return None if s is None else s.value


def test_internal_fetches(monkeypatch) -> None:
    monkeypatch.setenv("SMP_TEST_ENV", "val")
    assert ev("always_true") is True and ev("always_false") is False
    assert ev("bool(true)") is True and ev("bool(1)") is True and ev("bool(0)") is False and ev("bool(false)") is False
    with pytest.raises(SampleError, match="invalid args in fetch method 'bool' : Expects 'true', 'false', '0' or '1'."):
        compile_expr("bool(2)")
    assert ev("meth(GET)") == b"GET"
    assert ev("env(SMP_TEST_ENV)") == b"val" and ev("env(SMP_TEST_NOPE)") is None
    assert ev("date") == 1_700_000_000 and ev("date(10)") == 1_700_000_010
    assert ev("date(1,ms)") == 1_700_000_000_250 + 1 and ev("date(7,us)") == 1_700_000_000_250_007
    assert ev("date_us") == 250_000
    t = Txn(runtime=FakeRuntime())  # times, pid and host name from the engine's facts
    assert (t.now, t.wall, t.pid, t.hostname) == (7.0, 1_600_000_000.5, 99, "rt-host")
    assert ev("hostname") == b"node1"
    assert all(0 <= ev("rand(10)") < 10 for _ in range(50))
    u1, u2 = ev("uuid"), ev("uuid(4)")
    assert u1 != u2 and len(u1) == 36 and u1[14:15] == b"4" and u1[19:20] in b"89ab"
    with pytest.raises(SampleError):
        compile_expr("date(0,hours)")


def test_runtime_fetches() -> None:
    assert ev("nbsrv") == 2 and ev("nbsrv(empty)") == 0 and ev("nbsrv(nope)") is None
    assert (ev("be_conn"), ev("be_conn_free"), ev("connslots"), ev("queue"), ev("avg_queue")) == (5, 7, 9, 3, 1)
    assert ev("be_sess_rate") == 42
    assert (ev("fe_conn"), ev("fe_req_rate"), ev("fe_sess_rate")) == (4, 11, 12)
    assert ev("srv_conn(be/s1)") == 2 and ev("srv_conn(s1)") == 2 and ev("srv_conn_free(be/s1)") == 8
    assert ev("srv_is_up(be/s1)") is True and ev("srv_is_up(s2)") is False
    assert (ev("srv_queue(s1)"), ev("srv_sess_rate(s1)"), ev("srv_weight(s1)")) == (0, 6, 10)
    assert (ev("srv_uweight(be/s1)"), ev("srv_iweight(s1)"), ev("srv_weight(nope/s1)")) == (10, 10, None)
    assert (ev("fe_id"), ev("be_id")) == (1, 3) and ev("srv_id") is None
    assert ev("srv_id", txn(server="s1")) == 1
    assert ev("stopping") is False
    assert ev("nbsrv", Txn(REQ)) is None  # no runtime: no sample
    with pytest.raises(SampleError):
        compile_expr("srv_conn")  # the server argument is mandatory


def test_l4_fetches() -> None:
    assert ev("src") == ipaddress.IPv4Address("127.0.0.1") and ev("src_port") == 35750
    assert ev("dst") == ipaddress.IPv4Address("127.0.0.2") and ev("dst_port") == 8080
    assert ev("src", Txn(None, "::1", 1)) == ipaddress.IPv6Address("::1")
    assert ev("fe_name") == b"fe" and ev("be_name") == b"be" and ev("srv_name") is None
    assert ev("srv_name", txn(server="s1")) == b"s1"
    assert (ev("fc_src_port"), ev("fc_dst_port")) == (35750, 8080)


def test_http_request_fetches() -> None:
    assert ev("method") == b"GET" and ev("path") == b"/p/q" and ev("query") == b"a=1&b=2&a=3&=z&c"
    assert ev("base") == b"www.ex.com/p/q" and ev("base32") == 3325231840
    assert ev("url32") == 3975319903
    assert ev("base32+src") == bytes.fromhex("C63302E07F000001")
    assert ev("url_param(a)") == b"1" and ev("url_param") == b"1" and ev("url_param(c)") is None  # "c" without "=" has no value
    assert ev("urlp_val(a)") == 1 and ev("url_param(zz)") is None
    assert ev("req.ver") == b"1.1" and ev("http_first_req") is True
    assert ev("http_first_req", txn(first_req=False)) is False
    assert ev("req.proto_http") is True and ev("req_proto_http", Txn(None, "127.0.0.1")) is False
    import base64

    def auth(value: bytes) -> Txn:
        return Txn(RequestHead(b"GET", b"/", headers=[(b"Authorization", value)]), runtime=FakeRuntime())

    ok = auth(b"Basic " + base64.b64encode(b"alice:s3cret"))
    assert ev("http_auth(L)", ok) is True and ev("http_auth_user", ok) == b"alice" and ev("http_auth_type", ok) == b"Basic"
    assert ev("http_auth(L)", auth(b"basic " + base64.b64encode(b"alice:x"))) is False
    assert ev("http_auth(L)", auth(b"Bearer t")) is None and ev("http_auth_bearer", auth(b"Bearer t")) == b"t"
    assert ev("pathq", Txn(RequestHead(b"GET", b"http://h:1/x?y"))) == b"/x?y"
    assert ev("url_ip", Txn(RequestHead(b"GET", b"http://10.1.2.3:81/x"))) == ipaddress.IPv4Address("10.1.2.3")
    assert ev("url_port", Txn(RequestHead(b"GET", b"http://10.1.2.3:81/x"))) == 81
    # a name in the authority: no address, and no port either (2.6)
    assert ev("url_port", Txn(RequestHead(b"GET", b"http://h/x"))) is None and ev("url_ip") is None
    assert ev("url_port", Txn(RequestHead(b"GET", b"http://10.1.2.3/x"))) == 80
    assert ev("path", Txn(None)) is None  # TCP: no request
    t = txn()
    t.unique_id = b"ID1"
    t.req_caps = [b"cap0", None]
    assert ev("unique-id", t) == b"ID1" and ev("capture.req.hdr(0)", t) == b"cap0"
    assert ev("capture.req.hdr(1)", t) is None
    from haproxy_py.log.format import LogRecord

    rec = LogRecord(0.0)
    rec.unique_id, rec.req_caps, rec.res_caps = "U-2", ["h0", None], ["r0"]
    t2 = txn(rec=rec)  # what the engine records: the log record's captures and unique id
    assert ev("unique-id", t2) == b"U-2" and ev("capture.req.hdr(0)", t2) == b"h0"
    assert ev("capture.req.hdr(1)", t2) is None and ev("capture.res.hdr(0)", t2) == b"r0"


def test_header_fetches() -> None:
    assert ev("hdr(x-a)") == b"3" and ev("hdr(x-a,1)") == b"1" and ev("hdr(x-a,-2)") == b"2"
    assert ev("req.fhdr(x-a,1)") == b"1, 2" and ev("hdr_cnt(x-a)") == 3 and ev("hdr_cnt") == 11
    assert ev("req.fhdr_cnt(x-a)") == 2 and ev("hdr_val(x-n)") == 7 and ev("hdr_val(x-n,1)") == 12
    assert ev("hdr_ip(x-i)") == ipaddress.IPv6Address("::1") and ev("hdr_ip(x-p)") == ipaddress.IPv4Address("10.0.0.2")
    assert len(ev("req.hdrs")) == 121
    assert ev("req.hdr_names(:)") == b"host:x-a:x-a:cookie:cookie:x-n:x-i:x-p"
    res = ResponseHead(200, b"OK", headers=[(b"Server", b"a, b"), (b"Set-Cookie", b"s=1; Path=/"),
                                             (b"Set-Cookie", b"s=2")])
    t = txn(res=res)
    assert ev("res.hdr(server)", t) == b"b" and ev("res.fhdr(server)", t) == b"a, b"
    assert ev("res.hdr_cnt(server)", t) == 2 and ev("shdr(server,1)", t) == b"a"
    assert ev("res.hdr(server)") is None  # no response yet
    assert ev("shdr_cnt(server)", t) == 2 and ev("res.fhdr_cnt(set-cookie)", t) == 2
    t2 = txn(res=ResponseHead(200, b"OK", headers=[(b"X-N", b"4, 9"), (b"X-IP", b"10.0.0.9:80"), (b"Age", b"3")]))
    assert ev("res.hdr_val(x-n)", t2) == 9 and ev("shdr_val(x-n,1)", t2) == 4
    assert ev("res.hdr_ip(x-ip)", t2) == ipaddress.IPv4Address("10.0.0.9") and ev("shdr_ip(x-ip)", t2) is not None
    assert ev("res.hdrs", t2) == b"x-n: 4, 9\r\nx-ip: 10.0.0.9:80\r\nage: 3\r\n\r\n"
    assert ev("res.hdr_names", t2) == b"x-n,x-ip,age"
    assert ev("res.hdrs_bin", t2) == b"\x03x-n\x044, 9\x04x-ip\x0b10.0.0.9:80\x03age\x013\x00\x00"


def test_cookie_fetches() -> None:
    assert ev("req.cook(c)") == b"3" and ev("req.cook") == b"1" and ev("cook_cnt(c)") == 2
    assert ev("cook_cnt") == 3 and ev("cook_val(c)") == 3 and ev("cookie(d)") == b"2"
    res = ResponseHead(200, b"OK", headers=[(b"Set-Cookie", b"s=1; Path=/"), (b"Set-Cookie", b"s=2")])
    t = txn(res=res)
    assert ev("res.cook(s)", t) == b"2" and ev("res.cook_cnt(s)", t) == 2 and ev("scook_val(s)", t) == 2
    assert ev("scook(s)", t) == b"2" and ev("scook_cnt", t) == 3 and ev("res.cook_val(s)", t) == 2  # 2.6 counts Path=/
    assert ev("res.cook(Path)", t) is None  # attributes are not cookies


def test_response_fetches() -> None:
    t = txn(res=ResponseHead(404, b"Not Found", b"HTTP/1.0"))
    assert ev("status", t) == 404 and ev("res.ver", t) == b"1.0"
    assert ev("resp_ver", t) == b"1.0"
    assert ev("status") is None
    t.res_caps = [b"srv"]
    assert ev("capture.res.hdr(0)", t) == b"srv"


def test_var_fetch() -> None:
    t = txn()
    assert ev("var(txn.x)", t) is None and ev("var(txn.x,dflt)", t) == b"dflt"
    with pytest.raises(SampleError, match="invalid variable name 'foo'. A variable name must be start by its scope"):
        compile_expr("var(foo)")
    # the check scope: a tcp-check's variables (tests/differential/test_tcpcheck_vars_vs_haproxy.py);
    # traffic never has any
    assert compile_expr("var(check.x)")(t) is None
    t.set_var("txn.x", Sample("sint", 5))
    assert compile_expr("var(txn.x),add(1)")(t) == Sample("sint", 6)
    t.set_var("proc.shared", Sample("str", b"p"))
    assert ev("var(proc.shared)", Txn()) == b"p"  # the proc scope is the process's
    t.unset_var("proc.shared")
    assert ev("var(proc.shared)", Txn()) is None
    t.set_var("req.r", Sample("str", b"rq"))
    assert ev("var(req.r)", t) == b"rq"
    t.res = ResponseHead(200, b"OK")  # the response processing starts: the req scope is gone (2.6)
    assert ev("var(req.r)", t) is None and ev("var(txn.x)", t) == 5


def test_formats() -> None:
    f = compile_format("a  b %[hdr(x-a)] %ci:%cp %fi:%fp %f %b %s %HM %HU %HP %HQ %HV %{+Q}r %pid "
                       "%%%[hdr(none)]|%{+Q}ci")
    assert f(txn()) == (b"a  b 3 127.0.0.1:35750 127.0.0.2:8080 fe be <NOSRV> GET /p/q?a=1&b=2&a=3&=z&c /p/q "
                        b'?a=1&b=2&a=3&=z&c HTTP/1.1 "GET /p/q?a=1&b=2&a=3&=z&c HTTP/1.1" 1234 %|"127.0.0.1"')
    assert compile_format("%[hdr(none)]", mandatory=True)(txn()) == b"-"
    assert compile_format("%[req.hdrs,bytes(0,12)]")(txn()) == b"host: www.ex"
    with pytest.raises(SampleError) as e:
        compile_format("x %[str(a),nosuch]")
    assert e.value.offset == 11
    with pytest.raises(SampleError):
        compile_format("%zz")


def test_refused_and_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    assert FAMILIES["fetch"] is FETCHES
    with pytest.raises(SampleError, match="not implemented by haproxy-py"):
        compile_expr("internal.strm.is_htx")
    with pytest.raises(SampleError, match="unknown fetch method 'nosuch'"):
        compile_expr("nosuch")
    monkeypatch.setitem(FETCHES.alternatives, "internal.htx.size", "req.len says something close")
    with pytest.raises(SampleError, match=r"not implemented by haproxy-py \(HAProxy 2.6 supports it\); req.len"):
        compile_expr("internal.htx.size")  # a refusal names a close alternative when there is one
    assert FETCHES.get("hdr").usable_in("http-request") and not FETCHES.get("hdr").usable_in("tcp-request connection")
    assert not FETCHES.get("status").usable_in("http-request")


def test_state_facts_runtime() -> None:
    """The engine's Runtime (runtime/facts.py) over real backend objects, through the fetches."""
    from types import SimpleNamespace

    from haproxy_py.lb.base import LbRequest
    from haproxy_py.runtime.backend import Backend
    from haproxy_py.runtime.facts import StateFacts
    from tests.unit.test_lb_helpers import proxy, server

    be = Backend(proxy([server("s1", 1, maxconn=2, maxqueue=3), server("s2", 2, maxconn=1, maxqueue=1)]), 0.0)
    state = SimpleNamespace(backends={"be": be}, frontends={}, stopping=False)
    t = Txn(REQ, "127.0.0.1", 1, runtime=StateFacts(state), backend="be", now=1.0)
    assert (ev("nbsrv", t), ev("connslots", t), ev("be_conn_free", t), ev("queue", t)) == (2, 7, 3, 0)
    assert ev("srv_weight(s1)", t) == 1  # effective weight in user units
    d = be.select(LbRequest(), 0.0)
    be.take(d.server, 0.0)
    assert ev(f"srv_conn({d.server.name})", t) == 1 and ev("be_conn_free", t) == 2
    assert ev("srv_is_up(be/s1)", t) is True and ev("srv_id", Txn(runtime=StateFacts(state), backend="be", server="s1")) == 1
    assert ev("nbsrv(nope)", t) is None and ev("stopping", t) is False
    bk = [server("b1", 3, backup=True), server("b2", 4, backup=True)]
    only_bck = Backend(proxy(bk, name="ob"), 0.0)
    all_bck = Backend(proxy(bk, name="ab", options=(("allbackups", True),)), 0.0)
    facts = StateFacts(SimpleNamespace(backends={"ob": only_bck, "ab": all_bck}, frontends={}, stopping=False))
    assert (facts.nbsrv("ob"), facts.nbsrv("ab")) == (1, 2)  # 2.6: the first backup, or all with allbackups
    clocked = Txn(runtime=StateFacts(SimpleNamespace(pid=5, node="n1", backends={}), lambda: 3.0, lambda: 1e9))
    import os

    assert (clocked.now, clocked.wall, clocked.pid, clocked.hostname) == (3.0, 1e9, 5, os.uname().nodename)
    assert ev("date", clocked) == 1_000_000_000 and ev("hostname", clocked) == os.uname().nodename.encode()


def _expr_names(text: str) -> list[str]:
    """The fetch and converter names of ``fetch(args),conv(args)...`` read syntactically (no
    argument is checked or loaded), [] when ``text`` does not look like an expression."""
    import re

    names, depth, cur = [], 0, ""
    for ch in text + ",":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            m = re.fullmatch(r"([A-Za-z0-9_.+\-]+)(\(.*\))?", cur)
            if not m:
                return []
            names.append(m.group(1))
            cur = ""
            continue
        cur += ch
    return names


def test_every_registered_entry_is_exercised_by_its_test() -> None:
    """Each implemented fetch/converter names a test that really uses it: the name appears as a
    fetch or converter word in an expression of that test function (or, for the differential
    test, of the expression lists it sends to 2.6)."""
    import ast
    import re
    from pathlib import Path

    from haproxy_py.samples import CONVERTERS

    root = Path(__file__).resolve().parents[2]
    used: dict[str, tuple[set[str], set[str]]] = {}

    def words_of(test: str) -> tuple[set[str], set[str]]:
        if test in used:
            return used[test]
        path, func = test.split("::")
        tree = ast.parse((root / path).read_text())
        nodes: list[ast.AST] = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == func]
        if "differential" in path:  # and the expression lists it sends
            nodes += [n for n in tree.body if isinstance(n, ast.Assign)]
        assert nodes, test
        fetches: set[str] = set()
        convs: set[str] = set()
        for node in nodes:
            for c in ast.walk(node):
                if isinstance(c, ast.Constant) and isinstance(c.value, str):
                    texts = [c.value] + re.findall(r"%\[([^\]]*)\]", c.value)
                elif isinstance(c, ast.JoinedStr):
                    texts = ["".join(v.value for v in c.values if isinstance(v, ast.Constant))]
                else:
                    continue
                for text in texts:
                    names = _expr_names(text)
                    if names:
                        fetches.add(names[0])
                        convs.update(names[1:])
        used[test] = (fetches, convs)
        return used[test]

    missing = [f"fetch {n} -> {e.test}" for n, e in FETCHES.entries.items() if n not in words_of(e.test)[0]]
    missing += [f"converter {n} -> {e.test}" for n, e in CONVERTERS.entries.items() if n not in words_of(e.test)[1]]
    assert not missing, "\n".join(missing)


def test_log_format_samples_read_the_record_txn() -> None:
    """A log-format's %[expr] are compiled by the samples package and read the session's Txn
    (``rec.txn``); 2.6 refuses a fetch that needs the request contents there."""
    from haproxy_py.log.format import LogFormatError, LogRecord
    from haproxy_py.samples import log_format as compile_log_format

    fmt = "%ci %[status] %{+Q}[fe_name,upper] %[var(txn.none)] %[var(txn.x),upper] %%[x]"
    cf = compile_log_format(fmt)
    assert cf.has_samples and not compile_log_format("%ci %ST").has_samples
    t = txn(res=ResponseHead(3, b""))
    t.set_var("txn.x", Sample("str", b"hi"))
    rec = LogRecord(0.0)
    rec.client_ip, rec.txn = "127.0.0.1", t
    assert cf(rec) == '127.0.0.1 3 "FE" - HI %[x]'
    with pytest.raises(LogFormatError, match="needs 'HTTP request headers'"):  # 2.6 refuses path in logs
        compile_log_format("%[path]")
    with pytest.raises(LogFormatError, match=r"<res.payload\(0,1\)\] x> .* needs 'response buffer'"):
        compile_log_format("%ci %[res.payload(0,1)] x")  # not implemented, but 2.6's reason first


def test_fetches_refused_where_they_cannot_work() -> None:
    """compile_expr/compile_format with a place refuse as 2.6 does (its messages)."""
    cases = [("status", "fe http-request", "HTTP response"), ("res.hdr(a)", "fe http-request", "HTTP response headers"),
             ("srv_name", "fe http-request", "server"), ("be_name", "fe http-request", "backend"),
             ("path", "be http-response", "HTTP request headers"), ("req.hdr(a)", "fe http-response",
                                                                    "HTTP request headers")]
    for expr, place, need in cases:
        with pytest.raises(SampleError) as e:
            compile_format(f"x %[{expr}]", place=place)
        # 2.6 shows the format from the expression to its end; each caller adds the final period
        assert e.value.message == (f"sample fetch <{expr}]> may not be reliably used here because it needs "
                                   f"'{need}' which is not available here"), e.value.message
        assert e.value.offset == 4
    assert compile_format("%[be_name]", place="be http-request")(txn()) == b"be"
    assert compile_format("%[status]", place="fe http-response")(txn(res=ResponseHead(201, b""))) == b"201"
    assert compile_expr("src", place="fe http-request") is not None
