"""samples/rxlazy.py: a pattern kept for later compilation is one Python compiles, and it
searches as the compiled regex does; any other pattern is compiled (and fails) at once."""

from __future__ import annotations

import random
import re
import warnings

import pytest

from haproxy_py.samples import rxlazy

_ALPHABET = [b"\\b", b"\\B", b"[^", b"]-", b"a", b"b", b"z", b"0", b"9", b".", b"*", b"+", b"?", b"(", b")", b"(?:", b"|", b"^", b"$", b"[",
             b"]", b"-", b"\\", b"\\d", b"\\w", b"\\.", b"\\1", b"{2}", b"{3,1}", b"[a-z]", b"[z-a]", b"[^0-9]",
             b"[\\d-z]", b"/", b" ", b"\xe9"]


def test_surely_valid_patterns_compile_and_search_alike() -> None:
    rng = random.Random(7)
    lazy = compiled_now = 0
    for _ in range(20000):
        p = b"".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 8)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Python's FutureWarning on "[[" and the like
            try:
                ref = re.compile(p)
            except re.error:
                ref = None
            if rxlazy.surely_valid(p):
                lazy += 1
                assert ref is not None, p  # never a bad regex taken for a good one
                lz = rxlazy.lazy(p)
                for s in (b"", b"abz09", b"/a.b", b"zz-9", b"\xe9a"):
                    a, b = lz.search(s), ref.search(s)
                    assert (a and a.span()) == (b and b.span()), (p, s)
            else:
                compiled_now += 1
                if ref is None:
                    with pytest.raises(re.error):
                        rxlazy.make(p)
    assert lazy > 2000 and compiled_now > 2000, (lazy, compiled_now)
    while rxlazy.warm(1000):
        pass
    assert rxlazy.pending() == 0


def test_large_regex_map_loads_lazily_and_warms(tmp_path) -> None:
    """100,000 lines of map_reg: kept uncompiled at load (the load time is bench/maps.py's figure,
    not asserted here), every lookup right, warm() compiles."""
    from haproxy_py.http.parse import parse_request
    from haproxy_py.samples import Txn, compile_format

    f = tmp_path / "r.map"
    f.write_text("".join(f"^/r{i}/[a-z]+$ v{i}\n" for i in range(100000)))
    fmt = compile_format(f"%[path,map_reg({f},none)]")
    assert rxlazy.pending() >= 100000  # nothing compiled yet
    # (a miss scans, so compiles, every line: the first lines only here)
    for path, want in ((b"/r7/abc", b"v7"), (b"/r120/x", b"v120"), (b"/r3/xyz", b"v3")):
        req, _ = parse_request(b"GET " + path + b" HTTP/1.1\r\nHost: h\r\n\r\n")
        assert fmt(Txn(req, "127.0.0.1", 1, "127.0.0.1", 80, None, "f")) == want
    n = rxlazy.pending()
    assert rxlazy.warm(10) and rxlazy.pending() == n - 10
    rxlazy._PENDING.clear()  # the rest would be compiled by the engine's warm-up
