"""The reset, comparison and initial-potential variants of IF and CubaLIF (the neurons of NIR
graphs and other tools): hand-checked traces, fixed point against float, and the refusals of
the Loihi-only paths."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ldsnn_lava import IF, CubaLIF, Dense, Network, Schedule, Stage
from ldsnn_lava.errors import InvalidNetwork, InvalidOption
from ldsnn_lava.formats.netx import write_network
from ldsnn_lava.loihi.constraints import check_loihi2


def trace(neuron, currents, fixed=False):
    """Spikes and potentials of one neuron over ``currents`` (a list of floats or ints)."""
    dtype = torch.int64 if fixed else torch.float64
    state = neuron.initial_state(torch.zeros(1, dtype=dtype), fixed=fixed)
    spikes, potentials = [], []
    for current in currents:
        state, s = neuron.step(state, torch.tensor([current], dtype=dtype), fixed=fixed)
        spikes.append(int(s[0]))
        potentials.append(state[-1][0].item())
    return spikes, potentials


def test_if_variants_by_hand():
    currents = [0.5, 0.5, 0.5, 0.5]
    assert trace(IF(1.0, v_init=0.0), currents) == ([0, 1, 0, 1], [0.5, 0.0, 0.5, 0.0])
    assert trace(IF(1.0, v_init=0.0, compare=">"), currents) == ([0, 0, 1, 0],
                                                                  [0.5, 1.0, 0.5, 1.0])
    assert trace(IF(1.0, v_init=0.25, reset="hard", v_reset=-0.5, compare=">"), currents) == (
        [0, 1, 0, 0], [0.75, -0.5, 0.0, 0.5])


def test_cubalif_variants_by_hand():
    """voltage_decay 0.5, no current memory, input 1.5 each step."""
    currents = [1.5, 1.5, 1.5]
    lif = dict(threshold=1.0, current_decay=1.0, voltage_decay=0.5)
    # Loihi: hard reset to 0, v > 1
    assert trace(CubaLIF(**lif), currents) == ([1, 1, 1], [0.0, 0.0, 0.0])
    # subtract: v = 1.5 -> 0.5; 0.25 + 1.5 = 1.75 -> 0.75; 0.375 + 1.5 = 1.875 -> 0.875
    assert trace(CubaLIF(**lif, reset="subtract"), currents) == ([1, 1, 1], [0.5, 0.75, 0.875])
    # snnTorch's delayed subtraction: 1.5 (fires, kept); 0.75 + 1.5 - 1 = 1.25; 0.625 + 0.5
    assert trace(CubaLIF(**lif, reset="delayed_subtract"), currents) == (
        [1, 1, 1], [1.5, 1.25, 1.125])
    # hard reset to 0.25 and v starting at -1: -0.5 + 1.5 = 1.0 (no spike at ">"), 2.0 -> 0.25
    assert trace(CubaLIF(**lif, v_reset=0.25, v_init=-1.0), currents) == (
        [0, 1, 1], [1.0, 0.25, 0.25])
    assert trace(CubaLIF(**lif, v_init=-1.0, compare=">="), currents) == (
        [1, 1, 1], [0.0, 0.0, 0.0])


variants = st.fixed_dictionaries({
    "reset": st.sampled_from(["hard", "subtract", "delayed_subtract"]),
    "v_reset": st.integers(-3, 3),
    "compare": st.sampled_from([">", ">="]),
    "v_init": st.integers(-5, 5),
    "threshold": st.integers(1, 9),
    "bias": st.integers(-2, 2),
    "current_decay": st.sampled_from([0.0, 1.0]),
    "voltage_decay": st.sampled_from([0.0, 1.0]),
})


@settings(max_examples=150, deadline=None)
@given(params=variants, currents=st.lists(st.integers(-6, 9), min_size=1, max_size=12))
def test_fixed_point_variants_equal_float_where_exact(params, currents):
    """With decays 0 or 1 and small integers nothing truncates or saturates, so the fixed-point
    definition (state 6 bits finer) must give the float definition's spikes, potentials * 64."""
    if params["reset"] != "hard":
        params["v_reset"] = 0
    neuron = CubaLIF(**params)
    float_spikes, float_v = trace(neuron, [float(c) for c in currents])
    fixed_spikes, fixed_v = trace(neuron, currents, fixed=True)
    assert fixed_spikes == float_spikes
    assert fixed_v == [v * 64 for v in float_v]


@settings(max_examples=100, deadline=None)
@given(threshold=st.integers(1, 6), v_init=st.integers(-3, 3), reset=st.sampled_from(
    ["subtract", "hard"]), v_reset=st.integers(-2, 2), compare=st.sampled_from([">", ">="]),
    currents=st.lists(st.integers(-4, 6), min_size=1, max_size=12))
def test_fixed_point_if_variants_equal_float(threshold, v_init, reset, v_reset, compare,
                                             currents):
    neuron = IF(threshold, v_init=v_init, reset=reset, v_reset=v_reset if reset == "hard" else 0,
                compare=compare)
    assert trace(neuron, currents, fixed=True) == trace(neuron, [float(c) for c in currents])


def test_bad_variants_are_refused_by_name():
    with pytest.raises(InvalidNetwork, match="IF reset must be one of 'subtract', 'hard'"):
        IF(1.0, reset="delayed_subtract")
    with pytest.raises(InvalidNetwork, match="v_reset = 0.5 needs reset='hard'"):
        CubaLIF(1.0, reset="subtract", v_reset=0.5)
    with pytest.raises(InvalidOption, match="CubaLIF compare must be one of"):
        CubaLIF(1.0, compare="=")
    with pytest.raises(InvalidNetwork, match="CubaLIF v_init must be finite"):
        CubaLIF(1.0, v_init=float("nan"))


@pytest.mark.parametrize("variant", [{"reset": "subtract"}, {"v_reset": 1.0},
                                     {"compare": ">="}, {"v_init": 2.0}])
def test_loihi_paths_refuse_variants(variant, tmp_path):
    net = Network((2,), [Stage([Dense(np.eye(2))], CubaLIF(4.0, **variant)),
                         Stage([Dense(np.eye(2))], None)])
    with pytest.raises(InvalidNetwork, match="is not Loihi's CUBA LIF"):
        write_network(net, Schedule.uniform(net, 4), tmp_path / "net.net")
    assert any("not Loihi's built-in CUBA LIF" in str(v) for v in check_loihi2(net))
