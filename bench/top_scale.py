"""How ``haproxy.pyz top`` scales: CPU of the monitor and key latency with N servers.

Starts haproxy-py with a generated configuration of one backend of N servers (no checks, every
address 127.0.0.1:1), then ``python -m tui`` in a private tmux server against its stats socket,
and measures:

* CPU: utime+stime of the ``top`` process from /proc/PID/stat over a window of W seconds, as a
  percentage of one core (the monitor refreshes by itself at the interval it picks or is given);
* key latency: time from ``tmux send-keys`` to the screen showing the key's effect (``?`` opens
  the help, Escape closes it; ``j`` moves the selection), polled with ``capture-pane`` every 5 ms.

Usage: python bench/top_scale.py [--servers 10000,50000] [--window 20] [--keys 10] [--interval S]
Every process it starts is stopped by PID (haproxy-py's process group, tmux's private server).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TMUX = shutil.which("tmux") or "/usr/bin/tmux"
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_config(n: int, sock: str, port: int) -> str:
    lines = [
        "global",
        f"    stats socket {sock} mode 600 level admin",
        "    stats timeout 60s",
        "defaults",
        "    mode http",
        "    timeout connect 1s",
        "    timeout client 5s",
        "    timeout server 5s",
        "frontend fe",
        f"    bind 127.0.0.1:{port}",
        "    default_backend big",
        "backend big",
    ]
    lines += [f"    server s{i} 127.0.0.1:1" for i in range(1, n + 1)]
    return "\n".join(lines) + "\n"


def cli(sock: str, cmd: str, timeout: float = 60) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(sock)
        s.sendall(cmd.encode() + b"\n")
        out = []
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            out.append(b)
    return b"".join(out).decode()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Tmux:
    def __init__(self, command: str, width: int = 160, height: int = 45) -> None:
        self.name = f"hpy-topscale-{os.getpid()}-{time.monotonic_ns()}"
        subprocess.run(
            [TMUX, "-L", self.name, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", str(width),
             "-y", str(height), command],
            check=True, timeout=10,
        )

    def pane_pid(self) -> int:
        out = subprocess.run([TMUX, "-L", self.name, "display", "-p", "-t", "t", "#{pane_pid}"],
                             capture_output=True, text=True, timeout=10).stdout
        return int(out.strip())

    def screen(self) -> str:
        return subprocess.run([TMUX, "-L", self.name, "capture-pane", "-p", "-t", "t"],
                              capture_output=True, text=True, timeout=10).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([TMUX, "-L", self.name, "send-keys", "-t", "t", *keys], check=True, timeout=10)

    def wait(self, pred, timeout: float = 60.0, poll: float = 0.005) -> float:  # type: ignore[no-untyped-def]
        t0 = time.monotonic()
        while True:
            s = self.screen()
            if pred(s):
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"screen never matched; last screen:\n{s}")
            time.sleep(poll)

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.name, "kill-server"], capture_output=True, timeout=10)


def _toggle(t: Tmux, key: str, shown: str, rounds: int, close: str | None = None) -> tuple[list[float], list[float]]:
    """Milliseconds for ``key`` to show ``shown`` and for ``close`` (default: ``key`` again) to
    take it away, ``rounds`` times each."""
    opened: list[float] = []
    closed: list[float] = []
    for _ in range(rounds):
        for present in (True, False):
            t0 = time.monotonic()
            t.keys(key if present else (close or key))
            t.wait(lambda s, p=present: (shown in s) == p, timeout=30)
            (opened if present else closed).append((time.monotonic() - t0) * 1000)
            time.sleep(0.25)
    return opened, closed


def key_latency(t: Tmux, rounds: int) -> dict[str, list[float]]:
    """Milliseconds from send-keys to the effect on screen: ``p`` (PAUSED appears in the status
    line, and goes), ``?`` (the help opens, ``?`` closes it) and Escape closing it: a lone Escape
    reaches an application only after the terminal parser's wait for a longer escape sequence, so
    it is measured apart and is not a latency of ``top``'s."""
    p_on, p_off = _toggle(t, "p", "PAUSED", rounds)
    h_on, h_off = _toggle(t, "?", "haproxy-py top: keys", rounds)
    _, esc = _toggle(t, "?", "haproxy-py top: keys", rounds, close="Escape")
    return {"p": p_on + p_off, "?": h_on, "? close": h_off, "Escape close": esc}


