"""``use-server`` side by side with Debian's HAProxy 2.6: seeded random requests (a header the
rules test, a persistence cookie, a stick-table key) while servers go into maintenance, drain and
come back; for every request the server that answered, the Set-Cookie sent and the termination
and cookie flags (``%tsc``) must be equal, and the stick table afterwards.

What 2.6 does and this checks: the first matching rule assigns its server before the persistence
cookie and the stick table are looked at (the cookie is then not set again, the table stores the
server that served); a rule naming a server in maintenance is passed over unless ``option
persist``; a name made by a format (``use-server %[req.hdr(x-name)]``) that names no server ends
the rules. In mode tcp the rules run on the connection.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import free_port
from tests.integration.harness import get, http_backends, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

CFG = """\
global
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen p
    bind 127.0.0.1:{p}
    balance roundrobin
    cookie SRV insert indirect nocache
    stick-table type string len 16 size 20
    stick on req.hdr(x-k) if {{ req.hdr(x-k) -m found }}
    use-server s1 if {{ req.hdr(x-us) s1 }}
    use-server s2 if {{ req.hdr(x-us) s2 }}
    use-server s3 unless {{ req.hdr(x-us) -m found }} || {{ req.hdr(x-k) -m found }}
    use-server %[req.hdr(x-name)] if {{ req.hdr(x-name) -m found }}
    use-server s2 if {{ req.hdr(x-us) any }}
    http-after-response set-header X-Tsc %tsc
    server s1 127.0.0.1:{p1} cookie c1
    server s2 127.0.0.1:{p2} cookie c2
    server s3 127.0.0.1:{p3} cookie c3
listen q
    bind 127.0.0.1:{q}
    balance roundrobin
    option persist
    cookie SRV insert indirect nocache
    use-server s1 if {{ req.hdr(x-us) s1 }}
    use-server s2 if {{ req.hdr(x-us) s2 }}
    http-after-response set-header X-Tsc %tsc
    server s1 127.0.0.1:{p1} cookie c1
    server s2 127.0.0.1:{p2} cookie c2
    server s3 127.0.0.1:{p3} cookie c3
listen t
    mode tcp
    bind 127.0.0.1:{t}
    balance roundrobin
    use-server s3 if {{ src 127.0.0.61 }}
    use-server s1 if {{ src 127.0.0.62 }}
    server s1 127.0.0.1:{p1}
    server s2 127.0.0.1:{p2}
    server s3 127.0.0.1:{p3}
"""
WHO = ("ours", "haproxy")


@contextlib.contextmanager
def _both() -> Iterator[dict[str, Any]]:
    require_haproxy("haproxy")
    with http_backends("s1", "s2", "s3") as bes:
        ports = {w: {"p": free_port(), "q": free_port(), "t": free_port()} for w in WHO}
        with contextlib.ExitStack() as st:
            out: dict[str, Any] = {}
            for which, p in ports.items():
                cfg = CFG.format(p1=bes[0].port, p2=bes[1].port, p3=bes[2].port, **p)
                pp = st.enter_context(run_proxy(cfg, wait_ports=list(p.values()), which=which))
                out[which] = dict(p, sock=admin_socket(pp, detail=pp.stderr_text))
            yield out


@pytest.fixture(scope="module")
def both() -> Iterator[dict[str, Any]]:
    with _both() as b:
        yield b


def _all(b: dict[str, Any], cmd: str) -> None:
    for w in WHO:
        assert stats_cli(b[w]["sock"], cmd) == "\n", cmd


def _req(b: dict[str, Any], w: str, lst: str, hdrs: dict[str, str], src: str | None = None) -> tuple[Any, ...]:
    status, h, body = get(b[w][lst], "/", hdrs, source=src)
    return status, body.decode().strip(), h.get("set-cookie"), h.get("x-tsc")


def _random_headers(r: random.Random) -> dict[str, str]:
    h: dict[str, str] = {}
    if r.random() < 0.6:
        h["X-Us"] = r.choice(["s1", "s2", "s3", "any", "none"])
    if r.random() < 0.4:
        h["Cookie"] = "SRV=" + r.choice(["c1", "c2", "c3", "zz"])
    if r.random() < 0.4:
        h["X-K"] = r.choice(["k1", "k2", "k3"])
    if r.random() < 0.2:
        h["X-Name"] = r.choice(["s1", "s3", "nosuch"])
    return h


#: runtime changes at given steps (both proxies): maintenance, drain, back
EVENTS = {12: ["disable server p/s1", "disable server q/s1"], 24: ["set server p/s2 state drain"],
          36: ["enable server p/s1", "enable server q/s1", "set server p/s2 state ready"],
          44: ["disable server p/s3"], 52: ["enable server p/s3"]}


def test_use_server_rules_as_haproxy(both: dict[str, Any]) -> None:
    r = random.Random(2612)
    seen_ids = set()
    for step in range(64):
        for cmd in EVENTS.get(step, []):
            _all(both, cmd)
        lst = "q" if step % 4 == 3 else "p"
        hdrs = _random_headers(r)
        got = {w: _req(both, w, lst, hdrs) for w in WHO}
        assert got["ours"] == got["haproxy"], (step, lst, hdrs, got)
        seen_ids.add(got["ours"][1])
    assert seen_ids >= {"s1", "s2", "s3"}

    def table(w: str) -> str:
        text = stats_cli(both[w]["sock"], "show table p")
        return re.sub(r"0x[0-9a-f]+:", "0xADDR:", text)

    deadline = time.monotonic() + 3
    while table("ours") != table("haproxy") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert table("ours") == table("haproxy")
    assert "server_key=" in table("ours")


def test_use_server_in_tcp_mode_as_haproxy(both: dict[str, Any]) -> None:
    order = ["127.0.0.61", "127.0.0.62", "127.0.0.63", "127.0.0.61", "127.0.0.64", "127.0.0.62", "127.0.0.65"]
    for src in order:
        got = {w: _req(both, w, "t", {}, src)[:2] for w in WHO}
        assert got["ours"] == got["haproxy"], (src, got)
    assert _req(both, "ours", "t", {}, "127.0.0.61")[1] == "s3"
