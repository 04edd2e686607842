"""The runtime API on maps and ACLs (pure): ``show/get/add/set/del/clear/prepare/commit map|acl``
over the pattern references (samples/patref.py, handed over by the engine as ``state.patrefs``:
stats does not import samples), with 2.6.12's replies, quirks included:

* ``show``, ``clear``, ``prepare``, ``commit`` and ``del`` want a reference of their kind (``del acl``
  on a map answers the map message, as 2.6 does); ``get``, ``add`` and ``set`` take any ``#ID``;
* ``@VER`` is read as C's strtoul (``@x`` is version 0); ``add @VER`` refuses a version past the
  last prepared one, ``commit @VER`` wants one after the current and not past the last prepared;
* a refused ``add`` leaves the entry count one lower (2.6.12 decrements it twice), and the count is
  printed as an unsigned 64-bit number, so it can wrap.

Entries are listed as ``0x<12 hex digits> key[ value]``; the address is a token ``del``/``set``
take back as ``#0x...``.
"""

from __future__ import annotations

from typing import Any

from haproxy_py.stats.cli_static import UNKNOWN_ACL, UNKNOWN_MAP

#: the store (samples/patref.py ``Store``; the engine hands it over as ``state.patrefs``) and its
#: references, as this module uses them
Store = Any
PatRef = Any

__all__ = ["pat_command"]

_UNKNOWN = {"map": UNKNOWN_MAP, "acl": UNKNOWN_ACL}


def _ver(word: str) -> int:
    """strtoul(word[1:], 10) as 2.6 reads ``@VER`` (0 when it is not a number)."""
    digits = ""
    for ch in word[1:]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


def _after(a: int, b: int) -> bool:
    """Version ``a`` comes after ``b`` (unsigned 32-bit wrap-around compare)."""
    return ((a - b) & 0xFFFFFFFF) not in (0,) and ((a - b) & 0xFFFFFFFF) < 0x80000000


def _find(store: Store, kind: str, ident: str, strict: bool) -> PatRef | None:
    ref = store.lookup(kind, ident)
    if ref is None and not strict:
        other = "acl" if kind == "map" else "map"
        ref = store.lookup(other, ident) if ident.startswith("#") else None
    return ref


def _entry_line(ref: PatRef, e: Any) -> str:
    if e.value is None:
        return f"0x{e.ptr:012x} {e.key}\n"
    return f"0x{e.ptr:012x} {e.key} {e.value}\n"


def _show(store: Store, kind: str, args: list[str]) -> str:
    ver = None
    if args and args[0].startswith("@"):
        ver = _ver(args[0])
        args = args[1:]
    if not args:
        if ver is not None:
            return _UNKNOWN[kind]
        return "# id (file) description\n" + "".join(
            f"{r.uid} ({r.name}) {r.description()}\n" for r in store.of_kind(kind))
    ref = _find(store, kind, args[0], True)
    if ref is None:
        return _UNKNOWN[kind]
    return "".join(_entry_line(ref, e) for e in ref.current(ver))


def _get(store: Store, kind: str, args: list[str]) -> str:
    if len(args) < 2:
        return "Missing map identifier and/or key.\n" if kind == "map" else "Missing ACL identifier and/or key.\n"
    ref = _find(store, kind, args[0], False)
    if ref is None:
        return _UNKNOWN[kind]
    out = []
    for ix in ref.indexes:
        case = "insensitive" if ix.icase else "sensitive"
        head = f"type={ix.method}, case={case}"
        e = ix.find(ref.current(), args[1])
        idx = "tree" if ix.tree else "list"
        if kind == "map":
            if e is None:
                out.append(f"{head}, found=no\n")
            else:
                vtype = {"str": "str", "sint": "sint"}.get(ix.out, "ipv6" if ":" in (e.value or "") else "ipv4")
                out.append(f'{head}, found=yes, idx={idx}, key="{e.key}", value="{e.value}", type="{vtype}"\n')
        elif e is None:
            out.append(f"{head}, match=no\n")
        else:
            out.append(f'{head}, match=yes, idx={idx}, pattern="{e.key}"\n')
    return "".join(out)


