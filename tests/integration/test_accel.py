"""The accelerator (build_zipapp.py's mypyc build of ACCEL_MODULES, loaded by haproxy_py/_bootstrap.py).

* the compiled modules answer what the pure ones answer, on seeded generated inputs (request and
  response heads, their rewrites and sizes, log lines and log-format strings, syslog framing, sample
  casts, ACL matchers, sample expressions: tests/integration/accel_probe.py, run once on each build);
* tests/unit passes on the compiled build (HAPROXY_PY_ACCEL_DIR);
* the zipapp says the accelerator is active, loads it in the engine and serves traffic; with
  HAPROXY_PY_PURE=1 it says so, loads none of it and serves the same;
* a tree built for another interpreter, or whose shared library does not load, or installed after
  one of its modules was imported from its source, leaves every module pure (never a mix of two
  copies of one module);
* a representative set of integration and differential tests (COMPILED_ENGINE_TESTS) passes with the
  engine compiled; engine/fault.py finds what a compiled closure holds.

The compiled tree comes from build_zipapp.compile_accel and its cache (build/accel/): CI's
``python build_zipapp.py`` compiled it already, so nothing is compiled here unless the sources changed.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from haproxy_py import _bootstrap
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import build_zipapp  # noqa: E402

PROBE = ROOT / "tests" / "integration" / "accel_probe.py"
WHEEL_CACHE = ROOT / "build" / "wheels"
# compiling takes minutes when the sources changed since the last build
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def accel_tree() -> Path:
    why = build_zipapp.accel_unavailable()
    if why is not None:
        pytest.fail(f"the accelerator cannot be built here: {why} (.ci/run installs gcc and the headers)")
    tree = build_zipapp.compile_accel(ROOT, ROOT / "build" / "accel")
    assert tree is not None, "mypyc failed: see the warning above"
    return tree


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in (_bootstrap.PURE_ENV, _bootstrap.ACCEL_DIR_ENV, "PYTHONPATH")}
    env.update(extra)
    return env


# ------------------------------------------------------------------------------------------------
# compiled vs pure
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2026])
def test_compiled_modules_answer_as_the_pure_ones(accel_tree: Path, seed: int) -> None:
    runs = {}
    for name, env in (("compiled", _env(HAPROXY_PY_ACCEL_DIR=str(accel_tree))), ("pure", _env()),
                      ("pure2", _env())):
        r = subprocess.run([sys.executable, str(PROBE), str(seed), "400"], capture_output=True, text=True,
                           env=env, timeout=300, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        want = name.rstrip("2")
        assert lines[0] == want and lines[-1] == f"build {want}", (lines[0], lines[-1])
        runs[name] = lines[1:-1]
    compiled, pure, pure2 = runs["compiled"], runs["pure"], runs["pure2"]
    assert len(pure) > 400 * 10
    # what differs between two pure runs is not the code's answer (uuid, rand, pid, date fetches)
    noise = {i for i, (a, b) in enumerate(zip(pure, pure2, strict=True)) if a != b}
    assert len(noise) < len(pure) // 100 and all(" expr " in pure[i] for i in noise), [pure[i] for i in noise]
    # the generated inputs reach both the answers and the errors of every part
    text = "\n".join(pure)
    for needle in (" req b", " error 400 ", " res b", " error 502 ", " cli b", " fwd b", " http ", " fmt ",
                   " syslog ", " cast ", " match ", " expr ", "Sample("):
        assert needle in text, needle
    diffs = [(a, b) for i, (a, b) in enumerate(zip(compiled, pure, strict=True)) if a != b and i not in noise]
    assert not diffs, diffs[:5]


def test_unit_tests_pass_on_the_compiled_modules(accel_tree: Path) -> None:
    """All of tests/unit (about a minute): the compiled modules' own tests and every pure user of them."""
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "unit",
                        str(ROOT / "tests" / "unit")], capture_output=True, text=True,
                       env=_env(HAPROXY_PY_ACCEL_DIR=str(accel_tree)), timeout=800, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " passed" in r.stdout


def test_conftest_loads_the_compiled_modules(accel_tree: Path) -> None:
    """The switch the unit run above relies on: every compiled module comes from the tree."""
    code = ("import tests.conftest, json, importlib\n"
            "from haproxy_py import _bootstrap\n"
            f"[importlib.import_module(m) for m in {build_zipapp.ACCEL_MODULES!r}]\n"
            "print(json.dumps(_bootstrap.accel_info()))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env=_env(HAPROXY_PY_ACCEL_DIR=str(accel_tree)))
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.splitlines()[-1])
    assert info["active"] and info["compiled"] == sorted(build_zipapp.ACCEL_MODULES) and not info["pure"], info


