"""What a session's TLS layer tells the sample fetches and the log (pure).

The engine hands :class:`TlsInfo` an object with the methods of ``ssl.SSLSocket`` (``version()``,
``cipher()``, ``selected_alpn_protocol()``, ``getpeercert()``) and the server name the client
sent; values are read once, when first asked, and formatted as 2.6 formats them.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

#: OpenSSL's short names of the attribute types Python's getpeercert() spells out
_SHORT = {
    "commonName": "CN", "countryName": "C", "stateOrProvinceName": "ST", "localityName": "L",
    "organizationName": "O", "organizationalUnitName": "OU", "emailAddress": "emailAddress",
    "domainComponent": "DC", "serialNumber": "serialNumber", "surname": "SN", "givenName": "GN",
    "title": "title", "userId": "UID", "streetAddress": "street", "postalCode": "postalCode",
}


def dn_oneline(rdns: Any) -> str:
    """A distinguished name the way 2.6's ssl_c_s_dn shows it: ``/C=FR/O=Org/CN=name``."""
    out = []
    for rdn in rdns or ():
        for k, v in rdn:
            out.append(f"/{_SHORT.get(k, k)}={v}")
    return "".join(out)


def dn_entry(rdns: Any, field: str, occ: int = 1) -> str | None:
    """One entry of a DN (``ssl_c_s_dn(CN)``): the occ-th (1 = first, -1 = last) of that field."""
    vals = [v for rdn in rdns or () for k, v in rdn if _SHORT.get(k, k) == field or k == field]
    if not vals or occ == 0 or abs(occ) > len(vals):
        return None
    return vals[occ - 1] if occ > 0 else vals[occ]


def asn1_time(text: str) -> str | None:
    """Python's 'Dec  1 15:25:44 2026 GMT' as the ASN.1 string 2.6 returns: UTCTime
    ``YYMMDDhhmmssZ`` before 2050, GeneralizedTime ``YYYYMMDDhhmmssZ`` from 2050 on."""
    if not text:
        return None
    try:
        t = time.strptime(text.replace(" GMT", ""), "%b %d %H:%M:%S %Y")
    except ValueError:
        return None
    tm = time.gmtime(calendar.timegm(t))
    return time.strftime("%Y%m%d%H%M%SZ" if tm.tm_year >= 2050 else "%y%m%d%H%M%SZ", tm)


def serial_bytes(hexstr: str) -> bytes:
    """Python's serialNumber (hex digits) as the serial's bytes (2.6's ssl_c_serial)."""
    if not hexstr:
        return b""
    if len(hexstr) % 2:
        hexstr = "0" + hexstr
    try:
        return bytes.fromhex(hexstr)
    except ValueError:
        return b""


def decode_pem(pem: str) -> dict[str, Any]:
    """Python's decoding of one PEM certificate (its decoder reads files only)."""
    import os
    import ssl
    import tempfile

    fd, tmp = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(pem)
        return dict(ssl._ssl._test_decode_cert(tmp))  # type: ignore[attr-defined]
    except (ssl.SSLError, OSError, AttributeError):
        return {}
    finally:
        os.unlink(tmp)


