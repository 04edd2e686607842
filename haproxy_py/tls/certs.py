"""Certificate files as HAProxy 2.6 loads them for ``bind ... crt FILE|DIR``.

A PEM file holds the certificate, its chain and (unless a ``FILE.key`` sits next to it) the
private key. A directory is read in name order; dot files, sub-directories and the extra files
2.6 loads next to a certificate (``.key``, ``.ocsp``, ``.issuer``, ``.sctl``) are not
certificates of their own. Loading checks what 2.6 checks (the file exists, holds a certificate,
a private key is found and matches) and reads the names SNI selects the certificate by: every
DNS subjectAltName, then every commonName.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import ssl
import tempfile
from dataclasses import dataclass
from typing import Any

from haproxy_py.tls.info import decode_pem as _decode_pem

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
    #: DNS subjectAltNames as written (case kept), the key as 2.6 names it ("EC256", "RSA2048"), and
    #: the (subject, issuer) of each chain certificate in the file, for 'show ssl cert'
    san: tuple[str, ...] = ()
    algorithm: str = ""
    chain: tuple[tuple[Any, Any], ...] = ()
    #: the file OpenSSL reads it from when that is not ``path`` (a certificate set at run time)
    load_from: str = ""
    #: the file holds DH parameters (used for DHE suites before any global setting, as 2.6)
    dh: bool = False
    #: the OCSP response (DER) of FILE.ocsp, stapled to handshakes that ask for it, and its key
    #: (the DER CertID, as 2.6's runtime API names it)
    ocsp: bytes = b""
    ocsp_key: bytes = b""
    #: the CertID the response file itself names ('show ssl cert' shows it)
    ocsp_resp_key: bytes = b""
    #: issuers-chain-path: the chain completing a file without one (PEM blocks) and its file
    issuers_chain: tuple[str, ...] = ()
    chain_file: str = ""
    #: FILE.sctl: the Signed Certificate Timestamp list served in the TLS extension 18 (b"": none)
    sctl: bytes = b""
    #: the store's OCSP response as read (FILE.ocsp or 'set ssl cert FILE.ocsp'), stapled or not,
    #: and the issuer of FILE.issuer (DER): what a commit checks the response against again
    ocsp_raw: bytes = b""
    issuer_der: bytes = b""
    #: the file's first chain certificate (DER; b"": none), the issuer OCSP is checked with first
    chain_issuer: bytes = b""


class CertError(Exception):
    """A certificate that 2.6 would refuse; the message is 2.6's text."""


def _key_type(text: str) -> str:
    if "BEGIN EC PRIVATE KEY" in text:
        return "EC"
    if "BEGIN RSA PRIVATE KEY" in text:
        return "RSA"
    return ""


class CertRefused(CertError):
    """A certificate 2.6 would load with something haproxy-py does not implement (haproxy-py's text)."""


#: what ``ssl-load-extra-files`` may name; 2.6 loads them all by default
EXTRA_FILES = frozenset(("bundle", "sctl", "ocsp", "issuer", "key"))


def _der_at(blocks: list[str], i: int) -> bytes:
    """The DER of the PEM certificate ``blocks[i]``; b"" when there is none or it does not decode."""
    if len(blocks) <= i:
        return b""
    try:
        return ssl.PEM_cert_to_DER_cert(blocks[i])
    except ValueError:
        return b""


def _issuer_file(path: str) -> bytes:
    """FILE.issuer's first certificate (DER), b"" without one."""
    try:
        with open(path + ".issuer", encoding="latin-1") as f:
            return _der_at(_pem_certs(f.read()), 0)
    except OSError:
        return b""


def _ocsp_for(raw: bytes, der: bytes, issuer: bytes | None, warnings: list[str] | None,
              keep_key: bool = False) -> tuple[bytes, bytes, bytes]:
    """(the response 2.6 would staple or b"", the CertID of the certificate and its issuer, the
    CertID the response names) for an OCSP response ``raw``, checked against the certificate and
    its issuer (the file's next certificate, else FILE.issuer); 2.6's warning when it is ignored."""
    from haproxy_py.tls.ocsp import ocsp_cert_id, ocsp_problem, ocsp_response_key

    parsed = bool(raw) and _is_ocsp_response(raw)
    problem = ocsp_problem(raw, der, issuer) if parsed else "Unable to parse OCSP response"
    if problem is not None and warnings is not None:
        warnings.append(f"Loading: {problem}. Content will be ignored.")
    key = ocsp_cert_id(der, issuer) if issuer else b""
    if problem == "Unable to parse OCSP response":
        # (at start 2.6 keeps no entry for it; a commit keeps the certificate's)
        return b"", (key if keep_key else b""), b""
    return (raw if problem is None else b""), key, ocsp_response_key(raw)


