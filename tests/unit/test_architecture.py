"""The layering of DESIGN.md holds by itself: pure modules do no I/O, and imports only go the
allowed directions. Walks the source with ``ast`` (no module is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "haproxy_py"

#: modules that do I/O on purpose, outside engine/ (the syslog sender; the process manager; the CLI)
IO_ALLOWED = {"haproxy_py.log.syslog", "haproxy_py.process", "haproxy_py.cli", "haproxy_py.__main__",
              "haproxy_py._bootstrap", "haproxy_py.tls.context"}
FORBIDDEN_IN_PURE = {"asyncio", "socket", "selectors", "uvloop", "textual", "haproxy_py.engine"}

#: package -> the packages of ours it may import (besides itself). DESIGN.md's arrows, plus two
#: documented additions: acl reads the config model and its fetch table; stats applies runtime
#: state changes through the health state machine (checks).
ALLOWED = {
    # the builder compiles each rule's action through its registry (imported lazily: the action
    # parsers read config's tables, never the builder)
    # and checks each ACL line (fetch, converters, patterns) by compiling it as the engine will (acl,
    # imported lazily: acl reads config.model, never the builder)
    "config": {"actions", "samples", "acl", "tls", "stick"},
    "http": set(),
    "lb": set(),
    "log": {"config"},  # syslog builds loggers from config.model LogTarget objects
    "acl": {"http", "config", "samples"},  # every ACL fetch and converter is a sample
    # fetches and converters: HTTP heads, lb's hash functions, log's request-time variables,
    # conn's connection error codes (fc_err, bc_err)
    "samples": {"http", "lb", "log", "tls", "stick", "conn"},
    "runtime": {"lb", "config", "stick"},
    "checks": {"runtime", "config", "log"},
    "stats": {"runtime", "config", "checks", "log", "stick", "tls"},
    # rule actions: parse with the config tables, run over HTTP heads, conditions from acl,
    # log-format arguments from samples
    "actions": {"samples", "http", "config", "acl", "stick"},
    # stick tables (haproxy_py/stick): a pure leaf that actions, samples, config, runtime and
    # stats use
    "stick": set(),
    # DNS messages and what a resolution decides, over the resolvers section's configuration
    "dns": {"config", "lb"},
    # certificates, SNI choice, the ClientHello parser, what fetches read of a TLS session; the
    # OpenSSL contexts (tls/context.py, which touches sockets) are built for the engine
    "tls": set(),
    # connection-level protocols (the PROXY protocol codec, the connection error codes): its
    # CRC32C is lb's hash function
    "conn": {"lb"},
}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        out.append((name, p))
    return out


def _imports(path: Path, modname: str) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    pkg_parts = modname.split(".")
    if path.name != "__init__.py":
        pkg_parts = pkg_parts[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("modname,path", _modules(), ids=[m for m, _ in _modules()])
def test_module_respects_layers(modname: str, path: Path) -> None:
    parts = modname.split(".")
    if len(parts) < 2:
        return
    area = parts[1]
    imps = _imports(path, modname)
    pure = area in ALLOWED and modname not in IO_ALLOWED
    if pure:
        bad = {i for i in imps if _top(i) in FORBIDDEN_IN_PURE or i.startswith("haproxy_py.engine")}
        assert not bad, f"{modname} is pure but imports {sorted(bad)}"
        ours = {i.split(".")[1] for i in imps if i.startswith("haproxy_py.") and len(i.split(".")) > 1}
        ours.discard(area)
        # "haproxy_py.X" where X is a module of the top package (e.g. __version__) is fine
        ours = {o for o in ours if (PKG / o).is_dir()}
        extra = ours - ALLOWED[area]
        assert not extra, f"{modname} ({area}) may not import {sorted(extra)}"
    assert not any(i == "tui" or i.startswith("tui.") for i in imps) or modname == "haproxy_py.cli", (
        f"{modname} imports the TUI (only the CLI may, lazily)")


def test_tui_never_imports_the_proxy() -> None:
    for p in sorted((ROOT / "tui").rglob("*.py")):
        imps = _imports(p, "tui." + p.stem)
        assert not any(i.startswith("haproxy_py") for i in imps), p


def _runtime_edges(path: Path, modname: str, known: set[str]) -> set[str]:
    """The modules of ours ``modname`` imports when it runs: module-level and function-level
    imports (a lazy import is still an edge), not ``if TYPE_CHECKING:`` ones; ``from PKG import
    SUBMODULE`` is an edge to the submodule only, and no module depends on its own packages."""
    tree = ast.parse(path.read_text(), str(path))
    pkg_parts = modname.split(".") if path.name == "__init__.py" else modname.split(".")[:-1]
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(sub) for sub in ast.walk(node))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (".".join(pkg_parts[: len(pkg_parts) - node.level + 1] + ([node.module] if node.module else []))
                    if node.level else (node.module or ""))
            subs = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known}
            names.update(subs)
            if len(subs) < len(node.names):
                names.add(base)
    out = set()
    for n in names:
        while n and n not in known:
            n = n.rpartition(".")[0]
        if n and n != modname and not modname.startswith(n + "."):
            out.add(n)
    return out


def test_no_import_cycle() -> None:
    """No module of haproxy_py reaches itself through the imports it runs (engine/router.py
    starts the sessions, so engine/stream.py and engine/http.py need not import each other; the
    CLI runs engine/workers.py, which uses engine/loop.py, never the other way round)."""
    mods = dict(_modules())
    known = set(mods)
    graph = {m: _runtime_edges(p, m, known) for m, p in mods.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = path[path.index(n):] + [n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_engine_and_http_key_nothing_by_id() -> None:
    """No ``id()`` in engine/, http/ and log/: state kept per object is kept on the object or in a dict
    keyed by the object itself (a freed object's id is reused, e.g. by the configuration loaded
    at a reload, which then finds the previous one's helpers). Per-proxy helpers are compiled
    once by the Engine (engine/router.py CompiledProxy)."""
    found = []
    for modname, path in _modules():
        if not modname.startswith(("haproxy_py.engine", "haproxy_py.http", "haproxy_py.log")):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "id":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "\n".join(found)
