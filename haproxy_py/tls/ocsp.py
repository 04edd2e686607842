"""OCSP responses as 2.6 checks and shows them, read with OpenSSL itself (ctypes, on the library
Python's ``_ssl`` already loaded): whether a FILE.ocsp response may be stapled for its certificate,
the CertID that names it, and OpenSSL's printout of it. The stapling itself is tls/context.py's.
"""

from __future__ import annotations

import ctypes
from typing import Any

_FNS: dict[str, Any] = {}


def _fn(name: str, argtypes: tuple[Any, ...], restype: Any) -> Any:
    f = _FNS.get(name)
    if f is None:
        import _ssl

        f = getattr(ctypes.CDLL(_ssl.__file__), name)
        f.argtypes = argtypes
        f.restype = restype
        _FNS[name] = f
    return f


def _d2i(fn: str, der: bytes) -> int:
    buf = ctypes.create_string_buffer(der, len(der))
    pp = ctypes.c_void_p(ctypes.addressof(buf))
    return _fn(fn, (ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_long), ctypes.c_void_p)(
        None, ctypes.byref(pp), len(der)) or 0


def _i2d_certid(cid: int) -> bytes:
    i2d = _fn("i2d_OCSP_CERTID", (ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p)), ctypes.c_int)
    n = i2d(cid, None)
    if n <= 0:
        return b""
    buf = ctypes.create_string_buffer(n)
    p = ctypes.c_char_p(ctypes.addressof(buf))
    i2d(cid, ctypes.byref(p))
    return buf.raw[:n]


def ocsp_response_key(der: bytes) -> bytes:
    """The DER CertID of a response's single response (b"" when it has not exactly one)."""
    v = ctypes.c_void_p
    resp = _d2i("d2i_OCSP_RESPONSE", der)
    if not resp:
        return b""
    bs = 0
    try:
        bs = _fn("OCSP_response_get1_basic", (v,), v)(resp) or 0
        if not bs or _fn("OCSP_resp_count", (v,), ctypes.c_int)(bs) != 1:
            return b""
        sr = _fn("OCSP_resp_get0", (v, ctypes.c_int), v)(bs, 0)
        return _i2d_certid(_fn("OCSP_SINGLERESP_get0_id", (v,), v)(sr))
    finally:
        if bs:
            _fn("OCSP_BASICRESP_free", (v,), None)(bs)
        _fn("OCSP_RESPONSE_free", (v,), None)(resp)


def ocsp_problem(der: bytes, cert_der: bytes, issuer_der: bytes | None) -> str | None:
    """What 2.6 says of an OCSP response it will not staple for this certificate (None: fine):
    not parsable, status not successful, not exactly one single response, status unknown, no
    nextUpdate, out of its validity, or another certificate's."""
    v = ctypes.c_void_p
    resp = _d2i("d2i_OCSP_RESPONSE", der)
    if not resp:
        return "Unable to parse OCSP response"
    bs = sub = iss = cid = 0
    try:
        if _fn("OCSP_response_status", (v,), ctypes.c_int)(resp) != 0:
            return "OCSP response status not successful"
        bs = _fn("OCSP_response_get1_basic", (v,), v)(resp) or 0
        if not bs:
            return "Failed to get basic response from OCSP Response"
        if _fn("OCSP_resp_count", (v,), ctypes.c_int)(bs) != 1:
            return "OCSP response ambiguous: one single response expected"
        sr = _fn("OCSP_resp_get0", (v, ctypes.c_int), v)(bs, 0)
        this, nxt = v(), v()
        reason, rev = ctypes.c_int(), v()
        st = _fn("OCSP_single_get0_status", (v, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(v), ctypes.POINTER(v),
                                            ctypes.POINTER(v)), ctypes.c_int)(
            sr, ctypes.byref(reason), ctypes.byref(rev), ctypes.byref(this), ctypes.byref(nxt))
        if st not in (0, 1):  # V_OCSP_CERTSTATUS_GOOD, _REVOKED
            return "OCSP single response: certificate status is unknown"
        if not nxt.value:
            return "OCSP single response: missing nextupdate"
        if not _fn("OCSP_check_validity", (v, v, ctypes.c_long, ctypes.c_long), ctypes.c_int)(this, nxt, 300, -1):
            return "OCSP single response: no longer valid."
        if issuer_der:
            sub = _d2i("d2i_X509", cert_der)
            iss = _d2i("d2i_X509", issuer_der)
            cid = (_fn("OCSP_cert_to_id", (v, v, v), v)(None, sub, iss) or 0) if sub and iss else 0
            rid = _fn("OCSP_SINGLERESP_get0_id", (v,), v)(sr)
            if cid and _fn("OCSP_id_cmp", (v, v), ctypes.c_int)(rid, cid) != 0:
                return "OCSP single response: Certificate ID does not match certificate and issuer"
        return None
    finally:
        for name, obj in (("OCSP_CERTID_free", cid), ("X509_free", iss), ("X509_free", sub),
                          ("OCSP_BASICRESP_free", bs), ("OCSP_RESPONSE_free", resp)):
            if obj:
                _fn(name, (v,), None)(obj)


def x509_ok(der: bytes) -> bool:
    """OpenSSL reads ``der`` as a certificate."""
    x = _d2i("d2i_X509", der)
    if x:
        _fn("X509_free", (ctypes.c_void_p,), None)(x)
    return bool(x)


def ocsp_cert_id(cert_der: bytes, issuer_der: bytes) -> bytes:
    """The DER OCSP CertID (SHA-1) of a certificate and its issuer: 2.6's OCSP response key."""
    v = ctypes.c_void_p
    sub = _d2i("d2i_X509", cert_der)
    iss = _d2i("d2i_X509", issuer_der)
    cid = 0
    try:
        if not (sub and iss):
            return b""
        cid = _fn("OCSP_cert_to_id", (v, v, v), v)(None, sub, iss) or 0
        if not cid:
            return b""
        return _i2d_certid(cid)
    finally:
        for name, obj in (("OCSP_CERTID_free", cid), ("X509_free", iss), ("X509_free", sub)):
            if obj:
                _fn(name, (v,), None)(obj)


def ocsp_text(der: bytes) -> str:
    """OpenSSL's OCSP_RESPONSE_print of a response (what 2.6 shows of it)."""
    v = ctypes.c_void_p
    resp = _d2i("d2i_OCSP_RESPONSE", der)
    if not resp:
        return ""
    bio = _fn("BIO_new", (v,), v)(_fn("BIO_s_mem", (), v)())
    try:
        _fn("OCSP_RESPONSE_print", (v, v, ctypes.c_ulong), ctypes.c_int)(bio, resp, 0)
        out = b""
        buf = ctypes.create_string_buffer(4096)
        rd = _fn("BIO_read", (v, ctypes.c_void_p, ctypes.c_int), ctypes.c_int)
        while (n := rd(bio, buf, 4096)) > 0:
            out += buf.raw[:n]
        # an empty line would end a runtime API reply: 2.6 shows it as a single space
        return out.decode("latin-1").replace("\n\n", "\n \n")
    finally:
        _fn("BIO_free", (v,), ctypes.c_int)(bio)
        _fn("OCSP_RESPONSE_free", (v,), None)(resp)
