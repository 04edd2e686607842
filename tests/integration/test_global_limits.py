"""Global process limits side by side with Debian's HAProxy 2.6: 'ulimit-n', 'fd-hard-limit',
'[no] strict-limits' (show info's Ulimit-n/Maxsock/Maxconn, the alerts and warnings when the
descriptor limit cannot be raised, fatal with strict-limits), and the accept rate limits
'maxconnrate' / 'maxsessrate'."""

from __future__ import annotations

import random
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from haproxy_py.cli import main
from tests.conftest import free_port
from tests.integration.harness import ROOT, require_haproxy, run_proxy, stop_process, wait_files
from tests.integration.stats_client import stats_cli

INFO_KEYS = ("Ulimit-n", "Maxsock", "Maxconn", "Hard_maxconn", "ConnRateLimit", "SessRateLimit")


def _start(which: str, glob: str) -> tuple[int | None, dict[str, str], list[str]]:
    """(exit code or None when it runs, show info's limits, its alert/warning lines normalised)."""
    work = Path(tempfile.mkdtemp(prefix="hpy-lim-"))
    sock = work / "s.sock"
    port = free_port()
    cfg = work / "h.cfg"
    cfg.write_text(f"global\n    stats socket {sock} level admin\n{glob}"
                   "defaults\n    mode http\n    timeout connect 1s\n    timeout client 2s\n    timeout server 2s\n"
                   f"frontend f\n    bind 127.0.0.1:{port}\n    http-request return status 200\n")
    cmd = ([sys.executable, "-m", "haproxy_py"] if which == "ours" else ["haproxy"]) + ["-db", "-f", str(cfg)]
    errf = open(work / "err", "wb")
    proc = subprocess.Popen(cmd, stdout=errf, stderr=errf, cwd=str(ROOT))
    info: dict[str, str] = {}
    rc = None
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if sock.exists():
                try:
                    text = stats_cli(str(sock), "show info")
                except OSError:
                    text = ""
                if "Maxsock" in text:
                    info = {k: v.strip() for k, _, v in (ln.partition(":") for ln in text.splitlines())
                            if k in INFO_KEYS}
                    break
            time.sleep(0.05)
        rc = proc.poll()
    finally:
        stop_process(proc)
        errf.close()
    lines = [re.sub(r"^\[(\w+)\]\s+\(\d+\) : \[[^]]*\.main\(\)\] ", r"\1 ", ln)
             for ln in (work / "err").read_text(errors="replace").splitlines()
             if ln.startswith(("[ALERT]", "[WARNING]")) and ".main()]" in ln]
    return rc, info, lines


@pytest.mark.slow
def test_ulimit_n_fd_hard_limit_strict_limits_as_haproxy() -> None:
    require_haproxy("haproxy", "2.6's descriptor limits")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = max(soft, hard) if hard != resource.RLIM_INFINITY else 1 << 20
    cases = [
        "",
        "    ulimit-n 5000\n    maxconn 2000\n",  # below the boot limit: asked for and reported
        f"    ulimit-n {top + 1000}\n    strict-limits\n",  # cannot be raised: fatal
        # a warning and the limit it got, then the 'too low for maxconn' alert, neither fatal
        f"    ulimit-n {top + 1000}\n    no strict-limits\n    maxconn {top // 2 + 100}\n",
        "    fd-hard-limit 3000\n",
        "    fd-hard-limit 3000\n    maxconn 5000\n",  # strict-limits by default: fatal
    ]
    runs = [(w, glob) for glob in cases for w in ("ours", "haproxy")]
    with ThreadPoolExecutor(4) as ex:  # the Python starts dominate: a few at a time
        got = dict(zip(runs, ex.map(lambda r: _start(*r), runs), strict=True))
    for glob in cases:
        assert got["ours", glob] == got["haproxy", glob], glob
    # both outcomes were seen: refused to start (strict), warned and ran (no strict-limits)
    assert got["ours", cases[2]][0] == 1 and got["ours", cases[2]][2][0].startswith("ALERT Cannot raise")
    assert got["ours", cases[3]][0] is None and got["ours", cases[3]][2][0].startswith("WARNING Cannot raise")


