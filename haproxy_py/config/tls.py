"""TLS configuration: the ``ssl`` globals and the TLS parameters of ``bind`` lines.

Called by the builder (config/build.py) with a few lines: :func:`global_kw` for the TLS globals,
:func:`bind_tls` once a bind line's parameters are read. Certificate and CA files are opened and
checked here, so ``-c`` finds a missing file or a key that does not match its certificate, with
2.6's messages at FILE:LINE. The result is a frozen :class:`TlsBind` on the model's ``Bind``; the
runtime (haproxy_py/tls/context.py) builds OpenSSL contexts from it.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haproxy_py.config.diagnostics import POST
from haproxy_py.tls.certs import CertError, CertFile, cert_paths, load_cert

if TYPE_CHECKING:  # pragma: no cover
    from haproxy_py.config.build.base import BuilderBase as Builder
    from haproxy_py.config.build.state import ProxyState
    from haproxy_py.config.tokenizer import Line

VERSION_NAMES = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_NO_VER = {"no-sslv3": "SSLv3", "no-tlsv10": "TLSv1.0", "no-tlsv11": "TLSv1.1", "no-tlsv12": "TLSv1.2",
           "no-tlsv13": "TLSv1.3"}

#: the global keywords this module reads
GLOBALS = ("crt-base", "ca-base", "ssl-default-bind-ciphers", "ssl-default-bind-ciphersuites",
           "ssl-default-bind-options")
#: the bind parameters this module reads
BIND_PARAMS = ("ssl", "crt", "strict-sni", "alpn", "ssl-min-ver", "ssl-max-ver", "ciphers", "ciphersuites",
               "ca-file", "verify", *_NO_VER)
#: 2.6's messages for a bind parameter given without its value
MISSING = {
    "crt": "'crt' : missing certificate location",
    "alpn": "'alpn' : missing the comma-delimited ALPN protocol suite",
    "ssl-min-ver": "'ssl-min-ver' : missing the ssl/tls version",
    "ssl-max-ver": "'ssl-max-ver' : missing the ssl/tls version",
    "ciphers": "'ciphers' : missing cipher suite",
    "ciphersuites": "'ciphersuites' : missing cipher suite",
    "ca-file": "'ca-file' : missing CAfile path",
    "verify": "'verify' : missing verify method",
}


@dataclass(frozen=True, slots=True)
class TlsBind:
    """A ``bind ... ssl`` line's TLS settings, files resolved and checked."""

    certs: tuple[CertFile, ...]
    strict_sni: bool = False
    alpn: tuple[str, ...] = ()
    min_ver: str | None = None
    max_ver: str | None = None
    disabled: frozenset[str] = frozenset()
    ciphers: str | None = None
    ciphersuites: str | None = None
    ca_file: str | None = None
    verify: str = "none"


def _base(g: dict[str, Any], which: str, path: str) -> str:
    base = g.get("tls", {}).get(which)
    if base and not path.startswith("/"):
        return os.path.join(base, path)
    return path


def global_kw(b: Builder, ln: Line) -> None:
    w = ln.words
    kw = w[0]
    t = b.g.setdefault("tls", {})
    if kw in ("crt-base", "ca-base"):
        if len(w) < 2:
            b.fail(ln, f"'{kw}' expects a directory path as an argument.", 0)
        if kw in t:
            b.fail(ln, f"'{kw}' already specified.", 0)
        t[kw] = w[1]
    elif kw in ("ssl-default-bind-ciphers", "ssl-default-bind-ciphersuites"):
        if len(w) < 2:
            b.fail(ln, f"'{kw}' expects a cipher suite as an argument.", 0)
        t[kw] = w[1]
    elif kw == "ssl-default-bind-options":
        i = 1
        opts = dict(t.get("options", {}))
        disabled = set(opts.get("disabled", ()))
        while i < len(w):
            o = w[i]
            if o in ("ssl-min-ver", "ssl-max-ver"):
                v = w[i + 1] if i + 1 < len(w) else ""
                if v not in VERSION_NAMES:
                    b.fail(ln, f"'{v}' : unknown ssl/tls version on global statement '{kw}'.", i + 1)
                opts[o] = v
                i += 2
                continue
            if o in _NO_VER:
                disabled.add(_NO_VER[o])
            elif o in ("no-tls-tickets", "prefer-client-ciphers", "force-sslv3", "force-tlsv10", "force-tlsv11",
                       "force-tlsv12", "force-tlsv13"):
                b.fail(ln, f"'{kw} {o}' is not implemented by haproxy-py (HAProxy 2.6 supports it).", i,
                       ours=True)
            else:
                b.fail(ln, f"unknown option '{o}' on global statement '{kw}'.", i)
            i += 1
        opts["disabled"] = frozenset(disabled)
        t["options"] = opts


