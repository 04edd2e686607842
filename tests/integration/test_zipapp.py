"""haproxy.pyz: build it, then run it from a clean virtual environment with nothing installed.

The archive is built once per module (into a temp dir, wheels cached in build/wheels so re-runs are
fast); every run uses its own cache directory through HAPROXY_PY_CACHE or TMPDIR.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from haproxy_py import _bootstrap
from tests.conftest import old_pythons

ROOT = Path(__file__).resolve().parents[2]
BUILDER = ROOT / "build_zipapp.py"
WHEEL_CACHE = ROOT / "build" / "wheels"
TAGS = [f"cp3{minor}-{arch}" for minor in (10, 11, 12, 13) for arch in ("x86_64", "aarch64")]

pytestmark = pytest.mark.timeout(600)


def _build(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(BUILDER), "-o", str(out), "--wheel-cache", str(WHEEL_CACHE), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=500, cwd=ROOT)


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyz") / "haproxy.pyz"
    r = _build(out)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A venv without pip and without system site-packages: nothing but the stdlib."""
    d = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(d)], check=True, timeout=120)
    py = d / "bin" / "python"
    r = subprocess.run([str(py), "-c", "import pyparsing"], capture_output=True, text=True)
    assert r.returncode != 0, "the clean venv must not see pyparsing"
    return str(py)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "HAPROXY_PY_CACHE", "XDG_CACHE_HOME", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


PROBE = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from haproxy_py import _bootstrap
    _bootstrap.install()
    try:
        import uvloop
        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    import importlib.metadata, pyparsing, textual, rich
    info = _bootstrap.bundle_info()
    info.update(loop=loop, textual_version=importlib.metadata.version("textual"),
                uvloop_version=importlib.metadata.version("uvloop") if loop == "uvloop" else None,
                pyparsing_file=pyparsing.__file__, bootstrap_file=_bootstrap.__file__,
                textual_file=textual.__file__)
    print(json.dumps(info))
