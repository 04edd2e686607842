"""Differential: Debian's HAProxy 2.6 and our Logger/formatter, same targets, same request.

HAProxy runs with one frontend answering `http-request deny` and several global log targets
(every format, a `len`, a max level); a client sends requests; we capture HAProxy's datagrams,
then produce ours for the same targets and the same values and compare field by field
(ignoring dates, PIDs and client ports).
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from haproxy_py.config.model import Address, LogTarget
from haproxy_py.log.compare import compare_datagrams, parse_datagram, parse_httplog
from haproxy_py.log.format import TERM_EVENTS, LogRecord, formatter_for, set_term
from haproxy_py.log.syslog import Logger, SenderPool
from tests.conftest import free_port
from tests.integration.harness import stop_process
from tests.integration.syslog_sinks import udp_sink

FORMATS = ["rfc3164", "rfc5424", "short", "priority", "timed", "iso", "raw", "local"]


def _udp() -> tuple[socket.socket, int]:
    return udp_sink(0.05)


def _drain(socks: dict[str, socket.socket], want: int, timeout: float = 5.0) -> dict[str, list[bytes]]:
    got: dict[str, list[bytes]] = {k: [] for k in socks}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and sum(map(len, got.values())) < want:
        for k, s in socks.items():
            try:
                got[k].append(s.recv(65536))
            except TimeoutError:
                pass
    return got


@pytest.fixture
def haproxy_logs(haproxy_bin: str, tmp_path: Path):
    socks: dict[str, socket.socket] = {}
    lines = ["global", "    nbthread 1"]
    for fmt in FORMATS:
        s, port = _udp()
        socks[fmt] = s
        lines.append(f"    log 127.0.0.1:{port} format {fmt} local2" if fmt != "rfc3164" else f"    log 127.0.0.1:{port} local2")
    s, port = _udp()
    socks["len100"] = s
    lines.append(f"    log 127.0.0.1:{port} len 100 local2")
    s, port = _udp()
    socks["notice"] = s
    lines.append(f"    log 127.0.0.1:{port} local3 notice")
    fe_port = free_port()
    lines += [
        "defaults", "    log global", "    mode http", "    timeout connect 1s", "    timeout client 2s",
        "    timeout server 2s",
        "frontend fe", f"    bind 127.0.0.1:{fe_port}", "    option httplog", "    http-request deny",
    ]
    cfg = tmp_path / "h.cfg"
    cfg.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([haproxy_bin, "-db", "-f", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", fe_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        # the probe above is an empty connection: drain what it logged
        _drain(socks, want=len(FORMATS) + 1, timeout=1.0)
        with socket.create_connection(("127.0.0.1", fe_port), timeout=2) as c:
            c.sendall(b"GET /p?x=1 HTTP/1.1\r\nHost: h\r\n\r\n")
            c.recv(4096)
        got = _drain(socks, want=len(FORMATS) + 1)
        yield got, proc.pid
    finally:
        stop_process(proc)
        proc.stdout.close()
        for s in socks.values():
            s.close()


def test_headers_and_message_match_haproxy(haproxy_logs) -> None:
    got, hpid = haproxy_logs
    assert got["notice"] == []  # a "notice" target takes no traffic log
    ref = got["rfc3164"]
    assert len(ref) == 1, got
    msg = parse_datagram(ref[0])["message"]
    d = parse_httplog(msg)
    assert d is not None and d["tsc"] == "PR--" and d["status"] == "403"

    # our line for the same request
    rec = LogRecord(time.time())
    rec.client_ip, rec.client_port = "127.0.0.1", int(d["client_port"])
    rec.frontend_name = "fe"
    rec.http = True
    rec.t_request, rec.t_close = 0, 0
    rec.status, rec.bytes_out = 403, int(d["bytes"])
    rec.actconn = rec.feconn = 1
    rec.request_line = "GET /p?x=1 HTTP/1.1"
    set_term(rec, *TERM_EVENTS["deny"])
    ours_msg = formatter_for("httplog")(rec)

    pool = SenderPool()
    try:
        for key, datagrams in got.items():
            if key == "notice":
                continue
            assert len(datagrams) == 1, (key, datagrams)
            theirs = datagrams[0]
            fmt = "rfc3164" if key == "len100" else key
            rx, port = _udp()
            with rx:
                rx.settimeout(2)
                lg = Logger(
                    [LogTarget(Address("ipv4", "127.0.0.1", port, port), "local2", format=fmt,
                               length=100 if key == "len100" else 1024)],
                    pid=hpid, pool=pool,
                )
                lg.send(6, ours_msg)
                ours = rx.recv(65536)
            if key == "len100":
                assert len(ours) == len(theirs) == 101
                assert re.sub(rb"\d", b"9", ours) == re.sub(rb"\d", b"9", theirs), (ours, theirs)
                continue
            diffs = compare_datagrams(theirs, ours)
            assert diffs == [], (key, theirs, ours)
            # identical header bytes once digits (date, time) are masked; PIDs are equal here
            t_hdr = theirs[: theirs.index(msg.encode("latin-1"))]
            o_hdr = ours[: ours.index(ours_msg.encode("latin-1"))]
            assert re.sub(rb"\d", b"9", t_hdr) == re.sub(rb"\d", b"9", o_hdr), (key, t_hdr, o_hdr)
            assert ours.endswith(b"\n") and theirs.endswith(b"\n")
    finally:
        pool.close()
