"""engine/tcp.py's pipe pool: the size the splice pipes are given (1 MiB, else the fallback, else the
kernel's default) and the bound of the pool of empty pipes."""

from __future__ import annotations

import errno
import fcntl
import os

import pytest

from haproxy_py.engine import tcp

F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)

pytestmark = pytest.mark.skipif(not tcp.SPLICE_AVAILABLE, reason="splice() is Linux only")


@pytest.fixture(autouse=True)
def _empty_pool() -> object:
    """Each test starts and ends with an empty pool (pipes of other tests closed)."""
    def drain() -> None:
        while tcp._PIPES:
            r, w = tcp._PIPES.pop()
            os.close(r)
            os.close(w)
    drain()
    yield
    drain()


def _max_size() -> int:
    with open("/proc/sys/fs/pipe-max-size") as fh:
        return int(fh.read())


def test_new_pipe_is_one_mib_when_allowed() -> None:
    if _max_size() < tcp.PIPE_SIZE and os.geteuid() != 0:
        pytest.skip("fs.pipe-max-size is below 1 MiB")
    r, w = tcp._get_pipe()
    try:
        size = fcntl.fcntl(w, F_GETPIPE_SZ)
        # an unprivileged user past fs.pipe-user-pages-soft gets the fallback or the default
        assert size == tcp.PIPE_SIZE or (os.geteuid() != 0 and size <= tcp.PIPE_SIZE_FALLBACK), size
        assert os.get_blocking(r) is False and os.get_blocking(w) is False
        # one splice-sized write fits whole: a pipe of 1 MiB takes 1 MiB before EAGAIN
        if size == tcp.PIPE_SIZE:
            assert os.write(w, b"x" * tcp.SPLICE_CHUNK) == tcp.SPLICE_CHUNK
            left = tcp.SPLICE_CHUNK
            while left:
                left -= len(os.read(r, left))
    finally:
        os.close(r)
        os.close(w)


def test_refused_size_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """EPERM for 1 MiB (a user past its pipe pages): the 256 KiB fallback is asked for next."""
    asked: list[int] = []
    real = fcntl.fcntl

    def fake(fd: int, cmd: int, arg: int = 0) -> int:
        if cmd == tcp.F_SETPIPE_SZ:
            asked.append(arg)
            if arg > tcp.PIPE_SIZE_FALLBACK:
                raise OSError(errno.EPERM, "Operation not permitted")
        return real(fd, cmd, arg)

    monkeypatch.setattr(tcp.fcntl, "fcntl", fake)
    r, w = tcp._get_pipe()
    try:
        assert asked == [tcp.PIPE_SIZE, tcp.PIPE_SIZE_FALLBACK]
        assert real(w, F_GETPIPE_SZ) == tcp.PIPE_SIZE_FALLBACK
    finally:
        os.close(r)
        os.close(w)


def test_both_sizes_refused_keeps_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    real = fcntl.fcntl

    def fake(fd: int, cmd: int, arg: int = 0) -> int:
        if cmd == tcp.F_SETPIPE_SZ:
            raise OSError(errno.EPERM, "Operation not permitted")
        return real(fd, cmd, arg)

    monkeypatch.setattr(tcp.fcntl, "fcntl", fake)
    r, w = tcp._get_pipe()
    try:
        assert real(w, F_GETPIPE_SZ) < tcp.PIPE_SIZE_FALLBACK  # the kernel's default (64 KiB)
    finally:
        os.close(r)
        os.close(w)


def test_pool_keeps_at_most_pipe_pool_max() -> None:
    pipes = [tcp._get_pipe() for _ in range(tcp.PIPE_POOL_MAX + 3)]
    for r, w in pipes:
        tcp._put_pipe(r, w)
    assert tcp.pipes_pooled() == tcp.PIPE_POOL_MAX
    kept = set(tcp._PIPES)
    for r, w in pipes:
        if (r, w) not in kept:  # the ones past the bound were closed
            with pytest.raises(OSError):
                os.fstat(r)
    # a pooled pipe is handed out again before a new one is made
    again = tcp._get_pipe()
    assert again in kept
    os.close(again[0])
    os.close(again[1])
