"""Shared test helpers."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: HAProxy 2.6.12 captures the tests compare against, copied into the repository (see its README.md)
REFERENCE = ROOT / "tests" / "fixtures" / "reference"
SAMPLES = REFERENCE / "samples"
HAPROXY_BIN = shutil.which("haproxy") or "/usr/sbin/haproxy"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_haproxy_bin() -> str:
    """Debian's haproxy 2.6 binary, or the test fails (never skips); for module-scoped fixtures."""
    if not os.path.exists(HAPROXY_BIN):
        pytest.fail(f"haproxy binary not found at {HAPROXY_BIN}: install Debian's haproxy (see .ci/run)")
    return HAPROXY_BIN


@pytest.fixture
def haproxy_bin() -> str:
    """Debian's haproxy 2.6 binary; the differential tests need it (``.ci/run`` installs it)."""
    return require_haproxy_bin()


#: tests/<dir>/ -> the marker every test under it carries (registered in pyproject.toml)
DIR_MARKERS = ("unit", "integration", "differential", "clients", "tui")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its directory's name, so ``-m unit`` (or ``-m "not tui"``) selects by it."""
    tests_dir = ROOT / "tests"
    for item in items:
        try:
            rel = item.path.resolve().relative_to(tests_dir)
        except ValueError:
            continue
        if len(rel.parts) > 1 and rel.parts[0] in DIR_MARKERS:
            item.add_marker(getattr(pytest.mark, rel.parts[0]))
