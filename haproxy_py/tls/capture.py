"""What a terminating listener keeps of each handshake for the sample fetches, only when asked:
the ClientHello's lists (``tune.ssl.capture-buffer-size``: ssl_fc_cipherlist_*, ssl_fc_eclist_bin,
ssl_fc_ecformats_bin, ssl_fc_extlist_bin, ssl_fc_protocol_hello_id) and the TLS 1.3 secrets
(``tune.ssl.keylog on``: ssl_fc_*_secret).

:func:`parse_hello` is pure: the ClientHello handshake message (its 4-byte header first) read the
way 2.6 reads it, into at most SIZE bytes shared by the lists in this order: cipher suites, then
the extension types (2 bytes each, while they fit), then the supported groups, then the point
formats, each cut to what is left. 2.6's extension walk stops when fewer than 5 bytes remain, so
an empty extension at the very end is not listed; ssl_fc_cipherlist_xxh hashes the whole cipher
suite list.

The rest reaches OpenSSL through ctypes (the library Python's ``_ssl`` is linked with, as
tls/context.py does): a message callback on the listener's contexts sees the ClientHello, stores
its capture by ``SSL *`` and leaves that connection with the ServerHello (nothing more per record); a
key-log callback (SSL_CTX_set_keylog_callback) stores the NSS key log lines' secrets by ``SSL *``.
:func:`forget` drops a connection's entries when its socket closes.
"""

from __future__ import annotations

import ctypes
from typing import Any

GREASE_FREE = 1


class Hello:
    """One ClientHello's captured lists (bytes as sent, cut to the capture size)."""

    __slots__ = ("version", "ciphers", "suites", "exts", "ec", "ecf")

    def __init__(self, version: int, ciphers: bytes, suites: bytes) -> None:
        self.version = version
        self.ciphers = ciphers
        #: the whole cipher suite list (ssl_fc_cipherlist_xxh hashes it, not the cut one)
        self.suites = suites
        self.exts = b""
        self.ec = b""
        self.ecf = b""


def without_grease(data: bytes) -> bytes:
    """RFC 8701's GREASE values (0x?A?A with both bytes equal) left out of a list of 2-byte
    values; an odd last byte is kept, as 2.6 keeps it."""
    out = bytearray()
    n = len(data)
    i = 0
    while i < n - 1:
        a, b = data[i], data[i + 1]
        if a != b or a & 0x0F != 0x0A:
            out += data[i:i + 2]
        i += 2
    if i < n:
        out.append(data[i])
    return bytes(out)


def parse_hello(msg: bytes, size: int) -> Hello | None:
    """2.6's capture of a ClientHello handshake message; None when it is not one, or too short
    to reach its cipher suites."""
    n = len(msg)
    if size <= 0 or n < 4 or msg[0] != 1:
        return None
    body = (msg[1] << 16) | (msg[2] << 8) | msg[3]
    if n < body + 4:
        return None
    end = 4 + body
    p = 4
    if p + 2 > end:
        return None
    version = (msg[p] << 8) | msg[p + 1]
    p += 2 + 32
    if p >= end:
        return None
    p += 1 + msg[p]  # the session id
    if p + 2 > end:
        return None
    clen = (msg[p] << 8) | msg[p + 1]
    p += 2
    if p + clen > end:
        return None
    suites = msg[p:p + clen]
    h = Hello(version, suites[:size], suites)
    used = len(h.ciphers)
    p += clen
    if p >= end:
        return h
    p += 1 + msg[p]  # the compression methods
    if p + 2 > end:
        return h
    elen = (msg[p] << 8) | msg[p + 1]
    p += 2
    if p + elen > end:
        return h
    ext_end = p + elen
    exts = bytearray()
    ec = ecf = None
    bad = False  # a malformed extension: 2.6 keeps the types listed so far, not the groups
    while p + 4 < ext_end:
        if used + 2 > size:
            break
        exts += msg[p:p + 2]
        used += 2
        typ = (msg[p] << 8) | msg[p + 1]
        ln = (msg[p + 2] << 8) | msg[p + 3]
        p += 4
        last = p + ln
        if last > ext_end:
            bad = True
            break
        if typ == 10:
            ll = (msg[p] << 8) | msg[p + 1] if p + 2 <= last else -1
            if ll < 0 or p + 2 + ll > last:
                bad = True
                break
            ec = msg[p + 2:p + 2 + ll]
        elif typ == 11:
            ll = msg[p] if p + 1 <= last else -1
            if ll < 0 or p + 1 + ll > last:
                bad = True
                break
            ecf = msg[p + 1:p + 1 + ll]
        p = last
    h.exts = bytes(exts)
    if bad:
        return h
    if ec is not None:
        h.ec = ec[:size - used]
        used += len(h.ec)
    if ecf is not None:
        h.ecf = ecf[:size - used]
    return h


