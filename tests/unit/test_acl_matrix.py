"""The ACL/condition matrix of samples/acl/ (every verified request), plus matcher unit cases."""

from __future__ import annotations

import ast
import re

import pytest

from haproxy_py.acl.condition import AclError, compile_acls, compile_condition
from haproxy_py.acl.fetch import DERIVED, RequestContext, resolve
from haproxy_py.acl.match import MatchError, compile_matcher
from haproxy_py.config.model import Acl, Condition, Term
from haproxy_py.http.parse import ParseError, parse_request
from haproxy_py.samples import build_expr, compile_values
from tests.conftest import SAMPLES
from tests.unit.test_samples_fetch import FakeRuntime

# ------------------------------------------------------------ a tiny reader for the sample cfg


def _acl_from_words(name: str, words: list[str]) -> Acl:
    fetch = words[0]
    args: tuple[str, ...] = ()
    m = re.fullmatch(r"([\w.]+)\((.*)\)", fetch)
    if m:
        fetch, args = m.group(1), tuple(a.strip() for a in m.group(2).split(","))
    match = None
    icase = False
    i = 1
    while i < len(words) and words[i].startswith("-"):
        if words[i] == "--":
            i += 1
            break
        if words[i] == "-i":
            icase = True
        elif words[i] == "-m":
            i += 1
            match = words[i]
        i += 1
    pats = words[i:]
    op = None
    if pats and pats[0] in ("eq", "ge", "gt", "le", "lt"):
        op, pats = pats[0], pats[1:]
    return Acl(name=name, fetch=fetch, fetch_args=args, match=match, ignore_case=icase, patterns=tuple(pats),
               operator=op)


def _condition(words: list[str]) -> Condition:
    unless = words[0] == "unless"
    groups: list[list[Term]] = [[]]
    i = 1
    neg = False
    while i < len(words):
        w = words[i]
        if w in ("||", "or"):
            groups.append([])
        elif w == "!":
            neg = True
        elif w == "{":
            j = words.index("}", i)
            groups[-1].append(Term(negate=neg, anonymous=_acl_from_words("", words[i + 1 : j])))
            neg = False
            i = j
        else:
            if w.startswith("!"):
                neg, w = True, w[1:]
            groups[-1].append(Term(negate=neg, acl=w))
            neg = False
        i += 1
    return Condition(unless=unless, any_of=tuple(tuple(g) for g in groups))


def _load_cfg():
    acls, rules = [], []
    for line in (SAMPLES / "acl" / "haproxy.cfg").read_text().splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "acl":
            acls.append(_acl_from_words(words[1], words[2:]))
        elif words[:3] == ["http-request", "add-header", "X-M"]:
            rules.append((words[3], _condition(words[4:])))
    return acls, rules


def _load_results():
    out = []
    text = (SAMPLES / "acl" / "acl_results.txt").read_text()
    for block in text.split("REQUEST: ")[1:]:
        req = ast.literal_eval(block.split("\n", 1)[0])
        status = int(re.search(r"STATUS: HTTP/1.1 (\d+)", block).group(1))
        matched = re.search(r"MATCHED: ?(.*)", block).group(1).split()
        out.append((req, status, matched))
    return out


ACLS, RULES = _load_cfg()
RESULTS = _load_results()
COMPILED = compile_acls(ACLS)
CONDS = [(name, compile_condition(cond, COMPILED)) for name, cond in RULES]


class _Runtime(FakeRuntime):
    def nbsrv(self, b):
        return {"be": 1, "be_empty": 0}.get(b)


def _ctx(req):
    return RequestContext(req=req, src="127.0.0.1", src_port=40000, dst="127.0.0.1", dst_port=23700,
                          runtime=_Runtime(), frontend="fe", backend="be")


def test_matrix_loaded():
    assert len(ACLS) == 34 and len(RULES) == 50 and len(RESULTS) == 12
    assert COMPILED.unknown_fetches == []


