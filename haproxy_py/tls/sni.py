"""Which certificate a ClientHello's server name selects, as 2.6 chooses (pure).

Every certificate is filed under its names (DNS subjectAltNames and commonNames, or a crt-list
line's SNI filters); an exact name wins over a wildcard (``*.example.com`` covers one label:
``a.example.com``, not ``a.b.example.com``); among certificates with the same name the first loaded
wins. A crt-list line's negative filter (``!a.example.com``) keeps that line's wildcards from
covering the name (another line's still may). No match (or no server name) selects the default
certificate, the first one, unless ``strict-sni``.

When certificates of different key types share a name, 2.6 chooses by what the ClientHello offers
(:meth:`SniTable.pick`): at the first level with candidates (exact names, then wildcards), the
first ECDSA certificate if the client can take one, else the first RSA one if it can, else one of
another key type, else the first ECDSA, else the first RSA certificate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class SniTable:
    __slots__ = ("exact", "wild", "neg", "exact_all")

    def __init__(self, names_per_cert: Iterable[Iterable[str]],
                 negatives_per_cert: Sequence[Iterable[str]] = ()) -> None:
        self.exact: dict[str, int] = {}
        #: every certificate of each exact name, in load order
        self.exact_all: dict[str, list[int]] = {}
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
                    lst = self.exact_all.setdefault(n, [])
                    if idx not in lst:
                        lst.append(idx)
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

    def candidates(self, servername: str) -> list[int]:
        """The certificates of the first level that has any for this name: exact, else wildcard
        (those whose negative filters leave the name to them)."""
        n = servername.lower().rstrip(".")
        got = self.exact_all.get(n)
        if got:
            return got
        dot = n.find(".")
        if dot <= 0:
            return []
        return [i for i in self.wild.get(n[dot + 1:], ()) if n not in self.neg.get(i, ())]

    def pick(self, servername: str | None, kinds: Sequence[str], ecdsa: bool, rsa: bool) -> int | None:
        """2.6's choice among the candidates by key type (``kinds[i]``: "ecdsa", "rsa" or
        another), given whether the client can take an ECDSA / RSA certificate; None: no
        certificate has the name."""
        if not servername:
            return None
        first: dict[str, int] = {}
        for i in self.candidates(servername):
            k = kinds[i] if kinds[i] in ("ecdsa", "rsa") else "anon"
            first.setdefault(k, i)
        if not first:
            return None
        if ecdsa and "ecdsa" in first:
            return first["ecdsa"]
        if rsa and "rsa" in first:
            return first["rsa"]
        for k in ("anon", "ecdsa", "rsa"):
            if k in first:
                return first[k]
        return None


def hello_offers(sigalgs: bytes | None, suites_auth_ecdsa: bool) -> tuple[bool, bool]:
    """(can take ECDSA, can take RSA) from a ClientHello as 2.6 judges it: the signature_algorithms
    extension's pairs whose second byte is 3 (ECDSA) or 1 (RSA); without the extension, RSA
    only. ECDSA counts only when a cipher suite offered authenticates with ECDSA
    (``suites_auth_ecdsa``)."""
    if sigalgs is None:
        return False, True
    ecdsa = rsa = False
    for j in range(0, len(sigalgs) - 1, 2):
        sign = sigalgs[j + 1]
        if sign == 3:
            ecdsa = True
        elif sign == 1:
            rsa = True
        if ecdsa and rsa:
            break
    return ecdsa and suites_auth_ecdsa, rsa
