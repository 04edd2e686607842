"""Pattern references: the live store behind map files and ACL patterns (pure, sans-IO).

2.6 keeps one *reference* per map file, per ACL ``-f`` file and per ACL line (its inline
patterns), each with a unique id, a list of entries (key, value for maps) tagged with a version,
the current version and the next one ``prepare`` hands out. The runtime API (``show/get/add/set/
del/clear/prepare/commit map|acl``) edits a reference; every matcher built on it (the ``map_*``
converters, ACL patterns) holds an :class:`Index` that it rebuilds when the reference changed, so
the next request sees the change.

Ids: 2.6 numbers references as the configuration creates them (parse order: a map where its
converter is written, an ACL line's ``-f`` files then its own inline patterns). haproxy-py compiles
ACLs after the configuration is read, so each reference carries the place it was first used and
ids are given in that order when the references are first listed or looked up (:meth:`Store.seal`).

Entry references: 2.6 prints each entry's address (``0x55...``); tools read it as an opaque token
to pass back as ``#0x...`` to ``del``/``set``. haproxy-py prints a synthetic address of the same
shape (12 hex digits), unique per entry, accepted back the same way.

Lookups are indexed: ``str`` a dict, ``beg`` one dict per key length (longest first), ``ip`` one
dict per prefix length (most specific first); the other methods scan their entries in order.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

__all__ = ["Entry", "Index", "PatRef", "REFS", "Store", "WHERE", "note_where", "post_where", "end_post"]

#: where the configuration reader is (file, line), set for each statement (config/build/sections.py)
WHERE: list[Any] = ["", 0]
_BASE = 0x55D0_0000_0000
_U64 = 1 << 64


#: while the expressions 2.6 compiles after parsing are compiled: (proxy rank, step). 2.6 creates
#: their references after every other one (and after its HTTP client's), proxy by proxy, in the
#: steps use_backend, log-format, unique-id-format, use-server, balance hash
POST_AT: list[Any] = [None]
POST_STEPS = ("use_backend", "log-format", "unique-id-format", "use-server", "balance")


def note_where(file: str, line: int) -> None:
    WHERE[0], WHERE[1] = file, line


def post_where(file: str, line: int, rank: int, step: str) -> None:
    """A post-parse expression is compiled next: of the proxy of rank ``rank``, at ``step``, its
    maps used "at file FILE line LINE" (the line 2.6 says, which is not always its own)."""
    WHERE[0], WHERE[1] = file, line
    POST_AT[0] = (rank, POST_STEPS.index(step))


def end_post() -> None:
    """The configuration is read: later compilations (the engine's) name no new users."""
    WHERE[0], WHERE[1] = "", 0
    POST_AT[0] = None


class Entry:
    __slots__ = ("ptr", "key", "value", "gen")

    def __init__(self, ptr: int, key: str, value: str | None, gen: int) -> None:
        self.ptr = ptr
        self.key = key
        self.value = value
        self.gen = gen


class Index:
    """One way a reference is matched (a map converter's method and output, an ACL's method and
    case): ``build(entries) -> lookup`` compiles the current version; ``check(key, value)`` raises
    ValueError (2.6's words) for an entry this matcher cannot use. ``describe`` is ``get map``'s
    prefix (``type=str, case=sensitive``) and ``tree`` whether 2.6 indexes it as a tree."""

    __slots__ = ("method", "icase", "out", "build", "check", "tree", "rev", "look", "conv", "finder")

    def __init__(self, method: str, icase: bool, out: str, build: Callable[[list[Entry]], Any],
                 check: Callable[[str, str | None], None], tree: bool,
                 conv: Callable[[str, str | None], tuple[Any, Any]] | None = None,
                 finder: Callable[[list[Entry], str], Entry | None] | None = None) -> None:
        self.method = method
        self.icase = icase
        self.out = out
        self.build = build
        self.check = check
        self.tree = tree
        self.rev = -1
        self.look: Any = None
        #: (key, value) text -> what the lookup holds, for the changes its ``.inc`` applies in place
        self.conv = conv
        #: (entries, sample text) -> the entry that matches (``get map|acl``), None when none does
        self.finder = finder

    def find(self, entries: list[Entry], text: str) -> Entry | None:
        """The entry ``text`` matches through this matcher: the first line, the longest prefix
        or the most specific network, as 2.6 chooses (``get map``, ``get acl``)."""
        if self.finder is not None:
            return self.finder(entries, text)
        best = None
        for e in entries:
            if self.build([e])([text.encode("latin1")]):
                if self.method in ("beg", "ip"):  # the longest key / the most specific network
                    if best is None or _spec(self.method, e.key) > _spec(self.method, best.key):
                        best = e
                    continue
                return e
        return best


def _spec(method: str, key: str) -> int:
    if method == "beg":
        return len(key)
    try:
        return parse_net(key).prefixlen
    except ValueError:
        return -1


class PatRef:
    __slots__ = ("uid", "name", "kind", "users", "desc", "order", "entries", "curr_ver", "next_ver", "cnt", "rev",
                 "indexes", "store")

    def __init__(self, store: Store, name: str, kind: str, desc: str, order: tuple) -> None:
        self.store = store
        self.uid = -1
        self.name = name  # the file, "" for an ACL line's own patterns
        self.kind = kind  # "map" or "acl"
        self.desc = desc
        self.users: list[tuple[str, int]] = []
        self.order = order
        self.entries: list[Entry] = []
        self.curr_ver = 0
        self.next_ver = 0
        self.cnt = 0
        self.rev = 0
        self.indexes: list[Index] = []

    # -- reading
    def description(self) -> str:
        if self.name:
            by = ", by ".join(f"{self.kind} at file '{f}' line {n}" for f, n in self.users)
            d = f"pattern loaded from file '{self.name}' used by {by}"
        else:
            d = self.desc
        return f"{d}. curr_ver={self.curr_ver} next_ver={self.next_ver} entry_cnt={self.cnt % _U64}"

    def current(self, ver: int | None = None) -> list[Entry]:
        v = self.curr_ver if ver is None else ver
        return [e for e in self.entries if e.gen == v]

    def index(self, ix: Index) -> Any:
        """``ix``'s lookup on the current version (rebuilt when the reference changed)."""
        if ix.rev != self.rev:
            ix.look = ix.build(self.current())
            ix.rev = self.rev
        return ix.look

    def attach(self, ix: Index) -> Index:
        for o in self.indexes:
            if (o.method, o.icase, o.out) == (ix.method, ix.icase, ix.out):
                return o
        self.indexes.append(ix)
        return ix

    # -- changes
    def _changed(self, ver: int | None) -> None:
        if ver is None or ver == self.curr_ver:
            self.rev += 1

    def _step(self, op: str, key: str, value: str | None, n: int = 1) -> None:
        """One change of the current version: an index whose lookup can apply it in place (``.inc``:
        str, beg, ip) stays current, the others are rebuilt at their next lookup."""
        old = self.rev
        self.rev += 1
        for ix in self.indexes:
            if ix.rev != old or ix.conv is None:
                continue
            inc = _inc_of(ix.look)
            if inc is None:
                continue
            try:
                k, v = ix.conv(key, value)
            except ValueError:
                continue
            if inc(op, k, v, n):
                ix.rev = self.rev

    def load(self, pairs: list[tuple[str, str | None]]) -> None:
        for k, v in pairs:
            self.entries.append(Entry(self.store.ptr(), k, v, self.curr_ver))
        self.cnt += len(pairs)
        self._changed(None)

    def check(self, key: str, value: str | None) -> str | None:
        for ix in self.indexes:
            try:
                ix.check(key, value)
            except ValueError as e:
                return str(e)
        return None

    def add(self, key: str, value: str | None, ver: int | None = None) -> str | None:
        """Appends an entry; the error text when one of the matchers refuses it (2.6.12 then
        counts one entry less than before: its counter is decremented twice)."""
        err = self.check(key, value)
        if err is not None:
            self.cnt -= 1
            return err
        self.entries.append(Entry(self.store.ptr(), key, value, self.curr_ver if ver is None else ver))
        self.cnt += 1
        if ver is None or ver == self.curr_ver:
            self._step("add", key, value)
        return None

    def find(self, spec: str) -> list[Entry]:
        """``#0xPTR`` or a key -> the entries it designates."""
        if spec.startswith("#"):
            try:
                p = int(spec[1:], 16 if spec[1:3].lower() == "0x" else 10)
            except ValueError:
                return []
            return [e for e in self.entries if e.ptr == p]
        return [e for e in self.entries if e.key == spec]  # any version, as 2.6.12

    def delete(self, spec: str) -> bool:
        hit = self.find(spec)
        if not hit:
            return False
        ids = {id(e) for e in hit}
        self.entries = [e for e in self.entries if id(e) not in ids]
        self.cnt -= len(hit)
        if spec.startswith("#"):
            self.rev += 1
        else:
            self._step("del", spec, None, sum(1 for e in hit if e.gen == self.curr_ver))
        return True

    def set(self, spec: str, value: str) -> str | None:
        """None when done, else the error reply ('' for no entry)."""
        hit = self.find(spec)
        if not hit:
            return ""
        err = self.check(hit[0].key, value)
        if err is not None:
            return err
        for e in hit:
            e.value = value
        if spec.startswith("#"):
            self.rev += 1
        else:
            self._step("set", spec, value, sum(1 for e in hit if e.gen == self.curr_ver))
        return None

    def clear(self, ver: int | None = None) -> None:
        v = self.curr_ver if ver is None else ver
        keep = [e for e in self.entries if e.gen != v]
        self.cnt -= len(self.entries) - len(keep)
        self.entries = keep
        self._changed(ver)

    def prepare(self) -> int:
        self.next_ver += 1
        return self.next_ver

    def commit(self, ver: int) -> None:
        """``ver`` becomes current; the entries of older versions go."""
        keep = [e for e in self.entries if e.gen - ver >= 0]
        self.cnt -= len(self.entries) - len(keep)
        self.entries = keep
        self.curr_ver = ver
        self.rev += 1


class Store:
    """A process's references, by file and by id."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.refs: list[PatRef] = []
        self.files: dict[tuple[str, str], PatRef] = {}
        self.lines: dict[tuple, PatRef] = {}
        self._ptr = 0
        self.sealed = False
        self.seq = 0
        self.file_rank: dict[str, int] = {}

    def ptr(self) -> int:
        self._ptr += 1
        return _BASE + self._ptr * 0x50

    def _order(self, file: str, line: int, col: int = 0, sub: int = 0) -> tuple:
        """Creation order: file, line, the term of a condition, then time (``col`` is kept for
        callers, the line's references follow their terms, not their columns)."""
        self.seq += 1
        if POST_AT[0] is not None:
            return (2, *POST_AT[0], 0, 0, self.seq)
        rank = self.file_rank.setdefault(file, len(self.file_rank)) if file else 1 << 30
        return (0, rank, line, 0, sub, self.seq)

    def file_ref(self, kind: str, path: str, read: Callable[[], list[tuple[str, str | None]]],
                 where: tuple[str, int] | None = None, col: int = 0) -> PatRef:
        """The reference of ``path`` used as a ``kind`` ("map" or "acl"), read once."""
        f, n = where if where is not None else (WHERE[0], WHERE[1])
        ref = self.files.get((kind, path))
        if ref is None:
            ref = PatRef(self, path, kind, "", self._order(f, n, col))
            ref.load(read())
            self.files[(kind, path)] = ref
            self._add(ref)
        if f and (f, n) not in ref.users:
            ref.users.append((f, n))
        return ref

    def line_ref(self, key: tuple, desc: str, patterns: list[str], file: str, line: int, col: int = 0,
                 sub: int | None = None) -> PatRef:
        """An ACL line's own patterns (``key`` tells one line's from another's); ``sub``: the
        position of the term in its condition, when the ACL is one (a reference first made
        elsewhere, by a check, takes its place)."""
        ref = self.lines.get(key)
        if ref is not None and sub is not None and not self.sealed:
            o = ref.order
            ref.order = (*o[:4], sub, o[5])
        if ref is None:
            ref = PatRef(self, "", "acl", desc, self._order(file, line, col, sub or 0))
            ref.load([(p, None) for p in patterns])
            self.lines[key] = ref
            self._add(ref)
        return ref

    def _add(self, ref: PatRef) -> None:
        self.refs.append(ref)
        if self.sealed:
            ref.uid = max((r.uid for r in self.refs), default=-1) + 1

    def seal(self) -> None:
        """Ids in the order 2.6 creates the references (see the module's docstring)."""
        if self.sealed:
            return
        if not any(r.order[0] == 1 for r in self.refs):
            # the two references 2.6's internal HTTP client adds to every process
            for i in range(2):
                ref = PatRef(self, "", "acl", "acl 'var' file 'httpclient' line 0", (1, 0, 0, 0, 0, i))
                ref.load([("1" if i == 0 else "1", None)])
                self.refs.append(ref)
        self.refs.sort(key=lambda r: r.order)
        for i, r in enumerate(self.refs):
            r.uid = i
        self.sealed = True

    def lookup(self, kind: str, ident: str) -> PatRef | None:
        """``#ID`` or a file name -> the reference of that kind."""
        self.seal()
        if ident.startswith("#"):
            try:
                n = int(ident[1:])
            except ValueError:
                return None
            return next((r for r in self.refs if r.uid == n and r.kind == kind), None)
        return self.files.get((kind, ident))

    def of_kind(self, kind: str) -> list[PatRef]:
        self.seal()
        return sorted((r for r in self.refs if r.kind == kind), key=lambda r: r.uid)


#: the process's store (reset when a configuration is read: config/build/base.py)
REFS = Store()


# ---------------------------------------------------------------------------- indexed lookups
class _StrIdx(dict):
    """Exact keys, the first entry of a key winning; ``inc`` applies one change in place."""

    def inc(self, op: str, k: bytes, v: Any, n: int) -> bool:
        if op == "add":
            self.setdefault(k, v)
        elif op == "del":
            self.pop(k, None)
        elif k in self:
            self[k] = v
        return True


def str_index(pairs: list[tuple[bytes, Any]]) -> Callable[[bytes], Any]:
    """Exact keys (a dict's ``get``; its dict's ``inc`` applies a change, see :meth:`PatRef._step`)."""
    d = _StrIdx()
    for k, v in pairs:
        d.setdefault(k, v)
    return d.get


def _inc_of(look: Any) -> Any:
    inc = getattr(look, "inc", None)
    return inc if inc is not None else getattr(getattr(look, "__self__", None), "inc", None)


def beg_index(pairs: list[tuple[bytes, Any]]) -> Callable[[bytes], Any]:
    """The longest key that starts the sample (2.6's prefix tree): one dict per key length."""
    by_len: dict[int, dict[bytes, Any]] = {}
    for k, v in pairs:
        by_len.setdefault(len(k), {}).setdefault(k, v)
    levels = tuple((n, by_len[n]) for n in sorted(by_len, reverse=True))
    miss = object()

    def look(s: bytes) -> Any:
        n = len(s)
        for ln, d in levels:
            if ln <= n:
                r = d.get(s[:ln], miss)
                if r is not miss:
                    return r
        return None

    def inc(op: str, k: bytes, v: Any, n: int) -> bool:
        nonlocal levels
        d = by_len.get(len(k))
        if op == "add":
            if d is None:
                by_len[len(k)] = {k: v}
                levels = tuple((m, by_len[m]) for m in sorted(by_len, reverse=True))
            else:
                d.setdefault(k, v)
        elif d is not None:
            if op == "del":
                d.pop(k, None)
            elif k in d:
                d[k] = v
        return True
    look.inc = inc  # type: ignore[attr-defined]
    return look


class Net:
    """A network as the indexes keep it: family, network number, prefix length."""

    __slots__ = ("version", "net", "prefixlen")

    def __init__(self, version: int, net: int, prefixlen: int) -> None:
        self.version, self.net, self.prefixlen = version, net, prefixlen


def _v4(text: str) -> int | None:
    """A dotted IPv4 address -> its number (None when it is not one)."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    n = 0
    for p in parts:
        if not p.isdigit() or len(p) > 3:
            return None
        b = int(p)
        if b > 255:
            return None
        n = (n << 8) | b
    return n


def ip_index(pairs: list[tuple[Any, Any]]) -> Callable[[Any], Any]:
    """The most specific network holding the address: one dict per prefix length and family
    (``pairs``: (:class:`Net` or an ``ipaddress`` network, value)). An IPv4-mapped IPv6 address
    also matches IPv4 networks. The lookup takes an ``ipaddress`` address; ``.by_text`` (on the
    returned function) takes its text as bytes."""
    fam: dict[int, dict[int, dict[int, Any]]] = {4: {}, 6: {}}
    count: dict[tuple[int, int, int], int] = {}  # entries per network (several texts can name one)
    for net, v in pairs:
        n = net.net if isinstance(net, Net) else int(net.network_address)
        fam[net.version].setdefault(net.prefixlen, {}).setdefault(n, v)
        c = (net.version, net.prefixlen, n)
        count[c] = count.get(c, 0) + 1

    def levels(f: int) -> tuple:
        bits = 32 if f == 4 else 128
        return tuple(((((1 << bits) - 1) ^ ((1 << (bits - p)) - 1)), d) for p, d in sorted(fam[f].items(), reverse=True))
    l4, l6 = levels(4), levels(6)

    def look4(n: int) -> Any:
        for mask, d in l4:
            r = d.get(n & mask)
            if r is not None:
                return r
        return None

    def look(ip: Any) -> Any:
        if ip.version == 6:
            n = int(ip)
            for mask, d in l6:
                r = d.get(n & mask)
                if r is not None:
                    return r
            m4 = ip.ipv4_mapped
            if m4 is None:
                return None
            ip = m4
        return look4(int(ip))

    def by_text(b: bytes) -> Any:
        n = _v4(b.decode("latin1"))
        if n is not None:
            return look4(n)
        try:
            return look(ipaddress.ip_address(b.decode("latin1")))
        except ValueError:
            return None

    def inc(op: str, net: Any, v: Any, n: int) -> bool:
        """``n``: how many entries of the current version the change touched."""
        nonlocal l4, l6
        nn = net.net if isinstance(net, Net) else int(net.network_address)
        c = (net.version, net.prefixlen, nn)
        have = count.get(c, 0)
        d = fam[net.version].get(net.prefixlen)
        if op == "add":
            count[c] = have + 1
            if d is None:
                fam[net.version][net.prefixlen] = {nn: v}
                l4, l6 = levels(4), levels(6)
            else:
                d.setdefault(nn, v)
            return True
        if have != n or d is None:  # another text names this network too: rebuild
            return False
        if op == "del":
            d.pop(nn, None)
            count.pop(c, None)
        else:
            d[nn] = v
        return True

    look.by_text = by_text  # type: ignore[attr-defined]
    look.inc = inc  # type: ignore[attr-defined]
    return look


def parse_net(k: str) -> Any:
    """A map or ACL key of the ``ip`` method -> :class:`Net` (2.6's words when it is none)."""
    addr, sep, plen = k.partition("/")
    n = _v4(addr)
    if n is not None:
        if not sep:
            return Net(4, n, 32)
        if plen.isdigit() and int(plen) <= 32:
            p = int(plen)
            return Net(4, n & (((1 << 32) - 1) ^ ((1 << (32 - p)) - 1)), p)
        m = _v4(plen)  # a dotted mask
        if m is not None:
            p = bin(m).count("1")
            if m == (((1 << 32) - 1) ^ ((1 << (32 - p)) - 1)):
                return Net(4, n & m, p)
    try:
        net = ipaddress.ip_network(k, strict=False)
        return Net(net.version, int(net.network_address), net.prefixlen)
    except ValueError:
        raise ValueError(f"'{k}' is not a valid IPv4 or IPv6 address.") from None