def bind_tls(b: Builder, ln: Line, p: ProxyState, params: list[tuple[str, object]]) -> TlsBind | None:
    """The bind line's TLS settings (None when it has no 'ssl'); files are loaded and checked."""
    w = ln.words
    pre = f"'bind {w[1]}' in section '{p.kind}' : "

    def col(name: str) -> int:
        return w.index(name) if name in w else 0

    g = b.g.get("tls", {})
    gopts = g.get("options", {})
    certs: list[CertFile] = []
    ssl_on = False
    alpn: tuple[str, ...] = ()
    min_ver = gopts.get("ssl-min-ver")
    max_ver = gopts.get("ssl-max-ver")
    disabled = set(gopts.get("disabled", ()))
    ciphers = g.get("ssl-default-bind-ciphers")
    suites = g.get("ssl-default-bind-ciphersuites")
    ca_file: str | None = None
    verify = "none"
    strict = False
    for k, v in params:
        if k == "ssl":
            ssl_on = True
        elif k == "crt":
            path = _base(b.g, "crt-base", str(v))
            for f in cert_paths(path):
                try:
                    certs.append(load_cert(f))
                except CertError as e:
                    b.fail(ln, pre + str(e), col("crt") + 1)
        elif k == "strict-sni":
            strict = True
        elif k == "alpn":
            protos = tuple(x for x in str(v).split(",") if x)
            if "h2" in protos:
                b.fail(ln, pre + "'alpn' : 'h2' (HTTP/2) is not implemented by haproxy-py (HAProxy 2.6 supports "
                       "it); use 'alpn http/1.1'.", col("alpn") + 1, ours=True)
            if not protos:
                b.fail(ln, pre + MISSING["alpn"], col("alpn"))
            alpn = protos
        elif k in ("ssl-min-ver", "ssl-max-ver"):
            if v not in VERSION_NAMES:
                b.fail(ln, pre + f"'{v}' : unknown ssl/tls version", col(k) + 1)
            if k == "ssl-min-ver":
                min_ver = str(v)
            else:
                max_ver = str(v)
        elif k in _NO_VER:
            disabled.add(_NO_VER[k])
        elif k == "ciphers":
            ciphers = str(v)
        elif k == "ciphersuites":
            suites = str(v)
        elif k == "ca-file":
            path = _base(b.g, "ca-base", str(v))
            err = _check_ca(path)
            if err is not None:
                b.d.alert(f"Couldn't open the ca-file '{path}' ({err}).", ln.loc(col("ca-file") + 1),
                          line=ln.raw)
                b.fail(ln, pre + f"'ca-file' : unable to load {path}", col("ca-file") + 1)
            ca_file = path
        elif k == "verify":
            if v not in ("none", "optional", "required"):
                b.fail(ln, pre + f"'verify' : unknown verify method '{v}', only 'none', 'optional', and "
                       "'required' are supported", col("verify") + 1)
            verify = str(v)
    if not ssl_on:
        return None
    where = f"for bind '{w[1]}' at [{ln.file}:{ln.lineno}]"
    pname = f"Proxy '{p.name}': "
    if disabled and (min_ver or max_ver):
        b.d.warning(pname + f"no-sslv3/no-tlsv1x are ignored {where}. Use only 'ssl-min-ver' and "
                    "'ssl-max-ver' to fix.", ln.loc(0), line=ln.raw, phase=POST)
        disabled = set()
    conf = TlsBind(tuple(certs), strict, alpn, min_ver, max_ver, frozenset(disabled), ciphers, suites,
                   ca_file, verify)
    problems = []
    if not certs:
        problems.append(f"no SSL certificate specified {where} (use 'crt').")
    if verify != "none" and ca_file is None:
        problems.append(f"verify is enabled but no CA file specified {where}.")
    err = _check_ctx(conf)
    if err == "versions":
        problems.append(f"all SSL/TLS versions are disabled {where}.")
    elif err == "ciphers":
        problems.append(f"unable to set SSL cipher list to '{ciphers}' {where}.")
    elif err == "ciphersuites":
        problems.append(f"unable to set TLS 1.3 cipher suites to '{suites}' {where}.")
    for msg in problems:
        b.d.alert(pname + msg, ln.loc(0), line=ln.raw, phase=POST)
    return None if problems else conf


def _check_ca(path: str) -> str | None:
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        return e.strerror or "cannot open"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_verify_locations(path)
    except (ssl.SSLError, ValueError):
        return "no certificate or crl found"
    return None


def _check_ctx(conf: TlsBind) -> str | None:
    from haproxy_py.tls.context import apply_common

    return apply_common(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), conf)
