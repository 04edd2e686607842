"""The test suite reads only files inside the repository: a plain clone runs it."""

from __future__ import annotations

import re

from tests.conftest import REFERENCE, ROOT, SAMPLES

#: spellings that would reach the project's shared directory next to the repository
OUTSIDE = re.compile(r"""ROOT\.parent\b|parents\[[3-9]\]|["']\.\./|/\s*["']shared["']|/work/shared""")


def test_reference_captures_are_in_the_repository() -> None:
    assert REFERENCE.is_relative_to(ROOT / "tests" / "fixtures")
    assert SAMPLES.is_dir()
    assert (REFERENCE / "README.md").is_file()
    # the captures the suite depends on most are there
    for name in ("show_stat.csv", "show_info.txt", "help.txt", "config_check", "balance", "error_pages"):
        assert (SAMPLES / name).exists(), name


def test_no_test_or_bench_file_reaches_outside_the_repository() -> None:
    offenders = []
    for py in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        if py.name == "test_fixtures_local.py":
            continue
        for n, line in enumerate(py.read_text().splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{py.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
