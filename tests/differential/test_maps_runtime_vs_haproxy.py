"""The runtime API on maps and ACL files against Debian's HAProxy 2.6, side by side.

Both proxies run the same configuration: an ACL over a ``-f`` pattern file (``path_beg``) that
blocks, and a ``return`` whose body is a ``map_str`` lookup of the host, a ``map_beg`` lookup of
the path and a ``map_ip`` lookup of a header, all on files in one directory both read. A seeded
generator then sends the same operations to both (``add/set/del/clear/prepare/commit/get/show``
on the maps and the ACL file, versions included, ``del``/``set`` by ``#<ref>`` too, invalid keys
now and then); after each step the reply, ``show map``/``show acl`` (the lists and the contents)
and requests whose answer depends on the maps and the ACL must be the same, entry references
(``0x...`` addresses in 2.6) and the configuration's path replaced by a placeholder.

The configuration also has a predefined ACL and an anonymous one in a condition: 2.6 gives both a
reference of their own (ids after them shift if one is missing).

Left out on purpose: a file shared by several match methods (2.6 counts its entries once per
method: entry_cnt differs) and the ``add map`` payload form.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.harness import HTTP_DEFAULTS, http_request, run_proxy, wait_files

CFG = """\
global
    stats socket @DIR@/admin.sock mode 600 level admin
""" + HTTP_DEFAULTS + """\
frontend main
    bind 127.0.0.1:{fe}
    acl blocked path_beg -f {d}/paths.acl
    acl listed path /inline1 /inline2
    http-request return status 403 content-type text/plain string blocked if blocked
    http-request return status 404 content-type text/plain string listed if listed
    http-request return status 405 content-type text/plain string post if METH_POST || {{ path /anon1 /anon2 }}
    http-request return status 200 content-type text/plain lf-string "%[req.hdr(host),lower,map_str({d}/hosts.map,none)]|%[path,map_beg({d}/beg.map,nob)]|%[req.hdr(x-ip),map_ip({d}/ip.map,noip)]|%[req.hdr(host),lower,map_str_ip({d}/addr.map,0.0.0.0)]|%[req.hdr(x-n),map_int_int({d}/num.map,0)]"
"""

FILES = {
    "hosts.map": "h0.example v0\nh1.example v1\n# comment\n\nh2.example v2\n",
    "beg.map": "/a pa\n/a/b pab\n/c pc\n",
    "ip.map": "10.0.0.0/8 ten\n10.1.0.0/16 ten1\n192.168.1.1 one\n",
    "paths.acl": "/p0\n/p1/\n",
    "addr.map": "h0.example 10.0.0.1\nh1.example ::1\n",
    "num.map": "5 50\n10:20 1020\n",
}
PTR = re.compile(r"0x[0-9a-f]+")


def ask(sock: str, line: str, timeout: float = 3.0) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock)
        s.sendall(line.encode() + b"\n")
        out = b""
        while True:
            try:
                d = s.recv(65536)
            except TimeoutError:
                break
            if not d:
                break
            out += d
        return out.decode("latin-1")


@pytest.fixture()
def both() -> Iterator[dict[str, tuple[str, int, str]]]:
    from tests.conftest import HAPROXY_BIN

    if not os.path.exists(HAPROXY_BIN):
        pytest.fail(f"Debian's haproxy is required ({HAPROXY_BIN})")
    d = tempfile.mkdtemp(prefix="hpy-maps-")
    for name, text in FILES.items():
        Path(d, name).write_text(text)
    out: dict[str, tuple[str, int, str]] = {}
    ctxs = []
    try:
        for which in ("haproxy", "ours"):
            fe = free_port()
            ctx = run_proxy(CFG.format(fe=fe, d=d), wait_ports=[fe], which=which)
            pp = ctx.__enter__()
            ctxs.append(ctx)
            sock = str(pp.workdir / "admin.sock")
            wait_files([sock], 15, pp.stderr_text)
            deadline = time.monotonic() + 10
            while not ask(sock, "show cli level").startswith("admin"):
                assert time.monotonic() < deadline, pp.stderr_text()
                time.sleep(0.05)
            out[which] = (sock, fe, str(pp.cfg))
        yield out
    finally:
        for ctx in reversed(ctxs):
            ctx.__exit__(None, None, None)
        shutil.rmtree(d, ignore_errors=True)


def norm(text: str, cfg: str) -> str:
    return PTR.sub("0xPTR", text.replace(cfg, "CFG"))


def request(port: int, host: str, path: str, ip: str) -> bytes:
    n = sum(map(ord, host + path)) % 25
    raw = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nx-ip: {ip}\r\nx-n: {n}\r\nConnection: close\r\n\r\n").encode()
    resp = http_request(port, raw)
    head, _, body = resp.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0] + b" " + body


def refs_of(sock: str, ident: str, kind: str) -> list[str]:
    return [ln.split(" ", 1)[0] for ln in ask(sock, f"show {kind} {ident}").splitlines() if ln.startswith("0x")]


def ids(sock: str, kind: str) -> dict[str, str]:
    """file -> #id from ``show map``/``show acl``."""
    out = {}
    for ln in ask(sock, f"show {kind}").splitlines()[1:]:
        m = re.match(r"(\d+) \(([^)]*)\)", ln)
        if m and m.group(2):
            out[os.path.basename(m.group(2))] = "#" + m.group(1)
    return out


