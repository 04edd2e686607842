"""Daemon mode, pidfile, -db, privilege drop (uid/gid/chroot read from /proc) and start errors.

Every proxy started here is stopped by the PID it wrote; nothing is killed by name.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.harness import ROOT, get, http_backends, wait_port

ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def _cfg(workdir: Path, port: int, be_port: int, global_extra: str = "") -> Path:
    cfg = workdir / "haproxy.cfg"
    cfg.write_text(f"""global
    pidfile {workdir}/haproxy.pid
    stats socket {workdir}/stats.sock level admin
{global_extra}
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server s1 127.0.0.1:{be_port}
""")
    return cfg


def _start(args: list[str], timeout: float = 20.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "haproxy_py", *args], capture_output=True, timeout=timeout,
                          env=ENV, cwd=str(ROOT))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    st = Path(f"/proc/{pid}/status")
    return not (st.exists() and "State:\tZ" in st.read_text())


def _stop(pid: int, timeout: float = 5.0) -> None:
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _wait_file(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.02)
    raise TimeoutError(f"{path} was not written")


def _status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


@pytest.fixture
def workdir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="hpy-proc-"))
    os.chmod(d, 0o755)
    return d


def test_daemon_detaches_writes_pidfile_and_serves(workdir: Path) -> None:
    port = free_port()
    with http_backends("s1") as (b1,):
        cfg = _cfg(workdir, port, b1.port, "    daemon")
        t0 = time.monotonic()
        res = _start(["-f", str(cfg)])
        assert res.returncode == 0, res.stderr.decode()
        assert time.monotonic() - t0 < 15
        pid = int((workdir / "haproxy.pid").read_text().split()[0])
        try:
            assert pid != os.getpid() and _alive(pid)
            # detached: own session, not our child, stdio on /dev/null
            assert os.getsid(pid) != os.getsid(0)
            assert os.getsid(pid) != pid  # double fork: not a session leader, cannot get a tty back
            assert int(_status(pid)["PPid"]) != os.getpid()
            for fd in (0, 1, 2):
                assert os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null"
            wait_port(port)
            status, hdrs, _ = get(port)
            assert status == 200 and hdrs["x-server"] == "s1"
        finally:
            _stop(pid)
        assert not _alive(pid)


def test_dash_D_and_db_stays_in_foreground(workdir: Path) -> None:
    port = free_port()
    with http_backends("s1") as (b1,):
        cfg = _cfg(workdir, port, b1.port)
        proc = subprocess.Popen([sys.executable, "-m", "haproxy_py", "-D", "-db", "-f", str(cfg),
                                 "-p", str(workdir / "p.pid")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=ENV, cwd=str(ROOT))
        try:
            wait_port(port)
            assert proc.poll() is None
            assert int(_wait_file(workdir / "p.pid")) == proc.pid  # -p wins, and no fork happened
            assert get(port)[0] == 200
        finally:
            proc.send_signal(signal.SIGUSR1)
            assert proc.wait(timeout=10) == 0


def test_daemon_failure_reaches_the_parent_exit_code(workdir: Path) -> None:
    port = free_port()
    cfg = _cfg(workdir, port, free_port(), "    daemon\n    chroot /nonexistent-hpy")
    res = _start(["-f", str(cfg)])
    assert res.returncode == 1
    assert re.search(r"\[ALERT\]    \(\d+\) : \[\S+\.main\(\)\] Cannot chroot\(/nonexistent-hpy\)\.",
                     res.stderr.decode()), res.stderr
    # nothing left listening
    time.sleep(0.2)
    with pytest.raises(TimeoutError):
        wait_port(port, timeout=0.5)


def test_chroot_message_matches_haproxy(workdir: Path, haproxy_bin: str) -> None:
    cfg = _cfg(workdir, free_port(), free_port(), "    chroot /nonexistent-hpy")
    ours = _start(["-db", "-f", str(cfg)])
    theirs = subprocess.run([haproxy_bin, "-db", "-f", str(cfg)], capture_output=True, timeout=20)
    assert ours.returncode == theirs.returncode == 1

    def alerts(b: bytes) -> list[str]:
        return [re.sub(r"\[\S+\.main\(\)\]", "[PROG.main()]", re.sub(r"\(\d+\)", "(PID)", ln))
                for ln in b.decode().splitlines() if ln.startswith("[ALERT]")]

    assert alerts(ours.stderr) == alerts(theirs.stderr)


def test_bind_failure_exit_code(workdir: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        cfg = _cfg(workdir, port, free_port(), "    daemon")
        res = _start(["-f", str(cfg)])
    assert res.returncode == 1
    assert "cannot bind socket" in res.stderr.decode()
    assert not (workdir / "haproxy.pid").exists()  # pidfile only after binding


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("privilege drop needs root (CI runs these as root)")


def test_privileges_dropped_user_and_chroot(workdir: Path) -> None:
    _need_root()
    jail = Path(tempfile.mkdtemp(prefix="hpy-jail-"))
    os.chmod(jail, 0o755)
    port = free_port()
    with http_backends("s1") as (b1,):
        cfg = _cfg(workdir, port, b1.port, f"    daemon\n    user nobody\n    chroot {jail}")
        res = _start(["-f", str(cfg)])
        assert res.returncode == 0, res.stderr.decode()
        pid = int((workdir / "haproxy.pid").read_text())
        try:
            wait_port(port)
            st = _status(pid)
            assert st["Uid"].split() == ["65534"] * 4
            assert "0" not in st["Gid"].split()
            assert st["Groups"] == ""
            assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
            assert os.readlink(f"/proc/{pid}/root") == str(jail)
            assert os.readlink(f"/proc/{pid}/cwd") == str(jail)
            wait_port(port)
            for _ in range(3):  # lazily imported code paths still work inside the jail
                status, hdrs, _ = get(port)
                assert status == 200 and hdrs["x-server"] == "s1"
            # the stats socket opened before the drop still answers
            import socket

            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(str(workdir / "stats.sock"))
                s.sendall(b"show stat\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            assert b"fe,FRONTEND" in data
        finally:
            _stop(pid)


def test_numeric_uid_gid(workdir: Path) -> None:
    _need_root()
    port = free_port()
    with http_backends("s1") as (b1,):
        cfg = _cfg(workdir, port, b1.port, "    uid 4242\n    gid 4343")
        proc = subprocess.Popen([sys.executable, "-m", "haproxy_py", "-db", "-f", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, cwd=str(ROOT))
        try:
            wait_port(port)
            assert get(port)[0] == 200  # served: the loop runs, so privileges are already dropped
            st = _status(proc.pid)
            assert st["Uid"].split() == ["4242"] * 4
            assert st["Gid"].split() == ["4343"] * 4
            assert st["Groups"] == ""
        finally:
            proc.send_signal(signal.SIGUSR1)
            proc.wait(timeout=10)
