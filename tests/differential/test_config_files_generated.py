"""Generated sets of several ``-f`` files, both programs: the ``-c`` verdict and messages.

2.6 reads the files one after the other and says "Error(s) found in configuration file : F" as
soon as it has read a file F with an error, before the next file's messages; it looks at every
path before reading any (a missing one is the only message), stops at a file it cannot open (the
files before said their errors) and at an abort (``.alert``, a bad conditional block). A set is
made from a seed: 2 to 5 files, each a clean section, a section with errors or warnings, lines
out of any section, a section continued by the next file, a name declared twice, an abort, a
missing or unreadable path, an address that does not resolve.
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

DEFAULTS = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
UNREADABLE = "/proc/sys/vm/compact_memory"  # there, but root cannot read it either


def _file(r: random.Random, n: int) -> str:
    """A file's text; ``n`` makes its names its own (``p{n}``)."""
    k = r.randrange(16)
    name = f"p{n}"
    if k == 0:  # clean
        return f"frontend {name}\n    bind 127.0.0.1:{21000 + n}\n    default_backend b{n}\nbackend b{n}\n" \
               "    server s 127.0.0.1:2\n"
    if k == 1:
        return f"backend {name}\n    server s 127.0.0.1:2 weight 999\n"
    if k == 2:
        return f"backend {name}\n    nosuch 1\n    balance bogus\n    server s 127.0.0.1:2\n"
    if k == 3:
        return "global\n    log 127.0.0.1:514 len 79 local0\n    zzz 1\n"
    if k == 4:  # a warning only
        return f"frontend {name}\n    bind 127.0.0.1:{21000 + n}\n    option httpclose x\n" \
               f"    default_backend b{n}\nbackend b{n}\n    server s 127.0.0.1:2\n"
    if k == 5:  # lines before any section: they belong to the previous file's last section
        return f"    server extra{n} 127.0.0.1:3\n    bogus{n} 1\n"
    if k == 6:  # the same name again
        return "backend twice\n    server s 127.0.0.1:2\n"
    if k == 7:
        return f'.if defined(NOSUCHVAR{n})\nbackend {name}\n    bogus\n.endif\n.notice "file {n}"\n'
    if k == 8:
        return f'global\n    .alert "stop in file {n}"\n'
    if k == 9:
        return f".if bogus({n})\nbackend {name}\n.endif\n"
    if k == 10:  # no LF on the last line
        return f"backend {name}\n    server s 127.0.0.1:2"
    if k == 11:
        return f".if 1\nbackend {name}\n    server s 127.0.0.1:2\n"  # not closed
    if k == 12:
        return f'backend {name}\n    .warning "careful in {n}"\n    server s 127.0.0.1:2\n    timeout queue x\n'
    if k == 14:  # an address that does not resolve (resolved after reading here, while reading in 2.6)
        return f"frontend {name}\n    bind nosuch.invalid:{21000 + n}\n    default_backend b{n}\nbackend b{n}\n" \
               f"    server s 127.0.0.1:2\n    zzz{n}\n"
    return f"listen {name}\n    bind 127.0.0.1:{21000 + n}\n    server s 127.0.0.1:2 check inter 0\n" \
           "    stick on src\n"


def generated_set(r: random.Random, n: int) -> list[tuple[str, str | None]]:
    """(path, text) for each ``-f``; text None: a path not written (missing or unreadable)."""
    out: list[tuple[str, str | None]] = [(f"s{n}_0.cfg", DEFAULTS)] if r.random() < 0.8 else []
    for i in range(r.randrange(2, 6)):
        k = r.random()
        if k < 0.04:
            out.append((f"s{n}_missing{i}.cfg", None))
        elif k < 0.08:
            out.append((UNREADABLE, None))
        else:
            out.append((f"s{n}_{i + 1}.cfg", _file(r, 10 * n + i)))
    return out


def test_generator_is_seeded_and_varied() -> None:
    a = [generated_set(random.Random(SEED + n), n) for n in range(60)]
    assert a == [generated_set(random.Random(SEED + n), n) for n in range(60)]
    texts = [t for s in a for _, t in s]
    assert len({t for t in texts if t}) > 100 and None in texts


@pytest.mark.needs_haproxy
def test_several_files_messages_same_as_haproxy(haproxy_bin: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    diffs = []
    several_errors = 0
    for n in range(70):
        files = generated_set(random.Random(SEED + n), n)
        args: list[str] = []
        for path, text in files:
            if text is not None:
                Path(path).write_text(text)
            args += ["-f", path]
        p = subprocess.run([haproxy_bin, "-c", *args], capture_output=True, text=True, timeout=30)
        capsys.readouterr()
        rc = main(["-c", *args])
        theirs, ours = _lines(p.stderr), _lines(capsys.readouterr()[1])
        several_errors += sum("Error(s) found in configuration file" in ln for ln in theirs) > 1
        if (rc != 0) != (p.returncode != 0) or ours != theirs:
            diffs.append((args, theirs, ours))
    assert not diffs, "\n\n".join(f"{a}\n 2.6: {t}\n ours: {o}" for a, t, o in diffs[:5])
    assert several_errors > 5  # the generator reaches sets with errors in several files
