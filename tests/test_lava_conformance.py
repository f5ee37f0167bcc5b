"""The Lava processes (to_lava) against the torch engine: identical spikes and readout sums."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lava_conformance_nets import random_inputs, random_network, random_schedule
from ldsnn_lava.processes.graph import to_lava
from ldsnn_testing import small_net

from ldsnn_lava import IF, Dense, Network, Schedule, Stage, evaluate
from ldsnn_lava.clock import Window, stage_windows, total_steps
from ldsnn_lava.quantize import quantize


def assert_conforms(net: Network, schedule: Schedule, x: np.ndarray, precision: str,
                    model: str = "step") -> None:
    ref = evaluate(net, schedule, x, dtype=torch.float64, precision=precision)
    got = to_lava(net, schedule, precision, model).run(x)
    for stage, (a, b) in enumerate(zip(ref.spike_counts, got.spike_counts, strict=True)):
        np.testing.assert_array_equal(b, a, err_msg=f"spike counts of stage {stage}")
    np.testing.assert_array_equal(got.readout, ref.readout, err_msg="readout sums")
    np.testing.assert_array_equal(got.predictions, ref.predictions)
    for name, values in ref.counters.per_stage.items():
        np.testing.assert_allclose(got.counters.per_stage[name], values, err_msg=name)


cases = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "arch": st.sampled_from(["dense", "conv"]),
    "neuron": st.sampled_from(["IF", "CubaLIF"]),
    "encoding": st.sampled_from(["direct", "rate"]),
    "mode": st.sampled_from(["sequential", "pipelined"]),
    "uniform": st.booleans(),
})


def check_case(case: dict, precision: str, n: int = 4, model: str = "step") -> None:
    fixed = precision == "fixed"
    net = random_network(case["seed"], case["arch"], case["neuron"], fixed, case["encoding"])
    schedule = random_schedule(case["seed"], net.num_stages, case["mode"], case["uniform"],
                               graded=True)
    x = random_inputs(case["seed"], net, n, fixed)
    assert_conforms(net, schedule, x, precision, model)


LAVA_SETTINGS = settings(max_examples=8, deadline=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.lava
@pytest.mark.parametrize("model", ["step", "window"])
@pytest.mark.parametrize("precision", ["float", "fixed"])
@LAVA_SETTINGS
@given(case=cases)
def test_lava_equals_engine(precision, model, case):
    check_case(case, precision, model=model)


@pytest.mark.lava
@pytest.mark.parametrize("model", ["step", "window"])
@pytest.mark.parametrize("mode", ["sequential", "pipelined"])
def test_conv_cubalif_ld_schedule(mode, model):
    """A fixed case that always covers conv + CubaLIF + rate buffers + T=1 windows."""
    net = random_network(7, "conv", "CubaLIF", True, "direct")
    assert_conforms(net, Schedule([3, 1, 4], "rate", mode), random_inputs(7, net, 3, True),
                    "fixed", model)


@pytest.mark.lava
@pytest.mark.parametrize("model", ["step", "window"])
@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_graded_buffers_into_a_one_step_window(precision, model):
    """Graded gaps into T = 1 and out of it, both modes: bit for bit (fixed) and spike for
    spike (float) against the engine."""
    fixed = precision == "fixed"
    for seed, mode in ((7, "sequential"), (8, "pipelined")):
        net = random_network(seed, "conv", "CubaLIF" if fixed else "IF", fixed, "direct")
        assert_conforms(net, Schedule([5, 1, 3], "graded", mode),
                        random_inputs(seed, net, 3, fixed), precision, model)


@pytest.mark.slow
@pytest.mark.lava
@pytest.mark.parametrize("model", ["step", "window"])
@pytest.mark.parametrize("precision", ["float", "fixed"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_lava_equals_engine_sweep(precision, model, case):
    check_case(case, precision, n=12, model=model)


# --- windows (no Lava) ----------------------------------------------------------------------


def test_windows_sequential_and_pipelined():
    seq = stage_windows(Schedule([3, 1, 2], "rate"))
    assert [(w.offset, w.length, w.period, w.lag) for w in seq] == [
        (0, 3, 6, 0), (3, 1, 6, 0), (4, 2, 6, 0)]
    pipe = stage_windows(Schedule([3, 1, 2], "rate", "pipelined"))
    assert [(w.offset, w.length, w.period, w.lag) for w in pipe] == [
        (0, 3, 3, 0), (0, 1, 3, 1), (0, 2, 3, 2)]
    assert pipe[1].phase(3) == 0 and pipe[1].phase(4) is None and pipe[1].sample(3) == 0
    assert total_steps(Schedule([3, 1, 2], "rate"), 5) == 30
    assert total_steps(Schedule([3, 1, 2], "rate", "pipelined"), 5) == 21


def test_window_clock():
    """Under the window models every stage's window is one clock step long."""
    seq = stage_windows(Schedule([3, 1, 2], "rate"), "window")
    assert [(w.offset, w.length, w.period, w.lag) for w in seq] == [
        (0, 1, 3, 0), (1, 1, 3, 0), (2, 1, 3, 0)]
    pipe = stage_windows(Schedule([3, 1, 2], "rate", "pipelined"), "window")
    assert [(w.offset, w.length, w.period, w.lag) for w in pipe] == [
        (0, 1, 1, 0), (0, 1, 1, 1), (0, 1, 1, 2)]
    assert total_steps(Schedule([3, 1, 2], "rate"), 5, "window") == 15
    assert total_steps(Schedule([3, 1, 2], "rate", "pipelined"), 5, "window") == 7
    with pytest.raises(ValueError, match="unit must be one of"):
        stage_windows(Schedule([3, 1, 2], "rate"), "tick")


