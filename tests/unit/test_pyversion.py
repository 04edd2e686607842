"""On a Python older than 3.10 every command says so in one line (haproxy_py/_pyversion.py).

The check itself is tested here on version tuples; that the files it guards parse on old interpreters
is proved on their syntax trees (tests/integration/test_old_python.py runs real old interpreters
when the machine has some).
"""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

import pytest

import build_zipapp
from haproxy_py import _pyversion
from tests.conftest import ROOT


@pytest.mark.parametrize("version,shown", [
    ((3, 9, 18, "final", 0), "3.9.18"),
    ((3, 8, 0), "3.8.0"),
    ((3, 6, 15), "3.6.15"),
    ((2, 7, 18, "final", 0), "2.7.18"),
])
def test_old_versions_get_one_line(version: tuple[object, ...], shown: str) -> None:
    msg = _pyversion.version_problem(version)
    assert msg == f"haproxy-py needs Python 3.10 or newer (this is Python {shown})"
    assert "\n" not in msg


@pytest.mark.parametrize("version", [(3, 10, 0), (3, 10, 13, "final", 0), (3, 11, 7), (3, 13, 0, "candidate", 1),
                                     (4, 0, 0)])
def test_supported_versions_pass(version: tuple[object, ...]) -> None:
    assert _pyversion.version_problem(version) is None
    _pyversion.require(version, io.StringIO())  # does not exit


def test_require_writes_the_line_and_exits_1() -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as ei:
        _pyversion.require((3, 9, 18, "final", 0), err)
    assert ei.value.code == 1
    assert err.getvalue() == "haproxy-py needs Python 3.10 or newer (this is Python 3.9.18)\n"


def test_this_interpreter_passes() -> None:
    assert _pyversion.version_problem(sys.version_info) is None


# -- the files that run before the check must parse on old interpreters --------------------------------

def _newer_syntax(tree: ast.AST) -> list[str]:
    """Constructs an old interpreter cannot compile (ast.parse's feature_version is best effort: on
    3.12+ it lets f-strings through, for one, so they are looked for here)."""
    bad = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.JoinedStr):
            bad.append(f"{line}: f-string (3.6)")
        elif isinstance(node, ast.AnnAssign):
            bad.append(f"{line}: variable annotation (3.6)")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            if node.returns is not None or any(x.annotation is not None for x in
                                               a.posonlyargs + a.args + a.kwonlyargs):
                bad.append(f"{line}: function annotation (3.0)")
            if a.posonlyargs:
                bad.append(f"{line}: positional-only parameters (3.8)")
        elif isinstance(node, ast.NamedExpr):
            bad.append(f"{line}: walrus (3.8)")
        elif isinstance(node, ast.Match):
            bad.append(f"{line}: match (3.10)")
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            bad.append(f"{line}: from __future__ import (compile-time, version-dependent)")
    return bad


def _parse_old(source: str, name: str, oldest: tuple[int, int]) -> ast.Module:
    """Parse with the grammar of ``oldest``, or the oldest one this interpreter still models."""
    for feature in [v for v in ((3, 4), (3, 5), (3, 6), (3, 7)) if v >= oldest]:
        try:
            return ast.parse(source, name, feature_version=feature)
        except ValueError:  # feature version below what this interpreter supports
            continue
    raise AssertionError("no old feature_version supported")


#: files run by an old interpreter before (or as) the check: the check, the package __init__, the
#: ``-m`` entry and the zipapp's generated entry
GUARDED_ENTRIES = {
    "haproxy_py/_pyversion.py": (ROOT / "haproxy_py" / "_pyversion.py").read_text(),
    "haproxy_py/__init__.py": (ROOT / "haproxy_py" / "__init__.py").read_text(),
    "haproxy_py/__main__.py": (ROOT / "haproxy_py" / "__main__.py").read_text(),
    "zipapp __main__.py": build_zipapp.MAIN_PY.format(top_level=("uvloop",), accel=None),
}


@pytest.mark.parametrize("name", sorted(GUARDED_ENTRIES))
def test_entry_parses_on_old_pythons(name: str) -> None:
    tree = _parse_old(GUARDED_ENTRIES[name], name, (3, 4))
    assert _newer_syntax(tree) == []


def test_the_newer_syntax_finder_finds_newer_syntax() -> None:
    src = ("from __future__ import annotations\nx: int = 1\ny = f'{x}'\n"
           "def f(a: int, /) -> int:\n    return (b := a)\n"
           "match x:\n    case 1:\n        pass\n")
    found = _newer_syntax(ast.parse(src))
    assert len(found) == 7, found


def _first_of_ours(tree: ast.Module) -> tuple[int, str]:
    for i, node in enumerate(tree.body):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in ("haproxy_py", "tui"):
                    return i, a.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("haproxy_py", "tui"):
            return i, node.module or ""
    raise AssertionError("imports nothing of ours")


def test_entries_import_the_check_before_anything_else_of_ours() -> None:
    for name in ("haproxy_py/__main__.py", "zipapp __main__.py"):
        _, first = _first_of_ours(ast.parse(GUARDED_ENTRIES[name]))
        assert first == "haproxy_py._pyversion", name


#: stdlib modules that exist on Python 3.6, which the scripts may import before the check
OLD_STDLIB = {"argparse", "hashlib", "importlib", "importlib.util", "json", "marshal", "os", "py_compile", "re",
              "shutil", "subprocess", "sys", "tempfile", "time", "zipfile", "pathlib"}


@pytest.mark.parametrize("script", ["build_zipapp.py", "bench/run.py"])
def test_scripts_reach_the_check_on_old_pythons(script: str) -> None:
    """Nothing before the check needs more than 3.6; no __future__ import (3.6 cannot compile
    ``annotations``), so the annotations below the check are evaluated only on 3.10+."""
    tree = ast.parse((ROOT / script).read_text())
    i, first = _first_of_ours(tree)
    assert first == "haproxy_py._pyversion"
    for node in tree.body[:i]:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= OLD_STDLIB, ast.dump(node)
        elif isinstance(node, ast.ImportFrom):
            assert node.module in OLD_STDLIB, node.module
        else:  # only sys.path changes
            assert isinstance(node, ast.Expr) and ast.unparse(node).startswith("sys.path."), ast.unparse(node)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    _parse_old((ROOT / script).read_text(), script, (3, 6))  # the scripts' floor: f-strings


def test_scripts_still_import_on_this_python() -> None:
    """Without the __future__ import every annotation is evaluated at definition: they all resolve."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run as bench_run  # bench/run.py
    finally:
        sys.path.remove(str(ROOT / "bench"))
    assert callable(bench_run.main) and callable(build_zipapp.main)
    assert Path(bench_run.__file__).resolve() == (ROOT / "bench" / "run.py").resolve()
