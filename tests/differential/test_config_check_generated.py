"""Generated inputs, both programs: ``-cc EXPR`` exit codes and ``-c`` verdicts of seeded-random configs.

Nothing here is a recorded answer: every case is made from a seed, run through Debian's HAProxy 2.6
and through haproxy-py, and the exit codes (and, for ``-c``, the verdict classes) must be equal.
Deliberate differences are kept out of the generators and listed here:

* ``feature(X)`` answers for what haproxy-py implements: 2.6's Debian build has LUA, PCRE2,
  SLZ, OT, TPROXY, NETFILTER, ... which haproxy-py has not (``OURS_FALSE``), so they are not drawn;
* versions are compared with 2.6.12: Debian's binary is "2.6.12-1+deb12u4", so ``2.6.12-N``
  suffixes are not drawn.
"""

from __future__ import annotations

import os
import random
import subprocess

import pytest

from haproxy_py.cli import main
from haproxy_py.config.cfgcond import FEATURES

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))
#: 2.6's Debian build features haproxy-py does not implement: feature() is false here, true there
OURS_FALSE = frozenset({"LUA", "PCRE2", "PCRE2_JIT", "SLZ", "OT", "TPROXY", "LINUX_TPROXY", "NETFILTER",
                        "DL", "CRYPT_H", "LIBCRYPT", "CPU_AFFINITY", "NS", "TFO", "BACKTRACE", "THREAD_DUMP"})
#: names neither build has
ABSENT = ("QUIC", "KQUEUE", "ZLIB", "PCRE", "EVPORTS", "WURFL", "epoll", "POL", "+EPOLL")
ENV = {"HAPROXY_PY_GEN_A": "1", "HAPROXY_PY_GEN_B": ""}


def _version(r: random.Random) -> str:
    if r.random() < 0.1:
        return r.choice(["", "abc", "2..6", "2.6.x", "v2", "2.6 ", "2.7rc1", "3.", "2.7.0.0.0", " 2.6"])
    parts = [str(r.choice([1, 2, 2, 2, 3])), str(r.randint(0, 9))]
    if r.random() < 0.6:
        parts.append(str(r.choice([0, 11, 12, 12, 13, 20])))
    if r.random() < 0.1:
        parts.append(str(r.randint(0, 2)))
    v = ".".join(parts)
    if r.random() < 0.3 and not v.startswith("2.6.12"):
        v += r.choice(["-dev", "-dev3", "-pre1", "-rc2", "-1", "-rc1-4"])
    elif r.random() < 0.3 and v.startswith("2.6.12"):
        v += r.choice(["-dev", "-dev3", "-pre1", "-rc2"])
    return v


def _atom(r: random.Random) -> str:
    k = r.randrange(9)
    if k == 0:
        return r.choice(["0", "1", "2", "-1", "00", "01", "0x1", "0x0", "+1", "-0"])
    if k == 1:
        return f"defined({r.choice(list(ENV) + ['HAPROXY_PY_GEN_NONE', ''])})"
    if k == 2:
        return f"feature({r.choice(sorted(FEATURES) + list(ABSENT))})"
    if k in (3, 4):
        return f"{r.choice(['version_atleast', 'version_before'])}({_version(r)})"
    if k == 5:
        a, b = r.choice(["a", "b", ""]), r.choice(["a", "b", ""])
        return f"{r.choice(['streq', 'strneq'])}({a},{b})"
    if k == 6:  # something 2.6 refuses
        return r.choice(["foo", "enabled(POLL)", "streq(a)", "streq(a,b,c)", "1a", "(", "true", "08"])
    if k == 7:
        return r.choice(["defined", "feature", "version_atleast", "version_before"])
    return r.choice(["1", "0"])


def _expr(r: random.Random, depth: int = 0) -> str:
    if depth > 2 or r.random() < 0.35:
        e = _atom(r)
    elif r.random() < 0.3:
        e = f"({_expr(r, depth + 1)})"
    else:
        op = r.choice([" && ", " || ", "&&", "||", " &&  "])
        e = _expr(r, depth + 1) + op + _expr(r, depth + 1)
    if r.random() < 0.2:
        e = r.choice(["!", "!!", "! "]) + e
    return e


