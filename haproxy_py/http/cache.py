"""HAProxy 2.6's small object cache (``cache`` sections, ``http-request cache-use``,
``http-response cache-store``): keys, what may be stored and served, storage bounded by
total-max-size, eviction, ``show cache``. Pure: the time is an argument (``now``, wall-clock
seconds, as 2.6's ``date.tv_sec``).

What 2.6 does, and so this module:

* the key is the SHA-1 of ``https://`` + the first Host header + the URI as written (an absolute
  URI alone), computed by cache-use for every request (an unsafe method's success removes the
  entry); no Host header: no key, nothing looked up or stored;
* a lookup only for HTTP/1.1 GET and HEAD requests without an Authorization header, without a
  ``Cache-Control`` element starting with max-age, no-cache, max-stale or min-fresh, and without
  ``Pragma: no-cache`` when no Cache-Control is there;
* a response is stored when its request was an HTTP/1.1 GET with a key, its status 200, no Vary
  header (process-vary off), no ``Pragma: no-cache``, no Cache-Control element private,
  no-cache, no-store, max-age=0, s-maxage=0 or ``no-cache="set-cookie...`` (unless a later
  ``public``), a valid positive Age not beyond its own max-age when it has one (the Age header is
  then taken out of the response), and fits max-object-size;
* its lifetime: s-maxage, else max-age, else Expires - now, else the cache's max-age, never more
  than the cache's max-age;
* served: the stored head with ``Age`` (seconds since stored + the origin's Age) added last; a
  conditional request (If-None-Match matching the ETag weakly or ``*``, else If-Modified-Since not
  before Last-Modified, else Date, else the storing time) gets the same head as a
  ``304 Not Modified`` without body; HEAD gets the head only;
* space: 1024-byte blocks; an object takes the blocks of its stored size; when the cache is full
  the least recently used (stored or served) objects make room.
"""

from __future__ import annotations

import calendar
import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from email.utils import parsedate_tz
from typing import Any

BLOCK = 1024
MAX_AGE = 2147483648
#: what 2.6 keeps per object besides the message (its cache_entry structure), in bytes
ENTRY_OVERHEAD = 136
#: per HTX block (start line, each header, end of headers, each data block): its info word
_BLK = 4
_SAFE = (b"GET", b"HEAD", b"OPTIONS", b"TRACE")

Headers = Sequence[tuple[bytes, bytes]]


def _values(headers: Headers, name: bytes) -> list[bytes]:
    """Every comma-separated element of every ``name`` header (2.6's http_find_header, full=0)."""
    out: list[bytes] = []
    for n, v in headers:
        if n.lower() == name:
            for part in v.split(b","):
                out.append(part.strip(b" \t"))
    return out


def _first(headers: Headers, name: bytes) -> bytes | None:
    for n, v in headers:
        if n.lower() == name:
            return v.strip(b" \t")
    return None


def http_date(value: bytes) -> int | None:
    """An HTTP date (IMF-fixdate, RFC 850, asctime) in seconds since the epoch, None if invalid."""
    try:
        t = parsedate_tz(value.decode("latin-1"))
    except (ValueError, IndexError):
        return None
    if t is None:
        return None
    try:
        return calendar.timegm((t[0], t[1], t[2], t[3], t[4], t[5], 0, 0, 0)) - (t[9] or 0)
    except (ValueError, OverflowError):
        return None


def primary_key(uri: bytes, headers: Headers) -> bytes | None:
    """The entry's SHA-1 (2.6's sha1_hosturi), None without a Host header for an origin-form URI."""
    if not uri:
        return None
    if uri[:1] == b"/" or uri == b"*":
        host = _first(headers, b"host")
        if host is None:
            return None
        data = b"https://" + host + uri
    else:
        data = uri
    return hashlib.sha1(data).digest()


