"""tcp-response content set-var, set-var-fmt, unset-var, set-log-level, silent-drop and the stick
counter actions (sc-inc-gpc, sc-inc-gpc0/1, sc-set-gpt, sc-set-gpt0) in a TCP backend, side by
side with Debian's HAProxy 2.6: generated server answers (what they start with, sent at once or
in two parts), compared by what the client got, the log line (variables, severity, termination
state, bytes) and ``show table``."""

from __future__ import annotations

import random
import re
import socket
import time

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import TcpServer, free_port, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

pytestmark = [pytest.mark.needs_haproxy]

SCEN: dict[str, list[tuple[float, bytes]]] = {}


class Scripted(TcpServer):
    """Reads a key line, then sends that scenario's parts (pause, bytes) and closes."""

    def serve(self, c: socket.socket) -> None:
        c.settimeout(5)
        try:
            d = b""
            while not d.endswith(b"\n"):
                got = c.recv(100)
                if not got:
                    return
                d += got
            for pause, data in SCEN[d.decode().strip()]:
                time.sleep(pause)
                c.sendall(data)
            time.sleep(0.05)
        except (OSError, KeyError):
            pass
        finally:
            c.close()


CFG = """
global
    log stderr format short local0 debug
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 2s
    timeout server 2s
frontend f
    bind 127.0.0.1:{port}
    log-format "%b %ts %B a=%[var(txn.a)] b=%[var(txn.b)] c=%[var(sess.c)]"
    tcp-request content set-var(txn.b) str(req)
    tcp-request content track-sc0 src table b
    tcp-request content track-sc1 src table t2
    default_backend b
backend b
    tcp-response inspect-delay 400ms
    stick-table type ip size 10 store gpc0,gpc1,gpt0
    tcp-response content set-var(txn.a) res.payload(0,3) if {{ res.len ge 3 }}
    tcp-response content set-var-fmt(sess.c) "L%[res.len]"
    tcp-response content unset-var(txn.b) if {{ res.payload(0,2) -m str UN }}
    tcp-response content set-log-level err if {{ res.payload(0,3) -m str ERR }}
    tcp-response content set-log-level silent if {{ res.payload(0,3) -m str SIL }}
    tcp-response content sc-inc-gpc0(0)
    tcp-response content sc-inc-gpc1(0) if {{ res.payload(0,1) -m str A }}
    tcp-response content sc-inc-gpc(1,1) if {{ res.len ge 5 }}
    tcp-response content sc-set-gpt0(0) res.len
    tcp-response content sc-set-gpt(1,1) 42 if {{ res.payload(0,1) -m str E }}
    tcp-response content silent-drop if {{ res.payload(0,4) -m str DROP }}
    tcp-response content accept if {{ res.len ge 3 }}
    server s 127.0.0.1:{srv}
backend t2
    stick-table type ip size 10 store gpc(2),gpt(2)
"""

STARTS = [b"ABC", b"UNx", b"ERR", b"SIL", b"DROP", b"Ex", b"A", b""]


def _scenarios(seed: int, n: int) -> dict[str, list[tuple[float, bytes]]]:
    rnd = random.Random(seed)
    out = {}
    for i in range(n):
        data = rnd.choice(STARTS) + bytes(rnd.choice(b"xyz!") for _ in range(rnd.randint(0, 6)))
        if len(data) > 2 and rnd.random() < 0.4:
            cut = rnd.randint(1, len(data) - 1)
            parts = [(0.0, data[:cut]), (0.15, data[cut:])]
        else:
            parts = [(0.0, data)] if data else []
        out[f"k{i}"] = parts
    return out


def _line(ln: str) -> str | None:
    """A log line ('format short': <severity>message) as 'severity message'."""
    m = re.match(r"<(\d+)>(.*)", ln)
    return f"{m.group(1)} {m.group(2)}" if m else None


def _mask(text: str) -> str:
    text = re.sub(r"0x[0-9a-f]+:", "0xADDR:", text)
    return re.sub(r" exp=\d+", " exp=E", text)


