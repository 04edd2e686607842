"""checks.health: the pure state machine with fake time."""

from __future__ import annotations

from haproxy_py.checks import health as H
from haproxy_py.checks.probes import RES_CONDPASS, RES_FAILED, RES_PASSED, CheckResult
from haproxy_py.checks.testing import make_backend

OK = CheckResult("L7OK", RES_PASSED, 200, "", 0)
KO = CheckResult("L7STS", RES_FAILED, 503, "Service Unavailable", 0)
C404 = CheckResult("L7OKC", RES_CONDPASS, 404, "", 0)


def one(**kw):
    d = dict(name="s1", check=True)
    d.update(kw)
    be = make_backend("be", [d, dict(name="s2")])
    return be, be.servers[0]


def test_boot_and_counter_sequence() -> None:
    be, s = one(rise=2, fall=3)
    assert (s.health, H.status_text(s)) == (2, "UP 1/3")
    assert s.check_status == "INI"
    seq = []
    for res in (OK, KO, KO, OK, KO, KO, KO, OK, OK, OK):
        H.apply_check_result(s, res, 10.0)
        seq.append(H.status_text(s))
    assert seq == ["UP", "UP 2/3", "UP 1/3", "UP", "UP 2/3", "UP 1/3", "DOWN", "DOWN 1/2", "UP", "UP"]
    assert s.counters.chkfail == 5 and s.counters.chkdown == 1


def test_first_failure_at_boot_downs() -> None:
    be, s = one(rise=2, fall=3)
    out = H.apply_check_result(s, KO, 5.0)
    assert s.state == "STOPPED" and H.status_text(s) == "DOWN"
    assert len(out.logs) == 1 and out.logs[0][1] == 1
    # failures while DOWN count nothing more
    H.apply_check_result(s, KO, 6.0)
    assert s.counters.chkfail == 1 and s.counters.chkdown == 1


def test_intervals() -> None:
    be, s = one(inter=1000, fastinter=500, downinter=3000)
    assert H.check_interval(s) == 500  # h = rise at boot: degraded
    H.apply_check_result(s, OK, 1.0)
    assert H.check_interval(s) == 1000
    H.apply_check_result(s, KO, 2.0)
    assert H.check_interval(s) == 500
    H.apply_check_result(s, KO, 3.0)
    H.apply_check_result(s, KO, 4.0)
    assert s.state == "STOPPED" and H.check_interval(s) == 3000
    H.apply_check_result(s, OK, 5.0)
    assert H.check_interval(s) == 500
    be2, s2 = one(inter=1000)
    assert H.check_interval(s2) == 1000
    # 2.6 spreads the first checks by position over the smallest interval of all checked servers
    be3 = make_backend("be3", [dict(name="a", check=True, inter=3000), dict(name="b", check=True, inter=1000),
                               dict(name="c", check=True, inter=2000)])
    assert H.first_check_delays(be3.servers) == [0, 333, 666]
    assert H.first_check_delays([]) == []
    assert H.next_check_delay(s2, 50, lambda: 0.0) == 1500
    assert H.next_check_delay(s2, 50, lambda: 0.999999) == 501


def test_downtime_and_lastchg() -> None:
    be, s = one()
    H.apply_check_result(s, KO, 100.0)
    assert H.downtime(s, 130.0) == 30 and H.lastchg(s, 130.0) == 30
    H.apply_check_result(s, OK, 140.0)
    H.apply_check_result(s, OK, 150.0)
    assert s.state == "RUNNING" and H.downtime(s, 1000.0) == 50 and H.lastchg(s, 160.0) == 10


