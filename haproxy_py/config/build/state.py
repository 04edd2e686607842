"""A proxy section while it is read (ProxyState, with its defaults inheritance), and the
exception that ends a statement whose error has been reported."""

from __future__ import annotations

from typing import Any

from haproxy_py.config import keywords as K
from haproxy_py.config.model import (
    Acl,
    Bind,
    Capture,
    Condition,
    HttpRule,
    Location,
    LogTarget,
    ServerConf,
    UseBackend,
    UseServer,
)

_NAME_OK = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:")


def bad_name_char(name: str) -> str | None:
    """The first character 2.6 refuses in a proxy, ACL, userlist or group name (None: none)."""
    return next((ch for ch in name if ch not in _NAME_OK), None)


def _caps_of(kind: str) -> int:
    return {"frontend": K.FE, "backend": K.BE, "listen": K.FB, "defaults": K.FB}[kind]


class _Skip(Exception):
    """Abort the current statement (its error has been reported)."""


class ProxyState:
    """A proxy while its section is being read (mutable; frozen into ``Proxy`` at the end)."""

    def __init__(self, name: str, kind: str, loc: Location) -> None:
        self.name = name
        self.kind = kind
        self.loc = loc
        self.caps = _caps_of(kind)
        self.f: dict[str, Any] = {}
        self.timeouts: dict[str, int] = {}
        #: the timeouts of the defaults section it started from (2.6 warns when one set here again)
        self.def_timeouts: dict[str, int] = {}
        self.options: dict[str, bool] = {}
        self.binds: list[Bind] = []
        self.acls: list[Acl] = []
        self.acl_names: set[str] = set()
        self.use_backends: list[UseBackend] = []
        self.use_servers: list[UseServer] = []
        self.captures: list[Capture] = []
        self.http_rules: list[HttpRule] = []
        self.logs: list[LogTarget] = []
        self.servers: list[ServerConf] = []
        self.server_names: dict[str, int] = {}
        self.server_ids: dict[int, tuple[Location, str]] = {}
        #: (status, errorfile path | page bytes | an 'errorfiles' reference): config/build/errorfiles.py
        self.errorfiles: list[tuple[int, Any]] = []
        self.ignored: list[tuple[str, tuple[str, ...]]] = []
        self.stats: dict[str, Any] = {}
        self.stats_auth: list[tuple[str, str]] = []
        self.stats_admin: list[Condition] = []
        self.stats_scopes: list[str] = []
        self.check_rules: dict[str, Any] = {}
        self.check_headers: list[tuple[str, str]] = []
        self.check_rules_loc: Location | None = None
        self.log_style_loc: Location | None = None
        self.default_server = ServerConf(name="")
        self.mode_loc: Location | None = None
        #: the HTTP rules of the named defaults section this proxy comes from, and its ACLs
        self.defaults_rules: list[HttpRule] = []
        self.defaults_acls: list[Acl] = []
        #: a defaults section with HTTP rules: the kinds of proxy it was used for ("frontend" or
        #: "backend"; 2.6 allows one)
        self.rule_users: set[str] = set()

    @property
    def is_defaults(self) -> bool:
        return self.kind == "defaults"

    @property
    def type_str(self) -> str:
        """How 2.6 names this kind of proxy in its messages: a listen section is a 'proxy'."""
        return "proxy" if self.kind == "listen" else self.kind

    def inherit(self, d: ProxyState) -> None:
        """Copy what a ``defaults`` section gives to the proxies that follow it."""
        self.f = {k: v for k, v in d.f.items() if k not in ("disabled", "description", "explicit_id")}
        self.timeouts = dict(d.timeouts)
        self.def_timeouts = dict(d.timeouts)
        self.options = dict(d.options)
        self.logs = list(d.logs)
        self.errorfiles = list(d.errorfiles)
        self.stats = dict(d.stats)
        self.stats_auth = list(d.stats_auth)
        self.stats_scopes = list(d.stats_scopes)
        self.check_rules = dict(d.check_rules)
        self.check_headers = list(d.check_headers)
        self.check_rules_loc = d.check_rules_loc
        self.default_server = d.default_server
        self.log_style_loc = d.log_style_loc
        self.defaults_rules = list(d.http_rules)
        self.defaults_acls = list(d.acls)
