"""The ``%[expr]`` of a ``log-format`` line, compiled by the samples package for log/format.py
(which formats and owns no fetch): :data:`LOG_SAMPLES` is what ``compile_log_format(...,
samples=)`` takes, :func:`log_format` compiles a whole log-format with it. Pure.

2.6 compiles a log-format's expressions at load time where the log line is made (its
``FE_LOG_END`` place, ``place="log"`` here): a fetch that needs the request or the response
contents (``req.hdr``, ``path``, ``res.hdr``, ``req.len``...) is refused, and the error shows the
format from the expression to its end. At log time an expression reads the session's samples Txn,
the one its rules ran on (``LogRecord.txn``, set by the engine).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..log.format import CompiledFormat, LogContext, LogFormatError, LogRecord, compile_log_format
from . import known26
from .core import PLACES, FetchDef, needs
from .expr import compile_expr
from .txn import Txn
from .types import SampleError, to_text

__all__ = ["LOG_SAMPLES", "log_format"]

_FETCH_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


class _LogSamples:
    """``compile`` and ``txn_of`` of log/format.py's ``LogSamples`` protocol."""

    __slots__ = ()

    def compile(self, fmt: str, start: int, end: int) -> Callable[[Any], str | None]:
        text = fmt[start:end]
        rest = fmt[start:]  # 2.6 shows the format from the expression to its end
        try:
            fn = compile_expr(fmt, start, end, "log")
        except SampleError as e:
            msg = e.message.rstrip(".")
            m = _FETCH_NAME.match(text)
            d26 = known26.FETCHES.get(m.group(0)) if m else None
            if m and d26 is not None and d26[2][PLACES["log"][0]] != "Y" and "not implemented" in msg:
                # a fetch haproxy-py lacks that 2.6 refuses here anyway: 2.6's reason
                fd = FetchDef(m.group(0), _nothing, (), d26[1], d26[2])
                msg = (f"sample fetch <{text}> may not be reliably used here because it needs "
                       f"'{needs(fd)}' which is not available here")
            if msg.startswith(f"sample fetch <{text}>"):
                msg = msg.replace(f"<{text}>", f"<{rest}>", 1)
            else:
                msg = f"failed to parse sample expression <{rest}> : {msg}"
            raise LogFormatError(msg) from None

        def sample(txn: Txn) -> str | None:
            s = fn(txn)
            if s is None:
                return None
            b = to_text(s.type, s.value)
            return None if b is None else b.decode("latin-1")

        return sample

    def txn_of(self, rec: LogRecord) -> Txn:
        """The session's Txn (``rec.txn``, which the engine sets at log time), else one made of the
        record's facts (addresses, proxy and server names, captures through ``rec``)."""
        t = rec.txn
        if t is not None:
            return t
        return Txn(None, rec.client_ip, rec.client_port or 0, rec.frontend_ip, rec.frontend_port or 0, None,
                   rec.frontend_name, rec.backend_name or "", server=rec.server_name or "", rec=rec,
                   wall=rec.accept_date)


def _nothing(txn: Txn, args: tuple[Any, ...]) -> None:
    return None


LOG_SAMPLES = _LogSamples()


def log_format(fmt: str, *, context: LogContext | None = None) -> CompiledFormat:
    """``compile_log_format`` with this package's sample expressions (LogFormatError for what 2.6
    refuses in a log-format)."""
    return compile_log_format(fmt, context=context, samples=LOG_SAMPLES)
