"""Request/response rewriting: connection modes, forwardfor variants, http-send-name-header, replayed
from samples/http_handling/forwardfor_connection_cookies.txt and request_parsing.txt."""

from __future__ import annotations

import ast
from types import SimpleNamespace

import pytest

from haproxy_py.config.model import ForwardFor, Proxy
from haproxy_py.http.parse import parse_request, parse_response
from haproxy_py.http.rewrite import (
    MODE_CLOSE,
    MODE_KEEP_ALIVE,
    MODE_SERVER_CLOSE,
    ForwardForRule,
    connection_mode,
    prepare_request,
    prepare_response,
    strip_connection_tokens,
)
from tests.conftest import SAMPLES


def _cases(fname: str):
    text = (SAMPLES / "http_handling" / fname).read_bytes().replace(b"\r\n", b"\n")
    out = {}
    for block in text.split(b"######## ")[1:]:
        name, _, rest = block.partition(b"\n")
        sent = ast.literal_eval(rest.split(b">>>>>>>> SENT (repr)\n", 1)[1].split(b"\n", 1)[0].decode("latin1"))
        received = rest.split(b"<<<<<<<< RECEIVED (raw)\n", 1)[1]
        out[name.decode().split(" (")[0].strip()] = (sent, received)
    return out


FF = _cases("forwardfor_connection_cookies.txt")
RP = _cases("request_parsing.txt")

# frontend of each case (samples/http_handling/haproxy.cfg)
SETUP = {
    "forwardfor_plain": (MODE_KEEP_ALIVE, ForwardForRule(), None),
    "forwardfor_plain_existing_xff": (MODE_KEEP_ALIVE, ForwardForRule(), None),
    "forwardfor_plain_src_127.0.0.9": (MODE_KEEP_ALIVE, ForwardForRule(), None),
    "forwardfor_except_127/8": (MODE_KEEP_ALIVE, ForwardForRule(except_net="127.0.0.0/8"), None),
    "forwardfor_header_X-Client": (MODE_KEEP_ALIVE, ForwardForRule(header="X-Client"), None),
    "forwardfor_if-none_with_existing": (MODE_KEEP_ALIVE, ForwardForRule(if_none=True), None),
    "forwardfor_if-none_without": (MODE_KEEP_ALIVE, ForwardForRule(if_none=True), None),
    "http-server-close_request": (MODE_SERVER_CLOSE, None, None),
    "httpclose_request": (MODE_CLOSE, None, None),
    "http-send-name-header": (MODE_KEEP_ALIVE, None, (b"X-Srv", b"named1")),
}


def _echoed(received: bytes) -> list[bytes]:
    """The forwarded request lines (as the echo backend got them: names lower-cased by HAProxy)."""
    body = received.split(b"\n\n", 1)[1]
    return body.split(b"\n\n", 1)[0].split(b"\n")


def _response_head(received: bytes) -> list[bytes]:
    return received.split(b"\n\n", 1)[0].split(b"\n")


def _ours_lower(head: bytes) -> list[bytes]:
    lines = head.rstrip(b"\r\n").split(b"\r\n")
    out = [lines[0]]
    for ln in lines[1:]:
        n, _, v = ln.partition(b": ")
        out.append(n.lower() + b": " + v)
    return out


def _backend_response(received: bytes) -> bytes:
    """What the backend answered (the client's view without the connection header HAProxy added)."""
    head = [ln for ln in _response_head(received) if not ln.startswith(b"connection:")]
    body = received.split(b"\n\n", 1)[1]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


@pytest.mark.parametrize("name", sorted(SETUP))
def test_forwardfor_and_modes_sample(name):
    sent, received = FF[name]
    mode, ff, sendname = SETUP[name]
    src = "127.0.0.9" if name.endswith("127.0.0.9") else "127.0.0.1"
    req, _ = parse_request(sent)
    kw = {}
    if sendname:
        kw = {"server_name_header": sendname[0], "server_name": sendname[1]}
    head, reusable = prepare_request(req, mode, src=src, forwardfor=ff, **kw)
    assert _ours_lower(head) == _echoed(received)
    assert reusable == (mode == MODE_KEEP_ALIVE)
    # response side
    resp, _ = parse_response(_backend_response(received))
    rhead, keep = prepare_response(resp, req, mode)
    assert _ours_lower(rhead) == _response_head(received)
    assert keep == (mode == MODE_SERVER_CLOSE)  # server-close case sent no Connection: close


def test_forwardfor_header_case_kept():
    req, _ = parse_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _ = prepare_request(req, MODE_KEEP_ALIVE, src="10.0.0.1", forwardfor=ForwardForRule(header="X-Client"))
    assert head == b"GET / HTTP/1.1\r\nHost: x\r\nX-Client: 10.0.0.1\r\n\r\n"


def test_forwardfor_from_model_and_ipv6():
    rule = ForwardForRule.from_model(ForwardFor(except_net="10.0.0.0/8"))
    req, _ = parse_request(b"GET / HTTP/1.1\r\n\r\n")
    assert not rule.apply(req, "10.1.2.3")
    assert not rule.apply(req, "::ffff:10.1.2.3")
    assert rule.apply(req, "2001:db8::1")
    assert req.headers == [(b"X-Forwarded-For", b"2001:db8::1")]
    assert not rule.apply(req, None)


