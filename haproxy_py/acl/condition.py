"""Conditions (``if``/``unless``) compiled into one callable ``(ctx) -> bool`` (sans-IO).

:func:`compile_acls` turns a proxy's ``acl`` lines into ``name -> evaluator`` (several lines with
the same name are ORed); :func:`compile_condition` combines them with a model ``Condition``
(OR of ANDs of possibly negated terms, anonymous ``{ ... }`` ACLs compiled in place).  Names not
declared in the proxy fall back to HAProxy's predefined ACLs (TRUE, FALSE, HTTP, METH_GET, ...);
an unknown name raises :class:`AclError` at compile time.

Every fetch and converter comes from the sample registry (:mod:`haproxy_py.samples`), with its
arguments checked at compile time; a fetch haproxy-py does not implement raises
:class:`AclError` (the configuration refuses it before). Patterns come from the line and from
``-f FILE`` (one pattern per line; blank lines and lines starting with ``#`` are skipped, the
line is trimmed, as 2.6).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from ..config.model import Acl, Condition
from ..samples import FETCHES, Sample, SampleError, build_expr, compile_values
from ..samples.expr import _phase_guard
from ..samples.patref import REFS, Entry, Index, PatRef, _inc_of, beg_index, ip_index, parse_net, str_index
from ..samples.types import MissingData, caster, to_text
from .fetch import DEFAULT_MATCH, RequestContext, resolve
from .fetch import DERIVED as _DERIVED
from .match import compile_matcher, dotted_patterns

__all__ = ["AclError", "PREDEFINED", "CompiledAcls", "compile_acl", "compile_acls", "compile_condition",
           "read_pattern_file"]

Evaluator = Callable[[RequestContext], bool]


class AclError(ValueError):
    """A condition or ACL that cannot be compiled (unknown ACL name, bad pattern). ``reason``:
    the message without the ACL's name (2.6's words, for the configuration's report)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


def _acl(fetch: str, *patterns: str, match: str | None = None, args: tuple[str, ...] = ()) -> Acl:
    return Acl(name="", fetch=fetch, fetch_args=args, match=match, patterns=patterns)


#: HAProxy 2.6 predefined ACLs (those over fetches haproxy-py implements)
PREDEFINED: dict[str, Acl] = {
    "TRUE": _acl("always_true"),
    "FALSE": _acl("always_false"),
    "HTTP": _acl("req.proto_http"),
    "HTTP_1.0": _acl("req.ver", "1.0"),
    "HTTP_1.1": _acl("req.ver", "1.1"),
    "HTTP_2.0": _acl("req.ver", "2.0"),
    "HTTP_3.0": _acl("req.ver", "3.0"),
    "HTTP_CONTENT": _acl("req.hdr_val", "gt", "0", args=("content-length",)),
    "HTTP_URL_ABS": _acl("url", "^[^/:]*://", match="reg"),
    "HTTP_URL_SLASH": _acl("url", "/", match="beg"),
    "HTTP_URL_STAR": _acl("url", "*"),
    "LOCALHOST": _acl("src", "127.0.0.1/8", "::1"),
    "METH_CONNECT": _acl("method", "CONNECT"),
    "METH_DELETE": _acl("method", "DELETE"),
    "METH_GET": _acl("method", "GET", "HEAD"),
    "METH_HEAD": _acl("method", "HEAD"),
    "METH_OPTIONS": _acl("method", "OPTIONS"),
    "METH_POST": _acl("method", "POST"),
    "METH_PUT": _acl("method", "PUT"),
    "METH_TRACE": _acl("method", "TRACE"),
    "RDP_COOKIE": _acl("req.rdp_cookie_cnt", "gt", "0"),
    "REQ_CONTENT": _acl("req.len", "gt", "0"),
    "WAIT_END": _acl("wait_end"),
}


