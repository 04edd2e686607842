"""Stickiness (``stick on|match|store-request|store-response``) as 2.6 applies it. Pure.

On the request, once the backend is known (2.6's sticking rules, before a server is chosen), the
rules run in order: a ``match`` (or ``on``) rule whose key is in its table designates the server
that entry names (by ``server_key`` name, else ``server_id``), if that server is not stopped, or
``option persist`` / ``force-persist`` hold: only the first such server is taken, later matching
entries are only touched. A ``store-request`` (or ``on``) rule remembers its key (the first rule
per table only, at most 8). When the response comes (2.6's store rules), the ``store-response``
rules add theirs (again the first per table), then every remembered key is written with the
server that served the request (``server_id`` and ``server_key``), unless it is ``non-stick``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .table import StickTable

__all__ = ["StickRule", "match", "store", "MAX_STORES"]

MAX_STORES = 8


class StickRule:
    __slots__ = ("kind", "expr", "table", "out")

    def __init__(self, kind: str, expr: Callable[[Any], Any], table: str, out: str = "any") -> None:
        #: on | match | store-request | store-response
        self.kind = kind
        self.expr = expr
        self.table = table
        #: the expression's output type (checked against the table's key type after parsing)
        self.out = out

    @property
    def matches(self) -> bool:
        return self.kind in ("on", "match")

    @property
    def stores_request(self) -> bool:
        return self.kind in ("on", "store-request")


Rule = tuple[Callable[[Any], bool] | None, StickRule]


def _key(rule: StickRule, t: StickTable, txn: Any) -> Any:
    smp = rule.expr(txn)
    if smp is None:
        return None
    return t.key_of(smp.value)


def _server_of(t: StickTable, e: Any, backend: Any) -> Any:
    i = t.slot.get("server_key")
    name = e.d[i] if i is not None else None
    if name is not None and t.conf.srvkey == "name":
        return backend.by_name.get(name)
    if name is not None and t.conf.srvkey == "addr":
        for s in backend.servers:
            if f"{s.host}:{s.port}" == name:
                return s
        return None
    sid = t.value(e, "server_id", 0)
    for s in backend.servers:
        if s.puid == sid:
            return s
    return None


def match(rules: Sequence[Rule], txn: Any, tables: Any, backend: Any, now: int, *,
          force: bool = False) -> tuple[Any, list[tuple[StickTable, Any]]]:
    """The request side: (the server a matching entry designates or None, the keys to store)."""
    chosen = None
    stores: list[tuple[StickTable, Any]] = []
    persist = backend.persist or force
    for test, r in rules:
        if r.kind == "store-response":
            continue
        t = tables.get(r.table)
        if t is None:
            continue
        if r.stores_request and any(st is t for st, _ in stores):
            continue
        if test is not None and not test(txn):
            continue
        key = _key(r, t, txn)
        if key is None:
            continue
        if r.matches:
            e = t.lookup(key, now)
            if e is not None:
                if chosen is None:
                    srv = _server_of(t, e, backend)
                    if srv is not None and (srv.state != "STOPPED" and not srv.in_maint or persist):
                        chosen = srv
                t.touch(e, now)
        if r.stores_request and len(stores) < MAX_STORES:
            stores.append((t, key))
    return chosen, stores


def non_stick(conf: Any) -> bool:
    """The server's ``non-stick`` (the last of non-stick/stick on its line or default-server)."""
    v = False
    for k, _ in getattr(conf, "extra", ()):
        if k == "non-stick":
            v = True
        elif k == "stick":
            v = False
    return v


def store(rules: Sequence[Rule], txn: Any, tables: Any, stores: list[tuple[StickTable, Any]], server: Any,
          now: int) -> None:
    """The response side: the store-response keys, then every key, written with ``server``."""
    nreq = len(stores)
    for test, r in rules:
        if r.kind != "store-response":
            continue
        t = tables.get(r.table)
        if t is None or any(st is t for st, _ in stores[nreq:]):
            continue
        if test is not None and not test(txn):
            continue
        key = _key(r, t, txn)
        if key is not None and len(stores) < MAX_STORES:
            stores.append((t, key))
    if server is None or non_stick(server.conf):
        return
    for t, key in stores:
        e = t.get(key, now)
        if e is None:
            continue
        i = t.slot.get("server_id")
        if i is not None:
            e.d[i] = server.puid
        j = t.slot.get("server_key")
        if j is not None:
            e.d[j] = server.name if t.conf.srvkey == "name" else f"{server.host}:{server.port}"
        t.touch(e, now)
