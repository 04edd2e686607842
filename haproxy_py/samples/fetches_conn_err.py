"""``fc_err``/``fc_err_str`` and ``bc_err``/``bc_err_str``: the connection error codes of 2.6
(:mod:`haproxy_py.conn.errors`) of the client and the server connection, read from the session's
log record (``rec.fc_err``: 0 unless the client connection failed after the session started;
``rec.bc_err``: None without a server connection, else its code). Pure."""

from __future__ import annotations

from ..conn import errors as E
from .core import fetch
from .txn import Txn

T = "tests/integration/test_conn_err_fetches_vs_haproxy.py::"
TB = T + "test_server_connection_errors_as_haproxy"
TF = T + "test_client_connection_errors_as_haproxy"


def _fc(txn: Txn) -> int | None:
    rec = txn.rec
    return None if rec is None else rec.fc_err


def _bc(txn: Txn) -> int | None:
    rec = txn.rec
    return None if rec is None else rec.bc_err


@fetch("fc_err", test=TF)
def f_fc_err(txn: Txn, args: tuple) -> list | None:
    v = _fc(txn)
    return None if v is None else [v]


@fetch("fc_err_str", test=TF)
def f_fc_err_str(txn: Txn, args: tuple) -> list | None:
    v = _fc(txn)
    s = None if v is None else E.text(v)
    return None if s is None else [s.encode()]


@fetch("bc_err", test=TB)
def f_bc_err(txn: Txn, args: tuple) -> list | None:
    v = _bc(txn)
    return None if v is None else [v]


@fetch("bc_err_str", test=TB)
def f_bc_err_str(txn: Txn, args: tuple) -> list | None:
    v = _bc(txn)
    s = None if v is None else E.text(v)
    return None if s is None else [s.encode()]
