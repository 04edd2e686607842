"""tcp-request connection / session / content rules and inspect-delay in a named ``defaults``
section used with ``from``, through Debian's HAProxy 2.6 and haproxy-py: which connections get
through (the server's banner, or a closed connection), from several loopback sources with
several payloads, in a TCP and an HTTP frontend; and ``haproxy -c``'s verdicts on where such
rules may be (anonymous defaults, a backend inheriting connection/session rules, a listen or a
defaults inheriting rules, frontends and backends sharing them).

Reproduced 2.6.12 quirks: the defaults' connection (session) rules run only for a proxy with
connection (session) rules of its own (the HTTP frontend here has none: 127.0.0.3 gets in);
its content rules run once at accept, before any data; when a rule of
the defaults section waits for data there, the evaluation resumes with the proxy's own rules
and the defaults' remaining rules are skipped (``XX`` below passes the defaults' reject).
Not compared: how long haproxy-py waits before deciding on data that could still become an
HTTP request head (it waits for the head or the inspect-delay; 2.6 decides on arrival)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import HAPROXY_BIN, ROOT, require_haproxy_bin
from tests.integration.harness import TcpServer, free_port, run_proxy

pytestmark = [pytest.mark.timeout(180), pytest.mark.needs_haproxy]


class Banner(TcpServer):
    def serve(self, c: socket.socket) -> None:
        c.settimeout(5)
        try:
            c.sendall(b"BANNER\n")
            while c.recv(4096):
                pass
        except OSError:
            pass
        finally:
            c.close()


CFG = """
defaults d
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    tcp-request inspect-delay 500ms
    acl from3 src 127.0.0.3
    tcp-request connection reject if from3
    tcp-request session reject if {{ src 127.0.0.4 }}
    tcp-request content reject if {{ src 127.0.0.5 }}
    tcp-request content reject if {{ req.payload(0,2) -m str XX }}
defaults dh
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    tcp-request connection reject if {{ src 127.0.0.3 }}
    tcp-request content reject if {{ src 127.0.0.5 }}
    http-request deny if {{ src 127.0.0.6 }}
frontend fe from d
    bind 127.0.0.1:{tcp}
    tcp-request connection accept if {{ src 1.1.1.1 }}
    tcp-request session accept if {{ src 1.1.1.1 }}
    tcp-request content reject if {{ req.payload(0,2) -m str YY }}
    tcp-request content reject if {{ src 127.0.0.6 }}
    default_backend be
frontend fh from dh
    bind 127.0.0.1:{http}
    http-request return status 200 content-type text/plain string ok
defaults
    mode tcp
backend be
    timeout connect 2s
    timeout server 5s
    server s 127.0.0.1:{srv}
