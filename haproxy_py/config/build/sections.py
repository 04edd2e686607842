"""The driver: statements dispatched by section; section headers and ends; the sections
kept as words (userlist, program, resolvers, peers, mailers...)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip, bad_name_char
from haproxy_py.config.diagnostics import POST
from haproxy_py.config.model import Program, Section
from haproxy_py.config.tokenizer import Line
from haproxy_py.registry import NO_EFFECT, REFUSED


class SectionsMixin(BuilderBase):
    def feed(self, lines: Iterable[Line], filename: str) -> None:
        self.files.append(filename)
        for ln in lines:
            self._where(ln.file, ln.lineno)
            try:
                self.statement(ln)
            except _Skip:
                pass
            if self.d.aborted:
                break
        # a section ends at the end of its file
        self.end_section()

    def statement(self, ln: Line) -> None:
        w0 = ln.words[0]
        if w0 in K.SECTIONS:
            self.end_section()
            self.start_section(ln)
            return
        if self.section is None:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: unknown keyword '{w0}' out of section.",
                         ln.loc(0), line=ln.raw, expected="a section keyword ("
                         + ", ".join(K.SECTIONS[:5]) + ", ...) first")
            return
        if self.section == "global":
            self.global_kw(ln)
        elif self.section in K.PROXY_SECTIONS:
            if self.cur is None:  # the section header failed
                return
            self.proxy_kw(ln, self.cur)
        else:
            self.other_kw(ln)

    def start_section(self, ln: Line) -> None:
        kind = ln.words[0]
        self.section = kind
        if kind == "global":
            self.g_loc = self.g_loc or ln.loc(0)
            if len(ln.words) > 1:
                self.alert(ln, f"'global' section does not take any argument (got '{ln.words[1]}').", 1,
                           ours=True)
            return
        if kind in K.KEPT_SECTIONS:
            name = ln.words[1] if len(ln.words) > 1 else ""
            if not name and kind in ("peers", "resolvers"):  # 2.6 stops reading there
                self.alert(ln, f"missing name for {kind} section.", 0)
                self.d.aborted = True
                self.section_obj = None
                return
            if S.SECTION.status(kind) == REFUSED:
                self.alert(ln, S.SECTION.refusal(kind, f"{kind} {name}".strip()), 0, ours=True)
            elif S.SECTION.status(kind) == NO_EFFECT:
                self.d.notice(self._p(ln) + S.SECTION.notice(kind), ln.loc(0), line=ln.raw, ours=True)
            if kind == "mailers":
                prev = next((loc for n, loc, _ln in self.mailers_pending if n == name), None)
                if prev is not None:
                    self.d.alert(f"Parsing [{ln.file}:{ln.lineno}]: mailers section '{name}' has the same name as "
                                 f"another mailers section declared at {prev.file}:{prev.line}.", ln.loc(1),
                                 line=ln.raw)
            self.section_obj = [kind, name, [], ln.loc(0), ln]
            if kind == "log-forward" and not self.log_forward_section(ln, name):  # type: ignore[attr-defined]
                self.section_obj = None
                return
            if kind == "ring" and not self.ring_section(ln, name):  # type: ignore[attr-defined]
                self.section_obj = None
                return
            if kind == "http-errors" and not self.http_errors_section(ln, name):
                self.section_obj = None
                return
            if kind == "userlist":
                self.userlist_open(ln)
            elif kind == "program":
                self.program_cur = {"name": name, "loc": ln.loc(0)}
            elif kind == "cache":
                self.cache_start(ln)  # type: ignore[attr-defined]
            elif kind == "fcgi-app":
                self.fcgi_start(ln)  # type: ignore[attr-defined]
            return
        # proxies
        name = ln.words[1] if len(ln.words) > 1 else ""
        if kind != "defaults" and not name:
            self.alert(ln, f"'{kind}' expects <name> as an argument.", 0)
            self.cur = None
            return
        if (ch := bad_name_char(name)) is not None:
            self.alert(ln, f"character '{ch}' is not permitted in '{kind}' name '{name}'.", 1)
            self.cur = None
            return
        p = ProxyState(name, kind, ln.loc(0))
        rest = ln.words[2:]
        from_name: str | None = None
        if len(rest) >= 2 and rest[0] == "from":
            from_name = rest[1]
            rest = rest[2:]
        if rest:
            if kind in ("frontend", "listen"):
                # 1.5 syntax: "listen NAME ADDR:PORT". HAProxy 2.6 rejects it; we accept it as a bind
                self.d.notice(self._p(ln) + f"'{kind} {name} {rest[0]}': the address on the section line "
                              "is the 1.5 syntax; HAProxy 2.6 rejects it ('please use the 'bind' keyword "
                              "for listening addresses.'), haproxy-py accepts it as a 'bind' line.",
                              ln.loc(2), line=ln.raw, ours=True)
                self.old_syntax = True
                try:
                    self.do_bind(Line(["bind", *rest], ln.cols[1:], ln.file, ln.lineno, ln.raw), p,
                                 offset=1)
                except _Skip:
                    pass
            else:
                self.alert(ln, f"'{kind}' cannot handle unexpected argument '{rest[0]}'.", 2)
        if from_name is not None:
            src = self.named_defaults.get(from_name)
            if src is None:
                self.alert(ln, f"defaults section '{from_name}' not found for {kind} '{name}'.", 3)
                src = self.cur_defaults
        else:
            # a new defaults section starts from scratch (it resets the template)
            src = None if kind == "defaults" else self.cur_defaults
        if src is not None and any(r.action != "inspect-delay" for r in src.http_rules) \
                and not self._may_inherit_rules(ln, kind, src):
            src = None
        if src is not None:
            p.inherit(src)
        if kind == "defaults":
            self.defaults_list.append(p)
            self.cur_defaults = p
            if name:
                self.named_defaults[name] = p
        else:
            # duplicate names by capability
            for other in self.proxies:
                if other.name == name and (other.caps & p.caps):
                    self.d.alert(f"Parsing [{ln.file}:{ln.lineno}]: {p.type_str} '{name}' has the same name as "
                                 f"{other.type_str} '{name}' declared at {other.loc.file}:{other.loc.line}.",
                                 ln.loc(1), line=ln.raw)
                    break
            self.proxies.append(p)
        self.cur = p

    def _may_inherit_rules(self, ln: Line, kind: str, src: ProxyState) -> bool:
        """2.6's checks on a defaults section that has rules, before a section inherits it."""
        where = f"(defaults section at {src.loc.file}:{src.loc.line})"
        pre = f"parsing [{ln.file}:{ln.lineno}]: "
        if kind == "listen":
            self.d.alert(pre + "a listen section cannot inherit from a defaults section defining TCP/HTTP rules.",
                         ln.loc(0), line=ln.raw)
            return False
        if kind == "defaults":
            self.d.alert(pre + "a defaults section cannot inherit from a defaults section defining TCP/HTTP "
                         f"rules {where}.", ln.loc(0), line=ln.raw)
            return False
        if src.rule_users and kind not in src.rule_users:
            self.d.alert(pre + "frontends and backends cannot inherit from the same defaults section if it "
                         f"defines TCP/HTTP rules {where}.", ln.loc(0), line=ln.raw)
            return False
        if kind == "frontend" and any(r.kind == "tcp-response" and r.action.startswith("content ")
                                      for r in src.http_rules):
            self.d.alert(pre + "a frontend section cannot inherit from a defaults section defining "
                         f"'tcp-response content' rules {where}.", ln.loc(0), line=ln.raw)
            return False
        if kind == "backend" and any(r.kind == "tcp-request" and r.action.startswith(("connection ", "session "))
                                     for r in src.http_rules):
            self.d.alert(pre + "a backend section cannot inherit from a defaults section defining 'tcp-request "
                         f"connection' or 'tcp-request session' rules {where}.", ln.loc(0), line=ln.raw)
            return False
        src.rule_users.add(kind)
        return True

    def _peers_tls_warning(self, host: str) -> None:
        """2.6's warning when the local peer listens with TLS and its own server line (the one
        a stopping process connects with) has none, or the other way round."""
        bind = own = None
        for pl in self.__dict__.get("peers_lines", []):
            w = pl.words
            if w[0] == "bind" and bind is None:
                bind = pl
            elif w[0] in ("peer", "server") and len(w) > 1 and w[1] == host:
                own = pl
                if w[0] == "peer" and bind is None:
                    bind = pl
        if bind is None or own is None:
            return
        bind_ssl = "ssl" in (bind.words[2:] if bind.words[0] == "bind" else ())
        own_ssl = "ssl" in own.words[2:]
        if bind_ssl != own_ssl:
            kinds = ("SSL", "non-SSL") if bind_ssl else ("non-SSL", "SSL")
            loc = bind.loc(0)
            self.d.warning(f"Peers section '{host}': local peer have a {kinds[0]} listener and a {kinds[1]} "
                           f"server configured at line {loc.file}:{loc.line}.", loc, line=bind.raw, phase=POST)

    def end_section(self) -> None:
        if self.section_obj is not None:
            kind, name, lines, loc, ln = self.section_obj
            if kind == "peers":
                host = self.localpeer_cli or self.g.get("localpeer") or os.uname().nodename
                if not any(len(w) > 1 and w[0] in ("peer", "server") and w[1] == host for w in lines) \
                        and not any(w and w[0] == "disabled" for w in lines):
                    self.d.warning(f"Removing incomplete section 'peers {name}' (no peer named '{host}').",
                                   loc, line=ln.raw, phase=POST)
                else:
                    self._peers_tls_warning(host)
                self.__dict__.pop("peers_lines", None)
            if kind == "mailers":
                self.mailers_pending.append((name, loc, ln))
            if kind == "cache":
                self.cache_end(ln)  # type: ignore[attr-defined]
            if kind == "fcgi-app":
                self.fcgi_end(ln)  # type: ignore[attr-defined]
            if kind == "ring":
                self.ring_end(name, loc)  # type: ignore[attr-defined]
            if kind == "program":
                pc = self.program_cur
                if not pc.get("command"):
                    self.d.alert(f"The program section '{name}' lacks a command to launch.", loc, line=ln.raw,
                                 phase=POST)
                else:
                    self.programs.append(Program(**pc))
            self.other_sections.append(Section(kind, name, tuple(lines), loc))
            self.section_obj = None
        if self.cur is not None and self.cur.is_defaults:
            pass
        self.cur = None
        self.section = None

    def other_kw(self, ln: Line) -> None:
        if self.section_obj is None:
            return
        kind = self.section_obj[0]
        self.section_obj[2].append(tuple(ln.words))
        if kind == "userlist":
            self.userlist_kw(ln)
        elif kind == "program":
            self.program_kw(ln)
        elif kind == "cache":
            self.cache_kw(ln)  # type: ignore[attr-defined]
        elif kind == "fcgi-app":
            self.fcgi_kw(ln)  # type: ignore[attr-defined]
        elif kind == "http-errors":
            self.http_errors_kw(ln, self.section_obj[1])
        elif kind == "ring":
            self.ring_kw(ln, self.section_obj[1])  # type: ignore[attr-defined]
        elif kind == "log-forward":
            self.log_forward_kw(ln, self.section_obj[1])  # type: ignore[attr-defined]
        elif kind == "resolvers":
            from haproxy_py.config.resolvers import check_line

            err = check_line(ln.words)
            if err is not None:
                self.alert(ln, err, 0)
        elif kind == "peers":
            from haproxy_py.stick.peersconf import check_line as peers_line

            perr = peers_line(ln.words, self.section_obj[1])
            if perr is not None:
                self.alert(ln, perr[0], perr[1], ours=perr[2])
            self.__dict__.setdefault("peers_lines", []).append(ln)
        elif kind == "mailers":
            from haproxy_py.config import mailers as ML

            err = ML.check_line(list(ln.words))
            if err is not None:
                self.alert(ln, err, 0)

    def userlist_open(self, ln: Line) -> None:
        """A 'userlist' line as 2.6 reads it: a list is created only for a valid name not seen
        before; otherwise the lines that follow go to the last list created (none: ignored)."""
        w = ln.words
        pre = f"parsing [{ln.file}:{ln.lineno}]: "
        name = w[1] if len(w) > 1 else ""
        if not name:
            self.alert(ln, pre + "'userlist' expects <name> as arguments.", 0, raw=True)
            return
        if len(w) > 2:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}] : 'userlist' cannot handle unexpected argument "
                         f"'{w[2]}'.", ln.loc(2), line=ln.raw)
            return
        if (bad := bad_name_char(name)) is not None:
            self.alert(ln, pre + f"character '{bad}' is not permitted in 'userlist' name '{name}'.", 1, raw=True)
            return
        if name in self.userlist_locs:
            self.warn(ln, pre + f"ignoring duplicated userlist '{name}'.", 1, raw=True)
            return
        self.userlists.append((name, []))
        self.userlist_groups.append((name, [], []))
        self.userlist_locs[name] = ln.loc(0)

    def userlist_kw(self, ln: Line) -> None:
        """'user' and 'group' lines, checked in 2.6's order; they fill the last list created."""
        w = ln.words
        pre = f"parsing [{ln.file}:{ln.lineno}]: "
        kw = w[0]
        if kw not in ("user", "group"):
            self.alert(ln, pre + f"unknown keyword '{kw}' in 'users' section", 0, raw=True)
            return
        if len(w) < 2 or not w[1]:
            self.alert(ln, pre + f"'{kw}' expects <name> as arguments.", 0, raw=True)
            return
        if kw == "group":
            if (bad := bad_name_char(w[1])) is not None:
                self.alert(ln, pre + f"character '{bad}' is not permitted in 'group' name '{w[1]}'.", 1, raw=True)
                return
        if not self.userlists:
            return
        lname, users = self.userlists[-1]
        _, groups, user_groups = self.userlist_groups[-1]
        if w[1] in ([u[0] for u in users] if kw == "user" else [g[0] for g in groups]):
            self.warn(ln, pre + f"ignoring duplicated {kw} '{w[1]}' in userlist '{lname}'.", 1, raw=True)
            return
        opts = ("password", "insecure-password", "groups") if kw == "user" else ("users",)
        vals: dict[str, str] = {}
        insecure = False
        bad_at = 0
        for j in range(2, len(w), 2):
            if w[j] not in opts:
                bad_at = j
                break
            vals[w[j] if w[j] != "insecure-password" else "password"] = w[j + 1] if j + 1 < len(w) else ""
            insecure = insecure or w[j] == "insecure-password"
        if kw == "user":  # 2.6 keeps the user even when one of its options is refused
            users.append((w[1], vals.get("password", ""), insecure))
            if vals.get("groups"):
                user_groups.append((w[1], [g for g in vals["groups"].split(",") if g]))
        elif not bad_at:
            groups.append((w[1], [u for u in vals.get("users", "").split(",") if u]))
        if bad_at:
            what = "'password', 'insecure-password' and 'groups' options" if kw == "user" else "'users' option"
            self.alert(ln, pre + f"'{kw}' only supports {what}.", bad_at, raw=True)

    def program_kw(self, ln: Line) -> None:
        w = ln.words
        pc = self.program_cur
        if w[0] == "command":
            if len(w) < 2:
                self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: 'command' expects a command with optional "
                             "arguments separated in words.", ln.loc(0), line=ln.raw)
                return
            pc["command"] = tuple(w[1:])
        elif w[0] in ("user", "group"):
            if len(w) < 2:
                self.alert(ln, f"'{w[0]}' expects a {w[0]} name as an argument.", 0)
                return
            pc[w[0]] = w[1]
        elif w[:2] == ["option", "start-on-reload"] or w[:3] == ["no", "option", "start-on-reload"]:
            pc["start_on_reload"] = w[0] == "option"
        else:
            self.alert(ln, f"unknown keyword '{w[0]}' in 'program' section", 0)
