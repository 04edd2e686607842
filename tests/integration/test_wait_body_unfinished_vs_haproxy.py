"""``wait-for-body`` on a body that does not finish, side by side with HAProxy 2.6.12: seeded
generated requests and responses (chunked or with a Content-Length) whose body stops part way,
the peer then silent or closing. As 2.6: the wait ends at the rule's time or at the timeout of
the side that is waited for (client / server), whichever comes first; a response that did not
finish in time gets a 504 counted with the response so far and the client connection is kept
(a second request on it is answered); a server that closes during the wait has its response
forwarded as it came (ended as an abort, SD); a request gets a 408 logged with TR -1.
Compared: each reply's status line and header names, the payload bytes the client got, whether
the second request was answered, and the log lines (status, bytes, termination state, which
timers are -1). The chosen times are far apart (250 ms / 900 ms / 2 s), so that which one ends
the wait does not depend on the machine's load.
"""

from __future__ import annotations

import random
import socket
import time

import pytest

from tests.integration.harness import TcpServer, free_port, require_haproxy, run_proxy

_OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


class _Server(TcpServer):
    """The request carrying ``x-case: N`` gets ``cases[N]``'s partial response, then silence
    (until the proxy closes) or a close after 200 ms; any other request gets ``_OK``."""

    def __init__(self, cases: list[tuple[bytes, bool]]) -> None:
        self.cases = cases
        super().__init__(backlog=32)

    def serve(self, c: socket.socket) -> None:
        try:
            c.settimeout(5)
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    d = c.recv(65536)
                    if not d:
                        return
                    data += d
                head, _, data = data.partition(b"\r\n\r\n")
                if b"x-case: " not in head:
                    c.sendall(_OK)
                    continue
                partial, close = self.cases[int(head.split(b"x-case: ", 1)[1].split(b"\r\n", 1)[0])]
                c.sendall(partial)
                if close:
                    time.sleep(0.2)
                    return
                while c.recv(65536):
                    pass
                return
        except OSError:
            pass
        finally:
            c.close()


def _cfg(fe: int, srv: int) -> str:
    return f"""
defaults
    mode http
    timeout connect 2s
    timeout client 900ms
    timeout server 900ms
    log stdout format raw local0
frontend fe
    bind 127.0.0.1:{fe}
    log global
    option httplog
    http-request set-var(txn.p) path
    http-request wait-for-body time 250ms if {{ path_beg /rq/short }}
    http-request wait-for-body time 2s if {{ path_beg /rq/long }}
    default_backend be
backend be
    http-response wait-for-body time 250ms if {{ var(txn.p) -m beg /rs/short }}
    http-response wait-for-body time 2s if {{ var(txn.p) -m beg /rs/long }}
    http-response add-header x-len %[res.body_len]
    server s 127.0.0.1:{srv}
"""


def _partial(rng: random.Random, head: bytes) -> bytes:
    """A message head and part of its body: chunked or with a Content-Length."""
    n = rng.randint(1, 3000)
    got = rng.randint(0, n - 1)
    if rng.random() < 0.5:
        return head + b"content-length: %d\r\n\r\n" % n + b"b" * got
    before = b"".join(b"%x\r\n" % k + b"c" * k + b"\r\n" for k in (rng.randint(1, 200) for _ in range(rng.randint(0, 3))))
    return head + b"transfer-encoding: chunked\r\n\r\n" + before + b"%x\r\n" % n + b"d" * got


