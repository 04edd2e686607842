"""ACL fetch names over the sample registry (sans-IO).

The fetches themselves live in :mod:`haproxy_py.samples` (one table for ACLs, log-format
strings, rules and hashing). This module keeps the ACL view: 2.6's derived ACL keywords
(``path_beg`` = ``path`` with ``-m beg``: :data:`DERIVED`), the default match method of each
output type (:data:`DEFAULT_MATCH`), and ``RequestContext``, which is :class:`~haproxy_py.samples.Txn`.
"""

from __future__ import annotations

from ..samples import FETCHES, Txn
from ..samples.fetches import url_param_values
from ..samples.known26 import ACL_KEYWORDS

__all__ = ["RequestContext", "DERIVED", "DEFAULT_MATCH", "resolve", "url_param_values"]

#: the transaction the ACLs evaluate (formerly its own class)
RequestContext = Txn

#: the match method a fetch uses without ``-m`` or a derived name, by output type
DEFAULT_MATCH = {"str": "str", "sint": "int", "int": "int", "ipv4": "ip", "ipv6": "ip", "addr": "ip",
                 "ip": "ip", "bool": "bool", "bin": "bin", "meth": "str", "any": "str"}

#: 2.6's ACL keywords: name -> (fetch, match method); a keyword equal to its fetch is left out
DERIVED: dict[str, tuple[str, str]] = {k: v for k, v in ACL_KEYWORDS.items() if k != v[0]}


def resolve(name: str):
    """ACL criterion name -> (fetch definition or None if not implemented, output type, implied
    match or None)."""
    implied = None
    if name in DERIVED:
        name, implied = DERIVED[name]
    elif name in ACL_KEYWORDS:
        implied = ACL_KEYWORDS[name][1]
    d = FETCHES.get(name)
    if d is None:
        return None, "str", implied
    return d, d.out, implied
