"""Generated ``userlist`` sections, both programs: users and groups with random members, passwords
and options, broken headers and lines (missing names, characters 2.6 refuses, unknown keywords,
duplicates, lines before any list), and frontends whose named and anonymous ``http_auth_group``
ACLs name groups that may not exist, with and without '-m' or converters. 30 cases per
configuration (cfgdiff.compare_batched); the generator is tests/differential/cfgfuzz.py's. The
classes of difference it found: 2.6's order of the post-parse checks (the userlists' first, and
only the first unknown name, met from the last list), anonymous ACLs checked with the named ones in
the order they were made, every unknown group of an ACL reported, the 'no pattern' warning only
when nothing at all follows the fetch.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.differential.cfgdiff import capsys_runner, compare_batched
from tests.differential.cfgfuzz import userlist_case

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))


def test_generator_is_seeded_and_varied() -> None:
    r1, r2 = random.Random(SEED), random.Random(SEED)
    a = [userlist_case(r1, n).lines for n in range(300)]
    assert a == [userlist_case(r2, n).lines for n in range(300)]
    text = ["\n".join(x) for x in a]
    assert len(set(text)) > 250
    for want in ("http_auth_group", "{ http_auth_group", "insecure-password", " groups ", " users ", "userlist\n"):
        assert any(want in t for t in text), want


@pytest.mark.needs_haproxy
def test_userlist_sections_like_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 41)
    o = compare_batched(haproxy_bin, tmp_path, capsys_runner(capsys), [], [userlist_case(r, n) for n in range(360)])
    assert not o.diffs, o.report()
    assert o.alerts > 100 and o.warnings > 100
