"""A proxy's compiled rule sets: what the engine runs, built once per proxy configuration.

:func:`compile_rules` turns a model ``Proxy``'s rules (each carrying its compiled action, ``impl``)
into one list of ``(condition, action)`` per rule set, conditions compiled against the proxy's own
ACLs. An empty rule set is an empty tuple, so a proxy without rules of a set pays one falsy test.
"""

from __future__ import annotations

from typing import Any

from haproxy_py.actions.base import Action, Rule

#: model rule kind (and tcp-request sub-keyword) -> RuleSets attribute
_SLOTS = {
    "http-request": "http_req", "redirect": "redirect", "http-response": "http_res",
    "http-after-response": "http_after",
    "tcp-request connection": "tcp_conn", "tcp-request session": "tcp_sess",
    "tcp-request content": "tcp_content", "tcp-response content": "tcp_res",
}


class RuleSets:
    __slots__ = ("http_req", "redirect", "http_res", "http_after", "tcp_conn", "tcp_sess", "tcp_content",
                 "tcp_res", "inspect_delay", "stick", "persist", "tcp_content_def", "use_server",
                 "res_inspect_delay", "tcp_res_def")

    def __init__(self) -> None:
        self.http_req: tuple[Rule, ...] = ()
        #: the legacy "redirect" keyword's rules: after every http-request rule, as in 2.6
        self.redirect: tuple[Rule, ...] = ()
        self.http_res: tuple[Rule, ...] = ()
        self.http_after: tuple[Rule, ...] = ()
        self.tcp_conn: tuple[Rule, ...] = ()
        self.tcp_sess: tuple[Rule, ...] = ()
        self.tcp_content: tuple[Rule, ...] = ()
        self.tcp_res: tuple[Rule, ...] = ()
        #: tcp-request inspect-delay in ms (0: none)
        self.inspect_delay = 0
        #: stick on|match|store-* rules: (condition, haproxy_py.stick.persist.StickRule)
        self.stick: tuple[Any, ...] = ()
        #: force-persist / ignore-persist: ("F" | "I", test), the first that holds decides
        self.persist: tuple[Any, ...] = ()
        #: how many of tcp_content come from the named defaults section (they run first)
        self.tcp_content_def = 0
        #: tcp-response inspect-delay in ms (0: none)
        self.res_inspect_delay = 0
        #: how many of tcp_res come from the named defaults section (they run first)
        self.tcp_res_def = 0
        #: use-server rules: (condition, server name or the compiled format of a name with '%')
        self.use_server: tuple[tuple[Any, Any], ...] = ()


class _NoteLastRule(Action):
    """An allow/deny/tarpit rule that notes where it is when it ends its rule set."""

    __slots__ = ("inner", "where")

    def __init__(self, inner: Any, where: tuple[str, int]) -> None:
        self.inner = inner
        self.where = where

    def run(self, txn: Any) -> Any:
        v = self.inner.run(txn)
        if v.kind != "continue":
            txn.last_rule = self.where
        return v


def _impl(r: Any) -> Any:
    from haproxy_py.samples.fetches import LAST_RULE_USED

    if (LAST_RULE_USED[0] and r.kind in ("http-request", "http-response")
            and r.action in ("allow", "deny", "tarpit")):
        return _NoteLastRule(r.impl, (r.loc.file, r.loc.line))
    return r.impl


def _allows(action: Any) -> bool:
    """An allow rule (it ends the rule set with "stop")."""
    from haproxy_py.actions.http import Allow

    return isinstance(getattr(action, "inner", action), Allow)


def family_of(rule: Any) -> str:
    """The rule set a model rule belongs to ("tcp-request content", "http-response", "redirect"...)."""
    if rule.kind in ("tcp-request", "tcp-response"):
        return f"{rule.kind} {rule.action.split(' ', 1)[0]}"
    return rule.kind


