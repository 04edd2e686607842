"""The HAProxy 2.6 sample fetches known to ACLs, as data (the acl/ evaluator imports this).

``FETCHES``: name -> :class:`FetchDef` (canonical fetch, argument spec, default match method,
output type, layer). Names with a match suffix (``path_beg`` = ``path`` + ``beg``) are listed in
``DERIVED``: name -> (canonical fetch name, match method). ``PREDEFINED_ACLS``: HAProxy's built-in
ACL names -> the ACL line they stand for.

Argument spec: ``""`` no argument, ``"opt"`` optional argument(s), ``"req"`` mandatory.
Layers: ``"L4"`` (connection), ``"L6"`` (content of the TCP stream), ``"L7"`` (HTTP).
Output types: ``str``, ``int``, ``ip``, ``bool``, ``bin``, ``meth``.
"""

from __future__ import annotations

from typing import NamedTuple


class FetchDef(NamedTuple):
    canonical: str
    args: str  # "" | "opt" | "req"
    match: str  # default match method
    out: str  # output type
    layer: str  # L4 | L6 | L7


def _f(canonical: str, args: str, out: str, layer: str, match: str | None = None) -> FetchDef:
    default = match or {"str": "str", "int": "int", "ip": "ip", "bool": "bool", "bin": "bin",
                        "meth": "meth"}[out]
    return FetchDef(canonical, args, default, out, layer)


FETCHES: dict[str, FetchDef] = {}


def _add(names: str, args: str, out: str, layer: str, match: str | None = None) -> None:
    names_l = names.split()
    canonical = names_l[0]
    for n in names_l:
        FETCHES[n] = _f(canonical, args, out, layer, match)


