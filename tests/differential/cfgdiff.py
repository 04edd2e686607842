"""The shared loop of the generated ``-c`` differentials: each configuration through Debian's
HAProxy 2.6 and through haproxy-py, their ALERT/WARNING lines compared (``_lines`` drops the pid
and our own ``   | at`` lines). A configuration marks the line it was generated for with a
``# generated`` comment line just above it; that line names the case in a failure."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
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
        if not cfg.exists() or cfg.read_text() != text:  # (a caller may have 2.6 reading it already)
            cfg.write_text(text)
        p = haproxy_check(haproxy_bin, tmp_path, cfg.name)
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


# --------------------------------------------------------------------------- batched comparison
# Many generated cases in one configuration, one run of each program for all of them: a case is a
# block of lines (its own section, or a line under a section header of its own) after a common
# head. A message names its case by its line number ("[FILE:N]") or by the case's proxy name.
# 2.6 skips its post-parse checks once a line failed (and stops at some errors), so after a round
# whose outputs are equal the cases 2.6 alerted on by line are dropped and the rest run again,
# until a round has no such alert: every case is then checked both alone with its line errors and
# among valid cases with the post-parse checks. A round whose outputs differ is replayed case by
# case to name the cases that differ.

_AT_LINE = re.compile(r"\[[^\]\s:]+\.cfg:(\d+)\]")
_REFUSED = ("not implemented by haproxy-py", "haproxy-py refuses")


@dataclass
class Case:
    label: str  # names the case in a failure (the generated line)
    lines: list[str]  # its block: section header(s) and lines
    name: str = ""  # the proxy it declares, for messages without a line number


@dataclass
class Batched:
    diffs: list[tuple[str, list[str], list[str]]] = field(default_factory=list)
    alerts: int = 0  # cases 2.6 alerted on
    warnings: int = 0  # cases 2.6 warned about
    valid: int = 0  # cases in a configuration 2.6 accepted
    stricter: int = 0  # our deliberate refusals ("haproxy-py refuses ...")
    skipped: int = 0  # names we do not implement (refused on purpose, covered by the registry tests)
    runs: int = 0  # runs of 2.6

    def report(self, n: int = 8) -> str:
        return f"{len(self.diffs)} differ:\n\n" + "\n\n".join(
            f"{c}\n 2.6: {t}\n ours: {o}" for c, t, o in self.diffs[:n])


OursRunner = Callable[[str], tuple[int, str]]


def capsys_runner(capsys: pytest.CaptureFixture[str]) -> OursRunner:
    """``main(-c -f NAME)`` in this process, its stderr read from pytest's capture."""
    def run(name: str) -> tuple[int, str]:
        capsys.readouterr()
        rc = main(["-c", "-f", name])
        return rc, capsys.readouterr()[1]
    return run


def _assemble(head: list[str], cases: list[Case]) -> tuple[str, list[tuple[int, int]]]:
    lines = list(head)
    spans = []
    for c in cases:
        start = len(lines) + 1
        lines += c.lines
        spans.append((start, len(lines)))
    return "\n".join(lines) + "\n", spans


def _owners(msgs: list[str], cases: list[Case], spans: list[tuple[int, int]]) -> list[set[int]]:
    """For each message, the indexes of the cases it names."""
    out = []
    for m in msgs:
        own: set[int] = set()
        for num in _AT_LINE.findall(m):
            n = int(num)
            own.update(i for i, (a, b) in enumerate(spans) if a <= n <= b)
        if not own:
            own.update(i for i, c in enumerate(cases) if c.name and f"'{c.name}'" in m)
        out.append(own)
    return out


def _by_case(msgs: list[str], cases: list[Case], spans: list[tuple[int, int]]) -> list[str]:
    """The messages case by case (each case's in their order, then those of no case): the order
    of the post-parse messages of different proxies is not compared here (2.6 makes its checks
    proxy by proxy, haproxy-py partly check by check)."""
    keyed = [(min(own) if own else len(cases), i) for i, own in enumerate(_owners(msgs, cases, spans))]
    return [msgs[i] for _, i in sorted(keyed)]


