"""Entry point for ``python -m haproxy_py`` and for the zipapp.

It must parse on any Python: ``haproxy_py._pyversion`` is imported first and refuses an interpreter
older than 3.10 in one line, before any module that needs a newer one is imported.
"""

import haproxy_py._pyversion  # noqa: F401  (first: exits on Python < 3.10)

# isort: split
import sys

from haproxy_py.cli import main

if __name__ == "__main__":
    sys.exit(main())
