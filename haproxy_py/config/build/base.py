"""The builder's state and shared helpers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from haproxy_py.config import keywords as K
from haproxy_py.config.build.state import ProxyState, _Skip
from haproxy_py.config.diagnostics import Diagnostics
from haproxy_py.config.grammar import parse_int, parse_time, time_warning
from haproxy_py.config.model import (
    Acl,
    Condition,
    Config,
    EmailAlert,
    ExternalCheck,
    Location,
    LogTarget,
    Program,
    Section,
    StatsSocket,
)
from haproxy_py.config.tokenizer import Line
from haproxy_py.registry import NO_EFFECT, REFUSED, Registry


class BuilderBase:
    """The builder's state and the helpers every feature uses (messages, value arguments,
    capabilities). The features are mixins of this class; ``Builder`` combines them."""

    def __init__(self, env: Mapping[str, str] | None = None, diags: Diagnostics | None = None,
                 resolve_users: bool = True, localpeer: str | None = None) -> None:
        # a copy: 'setenv' and its kin change it for the lines that follow; the engine applies the
        # result to the process at start (Global.environ), -c leaves the process alone
        self.env = dict(env if env is not None else os.environ)
        #: ``-L NAME`` (wins over the global ``localpeer``)
        self.localpeer_cli = localpeer
        self.d = diags if diags is not None else Diagnostics()
        self.resolve_users = resolve_users
        from haproxy_py.samples.patref import REFS, note_where

        REFS.reset()  # a configuration read afresh: map and ACL references of its own
        self._where = note_where
        self.g: dict[str, Any] = {}
        from haproxy_py.samples import txn as _txn

        #: the process scope's variables as the configuration leaves them (global set-var, the
        #: proc names it mentions, tune.vars.*): the engine takes it over at its start
        self.proc_vars = _txn.DECLARE[0] = _txn.ProcVars()
        self.g_logs: list[LogTarget] = []
        self.g_sockets: list[StatsSocket] = []
        self.g_ignored: list[tuple[str, tuple[str, ...]]] = []
        self.g_loc: Location | None = None
        self.proxies: list[ProxyState] = []
        self.defaults_list: list[ProxyState] = []
        self.named_defaults: dict[str, ProxyState] = {}
        self.cur_defaults: ProxyState | None = None
        self.cur: ProxyState | None = None
        self.section: str | None = None
        self.section_obj: list[Any] | None = None
        self.other_sections: list[Section] = []
        self.userlists: list[tuple[str, list[tuple[str, str, bool]]]] = []
        #: per userlist: its groups in order (name, users named by 'group ... users'), and each
        #: user's 'groups' list, with the line that declared it (checked once the section ends)
        self.userlist_groups: list[tuple[str, list[tuple[str, list[str]]], list[tuple[str, list[str]]]]] = []
        self.userlist_locs: dict[str, Location] = {}
        self.programs: list[Program] = []
        #: cache sections: the finished ones, and the one being read (its settings, or None)
        self.caches: list[Any] = []
        self.cache_cur: dict[str, Any] | None = None
        #: 'filter cache NAME' lines: (proxy, its kind, cache, line)
        self.cache_filters: list[tuple[str, str, str, int]] = []
        #: http-errors sections: name -> {status: errorfile path}, in declaration order
        self.http_errors: dict[str, dict[int, str]] = {}
        self.program_cur: dict[str, Any] = {}
        self.files: list[str] = []
        self.old_syntax = False
        self.mailers_pending: list[tuple[str, Location, Line]] = []
        #: (proxy, server) -> the server's line, for post-parse messages
        self._server_lines: dict[tuple[str, str], Line] = {}
        #: proxy/server/table/userlist names that sample arguments give, resolved once every
        #: section is read (config/build/refs.py's Ref)
        self._sample_refs: list[Any] = []
        #: set by parse_acl: the ACL just read was refused as not implemented (not invalid)
        self._acl_refused = False
        #: the number of listeners (bind lines of enabled frontends), counted by post_checks
        self.listeners = 0

    def _p(self, ln: Line) -> str:
        return f"parsing [{ln.file}:{ln.lineno}] : "

    #: a prefix whose messages lose their final dot (see ``undotted``)
    _undotted: str | None = None

    @contextlib.contextmanager
    def undotted(self, prefix: str) -> Iterator[None]:
        """Messages starting with ``prefix`` are written without their final dot meanwhile (2.6's
        tcp rule parser prints its condition's errors as they are, the HTTP one adds a dot)."""
        old, self._undotted = self._undotted, prefix
        try:
            yield
        finally:
            self._undotted = old

    def alert(self, ln: Line, msg: str, i: int = 0, *, expected: str | None = None,
              suggestion: str | None = None, raw: bool = False, ours: bool = False) -> None:
        if self._undotted and msg.startswith(self._undotted) and not ours:
            msg = msg.removesuffix(".")
        text = msg if raw else self._p(ln) + msg
        self.d.alert(text, ln.loc(i), line=ln.raw, expected=expected, suggestion=suggestion, ours=ours)

    def warn(self, ln: Line, msg: str, i: int = 0, *, raw: bool = False, expected: str | None = None) -> None:
        text = msg if raw else self._p(ln) + msg
        self.d.warning(text, ln.loc(i), line=ln.raw, expected=expected)

    def fail(self, ln: Line, msg: str, i: int = 0, **kw: Any) -> NoReturn:
        self.alert(ln, msg, i, **kw)
        raise _Skip

    def keyword_modifier(self, ln: Line, allowed: tuple[str, ...]) -> Line | None:
        """A line starting with 'no' or 'default' as 2.6 reads it: its alert unless the keyword
        after it is one of ``allowed``, then the line without the modifier ('no': its last word
        emptied, 'default': its last word repeated, as 2.6 shifts its words). None: 'default'
        alone, alerted about here (2.6 then reads 'default' as a keyword of its own)."""
        w = ln.words
        if len(w) < 2 or w[1] not in allowed:
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: negation/default currently supported only for options, "
                         "log, busy-polling, set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.",
                         ln.loc(0), line=ln.raw)
        if len(w) < 2:
            if w[0] == "no":
                return Line([""], ln.cols[:1], ln.file, ln.lineno, ln.raw)
            return None
        if w[0] == "no":
            return Line(w[1:], ln.cols[1:], ln.file, ln.lineno, ln.raw)
        return Line(w[1:] + w[-1:], ln.cols[1:] + ln.cols[-1:], ln.file, ln.lineno, ln.raw)

    def too_many_args(self, ln: Line, n: int, first: int = 0) -> None:
        """2.6's check that a keyword (``first`` + 1 words, e.g. 'option x') has at most ``n``
        arguments."""
        w = ln.words
        if len(w) > first + 1 + n:
            self.fail(ln, f"'{' '.join(w[:first + 1])}' cannot handle unexpected argument '{w[first + 1 + n]}'.",
                      first + 1 + n)

    def supported(self, reg: Registry, ln: Line, name: str, i: int, shown: str | None = None) -> bool:
        """Accepted means implemented: False (after a notice) for a no-effect setting; an alert and
        _Skip for a name HAProxy 2.6 knows that haproxy-py does not implement; True otherwise."""
        st = reg.status(name)
        if st == REFUSED:
            self.fail(ln, reg.refusal(name, shown), i, ours=True)
        if st == NO_EFFECT:
            self.d.notice(self._p(ln) + reg.notice(name, shown), ln.loc(i), line=ln.raw, ours=True)
            return False
        return True

    def time_arg(self, ln: Line, i: int, what: str, *, style: str = "in") -> int:
        """A time argument at word i; reports HAProxy's messages."""
        w = ln.words
        if i >= len(w) or w[i] == "":
            self.fail(ln, f"{what} expects an integer value (in milliseconds)", i)
        text = w[i]
        tv = parse_time(text)
        if tv.error == "junk":
            if style == "to":
                self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: unexpected character '{tv.char}' in "
                             f"argument to <{what}>.", ln.loc(i), line=ln.raw,
                             expected="a number optionally followed by us, ms, s, m, h or d")
                raise _Skip
            self.fail(ln, f"unexpected character '{tv.char}' in {what}", i,
                      expected="a number optionally followed by us, ms, s, m, h or d")
        if tv.error == "overflow":
            self.fail(ln, f"timer overflow in argument '{text}' to {what} (maximum value is 2147483647 ms "
                      "or ~24.8 days)", i)
        if tv.error == "trailing":
            self.d.warning(time_warning(text, tv.char), ln.loc(i), line=ln.raw)
        return tv.value

    def int_arg(self, ln: Line, i: int, what: str, *, lo: int | None = None, hi: int | None = None,
                missing: str | None = None) -> int:
        w = ln.words
        if i >= len(w):
            self.fail(ln, missing or f"'{what}' expects an integer argument.", i)
        v = parse_int(w[i])
        if v is None:
            self.fail(ln, f"'{what}' expects an integer argument (got '{w[i]}'); HAProxy 2.6 would "
                      "silently take it as 0, haproxy-py refuses it.", i, ours=True, expected="an integer")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(ln, f"'{what}' : value {v} out of range [{lo}..{hi}].", i, ours=True)
        return v

    def capwarn(self, ln: Line, p: ProxyState, need: int, name: str | None = None, extra: str = "") -> bool:
        """HAProxy's warnifnotcap: True if the keyword must be ignored."""
        if p.caps & need:
            return False
        what = "frontend" if need == K.FE else "backend"
        self.warn(ln, f"'{name or ln.words[0]}' ignored because {p.type_str} '{p.name}' has no {what} "
                  f"capability.{extra}", 0)
        return True

    if TYPE_CHECKING:  # what one feature calls in another (each defined in its mixin)
        def global_kw(self, ln: Line) -> None: ...
        def proxy_kw(self, ln: Line, p: ProxyState) -> None: ...
        def option(self, ln: Line, p: ProxyState, i: int, negate: bool) -> None: ...
        def _opt_cap(self, ln: Line, p: ProxyState, i: int, cap: int) -> bool: ...
        def do_bind(self, ln: Line, p: ProxyState, offset: int = 0) -> None: ...
        def parse_log(self, ln: Line, in_global: bool = False) -> LogTarget: ...
        def condition(self, ln: Line, p: ProxyState, i: int, ctx: str,
                      lead: str | None = None) -> Condition | None: ...
        def parse_acl(self, ln: Line, p: ProxyState, words: list[str], first: int, name: str,
                      ctx: str) -> Acl | None: ...
        def post_checks(self, cfg: Config) -> None: ...
        def expressions_read(self) -> contextlib.AbstractContextManager[list[Any]]: ...
        def note_refs(self, at: Line | Location, col: int, p: Any, exprs: list[Any], ctx: str | None,
                      step: str | None = None, lineno: int | None = None) -> None: ...
        def rule_ctx(self, p: ProxyState, family: str, action: str) -> str | None: ...
        def check_sample_refs(self, cfg: Config, only: str) -> None: ...
        def check_log_format(self, p: ProxyState) -> None: ...
        def check_unique_id(self, p: ProxyState) -> None: ...
        def check_tables(self, cfg: Config) -> None: ...
        def post_external_checks(self, cfg: Config) -> None: ...
        def post_email_alerts(self, cfg: Config) -> set[str]: ...
        def email_alert_of(self, ps: ProxyState) -> EmailAlert | None: ...
        def external_check_of(self, ps: ProxyState) -> ExternalCheck | None: ...
        def http_errors_section(self, ln: Line, name: str) -> bool: ...
        def http_errors_kw(self, ln: Line, name: str) -> None: ...
        def resolve_errorfiles(self, ps: ProxyState) -> tuple[tuple[int, Any], ...]: ...
        def check_capture_ids(self, ps: ProxyState) -> None: ...
