"""``show table``, ``clear table``, ``set table``: 2.6's replies, byte for byte (the entry's address
excepted: ``0x...`` is the Python object's). Pure: ``tables`` by name in declaration order,
``now`` in ms, ``oper`` whether the session has the operator level.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from .freq import FreqCtr
from .table import BY_NAME, DATA_TYPES, U32, U64, Entry, StickTable

__all__ = ["show_table", "clear_table", "set_table"]

NO_TABLE = "No such table\n"
DENIED = "Permission denied\n"
_OPS = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "le": lambda a, b: a <= b,
        "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "gt": lambda a, b: a > b}
_LL = re.compile(r"[+-]?\d+\Z")
MAX_FILTERS = 4


def header(t: StickTable, now: int) -> str:
    return f"# table: {t.name}, type: {t.type}, size:{t.size}, used:{t.used(now)}\n"


def entry_line(t: StickTable, e: Entry, now: int) -> str:
    out = [f"0x{id(e):x}: key={t.key_text(e.key)} use={e.ref} exp={t.remaining(e, now)}"]
    for dt in DATA_TYPES:
        i = t.slot.get(dt.name)
        if i is None:
            continue
        v = e.d[i]
        if dt.array:
            base = dt.name.split("_")[0]
            for k, x in enumerate(v):
                if dt.std == "frqp":
                    out.append(f" {base}{k}_rate({t.period[dt.name]})={x.read(now, t.period[dt.name])}")
                else:
                    out.append(f" {base}{k}={x}")
        elif dt.std == "frqp":
            out.append(f" {dt.name}({t.period[dt.name]})={v.read(now, t.period[dt.name])}")
        elif dt.std == "dict":
            out.append(f" {dt.name}={v if v is not None else ''}")
        else:
            out.append(f" {dt.name}={v}")
    return "".join(out) + "\n"


def _data(t: StickTable, e: Entry, name: str, now: int) -> int:
    v = e.d[t.slot[name]]
    if isinstance(v, list):
        v = v[0]
    if isinstance(v, FreqCtr):
        return v.read(now, t.period[name])
    return int(v)


def _key_arg(t: StickTable, rest: list[str], verb: str) -> Any:
    """The key of ``key KEY`` (``rest``: the words from ``key``), or an error reply."""
    if len(rest) < 2 or not rest[1]:
        return _Err("Key value expected\n")
    return _cli_key(t, rest[1], verb)


def _cli_key(t: StickTable, text: str, verb: str) -> Any:
    """(key) or an error reply (str starting with a letter) — as 2.6 parses a CLI key."""
    ty = t.type
    if ty == "ip":
        try:
            return ipaddress.IPv4Address(text).packed
        except ValueError:
            return b"\0\0\0\0"  # 2.6's inetaddr_host reads junk as 0.0.0.0
    if ty == "ipv6":
        try:
            return ipaddress.IPv6Address(text).packed
        except ValueError:
            return _Err("Invalid key\n")
    if ty == "integer":
        s = text.lstrip(" \t")
        m = re.match(r"[+-]?\d+", s)
        if not m:
            return _Err("Invalid key\n")
        v = int(m.group(0))
        if v < 0:
            v += 1 << 64  # strtoul wraps a negative number
        if v > U32:
            return _Err("Invalid key\n")
        return v
    if ty == "string":
        return t.key_of(text.encode("latin-1"))
    what = {"show": "Showing keys from", "clear": "Removing keys from", "set": "Inserting keys into"}[verb]
    return _Err(f"{what} tables of type other than ip, ipv6, string and integer is not supported\n")


class _Err(str):
    pass


def _filters(t: StickTable, w: list[str]) -> list[tuple[str, Any, int]] | str:
    """``data.<type> <op> <value>`` filters from ``w`` (the words after the table name)."""
    out: list[tuple[str, Any, int]] = []
    i = 0
    n = 1
    while i < len(w):
        if n > MAX_FILTERS:
            return f"Detected extra data in filter, {i + 4}th word of input, after '{w[i - 1]}'\n"
        a = w[i]
        if not a.startswith("data."):
            return f"Filter entry #{n}: Unknown data type\n" if n > 1 else \
                'Optional argument only supports "data.<store_data_type>" <operator> <value> and key <key>\n'
        name = a[5:]
        if name not in BY_NAME or name == "server_key":
            return f"Filter entry #{n}: Unknown data type\n"
        op = w[i + 1] if i + 1 < len(w) else ""
        if op not in _OPS:
            return f'Filter entry #{n}: Require and operator among "eq", "ne", "le", "ge", "lt", "gt"\n'
        val = w[i + 2] if i + 2 < len(w) else ""
        if not _LL.match(val):
            return f"Filter entry #{n}: Require a valid integer value to compare against\n"
        if name not in t.slot:
            return f"Filter entry #{n}: Data type not stored in this table\n"
        out.append((name, _OPS[op], int(val)))
        i += 3
        n += 1
    return out


NO_PRIV = "# contents not dumped due to insufficient privileges\n"


def show_table(tables: dict[str, StickTable], w: list[str], now: int, oper: bool = True) -> str:
    """``w``: the words after ``show table``; below the operator level a table's contents are
    not shown (2.6 says so under the header)."""
    if not w or not w[0]:
        return "".join(header(t, now) for t in reversed(tables.values()))
    t = tables.get(w[0])
    if t is None:
        return NO_TABLE
    rest = w[1:]
    if rest and rest[0] == "key":
        key = _key_arg(t, rest, "show")
        if isinstance(key, _Err):
            return str(key)
        e = t.lookup(key, now)
        if e is None:
            return ""
        if not oper:
            return header(t, now) + NO_PRIV
        return header(t, now) + entry_line(t, e, now)
    f = _filters(t, rest)
    if isinstance(f, str):
        return f
    out = [header(t, now)]
    if not oper:
        return out[0] + NO_PRIV
    for e in t.sorted_entries(now):
        if all(op(_data(t, e, name, now), v) for name, op, v in f):
            out.append(entry_line(t, e, now))
    return "".join(out)


def clear_table(tables: dict[str, StickTable], w: list[str], now: int, oper: bool) -> str:
    if not w or not w[0]:
        return 'Required arguments: <table> "data.<store_data_type>" <operator> <value> or <table> key <key>\n'
    t = tables.get(w[0])
    if t is None:
        return NO_TABLE
    rest = w[1:]
    if rest and rest[0] == "key":
        key = _key_arg(t, rest, "clear")
        if isinstance(key, _Err):
            return str(key)
        if not oper:
            return DENIED
        e = t.lookup(key, now)
        if e is None:
            return ""
        if e.ref:
            return "Entry currently in use, cannot remove\n"
        t.remove(e)
        return ""
    f = _filters(t, rest)
    if isinstance(f, str):
        return f
    for e in list(t.sorted_entries(now)):
        if e.ref:
            continue
        if all(op(_data(t, e, name, now), v) for name, op, v in f):
            t.remove(e)
    return ""


def set_table(tables: dict[str, StickTable], w: list[str], now: int, oper: bool) -> str:
    if not w or not w[0]:
        return "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n"
    t = tables.get(w[0])
    if t is None:
        return NO_TABLE
    rest = w[1:]
    if not rest:
        # 2.6: "set table <t>" alone goes through the dump that clear uses, and so clears the
        # entries not in use
        for e in list(t.sorted_entries(now)):
            if not e.ref:
                t.remove(e)
        return ""
    if rest[0].startswith("data."):
        return 'content-based lookup is only supported with the "show" and "clear" actions\n'
    if rest[0] != "key":
        return 'Optional argument only supports "data.<store_data_type>" <operator> <value> and key <key>\n'
    key = _key_arg(t, rest, "set")
    if isinstance(key, _Err):
        return str(key)
    if not oper:
        return DENIED
    got = t.get(key, now)
    if got is None:
        return "Unable to allocate a new entry\n"
    e = got
    t.touch(e, now)
    i = 2
    while i < len(rest):
        a = rest[i]
        if not a.startswith("data."):
            return '"data.<type>" followed by a value expected\n'
        name = a[5:]
        if name not in BY_NAME or name == "server_key":
            return "Unknown data type\n"
        if name not in t.slot:
            return "Data type not stored in this table\n"
        val = rest[i + 1] if i + 1 < len(rest) else ""
        if not _LL.match(val):
            return "Require a valid integer value to store\n"
        v = int(val)
        dt = BY_NAME[name]
        j = t.slot[name]
        cur = e.d[j]
        if isinstance(cur, list):
            holder, idx = cur, 0
            cur = cur[0]
        else:
            holder, idx = e.d, j
        if dt.std == "frqp":
            c = cur if isinstance(cur, FreqCtr) else FreqCtr()
            c.tick = now  # 2.6: both periods as if the value had been measured just now
            c.prev = 0
            c.curr = v & U32
            holder[idx] = c
        elif dt.std == "sint":
            v &= U32
            holder[idx] = v - (1 << 32) if v & 0x80000000 else v
        elif dt.std == "ull":
            holder[idx] = v & U64
        else:
            holder[idx] = v & U32
        if t.shared:  # several workers: the sum of their shares is v
            t.rebase(e, name, now)
        i += 2
    return ""