@pytest.mark.parametrize("raw,status,expected", RESULTS, ids=[r[0].split(b"\r\n")[0].decode() for r in RESULTS])
def test_acl_matrix(raw, status, expected):
    if status == 400:
        with pytest.raises(ParseError):
            parse_request(raw)
        return
    req, _ = parse_request(raw)
    ctx = _ctx(req)
    got = [name for name, ev in CONDS if ev(ctx)]
    assert got == expected


# ------------------------------------------------------------ matchers


@pytest.mark.parametrize(
    "method,patterns,icase,sample,ok",
    [
        ("str", ("GET", "HEAD"), False, b"HEAD", True),
        ("str", ("get",), False, b"GET", False),
        ("str", ("get",), True, b"GET", True),
        ("beg", ("/static", "/img"), False, b"/img/a", True),
        ("beg", ("/STATIC",), True, b"/static/x", True),
        ("end", (".css", ".js"), False, b"/a.js", True),
        ("sub", ("admin",), False, b"/x/admin/y", True),
        ("reg", (r"^/api/v[0-9]+/",), False, b"/api/v2/u", True),
        ("reg", ("^ABC$",), True, b"abc", True),
        ("dir", ("img",), False, b"/x/img/y.png", True),
        ("dir", ("img",), False, b"/x/images/y.png", False),
        ("dir", ("/img/",), False, b"/img", True),
        ("dom", ("example",), False, b"/a.example.b", True),
        ("dom", ("example.com",), False, b"img.example.com", True),
        ("dom", ("example.com",), False, b"a.example.org", False),
        ("dom", ("example.com",), False, b"www.example.com:8080", True),
        ("len", ("gt", "3"), False, b"abcd", True),
        ("len", ("4:5",), False, b"abc", False),
        ("bin", ("414243",), False, b"ABC", True),
        ("found", (), False, b"", True),
    ],
)
def test_matchers(method, patterns, icase, sample, ok):
    op = None
    if patterns and patterns[0] in ("gt", "ge", "lt", "le", "eq"):
        op, patterns = patterns[0], patterns[1:]
    assert compile_matcher(method, patterns, icase, op)([sample]) is ok


@pytest.mark.parametrize(
    "patterns,op,value,ok",
    [(("10",), None, 10, True), (("10",), "gt", 10, False), (("10",), "ge", 10, True), (("10",), "lt", 9, True),
     (("10",), "le", 11, False), (("23690:23710",), None, 23700, True), (("23690:23710",), None, 23711, False),
     ((":5",), None, -3, True), (("5:",), None, 50, True), (("1", "7"), None, 7, True), (("gt", "1"), None, 2, True)],
)
def test_int_operators_and_ranges(patterns, op, value, ok):
    m = compile_matcher("int", patterns, False, op)
    assert m([value]) is ok
    assert m([str(value).encode()]) is ok  # string samples are converted


def test_ip_cidr_and_hosts():
    m = compile_matcher("ip", ("127.0.0.0/8", "10.0.0.1", "2001:db8::/32"))
    assert m(["127.9.9.9"]) and m(["10.0.0.1"]) and not m(["10.0.0.2"]) and m(["2001:db8::5"])
    assert m(["::ffff:127.0.0.1"]) and not m(["not-an-ip"])


def test_bad_patterns_are_load_time_errors():
    with pytest.raises(MatchError):
        compile_matcher("int", ("abc",))
    with pytest.raises(MatchError):
        compile_matcher("reg", ("(",))
    with pytest.raises(MatchError):
        compile_matcher("ip", ("300.1.1.1",))
    with pytest.raises(MatchError):
        compile_matcher("nope", ("x",))
    with pytest.raises(AclError):
        compile_acls([Acl(name="a", fetch="hdr_cnt", fetch_args=("x",), patterns=("zz",))])


# ------------------------------------------------------------ fetches and conditions


def _req(raw: bytes):
    return parse_request(raw)[0]


