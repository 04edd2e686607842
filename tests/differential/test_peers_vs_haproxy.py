"""Peers replication between haproxy-py and Debian's HAProxy 2.6 on loopback, both ways: an entry
written in one process (``set table`` on the CLI, or traffic through ``track-sc0`` and
``sc-inc-gpc0``) appears on the other within a second, with the same counters and expiry (within
the time the test itself takes); haproxy-py with haproxy-py too; and a reload of haproxy-py
(``-sf``) keeps the entries (the old process teaches the new one through the local peer).

Every process is started by the test and stopped by its PID; every wait polls with a deadline.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.harness import ROOT, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

STORE = "gpc0,http_req_cnt,http_req_rate(10s),server_id"


def _cfg(me: str, ports: dict[str, int], http: int, *, style: str = "peer", sticky: int | None = None) -> str:
    out = ("global\n    stats socket @DIR@/admin.sock mode 600 level admin\n"
           + (f"    localpeer {me}\n" if style == "server" else "")
           + "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
           "peers mypeers\n")
    if style == "peer":
        out += "".join(f"    peer {n} 127.0.0.1:{p}\n" for n, p in ports.items())
    else:  # 2.0+ form: bind for the local peer, server lines
        out += f"    bind 127.0.0.1:{ports[me]}\n"
        out += "".join(f"    server {n}\n" if n == me else f"    server {n} 127.0.0.1:{p}\n" for n, p in ports.items())
    out += "    table t2 type string len 16 size 100 expire 20s store gpc0,conn_cnt\n"
    out += (f"frontend fe\n    bind 127.0.0.1:{http}\n"
            "    http-request track-sc0 src table st\n"
            "    http-request sc-inc-gpc0(0)\n"
            "    http-request return status 200 content-type text/plain string ok\n"
            f"backend st\n    stick-table type ip size 100 expire 30s store {STORE} peers mypeers\n")
    if sticky is not None:  # stick on src: server_id and server_key (2.6's dictionary cache) replicate
        out += (f"listen sticky\n    bind 127.0.0.1:{sticky}\n    balance roundrobin\n"
                "    stick-table type ip size 100 expire 30s peers mypeers\n    stick on src\n"
                f"    server s1 127.0.0.1:{http}\n    server s2 127.0.0.1:{http}\n")
    return out


#: the stick-on-src listen's port of each process, by its stats socket
STICKY: dict[str, int] = {}


def _lines(text: str) -> dict[str, tuple[str, int]]:
    """key -> (the entry's line without address and expiry, expiry ms)."""
    out = {}
    for ln in text.splitlines():
        m = re.match(r"0x[0-9a-f]+: key=(\S+) use=\d+ exp=(\d+)(.*)", ln)
        if m:
            out[m.group(1)] = (m.group(3), int(m.group(2)))
    return out


def _wait_entry(sock: str, table: str, key: str, want: str | None = None, timeout: float = 12.0) -> tuple[str, int]:
    """The entry ``key`` of ``table`` once it is there (and its data equal ``want``). The deadline
    covers a peer session that a loaded machine made 2.6 drop: it reconnects within 5 s and then
    pushes what the other side had not acknowledged. The latency itself is asserted where a write
    is made (``_both_ways``)."""
    deadline = time.monotonic() + timeout
    got: dict[str, tuple[str, int]] = {}
    while time.monotonic() < deadline:
        got = _lines(stats_cli(sock, f"show table {table}"))
        if key in got and (want is None or got[key][0] == want):
            return got[key]
        time.sleep(0.05)
    raise AssertionError(f"{key} not in {table} as {want!r} after {timeout}s: {got}")


def _get(port: int, src: str = "127.0.0.1") -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(src, 0)) as c:
        c.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        data = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            data += d
        assert data.startswith(b"HTTP/1.1 200"), data[:80]


@contextlib.contextmanager
def _pair(kind_b: str = "haproxy", style: str = "peer") -> Iterator[tuple[str, str, int, int]]:
    """haproxy-py ("py") and another process ("hap": Debian's HAProxy, or haproxy-py again) peered;
    yields both stats sockets and HTTP ports once a first write crossed both ways."""
    if kind_b == "haproxy":
        require_haproxy("haproxy")
    ports = {"hap": free_port(), "py": free_port()}
    h_py, h_hap = free_port(), free_port()
    k_py, k_hap = free_port(), free_port()
    with run_proxy(_cfg("hap", ports, h_hap, sticky=k_hap), which=kind_b if kind_b == "haproxy" else "ours",
                   extra_args=["-L", "hap"]) as a, \
            run_proxy(_cfg("py", ports, h_py, style=style, sticky=k_py),
                      extra_args=[] if style == "server" else ["-L", "py"]) as b:
        sa = admin_socket(a, detail=a.stderr_text)
        sb = admin_socket(b, detail=b.stderr_text)
        STICKY[sa], STICKY[sb] = k_hap, k_py
        # sessions up: a write on each side crosses (2.6 retries a peer every 5 s)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            stats_cli(sb, "set table mypeers/t2 key probe-py data.gpc0 1")
            stats_cli(sa, "set table mypeers/t2 key probe-hap data.gpc0 1")
            if "probe-py" in stats_cli(sa, "show table mypeers/t2") and \
                    "probe-hap" in stats_cli(sb, "show table mypeers/t2"):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"peers never connected:\n{a.stderr_text()}\n{b.stderr_text()}")
        yield sa, sb, h_hap, h_py


