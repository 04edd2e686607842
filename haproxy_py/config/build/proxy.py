"""Proxy sections: the keyword dispatcher (``proxy_kw`` -> ``kw_NAME``) and the simple
one-value keywords (mode, disabled, id, maxconn, retries, dispatch, http-reuse...)."""

from __future__ import annotations

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.diagnostics import did_you_mean
from haproxy_py.config.grammar import AddressError, parse_address, parse_int
from haproxy_py.config.tokenizer import Line, expand_address_env

#: proxy keywords 2.6 refuses with more arguments ("'KW' cannot handle unexpected argument")
_MAX_ARGS = {"mode": 1, "retries": 1, "maxconn": 1, "fullconn": 1, "id": 1, "dispatch": 1, "backlog": 1}

#: the keywords 2.6 offers for a misspelt proxy keyword (not 'grace', 'orig-addr' nor the 'no' prefix)
_SUGGESTED = [k for k in K.PROXY_KEYWORDS if k not in ("grace", "orig-addr", "no")] + \
    [k for k in ("monitor-net", "listen", "frontend", "backend", "defaults", "appsession", "max-session-srv-conns",
                 "block", "usesrc") if k not in K.PROXY_KEYWORDS]


#: keywords whose capability 2.6 checks before it counts their arguments, with its extra hint
#: (proxy_kw says the warning; their handlers then only test the capability)
_CAP_EXTRA = {"maxconn": " Maybe you want 'fullconn' instead ?", "fullconn": " Maybe you want 'maxconn' instead ?",
              "backlog": "", "retries": "", "dispatch": ""}


