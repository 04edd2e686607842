"""Conditional expressions (``.if`` and ``-cc``): HAProxy 2.6.12's answers, recorded with its ``-cc``.

Each case is (expression, 2.6's exit code: 0 true, 1 false, 2 refused). The differential test
tests/differential/test_config_check_generated.py compares generated expressions live.
"""

from __future__ import annotations

import pytest

from haproxy_py.config.cfgcond import FEATURES, CondError, evaluate, parse_version

CASES_26 = [
    ('version_atleast(2.6)', 0),
    ('version_atleast(2.7)', 1),
    ('version_before(2.7)', 0),
    ('feature(EPOLL)', 0),
    ('defined(NOPE)', 1),
    ('streq(a,b)', 1),
    ('streq(a,a)', 0),
    ('strneq(a,b)', 0),
    ('enabled(POLL)', 2),
    ('!1', 1),
    ('1 && 0', 1),
    ('1 || 0', 0),
    ('(1 || 0) && 0', 1),
    ('!(0)', 0),
    ('foo', 2),
    ('1 &&', 2),
    ('(1', 2),
    ('nosuch(1)', 2),
    ('2', 0),
    ('-1', 0),
    ('0', 1),
    ('true', 2),
    ('1 0', 2),
    ('streq(a, a)', 1),
    ('defined()', 1),
    ('version_atleast()', 0),
    ('version_atleast(abc)', 0),
    ('1&&1', 0),
    ('!!1', 0),
    ('! 1', 1),
    ('streq(a)', 2),
    ('streq(a,b,c)', 2),
    ('1 || 0 && 0', 0),
    ('0 && 1 || 1', 0),
    ('0 || 1 && 0', 1),
    ('0x1', 0),
    ('01', 0),
    ('00', 1),
    ('()', 2),
    ('(0)', 1),
    ('((1))', 0),
    ('!(1 && 0)', 0),
    ('feature(epoll)', 1),
    ('feature(POL)', 1),
    ('version_atleast(2.6.12)', 0),
    ('version_atleast(2.6.13)', 1),
    ('version_before(2.6.12)', 1),
    ('version_atleast(2.6-dev1)', 0),
    ('version_atleast(2.6.12-1)', 1),
    ('version_atleast(2)', 0),
    ('version_atleast(3)', 1),
    ('version_atleast(2.06)', 0),
    ('version_atleast(2.6.011)', 0),
    ('streq(a,)', 1),
    ('streq(,)', 0),
    ('version_atleast(1.9.99)', 0),
    ('+1', 0),
    ('1||1', 0),
    ('!  ( 0 )', 0),
    ('version_atleast(2.6.12.1)', 1),
    ('version_before(2.6.12.1)', 0),
    ('version_atleast(2.7-dev0)', 1),
    ('version_before(2.6.12-dev)', 1),
    ('version_atleast(2.6-rc1)', 0),
    ('1 && (0 || 1)', 0),
    ('version_atleast(v2)', 0),
    ('-0', 1),
    ('08', 2),
    ('0x', 2),
    ('0xg', 2),
    ('1.5', 2),
    ('- 1', 2),
    ('--1', 2),
    ('version_before(abc)', 1),
    ('version_before()', 1),
    ('version_atleast(2.6.x)', 0),
    ('version_atleast(2.6.12-)', 0),
    ('version_atleast(2.6.12-rc1)', 0),
    ('version_before(2.6.12-rc9)', 1),
    ('version_atleast(2.6.12+x)', 0),
    ('version_atleast(2.6.12 )', 0),
    ('version_before(2.6.12-0)', 1),
    ('version_atleast(2.6.12-0)', 0),
    ('version_atleast(2.6.12.0)', 0),
    ('version_before(2.6.12.0)', 1),
    ('feature()', 0),
    ('feature(+EPOLL)', 1),
    ('!!0', 1),
    ('strneq(a,a)', 1),
    ('strneq(a)', 2),
    ('version_atleast(2.6,1)', 2),
    ('((1)', 2),
    ('(1))', 2),
    ('1)', 2),
    (')', 2),
    ('(', 2),
    ('defined', 1),
    ('feature', 0),
    ('streq', 2),
    ('version_atleast', 0),
    ('version_before', 1),
    ('defined && 1', 1),
    ('definedx', 2),
    ('!x', 2),
    ('1 && x', 2),
    ('1 && (x)', 2),
    ('x || 1', 2),
    ('1 && !', 2),
    ('0 || (1 && (0', 2),
    ('streq(a,b', 2),
    ('version_atleast(2.6', 2),
    ('(1 &&', 2),
    ('version_before(2.7.x)', 1),
    ('version_before(2.7-)', 0),
    ('version_before(2.7+x)', 1),
    ('version_before(2.7-deb)', 0),
    ('version_before(02.7)', 0),
    ('version_before(2.7 )', 1),
    ('version_before( 2.7)', 0),
    ('version_before(3.)', 0),
    ('version_before(2.7.0.0)', 0),
    ('version_before(2.7.0.0.0)', 1),
    ('version_before(2.7rc1)', 1),
    ('version_before(2..7)', 1),
    ('version_before(.2.7)', 1),
    ('version_before(2.7.)', 0),
    ('version_before(99999999999)', 0),
    ('version_before(4294967297)', 1),
    ('version_before(2.6.13-dev0)', 0),
]


