"""NIR reading and writing with the real nir package: exact round trips of our networks, the
reader against an independent NIR simulator, and refusals that name the node and field."""

import inspect
import re
import warnings

import nir
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ldsnn_nir_reference import simulate
from ldsnn_temporal_testing import chunked_schedules, sequences, temporal_networks
from ldsnn_testing import networks, schedules

from ldsnn_lava import IF, CubaLIF, Network, Schedule, Stage, datasets, evaluate, zoo
from ldsnn_lava.errors import FileFormatError, InvalidNetwork, InvalidOption
from ldsnn_lava.formats import netx, nir_neurons
from ldsnn_lava.formats import nir as nir_format
from ldsnn_lava.formats.nir import (
    NIRExportWarning,
    read_network,
    read_schedule,
    to_nir,
    write_network,
)
from ldsnn_lava.ops import AvgPool2d, Conv2d, Dense, Flatten, Scale

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def quietly(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NIRExportWarning)
        return fn(*args, **kwargs)


def same_results(a: Network, b: Network, schedule: Schedule, x, precision="float"):
    ra, rb = (evaluate(n, schedule, x, precision=precision, dtype=torch.float64) for n in (a, b))
    np.testing.assert_array_equal(ra.readout, rb.readout)
    for ca, cb in zip(ra.spike_counts, rb.spike_counts, strict=True):
        np.testing.assert_array_equal(ca, cb)
    assert ra.counters.per_stage.keys() == rb.counters.per_stage.keys()
    for name, values in ra.counters.per_stage.items():
        np.testing.assert_array_equal(rb.counters.per_stage[name], values, err_msg=name)


# --- our networks, there and back ----------------------------------------------------------------

def _never_decays(net: Network) -> bool:
    """A CubaLIF that keeps its current or potential forever, other than an integrator without
    current memory or bias (written as a NIR IF): no NIR form."""
    return any(isinstance(n := s.neuron, CubaLIF) and 0 in (n.current_decay, n.voltage_decay)
               and (n.current_decay, n.voltage_decay, n.bias) != (1, 0, 0) for s in net.stages)


@SETTINGS
@given(data=st.data())
def test_every_network_round_trips_exactly_or_is_refused_by_name(data, tmp_path_factory):
    net = data.draw(networks())
    schedule = data.draw(schedules(net))
    x = np.random.default_rng(0).uniform(0, 1, (5, *net.input_shape))
    path = tmp_path_factory.mktemp("nir") / "net.nir"
    if _never_decays(net):
        with pytest.raises(InvalidNetwork, match=r"stage \d+: CubaLIF with \w+_decay = 0"):
            quietly(write_network, net, path, schedule)
        return
    quietly(write_network, net, path, schedule, dt=data.draw(st.sampled_from([1e-4, 1e-3, 1.0])))
    nir.read(path)  # the graph passes nir's own type checks
    back = Network.from_nir(path)
    assert read_schedule(path) == schedule
    assert back.input_encoding == net.input_encoding
    same_results(net, back, schedule, x)


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow)
                                  if name == "vgg_animal_mnist" else name for name in zoo.names()])
def test_every_zoo_model_exports_and_reloads_with_identical_results(name, tmp_path):
    """(The VGG takes about a minute on a loaded 2-core machine, mostly its structural fan-outs:
    it runs with ``-m slow``.)"""
    model = zoo.load(name)
    x = model.preprocess(datasets.load(model.dataset).x_test[:16])
    sequence = model.network.input_encoding.is_sequence  # its T is its input's chunk
    schedule = Schedule.uniform(model.network, model.base_T if sequence else min(model.base_T, 6))
    quietly(write_network, model.network, tmp_path / "m.nir", schedule)
    back = read_network(tmp_path / "m.nir")
    same_results(model.network, back, schedule, x, model.precision)


