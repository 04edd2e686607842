"""Fixtures of the TUI tests: a fake stats socket with a short path."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tui_fakesock import FakeStatsServer  # noqa: E402


@pytest.fixture
def sockdir() -> Iterator[Path]:
    """A short temporary directory (unix socket paths are limited to 107 bytes)."""
    d = tempfile.mkdtemp(prefix="tui-", dir="/tmp")
    try:
        yield Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def fake(sockdir: Path) -> Iterator[FakeStatsServer]:
    srv = FakeStatsServer(sockdir / "stats.sock").start()
    try:
        yield srv
    finally:
        srv.stop()