def no_issuer(path: str) -> str:
    """2.6's refusal of an OCSP response for a certificate whose issuer is neither in its file nor
    in FILE.issuer (the leading space and the stray quote are 2.6's)."""
    return (f" '{path}.ocsp' is present and activates OCSP but it is impossible to compute the OCSP certificate "
            "ID (maybe the issuer could not be found)'.")


def cert_issuer(cert: CertFile) -> bytes | None:
    """The issuer a certificate's OCSP response is checked with: the file's first chain
    certificate, else FILE.issuer's (None: neither)."""
    return cert.chain_issuer or cert.issuer_der or None


def _is_ocsp_response(data: bytes) -> bool:
    """A DER OCSPResponse at a glance: SEQUENCE { ENUMERATED status, ... }."""
    try:
        tag, s, e = _tlv(data, 0)
        return tag == 0x30 and e == len(data) and data[s] == 0x0A
    except IndexError:
        return False


def load_cert(path: str, del_ext: bool = False, extra: frozenset[str] = EXTRA_FILES,
              warnings: list[str] | None = None) -> CertFile:
    """One certificate file, checked; :class:`CertError` with 2.6's message otherwise. A key not in
    the file is FILE.key, or with ``del_ext`` (``ssl-load-extra-del-ext``) a .crt FILE's name without
    its extension + .key (site.crt -> site.key; other names keep FILE.key). ``extra``: the extra
    files ``ssl-load-extra-files`` lets 2.6 read: a .key only with 'key'; an OCSP response (.ocsp)
    kept for stapling (an unreadable one ignored with 2.6's warning, into ``warnings``); an SCT list
    (.sctl) kept to be served to clients that ask for SCTs (one 2.6 cannot parse refused with its
    message); multi-certificate bundles (FILE.rsa/.ecdsa/.dsa) are refused (:class:`CertRefused`);
    a .issuer only serves to check OCSP responses, which haproxy-py does not do (see README)."""
    ocsp = b""
    try:
        os.stat(path)
    except OSError as e:
        if "bundle" in extra and any(os.path.exists(path + x) for x in (".rsa", ".ecdsa", ".dsa")):
            raise CertRefused(f"multi-certificate bundles ('{path}.rsa', '.ecdsa', '.dsa') are not implemented by "
                              "haproxy-py (HAProxy 2.6 supports them); name each certificate file.") from None
        raise CertError(f"unable to stat SSL certificate from file '{path}' : {e.strerror}.") from None
    ocsp_raw = None
    if "ocsp" in extra and os.path.exists(path + ".ocsp"):
        try:
            with open(path + ".ocsp", "rb") as fb:
                ocsp_raw = fb.read()
        except OSError:
            ocsp_raw = b""
    sctl = b""
    if "sctl" in extra and os.path.exists(path + ".sctl"):
        try:
            with open(path + ".sctl", "rb") as fb:
                sctl = fb.read(16385)
        except OSError:
            sctl = b""
        if not sctl_ok(sctl):
            # 2.6's text, the file's name with its extension twice and the stray quote included
            raise CertError(f" '{path}.sctl.sctl' is present but cannot be read or parsed'.")
    try:
        with open(path, encoding="latin-1") as f:
            text = f.read()
    except OSError:
        raise CertError(f"unable to load certificate from file '{path}'.") from None
    if "-----BEGIN CERTIFICATE-----" not in text and "-----BEGIN TRUSTED CERTIFICATE-----" not in text:
        raise CertError(f"unable to load certificate from file '{path}'.")
    key: str | None = None
    ktext = text
    if "PRIVATE KEY-----" not in text and "key" not in extra:
        raise CertError(f"No Private Key found in '{path}'.")
    if "PRIVATE KEY-----" not in text:
        base, ext = os.path.splitext(path)
        key = (base if del_ext and ext == ".crt" else path) + ".key"  # 2.6: ".crt" files only
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
    blocks = _pem_certs(text)
    der = _der_at(blocks, 0)
    chain = []
    for blk in blocks[1:]:
        cd = _decode_pem(blk)
        chain.append((tuple(cd.get("subject", ())), tuple(cd.get("issuer", ()))))
    ocsp_key = ocsp_resp_key = b""
    chain_issuer = _der_at(blocks, 1)
    issuer_der = _issuer_file(path) if "issuer" in extra and os.path.exists(path + ".issuer") else b""
    if ocsp_raw is not None:
        issuer = chain_issuer or issuer_der or None  # as cert_issuer() reads the store
        if ocsp_raw and issuer is None:
            raise CertError(no_issuer(path))
        ocsp, ocsp_key, ocsp_resp_key = _ocsp_for(ocsp_raw, der, issuer, warnings)
    san = tuple(v for t, v in d.get("subjectAltName", ()) if t == "DNS")
    return CertFile(path, key, tuple(names), tuple(d.get("subject", ())), tuple(d.get("issuer", ())),
                    d.get("serialNumber", ""), d.get("notBefore", ""), d.get("notAfter", ""),
                    _key_type(ktext), der, int(d.get("version", 0) or 0), san, key_algorithm(der),
                    tuple(chain), dh="-----BEGIN DH PARAMETERS-----" in text, ocsp=ocsp,
                    ocsp_key=ocsp_key, ocsp_resp_key=ocsp_resp_key, sctl=sctl, ocsp_raw=ocsp_raw or b"",
                    issuer_der=issuer_der, chain_issuer=chain_issuer)


