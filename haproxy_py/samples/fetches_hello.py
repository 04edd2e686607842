"""The ClientHello fetches that look for one extension (``req.ssl_ec_ext``, ``req.ssl_st_ext``) and
the ServerHello's type (``res.ssl_hello_type``), read from the first bytes of a connection in mode
tcp, nothing decrypted (``tcp-request``/``tcp-response inspect-delay``). Pure: the bytes are the
``txn.payload`` the engine buffers for the rules (the client's for request rules, the server's for
``tcp-response content``), read as :mod:`haproxy_py.tls.clienthello` reads them for ``req.ssl_sni``.

As 2.6 walks a ClientHello's extensions (unlike ``req.ssl_sni``, a record version 3.0 is fine): an extension longer than what is left of the list ends
the walk with no sample; ``req.ssl_ec_ext`` is true when the supported-groups (elliptic curves,
10) extension is there and has no sample otherwise; ``req.ssl_st_ext`` is 0 without a
SessionTicket extension (35), 1 with an empty one, 2 with a ticket.
"""

from __future__ import annotations

from typing import Any

from ..tls import clienthello
from . import fetches_tls as _fetches_tls  # noqa: F401 - registers req.ssl_ver, aliased below
from .core import alias, fetch
from .txn import Txn

H = "tests/integration/test_tls_hello_fetches_vs_haproxy.py::test_hello_extension_fetches_route_as_haproxy"
R = "tests/integration/test_tls_hello_fetches_vs_haproxy.py::test_server_hello_type_as_haproxy"


def _find_ext(data: bytes, want: int) -> tuple[int | None, bool, bool]:
    """(length of extension ``want`` or None, the walk broke on a bad extension, wait)."""
    if len(data) >= 3 and data[0] == 0x16 and data[1] >= 3 and data[2] == 0:
        # these two fetches only check the record's major version (req.ssl_sni also wants minor
        # >= 1): read an SSLv3 record header as a TLS one
        data = data[:2] + b"\x01" + data[3:]
    exts, wait = clienthello._extensions(data)
    if exts is None:
        return None, True, wait
    for et, _start, el in exts:
        if et == want:
            return el, False, False
    # clienthello._walk stops on an extension longer than the list's rest (2.6: no sample) or at
    # the end of the list: tell them apart as 2.6 does, from the declared lengths
    return None, _walk_broken(data), False


def _walk_broken(data: bytes) -> bool:
    p = 5 + 4
    p += 35 + data[p + 34]
    p += 2 + clienthello._u16(data, p)
    p += 1 + data[p]
    left = clienthello._u16(data, p)
    p += 2
    while left >= 4:
        if p + 4 > len(data):
            return True  # past the buffer: 2.6 reads bytes that are not there; count it as broken
        el = clienthello._u16(data, p + 2)
        if el > left - 4:
            return True
        left -= 4 + el
        p += 4 + el
    return False


def ec_ext(data: bytes) -> tuple[bool | None, bool]:
    el, _broken, wait = _find_ext(data, 10)
    return (True if el is not None else None), wait


def st_ext(data: bytes) -> tuple[int | None, bool]:
    el, broken, wait = _find_ext(data, 35)
    if el is not None:
        return (2 if el else 1), False
    if broken or wait:
        return None, wait
    return 0, False


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


fetch("req.ssl_ec_ext", test=H, waits=True)(_hello(ec_ext))
fetch("req.ssl_st_ext", test=H, waits=True)(_hello(st_ext))
alias("req_ssl_ver", "req.ssl_ver", test=H)
fetch("res.ssl_hello_type", test=R, waits=True)(_hello(clienthello.hello_type))
alias("rep_ssl_hello_type", "res.ssl_hello_type", test=R)
