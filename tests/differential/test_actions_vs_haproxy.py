"""Rule actions, differential: one configuration run by Debian's HAProxy 2.6 and by haproxy-py, each
with its own recording backend; every request goes to both and we compare what the client got (status,
reason, headers compared by name case-insensitively, body; or that the connection was closed without a
response) and what the server saw (request line, headers). Each test would fail if its rules were
skipped: the expected effect is also asserted on its own, not only the equality.

Normalised (and only this): header-name case (2.6 lower-cases names, we keep the case received: a
deliberate difference, see test_http_vs_haproxy.py) and the ``connection`` header of responses (the
engine's close signalling is compared by test_http_vs_haproxy.py, not by these rule tests).
"""

from __future__ import annotations

import contextlib
import io
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import HttpBackend, free_port, read_http_message, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

pytestmark = [pytest.mark.timeout(180), pytest.mark.needs_haproxy]

CFG = r"""
global
    stats socket @DIR@/admin.sock level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout tarpit 300ms

frontend fe
    bind 127.0.0.1:{fe}
    tcp-request connection set-var(sess.conn) str(c1)
    tcp-request connection set-src ipv4(192.0.2.1) if {{ src 127.0.0.12 }}
    tcp-request session set-var-fmt(sess.sess) "s-%[src]"
    tcp-request content reject if {{ src 127.0.0.3 }}
    tcp-request content silent-drop if {{ src 127.0.0.13 }}
    http-request deny if {{ path /deny }}
    http-request deny deny_status 429 if {{ path /d429 }}
    http-request deny deny_status 400 content-type text/plain string nope hdr X-D d if {{ path /dreply }}
    http-request deny status 404 if {{ path /d404 }}
    http-request allow if {{ path_beg /allow }}
    http-request deny if {{ path_beg /allow }}
    http-request reject if {{ path /rej }}
    http-request auth realm Zone if {{ path /auth }}
    http-request auth if {{ path /auth2 }}
    http-request tarpit if {{ path /tp }}
    http-request return status 201 content-type text/plain string hello hdr X-A a if {{ path /ret }}
    http-request return if {{ path /ret0 }}
    http-request redirect location /new code 301 if {{ path /old }}
    http-request redirect prefix /pfx drop-query append-slash if {{ path_beg /p/ }}
    http-request redirect scheme https if {{ path_beg /sch }}
    http-request redirect prefix / if {{ path_beg /root }}
    http-request redirect location /c set-cookie FOO=bar if {{ path /ck }}
    http-request redirect location /c code 307 clear-cookie FOO= if {{ path /cl }}
    http-request redirect location /c code 303 if {{ path /c303 }}
    http-request redirect location /c code 308 if {{ path /c308 }}
    redirect prefix /legacy-target if {{ path_beg /legacy }}
    http-request redirect location %[req.hdr(x-loc)] ignore-empty if {{ path /ie }}
    http-request add-header X-Add a1 if {{ path_beg /hdr }}
    http-request add-header X-Add a2 if {{ path_beg /hdr }}
    http-request set-header X-Set s1 if {{ path_beg /hdr }}
    http-request set-header X-Set2 "v w" if {{ path_beg /hdr }}
    http-request del-header X-Del-Me if {{ path_beg /hdr }}
    http-request del-header x-pfx- -m beg if {{ path_beg /hdr }}
    http-request del-header -suf -m end if {{ path_beg /hdr }}
    http-request del-header mid -m sub if {{ path_beg /hdr }}
    http-request del-header ^x-re[0-9]$ -m reg if {{ path_beg /hdr }}
    http-request replace-header X-Rh (a+)(b) <\2\1> if {{ path_beg /hdr }}
    http-request replace-value X-Rv ^x(.*)$ y\1 if {{ path_beg /hdr }}
    http-request set-path /new-path if {{ path /line/set-path }}
    http-request set-pathq /new-pq?n=1 if {{ path /line/set-pathq }}
    http-request set-query q=1 if {{ path_beg /line/set-query }}
    http-request set-uri /u?x if {{ path /line/set-uri }}
    http-request set-method PUT if {{ path /line/set-method }}
    http-request replace-path /rp/(.*) /P/\1 if {{ path_beg /rp/ }}
    http-request replace-pathq ^/rpq(.*) /RPQ\1 if {{ path_beg /rpq }}
    http-request replace-uri ^/ru(.*) /RU\1 if {{ path_beg /ru }}
    http-request set-header X-Lf "p=%[path] h=%[req.hdr(host)] s=%[src]" if {{ path_beg /lf }}
    http-request set-var(txn.orig) path if {{ path_beg /var }}
    http-request set-path /var-rewritten if {{ path_beg /var }}
    http-request set-header X-Var %[var(txn.orig)] if {{ path_beg /var }}
    http-request unset-var(txn.orig) if {{ req.hdr(x-unset) -m found }}
    http-request set-header X-Var2 "[%[var(txn.orig)]]" if {{ path_beg /var }}
    http-request redirect location /q?%[query] if {{ path /lfredir }}
    http-request return status 200 content-type text/plain lf-string "m=%[method] %[path]" if {{ path /lfret }}
    http-request set-var(sess.first) path if {{ path /sess/set }}
    http-request set-header X-Sess "[%[var(sess.first)]]" if {{ path_beg /sess }}
    http-request set-src hdr(x-real-ip) if {{ path /setsrc }}
    http-request set-src-port hdr(x-real-port) if {{ path /setsrc }} {{ req.hdr(x-real-port) -m found }}
    http-request set-dst ipv4(10.1.2.3) if {{ path /setsrc }}
    http-request set-dst-port int(8080) if {{ path /setsrc }}
    http-request set-header X-Addr %[src]:%[src_port]/%[dst]:%[dst_port] if {{ path /setsrc }}
    http-request early-hint Link "</style.css>; rel=preload" if {{ path_beg /eh }}
    http-request early-hint Link "<%[path].js>; rel=preload" if {{ path_beg /eh }}
    http-request early-hint X-Never x if {{ path /never }}
    http-request set-header X-Eh 1 if {{ path_beg /eh }}
    http-request early-hint X-Second "2" if {{ path /eh/two }}
    http-request set-header X-Conn "%[var(sess.conn)] %[var(sess.sess)] %[src]" if {{ path /connvar }}
    http-request set-header X-Order fe
    http-after-response add-header X-After fe
    default_backend be

backend be
    http-request add-header X-Order be
    http-request deny if {{ path /bdeny }}
    http-response add-header X-Order be
    http-after-response add-header X-After be
    server s1 127.0.0.1:{srv}

frontend fe2
    bind 127.0.0.1:{fe2}
    http-response add-header X-Order fe
    http-after-response add-header X-After fe
    http-after-response set-status 203
    default_backend be2

backend be2
    http-response del-header X-Server
    http-response add-header X-R1 r
    http-response set-header Content-Type text/x-set
    http-response replace-header X-Up (b+) <\1>
    http-response replace-value X-Vals ^v(.*)$ w\1
    http-response set-status 299 reason Weird
    http-response add-header X-Order be
    http-response set-header X-St %[status] if {{ status 299 }} {{ res.hdr(x-r1) -m found }}
    http-response add-header X-No-Match 1 if {{ status 200 }}
    http-response allow
    http-response add-header X-Never after-allow
    http-after-response add-header X-After be
    server s1 127.0.0.1:{srv}

frontend fe3
    bind 127.0.0.1:{fe3}
    http-after-response add-header X-After-Deny yes
    default_backend be3

backend be3
    http-request set-var(txn.p) path
    http-response return status 404 content-type text/plain string gone hdr X-Ret r if {{ var(txn.p) -m str /res-ret }}
    http-response redirect location /elsewhere code 303 if {{ var(txn.p) -m str /res-redir }}
    http-response silent-drop if {{ var(txn.p) -m str /res-drop }}
    http-response deny
    server s1 127.0.0.1:{srv}

listen li
    bind 127.0.0.1:{li}
    option forwardfor
    http-request set-src hdr(x-real-ip)
    http-request deny if {{ path /li-deny }}
    http-request set-header X-Li yes
    http-response set-status 202
    server s1 127.0.0.1:{srv}

frontend felog
    bind 127.0.0.1:{log}
    log stderr format rfc3164 local0
    option httplog
    http-request set-log-level silent if {{ path /quiet }}
    http-request set-log-level err if {{ path /loud }}
    http-request set-var(txn.p) path
    http-response set-log-level notice if {{ var(txn.p) -m str /loud-res }}
    default_backend be

frontend feord
    bind 127.0.0.1:{ord}
    redirect prefix /r if {{ path_beg /a }}
    http-request deny if {{ path_beg /a }}
    http-request allow if {{ path_beg /b }}
    redirect prefix /r2 if {{ path_beg /b }}
    stats enable
    stats uri /st
    redirect location /stats-redir if {{ path /st }}
    default_backend beord

backend beord
    redirect location /from-be if {{ path_beg /c }}
    http-request deny deny_status 429 if {{ path /c/deny }}
    server s1 127.0.0.1:{srv}

frontend fesec
    bind 127.0.0.1:{sec}
    use_backend beadmin if {{ path_beg /admin }}
    default_backend be

backend beadmin
    http-request deny unless {{ src 10.0.0.0/8 }}
    server s1 127.0.0.1:{srv}

frontend fets
    bind 127.0.0.1:{ts}
    default_backend beslow

backend beslow
    http-request set-timeout server 200ms if {{ path /short }}
    http-request set-timeout server int(150) if {{ path /short-expr }}
    http-request set-timeout tunnel 200ms if {{ path /ws }}
    server s1 127.0.0.1:{slow}

frontend tcpfe
    mode tcp
    bind 127.0.0.1:{tcp}
    tcp-request connection reject if {{ src 127.0.0.2 }}
    tcp-request session reject if {{ src 127.0.0.4 }}
    tcp-request content reject if {{ src 127.0.0.3 }}
    log stderr format rfc3164 local0
    option tcplog
    tcp-request content set-src ipv4(192.0.2.9) if {{ src 127.0.0.9 }}
    tcp-request content set-src-port int(999) if {{ src 192.0.2.9 }}
    tcp-request content set-log-level err if {{ src 127.0.0.10 }}
    tcp-request content set-log-level silent if {{ src 127.0.0.11 }}
    tcp-request connection silent-drop if {{ src 127.0.0.6 }}
    tcp-request session silent-drop if {{ src 127.0.0.7 }}
    tcp-request content silent-drop if {{ src 127.0.0.8 }}
    tcp-request connection accept if {{ src 127.0.0.5 }}
    tcp-request connection reject if {{ src 127.0.0.5 }}
    default_backend tcpbe

frontend tcpfe2
    mode tcp
    bind 127.0.0.1:{tcp2}
    tcp-request inspect-delay 300ms
    tcp-request content accept if HTTP
    tcp-request content reject
    default_backend tcpbe

backend tcpbe
    mode tcp
    server s1 127.0.0.1:{srv}
"""

