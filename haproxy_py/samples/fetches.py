"""Sample fetches: internal, layer 4 and HTTP/1 (request and response heads). Pure.

Each function is ``fn(txn, args) -> list | None`` (see :mod:`.core`); ``args`` were checked and
converted at load time. Semantics follow HAProxy 2.6 (checked against it by
``tests/differential/test_samples_vs_haproxy.py``): header fetches split values on commas, use
the last occurrence in an expression and every one in an ACL; a negative occurrence counts from
the last; ``url_param`` uses the first.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import random
from typing import Any

from ..http.message import Headers
from ..lb.hashfn import full_hash, sdbm
from .core import FETCHES, alias, fetch
from .txn import Txn, var_name_error
from .types import Sample, parse_int

T = "tests/unit/test_samples_fetch.py::"
D = "tests/differential/test_samples_vs_haproxy.py::test_fetches_vs_haproxy"
D_RT = "tests/differential/test_samples_vs_haproxy.py::test_proxy_settings_vs_haproxy"

_rng = random.Random()


# --------------------------------------------------------------------------- internal / constants


@fetch("always_true", test=T + "test_internal_fetches")
def f_true(txn: Txn, args: tuple) -> list:
    return [True]


@fetch("always_false", test=T + "test_internal_fetches")
def f_false(txn: Txn, args: tuple) -> list:
    return [False]


@fetch("int", test=D)
def f_int(txn: Txn, args: tuple) -> list:
    return [args[0]]


@fetch("str", test=D)
def f_str(txn: Txn, args: tuple) -> list:
    return [args[0].encode("latin1")]


def _prep_bool(a: tuple) -> tuple:
    v = {"true": True, "1": True, "false": False, "0": False}.get(a[0])
    if v is None:
        raise ValueError("Expects 'true', 'false', '0' or '1'.")
    return (v,)


@fetch("bool", test=T + "test_internal_fetches", prepare=_prep_bool)
def f_bool(txn: Txn, args: tuple) -> list:
    return [args[0]]


def _prep_bin(a: tuple) -> tuple:
    try:
        return (bytes.fromhex(a[0]),)
    except ValueError:
        raise ValueError(f"failed to parse '{a[0]}' as type 'binary'") from None


@fetch("bin", test=D, prepare=_prep_bin)
def f_bin(txn: Txn, args: tuple) -> list:
    return [args[0]]


@fetch("ipv4", test=D)
def f_ipv4(txn: Txn, args: tuple) -> list:
    return [args[0]]


@fetch("ipv6", test=D)
def f_ipv6(txn: Txn, args: tuple) -> list:
    return [args[0]]


@fetch("meth", test=T + "test_internal_fetches", prepare=lambda a: (a[0].encode("latin1"),))
def f_meth(txn: Txn, args: tuple) -> list:
    return [args[0]]


@fetch("env", test=T + "test_internal_fetches")
def f_env(txn: Txn, args: tuple) -> list | None:
    v = os.environ.get(args[0])
    return None if v is None else [v.encode("latin1", "replace")]


def _prep_date(a: tuple) -> tuple:
    off = a[0] if a else 0
    unit = a[1] if len(a) > 1 else "s"
    if unit not in ("s", "ms", "us"):
        raise ValueError(f"expects 's', 'ms' or 'us', got '{unit}'")
    return (off, unit)


@fetch("date", test=T + "test_internal_fetches", prepare=_prep_date)
def f_date(txn: Txn, args: tuple) -> list:
    off, unit = args
    w = txn.wall
    if unit == "s":
        return [int(w) + off]
    # the offset is in the unit asked for (2.6: date(10,ms) is 10 ms later)
    if unit == "ms":
        return [int(w * 1000) + off]
    return [int(w * 1_000_000) + off]


@fetch("date_us", test=T + "test_internal_fetches")
def f_date_us(txn: Txn, args: tuple) -> list:
    return [int(round(txn.wall * 1_000_000)) % 1_000_000]


@fetch("hostname", test=T + "test_internal_fetches")
def f_hostname(txn: Txn, args: tuple) -> list:
    return [txn.hostname.encode("latin1", "replace")]


@fetch("rand", test=T + "test_internal_fetches")
def f_rand(txn: Txn, args: tuple) -> list:
    rng = args[0] if args else 1 << 32
    return [(_rng.getrandbits(32) * rng) >> 32]


def _prep_var_name(a: tuple) -> tuple:
    err = var_name_error(a[0])
    if err is not None:
        raise ValueError(err + ".")
    return a


@fetch("var", test=T + "test_var_fetch", prepare=_prep_var_name)
def f_var(txn: Txn, args: tuple) -> list | None:
    s = txn.get_var(args[0])
    if s is None and len(args) > 1 and args[0].partition(".")[0] not in txn.NO_VARS:
        # 2.6: the default stands for a missing variable, not for a scope the context lacks
        return [Sample("str", args[1].encode("latin1"))]
    return None if s is None else [s]


# --------------------------------------------------------------------------- runtime facts


def _be(txn: Txn, args: tuple) -> str:
    return args[0] if args else txn.backend


def _rt(name: str, with_now: bool = False):
    def fn(txn: Txn, args: tuple) -> list | None:
        rt = txn.runtime
        if rt is None:
            return None
        m = getattr(rt, name)
        v = m(_be(txn, args), txn.now) if with_now else m(_be(txn, args))
        return None if v is None else [v]
    return fn


def _fe_rt(name: str, with_now: bool = False):
    def fn(txn: Txn, args: tuple) -> list | None:
        rt = txn.runtime
        if rt is None:
            return None
        fe = args[0] if args else txn.frontend
        m = getattr(rt, name)
        v = m(fe, txn.now) if with_now else m(fe)
        return None if v is None else [v]
    return fn


def _srv_rt(name: str, with_now: bool = False):
    def fn(txn: Txn, args: tuple) -> list | None:
        rt = txn.runtime
        if rt is None:
            return None
        be, _, srv = args[0].rpartition("/")
        be = be or txn.backend
        m = getattr(rt, name)
        v = m(be, srv, txn.now) if with_now else m(be, srv)
        return None if v is None else [v]
    return fn


for _n in ("nbsrv", "be_conn", "be_conn_free", "connslots", "queue", "avg_queue"):
    fetch(_n, test=T + "test_runtime_fetches")(_rt(_n))
fetch("be_sess_rate", test=T + "test_runtime_fetches")(_rt("be_sess_rate", True))
fetch("fe_conn", test=T + "test_runtime_fetches")(_fe_rt("fe_conn"))
fetch("fe_req_rate", test=T + "test_runtime_fetches")(_fe_rt("fe_req_rate", True))
fetch("fe_sess_rate", test=T + "test_runtime_fetches")(_fe_rt("fe_sess_rate", True))
for _n in ("srv_conn", "srv_conn_free", "srv_is_up", "srv_queue", "srv_weight", "srv_uweight",
           "srv_iweight"):
    fetch(_n, test=T + "test_runtime_fetches")(_srv_rt(_n))
fetch("srv_sess_rate", test=T + "test_runtime_fetches")(_srv_rt("srv_sess_rate", True))


@fetch("stopping", test=T + "test_runtime_fetches")
def f_stopping(txn: Txn, args: tuple) -> list | None:
    return None if txn.runtime is None else [bool(txn.runtime.stopping())]


def _id_of(kind: str):
    def fn(txn: Txn, args: tuple) -> list | None:
        rt = txn.runtime
        if rt is None:
            return None
        if kind == "fe":
            v = rt.proxy_id(txn.frontend)
        elif kind == "be":
            v = rt.proxy_id(txn.backend)
        else:
            if not txn.server:
                return None
            v = rt.server_id(txn.backend, txn.server)
        return None if v is None else [v]
    return fn


fetch("fe_id", test=T + "test_runtime_fetches")(_id_of("fe"))
fetch("be_id", test=T + "test_runtime_fetches")(_id_of("be"))
fetch("srv_id", test=T + "test_runtime_fetches")(_id_of("srv"))


@fetch("fe_name", test=T + "test_l4_fetches")
def f_fe_name(txn: Txn, args: tuple) -> list | None:
    return [txn.frontend.encode("latin1")] if txn.frontend else None


@fetch("be_name", test=T + "test_l4_fetches")
def f_be_name(txn: Txn, args: tuple) -> list | None:
    return [txn.backend.encode("latin1")] if txn.backend else None


@fetch("srv_name", test=T + "test_l4_fetches")
def f_srv_name(txn: Txn, args: tuple) -> list | None:
    return [txn.server.encode("latin1")] if txn.server else None


# --------------------------------------------------------------------------- layer 4


def _addr(ip: Any) -> list | None:
    return None if ip is None else [ip]


@fetch("src", test=D, out="addr")
def f_src(txn: Txn, args: tuple) -> list | None:
    return _addr(txn.src_ip())


@fetch("dst", test=T + "test_l4_fetches", out="addr")
def f_dst(txn: Txn, args: tuple) -> list | None:
    return _addr(txn.dst_ip())


@fetch("src_port", test=T + "test_l4_fetches")
def f_src_port(txn: Txn, args: tuple) -> list | None:
    # 2.6: port 0 (a PROXY header's, set-src-port 0) is no sample
    return None if txn.src is None or not txn.src_port else [txn.src_port]


@fetch("dst_port", test=T + "test_l4_fetches")
def f_dst_port(txn: Txn, args: tuple) -> list | None:
    return None if txn.dst is None or not txn.dst_port else [txn.dst_port]




# --------------------------------------------------------------------------- HTTP request line


def _req(fn):
    def wrapped(txn: Txn, args: tuple) -> list | None:
        r = txn.req
        if r is None:
            return None
        return fn(r, args, txn)
    wrapped.__name__ = fn.__name__
    return wrapped


def _one(v: Any) -> list | None:
    return None if v is None else [v]


fetch("method", test=D)(_req(lambda r, a, t: [r.method]))
fetch("path", test=D)(_req(lambda r, a, t: [r.path]))
fetch("url", test=D)(_req(lambda r, a, t: [r.uri]))
fetch("query", test=D)(_req(lambda r, a, t: _one(r.query)))
fetch("req.ver", test=D)(_req(lambda r, a, t: [r.version[5:] if r.version[:5] == b"HTTP/" else r.version]))
alias("req_ver", "req.ver", test=D)
fetch("http_first_req", test=T + "test_http_request_fetches")(
    _req(lambda r, a, t: [bool(t.first_req)]))
# req.proto_http: true once an HTTP request was parsed. In TCP mode haproxy-py has no payload to
# inspect (tcp-request inspect-delay is not implemented), so it is false there, as it is in 2.6
# for a connection evaluated before any data arrived
fetch("req.proto_http", test=T + "test_http_request_fetches")(lambda t, a: [t.req is not None])
alias("req_proto_http", "req.proto_http", test=T + "test_http_request_fetches")


def _pathq(r: Any) -> bytes:
    u = r.uri
    if u[:1] == b"/":
        return u
    s = u.find(b"://")
    if s < 0:
        return b""
    p = u.find(b"/", s + 3)
    return b"" if p < 0 else u[p:]


fetch("pathq", test=D)(_req(lambda r, a, t: [_pathq(r)]))


def _host(r: Any) -> bytes | None:
    return r.get(b"host")


def _base(r: Any) -> bytes:
    h = _host(r)
    return r.path if h is None else h + r.path


fetch("base", test=D)(_req(lambda r, a, t: [_base(r)]))
fetch("baseq", test=D)(_req(lambda r, a, t: [(_host(r) or b"") + _pathq(r)]))


def _hash32(data: bytes) -> int:
    return full_hash(sdbm(data))


fetch("base32", test=D)(_req(lambda r, a, t: [_hash32(_base(r))]))
fetch("url32", test=D)(_req(lambda r, a, t: [_hash32((_host(r) or b"") + r.uri)]))


def _with_src(h: int, txn: Txn) -> list | None:
    ip = txn.src_ip()
    if ip is None:
        return None
    return [h.to_bytes(4, "big") + ip.packed]


fetch("base32+src", test=D)(_req(lambda r, a, t: _with_src(_hash32(_base(r)), t)))
fetch("url32+src", test=D)(_req(lambda r, a, t: _with_src(_hash32((_host(r) or b"") + r.uri), t)))


def url_param_values(uri: bytes, name: bytes, delim: bytes = b"?") -> list[bytes]:
    """Values of ``name`` in the parameters of ``uri``, in order, as 2.6 finds them: the list starts
    after the first ``delim`` ('?' unless a delimiter is given); parameters are separated by '&',
    ';' and ``delim``; a parameter without '=' has no value and never matches; an empty ``name``
    matches every parameter that has one."""
    q = uri.find(delim)
    if q < 0:
        return []
    rest = uri[q + 1:]
    seps = {0x26, 0x3B, delim[0]}
    out = []
    start = 0
    n = len(rest)
    for i in range(n + 1):
        if i == n or rest[i] in seps:
            part = rest[start:i]
            k, eq, v = part.partition(b"=")
            if eq and (not name or k == name):
                out.append(v)
            start = i + 1
    return out


def _urlp(r: Any, a: tuple, t: Txn) -> list | None:
    name = a[0].encode("latin1") if a else b""
    delim = a[1].encode("latin1")[:1] if len(a) > 1 and a[1] else b"?"
    return url_param_values(r.uri, name, delim) or None


fetch("url_param", test=D)(_req(_urlp))
alias("urlp", "url_param", test=D)


def _lenient_int(v: bytes) -> int:
    """2.6's ``strl2ic`` for the ``*_val`` fetches, quirks included: digits are read until a
    character above '9' (a character below '0' is added as a negative digit), on a C int."""
    i = 0
    if v[:1] == b"-":
        for c in v[1:]:
            j = c - 48
            if j > 9:
                break
            i = i * 10 - j
    else:
        for c in v:
            j = c - 48
            if j > 9:
                break
            i = i * 10 + j
    i &= 0xFFFFFFFF
    return i - (1 << 32) if i >> 31 else i


def _urlp_val(r: Any, a: tuple, t: Txn) -> list | None:
    vals = _urlp(r, a, t)
    if not vals:
        return None
    return [_lenient_int(v) for v in vals]


fetch("urlp_val", test=D)(_req(_urlp_val))


# --------------------------------------------------------------------------- headers


def _occ(values: list, occ: int) -> list:
    """Occurrence argument: 0/absent = all (the expression then uses the last), N = Nth from the
    first, -N = Nth from the last."""
    if occ == 0:
        return values
    if abs(occ) > len(values):
        return []
    return [values[occ - 1]] if occ > 0 else [values[occ]]


def _split(v: bytes) -> list[bytes]:
    if b"," not in v:
        return [v.strip(b" \t")]
    return [p.strip(b" \t") for p in v.split(b",")]


def seen_headers(h: Headers) -> list[tuple[bytes, bytes]]:
    """The header list as 2.6's fetches see it: its H1 parser takes the ``close`` and
    ``keep-alive`` tokens out of Connection headers (and drops the emptied ones)."""
    headers = h.headers
    for n, _ in headers:
        if len(n) == 10 and n.lower() == b"connection":
            break
    else:
        return headers
    out = []
    for n, v in headers:
        if len(n) == 10 and n.lower() == b"connection":
            keep = [t for t in (x.strip(b" \t") for x in v.split(b",")) if t and t.lower() not in
                    (b"close", b"keep-alive")]
            if not keep:
                continue
            v = b", ".join(keep)
        out.append((n, v))
    return out


def hdr_elems(h: Headers, name: bytes) -> list[bytes]:
    key = name.lower()
    klen = len(key)
    out: list[bytes] = []
    for n, v in seen_headers(h):
        if len(n) == klen and n.lower() == key:  # the length test spares most lower() calls
            out.extend(_split(v))
    return out


def _full(h: Headers, name: bytes) -> list[bytes]:
    key = name.lower()
    klen = len(key)
    return [v for n, v in seen_headers(h) if len(n) == klen and n.lower() == key]


def _name_arg(a: tuple) -> bytes:
    return a[0].encode("latin1") if a else b""


def _hdr_of(which: str, full: bool):
    def fn(txn: Txn, a: tuple) -> list | None:
        h = txn.req if which == "req" else txn.res
        if h is None:
            return None
        if not a:  # "hdr" without parentheses: no header (2.6)
            return None
        name = _name_arg(a)
        if not name:  # "hdr()": every header
            seen = seen_headers(h)
            vals = [v for _, v in seen] if full else [e for _, v in seen for e in _split(v)]
        else:
            vals = _full(h, name) if full else hdr_elems(h, name)
        return _occ(vals, a[1] if len(a) > 1 else 0) or None
    return fn


def _cnt_of(which: str, full: bool):
    def fn(txn: Txn, a: tuple) -> list | None:
        h = txn.req if which == "req" else txn.res
        if h is None:
            return None
        name = _name_arg(a)
        if not name:
            seen = seen_headers(h)
            if full:
                return [len(seen)]
            return [sum(len(_split(v)) for _, v in seen)]
        return [len(_full(h, name) if full else hdr_elems(h, name))]
    return fn


def _val_of(which: str):
    get = _hdr_of(which, False)

    def fn(txn: Txn, a: tuple) -> list | None:
        vals = get(txn, a)
        if not vals:
            return None
        return [_lenient_int(v) for v in vals]
    return fn


def _to_ip(v: bytes) -> Any:
    s = v.decode("latin1")
    try:
        return ipaddress.IPv4Address(s)
    except ValueError:
        pass
    host, sep, port = s.rpartition(":")
    if sep and "." in host and port.isdigit():
        try:
            return ipaddress.IPv4Address(host)
        except ValueError:
            pass
    try:
        return ipaddress.IPv6Address(s)
    except ValueError:
        return None


def _ip_of(which: str):
    get = _hdr_of(which, False)

    def fn(txn: Txn, a: tuple) -> list | None:
        vals = get(txn, a)
        if not vals:
            return None
        out = [i for i in map(_to_ip, vals) if i is not None]
        return out or None
    return fn


_HT = T + "test_header_fetches"
fetch("req.hdr", test=D, pick="last")(_hdr_of("req", False))
_req_hdr, _res_hdr = _hdr_of("req", False), _hdr_of("res", False)


@fetch("hdr", test=D, pick="last")
def f_hdr(txn: Txn, a: tuple) -> list | None:
    """2.6's hdr(): the request's header, or the response's once the response is there."""
    return (_res_hdr if txn.res is not None else _req_hdr)(txn, a)