#: Integration and differential tests run again with the engine compiled (about 100 s): the harness
#: starts ``python -m haproxy_py``, which loads the tree of HAPROXY_PY_ACCEL_DIR over the sources, the
#: compiled modules the zipapp carries. HTTP keep-alive and connection modes, rules, logs (httplog,
#: JSON, generated log-formats against 2.6), health checks, the stats socket, TLS, FastCGI (an
#: interpreted Conn subclass under the compiled session), TCP sessions, server connection reuse,
#: task profiling (the profiled session class).
COMPILED_ENGINE_TESTS = (
    "tests/integration/test_engine_http.py",
    "tests/integration/test_actions.py",
    "tests/integration/test_log_json.py",
    "tests/integration/test_stats_socket.py",
    "tests/integration/test_checks_proxy.py::test_observe_layer7_marks_down_on_errors",
    "tests/integration/test_fcgi_vs_haproxy.py::test_fcgi_app_as_haproxy",
    "tests/integration/test_tls_vs_haproxy.py::test_alpn_as_haproxy",
    "tests/integration/test_tls_vs_haproxy.py::test_tls_fetches_as_haproxy",
    "tests/integration/test_tls_vs_haproxy.py::test_sni_selects_the_certificate_as_haproxy",
    "tests/integration/test_engine_tcp.py::test_tcplog_line",
    "tests/integration/test_engine_tcp.py::test_server_refused_closes_client_after_retries",
    "tests/differential/test_log_lines_generated.py",
    *(f"tests/differential/test_http_reuse_vs_haproxy.py::test_server_connection_reuse_as_haproxy[{case}]"
      for case in ("safe-2-2", "always-2-1", "never-1-1")),
    "tests/differential/test_task_profiling_vs_haproxy.py",
)


def test_engine_tests_pass_on_the_compiled_engine(accel_tree: Path) -> None:
    env = _env(HAPROXY_PY_ACCEL_DIR=str(accel_tree))
    # what the harness starts loads every compiled module, the engine's among them
    vv = subprocess.run([sys.executable, "-m", "haproxy_py", "-vv"], capture_output=True, text=True, env=env,
                        timeout=120, cwd=ROOT)
    n = len(build_zipapp.ACCEL_MODULES)
    assert f"accelerator: active ({n} of {n} compiled modules loaded" in vv.stdout, vv.stdout + vv.stderr
    assert {"haproxy_py.engine.http", "haproxy_py.engine.stream"} <= set(build_zipapp.ACCEL_MODULES)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                        *COMPILED_ENGINE_TESTS], capture_output=True, text=True, env=env, timeout=800, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    summary = r.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, summary


def test_fault_boundary_reads_what_a_compiled_closure_holds(accel_tree: Path) -> None:
    """engine/fault.py's contain() looks for the session a failing callback closes over. A lambda
    compiled by mypyc has no ``__closure__``: what it holds is found through its environment, as the
    cells of the pure one (a matcher of acl/match.py, closing over its set of patterns)."""
    code = ("import tests.conftest, json\n"
            "from haproxy_py.acl.match import compile_matcher\n"
            "from haproxy_py.engine.fault import _captured\n"
            "m = compile_matcher('bin', ('41', '4243'))\n"
            "held = [sorted(x) for x in _captured(m) if isinstance(x, set)]\n"
            "print(json.dumps([hasattr(m, '__closure__'), [[b.decode() for b in h] for h in held]]))\n")
    got = {}
    for name, env in (("compiled", _env(HAPROXY_PY_ACCEL_DIR=str(accel_tree))), ("pure", _env())):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                           env=env)
        assert r.returncode == 0, r.stderr
        got[name] = json.loads(r.stdout.splitlines()[-1])
    assert got["compiled"] == [False, [["A", "BC"]]], got
    assert got["pure"] == [True, [["A", "BC"]]], got


# ------------------------------------------------------------------------------------------------
# fallbacks (no compiler needed: broken trees)
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_package(tmp_path: Path) -> Iterator[Path]:
    pkg = tmp_path / "src" / "accelfake"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("WHO = 'pure'\nclass K:\n    pass\n")
    sys.path.insert(0, str(tmp_path / "src"))
    yield tmp_path
    sys.path.remove(str(tmp_path / "src"))
    for name in [n for n in sys.modules if n == "accelfake" or n.startswith("accelfake.")]:
        del sys.modules[name]


