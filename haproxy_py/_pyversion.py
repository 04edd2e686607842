"""haproxy-py needs Python 3.10 or newer: on an older interpreter every command says so in one line.

Importing this module is the check: on an old interpreter it writes the message to stderr and exits
with status 1. Every entry point imports it before anything else of ours: ``haproxy_py/__main__.py``
(``python -m haproxy_py``), the zipapp's ``__main__`` (``python haproxy.pyz``), ``build_zipapp.py``
and ``bench/run.py``. So this file, like ``haproxy_py/__init__.py`` and ``__main__.py``, must parse
and run on old interpreters, Python 2.7 included: no annotations, f-strings, ``from __future__
import annotations``, walrus or ``match``; nothing imported but ``sys``. A unit test parses it with
``ast.parse(..., feature_version=...)`` and, where old interpreters are installed, runs them.
"""

import sys

MINIMUM = (3, 10)


def version_problem(version_info):
    """The one-line refusal for ``version_info`` (a ``sys.version_info``-like tuple), or None."""
    if tuple(version_info[:2]) >= MINIMUM:
        return None
    shown = ".".join(str(part) for part in version_info[:3])
    return ("haproxy-py needs Python " + ".".join(str(part) for part in MINIMUM)
            + " or newer (this is Python " + shown + ")")


def require(version_info=None, stderr=None):
    """Exit with status 1 and the one-line refusal when the interpreter is too old."""
    problem = version_problem(sys.version_info if version_info is None else version_info)
    if problem is not None:
        (sys.stderr if stderr is None else stderr).write(problem + "\n")
        sys.exit(1)


require()
