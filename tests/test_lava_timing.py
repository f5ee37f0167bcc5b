"""benchmarks/lava_timing.py: a timed run gives the same readout in both model kinds."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.lava_timing import timed_run
from ldsnn_lava import Schedule, zoo
from ldsnn_lava.datasets import load


@pytest.mark.lava
@pytest.mark.parametrize("mode", ["sequential", "pipelined"])
def test_timed_run_step_and_window_agree(mode):
    model = zoo.load("mlp_digits")
    x = model.preprocess(load(model.dataset).split("test")[0][:3]).astype(np.float64)
    schedule = Schedule([3, 2, 2], ["rate", "replay"], mode)
    step = timed_run(model.network, schedule, "step", x)
    window = timed_run(model.network, schedule, "window", x)
    np.testing.assert_array_equal(window["readout"], step["readout"])
    assert step["period"] == schedule.period and window["period"] == (
        3 if mode == "sequential" else 1)
    assert step["timed_steps"] == step["lava_steps"] - step["period"]
    assert step["seconds"] > 0 and window["seconds"] > 0
