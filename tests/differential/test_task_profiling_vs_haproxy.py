"""Task profiling fetches (cpu_calls, cpu_ns_avg, cpu_ns_tot, lat_ns_avg, lat_ns_tot) and
``profiling.tasks``, against 2.6, in HTTP and in TCP mode.

Both proxies run the same configuration: a request answered by ``http-request return`` reports the
counters as seen during its one call (1 call, no CPU time yet: the current call's time is added when
it ends), and the log line of each request reports them at its end (the call that logs included). What is compared is what 2.6
shows and what haproxy-py measures alike: the calls counted whether profiling is on or not, CPU time
0 under ``profiling.tasks off`` and positive under ``on``, ``cpu_ns_avg`` = ``cpu_ns_tot`` /
``cpu_calls``, more calls for a response streamed in many pieces than for a small one, and the CLI's
``set profiling tasks on|off`` switching the measurement at runtime. The latency (the wait of each
call between its wake-up and its run) likewise: 0 with profiling off, positive with it on for
streams woken by their sockets (the current call's wait included, as 2.6 adds it when the call
starts), ``lat_ns_avg`` = ``lat_ns_tot`` / ``cpu_calls``. In TCP mode 2.6 counts the calls of the
stream (its start, its connection, the end of each direction) but not the data it forwards: the
calls do not grow with the number of pieces exchanged. The numbers themselves are the machine's
(CPU time, callbacks) and are not compared for equality.
"""

from __future__ import annotations

import random
import re
import socket
import time

import pytest

from tests.conftest import free_port
from tests.integration.harness import (
    TcpServer,
    get,
    http_backends,
    recv_all,
    require_haproxy,
    run_proxy,
    wait_port,
)
from tests.integration.stats_client import admin_socket, stats_cli

pytestmark = pytest.mark.slow

CFG = """\
global
    stats socket @DIR@/admin.sock mode 600 level admin
    profiling.tasks {prof}
    # one thread: 2.6 updates each thread's profiling flag just before that thread polls, so an
    # idle second thread would still measure the first connection it takes after the CLI's switch
    nbthread 1
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    log stdout format raw local0
    option http-buffer-request
    log-format "LOG %HP calls=%[cpu_calls] avg=%[cpu_ns_avg] tot=%[cpu_ns_tot] lavg=%[lat_ns_avg] ltot=%[lat_ns_tot]"
    http-request return status 200 content-type text/plain lf-string "calls=%[cpu_calls] avg=%[cpu_ns_avg] tot=%[cpu_ns_tot] lat=%[lat_ns_tot]" if {{ path /ret }}
    default_backend be
backend be
    server s1 127.0.0.1:{srv}
"""

_LOG = re.compile(r"LOG (\S+) calls=(\d+) avg=(\d+) tot=(\d+) lavg=(\d+) ltot=(\d+)")
_RET = re.compile(rb"calls=1 avg=0 tot=0 lat=(\d+)")
BIG = 4 << 20


def _slow_big(rec):  # a response the proxy receives and forwards in many pieces
    return 200, [], b"x" * BIG


Log = tuple[str, int, int, int, int, int]


def _logs(pp, n: int, rx: re.Pattern[str] = _LOG) -> list[Log]:
    deadline = time.monotonic() + 10
    while True:
        found = [(m[1], *(int(x) for x in m.groups()[1:])) for m in rx.finditer(pp.stderr_text())]
        if len(found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _exchange(port: int) -> tuple[list[bytes], list[int]]:
    bodies = []
    for _ in range(3):
        st, _h, body = get(port, "/ret")
        assert st == 200
        bodies.append(body)
    sizes = []
    for path in ("/small", "/big"):
        st, _h, body = get(port, path, timeout=10)
        sizes.append(len(body))
    # a request body the proxy waits for (http-buffer-request), sent in pieces: a call for each
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"POST /post HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 40\r\n\r\n")
        for _ in range(4):
            time.sleep(0.05)
            c.sendall(b"y" * 10)
        sizes.append(len(recv_all(c)))
    return bodies, sizes


def _run(which: str, prof: str) -> tuple[list[bytes], list[Log], list[Log]]:
    port = free_port()
    with http_backends("s1") as (be,):
        be.behaviour = lambda rec: _slow_big(rec) if rec.start.split()[1] == b"/big" else (200, [], b"ok\n")
        with run_proxy(CFG.format(prof=prof, port=port, srv=be.port), which=which) as pp:
            wait_port(port, timeout=20)
            bodies, sizes = _exchange(port)
            assert sizes[:2] == [3, BIG] and sizes[2] > 0
            logs = _logs(pp, 6)
            # the CLI switches the measurement at runtime
            sock = admin_socket(pp)
            flip = "off" if prof == "on" else "on"
            assert stats_cli(sock, f"set profiling tasks {flip}").strip() == ""
            assert f": {flip} " in stats_cli(sock, "show profiling")
            get(port, "/small")
            after = _logs(pp, 7)[6:]
    return bodies, logs, after


