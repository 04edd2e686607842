"""``ring`` sections and ``log ring@NAME`` targets, side by side with Debian's HAProxy 2.6.

One ring per format, each with a seeded random ``maxlen`` and a TCP server (a receiver in this
test); one frontend logs every request into all of them. Seeded random requests (long paths, so
that lines are cut at ``maxlen``) go through each proxy in turn; the bytes each receiver got and
what ``show events RING`` prints are compared between the two proxies, dates and PIDs masked.
One ring's receiver only starts listening after the traffic: its server connects late and still
gets every line the ring holds.
"""

from __future__ import annotations

import random
import re
import socket
import threading
import time

import pytest

from tests.integration.harness import free_port, get, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

FORMATS = ["rfc3164", "rfc5424", "raw", "iso", "short", "timed", "priority"]


class Receiver:
    """A TCP syslog receiver on 127.0.0.1: every byte of every connection, in order."""

    def __init__(self, port: int | None = None, *, listen: bool = True) -> None:
        self.port = port or free_port()
        self.data = bytearray()
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        if listen:
            self.start()

    def start(self) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(8)
        s.settimeout(0.2)
        self.sock = s
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept(self) -> None:
        assert self.sock is not None
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            t = threading.Thread(target=self._read, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _read(self, c: socket.socket) -> None:
        c.settimeout(0.2)
        with c:
            while not self.stop.is_set():
                try:
                    d = c.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not d:
                    return
                with self.lock:
                    self.data += d

    def lines(self) -> list[bytes]:
        with self.lock:
            return bytes(self.data).split(b"\n")

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=2)
        if self.sock is not None:
            self.sock.close()


def _wait_lines(r: Receiver, n: int, timeout: float = 15.0) -> list[bytes]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = r.lines()
        if len(got) > n:
            return got
        time.sleep(0.05)
    return r.lines()