def request_flags(method: bytes, http11: bool, headers: Headers) -> tuple[bool, bool]:
    """(whether cache-use looks the request up, whether its response may be stored): 2.6's
    TX_CACHE_IGNORE and TX_CACHEABLE after http_check_request_for_cacheability."""
    lookup = http11 and method in (b"GET", b"HEAD")
    store = True
    pragma = _first(headers, b"pragma")
    pragma_nc = pragma is not None and pragma.lower() == b"no-cache"
    for n, _v in headers:
        if n.lower() == b"authorization":
            lookup = store = False
            break
    cc_found = False
    for v in _values(headers, b"cache-control"):
        cc_found = True
        lv = v.lower()
        if lv.startswith((b"max-age", b"no-cache", b"max-stale", b"min-fresh")):
            lookup = False
        elif lv.startswith(b"no-store"):
            store = False
    if pragma_nc and not cc_found:
        lookup = False
    return lookup, store


def lookup_allowed(method: bytes, http11: bool, headers: Headers) -> bool:
    """Whether cache-use looks the request up (2.6's TX_CACHE_IGNORE left clear)."""
    return request_flags(method, http11, headers)[0]


def _cacheable_response(status: int, headers: Headers, storable: bool = True) -> bool:
    """2.6's http_check_response_for_cacheability on a GET's response (``storable``: the flags
    the request left, cacheable with cookies unless it forbade it; a ``public`` element sets them
    again): both flags still set at the end."""
    if status < 200:
        return False
    pragma = _first(headers, b"pragma")
    if pragma is not None and pragma.lower() == b"no-cache":
        return False
    cacheable = cook = storable
    fresh = False
    for v in _values(headers, b"cache-control"):
        lv = v.lower()
        if lv == b"public":
            cacheable = cook = True
        elif lv in (b"private", b"no-cache", b"no-store", b"max-age=0", b"s-maxage=0"):
            cacheable = cook = False
        elif lv.startswith(b'no-cache="set-cookie'):
            cook = False
        elif lv.startswith((b"s-maxage", b"max-age")):
            fresh = True
    # neither an explicit lifetime nor a validator: not stored (RFC 7234#3, as 2.6)
    if not fresh and not any(n.lower() in (b"expires", b"etag", b"last-modified") for n, _ in headers):
        return False
    return cacheable and cook


def _directive(value: bytes, word: bytes) -> bytes | None:
    if len(value) <= len(word) or value[:len(word)].lower() != word or value[len(word):len(word) + 1] != b"=":
        return None
    return value[len(word) + 1:]


def _strtol(s: bytes) -> int | None:
    """strtol(s, &end, 10): the leading number; None when no digit was read."""
    i = 0
    n = len(s)
    while i < n and s[i:i + 1] in b" \t\n\r\v\f":
        i += 1
    sign = 1
    if i < n and s[i:i + 1] in b"+-":
        sign = -1 if s[i:i + 1] == b"-" else 1
        i += 1
    j = i
    while j < n and 48 <= s[j] <= 57:
        j += 1
    if j == i:
        return None
    return sign * int(s[i:j])


def max_age(headers: Headers, cache_maxage: int, now: int) -> tuple[int, int]:
    """(the entry's lifetime, the response's own max-age) as 2.6's http_calc_maxage; a lifetime
    of -1 for an unreadable max-age value (the entry is then stored already expired, as in 2.6)."""
    smaxage = maxage = -1
    for v in _values(headers, b"cache-control"):
        for word in (b"s-maxage", b"max-age"):
            d = _directive(v, word)
            if d is None:
                continue
            if d[:1] == b'"':
                d = d[1:]
            n = _strtol(d)
            if n is None or n < 0:
                return -1, 0
            if word == b"s-maxage":
                smaxage = n
            else:
                maxage = n
    expires = -1
    if maxage == -1 and smaxage == -1:
        ex = None
        for n_, v_ in headers:
            if n_.lower() == b"expires":
                ex = v_.strip(b" \t")
        if ex is not None:
            t = http_date(ex)
            expires = 0 if t is None else max(t - now, 0)
    if smaxage > 0:
        return min(smaxage, cache_maxage), smaxage
    if maxage > 0:
        return min(maxage, cache_maxage), maxage
    if expires >= 0:
        return min(expires, cache_maxage), expires
    return cache_maxage, 0


