"""Runtime API replies against samples/cli transcripts (exact bytes where the state allows)."""

from __future__ import annotations

import pytest

from haproxy_py.runtime.ops import Detached
from haproxy_py.stats.commands import Cli, hexdump_lines, split_commands
from tests.conftest import SAMPLES
from tests.unit.test_stats_fixture import NOW, WALL, sample_state


def transcript(name: str) -> dict[str, list[str]]:
    """``$ cmd`` -> list of replies (a command may appear several times)."""
    out: dict[str, list[str]] = {}
    cur = None
    buf: list[str] = []
    for line in (SAMPLES / "cli" / name).read_text().splitlines(keepends=True):
        if line.startswith("$ "):
            if cur is not None:
                out.setdefault(cur, []).append("".join(buf))
            cur = line[2:].rstrip("\n")
            buf = []
        else:
            buf.append(line)
    if cur is not None:
        out.setdefault(cur, []).append("".join(buf))
    return out


def run(cli: Cli, line: str, level: str = "admin") -> str:
    return cli.execute(line, level, NOW, WALL)


@pytest.fixture
def cli() -> Cli:
    return Cli(sample_state())


EXACT = [
    "get weight app/s2", "set weight app/s1 257", "set weight app/s1 -1", "set weight app/nosuch 1",
    "set weight nosuch/s1 1", "set weight app", "get weight app/nosuch", "get weight app",
    "set weight static/st1 3", "set server app/s1 state foo", "set server app/s1 foo", "set server app/s1",
    "set server app/s1 agent up", "set server app/s1 addr 127.0.0.1 port 23001", "set server app/s1 addr 127.0.0.1",
    "set server app/s1 addr notanip", "set maxconn server app/nosuch 10", "set maxconn frontend nosuch 500",
    "set maxconn global 100000", "shutdown sessions server app/nosuch", "enable server app/nosuch",
    "disable server nosuch/s1", "set maxconn server app/s1 10", "set maxconn frontend web 500",
    "set maxconn global 900", "clear counters",
]


@pytest.mark.parametrize("cmd", EXACT)
def test_replies_exact(cli: Cli, cmd: str) -> None:
    exp = transcript("weights_and_states.txt")[cmd][0]
    assert run(cli, cmd) == exp


def test_weight_sequence_and_quirks(cli: Cli) -> None:
    assert run(cli, "set weight app/s1 2") == "\n"
    assert run(cli, "get weight app/s1") == "2 (initial 1)\n\n"
    assert run(cli, "set weight app/s1 50%") == "\n"
    assert run(cli, "get weight app/s1") == "0 (initial 1)\n\n"
    assert run(cli, "set weight app/s1 300%") == "\n"
    assert run(cli, "get weight app/s1") == "3 (initial 1)\n\n"
    # the two 2.6.12 messages without the blank line
    assert run(cli, "set weight app/s1 abc") == "Empty weight string empty or preceded by garbage\n"
    assert run(cli, "set server app/s1 weight 2x") == "Trailing garbage in weight string\n"
    assert run(cli, "set weight static/st1 1") == "\n"


def test_help_is_the_same_at_every_level(cli: Cli) -> None:
    exp = (SAMPLES / "help.txt").read_text()
    for lvl in ("user", "operator", "admin"):
        assert Cli(cli.state).execute("help", lvl, NOW, WALL) == exp


def test_unknown_and_empty(cli: Cli) -> None:
    assert run(cli, "").startswith("Unknown command. Please enter one of the following commands only:\n")
    r = run(cli, "show nonsense")
    assert r.startswith("Unknown command, but maybe one of the following ones is a better match:\n")
    assert r.endswith("  quit                                    : disconnect\n\n")


