"""Shared pytest set-up.

The Lava wheels install a top-level ``tests`` package into site-packages, so this folder is
never imported as a package: tests run with ``--import-mode=importlib`` and shared helpers live
in uniquely named modules (``ldsnn_testing``), importable because this file puts the folder on
``sys.path``.
"""

import sys
import time
from pathlib import Path

import pytest

import ldsnn_lava  # noqa: F401  (installs the Lava compatibility fixes before any lava import)

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _no_process_left_behind(request):
    """Every test leaves no child process behind (Lava runtimes included): a child that is
    still alive 10 s after the test ends fails the test that started it, by name."""
    from ldsnn_procfs import alive, children_of_this_process

    before = set(children_of_this_process())
    yield
    deadline = time.monotonic() + 10.0
    while (left := alive(set(children_of_this_process()) - before)) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"{request.node.nodeid} left child processes {left} behind"
