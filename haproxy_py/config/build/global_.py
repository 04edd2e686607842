"""The 'global' section: its keywords, 'no KEYWORD', 'stats socket|timeout|maxconn'."""

from __future__ import annotations

import re
from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config import tls as TLS
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import _Skip
from haproxy_py.config.diagnostics import did_you_mean
from haproxy_py.config.grammar import AddressError, parse_address, parse_int, parse_size, parse_time
from haproxy_py.config.grammar import c_atoi_int as _c_int
from haproxy_py.config.model import StatsSocket
from haproxy_py.config.tokenizer import Line, expand_address_env

#: the global keywords HAProxy 2.6 lets 'no' negate
_GLOBAL_NEGATABLE = ("log", "busy-polling", "set-dumpable", "strict-limits", "insecure-fork-wanted", "numa-cpu-mapping")



#: global keywords 2.6 refuses with more arguments ("'KW' cannot handle unexpected argument")
_MAX_ARGS = {"log-tag": 1, "chroot": 1, "pidfile": 1, "node": 1, "maxconn": 1, "nbthread": 1, "spread-checks": 1,
             "uid": 1, "gid": 1, "user": 1, "group": 1, "daemon": 0, "master-worker": 1, "tune.bufsize": 1,
             "tune.maxrewrite": 1, "tune.http.maxhdr": 1, "crt-base": 1, "ca-base": 1,
             "ssl-default-bind-ciphers": 1, "ssl-default-bind-ciphersuites": 1, "ssl-server-verify": 1,
             "ssl-default-server-ciphers": 1, "ssl-default-server-ciphersuites": 1, "tune.ssl.default-dh-param": 1,
             "ssl-default-bind-curves": 1, "quiet": 0, "zero-warning": 0, "nosplice": 0,
             "ulimit-n": 1, "fd-hard-limit": 1, "strict-limits": 0, "maxconnrate": 1, "maxsessrate": 1, "maxsslconn": 1, "maxsslrate": 1,
             "maxcomprate": 1, "tune.comp.maxlevel": 1, "maxcompcpuusage": 1, "maxzlibmem": 1, "h1-case-adjust": 2, "h1-case-adjust-file": 1,
             "tune.rcvbuf.client": 1, "tune.rcvbuf.server": 1, "tune.sndbuf.client": 1, "tune.sndbuf.server": 1,
             "tune.http.logurilen": 1, "tune.http.cookielen": 1, "mworker-max-reloads": 1,
             "tune.ssl.capture-buffer-size": 1, "profiling.tasks": 1, "tune.ssl.keylog": 1}
#: (tune.ssl.capture-cipherlist-size: its deprecation warning comes first, config/tls.py)

#: global keywords taking one integer (2.6 reads it with atol: haproxy-py refuses what is not one)
_INT_GLOBALS = ("ulimit-n", "fd-hard-limit", "maxconnrate", "maxsessrate", "maxsslconn", "maxsslrate", "tune.rcvbuf.client",
                "tune.rcvbuf.server", "tune.sndbuf.client", "tune.sndbuf.server", "tune.http.logurilen",
                "tune.http.cookielen", "mworker-max-reloads")

_WS = b" \t\r\n\x0b\x0c"  # C isspace()

#: the tune.vars limits, in the order of samples/txn.py ProcVars.limits
_VARS_LIMITS = ("tune.vars.global-max-size", "tune.vars.proc-max-size", "tune.vars.sess-max-size",
                "tune.vars.txn-max-size", "tune.vars.reqres-max-size", "tune.vars.check-max-size")


def _strtol_u32(w: str) -> int | None:
    """2.6's reading of a tune.vars size: strtol in base 10 that must read the whole word (an
    empty one is 0), stored in an unsigned int; None when it stops before the end."""
    m = re.fullmatch(r"[ \t\n\r\f\v]*([+-]?[0-9]*)", w)
    if m is None or (m.group(1) in ("+", "-")):
        return None if w.strip(" \t\n\r\f\v") else 0
    txt = m.group(1)
    v = int(txt) if txt else 0
    v = max(-(1 << 63), min(v, (1 << 63) - 1))  # strtol saturates
    return v & 0xFFFFFFFF


