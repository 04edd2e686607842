"""``tcp-check`` lines -> ``TcpCheckRule`` (the builder's part of ``option tcp-check``), and the
rule sequences of the protocol checks built on them (``option redis-check``). Pure.

Only what checks/tcpcheck.py runs is accepted; the rest of 2.6's tcp-check language is refused
with a :class:`TcpCheckError` whose message says so (``ours``: the text is haproxy-py's).
"""

from __future__ import annotations

import re
from typing import Any

from haproxy_py.config.model import TcpCheckRule

REFUSED = "is not implemented by haproxy-py (HAProxy 2.6 supports it)"
OK_STATUSES = ("L7OK", "L7OKC", "L6OK", "L4OK")
ERROR_STATUSES = ("L7RSP", "L7STS", "L6RSP", "L4CON")
TOUT_STATUSES = ("L7TOUT", "L6TOUT", "L4TOUT")
INT_EXPR = _INT_EXPR = re.compile(r"int\((-?\d+)\)$")


class TcpCheckError(Exception):
    def __init__(self, message: str, index: int, ours: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.index = index  # word index in the line
        self.ours = ours


def _hex(text: str, i: int, what: str) -> bytes:
    try:
        if len(text) % 2:
            raise ValueError
        return bytes.fromhex(text)
    except ValueError:
        raise TcpCheckError(f"'tcp-check {what}' : '{text}' is not a valid hexadecimal string.", i) from None


def _comment_opt(w: list[str], j: int, sub: str) -> str:
    if j + 1 >= len(w):
        raise TcpCheckError(f"'tcp-check {sub}' : 'comment' expects a string as argument.", j)
    return w[j + 1]


def parse_line(w: list[str], index: int) -> TcpCheckRule | str:
    """One ``tcp-check ...`` line (``w[0]`` is ``tcp-check``): its rule, or the text of a
    ``tcp-check comment`` (the comment of the rule that follows)."""
    sub = w[1] if len(w) > 1 else ""
    if sub == "comment":
        if len(w) < 3:
            raise TcpCheckError("'tcp-check comment' : expects a string as argument.", 1, ours=False)
        return " ".join(w[2:])
    if sub.startswith(("set-var(", "set-var-fmt(", "unset-var(")):
        return _var_action(w, index)
    if sub == "connect":
        return connect_rule(w, index)
    if sub in ("send", "send-lf", "send-binary", "send-binary-lf"):
        if len(w) < 3:
            raise TcpCheckError(f"'tcp-check {sub}' expects a string as argument.", 1)
        data_w = w[2]
        fmt = None
        data = b""
        if sub.endswith("-lf"):
            fmt = _format(data_w, 2, sub)
        elif sub == "send-binary":
            data = _hex(data_w, 2, sub)
        else:
            data = data_w.encode("latin-1", "replace")
        comment = None
        j = 3
        while j < len(w):
            if w[j] == "comment":
                comment = _comment_opt(w, j, sub)
                j += 2
            else:
                raise TcpCheckError(f"'tcp-check {sub}' : expects 'comment' but got '{w[j]}' as argument..", j)
        return TcpCheckRule("send", index, comment, data=data, fmt=fmt,
                            kind="binary" if sub == "send-binary-lf" else "")
    if sub == "expect":
        return _expect(w, index)
    raise TcpCheckError("'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect', "
                        f"'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got '{sub}'", 1, ours=False)


#: the multiplexers 2.6.12 knows, by the mode of the check that may name them
MUX_MODES = _MUX = {"none": "tcp", "h1": "http", "h2": "http", "fcgi": "http"}


def connect_rule(w: list[str], index: int, what: str = "tcp-check") -> TcpCheckRule:
    """``tcp-check connect ...`` / ``http-check connect ...`` (``what``): where and how the check
    connects. ``proto`` names the multiplexer: ``none`` (raw TCP) for tcp-check, ``h1`` for
    http-check, as haproxy-py speaks; ``h2`` and ``fcgi`` are refused."""
    port: int | None = None
    addr: str | None = None
    comment = None
    send_proxy = False
    linger = False
    via_socks4 = False
    port_expr = None
    tls: dict[str, Any] = {}
    j = 2
    while j < len(w):
        a = w[j]
        if a == "ssl":  # over TLS, with the server's TLS settings (verify, ca-file, crt...)
            tls["ssl"] = True
            j += 1
        elif a == "sni":
            if j + 1 >= len(w):
                raise TcpCheckError(f"'{what} connect' : '{a}' expects a string as argument..", j, ours=False)
            tls["sni"] = w[j + 1]
            j += 2
        elif a == "alpn":
            if j + 1 >= len(w):
                raise TcpCheckError(f"'{what} connect' : '{a}' : missing the comma-delimited ALPN protocol suite.",
                                    j, ours=False)
            protos = tuple(x for x in w[j + 1].split(",") if x)
            if "h2" in protos:
                raise TcpCheckError(f"'{what} connect alpn h2' (HTTP/2) {REFUSED}; use 'alpn http/1.1'", j + 1)
            tls["alpn"] = protos
            j += 2
        elif a == "port" and j + 1 < len(w):
            if w[j + 1].lstrip("-").isdigit():
                port = int(w[j + 1])
                if not 0 < port < 65536:
                    raise TcpCheckError(f"'{what} connect' : invalid port '{w[j + 1]}'.", j + 1)
            else:  # a sample expression, evaluated at each check (as an integer; 0 or none: not set)
                port_expr = _int_expr(w[j + 1], j + 1)
            j += 2
        elif a == "addr" and j + 1 < len(w):
            addr = w[j + 1]
            j += 2
        elif a == "comment":
            comment = _comment_opt(w, j, "connect")
            j += 2
        elif a == "default":  # the server's check address/port/options (check-ssl...): what the implicit connect uses
            tls["default"] = True
            j += 1
        elif a == "linger":  # close with a FIN (2.6 resets check connections by default)
            linger = True
            j += 1
        elif a == "send-proxy":
            send_proxy = True
            j += 1
        elif a == "proto":
            if j + 1 >= len(w):
                raise TcpCheckError(f"'{what} connect' : '{a}' expects a MUX protocol as argument..", j,
                                    ours=False)
            mux = w[j + 1]
            mode = "http" if what == "http-check" else "tcp"
            if mux not in _MUX:
                raise TcpCheckError(f"'{what} connect' : '{a}' : unknown MUX protocol '{mux}'..", j + 1, ours=False)
            if _MUX[mux] != mode:
                raise TcpCheckError(f"'{what} connect' : '{a}' : invalid MUX protocol '{mux}' for {what}.", j + 1,
                                    ours=False)
            if mux in ("h2", "fcgi"):
                raise TcpCheckError(f"'{what} connect proto {mux}' {REFUSED}; 'proto h1' is implemented", j + 1)
            j += 2
        elif a == "via-socks4":  # through the server's socks4 proxy
            via_socks4 = True
            j += 1
        else:
            raise TcpCheckError(f"'{what} connect' : expects 'comment', 'port', 'addr', 'send-proxy', 'ssl', 'sni', "
                                f"'alpn' or 'via-socks4', 'linger', 'default' but got '{a}' as argument..", j,
                                ours=False)
    return TcpCheckRule("connect", index, comment, port=port, addr=addr, send_proxy=send_proxy,
                        port_expr=port_expr, linger=linger, **tls, via_socks4=via_socks4)


def _int_expr(text: str, i: int) -> object:
    from haproxy_py.samples import SampleError, compile_expr

    try:
        fn = compile_expr(text)
    except SampleError as e:
        raise TcpCheckError(f"'tcp-check connect' : {e.message}", i) from None

    def port(txn: Any) -> int | None:
        s = fn(txn)
        if s is None:
            return None
        v = s.value
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, int):
            return v
        if isinstance(v, bytes) and v.strip().lstrip(b"-").isdigit():
            return int(v)
        return None
    return port


