"""``python -m aliasgate``: the ``aliasgate`` command without its console script (same subcommands and flags)."""

from __future__ import annotations

import sys

from aliasgate.cli import main

if __name__ == "__main__":
    sys.exit(main())
