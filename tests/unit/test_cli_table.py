"""The runtime API is one table (stats/commands.py COMMANDS): dispatch, help, levels and refusals come
from its rows, and pure code reaches the engine only through the typed EngineOps (runtime/ops.py)."""

from __future__ import annotations

import inspect

import pytest

from haproxy_py.engine.loop import Engine
from haproxy_py.registry import NOT_IMPLEMENTED
from haproxy_py.runtime.ops import Detached, EngineOps
from haproxy_py.stats.commands import ADMIN, CLI, COMMANDS, USER, Cli, lookup
from tests.unit.test_stats_fixture import NOW, WALL, sample_state


def run(cli: Cli, line: str, level: str = "admin") -> str:
    return cli.execute(line, level, NOW, WALL)


@pytest.fixture
def cli() -> Cli:
    return Cli(sample_state())


def test_help_is_generated_from_the_table(cli: Cli) -> None:
    out = run(cli, "help")
    assert out.endswith("\n\n")
    lines = out[:-1].splitlines()
    assert lines[0] == "The following commands are valid at this level:"
    assert lines[-3:] == ["  help [<command>]                        : list matching or all commands",
                          "  prompt                                  : toggle interactive mode with prompt",
                          "  quit                                    : disconnect"]
    body = lines[1:-3]
    listed = [c for c in COMMANDS if c.help is not None and c.words not in (("help",), ("prompt",), ("quit",))
              and not c.experimental and not c.master]  # the master CLI's own are listed there only
    assert len(body) == len(listed)
    assert body == sorted(body)  # 2.6 sorts them
    # experimental commands only once the session asked for them, in their place
    assert not any(ln.startswith("  set var ") for ln in body)
    exp = run(cli, "experimental-mode on; help")[1:-1].splitlines()[1:-3]
    assert len(exp) == len(body) + 1 and exp == sorted(exp)
    assert "  set var <name> [fmt|expr] {<fmt>|<expr>}: set variable from an expression or a format" in exp
    # one line per row, built from the row
    assert "  shutdown frontend <frontend>            : stop a specific frontend" in body
    # byte for byte as 2.6.12 at every level: tests/differential/test_cli_levels.py::test_help_as_2_6


def test_dispatch_takes_the_longest_words() -> None:
    assert lookup(["set", "maxconn", "server", "a/b", "3"]).name == "set maxconn server"  # type: ignore[union-attr]
    assert lookup(["set", "server", "a/b", "state", "ready"]).name == "set server"  # type: ignore[union-attr]
    assert lookup(["show", "servers", "state"]).name == "show servers state"  # type: ignore[union-attr]
    assert lookup(["show", "servers"]) is None
    assert lookup(["operator", "x"]).name == "operator"  # type: ignore[union-attr]


def test_every_row_is_implemented_with_a_test_or_refused(cli: Cli) -> None:
    for c in COMMANDS:
        if c.test:
            assert c.name in CLI, c.name
            assert c.handler is not None or c.master, c.name
        else:
            assert c.name not in CLI and c.name in CLI.refused(), c.name
    assert len({c.name for c in COMMANDS}) == len(COMMANDS)
    # the dynamic-cookie commands check their arguments as 2.6 does, then answer nothing
    assert run(cli, "enable dynamic-cookie backend") == "A backend name is expected.\n\n"
    assert run(cli, "disable dynamic-cookie backend nosuch") == "No such backend.\n\n"
    assert run(cli, "set dynamic-cookie-key backend app") == "String value expected.\n\n"
    assert run(cli, "enable dynamic-cookie backend app") == "\n"


def test_expert_mode_stays_off_experimental_mode_lasts_the_session(cli: Cli) -> None:
    assert run(cli, "expert-mode") == "expert-mode is OFF\n\n"
    assert NOT_IMPLEMENTED in run(cli, "expert-mode on")
    assert run(cli, "expert-mode", "operator") == "Permission denied\n\n"
    # what expert mode would unlock: 2.6's reply without it (and the command is not listed)
    assert run(cli, "debug dev log x") == "This command is restricted to expert mode only.\n\n"
    assert "debug dev" not in run(cli, "help")
    assert run(cli, "experimental-mode") == "experimental-mode is OFF\n\n"
    assert run(cli, "set var proc.a int(1)") == "This command is restricted to experimental mode only.\n\n"
    assert run(cli, "experimental-mode on", "operator") == "Permission denied\n\n"
    assert run(cli, "experimental-mode on") == "\n"
    assert run(cli, "experimental-mode") == "experimental-mode is ON\n\n"  # the same session
    assert run(cli, "experimental-mode maybe; experimental-mode") == "\nexperimental-mode is OFF\n\n"
    assert run(cli, "experimental-mode on; operator; set var proc.a int(1)") == \
        "\n\nThis command is restricted to experimental mode only.\n\n"  # lowering the level drops it
    assert Cli(cli.state).execute("experimental-mode", "admin", NOW, WALL) == "experimental-mode is OFF\n\n"


