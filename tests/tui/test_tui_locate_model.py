"""tui.locate (finding the socket) and tui.model (cells, sparklines, formatting)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from tui_fakesock import SHOW_STAT

from tests.conftest import ROOT, SAMPLES
from tui.client import parse_stat_csv
from tui.locate import SocketNotFound, find_socket, stats_sockets_from_config
from tui.model import (
    History,
    fmt_bytes,
    fmt_duration,
    info_summary,
    proxy_cells,
    row_matches,
    server_cells,
    sparkline,
    split_rows,
    status_style,
)


def test_config_stats_socket_lines(tmp_path: Path) -> None:
    cfg = tmp_path / "h.cfg"
    cfg.write_text(
        "global\n"
        "    stats socket /run/ro.sock level user   # read only\n"
        '    stats socket "/run/admin sock" mode 600 level admin\n'
        "    stats socket ipv4@127.0.0.1:9999\n"
        "defaults\n    timeout client 1s\n"
        "frontend fe\n    stats socket /not/global.sock level admin\n"
    )
    assert stats_sockets_from_config(str(cfg)) == [
        ("/run/admin sock", "admin"),
        ("ipv4@127.0.0.1:9999", "operator"),
        ("/run/ro.sock", "user"),
    ]
    assert find_socket(config=str(cfg)) == "/run/admin sock"


def test_seed_and_sample_configs() -> None:
    socks = stats_sockets_from_config(str(SAMPLES / "main_haproxy.cfg"))
    assert socks == [
        ("/run/haproxy-lab/main/admin.sock", "admin"),
        ("/run/haproxy-lab/main/oper.sock", "operator"),
        ("/run/haproxy-lab/main/user.sock", "user"),
    ]
    assert stats_sockets_from_config(str(ROOT / "samples" / "haproxy.cfg")) == [
        ("/var/lib/haproxy/stats", "operator")
    ]


def test_config_without_socket(tmp_path: Path) -> None:
    cfg = tmp_path / "h.cfg"
    cfg.write_text("global\n    maxconn 10\n")
    with pytest.raises(SocketNotFound, match="no 'stats socket' line"):
        find_socket(config=str(cfg))
    with pytest.raises(SocketNotFound, match="cannot read"):
        find_socket(config=str(tmp_path / "missing.cfg"))


def test_explicit_socket_wins() -> None:
    assert find_socket(socket="127.0.0.1:1", config="/nonexistent") == "127.0.0.1:1"


def test_default_search_lists_what_was_tried(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(SocketNotFound) as ei:
        find_socket(candidates=[str(tmp_path / "nope.sock"), str(plain), str(tmp_path / "g-*" / "stats")])
    msg = str(ei.value)
    assert f"{tmp_path / 'nope.sock'} (missing)" in msg
    assert f"{plain} (not a socket)" in msg
    assert "(nothing matches)" in msg
    assert "-s PATH" in msg


def test_default_search_finds_glob(sockdir: Path) -> None:
    d = sockdir / "haproxy-py-1"
    d.mkdir()
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "stats"))
    try:
        got = find_socket(candidates=[str(sockdir / "nope"), str(sockdir / "haproxy-py-*" / "stats")])
        assert got == str(d / "stats")
    finally:
        s.close()


def test_default_candidates_mention_usual_places(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.locate import default_candidates

    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    c = default_candidates()
    assert c[0] == "/tmp/haproxy-py-demo.sock"
    assert "/run/haproxy/admin.sock" in c and "/var/lib/haproxy/stats" in c
    assert "/run/user/1000/haproxy-py/*.sock" in c
    assert "/tmp/haproxy-py-*/stats" in c


def test_formatting() -> None:
    assert fmt_bytes(999) == "999"
    assert fmt_bytes(3212) == "3.1K"
    assert fmt_bytes(5 * 1024 * 1024) == "5.0M"
    assert fmt_duration(-1) == ""
    assert fmt_duration(82) == "1m22s"
    assert fmt_duration(3 * 3600 + 5 * 60) == "3h05m"
    assert fmt_duration(2 * 86400 + 3600) == "2d01h"


def test_sparkline() -> None:
    assert sparkline([], 4) == "    "
    assert sparkline([0, 0], 4) == "  ▁▁"
    line = sparkline([0, 1, 2, 4, 8], 5)
    assert line[0] == "▁" and line[-1] == "█" and len(line) == 5
    assert sparkline(range(100), 12) == sparkline(range(88, 100), 12)
    assert len(sparkline([1, 2, 3])) == 10


def test_status_colours_are_basic_ansi() -> None:
    basic = {"", "green", "red", "yellow", "blue", "magenta", "cyan", "white", "bold", "dim"}
    for st in (
        "UP",
        "UP 1/3",
        "DOWN",
        "DOWN 1/2",
        "NOLB",
        "DRAIN",
        "MAINT",
        "MAINT (via app/s1)",
        "no check",
        "OPEN",
        "PAUSED",
        "STOP",
        "FULL",
    ):
        words = set(status_style(st).split())
        assert words and words <= basic, st
    assert "green" in status_style("UP") and "red" in status_style("DOWN")
    assert status_style("UP 1/3") != status_style("UP")


def test_cells_from_capture() -> None:
    proxies, servers = split_rows(parse_stat_csv(SHOW_STAT))
    assert [r["svname"] for r in proxies] == [
        "FRONTEND",
        "BACKEND",
        "BACKEND",
        "FRONTEND",
        "BACKEND",
        "FRONTEND",
        "BACKEND",
    ]
    assert len(servers) == 8
    key, cells = server_cells(servers[1])
    assert key == "app/s2"
    texts = [c.plain for c in cells]
    assert texts[:5] == ["app", "s2", "UP", "2/?", "act"]  # configured weight: show servers state
    assert texts[9] == "11" and texts[11] == "L7OK 2ms"
    key, cells = server_cells(servers[3])
    assert key == "app/bk1" and cells[4].plain == "bck"
    t2 = server_cells(servers[7])[1]
    assert t2[2].plain == "DOWN" and t2[11].plain == "L4CON 0ms" and t2[12].plain == "1m22s"
    hist = History()
    for _ in range(3):
        key, cells = proxy_cells(proxies[1], hist)
    assert key == "app/BACKEND"
    assert cells[0].plain == "app" and cells[1].plain == "BE" and cells[2].plain == "UP"
    assert cells[5].plain == "100" and cells[11].plain == "2.8K" and cells[14].plain == "3/1"
    assert cells[7].plain.strip() == "▁▁▁"
    assert len(hist.rate["app/BACKEND"]) == 3
    # sparklines of 5xx (new responses per refresh) and of the response time
    assert len(hist.e5xx["app/BACKEND"]) == 3 and list(hist.e5xx["app/BACKEND"]) == [0, 0, 0]
    hist.add_http("app/BACKEND", 5, 40)
    assert list(hist.e5xx["app/BACKEND"])[-1] == 4 and list(hist.rt["app/BACKEND"])[-1] == 40
    assert cells[15].plain.strip() == "▁▁▁" and cells[15].style == "red"  # no 5xx
    assert cells[16].plain.strip() == "███"  # a steady 1 ms fills its own scale


def test_partial_cell_update_rebuilds_only_changed_columns() -> None:
    from tui.model import server_cells_update

    rows = split_rows(parse_stat_csv(SHOW_STAT))[1]
    old = rows[0]
    _, cells = server_cells(old)
    assert server_cells_update(dict(old), old, cells) is cells
    new = dict(old, lastchg="84", status="DRAIN")
    got = server_cells_update(new, old, cells)
    assert got is not cells
    assert [c.plain for c in got] == [c.plain for c in server_cells(new)[1]]
    assert [i for i, (a, b) in enumerate(zip(cells, got, strict=True)) if a is not b] == [2, 13]


def test_weight_column_shows_effective_and_configured() -> None:
    # after 'set weight app/s1 0': 2.6's CSV says weight 0 and uweight 0; configured is 4
    row = {"pxname": "app", "svname": "s1", "weight": "0", "uweight": "0", "iweight": "4", "status": "UP"}
    assert server_cells(row)[1][3].plain == "0/4"
    # configured weight not known yet (no show servers state read): not the user weight
    assert server_cells(dict(row, iweight=""))[1][3].plain == "0/?"


def test_filter_and_info() -> None:
    row = {"pxname": "app", "svname": "s2", "addr": "127.0.0.1:23002", "status": "UP"}
    assert row_matches(row, "app/s2") and row_matches(row, "S2") and row_matches(row, "23002")
    assert not row_matches(row, "static")
    assert row_matches(row, "")
    line = info_summary(
        {"Name": "HAProxy", "Version": "2.6.12", "Uptime": "0d 0h01m23s", "CurrConns": "3", "Maxconn": "1000"}
    )
    assert "HAProxy 2.6.12" in line and "up 0d 0h01m23s" in line and "conns 3/1000" in line
