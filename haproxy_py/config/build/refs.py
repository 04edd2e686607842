"""The names sample expressions give in their arguments (a backend in ``nbsrv(b)``, a server in
``srv_is_up(b/s)``, a table in ``table_cnt(t)`` or ``src,table_gpc0(t)``, a userlist in
``http_auth(L)``), resolved once every section is read, with 2.6's messages.

2.6 records each such argument with a context word for its messages ("ACL keyword", or "sample
fetch keyword ... in http-request expression", "... in log-format string", ...). The context of
a rule is the proxy's current one: most rule parsers set their own before reading their
expressions, a few (set-src/dst, the HTTP captures, HTTP track-sc) keep the one left by the
line before, a condition leaves "ACL", a capture leaves "capture rule". Reproduced here so that
the messages read the same. A proxy with one unresolved name gets one alert, a proxy with
several gets one alert listing them ("multiple argument resolution errors:").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, NamedTuple

from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.build.state import ProxyState
from haproxy_py.config.diagnostics import POST
from haproxy_py.config.model import Config, Location
from haproxy_py.config.tokenizer import Line

#: the context a rule family's parser sets before reading its expressions
_FAMILY_CTX = {
    "http-request": "http-request expression",
    "http-response": "http-response response",
    "http-after-response": "http-response response",
    "tcp-request connection": "tcp-request connection expression",
    "tcp-request session": "tcp-request session expression",
    "tcp-request content": "tcp-request content expression",
    "tcp-response content": "tcp-response content expression",
}
#: actions whose parser sets no context of its own, per rule family (the line before's is used)
_INHERIT = {
    "http-request": ("set-src", "set-dst", "set-src-port", "set-dst-port", "capture", "track-sc"),
    "http-response": ("capture", "track-sc"),
    "tcp-request connection": ("set-src", "set-dst", "set-src-port", "set-dst-port"),
    "tcp-request session": ("set-src", "set-dst", "set-src-port", "set-dst-port"),
    "tcp-request content": ("set-src", "set-dst", "set-src-port", "set-dst-port"),
}
#: after-parse contexts of the expressions compiled once the sections are read, in 2.6's order
POST_STEPS = ("use_backend", "use-server", "balance", "log-format", "unique-id-format")
_POST_CTX = {"use_backend": "use_backend expression", "use-server": "use-server or balance expression",
             "balance": "use-server or balance expression", "log-format": "log-format string",
             "unique-id-format": "unique-id-format string"}
_ARG_KINDS = ("backend", "frontend", "server", "user list")
class Ref(NamedTuple):
    """A name a sample argument gives, waiting to be resolved."""

    order: tuple[int, int]  # (0, 0) read with its line; (1, step) compiled after the sections
    seq: int
    file: str
    line: int  # the line 2.6 names
    loc: Location | None
    raw: str | None
    kind: str  # backend | frontend | server | user list | table
    word: str
    argn: int
    fetch: str
    conv: str | None  # the converter that names a table, None for the fetch's own argument
    proxy: str
    ctx: str | None  # the context word, None for "ACL keyword"


class RefsMixin(BuilderBase):
    @contextlib.contextmanager
    def expressions_read(self) -> Iterator[list[Any]]:
        """Collect the expressions checked inside the block (nested blocks keep theirs)."""
        from haproxy_py.samples import expr as E

        saved, E.BUILT = E.BUILT, []
        got = E.BUILT
        try:
            yield got
        finally:
            E.BUILT = saved

    def rule_ctx(self, p: ProxyState, family: str, action: str) -> str | None:
        """The context of the expressions of ``family action`` (and the proxy's context after)."""
        inherit = _INHERIT.get(family, ())
        if family.startswith("tcp-request") and action.startswith("track-sc"):
            ctx: str | None = "tracking rule"
        elif family == "tcp-request content" and action == "capture":
            ctx = "capture rule"
        elif action in inherit or (action.startswith("track-sc") and "track-sc" in inherit):
            return p.f.get("args_ctx")
        elif action == "redirect" and family in ("http-request", "http-response"):
            ctx = "redirect format string"
        else:
            ctx = _FAMILY_CTX.get(family)
        p.f["args_ctx"] = ctx
        return ctx

    def note_refs(self, at: Line | Location, col: int, p: ProxyState | Any, exprs: list[Any], ctx: str | None,
                  step: str | None = None, lineno: int | None = None) -> None:
        """Record the names ``exprs`` give (``at``: the line, or the location, of the text;
        ``ctx``: the context word, None for "ACL keyword"; ``step``: one of POST_STEPS for an
        expression compiled after the sections are read; ``lineno``: the line 2.6 names)."""
        order = (1, POST_STEPS.index(step)) if step else (0, 0)
        if isinstance(at, Line):
            file, line, loc, raw = at.file, at.lineno, at.loc(col), at.raw
        else:
            file, line, loc, raw = at.file, at.line, at, None
        base = Ref(order, len(self._sample_refs), file, line if lineno is None else lineno, loc, raw,
                   "", "", 0, "", None, p.name, ctx)

        def add(kind: str, word: str, argn: int, fetch: str, conv: str | None) -> None:
            self._sample_refs.append(base._replace(seq=len(self._sample_refs), kind=kind, word=word, argn=argn,
                                                   fetch=fetch, conv=conv))

        for px in exprs:
            fname, words = px.fetch_word
            for ai, (spec, word) in enumerate(zip(px.fetch.args, words, strict=False)):
                if spec.type in _ARG_KINDS and word:
                    add(spec.type, word, ai + 1, fname, None)
            for ai, spec in enumerate(px.fetch.args):  # a stick table: the proxy's own when left out,
                if spec.type == "table":  # except for sc*_ fetches (the tracked one's, known at run time)
                    word = words[ai] if ai < len(words) and words[ai] else "" if fname.startswith("sc") else p.name
                    if word:
                        add("table", word, ai + 1, fname, None)
            for cdef, cargs, _cst in px.convs:  # a converter's table (table_gpc0(t), in_table(t))
                for ai, spec in enumerate(cdef.args):
                    if spec.type == "table" and ai < len(cargs) and cargs[ai]:
                        add("table", str(cargs[ai]), ai + 1, fname, cdef.name)

    def check_sample_refs(self, cfg: Config, only: str) -> None:
        """Resolve the names recorded in the proxy ``only``: 2.6's messages, one alert."""
        proxies = {p.name: p for p in cfg.proxies}
        userlists = {n for n, _ in cfg.userlists}
        found: list[tuple[str, Location | None, str | None]] = []
        for r in sorted((r for r in self._sample_refs if r.proxy == only), key=lambda r: (r.order, r.seq)):
            msg = self._unresolved(proxies, userlists, only, r.kind, r.word, r.argn, r.fetch, r.conv, r.ctx)
            if msg is not None:
                found.append((f"parsing [{r.file}:{r.line}]: {msg}", r.loc, r.raw))
        if len(found) == 1:
            text, loc, raw = found[0]
            self.d.alert(text, loc, line=raw, phase=POST)
        elif found:
            text = "multiple argument resolution errors:" + "".join(f"\n        {t}" for t, _, _ in found)
            self.d.alert(text, found[0][1], line=found[0][2], phase=POST)

    @staticmethod
    def _unresolved(proxies: dict[str, Any], userlists: set[str], pname: str, kind: str, word: str, argn: int,
                    kw: str, conv: str | None, ctx: str | None) -> str | None:
        if conv is not None:
            of = (f"arg {argn} of conversion keyword '{conv}' for "
                  + (f"ACL keyword '{kw}'" if ctx is None else f"sample fetch keyword '{kw}' in {ctx}"))
        else:
            of = f"arg {argn} of " + (f"ACL keyword '{kw}'" if ctx is None else f"sample fetch keyword '{kw}' in {ctx}")
        where = f"referenced in {of} in proxy '{pname}'."
        if kind == "user list":
            return None if word in userlists else f"unable to find userlist '{word}' {where}"
        if kind == "table":
            px = proxies.get(word)
            return None if px is not None and px.stick_table is not None else f"unable to find table '{word}' {where}"
        if kind == "server":
            bname, _, sname = word.rpartition("/")
            bname = bname or pname
            be = proxies.get(bname)
            if be is None:
                return f"unable to find proxy '{bname}' {where}"
            if not any(s.name == sname for s in be.servers):
                return f"unable to find server '{sname}' in proxy '{bname}', {where}"
            return None
        px = proxies.get(word)
        if px is None or not (px.has_be if kind == "backend" else px.has_fe):
            return f"unable to find {kind} '{word}' {where}"
        return None
