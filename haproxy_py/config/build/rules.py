"""Rules: http-request/http-response/http-after-response, tcp-request, redirect, and the
backend switching rules (use_backend, default_backend). Actions are parsed by haproxy_py.actions."""

from __future__ import annotations

import re
from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.diagnostics import did_you_mean
from haproxy_py.config.model import Condition, HttpRule, UseBackend, UseServer
from haproxy_py.config.tokenizer import Line

#: a fetch name at the start of a %[...] expression
_FETCH_NAME = re.compile(r"[A-Za-z0-9_.+\-]+")

class RulesMixin(BuilderBase):
    def kw_default_backend(self, ln: Line, p: ProxyState) -> None:
        if not p.is_defaults and self.capwarn(ln, p, K.FE):  # 2.6 warns, then still reads the line
            p.f["switching_in_backend"] = True  # (and checks the name after parsing)
        if len(ln.words) < 2:
            self.fail(ln, "'default_backend' expects a backend name.", 0)
        self.too_many_args(ln, 1)
        p.f["default_backend"] = ln.words[1]
        p.f["default_backend_loc"] = ln.loc(1)

    def kw_use_backend(self, ln: Line, p: ProxyState) -> None:
        if self.capwarn(ln, p, K.FE):  # 2.6 warns, then still reads the rule (and checks the name)
            p.f["switching_in_backend"] = True
        if len(ln.words) < 2:
            self.fail(ln, "'use_backend' expects a backend name.", 0)
        if len(ln.words) > 2 and ln.words[2] not in ("if", "unless"):
            self.fail(ln, f"unexpected keyword '{ln.words[2]}' after switching rule, only 'if' and 'unless' are "
                      "allowed.", 2)
        cond = self.condition(ln, p, 2, "switching rule")
        p.use_backends.append(UseBackend(ln.words[1], cond, ln.loc(1)))

    def kw_use_server(self, ln: Line, p: ProxyState) -> None:
        """``use-server NAME if|unless COND`` (2.6 reads it in a frontend too, after its warning,
        and then finds no such server)."""
        if not p.is_defaults:
            self.capwarn(ln, p, K.BE)
        w = ln.words
        if len(w) < 2:
            self.fail(ln, "'use-server' expects a server name.", 0)
        if len(w) < 3 or w[2] not in ("if", "unless"):
            self.fail(ln, "'use-server' requires either 'if' or 'unless' followed by a condition.", min(2, len(w) - 1))
        cond = self.condition(ln, p, 2, "a 'use-server' rule")
        p.use_servers.append(UseServer(w[1], cond, ln.loc(1)))

    def _action(self, ln: Line, p: ProxyState, family: str, first: int) -> tuple[str, Any, int]:
        """The action at word ``first`` of a rule of ``family``: its registry name checked, its
        arguments parsed and compiled by the action's registry entry. Returns (action word, compiled
        action, index of the first word after the arguments). Accepted means implemented: a name
        2.6 knows that haproxy-py does not implement is refused at the action's column."""
        from haproxy_py import actions as A
        from haproxy_py.actions.lf import LfError

        w = ln.words
        act = w[first]
        reg = A.REGISTRIES[family]
        name = A.lookup(family, act)
        assert name is not None
        j = first + 1
        while j < len(w) and w[j] not in ("if", "unless"):
            j += 1
        no_effect = reg.status(name) == "no-effect"
        if no_effect and name not in A.NO_EFFECT_ARGS:
            self.d.notice(self._p(ln) + reg.notice(name, act), ln.loc(first), line=ln.raw, ours=True)
            return act, A.NO_OP, j
        if name in ("expect-proxy", "expect-netscaler-cip") and family in ("tcp-request session",
                                                                          "tcp-request content"):
            # 2.6 checks the argument (the next word, even 'if'), then refuses these outside
            # tcp-request connection
            got = w[first + 1] if first + 1 < len(w) else ""
            if got != "layer4":
                self.fail(ln, f"'{family} {act}' only supports 'layer4' in {p.type_str} '{p.name}' (got '{got}')",
                          min(first + 1, len(w) - 1))
            self.fail(ln, f"'{act} layer4' is not allowed in '{family}' rules in {p.type_str} '{p.name}'", first)
        if name == "capture" and family in ("tcp-request connection", "tcp-request session"):
            # 2.6 knows the action there only to refuse it, whatever its arguments
            got = w[first + 1] if first + 1 < j else ""
            self.fail(ln, f"'capture {got}' is not allowed in '{family}' rules in {p.type_str} '{p.name}'", first)
        entry = A.ActionDef(A.NO_EFFECT_ARGS[name], A.FB) if no_effect else reg.get(name)
        if entry is None:
            self.fail(ln, reg.refusal(name, act), first, ours=True)
        if not (entry.caps & p.caps):
            where = "frontend" if entry.caps == A.FE else "backend"
            self.fail(ln, f"'{family} {act}' is not allowed because {p.type_str} '{p.name}' is not a {where}.",
                      first, ours=True)
        if name == "normalize-uri" and not any(k == "expose-experimental-directives" for k, _ in self.g_ignored):
            self.fail(ln, "'normalize-uri' action is experimental, must be allowed via a global "
                      "'expose-experimental-directives'", first)
        ctx = A.ParseCtx(family, act, p.type_str, p.name, has_cond=j < len(w))
        args_ctx = self.rule_ctx(p, family, name)
        try:
            with self.expressions_read() as built:
                takes_if = name in ("sc-set-gpt", "sc-set-gpt0", "set-var-fmt")  # their word is optional in 2.6
                try:
                    if takes_if and j == first + 1 < len(w):
                        raise A.ActionError("", -1)
                    impl = entry.parse(w[first + 1:j], ctx)
                except A.TrailingWords:
                    raise
                except A.ActionError:
                    # 2.6's actions read their words before the rule parser looks for 'if' or
                    # 'unless': an action wanting an argument takes the 'if' as its own
                    if j != first + 1 or j >= len(w):
                        raise
                    built.clear()
                    impl = entry.parse(w[j:j + 1], ctx)
                    j += 1
                    if j < len(w) and w[j] not in ("if", "unless"):
                        raise A.TrailingWords("", 1) from None
            if not p.is_defaults:
                self.note_refs(ln, first, p, built, args_ctx)
        except A.TrailingWords as e:
            k = first + 1 + e.word_index
            if family.startswith("tcp-"):
                self.fail(ln, f"'{family} {act}' only accepts 'if' or 'unless', in {p.type_str} '{p.name}' "
                          f"(got '{w[k]}')", k)
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: '{family} {act}' expects either 'if' or 'unless' "
                         f"followed by a condition but found '{w[k]}'.", ln.loc(k), line=ln.raw)
            raise _Skip from None
        except A.ActionError as e:
            col = first + 1 + e.word_index if e.word_index >= 0 else first
            msg = e.message
            pre = f"error detected in {p.type_str} '{p.name}' while parsing '{family} {act}' rule : "
            if family.startswith("tcp-") and "haproxy-py" not in msg:
                # 2.6's tcp rule parser prints an action's error as it is (the prefix and the
                # final dot are the HTTP rule parser's); its own track-sc parser names the rule
                if msg.startswith(pre) or isinstance(e, LfError):
                    msg = msg.removeprefix(pre).removesuffix(".")
                if name == "track-sc" and not msg.startswith("'"):
                    msg = f"'{family} {act}' : {msg}"
            elif isinstance(e, LfError) and not msg.startswith("error detected in "):
                msg = pre + msg
            self.fail(ln, msg, min(col, len(w) - 1), ours=e.ours)
        for msg, i in ctx.warnings:
            self.warn(ln, msg, first + 1 + i)
        if no_effect:
            self.d.notice(self._p(ln) + reg.notice(name, act), ln.loc(first), line=ln.raw, ours=True)
        if p.f.get("mode", "tcp") == "http":
            self._l6_in_formats(ln, w, first + 1, j)
        return act, impl, j

    def _l6_in_formats(self, ln: Line, w: list[str], start: int, end: int) -> None:
        """2.6 warns of each layer 6 fetch written in a log-format argument of an HTTP proxy's rule
        (it still answers: req.len in HTTP rules is its HTX size), quoting the format from it on."""
        from haproxy_py.config.fetches import FETCHES

        for k in range(start, end):
            text = w[k]
            i = text.find("%[")
            while i >= 0:
                m = _FETCH_NAME.match(text, i + 2)
                fd = FETCHES.get(m.group(0)) if m else None
                if fd is not None and fd.layer == "L6":
                    self.warn(ln, f"L6 sample fetch <{text[i + 2:]}> ignored in HTTP log-format string.", k)
                i = text.find("%[", i + 2)

    def _rule(self, ln: Line, p: ProxyState, kind: str, actions: tuple[str, ...]) -> None:
        try:
            self._http_rule(ln, p, kind)
        except _Skip:
            # 2.6 stops reading the configuration at a bad http-request/-response/-after-response
            # line (ERR_ABORT): no later line is parsed and no post-parse check runs
            self.d.aborted = True
            raise

    def _http_rule(self, ln: Line, p: ProxyState, kind: str) -> None:
        from haproxy_py import actions as A

        w = ln.words
        names = A.ORDERED[kind]
        if len(w) < 2:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: '{kind}' expects "
                         + ", ".join(f"'{a}'" for a in names) + ", but got '' (missing argument).",
                         ln.loc(0), line=ln.raw)
            raise _Skip
        act = w[1]
        if A.lookup(kind, act) is None:
            sug = did_you_mean(act, [a.replace("(*)", "") for a in names])
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: '{kind}' expects "
                         + ", ".join(f"'{a}'" for a in names) + f", but got '{act}'.", ln.loc(1),
                         line=ln.raw, suggestion=sug)
            raise _Skip
        if kind == "http-request":
            if any(r.kind == "redirect" for r in p.http_rules):
                self.warn(ln, "a 'http-request' rule placed after a 'redirect' rule will still be processed "
                          "before.", 0)
            elif p.use_backends:
                self.warn(ln, "a 'http-request' rule placed after a 'use_backend' rule will still be processed "
                          "before.", 0)
        act, impl, j = self._action(ln, p, kind, 1)
        cond = self.condition(ln, p, j, f"an '{kind} {act}' condition") if j < len(w) else None
        if act == "redirect":  # 2.6 reads a redirect's condition first, then its format
            p.f["args_ctx"] = "redirect format string"
        if act == "capture":
            p.f["args_ctx"] = "capture rule"
            self._capture_slot(ln, p, impl)
        p.http_rules.append(HttpRule(kind, act, tuple(w[2:j]), cond, ln.loc(0), impl))

    def _capture_slot(self, ln: Line, p: ProxyState, impl: Any) -> None:
        """'capture ... len N' declares a slot of the frontend: its index among the slots of its
        side ('capture request|response header', 'declare capture', these rules), in order."""
        from haproxy_py.config.model import Capture

        side = "response" if impl.response else "request"
        if impl.length > 0:
            impl.slot = sum(1 for c in p.captures if c.kind.startswith(side))
            p.captures.append(Capture(f"{side} slot", "", impl.length))
        else:
            p.f.setdefault("capture_ids", []).append((side, impl.slot, ln))

    def kw_http_request(self, ln: Line, p: ProxyState) -> None:
        self._rule(ln, p, "http-request", K.HTTP_REQUEST_ACTIONS)

    def kw_http_response(self, ln: Line, p: ProxyState) -> None:
        self._rule(ln, p, "http-response", K.HTTP_RESPONSE_ACTIONS)

    def kw_http_after_response(self, ln: Line, p: ProxyState) -> None:
        self._rule(ln, p, "http-after-response", K.HTTP_AFTER_RESPONSE_ACTIONS)

    def kw_tcp_request(self, ln: Line, p: ProxyState) -> None:

        w = ln.words
        sub = w[1] if len(w) > 1 else ""
        if p.is_defaults and not p.name and sub in ("connection", "content", "session", "inspect-delay"):
            self.fail(ln, f"tcp-request {sub} is not allowed in anonymous 'defaults' sections", 0)
        if sub == "inspect-delay":
            v = self.time_arg(ln, 2, "'tcp-request inspect-delay'")
            p.http_rules.append(HttpRule("tcp-request", "inspect-delay", (str(v),), None, ln.loc(0)))
            return
        where = "defaults section" if p.is_defaults else f"{p.type_str} '{p.name}'"
        if not sub:
            self.fail(ln, f"missing argument for 'tcp-request' in {where}", 0)
        if sub not in ("connection", "content", "session"):
            self.fail(ln, f"'tcp-request' expects 'inspect-delay', 'connection', or 'content' in {where} "
                      f"(got '{sub}')", 1)
        family = f"tcp-request {sub}"
        if sub in ("connection", "session") and not (p.caps & K.FE):
            self.fail(ln, f"tcp-request {sub} is not allowed because {p.type_str} {p.name} is not a frontend", 0)
        act = w[2] if len(w) > 2 else ""
        self._tcp_unknown_action(ln, p, family, act)
        act, impl, j = self._action(ln, p, family, 2)
        cond = self._tcp_condition(ln, p, family, act, j)
        # 2.6 warns of a misplaced rule once it is read
        if any(r.kind == "http-request" for r in p.http_rules):
            self.warn(ln, "a 'tcp-request' rule placed after an 'http-request' rule will still be processed "
                      "before.", 0)
        elif any(r.kind == "redirect" for r in p.http_rules):
            self.warn(ln, "a 'tcp-request' rule placed after a 'redirect' rule will still be processed before.", 0)
        elif p.use_backends:
            self.warn(ln, "a 'tcp-request' rule placed after a 'use_backend' rule will still be processed "
                      "before.", 0)
        elif sub in ("connection", "session") and any(
                r.kind == "tcp-request" and r.action.startswith("content ") for r in p.http_rules):
            self.warn(ln, "a 'tcp-request' rule placed after a 'tcp-request content' rule will still be "
                      "processed before.", 0)
        if act == "capture":
            p.f["args_ctx"] = "capture rule"
            self._capture_slot(ln, p, impl)
            from haproxy_py.samples.expr import parse_expr

            if parse_expr(w[3]).fetch.layer in ("L6", "L7req"):  # checked after parsing (check_capture_ids)
                p.f.setdefault("tcp_content_caps", []).append(ln)
        p.http_rules.append(HttpRule("tcp-request", f"{sub} {act}", tuple(w[3:j]), cond, ln.loc(0), impl))

    def _tcp_unknown_action(self, ln: Line, p: ProxyState, family: str, act: str) -> None:
        """2.6's error for a missing or unknown tcp rule action: the actions of the rule set, a
        suggestion among them, and (tcp-request only) an empty line after it."""
        from haproxy_py import actions as A

        if act and A.lookup(family, act) is not None:
            return
        msg = f"'{family}' expects {A.expects_list(family)} in {p.type_str} '{p.name}' (got '{act}')."
        sug = did_you_mean(act, [a.replace("(*)", "") for a in A.ORDERED[family]])
        if sug:
            msg = msg[:-1] + f". Did you mean '{sug}' maybe ?"
        self.fail(ln, msg + ("\n" if family.startswith("tcp-request") else ""), 2 if act else 1)

    def _tcp_condition(self, ln: Line, p: ProxyState, family: str, act: str, j: int) -> Condition | None:
        """A tcp rule's condition: 2.6 words its errors after the rule (no final dot) and takes
        'if' or 'unless' alone as a condition of no term (never true; 'unless': always)."""
        w = ln.words
        if j >= len(w):
            return None
        if w[j] not in ("if", "unless"):  # after an action that took the 'if' as its argument
            self.fail(ln, f"'{family} {act}' only accepts 'if' or 'unless', in {p.type_str} '{p.name}' "
                      f"(got '{w[j]}')", j)
        if j + 1 == len(w):
            return Condition(w[j] == "unless", (), ln.loc(j))
        lead = f"'{family} {act}' : error detected in {p.type_str} '{p.name}' while parsing '{w[j]}' condition"
        with self.undotted(lead):
            return self.condition(ln, p, j, f"'{family}' rule", lead)

    def kw_tcp_response(self, ln: Line, p: ProxyState) -> None:
        """2.6's syntax checks, then the action's registry (accept, reject, close run; TCP-mode
        backends only: post.py refuses them in an HTTP one)."""

        w = ln.words
        sub = w[1] if len(w) > 1 else ""
        if not sub:
            self.fail(ln, f"missing argument for 'tcp-response' in {p.type_str} '{p.name}'", 0)
        if sub not in ("inspect-delay", "content"):
            self.fail(ln, f"'tcp-response' expects 'inspect-delay' or 'content' in {p.type_str} '{p.name}' "
                      f"(got '{sub}')", 1)
        if not (p.caps & K.BE) or (p.is_defaults and not p.name):
            self.fail(ln, f"tcp-response {sub} is only allowed in 'backend' sections or 'defaults' section "
                      "with a name", 0)
        if sub == "inspect-delay":
            if len(w) < 3 or not w[2]:
                self.fail(ln, "'tcp-response inspect-delay' expects a positive delay in milliseconds, in "
                          f"{p.type_str} '{p.name}'", 1)
            v = self.time_arg(ln, 2, "'tcp-response inspect-delay'")
            p.http_rules.append(HttpRule("tcp-response", "inspect-delay", (str(v),), None, ln.loc(0)))
            return
        if sub != "content":
            self.fail(ln, f"'tcp-response' expects 'inspect-delay' or 'content' in {p.type_str} '{p.name}' "
                      f"(got '{sub}')", 1)
        family = "tcp-response content"
        act = w[2] if len(w) > 2 else ""
        self._tcp_unknown_action(ln, p, family, act)
        act, impl, j = self._action(ln, p, family, 2)
        cond = self._tcp_condition(ln, p, family, act, j)
        p.http_rules.append(HttpRule("tcp-response", f"content {act}", tuple(w[3:j]), cond, ln.loc(0), impl))

    def kw_redirect(self, ln: Line, p: ProxyState) -> None:
        from haproxy_py import actions as A
        from haproxy_py.actions.http import parse_redirect

        w = ln.words
        j = 1
        while j < len(w) and w[j] not in ("if", "unless"):
            j += 1
        try:
            impl = parse_redirect(w[1:j], A.ParseCtx("http-request", "redirect", p.type_str, p.name))
        except A.ActionError as e:
            self.fail(ln, f"error detected in {p.type_str} '{p.name}' while parsing redirect rule : {e.message}",
                      min(1 + max(e.word_index, 0), len(w) - 1), ours=e.ours)
        if p.use_backends:
            self.warn(ln, "a 'redirect' rule placed after a 'use_backend' rule will still be processed before.", 0)
        cond = self.condition(ln, p, j, "redirect rule") if j < len(w) else None
        # its own rule set: 2.6 runs the redirect rules after every http-request rule
        p.http_rules.append(HttpRule("redirect", "redirect", tuple(w[1:j]), cond, ln.loc(0), impl))
