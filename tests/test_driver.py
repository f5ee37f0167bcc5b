"""The evaluation driver: chunks, batches, kernel paths and starting points never change
results; fixed point picks float32 only where bounds prove it exact; engines are built once."""

import gc
import weakref
from contextlib import nullcontext
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldsnn_testing import inputs, networks, schedules, simulate_layerwise

from ldsnn_lava import IF, AvgPool2d, Conv2d, Dense, Flatten, Network, Schedule, Stage, SumPool2d
from ldsnn_lava.engine import StageEngine, driver, evaluate, native, run_batch, stages
from ldsnn_lava.engine.stages import EXACT_FLOAT32, partial_sum_bound

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def run_split(engine, schedule, x, batch, chunk):
    """Readout and spike counts of ``x`` in batches of ``batch``, chunks of ``chunk``
    (samples, steps)."""
    readouts, counts = [], []
    for begin in range(0, len(x), batch):
        states = run_batch(engine, schedule, torch.as_tensor(x[begin:begin + batch]),
                           chunk=chunk)
        readouts.append(states[-1].readout.numpy())
        counts.append([engine.counts(k, s).numpy() for k, s in enumerate(states[:-1])])
    return np.concatenate(readouts), [np.concatenate(c) for c in zip(*counts, strict=True)]


@SETTINGS
@given(data=st.data())
def test_chunks_batches_and_kernel_paths_do_not_change_results(data):
    net = data.draw(networks())
    schedule = data.draw(schedules(net, graded=True))
    x = data.draw(inputs(net))
    readout, counts, _ = simulate_layerwise(net, schedule, x)
    batch = data.draw(st.integers(1, 6))
    chunk = (data.draw(st.integers(1, 6)), data.draw(st.integers(1, 9)))
    torch_path = data.draw(st.booleans())
    with mock.patch.object(native, "library", lambda: None) if torch_path else nullcontext():
        engine = StageEngine(net, dtype=torch.float64)
        got_readout, got_counts = run_split(engine, schedule, x, batch, chunk)
    np.testing.assert_array_equal(got_readout, readout)
    for got, want in zip(got_counts, counts, strict=True):
        np.testing.assert_array_equal(got, want)


@SETTINGS
@given(data=st.data())
def test_starting_from_spike_counts_equals_the_whole_run(data):
    """The prefix cache's path: stages k.. from stage k-1's counts behind a rate or graded
    buffer."""
    net = data.draw(networks())
    schedule = data.draw(schedules(net)).with_timestep(0, 1)
    schedule = Schedule(schedule.timesteps, data.draw(st.sampled_from(["rate", "graded"])))
    x = torch.as_tensor(data.draw(inputs(net)))
    engine = StageEngine(net, dtype=torch.float64)
    whole = run_batch(engine, schedule, x)
    k = data.draw(st.integers(1, net.num_stages - 1))
    part = run_batch(engine, schedule, start=k, start_counts=engine.counts(k - 1, whole[k - 1]),
                     chunk=(data.draw(st.integers(1, 6)), data.draw(st.integers(1, 5))))
    assert part[:k] == [None] * k
    assert torch.equal(part[-1].readout, whole[-1].readout)
    for stage in range(k, net.num_stages - 1):
        assert torch.equal(part[stage].counts, whole[stage].counts)


def test_a_stage_carries_its_state_from_chunk_to_chunk():
    """The stage step API: (state, input chunk) -> (state, output chunk)."""
    rng = np.random.default_rng(0)
    net = Network((6,), [Stage([Dense(rng.integers(-4, 5, (5, 6)) / 4)], IF()),
                         Stage([Dense(rng.integers(-4, 5, (3, 5)) / 4)], None)])
    engine = StageEngine(net)
    spikes = torch.as_tensor(rng.random((9, 2, 6)) < 0.5, dtype=torch.float32)
    whole = engine.start(0, 2)
    out = engine.step(0, whole, spikes)
    chunked = engine.start(0, 2)
    parts = [engine.step(0, chunked, spikes[a:b]) for a, b in ((0, 2), (2, 3), (3, 9))]
    assert torch.equal(torch.cat(parts), out) and out.shape == (9, 2, 5)
    assert torch.equal(chunked.counts, whole.counts) and chunked.steps == whole.steps == 9
    assert torch.equal(chunked.counts.view(2, 5), out.sum(0).int())


def fixed_net(rng, scale: int, sizes=(12, 16, 8)) -> Network:
    """An integer IF network whose weights reach about ``scale``."""
    return Network((sizes[0],), [
        Stage([Dense(rng.integers(-scale, scale + 1, (sizes[1], sizes[0])))], IF(4 * scale)),
        Stage([Dense(rng.integers(-scale, scale + 1, (sizes[2], sizes[1])),
                     rng.integers(-scale, scale + 1, sizes[2]))], IF(3 * scale, scale)),
        Stage([Dense(rng.integers(-scale, scale + 1, (4, sizes[2])))], None),
    ])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), exponent=st.integers(2, 27), data=st.data())
