"""Socket options a configuration asks for on the connections (config/build/sockopts.py): TCP
keep-alive at accept (a frontend's client side) and at connect (a backend's server side), a bind's
negative ``mss`` at accept (the listening socket's own options: engine/listener.py).

2.6 sets them with setsockopt and ignores its errors (a count the kernel refuses leaves its
default); a value of 0 leaves the kernel's default, as 2.6 skips it.
"""

from __future__ import annotations

import socket
from typing import Any

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


def on_accept(s: socket.socket, conf: Any, bind: Any) -> None:
    """What a frontend sets on each accepted TCP connection, in 2.6's order (session_accept_fd):
    keep-alive, then a negative bind ``mss`` lowers the connection's MSS by that much."""
    if conf.cli_tcpka is not None:
        set_keepalive(s, conf.cli_tcpka)
    mss = bind.param("mss")
    if isinstance(mss, int) and mss < 0:
        try:
            cur = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, cur + mss)
        except OSError:
            pass
