"""``log ADDR sample RANGES:SIZE``: what the builder keeps, and 2.6's error for each malformed
argument (the messages Debian's 2.6.12 prints for the same lines; the runtime effect is
tests/differential/test_log_sample_vs_haproxy.py)."""

from __future__ import annotations

import pytest

from haproxy_py.config import parse_text

ERRORS = {
    "0:2": "log : wrong sample range '0'",
    "3:2": "log : sample size 2 should be greater or equal to 3 the maximum of the high ranges limits",
    "a:2": "log : wrong sample range 'a'",
    "1-2": "log : Missing sample size",
    "2-1:3": "log : wrong sample range '2-1'",
    "1,1:2": "log : ranges are overlapping",
    "1-3,2:5": "log : ranges are overlapping",
    "1:0": "log : wrong sample size '0' for sample range '1'",
    "1:": "log : wrong sample size '' for sample range '1'",
    ":3": "log : no sampling ranges given",
}


def _global(arg: str):  # type: ignore[no-untyped-def]
    return parse_text(f"global\n    log 127.0.0.1:514 sample {arg} local0\n", "s.cfg", env={})


@pytest.mark.parametrize("arg", sorted(ERRORS))
def test_bad_sample_argument_is_refused_as_26(arg: str) -> None:
    _, d = _global(arg)
    assert len(d.errors) == 1, d
    assert ERRORS[arg] in d.errors[0].haproxy, d.errors[0].haproxy


def test_ranges_are_kept_sorted_with_the_size() -> None:
    cfg, d = _global("7,2-4:9")
    assert not d.has_errors, d
    (t,) = cfg.global_.logs
    assert t.sample == ((2, 4), (7, 7)) and t.sample_size == 9
