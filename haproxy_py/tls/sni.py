"""Which certificate a ClientHello's server name selects, as 2.6 chooses (pure).

Every certificate is filed under its names (DNS subjectAltNames and commonNames, or a crt-list
line's SNI filters); an exact name wins over a wildcard (``*.example.com`` covers one label:
``a.example.com``, not ``a.b.example.com``); among certificates with the same name the first loaded
wins. A crt-list line's negative filter (``!a.example.com``) keeps that line's wildcards from
covering the name (another line's still may). No match (or no server name) selects the default
certificate, the first one, unless ``strict-sni``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class SniTable:
    __slots__ = ("exact", "wild", "neg")

    def __init__(self, names_per_cert: Iterable[Iterable[str]],
                 negatives_per_cert: Sequence[Iterable[str]] = ()) -> None:
        self.exact: dict[str, int] = {}
        self.wild: dict[str, list[int]] = {}
        #: per certificate, the names its wildcards do not cover (empty for most)
        self.neg: dict[int, frozenset[str]] = {}
        for idx, names in enumerate(names_per_cert):
            for n in names:
                n = n.lower()
                if n.startswith("*."):
                    lst = self.wild.setdefault(n[2:], [])
                    if idx not in lst:
                        lst.append(idx)
                else:
                    self.exact.setdefault(n, idx)
        for idx, negs in enumerate(negatives_per_cert):
            s = frozenset(x.lower() for x in negs)
            if s:
                self.neg[idx] = s

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
            for i in self.wild.get(n[dot + 1:], ()):
                neg = self.neg.get(i)
                if neg is None or n not in neg:
                    return i
        return None
