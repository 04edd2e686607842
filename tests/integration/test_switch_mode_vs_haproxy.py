"""tcp-request content switch-mode http, the implicit TCP-to-HTTP upgrade (a TCP frontend using an
HTTP backend) and tcp-request content use-service, side by side with Debian's HAProxy 2.6."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import HAPROXY_BIN, ROOT, require_haproxy_bin

pytestmark = [pytest.mark.needs_haproxy]

HEAD = ("defaults\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"
        "backend bh\n    mode http\n    server s 127.0.0.1:2\n")


def check(cmd: list[str], cfg: Path) -> tuple[int, list[str]]:
    """``-c`` on a configuration: the exit code and the alert and warning lines, prefixes off."""
    p = subprocess.run(cmd + ["-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30, cwd=ROOT)
    out = [re.sub(r"^\[(ALERT|WARNING)\]\s+\(\d+\) : ", r"\1 ", ln) for ln in p.stderr.splitlines()
           if ln.startswith(("[ALERT]", "[WARNING]"))]
    return p.returncode, out


#: 2.6 has no native service usable in TCP rules: every one is refused, in each proxy kind
USE_SERVICE = [
    "frontend f\n    mode tcp\n    bind 127.0.0.1:1\n    tcp-request content use-service prometheus-exporter\n"
    "    default_backend bh\n",
    "frontend f\n    mode http\n    bind 127.0.0.1:1\n    tcp-request content use-service prometheus-exporter "
    "if TRUE\n    default_backend bh\n",
    "frontend f\n    mode tcp\n    bind 127.0.0.1:1\n    tcp-request content use-service foo\n"
    "    default_backend bh\n",
    "frontend f\n    mode tcp\n    bind 127.0.0.1:1\n    tcp-request content use-service\n    default_backend bh\n",
    "backend b2\n    mode tcp\n    tcp-request content use-service prometheus-exporter extra\n"
    "    server s 127.0.0.1:2\n",
]


@pytest.mark.parametrize("body", USE_SERVICE)
def test_tcp_use_service_as_haproxy(body: str, tmp_path: Path) -> None:
    """``tcp-request content use-service``: 2.6's messages, word for word (prometheus-exporter is
    only available in http-request rules; no other native service exists)."""
    require_haproxy_bin()
    cfg = tmp_path / "t.cfg"
    cfg.write_text(HEAD + body)
    theirs = check([HAPROXY_BIN], cfg)
    ours = check([sys.executable, "-m", "haproxy_py"], cfg)
    assert theirs[0] == 1 and ours == theirs


_FE = "frontend f\n    mode tcp\n    bind 127.0.0.1:1\n"
#: switch-mode lines, right and wrong, and the HTTP directives of TCP proxies with and without it
SWITCH_CHECK = [
    _FE + "    tcp-request inspect-delay 1s\n    tcp-request content switch-mode http if HTTP\n"
    "    http-request set-header X-A 1\n    http-response set-header X-B 1\n    option forwardfor\n"
    "    capture request header host len 10\n    default_backend bh\n",
    _FE + "    http-request set-header X-A 1\n    http-response set-header X-B 1\n    default_backend bh\n",
    "listen l\n    mode tcp\n    bind 127.0.0.1:1\n    tcp-request content switch-mode http proto h1\n"
    "    server s 127.0.0.1:2\n",
    "listen l\n    mode tcp\n    bind 127.0.0.1:1\n    http-request set-header X-A 1\n    server s 127.0.0.1:2\n",
    "frontend f\n    mode http\n    bind 127.0.0.1:1\n    tcp-request content switch-mode http\n"
    "    default_backend bh\n",
] + [_FE + f"    tcp-request content switch-mode{w}\n    default_backend bh\n"
     for w in ("", " http proto", " http foo", " http proto h1 extra", " tcp", " HTTP", " http proto foo")] + [
    "backend b2\n    mode http\n    tcp-request content switch-mode http\n    server s 127.0.0.1:2\n",
    _FE + "    tcp-request session switch-mode http\n    default_backend bh\n",
] + [_FE + f"    log 127.0.0.1:514 local0\n    tcp-request content switch-mode http\n    log-format \"{f}\"\n"
     "    default_backend bh\n"
     for f in ("%B %r", "%{+Q}r", "%ST %hr %b", "%Tr", "%[src] %trl", "%%r %HM")]


@pytest.mark.parametrize("body", SWITCH_CHECK)
def test_switch_mode_check_as_haproxy(body: str, tmp_path: Path) -> None:
    """``-c`` on switch-mode rules and on the HTTP directives of TCP proxies: 2.6's verdict,
    alerts and warnings (no 'ignored' warning once a frontend has a switch-mode rule; the
    log-format variables reserved for HTTP mode are refused all the same)."""
    require_haproxy_bin()
    cfg = tmp_path / "t.cfg"
    cfg.write_text(HEAD + body)
    theirs = check([HAPROXY_BIN], cfg)
    ours = check([sys.executable, "-m", "haproxy_py"], cfg)
    assert (ours[0], sorted(ours[1])) == (theirs[0], sorted(theirs[1]))


# --------------------------------------------------------------------------- at runtime

RUN_CFG = """
global
    log stderr format raw local0