fetch("req.fhdr", test=D, pick="last")(_hdr_of("req", True))
fetch("req.hdr_cnt", test=D)(_cnt_of("req", False))
alias("hdr_cnt", "req.hdr_cnt", test=D)
fetch("req.fhdr_cnt", test=D)(_cnt_of("req", True))
fetch("req.hdr_val", test=D, pick="last")(_val_of("req"))
alias("hdr_val", "req.hdr_val", test=D)
fetch("req.hdr_ip", test=D, pick="last", out="addr")(_ip_of("req"))
alias("hdr_ip", "req.hdr_ip", test=D)
fetch("res.hdr", test=_HT, pick="last")(_hdr_of("res", False))
alias("shdr", "res.hdr", test=_HT)
fetch("res.fhdr", test=_HT, pick="last")(_hdr_of("res", True))
fetch("res.hdr_cnt", test=_HT)(_cnt_of("res", False))
alias("shdr_cnt", "res.hdr_cnt", test=_HT)
fetch("res.fhdr_cnt", test=_HT)(_cnt_of("res", True))
fetch("res.hdr_val", test=_HT, pick="last")(_val_of("res"))
alias("shdr_val", "res.hdr_val", test=_HT)
fetch("res.hdr_ip", test=_HT, pick="last", out="addr")(_ip_of("res"))
alias("shdr_ip", "res.hdr_ip", test=_HT)