""")


def _probe(python: str, pyz: Path, env: dict[str, str]) -> dict:
    r = subprocess.run([python, "-c", PROBE, str(pyz)], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------
# The archive itself
# ------------------------------------------------------------------------------------------------


def test_archive_contents(pyz: Path) -> None:
    with zipfile.ZipFile(pyz) as zf:
        names = zf.namelist()
        nameset = set(names)
        assert names == sorted(names), "entries must be sorted (reproducible builds)"
        assert "__main__.py" in nameset
        # our code and its deps, each .py with a .pyc beside it (zipimport's legacy location)
        for mod in ("haproxy_py/__init__.py", "haproxy_py/_bootstrap.py", "pyparsing/__init__.py",
                    "textual/app.py", "rich/console.py", "markdown_it/__init__.py", "mdurl/__init__.py",
                    "platformdirs/__init__.py", "typing_extensions.py", "pygments/__init__.py"):
            assert mod in nameset, mod
            assert mod + "c" in nameset, mod + "c"
        assert not any("__pycache__" in n for n in names if not n.startswith("_native/"))
        assert any(n.startswith("textual-") and n.endswith(".dist-info/METADATA") for n in names)
        assert any(n.startswith("pyparsing-") and n.endswith(".dist-info/METADATA") for n in names)
        # .pyc are unchecked-hash (flags == 0b01) for the build's interpreter
        import importlib.util

        pyc = zf.read("haproxy_py/_bootstrap.pyc")
        assert pyc[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(pyc[4:8], "little") == 0b01
        # native builds: one shared tree, all targets, stripped, no Cython sources
        bundle = json.loads(zf.read("_native/BUNDLE.json"))
        assert bundle["tags"] == sorted(TAGS), bundle["tags"]
        assert "uvloop" in bundle["packages"]
        sos = [n for n in names if n.startswith("_native/uvloop/") and n.endswith(".so")]
        assert len(sos) == len(TAGS)
        for n in sos:
            data = zf.read(n)
            assert data[:4] == b"\x7fELF"
            assert b".debug_info" not in data, f"{n} not stripped"
            assert len(data) < 6_000_000, (n, len(data))
        assert not any(n.endswith((".pyx", ".pxd")) for n in names)
        assert any(n.startswith("_native/uvloop-") and n.endswith(".dist-info/METADATA") for n in names)
        # timestamps are fixed
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_build_is_reproducible(tmp_path: Path) -> None:
    # Build twice from one snapshot of the sources (the working tree may change between two builds).
    snap = tmp_path / "src"
    for pkg in ("haproxy_py", "tui"):
        shutil.copytree(ROOT / pkg, snap / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    one, two = tmp_path / "one.pyz", tmp_path / "two.pyz"
    for out in (one, two):
        r = _build(out, "--offline", "--source-root", str(snap))
        assert r.returncode == 0, r.stderr
    assert one.read_bytes() == two.read_bytes()


# ------------------------------------------------------------------------------------------------
# Bootstrap from a clean venv
# ------------------------------------------------------------------------------------------------


def test_clean_venv_loads_bundled_uvloop_then_reuses_cache(pyz: Path, venv_python: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = _clean_env(HAPROXY_PY_CACHE=str(cache))
    first = _probe(venv_python, pyz, env)
    assert first["loop"] == "uvloop"
    assert first["fits"] is True
    assert first["uvloop_from_bundle"] is True
    assert first["cache_dir"] == str(cache)
    assert first["native_dir"].startswith(str(cache))
    assert first["interpreter"] in first["bundled_tags"]
    assert first["zipapp"] == str(pyz)
    # pure deps come from the archive, precompiled (PYTHONDONTWRITEBYTECODE=1 is set)
    assert first["pyparsing_file"] == str(pyz / "pyparsing" / "__init__.pyc")
    assert first["bootstrap_file"] == str(pyz / "haproxy_py" / "_bootstrap.pyc")
    assert first["textual_version"]
    assert first["uvloop_version"] == first["bundled_packages"]["uvloop"]
    native = Path(first["native_dir"])
    assert (native / _bootstrap.COMPLETE_MARKER).is_file()
    so_files = sorted(p.name for p in native.rglob("*.so"))
    assert len(so_files) == 1 and so_files[0].endswith(_bootstrap.extension_suffixes()[0])
    assert list(cache.iterdir()) == [native], "no temp dirs may be left behind"
    mtime = (native / _bootstrap.COMPLETE_MARKER).stat().st_mtime_ns
    second = _probe(venv_python, pyz, env)
    assert second["native_dir"] == first["native_dir"] and second["uvloop_from_bundle"] is True
    assert (native / _bootstrap.COMPLETE_MARKER).stat().st_mtime_ns == mtime, "second start must not unpack"


def test_concurrent_first_starts(pyz: Path, venv_python: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = _clean_env(HAPROXY_PY_CACHE=str(cache))
    procs = [subprocess.Popen([venv_python, "-c", PROBE, str(pyz)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["uvloop_from_bundle"] is True
    assert len(list(cache.iterdir())) == 1, list(cache.iterdir())


def test_unusable_home_falls_back_to_private_tmp(pyz: Path, venv_python: str, tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    home = tmp_path / "home-is-a-file"
    home.write_text("")  # ~/.cache cannot be created below a file, not even by root
    env = _clean_env(HOME=str(home), TMPDIR=str(tmpdir))
    info = _probe(venv_python, pyz, env)
    private = tmpdir / f"haproxy-py-{os.getuid()}"
    assert info["cache_dir"] == str(private)
    assert info["loop"] == "uvloop" and info["uvloop_from_bundle"] is True


def test_private_tmp_dir_used_and_owner_checked(pyz: Path, venv_python: str, tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = _clean_env(TMPDIR=str(tmpdir))
    env.pop("HOME", None)
    info = _probe(venv_python, pyz, env)
    private = tmpdir / f"haproxy-py-{os.getuid()}"
    assert info["cache_dir"] == str(private)
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert info["loop"] == "uvloop"
    # a private dir that others can write to is refused: plain asyncio, and -vv can say why
    tmpdir2 = tmp_path / "tmp2"
    tmpdir2.mkdir()
    bad = tmpdir2 / f"haproxy-py-{os.getuid()}"
    bad.mkdir()
    os.chmod(bad, 0o777)
    env["TMPDIR"] = str(tmpdir2)
    info = _probe(venv_python, pyz, env)
    assert info["loop"] == "asyncio"
    assert info["uvloop_from_bundle"] is False
    assert info["error"] == "no usable cache directory"
    assert list(bad.iterdir()) == []


# ------------------------------------------------------------------------------------------------
# Bootstrap logic on synthetic archives (no build needed)
# ------------------------------------------------------------------------------------------------


def _fake_archive(path: Path, so_names: list[str]) -> dict:
    bundle = {"id": "native-test", "tags": ["cp0-none"], "packages": {"fakenat": "1"}, "top_level": ["fakenat"]}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("_native/BUNDLE.json", json.dumps(bundle))
        zf.writestr("_native/fakenat/__init__.py", "X = 1\n")
        for so in so_names:
            zf.writestr(f"_native/fakenat/{so}", b"\x7fELF-not-really")
    return bundle


def test_unpack_skips_foreign_builds_and_bare_so(tmp_path: Path) -> None:
    ours = "mod" + _bootstrap.extension_suffixes()[0]
    foreign = ["mod.cpython-39-x86_64-linux-gnu.so", "mod.cpython-399-riscv-linux-gnu.so", "helper.so"]
    arc = tmp_path / "a.pyz"
    bundle = _fake_archive(arc, [ours, *foreign])
    cache = tmp_path / "cache"
    cache.mkdir()
    native, now = _bootstrap.unpack_native(str(arc), cache, bundle)
    assert now is True and native is not None
    assert sorted(p.name for p in (native / "fakenat").iterdir()) == sorted(["__init__.py", ours])
    native2, now2 = _bootstrap.unpack_native(str(arc), cache, bundle)
    assert native2 == native and now2 is False


def test_no_fitting_build_means_no_unpack(tmp_path: Path) -> None:
    arc = tmp_path / "a.pyz"
    bundle = _fake_archive(arc, ["mod.cpython-39-x86_64-linux-gnu.so", "mod.so"])
    cache = tmp_path / "cache"
    cache.mkdir()
    native, now = _bootstrap.unpack_native(str(arc), cache, bundle)
    assert native is None and now is False
    assert list(cache.iterdir()) == []


def test_cache_candidates_order(tmp_path: Path) -> None:
    env = {"HAPROXY_PY_CACHE": "/x", "XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}
    assert _bootstrap.cache_candidates(env) == [Path("/x"), Path("/xdg/haproxy-py"),
                                                Path("/home/u/.cache/haproxy-py"), None]
    assert _bootstrap.cache_candidates({}) == [None]


def test_bundle_info_outside_zipapp() -> None:
    info = _bootstrap.bundle_info()
    for key in ("zipapp", "interpreter", "bundled_tags", "cache_dir", "native_dir", "uvloop_from_bundle", "fits"):
        assert key in info
    assert info["interpreter"].startswith(f"cp{sys.version_info[0]}{sys.version_info[1]}-")


# ------------------------------------------------------------------------------------------------
# The CLI through the archive (contract: -vv names the event loop; -c behaves as from the source tree)
# ------------------------------------------------------------------------------------------------


def test_pyz_vv_names_event_loop(pyz: Path, venv_python: str, tmp_path: Path) -> None:
    env = _clean_env(HAPROXY_PY_CACHE=str(tmp_path / "cache"))
    r = subprocess.run([venv_python, str(pyz), "-vv"], capture_output=True, text=True, env=env, timeout=60)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert "uvloop" in out, out


OLD_PYTHONS = old_pythons()


@pytest.mark.skipif(not OLD_PYTHONS, reason="no Python older than 3.10 installed on this machine "
                                            "(tests/unit/test_pyversion.py checks the entry's syntax instead)")
@pytest.mark.parametrize("python", [p for _, p in OLD_PYTHONS] or [""],
                         ids=[f"py{v[0]}.{v[1]}" for v, _ in OLD_PYTHONS] or ["none"])
def test_pyz_refuses_old_python_in_one_line(pyz: Path, python: str, tmp_path: Path) -> None:
    """``python haproxy.pyz`` on Python < 3.10 (2.7 included): one line, exit 1, nothing unpacked."""
    cfg = ROOT / "samples" / "haproxy.cfg"
    env = _clean_env(HAPROXY_PY_CACHE=str(tmp_path / "cache"))
    env = {k: v for k, v in env.items() if not k.startswith("PYTHON")}
    r = subprocess.run([python, str(pyz), "-c", "-f", str(cfg)], capture_output=True, text=True, env=env,
                       timeout=60, cwd=tmp_path)
    full = subprocess.run([python, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
                          capture_output=True, text=True, timeout=20).stdout.strip()
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == f"haproxy-py needs Python 3.10 or newer (this is Python {full})\n"
    assert not (tmp_path / "cache").exists()


def test_pyz_check_matches_source_tree(pyz: Path, venv_python: str, tmp_path: Path) -> None:
    cfg = ROOT / "samples" / "haproxy.cfg"
    env = _clean_env(HAPROXY_PY_CACHE=str(tmp_path / "cache"))
    r = subprocess.run([venv_python, str(pyz), "-c", "-f", str(cfg)], capture_output=True, text=True,
                       env=env, timeout=60, cwd=tmp_path)
    assert "Traceback" not in r.stderr, r.stderr
    src = subprocess.run([sys.executable, "-m", "haproxy_py", "-c", "-f", str(cfg)], capture_output=True,
                         text=True, env=_clean_env(PYTHONPATH=str(ROOT)), timeout=60, cwd=tmp_path)
    assert r.returncode in (0, 1, 2)
    assert (r.returncode, r.stdout) == (src.returncode, src.stdout)
    if r.returncode == 0:
        assert "Configuration file is valid" in r.stdout


# ------------------------------------------------------------------------------------------------
# Helpers shipped next to the zipapp: the benchmark harness and the demo backends
# ------------------------------------------------------------------------------------------------

WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:4000/1k.bin
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms  300.00us   9.00ms   90.00%
    Req/Sec    45.00k     2.00k   48.00k    70.00%
  Latency Distribution
     50%    1.00ms
     75%    1.20ms
     90%    1.50ms
     99%  850.00us
  135000 requests in 3.00s, 170.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  45000.12
Transfer/sec:     56.00MB
"""


