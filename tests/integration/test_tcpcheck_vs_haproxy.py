"""``option tcp-check`` sequences and ``option redis-check`` against Debian's HAProxy 2.6.

Both proxies run the same configuration side by side, checking the same servers: a real Redis
(``redis-server``, started here on a loopback port with its own configuration) and scripted TCP
servers for the failures (an error reply, an immediate close, a close without reply, silence, a
banner, an echo, a refused port). Compared, per server: the sequence of ``option
log-health-checks`` lines and of state changes (check durations masked, and the count of servers
left, which depends on which of a backend's failing servers goes down first), and ``show stat``'s
status, check_status, check_code and last_chk (2.6 blanks last_chk and the code while a check
runs, shown as ``* `` before check_status: such a row is taken from another snapshot).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy, stop_process, wait_port

MODES = ("err", "pong", "close", "silent", "banner", "echo", "closeafter")


class Scripted:
    """A loopback TCP server per mode: what it does with each connection."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        m = self.mode
        try:
            c.settimeout(5)
            if m == "close":  # without reading: what was sent makes the close a reset
                time.sleep(0.05)
                return
            if m == "silent":
                time.sleep(2.5)
                return
            if m == "banner":
                c.sendall(b"220 hello\r\n")
                time.sleep(0.5)
                return
            d = c.recv(1000)
            if m == "err":
                c.sendall(b"-ERR unknown\r\n")
            elif m == "pong":
                c.sendall(b"+PONG\r\n")
            elif m == "echo":
                c.sendall(d)
            time.sleep(0.3)
        except OSError:
            pass
        finally:
            c.close()

    def close(self) -> None:
        self.stopped = True
        self.sock.close()


def _servers(names: dict[str, int], which: str) -> str:
    return "".join(f"    server {n} 127.0.0.1:{names[w]} check inter 300\n" for n, w in
                   (x.split("=") for x in which.split()))


BACKENDS = {
    # name: (rules, servers as srvname=target)
    "b_redis": ("option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG",
                "s1=redis s2=err s3=close s4=silent s5=refused s6=closeafter"),
    "b_empty": ("option tcp-check", "s1=redis s5=refused"),
    "b_connonly": ("option tcp-check\n    tcp-check connect", "s1=redis"),
    "b_connport": ("option tcp-check\n    tcp-check connect port @REDIS@\n    tcp-check send PING\\r\\n\n"
                   "    tcp-check expect rstring ^\\+PO", "s1=refused"),
    "b_sendonly": ("option tcp-check\n    tcp-check send PING\\r\\n", "s1=redis"),
    "b_bin": ("option tcp-check\n    tcp-check send-binary 50494e470d0a\n    tcp-check expect binary 2b504f4e47",
              "s1=redis s2=err"),
    "b_rbin": ("option tcp-check\n    tcp-check send-binary 50494e470d0a\n    tcp-check expect rbinary ^2B50\n",
               "s1=redis s2=err"),
    "b_rbin_lower": ("option tcp-check\n    tcp-check send-binary 50494e470d0a\n"
                     "    tcp-check expect rbinary ^2b50\n", "s2=err"),
    "b_neg": ("option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect ! string -ERR",
              "s1=redis s2=err s6=closeafter"),
    "b_status": ("option tcp-check\n    tcp-check comment \"ping step\"\n    tcp-check send PING\\r\\n\n"
                 "    tcp-check expect string +PONG error-status L7RSP ok-status L7OK tout-status L7TOUT "
                 "on-error \"bad\" on-success \"fine\"", "s1=redis s2=err s4=silent"),
    "b_comment": ("option tcp-check\n    tcp-check send PING\\r\\n comment \"ping it\"\n"
                  "    tcp-check expect string +PONG comment \"want pong\"", "s2=err s4=silent s6=closeafter"),
    "b_banner": ("option tcp-check\n    tcp-check expect string 220\n    tcp-check send QUIT\\r\\n",
                 "s1=banner s2=close"),
    "b_two": ("option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG\n"
              "    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG", "s1=redis s2=pong"),
    "b_minrecv": ("option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect min-recv 50 string +PONG",
                  "s1=redis"),
    "b_minrecv_ok": ("option tcp-check\n    tcp-check send PING\\r\\n\n"
                     "    tcp-check expect min-recv 3 string +PONG", "s2=err"),
    "b_lf": ("option tcp-check\n    tcp-check send-lf PING\\r\\n\n    tcp-check expect rstring ^(\\+PONG|-ERR)",
             "s1=redis s6=echo"),
    "c_twoexp": ("option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG\n"
                 "    tcp-check expect string +PONG", "s1=redis"),
    "c_conn_refused": ("option tcp-check\n    tcp-check connect\n    tcp-check send PING\\r\\n", "s1=refused"),
    "c_conn_port_refused": ("option tcp-check\n    tcp-check connect port @REFUSED@ comment \"my conn\"",
                            "s1=redis"),
    "c_conn2": ("option tcp-check\n    tcp-check connect\n    tcp-check send PING\\r\\n\n"
                "    tcp-check expect string +PONG\n    tcp-check connect port @REFUSED@", "s1=redis"),
    "c_bintout": ("option tcp-check\n    tcp-check send-binary 50494e470d0a\n"
                  "    tcp-check expect binary 2b504f4e4758", "s1=redis"),
    "c_cmtexp": ("option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check comment \"about expect\"\n"
                 "    tcp-check expect string +PONG", "s2=err s4=silent s6=closeafter"),
    "c_emptycmt": ("option tcp-check\n    tcp-check send PING\\r\\n\n"
                   "    tcp-check expect string +PONG comment \"cm\"", "s6=closeafter s3=close"),
    "c_sts": ("option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG "
              "error-status L7STS tout-status L6TOUT status-code int(42)", "s1=redis s2=err s4=silent"),
    "c_okst": ("option tcp-check\n    tcp-check send PING\\r\\n\n"
               "    tcp-check expect string +PONG ok-status L6OK status-code int(7)", "s1=redis"),
    "c_okst2": ("option tcp-check\n    tcp-check send PING\\r\\n\n"
                "    tcp-check expect string +PONG ok-status L4OK on-success \"yay\"", "s1=redis"),
    "d_reset": ("option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG\n"
                "    tcp-check send BOGUS\\r\\n\n    tcp-check expect string +PONG", "s1=redis"),
    "d_noconn": ("option tcp-check\n    tcp-check comment \"first\"\n    tcp-check send PING\\r\\n", "s5=refused"),
    "d_neg_rx": ("option tcp-check\n    tcp-check send PING\\r\\n\n    tcp-check expect ! rstring ^-ERR",
                 "s1=redis s6=closeafter"),
    "d_httpthen": ("option httpchk\n    option tcp-check", "s1=redis"),
    "r_redis": ("option redis-check", "s1=redis s2=err s3=close s4=silent s5=refused s6=closeafter"),
}


