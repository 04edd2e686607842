"""Seamless reload: -x SOCKET (fd passing) + -sf PID under a bounded load, state carried over.

Every process is started and stopped here by PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.conftest import free_port
from tests.integration.harness import FE_TO_BE, ROOT, get, http_backends, http_defaults, wait_port

ENV = dict(os.environ, PYTHONPATH=str(ROOT))

CFG = """global
    stats socket {dir}/stats.sock level admin expose-fd listeners
{extra}
""" + http_defaults("10s") + FE_TO_BE + """backend be
    balance roundrobin
    server s1 127.0.0.1:{p1}
    server s2 127.0.0.1:{p2}{s2extra}
    server s3 127.0.0.1:{p3}
"""


def cli(path: Path, line: str, timeout: float = 5.0) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall(line.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


def start(cfg: Path, *args: str) -> subprocess.Popen:
    errf = open(cfg.parent / f"stderr-{time.monotonic_ns()}.txt", "wb")
    return subprocess.Popen([sys.executable, "-m", "haproxy_py", "-db", "-f", str(cfg), *args],
                            stdout=errf, stderr=errf, env=ENV, cwd=str(ROOT))


def wait_serving(sock: Path, pid: int, timeout: float = 20.0) -> None:
    """Until the stats socket at ``sock`` is answered by process ``pid``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if f"\nPid: {pid}\n" in cli(sock, "show info", timeout=1):
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"process {pid} does not answer on {sock}")


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def server_states(sock: Path) -> dict[str, tuple[int, int]]:
    """name -> (admin state bits, user weight) from show servers state."""
    out = {}
    for ln in cli(sock, "show servers state").splitlines()[2:]:
        f = ln.split()
        if len(f) > 8:
            out[f[3]] = (int(f[6]), int(f[7]))
    return out


class Load:
    """N client threads, one request per connection, until stopped (bounded by ``max_s``)."""

    def __init__(self, port: int, threads: int = 4, max_s: float = 60.0) -> None:
        self.port = port
        self.ok = 0
        self.failures: list[str] = []
        self.stop_at = time.monotonic() + max_s
        self.stopping = False
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self) -> None:
        while not self.stopping and time.monotonic() < self.stop_at:
            try:
                status, _h, _b = get(self.port, timeout=10)
                with self.lock:
                    if status == 200:
                        self.ok += 1
                    else:
                        self.failures.append(f"status {status}")
            except Exception as e:  # noqa: BLE001 - every failure is counted
                with self.lock:
                    self.failures.append(repr(e))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping = True
        for t in self.threads:
            t.join(15)


def test_twenty_reloads_under_load_lose_nothing_and_keep_drain() -> None:
    d = Path(tempfile.mkdtemp(prefix="hpy-reload-"))
    port = free_port()
    sock = d / "stats.sock"
    with http_backends("s1", "s2", "s3") as (b1, b2, b3):
        cfg = d / "haproxy.cfg"
        cfg.write_text(CFG.format(dir=d, extra="", port=port, p1=b1.port, p2=b2.port, p3=b3.port, s2extra=""))
        proc = start(cfg)
        procs = [proc]
        try:
            wait_port(port, timeout=20)
            wait_serving(sock, proc.pid)
            assert cli(sock, "set server be/s2 state drain") == "\n"
            assert cli(sock, "set weight be/s3 3") == "\n"
            n2 = len(b2.requests)
            with Load(port) as load:
                time.sleep(0.5)
                for _ in range(20):
                    new = start(cfg, "-x", str(sock), "-sf", str(proc.pid))
                    procs.append(new)
                    wait_serving(sock, new.pid)
                    assert proc.wait(timeout=20) == 0  # the old one finished its sessions and left
                    proc = new
                    time.sleep(0.2)
                time.sleep(0.5)
            assert not load.failures, load.failures[:5]
            assert load.ok > 100
            assert len(b2.requests) == n2  # drained in every generation: no new traffic
            st = server_states(sock)
            assert st["s2"][0] & 0x08  # FDRAIN carried over 20 reloads
            assert st["s3"][1] == 3  # and the runtime weight too
            assert "DRAIN" in cli(sock, "show stat")
        finally:
            for p in procs:
                stop(p)


