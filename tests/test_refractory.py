"""CubaLIF's refractory period: Lava's own LIFRefractory process is the oracle (float), and the
fixed-point rule is Lava's bit-accurate LIF with the same holding of v."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldsnn_lava import CubaLIF


def _run_definition(neuron, currents, fixed=False):
    state = neuron.initial_state(currents[0], fixed=fixed)
    spikes, voltages = [], []
    for current in currents:
        state, s = neuron.step(state, current, fixed=fixed)
        spikes.append(s)
        voltages.append(state[1])
    return np.array(spikes), np.array(voltages)


def _run_lava_refractory(neuron, currents):
    """Lava 0.10's LIFRefractory (floating_pt) fed ``currents`` (T, n) straight into a_in."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIFRefractory

    steps, size = currents.shape
    source = Source(data=currents.T.astype(float))
    lif = LIFRefractory(shape=(size,), du=neuron.current_decay, dv=neuron.voltage_decay,
                        bias_mant=neuron.bias, vth=neuron.threshold,
                        refractory_period=neuron.refractory)
    sink = Sink(shape=(size,), buffer=steps)
    source.s_out.connect(lif.a_in)
    lif.s_out.connect(sink.a_in)
    try:
        lif.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="floating_pt"))
        return sink.data.get().T > 0
    finally:
        lif.stop()


def test_refractory_zero_is_the_plain_neuron():
    rng = np.random.default_rng(0)
    currents = rng.normal(0.4, 1.0, size=(40, 16))
    plain = CubaLIF(1.0, 0.2, 0.1, bias=0.05)
    assert len(plain.initial_state(currents[0])) == 2
    spikes, _ = _run_definition(plain, currents)
    assert spikes.any()
    held, _ = _run_definition(CubaLIF(1.0, 0.2, 0.1, bias=0.05, refractory=3), currents)
    assert held.sum() < spikes.sum()


@pytest.mark.parametrize("refractory", [1, 2, 5])
def test_float_refractory_matches_lava_lifrefractory(refractory):
    rng = np.random.default_rng(refractory)
    currents = np.round(rng.normal(0.3, 0.6, size=(60, 12)), 3)
    neuron = CubaLIF(threshold=1.0, current_decay=0.25, voltage_decay=0.125, bias=0.125,
                     refractory=refractory)
    ours, _ = _run_definition(neuron, currents)
    assert ours.sum() > 10
    assert np.array_equal(ours, _run_lava_refractory(neuron, currents))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2 ** 16 - 1))
def test_fixed_refractory_holds_v_and_spikes_no_closer_than_the_period(refractory, seed):
    """Fixed point: v is 0 on every held step, u keeps integrating, and two spikes of a
    neuron are always more than ``refractory`` steps apart."""
    rng = np.random.default_rng(seed)
    currents = rng.integers(-20, 80, size=(50, 8))
    neuron = CubaLIF(threshold=60, current_decay=1024 / 4096, voltage_decay=512 / 4096,
                     refractory=refractory)
    spikes, voltages = _run_definition(neuron, currents.astype(np.int64), fixed=True)
    plain, _ = _run_definition(CubaLIF(60, 1024 / 4096, 512 / 4096), currents.astype(np.int64),
                               fixed=True)
    for n in range(currents.shape[1]):
        times = np.flatnonzero(spikes[:, n])
        assert np.all(np.diff(times) > refractory)
        for t in times:
            assert not voltages[t + 1:t + 1 + refractory, n].any()
        if len(times):  # the first spike is the plain neuron's first spike
            assert times[0] == np.flatnonzero(plain[:, n])[0]


def test_refractory_must_be_a_nonnegative_int():
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="refractory must be an int >= 0"):
            CubaLIF(1.0, refractory=bad)
