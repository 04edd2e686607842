"""HTTP features, differential: ``monitor-uri`` / ``monitor fail``, ``unique-id-format`` /
``unique-id-header`` (and the ``unique-id`` fetch, ``%ID``), ``option originalto``. One
configuration run by Debian's HAProxy 2.6 and by haproxy-py, each with its own recording backend;
every request goes to both and we compare what the client got, what the server saw, the log lines
and the counters. Inputs are generated (seeded): URIs around the monitor URI, header values and
paths in the unique id, destination addresses set by rules around the ``except`` networks.

Normalised (only this): header-name case (2.6 lower-cases names, haproxy-py keeps them: see
test_http_vs_haproxy.py) and responses' ``connection`` header (compared by test_http_vs_haproxy.py).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import require_haproxy_bin
from tests.differential.test_actions_vs_haproxy import _norm_response, _seen, _send
from tests.integration.harness import HttpBackend, free_port, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

pytestmark = [pytest.mark.timeout(180), pytest.mark.needs_haproxy]

CFG = r"""
global
    stats socket @DIR@/admin.sock level admin
    log stderr format raw local0
    expose-experimental-directives
defaults
    mode http
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s

defaults mon
    mode http
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    monitor-uri /inherited

defaults
    mode http
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend femon
    bind 127.0.0.1:{mon}
    log-format "MON %HU %ST"
    monitor-uri /health
    acl down req.hdr(x-down) -m found
    monitor fail if down
    monitor fail if {{ req.hdr(x-fail2) -m str yes }}
    http-request deny if {{ path /health }}
    http-request set-header X-Rules ran
    http-after-response set-header X-After mon
    default_backend be

frontend femon2
    bind 127.0.0.1:{mon2}
    log-format "MON2 %HU %ST"
    monitor-uri http://www.example.com/up
    monitor fail unless {{ nbsrv(be) ge 1 }} {{ req.hdr(x-ok) -m found }}
    default_backend be

frontend femon3 from mon
    bind 127.0.0.1:{mon3}
    log-format "MON3 %HU %ST"
    errorfile 200 @DIR@/e200.http
    default_backend be

frontend feuid
    bind 127.0.0.1:{uid}
    log-format "UID %ID|%HU"
    unique-id-format "%[path]|%[req.hdr(x-a)]|%[var(txn.v)]|%b|%{{+Q}}r|%{{+X}}o%ci:%fi|%s"
    unique-id-header X-Unique-ID
    http-request set-var(txn.v) str(fe)
    http-request set-header X-Early "%[unique-id]" if {{ path_beg /early }}
    http-request set-header X-Lf "[%ID]"
    http-request set-path /rewritten%[path] if {{ path_beg /rw }}
    http-request deny if {{ path_beg /deny }}
    http-response set-header X-Res-ID "%[unique-id]"
    default_backend beuid

frontend feuid2
    bind 127.0.0.1:{uid2}
    log-format "UID2 %ID|%HU|%ST"
    unique-id-format "%[path]-%[var(txn.v)]-%ST"
    default_backend beuid

backend beuid
    http-request set-var(txn.v) str(be)
    http-response set-header X-Res-ID2 "%[unique-id]"
    server s1 127.0.0.1:{srv}

frontend feot
    bind 127.0.0.1:{ot}
    option originalto
    option forwardfor
    http-request set-dst hdr(x-dst) if {{ req.hdr(x-dst) -m found }}
    use_backend beot if {{ path_beg /be }}
    default_backend be

frontend feot2
    bind 127.0.0.1:{ot2}
    option originalto except 10.0.0.0/8 header X-Dst-Fe
    http-request set-dst hdr(x-dst) if {{ req.hdr(x-dst) -m found }}
    use_backend beot if {{ path_beg /be }}
    default_backend be

backend beot
    option originalto except 192.168.0.0/16 header X-Dst-Be
    server s1 127.0.0.1:{srv}

frontend febuf
    bind 127.0.0.1:{buf}
    log-format "BUF %ST %HU %B %U %ts"
    timeout http-request 600ms
    option http-buffer-request
    http-request set-header X-Body "%[req.body]|%[req.body_len]|%[req.body_size]|%[req.body_param(a)]"
    http-request deny if {{ req.body -m sub evil }}
    use_backend bebuf if {{ path_beg /be }}
    default_backend be

frontend fewait
    bind 127.0.0.1:{wait}
    log-format "WAIT %ST %HU %B %U %ts"
    timeout http-request 5s
    http-request set-header X-Body1 "%[req.body]|%[req.body_len]|%[req.body_size]"
    http-request wait-for-body time 600ms at-least 6 if {{ path_beg /w }}
    http-request set-header X-Body2 "%[req.body]|%[req.body_len]|%[req.body_param(b)]"
    use_backend bebuf if {{ path_beg /be }}
    default_backend be

backend bebuf
    option http-buffer-request
    timeout http-request 600ms
    http-request set-header X-Be-Body "%[req.body]|%[req.body_param(a)]"
    http-request wait-for-body time 600ms if {{ path_beg /bew }}
    http-request set-header X-Be-Body2 "%[req.body_len]"
    server s1 127.0.0.1:{srv}

