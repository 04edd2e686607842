"""Helpers shared by the log unit tests (format, samples, syslog)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def utc_timezone(reset_clock: Callable[[], None]) -> Iterator[None]:
    """Run with ``TZ=UTC``; ``reset_clock`` drops cached date parts on entry and again on exit.

    The captured datagrams were produced in UTC, so the expected dates only match there. The
    previous ``TZ`` (or its absence) is restored afterwards.
    """
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    reset_clock()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
        reset_clock()
