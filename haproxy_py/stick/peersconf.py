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

__all__ = ["PeersSection", "PeerTls", "check_line", "sections", "tables", "local_name", "shared_names",
           "listening_sections"]


@dataclass(frozen=True)
class PeerTls:
    """TLS on a peers section's connections: of its ``bind`` (``crt`` the certificate it shows,
    ``ca-file``/``verify`` for the peers' certificates) or of a ``server``/``peer`` line (``crt``
    the client certificate, ``ca-file``/``verify`` for the peer's)."""

    ssl: bool = False
    crt: str | None = None
    ca_file: str | None = None
    verify: str | None = None


#: the parameters implemented, with their argument count
_BIND_TLS = {"ssl": 0, "crt": 1, "ca-file": 1, "verify": 1}
_SERVER_TLS = {"ssl": 0, "crt": 1, "ca-file": 1, "verify": 1}
_VERIFY_ERR = ("verify is enabled by default but no CA file specified. If you're running on a LAN where "
               "you're certain to trust the server's certificate, please set an explicit 'verify none' "
               "statement on the 'server' line, or use 'ssl-server-verify none' in the global section to "
               "disable server-side verifications by default.")


def _tls(w: list[str], start: int, bind: bool) -> tuple[PeerTls, tuple[str, int, bool] | None]:
    """The TLS parameters from ``w[start:]``, or the error of the first one 2.6 refuses or
    haproxy-py does not implement."""
    known = _BIND_TLS if bind else _SERVER_TLS
    vals: dict[str, Any] = {}
    i = start
    kw = "bind" if bind else w[0]
    while i < len(w):
        name = w[i]
        n = known.get(name)
        if n is None:
            return PeerTls(), (not_implemented(f"'{kw}' parameter '{name}' in a 'peers' section"), i, True)
        if n and i + 1 >= len(w):
            return PeerTls(), (f"'{name}' : missing argument.", i, True)
        if name == "verify" and w[i + 1] not in (("none", "optional", "required") if bind else ("none", "required")):
            choices = "'none', 'optional' or 'required'" if bind else "'none' or 'required'"
            return PeerTls(), (f"'verify' : unknown verify method '{w[i + 1]}', only {choices} are supported.",
                               i + 1, True)
        if name in ("crt", "ca-file") and not os.path.exists(w[i + 1]):
            what = "SSL certificate from file" if name == "crt" else "CAfile"
            return PeerTls(), (f"'{name}' : unable to stat {what} '{w[i + 1]}' : No such file or directory.",
                               i + 1, True)
        vals[name] = w[i + 1] if n else True
        i += 1 + n
    conf = PeerTls(bool(vals.get("ssl")), vals.get("crt"), vals.get("ca-file"), vals.get("verify"))
    if conf.ssl and bind and conf.crt is None:
        return conf, (f"no SSL certificate specified for bind '{w[1]}' (use 'crt').", 0, True)
    if conf.ssl and not bind and conf.verify != "none" and conf.ca_file is None:
        return conf, (_VERIFY_ERR, 0, False)
    return conf, None


@dataclass
class PeersSection:
    name: str
    local: str
    peers: list[PeerConf] = field(default_factory=list)
    #: where the local peer listens (its ``peer`` address, or ``bind``), with TLS or not
    bind: tuple[str, int] | None = None
    bind_tls: PeerTls | None = None
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
                if kw == "server" and w[2] in _SERVER_TLS:  # the local peer: parameters, no address
                    return _tls(w, 2, False)[1]
                return f"'{kw} {w[1]}': haproxy-py expects an IPv4/IPv6 address with a port ('{w[2]}').", 2, True
            if len(w) > 3:
                return _tls(w, 3, False)[1]
        return None
    if kw == "bind":
        if len(w) < 2 or _addr(w[1]) is None:
            return "'bind' expects an address with a port ('ADDR:PORT') in a 'peers' section.", min(1, len(w) - 1), True
        if len(w) > 2:
            return _tls(w, 2, True)[1]
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
            tls = _tls(list(w), 3 if a is not None else 2, False)[0]
            tls_or_none = tls if tls.ssl else None
            if w[1] == me:
                if a is not None and sec.bind is None:
                    sec.bind = a
                sec.peers.append(PeerConf(w[1], *(a or ("", 0)), local=True, tls=tls_or_none))
            elif a is not None:
                sec.peers.append(PeerConf(w[1], a[0], a[1], tls=tls_or_none))
        elif kw == "bind" and len(w) >= 2:
            a = _addr(w[1])
            if a is not None:
                sec.bind = a
                tls = _tls(list(w), 2, True)[0]
                sec.bind_tls = tls if tls.ssl else None
        elif kw == "table" and len(w) >= 2:
            conf, _warn = parse_stick_table(["stick-table", *w[2:]], f"{name}/{w[1]}")
            sec.tables.append(conf)
        elif kw == "disabled":
            sec.disabled = True
        elif kw == "enable":
            sec.disabled = False
    # the local peer is reached where it listens
    sec.peers = [PeerConf(p.name, *sec.bind, local=True, tls=p.tls) if p.local and sec.bind else p
                 for p in sec.peers]
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


def shared_names(config: Any, name: str) -> list[tuple[str, str]]:
    """(table name here, name on the wire) of the tables section ``name`` shares."""
    out = []
    for conf in tables(config.other_sections):
        if conf.peers == name:
            # 2.6.12 names such a table on the wire by what follows the section's name:
            # "/NAME" (seen in its definitions)
            out.append((conf.name, conf.name[len(name):]))
    for p in config.proxies:
        if p.stick_table is not None and p.stick_table.peers == name:
            out.append((p.name, p.name))
    return out


def listening_sections(config: Any) -> list[Any]:
    """The peers sections that run here: naming this process, enabled, sharing a table."""
    secs = sections(config.other_sections, config.global_.localpeer)
    return [s for s in secs.values() if not s.disabled and s.complete and shared_names(config, s.name)]
