"""One-pass uniform sweep == evaluating each uniform schedule on its own."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldsnn_testing import inputs, networks

from ldsnn_lava import Schedule, evaluate
from ldsnn_lava.optimize.uniform import uniform_sweep


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sweep_equals_evaluating_each_T(data):
    net = data.draw(networks())
    x = data.draw(inputs(net))
    y = np.arange(len(x)) % net.num_classes
    max_T = data.draw(st.integers(1, 9))
    points = uniform_sweep(net, x, y, max_T, batch_size=data.draw(st.integers(1, 4)),
                           dtype=torch.float64)
    assert [p.schedule for p in points] == [Schedule.uniform(net, T) for T in
                                            range(1, max_T + 1)]
    for point in points:
        result = evaluate(net, point.schedule, x, dtype=torch.float64)
        assert point.accuracy == result.accuracy(y)
        for name, values in result.counters.per_stage.items():
            np.testing.assert_allclose(point.counters.per_stage[name], values, rtol=1e-12,
                                       err_msg=name)


def test_sweep_rejects_bad_arguments():
    from ldsnn_lava import IF, Dense, Network, Stage

    net = Network((2,), [Stage([Dense(np.eye(2))], IF()), Stage([Dense(np.eye(2))], None)])
    with pytest.raises(ValueError, match="max_T and batch_size must be >= 1"):
        uniform_sweep(net, np.zeros((1, 2)), [0], 0)
    with pytest.raises(ValueError, match="same number N >= 1"):
        uniform_sweep(net, np.zeros((2, 2)), [0], 3)
