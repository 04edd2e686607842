"""Generated inputs, both programs: the ``-c`` messages for bad expressions in every place that
takes a log-format string, and for bad rules, in every kind of proxy section.

Each case is made from a seed (a context, a section kind and a broken or valid expression), run
through Debian's HAProxy 2.6 and through haproxy-py, and the ALERT/WARNING lines must be equal
(without the pid, and without haproxy-py's own ``   | at FILE:LINE:COL`` lines under them). This
covers three classes of difference found by hand: the words around a bad ``%[...]`` ("failed to
parse sample expression <REST> : ..."), a listen section named "proxy" in 2.6's messages, and 2.6
stopping the whole configuration at a bad http-request/-response/-after-response rule.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from haproxy_py.cli import main

SEED = int(os.environ.get("HAPROXY_PY_GEN_SEED", "2612"))

FETCHES = ("src", "req.hdr(x)", "nosuch", "hdr(x,a)", "str(a)", "path", "req.hdr", "int(1)", "var(txn.a)")
CONVS = ("lower", "lower(3)", "nosuchconv", "concat(x,y)", "map_str()", "upper", "field(1)", "field(a,b)",
         "add(1)", "add", "add()", "map_str", "json(bad)", "word(1,/)", "base64", "map_str(/nonexistent)")
#: (line template, kinds of section it may be in)
CONTEXTS = (
    ("http-request set-header X-A {e}", "flb"),
    ("http-response set-header X-A {e}", "flb"),
    ("http-after-response add-header X-A {e}", "flb"),
    ("http-request set-var-fmt(txn.x) {e}", "flb"),
    ("http-request redirect location {e}", "flb"),
    ("http-request return status 200 content-type text/plain lf-string {e}", "flb"),
    ("http-request set-path {e}", "flb"),
    ("unique-id-format {e}", "fl"),
    ("use_backend {e}", "fl"),
    ("log-format {e}", "fl"),
    ("tcp-check send-lf {e}", "lb"),
)
#: rules that are wrong whatever the expression (each makes 2.6 stop or go on)
BAD_RULES = ("http-request deny deny_status 999", "http-request frobnicate", "http-response set-header",
             "tcp-request frob", "tcp-request content accept foo", "tcp-response", "redirect foo",
             "http-request deny if { nosuchfetch }", "acl x nosuch", "http-after-response set-header",
             "stick on nosuch", "stick on res.hdr(x)", "stick store-response req.hdr(x)", "stick match path", "http-request set-var(txn.x) nosuch", "balance hash req.hdr(host),nosuchconv",
             "balance hash", "server s 127.0.0.1:3")


def _expr(r: random.Random) -> str:
    body = r.choice(FETCHES) + "".join("," + r.choice(CONVS) for _ in range(r.randrange(3)))
    k = r.randrange(10)
    if k == 0:
        return "%[" + body  # no closing bracket
    if k == 1:
        return r.choice(["%zz", "%{+Q", "%{+Q}o%[src]", "%%[src]", "a%[src]b", "%ci:%cp"])
    pre, post = r.choice([("", ""), ("x-", ""), ("", "-y"), ("%ci ", "")])
    return f"{pre}%[{body}]{post}"


def generated_case(r: random.Random, n: int) -> str:
    kind = r.choice("flb")
    if r.random() < 0.75:
        tpl, kinds = r.choice(CONTEXTS)
        while kind not in kinds:
            kind = r.choice("flb")
        line = tpl.format(e=_expr(r))
    else:
        line = r.choice(BAD_RULES)
    section = {"f": "frontend", "l": "listen", "b": "backend"}[kind]
    out = ["defaults", "    mode http", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s",
           f"{section} p{n}"]
    if kind != "b":
        out += [f"    bind 127.0.0.1:{21000 + n}", "    log 127.0.0.1:514 local0"]
    if "tcp-check" in line:
        out.append("    option tcp-check")
    if kind != "f":
        out.append("    server s 127.0.0.1:1")
    out.append("    " + line)
    if r.random() < 0.5:
        out.append("    bogus-kw x")  # reported only when 2.6 goes on reading
    if kind == "f":
        out.append("    default_backend be")
    out += ["backend be", "    server s 127.0.0.1:2"]
    return "\n".join(out) + "\n"


def _lines(err: str) -> list[str]:
    out = []
    for ln in err.splitlines():
        if ln.startswith("   | at ") or ln.startswith("   |  ") and ln.strip().endswith("^"):
            continue
        if ln.startswith(("   | did you mean", "   | expected:")):
            continue
        if ln.startswith("[NOTICE]"):
            continue
        # "[ALERT]    (1234) : " -> "[ALERT] : "
        if ln.startswith("[") and " : " in ln:
            tag, _, rest = ln.partition(" : ")
            ln = tag.split()[0] + " : " + rest
        out.append(ln)
    return out


def test_generator_is_seeded_and_varied() -> None:
    r1, r2 = random.Random(SEED), random.Random(SEED)
    a = [generated_case(r1, n) for n in range(100)]
    assert a == [generated_case(r2, n) for n in range(100)]
    assert len(set(a)) > 90
    assert any("listen" in c for c in a) and any("bogus-kw" in c for c in a) and any("%[" in c for c in a)


@pytest.mark.needs_haproxy
def test_messages_same_as_haproxy(haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    r = random.Random(SEED + 7)
    diffs, alerts, stopped = [], 0, 0
    for n in range(160):
        text = generated_case(r, n)
        cfg = tmp_path / f"m{n}.cfg"
        cfg.write_text(text)
        p = subprocess.run([haproxy_bin, "-c", "-f", cfg.name], cwd=tmp_path, capture_output=True, text=True,
                           timeout=30)
        theirs = _lines(p.stderr)
        capsys.readouterr()
        rc = main(["-c", "-f", cfg.name])
        out, err = capsys.readouterr()
        if "not implemented by haproxy-py" in err:
            continue  # refused on purpose: the registry tests cover those names
        ours = _lines(err)
        alerts += any(ln.startswith("[ALERT]") for ln in theirs)
        stopped += "bogus-kw" in text and not any("bogus-kw" in ln for ln in theirs)
        if (rc != 0) != (p.returncode != 0) or ours != theirs:
            diffs.append((text.splitlines()[5:-2], theirs, ours))
    assert not diffs, "\n\n".join(f"{c}\n 2.6: {t}\n ours: {o}" for c, t, o in diffs[:6])
    assert alerts > 60 and stopped > 5  # the generator reaches errors, and 2.6's early stop