def _indexed_matcher(method: str, pats: tuple[str, ...]) -> Callable[[list[Any]], bool]:
    """A large pattern set as an index a runtime change updates in place (``.inc``)."""
    if method == "ip":
        look = ip_index([(parse_net(p), True) for p in pats])
        by_text = look.by_text  # type: ignore[attr-defined]

        def m_ip(vals: list[Any]) -> bool:
            for v in vals:
                if by_text(v if isinstance(v, bytes) else str(v).encode("latin1")):
                    return True
            return False
        m_ip.inc = look.inc  # type: ignore[attr-defined]
        return m_ip
    idx = (str_index if method == "str" else beg_index)([(p.encode("latin1"), True) for p in pats])

    def m(vals: list[Any]) -> bool:
        for v in vals:
            if idx(v if isinstance(v, bytes) else to_bytes(v)):
                return True
        return False
    m.inc = _inc_of(idx)  # type: ignore[attr-defined]
    return m


def to_bytes(v: Any) -> bytes:
    return v.encode("latin1") if isinstance(v, str) else b"%d" % v


def _one_column(path: str) -> list[tuple[str, str | None]]:
    return [(x, None) for x in read_pattern_file(path)]


def acl_refs(acl: Acl, sub: int | None = None) -> list[PatRef]:
    """The references an ACL line matches against: its ``-f`` files, then its own patterns (2.6
    creates them in this order, the line's own one even when it has no pattern)."""
    f, n = acl.loc.file, acl.loc.line
    refs = []
    for path in acl.pattern_files:
        try:
            refs.append(REFS.file_ref("acl", path, partial(_one_column, path), (f, n), acl.loc.col))
        except OSError as e:
            raise AclError(f"acl '{acl.name}': failed to open pattern file <{path}>: {e}",
                           f"failed to open pattern file <{path}>.") from None
    kw = acl.fetch
    if acl.match and f"{acl.fetch}_{acl.match}" in _DERIVED:
        kw = f"{acl.fetch}_{acl.match}"
    key = (f, n, acl.loc.col, acl.name, acl.fetch, acl.patterns)
    refs.append(REFS.line_ref(key, f"acl '{kw}' file '{f}' line {n}", list(acl.patterns), f, n, acl.loc.col,
                              sub))
    return refs


def read_pattern_file(path: str) -> list[str]:
    """The patterns of a ``-f`` file as 2.6 reads them: one per line, leading blanks skipped, the
    rest kept up to the end of line (trailing blanks are part of the pattern); empty lines and
    lines starting with ``#`` are skipped."""
    out = []
    with open(path, "rb") as f:
        for raw in f.read().decode("latin1").split("\n"):
            line = raw.lstrip(" \t").split("\r", 1)[0]
            if not line or line.startswith("#"):
                continue
            out.append(line)
    return out


#: the methods HTTP knows by name (2.6's enum); any other is compared as text
KNOWN_METHODS = frozenset((b"OPTIONS", b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"TRACE", b"CONNECT"))


def _meth_matcher(patterns: tuple[str, ...], icase: bool) -> Callable[[list[Any]], bool]:
    """2.6's method match: a pattern naming a known method (exactly, upper case) matches that
    method; any other pattern only matches an unknown method of the same text (``-i`` applies
    there). So ``method -i post`` never matches a POST, as in 2.6."""
    known = frozenset(p.encode("latin1") for p in patterns if p.encode("latin1") in KNOWN_METHODS)
    other = [p.encode("latin1") for p in patterns if p.encode("latin1") not in KNOWN_METHODS]
    if icase:
        other = [p.lower() for p in other]
    others = frozenset(other)

    def match(samples: list[Any]) -> bool:
        for m in samples:
            if m in KNOWN_METHODS:
                if m in known:
                    return True
            elif (m.lower() if icase else m) in others:
                return True
        return False

    return match


