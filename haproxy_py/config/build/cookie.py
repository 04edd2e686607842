"""Persistence: the backend's 'cookie' (the server's 'cookie' is a server parameter)."""

from __future__ import annotations

from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.model import CookieConf
from haproxy_py.config.tokenizer import Line


class CookieMixin(BuilderBase):
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

    def kw_dynamic_cookie_key(self, ln: Line, p: ProxyState) -> None:
        """``dynamic-cookie-key KEY``: the secret of ``cookie ... dynamic`` (a defaults section passes
        it on); words after the first are ignored, as by 2.6."""
        if not p.is_defaults and self.capwarn(ln, p, K.BE):
            return
        if len(ln.words) < 2 or not ln.words[1]:
            self.fail(ln, "'dynamic-cookie-key' expects <secret_key> as argument.", 0)
        p.f["dyncookie_key"] = ln.words[1]

    def kw_persist(self, ln: Line, p: ProxyState) -> None:
        """``persist rdp-cookie[(NAME)]``: a TCP connection whose RDP request carries
        ``Cookie: NAME=ADDR.PORT.`` (default name msts) goes to the server at that address (2.6's
        messages; no capability check, as 2.6)."""
        w = ln.words
        if len(w) < 2 or not w[1]:
            self.fail(ln, "missing persist method.", 0)
        a = w[1]
        if not a.startswith("rdp-cookie"):
            self.fail(ln, "unknown persist method.", 1)
        bad = "persist rdp-cookie(name)' requires an rdp cookie name."
        rest = a[10:]
        if rest.startswith("("):
            self.too_many_args(ln, 1)
            end = rest.find(")", 1)
            if end <= 1:
                self.fail(ln, bad, 1)
            name = rest[1:end]
        elif not rest:
            self.too_many_args(ln, 1)
            name = "msts"
        else:
            self.fail(ln, bad, 1)
        p.f["rdp_persist"] = name
