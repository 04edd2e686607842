"""Zipapp bootstrap: make the native builds shipped inside ``haproxy.pyz`` importable.

Python never imports extension modules from inside a zip archive, so ``build_zipapp.py`` stores the
native packages (uvloop) under ``_native/`` in the archive, for several CPython versions and CPUs in
one shared tree (the file names differ by ABI tag), plus ``_native/BUNDLE.json`` describing them.

:func:`install` (called by the archive's ``__main__``) registers a meta-path finder.  Nothing is
unpacked until something imports one of the bundled top-level packages (``-c`` never imports uvloop,
so it never touches the disk).  On the first such import the finder unpacks, for *this* interpreter
only, the extension modules whose suffix is one of ``importlib.machinery.EXTENSION_SUFFIXES`` (the
bare ``.so`` entry is ignored, or every build would match) plus the pure files, into a cache
directory:

1. ``$HAPROXY_PY_CACHE``
2. ``$XDG_CACHE_HOME/haproxy-py``
3. ``~/.cache/haproxy-py``
4. ``/tmp/haproxy-py-$UID`` (created mode 0700; used only if owned by us and not group/other writable)

It unpacks into a temporary directory next to the final one, writes a ``.complete`` marker, then
renames it into place, so two processes starting at once never see a half-written tree.  When no
bundled build fits the interpreter (or no cache directory is usable) the finder steps aside, the
import fails as usual and the engine runs on plain asyncio; :func:`bundle_info` says what happened.

The accelerator (``_accel/``, see build_zipapp.py) is the hot pure modules of ``haproxy_py`` compiled by
mypyc for the building interpreter: one shared library (``<hash>__mypyc``) and one small extension
module per compiled module, at its package path, plus ``_accel/ACCEL.json``.  :func:`install` (given
the list the builder wrote into ``__main__``) registers :class:`AccelFinder` ahead of zipimport for
exactly those module names.  On the first import of one of them it checks that the build is for this
interpreter (its extension suffix), unpacks the tree like the native one (same cache directory, same
atomic rename) and loads the shared library; when any of that fails nothing compiled has been loaded
yet, the finder steps aside for good and every module is the pure-Python one from the archive.  So a
module name is always loaded once, from one place: there is never a compiled and a pure copy of one
module (classes and ``isinstance`` hold), and the pure ``.py`` stay the reference and the fallback.
``HAPROXY_PY_PURE=1`` turns the accelerator off (the finder is not registered).  Outside a zipapp,
``HAPROXY_PY_ACCEL_DIR=DIR`` (an unpacked or build/accel tree) loads the compiled modules of DIR over
the checkout's sources: that is how the test suite runs against the compiled build (tests/conftest.py).

This module does file I/O only; it imports no asyncio/socket and is safe to import anywhere.
"""

from __future__ import annotations

import importlib.machinery
import os
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

# json, shutil, tempfile and zipfile are imported only when needed: a warm start that never imports a
# native package (``-c``) or finds it already unpacked pays for none of them (~15 ms together).

NATIVE_PREFIX = "_native/"
ACCEL_PREFIX = "_accel/"
ACCEL_JSON = ACCEL_PREFIX + "ACCEL.json"
PURE_ENV = "HAPROXY_PY_PURE"
ACCEL_DIR_ENV = "HAPROXY_PY_ACCEL_DIR"
BUNDLE_JSON = NATIVE_PREFIX + "BUNDLE.json"
COMPLETE_MARKER = ".complete"
CACHE_ENV = "HAPROXY_PY_CACHE"
APP_NAME = "haproxy-py"

_state: dict[str, Any] = {
    "installed": False,
    "archive": None,
    "bundle": None,
    "cache_dir": None,
    "native_dir": None,
    "error": None,
    "unpacked_now": False,
    "finder": None,
    "accel": None,
}


# --------------------------------------------------------------------------------------------------
# Interpreter description
# --------------------------------------------------------------------------------------------------


def interpreter_tag() -> str:
    """A short tag for this interpreter and CPU, e.g. ``cp311-x86_64`` (matches the build's tags)."""
    impl = sys.implementation.name
    short = {"cpython": "cp", "pypy": "pp"}.get(impl, impl)
    machine = os.uname().machine if hasattr(os, "uname") else "unknown"
    return f"{short}{sys.version_info[0]}{sys.version_info[1]}-{machine}"


def extension_suffixes() -> list[str]:
    """Extension-module suffixes this interpreter loads, without the bare ``.so`` that matches all."""
    return [s for s in importlib.machinery.EXTENSION_SUFFIXES if s not in (".so", ".pyd")]


def _is_foreign_extension(name: str, suffixes: Sequence[str]) -> bool:
    """True for a compiled module built for another interpreter (ends with .so but not our suffix)."""
    if not (name.endswith(".so") or name.endswith(".pyd")):
        return False
    return not any(name.endswith(s) for s in suffixes)


