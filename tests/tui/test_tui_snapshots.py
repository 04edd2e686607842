"""Snapshots of the main screens (pytest-textual-snapshot), fed by the fake stats socket.

Update after an intended change with: pytest tests/tui/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest

from tui.app import TopApp
from tui.client import StatsClient

SIZE = (120, 30)


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


def make_app(fake, **kw) -> TopApp:
    return TopApp(StatsClient(fake.path, timeout=2), interval=0, label="fake.sock", ansi=False, **kw)


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def pressing(*keys: str):  # type: ignore[no-untyped-def]
    """A ``run_before`` that settles, presses ``keys`` and settles again."""

    async def before(pilot) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)

    return before


def test_main_screen(snap_compare, fake) -> None:
    assert snap_compare(make_app(fake), terminal_size=SIZE, run_before=settle)


def test_help_overlay(snap_compare, fake) -> None:
    assert snap_compare(make_app(fake), terminal_size=SIZE, run_before=pressing("question_mark"))


def test_drain_confirmation(snap_compare, fake) -> None:
    assert snap_compare(make_app(fake), terminal_size=SIZE, run_before=pressing("j", "d"))


def test_action_menu_read_only(snap_compare, fake) -> None:
    assert snap_compare(make_app(fake, read_only=True), terminal_size=SIZE, run_before=pressing("enter"))


def test_disconnected_with_filter(snap_compare, fake) -> None:
    async def before(pilot) -> None:
        await settle(pilot)
        await pilot.press("slash", "a", "p", "p", "enter")
        await settle(pilot)
        fake.stop()
        await pilot.press("space")
        await settle(pilot)

    assert snap_compare(make_app(fake), terminal_size=SIZE, run_before=before)


# ---- the smallest usual terminal and a wide one (issue #21) -------------------------------


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_main_screen_sizes(snap_compare, fake, size) -> None:
    assert snap_compare(make_app(fake), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
@pytest.mark.parametrize("view", ["2", "3", "4", "5"], ids=["traffic", "http", "errors", "timings"])
def test_views(snap_compare, fake, size, view) -> None:
    assert snap_compare(make_app(fake), terminal_size=size, run_before=pressing(view))


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_detail_pane(snap_compare, fake, size) -> None:
    assert snap_compare(make_app(fake), terminal_size=size, run_before=pressing("j", "i"))
