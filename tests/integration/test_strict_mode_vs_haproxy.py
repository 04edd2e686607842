"""http-request header rewrites that do not fit, and ``http-request strict-mode on|off``, side by
side with Debian's HAProxy 2.6 (``tune.bufsize 4096``, ``tune.maxrewrite 256``: heads big enough to leave any room).

Seeded generated requests: a padding header whose length puts the head just under or over the
room each rule needs (http/htx.py request_room), several add-header/set-header rules in the
frontend and in a backend, strict-mode off in either rule set or none. Compared per request: the
status the client got, the headers the server saw, the log line; at the end the frontend's and
backends' wrew, eint, hrsp_5xx and dreq (and the listener's: option socket-stats). It shows that strict-mode is reset for each rule set (the
frontend's ``off`` does not reach the backend's rules) and that a failing ``set-header`` still
removed the old values.
"""

from __future__ import annotations

import random
import socket

import pytest

from haproxy_py.http import htx
from tests.integration.harness import HttpBackend, free_port, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli
from tests.integration.syslog_sinks import recv_until_quiet, udp_sink

LA, LB, LC, LP, LR = 1100, 600, 700, 800, 900
HEADS = ("x-a", "x-b", "x-c", "x-pad", "x-rep", "x-del")


def _cfg(fe: int, srv: int, logp: int) -> str:
    return f"""
global
    tune.bufsize 4096
    tune.maxrewrite 256
    stats socket @DIR@/admin.sock level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    log 127.0.0.1:{logp} local0
    log-format "%HU %ST %B %tsc %b/%s"
frontend fe
    bind 127.0.0.1:{fe}
    option socket-stats
    http-request strict-mode off if {{ req.hdr(x-soft) -m found }}
    http-request del-header x-del if {{ req.hdr(x-want-d) -m found }}
    http-request add-header X-A {'a' * LA} if {{ req.hdr(x-want-a) -m found }}
    http-request set-header X-B {'b' * LB} if {{ req.hdr(x-want-b) -m found }}
    http-request replace-header x-rep (.*) {'r' * LR} if {{ req.hdr(x-want-r) -m found }}
    http-request set-path /b2/{'p' * LP} if {{ req.hdr(x-want-p) -m found }}
    use_backend be2 if {{ path_beg /b2 }}
    default_backend be
backend be
    server s1 127.0.0.1:{srv}
backend be2
    http-request add-header X-C {'c' * LC} if {{ req.hdr(x-want-c) -m found }}
    http-request strict-mode off if {{ req.hdr(x-bsoft) -m found }}
    http-request add-header X-C {'c' * LC} if {{ req.hdr(x-want-c2) -m found }}
    server s1 127.0.0.1:{srv}
"""


