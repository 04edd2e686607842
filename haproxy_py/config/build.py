"""Words to model: sections, keywords, defaults inheritance, cross-references, semantic checks.

Entry points: :func:`build_config` (statements of several files -> ``(Config, Diagnostics)``).
Pure apart from checking that referenced files (ACL pattern files, errorfiles) can be read and
looking up users/groups, like ``haproxy -c`` does.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from haproxy_py.config import fetches as F
from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config.diagnostics import POST, Diagnostics, did_you_mean
from haproxy_py.config.grammar import (
    AddressError,
    CondError,
    parse_address,
    parse_condition_words,
    parse_fetch_expr,
    parse_int,
    parse_size,
    parse_time,
    time_warning,
)
from haproxy_py.config.model import (
    Acl,
    Address,
    Balance,
    Bind,
    Capture,
    Condition,
    Config,
    CookieConf,
    ForwardFor,
    Global,
    HashType,
    HttpCheck,
    HttpRule,
    Location,
    LogTarget,
    Program,
    Proxy,
    Section,
    ServerConf,
    StatsConf,
    StatsSocket,
    Term,
    Timeouts,
    UseBackend,
)
from haproxy_py.config.tokenizer import Line, expand_address_env
from haproxy_py.registry import NO_EFFECT, REFUSED, Registry, not_implemented

_SERVER_FIELDS = tuple(f.name for f in dataclasses.fields(ServerConf))
#: the global keywords HAProxy 2.6 lets 'no' negate
_GLOBAL_NEGATABLE = ("log", "busy-polling", "set-dumpable", "strict-limits", "insecure-fork-wanted", "numa-cpu-mapping")
_NAME_OK = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:")


def _caps_of(kind: str) -> int:
    return {"frontend": K.FE, "backend": K.BE, "listen": K.FB, "defaults": K.FB}[kind]


class _Skip(Exception):
    """Abort the current statement (its error has been reported)."""


class ProxyState:
    """A proxy while its section is being read (mutable; frozen into ``Proxy`` at the end)."""

    def __init__(self, name: str, kind: str, loc: Location) -> None:
        self.name = name
        self.kind = kind
        self.loc = loc
        self.caps = _caps_of(kind)
        self.f: dict[str, Any] = {}
        self.timeouts: dict[str, int] = {}
        self.options: dict[str, bool] = {}
        self.binds: list[Bind] = []
        self.acls: list[Acl] = []
        self.acl_names: set[str] = set()
        self.use_backends: list[UseBackend] = []
        self.captures: list[Capture] = []
        self.http_rules: list[HttpRule] = []
        self.logs: list[LogTarget] = []
        self.servers: list[ServerConf] = []
        self.server_names: dict[str, int] = {}
        self.server_ids: dict[int, tuple[Location, str]] = {}
        self.errorfiles: list[tuple[int, str]] = []
        self.ignored: list[tuple[str, tuple[str, ...]]] = []
        self.stats: dict[str, Any] = {}
        self.stats_auth: list[tuple[str, str]] = []
        self.stats_admin: list[Condition] = []
        self.stats_scopes: list[str] = []
        self.check_rules: dict[str, Any] = {}
        self.check_headers: list[tuple[str, str]] = []
        self.check_rules_loc: Location | None = None
        self.log_style_loc: Location | None = None
        self.default_server = ServerConf(name="")
        self.mode_loc: Location | None = None

    @property
    def is_defaults(self) -> bool:
        return self.kind == "defaults"

    def inherit(self, d: ProxyState) -> None:
        """Copy what a ``defaults`` section gives to the proxies that follow it."""
        self.f = {k: v for k, v in d.f.items() if k not in ("disabled", "description", "explicit_id")}
        self.timeouts = dict(d.timeouts)
        self.options = dict(d.options)
        self.logs = list(d.logs)
        self.errorfiles = list(d.errorfiles)
        self.stats = dict(d.stats)
        self.stats_auth = list(d.stats_auth)
        self.stats_scopes = list(d.stats_scopes)
        self.check_rules = dict(d.check_rules)
        self.check_headers = list(d.check_headers)
        self.check_rules_loc = d.check_rules_loc
        self.default_server = d.default_server
        self.log_style_loc = d.log_style_loc


class Builder:
    """Reads statements (from one or more files) and produces the model."""

    def __init__(self, env: Mapping[str, str] | None = None, diags: Diagnostics | None = None,
                 resolve_users: bool = True) -> None:
        self.env = env if env is not None else os.environ
        self.d = diags if diags is not None else Diagnostics()
        self.resolve_users = resolve_users
        from haproxy_py.samples.patref import REFS, note_where

        REFS.reset()  # a configuration read afresh: map and ACL references of its own
        self._where = note_where
        self.g: dict[str, Any] = {}
        self.g_logs: list[LogTarget] = []
        self.g_sockets: list[StatsSocket] = []
        self.g_ignored: list[tuple[str, tuple[str, ...]]] = []
        self.g_loc: Location | None = None
        self.proxies: list[ProxyState] = []
        self.defaults_list: list[ProxyState] = []
        self.named_defaults: dict[str, ProxyState] = {}
        self.cur_defaults: ProxyState | None = None
        self.cur: ProxyState | None = None
        self.section: str | None = None
        self.section_obj: list[Any] | None = None
        self.other_sections: list[Section] = []
        self.userlists: list[tuple[str, list[tuple[str, str, bool]]]] = []
        self.programs: list[Program] = []
        self.program_cur: dict[str, Any] = {}
        self.files: list[str] = []
        self.old_syntax = False
        self.mailers_pending: list[tuple[str, Location, Line]] = []
        #: (proxy, server) -> the server's line, for post-parse messages
        self._server_lines: dict[tuple[str, str], Line] = {}

    # ------------------------------------------------------------------ messages
    def _p(self, ln: Line) -> str:
        return f"parsing [{ln.file}:{ln.lineno}] : "

    def alert(self, ln: Line, msg: str, i: int = 0, *, expected: str | None = None,
              suggestion: str | None = None, raw: bool = False, ours: bool = False) -> None:
        text = msg if raw else self._p(ln) + msg
        self.d.alert(text, ln.loc(i), line=ln.raw, expected=expected, suggestion=suggestion, ours=ours)

    def warn(self, ln: Line, msg: str, i: int = 0, *, raw: bool = False, expected: str | None = None) -> None:
        text = msg if raw else self._p(ln) + msg
        self.d.warning(text, ln.loc(i), line=ln.raw, expected=expected)

    def fail(self, ln: Line, msg: str, i: int = 0, **kw: Any) -> None:
        self.alert(ln, msg, i, **kw)
        raise _Skip

    def supported(self, reg: Registry, ln: Line, name: str, i: int, shown: str | None = None) -> bool:
        """Accepted means implemented: False (after a notice) for a no-effect setting; an alert and
        _Skip for a name HAProxy 2.6 knows that haproxy-py does not implement; True otherwise."""
        st = reg.status(name)
        if st == REFUSED:
            self.fail(ln, reg.refusal(name, shown), i, ours=True)
        if st == NO_EFFECT:
            self.d.notice(self._p(ln) + reg.notice(name, shown), ln.loc(i), line=ln.raw, ours=True)
            return False
        return True

    # ------------------------------------------------------------------ driver
    def feed(self, lines: Iterable[Line], filename: str) -> None:
        self.files.append(filename)
        for ln in lines:
            self._where(ln.file, ln.lineno)
            try:
                self.statement(ln)
            except _Skip:
                pass
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
            if S.SECTION.status(kind) == REFUSED:
                self.alert(ln, S.SECTION.refusal(kind, f"{kind} {name}".strip()), 0, ours=True)
            elif S.SECTION.status(kind) == NO_EFFECT:
                self.d.notice(self._p(ln) + S.SECTION.notice(kind), ln.loc(0), line=ln.raw, ours=True)
            self.section_obj = [kind, name, [], ln.loc(0), ln]
            if kind == "userlist":
                self.userlists.append((name, []))
            elif kind == "program":
                self.program_cur = {"name": name, "loc": ln.loc(0)}
            return
        # proxies
        name = ln.words[1] if len(ln.words) > 1 else ""
        if kind != "defaults" and not name:
            self.alert(ln, f"'{kind}' expects <name> as an argument.", 0)
            self.cur = None
            return
        for ch in name:
            if ch not in _NAME_OK:
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
                    self.d.alert(f"Parsing [{ln.file}:{ln.lineno}]: {kind} '{name}' has the same name as "
                                 f"{other.kind} '{name}' declared at {other.loc.file}:{other.loc.line}.",
                                 ln.loc(1), line=ln.raw)
                    break
            self.proxies.append(p)
        self.cur = p

    def end_section(self) -> None:
        if self.section_obj is not None:
            kind, name, lines, loc, ln = self.section_obj
            if kind == "peers":
                host = os.uname().nodename
                if not any(len(w) > 1 and w[0] == "peer" and w[1] == host for w in lines) \
                        and not any(w and w[0] in ("disabled", "server") for w in lines):
                    self.d.warning(f"Removing incomplete section 'peers {name}' (no peer named '{host}').",
                                   loc, line=ln.raw, phase=POST)
            if kind == "mailers":
                self.mailers_pending.append((name, loc, ln))
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

    # ------------------------------------------------------------------ other sections
    def other_kw(self, ln: Line) -> None:
        if self.section_obj is None:
            return
        kind = self.section_obj[0]
        self.section_obj[2].append(tuple(ln.words))
        if kind == "userlist":
            w = ln.words
            if w[0] == "user" and len(w) >= 2:
                pw = ""
                insecure = False
                if "insecure-password" in w:
                    idx = w.index("insecure-password")
                    pw = w[idx + 1] if idx + 1 < len(w) else ""
                    insecure = True
                elif "password" in w:
                    idx = w.index("password")
                    pw = w[idx + 1] if idx + 1 < len(w) else ""
                self.userlists[-1][1].append((w[1], pw, insecure))
            elif w[0] not in ("group", "user"):
                self.alert(ln, f"unknown keyword '{w[0]}' in 'userlist' section", 0)
        elif kind == "program":
            self.program_kw(ln)
        elif kind == "resolvers":
            from haproxy_py.config.resolvers import check_line

            err = check_line(ln.words)
            if err is not None:
                self.alert(ln, err, 0)

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

    # ------------------------------------------------------------------ global
    def global_no(self, ln: Line) -> None:
        """``no KEYWORD`` in global: 2.6 allows it for a few keywords; ``no log`` forgets the logs
        declared so far; the others mean what the keyword means to haproxy-py (its registry entry)."""
        w = ln.words
        name = w[1] if len(w) > 1 else ""
        if name not in _GLOBAL_NEGATABLE:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: negation/default currently supported only for options, "
                         "log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.",
                         ln.loc(0), line=ln.raw)
            if name not in K.GLOBAL_KEYWORDS and name not in K.TUNE_KEYWORDS:
                self.alert(ln, f"unknown keyword '{name}' in 'global' section", 1)
            return
        if name == "log":
            if len(w) > 2:
                self.fail(ln, "log : 'no log' does not expect arguments", 2)
            self.g_logs.clear()
            return
        if len(w) > 2:
            self.fail(ln, f"'{name}' cannot handle unexpected argument '{w[2]}'.", 2)
        self.global_kw(Line(w[1:], ln.cols[1:], ln.file, ln.lineno, ln.raw))

    def global_kw(self, ln: Line) -> None:
        w = ln.words
        kw = w[0]
        n = len(w)
        g = self.g
        if kw == "no":
            self.global_no(ln)
            return
        if kw == "httpclient.resolvers.prefer" and (n < 2 or w[1] not in ("ipv4", "ipv6")):
            self.fail(ln, "'httpclient.resolvers.prefer' expects 'ipv4' or 'ipv6' as argument.", min(n - 1, 1))
        if kw == "log":
            if n >= 2 and w[1] == "global":
                self.fail(ln, "'log global' is only supported in proxy sections.", 1, ours=True)
            self.g_logs.append(self.parse_log(ln))
        elif kw in ("chroot", "pidfile", "log-tag", "node", "server-state-file", "server-state-base",
                    "description"):
            if n < 2:
                self.fail(ln, f"'{kw}' expects a directory as an argument." if kw == "chroot"
                          else f"'{kw}' expects an argument.", 0)
            key = kw.replace("-", "_")
            val = " ".join(w[1:]) if kw == "description" else w[1]
            if kw == "pidfile" and "pidfile" in g:
                self.alert(ln, "'pidfile' already specified. Continuing.", 0)
            g[key] = val
        elif kw == "log-send-hostname":
            g["log_send_hostname"] = w[1] if n > 1 else ""
        elif kw in ("maxconn", "nbthread", "spread-checks", "uid", "gid"):
            if n < 2:
                self.fail(ln, f"'{kw}' expects an integer argument.", 0)
            v = parse_int(w[1])
            if v is None or v < 0:
                self.fail(ln, f"'{kw}' expects an integer argument (got '{w[1]}'); HAProxy 2.6 would take "
                          "it as 0 silently, haproxy-py refuses it.", 1, ours=True)
            if kw == "nbthread" and v < 1:
                self.fail(ln, f"'{kw}' expects a positive integer argument.", 1)
            g[kw.replace("-", "_")] = v
        elif kw == "nbproc":
            v = parse_int(w[1]) if n > 1 else None
            if v is None or v < 1:
                self.fail(ln, "'nbproc' expects a positive integer argument.", 1)
            g["nbproc"] = v
            self.d.notice(self._p(ln) + f"'nbproc {v}': HAProxy 2.6 rejects nbproc ('nbproc is not supported "
                          "any more since HAProxy 2.5.'); haproxy-py accepts it and starts "
                          f"{v} worker process(es).", ln.loc(0), line=ln.raw, ours=True)
        elif kw in ("user", "group"):
            if n < 2:
                self.fail(ln, f"'{kw}' expects a {kw} name as an argument.", 0)
            g[kw] = w[1]
            if self.resolve_users:
                try:
                    if kw == "user":
                        import pwd
                        g["uid"] = pwd.getpwnam(w[1]).pw_uid
                    else:
                        import grp
                        g["gid"] = grp.getgrnam(w[1]).gr_gid
                except KeyError:
                    what = "user" if kw == "user" else "group"
                    self.fail(ln, f"cannot find {what} id for '{w[1]}' (0:Success)", 1)
        elif kw == "daemon":
            g["daemon"] = True
        elif kw == "master-worker":
            g["master_worker"] = True
        elif kw == "stats":
            self.global_stats(ln)
        elif kw == "tune.bufsize" or kw == "tune.maxrewrite":
            v = parse_size(w[1]) if n > 1 else None
            if v is None:
                self.fail(ln, f"'{kw}' expects an integer argument.", 1)
            g[kw.replace(".", "_")] = v
        elif kw == "hard-stop-after":
            tv = self.time_arg(ln, 1, f"'{kw}'")
            g["hard_stop_after"] = tv
        elif kw == "tune.http.maxhdr":
            if n < 2:
                self.fail(ln, f"'{kw}' expects an integer argument.", 0)
            v = parse_int(w[1])
            if v is None:
                self.fail(ln, f"'{kw}' expects a numeric value between 1 and 32767 (got '{w[1]}'); HAProxy "
                          "2.6 would read only its leading digits, haproxy-py refuses it.", 1, ours=True)
            if v < 1 or v > 32767:
                self.fail(ln, f"'{kw}' expects a numeric value between 1 and 32767", 1)
            if v < 5:
                self.fail(ln, f"'{kw}' {v}: HAProxy 2.6 accepts it here but then fails to start, its own "
                          "built-in error messages need 5 header slots ('Internal error: invalid default "
                          "message for HTTP return code ...').", 1, ours=True)
            g["tune_http_maxhdr"] = v
        elif kw in K.GLOBAL_KEYWORDS or kw in K.TUNE_KEYWORDS:
            if not self.supported(S.GLOBAL, ln, kw, 0):
                self.g_ignored.append((kw, tuple(w[1:])))
        elif kw in K.REMOVED_KEYWORDS:
            self.alert(ln, K.REMOVED_KEYWORDS[kw], 0)
        else:
            sug = did_you_mean(kw, K.GLOBAL_KEYWORDS + K.TUNE_KEYWORDS, strict=True)
            msg = f"unknown keyword '{kw}' in 'global' section"
            if sug:
                msg += f"; did you mean '{sug}' maybe ?"
            self.alert(ln, msg, 0, suggestion=sug, expected="a 'global' keyword")

    def global_stats(self, ln: Line) -> None:
        w = ln.words
        n = len(w)
        sub = w[1] if n > 1 else ""
        if sub == "socket":
            if n < 3:
                self.fail(ln, "'stats socket' expects an address or a path as an argument.", 1)
            try:
                addr, _ = parse_address(expand_address_env(w[2], self.env), need_port=False)
            except AddressError as e:
                self.fail(ln, f"'stats socket' : {e.message}", 2)
            if addr.kind in ("ipv4", "ipv6") and not addr.port_lo:
                self.fail(ln, f"'stats socket' : missing port specification in '{w[2]}'", 2)
            kw: dict[str, Any] = {"address": addr, "loc": ln.loc(0)}
            i = 3
            while i < n:
                p = w[i]
                arg = w[i + 1] if i + 1 < n else None
                if p == "level":
                    if arg not in ("user", "operator", "admin"):
                        self.fail(ln, f"'stats socket' : ''level' only supports 'user', 'operator', and "
                                  f"'admin' (got '{arg or ''}')'", i + 1)
                    kw["level"] = arg
                    i += 2
                elif p == "mode":
                    try:
                        kw["mode"] = int(arg or "", 8)
                    except ValueError:
                        self.fail(ln, f"'stats socket' : 'mode' : invalid mode '{arg}'.", i + 1)
                    i += 2
                elif p in ("user", "group", "uid", "gid"):
                    if arg is None:
                        self.fail(ln, f"'stats socket' : '{p}' expects an argument.", i)
                    if p in ("uid", "gid"):
                        v = parse_int(arg)
                        if v is None:
                            self.fail(ln, f"'stats socket' : '{p}' expects an integer.", i + 1)
                        kw[p] = v
                    else:
                        kw[p] = arg
                    i += 2
                elif p == "expose-fd":
                    if arg != "listeners":
                        self.fail(ln, "'stats socket' : 'expose-fd' only supports 'listeners'.", i + 1)
                    kw["expose_fd_listeners"] = True
                    i += 2
                elif p in K.BIND_KEYWORDS:
                    self.supported(S.BIND, ln, p, i)
                    i += 1 + K.BIND_KEYWORDS[p]
                else:
                    sug = did_you_mean(p, list(K.BIND_KEYWORDS))
                    msg = f"'stats socket {w[2]}' in section 'global': unknown keyword '{p}'."
                    if sug:
                        msg = msg[:-1] + f"; did you mean '{sug}' maybe ?"
                    self.fail(ln, msg, i, suggestion=sug)
            self.g_sockets.append(StatsSocket(**kw))
        elif sub == "timeout":
            self.g["stats_timeout"] = self.time_arg(ln, 2, "'stats timeout'")
        elif sub == "maxconn":
            v = parse_int(w[2]) if n > 2 else None
            if v is None or v <= 0:
                self.fail(ln, "'stats maxconn' expects a positive integer argument.", 2)
            self.g["stats_maxconn"] = v
        elif sub in ("bind-process",):
            self.d.notice(self._p(ln) + "'stats bind-process' has no effect in haproxy-py and is accepted: the "
                          "master serves the stats sockets for every worker.", ln.loc(1), line=ln.raw, ours=True)
            self.g_ignored.append(("stats", tuple(w[1:])))
        else:
            self.fail(ln, "'stats' only supports 'socket', 'maxconn', 'bind-process' and 'timeout' "
                      f"(got '{sub}')", 1)

    # ------------------------------------------------------------------ value helpers
    def time_arg(self, ln: Line, i: int, what: str, *, style: str = "in") -> int:
        """A time argument at word i; reports HAProxy's messages."""
        w = ln.words
        if i >= len(w) or w[i] == "":
            self.fail(ln, f"{what} expects an integer value (in milliseconds)", i)
        text = w[i]
        tv = parse_time(text)
        if tv.error == "junk":
            if style == "to":
                self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: unexpected character '{tv.char}' in "
                             f"argument to <{what}>.", ln.loc(i), line=ln.raw,
                             expected="a number optionally followed by us, ms, s, m, h or d")
                raise _Skip
            self.fail(ln, f"unexpected character '{tv.char}' in {what}", i,
                      expected="a number optionally followed by us, ms, s, m, h or d")
        if tv.error == "overflow":
            self.fail(ln, f"timer overflow in argument '{text}' to {what} (maximum value is 2147483647 ms "
                      "or ~24.8 days)", i)
        if tv.error == "trailing":
            self.d.warning(time_warning(text, tv.char), ln.loc(i), line=ln.raw)
        return tv.value

    def int_arg(self, ln: Line, i: int, what: str, *, lo: int | None = None, hi: int | None = None,
                missing: str | None = None) -> int:
        w = ln.words
        if i >= len(w):
            self.fail(ln, missing or f"'{what}' expects an integer argument.", i)
        v = parse_int(w[i])
        if v is None:
            self.fail(ln, f"'{what}' expects an integer argument (got '{w[i]}'); HAProxy 2.6 would "
                      "silently take it as 0, haproxy-py refuses it.", i, ours=True, expected="an integer")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(ln, f"'{what}' : value {v} out of range [{lo}..{hi}].", i, ours=True)
        return v

    # ------------------------------------------------------------------ proxies
    def capwarn(self, ln: Line, p: ProxyState, need: int, name: str | None = None, extra: str = "") -> bool:
        """HAProxy's warnifnotcap: True if the keyword must be ignored."""
        if p.caps & need:
            return False
        what = "frontend" if need == K.FE else "backend"
        self.warn(ln, f"'{name or ln.words[0]}' ignored because {p.kind} '{p.name}' has no {what} "
                  f"capability.{extra}", 0)
        return True

    def proxy_kw(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        kw = w[0]
        if kw in K.REMOVED_KEYWORDS:
            self.fail(ln, K.REMOVED_KEYWORDS[kw], 0)
        if kw not in K.PROXY_KEYWORDS:
            sug = did_you_mean(kw, list(K.PROXY_KEYWORDS), strict=True)
            msg = f"unknown keyword '{kw}' in '{p.kind}' section"
            if sug:
                msg += f"; did you mean '{sug}' maybe ?"
            self.fail(ln, msg, 0, suggestion=sug, expected=f"a '{p.kind}' keyword")
        if p.is_defaults:
            if kw in K.NOT_IN_DEFAULTS:
                if kw in ("server", "server-template"):
                    self.d.alert(f"[{ln.file}:{ln.lineno}] : '{kw}' not allowed in 'defaults' section.",
                                 ln.loc(0), line=ln.raw)
                    raise _Skip
                self.fail(ln, f"'{kw}' not allowed in 'defaults' section.", 0)
            if kw in K.NOT_IN_ANON_DEFAULTS and not p.name:
                self.fail(ln, f"'{kw}' not allowed in anonymous 'defaults' section.", 0)
        handler = getattr(self, "kw_" + kw.replace("-", "_"), None)
        if kw not in S.RULE_KEYWORDS and S.PROXY.status(kw) != "implemented":
            need = K.PROXY_KEYWORDS[kw]
            if not p.is_defaults and not (p.caps & need):
                self.capwarn(ln, p, need)  # 2.6 ignores it here too
                return
            if not self.supported(S.PROXY, ln, kw, 0):
                p.ignored.append((kw, tuple(w[1:])))
            return
        if handler is None:  # pragma: no cover - a registered keyword always has its handler
            raise AssertionError(f"no handler for implemented keyword {kw!r}")
        handler(ln, p)

    def kw_load_server_state_from_file(self, ln: Line, p: ProxyState) -> None:
        arg = ln.words[1] if len(ln.words) > 1 else ""
        if arg not in ("global", "local", "none"):
            self.fail(ln, "'load-server-state-from-file' expects 'global', 'local' or 'none'. Got "
                      f"'{arg}'", 1)
        if arg != "global":
            self.fail(ln, S.PROXY.refusal("load-server-state-from-file", f"load-server-state-from-file {arg}")
                      + " haproxy-py applies the global 'server-state-file' to every backend", 1, ours=True)

    # --- simple keywords
    def kw_mode(self, ln: Line, p: ProxyState) -> None:
        m = ln.words[1] if len(ln.words) > 1 else ""
        if m not in ("tcp", "http", "health"):
            self.fail(ln, f"unknown proxy mode '{m}'.", 1, expected="'tcp' or 'http'")
        p.f["mode"] = m
        p.mode_loc = ln.loc(0)

    def kw_disabled(self, ln: Line, p: ProxyState) -> None:
        if len(ln.words) > 1:
            self.fail(ln, f"'disabled' cannot handle unexpected argument '{ln.words[1]}'.", 1)
        p.f["disabled"] = True

    def kw_enabled(self, ln: Line, p: ProxyState) -> None:
        if len(ln.words) > 1:
            self.fail(ln, f"'enabled' cannot handle unexpected argument '{ln.words[1]}'.", 1)
        p.f["disabled"] = False

    def kw_description(self, ln: Line, p: ProxyState) -> None:
        if len(ln.words) < 2:
            self.fail(ln, "'description' expects a string argument.", 0)
        p.f["description"] = " ".join(ln.words[1:])

    def kw_id(self, ln: Line, p: ProxyState) -> None:
        v = parse_int(ln.words[1]) if len(ln.words) > 1 else None
        if v is None or v <= 0:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: custom id has to be > 0.", ln.loc(1), line=ln.raw)
            raise _Skip
        for other in self.proxies:
            if other is not p and other.f.get("explicit_id") == v:
                self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: {p.kind} {p.name} reuses same custom id as "
                             f"{other.kind} {other.name} (declared at {other.loc.file}:{other.loc.line}).",
                             ln.loc(1), line=ln.raw)
                raise _Skip
        p.f["explicit_id"] = v

    def kw_maxconn(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.FE, extra=" Maybe you want 'fullconn' instead ?"):
            if len(ln.words) < 2:
                self.fail(ln, "'maxconn' expects an integer argument.", 0)
            return
        p.f["maxconn"] = self.int_arg(ln, 1, "maxconn", lo=0)

    def kw_fullconn(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
        p.f["fullconn"] = self.int_arg(ln, 1, "fullconn", lo=0)

    def kw_retries(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
        p.f["retries"] = self.int_arg(ln, 1, "retries", lo=0,
                                      missing="'retries' expects an integer argument (dispatch counts for one).")

    def kw_hash_balance_factor(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
        p.f["hash_balance_factor"] = self.int_arg(ln, 1, "hash-balance-factor", lo=0)

    def kw_http_send_name_header(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
        if len(ln.words) < 2:
            self.fail(ln, "'http-send-name-header' requires a header string.", 0)
        p.f["http_send_name_header"] = ln.words[1]

    def kw_dispatch(self, ln: Line, p: ProxyState) -> None:
        if self.capwarn(ln, p, K.BE):
            return
        text = expand_address_env(ln.words[1], self.env) if len(ln.words) > 1 else ""
        if not text:  # a missing address is an empty one, for 2.6
            self.fail(ln, f"'dispatch' : '{ln.words[1] if len(ln.words) > 1 else ''}' resolves to an empty "
                      "address (environment variable missing?)", 1)
        try:
            addr, _ = parse_address(text, need_port=True)
        except AddressError as e:
            self.fail(ln, f"'dispatch' : {e.message}", 1)
        p.f["dispatch"] = addr

    def kw_http_reuse(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
        w = ln.words
        if len(w) < 2 or w[1] not in ("never", "safe", "aggressive", "always"):
            self.fail(ln, "'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.", 1)
        if len(w) > 2:
            self.fail(ln, f"'http-reuse {w[1]}' cannot handle unexpected argument '{w[2]}'.", 2)
        p.f["http_reuse"] = w[1]

    def kw_log_format(self, ln: Line, p: ProxyState) -> None:
        if len(ln.words) < 2:
            self.fail(ln, "'log-format' expects a string argument.", 0)
        if not p.is_defaults and not (p.caps & K.FE):
            self.warn(ln, f"{p.kind} '{p.name}' : 'log-format' directive is ignored in backends.", 0)
            return
        p.f["log_format"] = " ".join(ln.words[1:])
        p.f["log_style"] = "default"

    def kw_log_tag(self, ln: Line, p: ProxyState) -> None:
        if len(ln.words) < 2:
            self.fail(ln, "'log-tag' requires an argument.", 0)
        p.f["log_tag"] = ln.words[1]

    def kw_default_backend(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.FE):
            if len(ln.words) < 2:
                self.fail(ln, "'default_backend' expects a backend name.", 0)
            if ln.words[1:2] == [p.name]:
                p.f["default_backend_self_loop"] = True
            return
        if len(ln.words) < 2:
            self.fail(ln, "'default_backend' expects a backend name.", 0)
        p.f["default_backend"] = ln.words[1]
        p.f["default_backend_loc"] = ln.loc(1)

    def kw_use_backend(self, ln: Line, p: ProxyState) -> None:
        if self.capwarn(ln, p, K.FE):
            if len(ln.words) < 2:
                self.fail(ln, "'use_backend' expects a backend name.", 0)
            return
        if len(ln.words) < 2:
            self.fail(ln, "'use_backend' expects a backend name.", 0)
        cond = self.condition(ln, p, 2, "switching rule")
        p.use_backends.append(UseBackend(ln.words[1], cond, ln.loc(1)))

    # --- timeouts
    def kw_timeout(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        name = w[1] if len(w) > 1 else ""
        t = K.TIMEOUTS.get(name)
        if t is None:
            sug = did_you_mean(name, list(K.TIMEOUTS)) if name else None
            self.fail(ln, f"{K.TIMEOUT_LIST_MSG} (got '{name}')", 1, suggestion=sug)
        field_name, cap = t
        v = self.time_arg(ln, 2, f"'timeout {name}'")
        if not p.is_defaults and not (p.caps & cap):
            what = "frontend" if cap == K.FE else "backend"
            self.warn(ln, f"'timeout {name}' will be ignored because {p.kind} '{p.name}' has no {what} capability",
                      1)
            return
        if not self.supported(S.TIMEOUT, ln, name, 1, f"timeout {name}"):
            return
        p.timeouts[field_name] = v

    # --- logs
    def parse_log(self, ln: Line) -> LogTarget:
        def log_sample(arg: str, i: int) -> tuple[tuple[tuple[int, int], ...], int]:
            """``sample RANGES:SIZE`` (``1-3,7:10``), checked in 2.6's order and words."""
            ranges_text, colon, size_text = arg.partition(":")
            if not colon:
                self.fail(ln, "log : Missing sample size", i)
            size = int(size_text) if size_text.isdigit() else 0
            if size <= 0:
                self.fail(ln, f"log : wrong sample size '{size_text}' for sample range '{ranges_text}'", i)
            ranges: list[tuple[int, int]] = []
            for part in ranges_text.split(",") if ranges_text else ():
                lo_text, dash, hi_text = part.partition("-")
                lo = int(lo_text) if lo_text.isdigit() else 0
                hi = (int(hi_text) if hi_text.isdigit() else 0) if dash else lo
                if lo <= 0 or hi < lo:
                    self.fail(ln, f"log : wrong sample range '{part}'", i)
                ranges.append((lo, hi))
            if not ranges:
                self.fail(ln, "log : no sampling ranges given", i)
            ranges.sort()
            for (_, hi1), (lo2, _) in zip(ranges, ranges[1:], strict=False):
                if lo2 <= hi1:
                    self.fail(ln, "log : ranges are overlapping", i)
            top = ranges[-1][1]
            if size < top:
                self.fail(ln, f"log : sample size {size} should be greater or equal to {top} the maximum of the "
                          "high ranges limits", i)
            return tuple(ranges), size

        w = ln.words
        n = len(w)
        if n < 3:
            self.fail(ln, "'log' expects either <address[:port]> and <facility> or 'global' as arguments.", 0)
        i = 1
        target = w[1]
        i = 2
        length = 1024
        fmt = "rfc3164"
        sample: tuple[tuple[int, int], ...] = ()
        sample_size = 0
        while i < n and w[i] in ("len", "format", "sample"):
            if i + 1 >= n:
                self.fail(ln, f"log : '{w[i]}' expects an argument.", i)
            if w[i] == "len":
                v = parse_int(w[i + 1])
                if v is None or v <= 0:
                    self.fail(ln, f"log : invalid max length '{w[i + 1]}'.", i + 1)
                length = v
            elif w[i] == "format":
                if w[i + 1] not in K.LOG_FORMATS:
                    self.fail(ln, f"log : unknown log format '{w[i + 1]}'", i + 1)
                fmt = w[i + 1]
            else:
                sample, sample_size = log_sample(w[i + 1], i + 1)
            i += 2
        if i >= n:
            self.fail(ln, "'log' expects <facility> as argument.", i)
        fac = w[i]
        if fac not in K.LOG_FACILITIES:
            self.fail(ln, f"log : unknown log facility '{fac}'", i,
                      suggestion=did_you_mean(fac, K.LOG_FACILITIES))
        level = "debug"
        minlevel = "emerg"
        if i + 1 < n:
            level = w[i + 1]
            if level not in K.LOG_LEVELS:
                self.fail(ln, f"log : unknown optional log level '{level}'", i + 1)
        if i + 2 < n:
            minlevel = w[i + 2]
            if minlevel not in K.LOG_LEVELS:
                self.fail(ln, f"log : unknown optional minimum log level '{minlevel}'", i + 2)
        if target in ("stdout", "stderr"):
            addr = Address(target, text=target)
        elif target.startswith("ring@"):
            addr = Address("ring", path=target[5:], text=target)
        else:
            try:
                addr, _ = parse_address(expand_address_env(target, self.env), need_port=False)
            except AddressError as e:
                self.fail(ln, f"log : {e.message}", 1)
            if addr.kind in ("ipv4", "ipv6") and not addr.port_lo:
                addr = dataclasses.replace(addr, port_lo=514, port_hi=514)
        return LogTarget(addr, fac, level, minlevel, length, fmt, ln.loc(0), sample, sample_size)

    def kw_log(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) >= 2 and w[1] == "global":
            if len(w) > 2:
                self.fail(ln, f"log : unknown log facility '{w[2]}'", 2)
            p.f["log_global"] = True
            p.logs.append(None)  # type: ignore[arg-type]  # expanded at freeze time
            return
        p.logs.append(self.parse_log(ln))

    def kw_no(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) >= 2 and w[1] == "log":
            p.logs.clear()
            p.f["no_log"] = True
            p.f["log_global"] = False
            return
        if len(w) >= 3 and w[1] == "option":
            self.option(ln, p, 2, negate=True)
            return
        self.fail(ln, "'no' only supports 'option' and 'log'.", 1, ours=True)

    def kw_option(self, ln: Line, p: ProxyState) -> None:
        self.option(ln, p, 1, negate=False)

    def option(self, ln: Line, p: ProxyState, i: int, negate: bool) -> None:
        w = ln.words
        if i >= len(w):
            self.fail(ln, "'option' expects an option name.", i, ours=True)
        name = w[i]
        args = w[i + 1:]
        if name in K.REMOVED_OPTIONS:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: {K.REMOVED_OPTIONS[name]}", ln.loc(i), line=ln.raw)
            raise _Skip
        cap = K.OPTIONS.get(name)
        if negate and (cap is None or (name in K.OPTIONS_WITH_ARGS and name not in K.NEGATABLE_WITH_ARGS)):
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: negation/default is not supported for option "
                         f"'{name}'.", ln.loc(i), line=ln.raw)
            raise _Skip
        if cap is None:
            sug = did_you_mean(name, list(K.OPTIONS))
            self.fail(ln, f"unknown option '{name}'.", i, suggestion=sug)
        if negate and name in K.OPTIONS_WITH_ARGS and name not in K.NEGATABLE_WITH_ARGS:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: negation/default is not supported for option "
                         f"'{name}'.", ln.loc(i), line=ln.raw)
            raise _Skip
        if not p.is_defaults and not (p.caps & cap):
            what = "frontend" if cap == K.FE else "backend"
            self.warn(ln, f"'{name}' ignored because {p.kind} '{p.name}' has no {what} capability.", i)
            return
        if not negate and not self.supported(S.OPTION, ln, name, i):
            return
        if name in ("httplog", "tcplog") and p.kind == "backend" and not negate:
            self.warn(ln, f"{p.kind} '{p.name}' : 'option {name}' directive is ignored in backends.", i)
        if name == "httplog":
            if negate:
                p.f["log_style"] = "default"
                return
            style = "httplog"
            if args:
                if args[0] != "clf":
                    self.fail(ln, "keyword 'httplog' only supports option 'clf'.", i + 1)
                style = "httplog-clf"
            p.f["log_style"] = style
            p.log_style_loc = ln.loc(0)
            p.f["httplog_line"] = ln
            return
        if name == "tcplog":
            p.f["log_style"] = "default" if negate else "tcplog"
            p.log_style_loc = ln.loc(0)
            return
        if name == "redispatch":
            if negate:
                p.f["redispatch"] = 0
                return
            val = -1
            if args:
                v = parse_int(args[0])
                if v is None:
                    self.fail(ln, f"'option redispatch' expects an integer (got '{args[0]}'); HAProxy 2.6 "
                              "takes it as 0 silently, haproxy-py refuses it.", i + 1, ours=True)
                val = v
            p.f["redispatch"] = val
            return
        if name == "forwardfor":
            ff: dict[str, Any] = {}
            j = 0
            while j < len(args):
                a = args[j]
                if a == "except" and j + 1 < len(args):
                    ff["except_net"] = args[j + 1]
                    j += 2
                elif a == "header" and j + 1 < len(args):
                    ff["header"] = args[j + 1]
                    j += 2
                elif a == "if-none":
                    ff["if_none"] = True
                    j += 1
                else:
                    self.fail(ln, "'option forwardfor' only supports optional values: 'except', 'header' "
                              "and 'if-none'.", i + 1 + j)
            p.f["forwardfor"] = ForwardFor(**ff)
            return
        if name in ("tcp-check", "redis-check", "pgsql-check", "smtpchk", "ssl-hello-chk", "ldap-check",
                    "mysql-check"):
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
            return
        if name == "httpchk":
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
            return
        if args and name not in K.OPTIONS_WITH_ARGS:
            self.fail(ln, f"option '{name}' does not take any argument (got '{args[0]}').", i + 1, ours=True)
        # connection modes exclude each other
        if name in ("httpclose", "http-server-close", "http-keep-alive") and not negate:
            for other in ("httpclose", "http-server-close", "http-keep-alive"):
                p.options.pop(other, None)
        p.options[name] = not negate

    # --- balance / hash-type / cookie
    def kw_balance(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
        w = ln.words
        if len(w) < 2:
            p.f["balance"] = Balance()
            return
        algo = w[1]
        args = w[2:]
        b: dict[str, Any] = {}
        if algo in ("roundrobin", "static-rr", "leastconn", "first", "source"):
            b["algorithm"] = algo
        elif algo == "random" or algo.startswith("random("):
            b["algorithm"] = "random"
            if algo.startswith("random("):
                v = parse_int(algo[7:-1]) if algo.endswith(")") else None
                if v is None or v < 1:
                    self.fail(ln, "balance random: draws must be a positive integer.", 1, ours=True)
                b["draws"] = v
        elif algo == "uri":
            b["algorithm"] = "uri"
            j = 0
            while j < len(args):
                a = args[j]
                if a in ("len", "depth"):
                    v = parse_int(args[j + 1]) if j + 1 < len(args) else None
                    if v is None or v < 0:
                        self.fail(ln, f"balance uri: '{a}' expects a positive integer (got "
                                  f"'{args[j + 1] if j + 1 < len(args) else ''}').", j + 2)
                    b["uri_" + a] = v
                    j += 2
                elif a == "whole":
                    b["uri_whole"] = True
                    j += 1
                elif a == "path-only":
                    b["uri_path_only"] = True
                    j += 1
                else:
                    self.fail(ln, "balance uri only accepts parameters 'len', 'depth', 'path-only', and "
                              f"'whole' (got '{a}').", j + 2)
        elif algo == "url_param":
            b["algorithm"] = "url_param"
            if not args:
                self.fail(ln, "balance url_param requires an URL parameter name.", 1)
            b["param"] = args[0]
            j = 1
            while j < len(args):
                if args[j] == "check_post":
                    b["check_post"] = True
                    if j + 1 < len(args) and parse_int(args[j + 1]) is not None:
                        b["check_post_max"] = int(args[j + 1])
                        j += 1
                    j += 1
                else:
                    self.fail(ln, f"'balance url_param' only accepts check_post modifier (got '{args[j]}').",
                              j + 2)
        elif algo.startswith("hdr(") or algo == "hdr":
            name = algo[4:-1] if algo.endswith(")") else ""
            if not name:
                self.fail(ln, "balance hdr requires an http header field name.", 1)
            b["algorithm"] = "hdr"
            b["header"] = name
            if args:
                if args[0] == "use_domain_only":
                    b["use_domain_only"] = True
                else:
                    self.fail(ln, f"'balance hdr(name)' only accepts 'use_domain_only' modifier (got "
                              f"'{args[0]}').", 2)
        elif algo.startswith("rdp-cookie"):
            b["algorithm"] = "rdp-cookie"
            if algo.startswith("rdp-cookie(") and algo.endswith(")"):
                b["rdp_cookie"] = algo[11:-1] or "mstshash"
        elif algo == "hash":
            b["algorithm"] = "hash"
            if not args:
                self.fail(ln, "balance hash requires a sample expression.", 1)
            expr = " ".join(args)
            m = re.fullmatch(r"\s*([a-z_.]+)(?:\(([^),]*)\))?\s*", expr)
            if m is None or m.group(1) not in K.BALANCE_HASH_FETCHES or (
                    m.group(1) not in ("src", "path", "url", "query", "method") and not m.group(2)):
                self.fail(ln, not_implemented(f"'balance hash {expr}'", "haproxy-py hashes a single fetch "
                                              "without converter: " + ", ".join(K.BALANCE_HASH_FETCHES)),
                          2, ours=True)
            b["expression"] = expr
        else:
            self.fail(ln, K.BALANCE_MSG, 1, suggestion=did_you_mean(
                algo, ["roundrobin", "static-rr", "leastconn", "first", "source", "uri", "url_param",
                       "random", "hash"]))
        p.f["balance"] = Balance(**b)

    def kw_hash_type(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
        w = ln.words
        method = w[1] if len(w) > 1 else ""
        if method not in ("map-based", "consistent"):
            self.fail(ln, "'hash-type' only supports 'consistent' and 'map-based'.", 1)
        func = "sdbm"
        avalanche = False
        if len(w) > 2:
            func = w[2]
            if func not in ("sdbm", "djb2", "crc32", "wt6", "none"):
                self.fail(ln, "'hash-type' only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.", 2)
            if len(w) > 3:
                if w[3] != "avalanche":
                    self.fail(ln, "'hash-type' only supports 'avalanche' as a modifier for hash functions.", 3)
                avalanche = True
        else:
            # no function given: sdbm, with the implicit avalanche for consistent only (2.6)
            avalanche = method == "consistent"
        p.f["hash_type"] = HashType(method, func, avalanche)

    def kw_cookie(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
        w = ln.words
        if len(w) < 2:
            self.fail(ln, "'cookie' expects <cookie_name> as argument.", 0)
        c: dict[str, Any] = {"name": w[1]}
        domains: list[str] = []
        attrs: list[str] = []
        j = 2
        while j < len(w):
            a = w[j]
            if a in ("rewrite", "insert", "prefix"):
                c["mode"] = a
            elif a in ("indirect", "nocache", "postonly", "preserve", "httponly", "secure", "dynamic"):
                c[a] = True
            elif a in ("domain", "attr"):
                if j + 1 >= len(w):
                    self.fail(ln, f"'{a}' expects a value as argument.", j, ours=True)
                (domains if a == "domain" else attrs).append(w[j + 1])
                j += 1
            elif a in ("maxidle", "maxlife"):
                if j + 1 >= len(w):
                    self.fail(ln, f"'{a}' expects a time value as argument.", j)
                ms = self.time_arg(ln, j + 1, a, style="to")
                c[a] = (ms + 999) // 1000
                j += 1
            else:
                self.fail(ln, "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', "
                          "'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.", j)
            j += 1
        if c.get("preserve") and c.get("mode") != "insert" and not c.get("indirect"):
            self.fail(ln, "cookie 'preserve' requires at least 'insert' or 'indirect'.", 1)
        c["domains"] = tuple(domains)
        c["attrs"] = tuple(attrs)
        p.f["cookie"] = CookieConf(**c)

    # --- bind
    def kw_bind(self, ln: Line, p: ProxyState) -> None:
        if self.capwarn(ln, p, K.FE):
            return
        self.do_bind(ln, p)

    def do_bind(self, ln: Line, p: ProxyState, offset: int = 0) -> None:
        w = ln.words
        if len(w) < 2:
            self.fail(ln, "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.", 0)
        addrs = []
        for part in w[1].split(","):
            try:
                addr, _ = parse_address(expand_address_env(part, self.env), need_port=True, allow_range=True)
            except AddressError as e:
                self.fail(ln, f"'bind' : {e.message}", 1)
            addrs.append(addr)
        params: list[tuple[str, object]] = []
        j = 2
        while j < len(w):
            k = w[j]
            nargs = K.BIND_KEYWORDS.get(k)
            if nargs is None:
                sug = did_you_mean(k, list(K.BIND_KEYWORDS))
                msg = f"'bind {w[1]}' in section '{p.kind}': unknown keyword '{k}'"
                msg += f"; did you mean '{sug}' maybe ?" if sug else "."
                self.alert(ln, msg, j, suggestion=sug)
                raise _Skip
            if not self.supported(S.BIND, ln, k, j):
                j += 1 + nargs
                continue
            if nargs:
                if j + 1 >= len(w):
                    self.fail(ln, f"'bind {w[1]}' : '{k}' : missing value.", j, ours=True)
                val: object = w[j + 1]
                if k in ("maxconn", "backlog", "id", "nice", "uid", "gid", "mss"):
                    iv = parse_int(w[j + 1])
                    if iv is None:
                        self.fail(ln, f"'bind {w[1]}' : '{k}' expects an integer argument.", j + 1)
                    val = iv
                elif k == "mode":
                    try:
                        val = int(w[j + 1], 8)
                    except ValueError:
                        self.fail(ln, f"'bind {w[1]}' : '{k}' : invalid mode '{w[j + 1]}'.", j + 1)
                params.append((k, val))
                j += 2
            else:
                params.append((k, True))
                j += 1
        p.binds.append(Bind(tuple(addrs), tuple(params), ln.loc(0)))

    # --- servers
    def kw_server(self, ln: Line, p: ProxyState) -> None:
        if not (p.caps & K.BE):
            self.d.alert(f"[{ln.file}:{ln.lineno}] : parsing [{ln.file}:{ln.lineno}] : 'server' not allowed "
                         f"because {p.kind} '{p.name}' has no backend capability.", ln.loc(0), line=ln.raw)
            raise _Skip
        self.server_line(ln, p, default=False)

    def kw_server_template(self, ln: Line, p: ProxyState) -> None:
        """``server-template PREFIX N[-M] FQDN[:PORT] [params]``: servers PREFIXN..PREFIXM sharing one
        name (A/AAAA records, or SRV records when it starts with '_'), filled in by resolvers."""
        from haproxy_py.config.resolvers import template_range

        w = ln.words
        if not (p.caps & K.BE):
            self.d.alert(f"[{ln.file}:{ln.lineno}] : parsing [{ln.file}:{ln.lineno}] : 'server-template' not "
                         f"allowed because {p.kind} '{p.name}' has no backend capability.", ln.loc(0), line=ln.raw)
            raise _Skip
        if len(w) < 4:
            self.alert(ln, "'server-template' expects <prefix> <nb_servers> <fqdn>[:<port>] as arguments.", 0)
            raise _Skip
        rng = template_range(w[2])
        if isinstance(rng, str):
            self.alert(ln, f"'server-template {w[1]}' : {rng}", 2)
            raise _Skip
        lo, hi = rng
        for i in range(lo, hi + 1):
            sub = Line(["server", f"{w[1]}{i}", *w[3:]], [ln.cols[0], ln.cols[1], *ln.cols[3:]], ln.file,
                       ln.lineno, ln.raw)
            before = len(p.servers)
            self.server_line(sub, p, default=False)
            if len(p.servers) > before:
                sc = p.servers[-1]
                p.servers[-1] = dataclasses.replace(sc, extra=(*sc.extra, ("server-template", f"{w[1]}@{w[3]}")))

    def kw_default_server(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and not (p.caps & K.BE):
            self.d.alert(f"[{ln.file}:{ln.lineno}] : parsing [{ln.file}:{ln.lineno}] : 'default-server' not "
                         f"allowed because {p.kind} '{p.name}' has no backend capability.", ln.loc(0),
                         line=ln.raw)
            raise _Skip
        self.server_line(ln, p, default=True)

    def server_line(self, ln: Line, p: ProxyState, default: bool) -> None:
        w = ln.words
        pre = f"[{ln.file}:{ln.lineno}] : "

        def sfail(msg: str, i: int, **kw: Any) -> None:
            self.d.alert(pre + msg, ln.loc(i), line=ln.raw, **kw)
            raise _Skip

        base = p.default_server
        if default:
            s = {f: getattr(base, f) for f in _SERVER_FIELDS}
            j = 1
            label = "'default-server'"
        else:
            if len(w) < 3:
                sfail("'server' expects <name> and <addr>[:<port>] as arguments.", 0)
            name = w[1]
            s = {f: getattr(base, f) for f in _SERVER_FIELDS}
            s["name"] = name
            s["loc"] = ln.loc(1)
            label = f"'server {p.name}/{name}'"
            try:
                addr, off = parse_address(expand_address_env(w[2], self.env), need_port=False,
                                          allow_offset=True)
            except AddressError as e:
                sfail(f"{label} : {e.message}", 2)
            s["address"] = addr
            s["port_offset"] = off
            j = 3
        extra = list(s["extra"])
        nm = s.get("name", "")
        while j < len(w):
            k = w[j]
            nargs = K.SERVER_KEYWORDS.get(k)
            if nargs is None:
                sug = did_you_mean(k, list(K.SERVER_KEYWORDS))
                msg = f"{label} : unknown keyword '{k}'"
                msg += f"; did you mean '{sug}' maybe ?" if sug else "."
                sfail(msg, j, suggestion=sug)
            if nargs and j + 1 >= len(w):
                sfail(f"{label} : '{k}' expects an argument.", j)
            arg = w[j + 1] if nargs else ""
            if not self.supported(S.SERVER, ln, k, j):
                j += 1 + nargs
                continue
            if k == "init-addr":
                from haproxy_py.config.resolvers import check_init_addr

                err = check_init_addr(arg)
                if err is not None:
                    sfail(f"{label} : {err}", j + 1)
            if k == "resolve-prefer" and arg not in ("ipv4", "ipv6"):
                sfail(f"{label} : '{k}' expects either ipv4 or ipv6 as argument..", j + 1)
            if k == "weight":
                v = parse_int(arg)
                if v is None:
                    sfail(f"{label} : weight of server {nm} is not an integer ('{arg}'); HAProxy 2.6 takes it "
                          "as 0 silently, haproxy-py refuses it.", j + 1, ours=True)
                if not 0 <= v <= 256:
                    sfail(f"{label} : weight of server {nm} is not within 0 and 256 ({v})..", j + 1)
                s["weight"] = v
            elif k in ("inter", "fastinter", "downinter", "slowstart", "agent-inter"):
                tv = parse_time(arg)
                if tv.error == "junk" or tv.error == "empty":
                    sfail(f"{label} : unexpected character '{tv.char}' in '{k}' argument of server {nm}.", j + 1)
                if tv.error == "overflow":
                    sfail(f"{label} : timer overflow in argument <{arg}> to <{k}> of server {nm}, maximum "
                          "value is 2147483647 ms (~24.8 days)..", j + 1)
                if tv.value == 0 and k != "slowstart":
                    sfail(f"{label} : invalid value 0 for argument '{k}' of server {nm}..", j + 1)
                s[k.replace("-", "_")] = tv.value
            elif k in ("rise", "fall"):
                v = parse_int(arg)
                if v is None:
                    sfail(f"{label} : '{k}' expects an integer (got '{arg}'); haproxy-py refuses junk that "
                          "HAProxy 2.6 takes as 0.", j + 1, ours=True)
                if v <= 0:
                    sfail(f"{label} : '{k}' has to be > 0..", j + 1)
                s[k] = v
            elif k in ("maxconn", "maxqueue", "minconn", "error-limit"):
                v = parse_int(arg)
                if v is None or v < 0:
                    sfail(f"{label} : '{k}' expects a positive integer (got '{arg}'); HAProxy 2.6 takes junk as "
                          "0 silently, haproxy-py refuses it.", j + 1, ours=True)
                s[k.replace("-", "_")] = v
            elif k in ("port", "agent-port"):
                v = parse_int(arg)
                if v is None or not 1 <= v <= 65535:
                    sfail(f"{label} : invalid port '{arg}'", j + 1) if k == "port" else \
                        sfail(f"{label} : '{k}' expects a valid port number (got '{arg}').", j + 1)
                s["check_port" if k == "port" else "agent_port"] = v
            elif k == "addr":
                s["check_addr"] = expand_address_env(arg, self.env)
            elif k == "id":
                v = parse_int(arg)
                if v is None or v <= 0:
                    sfail(f"{label} : 'id' : custom id has to be > 0 (got '{arg}').", j + 1)
                if not default:
                    prev = p.server_ids.get(v)
                    if prev is not None:
                        sfail(f"{label} : 'id' : custom id {v} already used at {prev[0].file}:{prev[0].line} "
                              f"('server {prev[1]}').", j + 1)
                s["id"] = v
            elif k == "cookie":
                s["cookie"] = arg
            elif k == "observe":
                if arg not in ("layer4", "layer7", "none"):
                    sfail(f"{label} : 'observe' expects one of 'none', 'layer4', 'layer7' but got '{arg}'.", j + 1)
                s["observe"] = None if arg == "none" else arg
            elif k == "on-error":
                if arg not in ("fastinter", "fail-check", "sudden-death", "mark-down"):
                    sfail(f"{label} : 'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or "
                          f"'mark-down' but got '{arg}'.", j + 1)
                s["on_error"] = arg
            elif k == "on-marked-down":
                if arg != "shutdown-sessions":
                    sfail(f"{label} : 'on-marked-down' expects 'shutdown-sessions' but got '{arg}'.", j + 1)
                s["on_marked_down"] = arg
            elif k == "on-marked-up":
                if arg != "shutdown-backup-sessions":
                    sfail(f"{label} : 'on-marked-up' expects 'shutdown-backup-sessions' but got '{arg}'.", j + 1)
                s["on_marked_up"] = arg
            elif k == "track":
                s["track"] = arg
            elif k == "redir":
                s["redir"] = arg
            elif k in ("backup", "check", "disabled", "send-proxy", "send-proxy-v2", "check-send-proxy",
                       "agent-check"):
                s[k.replace("-", "_")] = True
            elif k in ("no-backup", "no-check", "no-send-proxy", "no-send-proxy-v2", "no-agent-check"):
                s[k[3:].replace("-", "_")] = False
            elif k == "enabled":
                s["disabled"] = False
            else:
                extra.append((k, arg if nargs else True))
            j += 1 + nargs
        s["extra"] = tuple(extra)
        if default:
            s["name"] = ""
            s["address"] = None
            p.default_server = ServerConf(**s)
            return
        name = s["name"]
        prev_line = p.server_names.get(name)
        if prev_line is not None:
            # HAProxy detects this after parsing: no "Error(s) found in configuration file" line
            self.d.alert(self._p(ln) + f"{p.kind} '{p.name}', another server named '{name}' was already "
                         f"defined at line {prev_line}, please use distinct names.", ln.loc(1), line=ln.raw,
                         phase=POST)
            raise _Skip
        p.server_names[name] = ln.lineno
        if s["id"] is not None:
            p.server_ids[s["id"]] = (ln.loc(0), name)
        p.servers.append(ServerConf(**s))
        self._server_lines[(p.name, name)] = ln

    # --- ACLs and conditions
    def parse_acl(self, ln: Line, p: ProxyState, words: list[str], first: int, name: str,
                  ctx: str) -> Acl | None:
        """Parse ``FETCH [flags] [op] patterns`` (words[first:]); report errors with ``ctx``."""

        def err(msg: str, i: int, **kw: Any) -> None:
            self.alert(ln, f"{ctx} : {msg}", i, **kw)

        if first >= len(words):
            err("missing fetch method in ACL expression ''.", first)
            return None
        expr_text = words[first]
        fx = parse_fetch_expr(expr_text)
        fname = fx.name if fx else expr_text.split("(")[0].split(",")[0]
        looked = F.lookup(fname) if fx else None
        if looked is None:
            sug = did_you_mean(fname, list(F.FETCHES) + list(F.DERIVED))
            err(f"unknown fetch method '{fname}' in ACL expression '{fname}'.", first, suggestion=sug,
                expected="a sample fetch name (path, path_beg, hdr(name), src, method, ...)")
            return None
        fdef, implied = looked
        assert fx is not None
        if fdef.args == "req" and not fx.args:
            err(f"fetch method '{fname}' : missing arguments (got 0/1) in ACL expression '{expr_text}'.",
                first)
            return None
        if fdef.args == "" and fx.args:
            err(f"fetch method '{fname}' : end of arguments expected at position 1, but got '{fx.args[0]}' in "
                f"ACL expression '{expr_text}'.", first)
            return None
        # accepted means implemented: the fetch and every converter must be in the sample registry,
        # their arguments valid (2.6's load-time checks); a name 2.6 knows is refused by name
        from haproxy_py.registry import NOT_IMPLEMENTED
        from haproxy_py.samples import SampleError, build_expr

        try:
            # "hdr()" names every header, "hdr" none (2.6): an empty argument list is kept as one ""
            fargs = fx.args or (("",) if fx.has_parens else ())
            px = build_expr(expr_text, fname if fname in F.FETCHES else fdef.canonical, list(fargs) or None,
                            [(c, list(a) or None, 0) for c, a in fx.converters])
            # proxy, server and userlist names are resolved once every section is read (post_checks)
            for ai, (spec, word) in enumerate(zip(px.fetch.args, fargs, strict=False)):
                if spec.type in ("backend", "frontend", "server", "user list") and word:
                    self.__dict__.setdefault("_sample_refs", []).append(
                        (ln, first, spec.type, word, ai + 1, fname, p.name))
        except SampleError as e:
            msg = e.message
            if msg.startswith("fetch method '"):
                msg = msg.split(" : ", 1)[1]
            err(msg if msg.startswith("sample fetch '") else f"ACL keyword '{fname}' : {msg}", first)
            # a refused (not an invalid) ACL still names an ACL: later references to it are no errors
            self._acl_refused = NOT_IMPLEMENTED in msg
            return None
        # 2.6: converters after an ACL keyword replace its implied match by their output type's
        match = None if fx.converters else implied
        icase = False
        files: list[str] = []
        map_files = False
        map_keys: list[str] = []
        i = first + 1
        n = len(words)
        dashdash = False
        while i < n and words[i].startswith("-"):
            fl = words[i]
            if fl == "--":
                dashdash = True
                i += 1
                break
            if fl == "-i":
                icase = True
                i += 1
            elif fl == "-n":
                i += 1
            elif fl == "-M":  # a flag (2.6): the -f files that follow are maps, their keys the patterns
                map_files = True
                i += 1
            elif fl in ("-f", "-u", "-m"):
                if i + 1 >= n:
                    err(f"missing argument after '{fl}'.", i, ours=True)
                    return None
                arg = words[i + 1]
                if fl == "-m":
                    if arg not in F.MATCH_METHODS:
                        err(f"unknown matching method '{arg}' when parsing ACL expression.", i + 1,
                            suggestion=did_you_mean(arg, F.MATCH_METHODS))
                        return None
                    match = arg
                elif fl == "-f":
                    path = arg
                    try:
                        with open(path, "rb"):
                            pass
                    except OSError:
                        err(f"failed to open pattern file <{path}>.", i + 1)
                        return None
                    if map_files:
                        from haproxy_py.samples.maps import read_map

                        map_keys.extend(k for k, _ in read_map(path))
                    else:
                        files.append(path)
                i += 2
            else:
                err(f"'{fl}' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'.",
                    i, expected="-i -f -m -n -M -u or --")
                return None
        if match is None and px.out in ("bin", "any"):
            err("matching method must be specified first (using '-m') when using a sample fetch of this type "
                f"('{fname}').", first)
            return None
        pats = list(words[i:]) + map_keys
        operator = None
        eff_match = match or fdef.match
        if pats and pats[0] in F.INT_OPERATORS and eff_match == "int":
            operator = pats.pop(0)
        if not pats and not files and not dashdash and eff_match not in ("found", "bool") \
                and fdef.out != "bool":
            self.d.warning(f"parsing acl keyword '{expr_text}' :\n"
                           "  no pattern to match against were provided, so this ACL will never match.\n"
                           "  If this is what you intended, please add '--' to get rid of this warning.\n"
                           "  If you intended to match only for existence, please use '-m found'.\n"
                           "  If you wanted to force an int to match as a bool, please use '-m bool'.\n",
                           ln.loc(first), line=ln.raw)
        acl = Acl(name=name, fetch=fdef.canonical, fetch_args=fargs, converters=fx.converters,
                  match=match, ignore_case=icase, patterns=tuple(pats), operator=operator,
                  pattern_files=tuple(files), loc=ln.loc(first))
        # the patterns (line and -f files) compiled as the engine will: a bad number, range, address,
        # hex string or regex is reported here with 2.6's words, not at start
        from haproxy_py.acl.condition import AclError, compile_acl

        try:
            compile_acl(acl)
        except AclError as e:
            err(e.reason, first)
            return None
        return acl

    def kw_acl(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) < 2:
            self.d.alert(self._p(ln) + "'acl' expects an ACL name.", ln.loc(0), line=ln.raw, ours=True)
            raise _Skip
        name = w[1]
        for ch in name:
            if ch not in _NAME_OK:
                self.fail(ln, f"character '{ch}' is not permitted in acl name '{name}'.", 1)
        self._acl_refused = False
        acl = self.parse_acl(ln, p, w, 2, name, f"error detected while parsing ACL '{name}'")
        if acl is None:
            if self._acl_refused:
                p.acl_names.add(name)
            raise _Skip
        p.acls.append(acl)
        p.acl_names.add(name)

    def condition(self, ln: Line, p: ProxyState, i: int, ctx: str) -> Condition | None:
        """Parse ``if|unless COND`` starting at word i (None when there is none)."""
        w = ln.words
        if i >= len(w):
            return None
        if w[i] not in ("if", "unless"):
            self.fail(ln, f"{ctx} : expects 'if' or 'unless' followed by a condition but found '{w[i]}'.", i,
                      ours=True)
        unless = w[i] == "unless"
        try:
            groups = parse_condition_words(w, i + 1)
        except CondError as e:
            self.fail(ln, f"error detected while parsing {ctx} : {e}.", i)
        out: list[tuple[Term, ...]] = []
        for grp in groups:
            terms: list[Term] = []
            for t in grp:
                if t.anon is not None:
                    acl = self.parse_acl(ln, p, t.anon, 0, "", f"error detected while parsing {ctx}")
                    if acl is None:
                        raise _Skip
                    terms.append(Term(t.negate, None, acl))
                    continue
                if t.name not in p.acl_names and t.name not in F.PREDEFINED_ACLS:
                    sug = did_you_mean(t.name, list(p.acl_names) + list(F.PREDEFINED_ACLS))
                    self.fail(ln, f"error detected while parsing {ctx} : no such ACL : '{t.name}'.", t.index,
                              suggestion=sug)
                if t.name not in p.acl_names and t.name in F.PREDEFINED_ACLS:
                    from haproxy_py.registry import not_implemented
                    from haproxy_py.samples import FETCHES as SF

                    pre_fetch = F.PREDEFINED_ACLS[t.name][0]
                    if pre_fetch not in SF:  # RDP_COOKIE, REQ_CONTENT, WAIT_END: accepted means implemented
                        self.fail(ln, f"error detected while parsing {ctx} : "
                                  + not_implemented(f"predefined ACL '{t.name}' (sample fetch '{pre_fetch}')"),
                                  t.index, ours=True)
                terms.append(Term(t.negate, t.name, None))
            out.append(tuple(terms))
        self._warn_incompatible_acls(ln, p, ctx, out)
        return Condition(unless, tuple(out), ln.loc(i))

    #: where a condition is evaluated -> (index in 2.6's usage mask, 2.6's name of the place),
    #: for a frontend (or listen) and for a backend
    _COND_PLACES = {
        "switching": ((5, "frontend use-backend rule"), None),
        "tcp-request connection": ((0, "frontend tcp-request connection rule"), None),
        "tcp-request session": ((1, "frontend tcp-request session rule"), None),
        "tcp-request content": ((2, "frontend tcp-request content rule"), (6, "backend tcp-request content rule")),
        "http-request": ((3, "frontend http-request header rule"), (7, "backend http-request header rule")),
        "redirect": ((3, "frontend http-request header rule"), (7, "backend http-request header rule")),
        "http-response": ((16, "frontend http-response header rule"), (12, "backend http-response header rule")),
        "http-after-response": ((16, "frontend http-response header rule"),
                                (12, "backend http-response header rule")),
    }

    def _warn_incompatible_acls(self, ln: Line, p: ProxyState, ctx: str, groups: list[tuple[Term, ...]]) -> None:
        """2.6's warning for an ACL that can never match where the condition is evaluated (a
        response fetch in a request rule, an HTTP fetch in tcp-request connection, ...)."""
        from haproxy_py.samples.known26 import FETCHES as F26

        key = next((k for k in self._COND_PLACES if ctx.startswith((f"an '{k} ", f"'{k}' ", k))), None)
        if key is None or p.is_defaults:
            return
        fe, be = self._COND_PLACES[key]
        place = fe if (p.caps & K.FE) or be is None else be
        idx, label = place

        def ok(fetch: str) -> bool:
            d = F26.get(fetch)
            return d is None or d[2][idx] == "Y"

        where = f" in '{key}'" if key.startswith("tcp-request") else ""
        for grp in groups:
            for t in grp:
                if t.anonymous is not None:
                    if not ok(t.anonymous.fetch):
                        self.d.warning(self._p(ln) + f"anonymous acl will never match{where} because it uses keyword "
                                       f"'{t.anonymous.fetch}' which is incompatible with '{label}'",
                                       ln.loc(0), line=ln.raw)
                    continue
                if t.acl in F.PREDEFINED_ACLS:
                    fetches = [F.PREDEFINED_ACLS[t.acl][0]]
                else:
                    fetches = [a.fetch for a in p.acls if a.name == t.acl]
                if fetches and not any(ok(f) for f in fetches):
                    self.d.warning(self._p(ln) + f"acl '{t.acl}' will never match{where} because it only involves "
                                   f"keywords that are incompatible with '{label}'", ln.loc(0), line=ln.raw)

    # --- rules
    def _action(self, ln: Line, p: ProxyState, family: str, first: int) -> tuple[str, Any, int]:
        """The action at word ``first`` of a rule of ``family``: its registry name checked, its
        arguments parsed and compiled by the action's registry entry. Returns (action word, compiled
        action, index of the first word after the arguments). Accepted means implemented: a name
        2.6 knows that haproxy-py does not implement is refused at the action's column."""
        from haproxy_py import actions as A

        w = ln.words
        act = w[first]
        reg = A.REGISTRIES[family]
        name = A.lookup(family, act)
        assert name is not None
        j = first + 1
        while j < len(w) and w[j] not in ("if", "unless"):
            j += 1
        if reg.status(name) == "no-effect":
            self.d.notice(self._p(ln) + reg.notice(name, act), ln.loc(first), line=ln.raw, ours=True)
            return act, A.NO_OP, j
        entry = reg.get(name)
        if entry is None:
            self.fail(ln, reg.refusal(name, act), first, ours=True)
        if not (entry.caps & p.caps):
            where = "frontend" if entry.caps == A.FE else "backend"
            self.fail(ln, f"'{family} {act}' is not allowed because {p.kind} '{p.name}' is not a {where}.",
                      first, ours=True)
        ctx = A.ParseCtx(family, act, p.kind, p.name)
        try:
            impl = entry.parse(w[first + 1:j], ctx)
        except A.TrailingWords as e:
            k = first + 1 + e.word_index
            if family.startswith("tcp-"):
                self.fail(ln, f"'{family} {act}' only accepts 'if' or 'unless', in {p.kind} '{p.name}' "
                          f"(got '{w[k]}')", k)
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: '{family} {act}' expects either 'if' or 'unless' "
                         f"followed by a condition but found '{w[k]}'.", ln.loc(k), line=ln.raw)
            raise _Skip from None
        except A.ActionError as e:
            col = first + 1 + e.word_index if e.word_index >= 0 else first
            self.fail(ln, e.message, min(col, len(w) - 1), ours=e.ours)
        for msg, i in ctx.warnings:
            self.warn(ln, msg, first + 1 + i)
        return act, impl, j

    def _no_defaults_rules(self, ln: Line, p: ProxyState, what: str) -> None:
        if p.is_defaults:
            from haproxy_py.registry import not_implemented

            self.fail(ln, not_implemented(f"'{what}' rules in a 'defaults' section",
                                          "put the rules in the frontend, backend or listen sections"),
                      0, ours=True)

    def _rule(self, ln: Line, p: ProxyState, kind: str, actions: tuple[str, ...]) -> None:
        from haproxy_py import actions as A

        w = ln.words
        names = A.ORDERED[kind]
        if len(w) < 2:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: '{kind}' expects "
                         + ", ".join(f"'{a}'" for a in names) + ", but got '' (missing argument).",
                         ln.loc(0), line=ln.raw)
            raise _Skip
        act = w[1]
        if A.lookup(kind, act) is None:
            sug = did_you_mean(act, [a.replace("(*)", "") for a in names])
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: '{kind}' expects "
                         + ", ".join(f"'{a}'" for a in names) + f", but got '{act}'.", ln.loc(1),
                         line=ln.raw, suggestion=sug)
            raise _Skip
        self._no_defaults_rules(ln, p, kind)
        if kind == "http-request":
            if any(r.kind == "redirect" for r in p.http_rules):
                self.warn(ln, "a 'http-request' rule placed after a 'redirect' rule will still be processed "
                          "before.", 0)
            elif p.use_backends:
                self.warn(ln, "a 'http-request' rule placed after a 'use_backend' rule will still be processed "
                          "before.", 0)
        act, impl, j = self._action(ln, p, kind, 1)
        cond = self.condition(ln, p, j, f"an '{kind} {act}' condition") if j < len(w) else None
        p.http_rules.append(HttpRule(kind, act, tuple(w[2:j]), cond, ln.loc(0), impl))

    def kw_http_request(self, ln: Line, p: ProxyState) -> None:
        self._rule(ln, p, "http-request", K.HTTP_REQUEST_ACTIONS)

    def kw_http_response(self, ln: Line, p: ProxyState) -> None:
        self._rule(ln, p, "http-response", K.HTTP_RESPONSE_ACTIONS)

    def kw_http_after_response(self, ln: Line, p: ProxyState) -> None:
        self._rule(ln, p, "http-after-response", K.HTTP_AFTER_RESPONSE_ACTIONS)

    def kw_tcp_request(self, ln: Line, p: ProxyState) -> None:
        from haproxy_py import actions as A

        w = ln.words
        sub = w[1] if len(w) > 1 else ""
        if sub == "inspect-delay":
            v = self.time_arg(ln, 2, "'tcp-request inspect-delay'")
            p.http_rules.append(HttpRule("tcp-request", "inspect-delay", (str(v),), None, ln.loc(0)))
            return
        if sub not in ("connection", "content", "session"):
            self.fail(ln, f"'tcp-request' expects 'inspect-delay', 'connection', or 'content' in {p.kind} "
                      f"'{p.name}' (got '{sub}')", 1)
        family = f"tcp-request {sub}"
        if sub in ("connection", "session") and not (p.caps & K.FE):
            self.fail(ln, f"tcp-request {sub} is not allowed because {p.kind} {p.name} is not a frontend", 0)
        act = w[2] if len(w) > 2 else ""
        if any(r.kind == "http-request" for r in p.http_rules):
            self.warn(ln, "a 'tcp-request' rule placed after an 'http-request' rule will still be processed "
                      "before.", 0)
        elif any(r.kind == "redirect" for r in p.http_rules):
            self.warn(ln, "a 'tcp-request' rule placed after a 'redirect' rule will still be processed before.", 0)
        elif p.use_backends:
            self.warn(ln, "a 'tcp-request' rule placed after a 'use_backend' rule will still be processed "
                      "before.", 0)
        elif sub in ("connection", "session") and any(
                r.kind == "tcp-request" and r.action.startswith("content ") for r in p.http_rules):
            self.warn(ln, "a 'tcp-request' rule placed after a 'tcp-request content' rule will still be "
                      "processed before.", 0)
        if not act or A.lookup(family, act) is None:
            self.fail(ln, f"'{family}' expects {A.expects_list(family)} in {p.kind} '{p.name}' (got '{act}').",
                      2 if act else 1)
        self._no_defaults_rules(ln, p, family)
        act, impl, j = self._action(ln, p, family, 2)
        cond = self.condition(ln, p, j, f"'tcp-request {sub}' rule") if j < len(w) else None
        p.http_rules.append(HttpRule("tcp-request", f"{sub} {act}", tuple(w[3:j]), cond, ln.loc(0), impl))

    def kw_redirect(self, ln: Line, p: ProxyState) -> None:
        from haproxy_py import actions as A
        from haproxy_py.actions.http import parse_redirect

        w = ln.words
        j = 1
        while j < len(w) and w[j] not in ("if", "unless"):
            j += 1
        try:
            impl = parse_redirect(w[1:j], A.ParseCtx("http-request", "redirect", p.kind, p.name))
        except A.ActionError as e:
            self.fail(ln, f"error detected in {p.kind} '{p.name}' while parsing redirect rule : {e.message}",
                      min(1 + max(e.word_index, 0), len(w) - 1), ours=e.ours)
        if p.use_backends:
            self.warn(ln, "a 'redirect' rule placed after a 'use_backend' rule will still be processed before.", 0)
        cond = self.condition(ln, p, j, "redirect rule") if j < len(w) else None
        # its own rule set: 2.6 runs the redirect rules after every http-request rule
        p.http_rules.append(HttpRule("redirect", "redirect", tuple(w[1:j]), cond, ln.loc(0), impl))

    def kw_http_check(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
        w = ln.words
        sub = w[1] if len(w) > 1 else ""
        p.check_rules_loc = p.check_rules_loc or ln.loc(0)
        if sub == "disable-on-404":
            p.check_rules["disable_on_404"] = True
        elif sub == "send-state":
            p.check_rules["send_state"] = True
        elif sub == "send":
            j = 2
            while j < len(w):
                a = w[j]
                val = w[j + 1] if j + 1 < len(w) else None
                if a in ("meth", "uri", "ver", "body", "uri-lf", "body-lf") and val is not None:
                    key = {"meth": "method", "uri": "uri", "uri-lf": "uri", "ver": "version", "body": "body",
                           "body-lf": "body"}[a]
                    p.check_rules[key] = val
                    j += 2
                elif a == "hdr" and j + 2 < len(w):
                    p.check_headers.append((w[j + 1], w[j + 2]))
                    j += 3
                elif a == "comment" and val is not None:
                    j += 2
                else:
                    self.fail(ln, f"'http-check send' : 'meth', 'uri', 'ver', 'hdr', 'body' or 'comment' "
                              f"expected but got '{a}'.", j, ours=True)
        elif sub == "expect":
            j = 2
            neg = False
            while j < len(w) and w[j] in ("min-recv", "comment", "ok-status", "error-status", "tout-status",
                                          "on-success", "on-error", "status-code"):
                j += 2
            what = w[j] if j < len(w) else ""
            if what == "!":
                neg = True
                j += 1
                what = w[j] if j < len(w) else ""
            elif what.startswith("!"):
                neg = True
                what = what[1:]
            if what not in ("status", "rstatus", "string", "rstring", "string-lf", "hdr", "fhdr"):
                self.fail(ln, "'http-check expect' : 'only supports min-recv, [!]string', '[!]rstring', "
                          "'[!]string-lf', '[!]status', '[!]rstatus', [!]hdr, [!]fhdr or comment but got "
                          f"'{what}' as argument..", j)
            pat = w[j + 1] if j + 1 < len(w) else None
            if pat is None:
                self.fail(ln, f"'http-check expect' : '{what}' expects <pattern> as an argument.", j)
            p.check_rules["expect"] = (what, pat, neg)
        elif sub in ("connect", "set-var", "set-var-fmt", "unset-var", "comment"):
            self.fail(ln, S.HTTP_CHECK.refusal(sub, f"http-check {sub}"), 1, ours=True)
        else:
            self.fail(ln, "'http-check' only supports 'disable-on-404', 'send-state', 'comment', 'connect', "
                      f"'send', 'expect', 'set-var' and 'unset-var' but got '{sub}'.", 1, ours=True)

    def kw_tcp_check(self, ln: Line, p: ProxyState) -> None:
        from haproxy_py.config import tcpcheck as TC

        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
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

    def kw_stats(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        sub = w[1] if len(w) > 1 else ""
        arg = w[2] if len(w) > 2 else None
        st = p.stats
        if sub in S.STATS.known and not self.supported(S.STATS, ln, sub, 1, f"stats {sub}"):
            p.ignored.append(("stats", tuple(w[1:])))
            return
        if sub == "enable":
            st["enabled"] = True
        elif sub == "uri":
            if arg is None:
                self.fail(ln, "'uri' needs an URI prefix.", 1)
            st["uri"] = arg
            st["enabled"] = True
        elif sub == "realm":
            if arg is None:
                self.fail(ln, "'realm' needs an realm name.", 1)
            st["realm"] = " ".join(w[2:])
            st["enabled"] = True
        elif sub == "auth":
            if arg is None or ":" not in arg:
                self.fail(ln, "'auth' needs a user:password account.", 1)
            u, _, pw = arg.partition(":")
            p.stats_auth.append((u, pw))
            st["enabled"] = True
        elif sub == "refresh":
            st["refresh"] = self.time_arg(ln, 2, "'stats refresh'")
            st["enabled"] = True
        elif sub == "admin":
            if p.is_defaults:
                self.fail(ln, "'stats admin' statement is not supported in 'defaults' section.", 1)
            if arg not in ("if", "unless"):
                self.fail(ln, "'stats admin' requires either 'if' or 'unless' followed by a condition.", 1)
            cond = self.condition(ln, p, 2, "'stats admin' rule")
            if cond is not None:
                p.stats_admin.append(cond)
        elif sub == "hide-version":
            st["hide_version"] = True
            st["enabled"] = True
        elif sub == "show-legends":
            st["show_legends"] = True
            st["enabled"] = True
        elif sub == "show-node":
            st["show_node"] = arg or ""
            st["enabled"] = True
        elif sub == "show-desc":
            st["show_desc"] = " ".join(w[2:])
            st["enabled"] = True
        elif sub == "scope":
            if arg is None:
                self.fail(ln, "'scope' needs a proxy name.", 1)
            p.stats_scopes.append(arg)
            st["enabled"] = True
        else:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: unknown stats parameter '{sub}', "
                         + K.STATS_PARAMS_MSG, ln.loc(1), line=ln.raw)
            raise _Skip
        p.f["stats_line"] = p.f.get("stats_line") or ln

    def kw_capture(self, ln: Line, p: ProxyState) -> None:
        ignored = self.capwarn(ln, p, K.FE)
        w = ln.words
        sub = w[1] if len(w) > 1 else ""
        if sub == "cookie":
            if len(w) < 5 or w[3] != "len":
                self.fail(ln, "'capture cookie' expects <cookie_name> 'len' <len>.", 1)
            length = self.int_arg(ln, 4, "capture cookie len", lo=0)
            if not ignored:
                p.captures.append(Capture("cookie", w[2], length))
            return
        if sub in ("request", "response"):
            if len(w) < 6 or w[2] != "header" or w[4] != "len":
                self.fail(ln, f"'capture {sub}' expects 'header' <header_name> 'len' <len>.", 1)
            if ignored:
                return
            length = self.int_arg(ln, 5, f"capture {sub} header len", lo=0)
            p.captures.append(Capture(f"{sub} header", w[3], length))
            return
        self.fail(ln, "'capture' expects 'cookie' or 'request header' or 'response header'.", 1)

    def kw_errorfile(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) < 3:
            self.fail(ln, "errorfile : <code> and <file> expected.", 0, ours=True)
        code = parse_int(w[1])
        if code is None or code not in K.ERRORFILE_CODES:
            self.fail(ln, f"errorfile : status code '{w[1]}' not handled.", 1)
        path = w[2]
        try:
            with open(path, "rb") as fh:
                data = fh.read(65536)
        except OSError:
            self.fail(ln, f"errorfile : error opening file '{path}'.", 2)
        if data and not data.startswith(b"HTTP/"):
            self.fail(ln, f"errorfile : '{path}': unable to parse headers (error offset: 0)", 2)
        p.errorfiles = [(c, f) for c, f in p.errorfiles if c != code] + [(code, path)]

    # ------------------------------------------------------------------ freeze + checks
    def finish(self) -> Config:
        d = self.d
        g = self.g
        glob = Global(
            logs=tuple(self.g_logs), log_tag=g.get("log_tag"), log_send_hostname=g.get("log_send_hostname"),
            chroot=g.get("chroot"), pidfile=g.get("pidfile"), maxconn=g.get("maxconn"), user=g.get("user"),
            group=g.get("group"), uid=g.get("uid"), gid=g.get("gid"), daemon=g.get("daemon", False),
            master_worker=g.get("master_worker", False), stats_sockets=tuple(self.g_sockets),
            stats_timeout=g.get("stats_timeout", 10_000), stats_maxconn=g.get("stats_maxconn", 10),
            nbthread=g.get("nbthread"), nbproc=g.get("nbproc"), node=g.get("node"),
            description=g.get("description"), spread_checks=g.get("spread_checks", 0),
            tune_bufsize=g.get("tune_bufsize", 16384), tune_maxrewrite=g.get("tune_maxrewrite", 1024),
            tune_http_maxhdr=g.get("tune_http_maxhdr", 101),
            hard_stop_after=g.get("hard_stop_after"), server_state_file=g.get("server_state_file"),
            server_state_base=g.get("server_state_base"), ignored=tuple(self.g_ignored),
            loc=self.g_loc or Location("<builtin>", 0, 0))
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
        proxies = [self.freeze(ps, uuids[i]) for i, ps in enumerate(self.proxies)]
        defaults = [self.freeze(ps, 0) for ps in self.defaults_list]
        cfg = Config(global_=glob, proxies=tuple(proxies), defaults=tuple(defaults),
                     other_sections=tuple(self.other_sections),
                     userlists=tuple((n, tuple(u)) for n, u in self.userlists), files=tuple(self.files),
                     programs=tuple(self.programs))
        if not d.has_errors:
            self.post_checks(cfg)
        return cfg

    def freeze(self, ps: ProxyState, uuid: int) -> Proxy:
        f = ps.f
        mode = f.get("mode", "tcp")
        http_check = None
        hc = f.get("httpchk")
        if hc is not None:
            kw = dict(hc)
            for k in ("method", "uri", "version", "body"):
                if k in ps.check_rules:
                    kw[k] = ps.check_rules[k]
            heads = list(kw.get("headers", ())) + ps.check_headers
            kw["headers"] = tuple(heads)
            for k in ("expect", "disable_on_404", "send_state"):
                if k in ps.check_rules:
                    kw[k] = ps.check_rules[k]
            http_check = HttpCheck(**kw)
        tcp_check = None
        if f.get("check_type") == "tcp-check":
            from haproxy_py.config.tcpcheck import with_implicit_connect

            tcp_check = with_implicit_connect(f.get("tcp_rules", ()))
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
            maxconn=f.get("maxconn"), acls=tuple(ps.acls), use_backends=tuple(ps.use_backends),
            default_backend=f.get("default_backend"), forwardfor=f.get("forwardfor"),
            captures=tuple(ps.captures), http_rules=tuple(ps.http_rules), logs=logs,
            log_global=f.get("log_global", False), no_log=f.get("no_log", False),
            log_format=f.get("log_format"), log_style=self._log_style(ps, mode), log_tag=f.get("log_tag"),
            servers=tuple(self._puids(ps.servers)), default_server=ps.default_server,
            balance=f.get("balance", Balance()), hash_type=f.get("hash_type", HashType()),
            hash_balance_factor=f.get("hash_balance_factor", 0), cookie=f.get("cookie"),
            retries=f.get("retries", 3), redispatch=f.get("redispatch", 0), fullconn=f.get("fullconn"),
            http_send_name_header=f.get("http_send_name_header"), http_check=http_check,
            tcp_check=tcp_check, tcp_check_proto=f.get("check_type") not in (None, "tcp-check"),
            dispatch=self._dispatch(ps), http_reuse=f.get("http_reuse", "safe"),
            timeouts=self._effective_timeouts(ps),
            options=tuple(ps.options.items()), stats=stats, errorfiles=tuple(ps.errorfiles),
            ignored=tuple(ps.ignored))

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
            self.d.warning(f"dispatch address of {ps.kind} '{ps.name}' will be ignored in balance mode.",
                           phase=POST)
            return None
        return addr

    def _log_style(self, ps: ProxyState, mode: str) -> str:
        style = ps.f.get("log_style", "default")
        if style.startswith("httplog") and mode != "http" and ps.kind != "defaults":
            ln = ps.f.get("httplog_line")
            where = f"parsing [{ln.file}:{ln.lineno}] : " if ln is not None else ""
            self.d.warning(f"{where}'option httplog' not usable with {ps.kind} '{ps.name}' (needs 'mode http'). "
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

    def _check_sample_refs(self, cfg: Config) -> None:
        """The backend/frontend/server/userlist names ACL fetches name (nbsrv(b), srv_is_up(b/s),
        http_auth(L)...) must exist, with 2.6's messages."""
        proxies = {p.name: p for p in cfg.proxies}
        userlists = {n for n, _ in cfg.userlists}
        for ln, i, kind, word, argn, kw, pname in self.__dict__.get("_sample_refs", ()):
            where = f"referenced in arg {argn} of ACL keyword '{kw}' in proxy '{pname}'."
            msg = None
            if kind == "user list":
                if word not in userlists:
                    msg = f"unable to find userlist '{word}' {where}"
            elif kind == "server":
                bname, _, sname = word.rpartition("/")
                bname = bname or pname
                be = proxies.get(bname)
                if be is None:
                    msg = f"unable to find proxy '{bname}' {where}"
                elif not any(s.name == sname for s in be.servers):
                    msg = f"unable to find server '{sname}' in proxy '{bname}', {where}"
            else:
                px = proxies.get(word)
                if px is None or not (px.has_be if kind == "backend" else px.has_fe):
                    msg = f"unable to find {kind} '{word}' {where}"
            if msg is not None:
                self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: {msg}", ln.loc(i), line=ln.raw, phase=POST)

    def post_checks(self, cfg: Config) -> None:
        d = self.d
        self._check_sample_refs(cfg)
        by_be = {}
        for p in cfg.proxies:
            if p.has_be and p.name not in by_be:
                by_be[p.name] = p
        for ps, p in zip(self.proxies, cfg.proxies, strict=True):
            if ps.f.get("default_backend_self_loop"):
                d.alert(f"Proxy '{p.name}': loop detected for default_backend: '{p.name}'.", p.loc, phase=POST)
            if p.disabled:
                continue
            if p.has_fe:
                for ub in p.use_backends:
                    if "%[" in ub.backend:
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
                        d.warning(f"{p.kind} '{p.name}' has no 'bind' directive. Please declare it as a backend if "
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
            t = p.timeouts
            if p.mode in ("tcp", "http") and (
                    (p.has_fe and not t.client) or (p.has_be and (not t.connect or not t.server))):
                d.warning(f"missing timeouts for {p.kind} '{p.name}'.\n"
                          "   | While not properly invalid, you will certainly encounter various problems\n"
                          "   | with such a configuration. To fix this, please ensure that all following\n"
                          "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'.",
                          p.loc, phase=POST)
            if p.has_fe and (p.log_style != "default" or p.log_format) and not p.logs:
                d.warning(f"log format ignored for {p.kind} '{p.name}' since it has no log address.", p.loc,
                          phase=POST)
            if p.has_be and ps.check_rules and p.http_check is None and not ps.is_defaults:
                d.warning(f"{p.kind} '{p.name}' uses http-check rules without 'option httpchk', so the rules "
                          "are ignored.", ps.check_rules_loc, phase=POST)
            if p.mode != "http":
                for oname, on in p.options:
                    if on and oname in K.HTTP_ONLY_OPTIONS and (K.OPTIONS.get(oname, 0) & ps.caps):
                        d.warning(f"'option {oname}' ignored for {p.kind} '{p.name}' as it requires HTTP mode.",
                                  p.loc, phase=POST)
                if p.forwardfor is not None:
                    d.warning(f"'option forwardfor' ignored for {p.kind} '{p.name}' as it requires HTTP mode.",
                              p.loc, phase=POST)
                if p.stats.enabled or ps.stats_admin:
                    d.warning(f"'stats' statement ignored for {p.kind} '{p.name}' as it requires HTTP mode.",
                              p.loc, phase=POST)
                if p.captures:
                    d.warning(f"'capture' statement ignored for {p.kind} '{p.name}' as it requires HTTP mode.",
                              p.loc, phase=POST)
                if any(r.kind == "http-response" for r in p.http_rules):
                    d.warning(f"'http-response' rules ignored for {p.kind} '{p.name}' as they require HTTP mode.",
                              p.loc, phase=POST)
                if any(r.kind == "http-request" for r in p.http_rules) and p.has_fe is False:
                    d.warning(f"'http-request' rules ignored for {p.kind} '{p.name}' as they require HTTP mode.",
                              p.loc, phase=POST)
        self.listeners = listeners
        used_mailers = {args[1] for ps in self.proxies for kw, args in ps.ignored
                        if kw == "email-alert" and len(args) > 1 and args[0] == "mailers"}
        for name, loc, ln in self.mailers_pending:
            if name not in used_mailers:
                d.warning(f"Removing incomplete section 'mailers {name}'.", loc, line=ln.raw, phase=POST)
