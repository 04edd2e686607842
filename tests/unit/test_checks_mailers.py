"""config/mailers.py and checks/mailers.py without sockets (the mails themselves are compared
with 2.6 in tests/differential/test_email_alerts_vs_haproxy.py)."""

from __future__ import annotations

from haproxy_py.checks import mailers as CM
from haproxy_py.config import mailers as ML
from haproxy_py.config.model import EmailAlert, Section


def test_section_lines_and_settings() -> None:
    assert ML.check_line(["mailer", "m1", "127.0.0.1:25"]) is None
    assert ML.check_line(["mailer", "m2", "nohost:25"]) == "'mailer m2' : invalid address: 'nohost' in 'nohost:25'\n"
    assert ML.check_line(["timeout", "foo", "1s"]) == "'timeout' expects 'mail' and <time> as arguments got 'foo'."
    assert ML.check_line(["foo"]) == "unknown keyword 'foo' in 'mailers' section"
    secs = ML.sections((Section("mailers", "mta", (("mailer", "m1", "127.0.0.1:25"), ("timeout", "mail", "2s"))),))
    assert secs["mta"] == ML.Mailers("mta", (("m1", "127.0.0.1", 25),), 2000)
    assert ML.email_alert_arg(["email-alert", "level", "info"]) == ("level", 6)
    assert ML.email_alert_arg(["email-alert", "level", "foo"]) == "unknown log level 'level' after 'foo'"
    assert ML.email_alert_arg(["email-alert", "foo", "x"]) == "email-alert: unknown argument 'foo'."


def test_exchange_and_levels() -> None:
    ea = EmailAlert("mta", "a@x", "b@y", level=5, myhostname=None)
    st = CM.steps(ea, "vm", "Server b/s1 is DOWN. 0 active.", 0.0)
    assert st[1] == ("send", b"HELO vm\r\n") and st[-2] == ("send", b"QUIT\r\n") and st[-1] == ("expect", b"221")
    data = st[9][1].decode()
    assert "Subject: [HAProxy Alert] Server b/s1 is DOWN. 0 active\r\n\r\nServer b/s1 is DOWN. 0 active\r\n\r\n.\r\n" in data
    assert CM.wanted(ea, 1) and CM.wanted(ea, 5) and not CM.wanted(ea, 6)
    assert CM.reply_code(b"250-a\r\n250 ok\r\nxx") == (b"250", 15)
    assert CM.reply_code(b"250-a\r\n25") == (None, 0)
