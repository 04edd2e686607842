"""Differential: ``capture request header``, ``capture response header`` and ``capture cookie`` in
the log lines of Debian's HAProxy 2.6 and haproxy-py, over seeded generated exchanges.

Each run draws a frontend's capture lines (names, lengths, ``len 0`` included, two ``capture
cookie`` lines of which the last counts), then requests and responses whose headers repeat, are
empty, carry the characters the log escapes (``"``, ``#``, ``{``, ``|``, ``}``, high bytes) and
cookies whose names start with the captured one. Both proxies log the same exchanges twice: with
``option httplog`` (the ``{...}`` blocks) and with a ``log-format`` using ``%hr %hs %hrl %hsl``
(plain and ``+Q``), ``%CC``, ``%CS`` and ``capture.req.hdr(N)``/``capture.res.hdr(N)``; every
line must be the same text (the httplog timers by shape).

Header values avoid DEL and control bytes: haproxy-py refuses them in heads (README's deliberate
differences) where 2.6 forwards them.
"""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import require_haproxy_bin
from tests.integration.logdiff import ScriptedBackend, free_port, log_sink, run_requests

SEEDS = (13, 2026)
N_CASES = 30
CHARS = "abcXYZ019 -_.,;:=/\"#{|}\\]'" + "".join(chr(c) for c in (0xA0, 0xE9, 0xFF))
NAMES = ["Host", "User-Agent", "X-Req", "X-Multi", "Referer", "X-Empty"]
RES_NAMES = ["Server", "X-Res", "X-Multi", "Content-Type", "Location", "X-Empty"]
COOKIE_NAMES = ["SID", "SIDX", "sid", "S", "SESSION", "a", "SIDEBAR"]


def _value(rng: random.Random, lo: int = 0, hi: int = 30) -> str:
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(lo, hi))).strip(" ")


def _captures(rng: random.Random) -> tuple[list[str], list[str]]:
    """(the frontend's capture lines, the log-format's capture.req/res.hdr expressions)."""
    lines = []
    req = rng.sample(NAMES, rng.randint(1, 4))
    res = rng.sample(RES_NAMES, rng.randint(1, 3))
    for n in req:
        lines.append(f"capture request header {n} len {rng.choice([0, 1, 3, 8, 20, 64])}")
    for n in res:
        lines.append(f"capture response header {n} len {rng.choice([0, 2, 5, 16, 64])}")
    lines.append(f"capture cookie {rng.choice(COOKIE_NAMES)} len {rng.randint(1, 12)}")
    lines.append(f"capture cookie {rng.choice(COOKIE_NAMES[:3])} len {rng.choice([0, 3, 6, 30])}")
    rng.shuffle(lines)  # request and response slots interleaved: each keeps its own order
    exprs = [f"%[capture.req.hdr({i})]" for i in range(len(req))]
    exprs += [f"%[capture.res.hdr({i})]" for i in range(len(res))]
    return lines, exprs


def _cookies(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 4)):
        name = rng.choice(COOKIE_NAMES)
        parts.append(f"{name}={''.join(rng.choice('abc123') for _ in range(rng.randint(0, 15)))}")
    return rng.choice(["; ", ";"]).join(parts)


def _exchange(rng: random.Random, case: int) -> tuple[bytes, bytes]:
    hdrs = [("Host", _value(rng, 1, 20).replace(" ", "") or "h")]
    for _ in range(rng.randint(0, 6)):
        n = rng.choice(NAMES[1:])
        hdrs.append((rng.choice([n, n.lower(), n.upper()]), "" if n == "X-Empty" else _value(rng)))
    for _ in range(rng.randint(0, 2)):
        hdrs.append(("Cookie", _cookies(rng)))
    rng.shuffle(hdrs)
    hdrs += [("x-case", str(case)), ("Connection", "close")]
    body = b""
    method = rng.choice(["GET", "GET", "POST", "HEAD"])
    if method == "POST":
        body = bytes(rng.choice(b"xyz") for _ in range(rng.randint(0, 40)))
        hdrs.append(("Content-Length", str(len(body))))
    uri = "/" + "".join(rng.choice("abc/") for _ in range(rng.randint(0, 10)))
    req = f"{method} {uri} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in hdrs) + "\r\n"

    status = rng.choice([200, 200, 201, 302, 404, 500, 503])
    rbody = bytes(rng.choice(b"0123456789") for _ in range(rng.randint(0, 60)))
    rh = []
    for _ in range(rng.randint(0, 5)):
        n = rng.choice(RES_NAMES)
        rh.append((rng.choice([n, n.lower()]), "" if n == "X-Empty" else _value(rng)))
    for _ in range(rng.randint(0, 3)):
        rh.append(("Set-Cookie", f"{rng.choice(COOKIE_NAMES)}={_value(rng, 0, 10).replace(';', '')}"
                                 + rng.choice(["", "; path=/", "; HttpOnly"])))
    rng.shuffle(rh)
    rh.append(("Content-Length", str(len(rbody))))
    res = f"HTTP/1.1 {status} Reason\r\n" + "".join(f"{n}: {v}\r\n" for n, v in rh) + "\r\n"
    return req.encode("latin-1") + body, res.encode("latin-1") + (rbody if method != "HEAD" else b"")