def test_states_and_servers_state(cli: Cli) -> None:
    st = cli.state
    assert run(cli, "set server app/s1 state drain") == "\n"
    line = run(cli, "show servers state app").splitlines()[2]
    assert line.split()[:10] == "3 app 1 s1 127.0.0.1 2 8 1 1 0".split()
    assert run(cli, "set server app/s1 state maint") == "\n"
    line = run(cli, "show servers state app").splitlines()[2]
    assert line == "3 app 1 s1 127.0.0.1 0 1 1 1 0 15 3 0 14 0 0 0 - 23001 - 0 0 - - 0"
    row = run(cli, "show stat app 4 1").splitlines()[1].split(",")
    assert row[17] == "MAINT" and row[22] == "1" and row[36] == "" and row[65] == ""
    assert run(cli, "set server app/s1 state ready") == "\n"
    row = run(cli, "show stat app 4 1").splitlines()[1].split(",")
    assert row[17] == "UP 1/3" and row[69] == "2"
    assert run(cli, "set server app/s1 health down") == "\n"
    row = run(cli, "show stat app 4 1").splitlines()[1].split(",")
    assert row[17] == "DOWN" and row[22] == "2"
    run(cli, "set server app/s1 health up")
    run(cli, "disable health app/s1")
    row = run(cli, "show stat app 4 1").splitlines()[1].split(",")
    assert row[17] == "no check" and row[21] == "" and row[24] == ""
    line = run(cli, "show servers state app").splitlines()[2]
    assert line.split()[12:14] == ["4", "2"]
    run(cli, "enable health app/s1")
    assert run(cli, "set server app/s1 addr 127.0.0.9 port 23009") == (
        "IP changed from '127.0.0.1' to '127.0.0.9', port changed from '23001' to '23009' by "
        "'stats socket command'\n\n")
    s1 = st.backends["app"].by_name["s1"]
    assert (s1.host, s1.port) == ("127.0.0.9", 23009)
    # the backend was told: its balancer counts s1 among the usable active servers again
    assert st.backends["app"].usable_counts()[0] == 3


def test_show_variants(cli: Cli) -> None:
    t = transcript("show_variants.txt")
    for cmd in ("show stat nosuch -1 -1", "show servers state nosuch", "show backend", "show cli level",
                "show cli sockets"):
        assert run(cli, cmd) == t[cmd][0], cmd
    assert run(cli, "show version") == "2.6.12-1+deb12u4\n\n"
    assert run(cli, "show env HOME") == f"HOME={cli.env['HOME']}\n\n"


def test_user_level(cli: Cli) -> None:
    t = transcript("user_level.txt")
    for cmd in ("set weight app/s1 2", "show errors", "show sess", "clear counters", "clear counters all",
                "disable server app/s1", "operator"):
        assert Cli(cli.state).execute(cmd, "user", NOW, WALL) == t[cmd][0] == "Permission denied\n\n"
    assert run(cli, "show cli level", "user") == "user\n\n"
    assert run(cli, "get weight app/s1", "user") == "1 (initial 1)\n\n"
    row = run(cli, "show stat app -1 -1", "user").splitlines()[1].split(",")
    assert row[73] == row[74] == "" and row[75] == "http"


def test_operator_level(cli: Cli) -> None:
    assert run(cli, "clear counters", "operator") == "\n"
    assert run(cli, "clear counters all", "operator") == "Permission denied\n\n"
    assert run(cli, "set weight app/s1 2", "operator") == "Permission denied\n\n"
    out = run(cli, "show sess", "operator")
    assert out.startswith(f"0x{id(cli):x}: proto=unix_stream src=unix:1 fe=GLOBAL be=<NONE> srv=<none> ts=00 "
                          "epoch=0 age=0s ") and out.endswith(" rc=0 c_exp=\n\n") and out.count("\n") == 2


def test_lowering_level_sticks(cli: Cli) -> None:
    assert run(cli, "operator") == "\n"
    assert run(cli, "show cli level") == "operator\n\n"
    assert run(cli, "user;show cli level") == "\nuser\n\n"
    assert run(cli, "set weight app/s1 2") == "Permission denied\n\n"


def test_clear_counters_all(cli: Cli) -> None:
    run(cli, "clear counters all")
    rows = run(cli, "show stat app -1 -1").splitlines()
    s1 = rows[1].split(",")
    assert s1[7] == "0" and s1[55] == "-1" and s1[17] == "UP"