def _expect(w: list[str], index: int) -> TcpCheckRule:
    kw: dict[str, object] = {}
    kind = ""
    pattern = b""
    neg = False
    j = 2
    while j < len(w):
        a = w[j]
        val = w[j + 1] if j + 1 < len(w) else None
        if a == "!":
            neg = True
            j += 1
            continue
        if a in ("string", "rstring", "binary", "rbinary"):
            if kind:
                raise TcpCheckError(f"'tcp-check expect' : only on pattern expected ('{kind}' already "
                                    f"given, got '{a}').", j)
            if val is None:
                raise TcpCheckError(f"'tcp-check expect' : '{a}' expects <pattern> as an argument.", j)
            kind = a
            if a == "binary":
                pattern = _hex(val, j + 1, "expect binary")
            else:
                pattern = val.encode("latin-1", "replace")
                if a in ("rstring", "rbinary"):
                    try:
                        re.compile(pattern)
                    except re.error as e:
                        raise TcpCheckError(f"'tcp-check expect' : regex '{val}' does not compile: {e}.",
                                            j + 1) from None
            j += 2
            continue
        if a in ("string-lf", "binary-lf"):
            if kind:
                raise TcpCheckError(f"'tcp-check expect' : only on pattern expected ('{kind}' already "
                                    f"given, got '{a}').", j)
            if val is None:
                raise TcpCheckError(f"'tcp-check expect' : '{a}' expects <pattern> as an argument.", j)
            kind = a
            kw["fmt"] = _format(val, j + 1, "expect")
            j += 2
            continue
        if a == "custom":
            raise TcpCheckError(f"'tcp-check expect {a}' {REFUSED}; 'string', 'rstring', 'binary', "
                                "'rbinary', 'string-lf' and 'binary-lf' are implemented", j)
        if val is None:
            raise TcpCheckError(f"'tcp-check expect' : '{a}' expects an argument.", j)
        if a == "min-recv":
            try:
                kw["min_recv"] = int(val)
            except ValueError:
                raise TcpCheckError(f"'tcp-check expect' : '{a}' expects a integer as argument.", j + 1) from None
        elif a == "comment":
            kw["comment"] = val
        elif a in ("ok-status", "error-status", "tout-status"):
            allowed = {"ok-status": OK_STATUSES, "error-status": ERROR_STATUSES,
                       "tout-status": TOUT_STATUSES}[a]
            if val not in allowed:
                raise TcpCheckError(f"'tcp-check expect' : '{a}' only supports {statuses_text(allowed)} status "
                                    f"(got '{val}')..", j + 1, ours=False)
            kw[a.replace("-", "_")] = val
        elif a in ("on-success", "on-error"):
            if "%" in val:  # a log-format string, built when the check ends there
                kw[a.replace("-", "_") + "_lf"] = log_format(val, j + 1, "tcp-check expect")
            else:
                kw[a.replace("-", "_")] = val
        elif a == "status-code":
            m = _INT_EXPR.match(val)
            if m is not None:
                kw["status_code"] = int(m.group(1))
            else:
                from haproxy_py.samples import SampleError, compile_expr

                try:
                    kw["status_expr"] = compile_expr(val)
                except SampleError as e:
                    raise TcpCheckError(f"'tcp-check expect' : error detected while parsing status-code "
                                        f"expression : {e.message}", j + 1, ours=False) from None
        else:
            raise TcpCheckError("'tcp-check expect' : expects 'min-recv', 'comment', 'ok-status', "
                                "'error-status', 'tout-status', 'on-success', 'on-error', 'status-code', "
                                f"'!', 'string', 'rstring', 'binary' or 'rbinary' but got '{a}'.", j)
        j += 2
    if not kind:
        raise TcpCheckError("'tcp-check expect' : expects a pattern type ('string', 'rstring', 'binary' "
                            "or 'rbinary').", 1)
    return TcpCheckRule("expect", index, kind=kind, pattern=pattern, neg=neg, **kw)  # type: ignore[arg-type]