def _config(log_port: int, fe_port: int, fe2_port: int, be_port: int, caps: list[str], exprs: list[str]) -> str:
    cap = "".join(f"    {c}\n" for c in caps)
    lf = ("%ST %hr %hs|%hrl|%hsl|%{+Q}hrl|%{+Q}hsl|%CC|%CS|%{+Q}CC|" + "|".join(exprs) + "|%{+Q}r")
    return (
        f"global\n    log 127.0.0.1:{log_port} local2\n"
        "defaults\n    mode http\n    log global\n    timeout connect 2s\n    timeout client 3s\n"
        "    timeout server 3s\n"
        f"frontend fe\n    bind 127.0.0.1:{fe_port}\n    option httplog\n{cap}    default_backend be\n"
        f"frontend fe2\n    bind 127.0.0.1:{fe2_port}\n    log-format \"{lf}\"\n{cap}    default_backend be\n"
        f"backend be\n    server s1 127.0.0.1:{be_port}\n"
    )


_CONNS = re.compile(r" \d+/\d+/(\d+/\d+/\+?\d+ \d+/\d+) ")
_HTTPLOG_HEAD = re.compile(r"^(\S+):\d+ \[[^\]]+\] (\S+ \S+) (\S+) (\d+) (\+?\d+) ")


def _shape(line: str, *, keep_bytes: bool) -> str:
    """An httplog line without what differs between two runs: client port, date, timer values
    (their -1s stay), the byte count unless ``keep_bytes``, and actconn/feconn (2.6 sometimes
    still counts the previous client connection, closing in the background, when the next one
    is logged: not what is under test)."""
    m = _HTTPLOG_HEAD.match(line)
    if m is None:
        return line
    timers = "/".join("-1" if t == "-1" else "N" for t in m.group(3).split("/"))
    size = m.group(5) if keep_bytes else "B"
    rest = _CONNS.sub(r" ac/fc/\1 ", line[m.end():], count=1)
    return f"{m.group(1)}:P [D] {m.group(2)} {timers} {m.group(4)} {size} " + rest


def _run(which: str, seed: int) -> tuple[list[str], list[str], list[bytes]]:
    rng = random.Random(seed)
    caps, exprs = _captures(rng)
    pairs = [_exchange(rng, i) for i in range(N_CASES)]
    backend = ScriptedBackend([res for _, res in pairs])
    sink, log_port = log_sink()
    # run_requests drains the start-up probe's line and waits for each request's line for the
    # sink's timeout: a line comes within milliseconds, 3 s of quiet per run is only waiting
    sink.settimeout(1.0)
    try:
        fe, fe2 = free_port(), free_port()
        cfg = _config(log_port, fe, fe2, backend.port, caps, exprs)
        reqs = [req for req, _ in pairs]
        a = run_requests(which, cfg, reqs, fe_port=fe, sink=sink)
        b = run_requests(which, cfg, reqs, fe_port=fe2, sink=sink)
    finally:
        backend.close()
        sink.close()
    return a.lines, b.lines, a.replies


@pytest.mark.parametrize("seed", SEEDS)
def test_captures_in_httplog_as_haproxy(seed: int) -> None:
    require_haproxy_bin()
    with ThreadPoolExecutor(2) as ex:  # each proxy its own backend, sink and ports: side by side
        theirs, ours = ex.submit(_run, "haproxy", seed), ex.submit(_run, "ours", seed)
        (t_http, t_lf, _), (o_http, o_lf, _) = theirs.result(), ours.result()
    assert len(t_http) == len(o_http) == N_CASES
    for i, (t, o) in enumerate(zip(t_http, o_http, strict=True)):
        assert _shape(t, keep_bytes=True) == _shape(o, keep_bytes=True), (seed, i, t, o)
    for i, (t, o) in enumerate(zip(t_lf, o_lf, strict=True)):
        assert t == o, (seed, i, t, o)
