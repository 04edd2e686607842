"""The FastCGI record protocol (haproxy_py/http/fcgi.py), with generated inputs: name-value pairs
and records survive encoding then decoding in any split of the byte stream, PARAMS records never
split a pair nor exceed 65535 bytes, the CGI parameters follow 2.6's derivations (checked against
what Debian's 2.6 sent php-fpm for the same requests), and the CGI response head parses the same
whatever pieces STDOUT arrives in."""

from __future__ import annotations

import re
import urllib.parse

from hypothesis import given, settings
from hypothesis import strategies as st

from haproxy_py.http import fcgi as F

_bytes = st.binary(max_size=300)
_pairs = st.lists(st.tuples(st.binary(min_size=0, max_size=200), st.binary(max_size=70000)), max_size=6)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    pts = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for p in pts + [len(data)]:
        out.append(data[last:p])
        last = p
    return out


@given(st.lists(st.tuples(_bytes, _bytes), max_size=20))
def test_name_value_pairs_round_trip(pairs: list[tuple[bytes, bytes]]) -> None:
    enc = b"".join(F.encode_nv(n, v) for n, v in pairs)
    assert F.decode_nv(enc) == pairs


@given(st.lists(st.tuples(_bytes, _bytes), min_size=1, max_size=5), st.integers(1, 50))
def test_cut_pairs_are_errors(pairs: list[tuple[bytes, bytes]], cut: int) -> None:
    enc = b"".join(F.encode_nv(n, v) for n, v in pairs)
    short = enc[:-min(cut, len(enc))]
    try:
        got = F.decode_nv(short)
    except F.FcgiError:
        return
    assert got != pairs  # a prefix that still decodes is fewer pairs


@settings(max_examples=60)
@given(_pairs, st.lists(st.integers(0, 1 << 20), max_size=8), st.integers(1, 0xFFFF))
def test_params_records_round_trip_in_any_split(pairs: list[tuple[bytes, bytes]], cuts: list[int], rid: int) -> None:
    pairs = [(n, v) for n, v in pairs if len(F.encode_nv(n, v)) <= F.MAX_CONTENT]
    stream = F.begin_request(rid, True) + F.encode_params(rid, pairs) + F.records(F.STDIN, rid, b"x" * 70000)
    stream += F.record(F.STDIN, rid)
    rd = F.RecordReader()
    recs = [r for part in _split(stream, cuts) for r in rd.feed(part)]
    assert rd.pending == 0
    assert recs[0] == F.Record(F.BEGIN_REQUEST, rid, b"\x00\x01\x01\x00\x00\x00\x00\x00")
    params = [r for r in recs if r.type == F.PARAMS]
    assert params[-1].content == b"" and all(r.content for r in params[:-1])
    assert all(len(r.content) <= F.MAX_CONTENT and r.req_id == rid for r in recs)
    assert [p for r in params for p in F.decode_nv(r.content)] == pairs
    stdin = [r.content for r in recs if r.type == F.STDIN]
    assert b"".join(stdin) == b"x" * 70000 and stdin[-1] == b""


def test_bad_version_and_end_request() -> None:
    rd = F.RecordReader()
    try:
        list(rd.feed(b"\x02\x06\x00\x01\x00\x00\x00\x00"))
        raise AssertionError("version 2 accepted")
    except F.FcgiError:
        pass
    assert F.decode_end_request(b"\x00\x00\x00\x07\x00ERF") == (7, F.REQUEST_COMPLETE)


@given(st.binary(max_size=60))
def test_url_decode_as_unquote(raw: bytes) -> None:
    got = F.url_decode(raw)
    valid = re.fullmatch(rb"(?:[^%]|%[0-9A-Fa-f]{2})*", raw, re.S) is not None
    if valid:
        assert got == urllib.parse.unquote_to_bytes(raw)
    else:
        assert got is None


def _req(uri: bytes, headers: list[tuple[bytes, bytes]] | None = None, method: bytes = b"GET", body: int = 0) -> F.ReqInfo:
    return F.ReqInfo(method, uri, b"HTTP/1.1", headers or [(b"host", b"127.0.0.1:41123")], "127.0.0.1", 57316,
                     "127.0.0.1", 41123, body)


