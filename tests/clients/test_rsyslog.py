"""End to end with a real rsyslogd (Debian package) started by the test.

rsyslogd runs in the foreground with its own config (imudp on a loopback port, rule
``local2.* <file>``) and pid file; our Logger sends to it and the test reads the file rsyslog
wrote, checking that rsyslog parsed our RFC3164 header (facility, severity, tag, pid) and kept
the message intact.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from haproxy_py.config.model import Address, LogTarget
from haproxy_py.log.format import LogRecord, formatter_for, set_term
from haproxy_py.log.syslog import Logger, SenderPool
from tests.conftest import free_port

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
TEMPLATE = "%pri%|%syslogfacility-text%|%syslogseverity-text%|%programname%|%procid%|%msg%|%rawmsg%\\n"


def _udp_port() -> int:
    # free_port() reserves a TCP port; make sure the UDP one is free too
    import socket

    for _ in range(20):
        p = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
        return p
    raise RuntimeError("no free UDP port")


@pytest.fixture
def rsyslog(tmp_path: Path):
    if not Path(RSYSLOGD).exists():
        pytest.fail("rsyslogd not found: install Debian's rsyslog package (see .ci/run)")
    port = _udp_port()
    out = tmp_path / "local2.log"
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(
        f'global(workDirectory="{tmp_path}")\n'
        'module(load="imudp")\n'
        f'input(type="imudp" address="127.0.0.1" port="{port}")\n'
        f'template(name="t" type="string" string="{TEMPLATE}")\n'
        f'local2.* action(type="omfile" file="{out}" template="t")\n'
    )
    pidfile = tmp_path / "rsyslogd.pid"
    proc = subprocess.Popen(
        [RSYSLOGD, "-n", "-f", str(conf), "-i", str(pidfile)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        # ready when it wrote its pid file (imudp is bound before that)
        deadline = time.monotonic() + 10
        while not pidfile.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None or not pidfile.exists():
            msg = proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
            pytest.fail(f"rsyslogd did not start: {msg}")
        time.sleep(0.2)
        yield port, out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        proc.stdout.close()


def _wait_lines(path: Path, n: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        if path.exists():
            lines = path.read_text(encoding="latin-1").splitlines()
            if len(lines) >= n:
                return lines
        time.sleep(0.05)
    return lines


def test_rsyslog_receives_our_lines(rsyslog) -> None:
    port, out = rsyslog
    pool = SenderPool()
    try:
        target = LogTarget(Address("ipv4", "127.0.0.1", port, port), "local2")
        other = LogTarget(Address("ipv4", "127.0.0.1", port, port), "local3")  # not matched by the rule
        lg = Logger([target], pid=31337, pool=pool)
        lg_other = Logger([other], pid=31337, pool=pool)

        rec = LogRecord(time.time())
        rec.client_ip, rec.client_port = "127.0.0.1", 40000
        rec.frontend_name, rec.backend_name, rec.server_name = "web", "app", "s1"
        rec.set_timers(TR=0, Tw=0, Tc=1, Tr=2, Ta=3)
        rec.status, rec.bytes_out = 200, 83
        rec.req_caps = ["example.com"]
        rec.request_line = 'GET /x?a="b" HTTP/1.1'
        set_term(rec, "-", "-")
        line = formatter_for("httplog")(rec)

        lg.send(6, line)
        lg_other.send(6, "must not appear")
        lg.send(1, "Server app/s1 is DOWN, reason: Layer4 connection problem")
        lines = _wait_lines(out, 2)
    finally:
        pool.close()
    assert len(lines) == 2, lines
    pri, fac, sev, prog, pid, msg, raw = lines[0].split("|", 6)
    assert (pri, fac, sev, prog, pid) == ("150", "local2", "info", "haproxy", "31337")
    assert msg == " " + line
    assert raw.startswith("<150>") and raw.endswith("haproxy[31337]: " + line)
    assert lines[1].split("|")[:5] == ["145", "local2", "alert", "haproxy", "31337"]
    assert not any("must not appear" in ln for ln in lines)
