"""engine/fdpoll.py: the loop's add_reader/add_writer family over an epoll of our own."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from haproxy_py.engine.fdpoll import loop_class


def _bases() -> list[Any]:
    out: list[Any] = [asyncio.SelectorEventLoop]
    try:
        import uvloop

        out.append(uvloop.Loop)
    except ImportError:
        pass
    return out


@pytest.fixture(params=_bases(), ids=lambda b: b.__module__)
def loop(request: Any) -> Any:
    lp = loop_class(request.param)()
    yield lp
    lp.close()


def _run(loop: Any, until: Any, limit: float = 2.0) -> None:
    async def wait() -> None:
        t0 = loop.time()
        while not until() and loop.time() - t0 < limit:
            await asyncio.sleep(0.005)

    loop.run_until_complete(wait())


def test_reader_writer_args_and_removal(loop: Any) -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    got: list[Any] = []
    loop.add_writer(a.fileno(), got.append, "w")
    _run(loop, lambda: got)
    assert got[0] == "w"
    assert loop.remove_writer(a.fileno()) is True
    assert loop.remove_writer(a.fileno()) is False
    got.clear()
    loop.add_reader(a, lambda: got.append(a.recv(10)))  # a socket object is accepted too
    b.send(b"hello")
    _run(loop, lambda: got)
    assert got == [b"hello"]
    assert loop.watched_fds() == 1
    assert loop.remove_reader(a.fileno()) is True
    assert loop.watched_fds() == 0
    b.send(b"more")
    got.clear()
    _run(loop, lambda: got, 0.1)
    assert got == []  # no longer watched
    a.close()
    b.close()


def test_reader_and_writer_on_one_descriptor(loop: Any) -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    seen: list[str] = []
    loop.add_reader(a.fileno(), lambda: seen.append("r") or a.recv(10))
    loop.add_writer(a.fileno(), lambda: seen.append("w") or loop.remove_writer(a.fileno()))
    b.send(b"x")
    _run(loop, lambda: "r" in seen and "w" in seen)
    assert "r" in seen and "w" in seen
    assert loop.remove_reader(a.fileno())
    a.close()
    b.close()


def test_forget_before_close_costs_no_removal(loop: Any) -> None:
    a, b = socket.socketpair()
    loop.add_reader(a.fileno(), lambda: None)
    loop.forget_fd(a.fileno())
    assert loop.watched_fds() == 0
    a.close()  # leaves the epoll set by itself
    c, d = socket.socketpair()  # may reuse the number: registering it works
    got: list[bytes] = []
    c.setblocking(False)
    loop.add_reader(c.fileno(), lambda: got.append(c.recv(10)))
    d.send(b"ok")
    _run(loop, lambda: got)
    assert got == [b"ok"]
    loop.remove_reader(c.fileno())
    for s in (b, c, d):
        s.close()


def test_forgotten_but_open_descriptor_does_not_spin(loop: Any) -> None:
    a, b = socket.socketpair()
    calls: list[int] = []
    loop.add_reader(a.fileno(), lambda: calls.append(1))
    loop.forget_fd(a.fileno())  # misuse: still open, still in the set
    b.send(b"x")
    _run(loop, lambda: False, 0.1)
    assert calls == []
    assert loop._ep is not None
    # it was taken out of the set at its first event: polling again reports nothing
    assert loop._ep.poll(0) == []
    a.close()
    b.close()


def test_callback_exception_goes_to_the_loop_handler(loop: Any) -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    errors: list[Any] = []
    loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))

    def boom() -> None:
        a.recv(10)
        raise ValueError("boom")

    loop.add_reader(a.fileno(), boom)
    b.send(b"x")
    _run(loop, lambda: errors)
    assert isinstance(errors[0]["exception"], ValueError)
    loop.remove_reader(a.fileno())
    a.close()
    b.close()


def test_closed_descriptor_removal_is_quiet(loop: Any) -> None:
    a, b = socket.socketpair()
    fd = a.fileno()
    loop.add_reader(fd, lambda: None)
    a.close()
    assert loop.remove_reader(fd) is True  # closed first, removed after: no error
    b.close()
