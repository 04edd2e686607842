"""HTTP/1 head parser: every defence of FACTS 6.4, replayed from samples/http_handling/request_parsing.txt,
plus cases probed live against HAProxy 2.6.12 while writing the parser."""

from __future__ import annotations

import ast
import re

import pytest

from haproxy_py.http.message import BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH, BODY_NONE
from haproxy_py.http.parse import ParseError, htx_size, parse_request, parse_response
from tests.conftest import SAMPLES


def _load_cases() -> list[tuple[str, bytes, bytes]]:
    text = (SAMPLES / "http_handling" / "request_parsing.txt").read_bytes()
    cases = []
    for block in text.split(b"######## ")[1:]:
        name, _, rest = block.partition(b"\n")
        sent_repr = rest.split(b">>>>>>>> SENT (repr)\n", 1)[1].split(b"\n", 1)[0]
        received = rest.split(b"<<<<<<<< RECEIVED (raw)\n", 1)[1]
        received = received.replace(b"\r\n", b"\n")
        cases.append((name.decode().strip(), ast.literal_eval(sent_repr.decode("latin1")), received))
    return cases


CASES = _load_cases()
# our one deliberate strictness: control bytes in header values are refused
STRICTER = {"ctl_char_in_header_value", "nul_in_header_value"}
# chunk-size errors are found by the body parser, not the head parser
BODY_ERRORS = {"bad_chunk_size"}


def _forwarded_head(received: bytes) -> list[bytes]:
    """Header lines (lower-cased by HAProxy) that the echo backend received, without connection."""
    body = received.split(b"\n\n", 1)[1]
    head = body.split(b"\n\n", 1)[0].replace(b"\r", b"")
    lines = head.split(b"\n")
    return [ln for ln in lines[1:] if not ln.lower().startswith(b"connection:")] if lines else []


def test_sample_has_all_rows():
    names = {n for n, _, _ in CASES}
    assert len(CASES) >= 35
    assert {"cl_and_te", "obs_fold", "absolute_uri_host_mismatch", "huge_header_20k"} <= names


@pytest.mark.parametrize("name,sent,received", CASES, ids=[c[0] for c in CASES])
def test_request_parsing_sample(name: str, sent: bytes, received: bytes) -> None:
    status = int(received.split(b" ", 2)[1])
    if name in STRICTER:
        with pytest.raises(ParseError) as ei:
            parse_request(sent)
        assert ei.value.status == 400
        assert sent[ei.value.pos] in (0, 1)
        return
    if status == 400 and name not in BODY_ERRORS:
        with pytest.raises(ParseError) as ei:
            parse_request(sent)
        assert ei.value.status == 400
        assert 0 <= ei.value.pos <= len(sent)
        return
    res = parse_request(sent)
    assert res is not None
    head, used = res
    if name in BODY_ERRORS:
        assert head.body == BODY_CHUNKED  # the body parser refuses it: test_http_body.py
        return
    # request line as forwarded (HTTP/1.2, 2.0 -> 1.1)
    fwd_reqline = received.split(b"\n\n", 1)[1].split(b"\n", 1)[0].rstrip(b"\r")
    assert head.start_line() == fwd_reqline
    ours = [n.lower() + b": " + v for n, v in head.headers if n.lower() != b"connection"]
    assert ours == _forwarded_head(received)
    # the rest of the buffer is the body
    assert sent[used:] == sent[sent.find(b"\n\r\n") + 3 if b"\r\n\r\n" in sent else sent.find(b"\n\n") + 2:]


def test_cl_and_te_facts():
    h, _ = parse_request(dict((n, s) for n, s, _ in CASES)["cl_and_te"])
    assert h.body == BODY_CHUNKED and h.content_length == -1
    assert not h.has(b"content-length")


def test_duplicate_cl_merged_keeps_first_name_case():
    h, _ = parse_request(b"POST / HTTP/1.1\r\ncontent-LENGTH: 3\r\nContent-Length: 3\r\n\r\n")
    assert h.headers == [(b"content-LENGTH", b"3")]
    assert h.body == BODY_LENGTH and h.content_length == 3


