"""Health checks: 'option httpchk' and the check-type options (tcp-check, redis-check, pgsql-check,
smtpchk, ssl-hello-chk, ldap-check, mysql-check), 'http-check' and 'tcp-check' rules (the tcp-check
language is config/tcpcheck.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.model import EmailAlert, ExternalCheck
from haproxy_py.config.tokenizer import Line


class ChecksMixin(BuilderBase):
    def kw_http_check(self, ln: Line, p: ProxyState) -> None:
        from haproxy_py.config import tcpcheck as TC

        if not p.is_defaults:
            self.capwarn(ln, p, K.BE)  # 2.6 warns, then still reads the line
        w = ln.words
        sub = w[1] if len(w) > 1 else ""
        p.check_rules_loc = p.check_rules_loc or ln.loc(0)
        r = p.check_rules
        name = sub.partition("(")[0]
        if name in S.HTTP_CHECK.known and not self.supported(S.HTTP_CHECK, ln, name, 1, f"http-check {name}"):
            return
        if sub not in ("disable-on-404", "send-state") and r.get("_of") != id(p):
            # a proxy's own rules replace those of its defaults section (the two flags stay)
            for k in [k for k in r if k not in ("disable_on_404", "send_state")]:
                del r[k]
            p.check_headers.clear()
            r["_of"] = id(p)
        try:
            if sub == "disable-on-404":
                r["disable_on_404"] = True
            elif sub == "send-state":
                r["send_state"] = True
            elif sub == "comment":
                if len(w) < 3:
                    self.fail(ln, "'http-check comment' : expects a string as argument.", 1)
                r["_comment"] = " ".join(w[2:])
            elif sub.startswith(("set-var(", "set-var-fmt(", "unset-var(")):
                act = TC.var_action(list(w), -1, "http-check")
                # where it stands: before the request, before the verdict, or after it
                where = "post" if "expect" in r else "mid" if r.get("_sent") else "pre"
                r[where] = r.get(where, ()) + (act,)
                r.pop("_comment", None)
            elif sub == "connect":
                if r.get("_sent") or "expect" in r or "connect" in r:
                    if "connect" not in r:
                        self.fail(ln, "'http-check connect' : first step MUST also be a 'connect', optionally "
                                  "preceded by a 'set-var', an 'unset-var' or a 'comment', when there is a "
                                  "'connect' step in the tcp-check ruleset.", 1)
                    self.fail(ln, S.HTTP_CHECK.refusal("connect", "a second http-check connect (another "
                                                       "request on a new connection)"), 1, ours=True)
                rule = TC.connect_rule(list(w), 0, "http-check")
                if rule.comment is None and r.get("_comment"):
                    rule = dataclasses.replace(rule, comment=r["_comment"])
                r.pop("_comment", None)
                r["connect"] = rule
            elif sub == "send":
                if r.get("_sent") or "expect" in r:  # 2.6: one send per connection
                    self.fail(ln, f"'http-check send' : unable to add http-check send rule at step "
                              f"{r.get('_steps', 0) + 1} (missing connect rule)..", 1)
                self._http_check_send(ln, p, w)
                r.pop("_comment", None)
            elif sub == "expect":
                self._http_check_expect(ln, p, w)
            else:
                self.fail(ln, "'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', "
                          "'send', 'expect', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)'. but got "
                          f"'{sub}'", min(1, len(w) - 1))
        except TC.TcpCheckError as e:
            self.fail(ln, e.message, e.index, ours=e.ours)
        if sub in ("connect", "send", "expect"):  # 2.6's step numbers count these
            r["_steps"] = r.get("_steps", 0) + 1

    def _http_check_send(self, ln: Line, p: ProxyState, w: Any) -> None:
        from haproxy_py.config import tcpcheck as TC

        r = p.check_rules
        r["_sent"] = True
        j = 2
        while j < len(w):
            a = w[j]
            val = w[j + 1] if j + 1 < len(w) else None
            if a in ("meth", "uri", "ver", "body", "uri-lf", "body-lf") and val is not None:
                key = {"meth": "method", "uri": "uri", "uri-lf": "uri", "ver": "version", "body": "body",
                       "body-lf": "body"}[a]
                r[key] = val
                if a.endswith("-lf"):  # a log-format string, built at each check
                    r[key + "_fmt"] = TC.log_format(val, j + 1, "http-check send")
                else:
                    r.pop(key + "_fmt", None)
                j += 2
            elif a == "hdr" and j + 2 < len(w):
                value = w[j + 2]  # 2.6 reads header values as log-format strings
                if "%" in value:
                    fmts = dict(r.get("header_fmts", {}))
                    fmts[len(p.check_headers)] = TC.log_format(value, j + 2, "http-check send")
                    r["header_fmts"] = fmts
                p.check_headers.append((w[j + 1], value))
                j += 3
            elif a == "comment" and val is not None:
                j += 2
            else:
                self.fail(ln, f"'http-check send' : 'meth', 'uri', 'ver', 'hdr', 'body' or 'comment' "
                          f"expected but got '{a}'.", j, ours=True)

    def _http_check_expect_hdr(self, ln: Line, w: Any, j: int, what: str, opts: dict[str, Any]) -> int:
        """``expect [!]hdr|fhdr name[-lf] [-m METH] NAME [value[-lf] [-m METH] VALUE]``: the
        matchers, in ``opts["hdr"]`` as ((meth, pattern or log-format), (meth, ...) or None)."""
        from haproxy_py.config import tcpcheck as TC

        parts: dict[str, tuple[str, Any]] = {}
        while j < len(w) and w[j] in ("name", "name-lf", "value", "value-lf"):
            key = w[j]
            base = key.removesuffix("-lf")
            if base in parts:
                self.fail(ln, f"'http-check expect' : '{key}' already specified.", j, ours=True)
            j += 1
            meth = "str"
            if j < len(w) and w[j] == "-m":
                meth = w[j + 1] if j + 1 < len(w) else ""
                if meth not in ("str", "beg", "end", "sub", "reg"):
                    self.fail(ln, f"'http-check expect' : '{key}' : only 'str', 'beg', 'end', 'sub' or 'reg' "
                              f"are supported as matching method (got '{meth}').", j + 1, ours=True)
                if key.endswith("-lf") and meth == "reg":
                    self.fail(ln, f"'http-check expect' : '{key}' : 'reg' is not supported with a log-format "
                              "string.", j + 1, ours=True)
                j += 2
            if j >= len(w):
                self.fail(ln, f"'http-check expect' : '{key}' expects <pattern> as an argument.", j - 1)
            text = w[j]
            if key.endswith("-lf"):
                pat: Any = TC.log_format(text, j, "http-check expect")
            elif meth == "reg":
                import re

                try:
                    pat = re.compile(text.encode("latin-1"), re.I if base == "name" else 0)
                except re.error as e:
                    self.fail(ln, f"'http-check expect' : regex '{text}' does not compile: {e}.", j, ours=True)
            else:
                pat = text.lower() if base == "name" else text
            parts[base] = (meth, pat)
            j += 1
        if "name" not in parts:
            self.fail(ln, f"'http-check expect' : '{what}' expects 'name' or 'name-lf' as argument.", j, ours=True)
        opts["hdr"] = (what == "fhdr", parts["name"], parts.get("value"))
        return j

    def _http_check_expect(self, ln: Line, p: ProxyState, w: Any) -> None:
        from haproxy_py.config import tcpcheck as TC

        r = p.check_rules
        if "expect" in r:  # another rule on the same response: the one before is judged first
            r["expects_before"] = r.get("expects_before", ()) + ((r["expect"], r.get("expect_opts", {})),)
        opts: dict[str, Any] = {}
        j = 2
        neg = False
        what = ""
        pat: str | None = None
        while j < len(w):
            a = w[j]
            val = w[j + 1] if j + 1 < len(w) else None
            if a in ("min-recv", "comment", "ok-status", "error-status", "tout-status", "on-success", "on-error",
                     "status-code"):
                if val is None:
                    self.fail(ln, f"'http-check expect' : '{a}' expects an argument.", j)
                if a == "min-recv":
                    pass  # HTTP responses are read whole: nothing to wait for
                elif a == "comment":
                    opts["comment"] = val
                elif a in ("ok-status", "error-status", "tout-status"):
                    allowed = {"ok-status": TC.OK_STATUSES, "error-status": TC.ERROR_STATUSES,
                               "tout-status": TC.TOUT_STATUSES}[a]
                    if val not in allowed:
                        self.fail(ln, f"'http-check expect' : '{a}' only supports {TC.statuses_text(allowed)} "
                                  f"status (got '{val}')..", j + 1)
                    opts[a.replace("-", "_")] = val
                elif a in ("on-success", "on-error"):
                    opts[a.replace("-", "_")] = TC.log_format(val, j + 1, "http-check expect") \
                        if "%" in val else val
                else:
                    m = TC.INT_EXPR.match(val)
                    if m is None:
                        self.fail(ln, S.HTTP_CHECK.refusal("expect", "http-check expect status-code with an "
                                                           "expression other than int(N)"), j + 1, ours=True)
                    opts["status_code"] = int(m.group(1))
                j += 2
                continue
            if what:
                self.fail(ln, f"'http-check expect' : unexpected argument '{a}'.", j, ours=True)
            if a == "!":
                neg = True
                j += 1
                continue
            what = a
            if what.startswith("!"):
                neg = True
                what = what[1:]
            if what in ("hdr", "fhdr"):
                j = self._http_check_expect_hdr(ln, w, j + 1, what, opts)
                pat = ""
                continue
            if what not in ("status", "rstatus", "string", "rstring", "string-lf"):
                self.fail(ln, "'http-check expect' : 'only supports min-recv, [!]string', '[!]rstring', "
                          "'[!]string-lf', '[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment but got "
                          f"'{what}' as argument..", j)
            pat = val
            if pat is None:
                self.fail(ln, f"'http-check expect' : '{what}' expects <pattern> as an argument.", j)
            if what == "string-lf":
                opts["fmt"] = TC.log_format(pat, j + 1, "http-check expect")
            j += 2
        if not what or pat is None:
            self.fail(ln, "'http-check expect' : 'only supports min-recv, [!]string', '[!]rstring', "
                      "'[!]string-lf', '[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment but got "
                      "'' as argument..", j)
        if "comment" not in opts and r.get("_comment"):
            opts["comment"] = r["_comment"]
        r.pop("_comment", None)
        r["expect"] = (what, pat, neg)
        r["expect_opts"] = opts

    def kw_tcp_check(self, ln: Line, p: ProxyState) -> None:
        from haproxy_py.config import tcpcheck as TC

        if not p.is_defaults:
            self.capwarn(ln, p, K.BE)  # 2.6 warns, then still reads the line
        w = ln.words
        sub = w[1] if len(w) > 1 else ""
        if sub in S.TCP_CHECK.known and not self.supported(S.TCP_CHECK, ln, sub, 1, f"tcp-check {sub}"):
            return
        if p.f.get("tcp_rules_of") != id(p):  # a proxy's own rules replace those of its defaults
            p.f.update(tcp_rules_of=id(p), tcp_rules=(), tcp_lines=0, tcp_comment=None)
        index = p.f["tcp_lines"]
        try:
            rule = TC.parse_line(list(w), index)
        except TC.TcpCheckError as e:
            self.fail(ln, e.message, e.index, ours=e.ours)
        p.f["tcp_lines"] = index + 1
        if isinstance(rule, str):
            p.f["tcp_comment"] = rule
            return
        if rule.comment is None and p.f["tcp_comment"] is not None:
            rule = dataclasses.replace(rule, comment=p.f["tcp_comment"])
        p.f["tcp_comment"] = None
        p.f["tcp_rules"] = p.f["tcp_rules"] + (rule,)

    def opt_httpchk(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        p.f.pop("check_type", None)
        hc: dict[str, Any] = {}
        if len(args) == 1:
            hc["uri"] = args[0]
        elif len(args) >= 2:
            hc["method"] = args[0]
            hc["uri"] = args[1]
            if len(args) >= 3:
                ver = " ".join(args[2:])
                if "\r" in ver or "\n" in ver or len(args) > 3:
                    self.d.warning(f"parsing [{ln.file}:{ln.lineno}]: 'option httpchk' : hiding headers or "
                                   "body at the end of the version string is deprecated. Please, consider "
                                   "to use 'http-check send' directive instead.", ln.loc(i + 3), line=ln.raw)
                    first, _, hdrs = ver.partition("\r\n")
                    hc["version"] = first
                    heads = []
                    for h in hdrs.split("\r\n"):
                        if ":" in h:
                            k_, _, v_ = h.partition(":")
                            heads.append((k_.strip(), v_.strip()))
                    hc["headers"] = tuple(heads)
                else:
                    hc["version"] = args[2]
        p.f["httpchk"] = hc
        p.options["httpchk"] = True

    def _opt_check_type(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        """The options that set the check type to a tcp-check ruleset (the last one wins, as in 2.6)."""
        name = ln.words[i]
        from haproxy_py.config import tcpcheck as TC

        try:
            rules = TC.option_rules(name, list(args))
        except TC.TcpCheckError as e:
            self.fail(ln, e.message, i + 1 + e.index, ours=e.ours)
        # the last check-type option wins, as in 2.6
        p.f.pop("httpchk", None)
        for o in ("httpchk", *TC.CHECK_OPTIONS):
            p.options.pop(o, None)
        p.f["check_type"] = name
        p.f["check_rules"] = rules
        p.options[name] = True

    def opt_external_check(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        """``option external-check``: the check runs ``external-check command`` (the last check-type
        option wins)."""
        from haproxy_py.config import tcpcheck as TC

        if args:
            self.fail(ln, f"'option external-check' cannot handle unexpected argument '{args[0]}'.", i + 1)
        p.f.pop("httpchk", None)
        for o in ("httpchk", *TC.CHECK_OPTIONS):
            p.options.pop(o, None)
        p.f["check_type"] = "external-check"
        p.options["external-check"] = True

    def kw_external_check(self, ln: Line, p: ProxyState) -> None:
        """``external-check command CMD`` / ``external-check path PATH`` (2.6's words)."""
        w = ln.words
        if len(w) < 2:
            self.fail(ln, "missing argument after 'external-check'.\n", 0)
        sub = w[1]
        if sub not in ("command", "path"):
            self.fail(ln, f"'external-check' only supports 'command' and 'path'. but got '{sub}'.", 1)
        if len(w) < 3:
            self.fail(ln, f"missing argument after '{sub}'.", 1)
        if len(w) > 3:
            self.fail(ln, f"'external-check' cannot handle unexpected argument '{w[3]}'.", 3)
        p.f["ext_" + sub] = w[2]
        p.f.setdefault("ext_loc", ln.loc(0))

    def kw_email_alert(self, ln: Line, p: ProxyState) -> None:
        """``email-alert mailers|from|to|level|myhostname VALUE``."""
        from haproxy_py.config import mailers as ML

        r = ML.email_alert_arg(list(ln.words))
        if isinstance(r, str):
            self.fail(ln, r, 1)
        ea = dict(p.f.get("email_alert") or {})
        ea[r[0]] = r[1]
        p.f["email_alert"] = ea
        p.f.setdefault("email_alert_loc", ln.loc(0))

    def email_alert_of(self, ps: ProxyState) -> EmailAlert | None:
        ea = ps.f.get("email_alert") or {}
        if not (ea.get("mailers") and ea.get("from") and ea.get("to")):
            return None
        return EmailAlert(ea["mailers"], ea["from"], ea["to"], int(ea.get("level", 1)), ea.get("myhostname") or None)

    def post_email_alerts(self, cfg: Any) -> set[str]:
        """2.6's verdicts on email alerts; returns the mailers sections that complete ones use."""
        from haproxy_py.config import mailers as ML
        from haproxy_py.config.diagnostics import POST

        known = ML.sections(cfg.other_sections)
        used: set[str] = set()
        for ps, p in zip(self.proxies, cfg.proxies, strict=True):
            if ps.is_defaults or not ps.f.get("email_alert"):
                continue
            if p.email_alert is None:
                self.d.warning(f"'email-alert' will be ignored for {p.type_str} '{p.name}' (the presence any of "
                               "'email-alert from', 'email-alert level' 'email-alert mailers', 'email-alert "
                               "myhostname', or 'email-alert to' requires each of 'email-alert from', "
                               "'email-alert mailers' and 'email-alert to' to be present).", p.loc, phase=POST)
            elif p.email_alert.mailers not in known:
                self.d.alert(f"Proxy '{p.name}': unable to find mailers '{p.email_alert.mailers}'.", p.loc,
                             phase=POST)
            else:
                used.add(p.email_alert.mailers)
        return used

    def external_check_of(self, ps: ProxyState) -> ExternalCheck | None:
        f = ps.f
        if f.get("check_type") != "external-check" or not f.get("ext_command"):
            return None
        return ExternalCheck(f["ext_command"], f.get("ext_path"))

    def post_external_checks(self, cfg: Any) -> None:
        """2.6's verdicts once everything is read: the global keyword, the command, its path."""
        from haproxy_py.config.diagnostics import POST

        d = self.d
        for ps, p in zip(self.proxies, cfg.proxies, strict=True):
            f = ps.f
            if ps.is_defaults or p.disabled:
                continue
            if f.get("check_type") == "external-check":  # (2.6: in a frontend too)
                if not cfg.global_.external_check:
                    d.alert(f"Proxy '{p.name}' : 'option external-check' unable to find required "
                            "'global.external-check'.", p.loc, phase=POST)
                cmd = f.get("ext_command")
                if not cmd:
                    d.alert(f"Proxy '{p.name}' : 'option external-check' unable to find required "
                            "'external-check command'.", p.loc, phase=POST)
                elif not cmd.startswith("/") and not f.get("ext_path"):
                    d.alert(f"Proxy '{p.name}': 'external-check command' does not have a leading '/' and "
                            "'external-check path' is not set.", p.loc, phase=POST)
                if not cfg.global_.insecure_fork_wanted:
                    d.warning(f"Proxy '{p.name}' : 'insecure-fork-wanted' not enabled in the global section, "
                              "'option external-check' will likely fail.", p.loc, phase=POST)
            else:
                for sub in ("command", "path"):
                    if f.get("ext_" + sub):
                        d.warning(f"'external-check {sub}' will be ignored for {p.type_str} '{p.name}' (requires "
                                  "'option external-check').", f.get("ext_loc") or p.loc, phase=POST)

    opt_tcp_check = opt_redis_check = opt_pgsql_check = opt_smtpchk = _opt_check_type
    opt_ssl_hello_chk = opt_ldap_check = opt_mysql_check = opt_spop_check = _opt_check_type