def _same(sa: str, sb: str, table: str, key: str, want: str | None = None) -> str:
    """The entry is on both sides with the same data and about the same expiry; its data."""
    da, ea = _wait_entry(sa, table, key, want)
    db, eb = _wait_entry(sb, table, key, da)
    assert abs(ea - eb) < 3000, (key, ea, eb)
    return da


def _both_ways(sa: str, sb: str, ha: int, hb: int) -> None:
    # CLI writes, each side
    stats_cli(sb, "set table st key 10.1.1.1 data.gpc0 7 data.server_id 3 data.http_req_cnt 4000000000")
    t0 = time.monotonic()
    d = _same(sb, sa, "st", "10.1.1.1")
    assert time.monotonic() - t0 < 1.5 and "gpc0=7" in d and "server_id=3" in d and "http_req_cnt=4000000000" in d
    stats_cli(sa, "set table st key 10.2.2.2 data.gpc0 5 data.http_req_rate 9")
    d = _same(sa, sb, "st", "10.2.2.2")
    assert "gpc0=5" in d and "http_req_rate(10000)=9" in d
    # traffic: track-sc0 src and sc-inc-gpc0 on one side, counters the same on the other
    for _ in range(3):
        _get(hb, "127.0.0.3")
    d = _same(sb, sa, "st", "127.0.0.3", " server_id=0 gpc0=3 http_req_cnt=3 http_req_rate(10000)=3")
    for _ in range(2):
        _get(ha, "127.0.0.4")
    d = _same(sa, sb, "st", "127.0.0.4", " server_id=0 gpc0=2 http_req_cnt=2 http_req_rate(10000)=2")
    # a later write of a known key replaces the data there
    stats_cli(sa, "set table st key 10.1.1.1 data.gpc0 8")
    _same(sa, sb, "st", "10.1.1.1", " server_id=3 gpc0=8 http_req_cnt=4000000000 http_req_rate(10000)=0")
    # the peers section's own table (mypeers/t2 here, t2 on the wire)
    stats_cli(sb, "set table mypeers/t2 key abc data.gpc0 2 data.conn_cnt 11")
    _same(sb, sa, "mypeers/t2", "abc", " gpc0=2 conn_cnt=11")
    # stick on src: the server's id and name, both ways (several keys: the name goes once with its
    # text, then by its slot in the connection's dictionary cache)
    for src in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
        _get(STICKY[sb], src)
    for src in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
        d = _same(sb, sa, "sticky", src)
        assert re.fullmatch(r" server_id=[12] server_key=s[12]", d), d
    for src in ("127.0.0.14", "127.0.0.15"):
        _get(STICKY[sa], src)
        d = _same(sa, sb, "sticky", src)
        assert re.fullmatch(r" server_id=[12] server_key=s[12]", d), d


def test_entries_replicate_both_ways_with_haproxy() -> None:
    with _pair() as (sa, sb, ha, hb):
        _both_ways(sa, sb, ha, hb)


def _late_joiner(which: str) -> int:
    """2.6 has had an entry for 2 s when a peer starts: how much shorter than its table's 30 s
    the new peer's expiry was made, 1.5 s after the entry arrived there (time to settle)."""
    ports = {"hap": free_port(), "py": free_port()}
    with run_proxy(_cfg("hap", ports, free_port()), which="haproxy", extra_args=["-L", "hap"]) as a:
        sa = admin_socket(a, detail=a.stderr_text)
        stats_cli(sa, "set table st key 10.3.3.3 data.gpc0 1")
        time.sleep(2)
        with run_proxy(_cfg("py", ports, free_port()), which=which, extra_args=["-L", "py"]) as b:
            sb = admin_socket(b, detail=b.stderr_text)
            deadline = time.monotonic() + 10
            while "10.3.3.3" not in _lines(stats_cli(sb, "show table st")):
                assert time.monotonic() < deadline, "never learned"
                time.sleep(0.02)
            seen = time.monotonic()
            time.sleep(1.5)
            exp = _lines(stats_cli(sb, "show table st"))["10.3.3.3"][1]
            return 30000 - exp - int((time.monotonic() - seen) * 1000)


@pytest.mark.slow
def test_expiry_of_a_late_joiner_as_haproxy() -> None:
    """What a peer started later gets as expiry: 2.6 teaches it in the full resync (with the
    expiry left), then pushes its local entries again from the teaching origin without one, so
    the late peer's table sets its own (a fresh 30 s, not 28). haproxy-py there does the same."""
    require_haproxy("haproxy")
    theirs = _late_joiner("haproxy")
    ours = _late_joiner("ours")
    assert theirs < 1000 and ours < 1000, (ours, theirs)


