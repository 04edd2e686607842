"""``mypyc_attr`` for the modules the accelerator compiles (build_zipapp.py, ACCEL_MODULES).

mypyc reads the decorator by its name (``mypy_extensions.mypyc_attr``) when it compiles a module; at run
time the pure modules only need a decorator that changes nothing, so haproxy-py does not depend on
``mypy_extensions`` (a development dependency, with mypy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr as mypyc_attr
else:
    def mypyc_attr(*attrs: Any, **kwattrs: Any) -> Any:
        return lambda cls: cls