BAD_ARGS = ["ulimit-n", "ulimit-n 10 20", "fd-hard-limit", "fd-hard-limit 10 2", "strict-limits x",
            "no strict-limits x", "maxconnrate", "maxconnrate 5 6", "maxsessrate", "maxsessrate 1 2",
            "tune.rcvbuf.client", "tune.rcvbuf.server 1 2", "tune.sndbuf.client 3 4", "tune.sndbuf.server",
            "grace", "grace x", "grace -1", "grace 5k"]


def _alerts(err: str) -> list[str]:
    return [ln.split(" : ", 2)[-1] for ln in err.splitlines() if ln.startswith("[ALERT]") and "parsing [" in ln]


def test_limit_keywords_bad_arguments_as_haproxy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_haproxy("haproxy", "2.6's -c messages")
    for i, line in enumerate(BAD_ARGS):
        cfg = tmp_path / f"b{i}.cfg"
        cfg.write_text(f"global\n    {line}\n")
        p = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
        capsys.readouterr()
        assert main(["-c", "-f", str(cfg)]) == p.returncode == 1, line
        ours = _alerts(capsys.readouterr().err)
        assert ours == _alerts(p.stderr) and len(ours) == 1, (line, ours, p.stderr)


def _burst(port: int, n: int) -> list[float]:
    """n connections opened at once, one request each: when each answer came (from the start)."""
    socks = []
    t0 = time.monotonic()
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        s.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        socks.append(s)
    done: dict[socket.socket, float] = {}
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    deadline = t0 + 30
    while len(done) < n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            if data.startswith(b"HTTP/1.1 200") and s not in done:
                done[s] = time.monotonic() - t0
            if not data or s in done:
                sel.unregister(s)
    for s in socks:
        s.close()
    return sorted(done.values())


@pytest.mark.slow
@pytest.mark.parametrize("kw", ["maxconnrate", "maxsessrate"])
def test_maxconnrate_maxsessrate_as_haproxy(kw: str) -> None:
    """A burst of 12 connections under a limit of 4 per second: both proxies answer every one,
    at most 4 within the first 0.8 s, and no sooner than the rate allows (2.6's freq_ctr: at most
    4 in any second, so 12 take two seconds at least); a loaded machine only makes it slower.
    nbthread 1: 2.6's threads count a session after handing its connection over, so with two
    threads one more session slips into the first second."""
    require_haproxy("haproxy", "2.6's accept rate limits")

    def one(which: str) -> tuple[list[float], str]:
        port = free_port()
        cfg = (f"global\n    stats socket @DIR@/s.sock level admin\n    {kw} 4\n    nbthread 1\n"
               "defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n"
               f"frontend f\n    bind 127.0.0.1:{port}\n    http-request return status 200\n")
        with run_proxy(cfg, which=which) as pp:
            sock = pp.workdir / "s.sock"
            wait_files([sock], 15, pp.stderr_text)
            times = _burst(port, 12)
            return times, stats_cli(str(sock), "show info")

    infos = {}
    with ThreadPoolExecutor(2) as ex:  # side by side: each proxy its own limit and clients
        runs = {which: ex.submit(one, which) for which in ("ours", "haproxy")}
        for which, fut in runs.items():
            times, text = fut.result()
            assert len(times) == 12, (which, times)
            assert sum(t < 0.8 for t in times) <= 4, (which, times)
            assert times[-1] >= 1.5, (which, times)
            infos[which] = {k: v.strip() for k, _, v in (ln.partition(":") for ln in text.splitlines())
                            if k in ("ConnRateLimit", "SessRateLimit")}
    assert infos["ours"] == infos["haproxy"] and "4" in infos["ours"].values(), infos


