"""``h1-case-adjust`` / ``h1-case-adjust-file``: the case in which header names go out to a peer
that wants them so (``option h1-case-adjust-bogus-client`` in a frontend: what is sent to the
client; ``option h1-case-adjust-bogus-server`` in a backend: what is sent to the server).

2.6 lower-cases every header name and gives the names of the map the map's case; a map entry is
found by the lower-case name, so an entry whose ``<from>`` has an upper-case letter never matches.
haproxy-py keeps header names as received (README): with the option, the names of the map go out
with the map's case, the others as they are.

The lines and the file are read by config/build/global_.py. Pure module.
"""

from __future__ import annotations


def lookup_map(entries: tuple[tuple[bytes, bytes], ...]) -> dict[bytes, bytes] | None:
    """The map the writer uses: lower-case name -> name to send; None when no entry can match."""
    m = {frm: to for frm, to in entries if frm == frm.lower()}
    return m or None


def adjust_head(head: bytes, cmap: dict[bytes, bytes]) -> bytes:
    """A serialised head (start line, header lines, empty line, maybe a body after it) with the
    names of ``cmap`` in its case."""
    end = head.find(b"\r\n\r\n")
    if end < 0:
        return head
    lines = head[:end].split(b"\r\n")
    changed = False
    for k in range(1, len(lines)):
        ln = lines[k]
        c = ln.find(b":")
        if c <= 0:
            continue
        name = ln[:c]
        to = cmap.get(name.lower())
        if to is not None and to != name:
            lines[k] = to + ln[c:]
            changed = True
    if not changed:
        return head
    return b"\r\n".join(lines) + head[end:]