def log_format(text: str, i: int, what: str) -> object:
    """A log-format argument compiled once (samples/expr.py); ``what`` names the directive in errors
    (``http-check send uri-lf``)."""
    from haproxy_py.samples import SampleError, compile_format

    try:
        return compile_format(text, place="tcp-check")
    except SampleError as e:
        raise TcpCheckError(f"'{what}' : '{text}' invalid log-format string ({e.message}).\n.", i) from None


def _format(text: str, i: int, what: str) -> object:
    return log_format(text, i, f"tcp-check {what}")


def statuses_text(allowed: tuple[str, ...]) -> str:
    """``'L4OK', 'L6OK', 'L7OK' or 'L7OKC'``: a status list as 2.6's errors give it."""
    q = [f"'{x}'" for x in sorted(allowed)]
    return ", ".join(q[:-1]) + " or " + q[-1]


_VAR_SCOPES = ("proc", "sess", "txn", "req", "res", "check")


def var_action(w: list[str], index: int, what: str = "tcp-check") -> TcpCheckRule:
    """``tcp-check set-var(SCOPE.NAME) EXPR`` / ``set-var-fmt(SCOPE.NAME) FMT`` / ``unset-var(SCOPE.NAME)``
    (``what``: ``http-check``). As 2.6.12, words after the expression or format are ignored, and a
    missing format is an empty one."""
    sub = w[1]
    act, _, rest = sub.partition("(")
    pre = f"'{what} {sub}' : '{act}' : "
    if not rest.endswith(")"):
        raise TcpCheckError(f"{pre}incomplete argument after action '{sub}'. Expects 'set-var(<var-name>)', "
                            "'set-var-fmt(<var-name>)' or 'unset-var(<var-name>)'.", 1, ours=False)
    name = rest[:-1]
    scope, dot, var = name.partition(".")
    if scope not in _VAR_SCOPES or not dot or not var or "," in name:
        raise TcpCheckError(f"{pre}invalid variable name '{name}'. A variable name must be start by "
                            "its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'.", 1,
                            ours=False)
    args = w[2:]
    if act == "unset-var":
        def unset(txn: Any) -> None:
            txn.unset_var(name)
        return TcpCheckRule("action", index, var=name, expr=unset)
    from haproxy_py.samples import Sample, SampleError, compile_expr, compile_format

    if act == "set-var-fmt":
        text = args[0] if args else ""
        try:
            fmt: Any = compile_format(text)
        except SampleError as e:
            raise TcpCheckError(f"{pre}{e.message.rstrip('.')}.", 2, ours=False) from None

        def set_fmt(txn: Any) -> None:
            txn.set_var(name, Sample("str", fmt(txn)))
        return TcpCheckRule("action", index, var=name, expr=set_fmt)
    if not args:
        raise TcpCheckError(f"{pre}missing fetch method.", 1, ours=False)
    try:
        expr = compile_expr(args[0])
    except SampleError as e:
        raise TcpCheckError(f"{pre}{e.message}", 2, ours=False) from None

    def set_expr(txn: Any) -> None:
        s = expr(txn)
        if s is not None:
            txn.set_var(name, s)
    return TcpCheckRule("action", index, var=name, expr=set_expr)