def sctl_ok(data: bytes) -> bool:
    """2.6's check of an SCT list file: a 2-byte length that is the rest of the file, made of
    entries of a 2-byte length and that many bytes (their content is not checked); at most
    16384 bytes (2.6 reads it into one buffer)."""
    if len(data) < 2 or len(data) > 16384 or int.from_bytes(data[:2], "big") + 2 != len(data):
        return False
    pos, end = 2, len(data)
    while pos < end:
        if end - pos < 2:
            return False
        pos += 2 + int.from_bytes(data[pos:pos + 2], "big")
        if pos > end:
            return False
    return True


def load_issuers(path: str, warnings: list[str]) -> list[tuple[str, list[str], tuple[Any, ...]]]:
    """issuers-chain-path DIR: each file's certificates (the chain a certificate issued by the
    first one is completed with), by file name order; 2.6's warning for a file without any.
    Items: (file, PEM blocks, the first certificate's subject)."""
    out = []
    for e in sorted(os.listdir(path)):
        f = os.path.join(path, e)
        if not os.path.isfile(f):
            continue
        try:
            with open(f, encoding="latin-1") as fh:
                blocks = _pem_certs(fh.read())
        except OSError:
            blocks = []
        if not blocks:
            warnings.append(f"unable to load issuers-chain {f} : pem certificate not found.")
            continue
        out.append((f, blocks, tuple(_decode_pem(blocks[0]).get("subject", ()))))
    return out


def complete_chain(cert: CertFile, issuers: list[tuple[str, list[str], tuple[Any, ...]]]) -> CertFile:
    """A certificate whose file has no chain, completed from the first issuers-chain-path file
    whose first certificate is its issuer (2.6 serves that chain with it)."""
    import dataclasses

    if cert.chain or not issuers:
        return cert
    for f, blocks, subject in issuers:
        if subject == cert.issuer:
            chain = []
            for blk in blocks:
                cd = _decode_pem(blk)
                chain.append((tuple(cd.get("subject", ())), tuple(cd.get("issuer", ()))))
            return dataclasses.replace(cert, issuers_chain=tuple(blocks), chain_file=f, chain=tuple(chain))
    return cert


