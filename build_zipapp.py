#!/usr/bin/env python3
"""Build ``haproxy.pyz``: one file that runs haproxy-py with ``python haproxy.pyz ...``.

A small stdlib builder (zipfile) with its own bootstrap, chosen over pex and shiv by the measurements in
PYTHON_NOTES.md (faster warm start, works with a read-only or missing HOME, falls back to asyncio when
no native build fits).  What goes in:

* ``haproxy_py/`` and ``tui/`` from this checkout, ``.py`` plus an unchecked-hash ``.pyc`` beside each
  one for the building interpreter (zipimport reads ``name.pyc`` next to ``name.py`` and never writes
  bytecode itself; other interpreters see a foreign magic number and compile the ``.py``).
* the pure-Python dependencies (pyparsing, textual and its dependencies), resolved by pip for the
  LOWEST supported Python (3.10) so nothing newer-only sneaks in, with their ``.dist-info`` kept.
* ``_native/``: uvloop for CPython 3.10-3.13 on Linux x86_64 and aarch64 (manylinux tags listed
  explicitly), debug info stripped, all in one tree, unpacked at first use by ``haproxy_py._bootstrap``.
* ``_accel/``: the accelerator, the hot pure modules of ``haproxy_py`` (``ACCEL_MODULES``) compiled by
  mypyc into extension modules for the building interpreter only (``--no-accel`` skips it; a missing
  mypyc or C compiler, or a failed compilation, is warned about and the archive is pure Python).
  Compiled trees are kept in ``--accel-cache`` (default ``build/accel``) under a hash of the sources,
  the module list, mypy's version and the interpreter, so a rebuild of unchanged sources compiles
  nothing.  ``haproxy_py._bootstrap`` loads them in place of the ``.py`` of the same name.
* ``__main__.py`` that installs the bootstrap and runs ``haproxy_py``.

Reproducible: sorted entries, fixed timestamps (``SOURCE_DATE_EPOCH`` or 1980-01-01), fixed modes.
Wheels are kept in a cache directory (``--wheel-cache``, default ``build/wheels``); ``--offline``
uses only that cache.  A target whose wheel cannot be had is warned about and skipped.
"""

# No ``from __future__ import annotations``: Python 3.6 and older cannot compile it, and this file
# must reach the version check below on them (annotations are evaluated only on 3.10+, after it).
import argparse
import hashlib
import importlib.util
import json
import marshal
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import haproxy_py._pyversion  # noqa: F401  (exits on Python < 3.10, before anything needs 3.10)

ROOT = Path(__file__).resolve().parent
LOWEST_PYTHON = "3.10"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
ARCHES = ("x86_64", "aarch64")
MANYLINUX = ("manylinux_2_28", "manylinux_2_17", "manylinux2014")
PURE_REQUIREMENTS = ("pyparsing>=3.1", "textual>=0.80")
NATIVE_REQUIREMENT = "uvloop>=0.19"
OWN_PACKAGES = ("haproxy_py", "tui")
# Files of native wheels that are not needed at run time (Cython sources, headers, test helpers).
NATIVE_DROP = re.compile(r"\.(pyx|pxd|pxi|pyi|c|h|cpp)$|/_testbase\.py$|\.dist-info/RECORD$")
# Bytecode read on every start of the proxy is stored uncompressed (measured ~8 ms faster warm start for
# ~1 MB); everything else (textual, rich, pygments: the TUI) is deflated.
STORED = re.compile(r"^(__main__|haproxy_py/.*|pyparsing/.*)\.pyc$")
PURE_DROP = re.compile(r"(^|/)__pycache__/|\.pyc$|\.dist-info/RECORD$|^bin/")

