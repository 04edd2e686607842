"""Samples: HAProxy's sample fetches and converters, one table for ACLs, log-format strings,
rules and hashing (DESIGN.md "Registries"). Pure.

``FETCHES`` and ``CONVERTERS`` are :class:`haproxy_py.registry.Registry` objects: every name
HAProxy 2.6 has is ``known``; the implemented ones are registered by :mod:`.fetches` and
:mod:`.converters` with the test exercising them; the others are refused at load time.

Stable API for rule code: ``Txn``, ``compile_expr``, ``compile_format``, ``SampleError``; for log
lines: ``LOG_SAMPLES`` / ``log_format`` (a log-format's ``%[expr]``).
"""

from __future__ import annotations

from . import conv_json as _conv_json  # noqa: F401 - json_query, jwt_*
from . import converters as _converters  # noqa: F401 - fills CONVERTERS
from . import fetches as _fetches  # noqa: F401 - fills FETCHES
from . import fetches_conn_err as _fetches_conn_err  # noqa: F401 - fc_err, bc_err and their texts
from . import fetches_hello as _fetches_hello  # noqa: F401 - req.ssl_ec_ext, req.ssl_st_ext, res.ssl_hello_type
from . import fetches_pp as _fetches_pp  # noqa: F401 - the PROXY protocol fetches
from . import fetches_tls as _fetches_tls  # noqa: F401 - the ssl_* fetches
from . import maps as _maps  # noqa: F401 - the map converters
from . import stick as _stick  # noqa: F401 - the stick-table fetches and converters
from .core import CONVERTERS, FETCHES, ConvDef, FetchDef
from .expr import (
    ParsedExpr,
    build_expr,
    compile_expr,
    compile_format,
    compile_values,
    parse_expr,
)
from .logexpr import LOG_SAMPLES, log_format
from .txn import PROC_VARS, Runtime, Txn
from .types import Sample, SampleError

__all__ = ["LOG_SAMPLES", "log_format", "Txn", "Runtime", "PROC_VARS", "Sample", "SampleError", "compile_expr", "compile_format",
           "compile_values", "parse_expr", "build_expr", "ParsedExpr", "FETCHES", "CONVERTERS", "FetchDef",
           "ConvDef"]
