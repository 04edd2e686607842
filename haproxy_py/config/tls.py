"""TLS configuration: the ``ssl`` globals and the TLS parameters of ``bind`` lines.

Called by the builder (config/build.py) with a few lines: :func:`global_kw` for the TLS globals,
:func:`bind_tls` once a bind line's parameters are read. Certificate and CA files are opened and
checked here, so ``-c`` finds a missing file or a key that does not match its certificate, with
2.6's messages at FILE:LINE. The result is a frozen :class:`TlsBind` on the model's ``Bind``; the
runtime (haproxy_py/tls/context.py) builds OpenSSL contexts from it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haproxy_py.config.diagnostics import POST
from haproxy_py.config.grammar import c_atoi_int as _atoi
from haproxy_py.tls.certs import (
    EXTRA_FILES,
    CertError,
    CertFile,
    CertRefused,
    cert_paths,
    complete_chain,
    load_cert,
)
from haproxy_py.tls.crtlist import CrtListError, Entry, parse_line

if TYPE_CHECKING:  # pragma: no cover
    from haproxy_py.config.build.base import BuilderBase as Builder
    from haproxy_py.config.build.state import ProxyState
    from haproxy_py.config.tokenizer import Line

VERSION_NAMES = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_NO_VER = {"no-sslv3": "SSLv3", "no-tlsv10": "TLSv1.0", "no-tlsv11": "TLSv1.1", "no-tlsv12": "TLSv1.2",
           "no-tlsv13": "TLSv1.3"}

#: the global keywords this module reads
GLOBALS = ("crt-base", "ca-base", "ssl-default-bind-ciphers", "ssl-default-bind-ciphersuites",
           "ssl-default-bind-options", "ssl-load-extra-del-ext", "ssl-default-bind-curves", "ssl-dh-param-file",
           "tune.ssl.default-dh-param", "ssl-load-extra-files", "tune.ssl.capture-buffer-size",
           "tune.ssl.capture-cipherlist-size", "tune.ssl.keylog", "tune.ssl.lifetime", "ssl-skip-self-issued-ca",
           "issuers-chain-path", "tune.ssl.maxrecord", "tune.ssl.cachesize")
#: the bind parameters this module reads
BIND_PARAMS = ("ssl", "crt", "crt-list", "strict-sni", "alpn", "npn", "allow-0rtt", "ssl-min-ver", "ssl-max-ver", "ciphers", "ciphersuites",
               "ca-file", "verify", "curves", "ecdhe", "crl-file", "ca-verify-file", "no-ca-names",
               "no-tls-tickets", "prefer-client-ciphers", "ca-ignore-err", "crt-ignore-err", "tls-ticket-keys",
               *_NO_VER)
#: 2.6's messages for a bind parameter given without its value
MISSING = {
    "crt": "'crt' : missing certificate location",
    "crt-list": "'crt-list' : missing certificate location",
    "alpn": "'alpn' : missing the comma-delimited ALPN protocol suite",
    "npn": "'npn' : missing the comma-delimited NPN protocol suite",
    "ssl-min-ver": "'ssl-min-ver' : missing the ssl/tls version",
    "ssl-max-ver": "'ssl-max-ver' : missing the ssl/tls version",
    "ciphers": "'ciphers' : missing cipher suite",
    "ciphersuites": "'ciphersuites' : missing cipher suite",
    "ca-file": "'ca-file' : missing CAfile path",
    "verify": "'verify' : missing verify method",
    "curves": "'curves' : missing curve suite",
    "ecdhe": "'ecdhe' : missing named curve",
    "crl-file": "'crl-file' : missing CRLfile path",
    "ca-verify-file": "'ca-verify-file' : missing CAfile path",
    "ca-ignore-err": "'ca-ignore-err' : missing error IDs list",
    "crt-ignore-err": "'crt-ignore-err' : missing error IDs list",
}


@dataclass(frozen=True, slots=True)
class TlsBind:
    """A ``bind ... ssl`` line's TLS settings, files resolved and checked."""

    certs: tuple[CertFile, ...]
    strict_sni: bool = False
    alpn: tuple[str, ...] = ()
    #: ``npn``: the protocols advertised by Next Protocol Negotiation (TLS 1.2 and below)
    npn: tuple[str, ...] = ()
    #: ``allow-0rtt``: TLS 1.3 early data accepted from resuming clients (at most this many bytes)
    early: int = 0
    min_ver: str | None = None
    max_ver: str | None = None
    disabled: frozenset[str] = frozenset()
    ciphers: str | None = None
    ciphersuites: str | None = None
    ca_file: str | None = None
    verify: str = "none"
    #: the groups offered for key exchange ('curves', else 'ecdhe'; OpenSSL's default list without)
    curves: str | None = None
    ecdhe: str | None = None
    crl_file: str | None = None
    #: CAs that verify client certificates without being named in the CertificateRequest
    ca_verify_file: str | None = None
    no_ca_names: bool = False
    no_tickets: bool = False
    prefer_client: bool = False
    #: DH parameters for DHE suites: the global 'ssl-dh-param-file', else tune.ssl.default-dh-param's
    #: size (0: none, as 2.6 on OpenSSL 3 without the tune; a certificate file's own parameters win)
    dh_file: str | None = None
    dh_bits: int = 0
    #: what each certificate is served with, ``certs`` in the same order (tls/crtlist.py Entry)
    entries: tuple[Any, ...] = ()
    #: verification errors let pass (bit N: error N; ca: at depth > 0, crt: the certificate's own)
    ca_ignore: int = 0
    crt_ignore: int = 0
    #: tune.ssl.capture-buffer-size: bytes of each ClientHello kept for the ssl_fc_cipherlist_* /
    #: ssl_fc_e*_bin fetches (0: no capture, nothing done per handshake)
    capture: int = 0
    #: tune.ssl.keylog on: each handshake's TLS 1.3 secrets kept for the ssl_fc_*_secret fetches
    keylog: bool = False
    #: tune.ssl.lifetime: seconds a TLS session (and its ticket) stays valid (0: OpenSSL's 300)
    lifetime: int = 0
    #: ssl-skip-self-issued-ca: self-issued CA certificates of a file's chain are not sent
    skip_self_ca: bool = False
    #: tune.ssl.maxrecord: bytes per TLS record sent to clients (0: no limit)
    max_record: int = 0
    #: tune.ssl.cachesize: the session cache's size in 2.6's blocks (tls/context.py; 0: no cache)
    cache_size: int = 20000
    #: the session ticket keys (80 random bytes, drawn for each bind line when the configuration is
    #: read, so that the workers share them; b"": OpenSSL's own, per context)
    ticket_keys: bytes = dataclasses.field(default=b"", compare=False, repr=False)
    #: ``tls-ticket-keys FILE``: the file's key ring (tls/ticketkeys.py), shared by the bind lines
    #: naming that file and changed by ``set ssl tls-key``; it encrypts and decrypts the tickets
    ticket_ring: Any = dataclasses.field(default=None, compare=False, repr=False)


