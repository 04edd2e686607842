"""Generated ``option`` and ``no option`` lines, both programs: every option name (and the removed
ones, junk and misspelt names), with and without their arguments (forwardfor, originalto, httpchk,
httplog, the check types, redispatch, http-restrict-req-hdr-names), junk after the on/off ones, in
defaults, frontend, backend and listen sections, in HTTP and TCP mode. 30 cases per configuration
(cfgdiff.compare_batched); the generator is tests/differential/cfgfuzz.py's. The classes of
difference found: 2.6's order of checks (argument count before capability for the on/off options;
the check types warned about and still read; no capability check for httplog/tcplog/external-check),
'no' refused for every option but the on/off ones, the connection modes and redispatch, the unknown
option's inline suggestion, 2.6's words for the check types' arguments, 'except' networks checked,
the HTTP-only options and rules warned about in 2.6's order, a listen named 'proxy'.
Left out: 'option httpslog' in a backend (2.6.12 aborts: free() of its built-in format).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.differential.cfgdiff import capsys_runner, compare_batched
from tests.differential.cfgfuzz import option_case

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))


def test_generator_is_seeded_and_varied() -> None:
    r1, r2 = random.Random(SEED), random.Random(SEED)
    a = [option_case(r1, n).label for n in range(300)]
    assert a == [option_case(r2, n).label for n in range(300)]
    assert len(set(a)) > 200 and any(": no option" in x for x in a) and any(": default option" in x for x in a) and any("forwardfor" in x for x in a)


@pytest.mark.needs_haproxy
def test_option_lines_like_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 37)
    o = compare_batched(haproxy_bin, tmp_path, capsys_runner(capsys), [], [option_case(r, n) for n in range(540)])
    assert not o.diffs, o.report()
    assert o.alerts > 120 and o.warnings > 60 and o.valid > 200
