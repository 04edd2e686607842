"""'capture cookie|request header|response header'."""

from __future__ import annotations

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.model import Capture
from haproxy_py.config.tokenizer import Line


class CaptureMixin(BuilderBase):
    def kw_capture(self, ln: Line, p: ProxyState) -> None:
        ignored = self.capwarn(ln, p, K.FE)
        w = ln.words
        sub = w[1] if len(w) > 1 else ""
        if sub == "cookie":
            if len(w) < 5 or w[3] != "len":
                self.fail(ln, "'capture cookie' expects <cookie_name> 'len' <len>.", 1)
            length = self.int_arg(ln, 4, "capture cookie len", lo=0)
            # 2.6 keeps at most 'tune.http.cookielen' bytes (its default 64 keeps 63)
            cap = self.g.get("tune_http_cookielen", 63)
            if length > cap:
                self.warn(ln, f"truncating capture length to {cap} bytes for {p.type_str} '{p.name}'.", 4, raw=True)
                length = cap
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
