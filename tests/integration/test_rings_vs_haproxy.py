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
import select
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
    """A bad ring section is refused by both, with 2.6's message (ours read in-process, as -c
    reads it: haproxy_py.config.parse_text)."""
    import subprocess

    from haproxy_py.config import parse_text

    require_haproxy("haproxy")
    cfg = tmp_path / "h.cfg"
    cfg.write_text(text)
    p = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    alerts = [re.sub(r"^.*?\[ALERT\]\s+\(\d+\) : (config : )?", "", ln)
              for ln in (p.stdout + p.stderr).splitlines() if "[ALERT]" in ln]
    _cfg, d = parse_text(text, str(cfg))
    assert p.returncode != 0 and d.errors
    assert [d.errors[0].haproxy] == alerts[:1]


# --------------------------------------------------------------------------- log-forward

LF_TARGETS = [("", "local0", ""), ("format rfc5424", "local1", ""), ("format rfc3164", "local2", ""),
              ("format raw", "local3", ""), ("format iso", "local4", ""), ("format timed", "local5", ""),
              ("format short", "local6", " notice"), ("format priority", "local7", " info err"),
              ("len 90 format local", "user", "")]


def _gen_messages(rnd: random.Random, n: int) -> list[bytes]:
    words = ["alpha", "beta", "x=1", "[brk]", "a:b", "tag:", "-", "[a@1 k=\"v\"]", "é"]

    def text() -> str:
        return " ".join(rnd.choice(words) for _ in range(rnd.randint(0, 6)))

    def pri() -> str:
        return rnd.choice(["", f"<{rnd.randint(0, 191)}>", f"<{rnd.randint(0, 191)}>", "<>", "<x>", "<999>"])

    out = []
    for _ in range(n):
        kind = rnd.randrange(4)
        host = rnd.choice(["h1", "-", "my.host", "h"])
        tag = rnd.choice(["app", "-", "a.b", "t"])
        pid = rnd.choice(["12", "-", "x9"])
        if kind == 0:  # rfc5424
            ts = rnd.choice(["2003-10-11T22:14:15.003Z", "2003-02-03T04:05:06+02:00", "-",
                             "2003-10-11T22:14:15.123456-07:00", "2003-10-11T22:14:15Z", "2003-13-01T00:00:00Z",
                             "2003-10-11 bad"])
            sd = rnd.choice(["-", '[ex@1 a="b"]', '[a@1 x="]"][b@2]', "[x", "junk"])
            msgid = rnd.choice(["-", "ID47"])
            m = f"{pri()}1 {ts} {host} {tag} {pid} {msgid} {sd} {text()}"
        elif kind == 1:  # rfc3164
            ts = rnd.choice(["Oct 11 22:14:15", "Feb  3 04:05:06", "Xyz 11 22:14:15", "Oct 11 22:14"])
            tagpart = rnd.choice([f"{tag}[{pid}]: ", f"{tag}: ", "", f"{tag}[{pid}] x: ", f"{tag}[{pid}]:"])
            m = f"{pri()}{ts} {host} {tagpart}{text()}"
        elif kind == 2:
            m = pri() + text()
        else:
            m = "".join(rnd.choice("<>1 -:[]abc09") for _ in range(rnd.randint(0, 30)))
        out.append(m.encode("utf-8"))
    return out


_NOW_ISO = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d")


def _mask_now(d: bytes) -> bytes:
    """The dates a proxy takes from its clock (the generated messages carry dates of 2003)."""
    d = _NOW_ISO.sub(lambda m: m.group(0) if m.group(0).startswith(b"2003") else b"NOW", d)
    today = time.strftime("%b %e ").encode()
    return re.sub(re.escape(today) + rb"\d\d:\d\d:\d\d", b"NOW3164", d)


