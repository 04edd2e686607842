"""Containment of unexpected exceptions at the engine's boundaries (the callbacks the loop calls).

A bug met by one session must close that session, not the process, and must never print a
Python traceback: the session is closed, counted (``eint`` on its frontend, backend and server,
as 2.6 counts internal errors) and logged once as an alert with its context and a one-line
location (engine/loop.py ``Engine.session_fault``).

The loop's callbacks are bound methods: of a session (``Stream``), or of an object a session
drives (``Conn``, ``Connector``, ``Pump``, ``Tunnel``) whose own callbacks are bound methods of
the session or of the next object up (a ``Conn`` is its own readiness callback and contains what
its callbacks raise itself). ``contain(cb, exc, where)`` follows ``__self__`` (or, for a
closure such as ``lambda e: self._close_all()``, the objects it closes over, also when the
accelerator compiled it) to the first object with an ``internal_error(exc, where)`` method; with
none, the exception goes on to the loop's exception handler, the last resort (counted and logged
there, in one line too).
Nothing here runs unless an exception was raised: the hot paths only pay for a ``try``.
"""

from __future__ import annotations

import gc
import traceback
from collections.abc import Iterator
from typing import Any


def contain(cb: Any, exc: BaseException, where: str) -> None:
    """``exc`` escaped ``cb``: hand it to the session behind ``cb``, or re-raise it."""
    handler = getattr(getattr(cb, "__self__", None), "internal_error", None)
    if handler is None:
        for obj in _captured(cb):
            handler = getattr(obj, "internal_error", None)
            if handler is not None:
                break
    if handler is None:
        raise exc
    handler(exc, where)


def _captured(cb: Any) -> Iterator[Any]:
    """The objects a closure holds: its cells, or for a function compiled by the accelerator (mypyc
    gives it no ``__closure__``) what its environment object refers to, and the environments
    around that one."""
    for cell in getattr(cb, "__closure__", None) or ():
        try:
            yield cell.cell_contents
        except ValueError:  # an empty cell
            continue
    env = getattr(cb, "__mypyc_env__", None)
    seen = 0
    envs = [env] if env is not None else []
    while envs and seen < 8:
        env = envs.pop(0)
        seen += 1
        for obj in gc.get_referents(env):
            if type(obj).__name__.endswith("_env"):
                envs.append(obj)
            else:
                yield obj


def location(exc: BaseException) -> str:
    """Where ``exc`` was raised, in one line: ``haproxy_py/engine/http.py:512 in _got_request``."""
    tb = exc.__traceback__
    if tb is None:
        return "unknown location"
    frame = traceback.extract_tb(tb)[-1]
    name = frame.filename.replace("\\", "/")
    cut = name.rfind("haproxy_py/")
    if cut >= 0:
        name = name[cut:]
    return f"{name}:{frame.lineno} in {frame.name}"


def describe(exc: BaseException) -> str:
    """``ZeroDivisionError: division by zero at haproxy_py/x.py:3 in f`` (one line)."""
    text = str(exc).replace("\n", " ").strip()
    if len(text) > 200:
        text = text[:197] + "..."
    kind = type(exc).__name__
    return f"{kind}: {text} at {location(exc)}" if text else f"{kind} at {location(exc)}"
