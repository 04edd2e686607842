"""The monitor driven by Pilot against a fake stats socket replaying real captures.

Every action test asserts the exact command bytes the fake socket received.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from textual.widgets import DataTable, Input
from tui_fakesock import SHOW_STAT, FakeStatsServer

from tui.app import KEYS, TopApp
from tui.client import StatsClient
from tui.screens import ActionMenu, ConfirmScreen, HelpPanel
from tui.table import VirtualTable

Scenario = Callable[[TopApp, object], Awaitable[None]]


async def settle(app: TopApp, pilot) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def run_app(fake: FakeStatsServer, scenario: Scenario, read_only: bool = False, size=(120, 30)) -> TopApp:
    async def go() -> TopApp:
        app = TopApp(StatsClient(fake.path, timeout=2), interval=0, read_only=read_only, label="fake.sock")
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            await scenario(app, pilot)
            await settle(app, pilot)
        return app

    return asyncio.run(go())


async def press(app: TopApp, pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(app, pilot)


def set_field(csv_text: str, px: str, sv: str, column: str, value: str) -> str:
    """Change one field of a show stat dump, found by column name."""
    lines = csv_text.splitlines()
    idx = lines[0][2:].split(",").index(column)
    for i, ln in enumerate(lines[1:], 1):
        f = ln.split(",")
        if f[:2] == [px, sv]:
            f[idx] = value
            lines[i] = ",".join(f)
    return "\n".join(lines) + "\n"


def server_keys(app: TopApp) -> list[str]:
    return list(app.query_one("#servers", VirtualTable).keys)


def test_first_refresh_fills_both_tables(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        assert app.connected and app.level == "admin"
        assert server_keys(app) == [
            "app/s1",
            "app/s2",
            "app/s3",
            "app/bk1",
            "static/st1",
            "static/st2",
            "tcpsvc/t1",
            "tcpsvc/t2",
        ]
        proxies = app.query_one("#proxies", DataTable)
        assert proxies.row_count == 7
        assert app.selected_server() == ("app", "s1")
        info = str(app.query_one("#info").render())
        assert "2.6.12-1+deb12u4" in info and "0d 0h01m23s" in info

    run_app(fake, sc)
    # the level once, one show stat and one show info per refresh, and the configured weights
    # (show servers state) once, since the set of servers did not change
    assert sorted(fake.received) == sorted(
        [b"show cli level\n", b"show stat\n", b"show info\n", b"show servers state\n"]
    )


def test_drain_asks_and_sends_on_yes(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "d")
        assert isinstance(app.screen, ConfirmScreen)
        assert "app/s1" in app.screen.question
        assert fake.commands() == []
        await press(app, pilot, "y")

    run_app(fake, sc)
    assert fake.commands() == ["set server app/s1 state drain\n"]


def test_drain_and_maint_default_to_no(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        for keys in (
            ("d", "enter"),
            ("d", "n"),
            ("d", "escape"),
            ("m", "enter"),
            ("m", "x", "escape"),
            ("f10", "enter"),
        ):
            await press(app, pilot, *keys)
            assert not isinstance(app.screen, ConfirmScreen)

    run_app(fake, sc)
    assert fake.commands() == []


def test_maint_and_ready_with_j_k(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "j", "j", "k")
        assert app.selected_server() == ("app", "s2")
        await press(app, pilot, "m", "y")
        await press(app, pilot, "down")
        await press(app, pilot, "r")
        await press(app, pilot, "f9")
        await press(app, pilot, "up", "f10", "y")

    run_app(fake, sc)
    assert fake.commands() == [
        "set server app/s2 state maint\n",
        "set server app/s3 state ready\n",
        "set server app/s3 state ready\n",
        "set server app/s2 state maint\n",
    ]


def test_f1_f2_act_on_the_server_name_in_every_backend(fake: FakeStatsServer) -> None:
    # hatop's F1/F2: the same server name in every backend (static/st1 renamed to s1 here)
    fake.stat = set_field(SHOW_STAT, "static", "st1", "svname", "s1")

    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "f2")
        assert isinstance(app.screen, ConfirmScreen) and "2 backend(s)" in app.screen.question
        await press(app, pilot, "n")
        assert fake.commands() == []
        await press(app, pilot, "f2", "y")
        await press(app, pilot, "f1")

    run_app(fake, sc)
    assert fake.commands() == [
        "set server app/s1 state maint\n",
        "set server static/s1 state maint\n",
        "set server app/s1 state ready\n",
        "set server static/s1 state ready\n",
    ]


def test_weight_keys(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "j", "j")  # app/s3: weight 3, uweight 3
        for k in ("plus", "minus", "0", "f8", "f7", "f6", "f5", "f4"):
            await press(app, pilot, k)

    run_app(fake, sc)
    assert fake.commands() == [
        "set weight app/s3 13\n",
        "set weight app/s3 0\n",
        "set weight app/s3 100%\n",
        "set weight app/s3 13\n",
        "set weight app/s3 4\n",
        "set weight app/s3 2\n",
        "set weight app/s3 0\n",
        "set weight app/s3 100%\n",
    ]


def test_weight_steps_use_configured_weight_and_clamp(fake: FakeStatsServer) -> None:
    # app/s1: effective weight 1, user weight 250
    fake.stat = set_field(SHOW_STAT, "app", "s1", "uweight", "250")

    async def sc(app: TopApp, pilot) -> None:
        assert app.servers["app/s1"]["uweight"] == "250"
        await press(app, pilot, "plus")
        await press(app, pilot, "minus")

    run_app(fake, sc)
    assert fake.commands() == ["set weight app/s1 256\n", "set weight app/s1 240\n"]


def test_weight_prompt(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "w")
        assert isinstance(app.focused, Input)
        await press(app, pilot, *"7", "enter")
        await press(app, pilot, "w", *"50%", "enter")
        await press(app, pilot, "w", *"abc", "enter")
        await press(app, pilot, "w", *"9", "escape")
        assert not app.query_one("#prompt").has_class("-active")

    run_app(fake, sc)
    assert fake.commands() == ["set weight app/s1 7\n", "set weight app/s1 50%\n"]


def log_text(app: TopApp) -> str:
    from textual.widgets import RichLog

    log = app.query_one("#log", RichLog)
    return "\n".join(line.text for line in log.lines)


def test_error_reply_is_shown(fake: FakeStatsServer) -> None:
    fake.handlers["set weight"] = lambda line: "Absolute weight can only be between 0 and 256 inclusive.\n\n"

    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "w", *"300", "enter")
        assert app.last_error.startswith("Absolute weight can only be between 0 and 256")
        text = log_text(app)
        assert "> set weight app/s1 300" in text and "Absolute weight can only" in text

    run_app(fake, sc)
    assert fake.commands() == ["set weight app/s1 300\n"]


def test_enter_opens_action_menu(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "enter")
        assert isinstance(app.screen, ActionMenu) and app.screen.target == "app/s1"
        await press(app, pilot, "down", "enter")  # drain
        assert isinstance(app.screen, ConfirmScreen)
        await press(app, pilot, "y")
        await press(app, pilot, "enter", "end", "up", "enter", "y")  # shutdown sessions
        await press(app, pilot, "enter", "end", "up", "up", "enter", "y")  # disable health
        await press(app, pilot, "enter", "end", "up", "up", "up", "enter")  # enable health
        await press(app, pilot, "enter", "escape")
        assert not isinstance(app.screen, ActionMenu)

    run_app(fake, sc)
    assert fake.commands() == [
        "set server app/s1 state drain\n",
        "shutdown sessions server app/s1\n",
        "disable health app/s1\n",
        "enable health app/s1\n",
    ]


def test_read_only_sends_no_action(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        for k in ("d", "m", "r", "w", "plus", "minus", "0", "f1", "f2", "f9", "f10"):
            await press(app, pilot, k)
            assert not isinstance(app.screen, ConfirmScreen)
            assert not app.query_one("#prompt").has_class("-active")
        await press(app, pilot, "enter")
        assert isinstance(app.screen, ActionMenu)
        await press(app, pilot, "enter")  # only "Cancel" is enabled
        assert not isinstance(app.screen, ActionMenu)
        await press(app, pilot, "colon", *"set server app/s1 state maint", "enter")
        await press(app, pilot, "colon", *"show servers state app", "enter")
        assert "READ-ONLY" in str(app.query_one("#status").render())
        assert "read-only: actions are disabled (--read-only was given)" in log_text(app)

    run_app(fake, sc, read_only=True)
    assert fake.commands() == ["show servers state app\n"]


def test_permission_denied_is_reported(fake: FakeStatsServer) -> None:
    fake.level = "operator"

    async def sc(app: TopApp, pilot) -> None:
        assert app.level == "operator"
        assert "actions need level admin" in str(app.query_one("#conn").render())
        await press(app, pilot, "r")
        assert "Permission denied" in app.last_error
        assert app.connected  # a refused action is not a lost connection

    run_app(fake, sc)
    assert fake.commands() == ["set server app/s1 state ready\n"]


def test_command_prompt_with_history(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "colon", *"show servers state app", "enter")
        assert "be_id be_name" in app.last_reply
        await press(app, pilot, "colon", *"get weight app/s1", "enter")
        assert app.last_reply.startswith("1 (initial 1)")
        await press(app, pilot, "colon", "up", "up")
        assert app.query_one("#prompt", Input).value == "show servers state app"
        await press(app, pilot, "down")
        assert app.query_one("#prompt", Input).value == "get weight app/s1"
        await press(app, pilot, "enter")

    run_app(fake, sc)
    assert fake.commands() == ["show servers state app\n", "get weight app/s1\n", "get weight app/s1\n"]


def test_filter_selects_first_match_and_escape_clears(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "j", "j", "j")
        await press(app, pilot, "slash", *"st", "enter")
        assert server_keys(app) == ["static/st1", "static/st2"]
        assert app.selected_server() == ("static", "st1")
        await press(app, pilot, "space")  # a refresh keeps the filter
        assert server_keys(app) == ["static/st1", "static/st2"]
        await press(app, pilot, "slash", "escape")
        assert app.filter == "" and len(server_keys(app)) == 8

    run_app(fake, sc)


def test_sort_column_and_direction(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "s", "s", "s", "s")  # Backend, Server, Status, Weight
        assert app.sort["servers"] == (3, False)
        keys = server_keys(app)
        assert keys[-1] == "app/s3" and keys[-2] == "app/s2"
        await press(app, pilot, "S")
        assert app.sort["servers"] == (3, True)
        assert server_keys(app)[:2] == ["app/s3", "app/s2"]
        assert "Weight eff/cfg desc" in str(app.query_one("#status").render())

    run_app(fake, sc)


def test_refresh_rebuilds_only_changed_cells_of_visible_rows(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        table = app.query_one("#servers", VirtualTable)
        await press(app, pilot, "j")
        before = {k: list(app._server_cells(k)) for k in table.keys}
        fake.stat = set_field(SHOW_STAT, "app", "s1", "status", "DRAIN")
        await press(app, pilot, "space")
        assert table.get_cell("app/s1", "status").plain == "DRAIN"
        after = app._server_cells("app/s1")
        # app/s1 was rebuilt; the other rows (same fields) kept their very cell objects
        assert after is not before["app/s1"] and after[2].plain == "DRAIN"
        assert all(
            all(a is b for a, b in zip(app._server_cells(k), before[k], strict=True))
            for k in table.keys
            if k != "app/s1"
        )
        assert app.selected_server() == ("app", "s2")
        # a server disappears: the rows follow, the selection follows its key
        fake.stat = "\n".join(ln for ln in SHOW_STAT.splitlines() if not ln.startswith("app,s1,")) + "\n"
        await press(app, pilot, "space")
        assert table.row_count == 7
        assert app.selected_server() == ("app", "s2")

    run_app(fake, sc)


def test_proxy_goes_away_and_comes_back(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        fake.stop()
        await press(app, pilot, "space")
        conn = str(app.query_one("#conn").render())
        assert not app.connected and "DISCONNECTED" in conn and "retrying" in conn and "attempt 1" in conn
        assert app.query_one("#servers", VirtualTable).row_count == 8  # last data kept on screen
        await press(app, pilot, "space")
        assert "attempt 2" in str(app.query_one("#conn").render())
        fake.start()
        await press(app, pilot, "space")
        assert app.connected and app.level == "admin"
        assert "level admin" in str(app.query_one("#conn").render())

    run_app(fake, sc)


def test_pause_stops_timer_refreshes(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        n = app.refreshes
        app._tick()
        await settle(app, pilot)
        assert app.refreshes == n + 1
        await press(app, pilot, "p")
        assert app.paused and "PAUSED" in str(app.query_one("#status").render())
        app._tick()
        await settle(app, pilot)
        assert app.refreshes == n + 1
        await press(app, pilot, "space")  # refresh now works while paused
        assert app.refreshes == n + 2
        await press(app, pilot, "p")
        assert not app.paused

    run_app(fake, sc)


def test_help_lists_every_key(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "question_mark")
        assert app.help_open and app.query_one(HelpPanel).display
        text = str(app.screen.query_one("#help-text").render())
        for shown, _keys, _action, desc in KEYS:
            if shown:
                assert shown in text and desc in text
        for word in ("d  F3", "m  F10", "r  F9", "w", "+ / -", "0  F4", "/", "s / S", ":", "p", "Space", "q"):
            assert word in text
        await press(app, pilot, "escape")
        assert not app.help_open and not app.query_one(HelpPanel).display

    run_app(fake, sc)


def test_help_is_built_once_and_modal(fake: FakeStatsServer) -> None:
    """The help panel is composed with the app ('?' only shows it: the same widget every time,
    nothing composed), and while it is shown no other key acts (d would ask to drain, q would
    quit, j would move the selection); '?', q, Enter and Esc close it and the focus goes back."""
    async def sc(app: TopApp, pilot) -> None:
        panel = app.query_one(HelpPanel)
        assert not panel.display
        before = len(list(app.query("*")))
        sel = app.query_one("#servers", VirtualTable).cursor_row
        for close in ("question_mark", "q", "enter", "escape"):
            await press(app, pilot, "question_mark")
            assert app.help_open and app.query_one(HelpPanel) is panel and panel.display
            assert len(list(app.query("*"))) == before  # nothing new was composed
            await press(app, pilot, "d", "j", "f12", "tab")
            assert not isinstance(app.screen, ConfirmScreen) and app.help_open
            assert app.query_one("#servers", VirtualTable).cursor_row == sel
            await press(app, pilot, close)
            assert not app.help_open and not panel.display
            assert app.focused is app.query_one("#servers", VirtualTable)
        assert fake.commands() == []  # nothing was sent: no drain, no action

    run_app(fake, sc)


def test_every_binding_is_in_help() -> None:
    bound = {k.strip() for _s, keys, _a, _d in KEYS for k in keys.split(",") if keys}
    assert {
        "d",
        "m",
        "r",
        "w",
        "plus",
        "minus",
        "0",
        "slash",
        "s",
        "S",
        "colon",
        "p",
        "space",
        "question_mark",
        "q",
        "j",
        "k",
        "f4",
        "f5",
        "f6",
        "f7",
        "f8",
        "f9",
        "f10",
    } <= bound


def test_proxies_enter_jumps_to_servers(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "shift+tab")
        assert app.focused is app.query_one("#proxies")
        await press(app, pilot, "j", "j", "enter")  # static BACKEND
        assert app.focused is app.query_one("#servers")
        assert app.selected_server() == ("static", "st1")

    run_app(fake, sc)


def test_quit(fake: FakeStatsServer) -> None:
    async def go() -> int | None:
        app = TopApp(StatsClient(fake.path), interval=0.2)
        async with app.run_test(size=(100, 24)) as pilot:
            await pilot.pause(0.5)
            assert app.refreshes >= 2  # the timer refreshes by itself
            await pilot.press("q")
            await pilot.pause()
        return app.return_code

    assert asyncio.run(go()) == 0


def _big_csv(backends: int, per: int) -> str:
    header = SHOW_STAT.splitlines()[0]
    s1 = SHOW_STAT.splitlines()[2].split(",")
    be = SHOW_STAT.splitlines()[6].split(",")
    out = [header]
    for b in range(backends):
        for s in range(per):
            row = list(s1)
            row[0], row[1], row[28] = f"be{b}", f"srv{s}", str(s + 1)
            out.append(",".join(row))
        row = list(be)
        row[0] = f"be{b}"
        out.append(",".join(row))
    return "\n".join(out) + "\n"


def test_ten_thousand_servers_draw_only_the_visible_rows(fake: FakeStatsServer) -> None:
    fake.stat = _big_csv(10, 1000)

    async def sc(app: TopApp, pilot) -> None:
        table = app.query_one("#servers", VirtualTable)
        assert table.row_count == 10_000
        # every server's rate changes: only the rows on screen get new cells
        fake.stat = fake.stat.replace(",2,0,,2,L7OK,", ",2,3,,2,L7OK,")
        t0 = time.perf_counter()
        await press(app, pilot, "space")
        elapsed = time.perf_counter() - t0
        assert len(app._srv_cache) < 60, len(app._srv_cache)
        assert table.get_cell("be9/srv999", "rate").plain == "3"
        assert elapsed < 2.0, elapsed
        # keys answer at once: End goes to the last row, the selection is that server
        await press(app, pilot, "end")
        assert app.selected_server() == ("be9", "srv999")

    run_app(fake, sc)


# ---- fixes found by use (issue #21) ------------------------------------------------------


def test_tab_cycles_between_the_two_tables_only(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        servers, proxies = app.query_one("#servers"), app.query_one("#proxies")
        assert app.focused is servers
        await press(app, pilot, "tab")
        assert app.focused is proxies
        await press(app, pilot, "tab")
        assert app.focused is servers
        await press(app, pilot, "tab", "tab", "enter")  # Enter still acts after Tabs
        assert isinstance(app.screen, ActionMenu) and app.screen.target == "app/s1"
        await press(app, pilot, "escape")
        await press(app, pilot, "shift+tab")
        assert app.focused is proxies

    run_app(fake, sc)


def test_weight_column_is_effective_over_configured(fake: FakeStatsServer) -> None:
    # after 'set weight app/s3 0' 2.6 reports weight 0 and uweight 0; configured stays 3
    stat = set_field(SHOW_STAT, "app", "s3", "weight", "0")
    fake.stat = set_field(stat, "app", "s3", "uweight", "0")

    async def sc(app: TopApp, pilot) -> None:
        table = app.query_one("#servers", VirtualTable)
        assert table.get_cell("app/s3", "weight").plain == "0/3"
        assert table.get_cell("app/s2", "weight").plain == "2/2"
        n = sum(1 for c in fake.received if c == b"show servers state\n")
        await press(app, pilot, "space")  # same servers: the state is not read again
        assert sum(1 for c in fake.received if c == b"show servers state\n") == n == 1

    run_app(fake, sc)


def test_filter_status_counts_the_shown_servers(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        assert "8 servers" in str(app.query_one("#status").render())
        await press(app, pilot, "slash", *"st", "enter")
        status = str(app.query_one("#status").render())
        assert "2 of 8 servers" in status and "filter: st" in status

    run_app(fake, sc)


def test_level_user_says_why_actions_are_disabled(fake: FakeStatsServer) -> None:
    fake.level = "user"

    async def sc(app: TopApp, pilot) -> None:
        assert app.read_only
        await press(app, pilot, "r")
        text = log_text(app)
        assert "level 'user'" in text and "--read-only" not in text
        await press(app, pilot, "question_mark")
        help_text = str(app.screen.query_one("#help-text").render())
        assert "level 'user'" in help_text and "--read-only" not in help_text

    run_app(fake, sc)
    assert fake.commands() == []


# ---- views, check column, detail pane (issue #21, part 2) --------------------------------


def column_keys(app: TopApp) -> list[str]:
    return [c.key for c in app.query_one("#servers", VirtualTable).columns]


def test_views_switch_with_one_key(fake: FakeStatsServer) -> None:
    from tui.model import VIEWS

    async def sc(app: TopApp, pilot) -> None:
        table = app.query_one("#servers", VirtualTable)
        assert column_keys(app) == [c.key for c in VIEWS["status"]]
        for key, view, col in (
            ("2", "traffic", "stot"),
            ("3", "http", "hrsp_5xx"),
            ("4", "errors", "econ"),
            ("5", "timings", "rtime"),
        ):
            await press(app, pilot, key)
            assert app.view == view and col in column_keys(app)
            assert f"[{key}] {view}" in str(app.query_one("#status").render())
            # the views other than status list the proxies' rows with their servers
            assert table.keys[:3] == ["web/FRONTEND", "app/s1", "app/s2"]
            assert "app/BACKEND" in table.keys and "tcpsvc/FRONTEND" in table.keys
        await press(app, pilot, "3")
        assert table.get_cell("app/s2", "hrsp_5xx").plain == "1"
        assert table.get_cell("app/BACKEND", "hrsp_2xx").plain == "30"
        await press(app, pilot, "2")
        assert table.get_cell("app/s1", "stot").plain == "5"
        assert table.get_cell("app/s1", "bin").plain == "424"
        await press(app, pilot, "5")
        assert table.get_cell("app/s1", "rtime").plain == "1ms"
        await press(app, pilot, "1")
        assert app.view == "status" and "web/FRONTEND" not in table.keys and table.row_count == 8

    run_app(fake, sc)


def test_http_rates_between_two_refreshes(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "3")
        table = app.query_one("#servers", VirtualTable)
        assert table.get_cell("app/s2", "r5xx").plain == "0"
        fake.stat = set_field(SHOW_STAT, "app", "s2", "hrsp_5xx", "41")
        await press(app, pilot, "space")
        cell = table.get_cell("app/s2", "r5xx")
        assert cell.sk > 0 and cell.plain != "0" and "red" in str(cell.style)
        assert table.get_cell("app/s1", "r5xx").plain == "0"

    run_app(fake, sc)


def test_check_column_shows_code_and_reason(fake: FakeStatsServer) -> None:
    stat = set_field(SHOW_STAT, "app", "s1", "check_status", "L7STS")
    stat = set_field(stat, "app", "s1", "check_code", "404")
    fake.stat = set_field(stat, "app", "s1", "check_desc", "HTTP status check returned code <3C>404<3E>")

    async def sc(app: TopApp, pilot) -> None:
        table = app.query_one("#servers", VirtualTable)
        assert table.get_cell("app/s1", "check").plain == "L7STS/404 4ms"
        assert table.get_cell("app/s2", "check").plain == "L7OK/200 2ms"
        assert table.get_cell("static/st1", "check").plain == "-"
        assert "returned code <3C>404<3E>" in table.get_cell("app/s1", "check_desc").plain
        await press(app, pilot, "i")
        assert "HTTP status check returned code <3C>404<3E>" in str(app.query_one("#detail").render())

    run_app(fake, sc)


def test_detail_pane_for_server_and_backend(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        pane = app.query_one("#detail")
        assert not pane.has_class("-open")
        await press(app, pilot, "i")
        assert pane.has_class("-open")
        text = str(pane.render())
        assert "app/s1" in text and "127.0.0.1:23001" in text
        assert "user 1  effective 1  configured 1" in text
        assert "Layer7 check passed" in text and "L7OK/200" in text
        assert "total 5" in text and "last 9s ago" in text
        await press(app, pilot, "j")  # the pane follows the selection
        assert "app/s2" in str(pane.render()) and "user 2  effective 2  configured 2" in str(pane.render())
        await press(app, pilot, "space")
        assert "5xx/s" in str(pane.render()) and "resp time" in str(pane.render())
        await press(app, pilot, "shift+tab", "j")  # proxies table: app BACKEND
        text = str(pane.render())
        assert "app/BACKEND" in text and "balance roundrobin" in text and "active 3, backup 1" in text
        await press(app, pilot, "i")
        assert not pane.has_class("-open")

    run_app(fake, sc)


def test_proxy_rows_take_no_server_action(fake: FakeStatsServer) -> None:
    async def sc(app: TopApp, pilot) -> None:
        await press(app, pilot, "2")
        assert app.selected_server() == ("app", "s1")  # the selection follows its server
        await press(app, pilot, "k")
        assert app.selected_server() == ("web", "FRONTEND")
        await press(app, pilot, "r")
        await press(app, pilot, "j", "r")
        assert "web/FRONTEND is a proxy row" in log_text(app)

    run_app(fake, sc)
    assert fake.commands() == ["set server app/s1 state ready\n"]


def test_narrow_terminal_drops_low_priority_columns(fake: FakeStatsServer) -> None:
    from tui.model import VIEWS

    async def sc(app: TopApp, pilot) -> None:
        table = app.query_one("#servers", VirtualTable)
        shown = [VIEWS["status"][i].key for i in table.shown_columns()]
        for key in ("backend", "server", "status", "weight", "check", "scur"):
            assert key in shown
        assert "check_desc" not in shown and "qmax" not in shown
        assert table._total_width() <= 80

    run_app(fake, sc, size=(80, 24))


def test_auto_interval_follows_the_cost_of_a_refresh(fake: FakeStatsServer) -> None:
    async def go() -> None:
        app = TopApp(StatsClient(fake.path, timeout=2), interval=None, label="fake.sock")
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(app, pilot)
            assert app.auto_interval and app.interval == 1.0
            assert "every 1s (auto)" in str(app.query_one("#status").render())
            app.refreshes = 10
            for _ in range(10):  # a refresh that costs 0.5 s of CPU: 15% of a core needs >= 3.3 s
                app._adapt_interval(0.5)
            assert app.interval == 5.0
            assert "every 5s (auto)" in str(app.query_one("#status").render())
            assert "refreshing every 5s" in log_text(app)
            for _ in range(20):  # cheap again: back to 1 s
                app._adapt_interval(0.02)
            assert app.interval == 1.0
            for _ in range(20):  # cheap for top, but the proxy takes 2.4 s to answer (x1.5: 5 s)
                app._adapt_interval(0.02, 2.4)
            assert app.interval == 5.0

    asyncio.run(go())

    async def fixed() -> None:
        app = TopApp(StatsClient(fake.path, timeout=2), interval=0.5, label="fake.sock")
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(app, pilot)
            app.refreshes = 10
            for _ in range(10):
                app._adapt_interval(0.5)
            assert app.interval == 0.5 and "(auto)" not in str(app.query_one("#status").render())

    asyncio.run(fixed())
