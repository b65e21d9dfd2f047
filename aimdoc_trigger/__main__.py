"""``python -m aimdoc_trigger``: the same as the ``aimdoc-trigger`` console script."""

import sys

from aimdoc_trigger.cli import main

if __name__ == "__main__":
    sys.exit(main())
