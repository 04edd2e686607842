"""TLS runtime leftovers side by side with HAProxy 2.6: CRL files changed at run time (show, new,
set, commit, abort, del ssl crl-file) with their effect on new handshakes, both on a listener's
client certificates and on a server's certificate; replies compared byte for byte."""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import free_port, get, require_haproxy, run_proxy
from tests.integration.nginx_tls import make_crl
from tests.integration.stats_client import admin_socket
from tests.integration.test_tls_bind_vs_haproxy import pmap
from tests.integration.test_tls_cli_vs_haproxy import ask
from tests.integration.test_tls_servers_vs_haproxy import TlsBackend
from tests.integration.test_tls_vs_haproxy import probe
from tests.integration.tls_certs import Certs, client_context


def _start_all(stack: ExitStack, proxies: list[tuple[str, list[int], str]]) -> list[Any]:
    """run_proxy(cfg, wait_ports=ports, which=which) for each of ``proxies``, started at the same
    time (each one's exit on ``stack``): their ProxyProcess objects."""
    cms = [run_proxy(cfg, wait_ports=ports, which=which) for cfg, ports, which in proxies]

    def enter(cm: Any) -> Any:
        try:
            return cm.__enter__()
        except Exception as e:  # noqa: BLE001 - raised below, once every start is over
            return e

    pps = pmap(enter, cms)
    for cm, pp in zip(cms, pps, strict=True):
        if not isinstance(pp, Exception):
            stack.push(cm)
    for pp in pps:
        if isinstance(pp, Exception):
            raise pp
    return pps


def test_crl_file_changed_at_run_time_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """A listener verifying client certificates with an empty CRL, a server (presenting a client
    certificate) with an empty CRL, another server without crt (its CRL file unused): show ssl
    crl-file (list, NAME, NAME:INDEX, bad indexes, unknown), new (twice, an existing one), set
    (no payload, unknown file, junk, created then updated with two CRLs, another file while one
    is ongoing), *NAME, abort and commit (wrong file, none ongoing, 2.6's dot per certificate
    instance); the committed CRL revoking the client certificate makes the listener refuse it, the
    one revoking the backend's certificate makes the server fail (503); del (in use, unused,
    unknown)."""
    root = certs.root
    empty = Path(make_crl(certs, None, "rt2-empty.crl")).read_text()
    rev_client = Path(make_crl(certs, "client", "rt2-rev-client.crl")).read_text()
    rev_ec = Path(make_crl(certs, "ec", "rt2-rev-ec.crl")).read_text()
    bind_crl, srv_crl, unused_crl = tmp_path / "bind.crl", tmp_path / "srv.crl", tmp_path / "unused.crl"
    for f in (bind_crl, srv_crl, unused_crl):
        f.write_text(empty)
    client = tmp_path / "client.pem"
    client.write_text((root / "client.crt").read_text() + (root / "client.key").read_text())
    shutil.copy(root / "ca.crt", tmp_path / "ca.crt")
    backend = TlsBackend(certs, "ec")
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 0
frontend tls
    bind 127.0.0.1:{{p1}} ssl crt {root}/ec.pem crt {root}/rsa.pem ca-file {root}/ca.crt verify required crl-file {bind_crl}
    http-request return status 200 content-type text/plain lf-string "cn=%[ssl_c_s_dn(CN)]"
frontend plain
    bind 127.0.0.1:{{p0}}
    default_backend b
backend b
    server s 127.0.0.1:{backend.port} ssl ca-file {tmp_path}/ca.crt verify required crt {client} crl-file {srv_crl}
    server s2 127.0.0.1:{backend.port} ssl ca-file {tmp_path}/ca.crt verify required crl-file {unused_crl} disabled
