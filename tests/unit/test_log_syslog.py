"""Syslog header formats, priorities, truncation and level filtering.

Expected bytes come from Debian's HAProxy 2.6.12 on this machine: one request to a frontend
with `http-request deny`, global `log 127.0.0.1:PORT [len N] [format F] local2 [max [min]]`.
"""

from __future__ import annotations

import calendar
import os
from collections.abc import Iterator

import pytest

from haproxy_py.config.model import Address, Global, LogTarget, Proxy
from haproxy_py.log import syslog as ls
from haproxy_py.log.compare import compare_datagrams, parse_datagram
from haproxy_py.log.syslog import Logger, build_header, frame, logger_for_proxy, severity_of
from tests.unit.log_helpers import utc_timezone

MSG = (
    '127.0.0.1:42718 [27/Nov/2026:03:24:12.964] fe fe/<NOSRV> 0/-1/-1/-1/0 403 192 - - PR-- '
    '1/1/0/0/0 0/0 "GET /a%22b?x=1&y=#22z#22 HTTP/1.1"'
)
NOW = 1795749852.966175  # 2026-11-27T03:24:12.966175Z
PID = 10855


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with utc_timezone(ls._CLOCK.__init__):
        yield


def _dg(fmt: str, hostname: str | None = None, tag: str = "haproxy", maxlen: int = 1024) -> bytes:
    return frame(build_header(fmt, 18, 6, NOW, tag, PID, hostname).encode(), MSG.encode(), maxlen)


@pytest.mark.parametrize(
    ("fmt", "expected_prefix"),
    [
        ("rfc3164", b"<150>Nov 27 03:24:12 haproxy[10855]: "),
        ("local", b"<150>Nov 27 03:24:12 haproxy[10855]: "),
        ("rfc5424", b"<150>1 2026-11-27T03:24:12.966175+00:00 - haproxy 10855 - - "),
        ("short", b"<6>"),
        ("priority", b"<150>"),
        ("timed", b"<6>2026-11-27T03:24:12.966175+00:00 "),
        ("iso", b"2026-11-27T03:24:12.966175+00:00 "),
        ("raw", b""),
    ],
)
def test_formats_match_haproxy(fmt: str, expected_prefix: bytes) -> None:
    assert _dg(fmt) == expected_prefix + MSG.encode() + b"\n"


def test_log_send_hostname_and_tag() -> None:
    assert _dg("rfc3164", hostname="vm", tag="myTag").startswith(b"<150>Nov 27 03:24:12 vm myTag[10855]: ")
    assert _dg("rfc5424", hostname="vm", tag="myTag").startswith(
        b"<150>1 2026-11-27T03:24:12.966175+00:00 vm myTag 10855 - - "
    )
    # "local" never shows the host
    assert _dg("local", hostname="vm").startswith(b"<150>Nov 27 03:24:12 haproxy[")


def test_day_is_space_padded() -> None:
    t18 = calendar.timegm((2026, 11, 18, 20, 42, 0, 0, 0, 0))
    assert build_header("rfc3164", 18, 6, t18, "haproxy", 1, None) == "<150>Nov 18 20:42:00 haproxy[1]: "
    t9 = calendar.timegm((2026, 11, 9, 1, 2, 3, 0, 0, 0))
    assert build_header("rfc3164", 18, 6, t9, "haproxy", 1, None) == "<150>Nov  9 01:02:03 haproxy[1]: "


def test_len_truncation_matches_haproxy() -> None:
    # haproxy 2.6 with "len 100": the datagram is the first 100 bytes then "\n" (101 bytes)
    expected = b"<150>Nov 27 03:24:12 haproxy[10855]: 127.0.0.1:42718 [27/Nov/2026:03:24:12.964] fe fe/<NOSRV> 0/-1/-\n"
    assert _dg("rfc3164", maxlen=100) == expected
    assert len(frame(b"<1>", b"x" * 10, 5)) == 6
    assert frame(b"<150>long header ", b"msg", 4) == b"<150\n"
    assert frame(b"<6>", b"line\n\x00\n", 100) == b"<6>line\n"


@pytest.mark.parametrize(
    ("facility", "severity", "pri"),
    [("local2", "info", 150), ("local2", "notice", 149), ("local2", "alert", 145), ("local2", "emerg", 144),
     ("local0", "info", 134), ("local1", "info", 142), ("kern", "emerg", 0), ("local7", "debug", 191)],
)
def test_priority(facility: str, severity: str, pri: int) -> None:
    hdr = build_header("priority", ls.FACILITIES[facility], severity_of(severity), NOW, "t", 1, None)
    assert hdr == f"<{pri}>"


