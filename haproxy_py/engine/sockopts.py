"""Socket options a configuration asks for on the connections (config/build/sockopts.py): TCP
keep-alive at accept (a frontend's client side) and at connect (a backend's server side).

2.6 sets them with setsockopt and ignores its errors (a count the kernel refuses leaves its
default); a value of 0 leaves the kernel's default, as 2.6 skips it.
"""

from __future__ import annotations

import socket

_KEEP = tuple(getattr(socket, n, None) for n in ("TCP_KEEPCNT", "TCP_KEEPIDLE", "TCP_KEEPINTVL"))


def _cint(v: int) -> int:
    """An unsigned 32-bit value as the C int setsockopt reads."""
    return v - (1 << 32) if v & 0x80000000 else v


def set_keepalive(s: socket.socket, ka: tuple[int, int, int]) -> None:
    """SO_KEEPALIVE, then TCP_KEEPCNT / TCP_KEEPIDLE / TCP_KEEPINTVL for the non-zero values."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    except OSError:
        return
    for opt, v in zip(_KEEP, ka, strict=True):
        if v and opt is not None:
            try:
                s.setsockopt(socket.IPPROTO_TCP, opt, _cint(v))
            except OSError:
                pass
