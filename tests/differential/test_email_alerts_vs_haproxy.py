"""``mailers`` sections and ``email-alert`` against Debian's HAProxy 2.6: the same mails.

Each proxy has its own SMTP sinks (small servers in this test that answer like a mail server and
keep every line they receive; one of them refuses the recipient). Both proxies run the same
configuration -- three backends mailing at the default level (alert), at notice and at info with
``option log-health-checks`` and ``email-alert myhostname``, one section with two mailers --
and get the same runtime commands (drain, ready, maintenance, health down/up) while their checks
run (a server that answers, one that refuses). Compared: the SMTP exchanges each sink had, as a
sorted list (the alerts of different servers go out concurrently), the Date header masked.
"""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from tests.integration.harness import TcpServer, require_haproxy, run_proxy, wait_files

pytestmark = [pytest.mark.needs_haproxy, pytest.mark.slow]


class SmtpSink(TcpServer):
    """Answers 220, 250 (354 to DATA, 221 to QUIT, 550 to RCPT when ``refuse``); keeps each
    session's lines."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.sessions: list[list[bytes]] = []
        self.lock = threading.Lock()
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        lines: list[bytes] = []
        with self.lock:
            self.sessions.append(lines)
        try:
            c.settimeout(5)
            f = c.makefile("rb")
            c.sendall(b"220 sink ESMTP\r\n")
            data = False
            for line in f:
                lines.append(line)
                if data:
                    if line == b".\r\n":
                        data = False
                        c.sendall(b"250 2.0.0 queued\r\n")
                    continue
                u = line.upper()
                if u.startswith(b"DATA"):
                    data = True
                    c.sendall(b"354 go ahead\r\n")
                elif u.startswith(b"QUIT"):
                    c.sendall(b"221 bye\r\n")
                    break
                elif u.startswith(b"RCPT") and self.refuse:
                    c.sendall(b"550 no such user\r\n")
                else:
                    c.sendall(b"250 OK\r\n")
        except OSError:
            pass
        finally:
            c.close()


class Up(TcpServer):
    def serve(self, c: socket.socket) -> None:
        c.close()


def config(sinks: list[SmtpSink], up: int) -> str:
    out = [f"""global
    stats socket @DIR@/s.sock level admin
mailers one
    mailer m1 127.0.0.1:{sinks[0].port}
    timeout mail 3s
mailers two
    mailer m2 127.0.0.1:{sinks[1].port}
    mailer m3 127.0.0.1:{sinks[2].port}
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
"""]
    for be, extra in (("b_alert", "email-alert mailers one"),
                      ("b_notice", "email-alert mailers two\n    email-alert level notice"),
                      ("b_info", "email-alert mailers one\n    email-alert level info\n"
                                 "    email-alert myhostname lb1.example.net\n    option log-health-checks")):
        out.append(f"""backend {be}
    {extra}
    email-alert from haproxy@example.com
    email-alert to ops@example.com
    server s1 127.0.0.1:{up} check inter 300 rise 1 fall 1
    server s2 127.0.0.1:1 check inter 300 rise 1 fall 1
""")
    return "".join(out)


COMMANDS = ("set server {b}/s1 state drain", "set server {b}/s1 state ready", "disable server {b}/s1",
            "enable server {b}/s1", "set server {b}/s1 health down", "set server {b}/s1 health stopping")


def _cli(path: str, line: str) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        while s.recv(65536):
            pass


def _dialogues(sinks: list[SmtpSink]) -> list[list[str]]:
    out = []
    for i, sk in enumerate(sinks):
        with sk.lock:
            for sess in sk.sessions:
                lines = [re.sub(r"check duration: \d+ms", "check duration: Dms",
                                re.sub(r"^Date: .*", "Date: D", ln.decode("latin-1"))) for ln in sess]
                out.append([f"mailer {i}"] + lines)
    return sorted(out)


def test_email_alerts_as_haproxy() -> None:
    """DOWN (alert), UP and drain (notice), health-check results (info): HELO, MAIL FROM, RCPT TO,
    DATA with From/To/Date/Subject and the text, QUIT; a refused recipient ends the exchange."""
    require_haproxy("haproxy")
    up = Up()
    got = {}
    try:
        for which in ("ours", "haproxy"):
            sinks = [SmtpSink(), SmtpSink(), SmtpSink(refuse=True)]
            with run_proxy(config(sinks, up.port), which=which) as pp:
                wait_files([pp.workdir / "s.sock"], 10, pp.stderr_text)
                time.sleep(1.0)
                for cmd in COMMANDS:
                    for be in ("b_alert", "b_notice", "b_info"):
                        _cli(str(pp.workdir / "s.sock"), cmd.format(b=be))
                    time.sleep(0.6)
                time.sleep(0.5)
                err = pp.stderr_text()
            got[which] = _dialogues(sinks)
            for sk in sinks:
                sk.close()
            assert got[which], f"{which} sent no mail: {err}"
    finally:
        up.close()
    ours = ["".join(d) for d in got["ours"]]
    theirs = ["".join(d) for d in got["haproxy"]]
    extra = [d for d in ours if d not in theirs]
    missing = [d for d in theirs if d not in ours]
    assert ours == theirs, f"haproxy-py only:\n{extra}\n2.6 only:\n{missing}"
