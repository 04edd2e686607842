"""Traffic logs end to end: requests through haproxy-py (run as a process with a seed-like config) reach a
real rsyslogd (Debian package) on facility local2; and a differential: the same requests through
Debian's HAProxy 2.6 and through ours, the datagrams compared field by field with
``haproxy_py.log.compare.compare_datagrams`` (httplog and tcplog).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from haproxy_py.log.compare import (
    IGNORED_BY_DEFAULT,
    compare_datagrams,
    parse_datagram,
    parse_httplog,
    parse_tcplog,
)
from tests.conftest import free_port
from tests.integration.harness import get, http_backends, http_request, require_haproxy, run_proxy
from tests.integration.syslog_sinks import recv_until_quiet, rsyslogd, udp_port, udp_sink, wait_lines

TEMPLATE = "%pri%|%syslogfacility-text%|%syslogseverity-text%|%programname%|%procid%|%msg%\\n"

# the seed's haproxy.cfg (samples/haproxy.cfg) with test ports, no chroot/user/daemon, a TCP listen added
SEED = """
global
    log         127.0.0.1:{logport} local2
    maxconn     4000
    stats socket @DIR@/stats.sock mode 600 level admin

defaults
    mode                    http
    log                     global
    option                  httplog
    option                  dontlognull
    option http-server-close
    option forwardfor       except 127.0.0.0/8
    option                  redispatch
    retries                 3
    timeout http-request    10s
    timeout queue           1m
    timeout connect         10s
    timeout client          1m
    timeout server          1m
    timeout http-keep-alive 10s
    timeout check           10s
    maxconn                 3000

frontend  main
    bind 127.0.0.1:{fe}
    acl url_static       path_beg       -i /static /images /javascript /stylesheets
    acl url_static       path_end       -i .jpg .gif .png .css .js

    use_backend static          if url_static
    default_backend             app

backend static
    balance     roundrobin
    server      static 127.0.0.1:{ps}

backend app
    balance     roundrobin
    server  app1 127.0.0.1:{p1}
    server  app2 127.0.0.1:{p2}

listen rawtcp
    mode tcp
    option tcplog
    bind 127.0.0.1:{tcpfe}
    server t1 127.0.0.1:{p1}
