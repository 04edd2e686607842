"""The master CLI (``-S``) as 2.6's master process reads it, sans-IO: one session's state and what
each request line asks for.

A line is split into commands at ``;``. A command starting with ``@<relative pid>``,
``@!<pid>`` or ``@master`` goes to that process (alone, the prefix makes it the session's
target for the next commands: the prompt then shows the worker's pid); the others run here:
``help``, ``prompt``, ``quit``, ``operator``/``user`` (the level only goes down, 2.6's
"Permission denied!" otherwise), ``show cli level``, ``show cli sockets``, ``show version``,
``experimental-mode`` (kept for the commands sent to the workers, printing nothing;
``expert-mode on`` and ``mcli-debug-mode on`` are refused: what they unlock is not implemented), and, left to the engine, ``show proc`` and ``reload``. Anything else
gets 2.6's usage message over the master's commands. A command sent to a worker carries the
session's level and experimental mode (2.6 sends the modes after the level: below admin each
mode on is refused, "Permission denied" before the command's reply, here too).

:meth:`MasterCli.plan` returns the steps: text to write, a command for a worker, or a command for
the engine; the engine runs them in order (engine/workers.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from haproxy_py.stats.commands import (
    ADMIN,
    CLI,
    COMMANDS,
    OPERATOR,
    USER,
    Command,
    _registered,
    split_commands,
    usage_message,
)
from haproxy_py.stats.info import VERSION

__all__ = ["MasterCli", "Forward", "Engine", "split_raw", "MASTER_VISIBLE"]

#: the worker-CLI commands 2.6's master also has (besides its own, ``master`` in the table)
_ALSO = {("operator",), ("user",), ("show", "cli", "level"), ("show", "cli", "sockets"), ("show", "version"),
         ("help",), ("prompt",), ("quit",), ("expert-mode",), ("experimental-mode",)}
#: what the master's help and usage messages look at, in 2.6's registration order
MASTER_VISIBLE: tuple[Command, ...] = tuple(sorted((c for c in COMMANDS if c.master or c.words in _ALSO),
                                                   key=_registered))
_LEVEL_NAMES = ("user", "operator", "admin")
#: what the master itself reads from a line whatever the session's target (2.6's pcli keywords)
_SESSION = frozenset(("prompt", "quit", "operator", "user", "expert-mode", "experimental-mode", "mcli-debug-mode"))


@dataclass(frozen=True, slots=True)
class Forward:
    """Send ``line`` to worker ``idx`` (0-based) at ``level``, in experimental mode or not."""
    idx: int
    line: str
    level: str
    experimental: bool


@dataclass(frozen=True, slots=True)
class Engine:
    """A master command the engine runs (``show proc``, ``reload``)."""
    words: tuple[str, ...]


Step = str | Forward | Engine


def split_raw(line: str) -> list[str]:
    """The commands of a line as written (``;`` separates them; ``\\`` escapes the next byte)."""
    out: list[str] = []
    start = i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if ch == "\\":
            i += 2
            continue
        if ch == ";":
            out.append(line[start:i])
            start = i + 1
        i += 1
    out.append(line[start:])
    return out


class MasterCli:
    """One connection to the master CLI."""

    __slots__ = ("level", "interactive", "closing", "target", "experimental", "expert", "debug")

    def __init__(self, level: int = ADMIN) -> None:
        self.level = level
        self.interactive = False
        self.closing = False
        #: where a command without a prefix goes: None (the master) or a worker's pid
        self.target: int | None = None
        self.experimental = self.expert = self.debug = False

    def prompt(self) -> str:
        """The target (``master`` or the worker's pid) and the session's modes: x experimental,
        e expert, d mcli-debug (``master(x)> ``)."""
        modes = "x" * self.experimental + "e" * self.expert + "d" * self.debug
        return f"{'master' if self.target is None else self.target}{f'({modes})' if modes else ''}> "

    def plan(self, line: str, pids: list[int]) -> list[Step]:
        """The steps for one request line (``pids``: the workers', in their relative order)."""
        steps: list[Step] = []
        parts = split_raw(line.rstrip("\r\n"))
        for raw in parts:
            if self.closing:
                break
            text = raw.strip(" \t")  # (an empty command, a trailing ';' too, gets the usage message)
            words = (split_commands(text) or [[]])[0]
            target = self.target
            prefixed = bool(words) and words[0].startswith("@")
            if prefixed:
                pre = words[0]
                if pre == "@master":
                    target = None
                elif pre == "@":
                    pass
                else:
                    pid = self._pid(pre, pids)
                    if pid is None:  # 2.6 ends the connection there
                        steps.append(f"Can't find the target PID matching the prefix '{pre}'\n")
                        self.closing = True
                        break
                    target = pid
                text = text[len(pre):].lstrip(" \t")
                words = words[1:]
                if not words:
                    if pre != "@":
                        self.target = target
                    if self.interactive:
                        steps.append(self.prompt())
                    continue
            if words and words[0] in _SESSION and not prefixed:  # (after a prefix: for the target)
                out = self._session(words)
                if out is None:  # refused: 2.6 ends the connection there
                    steps.append("Permission denied!\n")
                    self.closing = True
                    break
                steps.append(out)
            else:  # for a worker, or for the master's own CLI: the modes go first
                denied = self._denied()
                if denied:
                    steps.append(denied)
                if target is not None and target in pids:
                    steps.append(Forward(pids.index(target), text, _LEVEL_NAMES[self.level],
                                         self.experimental and self.level == ADMIN))
                else:
                    steps.append(self._here(words))
            if self.interactive:  # 2.6 prompts after each command (quit included)
                steps.append(self.prompt())
        return steps

    def _denied(self) -> str:
        """2.6 passes the session's modes before each command it sends (to a worker or to its
        own CLI), after its level: below admin, each mode on is refused there, one line each."""
        if self.level == ADMIN:
            return ""
        return "Permission denied\n" * (self.experimental + self.expert + self.debug)

    @staticmethod
    def _pid(pre: str, pids: list[int]) -> int | None:
        if pre.startswith("@!"):
            n = pre[2:]
            return int(n) if n.isdigit() and int(n) in pids else None
        n = pre[1:]
        return pids[int(n) - 1] if n.isdigit() and 1 <= int(n) <= len(pids) else None

    def _session(self, w: list[str]) -> str | None:
        """The commands about the session itself, which the master runs whatever the target: the
        prompt (toggled: the line goes on), quit, the level, the modes (admin only; any word but
        ``on`` turns a mode off). None: refused (a level above the session's)."""
        name = w[0]
        if name == "prompt":
            self.interactive = not self.interactive
            return ""
        if name == "quit":
            self.closing = True
            return ""
        want = OPERATOR if name == "operator" else USER if name == "user" else ADMIN
        if want > self.level:
            return None
        on = len(w) > 1 and w[1] == "on"
        if name == "experimental-mode":
            self.experimental = on
        elif name in ("expert-mode", "mcli-debug-mode"):
            if on:  # what they unlock is not implemented (the workers' expert-mode stays off too)
                return CLI.refusal(f"{name} on") + "\n\n"
            if name == "expert-mode":
                self.expert = False
            else:
                self.debug = False
        else:
            self.level = want
        return ""

    def _here(self, w: list[str]) -> Step:
        """A command for the master itself."""
        head = tuple(w[:3])
        if not w or w[0] == "help":
            return usage_message(MASTER_VISIBLE, w) + "\n"
        if head == ("show", "cli", "level"):
            return _LEVEL_NAMES[self.level] + "\n\n"
        if head[:3] == ("show", "cli", "sockets"):
            return "\n"
        if head[:2] == ("show", "version"):
            return VERSION + "\n\n"
        if head[:2] == ("show", "proc") or w[0] == "reload":
            return Engine(tuple(w))
        return usage_message(MASTER_VISIBLE, w) + "\n"
