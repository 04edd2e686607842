"""tcp-response inspect-delay and tcp-response content accept / reject / close with res.len,
res.payload and res.payload_lv, through Debian's HAProxy 2.6 and haproxy-py: generated server
answers (what they start with, how long they are, sent in one or two parts with a pause, or
nothing within the delay) in a TCP backend. Compared: the bytes the client got, and in the log
line the termination state and the bytes counted (times aside)."""

from __future__ import annotations

import random
import socket
import time

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import TcpServer, free_port, run_proxy, until

pytestmark = [pytest.mark.timeout(180), pytest.mark.needs_haproxy]

SCEN: dict[str, list[tuple[float, bytes]]] = {}


class Scripted(TcpServer):
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


#: the fetches the rules read (their conditions below)
LEN, PAYLOAD, PAYLOAD_LV = "res.len", "res.payload(0,2)", "res.payload_lv(0,2)"
RULES = [
    ("close", [f"{PAYLOAD} -m str NO"]),
    ("accept", [f"{PAYLOAD_LV} -m str abc"]),
    ("accept", [f"{PAYLOAD} -m str OK", f"{LEN} ge 4"]),
    ("reject", [f"{LEN} gt 30"]),
    ("accept", ["res.payload(2,1) -m str !"]),
]
CFG = """
global
    log stderr format raw local0
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:@FE@
    default_backend be
backend be
    tcp-response inspect-delay 600ms
""" + "".join(f"    tcp-response content {a} if " + " ".join("{ " + c + " }" for c in cs) + "\n"
              for a, cs in RULES) + """    tcp-response content reject
    server s 127.0.0.1:@SRV@
"""


def _gen(rng: random.Random) -> list[tuple[float, bytes]]:
    head = rng.choice([b"OK", b"NO", b"\x00\x03abc", b"\x00\x03abd", b"zz!", b"O", b""])
    body = head + rng.randbytes(rng.choice([0, 2, 10, 40]))
    if rng.random() < 0.15:
        return [(0.9, body or b"late")]  # nothing within the delay
    cut = rng.randint(0, len(body))
    parts = [(0.0, body[:cut]), (rng.choice([0.0, 0.25]), body[cut:])]
    return [p for p in parts if p[1]]


def _talk(port: int, name: str) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=6)
    s.settimeout(6)
    out = b""
    try:
        s.sendall(name.encode() + b"\n")
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError as e:
        out += type(e).__name__.encode()
    finally:
        s.close()
    return out


def _log_fields(text: str) -> list[tuple[str, str]]:
    """(bytes, termination state) of each session line, in order."""
    out = []
    for ln in text.splitlines():
        if " fe be/s " in ln:
            f = ln.split(" fe be/s ", 1)[1].split()
            out.append((f[1], f[2]))
    return out


@pytest.mark.slow
def test_tcp_response_content_as_haproxy() -> None:
    require_haproxy_bin()
    rng = random.Random(6262)
    names = []
    for i in range(14):
        SCEN[f"c{i}"] = _gen(rng)
        names.append(f"c{i}")
    srv = Scripted()
    got: dict[str, list[bytes]] = {}
    logs: dict[str, list[tuple[str, str]]] = {}
    try:
        for which in ("haproxy", "ours"):
            port = free_port()
            with run_proxy(CFG.replace("@FE@", str(port)).replace("@SRV@", str(srv.port)), wait_ports=[port], which=which) as pp:
                def logged(n: int) -> bool:
                    return len(_log_fields(pp.stderr_text())) >= n

                until(lambda: logged(1))  # the line of the harness's port probe
                got[which] = []
                for i, n in enumerate(names):
                    got[which].append(_talk(port, n))
                    # each session's line before the next one: the lines are then in the order of
                    # the sessions (a session ending late could log after the next one's)
                    until(lambda i=i: logged(i + 2))
                logs[which] = _log_fields(pp.stderr_text())[-len(names):]
    finally:
        srv.close()
    for n, h, o in zip(names, got["haproxy"], got["ours"], strict=True):
        assert o == h, (n, SCEN[n], h, o)
    assert logs["ours"] == logs["haproxy"], logs
    states = {t for _, t in logs["ours"]}
    assert "PD" in states and "--" in states, states  # rejects and accepts (or closes) both seen
    assert any(SCEN[n][0][1][:2] == b"NO" and o for n, o in zip(names, got["ours"], strict=True))


DEF_CFG = """
defaults d
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    tcp-response inspect-delay 500ms
    tcp-response content accept if { res.payload(0,2) -m str OK }
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:@FE@
    bind 127.0.0.1:@FE2@
    use_backend be2 if { dst_port @FE2@ }
    default_backend be
backend be from d
    tcp-response content reject if { res.payload(0,1) -m str O }
    server s 127.0.0.1:@SRV@
backend be2
    tcp-response content reject if { res.len eq 0 }
    server s 127.0.0.1:@SRV@
"""


@pytest.mark.slow
def test_tcp_response_rules_in_named_defaults_as_haproxy() -> None:
    """tcp-response rules and inspect-delay from a named defaults section used by a backend run
    first, as 2.6.12 runs them: the rules are evaluated once at connect, before any data, and
    a defaults rule waiting there resumes with the backend's own rules (so 'OK' at once is
    rejected by the backend's rule on 'O'); without inspect-delay that first evaluation is
    final (res.len is 0: every answer rejected)."""
    require_haproxy_bin()
    SCEN.update({"ok": [(0.0, b"OKhello")], "no": [(0.0, b"NOhello")], "split": [(0.0, b"O"), (0.2, b"Khello")],
                 "late": [(0.7, b"OKlate")]})
    srv = Scripted()
    got: dict[str, list[bytes]] = {}
    try:
        for which in ("haproxy", "ours"):
            port, port2 = free_port(), free_port()
            cfg = DEF_CFG.replace("@FE@", str(port)).replace("@FE2@", str(port2)).replace("@SRV@", str(srv.port))
            with run_proxy(cfg, wait_ports=[port, port2], which=which):
                got[which] = [_talk(p, n) for p in (port, port2) for n in ("ok", "no", "split", "late")]
    finally:
        srv.close()
    assert got["ours"] == got["haproxy"], got
    assert got["ours"][1] == b"NOhello" and got["ours"][0] == b"" and not any(got["ours"][4:])
