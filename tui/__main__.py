"""``python -m tui``: the same monitor as ``haproxy.pyz top``."""

import sys

from tui.app import main

sys.exit(main())