def _hdrs(which: str):
    def fn(txn: Txn, a: tuple) -> list | None:
        h = txn.req if which == "req" else txn.res
        if h is None:
            return None
        return [b"".join(n.lower() + b": " + v + b"\r\n" for n, v in seen_headers(h)) + b"\r\n"]
    return fn


def _hdr_names(which: str):
    def fn(txn: Txn, a: tuple) -> list | None:
        h = txn.req if which == "req" else txn.res
        if h is None:
            return None
        d = a[0].encode("latin1") if a and a[0] else b","
        return [d.join(n.lower() for n, _ in seen_headers(h))]
    return fn


def encode_varint(n: int) -> bytes:
    """HAProxy's var-int: below 240 one byte; else the low 4 bits with 0xF0, then 7 bits a byte."""
    if n < 240:
        return bytes((n,))
    out = bytearray([(n & 0xFF) | 240])
    n = (n - 240) >> 4
    while n >= 128:
        out.append((n & 0xFF) | 128)
        n = (n - 128) >> 7
    out.append(n)
    return bytes(out)


def _hdrs_bin(which: str):
    def fn(txn: Txn, a: tuple) -> list | None:
        h = txn.req if which == "req" else txn.res
        if h is None:
            return None
        out = bytearray()
        for n, v in seen_headers(h):
            name = n.lower()
            out += encode_varint(len(name)) + name + encode_varint(len(v)) + v
        return [bytes(out) + b"\x00\x00"]
    return fn


fetch("req.hdrs_bin", test=D)(_hdrs_bin("req"))
fetch("res.hdrs_bin", test=_HT)(_hdrs_bin("res"))
fetch("req.hdrs", test=D)(_hdrs("req"))
fetch("res.hdrs", test=_HT)(_hdrs("res"))
fetch("req.hdr_names", test=D)(_hdr_names("req"))
fetch("res.hdr_names", test=_HT)(_hdr_names("res"))


# --------------------------------------------------------------------------- cookies


