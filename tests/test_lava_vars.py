"""The stage processes' parameters and state are Lava Vars: Var.get() and Var.set() work."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ldsnn_lava import IF, CubaLIF, Dense, Network, Schedule, Stage, evaluate

pytestmark = pytest.mark.lava


def net_of(w0: np.ndarray, neuron) -> Network:
    return Network((4,), [Stage([Dense(w0, np.array([0.25, 0.0, -0.25]))], neuron),
                          Stage([Dense(np.ones((2, 3)))], None)])


def if_voltage_after_window(w: np.ndarray, b: np.ndarray, x: np.ndarray, threshold: float,
                            steps: int) -> np.ndarray:
    """IF's v after ``steps`` steps of the constant current ``w @ x + b`` (written out here)."""
    v = np.full(len(w), 0.5 * threshold)
    for _ in range(steps):
        v = v + (w @ x + b)
        v = np.where(v >= threshold, v - threshold, v)
    return v


def started(net: Network, schedule: Schedule, x: np.ndarray, precision: str = "float"):
    from lava.magma.core.run_configs import Loihi2SimCfg
    from ldsnn_lava.processes.graph import to_lava
    from ldsnn_lava.processes.runtime import create_runtime

    runner = to_lava(net, schedule, precision)
    graph = runner.build(x)
    create_runtime(graph.input, Loihi2SimCfg(select_tag=runner.tag))
    return graph


def test_var_get_reads_parameters_and_state():
    from lava.magma.core.run_conditions import RunSteps

    w0 = np.arange(12, dtype=np.float64).reshape(3, 4) / 8
    net, schedule = net_of(w0, IF(1.0)), Schedule([3, 2], "rate")
    x = np.array([[1.0, 0.5, 0.25, 0.0], [0.0, 1.0, 0.5, 0.75]])
    graph = started(net, schedule, x)
    stage = graph.stages[0]
    try:
        graph.input.run(condition=RunSteps(num_steps=graph.num_steps))
        np.testing.assert_array_equal(stage.weights.get(), w0)
        np.testing.assert_array_equal(stage.bias.get(), [0.25, 0.0, -0.25])
        assert stage.vth.get()[0] == 1.0 and stage.v_init.get()[0] == 0.5
        np.testing.assert_array_equal(stage.window.get(), [0, 3, 5, 0])
        assert stage.timesteps.get()[0] == 3
        expected_v = if_voltage_after_window(w0, np.array([0.25, 0.0, -0.25]), x[-1], 1.0, 3)
        np.testing.assert_array_equal(stage.v.get(), expected_v)
        ref = evaluate(net, schedule, x, dtype=torch.float64)
        np.testing.assert_array_equal(stage.counts.get(), ref.spike_counts[0][-1])
        assert graph.buffers[0].timesteps.get().tolist() == [3, 2]
    finally:
        graph.input.stop()


def test_fixed_point_vars_hold_the_integer_definition():
    from lava.magma.core.run_conditions import RunSteps

    neuron = CubaLIF(threshold=3, current_decay=0.25, voltage_decay=0.5, bias=1)
    net = Network((4,), [Stage([Dense(np.ones((3, 4)))], neuron),
                         Stage([Dense(np.ones((2, 3)))], None)])
    graph = started(net, Schedule([2, 2], "rate"), np.ones((1, 4)), "fixed")
    stage = graph.stages[0]
    try:
        graph.input.run(condition=RunSteps(num_steps=graph.num_steps))
        assert [stage.vth.get()[0], stage.du.get()[0], stage.dv.get()[0],
                stage.neuron_bias.get()[0]] == [3, 1024, 2048, 1]
        state = neuron.initial_state(np.zeros(3, np.int64), fixed=True)
        for _ in range(2):
            state, _ = neuron.step(state, np.full(3, 4, np.int64), fixed=True)
        np.testing.assert_array_equal(stage.u.get(), state[0])
        np.testing.assert_array_equal(stage.v.get(), state[1])
    finally:
        graph.input.stop()


def test_var_set_of_weights_takes_effect():
    """Lava sets Vars of a started runtime only: after step 1 (stage 1 is not active yet in
    this sequential schedule), new readout weights give the engine's result for them."""
    from lava.magma.core.run_conditions import RunSteps

    readout_weights = np.arange(6, dtype=np.float64).reshape(2, 3) / 4 - 0.5
    schedule, x = Schedule([4, 2], "rate"), np.linspace(0, 1, 12).reshape(3, 4)
    net = net_of(np.full((3, 4), 0.25), IF(1.0))
    graph = started(net, schedule, x)
    try:
        graph.input.run(condition=RunSteps(num_steps=1))
        graph.stages[1].weights.set(readout_weights)
        graph.input.run(condition=RunSteps(num_steps=graph.num_steps - 1))
    finally:
        graph.input.stop()
    changed = Network((4,), [net.stages[0], Stage([Dense(readout_weights)], None)])
    ref = evaluate(changed, schedule, x, dtype=torch.float64)
    np.testing.assert_array_equal(graph.readout_sums(), ref.readout)
    assert not np.array_equal(ref.readout, evaluate(net, schedule, x, dtype=torch.float64).readout)


def test_a_stage_of_pools_only_gets_identity_vars_and_runs_exactly():
    """A netx pool layer of weight 1 is a stage of a SumPool2d alone: it holds an identity
    Scale's Vars, and Lava still equals the engine."""
    from ldsnn_lava.processes.graph import to_lava

    from ldsnn_lava import Conv2d, Flatten
    from ldsnn_lava.ops import SumPool2d

    net = Network((1, 4, 4), [Stage([Conv2d(np.ones((2, 1, 3, 3)), padding=1)], IF(4.0, 2.0)),
                              Stage([SumPool2d(2)], IF(3.0, 1.0)),
                              Stage([Flatten(), Dense(np.ones((3, 8)))], None)])
    schedule, x = Schedule([3, 2, 2], "rate"), np.arange(32.0).reshape(2, 1, 4, 4) % 3
    runner = to_lava(net, schedule, "fixed")
    graph = runner.build(x)
    np.testing.assert_array_equal(graph.stages[1].weights.init, np.ones((2, 2, 2)))
    graph.run(runner.tag)
    ref = evaluate(net, schedule, x, dtype=torch.float64, precision="fixed")
    np.testing.assert_array_equal(graph.readout_sums(), ref.readout)
    np.testing.assert_array_equal(graph.spike_counts()[1], ref.spike_counts[1])
    assert ref.spike_counts[1].sum() > 0
