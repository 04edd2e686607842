"""The terminating side's fetches that need a capture at the handshake, side by side with HAProxy
2.6 (the same certificates and configuration): the ClientHello's lists under
``tune.ssl.capture-buffer-size`` (ssl_fc_cipherlist_*, ssl_fc_eclist_bin, ssl_fc_ecformats_bin,
ssl_fc_extlist_bin, ssl_fc_protocol_hello_id) for generated ``openssl s_client`` hellos, the TLS 1.3
secrets under ``tune.ssl.keylog on`` against the client's own key log, and the certificate fetches
(ssl_c_chain_der, ssl_c/ssl_f key and signature algorithms, ssl_fc_unique_id).

OpenSSL's clients never send GREASE values, so the GREASE filter (the fetches' argument 1) is
compared here on hellos without any (the filtered list equals the whole one) and unit-tested on
lists with GREASE values in tests/unit/test_tls_capture.py."""

from __future__ import annotations

import random
import re
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest

from haproxy_py.tls.context import set_ciphersuites
from tests.integration.test_tls_bind_vs_haproxy import pmap
from tests.integration.test_tls_vs_haproxy import DEFAULTS, side_by_side
from tests.integration.tls_certs import Certs

HTTP = b"GET / HTTP/1.0\r\n\r\n"

_CIPHERS12 = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305",
              "ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA", "AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-SHA",
              "DHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384", "CAMELLIA128-SHA", "AES128-SHA256"]
_SUITES13 = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
_CURVES = ["P-256", "X25519", "P-384", "P-521", "X448", "ffdhe2048", "ffdhe3072"]


def _s_client(port: int, *args: str) -> str:
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-ign_eof", *args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(HTTP, timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
    return out.decode(errors="replace")


