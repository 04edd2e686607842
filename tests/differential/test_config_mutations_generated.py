"""Generated inputs, both programs: ``-c`` on configurations made by changing one line, compared
with Debian's HAProxy 2.6.

Three generators: every implemented global and proxy keyword with one word too many; every server
parameter without its value; seeded random mutations (a word added, the last word dropped, a
number changed, a word cut) of the lines of the repository's fixture configurations. The
verdicts must be equal, and for the first two the first ALERT line too. Left out on purpose:
what haproxy-py refuses as not implemented (the registry tests cover it) and its deliberate
strictness ("haproxy-py refuses it": README, deliberate differences), and the fixture files
with ``nbproc`` (accepted on purpose).
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import subprocess
from pathlib import Path

import pytest

from haproxy_py.cli import main
from haproxy_py.config import keywords as K
from tests.conftest import ROOT

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))
BASE = "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"
GLOBAL_ARGS = {
    "log-tag": "x", "log-send-hostname": "h", "chroot": "/tmp", "pidfile": "/tmp/p.pid", "node": "n", "maxconn": "100",
    "nbthread": "1", "spread-checks": "5", "uid": "0", "gid": "0", "user": "root", "group": "root", "daemon": "",
    "master-worker": "", "server-state-file": "/tmp/s", "server-state-base": "/tmp", "hard-stop-after": "5s",
    "tune.bufsize": "16384", "tune.maxrewrite": "1024", "tune.http.maxhdr": "101", "crt-base": "/tmp", "ca-base": "/tmp",
    "ssl-default-bind-ciphers": "HIGH", "ssl-default-bind-ciphersuites": "TLS_AES_128_GCM_SHA256",
    "ssl-server-verify": "none", "ssl-default-server-ciphers": "HIGH", "tune.ssl.default-dh-param": "2048",
    "ssl-default-server-ciphersuites": "TLS_AES_128_GCM_SHA256", "ssl-default-bind-curves": "X25519"}
PROXY_ARGS = {
    "mode": "http", "balance": "roundrobin", "hash-type": "consistent", "retries": "3", "maxconn": "10",
    "fullconn": "10", "log-tag": "x", "default_backend": "be", "id": "77", "http-send-name-header": "X",
    "dispatch": "127.0.0.1:1", "http-reuse": "safe", "monitor-uri": "/m", "unique-id-header": "X-U",
    "cookie": "SRV insert", "option httplog": "", "option tcplog": "", "option forwardfor": "",
    "option dontlognull": "", "option http-server-close": "", "option httpclose": "", "option abortonclose": "",
    "option log-health-checks": "", "option tcpka": "", "option httpchk": "GET /", "option persist": "",
    "option allbackups": "", "option splice-auto": "", "option http-buffer-request": "", "option nolinger": "",
    "option http-no-delay": "", "option prefer-last-server": "", "timeout queue": "1s", "timeout check": "1s",
    "timeout tunnel": "1s", "timeout tarpit": "1s", "timeout client-fin": "1s", "description": "d",
    "stick-table": "type ip size 10"}


def _ours(cfg: Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(["-c", "-f", str(cfg)])
    return rc, err.getvalue()


def _theirs(haproxy_bin: str, cfg: Path) -> tuple[int, str]:
    p = subprocess.run([haproxy_bin, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30, cwd=cfg.parent)
    return p.returncode, p.stderr


def _first_alert(err: str) -> str:
    al = [ln.split(" : ", 2)[-1] for ln in err.splitlines() if ln.startswith("[ALERT]")]
    return al[0] if al else ""


def _deliberate(err: str) -> bool:
    return ("not implemented by haproxy-py" in err or "haproxy-py refuses it" in err
            or "HAProxy 2.6 rejects it" in err)  # the 1.5-era 'listen NAME ADDR:PORT', accepted on purpose


def _compare(haproxy_bin: str, cfg: Path, *, messages: bool) -> tuple[str, str] | None:
    rc_t, err_t = _theirs(haproxy_bin, cfg)
    rc_o, err_o = _ours(cfg)
    if _deliberate(err_o):
        return None
    same = (rc_t != 0) == (rc_o != 0) and (not messages or _first_alert(err_t) == _first_alert(err_o))
    return None if same else (_first_alert(err_t) or "valid", _first_alert(err_o) or "valid")


@pytest.mark.needs_haproxy
def test_one_word_too_many_as_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    diffs = []
    for n, (kw, v) in enumerate(GLOBAL_ARGS.items()):
        cfg = tmp_path / f"g{n}.cfg"
        cfg.write_text(f"global\n    {kw} {v} zzextra\n" + BASE + "listen l\n    bind 127.0.0.1:19300\n"
                       "    server s 127.0.0.1:1\n")
        d = _compare(haproxy_bin, cfg, messages=True)
        if d:
            diffs.append((f"global {kw}", *d))
    for n, (kw, v) in enumerate(PROXY_ARGS.items()):
        cfg = tmp_path / f"p{n}.cfg"
        cfg.write_text(BASE + f"listen l\n    bind 127.0.0.1:19300\n    {kw} {v} zzextra\n    server s 127.0.0.1:1\n"
                       "backend be\n    server s 127.0.0.1:1\n")
        d = _compare(haproxy_bin, cfg, messages=True)
        if d:
            diffs.append((kw, *d))
    assert not diffs, "\n".join(f"{k}\n  2.6:  {a}\n  ours: {b}" for k, a, b in diffs)


@pytest.mark.needs_haproxy
def test_server_parameter_without_its_value_as_haproxy(haproxy_bin: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    diffs, checked = [], 0
    for n, (kw, nargs) in enumerate(sorted(K.SERVER_KEYWORDS.items())):
        if not nargs or kw in ("resolvers", "slowstart"):  # 2.6 reports these later, or with a NUL byte
            continue
        cfg = tmp_path / f"s{n}.cfg"
        cfg.write_text(BASE + f"listen l\n    bind 127.0.0.1:19300\n    server s 127.0.0.1:1 check {kw}\n")
        checked += 1
        d = _compare(haproxy_bin, cfg, messages=True)
        if d:
            diffs.append((kw, *d))
    assert checked > 40
    assert not diffs, "\n".join(f"{k}\n  2.6:  {a}\n  ours: {b}" for k, a, b in diffs)


def _mutate(r: random.Random, line: str) -> str | None:
    w = line.split()
    m = r.randrange(4)
    if m == 0:
        w.append(r.choice(["x", "1", "if", "foo", "-1"]))
    elif m == 1 and len(w) > 1:
        w.pop()
    elif m == 2:
        nums = [k for k, t in enumerate(w) if t.isdigit()]
        if not nums:
            return None
        w[r.choice(nums)] = r.choice(["-1", "0", "1x", "99999999999"])
    elif len(w) >= 2:
        k = r.randrange(1, len(w))
        w[k] = w[k][:-1] or "z"
    else:
        return None
    return "    " + " ".join(w)


@pytest.mark.needs_haproxy
def test_mutated_fixture_lines_same_verdict_as_haproxy(haproxy_bin: str, tmp_path: Path) -> None:
    files = sorted(p for p in (ROOT / "tests" / "fixtures").rglob("*.cfg") if "nbproc" not in p.read_text(errors="replace"))
    r = random.Random(SEED)
    diffs, done = [], 0
    while done < 120:
        src = r.choice(files)
        lines = src.read_text(errors="replace").splitlines()
        idx = [i for i, ln in enumerate(lines) if ln.strip() and not ln.strip().startswith("#")
               and ln.startswith((" ", "\t"))]
        if not idx:
            continue
        i = r.choice(idx)
        new = _mutate(r, lines[i])
        if new is None:
            continue
        lines[i] = new
        cfg = src.parent / f".mut-{os.getpid()}.cfg"  # beside its fixture: relative paths stay valid
        try:
            cfg.write_text("\n".join(lines) + "\n")
            cwd = os.getcwd()
            os.chdir(src.parent)
            try:
                d = _compare(haproxy_bin, cfg, messages=False)
            finally:
                os.chdir(cwd)
        finally:
            cfg.unlink(missing_ok=True)
        done += 1
        if d:
            diffs.append((f"{src.relative_to(ROOT)}: {new.strip()}", *d))
    assert not diffs, "\n".join(f"{k}\n  2.6:  {a}\n  ours: {b}" for k, a, b in diffs)


@pytest.mark.needs_haproxy
def test_bind_parameter_without_or_with_a_bad_value_as_haproxy(haproxy_bin: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cases = [k for k, n in sorted(K.BIND_KEYWORDS.items()) if n]
    cases += ["mode x", "mode 999", "process 2", "thread 99", "thread 1-4", "process 1", "backlog 10"]
    diffs = []
    for n, kw in enumerate(cases):
        cfg = tmp_path / f"b{n}.cfg"
        cfg.write_text(BASE + f"listen l\n    bind 127.0.0.1:19300 {kw}\n    server s 127.0.0.1:1\n")
        d = _compare(haproxy_bin, cfg, messages=True)
        if d:
            diffs.append((kw, *d))
    assert not diffs, "\n".join(f"{k}\n  2.6:  {a}\n  ours: {b}" for k, a, b in diffs)
