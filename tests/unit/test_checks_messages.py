"""Replays the scenario of samples/check_log_samples.txt through checks.health and compares every line.

Each backend of samples/health_checks/haproxy.cfg is driven with the check results and CLI commands
that the annotations describe; the produced (severity, text) sequence must equal, line for line, the
sample's lines for that backend (syslog PRI = local2*8 + severity).
"""

from __future__ import annotations

import re

from haproxy_py.checks import health as H
from haproxy_py.checks import messages as M
from haproxy_py.checks.probes import RES_FAILED, RES_PASSED, CheckResult
from haproxy_py.checks.testing import make_backend
from tests.conftest import SAMPLES

LINE = re.compile(r"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d haproxy\[\d+\]: (.*)$")


def sample_lines(backend: str) -> list[tuple[int, str]]:
    out = []
    for raw in (SAMPLES / "check_log_samples.txt").read_text().splitlines():
        m = LINE.match(raw)
        if not m:
            continue
        text = m.group(2)
        if f" {backend}/" in text or text.startswith(f"backend {backend} "):
            out.append((int(m.group(1)) - 18 * 8, text))
    return out


def ok(d: int = 0) -> CheckResult:
    return CheckResult("L7OK", RES_PASSED, 200, "", d)


def fail503(d: int = 0) -> CheckResult:
    return CheckResult("L7STS", RES_FAILED, 503, "Service Unavailable", d)


def tout(d: int = 1000) -> CheckResult:
    return CheckResult("L7TOUT", RES_FAILED, None, "", d)


def rsp(d: int = 0) -> CheckResult:
    return CheckResult("L7RSP", RES_FAILED, None, "", d)


def refused(d: int = 0) -> CheckResult:
    return CheckResult("L4CON", RES_FAILED, None, "Connection refused", d)


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self.now = 1000.0

    def take(self, out: H.Outcome) -> None:
        for _proxy, sev, text in out.logs:
            self.lines.append((sev, text))

    def check(self, srv, res: CheckResult) -> None:
        self.now += 1
        self.take(H.apply_check_result(srv, res, self.now))


def test_be_http_sequence() -> None:
    be = make_backend("be_http", [
        dict(name="flip", check=True, inter=1000, fastinter=500, downinter=2000, rise=2, fall=3),
        dict(name="good", check=True, inter=1000),
        dict(name="refused", check=True, inter=1000),
        dict(name="bk", check=True, inter=1000, backup=True),
    ])
    flip, good, refused_s, bk = be.servers
    r = Recorder()
    r.check(flip, ok())
    r.check(good, ok())
    r.check(bk, ok())
    r.check(refused_s, refused())
    # flip answers 503 (three failures from full health)
    r.check(flip, fail503(1))
    r.check(flip, fail503(1))
    r.check(flip, fail503(6))
    # 200
    r.check(flip, ok(0))
    r.check(flip, ok(1))
    # hang
    for _ in range(3):
        r.check(flip, tout(1028))
    r.check(flip, ok(0))
    r.check(flip, ok(0))
    # garbage
    for _ in range(3):
        r.check(flip, rsp(0))
    r.check(flip, ok(0))
    r.check(flip, ok(4))
    # close
    r.check(flip, rsp(0))
    r.check(flip, rsp(0))
    r.check(flip, rsp(1))
    r.check(flip, ok(0))
    r.check(flip, ok(0))
    # CLI
    r.take(H.set_admin_maint(good, r.now))
    r.take(H.set_admin_ready(good, r.now))
    r.take(H.set_admin_drain(good, r.now))
    r.take(H.set_admin_ready(good, r.now))
    r.take(H.set_admin_maint(good, r.now))  # disable server
    r.take(H.set_admin_ready(good, r.now))  # enable server
    r.take(H.set_health_down(good, r.now))
    r.check(good, ok(0))
    r.check(good, ok(0))
    r.take(H.set_health_up(good, r.now))
    r.take(H.set_health_stopping(good, r.now))
    r.check(good, ok(5))
    r.take(H.set_admin_maint(bk, r.now))
    r.take(H.set_admin_maint(flip, r.now))
    r.take(H.set_admin_maint(good, r.now))
    r.take(H.set_admin_ready(good, r.now))
    r.take(H.set_admin_ready(flip, r.now))
    r.take(H.set_admin_ready(bk, r.now))
    r.take(H.disable_health(good, r.now))
    r.take(H.enable_health(good, r.now))
    assert r.lines == sample_lines("be_http")