def _hello_clients(seed: int, n: int) -> list[list[str]]:
    """Generated s_client options: versions, TLS 1.2 cipher lists (one ECDSA suite always, for the
    certificate), TLS 1.3 suites, groups (P-256 always), ALPN, server name, tickets."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        opts: list[str] = []
        v = rnd.choice(["", "-tls1_2", "-tls1_3"])
        if v:
            opts.append(v)
        c12 = ["ECDHE-ECDSA-AES128-GCM-SHA256"] + rnd.sample(_CIPHERS12, rnd.randint(0, 6))
        rnd.shuffle(c12)
        opts += ["-cipher", ":".join(dict.fromkeys(c12))]
        if rnd.random() < 0.6:
            opts += ["-ciphersuites", ":".join(rnd.sample(_SUITES13, rnd.randint(1, 3)))]
        groups = ["P-256"] + rnd.sample(_CURVES, rnd.randint(0, 4))  # P-256: the certificate's (TLS 1.2)
        rnd.shuffle(groups)
        opts += ["-curves", ":".join(dict.fromkeys(groups))]
        if rnd.random() < 0.5:
            opts += ["-alpn", ",".join(rnd.sample(["http/1.1", "h2", "x-proto-" + str(rnd.randint(0, 99))],
                                                  rnd.randint(1, 3)))]
        if rnd.random() < 0.7:
            opts += ["-servername", rnd.choice(["www.example.com", "a.example.org", "x" * rnd.randint(1, 60)])]
        else:
            opts.append("-noservername")
        for flag in ("-no_ticket", "-no_etm", "-status"):
            if rnd.random() < 0.3:
                opts.append(flag)
        out.append(opts)
    return out


@pytest.mark.slow
def test_clienthello_capture_as_haproxy(certs: Certs) -> None:
    """tune.ssl.capture-buffer-size (and its deprecated spelling) at sizes that cut the lists at
    different places (test_keylog_secrets_as_the_client_logs_them: no sample without the tune): the fetches' values for generated
    ClientHellos, equal to 2.6's; half the clients go to a listener whose groups make TLS 1.3
    clients that lead with another group's key share send a second ClientHello (HelloRetryRequest)."""
    clients = _hello_clients(1601, 10)
    lf = ("b=%[ssl_fc_cipherlist_bin,hex] bg=%[ssl_fc_cipherlist_bin(1),hex] h=%[ssl_fc_cipherlist_hex] "
          "hg=%[ssl_fc_cipherlist_hex(1)] s=%[ssl_fc_cipherlist_str] sg=%[ssl_fc_cipherlist_str(1)] "
          "x=%[ssl_fc_cipherlist_xxh] e=%[ssl_fc_extlist_bin,hex] eg=%[ssl_fc_extlist_bin(1),hex] "
          "c=%[ssl_fc_eclist_bin,hex] cg=%[ssl_fc_eclist_bin(1),hex] f=%[ssl_fc_ecformats_bin,hex] "
          "v=%[ssl_fc_protocol_hello_id] ;")
    seen: set[str] = set()
    for glob in ("tune.ssl.capture-buffer-size 4096", "tune.ssl.capture-cipherlist-size 61",
                 "tune.ssl.capture-buffer-size 97"):
        cfg = ("global\n    " + glob + "\n" + DEFAULTS + "frontend fe\n"
               "    bind 127.0.0.1:{p0} ssl crt {root}/ec.pem alpn http/1.1\n"
               "    bind 127.0.0.1:{p1} ssl crt {root}/ec.pem curves X25519:P-256\n"
               f'    http-request return status 200 content-type text/plain lf-string "{lf}"\n')

        def run(ports: list[int]) -> list[Any]:
            def one(i: int) -> tuple[Any, ...]:
                got = _s_client(ports[i % 2], *clients[i])
                m = re.search(r"b=.*? ;", got)
                return (clients[i], m.group(0) if m else "no answer")

            return pmap(one, range(len(clients)))

        theirs, ours = side_by_side(cfg, 2, run, extra={"root": str(certs.root)})
        for a, b in zip(ours, theirs, strict=True):
            assert a == b, glob
        seen |= {r[1] for r in theirs}
    assert "no answer" not in seen, [r[0] for r in theirs if r[1] == "no answer"]
    assert any(len(s) > 600 for s in seen)


def _keylog(path: Path) -> dict[str, dict[str, str]]:
    """The client's NSS key log: client random -> {label: secret}."""
    out: dict[str, dict[str, str]] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            out.setdefault(parts[1].lower(), {})[parts[0]] = parts[2]
    return out


