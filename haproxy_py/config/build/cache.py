"""``cache`` sections (http/cache.py stores and serves from them), with 2.6's messages: the section
line, total-max-size, max-object-size, max-age, process-vary, max-secondary-entries, the checks
made when the section ends, and the check that every cache-use / cache-store rule names a cache."""

from __future__ import annotations

from typing import Any

from haproxy_py.config.build.base import BuilderBase
from haproxy_py.config.diagnostics import PARSE, POST, WARNING, Diagnostic
from haproxy_py.config.tokenizer import Line

BLOCK = 1024
_UINT_MAX = 0xFFFFFFFF


def _c_ulong(s: str) -> int | None:
    """strtoul(s, &end, 10) with the whole word read (2.6's check); None when it is not."""
    t = s.lstrip(" \t")
    neg = t.startswith("-")
    if t[:1] in "+-" and t:
        t = t[1:]
    if not t or not t.isdigit() or t != t.strip():
        return None
    v = int(t)
    if neg:
        v = (-v) % (1 << 64)
    return v


def _atoi(s: str) -> int:
    t = s.lstrip(" \t\n\v\f\r")
    n = 0
    sign = 1
    i = 0
    if t[:1] in ("+", "-"):
        sign = -1 if t[0] == "-" else 1
        i = 1
    while i < len(t) and t[i].isdigit():
        n = n * 10 + int(t[i])
        i += 1
    return sign * n


