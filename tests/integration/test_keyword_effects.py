"""Runtime effects of configuration keywords the registries list as implemented
(haproxy_py/config/support.py) that no other test exercised: each test would fail if the keyword
were parsed and then ignored. Where the effect is observable on both, HAProxy 2.6 runs the same
configuration and the results are compared."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.harness import (
    FE_TO_BE,
    ROOT,
    HttpBackend,
    TcpServer,
    free_port,
    get,
    http_defaults,
    http_request,
    require_haproxy,
    run_proxy,
    wait_port,
)
from tests.integration.stats_client import ADMIN_SOCKET, admin_socket, stats_cli
from tests.integration.syslog_sinks import recv_until_quiet, udp_sink


def _csv(sock: str) -> dict[tuple[str, str], dict[str, str]]:
    text = stats_cli(sock, "show stat")
    lines = [ln for ln in text.splitlines() if ln]
    cols = lines[0].lstrip("# ").split(",")
    out = {}
    for ln in lines[1:]:
        row = dict(zip(cols, ln.split(","), strict=False))
        out[(row["pxname"], row["svname"])] = row
    return out


def test_log_tag_and_send_hostname() -> None:
    sink, lport = udp_sink(timeout=1.0)
    be = HttpBackend("s1").start()
    fe = free_port()
    cfg = (f"global\n    log 127.0.0.1:{lport} local0\n    log-tag globtag\n    log-send-hostname myhost\n"
           + http_defaults() + f"""\
frontend fe
    bind 127.0.0.1:{fe}
    log global
    log-tag fetag
    log-format "%ci %b %ST %{{+Q}}r"
    default_backend be
backend be
    server s1 127.0.0.1:{be.port}
""")
    try:
        with run_proxy(cfg, wait_ports=[fe]):
            assert get(fe, "/x")[0] == 200
            grams = recv_until_quiet(sink)
    finally:
        be.stop()
        sink.close()
    lines = [g.decode().rstrip("\n") for g in grams if b"fetag[" in g and b"GET /x" in g]
    assert lines, grams
    assert " myhost fetag[" in lines[0], lines[0]
    assert lines[0].endswith('127.0.0.1 be 200 "GET /x HTTP/1.1"'), lines[0]


def test_nbproc_starts_workers() -> None:
    fe = free_port()
    be = HttpBackend("s1").start()
    cfg = "global\n    nbproc 2\n" + http_defaults() + f"""\
{FE_TO_BE.format(port=fe)}backend be
    server s1 127.0.0.1:{be.port}
"""
    try:
        with run_proxy(cfg, wait_ports=[fe]) as pp:
            assert get(fe)[0] == 200
            children = []
            for d in Path("/proc").iterdir():
                if d.name.isdigit():
                    try:
                        stat = (d / "stat").read_text()
                    except OSError:
                        continue
                    if int(stat.rsplit(")", 1)[1].split()[1]) == pp.pid:
                        children.append(d.name)
            assert len(children) == 2, children
    finally:
        be.stop()


def _check_intervals(spread: int, inter_ms: int, n: int) -> list[float]:
    srv = TcpServer()
    stamps: list[float] = []
    srv.serve = lambda c: (stamps.append(time.monotonic()), c.close())  # type: ignore[method-assign]
    fe = free_port()
    glob = f"global\n    spread-checks {spread}\n" if spread else ""
    cfg = glob + http_defaults() + f"""\
{FE_TO_BE.format(port=fe)}backend be
    timeout check 1s
    server s1 127.0.0.1:1 check addr 127.0.0.1 port {srv.port} inter {inter_ms}