def cookies(h: Headers, header: bytes, name: bytes = b"") -> list[tuple[bytes, bytes]]:
    """(name, value) of each cookie, in order, as 2.6 finds them: names starting with '$' are
    attributes, not cookies; looking up ``name`` in a header no longer than ``name=`` finds nothing
    (2.6 quirk); in a Set-Cookie header a named lookup sees only the cookie (first pair), while
    2.6 counts every ``k=v`` pair, attributes included, when no name is given."""
    out = []
    for v in _full(h, header):
        if name and len(v) <= len(name) + 1:
            continue
        for part in v.split(b";"):
            k, eq, val = part.strip(b" \t").partition(b"=")
            k = k.strip(b" \t")
            if eq and k[:1] != b"$":
                out.append((k, val.strip(b" \t")))
            if header == b"set-cookie" and name:
                break  # a named lookup sees each Set-Cookie's own cookie; 2.6 counts every pair without
    return out


def _cook_of(which: str):
    hdr = b"cookie" if which == "req" else b"set-cookie"

    def fn(txn: Txn, a: tuple) -> list | None:
        h = txn.req if which == "req" else txn.res
        if h is None:
            return None
        name = _name_arg(a)
        pairs = cookies(h, hdr, name)
        if not name:
            return [pairs[0][1]] if pairs else None
        return [v for k, v in pairs if k == name] or None
    return fn


def _cook_cnt_of(which: str):
    hdr = b"cookie" if which == "req" else b"set-cookie"

    def fn(txn: Txn, a: tuple) -> list | None:
        h = txn.req if which == "req" else txn.res
        if h is None:
            return None
        name = _name_arg(a)
        return [sum(1 for k, _ in cookies(h, hdr, name) if not name or k == name)]
    return fn


def _cook_val_of(which: str):
    get = _cook_of(which)

    def fn(txn: Txn, a: tuple) -> list | None:
        vals = get(txn, a)
        if not vals:
            return None
        return [_lenient_int(v) for v in vals]
    return fn


_CT = T + "test_cookie_fetches"
fetch("req.cook", test=D, pick="last")(_cook_of("req"))
alias("cook", "req.cook", test=D)
alias("cookie", "req.cook", test=_CT)
fetch("req.cook_cnt", test=D)(_cook_cnt_of("req"))
alias("cook_cnt", "req.cook_cnt", test=D)
fetch("req.cook_val", test=D, pick="last")(_cook_val_of("req"))
alias("cook_val", "req.cook_val", test=D)
fetch("res.cook", test=_CT, pick="last")(_cook_of("res"))
alias("scook", "res.cook", test=_CT)
fetch("res.cook_cnt", test=_CT)(_cook_cnt_of("res"))
alias("scook_cnt", "res.cook_cnt", test=_CT)
fetch("res.cook_val", test=_CT, pick="last")(_cook_val_of("res"))
alias("scook_val", "res.cook_val", test=_CT)


# --------------------------------------------------------------------------- response line


@fetch("status", test=T + "test_response_fetches")
def f_status(txn: Txn, args: tuple) -> list | None:
    return None if txn.res is None else [txn.res.status]


@fetch("res.comp", test="tests/differential/test_compression_vs_haproxy.py::test_compression_as_haproxy")
def f_res_comp(txn: Txn, args: tuple) -> list | None:
    """Whether the response is compressed (2.6 decides on the server's head, before the rules)."""
    return [txn.res_comp is not None]


@fetch("res.comp_algo", test="tests/differential/test_compression_vs_haproxy.py::test_compression_as_haproxy")
def f_res_comp_algo(txn: Txn, args: tuple) -> list | None:
    return None if txn.res_comp is None else [txn.res_comp.encode()]


@fetch("res.cache_hit", test="tests/integration/test_cache_vs_haproxy.py::test_cache_as_haproxy")
def f_res_cache_hit(txn: Txn, args: tuple) -> list | None:
    """Whether the response came from the cache (http-request cache-use found it)."""
    return [getattr(txn, "cache_hit", None) is not None]


@fetch("res.cache_name", test="tests/integration/test_cache_vs_haproxy.py::test_cache_as_haproxy")
def f_res_cache_name(txn: Txn, args: tuple) -> list | None:
    """The name of the cache the response came from; no sample otherwise."""
    hit = getattr(txn, "cache_hit", None)
    return None if hit is None else [hit[0].name.encode()]


@fetch("res.ver", test=T + "test_response_fetches")
def f_res_ver(txn: Txn, args: tuple) -> list | None:
    if txn.res is None:
        return None
    v = txn.res.version
    return [v[5:] if v[:5] == b"HTTP/" else v]


alias("resp_ver", "res.ver", test=T + "test_response_fetches")


def _b(v: Any) -> bytes:
    return v.encode("latin1", "replace") if isinstance(v, str) else v


@fetch("unique-id", test=T + "test_http_request_fetches")
def f_unique_id(txn: Txn, args: tuple) -> list | None:
    uid = txn.get_unique_id()  # made from unique-id-format on first use
    return None if uid is None else [_b(uid)]


# --------------------------------------------------------------------------- request body
# what of the body the engine has when the rule runs: all of it after 'option http-buffer-request'
# or 'http-request wait-for-body', else the bytes that came with the head (as 2.6 finds them in
# its buffer); de-chunked
D_BODY = "tests/differential/test_http_features_vs_haproxy.py::test_request_body_fetches_as_haproxy"


@fetch("req.body", test=D_BODY)
def f_req_body(txn: Txn, args: tuple) -> list | None:
    b = txn.req_body
    return None if b is None else [b]


@fetch("req.body_len", test=D_BODY)
def f_req_body_len(txn: Txn, args: tuple) -> list | None:
    b = txn.req_body
    return None if b is None else [len(b)]


@fetch("req.body_size", test=D_BODY)
def f_req_body_size(txn: Txn, args: tuple) -> list | None:
    if txn.req_body is None:
        return None
    n = txn.req_body_size
    return [len(txn.req_body) if n is None else n]


RB = "tests/differential/test_response_body_vs_haproxy.py::test_response_body_fetches_and_wait_as_haproxy"


@fetch("res.body", test=RB)
def f_res_body(txn: Txn, args: tuple) -> list | None:
    """What of the response body came with its head, or all of it after http-response
    wait-for-body (de-chunked), as the request's."""
    b = txn.res_body
    return None if b is None else [b]


@fetch("res.body_len", test=RB)
def f_res_body_len(txn: Txn, args: tuple) -> list | None:
    b = txn.res_body
    return None if b is None else [len(b)]


@fetch("res.body_size", test=RB)
def f_res_body_size(txn: Txn, args: tuple) -> list | None:
    if txn.res_body is None:
        return None
    n = txn.res_body_size
    return [len(txn.res_body) if n is None else n]


@fetch("req.body_param", test=D_BODY)
def f_req_body_param(txn: Txn, args: tuple) -> list | None:
    b = txn.req_body
    if b is None:
        return None
    name = args[0].encode("latin1") if args and args[0] else b""
    out = []
    for part in b.split(b"&"):
        k, eq, v = part.partition(b"=")
        if eq and (not name or k == name):
            out.append(v)
    return out or None


def _cap(which: str):
    def fn(txn: Txn, args: tuple) -> list | None:
        caps = txn.req_caps if which == "req" else txn.res_caps
        if caps is None and txn.rec is not None:  # captures live in the engine's log record
            caps = getattr(txn.rec, "req_caps" if which == "req" else "res_caps", None)
        i = args[0]
        if caps is None or i < 0 or i >= len(caps) or caps[i] is None:
            return None
        return [_b(caps[i])]
    return fn


