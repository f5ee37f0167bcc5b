"""Sequence input and delays in the Lava processes (to_lava, step models): the same spikes,
readout and counters as the engine, sequential and pipelined; lava-dl's ntidigits spike for
spike."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldsnn_lava.processes.graph import to_lava
from ldsnn_temporal_testing import chunked_schedules, sequences, temporal_networks
from test_ntidigits import OFFSET, ntidigits  # noqa: F401  (the fixture)

from ldsnn_lava import CubaLIF, Dense, Network, Schedule, Stage, evaluate


@pytest.mark.parametrize("precision, fixed", [("float", False), ("fixed", True)])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), chunk=st.integers(1, 4), mode=st.sampled_from(["sequential",
                                                                        "pipelined"]))
def test_lava_equals_the_engine_on_sequences(precision, fixed, data, chunk, mode):
    net = data.draw(temporal_networks(fixed, refractory=False))
    x = data.draw(sequences(net, chunk, fixed))
    schedule = data.draw(chunked_schedules(net, chunk))
    schedule = Schedule(schedule.timesteps, schedule.buffers, mode, chunk)
    try:
        ref = evaluate(net, schedule, x, dtype=torch.float64, precision=precision)
    except ValueError as err:  # a scaled delay that cannot arrive within the sample
        assert "would never arrive" in str(err)
        return
    got = to_lava(net, schedule, precision).run(x)
    np.testing.assert_array_equal(got.readout, ref.readout)
    for a, b in zip(ref.spike_counts, got.spike_counts, strict=True):
        np.testing.assert_array_equal(b, a)
    for name, values in ref.counters.per_stage.items():
        np.testing.assert_allclose(got.counters.per_stage[name], values, err_msg=name)


def test_ntidigits_in_lava_spike_for_spike(ntidigits):  # noqa: F811
    """Chunks of one input step, pipelined: every Lava window is one step, so the per-window
    counts the stages record are their rasters."""
    net, x, expected = ntidigits
    lava = to_lava(net, Schedule.uniform(net, 1, mode="pipelined"), "fixed")
    graph = lava.build(x)
    graph.run(lava.tag)
    raster = graph.spike_counts()[2].T  # (242 neurons, 3000 windows of one step)
    assert np.array_equal(raster[:, :-OFFSET] > 0, expected[:, OFFSET:])
    assert not raster[:, -OFFSET:].any()
    readout = graph.readout_sums().sum(0)
    assert np.array_equal(readout, expected.reshape(11, 22, 3000).sum((1, 2)))


def test_lava_refuses_what_it_does_not_model():
    net = Network((2,), [Stage([Dense(np.eye(2))], CubaLIF(1.0, refractory=2)),
                         Stage([Dense(np.eye(2))], None)], input_encoding="events")
    with pytest.raises(ValueError, match="do not model a refractory period"):
        to_lava(net, Schedule.uniform(net, 2)).run(np.zeros((1, 4, 2)))
    delayed = Network((2,), [Stage([Dense(np.eye(2))], CubaLIF(1.0), delay=[1, 0]),
                             Stage([Dense(np.eye(2))], None)], input_encoding="events")
    with pytest.raises(ValueError, match="run on the step models"):
        to_lava(delayed, Schedule.uniform(delayed, 2), model="window")


@pytest.mark.slow  # lava-dl's DelayDense rebuilds 63 weight matrices a step: ~30 s per 300 steps
def test_ntidigits_agrees_with_lava_dls_own_netx_network(ntidigits):  # noqa: F811
    """lava-dl's netx.hdf5.Network (its last average layer skipped, as lava-dl cannot load it)
    run in Lava on the first 300 input steps: our spikes 3 steps earlier (one per hop)."""
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io
    from test_ntidigits import ntidigits_file

    net, x, _ = ntidigits
    steps = 300
    ours = evaluate(net, Schedule.uniform(net, steps), x[:, :steps], precision="fixed",
                    record_rasters=True).rasters[2][0].T
    theirs_net = netx.hdf5.Network(net_config=str(ntidigits_file("ntidigits.net")), num_layers=5)
    source = io.source.RingBuffer(data=x[0, :steps].reshape(steps, -1).T)
    sink = io.sink.RingBuffer(shape=theirs_net.out_layer.shape, buffer=steps)
    source.s_out.connect(theirs_net.inp)
    theirs_net.out.connect(sink.a_in)
    try:
        theirs_net.run(condition=RunSteps(num_steps=steps),
                       run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        theirs = sink.data.get() > 0
    finally:
        theirs_net.stop()
    assert ours.sum() > 1000
    assert np.array_equal(theirs[:, 3:], ours[:, :-3]) and not theirs[:, :3].any()
