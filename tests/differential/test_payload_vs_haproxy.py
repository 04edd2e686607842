"""Layer 5/6 fetches in mode tcp, differential: the client's bytes inspected by ``tcp-request
inspect-delay`` and ``tcp-request content`` rules (req.len, req.payload, req.payload_lv,
req.rdp_cookie, rdp_cookie_cnt, wait_end and the RDP_COOKIE / REQ_CONTENT / WAIT_END ACLs),
through Debian's HAProxy 2.6 and haproxy-py.

Each frontend pairs a waiting rule (``accept if COND``: the rules wait while COND fails on data
that may still grow, as 2.6's ACLs answer "missing data") with a predicate that picks the backend
once they are done: the server of ``yes`` answers ``Y``, the one of ``no`` answers ``N``, a
rejected connection gets nothing (``C``). Generated clients send RDP connection requests (with
``Cookie: mstshash=...`` in every spelling 2.6 reads or not), short and binary data, in one to
three pieces 300 ms apart, every case to every frontend at once (a few cases at a time, each on
its own connections; the two proxies side by side); what each got must agree. So the
predicate sees the data the rules stopped at: after the first piece that satisfied the waiting
condition, or everything when the delay (900 ms) expired.

2.6 first runs the rules when its stream starts, which is nearly always after the client's first
bytes were read, but not always: a rule that decides on an empty buffer (``accept unless { req.len
lt 8 }``) makes 2.6's answer depend on that race, so the rules here never decide on empty data.
haproxy-py runs them when the first bytes arrive.

The data never starts like an HTTP request: while it still might become one, haproxy-py's rules
wait for the head (its HTTP fetches need it), where 2.6 would evaluate payload-only rules at once.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import TcpServer, free_port, run_proxy

pytestmark = [pytest.mark.timeout(120), pytest.mark.needs_haproxy, pytest.mark.slow]

WAITS = [
    "tcp-request content accept if WAIT_END",
    "tcp-request content accept if { req.len ge 10 }",
    "tcp-request content accept if RDP_COOKIE",
    "tcp-request content accept if { req.payload(0,4) -m found }",
    "tcp-request content reject if { req.payload(0,1) -m bin 05 }\n"
    "    tcp-request content accept if { req.len ge 3 }",
    "tcp-request content accept unless { req.payload(0,1) -m bin 05 }",
    "tcp-request content accept if { req.payload_lv(2,2) -m found } || { wait_end }",
    "tcp-request content accept if { rdp_cookie_cnt(mstshash) eq 0 } REQ_CONTENT",
]

PREDICATES = [
    "{ req.len ge 12 }",
    "{ req_len gt 30 }",
    "{ req.payload(0,2) -m bin 0300 }",
    "{ payload(11,7) -m str Cookie: }",
    "{ req.payload(4,0) -m sub mstshash }",
    "{ req.payload_lv(2,2) -m found }",
    "{ payload_lv(0,1,+1) -m len 3 }",
    "{ req.payload_lv(1,1,4) -m found }",
    "{ req.rdp_cookie(mstshash) -m str alice }",
    "{ rdp_cookie -m found }",
    "{ req.rdp_cookie_cnt(mstshash) eq 1 }",
    "RDP_COOKIE",
]


#: the fetches these rules exercise (tests/unit/test_samples_fetch.py reads the names here)
EXERCISED = ("req.len", "req_len", "req.payload", "payload", "req.payload_lv", "payload_lv", "req.rdp_cookie",
             "rdp_cookie", "req.rdp_cookie_cnt", "rdp_cookie_cnt", "wait_end")


class _Banner(TcpServer):
    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        super().__init__(backlog=128)

    def serve(self, c: socket.socket) -> None:
        try:
            c.settimeout(3)
            c.sendall(self.reply)
            while c.recv(65536):
                pass
        except OSError:
            pass
        finally:
            c.close()


def _rdp(rng: random.Random) -> bytes:
    name = rng.choice(("alice", "bob", "x"))
    cookie = rng.choice((f"Cookie: mstshash={name}", f"cookie:   MSTSHASH={name}", f"Cookie: other={name}",
                         f"Cookie: mstshash{name}", f"Cookies: mstshash={name}", f"Cookie:mstshash={name}"))
    end = rng.choice(("\r\n", "\r\n", "\n", "\rx\n", ""))
    body = b"\x0e\xe0\x00\x00\x00\x00\x00" + (cookie + end).encode() + rng.choice((b"", b"\x01\x00\x08\x00"))
    return b"\x03\x00" + (len(body) + 4).to_bytes(2, "big") + body


def _cases(rng: random.Random, n: int) -> list[list[bytes]]:
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.55:
            data = _rdp(rng)
        elif r < 0.7:
            data = b"\x05" + bytes(rng.randrange(256) for _ in range(rng.randint(0, 20)))
        elif r < 0.85:
            data = bytes((rng.randrange(1, 32),)) + bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        else:
            data = rng.choice((b"\x03", b"\x03\x00\x00", b"\x01\x03ab", b"\x02\x00\x03abc"))
        cuts = sorted(rng.sample(range(1, len(data)), min(rng.randint(0, 2), len(data) - 1))) if len(data) > 1 else []
        pieces, last = [], 0
        for c in [*cuts, len(data)]:
            pieces.append(data[last:c])
            last = c
        out.append(pieces)
    return out


def _one(port: int, pieces: list[bytes], out: list[str], i: int) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            for k, p in enumerate(pieces):
                if k:
                    time.sleep(0.3)
                s.sendall(p)
            try:
                got = s.recv(1)
            except OSError:
                got = b""
            out[i] = got.decode() or "C"
    except OSError as e:
        out[i] = f"error {e}"


def _run(which: str, cases: list[list[bytes]], waits: list[str], predicates: list[str],
         batch: int) -> list[list[str]]:
    """What each case got from each frontend; ``batch`` cases at a time (each on its own
    connections to every frontend: cases do not share a connection or a timeline)."""
    yes, no = _Banner(b"Y"), _Banner(b"N")
    ports: list[int] = []
    while len(ports) < len(waits) * len(predicates):  # distinct: two binds on one port share it
        p = free_port()
        if p not in ports and p not in (yes.port, no.port):
            ports.append(p)
    lines = ["defaults", "    mode tcp", "    timeout client 5s", "    timeout server 5s", "    timeout connect 5s"]
    k = 0
    for w in waits:
        for p in predicates:
            lines += [f"frontend f{k}", f"    bind 127.0.0.1:{ports[k]}", "    tcp-request inspect-delay 900ms",
                      f"    {w}", f"    use_backend yes if {p}", "    default_backend no"]
            k += 1
    lines += ["backend yes", f"    server s 127.0.0.1:{yes.port}", "backend no", f"    server s 127.0.0.1:{no.port}", ""]
    results: list[list[str]] = []
    try:
        with run_proxy("\n".join(lines), wait_ports=ports, which=which):
            time.sleep(0.3)  # the start-up probes' sessions are over
            for start in range(0, len(cases), batch):
                group = cases[start:start + batch]
                got = [[""] * len(ports) for _ in group]
                threads = [threading.Thread(target=_one, args=(port, pieces, got[c], i))
                           for c, pieces in enumerate(group) for i, port in enumerate(ports)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(10)
                results += got
    finally:
        yes.close()
        no.close()
    return results


def _both(cases: list[list[bytes]], waits: list[str], predicates: list[str],
          batch: int) -> tuple[list[list[str]], list[list[str]]]:
    """(2.6's results, haproxy-py's): the two proxies run side by side, each with its own servers."""
    with ThreadPoolExecutor(2) as ex:
        theirs = ex.submit(_run, "haproxy", cases, waits, predicates, batch)
        ours = ex.submit(_run, "ours", cases, waits, predicates, batch)
        return theirs.result(), ours.result()


def test_payload_fetches_vs_haproxy() -> None:
    require_haproxy_bin()
    cases = [*_cases(random.Random(2606), 9), [b"\x05\x01", b"\x02xyz"]]  # and one rejected
    theirs, ours = _both(cases, WAITS, PREDICATES, 2)
    diffs = []
    for pieces, t, o in zip(cases, theirs, ours, strict=True):
        for k, (a, b) in enumerate(zip(t, o, strict=True)):
            if a != b:
                w, p = WAITS[k // len(PREDICATES)], PREDICATES[k % len(PREDICATES)]
                diffs.append(f"[{w}] then use_backend yes if {p}: 2.6 {a} ours {b} for {pieces!r}")
    assert not diffs, "\n".join(diffs[:25]) + f"\n({len(diffs)} differences)"
    text = " ".join(WAITS + PREDICATES)
    assert all(f"{name}(" in text or f"{name} " in text for name in EXERCISED)
    flat = [x for r in theirs for x in r]
    assert flat.count("Y") > 20 and flat.count("N") > 20 and "C" in flat, flat


DISTCC_WAITS = [
    "tcp-request content accept if { distcc_param(DONE) -m found }",
    "tcp-request content accept if { distcc_body(ARGV,2) -m found }",
]
DISTCC_TESTS = [
    ("distcc_param(DIST)", "eq 1"), ("distcc_param(ARGC)", "gt 2"), ("distcc_param(ARGV,2)", "eq 3"),
    ("distcc_body(ARGV,2)", "-m str cde"), ("distcc_body(ARGV)", "-m str ab"), ("distcc_param(ARGV,9)", "-m found"),
    ("distcc_body(DOTI)", "-m len 4"), ("distcc_param(DOTI)", "-m found"),
]
DISTCC_PREDICATES = [f"{{ {e} {m} }}" for e, m in DISTCC_TESTS]


def _distcc_case(rng: random.Random) -> list[bytes]:
    def tok(name: bytes, body: bytes | None, param: int | None = None) -> bytes:
        n = len(body) if body is not None else (param or 0)
        return name + (b"%08x" % n) + (body or b"")

    args = [rng.choice((b"ab", b"cde", b"f", b"-O2", b""))for _ in range(rng.randint(1, 4))]
    data = tok(b"DIST", None, rng.choice((1, 2))) + tok(b"ARGC", None, len(args))
    data += b"".join(tok(b"ARGV", a) for a in args)
    if rng.random() < 0.6:
        data += tok(b"DOTI", rng.choice((b"int main(){}", b"x=1;", b"")))
    if rng.random() < 0.7:
        data += tok(b"DONE", None, 1)
    if rng.random() < 0.1:
        data = data.replace(b"ARGC0000", b"ARGCzz00", 1)  # a bad parameter: never matches
    if rng.random() < 0.4:
        # cut before the second ARGV's body is whole: no waiting rule is satisfied by the first piece,
        # so every predicate sees both (a rule satisfied early would race with the second piece)
        first = data.find(b"ARGV")
        second = data.find(b"ARGV", first + 1)
        end = second + 12 + int(data[second + 4:second + 12], 16) if second >= 0 else len(data)
        cut = rng.randint(1, max(1, end - 1))
        return [data[:cut], data[cut:]]
    return [data]


def test_distcc_fetches_vs_haproxy() -> None:
    """distcc_param / distcc_body (token, occurrence) on generated DistCC streams (bodies or not
    per token, a bad parameter, streams cut in two pieces 300 ms apart, with or without DONE),
    waiting rules and predicates as in the payload test, through 2.6 and haproxy-py. A cut is
    always before what the waiting rules look for, so both proxies decide on the whole stream."""
    require_haproxy_bin()
    rng = random.Random(77)
    cases = [_distcc_case(rng) for _ in range(10)]
    theirs, ours = _both(cases, DISTCC_WAITS, DISTCC_PREDICATES, 5)
    assert ours == theirs, [(c, t, o) for c, t, o in zip(cases, theirs, ours, strict=True) if t != o][:4]
    flat = [x for r in theirs for x in r]
    assert flat.count("Y") > 12 and flat.count("N") > 12, flat