frontend femap
    bind 127.0.0.1:{map}
    http-request set-var(txn.k) req.hdr(x-k)
    http-request set-map(@TMP@/hf.map) %[req.hdr(x-k)] %[req.hdr(x-v)] if {{ path /set }}
    http-request del-map(@TMP@/hf.map) %[req.hdr(x-k)] if {{ path /del }}
    http-request add-acl(@TMP@/hf.acl) %[req.hdr(x-k)] if {{ path /aadd }}
    http-request del-acl(@TMP@/hf.acl) %[req.hdr(x-k)] if {{ path /adel }}
    http-request set-map(@TMP@/never-loaded.map) %[req.hdr(x-k)] x if {{ path /set }}
    http-request return status 200 content-type text/plain lf-string "[%[req.hdr(x-k),map(@TMP@/hf.map,none)]]" if {{ path /get }}
    http-request return status 200 content-type text/plain string yes if {{ path /acl }} {{ req.hdr(x-k) -f @TMP@/hf.acl }}
    http-request return status 200 content-type text/plain string no if {{ path /acl }}
    http-response set-map(@TMP@/hf.map) %[var(txn.k)] from-response if {{ var(txn.k) -m beg r }}
    http-response del-acl(@TMP@/hf.acl) %[var(txn.k)] if {{ var(txn.k) -m beg r }}
    default_backend be

frontend fecap
    bind 127.0.0.1:{cap}
    log-format "CAP %hr | %hs | %[capture.req.hdr(0)] %[capture.req.hdr(2)] %[capture.res.hdr(1)] %{{+Q}}hrl"
    capture request header Host len 10
    declare capture request len 4
    http-request capture req.hdr(x-a) len 3
    http-request capture path id 1 if {{ path_beg /p }}
    capture response header X-Server len 5
    declare capture response len 8
    http-response capture res.hdr(content-length) id 1
    declare capture response len 6
    http-response capture var(txn.t) id 2
    http-request set-var(txn.t) req.hdr(x-t)
    http-request set-header X-C "%[capture.req.hdr(2)]"
    default_backend becap

backend becap
    http-request capture req.hdr(x-b) id 1 if {{ req.hdr(x-b) -m found }}
    http-response capture status id 0 if {{ var(txn.t) -m found }}
    server s1 127.0.0.1:{srv}

frontend fenorm
    bind 127.0.0.1:{norm}
    http-request set-uri %[req.hdr(x-uri)]
    http-request normalize-uri path-merge-slashes if {{ req.hdr(x-n),word(1,+) -m str 0 }}
    http-request normalize-uri path-merge-slashes if {{ req.hdr(x-n),word(2,+) -m str 0 }}
    http-request normalize-uri path-strip-dot if {{ req.hdr(x-n),word(1,+) -m str 1 }}
    http-request normalize-uri path-strip-dot if {{ req.hdr(x-n),word(2,+) -m str 1 }}
    http-request normalize-uri path-strip-dotdot if {{ req.hdr(x-n),word(1,+) -m str 2 }}
    http-request normalize-uri path-strip-dotdot if {{ req.hdr(x-n),word(2,+) -m str 2 }}
    http-request normalize-uri path-strip-dotdot full if {{ req.hdr(x-n),word(1,+) -m str 3 }}
    http-request normalize-uri path-strip-dotdot full if {{ req.hdr(x-n),word(2,+) -m str 3 }}
    http-request normalize-uri percent-decode-unreserved if {{ req.hdr(x-n),word(1,+) -m str 4 }}
    http-request normalize-uri percent-decode-unreserved if {{ req.hdr(x-n),word(2,+) -m str 4 }}
    http-request normalize-uri percent-decode-unreserved strict if {{ req.hdr(x-n),word(1,+) -m str 5 }}
    http-request normalize-uri percent-decode-unreserved strict if {{ req.hdr(x-n),word(2,+) -m str 5 }}
    http-request normalize-uri percent-to-uppercase if {{ req.hdr(x-n),word(1,+) -m str 6 }}
    http-request normalize-uri percent-to-uppercase if {{ req.hdr(x-n),word(2,+) -m str 6 }}
    http-request normalize-uri percent-to-uppercase strict if {{ req.hdr(x-n),word(1,+) -m str 7 }}
    http-request normalize-uri percent-to-uppercase strict if {{ req.hdr(x-n),word(2,+) -m str 7 }}
    http-request normalize-uri query-sort-by-name if {{ req.hdr(x-n),word(1,+) -m str 8 }}
    http-request normalize-uri query-sort-by-name if {{ req.hdr(x-n),word(2,+) -m str 8 }}
    http-request normalize-uri fragment-strip if {{ req.hdr(x-n),word(1,+) -m str 9 }}
    http-request normalize-uri fragment-strip if {{ req.hdr(x-n),word(2,+) -m str 9 }}
    http-request normalize-uri fragment-encode if {{ req.hdr(x-n),word(1,+) -m str 10 }}
    http-request normalize-uri fragment-encode if {{ req.hdr(x-n),word(2,+) -m str 10 }}
    http-request normalize-uri percent-to-uppercase
    default_backend be

