"""An idle HTTP keep-alive connection keeps nothing of its finished request (issue 20, memory per
idle session): once the response went, the session holds no request or response head, no rules'
context, no load-balancing request, no log record of its own (the next request's is made at its
first byte), and the sessions' long timeouts hold one loop timer in all
(engine/stream.py TimerWheel), with no bucket left for a deadline nobody waits for.

The proxy runs in a child process of its own (``python -m haproxy_py`` through a small wrapper
that, when a trigger file appears, writes what its sessions hold as JSON); the engine's state is
read there, between two loop iterations' worth of bytecode, from a daemon thread."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.integration.harness import (
    free_port,
    http_backends,
    require_haproxy,
    run_proxy,
    stop_process,
    wait_port,
)

WRAPPER = r'''
import gc, json, os, runpy, sys, threading, time
trig = os.environ["IDLE_TRIG"]

def state():
    from haproxy_py.engine.http import IDLE_REC, HttpSession
    from haproxy_py.engine.stream import _Bucket
    # the engine was frozen out of the collector's lists (gc.freeze): found from a session
    one = next(o for o in gc.get_objects() if isinstance(o, HttpSession))
    eng = one.engine
    sess = [s for s in list(eng.state.sessions) if isinstance(s, HttpSession)]
    w = eng.timer_wheel
    kept = {a: sum(getattr(s, a) is not None for s in sess)
            for a in ("req", "res", "txn", "lbreq", "req_key", "res_rules", "l7", "reqbody", "resbody")}
    kept["own log record"] = sum(s.rec is not IDLE_REC for s in sess)
    return {"sessions": len(sess), "phases": sorted({s.phase for s in sess}), "kept": kept,
            "in_wheel": sum(1 for s in sess if type(s.timer) is _Bucket),
            "buckets": len(w.buckets) if w else 0,
            "empty_buckets": sum(1 for b in w.buckets.values() if not b) if w else 0,
            "bucketed": sum(len(b) for b in w.buckets.values()) if w else 0,
            "wheel_armed": getattr(w, "handle", None) is not None, "heap": len(getattr(w, "ticks", ()))}

def watch():
    while True:
        time.sleep(0.05)
        if os.path.exists(trig):
            os.unlink(trig)
            for _ in range(20):
                try:
                    out = state()
                    break
                except RuntimeError:  # a set changed size while read: read again
                    time.sleep(0.01)
            with open(trig + ".tmp", "w") as f:
                json.dump(out, f)
            os.rename(trig + ".tmp", trig + ".json")

threading.Thread(target=watch, daemon=True).start()
sys.argv = ["haproxy_py"] + sys.argv[1:]
runpy.run_module("haproxy_py", run_name="__main__")
'''


def _read_state(trig: Path, proc: subprocess.Popen[bytes]) -> dict:
    out = trig.with_name(trig.name + ".json")
    out.unlink(missing_ok=True)
    trig.write_text("")
    deadline = time.monotonic() + 20
    while not out.exists():
        assert proc.poll() is None, "the proxy exited"
        assert time.monotonic() < deadline, "no state written"
        time.sleep(0.05)
    return json.loads(out.read_text())


def _one_exchange(s: socket.socket, req: bytes) -> bytes:
    s.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        assert d, "closed before the response"
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    n = int(next(ln.split(b":", 1)[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")))
    while len(body) < n:
        d = s.recv(65536)
        assert d, "closed in the body"
        body += d
    return head


def test_idle_keepalive_sessions_keep_no_request_state_and_one_wheel_timer(tmp_path: Path) -> None:
    with http_backends("app") as (be,):
        fe = free_port()
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(f"""global
    maxconn 500
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
frontend fe
    bind 127.0.0.1:{fe}
    acl is_admin path_beg /admin
    http-request deny if is_admin
    http-request set-header X-Src %[src]
    default_backend be
backend be
    balance uri
    server s1 127.0.0.1:{be.port}
