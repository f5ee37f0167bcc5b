"""Everything Lava, in one place, installed as ``ldsnn_lava.processes``.

- ``compat``: makes lava-nc 0.10 / lava-dl 0.6 import on Python 3.11 (imported by
  ``ldsnn_lava`` itself, before any lava import; it does not import lava);
- ``graph``: :func:`to_lava`, the graph builder and runner;
- ``records``: per-sample result rows that leave the runtime through memory-mapped files;
- the Process classes, each in Lava's layout ``<name>/process.py`` (the ``AbstractProcess``),
  ``models.py`` (step-faithful ``floating_pt`` and ``fixed_pt`` models) and
  ``window_models.py`` (a whole window per Lava step, for simulation speed)::

      LDInput -> LDStage -> LDBuffer -> LDStage -> ... -> LDStage (readout) -> LDReadout

:func:`ldsnn_lava.to_lava` wires them for a network and schedule; ``tutorials/lava_by_hand.py``
wires them by hand. The Process classes and ``to_lava`` are imported on first use, so that
importing ``ldsnn_lava.processes.compat`` does not import lava.
"""

import importlib

_LAZY = {
    "LDBuffer": "ldsnn_lava.processes.ld_buffer.process",
    "LDInput": "ldsnn_lava.processes.ld_input.process",
    "LDReadout": "ldsnn_lava.processes.ld_readout.process",
    "LDStage": "ldsnn_lava.processes.ld_stage.process",
    "LavaLDSNN": "ldsnn_lava.processes.graph",
    "to_lava": "ldsnn_lava.processes.graph",
}


def __getattr__(name: str):
    """Import the Process classes and the graph builder (and so lava) only when used."""
    if name not in _LAZY:
        raise AttributeError(f"module 'ldsnn_lava.processes' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = sorted(_LAZY)
