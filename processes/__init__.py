"""Everything Lava, in one place, installed as ``ldsnn_lava.processes``.

- ``compat``: makes lava-nc 0.10 / lava-dl 0.6 import on Python 3.11 (imported by
  ``ldsnn_lava`` itself, before any lava import; it does not import lava);
- ``graph``: :func:`to_lava`, the graph builder and runner;
- ``runtime``: :class:`GuardedRuntime` and :func:`create_runtime`, Lava's runtime without its
  hangs and orphans (an error in any process raises; nothing outlives a run);
- ``records``: per-sample result rows that leave the runtime through shared memory;
- ``tags``: the process-model tags; ``neuron_vars``: how neuron parameters and state appear as
  Vars; ``base``: what all our processes and process models share;
- the Process classes, each in Lava's layout ``<name>/process.py`` (the ``AbstractProcess``),
  ``models.py`` (step-faithful ``floating_pt`` and ``fixed_pt`` models) and
  ``window_models.py`` (a whole window per Lava step, for simulation speed)::

      LDInput -> stage -> LDBuffer -> stage -> ... -> LDReadoutStage -> LDReadout

  with one stage class per neuron kind (:class:`LDIFStage`, :class:`LDCubaLIFStage`,
  :class:`LDReadoutStage`; :func:`stage_process` picks it). Parameters (weights, biases,
  thresholds, decays, windows) and neuron state are Lava ``Var``s;
- :class:`LDNetwork`: a whole LD-SNN as one hierarchical process with ``s_in`` and ``s_out``,
  for Lava scripts (Lava's sources, sinks and ``Monitor``), optionally with stages built from
  Lava's own ``Dense``/``Conv`` and ``LIFReset`` (``lava_stage``).

:func:`ldsnn_lava.to_lava` wires them for a network and schedule; ``tutorials/lava_by_hand.py``
wires them by hand. The Process classes and ``to_lava`` are imported on first use, so that
importing ``ldsnn_lava.processes.compat`` does not import lava.
"""

import importlib

_LAZY = {
    "GuardedRuntime": "ldsnn_lava.processes.runtime",
    "LDBuffer": "ldsnn_lava.processes.ld_buffer.process",
    "LDCubaLIFStage": "ldsnn_lava.processes.ld_stage.process",
    "LDIFStage": "ldsnn_lava.processes.ld_stage.process",
    "LDInput": "ldsnn_lava.processes.ld_input.process",
    "LDNetwork": "ldsnn_lava.processes.ld_network.process",
    "LDReadout": "ldsnn_lava.processes.ld_readout.process",
    "LDReadoutStage": "ldsnn_lava.processes.ld_stage.process",
    "LDStage": "ldsnn_lava.processes.ld_stage.process",
    "LavaLDSNN": "ldsnn_lava.processes.graph",
    "Record": "ldsnn_lava.processes.records",
    "create_runtime": "ldsnn_lava.processes.runtime",
    "stage_process": "ldsnn_lava.processes.ld_stage.process",
    "to_lava": "ldsnn_lava.processes.graph",
}


def __getattr__(name: str):
    """Import the Process classes and the graph builder (and so lava) only when used."""
    if name not in _LAZY:
        raise AttributeError(f"module 'ldsnn_lava.processes' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = sorted(_LAZY)
