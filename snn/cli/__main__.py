"""``python -m snn.cli``: the same as the ``snn`` command."""

import sys

from . import main

sys.exit(main())
