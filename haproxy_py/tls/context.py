"""OpenSSL contexts for a ``bind ... ssl`` line, and the socket class the engine's connections use.

One ``ssl.SSLContext`` per certificate, all with the same settings (versions, ciphers, ALPN, client
certificate verification): the SNI callback moves a handshake to the context of the certificate
the server name selects (sni.py). Python's ``ssl`` has no call for TLS 1.3 cipher suites; they are
set with OpenSSL's own SSL_CTX_set_ciphersuites through ctypes, on the library Python's ``_ssl``
already loaded.

:class:`EngineSSLSocket` is what ``wrap_socket`` makes: a non-blocking ``ssl.SSLSocket`` whose
``recv``/``send`` raise ``BlockingIOError`` when OpenSSL wants the socket again (as a plain
socket does), so the engine's Conn and Pump drive it unchanged; ``shutdown(SHUT_WR)`` sends a
close_notify first and leaves the TLS layer in place for reading.
"""

from __future__ import annotations

import ctypes
import socket
import ssl
import time
from typing import Any

from haproxy_py.tls import capture as _capture
from haproxy_py.tls.sni import SniTable

_WANT = (ssl.SSLWantReadError, ssl.SSLWantWriteError)

VERSIONS = {
    "SSLv3": ssl.TLSVersion.SSLv3, "TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


class EngineSSLSocket(ssl.SSLSocket):
    """A non-blocking SSLSocket that reads and writes like a plain non-blocking socket."""

    #: the server name of the ClientHello and the certificate it chose (set by the SNI callback)
    sni: str | None = None
    cert_index = 0
    #: tune.ssl.maxrecord: at most this many bytes per SSL_write (one record), 0: no limit
    max_record = 0
    #: the process state a connection to a server is counted in (CurrSslConns, maxsslconn) until
    #: it closes; None for the listeners' connections (the engine counts those at accept)
    account: Any = None
    #: allow-0rtt: the early data (TLS 1.3, 0-RTT) read before the handshake ended, handed out
    #: first by recv
    early_data: bytearray | None = None

    def read_early(self) -> str:
        """SSL_read_early_data until the client's early data ends (a listener with allow-0rtt,
        before the handshake goes on): "done", "r"/"w" (OpenSSL wants the socket), "fail"."""
        ptr = self._ssl_ptr()
        if not ptr:
            return "fail"
        v = ctypes.c_void_p
        read = _fn("SSL_read_early_data", (v, v, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)), ctypes.c_int)
        buf = ctypes.create_string_buffer(16384)
        got = ctypes.c_size_t(0)
        if self.early_data is None:
            self.early_data = bytearray()
        while True:
            ret = read(ptr, buf, 16384, ctypes.byref(got))
            if ret == 1:  # SSL_READ_EARLY_DATA_SUCCESS
                self.early_data += buf.raw[:got.value]
                if len(self.early_data) > 1 << 20:
                    return "fail"
                continue
            if ret == 2:  # SSL_READ_EARLY_DATA_FINISH
                return "done"
            err = _fn("SSL_get_error", (v, ctypes.c_int), ctypes.c_int)(ptr, ret)
            _fn("ERR_clear_error", (), None)()
            return "r" if err == 2 else "w" if err == 3 else "fail"

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        early = self.early_data
        if early:  # TLS 1.3 early data read before the handshake ended: the first bytes
            out = bytes(early[:buflen])
            del early[:buflen]
            return out
        try:
            return self._sslobj.read(buflen)  # type: ignore[attr-defined]
        except _WANT:
            raise BlockingIOError from None
        except ssl.SSLEOFError:
            return b""
        except AttributeError:  # no TLS layer (closed)
            return super().recv(buflen, flags)

    def send(self, data: Any, flags: int = 0) -> int:
        if self.max_record and len(data) > self.max_record:
            data = memoryview(data)[:self.max_record]
        try:
            return self._sslobj.write(data)  # type: ignore[attr-defined]
        except _WANT:
            raise BlockingIOError from None
        except AttributeError:
            return super().send(data, flags)

    def close(self) -> None:
        acct = self.account
        if acct is not None:
            self.account = None
            acct.curr_ssl -= 1
        # a close_notify first, as 2.6 closes a TLS connection; without it OpenSSL would also drop
        # the session from its cache (no resumption by session ID, as with no-tls-tickets)
        obj = self._sslobj  # type: ignore[attr-defined]
        if obj is not None:
            if VERIFY_ERRORS:
                VERIFY_ERRORS.pop(_ssl_pointer(obj), None)
            if _capture.HELLOS or _capture.KEYLOGS:
                _capture.forget(_ssl_pointer(obj))
            try:
                obj.shutdown()
            except (ssl.SSLError, OSError, ValueError):
                pass
        super().close()

    # -- what Python's ssl does not tell, read from OpenSSL (the fetches ask only when used)
    def _ssl_ptr(self) -> int:
        obj = self._sslobj  # type: ignore[attr-defined]
        return _ssl_pointer(obj) if obj is not None else 0

    def _bytes(self, name: str, n: int) -> bytes | None:
        ptr = self._ssl_ptr()
        if not ptr:
            return None
        buf = ctypes.create_string_buffer(n)
        got = _fn(name, (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t), ctypes.c_size_t)(ptr, buf, n)
        return buf.raw[:got]

    def client_random(self) -> bytes | None:
        return self._bytes("SSL_get_client_random", 32)

    def server_random(self) -> bytes | None:
        return self._bytes("SSL_get_server_random", 32)

    def _sess_ptr(self) -> int:
        ptr = self._ssl_ptr()
        return _fn("SSL_get_session", (ctypes.c_void_p,), ctypes.c_void_p)(ptr) or 0 if ptr else 0

    def session_id(self) -> bytes | None:
        sess = self._sess_ptr()
        if not sess:
            return None
        n = ctypes.c_uint(0)
        p = _fn("SSL_SESSION_get_id", (ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint)), ctypes.c_void_p)(
            sess, ctypes.byref(n))
        return ctypes.string_at(p, n.value) if p and n.value else b""

    def session_key(self) -> bytes | None:
        sess = self._sess_ptr()
        if not sess:
            return None
        buf = ctypes.create_string_buffer(256)
        got = _fn("SSL_SESSION_get_master_key", (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t),
                  ctypes.c_size_t)(sess, buf, 256)
        return buf.raw[:got]

    def verify_result(self) -> int | None:
        ptr = self._ssl_ptr()
        if not ptr:
            return None
        return int(_fn("SSL_get_verify_result", (ctypes.c_void_p,), ctypes.c_long)(ptr))

    def verify_errors(self) -> list[int]:
        """[certificate error, CA error, CA error depth] the verify callback saw (0 without)."""
        return VERIFY_ERRORS.get(self._ssl_ptr(), [0, 0, 0]) if VERIFY_ERRORS else [0, 0, 0]

    def hello(self) -> Any:
        """The capture of this connection's ClientHello (tls/capture.py Hello), None without."""
        return _capture.HELLOS.get(self._ssl_ptr()) if _capture.HELLOS else None

    def secret(self, label: bytes) -> bytes | None:
        """A TLS 1.3 secret of this connection's key log (hex text), None without."""
        got = _capture.KEYLOGS.get(self._ssl_ptr()) if _capture.KEYLOGS else None
        return got.get(label) if got else None

    def cipher_name(self, pair: bytes) -> str | None:
        return _capture.cipher_name(self._ssl_ptr(), pair)

    def peer_chain_der(self) -> list[bytes]:
        """The certificates the client sent besides its own (OpenSSL's peer chain of a server
        connection), each in DER."""
        from haproxy_py.tls import native

        return native.chain_list(self)

    def npn(self) -> str | None:
        """The protocol Next Protocol Negotiation chose (SSL_get0_next_proto_negotiated), None
        without one."""
        ptr = self._ssl_ptr()
        if not ptr:
            return None
        data = ctypes.c_void_p()
        n = ctypes.c_uint(0)
        _fn("SSL_get0_next_proto_negotiated", (ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                                               ctypes.POINTER(ctypes.c_uint)), None)(ptr, ctypes.byref(data),
                                                                                    ctypes.byref(n))
        if not data.value or not n.value:
            return None
        return ctypes.string_at(data.value, n.value).decode("latin-1")

    def finished(self, own: bool) -> bytes | None:
        """This side's (own) or the peer's Finished message (SSL_get_finished / _peer_finished)."""
        ptr = self._ssl_ptr()
        if not ptr:
            return None
        return self._bytes("SSL_get_finished" if own else "SSL_get_peer_finished", 128) or None

    def shutdown(self, how: int) -> None:
        if how != socket.SHUT_RD and self._sslobj is not None:  # type: ignore[attr-defined]
            try:
                self._sslobj.shutdown()  # type: ignore[attr-defined]  # our close_notify
            except (ssl.SSLError, OSError, ValueError):
                pass
        socket.socket.shutdown(self, how)