def test_keylog_secrets_as_the_client_logs_them(certs: Certs, tmp_path: Path) -> None:
    """tune.ssl.keylog on: each TLS 1.3 secret fetch equals the secret the client itself logged for
    the same connection (found by its client random); the early ones (no 0-RTT) and every one in
    TLS 1.2 have no sample, on both proxies; without the tune none has a sample; -c messages."""
    fetches = ("ssl_fc_client_early_traffic_secret", "ssl_fc_client_handshake_traffic_secret",
               "ssl_fc_server_handshake_traffic_secret", "ssl_fc_client_traffic_secret_0",
               "ssl_fc_server_traffic_secret_0", "ssl_fc_exporter_secret", "ssl_fc_early_exporter_secret")
    names = [f[len("ssl_fc_"):] for f in fetches]
    lf = (" ".join(f"{n}=%[ssl_fc_{n}]" for n in names) + " cr=%[ssl_fc_client_random,hex] "
          "capture=%[ssl_fc_cipherlist_bin,hex]%[ssl_fc_cipherlist_xxh]%[ssl_fc_protocol_hello_id] ;")
    cfg = ("global\n    tune.ssl.keylog on\n" + DEFAULTS + "frontend fe\n"
           "    bind 127.0.0.1:{p0} ssl crt {root}/ec.pem\n"
           "    bind 127.0.0.1:{p1} ssl crt {root}/rsa.pem\n"
           f'    http-request return status 200 content-type text/plain lf-string "{lf}"\n')
    labels = {n: n.upper() for n in names}

    def run(ports: list[int]) -> list[Any]:
        res = []
        for i, (p, ver, suite) in enumerate(((ports[0], ssl.TLSVersion.TLSv1_3, "TLS_AES_256_GCM_SHA384"),
                                              (ports[1], ssl.TLSVersion.TLSv1_3, "TLS_AES_128_GCM_SHA256"),
                                              (ports[0], ssl.TLSVersion.TLSv1_2, None),
                                              (ports[1], ssl.TLSVersion.TLSv1_3, "TLS_CHACHA20_POLY1305_SHA256"))):
            log = tmp_path / f"keys{p}-{i}.log"
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.maximum_version = ver
            ctx.keylog_filename = str(log)
            if suite:
                assert set_ciphersuites(ctx, suite)
            with socket.create_connection(("127.0.0.1", p), timeout=5) as raw, \
                    ctx.wrap_socket(raw, server_hostname="www.example.com") as s:
                s.sendall(HTTP)
                data = b""
                while b";" not in data:
                    d = s.recv(65536)
                    if not d:
                        break
                    data += d
            text = data.partition(b"\r\n\r\n")[2].decode()
            got = dict(kv.split("=", 1) for kv in text.split() if "=" in kv)
            mine = _keylog(log).get(got.get("cr", "").lower(), {})
            row = []
            for s_, label in labels.items():
                v = got.get(s_, "")
                row.append((s_, "empty" if not v else "client's" if v == mine.get(label) else "other " + v))
            res.append((ver.name, suite, row, got.get("capture")))
        return res

    theirs, ours = side_by_side(cfg, 2, run, extra={"root": str(certs.root)})
    assert ours == theirs
    for r in (theirs[0], theirs[1], theirs[3]):
        tls13 = dict(r[2])
        assert tls13.pop("client_early_traffic_secret") == tls13.pop("early_exporter_secret") == "empty"
        assert set(tls13.values()) == {"client's"}, r
    assert {v for _, v in theirs[2][2]} == {"empty"}
    assert {r[3] for r in theirs} == {""}  # no ClientHello capture without tune.ssl.capture-buffer-size
    plain = cfg.replace("tune.ssl.keylog on", "tune.ssl.keylog off")
    theirs, ours = side_by_side(plain, 2, run, extra={"root": str(certs.root)})
    assert ours == theirs and {v for r in theirs for _, v in r[2]} == {"empty"}


