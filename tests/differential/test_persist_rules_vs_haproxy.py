"""``force-persist`` and ``ignore-persist`` (with ``option persist`` and ``option redispatch``
around them) side by side with Debian's HAProxy 2.6: cookie persistence and ``stick on src`` (HTTP
and TCP);
the same requests, with a server in maintenance part of the time; compared: the status, the
server that answered, the cookie it saw and the Set-Cookie the client got, then the tables."""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import Iterator
from typing import Any

from tests.conftest import free_port
from tests.integration.harness import get, http_backends, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

RULES = """    force-persist if {{ req.hdr(x-force) -m found }}
    ignore-persist if {{ path_beg /static }}
"""

CFG = """\
global
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen ck
    bind 127.0.0.1:{ck}
    balance roundrobin
    cookie SRV insert indirect nocache
""" + RULES + """    server s1 127.0.0.1:{p1} cookie A
    server s2 127.0.0.1:{p2} cookie B
listen ckp
    bind 127.0.0.1:{ckp}
    balance roundrobin
    option persist
    option redispatch
    cookie SRV rewrite
    ignore-persist if {{ req.hdr(x-ignore) -m found }}
    force-persist if {{ req.hdr(x-force) -m found }}
    server s1 127.0.0.1:{p1} cookie A
    server s2 127.0.0.1:{p2} cookie B
listen st
    bind 127.0.0.1:{st}
    balance roundrobin
    stick-table type ip size 20 expire 30s
    stick on src
""" + RULES + """    server s1 127.0.0.1:{p1}
    server s2 127.0.0.1:{p2}
listen tcp
    mode tcp
    bind 127.0.0.1:{tcp}
    balance roundrobin
    stick-table type ip size 20 expire 30s
    stick on src
    force-persist if {{ src 127.0.0.50 127.0.0.51 }}
    ignore-persist if {{ src 127.0.0.52 }}
    server s1 127.0.0.1:{p1}
    server s2 127.0.0.1:{p2}
frontend fb
    bind 127.0.0.1:{fb}
    default_backend bb
backend bb
    balance roundrobin
    cookie SRV insert indirect nocache
    http-request set-header x-force 1 if {{ req.hdr(x-late) -m found }}
    force-persist if {{ req.hdr(x-force) -m found }}
    server s1 127.0.0.1:{p1} cookie A
    server s2 127.0.0.1:{p2} cookie B
"""

LISTENS = ("ck", "ckp", "st", "tcp", "fb")
#: the backend each listening port reaches
BACKEND = {"fb": "bb"}


@contextlib.contextmanager
def _both() -> Iterator[dict[str, Any]]:
    require_haproxy("haproxy")
    with http_backends("s1", "s2") as bes:
        for b in bes:
            def answer(rec: Any, name: str = b.name) -> tuple[int, list[tuple[str, str]], bytes]:
                ck = next((v for k, v in rec.headers if k.lower() == "cookie"), None)
                hdrs = [("Set-Cookie", f"SRV=app{name}; path=/")] if b"x-set" in rec.start else []
                return 200, hdrs, f"{name} cookie={ck}".encode()
            b.behaviour = answer
        ports = {w: {n: free_port() for n in LISTENS} for w in ("ours", "haproxy")}
        with contextlib.ExitStack() as st:
            out: dict[str, Any] = {}
            for which, p in ports.items():
                cfg = CFG.format(p1=bes[0].port, p2=bes[1].port, **p)
                pp = st.enter_context(run_proxy(cfg, wait_ports=list(p.values()), which=which))
                out[which] = dict(p, sock=admin_socket(pp, detail=pp.stderr_text), which=which)
            yield out


def _one(b: dict[str, Any], lst: str, path: str, hdrs: dict[str, str], src: str) -> str:
    try:
        status, h, body = get(b[lst], path, hdrs, source=src)
    except OSError as e:
        raise AssertionError(f"{b['which']} {lst} {path} {hdrs} {src}: {e!r}") from e
    return f"{status} {body.decode()} set-cookie={h.get('set-cookie')}"


def test_force_and_ignore_persist_as_haproxy() -> None:
    rnd = random.Random(26)
    paths = ["/", "/a", "/static/x.png", "/x-set"]
    heads: list[dict[str, str]] = [{}, {"Cookie": "SRV=A"}, {"Cookie": "SRV=B"}, {"X-Force": "1"},
                                   {"X-Force": "1", "Cookie": "SRV=A"}, {"X-Ignore": "1", "Cookie": "SRV=A"},
                                   {"Cookie": "SRV=A; other=1"}, {"X-Late": "1", "Cookie": "SRV=A"}]
    with _both() as both:
        seen: set[str] = set()
        for step in range(120):
            if step in (20, 80):  # s1 in maintenance for a while, in every listen of both proxies
                for w in ("ours", "haproxy"):
                    for lst in LISTENS:
                        verb = "disable" if step == 20 else "enable"
                        assert stats_cli(both[w]["sock"], f"{verb} server {BACKEND.get(lst, lst)}/s1") == "\n"
            todo = [(rnd.choice(LISTENS), rnd.choice(paths), dict(rnd.choice(heads)), f"127.0.0.{rnd.randint(50, 54)}")]
            if step == 0:  # every client once in every listen (round robin: some stick to s1)
                todo = [(lst, "/", {}, f"127.0.0.{i}") for lst in LISTENS for i in range(50, 55)]
            if step == 20:  # every client, forced, as soon as s1 is in maintenance
                todo = [(lst, "/", {"X-Force": "1", "Cookie": "SRV=A"}, f"127.0.0.{i}")
                        for lst in LISTENS for i in range(50, 55)]
            for lst, path, h, src in todo:
                got = {w: _one(both[w], lst, path, h, src) for w in ("ours", "haproxy")}
                assert got["ours"] == got["haproxy"], (step, lst, path, h, src, got)
                seen.add(f"{lst} {20 <= step < 80} {path} {sorted(h.items())} {got['ours']}")
        for name in ("st", "tcp"):
            # (the harness's port probe from 127.0.0.1 may or may not have reached a TCP server)
            tables = {w: [ln for ln in re.sub(r"0x[0-9a-f]+:| exp=\d+", "",
                                                stats_cli(both[w]["sock"], f"show table {name}")).splitlines()
                          if "key=127.0.0.5" in ln] for w in ("ours", "haproxy")}
            assert tables["ours"] == tables["haproxy"], name
        # what the comparison covered, as 2.6 did it: forced to a server in maintenance by its
        # cookie or its stick entry; an ignored cookie neither chooses, nor is set, nor rewritten
        assert any(x.startswith("ck True") and "'SRV=A'), ('X-Force'" in x and " 200 s1 " in x for x in seen)
        assert any(x.startswith("st True") and "X-Force" in x and " 200 s1 " in x for x in seen)
        assert all("set-cookie=None" in x for x in seen if x.startswith("ck ") and "/static" in x and "Force" not in x)
        assert any(x.startswith("ck ") and "/static" in x and "'SRV=A')]" in x and " 200 s2 " in x for x in seen)
        assert any(x.startswith("tcp True") and "200 s1" in x for x in seen)  # forced, by source
        # the persist rules run before the backend's http-request rules: a header they add is late
        assert any(x.startswith("fb True") and "X-Late" in x and " 200 s2 " in x for x in seen)
        assert any(x.startswith("ckp") and "/x-set" in x and "X-Ignore" in x and "set-cookie=SRV=apps" in x
                   for x in seen)
