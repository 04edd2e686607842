"""TLS extensions Python's ``ssl`` has no call for, side by side with HAProxy 2.6 (the same
generated certificates): Signed Certificate Timestamp lists (FILE.sctl) served in the
signed_certificate_timestamp extension, NPN (``npn`` on bind lines and crt-list lines, the
``ssl_fc_npn`` fetch; ``npn`` on servers). What ``openssl s_client`` reports is compared."""

from __future__ import annotations

import random
import re
import shutil
import struct
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import free_port, require_haproxy, run_proxy
from tests.integration.test_tls_bind_vs_haproxy import check_all, check_both, pmap, s_client
from tests.integration.tls_certs import Certs

DEFAULTS = """defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
"""


def _sct_list(rng: random.Random) -> bytes:
    """An SCT list as a .sctl file holds it: a 2-byte length, then entries of a 2-byte length
    and an SCT (version, log id, timestamp, extensions, signature), generated."""
    out = b""
    for _ in range(rng.randint(1, 3)):
        ext = rng.randbytes(rng.randint(0, 6))
        sig = rng.randbytes(rng.randint(8, 72))
        sct = (b"\x00" + rng.randbytes(32) + struct.pack(">Q", rng.randint(1, 1 << 45)) + struct.pack(">H", len(ext))
               + ext + b"\x04\x03" + struct.pack(">H", len(sig)) + sig)
        out += struct.pack(">H", len(sct)) + sct
    return struct.pack(">H", len(out)) + out


def _serverinfo(text: str) -> tuple[str, ...]:
    """What s_client got of extension 18 (-serverinfo 18), and the protocol."""
    block = re.findall(r"-----BEGIN SERVERINFO FOR EXTENSION 18-----\n(.*?)-----END", text, re.S)
    proto = re.findall(r"^\s*Protocol\s*: (\S+)", text, re.M)
    return ("".join(block).replace("\n", ""), proto[0] if proto else "fail")


@pytest.mark.slow
def test_sct_lists_served_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """FILE.sctl next to two certificates (generated lists), one without: s_client asking for
    SCTs (-serverinfo 18) gets the list of the certificate the server name selects in TLS 1.2, none
    in TLS 1.3 (2.6 serves it as a TLS 1.2 ServerHello extension only), none without asking
    (-tlsextdebug); with 'ssl-load-extra-files none' the lists are not read; 'set ssl cert' keeps
    the list (ours only: 2.6.12's process dies on that commit); -c's verdict on generated malformed lists (2.6's message)."""
    rng = random.Random(1618)
    root = certs.root
    d = tmp_path / "c"
    d.mkdir()
    for n in ("ec", "rsa", "wild"):
        shutil.copy(root / f"{n}.pem", d / f"{n}.pem")
    (d / "ec.pem.sctl").write_bytes(_sct_list(rng))
    (d / "rsa.pem.sctl").write_bytes(_sct_list(rng))
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
{{glob}}{DEFAULTS}frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {d}/ec.pem crt {d}/rsa.pem crt {d}/wild.pem
    http-request return status 200 content-type text/plain string ok