def _etag_eq(a: bytes, b: bytes) -> bool:
    """Weak comparison of two entity tags (2.6's http_compare_etags)."""
    if a[:2] == b"W/":
        a = a[2:]
    if b[:2] == b"W/":
        b = b[2:]
    if len(a) < 2 or len(b) < 2 or a[:1] != b'"' or b[:1] != b'"' or a[-1:] != b'"' or b[-1:] != b'"':
        return False
    return a == b


class Entry:
    """One stored response."""

    __slots__ = ("key", "status", "reason", "version", "headers", "body", "expire", "validated", "age",
                 "etag", "last_modified", "size", "blocks", "chunked")

    def __init__(self, key: bytes, status: int, reason: bytes, version: bytes,
                 headers: list[tuple[bytes, bytes]], body: bytes, expire: int, validated: int, age: int,
                 last_modified: int) -> None:
        self.key = key
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        self.body = body
        self.expire = expire
        self.validated = validated
        self.age = age
        #: stored from a chunked response: served chunked (its trailers are not kept)
        self.chunked = any(n.lower() == b"transfer-encoding" for n, _ in headers)
        self.etag = next((v.strip(b" \t") for n, v in headers if n.lower() == b"etag"), None)
        self.last_modified = last_modified
        # an origin's Age header taken out leaves its (now unused) HTX block behind in 2.6
        # and a chunked one ends with an end-of-trailers block
        self.size = stored_size(version, reason, headers, len(body)) + (_BLK if age else 0) \
            + (_BLK + 1 if self.chunked else 0)
        self.blocks = (self.size + BLOCK - 1) // BLOCK

    @property
    def hash32(self) -> int:
        """2.6's ``hash:`` in show cache: the key's first four bytes as a host-order integer."""
        return int.from_bytes(self.key[:4], "little")

    def age_now(self, now: int) -> int:
        return min(max(0, now - self.validated) + self.age, MAX_AGE)

    def not_modified(self, req_headers: Headers) -> bool:
        """A conditional request the stored response satisfies: 304 instead of the response."""
        inm = False
        for v in _values(req_headers, b"if-none-match"):
            inm = True
            if v == b"*":
                return True
            if self.etag is None:
                break
            if _etag_eq(self.etag, v):
                return True
        if inm:
            return False
        ims = None
        for n, v in req_headers:
            if n.lower() == b"if-modified-since":
                ims = v.strip(b" \t")
        if ims is None:
            return False
        t = http_date(ims)
        return t is not None and self.last_modified <= t


def stored_size(version: bytes, reason: bytes, headers: Iterable[tuple[bytes, bytes]], body_len: int) -> int:
    """The bytes an object takes in the cache: 2.6's entry structure, then the message as HTX
    blocks (start line, headers, end of headers, data)."""
    n = ENTRY_OVERHEAD + len(version) + 3 + len(reason)  # with the start line block
    for name, value in headers:
        n += _BLK + len(name) + len(value)
    n += _BLK + 1  # end of headers
    if body_len:
        n += _BLK + body_len
    return n


