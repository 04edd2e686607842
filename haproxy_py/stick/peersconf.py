"""The ``peers`` section as 2.6 reads it, pure: ``peer NAME ADDR:PORT``, or the 2.0+ form ``bind
ADDR:PORT`` with ``server NAME [ADDR:PORT]`` (the local peer is the one named as this process:
``localpeer``, ``-L``, else the host name; its address is where it listens), ``table NAME ...``
(a stick table named ``SECTION/NAME`` here, ``NAME`` on the wire), ``disabled``, ``enable``.

:func:`check_line` checks one line for ``-c`` (the builder reports at FILE:LINE:COL);
:func:`sections` builds every section for the run time, :func:`tables` their tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from haproxy_py.registry import not_implemented

from .config import StickConfError, parse_stick_table
from .peersync import PeerConf
from .table import TableConf

__all__ = ["PeersSection", "check_line", "sections", "tables", "local_name"]


@dataclass
class PeersSection:
    name: str
    local: str
    peers: list[PeerConf] = field(default_factory=list)
    #: where the local peer listens (its ``peer`` address, or ``bind``)
    bind: tuple[str, int] | None = None
    tables: list[TableConf] = field(default_factory=list)
    disabled: bool = False

    @property
    def complete(self) -> bool:
        """2.6 removes a section where no peer is this process."""
        return any(p.local for p in self.peers)


def local_name(localpeer: str | None) -> str:
    return localpeer or os.uname().nodename


def _addr(text: str) -> tuple[str, int] | None:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def check_line(words: list[str] | tuple[str, ...], section: str) -> tuple[str, int, bool] | None:
    """``(message, word index, ours)`` for a line 2.6 refuses or haproxy-py does not implement."""
    w = list(words)
    kw = w[0]
    if kw in ("peer", "server"):
        if len(w) < 2:
            return f"'{kw}' expects <name> and <addr>[:<port>] as arguments.", 0, False
        if kw == "peer" and len(w) < 3:
            return "'peer' : missing address.", 1, True
        if len(w) >= 3:
            if _addr(w[2]) is None:
                return f"'{kw} {w[1]}': haproxy-py expects an IPv4/IPv6 address with a port ('{w[2]}').", 2, True
            if len(w) > 3:
                return not_implemented(f"'{kw}' parameter '{w[3]}' in a 'peers' section"), 3, True
        return None
    if kw == "bind":
        if len(w) < 2 or _addr(w[1]) is None:
            return "'bind' expects an address with a port ('ADDR:PORT') in a 'peers' section.", min(1, len(w) - 1), True
        if len(w) > 2:
            return not_implemented(f"'bind' parameter '{w[2]}' in a 'peers' section"), 2, True
        return None
    if kw == "table":
        if len(w) < 2:
            return "'table' expects a table name.", 0, True
        try:
            parse_stick_table(["stick-table", *w[2:]], f"{section}/{w[1]}")
        except StickConfError as e:
            return e.message, min(e.index + 1, len(w) - 1), e.ours
        return None
    if kw in ("disabled", "enable"):
        return None
    if kw in ("default-bind", "default-server", "log"):
        return not_implemented(f"'{kw}' in a 'peers' section"), 0, True
    return f"unknown keyword '{kw}' in 'peers' section", 0, False


def build(name: str, lines: Iterable[tuple[str, ...]], localpeer: str | None) -> PeersSection:
    me = local_name(localpeer)
    sec = PeersSection(name, me)
    for w in lines:
        kw = w[0]
        if kw in ("peer", "server") and len(w) >= 2:
            a = _addr(w[2]) if len(w) >= 3 else None
            if w[1] == me:
                if a is not None and sec.bind is None:
                    sec.bind = a
                sec.peers.append(PeerConf(w[1], *(a or ("", 0)), local=True))
            elif a is not None:
                sec.peers.append(PeerConf(w[1], a[0], a[1]))
        elif kw == "bind" and len(w) >= 2:
            a = _addr(w[1])
            if a is not None:
                sec.bind = a
        elif kw == "table" and len(w) >= 2:
            conf, _warn = parse_stick_table(["stick-table", *w[2:]], f"{name}/{w[1]}")
            sec.tables.append(conf)
        elif kw == "disabled":
            sec.disabled = True
        elif kw == "enable":
            sec.disabled = False
    # the local peer is reached where it listens
    sec.peers = [PeerConf(p.name, *sec.bind, local=True) if p.local and sec.bind else p for p in sec.peers]
    return sec


def sections(other_sections: Iterable[Any], localpeer: str | None) -> dict[str, PeersSection]:
    """Every ``peers`` section (``config.other_sections``) by name."""
    out = {}
    for s in other_sections:
        if s.kind == "peers":
            out[s.name] = build(s.name, s.lines, localpeer)
    return out


def tables(other_sections: Iterable[Any]) -> list[TableConf]:
    """The stick tables ``table`` lines declare (named ``SECTION/NAME``), with their section."""
    import dataclasses

    out = []
    for s in other_sections:
        if s.kind != "peers":
            continue
        for w in s.lines:
            if w[0] == "table" and len(w) >= 2:
                try:
                    conf, _warn = parse_stick_table(["stick-table", *w[2:]], f"{s.name}/{w[1]}")
                except StickConfError:
                    continue
                out.append(dataclasses.replace(conf, peers=s.name))
    return out
