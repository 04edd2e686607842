"""The checks 2.6 makes once every section is read (cross-references, mode
mismatches, missing timeouts...)."""

from __future__ import annotations

import re

from haproxy_py.config import fetches as F
from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.diagnostics import POST, did_you_mean
from haproxy_py.config.model import Acl, Condition, Config, Location, Proxy
from haproxy_py.registry import not_implemented

_NEEDS = re.compile(r"sample fetch <[^>]*> may not be reliably used here because it needs '([^']*)' which is not "
                    r"available here\.$")


class PostChecksMixin(BuilderBase):
    @staticmethod
    def _uses_l6(cond: Condition, acls: dict[str, list[Acl]]) -> bool:
        for grp in cond.any_of:
            for t in grp:
                if t.anonymous is not None:
                    fetches = [t.anonymous.fetch]
                elif t.acl in F.PREDEFINED_ACLS:
                    fetches = [F.PREDEFINED_ACLS[t.acl][0]]
                else:
                    fetches = [a.fetch for a in acls.get(t.acl or "", ())]
                for fe in fetches:
                    fd = F.FETCHES.get(fe)
                    if fd is not None and fd.layer == "L6":
                        return True
        return False

    def _incompatible_backend(self, p: Proxy, be: Proxy, how: str, loc: Location | None) -> None:
        kind = "frontend" if p.kind == "frontend" else "proxy"
        self.d.alert(f"http {kind} '{p.name}' ({p.loc.file}:{p.loc.line}) tries to use incompatible tcp backend "
                     f"'{be.name}' ({be.loc.file}:{be.loc.line}) {how} (see 'mode').", loc, phase=POST)

    def _check_server_ports(self, cfg: Config) -> None:
        """A checked server needs a port to check: its own (not an offset), 'port', or a
        tcp-check connect rule with one (2.6's message). 2.6.12 words it two ways: the short one
        until a backend without check rules of its own has been set up (it then shares a default
        rule set, and every later message also names the tcp-check connect rule), and the long
        one in a backend with check rules (httpchk, tcp-check, protocol checks)."""
        shared = False
        for p in cfg.proxies:
            if p.disabled or not p.has_be:
                continue
            plain = p.tcp_check is None and p.http_check is None
            rules = p.tcp_check or ()
            exempt = any(r.action == "connect" and r.index != -1 and (r.port or r.port_expr is not None)
                         for r in rules)
            for s in () if exempt else p.servers:
                if not s.check or s.check_port or p.external_check is not None:
                    continue
                if s.address is None or s.address.kind not in ("ipv4", "ipv6"):
                    continue
                if s.address.port_lo and not s.port_offset:
                    continue
                extra = " nor tcp_check rule 'connect' with port information" if shared or not plain else ""
                self.d.alert(f"config: {p.type_str} '{p.name}': server '{s.name}' has neither service port nor "
                             f"check port{extra}.", s.loc, phase=POST)
            shared = shared or plain

    def _use_backend_refs(self, cfg: Config) -> None:
        """The names in the arguments of 'use_backend %[...]' (compiled again, with its
        messages, where 2.6 checks the use_backend rules)."""
        from haproxy_py.samples import SampleError, compile_format
        from haproxy_py.samples.patref import post_where

        for rank, p in enumerate(cfg.proxies):
            for ub in p.use_backends if p.has_fe and not p.disabled else ():
                if "%" in ub.backend:
                    post_where(ub.loc.file, ub.loc.line, rank, "use_backend")  # its maps' users, as below
                    try:
                        with self.expressions_read() as got:
                            compile_format(ub.backend, place="use_backend")
                    except SampleError:
                        continue
                    self.note_refs(ub.loc, 0, p, got, "use_backend expression", step="use_backend")

    def _check_balance_hash(self, cfg: Config) -> None:
        """'balance hash EXPR' is compiled once the sections are read, as 2.6 does (a bad
        expression in a defaults section is reported for the proxies that use it)."""
        from haproxy_py.samples import SampleError, compile_expr
        from haproxy_py.samples.patref import post_where

        for rank, p in enumerate(cfg.proxies):
            expr = p.balance.expression if p.balance.algorithm == "hash" else None
            if expr is None:
                continue
            post_where(p.loc.file, p.loc.line, rank, "balance")
            try:
                with self.expressions_read() as got:
                    compile_expr(expr, place="balance")
                ps = self.proxies[rank]
                self.note_refs(p.loc, 0, p, got[:1], "use-server or balance expression", step="balance", lineno=ps.f.get("args_line", p.loc.line))
            except SampleError as e:
                m = _NEEDS.match(e.message)
                if m is not None:  # 2.6 parses the expression, then checks where its fetch works
                    self.d.alert(f"{p.type_str} '{p.name}' [{p.loc.file}:{p.loc.line}]: error detected while parsing "
                                 f"'balance hash' expression '{expr}' which requires information from {m.group(1)}, "
                                 "which is not available here.", p.loc, phase=POST)
                    continue
                self.d.alert(f"{p.type_str} '{p.name}' [{p.loc.file}:{p.loc.line}]: failed to parse 'balance hash' "
                             f"expression '{expr}' in : {e.message}", p.loc, phase=POST)

    def _check_use_servers(self, cfg: Config) -> None:
        """use-server names: a name with '%' is a log-format string compiled now, any other must be
        a server of the proxy (2.6's post-parse messages)."""
        from haproxy_py.samples import SampleError, compile_format
        from haproxy_py.samples.patref import post_where

        for rank, (ps, p) in enumerate(zip(self.proxies, cfg.proxies, strict=True)):
            for us in p.use_servers:
                if "%" in us.server:
                    post_where(us.loc.file, ps.f.get("args_line", p.loc.line), rank, "use-server")
                    try:
                        with self.expressions_read() as got:
                            compile_format(us.server, place="use-server")
                        self.note_refs(us.loc, 0, p, got, "use-server or balance expression",
                                       step="use-server", lineno=ps.f.get("args_line", p.loc.line))
                    except SampleError as e:
                        self.d.alert(f"Parsing [{us.loc.file}:{us.loc.line}]; use-server rule failed to parse "
                                     f"log-format '{us.server}' : {e.message}.", us.loc, phase=POST)
                elif not any(s.name == us.server for s in p.servers):
                    self.d.alert(f"{p.type_str} '{p.name}' : unable to find server '{us.server}' referenced in a "
                                 "'use-server' rule.", us.loc, phase=POST)

    def _check_auth_groups(self, groups: dict[str, set[str]], ps: ProxyState, p: Proxy) -> None:
        """An ACL on http_auth_group(L) names groups of L (2.6: with '-m' or converters, or without
        patterns, it names none), named and anonymous ones in the order they were made.
        ``groups``: each userlist's group names."""
        for item in ps.f.get("auth_group_acls", ()):
            for acl in ([a for a in p.acls if a.name == item] if isinstance(item, str) else [item]):
                if acl.fetch != "http_auth_group" or not acl.fetch_args or acl.fetch_args[0] not in groups:
                    continue
                where = f"proxy {p.name}: acl {acl.name} http_auth_group(): "
                if acl.converters or acl.match is not None or not acl.patterns:
                    self.d.alert(where + "no groups specified.", acl.loc, phase=POST)
                    continue
                for g in acl.patterns:
                    if g not in groups[acl.fetch_args[0]]:
                        self.d.alert(where + f"invalid group '{g}'.", acl.loc, phase=POST)

    def post_checks(self, cfg: Config) -> None:
        d = self.d
        self.check_ring_targets(cfg)  # type: ignore[attr-defined]
        self.check_cache_rules(cfg)  # type: ignore[attr-defined]
        self.check_fcgi(cfg)  # type: ignore[attr-defined]
        from haproxy_py.config import tls

        tls.post_checks(self)
        tls.check_rule_servers(self, cfg)
        self._check_balance_hash(cfg)
        self._check_use_servers(cfg)
        self._use_backend_refs(cfg)
        self._check_server_ports(cfg)
        self.check_tables(cfg)  # with the names sample arguments give, proxy by proxy
        self.post_external_checks(cfg)
        by_be = {}
        for p in cfg.proxies:
            if p.has_be and p.name not in by_be:
                by_be[p.name] = p
        from haproxy_py.actions.resolve import DoResolve

        resolvers: set[str] | None = None
        auth_groups = {n: {g for g, _ in gs} for n, gs in cfg.userlist_groups}
        from haproxy_py.samples.patref import post_where

        for rank, (ps, p) in enumerate(zip(self.proxies, cfg.proxies, strict=True)):
            if p.disabled:
                continue
            if p.has_fe or ps.f.get("switching_in_backend"):
                # 2.6 checks the names of a backend's own lines too (after its warning)
                for ub in p.use_backends:
                    if "%" in ub.backend:  # a name made per request (2.6: any '%'): it must compile
                        from haproxy_py.samples import SampleError, compile_format

                        post_where(ub.loc.file, ub.loc.line, rank, "use_backend")
                        try:
                            compile_format(ub.backend, place="use_backend")
                        except SampleError as e:
                            d.alert(f"Parsing [{ub.loc.file}:{ub.loc.line}]: failed to parse use_backend rule "
                                    f"'{ub.backend}' : {e.message}.", ub.loc, phase=POST)
                        continue
                    if ub.backend not in by_be:
                        d.alert(f"Proxy '{p.name}': unable to find required use_backend: '{ub.backend}'.", ub.loc,
                                phase=POST, suggestion=did_you_mean(ub.backend, list(by_be)))
                    elif p.mode == "http" and by_be[ub.backend].mode == "tcp":
                        self._incompatible_backend(p, by_be[ub.backend], "in a 'use_backend' rule", ub.loc)
                if p.default_backend is not None:
                    if p.default_backend in by_be and p.mode == "http" and by_be[p.default_backend].mode == "tcp":
                        self._incompatible_backend(p, by_be[p.default_backend], "as its default backend",
                                                   ps.f.get("default_backend_loc"))
                    if p.default_backend == p.name and p.has_be:
                        d.alert(f"Proxy '{p.name}': loop detected for default_backend: '{p.name}'.",
                                ps.f.get("default_backend_loc"), phase=POST)
                    elif p.default_backend not in by_be:
                        d.alert(f"Proxy '{p.name}': unable to find required default_backend: "
                                f"'{p.default_backend}'.", ps.f.get("default_backend_loc"), phase=POST,
                                suggestion=did_you_mean(p.default_backend, list(by_be)))
            self._check_auth_groups(auth_groups, ps, p)
            if resolvers is None:
                resolvers = {s.name for s in cfg.other_sections if s.kind == "resolvers"}
            for r in p.http_rules:  # do-resolve names a resolvers section that must exist
                if isinstance(r.impl, DoResolve) and r.impl.resolvers not in resolvers:
                    d.alert(f"Proxy '{p.name}': Can't find resolvers section '{r.impl.resolvers}' for do-resolve "
                            "action.", r.loc, phase=POST)
            # track targets
            srv_lines = self._server_lines
            for s in p.servers:
                if s.track:
                    be_name, _, srv = s.track.rpartition("/")
                    tgt = by_be.get(be_name) if be_name else p
                    ln = srv_lines.get((p.name, s.name))
                    where = f"[{ln.file}:{ln.lineno}] : " if ln is not None else ""
                    if tgt is None:
                        d.alert(f"{where}'server {p.name}/{s.name}' : unable to find required proxy '{be_name}' "
                                "for tracking.", s.loc, line=ln.raw if ln else None, phase=POST)
                    elif not any(x.name == srv for x in tgt.servers):
                        d.alert(f"{where}'server {p.name}/{s.name}' : unable to find required server '{srv}' for "
                                "tracking.", s.loc, line=ln.raw if ln else None, phase=POST)
                if s.observe == "layer7" and p.mode != "http":
                    ln = self._server_lines.get((p.name, s.name))
                    where = f"[{ln.file}:{ln.lineno}] : " if ln is not None else ""
                    d.alert(f"{where}'server {p.name}/{s.name}' : 'layer7' can only be used in http proxies..",
                            s.loc, line=ln.raw if ln else None, fatal=False, phase=POST)
        # frontends without bind, missing timeouts, logs
        listeners = 0
        for ps, p in zip(self.proxies, cfg.proxies, strict=True):
            if p.disabled:
                continue
            if p.has_fe:
                if not p.binds:
                    if p.kind == "frontend":
                        d.warning(f"{p.type_str} '{p.name}' has no 'bind' directive. Please declare it as a backend if "
                                  "this was intended.", p.loc, phase=POST)
                else:
                    listeners += len(p.binds)
            if p.mode == "http" and p.has_fe:
                acl_by_name: dict[str, list[Acl]] = {}
                for a in p.acls:
                    acl_by_name.setdefault(a.name, []).append(a)
                for ub in p.use_backends:
                    if ub.cond is not None and self._uses_l6(ub.cond, acl_by_name):
                        d.warning(f"Proxy '{p.name}': L6 sample fetches ignored on HTTP proxies (declared at "
                                  f"{ub.loc.file}:{ub.loc.line}).", ub.loc, phase=POST)
            if p.mode == "http":  # the same for tcp-request content and http-request conditions
                acl_named: dict[str, list[Acl]] = {}
                for a in p.acls:
                    acl_named.setdefault(a.name, []).append(a)
                for want in ("tcp-request", "http-request"):
                    for r in p.http_rules:
                        if r.kind != want or r.cond is None or (want == "tcp-request"
                                                                and not r.action.startswith("content ")):
                            continue
                        if self._uses_l6(r.cond, acl_named):
                            d.warning(f"Proxy '{p.name}': L6 sample fetches ignored on HTTP proxies (declared at "
                                      f"{r.loc.file}:{r.loc.line}).", r.loc, phase=POST)
            t = p.timeouts
            if p.mode in ("tcp", "http") and (
                    (p.has_fe and not t.client) or (p.has_be and p.servers and (
                        not t.connect or (not t.server and (p.mode == "http" or not t.tunnel))))):
                # (a backend without servers needs none; in TCP mode 'timeout tunnel' does for 'server')
                d.warning(f"missing timeouts for {p.type_str} '{p.name}'.\n"
                          "   | While not properly invalid, you will certainly encounter various problems\n"
                          "   | with such a configuration. To fix this, please ensure that all following\n"
                          "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
                          p.loc, phase=POST)
            if p.has_be and not ps.is_defaults and not {"empty-response", "response-timeout"} <= p.retry_on:
                for sc in p.servers:  # a TFO connection's data may be lost with its SYN: it should be retried
                    if sc.tfo:
                        ln = self._server_lines.get((p.name, sc.name))
                        where = f"[{ln.file}:{ln.lineno}] : " if ln is not None else ""
                        d.warning(f"{where}'server {p.name}/{sc.name}' : server has tfo activated, the backend "
                                  "should be configured with at least 'conn-failure', 'empty-response' and "
                                  "'response-timeout' or we wouldn't be able to retry the connection on failure.",
                                  sc.loc, line=ln.raw if ln else None, phase=POST)
            if p.has_fe and (p.log_style != "default" or p.log_format) and not p.logs:
                d.warning(f"log format ignored for {p.type_str} '{p.name}' since it has no log address.", p.loc,
                          phase=POST)
            if p.has_be and not ps.is_defaults:
                want = "h1" if p.http_check is not None and ps.f.get("check_type") is None else "none"
                for sc in p.servers:
                    if not sc.check or sc.check_proto is None or sc.check_proto == want:
                        continue
                    if want == "h1" and sc.check_proto in ("h2", "fcgi"):
                        d.alert(not_implemented(f"{S.SERVER.title} 'check-proto {sc.check_proto}' (server "
                                                f"'{sc.name}' of {p.kind} '{p.name}')",
                                                "'check-proto h1' is implemented"), p.loc, phase=POST, ours=True)
                    else:
                        d.alert(f"config: {p.kind} '{p.name}': server '{sc.name}' uses an incompatible MUX "
                                "protocol for the selected check type", p.loc, phase=POST)
            if p.has_be and ps.check_rules and p.http_check is None and not ps.is_defaults:
                d.warning(f"{p.type_str} '{p.name}' uses http-check rules without 'option httpchk', so the rules "
                          "are ignored.", ps.check_rules_loc, phase=POST)
            upg = p.mode == "tcp" and any(r.kind == "tcp-request" and r.action.startswith("content switch-mode")
                                          for r in p.http_rules)
            if upg and p.has_be:
                d.warning(f"Proxy '{p.name}' : 'switch-mode http' configured for a tcp proxy with no backend. "
                          "Incoming connections upgraded to HTTP cannot be routed to TCP servers", p.loc, phase=POST)
            if p.mode != "http" and not upg:  # switch-mode http: the HTTP directives apply once upgraded
                # (2.6's order)
                ignored = []
                if p.stats.enabled or ps.stats_admin:
                    ignored.append("'stats' statement")
                if any(c.kind == "cookie" for c in p.captures):
                    ignored.append("'capture' statement")
                for kind in ("http-request", "http-response", "http-after-response"):
                    if any(r.kind == kind for r in p.http_rules):
                        ignored.append(f"'{kind}' rules")
                if p.forwardfor is not None:
                    ignored.append("'option forwardfor'")
                if p.originalto is not None:
                    ignored.append("'option originalto'")
                opts = dict(p.options)
                for oname in K.HTTP_ONLY_OPTIONS:
                    if opts.get(oname) and K.OPTIONS.get(oname, 0) & ps.caps:
                        ignored.append(f"'option {oname}'")
                for what in ignored:
                    they = "they require" if what.endswith("rules") else "it requires"
                    d.warning(f"{what} ignored for {p.type_str} '{p.name}' as {they} HTTP mode.", p.loc, phase=POST)
        self.listeners = listeners
        used_mailers = self.post_email_alerts(cfg)
        for name, loc, ln in self.mailers_pending:
            if name not in used_mailers:
                d.warning(f"Removing incomplete section 'mailers {name}'.", loc, line=ln.raw, phase=POST)
