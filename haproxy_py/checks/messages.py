"""Texts of the server state-change log lines (HAPROXY_FACTS 7.4, samples/check_log_samples.txt). Pure.

Every function returns the complete text, ending with its final ``.`` (or ``!``), exactly as it
appears after the syslog header in the samples (the sender adds framing and the newline). Severities are the syslog numbers (emerg 0 ... debug 7).
"""

from __future__ import annotations

SEV_EMERG = 0
SEV_ALERT = 1
SEV_CRIT = 2
SEV_ERR = 3
SEV_WARNING = 4
SEV_NOTICE = 5
SEV_INFO = 6
SEV_DEBUG = 7

#: check_status -> check_desc (long text shown in stats and in "reason: ...")
CHECK_DESC: dict[str, str] = {
    "UNK": "Unknown",
    "INI": "Initializing",
    "START": "",
    "CHECKED": "No status change",
    "HANA": "Health analyze",
    "SOCKERR": "Socket error",
    "L4OK": "Layer4 check passed",
    "L4TOUT": "Layer4 timeout",
    "L4CON": "Layer4 connection problem",
    "L6OK": "Layer6 check passed",
    "L6TOUT": "Layer6 timeout",
    "L6RSP": "Layer6 invalid response",
    "L7TOUT": "Layer7 timeout",
    "L7RSP": "Layer7 invalid response",
    "L7OK": "Layer7 check passed",
    "L7OKC": "Layer7 check conditionally passed",
    "L7STS": "Layer7 wrong status",
    "PROCERR": "External check error",
    "PROCTOUT": "External check timeout",
    "PROCOK": "External check passed",
}

#: check_status -> numeric enum of ``show servers state`` (srv_check_status)
CHECK_STATUS_NUM: dict[str, int] = {
    "UNK": 0, "INI": 1, "START": 2, "CHECKED": 3, "HANA": 4, "SOCKERR": 5, "L4OK": 6, "L4TOUT": 7,
    "L4CON": 8, "L6OK": 9, "L6TOUT": 10, "L6RSP": 11, "L7TOUT": 12, "L7RSP": 13, "L7OK": 15,
    "L7OKC": 16, "L7STS": 17, "PROCERR": 18, "PROCTOUT": 19, "PROCOK": 20,
}

#: passive-check (observe) error kinds -> text used in "last one was: ..."
ANALYZE_DESC: dict[str, str] = {
    "L4_ERR": "L4 unsuccessful connection",
    "HTTP_STS": "Wrong http response",
    "HTTP_HDRRSP": "Invalid http response (headers)",
    "HTTP_RSP": "Invalid http response",
    "HTTP_READ_ERROR": "Read error (http)",
    "HTTP_READ_TIMEOUT": "Read timeout (http)",
    "HTTP_BROKEN_PIPE": "Close from server (http)",
}


def server_label(backend: str, server: str, backup: bool) -> str:
    """``Server BE/SRV`` or ``Backup Server BE/SRV``."""
    return f"{'Backup ' if backup else ''}Server {backend}/{server}"


def ascii_encode(text: str, quote: str = '"') -> str:
    """2.6's chunk_asciiencode: a control byte, a byte above 126 and the quote as ``<XX>``."""
    if all(" " <= c <= "~" and c != quote for c in text):
        return text
    return "".join(c if " " <= c <= "~" and c != quote else f"<{ord(c) & 0xFF:02X}>" for c in text)


def check_reason(status: str, code: int | None = None, info: str = "", duration: int | None = None) -> str:
    """``, reason: DESC[, code: N][, info: "I"][, check duration: Dms]`` for a check result."""
    s = ", reason: " + CHECK_DESC.get(status, status)
    if code is not None:
        s += f", code: {code}"
    if info:
        s += f', info: "{ascii_encode(info)}"'
    if duration is not None and duration >= 0:
        s += f", check duration: {duration}ms"
    return s


def tail_left(act: int, bck: int, sessions: int, requeued: int, queued: int) -> str:
    """Counts after a server went away (DOWN, maintenance)."""
    rob = " Running on backup." if bck and not act else ""
    return (f". {act} active and {bck} backup servers left.{rob}"
            f" {sessions} sessions active, {requeued} requeued, {queued} remaining in queue.")


def tail_online(act: int, bck: int, requeued: int, queued: int) -> str:
    """Counts after a server came back or changed while staying online."""
    rob = " Running on backup." if bck and not act else ""
    return (f". {act} active and {bck} backup servers online.{rob}"
            f" {requeued} sessions requeued, {queued} total in queue.")


def server_down(backend: str, server: str, backup: bool, reason: str, act: int, bck: int,
                sessions: int = 0, requeued: int = 0, queued: int = 0) -> str:
    """``Server BE/SRV is DOWN<reason>. N active and M backup servers left. ...`` (severity alert).

    ``reason`` is a ready suffix: ``check_reason(...)``, ``", changed from CLI"``, ``" via BE/SRV"`` or "".
    """
    return f"{server_label(backend, server, backup)} is DOWN{reason}" + tail_left(act, bck, sessions, requeued, queued)


def server_up(backend: str, server: str, backup: bool, reason: str, act: int, bck: int,
              requeued: int = 0, queued: int = 0) -> str:
    """``Server BE/SRV is UP<reason>. N active and M backup servers online. ...`` (severity notice)."""
    return f"{server_label(backend, server, backup)} is UP{reason}" + tail_online(act, bck, requeued, queued)


