"""Replay every scenario of samples/balance/ (captured from HAProxy 2.6) request by request."""

from __future__ import annotations

import json
import re

import pytest
from test_lb_helpers import backends_from_cfg, pick, request

from haproxy_py.lb.base import LbRequest
from haproxy_py.runtime.backend import Backend
from tests.conftest import SAMPLES

BAL = SAMPLES / "balance"
SCENARIOS = sorted(p.name for p in BAL.iterdir() if p.is_dir())


def test_all_scenarios_are_listed() -> None:
    assert len(SCENARIOS) == 36  # every folder is replayed by a test below
    assert "backup_and_states" in SCENARIOS


def _rows(path):  # type: ignore[no-untyped-def]
    rows = []
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        rows.append(line.split("\t"))
    return rows


SEQUENTIAL = [s for s in SCENARIOS
              if s not in ("backup_and_states", "rdp-cookie_map_w1_1_1")
              and not s.endswith("_concurrent")]


@pytest.mark.parametrize("scenario", SEQUENTIAL)
def test_sequential_scenario(scenario: str) -> None:
    d = BAL / scenario
    conf = backends_from_cfg((d / "haproxy.cfg").read_text())["be"]
    be = Backend(conf, 0.0)
    reqs = json.loads((d / "requests.json").read_text())
    rows = _rows(d / "observed.tsv")
    assert len(rows) == len(reqs)
    got, want = [], []
    for spec, row in zip(reqs, rows, strict=True):
        _, src, method, uri, headers, expected = row
        body = spec.get("body")
        req = request(uri, method, json.loads(headers), src=src,
                      body=body.encode() if body is not None else None)
        got.append(pick(be, req))
        want.append(expected)
    assert got == want


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s.endswith("_concurrent")])
def test_concurrent_scenario(scenario: str) -> None:
    """Overlapping slow requests: each one holds its server until the end."""
    d = BAL / scenario
    conf = backends_from_cfg((d / "haproxy.cfg").read_text())["be"]
    be = Backend(conf, 0.0)
    be.counters.scur = 0
    rows = _rows(d / "observed.tsv")
    got = []
    for i, row in enumerate(rows):
        be.counters.scur += 1
        got.append(pick(be, request(row[2]), now=0.3 * i, hold=True))
    assert got == [r[3] for r in rows]


def test_rdp_cookie_scenario() -> None:
    d = BAL / "rdp-cookie_map_w1_1_1"
    be = Backend(backends_from_cfg((d / "haproxy.cfg").read_text())["be"], 0.0)
    for row in _rows(d / "observed.tsv"):
        name, expected = row[1], row[2]
        cookie = b"Cookie: mstshash=" + name.encode() + b"\r\n"
        x224 = bytes([len(cookie) + 6, 0xE0, 0, 0, 0, 0, 0]) + cookie
        tpkt = bytes([3, 0, 0, 4 + len(x224)]) + x224
        assert pick(be, LbRequest(rdp_cookie=tpkt)) == expected
        # the engine may also hand over the value alone
        assert pick(be, LbRequest(rdp_cookie=name.encode())) == expected


# backend process names in backup_and_states: port -> name as the capture reports it
_PORT_NAME = {23001: "s1", 23002: "s2", 23004: "s4", 23005: "s5", 23006: "s6"}


def test_backup_and_states_scenario() -> None:
    d = BAL / "backup_and_states"
    confs = backends_from_cfg((d / "haproxy.cfg").read_text())
    bes = {name: Backend(c, 0.0) for name, c in confs.items()}
    now = 0.0
    checked = 0
    for line in (d / "observed.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        now += 1.0
        if line.startswith("CLI> "):
            m = re.match(r"CLI> set (server|weight) (\w+)/(\w+) (?:state )?(\w+) =>", line)
            assert m, line
            kind, bname, sname, arg = m.groups()
            be = bes[bname]
            srv = be.by_name[sname]
            if kind == "weight":
                assert be.parse_weight(srv, arg, now) == ""
            elif arg == "maint":
                srv.admin.discard("FDRAIN")
                srv.admin.add("FMAINT")
                be.server_state_changed(srv, now)
            elif arg == "drain":
                srv.admin.discard("FMAINT")
                srv.admin.add("FDRAIN")
                be.server_state_changed(srv, now)
            elif arg == "ready":
                srv.admin.discard("FMAINT")
                srv.admin.discard("FDRAIN")
                be.server_state_changed(srv, now)
            continue
        m = re.match(r"(\d+) x GET (\S+) (\{.*?\}) -> (.*)$", line)
        assert m, line
        count, path, headers, result = int(m.group(1)), m.group(2), json.loads(m.group(3)), m.group(4)
        be = bes["be_all" if path.startswith("/all") else "be"]
        cookie = None
        if "Cookie" in headers:
            cookie = headers["Cookie"].split("=", 1)[1]
        if result.startswith("HTTP/1.1 503"):
            for _ in range(count):
                dec = be.select(request(path, cookie=cookie), now)
                assert dec.status == "nosrv"
                checked += 1
            continue
        want = result.split()
        assert len(want) == count
        got = []
        for _ in range(count):
            dec = be.select(request(path, cookie=cookie), now)
            assert dec.status == "ok" and dec.server is not None
            be.take(dec.server, now)
            be.release(dec.server, now)
            got.append(_PORT_NAME[dec.server.port])
        assert got == want, line
        checked += count
    assert checked == 48
