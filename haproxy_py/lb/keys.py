"""Which bytes the hash-based algorithms hash (HAPROXY_FACTS 3.6). Pure.

Each function returns the key bytes, or ``None`` when the key is absent (the caller then uses the
round-robin fallback). ``source_hash`` returns the 32-bit integer directly (no string hashing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

KeyFn = Callable[[Any, Any], "int | None"]

_LWS = frozenset(b" \t\r\n")
# RFC 7230 tchar, as HAProxy's HTTP_IS_TOKEN
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def source_hash(src: str) -> int | None:
    """Client address as HAProxy hashes it: IPv4 as a big-endian 32-bit integer, IPv6 as the XOR
    of its four 32-bit words. ``None`` for anything else (unix sockets...)."""
    try:
        ip = ipaddress.ip_address(src)
    except ValueError:
        return None
    n = int(ip)
    if ip.version == 4:
        return n
    h = 0
    for _ in range(4):
        h ^= n & 0xFFFFFFFF
        n >>= 32
    return h


def path_of(uri: str) -> str:
    """``path-only``: reduce an absolute-form URI to its path (HAProxy's http_parse_path)."""
    if uri.startswith("/") or uri == "*":
        return uri if uri != "*" else ""
    i = uri.find("://")
    if i < 0:
        return uri
    j = uri.find("/", i + 3)
    if j < 0:
        return ""
    return uri[j:]


def uri_key(uri: bytes, *, whole: bool = False, length: int = 0, depth: int = 0) -> bytes:
    """``balance uri [len N] [depth N] [whole]``: the URI cut before '?' (unless whole) and before
    the (depth+1)-th '/', after truncation to ``length`` bytes."""
    if length and len(uri) > length:
        uri = uri[:length]
    end = len(uri)
    if not whole:
        q = uri.find(b"?")
        if q >= 0:
            end = q
    if depth:
        pos = -1
        for _ in range(depth + 1):
            pos = uri.find(b"/", pos + 1, end)
            if pos < 0:
                break
        else:
            end = pos
    return uri[:end]


def url_param(uri: bytes, name: bytes) -> bytes | None:
    """Value of the first ``name=`` parameter of the query string (HAProxy's get_server_ph)."""
    q = uri.find(b"?")
    if q < 0:
        return None
    params = q + 1
    n = len(uri)
    plen = len(name)
    while n - params > plen:
        if uri[params + plen] == 0x3D and uri.startswith(name, params):  # '='
            start = params + plen + 1
            end = uri.find(b"&", start)
            return uri[start:] if end < 0 else uri[start:end]
        amp = uri.find(b"&", params)
        if amp < 0:
            return None
        params = amp + 1
    return None


def url_param_post(body: bytes, name: bytes, limit: int = 0) -> bytes | None:
    """``check_post``: the same scan over the first body chunk (HAProxy's get_server_ph_post),
    including its quirk of testing only the value's first byte for non-token characters."""
    if limit and len(body) > limit:
        body = body[:limit]
    n = len(body)
    if not n:
        return None
    plen = len(name)
    params = 0
    while n - params > plen:
        if body[params + plen] == 0x3D and body.startswith(name, params):
            start = params + plen + 1
            end = start
            first = body[start] if start < n else None
            while end < n and body[end] != 0x26:  # '&'
                if first not in _TOKEN:
                    if first in _LWS:
                        break
                    return None
                end += 1
            return body[start:end]
        amp = body.find(b"&", params)
        if amp < 0:
            return None
        params = amp + 1
    return None


def first_header_value(get_header: Callable[[str], str | None], name: str) -> str | None:
    """First comma-separated element of the first occurrence of a header, trimmed (HAProxy's
    http_find_header without the FULL flag)."""
    v = get_header(name)
    if v is None:
        return None
    c = v.find(",")
    if c >= 0:
        v = v[:c]
    return v.strip(" \t")


def domain_only(value: bytes) -> bytes:
    """``use_domain_only``: the label before the last dot (``www.example.com`` -> ``example``).

    2.6's scan starts one byte past the value (it tests the byte after the last one for a dot
    before stepping back); that byte is the next header's first one when another header follows,
    and stale buffer content when Host is the last header, where 2.6's choice then depends on
    earlier traffic. Here the byte past the end is never a dot: 2.6's result when a header
    follows Host, as with real clients."""
    end = len(value)
    p = end
    dohash = False
    n = len(value)
    while n:
        if dohash:
            if value[p - 1] == 0x2E:
                break
        elif p < len(value) and value[p] == 0x2E:
            end = p
            dohash = True
        p -= 1
        n -= 1
    return value[p:end]


def rdp_cookie(data: bytes, name: bytes = b"mstshash") -> bytes | None:
    """Value of ``Cookie: NAME=VALUE`` in an RDP connection request, up to CR LF, as 2.6's
    rdp_cookie fetch reads it after the 11 bytes of TPKT and X.224 header ("Cookie:" and the name
    in any case, spaces after the colon); ``None`` when absent or not complete yet."""
    n = len(data)
    i = 11
    if n - i <= 7 or data[i:i + 7].lower() != b"cookie:":
        return None
    i += 7
    while i < n and data[i] == 0x20:
        i += 1
    if n - i <= len(name) or data[i:i + len(name)].lower() != name.lower():
        return None
    i += len(name)
    if i >= n or data[i] != 0x3D:
        return None
    i += 1
    start = i
    while i < n and data[i] != 13:
        i += 1
    if n - i < 2 or data[i + 1] != 10:
        return None
    return data[start:i]


def _as_bytes(v: str | bytes) -> bytes:
    if isinstance(v, bytes):
        return v
    try:
        return v.encode("latin-1")
    except UnicodeEncodeError:
        return v.encode("utf-8", "surrogateescape")


def compile_key(balance: Any, function: str = "sdbm", avalanche: bool = False) -> KeyFn | None:
    """Build ``key(req, params) -> hash | None`` for a ``config.model.Balance`` (None = not a hash
    algorithm). ``None`` from the key function means "key absent: use the round-robin fallback".

    HAProxy skips hashing (hash 0) when a single server is usable for source/uri/hdr/rdp-cookie.
    """
    from haproxy_py.lb.hashfn import full_hash, make_hasher

    algo = balance.algorithm
    hasher = make_hasher(function, avalanche)

    if algo == "source":
        def key_source(req: Any, params: Any) -> int | None:
            if params.tot_used == 1:
                return 0
            h = source_hash(req.src)
            if h is None:
                return None
            return full_hash(h) if avalanche else h
        return key_source

    if algo == "uri":
        whole = balance.uri_whole
        length = balance.uri_len
        depth = balance.uri_depth
        path_only = balance.uri_path_only

        def key_uri(req: Any, params: Any) -> int | None:
            if params.tot_used == 1:
                return 0
            u = req.uri
            if path_only:
                u = path_of(u) if isinstance(u, str) else _as_bytes(path_of(u.decode("latin-1")))
            return hasher(uri_key(_as_bytes(u), whole=whole, length=length, depth=depth))
        return key_uri

    if algo == "url_param":
        name = _as_bytes(balance.param or "")
        check_post = balance.check_post
        limit = balance.check_post_max

        def key_param(req: Any, params: Any) -> int | None:
            v = url_param(_as_bytes(req.uri), name)
            if v is None and check_post and req.method == "POST" and req.body:
                v = url_param_post(req.body, name, limit)
            return None if v is None else hasher(v)
        return key_param

    if algo == "hdr":
        hname = balance.header or ""
        dom = balance.use_domain_only

        def key_hdr(req: Any, params: Any) -> int | None:
            if params.tot_used == 1:
                return 0
            v = first_header_value(req.get_header, hname)
            if not v:
                return None
            b = _as_bytes(v)
            return hasher(domain_only(b) if dom else b)
        return key_hdr

    if algo == "rdp-cookie":
        cname = _as_bytes(balance.rdp_cookie or "mstshash")

        def key_rdp(req: Any, params: Any) -> int | None:
            raw = req.rdp_cookie
            if not raw:
                return None
            v = rdp_cookie(raw, cname) if raw[:2] == b"\x03\x00" else raw
            if not v:
                return None
            if params.tot_used == 1:
                return 0
            return hasher(v)
        return key_rdp

    if algo == "hash":
        fetch = simple_fetch(balance.expression or "")

        def key_expr(req: Any, params: Any) -> int | None:
            smp = req.sample
            if smp is None and fetch is not None:
                smp = fetch(req)
            if smp is None:
                return None
            return hasher(smp)
        return key_expr

    return None


def _query(uri: str) -> str | None:
    q = uri.find("?")
    return None if q < 0 else uri[q + 1:]


def _path(uri: str) -> str:
    p = path_of(uri)
    q = p.find("?")
    return p if q < 0 else p[:q]


def _src_bin(src: str) -> bytes | None:
    try:
        return ipaddress.ip_address(src).packed
    except ValueError:
        return None


def simple_fetch(expr: str) -> Callable[[Any], bytes | None] | None:
    """``balance hash EXPR`` for simple sample fetches without converters, evaluated on an
    ``LbRequest`` and converted to binary as HAProxy does (``src``: the 4 or 16 address bytes).
    Supported: src, path, url, query, method, req.hdr(N)/hdr(N), url_param(N)/urlp(N),
    req.cook(N)/cook(N). Anything else returns None (the engine must then fill ``req.sample``)."""
    import re

    m = re.fullmatch(r"\s*([a-z_.]+)(?:\(([^),]*)\))?\s*", expr)
    if not m:
        return None
    name, arg = m.group(1), m.group(2) or ""
    if name == "src":
        return lambda req: _src_bin(req.src)
    if name == "path":
        return lambda req: _as_bytes(_path(req.uri))
    if name == "url":
        return lambda req: _as_bytes(req.uri)
    if name == "query":
        def f_query(req: Any) -> bytes | None:
            q = _query(req.uri)
            return None if q is None else _as_bytes(q)
        return f_query
    if name == "method":
        return lambda req: _as_bytes(req.method)
    if name in ("req.hdr", "hdr", "req.fhdr") and arg:
        def f_hdr(req: Any) -> bytes | None:
            # outside ACLs req.hdr() returns the last comma-separated value (occurrence -1);
            # req.fhdr() the whole line
            v = req.get_header(arg)
            if v is None:
                return None
            if name != "req.fhdr":
                v = v.rsplit(",", 1)[-1].strip(" \t")
            return _as_bytes(v)
        return f_hdr
    if name in ("url_param", "urlp") and arg:
        pname = _as_bytes(arg)
        return lambda req: url_param(_as_bytes(req.uri), pname)
    if name in ("req.cook", "cook") and arg:
        def f_cook(req: Any) -> bytes | None:
            v = req.get_header("cookie")
            if v is None:
                return None
            for part in v.split(";"):
                k, eq, val = part.strip().partition("=")
                if eq and k == arg:
                    return _as_bytes(val)
            return None
        return f_cook
    return None