defaults
    timeout connect 2s
    timeout client 2s
    timeout server 2s
    log global
    option tcplog
frontend fsw
    mode tcp
    bind 127.0.0.1:{p_sw}
    tcp-request inspect-delay 1s
    tcp-request content reject if {{ req.hdr(x-bad) -m found }}
    tcp-request content switch-mode http proto h1 if HTTP
    http-request set-header X-F sw
    http-request deny if {{ path /deny }}
    http-response set-header X-FR sw
    use_backend bt if {{ req.hdr(host) -m str t }}
    use_backend bh if {{ req.hdr(host) -m str h }}
    default_backend bh2
frontend fimp
    mode tcp
    bind 127.0.0.1:{p_imp}
    tcp-request inspect-delay 1s
    tcp-request content reject if {{ req.hdr(x-bad) -m found }}
    use_backend bh if {{ req.hdr(host) -m str h }}
    default_backend bh2
backend bh
    mode http
    http-request set-header X-B bh
    http-response set-header X-BR bh
    server s1 127.0.0.1:{srv}
backend bh2
    mode http
    http-request set-header X-B bh2
    server s1 127.0.0.1:{srv}
backend bt
    mode tcp
    server s1 127.0.0.1:{srv}
"""


def _sequences(seed: int, n: int) -> list[bytes]:
    """``n`` client connections: one to three requests each (host, path, sometimes a header the
    content rules reject), the last one closing; now and then data that is not HTTP."""
    import random

    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        if rnd.random() < 0.1:
            out.append(rnd.choice([b"hello\r\n\r\n", b"GET\r\n\r\n", b"\x16\x03\x01\x00\x05hello"]))
            continue
        reqs = []
        k = rnd.randint(1, 3)
        for i in range(k):
            hdrs = [f"Host: {rnd.choice('hhxt')}"]
            if rnd.random() < 0.15:
                hdrs.append("X-Bad: 1")
            if i == k - 1:
                hdrs.append("Connection: close")
            path = rnd.choice(["/a", "/b", "/deny", "/a?q=1"])
            reqs.append(f"GET {path} HTTP/1.1\r\n" + "".join(h + "\r\n" for h in hdrs) + "\r\n")
        out.append("".join(reqs).encode())
    return out


def _log_fields(stderr: str) -> list[str]:
    """The tcplog lines without addresses, dates and timers: frontend, backend/server, bytes,
    termination state. The harness's port probes (connections closed before sending anything:
    2.6 does not log them there, haproxy-py logs them 'CQ') are left out."""
    got = []
    for ln in stderr.splitlines():
        m = re.match(r"\S+ \[[^]]+\] (\S+) (\S+) \S+ (\S+) (\S+) ", ln)
        if m and m.group(4) != "CQ":
            got.append(" ".join(m.groups()))
    return got


def test_switch_mode_as_haproxy() -> None:
    """A TCP frontend with ``tcp-request content switch-mode http proto h1 if HTTP`` and one
    relying on the implicit upgrade (HTTP backends), over seeded generated connections: what
    each client got, what the server saw (headers set by the frontend's and the backend's
    http-request rules, routing per request, requests of a connection on one server connection)
    and the log lines (one per request, 'PR' for a content reject, 'IR' for an HTTP request sent
    to a TCP backend, 400s for what is not HTTP) equal 2.6's."""
    import time

    from tests.integration.harness import HttpBackend, free_port, http_request, run_proxy

    require_haproxy_bin()
    conns = _sequences(1515, 16)
    got = {}
    for which in ("haproxy", "ours"):
        srv = HttpBackend("s1").start()
        try:
            p_sw, p_imp = free_port(), free_port()
            with run_proxy(RUN_CFG.format(p_sw=p_sw, p_imp=p_imp, srv=srv.port), wait_ports=[p_sw, p_imp],
                           which=which) as pp:
                answers = [http_request(port, raw, timeout=4).lower() for port in (p_sw, p_imp) for raw in conns]
                deadline = time.monotonic() + 5
                want = sum(a.count(b"http/1.1 200") for a in answers)
                while len(srv.requests) < want and time.monotonic() < deadline:
                    time.sleep(0.02)
                seen = [(r.start, [(k.lower(), v) for k, v in r.headers]) for r in srv.requests]
                # the last lines may come a little after the last answer: until none came for 0.3 s
                n, quiet = -1, time.monotonic()
                while time.monotonic() < deadline + 3 and time.monotonic() - quiet < 0.3:
                    m = len(_log_fields(pp.stderr_text()))
                    if m != n:
                        n, quiet = m, time.monotonic()
                    time.sleep(0.05)
            # the lines as a multiset: 2.6 writes the line of a connection closed by a reject
            # after a pipelined request sometimes after the next connection's
            got[which] = (answers, sorted(seen), sorted(_log_fields(pp.stderr_text())))
        finally:
            srv.stop()
    ha, ours = got["haproxy"], got["ours"]
    for i, (a, b) in enumerate(zip(ha[0], ours[0], strict=True)):
        assert a == b, (i, conns[i % len(conns)], a, b)
    assert ha[1] == ours[1]
    assert ha[2] == ours[2]
    assert any(b"x-fr: sw" in a for a in ha[0]) and any(b"403" in a for a in ha[0])
    assert any(" IR" in ln for ln in ha[2]) and any(" PR" in ln for ln in ha[2])