@pytest.mark.parametrize("cmd", ["show fd", "show activity", "show threads 1", "expert-mode on",
                                 "set severity-output number"])
def test_unimplemented_command_is_refused_clearly(cli: Cli, cmd: str) -> None:
    out = run(cli, cmd)
    assert NOT_IMPLEMENTED in out and "Unknown command" not in out, out
    assert out.endswith(".\n\n")


def test_level_comes_before_the_refusal(cli: Cli) -> None:
    assert run(cli, "show fd", "user") == "Permission denied\n\n"
    assert run(cli, "expert-mode on", "operator") == "Permission denied\n\n"


def test_level_audit_against_2_6(cli: Cli) -> None:
    """Levels measured on HAProxy 2.6.12 (tests/differential/test_cli_levels.py compares them live)."""
    for cmd, lvl in (("show startup-logs", "user"), ("show cache", "operator"), ("show profiling", "operator"),
                     ("trace", "user"), ("show ssl crt-list", "operator")):
        assert Cli(cli.state).execute(cmd, lvl, NOW, WALL) == "Permission denied\n\n", cmd
    for cmd in ("show map", "show acl", "add map #0 k v", "del acl #0 k", "clear table t", "get map #0 k",
                "show table", "show ssl cert", "set ssl tls-key x y", "show tls-keys"):
        assert "Permission denied" not in Cli(cli.state).execute(cmd, "user", NOW, WALL), cmd
    assert run(cli, "trace", "operator").startswith("Supported trace sources")


def test_master_commands_are_unknown_on_a_stats_socket(cli: Cli) -> None:
    for cmd in ("show proc", "reload", "@1 show info"):
        assert run(cli, cmd).startswith("Unknown command"), cmd


def test_getsocks_without_expose_fd_answers_nothing(cli: Cli) -> None:
    assert run(cli, "_getsocks") == ""
    assert cli.closing


def test_agent_commands(cli: Cli) -> None:
    # a server without agent-check (the agent itself: tests/differential/test_agent_check_vs_haproxy.py)
    assert run(cli, "enable agent app/s1") == "Agent was not configured on this server, cannot enable.\n\n"
    assert run(cli, "disable agent app/s1") == "\n"
    assert run(cli, "disable agent app/nosuch") == "No such server.\n\n"
    assert run(cli, "enable agent app/s1", "operator") == "Permission denied\n\n"


def test_profiling_setting_is_shown(cli: Cli) -> None:
    assert run(cli, "show profiling").startswith("Per-task CPU profiling              : auto-off      ")
    assert run(cli, "set profiling tasks on") == "\n"
    assert run(cli, "set profiling memory maybe") == "Expects either 'on' or 'off'.\n\n"
    out = run(cli, "show profiling")
    assert out.startswith("Per-task CPU profiling              : on            # set profiling tasks {on|auto|off}\n")
    assert run(cli, "show profiling", "operator") == "Permission denied\n\n"


def test_rate_limit_is_refused_not_ignored(cli: Cli) -> None:
    out = run(cli, "set rate-limit sessions global 50")
    assert NOT_IMPLEMENTED in out and "'set rate-limit sessions global'" in out
    assert cli.state.rate_limit_sessions == 0
    assert run(cli, "set rate-limit foo").startswith("'set rate-limit' only supports :\n")


def test_set_maxconn_replies_as_2_6(cli: Cli) -> None:
    st = cli.state
    s1 = st.backends["app"].by_name["s1"]
    assert run(cli, "set maxconn server app/s1") == "Require <maxconn>.\n\n"
    assert run(cli, "set maxconn server app/s1 abc") == "maxconn string empty or preceded by garbage\n"
    assert run(cli, "set maxconn server app/s1 10x") == "Trailing garbage in maxconn string\n"
    assert run(cli, "set maxconn server app/s1 7") == "\n" and s1.maxconn == 7
    assert run(cli, "set maxconn global") == "Expects an integer value.\n\n"
    assert run(cli, f"set maxconn global {st.hard_maxconn + 1}") == "Value out of range.\n\n"
    assert run(cli, "set maxconn global 12x") == "\n" and st.maxconn == 12  # atoi()
    assert run(cli, "set maxconn global -1") == "\n" and st.maxconn == st.hard_maxconn
    assert run(cli, "set maxconn frontend web -1") == "Value out of range.\n\n"
    assert run(cli, "set maxconn frontend web") == "Integer value expected.\n\n"
    assert run(cli, "set maxconn frontend web 30x") == "\n" and st.frontends["web"].maxconn == 30


