"""Graded buffers: the scaling rule, worked examples of spikes and counters, the schedule's
limits, files, refusals and the optimizer's buffer moves.

Conformance with the references (engine vs ``simulate_layerwise`` and ``simulate_chunked``, Lava
vs engine) is in the property tests of test_engine, test_driver, test_temporal_engine and
test_lava_conformance, whose strategies draw graded gaps.
"""

import json

import numpy as np
import pytest
import torch
from ldsnn_optimize_nets import digits_snn, digits_splits

from ldsnn_lava import IF, Dense, Network, Schedule, Stage, evaluate
from ldsnn_lava.buffers import MAX_GRADED_PAYLOAD, graded_current
from ldsnn_lava.errors import InvalidOption, InvalidSchedule
from ldsnn_lava.loihi.resources import buffer_neurons
from ldsnn_lava.optimize import optimize


def test_fixed_point_scaling_rounds_halves_up():
    """(linear * t_out + t_in // 2) // t_in: 5/4 -> 1, 6/4 -> 2, -5/4 -> -1, -6/4 -> -1."""
    linear = np.array([5, 6, -5, -6, 0])
    want = np.array([1, 2, -1, -1, 0]) + 3
    got_numpy = graded_current(linear + 3, np.full(5, 3), 4, 1, fixed=True)
    got_torch = graded_current(torch.as_tensor(linear + 3.0), torch.full((5,), 3.0), 4, 1,
                               fixed=True)
    np.testing.assert_array_equal(got_numpy, want)
    np.testing.assert_array_equal(got_torch.numpy(), want)
    # float: the exact ratio, the zero-input current (biases) kept once
    np.testing.assert_array_equal(graded_current(np.array([5.0]), np.array([1.0]), 4, 1,
                                                 fixed=False), [2.0])


def _worked_net() -> Network:
    return Network((2,), [
        Stage([Dense(np.eye(2))], IF(1.0, v_init=0.0)),
        Stage([Dense(np.array([[1.0, 1.0], [1.0, -1.0], [0.0, 0.0]]))], IF(1.0, v_init=0.0)),
        Stage([Dense(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))], None),
    ])


def test_worked_example_spikes_and_counters():
    """x = [1, 0.25], T = [4, 1, 2], graded gaps, worked by hand:

    stage 0 (4 steps, IF threshold 1 from 0) fires c = [4, 1]; the graded buffer sends two
    events (payloads 4 and 1) into stage 1's single step, whose current is W c / 4 =
    [5, 3, 0] / 4 = [1.25, 0.75, 0]: spikes [1, 0, 0]. One event into the readout's 2 steps:
    current 2 * R[:, 0] = [2, 0] in its first step, 0 in its second.
    Synaptic updates: stage 1 two events x fan-out 3 = 6; readout one event x 2 = 2.
    Buffer updates: one per neuron per window, 2 and 3. A rate buffer would send
    round(1 / 4) = 0 spikes for c = 1 and round(4 / 4) = 1 for c = 4: 3 updates.
    """
    net, x = _worked_net(), np.array([[1.0, 0.25]])
    graded = evaluate(net, Schedule([4, 1, 2], "graded"), x)
    np.testing.assert_array_equal(graded.spike_counts[0], [[4, 1]])
    np.testing.assert_array_equal(graded.spike_counts[1], [[1, 0, 0]])
    np.testing.assert_array_equal(graded.readout, [[2.0, 0.0]])
    per = graded.counters.per_stage
    np.testing.assert_array_equal(per["synaptic_updates"], [0, 6, 2])
    np.testing.assert_array_equal(per["buffer_updates"], [2, 3, 0])
    np.testing.assert_array_equal(per["neurons_evaluated"], [8, 3, 4])
    rate = evaluate(net, Schedule([4, 1, 2], ["rate", "graded"]), x)
    assert rate.counters.per_stage["synaptic_updates"][1] == 3


def test_fixed_point_worked_example():
    """Integers: c = [4, 1] into T = 1: W c = [5, 3, 0], (5 + 2) // 4 = 1, (3 + 2) // 4 = 1."""
    net = Network((2,), [
        Stage([Dense(np.eye(2))], IF(1, v_init=0)),
        Stage([Dense(np.array([[1.0, 1.0], [1.0, -1.0], [0.0, 0.0]]))], IF(1, v_init=0)),
        Stage([Dense(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))], None),
    ])
    x = np.array([[1.0, 0.0]])  # stage 0: 4 spikes and none
    got = evaluate(net, Schedule([4, 1, 1], "graded"), x, precision="fixed")
    np.testing.assert_array_equal(got.spike_counts[0], [[4, 0]])
    # W c = [4, 4, 0] -> (4 + 2) // 4 = 1 each: both fire
    np.testing.assert_array_equal(got.spike_counts[1], [[1, 1, 0]])
    np.testing.assert_array_equal(got.readout, [[1.0, 1.0]])