def test_fixed_point_is_exact_on_both_sides_of_the_float32_bound(seed, exponent, data):
    """Weights up to 2**27: stages whose partial sums can pass 2**24 run in float64, the rest
    in float32, and all agree with the float64 evaluation (exact for these integers)."""
    rng = np.random.default_rng(seed)
    net = fixed_net(rng, 2**exponent)
    engine = StageEngine(net, precision="fixed")
    for k in (1, 2):
        bound = partial_sum_bound(net.stages[k].ops, net.input_shape_of(k))
        assert engine.stages[k].dtype == (torch.float32 if bound < EXACT_FLOAT32
                                          else torch.float64)
    assert not engine.stages[1].check_integer and engine.stages[0].check_integer
    schedule = data.draw(schedules(net, max_T=10))
    x = rng.integers(-4, 9, (5, 12))
    fixed = evaluate(net, schedule, x, precision="fixed")
    floating = evaluate(net, schedule, x, dtype=torch.float64)
    np.testing.assert_array_equal(fixed.readout, floating.readout)
    for a, b in zip(fixed.spike_counts, floating.spike_counts, strict=True):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), exponent=st.integers(0, 22), data=st.data())
def test_direct_input_runs_in_float32_while_its_integers_keep_sums_exact(seed, exponent, data):
    """Stage 0 under direct input in fixed point: integer inputs up to ``direct_input_bound``
    (the largest keeping every partial sum below 2**24) take its float32 ops, larger ones the
    float64 path, and both agree with the float64 evaluation (exact for these integers)."""
    rng = np.random.default_rng(seed)
    net = fixed_net(rng, 2**exponent)
    compiled = StageEngine(net, precision="fixed").stages[0]
    bound = compiled.direct_input_bound
    assert (compiled.direct_ops is not None) == (bound >= 1)  # none when even 1 is too large
    assert bound == 0 or partial_sum_bound(net.stages[0].ops, (12,), bound) < EXACT_FLOAT32
    assert partial_sum_bound(net.stages[0].ops, (12,), bound + 1) >= EXACT_FLOAT32
    schedule = data.draw(schedules(net, max_T=6))
    decisions, decide = [], driver._integers_within

    def recorded(values, limit):
        decisions.append(decide(values, limit))
        return decisions[-1]

    for magnitude, float32 in ((bound, True), (bound + 1, False))[0 if bound else 1:]:
        x = rng.integers(-magnitude, magnitude + 1, (5, 12))
        x[0, 0] = magnitude
        decisions.clear()
        with mock.patch.object(driver, "_integers_within", recorded):
            fixed = evaluate(net, schedule, x, precision="fixed")
        assert all(d == float32 for d in decisions) and (decisions or not bound)
        floating = evaluate(net, schedule, x, dtype=torch.float64)
        np.testing.assert_array_equal(fixed.readout, floating.readout)
        for a, b in zip(fixed.spike_counts, floating.spike_counts, strict=True):
            np.testing.assert_array_equal(a, b)


def test_partial_sum_bound_covers_pooling_and_biases():
    ops = [SumPool2d(2), Conv2d(np.array([[[[3.0, -5.0]]]]), np.array([-7.0]))]
    assert partial_sum_bound(ops, (1, 4, 4)) == 4 * (3 + 5) + 7
    assert partial_sum_bound([Flatten(), Dense(np.array([[2.0, -1.0]]))], (2,), 10) == 30


def test_fractional_currents_behind_spikes_are_refused_by_stage():
    net = Network((4,), [Stage([Dense(np.eye(4) * 2)], IF(1, 0)),
                         Stage([Dense(np.full((3, 4), 1.0) - np.eye(3, 4) / 2)], IF(1, 0)),
                         Stage([Dense(np.eye(3))], None)])
    assert StageEngine(net, precision="fixed").stages[1].check_integer
    with pytest.raises(ValueError, match="stage 1: fixed precision needs integer"):
        evaluate(net, Schedule.uniform(net, 3), np.ones((2, 4)), precision="fixed")
    pooled = Network((1, 4, 4), [Stage([Conv2d(np.ones((1, 1, 1, 1)))], IF(1, 0)),
                                 Stage([AvgPool2d(2), Flatten(), Dense(np.ones((2, 4)))], None)])
    assert StageEngine(pooled, precision="fixed").stages[1].check_integer


def test_engines_are_built_once_per_network_and_options_and_go_with_it():
    net = fixed_net(np.random.default_rng(1), 3)
    engine = StageEngine.of(net)
    assert StageEngine.of(net, "cpu", torch.float32, "float") is engine
    assert StageEngine.of(net, precision="fixed") is not engine
    assert StageEngine.of(net, dtype=torch.float64) is not engine
    gone = weakref.ref(net)
    del net, engine
    gc.collect()
    assert gone() is None


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_event_driven_and_dense_products_agree_in_fixed_point(seed, data):
    """In a proved-exact fixed-point stage a Dense adds only its non-zero inputs' weights when
    few are non-zero: forcing that path always, or never, gives the same result."""
    rng = np.random.default_rng(seed)
    net = fixed_net(rng, 7, sizes=(40, 300, 260))
    schedule = data.draw(schedules(net, max_T=6))
    x = rng.integers(-4, 9, (7, 40))
    results = []
    for density in (1.0, 0.0):
        with mock.patch.object(stages, "EVENT_DRIVEN_DENSITY", density):
            results.append(evaluate(net, schedule, x, precision="fixed",
                                    batch_size=data.draw(st.integers(1, 7))))
    floating = evaluate(net, schedule, x, dtype=torch.float64)
    for result in results:
        np.testing.assert_array_equal(result.readout, floating.readout)
        for a, b in zip(result.spike_counts, floating.spike_counts, strict=True):
            np.testing.assert_array_equal(a, b)
