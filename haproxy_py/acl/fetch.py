"""Sample fetches over a request context (sans-IO).

A fetch returns a list of samples (``bytes`` for strings, ``int`` for integers and booleans,
``str`` for addresses) or ``None`` when it finds nothing.  A multi-valued fetch such as
``hdr(name)`` returns every comma-separated element of every occurrence; the ACL matches when any
sample matches any pattern.

Naming: :data:`DERIVED` maps HAProxy's derived ACL names to ``(canonical fetch, match method)``
(``path_beg`` -> ``("path", "beg")``).  The config layer is expected to canonicalise names in
``config/fetches.py``; until both tables are aligned, :func:`resolve` accepts either spelling
(aligning them is the integrator's job).
"""

from __future__ import annotations

from collections.abc import Callable

from ..http.message import RequestHead

__all__ = ["RequestContext", "FETCHES", "DERIVED", "DEFAULT_MATCH", "resolve", "url_param_values"]


class RequestContext:
    """What the fetches look at: the request head (None in TCP mode) and the connection."""

    __slots__ = ("req", "src", "src_port", "dst", "dst_port", "nbsrv", "frontend", "backend")

    def __init__(
        self,
        req: RequestHead | None = None,
        src: str | None = None,
        src_port: int = 0,
        dst: str | None = None,
        dst_port: int = 0,
        nbsrv: Callable[[str], int] | None = None,
        frontend: str = "",
        backend: str = "",
    ) -> None:
        self.req = req
        self.src = src
        self.src_port = src_port
        self.dst = dst
        self.dst_port = dst_port
        #: backend name -> number of usable servers (the engine passes a callback)
        self.nbsrv = nbsrv
        self.frontend = frontend
        self.backend = backend


Samples = list | None
Fetch = Callable[[RequestContext, tuple[str, ...]], Samples]


def _arg(args: tuple[str, ...], i: int = 0) -> bytes:
    return args[i].encode("latin1") if len(args) > i else b""


def _hdr_elems(req: RequestHead, name: bytes) -> list[bytes]:
    """Comma-separated elements (blanks trimmed, empty kept) of every ``name`` header."""
    key = name.lower()
    out: list[bytes] = []
    for n, v in req.headers:
        if n.lower() == key:
            if b"," in v:
                out.extend(p.strip(b" \t") for p in v.split(b","))
            else:
                out.append(v)
    return out


def _occ(values: list[bytes], args: tuple[str, ...]) -> list[bytes]:
    """Optional occurrence argument: positive from the first, negative from the last."""
    if len(args) < 2 or not args[1].lstrip("-").isdigit():
        return values
    n = int(args[1])
    if n == 0 or abs(n) > len(values):
        return [] if n != 0 else values
    return [values[n - 1]] if n > 0 else [values[n]]


def f_path(ctx, args):
    return None if ctx.req is None else [ctx.req.path]


def f_url(ctx, args):
    return None if ctx.req is None else [ctx.req.uri]


def f_query(ctx, args):
    if ctx.req is None:
        return None
    q = ctx.req.query
    return None if q is None else [q]


def url_param_values(uri: bytes, name: bytes, delim: bytes = b"&") -> list[bytes]:
    """Values of ``name`` in the query string of ``uri`` (case-sensitive name)."""
    q = uri.find(b"?")
    if q < 0:
        return []
    out = []
    for part in uri[q + 1 :].split(delim):
        k, eq, v = part.partition(b"=")
        if k == name and (eq or not name):
            out.append(v)
    return out


def f_url_param(ctx, args):
    if ctx.req is None:
        return None
    delim = _arg(args, 1) or b"&"
    vals = url_param_values(ctx.req.uri, _arg(args), delim)
    return vals or None


def f_hdr(ctx, args):
    if ctx.req is None:
        return None
    if not args or not args[0]:
        vals = []
        for _, v in ctx.req.headers:
            vals.extend(p.strip(b" \t") for p in v.split(b","))
        return vals or None
    vals = _occ(_hdr_elems(ctx.req, _arg(args)), args)
    return vals or None


def f_fhdr(ctx, args):
    if ctx.req is None:
        return None
    vals = _occ(ctx.req.get_all(_arg(args)), args)
    return vals or None


def f_hdr_cnt(ctx, args):
    if ctx.req is None:
        return None
    if not args or not args[0]:
        return [sum(len(v.split(b",")) for _, v in ctx.req.headers)]
    return [len(_hdr_elems(ctx.req, _arg(args)))]


def f_fhdr_cnt(ctx, args):
    if ctx.req is None:
        return None
    return [ctx.req.count(_arg(args))]


def _to_int(b: bytes) -> int | None:
    b = b.strip(b" \t")
    try:
        return int(b)
    except ValueError:
        return None


def f_hdr_val(ctx, args):
    vals = f_hdr(ctx, args)
    if not vals:
        return None
    out = [i for i in (_to_int(v) for v in vals) if i is not None]
    return out or None


