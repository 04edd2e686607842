"""Dynamic persistence cookies (``cookie ... dynamic``, ``dynamic-cookie-key``) and the runtime
commands that change them, side by side with Debian's HAProxy 2.6.

2.6 derives the cookie of each server without a ``cookie`` of its own from the backend's key, the
server's address and its port: the Set-Cookie values both proxies send for the same generated
servers and keys must be the same, and so must the server a request carrying each value reaches.
"""

from __future__ import annotations

import random
import socket

from tests.integration.harness import (
    HttpBackend,
    TcpServer,
    free_port,
    http_backends,
    read_http_message,
    recv_all,
    require_haproxy,
    run_proxy,
)
from tests.integration.stats_client import admin_socket, stats_cli

_KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@+%!="


def _key(rng: random.Random) -> str:
    return "".join(rng.choice(_KEY_CHARS) for _ in range(rng.randint(1, 40)))


def _exchange(sock: socket.socket, f, path: str, cookie: str | None) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    extra = f"Cookie: {cookie}\r\n" if cookie is not None else ""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode())
    start, hdrs, _ = read_http_message(f, response=True)
    h = {k.lower(): v for k, v in hdrs}
    return (start.split()[1].decode(), h.get("x-server", "-"), h.get("set-cookie", "-"))


def _requests(fe: int, steps: list[tuple[str, str | None]]) -> list[tuple[str, ...]]:
    """Each request on a fresh connection (cookies are what chooses, not the connection)."""
    out = []
    for path, cookie in steps:
        with socket.create_connection(("127.0.0.1", fe), timeout=5) as s:
            s.settimeout(5)
            with s.makefile("rb") as f:
                out.append(_exchange(s, f, path, cookie))
    return out


def _dyn_config(rng: random.Random, fe: int, bes: list[HttpBackend]) -> tuple[str, list[str]]:
    """Backends b0..bN, each with a generated key (b0's from defaults), cookie options, and
    servers at generated address forms pointing to the recording backends."""
    lines = ["defaults", "    mode http", "    timeout connect 2s", "    timeout client 5s",
             "    timeout server 5s", f"    dynamic-cookie-key {_key(rng)}",
             "frontend fe", f"    bind 127.0.0.1:{fe}"]
    names = [f"b{i}" for i in range(3)]
    for n in names:
        lines.append(f"    use_backend {n} if {{ path_beg /{n}/ }}")
    for i, n in enumerate(names):
        lines += [f"backend {n}", "    balance roundrobin",
                  f"    cookie C{i} insert dynamic{rng.choice(['', ' indirect', ' nocache', ' indirect nocache'])}"]
        if i:
            lines.append(f"    dynamic-cookie-key {_key(rng)}")
        for j in range(rng.randint(2, 4)):
            be = rng.choice(bes)
            # (not "+N" port offsets: haproxy-py's engine connects to N itself, 2.6 to the
            # frontend's port + N; the cookie is computed from N by both)
            form = rng.choice(["v4", "v4", "mapped", "own"])
            if form == "mapped":
                addr = f"::ffff:127.0.0.1:{be.port}"
            else:
                addr = f"127.0.0.1:{be.port}"
            own = f" cookie own{j}" if form == "own" else ""
            lines.append(f"    server s{j} {addr}{own}")
    return "\n".join(lines) + "\n", names


def _dyn_run(which: str, seed: int, bes: list[HttpBackend], fe: int) -> list[tuple[str, ...]]:
    rng = random.Random(seed)
    cfg, names = _dyn_config(rng, fe, bes)
    with run_proxy(cfg, wait_ports=[fe], which=which):
        first = _requests(fe, [(f"/{n}/x", None) for n in names for _ in range(5)])
        seen = sorted({(r[2].split(";")[0]) for r in first if r[2] != "-"})
        steps: list[tuple[str, str | None]] = []
        for n in names:
            for i in range(3):
                for v in seen:
                    steps.append((f"/{n}/p", f"a=1; {v}" if rng.random() < 0.5 else v))
                steps.append((f"/{n}/p", f"C{i}=0123456789abcdef"))
        return [(cfg,)] + first + _requests(fe, steps)


def test_dynamic_cookies_as_haproxy() -> None:
    """Seeded configurations: the Set-Cookie values 2.6 and haproxy-py send for each server, and
    where each value (and a wrong one) leads, are the same (the same server ports for both)."""
    require_haproxy("haproxy")
    with http_backends("r0", "r1", "r2") as bes:
        fe = free_port()
        for seed in (15, 1515):
            want = _dyn_run("haproxy", seed, bes, fe)
            got = _dyn_run("ours", seed, bes, fe)
            cfg = want[0][0]
            # guards the meaning: 2.6 sent 16 hex digits for the servers without their own cookie
            assert any(len(r[2].split(";")[0].split("=")[1]) == 16 for r in want[1:] if r[2] != "-"), cfg
            for w, g in zip(want[1:], got[1:], strict=True):
                assert g == w, f"{cfg}\nhaproxy {w}\nours    {g}"


