"""The runtime API's table against Debian's HAProxy 2.6, side by side, through real stats sockets.

Both proxies run the same config with three stats sockets (levels user, operator, admin). For every
command of haproxy-py's table (stats/commands.py COMMANDS, 2.6's whole list) a command line is generated
from its words and plausible arguments; each is sent at each level to both, and both must agree on
whether it is refused for permission ("Permission denied"). Arguments name objects that do not exist
where the command would change something (``new ssl`` gets none: 2.6 would create the store), so that
running it at admin leaves both proxies as they were.

Also: ``help`` is byte-identical at every level, and the commands whose reply does not depend on state
haproxy-py can have (no maps, stick tables, SSL stores...) answer what 2.6 answers.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from haproxy_py.stats.commands import COMMANDS, Command
from tests.conftest import free_port
from tests.integration.harness import HTTP_DEFAULTS, HttpBackend, run_proxy, wait_files

LEVELS = ("user", "operator", "admin")

CFG = """\
global
    stats socket @DIR@/user.sock mode 600 level user
    stats socket @DIR@/operator.sock mode 600 level operator
    stats socket @DIR@/admin.sock mode 600 level admin
""" + HTTP_DEFAULTS + """\
frontend main
    bind 127.0.0.1:{fe}
    default_backend app
backend app
    balance roundrobin
    server app1 127.0.0.1:{p1}
    server app2 127.0.0.1:{p1} disabled
"""

#: plausible arguments per command (name as in the table); nothing listed: the words alone
ARGS: dict[str, str] = {
    "abort ssl ca-file": "x.pem", "abort ssl cert": "x.pem", "abort ssl crl-file": "x.pem",
    "add acl": "#9 foo", "add map": "#9 k v", "add server": "nosuch/s9 127.0.0.1:9", "add ssl crt-list": "x y",
    "clear acl": "#9", "clear map": "#9", "clear table": "t", "commit acl": "@1 #9", "commit map": "@1 #9",
    "commit ssl ca-file": "x", "commit ssl cert": "x", "commit ssl crl-file": "x",
    "del acl": "#9 k", "del map": "#9 k", "del server": "app/nosuch", "del ssl ca-file": "x",
    "del ssl cert": "x", "del ssl crl-file": "x", "del ssl crt-list": "x y",
    "disable agent": "app/nosuch", "disable dynamic-cookie backend": "nosuch", "disable frontend": "nosuch",
    "disable health": "app/nosuch", "disable server": "app/nosuch", "enable agent": "app/nosuch",
    "enable dynamic-cookie backend": "nosuch", "enable frontend": "nosuch", "enable health": "app/nosuch",
    "enable server": "app/nosuch", "experimental-mode": "on", "expert-mode": "on", "get acl": "#9 x",
    "get map": "#9 x", "get var": "proc.x", "get weight": "app/app1", "httpclient": "GET http://127.0.0.1:1/",
    "prepare acl": "#9", "prepare map": "#9", "set dynamic-cookie-key backend": "nosuch k", "set map": "#9 k v",
    "set maxconn frontend": "nosuch 1000", "set maxconn global": "2000", "set maxconn server": "app/nosuch 100",
    "set profiling": "tasks auto", "set rate-limit": "connections global 0", "set server": "app/nosuch weight 1",
    "set severity-output": "none", "set ssl ca-file": "x", "set ssl cert": "x", "set ssl crl-file": "x",
    "set ssl ocsp-response": "x", "set ssl tls-key": "x y", "set table": "t key k", "set timeout": "cli 10",
    "set var": "proc.x str(a)", "set weight": "app/nosuch 1", "show env": "HOME", "show sess": "0x1",
    "shutdown frontend": "nosuch", "shutdown session": "0x1", "shutdown sessions server": "app/nosuch",
    "debug dev log": "x",
    "show table": "t", "show map": "#9", "show acl": "#9", "trace": "h1",
}


def command_line(c: Command) -> str:
    return " ".join([*c.words, ARGS.get(c.name, "")]).strip()


def cases() -> list[Command]:
    return [c for c in COMMANDS if not c.master]


def ask(sock: str, line: str, timeout: float = 3.0) -> str:
    """One request on a fresh connection; ``prompt`` is followed by ``quit`` (it keeps the session)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock)
        s.sendall(line.encode() + (b"\nquit\n" if line == "prompt" else b"\n"))
        out = b""
        while True:
            try:
                d = s.recv(65536)
            except TimeoutError:
                break
            if not d:
                break
            out += d
        return out.decode("latin-1")


def _start(which: str) -> Iterator[dict[str, str]]:
    be = HttpBackend("app1").start()
    try:
        fe = free_port()
        with run_proxy(CFG.format(fe=fe, p1=be.port), wait_ports=[fe], which=which) as pp:
            socks = {lvl: str(pp.workdir / f"{lvl}.sock") for lvl in LEVELS}
            wait_files(list(socks.values()), 15, pp.stderr_text)
            deadline = time.monotonic() + 10
            while not ask(socks["admin"], "show cli level").startswith("admin"):
                assert time.monotonic() < deadline, pp.stderr_text()
                time.sleep(0.05)
            yield socks
    finally:
        be.stop()


