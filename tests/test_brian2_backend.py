"""The Brian2 backend (to_brian2) against the torch engine: identical spikes, readouts, counters.

Random networks come from two independent generators: ``ldsnn_testing`` (float: dyadic weights,
conv stride/padding, pooling, mixed neurons) and ``lava_conformance_nets`` (small integers for
fixed point). Dyadic weights make every float sum exact in any order, so readouts are compared
for equality too.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import brian2
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lava_conformance_nets import random_inputs, random_network, random_schedule
from ldsnn_testing import (
    apply_ops_ref,
    connectivity_ref,
    cuba_lif_fixed_ref,
    inputs,
    networks,
    schedules,
    small_net,
)

from benchmarks.backend_speed import LD_SCHEDULES
from ldsnn_lava import (
    IF,
    AvgPool2d,
    CubaLIF,
    Dense,
    Flatten,
    Network,
    Scale,
    Schedule,
    Stage,
    SumPool2d,
    datasets,
    evaluate,
    zoo,
)
from ldsnn_lava.brian2_backend import to_brian2
from ldsnn_lava.brian2_backend.neurons import neuron_code
from ldsnn_lava.errors import InvalidInput, InvalidNetwork, InvalidOption, InvalidSchedule
from ldsnn_lava.neurons import NEURON_TYPES
from ldsnn_lava.sparse_ops import sparse_chain


def describe(net: Network, schedule: Schedule) -> None:
    """Hypothesis events naming what a case covers (``--hypothesis-show-statistics``)."""
    ops = {type(op).__name__ for stage in net.stages for op in stage.ops}
    event("conv" if "Conv2d" in ops else "dense")
    for neuron in {type(stage.neuron).__name__ for stage in net.stages if stage.neuron}:
        event(neuron)
    for kind in set(schedule.buffers):
        event(f"{kind} buffer")
    event(f"{net.input_encoding} input")
    event(str(schedule.mode))


def assert_conforms(net: Network, schedule: Schedule, x: np.ndarray, precision: str) -> None:
    ref = evaluate(net, schedule, x, dtype=torch.float64, precision=precision)
    got = to_brian2(net, schedule, precision).run(x)
    for stage, (a, b) in enumerate(zip(ref.spike_counts, got.spike_counts, strict=True)):
        np.testing.assert_array_equal(b, a, err_msg=f"spike counts of stage {stage}")
    np.testing.assert_array_equal(got.readout, ref.readout, err_msg="readout sums")
    np.testing.assert_array_equal(got.predictions, ref.predictions)
    for name, values in ref.counters.per_stage.items():
        np.testing.assert_allclose(got.counters.per_stage[name], values, err_msg=name)


BRIAN2_SETTINGS = dict(deadline=None, derandomize=True,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=36, **BRIAN2_SETTINGS)
@given(data=st.data())
def test_float_networks_equal_engine(data):
    net = data.draw(networks())
    schedule = data.draw(schedules(net, max_T=5))
    describe(net, schedule)
    assert_conforms(net, schedule, data.draw(inputs(net, max_n=3)), "float")


@settings(max_examples=16, **BRIAN2_SETTINGS)
@given(case=st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "arch": st.sampled_from(["dense", "conv"]),
    "neuron": st.sampled_from(["IF", "CubaLIF"]),
    "encoding": st.sampled_from(["direct", "rate"]),
    "mode": st.sampled_from(["sequential", "pipelined"]),
    "uniform": st.booleans(),
}))
def test_fixed_networks_equal_engine(case):
    net = random_network(case["seed"], case["arch"], case["neuron"], True, case["encoding"])
    schedule = random_schedule(case["seed"], net.num_stages, case["mode"], case["uniform"])
    describe(net, schedule)
    assert_conforms(net, schedule, random_inputs(case["seed"], net, 3, True), "fixed")


@settings(max_examples=6, **BRIAN2_SETTINGS)
@given(seed=st.integers(0, 2**31 - 1), arch=st.sampled_from(["dense", "conv"]),
       precision=st.sampled_from(["float", "fixed"]), refractory=st.integers(1, 3),
       mode=st.sampled_from(["sequential", "pipelined"]))
def test_refractory_cubalif_equals_engine(seed, arch, precision, refractory, mode):
    fixed = precision == "fixed"
    net = random_network(seed, arch, "CubaLIF", fixed, "direct")
    net = Network(net.input_shape, [
        Stage(stage.ops, None if stage.neuron is None
              else dataclasses.replace(stage.neuron, refractory=refractory))
        for stage in net.stages])
    schedule = random_schedule(seed, net.num_stages, mode, False)
    assert_conforms(net, schedule, random_inputs(seed, net, 3, fixed), precision)


@pytest.mark.parametrize("mode", ["sequential", "pipelined"])
def test_conv_cubalif_rate_buffers_with_one_step_windows(mode):
    """Always covered: conv + sum pool + CubaLIF in fixed point, rate buffers, a T=1 window."""
    net = random_network(7, "conv", "CubaLIF", True, "direct")
    assert_conforms(net, Schedule([3, 1, 4], "rate", mode), random_inputs(7, net, 3, True),
                    "fixed")


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_netx_style_input_layer(precision):
    """A truncating Scale as stage 0's first op (a netx input layer) runs in the input group;
    a CubaLIF whose bias and decays stress Loihi's wrap, truncation and saturation."""
    rng = np.random.default_rng(5)
    net = Network((6,), [
        Stage([Scale(76.0, 64.0, truncate=True)],
              CubaLIF(80.0, current_decay=1 / 4096, voltage_decay=123 / 4096, bias=3.0)),
        Stage([Dense(rng.integers(-200, 200, (5, 6)).astype(float) * 2)],
              CubaLIF(80.0, current_decay=1.0, voltage_decay=0.0, bias=-1.0)),
        Stage([Dense(rng.integers(-9, 9, (3, 5)).astype(float))], None),
    ])
    x = rng.uniform(-1, 1, (4, 6)).astype(np.float32)
    assert_conforms(net, Schedule([4, 2, 2], ["rate", "replay"], "pipelined"), x, precision)


