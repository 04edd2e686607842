"""Hypothesis fuzzing of the head parser: only ParseError escapes, results are consistent, no hang."""

from __future__ import annotations

import ast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haproxy_py.http.parse import ParseError, parse_request, parse_response
from tests.conftest import ROOT

VALID = (b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n"
         b"Connection: keep-alive, Upgrade\r\nX: a\r\n b\r\n\r\nabc")
ALPHABET = list(b"\r\n :,\t/HTTP1.0GETXx-#\x00\x01\x7f\xe9?=chunked")


def _check(fn, data: bytes) -> None:
    try:
        res = fn(data)
    except ParseError as e:
        assert e.status in (400, 413, 422, 501, 502)
        assert 0 <= e.pos <= len(data)
        return
    if res is not None:
        head, used = res
        assert 0 < used <= len(data)
        # what we would forward re-parses to the same head
        again = fn(head.to_bytes())
        assert again is not None
        h2, used2 = again
        assert h2.headers == head.headers and used2 == len(head.to_bytes())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(data):
    _check(parse_request, data)
    _check(parse_response, data)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=200).map(bytes))
def test_http_alphabet(data):
    _check(parse_request, b"GET / HTTP/1.1\r\n" + data)
    _check(parse_response, b"HTTP/1.1 200 OK\r\n" + data)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(0, 255), st.integers(1, 3))
def test_mutations_of_a_valid_request(pos, byte, mode):
    data = bytearray(VALID)
    if mode == 1:
        data[pos] = byte
    elif mode == 2:
        data.insert(pos, byte)
    else:
        del data[pos]
    _check(parse_request, bytes(data))


def test_pure_modules_import_nothing_forbidden():
    forbidden = {"asyncio", "socket", "selectors", "uvloop", "textual"}
    files = list((ROOT / "haproxy_py" / "http").glob("*.py")) + list((ROOT / "haproxy_py" / "acl").glob("*.py"))
    assert files
    for f in files:
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                if node.level and node.module and node.module.startswith("engine"):
                    names.append("haproxy_py.engine")
            for n in names:
                assert n.split(".")[0] not in forbidden, (f, n)
                assert not n.startswith("haproxy_py.engine"), (f, n)
