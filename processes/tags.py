"""The process-model tags: which Lava ``ProcessModel`` of our processes a run selects.

Two kinds of models (:class:`~ldsnn_lava.options.ModelKind`) exist in two precisions each;
every model class is decorated with its tag from :data:`TAGS`, and :func:`ldsnn_lava.to_lava`
runs with ``Loihi2SimCfg(select_tag=TAGS[kind, precision])``.
"""

from __future__ import annotations

from ldsnn_lava.options import ModelKind, Precision

FLOAT_STEP = "floating_pt"
FIXED_STEP = "fixed_pt"
FLOAT_WINDOW = "window_floating_pt"
FIXED_WINDOW = "window_fixed_pt"

TAGS: dict[tuple[ModelKind, Precision], str] = {
    (ModelKind.STEP, Precision.FLOAT): FLOAT_STEP,
    (ModelKind.STEP, Precision.FIXED): FIXED_STEP,
    (ModelKind.WINDOW, Precision.FLOAT): FLOAT_WINDOW,
    (ModelKind.WINDOW, Precision.FIXED): FIXED_WINDOW,
}
"""Tag of each (model kind, precision)."""