#: the global keywords 2.6 offers for a misspelt one (these two it parses without offering them)
_SUGGESTED = [k for k in K.GLOBAL_KEYWORDS + K.TUNE_KEYWORDS
              if k not in ("fd-hard-limit", "expose-experimental-directives")] + [
    k for k in K.SECTION_SUGGESTIONS if k not in K.GLOBAL_KEYWORDS]

class CaseFileError(ValueError):
    """A line of the file 2.6 refuses (the message is 2.6's, after the file name)."""


def check_pair(frm: str, to: str) -> bool:
    """2.6's test of one entry: the same name but for the case."""
    return len(frm) == len(to) and frm.lower() == to.lower()


def parse_case_file(data: bytes, known: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """The entries of a ``h1-case-adjust-file`` added to ``known`` (the global lines'), as 2.6
    reads it: blank lines and lines starting with ``#`` skipped, ``<from>`` up to the first space,
    ``<to>`` the rest of the line without its surrounding spaces."""
    out = dict(known)
    for lineno, line in enumerate(data.split(b"\n"), 1):
        s = line.lstrip(_WS)
        if not s or s.startswith(b"#"):
            continue
        i = 0
        while i < len(s) and s[i] not in _WS:
            i += 1
        frm, to = s[:i], s[i:].strip(_WS)
        if not to:
            raise CaseFileError(f"expect <to> at line {lineno}.")
        if len(frm) != len(to) or frm.lower() != to.lower():
            raise CaseFileError(f"<from> and <to> must not differ execpt the case at line {lineno}.")
        if frm in out:
            raise CaseFileError(f"duplicate entry '{frm.decode('latin-1')}' at line {lineno}.")
        out[frm] = to
    return out


def h1_case_entries(self: BuilderBase) -> tuple[tuple[bytes, bytes], ...]:
    """The ``h1-case-adjust`` entries, then those of the ``h1-case-adjust-file`` (2.6 reads the
    file after the configuration: its messages name the file and its line, and haproxy-py
    reports them at the keyword's line)."""
    g = self.g
    cmap: dict[bytes, bytes] = g.get("h1_case", {})
    ln = g.get("h1_case_file")
    if ln is not None:
        path = ln.words[1]
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            self.alert(ln, f"h1-headers-case-adjust-file '{path}': failed to open file.", 1, raw=True)
            return ()
        try:
            cmap = parse_case_file(data, cmap)
        except CaseFileError as e:
            self.alert(ln, f"h1-headers-case-adjust-file '{path}' : {e}", 1, raw=True)
            return ()
    return tuple(cmap.items())


class GlobalMixin(BuilderBase):
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
        if name == "strict-limits":
            if self.supported(S.GLOBAL, ln, name, 1):
                self.g["strict_limits"] = False
            return
        self.global_kw(Line(w[1:], ln.cols[1:], ln.file, ln.lineno, ln.raw))

    def global_kw(self, ln: Line) -> None:
        w = ln.words
        kw = w[0]
        n = len(w)
        g = self.g
        if kw == "no":
            self.global_no(ln)
            return
        if kw == "default":
            shifted = self.keyword_modifier(ln, ("option", *_GLOBAL_NEGATABLE))
            if shifted is not None:  # (None: 'default' alone, an unknown keyword below)
                if shifted.words[0] == "default":
                    self.alert(shifted, "unknown keyword 'default' in 'global' section", 0)
                    return
                self.global_kw(shifted)
                return
        if kw in _MAX_ARGS:
            self.too_many_args(ln, _MAX_ARGS[kw])
        if kw in ("httpclient.ssl.verify", "httpclient.ssl.ca-file") and n >= 2:
            g[kw] = w[1]  # what 'show ssl ca-file' lists (the client itself is not implemented)
        if kw == "httpclient.resolvers.prefer" and (n < 2 or w[1] not in ("ipv4", "ipv6")):
            self.fail(ln, "'httpclient.resolvers.prefer' expects 'ipv4' or 'ipv6' as argument.", min(n - 1, 1))
        if kw == "log":
            self.g_logs.append(self.parse_log(ln, in_global=True))
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
        elif kw == "localpeer":
            if n < 2:
                self.fail(ln, "'localpeer' expects a name as an argument.", 0, ours=True)
            if n > 2:
                self.fail(ln, f"'localpeer' cannot handle unexpected argument '{w[2]}'.", 2, ours=True)
            g["localpeer"] = w[1]
        elif kw == "log-send-hostname":
            g["log_send_hostname"] = w[1] if n > 1 else ""
        elif kw in ("maxconn", "nbthread", "spread-checks", "uid", "gid"):
            if n < 2:
                self.fail(ln, f"'{kw}' expects an integer argument.", 0)
            v = parse_int(w[1])
            if v is None or v < 0:
                self.fail(ln, f"'{kw}' expects an integer argument (got '{w[1]}'); HAProxy 2.6 would take "
                          "it as 0 silently, haproxy-py refuses it.", 1, ours=True)
            if kw == "nbthread" and not 1 <= v <= 64:  # Debian's build: MAX_THREADS 64
                self.fail(ln, f"'nbthread' value must be between 1 and 64 (was {v})", 1)
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
        elif kw == "profiling.tasks":
            if n < 2 or w[1] not in ("on", "auto", "off"):
                self.fail(ln, "'profiling.tasks' expects either 'on', 'auto', or 'off' but got "
                          f"'{w[1] if n > 1 else ''}'.", min(n - 1, 1))
            g["profiling_tasks"] = w[1]
        elif kw == "pp2-never-send-local":
            self.too_many_args(ln, 0)
            g["pp2_never_send_local"] = True
        elif kw == "daemon":
            g["daemon"] = True
        elif kw in ("quiet", "zero-warning", "nosplice"):
            g[kw.replace("-", "_")] = True
        elif kw in ("setenv", "presetenv", "unsetenv", "resetenv"):
            self.global_env(ln)
        elif kw == "master-worker":
            if n > 1 and w[1] != "no-exit-on-failure":
                self.fail(ln, "'master-worker' only supports 'no-exit-on-failure' option.", 1)
            if n > 1:
                from haproxy_py.registry import not_implemented

                self.fail(ln, not_implemented("'master-worker no-exit-on-failure'",
                                              "the master stops with its workers' failures"), 1, ours=True)
            g["master_worker"] = True
        elif kw == "stats":
            self.global_stats(ln)
        elif kw in _VARS_LIMITS and self.supported(S.GLOBAL, ln, kw, 0):
            v = _strtol_u32(w[1] if n > 1 else "")
            if v is None:
                self.fail(ln, f"{kw}: '{w[1]}' is an invalid size", 1)
            pv = self.proc_vars
            lim = list(pv.limits or (0, 0, 0, 0, 0, 0))
            lim[_VARS_LIMITS.index(kw)] = v
            pv.limits = (lim[0], lim[1], lim[2], lim[3], lim[4], lim[5]) if any(lim) else None
        elif kw in ("set-var", "set-var-fmt") and self.supported(S.GLOBAL, ln, kw, 0):
            from haproxy_py.samples.procvars import ProcSetError, global_set_var

            try:
                global_set_var(self.proc_vars, kw, w[1:], self.env)
            except ProcSetError as e:
                self.fail(ln, e.message, min(e.word + 1, n - 1))
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
        elif kw == "grace" and self.supported(S.GLOBAL, ln, kw, 0):
            if n < 2 or not w[1]:
                self.fail(ln, "'grace' expects <time> as argument.", 0)
            gtv = parse_time(w[1])
            if gtv.error in ("junk", "trailing"):
                self.fail(ln, f"unexpected character '{gtv.char}' in argument to <grace>.", 1)
            if gtv.error == "overflow":
                self.fail(ln, f"timer overflow in argument '{w[1]}' to <grace> (maximum value is 2147483647 ms "
                          "or ~24.8 days)", 1)
            g["grace"] = gtv.value or None
        elif kw == "strict-limits" and self.supported(S.GLOBAL, ln, kw, 0):
            g["strict_limits"] = True
        elif kw == "maxcomprate" and self.supported(S.GLOBAL, ln, kw, 0):
            if n < 2:
                self.fail(ln, "'maxcomprate' expects an integer argument in kb/s.", 0)
            v = parse_int(w[1])
            if v is None or v < 0:
                self.fail(ln, f"'maxcomprate' expects an integer argument in kb/s (got '{w[1]}'); HAProxy 2.6 would "
                          "read only its leading digits, haproxy-py refuses it.", 1, ours=True)
            g["maxcomprate"] = v or None
        elif kw in ("tune.comp.maxlevel", "maxcompcpuusage") and self.supported(S.GLOBAL, ln, kw, 0):
            lo, hi = (1, 9) if kw == "tune.comp.maxlevel" else (0, 100)
            msg = (f"'{kw}' expects a numeric value between 1 and 9" if lo else
                   f"'{kw}' expects an integer argument between 0 and 100.")
            if n < 2:
                self.fail(ln, msg, 0)
            v = parse_int(w[1])
            if v is None:
                m = re.match(r"[ \t]*[+-]?[0-9]+", w[1])
                if m is None and lo:  # 2.6's atoi reads 0: out of its range
                    self.fail(ln, msg, 0)
                self.fail(ln, f"'{kw}' expects an integer (got '{w[1]}'); HAProxy 2.6 would read only its leading "
                          "digits (none: 0), haproxy-py refuses it.", 1, ours=True)
            if not lo <= v <= hi:
                self.fail(ln, msg, 0)
            g[kw.replace(".", "_").replace("-", "_")] = v
        elif kw == "maxzlibmem" and n < 2:
            self.fail(ln, "'maxzlibmem' expects an integer argument.", 0)
        elif kw == "h1-case-adjust" and self.supported(S.GLOBAL, ln, kw, 0):
            if n < 3:
                self.fail(ln, "'h1-case-adjust' expects <from> and <to> as argument.", 0)
            if not check_pair(w[1], w[2]):
                self.fail(ln, "<from> and <to> must not differ execpt the case", 2)
            cmap = g.setdefault("h1_case", {})
            frm = w[1].encode("latin-1")
            if frm in cmap:
                self.fail(ln, f"duplicate entry '{w[1]}'", 1)
            cmap[frm] = w[2].encode("latin-1")
        elif kw == "h1-case-adjust-file" and self.supported(S.GLOBAL, ln, kw, 0):
            if n < 2:
                self.fail(ln, "'h1-case-adjust-file' expects <file> as argument.", 0)
            g["h1_case_file"] = ln  # read once the section is parsed, as 2.6 (the last one counts)
        elif kw in _INT_GLOBALS and self.supported(S.GLOBAL, ln, kw, 0):
            if kw in _ONCE and _c_int(str(g.get(kw.replace("-", "_").replace(".", "_")) or 0)):  # 2.6: in an int
                self.d.alert(f"parsing [{ln.file}:{ln.lineno}] : '{kw}' already specified. Continuing.",
                             ln.loc(0), line=ln.raw, fatal=False)
                return
            if n < 2:
                self.fail(ln, f"'{kw}' expects an integer argument.", 0)
            v = parse_int(w[1])
            if v is None or v < 0:
                self.fail(ln, f"'{kw}' expects an integer argument (got '{w[1]}'); HAProxy 2.6 would read only "
                          "its leading digits, haproxy-py refuses it.", 1, ours=True)
            if kw in ("tune.http.logurilen", "tune.http.cookielen", "mworker-max-reloads"):
                g[kw.replace(".", "_").replace("-", "_")] = v  # 0 keeps nothing / survives no reload
            else:
                g[kw.replace("-", "_").replace(".", "_")] = v or None
        elif kw in ("external-check", "insecure-fork-wanted") and self.supported(S.GLOBAL, ln, kw, 0):
            if n > 1:
                self.fail(ln, f"'{kw}' cannot handle unexpected argument '{w[1]}'.", 1, ours=True)
            g[kw.replace("-", "_")] = True
        elif kw in TLS.GLOBALS and self.supported(S.GLOBAL, ln, kw, 0):
            TLS.global_kw(self, ln)
        elif kw in TLS.SERVER_GLOBALS and self.supported(S.GLOBAL, ln, kw, 0):
            TLS.server_global(self, ln)
        elif kw in K.GLOBAL_KEYWORDS or kw in K.TUNE_KEYWORDS:
            if kw in _TUNE_CHECKS and S.GLOBAL.status(kw) != "refused":
                check_tune_args(self, ln)  # 2.6's checks, although the setting has no effect here
            if not self.supported(S.GLOBAL, ln, kw, 0):
                self.g_ignored.append((kw, tuple(w[1:])))
        elif kw in K.REMOVED_KEYWORDS:
            self.alert(ln, K.REMOVED_KEYWORDS[kw], 0)
        else:
            sug = did_you_mean(kw, _SUGGESTED)
            msg = f"unknown keyword '{kw}' in 'global' section"
            if sug:
                msg += f"; did you mean '{sug}' maybe ?"
            self.alert(ln, msg, 0, suggestion=sug, expected="a 'global' keyword")

    def global_env(self, ln: Line) -> None:
        """setenv/presetenv NAME VALUE, unsetenv NAME..., resetenv [KEEP...]: applied to the
        environment the following lines expand ("${NAME}"), and to the process at start."""
        w = ln.words
        env = self.env
        assert isinstance(env, dict)
        if w[0] in ("setenv", "presetenv"):
            if len(w) < 3:
                self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: '{w[0]}' expects a name and a value.", ln.loc(0),
                             line=ln.raw)
                raise _Skip
            if w[0] == "setenv" or w[1] not in env:
                env[w[1]] = w[2]
        elif w[0] == "unsetenv":
            if len(w) < 2:
                self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: 'unsetenv' expects at least one variable name.",
                             ln.loc(0), line=ln.raw)
                raise _Skip
            for name in w[1:]:
                env.pop(name, None)
        else:
            keep = set(w[1:])
            for name in [k for k in env if k not in keep]:
                del env[name]
        self.g["env_changed"] = True

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