class TlsInfo:
    """A session's TLS facts; truthy (``%ft`` gets its ``~``)."""

    __slots__ = ("sock", "sni", "_peer", "verify", "_ver", "_cipher", "cert")

    def __init__(self, sock: Any, sni: str | None, verify: bool = False, cert: Any = None) -> None:
        self.sock = sock
        self.sni = sni
        #: the certificate this side presented (tls/certs.py CertFile)
        self.cert = cert
        #: a client certificate was asked for (verify optional/required)
        self.verify = verify
        self._peer: Any = None
        self._ver: str | None = None
        self._cipher: str | None = None

    def __bool__(self) -> bool:
        return True

    @property
    def protocol(self) -> str | None:
        v = self._ver
        if v is None:
            try:
                v = self._ver = self.sock.version()
            except (OSError, ValueError, AttributeError):
                return None
        return v

    @property
    def cipher(self) -> str | None:
        c = self._cipher
        if c is None:
            try:
                got = self.sock.cipher()
            except (OSError, ValueError, AttributeError):
                return None
            if not got:
                return None
            c = self._cipher = got[0]
        return c

    @property
    def alpn(self) -> str | None:
        try:
            return self.sock.selected_alpn_protocol()
        except (OSError, ValueError, AttributeError):
            return None

    @property
    def npn(self) -> str | None:
        """The protocol NPN chose (tls/context.py reads it from OpenSSL), None without."""
        fn = getattr(self.sock, "npn", None)
        if fn is None:
            return None
        try:
            return fn()
        except (OSError, ValueError):
            return None

    @property
    def bits(self) -> int | None:
        try:
            got = self.sock.cipher()
        except (OSError, ValueError, AttributeError):
            return None
        return int(got[2]) if got else None

    @property
    def resumed(self) -> bool:
        try:
            return bool(self.sock.session_reused)
        except (OSError, ValueError, AttributeError):
            return False

    def verify_result(self) -> int:
        """SSL_get_verify_result: the last verification error (0 when none)."""
        try:
            v = self.sock.verify_result()
        except (OSError, ValueError, AttributeError):
            return 0
        return int(v or 0)

    def verify_errors(self) -> list[int]:
        """[first certificate error, first CA error, its depth] (errors ca/crt-ignore-err let pass)."""
        try:
            return list(self.sock.verify_errors())
        except (OSError, ValueError, AttributeError):
            return [0, 0, 0]

    def raw(self, what: str) -> bytes | None:
        """client_random, server_random, session_id or session_key, as OpenSSL has them."""
        try:
            return getattr(self.sock, what)()
        except (OSError, ValueError, AttributeError):
            return None

    def ask(self, what: str, *args: Any) -> Any:
        """One of the socket's OpenSSL readings (hello, secret, cipher_name, peer_chain_der,
        finished: tls/context.py EngineSSLSocket), None where the socket has none."""
        try:
            return getattr(self.sock, what)(*args)
        except (OSError, ValueError, AttributeError):
            return None

    def peer(self) -> dict[str, Any]:
        """The verified client certificate as getpeercert() decodes it ({} without one)."""
        p = self._peer
        if p is None:
            p = {}
            if self.verify:
                try:
                    p = self.sock.getpeercert() or {}
                except (OSError, ValueError, AttributeError):
                    p = {}
            self._peer = p
        return p

    def peer_der(self) -> bytes | None:
        if not self.verify:
            return None
        try:
            return self.sock.getpeercert(binary_form=True)
        except (OSError, ValueError, AttributeError):
            return None


#: OpenSSL's packed code of a failed certificate verification (ERR_LIB_SSL, CERTIFICATE_VERIFY_FAILED)
VERIFY_FAILED = (20 << 23) | 134


def ssl_error_code(exc: Any) -> int:
    """OpenSSL's packed error code (``(library << 23) | reason``) of an ``ssl.SSLError``, from the
    names Python gives it; 0 when unknown."""
    import _ssl

    codes = getattr(_ssl, "err_names_to_codes", {})
    got = codes.get(getattr(exc, "reason", None) or "")
    return (got[0] << 23) | got[1] if got else 0


class BackendTlsInfo(TlsInfo):
    """The TLS facts of a connection to a server (the ssl_bc_* and ssl_s_* fetches): the server's
    certificate is read from its DER, whether or not it was verified; ``err``: the OpenSSL error of
    a handshake that failed (ssl_bc_err), 0 otherwise."""

    __slots__ = ("err",)

    def __init__(self, sock: Any, sni: str | None, verify: bool = False, cert: Any = None, err: int = 0) -> None:
        super().__init__(sock, sni, verify, cert)
        self.err = err

    def peer_der(self) -> bytes | None:
        try:
            return self.sock.getpeercert(binary_form=True)
        except (OSError, ValueError, AttributeError):
            return None

    def peer(self) -> dict[str, Any]:
        p = self._peer
        if p is None:
            p = {}
            der = self.peer_der()
            if der:
                import ssl

                p = decode_pem(ssl.DER_cert_to_PEM_cert(der))
            self._peer = p
        return p

    @property
    def session_id(self) -> bytes | None:
        try:
            s = self.sock.session
        except (OSError, ValueError, AttributeError):
            return None
        return bytes(s.id) if s is not None else None

    @property
    def unique_id(self) -> bytes | None:
        try:
            return self.sock.get_channel_binding("tls-unique")
        except (OSError, ValueError, AttributeError):
            return None


def backend_info(sock: Any) -> BackendTlsInfo | None:
    """The facts of a server connection when it runs over TLS (None in plain text)."""
    if getattr(sock, "_sslobj", None) is None:
        return None
    return BackendTlsInfo(sock, getattr(sock, "sni", None), True)
