"""The rate buffer: closed form == step rule, totals, even spacing."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ldsnn_lava.buffers import (
    expected_rate_total,
    quantize_rate_input,
    rate_initial_accumulator,
    rate_raster,
    rate_step,
)

windows = st.integers(1, 40)


@settings(max_examples=300, deadline=None)
@given(t_in=windows, t_out=windows, data=st.data())
def test_closed_form_equals_the_step_rule(t_in, t_out, data):
    counts = np.array(data.draw(st.lists(st.integers(0, t_in), min_size=1, max_size=8)))
    acc = rate_initial_accumulator(counts, t_in)
    steps = []
    for _ in range(t_out):
        acc, spikes = rate_step(acc, counts, t_in)
        steps.append(spikes)
        assert ((0 <= acc) & (acc < t_in)).all()
    raster = rate_raster(torch.as_tensor(counts), t_in, t_out).numpy()
    np.testing.assert_array_equal(raster, np.array(steps))


@settings(max_examples=300, deadline=None)
@given(t_in=windows, t_out=windows, data=st.data())
def test_emits_rounded_rescaled_count_evenly_spaced(t_in, t_out, data):
    c = data.draw(st.integers(0, t_in))
    raster = rate_raster(torch.tensor([c]), t_in, t_out).numpy()[:, 0]
    total = int(raster.sum())
    exact = c * t_out / t_in
    assert abs(total - exact) <= 0.5
    if exact - int(exact) == 0.5:
        assert total == int(exact) + 1  # halves round up
    assert total == expected_rate_total(np.array([c]), t_in, t_out)[0]
    times = np.flatnonzero(raster)
    if len(times) > 2:
        gaps = np.diff(times)
        assert gaps.max() - gaps.min() <= 1


def test_equal_windows_reproduce_the_count():
    counts = torch.arange(0, 11)
    assert (rate_raster(counts, 10, 10).sum(0) == counts).all()


def test_rate_input_quantizes_half_up_and_clips():
    x = torch.tensor([-0.2, 0.0, 0.05, 0.15, 0.5, 1.0, 1.7], dtype=torch.float64)
    assert quantize_rate_input(x, 10).tolist() == [0, 0, 1, 2, 5, 10, 10]
