"""The lava-dl MNIST network as an LD-SNN in Lava's fixed-point simulation equals the engine."""

import numpy as np
import pytest

from ldsnn_lava import Schedule, datasets, evaluate, to_lava, zoo


@pytest.mark.lava
@pytest.mark.parametrize("mode", ["sequential", "pipelined"])
def test_lava_dl_mnist_ld_schedule_runs_bit_exact_in_lava(mode):
    model = zoo.load("lava_dl_mnist")
    data = datasets.load(model.dataset)
    x = model.preprocess(data.x_test[:3])  # fractional: the host applies the input layer's map
    schedule = Schedule([6, 6, 4, 3], ["replay", "rate", "rate"], mode)
    engine = evaluate(model.network, schedule, x, precision="fixed")
    lava = to_lava(model.network, schedule, precision="fixed").run(x)
    np.testing.assert_array_equal(lava.readout, engine.readout)
    for ours, theirs in zip(lava.spike_counts, engine.spike_counts, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert sum(int(c.sum()) for c in engine.spike_counts) > 0
