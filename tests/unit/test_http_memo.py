"""http/memo.py, the head memo, without sockets: what it gives is what the parser (and, for
responses, the rewrite for the client) gives for the same bytes, whatever follows the head; what
is and is not memoised; the give-up and the bounds; ``RequestHead.copy()``. The engine side (rules
and forwardfor never leak into a shared head) is tests/integration/test_http_memo.py."""

from __future__ import annotations

import types
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from haproxy_py.http import htx
from haproxy_py.http.memo import GIVE_UP, MAX_HEAD, REST, Memo, RequestMemo, ResponseMemo, head_key
from haproxy_py.http.message import Headers, RequestHead, ResponseHead
from haproxy_py.http.parse import ParseError, parse_request, parse_response
from haproxy_py.http.rewrite import MODE_CLOSE, MODE_KEEP_ALIVE, MODE_SERVER_CLOSE, prepare_response


def _slots(cls: type) -> list[str]:
    """The instance attributes of a head class: its ``__slots__``, or for a class compiled by the
    accelerator (mypyc keeps no ``__slots__``) its attribute descriptors (properties included)."""
    out: list[str] = []
    for k in cls.__mro__:
        if "__slots__" in vars(k):
            out += k.__slots__
        elif k is not object:
            out += [n for n, v in vars(k).items() if isinstance(v, types.GetSetDescriptorType) and n[:2] != "__"]
    return out


def _facts(h: Headers) -> dict[str, Any]:
    return {s: getattr(h, s) for s in _slots(type(h))}


# ------------------------------------------------------------------ RequestHead.copy

def test_copy_has_every_fact_and_its_own_header_list() -> None:
    req = parse_request(b"POST /a?b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                        b"Connection: keep-alive, Upgrade\r\nUpgrade: x\r\n\r\nabc")
    assert req is not None
    head = req[0]
    # every slot of the class, so that a slot added later is copied too (or this test fails); each set
    # to a value of its own of the slot's type (the accelerator's compiled classes check types)
    slots = _slots(RequestHead)
    assert {"method", "uri", "version", "body", "upgrade"} <= set(slots)
    for i, s in enumerate(slots):
        if s != "headers" and not isinstance(getattr(RequestHead, s, None), property):
            v = getattr(head, s)
            new = (not v) if isinstance(v, bool) else v + 1000 + i if isinstance(v, int) else f"{s}-{i}".encode()
            try:
                setattr(head, s, new)
            except AttributeError:  # a property of a compiled class (path, query)
                assert "__slots__" not in vars(RequestHead)
    dup = head.copy()
    assert type(dup) is RequestHead
    assert _facts(dup) == _facts(head)
    assert dup.headers is not head.headers
    dup.add(b"X-New", b"1")
    dup.set(b"Host", b"other")
    dup.uri = b"/changed"
    assert head.get(b"X-New") is None and head.get(b"Host") == b"h" and head.uri == f"uri-{slots.index('uri')}".encode()


# ------------------------------------------------------------------ requests

_token = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).map(str.encode)
_value = st.text("abcdefghij0123456789 ,;=/.:", max_size=20).map(str.encode)
_framing = st.sampled_from([b"", b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n",
                            b"Connection: close\r\n", b"Connection: keep-alive\r\n",
                            b"Content-Length: x\r\n", b"Connection: upgrade\r\nUpgrade: ws\r\n"])
_requests = st.builds(
    lambda m, path, ver, hdrs, fr, lead: lead + m + b" /" + path + b" " + ver + b"\r\n"
    + b"".join(n + b": " + v + b"\r\n" for n, v in hdrs) + fr + b"\r\n",
    st.sampled_from([b"GET", b"HEAD", b"POST", b"OPTIONS", b"G@T"]),
    _token, st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.2", b"HTTP/2.0", b"HTTP/x"]),
    st.lists(st.tuples(_token, _value), max_size=6), _framing,
    st.sampled_from([b"", b"", b"", b"\r\n"]))
