"""Email alerts (``email-alert`` with a ``mailers`` section): the SMTP exchange 2.6.12 has with
each mailer for one state change. Pure; engine/mailer.py connects and walks the steps.

As observed on 2.6.12 (tests/differential/test_email_alerts_vs_haproxy.py): a 220 greeting, then
``HELO`` with ``email-alert myhostname`` (else the host's name), ``MAIL FROM``, ``RCPT TO``,
``DATA``, the message (From, To, Date, ``Subject: [HAProxy Alert] TEXT``, a blank line, TEXT, a blank
line, the final dot), ``QUIT``; each command waits for its reply code (250, 354 after DATA, 250
after the message, 221 after QUIT) and any other reply ends the exchange without a word. TEXT is
the log line without its final dot. What is mailed, with its level: a server going DOWN (alert),
UP or entering drain (notice), and the log-health-checks results (info); the proxy's ``email-alert
level`` (alert by default) keeps those at least as important.
"""

from __future__ import annotations

import time

from haproxy_py.config.model import EmailAlert

#: ("expect", code) waits for a reply with that code, ("send", bytes) sends
Step = tuple[str, bytes]


def rfc_date(wall: float) -> str:
    """The Date header as 2.6 writes it: ``Tue, 01 Dec 2026 16:09:50 +0000 (UTC)`` (local time)."""
    t = time.localtime(wall)
    return time.strftime("%a, %d %b %Y %H:%M:%S %z (%Z)", t)


def wanted(ea: EmailAlert, level: int) -> bool:
    return level <= ea.level


def steps(ea: EmailAlert, hostname: str, text: str, wall: float) -> list[Step]:
    """The exchange for one alert about ``text`` (a log line) at wall-clock time ``wall``."""
    msg = text[:-1] if text.endswith(".") else text
    helo = ea.myhostname or hostname
    data = (f"From: {ea.sender}\r\nTo: {ea.to}\r\nDate: {rfc_date(wall)}\r\n"
            f"Subject: [HAProxy Alert] {msg}\r\n\r\n{msg}\r\n\r\n.\r\n")
    enc = "latin-1"
    return [("expect", b"220"), ("send", f"HELO {helo}\r\n".encode(enc, "replace")), ("expect", b"250"),
            ("send", f"MAIL FROM:<{ea.sender}>\r\n".encode(enc, "replace")), ("expect", b"250"),
            ("send", f"RCPT TO:<{ea.to}>\r\n".encode(enc, "replace")), ("expect", b"250"),
            ("send", b"DATA\r\n"), ("expect", b"354"), ("send", data.encode(enc, "replace")), ("expect", b"250"),
            ("send", b"QUIT\r\n"), ("expect", b"221")]


def reply_code(buf: bytes) -> tuple[bytes | None, int]:
    """The code of the first complete reply in ``buf`` (multi-line ``NNN-`` lines skipped) and
    how many bytes it took; ``(None, 0)`` while it is incomplete."""
    pos = 0
    while True:
        end = buf.find(b"\n", pos)
        if end < 0:
            return None, 0
        line = buf[pos:end + 1]
        if len(line) >= 4 and line[3:4] == b"-":
            pos = end + 1
            continue
        return line[:3], end + 1