class ProxyMixin(BuilderBase):
    def _default_option(self, ln: Line, p: ProxyState) -> None:
        """``default option NAME`` (read as 2.6 reads it: ``option NAME NAME``): the on/off options
        and the connection modes get their argument count error; 2.6 takes 'redispatch' (which
        it turns off, whatever the defaults said) and refuses the others."""
        w = ln.words
        name = w[1]
        if name in K.FLAG_OPTIONS or name in K.REMOVED_OPTIONS or name in ("httpclose", "http-server-close",
                                                                            "http-keep-alive"):
            self.option(ln, p, 1, negate=False)
            return
        if name == "redispatch":  # 2.6 clears the option (and its 'no'): no redispatch here
            if self._opt_cap(ln, p, 1, K.BE):
                p.f["redispatch"] = 0
            return
        self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: negation/default is not supported for option '{name}'.",
                     ln.loc(1), line=ln.raw)

    def proxy_kw(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        kw = w[0]
        if kw in ("no", "default") and not (kw == "no" and len(w) > 1 and w[1] in ("option", "log")):
            shifted = self.keyword_modifier(ln, ("option", "log"))
            if shifted is not None:  # (None: 'default' alone, an unknown keyword below)
                if kw == "default" and shifted.words[0] == "option":
                    self._default_option(shifted, p)
                    return
                ln, w, kw = shifted, shifted.words, shifted.words[0]
                if kw in ("no", "default"):  # 2.6 takes one modifier: the second is a keyword
                    self.fail(ln, f"unknown keyword '{kw}' in '{p.kind}' section"
                              + ("; did you mean 'defaults' maybe ?" if kw == "default" else ""), 0)
        if kw != "default_backend":  # the line 2.6 names for maps of some post-parse expressions
            p.f["args_line"] = ln.lineno
        if kw == "monitor-net":  # 2.6 quotes the network given
            self.fail(ln, "'monitor-net' doesn't exist anymore. Please use 'http-request return status 200 if "
                      f"{{ src {w[1] if len(w) > 1 else ''} }}' instead.", 0)
        if kw in K.REMOVED_KEYWORDS:
            self.fail(ln, K.REMOVED_KEYWORDS[kw], 0)
        if kw not in K.PROXY_KEYWORDS:
            sug = did_you_mean(kw, _SUGGESTED)
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
        if kw in _MAX_ARGS:
            if not p.is_defaults and kw in _CAP_EXTRA:  # 2.6 warns before it counts the arguments
                self.capwarn(ln, p, K.PROXY_KEYWORDS[kw], extra=_CAP_EXTRA[kw])
            self.too_many_args(ln, _MAX_ARGS[kw])
        handler(ln, p)

    def kw_load_server_state_from_file(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults:
            self.capwarn(ln, p, K.BE)  # 2.6 warns, then still reads the line
        arg = ln.words[1] if len(ln.words) > 1 else ""
        if arg not in ("global", "local", "none"):
            self.fail(ln, "'load-server-state-from-file' expects 'global', 'local' or 'none'. Got "
                      f"'{arg}'", 1)
        if arg != "global":
            self.fail(ln, S.PROXY.refusal("load-server-state-from-file", f"load-server-state-from-file {arg}")
                      + " haproxy-py applies the global 'server-state-file' to every backend", 1, ours=True)

    def kw_mode(self, ln: Line, p: ProxyState) -> None:
        m = ln.words[1] if len(ln.words) > 1 else ""
        if m not in ("tcp", "http", "health"):
            self.fail(ln, f"unknown proxy mode '{m}'.", 1, expected="'tcp' or 'http'")
        p.f["mode"] = m
        p.mode_loc = ln.loc(0)

    def kw_disabled(self, ln: Line, p: ProxyState) -> None:
        self.too_many_args(ln, 0)
        p.f["disabled"] = True

    def kw_enabled(self, ln: Line, p: ProxyState) -> None:
        self.too_many_args(ln, 0)
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
                self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: {p.type_str} {p.name} reuses same custom id as "
                             f"{other.kind} {other.name} (declared at {other.loc.file}:{other.loc.line}).",
                             ln.loc(1), line=ln.raw)
                raise _Skip
        p.f["explicit_id"] = v

    def kw_maxconn(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and not p.caps & K.FE:  # warned by proxy_kw; 2.6 then reads any value
            if len(ln.words) < 2:
                self.fail(ln, "'maxconn' expects an integer argument.", 0)
            return
        p.f["maxconn"] = self.int_arg(ln, 1, "maxconn", lo=0)

    def kw_backlog(self, ln: Line, p: ProxyState) -> None:
        """``backlog N``: the listen() backlog of the proxy's binds without their own."""
        if not p.is_defaults and not p.caps & K.FE:  # warned by proxy_kw; 2.6 then reads any value
            if len(ln.words) < 2:
                self.fail(ln, "'backlog' expects an integer argument.", 0)
            return
        p.f["backlog"] = self.int_arg(ln, 1, "backlog", lo=0, hi=2**31 - 1)

    def kw_fullconn(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and not p.caps & K.BE:  # warned by proxy_kw; 2.6 then reads any value
            if len(ln.words) < 2:
                self.fail(ln, "'fullconn' expects an integer argument.", 0)
            return
        p.f["fullconn"] = self.int_arg(ln, 1, "fullconn", lo=0)

    def kw_retries(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and not p.caps & K.BE:  # warned by proxy_kw; 2.6 then reads any value
            if len(ln.words) < 2:
                self.fail(ln, "'retries' expects an integer argument (dispatch counts for one).", 0)
            return
        p.f["retries"] = self.int_arg(ln, 1, "retries", lo=0,
                                      missing="'retries' expects an integer argument (dispatch counts for one).")

    def kw_http_send_name_header(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults:
            self.capwarn(ln, p, K.BE)  # 2.6 warns, then still reads the line
        if len(ln.words) < 2:
            self.fail(ln, "'http-send-name-header' requires a header string.", 0)
        p.f["http_send_name_header"] = ln.words[1]

    def kw_dispatch(self, ln: Line, p: ProxyState) -> None:
        # without a backend side proxy_kw has warned; 2.6 still reads the line
        text = expand_address_env(ln.words[1], self.env) if len(ln.words) > 1 else ""
        if not text:  # a missing address is an empty one, for 2.6
            self.fail(ln, f"'dispatch' : '{ln.words[1] if len(ln.words) > 1 else ''}' resolves to an empty "
                      "address (environment variable missing?)\n", 1)
        try:
            addr, _ = parse_address(text, need_port=True)
        except AddressError as e:
            self.fail(ln, f"'dispatch' : {e.message}", 1)
        p.f["dispatch"] = addr

    def kw_max_keep_alive_queue(self, ln: Line, p: ProxyState) -> None:
        """``max-keep-alive-queue N`` (prefer-last-server's limit), read as 2.6: strtol base 0,
        words after the first ignored, stored + 1 (-1: no limit)."""
        from haproxy_py.config.build.sockopts import _c_strtol

        w = ln.words
        if len(w) < 2 or not w[1]:
            self.fail(ln, "'max-keep-alive-queue' expects expects an integer value (or -1 to disable)", 0)
        val, rest = _c_strtol(w[1])
        if rest:
            self.fail(ln, f"'max-keep-alive-queue' : unexpected character '{rest[0]}' in integer value '{w[1]}'", 1)
        if not p.caps & K.BE:
            self.warn(ln, f"max-keep-alive-queue will be ignored because {p.type_str} '{p.name}' has no "
                      "backend capability", 0)
        p.f["max_ka_queue"] = (val + 1) & 0xFFFFFFFF

    def kw_http_reuse(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults:
            self.capwarn(ln, p, K.BE)  # 2.6 warns, then still reads the line
        w = ln.words
        if len(w) < 2 or w[1] not in ("never", "safe", "aggressive", "always"):
            self.fail(ln, "'http-reuse' only supports 'never', 'safe', 'aggressive', 'always'.", 1)
        if len(w) > 2:
            self.fail(ln, f"'http-reuse {w[1]}' cannot handle unexpected argument '{w[2]}'.", 2)
        p.f["http_reuse"] = w[1]
