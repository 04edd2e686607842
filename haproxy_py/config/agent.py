"""The server parameters of agent checks that need more than a number (``agent-addr``,
``agent-send``). Pure; the builder calls :func:`parse_server_param` from its server line.

``agent-check``, ``agent-port`` and ``agent-inter`` are read with the other server numbers and
flags; a server with ``agent-check`` and no ``agent-port`` is refused with 2.6's words.
"""

from __future__ import annotations

import ipaddress


def parse_server_param(kw: str, arg: str) -> tuple[str, str | None]:
    """``(error, value)`` for ``agent-addr ADDR`` / ``agent-send STRING``; error "" when valid."""
    if kw == "agent-send":
        return "", arg
    try:
        ipaddress.ip_address(arg)
    except ValueError:
        return (f"'agent-addr' expects an IPv4 or IPv6 address; haproxy-py does not resolve a name here "
                f"(got '{arg}')."), None
    return "", arg