def test_semicolons_prompt_and_quit(cli: Cli) -> None:
    assert run(cli, "show cli level;show cli level") == "admin\n\nadmin\n\n"
    assert split_commands(r"a\;b c;d") == [["a;b", "c"], ["d"]]
    assert run(cli, "prompt") == "\n> "
    assert cli.interactive and not cli.closing
    assert run(cli, "show cli level") == "admin\n\n> "
    assert run(cli, "quit") == ""
    assert cli.closing
    c2 = Cli(cli.state)
    run(c2, "prompt")
    assert run(c2, "prompt") == "\n" and c2.closing
    c3 = Cli(cli.state)
    assert run(c3, "set timeout cli 5") == "\n" and c3.timeout == 5


def test_frontend_disable_enable(cli: Cli) -> None:
    calls = []

    class Recording(Detached):
        def pause_frontend(self, fe) -> None:  # type: ignore[no-untyped-def]
            calls.append(("pause", fe.name))
            super().pause_frontend(fe)

        def resume_frontend(self, fe) -> None:  # type: ignore[no-untyped-def]
            calls.append(("resume", fe.name))
            super().resume_frontend(fe)

    cli.state.ops = Recording(cli.state)
    assert run(cli, "disable frontend web") == "\n"
    row = run(cli, "show stat web 1 -1").splitlines()[1].split(",")
    assert row[17] == "PAUSED"
    assert run(cli, "disable frontend web") == "All sockets are already disabled.\n\n"
    assert run(cli, "enable frontend web") == "\n"
    assert calls == [("pause", "web"), ("resume", "web")]
    assert run(cli, "disable frontend nosuch") == "No such frontend.\n\n"


def test_maxconn(cli: Cli) -> None:
    st = cli.state
    run(cli, "set maxconn server app/s1 10")
    assert st.backends["app"].by_name["s1"].maxconn == 10
    run(cli, "set maxconn frontend web 500")
    assert st.frontends["web"].maxconn == 500
    run(cli, "set maxconn global 900")
    assert st.maxconn == 900
    assert "ConnRate" in run(cli, "show info")


class FakeSession:
    def __init__(self, sid: int, server) -> None:  # type: ignore[no-untyped-def]
        self.sess_id = sid
        self.server = server
        self.srv_name = server.name
        self.be_name = "app"
        self.fe_name = "web"
        self.src = "127.0.0.1:40000"
        self.start = NOW - 1
        self.killed = False

    def shutdown(self) -> None:
        self.killed = True


def test_sessions(cli: Cli) -> None:
    st = cli.state
    s3 = st.backends["app"].by_name["s3"]
    a, b = FakeSession(0x1000, s3), FakeSession(0x2000, st.backends["app"].by_name["s2"])
    st.sessions.update({a, b})
    out = run(cli, "show sess")
    assert "0x1000: proto=tcpv4 src=127.0.0.1:40000 fe=web be=app srv=s3 ts=00 epoch=0 age=1s " in out
    assert "fe=GLOBAL" in out.splitlines()[-2]  # the CLI's own stream comes last
    # a new CLI connection was created after the first show sess: epoch 1
    assert "fe=GLOBAL be=<NONE> srv=<none> ts=00 epoch=0x1 " in run(Cli(st), "show sess")
    assert run(cli, "show sess 0x1000").startswith("0x1000: proto=tcpv4 ")
    assert run(cli, "show sess 0x1234") == "Session not found.\n\n"
    assert run(cli, "show sess bogus").count("\n") == 4  # strtoul -> 0: every stream
    assert run(cli, "shutdown sessions server app/s3") == "\n"
    assert a.killed and not b.killed
    assert run(cli, "shutdown session 0x2000") == "\n" and b.killed
    assert run(cli, "shutdown session 0x9") == "No such session (use 'show sess').\n\n"