class CacheMixin(BuilderBase):
    def _abort_warn(self, ln: Line, msg: str) -> None:
        """A warning that stops the reading (2.6's ERR_ABORT without an alert): the file is in
        error."""
        self.d.add(Diagnostic(WARNING, f"parsing [{ln.file}:{ln.lineno}]: {msg}", ln.loc(0), ln.raw, None,
                              None, True, PARSE, False))
        self.d.aborted = True

    def cache_start(self, ln: Line) -> None:
        w = ln.words
        self.cache_cur = None
        if len(w) < 2 or not w[1]:
            self.alert(ln, "'cache' expects a <name> argument", 0)
            self.d.aborted = True
            return
        if len(w) > 2:
            self.alert(ln, f"'cache' cannot handle unexpected argument '{w[2]}'.", 2)
            self.d.aborted = True
            return
        name = w[1][:32]
        if len(w[1]) > 32:
            self.d.warning(f"parsing [{ln.file}:{ln.lineno}]: cache name is limited to 32 characters, "
                           f"truncate to '{name}'.", ln.loc(1), line=ln.raw)
        if any(c.name == name for c in self.caches):
            self.d.alert(f"parsing [{ln.file}:{ln.lineno}]: Duplicate cache name '{name}'.", ln.loc(1),
                         line=ln.raw)
            self.d.aborted = True
            return
        self.cache_cur = {"name": name, "maxblocks": 0, "maxobjsz": 0, "maxage": 60, "process_vary": False,
                          "max_secondary_entries": 10, "loc": ln.loc(0)}

    def cache_kw(self, ln: Line) -> None:
        cur = self.cache_cur
        if cur is None:
            return
        w = ln.words
        kw = w[0]
        arg = w[1] if len(w) > 1 else ""
        pre = f"parsing [{ln.file}:{ln.lineno}]: "
        if kw in ("total-max-size", "max-age", "max-object-size", "process-vary", "max-secondary-entries") \
                and len(w) > 2:
            self.alert(ln, f"'{kw}' cannot handle unexpected argument '{w[2]}'.", 2)
            self.d.aborted = True
            return
        if kw == "total-max-size":
            v = _c_ulong(arg)
            if v is None:
                self._abort_warn(ln, f"total-max-size wrong value '{arg}'")
                return
            if v > (_UINT_MAX >> 20):
                self._abort_warn(ln, f"\"total-max-size\" ({arg}) must not be greater than {_UINT_MAX >> 20}")
                return
            cur["maxblocks"] = (v * (1024 * 1024 // BLOCK)) & _UINT_MAX
        elif kw == "max-age":
            if not arg:
                self.d.warning(pre + "'max-age' expects an age parameter in seconds.", ln.loc(0), line=ln.raw)
            cur["maxage"] = _atoi(arg) & _UINT_MAX
        elif kw == "max-object-size":
            if not arg:
                self.d.warning(pre + "'max-object-size' expects a maximum file size parameter in bytes.",
                               ln.loc(0), line=ln.raw)
            v = _c_ulong(arg)
            if v is None:
                self._abort_warn(ln, f"max-object-size wrong value '{arg}'")
                return
            cur["maxobjsz"] = v & _UINT_MAX
        elif kw == "process-vary":
            msg = pre + "'process-vary' expects \"on\" or \"off\" (enable or disable vary processing)."
            if not arg:
                self.d.warning(msg, ln.loc(0), line=ln.raw)
            if arg == "on":
                cur["process_vary"] = True
            elif arg == "off":
                cur["process_vary"] = False
            else:
                self.d.warning(msg, ln.loc(1 if arg else 0), line=ln.raw)
        elif kw == "max-secondary-entries":
            if not arg:
                self.d.warning(pre + "'max-secondary-entries' expects a strictly positive number.", ln.loc(0),
                               line=ln.raw)
            v = _c_ulong(arg)
            if v is None or v & _UINT_MAX == 0:
                self._abort_warn(ln, f"max-secondary-entries wrong value '{arg}'")
                return
            cur["max_secondary_entries"] = v & _UINT_MAX
        else:
            self.alert(ln, f"unknown keyword '{kw}' in 'cache' section", 0)

    def cache_end(self, ln: Line) -> None:
        from haproxy_py.config.model import CacheConf

        cur = self.cache_cur
        self.cache_cur = None
        if cur is None or self.d.aborted:  # 2.6 stopped reading: no end-of-section check
            return
        loc = cur["loc"]
        if cur["maxblocks"] <= 0:
            self.d.alert(f"Size not specified for cache '{cur['name']}'", loc, line=ln.raw)
            return
        total = cur["maxblocks"] * BLOCK
        if not cur["maxobjsz"]:
            cur["maxobjsz"] = (total & _UINT_MAX) >> 8
        elif cur["maxobjsz"] > (total & _UINT_MAX) // 2:
            self.d.alert(f"\"max-object-size\" is limited to an half of \"total-max-size\" => "
                         f"{(total & _UINT_MAX) // 2}", loc, line=ln.raw)
            return
        self.caches.append(CacheConf(**cur))

    def kw_filter(self, ln: Line, p: Any) -> None:
        """``filter cache NAME``, 2.6's explicit declaration of the cache filter its cache-use and
        cache-store rules declare implicitly (nothing else changes here: the other filters, whose
        order against it would matter, are refused)."""
        w = ln.words
        pre = f"parsing [{ln.file}:{ln.lineno}] : "
        if p.is_defaults:
            self.fail(ln, pre + "filter is not allowed in a 'default' section.", 0)
        if len(w) < 2:
            self.fail(ln, pre + f"missing argument for 'filter' in {p.type_str} '{p.name}'.", 0)
        kind = w[1]
        if kind in ("compression", "fcgi-app", "opentracing", "spoe", "trace"):
            from haproxy_py.config import support as S

            self.fail(ln, S.PROXY.refusal("filter", f"filter {kind}"), 1, ours=True)
        if kind != "cache":
            self.fail(ln, f"'filter' : unknown keyword '{kind}'. Registered keywords :\n    [CACHE] cache\n"
                          "    [COMP] compression\n    [FCGI] fcgi-app\n    [  OT] opentracing\n"
                          "    [SPOE] spoe\n    [TRACE] trace", 1)
        if len(w) < 3:
            self.fail(ln, "'filter' : 'cache : expects a <name> argument'", 1)
        if len(w) > 3:
            self.fail(ln, f"'filter cache' : unknown keyword '{w[3]}'.", 3)
        declared = p.f.setdefault("cache_filters", [])
        if w[2] in declared:
            self.fail(ln, f"'filter' : '{p.name}: multiple explicit declarations of the cache filter '{w[2]}''", 1)
        declared.append(w[2])
        self.cache_filters.append((p.name, p.kind, w[2], ln.lineno))

    def check_cache_rules(self, cfg: Any) -> None:
        """After parsing: every cache-use / cache-store rule and ``filter cache`` names a cache
        section (2.6 checks the filter each declares, once per proxy and cache name)."""
        names = {c.name for c in cfg.caches}
        for p in cfg.proxies:
            refs = [(r.loc.line, r.args[0]) for r in p.http_rules
                    if r.kind in ("http-request", "http-response") and r.action in ("cache-use", "cache-store")
                    and r.args]
            refs += [(line, n) for px, kind, n, line in self.cache_filters if px == p.name and kind == p.kind]
            seen: list[str] = []
            for _line, n in sorted(refs, key=lambda x: x[0]):
                if n not in seen:
                    seen.append(n)
            for n in seen:
                if n not in names:
                    self.d.alert(f"config: {p.type_str} '{p.name}': unable to find the cache '{n}' referenced "
                                 "by the filter 'cache'.", p.loc, phase=POST)
