"""``haproxy -c`` versus ``haproxy-py -c`` on a corpus of configurations.

The corpus: every ``samples/config_check/*.cfg`` of the reference captures (tests/fixtures/reference) plus our
``samples/configs/valid`` and ``samples/configs/invalid``. For each file both programs run in the
file's directory; the verdict classes (valid / valid+warnings / invalid / no-listener) must be the
same, except for the deliberate differences listed in ``DELIBERATE`` (with the reason).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from haproxy_py.cli import main
from haproxy_py.config import load_config
from haproxy_py.registry import NOT_IMPLEMENTED
from tests.conftest import ROOT, SAMPLES

CHECK_DIR = SAMPLES / "config_check"
CORPUS: list[Path] = (sorted(CHECK_DIR.glob("*.cfg"))
                      + sorted((ROOT / "samples" / "configs" / "valid").glob("*.cfg"))
                      + sorted((ROOT / "samples" / "configs" / "invalid").glob("*.cfg")))
CORPUS = [p for p in CORPUS if p.name != "removed_1x_keywords_template.cfg"] + [ROOT / "samples" / "haproxy.cfg"]

#: case -> (our verdict, why we differ on purpose)
DELIBERATE: dict[str, tuple[str, str]] = {
    "13_bad_weight_text": ("invalid", "'weight abc' is taken as 0 by HAProxy; we refuse junk integers"),
    "37_maxconn_bad": ("invalid", "'maxconn abc' is taken as 0 by HAProxy; we refuse junk integers"),
    "38_retries_bad": ("invalid", "'retries abc' is taken as 0 by HAProxy; we refuse junk integers"),
    "server_weight_text": ("invalid", "'weight 2x' is taken as 2 by HAProxy's atoi; we refuse junk"),
    "26_listen_old_syntax": ("valid", "the 1.5 'listen NAME ADDR:PORT' form is accepted as a bind (NOTICE)"),
    "27_frontend_old_syntax": ("valid", "the 1.5 'frontend NAME ADDR:PORT' form is accepted as a bind (NOTICE)"),
    "34_nbproc_2": ("valid", "nbproc N is accepted (NOTICE) and starts N worker processes"),
    "haproxy": ("valid", "the seed config uses the 1.5 'frontend main *:5000' form: accepted as a bind (NOTICE)"),
}


TRAILERS = ("Error(s) found in configuration file", "Fatal errors found in configuration.")


def refused_as_not_implemented(rc: int, err: str) -> bool:
    """Valid for 2.6, refused here only because it uses names haproxy-py does not implement: every
    alert is such a refusal (or the two closing lines), and there is at least one."""
    alerts = [ln for ln in err.splitlines() if ln.startswith("[ALERT]")]
    refusals = [ln for ln in alerts if NOT_IMPLEMENTED in ln]
    return rc == 1 and bool(refusals) and all(ln in refusals or any(t in ln for t in TRAILERS) for ln in alerts)


def verdict(rc: int, stdout: str) -> str:
    if rc == 2:
        return "no-listener"
    if rc != 0:
        return "invalid"
    return "valid+warnings" if "Warnings were found." in stdout else "valid"


def run_haproxy(binary: str, cfg: Path) -> tuple[int, str, str]:
    p = subprocess.run([binary, "-c", "-f", cfg.name], cwd=cfg.parent, capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


def run_ours(cfg: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.chdir(cfg.parent)
    capsys.readouterr()
    rc = main(["-c", "-f", cfg.name])
    out, err = capsys.readouterr()
    return rc, out, err


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 80
    assert len(list(CHECK_DIR.glob("*.cfg"))) >= 80


@pytest.mark.needs_haproxy
@pytest.mark.parametrize("cfg", CORPUS, ids=lambda p: p.stem)
def test_same_verdict_as_haproxy(cfg: Path, haproxy_bin: str, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    hrc, hout, _ = run_haproxy(haproxy_bin, cfg)
    orc, oout, oerr = run_ours(cfg, monkeypatch, capsys)
    theirs, ours = verdict(hrc, hout), verdict(orc, oout)
    if cfg.stem in DELIBERATE:
        expected, why = DELIBERATE[cfg.stem]
        assert theirs != ours, f"{cfg.stem}: listed as a deliberate difference ({why}) but verdicts agree"
        assert ours.startswith(expected), (cfg.stem, ours, why)
        # a deliberate difference must say so in the message
        assert "haproxy-py" in oerr, oerr
    elif ours == "invalid" and theirs.startswith("valid") and refused_as_not_implemented(orc, oerr):
        pass  # accepted means implemented: refused with "not implemented by haproxy-py" and nothing else
    else:
        assert ours == theirs, f"{cfg.stem}: haproxy={theirs} ours={ours}\n{oerr}"
    # stdout carries only the verdict lines
    for line in oout.splitlines():
        assert line in ("Configuration file is valid", "Warnings were found.",
                        "Configuration file has no error but will not start (no listener) => exit(2).")


@pytest.mark.parametrize("cfg", CORPUS, ids=lambda p: p.stem)
def test_each_error_names_the_line(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(cfg.parent)
    _, d = load_config([cfg.name])
    for e in d.errors:
        assert e.loc is not None and e.loc.line > 0, e
        assert e.loc.file == cfg.name
        extras = "\n".join(e.extra_lines())
        assert f"{cfg.name}:{e.loc.line}:{e.loc.col}" in extras


def _norm(lines: list[str]) -> list[str]:
    out = []
    for ln in lines:
        if "[NOTICE]" in ln or ln.startswith("   | at ") or ln.startswith("   | expected") \
                or ln.startswith("   | did you mean") or re.match(r"^   \| +\^$", ln):
            continue
        out.append(re.sub(r"\(\d+\)", "(PID)", ln))
    return out


@pytest.mark.parametrize("cfg", [c for c in sorted(CHECK_DIR.glob("[0-9]*.cfg")) if c.stem not in DELIBERATE],
                         ids=lambda p: p.stem)
def test_messages_match_recorded_haproxy(cfg: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Our stderr, without our extra lines, is HAProxy's recorded stderr (deliberate cases excluded)."""
    rc, out, err = run_ours(cfg, monkeypatch, capsys)
    if refused_as_not_implemented(rc, err):
        assert int(cfg.with_suffix(".rc").read_text()) == 0, "a refusal for a config 2.6 rejects too"
        return
    recorded_err = cfg.with_suffix(".stderr").read_text()
    recorded_out = cfg.with_suffix(".stdout").read_text()
    recorded_rc = int(cfg.with_suffix(".rc").read_text())
    host = os.uname().nodename
    expected = _norm(recorded_err.replace("(no peer named 'vm')", f"(no peer named '{host}')").splitlines())
    assert _norm(err.splitlines()) == expected
    assert out == recorded_out
    assert rc == recorded_rc
