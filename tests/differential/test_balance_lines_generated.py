"""Generated ``balance`` lines, both programs: every algorithm with good and bad arguments (uri
len/depth/whole/path-only, url_param NAME check_post, hdr(NAME) use_domain_only, rdp-cookie(NAME),
random(N), hash EXPR, junk after each), hash-type and hash-balance-factor lines, in defaults, frontend, backend and listen sections, HTTP and
TCP mode. 30 cases per configuration (cfgdiff.compare_batched); the generator is
tests/differential/cfgfuzz.py's. The classes of difference found: 2.6's words ("balance uri : ...",
"balance url_param only accepts 'check_post' ...", random's three messages, "rdp-cookie : missing
cookie name."), its prefix matching of 'random' and 'rdp-cookie', atoi for len/depth (0 refused,
'5x' taken), the words it ignores (after check_post, after hdr(NAME)'s ')', after the simple
algorithms) and the one it refuses after 'hash EXPR'; the HTTP hashes falling back to round robin
with a warning in TCP mode; 2.6's message for a hash expression whose fetch needs what the
backend does not have; 'hash-type' refusing 'none' (a 2.7 function) and naming 'avalanche' alone.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.differential.cfgdiff import capsys_runner, compare_batched
from tests.differential.cfgfuzz import balance_case

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))


def test_generator_is_seeded_and_varied() -> None:
    r1, r2 = random.Random(SEED), random.Random(SEED)
    a = [balance_case(r1, n).label for n in range(200)]
    assert a == [balance_case(r2, n).label for n in range(200)]
    assert len(set(a)) > 120 and any("uri" in x for x in a) and any("random(" in x for x in a)


@pytest.mark.needs_haproxy
def test_balance_lines_like_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 31)
    o = compare_batched(haproxy_bin, tmp_path, capsys_runner(capsys), [], [balance_case(r, n) for n in range(420)])
    assert not o.diffs, o.report()
    assert o.alerts > 120 and o.warnings > 80 and o.valid > 150
