"""The parser's fast paths (plain Content-Length, single Connection token, Host-only heads, size
check near the limit only) give the same verdicts as the general code they short-cut."""

from __future__ import annotations

import pytest

from haproxy_py.http.message import BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH, BODY_NONE
from haproxy_py.http.parse import ParseError, htx_size, parse_request, parse_response


def test_duplicate_host_then_connection_close_still_reads_the_connection_header() -> None:
    # the duplicate Host is merged away: the Connection header must still be looked at
    req, _ = parse_request(b"GET / HTTP/1.1\r\nHost: x\r\nhost: X\r\nConnection: close\r\n\r\n")
    assert [n for n, _ in req.headers] == [b"Host", b"Connection"]
    assert req.conn_close and not req.keep_alive


def test_host_only_head_keeps_version_defaults() -> None:
    r11, _ = parse_request(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    r10, _ = parse_request(b"GET / HTTP/1.0\r\nHost: a\r\n\r\n")
    assert r11.keep_alive and not r10.keep_alive
    assert r11.body == BODY_NONE and r11.content_length == -1


@pytest.mark.parametrize("value,expect,forwarded", [
    (b"12", 12, b"12"), (b"0", 0, b"0"), (b"12, 12", 12, b"12"), (b"012", 12, b"012"),
])
def test_content_length_forms(value: bytes, expect: int, forwarded: bytes) -> None:
    req, _ = parse_request(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + b"\r\n\r\n")
    assert req.body == BODY_LENGTH and req.content_length == expect
    assert req.get(b"content-length") == forwarded  # a list of equal values is merged, one kept


@pytest.mark.parametrize("value", [b"1 2", b"-1", b"+1", b"1,2", b"\xd9\xa1", b"99999999999999999999"])
def test_bad_content_length_rejected(value: bytes) -> None:
    with pytest.raises(ParseError) as ei:
        parse_request(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + b"\r\n\r\n")
    assert ei.value.status == 400


def test_conflicting_plain_content_lengths_rejected() -> None:
    with pytest.raises(ParseError):
        parse_request(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")


@pytest.mark.parametrize("value,close,ka", [
    (b"close", True, False), (b"Keep-Alive", False, True), (b"CLOSE", True, False),
    (b"keep-alive, close", True, True), (b"upgrade", False, False),
])
def test_connection_tokens(value: bytes, close: bool, ka: bool) -> None:
    res, _ = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: " + value + b"\r\n\r\n")
    assert (res.conn_close, res.conn_keep_alive) == (close, ka)
    assert res.keep_alive == (not close)


def test_response_bodies() -> None:
    res, n = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", method=b"GET")
    assert res.body == BODY_LENGTH and res.content_length == 5 and n == 38
    res, _ = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", method=b"HEAD")
    assert res.body == BODY_NONE
    res, _ = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert res.body == BODY_CHUNKED
    res, _ = parse_response(b"HTTP/1.1 200 OK\r\n\r\n")
    assert res.body == BODY_CLOSE and not res.keep_alive


def test_response_size_limit_is_exact() -> None:
    """The cheap guard only skips the exact computation far below the limit."""
    limit = 16384 - 1024
    base = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: "

    def head(n: int) -> bytes:
        return base + b"a" * n + b"\r\n\r\n"

    ok = None
    for n in range(limit - 120, limit):
        try:
            parse_response(head(n))
            ok = n
        except ParseError:
            break
    assert ok is not None
    res, _ = parse_response(head(ok))
    assert htx_size(b"", res.reason, b"HTTP/1.1200", res.headers) <= limit
    with pytest.raises(ParseError):
        parse_response(head(ok + 1))


def test_bare_lf_and_fold_take_the_general_path() -> None:
    req, n = parse_request(b"GET / HTTP/1.1\nHost: a\n\n")
    assert req.get(b"host") == b"a" and n == 24
    with pytest.raises(ParseError):
        parse_request(b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n")



def _facts(fn: object, head: bytes) -> object:
    try:
        m, n = fn(head)  # type: ignore[operator]
    except ParseError as e:
        return ("error", e.status, e.pos, e.reason)
    return (n, m.headers, m.body, m.content_length, m.keep_alive, m.conn_close, m.conn_keep_alive, m.upgrade)


def test_plain_framing_step_equals_general_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-step framing facts (one plain Content-Length, one single-token Connection) are what
    the general code finds, errors included, on generated requests and responses."""
    import random

    from haproxy_py.http import parse as hp

    rnd = random.Random(20)
    names = [b"Content-Length", b"content-length", b"Connection", b"CONNECTION", b"Transfer-Encoding",
             b"Upgrade", b"Host", b"X-A", b"Date"]
    values = [b"0", b"12", b"012", b"12, 12", b"1,2", b"-1", b"99999999999999999999", b"999999999999999999",
              b"close", b"Keep-Alive", b"keep-alive, close", b"upgrade", b"", b"chunked", b"h", b"x y"]
    heads = []
    for _ in range(2000):
        hdrs = b"".join(rnd.choice(names) + b": " + rnd.choice(values) + b"\r\n" for _ in range(rnd.randrange(0, 4)))
        ver = rnd.choice([b"HTTP/1.1", b"HTTP/1.0"])
        if rnd.random() < 0.5:
            heads.append((parse_request, b"POST / " + ver + b"\r\nHost: h\r\n" + hdrs + b"\r\n"))
        else:
            heads.append((parse_response, ver + b" 200 OK\r\n" + hdrs + b"\r\n"))
    fast = [_facts(fn, h) for fn, h in heads]
    monkeypatch.setattr(hp, "_conn_tokens_plain", lambda msg, special: False)
    general = [_facts(fn, h) for fn, h in heads]
    assert fast == general


def test_parsed_size_is_htx_size() -> None:
    """The size the parser gives a head (``htx_len``) is what http/htx.py counts for it."""
    import random

    from haproxy_py.http import htx

    rnd = random.Random(26)
    names = [b"Content-Length", b"Connection", b"connection", b"Host", b"X-A", b"Date", b"Upgrade",
             b"Transfer-Encoding"]
    values = [b"0", b"12", b"12, 12", b"close", b"Keep-Alive", b"keep-alive, Upgrade", b"a, close,b", b"",
              b"upgrade", b"chunked", b"h", b"x y"]
    checked = 0
    for _ in range(2000):
        hdrs = b"".join(rnd.choice(names) + b": " + rnd.choice(values) + b"\r\n" for _ in range(rnd.randrange(0, 5)))
        ver = rnd.choice([b"HTTP/1.1", b"HTTP/1.0"])
        try:
            if rnd.random() < 0.5:
                q, _ = parse_request(b"POST /p?q " + ver + b"\r\nHost: h\r\n" + hdrs + b"\r\n")
                assert q.htx_len == htx.request_size(q.method, q.uri, q.version, q.headers,
                                                     q.conn_close or q.conn_keep_alive)
            else:
                r, _ = parse_response(ver + rnd.choice([b" 200 OK", b" 204 ", b" 302 Found"]) + b"\r\n" + hdrs + b"\r\n")
                assert r.htx_len == htx.response_size(r.version, r.reason, r.headers)
            checked += 1
        except ParseError:
            pass
    assert checked > 500