def test_fetches_misc():
    req = _req(b"GET /p/a?user=bob&x=1&user=al HTTP/1.1\r\nHost: h.example\r\nCookie: a=1; SRV=s2\r\n"
               b"Cookie: b=2\r\nX-N: 7, 8\r\n\r\n")
    ctx = _ctx(req)

    def f(name, *args):
        values, _ = compile_values("", px=build_expr(name, name, list(args) or None, []))
        smps = values(ctx)
        return None if smps is None else [str(x.value) if x.type == "ipv4" else x.value for x in smps]

    assert f("path") == [b"/p/a"] and f("url") == [b"/p/a?user=bob&x=1&user=al"]
    assert f("query") == [b"user=bob&x=1&user=al"]
    assert f("url_param", "user") == [b"bob", b"al"] and f("urlp", "nope") is None
    assert f("cook", "SRV") == [b"s2"] and f("req.cook", "b") == [b"2"] and f("cook_cnt", "a") == [1]
    assert f("hdr_val", "x-n") == [7, 8] and f("hdr", "x-n", "-1") == [b"8"]
    assert resolve("path_beg")[0].name == "path" and f("hdr", "x-n", "1") == [b"7"]
    assert f("req.fhdr", "x-n") == [b"7, 8"] and f("req.fhdr_cnt", "cookie") == [2]
    assert f("base") == [b"h.example/p/a"] and f("req.ver") == [b"1.1"]
    assert f("src") == ["127.0.0.1"] and f("dst_port") == [23700] and f("nbsrv", "be_empty") == [0]
    assert resolve("path_beg")[2] == "beg" and DERIVED["hdr_dom"] == ("req.hdr", "dom")


def test_same_name_lines_are_ored_and_unknown_fetch_is_an_error():
    acls = compile_acls([
        Acl(name="a", fetch="path", patterns=("/x",)),
        Acl(name="a", fetch="method", patterns=("POST",)),
    ])
    c = compile_condition(Condition(any_of=((Term(acl="a"),),)), acls)
    assert c(_ctx(_req(b"GET /x HTTP/1.1\r\n\r\n"))) and c(_ctx(_req(b"POST /y HTTP/1.1\r\n\r\n")))
    assert not c(_ctx(_req(b"GET /y HTTP/1.1\r\n\r\n")))
    assert c(RequestContext()) is False  # no request at all (TCP mode)
    # accepted means implemented: an unknown or unimplemented fetch never compiles to "no match"
    with pytest.raises(AclError, match="unknown fetch method 'no_such_fetch'"):
        compile_acls([Acl(name="u", fetch="no_such_fetch", patterns=("1",))])
    with pytest.raises(AclError, match="not implemented by haproxy-py"):
        compile_acls([Acl(name="u", fetch="internal.strm.is_htx", patterns=("1",))])


