"""Robustness: any text gives diagnostics, never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haproxy_py.config import keywords as K
from haproxy_py.config import parse_text

WORDS = (list(K.SECTIONS) + list(K.PROXY_KEYWORDS) + list(K.SERVER_KEYWORDS)[:30] + list(K.OPTIONS)[:20]
         + ["if", "unless", "{", "}", "!", "||", "or", "1.2.3.4:80", ":80", "x", "0", "-1", "300", "5s", "30x",
            "path_beg", "hdr(host)", "-i", "-m", "-f", "--", '"', "'", "\\", "#", "${X}", '"${X}"', "fe", "be",
            "global", "socket", "level", "admin", "http", "tcp", "deny", "deny_status", "insert", "consistent"])

line = st.lists(st.sampled_from(WORDS) | st.text(max_size=8), min_size=0, max_size=8).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, max_size=25))
def test_random_configs_never_crash(lines: list[str]) -> None:
    cfg, d = parse_text("\n".join(lines), "fuzz.cfg", env={"X": "1"})
    assert cfg is not None
    for m in d.messages:
        assert m.severity in ("NOTICE", "WARNING", "ALERT")
        assert isinstance(m.haproxy, str) and m.haproxy


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text: str) -> None:
    parse_text(text, "fuzz.cfg", env={})