def test_params_as_haproxy_sent_them_to_php_fpm() -> None:
    """What 2.6 sent for ``POST /env.php/x/y?a=1&b=%41`` with docroot /tmp/fp/php/www, index env.php."""
    app = F.AppConf(b"/tmp/fp/php/www", b"env.php")
    hdrs = [(b"host", b"127.0.0.1:41123"), (b"user-agent", b"curl/7.88.1"), (b"accept", b"*/*"),
            (b"x-foo-bar", b"z"), (b"content-length", b"7"), (b"content-type", b"application/x-www-form-urlencoded")]
    p = dict(F.cgi_params(app, _req(b"/env.php/x/y?a=1&b=%41", hdrs, b"POST", 7)) or ())
    assert p == {
        b"HTTP_HOST": b"127.0.0.1:41123", b"HTTP_USER_AGENT": b"curl/7.88.1", b"HTTP_ACCEPT": b"*/*",
        b"HTTP_X_FOO_BAR": b"z", b"CONTENT_LENGTH": b"7", b"CONTENT_TYPE": b"application/x-www-form-urlencoded",
        b"GATEWAY_INTERFACE": b"CGI/1.1", b"DOCUMENT_ROOT": b"/tmp/fp/php/www", b"SCRIPT_NAME": b"/env.php/x/y",
        b"REQUEST_URI": b"/env.php/x/y?a=1&b=%41", b"REQUEST_METHOD": b"POST", b"QUERY_STRING": b"a=1&b=%41",
        b"SERVER_NAME": b"127.0.0.1:41123", b"SERVER_PORT": b"41123", b"SERVER_PROTOCOL": b"HTTP/1.1",
        b"REMOTE_ADDR": b"127.0.0.1", b"REMOTE_PORT": b"57316", b"SCRIPT_FILENAME": b"/tmp/fp/php/www/env.php/x/y"}
    # "/" takes the index; no Content-Length header: CONTENT_LENGTH is the body there is (0)
    p = dict(F.cgi_params(app, _req(b"/")) or ())
    assert p[b"SCRIPT_NAME"] == b"/env.php" and p[b"SCRIPT_FILENAME"] == b"/tmp/fp/php/www/env.php"
    assert p[b"CONTENT_LENGTH"] == b"0" and b"QUERY_STRING" not in p and b"PATH_INFO" not in p


def test_path_info_regex_and_errors() -> None:
    app = F.AppConf(b"/srv", b"index.php", re.compile(rb"^(/.+\.php)(/.*)?$"))
    p = dict(F.cgi_params(app, _req(b"/a%20b.php/x/y?q")) or ())
    assert (p[b"SCRIPT_NAME"], p[b"PATH_INFO"], p[b"PATH_TRANSLATED"]) == (b"/a b.php", b"/x/y", b"/srv/x/y")
    p = dict(F.cgi_params(app, _req(b"/dir/")) or ())
    assert p[b"SCRIPT_NAME"] == b"/dir/index.php" and b"PATH_INFO" not in p
    assert F.cgi_params(app, _req(b"/bad%zz")) is None  # a bad escape: 2.6's processing error
    assert F.cgi_params(app, _req(b"/nl%0a.php")) is None  # a new line where the regex looks
    assert dict(F.cgi_params(app, _req(b"http://h:1/x.php?z")) or ())[b"SCRIPT_NAME"] == b"/x.php"


@given(st.sampled_from([b"\r\n", b"\n"]), st.lists(st.integers(0, 400), max_size=6),
       st.sampled_from([None, b"404 Not Found", b"302", b"500 Oops it broke"]), st.binary(max_size=200))
def test_cgi_response_head_in_any_pieces(eol: bytes, cuts: list[int], status: bytes | None, body: bytes) -> None:
    lines = [b"X-A: 1", b"Content-type: text/html; charset=UTF-8"]
    if status is not None:
        lines.insert(1, b"Status: " + status)
    raw = eol.join(lines) + eol + eol + body
    r = F.CgiResponse()
    got = b"".join(r.feed(part) for part in _split(raw, cuts))
    assert r.done_head and got == body
    assert r.headers == [(b"X-A", b"1"), (b"Content-type", b"text/html; charset=UTF-8")]
    want = int(status[:3]) if status else 200
    assert r.status == want and r.reason == (status[4:] if status and len(status) > 3 else b"")


def test_cgi_response_errors_and_bound() -> None:
    for bad in (b"no colon here\r\n\r\n", b"Status: abc\r\n\r\n", b" folded: x\r\n\r\n", b"bad name: x\n\n"):
        try:
            F.CgiResponse().feed(bad)
            raise AssertionError(bad)
        except F.FcgiError:
            pass
    r = F.CgiResponse(max_head=100)
    try:
        for _ in range(20):
            r.feed(b"X-Long: " + b"y" * 10)
        raise AssertionError("unbounded head")
    except F.FcgiError:
        pass


