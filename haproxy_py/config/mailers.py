"""``mailers`` sections and ``email-alert`` settings (the email alerts of server state changes).
Pure: the builder checks each section line with :func:`check_line`, reads ``email-alert`` lines
with :func:`email_alert_arg`, and :func:`sections` gives the sections once everything is read.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from haproxy_py.config.grammar import parse_time

LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


@dataclass(frozen=True, slots=True)
class Mailers:
    """A ``mailers`` section: its SMTP servers (name, host, port) and ``timeout mail`` (ms)."""

    name: str
    servers: tuple[tuple[str, str, int], ...] = ()
    timeout: int = 10_000


def _address(text: str) -> tuple[str, int] | None:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host, int(port)


def check_line(w: list[str]) -> str | None:
    """2.6's verdict on one line of a ``mailers`` section (None when valid)."""
    if w[0] == "mailer":
        if len(w) < 3:
            return "'mailer' expects <name> and <addr>[:<port>] as arguments."
        if _address(w[2]) is None:
            host = w[2].rpartition(":")[0] or w[2]
            return f"'mailer {w[1]}' : invalid address: '{host}' in '{w[2]}'\n"
        return None
    if w[0] == "timeout":
        if len(w) < 3 or w[1] != "mail":
            return f"'timeout' expects 'mail' and <time> as arguments got '{w[1] if len(w) > 1 else ''}'."
        tv = parse_time(w[2])
        if tv.error:
            return f"'timeout mail' expects a positive <time> argument (got '{w[2]}')."
        return None
    return f"unknown keyword '{w[0]}' in 'mailers' section"


def sections(kept: tuple[object, ...]) -> dict[str, Mailers]:
    """The ``mailers`` sections among the kept ones (config.model.Section), by name (the first of a name)."""
    out: dict[str, Mailers] = {}
    for sec in kept:
        if getattr(sec, "kind", "") != "mailers" or sec.name in out:  # type: ignore[attr-defined]
            continue
        servers = []
        timeout = 10_000
        for w in sec.lines:  # type: ignore[attr-defined]
            if w[0] == "mailer" and len(w) >= 3:
                a = _address(w[2])
                if a is not None:
                    servers.append((w[1], a[0], a[1]))
            elif w[0] == "timeout" and len(w) >= 3:
                tv = parse_time(w[2])
                if tv.value:
                    timeout = tv.value
        out[sec.name] = Mailers(sec.name, tuple(servers), timeout)  # type: ignore[attr-defined]
    return out


def email_alert_arg(w: list[str]) -> tuple[str, str | int] | str:
    """One ``email-alert SUB VALUE`` line: ``(sub, value)`` or 2.6's error text. A missing value
    is an empty one (2.6 then finds the setting incomplete)."""
    sub = w[1] if len(w) > 1 else ""
    val = w[2] if len(w) > 2 else ""
    if sub == "level":
        if val not in LEVELS:
            return f"unknown log level '{sub}' after '{val}'"
        return sub, LEVELS.index(val)
    if sub in ("mailers", "from", "to", "myhostname"):
        return sub, val
    return f"email-alert: unknown argument '{sub}'."