# --------------------------------------------------------------------------------------------------
# Cache directory
# --------------------------------------------------------------------------------------------------


def _usable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def _private_tmp_dir(base: str | None = None) -> Path | None:
    """``/tmp/haproxy-py-$UID``, created 0700; refused if someone else owns it or can write to it."""
    import tempfile

    uid = os.getuid()
    root = Path(base if base is not None else tempfile.gettempdir()) / f"{APP_NAME}-{uid}"
    try:
        os.mkdir(root, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(root)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
        return None
    return root


def cache_candidates(env: Mapping[str, str] | None = None) -> list[Path | None]:
    """The cache directories to try, in order (``None`` stands for the private /tmp directory)."""
    src: Mapping[str, str] = os.environ if env is None else env
    out: list[Path | None] = []
    if src.get(CACHE_ENV):
        out.append(Path(src[CACHE_ENV]))
    if src.get("XDG_CACHE_HOME"):
        out.append(Path(src["XDG_CACHE_HOME"]) / APP_NAME)
    home = src.get("HOME")
    if home:
        out.append(Path(home) / ".cache" / APP_NAME)
    out.append(None)
    return out


def choose_cache_dir(env: dict[str, str] | None = None) -> Path | None:
    """The first usable cache directory, or None if even the private /tmp one is refused."""
    for cand in cache_candidates(env):
        if cand is None:
            return _private_tmp_dir()
        if _usable_dir(cand):
            return cand
    return None


# --------------------------------------------------------------------------------------------------
# Unpacking
# --------------------------------------------------------------------------------------------------


def _members_for_interpreter(names: Sequence[str], suffixes: Sequence[str],
                             prefix: str = NATIVE_PREFIX) -> tuple[list[str], int]:
    """Archive members under ``prefix`` to unpack here, and how many extension modules fit."""
    chosen: list[str] = []
    fitting = 0
    for name in names:
        if not name.startswith(prefix) or name.endswith("/") or name in (BUNDLE_JSON, ACCEL_JSON):
            continue
        rel = name[len(prefix):]
        if _is_foreign_extension(rel, suffixes):
            continue
        if rel.endswith(".so") or rel.endswith(".pyd"):
            fitting += 1
        chosen.append(name)
    return chosen, fitting


def unpack_native(archive: str, cache_dir: Path, bundle: dict[str, Any],
                  prefix: str = NATIVE_PREFIX) -> tuple[Path | None, bool]:
    """Unpack the tree under ``prefix`` (the native builds, or the accelerator) fitting this
    interpreter into ``cache_dir``.

    Returns (directory to put on sys.path or None when no build fits, whether we unpacked it now).
    """
    suffixes = extension_suffixes()
    key = f"{bundle.get('id', 'native')}-{interpreter_tag()}"
    final = cache_dir / key
    if os.path.isfile(os.path.join(final, COMPLETE_MARKER)):
        return final, False
    import json
    import shutil
    import tempfile
    import zipfile

    with zipfile.ZipFile(archive) as zf:
        members, fitting = _members_for_interpreter(zf.namelist(), suffixes, prefix)
        if fitting == 0:
            return None, False
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache_dir))
        try:
            for name in members:
                rel = name[len(prefix):]
                dest = tmp / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(name) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                if rel.endswith(".so") or rel.endswith(".pyd"):
                    os.chmod(dest, 0o755)
            (tmp / COMPLETE_MARKER).write_text(json.dumps({"id": bundle.get("id"), "tag": interpreter_tag()}))
            os.chmod(tmp, 0o755)
            try:
                os.rename(tmp, final)
            except OSError:
                # Someone else won the race (final exists and is not empty), or a stale broken tree.
                if (final / COMPLETE_MARKER).is_file():
                    shutil.rmtree(tmp, ignore_errors=True)
                    return final, False
                stale = cache_dir / f".stale.{key}.{os.getpid()}"
                os.rename(final, stale)
                shutil.rmtree(stale, ignore_errors=True)
                os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final, True


# --------------------------------------------------------------------------------------------------
# The finder
# --------------------------------------------------------------------------------------------------


def _archive_path() -> str | None:
    """The zip archive this module was imported from (zipimport's ``archive``), if any."""
    loader = globals().get("__loader__")
    archive = getattr(loader, "archive", None)
    return archive if isinstance(archive, str) and os.path.isfile(archive) else None


def _read_bundle(archive: str) -> dict[str, Any] | None:
    """BUNDLE.json from the archive, through zipimport's already-parsed directory when possible."""
    import json

    loader = globals().get("__loader__")
    try:
        if getattr(loader, "archive", None) == archive:
            data = loader.get_data(os.path.join(archive, *BUNDLE_JSON.split("/")))  # type: ignore[union-attr]
        else:
            import zipfile

            with zipfile.ZipFile(archive) as zf:
                data = zf.read(BUNDLE_JSON)
        return json.loads(data)
    except (KeyError, OSError, ValueError):
        return None
    except Exception:  # zipfile.BadZipFile and zipimport errors
        return None


