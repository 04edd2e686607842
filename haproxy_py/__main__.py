"""Entry point for ``python -m haproxy_py`` and for the zipapp."""

import sys

from haproxy_py.cli import main

if __name__ == "__main__":
    sys.exit(main())
