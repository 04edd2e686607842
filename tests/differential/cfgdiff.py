"""The shared loop of the generated ``-c`` differentials: each configuration through Debian's
HAProxy 2.6 and through haproxy-py, their ALERT/WARNING lines compared (``_lines`` drops the pid
and our own ``   | at`` lines). A configuration marks the line it was generated for with a
``# generated`` comment line just above it; that line names the case in a failure."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from haproxy_py.cli import main
from tests.differential.test_config_messages_generated import _lines

MARK = "# generated"


@dataclass
class Outcome:
    diffs: list[tuple[str, list[str], list[str]]] = field(default_factory=list)
    alerts: int = 0  # configurations 2.6 alerts on
    warnings: int = 0  # configurations 2.6 warns about
    valid: int = 0  # configurations 2.6 accepts
    stricter: int = 0  # our deliberate refusals ("haproxy-py refuses ...")

    def report(self, n: int = 8) -> str:
        return f"{len(self.diffs)} differ:\n\n" + "\n\n".join(
            f"{c}\n 2.6: {t}\n ours: {o}" for c, t, o in self.diffs[:n])


def compare(haproxy_bin: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], texts: list[str]) -> Outcome:
    """Run every configuration through both programs (the caller has chdir'ed to ``tmp_path``)."""
    out = Outcome()
    for n, text in enumerate(texts):
        cfg = tmp_path / f"g{n}.cfg"
        cfg.write_text(text)
        p = subprocess.run([haproxy_bin, "-c", "-f", cfg.name], cwd=tmp_path, capture_output=True, text=True,
                           timeout=30)
        theirs = _lines(p.stderr)
        capsys.readouterr()
        rc = main(["-c", "-f", cfg.name])
        _, err = capsys.readouterr()
        if "not implemented by haproxy-py" in err:
            continue  # refused on purpose: the registry tests cover those names
        out.alerts += any(ln.startswith("[ALERT]") for ln in theirs)
        out.warnings += any(ln.startswith("[WARNING]") for ln in theirs)
        out.valid += p.returncode == 0
        if "haproxy-py refuses" in err:
            out.stricter += 1
            assert rc != 0, err
            continue
        ours = _lines(err)
        if (rc != 0) != (p.returncode != 0) or ours != theirs:
            lines = text.splitlines()
            label = lines[lines.index(MARK) + 1] if MARK in lines else text
            out.diffs.append((label, theirs, ours))
    return out
