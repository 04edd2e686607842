"""set-priority-class / set-priority-offset against Debian's HAProxy 2.6, side by side.

A backend whose only server has ``maxconn 1`` and answers only when the test lets it: a first
request takes the slot, then generated requests with their own class and offset are queued one by
one (each is seen in ``show stat``'s qcur before the next is sent), then the server answers them
one at a time. The order in which the server receives them is 2.6's queue order; both proxies must
give the same. Offsets are spread far apart (seconds) or at the clamped limits (where 2.6's
20-bit time keys wrap: -524287 ms makes an entry the last of its class once 2 ms passed, and
+524287 ms is the same as -524289 ms), with arrivals kept 10 ms apart so that no two keys are
within the 2 ms where the order would be a race.
"""

from __future__ import annotations

import random
import re
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from haproxy_py.cli import main
from tests.conftest import require_haproxy_bin
from tests.integration.harness import free_port, get, require_haproxy, run_proxy, wait_files
from tests.integration.stats_client import stats_cli

SIDES = ("ours", "haproxy")
#: the least time between two arrivals and before the first dequeue (s); an offset of +524287 ms
#: is -524289 ms modulo 2.6's 20-bit wrap, so two requests of a class at the opposite limits are
#: ordered by their arrival times give or take 2 ms: more than that apart, the order is certain
SPACING = 0.01