def _http_request(body: bytes | None, chunked: bool, cuts: list[int]) -> bytes:
    head = b"POST /a.php?q=1 HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dTpw\r\n"
    if body is None:
        return b"GET /a.php HTTP/1.1\r\nHost: h\r\n\r\n"
    if not chunked:
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    parts = _split(body, cuts)
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(
        b"%x;ext\r\n%s\r\n" % (len(p), p) for p in parts if p) + b"0\r\nX-T: 1\r\n\r\n"


@settings(max_examples=60)
@given(st.lists(st.tuples(st.one_of(st.none(), st.binary(max_size=40000)), st.booleans()), min_size=1, max_size=3),
       st.lists(st.integers(0, 1 << 17), max_size=6), st.lists(st.integers(0, 1 << 17), max_size=6))
def test_request_encoder_in_any_split(reqs: list[tuple[bytes | None, bool]], cuts: list[int], wcuts: list[int]) -> None:
    """HTTP/1 requests written in any pieces become BEGIN_REQUEST, PARAMS, the body as STDIN and the
    empty STDIN, one request id after the other; a chunked body's CONTENT_LENGTH is its size when
    it fits what is held before the parameters go."""
    seen: list[tuple[bytes, int]] = []

    def params_of(head, body_len):  # type: ignore[no-untyped-def]
        seen.append((head.method, body_len))
        return F.cgi_params(F.AppConf(b"/d"), F.ReqInfo(head.method, head.uri, head.version, list(head.headers),
                                                         "1.2.3.4", 5, "6.7.8.9", 80, body_len))

    enc = F.RequestEncoder(params_of, True)
    stream = b"".join(_http_request(b, c, cuts) for b, c in reqs)
    out = b"".join(enc.feed(part) for part in _split(stream, wcuts))
    recs = list(F.RecordReader().feed(out))
    for rid, (body, chunked) in enumerate(reqs, 1):
        mine = [r for r in recs if r.req_id == rid]
        assert mine[0].type == F.BEGIN_REQUEST
        params = dict(p for r in mine if r.type == F.PARAMS for p in F.decode_nv(r.content))
        data = body or b""
        assert b"".join(r.content for r in mine if r.type == F.STDIN) == data
        assert mine[-1] == F.Record(F.STDIN, rid, b"")
        want = len(data) if not chunked or len(data) <= F.RequestEncoder.HOLD else None
        if want is not None:
            assert params[b"CONTENT_LENGTH"] == str(want).encode()
        if body is not None:
            assert (params[b"AUTH_TYPE"], params[b"REMOTE_USER"]) == (b"Basic", b"u")
    assert len(seen) == len(reqs)


@settings(max_examples=60)
@given(st.binary(max_size=60000), st.lists(st.integers(0, 1 << 16), max_size=6), st.booleans(),
       st.sampled_from([b"", b"Status: 404 Not Found\r\n", b"Content-Length: 5\r\n"]))
