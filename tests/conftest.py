"""Shared pytest set-up.

The Lava wheels install a top-level ``tests`` package into site-packages, so this folder is
never imported as a package: tests run with ``--import-mode=importlib`` and shared helpers live
in uniquely named modules (``ldsnn_testing``), importable because this file puts the folder on
``sys.path``.
"""

import sys
from pathlib import Path

import ldsnn_lava  # noqa: F401  (installs the Lava compatibility fixes before any lava import)

sys.path.insert(0, str(Path(__file__).parent))
