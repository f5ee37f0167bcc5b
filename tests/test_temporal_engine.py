"""The engine on sequence input and delays, against independent step-by-step references."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ldsnn_temporal_testing import (
    chunked_schedules,
    sequences,
    simulate_chunked,
    simulate_sequence_stepwise,
    temporal_networks,
)
from ldsnn_testing import connectivity_ref, rate_emit_ref

from ldsnn_lava import IF, Dense, Network, Schedule, Stage, evaluate

PRECISIONS = [("float", False), ("fixed", True)]


@pytest.mark.parametrize("precision, fixed", PRECISIONS)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), chunk=st.integers(1, 4), delays=st.booleans())
def test_given_snn_equals_stepping_all_stages_together(precision, fixed, data, chunk, delays):
    """Uniform schedule at the input's resolution (any chunk dividing S) = the conventional
    network stepped once per input step, spike for spike and readout for readout."""
    net = data.draw(temporal_networks(fixed, delays))
    x = data.draw(sequences(net, chunk, fixed))
    result = evaluate(net, Schedule.uniform(net, chunk), x, precision=precision,
                      dtype=torch_float64(), record_rasters=True)
    readout, rasters = simulate_sequence_stepwise(net, x, fixed)
    assert np.array_equal(result.readout, readout)
    for ours, reference in zip(result.rasters, rasters, strict=True):
        assert np.array_equal(ours, reference)
    for counts, reference in zip(result.spike_counts, rasters, strict=True):
        assert np.array_equal(counts, reference.sum(1))


@pytest.mark.parametrize("precision, fixed", PRECISIONS)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), chunk=st.integers(1, 5))
def test_ld_schedules_follow_the_chunked_definition(precision, fixed, data, chunk):
    net = data.draw(temporal_networks(fixed))
    x = data.draw(sequences(net, chunk, fixed))
    schedule = data.draw(chunked_schedules(net, chunk, graded=True))
    try:
        result = evaluate(net, schedule, x, precision=precision, dtype=torch_float64(),
                          record_rasters=True)
    except ValueError as err:  # a scaled delay that cannot arrive within the sample
        assert "would never arrive" in str(err)
        return
    readout, rasters = simulate_chunked(net, schedule, x, fixed)
    assert np.array_equal(result.readout, readout)
    for ours, reference in zip(result.rasters, rasters, strict=True):
        assert np.array_equal(ours, reference)
    _check_counters(net, schedule, x, result, rasters)


def _check_counters(net, schedule, x, result, rasters):
    """Synaptic updates recounted from the rasters a stage received; the rest by formula."""
    chunks = x.shape[1] // schedule.chunk
    steps = schedule.timesteps
    received = {"replay": lambda r, i: r, "rate": lambda r, i: _rate_per_chunk(
        r, steps[i], steps[i + 1], chunks), "graded": lambda r, i: _graded_per_chunk(
        r, steps[i], chunks)}
    inputs = [None] + [received[schedule.buffers[i]](r, i) for i, r in enumerate(rasters)]
    if net.input_encoding == "events":
        inputs[0] = x if steps[0] == schedule.chunk else _rate_per_chunk(
            x, schedule.chunk, steps[0], chunks)
    for index, received in enumerate(inputs):
        if received is None:
            continue
        fan_out = connectivity_ref(net.stages[index].ops, net.input_shape_of(index)).sum(0)
        expected = (received.sum(1).reshape(len(x), -1) * fan_out).sum() / len(x)
        assert result.counters.per_stage["synaptic_updates"][index] == pytest.approx(expected)
    neurons = np.array(net.num_neurons) * np.array(steps) * chunks
    assert np.array_equal(result.counters.per_stage["neurons_evaluated"], neurons)


def _rate_per_chunk(raster, t_in, t_out, chunks):
    """A raster (N, chunks * t_in, ...) re-emitted chunk by chunk by the rate rule."""
    parts = []
    for k in range(chunks):
        counts = raster[:, k * t_in:(k + 1) * t_in].sum(1).astype(np.int64)
        parts.append(np.moveaxis(rate_emit_ref(counts, t_in, t_out), 0, 1))
    return np.concatenate(parts, axis=1)


def _graded_per_chunk(raster, t_in, chunks):
    """A raster (N, chunks * t_in, ...) as graded events: one per neuron and chunk whose count
    is non-zero (a row per chunk)."""
    return np.stack([raster[:, k * t_in:(k + 1) * t_in].any(1) for k in range(chunks)], axis=1)


def torch_float64():
    import torch

    return torch.float64


def test_bad_sequences_name_the_problem():
    net = Network((3,), [Stage([Dense(np.ones((2, 3)))], IF(), delay=[0, 9]),
                         Stage([Dense(np.ones((2, 2)))], None)], input_encoding="events")
    x = np.zeros((2, 12, 3))
    cases = [
        (np.zeros((2, 12, 4)), Schedule.uniform(net, 4),
         r"each step has 4 channels where the network has 3"),
        (np.zeros((2, 10, 3)), Schedule.uniform(net, 4),
         "S = 10 input steps, which the schedule's chunk of 4 steps does not divide"),
        (np.where(np.arange(36).reshape(1, 12, 3) == 7, np.nan, x), Schedule.uniform(net, 4),
         r"NaN or inf \(first in sample 0, step 2\)"),
        (x + 0.5, Schedule.uniform(net, 4), "events input must hold spikes 0 or 1, found 0.5"),
        (x, Schedule([2, 2], chunk=12),
         r"stage 0: delay of 2 steps \(at T = 2 per chunk of 12\) is not shorter than the "
         r"stage's window of 2 steps"),
        (x[:, :4], Schedule.uniform(net, 4),
         "stage 0: delay of 9 steps .* not shorter than the stage's window of 4 steps"),
    ]
    for data, schedule, match in cases:
        with pytest.raises(ValueError, match=match):
            evaluate(net, schedule, data)
    with pytest.raises(ValueError, match="needs a chunk"):
        evaluate(net, Schedule([4, 4]), x)


@settings(max_examples=15, deadline=None)
@given(data=st.data(), chunk=st.integers(2, 4))
def test_prefix_cache_on_sequences_equals_evaluate(data, chunk):
    """The optimizer's cache re-runs only the stages after a cached prefix, chunk by chunk,
    and gives evaluate's accuracy and counters."""
    from ldsnn_lava.optimize.cache import PrefixCache, ld_schedule

    net = data.draw(temporal_networks(fixed=False))
    x = data.draw(sequences(net, chunk, min_steps=4 * chunk))
    y = np.arange(len(x)) % net.num_classes
    cache = PrefixCache(net, x, y, chunk=chunk)
    first = [data.draw(st.integers(3, 6)) for _ in net.stages]
    second = first[:-1] + [first[-1] - 1]
    for steps in (first, second):
        got = cache.evaluate(steps)
        expected = evaluate(net, ld_schedule(steps, chunk), x, record_spikes=False)
        assert got.accuracy == expected.accuracy(y)
        for name, values in expected.counters.per_stage.items():
            np.testing.assert_allclose(got.counters.per_stage[name], values)
    assert cache.stage_runs[-1] == 2 and cache.stage_runs[0] == 1