def _fake_tree(root: Path, suffix: str) -> Path:
    tree = root / "tree"
    (tree / "accelfake").mkdir(parents=True)
    (tree / "accelfake" / ("mod" + suffix)).write_bytes(b"not an ELF file")
    (tree / ("deadbeef__mypyc" + suffix)).write_bytes(b"not an ELF file")
    return tree


def _with_finder(finder: _bootstrap.AccelFinder) -> object:
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module("accelfake.mod")
    finally:
        sys.meta_path.remove(finder)


def test_broken_shared_library_leaves_the_pure_module(fake_package: Path) -> None:
    suffix = _bootstrap.extension_suffixes()[0]
    tree = _fake_tree(fake_package, suffix)
    finder = _bootstrap.AccelFinder({"modules": ["accelfake.mod"], "shared": "deadbeef__mypyc", "suffix": suffix},
                                    directory=tree)
    mod = _with_finder(finder)
    assert mod.WHO == "pure" and mod.__file__.endswith("mod.py")  # type: ignore[attr-defined]
    assert finder.error and "do not load" in finder.error
    assert "deadbeef__mypyc" not in sys.modules


def test_module_imported_before_the_finder_leaves_every_module_pure(fake_package: Path) -> None:
    """A module of the set already imported from its source (a sitecustomize did it before the
    bootstrap ran): the compiled copies of the others would not know its classes, so none loads."""
    (fake_package / "src" / "accelfake" / "other.py").write_text("WHO = 'pure'\n")
    importlib.import_module("accelfake.mod")
    suffix = _bootstrap.extension_suffixes()[0]
    tree = _fake_tree(fake_package, suffix)
    (tree / "accelfake" / ("other" + suffix)).write_bytes(b"not an ELF file")
    finder = _bootstrap.AccelFinder({"modules": ["accelfake.mod", "accelfake.other"], "shared": "deadbeef__mypyc",
                                     "suffix": suffix}, directory=tree)
    sys.meta_path.insert(0, finder)
    try:
        other = importlib.import_module("accelfake.other")
    finally:
        sys.meta_path.remove(finder)
    assert other.WHO == "pure" and other.__file__.endswith("other.py")  # type: ignore[attr-defined]
    assert finder.error == "accelfake.mod was imported from its source before the accelerator was installed"
    assert "deadbeef__mypyc" not in sys.modules


def test_tree_of_another_interpreter_is_not_loaded(fake_package: Path) -> None:
    tree = _fake_tree(fake_package, ".cpython-39-x86_64-linux-gnu.so")
    finder = _bootstrap.AccelFinder({"modules": ["accelfake.mod"], "shared": "deadbeef__mypyc",
                                     "suffix": ".cpython-39-x86_64-linux-gnu.so"}, directory=tree)
    mod = _with_finder(finder)
    assert mod.WHO == "pure"  # type: ignore[attr-defined]
    assert finder.error and "another interpreter" in finder.error