backend be
    server s1 127.0.0.1:{srv}
"""

PORTS = ("mon", "mon2", "mon3", "uid", "uid2", "ot", "ot2", "buf", "wait", "map", "cap", "norm")
E200 = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Page: custom\r\nContent-Length: 3\r\n\r\nok\n"


@contextlib.contextmanager
def _side(which: str) -> Iterator[dict[str, Any]]:
    be = HttpBackend("s1")
    be.start()
    ports = {k: free_port() for k in PORTS}
    try:
        import tempfile

        text = CFG.format(srv=be.port, **ports).replace("@TMP@", tempfile.gettempdir() + "/hpy-hf-" + which)
        with run_proxy(text.replace("@DIR@/e200.http", "@DIR@/../e200-" + which + ".http"),
                       wait_ports=list(ports.values()), which=which) as pp:
            yield {"ports": ports, "backend": be, "proxy": pp, "sock": admin_socket(pp)}
    finally:
        be.stop()


@pytest.fixture(scope="module")
def sides() -> Iterator[dict[str, dict[str, Any]]]:
    require_haproxy_bin()
    import tempfile
    from pathlib import Path

    # the errorfile sits next to the proxies' work directories (run_proxy makes them in tempdir)
    made = []
    for which in ("haproxy", "ours"):
        p = Path(tempfile.gettempdir()) / f"e200-{which}.http"
        p.write_bytes(E200)
        made.append(p)
        for name, text in (("hf.map", "k1 v1\nk2 v2\nr1 x\n"), ("hf.acl", "a1\nr2\n")):
            f = Path(tempfile.gettempdir()) / f"hpy-hf-{which}" / name
            f.parent.mkdir(exist_ok=True)
            f.write_text(text)
            made.append(f)
    try:
        with _side("haproxy") as theirs, _side("ours") as ours:
            yield {"haproxy": theirs, "ours": ours}
    finally:
        for p in made:
            p.unlink(missing_ok=True)


#: the two sides of an exchange (each its own proxy and backend) run at the same time
_POOL = ThreadPoolExecutor(2)


def _exchange(sides: dict[str, dict[str, Any]], port: str, raw: bytes) -> dict[str, Any]:
    def one(side: dict[str, Any]) -> tuple[Any, Any]:
        side["backend"].requests.clear()
        resp = _send(side["ports"][port], raw)
        time.sleep(0.03)
        return _norm_all(resp), _seen(side["backend"])

    futs = {name: _POOL.submit(one, side) for name, side in sides.items()}
    out = {name: f.result() for name, f in futs.items()}
    theirs, ours = out["haproxy"], out["ours"]
    assert ours[0] == theirs[0], f"response differs for {raw!r}:\n2.6:  {theirs[0]}\nours: {ours[0]}"
    assert ours[1] == theirs[1], f"server saw differs for {raw!r}:\n2.6:  {theirs[1]}\nours: {ours[1]}"
    return {"responses": ours[0], "seen": ours[1]}


def _norm_all(data: bytes | str) -> Any:
    """Every response in ``data`` (pipelined requests get several)."""
    if isinstance(data, str) or not data:
        return [_norm_response(data)]
    out = []
    rest = data
    while rest:
        end = rest.find(b"\r\n\r\n")
        if end < 0:
            out.append(("partial", rest))
            break
        head = rest[:end + 4]
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        one, rest = rest[:end + 4 + length], rest[end + 4 + length:]
        out.append(_norm_response(one))
    return out


def _log_lines(side: dict[str, Any], tag: str) -> list[str]:
    return [ln.strip() for ln in side["proxy"].stderr_text().splitlines() if ln.startswith(tag + " ")]


def _settled_logs(sides: dict[str, Any], *tags: str, timeout: float = 10.0) -> dict[str, tuple[list[str], list[str]]]:
    """tag -> (2.6's lines, ours) once the two are equal for every tag: a proxy writes a line
    when its stream ends, which can be after the client had its response and, on a loaded
    machine, later than the 0.3 s these tests used to wait. At least 0.3 s, at most ``timeout``:
    what is returned then is compared by the caller (a real difference still fails). Sorted: the
    requests go over connections of their own and a proxy may log one just after closing it, so
    two sessions' lines can come in either order (2.6 runs two threads); what is compared is
    which lines each proxy wrote."""
    time.sleep(0.3)
    deadline = time.monotonic() + timeout
    while True:
        got = {t: (sorted(_log_lines(sides["haproxy"], t)), sorted(_log_lines(sides["ours"], t))) for t in tags}
        if all(a == b for a, b in got.values()) or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def _stat(side: dict[str, Any], px: str) -> dict[str, str]:
    lines = stats_cli(side["sock"], "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    for ln in lines[1:]:
        v = ln.split(",")
        if len(v) > 1 and v[0] == px and v[1] == "FRONTEND":
            return dict(zip(head, v, strict=False))
    raise AssertionError(f"no FRONTEND row for {px}")


def _req(method: str, uri: str, version: str = "1.1", headers: str = "", close: bool = True) -> bytes:
    host = "www.example.com" if "//www.example.com" in uri else "h"
    h = f"Host: {host}\r\n" if version == "1.1" else ""
    return (f"{method} {uri} HTTP/{version}\r\n{h}{headers}" + ("Connection: close\r\n" if close else "")
            + "\r\n").encode("latin-1")


def test_monitor_uri_as_haproxy(sides) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(2615)
    uris = ["/health", "/Health", "/health?x=1", "/health/", "/healt", "/health#f", "/", "/x",
            "http://h/health", "http://www.example.com/up", "/up", "http://www.example.com/up?q",
            "/inherited", "/inherited?a"]
    before = {n: {p: _stat(s, p) for p in ("femon", "femon2", "femon3")} for n, s in sides.items()}
    served_monitor = 0
    for _ in range(40):
        port = rng.choice(("mon", "mon2", "mon3"))
        own = {"mon": "/health", "mon2": "http://www.example.com/up", "mon3": "/inherited"}[port]
        uri = own if rng.random() < 0.5 else rng.choice(uris)
        method = rng.choice(("GET", "GET", "HEAD", "POST"))
        version = rng.choice(("1.1", "1.1", "1.0"))
        hdrs = "".join(rng.sample(["X-Down: 1\r\n", "X-Fail2: yes\r\n", "X-Fail2: no\r\n", "X-Ok: 1\r\n"],
                                  rng.randint(0, 2)))
        if method == "POST":
            hdrs += "Content-Length: 0\r\n"
        r = _exchange(sides, port, _req(method, uri, version, hdrs))
        status = r["responses"][0][0] if isinstance(r["responses"][0], tuple) else ""
        if not r["seen"] and status[9:12] in ("200", "503"):
            served_monitor += 1
    # pipelined: a monitor request then a normal one on the same connection
    r = _exchange(sides, "mon", _req("GET", "/health", close=False) + _req("GET", "/next"))
    assert len(r["responses"]) == 2 and r["seen"][0][0] == "GET /next HTTP/1.1"
    assert served_monitor >= 5  # the generator reached the monitor URI
    # the expected effect on its own: the built-in pages, the errorfile, the rules skipped
    r = _exchange(sides, "mon", _req("GET", "/health"))
    assert r["responses"][0][0] == "HTTP/1.1 200 OK" and b"Service ready." in r["responses"][0][2]
    assert ("x-after", "mon") in r["responses"][0][1] and r["seen"] == []
    r = _exchange(sides, "mon", _req("GET", "/health", headers="X-Down: 1\r\n"))
    assert r["responses"][0][0] == "HTTP/1.1 503 Service Unavailable"
    r = _exchange(sides, "mon3", _req("GET", "/inherited"))
    assert r["responses"][0][2] == b"ok\n" and ("x-page", "custom") in r["responses"][0][1]
    # monitor requests are not logged; the others are, identically
    logs = _settled_logs(sides, "MON", "MON2", "MON3")
    for tag in ("MON", "MON2", "MON3"):
        assert logs[tag][1] == logs[tag][0], tag
    assert not any(ln.startswith("MON /health ") for ln in _log_lines(sides["ours"], "MON"))
    # counted as intercepted requests with their status, as 2.6 counts them
    keys = ("req_tot", "intercepted", "hrsp_2xx", "hrsp_5xx", "hrsp_4xx", "bout")
    for px in ("femon", "femon2", "femon3"):
        delta = {}
        for n, s in sides.items():
            now = _stat(s, px)
            delta[n] = {k: int(now[k] or 0) - int(before[n][px][k] or 0) for k in keys}
        assert delta["ours"] == delta["haproxy"], (px, delta)


def test_unique_id_as_haproxy(sides) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(15)
    paths = ["/a", "/early/x", "/rw/1", "/deny/z", "/b%20c", "/q?x=1", "/early"]
    vals = ["", "v1", "a b", "x|y"]
    for _ in range(24):
        port = rng.choice(("uid", "uid2"))
        path = rng.choice(paths)
        v = rng.choice(vals)
        hdrs = f"X-A: {v}\r\n" if v else ""
        if rng.random() < 0.3:
            hdrs += "X-Unique-ID: from-client\r\n"
        # a second request on the same connection gets an id of its own
        raw = _req("GET", path, headers=hdrs, close=False) + _req("GET", path + "2", headers=hdrs) \
            if rng.random() < 0.3 else _req("GET", path, headers=hdrs)
        _exchange(sides, port, raw)
    r = _exchange(sides, "uid", _req("GET", "/early/one", headers="X-A: k\r\n"))
    seen = dict(r["seen"][0][1])
    # made once: the early rule, the header, the response rules all see the same id
    assert seen["x-early"].startswith("/early/one|k|fe|") and seen["x-unique-id"] == seen["x-early"]
    assert dict(r["responses"][0][1])["x-res-id"] == seen["x-early"]
    logs = _settled_logs(sides, "UID", "UID2")
    for tag in ("UID", "UID2"):
        theirs, ours = logs[tag]
        assert ours == theirs, f"{tag} log lines differ:\n2.6:  {theirs}\nours: {ours}"
        assert len(ours) >= 5


def test_originalto_as_haproxy(sides) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(26)
    dsts = ["", "10.1.2.3", "192.168.4.5", "172.16.0.1", "2001:db8::7", "::ffff:10.0.0.1", "127.0.0.1",
            "0.0.0.0", "not-an-ip"]
    got_header = 0
    for _ in range(30):
        port = rng.choice(("ot", "ot2"))
        path = rng.choice(("/", "/be/x"))
        d = rng.choice(dsts)
        hdrs = f"X-Dst: {d}\r\n" if d else ""
        if rng.random() < 0.2:
            hdrs += "X-Original-To: client-said\r\n"
        r = _exchange(sides, port, _req("GET", path, headers=hdrs))
        if r["seen"] and any(k in ("x-original-to", "x-dst-fe", "x-dst-be") and v != "client-said"
                             for k, v in r["seen"][0][1]):
            got_header += 1
    assert got_header >= 5
    # on its own: the frontend's except network keeps the backend's header out
    r = _exchange(sides, "ot2", _req("GET", "/be/x", headers="X-Dst: 10.9.9.9\r\n"))
    assert not any(k in ("x-dst-fe", "x-dst-be") for k, _ in r["seen"][0][1])
    r = _exchange(sides, "ot2", _req("GET", "/be/x", headers="X-Dst: 172.16.0.1\r\n"))
    assert ("x-dst-be", "172.16.0.1") in r["seen"][0][1]


def test_monitor_fail_and_monitor_uri_config_errors() -> None:
    """-c refuses the misuses 2.6 refuses, at the same line."""
    import subprocess
    import sys
    import tempfile

    require_haproxy_bin()
    cases = ["monitor fail", "monitor foo", "monitor-uri", "monitor-uri /a /b", "unique-id-format",
             "unique-id-format a b", "unique-id-header", "option originalto except foo",
             "option originalto header", "option originalto bar"]
    def verdict(cmd: list[str]) -> tuple[bool, bool]:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return p.returncode != 0, ":8]" in (p.stdout + p.stderr) or ":8:" in (p.stdout + p.stderr)

    runs = {}
    # the '-c' runs are independent: a few at a time
    with ThreadPoolExecutor(4) as pool:
        for body in cases:
            cfg = ("defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
                   f"frontend f\n bind 127.0.0.1:{free_port()}\n {body}\n")
            with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as fh:
                fh.write(cfg)
            runs[body] = {which: pool.submit(verdict, cmd)
                          for which, cmd in (("haproxy", ["haproxy", "-c", "-f", fh.name]),
                                             ("ours", [sys.executable, "-m", "haproxy_py", "-c", "-f", fh.name]))}
    for body in cases:
        rcs = {which: f.result() for which, f in runs[body].items()}
        assert rcs["ours"] == rcs["haproxy"] == (True, True), (body, rcs)



def _send_parts(port: int, parts: list[bytes], delay: float) -> bytes | str:
    """Send ``parts`` with ``delay`` seconds between them; everything received until the close."""
    import socket

    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        for i, part in enumerate(parts):
            if i:
                time.sleep(delay)
            try:
                s.sendall(part)
            except OSError:
                break
        out = []
        while True:
            try:
                d = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not d:
                break
            out.append(d)
        return b"".join(out)
    finally:
        s.close()


def _parts_exchange(sides: dict[str, dict[str, Any]], port: str, parts: list[bytes],
                    delay: float) -> dict[str, Any]:
    def one(side: dict[str, Any]) -> tuple[Any, Any]:
        side["backend"].requests.clear()
        resp = _send_parts(side["ports"][port], parts, delay)
        time.sleep(0.03)
        return _norm_all(resp), _seen(side["backend"])

    futs = {name: _POOL.submit(one, side) for name, side in sides.items()}
    out = {name: f.result() for name, f in futs.items()}
    theirs, ours = out["haproxy"], out["ours"]
    assert ours[0] == theirs[0], f"response differs for {parts!r}:\n2.6:  {theirs[0]}\nours: {ours[0]}"
    assert ours[1] == theirs[1], f"server saw differs for {parts!r}:\n2.6:  {theirs[1]}\nours: {ours[1]}"
    return {"responses": ours[0], "seen": ours[1]}


def _body_request(rng: random.Random, path: str, *, keep: bool = False) -> tuple[list[bytes], bytes]:
    """A POST with a generated form body (content-length or chunked), cut in 1 to 3 parts."""
    words = ["a=1", "b=2", "a=xy", "c", "b=", "evil=1", "a=%20", "bb=3"]
    body = "&".join(rng.sample(words, rng.randint(1, 4))).encode()
    chunked = rng.random() < 0.4
    head = f"POST {path} HTTP/1.1\r\nHost: h\r\n" + ("" if keep else "Connection: close\r\n")
    if chunked:
        cut = rng.randint(1, len(body))
        framed = b"".join(b"%X\r\n%s\r\n" % (len(p), p) for p in (body[:cut], body[cut:]) if p) + b"0\r\n\r\n"
        raw = (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + framed
    else:
        raw = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    head_len = raw.index(b"\r\n\r\n") + 4
    n = rng.randint(1, 3)
    cuts = sorted(rng.sample(range(head_len, len(raw)), min(n - 1, len(raw) - head_len)))
    parts, prev = [], 0
    for c in cuts + [len(raw)]:
        parts.append(raw[prev:c])
        prev = c
    return [p for p in parts if p], body


def test_http_buffer_request_as_haproxy(sides) -> None:  # type: ignore[no-untyped-def]
    """option http-buffer-request in a frontend, and in a backend reached from a frontend without
    it: the rules see the whole body however it was cut; a body that stops gets a 408."""
    rng = random.Random(1526)
    for _ in range(16):
        port = rng.choice(("buf", "wait"))
        path = rng.choice(("/x", "/be/x"))
        parts, body = _body_request(rng, path)
        r = _parts_exchange(sides, port, parts, 0.08)
        if port == "buf" and r["seen"]:
            assert dict(r["seen"][0][1])["x-body"].startswith(body.decode() + "|")
    # a body that stops past 'timeout http-request' (600 ms): 408, at both stages
    for port, path in (("buf", "/x"), ("wait", "/be/x")):
        raw = f"POST {path} HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\na=1".encode()
        r = _parts_exchange(sides, port, [raw, b"&b=22"], 0.9)
        assert r["responses"][0][0] == "HTTP/1.1 408 Request Time-out" and r["seen"] == []
    logs = _settled_logs(sides, "BUF", "WAIT")
    for tag in ("BUF", "WAIT"):
        assert logs[tag][1] == logs[tag][0], tag


def test_wait_for_body_as_haproxy(sides) -> None:  # type: ignore[no-untyped-def]
    """http-request wait-for-body time T at-least N: the rules after it see the body (or N bytes
    of it); the rules before it only what came with the head; past T, a 408."""
    rng = random.Random(2612)
    for _ in range(16):
        path = rng.choice(("/w", "/w/1", "/x", "/be/bew"))
        parts, _body = _body_request(rng, path)
        _parts_exchange(sides, "wait", parts, 0.08)
    # keep-alive: the next request on the connection is read after the held one
    parts, _body = _body_request(rng, "/w", keep=True)
    r = _parts_exchange(sides, "wait", parts + [b"GET /y HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"], 0.08)
    assert [x[0] for x in r["seen"]][-1] == "GET /y HTTP/1.1"
    raw = b"POST /w HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nConnection: close\r\n\r\na=1"
    r = _parts_exchange(sides, "wait", [raw, b"&b=2"], 0.3)
    seen = dict(r["seen"][0][1])
    assert seen["x-body1"] == "a=1|3|7" and seen["x-body2"] == "a=1&b=2|7|2"
    r = _parts_exchange(sides, "wait", [raw, b"&b=2"], 0.9)
    assert r["responses"][0][0] == "HTTP/1.1 408 Request Time-out" and r["seen"] == []
    theirs, ours = _settled_logs(sides, "WAIT")["WAIT"]
    assert ours == theirs


def test_request_body_fetches_as_haproxy(sides) -> None:  # type: ignore[no-untyped-def]
    """req.body, req.body_len, req.body_size, req.body_param on generated bodies sent with their
    head (what 2.6 has in its buffer without waiting), and on requests without a body."""
    rng = random.Random(77)
    for _ in range(14):
        parts, _body = _body_request(rng, "/x")
        _parts_exchange(sides, "wait", [b"".join(parts)], 0)
    r = _parts_exchange(sides, "wait", [b"GET /x?a=5 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"], 0)
    assert dict(r["seen"][0][1])["x-body1"] == "|0|0"
    r = _parts_exchange(sides, "buf", [b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n"
                                       b"Connection: close\r\n\r\nq=1&evil=1"], 0)
    assert r["responses"][0][0].startswith("HTTP/1.1 403") and r["seen"] == []


def _show(side: dict[str, Any], what: str) -> list[str]:
    """'show map|acl FILE' without the entries' addresses (2.6's are pointers)."""
    import tempfile

    path = f"{tempfile.gettempdir()}/hpy-hf-{'haproxy' if side is _SIDES['haproxy'] else 'ours'}/{what}"
    kind = "map" if what.endswith(".map") else "acl"
    lines = stats_cli(side["sock"], f"show {kind} {path}").splitlines()
    return [ln.split(" ", 1)[1] if ln.startswith("0x") else ln for ln in lines]


_SIDES: dict[str, Any] = {}


def test_map_and_acl_actions_as_haproxy(sides) -> None:  # type: ignore[no-untyped-def]
    """set-map, del-map, add-acl, del-acl in http-request and http-response rules: generated sequences of edits and lookups; the map converter and the ACL see each edit
    at the next request, and 'show map' / 'show acl' list the same entries as 2.6's."""
    _SIDES.update(sides)
    rng = random.Random(4242)
    keys = ["k1", "k2", "k3", "a1", "a2", "r1", "r2", "r9"]
    for _ in range(40):
        op = rng.choice(("/set", "/del", "/aadd", "/adel", "/get", "/get", "/acl", "/acl", "/other"))
        k = rng.choice(keys)
        v = rng.choice(("v", "w2", "x y"))
        _exchange(sides, "map", _req("GET", op, headers=f"X-K: {k}\r\nX-V: {v}\r\n"))
    for what in ("hf.map", "hf.acl"):
        assert _show(sides["ours"], what) == _show(sides["haproxy"], what), what
    # on its own: an edit is seen by the next request
    _exchange(sides, "map", _req("GET", "/set", headers="X-K: new\r\nX-V: fresh\r\n"))
    r = _exchange(sides, "map", _req("GET", "/get", headers="X-K: new\r\n"))
    assert r["responses"][0][2] == b"[fresh]"
    _exchange(sides, "map", _req("GET", "/aadd", headers="X-K: zz\r\n"))
    r = _exchange(sides, "map", _req("GET", "/acl", headers="X-K: zz\r\n"))
    assert r["responses"][0][2] == b"yes"