def test_cli_transitions_and_status() -> None:
    be, s = one(rise=2, fall=3)
    H.apply_check_result(s, OK, 1.0)
    out = H.set_admin_maint(s, 2.0)
    assert H.status_text(s) == "MAINT" and s.counters.chkdown == 1
    assert out.texts[0].startswith("Server be/s1 is going DOWN for maintenance. 1 active")
    H.apply_check_result(s, KO, 3.0)  # paused in maintenance
    assert s.counters.chkfail == 0
    out = H.set_admin_ready(s, 4.0)
    assert out.texts == ["Server be/s1 is UP/READY (leaving forced maintenance)."]
    assert H.status_text(s) == "UP 1/3" and s.health == 2
    H.set_admin_drain(s, 5.0)
    assert H.status_text(s) == "DRAIN 1/3" and not s.usable
    H.apply_check_result(s, OK, 6.0)
    assert H.status_text(s) == "DRAIN"
    H.set_admin_ready(s, 7.0)
    assert H.status_text(s) == "UP"
    out = H.set_health_stopping(s, 8.0)
    assert H.status_text(s) == "NOLB" and out.logs[0][1] == 5
    out = H.set_health_down(s, 9.0)
    assert H.status_text(s) == "DOWN" and out.texts[0].startswith("Server be/s1 is DOWN, changed from CLI. 1 active")
    H.apply_check_result(s, OK, 10.0)
    assert H.status_text(s) == "DOWN 1/2"
    out = H.set_health_up(s, 11.0)
    assert out.texts[0].startswith("Server be/s1 is UP, changed from CLI. 2 active")
    assert H.set_health_up(s, 12.0).logs == []
    H.disable_health(s, 13.0)
    assert H.status_text(s) == "no check"
    H.enable_health(s, 14.0)
    assert H.status_text(s) == "UP"
    # drain while in maintenance, then leave maintenance: UP/DRAIN + remains in forced drain
    H.set_admin_maint(s, 15.0)
    out = H.set_admin_drain(s, 16.0)
    assert out.texts == ["Server be/s1 is UP/DRAIN (leaving forced maintenance).",
                         "Server be/s1 remains in forced drain mode."]


def test_unchecked_and_disabled() -> None:
    be = make_backend("be", [dict(name="a"), dict(name="b", disabled=True, check=True)])
    a, b = be.servers
    H.init_server(b, 0.0)
    assert H.status_text(a) == "no check"
    assert H.status_text(b) == "MAINT" and b.state == "STOPPED"
    out = H.set_admin_ready(b, 5.0)
    assert H.status_text(b) == "UP 1/3" and b.admin == set()
    assert out.texts == ["Server be/b is UP/READY (leaving forced maintenance)."]


def test_disable_on_404_nolb() -> None:
    be, s = one()
    H.apply_check_result(s, OK, 1.0)
    out = H.apply_check_result(s, C404, 2.0)
    assert s.state == "STOPPING" and H.status_text(s) == "NOLB"
    assert out.texts[0].startswith("Server be/s1 is stopping, reason: Layer7 check conditionally passed, code: 404")
    H.apply_check_result(s, OK, 3.0)
    assert s.state == "RUNNING"


def test_tracking() -> None:
    be1 = make_backend("be1", [dict(name="s1", check=True)])
    be2 = make_backend("be2", [dict(name="t1", track="be1/s1"), dict(name="t2", track="t1"),
                               dict(name="x", track="nope")])
    errs = H.link_tracking([be1, be2])
    assert len(errs) == 1 and "nope" in errs[0]
    s1 = be1.servers[0]
    t1, t2, _ = be2.servers
    assert t1.track is s1 and t2.track is t1
    assert H.status_text(t1) == "UP 1/3"
    out = H.apply_check_result(s1, KO, 1.0)
    assert t1.state == "STOPPED" and t2.state == "STOPPED"
    texts = out.texts
    assert texts[0].startswith("Server be1/s1 is DOWN, reason:")
    assert "Server be2/t1 is DOWN via be1/s1. " in texts[2]
    assert any("Server be2/t2 is DOWN via be2/t1. " in t for t in texts)
    H.apply_check_result(s1, OK, 2.0)
    H.apply_check_result(s1, OK, 3.0)
    assert t2.state == "RUNNING"
    H.set_admin_maint(s1, 4.0)
    assert H.status_text(t1) == "MAINT (via be1/s1)" and H.status_text(t2) == "MAINT (via be2/t1)"
    out = H.set_admin_ready(s1, 5.0)
    assert t1.state == "RUNNING" and not t2.in_maint
    assert "Server be2/t1 is UP/READY (leaving maintenance) via be1/s1." in out.texts


