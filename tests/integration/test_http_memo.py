"""The engine's HTTP head memo (engine/http.py): repeated heads take the memoised parse and rewrite,
so these tests repeat identical heads and check that every repetition is handled exactly as the
first one, that per-request changes (rules, forwardfor, cookies) never leak into the memo, and that
what the memo key must include (request method, client keep-alive, HTTP version) is honoured."""

from __future__ import annotations

import socket

from tests.integration.harness import (
    HTTP_DEFAULTS,
    HttpBackend,
    Recorded,
    free_port,
    http_backends,
    read_http_message,
    run_proxy,
)


def _cfg(fe: int, be: HttpBackend, fe_extra: str = "", be_extra: str = "") -> str:
    return HTTP_DEFAULTS + f"""\
frontend fe
    bind 127.0.0.1:{fe}
{fe_extra}
    default_backend be
backend be
{be_extra}
    server s1 127.0.0.1:{be.port} cookie s1
"""


class Client:
    """One keep-alive client connection: send raw requests, read responses one by one."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.f = self.sock.makefile("rb")

    def ask(self, raw: bytes, *, head_only: bool = False) -> tuple[bytes, dict[str, list[str]], bytes]:
        self.sock.sendall(raw)
        start, hdrs, body = read_http_message(self.f, response=True, head_only=head_only)
        d: dict[str, list[str]] = {}
        for k, v in hdrs:
            d.setdefault(k.lower(), []).append(v)
        return start, d, body

    def closed_by_peer(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, TimeoutError):
            return True

    def close(self) -> None:
        self.f.close()
        self.sock.close()


REQ = b"GET /same HTTP/1.1\r\nHost: memo\r\nUser-Agent: t\r\n\r\n"


def test_repeated_request_gets_each_addition_once() -> None:
    """forwardfor and header rules apply to every repetition exactly once (nothing accumulates in
    the shared parsed head), on one kept-alive connection and across connections."""
    with http_backends("s1") as (be,):
        fe = free_port()
        cfg = _cfg(fe, be, fe_extra="    option forwardfor\n    http-request add-header X-Added yes\n"
                                     "    http-request set-header X-Set v1")
        with run_proxy(cfg, wait_ports=[fe]):
            for _ in range(2):
                c = Client(fe)
                for _ in range(3):
                    start, _, body = c.ask(REQ)
                    assert start == b"HTTP/1.1 200 OK" and body == b"s1\n"
                c.close()
    assert len(be.requests) == 6
    for r in be.requests:
        assert r.header_all("x-forwarded-for") == ["127.0.0.1"], r.headers
        assert r.header_all("x-added") == ["yes"], r.headers
        assert r.header_all("x-set") == ["v1"], r.headers
        assert r.start == b"GET /same HTTP/1.1"


def test_repeated_request_without_rules_forwards_identical_heads() -> None:
    """No rules: the memoised request is shared; forwardfor still added once per request, the
    client's Connection tokens still removed."""
    with http_backends("s1") as (be,):
        fe = free_port()
        with run_proxy(_cfg(fe, be, fe_extra="    option forwardfor"), wait_ports=[fe]):
            c = Client(fe)
            raw = b"GET /k HTTP/1.1\r\nHost: memo\r\nConnection: keep-alive\r\n\r\n"
            for _ in range(4):
                start, _, _ = c.ask(raw)
                assert start == b"HTTP/1.1 200 OK"
            c.close()
    assert len(be.requests) == 4
    heads = {tuple(r.headers) for r in be.requests}
    assert heads == {(("Host", "memo"), ("X-Forwarded-For", "127.0.0.1"))}, heads


def test_same_response_head_rewritten_per_client() -> None:
    """One response head, three kinds of client: the rewrite depends on the request, not on the
    first client that got this head."""
    with http_backends("s1") as (be,):
        fe = free_port()
        with run_proxy(_cfg(fe, be), wait_ports=[fe]):
            ka = Client(fe)
            _, h, _ = ka.ask(REQ)
            assert "connection" not in h
            closing = Client(fe)
            _, h, _ = closing.ask(b"GET /same HTTP/1.1\r\nHost: memo\r\nConnection: close\r\n\r\n")
            assert h.get("connection") == ["close"]
            assert closing.closed_by_peer()
            closing.close()
            old = Client(fe)
            _, h, _ = old.ask(b"GET /same HTTP/1.0\r\nHost: memo\r\nConnection: keep-alive\r\n\r\n")
            assert h.get("connection") == ["keep-alive"]
            _, h, _ = old.ask(b"GET /same HTTP/1.0\r\nHost: memo\r\n\r\n")
            assert h.get("connection") == ["close"]
            assert old.closed_by_peer()
            old.close()
            _, h, body = ka.ask(REQ)
            assert "connection" not in h and body == b"s1\n"
            ka.close()


