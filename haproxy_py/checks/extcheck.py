"""External checks (``option external-check``): what the program is given and what its end
means. Pure; engine/checker.py starts the program and waits for it.

As 2.6.12 does (compared in tests/differential/test_external_check_vs_haproxy.py):

* arguments: the command as configured, then the proxy's first listening address and port
  (``NOT_USED NOT_USED`` for a backend), then the server's address and port;
* environment: only 2.6's variables (the proxy's address, id, name and port -- empty for a
  backend --, the server's address, current sessions, id, maxconn, name, port, protocol (``tcp``,
  ``h1`` in HTTP mode) and TLS flag) and ``PATH``: ``external-check path``, empty without it;
* exit 0 passes (PROCOK, code 0), another exit status fails with it as the code (PROCERR), a
  program that cannot be started fails with code 255 (2.6's child exits with -1), a program still
  running after the check's interval is killed (PROCTOUT, code 0), one a signal ended fails
  with code -1 (show stat prints it unsigned).
"""

from __future__ import annotations

from typing import Any

from haproxy_py.checks.probes import RES_FAILED, RES_PASSED, CheckResult
from haproxy_py.config.model import ExternalCheck

NOT_USED = "NOT_USED"


def _proxy_listener(px: Any) -> tuple[str, str]:
    for b in getattr(px, "binds", ()):
        for a in b.addresses:
            if a.kind in ("ipv4", "ipv6"):
                return a.host or ("::" if a.kind == "ipv6" else "0.0.0.0"), str(a.port_lo)
    return "", ""


def command_line(ext: ExternalCheck, px: Any, srv: Any) -> tuple[list[str], dict[str, str]]:
    """The program's arguments and its whole environment for one check of ``srv``."""
    paddr, pport = _proxy_listener(px)
    argv = [ext.command, paddr or NOT_USED, pport or NOT_USED, srv.host, str(srv.port)]
    env = {
        "HAPROXY_PROXY_ADDR": paddr, "HAPROXY_PROXY_ID": str(px.uuid), "HAPROXY_PROXY_NAME": px.name,
        "HAPROXY_PROXY_PORT": pport, "HAPROXY_SERVER_ADDR": srv.host,
        "HAPROXY_SERVER_CURCONN": str(srv.served), "HAPROXY_SERVER_ID": str(srv.puid),
        "HAPROXY_SERVER_MAXCONN": str(srv.maxconn or 0), "HAPROXY_SERVER_NAME": srv.name,
        "HAPROXY_SERVER_PORT": str(srv.port), "HAPROXY_SERVER_PROTO": "h1" if px.mode == "http" else "tcp",
        "HAPROXY_SERVER_SSL": "1" if getattr(getattr(srv.conf, "tls", None), "ssl", False) else "0",
    }
    env["PATH"] = ext.path or ""
    return argv, env


def exited(status: int, duration: int | None = None) -> CheckResult:
    """The result of a program that ended with exit ``status`` (a waitstatus decoded: its exit
    code, or -signal for a program a signal ended)."""
    if status == 0:
        return CheckResult("PROCOK", RES_PASSED, 0, "", duration)
    return CheckResult("PROCERR", RES_FAILED, status & 0xFF if status > 0 else -1, "", duration)


def not_started(duration: int | None = None) -> CheckResult:
    return CheckResult("PROCERR", RES_FAILED, 255, "", duration)


def timed_out(duration: int | None = None) -> CheckResult:
    return CheckResult("PROCTOUT", RES_FAILED, 0, "", duration)


def exec_failure_text(err: str) -> str:
    """What 2.6's child prints when it cannot run the program."""
    return f"Failed to exec process for external health check: {err}. Aborting."
