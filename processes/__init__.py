"""Lava processes for LD-SNNs, installed as ``ldsnn_lava.processes``.

Each lives in Lava's layout, ``<name>/process.py`` (the ``AbstractProcess``), ``models.py``
(step-faithful ``floating_pt`` and ``fixed_pt`` models) and ``window_models.py`` (models that run a
whole window per Lava step, for simulation speed)::

    LDInput -> LDStage -> LDBuffer -> LDStage -> ... -> LDStage (readout) -> LDReadout

:func:`ldsnn_lava.to_lava` wires them for a network and schedule; ``tutorials/lava_by_hand.py``
wires them by hand.
"""

import ldsnn_lava.lava_compat  # noqa: F401  (before any lava import)

# isort: split
from ldsnn_lava.processes.ld_buffer.process import LDBuffer
from ldsnn_lava.processes.ld_input.process import LDInput
from ldsnn_lava.processes.ld_readout.process import LDReadout
from ldsnn_lava.processes.ld_stage.process import LDStage

__all__ = ["LDBuffer", "LDInput", "LDReadout", "LDStage"]
