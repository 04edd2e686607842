"""The end of parsing: ProxyState -> Proxy, Global, Config; uuids and puids."""

from __future__ import annotations

from haproxy_py.config import keywords as K
from haproxy_py.config import tls as TLS
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.global_ import h1_case_entries
from haproxy_py.config.build.sockopts import tcpka_of
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.diagnostics import POST
from haproxy_py.config.model import (
    Address,
    Balance,
    Config,
    Global,
    HashType,
    HttpCheck,
    Location,
    LogTarget,
    Proxy,
    ServerConf,
    StatsConf,
    Timeouts,
)


class FreezeMixin(BuilderBase):
    def finish(self) -> Config:
        d = self.d
        g = self.g
        glob = Global(
            logs=tuple(self.g_logs), log_tag=g.get("log_tag"), log_send_hostname=g.get("log_send_hostname"),
            chroot=g.get("chroot"), pidfile=g.get("pidfile"), maxconn=g.get("maxconn"), user=g.get("user"),
            ulimit_n=g.get("ulimit_n"), fd_hard_limit=g.get("fd_hard_limit"),
            strict_limits=g.get("strict_limits", True), maxconnrate=g.get("maxconnrate"),
            maxsessrate=g.get("maxsessrate"), maxsslconn=g.get("maxsslconn"),
            maxsslrate=g.get("maxsslrate"), maxcomprate=g.get("maxcomprate"),
            tune_comp_maxlevel=g.get("tune_comp_maxlevel", 1), maxcompcpuusage=g.get("maxcompcpuusage", 100),
            h1_case=h1_case_entries(self),
            tune_rcvbuf_client=g.get("tune_rcvbuf_client"),
            tune_rcvbuf_server=g.get("tune_rcvbuf_server"), tune_sndbuf_client=g.get("tune_sndbuf_client"),
            tune_sndbuf_server=g.get("tune_sndbuf_server"), tune_http_logurilen=g.get("tune_http_logurilen"),
            group=g.get("group"), uid=g.get("uid"), gid=g.get("gid"), daemon=g.get("daemon", False),
            master_worker=g.get("master_worker", False), stats_sockets=tuple(self.g_sockets),
            stats_timeout=g.get("stats_timeout", 10_000), stats_maxconn=g.get("stats_maxconn", 10),
            nbthread=g.get("nbthread"), nbproc=g.get("nbproc"), node=g.get("node"),
            description=g.get("description"), spread_checks=g.get("spread_checks", 0),
            tune_bufsize=g.get("tune_bufsize", 16384), tune_maxrewrite=g.get("tune_maxrewrite", 1024),
            tune_http_maxhdr=g.get("tune_http_maxhdr", 101), external_check=g.get("external_check", False),
            insecure_fork_wanted=g.get("insecure_fork_wanted", False),
            quiet=g.get("quiet", False), zero_warning=g.get("zero_warning", False), nosplice=g.get("nosplice", False),
            environ=tuple(sorted(self.env.items())) if g.get("env_changed") else None,
            pp2_never_send_local=g.get("pp2_never_send_local", False),
            profiling_tasks=g.get("profiling_tasks", "auto"),
            hard_stop_after=g.get("hard_stop_after"), grace=g.get("grace"),
            mworker_max_reloads=g.get("mworker_max_reloads"), server_state_file=g.get("server_state_file"),
            server_state_base=g.get("server_state_base"),
            localpeer=self.localpeer_cli or g.get("localpeer"), ignored=tuple(self.g_ignored),
            loc=self.g_loc or Location("<builtin>", 0, 0),
            proc_vars=self.proc_vars,
            httpclient_ca=None if g.get("httpclient.ssl.verify") == "none" else g.get("httpclient.ssl.ca-file",
                                                                                      "@system-ca"))
        # uuids: GLOBAL CLI proxy takes 1 when a stats socket exists; explicit ids are reserved, and
        # as in 2.6 the counter moves on with every proxy, explicit id or not (like server ids)
        used = {p.f["explicit_id"] for p in self.proxies if p.f.get("explicit_id")}
        nxt = 2 if self.g_sockets else 1
        uuids: dict[int, int] = {}
        for idx, ps in enumerate(self.proxies):
            if ps.f.get("explicit_id"):
                uuids[idx] = ps.f["explicit_id"]
                nxt += 1
                continue
            while nxt in used:
                nxt += 1
            uuids[idx] = nxt
            used.add(nxt)
            nxt += 1
        # 2.6's userlist_postinit: the first post-parse check, and the last when it fails
        groups, groups_failed = self.resolve_groups()
        mark = len(d.messages)
        if d.parse_failed:
            d.drop_post()
        else:  # 2.6 compiles these after parsing, and only when parsing succeeded
            from haproxy_py.samples.patref import post_where

            for rank, ps in enumerate(self.proxies):
                lf_ln = ps.f.get("log_format_line")
                if lf_ln is not None:
                    post_where(lf_ln.file, ps.f.get("args_line", ps.loc.line), rank, "log-format")
                self.check_log_format(ps)
                uid_ln = ps.f.get("unique_id_line")
                if uid_ln is not None:
                    post_where(uid_ln.file, uid_ln.lineno, rank, "unique-id-format")
                self.check_unique_id(ps)
        proxies = [self.freeze(ps, uuids[i]) for i, ps in enumerate(self.proxies)]
        defaults = [self.freeze(ps, 0) for ps in self.defaults_list]
        parsed = not d.parse_failed
        if not parsed:  # what freeze found is 2.6's post-parse checks' too
            d.drop_post()
        elif groups_failed:
            d.messages = d.messages[:mark] + [m for m in d.messages[mark:] if m.phase != POST]
        cfg = Config(global_=glob, proxies=tuple(proxies), defaults=tuple(defaults),
                     other_sections=tuple(self.other_sections),
                     log_forwards=self.log_forward_models(),  # type: ignore[attr-defined]
                     userlists=tuple((n, tuple(u)) for n, u in self.userlists), files=tuple(self.files),
                     userlist_groups=groups,
                     programs=tuple(self.programs), caches=tuple(self.caches),
                     fcgi_apps=self.fcgi_models(),  # type: ignore[attr-defined]
                     tls_keys=TLS.ticket_rings(self),
                     tls_issuers=tuple(self.g.get("tls", {}).get("issuers", ())))
        if parsed and not groups_failed:
            self.post_checks(cfg)
        from haproxy_py.samples.patref import end_post

        end_post()
        return cfg

    def resolve_groups(self) -> tuple[tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...], bool]:
        """Each userlist's groups with their members (2.6's auth_resolve_groups). Its checks stop at
        the first unknown name, met in 2.6's order: the lists, their users and their groups from
        the last declared, a user's groups before the groups' users. With whether one was unknown."""
        out = []
        first: str | None = None
        for (name, users), (_, groups, user_groups) in zip(self.userlists, self.userlist_groups, strict=True):
            names = {u for u, _, _ in users}
            members: dict[str, list[str]] = {g: [] for g, _ in groups}
            for u, gs in user_groups:
                for g in gs:
                    if g in members and u not in members[g]:
                        members[g].append(u)
            for g, us in groups:
                for u in us:
                    if u in names and u not in members[g]:
                        members[g].append(u)
            out.append((name, tuple((g, tuple(us)) for g, us in members.items())))
        for (name, users), (_, groups, user_groups) in reversed(list(zip(self.userlists, self.userlist_groups,
                                                                          strict=True))):
            names = {u for u, _, _ in users}
            known = {g for g, _ in groups}
            first = next((f"no such group '{g}' specified in user '{u}'" for u, gs in reversed(user_groups)
                          for g in gs if g not in known), None)
            if first is None:
                first = next((f"no such user '{u}' specified in group '{g}'" for g, us in reversed(groups)
                              for u in us if u not in names), None)
            if first is not None:
                self.d.alert(f"userlist '{name}': {first}", self.userlist_locs.get(name), phase=POST)
                break
        return tuple(out), first is not None

    def freeze(self, ps: ProxyState, uuid: int) -> Proxy:
        f = ps.f
        self.check_capture_ids(ps)
        mode = f.get("mode", "tcp")
        if not ps.is_defaults and not f.get("disabled") and f.get("bind_threads"):
            self._check_bind_threads(ps)
        if mode != "http" and not ps.is_defaults and not f.get("disabled"):
            self._ensure_no_http(ps)
        http_check = None
        hc = f.get("httpchk")
        if hc is not None:
            kw = dict(hc)
            for k in ("method", "uri", "version", "body"):
                if k in ps.check_rules:
                    kw[k] = ps.check_rules[k]
            own = list(kw.get("headers", ()))
            heads = own + ps.check_headers
            kw["headers"] = tuple(heads)
            cr = ps.check_rules
            for k in ("expect", "disable_on_404", "send_state", "connect", "pre", "mid", "post", "uri_fmt",
                      "body_fmt"):
                if k in cr:
                    kw[k] = cr[k]
            kw["header_fmts"] = tuple((len(own) + i, fmt) for i, fmt in sorted(cr.get("header_fmts", {}).items()))
            kw["expect_opts"] = tuple(sorted(cr.get("expect_opts", {}).items()))
            kw["expects_before"] = tuple((e, tuple(sorted(o.items()))) for e, o in cr.get("expects_before", ()))
            http_check = HttpCheck(**kw)
        tcp_check = None
        if f.get("check_type") == "tcp-check":
            from haproxy_py.config.tcpcheck import with_implicit_connect

            tcp_check = with_implicit_connect(f.get("tcp_rules", ()))
        elif f.get("check_type") == "external-check":
            pass
        elif f.get("check_type"):
            tcp_check = f["check_rules"]
        stats_kw = {k: v for k, v in ps.stats.items()}
        stats = StatsConf(auth=tuple(ps.stats_auth), admin=tuple(ps.stats_admin), scopes=tuple(ps.stats_scopes),
                          **stats_kw)
        logs_l: list[LogTarget] = []
        for lt in ps.logs:
            if lt is None:
                logs_l.extend(self.g_logs)
            else:
                logs_l.append(lt)
        logs = tuple(logs_l)
        return Proxy(
            name=ps.name, kind=ps.kind, loc=ps.loc, uuid=uuid, explicit_id=f.get("explicit_id"), mode=mode,
            disabled=f.get("disabled", False), description=f.get("description"), binds=tuple(ps.binds),
            maxconn=f.get("maxconn"), backlog=f.get("backlog"), acls=tuple(ps.acls), use_backends=tuple(ps.use_backends),
            use_servers=tuple(ps.use_servers),
            default_backend=f.get("default_backend"), forwardfor=f.get("forwardfor"),
            captures=tuple(ps.captures), http_rules=tuple(ps.http_rules),
            defaults_rules=tuple(ps.defaults_rules) if not ps.is_defaults else (),
            defaults_acls=tuple(ps.defaults_acls) if ps.defaults_rules and not ps.is_defaults else (), logs=logs,
            log_global=f.get("log_global", False), no_log=f.get("no_log", False),
            log_format=f.get("log_format"), log_style=self._log_style(ps, mode), log_tag=f.get("log_tag"),
            servers=tuple(self._puids(ps.servers)), default_server=ps.default_server,
            balance=f.get("balance", Balance()), hash_type=f.get("hash_type", HashType()),
            hash_balance_factor=f.get("hash_balance_factor", 0), cookie=f.get("cookie"),
            dyncookie_key=f.get("dyncookie_key"), max_ka_queue=f.get("max_ka_queue", 0),
            rdp_persist=f.get("rdp_persist"),
            retries=f.get("retries", 3), redispatch=f.get("redispatch", 0),
            retry_on=f.get("retry_on", frozenset(("conn-failure",))), fullconn=f.get("fullconn"),
            http_send_name_header=f.get("http_send_name_header"), http_check=http_check,
            tcp_check=tcp_check, tcp_check_proto=f.get("check_type") not in (None, "tcp-check"),
            external_check=self.external_check_of(ps), email_alert=self.email_alert_of(ps),
            dispatch=self._dispatch(ps), http_reuse=f.get("http_reuse", "safe"), fcgi_app=f.get("fcgi_app"),
            timeouts=self._effective_timeouts(ps),
            options=tuple(ps.options.items()), restrict_hdr_names=f.get("restrict_hdr_names", "preserve"),
            stats=stats, errorfiles=self.resolve_errorfiles(ps),
            monitor_uri=f.get("monitor_uri"), monitor_fail=f.get("monitor_fail", ()),
            unique_id_format=f.get("unique_id_format"), unique_id_header=f.get("unique_id_header"),
            originalto=f.get("originalto"), rate_limit_sessions=f.get("rate_limit_sessions"),
            compression=f.get("compression"),
            cli_tcpka=tcpka_of(ps, "cli"), srv_tcpka=tcpka_of(ps, "srv"),
            nolinger=bool(ps.options.get("nolinger")),
            ignored=tuple(ps.ignored), stick_table=f.get("stick_table"),
            stick_rules=tuple(f.get("stick_rules", ())), persist_rules=tuple(f.get("persist_rules", ())))

    def _check_bind_threads(self, ps: ProxyState) -> None:
        """2.6's check of the bind lines' 'thread' sets against the threads that exist (nbthread,
        by default the CPUs this process may run on), in its one thread group."""
        import os

        n = self.g.get("nbthread") or min(len(os.sched_getaffinity(0)), 64)
        for (file, line, arg), sets in ps.f["bind_threads"].items():
            if any(min(ts, default=n + 1) <= n for _, ts in sets):
                continue
            what = ("only references threads not belonging to the group" if any(g for g, _ in sets)
                    else "contains threads that belong to no group")
            self.d.alert(f"Proxy '{ps.name}': 'thread' directive {what} in 'bind {arg}' at [{file}:{line}].",
                         Location(file, line, 1), phase=POST)

    def _ensure_no_http(self, ps: ProxyState) -> None:
        """2.6's first checks of a proxy not in HTTP mode (cookie, monitor-uri, HTTP hashes: then
        round robin); the log format's follows (_log_style)."""
        f = ps.f
        what = f"{ps.type_str} '{ps.name}'"
        if f.get("cookie") is not None or f.get("cookie_name_only"):
            self.d.warning(f"cookie will be ignored for {what} (needs 'mode http').", ps.loc, phase=POST)
        if f.get("monitor_uri") is not None:
            self.d.warning(f"monitor-uri will be ignored for {what} (needs 'mode http').", ps.loc, phase=POST)
        bal = f.get("balance")
        if bal is not None and bal.algorithm in ("uri", "url_param", "hdr"):
            self.d.warning(f"Layer 7 hash not possible for {what} (needs 'mode http'). Falling back to round robin.",
                           ps.loc, phase=POST)
            f["balance"] = Balance()

    @staticmethod
    def _effective_timeouts(ps: ProxyState) -> Timeouts:
        """HAProxy's defaults applied after parsing: queue and tarpit fall back to connect."""
        t = dict(ps.timeouts)
        if not ps.is_defaults and (ps.caps & K.BE) and t.get("connect"):
            t.setdefault("queue", t["connect"])
            t.setdefault("tarpit", t["connect"])
        return Timeouts(**t)

    def _dispatch(self, ps: ProxyState) -> Address | None:
        """The dispatch address: 2.6 ignores it in a backend that has a ``balance`` (its own or
        its defaults'), with a warning."""
        addr = ps.f.get("dispatch")
        if addr is not None and "balance" in ps.f:
            self.d.warning(f"dispatch address of {ps.type_str} '{ps.name}' will be ignored in balance mode.",
                           phase=POST)
            return None
        return addr

    def _log_style(self, ps: ProxyState, mode: str) -> str:
        style = ps.f.get("log_style", "default")
        if style.startswith(("httplog", "httpslog")) and mode != "http" and ps.kind != "defaults":
            ln = ps.f.get("httplog_line")
            where = f"parsing [{ln.file}:{ln.lineno}] : " if ln is not None else ""
            opt = "httpslog" if style == "httpslog" else "httplog"
            self.d.warning(f"{where}'option {opt}' not usable with {ps.type_str} '{ps.name}' (needs 'mode http'). "
                           "Falling back to 'option tcplog'.", ps.log_style_loc, line=ln.raw if ln else None,
                           phase=POST)
            return "tcplog"
        return style

    @staticmethod
    def _puids(servers: list[ServerConf]) -> list[ServerConf]:
        # the ServerConf objects are fresh (built by this builder, not shared yet): setting puid in
        # place is the same as dataclasses.replace, without its cost on 10k servers
        # 2.6's numbering: a counter that moves on with every server, explicit id or not, and
        # past the ids already taken
        used = {s.id for s in servers if s.id is not None}
        nxt = 1
        for s in servers:
            if s.id is not None:
                object.__setattr__(s, "puid", s.id)
                nxt += 1
                continue
            while nxt in used:
                nxt += 1
            used.add(nxt)
            object.__setattr__(s, "puid", nxt)
            nxt += 1
        return servers