@pytest.fixture(scope="module")
def both() -> Iterator[dict[str, dict[str, str]]]:
    from tests.conftest import HAPROXY_BIN

    if not os.path.exists(HAPROXY_BIN):
        pytest.fail(f"Debian's haproxy is required ({HAPROXY_BIN})")
    g26, gours = _start("haproxy"), _start("ours")
    socks = {"haproxy": next(g26), "ours": next(gours)}
    try:
        yield socks
    finally:
        for g in (g26, gours):
            for _ in g:
                pass


def denied(reply: str) -> bool:
    return reply.startswith("Permission denied")


@pytest.mark.parametrize("cmd", cases(), ids=[c.name for c in cases()])
def test_permission_refusals_agree(both: dict[str, dict[str, str]], cmd: Command) -> None:
    line = command_line(cmd)
    got: dict[str, Any] = {}
    for which in ("haproxy", "ours"):
        replies = [ask(both[which][lvl], line) for lvl in LEVELS]
        # the row's words are a command for both (2.6's list; ours implemented or refused by name)
        assert not any(r.startswith("Unknown command") for r in replies), (which, line, replies)
        got[which] = [denied(r) for r in replies]
    assert got["ours"] == got["haproxy"], (
        f"{line!r}: refused for permission at {[lvl for lvl, d in zip(LEVELS, got['haproxy'], strict=True) if d]} by 2.6, "
        f"at {[lvl for lvl, d in zip(LEVELS, got['ours'], strict=True) if d]} by haproxy-py")


@pytest.mark.parametrize("level", LEVELS)
def test_help_as_2_6(both: dict[str, dict[str, str]], level: str) -> None:
    ref = ask(both["haproxy"][level], "help")
    assert ref.startswith("The following commands are valid at this level:\n")
    assert ask(both["ours"][level], "help") == ref


#: bare commands (no argument) whose reply is 2.6's, byte for byte ...
EXACT = ("abort ssl ca-file", "abort ssl cert", "abort ssl crl-file", "add acl", "add map", "add ssl crt-list",
         "clear acl", "clear map", "clear table", "commit acl", "commit map", "commit ssl ca-file",
         "commit ssl cert", "commit ssl crl-file", "del acl", "del map", "del ssl ca-file", "del ssl cert",
         "del ssl crl-file", "del ssl crt-list", "get acl", "get map", "get var", "new ssl ca-file",
         "new ssl cert", "set map", "set ssl ca-file", "set ssl cert", "set ssl crl-file", "set ssl ocsp-response",
         "set ssl tls-key", "set table", "show cache", "show events", "show map", "show peers",
         "show ssl cert", "show ssl crl-file", "show ssl crt-list", "show ssl ocsp-response",
         "show ssl providers", "show startup-logs", "show table", "show tls-keys", "show trace", "trace",
         "_getsocks")
#: ... or whose first line is (the rest lists 2.6's own objects: httpclient ACLs, memory pools, threads,
#: the system CA store its httpclient loads)
FIRST_LINE = ("show acl", "show pools", "show servers conn", "show tasks", "show ssl ca-file")
#: with an argument naming an object that cannot exist in haproxy-py (and does not in 2.6 here)
WITH_ARGS = ("add map #9 k v", "del acl #9 k", "get map #9 k", "clear table t", "set table t key k",
             "show table t", "show map #9", "get var proc.x", "prepare map #9", "commit acl @1 #9",
             "abort ssl cert x.pem", "commit ssl ca-file x", "del ssl cert x", "del ssl crl-file x",
             "del ssl crt-list x y", "add ssl crt-list x y", "set ssl cert x", "set ssl tls-key x y",
             "expert-mode", "experimental-mode", "expert-mode off", "del server app/nosuch", "del server app",
             "add server nosuch/s9 127.0.0.1:9", "enable dynamic-cookie backend nosuch",
             "set dynamic-cookie-key backend app")


def _first_line_shape(text: str) -> str:
    head = text.split("\n", 1)[0]
    return head.rsplit("[", 1)[0] if head.endswith("]") else head.split(" (")[0]


@pytest.mark.parametrize("cmd", EXACT + FIRST_LINE + WITH_ARGS)
def test_fixed_replies_as_2_6(both: dict[str, dict[str, str]], cmd: str) -> None:
    ref = ask(both["haproxy"]["admin"], cmd)
    ours = ask(both["ours"]["admin"], cmd)
    if cmd in FIRST_LINE:
        assert _first_line_shape(ours) == _first_line_shape(ref), (ours, ref)
    else:
        assert ours == ref


def test_every_table_command_has_generated_arguments_that_exist() -> None:
    names = {c.name for c in COMMANDS}
    assert set(ARGS) <= names, sorted(set(ARGS) - names)
