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
import time
from collections.abc import Callable

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


def ss_sockets(ports: set[int], *extra: str) -> dict[tuple[int, int], str]:
    """The established TCP sockets whose local port is in ``ports``: (local port, peer port) -> ss's
    details (``ss -tnHe`` plus ``extra`` flags, one line per socket). Both ports: the kernel gives
    one ephemeral port to clients of two listeners (their 4-tuples differ)."""
    out = subprocess.run(["ss", "-tnHeO", *extra, "state", "established"], capture_output=True,
                         text=True, timeout=10).stdout
    found: dict[int, str] = {}
    for line in out.splitlines():
        m = _LINE.match(line.strip())
        if m and int(m.group(2)) in ports:
            found[(int(m.group(2)), int(m.group(4)))] = m.group(5)
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
    cfg += f"frontend t_res\n    mode tcp\n    bind 127.0.0.1:{ports['t_res']}\n    default_backend echo_res\n"
    cfg += "backend echo_res\n    mode tcp\n" + pair("tcp-response content") + f"    server s 127.0.0.1:{echo}\n"
    cfg += f"frontend h_tres\n    bind 127.0.0.1:{ports['h_tres']}\n    default_backend web_tres\n"
    cfg += "backend web_tres\n" + pair("tcp-response content") + f"    server s 127.0.0.1:{http}\n"
    cfg += f"backend web\n    server s 127.0.0.1:{http}\n"
    cfg += f"backend echo\n    mode tcp\n    server s 127.0.0.1:{echo}\n"
    return cfg


def _observe(which: str, cfg: str, ports: dict[str, int]) -> dict[str, tuple[str, str, str]]:
    """Each connection's (fwmark, tos, tclass) on the proxy's client-side socket, once its rules ran
    (the echo came back, the response arrived)."""
    socks: list[tuple[str, socket.socket]] = []
    with run_proxy(cfg, wait_ports=sorted(set(ports.values())), which=which):
        try:
            for name in ("t_connection", "t_session", "t_content", "t_res"):
                s = socket.create_connection(("127.0.0.1", ports[name]), timeout=5)
                s.sendall(b"ping")
                assert s.recv(16) == b"ping"
                socks.append((name, s))
            for name, host, path in (("h_req", "127.0.0.1", "/"), ("h_req", "127.0.0.1", "/two"),
                                     ("h_req6", "::1", "/"), ("h_res", "127.0.0.1", "/"),
                                     ("h_be", "127.0.0.1", "/"), ("h_tres", "127.0.0.1", "/")):
                s = socket.create_connection((host, ports[name.rstrip("6")]), timeout=5)
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                start, _h, _b = read_http_message(s.makefile("rb"), response=True)
                assert start.startswith(b"HTTP/1.1 200"), start
                socks.append((name + path.replace("/", "_").rstrip("_"), s))
            seen = ss_sockets(set(ports.values()), "--tos")
            out = {}
            for name, s in socks:
                d = seen.get((s.getpeername()[1], s.getsockname()[1]), "")
                out[name] = (_field(d, "fwmark"), _field(d, "tos"), _field(d, "tclass"))
            return out
        finally:
            for _n, s in socks:
                s.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_set_mark_and_tos_as_haproxy(seed: int) -> None:
    """set-mark and set-tos in every rule set 2.6 has them (tcp-request connection, session,
    content, http-request in a frontend and a backend, http-response, tcp-response content in a tcp
    and an http backend, a conditional rule on an
    IPv4 and an IPv6 connection), values in every spelling 2.6 reads (hex, octal, signs,
    overflow): the fwmark and tos/tclass ss shows on the proxy's client sockets equal 2.6's."""
    require_haproxy("haproxy")
    echo = _Echo()
    try:
        with http_backends("a") as (web,):
            results = {}
            for which in ("haproxy", "ours"):
                ports = {n: free_port() for n in ("t_connection", "t_session", "t_content", "t_res", "h_req",
                                                  "h_res", "h_be", "h_tres")}
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


