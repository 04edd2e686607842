"""http/cache.py (keys, what is looked up and stored, lifetimes, conditional requests, storage
bounded by total-max-size with least-recently-used eviction, ``show cache``) and the ``-c``
messages of cache sections and rules, compared with Debian's HAProxy 2.6."""

from __future__ import annotations

import calendar
import hashlib
import random
import subprocess
from pathlib import Path

import pytest

from haproxy_py.cli import main
from haproxy_py.config.model import CacheConf
from haproxy_py.http import cache as C
from tests.conftest import require_haproxy_bin

LM = b"Tue, 01 Dec 2020 10:00:00 GMT"
NOW = 1_900_000_000


def _cache(mb: int = 1, maxobj: int = 0, maxage: int = 60) -> C.Cache:
    return C.Cache(CacheConf("c", maxblocks=mb * 1024, maxobjsz=maxobj or mb * 1024 * 1024 // 256, maxage=maxage))


def test_key_is_host_and_uri_as_haproxy() -> None:
    k = C.primary_key(b"/a?b=1", [(b"Host", b"example.com"), (b"host", b"other")])
    assert k == hashlib.sha1(b"https://example.com/a?b=1").digest()
    assert C.primary_key(b"http://x/y", []) == hashlib.sha1(b"http://x/y").digest()
    assert C.primary_key(b"/a", []) is None


@pytest.mark.parametrize(("method", "http11", "headers", "flags"), [
    (b"GET", True, [], (True, True)),
    (b"HEAD", True, [], (True, True)),
    (b"POST", True, [], (False, True)),
    (b"GET", False, [], (False, True)),
    (b"GET", True, [(b"Authorization", b"Basic x")], (False, False)),
    (b"GET", True, [(b"Cache-Control", b"no-store")], (True, False)),
    (b"GET", True, [(b"Cache-Control", b"foo, Max-Age=3")], (False, True)),
    (b"GET", True, [(b"Pragma", b"no-cache")], (False, True)),
    (b"GET", True, [(b"Pragma", b"no-cache"), (b"Cache-Control", b"public")], (True, True)),
])
def test_request_flags(method: bytes, http11: bool, headers: list[tuple[bytes, bytes]],
                       flags: tuple[bool, bool]) -> None:
    assert C.request_flags(method, http11, headers) == flags


def test_lifetime_from_the_response() -> None:
    assert C.max_age([(b"Cache-Control", b"max-age=30")], 60, NOW) == (30, 30)
    assert C.max_age([(b"Cache-Control", b"max-age=300")], 60, NOW) == (60, 300)
    assert C.max_age([(b"Cache-Control", b"max-age=30, s-maxage=10")], 60, NOW) == (10, 10)
    assert C.max_age([(b"Expires", b"Thu, 01 Dec 2099 10:00:00 GMT")], 60, NOW) == (60, calendar.timegm((2099, 12, 1, 10, 0, 0)) - NOW)
    assert C.max_age([(b"Expires", b"soon")], 60, NOW) == (0, 0)
    assert C.max_age([(b"Cache-Control", b"max-age=abc")], 60, NOW) == (-1, 0)
    assert C.max_age([], 60, NOW) == (60, 0)


def _decide(headers: list[tuple[bytes, bytes]], status: int = 200, method: bytes = b"GET", cl: int = 10,
            cache: C.Cache | None = None, storable: bool = True) -> tuple[int, int, int] | None:
    c = cache or _cache()
    d = C.store_decision(c, b"k" * 20, method, True, status, headers, 100, cl, NOW, storable=storable)
    if d is None:
        return None
    assert d[3:] == (0, None)  # no Vary
    return d[:3]


def test_what_is_stored() -> None:
    fresh = [(b"Cache-Control", b"max-age=30")]
    assert _decide(fresh) == (NOW + 30, 0, NOW)
    assert _decide(fresh, status=203) is None
    assert _decide(fresh, method=b"HEAD") is None
    assert _decide([]) is None  # neither lifetime nor validator
    assert _decide([(b"Last-Modified", LM)]) == (NOW + 60, 0, 1606816800)
    for cc in (b"private", b"no-store", b"no-cache", b"max-age=0", b"s-maxage=0", b'no-cache="set-cookie"'):
        assert _decide([(b"Cache-Control", cc), (b"ETag", b'"e"')]) is None, cc
    assert _decide(fresh + [(b"Vary", b"accept-encoding")]) is None
    assert _decide(fresh + [(b"Pragma", b"no-cache")]) is None
    assert _decide(fresh, storable=False) is None
    assert _decide([(b"Cache-Control", b"public, max-age=30")], storable=False) is not None
    assert _decide(fresh + [(b"Age", b"5")]) == (NOW + 30, 5, NOW)
    assert _decide(fresh + [(b"Age", b"50")]) is None  # older than its own max-age
    assert _decide(fresh + [(b"Age", b"0")]) is None
    assert _decide(fresh, cl=5000) is None  # over max-object-size (4096 for 1 MB)


def test_successful_unsafe_method_removes_the_entry() -> None:
    c = _cache()
    e = C.Entry(b"k" * 20, 200, b"OK", b"HTTP/1.1", [], b"x", NOW + 10, NOW, 0, NOW)
    assert c.store(e)
    assert _decide([], status=404, method=b"POST", cache=c) is None and c.lookup(b"k" * 20, NOW)[0] is e
    assert _decide([], status=204, method=b"DELETE", cache=c) is None and c.lookup(b"k" * 20, NOW)[0] is None


def test_conditional_requests() -> None:
    e = C.Entry(b"k" * 20, 200, b"OK", b"HTTP/1.1", [(b"ETag", b'W/"e1"')], b"x", NOW + 10, NOW, 0, 1606816800)
    assert e.not_modified([(b"If-None-Match", b'"zz", "e1"')])
    assert e.not_modified([(b"If-None-Match", b"*")])
    assert not e.not_modified([(b"If-None-Match", b'"zz"'), (b"If-Modified-Since", LM)])
    assert e.not_modified([(b"If-Modified-Since", LM)])
    assert not e.not_modified([(b"If-Modified-Since", b"Mon, 01 Dec 2019 10:00:00 GMT")])
    assert not e.not_modified([(b"If-Modified-Since", b"never")])
    assert e.age_now(NOW + 7) == 7


def test_storage_is_bounded_and_evicts_the_least_recently_used() -> None:
    c = _cache(mb=1, maxobj=400_000)
    rng = random.Random(5)
    keys = [bytes([i]) * 20 for i in range(40)]
    for _n in range(400):
        k = rng.choice(keys)
        if rng.random() < 0.5:
            c.lookup(k, NOW)
        else:
            c.store(C.Entry(k, 200, b"OK", b"HTTP/1.1", [], b"x" * rng.choice([10, 3000, 90_000, 300_000]),
                            NOW + 60, NOW, 0, NOW))
        assert c.used == sum(e.blocks for e in c.entries) <= c.maxblocks
    c = _cache(mb=1, maxobj=400_000)
    for i in range(3):
        c.store(C.Entry(keys[i], 200, b"OK", b"HTTP/1.1", [], b"x" * 300_000, NOW + 60, NOW, 0, NOW))
    assert c.lookup(keys[0], NOW)[0] is not None
    c.store(C.Entry(keys[3], 200, b"OK", b"HTTP/1.1", [], b"x" * 300_000, NOW + 60, NOW, 0, NOW))
    assert [e.key[0] for e in c.entries] == [2, 0, 3]
    assert c.lookup(keys[3], NOW + 61)[0] is None  # expired


def test_show_cache_lines() -> None:
    cs = C.Caches([CacheConf("c1", maxblocks=1024, maxobjsz=4096)])
    c = cs.by_name["c1"]
    k = hashlib.sha1(b"https://h/x").digest()
    c.store(C.Entry(k, 200, b"OK", b"HTTP/1.1", [(b"content-length", b"3")], b"abc", NOW + 9, NOW, 0, NOW))
    lines = cs.show(NOW).splitlines()
    assert lines[0].endswith(": c1 (shctx:0x7f0000000fc6, available blocks:1024)")
    assert lines[1].endswith(f" hash:{int.from_bytes(k[:4], 'little')} vary:0x0000000000000000 size:180 "
                             "(1 blocks), refcount:0, expire:9")
    assert len(cs.show(NOW + 9).splitlines()) == 1
    # an origin's Age taken out, a chunked body's end of trailers: blocks 2.6 keeps too
    aged = C.Entry(k, 200, b"OK", b"HTTP/1.1", [(b"content-length", b"3")], b"abc", NOW + 9, NOW, 5, NOW)
    chunked = C.Entry(k, 200, b"OK", b"HTTP/1.1", [(b"transfer-encoding", b"chunked")], b"abc", NOW + 9, NOW, 0,
                      NOW)
    assert (aged.size, chunked.size, chunked.chunked) == (184, 194, True)
    tr = C.Entry(k, 200, b"OK", b"HTTP/1.1", [(b"transfer-encoding", b"chunked")], b"abc", NOW + 9, NOW, 0, NOW,
                 trailers=[(b"x-tr", b"1")])
    assert tr.size == 194 + 4 + 5


# --------------------------------------------------------------------------- -c messages, as 2.6
_FE = ("frontend f\n    bind 127.0.0.1:1\n    default_backend b\nbackend b\n    server s 127.0.0.1:2\n")
_CASES = [
    "cache c1\n    total-max-size 1\n    foo bar\n",
    "cache c1\n    total-max-size 1\ncache c1\n    total-max-size 1\n",
    "cache\n",
    "cache c1 x\n",
    "cache c1\n",
    "cache c1\n    total-max-size 1\n    max-object-size 600000\n",
    "cache c1\n    total-max-size 1\n    max-object-size 524288\n",
    "cache c1\n    total-max-size 4096\n",
    "cache c1\n    total-max-size 1x\n",
    "cache c1\n    total-max-size 1\n    max-age\n    max-object-size 5\n",
    "cache c1\n    total-max-size 1\n    max-age 1 2\n",
    "cache c1\n    total-max-size 1\n    max-secondary-entries 0\n",
    "cache c1\n    total-max-size 1\n    process-vary maybe\n    process-vary off\n    max-secondary-entries 3\n",
    "cache aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    total-max-size 1\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    http-request cache-use c2\n"
    "    http-response cache-store c1\n    default_backend b\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    http-request cache-use\n"
    "    default_backend b\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    http-response cache-store c1 x\n"
    "    default_backend b\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    http-response cache-store if TRUE\n"
    "    default_backend b\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    filter cache\n    default_backend b\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    filter cache c1\n    filter cache c1\n"
    "    default_backend b\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    filter cache c2\n"
    "    http-request cache-use c1\n    http-response cache-store c3\n    default_backend b\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    filter cache c1 extra\n    default_backend b\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    filter\n    default_backend b\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    filter nosuch\n    default_backend b\n",
    "cache c1\n    total-max-size 1\ndefaults\n    mode http\n    filter cache c1\n",
    "cache c1\n    total-max-size 1\nfrontend g\n    bind 127.0.0.1:3\n    http-request cache-use c1\n"
    "    filter cache c1\n    default_backend b\n",
]


def _lines(err: str) -> list[str]:
    out = []
    for ln in err.splitlines():
        if ln.startswith(("[NOTICE]", "   | ")):
            continue
        if ln.startswith("[") and " : " in ln:
            tag, _, rest = ln.partition(" : ")
            ln = tag.split()[0] + " : " + rest
        out.append(ln)
    return out


def test_config_messages_as_haproxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    hap = require_haproxy_bin()
    monkeypatch.chdir(tmp_path)
    diffs = []
    for n, case in enumerate(_CASES):
        cfg = tmp_path / f"c{n}.cfg"
        cfg.write_text("defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n"
                       "    timeout connect 1s\n" + case + _FE)
        p = subprocess.run([hap, "-c", "-f", cfg.name], capture_output=True, text=True, timeout=30)
        capsys.readouterr()
        rc = main(["-c", "-f", cfg.name])
        _out, err = capsys.readouterr()
        if (rc != 0) != (p.returncode != 0) or _lines(err) != _lines(p.stderr):
            diffs.append((case, _lines(p.stderr), _lines(err)))
    assert not diffs, "\n\n".join(f"{c}\n 2.6: {t}\n ours: {o}" for c, t, o in diffs)


def test_other_filters_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.cfg").write_text("defaults\n    mode http\nfrontend f\n    bind :1\n    filter compression\n")
    assert main(["-c", "-f", "f.cfg"]) != 0
    assert "'filter compression' is not implemented by haproxy-py" in capsys.readouterr().err


def test_vary_keys_as_haproxy() -> None:
    """The secondary keys 2.6 prints in show cache (bitmap of encodings, CRC32 of the referer)."""
    assert C.secondary_key([(b"Referer", b"abc")], C.VARY_REFERER) == bytes.fromhex("00000000c2412435")
    assert C.secondary_key([(b"Accept-Encoding", b"gzip")], C.VARY_AE)[:4] == (1 | C.E_IDENTITY).to_bytes(4, "little")
    assert C.secondary_key([], C.VARY_AE)[:4] == b"\xff\xff\xff\xff"
    assert C.secondary_key([(b"Accept-Encoding", b"*, gzip;q=0")], C.VARY_AE)[:4] == (0xFFFFFFFE).to_bytes(4, "little")
    assert C.secondary_key([(b"Accept-Encoding", b"a")] * 16, C.VARY_AE) is None
    assert C.vary_signature([(b"Vary", b"Accept-Encoding, referer")]) == 3
    assert C.vary_signature([(b"Vary", b"cookie")]) is None
    c = C.Cache(CacheConf("c", maxblocks=1024, maxobjsz=4096, process_vary=True, max_secondary_entries=2))
    fresh = [(b"Cache-Control", b"max-age=30"), (b"Vary", b"accept-encoding")]
    stored = []
    for ae, ce in ((b"gzip", b"gzip"), (b"br", b"br"), (b"deflate", b"deflate")):
        e, sec = c.lookup(b"k" * 20, NOW, [(b"Accept-Encoding", ae)])
        assert e is None and sec is not None
        d = C.store_decision(c, b"k" * 20, b"GET", True, 200, fresh + [(b"Content-Encoding", ce)], 100, 10, NOW,
                             sec=sec)
        assert d is not None and d[3] == C.VARY_AE
        e = C.Entry(b"k" * 20, 200, b"OK", b"HTTP/1.1", fresh, b"x", d[0], NOW, 0, NOW, d[3], d[4])
        stored.append(c.store(e, NOW))
    assert stored == [True, True, False]  # max-secondary-entries 2
    assert c.lookup(b"k" * 20, NOW, [(b"Accept-Encoding", b"br, gzip")])[0] is not None
    assert c.lookup(b"k" * 20, NOW, [(b"Accept-Encoding", b"deflate")])[0] is None