def gen_op(rnd: random.Random) -> tuple[str, str, str]:
    """(kind, file, operation text with IDENT where the map goes, REF<n> for the n-th entry)."""
    kind, f = rnd.choice([("map", "hosts.map"), ("map", "hosts.map"), ("map", "beg.map"), ("map", "ip.map"),
                          ("map", "addr.map"), ("map", "num.map"), ("acl", "paths.acl"), ("acl", "paths.acl")])
    key = {"hosts.map": lambda: f"h{rnd.randrange(6)}.example",
           "beg.map": lambda: rnd.choice(["/a", "/a/b", "/a/b/c", "/c", "/d", "/"]),
           "ip.map": lambda: rnd.choice(["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.1.1", "0.0.0.0/0",
                                         "not-an-ip", "10.1.2.3"]),
           "paths.acl": lambda: rnd.choice(["/p0", "/p1/", "/p2", "/p3/x", "/"]),
           "addr.map": lambda: f"h{rnd.randrange(4)}.example",
           "num.map": lambda: rnd.choice(["5", "7", "10:20", "15", ":3", "x1"])}[f]
    val = {"addr.map": lambda: rnd.choice(["10.0.0.9", "::2", "1.2.3", "v1"]),
           "num.map": lambda: rnd.choice(["1", "-4", "12", "x"])}.get(f, lambda: f"v{rnd.randrange(10)}")()
    ver = f"@{rnd.randrange(4)}"
    ops = [f"add {kind} IDENT {key()}" + (f" {val}" if kind == "map" else "")] * 8 + [
        f"del {kind} IDENT {key()}", f"del {kind} IDENT REF{rnd.randrange(4)}",
        f"get {kind} IDENT {key().split('/')[0] if f == 'ip.map' else key()}",
        f"show {kind} IDENT", f"clear {kind} IDENT", f"prepare {kind} IDENT",
        f"add {kind} {ver} IDENT {key()}" + (f" {val}" if kind == "map" else ""),
        f"add {kind} {ver} IDENT {key()}" + (f" {val}" if kind == "map" else ""),
        f"commit {kind} {ver} IDENT", f"show {kind} {ver} IDENT", f"clear {kind} {ver} IDENT"]
    if kind == "map":
        ops += [f"set map IDENT {key()} {val}", f"set map IDENT REF{rnd.randrange(4)} {val}"]
    return kind, f, rnd.choice(ops)


PROBES = [("h0.example", "/a/b/x", "10.1.2.3"), ("H1.example", "/p0/x", "10.2.0.1"),
          ("h3.example", "/c", "192.168.1.1"), ("h5.example", "/p3/x", "10.1.2.9"),
          ("h4.example", "/d/e", "172.16.0.1"), ("h2.example", "/p1/", "10.1.0.1"),
          ("x", "/inline1", "10.0.0.1"), ("x", "/anon2", "10.0.0.2")]


@pytest.mark.parametrize("seed", range(1, 6))
def test_generated_map_and_acl_operations(both: dict[str, tuple[str, int, str]], seed: int) -> None:
    rnd = random.Random(seed)
    idmap = {w: {**ids(both[w][0], "map"), **ids(both[w][0], "acl")} for w in both}
    for kind in ("map", "acl"):
        assert (norm(ask(both["ours"][0], f"show {kind}"), both["ours"][2])
                == norm(ask(both["haproxy"][0], f"show {kind}"), both["haproxy"][2]))
    # the ACL line's own patterns, by its id
    ours = norm(ask(both["ours"][0], "show acl"), both["ours"][2])
    anon = re.search(r"^(\d+) \(\) acl 'path' file 'CFG' line \d+", ours, re.M)
    assert anon is not None, ours
    seen: set[str] = set()
    for step in range(60):
        kind, f, op = gen_op(rnd)
        use_id = rnd.random() < 0.5
        ref_n = int(m.group(1)) if (m := re.search(r"REF(\d)", op)) else None
        replies = {}
        for w, (sock, _port, cfg) in both.items():
            ident = idmap[w][f] if use_id else str(Path(FILES_DIR(both), f))
            line = op.replace("IDENT", ident)
            if ref_n is not None:
                refs = refs_of(sock, ident, kind)
                line = re.sub(r"REF\d", "#" + refs[ref_n] if ref_n < len(refs) else "#0x1", line)
            replies[w] = norm(ask(sock, line), cfg)
        assert replies["ours"] == replies["haproxy"], (seed, step, op)
        seen.add(replies["ours"].split("\n", 1)[0][:20])
        for k in ("map", "acl"):
            lists = {w: norm(ask(s, f"show {k}"), c) for w, (s, _p, c) in both.items()}
            assert lists["ours"] == lists["haproxy"], (seed, step, op, k)
        contents = {w: norm(ask(s, f"show {kind} {idmap[w][f]}"), c) for w, (s, _p, c) in both.items()}
        assert contents["ours"] == contents["haproxy"], (seed, step, op)
        if step % 3 == 0:
            n = rnd.randrange(len(PROBES))
            for host, path, ip in PROBES[n:] + PROBES[:n]:
                got = {w: request(p, host, path, ip) for w, (_s, p, _c) in both.items()}
                assert got["ours"] == got["haproxy"], (seed, step, op, host, path, ip)
    assert len(seen) >= 5, seen  # the operations did different things
    # the ACL line's own patterns are live too
    for w, (sock, _port, _cfg) in both.items():
        assert ask(sock, f"clear acl {idmap[w]['paths.acl']}") == "\n"
        assert ask(sock, f"add acl #{anon.group(1)} /inline3") == "\n"
        assert request(both[w][1], "x", "/inline3", "1.1.1.1").startswith(b"HTTP/1.1 404")


