"""``agent-check`` against Debian's HAProxy 2.6: the same agent replies, the same effects.

Each proxy has its own agents (one tiny TCP server per checked server, in this process), all
answering the reply the test sets. The test walks a seeded, generated sequence of reply lines
(every word 2.6 understands -- up, down, stopped, fail, ready, drain, maint, NN%, maxconn:N --,
combinations of them with spaces, tabs and commas, upper case, a ``#`` description, unknown words,
lines without their end (cut by a NUL: 2.6.12 reads past the bytes received when looking for a
line's end, so a reply ending without one meets the previous contents of its buffer), an empty
reply and no reply at all); after each step both proxies' agents
have answered it at least twice, then ``show stat`` (status, weights, check and agent columns,
maxconn) and ``show servers state`` are compared row by row, and at the end the sequence of
``option log-health-checks`` and state-change lines per server (durations masked; the counts of
servers left, which depend on which server of a backend went first, masked too). Also compared:
the bytes each agent received (``agent-send``).
"""

from __future__ import annotations

import csv
import io
import random
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.integration.harness import require_haproxy, run_proxy

pytestmark = [pytest.mark.needs_haproxy, pytest.mark.slow]

SEED = 1826
STEPS = 26

STAT_COLS = ("status", "weight", "check_status", "check_code", "last_chk", "check_rise", "check_fall",
             "check_health", "chkfail", "chkdown", "agent_status", "agent_code", "last_agt", "agent_desc",
             "agent_rise", "agent_fall", "agent_health", "slim", "lastchg")
#: show servers state columns compared (by index): all but the time since the last change (9),
#: which can differ by a second, and the health check's result (11), which 2.6 resets while a check
#: runs (show stat's check_status says the same)
STATE_SKIP = {9, 11}


class Agent:
    """An agent: every connection gets the current reply (None: closed without one; "SILENT":
    held open without a word until the proxy gives up). Counts the connections it answered with
    the current reply and keeps what the proxy sent first."""

    def __init__(self, reads: bool = False) -> None:
        #: read what the proxy sends before replying (agent-send); an agent of a server without
        #: agent-send replies at once (2.6.12 may not read a reply that comes later than its
        #: connect until a delayed ACK or so, ~200 ms: a timeout with a short 'timeout check')
        self.reads = reads
        self.reply: bytes | None = b"up\n"
        self.gen = 0
        self.served = 0
        self.got: list[bytes] = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def set(self, reply: bytes | None) -> None:
        with self.lock:
            self.reply = reply
            self.gen += 1
            self.served = 0

    def _accept(self) -> None:
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        with self.lock:
            reply, gen = self.reply, self.gen
        try:
            c.settimeout(1.0)
            if self.reads:
                try:
                    data = c.recv(1000)
                    if len(self.got) < 50:
                        self.got.append(data)
                except OSError:
                    pass
            if reply == b"SILENT":
                time.sleep(1.5)
            elif reply is not None:
                c.sendall(reply)
                time.sleep(0.01)
        except OSError:
            pass
        finally:
            c.close()
        with self.lock:
            if gen == self.gen:
                self.served += 1

    def close(self) -> None:
        self.stopped = True
        self.sock.close()


class Listener:
    """The servers' own port: accepts and closes (a passing health check)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.close()

    def close(self) -> None:
        self.sock.close()


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


#: (backend, server, server parameters); AGENT is replaced by the server's agent port
SERVERS = (
    ("b_rr", "a1", "weight 40 agent-check agent-port AGENT agent-inter 100 agent-send \"hello\\n\""),
    ("b_rr", "a2", "weight 40 check inter 150 rise 2 fall 3 agent-check agent-port AGENT agent-inter 100"),
    ("b_rr", "a3", "weight 10 backup agent-check agent-addr 127.0.0.1 agent-port AGENT agent-inter 100"),
    ("b_static", "s1", "weight 20 agent-check agent-port AGENT agent-inter 100"),
    ("b_static", "s2", "weight 20 check inter 150 rise 1 fall 1 maxconn 30 agent-check agent-port AGENT "
     "agent-inter 100"),
    ("b_min", "m1", "minconn 5 maxconn 20 weight 3 agent-check agent-port AGENT agent-inter 100"),
)


def config(listen: int, agents: dict[str, Agent], logport: int) -> str:
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
backend b_rr
    balance roundrobin
backend b_static
    balance static-rr
backend b_min
    fullconn 100
"""]
    body: dict[str, list[str]] = {}
    for be, name, params in SERVERS:
        body.setdefault(be, []).append(
            f"    server {name} 127.0.0.1:{listen} {params.replace('AGENT', str(agents[name].port))}\n")
    text = out[0]
    for be, lines in body.items():
        text = text.replace(f"backend {be}\n", f"backend {be}\n" + "".join(lines), 1)
    return text