DEFAULTS_CFG = r"""
defaults fedef
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    acl isx path_beg /x
    http-request set-header X-Def d1
    http-request deny if isx {{ req.hdr(x-no) -m found }}
    http-request allow if {{ path /allow }}
    http-response set-header X-Def-Res r1
    http-after-response set-header X-Def-After a1

defaults bedef
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    http-request set-header X-BDef bd
    http-response set-header X-BDef-Res br

frontend fe from fedef
    bind 127.0.0.1:{fe}
    acl isx path /never
    http-request set-header X-Fe f1
    http-request deny if isx
    default_backend be

frontend fe2 from fedef
    bind 127.0.0.1:{fe2}
    default_backend be

backend be from bedef
    http-request set-header X-Be b1
    server s1 127.0.0.1:{srv}
"""


def test_rules_of_named_defaults_as_haproxy() -> None:
    """http-request / http-response / http-after-response rules of a named defaults section run
    before the proxy's own (an allow there ends the set), with the section's own ACLs."""
    require_haproxy_bin()
    rng = random.Random(99)
    plan = [(rng.choice(("fe", "fe2")), rng.choice(("/", "/x1", "/allow", "/never")),
             "X-No: 1\r\n" if rng.random() < 0.5 else "") for _ in range(12)]
    def play(which: str) -> list[Any]:
        be = HttpBackend("s1")
        be.start()
        ports = {"fe": free_port(), "fe2": free_port()}
        try:
            with run_proxy(DEFAULTS_CFG.format(srv=be.port, **ports), wait_ports=list(ports.values()),
                           which=which):
                out = []
                for fe, path, hdrs in plan:
                    be.requests.clear()
                    resp = _send_parts(ports[fe], [_req("GET", path, headers=hdrs)], 0)
                    time.sleep(0.03)
                    out.append((path, hdrs, _norm_all(resp), _seen(be)))
                return out
        finally:
            be.stop()

    # each program with its own backend: both at the same time
    futs = {which: _POOL.submit(play, which) for which in ("haproxy", "ours")}
    got = {which: f.result() for which, f in futs.items()}
    assert got["ours"] == got["haproxy"]
    seen_one = [x for x in got["ours"] if x[3]]
    assert seen_one and all(("x-def", "d1") in x[3][0][1] for x in seen_one)