def _raw_for(method: str) -> Callable[[Sample], object]:
    """What the matcher of ``method`` compares: bytes, an int, or an address text."""
    if method in ("int", "bool"):
        def as_int(s: Sample) -> object:
            c = caster(s.type, "sint")
            return None if c is None else c(s.value)
        return as_int
    if method == "ip":
        def as_ip(s: Sample) -> object:
            if s.type in ("ipv4", "ipv6"):
                return str(s.value)
            return to_text(s.type, s.value)
        return as_ip
    if method == "bin":
        return lambda s: s.value if s.type == "bin" else to_text(s.type, s.value)
    return lambda s: to_text(s.type, s.value)


def compile_acl(acl: Acl, unknown: list[str] | None = None, sub: int | None = None) -> Evaluator:
    """One ``acl`` line -> evaluator (``sub``: its term's position when it is written in a
    condition, for the order of pattern references). An ACL on data that may still grow (the
    payload fetches, ``FetchDef.waits``) raises :class:`MissingData` when it fails before that
    data is final, as 2.6's ACL_TEST_MISS makes its rule set wait; other ACLs are not wrapped."""
    ev = _compile_acl(acl, unknown, sub)
    fdef = resolve(acl.fetch)[0]
    if fdef is None or not fdef.waits:
        return ev

    def ev_waits(ctx: RequestContext) -> bool:
        if getattr(ctx, "payload_final", True):
            return ev(ctx)
        ctx.missing = False  # type: ignore[attr-defined]
        r = ev(ctx)
        if not r and ctx.missing:  # type: ignore[attr-defined]
            raise MissingData
        return r
    return ev_waits


def _auth_groups(fdef: Any) -> Any:
    """``http_auth_group(L)`` in an ACL (2.6's auth match): the patterns are group names, compared
    with the groups of the user whose credentials are valid in L."""
    user_fn = fdef.fn

    def groups(txn: Any, args: tuple) -> list | None:
        users = user_fn(txn, args)
        if not users or txn.runtime is None:
            return None
        return [g.encode("latin1") for g in txn.runtime.user_groups(args[0], users[0].decode("latin1"))] or None
    return dataclasses.replace(fdef, fn=groups)