_DATE = [
    (re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d"), b"ISODATE"),
    (re.compile(rb"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"), b"DATE3164"),
    (re.compile(rb"haproxy\[\d+\]"), b"haproxy[PID]"),
    (re.compile(rb" haproxy \d+ "), b" haproxy PID "),
]


def _norm(line: bytes) -> bytes:
    for rx, rep in _DATE:
        line = rx.sub(rep, line)
    return line


def _pid_len(line: bytes) -> int:
    m = re.search(rb"haproxy\[(\d+)\]| haproxy (\d+) ", line)
    return len(m.group(1) or m.group(2)) if m else 0


def _same(theirs: list[bytes], ours: list[bytes], maxlen: int) -> None:
    """Line by line equal once masked; a line cut at maxlen may differ in length by the
    difference between the two PIDs' lengths (the PID is in the header, before the cut)."""
    assert len(theirs) == len(ours), (theirs, ours)
    for t, o in zip(theirs, ours, strict=True):
        assert len(t) <= maxlen and len(o) <= maxlen
        nt, no = _norm(t), _norm(o)
        if nt == no:
            continue
        slack = abs(_pid_len(t) - _pid_len(o))
        assert slack and (len(t) == maxlen or len(o) == maxlen), (t, o)
        short, long_ = sorted((nt, no), key=len)
        assert long_.startswith(short) and len(long_) - len(short) <= slack, (t, o)


def _config(rings: dict[str, tuple[int, Receiver]], fe_port: int) -> str:
    out = ["global", "    stats socket @DIR@/admin.sock level admin"]
    for fmt, (maxlen, rx) in rings.items():
        out += [f"ring r_{fmt}", f'    description "ring of {fmt}"', f"    format {fmt}", f"    maxlen {maxlen}",
                "    size 32768", "    timeout connect 2s", "    timeout server 5s",
                f"    server s1 127.0.0.1:{rx.port}"]
    out += ["ring quiet", "    format raw", "    maxlen 300"]
    out += ["defaults", "    mode http", "    timeout client 5s", "    timeout server 5s", "    timeout connect 5s",
            "frontend fe", f"    bind 127.0.0.1:{fe_port}", '    log-format "%ft %ST %{+Q}r"',
            "    option dontlognull"]
    out += [f"    log ring@r_{fmt} local{i} info" for i, fmt in enumerate(rings)]
    out += ["    log ring@quiet local7 info", "    http-request return status 200"]
    return "\n".join(out) + "\n"


def _run(which: str, maxlens: dict[str, int], paths: list[str]) -> dict[str, object]:
    rx = {fmt: Receiver(listen=fmt != "raw") for fmt in FORMATS}  # raw: its receiver comes late
    fe_port = free_port()
    try:
        cfg = _config({f: (maxlens[f], rx[f]) for f in FORMATS}, fe_port)
        with run_proxy(cfg, wait_ports=[fe_port], which=which) as pp:
            sock = admin_socket(pp)
            for k, p in enumerate(paths):
                assert get(fe_port, p)[0] == 200
                # the line is out before the next request: the order of the lines is the order of
                # the requests (a proxy may log just after closing the connection)
                assert len(_wait_lines(rx["rfc5424"], k + 1)) == k + 2
            rx["raw"].start()
            got = {f: _wait_lines(rx[f], len(paths)) for f in FORMATS}
            events = {f: stats_cli(sock, f"show events {n}") for f, n in [*((f, "r_" + f) for f in FORMATS),
                                                                         ("quiet", "quiet")]}
            sinks = stats_cli(sock, "show events")
            other = {c: stats_cli(sock, c) for c in ("show events nope", "show events quiet -n")}
        return {"got": got, "events": events, "sinks": sinks, "other": other}
    finally:
        for r in rx.values():
            r.close()


@pytest.mark.slow
def test_ring_lines_servers_and_show_events_as_haproxy() -> None:
    require_haproxy("haproxy")
    rnd = random.Random(2606)
    maxlens = {f: rnd.randint(60, 260) for f in FORMATS}
    paths = ["/" + "".join(rnd.choice("abcdefghij/-_.0123456789") for _ in range(rnd.randint(1, 250)))
             for _ in range(6)]
    theirs = _run("haproxy", maxlens, paths)
    ours = _run("ours", maxlens, paths)
    assert ours["sinks"] == theirs["sinks"]
    assert ours["other"] == theirs["other"]
    for f in FORMATS:
        t_lines = theirs["got"][f]  # type: ignore[index]
        o_lines = ours["got"][f]  # type: ignore[index]
        assert len(t_lines) == len(paths) + 1 and t_lines[-1] == b"", (f, t_lines)
        _same(t_lines[:-1], o_lines[:-1], maxlens[f])
        # show events prints what the ring holds: the same lines the server got
        for side in (theirs, ours):
            ev = side["events"][f]  # type: ignore[index]
            assert ev.encode("latin-1") == b"\n".join(side["got"][f]) + b"\n", (f, ev)  # type: ignore[index]
    tq = theirs["events"]["quiet"].split("\n")  # type: ignore[index]
    oq = ours["events"]["quiet"].split("\n")  # type: ignore[index]
    assert tq == oq and len(tq) == len(paths) + 2


@pytest.mark.parametrize("text", [
    "ring\n",
    "ring r1\n    foo bar\n",
    "ring r1\n    maxlen abc\n",
    "ring r1\n    format xyz\n",
    "ring r1\n    description\n",
    "ring r1\n    timeout connect\n",
    "ring r1\n    server s1\n",
    "ring r1\nring r1\n",
])
def test_ring_section_errors_as_haproxy(text: str, tmp_path) -> None:
    """A bad ring section is refused by both, with 2.6's message."""
    import subprocess
    import sys

    require_haproxy("haproxy")
    cfg = tmp_path / "h.cfg"
    cfg.write_text(text)
    res = {}
    for which, cmd in (("haproxy", ["haproxy"]), ("ours", [sys.executable, "-m", "haproxy_py"])):
        p = subprocess.run([*cmd, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
        alerts = [re.sub(r"^.*?\[ALERT\]\s+\(\d+\) : (config : )?", "", ln)
                  for ln in (p.stdout + p.stderr).splitlines() if "[ALERT]" in ln]
        res[which] = (p.returncode != 0, alerts[:1])
    assert res["ours"][0] and res["haproxy"][0]
    assert res["ours"][1] == res["haproxy"][1], res