def test_be_loghc_sequence() -> None:
    be = make_backend("be_loghc", [dict(name="flip2", check=True, inter=1000, rise=2, fall=2)],
                      options=(("log-health-checks", True),))
    (s,) = be.servers
    r = Recorder()
    r.check(s, ok(0))
    r.check(s, ok(0))  # full health: nothing logged
    r.check(s, fail503(0))
    r.check(s, fail503(1))
    r.check(s, ok(0))
    r.check(s, ok(1))
    r.check(s, tout(1000))
    r.check(s, tout(1000))
    r.check(s, ok(0))
    r.check(s, ok(0))
    r.check(s, rsp(0))
    r.check(s, rsp(0))
    r.check(s, ok(0))
    r.check(s, ok(1))
    r.check(s, rsp(0))
    r.check(s, rsp(2))
    r.check(s, ok(0))
    r.check(s, ok(6))
    assert r.lines == sample_lines("be_loghc")


def test_be_tcp_and_be_only() -> None:
    be = make_backend("be_tcp", [dict(name="tflip", check=True), dict(name="trefused", check=True)], mode="tcp")
    r = Recorder()
    r.check(be.servers[0], CheckResult("L4OK", RES_PASSED, None, "", 0))
    r.check(be.servers[1], refused(0))
    r.check(be.servers[1], refused(0))  # already down: silent
    assert r.lines == sample_lines("be_tcp")
    be2 = make_backend("be_only", [dict(name="lone", check=True, rise=1, fall=1)])
    r2 = Recorder()
    r2.check(be2.servers[0], refused(0))
    assert r2.lines == sample_lines("be_only")
    assert [sev for sev, _ in r2.lines] == [M.SEV_ALERT, M.SEV_EMERG]


def test_observe_sample() -> None:
    """samples/health_checks/observe_layer7_log.txt: mark-down, fail-check and sudden-death."""
    raw = (SAMPLES / "health_checks" / "observe_layer7_log.txt").read_text().splitlines()
    expected = []
    for line in raw:
        m = LINE.match(line)
        if m and ("is DOWN" in m.group(2) or "no server" in m.group(2)):
            expected.append((int(m.group(1)) - 144, m.group(2)))
    got: list[tuple[int, str]] = []
    md = make_backend("be_md", [dict(name="md1", check=True, inter=30000, observe="layer7", error_limit=2,
                                     on_error="mark-down"), dict(name="md2", check=True, inter=30000)])
    fc = make_backend("be_fc", [dict(name="fc1", check=True, inter=30000, fall=3, observe="layer7",
                                     error_limit=1, on_error="fail-check")])
    sd = make_backend("be_sd", [dict(name="sd1", check=True, inter=30000, fall=3, observe="layer7",
                                     error_limit=1, on_error="sudden-death")])
    for be in (md, fc, sd):
        be.servers[0].served = 1  # the request being answered
    assert H.observe(md.servers[0], "HTTP_STS", 1.0) is None
    for be, n in ((md, 1), (fc, 0), (sd, 0)):
        for _ in range(n):
            pass
        out = H.observe(be.servers[0], "HTTP_STS", 2.0)
        assert out is not None
        got.extend((sev, t) for _p, sev, t in out.logs)
        assert be.servers[0].counters.hanafail == 1
        assert be.servers[0].check_status == "HANA"
    assert got == expected


def test_texts_of_facts_7_4() -> None:
    assert M.maint_leave("b", "s", False, True, True) == "Server b/s is UP/DRAIN (leaving forced maintenance)."
    assert M.drain_remains("b", "s", False) == "Server b/s remains in forced drain mode."
    assert M.server_down("b", "s", False, ", changed from CLI", 0, 1) == (
        "Server b/s is DOWN, changed from CLI. 0 active and 1 backup servers left. Running on backup."
        " 0 sessions active, 0 requeued, 0 remaining in queue.")
    assert M.health_check_result("b", "s", True, True, True, M.check_reason("L7OKC", 404), 1, 3, "UP") == (
        "Health check for backup server b/s conditionally succeeded, reason: Layer7 check conditionally passed,"
        " code: 404, status: 1/3 UP.")
    assert M.hana_info(3, "L4_ERR") == "Detected 3 consecutive errors, last one was: L4 unsuccessful connection"


def test_compare_helper() -> None:
    from haproxy_py.checks.compare import diff_check_logs

    raw = (SAMPLES / "check_log_samples.txt").read_text().splitlines()
    assert diff_check_logs(raw, raw) == []
    changed = [line.replace("check duration: 6ms", "check duration: 7ms") for line in raw]
    assert diff_check_logs(raw, changed) == []  # timing is excluded
    swapped = [line.replace("2 active and 1 backup servers left", "1 active and 1 backup servers left")
               for line in raw]
    d = diff_check_logs(raw, swapped)
    assert d and d[0].startswith("be_http[0]")
    dropped = [line for line in raw if "be_only has no server" not in line]
    assert diff_check_logs(raw, dropped) == ["be_only[1]: ours=(0, 'backend be_only has no server available!')"
                                             " haproxy=None"]
