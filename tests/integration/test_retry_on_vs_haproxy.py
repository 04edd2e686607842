"""``retry-on`` with ``retries``, ``option redispatch`` and ``http-request disable-l7-retry``,
beside Debian's HAProxy 2.6, with generated server misbehaviours.

Each request names, in its query string, what each server does with it at its first, second ...
receipt (``/r7?a=reset.ok&b=503``: server a resets the first time and answers 200 the second, b
answers 503): answer a status, close without answering, reset, send junk or half a response head,
or stay silent until the server timeout. The listens are generated from a seed: their retry-on
lists, retries, redispatch, disable-l7-retry rules, a server with nothing listening. Requests are
GETs, POSTs with a small body (kept for a retry), a body larger than tune.bufsize (never kept) or
a body that reaches the proxy after the head went to the server (not kept either).
Compared between both proxies: what each client got (status line and body), what each server
received in order, the log lines (server, status, retries with the redispatch '+', termination
state) and the servers' and backends' retry, redispatch and error counters.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import free_port
from tests.integration.harness import require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli
from tests.integration.syslog_sinks import recv_probe_lines, recv_until_quiet, udp_sink

BEHAVIOURS = ("ok", "503", "404", "500", "502", "504", "401", "close", "reset", "junk", "partial", "silent")


class Misbehaving:
    """An HTTP server on 127.0.0.1 that does, with each request, what its query string says for
    the server's name and the request's number of receipts here (the last one repeats)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[tuple[str, str, int]] = []  # (path, method, body length)
        self.heads: set[str] = set()  # paths whose head arrived
        self.count: dict[str, int] = {}
        self.lock = threading.Lock()
        self.conns: list[socket.socket] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        c.settimeout(5)
        with c, contextlib.suppress(OSError, ValueError):
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    return
                data += d
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            path = urlsplit(target).path
            with self.lock:
                self.heads.add(path)
            cl = 0
            for line in lines[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    cl = int(v)
            while len(body) < cl:
                d = c.recv(65536)
                if not d:
                    break
                body += d
            seq = parse_qs(urlsplit(target).query).get(self.name, ["ok"])[0].split(".")
            with self.lock:
                n = self.count.get(path, 0)
                self.count[path] = n + 1
                self.seen.append((path, method, len(body)))
            self._act(c, seq[min(n, len(seq) - 1)])

    def _act(self, c: socket.socket, what: str) -> None:
        name = self.name.encode()
        if what == "ok":
            what = "200"
        if what.isdigit():
            c.sendall(b"HTTP/1.1 %s X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (what.encode(), len(name), name))
        elif what == "reset":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif what == "junk":
            c.sendall(b"junk junk\r\n\r\n")
        elif what == "partial":
            c.sendall(b"HTTP/1.1 200 OK\r\nX-A: ")
        elif what == "silent":
            while c.recv(4096):  # until the proxy gives up (bounded by the 5 s socket timeout)
                pass
        # "close": nothing

    def wait_head(self, path: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while path not in self.heads and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with self.lock:
            for c in self.conns:
                with contextlib.suppress(OSError):
                    c.close()


_KEYWORDS = ("conn-failure", "empty-response", "junk-response", "response-timeout", "401", "403", "404",
             "408", "425", "500", "501", "502", "503", "504")


def _listens(rng: random.Random, n: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(n):
        r = rng.random()
        if r < 0.15:
            ro = "all-retryable-errors"
        elif r < 0.2:
            ro = "none"
        else:
            ro = " ".join(rng.sample(_KEYWORDS, rng.randint(1, 5)))
        out.append({
            "name": f"l{i}", "retry_on": ro, "retries": rng.choice((0, 1, 2, 2, 3, 3)),
            "redispatch": rng.choice(("", "", "option redispatch", "option redispatch 2", "option redispatch -1",
                                     "option redispatch\n    default option redispatch",
                                     "default option redispatch", "no option redispatch")),
            "disable": rng.random() < 0.4, "dead": rng.random() < 0.3,
        })
    return out


def _requests(rng: random.Random, listens: list[dict[str, object]], n: int) -> list[tuple[str, str, str]]:
    """(listen name, kind, path?query) in the order sent."""
    out = []
    for i in range(n):
        lst = rng.choice(listens)
        q = []
        for name in ("a", "b"):
            # a later receipt often succeeds: the retries that recover show
            seq = [rng.choice(BEHAVIOURS) if j == 0 or rng.random() < 0.6 else "ok" for j in range(rng.randint(1, 3))]
            # a silent server costs a server timeout: at most one per sequence
            while seq.count("silent") > 1:
                seq.remove("silent")
            q.append(f"{name}={'.'.join(seq)}")
        kind = rng.choice(("get", "get", "get", "post", "big", "split"))
        prefix = "/d" if lst["disable"] and rng.random() < 0.5 else "/r"
        out.append((str(lst["name"]), kind, f"{prefix}{i}?{'&'.join(q)}"))
    return out


CFG_HEAD = """\
global
    log 127.0.0.1:{log} local0
    stats socket @DIR@/s.sock level admin
defaults
    mode http
    log global
    log-format "%HU %s %ST %rc %ts"
    timeout connect 1s
    timeout client 5s
    timeout server 600ms
"""


def _config(listens: list[dict[str, object]], ports: dict[str, int], a: int, b: int, log: int) -> str:
    text = CFG_HEAD.format(log=log)
    for lst in listens:
        text += f"listen {lst['name']}\n    bind 127.0.0.1:{ports[str(lst['name'])]}\n"
        text += f"    retry-on {lst['retry_on']}\n    retries {lst['retries']}\n"
        if lst["redispatch"]:
            text += f"    {lst['redispatch']}\n"
        if lst["disable"]:
            text += "    http-request disable-l7-retry if { path_beg /d }\n"
        text += f"    server a 127.0.0.1:{a}\n    server b 127.0.0.1:{b}\n"
        if lst["dead"]:
            text += "    server dead 127.0.0.1:1\n"
    return text


def _send(port: int, kind: str, path: str, srvs: list[Misbehaving]) -> bytes:
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.settimeout(8)
    with c:
        if kind == "get":
            c.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        else:
            n = 40000 if kind == "big" else 3000
            head = f"POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {n}\r\n\r\n".encode()
            if kind == "split":
                # the body comes once the head reached a server: the request was sent incomplete
                c.sendall(head)
                p = urlsplit(path).path
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and not any(p in s.heads for s in srvs):
                    time.sleep(0.01)
                c.sendall(b"y" * n)
            else:
                c.sendall(head + b"x" * n)
        out = b""
        with contextlib.suppress(OSError):
            while True:
                d = c.recv(65536)
                if not d:
                    break
                out += d
    status = out.split(b"\r\n", 1)[0]
    return status + b" | " + (out.rsplit(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in out else b"")


def _counters(stat: str) -> dict[str, tuple[str, ...]]:
    head = stat.splitlines()[0].lstrip("# ").split(",")
    out = {}
    for line in stat.splitlines()[1:]:
        row = dict(zip(head, line.split(","), strict=False))
        if not row.get("pxname", "").startswith("l") or row.get("svname") == "FRONTEND":
            continue
        out[f"{row['pxname']}/{row['svname']}"] = tuple(row[k] for k in ("wretr", "wredis", "econ", "eresp"))
    return out


def _run(which: str, seed: int, listens: list[dict[str, object]], reqs: list[tuple[str, str, str]]) -> dict[str, object]:
    a, b = Misbehaving("a"), Misbehaving("b")
    log, logport = udp_sink(5)
    ports = {str(lst["name"]): free_port() for lst in listens}
    got: list[bytes] = []
    try:
        with run_proxy(_config(listens, ports, a.port, b.port, logport), wait_ports=list(ports.values()),
                       which=which) as pp:
            sock = admin_socket(pp, "s.sock")
            # the harness's port probes: one line each (a connection closed without a request)
            recv_probe_lines(log, len(ports))
            for name, kind, path in reqs:
                got.append(_send(ports[name], kind, path, [a, b]))
            deadline = time.monotonic() + 5
            msgs: list[bytes] = []
            while len(msgs) < len(reqs) and time.monotonic() < deadline:
                msgs += recv_until_quiet(log, 0.3)
            stat = stats_cli(sock, "show stat")
    finally:
        a.close()
        b.close()
        log.close()
    lines = sorted(m.decode("latin-1").rsplit("]: ", 1)[-1].strip() for m in msgs)
    return {"client": got, "a": a.seen, "b": b.seen, "log": lines, "stat": _counters(stat)}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_retry_on_generated_as_haproxy(seed: int) -> None:
    require_haproxy("haproxy")
    rng = random.Random(seed)
    listens = _listens(rng, 8)
    reqs = _requests(rng, listens, 50)
    res: dict[str, dict[str, object]] = {}

    def run(which: str) -> None:
        res[which] = _run(which, seed, listens, reqs)

    threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in ("haproxy", "ours")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=100)
    assert set(res) == {"haproxy", "ours"}, "a run did not finish"
    ref, ours = res["haproxy"], res["ours"]
    for i, (r, o) in enumerate(zip(ref["client"], ours["client"], strict=True)):  # type: ignore[call-overload]
        assert o == r, (reqs[i], listens, r, o)
    for k in ("a", "b", "log", "stat"):
        assert ours[k] == ref[k], (k, listens)


def test_retry_on_messages_as_haproxy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """-c on retry-on lines: the errors 2.6 gives (none not alone, unknown keyword, in a frontend,
    no keyword) and the lines it accepts, ours the same at the same lines; 0rtt-rejected is
    refused by haproxy-py (no TLS early data is ever sent to a server)."""
    import subprocess
    import sys

    cases = ["", "none", "none 503", "503 none", "401 403 425", "bogus", "conn-failure 600",
             "all-retryable-errors", "empty-response junk-response response-timeout 408 501"]
    text = "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"
    for i, args in enumerate(cases):
        text += f"backend b{i}\n retry-on {args}\n server a 127.0.0.1:1\n"
    text += "frontend f\n bind 127.0.0.1:8\n retry-on 503\n default_backend b0\n"
    cfg = tmp_path / "c.cfg"
    cfg.write_text(text)
    out = {}
    for which, cmd in (("haproxy", ["haproxy"]), ("ours", [sys.executable, "-m", "haproxy_py"])):
        p = subprocess.run([*cmd, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60)
        alerts = [line.split(" : ", 2)[-1].strip() for line in (p.stdout + p.stderr).splitlines()
                  if "[ALERT]" in line and "parsing [" in line]
        out[which] = (p.returncode, alerts)
    assert out["ours"] == out["haproxy"], out
    assert len(out["ours"][1]) == 6, out
    cfg.write_text("defaults\n mode http\nbackend b\n retry-on 503 0rtt-rejected\n server a 127.0.0.1:1\n")
    p = subprocess.run([sys.executable, "-m", "haproxy_py", "-c", "-f", str(cfg)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode != 0 and "retry-on 0rtt-rejected' is not implemented by haproxy-py" in p.stdout + p.stderr, p
