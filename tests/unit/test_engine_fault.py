"""engine/fault.py: an exception escaping a loop callback reaches the session behind it (issue #13)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from haproxy_py.engine.conn import Conn
from haproxy_py.engine.fault import contain, describe, location
from haproxy_py.engine.tcp import Tunnel


class Owner:
    def __init__(self) -> None:
        self.faults: list[tuple[str, str]] = []

    def internal_error(self, exc: BaseException, where: str) -> None:
        self.faults.append((type(exc).__name__, where))

    def on_data(self, data: bytes) -> None:
        raise ZeroDivisionError("boom in on_data")

    def on_close(self, reason: str) -> None:
        raise KeyError("boom in on_close")


class FakeLoop:
    """Just enough of a loop for Conn: readers are recorded and run by the test."""

    def __init__(self) -> None:
        self.readers: dict[int, object] = {}
        self.soon: list[tuple[object, tuple[object, ...]]] = []

    def add_reader(self, fd: int, cb: object) -> None:
        self.readers[fd] = cb

    def remove_reader(self, fd: int) -> None:
        self.readers.pop(fd, None)

    def add_writer(self, fd: int, cb: object) -> None:
        pass

    def remove_writer(self, fd: int) -> None:
        pass

    def call_soon(self, cb: object, *args: object) -> None:
        self.soon.append((cb, args))

    def time(self) -> float:
        return 0.0


def test_contain_hands_the_exception_to_the_owner_of_a_bound_method() -> None:
    o = Owner()
    contain(o.on_data, ValueError("x"), "read")
    assert o.faults == [("ValueError", "read")]


def test_contain_finds_the_session_a_closure_callback_closes_over() -> None:
    o = Owner()

    def make(owner: Owner) -> object:
        return lambda e: owner.on_data(b"")  # what sessions set as on_error: closes over self

    contain(make(o), OSError("x"), "write error")
    assert o.faults == [("OSError", "write error")]


def test_contain_reraises_when_nobody_owns_the_callback() -> None:
    with pytest.raises(ValueError, match="x"):
        contain(lambda: None, ValueError("x"), "read")

    class NoHandler:
        def cb(self) -> None:
            return None

    with pytest.raises(KeyError):
        contain(NoHandler().cb, KeyError("k"), "timer")


def test_location_and_describe_are_one_line_with_file_and_function() -> None:
    def inner() -> None:
        raise RuntimeError("first line\nsecond line")

    try:
        inner()
    except RuntimeError as e:
        loc = location(e)
        text = describe(e)
    assert loc.endswith(" in inner") and "test_engine_fault.py:" in loc
    assert "\n" not in text
    assert text.startswith("RuntimeError: first line second line at ") and text.endswith(" in inner")
    assert location(RuntimeError("never raised")) == "unknown location"


def test_conn_reader_contains_an_exception_of_its_session() -> None:
    a, b = socket.socketpair()
    try:
        a.setblocking(False)
        loop = FakeLoop()
        o = Owner()
        c = Conn(loop, a)
        c.on_data = o.on_data
        c.read_on()
        b.sendall(b"hello")
        loop.readers[a.fileno()]()  # what the loop does: must not raise
        assert o.faults == [("ZeroDivisionError", "read")]
        b.close()
        c.on_eof = lambda: (_ for _ in ()).throw(OSError("unowned"))  # no owner: goes to the loop
        with pytest.raises(OSError, match="unowned"):
            loop.readers[a.fileno()]()
    finally:
        a.close()
        b.close()


def test_tunnel_forwards_a_pump_fault_to_its_session_and_stops_pumping() -> None:
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    try:
        for s in (a, c):
            s.setblocking(False)
        loop = FakeLoop()
        o = Owner()
        tun = Tunnel(loop, a, c, o.on_close, use_splice=False)
        tun.start()
        tun.bytes_in = None  # type: ignore[assignment]  # the byte count raises inside the pump's read
        b.sendall(b"x")
        loop.readers[a.fileno()]()
        assert o.faults == [("TypeError", "tunnel read")]
        assert tun.up.closed and tun.down.closed and not loop.readers
    finally:
        for s in (a, b, c, d):
            s.close()


def _engine(tmp_path: object) -> tuple[object, object]:
    import asyncio
    from pathlib import Path

    from haproxy_py.config import load_config
    from haproxy_py.engine.loop import Engine

    cfg = Path(str(tmp_path)) / "h.cfg"
    cfg.write_text("defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n"
                   "    timeout connect 1s\nfrontend fe\n    bind 127.0.0.1:1\n    default_backend be\n"
                   "backend be\n    server s1 127.0.0.1:1\n")
    config, diags = load_config([str(cfg)])
    assert not diags.has_errors
    loop = asyncio.new_event_loop()
    return Engine(config, loop), loop


def test_the_loops_last_resort_logs_one_line_and_counts(tmp_path: object, capfd: pytest.CaptureFixture[str]) -> None:
    eng, loop = _engine(tmp_path)
    try:
        def stray() -> None:
            raise LookupError("no session behind this callback")

        loop.call_soon(stray)
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if "Internal error" in ln]
    assert len(lines) == 1 and lines[0].startswith("[ALERT]"), err
    assert "Internal error outside any session: " in lines[0]
    assert "LookupError: no session behind this callback at " in lines[0] and lines[0].endswith(" in stray")
    assert eng.internal_errors == 1  # type: ignore[attr-defined]


def test_session_fault_counts_eint_on_frontend_backend_and_server(tmp_path: object,
                                                                  capfd: pytest.CaptureFixture[str]) -> None:
    eng, loop = _engine(tmp_path)
    loop.close()
    st = eng.state  # type: ignore[attr-defined]
    fe, be = st.frontends["fe"], st.backends["be"]
    srv = be.servers[0]

    class Sess:
        def __init__(self) -> None:
            self.fe, self.be, self.srv = fe, be, srv
            self.src_ip, self.src_port = "127.0.0.9", 4242

        def phase_name(self) -> str:
            return "reshead"

    try:
        {}["missing"]
    except KeyError as e:
        eng.session_fault(Sess(), e, "read")  # type: ignore[attr-defined]
    assert (fe.counters.eint, be.counters.eint, srv.counters.eint) == (1, 1, 1)
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert ("Internal error in a session: frontend fe, backend be, server s1, client 127.0.0.9:4242, "
            "phase reshead, during read: KeyError: 'missing' at ") in err
    assert err.rstrip().endswith("the session is closed.")


def test_a_stats_socket_session_fault_is_one_counted_line(capsys: Any) -> None:
    """An unexpected exception while a stats socket line runs (the master's worker picture once
    met one) closes that connection, is counted and logged in one alert line, no traceback."""
    import asyncio
    from types import SimpleNamespace

    from haproxy_py.engine.stats_socket import StatsSocketServer

    state = SimpleNamespace(config=SimpleNamespace(global_=SimpleNamespace(stats_timeout=None, stats_maxconn=None)))
    srv = StatsSocketServer(state, SimpleNamespace())  # type: ignore[arg-type]

    async def boom(reader: Any, writer: Any) -> None:
        raise TypeError("injected by the test")

    srv.session = boom  # type: ignore[method-assign]
    closed = []
    writer = SimpleNamespace(close=lambda: closed.append(True))
    asyncio.run(srv.handle(None, writer))  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert srv.faults == 1 and closed == [True]
    assert err.count("\n") == 1 and "Internal error in a stats socket session: TypeError: injected by the test" in err
    assert "Traceback" not in err
