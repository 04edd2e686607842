"""The agent check's reply (``agent-check``): one line of words the server's agent sends. Pure.

What 2.6 reads in it: the line ends at the first CR or LF (without one, the reply is incomplete:
the check waits for more unless the agent closed); words are separated by spaces, tabs or commas,
compared without case; a ``#`` starts a description (the rest of the line, leading blanks
skipped) that only a health word reports. Of each kind the last word wins:

* health: ``up`` (L7OK), ``down``, ``stopped``, ``fail`` (L7STS);
* admin: ``ready``, ``drain``, ``maint``;
* weight: a word starting with a digit and containing ``%`` (relative to the initial weight);
* ``maxconn:N``;
* anything else is an error word (the first is reported).

:func:`parse_reply` gives an :class:`AgentReply`; ``checks.health.apply_agent_reply`` applies it to
the server in 2.6's order (admin state, weight, maxconn, then the health and the text).
"""

from __future__ import annotations

_SEPS = " \t,"


class AgentReply:
    __slots__ = ("health", "admin", "weight", "maxconn", "error", "desc")

    def __init__(self) -> None:
        self.health: str | None = None  # the word as sent (its text is reported)
        self.admin: str | None = None  # ready | drain | maint (lower case)
        self.weight: str | None = None
        self.maxconn: str | None = None  # what follows "maxconn:"
        self.error: str | None = None
        self.desc = ""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return (f"AgentReply(health={self.health!r}, admin={self.admin!r}, weight={self.weight!r}, "
                f"maxconn={self.maxconn!r}, error={self.error!r}, desc={self.desc!r})")


def line_end(buf: bytes) -> int:
    """Where the reply's line ends (CR or LF), -1 when it has not ended (a NUL ends the text
    without ending the line, as 2.6 reads it as a C string)."""
    for i, c in enumerate(buf):
        if c in (10, 13):
            return i
        if c == 0:
            return -1
    return -1


def parse_reply(line: str) -> AgentReply:
    """The words of one reply line (without its end)."""
    r = AgentReply()
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in _SEPS:
            i += 1
            continue
        if c == "#":
            i += 1
            while i < n and line[i] in " \t":
                i += 1
            r.desc = line[i:].lstrip(" \n")
            return r
        j = i + 1
        while j < n and line[j] not in " \t,\n":
            j += 1
        word = line[i:j]
        i = j + 1
        low = word.lower()
        if low in ("up", "down", "stopped", "fail"):
            r.health = word
        elif low in ("ready", "drain", "maint"):
            r.admin = low
        elif word[0].isdigit() and "%" in word:
            r.weight = word
        elif low.startswith("maxconn:"):
            r.maxconn = word[8:]
        elif r.error is None:
            r.error = word
    return r


def maxconn_error(text: str) -> tuple[str | None, int]:
    """``maxconn:N``'s value as 2.6 reads it: ``(error, value)`` (error None when valid)."""
    if not text:
        return "Require <maxconn>.\n", 0
    i = 1 if text[0] in "+-" else 0
    j = i
    while j < len(text) and text[j].isdigit():
        j += 1
    if j == i:
        return "maxconn string empty or preceded by garbage", 0
    if j < len(text):
        return "Trailing garbage in maxconn string", 0
    return None, int(text[:j])