def _lf_run(which: str, msgs: list[bytes]) -> list[list[bytes]]:
    rxs = []
    lines = []
    try:
        for fmt, fac, lvl in LF_TARGETS:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.3)
            rxs.append(s)
            lines.append(f"    log 127.0.0.1:{s.getsockname()[1]} {fmt} {fac}{lvl}".replace("  ", " "))
        udp = free_port()
        tcp = free_port()
        cfg = "\n".join(["global", "    stats socket @DIR@/admin.sock level admin", "log-forward relay", f"    dgram-bind 127.0.0.1:{udp}", f"    bind 127.0.0.1:{tcp}",
                         "    maxconn 5", "    backlog 10", "    timeout client 5s", *lines]) + "\n"
        with run_proxy(cfg, wait_ports=[tcp], which=which) as pp:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            with u, socket.create_connection(("127.0.0.1", tcp), timeout=5) as t:
                for i, m in enumerate(msgs):
                    if i % 3 == 0:
                        u.sendto(m, ("127.0.0.1", udp))
                    elif i % 3 == 1:
                        t.sendall(str(len(m)).encode() + b" " + m if m else b"")
                    elif m.startswith(b"<") and b"\n" not in m:
                        t.sendall(m + rnd_crlf(i))
                    else:
                        u.sendto(m, ("127.0.0.1", udp))
                    time.sleep(0.004)
                got: list[list[bytes]] = [[] for _ in rxs]
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    ready, _w, _x = select.select(rxs, [], [], 0.5)
                    if not ready:  # nothing for half a second: everything was relayed
                        break
                    for s in ready:
                        got[rxs.index(s)].append(s.recv(65536))
                info = stats_cli(admin_socket(pp), "show info")
                recv = re.search(r"^CumRecvLogs: (\d+)$", info, re.M)
                assert recv is not None, info
                got.append([b"CumRecvLogs " + recv.group(1).encode()])
        return [[_mask_now(d) for d in g] for g in got]
    finally:
        for s in rxs:
            s.close()


def rnd_crlf(i: int) -> bytes:
    return b"\r\n" if i % 2 else b"\n"


@pytest.mark.slow
def test_log_forward_relays_as_haproxy() -> None:
    """Seeded generated messages (rfc5424, rfc3164, only a priority, junk) sent over UDP and TCP
    (octet counting and LF / CR LF lines) to a log-forward section of each proxy: what each of
    its targets (every format, len, levels) receives is the same, the same datagrams, the dates
    a proxy takes from its own clock masked. The relayed dates of 2003 and everything else must
    be equal."""
    require_haproxy("haproxy")
    rnd = random.Random(61)
    msgs = _gen_messages(rnd, 150)
    theirs = _lf_run("haproxy", msgs)
    ours = _lf_run("ours", msgs)
    # every message counted (show info CumRecvLogs), those cut short by a TCP error too
    assert theirs.pop() == ours.pop()
    assert sum(map(len, theirs)) > 100
    for (fmt, _f, _l), t, o in zip(LF_TARGETS, theirs, ours, strict=True):
        # UDP and TCP messages are relayed as they come: their relative order is the scheduler's
        t, o = sorted(t), sorted(o)
        assert t == o, (fmt, [(a, b) for a, b in zip(t, o, strict=False) if a != b][:3], len(t), len(o))


@pytest.mark.parametrize("text", [
    "log-forward\n",
    "log-forward lf\n    foo\n",
    "log-forward lf\n    maxconn\n",
    "log-forward lf\n    timeout client\n",
    "log-forward lf\n    timeout server 1s\n",
    "log-forward lf\n    log\n",
])
def test_log_forward_section_errors_as_haproxy(text: str, tmp_path) -> None:
    """A bad log-forward line is refused by both, with 2.6's message."""
    test_ring_section_errors_as_haproxy(text, tmp_path)


def _read_until(c: socket.socket, want: bytes, timeout: float = 10.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    c.settimeout(0.2)
    while want not in data and time.monotonic() < deadline:
        try:
            d = c.recv(65536)
        except TimeoutError:
            continue
        if not d:
            break
        data += d
    return data


def _reconnect_run(which: str) -> list[bytes]:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(10)
    fe_port = free_port()
    cfg = "\n".join(["ring r", "    format raw", "    timeout connect 2s", "    timeout server 5s",
                     f"    server s 127.0.0.1:{srv.getsockname()[1]}", "defaults", "    mode http",
                     "    timeout client 5s", "    timeout server 5s", "    timeout connect 5s", "frontend fe",
                     f"    bind 127.0.0.1:{fe_port}", "    option dontlognull", '    log-format "%{+Q}r"',
                     "    log ring@r local0", "    http-request return status 200"]) + "\n"
    try:
        with run_proxy(cfg, wait_ports=[fe_port], which=which):
            c1, _ = srv.accept()
            assert get(fe_port, "/one")[0] == 200
            with c1:
                assert b"/one" in _read_until(c1, b"/one")
            c2, _ = srv.accept()  # the ring's server connects again
            with c2:
                for p in ("/two", "/three"):
                    assert get(fe_port, p)[0] == 200
                return _read_until(c2, b"/three").split(b"\n")
    finally:
        srv.close()


@pytest.mark.slow
def test_ring_server_reconnects_and_resumes_as_haproxy() -> None:
    """The ring's server closes its connection after the first line: the proxy connects again
    and sends the lines that came since, not the ones already sent (2.6 does the same)."""
    require_haproxy("haproxy")
    theirs = _reconnect_run("haproxy")
    ours = _reconnect_run("ours")
    assert theirs == ours == [b'"GET /two HTTP/1.1"', b'"GET /three HTTP/1.1"', b""]
