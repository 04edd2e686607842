"""``capture`` in tcp-request content and http-after-response rules, against Debian's HAProxy 2.6.

Both proxies run the same configuration with ``log stderr format raw``; generated connections
and requests go through each, and the log lines (``%hr``, ``%hrl``, ``%hs``, ``capture.req.hdr``,
``capture.res.hdr``) and what the client got must be the same. ``-c`` is compared too: where 2.6
accepts the action, its errors, and its refusal in tcp-request connection/session rules.
"""

from __future__ import annotations

import random
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from haproxy_py.cli import main
from tests.conftest import require_haproxy_bin
from tests.integration.harness import HttpBackend, TcpServer, free_port, read_http_message, run_proxy, until

SIDES = ("ours", "haproxy")


class OkServer(TcpServer):
    """Reads what the client sends (until a newline or 0.5 s), answers ``ok`` and closes."""

    def serve(self, c: socket.socket) -> None:
        with c:
            c.settimeout(0.5)
            try:
                buf = b""
                while b"\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        break
                    buf += d
                c.sendall(b"ok\n")
            except OSError:
                pass


def _lines(text: str, tag: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.startswith(tag + " ")]


def _tcp_send(port: int, data: bytes, pause: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        if data:
            s.sendall(data[:2])
            time.sleep(pause)
            s.sendall(data[2:])
        out = b""
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                out += d
        except OSError:
            pass
        return out


#: a frontend that logs nothing: the proxy is ready once it accepts (wait_port's probes go there)
READY = """\
frontend ready
    mode tcp
    bind 127.0.0.1:{ready}
    no log
    tcp-request connection reject
"""

TCP_CFG = """\
global
    log stderr format raw local0
defaults
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen ltcp
    mode tcp
    bind 127.0.0.1:{tcp}
    log-format "TCAP %hr|%hrl|%[capture.req.hdr(0)]|%[capture.req.hdr(2)]|%[capture.req.hdr(3)]|%hs"
    tcp-request inspect-delay 300ms
    tcp-request content capture src len 5
    capture request header Host len 4
    tcp-request content capture req.payload(0,6) len 4 if {{ req.len ge 3 }}
    tcp-request content capture req.payload(2,3),upper len 9
    tcp-request content accept if {{ req.len ge 5 }}
    tcp-request content capture req.len,add(100) len 2
    server s1 127.0.0.1:{srv}
listen lnocap
    mode tcp
    bind 127.0.0.1:{tcp2}
    log-format "TNOCAP %hr|%hrl|%hs|%hsl"
    capture request header Host len 4
    declare capture response len 3
    server s1 127.0.0.1:{srv}
frontend fhttp
    mode http
    bind 127.0.0.1:{http}
    log-format "HCAP %hr|%hrl|%[capture.req.hdr(1)]"
    capture request header X-A len 3
    tcp-request content capture req.hdr(host) len 6
    http-request capture req.hdr(x-b) len 2
    tcp-request content capture path len 4 if {{ path_beg /p }}
    http-request return status 200 content-type text/plain string ok
"""


@pytest.mark.slow
def test_tcp_content_capture_as_haproxy() -> None:
    """tcp-request content capture in mode tcp (with inspect-delay: payload captures, conditions,
    a rule after an accept that never runs, a 'capture request header' slot that stays empty)
    and in mode http (next to header captures and http-request capture): generated input, the
    same log lines as 2.6."""
    require_haproxy_bin()
    rng = random.Random(1526)
    tcp_inputs = [(rng.choice([b"", b"a", b"ab", b"abc", b"abcdef", b"hello world", b"xyzxyzxyz"]),
                   rng.choice([0.0, 0.05])) for _ in range(8)]
    http_inputs = []
    for _ in range(10):
        hdrs = ""
        for name, vals in (("Host", ["h", "hosthosthost"]), ("X-A", ["1", "12345"]), ("X-B", ["bbb", "b"])):
            if rng.random() < 0.6:
                hdrs += f"{name}: {rng.choice(vals)}\r\n"
        path = rng.choice(["/", "/p", "/pathlong", "/q"])
        http_inputs.append(f"GET {path} HTTP/1.1\r\n{hdrs}Connection: close\r\n\r\n".encode())
    logs = {}
    for which in SIDES:
        srv = OkServer()
        ports = {k: free_port() for k in ("tcp", "tcp2", "http", "ready")}
        try:
            with run_proxy((TCP_CFG + READY).format(srv=srv.port, **ports), wait_ports=[ports["ready"]],
                           which=which) as pp:
                skip = {t: 0 for t in ("TCAP", "TNOCAP", "HCAP")}
                got = []

                def logged(tag: str, n: int) -> None:
                    # 2.6 runs two threads: two sessions' lines can swap unless each is awaited
                    until(lambda: len(_lines(pp.stderr_text(), tag)) >= n)

                for i, (data, pause) in enumerate(tcp_inputs):
                    got.append(_tcp_send(ports["tcp"], data + b"\n" if data else b"", pause))
                    logged("TCAP", i + 1)
                got.append(_tcp_send(ports["tcp2"], b"zz\n", 0))
                for i, raw in enumerate(http_inputs):
                    with socket.create_connection(("127.0.0.1", ports["http"]), timeout=5) as s:
                        s.sendall(raw)
                        got.append(read_http_message(s.makefile("rb"), response=True)[2])
                    logged("HCAP", i + 1)
                want = {"TCAP": len(tcp_inputs), "TNOCAP": 1, "HCAP": len(http_inputs)}
                until(lambda skip=skip, want=want: all(len(_lines(pp.stderr_text(), t)) >= skip[t] + n
                                                        for t, n in want.items()))
                text = pp.stderr_text()
                logs[which] = ({t: _lines(text, t)[skip[t]:] for t in want}, got)
        finally:
            srv.close()
    assert logs["ours"] == logs["haproxy"]
    assert any("|abc" in ln for ln in logs["ours"][0]["TCAP"])  # a payload capture happened


AFTER_CFG = """\
global
    log stderr format raw local0
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe}
    log-format "ACAP %hs|%hsl|%[capture.res.hdr(0)]|%[capture.res.hdr(2)]"
    capture response header X-Server len 4
    declare capture response len 5
    declare capture response len 3
    http-response capture res.hdr(x-r) id 1 if {{ res.hdr(x-r) -m found }}
    http-after-response capture status id 1 if {{ status 403 }}
    http-after-response capture res.hdr(x-a),lower id 2
    http-after-response capture res.hdr(content-length) id 0 if {{ var(txn.k) -m found }}
    http-after-response set-header X-Seen "%[capture.res.hdr(0)] %[capture.res.hdr(1)] %[capture.res.hdr(2)]"
    http-request set-var(txn.k) req.hdr(x-k)
    http-request deny if {{ path /deny }}
    http-request return status 200 content-type text/plain string ok hdr X-A Gen if {{ path /ret }}
    default_backend be
backend be
    http-after-response capture res.hdr(x-server) id 2 if {{ path /be }}
    server s1 127.0.0.1:{srv}
"""


def test_after_response_capture_as_haproxy() -> None:
    """http-after-response capture (id slots of capture response header / declare capture, from
    the frontend's and the backend's rules, on server responses and on 2.6's own deny and return
    answers): the log line and what a later rule read from the slots, as 2.6 gives them."""
    require_haproxy_bin()
    rng = random.Random(262)
    reqs = []
    for _ in range(14):
        path = rng.choice(["/", "/be", "/deny", "/ret", "/x"])
        hdrs = "X-K: 1\r\n" if rng.random() < 0.5 else ""
        reqs.append((path, hdrs, rng.choice(["", "RrRr", "toolongvalue"]), rng.choice(["", "AbC"])))
    out = {}
    for which in SIDES:
        be = HttpBackend("srv1")

        def behaviour(rec, _be=be):  # type: ignore[no-untyped-def]
            hs = []
            for k in ("x-r", "x-a"):
                v = rec.header("x-want-" + k)
                if v:
                    hs.append((k, v))
            return 200, hs, b"hello\n"

        be.behaviour = behaviour
        be.start()
        port, ready = free_port(), free_port()
        try:
            with run_proxy((AFTER_CFG + READY).format(fe=port, srv=be.port, ready=ready), wait_ports=[ready],
                           which=which) as pp:
                skip = 0
                got = []
                for path, hdrs, xr, xa in reqs:
                    extra = (f"X-Want-X-R: {xr}\r\n" if xr else "") + (f"X-Want-X-A: {xa}\r\n" if xa else "")
                    raw = f"GET {path} HTTP/1.1\r\nHost: h\r\n{hdrs}{extra}Connection: close\r\n\r\n".encode()
                    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                        s.sendall(raw)
                        start, headers, body = read_http_message(s.makefile("rb"), response=True)
                    seen = [v for k, v in headers if k.lower() == "x-seen"]
                    got.append((start.split()[1], seen))
                    until(lambda n=len(got): len(_lines(pp.stderr_text(), "ACAP")) >= n)
                until(lambda skip=skip: len(_lines(pp.stderr_text(), "ACAP")) >= skip + len(reqs))
                out[which] = (got, _lines(pp.stderr_text(), "ACAP")[skip:])
        finally:
            be.stop()
    assert out["ours"] == out["haproxy"]
    assert any("403" in ln for ln in out["ours"][1])  # the rule ran on 2.6's own deny answer


BAD = (
    ("frontend", "tcp-request connection capture src len 10"),
    ("frontend", "tcp-request connection capture"),
    ("listen", "tcp-request session capture nosuch len 3"),
    ("frontend", "tcp-request session capture src,nosuchconv len 3"),
    ("frontend", "tcp-request content capture src len 10"),
    ("frontend", "tcp-request content capture req.hdr(host) len 10"),
    ("frontend", "tcp-request content capture src"),
    ("frontend", "tcp-request content capture src len 0"),
    ("frontend", "tcp-request content capture src len x"),
    ("frontend", "tcp-request content capture src len -3"),
    ("frontend", "tcp-request content capture src len 12abc"),
    ("frontend", "tcp-request content capture src id 0"),
    ("frontend", "tcp-request content capture nosuch len 3"),
    ("frontend", "tcp-request content capture res.hdr(x) len 3"),
    ("frontend", "tcp-request content capture src len 5 foo"),
    ("frontend", "tcp-request content capture src len 5 if TRUE"),
    ("backend", "tcp-request content capture src len 5"),
    ("listen", "tcp-request content capture req.payload(0,3) len 4"),
    ("frontend", "http-after-response capture res.hdr(x) id 0"),
    ("frontend", "http-after-response capture res.hdr(x) len 4"),
    ("frontend", "http-after-response capture res.hdr(x)"),
    ("frontend", "http-after-response capture res.hdr(x) id x"),
    ("listen", "http-after-response capture nosuch id 0"),
)


def _alerts(err: str) -> list[str]:
    return [re.sub(r"^(\[(ALERT|WARNING)\] +)\(\d+\)", r"\1(PID)", ln) for ln in err.splitlines()
            if ln.startswith(("[ALERT]", "[WARNING]"))]


def test_capture_rule_errors_as_haproxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """``-c`` on capture rules where 2.6 accepts or refuses them: the same verdict, alerts and
    warnings (with and without an inspect-delay after the rule)."""
    binary = require_haproxy_bin()
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "c.cfg"
    diffs = []
    for kind, rule in BAD:
        for delay in ("", "    tcp-request inspect-delay 1s\n"):
            tail = "    default_backend b\n" if kind == "frontend" else "    server s 127.0.0.1:1\n"
            bind = "    bind 127.0.0.1:1\n" if kind != "backend" else ""
            cfg.write_text("defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n"
                           f"    timeout connect 1s\n{kind} p\n{bind}    {rule}\n{delay}{tail}"
                           "backend b\n    server s 127.0.0.1:1\n")
            p = subprocess.run([binary, "-c", "-f", "c.cfg"], capture_output=True, text=True, timeout=30)
            capsys.readouterr()
            rc = main(["-c", "-f", "c.cfg"])
            _, err = capsys.readouterr()
            if (p.returncode == 0) != (rc == 0) or _alerts(err) != _alerts(p.stderr):
                diffs.append(f"{kind} {rule} {delay.strip()}: 2.6 {_alerts(p.stderr)}, ours {_alerts(err)}")
    assert not diffs, "\n".join(diffs)
