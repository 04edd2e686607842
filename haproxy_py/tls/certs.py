"""Certificate files as HAProxy 2.6 loads them for ``bind ... crt FILE|DIR``.

A PEM file holds the certificate, its chain and (unless a ``FILE.key`` sits next to it) the
private key. A directory is read in name order; dot files, sub-directories and the extra files
2.6 loads next to a certificate (``.key``, ``.ocsp``, ``.issuer``, ``.sctl``) are not
certificates of their own. Loading checks what 2.6 checks (the file exists, holds a certificate,
a private key is found and matches) and reads the names SNI selects the certificate by: every
DNS subjectAltName, then every commonName.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass

#: files next to a certificate that 2.6 reads with it (ssl-load-extra-files all), never alone
EXTRA_EXTS = (".key", ".ocsp", ".issuer", ".sctl")


@dataclass(frozen=True, slots=True)
class CertFile:
    path: str
    #: the private key's file when it is not in ``path`` (2.6's FILE.key)
    key: str | None
    #: lower-case names: DNS subjectAltNames then commonNames, in the certificate's order
    names: tuple[str, ...]
    subject: tuple[tuple[tuple[str, str], ...], ...] = ()
    issuer: tuple[tuple[tuple[str, str], ...], ...] = ()
    serial: str = ""
    not_before: str = ""
    not_after: str = ""
    #: "RSA", "EC" or "" (unknown: a PKCS#8 key in a file of its own)
    key_type: str = ""
    #: the certificate in DER (the file's first certificate), and its X.509 version (3)
    der: bytes = b""
    version: int = 0


class CertError(Exception):
    """A certificate that 2.6 would refuse; the message is 2.6's text."""


def _key_type(text: str) -> str:
    if "BEGIN EC PRIVATE KEY" in text:
        return "EC"
    if "BEGIN RSA PRIVATE KEY" in text:
        return "RSA"
    return ""


def load_cert(path: str) -> CertFile:
    """One certificate file, checked; :class:`CertError` with 2.6's message otherwise."""
    try:
        os.stat(path)
    except OSError as e:
        raise CertError(f"unable to stat SSL certificate from file '{path}' : {e.strerror}.") from None
    try:
        with open(path, encoding="latin-1") as f:
            text = f.read()
    except OSError:
        raise CertError(f"unable to load certificate from file '{path}'.") from None
    if "-----BEGIN CERTIFICATE-----" not in text and "-----BEGIN TRUSTED CERTIFICATE-----" not in text:
        raise CertError(f"unable to load certificate from file '{path}'.")
    key: str | None = None
    ktext = text
    if "PRIVATE KEY-----" not in text:
        key = path + ".key"
        try:
            with open(key, encoding="latin-1") as f:
                ktext = f.read()
        except OSError:
            raise CertError(f"No Private Key found in '{key}'.") from None
        if "PRIVATE KEY-----" not in ktext:
            raise CertError(f"No Private Key found in '{key}'.")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(path, key)
    except ssl.SSLError as e:
        if "KEY_VALUES_MISMATCH" in str(e).upper() or "key values mismatch" in str(e):
            raise CertError(f"inconsistencies between private key and certificate loaded '{path}'.") from None
        raise CertError(f"unable to load certificate from file '{path}'.") from None
    try:
        d = ssl._ssl._test_decode_cert(path)  # type: ignore[attr-defined]
    except (ssl.SSLError, OSError, AttributeError):
        d = {}
    names: list[str] = []
    for typ, val in d.get("subjectAltName", ()):
        if typ == "DNS" and val.lower() not in names:
            names.append(val.lower())
    for rdn in d.get("subject", ()):
        for k, v in rdn:
            if k == "commonName" and v.lower() not in names:
                names.append(v.lower())
    der = b""
    i = text.find("-----BEGIN CERTIFICATE-----")
    j = text.find("-----END CERTIFICATE-----", i)
    if i >= 0 and j > i:
        try:
            der = ssl.PEM_cert_to_DER_cert(text[i:j + 25])
        except ValueError:
            der = b""
    return CertFile(path, key, tuple(names), tuple(d.get("subject", ())), tuple(d.get("issuer", ())),
                    d.get("serialNumber", ""), d.get("notBefore", ""), d.get("notAfter", ""),
                    _key_type(ktext), der, int(d.get("version", 0) or 0))


def cert_paths(path: str) -> list[str]:
    """The certificate files ``crt PATH`` stands for: PATH itself, or a directory's entries."""
    if not os.path.isdir(path):
        return [path]
    out = []
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if name.startswith(".") or name.endswith(EXTRA_EXTS) or not os.path.isfile(full):
            continue
        out.append(full)
    return out
