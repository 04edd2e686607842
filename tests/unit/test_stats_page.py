"""HTTP stats page and Prometheus exporter."""

from __future__ import annotations

import base64
import re

from haproxy_py.stats import page, prometheus
from tests.conftest import SAMPLES
from tests.unit.test_stats_fixture import NOW, WALL, sample_state

AUTH = [("Authorization", "Basic " + base64.b64encode(b"admin:secret").decode())]


def _conf(st):  # type: ignore[no-untyped-def]
    return st.config.proxy("stats").stats


def test_401_matches_sample() -> None:
    st = sample_state()
    status, hdrs, body = page.handle(st, _conf(st), "GET", "/stats", [], b"", NOW, WALL)
    raw = (SAMPLES / "stats_page" / "401_full_response.http").read_bytes()
    head, _, exp_body = raw.partition(b"\r\n\r\n")
    assert status == 401 and body == exp_body
    lines = head.decode().split("\r\n")[1:]
    assert [f"{k}: {v}" for k, v in hdrs] == lines


def test_csv_and_headers() -> None:
    st = sample_state()
    status, hdrs, body = page.handle(st, _conf(st), "GET", "/stats;csv", AUTH, b"", NOW, WALL)
    assert status == 200 and ("content-type", "text/plain") in hdrs and ("refresh", "10") in hdrs
    exp = (SAMPLES / "stats_page" / "stats.csv").read_text().split("\n")
    got = body.decode().split("\n")
    assert got[0] == exp[0] and len(got) == len(exp)
    assert all(line.count(",") == 128 for line in got if line)
    _s, hdrs, _b = page.handle(st, _conf(st), "GET", "/stats;csv;norefresh", AUTH, b"", NOW, WALL)
    assert not any(k == "refresh" for k, _v in hdrs)


def test_html_layout_and_admin_post() -> None:
    st = sample_state()
    status, hdrs, body = page.handle(st, _conf(st), "GET", "/stats", AUTH, b"", NOW, WALL, admin_allowed=True)
    html = body.decode("latin-1")
    assert status == 200 and "<title>Statistics Report for HAProxy</title>" in html
    assert '<tr class="active_up">' in html and '<tr class="active_down">' in html
    assert '<tr class="active_no_check">' in html and 'name="b" value="#3"' in html
    status, hdrs, body = page.handle(st, _conf(st), "POST", "/stats", AUTH, b"s=s1&action=maint&b=%233", NOW, WALL,
                                     admin_allowed=True)
    assert status == 303 and ("location", "/stats;st=DONE") in hdrs and body == b""
    assert st.backends["app"].by_name["s1"].in_maint
    status, hdrs, _ = page.handle(st, _conf(st), "POST", "/stats", AUTH, b"action=maint&b=%233", NOW, WALL,
                                  admin_allowed=True)
    assert ("location", "/stats;st=NONE") in hdrs  # no server checked (2.6 answers NONE, not ERRP)
    status, hdrs, _ = page.handle(st, _conf(st), "POST", "/stats", AUTH, b"s=s1&action=maint&b=%2399", NOW, WALL,
                                  admin_allowed=True)
    assert ("location", "/stats;st=ERRP") in hdrs  # no such backend
    _s, _h, body = page.handle(st, _conf(st), "GET", "/stats;st=DONE", AUTH, b"", NOW, WALL, admin_allowed=True)
    assert b"Action processed successfully." in body and b'class="maintain"' in body


def test_prometheus_names() -> None:
    out = prometheus.render(sample_state(), NOW, WALL)
    assert "# TYPE haproxy_process_uptime_seconds gauge\nhaproxy_process_uptime_seconds 83\n" in out
    assert 'haproxy_frontend_http_responses_total{proxy="web",code="2xx"} 34\n' in out
    assert 'haproxy_backend_sessions_total{proxy="app"} 33\n' in out
    assert 'haproxy_server_status{proxy="tcpsvc",server="t2",state="DOWN"} 1\n' in out
    assert 'haproxy_server_check_duration_seconds{proxy="app",server="s1"} 0.004000\n' in out


def test_human_time_as_2_6_prints_durations() -> None:
    ht = page.human_time
    assert [ht(0), ht(2), ht(59), ht(60), ht(1762), ht(3600), ht(3725), ht(86400), ht(90061)] == [
        "0s", "2s", "59s", "1m", "29m22s", "1h", "1h2m", "1d", "1d1h"]
    assert ht(-1) == "?" and ht(None) == "?"


def test_server_group_cells() -> None:
    st = sample_state()
    _s, _h, body = page.handle(st, _conf(st), "GET", "/stats", AUTH, b"", NOW, WALL, admin_allowed=True)
    text = body.decode("latin-1")
    # status with its duration, weights effective/user, Y/- for active/backup, agent actions
    assert re.search(r"<td class=ac>\d+[dhms]\w* UP</td>", text)
    assert re.search(r"<td class=ac>\d+/\d+</td><td class=ac>Y</td><td class=ac>-</td>", text)
    assert '<option value="dagent">Agent: disable checks</option>' in text
    assert "getElementsByClassName('app-checkbox')" in text and "class='app-checkbox'" in text


def test_counters_are_printed_with_2_6s_thousands_marks() -> None:
    u = page._u2h
    assert [u(0), u(999), u(9985), u(64643), u(107827), u(1234567)] == [
        "0", "999", '<span class="rls">9</span>985', '6<span class="rls">4</span>643',
        '10<span class="rls">7</span>827', '<span class="rls">1</span>23<span class="rls">4</span>567']
