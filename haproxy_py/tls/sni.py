"""Which certificate a ClientHello's server name selects, as 2.6 chooses (pure).

Every certificate is filed under its names (DNS subjectAltNames and commonNames); an exact name
wins over a wildcard (``*.example.com`` covers one label: ``a.example.com``, not
``a.b.example.com``); among certificates with the same name the first loaded wins. No match (or
no server name) selects the default certificate, the first one, unless ``strict-sni``.
"""

from __future__ import annotations

from collections.abc import Iterable


class SniTable:
    __slots__ = ("exact", "wild")

    def __init__(self, names_per_cert: Iterable[Iterable[str]]) -> None:
        self.exact: dict[str, int] = {}
        self.wild: dict[str, int] = {}
        for idx, names in enumerate(names_per_cert):
            for n in names:
                n = n.lower()
                if n.startswith("*."):
                    self.wild.setdefault(n[2:], idx)
                else:
                    self.exact.setdefault(n, idx)

    def select(self, servername: str | None) -> int | None:
        """The index of the certificate for this name, None when no certificate has it."""
        if not servername:
            return None
        n = servername.lower().rstrip(".")
        i = self.exact.get(n)
        if i is not None:
            return i
        dot = n.find(".")
        if dot > 0:
            return self.wild.get(n[dot + 1:])
        return None