def _compile_acl(acl: Acl, unknown: list[str] | None = None, sub: int | None = None) -> Evaluator:
    fdef, stype, implied = resolve(acl.fetch)
    if acl.converters:  # 2.6: converters replace the keyword's implied match by their output type's
        implied = None
    name = fdef.name if fdef is not None else acl.fetch
    try:
        px = build_expr(acl.fetch, name, list(acl.fetch_args) if acl.fetch_args else None,
                        [(c, list(a) if a else None, 0) for c, a in acl.converters])
    except SampleError as e:
        if unknown is not None and fdef is None:
            unknown.append(acl.fetch)
        raise AclError(f"acl '{acl.name}': {e.message}", e.message) from None
    if name == "http_auth_group" and not acl.converters and acl.match is None:
        px.fetch = _auth_groups(px.fetch)
    values, out = compile_values(acl.fetch, px=px)
    method = acl.match or implied or DEFAULT_MATCH.get(out, "str")
    refs = acl_refs(acl, sub)
    patterns = [e.key for r in refs for e in r.current()]
    meth = out == "meth" and method == "str"
    # 2.6 reads req.ssl_ver's own patterns as dotted versions (3.1, 3.0:3.3), not as integers
    dotted = acl.fetch in ("req.ssl_ver", "req_ssl_ver") and acl.match is None and not acl.converters

    indexed = not meth and not acl.ignore_case and method in ("str", "beg", "ip")

    def build(entries: list[Entry]) -> Callable[[list[Any]], bool]:
        pats = tuple(e.key for e in entries)
        if dotted:
            pats = dotted_patterns(pats)
        if meth:
            return _meth_matcher(pats, acl.ignore_case)
        if indexed and len(pats) > 64:
            return _indexed_matcher(method, pats)
        return compile_matcher(method, pats, acl.ignore_case, acl.operator)

    def conv(k: str, v: str | None) -> tuple[Any, Any]:
        return (parse_net(k) if method == "ip" else k.encode("latin1"), True)

    def finder(entries: list[Entry], text: str) -> Entry | None:
        """``get acl``: the first exact key, the longest prefix, the most specific network."""
        b = text.encode("latin1")
        if method == "ip":
            pairs = []
            for e in entries:
                try:
                    pairs.append((parse_net(e.key), e))
                except ValueError:
                    continue
            return ip_index(pairs).by_text(b)  # type: ignore[attr-defined]
        return (str_index if method == "str" else beg_index)([(e.key.encode("latin1"), e) for e in entries])(b)

    def check(key: str, value: str | None) -> None:
        if not meth:
            compile_matcher(method, dotted_patterns((key,)) if dotted else (key,), acl.ignore_case, acl.operator)

    try:
        pairs = tuple((r, r.attach(Index(method, acl.ignore_case, acl.operator or "", build, check,
                                         method in ("str", "beg", "ip") and not acl.ignore_case,
                                         conv if indexed else None, finder if indexed else None)))
                      for r in refs)
        for r, ix in pairs:
            r.index(ix)
    except ValueError as exc:  # not ``e``: mypyc (the accelerator) would type it as the SampleError above
        raise AclError(f"acl '{acl.name}': {exc}", str(exc)) from exc
    if len(pairs) == 1:
        ref0, ix0 = pairs[0]

        def matcher(vals: list[Any]) -> bool:
            m = ix0.look if ix0.rev == ref0.rev else ref0.index(ix0)
            return bool(m(vals))
    else:
        def matcher(vals: list[Any]) -> bool:
            for r, ix in pairs:
                m = ix.look if ix.rev == r.rev else r.index(ix)
                if m(vals):
                    return True
            return False
    if method == "found":
        def ev_found(ctx: RequestContext) -> bool:
            return bool(values(ctx))
        return ev_found
    if method == "bool" and not patterns:
        raw_b = _raw_for("bool")

        def ev_bool(ctx: RequestContext) -> bool:
            smps = values(ctx)
            return smps is not None and any(bool(raw_b(s)) for s in smps)
        return ev_bool
    if not px.convs and (out in ("str", "meth") and method not in ("int", "bool", "ip", "bin")
                         or out == "sint" and method in ("int", "bool")):
        # the hot path: the fetch's own values are what the matcher compares (no Sample objects)
        ffn, fargs = _phase_guard(px), px.fetch_args

        def ev_raw(ctx: RequestContext) -> bool:
            vals = ffn(ctx, fargs)
            return bool(vals) and matcher(vals)
        return ev_raw
    raw = _raw_for(method)

    def ev(ctx: RequestContext) -> bool:
        smps = values(ctx)
        if not smps:
            return False
        vals = [v for v in map(raw, smps) if v is not None]
        return bool(vals) and matcher(vals)

    return ev


def _never(ctx: RequestContext) -> bool:
    return False


def _any_of(evs: tuple[Evaluator, ...]) -> Evaluator:
    def any_of(ctx: RequestContext) -> bool:
        return any(e(ctx) for e in evs)
    return any_of


def _all_of(evs: tuple[Evaluator, ...]) -> Evaluator:
    def all_of(ctx: RequestContext) -> bool:
        return all(e(ctx) for e in evs)
    return all_of


def _usable(acl: Acl, place: str | None) -> bool:
    """Whether ``acl``'s fetch can give a sample where the condition runs (2.6's usage places: a
    response fetch in a request rule never matches there)."""
    if place is None:
        return True
    d = FETCHES.get(acl.fetch)
    return d is None or d.usable_in(place)


