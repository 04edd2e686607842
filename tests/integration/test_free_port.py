"""tests.conftest.free_port: the port picker every live test uses."""

from __future__ import annotations

import socket

from tests.conftest import FREE_PORT_RANGE, free_port


def test_free_port_never_repeats_and_stays_below_the_ephemeral_range() -> None:
    """bind(0) in a loop gives a port twice about once in 200 sets of 12 (two frontends of one
    test configuration then shared a port); free_port() does not, and its ports are bindable."""
    lo, hi = FREE_PORT_RANGE
    ports = [free_port() for _ in range(3000)]
    assert len(set(ports)) == len(ports)
    assert all(lo <= p < hi for p in ports)
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[-1]))


def test_free_port_skips_a_port_in_use() -> None:
    """A listener another socket holds in the range (not one free_port gave) is never handed out."""
    lo, hi = FREE_PORT_RANGE
    held = []
    try:
        for port in range(lo, hi, 7):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            s.listen(1)
            held.append(s)
        taken = {s.getsockname()[1] for s in held}
        assert len(taken) > 1000
        assert not taken & {free_port() for _ in range(1000)}
    finally:
        for s in held:
            s.close()
