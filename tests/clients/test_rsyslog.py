"""End to end with a real rsyslogd (Debian package) started by the test.

rsyslogd runs in the foreground with its own config (imudp on a loopback port, rule
``local2.* <file>``) and pid file; our Logger sends to it and the test reads the file rsyslog
wrote, checking that rsyslog parsed our RFC3164 header (facility, severity, tag, pid) and kept
the message intact.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from haproxy_py.config.model import Address, LogTarget
from haproxy_py.log.format import LogRecord, formatter_for, set_term
from haproxy_py.log.syslog import Logger, SenderPool
from tests.integration.syslog_sinks import rsyslogd, udp_port, wait_lines

TEMPLATE = "%pri%|%syslogfacility-text%|%syslogseverity-text%|%programname%|%procid%|%msg%|%rawmsg%\\n"


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = udp_port()
    out = tmp_path / "local2.log"
    with rsyslogd(tmp_path, port, TEMPLATE, [("local2.*", out)]):
        yield port, out


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
        lines = wait_lines(out, 2)
    finally:
        pool.close()
    assert len(lines) == 2, lines
    pri, fac, sev, prog, pid, msg, raw = lines[0].split("|", 6)
    assert (pri, fac, sev, prog, pid) == ("150", "local2", "info", "haproxy", "31337")
    assert msg == " " + line
    assert raw.startswith("<150>") and raw.endswith("haproxy[31337]: " + line)
    assert lines[1].split("|")[:5] == ["145", "local2", "alert", "haproxy", "31337"]
    assert not any("must not appear" in ln for ln in lines)