"""
    try:
        with run_proxy(cfg, wait_ports=[fe]):
            deadline = time.monotonic() + n * inter_ms / 1000 * 2 + 3
            while len(stamps) < n + 1 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        srv.close()
    assert len(stamps) >= n + 1, f"only {len(stamps)} checks reached the 'addr'/'port' target"
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)][:n]


def test_spread_checks_varies_the_interval() -> None:
    """`check addr A port P` sends the checks to A:P (not to the server's address), and
    `spread-checks 50` draws each interval uniformly from inter +/- 50%. A loaded machine only makes
    intervals longer, so the sign of spreading is intervals clearly shorter than `inter`: without
    it none; with it about 30% are under 0.8 x inter (the chance of none in 24 is 2e-4)."""
    plain = _check_intervals(0, 400, 8)
    spread = _check_intervals(50, 400, 24)
    assert 0.3 < statistics.median(plain) < 0.55, plain
    assert not [x for x in plain if x < 0.32], plain
    early = [x for x in spread if x < 0.32]
    assert early and min(spread) > 0.15, (plain, spread)


def test_server_state_base(tmp_path: Path) -> None:
    be1, be2 = HttpBackend("s1").start(), HttpBackend("s2").start()
    fe = free_port()
    body = http_defaults() + f"""\
{FE_TO_BE.format(port=fe)}backend be
    load-server-state-from-file global
    server s1 127.0.0.1:{be1.port}
    server s2 127.0.0.1:{be2.port}
"""
    glob = ADMIN_SOCKET + f"    server-state-base {tmp_path}\n    server-state-file st.txt\n"
    try:
        with run_proxy(glob + body, wait_ports=[fe]) as pp:
            sock = admin_socket(pp)
            stats_cli(sock, "set server be/s1 state maint")
            (tmp_path / "st.txt").write_text(stats_cli(sock, "show servers state"))
        with run_proxy(glob + body, wait_ports=[fe]) as pp:
            sock = admin_socket(pp)
            rows = _csv(sock)
            assert rows[("be", "s1")]["status"] == "MAINT"
            assert rows[("be", "s2")]["status"].startswith("UP") or rows[("be", "s2")]["status"] == "no check"
            assert {get(fe)[2] for _ in range(4)} == {b"s2\n"}
    finally:
        be1.stop()
        be2.stop()


def _statuses(which: str, glob: str, sizes: list[int]) -> list[int]:
    be = HttpBackend("s1").start()
    fe = free_port()
    cfg = glob + http_defaults() + f"""\
{FE_TO_BE.format(port=fe)}backend be
    server s1 127.0.0.1:{be.port}
"""
    out = []
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which):
            for n in sizes:
                raw = (f"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Pad: {'a' * n}\r\n\r\n").encode()
                resp = http_request(fe, raw)
                out.append(int(resp.split()[1]) if resp.startswith(b"HTTP/") else 0)
    finally:
        be.stop()
    return out


@pytest.mark.parametrize("glob", ["global\n    tune.bufsize 4096\n",
                                  "global\n    tune.bufsize 8192\n    tune.maxrewrite 512\n",
                                  "global\n    tune.bufsize 8192\n    tune.maxrewrite 2048\n"])
def test_tune_bufsize_limits_the_request_head(glob: str) -> None:
    """The largest request head accepted follows tune.bufsize - tune.maxrewrite, as in 2.6."""
    require_haproxy("haproxy")
    sizes = [2000, 2900, 3100, 3500, 5500, 6000, 7000, 7500, 7900, 9000]
    ours = _statuses("ours", glob, sizes)
    theirs = _statuses("haproxy", glob, sizes)
    assert ours == theirs, (sizes, ours, theirs)
    assert 400 in ours and 200 in ours


def test_dontlog_normal_and_log_separate_errors() -> None:
    sink, lport = udp_sink(timeout=1.0)
    be = HttpBackend("s1").start()
    fe = free_port()
    cfg = f"global\n    log 127.0.0.1:{lport} local0\n" + http_defaults() + f"""\
frontend fe
    bind 127.0.0.1:{fe}
    log global
    option httplog
    option dontlog-normal
    option log-separate-errors
    use_backend dead if {{ path_beg /dead }}
    default_backend be
backend be
    server s1 127.0.0.1:{be.port}
backend dead
    server s1 127.0.0.1:1
"""
    try:
        with run_proxy(cfg, wait_ports=[fe]):
            assert get(fe, "/ok")[0] == 200
            assert get(fe, "/dead")[0] == 503
            grams = recv_until_quiet(sink)
    finally:
        be.stop()
        sink.close()
    traffic = [g.decode() for g in grams if b"GET /" in g]
    assert len(traffic) == 1 and "GET /dead" in traffic[0], traffic  # the normal request is not logged
    assert traffic[0].startswith("<131>"), traffic[0]  # local0.err (16*8+3), not local0.info (<134>)


def test_no_option_cancels_defaults() -> None:
    """`no option dontlognull` in a frontend cancels the defaults' `option dontlognull`."""
    sink, lport = udp_sink(timeout=1.0)
    fe1, fe2 = free_port(), free_port()
    cfg = f"global\n    log 127.0.0.1:{lport} local0\n" + http_defaults() + f"""\
    log global
    option httplog
    option dontlognull
frontend keep
    bind 127.0.0.1:{fe1}
frontend cancel
    bind 127.0.0.1:{fe2}
    no option dontlognull
"""
    try:
        with run_proxy(cfg, wait_ports=[fe1, fe2]):
            for p in (fe1, fe2):
                socket.create_connection(("127.0.0.1", p), timeout=2).close()
            time.sleep(0.3)
            grams = recv_until_quiet(sink)
    finally:
        sink.close()
    text = b"\n".join(grams).decode()
    assert " cancel/" in text or " cancel " in text, text
    assert " keep/" not in text and " keep " not in text, text


def test_default_server_and_ids() -> None:
    """`id` on a backend and a server, `default-server` parameters inherited and overridden
    (`no-backup`, `no-check`, `enabled`), a `disabled` server, and `http-send-name-header`: the
    same `show stat` figures and the same traffic as HAProxy 2.6."""
    require_haproxy("haproxy")

    def run(which: str) -> tuple[dict[str, tuple[str, ...]], list[str | None], str]:
        b1, b2, b3 = HttpBackend("a").start(), HttpBackend("b").start(), HttpBackend("c").start()
        fe = free_port()
        cfg = ADMIN_SOCKET + http_defaults() + f"""\
{FE_TO_BE.format(port=fe)}backend be
    id 42
    http-send-name-header X-Served-By
    default-server maxconn 7 weight 3 backup check inter 30s disabled
    server s1 127.0.0.1:{b1.port} id 11 no-backup no-check enabled
    server s2 127.0.0.1:{b2.port} enabled
    server s3 127.0.0.1:{b3.port} no-backup
"""
        try:
            with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
                sock = admin_socket(pp)
                for _ in range(4):
                    assert get(fe)[0] == 200
                rows = _csv(sock)
                seen = [r.header("x-served-by") for r in b1.requests + b2.requests + b3.requests]
                names = "".join(r.header("x-served-by") or "?" for r in b1.requests)
        finally:
            for b in (b1, b2, b3):
                b.stop()
        keep = ("iid", "sid", "slim", "weight", "act", "bck", "status", "chkdown")
        return ({k[1]: tuple(v.get(c, "") for c in keep) for k, v in rows.items() if k[0] == "be"},
                sorted(set(seen)), names)

    ours, theirs = run("ours"), run("haproxy")
    assert ours[0] == theirs[0], "\n".join(f"{k}: ours={ours[0].get(k)} haproxy={theirs[0].get(k)}"
                                          for k in sorted(set(ours[0]) | set(theirs[0])))
    assert ours[1] == theirs[1] == ["s1"], (ours[1], theirs[1])
    assert ours[0]["s1"][:2] == ("42", "11") and ours[0]["s3"][6] == "MAINT", ours[0]


def test_disabled_proxy_does_not_listen() -> None:
    p1, p2 = free_port(), free_port()
    be = HttpBackend("s1").start()
    cfg = http_defaults() + f"""\
frontend off
    bind 127.0.0.1:{p1}
    disabled
    default_backend be
frontend on
    bind 127.0.0.1:{p2}
    disabled
    enabled
    default_backend be
backend be
    server s1 127.0.0.1:{be.port}
"""
    try:
        with run_proxy(cfg, wait_ports=[p2]):
            assert get(p2)[0] == 200
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", p1), timeout=1).close()
    finally:
        be.stop()


def _check(cfg: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    f = tmp_path / "c.cfg"
    f.write_text(cfg)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "haproxy_py", "-c", "-f", str(f)], capture_output=True,
                          text=True, env=env, cwd=str(ROOT), timeout=30)