fetch("capture.req.hdr", test="tests/differential/test_samples_vs_haproxy.py::test_capture_fetches_vs_haproxy")(_cap("req"))
fetch("capture.res.hdr", test="tests/differential/test_samples_vs_haproxy.py::test_capture_fetches_vs_haproxy")(_cap("res"))


def _req_line(txn: Txn) -> tuple[bytes, bytes | None, bytes] | None:
    """(method, uri, version) of the request as received: the line the log record kept (cut at
    'tune.http.logurilen': no uri when the cut left no space after the method), else the head
    (which rules may have rewritten when nothing logs the request line)."""
    line = getattr(txn.rec, "request_line", None) if txn.rec is not None else None
    if line is not None:
        meth, sp, rest = line.encode("latin1").partition(b" ")
        uri, _, ver = rest.partition(b" ")
        return meth, uri if sp else None, ver
    r = txn.req
    return None if r is None else (r.method, r.uri, r.version)


def _cap_line(which: int):
    def fn(txn: Txn, args: tuple) -> list | None:
        p = _req_line(txn)
        if p is None:
            return None
        if which == 2:  # 2.6 answers from its version flag: 1.1 or 1.0
            ver = txn.req.version if txn.req is not None else p[2]
            return [b"HTTP/1.1" if ver == b"HTTP/1.1" else b"HTTP/1.0"]
        u = p[which]
        if u is None:
            return None
        if which == 1 and u[:1] != b"/" and b"://" in u:
            # 2.6 captured the absolute-form URI after its normalization: the path and query
            slash = u.find(b"/", u.find(b"://") + 3)
            return [u[slash:] if slash >= 0 else b"/"]
        return [u]
    return fn


D_CAPL = "tests/differential/test_samples_vs_haproxy.py::test_capture_line_fetches_vs_haproxy"

#: set once an expression of the configuration uses capture.req.*: the engine then keeps every
#: request line as received (it does otherwise only when a log line or a unique-id needs it)
KEEP_REQUEST_LINE = [False]


def _note_capture(a: tuple) -> tuple:
    KEEP_REQUEST_LINE[0] = True
    return a


fetch("capture.req.method", test=D_CAPL, prepare=_note_capture)(_cap_line(0))
fetch("capture.req.uri", test=D_CAPL, prepare=_note_capture)(_cap_line(1))
fetch("capture.req.ver", test=D_CAPL, prepare=_note_capture)(_cap_line(2))


D_LASTRULE = "tests/differential/test_samples_vs_haproxy.py::test_last_rule_fetches_vs_haproxy"

#: set once an expression of the configuration uses last_rule_file/last_rule_line: the rule sets
#: then note where their final allow/deny/tarpit rule is (actions/rules.py); nothing otherwise
LAST_RULE_USED = [False]


def _note_last_rule(a: tuple) -> tuple:
    LAST_RULE_USED[0] = True
    return a


@fetch("last_rule_file", test=D_LASTRULE, prepare=_note_last_rule)
def f_last_rule_file(txn: Txn, args: tuple) -> list | None:
    """The file of the last rule that ended an HTTP rule set with allow, deny or tarpit (2.6 notes
    no other action: not redirect, return, auth, nor the tcp-request ones)."""
    lr = getattr(txn, "last_rule", None)
    return None if lr is None else [lr[0].encode("latin1")]


@fetch("last_rule_line", test=D_LASTRULE, prepare=_note_last_rule)
def f_last_rule_line(txn: Txn, args: tuple) -> list | None:
    lr = getattr(txn, "last_rule", None)
    return None if lr is None else [lr[1]]


@fetch("capture.res.ver", test=D_CAPL)
def f_capture_res_ver(txn: Txn, args: tuple) -> list | None:
    if txn.res is None:
        return None
    return [b"HTTP/1.1" if txn.res.version == b"HTTP/1.1" else b"HTTP/1.0"]


# --------------------------------------------------------------------------- frontend connection, URL host


fetch("fc_src", test=D, out="addr")(f_src)
fetch("fc_dst", test=D, out="addr")(f_dst)
fetch("fc_src_port", test=T + "test_l4_fetches")(f_src_port)
fetch("fc_dst_port", test=T + "test_l4_fetches")(f_dst_port)


def _url_authority(r: Any) -> bytes | None:
    u = r.uri
    s = u.find(b"://")
    if u[:1] == b"/" or s < 0:
        return None
    rest = u[s + 3:]
    end = len(rest)
    for ch in (b"/", b"?"):
        i = rest.find(ch)
        if 0 <= i < end:
            end = i
    auth = rest[:end]
    return auth.rpartition(b"@")[2]


def _url_ip(r: Any, a: tuple, t: Txn) -> list | None:
    auth = _url_authority(r)
    if auth is None:
        return None
    host = auth.rpartition(b":")[0] if b":" in auth else auth
    try:
        return [ipaddress.IPv4Address(host.decode("latin1"))]
    except ValueError:
        return None


def _url_port(r: Any, a: tuple, t: Txn) -> list | None:
    """As 2.6: only when the authority is an IPv4 address (a name or an IPv6 address gives
    nothing), the port cut to 16 bits, 80 when none is written."""
    if _url_ip(r, a, t) is None:
        return None
    auth = _url_authority(r)
    assert auth is not None
    if b":" in auth:
        n = parse_int(auth.rpartition(b":")[2])
        return [(n or 0) & 0xFFFF]
    return [80]


fetch("url_ip", test=T + "test_http_request_fetches")(_req(_url_ip))
fetch("url_port", test=T + "test_http_request_fetches")(_req(_url_port))


def _prep_uuid(a: tuple) -> tuple:
    if a and a[0] != 4:
        raise ValueError(f"Unsupported UUID version: '{a[0]}'")
    return (4,)


@fetch("uuid", test=T + "test_internal_fetches", prepare=_prep_uuid)
def f_uuid(txn: Txn, args: tuple) -> list:
    b = bytearray(_rng.getrandbits(128).to_bytes(16, "big"))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()]


# --------------------------------------------------------------------------- configured timeouts, default backend


def _timeout_of(side: str, name: str):
    def fn(txn: Txn, args: tuple) -> list | None:
        rt = txn.runtime
        if rt is None:
            return None
        v = rt.proxy_timeout(txn.frontend if side == "fe" else txn.backend, name)
        return None if v is None else [v]
    return fn


fetch("fe_client_timeout", test=D_RT)(_timeout_of("fe", "client"))
fetch("be_server_timeout", test=D_RT)(_timeout_of("be", "server"))
fetch("be_tunnel_timeout", test=D_RT)(_timeout_of("be", "tunnel"))


@fetch("fe_defbe", test=D_RT)
def f_fe_defbe(txn: Txn, args: tuple) -> list | None:
    rt = txn.runtime
    name = None if rt is None else rt.default_backend(txn.frontend)
    return [name.encode("latin1")] if name else None


# --------------------------------------------------------------------------- HTTP authentication

D_AUTH = "tests/differential/test_samples_vs_haproxy.py::test_http_auth_vs_haproxy"