# ----------------------------------------------------------------------------- TCP keep-alive
def proxy_sockets(pid: int) -> dict[tuple[int, int], socket.socket]:
    """The proxy process's TCP sockets, duplicated into this process with pidfd_getfd(2) (root
    may), by (local port, peer port; 0 for a listening socket): their options read with getsockopt
    as they are."""
    import ctypes
    import os

    libc = ctypes.CDLL(None, use_errno=True)
    pfd = os.pidfd_open(pid)
    out: dict[tuple[int, int], socket.socket] = {}
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                    continue
            except OSError:
                continue
            fd = libc.syscall(438, pfd, int(name), 0)  # SYS_pidfd_getfd
            if fd < 0:
                continue
            s = socket.socket(fileno=fd)
            try:
                if s.family in (socket.AF_INET, socket.AF_INET6) and s.type == socket.SOCK_STREAM:
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                        out[(s.getsockname()[1], 0)] = s  # a listening socket
                    else:
                        out[(s.getsockname()[1], s.getpeername()[1])] = s
                    continue
            except OSError:
                pass
            s.close()
    finally:
        os.close(pfd)
    return out


def keepalive_of(s: socket.socket | None) -> tuple[int, int, int, int] | None:
    if s is None:
        return None
    ka = s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    return (ka, *(s.getsockopt(socket.IPPROTO_TCP, o)
                  for o in (socket.TCP_KEEPCNT, socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL)))


class _PortEcho(TcpServer):
    """Answers the first bytes with the peer's port (the proxy's server-side port), then echoes."""

    def serve(self, c: socket.socket) -> None:
        c.settimeout(10)
        with c:
            try:
                if c.recv(64):
                    c.sendall(str(c.getpeername()[1]).encode())
                while c.recv(4096):
                    pass
            except OSError:
                return


def _ka_value(r: random.Random, kind: str) -> str:
    if kind == "cnt":
        return r.choice(["3", "0x7", "010", "0", "-1", "200", "99999999999", str(r.randrange(1, 20))])
    v = r.randrange(1, 400)
    return r.choice([str(v), f"{v}s", f"{v * 1000 - r.randrange(999)}ms", f"{v}m", "1h", "2d", "0", f"{v}us",
                     f"{v}000000us"])


def _ka_cfg(r: random.Random, groups: int, ports: list[int], echo: int) -> str:
    cfg = ""
    for g in range(groups):
        cfg += "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 10s\n    timeout server 10s\n"
        body = {"d": "", "f": "", "b": "", "l": ""}
        for sec in body:
            for _ in range(r.randrange(0, 4)):
                opt = r.choice(("tcpka", "clitcpka", "srvtcpka"))
                if sec == "f" and opt == "srvtcpka" or sec == "b" and opt == "clitcpka":
                    continue  # (2.6 warns and ignores: the -c test compares that)
                neg = r.choice(("", "", "no ")) if opt != "tcpka" else ""  # (2.6 refuses 'no option tcpka')
                body[sec] += f"    {neg}option {opt}\n"
            for side in ("cli", "srv"):
                if sec == "f" and side == "srv" or sec == "b" and side == "cli":
                    continue
                for kind in ("cnt", "idle", "intvl"):
                    if r.random() < 0.4:
                        body[sec] += f"    {side}tcpka-{kind} {_ka_value(r, kind)}\n"
        cfg += body["d"]
        cfg += (f"frontend fe{g}\n    bind 127.0.0.1:{ports[2 * g]}\n{body['f']}    default_backend be{g}\n"
                f"backend be{g}\n{body['b']}    server s 127.0.0.1:{echo}\n"
                f"listen li{g}\n    bind 127.0.0.1:{ports[2 * g + 1]}\n{body['l']}    server s 127.0.0.1:{echo}\n")
    return cfg


def _ka_observe(which: str, cfg: str, ports: list[int], echo: int) -> dict[int, tuple]:
    """For each frontend port: keep-alive settings of the proxy's client and server sockets."""
    socks = []
    with run_proxy(cfg, wait_ports=ports, which=which) as pp:
        try:
            for port in ports:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"hello")
                srv_port = int(s.recv(16))
                socks.append((port, s, srv_port))
            theirs = proxy_sockets(pp.pid)
            try:
                return {port: (keepalive_of(theirs.get((port, s.getsockname()[1]))),
                               keepalive_of(theirs.get((srv_port, echo))))
                        for port, s, srv_port in socks}
            finally:
                for d in theirs.values():
                    d.close()
        finally:
            for _p, s, _sp in socks:
                s.close()


