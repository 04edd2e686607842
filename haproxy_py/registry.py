"""Registries: what the configuration language can say is what the engine can do.

HAProxy registers each keyword, action, sample fetch, converter, CLI command and server/bind
parameter next to the feature that owns it (cfg_kw_list, action_kw_list, sample_fetch_kw_list, ...).
haproxy-py keeps one :class:`Registry` per concept ("family"). Every family knows the full list of
names HAProxy 2.6 accepts (``known``); each of them is, here, exactly one of:

* **implemented**: registered with :meth:`Registry.register` by the module that implements it, with
  the test that exercises its effect at runtime (``test="tests/x/test_y.py::test_z"``);
* **no effect**: a short written list of settings that change nothing observable here (a pure
  memory tuning knob, ...), each with its reason (:meth:`Registry.no_effect`): accepted with a notice;
* **refused**: everything else that 2.6 knows. ``-c`` and the start fail with
  :func:`not_implemented`'s message, naming a close implemented alternative when there is one.

``tests/unit/test_registries.py`` enumerates every family and keeps this true by itself.
Pure module: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

IMPLEMENTED = "implemented"
NO_EFFECT = "no-effect"
REFUSED = "refused"
UNKNOWN = "unknown"

#: the words every refusal carries (tests and users grep for them)
NOT_IMPLEMENTED = "not implemented by haproxy-py (HAProxy 2.6 supports it)"


def not_implemented(what: str, alternative: str | None = None) -> str:
    """``'<what>' is not implemented by haproxy-py (HAProxy 2.6 supports it)[; <alternative>].``"""
    msg = f"{what} is {NOT_IMPLEMENTED}"
    if alternative:
        msg += f"; {alternative}"
    return msg + "."


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    name: str
    impl: T
    #: the test that exercises the effect at runtime: "tests/path.py::test_name"
    test: str


class Registry(Generic[T]):
    """One concept's names: implemented entries, no-effect settings, and 2.6's full list."""

    def __init__(self, family: str, title: str, known: Iterable[str] = (),
                 alternatives: dict[str, str] | None = None) -> None:
        self.family = family
        #: how the family is shown to users ("http-request action", "server parameter", ...)
        self.title = title
        self.known: set[str] = set(known)
        self.entries: dict[str, Entry[T]] = {}
        self.no_effects: dict[str, str] = {}
        #: refused name -> a close implemented alternative, said with the refusal
        self.alternatives: dict[str, str] = dict(alternatives or {})
        #: refused name -> why it stays refused (README's not-implemented list says it)
        self.reasons: dict[str, str] = {}
        FAMILIES[family] = self

    # -- filling
    def register(self, name: str, impl: T, *, test: str) -> T:
        if name in self.entries:
            raise ValueError(f"{self.family}: '{name}' registered twice")
        self.entries[name] = Entry(name, impl, test)
        return impl

    def no_effect(self, name: str, reason: str) -> None:
        self.no_effects[name] = reason

    def add_known(self, names: Iterable[str]) -> None:
        self.known.update(names)

    # -- reading
    def get(self, name: str) -> T | None:
        e = self.entries.get(name)
        return None if e is None else e.impl

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def status(self, name: str) -> str:
        if name in self.entries:
            return IMPLEMENTED
        if name in self.no_effects:
            return NO_EFFECT
        if name in self.known:
            return REFUSED
        return UNKNOWN

    def refused(self) -> list[str]:
        return sorted(n for n in self.known if n not in self.entries and n not in self.no_effects)

    def refusal(self, name: str, shown: str | None = None) -> str:
        """The message for a known but unimplemented name."""
        return not_implemented(f"{self.title} '{shown or name}'", self.alternatives.get(name))

    def notice(self, name: str, shown: str | None = None) -> str:
        return (f"{self.title} '{shown or name}' has no effect in haproxy-py and is accepted: "
                f"{self.no_effects[name]}.")


#: family name -> registry (filled as the owning modules are imported)
FAMILIES: dict[str, Registry[Any]] = {}


def all_families() -> dict[str, Registry[Any]]:
    """Every registry, after importing the modules that fill them."""
    import importlib

    for mod in _OWNERS:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a module listed before it exists
            if e.name != mod:
                raise
    return FAMILIES


#: modules that create or fill registries (imported by :func:`all_families`)
_OWNERS = (
    "haproxy_py.config.support",
    "haproxy_py.samples",
    "haproxy_py.actions",
    "haproxy_py.stats.commands",
    "haproxy_py.cli",
)
