"""ldsnn-lava: layerwise disaggregated spiking neural networks (LD-SNNs) on Lava.

The public API in one place::

    from ldsnn_lava import Network, Stage, Dense, Conv2d, AvgPool2d, SumPool2d, Flatten, Scale
    from ldsnn_lava import IF, CubaLIF, Schedule, evaluate, quantize
    from ldsnn_lava import datasets, zoo
    from ldsnn_lava import to_lava          # imports lava on first use

See DESIGN.md section 2 for the semantics every backend implements. Only the Lava backend
(``ldsnn_lava.lava_backend``, ``ldsnn_lava.processes``) imports lava; everything else works
without it.
"""

from ldsnn_lava import lava_compat as _lava_compat  # noqa: F401  (before any lava import)
from ldsnn_lava.engine import COUNTER_NAMES, Counters, EvalResult, StageEngine, evaluate
from ldsnn_lava.network import Network, Stage
from ldsnn_lava.neurons import IF, CubaLIF
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Scale, SumPool2d
from ldsnn_lava.quantize import QuantizedNetwork, quantization_report, quantize
from ldsnn_lava.schedule import Schedule

__version__ = "0.1.0"

_LAZY = {
    "to_lava": ("ldsnn_lava.lava_backend", "to_lava"),
    "LavaLDSNN": ("ldsnn_lava.lava_backend", "LavaLDSNN"),
    "datasets": ("ldsnn_lava.datasets", None),
    "zoo": ("ldsnn_lava.zoo", None),
}


def __getattr__(name: str):
    """Import the Lava backend, data sets and zoo only when they are used."""
    if name not in _LAZY:
        raise AttributeError(f"module 'ldsnn_lava' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)


__all__ = [
    "COUNTER_NAMES", "AvgPool2d", "Conv2d", "Counters", "CubaLIF", "Dense", "EvalResult",
    "Flatten", "IF", "LavaLDSNN", "Network", "QuantizedNetwork", "Scale", "Schedule", "Stage",
    "StageEngine", "SumPool2d", "datasets", "evaluate", "quantization_report", "quantize",
    "to_lava", "zoo",
]