@pytest.mark.parametrize("seed", [11, 12])
def test_tcp_keepalive_as_haproxy(seed: int) -> None:
    """option tcpka / clitcpka / srvtcpka (set, negated, from defaults) with clitcpka-* and
    srvtcpka-* (counts in strtol's spellings, times in every unit, 0, refused values): SO_KEEPALIVE,
    TCP_KEEPCNT, TCP_KEEPIDLE and TCP_KEEPINTVL of the proxy's client-side socket (the frontend's
    settings) and server-side socket (the backend's), read from the running proxies with
    pidfd_getfd + getsockopt, equal 2.6's."""
    require_haproxy("haproxy")
    echo = _PortEcho()
    try:
        results = {}
        for which in ("haproxy", "ours"):
            ports = [free_port() for _ in range(8)]
            cfg = _ka_cfg(random.Random(seed), 4, ports, echo.port)
            got = _ka_observe(which, cfg, ports, echo.port)
            results[which] = [got[p] for p in ports]
    finally:
        echo.close()
    ref = results["haproxy"]
    assert all(c is not None and s is not None for c, s in ref), ref
    assert any(c[0] for c, _s in ref) and any(s[0] for _c, s in ref), ref  # some keep-alive is on
    assert results["ours"] == ref


_SECTIONS = {
    "frontend": ("frontend f\n    bind 127.0.0.1:18001\n", "    default_backend b\nbackend b\n    server s 127.0.0.1:18002\n"),
    "backend": ("frontend f\n    bind 127.0.0.1:18001\n    default_backend b\nbackend b\n", "    server s 127.0.0.1:18002\n"),
    "listen": ("listen l\n    bind 127.0.0.1:18001\n", "    server s 127.0.0.1:18002\n"),
    "defaults": ("defaults d\n", "listen l\n    bind 127.0.0.1:18001\n    server s 127.0.0.1:18002\n"),
}


def test_tcp_keepalive_keywords_as_haproxy(tmp_path: object, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """clitcpka-* / srvtcpka-* and option tcpka|clitcpka|srvtcpka in every proxy kind, with values
    fixed and generated (missing, junk, units, overflow, extra words, negation): 2.6's ``-c``
    verdict, alerts and warnings (a side the proxy lacks: warned and ignored)."""
    require_haproxy("haproxy")
    r = random.Random(5)
    kws = [f"{s}tcpka-{k}" for s in ("cli", "srv") for k in ("cnt", "idle", "intvl")]
    vals = ["", "x", "3", "0x1f", "-2", "1 2", "10s", "10ms", "5m", "1h", "25d", "2147483648", "2147483647",
            "3x", "10sx", "0", "08", "1500us", "+4"]
    cases = []
    for sec in _SECTIONS:
        for kw in kws:
            cases.append((sec, f"    {kw} {r.choice(vals)}"))
        for opt in ("tcpka", "clitcpka", "srvtcpka"):
            cases.append((sec, f"    {r.choice(('', 'no '))}option {opt}{r.choice(('', '', ' x'))}"))
    for _ in range(4):
        cases.append((r.choice(list(_SECTIONS)), f"    {r.choice(kws)} {r.choice(vals)}"))
    diffs = []
    for sec, line in cases:
        head, tail = _SECTIONS[sec]
        diffs += check_as_haproxy([line], tmp_path, monkeypatch, capsys, head, tail)
    assert not diffs, diffs[:3]


# ----------------------------------------------------------------------------- bind parameters
def _bind_cfg(p: dict[str, int]) -> str:
    ret = "    http-request return status 200\n"
    return (HTTP_DEFAULTS
            + f"frontend defer\n    bind 127.0.0.1:{p['defer']} defer-accept\n{ret}"
            + f"frontend plain\n    bind 127.0.0.1:{p['plain']}\n{ret}"
            + f"frontend mss\n    bind 127.0.0.1:{p['mss']} mss 1200\n    bind 127.0.0.1:{p['mss_neg']} mss -1000x\n{ret}"
            + f"frontend iface\n    bind 127.0.0.1:{p['iface']} interface lo\n{ret}"
            + f"frontend tfo\n    bind 127.0.0.1:{p['tfo']} tfo backlog 77\n    bind 127.0.0.1:{p['tfo_max']} tfo\n"
            + f"    maxconn 33\n{ret}")


def _syn_recv(port: int) -> int:
    """Connections the kernel still holds in SYN-RECV on the listening port (not yet acceptable)."""
    out = subprocess.run(["ss", "-tnH", "state", "syn-recv", f"( sport = :{port} )"], capture_output=True,
                         text=True, timeout=10).stdout
    return len(out.splitlines())


def _bind_observe(which: str) -> dict[str, object]:
    p = {n: free_port() for n in ("defer", "plain", "mss", "mss_neg", "iface", "tfo", "tfo_max")}
    seen: dict[str, object] = {}
    socks: list[socket.socket] = []
    with run_proxy(_bind_cfg(p), wait_ports=[], which=which) as pp:
        try:
            deadline = time.monotonic() + 15
            while True:  # the listeners (no probing connection: it would stay in SYN-RECV)
                lst = ss_listeners(set(p.values()))
                if len(lst) == len(p) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            seen["listeners"] = sorted(lst.items())
            # a connection that sends nothing: with defer-accept the kernel keeps it in SYN-RECV
            for name in ("defer", "plain"):
                s = socket.create_connection(("127.0.0.1", p[name]), timeout=5)
                socks.append(s)
                # at once: the kernel completes a deferred connection after about a second anyway
                seen[name + "_syn_recv"] = _syn_recv(p[name])
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                seen[name + "_answer"] = read_http_message(s.makefile("rb"), response=True)[0]
            for name in ("mss", "mss_neg", "iface", "plain"):
                s = socket.create_connection(("127.0.0.1", p[name]), timeout=5)
                socks.append(s)
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                seen[name + "_answer"] = read_http_message(s.makefile("rb"), response=True)[0]
                seen[name + "_client_mss"] = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
            theirs = proxy_sockets(pp.pid)
            try:
                for name, port in p.items():
                    ls = theirs[(port, 0)]
                    seen[name + "_listener"] = tuple(ls.getsockopt(socket.IPPROTO_TCP, o) for o in (
                        socket.TCP_MAXSEG, socket.TCP_DEFER_ACCEPT, socket.TCP_FASTOPEN))
                for s in socks[2:]:
                    peer = theirs[(s.getpeername()[1], s.getsockname()[1])]
                    seen[f"{s.getpeername()[1] - min(p.values())}_proxy_mss"] = peer.getsockopt(
                        socket.IPPROTO_TCP, socket.TCP_MAXSEG)
            finally:
                for d in theirs.values():
                    d.close()
        finally:
            for s in socks:
                s.close()
    # ports differ between the runs: keep names only
    inv = {v: k for k, v in p.items()}
    seen["listeners"] = sorted((inv[port], text) for port, text in seen["listeners"])  # type: ignore[attr-defined]
    return {k: v for k, v in seen.items() if not k[0].isdigit()} | {
        "proxy_mss": sorted(v for k, v in seen.items() if k[0].isdigit())}


def ss_listeners(ports: set[int]) -> dict[int, str]:
    """The listening TCP sockets on ``ports``: port -> local address as ss prints it (with
    ``%DEV`` when bound to a device)."""
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, timeout=10).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            port = int(parts[3].rsplit(":", 1)[1])
            if port in ports:
                found[port] = parts[3].rsplit(":", 1)[0] + " backlog " + parts[2]
    return found