def test_set_server_addr_replies_as_2_6(cli: Cli) -> None:
    s1 = cli.state.backends["app"].by_name["s1"]
    assert run(cli, "set server app/s1 addr") == (
        "set server <b>/<s> addr requires an address and optionally a port.\n\n")
    assert run(cli, "set server app/s1 addr 127.0.0.3 port abc") == (
        "IP changed from '127.0.0.1' to '127.0.0.3', problem converting port 'abc' to an int by "
        "'stats socket command'\n\n")
    assert (s1.host, s1.port) == ("127.0.0.3", 23001)
    assert run(cli, "set server app/s1 addr 127.0.0.3 port 70000") == (
        "no need to change the addr, port changed from '23001' to '4464' by 'stats socket command'\n\n")
    assert run(cli, "set server app/s1 addr 127.0.0.3 port 80x").endswith("port changed from '4464' to '80' by "
                                                                          "'stats socket command'\n\n")


def test_set_timeout_replies_as_2_6(cli: Cli) -> None:
    assert run(cli, "set timeout foo 3") == "'set timeout' only supports 'cli'.\n\n"
    assert run(cli, "set timeout cli") == "Expects an integer value.\n\n"
    assert run(cli, "set timeout cli 5x") == "Invalid timeout value.\n\n"
    assert run(cli, "set timeout cli 1m") == "\n" and cli.timeout == 60


def test_engine_implements_every_operation() -> None:
    """A method of EngineOps missing from the engine (or with other parameters) fails here, and
    mypy flags ``state.ops = self`` in Engine.__init__."""
    wanted = {n: inspect.signature(f) for n, f in vars(EngineOps).items()
              if callable(f) and not n.startswith("_")}
    assert {"stop_frontend", "set_server_addr", "set_server_maxconn", "set_global_maxconn"} <= set(wanted)
    for impl in (Engine, Detached):
        for name, sig in wanted.items():
            got = getattr(impl, name, None)
            assert callable(got), f"{impl.__name__} lacks {name}"
            assert list(inspect.signature(got).parameters) == list(sig.parameters), (impl.__name__, name)
    assert isinstance(Detached(sample_state()), EngineOps)


def test_rows_levels_are_2_6_levels() -> None:
    assert {c.level for c in COMMANDS} <= {USER, 1, ADMIN}


def test_set_server_check_target_and_unsupported_replies_as_2_6(cli: Cli) -> None:
    """Replies measured on HAProxy 2.6.12 for a server with a check and without agent, fqdn or SSL."""
    for cmd, want in (
            ("set server app/s1 check-port", "set server <b>/<s> check-port requires a port.\n\n"),
            ("set server app/s1 check-port abc", "provided port is not an integer\n"),
            ("set server app/s1 check-port 70000", "provided port is invalid\n"),
            ("set server app/s1 check-port -1", "provided port is invalid\n"),
            ("set server app/s1 check-addr", "set server <b>/<s> check-addr requires an address and optionally a "
                                             "port.\n\n"),
            ("set server app/s1 check-addr foo", "invalid addr 'foo'\n"),
            ("set server app/s1 agent-addr 127.0.0.1", "agent checks are not enabled on this server\n"),
            ("set server app/s1 agent-port 80", "agent checks are not enabled on this server\n"),
            ("set server app/s1 agent-send foo", "agent checks are not enabled on this server.\n\n"),
            ("set server app/s1 fqdn example.com", "set server <b>/<s> fqdn failed because no resolution is "
                                                   "configured.\n\n"),
            ("set server app/s1 ssl on", "'set server <srv> ssl' cannot be set.  default-server should define "
                                         "ssl settings\n\n")):
        assert run(cli, cmd) == want, cmd
    assert run(cli, "set server app/s1 check-addr 127.0.0.2 port 8080") == "\n"
    line = run(cli, "show servers state app").splitlines()[2].split()
    assert line[21:23] == ["8080", "127.0.0.2"] and line[17] == "-" and line[20] == "0"
    assert run(cli, "set server app/s1 check-port 0") == "\n"
    assert run(cli, "show servers state app").splitlines()[2].split()[21] == "0"


def test_added_server_is_listed_once_and_a_static_one_can_be_deleted(cli: Cli) -> None:
    assert run(cli, "add server app/s9 127.0.0.1:9") == "New server registered.\n\n"
    names = [ln.split(",")[1] for ln in run(cli, "show stat app -1 -1").splitlines()[1:] if ln]
    assert names.count("s9") == 1, names
    assert run(cli, "disable server app/s2") == "\n"
    assert run(cli, "del server app/s2") == "Server deleted.\n"  # 2.6 deletes configured servers too
    assert run(cli, "get weight app/s2") == "No such server.\n\n"
    assert run(cli, "del server app/s9") == "Server deleted.\n"
    names = [ln.split(",")[1] for ln in run(cli, "show stat app -1 -1").splitlines()[1:] if ln]
    assert "s9" not in names and "s2" not in names and "s1" in names
