"""Generated ``tcp-request connection|session|content`` and ``tcp-response content`` lines, both
programs: valid and broken actions (set-log-level, set-src/-dst[-port], set-mark/-tos, set-var,
set-var-fmt, unset-var, track-sc, sc-inc-gpc, sc-set-gpt, capture, expect-proxy, switch-mode,
do-resolve, unknown and misspelt names) with no, valid, broken and empty conditions, in defaults,
frontend, backend and listen sections, in HTTP and TCP mode. 30 cases per configuration
(cfgdiff.compare_batched); the generator is tests/differential/cfgfuzz.py's ``tcprule``. The classes
of difference found: 2.6's tcp rule parser prints an action's error bare (no "error detected in ...
while parsing" prefix, no final dot; track-sc's named after the rule), and its condition's errors
after the rule's words, undotted; 'if'/'unless' alone is a condition (never true / always); an
action wanting a word takes the 'if' as its own (also in HTTP rules); the expression is read before
the trailing words; the unknown action's suggestion and the empty line after it (tcp-request); the
misplaced-rule warning only for a rule that parsed; the gpc/gpt and track IDs read with strtol, with
2.6's words; var names without parentheses; tcp-response in an anonymous defaults section; 'listen'
named 'proxy'; the sample parser's words for an argument list never closed.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.differential.cfgdiff import capsys_runner, compare_batched
from tests.differential.cfgfuzz import tcprule_case

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))


def test_generator_is_seeded_and_varied() -> None:
    r1, r2 = random.Random(SEED), random.Random(SEED)
    a = [tcprule_case(r1, n).label for n in range(300)]
    assert a == [tcprule_case(r2, n).label for n in range(300)]
    assert len(set(a)) > 250 and any("tcp-response content" in x for x in a) and any(" if" in x for x in a)


@pytest.mark.needs_haproxy
def test_tcp_rule_lines_like_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 41)
    o = compare_batched(haproxy_bin, tmp_path, capsys_runner(capsys), [], [tcprule_case(r, n) for n in range(450)])
    assert not o.diffs, o.report()
    assert o.alerts > 250 and o.valid > 30


@pytest.mark.parametrize("action", ["sc-inc-gpc0(-1)", "sc-set-gpt0(-2) 1", "sc-inc-gpc(0,-1)", "sc-inc-gpc(100,0)",
                                    "sc-set-gpt(-1,0) 1"])
def test_out_of_range_ids_refused(action: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A deliberate difference (README): 2.6 accepts these IDs, haproxy-py refuses them by name."""
    from haproxy_py.cli import main

    cfg = tmp_path / "t.cfg"
    cfg.write_text("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
                   f"listen l\n    bind 127.0.0.1:0\n    tcp-request content {action}\n    server s 127.0.0.1:2\n")
    capsys.readouterr()
    assert main(["-c", "-f", str(cfg)]) != 0
    assert "haproxy-py refuses" in capsys.readouterr()[1]
