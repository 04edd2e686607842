"""The room header rewrites have in 2.6's HTX (http/htx.py request_room, header_fits) and what a
rewrite that does not fit does in the rule actions (strict-mode on: the internal error verdict;
off: skipped), without sockets. The figures are Debian's 2.6.12 measured with tune.bufsize 4096:
``GET /req`` + ``host: test`` + ``x-pad: <P x 'p'>`` (+ ``connection: close``) takes an 1100-byte
``X-Add`` header for P <= 2854, not for P = 2855 (tests/integration/test_strict_mode_vs_haproxy.py
compares the whole behaviour with 2.6)."""

from __future__ import annotations

from haproxy_py.actions import REGISTRIES, ParseCtx
from haproxy_py.actions.base import CONTINUE, REWRITE_FAIL, RuleTxn, run_rules
from haproxy_py.http import htx
from haproxy_py.http.message import RequestHead


def _head(pad: int, conn: bool = True) -> list[tuple[bytes, bytes]]:
    h = [(b"host", b"test"), (b"x-pad", b"p" * pad)]
    return h + [(b"connection", b"close")] if conn else h


def test_room_matches_the_measured_limit() -> None:
    for pad, fits in ((2854, True), (2855, False), (2800, True), (2900, False)):
        room = htx.request_room(4096, b"GET", b"/req", b"HTTP/1.1", _head(pad))
        assert htx.header_fits(room, b"X-Add", b"a" * 1100) is fits, pad
    # exactly filled is accepted
    room = htx.request_room(4096, b"GET", b"/req", b"HTTP/1.1", _head(2854))
    assert room == htx.header_need(b"X-Add", b"a" * 1100)


def test_blocks_leave_out_an_emptied_connection_header() -> None:
    assert htx.head_blocks(_head(1)) == 4
    assert htx.head_blocks(_head(1, conn=False)) == 4
    assert htx.head_blocks(_head(1) + [(b"Connection", b"close, upgrade")]) == 5
    with_body = htx.request_room(4096, b"POST", b"/", b"HTTP/1.1", _head(1), body=htx.length_held(10, 3000))
    assert with_body == htx.request_room(4096, b"POST", b"/", b"HTTP/1.1", _head(1)) - 18


def _chunks(*sizes: int, final: bool = True, trailers: bytes = b"", ext: bytes = b"") -> bytes:
    out = b"".join(b"%x%s\r\n" % (n, ext) + b"c" * n + b"\r\n" for n in sizes)
    return out + b"0\r\n" + trailers + b"\r\n" if final else out


def test_chunked_body_held_as_measured() -> None:
    """What a chunked body that came with the head takes in 2.6.12's HTX, measured with
    tune.bufsize 16384 / tune.maxrewrite 1024 (a 2000-byte padded head: ``limit`` 13203 for a
    request, 13217 for a response; the request cut at 13275 raw body bytes). The probe is
    tests/integration/test_strict_mode_chunked_vs_haproxy.py's."""
    raw = 13275
    cases = [
        (_chunks(100), 13203, 117),  # data + 8, end of trailers 9
        (_chunks(100, final=False), 13203, 108),
        (_chunks(*[100] * 10), 13203, 1017),  # chunks merged into one block
        (_chunks(100, ext=b";a=b"), 13203, 117),
        (_chunks(), 13203, 9),
        (_chunks(100, trailers=b"x-t: abc\r\n"), 13203, 131),
        (b"64\r\n" + b"c" * 50, 13203, 58),  # a chunk still arriving
        (b"64\r\n", 13203, 0),
        (b"0\r\n", 13203, 0),  # trailers still arriving
        (_chunks(*[100] * 5)[:-2], 13203, 508),
        (_chunks(13195), 13203, 13203),  # fills the limit: no room for the end of trailers
        (_chunks(13196), 13203, 13195),  # does not fit: 16 bytes below the limit
        (_chunks(13190), 13203, 13198),
        (_chunks(13186), 13203, 13203),
        (_chunks(13186, trailers=b"x-t: abcdef\r\n"), 13203, 13194),
        (_chunks(13170, trailers=b"x-t: abcdef\r\n"), 13203, 13178),
        (_chunks(20000)[:raw], 13203, 13195),
        (_chunks(*[500] * 40)[:raw], 13203, 13096),  # the raw cut inside a chunk
        (_chunks(*[5] * 4000)[:raw], 13203, 6645),
        (_chunks(20000, ext=b";" + b"e" * 100)[:raw], 13203, 13176),
        (_chunks(20000), 13217, 13209),
        (_chunks(*[5] * 4000), 13217, 13213),  # whole chunks while they fit
        (_chunks(*[100] * 10, trailers=b"x-t: abc\r\n"), 13217, 1031),
    ]
    for body, limit, held in cases:
        assert htx.chunked_held(body, limit) == held, (body[:20], limit)
    assert htx.length_held(20000, 13217) == 13217 and htx.length_held(0, 100) == 0