_libssl: Any = None


def _ssl_ctx_pointer(ctx: ssl.SSLContext) -> int:
    # CPython's PySSLContext: PyObject_HEAD then the SSL_CTX pointer
    return ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value or 0


def set_ciphersuites(ctx: ssl.SSLContext, suites: str) -> bool:
    """SSL_CTX_set_ciphersuites on this context; False when OpenSSL refuses the list."""
    global _libssl
    if _libssl is None:
        import _ssl

        lib = ctypes.CDLL(_ssl.__file__)
        fn = lib.SSL_CTX_set_ciphersuites
        fn.argtypes = (ctypes.c_void_p, ctypes.c_char_p)
        fn.restype = ctypes.c_int
        _libssl = fn
    ptr = _ssl_ctx_pointer(ctx)
    if not ptr:
        return False
    return bool(_libssl(ptr, suites.encode("ascii", "replace")))


_FNS: dict[str, Any] = {}
_SSL_CTRL_SET_GROUPS_LIST = 92
_SSL_CTRL_SET_TLSEXT_TICKET_KEYS = 59


def _fn(name: str, argtypes: tuple[Any, ...], restype: Any) -> Any:
    """An OpenSSL function of the library Python's ``_ssl`` is linked with."""
    f = _FNS.get(name)
    if f is None:
        import _ssl

        f = getattr(ctypes.CDLL(_ssl.__file__), name)
        f.argtypes = argtypes
        f.restype = restype
        _FNS[name] = f
    return f


def set_groups(ctx: ssl.SSLContext, groups: str) -> bool:
    """SSL_CTX_set1_groups_list (the 'curves' list, also for one curve); False when OpenSSL refuses it."""
    ctrl = _fn("SSL_CTX_ctrl", (ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p), ctypes.c_long)
    ptr = _ssl_ctx_pointer(ctx)
    return bool(ptr) and bool(ctrl(ptr, _SSL_CTRL_SET_GROUPS_LIST, 0, groups.encode("ascii", "replace")))


def set_client_ca_names(ctx: ssl.SSLContext, path: str) -> bool:
    """The CA names a CertificateRequest carries: the certificates of ``path`` (2.6's ca-file)."""
    load = _fn("SSL_load_client_CA_file", (ctypes.c_char_p,), ctypes.c_void_p)
    put = _fn("SSL_CTX_set_client_CA_list", (ctypes.c_void_p, ctypes.c_void_p), None)
    ptr = _ssl_ctx_pointer(ctx)
    names = load(path.encode())
    if not ptr or not names:
        return False
    put(ptr, names)  # the context owns the list from now on
    return True


#: RFC 7919's groups, the DH parameters tune.ssl.default-dh-param selects (2048 or 4096 bits)
_FFDHE = {
    2048: "MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/"
          "WVhJDP1H18GbtCFY2VVPe0a87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7YdEIqUuyyOP7uWrat2DX"
          "9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRa"
          "DssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==",
    4096: ("MIICCAKCAgEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVh"
          "JDP1H18GbtCFY2VVPe0a87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7YdEIqUuyyOP7uWrat2DX9Ggd"
          "T0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaDssbz"
          "SibBsu/6iGtCOGEfz9zeNVs7ZRkDW7w09N75nAI4YbRvydbmyQd62R0mkff37lmMsPrBhtkcrv4TCYUTknC0EwyTvEN5RPT9RFLi103TZPLi"
          "HnH1S/9croKrnJ32nuhtK8UiNjoNq8Uhl5sN6todv5pC1cRITgq80Gv6U93vPBsg7j/VnXwl5B0rZp4e8W5vUsMWTfT7eTDp5OWIV7asfV9C"
          "1p9tGHdjzx1VA0AEh/VbpX4xzHpxNciG77Qxiu1qHgEtnmgyqQdgCpGBMMRtx3j5ca0AOAkpmaMzy4t6Gh25PXFAADwqTs6p+Y0KzAqCkc3O"
          "yX3Pjsm1Wn+IpGtNtahR9EGC4caKAH5eZV9q//////////8CAQI="),
}
_DH_FILES: dict[int, str] = {}


def _ffdhe_file(bits: int) -> str:
    path = _DH_FILES.get(bits)
    if path is None:
        import os
        import tempfile
        import textwrap

        b64 = _FFDHE[bits]
        fd, path = tempfile.mkstemp(prefix=f"haproxy-py-ffdhe{bits}-", suffix=".pem")
        with os.fdopen(fd, "w") as f:
            f.write("-----BEGIN DH PARAMETERS-----\n" + "\n".join(textwrap.wrap(b64, 64))
                    + "\n-----END DH PARAMETERS-----\n")
        _DH_FILES[bits] = path
    return path


def apply_bind(ctx: ssl.SSLContext, conf: Any, cert: Any = None) -> str | None:
    """The settings only a listener has (groups, tickets, cipher order, CRL, CA names, DH) on
    ``ctx``; an error text ('curves', 'ecdhe') or None. ``cert``: the certificate of this context."""
    groups = conf.curves or conf.ecdhe
    if groups and not set_groups(ctx, groups):
        return "curves" if conf.curves else "ecdhe"
    # 2.6's session ID context (Python's is "Python"): a session made by one resumes on the other
    # when both have the ticket keys (tls-ticket-keys)
    _fn("SSL_CTX_set_session_id_context", (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint), ctypes.c_int)(
        _ssl_ctx_pointer(ctx), _SID_CTX, len(_SID_CTX))
    if conf.no_tickets:
        ctx.options |= ssl.OP_NO_TICKET
    elif conf.ticket_ring is not None:
        set_ticket_ring(ctx, conf.ticket_ring)
    elif conf.ticket_keys:
        # the bind line's ticket keys, drawn once by the configuration: every worker encrypts and
        # decrypts tickets with them (as 2.6's threads share their context's), where each
        # worker's own contexts would draw their own
        keys = ctypes.create_string_buffer(conf.ticket_keys, len(conf.ticket_keys))
        _fn("SSL_CTX_ctrl", (ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p), ctypes.c_long)(
            _ssl_ctx_pointer(ctx), _SSL_CTRL_SET_TLSEXT_TICKET_KEYS, len(conf.ticket_keys), keys)
    if conf.prefer_client:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if conf.ca_file:
        ctx.load_verify_locations(conf.ca_file)
        if not conf.no_ca_names:
            set_client_ca_names(ctx, conf.ca_file)
    if conf.ca_verify_file:
        ctx.load_verify_locations(conf.ca_verify_file)
    if conf.crl_file:
        ctx.load_verify_locations(conf.crl_file)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    dh = None
    if cert is not None and cert.dh:
        dh = cert.load_from or cert.path
    elif conf.dh_file:
        dh = conf.dh_file
    elif conf.dh_bits >= 2048:
        bits = conf.dh_bits
        if cert is not None and cert.algorithm.startswith("RSA"):
            bits = min(bits, int(cert.algorithm[3:] or 0))
        dh = _ffdhe_file(4096) if bits >= 4096 else _ffdhe_file(2048) if bits >= 2048 else None
    if dh:
        ctx.load_dh_params(dh)
    return None


# -- tls-ticket-keys: the listeners' tickets encrypted and decrypted with a key file's ring
# (tls/ticketkeys.py), as 2.6 does, by OpenSSL's ticket key callback (Python's ssl has no call for
# it). The SSL_CTX pointer is read from the SSLContext object (_ssl_ctx_pointer: CPython's
# PySSLContext starts with it), which ticket_callback_problem checks once before any key file is
# accepted. The callback reads the ring at each ticket, so 'set ssl tls-key' needs nothing more.
_TICKET_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                              ctypes.c_void_p, ctypes.c_int)
#: id(ring) -> (ring, its callback): what OpenSSL calls stays alive as long as the process
_TICKET_CBS: dict[int, tuple[Any, Any]] = {}
_CHECKED: list[str] = []


class _Param(ctypes.Structure):
    """OpenSSL 3's OSSL_PARAM."""

    _fields_ = [("key", ctypes.c_char_p), ("data_type", ctypes.c_uint), ("data", ctypes.c_void_p),
                ("data_size", ctypes.c_size_t), ("return_size", ctypes.c_size_t)]


_UNMODIFIED = ctypes.c_size_t(-1).value
_SHA256 = ctypes.create_string_buffer(b"SHA256")
_SID_CTX = b"haproxy"