BE_RULES_CFG = """
global
    log stderr format raw local0
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    timeout connect 2s
    timeout client 2s
    timeout server 2s
    log global
frontend ft
    mode tcp
    option tcplog
    bind 127.0.0.1:{p_t}
    tcp-request inspect-delay 1s
    tcp-request content accept if HTTP
    use_backend bh if {{ req.hdr(host) -m str h }}
    default_backend bt
frontend fh
    mode http
    option httplog
    bind 127.0.0.1:{p_h}
    use_backend bh if {{ req.hdr(host) -m str h }}
    default_backend bh2
backend bt
    mode tcp
    stick-table type ip size 10 store gpc0,conn_cnt
    tcp-request content track-sc0 src
    tcp-request content reject if {{ req.hdr(x-bad) -m found }}
    tcp-request content sc-inc-gpc0(0)
    server s1 127.0.0.1:{srv}
backend bh
    mode http
    tcp-request content reject if {{ req.hdr(x-bad) -m found }}
    tcp-request content set-var(txn.k) str(bh)
    http-request set-header X-K %[var(txn.k)]
    server s1 127.0.0.1:{srv}
backend bh2
    mode http
    tcp-request content reject if {{ req.hdr(x-bad) -m str 2 }}
    server s1 127.0.0.1:{srv}
"""


def wait_listening(*ports: int) -> None:
    """Wait until each port is bound, without connecting to it (no session for the proxy):
    /proc/net/tcp lists the listening sockets."""
    import time

    deadline = time.monotonic() + 10
    want = {f"0100007F:{p:04X}" for p in ports}
    while True:
        with open("/proc/net/tcp") as f:
            listening = {ln.split()[1] for ln in f.read().splitlines()[1:] if ln.split()[3] == "0A"}
        if want <= listening or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def test_backend_tcp_content_rules_as_haproxy() -> None:
    """A backend's tcp-request content rules (they were skipped) run once a frontend chose it: in
    a TCP backend, an HTTP one, one reached by the implicit upgrade; generated requests: what
    the clients got, what the server saw and the log lines ('PR' for the backend's reject) equal
    2.6's."""
    import random
    import time

    from tests.integration.harness import HttpBackend, free_port, http_request, run_proxy
    from tests.integration.stats_client import admin_socket, stats_cli

    require_haproxy_bin()
    rnd = random.Random(2026)
    reqs = []
    for _ in range(16):
        hdrs = [f"Host: {rnd.choice('hx')}"] + ([f"X-Bad: {rnd.choice('12')}"] if rnd.random() < 0.4 else [])
        reqs.append(("GET /p HTTP/1.1\r\n" + "".join(h + "\r\n" for h in hdrs) + "Connection: close\r\n\r\n").encode())
    got = {}
    for which in ("haproxy", "ours"):
        srv = HttpBackend("s1").start()
        try:
            p_t, p_h = free_port(), free_port()
            # ready once the stats socket answers: no port probe (2.6 logs the probe of a TCP
            # frontend with inspect-delay as a session to its default backend, we log 'CQ')
            with run_proxy(BE_RULES_CFG.format(p_t=p_t, p_h=p_h, srv=srv.port), which=which) as pp:
                stats_cli(admin_socket(pp, detail=pp.stderr_text), "show info")
                wait_listening(p_t, p_h)
                answers = [http_request(port, raw, timeout=4).lower() for port in (p_t, p_h) for raw in reqs]
                time.sleep(0.3)
                lines = sorted(" ".join(m.groups()) for m in (
                    re.match(r"\S+ \[[^]]+\] (\S+) (\S+) .*? (\S\S)(?:--)? \d+/", ln)
                    for ln in pp.stderr_text().splitlines()) if m)
                table = re.sub(r"0x[0-9a-f]+:", "0xADDR:", stats_cli(str(pp.workdir / "admin.sock"), "show table bt"))
            got[which] = (answers, sorted((r.start, r.header("x-k") or "") for r in srv.requests), lines, table)
        finally:
            srv.stop()
    for i, (a, b) in enumerate(zip(got["haproxy"][0], got["ours"][0], strict=True)):
        assert a == b, (reqs[i % len(reqs)], a, b)
    assert got["haproxy"][1] == got["ours"][1]
    assert got["haproxy"][2] == got["ours"][2]
    assert got["haproxy"][3] == got["ours"][3]  # the backend's track-sc0 and sc-inc-gpc0
    assert sum(" PR" in ln for ln in got["haproxy"][2]) >= 3 and "gpc0=" in got["haproxy"][3]


