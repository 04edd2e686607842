"""Stick tables with several workers (``nbthread 2``): one logical table (engine/tableshare.py,
stick/share.py). The same configuration runs in Debian's HAProxy 2.6, whose two threads share one
table: a rate limit of 10 requests/s allows exactly as many requests in both, sequential or in
concurrent bursts (generated: seeded concurrency and request counts), ``show table`` counts
every worker's requests, and ``stick on src`` sends a client to the same server whichever worker
accepts it.

Exactness: a worker pushes what it wrote at the end of its event-loop turn, but each increment
is also published at once in shared memory (stick/share.py Inflight), and a reader adds the other
workers' increments not pushed yet: a request is admitted on a count that includes every request
counted before it on any worker, as in 2.6 (without it: 10 to 16 allowed for 2.6's 10).
"""

from __future__ import annotations

import random
import re
import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import free_port
from tests.integration.harness import HTTP_DEFAULTS, http_backends, http_request, require_haproxy, run_proxy
from tests.integration.stats_client import stats_cli

N = 40
CONC = 8


def _cfg(port: int, sock: str) -> str:
    return ("global\n    nbthread 2\n    stats socket " + sock + " mode 600 level admin\n" + HTTP_DEFAULTS +
            f"frontend fe\n    bind 127.0.0.1:{port}\n"
            "    stick-table type ip size 100 expire 30s store http_req_rate(10s),http_req_cnt\n"
            "    http-request track-sc0 src\n"
            "    http-request deny if { sc_http_req_rate(0) gt 10 }\n"
            "    http-request return status 200 content-type text/plain string ok\n"
            "    http-after-response set-header x-w %[thread]\n")


def _one(port: int, src: str) -> tuple[bool, bytes]:
    raw = http_request(port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", source=src)
    m = re.search(rb"\r\nx-w: (\d+)", raw, re.I)
    assert m is not None, raw[:300]
    return raw.startswith(b"HTTP/1.1 200"), m.group(1)


def _warm(port: int) -> None:
    """Until both workers answered (from a source the tests do not measure): a worker may still
    be starting when the listener, bound by the master, already takes connections."""
    seen: set[bytes] = set()
    deadline = time.monotonic() + 10
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.add(_one(port, "127.0.0.2")[1])
        time.sleep(0.01)
    assert len(seen) == 2, seen


#: generated bursts: (concurrency, requests), seeded
PATTERNS = [(c, random.Random(c).randint(12, 40)) for c in (2, 4, CONC, 16)]


def _burst(port: int, src: str, conc: int = 1, n: int = N) -> tuple[int, dict[bytes, int]]:
    """``n`` requests, each on a new connection (the kernel gives each to one worker), ``conc``
    at a time; (allowed, how many each worker answered)."""
    if conc == 1:
        got = [_one(port, src) for _ in range(n)]
    else:
        with ThreadPoolExecutor(conc) as ex:
            got = list(ex.map(lambda _i: _one(port, src), range(n)))
    workers: dict[bytes, int] = {}
    for _ok, w in got:
        workers[w] = workers.get(w, 0) + 1
    return sum(ok for ok, _w in got), workers


def _run(which: str) -> tuple[int, dict[bytes, int], str, list[int]]:
    """A burst from one source; the kernel may give (nearly) all connections to one worker: then
    again from another source, 5 tries at most, keeping the first burst both workers shared."""
    port = free_port()
    with run_proxy(_cfg(port, "@DIR@/admin.sock"), wait_ports=[port], which=which) as pp:
        sock = str(pp.workdir / "admin.sock")
        _warm(port)
        for k in range(5):
            src = f"127.0.0.{81 + k}"
            t0 = time.monotonic()
            allowed, workers = _burst(port, src)
            assert time.monotonic() - t0 < 10
            if len(workers) == 2 and min(workers.values()) >= 2:
                break
        deadline = time.monotonic() + 5
        while (not re.search(f"key={re.escape(src)} use=0 exp=\\d+ http_req_cnt={N} ",
                             out := stats_cli(sock, f"show table fe key {src}"))
               and time.monotonic() < deadline):
            time.sleep(0.05)
        conc = [_burst(port, f"127.0.0.{91 + k}", c, n)[0] for k, (c, n) in enumerate(PATTERNS)]
        # show table after the bursts: every request of each counted once (the rate, read a
        # moment later, may differ by the sliding window's rounding)
        counts: dict[str, str] = {}
        deadline = time.monotonic() + 5
        want = {f"127.0.0.{91 + k}": str(n) for k, (_c, n) in enumerate(PATTERNS)}
        while time.monotonic() < deadline:
            counts = dict(re.findall(r"key=(127\.0\.0\.9\d) use=0 exp=\d+ http_req_cnt=(\d+) ",
                                     stats_cli(sock, "show table fe")))
            if counts == want:
                break
            time.sleep(0.05)
        assert counts == want, (which, counts, want)
        return allowed, workers, out.replace(src, "SRC"), conc


def test_rate_limit_holds_across_workers_as_in_haproxy() -> None:
    require_haproxy("haproxy")
    ours, workers, out, ours_conc = _run("ours")
    theirs, _w, ref, theirs_conc = _run("haproxy")
    assert ours == theirs == 10, (ours, theirs)
    assert ours_conc == theirs_conc == [10] * len(PATTERNS), (ours_conc, theirs_conc)
    # both workers answered a share (else nothing was shared)
    assert set(workers) == {b"0", b"1"} and min(workers.values()) >= 2, workers
    # show table: one entry, every worker's requests (the rate reads about N in the 10 s window)
    for text in (out, ref):
        m = re.search(r"key=SRC use=0 exp=\d+ http_req_cnt=(\d+) http_req_rate\(10000\)=(\d+)", text)
        assert m is not None, text
        assert int(m.group(1)) == N and N - 2 <= int(m.group(2)) <= N, text


def test_stick_on_src_same_server_whichever_worker() -> None:
    port = free_port()
    with http_backends("s1", "s2", "s3") as bes:
        servers = "".join(f"    server {b.name} 127.0.0.1:{b.port}\n" for b in bes)
        cfg = ("global\n    nbthread 2\n    stats socket @DIR@/admin.sock mode 600 level admin\n" + HTTP_DEFAULTS +
               f"frontend fe\n    bind 127.0.0.1:{port}\n    default_backend app\n"
               "backend app\n    balance roundrobin\n    stick-table type ip size 100 expire 30s\n"
               "    stick on src\n    http-response set-header x-w %[thread]\n    http-response set-header x-srv %s\n" + servers)
        with run_proxy(cfg, wait_ports=[port]) as pp:
            _warm(port)
            chosen: dict[str, set[str]] = {}
            seen: set[str] = set()
            for k in range(6):
                src = f"127.0.0.{100 + k}"
                chosen[src] = set()
                for _ in range(8):
                    raw = http_request(port, b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", source=src)
                    assert raw.startswith(b"HTTP/1.1 200"), raw[:200]
                    w = re.search(rb"\r\nx-w: (\d+)", raw, re.I)
                    assert w is not None
                    seen.add(w.group(1).decode())
                    srv = re.search(rb"\r\nx-srv: (\w+)", raw, re.I)
                    assert srv is not None
                    chosen[src].add(srv.group(1).decode())
                    time.sleep(0.02)  # more than a push takes
            assert seen == {"0", "1"}, seen
            out = stats_cli(str(pp.workdir / "admin.sock"), "show table app")
            assert "used:7" in out, out  # the 6 clients and _warm's
            for src, names in chosen.items():
                assert len(names) == 1, (src, names)