def test_fixed_point_overflow_is_refused_up_front():
    net = Network((1,), [Stage([Dense(np.ones((1, 1)))], IF(1, v_init=0)),
                         Stage([Dense(np.full((1, 1), 2.0**40))], IF(1, v_init=0)),
                         Stage([Dense(np.ones((1, 1)))], None)])
    with pytest.raises(InvalidSchedule, match=r"stage 1: graded payloads up to T_0=2048"):
        evaluate(net, Schedule([2048, 8, 1], "graded"), np.ones((1, 1)), precision="fixed")


def test_schedule_limits_text_and_json():
    with pytest.raises(InvalidSchedule, match=r"buffer 0: a 'graded' spike carries a count of "
                                              r"at most 16777215 \(24 bits\)"):
        Schedule([MAX_GRADED_PAYLOAD + 1, 1], "graded")
    schedule = Schedule([5, 1, 3], ["graded", "rate"], "pipelined")
    assert str(schedule) == "[5 -g- 1 -r- 3] (pipelined)"
    assert Schedule.from_json(schedule.to_json()) == schedule
    assert json.loads(schedule.to_json())["buffers"] == ["graded", "rate"]
    assert schedule.with_timestep(1, 5).buffers == schedule.buffers


def test_graded_buffers_take_loihi_compartments():
    net = _worked_net()
    assert buffer_neurons(net, Schedule([4, 1, 2], ["graded", "rate"])) == [2, 3, 0]
    assert buffer_neurons(net, Schedule([2, 2, 2], "replay")) == [0, 0, 0]


def test_nir_export_refuses_graded_buffers():
    pytest.importorskip("nir")
    from ldsnn_lava.formats.nir import to_nir

    with pytest.raises(InvalidSchedule, match=r"buffer 1 is 'graded': NIR has no graded"):
        to_nir(_worked_net(), Schedule([4, 2, 2], ["rate", "graded"]))


@pytest.fixture(scope="module")
def digits():
    x_val, y_val = digits_splits()[2:4]
    return digits_snn(), (x_val, y_val)


def test_rate_only_search_is_unchanged(digits):
    net, val = digits
    default = optimize(net, base_T=6, val=val, restarts=1, progress=False)
    explicit = optimize(net, base_T=6, val=val, restarts=1, progress=False,
                        buffer_kinds=["rate"])
    assert default.schedule == explicit.schedule
    assert [p.schedule for p in default.visited] == [p.schedule for p in explicit.visited]
    assert all(_kinds(p.schedule) == {"rate"} for p in default.visited if p.kind == "ld")


def _kinds(schedule: Schedule) -> set[str]:
    return {str(b) for b in schedule.buffers}


def test_search_with_graded_buffers(digits):
    net, val = digits
    result = optimize(net, base_T=6, val=val, restarts=1, progress=False,
                      buffer_kinds=("rate", "graded"))
    kinds = set().union(*(_kinds(p.schedule) for p in result.visited
                          if p.kind == "ld"))
    assert kinds == {"rate", "graded"}
    assert result.chosen.accuracy >= result.min_accuracy
    assert result.chosen.cost <= result.best_uniform.cost
    ref = evaluate(net, result.schedule, val[0], record_spikes=False)
    assert ref.accuracy(val[1]) == result.chosen.accuracy
    only_graded = optimize(net, base_T=6, val=val, restarts=0, progress=False,
                           buffer_kinds=["graded"])
    assert all(_kinds(p.schedule) == {"graded"}
               for p in only_graded.visited if p.kind == "ld")


@pytest.mark.parametrize("kinds, message", [
    (["replay"], r"'replay' schedules are the uniform baselines"),
    (["rate", "spiky"], r"buffer kind must be one of"),
    ([], r"non-empty"),
    ("rate", r"non-empty sequence"),
])
def test_bad_buffer_kinds(digits, kinds, message):
    net, val = digits
    with pytest.raises(InvalidOption, match=message):
        optimize(net, base_T=4, val=val, buffer_kinds=kinds)


def test_brian2_refuses_graded_buffers():
    pytest.importorskip("brian2")
    from ldsnn_lava.brian2_backend.network import to_brian2

    with pytest.raises(InvalidSchedule, match=r"buffer 0 is 'graded': the Brian2 backend"):
        to_brian2(_worked_net(), Schedule([4, 1, 2], ["graded", "rate"]))
