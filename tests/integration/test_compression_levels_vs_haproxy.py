"""``tune.comp.maxlevel``, ``maxcomprate`` in the middle of a response, ``maxcompcpuusage`` and
``maxzlibmem``, beside Debian's HAProxy 2.6.12 where it shows them.

* ``maxcomprate`` lowers the level of a response already compressing once the compressor's output
  of the last second exceeds the limit (2.6: at each flush, down by one while over, back up to
  ``tune.comp.maxlevel`` when under): a body of random hex text streamed in pieces, with
  ``maxcomprate 1``, ends up stored (level 0) after its first pieces, with both proxies: its
  compressed size is about its own size, where without the limit it is about half. Debian's 2.6
  compresses with libslz, so the bytes differ (its level 1 is slz's); what each proxy sent is
  decompressed and compared with what the server sent.
* ``tune.comp.maxlevel 9``: the zlib level haproxy-py compresses at (libslz has a single level:
  2.6's output does not change with it); a body read at once is exactly zlib's stream at that
  level, smaller than at the default 1.
* ``maxcompcpuusage``: with 1 (compress only when the process was 99 % idle in the last second)
  a busy proxy stops compressing new responses and lowers the level of those under way; read from
  a second of work the proxy is given, it is shown on haproxy-py alone (2.6's idle measure is its
  scheduler's).
* ``maxzlibmem``: Debian's 2.6 has no zlib, so the limit changes nothing (``show info`` has no
  ZlibMemUsage lines): accepted without effect. Its arguments, and the other two keywords', are
  checked with 2.6's messages (-c side by side).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_haproxy_bin
from tests.differential.test_config_messages_generated import _lines
from tests.integration.harness import TcpServer, free_port, read_http_message, run_proxy

CFG = """
global
    nbthread 1
{glob}
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{fe}
    compression algo gzip
    compression type text/plain
    default_backend be
backend be
    server s 127.0.0.1:{be}