#: The modules the accelerator compiles (mypyc), chosen from profiles of the engine under wrk with the
#: realistic benchmark configuration: the pure per-request code (head parsing and rewriting, HTX sizes,
#: the log line helpers, sample casts and expressions, ACL conditions and matchers, counters, the
#: pattern references of maps and ACL files, the backend's server choice and slots) and the engine's
#: per-request path (the HTTP and TCP sessions, their routing, the idle server connections, the
#: loggers).  They are compiled together into one shared library; a module outside the set stays
#: interpreted.  Left out: a module whose classes are subclassed by interpreted ones (mypyc refuses
#: that: samples/txn.py's Txn, lb/base.py, actions/base.py; engine/conn.py's Conn, whose FastCGI
#: subclass overrides an attribute with a property that compiled code would not see),
#: samples/fetches.py (its registry reads the ``__name__`` of lambdas, which compiled lambdas lack),
#: log/syslog.py (its unit tests hand _Target a duck-typed sender, which compiled code refuses; its
#: time is the send() system call anyway).
ACCEL_MODULES = (
    "haproxy_py.http.message",
    "haproxy_py.http.parse",
    "haproxy_py.http.rewrite",
    "haproxy_py.http.htx",
    "haproxy_py.http.memo",
    "haproxy_py.log.format",
    "haproxy_py.samples.types",
    "haproxy_py.samples.expr",
    "haproxy_py.samples.patref",
    "haproxy_py.acl.match",
    "haproxy_py.acl.condition",
    "haproxy_py.runtime.counters",
    "haproxy_py.runtime.backend",
    "haproxy_py.engine.http",
    "haproxy_py.engine.stream",
    "haproxy_py.engine.router",
    "haproxy_py.engine.pool",
    "haproxy_py.engine.logs",
)
ACCEL_PREFIX = "_accel/"
ACCEL_JSON = ACCEL_PREFIX + "ACCEL.json"
#: mypyc's C optimisation level (-O3 is its default; measured in the commit that set it)
ACCEL_OPT_LEVEL = "3"

MAIN_PY = '''\
"""haproxy.pyz entry point (generated by build_zipapp.py); parses on any Python."""
import haproxy_py._pyversion  # first: one line and exit 1 on Python < 3.10

import runpy

from haproxy_py import _bootstrap

_bootstrap.install(top_level={top_level!r}, accel={accel!r})
runpy.run_module("haproxy_py", run_name="__main__", alter_sys=True)
'''


