"""``python -m ldsnn_lava.cli``: the ``ldsnn`` command."""

import sys

from ldsnn_lava.cli import main

sys.exit(main())