def test_default_keepalive_two_requests():
    sent, received = FF["default_keepalive_two_requests"]
    r1, used = parse_request(sent)
    r2, _ = parse_request(sent, used)
    ff = ForwardForRule()
    h1, _ = prepare_request(r1, MODE_KEEP_ALIVE, src="127.0.0.1", forwardfor=ff)
    h2, _ = prepare_request(r2, MODE_KEEP_ALIVE, src="127.0.0.1", forwardfor=ff)
    assert h1 == b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n"
    assert h2 == b"GET /echo?2 HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n"
    resp, _ = parse_response(b"HTTP/1.1 200 X\r\ncontent-type: text/plain\r\ncontent-length: 59\r\n\r\n")
    rh, keep = prepare_response(resp, r1, MODE_KEEP_ALIVE)
    assert keep and b"connection" not in rh
    resp, _ = parse_response(b"HTTP/1.1 200 X\r\ncontent-length: 61\r\n\r\n")
    rh, keep = prepare_response(resp, r2, MODE_KEEP_ALIVE)
    assert not keep and rh.endswith(b"connection: close\r\n\r\n")


@pytest.mark.parametrize("name", ["http10_no_host", "connection_keepalive_http10", "baseline", "te_in_http10"])
def test_http10_and_client_close(name):
    sent, received = RP[name]
    req, _ = parse_request(sent)
    head, _ = prepare_request(req, MODE_KEEP_ALIVE)
    assert _ours_lower(head) == _echoed(received)
    resp, _ = parse_response(_backend_response(received))
    rhead, keep = prepare_response(resp, req, MODE_KEEP_ALIVE)
    assert _ours_lower(rhead) == _response_head(received)
    assert keep == (name == "connection_keepalive_http10")


def test_response_keeps_the_servers_version_and_its_reason():
    """As 2.6 (tests/differential/test_http_versions_generated.py): an HTTP/1.0 answer stays 1.0,
    kept alive with an explicit 'connection: keep-alive'; it closes without a header."""
    resp, _ = parse_response(b"HTTP/1.0 404 Nope Nope\r\nContent-Length: 0\r\n\r\n")
    req, _ = parse_request(b"GET / HTTP/1.1\r\n\r\n")
    rh, keep = prepare_response(resp, req, MODE_KEEP_ALIVE)
    assert rh == b"HTTP/1.0 404 Nope Nope\r\nContent-Length: 0\r\nconnection: keep-alive\r\n\r\n" and keep
    resp, _ = parse_response(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    req, _ = parse_request(b"GET / HTTP/1.0\r\n\r\n")
    rh, keep = prepare_response(resp, req, MODE_KEEP_ALIVE)
    assert rh == b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n" and not keep
    resp, _ = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    rh, keep = prepare_response(resp, req, MODE_KEEP_ALIVE)
    assert rh == b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nconnection: close\r\n\r\n" and not keep


@pytest.mark.parametrize("sconn", [b"", b"Connection: keep-alive\r\n", b"Connection: close\r\n"])
@pytest.mark.parametrize("qline", [b"GET / HTTP/1.1\r\n", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n"])
def test_http10_chunked_response_closes_client(sconn: bytes, qline: bytes) -> None:
    """As 2.6 (tests/differential/test_http_versions_generated.py): an HTTP/1.0 response framed by
    chunks goes out chunked, without a Connection header, and the client connection closes."""
    for mode in (MODE_KEEP_ALIVE, MODE_SERVER_CLOSE):
        resp, _ = parse_response(b"HTTP/1.0 200 OK\r\n" + sconn + b"Transfer-Encoding: chunked\r\n\r\n")
        req, _ = parse_request(qline + b"\r\n")
        rh, keep = prepare_response(resp, req, mode)
        assert rh == b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" and not keep


def test_close_delimited_response_closes_client():
    resp, _ = parse_response(b"HTTP/1.1 200 OK\r\n\r\n")
    req, _ = parse_request(b"GET / HTTP/1.1\r\n\r\n")
    rh, keep = prepare_response(resp, req, MODE_KEEP_ALIVE)
    assert not keep and rh.endswith(b"connection: close\r\n\r\n")


def test_strip_connection_tokens_keeps_upgrade():
    req, _ = parse_request(b"GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n")
    strip_connection_tokens(req)
    assert req.headers == [(b"Connection", b"Upgrade"), (b"Upgrade", b"websocket")]
    resp, _ = parse_response(b"HTTP/1.1 101 Switching\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
    rh, keep = prepare_response(resp, req, MODE_CLOSE)
    assert keep and b"Connection: Upgrade" in rh and b"close" not in rh


def test_send_name_header_replaces_all_existing():
    req, _ = parse_request(b"GET / HTTP/1.1\r\nx-srv: a\r\nHost: h\r\nX-SRV: b\r\n\r\n")
    head, _ = prepare_request(req, MODE_KEEP_ALIVE, server_name_header=b"X-Srv", server_name=b"s1")
    assert head == b"GET / HTTP/1.1\r\nHost: h\r\nX-Srv: s1\r\n\r\n"


def _proxy(**opts):
    return Proxy(name="p", kind="listen", options=tuple(opts.items()))


@pytest.mark.parametrize(
    "fe,be,mode",
    [
        ({}, {}, MODE_KEEP_ALIVE),
        ({"http-keep-alive": True}, {}, MODE_KEEP_ALIVE),
        ({"http-server-close": True}, {}, MODE_SERVER_CLOSE),
        ({}, {"http-server-close": True}, MODE_SERVER_CLOSE),
        ({"httpclose": True}, {}, MODE_CLOSE),
        ({}, {"httpclose": True}, MODE_CLOSE),
        ({"http-server-close": True}, {"httpclose": True}, MODE_CLOSE),
        ({"httpclose": True}, {"http-keep-alive": True}, MODE_CLOSE),
        ({"http-server-close": False}, {}, MODE_KEEP_ALIVE),
    ],
)
def test_connection_mode_table(fe, be, mode):
    assert connection_mode(_proxy(**fe), _proxy(**be)) == mode
    assert connection_mode(SimpleNamespace(option=lambda n: fe.get(n, False)), None) == connection_mode(
        _proxy(**fe), None)
