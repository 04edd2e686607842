"""Generated inputs, both programs: the proxy, server, table and userlist names that sample
fetch and converter arguments give (``nbsrv(b)``, ``srv_is_up(b/s)``, ``src,table_gpc0(t)``,
``http_auth(L)`` ...) are resolved once every section is read, in every place that takes an
expression: ACLs and conditions, rule actions of every rule set, ``%[...]`` in log-format
arguments, ``use_backend``, ``use-server``, ``balance hash``, ``log-format``,
``unique-id-format`` and stick rules.

Each case is a few such lines (names that exist or not, in a frontend, a backend or a listen, in
a random order), checked by Debian's HAProxy 2.6 and by haproxy-py: the verdict and the ALERT
lines must be equal, word for word: the context words 2.6 puts in each message ("ACL keyword",
"sample fetch keyword ... in http-request expression", "... in capture rule", a context kept
from the line before by the rules that set none), and one alert per proxy, listing several
names under "multiple argument resolution errors:".
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from haproxy_py.cli import main
from tests.differential.cfgdiff import haproxy_check
from tests.differential.test_config_messages_generated import _lines

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))

#: name kinds -> (existing names, missing names)
NAMES = {
    "B": (["be", "be2", "lst"], ["nob", "fe"]),
    "F": (["fe", "lst"], ["nof", "be"]),
    "S": (["be/s1", "be2/s2", "lst/s3"], ["be/zz", "nob/s1", "be2/s1"]),
    "T": (["be", "lst"], ["be2", "not", "fe"]),
    "L": (["L"], ["nol"]),
}
#: sample expressions with one name to resolve
EXPRS = ("nbsrv({B})", "be_conn({B})", "queue({B})", "connslots({B})", "srv_is_up({S})", "srv_conn({S})",
         "table_cnt({T})", "sc_http_req_rate(0,{T})", "src,table_gpc0({T})", "src,in_table({T})",
         "fe_conn({F})", "http_auth({L})", "be_sess_rate({B})", "src_conn_cnt({T})")
#: (line template, sections it may be in: f frontend, b backend, l listen); {e}: an expression
LINES = (
    ("acl a{n} {e} -m found", "fbl"),
    ("http-request deny if {{ {e} -m found }}", "fbl"),
    ("http-request set-header X-{n} %[{e}]", "fbl"),
    ("http-request set-var(txn.v{n}) {e}", "fbl"),
    ("http-request set-var-fmt(txn.v{n}) x%[{e}]", "fbl"),
    ("http-request redirect location /%[{e}] if {{ path /r{n} }}", "fbl"),
    ("http-request return status 200 content-type text/plain lf-string %[{e}] if {{ path /x{n} }}", "fbl"),
    ("http-request capture {e} len 8", "fl"),
    ("http-request set-src {e}", "fbl"),
    ("http-response set-header X-{n} %[{e}]", "fbl"),
    ("http-response set-var(txn.r{n}) {e}", "fbl"),
    ("http-after-response set-header X-{n} %[{e}]", "fbl"),
    ("tcp-request content set-var(txn.c{n}) {e}", "fbl"),
    ("tcp-request connection set-var(sess.c{n}) {e}", "fl"),
    ("tcp-request session set-var(sess.s{n}) {e}", "fl"),
    ("tcp-request content capture {e} len 8", "fl"),
    ("use_backend %[{e}]", "fl"),
    ("use_backend be if {{ {e} -m found }}", "fl"),
    ("log-format %[{e}]", "fl"),
    ("unique-id-format %[{e}]", "fl"),
    ("stick on {e}", "bl"),
    ("stick store-request {e}", "bl"),
    ("balance hash {e}", "bl"),
    ("use-server %[{e}] if TRUE", "bl"),
    ("use-server s1 if {{ {e} -m found }}", "b"),
    ("monitor fail if {{ {e} -m found }}", "fl"),
)


def _expr(r: random.Random) -> str:
    e = r.choice(EXPRS)
    kind = e[e.index("{") + 1]
    good, bad = NAMES[kind]
    return e.replace("{" + kind + "}", r.choice(bad if r.random() < 0.45 else good))


def generated_case(r: random.Random) -> str:
    lines: dict[str, list[str]] = {"f": [], "b": [], "l": []}
    once: set[str] = set()
    for n in range(r.randint(1, 5)):
        tpl, where = r.choice(LINES)
        kw = tpl.split()[0]
        if kw in ("log-format", "unique-id-format", "balance") or tpl.startswith("use_backend %"):
            if kw in once:
                continue
            once.add(kw)
        lines[r.choice(where)].append("    " + tpl.format(e=_expr(r), n=n))
    return "\n".join([
        "global", "    log 127.0.0.1:514 local0",
        "userlist L", "    user u insecure-password p",
        "defaults", "    mode http", "    log global", "    timeout connect 1s", "    timeout client 1s",
        "    timeout server 1s",
        "frontend fe", "    bind 127.0.0.1:21901", *lines["f"], "    default_backend be",
        "backend be", "    stick-table type ip size 10", "    server s1 127.0.0.1:2", *lines["b"],
        "backend be2", "    server s2 127.0.0.1:3",
        "listen lst", "    bind 127.0.0.1:21902", "    stick-table type ip size 10", "    server s3 127.0.0.1:4",
        *lines["l"],
    ]) + "\n"


def test_generator_is_seeded_and_varied() -> None:
    a = [generated_case(random.Random(SEED + k)) for k in range(60)]
    assert a == [generated_case(random.Random(SEED + k)) for k in range(60)]
    assert len(set(a)) > 55
    assert any("nob" in c for c in a) and any("be/s1" in c for c in a) and any("%[" in c for c in a)


def _freed_arg(line: str) -> bool:
    """2.6.12 leaves the arguments of a ``log-format`` it failed to parse on its list of names to
    resolve and frees them: when it later resolves that list it reads freed memory, and on some
    runs (seen on a CI machine, not here) it reports a second, meaningless alert for them ("error
    in regex '(null)' in arg 1 of sample fetch keyword 'http_auth'"). That line is not 2.6's
    answer to the configuration, so it is not compared."""
    return "error in regex '(null)'" in line


@pytest.mark.needs_haproxy
def test_unresolved_names_same_as_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 11)
    diffs, failed, several, refused = [], 0, 0, 0
    for n in range(120):
        text = generated_case(r)
        cfg = tmp_path / f"r{n}.cfg"
        cfg.write_text(text)
        p = haproxy_check(haproxy_bin, tmp_path, cfg.name)
        theirs = [ln for ln in _lines(p.stderr) if not ln.startswith("[WARNING]") and not _freed_arg(ln)]
        capsys.readouterr()
        rc = main(["-c", "-f", cfg.name])
        _, err = capsys.readouterr()
        if "not implemented by haproxy-py" in err:  # refused on purpose (registry tests cover it)
            refused += 1
            continue
        ours = [ln for ln in _lines(err) if not ln.startswith("[WARNING]")]
        failed += p.returncode != 0
        several += any("multiple argument resolution errors" in ln for ln in theirs)
        if rc != p.returncode or ours != theirs:
            diffs.append((text.split("frontend fe\n", 1)[1], (p.returncode, theirs), (rc, ours)))
    assert not diffs, "\n\n".join(f"{c}\n 2.6 (exit code, lines): {t}\n ours: {o}" for c, t, o in diffs[:40])
    assert refused < 20, refused
    assert failed > 40 and several > 10  # the generator reaches unresolved names, several in a proxy
