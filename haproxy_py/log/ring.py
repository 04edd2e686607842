"""``ring NAME`` sections: in-memory event buffers that ``log ring@NAME`` targets write to, that
``show events NAME`` prints and whose ``server`` lines receive every line over TCP. Pure: the
engine (engine/ringfwd.py) owns the connections and asks a ``Ring`` for the lines after a
position.

What 2.6.12 does, as observed side by side (tests/integration/test_rings_vs_haproxy.py):

* a line is the log header of the ring's ``format`` (not the log target's) and the message, cut
  at the ring's ``maxlen`` bytes (the target's ``len`` applies too when it is shorter);
  ``rfc3164`` names the host ``localhost`` when ``log-send-hostname`` gives none;
* the ring keeps the newest lines that fit in ``size`` bytes (default 16384; a smaller new size
  is ignored with a warning; ``maxlen`` above the size is forced to it);
* a server gets every line the ring holds when it connects, then each new one, each line ended
  by ``\\n`` (2.6.12 sends no octet count in front of them); a connection the server closes is
  opened again and resumes after the last line sent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from haproxy_py.config.keywords import RING_FORMATS
from haproxy_py.config.model import Address, Section

__all__ = ["DEFAULT_SIZE", "RING_FORMATS", "RINGS", "Ring", "RingConf", "ring_conf", "install"]

DEFAULT_SIZE = 16384
#: 2.6 keeps a few bytes per message beside its text in the buffer
_OVERHEAD = 2


@dataclass(frozen=True)
class RingConf:
    name: str
    description: str
    format: str = "raw"
    maxlen: int = 0  # 0: the size
    size: int = DEFAULT_SIZE
    timeout_connect: int = 0  # ms, 0: none
    timeout_server: int = 0
    servers: tuple[tuple[str, Address], ...] = ()


class Ring:
    """The lines of one ring, oldest first; ``seq`` numbers them for the forwarders."""

    __slots__ = ("conf", "lines", "used", "first", "waiters", "fmt", "maxlen")

    def __init__(self, conf: RingConf) -> None:
        self.conf = conf
        self.fmt = conf.format
        self.maxlen = conf.maxlen or conf.size
        self.lines: deque[bytes] = deque()
        self.used = 0
        #: sequence number of ``lines[0]``
        self.first = 0
        #: called (without argument) after each write: the engine's forwarders
        self.waiters: list[object] = []

    @property
    def next_seq(self) -> int:
        return self.first + len(self.lines)

    def write(self, line: bytes) -> None:
        line = line[:self.maxlen]
        need = len(line) + _OVERHEAD
        if need > self.conf.size:
            return
        while self.used + need > self.conf.size and self.lines:
            old = self.lines.popleft()
            self.used -= len(old) + _OVERHEAD
            self.first += 1
        self.lines.append(line)
        self.used += need
        for w in self.waiters:
            w()  # type: ignore[operator]

    def since(self, seq: int) -> tuple[int, list[bytes]]:
        """The lines from sequence ``seq`` on (from the oldest kept one when ``seq`` fell out),
        and the sequence number after them."""
        start = max(seq, self.first) - self.first
        out = [self.lines[i] for i in range(start, len(self.lines))]
        return self.next_seq, out

    def dump(self) -> str:
        return "".join(b.decode("latin-1") + "\n" for b in self.lines)


#: the rings of the running configuration, by name (built by ``install``)
RINGS: dict[str, Ring] = {}


def ring_conf(sec: Section) -> RingConf:
    """A checked ``ring`` section (config/build/sections.py reported its errors) as a RingConf."""
    from haproxy_py.config.grammar import parse_address, parse_size, parse_time

    desc = sec.name
    fmt = "raw"
    maxlen = 0
    size = DEFAULT_SIZE
    tc = ts = 0
    servers: list[tuple[str, Address]] = []
    for w in sec.lines:
        k = w[0]
        if k == "description" and len(w) > 1:
            desc = w[1]  # 2.6 keeps the first word
        elif k == "format" and len(w) > 1:
            fmt = w[1]
        elif k == "maxlen" and len(w) > 1:
            maxlen = parse_size(w[1]) or 0
        elif k == "size" and len(w) > 1:
            v = parse_size(w[1]) or 0
            if v > size:
                size = v
        elif k == "timeout" and len(w) > 2:
            tv = parse_time(w[2])
            ms = tv.value if tv.error is None else 0
            if w[1] == "connect":
                tc = ms
            elif w[1] == "server":
                ts = ms
        elif k == "server" and len(w) > 2:
            addr, _ = parse_address(w[2], need_port=True)
            servers.append((w[1], addr))
    if maxlen > size:
        maxlen = size
    return RingConf(sec.name, desc, fmt, maxlen, size, tc, ts, tuple(servers))


def install(sections: tuple[Section, ...]) -> dict[str, Ring]:
    """Build the rings of a configuration into ``RINGS`` (replacing the previous ones)."""
    RINGS.clear()
    for sec in sections:
        if sec.kind == "ring" and sec.name not in RINGS:
            RINGS[sec.name] = Ring(ring_conf(sec))
    return RINGS