""")
        wrapper = tmp_path / "wrap.py"
        wrapper.write_text(WRAPPER)
        trig = tmp_path / "trig"
        env = dict(os.environ, IDLE_TRIG=str(trig),
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        errf = open(tmp_path / "stderr.txt", "wb")
        proc = subprocess.Popen([sys.executable, str(wrapper), "-db", "-f", str(cfg)], stdout=errf, stderr=errf,
                                cwd=str(ROOT), env=env)
        socks: list[socket.socket] = []
        try:
            wait_port(fe, timeout=20)
            n = 40
            for i in range(n):
                s = socket.create_connection(("127.0.0.1", fe), timeout=10)
                socks.append(s)
                head = _one_exchange(s, f"GET /p{i}?x={i} HTTP/1.1\r\nHost: h\r\n\r\n".encode())
                assert head.startswith(b"HTTP/1.1 200")
            # every connection answered and idle, waiting for its next request
            deadline = time.monotonic() + 20
            while True:
                st = _read_state(trig, proc)
                if st["sessions"] == n and st["phases"] == ["head"] or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert st["sessions"] == n and st["phases"] == ["head"], st
            assert st["kept"] == dict.fromkeys(st["kept"], 0), st  # nothing of the finished request
            # each idle session waits in the wheel (timeout client), one loop timer for all of them
            assert st["in_wheel"] == n and st["bucketed"] == n, st
            assert st["empty_buckets"] == 0 and st["wheel_armed"], st
            assert st["buckets"] <= n and st["heap"] <= 64 + 2 * st["buckets"], st
            # and the connections still work: a second request on each
            for i, s in enumerate(socks[:5]):
                assert _one_exchange(s, f"GET /q{i} HTTP/1.1\r\nHost: h\r\n\r\n".encode()).startswith(b"HTTP/1.1 200")
        finally:
            for s in socks:
                s.close()
            stop_process(proc)
            errf.close()


def _second_request_error_line(which: str, close: bool) -> str:
    """The log line of a partial second request on a kept-alive connection, timed out (408) or cut
    by the client (400), without its address, date and total time."""
    require_haproxy(which)
    with http_backends("app") as (be,):
        fe = free_port()
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(0.3)
        cfg = f"""global
    log 127.0.0.1:{sink.getsockname()[1]} local0
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 1s
    timeout http-keep-alive 1s
frontend fe
    bind 127.0.0.1:{fe}
    capture request header Host len 20
    default_backend be
backend be
    server s1 127.0.0.1:{be.port}
"""
        try:
            with run_proxy(cfg, wait_ports=[fe], which=which):
                time.sleep(0.3)
                while True:  # the lines of wait_port's probe
                    try:
                        sink.recv(4096)
                    except OSError:
                        break
                with socket.create_connection(("127.0.0.1", fe), timeout=10) as s:
                    assert _one_exchange(s, b"GET /first HTTP/1.1\r\nHost: hh\r\n\r\n").startswith(b"HTTP/1.1 200")
                    s.sendall(b"GET /second HTT")
                    if close:
                        time.sleep(0.2)
                        s.shutdown(socket.SHUT_WR)
                    s.settimeout(10)
                    while s.recv(65536):
                        pass
                # the first request's line then the error's (a late line of wait_port's probe
                # connection, before them, is left out)
                lines: list[str] = []
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and len(lines) < 2:
                    try:
                        line = sink.recv(4096).decode("latin-1")
                    except OSError:
                        continue
                    if lines or "/first" in line:
                        lines.append(line)
        finally:
            sink.close()
    assert len(lines) == 2, lines
    assert "GET /first" in lines[0], lines
    body = lines[1].split("]: ", 1)[1].split("] ", 1)[1].strip()  # after the accept date
    return re.sub(r"^(\S+ \S+ -?\d+/-?\d+/-?\d+/-?\d+/)\d+", r"\1T", body)


@pytest.mark.parametrize("close", [False, True], ids=["408-timeout", "400-client-close"])
def test_an_error_on_a_second_request_logs_nothing_of_the_first(close: bool) -> None:
    """The record of the next request is a fresh one, made at its first byte (engine/http.py _new_rec):
    no backend, server, timers, captures or request line of the request before (which haproxy-py
    logged there before), the same line as 2.6's."""
    ours = _second_request_error_line("ours", close)
    assert "/first" not in ours and "be/s1" not in ours, ours
    assert ours == _second_request_error_line("haproxy", close)