"""

REQUESTS = ["/", "/static/site.css", "/images/logo.png", "/page?x=1", "/app.js", "/missing"]
EXPECTED_BACKEND = {"/": "app", "/static/site.css": "static", "/images/logo.png": "static",
                    "/page?x=1": "app", "/app.js": "static", "/missing": "app"}


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    port = udp_port()
    out = tmp_path / "local2.log"
    other = tmp_path / "other.log"
    with rsyslogd(tmp_path, port, TEMPLATE, [("local2.*", out), ("*.*;local2.none", other)]):
        yield port, out, other


def test_rsyslog_writes_our_traffic_logs(rsyslog) -> None:  # type: ignore[no-untyped-def]
    port, out, other = rsyslog
    with http_backends("app1", "app2", "static") as (b1, b2, bs):
        fe, tcpfe = free_port(), free_port()
        cfg = SEED.format(logport=port, fe=fe, tcpfe=tcpfe, p1=b1.port, p2=b2.port, ps=bs.port)
        with run_proxy(cfg, wait_ports=[fe, tcpfe]) as pp:
            for path in REQUESTS:
                status, _h, _b = get(fe, path, {"User-Agent": "rsyslog-e2e"})
                assert status == 200
            lines = wait_lines(out, len(REQUESTS))
            pid = pp.pid
    assert len(lines) == len(REQUESTS), lines  # the wait_port probes are empty: dontlognull
    for path, line in zip(REQUESTS, lines, strict=True):
        pri, fac, sev, prog, procid, msg = line.split("|", 5)
        assert (pri, fac, sev, prog, procid) == ("150", "local2", "info", "haproxy", str(pid)), line
        f = parse_httplog(msg.strip())
        assert f is not None, msg
        assert f["frontend"] == "main" and f["client_ip"] == "127.0.0.1"
        assert f["backend"] == EXPECTED_BACKEND[path], (path, msg)
        assert f["server"] in ({"app1", "app2"} if f["backend"] == "app" else {"static"})
        assert f["status"] == "200" and f["tsc"] == "----"
        assert f["request"] == f"GET {path} HTTP/1.1"
    assert {parse_httplog(ln.split("|", 5)[5].strip())["server"] for ln in lines
            if "/static" not in ln and "/images" not in ln and ".js" not in ln} == {"app1", "app2"}
    assert not other.exists() or other.read_text() == ""  # nothing outside local2


# ----------------------------------------------------------------------------- differential


def _collect(which: str, backends: tuple) -> tuple[list[bytes], list[bytes]]:  # type: ignore[type-arg]
    """Run SEED with a UDP receiver; return (httplog datagrams, tcplog datagrams) in request order."""
    b1, b2, bs = backends
    rx, logport = udp_sink()
    try:
        fe, tcpfe = free_port(), free_port()
        cfg = SEED.format(logport=logport, fe=fe, tcpfe=tcpfe, p1=b1.port, p2=b2.port, ps=bs.port)
        with run_proxy(cfg, wait_ports=[fe, tcpfe], which=which) as pp:
            time.sleep(0.3)
            stray = recv_until_quiet(rx, 0.2)
            assert stray == [], stray  # empty probe connections are not logged (dontlognull)
            rx.settimeout(5)
            http, tcp = [], []
            for path in REQUESTS:
                try:
                    status, _h, _b = get(fe, path, {"User-Agent": "diff"})
                except EOFError:  # seen once in ~8 runs with ours under load: closed without a response
                    raise AssertionError(f"{which}: empty response to GET {path}; backends got "
                                         f"{[len(b.requests) for b in backends]}; stderr: "
                                         f"{pp.stderr_text()[-2000:]}") from None
                assert status == 200
                http.append(rx.recv(65536))
            for n in range(3):
                resp = http_request(tcpfe, f"GET /tcp{n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                assert resp.startswith(b"HTTP/1.1 200")
                tcp.append(rx.recv(65536))
        return http, tcp
    finally:
        rx.close()


@pytest.fixture(scope="module")
def both_logs():  # type: ignore[no-untyped-def]
    require_haproxy("haproxy", "the differential")
    with http_backends("app1", "app2", "static") as bes:
        theirs = _collect("haproxy", tuple(bes))
    with http_backends("app1", "app2", "static") as bes:  # fresh backends: same connection history
        ours = _collect("ours", tuple(bes))
    return theirs, ours


def test_httplog_datagrams_match_haproxy(both_logs) -> None:  # type: ignore[no-untyped-def]
    """Every field but %B (see the next test)."""
    (theirs, _), (ours, _) = both_logs
    assert len(theirs) == len(ours) == len(REQUESTS)
    for t, o in zip(theirs, ours, strict=True):
        assert parse_datagram(o)["pri"] == parse_datagram(t)["pri"]
        assert compare_datagrams(t, o, ignore=IGNORED_BY_DEFAULT | {"bytes"}) == [], (t, o)


def test_httplog_bytes_match_haproxy(both_logs) -> None:  # type: ignore[no-untyped-def]
    """%B of proxied responses: 2.6 logs 66 for the 78 bytes it sends (the response as the server sent
    it, in HTX: haproxy_py/http/htx.py), and so does haproxy-py."""
    (theirs, _), (ours, _) = both_logs
    assert [parse_httplog(parse_datagram(o)["message"])["bytes"] for o in ours] == [
        parse_httplog(parse_datagram(t)["message"])["bytes"] for t in theirs]


def test_tcplog_datagrams_match_haproxy(both_logs) -> None:  # type: ignore[no-untyped-def]
    (_, theirs), (_, ours) = both_logs
    assert len(theirs) == len(ours) == 3
    for t, o in zip(theirs, ours, strict=True):
        assert parse_tcplog(parse_datagram(o)["message"]) is not None, o
        assert compare_datagrams(t, o) == [], (t, o)