_var_action = var_action


def with_implicit_connect(rules: tuple[TcpCheckRule, ...]) -> tuple[TcpCheckRule, ...]:
    """2.6 starts a sequence whose first send or expect is not preceded by a connect with an
    implicit one (variables may be set before the first connect)."""
    first = next((r for r in rules if r.action != "action"), None)
    if first is not None and first.action == "connect":
        return rules
    return (TcpCheckRule("connect", -1),) + rules


#: ``option redis-check``: PING as a RESP array, ``+PONG`` expected, the reply's first line on error
REDIS_CHECK = with_implicit_connect((
    TcpCheckRule("send", 0, data=b"*1\r\n$4\r\nPING\r\n"),
    TcpCheckRule("expect", 1, kind="string", pattern=b"+PONG\r\n", error_status="L7STS",
                 on_error_fmt="line", on_success="Redis server is ok"),
))

#: ``option ssl-hello-chk``: an SSLv3 ClientHello; a handshake or alert record (0x15/0x16) back.
#: 2.6 reports no text with its result
SSL_HELLO_CHECK = with_implicit_connect((
    TcpCheckRule("send", 0, dynamic="ssl3-hello"),
    TcpCheckRule("expect", 1, kind="rbinary", pattern=b"^1[56]", min_recv=5, ok_status="L6OK",
                 error_status="L6RSP", tout_status="L6TOUT", on_success="", on_error=""),
))


