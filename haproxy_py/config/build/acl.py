"""ACLs ('acl NAME FETCH ...', anonymous ACLs) and 'if|unless' conditions."""

from __future__ import annotations

from typing import Any

from haproxy_py.config import fetches as F
from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip, bad_name_char
from haproxy_py.config.diagnostics import did_you_mean
from haproxy_py.config.grammar import CondError, parse_condition_words, parse_fetch_expr
from haproxy_py.config.model import Acl, Condition, Term
from haproxy_py.config.tokenizer import Line


class AclMixin(BuilderBase):
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
            with self.expressions_read() as got:
                px = build_expr(expr_text, fname if fname in F.FETCHES else fdef.canonical, list(fargs) or None,
                                [(c, list(a) or None, 0) for c, a in fx.converters])
            # proxy, server, table and userlist names are resolved once every section is read
            self.note_refs(ln, first, p, got[-1:], None)
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
        while i < n and words[i].startswith("-"):
            fl = words[i]
            if fl == "--":
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
        # 2.6 warns only when nothing at all follows the fetch (a flag alone silences it)
        if len(words) == first + 1 and eff_match not in ("found", "bool") and fdef.out != "bool":
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
        if acl.fetch == "http_auth_group":  # 2.6 checks their groups after parsing, in creation order
            order = p.f.setdefault("auth_group_acls", [])
            if not name or name not in order:
                order.append(name or acl)
        return acl

    def kw_acl(self, ln: Line, p: ProxyState) -> None:
        w = ln.words
        if len(w) < 2:
            self.d.alert(self._p(ln) + "'acl' expects an ACL name.", ln.loc(0), line=ln.raw, ours=True)
            raise _Skip
        name = w[1]
        if (ch := bad_name_char(name)) is not None:
            self.fail(ln, f"character '{ch}' is not permitted in acl name '{name}'.", 1)
        self._acl_refused = False
        p.f["args_ctx"] = None
        acl = self.parse_acl(ln, p, w, 2, name, f"error detected while parsing ACL '{name}'")
        if acl is None:
            if self._acl_refused:
                p.acl_names.add(name)
            raise _Skip
        p.acls.append(acl)
        p.acl_names.add(name)

    def condition(self, ln: Line, p: ProxyState, i: int, ctx: str, lead: str | None = None) -> Condition | None:
        """Parse ``if|unless COND`` starting at word i (None when there is none). ``lead``: what
        2.6 writes before an error of the condition (default: 'error detected while parsing CTX')."""
        w = ln.words
        if lead is None:
            lead = f"error detected while parsing {ctx}"
        if i >= len(w):
            return None
        if w[i] not in ("if", "unless"):
            self.fail(ln, f"{ctx} : expects 'if' or 'unless' followed by a condition but found '{w[i]}'.", i,
                      ours=True)
        unless = w[i] == "unless"
        p.f["args_ctx"] = None  # 2.6: a condition leaves the context "ACL" (config/build/refs.py)
        try:
            groups = parse_condition_words(w, i + 1)
        except CondError as e:
            self.fail(ln, f"{lead} : {e}.", i)
        out: list[tuple[Term, ...]] = []
        for grp in groups:
            terms: list[Term] = []
            for t in grp:
                if t.anon is not None:
                    acl = self.parse_acl(ln, p, t.anon, 0, "", lead)
                    if acl is None:
                        raise _Skip
                    terms.append(Term(t.negate, None, acl))
                    continue
                assert t.name is not None  # a term is an anonymous ACL or a name
                if t.name not in p.acl_names and t.name not in F.PREDEFINED_ACLS:
                    sug = did_you_mean(t.name, list(p.acl_names) + list(F.PREDEFINED_ACLS))
                    self.fail(ln, f"{lead} : no such ACL : '{t.name}'.", t.index,
                              suggestion=sug)
                if t.name not in p.acl_names and t.name in F.PREDEFINED_ACLS:
                    from haproxy_py.registry import not_implemented
                    from haproxy_py.samples import FETCHES as SF

                    pre_fetch = F.PREDEFINED_ACLS[t.name][0]
                    if pre_fetch not in SF:  # RDP_COOKIE, REQ_CONTENT, WAIT_END: accepted means implemented
                        self.fail(ln, f"{lead} : "
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
