"""Master-worker mode (-W): SIGUSR2 re-exec reload keeping the listening sockets and the state,
the master CLI (-S), and systemd's notify protocol."""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
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


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_workers_and_programs_end_with_a_sigkilled_master() -> None:
    """2.6's workers exit when their master dies (they watch their link to it); ours watch the
    master's lifeline pipe, and programs get SIGTERM from the kernel (PR_SET_PDEATHSIG), so
    nothing keeps serving or running without a master, also after a reload (the re-executed
    master keeps the lifeline: the previous workers, finishing their requests, are not cut off).
    2.6's programs outlive a killed master, and keep its workers alive with them."""
    port = free_port()
    cfg = """global
    master-worker
    nbthread 2
""" + http_defaults("10s") + FE_TO_BE + """backend be
    server s1 127.0.0.1:{p1}
program sleeper
    command sleep 300
"""
    left: list[int] = []
    try:
        with http_backends("s1") as (b1,):
            with run_proxy(cfg.format(port=port, p1=b1.port), wait_ports=[port]) as pp:
                wait_until(lambda: len(children(pp.pid)) == 3, 15)  # 2 workers, 1 program
                assert get(port)[0] == 200
                # a reload: a request in flight on the previous workers finishes there
                b1.delay = 1.0
                slow: list[int] = []
                t = threading.Thread(target=lambda: slow.append(get(port, timeout=8)[0]), daemon=True)
                t.start()
                wait_until(lambda: b1.concurrent == 1, 5)
                before = children(pp.pid)
                pp.proc.send_signal(signal.SIGUSR2)
                wait_until(lambda: len(set(children(pp.pid)) - set(before)) >= 3, 15)  # new workers, program
                t.join(8)
                assert slow == [200], pp.stderr_text()
                b1.delay = 0.0
                wait_until(lambda: len(children(pp.pid)) == 3, 15)  # the previous image's are gone
                kids = children(pp.pid)
                left.extend(kids)
                progs = [k for k in kids if _cmdline(k).startswith(b"sleep\0")]
                assert len(progs) == 1, [_cmdline(k) for k in kids]
                assert get(port)[0] == 200
                os.kill(pp.pid, signal.SIGKILL)
                pp.proc.wait(timeout=5)
                wait_until(lambda: not any(_alive(k) for k in kids), 5)
                with socket.socket() as s:  # nobody serves the port any more
                    s.settimeout(2)
                    assert s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        for pid in left:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


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
