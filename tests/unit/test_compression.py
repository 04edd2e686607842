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