@settings(max_examples=8, **BRIAN2_SETTINGS)
@given(threshold=st.integers(0, 2000), du=st.integers(0, 4096), dv=st.integers(0, 4096),
       bias=st.integers(-300, 300), steps=st.integers(1, 15), seed=st.integers(0, 2**31 - 1),
       scale=st.sampled_from([100, 10_000, 200_000]))
def test_fixed_cuba_lif_equals_lavas_bit_accurate_rule(threshold, du, dv, bias, steps, seed,
                                                       scale):
    """Brian2's int64 CubaLIF against an independent scalar transcription of Lava's
    bit-accurate LIF; large currents exercise u's wrap-around and v's saturation."""
    currents = np.random.default_rng(seed).integers(-scale, scale, 6)
    neuron = CubaLIF(threshold, current_decay=du / 4096, voltage_decay=dv / 4096, bias=bias)
    net = Network((6,), [Stage([Dense(np.eye(6))], neuron),
                         Stage([Dense(np.ones((1, 6)))], None)])
    got = to_brian2(net, Schedule([steps, 1], "rate"), "fixed").run(currents[None] * 1.0)
    for n, current in enumerate(currents):
        spikes, _, _ = cuba_lif_fixed_ref(threshold, du, dv, bias, [int(current)] * steps)
        assert got.spike_counts[0][0, n] == sum(spikes)


def test_every_neuron_model_has_brian2_code():
    for neuron_type in NEURON_TYPES.values():
        assert neuron_type in neuron_code.registry, f"{neuron_type.__name__} has no Brian2 code"


# --- synapses: op chains as sparse affine maps ------------------------------------------------


@settings(max_examples=30, deadline=None, derandomize=True)
@given(data=st.data())
def test_sparse_chain_equals_independent_reference(data):
    net = data.draw(networks())
    rng = np.random.default_rng(0)
    for index, stage in enumerate(net.stages):
        in_shape = net.input_shape_of(index)
        amap = sparse_chain(stage.ops, in_shape)
        x = rng.integers(-3, 4, (5, *in_shape)).astype(np.float64)
        expected = apply_ops_ref(stage.ops, x).reshape(5, -1)
        got = x.reshape(5, -1) @ amap.matrix.toarray().T + amap.bias
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        # every synapse is a structural connection (zero weights are left out)
        reach = connectivity_ref(stage.ops, in_shape)
        assert reach[amap.matrix.row, amap.matrix.col].all()