@pytest.mark.slow
def test_certificate_fetches_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """ssl_c_chain_der (the certificates the client sent besides its own), ssl_c_key_alg,
    ssl_c_sig_alg, ssl_f_key_alg, ssl_f_sig_alg (ECDSA and RSA certificates on both sides) and
    ssl_fc_unique_id (tls-unique, TLS 1.2 full and resumed, and 1.3 where 2.6 gives it too: equal
    to what the client's own get_channel_binding('tls-unique') says for the same connection)."""
    import shutil

    d = tmp_path
    for n in ("ca.crt", "client.crt", "client.key", "rsa.crt", "rsa.key"):
        shutil.copy(certs[n], d / n)
    lf = ("ch=%[ssl_c_chain_der,sha1,hex] chl=%[ssl_c_chain_der,length] ck=%[ssl_c_key_alg] cs=%[ssl_c_sig_alg] "
          "fk=%[ssl_f_key_alg] fs=%[ssl_f_sig_alg] u=%[ssl_fc_unique_id,hex] ;")
    cfg = (DEFAULTS + "frontend fe\n"
           "    bind 127.0.0.1:{p0} ssl crt {root}/ec.pem verify optional ca-file {root}/ca.crt\n"
           "    bind 127.0.0.1:{p1} ssl crt {root}/rsa.pem verify optional ca-file {root}/ca.crt\n"
           "    bind 127.0.0.1:{p2} ssl crt {root}/rsa.pem\n"
           f'    http-request return status 200 content-type text/plain lf-string "{lf}"\n')
    who = [(), ("-cert", f"{d}/client.crt", "-key", f"{d}/client.key"),
           ("-cert", f"{d}/client.crt", "-key", f"{d}/client.key", "-cert_chain", f"{d}/ca.crt"),
           ("-cert", f"{d}/rsa.crt", "-key", f"{d}/rsa.key", "-cert_chain", f"{d}/ca.crt")]

    def run(ports: list[int]) -> list[Any]:
        res = []
        def one(job: tuple[int, str, tuple[str, ...]]) -> tuple[Any, ...]:
            p, v, more = job
            got = _s_client(p, v, "-servername", "www.example.com", *more)
            m = re.search(r"ch=.*? ;", got)
            # tls-unique differs on every connection: its length here, its value below
            return (p == ports[0], v, len(more), re.sub(r"u=\S*", "u", m.group(0)) if m else "no answer")

        for p in ports:
            res += pmap(one, [(p, v, more) for v in ("-tls1_2", "-tls1_3") for more in (who if p != ports[2] else who[:2])])
            for ver in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                ctx.maximum_version = ver
                sess = None
                # TLS 1.2: a second connection resumes the first's session (tls-unique is then
                # the server's Finished)
                for again in ((False, True) if ver == ssl.TLSVersion.TLSv1_2 else (False,)):
                    with socket.create_connection(("127.0.0.1", p), timeout=5) as raw, \
                            ctx.wrap_socket(raw, server_hostname="www.example.com", session=sess) as s:
                        s.sendall(HTTP)
                        data = b""
                        while b";" not in data:
                            d = s.recv(65536)
                            if not d:
                                break
                            data += d
                        mine = (s.get_channel_binding("tls-unique") or b"").hex().upper()
                        resumed = s.session_reused
                        sess = s.session
                    m = re.search(rb"u=(\S*) ", data)
                    res.append((ver.name, again, resumed,
                                "client's" if m and m.group(1).decode() == mine else f"{m and m.group(1)!r} {mine}"))
        return res

    theirs, ours = side_by_side(cfg, 3, run, extra={"root": str(certs.root)})
    # the ports differ between the runs: compare by position
    for a, b in zip(ours, theirs, strict=True):
        assert a[1:] == b[1:]
    assert {r[3] for r in theirs if isinstance(r[1], bool)} == {"client's"}
    assert any(r[2] for r in theirs if isinstance(r[1], bool))  # a resumed session was seen
    text = " ".join(r[3] for r in theirs if not isinstance(r[1], bool))
    assert "fk=id-ecPublicKey" in text and "fk=rsaEncryption" in text and "ck=rsaEncryption" in text
    assert re.search(r"chl=[1-9]", text) and "no answer" not in text


@pytest.mark.slow
def test_capture_and_keylog_globals_checked_as_haproxy(tmp_path: Path) -> None:
    """-c on tune.ssl.capture-buffer-size, tune.ssl.capture-cipherlist-size (deprecated: 2.6's
    warning) and tune.ssl.keylog, good and bad values: the same alerts and warnings as 2.6's."""
    from tests.integration.test_tls_bind_vs_haproxy import check_all

    base = DEFAULTS + "frontend fe\n    bind 127.0.0.1:1\n"
    globs = ("tune.ssl.capture-buffer-size", "tune.ssl.capture-buffer-size -1", "tune.ssl.capture-buffer-size abc",
             "tune.ssl.capture-buffer-size 1 2", "tune.ssl.capture-cipherlist-size 20", "tune.ssl.keylog",
             "tune.ssl.keylog yes", "tune.ssl.keylog on x")
    for g, (theirs, ours) in zip(globs, check_all(["global\n    " + g + "\n" + base for g in globs], tmp_path),
                                 strict=True):
        assert ours == theirs, g
