"""Bad converter and fetch arguments, generated, against ``haproxy -c``: for every implemented
converter (and the fetches with arguments), argument lists are drawn from a seed (none, empty
parentheses, too many, empty or malformed words of each 2.6 argument type, random mixes); each
one is written in an ``http-request return lf-string "%[...]"`` line and checked by Debian's
HAProxy 2.6 and by haproxy-py. Both must give the same verdict and the same alert lines, word for
word.

Kept out of the generator: an empty regex (2.6 reports it once arguments are resolved, in a
sentence of another form; haproxy-py refuses it too), quotes and backslashes (the configuration's own quoting), unbalanced
parentheses (2.6 reads an unclosed argument list to the end of the whole lf-string), file and
table arguments (their lookups are reported by 2.6 in another form, compared as verdicts only),
converters haproxy-py refuses (refused with the registry's message, a deliberate difference), and
fetches that cannot work in an http-request rule or that name a table, proxy, server or userlist
(2.6 resolves those after parsing, with messages of another form).
"""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest

from haproxy_py.cli import main
from haproxy_py.samples import CONVERTERS, FETCHES
from haproxy_py.samples.core import ConvDef, FetchDef
from tests.conftest import require_haproxy_bin

pytestmark = [pytest.mark.timeout(120), pytest.mark.needs_haproxy]

SEED = 1414
#: words of each 2.6 argument type, good and bad
POOL = {
    "integer": ("1", "0", "-1", "7", "x", "", "1x", "99999999999999999999", "+3", " 2"),
    "string": ("a", "", "txn.v", "1", ";", "sess.x", "req.", "ab c", "utf8", "-"),
    "IPv4 mask": ("24", "33", "255.255.0.0", "x", "", "0", "1.2.3"),
    "IPv6 mask": ("64", "129", "", "x", "0"),
    "IPv4 address": ("1.2.3.4", "1.2.3", "", "x"),
    "IPv6 address": ("::1", "1:::2", "", "x"),
    "regex": ("a+", "^x", "b"),
    "Protocol buffers field number": ("1", "1.2", "0", "", "a", "1.", ".1", "-1", "1..2"),
}
#: names whose arguments name files, tables, servers, backends or userlists
SKIP_PREFIX = ("map", "in_table", "table_", "sc_", "src_", "nbsrv", "srv_", "be_", "fe_", "http_auth",
               "ssl_", "jwt_verify", "hmac", "digest", "aes_", "env", "str", "bin", "meth")


def _words(r: random.Random, spec: tuple) -> list[str] | None:
    n = len(spec)
    k = r.randrange(8)
    if k == 0:
        return None
    if k == 1:
        return [""]
    if k == 2:
        return [r.choice(POOL.get(a.type, POOL["string"])) for a in spec] + ["1"]
    count = r.randint(0, n + 1)
    out = []
    for i in range(count):
        t = spec[i].type if i < n else "string"
        out.append(r.choice(POOL.get(t, POOL["string"])))
    return out


def _cases() -> list[str]:
    r = random.Random(SEED)
    cases = []
    convs = sorted(n for n, d in ((n, e.impl) for n, e in CONVERTERS.entries.items()) if isinstance(d, ConvDef) and d.args
                   and not n.startswith(SKIP_PREFIX))
    for name in convs:
        spec = CONVERTERS.entries[name].impl.args
        for _ in range(4):
            w = _words(r, spec)
            cases.append(f"str(7),{name}" + ("" if w is None else "(" + ",".join(w) + ")"))
    fetches = sorted(n for n, d in ((n, e.impl) for n, e in FETCHES.entries.items())
                     if isinstance(d, FetchDef) and d.args and d.usable_in("fe http-request")
                     and not n.startswith(SKIP_PREFIX)
                     and not any(a.type in ("table", "backend", "frontend", "server", "user list") for a in d.args))
    for name in r.sample(fetches, min(60, len(fetches))):
        w = _words(r, FETCHES.entries[name].impl.args)
        cases.append(name + ("" if w is None else "(" + ",".join(w) + ")"))
    return cases


def _cfg(expr: str) -> str:
    return ("defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n"
            "frontend f\n  bind 127.0.0.1:1\n"
            f'  http-request return status 200 content-type text/plain lf-string "%[{expr}]"\n')


def _alerts(err: str) -> list[str]:
    return [re.sub(r"^(\[ALERT\] +)\(\d+\)", r"\1(PID)", ln) for ln in err.splitlines() if ln.startswith("[ALERT]")]


@pytest.mark.slow
def test_bad_sample_arguments_vs_haproxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    binary = require_haproxy_bin()
    cfg = tmp_path / "c.cfg"
    monkeypatch.chdir(tmp_path)
    diffs = []
    cases = _cases()
    invalid = 0
    for expr in cases:
        cfg.write_text(_cfg(expr))
        p = subprocess.run([binary, "-c", "-f", "c.cfg"], capture_output=True, text=True, timeout=30)
        theirs_ok = p.returncode == 0
        theirs = _alerts(p.stderr)
        capsys.readouterr()
        rc = main(["-c", "-f", "c.cfg"])
        _, err = capsys.readouterr()
        ours = _alerts(err)
        invalid += not theirs_ok
        if theirs_ok != (rc == 0) or ours != theirs:
            diffs.append(f"{expr}: 2.6 {theirs or 'valid'!r}, ours {ours or 'valid'!r}")
    assert not diffs, "\n".join(diffs) + f"\n({len(diffs)} differences in {len(cases)} expressions)"
    assert invalid > len(cases) // 3, (invalid, len(cases))
