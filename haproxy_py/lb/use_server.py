"""``use-server`` rules (2.6's server rules): the first rule whose condition matches names the
server, before persistence cookies, stick tables and load balancing are looked at.

Pure: the rules come compiled by actions/rules.py as ``(test, name)`` where ``name`` is a server
name or, for a name with ``%``, a compiled log-format function giving the name per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def choose(rules: Sequence[tuple[Any, Any]], txn: Any, backend: Any, *, force: bool = False) -> Any:
    """The server the rules assign, or None (load balancing then decides).

    A matching rule whose server is stopped or in maintenance is passed over (the next rule may
    name another), unless ``option persist`` or ``force-persist`` (``force``) holds. A format
    that names no server of the backend ends the rules, as in 2.6."""
    persist = backend.persist or force
    for test, name in rules:
        if not test(txn):
            continue
        if isinstance(name, str):
            srv = backend.by_name.get(name)
        else:
            srv = backend.by_name.get(name(txn).decode("latin-1"))
            if srv is None:
                return None
        if srv is None:
            continue
        if (srv.state != "STOPPED" and not srv.in_maint) or persist:
            return srv
    return None
