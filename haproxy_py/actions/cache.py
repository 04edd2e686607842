"""``http-request cache-use NAME`` and ``http-response cache-store NAME`` (http/cache.py decides,
the engine serves a hit and feeds a stored response's body)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from haproxy_py.actions.base import V_CONTINUE, Action, ActionError, ParseCtx, TrailingWords, Verdict
from haproxy_py.http import cache as hcache


def _name(args: Sequence[str], ctx: ParseCtx) -> str:
    if not args or not args[0] or args[0] in ("if", "unless"):
        raise ActionError(f"error detected in {ctx.proxy_kind} '{ctx.proxy_name}' while parsing "
                          f"'{ctx.family} {ctx.action}' rule : expects a cache name.", -1, ours=False)
    if len(args) > 1:
        raise TrailingWords("", 1)
    return args[0]


class CacheUse(Action):
    """The request's key (kept for cache-store), then a lookup: a live entry is served instead of
    a server's response (the engine reads ``txn.cache_hit``); the rules go on either way."""

    __slots__ = ("name", "proxy")

    def __init__(self, name: str, proxy: str) -> None:
        self.name = name
        #: the proxy whose rule this is: its frontend or backend side counts the lookup
        self.proxy = proxy

    def run(self, txn: Any) -> Verdict:
        c = hcache.CACHES.by_name.get(self.name)
        if c is None:
            return V_CONTINUE
        req = txn.req
        key = txn.cache_key = hcache.primary_key(req.uri, req.headers)
        if key is None:
            return V_CONTINUE
        lookup, store = hcache.request_flags(req.method, req.http11, req.headers)
        if not store:
            txn.cache_nostore = True
        if not lookup:
            return V_CONTINUE
        e, txn.cache_sec = c.lookup(key, int(txn.wall), req.headers)
        if e is not None:
            txn.cache_hit = (c, e)
        counts = txn.cache_counts
        if counts is None:
            counts = txn.cache_counts = []
        counts.append((self.proxy, e is not None))
        return V_CONTINUE


class CacheStore(Action):
    """The response head's verdict: a response to store is left for the engine in
    ``txn.cache_store`` (cache, entry fields) until its body has come."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, txn: Any) -> Verdict:
        c = hcache.CACHES.by_name.get(self.name)
        if c is None or txn.cache_hit is not None:  # never a response the cache itself gave
            return V_CONTINUE
        req = txn.req
        res = txn.res
        now = int(txn.wall)
        cl = res.content_length if res.body == 1 else (0 if res.body == 0 else -1)
        head = hcache.stored_size(res.version, res.reason, res.headers, 0) - hcache.ENTRY_OVERHEAD
        d = hcache.store_decision(c, txn.cache_key, req.method, req.http11, res.status, res.headers, head,
                                  cl, now, storable=not txn.cache_nostore, sec=txn.cache_sec)
        if d is None:
            return V_CONTINUE
        if res.has(b"age"):
            res.remove(b"age")
        txn.cache_store = (c, d, now, list(res.headers))
        return V_CONTINUE


def p_cache_use(args: Sequence[str], ctx: ParseCtx) -> Action:
    return CacheUse(_name(args, ctx), ctx.proxy_name)


def p_cache_store(args: Sequence[str], ctx: ParseCtx) -> Action:
    return CacheStore(_name(args, ctx))