def test_window_rejects_bad_geometry():
    with pytest.raises(ValueError, match="does not fit"):
        Window(2, 3, 4)
    with pytest.raises(ValueError, match="lag"):
        Window(0, 1, 1, -1)


# --- error paths ----------------------------------------------------------------------------


def test_bad_precision_model_and_schedule_mismatch():
    with pytest.raises(ValueError, match="precision must be one of"):
        to_lava(small_net(), Schedule([2, 2], "rate"), "double")
    with pytest.raises(ValueError, match="model must be one of"):
        to_lava(small_net(), Schedule([2, 2], "rate"), model="tick")
    with pytest.raises(ValueError, match="schedule has 3 stages but the network has 2"):
        to_lava(small_net(), Schedule([2, 2, 2], "rate"))


def test_fixed_needs_integer_network_and_inputs():
    with pytest.raises(ValueError, match="stage 0: Dense weight must be integers"):
        to_lava(small_net(0.5), Schedule([2, 2], "rate"), "fixed")
    net = Network((4,), [Stage([Dense(np.ones((3, 4)))], IF(3.0, v_init=1.5)),
                         Stage([Dense(np.ones((2, 3)))], None)])
    with pytest.raises(ValueError, match="stage 0: fixed precision needs an integer IF v_init"):
        to_lava(net, Schedule([2, 2], "rate"), "fixed")
    lava_net = to_lava(small_net(1.0), Schedule([2, 2], "rate"), "fixed")
    with pytest.raises(ValueError, match="integer-valued inputs"):
        lava_net.run(np.full((2, 4), 0.5))


def test_bad_inputs():
    lava_net = to_lava(small_net(), Schedule([2, 2], "rate"))
    with pytest.raises(ValueError, match="input must have shape"):
        lava_net.run(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="no samples"):
        lava_net.run(np.zeros((0, 4)))


@pytest.mark.lava
@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_runtime_stopped_when_run_is_interrupted(error, monkeypatch):
    """An exception raised in the host while Lava runs (here from a signal handler, as a
    Ctrl-C would) propagates, and no Lava runtime process is left behind.

    One exception is raised. If it lands while Lava forks its processes, the interpreter's
    at-fork handlers swallow it (and report it as unraisable), which says nothing about the
    runtime: the hook below sees that and the signal is sent again."""
    lava_net = to_lava(small_net(), Schedule([8, 8], "replay"))
    x = np.ones((4000, 4))  # 64,000 steps: far longer than the signals take to arrive
    raised, stop = threading.Event(), threading.Event()

    def handler(signum, frame):
        if not raised.is_set():
            raised.set()
            raise error("interrupted by the test")

    def unraisable(hook_args) -> None:
        if isinstance(hook_args.exc_value, error):
            raised.clear()  # swallowed: try again

    def send() -> None:
        while not stop.wait(0.5):
            if not raised.is_set():
                os.kill(os.getpid(), signal.SIGUSR1)

    monkeypatch.setattr(sys, "unraisablehook", unraisable)
    previous = signal.signal(signal.SIGUSR1, handler)
    sender = threading.Thread(target=send, daemon=True)
    try:
        sender.start()
        with pytest.raises(error, match="interrupted by the test"):
            lava_net.run(x)
    finally:
        stop.set()
        sender.join()
        signal.signal(signal.SIGUSR1, previous)
    assert multiprocessing.active_children() == []


@pytest.mark.lava
def test_quantized_network_runs_bit_exact_on_lava():
    """quantize() output on a float network with arbitrary weights: Lava fixed == engine fixed."""
    rng = np.random.default_rng(3)
    net = Network((10,), [Stage([Dense(rng.normal(0, 0.6, (8, 10)))], IF(1.0)),
                          Stage([Dense(rng.normal(0, 0.6, (3, 8)))], None)])
    q = quantize(net)
    x = q.encode_input(rng.random((5, 10)))
    assert_conforms(q.network, Schedule([5, 3], "rate", "pipelined"), x, "fixed")


def test_graph_rejects_the_other_model_kind():
    """Running window-built processes under a step tag (or the reverse) is a clear error."""
    for built, other in (("window", "step"), ("step", "window")):
        runner = to_lava(small_net(), Schedule([2, 2], "rate"), model=built)
        graph = runner.build(np.ones((2, 4)))
        with pytest.raises(ValueError, match=f"built for the {built} models"):
            graph.run(to_lava(small_net(), Schedule([2, 2], "rate"), model=other).tag)


@pytest.mark.lava
def test_timed_run_after_warmup_gives_the_same_results():
    """``LavaGraph.run(tag, warmup_steps)`` splits the run in two calls: same results."""
    net = small_net()
    schedule = Schedule([3, 2], "rate", "pipelined")
    x = np.arange(20, dtype=np.float64).reshape(5, 4) / 8
    ref = evaluate(net, schedule, x, dtype=torch.float64)
    for model in ("step", "window"):
        runner = to_lava(net, schedule, model=model)
        graph = runner.build(x)
        seconds = graph.run(runner.tag, warmup_steps=2)
        np.testing.assert_array_equal(graph.readout_sums(), ref.readout)
        np.testing.assert_array_equal(graph.spike_counts()[0], ref.spike_counts[0])
        assert seconds > 0
        with pytest.raises(ValueError, match="warmup_steps must be in"):
            graph.run(runner.tag, warmup_steps=graph.num_steps)
