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
import subprocess
from pathlib import Path

import pytest

from haproxy_py.cli import main
from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from tests.differential.test_config_messages_generated import _lines

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
                "backend be", "    server s 127.0.0.1:2", "    " + line]
    else:
        body = ["frontend f", f"    bind 127.0.0.1:{30000 + n}", "    " + line, "    default_backend be",
                "backend be", "    server s 127.0.0.1:2"]
    return "\n".join(head + body) + "\n"


@pytest.mark.needs_haproxy
def test_keywords_without_capability_like_haproxy(haproxy_bin: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    diffs, warned = [], 0
    for n, (kw, line) in enumerate(cases()):
        cfg = tmp_path / f"c{n}.cfg"
        cfg.write_text(config(kw, line, n))
        p = subprocess.run([haproxy_bin, "-c", "-f", cfg.name], cwd=tmp_path, capture_output=True, text=True,
                           timeout=30)
        capsys.readouterr()
        rc = main(["-c", "-f", cfg.name])
        _, err = capsys.readouterr()
        if "not implemented by haproxy-py" in err or "haproxy-py refuses" in err:
            continue
        theirs, ours = _lines(p.stderr), _lines(err)
        warned += any("capability" in ln for ln in theirs)
        if (rc != 0) != (p.returncode != 0) or ours != theirs:
            diffs.append((line, theirs, ours))
    assert not diffs, f"{len(diffs)} differ:\n\n" + "\n\n".join(f"{c}\n 2.6: {t}\n ours: {o}" for c, t, o in diffs[:10])
    assert warned > 50