def _add(store: Store, kind: str, args: list[str]) -> str:
    ver = None
    if args and args[0].startswith("@"):
        ver = _ver(args[0])
        args = args[1:]
    need = 3 if kind == "map" else 2
    if len(args) < need:
        if kind == "map":
            return ("'add map' expects three parameters (map identifier, key and value) or one parameter "
                    "(map identifier) and a payload\n")
        return "'add acl' expects two parameters: ACL identifier and pattern.\n"
    ref = _find(store, kind, args[0], False)
    if ref is None:
        return _UNKNOWN[kind]
    if ver is not None and _after(ver, ref.next_ver):
        return f"Version number in the future, please use 'prepare {kind}' before.\n"
    value = args[2] if kind == "map" else None
    err = ref.add(args[1], value, ver)
    return "" if err is None else err + "\n"


def _set(store: Store, args: list[str]) -> str | None:
    if len(args) < 3:
        return "'set map' expects three parameters: map identifier, key and value.\n"
    ref = _find(store, "map", args[0], False)
    if ref is None:
        return UNKNOWN_MAP
    r = ref.set(args[1], args[2])
    if r == "":
        return "key or pattern not found.\n" if args[1].startswith("#") else "entry not found.\n"
    if r is None:
        return ""
    if args[1].startswith("#"):
        return r + "\n"
    return None  # a value the map cannot use, by key: 2.6.12 answers nothing at all, not even the empty line


def _del(store: Store, kind: str, args: list[str]) -> str:
    if len(args) < 2:
        return ("This command expects two parameters: map identifier and key.\n" if kind == "map"
                else "This command expects two parameters: ACL identifier and key.\n")
    ref = _find(store, kind, args[0], True)
    if ref is None:
        return UNKNOWN_MAP  # 2.6 says "map" for an unknown ACL too
    return "" if ref.delete(args[1]) else "Key not found.\n"


def _clear(store: Store, kind: str, args: list[str]) -> str:
    ver = None
    if args and args[0].startswith("@"):
        ver = _ver(args[0])
        args = args[1:]
    if not args:
        return "Missing map identifier.\n" if kind == "map" else "Missing ACL identifier.\n"
    ref = _find(store, kind, args[0], True)
    if ref is None:
        return _UNKNOWN[kind]
    ref.clear(ver)
    return ""


def _prepare(store: Store, kind: str, args: list[str]) -> str:
    ref = _find(store, kind, args[0], True) if args else None
    if ref is None:
        return _UNKNOWN[kind]
    return f"New version created: {ref.prepare()}\n"


def _commit(store: Store, kind: str, args: list[str]) -> str:
    if not args or not args[0].startswith("@"):
        return "Missing version number.\n"
    ver = _ver(args[0])
    ref = _find(store, kind, args[1], True) if len(args) > 1 else None
    if ref is None:
        return _UNKNOWN[kind]
    if not _after(ver, ref.curr_ver) or _after(ver, ref.next_ver):
        return "Version number out of range.\n"
    ref.commit(ver)
    return ""


def _show_empty(kind: str, verb: str, args: list[str]) -> str | None:
    from types import SimpleNamespace

    empty = SimpleNamespace(lookup=lambda kind, ident: None, of_kind=lambda kind: [])
    return pat_command(SimpleNamespace(patrefs=empty), verb, kind, args)


def pat_command(state: Any, verb: str, kind: str, args: list[str]) -> str | None:
    """``verb kind args...`` (``show map #0``...) -> 2.6's reply body."""
    store = getattr(state, "patrefs", None)
    if store is None:  # a state without an engine: no map, no ACL
        return _show_empty(kind, verb, args)
    if verb == "show":
        return _show(store, kind, args)
    if verb == "get":
        return _get(store, kind, args)
    if verb == "add":
        return _add(store, kind, args)
    if verb == "set":
        return _set(store, args)
    if verb == "del":
        return _del(store, kind, args)
    if verb == "clear":
        return _clear(store, kind, args)
    if verb == "prepare":
        return _prepare(store, kind, args)
    return _commit(store, kind, args)