def pgsql_check(user: str) -> tuple[TcpCheckRule, ...]:
    """``option pgsql-check user U``: a v3.0 StartupMessage for U; an ErrorResponse fails with its
    severity, an authentication request passes (ok, cleartext, MD5, SASL: codes 0 and 2-10, as
    observed on 2.6.12, not 11 or more)."""
    u = user.encode("latin-1", "replace")
    body = b"\x00\x03\x00\x00" + b"user\x00" + u + b"\x00\x00"
    startup = (len(body) + 4).to_bytes(4, "big") + body
    return (
        TcpCheckRule("connect", 0),
        TcpCheckRule("send", 1, data=startup),
        TcpCheckRule("expect", 2, kind="rstring", pattern=b"^E", neg=True, min_recv=5, error_status="L7RSP",
                     on_error_fmt="cstr6"),
        TcpCheckRule("expect", 3, kind="rbinary", pattern=b"^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|08|09|0A)",
                     min_recv=9, error_status="L7STS", on_success="PostgreSQL server is ok",
                     on_error="PostgreSQL unknown error"),
    )


def smtp_check(command: str = "HELO localhost") -> tuple[TcpCheckRule, ...]:
    """``option smtpchk [HELO|EHLO domain]``: a 2xx greeting, the command answered 2xx (several
    lines for EHLO), then QUIT answered 2xx; the code and text of the last reply are reported."""
    line4 = dict(error_status="L7STS", on_error_fmt="line4", status_code_payload=True)
    return (
        TcpCheckRule("connect", 0),
        TcpCheckRule("expect", 1, kind="rstring", pattern=b"^[0-9]{3}[ \r]", min_recv=4, error_status="L7RSP",
                     on_error_fmt="line"),
        TcpCheckRule("expect", 2, kind="rstring", pattern=b"^2[0-9]{2}[ \r]", min_recv=4,
                     **line4),  # type: ignore[arg-type]
        TcpCheckRule("send", 3, data=command.encode("latin-1", "replace") + b"\r\n"),
        TcpCheckRule("expect", 4, kind="rstring", pattern=b"^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]",
                     **line4),  # type: ignore[arg-type]
        TcpCheckRule("send", 5, data=b"QUIT\r\n"),
        TcpCheckRule("expect", 6, kind="rstring", pattern=b"^2[0-9]{2}[- \r]", min_recv=4, on_success_fmt="line4",
                     **line4),  # type: ignore[arg-type]
    )


#: ``option ldap-check``: an anonymous LDAPv3 simple bind as message 1; its bindResponse's code
LDAP_CHECK = with_implicit_connect((
    TcpCheckRule("send", 0, data=bytes.fromhex("300C020101600702010304008000")),
    TcpCheckRule("expect", 1, kind="rbinary", pattern=b"^30", min_recv=14, on_error="Not LDAPv3 protocol"),
    TcpCheckRule("expect", 2, kind="ldap-bind"),
))


