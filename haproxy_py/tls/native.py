"""What Python's ``ssl`` does not expose of a TLS connection, read from OpenSSL itself (ctypes, on
the library Python's ``_ssl`` already loaded): the hello randoms, the session's master key and the
certificate chain the peer sent. For the ssl_bc_* / ssl_s_* fetches, only when one is used.

CPython's ``_ssl._SSLSocket`` (``SSLSocket._sslobj``) is ``PyObject_HEAD``, a weak reference to
the socket, then the ``SSL *`` pointer.
"""

from __future__ import annotations

import ctypes
from typing import Any

_lib: Any = None


def _L() -> Any:
    global _lib
    if _lib is None:
        import _ssl

        lib = ctypes.CDLL(_ssl.__file__)
        for name, args, res in (
                ("SSL_get_client_random", (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t), ctypes.c_size_t),
                ("SSL_get_server_random", (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t), ctypes.c_size_t),
                ("SSL_get_session", (ctypes.c_void_p,), ctypes.c_void_p),
                ("SSL_SESSION_get_master_key", (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t), ctypes.c_size_t),
                ("SSL_get_peer_cert_chain", (ctypes.c_void_p,), ctypes.c_void_p),
                ("OPENSSL_sk_num", (ctypes.c_void_p,), ctypes.c_int),
                ("OPENSSL_sk_value", (ctypes.c_void_p, ctypes.c_int), ctypes.c_void_p),
                ("i2d_X509", (ctypes.c_void_p, ctypes.c_void_p), ctypes.c_int),
                ("ERR_error_string_n", (ctypes.c_ulong, ctypes.c_char_p, ctypes.c_size_t), None)):
            fn = getattr(lib, name)
            fn.argtypes = args
            fn.restype = res
        _lib = lib
    return _lib


def ssl_pointer(sock: Any) -> int:
    """The ``SSL *`` of a TLS socket (0 without one)."""
    obj = getattr(sock, "_sslobj", None)
    if obj is None:
        return 0
    return ctypes.c_void_p.from_address(id(obj) + object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p)).value or 0


def _buf_call(fn: Any, ptr: int, size: int = 256) -> bytes | None:
    buf = ctypes.create_string_buffer(size)
    n = fn(ptr, buf, size)
    return buf.raw[:n] if n else None


def client_random(sock: Any) -> bytes | None:
    ptr = ssl_pointer(sock)
    return _buf_call(_L().SSL_get_client_random, ptr, 32) if ptr else None


def server_random(sock: Any) -> bytes | None:
    ptr = ssl_pointer(sock)
    return _buf_call(_L().SSL_get_server_random, ptr, 32) if ptr else None


def session_key(sock: Any) -> bytes | None:
    ptr = ssl_pointer(sock)
    if not ptr:
        return None
    lib = _L()
    sess = lib.SSL_get_session(ptr)
    return _buf_call(lib.SSL_SESSION_get_master_key, sess) if sess else None


def peer_chain_der(sock: Any) -> bytes | None:
    """The certificates the peer sent (its own first, as OpenSSL keeps them on a client), each in
    DER, one after the other."""
    return b"".join(chain_list(sock)) or None


def chain_list(sock: Any) -> list[bytes]:
    """SSL_get_peer_cert_chain's certificates in DER (on a server connection, without the
    client's own)."""
    out: list[bytes] = []
    ptr = ssl_pointer(sock)
    if not ptr:
        return out
    lib = _L()
    sk = lib.SSL_get_peer_cert_chain(ptr)
    if not sk:
        return out
    for i in range(lib.OPENSSL_sk_num(sk)):
        x = lib.OPENSSL_sk_value(sk, i)
        n = lib.i2d_X509(x, None)
        if n <= 0:
            continue
        buf = ctypes.create_string_buffer(n)
        p = ctypes.c_void_p(ctypes.addressof(buf))
        lib.i2d_X509(x, ctypes.byref(p))
        out.append(buf.raw)
    return out


def error_text(code: int) -> str:
    """OpenSSL's text of a packed error code ("error:0A000086:SSL routines::certificate verify failed")."""
    buf = ctypes.create_string_buffer(256)
    _L().ERR_error_string_n(code, buf, 256)
    return buf.value.decode("latin-1")
