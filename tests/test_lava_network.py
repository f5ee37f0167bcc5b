"""An LD-SNN as one Lava process: Lava's RingBuffer -> LDNetwork -> Lava's sink and Monitor give
the engine's spikes and readout exactly, float and fixed; stages built from Lava's own Dense,
Conv and LIFReset do too; the windows absorb their hop delay."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lava_conformance_nets import random_inputs, random_network, random_schedule

from ldsnn_lava import IF, Conv2d, CubaLIF, Dense, Flatten, Network, Schedule, Stage, evaluate
from ldsnn_lava.clock import input_windows, period_of, stage_windows, total_steps
from ldsnn_lava.errors import InvalidNetwork, InvalidSchedule, LavaRunError

TAG = {"float": "floating_pt", "fixed": "fixed_pt"}


def run_in_lava_script(net: Network, schedule: Schedule, x: np.ndarray, precision: str,
                       lava_stages=False, probe_stage: int = 0):
    """A Lava script: RingBuffer -> LDNetwork -> sink RingBuffer; a Monitor on one stage's
    spikes and one on its voltage; Var.get() of its weights. Returns what they recorded."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.monitor.process import Monitor
    from ldsnn_lava.processes import LDNetwork

    network = LDNetwork(net=net, schedule=schedule, precision=precision, lava_stages=lava_stages)
    steps = network.num_steps(len(x))
    source = Source(data=network.source_data(x))
    sink = Sink(shape=(net.num_classes,), buffer=steps)
    source.s_out.connect(network.s_in)
    network.s_out.connect(sink.a_in)
    stage = network.stages[probe_stage]
    spikes, voltage = Monitor(), Monitor()
    if hasattr(stage, "neuron"):  # built from Lava's Dense/Conv and LIFReset
        spikes.probe(stage.neuron.s_out, steps)
        voltage.probe(stage.neuron.v, steps)
    else:
        spikes.probe(stage.s_out, steps)
        voltage.probe(stage.v, steps)
    try:
        network.run(condition=RunSteps(num_steps=steps),
                    run_cfg=Loihi2SimCfg(select_tag=TAG[precision]))
        out = sink.data.get()
        raster = next(iter(spikes.get_data().values()))
        v = next(iter(voltage.get_data().values()))["v"]
        if hasattr(stage, "synapse"):  # Lava's Dense has 'weights', its Conv 'weight'
            synapse = stage.synapse
            weights = (synapse.weights if hasattr(synapse, "weights") else synapse.weight).get()
        else:
            weights = stage.weights.get()
    finally:
        network.stop()
    raster = np.moveaxis(next(iter(raster.values())), 0, -1)
    if hasattr(stage, "output") and raster.ndim == 4:  # Lava's Conv: (W, H, C) -> (C, H, W)
        raster = raster.transpose(2, 1, 0, 3)
    return network, network.readout_sums(out), network.spike_counts(probe_stage, raster), v, \
        weights


def assert_equals_engine(net, schedule, x, precision, lava_stages=False, probe_stage=0):
    ref = evaluate(net, schedule, x, dtype=torch.float64, precision=precision)
    network, readout, counts, v, _ = run_in_lava_script(net, schedule, x, precision, lava_stages,
                                                        probe_stage)
    np.testing.assert_array_equal(readout, ref.readout, err_msg="readout sums")
    np.testing.assert_array_equal(readout.argmax(axis=1), ref.predictions)
    np.testing.assert_array_equal(counts, ref.spike_counts[probe_stage],
                                  err_msg=f"spike counts of stage {probe_stage}")
    assert v.shape[0] == network.num_steps(len(x))
    assert np.prod(v.shape[1:]) == np.prod(net.output_shape_of(probe_stage))
    return network


cases = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "arch": st.sampled_from(["dense", "conv"]),
    "neuron": st.sampled_from(["IF", "CubaLIF"]),
    "encoding": st.sampled_from(["direct", "rate"]),
    "mode": st.sampled_from(["sequential", "pipelined"]),
    "uniform": st.booleans(),
})


@pytest.mark.lava
@pytest.mark.parametrize("precision", ["float", "fixed"])
@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_ringbuffer_ldnetwork_sink_monitor_equal_the_engine(precision, case):
    fixed = precision == "fixed"
    net = random_network(case["seed"], case["arch"], case["neuron"], fixed, case["encoding"])
    schedule = random_schedule(case["seed"], net.num_stages, case["mode"], case["uniform"],
                               graded=True)
    x = random_inputs(case["seed"], net, 3, fixed)
    assert_equals_engine(net, schedule, x, precision, probe_stage=case["seed"] % 2)


def lava_friendly_net(seed: int, fixed: bool, encoding: str) -> Network:
    """An IF conv stage (ours), then a strided Conv2d, a Flatten+Dense and a Dense stage of
    CubaLIF neurons without synaptic bias (Lava's own processes), then our readout."""
    rng = np.random.default_rng(seed)
    scale = 1 if fixed else 0.25

    def weights(*shape):
        return rng.integers(-4, 5, shape) * scale

    def lif():
        return CubaLIF(3 * scale, float(rng.choice([0.25, 1.0])), 0.125, scale)

    return Network((1, 5, 5), [Stage([Conv2d(weights(2, 1, 3, 3), padding=1)],
                                     IF(2 * scale, v_init=scale)),
                               Stage([Conv2d(weights(3, 2, 3, 3), stride=2)], lif()),
                               Stage([Flatten(), Dense(weights(7, 12))], lif()),
                               Stage([Dense(weights(4, 7))], lif()),
                               Stage([Dense(weights(3, 4))], None)], encoding)


