"""``dispatch ADDR`` in a backend, side by side with HAProxy 2.6: without ``balance`` every request
goes to the dispatch address (logged ``be/<NOSRV>``), servers or not; with ``balance`` the address is
ignored, with 2.6's warning, and the servers serve."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tests.integration.harness import ROOT, HttpBackend, TcpServer, free_port, get, require_haproxy, run_proxy


def _cfg(fe: int, mode: str, dispatch_port: int, extra: str) -> str:
    return f"""global
    log stderr format raw local0
defaults
    mode {mode}
    log global
    option {mode}log
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    dispatch 127.0.0.1:{dispatch_port}
{extra}"""


@pytest.mark.parametrize("which", ["haproxy", "ours"])
@pytest.mark.parametrize("variant", ["no-server", "servers-no-balance", "balance"])
def test_dispatch_sends_to_its_address_as_haproxy(which: str, variant: str) -> None:
    require_haproxy(which)
    disp = HttpBackend("disp").start()
    s1 = HttpBackend("s1").start()
    extra = {"no-server": "",
             "servers-no-balance": f"    server s1 127.0.0.1:{s1.port}\n",
             "balance": f"    balance roundrobin\n    server s1 127.0.0.1:{s1.port}\n"}[variant]
    fe = free_port()
    try:
        with run_proxy(_cfg(fe, "http", disp.port, extra), wait_ports=[fe], which=which) as p:
            bodies = [get(fe, f"/r{i}")[2] for i in range(3)]
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and p.stderr_text().count("GET /r") < 3:
                time.sleep(0.05)
            lines = [ln for ln in p.stderr_text().splitlines() if "GET /r" in ln]
    finally:
        disp.stop()
        s1.stop()
    want = "s1" if variant == "balance" else "disp"
    assert bodies == [f"{want}\n".encode()] * 3, (which, bodies)
    assert len(disp.requests) == (0 if variant == "balance" else 3)
    name = "be/s1" if variant == "balance" else "be/<NOSRV>"
    assert len(lines) == 3 and all(f" {name} " in ln for ln in lines), lines


class _Echo(TcpServer):
    def serve(self, c: socket.socket) -> None:
        with c:
            d = c.recv(1024)
            c.sendall(b"echo:" + d)


@pytest.mark.parametrize("which", ["haproxy", "ours"])
def test_dispatch_in_tcp_mode(which: str) -> None:
    require_haproxy(which)
    echo = _Echo()
    fe = free_port()
    try:
        with run_proxy(_cfg(fe, "tcp", echo.port, ""), wait_ports=[fe], which=which):
            with socket.create_connection(("127.0.0.1", fe), timeout=5) as c:
                c.sendall(b"hello")
                got = c.recv(1024)
    finally:
        echo.close()
    assert got == b"echo:hello"


def _check(which: str, text: str, tmp_path) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    (tmp_path / which).mkdir()
    cfg = tmp_path / which / "h.cfg"
    cfg.write_text(text)
    cmd = ([sys.executable, "-m", "haproxy_py"] if which == "ours" else ["haproxy"]) + ["-c", "-f", str(cfg)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT), timeout=30)
    msgs = [ln.split(":", 1)[1].strip() if ")" in ln else ln for ln in (r.stdout + r.stderr).splitlines()
            if ln.startswith(("[WARNING]", "[ALERT]"))]
    return r.returncode, [m.split(") :", 1)[-1].strip() for m in msgs]


@pytest.mark.parametrize("body", [
    "backend be\n    dispatch 127.0.0.1:8\n    balance roundrobin\n    server s1 127.0.0.1:9\n",
    "defaults\n    balance leastconn\nbackend be\n    dispatch 127.0.0.1:8\n    server s1 127.0.0.1:9\n",
    "defaults\n    dispatch 127.0.0.1:8\nbackend be\n",
    "backend be\n    dispatch 127.0.0.1\n",
    "backend be\n    dispatch\n",
])
def test_dispatch_config_messages_as_haproxy(body: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    require_haproxy("haproxy")
    text = "defaults\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" + body
    theirs = _check("haproxy", text, tmp_path)
    ours = _check("ours", text, tmp_path)
    assert ours[0] == theirs[0]
    assert [m.replace("/ours/", "/") for m in ours[1] if "dispatch" in m] == \
        [m.replace("/haproxy/", "/") for m in theirs[1] if "dispatch" in m]
