"""Every frontend-only keyword in a backend and every backend-only keyword in a frontend, with
generated arguments, both programs: the ``-c`` verdict and messages.

2.6 warns that such a keyword is ignored ("... has no backend capability."), and for most of them
still reads the rest of the line and refuses bad arguments; for a few it stops at the warning.
Which one is which is what this test pins down, keyword by keyword, with arguments that are
missing, junk, a number and two words. Keywords haproxy-py does not implement are left out (it
does not read their arguments anywhere; 'source', 'transparent', 'server-state-file-name').
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from tests.differential.cfgdiff import compare

ARGS = ("", "foo", "1", "x y", "-1", "1s")


def cases() -> list[tuple[str, str]]:
    out = []
    r = random.Random(2612)
    for kw, need in K.PROXY_KEYWORDS.items():
        if need not in (K.FE, K.BE) or kw in ("bind", "server", "server-template"):
            continue  # bind/server lines have generated tests of their own
        if S.PROXY.status(kw) != "implemented" and kw not in S.RULE_KEYWORDS and kw != "monitor-net":
            continue  # a keyword we refuse (or take as no-effect) is not parsed in any section
        for arg in r.sample(ARGS, 4):
            out.append((kw, f"{kw} {arg}".rstrip()))
    return out


def config(kw: str, line: str, n: int) -> str:
    fe_only = K.PROXY_KEYWORDS[kw] == K.FE
    head = ["defaults", "    mode http", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s"]
    if fe_only:
        body = ["frontend f", f"    bind 127.0.0.1:{30000 + n}", "    default_backend be",
                "backend be", "    server s 127.0.0.1:2", "# generated", "    " + line]
    else:
        body = ["frontend f", f"    bind 127.0.0.1:{30000 + n}", "# generated", "    " + line, "    default_backend be",
                "backend be", "    server s 127.0.0.1:2"]
    return "\n".join(head + body) + "\n"


@pytest.mark.needs_haproxy
def test_keywords_without_capability_like_haproxy(haproxy_bin: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    texts = [config(kw, line, n) for n, (kw, line) in enumerate(cases())]
    o = compare(haproxy_bin, tmp_path, capsys, texts)
    assert not o.diffs, o.report(10)
    assert o.alerts > 50 and o.warnings > 50  # the cases reach 2.6's warning and its refusals
