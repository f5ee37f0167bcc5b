"""netx export of fixed-point LD-SNNs: bit-exact round trip, lava-dl loads it, clear errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldsnn_lava import (
    IF,
    Conv2d,
    CubaLIF,
    Dense,
    Flatten,
    Network,
    Scale,
    Schedule,
    Stage,
    evaluate,
)
from ldsnn_lava.formats.netx import load_netx_with_schedule, read_schedule
from ldsnn_lava.formats.netx import write_network as write_netx


def _lif(rng, bias=0.0, full_current_decay=True):
    return CubaLIF(threshold=int(rng.integers(10, 60)),
                   current_decay=1.0 if full_current_decay else int(rng.integers(0, 4096)) / 4096,
                   voltage_decay=int(rng.integers(0, 4097)) / 4096, bias=bias)


def _net(seed: int) -> Network:
    rng = np.random.default_rng(seed)
    w = lambda *shape: rng.integers(-40, 41, shape).astype(float)  # noqa: E731
    return Network((2, 7, 7), [
        Stage([Scale(float(rng.integers(1, 5)), float(rng.integers(-3, 4)))], _lif(rng)),
        Stage([Conv2d(w(3, 2, 3, 3), w(3), stride=2, padding=1)], _lif(rng)),
        Stage([Flatten(), Dense(w(9, 48))], _lif(rng, float(rng.integers(-5, 6)), False)),
        Stage([Dense(w(4, 9))], None),
    ], name="tiny")


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16), steps=st.lists(st.integers(1, 6), min_size=4, max_size=4),
       mode=st.sampled_from(["sequential", "pipelined"]))
def test_round_trip_is_bit_exact(tmp_path_factory, seed, steps, mode):
    net = _net(seed)
    counted = "graded" if seed % 2 else "rate"
    buffers = ["replay" if a == b else counted for a, b in zip(steps, steps[1:], strict=False)]
    schedule = Schedule(steps, buffers, mode)
    path = tmp_path_factory.mktemp("x") / "net.net"
    write_netx(net, schedule, path)
    net2, schedule2 = load_netx_with_schedule(path)
    assert schedule2 == schedule
    x = np.random.default_rng(seed).integers(0, 8, (16, 2, 7, 7)).astype(float)
    a = evaluate(net, schedule, x, precision="fixed")
    b = evaluate(net2, schedule2, x, precision="fixed")
    np.testing.assert_array_equal(a.readout, b.readout)
    for ours, theirs in zip(a.spike_counts, b.spike_counts, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_schedule_group_layout(tmp_path):
    net, schedule = _net(1), Schedule([4, 4, 3, 2], ["replay", "rate", "rate"], "pipelined")
    path = tmp_path / "n.net"
    write_netx(net, schedule, path)
    with h5py.File(path) as f:
        group = f["ldsnn"]
        assert group.attrs["version"] == 1
        assert list(group["timesteps"][()]) == [4, 4, 3, 2]
        assert [b.decode() for b in group["buffers"][()]] == ["replay", "rate", "rate"]
        assert list(group["sequential/offsets"][()]) == [0, 4, 8, 11]
        assert int(group["sequential/period"][()]) == 13
        assert list(group["pipelined/lags"][()]) == [0, 1, 2, 3]
        assert int(group["pipelined/period"][()]) == 4
        assert list(group["stage_layers"][()]) == [0, 1, 3, 4]  # flatten is layer 2
        assert [f[f"layer/{i}/type"][0] for i in range(5)] == [
            b"input", b"conv", b"flatten", b"dense", b"dense"]
    assert read_schedule(path) == schedule


def test_lava_dl_loads_the_exported_file(tmp_path):
    from lava.lib.dl import netx

    path = tmp_path / "n.net"
    write_netx(_net(2), Schedule([3, 3, 2, 2], ["replay", "rate", "replay"]), path)
    lava_net = netx.hdf5.Network(net_config=str(path))
    assert len(lava_net) == 4
    assert [type(layer).__name__ for layer in lava_net.layers] == ["Input", "Conv", "Dense",
                                                                  "Dense"]
    assert lava_net.layers[1].synapse.weight.init.shape == (3, 3, 3, 2)  # lava's (out, x, y, in)


@pytest.mark.parametrize("change, message", [
    (lambda s: Stage(s.ops, IF(threshold=30.0), s.name), "IF neurons"),
    (lambda s: Stage([Conv2d(s.ops[0].weight + 0.5, stride=2, padding=1)], s.neuron), "integers"),
])
def test_refuses_what_netx_cannot_hold(tmp_path, change, message):
    net = _net(3)
    stages = list(net.stages)
    stages[1] = change(stages[1])
    bad = Network(net.input_shape, stages)
    with pytest.raises(ValueError, match=f"stage 1.*{message}"):
        write_netx(bad, Schedule.uniform(bad, 2), tmp_path / "bad.net")
    assert not (tmp_path / "bad.net").exists()


def test_missing_schedule_is_a_clear_error(tmp_path):
    from ldsnn_lava.zoo import lava_dl_mnist_path

    with pytest.raises(ValueError, match="no LD schedule"):
        read_schedule(lava_dl_mnist_path())


def test_refuses_a_readout_bias(tmp_path):
    net = _net(3)
    readout = net.stages[-1].ops[-1]
    biased = Dense(readout.weight, np.ones(readout.weight.shape[0]))
    stages = [*net.stages[:-1], Stage([*net.stages[-1].ops[:-1], biased], None)]
    bad = Network(net.input_shape, stages)
    with pytest.raises(ValueError, match=f"stage {bad.num_stages - 1}.*readout bias"):
        write_netx(bad, Schedule.uniform(bad, 2), tmp_path / "bad.net")
    assert not (tmp_path / "bad.net").exists()