def _rules(*lines: str) -> list:
    out = []
    for ln in lines:
        name, *args = ln.split()
        ctx = ParseCtx("http-request", name)
        d = REGISTRIES["http-request"].get(name)
        assert d is not None
        out.append((None, d.parse(args, ctx)))
    return out


def _txn(pad: int) -> RuleTxn:
    req = RequestHead(b"GET", b"/req", b"HTTP/1.1", _head(pad))
    t = RuleTxn(req, "127.0.0.1", 1, "127.0.0.1", 2, None, "f")
    t.bufsize = 4096
    return t


def test_strict_on_fails_and_off_skips() -> None:
    add = "add-header X-Add " + "a" * 1100
    t = _txn(2855)
    assert run_rules(_rules(add), t).kind == REWRITE_FAIL and t.wrew == 1
    assert all(n != b"X-Add" for n, _ in t.req.headers)
    t = _txn(2855)
    v = run_rules(_rules("strict-mode off", add, "add-header X-Small b"), t)
    assert v.kind == CONTINUE and t.wrew == 1
    assert [n for n, _ in t.req.headers][-1] == b"X-Small"
    # the room is used up by each rewrite: the second one of two fails
    t = _txn(2854 - 12)
    assert run_rules(_rules("add-header X-S " + "s" * 4, add), t).kind == REWRITE_FAIL
    t = _txn(2854)
    assert run_rules(_rules(add), t).kind == CONTINUE and t.wrew == 0


def test_set_header_gets_the_room_of_what_it_removes_and_removes_it_anyway() -> None:
    for extra, kind in ((0, CONTINUE), (1, REWRITE_FAIL)):
        t = _txn(2835)
        t.req.headers.append((b"X-Add", b"o" * 12))
        room = htx.request_room(4096, b"GET", b"/req", b"HTTP/1.1", t.req.headers)
        # the old header's 5 + 12 bytes of data are room again (not its block's 8: 2.6.12)
        value = b"a" * (room + 17 - 8 - 5 + extra)
        assert run_rules(_rules("set-header X-Add " + value.decode()), t).kind == kind
    t = _txn(2855 - 20)
    t.req.headers.append((b"X-Add", b"o" * 12))
    t.req_room = None
    v = run_rules(_rules("add-header X-Other 1", "set-header X-Add " + "a" * 1115), t)
    assert v.kind == REWRITE_FAIL
    assert all(n != b"X-Add" for n, _ in t.req.headers)


def test_the_cheap_floor_never_exceeds_the_exact_room() -> None:
    import random

    from haproxy_py.http.parse import parse_request

    rnd = random.Random(7)
    for _ in range(300):
        nl = rnd.choice([b"\r\n", b"\n"])
        hdrs = [(b"h%d" % i, b"v" * rnd.randint(0, 40)) for i in range(rnd.randint(0, 30))]
        if rnd.random() < 0.3:
            hdrs.append((b"Connection", rnd.choice([b"close", b"keep-alive", b"close, x"])))
        raw = b"GET /" + b"u" * rnd.randint(0, 50) + b" HTTP/1.1" + nl
        raw += b"".join(n + b":" + b" " * rnd.randint(0, 2) + v + nl for n, v in hdrs) + nl
        res = parse_request(raw, 0)
        assert res is not None
        req = res[0]
        exact = htx.request_room(4096, req.method, req.uri, req.version, req.headers)
        assert htx.room_floor(4096, req.head_len, len(req.headers)) <= exact, raw


def test_response_room_matches_the_measured_limit() -> None:
    """2.6.12, tune.bufsize 4096: ``HTTP/1.1 200 OK`` + X-Server: s1 + Content-Length: 0 +
    ``x-rpad: <P>`` takes an 1100-byte X-Add from http-response for P <= 2830, not 2831."""
    for pad, fits in ((2830, True), (2831, False)):
        hdrs = [(b"X-Server", b"s1"), (b"Content-Length", b"0"), (b"x-rpad", b"r" * pad)]
        room = htx.response_room(4096, b"HTTP/1.1", b"OK", hdrs)
        assert htx.header_fits(room, b"X-Add", b"a" * 1100) is fits, pad


def test_response_rules_size_each_response_on_its_own() -> None:
    from haproxy_py.http.message import ResponseHead

    def res(pad: int) -> ResponseHead:
        r = ResponseHead(200, b"OK", b"HTTP/1.1", [(b"x-rpad", b"r" * pad)])
        return r

    d = REGISTRIES["http-response"].get("add-header")
    assert d is not None
    rule = [(None, d.parse(["X-Add", "a" * 1100], ParseCtx("http-response", "add-header")))]
    t = _txn(1)
    big = htx.response_room(4096, b"HTTP/1.1", b"OK", [(b"x-rpad", b"")]) - 1113
    t.res = res(big + 1)
    assert run_rules(rule, t).kind == REWRITE_FAIL
    t.res = res(big)  # a new response (an error page): its own room, not what is left of the other
    assert run_rules(rule, t).kind == CONTINUE and t.wrew == 1
