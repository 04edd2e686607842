"""The ssl_* sample fetches of a TLS connection's client side (``bind ... ssl``). Pure.

They read ``txn.rec.ssl``, the session's :class:`haproxy_py.tls.info.TlsInfo` (None in plain
text), and format as 2.6 does: DNs as ``/C=FR/O=Org/CN=name``, dates as the certificate's ASN.1
string (``YYMMDDhhmmssZ``), serials as their bytes. On a plain-text connection ``ssl_fc``,
``ssl_fc_has_sni`` and ``ssl_fc_is_resumed`` are false and the others have no sample, as in 2.6.
A client certificate is known only when the bind asks for one (``verify optional|required``); a
session whose certificate failed verification never gets this far (its handshake is refused)
unless ``ca-ignore-err``/``crt-ignore-err`` let the error pass: ssl_c_verify is then OpenSSL's
verify result, ssl_c_err/ssl_c_ca_err/ssl_c_ca_err_depth the first errors the callback saw.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..tls import clienthello
from ..tls.capture import SECRETS, without_grease
from ..tls.info import asn1_time, dn_entry, dn_oneline, serial_bytes
from .core import alias, fetch
from .txn import Txn

T = "tests/integration/test_tls_vs_haproxy.py::test_tls_fetches_as_haproxy"


def _tls(txn: Txn) -> Any:
    rec = txn.rec
    return rec.ssl if rec is not None else None


def _s(v: str | None) -> list | None:
    return None if v is None else [v.encode("latin-1")]


@fetch("ssl_fc", test=T)
def f_ssl_fc(txn: Txn, args: tuple) -> list:
    return [_tls(txn) is not None]


@fetch("ssl_fc_has_sni", test=T)
def f_ssl_fc_has_sni(txn: Txn, args: tuple) -> list:
    t = _tls(txn)
    return [t is not None and bool(t.sni)]


@fetch("ssl_fc_is_resumed", test=T)
def f_ssl_fc_is_resumed(txn: Txn, args: tuple) -> list:
    t = _tls(txn)
    return [t is not None and t.resumed]


@fetch("ssl_fc_sni", test=T)
def f_ssl_fc_sni(txn: Txn, args: tuple) -> list | None:
    t = _tls(txn)
    return _s(t.sni) if t is not None and t.sni else None


@fetch("ssl_fc_protocol", test=T)
def f_ssl_fc_protocol(txn: Txn, args: tuple) -> list | None:
    t = _tls(txn)
    return _s(t.protocol) if t is not None else None


@fetch("ssl_fc_cipher", test=T)
def f_ssl_fc_cipher(txn: Txn, args: tuple) -> list | None:
    t = _tls(txn)
    return _s(t.cipher) if t is not None else None


@fetch("ssl_fc_alpn", test=T)
def f_ssl_fc_alpn(txn: Txn, args: tuple) -> list | None:
    t = _tls(txn)
    return _s(t.alpn) if t is not None else None


NPN = "tests/integration/test_tls_extensions_vs_haproxy.py::test_npn_as_haproxy"
NPN_BC = "tests/integration/test_tls_extensions_vs_haproxy.py::test_server_npn_as_haproxy"


@fetch("ssl_fc_npn", test=NPN)
def f_ssl_fc_npn(txn: Txn, args: tuple) -> list | None:
    t = _tls(txn)
    return _s(t.npn) if t is not None else None


def _bits(txn: Txn, args: tuple) -> list | None:
    t = _tls(txn)
    b = t.bits if t is not None else None
    return None if b is None else [b]


fetch("ssl_fc_use_keysize", test=T)(_bits)
fetch("ssl_fc_alg_keysize", test=T)(_bits)


def _peer(txn: Txn) -> dict[str, Any] | None:
    t = _tls(txn)
    return t.peer() if t is not None else None


@fetch("ssl_fc_has_crt", test=T)
def f_ssl_fc_has_crt(txn: Txn, args: tuple) -> list | None:
    p = _peer(txn)
    return None if p is None else [bool(p)]


fetch("ssl_c_used", test=T)(f_ssl_fc_has_crt)


TB = "tests/integration/test_tls_bind_vs_haproxy.py::test_session_fetches_as_haproxy"


def _raw_fetch(what: str) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _tls(txn)
        v = t.raw(what) if t is not None else None
        return None if v is None else [v]

    return fn


for _n, _what in (("ssl_fc_session_id", "session_id"), ("ssl_fc_client_random", "client_random"),
                  ("ssl_fc_server_random", "server_random"), ("ssl_fc_session_key", "session_key")):
    fetch(_n, test=TB)(_raw_fetch(_what))


@fetch("ssl_fc_has_early", test=TB)
def f_ssl_fc_has_early(txn: Txn, args: tuple) -> list | None:
    """False: haproxy-py ends a handshake before it processes a request, even one that came as
    early data (a bind line's allow-0rtt), so no request is processed in early data (2.6 on a
    local connection gives the same)."""
    return None if _tls(txn) is None else [False]


@fetch("ssl_fc_err", test=TB)
def f_ssl_fc_err(txn: Txn, args: tuple) -> list | None:
    """A session exists only after a successful handshake: no error (0), and no error string."""
    return None if _tls(txn) is None else [0]


@fetch("ssl_fc_err_str", test=TB)
def f_ssl_fc_err_str(txn: Txn, args: tuple) -> list | None:
    return None


TI = "tests/integration/test_tls_bind_vs_haproxy.py::test_ignored_verify_errors_as_haproxy"


@fetch("ssl_c_verify", test=TI)
def f_ssl_c_verify(txn: Txn, args: tuple) -> list | None:
    t = _tls(txn)
    return None if t is None else [t.verify_result()]


def _verify_err(i: int) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _tls(txn)
        return None if t is None else [t.verify_errors()[i]]

    return fn


fetch("ssl_c_err", test=TI)(_verify_err(0))
fetch("ssl_c_ca_err", test=TI)(_verify_err(1))
fetch("ssl_c_ca_err_depth", test=TI)(_verify_err(2))


def _dn_fetch(which: str, own: bool) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _tls(txn)
        if t is None:
            return None
        src = t.cert if own else None
        if own:
            if src is None:
                return None
            rdns = src.subject if which == "subject" else src.issuer
        else:
            p = t.peer()
            if not p:
                return None
            rdns = p.get(which, ())
        if args and args[0]:
            occ = int(args[1]) if len(args) > 1 and args[1] is not None else 1
            return _s(dn_entry(rdns, str(args[0]), occ))
        return _s(dn_oneline(rdns))
    return fn


def _prep_dn(a: tuple) -> tuple:
    if len(a) > 2 and a[2] not in (None, ""):
        raise ValueError("only the default format is implemented by haproxy-py ('rfc2253' is not)")
    return a


fetch("ssl_c_s_dn", test=T, prepare=_prep_dn)(_dn_fetch("subject", False))
fetch("ssl_c_i_dn", test=T, prepare=_prep_dn)(_dn_fetch("issuer", False))
fetch("ssl_f_s_dn", test=T, prepare=_prep_dn)(_dn_fetch("subject", True))
fetch("ssl_f_i_dn", test=T, prepare=_prep_dn)(_dn_fetch("issuer", True))


def _field(name: str, own: bool) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _tls(txn)
        if t is None:
            return None
        if own:
            c = t.cert
            if c is None:
                return None
            d = {"serialNumber": c.serial, "notBefore": c.not_before, "notAfter": c.not_after,
                 "version": c.version}
        else:
            d = t.peer()
            if not d:
                return None
        if name == "serialNumber":
            return [serial_bytes(str(d.get(name, "")))]
        if name == "version":
            v = d.get("version")
            return [int(v)] if v else None
        return _s(asn1_time(str(d.get(name, ""))))
    return fn


for _own, _pfx in ((False, "ssl_c_"), (True, "ssl_f_")):
    fetch(_pfx + "serial", test=T)(_field("serialNumber", _own))
    fetch(_pfx + "notbefore", test=T)(_field("notBefore", _own))
    fetch(_pfx + "notafter", test=T)(_field("notAfter", _own))
    fetch(_pfx + "version", test=T)(_field("version", _own))


def _der(own: bool) -> Any:
    def fn(txn: Txn, args: tuple) -> bytes | None:
        t = _tls(txn)
        if t is None:
            return None
        if own:
            return t.cert.der if t.cert is not None and t.cert.der else None
        return t.peer_der() if t.peer() else None
    return fn


_c_der, _f_der = _der(False), _der(True)


@fetch("ssl_c_der", test=T)
def f_ssl_c_der(txn: Txn, args: tuple) -> list | None:
    d = _c_der(txn, args)
    return None if d is None else [d]


@fetch("ssl_f_der", test=T)
def f_ssl_f_der(txn: Txn, args: tuple) -> list | None:
    d = _f_der(txn, args)
    return None if d is None else [d]


@fetch("ssl_c_sha1", test=T)
def f_ssl_c_sha1(txn: Txn, args: tuple) -> list | None:
    d = _c_der(txn, args)
    return None if d is None else [hashlib.sha1(d).digest()]


@fetch("ssl_f_sha1", test=T)
def f_ssl_f_sha1(txn: Txn, args: tuple) -> list | None:
    d = _f_der(txn, args)
    return None if d is None else [hashlib.sha1(d).digest()]


# --------------------------------------------------------------------------- the ClientHello, not decrypted
# mode tcp with 'tcp-request inspect-delay': the client's first bytes (``txn.payload``, set by the
# engine with ``txn.payload_final``; samples/fetches.py's layer 5/6 fetches explain them), read by the
# pure parser tls/clienthello.py. While the parser says more bytes could answer and the data is not
# final, the fetch marks the sample as one that may change: an ACL on it that fails makes the rules
# wait (2.6's SMP_F_MAY_CHANGE).
H = "tests/integration/test_tls_vs_haproxy.py::test_clienthello_fetches_route_as_haproxy"


def _hello(parse: Any) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        d = getattr(txn, "payload", None)
        if d is None:
            if txn.req is not None:
                return None  # an HTTP rule: no such buffer here
            d = b""
        v, wait = parse(d)
        if wait and getattr(txn, "payload_final", True) is False:
            txn.missing = True  # type: ignore[attr-defined]
        return None if v is None else [v]
    return fn


fetch("req.ssl_hello_type", test=H, waits=True)(_hello(clienthello.hello_type))
fetch("req.ssl_ver", test=H, waits=True)(_hello(clienthello.record_version))
fetch("req.ssl_sni", test=H, waits=True)(_hello(clienthello.sni))
fetch("req.ssl_alpn", test=H, waits=True)(_hello(clienthello.alpn))
alias("req_ssl_hello_type", "req.ssl_hello_type", test=H)
alias("req_ssl_sni", "req.ssl_sni", test=H)


# --------------------------------------------------------------------------- the server side
# ssl_bc*: the connection to the server (``txn.rec.ssl_bc``, tls/info.py BackendTlsInfo, set when
# the server connection is made or taken from the pool); ssl_s_*: the server's certificate. Without
# a TLS server connection ssl_bc and ssl_bc_is_resumed are false, the others have no sample.
B = "tests/integration/test_tls_nginx_vs_haproxy.py::test_ssl_bc_fetches_as_haproxy"


def _bc(txn: Txn) -> Any:
    rec = txn.rec
    return rec.ssl_bc if rec is not None else None


@fetch("ssl_bc", test=B)
def f_ssl_bc(txn: Txn, args: tuple) -> list:
    return [_bc(txn) is not None]


@fetch("ssl_bc_is_resumed", test=B)
def f_ssl_bc_is_resumed(txn: Txn, args: tuple) -> list:
    t = _bc(txn)
    return [t is not None and t.resumed]


def _bc_str(attr: str) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _bc(txn)
        return _s(getattr(t, attr)) if t is not None else None
    return fn


fetch("ssl_bc_protocol", test=B)(_bc_str("protocol"))
fetch("ssl_bc_cipher", test=B)(_bc_str("cipher"))
fetch("ssl_bc_alpn", test=B)(_bc_str("alpn"))


def _bc_bits(txn: Txn, args: tuple) -> list | None:
    t = _bc(txn)
    b = t.bits if t is not None else None
    return None if b is None else [b]


fetch("ssl_bc_use_keysize", test=B)(_bc_bits)
fetch("ssl_bc_alg_keysize", test=B)(_bc_bits)


def _bc_bin(attr: str) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _bc(txn)
        v = getattr(t, attr) if t is not None else None
        return [v] if v else None
    return fn


fetch("ssl_bc_session_id", test=B)(_bc_bin("session_id"))
fetch("ssl_bc_unique_id", test=B)(_bc_bin("unique_id"))


def _s_dn(which: str) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _bc(txn)
        p = t.peer() if t is not None else None
        if not p:
            return None
        rdns = p.get(which, ())
        if args and args[0]:
            occ = int(args[1]) if len(args) > 1 and args[1] is not None else 1
            return _s(dn_entry(rdns, str(args[0]), occ))
        return _s(dn_oneline(rdns))
    return fn


fetch("ssl_s_s_dn", test=B, prepare=_prep_dn)(_s_dn("subject"))
fetch("ssl_s_i_dn", test=B, prepare=_prep_dn)(_s_dn("issuer"))


def _s_field(name: str) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _bc(txn)
        d = t.peer() if t is not None else None
        if not d:
            return None
        if name == "serialNumber":
            return [serial_bytes(str(d.get(name, "")))]
        if name == "version":
            v = d.get("version")
            return [int(v)] if v else None
        return _s(asn1_time(str(d.get(name, ""))))
    return fn


fetch("ssl_s_serial", test=B)(_s_field("serialNumber"))
fetch("ssl_s_notbefore", test=B)(_s_field("notBefore"))
fetch("ssl_s_notafter", test=B)(_s_field("notAfter"))
fetch("ssl_s_version", test=B)(_s_field("version"))


@fetch("ssl_s_der", test=B)
def f_ssl_s_der(txn: Txn, args: tuple) -> list | None:
    t = _bc(txn)
    d = t.peer_der() if t is not None else None
    return [d] if d else None


@fetch("ssl_s_sha1", test=B)
def f_ssl_s_sha1(txn: Txn, args: tuple) -> list | None:
    t = _bc(txn)
    d = t.peer_der() if t is not None else None
    return [hashlib.sha1(d).digest()] if d else None


def _native(fn_name: str) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _bc(txn)
        if t is None:
            return None
        from ..tls import native

        v = getattr(native, fn_name)(t.sock)
        return [v] if v else None
    return fn


fetch("ssl_bc_client_random", test=B)(_native("client_random"))
fetch("ssl_bc_server_random", test=B)(_native("server_random"))
fetch("ssl_bc_session_key", test=B)(_native("session_key"))
fetch("ssl_s_chain_der", test=B)(_native("peer_chain_der"))


def _s_alg(which: int) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _bc(txn)
        d = t.peer_der() if t is not None else None
        if not d:
            return None
        from ..tls.certs import der_algorithms

        return _s(der_algorithms(d)[which])
    return fn


fetch("ssl_s_key_alg", test=B)(_s_alg(0))
fetch("ssl_s_sig_alg", test=B)(_s_alg(1))


# ssl_bc_err/_str: the OpenSSL error of a server handshake that failed (the log of its 503), 0 and
# no text after a successful one
E = "tests/integration/test_tls_nginx_vs_haproxy.py::test_server_tls_params_as_haproxy"


@fetch("ssl_bc_err", test=E)
def f_ssl_bc_err(txn: Txn, args: tuple) -> list | None:
    t = _bc(txn)
    return None if t is None else [t.err]


@fetch("ssl_bc_err_str", test=E)
def f_ssl_bc_err_str(txn: Txn, args: tuple) -> list | None:
    t = _bc(txn)
    if t is None or not t.err:
        return None
    from ..tls.native import error_text

    return _s(error_text(t.err))


fetch("ssl_bc_npn", test=NPN_BC)(_bc_str("npn"))


# --------------------------------------------------------------------------- captured at the handshake
# tune.ssl.capture-buffer-size: the ClientHello's lists as tls/capture.py kept them (no sample
# without the tune); the optional argument 1 leaves the GREASE values out.
C = "tests/integration/test_tls_fetches2_vs_haproxy.py::test_clienthello_capture_as_haproxy"


def _hello_of(txn: Txn) -> Any:
    t = _tls(txn)
    return t.ask("hello") if t is not None else None


def _grease_arg(args: tuple) -> bool:
    return bool(args and args[0])


def _cap_list(attr: str, filt: bool) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        h = _hello_of(txn)
        if h is None:
            return None
        v = getattr(h, attr)
        return [without_grease(v) if filt and _grease_arg(args) else v]
    return fn


fetch("ssl_fc_cipherlist_bin", test=C)(_cap_list("ciphers", True))
fetch("ssl_fc_extlist_bin", test=C)(_cap_list("exts", True))
fetch("ssl_fc_eclist_bin", test=C)(_cap_list("ec", True))
fetch("ssl_fc_ecformats_bin", test=C)(_cap_list("ecf", False))


@fetch("ssl_fc_cipherlist_hex", test=C)
def f_ssl_fc_cipherlist_hex(txn: Txn, args: tuple) -> list | None:
    h = _hello_of(txn)
    if h is None:
        return None
    v = without_grease(h.ciphers) if _grease_arg(args) else h.ciphers
    return [v.hex().upper().encode()]


@fetch("ssl_fc_cipherlist_str", test=C)
def f_ssl_fc_cipherlist_str(txn: Txn, args: tuple) -> list | None:
    """OpenSSL's names of the suites (SSL_CIPHER_find), ``UNKNOWN(xxxx)`` for the others."""
    t = _tls(txn)
    h = t.ask("hello") if t is not None else None
    if h is None:
        return None
    v = without_grease(h.ciphers) if _grease_arg(args) else h.ciphers
    out = []
    for i in range(0, len(v) - 1, 2):
        pair = v[i:i + 2]
        name = t.ask("cipher_name", pair)
        out.append(name if name else "UNKNOWN(%04x)" % ((pair[0] << 8) | pair[1]))
    return [",".join(out).encode("latin-1")]