def _skmem(local: int | None, peer: int | None) -> tuple[int, int]:
    """(rb, tb) of the established TCP socket with that local and/or peer port (``ss -tmn``)."""
    out = subprocess.run(["ss", "-tmnH", "state", "established"], capture_output=True, text=True,
                         timeout=10).stdout
    lines = out.splitlines()
    for i, ln in enumerate(lines):
        w = ln.split()
        if len(w) < 4 or i + 1 >= len(lines):
            continue
        lp, pp = int(w[-2].rpartition(":")[2]), int(w[-1].rpartition(":")[2])
        if (local is None or lp == local) and (peer is None or pp == peer):
            m = re.search(r"rb(\d+),t\d+,tb(\d+)", lines[i + 1] if "skmem" not in ln else ln)
            assert m, (ln, lines[i + 1])
            return int(m[1]), int(m[2])
    raise AssertionError(f"no socket {local}->{peer} in {out}")


def test_socket_buffer_sizes_as_haproxy() -> None:
    """tune.rcvbuf/sndbuf.client on the connections from clients, tune.rcvbuf/sndbuf.server on
    those to servers: the kernel's figures (ss -tm skmem rb/tb) the same as 2.6's."""
    require_haproxy("haproxy", "2.6's socket buffers")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(10)
    sport = srv.getsockname()[1]
    got = {}
    try:
        for which in ("ours", "haproxy"):
            fe = free_port()
            cfg = ("global\n    tune.rcvbuf.client 32768\n    tune.sndbuf.client 49152\n"
                   "    tune.rcvbuf.server 40960\n    tune.sndbuf.server 57344\n"
                   "defaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n"
                   f"listen t\n    bind 127.0.0.1:{fe}\n    server s 127.0.0.1:{sport}\n")
            with run_proxy(cfg, wait_ports=[fe], which=which):
                c = socket.create_connection(("127.0.0.1", fe), timeout=10)
                c.sendall(b"hello")
                while True:  # the harness's port probe reached the server too: find our connection
                    s, peer = srv.accept()
                    s.settimeout(10)
                    if s.recv(5) == b"hello":
                        break
                    s.close()
                got[which] = (_skmem(fe, c.getsockname()[1]), _skmem(peer[1], sport))
                c.close()
                s.close()
    finally:
        srv.close()
    assert got["ours"] == got["haproxy"], got
    assert got["ours"] == ((65536, 98304), (81920, 114688)), got  # Linux doubles what is asked for


LOGURI_FMT = "%r|%HU|%HP|%HQ|%HM|%HV|%[capture.req.uri]|%[capture.req.method]"


LONG_FMT = "%HV|%HQ|%HM|%[capture.req.uri,length]|%[capture.req.method]|%[capture.req.ver]|-|-"


def _log_lines(which: str, glob: str, requests: list[bytes], fmt: str = LOGURI_FMT) -> list[str]:
    port = free_port()
    cfg = (f"global\n    log stdout format raw local0\n{glob}"
           "defaults\n    mode http\n    log global\n    timeout connect 1s\n    timeout client 5s\n"
           f"    timeout server 5s\nfrontend f\n    bind 127.0.0.1:{port}\n    log-format \"{fmt}\"\n"
           "    http-request return status 200\n")
    def logged() -> list[str]:  # without the harness's port probe
        return [ln for ln in pp.stderr_text().splitlines()
                if ln.count("|") == 7 and not ln.startswith("<BADREQ>|")]

    with run_proxy(cfg, wait_ports=[port], which=which) as pp:
        for n, raw in enumerate(requests, 1):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                c.sendall(raw)
                c.recv(4096)
            # one request's line before the next is sent: the order of lines is then the
            # order of requests, whichever proxy closes its side first (CI saw two swap)
            deadline = time.monotonic() + 15
            while len(logged()) < n and time.monotonic() < deadline:
                time.sleep(0.01)
        return logged()