WORDS = ("up", "down", "stopped", "fail", "ready", "drain", "maint", "50%", "100%", "0%", "150%", "1000%",
         "7%", "50%x", "maxconn:10", "maxconn:0", "maxconn:x", "maxconn:12a", "UP", "Drain", "foo",
         "MAXCONN:4")


def replies(seed: int, n: int) -> list[bytes | None]:
    """The generated reply sequence: each step one line (or a missing/incomplete/silent reply)."""
    rng = random.Random(seed)
    out: list[bytes | None] = [b"up\n", b"50%\n", b"drain\n", b"ready\n", b"maint\n", b"ready\n", b"down\n",
                               b"up\n"]
    while len(out) < n:
        r = rng.random()
        if r < 0.05:
            out.append(None)
            continue
        if r < 0.08:
            out.append(b"SILENT")
            continue
        words = rng.sample(WORDS, rng.randint(1, 3))
        seps = [rng.choice((" ", ",", "\t", " , ")) for _ in words]
        line = "".join(w + s for w, s in zip(words, seps, strict=True)).rstrip(" ,\t")
        if rng.random() < 0.3:
            line += rng.choice((" # ", "#", "  #  ")) + rng.choice(("going away", "back", "disk full"))
        # a line without its end is cut by a NUL: 2.6.12 looks for the end past the bytes it
        # received, in whatever its buffer held before (a NUL there is the only end it sees)
        end = rng.choice(("\n", "\n", "\r\n", "\r", "\0", "\0 up\n"))
        out.append((line + end).encode())
    return out


