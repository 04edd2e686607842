"""Global 'setenv', 'presetenv', 'unsetenv', 'resetenv', 'quiet', 'zero-warning' and 'nosplice',
side by side with Debian's HAProxy 2.6 where it shows: the environment the following lines and
the running process see, the -c output, and (nosplice) the forwarding path."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from haproxy_py.cli import main
from tests.conftest import free_port
from tests.integration.harness import get, require_haproxy, run_proxy

ENV_CFG = """\
global
    setenv HPY_A b c
    setenv HPY_B 1
    presetenv HPY_B 2
    presetenv HPY_C 3
    unsetenv HPY_B HPY_NONE
.if streq("${{HPY_A}}",b)
.notice "A is b"
.endif
.if defined(HPY_B)
.notice "B defined"
.endif
.if streq("${{HPY_C}}",3)
.notice "C is 3"
.endif
defaults
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend f
    bind 127.0.0.1:{port}
    http-request return status 200 content-type text/plain lf-string "[%[env(HPY_A)]][%[env(HPY_B)]][%[env(HPY_C)]][%[env(HOME)]]"
"""


def _notices(err: str) -> list[str]:
    return [ln.split(": ", 2)[-1] for ln in err.splitlines() if ln.startswith("[NOTICE]") and "parsing [" in ln]


def test_environment_keywords_as_haproxy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_haproxy("haproxy", "2.6's environment")
    port = free_port()
    cfg = tmp_path / "e.cfg"
    cfg.write_text(ENV_CFG.format(port=port))
    p = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert main(["-c", "-f", str(cfg)]) == 0
    ours = _notices(capsys.readouterr().err)
    assert ours == _notices(p.stderr) and len(ours) == 2, (ours, p.stderr)
    assert os.environ.get("HPY_A") is None  # -c leaves the process's environment alone
    bodies = {}
    for which in ("ours", "haproxy"):
        port = free_port()
        with run_proxy(ENV_CFG.format(port=port), wait_ports=[port], which=which):
            bodies[which] = get(port, "/")[2]
    assert bodies["ours"] == bodies["haproxy"] == f"[b][][3][{os.environ.get('HOME', '')}]".encode()
    # resetenv keeps only what it names
    cfg.write_text(ENV_CFG.format(port=port).replace("    unsetenv HPY_B HPY_NONE\n",
                                                       "    resetenv HPY_A PATH\n"))
    for which in ("ours", "haproxy"):
        port2 = free_port()
        with run_proxy(cfg.read_text().replace(f":{port}\n", f":{port2}\n"), wait_ports=[port2], which=which):
            bodies[which] = get(port2, "/")[2]
    assert bodies["ours"] == bodies["haproxy"] == b"[b][][][]"


def test_quiet_and_zero_warning_as_haproxy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_haproxy("haproxy", "2.6's -c output")
    base = "defaults\n    mode http\nfrontend f\n    bind 127.0.0.1:1\n    default_backend b\nbackend b\n    server s 127.0.0.1:2\n"
    for flag, rc in (("quiet", 0), ("zero-warning", 1)):
        cfg = tmp_path / f"{flag}.cfg"
        cfg.write_text(f"global\n    {flag}\n" + base)  # missing timeouts: warnings
        p = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
        capsys.readouterr()
        assert main(["-c", "-f", str(cfg)]) == p.returncode == rc
        out = capsys.readouterr()
        if flag == "quiet":
            assert out.out == p.stdout == "" and out.err == p.stderr == ""
        else:
            last = "Some warnings were found and 'zero-warning' is set. Aborting."
            assert out.err.rstrip().endswith(last) and p.stderr.rstrip().endswith(last)


def _pipes(pid: int) -> int:
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            pass
    return n


@pytest.mark.parametrize("nosplice", [False, True])
def test_nosplice_forwards_without_pipes(nosplice: bool) -> None:
    """mode tcp forwards with splice() through pooled pipes; 'nosplice' (as -dS) forwards through
    buffers: no pipe is opened by the transfer."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    sport = srv.getsockname()[1]
    fe = free_port()
    cfg = ("global\n" + ("    nosplice\n" if nosplice else "") +
           "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n"
           f"listen t\n    bind 127.0.0.1:{fe}\n    server s 127.0.0.1:{sport}\n")
    payload = os.urandom(4 << 20)
    with run_proxy(cfg, wait_ports=[fe]) as pp:
        before = _pipes(pp.pid)
        c = socket.create_connection(("127.0.0.1", fe), timeout=10)
        c.sendall(b"hello")
        srv.settimeout(10)
        while True:  # the harness's port probe reached the server too: find our connection
            s, _ = srv.accept()
            s.settimeout(10)
            if s.recv(5) == b"hello":
                break
            s.close()
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        deadline = time.monotonic() + 20
        while len(got) < len(payload) and time.monotonic() < deadline:
            chunk = c.recv(1 << 20)
            if not chunk:
                break
            got += chunk
        during = _pipes(pp.pid)
        c.close()
        s.close()
    srv.close()
    assert bytes(got) == payload
    if nosplice:
        assert during == before, (before, during)
    else:
        assert during > before, (before, during)
