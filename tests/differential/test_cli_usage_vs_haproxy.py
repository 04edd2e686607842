"""The runtime API's answers to unknown commands and to ``help [WORDS]`` against Debian's HAProxy
2.6: generated lines (the commands of 2.6's own ``help``, their words misspelt, cut, swapped or
followed by others) on a stats socket, replies compared byte for byte. 2.6 proposes the commands
whose first words match exactly, or the closest ones by a fingerprint of the words that follow
(at most five, in its registration order when equally close), then help, prompt and quit.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.integration.harness import HTTP_DEFAULTS, free_port, require_haproxy, run_proxy
from tests.integration.stats_client import admin_socket, stats_cli

pytestmark = [pytest.mark.needs_haproxy]

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))


def _config(port: int) -> str:
    return ("global\n    stats socket @DIR@/admin.sock level admin\n" + HTTP_DEFAULTS
            + f"frontend fe\n    bind 127.0.0.1:{port}\n    http-request return status 200\n")


def _mutate(rng: random.Random, w: str) -> str:
    r = rng.random()
    if r < 0.3 and len(w) > 2:
        i = rng.randrange(len(w))
        return w[:i] + w[i + 1:]
    if r < 0.55:
        i = rng.randrange(len(w) + 1)
        return w[:i] + rng.choice("aeiorstx-") + w[i:]
    if r < 0.7 and len(w) > 2:
        i = rng.randrange(len(w) - 1)
        return w[:i] + w[i + 1] + w[i] + w[i + 2:]
    return w


def _lines(rng: random.Random, commands: list[list[str]], n: int) -> list[str]:
    """Generated lines that 2.6 answers with its usage message (none names a command)."""
    known = {tuple(c) for c in commands}
    words = sorted({w for c in commands for w in c})
    out: list[str] = []
    while len(out) < n:
        ws = list(rng.choice(commands))
        k = rng.randrange(len(ws))
        ws = ws[:k + 1]
        ws[k] = _mutate(rng, ws[k]) if rng.random() < 0.7 else rng.choice(words)
        if rng.random() < 0.3:
            ws.append(rng.choice(words))
        if any(tuple(ws[:i]) in known for i in range(1, len(ws) + 1)):
            continue  # a command (or one with arguments): not a usage message
        r = rng.random()
        if r < 0.15:
            ws = ["help", *ws]
        elif r < 0.2:
            ws = ["help", *ws[:k]]
        line = " ".join(ws)
        out.append(f"experimental-mode on; {line}" if rng.random() < 0.1 else line)
    return out


def _help_commands(sock: str) -> list[list[str]]:
    """The keywords of every command 2.6's ``help`` lists (the words before the first argument)."""
    cmds = []
    for ln in stats_cli(sock, "help").splitlines()[1:]:
        synopsis = ln[2:].split(":", 1)[0].split()
        kw = []
        for w in synopsis:
            if w[0] in "<[{@" or not w[0].isalpha() and w[0] != "-":
                break
            kw.append(w)
        if kw and kw[0] not in ("help", "prompt", "quit"):
            cmds.append(kw)
    return cmds


def _replies(which: str, lines: list[str] | None) -> tuple[list[list[str]], list[str]]:
    port = free_port()
    with run_proxy(_config(port), wait_ports=[port], which=which) as pp:
        sock = admin_socket(pp)
        cmds = _help_commands(sock)
        return cmds, [stats_cli(sock, ln) for ln in lines or ()]


@pytest.mark.parametrize("round_", range(2))
def test_unknown_commands_and_help_as_haproxy(round_: int) -> None:
    require_haproxy("haproxy")
    cmds, _ = _replies("haproxy", None)
    assert len(cmds) > 80, cmds
    lines = _lines(random.Random(SEED * 29 + round_), cmds, 120)
    lines += ["", "foo", "help", "help show", "help set maxconn", "show", "get", "sohw info", "debug dev log x"]
    _, theirs = _replies("haproxy", lines)
    _, ours = _replies("ours", lines)
    bad = [(ln, t, o) for ln, t, o in zip(lines, theirs, ours, strict=True) if t != o]
    assert not bad, bad[:3]
    assert sum("better match" in t for t in theirs) > 40