def test_converters_and_pattern_files(tmp_path):
    pf = tmp_path / "paths.lst"
    pf.write_text("# comment\n\n  /Static\n/img\r\n/sp \n")
    pf2 = tmp_path / "more.lst"
    pf2.write_text("/api\n")
    acls = compile_acls([
        Acl(name="p", fetch="path", match="beg", ignore_case=True, pattern_files=(str(pf), str(pf2))),
        Acl(name="h", fetch="req.hdr", fetch_args=("host",), converters=(("lower", ()), ("field", ("1", "."))),
            patterns=("www",)),
        Acl(name="n", fetch="req.hdr", fetch_args=("x-n",), converters=(("add", ("1",)),), operator="gt",
            patterns=("7",)),
        Acl(name="net", fetch="req.hdr_ip", fetch_args=("x-ip",), patterns=("10.0.0.0/8",)),
        Acl(name="l", fetch="path", match="len", patterns=("4",)),
    ])

    def m(name, raw):
        return compile_condition(Condition(any_of=((Term(acl=name),),)), acls)(_ctx(_req(raw)))

    assert m("p", b"GET /static/a HTTP/1.1\r\n\r\n") and m("p", b"GET /api HTTP/1.1\r\n\r\n")
    assert not m("p", b"GET /zz HTTP/1.1\r\n\r\n") and not m("p", b"GET /x HTTP/1.1\r\n\r\n")
    assert m("p", b"GET /img/a HTTP/1.1\r\n\r\n") and not m("p", b"GET /sp/a HTTP/1.1\r\n\r\n")  # "/sp " kept
    assert m("h", b"GET / HTTP/1.1\r\nHost: WWW.example.com\r\n\r\n")
    assert not m("h", b"GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
    assert m("n", b"GET / HTTP/1.1\r\nX-N: 1, 7\r\n\r\n") and not m("n", b"GET / HTTP/1.1\r\nX-N: 6\r\n\r\n")
    assert m("net", b"GET / HTTP/1.1\r\nX-IP: 10.1.2.3\r\n\r\n")
    assert not m("net", b"GET / HTTP/1.1\r\nX-IP: 11.1.2.3\r\n\r\n")
    assert m("l", b"GET /abc HTTP/1.1\r\n\r\n") and not m("l", b"GET /ab HTTP/1.1\r\n\r\n")
    with pytest.raises(AclError, match="converter 'nosuch'"):
        compile_acls([Acl(name="x", fetch="path", converters=(("nosuch", ()),), patterns=("a",))])


def test_undefined_acl_is_an_error_and_predefined_fallback():
    with pytest.raises(AclError, match="no such ACL : 'x'"):
        compile_condition(Condition(any_of=((Term(acl="x"),),)), [])
    c = compile_condition(Condition(unless=True, any_of=((Term(acl="METH_POST"),), (Term(acl="HTTP_1.0"),))), [])
    assert c(_ctx(_req(b"GET / HTTP/1.1\r\n\r\n")))
    assert not c(_ctx(_req(b"GET / HTTP/1.0\r\n\r\n")))
    assert compile_condition(None, [])(RequestContext())


def test_predefined_content_and_star():
    ctx = _ctx(_req(b"OPTIONS * HTTP/1.1\r\nContent-Length: 2\r\n\r\n"))
    for name, want in (("HTTP_URL_STAR", True), ("HTTP_CONTENT", True), ("METH_OPTIONS", True),
                       ("HTTP_URL_SLASH", False), ("HTTP_1.1", True), ("LOCALHOST", True)):
        assert compile_condition(Condition(any_of=((Term(acl=name),),)), [])(ctx) is want, name
    # the layer-6 ones read 2.6's HTX message in an HTTP request: no RDP cookie there, and a
    # size that is never 0 (req.len)
    assert compile_condition(Condition(any_of=((Term(acl="RDP_COOKIE"),),)), [])(ctx) is False
    assert compile_condition(Condition(any_of=((Term(acl="REQ_CONTENT"),),)), [])(ctx) is True
    assert compile_condition(Condition(any_of=((Term(acl="WAIT_END"),),)), [])(ctx) is True


def test_place_drops_fetches_that_cannot_work_there():
    """2.6: an ACL on a response fetch never matches in a request rule (and a request fetch
    never matches in a response rule); lines of the same name that can work still do."""
    acls = compile_acls([
        Acl(name="st", fetch="status", patterns=("200",)),
        Acl(name="p", fetch="path", patterns=("/x",)),
        Acl(name="mix", fetch="status", patterns=("200",)),
        Acl(name="mix", fetch="path", patterns=("/x",)),
    ])
    from haproxy_py.http.message import ResponseHead

    ctx = _ctx(_req(b"GET /x HTTP/1.1\r\n\r\n"))

    def cond(name, place, negate=False):
        return compile_condition(Condition(any_of=((Term(acl=name, negate=negate),),)), acls, place)(ctx)

    # request processing: the request fetch works, the response one has nothing yet
    assert cond("p", None) and not cond("st", None)
    assert cond("p", "http-request") and cond("mix", "http-request")
    ctx.res = ResponseHead(200, b"OK")
    # response processing: a request-only fetch finds nothing (2.6), the response fetch works
    assert cond("st", None) and not cond("p", None)
    assert not cond("st", "http-request") and cond("st", "http-response")
    assert cond("st", "http-request", negate=True)  # "never matches", negated
    assert not cond("p", "http-response") and cond("mix", "http-response")
    anon = Condition(any_of=((Term(anonymous=Acl(name="", fetch="status", patterns=("200",))),),))
    assert not compile_condition(anon, acls, "http-request")(ctx)
    assert compile_condition(anon, acls, "http-response")(ctx)