def test_response_decoder_gives_one_http_response(body: bytes, cuts: list[int], head_req: bool, extra: bytes) -> None:
    """STDOUT in records of any sizes (and STDERR between them) becomes one HTTP/1.1 response:
    Content-Length when the whole body came within the held size, else chunked; a HEAD answer
    without body; the error output handed apart."""
    import io

    from tests.integration.harness import read_http_message

    if extra.startswith(b"Content-Length"):
        extra = b"Content-Length: %d\r\n" % len(body)
    cgi = b"X-A: 1\r\n" + extra + b"\r\n" + body
    recs = [F.Record(F.STDOUT, 1, p) for p in _split(cgi, cuts) if p]
    recs.insert(len(recs) // 2, F.Record(F.STDERR, 1, b"err"))
    recs += [F.Record(F.STDOUT, 1, b""), F.Record(F.END_REQUEST, 1, b"\0" * 8)]
    dec = F.ResponseDecoder(b"Thu, 01 Jan 2026 00:00:00 GMT", head_request=head_req)
    http, errs, ended = dec.feed(recs)
    assert ended and errs == [b"err"]
    start, hdrs, got = read_http_message(io.BytesIO(http), response=True, head_only=head_req)
    h = {k.lower(): v for k, v in hdrs}
    assert start == (b"HTTP/1.1 404 Not Found" if b"404" in extra else b"HTTP/1.1 200 OK")
    assert h["x-a"] == "1" and h["date"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    if head_req:
        assert http.endswith(b"\r\n\r\n") and b"transfer-encoding" not in http
    else:
        assert got == body
        assert ("transfer-encoding" in h) == (len(body) > dec.hold and not extra.startswith(b"Content-Length"))


def test_response_decoder_errors() -> None:
    try:
        F.ResponseDecoder().feed([F.Record(F.END_REQUEST, 1, b"\0" * 8)])
        raise AssertionError("an answer without head accepted")
    except F.FcgiError:
        pass


# --------------------------------------------------------------------------- rules, get-values


@given(st.binary(max_size=40))
def test_rule_key_is_2_6s_fcgi_header_name(name: bytes) -> None:
    k = F.rule_key(name)
    assert len(k) == len(name)
    assert all(c == 95 or 48 <= c <= 57 or 97 <= c <= 122 for c in k)
    assert F.rule_key(name.upper()) == F.rule_key(name.lower()) == k  # case never matters
    assert F.rule_key(b"P-A") == F.rule_key(b"p_a") == F.rule_key(b"P.a") == b"p_a"


def test_get_values_request_and_result() -> None:
    rec = F.get_values_request()
    (r,) = list(F.RecordReader().feed(rec))
    assert (r.type, r.req_id) == (F.GET_VALUES, 0)
    assert F.decode_nv(r.content) == [(b"FCGI_MAX_REQS", b""), (b"FCGI_MPXS_CONNS", b"")]
    res = F.encode_nv(b"fcgi_max_reqs", b"3") + F.encode_nv(b"FCGI_MPXS_CONNS", b"0")
    assert F.decode_values(res) == {b"FCGI_MAX_REQS": b"3", b"FCGI_MPXS_CONNS": b"0"}


def _app(text: str):  # type: ignore[no-untyped-def]
    from haproxy_py.config import parse_text
    from haproxy_py.engine.fcgi import FcgiApp

    cfg, d = parse_text("defaults\n mode http\n timeout connect 1s\n timeout client 1s\n timeout server 1s\n"
                        "fcgi-app a\n docroot /d\n" + text +
                        "backend b\n use-fcgi-app a\n server s 127.0.0.1:1 proto fcgi\n", "t.cfg")
    assert cfg is not None and not d.errors, d
    return FcgiApp(cfg.fcgi_apps[0])


def _txn(hdrs: dict[bytes, bytes]):  # type: ignore[no-untyped-def]
    from haproxy_py.acl.fetch import RequestContext
    from haproxy_py.http.parse import parse_request

    raw = b"GET /p.php?k=1 HTTP/1.1\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in hdrs.items()) + b"\r\n"
    head, _ = parse_request(raw, 0, bufsize=16384, maxrewrite=0)
    return RequestContext(head, "127.0.0.1", 1234, "127.0.0.1", 80)


def test_set_param_rules_last_match_wins_and_empty_is_dropped() -> None:
    app = _app(" acl k hdr(x-k) -m found\n set-param P_A one\n set-param p-a two if k\n"
               " set-param B %[req.hdr(x-none)]\n set-param C three unless k\n set-param D four if\n"
               " set-param E five unless\n")
    auth = {b"Authorization": b"Basic dXNlcjpwdw=="}
    with_k = dict(app.forced(_txn({b"Host": b"h", b"X-K": b"1", **auth})))
    without = dict(app.forced(_txn({b"Host": b"h"})))
    # (REMOTE_USER / AUTH_TYPE: 2.6's own first rules, from the credentials passed or not)
    assert with_k == {b"p-a": b"two", b"E": b"five", b"REMOTE_USER": b"user", b"AUTH_TYPE": b"Basic"}
    assert without == {b"P_A": b"one", b"C": b"three", b"E": b"five"}
    names = [F.rule_key(n) for n, _v in app.forced(_txn({b"Host": b"h"}))]
    assert names == sorted(names)  # in the order of 2.6's tree of names


def test_pass_header_conditions() -> None:
    app = _app(" acl k hdr(x-k) -m found\n pass-header Authorization if k\n pass-header Proxy unless k\n")
    assert app.passed is None
    assert app.passed_for(_txn({b"X-K": b"1"})) == {b"authorization"}
    assert app.passed_for(_txn({})) == {b"proxy"}
    plain = _app(" pass-header X-A\n")
    assert plain.passed == frozenset({b"x-a"}) and plain.passed_for(None) == plain.passed
    assert _app(" option get-values\n").get_values and not _app(" no option get-values\n").get_values
