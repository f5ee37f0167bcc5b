"""The torch engine against independent oracles (tests/ldsnn_testing.py)."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldsnn_testing import (
    connectivity_ref,
    inputs,
    networks,
    schedules,
    simulate_layerwise,
    simulate_uniform_stepwise,
    synaptic_updates_ref,
)

from ldsnn_lava import IF, Dense, Network, Schedule, Stage, evaluate

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(data=st.data())
def test_uniform_schedule_equals_stepping_all_layers_together(data):
    net = data.draw(networks())
    T = data.draw(st.integers(1, 10))
    x = data.draw(inputs(net))
    readout, counts = simulate_uniform_stepwise(net, x, T)
    for dtype in (torch.float32, torch.float64):
        result = evaluate(net, Schedule.uniform(net, T), x, dtype=dtype)
        np.testing.assert_array_equal(result.readout, readout)
        for got, want in zip(result.spike_counts, counts, strict=True):
            np.testing.assert_array_equal(got, want)
        assert (result.predictions == np.argmax(readout, axis=1)).all()


@SETTINGS
@given(data=st.data())
def test_ld_schedules_equal_the_layerwise_oracle(data):
    net = data.draw(networks())
    schedule = data.draw(schedules(net, graded=True))
    x = data.draw(inputs(net))
    readout, counts, _ = simulate_layerwise(net, schedule, x)
    result = evaluate(net, schedule, x, dtype=torch.float64, batch_size=data.draw(
        st.integers(1, 4)))
    np.testing.assert_array_equal(result.readout, readout)
    for got, want in zip(result.spike_counts, counts, strict=True):
        np.testing.assert_array_equal(got, want)


@SETTINGS
@given(data=st.data())
def test_counters_equal_brute_force_counts(data):
    net = data.draw(networks())
    schedule = data.draw(schedules(net, graded=True))
    x = data.draw(inputs(net))
    counters = evaluate(net, schedule, x, dtype=torch.float64).counters
    np.testing.assert_allclose(counters.per_stage["synaptic_updates"],
                               synaptic_updates_ref(net, schedule, x), rtol=1e-12)
    neurons = [int(np.prod(net.output_shape_of(i))) for i in range(net.num_stages)]
    np.testing.assert_array_equal(counters.per_stage["neurons_evaluated"],
                                  np.multiply(neurons, schedule.timesteps))
    per_window = {"rate": lambda g: neurons[g] * schedule.timesteps[g + 1],
                  "graded": lambda g: neurons[g], "replay": lambda g: 0}
    buffers = [per_window[mode](g) for g, mode in enumerate(schedule.buffers)] + [0]
    np.testing.assert_array_equal(counters.per_stage["buffer_updates"], buffers)
    macs = connectivity_ref(net.stages[0].ops, net.input_shape).sum() * schedule.timesteps[0]
    expected_macs = macs if net.input_encoding == "direct" else 0
    assert counters.per_stage["input_macs"][0] == expected_macs
    assert counters.per_stage["input_macs"][1:].sum() == 0
    for name, values in counters.per_stage.items():
        assert counters.total[name] == pytest.approx(values.sum())


@SETTINGS
@given(data=st.data())
def test_stage_fan_out_matches_connectivity(data):
    net = data.draw(networks())
    for index, fan_out in enumerate(net.fan_outs):
        reach = connectivity_ref(net.stages[index].ops, net.input_shape_of(index))
        np.testing.assert_array_equal(fan_out.reshape(-1), reach.sum(0))


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_fixed_precision_equals_float_on_integer_if_networks(data):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sizes = [data.draw(st.integers(2, 10)) for _ in range(3)]
    net = Network((sizes[0],), [
        Stage([Dense(rng.integers(-20, 21, (sizes[1], sizes[0])))], IF(16, 8)),
        Stage([Dense(rng.integers(-20, 21, (sizes[2], sizes[1])), rng.integers(-3, 4, sizes[2]))],
              IF(24)),
        Stage([Dense(rng.integers(-9, 10, (4, sizes[2])))], None),
    ])
    schedule = data.draw(schedules(net, max_T=12))
    x = rng.integers(-4, 9, (5, sizes[0]))
    fixed = evaluate(net, schedule, x, precision="fixed")
    floating = evaluate(net, schedule, x, dtype=torch.float64)
    np.testing.assert_array_equal(fixed.readout, floating.readout)
    for a, b in zip(fixed.spike_counts, floating.spike_counts, strict=True):
        np.testing.assert_array_equal(a, b)


def test_batching_does_not_change_results():
    rng = np.random.default_rng(3)
    net = Network((20,), [Stage([Dense(rng.integers(-4, 5, (30, 20)) / 8)], IF()),
                          Stage([Dense(rng.integers(-4, 5, (10, 30)) / 8)], None)])
    x = rng.random((97, 20))
    schedule = Schedule([9, 4], "rate")
    whole = evaluate(net, schedule, x, batch_size=97)
    parts = evaluate(net, schedule, x, batch_size=10, progress=False)
    np.testing.assert_array_equal(whole.readout, parts.readout)
    np.testing.assert_array_equal(whole.spike_counts[0], parts.spike_counts[0])
    assert whole.counters.total == parts.counters.total


def test_evaluate_accepts_torch_input_and_reports_accuracy():
    net = Network((2,), [Stage([Dense(np.eye(2))], IF(1.0, 0.0)),
                         Stage([Dense(np.eye(2))], None)])
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.5]])
    result = evaluate(net, Schedule.uniform(net, 4), x)
    np.testing.assert_array_equal(result.predictions, [0, 1, 1])
    np.testing.assert_array_equal(result.spike_counts[0], [[4, 0], [0, 4], [0, 2]])
    assert result.accuracy([0, 1, 0]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="labels have shape"):
        result.accuracy([0, 1])


@pytest.mark.parametrize("bad, match", [
    (np.zeros((3, 5)), r"input must have shape \(N, 2\)"),
    (np.array([[np.nan, 0.0]]), "NaN or inf"),
    (np.zeros((0, 2)), "no samples"),
])
def test_evaluate_rejects_bad_input(bad, match):
    net = Network((2,), [Stage([Dense(np.eye(2))], IF()), Stage([Dense(np.eye(2))], None)])
    with pytest.raises(ValueError, match=match):
        evaluate(net, Schedule.uniform(net, 2), bad)


def test_evaluate_rejects_mismatched_schedule_and_options():
    net = Network((2,), [Stage([Dense(np.eye(2))], IF()), Stage([Dense(np.eye(2))], None)])
    x = np.zeros((1, 2))
    with pytest.raises(ValueError, match="schedule has 3 stages but the network has 2"):
        evaluate(net, Schedule([2, 2, 2]), x)
    with pytest.raises(ValueError, match="precision must be one of"):
        evaluate(net, Schedule([2, 2]), x, precision="half")
    with pytest.raises(ValueError, match="dtype must be"):
        evaluate(net, Schedule([2, 2]), x, dtype=torch.int32)


def test_fixed_precision_rejects_fractional_currents():
    net = Network((2,), [Stage([Dense(np.eye(2) * 0.5)], IF(2, 1)),
                         Stage([Dense(np.eye(2))], None)])
    with pytest.raises(ValueError, match="stage 0: fixed precision needs integer"):
        evaluate(net, Schedule([2, 2]), np.ones((1, 2)), precision="fixed")
    net = Network((2,), [Stage([Dense(np.eye(2))], IF(1.5, 0)), Stage([Dense(np.eye(2))], None)])
    with pytest.raises(ValueError, match="integer IF threshold"):
        evaluate(net, Schedule([2, 2]), np.ones((1, 2)), precision="fixed")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_equals_cpu():
    rng = np.random.default_rng(0)
    net = Network((16,), [Stage([Dense(rng.integers(-8, 9, (12, 16)) / 8)], IF()),
                          Stage([Dense(rng.integers(-8, 9, (5, 12)) / 8)], None)])
    x = rng.integers(-8, 9, (50, 16)) / 4
    schedule = Schedule([8, 3], "rate")
    cpu, gpu = evaluate(net, schedule, x), evaluate(net, schedule, x, device="cuda")
    np.testing.assert_array_equal(cpu.readout, gpu.readout)
    np.testing.assert_array_equal(cpu.spike_counts[0], gpu.spike_counts[0])
