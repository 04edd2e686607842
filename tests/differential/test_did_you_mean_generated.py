"""Generated misspellings, both programs: the "did you mean" 2.6 offers for an unknown server
parameter, proxy keyword and global keyword.

Typos are made from seeded edits of real keywords (a letter deleted, replaced or inserted, or a
random short word) and written 45 to a configuration (2.6 stops after 50 errors). 2.6 compares
fingerprints of class transitions plus the classes present, and takes the first of equally close
keywords in its registration order; we keep its candidate lists but not the whole registration
order, so a tie may rarely go the other way: the test allows 1%. The rule this replaced (no
class-presence marks, a tighter limit for section keywords) differed on 7% to 11% of these typos.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
from pathlib import Path

import pytest

from haproxy_py.cli import main
from haproxy_py.config import keywords as K

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))
ALPHA = "abcdefghijklmnopqrstuvwxyz-0123456789"
HEAD = ["defaults", "    mode http", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s"]
SECTIONS = {"frontend", "backend", "listen", "defaults", "global", "peers", "resolvers", "userlist", "mailers",
            "program", "cache", "ring", "http-errors", "log-forward", "fcgi-app"}


def typos(r: random.Random, words: list[str], n: int) -> list[str]:
    out: set[str] = set()
    known = set(words)
    while len(out) < n:
        w = list(r.choice(words))
        k = r.randrange(5)
        if k == 0 and len(w) > 2:
            del w[r.randrange(len(w))]
        elif k == 1:
            w[r.randrange(len(w))] = r.choice(ALPHA)
        elif k == 2:
            w.insert(r.randrange(len(w) + 1), r.choice(ALPHA))
        else:
            w = [r.choice(ALPHA[:26])] + [r.choice(ALPHA) for _ in range(r.randrange(5))]
        t = "".join(w)
        if t not in known and t[0].isalpha() and t not in SECTIONS and not t.startswith("set-proxy-v2-tlv"):
            out.add(t)
    return sorted(out)


def config(kind: str, words: list[str]) -> str:
    if kind == "server":
        lines = HEAD + ["backend be"] + [f"    server s{i} 127.0.0.1:{i + 1} {w}" for i, w in enumerate(words)]
    elif kind == "proxy":
        lines = HEAD + ["backend be"] + [f"    {w} x" for w in words]
    else:
        lines = ["global"] + [f"    {w} x" for w in words]
    return "\n".join(lines) + "\n"


def suggestions(text: str) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for m in re.finditer(r"\[[^]]*?:(\d+)\] : (?:'server be/s\d+' : )?unknown keyword '[^']*'"
                         r"(?: in '\w+' section)?(?:; did you mean '([^']*)' maybe \?)?", text):
        out[int(m.group(1))] = m.group(2)
    return out


def test_typos_are_seeded_and_new() -> None:
    words = list(K.SERVER_KEYWORDS)
    a = typos(random.Random(SEED), words, 45)
    assert a == typos(random.Random(SEED), words, 45)
    assert not set(a) & set(words)


@pytest.mark.needs_haproxy
@pytest.mark.parametrize("kind", ["server", "proxy", "global"])
def test_suggestions_like_haproxy(kind: str, haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    words = {"server": list(K.SERVER_KEYWORDS), "proxy": list(K.PROXY_KEYWORDS),
             "global": list(K.GLOBAL_KEYWORDS)}[kind]
    r = random.Random(SEED + len(kind))
    total, differ, offered = 0, [], 0
    for batch in range(6):
        ws = typos(r, words, 45)
        cfg = tmp_path / f"t{batch}.cfg"
        cfg.write_text(config(kind, ws))
        p = subprocess.run([haproxy_bin, "-c", "-f", cfg.name], cwd=tmp_path, capture_output=True, text=True,
                           timeout=30)
        capsys.readouterr()
        main(["-c", "-f", cfg.name])
        _, err = capsys.readouterr()
        theirs, ours = suggestions(p.stderr), suggestions(err)
        for line, sug in theirs.items():
            if line not in ours:
                continue  # refused on purpose by haproxy-py ("not implemented") or another message
            total += 1
            offered += sug is not None
            if ours[line] != sug:
                differ.append((cfg.read_text().splitlines()[line - 1].strip(), sug, ours[line]))
    assert total > 200 and offered > 60
    assert len(differ) <= 0.01 * total, f"{len(differ)} of {total} differ: {differ[:12]}"