class Cache:
    """One ``cache`` section's storage: objects by key, least recently used first."""

    __slots__ = ("conf", "name", "maxblocks", "maxobjsz", "maxage", "entries", "used")

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self.name: str = conf.name
        self.maxblocks: int = conf.maxblocks
        self.maxobjsz: int = conf.maxobjsz
        self.maxage: int = conf.maxage
        #: key -> entry, least recently used first
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.used = 0

    @property
    def available(self) -> int:
        return self.maxblocks - self.used

    def _drop(self, key: bytes) -> None:
        e = self.entries.pop(key, None)
        if e is not None:
            self.used -= e.blocks

    def lookup(self, key: bytes, now: int) -> Entry | None:
        """A live entry for ``key`` (it becomes the most recently used), None otherwise."""
        e = self.entries.get(key)
        if e is None or e.expire <= now:
            return None
        self.entries.move_to_end(key)
        return e

    def invalidate(self, key: bytes) -> None:
        self._drop(key)

    def fits(self, head_size: int, body_len: int) -> bool:
        """A response of this size (2.6 compares what its HTX holds, head and body) may be stored."""
        return not (self.maxobjsz > 0 and head_size + body_len > self.maxobjsz)

    def store(self, e: Entry) -> bool:
        """Keep ``e`` (it replaces the entry of its key), evicting the least recently used entries
        to make room; False when it cannot fit at all."""
        self._drop(e.key)
        if e.blocks > self.maxblocks or (self.maxobjsz > 0 and e.size > self.maxobjsz):
            return False
        while self.used + e.blocks > self.maxblocks and self.entries:
            self._drop(next(iter(self.entries)))
        self.entries[e.key] = e
        self.used += e.blocks
        return True

    def show(self, now: int, addr: int) -> str:
        """This cache's part of ``show cache`` (``addr``: the address printed for it)."""
        # the stored objects are in the list of available blocks whenever none is being read or
        # written, which is always so between two events here
        out = [f"0x{addr:x}: {self.name} (shctx:0x{addr - 0x3a:x}, available blocks:{self.maxblocks})\n"]
        for i, e in enumerate(sorted(self.entries.values(), key=lambda x: x.hash32)):
            if e.expire > now:
                out.append(f"0x{addr + 0x1000 * (i + 1):x} hash:{e.hash32} vary:0x0000000000000000 size:{e.size} ({e.blocks} blocks), "
                           f"refcount:0, expire:{e.expire - now}\n")
        return "".join(out)


def store_decision(cache: Cache, key: bytes | None, method: bytes, http11: bool, status: int,
                   headers: Headers, head_size: int, content_length: int, now: int, *,
                   storable: bool = True) -> tuple[int, int, int] | None:
    """What cache-store decides on the response head: None when nothing is stored, else (expire,
    the origin's Age, last-modified time). A successful unsafe method removes the key's entry.
    ``storable``: the request allows it (no Authorization, no Cache-Control: no-store)."""
    if not http11:
        return None
    if method != b"GET":
        if key is not None and 200 <= status < 400 and method not in _SAFE:
            cache.invalidate(key)
        return None
    if key is None or status != 200:
        return None
    if content_length >= 0 and not cache.fits(head_size, content_length):
        return None
    if any(n.lower() == b"vary" for n, _ in headers):
        return None
    if not _cacheable_response(status, headers, storable):
        return None
    eff, true_maxage = max_age(headers, cache.maxage, now)
    age = 0
    av = _first(headers, b"age")
    if av is not None:
        n = int(av) if av.isdigit() else -1
        if n <= 0:
            return None
        age = min(n, MAX_AGE)
        if age > true_maxage:
            return None
    lm = None
    v = _first(headers, b"last-modified")
    if v is not None:
        lm = http_date(v)
    if not lm:
        v = _first(headers, b"date")
        if v is not None:
            lm = http_date(v)
    return now + eff, age, lm or now


class Caches:
    """The process's caches by name (built from the configuration's sections at start)."""

    __slots__ = ("by_name",)

    def __init__(self, confs: Iterable[Any] = ()) -> None:
        self.by_name: dict[str, Cache] = {c.name: Cache(c) for c in confs}

    def show(self, now: int) -> str:
        out = []
        for i, c in enumerate(self.by_name.values()):
            out.append(c.show(now, 0x7f0000001000 + 0x100000 * i))
        return "".join(out)


#: the running process's caches: set by the engine when it starts (empty: no cache section)
CACHES = Caches()


def install(confs: Iterable[Any]) -> Caches:
    global CACHES
    CACHES = Caches(confs)
    return CACHES