#: how 2.6 reads the arguments of the tune.* keywords that have no effect here (they are still
#: checked, with 2.6's words): kind, then its bounds
_TUNE_CHECKS: dict[str, tuple[Any, ...]] = {
    **{k: ("int",) for k in ("tune.buffers.limit", "tune.buffers.reserve", "tune.maxpollevents", "tune.pipesize",
                             "tune.recv_enough", "tune.runqueue-depth")},
    "tune.maxaccept": ("maxaccept",),
    "tune.fail-alloc": ("range", 0, 100, "expects a numeric value between 0 and 100.", False),
    "tune.h2.header-table-size": ("range", 4096, 65536, "expects a numeric value between 4096 and 65536.", False),
    "tune.h2.max-frame-size": ("range", 16384, 16777215, "expects a numeric value between 16384 and 16777215.",
                               False),
    "tune.h2.initial-window-size": ("range", 0, 2**31, "expects a positive numeric value.", False),
    "tune.h2.max-concurrent-streams": ("range", 0, 2**31, "expects a positive numeric value.", False),
    "tune.pool-high-fd-ratio": ("range", 0, 100, "expects an integer argument between 0 and 100.", True),
    "tune.pool-low-fd-ratio": ("range", 0, 100, "expects an integer argument between 0 and 100.", True),
    "tune.peers.max-updates-at-once": ("range", 1, 2**31, "expects an integer argument greater than 0.", False),
    "tune.ssl.ssl-ctx-cache-size": ("sslctx",),
    "tune.pattern.cache-size": ("cachesize",),
    **{k: ("onoff",) for k in ("tune.idle-pool.shared", "tune.listener.multi-queue", "tune.sched.low-latency")},
    "tune.ssl.force-private-cache": ("noarg",),
    "tune.idletimer": ("idletimer",),
    "tune.fd.edge-triggered": ("experimental",),
    "tune.lua.forced-yield": ("luanum",),
    "tune.lua.maxmem": ("luamem",),
    **{k: ("luatime",) for k in ("tune.lua.session-timeout", "tune.lua.service-timeout", "tune.lua.task-timeout")},
}