def test_tune_http_logurilen_as_haproxy() -> None:
    """The request line the logs keep (%r, %HU, %HP, %HQ, %HM, %HV, capture.req.uri/method),
    cut at every place of generated request lines, the same as 2.6's; 2.6's default keeps 1023."""
    require_haproxy("haproxy", "2.6's request-line capture")
    rnd = random.Random(2606)
    reqs = []
    for n in range(1, 26):
        uri = "/" + "".join(rnd.choice("abcdefgh/?=&") for _ in range(n))
        meth = rnd.choice(["GET", "DELETE", "OPTIONS", "POST"])
        reqs.append(f"{meth} {uri} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode())
    long = [f"GET /{'a' * n} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode() for n in (1010, 1030)]
    for glob, rq, fmt in (("    tune.http.logurilen 5\n", reqs[:8], LOGURI_FMT),
                          ("    tune.http.logurilen 23\n", reqs, LOGURI_FMT), ("", long, LONG_FMT)):
        with ThreadPoolExecutor(2) as ex:  # side by side: each its own port and log
            futs = {w: ex.submit(_log_lines, w, glob, rq, fmt) for w in ("ours", "haproxy")}
            got = {w: f.result() for w, f in futs.items()}
        assert len(got["ours"]) == len(rq), got
        assert got["ours"] == got["haproxy"], (glob, got)


COOKIE_CFG = """\
global
    log stdout format raw local0
{glob}defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    log-format "%ft|%CC|%CS"
frontend f1
    bind 127.0.0.1:{p1}
    capture cookie SID len 100
    default_backend b
frontend f2
    bind 127.0.0.1:{p2}
    capture cookie SID len 5
    default_backend b
listen f3
    bind 127.0.0.1:{p3}
    capture cookie SID len {l3}
    server s 127.0.0.1:{pg}
backend b
    server s 127.0.0.1:{pg}
frontend g
    bind 127.0.0.1:{pg}
    http-request return status 200 hdr set-cookie SID={yy}
"""


def test_tune_http_cookielen_as_haproxy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """'capture cookie ... len N' keeps at most 'tune.http.cookielen' bytes (2.6's default: 63),
    with 2.6's warning when it cuts; the captured request and response cookies in the logs."""
    require_haproxy("haproxy", "2.6's cookie capture")
    for glob, l3, n_warn in (("", 63, 1), ("", 64, 2), ("    tune.http.cookielen 10\n", 10, 1),
                             ("    tune.http.cookielen 0\n", 9, 3), ("    tune.http.cookielen 200\n", 150, 0)):
        cfg = tmp_path / "c.cfg"
        cfg.write_text(COOKIE_CFG.format(glob=glob, p1=1, p2=2, p3=3, pg=4, l3=l3, yy="y"))
        p = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
        capsys.readouterr()
        assert main(["-c", "-f", str(cfg)]) == p.returncode == 0
        ours = [ln.split(" : ", 1)[1] for ln in capsys.readouterr().err.splitlines() if ln.startswith("[WARNING]")]
        assert ours == [ln.split(" : ", 1)[1] for ln in p.stderr.splitlines() if ln.startswith("[WARNING]")], glob
        assert len(ours) == n_warn and all("truncating capture length" in w for w in ours), ours
    logs = {}
    for which in ("ours", "haproxy"):
        ports = {k: free_port() for k in ("p1", "p2", "p3", "pg")}
        text = COOKIE_CFG.format(glob="    tune.http.cookielen 10\n", l3=9, yy="y" * 90, **ports)
        with run_proxy(text, wait_ports=list(ports.values()), which=which) as pp:
            for k in ("p1", "p2", "p3"):
                with socket.create_connection(("127.0.0.1", ports[k]), timeout=10) as c:
                    c.sendall(f"GET / HTTP/1.1\r\nhost: x\r\ncookie: SID={'x' * 120}\r\n"
                              "connection: close\r\n\r\n".encode())
                    while c.recv(4096):
                        pass
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                got = sorted(ln for ln in pp.stderr_text().splitlines()
                             if ln.startswith("f") and ln.count("|") == 2 and not ln.endswith("|-|-"))
                if len(got) >= 3:
                    break
                time.sleep(0.1)
        logs[which] = got
    assert len(logs["ours"]) == 3 and logs["ours"] == logs["haproxy"], logs
    assert [len(ln.split("|")[1]) for ln in logs["ours"]] == [10, 5, 9], logs  # f1 cut to 10, f2, f3


def _stopping_body(port: int) -> str:
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return "refused"
    with c:
        c.sendall(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        data = b""
        while chunk := c.recv(4096):
            data += chunk
    return data.partition(b"\r\n\r\n")[2].decode()


@pytest.mark.slow
def test_grace_delays_the_soft_stop_as_haproxy() -> None:
    """'grace 2s': after SIGUSR1, 'stopping' is true at once while the listeners still accept,
    and the soft stop (listeners closed, exit 0) comes when the delay ran out; as 2.6."""
    require_haproxy("haproxy", "2.6's grace")

    def one(which: str) -> None:
        port = free_port()
        # one thread: the CI's one hang (2.6 never exited after its grace; not reproduced in 30
        # runs under load here) is the kind a wake-up race between 2.6's threads would give
        cfg = ("global\n    grace 2s\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n"
               f"    timeout server 5s\nfrontend f\n    bind 127.0.0.1:{port}\n"
               "    http-request return status 200 content-type text/plain lf-string \"%[stopping]\"\n")
        with run_proxy(cfg, wait_ports=[port], which=which) as pp:
            assert _stopping_body(port) == "0"
            t0 = time.monotonic()
            pp.proc.send_signal(signal.SIGUSR1)
            deadline = t0 + 10
            while _stopping_body(port) != "1" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert time.monotonic() - t0 < 1.5, which  # answered during the grace, stopping
            assert pp.proc.wait(timeout=15) == 0
            assert time.monotonic() - t0 >= 1.9, which  # not before the delay ran out
        assert _stopping_body(port) == "refused", which

    with ThreadPoolExecutor(2) as ex:  # side by side: each its own port and clock
        for fut in [ex.submit(one, which) for which in ("ours", "haproxy")]:
            fut.result()
    # and without grace the listeners close at once
    port = free_port()
    with run_proxy(f"defaults\n    mode http\n    timeout client 5s\nfrontend f\n    bind 127.0.0.1:{port}\n"
                   "    http-request return status 200\n", wait_ports=[port]) as pp:
        pp.proc.send_signal(signal.SIGUSR1)
        assert pp.proc.wait(timeout=15) == 0


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, timeout=10).stdout
    return {int(x) for x in out.split()}


def _wait_for(cond, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def _max_reloads_run(which: str, sport: int) -> None:
    port = free_port()
    cfg = ("global\n    mworker-max-reloads 1\ndefaults\n    mode tcp\n    timeout connect 1s\n"
           "    timeout client 60s\n    timeout server 60s\n"
           f"listen f\n    bind 127.0.0.1:{port}\n    server s 127.0.0.1:{sport}\n")
    with run_proxy(cfg, wait_ports=[port], which=which, extra_args=["-W"]) as pp:
        master = pp.pid
        assert _wait_for(lambda: len(_children(master)) == 1), which
        (first,) = _children(master)
        conn = socket.create_connection(("127.0.0.1", port), timeout=10)  # keeps 'first' busy
        try:
            seen = {first}
            for n in (1, 2):
                pp.proc.send_signal(signal.SIGUSR2)
                assert _wait_for(lambda known=frozenset(seen): bool(_children(master) - known)), (which, n)
                seen |= _children(master)
                if n == 1:
                    time.sleep(1.0)
                    assert first in _children(master), which  # survived one reload
            assert _wait_for(lambda: first not in _children(master)), which  # terminated at the second
            line = f"Former worker ({first}) exited with code 143 (Terminated)"
            assert _wait_for(lambda: line in pp.stderr_text()), (which, pp.stderr_text())
        finally:
            conn.close()


@pytest.mark.slow
def test_mworker_max_reloads_as_haproxy() -> None:
    """'mworker-max-reloads 1' in master-worker mode: a worker kept alive by a connection
    survives one reload, and the master terminates it at the second (2.6's 'Former worker (PID)
    exited with code 143 (Terminated)')."""
    require_haproxy("haproxy", "2.6's master-worker reloads")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    try:
        with ThreadPoolExecutor(2) as ex:  # side by side: each its own master, workers and port
            for fut in [ex.submit(_max_reloads_run, which, srv.getsockname()[1]) for which in ("ours", "haproxy")]:
                fut.result()
    finally:
        srv.close()