#: the NSS key log labels 2.6 keeps, by fetch suffix
SECRETS = {
    "client_early_traffic_secret": b"CLIENT_EARLY_TRAFFIC_SECRET",
    "client_handshake_traffic_secret": b"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "server_handshake_traffic_secret": b"SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "client_traffic_secret_0": b"CLIENT_TRAFFIC_SECRET_0",
    "server_traffic_secret_0": b"SERVER_TRAFFIC_SECRET_0",
    "exporter_secret": b"EXPORTER_SECRET",
    "early_exporter_secret": b"EARLY_EXPORTER_SECRET",
}


# --------------------------------------------------------------------------- OpenSSL's callbacks
#: per SSL connection (pointer): the capture of its ClientHello
HELLOS: dict[int, Hello] = {}
#: per SSL connection (pointer): {key log label: secret as hex text}
KEYLOGS: dict[int, dict[bytes, bytes]] = {}
#: per SSL_CTX (pointer): the capture size of the listener that owns it
_SIZES: dict[int, int] = {}
_MSG_CB: Any = None
_KEYLOG_CB: Any = None
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


def _ctx_pointer(ctx: Any) -> int:
    # CPython's PySSLContext: PyObject_HEAD then the SSL_CTX pointer
    return ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value or 0


#: the random of a ServerHello that is a TLS 1.3 HelloRetryRequest (RFC 8446 4.1.3)
_HRR = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")


def _msg_cb(write_p: int, version: int, content_type: int, buf: int, length: int, ssl_ptr: int, arg: int) -> None:
    """OpenSSL's message callback: each ClientHello received is captured (the last one counts, after
    a HelloRetryRequest too, as in 2.6); once this side sends its real ServerHello the callback
    leaves the connection (nothing more per record)."""
    try:
        if content_type != 22 or not ssl_ptr or not buf or length < 4:
            return
        if write_p:
            head = ctypes.string_at(buf, min(length, 38))
            if head[0] == 2 and head[6:38] != _HRR:
                _fn("SSL_set_msg_callback", (ctypes.c_void_p, ctypes.c_void_p), None)(ssl_ptr, None)
            return
        ctx_ptr = _fn("SSL_get_SSL_CTX", (ctypes.c_void_p,), ctypes.c_void_p)(ssl_ptr)
        h = parse_hello(ctypes.string_at(buf, length), _SIZES.get(ctx_ptr or 0, 0))
        if h is not None:
            HELLOS[ssl_ptr] = h
    except Exception:  # noqa: BLE001,S110 - never an exception out of an OpenSSL callback
        pass


def capture_hellos(ctx: Any, size: int) -> None:
    """SSL_CTX_set_msg_callback on ``ctx``: its connections' ClientHellos captured in ``size`` bytes."""
    global _MSG_CB
    if _MSG_CB is None:
        _MSG_CB = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                   ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p)(_msg_cb)
    ptr = _ctx_pointer(ctx)
    if not ptr:
        return
    _SIZES[ptr] = size
    _fn("SSL_CTX_set_msg_callback", (ctypes.c_void_p, ctypes.c_void_p), None)(ptr, ctypes.cast(_MSG_CB, ctypes.c_void_p))


_WANTED = frozenset(SECRETS.values())


def _keylog_cb(ssl_ptr: int, line: bytes) -> None:
    try:
        label, _, rest = line.partition(b" ")
        if label in _WANTED and ssl_ptr:
            KEYLOGS.setdefault(ssl_ptr, {})[label] = rest.partition(b" ")[2]
    except Exception:  # noqa: BLE001,S110 - never an exception out of an OpenSSL callback
        pass


def keep_secrets(ctx: Any) -> None:
    """SSL_CTX_set_keylog_callback on ``ctx``: its connections' TLS 1.3 secrets kept."""
    global _KEYLOG_CB
    if _KEYLOG_CB is None:
        _KEYLOG_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)(_keylog_cb)
    ptr = _ctx_pointer(ctx)
    if ptr:
        _fn("SSL_CTX_set_keylog_callback", (ctypes.c_void_p, ctypes.c_void_p), None)(
            ptr, ctypes.cast(_KEYLOG_CB, ctypes.c_void_p))


def forget(ssl_ptr: int) -> None:
    """A connection closes: its entries go."""
    HELLOS.pop(ssl_ptr, None)
    KEYLOGS.pop(ssl_ptr, None)


def cipher_name(ssl_ptr: int, pair: bytes) -> str | None:
    """OpenSSL's name of a cipher suite by its two bytes (SSL_CIPHER_find), None when unknown."""
    if not ssl_ptr:
        return None
    c = _fn("SSL_CIPHER_find", (ctypes.c_void_p, ctypes.c_char_p), ctypes.c_void_p)(ssl_ptr, pair)
    if not c:
        return None
    name = _fn("SSL_CIPHER_get_name", (ctypes.c_void_p,), ctypes.c_char_p)(c)
    if not name or name == b"(NONE)":
        return None
    return str(name.decode("latin-1"))
