"""Which error page a client gets, as 2.6 chooses it, over generated errorfile layouts: a defaults
section with a random set of `errorfile` codes, frontends and backends overriding random subsets
(an errorfile in a proxy must not drop the ones it inherits), and requests that end in a 400 (bad
request), a 403 (deny in the frontend), a 403 (deny in the backend) and a 503 (no server)."""

from __future__ import annotations

import random
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
