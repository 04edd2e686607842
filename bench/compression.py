#!/usr/bin/env python3
"""Cost of HTTP compression in haproxy-py (http/compression.py), pure, no I/O.

Usage: python bench/compression.py [--rounds 5]

1. Per compressed response: the request-side choice (Accept-Encoding), the response-side checks,
   the head rewrite and zlib (level 1, as 2.6) over a text body of 1 KiB, 10 KiB and 100 KiB fed
   in 16 KiB pieces: microseconds per response and MB/s of payload.
2. What a configuration without ``compression`` pays per request: the engine's only work is one
   ``is not None`` test on the request (Router.comp_by_be) and two on the response
   (HttpSession.comp_algo, .comp); timed here against an empty loop, in nanoseconds.

Writes ``bench/results/compression.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from haproxy_py.http import compression as hc  # noqa: E402
from haproxy_py.http.message import BODY_LENGTH, RequestHead, ResponseHead  # noqa: E402


def one_response(body: bytes) -> int:
    req = RequestHead(b"GET", b"/", headers=[(b"host", b"x"), (b"accept-encoding", b"gzip, deflate;q=0.9")])
    algo = hc.select_algo(req, ("deflate", "gzip"), False)
    resp = ResponseHead(200, b"OK", headers=[(b"content-type", b"text/html"),
                                             (b"content-length", b"%d" % len(body))])
    resp.body, resp.content_length = BODY_LENGTH, len(body)
    assert algo is not None and hc.compress_response(req, resp, (b"text/html",))
    hc.rewrite_head(resp, algo)
    c = hc.Compressor(algo)
    n = 0
    for i in range(0, len(body), 16384):
        n += len(c.feed(body[i:i + 16384]))
    return n + len(c.finish())


def per_response(size: int, rounds: int) -> dict[str, float]:
    text = b"".join(b"<p>line %d of a page with some words in it</p>\n" % i for i in range(size // 40 + 1))[:size]
    n = max(20, 2_000_000 // max(size, 1))
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            out = one_response(text)
        times.append((time.perf_counter() - t) / n)
    best = statistics.median(times)
    return {"size": size, "us_per_response": round(best * 1e6, 1), "MB_per_s": round(size / best / 1e6, 1),
            "ratio": round(out / size, 3)}


class _S:
    __slots__ = ("comp_algo", "comp", "comp_by_be")

    def __init__(self) -> None:
        self.comp_algo = None
        self.comp = None
        self.comp_by_be = None


def no_compression_ns(rounds: int) -> float:
    s = _S()
    n = 2_000_000
    extra = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            pass
        empty = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(n):
            if s.comp_by_be is not None:
                pass
            if s.comp_algo is not None:
                pass
            if s.comp is not None:
                pass
        extra.append((time.perf_counter() - t - empty) / n)
    return round(statistics.median(extra) * 1e9, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    res = {"per_response": [per_response(s, a.rounds) for s in (1024, 10240, 102400)],
           "no_compression_ns_per_request": no_compression_ns(a.rounds)}
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "compression.json").write_text(json.dumps(res, indent=1) + "\n")
    for r in res["per_response"]:
        print(f"compressed {r['size']:>6} B: {r['us_per_response']:>8} us/response, {r['MB_per_s']:>6} MB/s, "
              f"ratio {r['ratio']}")
    print(f"without compression: {res['no_compression_ns_per_request']} ns/request (three attribute tests)")


if __name__ == "__main__":
    main()
