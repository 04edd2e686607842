"""Messages on stderr (foreground), line for line against HAProxy 2.6 for the same events: health
checks failing then passing, runtime state changes (drain, ready, maint), a proxy left without
server, and listeners that cannot bind."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time

from tests.integration.harness import ROOT, HttpBackend, free_port, require_haproxy, run_proxy


def _cli(path: str, cmd: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(cmd.encode() + b"\n")
        out = b""
        while d := s.recv(65536):
            out += d
    return out.decode()


def _norm(text: str) -> list[str]:
    """The [ALERT]/[WARNING] lines, without the PID and with check durations masked."""
    out = []
    for ln in text.splitlines():
        if not ln.startswith(("[ALERT]", "[WARNING]")):
            continue
        ln = re.sub(r"^(\[\w+\]\s+)\(\d+\)", r"\1(PID)", ln)
        out.append(re.sub(r"check duration: \d+ms", "check duration: Nms", ln))
    return out


def _events(which: str) -> list[str]:
    port = free_port()  # nothing listens there until the backend below starts
    dead = free_port()
    fe = free_port()
    cfg = f"""global
    stats socket @DIR@/s.sock level admin
defaults
    mode http
    timeout connect 500ms
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    server s1 127.0.0.1:{port} check inter 150ms fall 1 rise 1
    server s2 127.0.0.1:{port}
backend be2
    server only 127.0.0.1:{dead} check inter 150ms fall 1 rise 1
"""
    be = None
    try:
        with run_proxy(cfg, wait_ports=[fe], which=which) as p:
            sock = str(p.workdir / "s.sock")
            time.sleep(0.8)  # both checks fail: s1 and be2/only go DOWN
            be = HttpBackend("x", port=port).start()
            time.sleep(0.8)  # s1 comes back
            for st in ("drain", "ready", "maint", "ready"):
                _cli(sock, f"set server be/s1 state {st}")
                time.sleep(0.4)
            _cli(sock, "disable server be/s1")
            time.sleep(0.3)
            _cli(sock, "enable server be/s1")
            time.sleep(0.5)
            return _norm(p.stderr_text())
    finally:
        if be is not None:
            be.stop()


def test_state_change_messages_on_stderr_as_haproxy() -> None:
    require_haproxy("haproxy")
    theirs = _events("haproxy")
    ours = _events("ours")
    for name in ("be/", "be2"):  # the two backends' events interleave as their checks happen to run
        t = [ln for ln in theirs if name in ln]
        o = [ln for ln in ours if name in ln]
        assert o == t, "\n".join(["ours:", *o, "haproxy:", *t])
    assert any(ln.startswith("[WARNING]") and "be/s1 is DOWN" in ln for ln in ours)
    assert "[ALERT]    (PID) : backend 'be2' has no server available!" in ours


def test_bind_failures_name_each_bind_as_haproxy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    require_haproxy("haproxy")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        text = f"""defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
listen li
    bind 127.0.0.1:{port}
    server s1 127.0.0.1:9
frontend fe
    bind 127.0.0.1:{port}
    default_backend li
"""
        got = {}
        for which, cmd in (("haproxy", ["haproxy"]), ("ours", [sys.executable, "-m", "haproxy_py"])):
            d = tmp_path / which
            d.mkdir()
            cfg = d / "h.cfg"
            cfg.write_text(text)
            r = subprocess.run(cmd + ["-db", "-f", "h.cfg"], capture_output=True, text=True, cwd=str(d),
                               timeout=30, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/sbin:/usr/bin:/bin"})
            got[which] = (r.returncode, [re.sub(r"\[\S+\.main\(\)\]", "[PROG.main()]", ln)
                                         for ln in _norm(r.stdout + r.stderr)])
    assert got["ours"] == got["haproxy"]
    assert got["ours"][1][0].endswith(f"Binding [h.cfg:7] for proxy li: cannot bind socket (Address already in "
                                      f"use) for [127.0.0.1:{port}]")
