"""The configuration's addresses checked and resolved once, at ``-c`` and at start, as 2.6 does.

HAProxy 2.6 resolves names with the libc (getaddrinfo) while it parses ``bind``, ``log`` and a
server's ``addr``; an inherited ``fd@N`` must be a socket; after the whole configuration is checked
it resolves the server addresses with the ``init-addr`` methods in order (default ``last,libc``;
``last`` needs a server-state file and is skipped here, ``libc`` asks getaddrinfo, ``none`` starts
the server without an address, in resolution maintenance until a ``resolvers`` section finds one,
an IP is taken as it is). A server name that does not resolve stops
the start ("Failed to initialize server(s) addr."), or, with ``-dr``, disables that server with a
warning.

:func:`resolve_config` returns the configuration with every server (and check) name replaced by
the address it resolved to (``Address.text`` keeps what was written), so the engine connects to an
address and never asks a resolver on the way of a request; logs, ``show stat`` and ``show servers
state`` show the IP as 2.6 does.

Not pure (it asks the resolver and looks at file descriptors): called by the CLI, next to the
configuration layer.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import socket
import stat
from collections.abc import Callable

from haproxy_py.config.diagnostics import POST, Diagnostics
from haproxy_py.config.model import Address, Config, Location, LogTarget, Proxy, ServerConf
from haproxy_py.config.resolvers import init_addr_methods

_V4 = ("ipv4@", "tcp4@", "udp4@")
_V6 = ("ipv6@", "tcp6@", "udp6@")

Resolver = Callable[[str, int], "tuple[int, str] | None"]


def _literal(host: str) -> int | None:
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(fam, host)
            return fam
        except OSError:
            continue
    return None


def libc_resolve(host: str, family: int) -> tuple[int, str] | None:
    """(family, numeric address) of the first answer of getaddrinfo, or None."""
    try:
        infos = socket.getaddrinfo(host, None, family, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    if not infos:
        return None
    fam, _, _, _, sa = infos[0]
    return fam, str(sa[0])


def _family(addr: Address) -> int:
    if addr.text.startswith(_V4):
        return socket.AF_INET
    if addr.text.startswith(_V6):
        return socket.AF_INET6
    return socket.AF_UNSPEC


def _needs_resolution(addr: Address | None) -> bool:
    return (addr is not None and addr.kind in ("ipv4", "ipv6") and addr.host not in ("", "*")
            and _literal(addr.host) is None)


class _Checker:
    def __init__(self, diags: Diagnostics, resolver: Resolver) -> None:
        self.d = diags
        self.resolver = resolver
        self.cache: dict[tuple[str, int], tuple[int, str] | None] = {}

    def resolve(self, host: str, family: int) -> tuple[int, str] | None:
        key = (host, family)
        if key not in self.cache:
            self.cache[key] = self.resolver(host, family)
        return self.cache[key]

    def parse_alert(self, text: str, loc: Location) -> None:
        self.d.alert(text, loc)  # parse phase: "Error(s) found in configuration file : F" follows

    def fd(self, what: str, addr: Address, loc: Location, prefix: str) -> None:
        try:
            st = os.fstat(addr.fd)
            err = 0 if stat.S_ISSOCK(st.st_mode) else errno.ENOTSOCK
        except OSError as e:
            err = e.errno or errno.EBADF
        if err:
            self.parse_alert(f"{prefix}{what} : cannot use file descriptor '{addr.fd}' : {os.strerror(err)}.", loc)

    def address(self, what: str, addr: Address, loc: Location, trail: str = "") -> None:
        if _needs_resolution(addr) and self.resolve(addr.host, _family(addr)) is None:
            self.parse_alert(f"parsing [{loc.file}:{loc.line}] : {what} : invalid address: '{addr.host}' in "
                             f"'{addr.text}'{trail}", loc)


def check_addresses(cfg: Config, diags: Diagnostics, resolver: Resolver = libc_resolve) -> None:
    """What 2.6 checks while parsing: bind and log names resolve, fd@N are sockets, check addrs resolve."""
    c = _Checker(diags, resolver)
    for sock in cfg.global_.stats_sockets:
        where = f"parsing [{sock.loc.file}:{sock.loc.line}] : "
        before = len(diags.messages)
        if sock.address.kind == "fd" and sock.address.text.startswith("fd@"):
            c.fd("'stats socket'", sock.address, sock.loc, where + where)
        else:  # 2.6 says where twice and ends with two blank lines
            c.address(f"parsing [{sock.loc.file}:{sock.loc.line}] : 'stats socket'", sock.address, sock.loc, "\n\n")
        if len(diags.messages) > before and not diags.messages[-1].haproxy.endswith("\n\n"):
            diags.messages[-1].haproxy += "\n\n"
    seen: set[tuple[Location, str]] = set()

    def logs(targets: tuple[LogTarget, ...]) -> None:
        for t in targets:
            if (t.loc, t.address.text) not in seen:
                seen.add((t.loc, t.address.text))
                c.address("log", t.address, t.loc, "\n")

    logs(cfg.global_.logs)
    proxies: tuple[Proxy, ...] = cfg.defaults + cfg.proxies
    for p in proxies:
        logs(p.logs)
        for b in p.binds:
            for a in b.addresses:
                if a.kind == "fd" and a.text.startswith("fd@"):
                    c.fd("'bind'", a, b.loc, f"parsing [{b.loc.file}:{b.loc.line}] : ")
                else:
                    c.address("'bind'", a, b.loc)
        for s in p.servers:
            ca = s.check_addr
            if ca and _literal(ca) is None and not ca.startswith("/") and c.resolve(ca, socket.AF_UNSPEC) is None:
                c.parse_alert(f"[{s.loc.file}:{s.loc.line}] : 'server {p.name}/{s.name}' : 'addr' : invalid address: "
                              f"'{ca}' in '{ca}'.", s.loc)
    for lf in cfg.log_forwards:
        logs(tuple(t for t, _ in lf.logs))


def check_resolvers_refs(cfg: Config, diags: Diagnostics) -> None:
    """Every server's ``resolvers NAME`` names a resolvers section (2.6 checks it after parsing)."""
    from haproxy_py.config.resolvers import resolvers_of

    names = {s.name for s in cfg.other_sections if s.kind == "resolvers"}
    for p in cfg.proxies:
        for s in p.servers:
            r = resolvers_of(s)
            if r is not None and r not in names:
                diags.alert(f"backend '{p.name}', server '{s.name}': unable to find required resolvers '{r}'",
                            s.loc, phase=POST)