def log(msg: str) -> None:
    print(f"build_zipapp: {msg}", file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    print(f"build_zipapp: WARNING: {msg}", file=sys.stderr, flush=True)


def pip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", *args]
    return subprocess.run(cmd, check=check, text=True, capture_output=True)


# --------------------------------------------------------------------------------------------------
# Dependencies
# --------------------------------------------------------------------------------------------------


def fetch_pure(cache: Path, offline: bool) -> list[Path]:
    """Download the pure-Python wheels (for Python 3.10) into ``cache``; return the wheel paths."""
    cache.mkdir(parents=True, exist_ok=True)
    common = ["--only-binary=:all:", "--python-version", LOWEST_PYTHON, "--implementation", "py",
              "--platform", "any", "--abi", "none", "-d", str(cache)]
    if offline:
        common = ["--no-index", "--find-links", str(cache), *common]
    r = pip("download", *common, *PURE_REQUIREMENTS, check=False)
    if r.returncode != 0:
        # Some deps publish only cpXY-tagged pure wheels; retry letting pip pick the tags for 3.10.
        common2 = ["--only-binary=:all:", "--python-version", LOWEST_PYTHON, "-d", str(cache)]
        if offline:
            common2 = ["--no-index", "--find-links", str(cache), *common2]
        r = pip("download", *common2, *PURE_REQUIREMENTS, check=False)
        if r.returncode != 0:
            sys.exit(f"build_zipapp: cannot get the pure-Python dependencies:\n{r.stdout}\n{r.stderr}")
    return sorted(cache.glob("*.whl"))


def install_pure(cache: Path, target: Path) -> dict[str, str]:
    """pip install --target the cached pure wheels (resolved for 3.10); return {dist: version}."""
    r = pip("install", "--no-index", "--find-links", str(cache), "--only-binary=:all:",
            "--python-version", LOWEST_PYTHON, "--no-compile", "--target", str(target),
            *PURE_REQUIREMENTS, check=False)
    if r.returncode != 0:
        sys.exit(f"build_zipapp: pip install --target failed:\n{r.stdout}\n{r.stderr}")
    versions: dict[str, str] = {}
    for d in sorted(target.glob("*.dist-info")):
        name, _, ver = d.name[: -len(".dist-info")].rpartition("-")
        versions[name] = ver
    return versions


def native_platforms(arch: str) -> list[str]:
    return [f"{tag}_{arch}" for tag in MANYLINUX]


def fetch_native(cache: Path, offline: bool, pythons: list[str], arches: list[str]) -> dict[str, Path]:
    """One uvloop wheel per (python, arch) target, all of one version; returns {tag: wheel}."""
    found: dict[str, Path] = {}
    requirement = NATIVE_REQUIREMENT
    for py in pythons:
        for arch in arches:
            nodot = py.replace(".", "")
            tag = f"cp{nodot}-{arch}"
            dest = cache / tag
            dest.mkdir(parents=True, exist_ok=True)
            args = ["download", "--no-deps", "--only-binary=:all:", "--implementation", "cp",
                    "--python-version", py, "--abi", f"cp{nodot}", "-d", str(dest)]
            for plat in native_platforms(arch):
                args += ["--platform", plat]
            if offline:
                args = [args[0], "--no-index", "--find-links", str(dest), *args[1:]]
            r = pip(*args, requirement, check=False)
            wheels = sorted(dest.glob("uvloop-*.whl"))
            if "==" in requirement:
                want = requirement.split("==", 1)[1]
                wheels = [w for w in wheels if w.name.split("-")[1] == want]
            if r.returncode != 0 or not wheels:
                warn(f"no uvloop wheel for {tag} ({requirement}); that target will run on asyncio")
                continue
            wheel = max(wheels, key=lambda w: w.stat().st_mtime)
            found[tag] = wheel
            if "==" not in requirement:
                # Pin every other target to the version of the first one, so the shared tree is coherent.
                requirement = f"uvloop=={wheel.name.split('-')[1]}"
    return found


def strip_tool() -> list[str] | None:
    for tool in ("llvm-strip", "strip"):
        path = shutil.which(tool)
        if path:
            return [path, "--strip-debug"]
    return None


def unpack_native(wheels: dict[str, Path], tree: Path) -> dict[str, str]:
    """Unpack every native wheel into one shared tree, drop sources, strip the .so files."""
    versions: dict[str, str] = {}
    strip = strip_tool()
    if strip is None and wheels:
        warn("neither llvm-strip nor strip found: native modules keep their debug info (larger archive)")
    for tag in sorted(wheels):
        with zipfile.ZipFile(wheels[tag]) as zf:
            for info in zf.infolist():
                name = info.filename
                if name.endswith("/") or NATIVE_DROP.search(name):
                    continue
                dest = tree / name
                if dest.exists() and not name.endswith(".so"):
                    continue  # pure files are identical across builds of one version
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
                if name.endswith(".so") and strip is not None:
                    r = subprocess.run([*strip, str(dest)], capture_output=True, text=True)
                    if r.returncode != 0:
                        warn(f"could not strip {name} ({tag}): {r.stderr.strip()}")
        name, ver = wheels[tag].name.split("-")[:2]
        versions[name] = ver
    return versions


# --------------------------------------------------------------------------------------------------
# Accelerator (mypyc)
# --------------------------------------------------------------------------------------------------

ACCEL_SETUP = '''\
import sys
from mypyc.build import mypycify
from setuptools import setup

config, opt, modules = sys.argv[1], sys.argv[2], sys.argv[3:]
setup(name="haproxy_py_accel", script_args=["build_ext", "--inplace"],
      ext_modules=mypycify(["--config-file", config, "--no-warn-unused-configs", *modules],
                           opt_level=opt, debug_level="0"))
'''


def _module_path(name: str) -> str:
    return name.replace(".", "/") + ".py"


def accel_key(src_root: Path, modules: tuple[str, ...]) -> str:
    """Hash of what the compiled tree depends on: every source of ``haproxy_py`` (mypyc reads the
    types of the modules the compiled ones import), the mypy configuration, the module list, mypy's
    version, the interpreter and its extension suffix, the optimisation level."""
    import sysconfig

    import mypy.version

    h = hashlib.sha256()
    for part in (repr(modules), mypy.version.__version__, sys.version, sys.implementation.cache_tag,
                 str(sysconfig.get_config_var("EXT_SUFFIX")), ACCEL_OPT_LEVEL, ACCEL_SETUP):
        h.update(part.encode() + b"\0")
    h.update(_mypy_sections(_mypy_config(src_root).read_text()).encode())
    for path in sorted(_import_closure(src_root, modules)):
        h.update(path.relative_to(src_root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:20]


def _import_closure(src_root: Path, modules: tuple[str, ...]) -> set[Path]:
    """The source files of ``modules`` and of every ``haproxy_py`` module they import, transitively
    (with their packages' ``__init__.py``): what mypy reads to compile them."""
    import ast

    def source(name: str) -> Path | None:
        base = src_root.joinpath(*name.split("."))
        for cand in (base.with_suffix(".py"), base / "__init__.py"):
            if cand.is_file():
                return cand
        return None

    seen: set[Path] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # the module and its parent packages
            path = source(".".join(parts[:i]))
            if path is None or path in seen:
                continue
            seen.add(path)
            pkg = ".".join(parts[:i]) if path.name == "__init__.py" else ".".join(parts[: i - 1])
            for node in ast.walk(ast.parse(path.read_bytes())):
                if isinstance(node, ast.Import):
                    todo += [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                        base = ".".join([*up, base] if base else up)
                    todo.append(base)
                    todo += [f"{base}.{a.name}" for a in node.names]
            todo = [t for t in todo if t.split(".")[0] == "haproxy_py"]
    return seen


def _mypy_config(src_root: Path) -> Path:
    """The mypy configuration mypyc compiles with: the sources' pyproject.toml, or this checkout's
    (a snapshot of the packages alone has none)."""
    own = src_root / "pyproject.toml"
    return own if own.is_file() else ROOT / "pyproject.toml"


def _mypy_sections(toml: str) -> str:
    """The ``[tool.mypy]`` parts of a pyproject.toml (the rest does not change what mypyc builds)."""
    keep, out = False, []
    for line in toml.splitlines():
        if line.startswith("["):
            keep = line.lstrip("[").startswith("tool.mypy")
        if keep:
            out.append(line)
    return "\n".join(out)


def accel_unavailable() -> str | None:
    """Why this machine cannot compile the accelerator, or None when it can."""
    import sysconfig

    if sys.implementation.name != "cpython":
        return f"mypyc compiles for CPython only (this is {sys.implementation.name})"
    for mod in ("mypyc", "setuptools"):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed (pip install mypy setuptools)"
    # setuptools compiles with $CC when set, else the compiler Python was built with
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc}) on PATH"
    include = sysconfig.get_paths().get("include") or ""
    if not os.path.isfile(os.path.join(include, "Python.h")):
        return f"no Python.h in {include} (the Python development headers)"
    return None


def compile_accel(src_root: Path, cache: Path, modules: tuple[str, ...] = ACCEL_MODULES) -> Path | None:
    """Compile ``modules`` with mypyc for this interpreter, or reuse the cached tree; returns the tree
    (the extension modules at their package paths plus ACCEL.json) or None, with a warning, when the
    compiler is missing or fails."""
    import sysconfig

    why = accel_unavailable()
    if why is not None:
        warn(f"accelerator not built: {why}; the archive runs pure Python")
        return None
    key = accel_key(src_root, modules)
    final = cache / key
    if (final / "ACCEL.json").is_file():
        log(f"accelerator: reusing {final}")
        return final
    suffix = str(sysconfig.get_config_var("EXT_SUFFIX"))
    cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"accelerator: compiling {len(modules)} modules with mypyc for {sys.implementation.cache_tag}")
    with tempfile.TemporaryDirectory(prefix="haproxy-accel-") as tmpdir:
        work = Path(tmpdir)
        # a copy of the sources in a directory without pyproject.toml (setuptools would read the
        # project's metadata), so that the build writes nowhere in the checkout
        shutil.copytree(src_root / "haproxy_py", work / "haproxy_py",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"))
        config = _mypy_config(src_root)
        (work / "setup_accel.py").write_text(ACCEL_SETUP)
        cmd = [sys.executable, "setup_accel.py", str(config), ACCEL_OPT_LEVEL,
               *(_module_path(m) for m in modules)]
        env = {**os.environ, "MYPY_CACHE_DIR": str(work / ".mypy_cache")}
        try:
            r = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=1200, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            warn(f"accelerator not built: mypyc did not finish ({exc}); the archive runs pure Python")
            return None
        shared = sorted(work.glob("*__mypyc" + suffix))
        shims = {m: work / (m.replace(".", "/") + suffix) for m in modules}
        if r.returncode != 0 or len(shared) != 1 or not all(p.is_file() for p in shims.values()):
            tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-15:])
            warn(f"accelerator not built: mypyc failed (status {r.returncode}); the archive runs pure "
                 f"Python:\n{tail}")
            return None
        tmp_final = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache))
        strip = strip_tool()
        for path in [shared[0], *shims.values()]:
            dest = tmp_final / path.relative_to(work)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            if strip is not None:
                subprocess.run([*strip, str(dest)], capture_output=True)
        import mypy.version

        seconds = round(time.monotonic() - started, 1)
        info = {
            "id": "accel-" + key,
            "modules": list(modules),
            "shared": shared[0].name[: -len(suffix)],
            "suffix": suffix,
            "cache_tag": sys.implementation.cache_tag,
            "python": sys.version.split()[0],
            "mypy": mypy.version.__version__,
            "opt_level": ACCEL_OPT_LEVEL,
            "compile_seconds": seconds,
        }
        (tmp_final / "ACCEL.json").write_text(json.dumps(info, indent=1, sort_keys=True))
        try:
            os.rename(tmp_final, final)
        except OSError:  # another build finished the same key first
            shutil.rmtree(tmp_final, ignore_errors=True)
    log(f"accelerator: compiled in {seconds:.1f}s into {final}")
    return final