def ticket_callback_problem() -> str:
    """Why the ticket key callback cannot be installed here ("" when it can): not CPython, an
    OpenSSL without SSL_CTX_set_tlsext_ticket_key_evp_cb (before 3.0), or an SSLContext whose
    first field is not the SSL_CTX pointer (its options, set through Python, not read back
    through OpenSSL from that pointer)."""
    if _CHECKED:
        return _CHECKED[0]
    import sys

    why = ""
    if sys.implementation.name != "cpython":
        why = "not CPython"
    elif ssl.SSLContext.__basicsize__ < object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p):
        why = "unknown SSLContext layout"
    else:
        import _ssl

        lib = ctypes.CDLL(_ssl.__file__)
        if not all(hasattr(lib, n) for n in ("SSL_CTX_set_tlsext_ticket_key_evp_cb", "EVP_MAC_CTX_set_params",
                                             "RAND_bytes", "EVP_aes_256_cbc", "SSL_CTX_get_options")):
            why = f"{ssl.OPENSSL_VERSION} has no EVP ticket key callback"
    if not why:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ptr = _ssl_ctx_pointer(ctx)
        get = _fn("SSL_CTX_get_options", (ctypes.c_void_p,), ctypes.c_uint64)
        seen = []
        for flip in (0, ssl.OP_NO_TICKET, ssl.OP_NO_COMPRESSION):
            ctx.options ^= flip
            seen.append(bool(ptr) and get(ptr) == int(ctx.options))
        if not all(seen):
            why = "the SSL_CTX of an SSLContext could not be found"
    _CHECKED.append(why)
    return why


def set_ticket_ring(ctx: ssl.SSLContext, ring: Any) -> None:
    """Tickets of ``ctx``'s handshakes encrypted with ``ring``'s encrypting key, decrypted with any
    of its keys (a ticket of another key than the encrypting one is renewed)."""
    got = _TICKET_CBS.get(id(ring))
    if got is None:
        got = _TICKET_CBS[id(ring)] = (ring, _TICKET_CB(_ticket_cb(ring)))
    _fn("SSL_CTX_set_tlsext_ticket_key_evp_cb", (ctypes.c_void_p, ctypes.c_void_p), ctypes.c_int)(
        _ssl_ctx_pointer(ctx), ctypes.cast(got[1], ctypes.c_void_p))


def _ticket_cb(ring: Any) -> Any:
    v = ctypes.c_void_p

    def cb(ssl_ptr: int, name: int, iv: int, ectx: int, hctx: int, enc: int) -> int:
        """OpenSSL's ticket key callback: 1 (this key), 2 (this key, then a new ticket), 0 (no
        ticket made, or this one not accepted); never an exception into OpenSSL."""
        try:
            if enc:
                key = ring.encrypting()
                ctypes.memmove(name, key, 16)
                if _fn("RAND_bytes", (v, ctypes.c_int), ctypes.c_int)(iv, 16) != 1:
                    return 0
                status = 1
            else:
                found = ring.find(ctypes.string_at(name, 16))
                if found is None:
                    return 0
                key, status = found[0], 2 if found[1] else 1
            _, aes, hmac = ring.split(key)
            cipher = _fn("EVP_aes_128_cbc" if len(aes) == 16 else "EVP_aes_256_cbc", (), v)()
            init = _fn("EVP_EncryptInit_ex" if enc else "EVP_DecryptInit_ex", (v, v, v, ctypes.c_char_p, v),
                       ctypes.c_int)
            if init(ectx, cipher, None, aes, iv) != 1:
                return 0
            hkey = ctypes.create_string_buffer(hmac, len(hmac))
            params = (_Param * 3)(
                _Param(b"key", 5, ctypes.cast(hkey, v), len(hmac), _UNMODIFIED),  # OSSL_PARAM_OCTET_STRING
                _Param(b"digest", 4, ctypes.cast(_SHA256, v), 6, _UNMODIFIED),  # OSSL_PARAM_UTF8_STRING
                _Param(None, 0, None, 0, 0))
            if _fn("EVP_MAC_CTX_set_params", (v, v), ctypes.c_int)(hctx, ctypes.cast(params, v)) != 1:
                return 0
            return status
        except Exception:  # noqa: BLE001 - never an exception out of an OpenSSL callback
            return 0

    return cb


def version_range(min_ver: str | None, max_ver: str | None, disabled: frozenset[str] = frozenset()
                  ) -> tuple[str, str] | None:
    """The (lowest, highest) enabled version names; None when every version is disabled."""
    order = list(VERSIONS)
    lo = order.index(min_ver) if min_ver else order.index("TLSv1.2")
    hi = order.index(max_ver) if max_ver else len(order) - 1
    on = [v for v in order[lo:hi + 1] if v not in disabled]
    if not on:
        return None
    return on[0], on[-1]


def apply_common(ctx: ssl.SSLContext, conf: Any) -> str | None:
    """Versions, ciphers and ALPN of ``conf`` on ``ctx``; an error text ('ciphers'...) or None."""
    rng = version_range(conf.min_ver, conf.max_ver, conf.disabled)
    if rng is None:
        return "versions"
    ctx.minimum_version = VERSIONS[rng[0]]
    ctx.maximum_version = VERSIONS[rng[1]]
    try:
        ctx.set_ciphers(conf.ciphers or "DEFAULT")
    except ssl.SSLError:
        return "ciphers"
    if conf.ciphersuites and not set_ciphersuites(ctx, conf.ciphersuites):
        return "ciphersuites"
    if conf.alpn:
        ctx.set_alpn_protocols(list(conf.alpn))
    return None


def _ssl_pointer(sslobj: Any) -> int:
    # CPython's PySSLSocket: PyObject_HEAD, the socket, then the SSL pointer
    return ctypes.c_void_p.from_address(id(sslobj) + object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p)).value or 0


_VERIFY_MODE = {"none": 0, "optional": 1, "required": 3}  # SSL_VERIFY_PEER | FAIL_IF_NO_PEER_CERT


def switch_settings(sock: Any, conf: Any) -> None:
    """What the SNI switch to another context does not carry over by itself (OpenSSL copies them
    into the connection at its creation): the verify mode and the cipher lists, as 2.6 sets them
    from the chosen crt-list line."""
    ptr = _ssl_pointer(sock._sslobj)
    if not ptr:
        return
    _fn("SSL_set_verify", (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p), None)(ptr, _VERIFY_MODE[conf.verify], None)
    _fn("SSL_set_cipher_list", (ctypes.c_void_p, ctypes.c_char_p), ctypes.c_int)(
        ptr, (conf.ciphers or "DEFAULT").encode("ascii", "replace"))
    if conf.ciphersuites:
        _fn("SSL_set_ciphersuites", (ctypes.c_void_p, ctypes.c_char_p), ctypes.c_int)(
            ptr, conf.ciphersuites.encode("ascii", "replace"))


#: per SSL connection (pointer): [first certificate error, first CA error, its depth], filled by
#: the verify callback of listeners with ca-ignore-err / crt-ignore-err
VERIFY_ERRORS: dict[int, list[int]] = {}
#: per SSL_CTX (pointer): the (ca-ignore-err, crt-ignore-err) masks of the listener that owns it
_IGNORE: dict[int, tuple[int, int]] = {}
_VERIFY_CB: Any = None


def _verify_cb(ok: int, store: int) -> int:
    """2.6's verify callback: an error at depth > 0 is a CA error, at depth 0 a certificate error;
    the first of each is kept (ssl_c_ca_err, ssl_c_ca_err_depth, ssl_c_err), and the listener's
    ignore lists decide whether the handshake goes on."""
    if ok:
        return 1
    try:
        err = _fn("X509_STORE_CTX_get_error", (ctypes.c_void_p,), ctypes.c_int)(store)
        depth = _fn("X509_STORE_CTX_get_error_depth", (ctypes.c_void_p,), ctypes.c_int)(store)
        idx = _fn("SSL_get_ex_data_X509_STORE_CTX_idx", (), ctypes.c_int)()
        ssl_ptr = _fn("X509_STORE_CTX_get_ex_data", (ctypes.c_void_p, ctypes.c_int), ctypes.c_void_p)(store, idx)
        if not ssl_ptr:
            return 0
        rec = VERIFY_ERRORS.setdefault(ssl_ptr, [0, 0, 0])
        ctx_ptr = _fn("SSL_get_SSL_CTX", (ctypes.c_void_p,), ctypes.c_void_p)(ssl_ptr)
        ca_mask, crt_mask = _IGNORE.get(ctx_ptr or 0, (0, 0))
        if depth > 0:
            if not rec[1]:
                rec[1], rec[2] = err, depth
            return 1 if err < 64 and ca_mask >> err & 1 else 0
        if not rec[0]:
            rec[0] = err
        return 1 if err < 64 and crt_mask >> err & 1 else 0
    except Exception:  # noqa: BLE001 - never an exception out of an OpenSSL callback
        return 0