def test_capture_actions_as_haproxy(sides) -> None:  # type: ignore[no-untyped-def]
    """declare capture, http-request / http-response capture (len: a slot of its own, id: a slot
    declared before, also from the backend's rules) next to capture request/response header:
    generated requests, the slots in the log line (%hr, %hs, %hrl, capture.req.hdr/res.hdr) and
    what a rule read from them, as 2.6 fills them."""
    rng = random.Random(3141)
    for _ in range(16):
        hdrs = ""
        for name, vals in (("Host", ["h", "hosthosthost", "x.example"]), ("X-A", ["1", "12345", "a b c"]),
                           ("X-B", ["bbbbbb", "b"]), ("X-T", ["t", "tttttttt"])):
            if rng.random() < 0.6:
                hdrs += f"{name}: {rng.choice(vals)}\r\n"
        path = rng.choice(("/", "/p", "/pathlong", "/q"))
        raw = f"GET {path} HTTP/1.1\r\n{hdrs}Connection: close\r\n\r\n".encode()
        _exchange(sides, "cap", raw)
    theirs, ours = _settled_logs(sides, "CAP")["CAP"]
    assert ours == theirs, f"capture log lines differ:\n2.6:  {theirs}\nours: {ours}"
    assert any("|/p" in ln for ln in ours)  # the id rule wrote the declared slot


