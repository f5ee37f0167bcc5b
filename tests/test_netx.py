"""netx import: lava-dl's own mnist.net, compared spike for spike with Lava running it."""

import h5py
import numpy as np
import pytest
import torch

from ldsnn_lava import CubaLIF, Schedule, datasets, evaluate, zoo
from ldsnn_lava.formats.netx import read_network as from_netx
from ldsnn_lava.ops import Dense, Scale
from ldsnn_lava.torch_ops import torch_op

MNIST_NET = zoo.lava_dl_mnist_path()


def test_mnist_net_structure():
    net = from_netx(MNIST_NET)
    assert net.input_shape == (784,) and net.num_neurons == [784, 512, 512, 10]
    scale = net.stages[0].ops[0]
    assert isinstance(scale, Scale) and scale.truncate
    assert float(scale.weight) == 76.0 and float(scale.bias) == 64.0
    for stage in net.stages[:3]:
        assert stage.neuron == CubaLIF(threshold=80, current_decay=1.0,
                                       voltage_decay=123 / 4096)
    assert net.stages[3].neuron is None
    with h5py.File(MNIST_NET, "r") as handle:
        for index in (1, 2, 3):
            op = net.stages[index].ops[0]
            assert isinstance(op, Dense)
            np.testing.assert_array_equal(op.weight, handle[f"layer/{index}/weight"][()])


def test_scale_truncates_toward_zero():
    fn = torch_op(Scale(weight=76.0, bias=64.0, truncate=True), "cpu", torch.float64)
    x = torch.tensor([-1.0, -0.9, 0.0, 0.5, 1.0])
    assert fn(x).tolist() == [-12.0, -4.0, 64.0, 102.0, 140.0]  # -4.4 -> -4, not -5


@pytest.mark.lava
def test_matches_lava_dl_netx_in_lava():
    from netx_lava_reference import run_netx_in_lava

    model = zoo.load("lava_dl_mnist")
    data = datasets.load("mnist5k")
    x = model.preprocess(data.x_test[:2])
    T, layers = 12, 4
    for sample in range(len(x)):
        bias = np.trunc(76.0 * x[sample].astype(np.float64) + 64.0)
        # Lava adds one step per hop: layer l's step t of ours is Lava step t + l, and the
        # readout holds our first T steps after T + (layers - 1) Lava steps.
        rasters, readout_u = run_netx_in_lava(MNIST_NET, bias, T + layers - 1)
        ours = evaluate(model.network, Schedule.uniform(model.network, T), x[sample:sample + 1],
                        precision="fixed")
        for layer, raster in enumerate(rasters):
            assert raster[:, :layer].sum() == 0
            np.testing.assert_array_equal(raster[:, layer:layer + T].sum(1),
                                          ours.spike_counts[layer][0])
        # Lava's readout current holds the input sums << 6 (its 6-bit MSB alignment)
        np.testing.assert_array_equal(readout_u, ours.readout[0] * 64)
        assert np.argmax(readout_u) == ours.predictions[0]


def _write(path, layers):
    with h5py.File(path, "w") as handle:
        for index, spec in enumerate(layers):
            group = handle.create_group(f"layer/{index}")
            for key, value in spec.items():
                if isinstance(value, dict):
                    sub = group.create_group(key)
                    for k, v in value.items():
                        sub[k] = v
                else:
                    group[key] = value
    return path


CUBA = {"type": "CUBA", "iDecay": 4096, "vDecay": 100, "vThMant": 50, "refDelay": 1,
        "gradedSpike": False}
INPUT = {"type": np.array([b"input"]), "shape": np.array([4]), "neuron": CUBA,
         "weight": np.array([64.0]), "bias": np.array([0.0])}


def _dense(out, inp, **extra):
    return {"type": np.array([b"dense"]), "shape": np.array([out]),
            "weight": np.ones((out, inp)), **extra}


