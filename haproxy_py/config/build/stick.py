"""Stick tables: 'stick-table' (parsed by :mod:`haproxy_py.stick.config`), and the checks once
every section is read (track-sc's tables; several workers)."""

from __future__ import annotations

from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.diagnostics import POST
from haproxy_py.config.tokenizer import Line
from haproxy_py.stick.config import StickConfError, parse_stick_table


class StickMixin(BuilderBase):
    def kw_stick_table(self, ln: Line, p: ProxyState) -> None:
        kw_stick_table(self, ln, p)

    def check_tables(self, cfg: Any) -> None:
        check_tables(self, cfg)

    def kw_force_persist(self, ln: Line, p: ProxyState) -> None:
        self._persist_rule(ln, p, "force")

    def kw_ignore_persist(self, ln: Line, p: ProxyState) -> None:
        self._persist_rule(ln, p, "ignore")

    def _persist_rule(self, ln: Line, p: ProxyState, kind: str) -> None:
        """``force-persist|ignore-persist if|unless COND`` (2.6's persist_rules, in order: the
        first whose condition holds decides)."""
        if self.capwarn(ln, p, K.BE):
            return
        w = ln.words
        if len(w) < 3 or w[1] not in ("if", "unless"):
            self.fail(ln, f"'{w[0]}' requires either 'if' or 'unless' followed by a condition.", 0)
        cond = self.condition(ln, p, 1, f"'{w[0]}' rule")
        p.f.setdefault("persist_rules", []).append((kind, cond))

    def kw_stick(self, ln: Line, p: ProxyState) -> None:
        """``stick on|match|store-request|store-response <expr> [table <t>] [if|unless <cond>]``."""
        from haproxy_py.samples import SampleError, compile_expr
        from haproxy_py.samples.core import needs
        from haproxy_py.samples.expr import parse_expr
        from haproxy_py.stick.persist import StickRule

        if self.capwarn(ln, p, K.BE):
            return
        w = ln.words
        kind = w[1] if len(w) > 1 else ""
        if kind not in ("on", "match", "store-request", "store-response"):
            self.fail(ln, "'stick' expects 'on', 'match', or 'store'.", min(1, len(w) - 1))
        if len(w) < 3 or not w[2]:
            self.fail(ln, "'stick' expects a fetch method.", 1)
        try:
            with self.expressions_read() as got:
                expr = compile_expr(w[2])
            self.note_refs(ln, 2, p, got[:1], "stick rule")
            p.f["args_ctx"] = "stick rule"
        except SampleError as e:
            msg = e.message[:-1] if e.message.endswith(".") else e.message  # 2.6 says it without
            self.fail(ln, f"'stick': {msg}", 2)
        fd = parse_expr(w[2]).fetch
        when = "for 'store-response'" if kind == "store-response" else "during request"
        if not fd.usable_in("stick-store" if kind == "store-response" else "stick"):
            self.fail(ln, f"'stick': fetch method '{fd.name}' extracts information from '{needs(fd)}', none of "
                      f"which is available {when}.", 2)
        table = p.name
        j = 3
        if j < len(w) and w[j] == "table":
            table = w[j + 1] if j + 1 < len(w) else ""
            j += 2
        if j < len(w) and w[j] not in ("if", "unless"):
            self.fail(ln, f"'stick': unknown keyword '{w[j]}'.", j)
        cond = self.condition(ln, p, j, "a 'stick' rule") if j < len(w) else None
        out = got[0].out if got else "any"
        p.f.setdefault("stick_rules", []).append((cond, StickRule(kind, expr, table, out)))
        p.f.setdefault("stick_rules_loc", ln.loc(0))


def kw_stick_table(b: Any, ln: Any, p: Any) -> None:
    """``stick-table ...`` in a frontend, backend or listen (``b`` the builder, ``p`` the proxy)."""
    if p.f.get("stick_table") is not None:
        b.fail(ln, "stick-table: only one stick-table per proxy is allowed.", 0, ours=True)
    try:
        conf, warnings = parse_stick_table(list(ln.words), p.name)
    except StickConfError as e:
        b.fail(ln, e.message, min(e.index, len(ln.words) - 1), ours=e.ours)
    for msg, i in warnings:
        b.warn(ln, msg, i)
    p.f["stick_table"] = conf
    p.f["stick_table_loc"] = ln.loc(0)


#: the sample type a table's keys are made of
_KEY_TYPES = {"ip": "ipv4", "ipv6": "ipv6", "integer": "sint", "string": "str", "binary": "bin"}


def check_tables(b: Any, cfg: Any) -> None:
    """After parsing: every table a rule names exists; tables replicated by peers with several
    worker processes are refused (the workers share tables among themselves only)."""
    from haproxy_py.actions.stick import StickAction
    from haproxy_py.samples.types import can_cast
    from haproxy_py.stick.peersconf import tables as peers_tables
    from haproxy_py.stick.track import Track

    tables = {p.name: p.stick_table for p in cfg.proxies if p.stick_table is not None}
    for conf in peers_tables(cfg.other_sections):
        tables[conf.name] = conf
    known = {s.name for s in cfg.other_sections if s.kind == "peers"}
    for p in cfg.proxies:
        if p.stick_table is not None and p.stick_table.peers is not None and p.stick_table.peers not in known:
            b.d.alert(f"Proxy '{p.name}': unable to find sync peers '{p.stick_table.peers}'.", p.loc)
    for p in cfg.proxies:  # proxy by proxy as 2.6: its track-sc and stick rules, then its names
        for r in p.http_rules:
            impl = getattr(r, "impl", None)
            if isinstance(impl, StickAction) and isinstance(impl.impl, Track) and impl.impl.table not in tables:
                b.d.alert(f"Proxy '{p.name}': unable to find table '{impl.impl.table}' referenced by "
                          f"track-sc{impl.impl.idx}.", r.loc, phase=POST)
        for _cond, rule in p.stick_rules:
            if rule.table not in tables:
                b.d.alert(f"Proxy '{p.name}': unable to find stick-table '{rule.table}'.", p.loc, phase=POST)
            elif not any(can_cast(t, _KEY_TYPES.get(tables[rule.table].type, "any"))
                         for t in (("ipv4", "ipv6") if rule.out == "addr" else (rule.out,))):
                b.d.alert(f"Proxy '{p.name}': type of fetch not usable with type of stick-table '{rule.table}'.",
                          p.loc, phase=POST)
        b.check_sample_refs(cfg, p.name)
