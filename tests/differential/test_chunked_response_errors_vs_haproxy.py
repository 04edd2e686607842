"""Generated inputs, both programs: a server's chunked response body that turns invalid, through
Debian's HAProxy 2.6 and haproxy-py side by side.

Each case is a valid chunked body (tests/differential/test_http_defects_vs_haproxy.py's generator)
broken by one of its mutations (a size with '0x', '+' or blanks, an overflow, a missing CRLF after
the data, a bad extension, a garbage size) and sent by the server in two parts, cut anywhere after
the head, with a pause between. Where the error is in the bytes that came with the head, 2.6 makes
the response invalid before anything of it is forwarded (502, logged PH, the client connection
kept); where it comes later, the head and the valid chunks have gone, the connection closes
(logged SD). Both count an invalid response (``eresp``) and capture the buffer for ``show
errors``: what came with the head, or what its HTTP/1 layer held when the error came (a partial
chunk line, then the new bytes).

Compared per case: what the client received (header names lower-cased: haproxy-py keeps their case,
see README), whether the connection closed, the status, bytes and termination state of the log
line, the ``eresp`` counters and the ``show errors`` dump (without the dates, the source port and the
``H1 ...`` lines of 2.6's multiplexer state, which haproxy-py does not print), the error's position
included (the byte that broke the chunk line). Not compared: the chunk frames (the data is).
"""

from __future__ import annotations

import random
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from haproxy_py.http.body import dechunk
from tests.differential.test_http_defects_vs_haproxy import MUTATIONS, _chunk_parts
from tests.differential.test_response_body_vs_haproxy import PARTS, TwoParts
from tests.integration.harness import free_port, run_proxy, wait_files
from tests.integration.stats_client import stats_cli
from tests.integration.test_show_errors_vs_haproxy import _norm

pytestmark = [pytest.mark.timeout(240), pytest.mark.needs_haproxy]

HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
PAUSE = 0.25


def generated_case(rng: random.Random) -> tuple[bytes, bytes]:
    """(first part, second part) of a response whose chunked body is invalid somewhere."""
    name = rng.choice(sorted(MUTATIONS))
    body = MUTATIONS[name](_chunk_parts(rng), rng)
    cut = rng.choice([len(body), rng.randint(0, len(body))])  # a third of them whole with the head
    return HEAD + body[:cut], body[cut:]


class Parts(TwoParts):
    """Answers ``GET /N`` (X-Id: cr/N) with PARTS["cr/N"]: its first part, a pause, its second part,
    then closes."""

    linger = 0.3


CFG = """\
global
    stats socket @DIR@/s.sock level admin
defaults
    mode http
    log stdout format raw local0
    option httplog
    timeout connect 2s
    timeout client 3s
    timeout server 3s
    timeout http-keep-alive 3s
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    server s1 127.0.0.1:{be}
"""


def _exchange(port: int, n: int) -> tuple[bytes, bool]:
    """What the client got for ``GET /n`` (names lower-cased) and whether the proxy closed within
    a second of silence."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /%d HTTP/1.1\r\nHost: h\r\nX-Id: cr/%d\r\n\r\n" % (n, n))
    s.settimeout(PAUSE + 0.9)
    out, closed = b"", False
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            out += d
            h, sep, b = out.partition(b"\r\n\r\n")
            if sep and b"content-length: %d\r\n" % len(b) in h.lower() + b"\r\n":
                s.settimeout(0.3)  # a whole response (the 502): does the proxy close after it?
    except TimeoutError:
        pass
    except ConnectionResetError:
        closed = True
    finally:
        s.close()
    head, sep, body = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    lower = [lines[0]] + [k.lower() + b":" + v for k, _, v in (ln.partition(b":") for ln in lines[1:])]
    if b"transfer-encoding: chunked" in lower:
        body = dechunk(body)  # 2.6 sends what it buffered as one chunk, haproxy-py the server's chunks
    return b"\r\n".join(lower) + sep + body, closed


def _log_fields(text: str) -> list[tuple[str, str, str]]:
    """(status, bytes, termination state) of each httplog line."""
    out = []
    for ln in text.splitlines():
        f = ln.split()
        if len(f) > 8 and f[2] == "fe" and f[3] == "be/s1":
            out.append((f[5], f[6], f[9]))
    return out


def _run(which: str, cases: list[tuple[bytes, bytes]], port: int, backend: int) -> dict[str, object]:
    per_case = []
    with run_proxy(CFG.format(fe=port, be=backend), wait_ports=[port], which=which) as pp:
        sock = pp.workdir / "s.sock"
        wait_files([sock])
        for n in range(len(cases)):
            got = _exchange(port, n)
            time.sleep(0.05)
            stat = [ln.split(",")[:2] + [ln.split(",")[14]] for ln in stats_cli(str(sock), "show stat").splitlines()
                    if ln.startswith("be,")]
            per_case.append((got, stat, _norm(stats_cli(str(sock), "show errors"))))
        time.sleep(0.2)
        logs = _log_fields(pp.stderr_text())
    return {"cases": per_case, "logs": logs}


def test_generator_is_seeded_and_varied() -> None:
    a = [generated_case(random.Random(k)) for k in range(40)]
    assert a == [generated_case(random.Random(k)) for k in range(40)]
    assert len(set(a)) == 40 and sum(not second for _, second in a) > 5 and sum(bool(s) for _, s in a) > 15


@pytest.mark.parametrize("seed", [1, 2])
def test_chunked_response_errors_as_haproxy(seed: int) -> None:
    cases = [generated_case(random.Random(f"{seed}/{k}")) for k in range(14)]
    PARTS.update({f"cr/{n}": (first, second, PAUSE) for n, (first, second) in enumerate(cases)})
    srv = Parts()
    try:
        with ThreadPoolExecutor(1) as pool:
            ref_f = pool.submit(_run, "haproxy", cases, free_port(), srv.port)
            ours = _run("ours", cases, free_port(), srv.port)
            ref = ref_f.result()
    finally:
        srv.close()
    for n, (r, o) in enumerate(zip(ref["cases"], ours["cases"], strict=True)):  # type: ignore[call-overload]
        assert o == r, f"case {n}: {cases[n]!r}\n 2.6:  {r}\n ours: {o}"
    assert ours["logs"] == ref["logs"]
    # both kinds of outcome were reached: an invalid response (502 PH) and a body cut (SD)
    states = {(status, term) for status, _, term in ref["logs"]}  # type: ignore[attr-defined]
    assert ("502", "PH--") in states and ("200", "SD--") in states, states