def FILES_DIR(both: dict[str, tuple[str, int, str]]) -> str:  # noqa: N802
    """The directory of the map files (read back from 2.6's ``show map``)."""
    for ln in ask(both["haproxy"][0], "show map").splitlines():
        m = re.match(r"\d+ \(([^)]+)\)", ln)
        if m:
            return os.path.dirname(m.group(1))
    raise AssertionError("no map listed")


#: maps used where 2.6 compiles the expression after parsing (use_backend, log-format,
#: unique-id-format, use-server, balance hash) and where it compiles it at once (rules)
DYNAMIC_CFGS = ["""\
global
    stats socket @DIR@/admin.sock mode 600 level admin
""" + HTTP_DEFAULTS + """\
frontend f
    bind 127.0.0.1:{fe}
    acl p path -f {d}/paths.acl
    http-request set-header X %[req.hdr(host),map({d}/hosts.map)]
    http-request set-var(txn.v) req.hdr(host),map_str({d}/hosts.map,d)
    use_backend %[req.hdr(host),lower,map({d}/hosts.map,b)]
    http-request deny if p
    log-format "%[src,map_ip({d}/ip.map)]"
    default_backend b
backend b
    server s 127.0.0.1:1
""", """\
global
    stats socket @DIR@/admin.sock mode 600 level admin
""" + HTTP_DEFAULTS + """\
frontend f
    bind 127.0.0.1:{fe}
    log-format "%[src,map({d}/lf.map)]"
    unique-id-format "%[src,map({d}/uid.map)]"
    use_backend %[req.hdr(host),map({d}/ub.map,b)]
    http-request set-header X %[req.hdr(host),map({d}/sh.map)]
    default_backend b
frontend g
    bind 127.0.0.1:{fe2}
    acl y path /a
    default_backend b
    capture request header Host len 10
    log-format "%[src,map({d}/lf2.map)]"
backend b
    balance hash req.hdr(host),map({d}/bh.map)
    use-server %[req.hdr(host),map({d}/us.map)] if TRUE
    server s 127.0.0.1:1
    timeout server 5s
"""]


@pytest.mark.parametrize("which_cfg", range(len(DYNAMIC_CFGS)))
def test_show_map_lists_maps_of_dynamic_expressions_vs_haproxy(which_cfg: int) -> None:
    """show map / show acl name a map used by use_backend %[...], log-format, unique-id-format,
    use-server and balance hash as 2.6 does: their references come after every other (after
    2.6's HTTP client's two ACLs), proxy by proxy in that order of places, each "used by" the
    line 2.6 says (its own for use_backend and unique-id-format, the proxy's last line but a
    default_backend for log-format and use-server, the proxy's own line for balance hash)."""
    from tests.conftest import HAPROXY_BIN

    if not os.path.exists(HAPROXY_BIN):
        pytest.fail(f"Debian's haproxy is required ({HAPROXY_BIN})")
    d = tempfile.mkdtemp(prefix="hpy-dmaps-")
    for name in ("hosts.map", "ip.map", "paths.acl", "lf.map", "uid.map", "ub.map", "sh.map", "lf2.map",
                 "bh.map", "us.map"):
        Path(d, name).write_text(FILES.get(name, "x y\n"))
    got = {}
    try:
        for which in ("haproxy", "ours"):
            fe, fe2 = free_port(), free_port()
            with run_proxy(DYNAMIC_CFGS[which_cfg].format(fe=fe, fe2=fe2, d=d), wait_ports=[fe],
                           which=which) as pp:
                sock = str(pp.workdir / "admin.sock")
                wait_files([sock], 15, pp.stderr_text)
                deadline = time.monotonic() + 10
                while not ask(sock, "show cli level").startswith("admin"):
                    assert time.monotonic() < deadline, pp.stderr_text()
                    time.sleep(0.05)
                got[which] = [norm(ask(sock, c), str(pp.cfg)) for c in ("show map", "show acl")]
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert got["ours"] == got["haproxy"]
    assert "used by map at file 'CFG'" in got["haproxy"][0]
