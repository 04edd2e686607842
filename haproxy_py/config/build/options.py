"""'option NAME' and 'no option NAME': the checks every option goes through, the plain on/off options,
and an option with its own arguments is a method ``opt_NAME`` in the module of its feature (httplog and
tcplog in logs.py, httpchk and the check-type options in checks.py; redispatch, forwardfor here)."""

from __future__ import annotations

from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.diagnostics import did_you_mean
from haproxy_py.config.grammar import parse_int
from haproxy_py.config.model import ForwardFor
from haproxy_py.config.tokenizer import Line


class OptionsMixin(BuilderBase):
    def kw_no(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) >= 2 and w[1] == "log":
            if len(w) > 2:
                self.fail(ln, "log : 'no log' does not expect arguments", 2)
            p.logs.clear()
            p.f["no_log"] = True
            p.f["log_global"] = False
            return
        if len(w) >= 2 and w[1] == "option":
            self.option(ln, p, 2, negate=True)
            return
        self.fail(ln, "'no' only supports 'option' and 'log'.", 1, ours=True)

    def kw_option(self, ln: Line, p: ProxyState) -> None:
        self.option(ln, p, 1, negate=False)

    def _opt_too_many(self, ln: Line, i: int, most: int) -> None:
        """2.6's "'option NAME' cannot handle unexpected argument" (without a leading 'no')."""
        w = ln.words
        if len(w) > i + 1 + most and w[i + 1 + most]:
            self.fail(ln, f"'option {w[i]}' cannot handle unexpected argument '{w[i + 1 + most]}'.", i + 1 + most)

    def _opt_cap(self, ln: Line, p: ProxyState, i: int, cap: int) -> bool:
        """2.6's warnifnotcap: False (after the warning) when the proxy lacks the capability."""
        if p.is_defaults or p.caps & cap:
            return True
        what = "frontend" if cap == K.FE else "backend"
        self.warn(ln, f"'{ln.words[i]}' ignored because {p.type_str} '{p.name}' has no {what} capability.", i)
        return False

    def option(self, ln: Line, p: ProxyState, i: int, negate: bool) -> None:
        """2.6's order: the on/off options (argument count, capability), the removed ones, the
        HTTP connection modes and redispatch (the only others 'no' takes), then the options with
        their own parsers, each checking its capability and arguments its own way."""
        w = ln.words
        if i >= len(w) or not w[i]:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: 'option' expects an option name.", ln.loc(i - 1),
                         line=ln.raw)
            raise _Skip
        name = w[i]
        args = w[i + 1:]
        if name in K.FLAG_OPTIONS:
            self._opt_too_many(ln, i, 0)
            if not self._opt_cap(ln, p, i, K.OPTIONS[name]):
                return
        elif name in K.REMOVED_OPTIONS:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: {K.REMOVED_OPTIONS[name]}", ln.loc(i), line=ln.raw)
            raise _Skip
        elif name in ("httpclose", "http-server-close", "http-keep-alive"):
            self._opt_too_many(ln, i, 0)
            if negate:  # only cancels this mode
                if p.options.get(name):
                    p.options.pop(name)
                return
        elif name == "redispatch":
            if not self._opt_cap(ln, p, i, K.BE):
                return
        elif negate:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: negation/default is not supported for option "
                         f"'{name}'.", ln.loc(i), line=ln.raw)
            raise _Skip
        elif name not in K.OPTIONS:
            sug = did_you_mean(name, K.OPTION_SUGGESTIONS)
            self.fail(ln, f"unknown option '{name}'" + (f"; did you mean '{sug}' maybe ?" if sug else "."), i)
        elif name == "tcpka":
            self._opt_cap(ln, p, i, K.FB)
            self._opt_too_many(ln, i, 0)
        elif name in K.CHECK_TYPE_OPTIONS:
            if name != "external-check":  # (2.6 does not check its capability)
                self._opt_cap(ln, p, i, K.BE)  # 2.6 warns, and still reads the arguments
            self._opt_too_many(ln, i, K.CHECK_TYPE_OPTIONS[name])
        elif name == "http-restrict-req-hdr-names":
            if len(w) > i + 3 and w[i + 3]:
                self.fail(ln, f"'{w[0]}' cannot handle unexpected argument '{w[i + 3]}'.", i + 3)
        if not negate and not self.supported(S.OPTION, ln, name, i):
            if name in K.HTTP_ONLY_OPTIONS:  # without effect here, and still warned about in TCP mode
                p.options[name] = True
            return
        handler = getattr(self, "opt_" + name.replace("-", "_"), None)
        if handler is not None:  # an option with its own parser, in the module of its feature
            handler(ln, p, i, args, negate)
            return
        # connection modes exclude each other
        if name in ("httpclose", "http-server-close", "http-keep-alive") and not negate:
            for other in ("httpclose", "http-server-close", "http-keep-alive"):
                p.options.pop(other, None)
        p.options[name] = not negate

    def opt_redispatch(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
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

    def opt_forwardfor(self, ln: Line, p: ProxyState, i: int, args: list[str], negate: bool) -> None:
        ff: dict[str, Any] = {}
        j = 0
        while j < len(args):
            a = args[j]
            if a == "except":
                from haproxy_py.config.build.http_features import _is_net

                if j + 1 >= len(args) or not _is_net(args[j + 1]):
                    self.fail(ln, "'option forwardfor except' expects <address>[/mask] as argument.", i + 1 + j)
                ff["except_net"] = args[j + 1]
                j += 2
            elif a == "header":
                if j + 1 >= len(args) or not args[j + 1]:
                    self.fail(ln, "'option forwardfor header' expects <header_name> as argument.", i + 1 + j)
                ff["header"] = args[j + 1]
                j += 2
            elif a == "if-none":
                ff["if_none"] = True
                j += 1
            else:
                self.fail(ln, "'option forwardfor' only supports optional values: 'except', 'header' "
                          "and 'if-none'.", i + 1 + j)
        p.f["forwardfor"] = ForwardFor(**ff)

    def opt_http_restrict_req_hdr_names(self, ln: Line, p: ProxyState, i: int, args: list[str],
                                        negate: bool) -> None:
        what = "option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option."
        if not args:
            self.fail(ln, "missing parameter. " + what, i)
        if args[0] not in ("preserve", "delete", "reject"):
            self.fail(ln, f"invalid parameter '{args[0]}'. " + what, i + 1)
        self.too_many_args(ln, 2, i - 1)
        p.f["restrict_hdr_names"] = args[0]
