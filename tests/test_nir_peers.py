"""Conformance against the real SNN tools (installed by `make install`; a missing one fails
here, it is never skipped): each tool builds and simulates its own IF/IAF, LIF and current-based
LIF networks (dense and conv) and writes them with its own NIR exporter; we read the file with the
tool's convention and simulate it; spike counts per neuron and predictions must agree. Files
whose features a reading cannot represent are refused by name. The other direction: tools that can
import our graphs run them."""

import warnings

import nir
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from benchmarks import nir_peers
from ldsnn_lava import Network, Schedule, datasets, evaluate, zoo
from ldsnn_lava.errors import FileFormatError
from ldsnn_lava.formats.nir import NIRExportWarning, to_nir

PEERS = settings(max_examples=1, deadline=None, derandomize=True,
                 phases=[Phase.explicit, Phase.generate],  # shrinking a tool run takes minutes
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BAR = 0.99  # the agreement the issue asks for; measured: 1.0 (README, benchmarks/nir_interop)


def matrix(tool: str):
    """Every neuron kind of ``tool``, dense and conv, at T = 4, 16 and 32."""
    kinds = pytest.mark.parametrize("kind", nir_peers.KINDS[tool])
    conv = pytest.mark.parametrize("conv", [False, True])
    steps = pytest.mark.parametrize("steps", [4, 16, 32])
    return lambda test: kinds(conv(steps(test)))


def ours(graph, x, steps, tmp_path, **options) -> list[np.ndarray]:
    """Write the tool's graph to a file (``tmp_path`` None: keep it in memory), read it with
    ``options``, and simulate it here: the spike counts of every spiking stage."""
    if tmp_path is not None:
        nir.write(tmp_path / "peer.nir", graph)
        graph = tmp_path / "peer.nir"
    net = Network.from_nir(graph, **options)
    result = evaluate(net, Schedule.uniform(net, steps), x, dtype=torch.float64)
    return result.spike_counts


def check(tool_counts, our_counts):
    scores = nir_peers.agreement(our_counts, tool_counts)
    assert scores["neurons"] >= BAR and scores["predictions"] >= BAR, scores


def inputs(seed: int, conv: bool) -> np.ndarray:
    shape = (1, 8, 8) if conv else (20,)
    return np.random.default_rng(seed).uniform(0, 1, (64, *shape)).astype(np.float32)


@matrix("snntorch")
@pytest.mark.parametrize("default_reset", [True, False])
@PEERS
@given(seed=st.integers(0, 2**16), beta=st.floats(0.5, 0.99), alpha=st.floats(0.5, 0.95),
       threshold=st.floats(0.5, 1.5))
def test_snntorch(kind, conv, steps, seed, beta, alpha, threshold, default_reset,
                  tmp_path_factory):
    """Its defaults (reset by subtraction one step late) with convention='snntorch'; reset to
    zero (without reset delay: Synaptic's delayed zero reset is another neuron) with 'nir' at
    snnTorch's dt = 1e-4, which is what the file says."""
    x = inputs(seed, conv)
    rng = np.random.default_rng(seed)
    reset = {"reset": "subtract", "reset_delay": True} if default_reset else \
        {"reset": "zero", "reset_delay": False}
    net = nir_peers.snntorch_network(kind, conv, x.shape[1:], 5, rng, beta=beta, alpha=alpha,
                                     threshold=threshold, **reset)
    options = {"convention": "snntorch"} if default_reset else {"convention": "nir", "dt": 1e-4}
    check(nir_peers.snntorch_run(net, x, steps),
          ours(nir_peers.snntorch_export(net, x), x, steps, tmp_path_factory.mktemp("s"),
               **options))


@matrix("sinabs")
@PEERS
@given(seed=st.integers(0, 2**16), tau=st.floats(2.0, 20.0), threshold=st.floats(0.5, 1.5))
def test_sinabs(kind, conv, steps, seed, tau, threshold, tmp_path_factory):
    """SingleSpike IAF/LIF with convention='sinabs_single_spike' (no time step needed: sinabs
    counts time in steps)."""
    x = inputs(seed, conv)
    net = nir_peers.sinabs_network(kind, conv, x.shape[1:], 5, np.random.default_rng(seed),
                                   steps=steps, tau=tau, threshold=threshold)
    graph = nir_peers.sinabs_export(net, x, steps)
    # nir.write cannot store what sinabs writes for LIF (0-d parameters) or conv nets (a Flatten
    # without input type): read the graph in memory, as sinabs users pass it on
    folder = tmp_path_factory.mktemp("s") if kind == "iaf" and not conv else None
    check(nir_peers.sinabs_run(net, x, steps),
          ours(graph, x, steps, folder, convention="sinabs_single_spike"))


def test_sinabs_defaults_are_refused_naming_multispike():
    """sinabs' default MultiSpike (several spikes per step) is not in the file and has no ldsnn
    neuron: read as sinabs' defaults, the file is refused, not misread."""
    x = inputs(0, False)
    net = nir_peers.sinabs_network("iaf", False, (20,), 5, np.random.default_rng(0), steps=4,
                                   multi_spike=True)
    with pytest.raises(FileFormatError, match=r"sinabs' default spike_fn=MultiSpike emits several "
                                              r"spikes per step.*convention='sinabs_single_spike'"):
        Network.from_nir(nir_peers.sinabs_export(net, x, 4), convention="sinabs")


@matrix("norse")
@PEERS
@given(seed=st.integers(0, 2**16), tau_mem_inv=st.floats(50.0, 400.0),
       tau_syn_inv=st.floats(100.0, 500.0), v_leak=st.sampled_from([0.0, 0.2]),
       dt=st.sampled_from([1e-3, 5e-4]))
def test_norse(kind, conv, steps, seed, tau_mem_inv, tau_syn_inv, v_leak, dt,
               tmp_path_factory):
    """Norse writes its time constants times dt: convention='norse' with the dt it wrote for."""
    x = inputs(seed, conv)
    net = nir_peers.norse_network(kind, conv, x.shape[1:], 5, np.random.default_rng(seed),
                                  tau_mem_inv=tau_mem_inv, tau_syn_inv=tau_syn_inv,
                                  v_leak=v_leak)
    for cell in net:  # Norse's cells simulate at their own dt: the one exported with
        if hasattr(cell, "dt"):
            cell.dt = dt
    folder = None if conv else tmp_path_factory.mktemp("n")  # nir.write cannot store its
    # Conv2d nodes, which it writes without input shape
    check(nir_peers.norse_run(net, x, steps),
          ours(nir_peers.norse_export(net, x, dt=dt), x, steps, folder, convention="norse", dt=dt))


@matrix("spikingjelly")
@PEERS
@given(seed=st.integers(0, 2**16), tau=st.floats(1.5, 10.0), decay_input=st.booleans(),
       v_reset=st.sampled_from([0.0, -0.3, 0.2]), c_decay=st.floats(0.0, 0.9),
       v_decay=st.floats(0.0, 0.9), dt=st.sampled_from([1e-4, 1e-3]))
def test_spikingjelly(kind, conv, steps, seed, tau, decay_input, v_reset, c_decay, v_decay, dt,
                      tmp_path_factory):
    x = inputs(seed, conv)
    net = nir_peers.spikingjelly_network(kind, conv, x.shape[1:], 5, np.random.default_rng(seed),
                                         tau=tau, decay_input=decay_input, v_reset=v_reset,
                                         c_decay=c_decay, v_decay=v_decay)
    check(nir_peers.spikingjelly_run(net, x, steps),
          ours(nir_peers.spikingjelly_export(net, x, dt=dt), x, steps,
               tmp_path_factory.mktemp("j"), convention="spikingjelly", dt=dt))


def test_spikingjelly_fires_at_the_threshold():
    """Inputs that land exactly on the threshold: SpikingJelly fires (>=), NIR says it must not
    (>); the convention follows the tool."""
    x = np.zeros((4, 20), dtype=np.float32)
    x[:, 0] = 1.0
    net = nir_peers.spikingjelly_network("if", False, (20,), 5, np.random.default_rng(0))
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].weight[:, 0] = 0.25
        net[0].bias.zero_()
    tool = nir_peers.spikingjelly_run(net, x, 8)
    graph = nir_peers.spikingjelly_export(net, x)
    as_tool = Network.from_nir(graph, convention="spikingjelly", dt=1e-4)
    as_nir = Network.from_nir(graph, dt=1e-4)
    np.testing.assert_array_equal(evaluate(as_tool, Schedule.uniform(as_tool, 8), x)
                                  .spike_counts[0], tool[0])
    assert evaluate(as_nir, Schedule.uniform(as_nir, 8), x).spike_counts[0].sum() < \
        tool[0].sum()


