"""2.6's ``buf0`` event sink: the in-memory ring the ``debug`` converter writes to and ``show
events buf0`` reads. Pure: lines are given their date by the caller.

2.6's ring holds 1 MB; this one keeps the last 10,000 lines (the oldest are dropped first, as
there).
"""

from __future__ import annotations

import time
from collections import deque

__all__ = ["BUF0", "SINKS", "emit", "event_line"]

BUF0: deque[str] = deque(maxlen=10000)
#: the sinks 2.6 knows without configuration; stdout and stderr are file descriptors here
SINKS = ("buf0", "stdout", "stderr")


def event_line(wall: float, tag: str, text: str) -> str:
    """``<0>2026-12-01T16:35:44.172613+00:00 [tag] text``: the local date with microseconds and
    the zone offset, as 2.6's rings print them."""
    tm = time.localtime(wall)
    off = tm.tm_gmtoff or 0
    sign = "+" if off >= 0 else "-"
    off = abs(off)
    us = int(round((wall - int(wall)) * 1_000_000)) % 1_000_000
    return (f"<0>{time.strftime('%Y-%m-%dT%H:%M:%S', tm)}.{us:06d}{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"
            f" [{tag}] {text}")


def emit(line: str) -> None:
    BUF0.append(line)