def _pem_certs(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while True:
        i = text.find("-----BEGIN CERTIFICATE-----", pos)
        if i < 0:
            return out
        j = text.find("-----END CERTIFICATE-----", i)
        if j < 0:
            return out
        out.append(text[i:j + 25] + "\n")
        pos = j + 25


# --------------------------------------------------------------------------- a little DER
_EC_CURVES = {"1.2.840.10045.3.1.7": 256, "1.3.132.0.34": 384, "1.3.132.0.35": 521, "1.3.132.0.10": 256}


def _tlv(b: bytes, i: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at ``i``."""
    tag = b[i]
    n = b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n


def _oid(b: bytes) -> str:
    if not b:
        return ""
    parts = [b[0] // 40, b[0] % 40]
    v = 0
    for c in b[1:]:
        v = (v << 7) | (c & 0x7F)
        if not c & 0x80:
            parts.append(v)
            v = 0
    return ".".join(map(str, parts))


def key_algorithm(der: bytes) -> str:
    """The certificate's public key as 2.6's 'show ssl cert' names it: "RSA2048", "EC256"; "" when
    it cannot be read."""
    try:
        _, s, _ = _tlv(der, 0)          # Certificate
        _, t, tend = _tlv(der, s)       # TBSCertificate
        i = t
        fields: list[tuple[int, int, int]] = []
        while i < tend and len(fields) < 7:
            tag, vs, ve = _tlv(der, i)
            fields.append((tag, vs, ve))
            i = ve
        if fields and fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        _, ks, ke = fields[5]            # SubjectPublicKeyInfo
        _, as_, ae = _tlv(der, ks)       # AlgorithmIdentifier
        _, os_, oe = _tlv(der, as_)
        alg = _oid(der[os_:oe])
        if alg == "1.2.840.113549.1.1.1":  # rsaEncryption
            _, bs, _ = _tlv(der, ae)     # BIT STRING: unused-bits byte, then RSAPublicKey
            _, rs, _ = _tlv(der, bs + 1)
            _, ms, me = _tlv(der, rs)    # modulus
            return f"RSA{int.from_bytes(der[ms:me], 'big').bit_length()}"
        if alg == "1.2.840.10045.2.1":     # id-ecPublicKey
            _, ps, pe = _tlv(der, oe)
            bits = _EC_CURVES.get(_oid(der[ps:pe]))
            return f"EC{bits}" if bits else ""
    except (IndexError, ValueError):
        return ""
    return ""


#: signature algorithm OIDs -> OpenSSL's short names (OBJ_nid2sn), as 2.6 reports them
_SIG_NAMES = {
    "1.2.840.113549.1.1.4": "RSA-MD5", "1.2.840.113549.1.1.5": "RSA-SHA1",
    "1.2.840.113549.1.1.10": "RSASSA-PSS", "1.2.840.113549.1.1.11": "RSA-SHA256",
    "1.2.840.113549.1.1.12": "RSA-SHA384", "1.2.840.113549.1.1.13": "RSA-SHA512",
    "1.2.840.113549.1.1.14": "RSA-SHA224", "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224", "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384", "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.3.101.112": "ED25519", "1.3.101.113": "ED448",
}


def sig_algorithm(der: bytes) -> str:
    """The certificate's signature algorithm as OpenSSL's short name ("RSA-SHA256",
    "ecdsa-with-SHA256"); "" when it cannot be read or has no name here."""
    try:
        _, s, _ = _tlv(der, 0)          # Certificate
        _, _, tend = _tlv(der, s)       # TBSCertificate
        _, as_, _ = _tlv(der, tend)     # signatureAlgorithm
        _, os_, oe = _tlv(der, as_)
        return _SIG_NAMES.get(_oid(der[os_:oe]), "")
    except (IndexError, ValueError):
        return ""


#: OpenSSL's short names of the key and signature algorithms (what 2.6's *_key_alg/*_sig_alg give)
_ALG_NAMES = {
    "1.2.840.113549.1.1.1": "rsaEncryption", "1.2.840.10045.2.1": "id-ecPublicKey", "1.3.101.112": "ED25519",
    "1.3.101.113": "ED448", "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256", "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512", "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.113549.1.1.5": "RSA-SHA1", "1.2.840.113549.1.1.11": "RSA-SHA256",
    "1.2.840.113549.1.1.12": "RSA-SHA384", "1.2.840.113549.1.1.13": "RSA-SHA512",
}


def der_algorithms(der: bytes) -> tuple[str | None, str | None]:
    """(public key algorithm, signature algorithm) of a DER certificate, by OpenSSL's short names
    (the dotted OID for one not in the table); None where it cannot be read."""
    try:
        _, s, end = _tlv(der, 0)         # Certificate
        _, t, tend = _tlv(der, s)        # TBSCertificate
        _, a, _ = _tlv(der, tend)        # signatureAlgorithm
        _, os_, oe = _tlv(der, a)
        sig = _oid(der[os_:oe])
        i = t
        fields: list[tuple[int, int, int]] = []
        while i < tend and len(fields) < 7:
            tag, vs, ve = _tlv(der, i)
            fields.append((tag, vs, ve))
            i = ve
        if fields and fields[0][0] == 0xA0:
            fields = fields[1:]
        _, ks, _ = fields[5]
        _, as_, _ = _tlv(der, ks)
        _, ko, ke = _tlv(der, as_)
        key = _oid(der[ko:ke])
    except (IndexError, ValueError):
        return None, None
    return _ALG_NAMES.get(key, key), _ALG_NAMES.get(sig, sig)


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


_STORE_DIR: list[str] = []


def cert_from_payload(name: str, pem: str, old: CertFile, issuers: Any = ()) -> CertFile:
    """The certificate a 'set ssl cert NAME' payload holds, checked as a file would be (a payload
    without a key keeps the old one); written to a private file for OpenSSL. A payload without a
    chain is completed from ``issuers`` (issuers-chain-path) as at start. :class:`CertError`."""
    if not _STORE_DIR:
        _STORE_DIR.append(tempfile.mkdtemp(prefix="haproxy-py-certs-"))
    fd, tmp = tempfile.mkstemp(suffix=".pem", dir=_STORE_DIR[0])
    with os.fdopen(fd, "w") as f:
        f.write(pem if pem.endswith("\n") else pem + "\n")
    try:
        if "PRIVATE KEY-----" not in pem:
            key = old.key or (old.load_from or old.path)
            os.symlink(key, tmp + ".key")
        c = complete_chain(load_cert(tmp), list(issuers))
    except CertError as e:
        os.unlink(tmp)
        raise CertError(str(e).replace(tmp, name)) from None  # 2.6 names the certificate
    # the SCT list stays (2.6 replaces the certificate and key of the store, not its extra files)
    return dataclasses.replace(c, path=name, load_from=tmp, key=c.key, sctl=old.sctl)


def key_from_payload(name: str, pem: str, old: CertFile) -> CertFile:
    """'set ssl cert NAME.key' + a PEM private key: NAME's store with that key (whether it matches
    the certificate is checked by the commit, as 2.6 does: :func:`commit_problem`); 2.6's message
    as :class:`CertError` when the payload holds no private key."""
    import _ssl
    import ctypes

    lib = ctypes.CDLL(_ssl.__file__)
    v = ctypes.c_void_p
    lib.BIO_new_mem_buf.argtypes, lib.BIO_new_mem_buf.restype = (ctypes.c_char_p, ctypes.c_int), v
    lib.PEM_read_bio_PrivateKey.argtypes, lib.PEM_read_bio_PrivateKey.restype = (v, v, v, v), v
    lib.EVP_PKEY_free.argtypes, lib.BIO_free.argtypes = (v,), (v,)
    data = pem.encode("latin-1", "replace")
    bio = lib.BIO_new_mem_buf(data, len(data))
    pkey = lib.PEM_read_bio_PrivateKey(bio, None, None, None) if bio else None
    if pkey:
        lib.EVP_PKEY_free(pkey)
    if bio:
        lib.BIO_free(bio)
    lib.ERR_clear_error()
    if not pkey:
        raise CertError(f"unable to load private key from file '{name}'.")
    if not _STORE_DIR:
        _STORE_DIR.append(tempfile.mkdtemp(prefix="haproxy-py-certs-"))
    fd, tmp = tempfile.mkstemp(suffix=".key", dir=_STORE_DIR[0])
    with os.fdopen(fd, "w") as f:
        f.write(pem if pem.endswith("\n") else pem + "\n")
    return dataclasses.replace(old, key=tmp, load_from=old.load_from or old.path)


def ocsp_from_payload(payload: str, old: CertFile) -> CertFile:
    """'set ssl cert NAME.ocsp' + an OCSP response in base64: NAME's store with that response (not
    checked before the commit, as 2.6: :func:`restaple`); 2.6's message as :class:`CertError` when
    it is not base64."""
    import base64
    import binascii

    from haproxy_py.tls.ocsp import ocsp_response_key

    try:
        der = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        # 2.6's text, without a line end before what follows it
        raise CertError("Error reading OCSP response in base64 format") from None
    key = ocsp_response_key(der) if _is_ocsp_response(der) else b""
    return dataclasses.replace(old, ocsp_raw=der, ocsp_resp_key=key)


def issuer_from_payload(base: str, payload: str, old: CertFile) -> CertFile:
    """'set ssl cert NAME.issuer' + PEM certificates: NAME's store with the first one as the issuer
    its OCSP response is checked with; 2.6's message as :class:`CertError` when there is none."""
    from haproxy_py.tls.ocsp import x509_ok

    der = _der_at(_pem_certs(payload), 0)
    if not der or not x509_ok(der):
        raise CertError(f"'{base}' cannot be read or parsed'.")  # 2.6's text, stray quote included
    return dataclasses.replace(old, issuer_der=der)


