"""Run as HAProxy is run: sockets handed down by a supervisor (systemd socket activation, s6, a
wrapper script) with ``bind fd@${NAME}``, ``stats socket fd@N`` and ``-S fd@N``, in one process and
in master-worker mode; a process with only backends and a stats socket runs (health checks) as
2.6's does. Each scenario runs through haproxy-py and, where it says so, Debian's HAProxy 2.6.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HAPROXY_BIN, ROOT
from tests.integration.harness import get, http_backends, http_defaults, stop_process


def cli(sock_path: str, line: str, until: str | None = None) -> str:
    """One command; the reply is read until the socket closes, or until the regex ``until`` matches
    (2.6's master CLI on an inherited socket keeps the connection open after its reply)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(sock_path)
        s.sendall(line.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
            if until is not None and re.search(until.encode(), data, re.S):
                break
    return data.decode()


def workers(master_sock: str) -> list[str]:
    """The worker PIDs the master CLI lists (its "# workers" block)."""
    reply = cli(master_sock, "show proc", until=r"# workers\n(.*?\n)?#")
    block = reply.split("# workers\n", 1)[1] if "# workers\n" in reply else ""
    return [ln.split()[0] for ln in block.splitlines() if ln.strip() and not ln.startswith("#")][:1]


def wait_until(pred, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise TimeoutError(f"condition not reached ({last})")


@contextlib.contextmanager
def supervised(which: str, cfg_text: str, fds: list[int], env: dict[str, str],
               args: list[str]) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Start the proxy the way a supervisor does: the listening sockets already open, passed down."""
    workdir = Path(tempfile.mkdtemp(prefix="hpy-sup-"))
    cfg = workdir / "haproxy.cfg"
    cfg.write_text(cfg_text)
    cmd = ([sys.executable, "-m", "haproxy_py"] if which == "ours" else [HAPROXY_BIN]) + ["-f", str(cfg), *args]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    errf = open(workdir / "stderr.txt", "wb")
    proc = subprocess.Popen(cmd, stdout=errf, stderr=errf, cwd=str(ROOT), env=full_env, pass_fds=fds)
    try:
        yield proc, workdir
    finally:
        stop_process(proc)
        errf.close()


def _listening_tcp() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


def _listening_unix(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.listen(16)
    return s


@pytest.mark.parametrize("which", ["ours", "haproxy"])
@pytest.mark.parametrize("mode", ["single", "master-worker"])
def test_inherited_listener_stats_socket_and_master_cli(which: str, mode: str) -> None:
    if which == "haproxy" and not os.path.exists(HAPROXY_BIN):
        pytest.fail(f"haproxy binary not found at {HAPROXY_BIN}")
    tmp = Path(tempfile.mkdtemp(prefix="hpy-fds-"))
    lsock = _listening_tcp()
    ssock = _listening_unix(tmp / "stats.sock")
    msock = _listening_unix(tmp / "master.sock")
    port = lsock.getsockname()[1]
    try:
        with http_backends("s1") as (b1,):
            cfg = (f"global\n    stats socket fd@{ssock.fileno()} level admin\n" + http_defaults() +
                   "frontend fe\n    bind fd@${LISTEN_FD}\n    default_backend be\n"
                   f"backend be\n    server s1 127.0.0.1:{b1.port}\n")
            fds = [lsock.fileno(), ssock.fileno()]
            args = ["-db"]
            if mode == "master-worker":
                fds.append(msock.fileno())
                args = ["-W", "-S", f"fd@{msock.fileno()}"]
            with supervised(which, cfg, fds, {"LISTEN_FD": str(lsock.fileno())}, args) as (proc, workdir):
                # the parent keeps its copies, as a supervisor does; the proxy serves on its own
                wait_until(lambda: "Pid:" in cli(str(tmp / "stats.sock"), "show info"))
                status, _, _ = get(port, "/hello")
                assert status == 200, (workdir / "stderr.txt").read_text()
                assert b1.requests and b1.requests[-1].start.startswith(b"GET /hello ")
                assert "be,s1," in cli(str(tmp / "stats.sock"), "show stat")
                if mode == "master-worker":
                    proc_list = cli(str(tmp / "master.sock"), "show proc", until=r"# workers\n")
                    assert f"{proc.pid} " in proc_list and "master" in proc_list, proc_list
                    # a reload re-executes the master: the handed-down sockets stay in service
                    before = workers(str(tmp / "master.sock"))
                    assert before
                    proc.send_signal(signal.SIGUSR2)
                    wait_until(lambda: (w := workers(str(tmp / "master.sock"))) and w[0] != before[0], timeout=30)
                    wait_until(lambda: "Pid:" in cli(str(tmp / "stats.sock"), "show info"))
                    assert get(port, "/again")[0] == 200, (workdir / "stderr.txt").read_text()
                assert proc.poll() is None
    finally:
        for s in (lsock, ssock, msock):
            s.close()


@pytest.mark.parametrize("which", ["ours", "haproxy"])
def test_backends_and_a_stats_socket_run_health_checks(which: str) -> None:
    if which == "haproxy" and not os.path.exists(HAPROXY_BIN):
        pytest.fail(f"haproxy binary not found at {HAPROXY_BIN}")
    tmp = Path(tempfile.mkdtemp(prefix="hpy-bo-"))
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]  # closed: checks are refused
    with http_backends("up") as (b1,):
        cfg = (f"global\n    stats socket {tmp}/stats.sock level admin\n"
               "defaults\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
               f"backend b\n    server up 127.0.0.1:{b1.port} check inter 200\n"
               f"    server down 127.0.0.1:{dead_port} check inter 200 fall 1\n")
        with supervised(which, cfg, [], {}, ["-db"]) as (proc, _):
            sock = str(tmp / "stats.sock")

            def states() -> dict[str, str]:
                rows = [r.split(",") for r in cli(sock, "show stat").splitlines() if r.startswith("b,")]
                return {r[1]: r[17] for r in rows}

            wait_until(lambda: states().get("down", "").startswith("DOWN") and states().get("up") == "UP")
            assert proc.poll() is None


@pytest.mark.parametrize("which", ["ours", "haproxy"])
def test_nothing_to_listen_on_exits_as_26(which: str) -> None:
    if which == "haproxy" and not os.path.exists(HAPROXY_BIN):
        pytest.fail(f"haproxy binary not found at {HAPROXY_BIN}")
    cfg = ("defaults\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
           "backend b\n    server s 127.0.0.1:9 check\n")
    with supervised(which, cfg, [], {}, ["-db"]) as (proc, workdir):
        rc = proc.wait(timeout=20)
        err = (workdir / "stderr.txt").read_text()
    assert rc == 1
    assert ".main()] No enabled listener found (check for 'bind' directives) ! Exiting." in err


def test_reload_refuses_a_configuration_whose_server_name_does_not_resolve() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="hpy-rl-"))
    msock = _listening_unix(tmp / "master.sock")
    lsock = _listening_tcp()
    port = lsock.getsockname()[1]
    try:
        with http_backends("s1") as (b1,):
            cfg = (http_defaults() + "frontend fe\n    bind fd@${LISTEN_FD}\n    default_backend be\n"
                   f"backend be\n    server s1 localhost:{b1.port}\n")
            with supervised("ours", cfg, [lsock.fileno(), msock.fileno()], {"LISTEN_FD": str(lsock.fileno())},
                            ["-W", "-S", f"fd@{msock.fileno()}"]) as (proc, workdir):
                wait_until(lambda: bool(workers(str(tmp / "master.sock"))))
                before = workers(str(tmp / "master.sock"))
                assert get(port, "/")[0] == 200  # 'localhost' was resolved once at start
                (workdir / "haproxy.cfg").write_text(cfg + "    server s2 nosuch.invalid:80\n")
                proc.send_signal(signal.SIGUSR2)
                wait_until(lambda: "Reload failed" in (workdir / "stderr.txt").read_text())
                err = (workdir / "stderr.txt").read_text()
                assert "'server be/s2' : could not resolve address 'nosuch.invalid'." in err
                assert workers(str(tmp / "master.sock")) == before and get(port, "/")[0] == 200
    finally:
        lsock.close()
        msock.close()