def test_localpeer_and_server_bind_lines() -> None:
    """haproxy-py named by 'localpeer', its peers section written with bind/server lines."""
    with _pair(style="server") as (sa, sb, ha, hb):
        stats_cli(sa, "set table st key 10.9.9.9 data.gpc0 3")
        _same(sa, sb, "st", "10.9.9.9", " server_id=0 gpc0=3 http_req_cnt=0 http_req_rate(10000)=0")
        stats_cli(sb, "set table st key 10.9.9.8 data.gpc0 4")
        _same(sb, sa, "st", "10.9.9.8")


def test_haproxy_py_with_haproxy_py() -> None:
    with _pair(kind_b="ours") as (sa, sb, ha, hb):
        _both_ways(sa, sb, ha, hb)


def _start(cfg: Path, *args: str) -> subprocess.Popen:
    errf = open(cfg.parent / f"stderr-{time.monotonic_ns()}.txt", "wb")
    return subprocess.Popen([sys.executable, "-m", "haproxy_py", "-db", "-f", str(cfg), "-L", "py", *args],
                            stdout=errf, stderr=errf, cwd=str(ROOT),
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def _answered_by(sock: Path, pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if f"\nPid: {pid}\n" in stats_cli(str(sock), "show info", timeout=1):
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"process {pid} does not answer on {sock}")


def _stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def test_reload_keeps_the_entries() -> None:
    """-sf: the old process connects to its local peer (now the new process) and teaches it."""
    d = Path(tempfile.mkdtemp(prefix="hpy-peers-"))
    ports = {"py": free_port(), "other": free_port()}  # the other peer never runs
    cfg = d / "haproxy.cfg"
    cfg.write_text(_cfg("py", ports, free_port()).replace("@DIR@", str(d)))
    sock = d / "admin.sock"
    procs = []
    try:
        old = _start(cfg)
        procs.append(old)
        _answered_by(sock, old.pid)
        for i in range(50):
            stats_cli(str(sock), f"set table st key 10.5.0.{i} data.gpc0 {i} data.server_id {i % 4}")
        stats_cli(str(sock), "set table mypeers/t2 key kept data.conn_cnt 42")
        time.sleep(1)
        before = stats_cli(str(sock), "show table st")
        new = _start(cfg, "-sf", str(old.pid))
        procs.append(new)
        _answered_by(sock, new.pid)
        assert old.wait(timeout=15) == 0
        after = stats_cli(str(sock), "show table st")
        assert {k: v[0] for k, v in _lines(after).items()} == {k: v[0] for k, v in _lines(before).items()}
        assert len(_lines(after)) == 50
        # the expiry each entry had left came along (a fresh one would be 30 s again)
        exp_before = {k: v[1] for k, v in _lines(before).items()}
        assert all(v[1] <= exp_before[k] for k, v in _lines(after).items())
        assert " conn_cnt=42" in stats_cli(str(sock), "show table mypeers/t2")
    finally:
        for p in procs:
            _stop(p)


def test_a_local_peer_is_a_listener() -> None:
    """As 2.6: a process whose only listener is its local peer runs (no 'No enabled listener')."""
    port = free_port()
    cfg = ("defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n"
           f"peers p\n    peer me 127.0.0.1:{port}\n    peer other 127.0.0.1:{free_port()}\n"
           "backend st\n    stick-table type ip size 10 store gpc0 peers p\n")
    with run_proxy(cfg, wait_ports=[port], extra_args=["-L", "me"]):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"HAProxyS 2.1\nme\nother 1 1\n")
            assert c.recv(4)[:4] == b"200\n"


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def test_master_worker_reload_keeps_the_entries() -> None:
    """-W: a reload (SIGUSR2 to the master) starts a new worker; the old one teaches it."""
    import signal

    ports = {"py": free_port(), "other": free_port()}
    with run_proxy(_cfg("py", ports, free_port()), extra_args=["-W", "-L", "py"]) as pp:
        sock = admin_socket(pp, detail=pp.stderr_text)
        deadline = time.monotonic() + 15
        while len(_children(pp.pid)) != 1:
            assert time.monotonic() < deadline, "no worker"
            time.sleep(0.05)
        first = _children(pp.pid)
        for i in range(20):
            assert stats_cli(sock, f"set table st key 10.6.0.{i} data.gpc0 {i}") == "\n"
        before = {k: v[0] for k, v in _lines(stats_cli(sock, "show table st")).items()}
        assert len(before) == 20
        pp.proc.send_signal(signal.SIGUSR2)
        while (kids := _children(pp.pid)) == [] or set(kids) & set(first):
            assert time.monotonic() < deadline + 15, ("old worker still there", kids, first)
            time.sleep(0.05)
        got: dict[str, str] = {}
        while time.monotonic() < deadline + 20:
            try:
                got = {k: v[0] for k, v in _lines(stats_cli(sock, "show table st")).items()}
            except OSError:
                got = {}
            if got == before:
                break
            time.sleep(0.1)
        assert got == before, pp.stderr_text()