def _gen_uri(rng: random.Random) -> str:
    segs = ["a", "", ".", "..", "%7e", "%7E", "%2f", "%zz", "%4", "b%41", "c.d", "..."]
    path = "/" + "/".join(rng.choice(segs) for _ in range(rng.randint(0, 5)))
    if rng.random() < 0.5:
        params = ["b=2", "a=1", "a", "", "%62=%2e", "c=/../", "aa", "=x"]
        path += "?" + "&".join(rng.choice(params) for _ in range(rng.randint(0, 4)))
    if rng.random() < 0.25:
        path += "#" + rng.choice(("f", "f#g", "x/../y"))
    if rng.random() < 0.15:
        path = "http://h" + path
    return path


def test_normalize_uri_as_haproxy(sides) -> None:  # type: ignore[no-untyped-def]
    """http-request normalize-uri, every 2.6 normalizer with and without its option, alone and two
    in a row, on generated URIs (set by set-uri, so any byte 2.6's request parser would refuse
    gets there): what the server saw, or the 400. Reproduces 2.6.12's reading of a normalizer
    whose option is absent and that has a condition as path-merge-slashes (actions/http.py)."""
    rng = random.Random(2021)
    changed = 0
    for _ in range(60):
        uri = _gen_uri(rng)
        n = "+".join(str(rng.randrange(11)) for _ in range(rng.randint(1, 2)))
        r = _exchange(sides, "norm", _req("GET", "/orig", headers=f"X-URI: {uri}\r\nX-N: {n}\r\n"))
        if r["seen"] and r["seen"][0][0] != f"GET {uri} HTTP/1.1":
            changed += 1
    assert changed >= 15


