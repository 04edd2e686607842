"""Configuration diagnostics: HAProxy's message text plus our precise location and hints.

A :class:`Diagnostic` carries two things:

* ``haproxy``: the exact text HAProxy 2.6 prints after ``config : `` (for ``-c`` parity);
* our extras: ``loc`` (file, line, column of the offending word), the source ``line``, what was
  ``expected`` and a ``suggestion`` (did-you-mean).

Pure module: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from haproxy_py.config.model import Location

NOTICE = "NOTICE"
WARNING = "WARNING"
ALERT = "ALERT"
DIAG = "DIAG"

#: phases: errors found while reading lines make HAProxy print "Error(s) found in configuration
#: file : F"; errors found by the post-parse checks do not.
PARSE = "parse"
POST = "post"


@dataclass(slots=True)
class Diagnostic:
    severity: str
    haproxy: str
    loc: Location | None = None
    line: str | None = None
    expected: str | None = None
    suggestion: str | None = None
    fatal: bool = False
    phase: str = PARSE
    #: a deliberate difference from HAProxy 2.6 (the message says so)
    ours: bool = False
    #: its rank among the messages added (set by ``Diagnostics.add``)
    seq: int = 0

    @property
    def text(self) -> str:
        return self.haproxy

    def extra_lines(self) -> list[str]:
        """Our additions, printed after HAProxy's line as ``   | `` continuation lines."""
        out: list[str] = []
        if self.loc is not None and self.loc.line > 0:
            where = f"{self.loc.file}:{self.loc.line}:{self.loc.col}"
            if self.line is not None:
                src = self.line.rstrip("\n")
                if len(src) > 200:
                    src = src[:200] + "..."
                out.append(f"   | at {where}: {src.strip()}")
                indent = len(src) - len(src.lstrip())
                caret_col = max(self.loc.col - 1 - indent, 0)
                if caret_col <= 200:
                    out.append("   | " + " " * (len(f"at {where}: ") + caret_col) + "^")
            else:
                out.append(f"   | at {where}")
        if self.expected:
            out.append(f"   | expected: {self.expected}")
        if self.suggestion:
            out.append(f"   | did you mean '{self.suggestion}' ?")
        return out


TAGS = {NOTICE: "[NOTICE]   ", WARNING: "[WARNING]  ", ALERT: "[ALERT]    ", DIAG: "[DIAG]     "}