PORTS = ("fe", "fe2", "fe3", "li", "tcp", "log", "tcp2", "ord", "ts", "sec")


def _behaviour(rec: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    if b" /ws" in rec.start:
        return 101, [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                     ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")], b""
    return 200, [("Content-Type", "text/plain"), ("X-Up", "abbc"), ("X-Vals", "v1, q,  v2")], b"body\n"


@contextlib.contextmanager
def _side(which: str) -> Iterator[dict[str, Any]]:
    be = HttpBackend("s1")
    be.behaviour = _behaviour
    be.start()
    slow = HttpBackend("s1", delay=0.6)  # answers after 0.6 s
    slow.behaviour = _behaviour
    slow.start()
    ports = {k: free_port() for k in PORTS}
    try:
        with run_proxy(CFG.format(srv=be.port, slow=slow.port, **ports), wait_ports=list(ports.values()),
                       which=which) as pp:
            yield {"ports": ports, "backend": be, "slow": slow, "proxy": pp, "sock": admin_socket(pp)}
    finally:
        be.stop()
        slow.stop()


@pytest.fixture(scope="module")
def sides() -> Iterator[dict[str, dict[str, Any]]]:
    require_haproxy_bin()
    with _side("haproxy") as theirs, _side("ours") as ours:
        yield {"haproxy": theirs, "ours": ours}


def _send(port: int, raw: bytes, source: str | None = None, timeout: float = 5) -> bytes | str:
    """Everything the proxy sent before closing, or "reset", or "timeout"."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                     source_address=(source, 0) if source else None)
    except ConnectionResetError:
        return "reset"
    try:
        s.sendall(raw)
        out = []
        while True:
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                return "reset" if not out else b"".join(out)
            except TimeoutError:
                return "timeout"
            if not d:
                return b"".join(out)
            out.append(d)
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    finally:
        s.close()


def _norm_response(data: bytes | str) -> Any:
    if isinstance(data, str) or not data:
        return "closed without a response"  # a reset or a plain close: the client got nothing
    start, headers, body = read_http_message(io.BytesIO(data), response=True)
    return (start.decode("latin-1"), [(k.lower(), v) for k, v in headers if k.lower() != "connection"], body)


def _seen(be: HttpBackend) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(r.start.decode("latin-1"), [(k.lower(), v) for k, v in r.headers]) for r in be.requests]


def both(sides: dict[str, dict[str, Any]], path: str, headers: str = "", *, port: str = "fe",
         method: str = "GET", source: str | None = None) -> dict[str, Any]:
    """Send one request to both proxies: {side: (response, what the server saw, seconds)}."""
    raw = f"{method} {path} HTTP/1.1\r\nHost: h\r\n{headers}Connection: close\r\n\r\n".encode("latin-1")
    out = {}
    for name, side in sides.items():
        side["backend"].requests.clear()
        t = time.monotonic()
        resp = _send(side["ports"][port], raw, source)
        took = time.monotonic() - t
        time.sleep(0.05)
        out[name] = (_norm_response(resp), _seen(side["backend"]), took)
    theirs, ours = out["haproxy"], out["ours"]
    assert ours[0] == theirs[0], f"response differs for {path}:\n2.6:  {theirs[0]}\nours: {ours[0]}"
    assert ours[1] == theirs[1], f"server saw differs for {path}:\n2.6:  {theirs[1]}\nours: {ours[1]}"
    return {"response": ours[0], "seen": ours[1], "took": (theirs[2], ours[2])}


def _hdr(resp: Any, name: str) -> list[str]:
    return [v for k, v in resp[1] if k == name]


def _seen_hdr(r: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in r["seen"][0][1] if k == name]


def test_deny_and_deny_status(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/deny")
    assert r["response"][0].startswith("HTTP/1.1 403") and r["seen"] == []
    r = both(sides, "/d429")
    assert r["response"][0] == "HTTP/1.1 429 Too Many Requests" and r["seen"] == []
    assert _hdr(r["response"], "x-after") == ["fe"]  # http-after-response runs on the deny page


def test_deny_with_a_reply(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/dreply")
    assert r["response"][0].startswith("HTTP/1.1 400 ") and r["response"][2] == b"nope" and r["seen"] == []
    assert _hdr(r["response"], "x-d") == ["d"]
    r = both(sides, "/d404")
    assert r["response"][0].startswith("HTTP/1.1 404 ") and r["seen"] == []


@pytest.mark.parametrize("path,status,challenge", [
    ("/auth", 401, ("www-authenticate", 'Basic realm="Zone"')),
    ("/auth2", 401, ("www-authenticate", 'Basic realm="fe"')),
    ("http://h/auth", 401, ("www-authenticate", 'Basic realm="Zone"')),
])
def test_auth_challenge(sides, path: str, status: int, challenge: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, path)
    assert r["response"][0].startswith(f"HTTP/1.1 {status} ") and r["seen"] == []
    assert _hdr(r["response"], challenge[0]) == [challenge[1]]


def test_set_addresses(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/setsrc", "X-Real-IP: 192.0.2.7\r\nX-Real-Port: 4242\r\n")
    assert _seen_hdr(r, "x-addr") == ["192.0.2.7:4242/10.1.2.3:8080"]
    r = both(sides, "/setsrc", "X-Real-IP: 2001:db8::1\r\nX-Real-Port: 1\r\n")
    assert _seen_hdr(r, "x-addr") == ["2001:db8::1:1/10.1.2.3:8080"]
    r = both(sides, "/setsrc", "X-Real-IP: not-an-ip\r\nX-Real-Port: 7\r\n")  # no address: kept
    assert _seen_hdr(r, "x-addr") == ["127.0.0.1:7/10.1.2.3:8080"]
    r = both(sides, "/x", "X-Real-IP: 198.51.100.9\r\n", port="li")  # forwardfor sees the new source
    assert _seen_hdr(r, "x-forwarded-for") == ["198.51.100.9"]


def test_set_log_level(sides) -> None:  # type: ignore[no-untyped-def]
    for path in ("/quiet", "/loud", "/normal", "/loud-res"):
        both(sides, path, port="log")
    time.sleep(0.3)
    # the lines are written when the streams end (later on a loaded machine): read until the
    # three logged requests are there on both sides, 10 s at most (/quiet, sent first, is not)
    pri: dict[str, dict[str, str]] = {}
    deadline = time.monotonic() + 10
    while True:
        for name, side in sides.items():
            found = {}
            for ln in side["proxy"].stderr_text().splitlines():
                for path in ("/quiet", "/loud", "/normal", "/loud-res"):
                    if f'"GET {path} HTTP/1.1"' in ln and ln.startswith("<"):
                        found[path] = ln[:ln.index(">") + 1]
            pri[name] = found
        if all(len(f) >= 3 for f in pri.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert pri["ours"] == pri["haproxy"]
    # local0 (16): info 134, err 131, notice 133; silent: no line
    assert pri["ours"] == {"/loud": "<131>", "/normal": "<134>", "/loud-res": "<133>"}


def _messages(data: bytes | str) -> list[Any]:
    """Every response in ``data`` (the 1xx ones, then the final one)."""
    if isinstance(data, str) or not data:
        return [data]
    out = []
    f = io.BytesIO(data)
    while True:
        start, headers, body = read_http_message(f, response=True)
        out.append((start.decode("latin-1"), [(k.lower(), v) for k, v in headers if k.lower() != "connection"],
                    body))
        if not start.startswith(b"HTTP/1.1 1"):
            return out


@pytest.mark.parametrize("path,version,hints", [
    # 2.6.12 sends one 103 per early-hint rule
    ("/eh/one", "1.1", [[("link", "</style.css>; rel=preload")], [("link", "</eh/one.js>; rel=preload")]]),
    ("/eh/two", "1.1", [[("link", "</style.css>; rel=preload")], [("link", "</eh/two.js>; rel=preload")],
                        [("x-second", "2")]]),
    ("/eh/one", "1.0", []),                      # an HTTP/1.0 client gets none
])
def test_early_hints(sides, path: str, version: str, hints: list[Any]) -> None:  # type: ignore[no-untyped-def]
    raw = f"GET {path} HTTP/{version}\r\nHost: h\r\nConnection: close\r\n\r\n".encode()
    out = {}
    for name, side in sides.items():
        out[name] = _messages(_send(side["ports"]["fe"], raw))
    assert out["ours"] == out["haproxy"], out
    msgs = out["ours"]
    assert [m[1] for m in msgs[:-1]] == hints and all(m[0] == "HTTP/1.1 103 Early Hints" for m in msgs[:-1])
    assert msgs[-1][0].startswith("HTTP/1.1 200")


@pytest.mark.parametrize("source,expect", [
    ("127.0.0.1", "c1 s-127.0.0.1 127.0.0.1"),
    ("127.0.0.12", "c1 s-192.0.2.1 192.0.2.1"),  # the connection's source rewritten before the session
])
def test_connection_rules_reach_the_session(sides, source: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/connvar", source=source)
    assert _seen_hdr(r, "x-conn") == [expect]


def test_allow_stops_the_rule_set(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/allow/x")
    assert r["response"][0] == "HTTP/1.1 200 OK" and len(r["seen"]) == 1
    # allow ended the frontend's set (no X-Order fe), the backend's own rules still ran
    assert _seen_hdr(r, "x-order") == ["be"]


def test_rule_order_across_sets(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/plain")
    assert _seen_hdr(r, "x-order") == ["fe", "be"]  # frontend http-request, then the backend's
    assert _hdr(r["response"], "x-order") == ["be"]
    assert _hdr(r["response"], "x-after") == ["be", "fe"]
    r = both(sides, "/plain", port="fe2")
    assert _hdr(r["response"], "x-order") == ["be", "fe"]  # backend http-response, then the frontend's
    assert _hdr(r["response"], "x-after") == ["be", "fe"]


@pytest.mark.parametrize("path,status,location", [
    ("/a", 403, None),            # an http-request rule runs before an earlier 'redirect' rule
    ("/b", 302, "/r2/b"),         # http-request allow does not skip the redirect rules
    ("/st", 200, None),           # the stats page comes before the redirect rules
    ("/c/x", 302, "/from-be"),    # a backend's redirect rules, after its http-request rules
    ("/c/deny", 429, None),
])
def test_redirect_rules_run_after_http_request_rules(sides, path: str, status: int,  # type: ignore[no-untyped-def]
                                                     location: str | None) -> None:
    if path == "/st":  # the stats pages differ (deliberately compared elsewhere): the status line only
        raw = b"GET /st HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        lines = [_norm_response(_send(side["ports"]["ord"], raw))[0] for side in sides.values()]
        assert lines == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]
        return
    r = both(sides, path, port="ord")
    assert r["response"][0].startswith(f"HTTP/1.1 {status} ") and r["seen"] == []
    if location is not None:
        assert _hdr(r["response"], "location") == [location]


def test_misplaced_rule_warnings_as_2_6(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    from haproxy_py.cli import main

    cfg = tmp_path / "w.cfg"
    cfg.write_text("defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
                   "frontend f\n bind 127.0.0.1:9\n redirect prefix /r if FALSE\n tcp-request content accept\n"
                   " use_backend b if TRUE\n redirect prefix /r3 if FALSE\n http-request deny if FALSE\n"
                   " default_backend b\nfrontend g\n bind 127.0.0.1:10\n use_backend b if TRUE\n"
                   " http-request deny if FALSE\n tcp-request content accept if FALSE\n"
                   "backend b\n server s 127.0.0.1:1\n")

    def warnings(text: str) -> list[str]:
        return [ln.split(" : config : ", 1)[1] for ln in text.splitlines() if "[WARNING]" in ln]

    theirs = subprocess.run([require_haproxy_bin(), "-c", "-f", cfg.name], cwd=tmp_path, capture_output=True,
                            text=True, timeout=30)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    main(["-c", "-f", cfg.name])
    ours = warnings(capsys.readouterr().err)
    assert ours == warnings(theirs.stdout + theirs.stderr) and len(ours) == 5


@pytest.mark.parametrize("path,status,max_s", [
    ("/short", 504, 0.5),        # set-timeout server 200ms: the 0.6 s server is too slow
    ("/short-expr", 504, 0.5),   # the same from a sample expression (150 ms)
    ("/long", 200, 3.0),         # the backend's own 5 s
])
def test_set_timeout(sides, path: str, status: int, max_s: float) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, path, port="ts")
    assert r["response"][0].startswith(f"HTTP/1.1 {status} ")
    assert max(r["took"]) < max_s, r["took"]
    if status == 504:
        assert min(r["took"]) >= 0.12


def test_set_timeout_tunnel(sides) -> None:  # type: ignore[no-untyped-def]
    raw = (b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    out = {}
    for name, side in sides.items():
        t = time.monotonic()
        resp = _send(side["ports"]["ts"], raw, timeout=8)
        out[name] = (_norm_response(resp)[0], time.monotonic() - t)
    assert out["ours"][0] == out["haproxy"][0] == "HTTP/1.1 101 X", out
    # the idle tunnel closes after 200 ms instead of the 5 s server timeout (0.6 s server delay first)
    assert all(o[1] < 2.5 for o in out.values()), out


@pytest.mark.parametrize("first,second", [("/public", "/admin/x"), ("/admin/x", "/public"),
                                          ("/admin/x", "/admin/x")])
def test_backend_deny_holds_on_kept_alive_connections(sides, first: str, second: str) -> None:  # type: ignore[no-untyped-def]
    """Security: a backend's deny applies to every request that reaches it, whatever the requests
    before it on the same connection did (same bytes twice included)."""
    raw = (f"GET {first} HTTP/1.1\r\nHost: h\r\n\r\n"
           f"GET {second} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").encode()
    out = {}
    for name, side in sides.items():
        side["backend"].requests.clear()
        msgs = _messages_all(_send(side["ports"]["sec"], raw))
        time.sleep(0.05)
        out[name] = ([m[0] for m in msgs], [r.start.decode() for r in side["backend"].requests])
    assert out["ours"] == out["haproxy"], out
    statuses, seen = out["ours"]
    want = ["HTTP/1.1 403 Forbidden" if p.startswith("/admin") else "HTTP/1.1 200 OK" for p in (first, second)]
    assert statuses == want
    assert not any("/admin" in s for s in seen)


def _messages_all(data: bytes | str) -> list[Any]:
    """Every final response in ``data``."""
    if isinstance(data, str) or not data:
        return []
    out = []
    f = io.BytesIO(data)
    while f.tell() < len(data):
        start, headers, body = read_http_message(f, response=True)
        out.append((start.decode("latin-1"), headers, body))
    return out


def test_backend_deny_answers_403(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/bdeny")
    assert r["response"][0].startswith("HTTP/1.1 403") and r["seen"] == []
    assert _hdr(r["response"], "x-after") == ["be", "fe"]


def test_listen_section_rules_run(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/li-deny", port="li")
    assert r["response"][0].startswith("HTTP/1.1 403") and r["seen"] == []
    r = both(sides, "/x", port="li")
    assert _seen_hdr(r, "x-li") == ["yes"] and r["response"][0].startswith("HTTP/1.1 202")


def test_add_and_set_header(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/hdr", "X-Set: old1\r\nX-Set: old2\r\n")
    assert _seen_hdr(r, "x-add") == ["a1", "a2"]
    assert _seen_hdr(r, "x-set") == ["s1"] and _seen_hdr(r, "x-set2") == ["v w"]


def test_del_header_methods(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/hdr", "X-Del-Me: 1\r\nX-Pfx-One: 1\r\nA-Suf: 1\r\nX-Mid-Y: 1\r\nX-Re1: 1\r\n"
                    "X-Re12: kept\r\nX-Keep: 1\r\n")
    names = [k for k, _ in r["seen"][0][1]]
    for gone in ("x-del-me", "x-pfx-one", "a-suf", "x-mid-y", "x-re1"):
        assert gone not in names
    assert "x-re12" in names and "x-keep" in names


def test_replace_header_and_value(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/hdr", "X-Rh: xaabz, aab\r\nX-Rv: x1, q,  x2\r\n")
    assert _seen_hdr(r, "x-rh") == ["<baa>"]  # the whole value is replaced by the expansion
    assert _seen_hdr(r, "x-rv") == ["y1, q,y2"]
    r = both(sides, "/hdr", "X-Rv: q,  z\r\n")
    assert _seen_hdr(r, "x-rv") == ["q,  z"]


@pytest.mark.parametrize("path,expect", [
    ("/line/set-path?k=v", "GET /new-path?k=v HTTP/1.1"),
    ("/line/set-pathq?k=v", "GET /new-pq?n=1 HTTP/1.1"),
    ("/line/set-query?k=v", "GET /line/set-query?q=1 HTTP/1.1"),
    ("/line/set-query", "GET /line/set-query?q=1 HTTP/1.1"),
    ("/line/set-uri?k", "GET /u?x HTTP/1.1"),
    ("/line/set-method", "PUT /line/set-method HTTP/1.1"),
])
def test_set_request_line(sides, path: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, path)
    assert r["seen"][0][0] == expect


@pytest.mark.parametrize("path,expect", [
    ("/rp/zz?k", "GET /P/zz?k HTTP/1.1"),
    ("/rpq/x?k", "GET /RPQ/x?k HTTP/1.1"),
    ("/ru/x?k", "GET /RU/x?k HTTP/1.1"),
    ("http://h/rpq/x?k", "GET http://h/RPQ/x?k HTTP/1.1"),
])
def test_replace_request_line(sides, path: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, path)
    assert r["seen"][0][0] == expect


@pytest.mark.parametrize("path,status,location", [
    ("/old?a=1", 301, "/new"),
    ("/p/a/b?q=1", 302, "/pfx/p/a/b/"),
    ("/sch/x?y", 302, "https://h/sch/x?y"),
    ("/root/x?y", 302, "/root/x?y"),
    ("/ck", 302, "/c"),
    ("/cl", 307, "/c"),
    ("/c303", 303, "/c"),
    ("/c308", 308, "/c"),
    ("/legacy/x", 302, "/legacy-target/legacy/x"),
])
def test_redirect_actions(sides, path: str, status: int, location: str) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, path)
    assert r["response"][0].startswith(f"HTTP/1.1 {status} ") and r["seen"] == []
    assert _hdr(r["response"], "location") == [location]


def test_redirect_ignore_empty(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/ie", "X-Loc: /there\r\n")
    assert r["response"][0].startswith("HTTP/1.1 302 ") and _hdr(r["response"], "location") == ["/there"]
    r = both(sides, "/ie")  # empty location: the rule does nothing, the request goes on
    assert r["response"][0] == "HTTP/1.1 200 OK" and len(r["seen"]) == 1


def test_return_action(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/ret")
    assert r["response"][0] == "HTTP/1.1 201 Created" and r["response"][2] == b"hello" and r["seen"] == []
    assert _hdr(r["response"], "x-a") == ["a"]
    r = both(sides, "/ret0")
    assert r["response"][0] == "HTTP/1.1 200 OK" and r["response"][2] == b"" and r["seen"] == []


def test_reject_closes_without_response(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/rej")
    assert r["response"] == "closed without a response" and r["seen"] == []


def test_tarpit(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/tp")
    assert r["response"][0] == "HTTP/1.1 500 Internal Server Error" and r["seen"] == []
    assert min(r["took"]) >= 0.25  # both held the request for "timeout tarpit" (300 ms)


def test_response_header_actions(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/x", port="fe2")
    resp = r["response"]
    assert _hdr(resp, "x-server") == [] and _hdr(resp, "x-r1") == ["r"]
    assert _hdr(resp, "content-type") == ["text/x-set"] and _hdr(resp, "x-up") == ["<bb>"]
    assert _hdr(resp, "x-vals") == ["w1, q,w2"]
    assert _hdr(resp, "x-never") == []  # after http-response allow


def test_response_set_status(sides) -> None:  # type: ignore[no-untyped-def]
    # the backend's set-status 299 Weird, then the frontend's after-response set-status 203
    r = both(sides, "/x", port="fe2")
    assert r["response"][0].startswith("HTTP/1.1 203 ")
    r = both(sides, "/x", port="li")
    assert r["response"][0] == "HTTP/1.1 202 Accepted"


def test_after_response_actions(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/ret")  # a locally generated response gets the frontend's after-response rules
    assert _hdr(r["response"], "x-after") == ["fe"]
    r = both(sides, "/x", port="fe2")
    assert _hdr(r["response"], "x-after") == ["be", "fe"]


def test_response_deny(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/x", port="fe3")
    assert r["response"][0].startswith("HTTP/1.1 502 ") and r["response"][2] != b"body\n"
    assert _hdr(r["response"], "x-after-deny") == ["yes"]
    assert len(r["seen"]) == 1  # the server answered; its response was replaced


def test_response_return_and_redirect(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/res-ret", port="fe3")
    assert r["response"][0].startswith("HTTP/1.1 404 ") and r["response"][2] == b"gone"
    assert _hdr(r["response"], "x-ret") == ["r"] and _hdr(r["response"], "x-after-deny") == ["yes"]
    assert len(r["seen"]) == 1
    r = both(sides, "/res-redir", port="fe3")
    assert r["response"][0].startswith("HTTP/1.1 303 ") and _hdr(r["response"], "location") == ["/elsewhere"]


def test_response_silent_drop(sides) -> None:  # type: ignore[no-untyped-def]
    raw = b"GET /res-drop HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    out = {}
    for name, side in sides.items():
        side["backend"].requests.clear()
        resp = _send(side["ports"]["fe3"], raw, timeout=0.8)
        time.sleep(0.05)
        out[name] = (_norm_response(resp), len(side["backend"].requests))
    assert out["ours"] == out["haproxy"] == ("closed without a response", 1), out


def _stat(side: dict[str, Any], proxy: str, field: str) -> int:
    lines = stats_cli(side["sock"], "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    for ln in lines[1:]:
        v = ln.split(",")
        if v[0] == proxy and v[1] == "FRONTEND":
            return int(v[head.index(field)] or 0)
    raise AssertionError(f"no FRONTEND line for {proxy}")


def _tcp_both(sides: dict[str, dict[str, Any]], source: str, timeout: float = 5) -> dict[str, Any]:
    raw = b"GET /tcp HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    out = {}
    for name, side in sides.items():
        side["backend"].requests.clear()
        out[name] = (_norm_response(_send(side["ports"]["tcp"], raw, source, timeout)),
                     len(side["backend"].requests))
    assert out["ours"] == out["haproxy"], out
    return out["ours"]


def test_tcp_request_connection_rules(sides) -> None:  # type: ignore[no-untyped-def]
    before = {n: (_stat(s, "tcpfe", "dcon"), _stat(s, "tcpfe", "dses")) for n, s in sides.items()}
    resp, seen = _tcp_both(sides, "127.0.0.2")  # tcp-request connection reject
    assert resp == "closed without a response" and seen == 0
    resp, seen = _tcp_both(sides, "127.0.0.4")  # tcp-request session reject
    assert resp == "closed without a response" and seen == 0
    resp, seen = _tcp_both(sides, "127.0.0.5")  # accept ends the set before the reject
    assert resp[0] == "HTTP/1.1 200 OK" and seen == 1
    time.sleep(0.1)
    for n, s in sides.items():
        assert (_stat(s, "tcpfe", "dcon"), _stat(s, "tcpfe", "dses")) == (before[n][0] + 1, before[n][1] + 1), n


def test_tcp_request_content_rules(sides) -> None:  # type: ignore[no-untyped-def]
    before = {n: _stat(s, "tcpfe", "dreq") for n, s in sides.items()}
    resp, seen = _tcp_both(sides, "127.0.0.3")  # mode tcp
    assert resp == "closed without a response" and seen == 0
    resp, seen = _tcp_both(sides, "127.0.0.1")
    assert resp[0] == "HTTP/1.1 200 OK" and seen == 1
    r = both(sides, "/plain", source="127.0.0.3")  # mode http: before the http-request rules
    assert r["response"] == "closed without a response" and r["seen"] == []
    time.sleep(0.1)
    for n, s in sides.items():
        assert _stat(s, "tcpfe", "dreq") == before[n] + 1, n


def test_log_format_arguments(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/lf/x")
    assert _seen_hdr(r, "x-lf") == ["p=/lf/x h=h s=127.0.0.1"]
    r = both(sides, "/lfredir?a=1&b")
    assert _hdr(r["response"], "location") == ["/q?a=1&b"]
    r = both(sides, "/lfret")
    assert r["response"][2] == b"m=GET /lfret"


def test_set_and_unset_var(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/var/x")
    assert r["seen"][0][0] == "GET /var-rewritten HTTP/1.1"
    assert _seen_hdr(r, "x-var") == ["/var/x"] and _seen_hdr(r, "x-var2") == ["[/var/x]"]
    r = both(sides, "/var/unset", "X-Unset: 1\r\n")
    assert _seen_hdr(r, "x-var") == ["/var/unset"] and _seen_hdr(r, "x-var2") == ["[]"]


def test_response_rule_conditions(sides) -> None:  # type: ignore[no-untyped-def]
    r = both(sides, "/x", port="fe2")
    assert _hdr(r["response"], "x-st") == ["299"] and _hdr(r["response"], "x-no-match") == []


def test_sess_variables_live_as_long_as_the_connection(sides) -> None:  # type: ignore[no-untyped-def]
    raw = (b"GET /sess/set HTTP/1.1\r\nHost: h\r\n\r\n"
           b"GET /sess/get HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    seen = {}
    for name, side in sides.items():
        side["backend"].requests.clear()
        _send(side["ports"]["fe"], raw)
        time.sleep(0.05)
        seen[name] = _seen(side["backend"])
    assert seen["ours"] == seen["haproxy"]
    assert [[v for k, v in h if k == "x-sess"] for _, h in seen["ours"]] == [["[/sess/set]"], ["[/sess/set]"]]
    r = both(sides, "/sess/get")  # a new connection starts without them
    assert _seen_hdr(r, "x-sess") == ["[]"]


@pytest.mark.parametrize("raw,forwarded", [
    (b"GET /tcp HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", True),
    (b"\x16\x03\x01 not http at all\r\n\r\n", False),
    (b"", False),  # nothing comes: the rules decide when the inspect-delay ends
])
def test_tcp_inspect_delay_waits_for_content(sides, raw: bytes, forwarded: bool) -> None:  # type: ignore[no-untyped-def]
    out = {}
    for name, side in sides.items():
        side["backend"].requests.clear()
        t = time.monotonic()
        resp = _send(side["ports"]["tcp2"], raw, timeout=3)
        took = time.monotonic() - t
        time.sleep(0.05)
        out[name] = (_norm_response(resp), len(side["backend"].requests), took)
    assert out["ours"][:2] == out["haproxy"][:2], out
    resp, seen, took = out["ours"]
    if forwarded:
        assert resp[0] == "HTTP/1.1 200 OK" and seen == 1
    else:
        assert resp == "closed without a response" and seen == 0
    if not raw:
        assert all(o[2] >= 0.25 for o in out.values()), out  # both waited for the delay


def test_tcp_content_set_src_and_log_level(sides) -> None:  # type: ignore[no-untyped-def]
    for src in ("127.0.0.9", "127.0.0.10", "127.0.0.11"):
        resp, seen = _tcp_both(sides, src)
        assert resp[0] == "HTTP/1.1 200 OK" and seen == 1
    time.sleep(0.3)
    found = {}
    for name, side in sides.items():
        lines = [ln for ln in side["proxy"].stderr_text().splitlines() if " tcpfe tcpbe/" in ln]
        found[name] = {
            "set-src": [ln[:5] for ln in lines if "192.0.2.9:999 " in ln],
            "err": [ln[:5] for ln in lines if "127.0.0.10:" in ln],
            "silent": [ln for ln in lines if "127.0.0.11:" in ln],
        }
    assert found["ours"] == found["haproxy"], found
    assert found["ours"] == {"set-src": ["<134>"], "err": ["<131>"], "silent": []}


def test_tcp_silent_drop(sides) -> None:  # type: ignore[no-untyped-def]
    for src in ("127.0.0.6", "127.0.0.7", "127.0.0.8"):  # connection, session, content
        resp, seen = _tcp_both(sides, src, timeout=0.8)
        assert resp == "closed without a response" and seen == 0, src
    # tcp-request content silent-drop in an HTTP frontend: before the http-request rules
    raw = b"GET /plain HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    out = {}
    for name, side in sides.items():
        side["backend"].requests.clear()
        resp = _send(side["ports"]["fe"], raw, "127.0.0.13", timeout=0.8)
        time.sleep(0.05)
        out[name] = (_norm_response(resp), len(side["backend"].requests))
    assert out["ours"] == out["haproxy"] == ("closed without a response", 0), out


def _rows(side: dict[str, Any]) -> dict[tuple[str, str], dict[str, str]]:
    lines = stats_cli(side["sock"], "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    return {(v[0], v[1]): dict(zip(head, v, strict=False)) for v in (ln.split(",") for ln in lines[1:] if ln)}


def test_zz_rule_counters_match(sides) -> None:  # type: ignore[no-untyped-def]
    """Runs after the others (file order): both proxies saw the same traffic, so the counters the
    rules move are equal: denied requests and responses, intercepted (redirect, return). It
    makes some traffic of its own first, so that it also holds when run alone."""
    both(sides, "/deny")
    both(sides, "/old?a=1")
    both(sides, "/x", port="fe3")
    time.sleep(0.2)
    theirs, ours = _rows(sides["haproxy"]), _rows(sides["ours"])
    checked = 0
    for key in (("fe", "FRONTEND"), ("be", "BACKEND"), ("fe2", "FRONTEND"), ("be2", "BACKEND"),
                ("fe3", "FRONTEND"), ("be3", "BACKEND"), ("li", "FRONTEND"), ("li", "BACKEND"),
                ("tcpfe", "FRONTEND"), ("tcpfe2", "FRONTEND"), ("feord", "FRONTEND"), ("beord", "BACKEND"),
                ("fesec", "FRONTEND"), ("beadmin", "BACKEND"), ("fets", "FRONTEND"), ("beslow", "BACKEND"),
                ("felog", "FRONTEND")):
        for f in ("dreq", "dresp", "dcon", "dses", "intercepted"):
            if theirs[key].get(f, "") != "" or ours[key].get(f, "") != "":
                assert ours[key][f] == theirs[key][f], (key, f, ours[key][f], theirs[key][f],
                                                        {g: (ours[key][g], theirs[key][g]) for g in ("dreq", "dcon", "dses")})
                checked += 1
    assert int(ours[("fe", "FRONTEND")]["dreq"]) >= 1 and int(ours[("fe", "FRONTEND")]["intercepted"]) >= 1
    assert int(ours[("be3", "BACKEND")]["dresp"]) >= 1
    assert checked > 20


BAD_RULES = [
    "http-request set-header X", "http-request set-header X a b", "http-request del-header X -m foo",
    "http-request del-header X -m", "http-request del-header X foo", "http-request set-path a b",
    "http-request replace-path (", "http-request replace-header X a b c", "http-request deny foo",
    "http-request deny deny_status", "http-request tarpit deny_status 999", "http-request return status 99",
    "http-request return foo", "http-request return hdr X", "http-request return string x",
    "http-request return file /nonexistent/x", "http-request return string a content-type t file /x",
    "http-request redirect", "http-request redirect location", "http-request redirect location /x foo",
    "http-request redirect location /x code 304", "http-response redirect prefix /x",
    "http-request allow foo", "http-request reject foo", "http-response set-status abc",
    "http-response set-status 200 foo bar", "http-request auth foo", "http-request auth realm",
    "http-request use-service", "http-request use-service foo", "tcp-request content accept foo",
    "http-request set-var(foo) str(x)", "http-request set-var(txn.x)", "http-request unset-var(txn.c) foo",
    "http-request set-log-level foo", "http-request set-src", "redirect location", "redirect foo",
    "http-request return hdr content-length 1",
]


@pytest.mark.parametrize("rule", BAD_RULES)
def test_rule_errors_worded_as_2_6(rule: str, tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The first alert (or warning) of a faulty rule is 2.6's, word for word."""
    import subprocess

    from haproxy_py.cli import main

    cfg = tmp_path / "m.cfg"
    cfg.write_text("defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
                   f"frontend f\n bind 127.0.0.1:9\n {rule}\n default_backend b\nbackend b\n server s 127.0.0.1:1\n")

    def first(text: str) -> str:
        for ln in text.splitlines():
            if ("[ALERT]" in ln or "[WARNING]" in ln) and "Error(s) found" not in ln and "Fatal errors" not in ln:
                return ln.split(" : config : ", 1)[1]
        return ""

    theirs = subprocess.run([require_haproxy_bin(), "-c", "-f", cfg.name], cwd=tmp_path, capture_output=True,
                            text=True, timeout=30)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    rc = main(["-c", "-f", cfg.name])
    ours = capsys.readouterr().err
    assert first(ours) == first(theirs.stdout + theirs.stderr) != ""
    assert (rc == 0) == (theirs.returncode == 0)