class NativeFinder:
    """Meta-path finder that unpacks the bundled native packages on their first import."""

    def __init__(self, archive: str, top_level: Sequence[str], bundle: dict[str, Any] | None = None) -> None:
        self.archive = archive
        self.top_levels = frozenset(top_level)
        self._bundle = bundle
        self._tried = False

    @property
    def bundle(self) -> dict[str, Any]:
        if self._bundle is None:
            self._bundle = _read_bundle(self.archive) or {}
            _state["bundle"] = self._bundle
        return self._bundle

    def _ensure(self) -> Path | None:
        if self._tried:
            return _state["native_dir"]
        self._tried = True
        cache = choose_cache_dir()
        _state["cache_dir"] = str(cache) if cache is not None else None
        if cache is None:
            _state["error"] = "no usable cache directory"
            return None
        try:
            native, now = unpack_native(self.archive, cache, self.bundle)
        except OSError as exc:
            _state["error"] = f"unpacking failed: {exc}"
            return None
        if native is None:
            _state["error"] = f"no bundled build for {interpreter_tag()}"
            return None
        _state["native_dir"] = native
        _state["unpacked_now"] = now
        # Also on sys.path (right after the archive) so importlib.metadata finds the bundled .dist-info.
        try:
            pos = sys.path.index(self.archive) + 1
        except ValueError:
            pos = len(sys.path)
        sys.path.insert(pos, str(native))
        return native

    def find_spec(self, fullname: str, path: Any = None, target: ModuleType | None = None) -> Any:
        if fullname not in self.top_levels:
            return None
        native = self._ensure()
        if native is None:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [str(native)])


class AccelFinder:
    """Meta-path finder that loads the accelerator's compiled modules in place of the pure ones.

    ``info`` is the builder's description (``id``, ``modules``, ``shared``, ``suffix``); ``archive`` the
    zipapp to unpack from, or None with ``directory`` an already unpacked tree (HAPROXY_PY_ACCEL_DIR).
    """

    def __init__(self, info: Mapping[str, Any], archive: str | None = None,
                 directory: Path | None = None) -> None:
        self.info = dict(info)
        self.modules = frozenset(self.info.get("modules", ()))
        self.archive = archive
        self.directory = directory
        self.error: str | None = None
        self._tried = False
        self._ok = False

    def _ensure(self) -> bool:
        if self._tried:
            return self._ok
        self._tried = True
        suffix = str(self.info.get("suffix", ""))
        if suffix not in importlib.machinery.EXTENSION_SUFFIXES:
            self.error = f"built for another interpreter ({suffix.strip('.')}), this is {interpreter_tag()}"
            return False
        directory = self.directory
        if directory is None:
            cache = choose_cache_dir()
            if cache is None or self.archive is None:
                self.error = "no usable cache directory"
                return False
            try:
                directory, _ = unpack_native(self.archive, cache, self.info, ACCEL_PREFIX)
            except OSError as exc:
                self.error = f"unpacking failed: {exc}"
                return False
            if directory is None:
                self.error = f"no compiled module for {interpreter_tag()} in the archive"
                return False
        self.directory = directory
        # A module of the set imported from its source before this finder was installed (a
        # sitecustomize, a test's import hook) would meet compiled copies of the others: the
        # compiled modules hold their own classes, so every module stays pure instead.
        early = sorted(m for m in self.modules if m in sys.modules)
        if early:
            self.error = f"{early[0]} was imported from its source before the accelerator was installed"
            return False
        shared = str(self.info.get("shared", ""))
        path = directory / (shared + suffix)
        try:
            # Loaded here, before any compiled module: if it fails, nothing compiled is in use yet.
            loader = importlib.machinery.ExtensionFileLoader(shared, str(path))
            spec = importlib.machinery.ModuleSpec(shared, loader, origin=str(path))
            module = loader.create_module(spec)
            if module is None:
                raise ImportError(f"cannot load {path}")
            sys.modules[shared] = module
            loader.exec_module(module)
        except (ImportError, OSError) as exc:
            sys.modules.pop(shared, None)
            self.error = f"the compiled modules do not load ({exc})"
            return False
        self._ok = True
        return True

    def find_spec(self, fullname: str, path: Any = None, target: ModuleType | None = None) -> Any:
        if fullname not in self.modules or not self._ensure() or self.directory is None:
            return None
        so = self.directory.joinpath(*fullname.split(".")[:-1], fullname.rpartition(".")[2] + self.info["suffix"])
        if not so.is_file():
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(so))
        return importlib.machinery.ModuleSpec(fullname, loader, origin=str(so))