def set_ignore_errors(ctx: ssl.SSLContext, mode: int, ca_mask: int, crt_mask: int) -> None:
    """SSL_CTX_set_verify with the callback above (Python's ssl has none)."""
    global _VERIFY_CB
    if _VERIFY_CB is None:
        _VERIFY_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)(_verify_cb)
    ptr = _ssl_ctx_pointer(ctx)
    _IGNORE[ptr] = (ca_mask, crt_mask)
    _fn("SSL_CTX_set_verify", (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p), None)(
        ptr, mode, ctypes.cast(_VERIFY_CB, ctypes.c_void_p))


#: per SSL_CTX (pointer): the OCSP response (DER) its certificate staples
_OCSP: dict[int, bytes] = {}
_STATUS_CB: Any = None
_SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB = 63
_SSL_CTRL_SET_TLSEXT_STATUS_REQ_OCSP_RESP = 71


def _status_cb(ssl_ptr: int, arg: int) -> int:
    """OpenSSL's OCSP status callback (a client asked for the status): the context's response,
    in memory OpenSSL owns and frees."""
    try:
        ctx_ptr = _fn("SSL_get_SSL_CTX", (ctypes.c_void_p,), ctypes.c_void_p)(ssl_ptr)
        der = _OCSP.get(ctx_ptr or 0)
        if not der:
            return 3  # SSL_TLSEXT_ERR_NOACK
        mem = _fn("CRYPTO_malloc", (ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int), ctypes.c_void_p)(
            len(der), b"haproxy_py", 0)
        if not mem:
            return 3
        ctypes.memmove(mem, der, len(der))
        _fn("SSL_ctrl", (ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p), ctypes.c_long)(
            ssl_ptr, _SSL_CTRL_SET_TLSEXT_STATUS_REQ_OCSP_RESP, len(der), mem)
        return 0  # SSL_TLSEXT_ERR_OK
    except Exception:  # noqa: BLE001 - never an exception out of an OpenSSL callback
        return 3


def set_ocsp_response(ctx: ssl.SSLContext, der: bytes) -> None:
    """Staple ``der`` to this context's handshakes (SSL_CTX_set_tlsext_status_cb through ctypes)."""
    global _STATUS_CB
    if _STATUS_CB is None:
        _STATUS_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(_status_cb)
    ptr = _ssl_ctx_pointer(ctx)
    _OCSP[ptr] = der
    _fn("SSL_CTX_callback_ctrl", (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p), ctypes.c_long)(
        ptr, _SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB, ctypes.cast(_STATUS_CB, ctypes.c_void_p))


#: per SSL_CTX (pointer): the SCT list (FILE.sctl) its certificate's handshakes carry, as a
#: buffer that lives as long as the entry (OpenSSL reads it while it writes the ServerHello)
_SCTL: dict[int, Any] = {}
_SCT_ADD_CB: Any = None
_SCT_PARSE_CB: Any = None
_TLSEXT_SCT = 18


def _sct_add(ssl_ptr: int, ext_type: int, out: Any, outlen: Any, al: Any, arg: int) -> int:
    """OpenSSL's add callback of the server's custom extension 18 (called only when the client's
    hello asked for SCTs, TLS 1.2 and below as 2.6): the context's list, as the file holds it."""
    try:
        ctx_ptr = _fn("SSL_get_SSL_CTX", (ctypes.c_void_p,), ctypes.c_void_p)(ssl_ptr)
        buf = _SCTL.get(ctx_ptr or 0)
        if buf is None:
            return 0  # nothing to add: the extension is left out
        out[0] = ctypes.addressof(buf)
        outlen[0] = len(buf)
        return 1
    except Exception:  # noqa: BLE001 - never an exception out of an OpenSSL callback
        return 0


def _sct_parse(ssl_ptr: int, ext_type: int, data: int, size: int, al: Any, arg: int) -> int:
    return 1  # the client's (empty) request extension: nothing to read


def set_sctl(ctx: ssl.SSLContext, sctl: bytes) -> bool:
    """Serve ``sctl`` (an SCT list) in the signed_certificate_timestamp extension of this
    context's handshakes: SSL_CTX_add_server_custom_ext through ctypes (2.6's own route, so also
    only up to TLS 1.2). False when OpenSSL refuses it."""
    global _SCT_ADD_CB, _SCT_PARSE_CB
    v = ctypes.c_void_p
    if _SCT_ADD_CB is None:
        pp, psz, pint = ctypes.POINTER(v), ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_int)
        _SCT_ADD_CB = ctypes.CFUNCTYPE(ctypes.c_int, v, ctypes.c_uint, pp, psz, pint, v)(_sct_add)
        _SCT_PARSE_CB = ctypes.CFUNCTYPE(ctypes.c_int, v, ctypes.c_uint, v, ctypes.c_size_t, pint, v)(_sct_parse)
    ptr = _ssl_ctx_pointer(ctx)
    if not ptr:
        return False
    _SCTL[ptr] = ctypes.create_string_buffer(sctl, len(sctl))
    ok = _fn("SSL_CTX_add_server_custom_ext", (v, ctypes.c_uint, v, v, v, v, v), ctypes.c_int)(
        ptr, _TLSEXT_SCT, ctypes.cast(_SCT_ADD_CB, v), None, None, ctypes.cast(_SCT_PARSE_CB, v), None)
    if not ok:
        _SCTL.pop(ptr, None)
    return bool(ok)


def _wire(protos: tuple[str, ...]) -> bytes:
    """A protocol list in the wire format of ALPN and NPN: each name after its length byte."""
    out = b""
    for p in protos:
        b = p.encode("latin-1")[:255]
        out += bytes((len(b),)) + b
    return out


#: per SSL_CTX (pointer): the NPN list (wire format, a buffer that lives as long as the entry)
#: a listener's context advertises, or a server's context asks for
_NPN: dict[int, Any] = {}
_NPN_ADV_CB: Any = None
_NPN_SEL_CB: Any = None
_TLSEXT_ERR_OK, _TLSEXT_ERR_NOACK = 0, 3


def _npn_advertised(ssl_ptr: int, out: Any, outlen: Any, arg: int) -> int:
    """OpenSSL's server callback for NPN (a TLS 1.2 client asked): the context's list."""
    try:
        ctx_ptr = _fn("SSL_get_SSL_CTX", (ctypes.c_void_p,), ctypes.c_void_p)(ssl_ptr)
        buf = _NPN.get(ctx_ptr or 0)
        if buf is None:
            return _TLSEXT_ERR_NOACK
        out[0] = ctypes.addressof(buf)
        outlen[0] = len(buf)
        return _TLSEXT_ERR_OK
    except Exception:  # noqa: BLE001 - never an exception out of an OpenSSL callback
        return _TLSEXT_ERR_NOACK


def _npn_select(ssl_ptr: int, out: Any, outlen: Any, inp: int, inlen: int, arg: int) -> int:
    """OpenSSL's client callback for NPN: SSL_select_next_proto between the server's list and
    ours; without a protocol in common the extension is not acknowledged (2.6's choice, which
    makes OpenSSL end the handshake)."""
    try:
        ctx_ptr = _fn("SSL_get_SSL_CTX", (ctypes.c_void_p,), ctypes.c_void_p)(ssl_ptr)
        buf = _NPN.get(ctx_ptr or 0)
        if buf is None:
            return _TLSEXT_ERR_NOACK
        got = _fn("SSL_select_next_proto", (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint,
                                            ctypes.c_void_p, ctypes.c_uint), ctypes.c_int)(
            ctypes.cast(out, ctypes.c_void_p), ctypes.cast(outlen, ctypes.c_void_p), inp, inlen,
            ctypes.addressof(buf), len(buf))
        return _TLSEXT_ERR_OK if got == 1 else _TLSEXT_ERR_NOACK  # OPENSSL_NPN_NEGOTIATED
    except Exception:  # noqa: BLE001 - never an exception out of an OpenSSL callback
        return _TLSEXT_ERR_NOACK