class CompiledAcls:
    """A proxy's named ACLs, compiled (each line kept, so a place can drop the lines whose fetch
    cannot work there)."""

    __slots__ = ("named", "unknown_fetches", "lines", "_placed")

    def __init__(self, named: dict[str, Evaluator], unknown_fetches: list[str],
                 lines: dict[str, list[tuple[Acl, Evaluator]]] | None = None) -> None:
        self.named = named
        self.unknown_fetches = unknown_fetches
        self.lines = lines or {}
        self._placed: dict[tuple[str, str], Evaluator] = {}

    def get(self, name: str, place: str | None = None) -> Evaluator:
        if place is not None:
            return self._get_placed(name, place)
        ev = self.named.get(name)
        if ev is None:
            pre = PREDEFINED.get(name)
            if pre is None:
                raise AclError(f"no such ACL : '{name}'")
            ev = compile_acl(pre)
            self.named[name] = ev
            self.lines[name] = [(pre, ev)]
        return ev

    def _get_placed(self, name: str, place: str) -> Evaluator:
        key = (name, place)
        ev = self._placed.get(key)
        if ev is None:
            self.get(name)
            usable = tuple(e for a, e in self.lines[name] if _usable(a, place))
            if not usable:
                ev = _never
            elif len(usable) == 1:
                ev = usable[0]
            else:
                ev = _any_of(usable)
            self._placed[key] = ev
        return ev


def compile_acls(acls: Iterable[Acl]) -> CompiledAcls:
    """Named ACL lines -> :class:`CompiledAcls` (lines sharing a name are ORed, in order)."""
    groups: dict[str, list[Evaluator]] = {}
    lines: dict[str, list[tuple[Acl, Evaluator]]] = {}
    unknown: list[str] = []
    for acl in acls:
        ev = compile_acl(acl, unknown)
        groups.setdefault(acl.name, []).append(ev)
        lines.setdefault(acl.name, []).append((acl, ev))
    named: dict[str, Evaluator] = {}
    for name, evs in groups.items():
        if len(evs) == 1:
            named[name] = evs[0]
        else:
            named[name] = _any_of(tuple(evs))
    return CompiledAcls(named, unknown, lines)


def compile_condition(cond: Condition | None, acls: CompiledAcls | Iterable[Acl],
                      place: str | None = None) -> Evaluator:
    """A model ``Condition`` (or None = always true) -> one callable ``(ctx) -> bool``.

    ``place`` (a key of ``haproxy_py.samples.core.PLACES``: "http-request", "http-response",
    "tcp-request connection", "use_backend", ...) is where the condition runs: an ACL line whose
    fetch 2.6 cannot use there never matches, as in 2.6 (config/build/acl.py warns about it)."""
    if cond is None:
        return lambda ctx: True
    if not isinstance(acls, CompiledAcls):
        acls = compile_acls(acls)
    ors = []
    n_term = 0
    for and_terms in cond.any_of:
        ands = []
        for term in and_terms:
            n_term += 1
            if term.anonymous is not None:
                ev = compile_acl(term.anonymous, acls.unknown_fetches, n_term)
                if not _usable(term.anonymous, place):
                    ev = _never
            elif term.acl is not None:
                pre = PREDEFINED.get(term.acl)
                if pre is not None and cond.loc.line and not any(a.name == term.acl
                                                                 for a, _e in acls.lines.get(term.acl, ())):
                    # 2.6 gives each use of a predefined ACL a pattern reference of its own, at its line
                    pre = dataclasses.replace(pre, loc=cond.loc)
                    ev = compile_acl(pre, acls.unknown_fetches, n_term) if _usable(pre, place) else _never
                else:
                    ev = acls.get(term.acl, place)
            else:
                raise AclError("empty condition term")
            if term.negate:
                ev = (lambda e: lambda ctx: not e(ctx))(ev)
            ands.append(ev)
        if len(ands) == 1:
            ors.append(ands[0])
        else:
            ors.append(_all_of(tuple(ands)))
    if not ors:  # 'if' / 'unless' alone (tcp rules): 2.6's condition of no term fails
        result: Evaluator = lambda ctx: False  # noqa: E731
    elif len(ors) == 1:
        result = ors[0]
    else:
        t2 = tuple(ors)
        result = lambda ctx: any(e(ctx) for e in t2)  # noqa: E731
    if cond.unless:
        inner = result
        return lambda ctx: not inner(ctx)
    return result