def test_head_and_get_share_a_response_head() -> None:
    """The same response head to a HEAD (no body follows) and to a GET (5 bytes follow): the
    method is part of the memo key."""
    def answer(rec: Recorded) -> tuple[int, list[tuple[str, str]], bytes]:
        return 200, [("Content-Length", "5")], (b"" if rec.start.startswith(b"HEAD") else b"hello")

    with http_backends("s1") as (be,):
        be.behaviour = answer
        fe = free_port()
        with run_proxy(_cfg(fe, be), wait_ports=[fe]):
            c = Client(fe)
            for _ in range(2):
                _, h, body = c.ask(b"GET /x HTTP/1.1\r\nHost: memo\r\n\r\n")
                assert body == b"hello"
                _, h, body = c.ask(b"HEAD /x HTTP/1.1\r\nHost: memo\r\n\r\n", head_only=True)
                assert h["content-length"] == ["5"] and body == b""
            _, h, body = c.ask(b"GET /x HTTP/1.1\r\nHost: memo\r\n\r\n")
            assert body == b"hello"
            c.close()
    assert [r.start.split()[0] for r in be.requests] == [b"GET", b"HEAD", b"GET", b"HEAD", b"GET"]


def test_cookie_backend_inserts_cookie_every_time() -> None:
    """Persistence cookies rewrite both heads per request: every new client gets its cookie even
    though the server's heads repeat, and a client sending the cookie gets none."""
    with http_backends("s1") as (be,):
        fe = free_port()
        with run_proxy(_cfg(fe, be, be_extra="    cookie SRV insert indirect nocache"), wait_ports=[fe]):
            for _ in range(3):
                c = Client(fe)
                _, h, _ = c.ask(REQ)
                assert any(v.startswith("SRV=s1") for v in h.get("set-cookie", [])), h
                _, h, _ = c.ask(b"GET /same HTTP/1.1\r\nHost: memo\r\nCookie: SRV=s1\r\n\r\n")
                assert "set-cookie" not in h, h
                c.close()
    # indirect: the proxy's cookie never reaches the server
    assert all(r.header("cookie") is None for r in be.requests)


def test_many_distinct_heads_overflow_the_memo() -> None:
    """More distinct heads than the memo holds (a repeated one among them keeps it in use): it
    empties itself and every answer stays right."""
    paths = [b"/same" if i % 8 == 0 else b"/n%d" % (i % 600) for i in range(720)]
    with http_backends("s1") as (be,):
        fe = free_port()
        with run_proxy(_cfg(fe, be), wait_ports=[fe]):
            c = Client(fe)
            for path in paths:
                start, _, body = c.ask(b"GET " + path + b" HTTP/1.1\r\nHost: memo\r\n\r\n")
                assert start == b"HTTP/1.1 200 OK" and body == b"s1\n"
            c.close()
    assert [r.start for r in be.requests] == [b"GET " + p + b" HTTP/1.1" for p in paths]


def test_heads_that_never_repeat_then_repeat() -> None:
    """Never-repeating heads make the memo rest; the answers are right before, during and after."""
    with http_backends("s1") as (be,):
        fe = free_port()
        with run_proxy(_cfg(fe, be, fe_extra="    option forwardfor"), wait_ports=[fe]):
            c = Client(fe)
            for i in range(100):
                start, _, body = c.ask(b"GET /u%d HTTP/1.1\r\nHost: memo\r\nCookie: s=%d\r\n\r\n" % (i, i))
                assert start == b"HTTP/1.1 200 OK" and body == b"s1\n"
            for _ in range(5):
                start, _, body = c.ask(REQ)
                assert start == b"HTTP/1.1 200 OK" and body == b"s1\n"
            c.close()
    assert len(be.requests) == 105
    assert all(r.header_all("x-forwarded-for") == ["127.0.0.1"] for r in be.requests)
    assert [r.header("cookie") for r in be.requests[:100]] == [f"s={i}" for i in range(100)]