class Diagnostics:
    """The list of messages produced while loading a configuration."""

    __slots__ = ("messages", "files_with_errors", "aborted", "diag_mode", "fatal_lines", "stopped", "file_ends",
                 "_added")

    def __init__(self) -> None:
        self.messages: list[Diagnostic] = []
        self.files_with_errors: list[str] = []
        #: the reading stopped (2.6 aborts on a bad conditional block or ``.alert``: no later line,
        #: file or post-parse check is read, and no "Fatal errors found" line is printed)
        self.aborted = False
        #: -dD: the ``.diag`` directive's messages are shown (severity DIAG)
        self.diag_mode = False
        #: per file, the lines with a fatal error found while reading (2.6 stops reading a file
        #: when they reach 50)
        self.fatal_lines: dict[str, set[int]] = {}
        #: the files whose reading stopped there
        self.stopped: set[str] = set()
        #: (messages added by then, file) at the end of each file's reading: 2.6 says "Error(s)
        #: found in configuration file : F" there, before the next file's messages
        self.file_ends: list[tuple[int, str]] = []
        self._added = 0

    # -- adding
    def add(self, d: Diagnostic) -> Diagnostic:
        d.seq = self._added
        self._added += 1
        self.messages.append(d)
        if d.fatal and d.phase == PARSE and d.loc is not None:
            if d.loc.file not in self.files_with_errors:
                self.files_with_errors.append(d.loc.file)
            self.fatal_lines.setdefault(d.loc.file, set()).add(d.loc.line)
        return d

    def end_file(self, path: str) -> None:
        """The reading of ``path`` is over (see ``file_ends``)."""
        self.file_ends.append((self._added, path))

    def alert(self, text: str, loc: Location | None = None, *, line: str | None = None,
              expected: str | None = None, suggestion: str | None = None, fatal: bool = True,
              phase: str = PARSE, ours: bool = False) -> Diagnostic:
        return self.add(Diagnostic(ALERT, text, loc, line, expected, suggestion, fatal, phase, ours))

    def warning(self, text: str, loc: Location | None = None, *, line: str | None = None,
                expected: str | None = None, suggestion: str | None = None, phase: str = PARSE,
                ours: bool = False) -> Diagnostic:
        return self.add(Diagnostic(WARNING, text, loc, line, expected, suggestion, False, phase, ours))

    def notice(self, text: str, loc: Location | None = None, *, line: str | None = None,
               phase: str = PARSE, ours: bool = False) -> Diagnostic:
        return self.add(Diagnostic(NOTICE, text, loc, line, None, None, False, phase, ours))

    # -- reading
    @property
    def has_errors(self) -> bool:
        return any(d.fatal for d in self.messages)

    @property
    def parse_failed(self) -> bool:
        """An error while reading the lines: 2.6 then stops before its post-parse checks."""
        return any(d.fatal and d.phase == PARSE for d in self.messages)

    def drop_post(self) -> None:
        """Forget the post-parse findings made while reading (2.6 makes them after reading, and
        does not when reading failed)."""
        self.messages = [d for d in self.messages if d.phase != POST]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.messages if d.fatal]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.messages if d.severity == WARNING]

    @property
    def notices(self) -> list[Diagnostic]:
        return [d for d in self.messages if d.severity == NOTICE]

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def extend(self, other: Iterable[Diagnostic]) -> None:
        for d in other:
            self.add(d)

    def format(self, pid: int, *, extras: bool = True) -> list[str]:
        """Lines as ``haproxy -c`` prints them on stderr (without the two leading NOTICEs), with
        "Error(s) found in configuration file : F" after the last message of the reading of each
        file F that had an error, as 2.6 says it once it read F (before the next file's lines). A
        reading error on F's lines found once every file was read (the addresses, resolved after
        reading here, while reading in 2.6) goes with F's other messages, before that line."""
        bad = set(self.files_with_errors)
        ends = {f: (n, k) for k, (n, f) in enumerate(self.file_ends)}
        ends.update((f, (self._added, len(ends) + k)) for k, f in enumerate(self.files_with_errors) if f not in ends)
        starts = dict(zip((f for _, f in self.file_ends), [0] + [n for n, _ in self.file_ends], strict=False))
        late = len(ends)  # after the "Error(s)" lines said at the same rank
        keyed: list[tuple[tuple[int, int, int, int, int, int], Diagnostic | str]] = [
            ((n, 0, k, 1, 0, 0), f) for f, (n, k) in ends.items() if f in bad]
        for d in self.messages:
            end = ends.get(d.loc.file) if d.loc is not None and d.phase == PARSE else None
            if d.loc is None or end is None or d.seq < end[0]:
                keyed.append(((d.seq, 1, 0, 0, 0, 0), d))
                continue
            # before the first message of the file's reading about a later line, else at its end
            start, line = starts.get(d.loc.file, end[0]), d.loc.line
            nxt = next((m.seq for m in self.messages if start <= m.seq < end[0] and m.loc is not None
                        and m.loc.file == d.loc.file and m.loc.line > line), None)
            key = (nxt, 0, late, 0, line, d.seq) if nxt is not None else (end[0], 0, end[1], 0, line, d.seq)
            keyed.append((key, d))
        keyed.sort(key=lambda t: t[0])
        out: list[str] = []
        for _, item in keyed:
            if isinstance(item, str):
                out.append(f"{TAGS[ALERT]}({pid}) : config : Error(s) found in configuration file : {item}")
                continue
            d = item
            first, *rest = d.haproxy.split("\n")
            out.append(f"{TAGS[d.severity]}({pid}) : config : {first}")
            out.extend(rest)
            if extras:
                out.extend(d.extra_lines())
        return out

    def __repr__(self) -> str:
        return f"Diagnostics({[f'{d.severity}: {d.haproxy}' for d in self.messages]!r})"


# --------------------------------------------------------------------------- did you mean
# HAProxy suggests a keyword by comparing "fingerprints": counts of pairs of consecutive
# character classes (letters a-z, any digit, anything else, word begin/end). The closest candidate
# wins if the distance is small compared to the length of both words.


def _cls(ch: str) -> int:
    """2.6's character classes: letters 1..26 (either case), digits 27, anything else 28 (also the
    class of the word's beginning and end)."""
    o = ord(ch)
    if 97 <= o <= 122:
        return o - 96
    if 65 <= o <= 90:
        return o - 64
    if 48 <= o <= 57:
        return 27
    return 28


def fingerprint(word: str, fp: dict[int, int] | None = None) -> dict[int, int]:
    """The transitions between the classes of consecutive characters (beginning and end included),
    counted at 32 * from + to, plus one mark per class present (at its own index, row 0); with
    ``fp``, added to it (2.6's update_word_fingerprint: several words in one fingerprint)."""
    if fp is None:
        fp = {}
    prev = 28
    for ch in word:
        c = _cls(ch)
        fp[c] = 1
        k = prev * 32 + c
        fp[k] = fp.get(k, 0) + 1
        prev = c
    k = prev * 32 + 28
    fp[k] = fp.get(k, 0) + 1
    return fp


def fp_distance(a: dict[int, int], b: dict[int, int]) -> int:
    dist = 0
    for k, v in a.items():
        dist += abs(v - b.get(k, 0))
    for k, v in b.items():
        if k not in a:
            dist += v
    return dist


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate HAProxy would suggest for ``word``, or None (the first of the closest)."""
    if not word:
        return None
    fw = fingerprint(word)
    best: str | None = None
    best_d = 1 << 30
    for cand in candidates:
        d = fp_distance(fw, fingerprint(cand))
        if d < best_d:
            best_d, best = d, cand
    if best is None:
        return None
    if best_d > 2 * len(word) or best_d > 2 * len(best):
        return None
    return best