def restaple(cert: CertFile, stapled: dict[bytes, bytes], warnings: list[str]) -> CertFile:
    """'commit ssl cert': the store's OCSP response checked again against its certificate and
    issuer, as 2.6 loads it into its OCSP entry (one per CertID): a good one is stapled from now
    on; otherwise (2.6's warning) the entry keeps the response it had (``stapled``: CertID -> the
    response stapled now). :class:`CertError` (2.6's text) when no issuer is known."""
    if not cert.ocsp_raw:
        return dataclasses.replace(cert, ocsp=b"", ocsp_key=b"")
    if cert_issuer(cert) is None:
        raise CertError(no_issuer(cert.path))
    ocsp, key, _ = _ocsp_for(cert.ocsp_raw, cert.der, cert_issuer(cert), warnings, keep_key=True)
    return dataclasses.replace(cert, ocsp=ocsp or stapled.get(key, b""), ocsp_key=key)


def commit_problem(cert: CertFile) -> str | None:
    """What 2.6 refuses to commit: a key (set by 'set ssl cert NAME.key') that does not match the
    certificate."""
    if cert.der == b"" or not cert.key:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(cert.load_from or cert.path, cert.key)
    except ssl.SSLError as e:
        # (OpenSSL 3 drops the certificate a key does not match: "no certificate assigned")
        if getattr(e, "reason", "") in ("KEY_VALUES_MISMATCH", "NO_CERTIFICATE_ASSIGNED"):
            return f"inconsistencies between private key and certificate loaded '{cert.path}'."
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------- the runtime API's view
def config_certs(config: Any) -> dict[str, CertFile]:
    """The certificate files the configuration loaded: its TLS listeners' and its servers' (crt)."""
    out: dict[str, CertFile] = {}
    for p in config.proxies:
        for b in p.binds:
            if b.tls is not None:
                for c in b.tls.certs:
                    out.setdefault(c.path, c)
        for s in p.servers:
            t = s.tls
            if t is not None and t.crt is not None:
                out.setdefault(t.crt.path, t.crt)
    return out


