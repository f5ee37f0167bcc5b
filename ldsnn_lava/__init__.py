"""ldsnn-lava: layerwise disaggregated spiking neural networks (LD-SNNs) on Lava.

The public API in one place::

    from ldsnn_lava import Network, Stage, Dense, Conv2d, AvgPool2d, SumPool2d, Flatten, Scale
    from ldsnn_lava import IF, CubaLIF, Schedule, evaluate, quantize, optimize
    from ldsnn_lava import datasets, zoo, load_model
    from ldsnn_lava import to_lava          # imports lava on first use
    from ldsnn_lava import to_brian2        # imports brian2 on first use

``docs/design.md`` defines the semantics every backend implements. Only the Lava backend
(``ldsnn_lava.processes``) imports lava; everything else works without it.
"""

from ldsnn_lava.processes import compat as _lava_compat  # noqa: F401  (before any lava import)

# isort: split
from ldsnn_lava import formats as _formats  # noqa: F401  (registers the file formats)
from ldsnn_lava.engine import COUNTER_NAMES, Counters, EvalResult, StageEngine, evaluate
from ldsnn_lava.errors import LDSNNError
from ldsnn_lava.model import Model
from ldsnn_lava.network import Network, Stage
from ldsnn_lava.neurons import IF, CubaLIF
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Scale, SumPool2d
from ldsnn_lava.optimize import OptimizeResult, optimize
from ldsnn_lava.options import BufferKind, InputEncoding, Mode, ModelKind, Precision
from ldsnn_lava.quantize import QuantizedNetwork, quantization_report, quantize
from ldsnn_lava.schedule import Schedule

__version__ = "0.1.0"

_LAZY = {
    "to_lava": ("ldsnn_lava.processes.graph", "to_lava"),
    "LavaLDSNN": ("ldsnn_lava.processes.graph", "LavaLDSNN"),
    "to_brian2": ("ldsnn_lava.brian2_backend", "to_brian2"),
    "Brian2LDSNN": ("ldsnn_lava.brian2_backend", "Brian2LDSNN"),
    "datasets": ("ldsnn_lava.datasets", None),
    "zoo": ("ldsnn_lava.zoo", None),
    "load_model": ("ldsnn_lava.resolve", "load_model"),
}


def __getattr__(name: str):
    """Import the Lava and Brian2 backends, data sets and zoo only when they are used."""
    if name not in _LAZY:
        raise AttributeError(f"module 'ldsnn_lava' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)


__all__ = [
    "COUNTER_NAMES", "AvgPool2d", "Brian2LDSNN", "BufferKind", "Conv2d", "Counters", "CubaLIF",
    "Dense", "EvalResult", "Flatten", "IF", "InputEncoding", "LDSNNError", "LavaLDSNN", "Mode",
    "Model", "ModelKind", "Network", "OptimizeResult", "Precision", "QuantizedNetwork", "Scale",
    "Schedule", "Stage", "StageEngine", "SumPool2d", "datasets", "evaluate", "load_model",
    "optimize", "quantization_report", "quantize", "to_brian2", "to_lava", "zoo",
]