"""


def _try(port: int, src: str, data: bytes, pause: float) -> bytes:
    s = socket.socket()
    s.settimeout(6)
    try:
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        time.sleep(pause)
        s.sendall(data)
        out = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            out += d
            if b"BANNER" in out or b"\r\n\r\n" in out:
                break
        return out.split(b"\r\n")[0]
    except OSError as e:
        return type(e).__name__.encode()
    finally:
        s.close()


@pytest.mark.slow
def test_tcp_rules_in_named_defaults_as_haproxy() -> None:
    require_haproxy_bin()
    srv = Banner()
    cases = [("127.0.0.1", data, 0.3) for data in (b"XXab", b"YYab", b"ab")]
    cases += [(src, b"ab", 0.3) for src in ("127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6")]
    got: dict[str, list[tuple[bytes, bytes]]] = {}
    try:
        for which in ("haproxy", "ours"):
            tcp, http = free_port(), free_port()
            with run_proxy(CFG.format(tcp=tcp, http=http, srv=srv.port), wait_ports=[tcp, http], which=which):
                got[which] = [(_try(tcp, src, data, pause),
                               _try(http, src, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0.0))
                              for src, data, pause in cases]
    finally:
        srv.close()
    for case, h, o in zip(cases, got["haproxy"], got["ours"], strict=True):
        assert o == h, (case, h, o)
    tcp_ok = {c[:2] for c, r in zip(cases, got["ours"], strict=True) if r[0].startswith(b"BANNER")}
    # each defaults rule did something, the proxy's own ones too, and the 2.6.12 quirk shows
    assert ("127.0.0.1", b"ab") in tcp_ok and ("127.0.0.1", b"XXab") in tcp_ok
    assert not {c for c in tcp_ok if c[0] in ("127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6")}
    assert ("127.0.0.1", b"YYab") not in tcp_ok
    http = {c[0]: r[1] for c, r in zip(cases, got["ours"], strict=True)}
    assert http["127.0.0.1"].startswith(b"HTTP/1.1 200") and http["127.0.0.6"].startswith(b"HTTP/1.1 403")
    assert http["127.0.0.3"].startswith(b"HTTP/1.1 200") and not http["127.0.0.5"].startswith(b"HTTP")


H = "defaults\n    mode tcp\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"
VERDICTS = [
    "defaults d\n    mode tcp\n    tcp-response content reject\nfrontend f from d\n    bind 127.0.0.1:1\n",
    "defaults d\n    mode tcp\n    tcp-request connection reject\nfrontend f from d\n    bind 127.0.0.1:1\n",
    "    tcp-request connection reject\nfrontend f\n    bind 127.0.0.1:1\n",
    "    tcp-request inspect-delay 2s\nfrontend f\n    bind 127.0.0.1:1\n",
    "    tcp-request foo\nfrontend f\n    bind 127.0.0.1:1\n",
    "    tcp-request\nfrontend f\n    bind 127.0.0.1:1\n",
    "defaults d\n    mode tcp\n    tcp-request session reject\nbackend b from d\n    server s 127.0.0.1:1\n",
    "defaults d\n    mode tcp\n    tcp-request inspect-delay 2s\nlisten l from d\n    bind 127.0.0.1:1\n"
    "    server s 127.0.0.1:1\n",
    "defaults d\n    mode tcp\n    tcp-request connection reject\nlisten l from d\n    bind 127.0.0.1:1\n"
    "    server s 127.0.0.1:1\n",
    "defaults d\n    mode tcp\n    tcp-request connection reject\nfrontend f from d\n    bind 127.0.0.1:1\n"
    "backend b from d\n    server s 127.0.0.1:1\n",
]


def _verdict(cmd: list[str], cfg: Path) -> tuple[bool, list[str]]:
    p = subprocess.run(cmd + ["-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    msgs = re.findall(r"ALERT\].*?: (?:config : )?(parsing \[.*)", p.stdout + p.stderr)
    return p.returncode == 1, [m.replace(str(cfg), "C").strip() for m in msgs]


@pytest.mark.slow
def test_tcp_rules_in_defaults_verdicts_as_haproxy() -> None:
    """Accepted or refused as 2.6 does, with its alert text (a rule list 2.6 prints in its own
    order is compared by its start)."""
    require_haproxy_bin()
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory() as d, ThreadPoolExecutor(4) as pool:
        cfgs = []
        for i, body in enumerate(VERDICTS):
            cfg = Path(d) / f"c{i}.cfg"
            cfg.write_text(H + body)
            cfgs.append(cfg)
        hs = list(pool.map(lambda c: _verdict([HAPROXY_BIN], c), cfgs))
        os_ = list(pool.map(lambda c: _verdict([sys.executable, "-m", "haproxy_py"], c), cfgs))
        for body, h, o in zip(VERDICTS, hs, os_, strict=True):
            assert o[0] == h[0], (body, h, o)
            assert [m[:90].replace(f"c{VERDICTS.index(body)}.cfg", "C") for m in o[1]] == \
                [m[:90].replace(f"c{VERDICTS.index(body)}.cfg", "C") for m in h[1]], (body, h, o)
