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
        """``cookie NAME [options]`` with 2.6's checks: the options are read even where the section
        has no backend side (2.6 warns, then still parses and refuses bad ones); several mode words
        are combined, then refused when incompatible."""
        ignored = not p.is_defaults and self.capwarn(ln, p, K.BE)
        w = ln.words
        if len(w) < 2 or not w[1]:
            self.fail(ln, "'cookie' expects <cookie_name> as argument.", 0)
        c: dict[str, Any] = {"name": w[1]}
        modes: list[str] = []
        domains: list[str] = []
        attrs: list[str] = []
        at = f"parsing [{ln.file}:{ln.lineno}]: "  # 2.6's own spacing for these messages
        j = 2
        while j < len(w):
            a = w[j]
            value = w[j + 1] if j + 1 < len(w) else ""
            if a in ("rewrite", "insert", "prefix"):
                modes.append(a)
            elif a in ("indirect", "nocache", "postonly", "preserve", "httponly", "secure", "dynamic"):
                if a == "dynamic" and not p.is_defaults:  # 2.6 checks the capability again for this one
                    self.capwarn(ln, p, K.BE, name="dynamic")
                c[a] = True
            elif a == "domain":
                if not value:
                    self.fail(ln, at + "'domain' expects <domain> as argument.", j, raw=True)
                if "." not in value:
                    self.warn(ln, at + f"domain '{value}' contains no embedded dot, this configuration may not "
                              "work properly (see RFC6265#5.2.3).", j + 1, raw=True)
                bad = next((ch for ch in value if not (ch.isascii() and (ch.isalnum() or ch in "_.-"))), None)
                if bad is not None:
                    self.fail(ln, at + f"character '{bad}' is not permitted in domain name '{value}'.", j + 1,
                              raw=True)
                domains.append(value)
                j += 1
            elif a == "attr":
                if not value:
                    self.fail(ln, at + "'attr' expects <value> as argument.", j, raw=True)
                bad = next((ch for ch in value if ord(ch) < 0x20 or ord(ch) == 0x7F or ch == ";"), None)
                if bad is not None:
                    self.fail(ln, at + f"character '%x{ord(bad):02X}' is not permitted in attribute value.", j + 1,
                              raw=True)
                attrs.append(value)
                j += 1
            elif a in ("maxidle", "maxlife"):
                if not value:
                    what = "idletime" if a == "maxidle" else "lifetime"
                    self.fail(ln, at + f"'{a}' expects <{what}> in seconds as argument.", j, raw=True)
                ms = self.time_arg(ln, j + 1, a, style="to")
                c[a] = (ms + 999) // 1000
                j += 1
            else:
                self.fail(ln, "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', "
                          "'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.", j)
            j += 1
        kinds = set(modes)
        bad_mix = False
        if "rewrite" in kinds and c.get("indirect"):
            self.alert(ln, "cookie 'rewrite' and 'indirect' modes are incompatible.", 1)
            bad_mix = True
        if len(kinds) > 1:
            self.alert(ln, "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.", 1)
            bad_mix = True
        if c.get("preserve") and "insert" not in kinds and not c.get("indirect"):
            self.fail(ln, "cookie 'preserve' requires at least 'insert' or 'indirect'.", 1)
        if ignored and not bad_mix:
            p.f["cookie_name_only"] = True  # 2.6 keeps the name (its TCP-mode warning names it)
        if bad_mix or ignored:
            return
        if modes:
            c["mode"] = modes[0]
        c["domains"] = tuple(domains)
        c["attrs"] = tuple(attrs)
        p.f["cookie"] = CookieConf(**c)

    def kw_dynamic_cookie_key(self, ln: Line, p: ProxyState) -> None:
        """``dynamic-cookie-key KEY``: the secret of ``cookie ... dynamic`` (a defaults section passes
        it on); words after the first are ignored, as by 2.6."""
        if not p.is_defaults:
            self.capwarn(ln, p, K.BE)  # 2.6 warns, then still reads the line
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
