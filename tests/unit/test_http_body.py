"""Body framing: content-length, chunked (validated, re-framed, extensions dropped, trailers kept), close."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haproxy_py.http.body import (
    BodyError,
    ChunkedBody,
    CloseBody,
    ContentLengthBody,
    NoBody,
    body_reader,
    check_chunked,
)
from haproxy_py.http.message import BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH, BODY_NONE
from haproxy_py.http.parse import parse_request


def feed_all(reader, data: bytes, step: int | None = None):
    out = b""
    done = False
    if step is None:
        o, done = reader.feed(data)
        return o, done
    for i in range(0, len(data), step):
        o, done = reader.feed(data[i : i + step])
        out += o
    return out, done


def test_content_length_exact_and_leftover():
    r = ContentLengthBody(3)
    assert r.feed(b"ab") == (b"ab", False)
    assert r.feed(b"cGET /") == (b"c", True)
    assert r.leftover == b"GET /"
    assert r.feed(b"x") == (b"", True) and r.leftover == b"GET /x"


def test_content_length_zero_and_truncated():
    assert ContentLengthBody(0).done
    r = ContentLengthBody(5)
    r.feed(b"ab")
    with pytest.raises(BodyError):
        r.eof()


def test_close_delimited():
    r = CloseBody()
    assert r.feed(b"abc") == (b"abc", False)
    r.eof()
    assert r.done and r.total == 3


def test_chunked_sample_extension_dropped_trailers_kept():
    # samples/http_handling/request_parsing.txt chunked_with_extension_and_trailers
    raw = b"3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n"
    r = ChunkedBody()
    assert r.feed(raw) == (b"3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n", True)
    assert r.trailers == [(b"X-Trailer", b"t")] and r.payload == 3


def test_chunked_cl_and_te_sample_forwarded_chunked():
    h, used = parse_request(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
                            b"Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert h.body == BODY_CHUNKED
    r = body_reader(h.body, h.content_length)
    assert isinstance(r, ChunkedBody)
    assert r.feed(b"3\r\nabc\r\n0\r\n\r\n") == (b"3\r\nabc\r\n0\r\n\r\n", True)


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 100])
def test_chunked_split_anywhere(step):
    raw = b"A\r\n0123456789\r\n1F;x=\"y\"\r\n" + b"z" * 31 + b"\r\n0\r\nT1: a\r\nT2: b\r\n\r\nNEXT"
    r = ChunkedBody()
    out, done = feed_all(r, raw, step)
    assert done
    assert out == b"A\r\n0123456789\r\n1F\r\n" + b"z" * 31 + b"\r\n0\r\nT1: a\r\nT2: b\r\n\r\n"
    assert r.leftover == b"NEXT"


def test_chunked_bare_lf_accepted():
    r = ChunkedBody()
    assert r.feed(b"3\nabc\n0\n\n") == (b"3\r\nabc\r\n0\r\n\r\n", True)


@pytest.mark.parametrize(
    "raw",
    [b"zz\r\nabc\r\n0\r\n\r\n", b"\r\n", b"-3\r\nabc\r\n", b"3\r\nabcd\r\n", b"3 x\r\nabc\r\n",
     b"0\r\nbad trailer\r\n\r\n", b"0\r\nX: a\x01\r\n\r\n", b"11111111111111111\r\n", b"0x3\r\nabc\r\n"],
)
def test_chunked_invalid(raw):
    with pytest.raises(BodyError):
        ChunkedBody().feed(raw)


@pytest.mark.parametrize(
    "raw",
    [b"0x", b"+", b" ", b"5 x", b"5\r\r", b"5;a\rb", b"\r", b"5\r\nhelloX", b"5\r\nhello\r\r", b"0\r\nX y",
     b"0\r\n:", b"0\r\n\r\r", b"10000000000000", b"5\x00"],
)
def test_chunked_invalid_before_the_line_ends(raw):
    """2.6 refuses these as soon as the offending byte is there (probed live), not at the LF."""
    with pytest.raises(BodyError):
        ChunkedBody().feed(raw)
    r = ChunkedBody()
    with pytest.raises(BodyError):  # the same, one byte at a time
        for i in range(len(raw)):
            r.feed(raw[i:i + 1])


@pytest.mark.parametrize(
    "raw",
    [b"5", b"5 \t", b"5;\r", b"5 ;x=\"y\"", b"5\r", b"5\r\nhello\r", b"0\r\nX", b"0\r\nX:", b"0\r\n\r",
     b"0000000000000000000000005", b"FFFFFFFFFFFFF"],
)
def test_chunked_valid_prefixes_wait(raw):
    r = ChunkedBody()
    _, done = r.feed(raw)
    assert not done


def test_chunked_size_limit_and_leading_zeros():
    assert ChunkedBody().feed(b"000000000000000000003\r\nabc\r\n0\r\n\r\n") == (b"3\r\nabc\r\n0\r\n\r\n", True)
    r = ChunkedBody()
    assert r.feed(b"fffffffffffff\r\nab") == (b"FFFFFFFFFFFFF\r\nab", False)
    with pytest.raises(BodyError):
        ChunkedBody().feed(b"10000000000000\r\n")


def test_trailers_rewritten_name_colon_space_value():
    r = ChunkedBody()
    assert r.feed(b"0\r\nY:2\r\nZ:   3 \r\n\r\n") == (b"0\r\nY: 2\r\nZ: 3\r\n\r\n", True)


def test_check_chunked():
    check_chunked(b"5\r\nhel")
    check_chunked(b"")
    with pytest.raises(BodyError):
        check_chunked(b"5\r\nhello\r\n0x")


def test_chunked_truncated_and_long_line():
    r = ChunkedBody()
    r.feed(b"5\r\nab")
    with pytest.raises(BodyError):
        r.eof()
    with pytest.raises(BodyError):
        ChunkedBody().feed(b"1" * 5000)


def test_body_reader_kinds():
    assert isinstance(body_reader(BODY_NONE), NoBody)
    assert isinstance(body_reader(BODY_LENGTH, 4), ContentLengthBody)
    assert isinstance(body_reader(BODY_CLOSE), CloseBody)


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(min_size=1, max_size=40), max_size=6), cut=st.integers(1, 17))
def test_chunked_roundtrip_property(chunks, cut):
    raw = b"".join(b"%X;e=1\r\n" % len(c) + c + b"\r\n" for c in chunks) + b"0\r\n\r\n"
    r = ChunkedBody()
    out, done = feed_all(r, raw, cut)
    assert done and r.payload == sum(map(len, chunks))
    assert out == b"".join(b"%X\r\n" % len(c) + c + b"\r\n" for c in chunks) + b"0\r\n\r\n"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200), cut=st.integers(1, 50))
def test_chunked_fuzz_only_body_error(data, cut):
    r = ChunkedBody()
    try:
        feed_all(r, data, cut)
    except BodyError:
        pass


def test_error_carries_the_window_the_decoder_held():
    """What 2.6's show errors dumps of a body that turned invalid: the partial line kept from the
    previous bytes, then the new ones, and the error's index in them."""
    rb = ChunkedBody()
    assert rb.feed(b"5\r\nhello\r\n1") == (b"5\r\nhello\r\n", False)
    with pytest.raises(BodyError) as e:
        rb.feed(b"Z\r\nabc\r\n")
    # 2.6 points at the byte that broke the size line (the Z), not at the line's start
    assert e.value.window == b"1Z\r\nabc\r\n" and e.value.at == 1 and e.value.pos == 11
    rb = ChunkedBody()
    with pytest.raises(BodyError) as e:
        rb.feed(b"3\r\nabc\r\nZZ\r\n")
    assert e.value.window == b"3\r\nabc\r\nZZ\r\n" and e.value.at == 8


@pytest.mark.parametrize(("line", "at"), [
    # measured with 2.6.12 (show errors of a server's chunked response)
    (b"000000000000000028 1;", 19),  # a digit after the blanks
    (b"1000000000000000000;", 13),  # the digit that makes the size 2^52
    (b"10000000000000", 13),
    (b"fffffffffffff", None),  # 2^52 - 1: still a size
    (b"0x1a", 1), (b"+5", 0), (b" 5", 0), (b"", 0), (b"g", 0),
    (b"5;a\rb", 4),  # the byte after a CR inside an extension
    (b"5 \t;ext=1\r;", 10),
    (b"5 x", 2),
])
def test_chunk_size_error_points_where_26_stops(line: bytes, at: int | None) -> None:
    """The position show errors gives for an invalid chunk-size line, whole or still partial."""
    for cut in (False, True):
        rb = ChunkedBody()
        prefix = b"3\r\nabc\r\n"
        data = prefix + line + (b"" if cut else b"\r\n")
        if at is None:
            rb.feed(data)
            continue
        if cut and not line:
            continue  # an empty partial line may still become a size
        with pytest.raises(BodyError) as e:
            rb.feed(data)
        assert e.value.at == len(prefix) + at, (line, cut)
