"""ACL routing end to end, differential: the same configuration (ACLs over header, cookie, query and
path fetches, with converters, -i, -m, -f pattern files, derived names and integer operators) runs
in Debian's HAProxy 2.6 and in haproxy-py; seeded generated requests go to both and each must land
on the same backend."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import pytest

from tests.conftest import free_port, require_haproxy_bin
from tests.integration.harness import HTTP_DEFAULTS, HttpBackend, http_request, run_proxy

pytestmark = [pytest.mark.timeout(180), pytest.mark.needs_haproxy]

ROUTES = ("b_api", "b_www", "b_c", "b_big", "b_dir", "b_q", "b_rx", "b_def")

PATTERNS = "/api\n# a comment line\n\n  /v2\n/Static\t\n"

RULES = """\
    acl api path_beg -f @DIR@/api.lst
    acl www hdr(host),lower,field(1,.) -m str www
    acl many_c req.cook_cnt(c) ge 2
    acl big hdr_val(x-n) gt 50
    acl dir path_dir -i img
    acl dom hdr_dom(host) -i example
    acl q url_param(a),length gt 1
    acl cs hdr(x-a) -m sub -i zz
    acl rx path_reg ^/[a-z]+/[0-9]+$
    acl mx hdr(x-m),upper -m str GET
    acl st path -i -m end .CSS .js
    use_backend b_api if api
    use_backend b_www if www !many_c
    use_backend b_c if many_c
    use_backend b_big if big || mx
    use_backend b_dir if dir or dom
    use_backend b_q if q cs
    use_backend b_rx if rx || st
    default_backend b_def
"""


def _config(port: int, bes: dict[str, HttpBackend]) -> str:
    out = [HTTP_DEFAULTS, "frontend fe", f"    bind 127.0.0.1:{port}", RULES]
    for name, be in bes.items():
        out += [f"backend {name}", f"    server s 127.0.0.1:{be.port}"]
    return "\n".join(out) + "\n"


def _requests(seed: int, n: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        path = rng.choice(("/api/x", "/API/x", "/v2/y", "/static/a", "/Static/b", "/x/img/y", "/img", "/abc/123",
                           "/abc/12a", "/a.css", "/a.CSS", "/a.js", "/", "/api"))
        if rng.random() < 0.6:
            path += "?" + "&".join(f"{rng.choice('abc')}={rng.choice(('', 'x', 'xyz'))}"
                                   for _ in range(rng.randint(1, 3)))
        heads = [f"Host: {rng.choice(('www.a.com', 'WWW.b.org', 'api.example.com', 'example', 'x.example.net', 'h', 'h', 'h', 'h', 'h.com'))}"]
        if rng.random() < 0.25:
            heads.append("Cookie: " + "; ".join(f"{rng.choice('cd')}=1" for _ in range(rng.randint(1, 3))))
        if rng.random() < 0.25:
            heads.append(f"X-N: {rng.choice(('10', '51', '99, 3', '3, 99', 'x'))}")
        if rng.random() < 0.5:
            heads.append(f"X-A: {rng.choice(('aZZb', 'zz', 'a, b', 'none'))}")
        if rng.random() < 0.3:
            heads.append(f"X-M: {rng.choice(('get', 'Get', 'post'))}")
        rng.shuffle(heads)
        out.append((f"GET {path} HTTP/1.1\r\n" + "\r\n".join(heads) + "\r\nConnection: close\r\n\r\n").encode())
    return out


@contextlib.contextmanager
def _backends() -> Iterator[dict[str, HttpBackend]]:
    bes = {n: HttpBackend(n).start() for n in ROUTES}
    try:
        yield bes
    finally:
        for b in bes.values():
            b.stop()


def _routes(which: str, reqs: list[bytes]) -> list[str]:
    if which == "haproxy":
        require_haproxy_bin()
    port = free_port()
    with _backends() as bes:
        cfg = _config(port, bes)
        with run_proxy(cfg, wait_ports=[port], which=which):
            out = []
            for raw in reqs:
                before = {n: len(b.requests) for n, b in bes.items()}
                resp = http_request(port, raw)
                assert resp.startswith(b"HTTP/1.1 200"), (which, raw, resp[:200])
                got = [n for n, b in bes.items() if len(b.requests) > before[n]]
                out.append(",".join(got))
            return out


@pytest.fixture(autouse=True)
def _pattern_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_proxy replaces @DIR@ with its work directory; the pattern file must be there before the
    proxy reads its configuration, so it is written by a wrapped mkdtemp."""
    import tempfile

    real = tempfile.mkdtemp

    def mkdtemp(*a, **kw):  # type: ignore[no-untyped-def]
        d = real(*a, **kw)
        with open(f"{d}/api.lst", "w") as f:
            f.write(PATTERNS)
        return d

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)


def test_acl_routing_vs_haproxy() -> None:
    reqs = _requests(2606, 120)
    theirs = _routes("haproxy", reqs)
    ours = _routes("ours", reqs)
    diffs = [f"{r!r}: 2.6 -> {t}, ours -> {o}" for r, t, o in zip(reqs, theirs, ours, strict=True) if t != o]
    assert not diffs, "\n".join(diffs[:15])
    assert len(set(theirs)) == len(ROUTES), sorted(set(theirs))  # the inputs reach most routes