def cert_instances(config: Any, name: str) -> int:
    """How many certificate instances use file ``name`` (2.6 prints a dot for each one a commit
    rebuilds): one per bind line (or crt-list line) loading it, one per server presenting it."""
    n = 0
    for p in config.proxies:
        for b in p.binds:
            if b.tls is not None:
                n += sum(1 for c in b.tls.certs if c.path == name)
        n += sum(1 for s in p.servers if s.tls is not None and s.tls.crt is not None and s.tls.crt.path == name)
    return n


def empty_store(name: str) -> CertFile:
    """'new ssl cert NAME': a certificate store with nothing in it yet."""
    return CertFile(name, None, ())


def new_cert(config: Any, name: str, store: dict[str, CertFile]) -> str:
    """``new ssl cert NAME``: an empty store added to ``store``, 2.6's reply."""
    if name in loaded_certs(config, store):
        return f"Certificate '{name}' already exists!\n"
    store[name] = empty_store(name)
    return f"New empty certificate store '{name}'!\n"


def del_cert(config: Any, name: str, store: dict[str, CertFile], tx: dict[str, CertFile]) -> str:
    """``del ssl cert NAME``: a store no listener or server uses is removed, 2.6's replies."""
    if name in tx:  # 2.6's text, without the line end of the others
        return f"Can't remove the certificate: ongoing transaction for the certificate '{name}'\n"
    if name in config_certs(config):
        return f"Can't remove the certificate: certificate '{name}' in use, can't be deleted!\n\n"
    if name not in store:
        return f"Can't remove the certificate: certificate '{name}' doesn't exist!\n\n"
    del store[name]
    return f"Certificate '{name}' deleted!\n"


def loaded_certs(config: Any, store: dict[str, CertFile] | None = None) -> dict[str, CertFile]:
    """Every certificate file the configuration's TLS listeners loaded, by file name (``store``:
    those replaced at run time)."""
    out = config_certs(config)
    if store:
        out.update(store)
    return out


def show_cert_list(config: Any, store: dict[str, CertFile] | None = None,
                   tx: dict[str, CertFile] | None = None) -> str:
    """``show ssl cert``: 2.6's listing of the certificate files in memory (nothing without any),
    after the ongoing transaction."""
    names = sorted(loaded_certs(config, store))
    head = "".join(f"# transaction\n*{n}\n" for n in sorted(tx or {}))
    return head + "# filename\n" + "".join(f"{n}\n" for n in names) if names else ""


def show_cert(config: Any, name: str, store: dict[str, CertFile] | None = None,
              tx: dict[str, CertFile] | None = None) -> str:
    """``show ssl cert NAME`` (``*NAME``: the ongoing transaction's): one file's details, as 2.6."""
    from haproxy_py.tls.info import dn_oneline

    status = "Used"
    if name.startswith("*"):
        c = (tx or {}).get(name[1:])
        status = "Unused"
    else:
        c = loaded_certs(config, store).get(name)
        if c is not None and name not in config_certs(config):
            status = "Unused"
    if c is None:
        return "Can't display the certificate: Not found or the certificate is a bundle!\n"
    if not c.der and not c.names:
        return f"Filename: {c.path}\nStatus: Empty\nOCSP Response Key: \n"
    import hashlib

    shown = ("*" if name.startswith("*") else "") + c.path  # an unused store shows its name as it is
    lines = [f"Filename: {shown}", f"Status: {status}"]
    if c.chain_file:
        lines.append(f"Chain Filename: {c.chain_file}")
    lines += [f"Serial: {c.serial}", f"notBefore: {c.not_before}",
             f"notAfter: {c.not_after}", "Subject Alternative Name: " + ", ".join(f"DNS:{n}" for n in c.san),
             f"Algorithm: {c.algorithm}", f"SHA1 FingerPrint: {hashlib.sha1(c.der).hexdigest().upper()}",
             f"Subject: {dn_oneline(c.subject)}", f"Issuer: {dn_oneline(c.issuer)}"]
    for subj, iss in c.chain:
        lines += [f"Chain Subject: {dn_oneline(subj)}", f"Chain Issuer: {dn_oneline(iss)}"]
    lines.append(f"OCSP Response Key: {c.ocsp_resp_key.hex()}")
    return "\n".join(lines) + "\n"


