"""The master CLI (``-W -S``) against Debian's HAProxy 2.6: generated request lines (commands
joined by ``;``: help and unknown commands, the session's level and modes, ``show cli level``,
targets ``@<relative pid>``, ``@!<pid>``, ``@master`` alone or with a command, bad targets,
commands for the worker with the session's level and experimental mode), one connection each,
and generated interactive sessions (``prompt``, then lines one by one, a sticky target); the
replies compared byte for byte, the worker's pid, its link's fd and the version string aside.
"""

from __future__ import annotations

import os
import random
import re
import socket
import time

import pytest

from tests.integration.harness import HTTP_DEFAULTS, free_port, require_haproxy, run_proxy

pytestmark = [pytest.mark.needs_haproxy]

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))

_SEGMENTS = (
    "help", "help show", "help @1", "help user", "help bogus", "show cli level", "show cli sockets", "show version",
    "operator", "user", "experimental-mode on", "experimental-mode off", "experimental-mode", "expert-mode off",
    "@1 get var proc.x", "@1 get var proc.z", "@1 show cli level", "@1 experimental-mode", "@1 set var proc.z int(3)",
    "@!W show cli level", "@!W get var proc.x", "@2 show info", "@x", "@!1 show info", "@1", "@master",
    "@master show cli level", "@master bogus", "@ show cli level", "@master @1 show cli level",
    "bogus", "shw proc", "get var proc.x", "show", "relaod", "oprator", "show cli", "show cli lvl", "",
    "set var proc.z int(1)", "help show cli",
)


#: lines every run has (and what 2.6 answers to them is checked)
_FIXED = ("get var proc.x", "@1 get var proc.x", "operator; user; operator", "@x show info",
          "experimental-mode on; @1 set var proc.z int(1); @1 get var proc.z", "@1 experimental-mode",
          "experimental-mode on; user; show cli level", "show cli level;;show cli level", "prompt; @7; quit")


def _line(rng: random.Random) -> str:
    return "; ".join(rng.choice(_SEGMENTS) for _ in range(rng.randint(1, 4)))


def _config(port: int) -> str:
    return ("global\n    master-worker\n    set-var proc.x str(hello)\n" + HTTP_DEFAULTS
            + f"frontend fe\n    bind 127.0.0.1:{port}\n    http-request return status 200\n")


def _exchange(path: str, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` (one or more lines) and the end of the input, read until the master closes."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # as socat does at the end of its input
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
        return out


def _worker_pid(path: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            m = re.search(rb"\n(\d+)\s+worker", _exchange(path, b"show proc\n"))
        except OSError:
            m = None
        if m:
            return m.group(1).decode()
        time.sleep(0.1)
    raise AssertionError("no worker in show proc")


def _normal(out: bytes, pid: str) -> bytes:
    out = re.sub(rb"sockpair@\d+", b"sockpair@FD", out)  # the worker's end of its link to the master
    return out.replace(pid.encode(), b"PID").replace(b"2.6.12-1+deb12u4", b"VERSION").replace(
        b"2.6.12-haproxy-py", b"VERSION")


def _run(which: str, lines: list[str], sessions: list[list[str]]) -> tuple[list[bytes], list[bytes]]:
    port = free_port()
    path = f"/tmp/hpy-mcli-{which}-{port}.sock"
    try:
        with run_proxy(_config(port), wait_ports=[port], which=which, extra_args=["-S", path]):
            pid = _worker_pid(path)
            one = [_normal(_exchange(path, ln.replace("@!W", f"@!{pid}").encode() + b"\n"), pid) for ln in lines]
            inter = []
            for sess in sessions:
                data = "".join(ln.replace("@!W", f"@!{pid}") + "\n" for ln in ["prompt", *sess, "quit"])
                inter.append(_normal(_exchange(path, data.encode()), pid))
            return one, inter
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_master_cli_lines_as_haproxy() -> None:
    require_haproxy("haproxy")
    rng = random.Random(SEED * 31)
    lines = [_line(rng) for _ in range(70)] + list(_FIXED)
    sessions = [[_line(rng) for _ in range(rng.randint(2, 5))] for _ in range(8)]
    sessions.append(["@1", "show cli level", "user", "@master show cli level", "experimental-mode on", "@7"])
    theirs = _run("haproxy", lines, sessions)
    ours = _run("ours", lines, sessions)
    bad = [(ln, t, o) for ln, t, o in zip(lines, theirs[0], ours[0], strict=True) if t != o]
    assert not bad, [(lines.index(b[0]), *b) for b in bad[:3]]
    bad_s = [(s, t, o) for s, t, o in zip(sessions, theirs[1], ours[1], strict=True) if t != o]
    assert not bad_s, bad_s[:2]
    fixed = dict(zip(_FIXED, theirs[0][-len(_FIXED):], strict=True))
    assert fixed["get var proc.x"].startswith(b"Unknown command, but maybe")  # no get var on the master
    assert fixed["@1 get var proc.x"] == b"proc.x: type=str value=<hello>\n"
    assert fixed["operator; user; operator"] == b"Permission denied!\n"
    assert fixed["experimental-mode on; user; show cli level"] == b"Permission denied\nuser\n\n"
    # the sticky target, the level lowered from there, a mode refused below admin ends the session
    assert theirs[1][-1] == b"master> PID> admin\n\nPID> PID> user\n\nPID> Permission denied!\n", theirs[1][-1]


def test_an_overlong_line_ends_its_connection_only() -> None:
    """A line over the reader's limit (64 KiB): that connection ends, no internal error is reported
    (the loop's handler reported one before), the next connection is served."""
    port = free_port()
    path = f"/tmp/hpy-mcli-long-{port}.sock"
    try:
        with run_proxy(_config(port), wait_ports=[port], extra_args=["-S", path]) as pp:
            _worker_pid(path)
            assert _exchange(path, b"x" * 200_000 + b"\n") == b""
            assert _exchange(path, b"show cli level\n") == b"admin\n\n"
            err = pp.stderr_text()
            assert "Traceback" not in err and "Internal error" not in err, err
    finally:
        if os.path.exists(path):
            os.unlink(path)
