"""The configuration language: text -> :class:`~haproxy_py.config.model.Config` + diagnostics.

Public API::

    load_config(paths, env=None) -> (Config, Diagnostics)
    parse_text(text, filename="<string>", env=None) -> (Config, Diagnostics)

``paths`` may name files or directories (a directory contributes its ``*.cfg`` files in lexical
order, as HAProxy does). ``env`` defaults to ``os.environ`` (used by ``"${VAR}"`` and ``.if``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from haproxy_py.config.diagnostics import Diagnostic, Diagnostics
from haproxy_py.config.model import Config, Location

# build/grammar (and pyparsing) are imported lazily: importing ``haproxy_py.config.model`` must
# stay cheap for the modules that only need the model.

__all__ = ["load_config", "parse_text", "Diagnostics", "Diagnostic", "Config", "expand_paths",
           "ConfigLoadError", "has_listener"]


class ConfigLoadError(Exception):
    """A path could not be read at all (missing file, empty directory...)."""


def expand_paths(paths: list[str]) -> list[str]:
    """Files to read, directories expanded to their ``*.cfg`` files in lexical order."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            try:
                names = sorted(os.listdir(p))
            except OSError as e:
                raise ConfigLoadError(f"Cannot open configuration directory {p} : {e.strerror}") from e
            cfgs = [os.path.join(p, n) for n in names
                    if n.endswith(".cfg") and os.path.isfile(os.path.join(p, n))]
            if not cfgs:
                raise ConfigLoadError(f"Configuration directory {p} contains no '*.cfg' file.")
            out.extend(cfgs)
        else:
            out.append(p)
    return out


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def load_config(paths: list[str], env: Mapping[str, str] | None = None, *,
                diag: bool = False, localpeer: str | None = None) -> tuple[Config, Diagnostics]:
    """Read and check the configuration files; never raises for bad content (see diagnostics).

    Unreadable paths are reported as ALERTs too (``Diagnostics.has_errors``). ``diag`` (``-dD``)
    shows the ``.diag`` messages."""
    from haproxy_py.config.build import Builder
    from haproxy_py.config.tokenizer import read_lines

    diags = Diagnostics()
    diags.diag_mode = diag
    b = Builder(env=env, diags=diags, localpeer=localpeer)
    for p in paths:  # 2.6 looks at every path before reading any, and stops at one that is not there
        try:
            os.stat(p)
        except OSError as e:
            diags.alert(f"Cannot open configuration file/directory {p} : {e.strerror or e}")
            diags.aborted = True
            return b.finish(), diags
    try:
        files = expand_paths(paths)
    except ConfigLoadError as e:
        diags.alert(str(e), Location(paths[0] if paths else "", 0, 0))
        return b.finish(), diags
    for f in files:
        try:
            with open(f, "rb") as fh:
                data = fh.read()
        except OSError as e:  # there but not readable: 2.6 stops there (the files before said their errors)
            diags.alert(f"Could not open configuration file {f} : {e.strerror or e}")
            diags.aborted = True
            break
        text = _decode(data)
        b.feed(read_lines(text, f, b.env, diags), f)
        if diags.aborted:
            if f not in diags.files_with_errors:
                diags.files_with_errors.append(f)
            diags.end_file(f)
            break
        if text and not text.endswith("\n") and f not in diags.stopped:
            last = text.rsplit("\n", 1)[-1]
            n = text.count("\n") + 1
            diags.alert(f"parsing [{f}:{n}]: Missing LF on last line, file might have been truncated at position "
                        f"{len(last) + 1}.", Location(f, n, len(last) + 1))
        diags.end_file(f)
    kept = len(diags.messages)
    cfg = b.finish()
    if diags.aborted:  # 2.6 runs no post-parse check after an abort
        del diags.messages[kept:]
    return cfg, diags


def parse_text(text: str, filename: str = "<string>",
               env: Mapping[str, str] | None = None) -> tuple[Config, Diagnostics]:
    """Parse configuration text (for tests and tools)."""
    from haproxy_py.config.build import Builder
    from haproxy_py.config.tokenizer import read_lines

    diags = Diagnostics()
    b = Builder(env=env if env is not None else {}, diags=diags)
    b.feed(read_lines(text, filename, b.env, diags), filename)
    return b.finish(), diags


def has_listener(cfg: Config) -> bool:
    """Whether the proxy would listen on anything (HAProxy exits 2 otherwise); as in 2.6 a stats
    socket counts, so a process with only backends (health checks) and a stats socket runs."""
    return bool(cfg.global_.stats_sockets) or any(p.binds for p in cfg.proxies if p.has_fe and not p.disabled)
