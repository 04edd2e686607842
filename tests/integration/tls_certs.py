"""Certificates for the TLS tests, made with the ``openssl`` command once per session.

A CA (ECDSA P-256) signs: ``ec`` (ECDSA P-256; SAN www.example.com and *.example.org), ``rsa``
(RSA 2048; SAN rsa.example.net), ``wild`` (ECDSA; commonName *.wild.test, no SAN), the client
certificate ``client`` (C=FR, O=Acme, CN=client1); another CA signs ``stranger`` (a client
certificate the first CA does not know). Each server certificate is also written as one PEM
(certificate, key, CA) named NAME.pem, and copied into the directory ``dir/``.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Certs:
    root: Path

    def __getitem__(self, name: str) -> str:
        return str(self.root / name)


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _key(cwd: Path, name: str, kind: str) -> None:
    if kind == "rsa":
        _run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", f"{name}.key", cwd=cwd)
    else:
        _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{name}.key", cwd=cwd)


def _ca(cwd: Path, name: str, cn: str) -> None:
    _key(cwd, name, "ec")
    _run("req", "-x509", "-new", "-key", f"{name}.key", "-out", f"{name}.crt", "-days", "30", "-subj", f"/CN={cn}",
         cwd=cwd)


def _signed(cwd: Path, name: str, kind: str, subj: str, san: str | None, ca: str, serial: str) -> None:
    _key(cwd, name, kind)
    _run("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=cwd)
    ext = cwd / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    _run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-set_serial", serial,
         "-out", f"{name}.crt", "-days", "30", "-extfile", ext.name, cwd=cwd)
    (cwd / f"{name}.pem").write_text((cwd / f"{name}.crt").read_text() + (cwd / f"{name}.key").read_text()
                                     + (cwd / f"{ca}.crt").read_text())


def make_certs(root: Path) -> Certs:
    _ca(root, "ca", "Test CA")
    _ca(root, "ca2", "Other CA")
    _signed(root, "ec", "ec", "/CN=www.example.com", "DNS:www.example.com,DNS:*.example.org", "ca", "0x1001")
    _signed(root, "rsa", "rsa", "/CN=rsa.example.net", "DNS:rsa.example.net", "ca", "0x1002")
    _signed(root, "wild", "ec", "/CN=*.wild.test", None, "ca", "0x1003")
    _signed(root, "client", "ec", "/C=FR/O=Acme/CN=client1", None, "ca", "0xC0FFEE01")
    _signed(root, "stranger", "ec", "/CN=stranger", None, "ca2", "0x2001")
    d = root / "dir"
    d.mkdir()
    for n in ("ec", "rsa", "wild"):
        shutil.copy(root / f"{n}.pem", d / f"{n}.pem")
    return Certs(root)


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls"))


def client_context(certs: Certs, *, alpn: list[str] | None = None, cert: str | None = None,
                   min_ver: ssl.TLSVersion | None = None, max_ver: ssl.TLSVersion | None = None,
                   ciphers: str | None = None) -> ssl.SSLContext:
    """A client that trusts the test CA (server names are not checked: the test compares them)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(certs["ca.crt"])
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if cert:
        ctx.load_cert_chain(certs[cert + ".crt"], certs[cert + ".key"])
    if min_ver is not None:
        ctx.minimum_version = min_ver
    if max_ver is not None:
        ctx.maximum_version = max_ver
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx
