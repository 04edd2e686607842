"""Generated ``timeout`` lines, both programs: every timeout name (and junk names, the removed
``clitimeout``/``contimeout``/``srvtimeout``), values with and without units, bad units, overflows
(24.8 days), missing and extra arguments, in defaults, frontend, backend and listen sections, in
HTTP and TCP mode, with some of the base timeouts (and the servers) left out for 2.6's "missing
timeouts" warning. 30 cases per configuration (tests/differential/cfgdiff.py's compare_batched);
the generator is tests/differential/cfgfuzz.py's (``python -m tests.differential.cfgfuzz timeout``).
Some proxies set a timeout before the generated line. The classes of difference found: 2.6 wants
'timeout connect'/'server' only of a backend with servers, takes 'timeout tunnel' for 'timeout
server' in TCP mode, and warns when a proxy sets a timeout it already set to another value than its
defaults' ("overwriting 'timeout X' which was already specified").
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.differential.cfgdiff import capsys_runner, compare_batched
from tests.differential.cfgfuzz import timeout_case

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))


def test_generator_is_seeded_and_varied() -> None:
    a = [timeout_case(random.Random(SEED), n).lines for n in range(50)]
    assert a == [timeout_case(random.Random(SEED), n).lines for n in range(50)]
    r = random.Random(SEED)
    labels = {timeout_case(r, n).label for n in range(200)}
    assert len(labels) > 150 and any("defaults" in x for x in labels) and any("tcp" in x for x in labels)


@pytest.mark.needs_haproxy
def test_timeout_lines_like_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 29)
    o = compare_batched(haproxy_bin, tmp_path, capsys_runner(capsys), [], [timeout_case(r, n) for n in range(360)])
    assert not o.diffs, o.report()
    assert o.alerts > 150 and o.warnings > 50 and o.valid > 100  # errors, warnings and valid lines reached
