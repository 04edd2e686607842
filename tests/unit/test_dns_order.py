"""The pure parts of name resolution: 2.6's record order (XXH32), its choice of a server's address
and the nameserver address forms."""

from __future__ import annotations

import random

from haproxy_py.config.resolvers import parse_nameserver_addr, resolve_opts_of
from haproxy_py.dns.order import ip_key, label_form, xxh32
from haproxy_py.dns.resolution import choose_ip


def test_xxh32_known_values() -> None:
    # the reference values of xxHash's own test suite and of python-xxhash's documentation
    assert xxh32(b"") == 0x02CC5D05
    assert xxh32(b"a") == 0x550D7456
    assert xxh32(b"abc") == 0x32D153FF
    assert xxh32(b"Nobody inspects the spammish repetition") == 0xE2293B2F
    assert label_form("h1.test.") == b"\x02h1\x04test"


def test_choose_ip_scores_as_26() -> None:
    recs = sorted(["127.0.0.2", "127.0.0.3", "::1"], key=ip_key)
    # the preferred family wins over everything else
    assert choose_ip(recs, "", "ipv6", (), set(), False) == ("::1", False)
    v4 = [r for r in recs if ":" not in r]
    # the first record in 2.6's order, the current one when still there, a resolve-net one first
    assert choose_ip(recs, "", "ipv4", (), set(), False) == (v4[0], False)
    assert choose_ip(recs, v4[1], "ipv4", (), set(), False) == (v4[1], True)
    assert choose_ip(recs, v4[0], "ipv4", (v4[1] + "/32",), set(), False) == (v4[1], False)
    # prevent-dup-ip: a used address is no candidate; allow-dup-ip: it only scores lower
    assert choose_ip(recs, "", "ipv4", (), {v4[0]}, False) == (v4[1], False)
    assert choose_ip(recs, "", "ipv4", (), set(v4), False) == ("::1", False)
    assert choose_ip(v4, "", "ipv4", (), set(v4), False) == (None, False)
    assert choose_ip(v4, "", "ipv4", (), set(v4), True) == (v4[0], False)


def test_choose_ip_never_returns_a_used_address_without_allow_dup() -> None:
    rnd = random.Random(19)
    for _ in range(500):
        pool = [f"10.0.{rnd.randrange(4)}.{rnd.randrange(8)}" for _ in range(rnd.randrange(1, 6))]
        recs = sorted(set(pool), key=ip_key)
        used = {a for a in recs if rnd.random() < 0.5}
        cur = rnd.choice(recs + [""])
        ip, is_cur = choose_ip(recs, cur, "ipv4", (), used, False)
        assert (ip is None) == (used == set(recs))
        assert ip is None or ip not in used
        assert is_cur == (ip == cur and ip is not None)


def test_nameserver_address_forms() -> None:
    assert parse_nameserver_addr("127.0.0.1:53") == ("127.0.0.1", 53, "udp")
    assert parse_nameserver_addr("tcp@127.0.0.1:5353") == ("127.0.0.1", 5353, "tcp")
    assert parse_nameserver_addr("tcp6@[::1]:53") == ("::1", 53, "tcp")
    assert parse_nameserver_addr("udp4@127.0.0.1:5x") == ("127.0.0.1", 5, "udp")  # 2.6 reads the digits
    assert parse_nameserver_addr("tcp@127.0.0.1") == "missing port specification in 'tcp@127.0.0.1'"
    assert parse_nameserver_addr("127.0.0.1:53-54") == "port range not permitted here in '127.0.0.1:53-54'"


def test_resolve_opts_last_dup_option_wins() -> None:
    class C:
        extra = (("resolve-opts", "allow-dup-ip,ignore-weight,prevent-dup-ip"), ("resolve-prefer", "ipv4"))

    o = resolve_opts_of(C())
    assert (o.allow_dup_ip, o.ignore_weight, o.prefer) == (False, True, "ipv4")