def test_optimize_searches_per_chunk_timesteps_on_sequences():
    """On sequence input the search keeps base_T as the chunk; its given SNN is the network
    at the input's resolution, and its choice is in budget on the validation split."""
    from ldsnn_lava.optimize import optimize

    rng = np.random.default_rng(0)
    net = Network((6,), [Stage([Dense(rng.integers(-2, 4, (8, 6)) / 4)], IF(1.0),
                               delay=rng.integers(0, 5, 8)),
                         Stage([Dense(rng.integers(-2, 4, (3, 8)) / 4)], None)],
                  input_encoding="events")
    x = (rng.random((30, 24, 6)) < 0.3).astype(np.float64)
    y = evaluate(net, Schedule.uniform(net, 4), x).predictions  # the given SNN is right
    result = optimize(net, base_T=4, val=(x, y), max_drop=10.0, work_budget=20, progress=False)
    assert result.given.schedule == Schedule.uniform(net, 4) and result.given.accuracy == 1.0
    assert result.schedule.chunk == 4 and result.chosen.accuracy >= 0.9
    assert result.chosen.cost <= result.best_uniform.cost <= result.given.cost
    check = evaluate(net, result.schedule, x, record_spikes=False)
    assert check.accuracy(y) == result.chosen.accuracy


@settings(max_examples=20, deadline=None)
@given(data=st.data(), T=st.integers(7, 10))
def test_static_input_with_delays_is_one_held_frame(data, T):
    """A static (``direct``) network with delays is the reference's frames network fed the same
    frame on every step of the window."""
    net = data.draw(temporal_networks(fixed=False, delays=True))
    frames = Network(net.input_shape, net.stages, "frames")
    static = Network(net.input_shape, net.stages, "direct")
    x = data.draw(sequences(frames, 1, min_steps=1))[:, 0]
    result = evaluate(static, Schedule.uniform(static, T), x, dtype=torch_float64(),
                      record_rasters=True)
    readout, rasters = simulate_sequence_stepwise(frames, np.repeat(x[:, None], T, axis=1))
    assert np.array_equal(result.readout, readout)
    for ours, reference in zip(result.rasters, rasters, strict=True):
        assert np.array_equal(ours, reference)
