"""Compare health-check log sequences of two proxies (ours vs Debian's HAProxy), timing excluded. Pure.

For the differential tests: collect the syslog datagrams each proxy sent (any format with the
``haproxy[PID]: `` tag, or bare texts), then ``diff_check_logs(ours, theirs)`` returns a list of
human-readable differences (empty = same). Lines are grouped per backend because the order between
backends depends on timing; within a backend the order must match. Only state-change lines count
(``Server ...``, ``Backup Server ...``, ``backend ... has no server available!``, ``Health check ...``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_PRI = re.compile(r"^<(\d+)>")
_TAG = re.compile(r"haproxy\[\d+\]: ")
_DUR = re.compile(r"check duration: \d+ms")
_BE = re.compile(r"^(?:Backup )?Server ([^/ ]+)/|^backend (\S+) has no server|^(?:Health|Agent) check for "
                 r"(?:backup )?server ([^/ ]+)/")


def normalize(line: str) -> tuple[int | None, str] | None:
    """(severity or None, text with timing masked) for a state-change line, None for other lines."""
    line = line.rstrip("\r\n")
    sev = None
    m = _PRI.match(line)
    if m:
        sev = int(m.group(1)) & 7
    t = _TAG.search(line)
    text = line[t.end():] if t else line[m.end():] if m else line
    if _BE.match(text) is None:
        return None
    return sev, _DUR.sub("check duration: <T>ms", text)


def by_backend(lines: Iterable[str]) -> dict[str, list[tuple[int | None, str]]]:
    out: dict[str, list[tuple[int | None, str]]] = {}
    for line in lines:
        n = normalize(line)
        if n is None:
            continue
        m = _BE.match(n[1])
        assert m is not None
        be = m.group(1) or m.group(2) or m.group(3)
        out.setdefault(be, []).append(n)
    return out


def diff_check_logs(ours: Iterable[str], theirs: Iterable[str], *, severities: bool = True) -> list[str]:
    """Differences between two log captures, per backend, ignoring check durations."""
    a, b = by_backend(ours), by_backend(theirs)
    diffs: list[str] = []
    for be in sorted(set(a) | set(b)):
        la, lb = a.get(be, []), b.get(be, [])
        if not severities:
            la = [(None, t) for _s, t in la]
            lb = [(None, t) for _s, t in lb]
        for i in range(max(len(la), len(lb))):
            x = la[i] if i < len(la) else None
            y = lb[i] if i < len(lb) else None
            if x != y:
                diffs.append(f"{be}[{i}]: ours={x!r} haproxy={y!r}")
    return diffs