def _authorization(txn: Txn, header: bytes = b"authorization") -> tuple[bytes, bytes, bytes] | None:
    """(scheme, user or token, password) of a Basic or Bearer Authorization header, as 2.6 reads
    it (scheme case-insensitive; no other scheme; a Basic value that is not base64 of
    ``user:password`` is none)."""
    r = txn.req
    if r is None or txn.res is not None:
        return None
    vals = _full(r, header)
    if not vals:
        return None
    scheme, _, rest = vals[0].strip(b" \t").partition(b" ")
    rest = rest.strip(b" \t")
    low = scheme.lower()
    if low == b"basic":
        try:
            raw = base64.b64decode(rest, validate=True)
        except (binascii.Error, ValueError):
            return None
        user, colon, pw = raw.partition(b":")
        if not colon:
            return None
        return (b"Basic", user, pw)
    if low == b"bearer":
        return (b"Bearer", rest, b"")
    return None


def _check_password(given: bytes, stored: str, insecure: bool) -> bool:
    if insecure:
        return given == stored.encode("latin1")
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
    except ImportError:  # pragma: no cover - Python without crypt(3)
        return False
    try:
        return bool(crypt.crypt(given.decode("latin1"), stored) == stored)
    except (OSError, ValueError):
        return False


@fetch("http_auth", test=D_AUTH)
def f_http_auth(txn: Txn, args: tuple) -> list | None:
    a = _authorization(txn)
    if a is None or a[0] != b"Basic" or txn.runtime is None:
        return None
    users = txn.runtime.userlist(args[0]) or ()
    user = a[1].decode("latin1")
    return [any(u == user and _check_password(a[2], pw, insecure) for u, pw, insecure in users)]


@fetch("http_auth_group", test=D_AUTH)
def f_http_auth_group(txn: Txn, args: tuple) -> list | None:
    """The user name when the credentials are valid in the userlist. In an ACL without '-m' or
    converters, 2.6 matches its patterns against that user's groups (acl/condition.py)."""
    ok = f_http_auth(txn, args)
    if not ok or not ok[0]:
        return None
    a = _authorization(txn)
    return None if a is None else [a[1]]


@fetch("http_auth_type", test=D_AUTH)
def f_http_auth_type(txn: Txn, args: tuple) -> list | None:
    a = _authorization(txn)
    return None if a is None else [a[0]]


@fetch("http_auth_user", test=D_AUTH)
def f_http_auth_user(txn: Txn, args: tuple) -> list | None:
    a = _authorization(txn)
    return None if a is None or a[0] != b"Basic" else [a[1]]


@fetch("http_auth_pass", test=D_AUTH)
def f_http_auth_pass(txn: Txn, args: tuple) -> list | None:
    a = _authorization(txn)
    return None if a is None or a[0] != b"Basic" else [a[2]]


@fetch("http_auth_bearer", test=D_AUTH)
def f_http_auth_bearer(txn: Txn, args: tuple) -> list | None:
    a = _authorization(txn, args[0].encode("latin1").lower() if args and args[0] else b"authorization")
    return None if a is None or a[0] != b"Bearer" else [a[1]]


# --------------------------------------------------------------------------- close alternatives, said with a refusal

FETCHES.alternatives.update({
})


# --------------------------------------------------------------------------- listener, process, connections

D_CONN = "tests/differential/test_samples_vs_haproxy.py::test_connection_fetches_vs_haproxy"


@fetch("so_id", test=D_CONN)
def f_so_id(txn: Txn, args: tuple) -> list | None:
    return [txn.so_id] if txn.so_id else None


@fetch("so_name", test=D_CONN)
def f_so_name(txn: Txn, args: tuple) -> list | None:
    return [txn.so_name.encode("latin1")] if txn.so_name else None


@fetch("thread", test=D_CONN)
def f_thread(txn: Txn, args: tuple) -> list:
    return [txn.runtime.thread() if txn.runtime is not None else 0]


# nbproc was removed from 2.5 on: 2.6 answers one process, the first
fetch("nbproc", test=D_CONN)(lambda txn, args: [1])
fetch("proc", test=D_CONN)(lambda txn, args: [1])
# set-priority-class / set-priority-offset (actions/prio.py): the stream's queue priority
_PRIO_T = "tests/integration/test_priority_vs_haproxy.py::test_priority_fetches_as_haproxy"
fetch("prio_class", test=_PRIO_T)(lambda txn, args: [(getattr(txn, "prio", None) or (0, 0))[0]])
fetch("prio_offset", test=_PRIO_T)(lambda txn, args: [(getattr(txn, "prio", None) or (0, 0))[1]])
# HTTP/1 on both sides (no HTTP/2 here); the server side only once connected
fetch("fc_http_major", test=D_CONN)(lambda txn, args: [1])


def _rec(txn: Txn, name: str) -> Any:
    return None if txn.rec is None else getattr(txn.rec, name, None)


@fetch("bc_http_major", test=D_CONN)
def f_bc_http_major(txn: Txn, args: tuple) -> list | None:
    return None if _rec(txn, "server_ip") is None else [1]


def _bc_addr(field: str):
    def fn(txn: Txn, args: tuple) -> list | None:
        v = _rec(txn, field)
        if v is None:
            return None
        try:
            return [ipaddress.ip_address(v)]
        except ValueError:
            return None
    return fn


def _bc_port(field: str):
    def fn(txn: Txn, args: tuple) -> list | None:
        v = _rec(txn, field)
        return None if v is None else [int(v)]
    return fn


fetch("bc_src", test=D_CONN, out="addr")(_bc_addr("backend_src_ip"))
fetch("bc_src_port", test=D_CONN)(_bc_port("backend_src_port"))
fetch("bc_dst", test=D_CONN, out="addr")(_bc_addr("server_ip"))
fetch("bc_dst_port", test=D_CONN)(_bc_port("server_port"))


def _cur_timeout(attr: str, name: str):
    """The server (tunnel) timeout the stream applies now: a set-timeout rule's value; during the
    request processing 2.6 has not applied the backend's yet (0), once connected it has."""
    def fn(txn: Txn, args: tuple) -> list | None:
        v = getattr(txn, attr, None)
        if v is not None:
            return [v]
        if txn.res is None or txn.runtime is None:
            return [0]
        t = txn.runtime.proxy_timeout(txn.backend, name)
        return [t or 0]
    return fn


fetch("cur_server_timeout", test=D_CONN)(_cur_timeout("srv_timeout", "server"))
fetch("cur_tunnel_timeout", test=D_CONN)(_cur_timeout("tunnel_timeout", "tunnel"))


def _is_local(which: str):
    def fn(txn: Txn, args: tuple) -> list | None:
        ip = txn.src if which == "src" else txn.dst
        if ip is None or txn.runtime is None:
            return None
        v = txn.runtime.is_local(ip)
        return None if v is None else [v]
    return fn


fetch("src_is_local", test=D_CONN)(_is_local("src"))
fetch("dst_is_local", test=D_CONN)(_is_local("dst"))
fetch("fc_src_is_local", test=D_CONN)(_is_local("src"))
fetch("fc_dst_is_local", test=D_CONN)(_is_local("dst"))


# --------------------------------------------------------------------------- layer 5/6: the inspected request data
#
# The engine sets ``txn.payload`` (the client's bytes buffered by tcp-request inspect-delay) and
# ``txn.payload_final`` (False while more may come: the delay runs, the buffer is not full, the
# client did not close). A fetch that finds its answer may still change sets ``txn.missing``; an
# ACL on it that fails then makes the rules wait (acl/condition.py, actions/base.py). In a
# content rule set evaluated without inspect-delay the buffer is what arrived: nothing, final.
# In HTTP rules 2.6 reads its HTX message instead: req.len is its size (_htx_len), the payload,
# RDP cookie and TLS hello fetches find nothing there (rdp_cookie_cnt is 0).

