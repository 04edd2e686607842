"""Addresses checked and resolved at -c and at start (haproxy_py/addresses.py), with 2.6's messages.

Names used: ``localhost`` (in /etc/hosts) and names under ``.invalid`` (never resolvable).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from haproxy_py import cli
from haproxy_py.addresses import check_addresses, resolve_servers
from haproxy_py.config import load_config, parse_text

HEAD = """global
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
"""
FE = "frontend f\n    bind 127.0.0.1:23650\n    default_backend b\n"


def run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str, str]:
    p = tmp_path / "t.cfg"
    p.write_text(text)
    capsys.readouterr()
    rc = cli.main([*flags, "-c", "-f", str(p)])
    out, err = capsys.readouterr()
    return rc, out, err


def alerts(err: str) -> list[str]:
    return [ln.split(" : config : ", 1)[1] for ln in err.splitlines() if ln.startswith("[ALERT]")]


def test_unresolvable_server_stops_the_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(tmp_path, HEAD + FE + "backend b\n    server s1 nosuch.invalid:80\n", capsys)
    assert rc == 1 and out == ""
    p = tmp_path / "t.cfg"
    assert alerts(err) == [f"[{p}:11] : 'server b/s1' : could not resolve address 'nosuch.invalid'.",
                           "Failed to initialize server(s) addr."]  # no 'Fatal errors' line, as in 2.6


def test_dr_disables_the_server_instead(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(tmp_path, HEAD + FE + "backend b\n    server s1 nosuch.invalid:80\n", capsys, "-dr")
    assert rc == 0 and out == "Warnings were found.\nConfiguration file is valid\n"
    assert "'server b/s1' : could not resolve address 'nosuch.invalid', disabling server." in err


def test_servers_are_resolved_once_and_keep_their_text(tmp_path: Path) -> None:
    p = tmp_path / "t.cfg"
    p.write_text(HEAD + FE + "backend b\n    server s1 localhost:80 check addr localhost\n"
                 "    server s2 127.0.0.2:81\n")
    cfg, d = load_config([str(p)])
    asked: list[tuple[str, int]] = []

    def resolver(host: str, family: int) -> tuple[int, str] | None:
        asked.append((host, family))
        return (socket.AF_INET, "127.0.0.1") if host == "localhost" else None

    check_addresses(cfg, d, resolver)
    cfg2 = resolve_servers(cfg, d, resolver=resolver)
    assert not d.has_errors
    s1, s2 = cfg2.proxy("b").servers  # type: ignore[union-attr]
    assert s1.address is not None and (s1.address.host, s1.address.port_lo, s1.address.text) == (
        "127.0.0.1", 80, "localhost:80")
    assert s1.check_addr == "127.0.0.1"
    assert s2 is cfg.proxy("b").servers[1]  # type: ignore[union-attr]  # a literal is left alone
    # once while parsing (the check 'addr'), once at the servers' init; never again for the same name
    assert asked == [("localhost", socket.AF_UNSPEC)] * 2


def test_cli_hands_the_resolved_config_to_the_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "t.cfg"
    p.write_text(HEAD + FE + "backend b\n    server s1 localhost:80\n")
    rc, cfg = cli.check_config(cli.parse_args(["-f", str(p)])[0])
    assert rc == 0 and cfg is not None
    a = cfg.proxy("b").servers[0].address  # type: ignore[union-attr]
    assert a is not None and a.host in ("127.0.0.1", "::1") and a.text == "localhost:80"


@pytest.mark.parametrize("line,message", [
    ("frontend g\n    bind nosuch.invalid:23651\n",
     "parsing [{f}:13] : 'bind' : invalid address: 'nosuch.invalid' in 'nosuch.invalid:23651'"),
    ("frontend g\n    bind mptcp@127.0.0.1:23651\n",
     "parsing [{f}:13] : 'bind' : invalid address: 'mptcp@127.0.0.1' in 'mptcp@127.0.0.1:23651'"),
    ("frontend g\n    bind 127.0.0.1:23652\n    log nosuch.invalid local0\n",
     "parsing [{f}:14] : log : invalid address: 'nosuch.invalid' in 'nosuch.invalid'"),
    ("backend c\n    server s 127.0.0.1:80 check addr nosuch.invalid\n",
     "[{f}:13] : 'server c/s' : 'addr' : invalid address: 'nosuch.invalid' in 'nosuch.invalid'."),
    ("frontend g\n    bind fd@abc\n", "parsing [{f}:13] : 'bind' : file descriptor 'abc' is not a valid integer in "
     "'fd@abc'"),
])
def test_parse_time_address_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str,
                                   message: str) -> None:
    rc, _, err = run(tmp_path, HEAD + FE + "backend b\n    server s1 127.0.0.1:80\n" + line, capsys)
    f = tmp_path / "t.cfg"
    assert rc == 1
    assert alerts(err) == [message.format(f=f), f"Error(s) found in configuration file : {f}",
                           "Fatal errors found in configuration."]


def test_fd_must_be_an_open_socket(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r, w = socket.socketpair()
    fd = r.fileno()
    with open(tmp_path / "plain", "w") as plain:
        text = (HEAD + f"frontend g\n    bind fd@{fd}\n    bind fd@{plain.fileno()}\n    default_backend b\n"
                "backend b\n    server s1 127.0.0.1:80\n")
        rc, _, err = run(tmp_path, text, capsys)
        plain_fd = plain.fileno()
    r.close()
    w.close()
    f = tmp_path / "t.cfg"
    assert rc == 1 and alerts(err)[0] == (f"parsing [{f}:9] : 'bind' : cannot use file descriptor '{plain_fd}' : "
                                          "Socket operation on non-socket.")
    assert len(alerts(err)) == 3


def test_environment_in_addresses_whatever_the_quoting() -> None:
    env = {"LFD": "7", "H": "127.0.0.1", "P": "81"}
    cfg, d = parse_text(HEAD + "frontend f\n    bind fd@${LFD}\n    bind $H:${P}\n    default_backend b\n"
                        "backend b\n    server s1 ${H}:$P check addr ${H}\n    server s2 ${NOPE}127.0.0.3:80\n", env=env)
    assert not d.has_errors, d
    f, b = cfg.proxy("f"), cfg.proxy("b")
    assert f is not None and b is not None
    assert [a.fd for a in f.binds[0].addresses] == [7]
    assert (f.binds[1].addresses[0].host, f.binds[1].addresses[0].port_lo) == ("127.0.0.1", 81)
    s1, s2 = b.servers
    assert s1.address is not None and (s1.address.host, s1.address.port_lo, s1.check_addr) == ("127.0.0.1", 81,
                                                                                                "127.0.0.1")
    assert s2.address is not None and s2.address.host == "127.0.0.3"


@pytest.mark.parametrize("fe_kind,how,rule", [
    ("frontend", "in a 'use_backend' rule", "    use_backend t if { path / }\n"),
    ("frontend", "as its default backend", "    default_backend t\n"),
    ("listen", "in a 'use_backend' rule", "    use_backend t if { path / }\n"),
])
def test_http_frontend_cannot_use_a_tcp_backend(fe_kind: str, how: str, rule: str) -> None:
    text = HEAD + "backend t\n    mode tcp\n    server s 127.0.0.1:81\n" + \
        f"{fe_kind} g\n    bind 127.0.0.1:23653\n" + rule
    _, d = parse_text(text, "c.cfg")
    kind = "frontend" if fe_kind == "frontend" else "proxy"
    assert [m.haproxy for m in d.errors] == [
        f"http {kind} 'g' (c.cfg:10) tries to use incompatible tcp backend 't' (c.cfg:7) {how} (see 'mode')."]
    # the other way round is fine, as in 2.6
    _, d = parse_text(text.replace("mode tcp", "mode http").replace("    mode http\n    timeout connect",
                                                                     "    mode tcp\n    timeout connect"))
    assert not d.has_errors


def test_missing_lf_on_the_last_line_is_fatal(tmp_path: Path) -> None:
    p = tmp_path / "t.cfg"
    p.write_text(HEAD + FE + "backend b\n    server s1 127.0.0.1:80")
    _, d = load_config([str(p)])
    assert [m.haproxy for m in d.errors] == [
        f"parsing [{p}:11]: Missing LF on last line, file might have been truncated at position 27."]
    assert d.files_with_errors == [str(p)]


def test_stats_socket_name_must_resolve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(tmp_path, "global\n    stats socket nosuch.invalid:9999\n    stats socket localhost:9998\n" +
                     HEAD[len("global\n"):] + FE + "backend b\n    server s1 127.0.0.1:80\n", capsys)
    f = tmp_path / "t.cfg"
    assert rc == 1
    assert alerts(err)[0] == (f"parsing [{f}:2] : parsing [{f}:2] : 'stats socket' : invalid address: 'nosuch.invalid' "
                              "in 'nosuch.invalid:9999'")
    assert len(alerts(err)) == 3  # localhost resolves
