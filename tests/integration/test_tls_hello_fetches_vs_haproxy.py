"""The hello fetches of mode tcp (nothing decrypted), side by side with Debian's HAProxy 2.6:
``req.ssl_ec_ext``, ``req.ssl_st_ext`` and ``req_ssl_ver``/``req.ssl_ver`` with dotted-version
ACL patterns route generated ClientHellos (built extension by extension: supported groups,
session tickets empty and not, other extensions, lists and extensions with wrong lengths, cut
short, a byte changed, real OpenSSL hellos with and without tickets); ``res.ssl_hello_type`` and
``rep_ssl_hello_type`` in ``tcp-response content`` rules judge what generated servers send first."""

from __future__ import annotations

import random
import socket
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy

pytestmark = [pytest.mark.timeout(120)]

DEFAULTS = """defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
"""


def _ext(et: int, body: bytes, declared: int | None = None) -> bytes:
    return et.to_bytes(2, "big") + (len(body) if declared is None else declared).to_bytes(2, "big") + body


def _hello(rng: random.Random) -> bytes:
    exts = []
    for et, body in ((0, b"\x00\x09\x00\x00\x06a.test"), (10, b"\x00\x04\x00\x1d\x00\x17"),
                     (35, rng.choice((b"", b"", b"TICKET" * rng.randint(1, 20)))), (16, b"\x00\x03\x02h2"),
                     (43, b"\x04\x03\x04\x03\x03"), (13, b"\x00\x02\x04\x03"), (0x3A3A, b""), (21, bytes(7))):
        if rng.random() < 0.55:
            exts.append(_ext(et, body))
    rng.shuffle(exts)
    if rng.random() < 0.1 and exts:
        i = rng.randrange(len(exts))  # an extension longer than the rest of the list
        exts[i] = exts[i][:2] + (int.from_bytes(exts[i][2:4], "big") + rng.choice((1, 50))).to_bytes(2, "big") + exts[i][4:]
    ext_data = b"".join(exts)
    ext_len = len(ext_data) + (rng.choice((1, -1, 3)) if rng.random() < 0.06 else 0)
    version = rng.choice((b"\x03\x03",) * 6 + (b"\x03\x01", b"\x03\x02", b"\x03\x00", b"\x02\x00"))
    sid = bytes(rng.choice((0, 32)))
    ciphers = b"\x13\x01\x13\x02\xc0\x2b"
    body = (version + bytes(rng.randrange(256) for _ in range(32)) + bytes((len(sid),)) + sid
            + len(ciphers).to_bytes(2, "big") + ciphers + b"\x01\x00" + max(ext_len, 0).to_bytes(2, "big") + ext_data)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    rec_ver = rng.choice((b"\x03\x01",) * 5 + (b"\x03\x03", b"\x03\x00", b"\x02\x00"))
    return b"\x16" + rec_ver + len(hs).to_bytes(2, "big") + hs


def _openssl_hello(tickets: bool) -> bytes:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if not tickets:
        ctx.options |= ssl.OP_NO_TICKET
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="a.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def _hellos(seed: int, n: int) -> list[bytes]:
    rng = random.Random(seed)
    out = [_openssl_hello(True), _openssl_hello(False), b"GET / HTTP/1.0\r\n\r\n", b"\x16\x03\x01\x00"]
    for i in range(n):
        h = _hello(rng)
        kind = i % 7
        if kind == 5:
            h = h[:rng.randrange(1, len(h))]  # cut short: waits for the rest until inspect-delay
        elif kind == 6:
            pos = rng.choice([0, 1, 2, 3, 4, 5, 9, 10, 43, 44, rng.randrange(len(h))])
            h = h[:pos] + bytes([rng.randrange(256)]) + h[pos + 1:]
        out.append(h)
    return out