def _cli_run(which: str, bes: list[HttpBackend], fe: int) -> list[str]:
    if True:
        cfg = f"""global
    stats socket @DIR@/admin.sock level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe}
    default_backend be
backend be
    cookie SRV insert dynamic
    dynamic-cookie-key first
    server s1 127.0.0.1:{bes[0].port}
    server s2 127.0.0.1:{bes[1].port}
    server s3 127.0.0.1:{bes[1].port} cookie mine
backend nocookie
    server n1 127.0.0.1:{bes[0].port}
"""
        out: list[str] = []
        with run_proxy(cfg, wait_ports=[fe], which=which) as pp:
            sock = admin_socket(pp)

            def cookies() -> None:
                out.append(repr(_requests(fe, [("/", None)] * 3)))

            cookies()
            for cmd in ("set dynamic-cookie-key backend be second", "set dynamic-cookie-key backend be",
                        "set dynamic-cookie-key backend", "set dynamic-cookie-key backend nope k",
                        "disable dynamic-cookie backend be", "disable dynamic-cookie backend",
                        "disable dynamic-cookie backend nope",
                        "enable dynamic-cookie backend be", "enable dynamic-cookie backend nope",
                        "enable dynamic-cookie backend", "set dynamic-cookie-key backend be third",
                        "disable dynamic-cookie backend be", "set dynamic-cookie-key backend be fourth",
                        "enable dynamic-cookie backend nocookie",
                        "enable dynamic-cookie backend be",
                        f"set server be/s1 addr 127.0.0.1 port {bes[1].port}",
                        "set server be/s2 addr ::ffff:127.0.0.1",
                        "disable dynamic-cookie backend be",
                        f"set server be/s1 addr 127.0.0.1 port {bes[0].port}",
                        "enable dynamic-cookie backend be"):
                out.append(cmd)
                out.append(repr(stats_cli(sock, cmd)))
                if "backend be" in cmd or "server be/" in cmd:
                    cookies()
            # a client holding the cookie of the first key after the key changed
            out.append(repr(_requests(fe, [("/", "SRV=" + out[0].split("SRV=")[1][:16])])))
        return out


def test_dynamic_cookie_cli_as_haproxy() -> None:
    """enable/disable dynamic-cookie, set dynamic-cookie-key and set server addr: replies byte for
    byte (errors included) and the cookies the servers get afterwards, as 2.6."""
    require_haproxy("haproxy")
    with http_backends("r0", "r1") as bes:
        fe = free_port()
        want = _cli_run("haproxy", bes, fe)
        got = _cli_run("ours", bes, fe)
    assert "SRV=mine" in want[0]  # a server's own cookie stays
    assert want[3] != want[0]  # 2.6 did change the cookies with the key
    for w, g in zip(want, got, strict=True):
        assert g == w, f"\nhaproxy {w}\nours    {g}"


# ----------------------------------------------------------------------------- persist rdp-cookie