def _install_accel(info: Mapping[str, Any] | None, archive: str | None, directory: Path | None = None) -> None:
    if not info or _state["accel"] is not None:
        return
    finder = AccelFinder(info, archive, directory)
    _state["accel"] = finder
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        finder.error = f"disabled by {PURE_ENV}"
        finder._tried = True
        return
    sys.meta_path.insert(0, finder)


def install_accel_dir(directory: str | os.PathLike[str]) -> AccelFinder:
    """Load the compiled modules of an unpacked accelerator tree (``DIR/ACCEL.json``) over the
    sources (tests: HAPROXY_PY_ACCEL_DIR).  Call before anything imports the compiled modules."""
    import json

    d = Path(directory)
    info = json.loads((d / "ACCEL.json").read_text())
    _install_accel(info, None, d)
    finder = _state["accel"]
    assert isinstance(finder, AccelFinder)
    return finder


def accel_info() -> dict[str, Any]:
    """Whether the accelerator is in use, for ``-vv`` and the tests.

    Keys: ``bundled`` (the archive or tree has one), ``active`` (every compiled module of the list was
    loaded from its compiled build), ``modules`` (the list), ``compiled`` (those loaded compiled so
    far), ``pure`` (those loaded from their ``.py``), ``directory``, ``error`` (why not active).
    """
    finder = _state.get("accel")
    if finder is None:
        return {"bundled": False, "active": False, "modules": [], "compiled": [], "pure": [],
                "directory": None, "error": None}
    suffix = str(finder.info.get("suffix", ""))
    compiled: list[str] = []
    pure: list[str] = []
    for name in sorted(finder.modules):
        mod = sys.modules.get(name)
        if mod is None:
            continue
        (compiled if str(getattr(mod, "__file__", "")).endswith(suffix) else pure).append(name)
    return {"bundled": True, "active": finder._ok and not pure, "modules": sorted(finder.modules),
            "compiled": compiled, "pure": pure,
            "directory": str(finder.directory) if finder._ok else None, "error": finder.error}


def install(archive: str | None = None, top_level: Sequence[str] | None = None,
            accel: Mapping[str, Any] | None = None) -> bool:
    """Register the native finder if running from an archive that bundles native builds, and the
    accelerator's finder if it bundles one (``accel``: the builder's description of it).

    ``top_level`` (the bundled package names, written into the archive's ``__main__`` by the builder)
    lets a warm start skip reading BUNDLE.json.  Safe to call more than once; returns whether a
    native finder is active.
    """
    if _state["installed"]:
        return True
    archive = archive or _archive_path()
    _state["archive"] = archive
    if archive is None:
        return False
    _install_accel(accel, archive)
    bundle = None
    if top_level is None:
        bundle = _read_bundle(archive)
        _state["bundle"] = bundle
        if not bundle:
            return False
        top_level = bundle.get("top_level", ())
    if not top_level:
        return False
    _state["finder"] = NativeFinder(archive, top_level, bundle)
    sys.meta_path.insert(0, _state["finder"])
    _state["installed"] = True
    return True


def bundle_info() -> dict[str, Any]:
    """What the zipapp bundles and what this process used, for ``-vv``.

    Keys: ``zipapp`` (archive path or None when not running from one), ``interpreter`` (tag such as
    ``cp311-x86_64``), ``bundled_tags`` (interpreter tags with a native build inside),
    ``bundled_packages`` (name -> version), ``fits`` (whether a bundled build matches this
    interpreter), ``cache_dir``, ``native_dir`` (where the matching build was unpacked, or None),
    ``uvloop_from_bundle`` (True if the imported uvloop came from native_dir), ``uvloop_file``,
    ``unpacked_now`` (this process did the first-use unpacking), ``error`` (why nothing was
    unpacked, if so).
    """
    finder = _state.get("finder")
    bundle = (finder.bundle if finder is not None else _state["bundle"]) or {}
    tag = interpreter_tag()
    tags = list(bundle.get("tags", ()))
    mod = sys.modules.get("uvloop")
    mod_file = getattr(mod, "__file__", None) if mod is not None else None
    native = _state["native_dir"]
    from_bundle = bool(mod_file and native and Path(mod_file).resolve().is_relative_to(Path(native).resolve()))
    return {
        "zipapp": _state["archive"],
        "interpreter": tag,
        "bundled_tags": tags,
        "bundled_packages": dict(bundle.get("packages", {})),
        "fits": tag in tags,
        "cache_dir": _state["cache_dir"],
        "native_dir": str(native) if native is not None else None,
        "uvloop_from_bundle": from_bundle,
        "uvloop_file": mod_file,
        "unpacked_now": _state["unpacked_now"],
        "error": _state["error"],
    }