# --- layer 4: connection, process, internal
_add("src", "", "ip", "L4")
_add("dst", "", "ip", "L4")
_add("src_port", "", "int", "L4")
_add("dst_port", "", "int", "L4")
_add("so_id", "", "int", "L4")
_add("fe_id", "", "int", "L4")
_add("fe_name", "", "str", "L4")
_add("be_id", "", "int", "L4")
_add("be_name", "", "str", "L4")
_add("srv_id", "", "int", "L4")
_add("srv_name", "", "str", "L4")
_add("nbsrv", "opt", "int", "L4")
_add("connslots", "opt", "int", "L4")
_add("be_conn", "opt", "int", "L4")
_add("be_conn_free", "opt", "int", "L4")
_add("be_sess_rate", "opt", "int", "L4")
_add("fe_conn", "opt", "int", "L4")
_add("fe_req_rate", "opt", "int", "L4")
_add("fe_sess_rate", "opt", "int", "L4")
_add("queue", "opt", "int", "L4")
_add("avg_queue", "opt", "int", "L4")
_add("srv_conn", "req", "int", "L4")
_add("srv_conn_free", "req", "int", "L4")
_add("srv_is_up", "req", "bool", "L4")
_add("srv_queue", "req", "int", "L4")
_add("srv_sess_rate", "req", "int", "L4")
_add("always_true", "", "bool", "L4")
_add("always_false", "", "bool", "L4")
_add("env", "req", "str", "L4")
_add("int", "req", "int", "L4")
_add("str", "req", "str", "L4")
_add("bool", "req", "bool", "L4")
_add("bin", "req", "bin", "L4")
_add("ipv4", "req", "ip", "L4")
_add("ipv6", "req", "ip", "L4")
_add("meth", "req", "meth", "L4")
_add("date", "opt", "int", "L4")
_add("date_us", "", "int", "L4")
_add("rand", "opt", "int", "L4")
_add("nbproc", "", "int", "L4")
_add("proc", "", "int", "L4")
_add("thread", "", "int", "L4")
_add("nbthread", "", "int", "L4")
_add("stopping", "", "bool", "L4")
_add("uuid", "opt", "str", "L4")
_add("hostname", "", "str", "L4")
_add("pid", "", "int", "L4")
_add("var", "req", "str", "L4")
_add("fc_rtt", "opt", "int", "L4")
_add("fc_rttvar", "opt", "int", "L4")
_add("dst_conn", "", "int", "L4")
_add("dst_is_local", "", "bool", "L4")
_add("src_is_local", "", "bool", "L4")
_add("sc_http_req_rate", "req", "int", "L4")
_add("src_conn_cur", "opt", "int", "L4")
_add("src_conn_rate", "opt", "int", "L4")
_add("src_http_req_rate", "opt", "int", "L4")
_add("src_get_gpc0", "opt", "int", "L4")
_add("table_cnt", "opt", "int", "L4")
# --- layer 6: TCP content, SSL
_add("req.len req_len", "", "int", "L6")
_add("req.payload payload", "req", "bin", "L6")
_add("req.payload_lv payload_lv", "req", "bin", "L6")
_add("req.ssl_sni req_ssl_sni", "", "str", "L6")
_add("req.ssl_hello_type req_ssl_hello_type", "", "int", "L6")
_add("req.ssl_ver req_ssl_ver", "", "int", "L6")
_add("req.ssl_st_ext", "", "int", "L6")
_add("req.ssl_alpn", "", "str", "L6")
_add("req.ssl_ec_ext", "", "bool", "L6")
_add("req.rdp_cookie rdp_cookie", "opt", "str", "L6")
_add("req.rdp_cookie_cnt rdp_cookie_cnt", "opt", "int", "L6")
_add("req.proto_http req_proto_http", "", "bool", "L7")
_add("res.len", "", "int", "L6")
_add("res.payload", "req", "bin", "L6")
_add("res.payload_lv", "req", "bin", "L6")
_add("res.ssl_hello_type rep_ssl_hello_type", "", "int", "L6")
_add("wait_end", "", "bool", "L4")
_add("ssl_fc", "", "bool", "L6")
_add("ssl_bc", "", "bool", "L6")
_add("ssl_fc_sni", "", "str", "L6")
_add("ssl_fc_has_sni", "", "bool", "L6")
_add("ssl_fc_has_crt", "", "bool", "L6")
_add("ssl_fc_alpn", "", "str", "L6")
_add("ssl_fc_npn", "", "str", "L6")
_add("ssl_fc_protocol", "", "str", "L6")
_add("ssl_fc_cipher", "", "str", "L6")
_add("ssl_fc_use_keysize", "", "int", "L6")
_add("ssl_fc_session_id", "", "bin", "L6")
_add("ssl_c_used", "", "bool", "L6")
_add("ssl_c_verify", "", "int", "L6")
_add("ssl_c_s_dn", "opt", "str", "L6")
_add("ssl_c_i_dn", "opt", "str", "L6")
_add("ssl_c_serial", "", "bin", "L6")
_add("ssl_c_ca_err", "", "int", "L6")
_add("ssl_c_err", "", "int", "L6")
# --- layer 7: HTTP
_add("path", "", "str", "L7")
_add("pathq", "", "str", "L7")
_add("url", "", "str", "L7")
_add("url_ip", "", "ip", "L7")
_add("url_port", "", "int", "L7")
_add("url_param urlp", "opt", "str", "L7")
_add("urlp_val", "opt", "int", "L7")
_add("url32", "", "int", "L7")
_add("url32+src", "", "bin", "L7")
_add("base", "", "str", "L7")
_add("base32", "", "int", "L7")
_add("base32+src", "", "bin", "L7")
_add("query", "", "str", "L7")
_add("method", "", "meth", "L7")
_add("req.ver req_ver", "", "str", "L7")
_add("res.ver resp_ver", "", "str", "L7")
_add("status", "", "int", "L7")
_add("txn.status", "", "int", "L7")
_add("req.hdr hdr", "opt", "str", "L7")
_add("req.fhdr", "req", "str", "L7")
_add("req.hdrs", "", "str", "L7")
_add("req.hdrs_bin", "", "bin", "L7")
_add("req.hdr_names", "opt", "str", "L7")
_add("req.hdr_cnt hdr_cnt", "opt", "int", "L7")
_add("req.fhdr_cnt", "opt", "int", "L7")
_add("req.hdr_ip hdr_ip", "opt", "ip", "L7")
_add("req.hdr_val hdr_val", "opt", "int", "L7")
_add("res.hdr shdr", "opt", "str", "L7")
_add("res.fhdr", "opt", "str", "L7")
_add("res.hdrs", "", "str", "L7")
_add("res.hdr_names", "opt", "str", "L7")
_add("res.hdr_cnt shdr_cnt", "opt", "int", "L7")
_add("res.fhdr_cnt", "opt", "int", "L7")
_add("res.hdr_ip shdr_ip", "opt", "ip", "L7")
_add("res.hdr_val shdr_val", "opt", "int", "L7")
_add("req.cook cook cookie", "opt", "str", "L7")
_add("req.cook_cnt cook_cnt", "opt", "int", "L7")
_add("req.cook_val cook_val", "opt", "int", "L7")
_add("req.cook_names", "opt", "str", "L7")
_add("res.cook scook set-cookie", "opt", "str", "L7")
_add("res.cook_cnt scook_cnt", "opt", "int", "L7")
_add("res.cook_val scook_val", "opt", "int", "L7")
_add("http_auth", "opt", "bool", "L7")
_add("http_auth_group", "opt", "str", "L7")
_add("http_auth_user", "", "str", "L7")
_add("http_auth_pass", "", "str", "L7")
_add("http_auth_type", "", "str", "L7")
_add("http_first_req", "", "bool", "L7")
_add("req.body", "", "bin", "L7")
_add("req.body_len", "", "int", "L7")
_add("req.body_size", "", "int", "L7")
_add("req.body_param", "opt", "str", "L7")
_add("res.body", "", "bin", "L7")
_add("res.body_len", "", "int", "L7")
_add("capture.req.hdr", "req", "str", "L7")
_add("capture.req.method", "", "str", "L7")
_add("capture.req.uri", "", "str", "L7")
_add("capture.req.ver", "", "str", "L7")
_add("capture.res.hdr", "req", "str", "L7")
_add("capture.res.ver", "", "str", "L7")
_add("unique-id", "", "str", "L7")
_add("req.timer.hdr", "", "int", "L7")
_add("res.comp", "", "bool", "L7")