class _Fake:
    """Stands in for a socket sender: records datagrams."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.fail = False

    def send(self, data: bytes) -> bool:
        if self.fail:
            return False
        self.data.append(data)
        return True


def _logger(*targets: LogTarget, **kw) -> tuple[Logger, list[_Fake]]:
    lg = Logger((), **kw)
    fakes = []
    ts = []
    for t in targets:
        f = _Fake()
        fakes.append(f)
        ts.append(ls._Target(t, f))  # type: ignore[arg-type]
    lg.targets = tuple(ts)
    lg.max_level = max(t.level for t in ts)
    return lg, fakes


def _t(level: str = "debug", minlevel: str = "emerg", fmt: str = "rfc3164", facility: str = "local2") -> LogTarget:
    return LogTarget(Address("ipv4", "127.0.0.1", 9, 9), facility, level=level, minlevel=minlevel, format=fmt)


def test_level_filter_and_minlevel_cap() -> None:
    lg, (all_, notice, capped) = _logger(_t(), _t(level="notice"), _t(minlevel="notice"), pid=7)
    assert lg.wants(7) and lg.wants(0)
    lg.send(6, "traffic", now=NOW)
    lg.send(0, "emergency", now=NOW)
    assert [parse_datagram(d)["severity"] for d in all_.data] == [6, 0]
    # "local3 notice" receives nothing from traffic (captured) but the emergency
    assert [parse_datagram(d)["message"] for d in notice.data] == ["emergency"]
    # minlevel caps more severe messages to notice, it does not filter
    assert [parse_datagram(d)["severity"] for d in capped.data] == [6, 5]
    assert lg.sent == 5 and lg.dropped == 0


def test_wants_and_lazy_building() -> None:
    lg, (only_notice,) = _logger(_t(level="notice"), pid=1)
    assert not lg.wants(6)
    calls = []
    lg.log(6, lambda: calls.append(1) or "x", now=NOW)
    assert calls == [] and only_notice.data == []
    lg.log(5, lambda: "up", now=NOW)
    assert parse_datagram(only_notice.data[0])["message"] == "up"
    empty = Logger(())
    assert not empty.wants(0)
    empty.send(0, "nobody")  # no target, no error


def test_never_raises_and_counts_drops() -> None:
    lg, (f,) = _logger(_t(), pid=1)
    f.fail = True
    lg.send(6, "x", now=NOW)
    assert lg.dropped == 1

    def boom() -> str:
        raise RuntimeError("formatter bug")

    lg.log(6, boom)
    assert lg.dropped == 2
    f.fail = False
    lg.send(6, "\udcff surrogate and é", now=NOW)  # unencodable in latin-1: utf-8 fallback
    assert f.data and f.data[-1].endswith("é\n".encode())


def test_logger_for_proxy_uses_tags_and_hostname() -> None:
    t = _t()
    g = Global(logs=(t,), log_tag="gtag", log_send_hostname="")
    p = Proxy(name="fe", kind="frontend", logs=(t,), log_tag="ptag")
    pool = ls.SenderPool()
    try:
        lg = logger_for_proxy(p, g, pool=pool)
        assert lg.tag == "ptag" and lg.hostname == os.uname().nodename and len(lg.targets) == 1
        lg2 = logger_for_proxy(Proxy(name="x", kind="frontend", logs=(t,), no_log=True), g, pool=pool)
        assert lg2.targets == () and not lg2.wants(0)
        lg3 = ls.global_logger(Global(logs=(t,)), pool=pool)
        assert lg3.tag == "haproxy" and lg3.hostname is None
        # one socket per destination, shared
        assert lg.targets[0].sender is lg3.targets[0].sender
    finally:
        pool.close()


def test_compare_datagrams_ignores_run_specific_fields() -> None:
    a = b'<150>Nov 23 20:51:48 haproxy[10065]: 127.0.0.1:46574 [23/Nov/2026:20:51:48.125] http_log app/a1 0/0/0/1/1 200 83 - - --NI 1/1/0/0/0 0/0 "GET / HTTP/1.1"\n'
    b = b'<150>Nov 24 10:00:00 haproxy[99]: 127.0.0.1:50000 [24/Nov/2026:10:00:00.000] http_log app/a1 0/0/1/15/16 200 83 - - --NI 1/1/0/0/0 0/0 "GET / HTTP/1.1"\n'
    assert compare_datagrams(a, b) == []
    c = b.replace(b" 0/0/1/15/16 200", b" 0/0/-1/-1/16 503").replace(b"app/a1", b"app/<NOSRV>")
    diffs = compare_datagrams(a, c)
    assert any(d.startswith("server:") for d in diffs)
    assert any(d.startswith("status:") for d in diffs)
    assert any(d.startswith("Tc:") for d in diffs)
    assert compare_datagrams(a, a.replace(b"<150>", b"<149>")) == ["header pri: 150 != 149"]
    assert compare_datagrams(a, a[:-1]) == ["trailing newline differs"]
    assert compare_datagrams(a, b, exact_timers=True)


def test_header_bytes_remembered_per_second_equal_build_header() -> None:
    import random

    from haproxy_py.log import syslog as sl

    rng = random.Random(7)
    now = 1_700_000_000.0
    for _ in range(2000):
        now += rng.random() * 0.4
        fmt = rng.choice(["rfc3164", "local", "rfc5424", "priority", "short", "timed", "iso", "raw"])
        args = (fmt, rng.randrange(24), rng.randrange(8), now, rng.choice(["haproxy", "hp"]),
                rng.choice([11, 12]), rng.choice([None, "h1"]))
        assert sl._header_bytes(*args) == sl.build_header(*args).encode("latin-1")
    assert len(sl._HEADERS) <= 64


def test_pid_in_header_follows_fork() -> None:
    import os

    from haproxy_py.log import syslog as sl

    assert sl._PID[0] == os.getpid()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit status only
        os._exit(0 if sl._PID[0] == os.getpid() else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