def server_stopping(backend: str, server: str, backup: bool, reason: str, act: int, bck: int,
                    requeued: int = 0, queued: int = 0) -> str:
    """``Server BE/SRV is stopping<reason>. ... online. ...`` (NOLB; severity notice)."""
    return (f"{server_label(backend, server, backup)} is stopping{reason}"
            + tail_online(act, bck, requeued, queued))


def maint_enter(backend: str, server: str, backup: bool, act: int, bck: int, sessions: int = 0,
                requeued: int = 0, queued: int = 0, via: str | None = None, reason: str | None = None) -> str:
    """``Server BE/SRV is going DOWN for maintenance. ...`` (severity alert)."""
    v = f" via {via}" if via else ""
    if reason:
        v += f" ({reason})"
    return (f"{server_label(backend, server, backup)} is going DOWN for maintenance{v}"
            + tail_left(act, bck, sessions, requeued, queued))


def maint_enter_was_down(backend: str, server: str, backup: bool, via: str | None = None) -> str:
    """A server already DOWN enters maintenance (severity notice)."""
    v = f" via {via}" if via else ""
    return f"{server_label(backend, server, backup)} was DOWN and now enters maintenance{v}."


def maint_leave(backend: str, server: str, backup: bool, up: bool, drain: bool, kind: str = "forced",
                via: str | None = None) -> str:
    """``Server BE/SRV is UP/READY (leaving forced maintenance).`` (severity notice).

    kind: ``forced`` (CLI/stats), ``config`` (``disabled`` keyword), ``inherited`` (tracked server).
    """
    what = {"forced": "leaving forced maintenance", "config": "leaving configuration maintenance",
            "inherited": "leaving maintenance", "resolution": "resolves again"}[kind]
    v = f" via {via}" if via else ""
    return (f"{server_label(backend, server, backup)} is {'UP' if up else 'DOWN'}/"
            f"{'DRAIN' if drain else 'READY'} ({what}){v}.")


def maint_remains(backend: str, server: str, backup: bool, via: str | None = None) -> str:
    """Forced maintenance cleared while still inherited (severity notice)."""
    if via:
        return (f"{server_label(backend, server, backup)} is leaving forced maintenance but remains in"
                f" maintenance via {via}.")
    return f"{server_label(backend, server, backup)} remains in forced maintenance."


def drain_enter(backend: str, server: str, backup: bool, act: int, bck: int, requeued: int = 0,
                queued: int = 0, via: str | None = None) -> str:
    """``Server BE/SRV enters drain state. ...`` (severity notice)."""
    v = f" via {via}" if via else ""
    return (f"{server_label(backend, server, backup)} enters drain state{v}"
            + tail_online(act, bck, requeued, queued))


def drain_leave(backend: str, server: str, backup: bool, up: bool, forced: bool = True,
                via: str | None = None) -> str:
    """``Server BE/SRV is UP (leaving forced drain).`` (severity notice)."""
    what = "leaving forced drain" if forced else "leaving drain"
    v = f" via {via}" if via else ""
    return f"{server_label(backend, server, backup)} is {'UP' if up else 'DOWN'} ({what}){v}."


def drain_remains(backend: str, server: str, backup: bool) -> str:
    """``Server BE/SRV remains in forced drain mode.`` (severity notice)."""
    return f"{server_label(backend, server, backup)} remains in forced drain mode."


def no_server_available(backend: str) -> str:
    """``backend BE has no server available!`` (severity emerg)."""
    return f"backend {backend} has no server available!"


#: what starts the text of a server state change or of a logged health check result
_SERVER_EVENTS = ("Server ", "Backup Server ", "Health check for ", "Agent check for ")
_NO_SERVER = " has no server available!"


def stderr_form(severity: str, text: str) -> tuple[str, str] | None:
    """How 2.6 prints a log event on stderr (foreground): ``(tag, text)``, or None when it does
    not. Its stderr copy is not its syslog one: every server state change and health check
    result is a warning there whatever its syslog severity (a DOWN is an alert, an UP a notice
    in syslog), and "no server available" is an alert with the proxy's name quoted."""
    if text.startswith(_SERVER_EVENTS):
        return "[WARNING] ", text
    if text.endswith(_NO_SERVER):
        kind, _, name = text[:-len(_NO_SERVER)].partition(" ")
        return "[ALERT]   ", f"{kind} '{name}'{_NO_SERVER}"
    if severity in ("emerg", "alert", "crit", "err"):
        return "[ALERT]   ", text
    if severity == "warning":
        return "[WARNING] ", text
    return None


def health_check_result(backend: str, server: str, backup: bool, passed: bool, conditional: bool,
                        reason: str, x: int, y: int, word: str, agent: bool = False) -> str:
    """``Health check for server BE/SRV succeeded, reason: ..., status: x/y UP.`` (option log-health-checks,
    severity notice)."""
    kind = "Agent" if agent else "Health"
    verdict = ("conditionally " if conditional else "") + ("succeeded" if passed else "failed")
    return (f"{kind} check for {'backup ' if backup else ''}server {backend}/{server} {verdict}{reason},"
            f" status: {x}/{y} {word}.")


def hana_info(count: int, kind: str) -> str:
    """Info text of a passive-check (observe) failure."""
    return f"Detected {count} consecutive errors, last one was: {ANALYZE_DESC.get(kind, kind)}"