class GatedServer:
    """A TCP server on 127.0.0.1 that records the first line of each connection (an HTTP request
    line, or what a TCP client sends) and answers only when :meth:`release` lets one go."""

    def __init__(self, http: bool) -> None:
        self.http = http
        self.seen: list[str] = []
        self.lock = threading.Lock()
        self.gate = threading.Semaphore(0)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        with c:
            c.settimeout(20)
            buf = b""
            try:
                while b"\n" not in buf or (self.http and b"\r\n\r\n" not in buf):
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
            except OSError:
                return
            line = buf.split(b"\n", 1)[0].strip().decode("latin-1")
            with self.lock:
                self.seen.append(line.split()[1].lstrip("/") if self.http else line)
            if not self.gate.acquire(timeout=20):
                return
            try:
                if self.http:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                else:
                    c.sendall(b"ok\n")
            except OSError:
                pass

    def count(self) -> int:
        with self.lock:
            return len(self.seen)

    def release(self) -> None:
        self.gate.release()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def _until(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _queued(sock: str, backend: str) -> int:
    """The requests waiting in the backend's queues: the qcur of its BACKEND row (its own queue)
    plus those of its servers (their queues)."""
    n = 0
    for row in stats_cli(sock, "show stat").splitlines():
        f = row.split(",")
        if len(f) > 3 and f[0] == backend and f[1] != "svname":
            n += int(f[2] or 0)
    return n


def _client(port: int, payload: bytes, out: dict[str, bytes], key: str) -> threading.Thread:
    def run() -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(payload)
                chunks = []
                while True:
                    d = s.recv(4096)
                    if not d:
                        break
                    chunks.append(d)
                out[key] = b"".join(chunks)
        except OSError as e:
            out[key] = repr(e).encode()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _serve_order(which: str, cfg: str, ports: list[int], srv: GatedServer, sock: str,
                 payloads: list[tuple[str, bytes]], dests: list[int] | None = None) -> list[str]:
    """Run the scenario through one proxy: the first payload takes the slot, the others are
    queued one by one, then the server answers one at a time; the order it saw them in.
    ``dests``: the port each payload goes to (default: the first of ``ports``)."""
    out: dict[str, bytes] = {}
    threads = []
    dest = dests or [ports[0]] * len(payloads)
    with run_proxy(cfg, wait_ports=ports, which=which) as pp:
        wait_files([sock], detail=pp.stderr_text)
        first, rest = payloads[0], payloads[1:]
        threads.append(_client(dest[0], first[1], out, first[0]))
        _until(lambda: first[0] in srv.seen, f"{which}: the first request at the server")
        _until(lambda: _queued(sock, "be") == 0, f"{which}: an empty queue")
        base = srv.count()  # wait_port's probe connections may have reached the server too
        for i, (key, data) in enumerate(rest, 1):
            threads.append(_client(dest[i], data, out, key))
            _until(lambda i=i: _queued(sock, "be") == i, f"{which}: request {i} queued ({pp.stderr_text()})")
            # keys 2 ms apart or less are a race (see the module docstring): keep arrivals apart
            time.sleep(SPACING)
        for n in range(1, len(payloads)):
            srv.release()
            _until(lambda n=n: srv.count() == base + n, f"{which}: the next request at the server")
        srv.release()
        for t in threads:
            t.join(timeout=20)
        assert all(v.endswith(b"ok") or v.endswith(b"ok\n") for v in out.values()), out
        return [k for k in srv.seen if k in out]


def _gen(rng: random.Random, n: int) -> list[tuple[str, str, bool]]:
    """(class, offset) words: small classes with repeats, offsets seconds apart or at the limits,
    and a few words that are not integers (the rule then leaves the priority as it was); and
    whether the request is for the server's own queue (use-server) or the backend's."""
    classes = ["0", "0", "1", "-1", "2", "-3", "5000", "-99999", "abc"]
    offsets = ["0", "0", "3000", "-3000", "10000", "-20000", "524287", "-524287", "9999999", "-9999999", "x1"]
    return [(rng.choice(classes), rng.choice(offsets), rng.random() < 0.4) for _ in range(n)]


@pytest.mark.parametrize("seed", [15, 2615])
def test_queue_order_as_haproxy(seed: int) -> None:
    """HTTP: the classes and offsets come from request headers (http-request rules of the
    frontend for the class, of the backend for the offset); some requests wait in the server's
    queue (use-server), the others in the backend's: the order of service is 2.6's."""
    require_haproxy("haproxy")
    rng = random.Random(seed)
    prios = _gen(rng, 12)
    payloads = [("r0", b"GET /r0 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")]
    for i, (c, o, direct) in enumerate(prios, 1):
        xs = "X-S: 1\r\n" if direct else ""
        payloads.append((f"r{i}", f"GET /r{i} HTTP/1.1\r\nHost: t\r\nX-C: {c}\r\nX-O: {o}\r\n{xs}"
                                  f"Connection: close\r\n\r\n".encode()))
    orders = {}
    for which in SIDES:
        srv = GatedServer(http=True)
        port = free_port()
        try:
            sock = tempfile.mkdtemp(prefix="hpy-prio-") + "/s.sock"
            cfg = (f"global\n    stats socket {sock} level admin\n"
                   f"defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n"
                   f"    timeout server 30s\n    timeout queue 30s\n"
                   f"frontend fe\n    bind 127.0.0.1:{port}\n"
                   f"    http-request set-priority-class req.hdr(x-c) if {{ req.hdr(x-c) -m found }}\n"
                   f"    default_backend be\n"
                   f"backend be\n"
                   f"    http-request set-priority-offset req.hdr(x-o) if {{ req.hdr(x-o) -m found }}\n"
                   f"    use-server s1 if {{ req.hdr(x-s) -m found }}\n"
                   f"    server s1 127.0.0.1:{srv.port} maxconn 1\n")
            orders[which] = _serve_order(which, cfg, [port], srv, sock, payloads)
        finally:
            srv.close()
    assert orders["ours"] == orders["haproxy"], (prios, orders)
    # not trivially FIFO: the generated priorities reorder the queue
    assert orders["ours"] != [p for p, _ in payloads] or len(set(prios)) == 1



def test_tcp_content_priority_as_haproxy() -> None:
    """mode tcp: tcp-request content rules give each listening port its own class and offset
    (generated); connections queued one by one are served in 2.6's order."""
    require_haproxy("haproxy")
    rng = random.Random(26)
    classes = ["0", "1", "-1", "4", "-2047", "3000"]
    offsets = ["0", "2000", "-2000", "-524287", "524287", "7000"]
    nports = 4
    prio = [(rng.choice(classes), rng.choice(offsets)) for _ in range(nports)]
    picks = [rng.randrange(nports) for _ in range(12)]
    orders = {}
    for which in SIDES:
        srv = GatedServer(http=False)
        ports = [free_port() for _ in range(nports)]
        sock = tempfile.mkdtemp(prefix="hpy-prio-") + "/s.sock"
        try:
            rules = "".join(f"    bind 127.0.0.1:{p}\n" for p in ports)
            for p, (c, o) in zip(ports, prio, strict=True):
                rules += (f"    tcp-request content set-priority-class int({c}) if {{ dst_port {p} }}\n"
                          f"    tcp-request content set-priority-offset int({o}) if {{ dst_port {p} }}\n")
            cfg = (f"global\n    stats socket {sock} level admin\n"
                   f"defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n"
                   f"    timeout server 30s\n    timeout queue 30s\n"
                   f"listen be\n{rules}"
                   f"    server s1 127.0.0.1:{srv.port} maxconn 1\n")
            payloads = [("c0", b"c0\n")] + [(f"c{i}", f"c{i}\n".encode()) for i in range(1, len(picks) + 1)]
            orders[which] = _serve_order(which, cfg, ports, srv, sock, payloads,
                                         [ports[0]] + [ports[k] for k in picks])
        finally:
            srv.close()
    assert orders["ours"] == orders["haproxy"], (prio, picks, orders)
    assert orders["ours"] != [f"c{i}" for i in range(len(picks) + 1)] or len(set(prio)) == 1


def test_priority_fetches_as_haproxy() -> None:
    """prio_class / prio_offset read what the rules set (clamped; a value that is no integer
    leaves the priority as it was; the default 0 before any rule): 2.6's answers, generated."""
    require_haproxy("haproxy")
    rng = random.Random(7)
    words = ["0", "3", "-3", "2047", "2048", "-5000", "524287", "524288", "-99999999", "12abc", "abc", "+7"]
    cases = [(rng.choice(words), rng.choice(words)) for _ in range(12)]
    got = {}
    for which in SIDES:
        port = free_port()
        cfg = (f"defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n"
               f"frontend fe\n    bind 127.0.0.1:{port}\n"
               f"    http-request set-var(txn.before) prio_class\n"
               f"    http-request set-priority-class req.hdr(x-c) if {{ req.hdr(x-c) -m found }}\n"
               f"    http-request set-priority-offset req.hdr(x-o) if {{ req.hdr(x-o) -m found }}\n"
               f"    http-request set-priority-class int(9) if {{ req.hdr(x-c) -m str 0 }}\n"
               f"    http-request return status 200 content-type text/plain lf-string "
               f"\"%[var(txn.before)] %[prio_class] %[prio_offset]\"\n")
        out = []
        with run_proxy(cfg, wait_ports=[port], which=which):
            for c, o in cases:
                status, _, body = get(port, "/", {"X-C": c, "X-O": o})
                out.append((c, o, status, body.decode()))
        got[which] = out
    assert got["ours"] == got["haproxy"]


BAD_RULES = (
    "http-request set-priority-class",
    "http-request set-priority-class res.hdr(x)",
    "http-request set-priority-class int(3) foo",
    "http-request set-priority-offset nosuch",
    "http-request set-priority-offset int(1),nosuchconv",
    "tcp-request content set-priority-offset res.hdr(x)",
    "http-response set-priority-class int(1)",
    "http-request set-priority-offset int(-1) if TRUE",
    "tcp-request content set-priority-class str(x),length if TRUE",
)


def _alerts(err: str) -> list[str]:
    return [re.sub(r"^(\[ALERT\] +)\(\d+\)", r"\1(PID)", ln) for ln in err.splitlines() if ln.startswith("[ALERT]")]


def test_priority_rule_errors_as_haproxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """``-c`` on set-priority-* rules, good and bad, in a frontend, a backend and a listen: the
    same verdict and alert lines as 2.6's."""
    binary = require_haproxy_bin()
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "c.cfg"
    diffs = []
    for kind in ("frontend", "backend", "listen"):
        for rule in BAD_RULES:
            tail = "    default_backend b\n" if kind == "frontend" else "    server s 127.0.0.1:1\n"
            bind = "    bind 127.0.0.1:1\n" if kind != "backend" else ""
            cfg.write_text("defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n"
                           f"    timeout connect 1s\n{kind} p\n{bind}    {rule}\n{tail}"
                           "backend b\n    server s 127.0.0.1:1\n")
            p = subprocess.run([binary, "-c", "-f", "c.cfg"], capture_output=True, text=True, timeout=30)
            capsys.readouterr()
            rc = main(["-c", "-f", "c.cfg"])
            _, err = capsys.readouterr()
            if (p.returncode == 0) != (rc == 0) or _alerts(err) != _alerts(p.stderr):
                diffs.append(f"{kind} {rule}: 2.6 {_alerts(p.stderr)}, ours {_alerts(err)}")
    assert not diffs, "\n".join(diffs)