@pytest.mark.parametrize("prof", ["on", "off"])
def test_task_profiling_fetches_as_haproxy(prof: str) -> None:
    require_haproxy("haproxy")
    for which in ("haproxy", "ours"):
        bodies, logs, after = _run(which, prof)
        # during the one call of a returned request: 1 call, no finished call to time yet, and
        # the wait of that call (when measured)
        rets = [_RET.fullmatch(b) for b in bodies]
        assert all(rets), (which, bodies)
        lats = [int(m[1]) for m in rets if m]
        assert all(x > 0 for x in lats) if prof == "on" else lats == [0, 0, 0], (which, bodies)
        assert [x[0] for x in logs] == ["/ret", "/ret", "/ret", "/small", "/big", "/post"], (which, logs)
        for path, calls, avg, tot, lavg, ltot in logs + after:
            assert calls >= 1, (which, path)
            assert avg == tot // calls, (which, path)
            assert lavg == ltot // calls, (which, path)
        small, big, post = logs[3], logs[4], logs[5]
        assert small[1] >= 2, (which, small)  # the request, then the server's response
        assert post[1] >= small[1] + 3, (which, small, post)  # each piece of the body waited for
        if prof == "on":
            # the log line counts the call that writes it (a returned request's one call too)
            assert all(x[3] > 0 for x in logs), (which, logs)
            assert big[3] > 0 and post[3] > 0, (which, small, big)
            assert all(x[5] > 0 for x in logs), (which, logs)  # every stream woken by its sockets
            assert after[0][3] == 0 and after[0][5] == 0, (which, after)  # switched off by the CLI
        else:
            assert all(x[3] == 0 and x[5] == 0 for x in logs), (which, logs)
            assert after[0][3] > 0 and after[0][5] > 0, (which, after)  # switched on by the CLI


TCP_CFG = """\
global
    profiling.tasks {prof}
    nbthread 1
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend ft
    bind 127.0.0.1:{port}
    log stdout format raw local0
    log-format "TLOG %ci calls=%[cpu_calls] avg=%[cpu_ns_avg] tot=%[cpu_ns_tot] lavg=%[lat_ns_avg] ltot=%[lat_ns_tot]"
{rules}    default_backend bt
backend bt
    server s1 127.0.0.1:{srv}
"""

_TLOG = re.compile(r"TLOG (\S+) calls=(\d+) avg=(\d+) tot=(\d+) lavg=(\d+) ltot=(\d+)")


class _Echo(TcpServer):
    def serve(self, c: socket.socket) -> None:
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)


def _echo_session(port: int, pieces: int, rng: random.Random) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        got = 0
        for _ in range(pieces):
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            c.sendall(data)
            want = got + len(data)
            buf = b""
            while got + len(buf) < want:  # each piece comes back before the next goes
                d = c.recv(65536)
                assert d
                buf += d
            got += len(buf)
        c.shutdown(socket.SHUT_WR)
        assert c.recv(10) == b""
        return got


_INSPECT = "    tcp-request inspect-delay 2s\n    tcp-request content accept if { req.len gt 0 }\n"


@pytest.mark.parametrize("rules", ["", _INSPECT], ids=["plain", "inspect"])
@pytest.mark.parametrize("prof", ["on", "off"])
def test_task_profiling_fetches_tcp_mode_as_haproxy(prof: str, rules: str) -> None:
    require_haproxy("haproxy")
    rng = random.Random(14)
    plan = [1, 12, rng.randrange(2, 12), 12]  # exchanges per session
    srv = _Echo()
    try:
        for which in ("haproxy", "ours"):
            port = free_port()
            with run_proxy(TCP_CFG.format(prof=prof, port=port, srv=srv.port, rules=rules), which=which) as pp:
                wait_port(port, timeout=20)
                # the probe's connection logs a line too: wait for it, then count from there
                first = len(_logs(pp, 1, _TLOG))
                for n in plan:
                    assert _echo_session(port, n, rng) > 0
                logs = _logs(pp, first + len(plan), _TLOG)[first:]
            assert len(logs) == len(plan), (which, logs)
            for _ip, calls, avg, tot, lavg, ltot in logs:
                # its start and its server connection at least (2.6 may see both ends at once)
                assert calls >= 2, (which, logs)
                assert avg == tot // calls and lavg == ltot // calls, (which, logs)
                if prof == "on":
                    assert tot > 0 and ltot > 0, (which, logs)
                else:
                    assert tot == 0 and ltot == 0, (which, logs)
            # the pieces forwarded are not calls of the stream: 1 or 12 exchanges, the same calls
            counts = sorted(line[1] for line in logs)
            assert counts[-1] - counts[0] <= 1, (which, plan, logs)
    finally:
        srv.close()
