"""The server parameters of agent checks that need more than a number (``agent-addr``,
``agent-send``). The builder calls :func:`parse_server_param` from its server line; a name in
``agent-addr`` is resolved there (libc), at load time, as 2.6 does.

``agent-check``, ``agent-port`` and ``agent-inter`` are read with the other server numbers and
flags; a server with ``agent-check`` and no ``agent-port`` is refused with 2.6's words.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

Resolve = Callable[[str], "str | None"]


def _inet_aton(text: str) -> str | None:
    """inet_aton's IPv4 forms: 1 to 4 parts, each decimal, 0x hex or 0 octal, the last filling the
    remaining bytes ("127.1", "0x7f000001", "10")."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    vals = []
    for part in parts:
        try:
            v = int(part, 16) if part[:2].lower() == "0x" else int(part, 8) if part[:1] == "0" and len(part) > 1 \
                else int(part, 10) if part.isdigit() else -1
        except ValueError:
            return None
        if v < 0:
            return None
        vals.append(v)
    *head, last = vals
    if any(v > 255 for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    n = 0
    for v in head:
        n = n << 8 | v
    n = n << (8 * (4 - len(head))) | last
    return str(ipaddress.IPv4Address(n))


def parse_server_param(kw: str, arg: str, resolve: Resolve | None = None) -> tuple[str, str | None]:
    """``(error, value)`` for ``agent-addr ADDR`` / ``agent-send STRING``; error "" when valid.
    ``resolve`` turns a name into an address (the builder passes libc's), as 2.6 does at load."""
    if kw == "agent-send":
        return "", arg
    try:
        return "", str(ipaddress.ip_address(arg))
    except ValueError:
        pass
    v4 = _inet_aton(arg)
    if v4 is not None:
        return "", v4
    addr = resolve(arg) if resolve is not None and arg else None
    if addr is None:
        return f"parsing agent-addr failed. Check if '{arg}' is correct address..", None
    return "", addr