def test_sparse_chain_of_sum_pool_and_scale():
    x = np.arange(32, dtype=np.float64).reshape(2, 4, 4)
    amap = sparse_chain([Scale(2.0, 1.0), SumPool2d(2), Flatten()], (2, 4, 4))
    pooled = (2 * x + 1).reshape(2, 2, 2, 2, 2).sum(axis=(2, 4))
    np.testing.assert_array_equal(amap.matrix @ x.ravel() + amap.bias, pooled.ravel())


# --- streaming: memory independent of the number of samples -----------------------------------


def test_brian2_objects_do_not_grow_with_samples():
    net = random_network(3, "conv", "IF", False, "rate")
    runner = to_brian2(net, Schedule([2, 3, 3], ["rate", "replay"], "pipelined"))
    small, large = (runner.build(random_inputs(3, net, n, False)) for n in (2, 12))

    def sizes(graph):
        return {obj.name: len(obj) for obj in graph.network.objects
                if isinstance(obj, brian2.NeuronGroup | brian2.Synapses)}

    assert sizes(small) == sizes(large)
    assert large.num_steps > small.num_steps
    for graph in (small, large):  # and each streams its samples through
        graph.run()
        assert len(graph.readout_sums()) == graph.num_samples


# --- errors -------------------------------------------------------------------------------------


def test_bad_options_and_schedule():
    with pytest.raises(InvalidOption, match="precision must be one of"):
        to_brian2(small_net(), Schedule([2, 2], "rate"), "double")
    with pytest.raises(InvalidSchedule, match="schedule has 3 stages but the network has 2"):
        to_brian2(small_net(), Schedule([2, 2, 2], "rate"))


def test_unsupported_op_and_neuron_are_named():
    net = Network((4,), [Stage([Dense(np.ones((3, 4)))], IF(2.0)),
                         Stage([Scale(2.0, 0.5, truncate=True), Dense(np.ones((2, 3)))], None)])
    with pytest.raises(InvalidNetwork, match="stage 1: a truncating Scale .* is not affine"):
        to_brian2(net, Schedule([2, 2], "rate"))
    with pytest.raises(InvalidNetwork, match="neuron model object has no Brian2 code"):
        neuron_code(object(), False)


def test_delays_and_sequence_input_are_refused_by_name():
    net = Network((4,), [Stage([Dense(np.ones((3, 4)))], IF(2.0), delay=[0, 2, 1]),
                         Stage([Dense(np.ones((2, 3)))], None)])
    with pytest.raises(InvalidNetwork, match="stage 0: per-neuron input delays do not run"):
        to_brian2(net, Schedule([2, 2], "rate"))
    events = Network((4,), small_net().stages, input_encoding="events")
    with pytest.raises(InvalidNetwork, match="input encoding 'events' has no Brian2 input group"):
        to_brian2(events, Schedule([2, 2], "rate", chunk=2))


def test_fixed_needs_integer_network_and_inputs():
    with pytest.raises(InvalidNetwork, match="stage 0: Dense weight must be integers"):
        to_brian2(small_net(0.5), Schedule([2, 2], "rate"), "fixed")
    pooled = Network((1, 4, 4), [Stage([AvgPool2d(2), Flatten(), Dense(np.ones((2, 4)))], None)])
    with pytest.raises(InvalidNetwork, match="stage 0: AvgPool2d is fractional"):
        to_brian2(pooled, Schedule([2]), "fixed")
    net = Network((4,), [Stage([Dense(np.ones((3, 4)))], IF(3.0, v_init=1.5)),
                         Stage([Dense(np.ones((2, 3)))], None)])
    with pytest.raises(InvalidNetwork, match="stage 0: fixed precision needs an integer IF v_init"):
        to_brian2(net, Schedule([2, 2], "rate"), "fixed")
    with pytest.raises(InvalidInput, match="integer-valued inputs"):
        to_brian2(small_net(1.0), Schedule([2, 2], "rate"), "fixed").run(np.full((2, 4), 0.5))


def test_bad_inputs():
    runner = to_brian2(small_net(), Schedule([2, 2], "rate"))
    with pytest.raises(InvalidInput, match="input must have shape"):
        runner.run(np.zeros((2, 5)))
    with pytest.raises(InvalidInput, match="no samples"):
        runner.run(np.zeros((0, 4)))
    with pytest.raises(InvalidInput, match="NaN"):
        runner.run(np.full((1, 4), np.nan))