@fetch("ssl_fc_cipherlist_xxh", test=C)
def f_ssl_fc_cipherlist_xxh(txn: Txn, args: tuple) -> list | None:
    h = _hello_of(txn)
    if h is None:
        return None
    from ..lb.hashfn import xxh64

    x = xxh64(h.suites, 0)
    return [x - (1 << 64) if x >= 1 << 63 else x]


@fetch("ssl_fc_protocol_hello_id", test=C)
def f_ssl_fc_protocol_hello_id(txn: Txn, args: tuple) -> list | None:
    h = _hello_of(txn)
    return None if h is None else [h.version]


# tune.ssl.keylog on: the TLS 1.3 secrets of the handshake, as the NSS key log's hex text
K = "tests/integration/test_tls_fetches2_vs_haproxy.py::test_keylog_secrets_as_the_client_logs_them"


def _secret(label: bytes) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        t = _tls(txn)
        v = t.ask("secret", label) if t is not None else None
        return [v] if v else None
    return fn


for _sfx, _label in SECRETS.items():
    fetch("ssl_fc_" + _sfx, test=K)(_secret(_label))


# the client certificate's chain and algorithms, this side's certificate's algorithms, tls-unique
X = "tests/integration/test_tls_fetches2_vs_haproxy.py::test_certificate_fetches_as_haproxy"


