"""Socket options a configuration sets, observed from outside the proxy process and compared with
HAProxy 2.6 side by side: ``ss`` (iproute2) reads the kernel's view of the proxy's sockets over
netlink (``fwmark``, ``tos``/``tclass``, ``timer:(keepalive,...)``), the peer sees resets.

The tests run as root (SO_MARK needs CAP_NET_ADMIN); a run where 2.6 itself shows no mark fails
instead of comparing two empty pictures.
"""

from __future__ import annotations

import random
import re
import socket
import subprocess

import pytest

from tests.integration.harness import (
    HTTP_DEFAULTS,
    TcpServer,
    free_port,
    http_backends,
    read_http_message,
    require_haproxy,
    run_proxy,
)

_LINE = re.compile(r"^\S+\s+\S+\s+(\S+):(\d+)\s+(\S+):(\d+)\s(.*)$")


def ss_sockets(ports: set[int], *extra: str) -> dict[int, str]:
    """The established TCP sockets whose local port is in ``ports``: peer port -> ss's details
    (``ss -tnHe`` plus ``extra`` flags, one line per socket)."""
    out = subprocess.run(["ss", "-tnHeO", *extra, "state", "established"], capture_output=True,
                         text=True, timeout=10).stdout
    found: dict[int, str] = {}
    for line in out.splitlines():
        m = _LINE.match(line.strip())
        if m and int(m.group(2)) in ports:
            found[int(m.group(4))] = m.group(5)
    return found


def _field(details: str, name: str) -> str:
    m = re.search(rf"(?:^|\s){name}:(\S+)", details)
    return m.group(1) if m else "-"


class _Echo(TcpServer):
    def serve(self, c: socket.socket) -> None:
        c.settimeout(10)
        with c:
            try:
                while True:
                    d = c.recv(4096)
                    if not d:
                        return
                    c.sendall(d)
            except OSError:
                return


def _value(rng: random.Random, bits: int) -> str:
    """A value as a configuration may write it: decimal, hex, octal, negative, overflowing."""
    v = rng.randrange(1 << bits)
    return rng.choice([str(v), hex(v), f"0X{v:X}", f"0{v:o}", f"-{v}", str(v + (1 << 32)),
                       "99999999999999999999", "-99999999999999999999", f"+{v}"])


def _mark_tos_cfg(ports: dict[str, int], echo: int, http: int, rng: random.Random) -> str:
    def pair(prefix: str) -> str:
        return (f"    {prefix} set-mark {_value(rng, 32)}\n    {prefix} set-tos {_value(rng, 8)}\n")

    cfg = HTTP_DEFAULTS
    for fam in ("connection", "session", "content"):
        cfg += (f"frontend t_{fam}\n    mode tcp\n    bind 127.0.0.1:{ports['t_' + fam]}\n"
                + pair(f"tcp-request {fam}") + "    default_backend echo\n")
    cfg += (f"frontend h_req\n    bind 127.0.0.1:{ports['h_req']}\n    bind [::1]:{ports['h_req']}\n"
            + pair("http-request") + f"    http-request set-mark {_value(rng, 32)} if {{ path /two }}\n"
            + f"    http-request set-tos {_value(rng, 8)} if {{ path /two }}\n"
            + "    default_backend web\n")
    cfg += f"frontend h_res\n    bind 127.0.0.1:{ports['h_res']}\n" + pair("http-response") + \
        "    default_backend web\n"
    cfg += f"frontend h_be\n    bind 127.0.0.1:{ports['h_be']}\n    default_backend web_marks\n"
    cfg += "backend web_marks\n" + pair("http-request") + pair("tcp-request content") + \
        f"    server s 127.0.0.1:{http}\n"
    cfg += f"backend web\n    server s 127.0.0.1:{http}\n"
    cfg += f"backend echo\n    mode tcp\n    server s 127.0.0.1:{echo}\n"
    return cfg