def test_missing_brian2_names_the_install():
    """Where brian2 cannot be imported, the backend says what to install (the rest works)."""
    code = ("import sys; sys.modules['brian2'] = None\n"
            "import ldsnn_lava\n"
            "from ldsnn_lava.errors import BackendUnavailable\n"
            "try:\n"
            "    ldsnn_lava.to_brian2\n"
            "except BackendUnavailable as err:\n"
            "    print(err)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "pip install 'ldsnn-lava[brian2]'" in proc.stdout


# --- the zoo's LD schedules on real test images -------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LD_SCHEDULES))
def test_zoo_ld_schedule_on_100_test_images(name):
    """Spike for spike on real weights (float32 values, so float sums are not all exact: the
    readouts may differ in the last bits, the spikes and predictions may not)."""
    model = zoo.load(name)
    x = model.preprocess(datasets.load(model.dataset).x_test[:100])
    schedule = LD_SCHEDULES[name]
    ref = evaluate(model.network, schedule, x, dtype=torch.float64, precision=model.precision)
    got = to_brian2(model.network, schedule, model.precision).run(x)
    for stage, (a, b) in enumerate(zip(ref.spike_counts, got.spike_counts, strict=True)):
        np.testing.assert_array_equal(b, a, err_msg=f"spike counts of stage {stage}")
    np.testing.assert_allclose(got.readout, ref.readout, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(got.predictions, ref.predictions)


# --- command line and tutorial --------------------------------------------------------------------

LDSNN = [sys.executable, "-m", "ldsnn_lava.cli"]


def test_cli_evaluate_with_brian2_equals_torch(tmp_path):
    schedule = tmp_path / "schedule.json"
    Schedule([2, 1, 1], "rate", "pipelined").save(schedule)
    outputs = {}
    for backend in ("torch", "brian2"):
        proc = subprocess.run([*LDSNN, "evaluate", "mlp_digits", "--schedule", schedule,
                               "--limit", "12", "--backend", backend],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert f"backend {backend}" in proc.stdout
        outputs[backend] = [line for line in proc.stdout.splitlines()
                            if not line.startswith(("wall-clock", "elapsed", "mlp_digits on"))]
    assert outputs["brian2"] == outputs["torch"]  # accuracy and every counter


def test_cli_without_brian2_says_what_to_install(tmp_path):
    schedule = tmp_path / "schedule.json"
    Schedule([2, 2, 2], "replay").save(schedule)
    code = ("import sys; sys.modules['brian2'] = None\n"
            "from ldsnn_lava.cli import main\n"
            f"sys.exit(main(['evaluate', 'mlp_digits', '--schedule', {str(schedule)!r}, "
            "'--limit', '2', '--backend', 'brian2']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "pip install 'ldsnn-lava[brian2]'" in proc.stderr


def test_tutorial_runs():
    tutorial = Path(__file__).parents[1] / "tutorials" / "brian2_cross_check.py"
    proc = subprocess.run([sys.executable, str(tutorial), "3"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("identical in Brian2") == 4 and "DIFFERENT" not in proc.stdout
    assert "predictions identical: True" in proc.stdout
    assert "pipelined readout sums equal the sequential run's: True" in proc.stdout


@pytest.mark.parametrize("ignored", [False, True])
def test_importing_the_backend_keeps_the_process_sigint_handler(ignored):
    """Brian2 replaces the SIGINT handler on import; the backend puts the process's back, so
    Ctrl-C still interrupts (not a quiet early stop of a run) and an ignored SIGINT stays
    ignored (Brian2's handler would call the ignore marker and fail)."""
    script = "\n".join([
        "import os, signal",
        f"if {ignored}: signal.signal(signal.SIGINT, signal.SIG_IGN)",
        "before = signal.getsignal(signal.SIGINT)",
        "import ldsnn_lava.brian2_backend",
        "assert signal.getsignal(signal.SIGINT) is before, signal.getsignal(signal.SIGINT)",
        f"if {ignored}: os.kill(os.getpid(), signal.SIGINT)",
        "print('ok')"])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
