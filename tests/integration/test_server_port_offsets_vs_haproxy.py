"""Server ports written as offsets (``server s ADDR:+N`` / ``ADDR:-N``): the connection goes to
the port the client reached, moved by N, as in Debian's HAProxy 2.6 (haproxy-py connected to
port N itself). And the check 2.6 makes after parsing: a checked server needs a port to check
(its own, ``port``, or a check connect rule with one), with 2.6.12's two wordings. Both by
generated inputs through both programs."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import ROOT, require_haproxy_bin
from tests.integration.harness import run_proxy


class _Named:
    """On a given port: answers its name to each connection and closes it."""

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            with c:
                try:
                    c.sendall(self.name.encode())
                except OSError:
                    pass

    def stop(self) -> None:
        self.done.set()
        self.thread.join(2)
        self.sock.close()


def _free_pair(rng: random.Random, delta: int) -> tuple[int, int]:
    """A port F and F + delta, both free on 127.0.0.1 now."""
    for _ in range(200):
        f = rng.randrange(20000, 60000)
        socks = []
        try:
            for p in (f, f + delta):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return f, f + delta
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free pair of ports")


def test_port_offsets_as_haproxy() -> None:
    require_haproxy_bin()
    rng = random.Random(2612)
    for which in ("haproxy", "ours"):
        for _ in range(3):
            delta = rng.choice([1, 7, 100, -3, -250])
            fe, target = _free_pair(rng, delta)
            srv = _Named(f"at{target}", target)
            try:
                sign = "+" if delta > 0 else "-"
                cfg = f"""defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen l
    bind 127.0.0.1:{fe}
    server s 127.0.0.1:{sign}{abs(delta)}
"""
                with run_proxy(cfg, wait_ports=[fe], which=which):
                    with socket.create_connection(("127.0.0.1", fe), timeout=5) as c:
                        c.settimeout(5)
                        got = c.recv(100).decode()
                assert got == f"at{target}", (which, delta, got)
            finally:
                srv.stop()


SERVERS = ("127.0.0.1", "127.0.0.1:80", "127.0.0.1:+1", "127.0.0.1:-2", "[::1]", "127.0.0.1:8080")
PARAMS = ("check", "check port 81", "", "check disabled", "check addr 127.0.0.2", "agent-check agent-port 5",
          "check inter 2s")
CHECKS = ("", "option tcp-check\n    tcp-check connect port 80", "option tcp-check\n    tcp-check connect",
          "option httpchk", "option httpchk\n    http-check connect port 81", "option redis-check")


def _case(rng: random.Random) -> str:
    out = ["defaults", "    mode tcp", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s"]
    for b in range(rng.randint(1, 4)):
        out.append(f"backend b{b}")
        chk = rng.choice(CHECKS)
        if chk:
            out.append("    " + chk)
        for s in range(rng.randint(1, 3)):
            out.append(f"    server s{s} {rng.choice(SERVERS)} {rng.choice(PARAMS)}".rstrip())
    return "\n".join(out) + "\n"


def test_checked_servers_need_a_port_as_haproxy(tmp_path: Path) -> None:
    require_haproxy_bin()
    rng = random.Random(2613)
    diffs, hits = [], 0
    for n in range(60):
        cfg = tmp_path / f"p{n}.cfg"
        cfg.write_text(_case(rng))
        a = subprocess.run(["haproxy", "-c", "-f", cfg.name], cwd=tmp_path, capture_output=True, text=True,
                           timeout=30)
        b = subprocess.run([sys.executable, "-m", "haproxy_py", "-c", "-f", cfg.name], cwd=tmp_path,
                           capture_output=True, text=True, timeout=30, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        pick = [[ln.split(" : ", 2)[-1] for ln in p.stderr.splitlines() if "service port" in ln] for p in (a, b)]
        hits += bool(pick[0])
        if pick[0] != pick[1] or (a.returncode == 0) != (b.returncode == 0):
            diffs.append((cfg.read_text(), a.stderr, b.stderr))
    assert not diffs, "\n\n".join(f"{c}\n 2.6: {t}\n ours: {o}" for c, t, o in diffs[:3])
    assert hits > 15