def test_init_addr_libc_is_the_default(tmp_path: Path) -> None:
    """`init-addr libc` (and `last,libc`) is what haproxy-py does: the name is resolved at start and
    traffic flows; an unknown method is refused."""
    be = HttpBackend("s1").start()
    fe = free_port()
    cfg = http_defaults() + f"""\
{FE_TO_BE.format(port=fe)}backend be
    server s1 localhost:{be.port} init-addr last,libc
"""
    try:
        with run_proxy(cfg, wait_ports=[fe]):
            assert get(fe)[0] == 200
    finally:
        be.stop()
    r = _check(cfg.replace("init-addr last,libc", "init-addr bogus"), tmp_path)
    assert r.returncode == 1 and "unknown init-addr method 'bogus'" in r.stderr, r.stderr


def test_stats_page_settings() -> None:
    fe = free_port()
    cfg = http_defaults() + f"""\
listen stats
    bind 127.0.0.1:{fe}
    stats uri /st
    stats realm Ops\\ only
    stats auth admin:s3cret
    stats refresh 7s
    stats hide-version
    stats show-node node-x
    stats show-legends
    stats scope be
backend be
    server s1 127.0.0.1:1
backend other
    server s1 127.0.0.1:1
"""
    import base64

    auth = {"Authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()}
    with run_proxy(cfg, wait_ports=[fe]):
        st, hdrs, _ = get(fe, "/st")
        assert st == 401 and hdrs["www-authenticate"] == 'Basic realm="Ops only"', hdrs
        assert get(fe, "/other")[0] == 503  # not the stats uri
        st, hdrs, body = get(fe, "/st", auth)
        assert st == 200 and hdrs.get("refresh") == "7", hdrs
        page = body.decode()
        assert "node-x" in page
        assert "version 2." not in page and "HAProxy version" not in page
        assert ">be<" in page and ">other<" not in page  # scope
        st, _, csv = get(fe, "/st;csv", auth)
        assert st == 200 and b"\nbe," in csv and b"\nother," not in csv


def test_http_keep_alive_timeout_closes_idle_connection() -> None:
    """`timeout http-keep-alive` closes a kept-alive connection idle after a response, and
    `timeout client` one that never sends a request."""
    be = HttpBackend("s1").start()
    fe = free_port()
    cfg = http_defaults("800ms").replace("timeout client 800ms", "timeout client 600ms") + \
        "    timeout http-keep-alive 200ms\n" + f"""\
{FE_TO_BE.format(port=fe)}backend be
    timeout server 5s
    server s1 127.0.0.1:{be.port}
"""
    try:
        with run_proxy(cfg, wait_ports=[fe]):
            s = socket.create_connection(("127.0.0.1", fe), timeout=3)
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
            t0 = time.monotonic()
            assert s.recv(1) == b""
            assert time.monotonic() - t0 < 0.5  # the keep-alive timeout, not the client one
            s.close()
            s = socket.create_connection(("127.0.0.1", fe), timeout=3)
            t0 = time.monotonic()
            s.recv(65536)
            assert 0.4 < time.monotonic() - t0 < 2.0
            s.close()
    finally:
        be.stop()


def test_bind_v6only_and_v4v6() -> None:
    be = HttpBackend("s1").start()
    p1, p2 = free_port(), free_port()
    cfg = http_defaults() + f"""\
frontend only6
    bind :::{p1} v6only
    default_backend be
frontend both
    bind :::{p2} v4v6
    default_backend be
backend be
    server s1 127.0.0.1:{be.port}
"""
    try:
        with run_proxy(cfg) as _:
            wait_port(p2)
            assert get(p2)[0] == 200  # IPv4 client on the v4v6 listener
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", p1), timeout=1).close()
            s6 = socket.create_connection(("::1", p1), timeout=2)
            s6.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            assert s6.recv(65536).startswith(b"HTTP/1.1 200")
            s6.close()
    finally:
        be.stop()


def test_errorfile_replaces_the_page(tmp_path: Path) -> None:
    page = tmp_path / "503.http"
    page.write_bytes(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nwe are down\n")
    fe = free_port()
    cfg = http_defaults() + f"""\
{FE_TO_BE.format(port=fe)}backend be
    errorfile 503 {page}
    server s1 127.0.0.1:1
"""
    with run_proxy(cfg, wait_ports=[fe]):
        st, _, body = get(fe)
    assert st == 503 and body == b"we are down\n"