#: the tune keywords 2.6 takes once (a later line is ignored with a non-fatal alert)
_ONCE = ("tune.maxaccept", "tune.maxpollevents", "tune.runqueue-depth", "tune.rcvbuf.client", "tune.rcvbuf.server",
         "tune.sndbuf.client", "tune.sndbuf.server")


def check_tune_args(b: BuilderBase, ln: Line) -> None:
    """2.6's checks of a no-effect tune.* keyword's arguments (fail with its words)."""
    w = ln.words
    kw = w[0]
    spec = _TUNE_CHECKS.get(kw)
    if spec is None:
        return
    kind = spec[0]
    arg = w[1] if len(w) > 1 else ""
    raw = f"parsing [{ln.file}:{ln.lineno}]: "
    if kind == "experimental":
        b.fail(ln, f"'{kw}' directive is experimental, must be allowed via a global "
               "'expose-experimental-directives'", 0)
    if kind == "noarg":
        b.too_many_args(ln, 0)
        return
    if kind not in ("cachesize", "luanum", "luamem", "luatime"):
        b.too_many_args(ln, 1)
    if kw in _ONCE:  # 2.6 keeps the first value (when not 0), with a non-fatal alert
        seen = b.g.setdefault("tune_once", {})
        if seen.get(kw):
            b.d.alert(f"parsing [{ln.file}:{ln.lineno}] : '{kw}' already specified. Continuing.", ln.loc(0),
                      line=ln.raw, fatal=False)
            raise _Skip
    if kind == "int":
        if not arg:
            b.fail(ln, f"'{kw}' expects an integer argument.", 0)
        if kw in _ONCE:  # (atol's value, kept in an int)
            b.g.setdefault("tune_once", {})[kw] = _c_int(arg)
    elif kind == "maxaccept":
        if not arg:
            b.fail(ln, f"'{kw}' expects an integer argument.", 0)
        m = re.match(r"[ \t\n\v\f\r]*([+-]?[0-9]+)", arg)
        v = int(m.group(1)) if m else 0
        if v < -1 or v > 2**31 - 1:
            b.fail(ln, f"'{kw}' expects -1 or an integer from 0 to INT_MAX.", 1)
        b.g.setdefault("tune_once", {})[kw] = v
    elif kind == "range":
        _, lo, hi, msg, need = spec
        if need and not arg:
            b.fail(ln, f"'{kw}' {msg}", 0)
        v = _c_int(arg)
        if not lo <= v <= hi:
            b.fail(ln, f"'{kw}' {msg}", 1)
    elif kind == "sslctx":
        if not arg:
            b.fail(ln, f"'{kw}' expects an integer argument.", 0)
        if _c_int(arg) < 0:
            b.fail(ln, f"'{kw}' expects a positive numeric value.", 1)
    elif kind == "cachesize":
        if not arg or _c_int(arg) < 0:
            b.fail(ln, f"'{kw}' expects a positive numeric value", 1)
    elif kind == "onoff":
        if arg not in ("on", "off"):
            b.fail(ln, f"'{kw}' expects either 'on' or 'off' but got '{arg}'.", 1)
    elif kind == "idletimer":
        if not arg:
            b.fail(ln, f"'{kw}' expects a timer value between 0 and 65535 ms.", 0)
        tv = parse_time(arg)
        if tv.error == "overflow":
            b.fail(ln, f"{raw}timer overflow in argument <{arg}> to <{kw}>, maximum value is 65535 ms.", 1, raw=True)
        if tv.error in ("junk", "trailing"):
            b.fail(ln, f"{raw}unexpected character '{tv.char}' in argument to <{kw}>.", 1, raw=True)
        if tv.value > 65535:
            b.fail(ln, f"'{kw}' expects a timer value between 0 and 65535 ms.", 1)
    elif kind == "luanum":
        if arg and not re.fullmatch(r"[ \t\n\v\f\r]*[+-]?[0-9]+", arg):
            b.fail(ln, f"{kw}: invalid number", 1)
    elif kind == "luamem":
        if not arg:
            b.fail(ln, f"'{kw}' expects an integer argument (Lua memory size in MB).", 0)
        m = re.match(r"[ \t\n\v\f\r]*[+-]?[0-9]*", arg)
        end = m.end() if m else 0
        if end < len(arg):
            b.fail(ln, f"{kw}: invalid number {arg} (error at '{arg[end]}')", 1)
    elif kind == "luatime":
        tv = parse_time(arg)
        if tv.error == "overflow":
            b.fail(ln, f"timer overflow in argument <{arg}> to <{kw}> (maximum value is 2147483647 ms or ~24.8 "
                   "days)", 1)
        if tv.error:
            b.fail(ln, f"{kw}: invalid timeout", 1)
