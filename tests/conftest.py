"""Shared test helpers."""

from __future__ import annotations

import collections
import functools
import glob
import os
import random
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: HAProxy 2.6.12 captures the tests compare against, copied into the repository (see its README.md)
REFERENCE = ROOT / "tests" / "fixtures" / "reference"
SAMPLES = REFERENCE / "samples"
HAPROXY_BIN = shutil.which("haproxy") or "/usr/sbin/haproxy"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))



def pytest_sessionstart(session: pytest.Session) -> None:
    """Byte-compile haproxy_py/ and tui/ once: the tests start the proxy a few thousand times, and
    under PYTHONDONTWRITEBYTECODE (or on a read-only __pycache__) every start would compile from
    source the modules no earlier import had cached (0.1-0.5 s a start). compileall rewrites only
    what is stale."""
    import compileall

    for pkg in ("haproxy_py", "tui"):
        compileall.compile_dir(str(ROOT / pkg), quiet=2, workers=1)


#: HAPROXY_PY_ACCEL_DIR=DIR runs the tests against the accelerator's compiled modules (a tree that
#: build_zipapp.py keeps in build/accel/, see tests/integration/test_accel.py); HAPROXY_PY_PURE=1 with
#: it, or without it, the pure-Python modules
if os.environ.get("HAPROXY_PY_ACCEL_DIR") and os.environ.get("HAPROXY_PY_PURE", "") in ("", "0"):
    from haproxy_py import _bootstrap

    _bootstrap.install_accel_dir(os.environ["HAPROXY_PY_ACCEL_DIR"])
    import haproxy_py.http.message  # noqa: F401,E402  (loads the shared library)

    if not _bootstrap.accel_info()["active"]:
        raise pytest.UsageError(f"HAPROXY_PY_ACCEL_DIR: the accelerator did not load: {_bootstrap.accel_info()}")


