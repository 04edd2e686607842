"""``option external-check`` against Debian's HAProxy 2.6: the same program, the same results.

Both proxies run the same configuration, each with its own copy of a small shell program (in a
directory of its own, where the program records what it was given): its arguments and its whole
environment are compared per server, then ``show stat`` (status, check_status, check_code,
last_chk) and the health-check and state-change lines 2.6 and haproxy-py print. The program
passes, exits 3, sleeps past the check's interval, kills itself with a signal, or cannot be run
at all (a missing command); one proxy finds it through ``external-check path``, one has no path
(no PATH at all), one is in HTTP mode.
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy

pytestmark = [pytest.mark.needs_haproxy]

#: only shell builtins before the exit (a proxy without 'external-check path' gives an empty PATH)
PROGRAM = """#!/bin/sh
# written aside then renamed: a proxy stopped while a check runs leaves the last whole record
f="${0%/*}/seen.$HAPROXY_PROXY_NAME.$HAPROXY_SERVER_NAME"
{ echo "ARGS $*"; export -p; } > "$f.$$" && mv "$f.$$" "$f"
case "$HAPROXY_SERVER_NAME" in
  e3) exit 3 ;;
  slow) sleep 2 ;;
  sig) kill -9 $$ ;;
esac
exit 0
"""


def config(d: Path, fe_port: int, listen_port: int) -> str:
    return f"""global
    external-check
    insecure-fork-wanted
    stats socket @DIR@/s.sock level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 300ms
    option log-health-checks
frontend f
    bind 127.0.0.1:{fe_port}
    default_backend b
backend b
    option external-check
    external-check command {d}/chk.sh
    external-check path "/usr/bin:/bin"
    server ok 127.0.0.1:1 check inter 500 maxconn 7 id 9
    server e3 127.0.0.1:2 check inter 500 rise 1 fall 1
    server slow [::1]:3 check inter 500 fall 1
    server sig 127.0.0.1:4 check inter 500 fall 1
listen l
    bind 127.0.0.1:{listen_port}
    option external-check
    external-check command chk.sh
    external-check path "{d}:/bin"
    server ok 127.0.0.1:5 check inter 500
backend nopath
    option external-check
    external-check command {d}/chk.sh
    server ok 127.0.0.1:6 check inter 500
backend missing
    option external-check
    external-check command {d}/nonexistent
    server ok 127.0.0.1:7 check inter 500 fall 1
backend web
    mode http
    option tcp-check
    option external-check
    external-check command {d}/chk.sh
    external-check path "/bin"
    server ok 127.0.0.1:8 check inter 500
"""


def _cli(path: Path, cmd: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(cmd.encode() + b"\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode()


def _stat(path: Path) -> dict[str, tuple[str, ...]]:
    lines = _cli(path, "show stat").splitlines()
    head = lines[0].lstrip("# ").split(",")
    out = {}
    for ln in lines[1:]:
        if not ln:
            continue
        r = dict(zip(head, ln.split(","), strict=False))
        if r["svname"] not in ("FRONTEND", "BACKEND"):
            out[f"{r['pxname']}/{r['svname']}"] = (r["status"], r["check_status"].removeprefix("* "),
                                                   r["check_code"], r["last_chk"])
    return out


def _events(stderr: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ln in stderr.splitlines():
        m = re.match(r"\[(?:WARNING|ALERT)\] +\(\d+\) : (.*)", ln)
        if m is None:
            continue
        text = re.sub(r"check duration: \d+ms", "check duration: Dms", m.group(1))
        text = re.sub(r"\d+ active and \d+ backup servers", "N active and M backup servers", text)
        text = re.sub(r"^kill \d+$", "kill PID", text)
        key = re.search(r"server (\S+/\S+?)[ ,.]", text, re.I)
        k = key.group(1) if key else "-"
        seq = out.setdefault(k, [])
        if not seq or seq[-1] != text:
            seq.append(text)
    return out


def test_external_checks_as_haproxy(tmp_path: Path) -> None:
    """Arguments, environment, results (PROCOK/PROCERR with the exit code/PROCTOUT), the lines."""
    require_haproxy("haproxy")
    results = {}
    for which in ("ours", "haproxy"):
        d = tmp_path / which
        d.mkdir()
        prog = d / "chk.sh"
        prog.write_text(PROGRAM)
        prog.chmod(0o755)
        fe, li = free_port(), free_port()
        with run_proxy(config(d, fe, li), which=which) as pp:
            time.sleep(2.8)
            stat = _stat(pp.workdir / "s.sock")
            stderr = pp.stderr_text()
        seen = {}
        for f in sorted(d.glob("seen.*.*")):
            if re.search(r"\.\d+$", f.name):  # a record being written when the proxy stopped
                continue
            text = f.read_text().replace(str(d), "DIR").replace(str(fe), "FEPORT").replace(str(li), "LPORT")
            lines = text.splitlines()
            # the shell's own variables aside, sorted
            env = sorted(x for x in lines[1:] if not re.match(r"export (PWD|OLDPWD|SHLVL|_)=", x))
            seen[f.name] = "\n".join(lines[:1] + env)
        results[which] = (stat, _events(stderr), seen)
    (so, eo, vo), (st, et, vt) = results["ours"], results["haproxy"]
    # the lines about no server ("kill PID", the failed exec, "no server available") come as often
    # as the checks ran in the time: which of them, is compared
    eo["-"], et["-"] = sorted(set(eo.get("-", []))), sorted(set(et.get("-", [])))
    assert vt, "2.6 ran no program"
    problems = [f"{k}: haproxy-py {vo.get(k)!r} != 2.6 {vt.get(k)!r}" for k in sorted(set(vo) | set(vt))
                if vo.get(k) != vt.get(k)]
    problems += [f"{k}: haproxy-py {so.get(k)} != 2.6 {st.get(k)}" for k in sorted(set(so) | set(st))
                 if so.get(k) != st.get(k)]
    problems += [f"{k}:\n  haproxy-py {eo.get(k)}\n  2.6        {et.get(k)}" for k in sorted(set(eo) | set(et))
                 if eo.get(k) != et.get(k)]
    assert not problems, "\n".join(problems)