D_L6 = "tests/differential/test_payload_vs_haproxy.py::test_payload_fetches_vs_haproxy"


def _data(txn: Txn) -> bytes | None:
    d = getattr(txn, "payload", None)
    if d is None and txn.req is None:
        return b""
    return d


def _may_change(txn: Txn) -> None:
    if getattr(txn, "payload_final", True) is False:
        txn.missing = True  # type: ignore[attr-defined]


def _conn_left(v: bytes) -> bytes:
    """What 2.6's HTTP/1 parser leaves of a Connection value once it took the close and
    keep-alive tokens out, as measured on 2.6.12: a last token is cut with the comma before it
    (what precedes stays as written); another one makes it join what remains, trimmed, by ','."""
    while True:
        segs = v.split(b",")
        idx = next((i for i, s in enumerate(segs) if s.strip(b" \t").lower() in (b"close", b"keep-alive")), None)
        if idx is None:
            return v
        if idx == len(segs) - 1:
            v = b",".join(segs[:-1])
        else:
            v = b",".join(s.strip(b" \t") for j, s in enumerate(segs) if j != idx and s.strip(b" \t"))


def _htx_len(txn: Txn) -> int:
    """req.len in HTTP rules: 2.6 answers the size of its HTX message (not the bytes received):
    21 for the start line's own record plus its method, URI and version, each header's name and
    value (not the Connection header's close/keep-alive tokens, which its HTTP/1 parser takes
    out), and the body data that arrived (de-chunked; 1 more once the last chunk came, and the
    trailers' names and values)."""
    r = txn.req
    assert r is not None
    n = 21 + len(r.method) + len(r.uri) + len(r.version)
    for name, value in r.headers:
        if len(name) == 10 and name.lower() == b"connection":
            value = _conn_left(value)
            if not value:
                continue
        n += len(name) + len(value)
    body = txn.req_body
    return n + (len(body) if body else 0) + getattr(txn, "req_body_tail", 0)


@fetch("req.len", test=D_L6, waits=True)
def f_req_len(txn: Txn, args: tuple) -> list | None:
    d = _data(txn)
    if d is None:
        return None if txn.req is None or txn.res is not None else [_htx_len(txn)]
    _may_change(txn)
    return [len(d)]


alias("req_len", "req.len", test=D_L6)


def _prep_payload(a: tuple) -> tuple:
    if a[0] < 0 or a[1] < 0:
        raise ValueError("offset and length must be positive")
    return a


@fetch("req.payload", test=D_L6, waits=True, prepare=_prep_payload)
def f_req_payload(txn: Txn, args: tuple) -> list | None:
    d = _data(txn)
    if d is None:
        return None
    off, size = args
    if size:
        if off + size > len(d):
            _may_change(txn)
            return None
        return [d[off:off + size]]
    if off > len(d):
        _may_change(txn)
        return None
    _may_change(txn)  # everything from the offset: more may come
    return [d[off:]]


def _prep_payload_lv(a: tuple) -> tuple:
    if a[0] < 0 or a[1] <= 0 or a[1] > 4:
        raise ValueError("length must be between 1 and 4 bytes")
    off2: tuple[int, bool] | None = None
    if len(a) > 2 and a[2] != "":
        w = a[2].strip()
        rel = w[:1] in ("+", "-")
        try:
            off2 = (int(w), rel)
        except ValueError:
            raise ValueError(f"failed to parse '{a[2]}' as an offset") from None
    return (a[0], a[1], off2)


@fetch("req.payload_lv", test=D_L6, waits=True, prepare=_prep_payload_lv)
def f_req_payload_lv(txn: Txn, args: tuple) -> list | None:
    d = _data(txn)
    if d is None:
        return None
    loff, lsize, off2 = args
    if loff + lsize > len(d):
        _may_change(txn)
        return None
    size = int.from_bytes(d[loff:loff + lsize], "big")
    start = loff + lsize
    if off2 is not None:
        start = start + off2[0] if off2[1] else off2[0]
    if not size or start < 0:
        return None  # never matches
    if start + size > len(d):
        _may_change(txn)
        return None
    return [d[start:start + size]]


# the same on the server's bytes buffered by tcp-response inspect-delay (the engine sets the
# response rules' txn.payload / payload_final from them)
_TRS = "tests/differential/test_tcp_response_vs_haproxy.py::test_tcp_response_content_as_haproxy"


@fetch("res.len", test=_TRS, waits=True)
def f_res_len(txn: Txn, args: tuple) -> list | None:
    h = getattr(txn, "res_htx", None)
    if h is not None:  # tcp-response rules of an HTTP backend: the HTX size of what came (2.6)
        _may_change(txn)
        return [h]
    return f_req_len(txn, args)


fetch("res.payload", test=_TRS, waits=True, prepare=_prep_payload)(f_req_payload)
fetch("res.payload_lv", test=_TRS, waits=True, prepare=_prep_payload_lv)(f_req_payload_lv)
alias("payload", "req.payload", test=D_L6)
alias("payload_lv", "req.payload_lv", test=D_L6)


def rdp_cookie(d: bytes, key: bytes) -> tuple[bytes | None, bool]:
    """The value of the RDP connection request's ``Cookie: KEY=VALUE\\r\\n`` (after the 11 bytes of
    TPKT and X.224 header), as 2.6 reads it: (value or None, may change)."""
    if len(d) <= 11:
        return None, True
    i = 11
    if len(d) - i <= 7:
        return None, True
    if d[i:i + 7].lower() != b"cookie:":
        return None, False
    i += 7
    n = len(d)
    while i < n and d[i] == 0x20:
        i += 1
    if key:
        if n - i <= len(key):
            return None, True
        if d[i:i + len(key)].lower() != key.lower():
            return None, False
        i += len(key)
        if i >= n:
            return None, True
        if d[i] != 0x3D:
            return None, False
        i += 1
    else:
        while i < n and d[i] != 0x3D:
            if d[i] in (13, 10):
                return None, False
            i += 1
        if i >= n:
            return None, True
        i += 1
    start = i
    while i < n and d[i] != 13:
        i += 1
    if n - i < 2:
        return None, True
    if d[i + 1] != 10:
        return None, False
    return d[start:i], False


def _rdp_args(a: tuple) -> bytes:
    return a[0].encode("latin1") if a and a[0] else b""


@fetch("req.rdp_cookie", test=D_L6, waits=True)
def f_rdp_cookie(txn: Txn, args: tuple) -> list | None:
    d = _data(txn)
    if d is None:
        return None
    v, change = rdp_cookie(d, _rdp_args(args))
    if change:
        _may_change(txn)
    return None if v is None else [v]


@fetch("req.rdp_cookie_cnt", test=D_L6, waits=True)
def f_rdp_cookie_cnt(txn: Txn, args: tuple) -> list | None:
    """1 or 0; no sample while the packet is too short to tell (even once final, as 2.6); 0 in
    HTTP rules, where 2.6's HTX holds no RDP cookie."""
    d = _data(txn)
    if d is None:
        return [0]
    v, change = rdp_cookie(d, _rdp_args(args))
    if change:
        _may_change(txn)
        return None
    return [1 if v is not None else 0]


