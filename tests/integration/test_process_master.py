"""Master-worker mode (-W): SIGUSR2 re-exec reload keeping the listening sockets and the state,
the master CLI (-S), and systemd's notify protocol."""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import time
from pathlib import Path

from tests.conftest import free_port
from tests.integration.harness import FE_TO_BE, get, http_backends, http_defaults, run_proxy
from tests.integration.test_process_reload import Load, server_states

CFG = """global
    master-worker
    stats socket @DIR@/stats.sock level admin
""" + http_defaults("10s") + FE_TO_BE + """backend be
    server s1 127.0.0.1:{p1}
    server s2 127.0.0.1:{p2}
"""


def cli(path: Path, line: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall(line.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


def children(pid: int) -> list[int]:
    p = Path(f"/proc/{pid}/task/{pid}/children")
    return sorted(int(x) for x in p.read_text().split()) if p.exists() else []


def wait_until(pred, timeout: float = 20.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError("condition not reached")


def test_master_reload_by_sigusr2_keeps_sockets_state_and_pid() -> None:
    port = free_port()
    with http_backends("s1", "s2") as (b1, b2):
        msock = Path(tempfile.gettempdir()) / f"hpy-master-{port}.sock"
        with run_proxy(CFG.format(port=port, p1=b1.port, p2=b2.port), wait_ports=[port],
                       extra_args=["-S", str(msock)]) as pp:
            sock = pp.workdir / "stats.sock"
            wait_until(lambda: len(children(pp.pid)) == 1)
            first = children(pp.pid)
            wait_until(lambda: "Pid:" in cli(sock, "show info"))
            wait_until(lambda: "master" in cli(msock, "show proc"))
            proc = cli(msock, "show proc")
            assert f"{pp.pid} " in proc and "master" in proc and f"{first[0]} " in proc
            assert f"\nPid: {first[0]}\n" in cli(msock, "@1 show info")
            assert cli(sock, "set server be/s2 state drain") == "\n"
            n2 = len(b2.requests)
            with Load(port, threads=3, max_s=40) as load:
                time.sleep(0.3)
                for k in range(3):
                    before = children(pp.pid)
                    pp.proc.send_signal(signal.SIGUSR2)
                    # new worker up, old worker gone, master PID unchanged
                    wait_until(lambda b=before: (kids := children(pp.pid)) and not set(kids) & set(b))  # noqa: B023
                    wait_until(lambda: "Pid:" in cli(sock, "show info"))
                    assert pp.proc.poll() is None
                    assert f"{pp.pid:<16}master          {k + 1}" in cli(msock, "show proc")
                time.sleep(0.3)
            assert not load.failures, load.failures[:5]
            assert load.ok > 20
            assert len(b2.requests) == n2  # drained before and after every reload
            assert server_states(sock)["s2"][0] & 0x08
            assert "Reloading HAProxy" in pp.stderr_text()
            pp.proc.send_signal(signal.SIGUSR1)
            assert pp.proc.wait(timeout=15) == 0


def test_reload_with_a_broken_config_keeps_the_workers(tmp_path: Path) -> None:
    port = free_port()
    with http_backends("s1", "s2") as (b1, b2):
        with run_proxy(CFG.format(port=port, p1=b1.port, p2=b2.port), wait_ports=[port]) as pp:
            wait_until(lambda: len(children(pp.pid)) == 1)
            kids = children(pp.pid)
            pp.cfg.write_text(pp.cfg.read_text() + "\nbackend broken\n    balance nosuchalgo\n")
            pp.proc.send_signal(signal.SIGUSR2)
            try:
                wait_until(lambda: "Reload failed" in pp.stderr_text(), 10)
            except TimeoutError:
                raise AssertionError(pp.stderr_text()) from None
            assert children(pp.pid) == kids
            assert get(port)[0] == 200


def test_sd_notify_ready_and_reloading(tmp_path: Path) -> None:
    port = free_port()
    nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    npath = str(tmp_path / "notify.sock")
    nsock.bind(npath)
    nsock.settimeout(20)
    try:
        with http_backends("s1", "s2") as (b1, b2):
            with run_proxy(CFG.format(port=port, p1=b1.port, p2=b2.port), wait_ports=[port],
                           env={"NOTIFY_SOCKET": npath}) as pp:
                msg = nsock.recv(4096).decode()
                assert msg == f"READY=1\nMAINPID={pp.pid}"
                pp.proc.send_signal(signal.SIGUSR2)
                assert nsock.recv(4096).decode() == "RELOADING=1"
                assert nsock.recv(4096).decode() == f"READY=1\nMAINPID={pp.pid}"
                assert get(port)[0] == 200
    finally:
        nsock.close()
        os.unlink(npath)


def test_systemd_unit_uses_flags_we_parse() -> None:
    from haproxy_py.cli import parse_args
    from tests.integration.harness import ROOT

    unit = (ROOT / "samples" / "haproxy-py.service").read_text()
    assert "\nType=notify\n" in unit and "kill -USR2 $MAINPID" in unit
    start = next(ln for ln in unit.splitlines() if ln.startswith("ExecStart="))
    args = start.split()[2:]
    args = [a.replace("$CONFIG", "/etc/haproxy/haproxy.cfg").replace("$PIDFILE", "/run/p.pid")
            .replace("$MASTER_SOCK", "/run/m.sock") for a in args if a != "$EXTRAOPTS"]
    opts, special = parse_args(args)
    assert special is None and opts.master_worker
    assert opts.config_paths == ["/etc/haproxy/haproxy.cfg"] and opts.pidfile == "/run/p.pid"
    assert opts.master_cli == "/run/m.sock"
