"""The torch engine: evaluates an LD-SNN layer by layer, in batches, on CPU or CUDA.

- :mod:`~ldsnn_lava.engine.driver`: :class:`StageEngine` (a network compiled for one device,
  dtype and precision) and :func:`evaluate`;
- :mod:`~ldsnn_lava.engine.kernels`: fused neuron and buffer kernels, equal to the definitions
  in :mod:`ldsnn_lava.neurons` and :mod:`ldsnn_lava.buffers`;
- :mod:`~ldsnn_lava.engine.result`: :class:`EvalResult`, :class:`Counters` and
  :func:`count_work`, the one definition of the work counters.
"""

from ldsnn_lava.engine.driver import StageEngine, evaluate
from ldsnn_lava.engine.result import COUNTER_NAMES, Counters, EvalResult, count_work

__all__ = ["COUNTER_NAMES", "Counters", "EvalResult", "StageEngine", "count_work", "evaluate"]