def resolve_servers(cfg: Config, diags: Diagnostics, *, ignore_failures: bool = False,
                    resolver: Resolver = libc_resolve) -> Config:
    """The servers' names resolved (after the configuration is known to be valid, as 2.6 does).

    A failure is an alert and ``diags.aborted`` (2.6 stops there), or with ``ignore_failures``
    (``-dr``) a warning and the server starts disabled."""
    c = _Checker(diags, resolver)
    failed = False
    new_proxies = []
    for p in cfg.proxies:
        servers: list[ServerConf] = []
        changed = False
        for s in p.servers:
            ns = s
            a = s.address
            if _needs_resolution(a):
                assert a is not None
                r = None
                libc_failed = False
                methods = init_addr_methods(s.extra)
                for m in methods:
                    if m == "libc":
                        r = c.resolve(a.host, _family(a))
                        libc_failed = r is None
                    elif m == "none":
                        r = (0, "")
                    elif m != "last":  # an IP literal (last: a state file, applied later if any)
                        r = (socket.AF_INET6 if ":" in m else socket.AF_INET, m)
                    if r is not None:
                        break
                if r == (0, ""):
                    if libc_failed:  # 2.6 says so before starting it without an address
                        diags.warning(f"[{s.loc.file}:{s.loc.line}] : 'server {p.name}/{s.name}' : could not "
                                      f"resolve address '{a.host}', disabling server.", s.loc, phase=POST)
                    ns = dataclasses.replace(s, no_addr=True, address=dataclasses.replace(a, host=""))
                    changed = True
                    servers.append(ns)
                    continue
                where = f"[{s.loc.file}:{s.loc.line}] : 'server {p.name}/{s.name}' : could not resolve address " \
                        f"'{a.host}'"
                if r is None:
                    if ignore_failures:
                        diags.warning(where + ", disabling server.", s.loc, phase=POST)
                        ns = dataclasses.replace(s, disabled=True)
                    else:
                        diags.alert(where + ".", s.loc, phase=POST)
                        failed = True
                else:
                    fam, ip = r
                    kind = "ipv6" if fam == socket.AF_INET6 else "ipv4"
                    ns = dataclasses.replace(s, address=dataclasses.replace(a, kind=kind, host=ip))
            ca = ns.check_addr
            if ca and _literal(ca) is None and not ca.startswith("/"):
                r = c.resolve(ca, socket.AF_UNSPEC)
                if r is not None:
                    ns = dataclasses.replace(ns, check_addr=r[1])
            changed = changed or ns is not s
            servers.append(ns)
        new_proxies.append(dataclasses.replace(p, servers=tuple(servers)) if changed else p)
    if failed:
        diags.alert("Failed to initialize server(s) addr.", None, phase=POST)
        diags.aborted = True
        return cfg
    return dataclasses.replace(cfg, proxies=tuple(new_proxies))


def check_and_resolve(cfg: Config, diags: Diagnostics, *, ignore_failures: bool = False) -> Config:
    """Both steps, in 2.6's order (nothing after an abort; servers only once all else is valid)."""
    if diags.aborted:  # the addresses read before it (2.6 resolves them while reading)
        check_addresses(cfg, diags)
        return cfg
    check_resolvers_refs(cfg, diags)
    check_addresses(cfg, diags)
    if diags.has_errors:
        return cfg
    return resolve_servers(cfg, diags, ignore_failures=ignore_failures)