def set_npn(ctx: ssl.SSLContext, protos: tuple[str, ...], *, server: bool) -> None:
    """NPN on this context (Python's ssl has none: ssl.HAS_NPN is false): a listener advertises
    ``protos`` (SSL_CTX_set_next_protos_advertised_cb), a client chooses among the server's with
    them (SSL_CTX_set_next_proto_select_cb), both through ctypes."""
    global _NPN_ADV_CB, _NPN_SEL_CB
    v = ctypes.c_void_p
    pp = ctypes.POINTER(v)
    if _NPN_ADV_CB is None:
        _NPN_ADV_CB = ctypes.CFUNCTYPE(ctypes.c_int, v, pp, ctypes.POINTER(ctypes.c_uint), v)(_npn_advertised)
        _NPN_SEL_CB = ctypes.CFUNCTYPE(ctypes.c_int, v, pp, ctypes.POINTER(ctypes.c_ubyte), v, ctypes.c_uint,
                                       v)(_npn_select)
    ptr = _ssl_ctx_pointer(ctx)
    if not ptr:
        return
    _NPN[ptr] = ctypes.create_string_buffer(_wire(protos), len(_wire(protos)))
    if server:
        _fn("SSL_CTX_set_next_protos_advertised_cb", (v, v, v), None)(ptr, ctypes.cast(_NPN_ADV_CB, v), None)
    else:
        _fn("SSL_CTX_set_next_proto_select_cb", (v, v, v), None)(ptr, ctypes.cast(_NPN_SEL_CB, v), None)


#: responses 'set ssl ocsp-response' stapled: CertID (DER) -> DER response
_OCSP_OVERRIDES: dict[bytes, bytes] = {}


def set_stapled(key: bytes, der: bytes, listeners: list[Any]) -> int:
    """'set ssl ocsp-response': every context of a certificate with OCSP CertID ``key`` staples
    ``der`` (contexts built later too); how many contexts."""
    _OCSP_OVERRIDES[key] = der
    n = 0
    for t in listeners:
        for cert, ctx in zip(t.certs, t.contexts, strict=True):
            if cert.ocsp_key == key:
                set_ocsp_response(ctx, der)
                n += 1
    return n


def add_chain(ctx: ssl.SSLContext, blocks: tuple[str, ...]) -> None:
    """issuers-chain-path: these certificates (PEM) added to the chain the context sends."""
    v = ctypes.c_void_p
    ptr = _ssl_ctx_pointer(ctx)
    ctrl = _fn("SSL_CTX_ctrl", (v, ctypes.c_int, ctypes.c_long, v), ctypes.c_long)
    d2i = _fn("d2i_X509", (v, ctypes.POINTER(v), ctypes.c_long), v)
    for blk in blocks:
        der = ssl.PEM_cert_to_DER_cert(blk)
        buf = ctypes.create_string_buffer(der, len(der))
        pp = v(ctypes.addressof(buf))
        x = d2i(None, ctypes.byref(pp), len(der))
        if x:
            ctrl(ptr, 89, 0, x)  # SSL_CTRL_CHAIN_CERT, add0: the chain owns it


def drop_self_issued(ctx: ssl.SSLContext) -> None:
    """ssl-skip-self-issued-ca: the chain certificates OpenSSL loaded from the file, less those
    issued by themselves (X509_check_issued(x, x) == X509_V_OK), as 2.6 builds its chain."""
    v = ctypes.c_void_p
    ptr = _ssl_ctx_pointer(ctx)
    ctrl = _fn("SSL_CTX_ctrl", (v, ctypes.c_int, ctypes.c_long, v), ctypes.c_long)
    sk = v()
    ctrl(ptr, 115, 0, ctypes.addressof(sk))  # SSL_CTRL_GET_CHAIN_CERTS
    if not sk.value:
        return
    num = _fn("OPENSSL_sk_num", (v,), ctypes.c_int)
    val = _fn("OPENSSL_sk_value", (v, ctypes.c_int), v)
    issued = _fn("X509_check_issued", (v, v), ctypes.c_int)
    chain = [val(sk.value, i) for i in range(num(sk.value))]
    keep = [x for x in chain if issued(x, x) != 0]
    if len(keep) == len(chain):
        return
    up = _fn("X509_up_ref", (v,), ctypes.c_int)
    for x in keep:
        up(x)
    ctrl(ptr, 88, 0, None)  # SSL_CTRL_CHAIN: a new, empty chain (the old one freed)
    for x in keep:
        ctrl(ptr, 89, 0, x)  # SSL_CTRL_CHAIN_CERT, add0: the chain takes our reference


def _key_kind(cert: Any) -> str:
    alg = cert.algorithm or ""
    return "ecdsa" if alg.startswith("EC") else "rsa" if alg.startswith("RSA") else "other"


#: per SSL_CTX pointer (a listener's default context): the ServerTls its hello callback serves
_HELLO_OWNERS: dict[int, Any] = {}
#: per SSL connection (pointer): the entry the hello callback chose, taken by the SNI callback
HELLO_CHOICE: dict[int, int] = {}
_HELLO_CB: Any = None
_AUTH_ECDSA: list[int] = []
_TLSEXT_SERVER_NAME, _TLSEXT_SIGALGS = 0, 13
_SSL_CTRL_SET_MIN_PROTO_VERSION, _SSL_CTRL_SET_MAX_PROTO_VERSION = 123, 124


def set_hello_callback(ctx: ssl.SSLContext, owner: Any) -> None:
    """SSL_CTX_set_client_hello_cb on a listener's default context (Python's ssl has none)."""
    global _HELLO_CB
    if _HELLO_CB is None:
        _HELLO_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(_hello_cb)
        _AUTH_ECDSA.append(_fn("OBJ_sn2nid", (ctypes.c_char_p,), ctypes.c_int)(b"AuthECDSA"))
    ptr = _ssl_ctx_pointer(ctx)
    _HELLO_OWNERS[ptr] = owner
    _fn("SSL_CTX_set_client_hello_cb", (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p), None)(
        ptr, ctypes.cast(_HELLO_CB, ctypes.c_void_p), None)


# -- the listeners' TLS session cache, as 2.6's (its shctx): one table per process, keyed by session
# ID, oldest first, of the sessions' DER encodings; OpenSSL's own cache is off on the listeners'
# contexts, so every resumption by session ID (TLS 1.2, or TLS 1.3 without tickets) asks the
# get-session callback, which counts show info's SslCacheLookups and, when the ID is not in the
# table, SslCacheMisses. One table for all listeners: a session made on a bind line resumes on
# another, as with 2.6 (Python gives every context the same session ID context). Its size is
# 2.6's: tune.ssl.cachesize blocks of 200 bytes, a session taking the blocks its header (72 bytes)
# and its DER encoding fill; the oldest sessions make room for a new one (a lookup does not
# refresh one); with tune.ssl.cachesize 0 there is no cache (no resumption by session ID).
_SESSIONS: dict[bytes, tuple[bytes, int]] = {}
#: tune.ssl.cachesize (blocks) and the blocks the table's sessions take
SESSIONS_MAX = [20000]
_SESS_USED = [0]
_BLOCK, _HDR = 200, 72
_SESS_NEW_CB: Any = None
_SESS_GET_CB: Any = None
_SSL_CTRL_SET_SESS_CACHE_MODE = 44
#: SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL (neither lookups nor stores of OpenSSL's own)
_CACHE_MODE = 0x0002 | 0x0100 | 0x0200


