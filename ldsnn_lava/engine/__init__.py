"""The torch engine: evaluates an LD-SNN layer by layer, in batches and time chunks, on CPU or
CUDA.

- :mod:`~ldsnn_lava.engine.driver`: :class:`StageEngine` (a network compiled for one device,
  dtype and precision; one stage step maps carried state and an input chunk to an output
  chunk), :func:`run_batch` (the one evaluation loop) and :func:`evaluate`;
- :mod:`~ldsnn_lava.engine.stages`: how a stage is compiled (ops, exact shortcuts, fixed-point
  arithmetic);
- :mod:`~ldsnn_lava.engine.kernels`: fused neuron and buffer kernels, equal to the definitions
  in :mod:`ldsnn_lava.neurons` and :mod:`ldsnn_lava.buffers`; :mod:`~ldsnn_lava.engine.native`
  compiles their C loops for the CPU;
- :mod:`~ldsnn_lava.engine.result`: :class:`EvalResult`, :class:`Evaluation`,
  :class:`Counters`, and the one implementation of the work counters
  (:func:`synaptic_updates`, :func:`count_work`).
"""

from ldsnn_lava.engine.driver import StageEngine, StageState, as_input, evaluate, run_batch
from ldsnn_lava.engine.result import (
    COUNTER_NAMES,
    Counters,
    EvalResult,
    Evaluation,
    count_work,
    synaptic_updates,
)

__all__ = ["COUNTER_NAMES", "Counters", "EvalResult", "Evaluation", "StageEngine", "StageState",
           "as_input", "count_work", "evaluate", "run_batch", "synaptic_updates"]
