"""A detached tmux session on a private tmux server, for tests of terminal programs (hatop, the TUI).

The test reads the screen with ``capture-pane`` and types with ``send-keys``; ``close`` kills the
private server (``tmux -L NAME kill-server``), which ends the program it ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable

TMUX = shutil.which("tmux") or "/usr/bin/tmux"


class Tmux:
    """One session ``t`` running ``command`` on the tmux server ``-L PREFIX-PID-NS``.

    ``wait`` retries its predicate until ``timeout`` (default ``wait_timeout``); the exceptions in
    ``tolerate`` raised by the predicate count as "not yet" (a row not drawn yet).
    """

    def __init__(self, command: str, width: int = 120, height: int = 30, *, prefix: str = "hpy-tmux",
                 wait_timeout: float = 15.0,
                 tolerate: tuple[type[Exception], ...] = (IndexError, ValueError, KeyError)) -> None:
        assert os.path.exists(TMUX), "tmux is required"
        self.name = f"{prefix}-{os.getpid()}-{time.monotonic_ns()}"
        self.wait_timeout = wait_timeout
        self.tolerate = tolerate
        subprocess.run([TMUX, "-L", self.name, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x",
                        str(width), "-y", str(height), command], check=True, timeout=10)

    def screen(self, escapes: bool = False) -> str:
        cmd = [TMUX, "-L", self.name, "capture-pane", "-p", "-t", "t"] + (["-e"] if escapes else [])
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([TMUX, "-L", self.name, "send-keys", "-t", "t", *keys], check=True, timeout=10)

    def wait(self, pred: Callable[[str], object], timeout: float | None = None) -> str:
        """The first screen for which ``pred`` is true; AssertionError with the last screen on timeout."""
        deadline = time.monotonic() + (self.wait_timeout if timeout is None else timeout)
        while True:
            s = self.screen()
            try:
                if pred(s):
                    return s
            except self.tolerate:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never matched; last screen:\n{s}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.name, "kill-server"], capture_output=True, timeout=10)
