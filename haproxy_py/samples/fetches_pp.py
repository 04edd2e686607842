"""The fetches of a connection that began with a PROXY protocol header (``bind ... accept-proxy``,
``tcp-request connection expect-proxy layer4``): what 2.6.12 has of them, ``fc_rcvd_proxy``,
``fc_pp_authority`` and ``fc_pp_unique_id`` (``fc_pp_tlv`` came with 2.9). Pure: they read the
header the engine parsed (haproxy_py/conn/proxy_protocol.py), kept in the log record (or, in
tcp-request session rules, in the rules' context)."""

from __future__ import annotations

from typing import Any

from .core import fetch
from .txn import Txn

T = "tests/differential/test_proxy_protocol_vs_haproxy.py::test_accept_proxy_generated_headers_as_haproxy"


def _hdr(txn: Txn) -> Any:
    rec = txn.rec
    if rec is not None:
        return rec.pp
    return getattr(txn, "pp", None)


@fetch("fc_rcvd_proxy", test=T)
def f_fc_rcvd_proxy(txn: Txn, args: tuple) -> list:
    return [_hdr(txn) is not None]


@fetch("fc_pp_authority", test=T)
def f_fc_pp_authority(txn: Txn, args: tuple) -> list | None:
    h = _hdr(txn)
    v = h.authority if h is not None else None
    return None if v is None else [v]


@fetch("fc_pp_unique_id", test=T)
def f_fc_pp_unique_id(txn: Txn, args: tuple) -> list | None:
    h = _hdr(txn)
    v = h.unique_id if h is not None else None
    return None if v is None else [v]
