"""``python -m aalps``: the ``aalps`` command."""

from __future__ import annotations

import sys

from aalps.client.cli import main

if __name__ == "__main__":
    sys.exit(main())