def _cases(seed: int) -> tuple[list[tuple[str, bytes]], list[tuple[bytes, bool]]]:
    """The client's exchanges (kind, first bytes) and the server's partial responses."""
    rng = random.Random(seed)
    client: list[tuple[str, bytes]] = []
    server: list[tuple[bytes, bool]] = []
    for i in range(8):
        span = rng.choice(("short", "long"))
        if rng.random() < 0.35:
            req = _partial(rng, b"POST /rq/%s HTTP/1.1\r\nhost: h\r\n" % span.encode())
            client.append(("req", req))
        else:
            close = rng.random() < 0.4
            server.append((_partial(rng, b"HTTP/1.1 200 OK\r\nx-s: %d\r\n" % i), close))
            client.append(("res", b"GET /rs/%s HTTP/1.1\r\nhost: h\r\nx-case: %d\r\n\r\n"
                           % (span.encode(), len(server) - 1)))
    return client, server


def _payload(body: bytes, chunked: bool) -> int:
    """The payload bytes in what the client got of a body (a chunked one possibly cut)."""
    if not chunked:
        return len(body)
    i = n = 0
    while True:
        j = body.find(b"\r\n", i)
        if j < 0:
            return n
        size = int(body[i:j].split(b";")[0], 16)
        if size == 0:
            return n
        n += min(size, len(body) - j - 2)
        i = j + 2 + size + 2


def _read_reply(c: socket.socket) -> bytes:
    """One reply: its head, then its Content-Length body, or everything until the close."""
    got = b""
    try:
        while b"\r\n\r\n" not in got:
            d = c.recv(65536)
            if not d:
                return got
            got += d
        head = got.split(b"\r\n\r\n", 1)[0].lower()
        if b"content-length: " in head:
            n = int(head.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
            while len(got) - len(head) - 4 < n:
                d = c.recv(65536)
                if not d:
                    break
                got += d
            return got
        while d := c.recv(65536):
            got += d
    except OSError:
        pass
    return got


def _log_fields(line: str) -> tuple[str, ...]:
    """status, bytes, termination state, and which of TR/Tw/Tc/Tr/Ta are -1."""
    parts = line.split("]", 1)[1].split()
    timers = parts[2].split("/")
    return (parts[1], parts[3], parts[4], parts[7], "".join("-" if t == "-1" else "t" for t in timers))


def _run(which: str, client: list[tuple[str, bytes]], server: list[tuple[bytes, bool]]) -> list[object]:
    fe = free_port()
    srv = _Server(server)
    out: list[object] = []
    try:
        with run_proxy(_cfg(fe, srv.port), wait_ports=[fe], which=which) as pp:
            for kind, raw in client:
                with socket.create_connection(("127.0.0.1", fe), timeout=5) as c:
                    c.sendall(raw)
                    got = _read_reply(c)
                    head, _, body = got.partition(b"\r\n\r\n")
                    lines = head.split(b"\r\n")
                    names = [ln.split(b":")[0].lower() for ln in lines[1:]]
                    again = None
                    if kind == "res" and b" 504 " in lines[0]:  # is the connection kept?
                        try:
                            c.sendall(b"GET /next HTTP/1.1\r\nhost: h\r\n\r\n")
                            again = _read_reply(c).split(b"\r\n")[0]
                        except OSError:
                            again = b"<closed>"
                    out.append((kind, lines[0], names, _payload(body, b"transfer-encoding" in names), again))
            deadline = time.monotonic() + 5
            want = len(client) + sum(1 for r in out if r[-1] not in (None, b"", b"<closed>"))  # type: ignore[index]
            while time.monotonic() < deadline:
                logs = [ln for ln in pp.stderr_text().splitlines() if " fe " in ln and "BADREQ" not in ln]
                if len(logs) >= want:
                    break
                time.sleep(0.05)
            out.append([_log_fields(ln) for ln in logs])
    finally:
        srv.close()
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_unfinished_body_wait_as_haproxy(seed: int) -> None:
    require_haproxy("haproxy")
    client, server = _cases(seed)
    ref = _run("haproxy", client, server)
    ours = _run("ours", client, server)
    assert ours == ref
    statuses = {r[1].split(b" ")[1] for r in ref[:-1]}  # type: ignore[index]
    assert {b"504", b"408"} <= statuses, statuses