RATE_CFG = """
global
    stats socket @DIR@/rate.sock level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe}
    rate-limit sessions 4
    http-request return status 200 content-type text/plain string ok
"""


def _served_times(port: int, n: int) -> list[float]:
    """Open ``n`` connections at once, each with one request: when each got its answer (s)."""
    import socket
    import threading

    t0 = time.monotonic()
    out: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=6)
            s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            s.settimeout(6)
            while s.recv(4096):
                pass
            s.close()
            with lock:
                out.append(time.monotonic() - t0)
        except OSError:
            pass

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return sorted(out)


@pytest.mark.slow
def test_rate_limit_sessions_as_haproxy() -> None:
    """rate-limit sessions 4, 12 connections opened at once: 2.6's shape (its freq_ctr, whose
    period starts at the first session after an idle time): a burst of the limit at once, then
    nothing until that first period ends about 1 s later, then one every quarter second as the
    sliding second lets them in. Compared by counts over windows relative to the first answer
    (the machine's load moves the times, not the counts): the burst, the gap after it, the
    sessions let in during the next second, and all 12 served, for both proxies alike."""
    require_haproxy_bin()
    got = {}
    rate_lim: dict[str, list[str]] = {}
    ports = {which: free_port() for which in ("haproxy", "ours")}
    # both started first, so that they wait out the start-up probe's period together; then one
    # burst after the other
    with contextlib.ExitStack() as stack:
        procs = {which: stack.enter_context(run_proxy(RATE_CFG.format(fe=port), wait_ports=[port], which=which))
                 for which, port in ports.items()}
        time.sleep(2.2)  # the start-up probe connection's period and the one after it are over
        for which, pp in procs.items():
            port = ports[which]
            # start the burst late in a whole second of the monotonic clock (the proxies' clock
            # too): a counter aligned on whole seconds would then let sessions in ~0.3 s later
            deadline = time.monotonic() + 2
            while not 0.6 <= time.monotonic() % 1 < 0.7 and time.monotonic() < deadline:
                time.sleep(0.01)
            got[which] = _served_times(port, 12)
            lines = stats_cli(str(pp.workdir / "rate.sock"), "show stat").splitlines()
            col = lines[0].lstrip("# ").split(",").index("rate_lim")
            rate_lim[which] = [ln.split(",")[col] for ln in lines[1:] if ",FRONTEND," in ln]
    shape = {}
    for name, times in got.items():
        assert len(times) == 12, (name, times)
        t0 = times[0]
        rel = [t - t0 for t in times]
        burst = sum(1 for t in rel if t < 0.4)
        second = sum(1 for t in rel if 0.9 <= t < 1.9)
        assert 3 <= burst <= 5, (name, rel)  # about the limit at once
        gap = max(b - a for a, b in zip(rel, rel[1:], strict=False))
        assert gap > 0.6 and rel[burst] > 0.8, (name, rel)  # nothing until the first period ended
        assert 3 <= second <= 6, (name, rel)  # then about the limit per second
        shape[name] = (burst, second)
    assert abs(shape["ours"][0] - shape["haproxy"][0]) <= 1, got
    assert abs(shape["ours"][1] - shape["haproxy"][1]) <= 2, got
    assert rate_lim["ours"] == rate_lim["haproxy"] == ["4"], rate_lim  # show stat's rate_lim