#: the last ports free_port() handed out in this process (not handed out again while they are here)
_HANDED_OUT: collections.OrderedDict[int, None] = collections.OrderedDict()
_KEEP_HANDED_OUT = 4096
#: where free_port() looks: below the kernel's ephemeral range (32768-60999 on Linux), so that a port
#: picked now is not taken later by an outgoing connection's local port or by a server bound to 0
FREE_PORT_RANGE = (20000, 32768)
_port_rng = random.Random(os.getpid() ^ int.from_bytes(os.urandom(4), "big"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now and is none of the last 4096 this process got.

    bind(0) in a loop can give the same port twice (two frontends of one configuration then share
    a port, SO_REUSEPORT spreads the connections over both: CI saw requests for 'fewait' served by
    'fenorm'); the ports are taken outside the ephemeral range for the same reason."""
    lo, hi = FREE_PORT_RANGE
    for _ in range(10_000):
        port = _port_rng.randrange(lo, hi)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT[port] = None
        if len(_HANDED_OUT) > _KEEP_HANDED_OUT:
            _HANDED_OUT.popitem(last=False)
        return port
    raise RuntimeError(f"no free TCP port left in {lo}-{hi - 1} on 127.0.0.1")


def require_haproxy_bin() -> str:
    """Debian's haproxy 2.6 binary, or the test fails (never skips); for module-scoped fixtures."""
    if not os.path.exists(HAPROXY_BIN):
        pytest.fail(f"haproxy binary not found at {HAPROXY_BIN}: install Debian's haproxy (see .ci/run)")
    return HAPROXY_BIN


@functools.lru_cache(maxsize=1)
def old_pythons() -> tuple[tuple[tuple[int, int], str], ...]:
    """((major, minor), path) of every Python older than 3.10 installed here (pyenv's, /usr's, PATH's),
    oldest first; the interpreters haproxy-py must refuse in one line."""
    paths = set(glob.glob("/usr/bin/python[23].[0-9]") + glob.glob("/usr/local/bin/python[23].[0-9]")
                + glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python")))
    paths.update(p for p in (shutil.which(f"python3.{m}") for m in range(0, 10)) if p)
    found: dict[tuple[int, int], str] = {}
    for path in sorted(paths):
        try:
            out = subprocess.run([path, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=20).stdout.split()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if len(out) == 2 and (int(out[0]), int(out[1])) < (3, 10):
            found.setdefault((int(out[0]), int(out[1])), path)
    return tuple(sorted(found.items()))


@pytest.fixture
def haproxy_bin() -> str:
    """Debian's haproxy 2.6 binary; the differential tests need it (``.ci/run`` installs it)."""
    return require_haproxy_bin()


#: tests/<dir>/ -> the marker every test under it carries (registered in pyproject.toml)
DIR_MARKERS = ("unit", "integration", "differential", "clients", "tui")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its directory's name, so ``-m unit`` (or ``-m "not tui"``) selects by it."""
    tests_dir = ROOT / "tests"
    for item in items:
        try:
            rel = item.path.resolve().relative_to(tests_dir)
        except ValueError:
            continue
        if len(rel.parts) > 1 and rel.parts[0] in DIR_MARKERS:
            item.add_marker(getattr(pytest.mark, rel.parts[0]))


# ----------------------------------------------------------------------------- hang watchdog
#: pytest-timeout (120 s, pyproject.toml) interrupts a test once; a test whose teardown then hangs
#: would stall the whole run until CI's own limit. Past this many seconds the watchdog names the test,
#: dumps every thread's stack, kills the processes the test started (this process's descendants) and,
#: if the test still has not ended a minute later, ends the run with exit status 3.
WATCHDOG_S = float(os.environ.get("HPY_TEST_WATCHDOG_S", "240"))


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    out: list[int] = []
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


#: every process the tests start inherits this variable (unless a test builds an environment from
#: nothing), so processes left behind can be found after their parent is gone
RUN_TAG = "HPY_TEST_RUN"
os.environ[RUN_TAG] = str(os.getpid())


def _orphans() -> list[int]:
    """Processes of this run (tagged) that are no longer below this pytest process: their parent
    died or they detached (daemons), and no test is holding them any more."""
    tag = f"{RUN_TAG}={os.getpid()}".encode() + b"\0"
    mine = set(_descendants(os.getpid())) | {os.getpid()}
    out = []
    for env in glob.glob("/proc/[0-9]*/environ"):
        pid = int(env.split("/")[2])
        if pid in mine:
            continue
        try:
            with open(env, "rb") as f:
                if tag in f.read():
                    out.append(pid)
        except OSError:
            continue
    return out


def _kill(pids: list[int], why: str) -> list[str]:
    """SIGKILL each of ``pids``; "PID COMMAND" of those that were still there (also on stderr)."""
    import signal

    err = _REAL_OUT.get("out") or sys.__stderr__
    killed = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue
        killed.append(f"{pid} {cmd[:200]}")
        if err is not None:
            print(f"\n{why}: killed {killed[-1]}", file=err, flush=True)
    return killed


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """A test that runs haproxy-py's CLI in this process may leave its switches in os.environ
    (-dV sets HAPROXY_PY_NO_SERVER_VERIFY for the workers it would start, -dS HAPROXY_PY_NOSPLICE):
    the environment is put back after each test, so no later test or the processes it starts
    inherit them."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True, scope="module")
def _no_process_outlives_its_module() -> Iterator[None]:
    """A process a test module started and did not stop (a daemon, a worker whose master was
    killed, ...) must not load the machine for the rest of the run: it is named and killed."""
    yield
    killed = _kill(_orphans(), "left running by this test module")
    if killed:
        import warnings

        warnings.warn(f"processes left running by this module were killed: {killed}", stacklevel=1)


#: the run's real standard error (fd 2 before pytest captures it), for the watchdog's messages
_REAL_OUT: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    capman = config.pluginmanager.getplugin("capturemanager")
    fd = None
    try:  # the descriptor pytest saved before it redirected fd 2 to its capture file
        fd = capman._global_capturing.err.targetfd_save  # type: ignore[union-attr]
    except AttributeError:
        pass
    _REAL_OUT["out"] = os.fdopen(os.dup(fd if isinstance(fd, int) else 2), "w", buffering=1)
    import signal

    signal.signal(signal.SIGUSR2, _on_sigusr2)


class WatchdogTimeout(BaseException):
    """Raised in the main thread of a test the watchdog gave up on."""


def _interrupt_main() -> None:
    """Raise :class:`WatchdogTimeout` in the main thread at its next bytecode, and wake it with
    SIGALRM if it sleeps in a system call and SIGALRM has a Python handler (pytest-timeout's):
    an in-process hang (an event loop's shutdown waiting on a task, ...) ends the test too."""
    import ctypes
    import signal
    import threading

    main = threading.main_thread().ident
    if main is None:
        return
    if signal.getsignal(signal.SIGUSR2) is _on_sigusr2:  # interrupts a lock wait too
        signal.pthread_kill(main, signal.SIGUSR2)
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(main), ctypes.py_object(WatchdogTimeout))
    if callable(signal.getsignal(signal.SIGALRM)):
        signal.pthread_kill(main, signal.SIGALRM)


def _on_sigusr2(signum: int, frame: object) -> None:
    """The watchdog's signal: ends the test it gave up on (a wait on a lock or an event included,
    which an asynchronous exception alone cannot interrupt)."""
    if _WATCHDOG.get("fired"):
        raise WatchdogTimeout(f"the watchdog gave up on {_WATCHDOG['fired']}")


def _watchdog_fire(nodeid: str) -> None:
    import faulthandler
    import threading

    err = _REAL_OUT.get("out") or sys.__stderr__
    assert err is not None
    print(f"\nWATCHDOG: {nodeid} still running after {WATCHDOG_S:.0f} s; the main thread:", file=err, flush=True)
    import traceback

    main = sys._current_frames().get(threading.main_thread().ident or 0)
    if main is not None:
        print("".join(traceback.format_stack(main)), file=err, flush=True)
    print("every thread (faulthandler shows 100 at most):", file=err, flush=True)
    faulthandler.dump_traceback(file=err, all_threads=True)
    _kill(_descendants(os.getpid()) + _orphans(), "WATCHDOG")
    _WATCHDOG["fired"] = nodeid
    _interrupt_main()

    def last_resort() -> None:
        print(f"\nWATCHDOG: {nodeid} did not end; stopping the run", file=err, flush=True)
        os._exit(3)

    t = threading.Timer(60.0, last_resort)
    t.daemon = True
    t.start()
    _WATCHDOG["last"] = t


_WATCHDOG: dict[str, object] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    import threading

    t = threading.Timer(WATCHDOG_S, _watchdog_fire, args=(item.nodeid,))
    t.daemon = True
    t.start()
    try:
        yield
    finally:
        t.cancel()
        _WATCHDOG.pop("fired", None)
        last = _WATCHDOG.pop("last", None)
        if isinstance(last, threading.Timer):
            last.cancel()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "teardown" and _WATCHDOG.get("fired") == item.nodeid:
        rep.outcome = "failed"
        rep.longrepr = f"hang: still running after {WATCHDOG_S:.0f} s (the watchdog killed its processes)"


from tests.integration.tls_certs import certs  # noqa: E402,F401 - the TLS tests' certificates (one set a session)
