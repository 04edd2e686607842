"""``option nolinger`` (frontend, backend, defaults) against HAProxy 2.6 side by side: the side of
the proxy that has it closes with SO_LINGER {1, 0}, and the peer of that side sees a reset.

2.6's timing around a reset is not deterministic (whether bytes still in flight arrive, which side
closes first when both could), so the test compares only what is: in HTTP, the client of a
``Connection: close`` request reads the whole response then sees its connection reset (TCP state
CLOSE) with the frontend's option, a plain end (CLOSE_WAIT) without it; in TCP, a server whose
client closed sees its connection reset (the client's end forwarded as a reset) with the backend's
option, an end of data without it. The placements of the option are generated: in a defaults
section, the frontend, the backend, cancelled by ``no option nolinger``, in a listen section.
"""

from __future__ import annotations

import random
import socket
import threading
import time

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy

_TCP_CLOSE, _TCP_CLOSE_WAIT = 7, 8


def _after_end(s: socket.socket) -> str:
    """What followed the peer's end of data: "rst" (the state went to CLOSE) or "fin"."""
    st = 0
    for _ in range(40):
        st = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
        if st == _TCP_CLOSE:
            return "rst"
        time.sleep(0.01)
    return "fin" if st == _TCP_CLOSE_WAIT else f"state {st}"


def _read_end(s: socket.socket) -> tuple[bytes, str]:
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return got, "end+" + _after_end(s)
            got += d
    except ConnectionResetError:
        return got, "reset"
    except TimeoutError:
        return got, "timeout"


class _Server:
    """Answers an HTTP request, or reads a TCP client's token, then records (by token) how the
    proxy ended the connection; a thread per connection (2.6 keeps idle HTTP ones open)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.seen: dict[bytes, str] = {}
        self.got: dict[bytes, threading.Event] = {}
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        d = b""
        with c:
            c.settimeout(5)
            try:
                d = c.recv(4096)
                if d.startswith(b"GET"):
                    c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    return
                self.got.setdefault(d, threading.Event()).set()
                self.seen[d] = _read_end(c)[1]
            except OSError as e:
                self.seen[d] = type(e).__name__

    def close(self) -> None:
        self.sock.close()


_PLACES = ("none", "defaults", "frontend", "backend", "both", "defaults-no-frontend", "defaults-no-backend",
           "listen")


def _config(cases: list[tuple[str, str, int]], srv: int) -> str:
    out = []
    for i, (mode, place, port) in enumerate(cases):
        d = "    option nolinger\n" if place.startswith("defaults") else ""
        out.append(f"defaults\n    mode {mode}\n    timeout connect 2s\n    timeout client 3s\n"
                   f"    timeout server 3s\n{d}")
        fe = "    option nolinger\n" if place in ("frontend", "both", "listen") else ""
        be = "    option nolinger\n" if place in ("backend", "both") else ""
        fe += "    no option nolinger\n" if place == "defaults-no-frontend" else ""
        be += "    no option nolinger\n" if place == "defaults-no-backend" else ""
        if place == "listen":
            out.append(f"listen px{i}\n    bind 127.0.0.1:{port}\n{fe}    server s 127.0.0.1:{srv}\n")
        else:
            out.append(f"frontend fe{i}\n    bind 127.0.0.1:{port}\n{fe}    default_backend be{i}\n"
                       f"backend be{i}\n{be}    server s 127.0.0.1:{srv}\n")
    return "".join(out)


def _observe(which: str, cases: list[tuple[str, str, int]]) -> list[tuple[str, str, str]]:
    srv = _Server()
    seen = []
    try:
        with run_proxy(_config(cases, srv.port), wait_ports=[p for _m, _pl, p in cases], which=which):
            for i, (mode, place, port) in enumerate(cases):
                token = b"id%d" % i
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
                with c:
                    if mode == "http":  # the proxy closes the client side after the response
                        c.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                        got, how = _read_end(c)
                        seen.append((mode, place, f"client {how}, {len(got)} bytes"))
                        continue
                    c.sendall(token)  # the client closes: the proxy forwards its end to the server
                    deadline = time.monotonic() + 5
                    while not srv.got.get(token) and time.monotonic() < deadline:
                        time.sleep(0.01)
                    c.shutdown(socket.SHUT_WR)
                    while token not in srv.seen and time.monotonic() < deadline:
                        time.sleep(0.01)
                    seen.append((mode, place, "server " + srv.seen.get(token, "-")))
    finally:
        srv.close()
    return seen


@pytest.mark.parametrize("seed", [1, 2])
def test_nolinger_resets_as_haproxy(seed: int) -> None:
    require_haproxy("haproxy")
    rng = random.Random(seed)
    cases = [(mode, place, free_port()) for mode in ("http", "tcp") for place in _PLACES]
    rng.shuffle(cases)
    ref = _observe("haproxy", cases)
    ours = _observe("ours", cases)
    assert ours == ref
    # the option's effect is there at all (2.6 itself resets where it is set)
    fe_on = ("defaults", "frontend", "both", "defaults-no-backend", "listen")
    be_on = ("defaults", "backend", "both", "defaults-no-frontend", "listen")
    for mode, place, what in ref:
        on = place in (fe_on if mode == "http" else be_on)
        assert ("rst" in what or "reset" in what) == on, (mode, place, what)
