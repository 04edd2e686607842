"""tests/conftest.py marks every test with its directory's name (``-m unit`` selects tests/unit)."""

from __future__ import annotations

import pytest

from tests.conftest import DIR_MARKERS


def test_a_unit_test_carries_the_unit_marker_only(request: pytest.FixtureRequest) -> None:
    marks = {name for name in DIR_MARKERS if request.node.get_closest_marker(name) is not None}
    assert marks == {"unit"}


def test_directory_markers_are_registered(pytestconfig: pytest.Config) -> None:
    registered = {line.split(":", 1)[0] for line in pytestconfig.getini("markers")}
    assert set(DIR_MARKERS) <= registered