def haproxy_check(haproxy_bin: str, cwd: Path, name: str) -> subprocess.CompletedProcess[str]:
    """``haproxy -c -f name``, run to its end. A run ended by a signal (a negative return code:
    killed from outside on a loaded machine) is not 2.6's answer, whose codes are 0, 1 and 2, and
    its output may stop anywhere or be empty: it is run again, three times at most."""
    for _ in range(3):
        p = subprocess.run([haproxy_bin, "-c", "-f", name], cwd=cwd, capture_output=True, text=True, timeout=30)
        if p.returncode >= 0:
            return p
    pytest.fail(f"haproxy -c -f {name} ended by signal {-p.returncode} three times:\n{p.stderr}")


def _run_haproxy(haproxy_bin: str, tmp_path: Path, name: str) -> tuple[int, list[str]]:
    p = haproxy_check(haproxy_bin, tmp_path, name)
    return p.returncode, _lines(p.stderr)


def compare_batched(haproxy_bin: str, tmp_path: Path, ours: OursRunner, head: list[str], cases: list[Case],
                    batch: int = 30, out: Batched | None = None) -> Batched:
    """Run the cases ``batch`` at a time through both programs (the caller has chdir'ed to
    ``tmp_path``); see above."""
    out = out if out is not None else Batched()
    seq = 0
    for k in range(0, len(cases), batch):
        rest = cases[k:k + batch]
        while rest:
            seq += 1
            name = f"b{seq}.cfg"
            text, spans = _assemble(head, rest)
            (tmp_path / name).write_text(text)
            rc_o, err = ours(name)
            mine = [ln for ln in err.splitlines() if ln.startswith("[")]
            refused = set()
            for m, own in zip(mine, _owners(mine, rest, spans), strict=True):
                if any(r in m for r in _REFUSED):
                    refused |= own
                    out.stricter += len(own) if "haproxy-py refuses" in m else 0
                    out.skipped += len(own) if "haproxy-py refuses" not in m else 0
            if refused:
                rest = [c for i, c in enumerate(rest) if i not in refused]
                continue
            rc_t, theirs = _run_haproxy(haproxy_bin, tmp_path, name)
            out.runs += 1
            ours_l = _lines(err)
            if (rc_o != 0) != (rc_t != 0) or _by_case(ours_l, rest, spans) != _by_case(theirs, rest, spans):
                bad = _locate(haproxy_bin, tmp_path, ours, head, rest, out)
                if not bad:  # only together: report the round
                    out.diffs.append((f"{len(rest)} cases together, the first: {rest[0].label}", theirs, ours_l))
                    break
                rest = [c for i, c in enumerate(rest) if i not in bad]
                continue
            owners = _owners(theirs, rest, spans)
            failed = set()
            for m, own in zip(theirs, owners, strict=True):
                if m.startswith("[ALERT]") and _AT_LINE.search(m):
                    failed |= own
            for i in range(len(rest)):
                mine_t = [m for m, own in zip(theirs, owners, strict=True) if i in own]
                if i in failed or not failed:
                    out.alerts += any(m.startswith("[ALERT]") for m in mine_t)
                    out.warnings += any(m.startswith("[WARNING]") for m in mine_t)
            if not failed:
                out.valid += len(rest) if rc_t == 0 else 0
                break
            rest = [c for i, c in enumerate(rest) if i not in failed]
    return out


def _locate(haproxy_bin: str, tmp_path: Path, ours: OursRunner, head: list[str], cases: list[Case],
            out: Batched) -> set[int]:
    """The cases that differ alone (recorded in ``out``)."""
    bad = set()
    for i, c in enumerate(cases):
        name = f"one{i}.cfg"
        (tmp_path / name).write_text(_assemble(head, [c])[0])
        rc_o, err = ours(name)
        rc_t, theirs = _run_haproxy(haproxy_bin, tmp_path, name)
        out.runs += 1
        ours_l = _lines(err)
        if any(r in err for r in _REFUSED):
            continue
        if (rc_o != 0) != (rc_t != 0) or ours_l != theirs:
            bad.add(i)
            out.diffs.append((c.label, theirs, ours_l))
    return bad
