"""The ``resolvers`` section's words (checked at ``-c``, built into a :class:`ResolversConf`), the
server parameters that name one (``resolvers``, ``init-addr``), and the name a server was written
with. Pure: the engine (engine/resolvers.py) reads /etc/resolv.conf for ``parse-resolv-conf`` and
hands its text to :func:`build`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from haproxy_py.config.grammar import parse_time

DEFAULT_PORT = 53


@dataclass(frozen=True, slots=True)
class Nameserver:
    name: str
    host: str
    port: int
    #: "udp", or "tcp" for ``tcp@`` / ``tcp4@`` / ``tcp6@`` (2.6's DNS over a TCP stream, RFC 7766)
    proto: str = "udp"


@dataclass(slots=True)
class ResolversConf:
    name: str
    nameservers: list[Nameserver] = field(default_factory=list)
    accepted_payload_size: int = 512
    resolve_retries: int = 3
    #: seconds
    timeout_resolve: float = 1.0
    timeout_retry: float = 1.0
    hold: dict[str, float] = field(default_factory=lambda: {
        "nx": 30.0, "other": 30.0, "refused": 30.0, "timeout": 30.0, "valid": 10.0, "obsolete": 0.0})
    parse_resolv_conf: bool = False


HOLD_KINDS = ("nx", "other", "refused", "timeout", "valid", "obsolete")


def _ms(text: str) -> int | None:
    tv = parse_time(text)
    if tv.error or tv.value is None:
        return None
    return int(tv.value)


def parse_nameserver_addr(text: str) -> tuple[str, int, str] | str:
    """IP:PORT with 2.6's optional prefixes: ``udp@`` / ``udp4@`` / ``udp6@`` / ``ipv4@`` / ``ipv6@``
    (UDP) and ``tcp@`` / ``tcp4@`` / ``tcp6@`` (TCP); (host, port, proto) or 2.6's error text."""
    t = text
    proto = "udp"
    for pre in ("udp@", "udp4@", "udp6@", "ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"):
        if t.startswith(pre):
            t = t[len(pre):]
            proto = "tcp" if pre.startswith("tcp") else "udp"
            break
    host, sep, port_s = t.rpartition(":")
    if "@" in t:
        return f"invalid address: '{host or t}' in '{text}'"
    if not sep or (host.count(":") and not host.endswith("]")):
        return f"missing port specification in '{text}'"
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return f"invalid address: '{host}' in '{text}'"
    # 2.6 reads the port's leading digits (``5x`` is 5) and refuses a range
    digits = port_s[:len(port_s) - len(port_s.lstrip("0123456789"))]
    if port_s and not digits:
        return f"invalid character '{port_s[0]}' in port number '{port_s}' in '{text}'"
    if port_s[len(digits):].startswith("-"):
        return f"port range not permitted here in '{text}'"
    if not digits or not 0 < int(digits) < 65536:
        return f"invalid port '{port_s}'"
    return host, int(digits), proto


def read_resolv_conf(text: str) -> list[tuple[str, int]]:
    """The ``nameserver`` lines of a resolv.conf, port 53."""
    out = []
    for line in text.splitlines():
        w = line.split()
        if len(w) >= 2 and w[0] == "nameserver":
            try:
                ipaddress.ip_address(w[1].split("%")[0])
            except ValueError:
                continue
            out.append((w[1].split("%")[0], DEFAULT_PORT))
    return out


def check_line(words: tuple[str, ...] | list[str]) -> str | None:
    """The error for one line of a resolvers section, or None."""
    w = list(words)
    kw = w[0]
    if kw == "nameserver":
        if len(w) < 3:
            return "'nameserver' expects <name> and <addr>[:<port>] as arguments."
        r = parse_nameserver_addr(w[2])
        if isinstance(r, str):
            return f"'nameserver {w[1]}' : {r}"
        return None
    if kw == "accepted_payload_size":
        if len(w) < 2 or not w[1].isdigit():
            return "'accepted_payload_size' expects <nb> as argument."
        if not 12 <= int(w[1]) <= 65535:
            return "'accepted_payload_size' must be between 12 and 65535."
        return None
    if kw == "resolve_retries":
        if len(w) < 2 or not w[1].isdigit():
            return "'resolve_retries' expects <nb> as argument."
        return None
    if kw == "timeout":
        if len(w) < 3 or w[1] not in ("resolve", "retry"):
            return f"'timeout' expects 'retry' or 'resolve' and <time> as arguments got '{w[1] if len(w) > 1 else ''}'."
        if _ms(w[2]) is None:
            return f"unexpected character in time argument of 'timeout {w[1]}'."
        return None
    if kw == "hold":
        if len(w) < 2 or w[1] not in HOLD_KINDS:
            return (f"'hold' unknown <event>: '{w[1] if len(w) > 1 else ''}', expects either 'nx', 'timeout', "
                    "'valid', 'obsolete' or 'other'.")
        if len(w) < 3:
            return f"'hold {w[1]}' expects <time> as argument."
        if _ms(w[2]) is None:
            return f"unexpected character in time argument of 'hold {w[1]}'."
        return None
    if kw == "parse-resolv-conf":
        return None
    return f"unknown keyword '{kw}' in 'resolvers' section"