class _NameServer(TcpServer):
    """Reads what the proxy forwards (up to the RDP cookie's CR LF), answers its name, closes."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        with c:
            c.settimeout(5)
            got = b""
            try:
                while b"\r\n" not in got:
                    d = c.recv(4096)
                    if not d:
                        break
                    got += d
                c.sendall(self.name.encode())
            except OSError:
                pass


def _rdp_packet(cookie_line: bytes) -> bytes:
    x224 = b"\xe0\x00\x00\x00\x00\x00"
    body = bytes([len(x224) + len(cookie_line)]) + x224 + cookie_line
    return b"\x03\x00" + (4 + len(body)).to_bytes(2, "big") + body


def _rdp_value(port: int, rng: random.Random) -> str:
    addr = int.from_bytes(bytes([127, 0, 0, 1]), "little")
    sport = int.from_bytes(port.to_bytes(2, "big"), "little")
    a, p = str(addr), str(sport)
    r = rng.random()
    if r < 0.1:
        p = str(sport + 65536)  # wraps to the same 16 bits
    elif r < 0.2:
        a = "+" + a
    elif r < 0.25:
        p = str(sport ^ 1)  # no such server
    elif r < 0.3:
        return f"{a}.{p}"  # no dot after the port
    return f"{a}.{p}.{rng.randint(0, 9999):04d}"


def _rdp_run(which: str, seed: int, servers: list[_NameServer], ports: tuple[int, int]) -> list[str]:
    rng = random.Random(seed)
    p1, p2 = ports
    srv_lines = "".join(f"    server {s.name} 127.0.0.1:{s.port}\n" for s in servers[:3])
    cfg = f"""defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen l1
    bind 127.0.0.1:{p1}
    balance first
    persist rdp-cookie
    tcp-request inspect-delay 5s
    tcp-request content accept if RDP_COOKIE
{srv_lines}    server off 127.0.0.1:{servers[3].port} disabled
listen l2
    bind 127.0.0.1:{p2}
    balance first
    persist rdp-cookie(Foo)
    option persist
    tcp-request inspect-delay 5s
    tcp-request content accept if RDP_COOKIE
{srv_lines}    server off 127.0.0.1:{servers[3].port} disabled
"""
    out = []
    with run_proxy(cfg, wait_ports=[p1, p2], which=which):
        for _ in range(32):
            port = rng.choice(ports)
            target = rng.choice(servers)
            names = ["msts", "MSTS"] if port == p1 else ["foo", "Foo"]
            name = rng.choice(names * 3 + ["mstsx", "foo" if port == p1 else "msts"])
            spaces = rng.choice([" ", " ", "  ", ""])
            line = f"{rng.choice(['Cookie:', 'cookie:'])}{spaces}{name}={_rdp_value(target.port, rng)}\r\n"
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.settimeout(5)
                c.sendall(_rdp_packet(line.encode()))
                try:
                    got = recv_all(c)
                except OSError as e:
                    got = repr(e).encode()
            out.append(f"{port == p1} {line.strip()} -> {got.decode(errors='replace')}")
    return out


def test_persist_rdp_cookie_as_haproxy() -> None:
    """Seeded RDP connection requests (cookie names, case, spaces, values with wrapped ports, a
    sign, a wrong port, no final dot; a disabled server, option persist) through two listens:
    which server each reached, as 2.6. The listens balance with ``first`` so that the server
    reached says what persistence chose (``balance rdp-cookie`` is test_balance_rdp_cookie_as_haproxy's)."""
    require_haproxy("haproxy")
    servers = [_NameServer(f"t{i}") for i in range(4)]
    try:
        ports = (free_port(), free_port())
        want = _rdp_run("haproxy", 3389, servers, ports)
        got = _rdp_run("ours", 3389, servers, ports)
        # guards the meaning: 2.6 sent requests to the servers their cookies name (t1, t2: not
        # the first server), and (option persist) one to the disabled server
        assert any(" -> t3" in w for w in want if w.startswith("False")), want
        assert any(" -> t1" in w for w in want) and any(" -> t2" in w for w in want), want
        for w, g in zip(want, got, strict=True):
            assert g == w, f"\nhaproxy {w}\nours    {g}"
    finally:
        for s in servers:
            s.close()


def test_balance_rdp_cookie_as_haproxy() -> None:
    """``balance rdp-cookie[(NAME)]`` in TCP mode: seeded RDP connection requests (cookie values,
    the name's case, spaces after the colon, a request without the cookie) reach the server 2.6
    sends them to: the hash of the cookie's value, round robin without one."""
    require_haproxy("haproxy")
    servers = [_NameServer(f"t{i}") for i in range(4)]
    try:
        ports = (free_port(), free_port())
        srv_lines = "".join(f"    server {s.name} 127.0.0.1:{s.port}\n" for s in servers)
        cfg = f"""defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen l1
    bind 127.0.0.1:{ports[0]}
    balance rdp-cookie
    tcp-request inspect-delay 5s
    tcp-request content accept if RDP_COOKIE
{srv_lines}listen l2
    bind 127.0.0.1:{ports[1]}
    balance rdp-cookie(user)
    tcp-request inspect-delay 2s
    tcp-request content accept if {{ req.rdp_cookie_cnt(user) gt 0 }}
{srv_lines}"""
        rng = random.Random(3390)
        cases = []
        for _ in range(30):
            port = rng.choice(ports)
            name = rng.choice(["mstshash", "MSTSHASH"] if port == ports[0] else ["user", "User"])
            value = "".join(rng.choice("abcdefxyz0123456789") for _ in range(rng.randint(1, 12)))
            cases.append((port, f"Cookie:{' ' * rng.randint(0, 2)}{name}={value}\r\n".encode()))
        results = {}
        for which in ("haproxy", "ours"):
            with run_proxy(cfg, wait_ports=list(ports), which=which):
                got = []
                for port, line in cases:
                    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                        c.sendall(_rdp_packet(line))
                        c.settimeout(5)
                        try:
                            got.append(c.recv(100).decode())
                        except OSError as e:
                            got.append(type(e).__name__)
                results[which] = got
        assert results["ours"] == results["haproxy"], list(zip(cases, results["haproxy"], results["ours"], strict=True))
        assert len(set(results["haproxy"])) >= 3  # the hash spreads the values over the servers
    finally:
        for s in servers:
            s.close()
