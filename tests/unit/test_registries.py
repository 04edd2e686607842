"""Accepted means implemented: every name HAProxy 2.6 knows is implemented (with a test that shows
its effect at runtime), a documented no-effect setting, or refused with one message.

The list of 2.6's names is HAProxy 2.6.12's own dump (``tests/fixtures/haproxy26/dKall.txt``,
``haproxy -dKall``) plus the keywords its section parsers handle inline (``config/keywords.py``).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from haproxy_py.registry import IMPLEMENTED, NO_EFFECT, NOT_IMPLEMENTED, REFUSED, all_families

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "tests" / "fixtures" / "haproxy26" / "dKall.txt"


def _dump_sections() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    cur = ""
    for line in DUMP.read_text().splitlines():
        if line.startswith("# List of registered "):
            cur = line[len("# List of registered "):].rstrip(":")
            out[cur] = []
        elif line and not line.startswith("#"):
            out.setdefault(cur, []).append(line)
    return out


def _config_names() -> dict[str, set[str]]:
    """Families of the dump's configuration keywords: global, proxy, bind, server, option, actions."""
    fam: dict[str, set[str]] = {}
    section = ""
    for line in _dump_sections()["configuration keywords"]:
        if not line.startswith("\t"):
            section = line.strip()
            continue
        w = line.strip()
        if section == "global":
            fam.setdefault("global", set()).add(w.split()[0])
            continue
        if w.startswith("bind <addr> "):
            fam.setdefault("bind", set()).add(w.split()[2])
        elif w.startswith("server <name> "):
            fam.setdefault("server", set()).add(w.split()[2])
        elif w.startswith("option "):
            fam.setdefault("option", set()).add(w.split()[1])
        elif w.startswith(("http-request ", "http-response ", "http-after-response ", "tcp-check ",
                           "http-check ")):
            kind, act = w.split()[:2]
            fam.setdefault(kind, set()).add(act.rstrip("*"))
        elif w.startswith(("tcp-request ", "tcp-response ")):
            kind, sub, act = w.split()[:3]
            fam.setdefault(f"{kind} {sub}", set()).add(act.rstrip("*"))
        elif section in ("listen", "peers") or section.startswith(("userlist", "resolvers", "mailers")):
            fam.setdefault("proxy" if section == "listen" else section, set()).add(w.split()[0])
    return fam


FAMILIES = all_families()


def test_every_family_exists() -> None:
    for name in ("section", "global", "proxy", "option", "timeout", "server", "bind", "stats", "http-check"):
        assert name in FAMILIES, name


@pytest.mark.parametrize("family", ["global", "bind", "server", "option"])
def test_every_2_6_config_name_is_known(family: str) -> None:
    """What 2.6 registers is known to our registry (so it is implemented, no-effect or refused)."""
    reg = FAMILIES[family]
    dump = _config_names()[family]
    missing = sorted(n for n in dump if not n.startswith("<") and reg.status(n) not in (IMPLEMENTED, NO_EFFECT, REFUSED))
    assert not missing, f"{family}: 2.6 names unknown to haproxy-py: {missing}"


def test_proxy_keywords_of_2_6_are_known() -> None:
    reg = FAMILIES["proxy"]
    dump = _config_names()["proxy"] - {"clitimeout", "contimeout", "srvtimeout"}
    missing = sorted(n for n in dump if reg.status(n) == "unknown")
    assert not missing, missing


def test_actions_of_2_6_are_known() -> None:
    """Once the action registries exist, every 2.6 action is known to them."""
    fam = _config_names()
    for rs in ("http-request", "http-response", "http-after-response", "tcp-request connection",
               "tcp-request session", "tcp-request content", "tcp-response content"):
        if rs not in FAMILIES:
            pytest.fail(f"no action registry for {rs}")
        reg = FAMILIES[rs]
        missing = sorted(n for n in fam.get(rs, ()) if reg.status(n) == "unknown")
        assert not missing, f"{rs}: {missing}"


def test_no_name_is_both_implemented_and_no_effect() -> None:
    for reg in FAMILIES.values():
        both = set(reg.entries) & set(reg.no_effects)
        assert not both, f"{reg.family}: {sorted(both)}"


def test_implemented_or_no_effect_names_are_2_6_names() -> None:
    """Nothing is invented: every registered name is one HAProxy 2.6 knows (our 1.5-era additions
    are notices in the builder, not registry entries)."""
    for reg in FAMILIES.values():
        extra = sorted(n for n in list(reg.entries) + list(reg.no_effects) if n not in reg.known)
        assert not extra, f"{reg.family}: {extra}"


@cache
def _test_functions(path: str) -> set[str]:
    p = ROOT / path
    if not p.is_file():
        return set()
    tree = ast.parse(p.read_text())
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    out.add(f"{node.name}::{sub.name}")
    return out


def _entries() -> list[tuple[str, str, str]]:
    return sorted((reg.family, e.name, e.test) for reg in FAMILIES.values() for e in reg.entries.values())


@pytest.mark.parametrize("family,name,test", _entries(), ids=[f"{f}:{n}" for f, n, _ in _entries()])
def test_implemented_name_has_a_runtime_test(family: str, name: str, test: str) -> None:
    path, _, func = test.partition("::")
    assert path.startswith("tests/") and func, f"{family} '{name}': test reference {test!r} is not PATH::NAME"
    assert not path.startswith(("tests/unit/test_config_", "tests/differential/test_config_check")), \
        f"{family} '{name}': {test} checks parsing, not the runtime effect"
    assert func in _test_functions(path), f"{family} '{name}': {test} does not exist"


def test_refusal_message_names_the_project_and_2_6() -> None:
    reg = FAMILIES["option"]
    msg = reg.refusal("abortonclose")
    assert NOT_IMPLEMENTED in msg and "'abortonclose'" in msg


def test_readme_lists_what_is_not_implemented() -> None:
    """README's "Not implemented yet" section is the registries' refused names (regenerate with
    ``python -m haproxy_py.registry_doc --write``)."""
    from haproxy_py import registry_doc

    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- section: not-implemented.*?-->\n(.*?)<!-- end section: not-implemented -->", text, re.S)
    assert m, "README has no not-implemented section"
    assert m.group(1) == registry_doc.render(), "README's list is stale: python -m haproxy_py.registry_doc --write"


def test_server_and_bind_keywords_are_2_6_s() -> None:
    """The server and bind parameters haproxy-py knows (implemented or refused as 'HAProxy 2.6
    supports it') are exactly those Debian's 2.6.12 registers (haproxy -dKall, fixture): a name
    from a later HAProxy (curves/sigalgs on servers, quic-*, hash-key, shard...) is an unknown
    keyword, as 2.6 says, never 'not implemented'."""
    import re

    from haproxy_py.config import keywords as K

    txt = (ROOT / "tests/fixtures/haproxy26/dKall.txt").read_text()
    assert set(K.SERVER_KEYWORDS) == set(re.findall(r"server <name> <addr> (\S+)", txt))
    # ("ssl" itself is the prefix of the TLS ones in the dump)
    assert set(K.BIND_KEYWORDS) - {"ssl"} == set(re.findall(r"bind <addr> (?:ssl )?(\S+)", txt)) - {"ssl"}