"""


class _Streamer(TcpServer):
    """Answers each request with ``pieces`` pieces of ``body`` sent ``gap`` seconds apart
    (Content-Length given), one request per connection."""

    def __init__(self, body: bytes, pieces: int, gap: float) -> None:
        self.body, self.pieces, self.gap = body, pieces, gap
        super().__init__()

    def serve(self, c: socket.socket) -> None:
        c.settimeout(10)
        with c:
            try:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(self.body))
                step = -(-len(self.body) // self.pieces)
                for i in range(0, len(self.body), step):
                    c.sendall(self.body[i:i + step])
                    time.sleep(self.gap)
            except OSError:
                return


def _dechunk(b: bytes) -> bytes:
    out = b""
    while True:
        i = b.index(b"\r\n")
        n = int(b[:i].split(b";")[0], 16)
        if n == 0:
            return out
        out += b[i + 2:i + 2 + n]
        b = b[i + 4 + n:]


def _fetch(port: int) -> tuple[dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
        f = c.makefile("rb")
        start, hdrs, _ = read_http_message(f, response=True, head_only=True)
        rest = f.read()
    return {k.lower(): v for k, v in hdrs}, rest


def _run(which: str, glob: str, srv: _Streamer) -> tuple[dict[str, str], bytes]:
    fe = free_port()
    with run_proxy(CFG.format(glob=glob, fe=fe, be=srv.port), wait_ports=[fe], which=which):
        return _fetch(fe)


_WORDS = [os.urandom(3).hex().encode() for _ in range(400)]


def _body(n: int) -> bytes:
    """Text of words drawn from 400 random ones: about half its size once compressed, by zlib
    and by libslz (whose fixed Huffman codes gain nothing on random letters alone)."""
    import random

    rng = random.Random(n)
    out = b" ".join(rng.choice(_WORDS) for _ in range(n // 7 + 1))
    return out[:n]


@pytest.mark.parametrize("which", ["haproxy", "ours"])
def test_maxcomprate_lowers_the_level_mid_response_as_haproxy(which: str) -> None:
    if which == "haproxy":
        require_haproxy_bin()
    body = _body(96 * 1024)
    srv = _Streamer(body, 24, 0.05)
    try:
        sizes = {}
        for name, glob in (("limited", "    maxcomprate 1"), ("free", "")):
            hdrs, raw = _run(which, glob, srv)
            assert hdrs.get("content-encoding") == "gzip", (name, hdrs)
            data = _dechunk(raw)
            assert zlib.decompress(data, 31) == body
            sizes[name] = len(data)
    finally:
        srv.close()
    # limited: stored after the first pieces (about the body's size); free: well below it
    assert sizes["limited"] > 0.9 * len(body) and sizes["free"] < 0.7 * len(body), sizes


def test_maxlevel_is_the_zlib_level() -> None:
    body = _body(64 * 1024) + b"a" * 65536
    srv = _Streamer(body, 1, 0)
    try:
        got = {}
        for lvl in (1, 9):
            hdrs, raw = _run("ours", f"    tune.comp.maxlevel {lvl}", srv)
            got[lvl] = _dechunk(raw)
            assert zlib.decompress(got[lvl], 31) == body
    finally:
        srv.close()
    assert len(got[9]) < len(got[1])
    # read at once: zlib's own stream at that level, bytes for bytes (or split in a few reads)
    ref = zlib.compressobj(9, zlib.DEFLATED, 31, 8)
    assert len(got[9]) <= len(ref.compress(body) + ref.flush()) + 64


def test_maxcompcpuusage_stops_compressing_when_busy() -> None:
    """maxcompcpuusage 1: compression needs a last second 99 % idle. A first response on the
    idle proxy is compressed; after a second in which the proxy worked (a response compressing
    1 MiB of text in small pieces), a new one is not, as in 2.6 (its check at the response
    start); with maxcompcpuusage 100 it still is."""
    body = _body(8 * 1024)
    small = _Streamer(body, 1, 0)
    big = _Streamer(_body(3 * 1024 * 1024), 600, 0.001)
    try:
        for glob, want_last in (("    maxcompcpuusage 1", None), ("    maxcompcpuusage 100", "gzip")):
            fe = free_port()
            cfg = CFG.format(glob=glob, fe=fe, be=small.port) + (
                f"frontend fe2\n    bind 127.0.0.1:{fe + 1 if fe < 65000 else fe - 1}\n"
                f"    compression algo gzip\n    compression type text/plain\n    default_backend big\n"
                f"backend big\n    server s 127.0.0.1:{big.port}\n")
            fe2 = fe + 1 if fe < 65000 else fe - 1
            with run_proxy(cfg, wait_ports=[fe, fe2], which="ours"):
                time.sleep(2.2)  # idle seconds measured
                first, _ = _fetch(fe)
                assert first.get("content-encoding") == "gzip", first
                t = threading.Thread(target=_fetch, args=(fe2,))
                t.start()
                time.sleep(1.5)  # the proxy busy compressing for more than a measured second
                last, _ = _fetch(fe)
                t.join(20)
                assert last.get("content-encoding") == want_last, (glob, last)
    finally:
        small.close()
        big.close()


def _check(tmp_path: Path, text: str, which: str) -> tuple[int, list[str]]:
    cfg = tmp_path / "c.cfg"
    cfg.write_text(text)
    cmd = ([sys.executable, "-m", "haproxy_py"] if which == "ours" else ["haproxy"]) + ["-c", "-f", str(cfg)]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT), timeout=60)
    return r.returncode, [ln for ln in _lines(r.stdout + r.stderr) if ln.startswith("[ALERT]")]


@pytest.mark.parametrize("line", [
    "tune.comp.maxlevel", "tune.comp.maxlevel x", "tune.comp.maxlevel 0", "tune.comp.maxlevel 10",
    "tune.comp.maxlevel 9", "tune.comp.maxlevel 2 3", "maxcompcpuusage", "maxcompcpuusage -1",
    "maxcompcpuusage 101", "maxcompcpuusage 0", "maxcompcpuusage 5 6", "maxzlibmem", "maxzlibmem 2 3",
    "maxzlibmem 10",
])
def test_compression_limit_arguments_as_haproxy(tmp_path: Path, line: str) -> None:
    require_haproxy_bin()
    text = (f"global\n    {line}\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n"
            "    timeout server 1s\nbackend b\n    server s 127.0.0.1:1\n")
    assert _check(tmp_path, text, "ours") == _check(tmp_path, text, "haproxy")