"""
    cases = [(sni, v, ask) for sni in ("www.example.com", "rsa.example.net", "a.wild.test", "other.test")
             for v in ("-tls1_2", "-tls1_3") for ask in (True, False)]
    require_haproxy("haproxy")
    results = []
    committed: list[Any] = []
    for glob in ("", "    ssl-load-extra-files none\n"):
        out = []
        for which in ("haproxy", "ours"):
            port = free_port()
            with run_proxy(cfg.replace("{p0}", str(port)).replace("{glob}", glob), wait_ports=[port],
                           which=which) as pp:
                def one(case: tuple[str, str, bool], port: int = port) -> tuple[Any, ...]:
                    sni, v, ask = case
                    args = ["-servername", sni, v] + (["-serverinfo", "18"] if ask else ["-tlsextdebug"])
                    # (TLS 1.3: the session s_client prints comes with the ticket, after the handshake)
                    text = s_client(port, *args, data=b"", ready=v == "-tls1_3", delay=0.2 if v == "-tls1_3" else 0)
                    return (sni, v, ask, _serverinfo(text), "(id=18)" in text)

                got: list[Any] = pmap(one, cases)
                if not glob and which == "ours":
                    # 'set ssl cert' + commit keeps the list (2.6.12 dies on that commit: its
                    # process exits, so this part is ours only)
                    from tests.integration.stats_client import admin_socket
                    from tests.integration.test_tls_cli_vs_haproxy import ask as cli

                    sock = Path(admin_socket(pp))
                    pem = (root / "ec.crt").read_text() + (root / "ec.key").read_text()
                    committed = [cli(sock, f"set ssl cert {d}/ec.pem <<\n{pem}"),
                                 cli(sock, f"commit ssl cert {d}/ec.pem"),
                                 _serverinfo(s_client(port, "-tls1_2", "-serverinfo", "18", data=b""))]
                out.append(got)
        assert out[1] == out[0], glob
        results.append(out[0])
    served = [r for r in results[0] if r[3][0]]
    assert {(s, v) for s, v, _, _, _ in served} == {("www.example.com", "-tls1_2"), ("rsa.example.net", "-tls1_2"),
                                                   ("other.test", "-tls1_2")}
    assert committed[1].endswith(b"Success!\n\n")
    assert committed[2][0] == results[0][0][3][0]  # the same list after the commit
    assert not any(r[3][0] for r in results[1])
    # malformed lists: -c's verdicts
    bad = [b"", b"\x00", b"junk", b"\x00\x05\x00\x03ab", b"\x00\x04\x00\x03abc", b"\x00\x03\x00\x00\x01",
           _sct_list(rng)[:-1], _sct_list(rng) + b"\x00", b"\x00\x02\x00\x00", b"\x00\x00"]
    texts = []
    for i, blob in enumerate(bad):  # (each list next to its own copy of the certificates)
        di = tmp_path / f"bad{i}"
        shutil.copytree(d, di)
        (di / "ec.pem.sctl").write_bytes(blob)
        texts.append(cfg.replace(str(d), str(di)).replace("{p0}", "1").replace("{glob}", "").replace(
            "    stats socket @DIR@/admin.sock mode 600 level admin\n", ""))
    for blob, (theirs_c, ours_c) in zip(bad, check_all(texts, tmp_path), strict=True):
        assert ours_c == theirs_c, blob


def _npn_seen(text: str) -> tuple[str, ...]:
    """What s_client reports of NPN (the server's list, the protocol chosen), the protocol and
    the response's body line."""
    adv = re.findall(r"^Protocols advertised by server: (.*)$", text, re.M)
    nxt = re.findall(r"^Next protocol: (.*)$", text, re.M)
    proto = re.findall(r"^\s*Protocol\s*: (\S+)", text, re.M)
    body = re.findall(r"(npn=[^\r\n]*?)(?:closed)?$", text, re.M)
    return (adv[0] if adv else "-", nxt[0] if nxt else "-", proto[0] if proto else "fail",
            body[0] if body else "-")


def test_npn_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """npn on a bind line and on crt-list lines: the list s_client sees advertised in TLS 1.2 (none
    in TLS 1.3, nor to a client that does not ask), the protocol it chose with generated offers
    (one the server has, or its own first choice), ssl_fc_npn's value (and ssl_fc_alpn's beside:
    ALPN wins when both are offered), 'show ssl crt-list' with the option; -c's verdicts on a
    missing list, on a crt-list line's npn."""
    from tests.integration.stats_client import admin_socket, stats_cli

    rng = random.Random(2606)
    root = certs.root
    lst = tmp_path / "list.txt"
    lst.write_text(f"{root}/rsa.pem [npn spdy/3,http/1.0] rsa.example.net\n{root}/ec.pem [alpn http/1.1] www.example.com\n"
                   f"{root}/wild.pem\n")
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
{DEFAULTS}frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {root}/ec.pem npn foo,http/1.1
    bind 127.0.0.1:{{p1}} ssl crt-list {lst} npn http/1.1
    http-request return status 200 content-type text/plain lf-string "npn=%[ssl_fc_npn] alpn=%[ssl_fc_alpn] \
h=%[ssl_fc_npn,length]"
"""
    names = ["http/1.1", "foo", "bar", "spdy/3", "http/1.0", "x" * 20]
    cases: list[tuple[int, str, tuple[str, ...]]] = []
    for _ in range(24):
        args: list[str] = [rng.choice(["-tls1_2", "-tls1_2", "-tls1_3"])]
        if rng.random() < 0.85:
            args += ["-nextprotoneg", ",".join(rng.sample(names, rng.randint(1, 3)))]
        if rng.random() < 0.25:
            args += ["-alpn", "http/1.1"]
        cases.append((rng.randint(0, 1), rng.choice(["www.example.com", "rsa.example.net", "a.wild.test"]),
                      tuple(args)))
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        ports = [free_port(), free_port()]
        with run_proxy(cfg.replace("{p0}", str(ports[0])).replace("{p1}", str(ports[1])), wait_ports=ports,
                       which=which) as pp:
            def one(case: tuple[int, str, tuple[str, ...]], ports: list[int] = ports) -> tuple[Any, ...]:
                p, sni, args = case
                text = s_client(ports[p], "-servername", sni, *args, "-ign_eof",
                                data=b"GET / HTTP/1.0\r\n\r\n", delay=0.2 if "-tls1_3" in args else 0)
                return (p, sni, args, _npn_seen(text))

            got: list[Any] = pmap(one, cases)
            got.append(stats_cli(admin_socket(pp), f"show ssl crt-list {lst}"))
            out.append(got)
    for a, b in zip(out[1], out[0], strict=True):
        assert a == b
    seen = {c[3][1] for c in out[0][:-1]}
    assert "(1) foo" in seen and "(1) http/1.1" in seen and any(x.startswith("(2)") for x in seen)
    assert any(c[3][3].startswith("npn=spdy/3") or c[3][3].startswith("npn=http/1.0") for c in out[0][:-1])
    assert "[npn spdy/3,http/1.0\x00]" in out[0][-1]  # (2.6 shows the list's last byte, a NUL)
    bads = (" npn", " npn ''", " npn http/1.1,,foo")
    texts = [cfg.replace(" npn foo,http/1.1", bad).replace("{p0}", "1").replace("{p1}", "2").replace(
        "    stats socket @DIR@/admin.sock mode 600 level admin\n", "") for bad in bads]
    for bad, (theirs_c, ours_c) in zip(bads, check_all(texts, tmp_path), strict=True):
        assert ours_c == theirs_c, bad
    lst.write_text(f"{root}/rsa.pem [npn] rsa.example.net\n")
    text = cfg.replace("{p0}", "1").replace("{p1}", "2").replace(
        "    stats socket @DIR@/admin.sock mode 600 level admin\n", "")
    theirs_c, ours_c = check_both(text, tmp_path)
    assert ours_c == theirs_c and theirs_c


def test_server_npn_as_haproxy(certs: Certs) -> None:
    """npn on server lines (TLS 1.2 to a listener of the same proxy advertising 'foo,http/1.1'):
    a protocol in common (ssl_bc_npn, and the listener's ssl_fc_npn in the body), none in common
    (2.6's handshake failure: 503), npn with alpn (ALPN wins), npn over TLS 1.3 (not used), npn in
    default-server."""
    cfg = f"""{DEFAULTS}frontend tls
    bind 127.0.0.1:{{p1}} ssl crt {certs['ec.pem']} npn foo,http/1.1 alpn http/1.1,bar
    http-request return status 200 content-type text/plain lf-string "npn=%[ssl_fc_npn] alpn=%[ssl_fc_alpn]"
frontend fe
    bind 127.0.0.1:{{p0}}
    use_backend %[path,field(2,/)]
backend common
    http-response set-header x-bc-npn %[ssl_bc_npn]
    server s 127.0.0.1:{{p1}} ssl verify none npn spdy/2,http/1.1 ssl-max-ver TLSv1.2
backend first
    http-response set-header x-bc-npn %[ssl_bc_npn]
    server s 127.0.0.1:{{p1}} ssl verify none npn foo ssl-max-ver TLSv1.2
backend none
    http-response set-header x-bc-npn %[ssl_bc_npn]
    server s 127.0.0.1:{{p1}} ssl verify none npn zzz ssl-max-ver TLSv1.2
backend withalpn
    http-response set-header x-bc-npn %[ssl_bc_npn]
    http-response set-header x-bc-alpn %[ssl_bc_alpn]
    server s 127.0.0.1:{{p1}} ssl verify none npn foo alpn bar ssl-max-ver TLSv1.2
backend tls13
    http-response set-header x-bc-npn %[ssl_bc_npn]
    server s 127.0.0.1:{{p1}} ssl verify none npn foo
backend dflt
    default-server ssl verify none npn http/1.1 ssl-max-ver TLSv1.2
    http-response set-header x-bc-npn %[ssl_bc_npn]
    server s 127.0.0.1:{{p1}}
"""
    from tests.integration.harness import get

    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        p0, p1 = free_port(), free_port()
        with run_proxy(cfg.replace("{p0}", str(p0)).replace("{p1}", str(p1)), wait_ports=[p0, p1], which=which):
            got = []
            for b in ("common", "first", "none", "withalpn", "tls13", "dflt"):
                st, h, body = get(p0, f"/{b}")
                got.append((b, st, h.get("x-bc-npn"), h.get("x-bc-alpn"), body if st == 200 else b""))
            out.append(got)
    assert out[1] == out[0]
    res = {r[0]: r for r in out[0]}
    assert res["common"][2] == "http/1.1" and res["first"][2] == "foo" and res["none"][1] == 503
    assert res["tls13"][2] == "" and res["dflt"][2] == "http/1.1"


class _RecordingTlsServer:
    """A TLS server (MemoryBIO over a plain socket, one request per connection) asking for a
    client certificate: the body of its answer tells the chain the client sent besides its own
    certificate (subjects, OpenSSL's peer chain read through haproxy_py.tls.native) and the length
    of each application data record the client sent."""

    def __init__(self, certs: Certs) -> None:
        import socket
        import ssl
        import threading

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs["rsa.pem"])
        ctx.load_verify_locations(certs["ca.crt"])
        ctx.verify_mode = ssl.CERT_OPTIONAL
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.stop = True
        self.sock.close()

    def _accept(self) -> None:
        import threading

        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: Any) -> None:
        import ssl

        from haproxy_py.tls import native

        c.settimeout(5)
        inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self.ctx.wrap_bio(inc, outg, server_side=True)
        raw = bytearray()
        try:
            while True:
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    if outg.pending:
                        c.sendall(outg.read())
                    d = c.recv(65536)
                    if not d:
                        return
                    raw.extend(d)
                    inc.write(d)
            if outg.pending:
                c.sendall(outg.read())
            req = b""
            while b"\r\n\r\n" not in req or len(req.split(b"\r\n\r\n", 1)[1]) < 5000:
                try:
                    req += obj.read(65536)
                    continue
                except ssl.SSLWantReadError:
                    pass
                d = c.recv(65536)
                if not d:
                    break
                raw.extend(d)
                inc.write(d)
            # every record the client sent (its TLS 1.3 Finished is one too, a small one)
            lens, i = [], 0
            while i + 5 <= len(raw):
                n = int.from_bytes(raw[i + 3:i + 5], "big")
                if raw[i] == 0x17:
                    lens.append(n)
                i += 5 + n
            chain = [ssl.DER_cert_to_PEM_cert(x) for x in native.chain_list(obj)]
            subjects = []
            for pem in chain:
                from haproxy_py.tls.info import decode_pem

                subjects.append(str(decode_pem(pem).get("subject", "")))
            body = f"chain={subjects} max={max(lens) if lens else 0}".encode()
            obj.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            c.sendall(outg.read())
        except (OSError, ssl.SSLError):
            pass
        finally:
            c.close()


def test_server_side_maxrecord_and_client_chain_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """The globals that also apply to connections to servers in 2.6: tune.ssl.maxrecord (the
    records of a 5000-byte request body sent to a TLS server), ssl-skip-self-issued-ca (the
    client certificate's chain sent without its self-signed CA) and issuers-chain-path (a client
    certificate file without a chain sent with the chain of its issuer's file)."""
    import socket

    root = certs.root
    iss = tmp_path / "issuers"
    iss.mkdir()
    shutil.copy(root / "ca.crt", iss / "ca.pem")
    alone = tmp_path / "alone.pem"
    alone.write_text((root / "client.crt").read_text() + (root / "client.key").read_text())
    srv = _RecordingTlsServer(certs)
    base = f"""{DEFAULTS}frontend fe
    bind 127.0.0.1:{{p0}}
    use_backend %[path,field(2,/)]
backend withca
    server s 127.0.0.1:{srv.port} ssl verify none crt {root}/client.pem
backend alone
    server s 127.0.0.1:{srv.port} ssl verify none crt {alone}
"""
    body = b"y" * 5000

    def post(port: int, path: str) -> bytes:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST %s HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s"
                  % (path.encode(), len(body), body))
        data = b""
        while (d := s.recv(65536)):
            data += d
        s.close()
        return data.split(b"\r\n\r\n", 1)[-1]

    require_haproxy("haproxy")
    results = []
    try:
        for glob in ("", "    tune.ssl.maxrecord 600\n    ssl-skip-self-issued-ca\n", f"    issuers-chain-path {iss}\n"):
            out = []
            for which in ("haproxy", "ours"):
                port = free_port()
                with run_proxy("global\n" + glob + base.replace("{p0}", str(port)), wait_ports=[port], which=which):
                    out.append([post(port, "/withca"), post(port, "/alone")])
            assert out[1] == out[0], glob
            results.append(out[0])
    finally:
        srv.close()
    plain, tuned, issued = results
    assert b"Test CA" in plain[0] and b"Test CA" not in plain[1]
    assert b"Test CA" not in tuned[0] and int(tuned[0].rsplit(b"=", 1)[1]) <= 617 < int(plain[0].rsplit(b"=", 1)[1])
    assert b"Test CA" in issued[1]


def test_server_side_fetches_misplaced_as_haproxy(tmp_path: Path) -> None:
    """-c's message for a server connection's fetch used in a backend's http-request rule (it
    names what the fetch needs: 'server-side connection' for ssl_bc_*, 'server address' for
    bc_*), and no 'L6 sample fetch ignored' warning for ssl_fc_* in an HTTP log-format."""
    for f in ("ssl_bc_npn", "ssl_bc_alpn", "ssl_bc", "bc_err", "bc_src_port", "bc_http_major", "res.hdr(x)"):
        text = f"""{DEFAULTS}backend b
    http-request set-header x %[{f}]
    server s 127.0.0.1:1
"""
        theirs_c, ours_c = check_both(text, tmp_path)
        assert ours_c == theirs_c and theirs_c, f
    text = f"""{DEFAULTS}frontend fe
    bind 127.0.0.1:1
    http-request set-header x %[ssl_fc_npn]%[ssl_fc_alpn]%[req.len]
    http-request return status 200 content-type text/plain lf-string "%[ssl_fc_sni] %[ssl_c_used]"
"""
    theirs_c, ours_c = check_both(text, tmp_path)
    assert ours_c == theirs_c and len(theirs_c) == 1, theirs_c  # req.len's warning only


def _early_client(port: int, sess: Path, *args: str, stdin: bytes = b"") -> str:
    """``openssl s_client`` (``args``: -sess_in/-sess_out/-early_data...), ``stdin`` sent after the
    handshake: what it says of the session, its early data, and the answers it got."""
    import subprocess
    import time

    from tests.integration.test_tls_bind_vs_haproxy import _HANDSHAKE_DONE, _read_until

    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-ign_eof", *args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        head = _read_until(p, _HANDSHAKE_DONE, 10.0)  # (the handshake reported: stdin goes after it)
        if stdin:
            p.stdin.write(stdin)  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
            time.sleep(0.3)
        out, _ = p.communicate(b"", timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
    text = (head + out).decode(errors="replace")
    return " ".join(re.findall(r"Early data was \w+|Max Early Data: \d+|^(?:New|Reused), \S+|p=\S+ ed=\S* has=\S*;",
                               text, re.M))


@pytest.mark.slow
def test_early_data_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """allow-0rtt: a client resuming its TLS 1.3 session sends its request as early data
    (s_client -sess_in -early_data): accepted with allow-0rtt, not sent without (its ticket allows
none); the request (and
    a second one on the same connection) is answered, and ssl_fc_has_early and the Early-Data
    header the server gets are what 2.6 gives (on a local connection 2.6 ends the handshake before
    the request is processed: false, none); clients without early data are served as before."""
    req = tmp_path / "req.txt"
    req.write_text("GET /e HTTP/1.1\r\nhost: x\r\n\r\n")
    # (s_client -ign_eof ends when the proxy closes the idle connection: 'timeout client')
    cfg = f"""{DEFAULTS.replace("client 5s", "client 1s")}frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {certs['ec.pem']} allow-0rtt
    bind 127.0.0.1:{{p1}} ssl crt {certs['ec.pem']}
    http-request set-header x-has %[ssl_fc_has_early]
    default_backend b
backend b
    server s 127.0.0.1:{{p2}}
frontend echo
    bind 127.0.0.1:{{p2}}
    http-request return status 200 content-type text/plain lf-string "p=%[path] ed=%[req.hdr(early-data)] \
has=%[req.hdr(x-has)];"
"""

    run = _early_client

    def clients(which_port: tuple[str, int]) -> list[str]:
        which, port = which_port
        sess = tmp_path / f"{which}-{port}.sess"
        return [run(port, sess, "-tls1_3", "-sess_out", str(sess), stdin=b""),
                run(port, sess, "-tls1_3", "-sess_in", str(sess), "-sess_out", str(sess),
                    "-early_data", str(req), stdin=b"GET /second HTTP/1.1\r\nhost: x\r\n\r\n"),
                run(port, sess, "-tls1_3", "-sess_in", str(sess), stdin=b"GET /plain HTTP/1.1\r\nhost: x\r\n\r\n"),
                run(port, sess, "-tls1_2", stdin=b"GET /v12 HTTP/1.1\r\nhost: x\r\n\r\n")]

    require_haproxy("haproxy")
    # both proxies at once, each listener's clients (one after the other) beside the others'
    with ExitStack() as stack:
        jobs = []
        for which in ("haproxy", "ours"):
            ports = [free_port(), free_port(), free_port()]
            text = cfg
            for i, p in enumerate(ports):
                text = text.replace(f"{{p{i}}}", str(p))
            stack.enter_context(run_proxy(text, wait_ports=ports[2:], which=which))
            jobs += [(which, port) for port in ports[:2]]
        res = pmap(clients, jobs)
    out = [res[0] + res[1], res[2] + res[3]]
    assert out[1] == out[0]
    assert "Early data was accepted" in out[0][1] and "p=/e ed= has=0;" in out[0][1] and "p=/second" in out[0][1]
    assert "Early data was not" in out[0][5] and "Max Early Data: 15360" in out[0][0]


def _early_facts(text: str) -> str:
    """_early_client's report without repeats (s_client prints a session once per ticket it gets,
    and a loaded machine may close the connection before the second)."""
    words = re.findall(r"Early data was \w+|Max Early Data: \d+|(?:New|Reused), \S+|p=\S+ ed=\S* has=\S*;", text)
    return " ".join(dict.fromkeys(words))


@pytest.mark.slow
def test_crt_list_early_data_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """``allow-0rtt`` on crt-list lines, on a bind line with and without its own: 2.6 takes a
    connection's early data limit from the bind line's context, so a line's allow-0rtt changes
    nothing: without the bind line's, no ticket allows early data (the client sends none), with
    it every certificate's connections take it, the line's option or not. Resuming clients with
    each server name (a line with the option, one added by 'add ssl crt-list' with it, none) and
    what s_client reports (the ticket's Max Early Data, early data accepted / not sent, the
    answers) compared with 2.6, and the list as 'show ssl crt-list' prints it."""
    from tests.integration.stats_client import admin_socket, stats_cli

    req = tmp_path / "req.txt"
    req.write_text("GET /e HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    lst = tmp_path / "list.txt"
    lst.write_text(f"{certs['ec.pem']} [allow-0rtt] www.example.com\n{certs['rsa.pem']} [alpn http/1.1]\n")
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
{DEFAULTS.replace("client 5s", "client 1s")}frontend fe
    bind 127.0.0.1:{{p0}} ssl crt-list {lst}
    bind 127.0.0.1:{{p1}} ssl crt-list {lst} allow-0rtt
    http-request return status 200 content-type text/plain lf-string "p=%[path] ed=%[req.hdr(early-data)] \
has=%[ssl_fc_has_early];"
"""
    def resume(job: tuple[str, int, tuple[str, ...]]) -> list[str]:
        which, port, sni = job
        sess = tmp_path / f"{which}-{port}-{sni[-1]}.sess"
        return [_early_facts(_early_client(port, sess, "-tls1_3", *sni, "-sess_out", str(sess))),
                _early_facts(_early_client(port, sess, "-tls1_3", *sni, "-sess_in", str(sess), "-early_data", str(req)))]

    require_haproxy("haproxy")
    out = []
    # both proxies at once; each (listener, server name)'s two clients beside the others'
    with ExitStack() as stack:
        jobs = []
        for which in ("haproxy", "ours"):
            ports = [free_port(), free_port()]
            text = cfg.replace("{p0}", str(ports[0])).replace("{p1}", str(ports[1]))
            pp = stack.enter_context(run_proxy(text, wait_ports=ports, which=which))
            sock = admin_socket(pp)
            out.append([stats_cli(sock, f"add ssl crt-list {lst} <<\n{certs['rsa.pem']} [allow-0rtt] added.test\n")
                        + stats_cli(sock, f"show ssl crt-list {lst}")])
            jobs.append([(which, port, sni) for port in ports
                         for sni in (("-servername", "www.example.com"), ("-servername", "added.test"),
                                     ("-noservername",))])
        res = pmap(resume, jobs[0] + jobs[1], workers=6)
    for i, got in enumerate(out):
        for pair in res[6 * i:6 * i + 6]:
            got += pair
    assert out[1] == out[0], [(i, a, b) for i, (a, b) in enumerate(zip(out[0], out[1], strict=True)) if a != b]
    assert "[allow-0rtt] www.example.com" in out[0][0] and "Success" in out[0][0], out[0][0]
    assert "[allow-0rtt] added.test" in out[0][0]
    assert all("Early data was not" in g and "Reused" in g for g in out[0][2:7:2]), out[0]
    assert all("Early data was accepted" in g and "p=/e" in g for g in out[0][8:13:2]), out[0]
    assert "Max Early Data: 15360" in out[0][7] and "Max Early Data: 0" in out[0][1]


@pytest.mark.slow
def test_server_0rtt_fails_on_haproxy(certs: Certs, tmp_path: Path) -> None:
    """Why a server's allow-0rtt stays refused: 2.6.12 tries early data to a server only with
    'retry-on 0rtt-rejected' (or for a request that came as early data) once it has a session to
    resume, and then fails the connection during the handshake (502, SH; its own allow-0rtt
    listener logs a handshake failure), so no request ever reaches a server as early data. The
    first request (nothing to resume) passes; haproxy-py refuses the line with that reason."""
    import subprocess
    import sys

    from tests.integration.harness import get

    cfg = f"""global
    nbthread 1
{DEFAULTS}    http-reuse never
frontend fe
    bind 127.0.0.1:{{p0}}
    default_backend b
backend b
    retry-on 0rtt-rejected conn-failure
    server s 127.0.0.1:{{p1}} ssl verify none allow-0rtt
frontend tls
    bind 127.0.0.1:{{p1}} ssl crt {certs['ec.pem']} allow-0rtt
    http-request return status 200 content-type text/plain lf-string "early=%[ssl_fc_has_early]"
"""
    require_haproxy("haproxy")
    p0, p1 = free_port(), free_port()
    text = cfg.replace("{p0}", str(p0)).replace("{p1}", str(p1))
    with run_proxy(text, wait_ports=[p0, p1], which="haproxy"):
        got = [get(p0, f"/{i}") for i in range(5)]
    assert got[0][0] == 200 and got[0][2] == b"early=0", got[0]
    assert [g[0] for g in got[1:]].count(502) >= 3, got
    assert not any(g[2] == b"early=1" for g in got)
    cfgf = tmp_path / "c.cfg"
    cfgf.write_text(text)
    p = subprocess.run([sys.executable, "-m", "haproxy_py", "-c", "-f", str(cfgf)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode != 0 and "server parameter 'allow-0rtt' is not implemented by haproxy-py" in p.stderr
    assert "its connection fails during the handshake (502, SH)" in p.stderr


@pytest.mark.slow
def test_sctl_set_at_runtime(certs: Certs, tmp_path: Path) -> None:
    """'set ssl cert NAME.sctl' + a payload: 2.6's replies for a payload that is no SCT list, for a
    certificate not loaded, without a payload, and 'created' then 'updated' for a second 'set' of
    the same certificate. 2.6.12 cannot load any list this way (it reads the payload up to its first
    NUL, and every SCT starts with one), haproxy-py takes the list in base64 (as .ocsp payloads):
    after the commit, TLS 1.2 clients asking for SCTs get the new list (ours only)."""
    import base64

    from tests.integration.stats_client import admin_socket
    from tests.integration.test_tls_cli_vs_haproxy import ask as cli

    rng = random.Random(1619)
    d = tmp_path / "c"
    d.mkdir()
    shutil.copy(certs.root / "ec.pem", d / "ec.pem")
    old_list, new_list = _sct_list(rng), _sct_list(rng)
    (d / "ec.pem.sctl").write_bytes(old_list)
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
{DEFAULTS}frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {d}/ec.pem
    http-request return status 200 content-type text/plain string ok
"""
    pem = (certs.root / "ec.crt").read_text() + (certs.root / "ec.key").read_text()
    bad = ["ABCD", base64.b64encode(old_list[:-1]).decode(), "not base64 at all!"]
    require_haproxy("haproxy")
    out = []
    served: list[Any] = []
    for which in ("haproxy", "ours"):
        port = free_port()
        with run_proxy(cfg.replace("{p0}", str(port)), wait_ports=[port], which=which) as pp:
            sock = Path(admin_socket(pp))
            got = [cli(sock, f"set ssl cert {d}/ec.pem.sctl <<\n{b}\n") for b in bad]
            got.append(cli(sock, f"set ssl cert {d}/nope.pem.sctl <<\nABCD\n"))
            got.append(cli(sock, f"set ssl cert {d}/ec.pem.sctl"))
            got += [cli(sock, f"set ssl cert {d}/ec.pem <<\n{pem}") for _ in range(2)]
            got.append(cli(sock, f"abort ssl cert {d}/ec.pem"))
            out.append(got)
            if which == "ours":
                before = _serverinfo(s_client(port, "-tls1_2", "-serverinfo", "18", data=b""))
                b64 = base64.b64encode(new_list).decode()
                served = [cli(sock, f"set ssl cert {d}/ec.pem.sctl <<\n{b64}\n"),
                          cli(sock, f"commit ssl cert {d}/ec.pem"), before,
                          _serverinfo(s_client(port, "-tls1_2", "-serverinfo", "18", data=b""))]
    assert out[1] == out[0]
    assert all(g.startswith(b"Can't load the payload\n") for g in out[0][:3]), out[0]
    assert b"not referenced" in out[0][3] and b"expects a filename" in out[0][4]
    assert out[0][5].startswith(b"Transaction created") and out[0][6].startswith(b"Transaction updated")
    assert served[0] == f"Transaction created for certificate {d}/ec.pem!\n\n".encode()
    assert served[1].endswith(b"Success!\n\n")
    ext = lambda lst: base64.b64encode(b"\x00\x12" + len(lst).to_bytes(2, "big") + lst).decode()  # noqa: E731
    assert served[2] == (ext(old_list), "TLSv1.2") and served[3] == (ext(new_list), "TLSv1.2"), served


@pytest.mark.slow
def test_key_set_at_runtime_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """'set ssl cert NAME.key' + a PEM key replaces the key of NAME's transaction: a key of another
    certificate is taken, and its commit refused (2.6's 'inconsistencies' message; the transaction
    stays), a payload without a key refused at once, the right key then commits; the certificate
    served before and after, 2.6's replies."""
    from tests.integration.stats_client import admin_socket
    from tests.integration.test_tls_bind_vs_haproxy import handshake
    from tests.integration.test_tls_cli_vs_haproxy import ask as cli

    d = tmp_path / "c"
    d.mkdir()
    (d / "site.pem").write_text((certs.root / "ec.crt").read_text())
    shutil.copy(certs.root / "ec.key", d / "site.pem.key")
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
{DEFAULTS}frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {d}/site.pem
    http-request return status 200 content-type text/plain string ok
"""
    rsa_key, ec_key = (certs.root / "rsa.key").read_text(), (certs.root / "ec.key").read_text()
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        port = free_port()
        with run_proxy(cfg.replace("{p0}", str(port)), wait_ports=[port], which=which) as pp:
            sock = Path(admin_socket(pp))
            # (2.6.12 applies a 'set' to the ongoing transaction whatever file it names: the
            # unknown name comes first)
            got: list[Any] = [cli(sock, f"set ssl cert {d}/other.pem.key <<\n{ec_key}"),
                              cli(sock, f"set ssl cert {d}/site.pem.key <<\n{rsa_key}"),
                              cli(sock, f"commit ssl cert {d}/site.pem"),
                              cli(sock, f"set ssl cert {d}/site.pem.key <<\nnot a key\n"),
                              handshake(s_client(port, "-tls1_2", data=b"")),
                              cli(sock, f"set ssl cert {d}/site.pem.key <<\n{ec_key}"),
                              cli(sock, f"commit ssl cert {d}/site.pem"),
                              handshake(s_client(port, "-tls1_2", data=b""))]
            out.append(got)
    assert out[1] == out[0]
    assert b"not referenced" in out[0][0], out[0]
    assert out[0][1].startswith(b"Transaction created") and b"inconsistencies" in out[0][2], out[0]
    assert b"unable to load private key" in out[0][3]
    assert out[0][5].startswith(b"Transaction updated") and out[0][6].endswith(b"Success!\n\n")
    assert out[0][4][0] == "New" and out[0][7][0] == "New"