"""
    new = f"{tmp_path}/new.crl"
    both = rev_client + empty
    steps: list[Any] = [
        ("probe",), ("get",),
        "show ssl crl-file", f"show ssl crl-file {bind_crl}", f"show ssl crl-file {bind_crl}:1",
        f"show ssl crl-file {bind_crl}:2", f"show ssl crl-file {bind_crl}:0", f"show ssl crl-file {bind_crl}:x",
        "show ssl crl-file /nonexistent", f"show ssl crl-file {unused_crl}",
        "new ssl crl-file", f"new ssl crl-file {new}", f"new ssl crl-file {new}", f"new ssl crl-file {bind_crl}",
        "show ssl crl-file", f"show ssl crl-file {new}",
        "set ssl crl-file", f"set ssl crl-file {bind_crl}", f"set ssl crl-file /nonexistent <<\n{rev_client}",
        f"set ssl crl-file {bind_crl} <<\njunk\n", f"set ssl crl-file {bind_crl} <<\n{empty}",
        f"set ssl crl-file {bind_crl} <<\n{both}", f"set ssl crl-file {srv_crl} <<\n{rev_ec}",
        "show ssl crl-file", f"show ssl crl-file *{bind_crl}", f"show ssl crl-file *{bind_crl}:2",
        f"show ssl crl-file *{srv_crl}", f"abort ssl crl-file {srv_crl}", f"commit ssl crl-file {srv_crl}",
        "commit ssl crl-file", "abort ssl crl-file", ("probe",),
        f"commit ssl crl-file {bind_crl}", f"commit ssl crl-file {bind_crl}", f"abort ssl crl-file {bind_crl}",
        ("probe",), ("get",), f"show ssl crl-file {bind_crl}",
        f"set ssl crl-file {srv_crl} <<\n{rev_ec}", f"abort ssl crl-file {srv_crl}", ("get",),
        f"set ssl crl-file {srv_crl} <<\n{rev_ec}", f"commit ssl crl-file {srv_crl}", ("get",),
        f"set ssl crl-file {new} <<\n{rev_ec}", f"commit ssl crl-file {new}", "show ssl crl-file",
        f"show ssl crl-file {new}:1", f"del ssl crl-file {new}", f"del ssl crl-file {new}", "del ssl crl-file",
        f"del ssl crl-file {srv_crl}", f"del ssl crl-file {bind_crl}", f"del ssl crl-file {unused_crl}",
        "del ssl crl-file /nonexistent", "show ssl crl-file",
        f"set ssl crl-file {bind_crl} <<\n{empty}", f"commit ssl crl-file {bind_crl}", ("probe",)]
    require_haproxy("haproxy")
    out = []
    try:
        for which in ("haproxy", "ours"):
            p0, p1 = free_port(), free_port()
            with run_proxy(cfg.replace("{p0}", str(p0)).replace("{p1}", str(p1)), wait_ports=[p0, p1],
                           which=which) as pp:
                sock = Path(admin_socket(pp))
                got: list[Any] = []
                for st in steps:
                    if st == ("probe",):
                        r = probe(p1, client_context(certs, cert="client"), "www.example.com")[::5]
                        # a refused client certificate (TLS 1.3): the alert, or the connection's end
                        got.append(("refused",) if r[-1] in (b"<SSLError>", b"<SSLEOFError>") else r)
                    elif st == ("get",):
                        got.append(get(p0, "/")[0])
                    else:
                        # a payload ends at its first empty line
                        got.append((st.split("\n")[0], ask(sock, st if "<<" not in st else st.rstrip("\n") + "\n")))
                out.append(got)
    finally:
        backend.close()
    assert out[1] == out[0]
    res = [g for g in out[0] if isinstance(g, int) or g[0] in ("ok", "refused", "fail")]
    assert res == [("ok", b"cn=client1"), 200, ("ok", b"cn=client1"), ("refused",), 200, 200, 503,
                   ("ok", b"cn=client1")]
    replies = [g[1] for g in out[0] if not isinstance(g, int) and g[0] == f"commit ssl crl-file {bind_crl}"]
    assert replies[0] == f"Committing {bind_crl}..\nSuccess!\n\n".encode()


def _ocsp_responses(certs: Certs, d: Path) -> dict[str, bytes]:
    """OCSP responses made offline by openssl's responder for ec.crt: 'good' (twice, valid one
    and two days: two different responses), 'revoked', 'unknown', and a 'good' one for rsa.crt."""
    import subprocess
    import time

    for n in ("ca.crt", "ca.key", "ec.crt", "rsa.crt"):
        shutil.copy(certs[n], d / n)

    def serial(crt: str) -> str:
        return subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-serial"], cwd=d, check=True,
                              capture_output=True, text=True, timeout=30).stdout.strip().split("=")[1]

    expiry = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() + 20 * 86400))
    revoked = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() - 60))
    ec, rsa = serial("ec.crt"), serial("rsa.crt")
    out = {}
    for name, crt, index in (("good", "ec.crt", f"V\t{expiry}\t\t{ec}\tunknown\t/CN=www.example.com\n"),
                             ("good2", "ec.crt", f"V\t{expiry}\t\t{ec}\tunknown\t/CN=www.example.com\n"),
                             ("revoked", "ec.crt", f"R\t{expiry}\t{revoked}\t{ec}\tunknown\t/CN=www.example.com\n"),
                             ("unknown", "ec.crt", ""),
                             ("rsa", "rsa.crt", f"V\t{expiry}\t\t{rsa}\tunknown\t/CN=rsa.example.net\n")):
        (d / "index.txt").write_text(index)
        for args in (("-issuer", "ca.crt", "-cert", crt, "-reqout", "req.der", "-no_nonce"),
                     ("-index", "index.txt", "-rsigner", "ca.crt", "-rkey", "ca.key", "-CA", "ca.crt", "-reqin",
                      "req.der", "-respout", f"{name}.der", "-ndays", "2" if name == "good2" else "1")):
            subprocess.run(["openssl", "ocsp", *args], cwd=d, check=True, capture_output=True, timeout=30)
        out[name] = (d / f"{name}.der").read_bytes()
    out["request"] = (d / "req.der").read_bytes()
    return out


def test_ocsp_response_set_at_run_time_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """set ssl ocsp-response (no argument, bad base64, not a response, another certificate's,
    status unknown: 2.6's refusals; a 'revoked' response as an argument, a new 'good' one as a
    base64 payload); what openssl s_client -status gets stapled after each (TLS 1.3 and 1.2),
    and show ssl ocsp-response KEY showing the new response."""
    import base64
    import re

    from tests.integration.test_tls_bind_vs_haproxy import s_client

    d = tmp_path / "x"
    d.mkdir()
    resp = _ocsp_responses(certs, tmp_path)
    shutil.copy(certs["ec.pem"], d / "stapled.pem")
    (d / "stapled.pem.ocsp").write_bytes(resp["good"])
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {d}/stapled.pem crt {certs['rsa.pem']}
    http-request return status 200 content-type text/plain lf-string "ok"
"""

    def b64(name: str) -> str:
        return base64.b64encode(resp[name]).decode()

    steps: list[Any] = [
        ("status",), "set ssl ocsp-response", "set ssl ocsp-response zzz", f"set ssl ocsp-response {b64('request')}",
        "set ssl ocsp-response QUFB", f"set ssl ocsp-response {b64('rsa')}", f"set ssl ocsp-response {b64('unknown')}",
        ("status",), f"set ssl ocsp-response {b64('revoked')}", ("status",), ("show",),
        "set ssl ocsp-response <<\n" + base64.encodebytes(resp["good2"]).decode(), ("status",), ("show",)]
    require_haproxy("haproxy")
    def side(which: str) -> list[Any]:
        port = free_port()
        with run_proxy(cfg.replace("{p0}", str(port)), wait_ports=[port], which=which) as pp:
            sock = Path(admin_socket(pp))
            got: list[Any] = []
            for st in steps:
                if st == ("status",):
                    for args in (("-status",), ("-status", "-tls1_2")):
                        text = s_client(port, *args, data=b"")
                        got.append([ln for ln in text.splitlines() if "OCSP" in ln or "Cert Status" in ln
                                    or "Next Update" in ln])
                elif st == ("show",):
                    keys = re.findall(r"Certificate ID key : (\S+)", ask(sock, "show ssl ocsp-response").decode())
                    got.append([ask(sock, f"show ssl ocsp-response {k}") for k in keys])
                else:
                    got.append((st.split("\n")[0][:60], ask(sock, st if "<<" not in st else st.rstrip("\n") + "\n")))
            return got

    out = pmap(side, ["haproxy", "ours"], workers=2)  # (both proxies at once)
    assert out[1] == out[0]
    flat = [" ".join(g) for g in out[0] if isinstance(g, list) and g and isinstance(g[0], str)]
    assert "Cert Status: good" in flat[0] and "Cert Status: revoked" in flat[4] and "Cert Status: good" in flat[6]
    assert flat[0] != flat[6]  # the second good response, not the first
    assert [g[1] for g in out[0] if isinstance(g, tuple)].count(b"OCSP Response updated!\n\n") == 2


