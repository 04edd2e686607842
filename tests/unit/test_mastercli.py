"""The master CLI's session, sans-IO (haproxy_py/stats/mastercli.py): what each line asks for."""

from __future__ import annotations

from haproxy_py.stats.mastercli import Engine, Forward, MasterCli, split_raw

PIDS = [101, 102]


def test_split_raw_keeps_each_command_as_written() -> None:
    assert split_raw("a b; c\\;d ;") == ["a b", " c\\;d ", ""]


def test_targets_prefixes_and_the_sticky_target() -> None:
    m = MasterCli()
    assert m.plan("@2 show info", PIDS) == [Forward(1, "show info", "admin", False)]
    assert m.plan("@!101 show info; @master show proc", PIDS) == [Forward(0, "show info", "admin", False),
                                                                 Engine(("show", "proc"))]
    assert m.plan("@1; show cli level", PIDS) == [Forward(0, "show cli level", "admin", False)]
    assert m.plan("@master; show cli level", PIDS) == ["admin\n\n"]
    assert m.plan("@3 x; show version", PIDS) == ["Can't find the target PID matching the prefix '@3'\n"]
    assert m.closing


def test_level_and_modes_go_with_the_commands() -> None:
    m = MasterCli()
    assert m.plan("experimental-mode on; @1 set var proc.a int(1)", PIDS) == [
        "", Forward(0, "set var proc.a int(1)", "admin", True)]
    assert m.plan("operator; @1 show stat", PIDS) == [
        "", "Permission denied\n", Forward(0, "show stat", "operator", False)]
    assert m.plan("user; operator; show cli level", PIDS) == ["", "Permission denied!\n"]
    assert m.closing


def test_prompt_after_each_command_with_modes_and_target() -> None:
    m = MasterCli()
    assert m.plan("prompt", PIDS) == ["", "master> "]
    assert m.plan("experimental-mode on; @2", PIDS) == ["", "master(x)> ", "102(x)> "]
    assert m.plan("prompt; show cli level", PIDS)[-1] == Forward(1, "show cli level", "admin", True)
    assert not m.interactive


def test_help_and_unknown_commands_list_the_masters_commands() -> None:
    m = MasterCli()
    help_ = m.plan("help", PIDS)[0]
    assert isinstance(help_, str) and "  show proc " in help_ and "show stat" not in help_
    unknown = m.plan("get var proc.x", PIDS)[0]
    assert isinstance(unknown, str) and unknown.startswith("Unknown command, but maybe")


def test_expert_and_mcli_debug_modes_are_refused() -> None:
    m = MasterCli()
    for mode in ("expert-mode on", "mcli-debug-mode on"):
        out = m.plan(mode, PIDS)[0]
        assert isinstance(out, str) and "not implemented by haproxy-py" in out
    assert m.plan("expert-mode off; mcli-debug-mode; prompt", PIDS)[-1] == "master> "
