"""'timeout NAME VALUE' in proxy sections."""

from __future__ import annotations

from haproxy_py.config import keywords as K
from haproxy_py.config import support as S
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.diagnostics import did_you_mean
from haproxy_py.config.tokenizer import Line


class TimeoutsMixin(BuilderBase):
    def kw_timeout(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        name = w[1] if len(w) > 1 else ""
        t = K.TIMEOUTS.get(name)
        if t is None:
            sug = did_you_mean(name, list(K.TIMEOUTS)) if name else None
            self.fail(ln, f"{K.TIMEOUT_LIST_MSG} (got '{name}')", 1, suggestion=sug)
        field_name, cap = t
        v = self.time_arg(ln, 2, f"'timeout {name}'")
        if len(w) > 3:
            self.fail(ln, f"'timeout {name}' : unexpected extra argument '{w[3]}' after value '{w[2]}'.", 3)
        if not p.is_defaults and not (p.caps & cap):
            what = "frontend" if cap == K.FE else "backend"
            self.warn(ln, f"'timeout {name}' will be ignored because {p.type_str} '{p.name}' has no {what} capability",
                      1)
            return
        if not p.is_defaults and (p.timeouts.get(field_name) or 0) != (p.def_timeouts.get(field_name) or 0):
            self.warn(ln, f"overwriting 'timeout {name}' which was already specified", 1)
        if not self.supported(S.TIMEOUT, ln, name, 1, f"timeout {name}"):
            return
        p.timeouts[field_name] = v
