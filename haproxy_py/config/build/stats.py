"""The proxy 'stats' keyword (the stats page); the global 'stats' is in global_.py."""

from __future__ import annotations

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.tokenizer import Line


class StatsMixin(BuilderBase):
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
