"""Generated ``tune.*`` lines in the global section, both programs: the tune keywords of 2.6 with
numbers in and out of their ranges, past 2^31 and 2^32, negative, with units and junk, on/off,
missing and extra arguments, some set twice in a case, and a few unknown tune names; no keyword in
two of the 30 cases of a configuration (cfgdiff.compare_batched; the generator is tests/differential/cfgfuzz.py's). The
classes of difference found: the keywords without effect here went unchecked (2.6 checks each its
own way: integers, ranges read as atoi, on/off, timers, Lua's numbers, the experimental
'tune.fd.edge-triggered'), 'tune.ssl.*' with an extra argument, atoi kept in an int (2^31 is
negative) and 'tune.ssl.default-dh-param' read into an unsigned int; a second tune.maxaccept,
maxpollevents, runqueue-depth, rcvbuf.*, sndbuf.* ignored with a non-fatal alert ("already specified.
Continuing.") unless the first was 0, a second capture size refused ("is already configured.").
Left out: cfgfuzz.TUNE_LEFT.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.differential.cfgdiff import capsys_runner, compare_batched
from tests.differential.cfgfuzz import TUNE_HEAD, tune_cases

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))


def test_generator_is_seeded_and_varied() -> None:
    a = [c.label for c in tune_cases(random.Random(SEED), 300)]
    assert a == [c.label for c in tune_cases(random.Random(SEED), 300)]
    assert len(set(a)) > 200
    for k in range(0, 300, 30):  # no keyword twice in a configuration
        kws = [x.split()[1] for x in a[k:k + 30]
               if x.split()[1] not in ("tune.bogus", "tune.bufsizes", "tune.http.maxhdrs")]
        assert len(set(kws)) == len(kws)
    assert any("tune.bogus" in x for x in a)


@pytest.mark.needs_haproxy
def test_tune_lines_like_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 41)
    o = compare_batched(haproxy_bin, tmp_path, capsys_runner(capsys), TUNE_HEAD, tune_cases(r, 480))
    assert not o.diffs, o.report()
    assert o.alerts > 100 and o.valid > 150