# --- what a reading cannot represent is refused, not misread -----------------------------------

def test_norse_flatten_and_pooling_are_refused_by_name():
    net = nir_peers.norse_network("iaf", False, (20,), 5, np.random.default_rng(0))
    net = type(net)(torch.nn.Flatten(), *net)  # Norse writes no node for Flatten
    graph = nir_peers.norse_export(net, inputs(0, False))
    with pytest.raises(FileFormatError, match=r"node '0' is empty \(None\): the exporter wrote "
                                              r"no NIR node"):
        Network.from_nir(graph, convention="norse", dt=1e-3)


def test_norse_time_constants_are_refused_without_its_convention():
    graph = nir_peers.norse_export(nir_peers.norse_network(
        "lifbox", False, (20,), 5, np.random.default_rng(0)), inputs(0, False))
    with pytest.raises(FileFormatError, match=r"field tau = 1e-05 is shorter than the time step "
                                              r"dt = 0.001"):
        Network.from_nir(graph, dt=1e-3)


def test_snntorch_without_time_step_or_with_infinite_tau_is_refused():
    x = inputs(0, False)
    graph = nir_peers.snntorch_export(nir_peers.snntorch_network(
        "leaky", False, (20,), 5, np.random.default_rng(0)), x)
    with pytest.raises(FileFormatError, match="needs a time step and the graph states none"):
        Network.from_nir(graph)
    integrator = nir_peers.snntorch_network("leaky", False, (20,), 5, np.random.default_rng(0),
                                            beta=1.0)  # snnTorch writes tau = r = inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # its own division by zero
        graph = nir_peers.snntorch_export(integrator, x)
    with pytest.raises(FileFormatError, match="the input gain from fields r, w_in and tau is "
                                              "not finite"):
        Network.from_nir(graph, convention="snntorch")


