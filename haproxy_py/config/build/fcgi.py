"""``fcgi-app`` sections, ``use-fcgi-app`` and ``proto fcgi`` (engine/fcgi.py speaks FastCGI to
such servers), with 2.6's messages: the section line, docroot, index, path-info, set-param,
pass-header, the options, and the checks made after parsing (an app without docroot, a backend
using an unknown app, an app without FastCGI server, a FastCGI server without app, non-HTTP mode)."""

from __future__ import annotations

import re
from typing import Any

from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, bad_name_char
from haproxy_py.config.diagnostics import POST, WARNING, Diagnostic
from haproxy_py.config.tokenizer import Line
from haproxy_py.registry import not_implemented


class FcgiMixin(BuilderBase):
    def _fp(self, ln: Line) -> str:
        return f"parsing [{ln.file}:{ln.lineno}]: "

    def fcgi_start(self, ln: Line) -> None:
        w = ln.words
        self.fcgi_cur: dict[str, Any] | None = None
        apps: list[dict[str, Any]] = self.__dict__.setdefault("fcgi_apps", [])
        if len(w) < 2 or not w[1]:
            self.alert(ln, self._fp(ln) + "'fcgi-app' expects <name> as argument.", 0, raw=True)
            return
        if len(w) > 2:
            self.alert(ln, f"'fcgi-app' cannot handle unexpected argument '{w[2]}'.", 2)
            return
        prev = next((a for a in apps if a["name"] == w[1]), None)
        if prev is not None:
            loc = prev["loc"]
            self.d.alert(f"Parsing [{ln.file}:{ln.lineno}]: fcgi-app section '{w[1]}' has the same name as another "
                         f"one declared at {loc.file}:{loc.line}.", ln.loc(1), line=ln.raw)
            return
        # the section's ACLs and conditions are read as a backend's (2.6 evaluates them on the
        # backend's request, after its http-request rules)
        st = ProxyState(w[1], "backend", ln.loc(0))
        self.fcgi_cur = {"name": w[1], "docroot": "", "index": "", "path_info": None, "set_params": [],
                         "pass_headers": [], "keep_conn": True, "get_values": False, "loc": ln.loc(0), "st": st}
        apps.append(self.fcgi_cur)

    def fcgi_kw(self, ln: Line) -> None:
        cur = getattr(self, "fcgi_cur", None)
        if cur is None:
            return
        w = ln.words
        kw = w[0]
        n = len(w)
        if kw in ("docroot", "index"):
            if n < 2:
                what = "<path>" if kw == "docroot" else "<filename>"
                self.alert(ln, f"'{kw}' expects {what} as argument.", 0)
                return
            if n > 2:
                self.alert(ln, f"'{kw} {w[1]}' cannot handle unexpected argument '{w[2]}'.", 2)
                return
            cur[kw] = w[1]
        elif kw == "path-info":
            if n < 2:
                self.alert(ln, "'path-info' expects <regex> as argument.", 0)
                return
            if n > 2:
                self.alert(ln, f"'path-info {w[1]}' cannot handle unexpected argument '{w[2]}'.", 2)
                return
            try:
                re.compile(w[1].encode("latin-1", "replace"))
            except re.error as e:
                self.alert(ln, f"'{w[1]}' : regex '{w[1]}' is invalid (error={e.msg}, erroffset={e.pos}).", 1,
                           ours=True)
                return
            cur["path_info"] = w[1]
        elif kw in ("set-param", "pass-header"):
            need = 3 if kw == "set-param" else 2
            if n < need:
                self.alert(ln, "'set-param' expects <name> and <value> as arguments." if kw == "set-param"
                           else "'pass-header' expects <name> as arguments.", 0)
                return
            cond = None
            if n > need:
                if w[need] not in ("if", "unless"):
                    self.alert(ln, f"'{w[1]}' : (null).", need)  # 2.6 has no message of its own here
                    return
                if n == need + 1:  # 'if' alone: 2.6 reads a condition of no term (never true)
                    from haproxy_py.config.model import Condition

                    cond = Condition(w[need] == "unless", (), ln.loc(need))
                else:
                    cond = self.condition(ln, cur["st"], need, f"'{kw}' condition", lead=f"'{w[1]}'")
            if kw == "set-param":
                from haproxy_py.samples import compile_format

                try:
                    compile_format(w[2])
                except Exception as e:  # noqa: BLE001 - the format's own message
                    # 2.6 reads the format after parsing, for each backend using the app
                    cur.setdefault("bad_formats", []).append((str(e).rstrip("."), ln.loc(2)))
                    return
                cur["set_params"].append((w[1], w[2], cond))
            else:
                cur["pass_headers"].append((w[1], cond))
        elif kw == "option" or (kw == "no" and n > 1 and w[1] == "option"):
            neg = kw == "no"
            ow = w[2:] if neg else w[1:]
            name = ow[0] if ow else ""
            if name == "keep-conn":
                cur["keep_conn"] = not neg
            elif name == "max-reqs":
                if neg:
                    self.alert(ln, self._fp(ln) + "negation/default is not supported for option "
                               "'max-reqs'.", 1, raw=True)
                    return
                if len(ow) < 2:
                    self.alert(ln, self._fp(ln) + "option 'max-reqs' expects an integer argument.", 1, raw=True)
                    return
                try:
                    v = int(ow[1])
                except ValueError:
                    v = 0
                if v <= 0:
                    self.alert(ln, self._fp(ln) + "option 'max-reqs' expects a strictly positive integer argument.",
                               2, raw=True)
                    return
                cur["max_reqs"] = v  # 2.6 refuses it after parsing without mpxs-conns (check_fcgi)
            elif name == "get-values":
                cur["get_values"] = not neg
            elif name == "mpxs-conns":
                # with max-reqs 1 (its default) 2.6 sends one request at a time on a connection, as
                # without it; several at once (max-reqs above 1) is refused after parsing
                cur["mpxs"] = None if neg else ln.loc(1)
            else:
                self.alert(ln, f"unknown option '{name}'.", 1 + neg)
        elif kw == "log-stderr":
            if n < 2:
                self.alert(ln, "log-stderr : expects <address> and <facility> or global as arguments", 0)
                return
            if w[1:] == ["global"]:
                cur["log_stderr"] = True  # the error output goes to the global log targets, tagged with the app's name
                return
            self.alert(ln, not_implemented("'log-stderr' with targets of its own", "'log-stderr global'"),
                       1, ours=True)
        elif kw == "acl":
            st = cur["st"]
            name = w[1] if n > 1 else ""
            if (ch := bad_name_char(name)) is not None:
                self.alert(ln, f"character '{ch}' is not permitted in acl name '{name}'.", 1)
                return
            if name.lower() == "or":
                self.alert(ln, f"acl name '{name}' will never match. 'or' is used to express a logical "
                           "disjunction within a condition.", 1)
                return
            self._acl_refused = False
            acl = self.parse_acl(ln, st, w, 2, name, f"error detected while parsing ACL '{name}'")
            if acl is None:
                if self._acl_refused:
                    st.acl_names.add(name)
                return
            st.acls.append(acl)
            st.acl_names.add(name)
        else:
            self.alert(ln, self._fp(ln) + f"unknown keyword '{kw}' in 'fcgi-app' section", 0, raw=True)

    def fcgi_end(self, ln: Line) -> None:
        self.fcgi_cur = None

    def kw_use_fcgi_app(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if p.is_defaults or not p.caps & 2:  # K.BE
            self.fail(ln, "'use-fcgi-app' only available in backend or listen section", 0)
        if len(w) < 2:
            self.fail(ln, "'use-fcgi-app' expects <name> as argument", 0)
        p.f["fcgi_app"] = w[1]
        p.f["fcgi_app_loc"] = ln.loc(1)

    def fcgi_models(self) -> tuple[Any, ...]:
        from haproxy_py.config.model import FcgiAppConf

        out = []
        for a in self.__dict__.get("fcgi_apps", []):
            out.append(FcgiAppConf(name=a["name"], docroot=a["docroot"], index=a["index"], path_info=a["path_info"],
                                   set_params=tuple(a["set_params"]), pass_headers=tuple(a["pass_headers"]),
                                   acls=tuple(a["st"].acls), keep_conn=a["keep_conn"],
                                   get_values=a["get_values"], log_stderr=a.get("log_stderr", False),
                                   loc=a["loc"]))
        return tuple(out)

    def check_fcgi(self, cfg: Any) -> None:
        """2.6's checks after parsing."""
        d = self.d
        apps = {a.name: a for a in cfg.fcgi_apps}
        for a in cfg.fcgi_apps:
            if not a.docroot:
                d.alert(f"fcgi-app '{a.name}': no docroot configured.", a.loc, phase=POST)
        for a in self.__dict__.get("fcgi_apps", []):
            if a.get("max_reqs", 0) > 1 and a.get("mpxs") is not None:
                d.alert(not_implemented("'option mpxs-conns' with 'option max-reqs' above 1 (several requests at "
                                        "once on a FastCGI connection)",
                                        "max-reqs 1: one request at a time per connection"),
                        a["mpxs"], phase=POST, ours=True)
            elif a.get("max_reqs", 0) > 1 and not a["get_values"] and a.get("mpxs") is None:
                # a warning that fails the configuration, as 2.6
                d.add(Diagnostic(WARNING, f"fcgi-app '{a['name']}': multiplexing not supported, ignore the option "
                                 "'max-reqs'.", a["loc"], None, None, None, True, POST, False))
        for px in cfg.proxies:
            name = px.fcgi_app
            fsrv = [s for s in px.servers if s.proto == "fcgi"]
            if name is None:
                for s in fsrv:
                    d.alert(f"proxy '{px.name}': FCGI server '{s.name}' has no FCGI app configured.", px.loc,
                            phase=POST)
                continue
            if name not in apps:
                d.alert(f"proxy '{px.name}' : fcgi-app '{name}' not found.", px.loc, phase=POST)
                continue
            if px.mode != "http":
                for s in fsrv:
                    d.alert(f"backend '{px.name}' : MUX protocol 'fcgi' is not usable for server '{s.name}' at "
                            f"[{s.loc.file}:{s.loc.line}].", px.loc, phase=POST)
                d.alert(f"proxy '{px.name}': FCGI application cannot be used in non-HTTP mode.", px.loc, phase=POST)
                continue
            if not fsrv:
                d.alert(f"proxy '{px.name}': FCGI app configured but no FCGI server found.", px.loc, phase=POST)
                continue
            for a in self.__dict__.get("fcgi_apps", []):
                if a["name"] == name:
                    for msg, loc in a.get("bad_formats", ())[:1]:
                        d.alert(f"proxy '{px.name}' : {msg}.", loc, phase=POST)