alias("rdp_cookie", "req.rdp_cookie", test=D_L6)
alias("rdp_cookie_cnt", "req.rdp_cookie_cnt", test=D_L6)


D_DISTCC = "tests/differential/test_payload_vs_haproxy.py::test_distcc_fetches_vs_haproxy"
#: DistCC tokens whose parameter is not the length of a body that follows
_DISTCC_NO_BODY = frozenset((b"ARGC", b"DIST", b"NFIL", b"STAT", b"DONE"))


def _prep_distcc(a: tuple) -> tuple:
    if len(a[0]) != 4:
        raise ValueError("token name must be exactly 4 characters")
    return (a[0].encode("latin1"), a[1] if len(a) > 1 else 0)


def _distcc(txn: Txn, args: tuple, body: bool) -> list | None:
    """The ``occ``-th (any with 0) ``TOKEN`` of the DistCC stream (a 4-byte token, 8 hex digits of
    parameter, then as many bytes of body for the tokens that have one): its parameter, or its
    body. Data that stops before it may still grow (2.6's may-change)."""
    d = _data(txn)
    if d is None:
        return None
    token, want = args
    ofs = occ = 0
    while True:
        if ofs + 12 > len(d):
            _may_change(txn)
            return None
        tok = d[ofs:ofs + 4]
        hexd = d[ofs + 4:ofs + 12]
        if any(c not in b"0123456789abcdefABCDEF" for c in hexd):
            return None
        param = int(hexd, 16)
        ofs += 12
        size = 0 if tok in _DISTCC_NO_BODY else param
        if tok == token:
            occ += 1
            if not want or want == occ:
                if not body:
                    return [param]
                if ofs + size > len(d):
                    _may_change(txn)
                    return None
                return [d[ofs:ofs + size]]
        ofs += size


@fetch("distcc_param", test=D_DISTCC, prepare=_prep_distcc, waits=True)
def f_distcc_param(txn: Txn, args: tuple) -> list | None:
    return _distcc(txn, args, False)


@fetch("distcc_body", test=D_DISTCC, prepare=_prep_distcc, waits=True)
def f_distcc_body(txn: Txn, args: tuple) -> list | None:
    return _distcc(txn, args, True)


@fetch("wait_end", test=D_L6, waits=True)
def f_wait_end(txn: Txn, args: tuple) -> list | None:
    """True once the inspection is over (delay expired, buffer full or client closed)."""
    if getattr(txn, "payload_final", True) is False:
        txn.missing = True  # type: ignore[attr-defined]
        return None
    return [True]


# --------------------------------------------------------------------------- the client connection's TCP_INFO

D_TCPI = "tests/differential/test_samples_vs_haproxy.py::test_tcp_info_fetches_vs_haproxy"


def _prep_unit(a: tuple) -> tuple:
    unit = a[0] if a else "ms"
    if unit not in ("ms", "us"):
        raise ValueError(f"expects 'us' or 'ms', got '{unit}'.")
    return (unit,)


def _tcpi(index: int, timed: bool):
    def fn(txn: Txn, args: tuple) -> list | None:
        if txn.cli_fd < 0 or txn.runtime is None:
            return None
        info = txn.runtime.tcp_info(txn.cli_fd)
        if info is None:
            return None
        v = info[index]
        if timed and args[0] == "ms":
            v //= 1000  # the kernel counts microseconds
        return [v]
    return fn


for _n, _i, _t in (("fc_rtt", 15, True), ("fc_rttvar", 16, True), ("fc_unacked", 4, False),
                   ("fc_sacked", 5, False), ("fc_lost", 6, False), ("fc_retrans", 7, False),
                   ("fc_fackets", 8, False), ("fc_reordering", 20, False)):
    fetch(_n, test=D_TCPI, prepare=_prep_unit if _t else None)(_tcpi(_i, _t))


@fetch("dst_conn", test=D_CONN)
def f_dst_conn(txn: Txn, args: tuple) -> list | None:
    """The connections of the listener the request came through, this one included."""
    if txn.runtime is None or not txn.so_id:
        return None
    n = txn.runtime.dst_conn(txn.frontend, txn.so_id)
    return None if n is None else [n]


# --------------------------------------------------------------------------- task profiling

#: set when an expression using a task profiling fetch is compiled (load time): the engine then
#: counts its sessions' calls (engine/taskprof.py); otherwise nothing is counted
TASK_PROF_USED: list[bool] = [False]
D_TPROF = "tests/differential/test_task_profiling_vs_haproxy.py::test_task_profiling_fetches_as_haproxy"


def _prep_tprof(a: tuple) -> tuple:
    TASK_PROF_USED[0] = True
    return a


def _tprof(txn: Txn) -> Any:
    return getattr(txn, "task", None)


@fetch("cpu_calls", test=D_TPROF, prepare=_prep_tprof)
def f_cpu_calls(txn: Txn, args: tuple) -> list | None:
    """The calls of the stream so far (the event-loop callbacks into its session), this one included."""
    t = _tprof(txn)
    return None if t is None else [t.calls]


@fetch("cpu_ns_tot", test=D_TPROF, prepare=_prep_tprof)
def f_cpu_ns_tot(txn: Txn, args: tuple) -> list | None:
    """The thread CPU time of the stream's finished calls, in ns (0 while profiling is off)."""
    t = _tprof(txn)
    return None if t is None else [t.cpu_ns]


@fetch("cpu_ns_avg", test=D_TPROF, prepare=_prep_tprof)
def f_cpu_ns_avg(txn: Txn, args: tuple) -> list | None:
    """cpu_ns_tot divided by cpu_calls (0 before any call)."""
    t = _tprof(txn)
    return None if t is None else [t.cpu_ns // t.calls if t.calls else 0]


@fetch("lat_ns_tot", test=D_TPROF, prepare=_prep_tprof)
def f_lat_ns_tot(txn: Txn, args: tuple) -> list | None:
    """The stream's calls' waits between their wake-up and their run, summed, in ns (0 while
    profiling is off; the current call's wait included)."""
    t = _tprof(txn)
    return None if t is None else [t.lat_ns]


@fetch("lat_ns_avg", test=D_TPROF, prepare=_prep_tprof)
def f_lat_ns_avg(txn: Txn, args: tuple) -> list | None:
    """lat_ns_tot divided by cpu_calls (0 before any call)."""
    t = _tprof(txn)
    return None if t is None else [t.lat_ns // t.calls if t.calls else 0]


# --------------------------------------------------------------------------- FastCGI

D_FCGI = "tests/integration/test_fcgi_vs_haproxy.py::test_fcgi_app_as_haproxy"


def _fcgi(i: int):
    def fn(txn: Txn, args: tuple) -> list | None:
        app = None if txn.runtime is None else txn.runtime.fcgi_app(txn.backend)
        return None if app is None or (i and not app[i]) else [app[i]]
    return fn


fetch("fcgi.docroot", test=D_FCGI)(_fcgi(0))
fetch("fcgi.index", test=D_FCGI)(_fcgi(1))


# --------------------------------------------------------------------------- why the rest stays refused

_WHY = {
    "internals of HAProxy's HTX message representation, for debugging it; haproxy-py has no HTX":
        tuple(n for n in FETCHES.known if n.startswith("internal.")),
}
for _why, _names in _WHY.items():
    for _n in _names:
        FETCHES.reasons[_n] = _why