@pytest.mark.parametrize(
    "value",
    [b"-1", b"abc", b"+3", b"0x3", b"3 3", b"3,", b",3", b"3,,3", b"3_0", b"", b"99999999999999999999999",
     b"3, 4"],
)
def test_bad_content_length(value: bytes):
    with pytest.raises(ParseError) as ei:
        parse_request(b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: " + value + b"\r\n\r\n")
    assert ei.value.status == 400


def test_content_length_blanks_and_leading_zero_kept():
    h, _ = parse_request(b"POST /a HTTP/1.1\r\nContent-Length:   03  \r\n\r\n")
    assert h.headers == [(b"Content-Length", b"03")] and h.content_length == 3


@pytest.mark.parametrize(
    "te,status",
    [(b"gzip", 400), (b"chunked, gzip", 400), (b"chunked\r\nTransfer-Encoding: chunked", 400),
     (b"chunked, chunked", 400), (b"identity", 400), (b"", 400), (b"gzip, chunked", 422),
     (b"gzip\r\nTransfer-Encoding: chunked", 422)],
)
def test_bad_transfer_encoding(te: bytes, status: int):
    with pytest.raises(ParseError) as ei:
        parse_request(b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + te + b"\r\n\r\n")
    assert ei.value.status == status


def test_te_case_insensitive_and_cl_conflict_still_checked():
    h, _ = parse_request(b"POST /a HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n")
    assert h.body == BODY_CHUNKED and h.get(b"transfer-encoding") == b"Chunked"
    with pytest.raises(ParseError):
        parse_request(b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
                      b"Content-Length: 4\r\n\r\n")


@pytest.mark.parametrize(
    "raw",
    [
        b"GET x HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET -x HTTP/1.1\r\nHost: h\r\n\r\n",
        b"CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /a HTTP/1.x\r\n\r\n",
        b"GET /a http/1.1\r\n\r\n",
        b"GET /a HTTP/1.10\r\n\r\n",
        b"GET /a HTTP/11\r\n\r\n",
        b"GET /a FOO/1.1\r\n\r\n",
        b"G(T /a HTTP/1.1\r\n\r\n",
        b" /a HTTP/1.1\r\n\r\n",
        b"GET /a HTTP/1.1 \r\n\r\n",
        b"GET /a HTTP/1.1\r\nX: a\rb\r\n\r\n",
        b"GET /a HTTP/1.1\r\n X: folded-first\r\nHost: h\r\n\r\n",
        b"GET /a HTTP/1.1\r\nX\t: a\r\n\r\n",
        b"GET /a HTTP/1.1\r\nX-\xe9: a\r\n\r\n",
        b"GET /a HTTP/1.1\r\nX: a\x7fb\r\n\r\n",  # ours only (HAProxy forwards DEL)
        b"GET /a\x7f HTTP/1.1\r\n\r\n",
    ],
)
def test_rejected_400(raw: bytes):
    with pytest.raises(ParseError) as ei:
        parse_request(raw)
    assert ei.value.status == 400


@pytest.mark.parametrize(
    "raw,reqline,headers",
    [
        (b"GET * HTTP/1.1\r\nHost: h\r\n\r\n", b"GET * HTTP/1.1", [(b"Host", b"h")]),
        (b"CONNECT h:443 HTTP/1.1\r\n\r\n", b"CONNECT h:443 HTTP/1.1", []),
        (b"GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", None, None),
        (b"GET http://example.com:80/ HTTP/1.1\r\nHost: example.com\r\n\r\n", None, None),
        (b"GET http://example.com/ HTTP/1.1\r\nHost: example.com:80\r\n\r\n", None, None),
        (b"GET https://example.com:443/ HTTP/1.1\r\nHost: example.com\r\n\r\n", None, None),
        (b"GET http://u@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", None, None),
        (b"GET http://Example.com/ HTTP/1.1\r\nHost: example.COM\r\n\r\n", None, None),
        (b"GET http://example.com/ HTTP/1.1\r\n\r\n", None, []),
        (b'GET /a"b<c>{|}\\^` HTTP/1.1\r\n\r\n', b'GET /a"b<c>{|}\\^` HTTP/1.1', []),
        (b"GET /a HTTP/0.9\r\n\r\n", b"GET /a HTTP/0.9", []),
        (b"GET /a HTTP/3.0\r\n\r\n", b"GET /a HTTP/1.1", []),
        (b"GET  /a HTTP/1.1\r\n\r\n", b"GET /a HTTP/1.1", []),
        (b"GET /a HTTP/1.1\r\nHost: \r\n\r\n", None, [(b"Host", b"")]),
        (b"GET /a HTTP/1.1\r\nX:\r\n\r\n", None, [(b"X", b"")]),
        (b"GET /a HTTP/1.1\r\nX: a\xffb\r\n\r\n", None, [(b"X", b"a\xffb")]),
        (b"GET /a HTTP/1.1\r\nHost: h\r\n X: f\r\n\r\n", None, [(b"Host", b"h   X: f")]),
        (b"GET /a HTTP/1.1\r\nX: a\n b\r\n\r\n", None, [(b"X", b"a  b")]),
        (b"GET /a HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", None, [(b"X", b"a  \tb")]),
        (b"GET /a HTTP/1.1\r\nX: a\tb \t\r\n\r\n", None, [(b"X", b"a\tb")]),
        (b"\r\n\nGET /a HTTP/1.1\r\n\r\n", b"GET /a HTTP/1.1", []),
        (b"GET /a HTTP/1.1\r\nHost: h\r\nHost: H\r\n\r\n", None, [(b"Host", b"h")]),
        (b"GET /a HTTP/1.1\r\nHost: h, h\r\n\r\n", None, [(b"Host", b"h, h")]),
    ],
)
def test_accepted(raw: bytes, reqline, headers):
    h, used = parse_request(raw)
    assert used == len(raw)
    if reqline is not None:
        assert h.start_line() == reqline
    if headers is not None:
        assert h.headers == headers


def test_header_case_and_order_kept():
    h, _ = parse_request(b"GET / HTTP/1.1\r\nHOST: x\r\nX-MiXeD-CaSe: VaLuE\r\nAccept: */*\r\n\r\n")
    assert h.headers == [(b"HOST", b"x"), (b"X-MiXeD-CaSe", b"VaLuE"), (b"Accept", b"*/*")]
    assert h.get(b"host") == b"x" and h.get(b"x-mixed-case") == b"VaLuE"
    assert h.to_bytes() == b"GET / HTTP/1.1\r\nHOST: x\r\nX-MiXeD-CaSe: VaLuE\r\nAccept: */*\r\n\r\n"


def test_incremental_byte_by_byte():
    raw = b"POST /p?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET"
    end = raw.index(b"abc")
    for i in range(end):
        assert parse_request(raw[:i]) is None, i
    h, used = parse_request(raw)
    assert used == end and h.content_length == 3
    # a second pipelined request starts at `used + 3`
    assert parse_request(raw, used + 3) is None
    h2, used2 = parse_request(raw + b" / HTTP/1.1\r\n\r\n", used + 3)
    assert h2.method == b"GET" and used2 == len(raw) + 15


def test_error_position_points_at_bad_byte():
    raw = b"GET /echo#frag HTTP/1.1\r\nHost: x\r\n\r\n"
    with pytest.raises(ParseError) as ei:
        parse_request(raw)
    assert ei.value.pos == raw.index(b"#")
    raw = b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Foo: b\x01ar\r\n\r\n"
    with pytest.raises(ParseError) as ei:
        parse_request(raw)
    assert ei.value.pos == raw.index(b"\x01")


def _big(n_pad: int, names: int) -> bytes:
    extra = b"".join(b"H%d: v\r\n" % i for i in range(names - 2))
    return b"GET /echo HTTP/1.1\r\nHost: x\r\n" + extra + b"X-Big: " + b"A" * n_pad + b"\r\n\r\n"


def test_head_size_limit_matches_haproxy_3_headers():
    # FACTS 6.4: with Host, X-Big, Connection the largest accepted raw head is 15292 bytes
    def req(n):
        return b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"A" * n + b"\r\nConnection: close\r\n\r\n"
    ok = req(15292 - 59)
    assert len(ok) == 15292
    assert parse_request(ok) is not None
    with pytest.raises(ParseError) as ei:
        parse_request(req(15293 - 59))
    assert ei.value.status == 400


def test_head_size_limit_9_headers_probed():
    # probed live: 9 headers, last X-Big; 15268 bytes accepted, 15269 refused
    names = [b"Host", b"User-Agent", b"Accept", b"Accept-Language", b"Accept-Encoding", b"Referer",
             b"Cookie", b"Connection"]
    vals = [b"x", b"curl/8", b"*/*", b"en", b"gzip", b"http://r/", b"a=b", b"close"]

    def req(n):
        return (b"GET /echo HTTP/1.1\r\n" + b"".join(a + b": " + v + b"\r\n" for a, v in zip(names, vals, strict=True))
                + b"X-Big: " + b"A" * n + b"\r\n\r\n")

    assert len(req(15099)) == 15268
    assert parse_request(req(15099)) is not None
    with pytest.raises(ParseError):
        parse_request(req(15100))


def test_head_size_parameters_and_incomplete_full_buffer():
    h, _ = parse_request(b"GET / HTTP/1.1\r\n\r\n")
    assert htx_size(h.method, h.uri, h.version, h.headers) == 46 + 16 + 1 + 3 + 8
    with pytest.raises(ParseError):
        parse_request(b"GET /" + b"a" * 100 + b" HTTP/1.1\r\n\r\n", bufsize=200, maxrewrite=100)
    with pytest.raises(ParseError):
        parse_request(b"GET / HTTP/1.1\r\nX: " + b"a" * 300, bufsize=256, maxrewrite=16)
    # an unfinished head waits until it fills the buffer less 64 bytes (2.6.12: 192 of 256)
    assert parse_request(b"GET / HTTP/1.1\r\nX: " + b"a" * 172, bufsize=256, maxrewrite=16) is None
    with pytest.raises(ParseError) as e:
        parse_request(b"GET / HTTP/1.1\r\nX: " + b"a" * 173, bufsize=256, maxrewrite=16)
    assert (e.value.status, e.value.pos) == (400, 192)


def test_framing_facts_request():
    h, _ = parse_request(b"GET / HTTP/1.1\r\n\r\n")
    assert h.body == BODY_NONE and h.keep_alive and h.http11
    h, _ = parse_request(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert not h.keep_alive and h.conn_close
    h, _ = parse_request(b"GET / HTTP/1.0\r\n\r\n")
    assert not h.keep_alive and not h.http11
    h, _ = parse_request(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
    assert h.keep_alive and h.conn_keep_alive
    h, _ = parse_request(b"GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n")
    assert h.upgrade == b"websocket"
    h, _ = parse_request(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
    assert h.upgrade is None


def test_uri_pieces():
    h, _ = parse_request(b"GET http://h.example/a/b?x=1 HTTP/1.1\r\n\r\n")
    assert h.path == b"/a/b" and h.query == b"x=1"
    h, _ = parse_request(b"GET /p HTTP/1.1\r\n\r\n")
    assert h.path == b"/p" and h.query is None


# ------------------------------------------------------------------ responses


def test_response_basic_and_reason_kept():
    raw = b"HTTP/1.0 200 X y\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
    h, used = parse_response(raw)
    assert h.status == 200 and h.reason == b"X y" and raw[used:] == b"ok"
    assert h.body == BODY_LENGTH and h.content_length == 2 and not h.keep_alive
    assert h.to_bytes().startswith(b"HTTP/1.0 200 X y\r\nContent-Type: text/plain\r\n")  # version kept


@pytest.mark.parametrize(
    "raw,method,body,ka",
    [
        (b"HTTP/1.1 200 OK\r\n\r\n", b"GET", BODY_CLOSE, False),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", b"GET", BODY_CHUNKED, True),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", b"GET", BODY_CLOSE, False),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b"GET", BODY_NONE, True),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", b"GET", BODY_NONE, True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", b"HEAD", BODY_NONE, True),
        (b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n", b"GET",
         BODY_NONE, True),
        (b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", b"GET", BODY_LENGTH, True),
    ],
)
def test_response_framing(raw, method, body, ka):
    h, _ = parse_response(raw, method=method)
    assert h.body == body and h.keep_alive == ka


@pytest.mark.parametrize(
    "raw",
    [b"THIS IS NOT HTTP\r\n\r\n", b"THIS IS NOT", b"HTTP/1.1 20x OK\r\n\r\n", b"HTTP/1.1 OK\r\n\r\n",
     b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
     b"Content-Length: 2\r\n\r\n", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"],
)
def test_response_invalid_is_502(raw):
    with pytest.raises(ParseError) as ei:
        parse_response(raw)
    assert ei.value.status == 502


def test_response_incomplete():
    assert parse_response(b"HTT") is None
    assert parse_response(b"HTTP/1.1 200 OK\r\nA: b\r\n") is None


def test_regexes_are_bytes_patterns():
    from haproxy_py.http import parse
    for v in vars(parse).values():
        if isinstance(v, re.Pattern):
            assert isinstance(v.pattern, bytes)


# --- a head whose end has not arrived: what 2.6 refuses at once (probed live)

@pytest.mark.parametrize("raw", [
    b"GET /\r\n", b"GET /\n", b"POST /x \r\n", b"GE(", b"GET /a\x7f", b"GET / HTTP/1.1x", b"GET / HTTP/1.1 ",
    b"GET / abcdefghij", b"GET /  x", b"\x16\x03\x01", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX Y", b"GET / HTTP/1.1\r\nHost: x\r\n\x01", b"GET / HTTP/1.1\r\nNoColon\r\n",
    b"GET / HTTP/1.1 \r", b"GET /\r\r", b"G\rX", b"GET /\rX",
])
def test_incomplete_head_refused_early(raw):
    with pytest.raises(ParseError) as e:
        parse_request(raw)
    assert e.value.status == 400


@pytest.mark.parametrize("raw", [
    b"G", b"GET", b"GET /", b"GET / HT", b"GET / FOO/1.1\r\n", b"GET / HTTP/1.10", b"GET / HTTP/1.1\r",
    b"GET / HTTP/1.1\r\nHost: x\r\nX", b"GET / HTTP/1.1\r\nHost: x\r\nX-A:", b"GET / HTTP/1.1\r\nX-A: 1\r\n  fold",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r", b"G\r", b"GET\r", b"GET \r", b"GET /\r", b"GET / \r", b"GET / H\r",
])
def test_incomplete_head_that_may_still_be_valid_waits(raw):
    assert parse_request(raw) is None


@pytest.mark.parametrize("raw", [b"PRI * HTTP/2.0\r\n\r\n", b"PRI / HTTP/1.1\r\nHost: x\r\n\r\n"])
def test_http2_preface_refused(raw):
    from haproxy_py.http.parse import H2_PREFACE
    with pytest.raises(ParseError) as e:
        parse_request(raw)
    assert e.value.status == 400 and e.value.reason is H2_PREFACE


def test_connect_host_default_port_dropped_and_checked():
    h, _ = parse_request(b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n")
    assert h.headers == [(b"Host", b"a.example")]
    h, _ = parse_request(b"CONNECT a.example:8443 HTTP/1.1\r\nHost: a.example:8443\r\n\r\n")
    assert h.headers == [(b"Host", b"a.example:8443")]
    with pytest.raises(ParseError):
        parse_request(b"CONNECT a.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n")


@pytest.mark.parametrize("raw", [b"GET / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", b"HEAD / HTTP/1.0\r\nContent-Length: 1\r\n\r\n",
                                 b"DELETE / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"])
def test_http10_get_head_delete_with_a_body_is_413(raw):
    with pytest.raises(ParseError) as e:
        parse_request(raw)
    assert e.value.status == 413


@pytest.mark.parametrize("raw", [b"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n", b"OPTIONS / HTTP/1.0\r\nContent-Length: 5\r\n\r\n",
                                 b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", b"get / HTTP/1.0\r\nContent-Length: 5\r\n\r\n"])
def test_bodies_2_6_lets_through(raw):
    assert parse_request(raw) is not None


# status lines as 2.6.12's HTTP/1 parser reads them (probed live: the client's view of each)
@pytest.mark.parametrize(
    "line, version, code, status, reason",
    [(b"XTTP/1.1 200 OK", b"HTTP/1.1", b"200", 200, b"OK"),
     (b"XTTP/1.0 200 OK", b"XTTP/1.0", b"200", 200, b"OK"),
     (b"1234/9.9 200 OK", b"HTTP/1.1", b"200", 200, b"OK"),
     (b"HTTP/1.1  200 \t OK \x01\x00\x7f\xff ", b"HTTP/1.1", b"200", 200, b"OK \x01\x00\x7f\xff "),
     (b"HTTP/1.1\t200", b"HTTP/1.1", b"200", 200, b""),
     (b"HTTP/1.1 0204 No", b"HTTP/1.1", b"0204", 204, b"No"),
     (b"HTTP/1.1 65736 x", b"HTTP/1.1", b"65736", 200, b"x"),
     (b"HTTP/1.1 12345678901234567890 x", b"HTTP/1.1", b"12345678901234567890", 2770, b"x")],
)
def test_status_line_as_haproxy(line, version, code, status, reason):
    resp, _ = parse_response(b"\r\n\n" + line + b"\r\ncontent-length: 0\r\n\r\n")
    assert (resp.version, resp.status, resp.reason) == (version, status, reason)
    assert resp.status_line() == version + b" " + code + b" " + reason


@pytest.mark.parametrize(
    "line, early",
    [(b"http/1.1 200 OK", True), (b"HTTP/1.10 200", False), (b"HTTP/11 200", False), (b"HTTP/a.1 200", True),
     (b"HTTPX1.1 200", False), (b"HT-P/1.1 200", True), (b" HTTP/1.1 200", True), (b"HTTP/1.1 200\x01OK", True),
     (b"HTTP/1.1 +200", True), (b"HTTP/1.1 200 OK\rx", True), (b"HTTP/1.1\x0b200", True),
     (b"HTTP/1.1 20 OK", False), (b"HTTP/1.1 000 OK", False), (b"HTTP/1.1 65556 OK", False),
     (b"\rHTTP/1.1 200 OK", True)],
)
def test_status_line_refused_as_haproxy(line, early):
    with pytest.raises(ParseError) as ei:
        parse_response(line + b"\r\ncontent-length: 0\r\n\r\n")
    assert ei.value.status == 502
    # a byte that cannot belong to a status line is refused as soon as it arrives, the version
    # (and the status code) once the head is complete, as 2.6 does
    if early:
        with pytest.raises(ParseError):
            parse_response(line + b"\r\n")
    else:
        assert parse_response(line + b"\r\n") is None


def test_interim_response_loses_its_framing_headers():
    resp, _ = parse_response(b"HTTP/1.1 100 Continue\r\ncontent-length: 0\r\nx: y\r\n"
                             b"transfer-encoding: chunked\r\n\r\n")
    assert resp.headers == [(b"x", b"y")]