def mysql_check(user: str | None = None, post41: bool = True) -> tuple[TcpCheckRule, ...]:
    """``option mysql-check [user U [post-41|pre-41]]``: without a user the server's greeting only;
    with one, a client authentication packet for U (no password) followed by COM_QUIT, and the
    answer to it must not be an error packet. The greeting's version is the reported text."""
    rules = [TcpCheckRule("connect", 0)]
    if user is not None:
        u = user.encode("latin-1", "replace")
        if post41:
            body = (bytes.fromhex("00820000") + bytes.fromhex("00800001") + b"\x21" + bytes(23) + u
                    + b"\x00\x00")
        else:
            body = bytes.fromhex("0080") + bytes.fromhex("000001") + u + b"\x00\x00"
        auth = len(body).to_bytes(3, "little") + b"\x01" + body
        rules.append(TcpCheckRule("send", 1, data=auth + b"\x01\x00\x00\x00\x01"))
    rules.append(TcpCheckRule("expect", len(rules), kind="mysql-greeting"))
    if user is not None:
        rules.append(TcpCheckRule("expect", len(rules), kind="mysql-ok"))
    return tuple(rules)


#: ``option spop-check``: the HAPROXY-HELLO frame 2.6.12 sends (SPOP 2.0, max-frame-size 16380, no
#: capabilities, healthcheck true), then the agent's AGENT-HELLO judged (checks/tcpcheck.py)
SPOP_CHECK = with_implicit_connect((
    TcpCheckRule("send", 0, data=bytes.fromhex(
        "0000004e0100000001000012737570706f727465642d76657273696f6e730803322e300e6d61782d6672616d652d"
        "73697a6503fcf0060c6361706162696c697469657308000b6865616c7468636865636b11")),
    TcpCheckRule("expect", 1, kind="spop-hello"),
))

#: the options that make the check a tcp-check sequence (the last check option of a proxy wins)
CHECK_OPTIONS = ("tcp-check", "redis-check", "pgsql-check", "smtpchk", "ssl-hello-chk", "ldap-check",
                 "mysql-check", "spop-check")


def option_rules(name: str, args: list[str]) -> tuple[TcpCheckRule, ...] | None:
    """The sequence of ``option NAME ARGS`` (None for ``tcp-check``: the proxy's own rules).
    TcpCheckError indexes are into ``args``."""
    most = {"tcp-check": 0, "redis-check": 0, "ssl-hello-chk": 0, "ldap-check": 0, "pgsql-check": 2,
            "smtpchk": 2, "mysql-check": 3, "spop-check": 0}[name]
    if len(args) > most:
        raise TcpCheckError(f"'option {name}' cannot handle unexpected argument '{args[most]}'.", most)
    if name == "tcp-check":
        return None
    if name == "redis-check":
        return REDIS_CHECK
    if name == "ssl-hello-chk":
        return SSL_HELLO_CHECK
    if name == "ldap-check":
        return LDAP_CHECK
    if name == "spop-check":
        return SPOP_CHECK
    if name == "mysql-check":
        if not args:
            return mysql_check()
        if args[0] != "user":
            raise TcpCheckError(f"'option mysql-check' only supports optional values: 'user' (got '{args[0]}').",
                                0)
        if len(args) < 2 or not args[1]:
            raise TcpCheckError("'option mysql-check user' expects <username> as argument.", 0)
        if len(args) == 3 and args[2] not in ("post-41", "pre-41"):
            raise TcpCheckError(f"keyword 'user' only supports 'post-41' and 'pre-41' (got '{args[2]}').", 2)
        return mysql_check(args[1], post41=len(args) < 3 or args[2] == "post-41")
    if name == "pgsql-check":
        if len(args) < 2 or args[0] != "user":
            raise TcpCheckError("'option pgsql-check' expects 'user <username>' as argument.", 0)
        return pgsql_check(args[1])
    if len(args) == 2 and args[0] in ("HELO", "EHLO"):
        return smtp_check(f"{args[0]} {args[1]}")
    return smtp_check()