# --------------------------------------------------------------------------------------------------
# Archive
# --------------------------------------------------------------------------------------------------


def compile_pyc(source: bytes, display_name: str) -> bytes:
    """Unchecked-hash .pyc bytes for the running interpreter (deterministic), as py_compile writes
    them with PycInvalidationMode.UNCHECKED_HASH, built in memory (no temporary file per module)."""
    code = compile(source, display_name, "exec", dont_inherit=True)
    flags = (0b01).to_bytes(4, "little")  # hash-based, not checked against the source
    return importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)


class ArchiveWriter:
    """Collects entries and writes them sorted with fixed timestamps and modes."""

    def __init__(self, epoch: int) -> None:
        t = time.gmtime(max(epoch, 315532800))
        self.date_time = (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec - t.tm_sec % 2)
        self.entries: dict[str, tuple[bytes, bool]] = {}

    def add(self, arcname: str, data: bytes, executable: bool = False) -> None:
        self.entries[arcname] = (data, executable)

    def add_source_tree(self, base: Path, rel_root: Path, prefix: str, pyc: bool,
                        drop: re.Pattern[str] | None = None) -> None:
        for path in sorted(base.rglob("*")):
            if not path.is_file():
                continue
            rel = path.relative_to(rel_root).as_posix()
            if "__pycache__" in rel.split("/") or rel.endswith((".pyc", ".pyo")):
                continue
            if drop is not None and drop.search(rel):
                continue
            data = path.read_bytes()
            arc = prefix + rel
            self.add(arc, data, executable=arc.endswith(".so"))
            if pyc and rel.endswith(".py"):
                self.add(arc + "c", compile_pyc(data, rel))

    def write(self, out: Path) -> None:
        tmp = out.with_name(out.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(b"#!/usr/bin/env python3\n")
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
                for arc in sorted(self.entries):
                    data, executable = self.entries[arc]
                    info = zipfile.ZipInfo(arc, self.date_time)
                    info.compress_type = zipfile.ZIP_STORED if STORED.match(arc) else zipfile.ZIP_DEFLATED
                    info.create_system = 3
                    info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
                    zf.writestr(info, data, compresslevel=None if STORED.match(arc) else 9)
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)