# --- the other direction: tools that import our graphs run them -----------------------------------

def _zoo(name: str, samples: int = 48):
    model = zoo.load(name)
    return model, model.preprocess(datasets.load(model.dataset).x_test[:samples])


@pytest.mark.parametrize("name", ["mlp_digits", "lenet_mnist5k"])
def test_spikingjelly_runs_our_graphs_as_nir_defines_them(name):
    """SpikingJelly's importer follows NIR's equations; so does our "nir" reading of the graph."""
    model, x = _zoo(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NIRExportWarning)
        graph = to_nir(model.network, dt=1e-4)
    as_nir = Network.from_nir(graph, convention="nir")
    for steps in (model.base_T, 16):
        theirs = nir_peers.import_and_run("spikingjelly", graph, x, steps, dt=1e-4)
        mine = evaluate(as_nir, Schedule.uniform(as_nir, steps), x).readout
        assert np.mean(np.argmax(theirs, 1) == np.argmax(mine, 1)) >= BAR


def test_sinabs_runs_our_if_graphs():
    """sinabs reads NIR IF as its IAF (reset by subtraction, like ours, but v from 0): at a long
    window the initial potential hardly matters and the predictions agree."""
    model, x = _zoo("mlp_digits")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NIRExportWarning)
        graph = to_nir(model.network, dt=1.0)
    theirs = nir_peers.import_and_run("sinabs", graph, x, 32, dt=1.0)
    mine = evaluate(model.network, Schedule.uniform(model.network, 32), x)
    assert np.mean(np.argmax(theirs, 1) == mine.predictions) >= 0.95
