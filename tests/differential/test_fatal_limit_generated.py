"""2.6 stops reading a file at its 50th line with a fatal error ("too many fatal errors (50),
stopping now.", named at the line read next; no message when the 50th is the last line), then
reads the next file: generated files of 45 to 55 bad lines (each one error: bad timeouts, unknown
keywords, an unclosed quote), good lines, blank lines and comments between them, the last line
with or without its LF, one or two files, both programs.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from haproxy_py.cli import main
from tests.differential.test_config_messages_generated import _lines

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))

BAD = ("    timeout client {n}x", "    bogus-{n} 1", '    description "unclosed {n}', "    maxconn",
       "    timeout nosuch{n} 1s", "    option bogus{n}")
FILLER = ("", "# comment", "    timeout server 1s", "    retries 3")


def generated_file(r: random.Random, n_bad: int) -> str:
    lines = ["defaults", "    mode http"]
    for i in range(n_bad):
        lines.append(r.choice(BAD).format(n=i))
        for _ in range(r.choice((0, 0, 0, 1, 2))):
            lines.append(r.choice(FILLER))
    text = "\n".join(lines)
    return text if r.random() < 0.2 else text + "\n"


def test_generator_is_seeded_and_varied() -> None:
    a = [generated_file(random.Random(SEED + i), 50) for i in range(10)]
    assert a == [generated_file(random.Random(SEED + i), 50) for i in range(10)]
    assert len(set(a)) == 10 and any(not t.endswith("\n") for t in a)


@pytest.mark.needs_haproxy
def test_fatal_error_limit_like_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 23)
    diffs = []
    stopped = 0
    for k in range(24):
        files = []
        for j in range(r.choice((1, 1, 2))):
            name = f"f{k}_{j}.cfg"
            (tmp_path / name).write_text(generated_file(r, r.randint(45, 55)))
            files += ["-f", name]
        p = subprocess.run([haproxy_bin, "-c", *files], cwd=tmp_path, capture_output=True, text=True, timeout=30)
        capsys.readouterr()
        rc = main(["-c", *files])
        err = capsys.readouterr()[1]
        theirs, ours = _lines(p.stderr), _lines(err)
        stopped += any("too many fatal errors" in ln for ln in theirs)
        if len(files) == 4:  # 2.6 names a file with errors as soon as it is read (cli.py: at the end)
            theirs = [ln for ln in theirs if "Error(s) found in configuration file" not in ln]
            ours = [ln for ln in ours if "Error(s) found in configuration file" not in ln]
        if (rc != 0) != (p.returncode != 0) or theirs != ours:
            diffs.append((files, theirs[-5:], ours[-5:]))
    assert not diffs, diffs[:3]
    assert stopped > 5  # the limit is reached, and not always
