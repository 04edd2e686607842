"""Entry point for ``python -m haproxy_py`` and for the zipapp.

It must parse on any Python: ``haproxy_py._pyversion`` is imported first and refuses an interpreter
older than 3.10 in one line, before any module that needs a newer one is imported.
"""

import haproxy_py._pyversion  # noqa: F401  (first: exits on Python < 3.10)

# isort: split
import os
import sys

if os.environ.get("HAPROXY_PY_ACCEL_DIR"):
    # development and tests: the compiled modules of an accelerator tree over these sources
    # (haproxy_py/_bootstrap.py); inside haproxy.pyz the archive's own accelerator is used instead
    from haproxy_py import _bootstrap

    _bootstrap.install_accel_dir(os.environ["HAPROXY_PY_ACCEL_DIR"])

from haproxy_py.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
