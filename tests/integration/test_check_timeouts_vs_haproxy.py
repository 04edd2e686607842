"""When a check gives up, and what a reset says, against Debian's HAProxy 2.6 side by side.

* The connection's time limit: 2.6 allows ``min(inter, timeout connect)`` only when ``timeout
  check`` is set too; without it ``inter`` bounds the whole check, the connection included. A
  server whose accept queue is full (``listen(0)`` with two connections waiting) drops the SYNs,
  so the check's connect hangs until that limit: the Layer4 timeout's check duration shows it.
* A server that resets the connection before any reply (a TLS server answering a plain HTTP
  check, or a scripted reset) is a socket error with the system's text, not an invalid response;
  a reply followed by a reset is judged on the reply.

Compared as in test_tcpcheck_vs_haproxy (per server the health-check log lines, show stat's
status, check_status, check_code, last_chk), plus the logged durations of the timeouts.
"""

from __future__ import annotations

import re
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterator

import pytest

from tests.integration.harness import require_haproxy, run_proxy
from tests.integration.test_protocol_checks_vs_haproxy import Scripted
from tests.integration.test_tcpcheck_vs_haproxy import Sink, _compare, show_stat
from tests.integration.tls_certs import Certs, certs  # noqa: F401 (the fixture)

_RST = struct.pack("ii", 1, 0)


def _reset(c: socket.socket, rx: list[bytes]) -> None:
    rx.append(c.recv(1000))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)


def _reply_then_reset(c: socket.socket, rx: list[bytes]) -> None:
    rx.append(c.recv(1000))
    c.sendall(b"HTTP/1.0 503 Busy\r\ncontent-length: 0\r\n\r\n")
    time.sleep(0.05)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)


def _tls(ctx: ssl.SSLContext) -> Callable[[socket.socket, list[bytes]], None]:
    def handle(c: socket.socket, rx: list[bytes]) -> None:
        try:
            with ctx.wrap_socket(c, server_side=True) as t:  # the plain request fails the handshake
                t.recv(100)
        except (ssl.SSLError, OSError):
            pass
    return handle


class FullQueue:
    """A listening socket whose accept queue is full: further SYNs are dropped, connects hang."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(2):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(f)
        time.sleep(0.1)

    def close(self) -> None:
        for f in self.fillers:
            f.close()
        self.sock.close()


def config(ports: dict[str, int], logport: int) -> str:
    def srv(names: str, inter: int = 1500) -> str:
        return "".join(f"    server {n} 127.0.0.1:{ports[n]} check inter {inter} fall 1\n" for n in names.split())
    return f"""global
    stats socket @DIR@/s.sock level admin
    log 127.0.0.1:{logport} local2
defaults
    mode tcp
    log global
    option log-health-checks
    timeout connect 300ms
    timeout client 5s
    timeout server 5s
backend t_plain
{srv("hang")}backend t_tcpchk
    option tcp-check
    tcp-check send PING\\r\\n
{srv("hang")}backend t_httpchk
    option httpchk
{srv("hang")}backend u_plain
    timeout check 1s
{srv("hang")}backend u_tcpchk
    timeout check 1s
    option tcp-check
{srv("hang")}backend u_httpchk
    timeout check 1s
    option httpchk
{srv("hang")}backend r_http
    option httpchk
{srv("tls reset replyreset", 400)}backend r_tcpchk
    option tcp-check
    tcp-check send PING\\r\\n
    tcp-check expect string +PONG
{srv("reset replyreset", 400)}"""


@pytest.fixture(scope="module")
def both(certs: Certs) -> Iterator[dict]:  # noqa: F811
    require_haproxy("haproxy")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs["ec.crt"], certs["ec.key"])
    servers = {"tls": Scripted(_tls(ctx)), "reset": Scripted(_reset), "replyreset": Scripted(_reply_then_reset)}
    hang = FullQueue()
    ports = {n: s.port for n, s in servers.items()}
    ports["hang"] = hang.port
    sinks = {w: Sink() for w in ("ours", "haproxy")}
    res: dict = {}
    try:
        with run_proxy(config(ports, sinks["ours"].port), which="ours") as ours, \
                run_proxy(config(ports, sinks["haproxy"].port), which="haproxy") as theirs:
            procs = {"ours": ours, "haproxy": theirs}
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:  # until every hanging check timed out on both
                if all(sum("Layer4 timeout" in ln for ln in s.lines) >= 6 for s in sinks.values()):
                    break
                time.sleep(0.2)
            time.sleep(0.5)
            snaps: dict[str, list] = {w: [] for w in procs}
            for _ in range(4):
                for w, pp in procs.items():
                    snaps[w].append(show_stat(pp.workdir / "s.sock"))
                time.sleep(0.2)
            errs = [pp.stderr_text() for pp in procs.values()]
        for w in procs:
            res[w] = (snaps[w], list(sinks[w].lines))
        res["stderr"] = ([], errs)
    finally:
        for s in sinks.values():
            s.close()
        for sc in servers.values():
            sc.close()
        hang.close()
    yield res


_TIMEOUT = re.compile(r"server (\w+)/\w+ failed, reason: Layer4 timeout.*?check duration: (\d+)ms")


def _durations(lines: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for ln in lines:
        m = _TIMEOUT.search(ln)
        if m and m.group(1) not in out:
            out[m.group(1)] = int(m.group(2))
    return out


@pytest.mark.needs_haproxy
def test_connect_timeout_is_inter_without_timeout_check_as_haproxy(both: dict) -> None:
    """``timeout connect 300ms``, inter 1.5 s: the hanging connect gives up after 1.5 s without
    ``timeout check`` (plain, tcp-check and HTTP checks), after 300 ms with it; same states."""
    _compare(both, ("t_", "u_"))
    ours = _durations(both["ours"][1])
    theirs = _durations(both["haproxy"][1])
    for be in ("t_plain", "t_tcpchk", "t_httpchk"):
        assert theirs[be] >= 1400 and 1400 <= ours[be] < 2500, (be, ours, theirs)
    for be in ("u_plain", "u_tcpchk", "u_httpchk"):
        assert theirs[be] < 1000 and 250 <= ours[be] < 1000, (be, ours, theirs)


@pytest.mark.needs_haproxy
def test_reset_before_a_reply_is_a_socket_error_as_haproxy(both: dict) -> None:
    """A plain HTTP check on a TLS port (the server resets on the failed handshake) and a reset
    without reply: SOCKERR "Connection reset by peer"; a 503 then a reset: judged on the 503."""
    _compare(both, ("r_",))
    stat = both["ours"][0][-1]
    assert stat[("r_http", "tls")]["check_status"].removeprefix("* ") == "SOCKERR", stat[("r_http", "tls")]