class _Servers:
    """TCP servers on loopback, each sending ``first(name)`` then its name, reading until the close."""

    def __init__(self, names: list[str], first: Callable[[str], bytes] | None = None) -> None:
        self.socks = []
        for name in names:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(64)
            s.settimeout(0.2)
            self.socks.append((name, s))
        self.first = first
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._serve, args=ns, daemon=True) for ns in self.socks]
        for t in self.threads:
            t.start()

    def port(self, name: str) -> int:
        return next(s.getsockname()[1] for n, s in self.socks if n == name)

    def _serve(self, name: str, s: socket.socket) -> None:
        while not self.stop.is_set():
            try:
                c, _ = s.accept()
            except OSError:
                continue
            threading.Thread(target=self._reply, args=(name, c), daemon=True).start()

    def _reply(self, name: str, c: socket.socket) -> None:
        try:
            c.sendall(self.first(name) if self.first else name.encode())
            c.shutdown(socket.SHUT_WR)
            c.settimeout(2)
            while c.recv(65536):
                pass
        except OSError:
            pass
        c.close()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(2)
        for _, s in self.socks:
            s.close()


def _send(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        if data:
            c.sendall(data)
        got = b""
        try:
            while d := c.recv(65536):
                got += d
        except OSError:
            pass
        return got


def _side_by_side(cfg: str, nports: int, run: Callable[[list[int]], Any]) -> tuple[Any, Any]:
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        ports = [free_port() for _ in range(nports)]
        with run_proxy(cfg.format(**{f"p{i}": p for i, p in enumerate(ports)}), wait_ports=ports, which=which) as pp:
            try:
                out.append(run(ports))
            except Exception:
                print(pp.stderr_text())
                raise
    return out[0], out[1]


def test_hello_extension_fetches_route_as_haproxy() -> None:
    names = ["ec", "st0", "st1", "st2", "v33", "v30_32", "vgt", "vint", "none"]
    srv = _Servers(names)
    backends = "".join(f"backend b_{n}\n    server s 127.0.0.1:{srv.port(n)}\n" for n in names)
    front = """frontend fe{i}
    bind 127.0.0.1:{{p{i}}}
    tcp-request inspect-delay 1s
{rules}    default_backend b_none
"""
    groups = [
        [("b_ec", "req.ssl_ec_ext", "")],
        [("b_st0", "req.ssl_st_ext", "0"), ("b_st1", "req.ssl_st_ext", "1"), ("b_st2", "req.ssl_st_ext", "2")],
        [("b_v33", "req_ssl_ver", "3.3"), ("b_v30_32", "req.ssl_ver", "3.0:3.2"), ("b_vgt", "req_ssl_ver", "gt 3.3"),
         ("b_vint", "req_ssl_ver", "-m int 512")],
    ]
    # the content rules wait while an ACL on the hello may still change (without such a rule 2.6
    # routes on whatever arrived when the stream first runs: a race)
    rules = ["".join(f"    tcp-request content accept if {{{{ {f} {m} }}}}\n" for _b, f, m in g)
             + "".join(f"    use_backend {b} if {{{{ {f} {m} }}}}\n" for b, f, m in g) for g in groups]
    cfg = DEFAULTS + "".join(front.format(i=i, rules=r) for i, r in enumerate(rules)) + backends
    hellos = _hellos(35, 60)

    def run(ports: list[int]) -> list[bytes]:
        with ThreadPoolExecutor(40) as pool:  # the hellos cut short each wait for the delay
            return list(pool.map(lambda a: _send(*a), [(p, h) for h in hellos for p in ports]))

    try:
        theirs, ours = _side_by_side(cfg, len(groups), run)
    finally:
        srv.close()
    diffs = [(k % len(groups), theirs[k], ours[k], hellos[k // len(groups)]) for k in range(len(theirs))
             if theirs[k] != ours[k]]
    assert not diffs, "\n".join(f"{d[0]} 2.6 {d[1]!r} ours {d[2]!r} {d[3].hex()}" for d in diffs[:12]) + f" ({len(diffs)})"
    # the inputs reach every answer
    assert {b"ec", b"st0", b"st1", b"st2", b"v33", b"v30_32", b"none"} <= set(theirs), set(theirs)


_SERVER_FIRST = {
    "sh": b"\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03" + bytes(32) + b"\x00\x13\x01\x00",
    "ch": b"\x16\x03\x01\x00\x08\x01\x00\x00\x04\x03\x03\x00\x00",
    "cut": b"\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03" + bytes(10),
    "ssl2": b"\x16\x02\x00\x00\x05\x02\x00\x00\x01\x00",
    "short": b"\x16\x03\x03\x00\x03\x02\x00\x00\x00",
    "alert": b"\x15\x03\x03\x00\x02\x02\x28",
    "junk": b"220 smtp.example ESMTP\r\n",
}


def test_server_hello_type_as_haproxy() -> None:
    """tcp-response inspect-delay: ``res.ssl_hello_type 2`` / ``rep_ssl_hello_type`` accept a
    ServerHello and what else each server sends first is judged as 2.6 does (a hello cut short
    waits for the delay, then is rejected like the rest)."""
    names = list(_SERVER_FIRST)
    srv = _Servers(names, first=lambda n: _SERVER_FIRST[n])
    f1, f2 = "res.ssl_hello_type", "rep_ssl_hello_type"
    backends = "".join(f"""backend b_{n}
    tcp-response inspect-delay 1s
    tcp-response content accept if {{{{ {f1} 2 }}}}
    tcp-response content accept if {{{{ {f2} 1 }}}} {{{{ res.len gt 12 }}}}
    tcp-response content reject
    server s 127.0.0.1:{srv.port(n)}
""" for n in names)
    cfg = DEFAULTS + "".join(f"frontend fe_{n}\n    bind 127.0.0.1:{{p{i}}}\n    default_backend b_{n}\n"
                             for i, n in enumerate(names)) + backends

    def run(ports: list[int]) -> list[bytes]:
        with ThreadPoolExecutor(len(ports)) as pool:
            return list(pool.map(lambda p: _send(p, b"hello"), ports))

    try:
        theirs, ours = _side_by_side(cfg, len(names), run)
    finally:
        srv.close()
    assert ours == theirs
    assert theirs[0] == _SERVER_FIRST["sh"] and theirs[1] == _SERVER_FIRST["ch"] and theirs[-1] == b"", theirs


def test_dotted_version_patterns_checked_as_haproxy(tmp_path: Any) -> None:
    """``req.ssl_ver``/``req_ssl_ver`` ACL patterns are dotted versions: the same verdicts and
    messages as 2.6's ``-c`` for good and bad ones (``-m int`` and converters take integers)."""
    import subprocess

    from haproxy_py.config import parse_text

    require_haproxy("haproxy")
    cases = ["req_ssl_ver 3.1", "req_ssl_ver 196609", "req_ssl_ver 3.1:3.3", "req_ssl_ver gt 3",
             "req_ssl_ver -m int 3.1", "req_ssl_ver 3.x", "req_ssl_ver 3.3-3.1", "req.ssl_ver 3.1",
             "req_ssl_ver :3.1", "req_ssl_ver 3:", "req_ssl_ver 3.1.1", "req_ssl_ver .", "req_ssl_ver 3.",
             "req_ssl_ver -m int 196609", "req_ssl_ver,add(1) 3.1", "req.ssl_ver 196609", "req_ssl_ver :",
             "req_ssl_ver 3.1 3.3", "req_ssl_ver ge 3.1", "req_ssl_ver 65536", "req_ssl_ver 65535.65535",
             "req_ssl_ver +3", "req_ssl_ver gt 3.1:3.2", "req_ssl_ver 3:3.1:4", "req_ssl_ver -- -3.1",
             "req_ssl_ver 3.-1"]
    # one configuration, an ACL per line: both report every bad line
    head = DEFAULTS + "frontend f\n    bind 127.0.0.1:9\n    tcp-request inspect-delay 1s\n"
    first = head.count("\n") + 1
    text = head + "".join(f"    acl v{i} {a}\n" for i, a in enumerate(cases))
    cfg = tmp_path / "v.cfg"
    cfg.write_text(text)
    r = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    theirs: dict[int, str] = {}
    for ln in r.stderr.splitlines():
        if "error detected while parsing ACL" in ln:
            theirs[int(ln.split("v.cfg:")[1].split("]")[0]) - first] = ln.split("' : ", 1)[1]
    _, d = parse_text(text, str(cfg))
    ours = {m.loc.line - first: m.haproxy for m in d.errors}
    assert set(ours) == set(theirs), ([cases[i] for i in theirs], [cases[i] for i in ours])
    for i, msg in theirs.items():
        assert msg in ours[i], (cases[i], msg, ours[i])
    assert len(theirs) > 10