def test_changed_server_takes_the_new_configuration() -> None:
    d = Path(tempfile.mkdtemp(prefix="hpy-reload-"))
    port = free_port()
    sock = d / "stats.sock"
    with http_backends("s1", "s2", "s3") as (b1, b2, b3):
        cfg = d / "haproxy.cfg"
        text = CFG.format(dir=d, extra="", port=port, p1=b1.port, p2=b2.port, p3=b3.port, s2extra="")
        cfg.write_text(text)
        old = start(cfg)
        procs = [old]
        try:
            wait_serving(sock, old.pid)
            cli(sock, "set server be/s1 state maint")
            cli(sock, "set server be/s2 state drain")
            # the new configuration edits s2 (weight 2) and moves s1's line: s1 is unchanged
            new_text = CFG.format(dir=d, extra="", port=port, p1=b1.port, p2=b2.port, p3=b3.port,
                                  s2extra=" weight 2")
            cfg.write_text("\n" + new_text)
            new = start(cfg, "-x", str(sock), "-sf", str(old.pid))
            procs.append(new)
            wait_serving(sock, new.pid)
            assert old.wait(timeout=20) == 0
            st = server_states(sock)
            assert st["s1"][0] & 0x01  # maint carried: s1 did not change
            assert st["s2"] == (0, 2)  # s2 changed: the configuration wins (no drain, weight 2)
            names = {get(port)[1]["x-server"] for _ in range(6)}
            assert names == {"s2", "s3"}
        finally:
            for p in procs:
                stop(p)


def test_sf_without_x_still_carries_state_and_serves() -> None:
    d = Path(tempfile.mkdtemp(prefix="hpy-reload-"))
    port = free_port()
    sock = d / "stats.sock"
    with http_backends("s1", "s2", "s3") as (b1, b2, b3):
        cfg = d / "haproxy.cfg"
        cfg.write_text(CFG.format(dir=d, extra="", port=port, p1=b1.port, p2=b2.port, p3=b3.port, s2extra=""))
        old = start(cfg)
        procs = [old]
        try:
            wait_serving(sock, old.pid)
            cli(sock, "set server be/s3 state maint")
            new = start(cfg, "-sf", str(old.pid))  # SO_REUSEPORT bind, state through the stats socket
            procs.append(new)
            wait_serving(sock, new.pid)
            assert old.wait(timeout=20) == 0
            assert server_states(sock)["s3"][0] & 0x01
            assert {get(port)[1]["x-server"] for _ in range(4)} == {"s1", "s2"}
        finally:
            for p in procs:
                stop(p)


def test_server_state_file_is_loaded_at_start() -> None:
    d = Path(tempfile.mkdtemp(prefix="hpy-reload-"))
    port = free_port()
    sock = d / "stats.sock"
    with http_backends("s1", "s2", "s3") as (b1, b2, b3):
        cfg = d / "haproxy.cfg"
        extra = f"    server-state-file {d}/state"
        cfg.write_text(CFG.format(dir=d, extra=extra, port=port, p1=b1.port, p2=b2.port, p3=b3.port,
                                  s2extra="").replace("    balance roundrobin",
                                                      "    balance roundrobin\n    load-server-state-from-file global"))
        p1 = start(cfg)
        procs = [p1]
        try:
            wait_serving(sock, p1.pid)
            cli(sock, "set server be/s1 state drain")
            cli(sock, "set weight be/s2 7")
            (d / "state").write_text(cli(sock, "show servers state"))
            stop(p1)
            p2 = start(cfg)
            procs.append(p2)
            wait_serving(sock, p2.pid)
            st = server_states(sock)
            assert st["s1"][0] & 0x08 and st["s2"][1] == 7 and st["s3"] == (0, 1)
        finally:
            for p in procs:
                stop(p)


def _listen_inode(port: int) -> str | None:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[3] == "0A" and int(f[1].split(":")[1], 16) == port:
            return f[9]
    return None


def test_connections_queued_in_the_old_socket_are_served_by_the_new_process() -> None:
    """The old process stops accepting (SIGTTOU) so connections pile up in its accept queue; the new
    process gets that very socket with -x, so it serves them (a fresh SO_REUSEPORT socket could
    not: closing the old socket would reset them)."""
    d = Path(tempfile.mkdtemp(prefix="hpy-reload-"))
    port = free_port()
    sock = d / "stats.sock"
    with http_backends("s1", "s2", "s3") as (b1, b2, b3):
        cfg = d / "haproxy.cfg"
        cfg.write_text(CFG.format(dir=d, extra="", port=port, p1=b1.port, p2=b2.port, p3=b3.port, s2extra=""))
        old = start(cfg)
        procs = [old]
        try:
            wait_serving(sock, old.pid)
            inode = _listen_inode(port)
            assert inode
            old.send_signal(signal.SIGTTOU)
            time.sleep(0.3)
            results: list = []
            lock = threading.Lock()

            def one() -> None:
                try:
                    r = get(port, timeout=20)[0]
                except Exception as e:  # noqa: BLE001
                    r = repr(e)
                with lock:
                    results.append(r)

            threads = [threading.Thread(target=one, daemon=True) for _ in range(20)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            assert results == []  # all waiting in the old process's accept queue
            new = start(cfg, "-x", str(sock), "-sf", str(old.pid))
            procs.append(new)
            for t in threads:
                t.join(25)
            assert results == [200] * 20
            assert old.wait(timeout=20) == 0
            assert _listen_inode(port) == inode  # one socket, handed over
        finally:
            for p in procs:
                stop(p)
