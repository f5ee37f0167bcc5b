"""NIR export/import with the real nir package: round trips keep the engine's outputs."""

import nir
import numpy as np
import pytest

from ldsnn_lava import IF, CubaLIF, Network, Schedule, Stage, evaluate
from ldsnn_lava.formats.nir import read_network as from_nir
from ldsnn_lava.formats.nir import timesteps_from_nir, to_nir
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Scale, SumPool2d


def _conv_net(rng) -> Network:
    return Network((1, 8, 8), [
        Stage([Conv2d(rng.normal(0, 0.5, (3, 1, 3, 3)), rng.normal(0, 0.1, 3), padding=1)],
              IF(1.0)),
        Stage([AvgPool2d(2), Conv2d(rng.normal(0, 0.5, (4, 3, 3, 3)))], IF(0.8, v_init=0.1)),
        Stage([SumPool2d(2), Flatten(), Dense(rng.normal(0, 0.5, (6, 4)), rng.normal(0, .1, 6))],
              CubaLIF(1.0, current_decay=0.25, voltage_decay=0.5, bias=0.125)),
        Stage([Dense(rng.normal(0, 0.5, (3, 6)))], None),
    ], name="small")


def _same_outputs(a: Network, b: Network, x, T=10):
    ra, rb = (evaluate(n, Schedule.uniform(n, T), x) for n in (a, b))
    np.testing.assert_array_equal(ra.readout, rb.readout)
    for ca, cb in zip(ra.spike_counts, rb.spike_counts, strict=True):
        np.testing.assert_array_equal(ca, cb)


def test_round_trip_through_a_file_keeps_outputs_and_timesteps(tmp_path):
    rng = np.random.default_rng(0)
    net = _conv_net(rng)
    graph = to_nir(net, Schedule([4, 4, 6, 3], buffers="rate"))
    nir.write(tmp_path / "net.nir", graph)
    back = from_nir(tmp_path / "net.nir")
    assert back.name == "small" and repr(back) == repr(net)
    assert timesteps_from_nir(tmp_path / "net.nir") == [4, 4, 6, 3]
    _same_outputs(net, back, rng.random((20, 1, 8, 8)))
    assert timesteps_from_nir(to_nir(net)) is None


def test_foreign_cuba_lif_without_metadata_uses_the_euler_mapping():
    rng = np.random.default_rng(1)
    net = _conv_net(rng)
    graph = to_nir(net)
    for node in graph.nodes.values():
        if isinstance(node, nir.CubaLIF):
            node.metadata.pop("ldsnn")  # as another tool would write it
    back = from_nir(graph)
    neuron = back.stages[2].neuron
    assert neuron == CubaLIF(1.0, current_decay=0.25, voltage_decay=0.5, bias=0.125)
    _same_outputs(net, back, rng.random((20, 1, 8, 8)))


def test_cuba_lif_gains_fold_into_weights():
    weight = np.array([[1.0, -2.0]])
    node = nir.CubaLIF(tau_syn=np.array([2.0]), tau_mem=np.array([4.0]), r=np.array([8.0]),
                       v_leak=np.array([0.0]), v_threshold=np.array([1.0]),
                       v_reset=np.array([0.0]), w_in=np.array([3.0]))
    graph = nir.NIRGraph.from_list(nir.Input({"input": np.array([2])}), nir.Linear(weight),
                                   node, nir.Linear(np.ones((1, 1))),
                                   nir.Output({"output": np.array([1])}))
    net = from_nir(graph)
    np.testing.assert_allclose(net.stages[0].ops[0].weight, weight * (3 / 2) * (8 / 4))
    assert net.stages[0].neuron == CubaLIF(1.0, current_decay=0.5, voltage_decay=0.25)


def _graph(*nodes):
    return nir.NIRGraph.from_list(nir.Input({"input": np.array([2])}), *nodes,
                                  nir.Output({"output": np.array([2])}))


def test_errors():
    lin = nir.Linear(np.eye(2))
    plain_if = nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2))
    with pytest.raises(ValueError, match="resets to v_reset"):
        from_nir(_graph(lin, plain_if, nir.Linear(np.eye(2))))
    assert from_nir(_graph(lin, plain_if, nir.Linear(np.eye(2))), strict=False).num_stages == 2
    with pytest.raises(ValueError, match="LI readout leaks"):
        from_nir(_graph(lin, nir.LI(np.ones(2), np.ones(2), np.zeros(2))))
    uneven = nir.IF(r=np.ones(2), v_threshold=np.array([1.0, 2.0]), v_reset=np.zeros(2))
    with pytest.raises(ValueError, match="per-neuron v_threshold values differ"):
        from_nir(_graph(lin, uneven, nir.Linear(np.eye(2))), strict=False)
    with pytest.raises(ValueError, match="node type Delay is not supported"):
        from_nir(_graph(lin, nir.Delay(np.ones(2))))
    with pytest.raises(ValueError, match="needs synaptic ops between its last neuron"):
        from_nir(_graph(lin, plain_if), strict=False)
    with pytest.raises(ValueError, match="expected a nir.NIRGraph or a path"):
        from_nir(42)
    scale_net = Network((2,), [Stage([Scale(2.0, 1.0)], IF()), Stage([Dense(np.eye(2))])])
    with pytest.raises(ValueError, match="Scale ops"):
        to_nir(scale_net)
    with pytest.raises(ValueError, match="direct input encoding only"):
        to_nir(Network((2,), [Stage([Dense(np.eye(2))])], input_encoding="rate"))


def test_network_classmethods_delegate(tmp_path):
    net = _conv_net(np.random.default_rng(2))
    graph = net.to_nir()
    assert isinstance(graph, nir.NIRGraph)
    assert repr(Network.from_nir(graph)) == repr(net)