@pytest.mark.lava
@pytest.mark.parametrize("precision", ["float", "fixed"])
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), encoding=st.sampled_from(["direct", "rate"]),
       mode=st.sampled_from(["sequential", "pipelined"]),
       steps=st.lists(st.integers(1, 4), min_size=5, max_size=5), probe=st.integers(1, 3))
def test_stages_from_lavas_dense_conv_and_lif_equal_the_engine(precision, seed, encoding, mode,
                                                               steps, probe):
    fixed = precision == "fixed"
    net = lava_friendly_net(seed, fixed, encoding)
    schedule = Schedule(steps, "rate", mode)
    x = np.random.default_rng(seed).integers(0, 5, (3, 1, 5, 5)) * (
        1.0 if fixed and encoding == "direct" else 0.25)
    network = assert_equals_engine(net, schedule, x, precision, lava_stages=True,
                                   probe_stage=probe)
    assert network.proc_params["lava_stages"] == (1, 2, 3)
    assert network.delays == [0, 1, 1, 1, 0]


@pytest.mark.lava
def test_var_get_of_lava_and_ld_stage_weights():
    net = lava_friendly_net(0, True, "direct")
    x = np.ones((1, 1, 5, 5))
    _, _, _, _, weights = run_in_lava_script(net, Schedule([2] * 5, "rate"), x, "fixed", True, 3)
    np.testing.assert_array_equal(weights, 2 * net.stages[3].ops[0].weight)  # weight_exp = -1
    _, _, _, v, weights = run_in_lava_script(net, Schedule([2] * 5, "rate"), x, "fixed", True, 0)
    np.testing.assert_array_equal(weights, net.stages[0].ops[0].weight)
    assert v.shape[0] == 13 and np.prod(v.shape[1:]) == 50  # one period: 5 x 2 + 3 delays


@pytest.mark.lava
def test_lava_stages_refused_with_the_reason():
    from ldsnn_lava.processes import LDNetwork

    net = lava_friendly_net(0, False, "rate")
    schedule = Schedule([2] * 5, "rate")
    with pytest.raises(InvalidNetwork, match="stage 0 .*input port"):
        LDNetwork(net=net, schedule=schedule, lava_stages=[0])
    biased = Network((4,), [Stage([Dense(np.ones((3, 4)), np.ones(3))], CubaLIF(1.0)),
                            Stage([Dense(np.ones((2, 3)))], IF(1.0)),
                            Stage([Dense(np.ones((2, 2)))], None)])
    with pytest.raises(InvalidNetwork, match="stage 0 .*bias"):
        LDNetwork(net=biased, schedule=Schedule([2] * 3, "rate"), lava_stages=[0])
    with pytest.raises(InvalidNetwork, match="stage 1 .*not CubaLIF"):
        LDNetwork(net=biased, schedule=Schedule([2] * 3, "rate"), lava_stages=[1])
    assert LDNetwork(net=biased, schedule=Schedule([2] * 3, "rate"),
                     lava_stages=True).proc_params["lava_stages"] == ()


@pytest.mark.lava
def test_an_error_inside_an_ldnetwork_raises(monkeypatch):
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer as Source
    from ldsnn_lava.processes import LDNetwork
    from ldsnn_lava.processes.ld_buffer.models import PyLDBufferModelFloat

    def failing_step(self):
        raise OverflowError("injected")

    monkeypatch.setattr(PyLDBufferModelFloat, "step", failing_step)
    net = lava_friendly_net(1, False, "rate")
    network = LDNetwork(net=net, schedule=Schedule([2] * 5, "rate"))
    Source(data=network.source_data(np.zeros((2, 1, 5, 5)))).s_out.connect(network.s_in)
    with pytest.raises(LavaRunError, match="'buffer.' .* at time step 1: OverflowError"):
        network.run(condition=RunSteps(num_steps=network.num_steps(2)),
                    run_cfg=Loihi2SimCfg(select_tag="floating_pt"))
    network.stop()


# --- windows with runtime delays (no Lava) ---------------------------------------------------

def test_windows_absorb_hop_delays():
    schedule = Schedule([3, 1, 2], "rate")
    seq = stage_windows(schedule, delays=[0, 1, 1])
    assert [(w.offset, w.length, w.period) for w in seq] == [(0, 3, 8), (4, 1, 8), (6, 2, 8)]
    assert [(w.offset, w.length) for w in input_windows(schedule, [0, 1, 1])] == [
        (0, 3), (3, 1), (5, 2)]
    pipe = Schedule([3, 1, 2], "rate", "pipelined")
    assert period_of(pipe, delays=[0, 1, 2]) == 4
    assert [(w.offset, w.length, w.lag) for w in stage_windows(pipe, delays=[0, 1, 2])] == [
        (0, 3, 0), (1, 1, 1), (2, 2, 2)]
    assert total_steps(pipe, 5, delays=[0, 1, 2]) == 7 * 4
    assert stage_windows(schedule) == stage_windows(schedule, delays=[0, 0, 0])
    with pytest.raises(InvalidSchedule, match="one per stage"):
        stage_windows(schedule, delays=[1, 1])
    with pytest.raises(InvalidSchedule, match="step clock"):
        stage_windows(schedule, "window", delays=[0, 1, 1])
