"""ldsnn-lava: layerwise disaggregated spiking neural networks (LD-SNNs) on Lava.

The public API in one place::

    from ldsnn_lava import Network, Stage, Dense, Conv2d, AvgPool2d, Flatten, Scale, IF, CubaLIF
    from ldsnn_lava import Schedule, evaluate

See DESIGN.md section 2 for the semantics every backend implements.
"""

from ldsnn_lava import lava_compat as _lava_compat  # noqa: F401  (before any lava import)
from ldsnn_lava.engine import COUNTER_NAMES, Counters, EvalResult, StageEngine, evaluate
from ldsnn_lava.network import Network, Stage
from ldsnn_lava.neurons import IF, CubaLIF
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Scale
from ldsnn_lava.schedule import Schedule

__version__ = "0.1.0"

__all__ = [
    "COUNTER_NAMES", "AvgPool2d", "Conv2d", "Counters", "CubaLIF", "Dense", "EvalResult",
    "Flatten", "IF", "Network", "Scale", "Schedule", "Stage", "StageEngine", "evaluate",
]
