"""log/ring.py: what a ring keeps (the newest lines within its size, cut at maxlen) and what a
forwarder gets after a position."""

from __future__ import annotations

from haproxy_py.config.model import Location, Section
from haproxy_py.log.ring import Ring, RingConf, ring_conf


def test_ring_keeps_newest_lines_within_size_and_cuts_at_maxlen() -> None:
    r = Ring(RingConf("r", "r", maxlen=10, size=40))
    for i in range(10):
        r.write(b"line%d-abcdefgh" % i)
    assert all(len(x) == 10 for x in r.lines)
    assert r.used <= 40 and len(r.lines) == 3
    assert r.lines[-1] == b"line9-abcd" and r.first == 7
    nxt, got = r.since(0)  # fell out: from the oldest kept
    assert nxt == 10 and got == list(r.lines)
    assert r.since(9) == (10, [b"line9-abcd"]) and r.since(10) == (10, [])
    assert r.dump() == "line7-abcd\nline8-abcd\nline9-abcd\n"


def test_ring_conf_reads_the_section_as_haproxy_does() -> None:
    sec = Section("ring", "r1", (("description", "a", "b"), ("format", "rfc5424"), ("maxlen", "90000"),
                                 ("size", "32k"), ("size", "100"), ("timeout", "connect", "2s"),
                                 ("server", "s1", "127.0.0.1:1514")), Location("f", 1, 1))
    c = ring_conf(sec)
    assert (c.description, c.format, c.size, c.maxlen, c.timeout_connect) == ("a", "rfc5424", 32768, 32768, 2000)
    assert c.servers[0][1].port_lo == 1514
