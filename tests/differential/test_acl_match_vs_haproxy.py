"""ACL matching, differential: 2.6 and haproxy-py run the same frontend, where each of ~60 ACLs
(every match method: str, beg, end, sub, dir, dom, reg, len, int with operators and ranges, ip with
networks, found, bool, bin; -i, -f files; derived keywords; converters) sets its own request header
when it matches, and ``http-request return`` sends back which ones did. Seeded generated requests
go to both proxies; the sets must be equal."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import free_port, require_haproxy_bin
from tests.integration.harness import http_request, run_proxy

pytestmark = [pytest.mark.timeout(180), pytest.mark.needs_haproxy]

CONDS = [
    "path /a", "path -i /A", "path_beg /api", "path_beg -i /API /x", "path_end .js .CSS", "path_end -i .css",
    "path_sub pi", "path_dir api", "path_dir -i IMG", "path_reg ^/[a-z]+/[0-9]+$", "path_reg -i ^/A",
    "path_len 4", "path_len 1:3", "path_len gt 6", "path -m beg /a", "url_sub ?", "url_beg /api",
    "url_param(a) 1", "url_param(a) -m int gt 5", "urlp(b) -m found", "urlp(b) -m len 0", "urlp_val(a) 1:9",
    "query -m sub a=", "hdr(host) -i www.a.com", "hdr_beg(host) www.", "hdr_end(host) -i .COM", "hdr_dom(host) a",
    "hdr_dom(host) -i EXAMPLE", "hdr_sub(x-a) z", "hdr_reg(x-a) ^[a-z]+$", "hdr_len(x-a) 2", "hdr_cnt(x-a) ge 2",
    "hdr_cnt(x-a) 0", "hdr_val(x-n) lt 10", "hdr_val(x-n) -m int 12", "hdr_ip(x-ip) 10.0.0.0/8",
    "hdr_ip(x-ip) 192.168.7.9 ::1", "hdr(x-ip) -m ip 10.0.0.2", "src 127.0.0.1", "src 10.0.0.0/8",
    "src_port gt 1024", "dst_port 1:65535", "req.cook(c) 1", "cook_cnt(c) gt 1", "cook_val(c) lt 0",
    "req.cook(d) -m found", "req.cook(d) -m len 0", "method GET", "method -i post", "req.ver 1.1",
    "hdr(x-a),lower -m str zz", "hdr(host),field(1,.) www", "hdr(x-n),word(1,\\ ) -m int 12",
    "path,length gt 3", "hdr(host),lower,map_beg(@DIR@/m.map) -m found", "hdr(x-a) -m found",
    "hdr(x-b) -m bool", "hdr(x-v),hex -m sub 41", "hdr(x-v) -m bin 41", "path -f @DIR@/p.lst",
    "path_beg -i -f @DIR@/p.lst", "always_true", "always_false", "hdr(x-a) -m sub -i ZZ Q",
    "hdr_val(x-n) eq 7", "hdr_val(x-n) ge 13", "hdr_val(x-n) le -1", "req.hdr_cnt gt 10",
    "hdr(x-a) -- -x", "path -m reg -i ^/API/", "hdr() -m sub Zz", "hdr -m found", "req.fhdr() -m found",
    "hdr(host) -i -M -f @DIR@/hosts.map", "hdr(host) -M -f @DIR@/hosts.map",
]

FILES = {"p.lst": "/a\n# c\n\n  /api\n/IMG\n", "m.map": "www. w\napi. a\n",
         "hosts.map": "www.a.com 1\n# c\napi.example.com   2\n"}


def _config(port: int) -> str:
    out = ["defaults", "  mode http", "  timeout client 5s", "  timeout server 5s", "  timeout connect 5s",
           "frontend f", f"  bind 127.0.0.1:{port}"]
    for i, c in enumerate(CONDS):
        out.append(f"  http-request set-header X-M{i} 1 if {{ {c} }}")
    body = "".join(f"%[req.hdr(x-m{i})]," for i in range(len(CONDS)))
    out.append(f'  http-request return status 200 content-type text/plain lf-string "{body}"')
    return "\n".join(out) + "\n"


def _requests(seed: int, n: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        path = rng.choice(("/a", "/A", "/api/1", "/API/x", "/x/img/y.css", "/IMG", "/a.js", "/b/12", "/abc/123",
                           "/pi", "/", "/static/x.CSS", "/api"))
        if rng.random() < 0.6:
            path += "?" + "&".join(f"{rng.choice('ab')}={rng.choice(('', '1', '7', 'x', '12'))}"
                                   for _ in range(rng.randint(1, 3)))
        heads = [f"Host: {rng.choice(('www.a.com', 'WWW.A.COM', 'api.example.com', 'a', 'x.a.org', 'h'))}"]
        for _ in range(rng.randint(0, 3)):
            heads.append(f"X-A: {rng.choice(('zz', 'q', 'Zz, q', 'ab', 'a1', '-x'))}")
        if rng.random() < 0.5:
            heads.append(f"X-B: {rng.choice(('0', '1', '7', 'x', ''))}")
        if rng.random() < 0.6:
            heads.append(f"X-N: {rng.choice(('3', '12', '7', '-5', '13 x', 'x', '12, 3'))}")
        if rng.random() < 0.6:
            heads.append(f"X-IP: {rng.choice(('10.0.0.2', '192.168.7.9', '::1', 'bad', '10.1.1.1, 11.0.0.1'))}")
        if rng.random() < 0.5:
            heads.append(f"X-V: {rng.choice(('A', 'BA', 'x'))}")
        if rng.random() < 0.5:
            heads.append("Cookie: " + "; ".join(f"{rng.choice('cd')}={rng.choice(('1', '-2', ''))}"
                                               for _ in range(rng.randint(1, 3))))
        rng.shuffle(heads)
        method = rng.choice(("GET", "GET", "POST", "HEAD"))
        if method == "POST":
            heads.append("Content-Length: 0")
        out.append((f"{method} {path} HTTP/1.1\r\n" + "\r\n".join(heads) + "\r\nConnection: close\r\n\r\n").encode())
    return out


def _matches(which: str, reqs: list[bytes]) -> list[list[int]]:
    port = free_port()
    out = []
    with run_proxy(_config(port), wait_ports=[port], which=which):
        for raw in reqs:
            resp = http_request(port, raw)
            head, _, body = resp.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), (which, raw, head)
            out.append(body)
    return out


@pytest.fixture(autouse=True)
def _files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pattern and map files, in the directory run_proxy gives @DIR@."""
    import tempfile

    real = tempfile.mkdtemp

    def mkdtemp(*a, **kw):  # type: ignore[no-untyped-def]
        d = real(*a, **kw)
        for name, text in FILES.items():
            Path(d, name).write_text(text)
        return d

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)


def _matched(body: bytes) -> set[int]:
    return {i for i, v in enumerate(body.split(b",")) if v == b"1"}


def test_acl_matches_vs_haproxy() -> None:
    require_haproxy_bin()
    reqs = _requests(12, 60)
    theirs = _matches("haproxy", reqs)
    ours = _matches("ours", reqs)
    diffs = []
    for raw, t, o in zip(reqs, theirs, ours, strict=True):
        if t != o:
            tm = _matched(t)
            om = _matched(o)
            for i in sorted(tm ^ om):
                diffs.append(f"{{ {CONDS[i]} }}: 2.6 {'matches' if i in tm else 'no'}, ours "
                             f"{'matches' if i in om else 'no'} for {raw!r}")
    assert not diffs, "\n".join(diffs[:25]) + f"\n({len(diffs)} differences)"
    hit = {i for t in theirs for i in _matched(t)}
    assert len(hit) >= len(CONDS) - 4, [CONDS[i] for i in range(len(CONDS)) if i not in hit]
