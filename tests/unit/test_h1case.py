"""h1-case-adjust's pure parts: the file reader (config/build/global_.py) and the head writer
(http/h1case.py)."""

from __future__ import annotations

import random

import pytest

from haproxy_py.config.build.global_ import CaseFileError, parse_case_file
from haproxy_py.http.h1case import adjust_head, lookup_map


def test_file_lines_as_26_reads_them() -> None:
    got = parse_case_file(b"# c\n\n  x-a   X-A  \r\nx-b\tX-b\n", {b"x-z": b"X-Z"})
    assert got == {b"x-z": b"X-Z", b"x-a": b"X-A", b"x-b": b"X-b"}
    for data, msg in ((b"x-a\n", "expect <to> at line 1."), (b"\n x-a X-A # c\n", "differ execpt the case at line 2"),
                      (b"x-z x-Z\n", "duplicate entry 'x-z' at line 1.")):
        with pytest.raises(CaseFileError, match=msg):
            parse_case_file(data, {b"x-z": b"X-Z"})


def test_adjust_head_touches_only_mapped_names_of_the_head() -> None:
    rng = random.Random(3)
    for _ in range(200):
        names = [bytes(rng.choice(b"abcXYZ-") for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(0, 6))]
        entries = tuple((n.lower(), n.swapcase()) for n in names[: len(names) // 2])
        cmap = lookup_map(entries + ((b"Upper", b"UPPER"),)) or {}
        assert b"Upper" not in cmap  # a <from> with an upper-case letter never matches
        head = b"HTTP/1.1 200 OK\r\n" + b"".join(n + b": v\r\n" for n in names) + b"\r\nX-Body: a\r\n"
        out = adjust_head(head, cmap)
        lines = out.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
        assert [ln.split(b":")[0].lower() for ln in lines] == [n.lower() for n in names]
        for ln, n in zip(lines, names, strict=True):
            assert ln.split(b":")[0] == cmap.get(n.lower(), n)
        assert out.endswith(b"\r\nX-Body: a\r\n")