def build(name: str, lines: tuple[tuple[str, ...], ...], resolv_conf: str | None = None) -> ResolversConf:
    """The section from its (already checked) lines; ``resolv_conf`` is the text of /etc/resolv.conf
    when ``parse-resolv-conf`` is given (read by the caller)."""
    rc = ResolversConf(name)
    for w in lines:
        kw = w[0]
        if kw == "nameserver" and len(w) >= 3:
            r = parse_nameserver_addr(w[2])
            if not isinstance(r, str):
                rc.nameservers.append(Nameserver(w[1], r[0], r[1], r[2]))
        elif kw == "accepted_payload_size":
            rc.accepted_payload_size = int(w[1])
        elif kw == "resolve_retries":
            rc.resolve_retries = int(w[1])
        elif kw == "timeout":
            v = (_ms(w[2]) or 0) / 1000.0
            if w[1] == "resolve":
                rc.timeout_resolve = v
            else:
                rc.timeout_retry = v
        elif kw == "hold":
            rc.hold[w[1]] = (_ms(w[2]) or 0) / 1000.0
        elif kw == "parse-resolv-conf":
            rc.parse_resolv_conf = True
            for i, (h, p) in enumerate(read_resolv_conf(resolv_conf or "")):
                rc.nameservers.append(Nameserver(f"resolv.conf.{i + 1}", h, p))
    return rc


INIT_ADDR_METHODS = ("last", "libc", "none")


def check_init_addr(arg: str) -> str | None:
    """``init-addr last,libc,none,IP``: each method once, an IP literal at most once."""
    seen: set[str] = set()
    for m in arg.split(","):
        if m not in INIT_ADDR_METHODS:
            try:
                ipaddress.ip_address(m)
            except ValueError:
                return f"'init-addr' : unknown init-addr method '{m}', supported methods are 'libc', 'last', 'none'.."
            m = "ip"
        if m in seen:
            return f"'init-addr' : '{m}' may only be used once."
        seen.add(m)
    return None


RESOLVE_OPTS = ("allow-dup-ip", "ignore-weight", "prevent-dup-ip")


def check_resolve_opts(arg: str) -> str | None:
    """``resolve-opts OPT[,OPT...]``: 2.6's three options (the last of allow/prevent-dup-ip wins)."""
    for o in arg.split(","):
        if o not in RESOLVE_OPTS:
            return (f"'resolve-opts' : unknown resolve-opts option '{o}', supported methods are "
                    "'allow-dup-ip', 'ignore-weight', and 'prevent-dup-ip'..")
    return None


@dataclass(frozen=True, slots=True)
class ResolveOpts:
    """A server's resolution options: which family is asked first (``resolve-prefer``), the preferred
    networks (``resolve-net``), ``resolve-opts`` allow-dup-ip (default: prevent) and ignore-weight."""

    prefer: str = "ipv6"
    nets: tuple[str, ...] = ()
    allow_dup_ip: bool = False
    ignore_weight: bool = False


def check_resolve_net(arg: str) -> str | None:
    """2.6's error for a ``resolve-net`` list, or None: comma-separated IPv4 networks (a /bits or a
    dotted mask, none for one host) or IPv6 ones; one trailing comma is allowed."""
    import ipaddress

    parts = arg.split(",")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    for part in parts:
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError:
            return f"'resolve-net' invalid network '{part}'.."
    return None


def resolve_opts_of(conf: object) -> ResolveOpts:
    prefer, allow, ignore = "ipv6", False, False
    nets: tuple[str, ...] = ()
    for k, v in getattr(conf, "extra", ()):
        if not isinstance(v, str):
            continue
        if k == "resolve-prefer":
            prefer = v
        elif k == "resolve-net":
            nets = tuple(n for n in v.split(",") if n)
        elif k == "resolve-opts":
            for o in v.split(","):
                if o == "allow-dup-ip":
                    allow = True
                elif o == "prevent-dup-ip":
                    allow = False
                elif o == "ignore-weight":
                    ignore = True
    return ResolveOpts(prefer, nets, allow, ignore)


def init_addr_methods(extra: tuple[tuple[str, object], ...]) -> list[str]:
    for k, v in extra:
        if k == "init-addr" and isinstance(v, str):
            return v.split(",")
    return ["last", "libc"]


def configured_fqdn(conf: object) -> str:
    """The name a server was written with (``Address.text`` keeps it), or "" for an IP literal."""
    a = getattr(conf, "address", None)
    if a is None:
        return ""
    t = str(a.text)
    if "@" in t:
        t = t.split("@", 1)[1]
    if t.startswith("["):
        return ""
    host = t.rsplit(":", 1)[0] if t.count(":") == 1 else t
    try:
        ipaddress.ip_address(host)
        return ""
    except ValueError:
        return host


def resolvers_of(conf: object) -> str | None:
    """The ``resolvers NAME`` of a server's configuration, if any."""
    for k, v in getattr(conf, "extra", ()):
        if k == "resolvers" and isinstance(v, str):
            return v
    return None


def valid_fqdn(name: str) -> bool:
    """A host name 2.6 takes for ``set server fqdn``: dot-separated labels of 1..63 characters
    (letters, digits, '-', '_'), 255 characters at most."""
    n = name[:-1] if name.endswith(".") else name
    if not n or len(n) > 255:
        return False
    return all(0 < len(lb) <= 63 and all(c.isalnum() or c in "-_" for c in lb) for lb in n.split("."))


def template_range(text: str) -> tuple[int, int] | str:
    """``N`` (1..N) or ``N-M`` of a server-template; an error text otherwise."""
    lo_s, sep, hi_s = text.partition("-")
    if not sep:
        lo_s, hi_s = "1", text
    if not lo_s.isdigit() or not hi_s.isdigit():
        return f"invalid range '{text}' for the number of servers."
    lo, hi = int(lo_s), int(hi_s)
    if lo < 1 or hi < lo:
        return f"invalid range '{text}' for the number of servers."
    return lo, hi


def template_of(conf: object) -> str | None:
    """The server-template a server comes from ("PREFIX@FQDN"), if any."""
    for k, v in getattr(conf, "extra", ()):
        if k == "server-template" and isinstance(v, str):
            return v
    return None
