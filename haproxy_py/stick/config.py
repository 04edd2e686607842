"""The ``stick-table`` line of a frontend, backend or listen section, parsed as 2.6 parses it.

``parse_stick_table(words, proxy)`` returns the :class:`~haproxy_py.stick.table.TableConf` and the
warnings, or raises :class:`StickConfError` with 2.6's message and the index of the word at fault.
"""

from __future__ import annotations

import re

from .table import BY_NAME, ORDER, TableConf

__all__ = ["StickConfError", "parse_stick_table", "parse_period"]

_UNITS = {"us": None, "ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}
_TIME = re.compile(r"(\d+)(us|ms|s|m|h|d)?\Z")
_SIZE = re.compile(r"(\d+)([kKmMgG]?)\Z")
MAX_TIME = 2147483647


class StickConfError(ValueError):
    def __init__(self, message: str, index: int, *, ours: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.ours = ours


def parse_period(text: str) -> int | str:
    """A time in ms, or the first unexpected character (2.6's parse_time_err)."""
    m = _TIME.match(text)
    if not m:
        j = 0
        while j < len(text) and text[j].isdigit():
            j += 1
        rest = text[j:]
        for u in ("us", "ms", "s", "m", "h", "d"):
            if rest.startswith(u):
                rest = rest[len(u):]
                break
        return rest[:1] or text[:1]
    n = int(m.group(1))
    unit = m.group(2)
    if unit == "us":
        return (n + 999) // 1000
    return n * (_UNITS[unit] if unit else 1)  # type: ignore[operator]


def _size(text: str) -> int | None:
    m = _SIZE.match(text)
    if not m:
        return None
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2).lower()]


def parse_stick_table(w: list[str], proxy: str) -> tuple[TableConf, list[tuple[str, int]]]:
    """``w`` the words of the line (``w[0]`` is ``stick-table``)."""
    P = "stick-table: "
    warnings: list[tuple[str, int]] = []
    ktype = None
    key_len = 0
    size = 0
    expire: int | None = None
    nopurge = False
    peers = None
    srvkey = "name"
    store: dict[str, tuple[int, int]] = {}
    i = 1
    n = len(w)
    while i < n:
        a = w[i]
        if a == "size":
            if i + 1 >= n or w[i + 1] == "":
                raise StickConfError(P + "missing argument after 'size'.", i)
            v = _size(w[i + 1])
            if v is None:
                raise StickConfError(P + f"unexpected character '{_junk(w[i + 1])}' in argument of 'size'.",
                                     i + 1)
            size = v
            i += 2
        elif a == "peers":
            if i + 1 >= n or w[i + 1] == "":
                raise StickConfError(P + "missing argument after 'peers'.", i)
            peers = w[i + 1]
            i += 2
        elif a == "expire":
            if i + 1 >= n or w[i + 1] == "":
                raise StickConfError(P + "missing argument after 'expire'.", i)
            t = parse_period(w[i + 1])
            if isinstance(t, str):
                raise StickConfError(P + f"unexpected character '{t}' in argument of 'expire'.", i + 1)
            if t > MAX_TIME:
                raise StickConfError(f"stick-table: timer overflow in argument <{w[i + 1]}> to <expire>, "
                                     "maximum value is 2147483647 ms (~24.8 days).", i + 1)
            expire = t
            i += 2
        elif a == "nopurge":
            nopurge = True
            i += 1
        elif a == "type":
            t = w[i + 1] if i + 1 < n else ""
            if t in ("ip", "ipv6", "integer"):
                ktype = t
                i += 2
            elif t in ("string", "binary"):
                ktype = t
                key_len = 32
                i += 2
                if i < n and w[i] == "len":
                    ln = w[i + 1] if i + 1 < n else ""
                    v = int(ln) if ln.isdigit() else 0
                    if not v:
                        raise StickConfError(P + f"unknown type '{ln}'.", i + 1)
                    key_len = v
                    i += 2
            else:
                raise StickConfError(P + f"unknown type '{t}'.", i + 1)
        elif a == "srvkey":
            k = w[i + 1] if i + 1 < n else ""
            if k not in ("name", "addr"):
                raise StickConfError(f"stick-table : unknown server key type '{k}'.", i + 1)
            srvkey = k
            i += 2
        elif a == "store":
            i += 1
            if i >= n:
                break
            for item in re.findall(r"[^,(]+(?:\([^)]*\))?", w[i]):
                if not item:
                    continue
                name, _, arg = item.partition("(")
                dt = BY_NAME.get(name)
                if dt is None or name == "server_key":
                    raise StickConfError(P + f"unknown store option '{name}'.", i)
                if name in store:
                    warnings.append((P + f"store option '{name}' already enabled, ignored.", i))
                    continue
                count = 0
                period = 0
                if dt.arg == "none":
                    if _:
                        raise StickConfError(P + f"unexpected argument to store option '{name}'.", i)
                else:
                    if not _ or not arg.endswith(")"):
                        raise StickConfError(P + f"missing argument to store option '{name}'.", i)
                    args = arg[:-1].split(",")
                    if dt.array:
                        c = int(args[0]) if args[0].isdigit() else 0
                        if not 1 <= c <= 100:
                            raise StickConfError(P + "array size is out of allowed range (1-100) for store "
                                                 f"option '{name}'.", i)
                        count = c
                        args = args[1:]
                        if dt.arg == "int" and args:
                            raise StickConfError(P + f"unexpected argument to store option '{name}'.", i)
                    if "delay" in dt.arg:
                        if not args or args[0] == "":
                            raise StickConfError(P + f"missing argument to store option '{name}'.", i)
                        t = parse_period(args[0])
                        if isinstance(t, str):
                            raise StickConfError(P + f"unexpected character '{t}' in argument to store option "
                                                 f"'{name}'.", i)
                        if t <= 0:
                            raise StickConfError(P + f"store option '{name}' has a period of 0: "
                                                 "haproxy-py refuses it (2.6 would divide by it).", i, ours=True)
                        period = t
                store[name] = (count, period)
            i += 1
        else:
            raise StickConfError(P + f"unknown argument '{a}'.", i)
    if not size:
        raise StickConfError(P + "missing size.", 0)
    if not ktype:
        raise StickConfError(P + "missing type.", 0)
    for single, arr in (("gpt0", "gpt"), ("gpc0", "gpc"), ("gpc1", "gpc")):
        if single in store and arr in store:
            raise StickConfError(P + f"simultaneous usage of '{arr}' and '{arr}[0/1]' in a same table is not "
                                 f"permitted as '{arr}' overrides '{arr}[0/1]'." if arr == "gpc" else
                                 P + "simultaneous usage of 'gpt' and 'gpt0' in a same table is not permitted "
                                 "as 'gpt' overrides 'gpt0'.", 0)
    if "gpc_rate" in store and ("gpc0_rate" in store or "gpc1_rate" in store):
        raise StickConfError(P + "simultaneous usage of 'gpc_rate' and 'gpc[0/1]_rate' in a same table is not "
                             "permitted as 'gpc_rate' overrides 'gpc[0/1]_rate'.", 0)
    items = tuple(sorted(((k, c, p) for k, (c, p) in store.items()), key=lambda x: ORDER[x[0]]))
    return TableConf(proxy, ktype, size, key_len, expire, nopurge, items, peers, srvkey), warnings


def _junk(text: str) -> str:
    for c in text:
        if not c.isdigit():
            return c
    return text[:1]
