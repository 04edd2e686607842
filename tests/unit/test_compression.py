"""http/compression.py, pure: the chunk reader over ChunkedBody's output cut anywhere, the
compressor's round trip, and that a configuration without compression leaves the engine's hook
off (what it costs per request is bench/compression.py's figure)."""

from __future__ import annotations

import random
import zlib

from haproxy_py.http import compression as hc
from haproxy_py.http.body import ChunkedBody


def test_chunked_payload_and_compressor_round_trip() -> None:
    rng = random.Random(7)
    for _ in range(200):
        body = rng.randbytes(rng.randint(0, 5000))
        framed, k = [], 0
        while k < len(body):
            n = rng.randint(1, 700)
            framed.append(b"%x\r\n" % len(body[k:k + n]) + body[k:k + n] + b"\r\n")
            k += n
        tr = b"X-T: 1\r\n" if rng.random() < 0.5 else b""
        wire = b"".join(framed) + b"0\r\n" + tr + b"\r\n"
        cb, cp = ChunkedBody(), hc.ChunkedPayload()
        algo = rng.choice(["gzip", "deflate", "raw-deflate", "identity"])
        comp = hc.Compressor(algo)
        out, i = [], 0
        while i < len(wire):
            n = rng.randint(1, 900)
            o, done = cb.feed(wire[i:i + n])
            out.append(comp.feed(cp.feed(o)))
            i += n
        assert done
        out.append(comp.finish(cp.trailers))
        got, trailers = _dechunk(b"".join(out))
        assert trailers == tr + b"\r\n"
        wbits = {"gzip": 31, "deflate": 15, "raw-deflate": -15}.get(algo)
        assert (zlib.decompress(got, wbits) if wbits is not None else got) == body


def _dechunk(b: bytes) -> tuple[bytes, bytes]:
    out, i = [], 0
    while True:
        j = b.index(b"\r\n", i)
        n = int(b[i:j], 16)
        if n == 0:
            return b"".join(out), b[j + 2:]
        out.append(b[j + 2:j + 2 + n])
        i = j + 2 + n + 2


def test_qvalue_as_26_reads_it() -> None:
    assert [hc._qvalue(v) for v in (b"0", b"0.5", b"0.0001", b"1.0", b"2", b"abc", b"", b"0.12345")] == \
        [0, 500, 0, 1000, 1000, 1000, 1000, 123]


def test_no_compression_config_leaves_the_hook_off() -> None:
    from haproxy_py.config import parse_text

    cfg, _ = parse_text("defaults\n    mode http\nfrontend f\n    bind 127.0.0.1:1\n    default_backend b\n"
                    "backend b\n    server s 127.0.0.1:2\n")
    assert all(p.compression is None for p in cfg.proxies)


def test_compressor_levels_follow_the_limits() -> None:
    """The level starts at tune.comp.maxlevel, goes down by one after each flush while the
    limits are exceeded (0: stored), back up when not; the stream stays valid throughout, and is
    zlib's own, byte for byte, while the level does not change."""
    import random
    import zlib

    from haproxy_py.http.compression import Compressor

    rng = random.Random(7)
    pieces = [bytes(rng.choice(b"abcde ") for _ in range(rng.randint(1, 3000))) for _ in range(20)]

    def run(algo: str, lvl: int, overs: list[bool]) -> tuple[bytes, list[int]]:
        c, out, levels = Compressor(algo, lvl), b"", []
        for i, d in enumerate(pieces):
            out += c.feed(d, i < 19, overs[i])
            levels.append(c.level)
        out += c.finish()
        body = b""
        while True:
            i = out.index(b"\r\n")
            n = int(out[:i], 16)
            if not n:
                return body, levels
            body += out[i + 2:i + 2 + n]
            out = out[i + 4 + n:]

    for algo, wbits in (("gzip", 31), ("deflate", 15), ("raw-deflate", -15)):
        for lvl in (1, 6, 9):
            body, levels = run(algo, lvl, [False] * 20)
            z = zlib.compressobj(lvl, zlib.DEFLATED, wbits, 8)
            ref = b"".join(z.compress(d) + (z.flush(zlib.Z_SYNC_FLUSH) if i < 19 else b"") for i, d in enumerate(pieces))
            assert body == ref + z.flush() and set(levels) == {lvl}
            body, levels = run(algo, lvl, [i < 12 for i in range(20)])
            assert zlib.decompress(body, wbits) == b"".join(pieces)
            assert min(levels) == max(0, lvl - 12) and levels[-2] == min(lvl, levels[11] + 7)
    stored, _ = run("gzip", 1, [True] * 20)
    assert len(stored) > sum(map(len, pieces[1:]))  # level 0 after the first piece: stored
