"""What a result was produced with: the command line and the versions of the stack.

Reports and saved results record both, so that a number can be traced to the run that made it.
"""

from __future__ import annotations

import importlib.metadata
import platform
import shlex

PACKAGES = ("ldsnn-lava", "torch", "numpy", "lava-nc", "lava-dl", "nir")
"""Distributions whose versions are recorded (absent ones read "not installed")."""


def versions() -> dict[str, str]:
    """Python's and each of :data:`PACKAGES`' installed version (without importing them)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def command_line(argv: list[str], program: str = "ldsnn") -> str:
    """The command as a shell would take it back, e.g. ``ldsnn optimize mlp_digits``."""
    return shlex.join([program, *map(str, argv)])
