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
  header (process-vary off) or one naming only Accept-Encoding and Referer (process-vary on: the
  request's secondary key, a bitmap of its accepted encodings and the CRC32 of its Referer, picks
  among at most max-secondary-entries entries of the key; the stored response's encodings must all
  be accepted), no ``Pragma: no-cache``, no Cache-Control element private,
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
import zlib
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
                 "etag", "last_modified", "size", "blocks", "chunked", "sig", "sec", "trailers")

    def __init__(self, key: bytes, status: int, reason: bytes, version: bytes,
                 headers: list[tuple[bytes, bytes]], body: bytes, expire: int, validated: int, age: int,
                 last_modified: int, sig: int = 0, sec: bytes | None = None,
                 trailers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self.key = key
        #: a chunked response's trailers
        self.trailers = tuple(trailers)
        #: the Vary signature (VARY_AE, VARY_REFERER bits) and secondary key, 0 and None without
        self.sig = sig
        self.sec = sec
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
            + (_BLK + 1 if self.chunked else 0) + sum(_BLK + len(n) + len(v) for n, v in self.trailers)
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


# --------------------------------------------------------------------------- Vary (process-vary on)
VARY_AE = 1        # accept-encoding: a bitmap of the accepted encodings (4 bytes)
VARY_REFERER = 2   # referer: the CRC32 of the first Referer header (4 bytes)
E_IDENTITY = 1 << 8
E_STAR = 1 << 9
E_OTHER = 1 << 10
_M32 = 0xFFFFFFFF
_ENC_NAMES = {ord("a"): ((b"aes128gcm", 1 << 4),), ord("b"): ((b"br", 1 << 2),), ord("c"): ((b"compress", 1 << 3),),
              ord("d"): ((b"deflate", 1 << 1),), ord("e"): ((b"exi", 1 << 5),), ord("g"): ((b"gzip", 1 << 0),),
              ord("i"): ((b"identity", E_IDENTITY),), ord("p"): ((b"pack200-gzip", 1 << 6),),
              ord("x"): ((b"x-gzip", 1 << 0), (b"x-compress", 1 << 3)), ord("z"): ((b"zstd", 1 << 7),)}
_NO_KEY = bytes(8)


def _encoding(v: bytes) -> tuple[int, bool] | None:
    """2.6's parse_encoding_value: (the encoding's bit, 0 for a name it does not know that starts
    like one it knows; its weight is q=0), None for an encoding it cannot read."""
    if not v:
        return None
    c = v[0]
    bit = 0
    rest = b""
    if c == ord("*"):
        bit, rest = E_STAR, v[1:]
    elif c in _ENC_NAMES:
        for name, b in _ENC_NAMES[c]:
            if v.startswith(name):
                bit, rest = b, v[len(name):]
                break
    else:
        return None
    null = False
    if bit:
        rest = rest.lstrip(b" \t")
        if rest:
            if rest[:1] != b";":
                return None
            null = rest[1:].lstrip(b" \t") == b"q=0"
    return bit, null


def _accept_encoding(headers: Headers) -> int | None:
    """The request's Accept-Encoding as 2.6's bitmap; None past 15 elements (not used then)."""
    bm = E_IDENTITY
    black = _M32
    count = 0
    for v in _values(headers, b"accept-encoding"):
        if count >= 16:
            break
        count += 1
        if not v:
            continue
        r = _encoding(v.lower())
        if r is None:
            bm |= E_OTHER
        elif r[1]:
            black &= ~r[0] & _M32
        else:
            bm |= r[0]
    if bm & E_STAR:
        bm = _M32
    bm &= black
    if count == 0:
        bm = _M32
    if count == 16:
        return None
    return bm


def secondary_key(headers: Headers, sig: int) -> bytes | None:
    """The request's secondary key for the Vary signature ``sig`` (the parts outside it zero), None
    when it cannot be made."""
    ae = b"\0\0\0\0"
    if sig & VARY_AE:
        bm = _accept_encoding(headers)
        if bm is None:
            return None
        ae = bm.to_bytes(4, "little")
    ref = b"\0\0\0\0"
    if sig & VARY_REFERER:
        v = next((v_.strip(b" \t") for n, v_ in headers if n.lower() == b"referer"), None)
        if v is not None:
            ref = zlib.crc32(v).to_bytes(4, "little")
    return ae + ref


def _sec_match(ref: bytes, new: bytes) -> bool:
    """2.6's secondary_key_cmp: the stored response's encodings all accepted, the rest equal."""
    rb = int.from_bytes(ref[:4], "little")
    nb = int.from_bytes(new[:4], "little")
    if rb & E_OTHER or rb & nb != rb:
        return False
    return ref[4:] == new[4:]


def vary_signature(headers: Headers) -> int | None:
    """The response's Vary headers as 2.6's signature; None when one names another header."""
    sig = 0
    for v in _values(headers, b"vary"):
        lv = v.lower()
        if lv == b"accept-encoding":
            sig |= VARY_AE
        elif lv == b"referer":
            sig |= VARY_REFERER
        else:
            return None
    return sig


def _response_encoding(headers: Headers) -> int | None:
    bm = 0
    for v in _values(headers, b"content-encoding"):
        r = _encoding(v)
        if r is None:
            return None
        bm |= r[0]
    return bm or E_IDENTITY


class Cache:
    """One ``cache`` section's storage: the entries of each key (several with Vary, in the order
    they came), and all of them least recently used first."""

    __slots__ = ("conf", "name", "maxblocks", "maxobjsz", "maxage", "vary", "max_sec", "tree", "lru", "used",
                 "last_clear")

    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self.name: str = conf.name
        self.maxblocks: int = conf.maxblocks
        self.maxobjsz: int = conf.maxobjsz
        self.maxage: int = conf.maxage
        self.vary: bool = conf.process_vary
        self.max_sec: int = conf.max_secondary_entries
        self.tree: dict[bytes, list[Entry]] = {}
        self.lru: OrderedDict[Entry, None] = OrderedDict()
        self.used = 0
        #: when a key's expired secondary entries were last cleared (2.6 does it once a second)
        self.last_clear: dict[bytes, int] = {}

    @property
    def entries(self) -> list[Entry]:
        """Every entry, least recently used first."""
        return list(self.lru)

    @property
    def available(self) -> int:
        return self.maxblocks - self.used

    def _drop(self, e: Entry) -> None:
        if self.lru.pop(e, 0) is None:
            self.used -= e.blocks
            lst = self.tree.get(e.key)
            if lst is not None:
                lst.remove(e)
                if not lst:
                    del self.tree[e.key]
                    self.last_clear.pop(e.key, None)

    def _secondary(self, lst: list[Entry], sec: bytes, now: int, delete: bool) -> Entry | None:
        """2.6's get_secondary_entry from the key's first entry."""
        if not lst or not lst[0].sig:
            return None
        found = None
        for e in list(lst):
            if e.sec is not None and _sec_match(e.sec, sec):
                found = e
                break
            if delete and e.expire <= now:
                self._drop(e)
        if found is not None and found.expire <= now:
            if delete:
                self._drop(found)
            return None
        return found

    def lookup(self, key: bytes, now: int, headers: Headers = ()) -> tuple[Entry | None, bytes | None]:
        """(a live entry for ``key`` and the request's ``headers``, which becomes the most
        recently used, or None; the request's secondary key for cache-store when Vary needs one)."""
        lst = self.tree.get(key)
        first = lst[0] if lst else None
        if first is None or first.expire <= now:
            return None, (secondary_key(headers, -1) if self.vary else None)
        e: Entry | None = first
        if first.sig:
            sec = secondary_key(headers, first.sig)
            if sec is None:
                return None, None
            e = self._secondary(lst or [], sec, now, False)
            if e is None:
                return None, sec
        assert e is not None
        self.lru.move_to_end(e)
        return e, None

    def invalidate(self, key: bytes, now: int = 0) -> None:
        lst = self.tree.get(key)
        if lst:
            self._drop(lst[0])

    def fits(self, head_size: int, body_len: int) -> bool:
        """A response of this size (2.6 compares what its HTX holds, head and body) may be stored."""
        return not (self.maxobjsz > 0 and head_size + body_len > self.maxobjsz)

    def store(self, e: Entry, now: int = 0) -> bool:
        """Keep ``e`` (in place of the entry of its key, or with Vary of the one its secondary key
        matches), evicting the least recently used entries to make room; False when it is not
        kept (too big, too many secondary entries)."""
        lst = self.tree.get(e.key)
        if lst:
            first = lst[0]
            if first.expire <= now:
                self._drop(first)
            else:
                old: Entry | None = first
                if e.sig:
                    assert e.sec is not None
                    old = self._secondary(lst, e.sec, now, True)
                if old is not None:
                    self._drop(old)
        if e.blocks > self.maxblocks or (self.maxobjsz > 0 and e.size > self.maxobjsz):
            return False
        while self.used + e.blocks > self.maxblocks and self.lru:
            self._drop(next(iter(self.lru)))
        lst = self.tree.setdefault(e.key, [])
        count = len(lst)
        lst.append(e)
        self.lru[e] = None
        self.used += e.blocks
        if e.sig and count >= self.max_sec:
            if self.last_clear.get(e.key) == now:
                self._drop(e)
                return False
            for x in lst[:-1]:
                if x.expire <= now:
                    self._drop(x)
            if len(lst) - 1 >= self.max_sec:
                self.last_clear[e.key] = now
                self._drop(e)
                return False
        return True

    def show(self, now: int, addr: int) -> str:
        """This cache's part of ``show cache`` (``addr``: the address printed for it)."""
        # the stored objects are in the list of available blocks whenever none is being read or
        # written, which is always so between two events here
        out = [f"0x{addr:x}: {self.name} (shctx:0x{addr - 0x3a:x}, available blocks:{self.maxblocks})\n"]
        i = 0
        for lst in sorted(self.tree.values(), key=lambda x: x[0].hash32):
            for e in lst:
                i += 1
                if e.expire > now:
                    sec = (e.sec or _NO_KEY).hex()
                    out.append(f"0x{addr + 0x1000 * i:x} hash:{e.hash32} vary:0x{sec} size:{e.size} "
                               f"({e.blocks} blocks), refcount:0, expire:{e.expire - now}\n")
        return "".join(out)


def store_decision(cache: Cache, key: bytes | None, method: bytes, http11: bool, status: int,
                   headers: Headers, head_size: int, content_length: int, now: int, *,
                   storable: bool = True, sec: bytes | None = None
                   ) -> tuple[int, int, int, int, bytes | None] | None:
    """What cache-store decides on the response head: None when nothing is stored, else (expire,
    the origin's Age, last-modified time, Vary signature, secondary key). A successful unsafe
    method removes the key's entry. ``storable``: the request allows it (no Authorization, no
    Cache-Control: no-store); ``sec``: the request's secondary key (cache-use, Vary)."""
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
    sig = 0
    if cache.vary:
        s_ = vary_signature(headers)
        if s_ is None:
            return None
        sig = s_
        if sig:
            if sec is None:
                return None
            sec = (sec[:4] if sig & VARY_AE else b"\0\0\0\0") + (sec[4:8] if sig & VARY_REFERER else b"\0\0\0\0")
    elif any(n.lower() == b"vary" for n, _ in headers):
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
    if sig:
        enc = _response_encoding(headers)
        if enc is None:
            return None
        assert sec is not None
        sec = enc.to_bytes(4, "little") + sec[4:]
    return now + eff, age, lm or now, sig, (sec if sig else None)


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