def _early_size(b: Any) -> int:
    """The early data a listener with allow-0rtt accepts: a buffer less its reserve, as 2.6
    (tune.bufsize - tune.maxrewrite; 15360 bytes by default), which its tickets announce."""
    size = int(b.g.get("tune_bufsize") or 16384)
    rewrite = b.g.get("tune_maxrewrite")
    rewrite = min(1024, size // 2) if rewrite is None else int(rewrite)
    return max(size - rewrite, 1)


def _base(g: dict[str, Any], which: str, path: str) -> str:
    base = g.get("tls", {}).get(which)
    if base and not path.startswith("/"):
        return os.path.join(base, path)
    return path


def global_kw(b: Builder, ln: Line) -> None:
    w = ln.words
    kw = w[0]
    t = b.g.setdefault("tls", {})
    if kw == "ssl-load-extra-del-ext":
        t["del-ext"] = True
    elif kw in ("crt-base", "ca-base"):
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
        _default_options(b, ln, t, "options", _FORCE_VER)
    elif kw == "ssl-default-bind-curves":
        if len(w) < 2:
            b.fail(ln, f"global statement '{kw}' expects a curves suite as an arguments.", 0)
        t[kw] = w[1]
    elif kw == "ssl-dh-param-file":
        if len(w) < 2:
            b.fail(ln, f"'{kw}' expects a file path as an argument.", 0)
        if not _dh_ok(w[1]):
            b.fail(ln, f"'{kw}': unable to load DH parameters from file <{w[1]}>.", 1)
        t[kw] = w[1]
    elif kw == "ssl-load-extra-files":
        args = w[1:]
        if not args or any(a not in ("none", "all", *EXTRA_FILES) for a in args):
            b.fail(ln, f"'{kw}' expects one or multiple arguments (none, all, bundle, sctl, ocsp, issuer).", 0)
        if len(args) > 1 and ("none" in args or "all" in args):
            b.fail(ln, f"'{kw}' 'none' and 'all' can be only used alone", 0)
        t["extra"] = (frozenset() if args == ["none"] else EXTRA_FILES if args == ["all"]
                      else frozenset(args))
    elif kw in ("tune.ssl.capture-buffer-size", "tune.ssl.capture-cipherlist-size"):
        if kw == "tune.ssl.capture-cipherlist-size":
            b.warn(ln, f"parsing [{ln.file}:{ln.lineno}]: '{kw}' is deprecated and will be removed in version 2.7. "
                   "Please use 'tune.ssl.capture-buffer-size' instead.", 0, raw=True)
        b.too_many_args(ln, 1)
        if len(w) < 2:
            b.fail(ln, f"'{kw}' expects an integer argument.", 0)
        n = _atoi(w[1])
        if n < 0:
            b.fail(ln, f"'{kw}' expects a positive numeric value.", 1)
        if "capture" in t:  # (even 0)
            b.fail(ln, f"'{kw}' is already configured.", 0)
        t["capture"] = n
    elif kw == "tune.ssl.keylog":
        b.too_many_args(ln, 1)
        v = w[1] if len(w) > 1 else ""
        if v not in ("on", "off"):
            b.fail(ln, f"'{kw}' expects either 'on' or 'off' but got '{v}'.", 1 if v else 0)
        t["keylog"] = v == "on"
    elif kw in ("tune.ssl.maxrecord", "tune.ssl.cachesize"):
        b.too_many_args(ln, 1)
        if len(w) < 2:
            b.fail(ln, f"'{kw}' expects an integer argument.", 0)
        n = _atoi(w[1])
        if n < 0:
            b.fail(ln, f"'{kw}' expects a positive numeric value.", 1)
        t[kw[9:]] = n
    elif kw == "tune.ssl.lifetime":
        b.too_many_args(ln, 1)
        t["lifetime"] = _seconds(b, ln)
    elif kw == "ssl-skip-self-issued-ca":
        t["skip-self-ca"] = True
    elif kw == "issuers-chain-path":
        from haproxy_py.tls.certs import load_issuers

        if len(w) < 2 or not os.path.exists(w[1]):
            b.fail(ln, f"global statement '{kw}' expects a directory path as an argument.", 0)
        if not os.path.isdir(w[1]):
            b.fail(ln, f"global statement '{kw}': {w[1]} is not a directory.", 1)
        warns: list[str] = []
        t["issuers"] = load_issuers(w[1], warns)
        for text in warns:
            b.d.warning(text)
    elif kw == "tune.ssl.default-dh-param":
        b.too_many_args(ln, 1)
        if len(w) < 2:
            b.fail(ln, f"'{kw}' expects an integer argument.", 0)
        m = re.match(r"\s*([+-]?\d+)", w[1])
        # atol into an unsigned int (-1 is 4294967295); kept even when refused, as 2.6 does
        n = t[kw] = (int(m.group(1)) if m else 0) % 2**32
        if n < 1024:
            b.fail(ln, f"'{kw}' expects a value >= 1024.", 1)


def _seconds(b: Builder, ln: Line) -> int:
    """A time in seconds (a bare number is seconds), with 2.6's messages."""
    from haproxy_py.config.grammar import parse_time

    w = ln.words
    kw = w[0]
    if len(w) < 2 or not w[1]:
        b.fail(ln, f"'{kw}' expects ssl sessions <lifetime> in seconds as argument.", 0)
    text = w[1]
    if text.isdigit():
        n = int(text)
    else:
        tv = parse_time(text)
        if tv.error in ("junk", "trailing"):
            b.fail(ln, f"unexpected character '{tv.char}' in argument to <{kw}>.", 1)
        n = (tv.value + 999) // 1000 if tv.error is None else 1 << 31
    if n > 2147483647:
        b.fail(ln, f"timer overflow in argument '{text}' to <{kw}> (maximum value is 2147483647 s or ~68 years).", 1)
    return n


def _error_ids(text: str) -> int | str:
    """'all' or a comma list of verification error numbers (1..94) as a bit mask; 2.6's message
    otherwise."""
    if text == "all":
        return (1 << 64) - 1
    mask = 0
    for part in text.split(","):
        n = _atoi(part)
        if n < 1 or n > 94:
            return f"ID '{n}' out of range (1..94) in error IDs list '{text}'"
        if n < 64:
            mask |= 1 << n
    return mask


def _dh_ok(path: str) -> bool:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_dh_params(path)
    except (OSError, ssl.SSLError, ValueError):
        return False
    return True


_FORCE_VER = ("force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13")
_FORCE_NAME = dict(zip(_FORCE_VER, VERSION_NAMES, strict=True))


def _default_options(b: Builder, ln: Line, t: dict[str, Any], key: str, refused: tuple[str, ...]) -> None:
    """``ssl-default-bind-options`` / ``ssl-default-server-options``: versions and disabled
    protocols into ``t[key]``; the options in ``refused`` are not implemented."""
    w = ln.words
    kw = w[0]
    opts = dict(t.get(key, {}))
    disabled = set(opts.get("disabled", ()))
    i = 1
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
        elif o in ("no-tls-tickets", "prefer-client-ciphers") and key == "options":
            opts[o] = True
        elif o in refused:
            b.fail(ln, f"'{kw} {o}' is not implemented by haproxy-py (HAProxy 2.6 supports it).", i, ours=True)
        elif o in _FORCE_VER:
            opts["ssl-min-ver"] = opts["ssl-max-ver"] = _FORCE_NAME[o]
        elif o == "no-tls-tickets":
            opts["no-tls-tickets"] = True
        else:
            b.fail(ln, f"unknown option '{o}' on global statement '{kw}'.", i)
        i += 1
    opts["disabled"] = frozenset(disabled)
    t[key] = opts


#: what each common TLS option of a bind line (and of a crt-list line) fills in TlsBind
_OPT_FIELD = {"alpn": "alpn", "npn": "npn", "ssl-min-ver": "min_ver", "ssl-max-ver": "max_ver", "ciphers": "ciphers",
              "ciphersuites": "ciphersuites", "ca-file": "ca_file", "verify": "verify", "curves": "curves",
              "ecdhe": "ecdhe", "crl-file": "crl_file", "ca-verify-file": "ca_verify_file",
              "no-ca-names": "no_ca_names"}


def ssl_option(b: Builder, k: str, v: object, st: dict[str, Any], fail: Any) -> None:
    """One of the TLS options a bind line and a crt-list line share, checked, into ``st`` (TlsBind's
    field names); ``fail(message, on_value)`` reports an error as the caller's line does."""
    if k in ("alpn", "npn"):
        protos = tuple(x for x in str(v).split(",") if x)
        if "h2" in protos:
            fail(f"'{k}' : 'h2' (HTTP/2) is not implemented by haproxy-py (HAProxy 2.6 supports it); use "
                 f"'{k} http/1.1'.", True, ours=True)
        if not protos:
            fail(MISSING[k], False)
        st[k] = protos
    elif k in ("ssl-min-ver", "ssl-max-ver"):
        if v not in VERSION_NAMES:
            fail(f"'{v}' : unknown ssl/tls version", True)
        st[_OPT_FIELD[k]] = str(v)
    elif k in ("ca-file", "ca-verify-file", "crl-file"):
        path = _base(b.g, "ca-base", str(v))
        err = _check_ca(path, crl=k == "crl-file")
        if err is not None:
            fail(f"'{k}' : unable to load {path}", True, before=f"Couldn't open the ca-file '{path}' ({err}).")
        st[_OPT_FIELD[k]] = path
    elif k == "verify":
        if v not in ("none", "optional", "required"):
            fail(f"'verify' : unknown verify method '{v}', only 'none', 'optional', and 'required' are "
                 "supported", True)
        st["verify"] = str(v)
    elif k == "no-ca-names":
        st["no_ca_names"] = True
    else:
        st[_OPT_FIELD[k]] = str(v)


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
    st: dict[str, Any] = {
        "min_ver": gopts.get("ssl-min-ver"), "max_ver": gopts.get("ssl-max-ver"),
        "ciphers": g.get("ssl-default-bind-ciphers"), "ciphersuites": g.get("ssl-default-bind-ciphersuites"),
        "curves": g.get("ssl-default-bind-curves"), "no_tickets": bool(gopts.get("no-tls-tickets")),
        "prefer_client": bool(gopts.get("prefer-client-ciphers")), "dh_file": g.get("ssl-dh-param-file"),
        "dh_bits": g.get("tune.ssl.default-dh-param", 0), "capture": g.get("capture", 0),
        "keylog": bool(g.get("keylog")), "lifetime": g.get("lifetime", 0),
        "skip_self_ca": bool(g.get("skip-self-ca")), "max_record": g.get("maxrecord", 0),
        "cache_size": g.get("cachesize", 20000), "ticket_keys": os.urandom(80)}
    disabled = set(gopts.get("disabled", ()))
    strict = False
    entries: list[Entry] = []
    for k, v in params:
        if k == "ssl":
            ssl_on = True
        elif k == "crt":
            path = _base(b.g, "crt-base", str(v))
            for f in cert_paths(path):
                warns: list[str] = []
                try:
                    c = complete_chain(load_cert(f, bool(g.get("del-ext")), g.get("extra", EXTRA_FILES), warns),
                                       g.get("issuers", []))
                except CertError as e:
                    b.fail(ln, pre + str(e), col("crt") + 1, ours=isinstance(e, CertRefused))
                for text in warns:
                    b.d.warning(text, ln.loc(col("crt") + 1), line=ln.raw)
                certs.append(c)
                entries.append(Entry(c, path if os.path.isdir(path) else ""))
        elif k == "crt-list":
            for ent in _crt_list(b, ln, pre, _base(b.g, "crt-base", str(v)), col("crt-list") + 1):
                certs.append(ent.cert)
                entries.append(ent)
        elif k == "strict-sni":
            strict = True
        elif k in _NO_VER:
            disabled.add(_NO_VER[k])
        elif k == "no-tls-tickets":
            st["no_tickets"] = True
        elif k == "prefer-client-ciphers":
            st["prefer_client"] = True
        elif k == "tls-ticket-keys":
            ring = _ticket_ring(b, str(v))
            if isinstance(ring, str):
                b.fail(ln, pre + ring, col(k) + 1)
            from haproxy_py.tls.context import ticket_callback_problem

            why = ticket_callback_problem()
            if why:
                b.fail(ln, pre + f"'{k}' is not implemented by haproxy-py on this Python ({why}).", col(k), ours=True)
            st["ticket_ring"] = ring
        elif k == "allow-0rtt":
            st["early"] = _early_size(b)
        elif k in ("ca-ignore-err", "crt-ignore-err"):
            mask = _error_ids(str(v))
            if isinstance(mask, str):
                b.fail(ln, pre + f"'{k}' : {mask}", col(k) + 1)
            st["ca_ignore" if k == "ca-ignore-err" else "crt_ignore"] = mask
        elif k in _OPT_FIELD:
            def fail(msg: str, on_value: bool, *, ours: bool = False, before: str | None = None,
                     k: str = k) -> None:
                i = col(k) + (1 if on_value else 0)
                if before:
                    b.d.alert(before, ln.loc(i), line=ln.raw)
                b.fail(ln, pre + msg, i, ours=ours)

            ssl_option(b, k, v, st, fail)
    if not ssl_on:
        return None
    where = f"for bind '{w[1]}' at [{ln.file}:{ln.lineno}]"
    pname = f"Proxy '{p.name}': "
    if disabled and (st["min_ver"] or st["max_ver"]):
        b.d.warning(pname + f"no-sslv3/no-tlsv1x are ignored {where}. Use only 'ssl-min-ver' and "
                    "'ssl-max-ver' to fix.", ln.loc(0), line=ln.raw, phase=POST)
        disabled = set()
    conf = TlsBind(tuple(certs), strict, disabled=frozenset(disabled), entries=tuple(entries), **st)
    problems = []
    if not certs:
        problems.append(f"no SSL certificate specified {where} (use 'crt').")
    problems += conf_problems(conf, where)
    for ent in entries:
        if ent.conf:
            for msg in conf_problems(dataclasses.replace(conf, **dict(ent.conf)), where):
                if msg not in problems:
                    problems.append(msg)
    for msg in problems:  # 2.6 checks the contexts after parsing, and only when parsing went well
        b.g.setdefault("tls", {}).setdefault("post", []).append((pname + msg, ln.loc(0), ln.raw))
    if st["dh_bits"] and st["dh_bits"] < 2048 and not st["dh_file"]:
        for c in certs:
            if not c.dh:
                b.warn(ln, pre + f"\n  unable to load default 1024 bits DH parameter for certificate '{c.path}'.\n"
                       "  , DH ciphers won't be available.")
    return None if problems else conf


def _ticket_ring(b: Builder, path: str) -> Any:
    """The ring of key file ``path`` (read once, the bind lines naming it share it), or 2.6's
    message for the file."""
    from haproxy_py.tls import ticketkeys

    rings = b.g.setdefault("tls", {}).setdefault("ticket-rings", {})
    ring = rings.get(path)
    if ring is None:
        ring = ticketkeys.load(path)
        if isinstance(ring, str):
            return ring
        rings[path] = ring
    return ring


def ticket_rings(b: Builder) -> tuple[Any, ...]:
    """The key rings of the configuration, numbered as 2.6 numbers them (show tls-keys)."""
    from haproxy_py.tls import ticketkeys

    return ticketkeys.number(list(b.g.get("tls", {}).get("ticket-rings", {}).values()))


def _crt_list(b: Builder, ln: Line, pre: str, path: str, i: int) -> list[Entry]:
    """The entries of a crt-list file, each line's certificate loaded and options checked."""
    pre = pre + "'crt-list' : "
    try:
        with open(path, encoding="latin-1") as f:
            text = f.read()
    except OSError as e:
        b.fail(ln, pre + f"cannot open file '{path}' : {e.strerror}", i)
    g = b.g.get("tls", {})
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        try:
            spec = parse_line(raw)
        except CrtListError as e:
            b.fail(ln, pre + f"parsing [{path}:{n}]: {e}", i)
        if spec is None:
            continue
        warns: list[str] = []
        try:
            cert = complete_chain(load_cert(_base(b.g, "crt-base", spec.cert), bool(g.get("del-ext")),
                                            g.get("extra", EXTRA_FILES), warns), g.get("issuers", []))
        except CertError as e:
            b.fail(ln, pre + str(e), i, ours=isinstance(e, CertRefused))
        for text in warns:
            b.d.warning(text, ln.loc(i), line=ln.raw)
        st: dict[str, Any] = {}
        for k, v in spec.options:
            if k == "allow-0rtt":
                # kept for 'show ssl crt-list', without effect as in 2.6: a connection's early
                # data limit is the bind line's (its first context's, copied when the connection
                # is made), which a certificate's context chosen by the server name does not
                # change; so early data is accepted where the bind line has allow-0rtt, whatever
                # the entry says
                continue

            def fail(msg: str, on_value: bool, *, ours: bool = False, before: str | None = None) -> None:
                if before:
                    b.d.alert(before, ln.loc(i), line=ln.raw)
                b.fail(ln, pre + msg, i, ours=ours)

            ssl_option(b, k, v, st, fail)
        out.append(Entry(cert, path, n, spec.options, spec.filters, tuple(st.items())))
    return out


def post_checks(b: Builder) -> None:
    """The alerts of the bind lines' TLS settings, which 2.6 gives after parsing (none when
    parsing failed)."""
    for text, loc, raw in b.g.get("tls", {}).get("post", ()):
        b.d.alert(text, loc, line=raw, phase=POST)


def conf_problems(conf: TlsBind, where: str) -> list[str]:
    """What 2.6 reports (after parsing) for these settings ``where`` ('for bind ... at [...]')."""
    problems = []
    if conf.verify != "none" and conf.ca_file is None and conf.ca_verify_file is None:
        problems.append(f"verify is enabled but no CA file specified {where}.")
    err = _check_ctx(conf)
    if err == "versions":
        problems.append(f"all SSL/TLS versions are disabled {where}.")
    elif err == "ciphers":
        problems.append(f"unable to set SSL cipher list to '{conf.ciphers}' {where}.")
    elif err == "ciphersuites":
        problems.append(f"unable to set TLS 1.3 cipher suites to '{conf.ciphersuites}' {where}.")
    elif err == "curves":
        problems.append(f"unable to set SSL curves list to '{conf.curves}' {where}.")
    elif err == "ecdhe":
        problems.append(f"unable to set elliptic named curve to '{conf.ecdhe}' {where}.")
    return problems


def _check_ca(path: str, crl: bool = False) -> str | None:
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


def _check_ctx(conf: Any) -> str | None:
    from haproxy_py.tls.context import apply_bind, apply_common

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    err = apply_common(ctx, conf)
    if err is None and isinstance(conf, TlsBind):
        err = apply_bind(ctx, conf)
    return err


# --------------------------------------------------------------------------- servers

#: the server parameters this module reads
SERVER_PARAMS = ("ssl", "no-ssl", "verify", "ca-file", "sni", "alpn", "npn", "check-ssl", "no-check-ssl",
                 "ssl-min-ver", "ssl-max-ver", "ciphers", "ciphersuites", "crt", "crl-file", "verifyhost",
                 "check-sni", "check-alpn", "ssl-reuse", "no-ssl-reuse", "tls-tickets", "no-tls-tickets",
                 *_NO_VER, *_FORCE_VER)
#: what 2.6 refuses in a default-server line ("'no-sslv3' option is not accepted in default-server sections")
_NOT_IN_DEFAULT = tuple(_NO_VER)
SERVER_GLOBALS = ("ssl-server-verify", "ssl-default-server-ciphers", "ssl-default-server-ciphersuites",
                  "ssl-default-server-options")
#: 2.6's messages for a server parameter given without its value
SERVER_MISSING = {
    "sni": "'sni' : missing sni expression.",
    "alpn": "'alpn' : missing the comma-delimited ALPN protocol suite.",
    "npn": "'npn' : missing the comma-delimited NPN protocol suite.",
    "verify": "'verify' : missing verify method.",
    "ca-file": "'ca-file' : missing CAfile path.",
    "ciphers": "'ciphers' : missing cipher suite.",
    "ciphersuites": "'ciphersuites' : missing cipher suite.",
    "ssl-min-ver": "'ssl-min-ver' : missing the ssl/tls version.",
    "ssl-max-ver": "'ssl-max-ver' : missing the ssl/tls version.",
    "crt": "'crt' : missing certificate file path.",
    "crl-file": "'crl-file' : missing CRLfile path.",
    "verifyhost": "'verifyhost' : missing hostname to verify against.",
    "check-sni": "'check-sni' : missing SNI.",
    "check-alpn": "'check-alpn' : missing the comma-delimited ALPN protocol suite.",
}


@dataclass(frozen=True, slots=True)
class TlsServer:
    """A server's TLS settings: ``ssl`` for its traffic, ``check_ssl`` for its health checks."""

    ssl: bool = False
    #: True for check-ssl, False for no-check-ssl, None: checks over TLS when the traffic is and
    #: they go to the server's own address and port (2.6's rule)
    check_ssl: bool | None = None
    verify: str = "required"
    ca_file: str | None = None
    #: the ``sni`` sample expression's text, evaluated for each connection
    sni: str | None = None
    alpn: tuple[str, ...] = ()
    #: ``npn``: the protocols this side asks for by Next Protocol Negotiation (TLS 1.2 and below)
    npn: tuple[str, ...] = ()
    min_ver: str | None = None
    max_ver: str | None = None
    disabled: frozenset[str] = frozenset()
    ciphers: str | None = None
    ciphersuites: str | None = None
    #: ``crt``: the client certificate presented to the server (tls/certs.py CertFile), and its path
    crt: Any = None
    crt_path: str | None = None
    crl_file: str | None = None
    #: ``verifyhost``: the name the server's certificate must carry (else the SNI sent, if any)
    verifyhost: str | None = None
    #: ``check-sni`` (a plain string) and ``check-alpn`` for the health checks over TLS
    check_sni: str | None = None
    check_alpn: tuple[str, ...] = ()
    #: ``ssl-reuse`` (2.6's default): a connection resumes the TLS session of the previous one
    reuse: bool = True
    #: ``tls-tickets`` (the default) / ``no-tls-tickets``: session tickets offered to the server
    tickets: bool = True
    #: the globals that apply to both sides: tune.ssl.maxrecord (bytes per record sent, 0: no
    #: limit) and ssl-skip-self-issued-ca (the client certificate's chain sent without them)
    max_record: int = 0
    skip_self_ca: bool = False


NO_CA = ("verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain "
         "to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or "
         "use 'ssl-server-verify none' in the global section to disable server-side verifications by default.")


def check_rule_servers(b: Builder, cfg: Any) -> None:
    """A backend whose checks have a ``connect ssl`` rule (tcp-check or http-check) prepares TLS
    for its checked servers as 2.6 does: one that would verify without a CA file is refused."""
    g = b.g.get("tls", {})
    dflt = g.get("ssl-server-verify", "none" if b.env.get("HAPROXY_PY_NO_SERVER_VERIFY") else "required")
    for p in cfg.proxies:
        rules = list(p.tcp_check or ())
        if p.http_check is not None and p.http_check.connect is not None:
            rules.append(p.http_check.connect)
        if not any(getattr(r, "ssl", False) for r in rules):
            continue
        for s in p.servers:
            t = s.tls
            if not s.check or (t is not None and (t.ssl or t.check_ssl)):
                continue  # a TLS server was checked with its own line
            verify = t.verify if t is not None else dflt
            if verify == "required" and (t is None or t.ca_file is None):
                b.d.alert(f"[{s.loc.file}:{s.loc.line}] : 'server {p.name}/{s.name}' : {NO_CA}", s.loc, phase=POST)


def server_global(b: Builder, ln: Line) -> None:
    w = ln.words
    kw = w[0]
    t = b.g.setdefault("tls", {})
    if kw == "ssl-server-verify":
        if len(w) < 2 or w[1] not in ("none", "required"):
            b.fail(ln, f"'{kw}' expects 'none' or 'required' as argument.", 1 if len(w) > 1 else 0)
        t[kw] = w[1]
    elif kw in ("ssl-default-server-ciphers", "ssl-default-server-ciphersuites"):
        if len(w) < 2:
            b.fail(ln, f"'{kw}' expects a cipher suite as an argument.", 0)
        t[kw] = w[1]
    else:  # ssl-default-server-options
        _default_options(b, ln, t, "server-options", ())


def server_tls(b: Builder, ln: Line, p: ProxyState, label: str, extra: list[tuple[str, object]], own: int,
               default: bool) -> TlsServer | None:
    """A server line's TLS settings from its parameters (the default-server's first, then its own,
    from index ``own``): the values of its own words are checked here (``-c`` loads the CA file);
    for a server (not a default-server) the whole, post-parse as 2.6 does."""
    w = ln.words
    pre = f"[{ln.file}:{ln.lineno}] : {label} : "

    def col(name: str) -> int:
        return w.index(name) + 1 if name in w else 0

    def fail(msg: str, i: int) -> None:
        b.d.alert(pre + msg, ln.loc(i), line=ln.raw)
        from haproxy_py.config.build.state import _Skip

        raise _Skip

    g = b.g.get("tls", {})
    gopts = g.get("server-options", {})
    # -dV (the CLI sets HAPROXY_PY_NO_SERVER_VERIFY) makes 'none' the default, as 'ssl-server-verify none'
    dflt = "none" if b.env.get("HAPROXY_PY_NO_SERVER_VERIFY") else "required"
    st: dict[str, Any] = {"ssl": False, "check_ssl": None, "verify": g.get("ssl-server-verify", dflt),
                          "ca_file": None, "sni": None, "alpn": (), "min_ver": gopts.get("ssl-min-ver"),
                          "max_ver": gopts.get("ssl-max-ver"), "ciphers": g.get("ssl-default-server-ciphers"),
                          "ciphersuites": g.get("ssl-default-server-ciphersuites"),
                          "tickets": True, "max_record": g.get("maxrecord", 0),
                          "skip_self_ca": bool(g.get("skip-self-ca"))}
    disabled = set(gopts.get("disabled", ()))
    touched = False
    for idx, (k, v) in enumerate(extra):
        if k not in SERVER_PARAMS:
            continue
        touched = True
        mine = idx >= own
        if k in ("ssl", "no-ssl"):
            st["ssl"] = k == "ssl"
        elif k in ("check-ssl", "no-check-ssl"):
            st["check_ssl"] = k == "check-ssl"
        elif k == "verify":
            if mine and v not in ("none", "required"):
                fail(f"'verify' : unknown verify method '{v}', only 'none' and 'required' are supported.", col(k))
            st["verify"] = str(v)
        elif k == "ca-file":
            path = _base(b.g, "ca-base", str(v))
            if mine:
                err = _check_ca(path)
                if err is not None:
                    b.d.alert(pre + f"Couldn't open the ca-file '{path}' ({err}).", ln.loc(col(k)), line=ln.raw)
                    b.d.alert(f"'ca-file' : unable to load {path}.", ln.loc(col(k)), line=ln.raw)
                    from haproxy_py.config.build.state import _Skip

                    raise _Skip
            st["ca_file"] = path
        elif k == "sni":
            if mine:
                from haproxy_py.samples import SampleError, parse_expr

                try:
                    parse_expr(str(v))
                except SampleError as e:
                    fail(f"error detected while parsing sni expression : {str(e).rstrip('.')}", col(k))
            st["sni"] = str(v)
        elif k in ("alpn", "npn"):
            protos = tuple(x for x in str(v).split(",") if x)
            if mine and "h2" in protos:
                fail(f"'{k}' : 'h2' (HTTP/2) is not implemented by haproxy-py (HAProxy 2.6 supports it); use "
                     f"'{k} http/1.1'.", col(k))
            st[k] = protos
        elif k in ("ssl-min-ver", "ssl-max-ver"):
            if mine and v not in VERSION_NAMES:
                fail(f"'{v}' : unknown ssl/tls version", col(k))
            st["min_ver" if k == "ssl-min-ver" else "max_ver"] = str(v)
        elif k in ("ciphers", "ciphersuites"):
            st[k] = str(v)
        elif k == "crl-file":
            path = _base(b.g, "ca-base", str(v))
            if mine:
                err = _check_ca(path)
                if err is not None:
                    b.d.alert(pre + f"Couldn't open the ca-file '{path}' ({err}).", ln.loc(col(k)), line=ln.raw)
                    b.d.alert(f"'crl-file' : unable to load {path}.", ln.loc(col(k)), line=ln.raw)
                    from haproxy_py.config.build.state import _Skip

                    raise _Skip
            st["crl_file"] = path
        elif k == "crt":
            st["crt_path"] = _base(b.g, "crt-base", str(v))
        elif k == "verifyhost":
            st["verifyhost"] = str(v)
        elif k == "check-sni":
            st["check_sni"] = str(v)
        elif k == "check-alpn":
            protos = tuple(x for x in str(v).split(",") if x)
            if mine and "h2" in protos:
                fail("'check-alpn' : 'h2' (HTTP/2) is not implemented by haproxy-py (HAProxy 2.6 supports it); "
                     "use 'check-alpn http/1.1'.", col(k))
            st["check_alpn"] = protos
        elif k in ("ssl-reuse", "no-ssl-reuse"):
            st["reuse"] = k == "ssl-reuse"
        elif k in ("tls-tickets", "no-tls-tickets"):
            st["tickets"] = k == "tls-tickets"
        elif k in _NO_VER:
            if default and mine:
                b.d.alert(f"[{ln.file}:{ln.lineno}] : '{k}' option is not accepted in default-server sections",
                          ln.loc(col(k) - 1), line=ln.raw)
                from haproxy_py.config.build.state import _Skip

                raise _Skip
            disabled.add(_NO_VER[k])
        elif k in _FORCE_VER:
            st["min_ver"] = st["max_ver"] = _FORCE_NAME[k]
    if gopts.get("no-tls-tickets"):
        st["tickets"] = False  # a server's tls-tickets does not undo the global no-tls-tickets (2.6)
    if not touched and not disabled:
        return None
    if disabled and (st["min_ver"] or st["max_ver"]) and not default and (st["ssl"] or st["check_ssl"]):
        b.d.warning(pre + "no-sslv3/no-tlsv1x are ignored for this server. Use only 'ssl-min-ver' and "
                    "'ssl-max-ver' to fix.", ln.loc(0), line=ln.raw, phase=POST)
        disabled = set()
    conf = TlsServer(disabled=frozenset(disabled), **st)
    if default:
        return conf if (conf.ssl or conf.check_ssl) else None
    if not (conf.ssl or conf.check_ssl):
        return conf  # for the checks' 'connect ssl' rules (check_rule_servers)
    problems = []
    if conf.crt_path is not None:
        from haproxy_py.tls.certs import CertError, load_cert

        try:
            from haproxy_py.tls.certs import complete_chain

            # issuers-chain-path completes a client certificate's chain too, as 2.6
            conf = dataclasses.replace(conf, crt=complete_chain(load_cert(conf.crt_path, bool(g.get("del-ext"))),
                                                                g.get("issuers", [])))
        except CertError as e:
            b.d.alert(pre + str(e), ln.loc(col("crt")), line=ln.raw, phase=POST)
            return None
    if conf.verify == "required" and conf.ca_file is None:
        problems.append(NO_CA)
    err = _check_ctx(conf)
    name = w[1] if len(w) > 1 else ""
    if err == "versions":
        problems.append(f"backend '{p.name}': all SSL/TLS versions are disabled for server '{name}'.")
    elif err == "ciphers":
        problems.append(f"unable to set SSL cipher list to '{conf.ciphers}'.")
    elif err == "ciphersuites":
        problems.append(f"unable to set TLS 1.3 cipher suites to '{conf.ciphersuites}'.")
    for msg in problems:
        b.d.alert(pre + msg, ln.loc(0), line=ln.raw, phase=POST)
    return conf