def _connect(port: int) -> socket.socket:
    """A connection to the proxy, retried while its listener is not bound yet (refused: nothing
    reached the proxy)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=3)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _run(which: str, scen: dict[str, list[tuple[float, bytes]]]) -> tuple[list[bytes], list[str], list[str]]:
    srv = Scripted()
    port = free_port()
    got = []
    try:
        # ready once the stats socket answers (bound after the listeners): no port probe, whose
        # connection would run the rules too
        with run_proxy(CFG.format(port=port, srv=srv.port), which=which) as pp:
            sock = admin_socket(pp, detail=pp.stderr_text)
            stats_cli(sock, "show info")
            for key, parts in scen.items():
                s = _connect(port)
                s.settimeout(0.8 if any(p.startswith(b"DROP") for _, p in parts) else 3)
                data = b""
                try:
                    s.sendall(key.encode() + b"\n")
                    while True:
                        d = s.recv(4096)
                        if not d:
                            break
                        data += d
                except OSError:  # a silent-drop: no FIN (TCP_REPAIR) or a reset
                    pass
                finally:
                    s.close()
                got.append(data)
            deadline = time.monotonic() + 5
            want = sum(1 for p in scen.values() if not p or not p[0][1].startswith(b"SIL"))
            while time.monotonic() < deadline:
                lines = [x for x in (_line(ln) for ln in pp.stderr_text().splitlines()) if x]
                if len(lines) >= want:
                    break
                time.sleep(0.05)
            time.sleep(0.2)
            # as a multiset: a silent-drop's session ends in its own time
            lines = sorted(x for x in (_line(ln) for ln in pp.stderr_text().splitlines()) if x)
            tables = [_mask(stats_cli(sock, f"show table {t}")) for t in ("b", "t2")]
    finally:
        srv.close()
    return got, lines, tables


@pytest.mark.slow
def test_tcp_response_actions_as_haproxy() -> None:
    """Variables set and unset by tcp-response rules read by the frontend's log-format, the log
    level they set (err, silent), silent-drop, over generated answers: equal to 2.6's."""
    require_haproxy_bin()
    SCEN.clear()
    SCEN.update(_scenarios(2626, 14))
    ha = _run("haproxy", SCEN)
    ours = _run("ours", SCEN)
    assert ha[0] == ours[0]
    assert ha[1] == ours[1]
    assert any(" a=ABC " in ln for ln in ha[1]) and any(ln.startswith("3 ") for ln in ha[1])  # err
    assert any(" PR " in ln for ln in ha[1]) and not any("a=SIL" in ln for ln in ha[1])


@pytest.mark.slow
def test_tcp_response_stick_actions_as_haproxy() -> None:
    """sc-inc-gpc0/1, sc-inc-gpc(idx), sc-set-gpt0 (from an expression) and sc-set-gpt(idx) in
    tcp-response rules on the counters tracked by tcp-request content rules: ``show table`` of
    both tables equal to 2.6's after generated answers."""
    require_haproxy_bin()
    SCEN.clear()
    SCEN.update(_scenarios(77, 6))
    ha = _run("haproxy", SCEN)
    ours = _run("ours", SCEN)
    assert ha[2] == ours[2]
    assert "gpc0=" in ha[2][0] and "gpt1=" in ha[2][1] and "gpc1=" in ha[2][1]


HTTP_CFG = """
global
    log stderr format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 2s
    timeout server 2s
frontend f
    bind 127.0.0.1:{port}
    default_backend bh
backend bh
    tcp-response content set-var(txn.l0) res.len
    tcp-response content set-var(txn.h) res.hdr(x-server)
    tcp-response content accept if {{ var(txn.what) -m str acc }}
    tcp-response content reject if {{ var(txn.what) -m str rej }}
    tcp-response content close if {{ var(txn.what) -m str close }}
    tcp-response content silent-drop if {{ var(txn.what) -m str drop }}
    tcp-response content set-var(txn.after) str(yes)
    http-request set-var(txn.what) path,field(2,/)
    http-response set-header X-L0 %[var(txn.l0)]
    http-response set-header X-H %[var(txn.h)]
    http-response set-header X-A %[var(txn.after)]
    server s1 127.0.0.1:{srv}
"""


@pytest.mark.slow
def test_http_backend_tcp_response_as_haproxy() -> None:
    """tcp-response content rules in an HTTP backend (without inspect-delay): 2.6 runs them per
    transaction once the request went, before the response (res.len 0, no header yet); accept,
    reject, close (a 502 'SH') and silent-drop over generated request sequences: what the clients
    got, what the server received and the log lines' status, bytes and termination state."""
    from tests.integration.harness import HttpBackend, http_request

    require_haproxy_bin()
    rnd = random.Random(615)
    conns = []
    for _ in range(10):
        k = rnd.randint(1, 3)
        reqs = [f"GET /{rnd.choice(['a', 'acc', 'rej', 'close', 'drop', 'a'])} HTTP/1.1\r\nHost: h\r\n"
                + ("Connection: close\r\n" if i == k - 1 else "") + "\r\n" for i in range(k)]
        conns.append("".join(reqs).encode())
    got = {}
    for which in ("haproxy", "ours"):
        srv = HttpBackend("s1").start()
        port = free_port()
        try:
            with run_proxy(HTTP_CFG.format(port=port, srv=srv.port), wait_ports=[port], which=which) as pp:
                answers = [http_request(port, c, timeout=1.0 if b"/drop" in c else 4).lower() for c in conns]
                time.sleep(0.3)
                logs = [m.groups() for m in (re.match(r"\S+ \[[^]]+\] \S+ (\S+) \S+ (\S+) (\S+) \S+ \S+ (\S+) .*\"(.*)\"",
                                                      ln) for ln in pp.stderr_text().splitlines()) if m]
            got[which] = (answers, sorted(r.start for r in srv.requests), sorted(logs))
        finally:
            srv.stop()
    for i, (a, b) in enumerate(zip(got["haproxy"][0], got["ours"][0], strict=True)):
        assert a == b, (conns[i], a, b)
    assert got["haproxy"][1] == got["ours"][1]
    assert got["haproxy"][2] == got["ours"][2]
    assert any(b"x-l0: 0" in a and b"x-a: yes" in a for a in got["haproxy"][0])
    assert {x[3] for x in got["haproxy"][2]} >= {"PD--", "SH--"}
