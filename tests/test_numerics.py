"""The overflow bounds of ldsnn_lava.numerics are true bounds: on random networks, schedules and
inputs, no current, membrane state or readout sum ever exceeds them (stepped with the neuron
definitions in float64). The engine skips its run-time checks on their word, so an
underestimate would let an overflow through unseen."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from ldsnn_testing import inputs, networks, schedules

from ldsnn_lava.engine import StageEngine, run_batch
from ldsnn_lava.numerics import current_bounds, stages_to_watch, state_bound
from ldsnn_lava.options import InputEncoding
from ldsnn_lava.validate import inputs as check_inputs


def _trace(neuron, currents: torch.Tensor) -> float:
    """The largest |state| over a window, stepping the neuron's own definition."""
    state, largest = neuron.initial_state(currents[0]), 0.0
    for current in currents:
        state, _ = neuron.step(state, current)
        largest = max([largest] + [float(s.abs().max()) for s in state])
    return largest


def _stage_currents(engine: StageEngine, schedule, x: torch.Tensor) -> list[torch.Tensor]:
    """Each stage's currents over its whole window, ``(T_l, B, N)``, as the engine computes
    them in :func:`run_batch` (one chunk per window, so each stage's hook call sees it all)."""
    currents: dict[int, torch.Tensor] = {}
    direct = engine.net.input_encoding == InputEncoding.DIRECT

    def record(stage, first, rows, inputs, out):
        assert first == 0 and rows == slice(0, x.shape[0])
        currents[stage] = engine.currents(stage, inputs, spikes=not (stage == 0 and direct))

    run_batch(engine, schedule, x, chunk=(x.shape[0], max(schedule.timesteps)), on_chunk=record)
    return [currents[k] for k in range(len(schedule.timesteps))]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_bounds_hold_on_random_networks(data):
    net = data.draw(networks())
    schedule = data.draw(schedules(net))
    x = data.draw(inputs(net))
    checked = check_inputs(x, net)
    currents_bound = current_bounds(net, checked.magnitude)
    engine = StageEngine(net, dtype=torch.float64)
    for stage, (T, currents) in enumerate(zip(schedule.timesteps, _stage_currents(
            engine, schedule, checked.x), strict=True)):
        assert currents.shape[0] == T
        assert float(currents.abs().max()) <= currents_bound[stage] * (1 + 1e-12) + 1e-12
        neuron = net.stages[stage].neuron
        bound = state_bound(neuron, T, currents_bound[stage])
        if neuron is None:
            assert float(currents.sum(0).abs().max()) <= bound * (1 + 1e-12) + 1e-12
            break
        assert _trace(neuron, currents) <= bound * (1 + 1e-12) + 1e-12


def test_small_networks_are_not_watched_and_huge_weights_are():
    from ldsnn_lava import IF, Dense, Network, Stage

    net = Network((3,), [Stage([Dense(np.ones((2, 3)))], IF()), Stage([Dense(np.ones((2, 2)))],
                                                                      None)])
    assert stages_to_watch(net, [100, 100], current_bounds(net, 10.0), torch.float32) == \
        [False, False]
    assert stages_to_watch(net, [100, 100], current_bounds(net, 1e36), torch.float32) == \
        [True, False]
    assert stages_to_watch(net, [100, 100], current_bounds(net, 1e36), torch.float64) == \
        [False, False]