def _cases(n: int, seed: int) -> list[tuple[str, list[tuple[str, str]]]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        path = f"/b2/{i}" if rnd.random() < 0.5 else f"/{i}"
        hdrs = [("host", "t")]
        if rnd.random() < 0.5:  # a header del-header removes (its data is room again)
            hdrs.append(("x-del", "d" * rnd.randint(1, 200)))
        for flag in ("x-soft", "x-want-d", "x-want-a", "x-want-b", "x-want-r", "x-want-p"):
            if rnd.random() < 0.4:
                hdrs.append((flag, "1"))
        if rnd.random() < 0.7:
            hdrs.append(("x-rep", "q" * rnd.randint(1, 5)))
        if path.startswith("/b2"):
            for flag in ("x-bsoft", "x-want-c", "x-want-c2"):
                if rnd.random() < 0.5:
                    hdrs.append((flag, "1"))
        if rnd.random() < 0.4:  # an X-B that set-header replaces (its room comes back)
            hdrs.append(("x-b", "o" * rnd.randint(1, 300)))
        # a padding that puts the room right around one rule's need (or two rules' needs)
        base = htx.request_room(4096, b"GET", path.encode(), b"HTTP/1.1",
                                [(k.encode(), v.encode()) for k, v in hdrs + [("x-pad", "")]])
        # the room each enabled rule takes, in rule order: aim at the limit of one of them
        have = dict(hdrs)
        takes = []
        if "x-want-d" in have and "x-del" in have:
            takes.append(-(5 + len(have["x-del"])))
        if "x-want-a" in have:
            takes.append(8 + 3 + LA)
        if "x-want-b" in have:
            takes.append(8 + 3 + LB - (8 + 3 + len(have["x-b"]) if "x-b" in have else 0))
        if "x-want-r" in have and "x-rep" in have:
            takes.append(LR - len(have["x-rep"]))
        if "x-want-p" in have:
            takes.append(4 + LP - len(path))
        if path.startswith("/b2") or "x-want-p" in have:
            takes += [8 + 3 + LC] * (("x-want-c" in have) + ("x-want-c2" in have))
        sums = [x for x in (sum(takes[:k + 1]) for k in range(len(takes))) if x > 200] or [8 + 3 + LA]
        need = rnd.choice(sums)
        pad = max(1, base - need + rnd.randint(-3, 3))
        hdrs.append(("x-pad", "p" * pad))
        out.append((path, hdrs))
    return out


def _send(port: int, path: str, hdrs: list[tuple[str, str]]) -> bytes:
    raw = (f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs)
           + "connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        got = b""
        while True:
            try:
                d = s.recv(65536)
            except TimeoutError:
                break
            if not d:
                break
            got += d
    return got.split(b"\r\n", 1)[0]


def _stat_rows(sock: str) -> dict[str, tuple[str, ...]]:
    lines = stats_cli(sock, "show stat").splitlines()
    head = lines[0][2:].split(",")
    rows = {}
    for ln in lines[1:]:
        if not ln:
            continue
        r = dict(zip(head, ln.split(","), strict=False))
        rows[f"{r['pxname']}/{r['svname']}"] = tuple(r[k] for k in ("wrew", "eint", "hrsp_5xx", "dreq"))
    return rows


def _run(which: str, cases: list[tuple[str, list[tuple[str, str]]]]) -> tuple[list, list, dict]:
    srv = HttpBackend("s1").start()
    sink, logp = udp_sink(timeout=5)
    fe = free_port()
    try:
        with run_proxy(_cfg(fe, srv.port, logp), wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            seen = []
            for path, hdrs in cases:
                before = len(srv.requests)
                status = _send(fe, path, hdrs)
                got = srv.requests[before:]
                saw = None
                if got:
                    saw = (len(got[0].start),) + tuple(
                        (h, len(got[0].header_all(h)), sum(map(len, got[0].header_all(h)))) for h in HEADS)
                seen.append((path, status, saw))
            logs = sorted(d.decode(errors="replace").split(": ", 1)[-1]
                          for d in recv_until_quiet(sink, 1.0))
            return seen, logs, _stat_rows(sock)
    finally:
        sink.close()
        srv.stop()


@pytest.mark.slow
def test_request_strict_mode_as_haproxy() -> None:
    require_haproxy("haproxy")
    cases = _cases(50, 1501)
    ref = _run("haproxy", cases)
    ours = _run("ours", cases)
    statuses = {s for _p, s, _ in ref[0]}
    assert any(b" 500 " in s for s in statuses) and any(b" 200 " in s for s in statuses), statuses
    for (p, rs, rsaw), (_p, os_, osaw) in zip(ref[0], ours[0], strict=True):
        assert (rs, rsaw) == (os_, osaw), p
    assert ours[1] == ref[1]
    assert ours[2] == ref[2]


LD, LE, LF, LG = 900, 700, 500, 3950
RHEADS = ("x-d", "x-e", "x-f", "x-g", "x-rpad")


def _rcfg(fe: int, srv: int, logp: int) -> str:
    return f"""
global
    tune.bufsize 4096
    tune.maxrewrite 256
    stats socket @DIR@/admin.sock level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    log 127.0.0.1:{logp} local0
    log-format "%HU %ST %B %tsc %b/%s"
frontend fe
    bind 127.0.0.1:{fe}
    option socket-stats
    http-request set-var(txn.f) req.hdr(x-flags)
    http-response strict-mode off if {{ var(txn.f) -m sub s }}
    http-response add-header X-D {'d' * LD} if {{ var(txn.f) -m sub d }}
    http-after-response strict-mode off if {{ var(txn.f) -m sub t }}
    http-after-response add-header X-E {'e' * LE} if {{ var(txn.f) -m sub e }}
    http-after-response add-header X-G {'g' * LG} if {{ var(txn.f) -m sub g }}
    default_backend rb
backend rb
    http-response strict-mode off if {{ var(txn.f) -m sub b }}
    http-response set-header X-F {'f' * LF} if {{ var(txn.f) -m sub f }}
    server s1 127.0.0.1:{srv}
"""


def _rcases(n: int, seed: int) -> list[tuple[str, list[tuple[str, str]]]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        flags = "".join(c for c in "sdtebf" if rnd.random() < 0.5)
        if rnd.random() < 0.15:
            flags += "g"
        hdrs = [("host", "t"), ("x-flags", flags or "-")]
        srv_hdrs = [(b"X-Server", b"s1"), (b"Content-Length", b"0")]
        if rnd.random() < 0.4:  # an X-F that set-header replaces
            of = rnd.randint(1, 300)
            hdrs.append(("x-of", str(of)))
            srv_hdrs.append((b"x-f", b"o" * of))
        base = htx.response_room(4096, b"HTTP/1.1", b"OK", srv_hdrs + [(b"x-rpad", b"")])
        need = rnd.choice([8 + 3 + LD, 8 + 3 + LE, 8 + 3 + LF, 16 + 6 + LD + LE, 16 + 6 + LF + LD])
        hdrs.append(("x-r", str(max(1, base - need + rnd.randint(-3, 3)))))
        out.append((f"/{i}", hdrs))
    return out


def _rbehaviour(r) -> tuple[int, list[tuple[str, str]], bytes]:  # type: ignore[no-untyped-def]
    hdrs = []
    if r.header("x-of"):
        hdrs.append(("x-f", "o" * int(r.header("x-of"))))
    hdrs.append(("x-rpad", "r" * int(r.header("x-r") or 1)))
    return 200, hdrs, b""


def _rsend(port: int, path: str, hdrs: list[tuple[str, str]]) -> tuple[bytes, tuple]:
    import io

    from tests.integration.harness import read_http_message

    raw = (f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs)
           + "connection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        got = b""
        while True:
            try:
                d = s.recv(65536)
            except TimeoutError:
                break
            if not d:
                break
            got += d
    start, rh, body = read_http_message(io.BytesIO(got), response=True)
    seen = tuple((h, sum(len(v) for k, v in rh if k.lower() == h)) for h in RHEADS)
    return start, (seen, len(body))


def _rrun(which: str, cases: list[tuple[str, list[tuple[str, str]]]]) -> tuple[list, list, dict]:
    srv = HttpBackend("s1", behaviour=_rbehaviour).start()
    sink, logp = udp_sink(timeout=5)
    fe = free_port()
    try:
        with run_proxy(_rcfg(fe, srv.port, logp), wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)
            seen = [(path, *_rsend(fe, path, hdrs)) for path, hdrs in cases]
            logs = sorted(d.decode(errors="replace").split(": ", 1)[-1]
                          for d in recv_until_quiet(sink, 1.0))
            return seen, logs, _stat_rows(sock)
    finally:
        sink.close()
        srv.stop()


@pytest.mark.slow
def test_response_strict_mode_as_haproxy() -> None:
    """http-response (backend's then frontend's) and http-after-response rewrites around the
    limit of the server's response, strict-mode off in each: a failure with strict-mode on is a
    500 logged PH (its after-response rules run on the 500 again: X-G fails there too, wrew 2)."""
    require_haproxy("haproxy")
    cases = _rcases(40, 1502)
    ref = _rrun("haproxy", cases)
    ours = _rrun("ours", cases)
    statuses = {s for _p, s, _ in ref[0]}
    assert any(b" 500 " in s for s in statuses) and any(b" 200 " in s for s in statuses), statuses
    for (p, rs, rsaw), (_p, os_, osaw) in zip(ref[0], ours[0], strict=True):
        assert (rs, rsaw) == (os_, osaw), (p, cases[int(p[1:])])
    assert ours[1] == ref[1]
    assert ours[2] == ref[2]