def compile_rules(conf: Any) -> RuleSets:
    from haproxy_py.acl.condition import compile_acls, compile_condition

    rs = RuleSets()
    acls = None
    lists: dict[str, list[Rule]] = {}
    # the HTTP rules of the named defaults section the proxy comes from run first, with that
    # section's ACLs (2.6 evaluates them as the head of the same rule set: an allow there ends it)
    dacls = None
    ndef = 0
    for r in getattr(conf, "defaults_rules", ()):
        if r.action == "inspect-delay":  # the proxy's own one, below, replaces it
            if r.kind == "tcp-request":
                rs.inspect_delay = int(r.args[0])
            else:
                rs.res_inspect_delay = int(r.args[0])
            continue
        if family_of(r) == "tcp-request content":
            ndef += 1
        elif family_of(r) == "tcp-response content":
            rs.tcp_res_def += 1
        test = None
        if r.cond is not None:
            if dacls is None:
                dacls = compile_acls(conf.defaults_acls)
            test = compile_condition(r.cond, dacls)
        lists.setdefault(_SLOTS[family_of(r)], []).append((test, _impl(r)))
    for r in conf.http_rules:
        if r.action == "inspect-delay":
            if r.kind == "tcp-request":
                rs.inspect_delay = int(r.args[0])
            else:
                rs.res_inspect_delay = int(r.args[0])
            continue
        if r.impl is None:  # the configuration refused it; never reached by a started proxy
            raise ValueError(f"rule without an implementation: {r.kind} {r.action}")
        test = None
        if r.cond is not None:
            if acls is None:
                acls = compile_acls(conf.acls)
            test = compile_condition(r.cond, acls)
        lists.setdefault(_SLOTS[family_of(r)], []).append((test, _impl(r)))
    # 2.6.12 runs a named defaults section's tcp-request connection (session) rules only for a
    # proxy that has such rules of its own (without, it skips the whole rule set)
    for fam in ("tcp-request connection", "tcp-request session"):
        slot = _SLOTS[fam]
        if slot in lists and not any(family_of(r) == fam for r in conf.http_rules):
            del lists[slot]
    if getattr(conf, "restrict_hdr_names", "preserve") != "preserve":
        # option http-restrict-req-hdr-names: after the proxy's own http-request rules, as 2.6
        # (on the headers they left; not after a rule that answered: return, deny, redirect...),
        # also when an allow rule ended them
        from haproxy_py.actions.http import RestrictHdrNames, ThenRestrict

        check = RestrictHdrNames(conf.restrict_hdr_names == "reject")
        req = lists.setdefault("http_req", [])
        req[:] = [(t, ThenRestrict(a, check) if _allows(a) else a) for t, a in req]
        req.append((None, check))
    from haproxy_py.actions.http import STRICT_ON, STRICT_USED

    if STRICT_USED[0]:  # strict-mode is reset for each evaluation of a rule set, as 2.6 does
        for slot in ("http_req", "http_res", "http_after"):
            if slot in lists:
                lists[slot].insert(0, (None, STRICT_ON))
    for slot, rules in lists.items():
        setattr(rs, slot, tuple(rules))
    rs.tcp_content_def = ndef
    stick = []
    for cond, rule in getattr(conf, "stick_rules", ()):
        test = None
        if cond is not None:
            if acls is None:
                acls = compile_acls(conf.acls)
            test = compile_condition(cond, acls)
        stick.append((test, rule))
    rs.stick = tuple(stick)
    prst = []
    for kind, cond in getattr(conf, "persist_rules", ()):
        if acls is None:
            acls = compile_acls(conf.acls)
        prst.append(("F" if kind == "force" else "I", compile_condition(cond, acls)))
    rs.persist = tuple(prst)
    use_server = []
    for us in getattr(conf, "use_servers", ()):
        if acls is None:
            acls = compile_acls(conf.acls)
        name: Any = us.server
        if "%" in name:
            from haproxy_py.samples import compile_format

            name = compile_format(name, place="use-server")
        use_server.append((compile_condition(us.cond, acls, place="use-server"), name))
    rs.use_server = tuple(use_server)
    return rs


def persist_flag(rules: Any, txn: Any) -> str:
    """2.6's persist rules: "F" (force-persist), "I" (ignore-persist) or "" (none holds)."""
    for kind, test in rules:
        if test(txn):
            return str(kind)
    return ""
