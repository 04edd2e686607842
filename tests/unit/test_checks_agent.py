"""checks/agent.py and the agent part of checks/health.py, without sockets (the behaviour itself is
compared with 2.6 in tests/differential/test_agent_check_vs_haproxy.py)."""

from __future__ import annotations

from haproxy_py.checks import agent as A
from haproxy_py.checks import health as H
from haproxy_py.checks.probes import CheckResult
from haproxy_py.checks.tcpcheck import AGENT_INCOMPLETE, Done, TcpCheckRun, agent_rules
from haproxy_py.checks.testing import make_backend


def test_words_kinds_last_wins_and_description() -> None:
    r = A.parse_reply("UP,50%\tmaxconn:10 drain 20% foo bar # going away ")
    assert (r.health, r.admin, r.weight, r.maxconn, r.error, r.desc) == (
        "UP", "drain", "20%", "10", "foo", "going away ")
    r = A.parse_reply("down#x")
    assert (r.health, r.error) == (None, "down#x")
    r = A.parse_reply("  ,  #  why")
    assert (r.health, r.desc) == (None, "why")
    assert A.line_end(b"up\r\n") == 2 and A.line_end(b"up") == -1 and A.line_end(b"up\0\n") == -1
    assert A.maxconn_error("12a") == ("Trailing garbage in maxconn string", 0)
    assert A.maxconn_error("x") == ("maxconn string empty or preceded by garbage", 0)
    assert A.maxconn_error("7") == (None, 7)


def _srv():  # type: ignore[no-untyped-def]
    be = make_backend("b", [{"name": "s1", "agent_check": True, "agent_port": 9, "weight": 40}],
                      options=(("log-health-checks", True),))
    return be.servers[0]


def test_down_up_and_texts() -> None:
    s = _srv()
    out = H.apply_agent_reply(s, A.parse_reply("down # disk full"), 0, 1.0)
    assert s.state == H.STOPPED and s.agent_health == 0 and s.agent_status == "L7STS"
    assert s.agent_info == "via agent : down (disk full)"
    assert H.status_text(s) == "DOWN (agent)"
    assert out.texts[0].startswith("Agent check for server b/s1 failed, reason: Layer7 wrong status, code: 0")
    out = H.apply_agent_reply(s, A.parse_reply("up foo"), 0, 2.0)
    assert s.state == H.RUNNING and s.agent_info == "via agent : up (foo)"
    out = H.apply_agent_reply(s, A.parse_reply("maxconn:x"), 0, 3.0)
    assert s.agent_status == "CHECKED" and s.agent_info == "agent warns : maxconn string empty or preceded by garbage"
    assert out.logs == [] and out.maxconn is None
    assert H.apply_agent_reply(s, A.parse_reply("maxconn:5"), 0, 3.0).maxconn == 5


def test_unreachable_agent_changes_nothing_and_incomplete_keeps_status() -> None:
    s = _srv()
    H.apply_agent_reply(s, A.parse_reply("fail"), 0, 1.0)
    H.apply_agent_result(s, CheckResult("L4CON", 2, None, "Connection refused", 0), 2.0)
    assert s.agent_health == 0 and s.state == H.STOPPED and s.agent_status == "L4CON"
    s2 = _srv()
    H.apply_agent_reply(s2, A.parse_reply("up"), 0, 1.0)
    H.apply_agent_result(s2, CheckResult("", 0, None, AGENT_INCOMPLETE, 3), 2.0)
    assert (s2.agent_status, s2.agent_info, s2.agent_health) == ("L7OK", AGENT_INCOMPLETE, 1)


def test_maint_from_agent_and_back_stays_down_after_down() -> None:
    s = _srv()
    H.apply_agent_reply(s, A.parse_reply("maint"), 0, 1.0)
    assert s.in_maint and s.maint_weight == 40
    H.apply_agent_reply(s, A.parse_reply("down"), 0, 2.0)
    out = H.apply_agent_reply(s, A.parse_reply("ready"), 0, 3.0)
    assert s.state == H.STOPPED and "is DOWN/READY (leaving forced maintenance)" in out.texts[0]


def test_agent_sequence_walk() -> None:
    run = TcpCheckRun(agent_rules(b"hi\n"), True)
    run.step()
    run.connected()
    assert run.step().data == b"hi\n"  # type: ignore[union-attr]
    run.step()
    run.feed(b"up 5")
    assert run.step().__class__.__name__ == "Recv"
    run.feed(b"0%\r\n")
    assert isinstance(run.step(), Done) and run.agent_line == "up 50%"