#: derived ACL names: name -> (canonical fetch, match method)
DERIVED: dict[str, tuple[str, str]] = {}

for _base, _canon in (("path", "path"), ("url", "url"), ("urlp", "url_param"), ("base", "base"),
                      ("hdr", "req.hdr"), ("shdr", "res.hdr"), ("cook", "req.cook"),
                      ("scook", "res.cook")):
    for _m in ("beg", "dir", "dom", "end", "len", "reg", "sub"):
        DERIVED[f"{_base}_{_m}"] = (_canon, _m)
DERIVED["url_param_beg"] = ("url_param", "beg")
DERIVED["req_ssl_sni_end"] = ("req.ssl_sni", "end")
DERIVED["req_ssl_sni_reg"] = ("req.ssl_sni", "reg")
DERIVED["ssl_fc_sni_end"] = ("ssl_fc_sni", "end")
DERIVED["ssl_fc_sni_reg"] = ("ssl_fc_sni", "reg")
DERIVED["hdr_ip"] = ("req.hdr_ip", "ip")
DERIVED["shdr_ip"] = ("res.hdr_ip", "ip")
DERIVED["url_ip"] = ("url_ip", "ip")
DERIVED["url_port"] = ("url_port", "int")
DERIVED["urlp_val"] = ("urlp_val", "int")

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