def build(args: argparse.Namespace) -> Path:
    started = time.monotonic()
    out = Path(args.output).resolve()
    cache = Path(args.wheel_cache).resolve()
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    writer = ArchiveWriter(epoch)

    with tempfile.TemporaryDirectory(prefix="haproxy-pyz-") as tmpdir:
        tmp = Path(tmpdir)
        # 1. our own packages
        src_root = Path(args.source_root).resolve()
        for pkg in OWN_PACKAGES:
            writer.add_source_tree(src_root / pkg, src_root, "", pyc=True)

        # 2. pure-Python dependencies
        log("resolving pure-Python dependencies for Python " + LOWEST_PYTHON)
        fetch_pure(cache / "pure", args.offline)
        site = tmp / "site"
        pure_versions = install_pure(cache / "pure", site)
        writer.add_source_tree(site, site, "", pyc=True, drop=PURE_DROP)

        # 3. native builds
        native_versions: dict[str, str] = {}
        tags: list[str] = []
        if not args.no_native:
            pythons = args.pythons.split(",")
            arches = args.arches.split(",")
            log(f"fetching uvloop for {', '.join(pythons)} x {', '.join(arches)}")
            wheels = fetch_native(cache / "native", args.offline, pythons, arches)
            tags = sorted(wheels)
            tree = tmp / "native"
            tree.mkdir()
            native_versions = unpack_native(wheels, tree)
            # Pure files of the native tree get a __pycache__ pyc for the build's Python: they are
            # imported from the unpacked cache dir, where PYTHONDONTWRITEBYTECODE=1 would recompile them.
            for path in sorted(tree.rglob("*.py")):
                rel = path.relative_to(tree)
                pyc = rel.parent / "__pycache__" / (rel.stem + "." + sys.implementation.cache_tag + ".pyc")
                writer.add("_native/" + pyc.as_posix(), compile_pyc(path.read_bytes(), rel.as_posix()))
            writer.add_source_tree(tree, tree, "_native/", pyc=False)

        # 4. the accelerator (mypyc) for this interpreter
        accel: dict[str, object] | None = None
        if not args.no_accel:
            tree_dir = compile_accel(src_root, Path(args.accel_cache).resolve())
            if tree_dir is not None:
                accel = json.loads((tree_dir / "ACCEL.json").read_text())
                # compile_seconds differs between two builds of one tree: not in the archive (reproducible)
                accel.pop("compile_seconds", None)
                for path in sorted(tree_dir.rglob("*" + str(accel["suffix"]))):
                    writer.add(ACCEL_PREFIX + path.relative_to(tree_dir).as_posix(), path.read_bytes(),
                               executable=True)
                writer.add(ACCEL_JSON, json.dumps(accel, indent=1, sort_keys=True).encode())

        native_hash = hashlib.sha256()
        for arc in sorted(writer.entries):
            if arc.startswith("_native/"):
                native_hash.update(arc.encode() + b"\0" + writer.entries[arc][0])
        bundle = {
            "id": "native-" + native_hash.hexdigest()[:16],
            "tags": tags,
            "packages": native_versions,
            "top_level": sorted(native_versions),
            "pure": pure_versions,
            "built_with": sys.implementation.cache_tag,
        }
        accel_main = None
        if accel is not None:
            accel_main = {k: accel[k] for k in ("id", "modules", "shared", "suffix")}
        main_py = MAIN_PY.format(top_level=tuple(bundle["top_level"]) if tags else (),
                                 accel=accel_main).encode()
        writer.add("__main__.py", main_py)
        writer.add("__main__.pyc", compile_pyc(main_py, "__main__.py"))
        if tags:
            writer.add("_native/BUNDLE.json", json.dumps(bundle, indent=1, sort_keys=True).encode())
        writer.write(out)

    size = out.stat().st_size
    log(f"wrote {out} ({size / 1e6:.1f} MB, {len(writer.entries)} entries, native: {', '.join(tags) or 'none'}, "
        f"accelerator: {accel['cache_tag'] if accel else 'none'}, "
        f"{time.monotonic() - started:.1f}s)")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", default=str(ROOT / "haproxy.pyz"), help="archive to write (haproxy.pyz)")
    ap.add_argument("--wheel-cache", default=str(ROOT / "build" / "wheels"),
                    help="where downloaded wheels are kept between builds (build/wheels)")
    ap.add_argument("--source-root", default=str(ROOT), help="directory holding haproxy_py/ and tui/")
    ap.add_argument("--offline", action="store_true", help="use only wheels already in --wheel-cache")
    ap.add_argument("--pythons", default=",".join(PYTHONS), help="CPython versions for native builds")
    ap.add_argument("--arches", default=",".join(ARCHES), help="CPU architectures for native builds")
    ap.add_argument("--no-native", action="store_true", help="bundle no native module (asyncio only)")
    ap.add_argument("--no-accel", action="store_true",
                    help="do not compile the accelerator (mypyc): the archive runs pure Python")
    ap.add_argument("--accel-cache", default=str(ROOT / "build" / "accel"),
                    help="where compiled accelerator trees are kept between builds (build/accel)")
    args = ap.parse_args(argv)
    if importlib.util.find_spec("pip") is None:
        sys.exit("build_zipapp: pip is required to build (python -m ensurepip)")
    build(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
