"""``http-request normalize-uri``: 2.6's URI normalizers, pure (bytes in, bytes out).

Each works on the path and query of the URI (what follows the authority of an absolute-form URI;
``*`` and authority-form have none and stay as they are); the path normalizers stop at the '?'.
A normalizer that finds an invalid percent-encoding in ``strict`` mode raises :class:`Invalid`
(2.6 answers 400). Checked against 2.6.12 by tests/differential/test_http_features_vs_haproxy.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["NORMALIZERS", "Invalid", "normalize"]


class Invalid(ValueError):
    """An invalid percent-encoding met by a strict normalizer."""


_HEX = b"0123456789abcdefABCDEF"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SLASHES = re.compile(rb"/{2,}")


def _split(uri: bytes) -> tuple[bytes, bytes]:
    """(scheme and authority, path and query) of a request URI."""
    if uri[:1] == b"/":
        return b"", uri
    s = uri.find(b"://")
    if s < 0:
        return uri, b""
    p = uri.find(b"/", s + 3)
    return (uri, b"") if p < 0 else (uri[:p], uri[p:])


def _path_op(fn: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def op(pq: bytes) -> bytes:
        q = pq.find(b"?")
        return fn(pq) if q < 0 else fn(pq[:q]) + pq[q:]
    return op


def _merge(path: bytes) -> bytes:
    return _SLASHES.sub(b"/", path)


def _dot(path: bytes) -> bytes:
    segs = path.split(b"/")[1:]
    out = [s for s in segs if s != b"."]
    if segs and segs[-1] == b".":
        out.append(b"")
    return b"/" + b"/".join(out)


def _dotdot(full: bool) -> Callable[[bytes], bytes]:
    def fn(path: bytes) -> bytes:
        segs = path.split(b"/")[1:]
        out: list[bytes] = []
        for i, s in enumerate(segs):
            if s == b"..":
                if out and out[-1] != b"..":
                    out.pop()
                elif not full:
                    out.append(s)
                    continue
                if i == len(segs) - 1:
                    out.append(b"")
            else:
                out.append(s)
        return b"/" + b"/".join(out)
    return fn


def _percent(strict: bool, decode: bool) -> Callable[[bytes], bytes]:
    def fn(pq: bytes) -> bytes:
        if b"%" not in pq:
            return pq
        out = bytearray()
        i, n = 0, len(pq)
        while i < n:
            c = pq[i]
            if c != 0x25:
                out.append(c)
                i += 1
                continue
            h = pq[i + 1:i + 3]
            if len(h) < 2 or h[0] not in _HEX or h[1] not in _HEX:
                if strict:
                    raise Invalid("invalid percent-encoding")
                out.append(c)
                i += 1
                continue
            v = int(h, 16)
            if decode:
                if v in _UNRESERVED:
                    out.append(v)
                else:
                    out += pq[i:i + 3]
            else:
                out += b"%" + h.upper()
            i += 3
        return bytes(out)
    return fn


def _query_sort(pq: bytes) -> bytes:
    q = pq.find(b"?")
    if q < 0:
        return pq
    query = pq[q + 1:]
    if not query:
        return pq
    params = query.split(b"&")
    if params[-1] == b"":  # the end of the query is no parameter
        params.pop()
    params.sort(key=lambda p: p.partition(b"=")[0])
    return pq[:q + 1] + b"&".join(params)


def _fragment_strip(pq: bytes) -> bytes:
    return pq.partition(b"#")[0]


def _fragment_encode(pq: bytes) -> bytes:
    return pq.replace(b"#", b"%23")


#: name -> (the option word it takes or None, builder(option given) -> fn(path and query))
NORMALIZERS: dict[str, tuple[str | None, Callable[[bool], Callable[[bytes], bytes]]]] = {
    "path-merge-slashes": (None, lambda _o: _path_op(_merge)),
    "path-strip-dot": (None, lambda _o: _path_op(_dot)),
    "path-strip-dotdot": ("full", lambda o: _path_op(_dotdot(o))),
    "percent-decode-unreserved": ("strict", lambda o: _percent(o, True)),
    "percent-to-uppercase": ("strict", lambda o: _percent(o, False)),
    "query-sort-by-name": (None, lambda _o: _query_sort),
    "fragment-strip": (None, lambda _o: _fragment_strip),
    "fragment-encode": (None, lambda _o: _fragment_encode),
}


def normalize(fn: Callable[[bytes], bytes], uri: bytes) -> bytes:
    """``uri`` with ``fn`` applied to its path and query (Invalid from a strict normalizer)."""
    head, pq = _split(uri)
    if not pq:
        return uri
    return head + fn(pq)