_after = st.sampled_from([b"", b"hello", b"0\r\n\r\n", b"GET /next HTTP/1.1\r\n\r\n", b"\r\n\r\n"])


def _parse(raw: bytes) -> Any:
    try:
        return parse_request(raw, 0)
    except ParseError as e:
        return ("error", e.status, e.pos)


def _memo_parse(memo: RequestMemo, raw: bytes) -> Any:
    try:
        return memo.parse(raw)
    except ParseError as e:
        return ("error", e.status, e.pos)


@settings(max_examples=300, deadline=None)
@given(_requests, _after, _after)
def test_a_memoised_request_is_the_parsed_one(head: bytes, after1: bytes, after2: bytes) -> None:
    memo = RequestMemo()
    for raw in (head + after1, head + after2, head + after1):  # a miss, then hits
        want = _parse(raw)
        got = _memo_parse(memo, raw)
        if want is None or want[0] == "error":
            assert got == want
            continue
        req, consumed, size, key = got
        assert consumed == want[1]
        assert _facts(req) == _facts(want[0])
        assert size == htx.request_size(req.method, req.uri, req.version, req.headers,
                                        req.conn_close or req.conn_keep_alive)
        assert key == head_key(raw)
    alone = _parse(head)
    if head_key(head) is not None and alone is not None and alone[0] != "error":
        assert len(memo) == 1  # one entry for the head, whatever followed it


def test_what_is_memoised() -> None:
    req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    assert head_key(req + b"body") == req
    assert head_key(b"\r\n" + req) is None  # the parser skips leading empty lines
    assert head_key(b"\n" + req) is None
    assert head_key(b"GET / HTTP/1.1\r\nHost: a\r\n") is None  # incomplete
    big = b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD + b"\r\n\r\n"
    assert head_key(big) is None
    memo = RequestMemo()
    assert memo.parse(b"\r\n" + req) is not None and len(memo) == 0
    assert memo.parse(big) is not None and len(memo) == 0
    assert memo.parse(b"GET / HTTP/1.1\r\nHost: a\r\n") is None  # incomplete: nothing, no miss
    assert memo.miss == 0
    r1 = memo.parse(req)
    r2 = memo.parse(req + b"GET /x HTTP/1.1\r\n")
    assert r1 is not None and r2 is not None
    assert r2[0] is r1[0] and r2[3] == req  # shared: the caller copies before any change
    assert r1[:3] == r2[:3]


def test_a_parse_error_is_the_parsers_and_is_not_memoised() -> None:
    memo = RequestMemo()
    bad = b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"
    for _ in range(2):
        try:
            memo.parse(bad)
        except ParseError as e:
            err = (e.status, e.pos)
        else:
            raise AssertionError("no ParseError")
    try:
        parse_request(bad)
    except ParseError as e:
        assert err == (e.status, e.pos)
    assert len(memo) == 0


def test_heads_that_never_repeat_make_the_memo_rest() -> None:
    memo = RequestMemo()
    same = b"GET /same HTTP/1.1\r\n\r\n"
    memo.parse(same)  # a miss too
    memo.fwd.put(("k",), (b"x", True))
    for i in range(GIVE_UP - 2):
        assert memo.parse(b"GET /%d HTTP/1.1\r\n\r\n" % i) is not None
    assert memo.miss == GIVE_UP - 1 and len(memo) == GIVE_UP - 1 and len(memo.fwd) == 1
    hit = memo.parse(same)
    assert hit is not None and hit[3] == same and memo.miss == 0  # a hit starts the count again
    for i in range(GIVE_UP):
        memo.parse(b"GET /b%d HTTP/1.1\r\n\r\n" % i)
    # given up: cleared (with the forwarded heads) and resting
    assert len(memo) == 0 and len(memo.fwd) == 0 and memo.resting == REST and memo.miss == 0
    for _ in range(REST):
        r = memo.parse(same)
        assert r is not None and r[3] is None  # parsed without the memo: not shared
    assert len(memo) == 0 and memo.resting == 0
    assert memo.parse(same) is not None and len(memo) == 1  # then it tries again


