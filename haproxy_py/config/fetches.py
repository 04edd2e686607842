"""The HAProxy 2.6 sample fetch names as configuration validation sees them: a view of the
sample registry's data (:mod:`haproxy_py.samples.known26`, 2.6's own keyword dump).

``FETCHES``: every 2.6 fetch name -> :class:`FetchDef` (canonical fetch, argument spec, default
match method, output type, layer). ``DERIVED``: 2.6's ACL keywords with an implied match
(``path_beg`` = ``path`` + ``beg``) -> (canonical fetch, match). ``PREDEFINED_ACLS``: HAProxy's
built-in ACL names -> the ACL line they stand for. Whether a name is *implemented* is the
registry's answer (``haproxy_py.samples.FETCHES``), not this table's.

Argument spec: ``""`` no argument, ``"opt"`` optional argument(s), ``"req"`` mandatory.
Layers: ``"L4"`` (connection), ``"L6"`` (content of the TCP stream), ``"L7"`` (HTTP).
Output types: ``str``, ``int``, ``ip``, ``bool``, ``bin``, ``meth``.
"""

from __future__ import annotations

from typing import NamedTuple

from haproxy_py.samples.core import parse_signature
from haproxy_py.samples.known26 import ACL_KEYWORDS
from haproxy_py.samples.known26 import FETCHES as _F26


class FetchDef(NamedTuple):
    canonical: str
    args: str  # "" | "opt" | "req"
    match: str  # default match method
    out: str  # output type
    layer: str  # L4 | L6 | L7


#: 2.6's other spellings of a fetch -> the canonical name
ALIASES = {
    "hdr": "req.hdr", "hdr_cnt": "req.hdr_cnt", "hdr_ip": "req.hdr_ip", "hdr_val": "req.hdr_val",
    "shdr": "res.hdr", "shdr_cnt": "res.hdr_cnt", "shdr_ip": "res.hdr_ip", "shdr_val": "res.hdr_val",
    "cook": "req.cook", "cookie": "req.cook", "cook_cnt": "req.cook_cnt", "cook_val": "req.cook_val",
    "scook": "res.cook", "scook_cnt": "res.cook_cnt", "scook_val": "res.cook_val",
    "req_ver": "req.ver", "resp_ver": "res.ver", "urlp": "url_param", "req_len": "req.len",
    "payload": "req.payload", "payload_lv": "req.payload_lv", "req_proto_http": "req.proto_http",
    "req_ssl_hello_type": "req.ssl_hello_type", "req_ssl_sni": "req.ssl_sni", "req_ssl_ver": "req.ssl_ver",
    "rdp_cookie": "req.rdp_cookie", "rdp_cookie_cnt": "req.rdp_cookie_cnt",
    "rep_ssl_hello_type": "res.ssl_hello_type",
}

_OUT = {"sint": "int", "ipv4": "ip", "ipv6": "ip", "addr": "ip", "any": "str"}
_MATCH = {"str": "str", "int": "int", "ip": "ip", "bool": "bool", "bin": "bin", "meth": "meth"}
_L6_PREFIXES = ("req.payload", "req.len", "req_len", "payload", "req.ssl", "req_ssl", "res.payload",
                "res.len", "rdp_cookie", "req.rdp", "req_rdp", "res.ssl", "rep_ssl", "distcc")


def _def(name: str) -> FetchDef:
    canonical = ALIASES.get(name, name)
    sig, out26, mask = _F26[canonical]
    spec = parse_signature(sig)
    # a fetch's stick table argument left out is the proxy's own table (2.6 resolves it at load time)
    args = "" if not spec else ("req" if any(not a.optional and a.type != "table" for a in spec) else "opt")
    out = _OUT.get(out26, out26)
    if name.startswith(_L6_PREFIXES):
        layer = "L6"
    elif mask[0] == "Y":
        layer = "L4"
    else:
        layer = "L7"
    return FetchDef(canonical, args, _MATCH[out], out, layer)


FETCHES: dict[str, FetchDef] = {n: _def(n) for n in _F26}

#: derived ACL names: name -> (canonical fetch, match method)
DERIVED: dict[str, tuple[str, str]] = {
    k: (ALIASES.get(f, f), m) for k, (f, m) in ACL_KEYWORDS.items() if k != f and k not in FETCHES
}

#: match methods accepted by ``-m``
MATCH_METHODS = ("found", "bool", "int", "ip", "bin", "len", "str", "sub", "reg", "beg", "end",
                 "dir", "dom")

#: integer operators
INT_OPERATORS = ("eq", "ge", "gt", "le", "lt")

#: predefined ACLs: name -> (fetch, match or None, patterns)
PREDEFINED_ACLS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "FALSE": ("always_false", None, ()),
    "HTTP": ("req.proto_http", None, ()),
    "HTTP_1.0": ("req.ver", None, ("1.0",)),
    "HTTP_1.1": ("req.ver", None, ("1.1",)),
    "HTTP_2.0": ("req.ver", None, ("2.0",)),
    "HTTP_3.0": ("req.ver", None, ("3.0",)),
    "HTTP_CONTENT": ("req.hdr_val", None, ("gt", "0")),
    "HTTP_URL_ABS": ("url", "reg", (r"^[^/:]*://",)),
    "HTTP_URL_SLASH": ("url", "beg", ("/",)),
    "HTTP_URL_STAR": ("url", "str", ("*",)),
    "LOCALHOST": ("src", None, ("127.0.0.1/8", "::1")),
    "METH_CONNECT": ("method", None, ("CONNECT",)),
    "METH_DELETE": ("method", None, ("DELETE",)),
    "METH_GET": ("method", None, ("GET", "HEAD")),
    "METH_HEAD": ("method", None, ("HEAD",)),
    "METH_OPTIONS": ("method", None, ("OPTIONS",)),
    "METH_POST": ("method", None, ("POST",)),
    "METH_PUT": ("method", None, ("PUT",)),
    "METH_TRACE": ("method", None, ("TRACE",)),
    "RDP_COOKIE": ("req.rdp_cookie_cnt", None, ("gt", "0")),
    "REQ_CONTENT": ("req.len", None, ("gt", "0")),
    "TRUE": ("always_true", None, ()),
    "WAIT_END": ("wait_end", None, ()),
}


def lookup(name: str) -> tuple[FetchDef, str | None] | None:
    """Resolve an ACL criterion name: (fetch definition, implied match or None) or None."""
    d = DERIVED.get(name)
    if d is not None:
        canon, match = d
        return FETCHES[canon], match
    f = FETCHES.get(name)
    if f is not None:
        return f, None
    return None