def _certid_fields(key: bytes) -> tuple[str, str, str]:
    """(issuer name hash, issuer key hash, serial) of a DER CertID, as 2.6 lists them."""
    _, s, _ = _tlv(key, 0)
    _, _, i = _tlv(key, s)           # hashAlgorithm
    _, ns, ne = _tlv(key, i)
    _, ks, ke = _tlv(key, ne)
    _, ss, se = _tlv(key, ke)
    return key[ns:ne].hex().upper(), key[ks:ke].hex().upper(), key[ss:se].hex().upper()


def show_ocsp(config: Any, store: dict[str, CertFile] | None, args: list[str],
              updated: dict[bytes, bytes] | None = None) -> str:
    """``show ssl ocsp-response [KEY]``: the stapled responses' keys, or one response (as 'set
    ssl ocsp-response' left it: ``updated``, CertID -> DER response)."""
    from haproxy_py.tls.ocsp import ocsp_text

    by_key: dict[str, CertFile] = {}
    for c in loaded_certs(config, store).values():
        if c.ocsp_key:
            by_key.setdefault(c.ocsp_key.hex(), c)
    if args:
        hit = by_key.get(args[0].lower())
        if hit is None:
            return "Certificate ID does not match any certificate.\n"
        der = (updated or {}).get(hit.ocsp_key, hit.ocsp)
        return ocsp_text(der) if der else ""
    if not by_key:
        return ""
    out = ["# Certificate IDs"]
    for k in sorted(by_key):
        name, key, serial = _certid_fields(bytes.fromhex(k))
        out += [f"Certificate ID key : {k}", " Certificate ID:", f"   Issuer Name Hash: {name}",
                f"   Issuer Key Hash: {key}", f"   Serial Number: {serial}"]
    return "\n".join(out) + "\n"


def set_ocsp(config: Any, store: dict[str, CertFile] | None, b64: str) -> tuple[str, bytes, bytes]:
    """``set ssl ocsp-response BASE64`` (or its payload): (2.6's reply, the CertID of the
    certificates whose stapled response it replaces, the DER response); b"" keys on refusal.
    The response must be one 2.6 would staple, for a certificate that has an OCSP entry (one
    loaded with a FILE.ocsp and its issuer)."""
    import base64
    import binascii

    from haproxy_py.tls.ocsp import ocsp_problem, ocsp_response_key

    try:
        der = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        return "'set ssl ocsp-response' received invalid base64 encoded response.\n", b"", b""
    problem = ocsp_problem(der, b"", None) if _is_ocsp_response(der) else "Unable to parse OCSP response"
    if problem is not None:
        return f"{problem}.\n", b"", b""
    key = ocsp_response_key(der)
    if not key or not any(c.ocsp_key == key for c in loaded_certs(config, store).values()):
        return "OCSP single response: Certificate ID does not match any certificate or issuer.\n", b"", b""
    return "OCSP Response updated!\n", key, der


# --------------------------------------------------------------------------- CA files
def _ca_paths(config: Any) -> dict[str, bool]:
    """The CA files 2.6 keeps in its store, by name, and whether a certificate instance uses them
    (True): the TLS listeners' ca-file; the servers' ca-file, used when the server presents a
    client certificate (crt), as 2.6 links them; the internal HTTP client's (``@system-ca`` by
    default), unused."""
    out: dict[str, bool] = {}
    for p in config.proxies:
        for b in p.binds:
            t = b.tls
            if t is not None:
                for f in (t.ca_file, getattr(t, "ca_verify_file", None)):
                    if f:
                        out[f] = True
        for s in p.servers:
            t = s.tls
            if t is not None and t.ca_file:
                out[t.ca_file] = out.get(t.ca_file, False) or t.crt is not None
    hc = getattr(config.global_, "httpclient_ca", None)
    if hc and hc not in out:
        out[hc] = False
    return out


def _ca_certs(name: str) -> list[str]:
    """The certificates (PEM blocks) of a CA file, or of the system's CA directory for
    ``@system-ca`` (each certificate once)."""
    if name == "@system-ca":
        return list(_system_cas())
    try:
        with open(name, encoding="latin-1") as f:
            return _pem_certs(f.read())
    except OSError:
        return []


@functools.cache
def _system_cas() -> tuple[str, ...]:
    """The system's CA directory's certificates, read once (as 2.6 loads it once, at start)."""
    d = ssl.get_default_verify_paths().capath or ""
    seen: dict[str, None] = {}
    try:
        entries = sorted(os.listdir(d))
    except OSError:
        return ()
    for e in entries:
        try:
            with open(os.path.join(d, e), encoding="latin-1") as f:
                for blk in _pem_certs(f.read()):
                    seen.setdefault(blk, None)
        except OSError:
            continue
    return tuple(seen)