def _cookies(req: RequestHead) -> list[tuple[bytes, bytes]]:
    out = []
    for v in req.get_all(b"cookie"):
        for part in v.split(b";"):
            k, eq, val = part.strip(b" \t").partition(b"=")
            if eq:
                out.append((k.strip(b" \t"), val.strip(b" \t")))
    return out


def f_cook(ctx, args):
    if ctx.req is None:
        return None
    name = _arg(args)
    vals = [v for k, v in _cookies(ctx.req) if not name or k == name]
    return vals or None


def f_cook_cnt(ctx, args):
    if ctx.req is None:
        return None
    name = _arg(args)
    return [sum(1 for k, _ in _cookies(ctx.req) if not name or k == name)]


def f_cook_val(ctx, args):
    vals = f_cook(ctx, args)
    if not vals:
        return None
    out = [i for i in (_to_int(v) for v in vals) if i is not None]
    return out or None


def f_method(ctx, args):
    return None if ctx.req is None else [ctx.req.method]


def f_src(ctx, args):
    return None if ctx.src is None else [ctx.src]


def f_dst(ctx, args):
    return None if ctx.dst is None else [ctx.dst]


def f_src_port(ctx, args):
    return [ctx.src_port]


def f_dst_port(ctx, args):
    return [ctx.dst_port]


def f_nbsrv(ctx, args):
    name = args[0] if args else ctx.backend
    if ctx.nbsrv is None:
        return None
    n = ctx.nbsrv(name)
    return None if n is None else [n]


def f_base(ctx, args):
    if ctx.req is None:
        return None
    host = ctx.req.get(b"host")
    path = ctx.req.path
    return [path] if host is None else [host + path]


def f_true(ctx, args):
    return [1]


def f_false(ctx, args):
    return [0]


def f_ver(ctx, args):
    if ctx.req is None:
        return None
    return [ctx.req.version[5:]]


def f_proto_http(ctx, args):
    return [1 if ctx.req is not None else 0]


def f_wait_end(ctx, args):
    return [1]


def f_unknown(ctx, args):
    return None


#: canonical fetch name -> (function, sample type: "str" | "int" | "ip" | "bool")
FETCHES: dict[str, tuple[Fetch, str]] = {
    "path": (f_path, "str"),
    "url": (f_url, "str"),
    "query": (f_query, "str"),
    "url_param": (f_url_param, "str"),
    "urlp": (f_url_param, "str"),
    "hdr": (f_hdr, "str"),
    "req.hdr": (f_hdr, "str"),
    "req.fhdr": (f_fhdr, "str"),
    "hdr_cnt": (f_hdr_cnt, "int"),
    "req.hdr_cnt": (f_hdr_cnt, "int"),
    "req.fhdr_cnt": (f_fhdr_cnt, "int"),
    "hdr_val": (f_hdr_val, "int"),
    "req.hdr_val": (f_hdr_val, "int"),
    "cook": (f_cook, "str"),
    "req.cook": (f_cook, "str"),
    "cook_cnt": (f_cook_cnt, "int"),
    "req.cook_cnt": (f_cook_cnt, "int"),
    "cook_val": (f_cook_val, "int"),
    "req.cook_val": (f_cook_val, "int"),
    "method": (f_method, "str"),
    "src": (f_src, "ip"),
    "dst": (f_dst, "ip"),
    "src_port": (f_src_port, "int"),
    "dst_port": (f_dst_port, "int"),
    "nbsrv": (f_nbsrv, "int"),
    "base": (f_base, "str"),
    "always_true": (f_true, "bool"),
    "always_false": (f_false, "bool"),
    "req.ver": (f_ver, "str"),
    "req_ver": (f_ver, "str"),
    "req.proto_http": (f_proto_http, "bool"),
    "wait_end": (f_wait_end, "bool"),
}

#: the match method a fetch uses without ``-m`` or a derived name
DEFAULT_MATCH = {"str": "str", "int": "int", "ip": "ip", "bool": "bool"}

#: derived ACL keyword -> (canonical fetch, match method)
DERIVED: dict[str, tuple[str, str]] = {}
for _base, _canon in (("path", "path"), ("url", "url"), ("hdr", "hdr"), ("urlp", "url_param"),
                      ("url_param", "url_param"), ("cook", "cook"), ("base", "base"), ("req.hdr", "hdr"),
                      ("req.cook", "cook"), ("query", "query")):
    for _m in ("beg", "end", "sub", "reg", "dir", "dom", "len"):
        DERIVED[f"{_base}_{_m}"] = (_canon, _m)
DERIVED.update({
    "hdr_ip": ("hdr", "ip"),
    "urlp_val": ("url_param", "int"),
    "url_ip": ("url_ip", "ip"),
    "url_port": ("url_port", "int"),
})


def resolve(name: str) -> tuple[Fetch | None, str, str | None]:
    """Fetch name (canonical or derived) -> (function or None if unknown, sample type, implied match)."""
    implied = None
    if name not in FETCHES and name in DERIVED:
        name, implied = DERIVED[name]
    entry = FETCHES.get(name)
    if entry is None:
        return None, "str", implied
    return entry[0], entry[1], implied