def run_one(n: int, window: float, rounds: int, interval: float | None, workdir: Path) -> dict:  # type: ignore[type-arg]
    sock = str(workdir / f"s{n}.sock")
    cfg = workdir / f"top{n}.cfg"
    cfg.write_text(make_config(n, sock, free_port()))
    proxy = subprocess.Popen([sys.executable, "-m", "haproxy_py", "-db", "-f", str(cfg)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    t = None
    try:
        deadline = time.monotonic() + 300
        while True:
            if proxy.poll() is not None:
                raise RuntimeError(f"haproxy-py exited: {proxy.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if cli(sock, "show info").startswith("Name"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("haproxy-py did not open its stats socket")
            time.sleep(0.5)
        t0 = time.monotonic()
        stat = cli(sock, "show stat")
        stat_ms = (time.monotonic() - t0) * 1000
        args = f"-s {sock}" + (f" -i {interval:g}" if interval else "")
        env = "TEXTUAL_ANIMATIONS=none"
        t = Tmux(f"cd {ROOT} && exec env {env} {sys.executable} -m tui {args}")
        pid = t.pane_pid()
        first = t.wait(lambda s: f"{n} servers" in s, timeout=180)
        t.wait(lambda s: "every " in s)
        screen = t.screen()
        picked = screen.split("every ", 1)[1].split()[0]
        time.sleep(3)  # a few refreshes before measuring
        c0, w0 = cpu_seconds(pid), time.monotonic()
        time.sleep(window)
        c1, w1 = cpu_seconds(pid), time.monotonic()
        cpu = 100 * (c1 - c0) / (w1 - w0)
        screen = t.screen()  # the interval top picked by itself may have changed since
        if "every " in screen:
            picked = screen.split("every ", 1)[1].split()[0] + (" (auto)" if "(auto)" in screen else "")
        lat = key_latency(t, rounds)
        rss = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) // 1024
        return {
            "servers": n,
            "show_stat_bytes": len(stat),
            "show_stat_ms": round(stat_ms),
            "interval": picked,
            "first_screen_s": round(first, 2),
            "cpu_percent_of_core": round(cpu, 1),
            "key_p_ms_median": round(statistics.median(lat["p"])),
            "key_p_ms_max": round(max(lat["p"])),
            "key_help_ms_median": round(statistics.median(lat["?"])),
            "key_help_ms_max": round(max(lat["?"])),
            "key_help_close_ms_median": round(statistics.median(lat["? close"])),
            "key_escape_close_ms_median": round(statistics.median(lat["Escape close"])),
            "rss_mib": rss,
        }
    finally:
        if t is not None:
            t.close()
        try:
            os.killpg(proxy.pid, signal.SIGTERM)
            proxy.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proxy.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--servers", default="10000,50000")
    ap.add_argument("--window", type=float, default=20.0, help="CPU measurement window (s)")
    ap.add_argument("--keys", type=int, default=10, help="key latency rounds (two keys each)")
    ap.add_argument("--interval", type=float, default=None, help="force -i (default: top's own)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    a = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="topscale-", dir="/tmp") as d:
        for n in (int(x) for x in a.servers.split(",")):
            r = run_one(n, a.window, a.keys, a.interval, Path(d))
            print(json.dumps(r), flush=True)
            results.append(r)
    os.makedirs(a.out, exist_ok=True)
    out = Path(a.out) / time.strftime("top-scale-%Y%m%d-%H%M%S.json")
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