# ------------------------------------------------------------------------------------------------
# the zipapp
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pyz(accel_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("accel-pyz") / "haproxy.pyz"
    r = subprocess.run([sys.executable, str(ROOT / "build_zipapp.py"), "-o", str(out), "--wheel-cache",
                        str(WHEEL_CACHE), "--no-native"], capture_output=True, text=True, timeout=800, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "accelerator: reusing" in r.stderr, r.stderr
    return out


def test_archive_holds_the_accelerator_for_this_interpreter(pyz: Path) -> None:
    suffix = _bootstrap.extension_suffixes()[0]
    with zipfile.ZipFile(pyz) as zf:
        info = json.loads(zf.read(build_zipapp.ACCEL_JSON))
        names = set(zf.namelist())
        main = zf.read("__main__.py").decode()
    assert info["modules"] == list(build_zipapp.ACCEL_MODULES) and info["suffix"] == suffix
    for m in build_zipapp.ACCEL_MODULES:
        assert build_zipapp.ACCEL_PREFIX + m.replace(".", "/") + suffix in names, m
        assert m.replace(".", "/") + ".py" in names, m  # the pure module stays, the fallback
    assert build_zipapp.ACCEL_PREFIX + info["shared"] + suffix in names
    assert "accel={" in main and info["id"] in main


class _Backend(threading.Thread):
    """A tiny HTTP/1.1 server answering every request with 200 and the path it got."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def run(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c: socket.socket) -> None:
        buf = b""
        with c:
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        d = c.recv(65536)
                    except ConnectionResetError:  # a connection the proxy does not keep: reset, as 2.6
                        return
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                path = head.split(b" ")[1]
                body = b"you asked " + path
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def _serve_and_check(pyz: Path, tmp_path: Path, env: dict[str, str]) -> str:
    """Start the zipapp on a small HTTP config, send requests, return the engine's memory maps."""
    backend = _Backend()
    backend.start()
    port = free_port()
    cfg = tmp_path / "h.cfg"
    cfg.write_text(f"""defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s

frontend fe
    bind 127.0.0.1:{port}
    acl is_admin path_beg /admin
    http-request deny if is_admin
    http-request set-header X-Src %[src]
    default_backend be

backend be
    server s1 127.0.0.1:{backend.port}
""")
    proc = subprocess.Popen([sys.executable, str(pyz), "-db", "-f", str(cfg)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "the zipapp did not listen"
                time.sleep(0.1)
        for i in range(20):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/x?i={i}", timeout=10) as resp:
                assert resp.status == 200 and resp.read() == b"you asked /x?i=%d" % i
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/admin", timeout=10)
        assert denied.value.code == 403
        return Path(f"/proc/{proc.pid}/maps").read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        backend.sock.close()


def test_zipapp_serves_on_the_accelerator(pyz: Path, tmp_path: Path) -> None:
    env = _env(HAPROXY_PY_CACHE=str(tmp_path / "cache"))
    vv = subprocess.run([sys.executable, str(pyz), "-vv"], capture_output=True, text=True, env=env, timeout=60)
    assert vv.returncode == 0, vv.stderr
    n = len(build_zipapp.ACCEL_MODULES)
    assert f"accelerator: active ({n} of {n} compiled modules loaded" in vv.stdout, vv.stdout
    maps = _serve_and_check(pyz, tmp_path, env)
    assert "__mypyc" in maps and str(tmp_path / "cache") in maps, "the engine did not load the compiled build"


def test_zipapp_pure_switch(pyz: Path, tmp_path: Path) -> None:
    env = _env(HAPROXY_PY_CACHE=str(tmp_path / "cache"), HAPROXY_PY_PURE="1")
    vv = subprocess.run([sys.executable, str(pyz), "-vv"], capture_output=True, text=True, env=env, timeout=60)
    assert "accelerator: inactive, pure Python (disabled by HAPROXY_PY_PURE)" in vv.stdout, vv.stdout
    maps = _serve_and_check(pyz, tmp_path, env)
    assert "__mypyc" not in maps
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").glob("accel-*"))


def test_build_without_accelerator(tmp_path: Path) -> None:
    out = tmp_path / "plain.pyz"
    r = subprocess.run([sys.executable, str(ROOT / "build_zipapp.py"), "-o", str(out), "--wheel-cache",
                        str(WHEEL_CACHE), "--no-native", "--no-accel", "--offline"],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(out) as zf:
        assert not any(n.startswith(build_zipapp.ACCEL_PREFIX) for n in zf.namelist())
    vv = subprocess.run([sys.executable, str(out), "-vv"], capture_output=True, text=True, timeout=60, env=_env())
    assert "accelerator: none bundled (pure Python)" in vv.stdout, vv.stdout


def test_missing_compiler_warns_and_builds_pure(tmp_path: Path) -> None:
    """No C compiler on PATH: a warning, and the archive is pure Python."""
    out = tmp_path / "nocc.pyz"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # PATH without any C compiler (the interpreter is called by its full path)
    env = _env(PATH=str(bindir), CC="no-such-compiler")
    snap = tmp_path / "src"
    shutil.copytree(ROOT / "haproxy_py", snap / "haproxy_py", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tui", snap / "tui", ignore=shutil.ignore_patterns("__pycache__"))
    (snap / "haproxy_py" / "http" / "message.py").write_text(
        (ROOT / "haproxy_py" / "http" / "message.py").read_text() + "\n# changed: no cached build fits\n")
    r = subprocess.run([sys.executable, str(ROOT / "build_zipapp.py"), "-o", str(out), "--wheel-cache",
                        str(WHEEL_CACHE), "--no-native", "--offline", "--source-root", str(snap),
                        "--accel-cache", str(tmp_path / "accel")], capture_output=True, text=True, timeout=600,
                       cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    assert "WARNING: accelerator not built: no C compiler" in r.stderr, r.stderr
    with zipfile.ZipFile(out) as zf:
        assert not any(n.startswith(build_zipapp.ACCEL_PREFIX) for n in zf.namelist())