BE_DELAY_CFG = """
global
    log stderr format raw local0
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    timeout connect 2s
    timeout client 2s
    timeout server 2s
    log global
frontend f
    mode tcp
    option tcplog
    bind 127.0.0.1:{port}
    default_backend bt
backend bt
    mode tcp
    tcp-request inspect-delay 600ms
    tcp-request content reject if {{ req.hdr(x-bad) -m found }}
    tcp-request content accept if {{ req.len gt 60 }}
    tcp-request content reject if {{ req.payload(0,3) -m str BAD }}
    server s1 127.0.0.1:{srv}
"""


@pytest.mark.slow
def test_backend_inspect_delay_as_haproxy() -> None:
    """A TCP backend's tcp-request inspect-delay makes its content rules wait for the client's
    data (an HTTP head, more bytes, the delay), the frontend having none: requests sent in two
    parts 150 ms apart; what the clients got, the log lines' backend/server and termination
    state and whether the session waited for the whole delay equal 2.6's."""
    import socket
    import time

    from tests.integration.harness import HttpBackend, free_port, run_proxy
    from tests.integration.stats_client import admin_socket, stats_cli

    require_haproxy_bin()
    cases = [[b"GET / HTTP/1.1\r\n", b"Host: h\r\nX-Bad: 1\r\nConnection: close\r\n\r\n"],
             [b"GET / HTTP/1.1\r\n", b"Host: h\r\nConnection: close\r\n\r\n"],
             [b"GET /" + b"a" * 60 + b" HTTP/1.1\r\n", b"Host: h\r\nConnection: close\r\n\r\n"],
             [b"BA", b"D\r\n\r\n"], [b"GE", b"T / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"]]
    got = {}
    for which in ("haproxy", "ours"):
        srv = HttpBackend("s1").start()
        port = free_port()
        try:
            with run_proxy(BE_DELAY_CFG.format(port=port, srv=srv.port), which=which) as pp:
                stats_cli(admin_socket(pp, detail=pp.stderr_text), "show info")
                wait_listening(port)
                answers = []
                for parts in cases:
                    s = socket.create_connection(("127.0.0.1", port), timeout=3)
                    data = b""
                    try:
                        for i, p in enumerate(parts):
                            if i:
                                time.sleep(0.15)
                            s.sendall(p)
                        while True:
                            d = s.recv(4096)
                            if not d:
                                break
                            data += d
                    except OSError:
                        data += b"<error>"
                    finally:
                        s.close()
                    answers.append(data.lower())
                time.sleep(0.3)
                lines = []
                for ln in pp.stderr_text().splitlines():
                    m = re.match(r"\S+ \[[^]]+\] \S+ (\S+) \S+/(\d+) \d+ (\S+) ", ln)
                    if m:
                        lines.append((m.group(1), int(m.group(2)) >= 550, m.group(3)))
            got[which] = (answers, lines)
        finally:
            srv.stop()
    assert got["haproxy"] == got["ours"]
    assert {x[2] for x in got["haproxy"][1]} == {"PR", "--"} and any(x[1] for x in got["haproxy"][1])
