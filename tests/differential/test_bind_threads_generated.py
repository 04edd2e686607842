"""Generated ``thread`` sets on bind lines, both programs: one to three ``thread`` words a line (with
and without the thread group, sets of all/odd/even/N/N-M/N-, some past the threads that exist),
under ``nbthread`` 1, 2, 4 and unset (2.6 then runs a thread per CPU it may use). The classes of
difference found: 2.6's check after parsing of a set naming no existing thread ("'thread' directive
contains threads that belong to no group" / "only references threads not belonging to the group"),
and its refusal of words with and without a group on one line ("multiple thread-groups are not
supported"). 30 cases per configuration (cfgdiff.compare_batched).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.differential.cfgdiff import Case, capsys_runner, compare_batched

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))

SETS = ("1", "2", "3", "4", "5", "1-2", "2-3", "3-5", "4-", "all", "odd", "even", "9", "1-64", "64", "5-9")


def thread_case(r: random.Random, n: int) -> Case:
    words = []
    grouped = r.random() < 0.4
    for _ in range(r.choice((1, 1, 2, 3))):
        g = grouped if r.random() < 0.85 else not grouped
        words.append(f"thread {'1/' if g else ''}{r.choice(SETS)}")
    line = f"bind 127.0.0.1:{20000 + n} " + " ".join(words)
    lines = ["defaults", "    mode http", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s",
             f"frontend p{n}", "    " + line]
    return Case(line, lines, f"p{n}")


def test_generator_is_seeded_and_varied() -> None:
    a = [thread_case(random.Random(SEED + i), i).label for i in range(100)]
    assert a == [thread_case(random.Random(SEED + i), i).label for i in range(100)]
    assert len(set(a)) > 90 and any("1/" in x for x in a) and any(x.count("thread") > 1 for x in a)


@pytest.mark.needs_haproxy
@pytest.mark.parametrize("nbthread", [1, 2, 4, None])
def test_bind_thread_sets_like_haproxy(nbthread: int | None, haproxy_bin: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 43 + (nbthread or 0))
    head = ["global", f"    nbthread {nbthread}"] if nbthread else []
    o = compare_batched(haproxy_bin, tmp_path, capsys_runner(capsys), head, [thread_case(r, n) for n in range(120)])
    assert not o.diffs, o.report()
    assert o.alerts > 10 and o.valid > 30
