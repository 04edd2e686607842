"""The indexed lookups of maps and ACL patterns against a plain scan, on seeded generated data, and
the reference store's versions (samples/patref.py)."""

from __future__ import annotations

import ipaddress
import random

from haproxy_py.acl.match import compile_matcher
from haproxy_py.samples.patref import Store, beg_index, ip_index, parse_net


def _nets(rnd: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        plen = rnd.choice((0, 8, 12, 16, 24, 30, 32))
        a = rnd.choice((10 << 24, 192 << 24 | 168 << 16, rnd.getrandbits(32)))
        a |= rnd.getrandbits(32 - plen) if plen < 32 else 0
        out.append(f"{ipaddress.ip_address(a)}/{plen}" if plen != 32 or rnd.random() < 0.5
                   else str(ipaddress.ip_address(a)))
    return out


def test_ip_index_is_the_most_specific_network() -> None:
    rnd = random.Random(7)
    for _ in range(30):
        keys = _nets(rnd, rnd.randrange(1, 60))
        nets = [ipaddress.ip_network(k, strict=False) for k in keys]
        look = ip_index([(parse_net(k), i) for i, k in enumerate(keys)])
        for _ in range(100):
            ip = ipaddress.ip_address(rnd.choice((10 << 24 | rnd.getrandbits(20), rnd.getrandbits(32))))
            hits = [(n.prefixlen, -i) for i, n in enumerate(nets) if ip in n]
            want = -max(hits)[1] if hits else None
            assert look(ip) == want, (keys, ip)
            mapped = ipaddress.ip_address(f"::ffff:{ip}")
            assert look(mapped) == want
            assert look.by_text(str(ip).encode()) == want  # type: ignore[attr-defined]
            # the ACL matcher (indexed above 8 patterns) says the same as the plain one
            assert compile_matcher("ip", tuple(keys))([str(ip).encode()]) == (want is not None)


def test_beg_index_is_the_longest_prefix() -> None:
    rnd = random.Random(8)
    alpha = "ab/"
    for _ in range(30):
        keys = ["".join(rnd.choice(alpha) for _ in range(rnd.randrange(0, 6))) for _ in range(rnd.randrange(1, 40))]
        look = beg_index([(k.encode(), i) for i, k in enumerate(keys)])
        acl = compile_matcher("beg", tuple(keys))
        for _ in range(100):
            s = "".join(rnd.choice(alpha) for _ in range(rnd.randrange(0, 8))).encode()
            hits = [(len(k), -i) for i, k in enumerate(keys) if s.startswith(k.encode())]
            want = -max(hits)[1] if hits else None
            assert look(s) == want, (keys, s)
            assert acl([s]) == (want is not None)


def test_versions_prepare_add_commit() -> None:
    st = Store()
    ref = st.file_ref("map", "/x.map", lambda: [("a", "1"), ("b", "2")], ("cfg", 1))
    st.seal()
    assert ref.uid == 0 and ref.cnt == 2
    assert ref.prepare() == 1
    assert ref.add("c", "3", 1) is None
    assert [e.key for e in ref.current()] == ["a", "b"]
    assert [e.key for e in ref.current(1)] == ["c"]
    ref.commit(1)
    assert [e.key for e in ref.current()] == ["c"] and ref.cnt == 1
    assert ref.delete("c") and not ref.delete("c")
    assert ref.cnt == 0 and "entry_cnt=0" in ref.description()


def test_runtime_changes_applied_in_place_match_a_rebuild(tmp_path) -> None:
    """Seeded add/del/set (by key and by #ref) on map and ACL files of the indexed kinds: after each
    change the lookup kept up to date in place answers as one built afresh, and was not rebuilt
    for a change by key."""
    from haproxy_py.acl.condition import compile_acl
    from haproxy_py.config.model import Acl, Location
    from haproxy_py.samples.core import CONVERTERS
    from haproxy_py.samples.patref import REFS

    rnd = random.Random(11)
    gens = {"str": lambda: f"k{rnd.randrange(150)}", "beg": lambda: "/" + "ab"[rnd.randrange(2)] * rnd.randrange(1, 8),
            "ip": lambda: rnd.choice(_nets(rnd, 1) + [f"10.{rnd.randrange(3)}.0.0/16", "10.0.0.0/8", "10.0.0.1/8"])}
    for method, gen in gens.items():
        REFS.reset()
        keys = [gen() for _ in range(120)]
        mf = tmp_path / f"{method}.map"
        mf.write_text("".join(f"{k} v{i}\n" for i, k in enumerate(keys)))
        af = tmp_path / f"{method}.acl"
        af.write_text("".join(f"{k}\n" for k in keys))
        conv = CONVERTERS.get(f"map_{method}")
        assert conv is not None and conv.prepare is not None
        mref, mix, _d = conv.prepare((str(mf),))
        compile_acl(Acl(name="a", fetch="src" if method == "ip" else "path", match=method, pattern_files=(str(af),),
                        loc=Location("t", 1)))
        aref = REFS.files[("acl", str(af))]
        aix = aref.indexes[0]
        for _ in range(150):
            op = rnd.choice(("add", "add", "del", "set", "delref"))
            k = gen()
            for ref in (mref, aref):
                val = None if ref is aref else f"n{rnd.randrange(9)}"
                rev0 = ref.rev
                ix = mix if ref is mref else aix
                ref.index(ix)
                if op == "add":
                    ref.add(k, val)
                elif op == "del":
                    ref.delete(k)
                elif op == "set" and ref is mref:
                    ref.set(k, "s")
                elif op == "delref" and ref.entries:
                    ref.delete(f"#0x{rnd.choice(ref.entries).ptr:x}")
                if op in ("add", "set") and method != "ip" and (ref is mref or len(ref.current()) > 65):
                    assert ix.rev == ref.rev != rev0 or ref.rev == rev0, (method, op)  # not rebuilt
            fresh_m = mix.build(mref.current())
            fresh_a = aix.build(aref.current())
            for _ in range(20):
                if method == "ip":
                    ip = ipaddress.ip_address(rnd.choice((10 << 24 | rnd.getrandbits(18), rnd.getrandbits(32))))
                    sm, sa = ip, [str(ip).encode()]
                else:
                    sm = (gen() + rnd.choice(("", "x", "/y"))).encode()
                    sa = [sm]
                assert mref.index(mix)(sm) == fresh_m(sm), (method, op, sm)
                assert bool(aref.index(aix)(sa)) == bool(fresh_a(sa)), (method, op, sa)