def generated_expressions(n: int, seed: int = SEED) -> list[str]:
    r = random.Random(seed)
    return [_expr(r) for _ in range(n)]


def test_generator_is_seeded_and_varied() -> None:
    a = generated_expressions(200)
    assert a == generated_expressions(200) and len(set(a)) > 150
    assert any("&&" in e for e in a) and any("||" in e for e in a) and any(e.startswith("!") for e in a)


@pytest.mark.needs_haproxy
def test_cc_exit_codes_as_haproxy(haproxy_bin: str, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("HAPROXY_PY_GEN_NONE", raising=False)
    env = {**os.environ, **ENV}
    diffs = []
    codes = set()
    for e in generated_expressions(250):
        theirs = subprocess.run([haproxy_bin, "-cc", e], capture_output=True, text=True, env=env,
                                timeout=10).returncode
        ours = main(["-cc", e])
        capsys.readouterr()
        codes.add(theirs)
        if ours != theirs:
            diffs.append((e, theirs, ours))
    assert not diffs, diffs[:20]
    assert codes == {0, 1, 2}  # the generator reaches true, false and refused


@pytest.mark.needs_haproxy
@pytest.mark.parametrize("argv", [["-cc"], ["-cc", "1", "&&", "0"]])
def test_cc_usage_errors_as_haproxy(argv: list[str], haproxy_bin: str, capsys: pytest.CaptureFixture[str]) -> None:
    theirs = subprocess.run([haproxy_bin, *argv], capture_output=True, text=True, timeout=10).returncode
    assert main(argv) == theirs == 1
    capsys.readouterr()


# ----------------------------------------------------------------------------------------- -c configs

SERVER_ADDRS = ("127.0.0.1:80", "localhost:80", "ipv4@localhost:80", "nosuch{n}.invalid:80",
                "mptcp4@127.0.0.1:80", "${{HAPROXY_PY_GEN_NONE}}127.0.0.2:80", "[::1]:80")
BIND_ADDRS = ("127.0.0.1:{p}", "localhost:{p}", "nosuch{n}.invalid:{p}", "mptcp@127.0.0.1:{p}",
              "ipv4@localhost:{p}", "${{HAPROXY_PY_GEN_NONE}}127.0.0.1:{p}", "fd@x{n}")
LOGS = ("", "log 127.0.0.1 local0", "log localhost:514 local0", "log nosuch{n}.invalid local0",
        "log ${{HAPROXY_PY_GEN_NONE}}127.0.0.1:514 local1")
GLOBAL_EXTRA = ("", "", "tune.nosuch{n} 1", "no busy-polling", "no daemon", "no log", "nosuchkw{n} x",
                "httpclient.resolvers.prefer ipv{n}")


def _pick(r: random.Random, options: tuple[str, ...], good: int) -> str:
    """One of the first ``good`` options most of the time, else any (the faults are at the end)."""
    return r.choice(options[:good]) if r.random() < 0.8 else r.choice(options)


def generated_config(r: random.Random, n: int) -> tuple[str, bool]:
    """A configuration mixing what 2.6 checks at -c and at start; (text, ends with LF)."""
    g = ["global"]
    if r.random() < 0.5:
        g.append("    " + _pick(r, LOGS, 3).format(n=n))
    extra = _pick(r, GLOBAL_EXTRA, 4).format(n=r.choice([4, 6, 5]))
    if extra:
        g.append("    " + extra)
    has_stats = r.random() < 0.2
    if has_stats:
        g.append(f"    stats socket /tmp/hpy-gen-{n}.sock")
    out = g + ["defaults", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s"]
    modes = {"b": r.choice(["http", "http", "tcp"]), "t": r.choice(["tcp", "http", "http"])}
    for be in ("b", "t"):
        out += [f"backend {be}", f"    mode {modes[be]}"]
        addr = _pick(r, SERVER_ADDRS, 3).format(n=n)
        line = f"    server s1 {addr}"
        if r.random() < 0.3:
            line += " check addr " + _pick(r, ("127.0.0.1", "localhost", f"nosuch{n}.invalid"), 2)
        out.append(line)
    if r.random() < 0.85:
        out += ["frontend f", f"    mode {r.choice(['http', 'tcp', 'tcp'])}",
                "    bind " + _pick(r, BIND_ADDRS, 2).format(p=20000 + n, n=n)]
        if r.random() < 0.4:
            out.append("    " + _pick(r, LOGS[1:], 2).format(n=n))
        if r.random() < 0.3:
            out.append("    use_backend t if { always_true }")
        out.append(f"    default_backend {r.choice(['b', 't'])}")
    if r.random() < 0.3:  # a conditional block around a line that changes the verdict
        cond = _expr(r)
        body = r.choice(["    .notice x", "    .alert stop", "    nosuchkw", "    maxconn 10"])
        out = out[:1] + [".if " + cond, body, ".endif"] + out[1:]
    text = "\n".join(out)
    lf = r.random() > 0.05
    return text + ("\n" if lf else ""), lf


@pytest.mark.needs_haproxy
def test_generated_configs_same_verdict_as_haproxy(haproxy_bin: str, tmp_path: object,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    from tests.differential.test_config_check import refused_as_not_implemented, verdict

    monkeypatch.delenv("HAPROXY_PY_GEN_NONE", raising=False)
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    d = Path(str(tmp_path))
    monkeypatch.chdir(d)
    r = random.Random(SEED + 1)
    diffs, seen = [], set()
    for n in range(120):
        text, _ = generated_config(r, n)
        cfg = d / f"g{n}.cfg"
        cfg.write_bytes(text.encode())
        p = subprocess.run([haproxy_bin, "-c", "-f", cfg.name], cwd=d, capture_output=True, text=True, timeout=30,
                           env={**os.environ, **ENV})
        theirs = verdict(p.returncode, p.stdout)
        capsys.readouterr()
        rc = main(["-c", "-f", cfg.name])
        out, err = capsys.readouterr()
        ours = verdict(rc, out)
        seen.add(theirs)
        if ours != theirs and not (theirs.startswith("valid") and refused_as_not_implemented(rc, err)):
            diffs.append((n, theirs, ours, text, p.stderr[-600:], err[-600:]))
    assert not diffs, diffs[:3]
    assert {"valid", "invalid", "no-listener"} <= seen  # the generator reaches each verdict


#: -d flags and the exit code of ``-c`` with them (haproxy-py refuses -dK, -dR and -dG: README)
DEBUG_FLAGS = ("-d", "-db", "-dbx", "-dD", "-dM", "-dM0", "-dM0x55", "-dM7,fail,no-merge", "-dMcaller", "-dMzz",
               "-dM0x55,zz", "-dV", "-de", "-dp", "-dS", "-dr", "-dW", "-dZ", "-ddd", "-dL")


@pytest.mark.needs_haproxy
def test_debug_flags_exit_codes_as_haproxy(haproxy_bin: str, tmp_path: object,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    cfg = Path(str(tmp_path)) / "f.cfg"
    cfg.write_text("defaults\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
                   "frontend f\n    bind 127.0.0.1:23670\n    default_backend b\n"
                   "backend b\n    server s 127.0.0.1:80\n")
    r = random.Random(SEED)
    diffs = []
    for _ in range(30):
        flags = r.sample(DEBUG_FLAGS, r.randint(1, 3))
        theirs = subprocess.run([haproxy_bin, *flags, "-c", "-f", str(cfg)], capture_output=True, text=True,
                                timeout=10).returncode
        ours = main([*flags, "-c", "-f", str(cfg)])
        capsys.readouterr()
        if ours != theirs:
            diffs.append((flags, theirs, ours))
    assert not diffs, diffs