def _observe(which: str, cfg: str, ports: dict[str, int]) -> dict[str, tuple[str, str, str]]:
    """Each connection's (fwmark, tos, tclass) on the proxy's client-side socket, once its rules ran
    (the echo came back, the response arrived)."""
    socks: list[tuple[str, socket.socket]] = []
    with run_proxy(cfg, wait_ports=sorted(set(ports.values())), which=which):
        try:
            for name in ("t_connection", "t_session", "t_content"):
                s = socket.create_connection(("127.0.0.1", ports[name]), timeout=5)
                s.sendall(b"ping")
                assert s.recv(16) == b"ping"
                socks.append((name, s))
            for name, host, path in (("h_req", "127.0.0.1", "/"), ("h_req", "127.0.0.1", "/two"),
                                     ("h_req6", "::1", "/"), ("h_res", "127.0.0.1", "/"),
                                     ("h_be", "127.0.0.1", "/")):
                s = socket.create_connection((host, ports[name.rstrip("6")]), timeout=5)
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                start, _h, _b = read_http_message(s.makefile("rb"), response=True)
                assert start.startswith(b"HTTP/1.1 200"), start
                socks.append((name + path.replace("/", "_").rstrip("_"), s))
            seen = ss_sockets(set(ports.values()), "--tos")
            out = {}
            for name, s in socks:
                d = seen.get(s.getsockname()[1], "")
                out[name] = (_field(d, "fwmark"), _field(d, "tos"), _field(d, "tclass"))
            return out
        finally:
            for _n, s in socks:
                s.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_set_mark_and_tos_as_haproxy(seed: int) -> None:
    """set-mark and set-tos in every rule set 2.6 has them (tcp-request connection, session,
    content, http-request in a frontend and a backend, http-response, a conditional rule on an
    IPv4 and an IPv6 connection), values in every spelling 2.6 reads (hex, octal, signs,
    overflow): the fwmark and tos/tclass ss shows on the proxy's client sockets equal 2.6's."""
    require_haproxy("haproxy")
    echo = _Echo()
    try:
        with http_backends("a") as (web,):
            results = {}
            for which in ("haproxy", "ours"):
                ports = {n: free_port() for n in ("t_connection", "t_session", "t_content", "h_req",
                                                  "h_res", "h_be")}
                cfg = _mark_tos_cfg(ports, echo.port, web.port, random.Random(seed))
                results[which] = _observe(which, cfg, ports)
    finally:
        echo.close()
    ref = results["haproxy"]
    assert any(m != "-" for m, _t, _c in ref.values()), f"2.6 shows no mark: {ref}"
    assert results["ours"] == ref


def _alerts(text: str) -> list[str]:
    """The ALERT/WARNING lines of a ``-c`` run without their PID (our caret lines left out)."""
    return [re.sub(r"^\[(\w+)\]\s+\(\d+\) :", r"[\1] :", ln) for ln in text.splitlines()
            if ln.startswith(("[ALERT]", "[WARNING]"))]


def _word(r: random.Random) -> str:
    return "".join(r.choice("0123456789xXaAfF-+ q8") for _ in range(r.randrange(0, 6)))


def check_as_haproxy(lines: list[str], tmp_path: object, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str], head: str = "", tail: str = "") -> list[tuple]:
    """Each configuration line checked by 2.6's ``-c`` and ours (in this process): the lines where
    the verdict or the alerts differ."""
    from pathlib import Path

    from haproxy_py.cli import main

    d = Path(str(tmp_path))
    monkeypatch.chdir(d)
    diffs = []
    for n, line in enumerate(lines):
        cfg = d / f"c{n}.cfg"
        cfg.write_text(HTTP_DEFAULTS + head + line + "\n" + tail)
        p = subprocess.run(["haproxy", "-c", "-f", cfg.name], cwd=d, capture_output=True, text=True,
                           timeout=30)
        capsys.readouterr()
        rc = main(["-c", "-f", cfg.name])
        out, err = capsys.readouterr()
        theirs, ours = (p.returncode, _alerts(p.stdout + p.stderr)), (rc, _alerts(out + err))
        if theirs != ours:
            diffs.append((line, theirs, ours))
    return diffs


def test_set_mark_and_tos_arguments_as_haproxy(tmp_path: object, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """set-mark / set-tos arguments, fixed and generated (digits, hex and octal prefixes, signs,
    blanks, stray letters), in http and tcp rule sets: 2.6's ``-c`` verdict and messages."""
    require_haproxy("haproxy")
    r = random.Random(7)
    fams = ("http-request", "http-response", "tcp-request connection", "tcp-request session",
            "tcp-request content")
    lines = [f"    {f} {a}" for f in fams for a in ("set-mark", "set-tos")]
    lines += [f"    http-request set-mark {w}" for w in ("0x", "08", "''", "1 2", "0x1f if TRUE", "abc", "12x")]
    for _ in range(14):
        w = _word(r)
        lines.append(f"    {r.choice(fams)} {r.choice(('set-mark', 'set-tos'))} '{w}'")
    head = "frontend f\n    bind 127.0.0.1:18001\n"
    diffs = check_as_haproxy(lines, tmp_path, monkeypatch, capsys, head,
                             "    default_backend b\nbackend b\n    server s 127.0.0.1:18002\n")
    assert not diffs, diffs[:3]