def rc(expr: str, env: dict[str, str] | None = None) -> int:
    try:
        return 0 if evaluate(expr, env or {}) else 1
    except CondError:
        return 2


@pytest.mark.parametrize("expr,expected", CASES_26)
def test_answers_as_26(expr: str, expected: int) -> None:
    assert rc(expr) == expected


def test_defined_reads_the_environment() -> None:
    assert rc("defined(X)", {"X": ""}) == 0 and rc("defined(X)", {}) == 1
    assert rc("defined( X)", {"X": "1"}) == 1  # the space is part of the name, as in 2.6
    assert rc("!defined(X) || defined(Y)", {"X": "1", "Y": "2"}) == 0


def test_messages_and_offsets() -> None:
    cases = {
        "foo": ("unparsable conditional expression 'foo'", 0),
        "1 0": ("unexpected character '0' at the end of conditional expression '1 0'", 2),
        "(1": ("expected ')' after conditional expression '(1'", 0),
        "1 && x": ("unparsable conditional expression 'x'", 5),
        "streq(a)": ("missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used "
                     "in conditional expression", 7),
        "streq(a,b,c)": ("expected ')' before ',c)' in argument 1 of predicate 'streq' used in conditional "
                         "expression", 9),
    }
    for expr, (msg, pos) in cases.items():
        with pytest.raises(CondError) as ei:
            evaluate(expr, {})
        assert (ei.value.message, ei.value.pos) == (msg, pos), expr


def test_versions_order_dev_pre_rc_release_and_commits_after() -> None:
    order = ["2.6.12-dev1", "2.6.12-pre2", "2.6.12-rc1", "2.6.12", "2.6.12-1", "2.6.13-dev0", "2.7"]
    parsed = [parse_version(v) for v in order]
    assert all(p is not None for p in parsed)
    assert parsed == sorted(parsed)  # type: ignore[type-var]
    assert parse_version("2.6.12") == parse_version("2.6.12.0") == parse_version("2.6.12-0")
    for bad in ("abc", "", "2..6", ".2", "2.7rc1", "2.7 ", "2.7.0.0.0"):
        assert parse_version(bad) is None, bad


def test_features_are_what_haproxy_py_implements() -> None:
    # Lua, PCRE and compression are not implemented: 2.6's Debian build says +LUA, we do not; TLS is
    assert rc("feature(LUA)") == 1 and rc("feature(SLZ)") == 1 and rc("feature(OPENSSL)") == 0
    assert "LINUX_SPLICE" in FEATURES and rc("feature(PROMEX)") == 0