def test_export_warns_what_nir_cannot_express():
    net = Network((4,), [Stage([Scale(2.0, 1.0, truncate=True)], IF(1.0)),
                         Stage([Dense(np.ones((3, 4)))], CubaLIF(1.0, 0.5, 0.25,
                                                                  reset="delayed_subtract")),
                         Stage([Dense(np.ones((2, 3)))], None)], input_encoding="rate")
    with pytest.warns(NIRExportWarning) as record:
        graph = to_nir(net)
    (message,) = [str(w.message) for w in record]
    assert ("stage 0: reset by subtraction (NIR resets to v_reset), firing at v >= threshold "
            "(NIR fires at v > threshold), v starting at 0.5") in message
    assert "truncation toward zero of its Scale op" in message
    assert "rate-encoded input" in message
    assert "stage 1: reset by subtraction at the step after a spike" in message
    plain = Network((4,), [Stage([Dense(np.ones((3, 4)))], CubaLIF(1.0, 0.5, 0.25)),
                           Stage([Dense(np.ones((2, 3)))], None)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: NIR states it all
        to_nir(plain)
    assert type(graph.nodes["stage0_op0"]).__name__ == "Affine"  # a Scale with a bias


def test_written_graph_is_shaped_for_other_tools():
    """Affine for every Dense, SumPool2d with 1/area folded into the next weights, unit gains at
    dt, and a graph that ends in the last neuron when the readout only counts its spikes."""
    rng = np.random.default_rng(0)
    w = rng.normal(0, 1, (2, 1, 3, 3))
    net = Network((1, 6, 6), [
        Stage([Conv2d(w)], CubaLIF(1.0, 1.0, 0.25, v_reset=0.5)),
        Stage([AvgPool2d(2), Flatten(), Dense(np.ones((3, 8)))], IF(1.0, v_init=0.0,
                                                                     reset="hard", compare=">")),
        Stage([Scale()], None)])
    graph = to_nir(net, dt=1e-3)
    kinds = [type(graph.nodes[b]).__name__ for _, b in graph.edges]
    assert kinds == ["Conv2d", "LIF", "SumPool2d", "Flatten", "Affine", "IF", "Output"]
    np.testing.assert_array_equal(graph.nodes["stage1_op2"].weight, np.ones((3, 8)) / 4)
    lif = graph.nodes["stage0_neuron"]
    np.testing.assert_allclose(lif.tau, 1e-3 / 0.25)
    np.testing.assert_allclose(lif.r * 1e-3 / lif.tau, 1.0)
    np.testing.assert_array_equal(lif.v_reset, 0.5)
    np.testing.assert_array_equal(graph.nodes["stage1_neuron"].r, 1e3)
    assert graph.metadata["dt"] == 1e-3
    back = read_network(graph, convention="nir")  # what a NIR-faithful tool runs
    assert repr(back) == repr(net).replace("AvgPool2d", "SumPool2d")


# --- the reader against an independent simulator -------------------------------------------------

DYADIC = st.sampled_from([-0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0])
SINGLE = "sinabs_single_spike"


@st.composite
def neuron_nodes(draw, size: int, convention: str):
    """A NIR neuron node with dyadic parameters (exact arithmetic at dt = 1)."""
    kinds = ["IF", "LIF", "Threshold"] + ([] if convention == SINGLE else ["CubaLIF"])
    kind = draw(st.sampled_from(kinds))
    full = lambda value: np.full(size, float(value))  # noqa: E731
    threshold = full(draw(st.sampled_from([0.5, 1.0, 1.5])))
    v_reset = full(0.0 if convention in ("snntorch", SINGLE) else draw(DYADIC))
    r = full(draw(st.sampled_from([0.5, 1.0, 2.0])))
    if kind == "Threshold":
        return nir.Threshold(threshold)
    if kind == "IF":
        return nir.IF(r=r, v_threshold=threshold, v_reset=v_reset)
    tau = full(draw(st.sampled_from([1.0, 2.0, 4.0])))
    v_leak = full(draw(DYADIC))
    if kind == "LIF":
        return nir.LIF(tau=tau, r=r, v_leak=v_leak, v_threshold=threshold, v_reset=v_reset)
    return nir.CubaLIF(tau_syn=full(draw(st.sampled_from([1.0, 2.0, 4.0]))), tau_mem=tau, r=r,
                       v_leak=v_leak, v_threshold=threshold, v_reset=v_reset,
                       w_in=full(draw(st.sampled_from([0.5, 1.0]))))


@SETTINGS
@given(data=st.data(), convention=st.sampled_from(["nir", "snntorch", SINGLE, "norse",
                                                   "spikingjelly"]))
def test_reader_equals_an_independent_nir_simulator(data, convention):
    """Dense chains of every neuron node under every convention, with dyadic weights, inputs and
    parameters at dt = 1 (Norse: its time constants are written times dt, so dt = 1 too), so
    both sides compute exactly: spike counts and readouts must be equal."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    sizes = [data.draw(st.integers(1, 5)) for _ in range(4)]
    nodes = []
    for n_in, n_out in zip(sizes[:2], sizes[1:3], strict=True):
        nodes.append(nir.Affine(rng.integers(-4, 5, (n_out, n_in)) / 4.0,
                                rng.integers(-2, 3, n_out) / 4.0))
        if data.draw(st.booleans()):  # each neuron's input delayed by whole steps
            nodes.append(nir.Delay(rng.integers(0, 4, n_out).astype(float)))
        nodes.append(data.draw(neuron_nodes(n_out, convention)))
    nodes.append(nir.Linear(rng.integers(-4, 5, (sizes[3], sizes[2])) / 4.0))
    ends_in_integrator = data.draw(st.booleans())
    if ends_in_integrator:
        nodes.append(nir.I(np.full(sizes[3], 0.5)))
    graph = nir.NIRGraph.from_list(nir.Input({"input": np.array([sizes[0]])}), *nodes,
                                   nir.Output({"output": np.array([sizes[3]])}))
    x = rng.integers(0, 5, (6, sizes[0])) / 4.0
    steps = data.draw(st.integers(4, 12))  # longer than any delay (0..3 steps)
    if convention == SINGLE and any(isinstance(n, nir.LIF) for n in nodes):
        return  # its exact exponential decay is not dyadic; the peer tests cover it
    net = read_network(graph, dt=1.0, convention=convention)
    result = evaluate(net, Schedule.uniform(net, steps), x, dtype=torch.float64)
    counts, readout = simulate(graph, x, steps, dt=1.0, convention=convention)
    for got, want in zip(result.spike_counts, counts, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(result.readout, readout)


@SETTINGS
@given(data=st.data())
def test_temporal_networks_round_trip_exactly(data, tmp_path_factory):
    """Sequence input, per-neuron delays (NIR Delay nodes), refractory periods: there and back."""
    net = data.draw(temporal_networks())
    schedule = data.draw(chunked_schedules(net, chunk=data.draw(st.sampled_from([1, 3]))))
    x = data.draw(sequences(net, schedule.chunk))
    path = tmp_path_factory.mktemp("nir") / "net.nir"
    if _never_decays(net):
        with pytest.raises(InvalidNetwork, match=r"CubaLIF with \w+_decay = 0"):
            quietly(write_network, net, path, schedule)
        return
    quietly(write_network, net, path, schedule, dt=data.draw(st.sampled_from([1e-4, 1.0])))
    nir.read(path)
    back = read_network(path)
    assert read_schedule(path) == schedule and back.input_encoding == net.input_encoding
    same_results(net, back, schedule, x)


def test_conv_pool_chain_equals_the_reference():
    rng = np.random.default_rng(3)
    graph = nir.NIRGraph.from_list(
        nir.Input({"input": np.array([1, 1, 6, 6])}),  # with a batch axis, as sinabs writes
        nir.Conv2d(None, rng.integers(-4, 5, (2, 1, 3, 3)) / 4.0, 1, "same", 1, 1,
                   np.zeros(2)),
        nir.LIF(tau=np.full((2, 6, 6), 2.0), r=np.full((2, 6, 6), 2.0),
                v_leak=np.zeros((2, 6, 6)), v_threshold=np.ones((2, 6, 6)),
                v_reset=np.zeros((2, 6, 6))),
        nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
        nir.Flatten({"input": np.array([2, 3, 3])}, 0, -1),
        nir.Affine(rng.integers(-4, 5, (3, 18)) / 4.0, np.zeros(3)),
        nir.IF(np.ones(3), np.ones(3), np.zeros(3)),
        nir.Output({"output": np.array([1, 3])}), type_check=False)
    net = read_network(graph, dt=1.0)
    assert net.input_shape == (1, 6, 6)
    x = rng.integers(0, 5, (4, 1, 6, 6)) / 4.0
    result = evaluate(net, Schedule.uniform(net, 9), x, dtype=torch.float64)
    counts, readout = simulate(graph, x, 9, dt=1.0)
    for got, want in zip(result.spike_counts, counts, strict=True):
        np.testing.assert_array_equal(got.reshape(want.shape), want)
    np.testing.assert_array_equal(result.readout, readout)  # the identity readout counts spikes


def test_per_neuron_gains_fold_into_rows():
    r = np.array([1.0, 2.0, 0.5])
    graph = nir.NIRGraph.from_list(nir.Input({"input": np.array([2])}),
                                   nir.Affine(np.ones((3, 2)), np.ones(3)),
                                   nir.IF(r=r, v_threshold=np.ones(3), v_reset=np.zeros(3)),
                                   nir.Linear(np.ones((2, 3))))
    dense = read_network(graph, dt=0.5).stages[0].ops[0]
    np.testing.assert_array_equal(dense.weight, 0.5 * r[:, None] * np.ones((3, 2)))
    np.testing.assert_array_equal(dense.bias, 0.5 * r)


# --- time step and conventions --------------------------------------------------------------------

def _lif_graph(**metadata):
    return nir.NIRGraph.from_list(
        nir.Input({"input": np.array([2])}), nir.Affine(np.eye(2), np.zeros(2)),
        nir.LIF(tau=np.full(2, 1e-3), r=np.full(2, 10.0), v_leak=np.zeros(2),
                v_threshold=np.ones(2), v_reset=np.zeros(2)),
        nir.Linear(np.eye(2))) if not metadata else _with_metadata(_lif_graph(), metadata)


def _with_metadata(graph, metadata):
    graph.metadata = metadata
    return graph


def test_time_step_from_argument_metadata_or_convention():
    assert read_network(_lif_graph(), dt=1e-4).stages[0].neuron.voltage_decay == \
        pytest.approx(0.1)
    assert read_network(_lif_graph(dt=5e-4)).stages[0].neuron.voltage_decay == pytest.approx(0.5)
    assert read_network(_lif_graph(), convention="snntorch").stages[0].neuron.voltage_decay == \
        pytest.approx(0.1)  # snnTorch's exporter writes for dt = 1e-4
    with pytest.warns(UserWarning, match="dt=0.0001 overrides the graph's metadata dt=0.0005"):
        read_network(_lif_graph(dt=5e-4), dt=1e-4)


def test_missing_time_step_is_named_with_the_arguments_that_give_one():
    with pytest.raises(FileFormatError) as info:
        read_network(_lif_graph())
    message = str(info.value)
    assert "node 'lif' (LIF): a NIR LIF node needs a time step and the graph states none" in message
    assert "snnTorch writes with dt=1e-4" in message


def test_euler_overshoot_is_refused_naming_field_and_dt():
    with pytest.raises(FileFormatError, match=r"node 'lif' \(LIF\): field tau = 0.001 is shorter "
                                              r"than the time step dt = 0.01"):
        read_network(_lif_graph(), dt=1e-2)


def test_our_graphs_default_to_their_exact_parameters_and_refuse_edits():
    net = Network((2,), [Stage([Dense(np.eye(2))], CubaLIF(1.0, 0.5, 0.125, bias=0.125,
                                                           reset="subtract", v_init=0.25)),
                         Stage([Dense(np.eye(2))], None)])
    graph = quietly(to_nir, net)
    assert read_network(graph).stages[0].neuron == net.stages[0].neuron
    assert read_network(graph, convention="nir").stages[0].neuron == CubaLIF(
        1.0, 0.5, 0.125, bias=0.125, v_init=1.0)  # what NIR says: hard reset, v from v_leak
    graph.nodes["stage0_neuron"].v_threshold = np.full(2, 2.0)
    with pytest.raises(FileFormatError, match="its ldsnn metadata implies field v_threshold"):
        read_network(graph)
    assert read_network(graph, convention="nir").stages[0].neuron.threshold == 2.0


# --- refusals name the node and field -------------------------------------------------------------

def _graph(*nodes, size=2):
    return nir.NIRGraph.from_list(nir.Input({"input": np.array([size])}), *nodes,
                                  nir.Output({"output": np.array([size])}), type_check=False)


LIN = nir.Linear(np.eye(2))
IF_NODE = nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2))

REFUSALS = [
    (lambda: _graph(LIN, nir.IF(r=np.ones(2), v_threshold=np.array([1.0, 2.0]),
                                v_reset=np.zeros(2)), LIN),
     r"node 'if' \(IF\): field v_threshold differs across neurons"),
    (lambda: _graph(LIN, nir.Delay(np.ones(2)), LIN),
     r"node 'delay' \(Delay\): a Delay is supported only right before a neuron or Output"),
    (lambda: _graph(LIN, nir.Delay(np.full(2, 0.5)), IF_NODE, LIN),
     r"node 'delay' \(Delay\): field delay must be whole multiples >= 0 of the time step"),
    (lambda: _graph(LIN, nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([1, 1])),
                    IF_NODE, LIN), r"field padding = \[1 1\]: padded pooling is not supported"),
    (lambda: _graph(LIN, nir.LI(np.ones(2), np.ones(2), np.zeros(2))),
     r"node 'li' \(LI\): an LI readout with finite field tau leaks"),
    (lambda: _graph(LIN, nir.I(np.ones(2)), LIN), r"I is supported only right before Output"),
    (lambda: _graph(IF_NODE, LIN), r"node 'if' \(IF\) needs a synaptic op"),
    (lambda: _graph(nir.Conv2d(None, np.ones((1, 1, 3, 3)), 1, 0, 2, 1, np.zeros(1)), size=9),
     r"node .conv2d. \(Conv2d\): field dilation = \(2, 2\): dilated convolutions"),
    (lambda: _graph(LIN, nir.LIF(tau=np.full(2, np.inf), r=np.full(2, np.inf),
                                 v_leak=np.zeros(2), v_threshold=np.ones(2),
                                 v_reset=np.zeros(2)), LIN),
     r"node 'lif' \(LIF\): the input gain from fields r, w_in and tau is not finite"),
    (lambda: _graph(LIN, nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2),
                                 v_threshold=np.ones(2), v_reset=np.full(2, 0.5)), LIN),
     r"field v_reset = 0.5, but the snntorch convention resets by subtraction"),
]


@pytest.mark.parametrize("make, message", REFUSALS)
def test_unsupported_graphs_are_refused_by_name(make, message):
    convention = "snntorch" if "snntorch" in message else None
    with pytest.raises(FileFormatError, match=message):
        read_network(make(), dt=1.0, convention=convention)


def test_structure_errors():
    none_node = _graph(LIN, IF_NODE, LIN)
    none_node.nodes["if"] = None
    with pytest.raises(FileFormatError, match=r"node 'if' is empty \(None\)"):
        read_network(none_node)
    cyclic = _graph(LIN, IF_NODE, LIN)
    cyclic.edges.append(("if", "linear"))
    with pytest.raises(FileFormatError, match="branches to|cycle"):
        read_network(cyclic)
    flat = nir.NIRGraph.from_list(nir.Input({"input": np.array([2, 3, 4])}),
                                  nir.Flatten({"input": np.array([2, 3, 4])}, 1, -1),
                                  nir.Linear(np.ones((1, 12))), type_check=False)
    with pytest.raises(FileFormatError, match=r"Flatten from start_dim=1 to end_dim=-1 of a "
                                              r"\(2, 3, 4\) sample keeps some axes"):
        read_network(flat)
    with pytest.raises(InvalidOption, match="convention must be one of 'nir', 'ldsnn'"):
        read_network(_graph(LIN), convention="brian")
    with pytest.raises(InvalidOption, match="dt must be a positive, finite time step"):
        read_network(_graph(LIN), dt=0.0)
    with pytest.raises(InvalidOption, match="expected a nir.NIRGraph or a path"):
        read_network(42)
    with pytest.raises(FileNotFoundError):
        read_network("no/such/file.nir")


def test_bad_file_is_named(tmp_path):
    path = tmp_path / "bad.nir"
    path.write_text("not hdf5")
    with pytest.raises(FileFormatError, match="bad.nir: not a readable NIR file"):
        read_network(path)


def test_error_messages_suggest_only_arguments_that_exist():
    """Every "pass NAME=" in the NIR reader's messages names a parameter of read_network (and so
    of Network.from_nir, which forwards its keywords)."""
    parameters = set(inspect.signature(read_network).parameters)
    messages = []
    for make, _ in REFUSALS:
        for convention in (None, "snntorch"):
            try:
                read_network(make(), convention=convention)
            except FileFormatError as err:
                messages.append(str(err))
    for graph in (_lif_graph(),):
        with pytest.raises(FileFormatError) as info:
            read_network(graph)
        messages.append(str(info.value))
    suggested = {name for m in messages for name in re.findall(r"\b(\w+)=", m)}
    offered = {name for m in messages for name in re.findall(r"pass (\w+)=", m)}
    assert offered, "the messages should say which argument fixes them"
    assert offered <= parameters, offered - parameters
    assert {"dt", "convention"} <= suggested
    readers = {nir_format: parameters, nir_neurons: parameters,
               netx: set(inspect.signature(netx.read_network).parameters)}
    for module, accepted in readers.items():  # every suggestion written in the sources too
        source = re.sub(r'"\s*\n\s*f?"', "", inspect.getsource(module))  # join split strings
        for name in re.findall(r"(?:pass |with )(\w+)=", source):
            assert name in accepted, (module.__name__, name)


def test_model_files_without_time_step_say_how_to_state_it(tmp_path):
    from ldsnn_lava.resolve import load_model

    path = tmp_path / "foreign.nir"
    nir.write(path, _lif_graph())
    with pytest.raises(FileFormatError, match=r"foreign.nir: node 'lif' \(LIF\): a NIR LIF node "
                                              r"needs a time step.*write_network\(Network"
                                              r".from_nir\(path, dt=\.\.\."):
        load_model(path)
    write_network(read_network(path, dt=1e-4), tmp_path / "stated.nir")
    assert load_model(tmp_path / "stated.nir").network.stages[0].neuron.voltage_decay == \
        pytest.approx(0.1)
