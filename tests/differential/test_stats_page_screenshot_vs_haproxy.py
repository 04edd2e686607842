"""The HTML stats page as a browser draws it: haproxy-py's and Debian's HAProxy 2.6's, side by side.

Both proxies run the DOM test's configuration in the same state (a server whose check fails, one in
maintenance, a user weight changed, a backup); each page is rendered by Debian's chromium in
headless mode (.ci/run installs it) into a PNG, and the two pictures are compared pixel by pixel:
the style sheet, the colours of the rows and cells, the legend, the layout of every table. What
differs between two processes by nature (the pid, the version line, the limits and figures of the
"General process information" block, durations and counters' digits) is written the same way in
both pages before they are drawn, and nothing else. The DOM test
(test_stats_page_dom_vs_haproxy.py) compares the cells' texts; this one is what an operator sees.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import time
import urllib.request
import zlib
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.differential.test_stats_page_dom_vs_haproxy import CFG
from tests.integration.harness import require_haproxy, run_proxy
from tests.integration.stats_client import stats_cli

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 1400, 1000


def _html(which: str) -> str:
    port = free_port()
    with run_proxy(CFG.format(port=port), wait_ports=[port], which=which) as pp:
        sock = str(pp.workdir / "admin.sock")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # s1's check has failed once (fall 1): DOWN
            try:
                if "DOWN" in stats_cli(sock, "show stat"):
                    break
            except OSError:
                pass
            time.sleep(0.2)
        stats_cli(sock, "set server app/s3 state maint")
        stats_cli(sock, "set weight app/s2 1")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
            return r.read().decode("latin-1")


def normalise(text: str) -> str:
    """The same page for two processes: the version line, the title's pid, the general block's figures
    (each number -> 0), every other digit -> 0 (so a counter keeps its width, a duration its
    shape)."""
    text = re.sub(r"HAProxy version [^<]*</a>", "HAProxy version V</a>", text)
    # the title's pid: its number of digits differs between two processes (CI: 5 against 6)
    text = re.sub(r"Statistics Report for pid \d+", "Statistics Report for pid 0", text)
    head, sep, body = text.partition("</style>")
    i = body.find("<p><b>pid = </b>")
    j = body.find("</td>", i)
    if i >= 0 and j > i:
        body = body[:i] + re.sub(r"\d+(\.\d+)?", "0", body[i:j]) + body[j:]
    return head + sep + re.sub(r"\d", "0", body)


def shoot(html_path: Path, png: Path, profile: Path) -> None:
    r = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--force-device-scale-factor=1", f"--user-data-dir={profile}",
         f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={png}", html_path.as_uri()],
        capture_output=True, timeout=90)
    assert png.exists(), r.stderr.decode(errors="replace")[-2000:]


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA, non-interlaced PNG (what
    chromium writes); stdlib only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    off, idat = 8, b""
    w = h = ctype = 0
    while off < len(data):
        n, kind = struct.unpack_from(">I4s", data, off)
        chunk = data[off + 8: off + 8 + n]
        off += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _c, _f, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and ctype in (2, 6) and not interlace, (depth, ctype, interlace)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xFF
            elif f == 2:
                line[x] = (line[x] + b) & 0xFF
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        prev = line
        rows.append(bytes(line) if bpp == 3 else bytes(v for i, v in enumerate(line) if i % 4 != 3))
    return w, h, rows


def differences(a: list[bytes], b: list[bytes]) -> tuple[int, tuple[int, int, int, int] | None]:
    """How many pixels differ, and the box (x0, y0, x1, y1) around them."""
    count = 0
    box: list[int] | None = None
    for y, (ra, rb) in enumerate(zip(a, b, strict=True)):
        if ra == rb:
            continue
        for x in range(0, len(ra), 3):
            if ra[x:x + 3] != rb[x:x + 3]:
                count += 1
                px = x // 3
                box = [px, y, px, y] if box is None else [min(box[0], px), box[1], max(box[2], px), y]
    return count, (tuple(box) if box else None)  # type: ignore[return-value]


@pytest.mark.slow
def test_stats_page_looks_like_haproxys(tmp_path: Path) -> None:
    """The two pages, drawn by chromium, are the same picture, pixel for pixel. On failure the
    pictures are kept in the test's tmp_path (haproxy.png, ours.png)."""
    require_haproxy("haproxy", "the page to compare with")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is needed (apt-get install chromium; it is in .ci/run's APT_PACKAGES)")
    pics = {}
    for which in ("haproxy", "ours"):
        page = tmp_path / f"{which}.html"
        page.write_text(normalise(_html(which)), encoding="latin-1")
        png = tmp_path / f"{which}.png"
        shoot(page, png, tmp_path / f"profile-{which}")
        pics[which] = read_png(png)
    (wh, hh, theirs), (wo, ho, ours) = pics["haproxy"], pics["ours"]
    assert (wo, ho) == (wh, hh) == (WIDTH, HEIGHT)
    # the page is not blank: its proxies' title bars (#b00040) and the DOWN row (#ff9090) are drawn
    assert any(b"\xb0\x00\x40" in r for r in theirs) and any(b"\xff\x90\x90" in r for r in theirs)
    count, box = differences(theirs, ours)
    assert count == 0, f"{count} pixels differ within {box}; pictures in {tmp_path}"