def _sess_new(ssl_ptr: int, sess: int) -> int:
    """A new session of a listener's connection (TLS 1.3: one per ticket): its encoding kept (the
    session itself is not: 0), the oldest ones dropped to make room."""
    try:
        v = ctypes.c_void_p
        n = ctypes.c_uint(0)
        idp = _fn("SSL_SESSION_get_id", (v, ctypes.POINTER(ctypes.c_uint)), v)(sess, ctypes.byref(n))
        if not idp or not n.value:
            return 0
        key = ctypes.string_at(idp, n.value)
        i2d = _fn("i2d_SSL_SESSION", (v, v), ctypes.c_int)
        size = i2d(sess, None)
        blocks = -(-(_HDR + size) // _BLOCK)
        if size <= 0 or blocks > SESSIONS_MAX[0]:
            return 0
        buf = ctypes.create_string_buffer(size)
        i2d(sess, ctypes.byref(ctypes.c_void_p(ctypes.addressof(buf))))
        old = _SESSIONS.pop(key, None)
        if old is not None:
            _SESS_USED[0] -= old[1]
        while _SESSIONS and _SESS_USED[0] + blocks > SESSIONS_MAX[0]:
            _SESS_USED[0] -= _SESSIONS.pop(next(iter(_SESSIONS)))[1]
        _SESSIONS[key] = (buf.raw, blocks)
        _SESS_USED[0] += blocks
    except Exception:  # noqa: BLE001 - never an exception out of an OpenSSL callback
        pass
    return 0


def _sess_get(ssl_ptr: int, data: int, size: int, copy: Any) -> int | None:
    """A client resumes by session ID: a session decoded from the one kept under it (OpenSSL owns
    it: ``*copy = 0``), or none; counted as 2.6 counts its cache's lookups and misses."""
    try:
        acct = ACCOUNT[0]
        if acct is not None:
            acct.ssl_cache_lookups += 1
        got = _SESSIONS.get(ctypes.string_at(data, size) if data and size > 0 else b"")
        if got is None:
            if acct is not None:
                acct.ssl_cache_misses += 1
            return None
        der = ctypes.create_string_buffer(got[0], len(got[0]))
        v = ctypes.c_void_p
        copy[0] = 0
        return int(_fn("d2i_SSL_SESSION", (v, v, ctypes.c_long), v)(
            None, ctypes.byref(ctypes.c_void_p(ctypes.addressof(der))), len(got[0])) or 0) or None
    except Exception:  # noqa: BLE001
        return None


def set_session_cache(ctx: ssl.SSLContext) -> None:
    """A listener's context keeps its sessions in the table above instead of OpenSSL's cache (or
    in none with tune.ssl.cachesize 0)."""
    global _SESS_NEW_CB, _SESS_GET_CB
    v = ctypes.c_void_p
    ptr = _ssl_ctx_pointer(ctx)
    ctrl = _fn("SSL_CTX_ctrl", (v, ctypes.c_int, ctypes.c_long, v), ctypes.c_long)
    if not SESSIONS_MAX[0]:
        ctrl(ptr, _SSL_CTRL_SET_SESS_CACHE_MODE, 0, None)  # SSL_SESS_CACHE_OFF
        return
    if _SESS_NEW_CB is None:
        _SESS_NEW_CB = ctypes.CFUNCTYPE(ctypes.c_int, v, v)(_sess_new)
        _SESS_GET_CB = ctypes.CFUNCTYPE(v, v, v, ctypes.c_int, ctypes.POINTER(ctypes.c_int))(_sess_get)
    ctrl(ptr, _SSL_CTRL_SET_SESS_CACHE_MODE, _CACHE_MODE, None)
    _fn("SSL_CTX_sess_set_new_cb", (v, v), None)(ptr, ctypes.cast(_SESS_NEW_CB, v))
    _fn("SSL_CTX_sess_set_get_cb", (v, v), None)(ptr, ctypes.cast(_SESS_GET_CB, v))


def _hello_ext(ssl_ptr: int, kind: int) -> bytes | None:
    out = ctypes.c_void_p()
    n = ctypes.c_size_t()
    if not _fn("SSL_client_hello_get0_ext", (ctypes.c_void_p, ctypes.c_uint, ctypes.POINTER(ctypes.c_void_p),
                                            ctypes.POINTER(ctypes.c_size_t)), ctypes.c_int)(
            ssl_ptr, kind, ctypes.byref(out), ctypes.byref(n)):
        return None
    return ctypes.string_at(out.value, n.value) if out.value and n.value else b""


def _suites_auth_ecdsa(ssl_ptr: int) -> bool:
    out = ctypes.c_void_p()
    n = _fn("SSL_client_hello_get0_ciphers", (ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)), ctypes.c_size_t)(
        ssl_ptr, ctypes.byref(out))
    if not out.value or n % 2:
        return False
    find = _fn("SSL_CIPHER_find", (ctypes.c_void_p, ctypes.c_void_p), ctypes.c_void_p)
    auth = _fn("SSL_CIPHER_get_auth_nid", (ctypes.c_void_p,), ctypes.c_int)
    for j in range(0, n, 2):
        c = find(ssl_ptr, out.value + j)
        if c and auth(c) == _AUTH_ECDSA[0]:
            return True
    return False


def _hello_cb(ssl_ptr: int, al: int, arg: int) -> int:
    """2.6's choice of the entry from the ClientHello (server name, then key type by what the
    client offers), and that entry's protocol versions and TLS 1.3 suites set on the connection
    before OpenSSL chooses them; the SNI callback then switches to the entry's context."""
    try:
        HELLO_CHOICE.pop(ssl_ptr, None)
        owner = _HELLO_OWNERS.get(_fn("SSL_get_SSL_CTX", (ctypes.c_void_p,), ctypes.c_void_p)(ssl_ptr) or 0)
        if owner is None:
            return 1
        ext = _hello_ext(ssl_ptr, _TLSEXT_SERVER_NAME)
        # server_name: list length (2), then type (1) = host_name, length (2), name
        if not ext or len(ext) < 5 or ext[2] != 0:
            return 1
        name = ext[5:5 + int.from_bytes(ext[3:5], "big")].decode("ascii", "replace")
        from haproxy_py.tls.sni import hello_offers

        sig = _hello_ext(ssl_ptr, _TLSEXT_SIGALGS)
        ecdsa, rsa = hello_offers(sig[2:] if sig is not None else None, _suites_auth_ecdsa(ssl_ptr))
        i = owner.table.pick(name, owner.kinds, ecdsa, rsa)
        if i is None:
            return 1
        HELLO_CHOICE[ssl_ptr] = i
        conf = owner.confs[i]
        rng = version_range(conf.min_ver, conf.max_ver, conf.disabled)
        ctrl = _fn("SSL_ctrl", (ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p), ctypes.c_long)
        if rng is not None:
            ctrl(ssl_ptr, _SSL_CTRL_SET_MIN_PROTO_VERSION, VERSIONS[rng[0]].value, None)
            ctrl(ssl_ptr, _SSL_CTRL_SET_MAX_PROTO_VERSION, VERSIONS[rng[1]].value, None)
        if conf.ciphersuites:
            _fn("SSL_set_ciphersuites", (ctypes.c_void_p, ctypes.c_char_p), ctypes.c_int)(
                ssl_ptr, conf.ciphersuites.encode("ascii", "replace"))
        return 1
    except Exception:  # noqa: BLE001 - never an exception out of an OpenSSL callback
        return 1


