"""Generated ``log`` lines, both programs: the ``-c`` verdict and messages for a ``log`` line in the
global section, in a proxy and in a ``log-forward`` section.

A line is made from a seed: a target (addresses good and bad, ``stdout``, ``ring@``, ``global``),
then a random run of the optional words (``len``, ``format``, ``sample`` with good and bad values,
in any order, repeated or without their value), a facility, levels. 2.6 reads the optional words
in one fixed order (``len``, then ``format``, then ``sample``, each at most once) and checks
``len`` against 80..65535 (read as glibc's atoi, in an int); these are the classes of difference
this test was written for. Then the numbers of ``sample`` as 2.6 reads them (unsigned ints, a
bad range named with the rest of the ranges, overlaps as each range is read), facilities and
levels spelled in other cases or as numbers.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.differential.cfgdiff import compare

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))

TARGETS = ("127.0.0.1:514", "127.0.0.1", "stdout", "stderr", "[::1]:514", "127.0.0.1:99999", "global",
           "/dev/log", "ipv4@127.0.0.1:515", "udp@127.0.0.1:516", "nohost.invalid:514", "ring@r1", "", "len")
# atoi's int: 4294967376 and -4294967216 read as 80, 99999999999999999999 as -1
LENS = ("80", "79", "60", "65535", "65536", "0", "-5", "abc", "12x", "0100", "+100", "1024", "", "4294967376",
        "-4294967216", "4294967375", "99999999999999999999", "0x50")
FORMATS = ("rfc3164", "rfc5424", "short", "raw", "iso", "timed", "priority", "local", "bogus", "", "RFC3164")
# read_uint's unsigned int (4294967297 is 1), ranges LO<HI, the rest of the ranges named in the
# message, overlaps seen as each range is read (not one strictly inside a later one)
SAMPLES = ("1:2", "1-3:3", "1:0", "x", "2:1", "1,1:2", "1-2,3:4", "0:1", "3-1:5", "", "0:0", "1-1:1", "1,,2:3",
           "1,5-5:5", "5-5,7:7", "1:", "1:1e2", "1-3,2,x:5", "1-3,x,2:5", "1,:2", ",1:2", "1-:2", "1-2-3:4",
           "-1:2", "1:-1", "4294967297:1", "1-4294967298:2", "1:4294967297", "5:4294967297", "1:2:3", "3,1:2",
           "2-3,1-5:5", "1-5,2-3:5", ":2", "1x:2", "+1:2", "1:+2", "4294967296:1", "1,2,,:2", "1:02")
FACILITIES = ("local0", "daemon", "user", "kern", "local9", "", "local7", "auth2", "cron2", "ntp", "Local0", "0",
              "23", "security")
LEVELS = ("info", "debug", "err", "emerg", "loud", "", "warning", "notice", "Err", "7", "0", "warn", "error")


def _log_line(r: random.Random) -> str:
    words = ["log", r.choice(TARGETS)]
    for _ in range(r.choice((0, 0, 1, 1, 2, 3))):
        kw = r.choice(("len", "format", "sample"))
        words += [kw, r.choice({"len": LENS, "format": FORMATS, "sample": SAMPLES}[kw])]
    words.append(r.choice(FACILITIES))
    for _ in range(r.randrange(3)):
        words.append(r.choice(LEVELS))
    if r.random() < 0.05:
        words.append("extra")
    return " ".join(w for w in words if w)


def generated_case(r: random.Random, n: int) -> str:
    where = r.choice(("global", "frontend", "log-forward"))
    line = _log_line(r)
    gen = ["# generated", "    " + line]
    out = ["global"] + gen if where == "global" else []
    out += ["ring r1", "    size 32768",
            "defaults", "    mode http", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s",
            f"frontend f{n}", f"    bind 127.0.0.1:{22000 + n}", "    default_backend be"]
    if where == "frontend":
        out += gen
    out += ["backend be", "    server s 127.0.0.1:2"]
    if where == "log-forward":
        out += [f"log-forward lf{n}", f"    dgram-bind 127.0.0.1:{23000 + n}"] + gen
    return "\n".join(out) + "\n"


def test_generator_is_seeded_and_varied() -> None:
    r1, r2 = random.Random(SEED), random.Random(SEED)
    a = [generated_case(r1, n) for n in range(100)]
    assert a == [generated_case(r2, n) for n in range(100)]
    assert len(set(a)) > 90
    assert any(" len " in c for c in a) and any(" format " in c for c in a) and any(" sample " in c for c in a)


@pytest.mark.needs_haproxy
def test_log_line_messages_same_as_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 11)
    o = compare(haproxy_bin, tmp_path, capsys, [generated_case(r, n) for n in range(240)])
    assert not o.diffs, o.report()
    assert o.alerts > 80 and o.valid > 10  # the generator reaches both verdicts