def _cli(path: str, cmd: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(cmd.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


def snapshot(path: str) -> dict[str, dict[str, str]]:
    text = _cli(path, "show stat")
    head = text.split("\n", 1)[0].lstrip("# ").split(",")
    rows: dict[str, dict[str, str]] = {}
    # a quoted field may hold a line end (an agent's warning ends with one)
    for rec in csv.reader(io.StringIO(text.split("\n", 1)[1])):
        if not rec:
            continue
        d = dict(zip(head, rec, strict=False))
        if d["svname"] in ("FRONTEND", "BACKEND"):
            continue
        rows[f"{d['pxname']}/{d['svname']}"] = {c: d.get(c, "?") for c in STAT_COLS}
    for ln in _cli(path, "show servers state").splitlines()[2:]:
        f = ln.split()
        if len(f) > 4:
            # the agent's port differs (each proxy has its own agents); the in-progress bit of
            # the check's and the agent's states depends on the moment
            f[13] = str(int(f[13]) & ~1)
            f[14] = str(int(f[14]) & ~1)
            f[-1] = "P"
            rows[f"{f[1]}/{f[3]}"]["state"] = " ".join(x for i, x in enumerate(f) if i not in STATE_SKIP)
    return rows


_HDR = re.compile(r"^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d haproxy(?:-py)?\[\d+\]: ")


def per_server(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for raw in lines:
        text = _HDR.sub("", raw.strip())
        text = re.sub(r"check duration: \d+ms", "check duration: Dms", text)
        text = re.sub(r"\d+ active and \d+ backup servers (left|online)\.( Running on backup\.)?",
                      r"N active and M backup servers \1.", text)
        m = re.search(r"(?:server|Server) (\S+/\S+?)[ ,.]", text)
        if m is None:
            continue
        seq = out.setdefault(m.group(1), [])
        # a line each reply repeats ("remains in forced drain mode" after a weight) comes as many
        # times as the proxy checked during the step: once is compared
        if not seq or seq[-1] != text:
            seq.append(text)
    return out


def _wait_served(agents: list[Agent], n: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(a.served >= n for a in agents):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def run() -> Iterator[dict]:
    require_haproxy("haproxy")
    listener = Listener()
    agents = {w: {name: Agent("agent-send" in p) for _be, name, p in SERVERS} for w in ("ours", "haproxy")}
    sinks = {w: Sink() for w in ("ours", "haproxy")}
    steps = replies(SEED, STEPS)
    result: dict = {"steps": steps, "snaps": {"ours": [], "haproxy": []}}
    try:
        with run_proxy(config(listener.port, agents["ours"], sinks["ours"].port), which="ours") as ours, \
                run_proxy(config(listener.port, agents["haproxy"], sinks["haproxy"].port),
                          which="haproxy") as theirs:
            procs = {"ours": ours, "haproxy": theirs}
            all_agents = [a for per in agents.values() for a in per.values()]
            if not _wait_served(all_agents, 2, 5):
                pytest.fail("the agents were not all checked: " + repr({w: pp.stderr_text()[-2000:]
                                                                         for w, pp in procs.items()}))
            for reply in steps:
                for a in all_agents:
                    a.set(reply)
                assert _wait_served(all_agents, 3, 10), f"step {reply!r}: an agent was not checked three times"
                time.sleep(0.05)
                for w, pp in procs.items():
                    result["snaps"][w].append(snapshot(str(pp.workdir / "s.sock")))
            time.sleep(0.3)
            result["stderr"] = {w: pp.stderr_text() for w, pp in procs.items()}
        result["logs"] = {w: list(s.lines) for w, s in sinks.items()}
        result["got"] = {w: {n: a.got[:3] for n, a in per.items()} for w, per in agents.items()}
    finally:
        for s in sinks.values():
            s.close()
        for per in agents.values():
            for a in per.values():
                a.close()
        listener.close()
    yield result


def _steady(row: dict[str, str], running: bool) -> dict[str, str]:
    """A row without what a check in progress blanks or marks (2.6 prints ``* `` before the
    status of a running check, whose text is blank until it ends)."""
    out = {k: v.removeprefix("* ") for k, v in row.items()}
    if running:
        out.pop("last_agt", None)
    return out


def test_agent_replies_change_servers_as_haproxy(run: dict) -> None:
    """Every reply word and combination: status, weights, maxconn, check and agent columns,
    show servers state after each step."""
    ours, theirs = run["snaps"]["ours"], run["snaps"]["haproxy"]
    assert ours and len(ours) == len(theirs), run.get("stderr")
    problems = []
    for i, (reply, a, b) in enumerate(zip(run["steps"], ours, theirs, strict=True)):
        for key in b:
            ar = a.get(key, {})
            running = ar.get("agent_status", "").startswith("* ") or b[key]["agent_status"].startswith("* ")
            ra, rb = _steady(ar, running), _steady(b[key], running)
            for col in (*STAT_COLS, "state"):
                if col == "lastchg":
                    continue
                if ra.get(col) != rb.get(col):
                    problems.append(f"step {i} reply {reply!r} {key} {col}: haproxy-py {ra.get(col)!r} "
                                    f"!= 2.6 {rb.get(col)!r}")
    assert not problems, "\n".join(problems[:40])


def test_agent_log_lines_as_haproxy(run: dict) -> None:
    """The agent's log-health-checks lines and the state changes the replies cause."""
    o, t = per_server(run["logs"]["ours"]), per_server(run["logs"]["haproxy"])
    assert t, "2.6 logged nothing"
    problems = []
    for srv in sorted(set(o) | set(t)):
        if o.get(srv) != t.get(srv):
            a, b = o.get(srv, []), t.get(srv, [])
            i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
            problems.append(f"{srv} from line {i}:\n  haproxy-py {a[i:i + 3]}\n  2.6        {b[i:i + 3]}")
    assert not problems, "\n".join(problems)


def test_agent_send_as_haproxy(run: dict) -> None:
    """agent-send's string is what the agent receives first; nothing without it."""
    assert run["got"]["ours"] == run["got"]["haproxy"]
    assert run["got"]["haproxy"]["a1"][0] == b"hello\n"


#: runtime API commands about agents; {a2} is a second agent's port (of the proxy's own agents)
CLI_COMMANDS = (
    "set server b/s1 agent down", "set server b/s1 agent up", "set server b/s1 agent foo",
    "set server b/s2 agent up", "disable agent b/s1", "set server b/s1 agent down", "enable agent b/s1",
    "enable agent b/s2", "disable agent b/s2", "set server b/s1 agent-send", "set server b/s1 agent-send hey",
    "set server b/s2 agent-send hey", "set server b/s1 agent-port", "set server b/s1 agent-port abc",
    "set server b/s1 agent-port {a2}", "set server b/s2 agent-port 80", "set server b/s1 agent-addr",
    "set server b/s1 agent-addr foo", "set server b/s1 agent-addr 127.0.0.1 port {a1}",
    "set server b/s1 agent-addr 127.0.0.2", "set server b/s2 agent-addr 127.0.0.1",
    "set server b/s1 agent-addr 127.0.0.1", "set server b/s1 agent down",
)


def test_agent_cli_commands_as_haproxy() -> None:
    """set server agent up|down, agent-send, agent-port, agent-addr [port], enable/disable agent:
    the replies, then the server's status and agent columns, and the state-change lines."""
    require_haproxy("haproxy")
    listener = Listener()
    agents = {w: (Agent(), Agent()) for w in ("ours", "haproxy")}
    cfgs = {w: f"""global
    stats socket @DIR@/s.sock level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
backend b
    server s1 127.0.0.1:{listener.port} agent-check agent-port {a[0].port} agent-inter 100
    server s2 127.0.0.1:{listener.port} check
""" for w, a in agents.items()}
    seen: dict[str, list[str]] = {"ours": [], "haproxy": []}
    try:
        with run_proxy(cfgs["ours"], which="ours") as ours, run_proxy(cfgs["haproxy"], which="haproxy") as theirs:
            procs = {"ours": ours, "haproxy": theirs}
            assert _wait_served([a for pair in agents.values() for a in pair[:1]], 2, 5), \
                {w: pp.stderr_text() for w, pp in procs.items()}
            for cmd in CLI_COMMANDS:
                replies_ = {}
                for w, pp in procs.items():
                    line = cmd.format(a1=agents[w][0].port, a2=agents[w][1].port)
                    replies_[w] = _cli(str(pp.workdir / "s.sock"), line)
                time.sleep(0.3)
                for w, pp in procs.items():
                    row = snapshot(str(pp.workdir / "s.sock"))["b/s1"]
                    seen[w].append(f"{cmd} -> {replies_[w]!r} {row['status']} "
                                   f"{row['agent_status'].removeprefix('* ')} {row['agent_health']} "
                                   f"{' '.join(row['state'].split()[-3:])}")
            logs = {w: [ln.split(" : ", 1)[1] for ln in pp.stderr_text().splitlines() if " : Server b/" in ln]
                    for w, pp in procs.items()}
    finally:
        for pair in agents.values():
            for a in pair:
                a.close()
        listener.close()
    assert seen["ours"] == seen["haproxy"]
    mask = [re.sub(r"check duration: \d+ms", "", x) for x in logs["ours"]]
    assert mask == [re.sub(r"check duration: \d+ms", "", x) for x in logs["haproxy"]]


def test_no_agent_check_turns_off_an_inherited_agent_as_haproxy() -> None:
    """`default-server agent-check agent-port P`, then `no-agent-check` on one server: that server
    has no agent (no connection to it, empty agent columns), the other one has it, in both proxies."""
    got = {}
    for which in ("haproxy", "ours"):
        require_haproxy(which)
        on, off = Agent(), Agent()
        on.set(b"drain\n")
        off.set(b"drain\n")
        cfg = (f"global\n    stats socket @DIR@/admin.sock level admin\n"
               f"defaults\n    mode http\n    timeout client 2s\n    timeout server 2s\n    timeout connect 1s\n"
               f"backend b\n    default-server agent-check agent-inter 200ms agent-port {on.port}\n"
               f"    server on 127.0.0.1:1\n"
               f"    server off 127.0.0.1:1 agent-port {off.port} no-agent-check\n")
        try:
            with run_proxy(cfg, which=which) as pp:
                sock = str(pp.workdir / "admin.sock")
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not (
                        (pp.workdir / "admin.sock").exists() and on.served >= 2):
                    time.sleep(0.05)
                assert on.served >= 2, f"{which}: the agent of 'on' was never asked"
                rows = snapshot(sock)
                got[which] = {k: (v["status"], v["agent_status"], v["weight"]) for k, v in rows.items()}
                assert off.served == 0, f"{which}: 'no-agent-check' server's agent was asked"
        finally:
            on.close()
            off.close()
    assert got["ours"] == got["haproxy"]
    assert got["ours"]["b/on"][0].startswith("DRAIN") and got["ours"]["b/off"][1] == ""