def test_slowstart() -> None:
    be, s = one(slowstart=10000)
    H.apply_check_result(s, KO, 100.0)
    H.apply_check_result(s, OK, 101.0)
    H.apply_check_result(s, OK, 102.0)
    assert s.state == "STARTING" and H.status_text(s) == "UP"
    s.uweight = 16
    assert H.slowstart_step(s, 102.0) == 1 and H.effective_weight(s, 102.0) == 1
    assert H.throttle_pct(s, 102.0) == 7
    # HAProxy: w = (16 * elapsed + T) / T  -> (80 + 10) // 10 = 9 sixteenths after 5 s of 10
    assert H.slowstart_step(s, 107.0) == 9 and H.effective_weight(s, 107.0) == 9
    assert H.effective_weight(s, 107.0, dynamic=False) == 16
    assert H.throttle_pct(s, 107.0) == 57
    assert H.slowstart_maxconn(s, 107.0, 100) == 57
    assert H.slowstart_tick(s, 108.0) is True
    assert H.slowstart_tick(s, 112.5) is False and s.state == "RUNNING"
    assert H.throttle_pct(s, 113.0) is None


def test_observe_layer4_and_actions() -> None:
    be = make_backend("be", [dict(name="a", check=True, observe="layer4", error_limit=2, on_error="mark-down",
                                  on_marked_down="shutdown-sessions", fastinter=250),
                             dict(name="bk", backup=True),
                             dict(name="c", check=True, on_marked_up="shutdown-backup-sessions")])
    a, bk, c = be.servers
    a.sessions.add("sess-a")
    bk.sessions.add("sess-bk")
    assert H.observe(a, "L4_ERR", 1.0) is None
    assert H.observe(a, "L4_OK", 1.0) is None and a.observe_errors == 0
    assert H.observe(a, "HTTP_STS", 1.0) is None and a.observe_errors == 0  # layer7 kinds ignored
    H.observe(a, "L4_ERR", 1.0)
    out = H.observe(a, "L4_ERR", 2.0)
    assert out is not None and out.fastinter == 250 and out.shutdown == ["sess-a"]
    assert out.texts[0] == ('Server be/a is DOWN, reason: Health analyze, info: "Detected 2 consecutive errors,'
                            ' last one was: L4 unsuccessful connection". 1 active and 1 backup servers left.'
                            ' 0 sessions active, 0 requeued, 0 remaining in queue.')
    assert a.counters.hanafail == 1 and a.counters.chkfail == 1
    H.apply_check_result(c, KO, 3.0)
    H.apply_check_result(c, OK, 4.0)
    out = H.apply_check_result(c, OK, 5.0)
    assert out.shutdown == ["sess-bk"]


def test_sudden_death_and_fastinter_modes() -> None:
    be, s = one(observe="layer7", error_limit=1, on_error="sudden-death", rise=2, fall=3)
    H.apply_check_result(s, OK, 1.0)  # full health 4
    out = H.observe(s, "HTTP_STS", 2.0)
    assert s.health == 2 and s.state == "RUNNING" and out.logs == []
    H.apply_check_result(s, KO, 3.0)
    assert s.state == "STOPPED"
    be2, s2 = one(observe="layer7", error_limit=1, on_error="fastinter", fastinter=100)
    out = H.observe(s2, "HTTP_RSP", 1.0)
    assert out.fastinter == 100 and s2.health == 2 and s2.counters.hanafail == 1


def test_no_server_available_and_backup_counts() -> None:
    be = make_backend("be", [dict(name="a", check=True), dict(name="b", check=True, backup=True)])
    a, b = be.servers
    out = H.apply_check_result(a, KO, 1.0)
    assert out.texts == ["Server be/a is DOWN, reason: Layer7 wrong status, code: 503, info: \"Service"
                         " Unavailable\", check duration: 0ms. 0 active and 1 backup servers left. Running on"
                         " backup. 0 sessions active, 0 requeued, 0 remaining in queue."]
    out = H.apply_check_result(b, KO, 2.0)
    assert out.logs[0][2].startswith("Backup Server be/b is DOWN")
    assert out.logs[1] == ("be", 0, "backend be has no server available!")