class CaStore:
    """The CA files as the runtime API sees them: the configuration's (``_ca_paths``), those
    'new ssl ca-file' added (``new``: name -> PEM blocks) less those 'del ssl ca-file' removed."""

    def __init__(self, config: Any, new: dict[str, list[str]] | None = None, deleted: set[str] | None = None) -> None:
        self.used = {n: u for n, u in _ca_paths(config).items() if n not in (deleted or ())}
        self.new = new if new is not None else {}
        for n in self.new:
            self.used.setdefault(n, False)

    def certs(self, name: str) -> list[str]:
        return self.new[name] if name in self.new else _ca_certs(name)

    def instances(self, config: Any, name: str) -> int:
        """How many certificate instances use CA file ``name`` (2.6 prints a dot for each one it
        rebuilds on commit): each certificate of a listener that verifies with it, each server
        presenting a client certificate that verifies with it."""
        n = 0
        for p in config.proxies:
            for b in p.binds:
                t = b.tls
                if t is not None and name in (t.ca_file, getattr(t, "ca_verify_file", None)):
                    n += len(t.entries or t.certs)
            for s in p.servers:
                t = s.tls
                if t is not None and t.ca_file == name and t.crt is not None:
                    n += 1
        return n


def show_ca_list(config: Any, store: CaStore | None = None, tx: tuple[str, list[str]] | None = None) -> str:
    """``show ssl ca-file``: the ongoing transaction, then each CA file and how many certificates
    it holds (nothing without any)."""
    st = store or CaStore(config)
    if not st.used:
        return ""
    head = f"# transaction\n*{tx[0]} - {len(tx[1])} certificate(s)\n" if tx else ""
    return head + "# filename\n" + "".join(f"{n} - {len(st.certs(n))} certificate(s)\n" for n in sorted(st.used))


def new_ca_file(config: Any, name: str, new: dict[str, list[str]], deleted: set[str]) -> str:
    """``new ssl ca-file NAME``: an empty CA file in the store, 2.6's replies."""
    if name in CaStore(config, new, deleted).used:
        return f"CA file '{name}' already exists!\n"
    new[name] = []
    deleted.discard(name)
    return f"New CA file created '{name}'!\n"


def del_ca_file(config: Any, name: str, new: dict[str, list[str]], deleted: set[str]) -> str:
    """``del ssl ca-file NAME``: a CA file no certificate instance uses leaves the store (the TLS
    contexts built with it keep their CAs, as in 2.6)."""
    used = CaStore(config, new, deleted).used
    if name not in used:
        return f"Can't remove the CA file: CA file '{name}' doesn't exist!\n\n"
    if used[name]:
        return f"Can't remove the CA file: CA file '{name}' in use, can't be deleted!\n\n"
    new.pop(name, None)
    if name in _ca_paths(config):
        deleted.add(name)
    return f"CA file '{name}' deleted!\n"


def show_ca_file(config: Any, arg: str, store: CaStore | None = None,
                 tx: tuple[str, list[str]] | None = None) -> str:
    """``show ssl ca-file NAME[:INDEX]``: the certificates of one CA file (the INDEXth only), as 2.6
    prints them; a reply without the final empty line when the index is not a number."""
    import hashlib

    from haproxy_py.tls.info import dn_oneline

    name, colon, idx = arg.partition(":")
    index = 0
    if colon:
        if not idx.isdigit() or int(idx) == 0:
            return f"wrong CA index after colons in '{arg}'!"  # 2.6 ends it there, no empty line
        index = int(idx)
    st = store or CaStore(config)
    paths = st.used
    if name.startswith("*"):  # the ongoing transaction's
        if tx is None or tx[0] != name[1:]:
            return "Can't display the CA file : Not found!\n"
        blocks, status = tx[1], "Unused"
    elif name not in paths:
        return "Can't display the CA file : Not found!\n"
    else:
        blocks, status = st.certs(name), ("Used" if paths[name] else "Unused")
    if index > len(blocks) or not blocks:
        return ""
    out = [f"Filename: {name}", f"Status: {status}"]
    for i, blk in enumerate(blocks, 1):
        if index and i != index:
            continue
        d = _decode_pem(blk)
        der = ssl.PEM_cert_to_DER_cert(blk)
        san = ", ".join(f"DNS:{v}" for t, v in d.get("subjectAltName", ()) if t == "DNS")
        out += [" ", f"Certificate #{i}:", f"Serial: {d.get('serialNumber', '')}", f"notBefore: {d.get('notBefore', '')}",
                f"notAfter: {d.get('notAfter', '')}", f"Subject Alternative Name: {san}",
                f"Algorithm: {key_algorithm(der)}", f"SHA1 FingerPrint: {hashlib.sha1(der).hexdigest().upper()}",
                f"Subject: {dn_oneline(d.get('subject', ()))}", f"Issuer: {dn_oneline(d.get('issuer', ()))}"]
    return "\n".join(out) + "\n"
