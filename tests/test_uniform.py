"""The one-pass uniform sweep against the independent step-by-step reference simulator."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldsnn_testing import inputs, networks, simulate_uniform_stepwise, synaptic_updates_ref

from ldsnn_lava import Schedule
from ldsnn_lava.optimize.uniform import uniform_sweep


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sweep_equals_the_stepwise_reference_at_each_T(data):
    """Both branches (direct input: one run; rate input: per T) against the reference that
    steps all layers together; accuracy and synaptic updates at every T."""
    net = data.draw(networks())
    x = data.draw(inputs(net))
    y = np.arange(len(x)) % net.num_classes
    max_T = data.draw(st.integers(1, 9))
    points = uniform_sweep(net, x, y, max_T, batch_size=data.draw(st.integers(1, 4)),
                           dtype=torch.float64)
    assert [p.schedule for p in points] == [Schedule.uniform(net, T) for T in
                                            range(1, max_T + 1)]
    for point in points:
        T = point.schedule.timesteps[0]
        readout, _ = simulate_uniform_stepwise(net, x, T)
        assert point.accuracy == np.mean(np.argmax(readout, axis=1) == y)
        np.testing.assert_allclose(point.counters.per_stage["synaptic_updates"],
                                   synaptic_updates_ref(net, point.schedule, x), rtol=1e-12)
        np.testing.assert_array_equal(point.counters.per_stage["neurons_evaluated"],
                                      np.array(net.num_neurons) * T)


def test_sweep_rejects_bad_arguments():
    from ldsnn_lava import IF, Dense, Network, Stage

    net = Network((2,), [Stage([Dense(np.eye(2))], IF()), Stage([Dense(np.eye(2))], None)])
    with pytest.raises(ValueError, match="max_T must be an integer in"):
        uniform_sweep(net, np.zeros((1, 2)), [0], 0)
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\), one per sample"):
        uniform_sweep(net, np.zeros((2, 2)), [0], 3)