def test_memos_are_bounded() -> None:
    m: Memo[int, int] = Memo(max_entries=4)
    for i in range(4):
        m.put(i, i)
    assert len(m) == 4
    m.put(9, 9)  # full: cleared first
    assert len(m) == 1 and m.get(9) == 9 and m.get(0) is None
    memo = RequestMemo(max_entries=3, give_up=1000)
    for i in range(7):
        memo.parse(b"GET /%d HTTP/1.1\r\n\r\n" % i)
    assert 1 <= len(memo) <= 3


# ------------------------------------------------------------------ responses

_RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\nConnection: keep-alive\r\n\r\n",
    b"HTTP/1.1 302 Found\r\nLocation: /x\r\nKeep-Alive: timeout=5\r\nConnection: Keep-Alive\r\n\r\n",
]
_REQS = [b"GET / HTTP/1.1\r\n\r\n", b"HEAD / HTTP/1.1\r\n\r\n", b"GET / HTTP/1.0\r\n\r\n",
         b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"]
_MODES = [MODE_KEEP_ALIVE, MODE_SERVER_CLOSE, MODE_CLOSE]


def _req(raw: bytes) -> RequestHead:
    r = parse_request(raw)
    assert r is not None
    return r[0]


def test_a_memoised_response_is_the_parsed_and_rewritten_one() -> None:
    """Every response head against every request kind and mode, one memo for all of them: what
    the memo gives (first or later) is what parse_response + prepare_response give afresh."""
    memo = ResponseMemo(give_up=10_000)
    for _ in range(2):
        for rb in _RESPONSES:
            for qb in _REQS:
                for mode in _MODES:
                    for tail in (b"", b"ok", b"2\r\nok\r\n0\r\n\r\n"):
                        req = _req(qb)
                        got = memo.parse(rb + tail, req, mode)
                        fresh = parse_response(rb + tail, 0, method=req.method)
                        assert got is not None and fresh is not None
                        resp, consumed, head, keep, nres = got
                        want_head, want_keep = prepare_response(fresh[0], _req(qb), mode)
                        assert consumed == fresh[1]
                        assert (head, keep) == (want_head, want_keep), (rb, qb, mode)
                        assert _facts(resp) == _facts(fresh[0])
                        assert nres == htx.response_size(fresh[0].version, fresh[0].reason,
                                                         parse_response(rb, 0, method=req.method)[0].headers)
    assert len(memo) == len(_RESPONSES) * len(_REQS) * len(_MODES)  # method, keep-alive, version


def test_interim_and_unused_responses_are_not_memoised() -> None:
    req = _req(_REQS[0])
    memo = ResponseMemo()
    for raw in (b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\nConnection: upgrade\r\n\r\n"):
        got = memo.parse(raw, req, MODE_KEEP_ALIVE)
        assert got is not None
        assert got[2:] == (None, True, -1)  # as parsed: the caller rewrites it
    assert len(memo) == 0
    got = memo.parse(_RESPONSES[0], req, MODE_KEEP_ALIVE, use=False)
    assert got is not None and got[2] is None and len(memo) == 0
    assert memo.parse(b"HTTP/1.1 200 OK\r\n", req, MODE_KEEP_ALIVE) is None  # incomplete


def test_a_memoised_response_is_shared() -> None:
    memo = ResponseMemo()
    req = _req(_REQS[0])
    a = memo.parse(_RESPONSES[0], req, MODE_KEEP_ALIVE)
    b = memo.parse(_RESPONSES[0] + b"ok", _req(_REQS[0]), MODE_KEEP_ALIVE)
    assert a is not None and b is not None and a[0] is b[0] and a[2] is b[2]
    c = memo.parse(_RESPONSES[0], _req(_REQS[1]), MODE_KEEP_ALIVE)  # HEAD: another key
    assert c is not None and c[0] is not a[0] and len(memo) == 2
    assert isinstance(a[0], ResponseHead)