def _offer(port: int, sni: str, args: tuple[str, ...]) -> tuple[str, ...]:
    """What one openssl s_client handshake got: (protocol, cipher, the server certificate's
    subject) or ("fail",)."""
    import re

    from tests.integration.test_tls_bind_vs_haproxy import s_client

    out = s_client(port, "-servername", sni, *args, data=b"")  # the last -servername counts
    m = re.search(r"^(?:New|Reused), (\S+), Cipher is (\S+)", out, re.M)
    if not m or m.group(2) == "(NONE)":
        return ("fail",)
    subj = re.search(r"^subject=(.*)$", out, re.M)
    return (m.group(1), m.group(2), subj.group(1) if subj else "-")


@pytest.mark.slow
def test_crt_list_versions_suites_and_key_types_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """crt-list lines with their own ssl-min-ver, ssl-max-ver and ciphersuites (the bind line
    allowing TLS 1.2 and 1.3), and server names shared by an RSA and an ECDSA certificate (exact
    and wildcard filters, RSA loaded first): the protocol, cipher and certificate each generated
    client offer gets (TLS 1.2 or 1.3, signature algorithms, TLS 1.2 ciphers, TLS 1.3 suites)."""
    import random

    root = certs.root
    versions = tmp_path / "versions.txt"
    versions.write_text(f"""{root}/ec.pem [ssl-min-ver TLSv1.3] v13.test
{root}/rsa.pem [ssl-max-ver TLSv1.2] v12.test
{root}/ec.pem [ciphersuites TLS_CHACHA20_POLY1305_SHA256] chacha.test
{root}/ec.pem [ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.2 ciphers ECDHE-ECDSA-AES256-GCM-SHA384] pinned.test
{root}/rsa.pem
""")
    mixed = tmp_path / "mixed.txt"
    mixed.write_text(f"""{root}/rsa.pem shared.test *.wild2.test
{root}/ec.pem shared.test *.wild2.test
{root}/ec.pem ec-first.test
{root}/rsa.pem ec-first.test
{root}/rsa.pem rsa-only.test
""")
    cfg = f"""global
    ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt-list {versions}
    bind 127.0.0.1:{{p1}} ssl crt-list {mixed}
    http-request return status 200 content-type text/plain string ok
"""
    rng = random.Random(2612)
    sigalgs = ["ECDSA+SHA256", "RSA+SHA256", "rsa_pss_rsae_sha256", "ed25519", "ECDSA+SHA384"]
    ciphers12 = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "AES128-GCM-SHA256",
                 "ECDHE-ECDSA-AES256-GCM-SHA384"]
    suites = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]

    def offer() -> tuple[str, ...]:
        args: list[str] = [rng.choice(["-tls1_2", "-tls1_3", "-no_ssl3"])]
        if rng.random() < 0.8:
            args += ["-sigalgs", ":".join(rng.sample(sigalgs, rng.randint(1, 3)))]
        if args[0] != "-tls1_3":
            args += ["-cipher", ":".join(rng.sample(ciphers12, rng.randint(1, 3)))]
        if args[0] != "-tls1_2" and rng.random() < 0.5:
            args += ["-ciphersuites", ":".join(rng.sample(suites, rng.randint(1, 2)))]
        return tuple(args)

    cases = [(0, n, offer()) for n in ("v13.test", "v12.test", "chacha.test", "pinned.test", "other.test")
             ]
    cases += [(0, "v13.test", ("-tls1_2",)), (0, "v12.test", ("-tls1_3",)), (0, "v12.test", ()),
              (0, "chacha.test", ("-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256")), (0, "chacha.test", ())]
    cases += [(1, n, offer()) for n in ("shared.test", "a.wild2.test", "ec-first.test", "rsa-only.test")
              for _ in range(2)]
    cases += [(1, "shared.test", ()), (1, "shared.test", ("-tls1_2", "-sigalgs", "RSA+SHA256")),
              (1, "shared.test", ("-tls1_3", "-sigalgs", "ECDSA+SHA256")),
              (1, "shared.test", ("-tls1_2", "-sigalgs", "ECDSA+SHA256:RSA+SHA256", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"))]
    require_haproxy("haproxy")
    out = []
    for which in ("haproxy", "ours"):
        ports = [free_port(), free_port()]
        with run_proxy(cfg.replace("{p0}", str(ports[0])).replace("{p1}", str(ports[1])), wait_ports=ports,
                       which=which):
            out.append(pmap(lambda c, ports=ports: (c[1], c[2], _offer(ports[c[0]], c[1], c[2])), cases))
    for a, b in zip(out[1], out[0], strict=True):
        assert a == b
    got = {r for _, _, r in out[0]}
    assert ("fail",) in got and any(r[0] == "TLSv1.3" for r in got) and any(r[0] == "TLSv1.2" for r in got)
    shared = [r[2] for n, _, r in out[0] if n == "shared.test" and r != ("fail",)]
    assert any("rsa" in s for s in shared) and any("www.example.com" in s for s in shared)


@pytest.mark.slow
def test_session_lifetime_and_self_issued_ca_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """tune.ssl.lifetime: the lifetime hint of the session tickets a client gets (TLS 1.2 and
    1.3) and the session's timeout; ssl-skip-self-issued-ca: the chain the server sends (the
    file's self-signed CA left out, an intermediate-less file then sends its certificate alone);
    compared with 2.6 with and without the globals, and -c's verdicts on bad lifetimes."""
    import re

    from tests.integration.test_tls_bind_vs_haproxy import s_client

    base = f"""defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {certs['ec.pem']} crt {certs['rsa.pem']}
    http-request return status 200 content-type text/plain string ok
"""
    require_haproxy("haproxy")
    globs = ("", "    tune.ssl.lifetime 42\n    ssl-skip-self-issued-ca\n", "    tune.ssl.lifetime 2m\n")
    specs = [(glob, which, free_port()) for glob in globs for which in ("haproxy", "ours")]
    argsets = (("-tls1_2",), ("-tls1_3",), ("-tls1_2", "-servername", "rsa.example.net"))

    def one(job: tuple[int, tuple[str, ...]]) -> tuple[Any, ...]:
        port, args = job
        # (TLS 1.3 tickets come after the handshake)
        text = s_client(port, "-showcerts", *args, data=b"", delay=0.3 if "-tls1_3" in args else 0)
        return (args, re.findall(r"lifetime hint: \d+", text), re.findall(r"Timeout\s*: \d+", text),
                re.findall(r"^ *\d+ s:.*$", text, re.M))

    # (the six proxies at once, each one's clients beside the others')
    with ExitStack() as stack:
        _start_all(stack, [(("global\n" + glob + base).replace("{p0}", str(port)), [port], which)
                           for glob, which, port in specs])
        res = pmap(one, [(port, args) for _, _, port in specs for args in argsets])
    results = []
    for k, glob in enumerate(globs):
        out = [res[6 * k:6 * k + 3], res[6 * k + 3:6 * k + 6]]
        assert out[1] == out[0], glob
        results.append(out[0])
    hints = [{h for _, hs, _, _ in r for h in hs} for r in results]
    assert hints[1] == {"lifetime hint: 42"} and hints[2] == {"lifetime hint: 120"} and hints[0] != hints[1]
    assert len(results[0][0][3]) == 2 and len(results[1][0][3]) == 1  # the CA sent, then left out
    from tests.integration.test_tls_bind_vs_haproxy import check_all

    bads = ("", "-1", "99999999999")
    texts = [f"global\n    tune.ssl.lifetime {bad}\n" + base.format(p0=1) for bad in bads]
    for bad, (theirs_c, ours_c) in zip(bads, check_all(texts, tmp_path), strict=True):
        assert ours_c == theirs_c, bad


def test_issuers_chain_path_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """issuers-chain-path DIR: a certificate file without a chain is served with the chain of the
    DIR file whose first certificate issued it (on a crt line and a crt-list line), one with its
    own chain keeps it; 'show ssl cert' names the chain file; -c's warning for a file without a
    certificate and its errors on a missing or non-directory path."""
    import re

    from tests.integration.stats_client import stats_cli
    from tests.integration.test_tls_bind_vs_haproxy import check_all, s_client

    root = certs.root
    iss = tmp_path / "issuers"
    iss.mkdir()
    shutil.copy(root / "ca2.crt", iss / "a-other.pem")
    shutil.copy(root / "ca.crt", iss / "b-ca.pem")
    (iss / "c-junk.txt").write_text("junk\n")
    site = tmp_path / "site.pem"
    site.write_text((root / "ec.crt").read_text() + (root / "ec.key").read_text())
    alone = tmp_path / "alone.pem"
    alone.write_text((root / "rsa.crt").read_text() + (root / "rsa.key").read_text())
    lst = tmp_path / "list.txt"
    lst.write_text(f"{alone} rsa.example.net\n")
    cfg = f"""global
    issuers-chain-path {iss}
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {site} crt-list {lst} crt {root}/wild.pem
    http-request return status 200 content-type text/plain string ok
"""
    require_haproxy("haproxy")
    def side(which: str) -> list[Any]:
        port = free_port()
        with run_proxy(cfg.replace("{p0}", str(port)), wait_ports=[port], which=which) as pp:
            got: list[Any] = []
            for sni in ("www.example.com", "rsa.example.net", "x.wild.test"):
                text = s_client(port, "-showcerts", "-servername", sni, data=b"")
                got.append(re.findall(r"^ *\d+ [si]:.*$", text, re.M))
            sock = admin_socket(pp)
            got += [stats_cli(sock, f"show ssl cert {f}") for f in (site, alone, f"{root}/wild.pem")]
            return got

    out = pmap(side, ["haproxy", "ours"], workers=2)  # (both proxies at once)
    assert out[1] == out[0]
    assert len(out[0][0]) == 2 and len(out[0][1]) == 2 and "Chain Filename: " + str(iss / "b-ca.pem") in out[0][3]
    paths = (iss, tmp_path / "nope", site)
    texts = [cfg.replace(str(iss), str(path)).replace("{p0}", "1").replace(
        "    stats socket @DIR@/admin.sock mode 600 level admin\n", "") for path in paths]
    for path, (theirs_c, ours_c) in zip(paths, check_all(texts, tmp_path), strict=True):
        assert ours_c == theirs_c, path
        assert theirs_c


def test_maxsslconn_holds_tls_connections_back_as_haproxy(certs: Certs) -> None:
    """maxsslconn 1: with one TLS connection open, the TLS listener takes no other (the next
    handshake gets no answer; a plain listener of the same frontend still serves); once the first
    one closes, a new TLS connection is served. (A deliberate difference: 2.6 accepts the
    connection that came over the limit and leaves it unanswered for good; haproxy-py leaves it in
    the backlog and serves it once a slot frees. The test closes it before going on.)"""
    import socket

    cfg = f"""global
    maxsslconn 1
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {certs['ec.pem']}
    bind 127.0.0.1:{{p1}}
    http-request return status 200 content-type text/plain string ok
"""
    ctx = client_context(certs)

    def ask(s: Any) -> bytes:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while (d := s.recv(4096)):
            data += d
        return data.split(b"\r\n", 1)[0]

    def tls(port: int, timeout: float) -> Any:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        return ctx.wrap_socket(raw, server_hostname="www.example.com", do_handshake_on_connect=False)

    require_haproxy("haproxy")
    def side(which: str) -> list[Any]:
        p0, p1 = free_port(), free_port()
        with run_proxy(cfg.replace("{p0}", str(p0)).replace("{p1}", str(p1)), wait_ports=[p1], which=which):
            got: list[Any] = []
            first = tls(p0, 5)
            first.do_handshake()
            second = tls(p0, 1)
            try:
                second.do_handshake()
                got.append("second served at once")
            except TimeoutError:
                got.append("second waits")
            got.append(get(p1, "/")[0])
            got.append(ask(first))
            first.close()
            second.close()
            third = tls(p0, 5)
            try:
                third.do_handshake()
                got.append(ask(third))
            except OSError as e:
                got.append(type(e).__name__)
            third.close()
            return got

    out = pmap(side, ["haproxy", "ours"], workers=2)  # (both proxies at once)
    assert out[1] == out[0]
    assert out[0] == ["second waits", 200, b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK"]


def _records(port: int, ctx: Any, request: bytes) -> tuple[bytes, list[int]]:
    """One TLS request through a MemoryBIO client: (the response, the length of each application
    data record the server sent, as the raw stream carries them)."""
    import socket
    import ssl
    import time

    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname="www.example.com")
    stream = bytearray()
    body = b""
    deadline = time.monotonic() + 10
    sent = False

    def pump() -> bool:
        data = raw.recv(65536)
        stream.extend(data)
        inc.write(data) if data else inc.write_eof()
        return bool(data)

    try:
        while time.monotonic() < deadline:
            try:
                if not sent:
                    obj.do_handshake()
                    obj.write(request)
                    sent = True
                    handshake_end = len(stream)
                d = obj.read(65536)
                if not d:
                    break
                body += d
                continue
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            finally:
                if outg.pending:
                    raw.sendall(outg.read())
            if not pump():
                break
    finally:
        raw.close()
    lens, i = [], handshake_end
    while i + 5 <= len(stream):
        n = int.from_bytes(stream[i + 3:i + 5], "big")
        if stream[i] == 0x17:
            lens.append(n)
        i += 5 + n
    return body, lens


@pytest.mark.slow
def test_maxrecord_bounds_the_records_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """tune.ssl.maxrecord 600: every application data record of a 5000-byte response stays
    within 600 bytes of data (plus TLS 1.3's 17 bytes of tag and type), as with 2.6; without it
    the response comes in one record; -c's refusals of a missing or negative value."""
    import ssl

    from tests.integration.test_tls_bind_vs_haproxy import check_all

    body = "x" * 5000
    base = f"""defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {certs['ec.pem']}
    http-request return status 200 content-type text/plain string {body}
"""
    ctx = client_context(certs, max_ver=ssl.TLSVersion.TLSv1_3, min_ver=ssl.TLSVersion.TLSv1_3)
    require_haproxy("haproxy")
    results = []
    specs = [(glob, which, free_port()) for glob in ("", "    tune.ssl.maxrecord 600\n") for which in ("haproxy", "ours")]
    with ExitStack() as stack:  # (the four proxies at once)
        _start_all(stack, [(("global\n" + glob + base).replace("{p0}", str(port)), [port], which)
                           for glob, which, port in specs])
        for glob, which, port in specs:
            resp, lens = _records(port, ctx, b"GET / HTTP/1.0\r\n\r\n")
            results.append((glob, which, resp.endswith(body.encode()), max(lens), sum(lens) > 5000))
    for glob, _which, whole, biggest, _ in results:
        assert whole
        assert (biggest <= 617) == bool(glob), (glob, _which, biggest)
    bads = ("", "-5")
    texts = [f"global\n    tune.ssl.maxrecord {bad}\n" + base.format(p0=1) for bad in bads]
    for bad, (theirs_c, ours_c) in zip(bads, check_all(texts, tmp_path), strict=True):
        assert ours_c == theirs_c and theirs_c, bad


def test_maxsslrate_holds_tls_connections_back_as_haproxy(certs: Certs) -> None:
    """maxsslrate 2: two TLS connections in a row are served, the third waits (the listener
    takes no more within that second; a plain listener of the same frontend still serves) and is
    served once the second is over."""
    import socket

    cfg = f"""global
    maxsslrate 2
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {certs['ec.pem']}
    bind 127.0.0.1:{{p1}}
    http-request return status 200 content-type text/plain string ok
"""
    ctx = client_context(certs)

    def tls(port: int, timeout: float) -> Any:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        return ctx.wrap_socket(raw, server_hostname="www.example.com", do_handshake_on_connect=False)

    require_haproxy("haproxy")
    def side(which: str) -> list[Any]:
        p0, p1 = free_port(), free_port()
        with run_proxy(cfg.replace("{p0}", str(p0)).replace("{p1}", str(p1)), wait_ports=[p1], which=which):
            got: list[Any] = []
            socks = [tls(p0, 5), tls(p0, 5)]
            for s in socks:
                s.do_handshake()
                got.append(s.version())
            third = tls(p0, 0.3)
            try:
                third.do_handshake()
                got.append("third served at once")
            except TimeoutError:
                got.append("third waits")
            got.append(get(p1, "/")[0])
            third.settimeout(5)
            try:
                third.do_handshake()
                got.append(third.version())
            except OSError as e:
                got.append(type(e).__name__)
            for s in (*socks, third):
                s.close()
            return got

    out = pmap(side, ["haproxy", "ours"], workers=2)  # (both proxies at once)
    assert out[1] == out[0]
    assert out[0] == ["TLSv1.3", "TLSv1.3", "third waits", 200, "TLSv1.3"]


def test_crt_list_lines_added_with_versions_as_haproxy(certs: Certs, tmp_path: Path) -> None:
    """add ssl crt-list with a line's ssl-min-ver + ciphersuites, ssl-max-ver, an unknown version
    and a missing value (2.6's replies), then what TLS 1.2 / 1.3 clients get for those names."""
    from tests.integration.stats_client import stats_cli

    lst = tmp_path / "list.txt"
    lst.write_text(f"{certs['ec.pem']} first.test\n")
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt-list {lst}
    http-request return status 200 content-type text/plain string ok
"""
    ec = certs["ec.pem"]
    adds = [f"{ec} [ssl-min-ver TLSv1.3 ciphersuites TLS_CHACHA20_POLY1305_SHA256] r13.test",
            f"{ec} [ssl-max-ver TLSv1.2] r12.test", f"{ec} [ssl-min-ver TLSv9] bad.test", f"{ec} [ssl-max-ver] x.test"]
    offers = [(n, a) for n in ("r13.test", "r12.test", "first.test") for a in (("-tls1_2",), ("-tls1_3",))]
    require_haproxy("haproxy")
    def side(which: str) -> list[Any]:
        port = free_port()
        with run_proxy(cfg.replace("{p0}", str(port)), wait_ports=[port], which=which) as pp:
            sock = admin_socket(pp)
            got: list[Any] = [stats_cli(sock, f"add ssl crt-list {lst} <<\n{a}\n") for a in adds]
            got.append(stats_cli(sock, f"show ssl crt-list -n {lst}"))
            got += [_offer(port, n, a) for n, a in offers]
            return got

    out = pmap(side, ["haproxy", "ours"], workers=2)  # (both proxies at once)
    assert out[1] == out[0]
    assert ("fail",) in out[0] and ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "CN = www.example.com") in out[0]


def test_ssl_connections_counted_on_both_sides_as_haproxy(certs: Certs) -> None:
    """show info's TLS counters (MaxSslConns, CurrSslConns, CumSslConns, and whether SslRate,
    MaxSslRate, SslFrontendKeyRate, SslBackendKeyRate and their maxima are above 0) as TLS
    connections come from clients and go to a TLS server; with maxsslconn 1 a connection to a
    server over TLS is refused while a client's TLS connection holds the slot, and made once
    it is closed (2.6 counts both sides against maxsslconn; the refusal is its internal error: 500)."""
    import re
    import socket
    import time

    from tests.integration.stats_client import stats_cli

    backend = TlsBackend(certs, "ec")
    cfg = f"""global
    stats socket @DIR@/admin.sock mode 600 level admin
    maxsslconn {{limit}}
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 0
frontend tls
    bind 127.0.0.1:{{p1}} ssl crt {certs['ec.pem']}
    http-request return status 200 content-type text/plain string ok
frontend plain
    bind 127.0.0.1:{{p0}}
    default_backend b
backend b
    server s 127.0.0.1:{backend.port} ssl verify none
"""
    ctx = client_context(certs)

    def info(sock: str) -> dict[str, int]:
        text = stats_cli(sock, "show info")
        got = dict(re.findall(r"^(\w*Ssl\w*): (\d+)$", text, re.M))
        exact = ("MaxSslConns", "CurrSslConns", "CumSslConns", "SslRateLimit", "SslCacheLookups", "SslCacheMisses")
        return {k: int(v) if k in exact else int(v) > 0 for k, v in got.items()}

    def settle(sock: str, want: int) -> dict[str, int]:
        deadline = time.monotonic() + 3
        while True:
            got = info(sock)
            if got.get("CurrSslConns") == want or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    require_haproxy("haproxy")
    out = []
    try:
        for limit in (100, 1):
            for which in ("haproxy", "ours"):
                p0, p1 = free_port(), free_port()
                text = cfg.replace("{p0}", str(p0)).replace("{p1}", str(p1)).replace("{limit}", str(limit))
                with run_proxy(text, wait_ports=[p0], which=which) as pp:  # (a probe would count)
                    sock = admin_socket(pp)
                    got: list[Any] = [info(sock)]
                    got.append(get(p0, "/")[0])  # a TLS connection to the server
                    got.append(settle(sock, 0))
                    raw = socket.create_connection(("127.0.0.1", p1), timeout=5)
                    held = ctx.wrap_socket(raw, server_hostname="www.example.com")
                    got.append(settle(sock, 1))
                    got.append(get(p0, "/")[0])  # refused with maxsslconn 1
                    got.append(settle(sock, 1))
                    held.close()
                    got.append(settle(sock, 0))
                    got.append(get(p0, "/")[0])
                    got.append(settle(sock, 0))
                    out.append(got)
    finally:
        backend.close()
    assert out[1] == out[0]
    assert out[3] == out[2]
    assert out[0][1] == 200 and out[0][4] == 200 and out[2][4] == 500 and out[2][7] == 200
    assert out[0][2]["CumSslConns"] == 1 and out[0][2]["SslBackendKeyRate"] and out[0][3]["SslFrontendKeyRate"]
    assert out[0][8]["CumSslConns"] == 4 and out[2][8]["CumSslConns"] == 3


def _intermediate_chain(d: Path) -> None:
    """Root CA -> Intermediate CA -> leaf (leaf.example.com) and leaf2 (leaf2.example.com) in ``d``."""
    import subprocess

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=30)

    for n in ("ca", "int", "leaf", "leaf2"):
        run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{n}.key")
    run("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/CN=Root CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    (d / "int.ext").write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
    run("req", "-new", "-key", "int.key", "-out", "int.csr", "-subj", "/CN=Intermediate CA")
    run("x509", "-req", "-in", "int.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", "0x77",
        "-out", "int.crt", "-days", "30", "-extfile", "int.ext")
    for n, serial in (("leaf", "0x1234"), ("leaf2", "0x1235")):
        (d / f"{n}.ext").write_text(f"subjectAltName=DNS:{n}.example.com\n")
        run("req", "-new", "-key", f"{n}.key", "-out", f"{n}.csr", "-subj", f"/CN={n}.example.com")
        run("x509", "-req", "-in", f"{n}.csr", "-CA", "int.crt", "-CAkey", "int.key", "-set_serial", serial,
            "-out", f"{n}.crt", "-days", "30", "-extfile", f"{n}.ext")


def test_issuers_chain_path_completes_a_cert_set_at_run_time_as_haproxy(tmp_path: Path) -> None:
    """issuers-chain-path holding an intermediate CA: a leaf without its chain loaded at start,
    then another leaf without chain set by 'set ssl cert' and committed: both are served with the
    intermediate (openssl s_client -showcerts), and 'show ssl cert' (the transaction's and the
    committed store's) names the chain file and its Chain Subject/Issuer, as 2.6."""
    import re

    from tests.integration.test_tls_bind_vs_haproxy import s_client

    _intermediate_chain(tmp_path)
    iss = tmp_path / "iss"
    iss.mkdir()
    shutil.copy(tmp_path / "int.crt", iss / "int.pem")
    site = tmp_path / "site.pem"
    site.write_text((tmp_path / "leaf.crt").read_text() + (tmp_path / "leaf.key").read_text())
    leaf2 = (tmp_path / "leaf2.crt").read_text() + (tmp_path / "leaf2.key").read_text()
    cfg = f"""global
    issuers-chain-path {iss}
    stats socket @DIR@/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{{p0}} ssl crt {site}
    http-request return status 200 content-type text/plain string ok
"""
    require_haproxy("haproxy")
    def side(which: str) -> list[Any]:
        port = free_port()
        with run_proxy(cfg.replace("{p0}", str(port)), wait_ports=[port], which=which) as pp:
            sock = Path(admin_socket(pp))
            got: list[Any] = []

            def chain(port: int = port) -> list[str]:
                return re.findall(r"^ *\d+ [si]:.*$", s_client(port, "-showcerts", data=b""), re.M)

            got.append(chain())
            got.append(ask(sock, f"set ssl cert {site} <<\n{leaf2}"))
            got.append(ask(sock, f"show ssl cert *{site}"))
            got.append(ask(sock, f"commit ssl cert {site}"))
            got.append(chain())
            got.append(ask(sock, f"show ssl cert {site}"))
            return got

    out = pmap(side, ["haproxy", "ours"], workers=2)  # (both proxies at once)
    assert out[1] == out[0]
    assert len(out[0][0]) == 2 and "Intermediate CA" in out[0][4][1] and "leaf2" in out[0][4][0]
    assert b"Chain Subject: /CN=Intermediate CA" in out[0][5]