@fetch("ssl_c_chain_der", test=X)
def f_ssl_c_chain_der(txn: Txn, args: tuple) -> list | None:
    t = _tls(txn)
    if t is None or not t.peer():
        return None
    got = t.ask("peer_chain_der")
    return [b"".join(got)] if got else None


def _alg(own: bool, which: int) -> Any:
    def fn(txn: Txn, args: tuple) -> list | None:
        d = (_f_der if own else _c_der)(txn, args)
        if not d:
            return None
        from ..tls.certs import der_algorithms

        return _s(der_algorithms(d)[which])
    return fn


fetch("ssl_c_key_alg", test=X)(_alg(False, 0))
fetch("ssl_c_sig_alg", test=X)(_alg(False, 1))
fetch("ssl_f_key_alg", test=X)(_alg(True, 0))
fetch("ssl_f_sig_alg", test=X)(_alg(True, 1))


@fetch("ssl_fc_unique_id", test=X)
def f_ssl_fc_unique_id(txn: Txn, args: tuple) -> list | None:
    """tls-unique: the first Finished message of the handshake (the client's in a full one, this
    side's when resumed), as 2.6 reads it."""
    t = _tls(txn)
    if t is None:
        return None
    v = t.ask("finished", t.resumed)
    return [v] if v else None
