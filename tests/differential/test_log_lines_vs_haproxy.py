"""Differential: request-line variables and which lines are logged, Debian's HAProxy 2.6 against
haproxy-py, over seeded generated traffic logged to UDP syslog sinks.

* ``%HM %HU %HP %HPO %HQ %HV`` and ``%{+Q}r`` for generated origin-form, absolute-form (with and
  without a path, with a query), ``*`` (OPTIONS) and authority-form (CONNECT) request lines:
  ``%HPO`` is the path alone (after the authority of an absolute URI, empty when there is none);
* ``option dontlognull``: a connection that sent nothing is not logged, one that sent a bad or an
  unfinished request is (its ``<BADREQ>`` line: 400 PR--, 400 CR--, 408 cR--).

Not generated: an absolute URI whose authority is followed by ``?`` without a path
(``http://h?q``), which 2.6's parser refuses with a 400 and haproxy-py's accepts.
"""

from __future__ import annotations

import random
import socket
import time

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.harness import TcpServer, free_port, run_proxy
from tests.integration.logdiff import log_sink, read_reply

SEEDS = (5, 1313)
N_LINES = 24


class _Ok(TcpServer):
    def serve(self, c: socket.socket) -> None:
        try:
            c.settimeout(3)
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(65536)
                if not d:
                    return
                data += d
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
        finally:
            c.close()


def _word(rng: random.Random, chars: str = "abcxyz019-._~%") -> str:
    return "".join(rng.choice(chars) for _ in range(rng.randint(1, 8)))


def _request(rng: random.Random) -> bytes:
    host = f"{_word(rng, 'abcxyz')}.{rng.choice(['com', 'org', 'test'])}"
    path = "".join("/" + _word(rng) for _ in range(rng.randint(0, 4))) or "/"
    query = rng.choice(["", "", "?" + _word(rng, "abc=&x1") + "=" + _word(rng)])
    form = rng.choice(["origin", "origin", "absolute", "absolute-nopath", "asterisk", "authority"])
    method = rng.choice(["GET", "HEAD", "DELETE"])
    hosthdr = host
    if form == "origin":
        uri = path + query
    elif form == "absolute":
        uri = f"{rng.choice(['http', 'https'])}://{host}{path}{query}"
    elif form == "absolute-nopath":
        uri = f"http://{host}"
    elif form == "asterisk":
        method, uri = "OPTIONS", "*"
    else:
        port = rng.choice([443, 8443])
        method, uri, hosthdr = "CONNECT", f"{host}:{port}", f"{host}:{port}"
    return f"{method} {uri} HTTP/1.1\r\nHost: {hosthdr}\r\nConnection: close\r\n\r\n".encode()


def _traffic(rng: random.Random) -> list[tuple[str, bytes]]:
    """(what the client does, the bytes it sends) in order; "read" waits for the reply."""
    out = [("read", _request(rng)) for _ in range(N_LINES)]
    odd = [("close", b""), ("close", b"GET /" + _word(rng).encode()), ("read", b"GET / HTTP/1.1\r\nNo colon\r\n\r\n"),
           ("read", b"GE(T / HTTP/1.1\r\nHost: h\r\n\r\n"), ("close", b"\r\n"), ("wait", b""),
           ("wait", b"GET /x HTTP/1.1\r\nHost: h\r\n")]
    for item in odd:
        out.insert(rng.randint(0, len(out)), item)
    return out


def _run(which: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    traffic = _traffic(rng)
    backend = _Ok()
    sink, log_port = log_sink()
    sink.settimeout(1.5)
    fe = free_port()
    cfg = (
        f"global\n    log 127.0.0.1:{log_port} local2\n"
        "defaults\n    mode http\n    log global\n    option dontlognull\n    timeout connect 2s\n"
        "    timeout client 2s\n    timeout server 2s\n    timeout http-request 600\n"
        f"frontend fe\n    bind 127.0.0.1:{fe}\n"
        "    log-format \"%ST %tsc %{+Q}r|%HM|%HU|%HP|%HPO|%HQ|%HV\"\n    default_backend be\n"
        f"backend be\n    server s1 127.0.0.1:{backend.port}\n"
    )
    lines: list[str] = []
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which):
            time.sleep(0.2)
            for how, data in traffic:
                c = socket.create_connection(("127.0.0.1", fe), timeout=3)
                if data:
                    c.sendall(data)
                if how == "close":
                    c.close()
                else:
                    read_reply(c)
                    c.close()
                try:
                    d = sink.recv(65536).decode("latin-1")
                    lines.append(f"{how} {data[:20]!r} -> " + d.split("]: ", 1)[1].rstrip("\n"))
                except TimeoutError:
                    lines.append(f"{how} {data[:20]!r} -> <not logged>")
    finally:
        backend.close()
        sink.close()
    return lines


@pytest.mark.parametrize("seed", SEEDS)
def test_request_line_variables_and_dontlognull_as_haproxy(seed: int) -> None:
    require_haproxy_bin()
    theirs = _run("haproxy", seed)
    ours = _run("ours", seed)
    assert len(theirs) == len(ours)
    for t, o in zip(theirs, ours, strict=True):
        assert t == o, (seed, t, o)
    assert any(line.endswith("<not logged>") for line in theirs)  # the empty connections
    assert any("<BADREQ>" in line for line in theirs)
