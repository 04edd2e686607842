"""Which error page a client gets, as 2.6 chooses it, over generated errorfile layouts: a defaults
section with a random set of `errorfile` codes, frontends and backends overriding random subsets
(an errorfile in a proxy must not drop the ones it inherits), and requests that end in a 400 (bad
request), a 403 (deny in the frontend), a 403 (deny in the backend) and a 503 (no server)."""

from __future__ import annotations

import random
import re
import socket
import tempfile
from pathlib import Path

import pytest

from tests.integration.harness import free_port, http_request, run_proxy

SEED = 5150
N_CONFIGS = 4
CODES = (400, 403, 503)
REASONS = {400: "Bad Request", 403: "Forbidden", 503: "Service Unavailable"}


def _page(d: Path, code: int, who: str) -> Path:
    p = d / f"{who}-{code}.http"
    p.write_bytes(f"HTTP/1.0 {code} {REASONS[code]}\r\nContent-Type: text/plain\r\nX-Page: {who}\r\n\r\n"
                  f"{who} {code}\n".encode())
    return p


def _config(rng: random.Random, d: Path, port: int) -> str:
    def files(who: str) -> str:
        picked = [c for c in CODES if rng.random() < 0.5]
        return "".join(f"    errorfile {c} {_page(d, c, who)}\n" for c in picked)

    return f"""\
defaults
    mode http
    timeout client 2s
    timeout server 2s
    timeout connect 1s
{files("defaults")}\
frontend fe
    bind 127.0.0.1:{port}
{files("fe")}\
    http-request deny if {{ path /fe-deny }}
    use_backend dead if {{ path /dead }}
    default_backend guarded
backend guarded
{files("guarded")}\
    http-request deny if {{ path /be-deny }}
    server s 127.0.0.1:1
backend dead
{files("dead")}\
"""


REQUESTS = {
    "bad": b"GET /x HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n",
    "fe-deny": b"GET /fe-deny HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "be-deny": b"GET /be-deny HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "dead": b"GET /dead HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
}


def _answers(cfg: str, port: int, which: str) -> dict[str, bytes]:
    out = {}
    with run_proxy(cfg, wait_ports=[port], which=which):
        for name, raw in REQUESTS.items():
            resp = http_request(port, raw)
            head, _, body = resp.partition(b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0]
            # header names compared without case: haproxy-py keeps an errorfile's case (README's
            # deliberate difference), 2.6 lower-cases it
            page = [ln.lower() for ln in head.split(b"\r\n") if ln.lower().startswith(b"x-page:")]
            out[name] = status + b" | " + b"".join(page) + b" | " + body
    return out


@pytest.mark.needs_haproxy
def test_error_pages_chosen_as_haproxy(haproxy_bin: str) -> None:
    rng = random.Random(SEED)
    for n in range(N_CONFIGS):
        d = Path(tempfile.mkdtemp(prefix="hpy-ef-"))
        port = free_port()
        cfg = _config(rng, d, port)
        ours, theirs = _answers(cfg, port, "ours"), _answers(cfg, port, "haproxy")
        assert ours == theirs, f"config {n} (seed {SEED}):\n{cfg}\nours={ours}\nhaproxy={theirs}"


# --------------------------------------------------------------------------- errorloc, http-errors
CODES2 = (403, 429, 503)
REASONS.update({429: "Too Many Requests"})


def _config2(rng: random.Random, d: Path, port: int) -> str:
    """Generated lines of every kind: errorfile, errorloc/errorloc302/errorloc303, errorfiles of a
    section (all its codes or some, some of them not in it), in defaults, frontend and backends, in
    random order (a later line wins), with two http-errors sections declared after the proxies."""
    def lines(who: str) -> str:
        out = []
        for _ in range(rng.randint(0, 4)):
            kind = rng.choice(("errorfile", "errorloc", "errorloc302", "errorloc303", "errorfiles"))
            code = rng.choice(CODES2)
            if kind == "errorfile":
                out.append(f"    errorfile {code} {_page(d, code, who)}\n")
            elif kind == "errorfiles":
                codes = " ".join(str(c) for c in rng.sample(CODES2, rng.randint(0, 2)))
                out.append(f"    errorfiles {rng.choice(('sa', 'sb'))} {codes}\n")
            else:
                out.append(f"    {kind} {code} http://{who}.example/{kind}/{code}\n")
        return "".join(out)

    def section(name: str) -> str:
        picked = [c for c in CODES2 if rng.random() < 0.6]
        return f"http-errors {name}\n" + "".join(f"    errorfile {c} {_page(d, c, name)}\n" for c in picked)

    return f"""\
defaults
    mode http
    timeout client 2s
    timeout server 2s
    timeout connect 1s
{lines("defaults")}\
frontend fe
    bind 127.0.0.1:{port}
{lines("fe")}\
    http-request deny if {{ path /fe-deny }}
    http-request deny deny_status 429 if {{ path /fe-429 }}
    use_backend dead if {{ path /dead }}
    default_backend guarded
backend guarded
{lines("guarded")}\
    http-request deny if {{ path /be-deny }}
    http-request deny deny_status 429 if {{ path /be-429 }}
    server s 127.0.0.1:1
backend dead
{lines("dead")}\
{section("sa")}\
{section("sb")}\
"""


REQUESTS2 = {name: f"GET /{name} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
             for name in ("fe-deny", "fe-429", "be-deny", "be-429", "dead")}


def _fetch(port: int, raw: bytes, *, timeout: float = 5.0, grace: float = 0.3) -> bytes:
    """Everything the proxy sent until it closed, or until ``timeout`` passed without data; once a
    whole content-length framed response is in, until ``grace`` passed without more (a keep-alive
    answer: the connection stays open until 'timeout client')."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        s.sendall(raw)
        while True:
            p = out.find(b"\r\n\r\n")
            if p >= 0:
                cl = re.findall(rb"\r\ncontent-length: *([0-9]+) *(?=\r\n)", out[:p + 2], re.I)
                if len(cl) == 1 and b"transfer-encoding" not in out[:p].lower() and len(out) == p + 4 + int(cl[0]):
                    s.settimeout(grace)
            try:
                d = s.recv(65536)
            except TimeoutError:
                break
            if not d:
                break
            out += d
    finally:
        s.close()
    return out


def _answers2(cfg: str, port: int, which: str) -> dict[str, bytes]:
    out = {}
    with run_proxy(cfg, wait_ports=[port], which=which) as pp:
        for name, raw in REQUESTS2.items():
            resp = _fetch(port, raw)
            head, _, body = resp.partition(b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0]
            keep = [ln.lower() for ln in head.split(b"\r\n")[1:]
                    if ln.lower().split(b":")[0] in (b"x-page", b"location", b"content-length", b"connection")]
            out[name] = status + b" | " + b"; ".join(sorted(keep)) + b" | " + body
        warned = "not declared in http-errors section" in pp.stderr_text()
    out["warned"] = str(warned).encode()
    return out


@pytest.mark.slow
@pytest.mark.needs_haproxy
def test_errorloc_and_http_errors_as_haproxy(haproxy_bin: str) -> None:
    rng = random.Random(SEED + 1)
    for n in range(3):
        d = Path(tempfile.mkdtemp(prefix="hpy-el-"))
        port = free_port()
        cfg = _config2(rng, d, port)
        ours, theirs = _answers2(cfg, port, "ours"), _answers2(cfg, port, "haproxy")
        assert ours == theirs, f"config {n} (seed {SEED + 1}):\n{cfg}\nours={ours}\nhaproxy={theirs}"