def config(ports: dict[str, int], logport: int) -> str:
    out = [f"""global
    stats socket @DIR@/s.sock level admin
    log 127.0.0.1:{logport} local2
defaults
    mode tcp
    log global
    option log-health-checks
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
"""]
    for name, (rules, servers) in BACKENDS.items():
        rules = rules.replace("@REDIS@", str(ports["redis"])).replace("@REFUSED@", str(ports["refused"]))
        out.append(f"backend {name}\n    {rules}\n{_servers(ports, servers)}")
    return "".join(out)


def _cli(path: Path, cmd: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(cmd.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


def show_stat(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """``show stat`` rows of the servers by (proxy, server), each with its ``show servers state``
    columns (taken just after) as ``ss_<column>``."""
    lines = _cli(path, "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    rows = {}
    for ln in lines[1:]:
        if not ln:
            continue
        d = dict(zip(head, ln.split(","), strict=False))
        if d["svname"] not in ("FRONTEND", "BACKEND"):
            rows[(d["pxname"], d["svname"])] = d
    state = _cli(path, "show servers state").splitlines()
    if len(state) > 1:
        shead = state[1].lstrip("# ").split()
        for ln in state[2:]:
            f = ln.split()
            if len(f) >= 4 and (f[1], f[3]) in rows:
                rows[(f[1], f[3])].update(("ss_" + k, v) for k, v in zip(shead, f, strict=False))
    return rows


#: show stat columns compared once a check is settled (2.6 blanks the code and last_chk while one
#: runs), and show servers state's (all but the time since the last change and the check's
#: running flags)
STAT_COLS = ("status", "check_status", "check_code", "last_chk", "check_desc", "check_rise", "check_fall")
STATE_COLS = ("ss_srv_op_state", "ss_srv_admin_state", "ss_srv_uweight", "ss_srv_iweight", "ss_srv_check_status",
              "ss_srv_check_result", "ss_srv_agent_state", "ss_srv_check_port", "ss_srv_check_addr",
              "ss_srv_use_ssl")


_HC = re.compile(r"^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d haproxy(?:-py)?\[\d+\]: ")


def per_server(lines: list[str]) -> dict[str, list[str]]:
    """``be/srv`` -> its distinct health-check and state-change texts, in first-seen order."""
    out: dict[str, list[str]] = {}
    for raw in lines:
        text = _HC.sub("", raw.strip())
        text = re.sub(r"check duration: \d+ms", "check duration: Dms", text)
        # servers of one backend failing together go down in either order
        text = re.sub(r"\d+ active and \d+ backup servers left", "N active and M backup servers left", text)
        m = re.search(r"(?:server|Server) (\S+/\S+?)[ ,]", text)
        if m is None:
            continue
        seq = out.setdefault(m.group(1), [])
        if text not in seq:
            seq.append(text)
    return out


class Sink:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self.stopped = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self) -> None:
        while not self.stopped:
            try:
                self.lines.append(self.sock.recv(8192).decode("latin-1"))
            except (TimeoutError, OSError):
                continue

    def close(self) -> None:
        self.stopped = True
        self.t.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    exe = shutil.which("redis-server")
    assert exe, "redis-server is needed (Debian package redis-server, listed in .ci/run)"
    port = free_port()
    d = tmp_path_factory.mktemp("redis")
    (d / "redis.conf").write_text(f"port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndaemonize no\n"
                                  f"dir {d}\nlogfile {d}/redis.log\n")
    proc = subprocess.Popen([exe, str(d / "redis.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=10)
        yield port
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def both(redis_port: int) -> Iterator[dict[str, tuple[list[dict[tuple[str, str], dict[str, str]]], list[str]]]]:
    """Run both proxies on the same servers; per proxy: show stat snapshots and the log lines."""
    require_haproxy("haproxy")
    scripted = {m: Scripted(m) for m in MODES}
    ports = {m: s.port for m, s in scripted.items()}
    ports["redis"] = redis_port
    ports["refused"] = free_port()
    sinks = {w: Sink() for w in ("ours", "haproxy")}
    res: dict[str, tuple[list[dict[tuple[str, str], dict[str, str]]], list[str]]] = {}
    try:
        with run_proxy(config(ports, sinks["ours"].port), which="ours") as ours, \
                run_proxy(config(ports, sinks["haproxy"].port), which="haproxy") as theirs:
            procs = {"ours": ours, "haproxy": theirs}
            time.sleep(3.5)
            snaps: dict[str, list[dict[tuple[str, str], dict[str, str]]]] = {w: [] for w in procs}
            for _ in range(6):
                for w, pp in procs.items():
                    snaps[w].append(show_stat(pp.workdir / "s.sock"))
                time.sleep(0.25)
            errs = {w: pp.stderr_text() for w, pp in procs.items()}
        for w in procs:
            res[w] = (snaps[w], list(sinks[w].lines))
        res["stderr"] = ([], [errs["ours"], errs["haproxy"]])
    finally:
        for s in sinks.values():
            s.close()
        for sc in scripted.values():
            sc.close()
    yield res


def _settled(row: dict[str, str]) -> bool:
    """No check running when show stat nor show servers state were taken (CHK_ST_INPROGRESS)."""
    st = row.get("ss_srv_check_state", "")
    return not row["check_status"].startswith("* ") and st.isdigit() and not int(st) & 1


def _compare(both: dict, prefixes: tuple[str, ...]) -> None:
    ours_snaps, ours_log = both["ours"]
    their_snaps, their_log = both["haproxy"]
    assert ours_snaps and ours_snaps[0], f"no show stat from haproxy-py: {both['stderr'][1][0]}"
    problems = []
    compared = 0
    for key in their_snaps[0]:
        if not key[0].startswith(prefixes):
            continue
        theirs = next((s[key] for s in their_snaps if _settled(s[key])), None)
        cols = STAT_COLS + STATE_COLS
        if theirs is None:  # show servers state caught a check running: show stat's columns only
            theirs = next((s[key] for s in their_snaps if not s[key]["check_status"].startswith("* ")), None)
            cols = STAT_COLS
        mine = next((s[key] for s in reversed(ours_snaps) if key in s and _settled(s[key])), ours_snaps[-1].get(key))
        if mine is None:
            problems.append(f"{key}: missing in haproxy-py")
            continue
        if theirs is None:  # always in progress on 2.6: the status only
            theirs = their_snaps[-1][key]
            cols = ("status",)
            theirs = dict(theirs, status=theirs["status"])
        compared += 1
        for c in cols:
            a = mine.get(c, "?").removeprefix("* ")
            b = theirs.get(c, "?")
            if a != b:
                problems.append(f"{key[0]}/{key[1]} {c}: haproxy-py {a!r} != 2.6 {b!r}")
    assert compared >= 3
    o = {k: v for k, v in per_server(ours_log).items() if k.startswith(prefixes)}
    t = {k: v for k, v in per_server(their_log).items() if k.startswith(prefixes)}
    assert t, "2.6 logged nothing"
    for srv in sorted(set(o) | set(t)):
        if o.get(srv) != t.get(srv):
            problems.append(f"{srv} logs:\n  haproxy-py {o.get(srv)}\n  2.6        {t.get(srv)}")
    assert not problems, "\n".join(problems)


@pytest.mark.needs_haproxy
def test_tcp_check_sequences_as_haproxy(both: dict) -> None:
    """connect (port), send, send-binary, send-lf (literal), expect string/rstring/binary/rbinary with
    !, min-recv, statuses, on-success/on-error texts, status-code, comments; the implicit connect."""
    _compare(both, ("b_", "c_", "d_"))


@pytest.mark.needs_haproxy
def test_redis_check_as_haproxy(both: dict) -> None:
    """option redis-check on a real Redis and on failing servers: Redis server is ok, the error
    reply's first line as L7STS, errors without the step text."""
    _compare(both, ("r_",))