def _bench_module():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run as bench_run  # bench/run.py
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return bench_run


def test_bench_parses_wrk_output() -> None:
    res = _bench_module().parse_wrk(WRK_OUTPUT)
    assert res == {"rps": 45000.12, "requests": 135000, "p99_ms": 0.85, "non2xx": 4, "socket_errors": 3}


@pytest.mark.parametrize("simple", [True, False], ids=["simple", "realistic"])
def test_bench_proxy_config_is_valid_for_haproxy(haproxy_bin: str, tmp_path: Path, simple: bool) -> None:
    bench = _bench_module()
    (tmp_path / "paths.map").write_text(bench.MAP_LINES)
    ports = bench.ConfPorts(40001, 40002, 40004, 40003, idle_binds=[40005, 40006], idle_servers=[40007, 40008],
                            syslog=40009, stats_socket=str(tmp_path / "s.sock"), map_file=str(tmp_path / "paths.map"))
    cfg = tmp_path / "bench.cfg"
    cfg.write_text(bench.proxy_conf(ports, 5000, simple=simple))
    for cmd in ([haproxy_bin], [sys.executable, "-m", "haproxy_py"]):
        r = subprocess.run([*cmd, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "Configuration file is valid\n"


def test_demo_cfg_differs_from_seed_only_where_intended() -> None:
    demo = (ROOT / "samples" / "demo.cfg").read_text()
    words = [line.split() for line in demo.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    keywords = {w[0] for w in words}
    assert not keywords & {"chroot", "user", "group", "daemon"}
    assert ["frontend", "main", "*:5000"] in words
    assert any(w[:2] == ["stats", "socket"] and w[2].startswith("/tmp/") for w in words)
    assert any(w[0] == "pidfile" and w[1].startswith("/tmp/") for w in words)
    servers = [w[2] for w in words if w[0] == "server"]
    assert servers == ["127.0.0.1:4331", "127.0.0.1:5001", "127.0.0.1:5002", "127.0.0.1:5003", "127.0.0.1:5004"]


def test_demo_backends_answer_and_echo_headers(tmp_path: Path) -> None:
    import socket as _socket
    import time

    from tests.conftest import free_port

    ports = [free_port(), free_port()]
    proc = subprocess.Popen([sys.executable, str(ROOT / "samples" / "demo_backends.py"), "--ports",
                             f"static={ports[0]},app1={ports[1]}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                _socket.create_connection(("127.0.0.1", ports[1]), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.05)

        def get(port: int, path: str, extra: bytes = b"") -> bytes:
            with _socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra +
                          b"Connection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
                return data

        r = get(ports[1], "/hello", b"X-Forwarded-For: 10.0.0.1\r\n")
        head, _, body = r.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"X-Server: app1" in head
        assert body.startswith(b"server: app1\nrequest: GET /hello HTTP/1.1\n")
        assert b"header: X-Forwarded-For: 10.0.0.1\n" in body
        assert b"Content-Length: %d" % len(body) in head
        r = get(ports[0], "/health")
        assert r.startswith(b"HTTP/1.1 200 OK\r\n") and r.endswith(b"\r\n\r\nOK\n")
        # keep-alive: two requests on one connection
        with _socket.create_connection(("127.0.0.1", ports[0]), timeout=5) as s:
            s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while data.count(b"server: static") < 2:
                chunk = s.recv(65536)
                assert chunk, data
                data += chunk
            assert b"request: GET /a " in data and b"request: GET /b " in data
    finally:
        proc.terminate()
        proc.wait(timeout=10)