def test_bind_socket_options_as_haproxy() -> None:
    """bind ``defer-accept`` (TCP_DEFER_ACCEPT: a connection that sends nothing stays in SYN-RECV,
    the listener's option), ``mss`` (1200: TCP_MAXSEG on the listener, which the client's MSS
    shows; -1000x, read as atoi: each accepted connection's own MSS lowered), ``interface lo``
    (SO_BINDTODEVICE: ss shows the listener as 127.0.0.1%lo, connections still served), ``tfo``
    (TCP_FASTOPEN with the backlog as queue length): equal to 2.6 side by side. (A negative mss
    sets TCP_MAXSEG on each accepted connection, which Linux keeps as the user MSS without
    changing the MSS in use on loopback: both proxies show the same, unchanged MSS.)"""
    require_haproxy("haproxy")
    ref = _bind_observe("haproxy")
    ours = _bind_observe("ours")
    assert ref["defer_syn_recv"] == 1 and ref["plain_syn_recv"] == 0, ref
    assert ours == ref


def test_bind_socket_parameters_arguments_as_haproxy(tmp_path: object, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """mss (atoi, then 1..65535 in absolute value), interface, tfo, defer-accept, maxconn and id
    (strtol in an int, > 0, one socket, unique) arguments: 2.6's ``-c`` verdict and messages."""
    require_haproxy("haproxy")
    lines = [f"    bind 127.0.0.1:18001 {a}" for a in (
        "mss", "mss 0", "mss x", "mss 70000", "mss 12x", "mss -65535", "mss -65536", "mss +5", "mss ' 7'",
        "interface", "interface lo", "tfo x", "tfo", "defer-accept 1", "defer-accept mss 1000", "maxconn -1",
        "maxconn 0", "maxconn 3", "id 5x", "id 0", "id -3", "id 2147483648", "id +7", "id 4294967297", "id ' 9'")]
    lines += ["    bind 127.0.0.1:18001 id 3\n    bind 127.0.0.1:18002 id 3",
              "    bind 127.0.0.1:18001-18002 id 3", "    bind 127.0.0.1:18001,127.0.0.1:18003 id 4",
              "    bind 127.0.0.1:18001 id 2\n    bind 127.0.0.1:18002"]
    diffs = check_as_haproxy(lines, tmp_path, monkeypatch, capsys, "frontend f\n",
                             "    default_backend b\nbackend b\n    server s 127.0.0.1:18002\n")
    assert not diffs, diffs[:3]


def _accept_queue(port: int) -> tuple[int, int] | None:
    """(Recv-Q, Send-Q) ss shows for a listening socket: connections waiting to be accepted, backlog."""
    out = subprocess.run(["ss", "-ltnH", f"( sport = :{port} )"], capture_output=True, text=True,
                         timeout=10).stdout.split()
    return (int(out[1]), int(out[2])) if len(out) >= 3 else None


def _poll(cond: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


def _maxconn_observe(which: str, echo: int) -> list[object]:
    a, b = free_port(), free_port()
    cfg = ("defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 10s\n    timeout server 10s\n"
           f"frontend f\n    bind 127.0.0.1:{a} maxconn 2\n    bind 127.0.0.1:{b}\n"
           f"    default_backend e\nbackend e\n    server s 127.0.0.1:{echo}\n")
    seen: list[object] = []
    socks: list[socket.socket] = []

    def served(s: socket.socket, msg: bytes) -> bool:
        s.sendall(msg)
        s.settimeout(5)
        return s.recv(64) == msg

    with run_proxy(cfg, wait_ports=[b], which=which):
        try:
            seen.append(_poll(lambda: _accept_queue(a)))  # the backlog is the bind's maxconn
            for i in range(4):
                socks.append(socket.create_connection(("127.0.0.1", a), timeout=5))
                socks[-1].sendall(b"m%d" % i)
            seen.append([socks[0].recv(8), socks[1].recv(8)])
            # the two others wait in the kernel's accept queue, not accepted
            seen.append(_poll(lambda: _accept_queue(a) == (2, 2) and (2, 2)))
            # another bind of the same frontend is not limited
            other = socket.create_connection(("127.0.0.1", b), timeout=5)
            socks.append(other)
            seen.append(served(other, b"other"))
            socks[0].close()  # a slot frees: the next waiting connection is accepted and served
            seen.append(socks[2].recv(8))
            seen.append(_poll(lambda: _accept_queue(a) == (1, 2) and (1, 2)))
        finally:
            for s in socks:
                s.close()
    return seen


def test_bind_maxconn_as_haproxy() -> None:
    """bind ``maxconn 2``: two connections are served, the next ones wait in the kernel's accept
    queue (ss's Recv-Q) until one ends, then the next is served; the bind's maxconn is its backlog
    too; another bind of the frontend is not limited. Same sequence as 2.6."""
    require_haproxy("haproxy")
    echo = _Echo()
    try:
        ref = _maxconn_observe("haproxy", echo.port)
        ours = _maxconn_observe("ours", echo.port)
    finally:
        echo.close()
    assert ref[1] == [b"m0", b"m1"] and ref[2] == (2, 2), ref
    assert ours == ref


def test_bind_id_as_haproxy() -> None:
    """bind ``id``: the listener's id that so_id reads; the listeners without one
    are numbered from 1 skipping the ids taken, one number per listener as 2.6 counts (port ranges
    give one listener a port). Each port's so_id equals 2.6's."""
    require_haproxy("haproxy")
    got = {}
    for which in ("haproxy", "ours"):
        p = [free_port() for _ in range(5)]
        r0 = free_port()
        while r0 + 1 in p or not _port_free(r0 + 1):
            r0 = free_port()
        cfg = (HTTP_DEFAULTS + "frontend f\n"
               f"    bind 127.0.0.1:{p[0]}\n    bind 127.0.0.1:{p[1]} id 1\n    bind 127.0.0.1:{p[2]}\n"
               f"    bind 127.0.0.1:{p[3]} id 4\n    bind 127.0.0.1:{r0}-{r0 + 1}\n    bind 127.0.0.1:{p[4]}\n"
               "    http-request return status 200 content-type text/plain lf-string \"%[so_id]\"\n")
        ports = [p[0], p[1], p[2], p[3], r0, r0 + 1, p[4]]
        out = []
        with run_proxy(cfg, wait_ports=ports, which=which):
            for port in ports:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                with s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    out.append(read_http_message(s.makefile("rb"), response=True)[2])
        got[which] = out
    assert got["ours"] == got["haproxy"]
    assert len(set(got["haproxy"])) == 7, got


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
