"""``python -m snn``: the same as the ``snn`` command (and what ``torchrun -m snn ...``
launches in every process)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