def test_show_errors(cli: Cli) -> None:
    cli.state.errors.append({"when": WALL, "kind": "request", "frontend": "web", "fe_iid": 2, "event": 0,
                             "src": "127.0.0.1:58178", "buf": b"GET /bad\x01path HTTP/1.1\r\nHost: x\r\n\r\n",
                             "err_pos": 8})
    out = run(cli, "show errors")
    assert out.startswith("Total events captured on [")
    assert "] frontend web (#2): invalid request\n" in out
    assert "  00000  GET /bad\\x01path HTTP/1.1\\r\\n\n  00024  Host: x\\r\\n\n  00033  \\r\\n\n" in out
    assert run(cli, "show errors nosuch") == "No such proxy.\n\n"


def test_add_and_del_server(cli: Cli) -> None:
    be = cli.state.backends["app"]
    assert run(cli, "add server app/s9 127.0.0.1:23009 weight 5 check") == "New server registered.\n\n"
    s9 = be.by_name["s9"]
    assert s9.iweight == 5 and s9.conf.check and s9.puid == 5 and s9.port == 23009
    assert run(cli, "add server app/s9 127.0.0.1:1") == "Already exists a server with the same name in backend.\n\n"
    assert run(cli, "add server nosuch/x 127.0.0.1:1") == "No such backend.\n"  # as 2.6: no empty line
    assert run(cli, "add server app/x notanip:1").startswith("Invalid address")
    # HAProxy 2.6 creates a dynamic server in maintenance: enable it first to see the refusal
    assert s9.in_maint
    run(cli, "enable server app/s9")
    assert run(cli, "del server app/s9") == "Only servers in maintenance mode can be deleted.\n"  # (2.6)
    run(cli, "set server app/s9 state maint")
    assert run(cli, "del server app/s9") == "Server deleted.\n"
    assert "s9" not in be.by_name
    assert run(cli, "add server app/s8 127.0.0.1:1", ).endswith("\n\n")
    assert run(cli, "add server app/s7 127.0.0.1:1", "operator") == "Permission denied\n\n"


def test_show_resolvers(cli: Cli) -> None:
    """2.6's layout: each section, its nameservers, 15 counters aligned; a name filters; an unknown
    one is answered as 2.6 does."""
    from haproxy_py.dns.resolution import NsCounters

    a1, a2, b = NsCounters(), NsCounters(), NsCounters()
    a1.sent, a1.valid, a2.nx, b.cname_error = 33, 11, 22, 4
    cli.state.resolvers = [("a", [("n1", a1), ("n2", a2)]), ("b", [("x", b)])]
    out = run(cli, "show resolvers")
    lines = out.splitlines()
    assert lines[:5] == ["Resolvers section a", " nameserver n1:", "  sent:        33", "  snd_error:   0",
                         "  valid:       11"]
    assert len(lines) == 3 * 16 + 2 + 1 and out.endswith("\n\n")
    assert "  nx:          22" in lines[18:34] and lines[17] == " nameserver n2:"
    assert run(cli, "show resolvers b").splitlines()[:2] == ["Resolvers section b", " nameserver x:"]
    assert "  cname_error: 4" in run(cli, "show resolvers b")
    assert run(cli, "show resolvers zz") == "Can't find that resolvers section\n\n"


def test_show_errors_dump_wraps_as_haproxy() -> None:
    # as 2.6.12 printed a 16320-byte capture: 79 columns at most, continuations marked '+'
    lines = hexdump_lines(b"Host: h\r\nX-long: " + b"a" * 150 + b"\r\n")
    assert lines == ["  00000  Host: h\\r\\n\n",
                     "  00009  X-long: " + "a" * 62 + "\n",
                     "  00079+ " + "a" * 70 + "\n",
                     "  00149+ " + "a" * 18 + "\\r\\n\n"]
    # an escape is not split: it goes to the next line when it would pass the 79th column
    esc = hexdump_lines(b"a" * 66 + b"\x01\x02")
    assert esc == ["  00000  " + "a" * 66 + "\\x01\n", "  00067+ \\x02\n"]
    assert hexdump_lines(b"a" * 68 + b"\r\n") == ["  00000  " + "a" * 68 + "\\r\n", "  00069+ \\n\n"]
