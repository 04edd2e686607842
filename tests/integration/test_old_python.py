"""Real old interpreters (pyenv's, /usr/bin's, PATH's) get the one-line refusal, not a traceback.

``python -m haproxy_py`` must refuse every Python older than 3.10, Python 2.7 included;
``build_zipapp.py`` and ``bench/run.py`` every one from 3.6 on (older ones cannot compile their
f-strings). ``python haproxy.pyz`` is run the same way in test_zipapp.py, on the archive built there.
tests/unit/test_pyversion.py proves the same files parse on old grammars where no old interpreter
is installed; here the machine has to have one, or the test says it did not run.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, old_pythons

COMMANDS = {
    "python -m haproxy_py": (["-m", "haproxy_py", "-c", "-f", "samples/haproxy.cfg"], (0, 0)),
    "python build_zipapp.py": (["build_zipapp.py", "--help"], (3, 6)),
    "python bench/run.py": (["bench/run.py", "--help"], (3, 6)),
}

CASES = [(cmd, ver, path) for cmd, (_, floor) in COMMANDS.items() for ver, path in old_pythons()
         if ver >= floor]


def run_old(path: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    return subprocess.run([path, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def expected_line(path: str) -> str:
    full = subprocess.run([path, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
                          capture_output=True, text=True, timeout=20).stdout.strip()
    return f"haproxy-py needs Python 3.10 or newer (this is Python {full})\n"


@pytest.mark.skipif(not CASES, reason="no Python older than 3.10 installed on this machine "
                                      "(tests/unit/test_pyversion.py checks the syntax instead)")
@pytest.mark.parametrize("command,version,path", CASES or [("none", (0, 0), "")],
                         ids=[f"{c.split()[-1]}-py{v[0]}.{v[1]}" for c, v, _ in CASES] or ["none"])
def test_old_python_is_refused_in_one_line(command: str, version: tuple[int, int], path: str) -> None:
    args, _ = COMMANDS[command]
    r = run_old(path, args)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr == expected_line(path)


def test_the_same_commands_run_on_this_python() -> None:
    """The guard lets a supported interpreter through (the commands' own output follows)."""
    r = subprocess.run([sys.executable, "-m", "haproxy_py", "-c", "-f", "samples/haproxy.cfg"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert "needs Python" not in r.stderr
    assert "Configuration file is valid" in r.stdout, r.stderr
    r = subprocess.run([sys.executable, "bench/run.py", "--help"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "usage:" in r.stdout, r.stderr