class ServerTls:
    """The contexts of one ``bind ... ssl`` line and the SNI choice between them: one per entry
    (a ``crt`` certificate or a crt-list line, tls/crtlist.py), with the entry's own options."""

    __slots__ = ("conf", "entries", "certs", "confs", "contexts", "table", "default", "ca_paths", "kinds", "hello",
                 "default_conf")
    default: ssl.SSLContext

    def __init__(self, conf: Any) -> None:
        from haproxy_py.tls.crtlist import Entry

        self.conf = conf
        self.entries: list[Any] = list(conf.entries) or [Entry(c) for c in conf.certs]
        #: CA files replaced at run time: configured name -> the file holding its new certificates
        self.ca_paths: dict[str, str] = {}
        self.hello = False
        self._build()

    def _build(self) -> None:
        import dataclasses

        if self.hello:
            _HELLO_OWNERS.pop(_ssl_ctx_pointer(self.default), None)

        self.certs = [e.cert for e in self.entries]
        self.confs = [dataclasses.replace(self.conf, **dict(e.conf)) if e.conf else self.conf for e in self.entries]
        made: dict[tuple[Any, Any], ssl.SSLContext] = {}
        self.contexts: list[ssl.SSLContext] = []
        for e, c in zip(self.entries, self.confs, strict=True):
            key = (e.cert, c)
            if key not in made:
                made[key] = self._context(e.cert, c)
            self.contexts.append(made[key])
        self.table = self._table()
        # 2.6 makes each connection from the bind line's own context: its protocol versions and
        # cipher lists hold until a server name selects an entry (the first entry's certificate
        # is the default one)
        first, base = self.confs[0], self.conf
        own = ("min_ver", "max_ver", "ciphers", "ciphersuites")
        if all(getattr(first, f) == getattr(base, f) for f in own):
            self.default_conf, self.default = first, self.contexts[0]
        else:
            self.default_conf = dataclasses.replace(first, **{f: getattr(base, f) for f in own})
            self.default = self._context(self.certs[0], self.default_conf)
        self.kinds = [_key_kind(c) for c in self.certs]
        self.hello = self._needs_hello()
        if self.hello:
            set_hello_callback(self.default, self)

    def _needs_hello(self) -> bool:
        """Whether the choice of an entry must be made from the ClientHello, before OpenSSL picks
        the protocol version (2.6's client hello callback): an entry with its own versions or
        TLS 1.3 suites, or a name whose certificates differ in key type."""
        base = self.conf
        if any((c.min_ver, c.max_ver, c.ciphersuites) != (base.min_ver, base.max_ver, base.ciphersuites)
               for c in self.confs):
            return True
        if len(set(self.kinds)) < 2:
            return False
        t = self.table
        return any(len({self.kinds[i] for i in lst}) > 1 for lst in (*t.exact_all.values(), *t.wild.values()))

    def _table(self) -> SniTable:
        from haproxy_py.tls.crtlist import sni_names

        names, negs = [], []
        for e in self.entries:
            pos, neg = sni_names(e.filters, e.cert.names)
            names.append(pos)
            negs.append(neg)
        return SniTable(names, negs)

    def _context(self, cert: Any, conf: Any) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.sslsocket_class = EngineSSLSocket
        ctx.load_cert_chain(cert.load_from or cert.path, cert.key)
        if cert.issuers_chain:
            add_chain(ctx, cert.issuers_chain)
        if conf.skip_self_ca:
            drop_self_issued(ctx)
        if conf.lifetime:
            _fn("SSL_CTX_set_timeout", (ctypes.c_void_p, ctypes.c_long), ctypes.c_long)(
                _ssl_ctx_pointer(ctx), conf.lifetime)
        err = apply_common(ctx, conf) or apply_bind(ctx, conf, cert)
        if err is not None:
            raise ValueError(err)
        if conf.verify != "none":
            ctx.verify_mode = ssl.CERT_REQUIRED if conf.verify == "required" else ssl.CERT_OPTIONAL
            if conf.ca_ignore or conf.crt_ignore:
                set_ignore_errors(ctx, _VERIFY_MODE[conf.verify], conf.ca_ignore, conf.crt_ignore)
        ocsp = _OCSP_OVERRIDES.get(cert.ocsp_key, cert.ocsp) if cert.ocsp_key else cert.ocsp
        if ocsp:
            set_ocsp_response(ctx, ocsp)
        if cert.sctl:
            set_sctl(ctx, cert.sctl)
        if conf.npn:
            set_npn(ctx, conf.npn, server=True)
        if conf.early:
            _fn("SSL_CTX_set_max_early_data", (ctypes.c_void_p, ctypes.c_uint32), ctypes.c_int)(
                _ssl_ctx_pointer(ctx), conf.early)
            ctx.options |= 1 << 24  # SSL_OP_NO_ANTI_REPLAY, as 2.6 (a ticket's early data is not single-use)
        if conf.capture:
            _capture.capture_hellos(ctx, conf.capture)
        if conf.keylog:
            _capture.keep_secrets(ctx)
        SESSIONS_MAX[0] = conf.cache_size  # a global: every listener has the same
        set_session_cache(ctx)
        ctx.sni_callback = self._sni
        return ctx

    def replace(self, cert: Any) -> bool:
        """'commit ssl cert': new connections get ``cert`` where its file name was; the server
        names are those of the new certificate. False when this bind does not use that file."""
        import dataclasses

        if not any(c.path == cert.path for c in self.certs):
            return False
        self.entries = [dataclasses.replace(e, cert=cert) if e.cert.path == cert.path else e for e in self.entries]
        self._build()
        return True

    def set_ca(self, name: str, path: str) -> bool:
        """'commit ssl ca-file': the CA file configured as ``name`` (ca-file, ca-verify-file, on the
        line or a crt-list entry) now holds the certificates of ``path``; False when unused here."""
        return self._set_file(("ca_file", "ca_verify_file"), name, path)

    def set_crl(self, name: str, path: str) -> bool:
        """'commit ssl crl-file': the CRL file configured as ``name`` (on the line or a crt-list
        entry) now holds the CRLs of ``path``; False when unused here."""
        return self._set_file(("crl_file",), name, path)

    def _set_file(self, fields: tuple[str, ...], name: str, path: str) -> bool:
        import dataclasses

        cur = self.ca_paths.get(name, name)

        def fix(c: Any) -> Any:
            ch = {f: path for f in fields if getattr(c, f, None) == cur}
            return dataclasses.replace(c, **ch) if ch else c

        if not any(getattr(c, f, None) == cur for c in self.confs for f in fields):
            return False
        self.conf = fix(self.conf)
        self.entries = [dataclasses.replace(e, conf=tuple((k, path if k in fields and v == cur else v)
                                                          for k, v in e.conf)) if e.conf else e
                        for e in self.entries]
        self.ca_paths[name] = path
        self._build()
        return True

    def set_list(self, path: str, entries: list[Any]) -> bool:
        """'add/del ssl crt-list': crt-list ``path``'s entries are now ``entries`` (in the place of
        its old ones); False when this listener does not use that list."""
        pos = [i for i, e in enumerate(self.entries) if e.list_path == path]
        if not pos:
            return False
        self.entries = self.entries[:pos[0]] + list(entries) + [e for e in self.entries[pos[0]:]
                                                               if e.list_path != path]
        self._build()
        return True

    def verify(self, index: int) -> str:
        return str(self.confs[index].verify)

    def _sni(self, sock: Any, name: str | None, ctx: ssl.SSLContext) -> int | None:
        sock.sni = name
        i = HELLO_CHOICE.pop(_ssl_pointer(sock._sslobj), None) if self.hello else None
        if i is None:
            i = self.table.select(name)
        if i is None:
            if self.conf.strict_sni:
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            return None
        sock.cert_index = i
        chosen = self.contexts[i]
        if chosen is not ctx:
            sock.context = chosen
            if self.confs[i] is not self.default_conf:
                switch_settings(sock, self.confs[i])
        return None

    def wrap(self, sock: socket.socket) -> EngineSSLSocket:
        s = self.default.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        assert isinstance(s, EngineSSLSocket)
        if self.conf.max_record:
            s.max_record = self.conf.max_record
        return s


def host_matches(pattern: str, name: str) -> bool:
    """One certificate name against the name to verify (2.6's server host check): equal ignoring
    case, or a ``*`` within the pattern's first label standing for part of the name's first label
    (``*.example.org`` covers ``a.example.org``, not ``example.org`` nor ``a.b.example.org``)."""
    pattern = pattern.lower()
    name = name.lower()
    if pattern == name:
        return True
    star = pattern.find("*")
    pdot = pattern.find(".")
    if star < 0 or pdot < 0 or star > pdot:
        return False
    ndot = name.find(".")
    if ndot < 0 or pattern[pdot:] != name[ndot:]:
        return False
    first, want = name[:ndot], pattern[:pdot]
    pre, post = want[:star], want[star + 1:]
    return len(first) >= len(pre) + len(post) and first.startswith(pre) and first.endswith(post)


def cert_has_name(cert: dict[str, Any], name: str) -> bool:
    """The server's certificate (getpeercert()) carries ``name``: a DNS subjectAltName, else a
    commonName, as 2.6 checks them."""
    for typ, val in cert.get("subjectAltName", ()):
        if typ == "DNS" and host_matches(val, name):
            return True
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName" and host_matches(v, name):
                return True
    return False