@pytest.mark.parametrize(("layers", "message"), [
    ([INPUT, _dense(3, 4, neuron=CUBA, delay=np.ones(4)), _dense(2, 3)],
     "delay has 4 values; expected one per output neuron"),
    ([INPUT, _dense(3, 4, neuron=CUBA, delay=np.array([1, 63, 0])), _dense(2, 3)],
     "delay 63 exceeds 62"),
    ([INPUT, _dense(3, 4, neuron=CUBA, delay=np.array([1.5, 0, 0])), _dense(2, 3)],
     "delays must be integers >= 0"),
    ([INPUT, _dense(3, 4, neuron=CUBA), {"type": np.array([b"average"]),
                                          "shape": np.array([2, 1, 1])}],
     "3 inputs do not split into 2 equal groups"),
    ([INPUT, _dense(4, 4, neuron=CUBA), {"type": np.array([b"average"]),
                                          "shape": np.array([2, 1, 1])}, _dense(2, 2)],
     "an average layer must be the last layer"),
    ([INPUT, _dense(3, 4, neuron=CUBA | {"refDelay": 0}), _dense(2, 3)],
     "refDelay must be >= 1"),
    ([INPUT, {"type": np.array([b"concat"])}, _dense(2, 4)], "concat layers are not supported"),
    ([INPUT, {"type": np.array([b"dense_rec"])}, _dense(2, 4)], "recurrent dense layers"),
    ([INPUT, _dense(3, 4, neuron=CUBA | {"type": "SDNN"}), _dense(2, 3)],
     "neuron type 'SDNN' is not supported"),
    ([INPUT, {"type": np.array([b"dense"]), "shape": np.array([2]),
              "weight": np.full((2, 4), 0.5)}], "weights must be integers"),
    ([INPUT | {"neuron": CUBA | {"iDecay": 100}}, _dense(2, 4)], "iDecay != 4096"),
    ([INPUT, _dense(3, 4), _dense(2, 3)], "only the last layer may have no neuron"),
    ([INPUT, _dense(2, 4, neuron=CUBA)], "last layer must be a readout"),
    ([_dense(2, 4)], "no input layer"),
    ([INPUT, _dense(3, 4, neuron=CUBA | {"iDecay": 100}, bias=np.array([1.0, 2.0, 3.0])),
      _dense(2, 3)], "per-neuron bias with iDecay != 4096"),
    ([INPUT, _dense(3, 4, neuron=CUBA), _dense(2, 3, bias=np.array([1.0, 2.0]))],
     "a readout bias is not supported"),
    ([INPUT | {"shape": np.array([1, 4, 4])}, {"type": np.array([b"conv"]),
      "shape": np.array([2, 3, 3]), "weight": np.ones((2, 1, 3, 3, 1)), "stride": 1,
      "padding": 0, "dilation": 1, "groups": 1, "neuron": CUBA}, _dense(2, 8)],
     r"computed output shape \(2, 2, 2\) does not match the stored shape \(2, 3, 3\)"),
    ([INPUT | {"shape": np.array([1, 4, 4])}, {"type": np.array([b"conv"]),
      "shape": np.array([2, 2, 2]), "weight": np.ones((2, 1, 3, 3, 1)), "neuron": CUBA},
      _dense(2, 8)], "layer 1 \\(conv\\): missing field 'groups'"),
])
def test_unsupported_features_name_the_problem(tmp_path, layers, message):
    path = _write(tmp_path / "bad.net", layers)
    with pytest.raises(ValueError, match=message):
        from_netx(path)


def test_delays_average_readout_refdelay_and_encoding(tmp_path):
    """Per-neuron delays, an average readout (group sums), refDelay as a refractory period on
    request, and events input for a file whose input layer has no neurons."""
    spiking_input = {"type": np.array([b"input"]), "shape": np.array([1, 1, 4])}
    layers = [spiking_input, {"type": np.array([b"flatten"]), "shape": np.array([4, 1, 1])},
              _dense(6, 4, neuron=CUBA | {"refDelay": 3}, delay=np.array([0, 1, 2, 3, 4, 5])),
              {"type": np.array([b"average"]), "shape": np.array([3, 1, 1])}]
    path = _write(tmp_path / "temporal.net", layers)
    net = from_netx(path)
    assert net.input_encoding == "events"
    assert net.stages[0].delay.tolist() == [0, 1, 2, 3, 4, 5]
    assert net.stages[0].neuron.refractory == 0
    readout = net.stages[1].ops[-1]
    assert readout.weight.tolist() == [[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]]
    assert from_netx(path, loihi_refractory=True).stages[0].neuron.refractory == 2
    assert from_netx(path, input_encoding="direct").input_encoding == "direct"
    assert from_netx(_write(tmp_path / "static.net", [INPUT, _dense(2, 4)])
                     ).input_encoding == "direct"


def test_small_file_imports_and_unreadable_files(tmp_path):
    path = _write(tmp_path / "ok.net", [INPUT, _dense(3, 4, neuron=CUBA), _dense(2, 3)])
    net = from_netx(path)
    assert net.num_neurons == [4, 3, 2] and net.name == "ok"
    (tmp_path / "junk.net").write_text("not hdf5")
    with pytest.raises(ValueError, match="not a readable netx HDF5 file"):
        from_netx(tmp_path / "junk.net")
    with h5py.File(tmp_path / "empty.net", "w"):
        pass
    with pytest.raises(ValueError, match="no 'layer' group"):
        from_netx(tmp_path / "empty.net")


def test_bias_placement(tmp_path):
    """A uniform netx bias is the neuron's; a per-neuron one (iDecay 4096) is the op's."""
    path = _write(tmp_path / "b.net", [
        INPUT, _dense(3, 4, neuron=CUBA, bias=np.full(3, 5.0)),
        _dense(3, 3, neuron=CUBA, bias=np.array([1.0, -2.0, 3.0])), _dense(2, 3)])
    net = from_netx(path)
    assert net.stages[1].neuron.bias == 5.0 and net.stages[1].ops[0].bias is None
    assert net.stages[2].neuron.bias == 0.0
    np.testing.assert_array_equal(net.stages[2].ops[0].bias, [1.0, -2.0, 3.0])


def test_readout_integrator(tmp_path):
    """A never-leaking last layer is the readout only when asked; its bias enters the op,
    since the integrator's voltage sums input and bias every step."""
    integrator = CUBA | {"vDecay": 0, "vThMant": 131071}
    path = _write(tmp_path / "i.net", [
        INPUT, _dense(3, 4, neuron=CUBA), _dense(1, 3, neuron=integrator, bias=np.array([7.0]))])
    with pytest.raises(ValueError, match="readout_integrator=True"):
        from_netx(path)
    net = from_netx(path, readout_integrator=True)
    readout = net.stages[-1]
    assert readout.neuron is None and readout.name == "readout"
    np.testing.assert_array_equal(readout.ops[0].bias, [7.0])
    leaky = _write(tmp_path / "l.net", [INPUT, _dense(3, 4, neuron=CUBA),
                                        _dense(1, 3, neuron=CUBA)])
    with pytest.raises(ValueError, match="not a readout integrator"):
        from_netx(leaky, readout_integrator=True)