class ClientTls:
    """The client contexts of one ``server ... ssl`` configuration: for its traffic (ALPN, the
    client certificate) and for its health checks (check-alpn). The server's certificate is
    verified by OpenSSL against the CA file (and CRL file); its names are checked here after the
    handshake against the SNI sent or else ``verifyhost`` (``checked_name``), as 2.6 does.

    ``sessions`` keeps, per server and server name, the TLS object of the last successful
    handshake so that the next connection resumes its session (``ssl-reuse``, 2.6's default)."""

    __slots__ = ("conf", "ctx", "check_ctx", "sni", "sessions", "rule_ctx", "live")

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        #: the settings the contexts are built from: ``conf`` with what the runtime API committed
        #: since (commit ssl ca-file: its CA file; commit ssl cert: its client certificate)
        self.live = conf
        self.ctx = self._context(conf, alpn=conf.alpn)
        self.check_ctx = self._context(conf, alpn=conf.check_alpn)
        self.sni: Any = None
        self.sessions: dict[Any, Any] = {}
        #: the contexts of 'tcp-check/http-check connect ssl [alpn A]' rules, by ALPN list
        self.rule_ctx: dict[tuple[str, ...], ssl.SSLContext] = {}
        if conf.sni:
            from haproxy_py.samples import compile_expr

            self.sni = compile_expr(conf.sni)

    @staticmethod
    def _context(conf: Any, *, alpn: tuple[str, ...]) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.sslsocket_class = EngineSSLSocket
        err = apply_common(ctx, conf)
        if err is not None:
            raise ValueError(err)
        ctx.set_alpn_protocols(list(alpn))
        if conf.npn:
            set_npn(ctx, conf.npn, server=False)
        ctx.check_hostname = False
        if conf.verify == "required":
            ctx.verify_mode = ssl.CERT_REQUIRED
            if conf.ca_file:
                ctx.load_verify_locations(conf.ca_file)
            if conf.crl_file:
                ctx.load_verify_locations(conf.crl_file)
                ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
        else:
            ctx.verify_mode = ssl.CERT_NONE
        if conf.crt is not None:
            ctx.load_cert_chain(conf.crt.load_from or conf.crt.path, conf.crt.key)
            if conf.crt.issuers_chain:
                add_chain(ctx, conf.crt.issuers_chain)
            if conf.skip_self_ca:
                drop_self_issued(ctx)
        if not conf.tickets:
            ctx.options |= ssl.OP_NO_TICKET
        return ctx

    def set_ca(self, path: str) -> None:
        """'commit ssl ca-file': verify against the certificates of ``path`` from now on."""
        self._rebuild(ca_file=path)

    def set_crl(self, path: str) -> None:
        """'commit ssl crl-file': check the server's certificate against the CRLs of ``path``."""
        self._rebuild(crl_file=path)

    def set_crt(self, cert: Any) -> None:
        """'commit ssl cert': present ``cert`` (tls/certs.py CertFile) from now on."""
        self._rebuild(crt=cert)

    def _rebuild(self, **changes: Any) -> None:
        """New contexts from the live settings changed (sessions of the old ones are not resumed)."""
        import dataclasses

        conf = self.live = dataclasses.replace(self.live, **changes)
        self.ctx = self._context(conf, alpn=conf.alpn)
        self.check_ctx = self._context(conf, alpn=conf.check_alpn)
        self.rule_ctx = {}
        self.sessions = {}

    def checked_name(self, sni: str | None) -> str | None:
        """The name the server's certificate must carry: the SNI sent, else ``verifyhost`` (2.6's
        order: a verifyhost does not apply to a connection that sends a server name)."""
        if self.conf.verify != "required":
            return None
        return sni or self.conf.verifyhost

    def server_name(self, txn: Any) -> str | None:
        """The server name sent for a connection; ``txn`` evaluates the ``sni`` expression."""
        if self.sni is None:
            return None
        smp = self.sni(txn) if txn is not None else None
        if smp is None:
            return None
        v = smp.value
        name = v.decode("latin-1") if isinstance(v, (bytes, bytearray)) else str(v)
        return name or None

    def for_connection(self, txn: Any, key: Any = None) -> ClientHandshake:
        """What the connector needs for one connection's handshake (``key``: the server, whose
        last session is resumed)."""
        name = self.server_name(txn)
        return ClientHandshake(self, self.ctx, name, self.checked_name(name),
                               (key, name) if self.conf.reuse and key is not None else None)

    def for_check(self, key: Any = None) -> ClientHandshake:
        """A health check's handshake (check-sni, check-alpn). With the traffic's ALPN it uses the
        traffic's context, so that checks and traffic resume each other's session as in 2.6 (one
        session kept per server and server name)."""
        name = self.conf.check_sni
        ctx = self.ctx if self.live.check_alpn == self.live.alpn else self.check_ctx
        return ClientHandshake(self, ctx, name, self.checked_name(name),
                               (key, name) if self.conf.reuse and key is not None else None)

    def for_rule(self, sni: str | None, alpn: tuple[str, ...]) -> ClientHandshake:
        """A ``connect ssl [sni S] [alpn A]`` check rule's handshake."""
        ctx = self.rule_ctx.get(alpn)
        if ctx is None:
            ctx = self.rule_ctx[alpn] = self._context(self.live, alpn=alpn)
        return ClientHandshake(self, ctx, sni, self.checked_name(sni), None)


class ClientHandshake:
    """One TLS connection to a server: its context, the SNI, the name to verify, and the key its
    session is kept under for resumption (None: no reuse)."""

    __slots__ = ("owner", "ctx", "sni", "verify_name", "reuse_key")

    def __init__(self, owner: ClientTls, ctx: ssl.SSLContext, sni: str | None, verify_name: str | None,
                 reuse_key: Any) -> None:
        self.owner = owner
        self.ctx = ctx
        self.sni = sni
        self.verify_name = verify_name
        self.reuse_key = reuse_key

    def wrap(self, sock: socket.socket) -> EngineSSLSocket:
        """The TLS socket of a connection to a server, counted in the process's TLS connections
        (2.6 counts both sides against maxsslconn: over it, ValueError, a failed connection)."""
        acct = ACCOUNT[0]
        if acct is not None and acct.maxsslconn and acct.curr_ssl >= acct.maxsslconn:
            raise TooManySsl("Too many SSL connections")
        session = None
        if self.reuse_key is not None:
            prev = self.owner.sessions.get(self.reuse_key)
            if prev is not None:
                try:
                    session = prev.session
                except (AttributeError, ValueError, ssl.SSLError):
                    session = None
        s = self.ctx.wrap_socket(sock, server_side=False, server_hostname=self.sni,
                                 do_handshake_on_connect=False, session=session)
        assert isinstance(s, EngineSSLSocket)
        s.sni = self.sni
        if self.owner.conf.max_record:
            s.max_record = self.owner.conf.max_record
        if acct is not None:
            acct.curr_ssl += 1
            acct.cum_ssl += 1
            s.account = acct
        return s

    def established(self, sock: Any) -> str | None:
        """After the handshake: 2.6's error text when the certificate lacks the name to verify;
        otherwise None, and the session is kept for the next connection to resume."""
        acct = ACCOUNT[0]
        if acct is not None and not sock.session_reused:
            acct.ssl_be_keys.add(time.monotonic())  # a full handshake: SslBackendKeyRate
        name = self.verify_name
        if name is not None:
            try:
                cert = sock.getpeercert() or {}
            except (OSError, ValueError):
                cert = {}
            if not cert_has_name(cert, name):
                which = "expected" if name == self.sni else "configured"
                return f"Server presented an SSL certificate different from the {which} one"
        if self.reuse_key is not None:
            obj = getattr(sock, "_sslobj", None)
            if obj is not None:
                self.owner.sessions[self.reuse_key] = obj
        return None


_CLIENTS: dict[Any, ClientTls] = {}


class TooManySsl(ValueError):
    """A connection to a server over TLS while maxsslconn TLS connections exist (2.6: an internal
    error, no retry: 500, IC)."""

#: the running engine's process state (runtime/state.py ProcessState), which the connections to
#: servers are counted in; set by the engine
ACCOUNT: list[Any] = [None]


def client_tls(conf: Any) -> ClientTls:
    """The (cached) client contexts of a server's TLS configuration."""
    c = _CLIENTS.get(conf)
    if c is None:
        c = _CLIENTS[conf] = ClientTls(conf)
        if conf.ca_file in _CA_OVERRIDES:
            c.set_ca(_CA_OVERRIDES[conf.ca_file])
        if conf.crl_file in _CRL_OVERRIDES:
            c.set_crl(_CRL_OVERRIDES[conf.crl_file])
        if conf.crt is not None and conf.crt.path in _CRT_OVERRIDES:
            c.set_crt(_CRT_OVERRIDES[conf.crt.path])
    return c


def write_ca(pem: str) -> str:
    """A CA file's new certificates written where OpenSSL can load them (one file per commit, in
    a directory of the process that is removed at exit)."""
    import atexit
    import os
    import shutil
    import tempfile

    global _CA_DIR
    if _CA_DIR is None:
        _CA_DIR = tempfile.mkdtemp(prefix="haproxy-py-ca-")
        atexit.register(shutil.rmtree, _CA_DIR, True)
    fd, path = tempfile.mkstemp(suffix=".pem", dir=_CA_DIR)
    with os.fdopen(fd, "w") as f:
        f.write(pem)
    return path


_CA_DIR: str | None = None
#: CA files 'commit ssl ca-file' replaced: name -> the file of the new certificates
_CA_OVERRIDES: dict[str, str] = {}
#: CRL files 'commit ssl crl-file' replaced: name -> the file of the new CRLs
_CRL_OVERRIDES: dict[str, str] = {}
#: client certificates 'commit ssl cert' replaced: file name -> tls/certs.py CertFile
_CRT_OVERRIDES: dict[str, Any] = {}


def replace_client_cert(cert: Any) -> int:
    """'commit ssl cert' for the servers: every server TLS configuration presenting that file
    presents ``cert`` from now on; how many."""
    _CRT_OVERRIDES[cert.path] = cert
    n = 0
    for conf, ct in _CLIENTS.items():
        if conf.crt is not None and conf.crt.path == cert.path:
            ct.set_crt(cert)
            n += 1
    return n


def replace_client_ca(name: str, path: str) -> int:
    """'commit ssl ca-file' for the servers: every server TLS configuration whose ca-file is
    ``name`` verifies against ``path``; how many."""
    _CA_OVERRIDES[name] = path
    n = 0
    for conf, ct in _CLIENTS.items():
        if conf.ca_file == name:
            ct.set_ca(path)
            n += 1
    return n


def replace_client_crl(name: str, path: str) -> int:
    """'commit ssl crl-file' for the servers: every server TLS configuration whose crl-file is
    ``name`` checks against ``path``; how many."""
    _CRL_OVERRIDES[name] = path
    n = 0
    for conf, ct in _CLIENTS.items():
        if conf.crl_file == name:
            ct.set_crl(path)
            n += 1
    return n
