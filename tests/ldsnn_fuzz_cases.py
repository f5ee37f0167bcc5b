"""Hypothesis strategies of fuzz cases (see ``ldsnn_fuzz``), one per area of the public API.

Each strategy draws a valid call and then corrupts some of its arguments from pools of bad
values, each bad value labelled with what the call must do with it (``error``, or ``either``
when refusing and accepting are both right). The verdict of a case is the strictest of its
corruptions; a case without corruption must succeed and pass its sanity check.

The sanity checks are independent oracles: they recompute what a result must satisfy from the
semantics (readout finite, predictions its argmax, spike counts within ``[0, T_l]``, neuron
updates ``N_l * T_l``, buffer updates ``N_l * T_{l+1}``, synaptic updates from the spike counts
and fan-outs, an optimization's chosen point re-evaluated by ``evaluate`` ...).
"""

from __future__ import annotations

import math
import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from hypothesis import strategies as st
from ldsnn_fuzz import Case

from ldsnn_lava import (
    IF,
    AvgPool2d,
    Conv2d,
    CubaLIF,
    Dense,
    Flatten,
    Network,
    Scale,
    Schedule,
    Stage,
    SumPool2d,
    evaluate,
)

VERDICTS = ("valid", "either", "error")


def strictest(*verdicts: str) -> str:
    return max(verdicts, key=VERDICTS.index)


class Verdict:
    """Draws the arguments of one case and collects their corruptions.

    Its choices come from a ``random.Random`` seeded by hypothesis (so that every choice is
    uniform, not biased toward hypothesis's favourite first elements), and at most
    ``budget`` arguments of a case are corrupted: none for about a quarter of the cases, one
    for half of them, two for the rest.
    """

    def __init__(self, draw):
        self.rng = random.Random(draw(st.integers(0, 2**63 - 1)))
        self.verdicts: list[str] = ["valid"]
        self.labels: list[str] = []
        self.budget = self.rng.choice([0, 1, 1, 2])

    def pick(self, valid, bad: list[tuple[str, object, str]], p_bad: float = 0.15):
        """The valid value, or (while the budget lasts, with probability ``2 p_bad``) one
        of the ``bad`` ones (a callable is called to make the value)."""
        if self.budget <= 0 or not bad or self.rng.random() >= min(0.9, 2 * p_bad):
            return valid
        label, value, verdict = self.rng.choice(bad)
        self.budget -= 1
        self.labels.append(label)
        self.verdicts.append(verdict)
        return value() if callable(value) else value

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def choice(self, options):
        return self.rng.choice(list(options))

    def coin(self) -> bool:
        return self.rng.random() < 0.5

    @property
    def expect(self) -> str:
        return strictest(*self.verdicts)

    def label(self, base: str) -> str:
        return base + (": " + ", ".join(self.labels) if self.labels else "")


def bad_arrays(shape: tuple[int, ...]) -> list[tuple[str, object, str]]:
    """Bad values for an array parameter of a valid ``shape``."""
    return [
        ("NaN", lambda: np.full(shape, np.nan), "error"),
        ("inf", lambda: np.full(shape, -np.inf), "error"),
        ("one NaN", lambda: np.where(np.arange(int(np.prod(shape))).reshape(shape) == 0,
                                     np.nan, 1.0), "error"),
        ("complex", lambda: np.ones(shape) * (1 + 1j), "error"),
        ("complex, zero imaginary", lambda: np.ones(shape, dtype=complex), "error"),
        ("strings", lambda: np.full(shape, "a"), "error"),
        ("None", None, "error"),
        ("a string", "weights", "error"),
        ("objects", lambda: np.array([object()] * int(np.prod(shape)), dtype=object), "error"),
        ("ragged list", [[1.0, 2.0], [3.0]], "error"),
        ("wrong rank", lambda: np.ones((*shape, 1)), "error"),
        ("empty", lambda: np.ones((0, *shape[1:])), "error"),
        ("0-d", lambda: np.array(1.0), "error"),
        ("float16", lambda: np.ones(shape, dtype=np.float16), "valid"),
        ("ints", lambda: np.ones(shape, dtype=np.int64), "valid"),
        ("torch tensor", lambda: torch.ones(shape), "valid"),
        ("nested lists", lambda: np.ones(shape).tolist(), "valid"),
        ("1e300", lambda: np.full(shape, 1e300), "either"),
    ]


# --- pools of small valid networks ------------------------------------------------------------


def mlp(rng: np.random.Generator, sizes=(6, 5, 3), encoding: str = "direct",
        neuron=None) -> Network:
    stages = []
    for index, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        last = index == len(sizes) - 2
        weight = rng.normal(0, 0.7, (b, a))
        stages.append(Stage([Dense(weight)], None if last else (neuron or IF(1.0))))
    return Network((sizes[0],), stages, input_encoding=encoding)


def conv_net(rng: np.random.Generator) -> Network:
    return Network((1, 5, 5), [
        Stage([Conv2d(rng.normal(0, 0.6, (2, 1, 3, 3)), padding=1)], IF(1.0)),
        Stage([AvgPool2d(2), Flatten(), Dense(rng.normal(0, 0.6, (4, 8)))], IF(0.8, 0.0)),
        Stage([Dense(rng.normal(0, 0.6, (3, 4)))], None)])


def fixed_net(rng: np.random.Generator) -> Network:
    return Network((6,), [
        Stage([Dense(rng.integers(-40, 40, (5, 6)).astype(float))],
              CubaLIF(threshold=50, current_decay=1.0, voltage_decay=256 / 4096)),
        Stage([Dense(rng.integers(-40, 40, (3, 5)).astype(float))], None)])


NETS: dict[str, Callable[[np.random.Generator], Network]] = {
    "mlp": lambda r: mlp(r),
    "mlp4": lambda r: mlp(r, (6, 7, 5, 3)),
    "rate mlp": lambda r: mlp(r, encoding="rate"),
    "lif mlp": lambda r: mlp(r, neuron=CubaLIF(0.9, 0.25, 0.125, 0.01)),
    "conv": conv_net,
    "fixed": fixed_net,
}


def sample_inputs(net: Network, n: int, rng: np.random.Generator) -> np.ndarray:
    if net.input_encoding == "rate":
        return rng.random((n, *net.input_shape))
    if all(float(op.weight.max()).is_integer() for s in net.stages for op in s.ops
           if isinstance(op, Dense)):
        return rng.integers(-3, 4, (n, *net.input_shape)).astype(float)
    return rng.normal(0.3, 1.0, (n, *net.input_shape))


# --- sanity checks (independent oracles) ------------------------------------------------------


def _dense_fan_out(net: Network, stage: int) -> np.ndarray | None:
    """Fan-out of a stage's input elements when it is a single Dense op (else None)."""
    ops = net.stages[stage].ops
    if len(ops) == 1 and isinstance(ops[0], Dense):
        return np.full(net.input_shape_of(stage), ops[0].weight.shape[0])
    return None


def check_eval(net: Network, schedule: Schedule, n: int):
    """A sanity check of ``evaluate(net, schedule, x)`` for ``n`` samples."""
    def check(result) -> None:
        steps = schedule.timesteps
        classes = net.output_shape_of(net.num_stages - 1)[0]
        readout = np.asarray(result.readout)
        assert readout.shape == (n, classes), f"readout shape {readout.shape}"
        assert np.all(np.isfinite(readout)), "non-finite readout"
        assert np.array_equal(result.predictions, np.argmax(readout, axis=1)), "predictions"
        assert result.spike_counts is None or len(result.spike_counts) == net.num_stages - 1
        for index, counts in enumerate(result.spike_counts or []):
            assert counts.shape == (n, *net.output_shape_of(index)), f"counts {index} shape"
            assert counts.min() >= 0 and counts.max() <= steps[index], f"counts {index} range"
        per = result.counters.per_stage
        for name, values in per.items():
            assert np.all(np.isfinite(values)) and np.all(np.asarray(values) >= 0), name
        neurons = [int(np.prod(net.output_shape_of(i))) for i in range(net.num_stages)]
        assert np.allclose(per["neurons_evaluated"], np.multiply(neurons, steps)), "neurons"
        expected_buffers = [neurons[g] * steps[g + 1] if mode == "rate" else 0
                            for g, mode in enumerate(schedule.buffers)] + [0]
        assert np.allclose(per["buffer_updates"], expected_buffers), "buffer updates"
        if result.spike_counts is not None:
            for stage in range(1, net.num_stages):
                fan_out = _dense_fan_out(net, stage)
                if fan_out is None:
                    continue
                counts = result.spike_counts[stage - 1].astype(np.int64)
                if schedule.buffers[stage - 1] == "rate":
                    t_in, t_out = steps[stage - 1], steps[stage]
                    counts = (t_in // 2 + counts * t_out) // t_in
                expected = float((counts * fan_out).sum()) / n
                assert math.isclose(per["synaptic_updates"][stage], expected,
                                    rel_tol=1e-9), f"synaptic updates of stage {stage}"
    return check


def check_network(net: Network) -> None:
    """A constructed (or loaded) network must evaluate sanely on valid inputs (when its input
    is small enough to make some here)."""
    assert isinstance(net, Network), f"got {type(net).__name__}"
    if np.prod(net.input_shape, dtype=float) > 1e6:
        return
    rng = np.random.default_rng(0)
    x = sample_inputs(net, 3, rng)
    schedule = Schedule.uniform(net, 3)
    precision = "float"
    result = evaluate(net, schedule, x, precision=precision)
    check_eval(net, schedule, 3)(result)


# --- area: network construction ---------------------------------------------------------------


def _bad_pairs(kind: str) -> list[tuple[str, object, str]]:
    return [
        (f"{kind} 0", 0, "error"), (f"{kind} -1", -1, "error"), (f"{kind} 1.5", 1.5, "error"),
        (f"{kind} '1'", "1", "error"), (f"{kind} None", None, "error"),
        (f"{kind} (1, 1, 1)", (1, 1, 1), "error"), (f"{kind} []", [], "error"),
        (f"{kind} True", True, "either"), (f"{kind} numpy int", np.int64(1), "valid"),
        (f"{kind} NaN", float("nan"), "error"),
    ]


def _bad_scalars(name: str, positive: bool = True) -> list[tuple[str, object, str]]:
    bad = [
        (f"{name} NaN", float("nan"), "error"), (f"{name} inf", float("inf"), "error"),
        (f"{name} complex", 1 + 1j, "error"), (f"{name} a string", "1", "error"),
        (f"{name} an array", np.ones(3), "error"), (f"{name} a list", [1.0], "error"),
        (f"{name} numpy float", np.float32(0.75), "valid"),
    ]
    if positive:
        bad += [(f"{name} 0", 0.0, "error"), (f"{name} negative", -1.0, "error")]
    return bad


def neuron_values(v: Verdict):
    kind = v.choice(["IF", "CubaLIF"])
    if kind == "IF":
        threshold = v.pick(1.0, _bad_scalars("threshold"))
        v_init = v.pick(None, _bad_scalars("v_init", positive=False)
                              + [("v_init 0", 0.0, "valid")])
        return lambda: IF(threshold, v_init)
    threshold = v.pick(0.9, _bad_scalars("threshold", positive=False) + [
        ("threshold negative", -1.0, "error"), ("threshold 0", 0.0, "valid")])
    decay_bad = [("decay -0.1", -0.1, "error"), ("decay 1.5", 1.5, "error"),
                 ("decay NaN", float("nan"), "error"), ("decay a string", "0.5", "error"),
                 ("decay 1", 1.0, "valid"), ("decay 0", 0.0, "valid")]
    du = v.pick(0.25, decay_bad)
    dv = v.pick(0.125, decay_bad)
    bias = v.pick(0.0, _bad_scalars("bias", positive=False))
    return lambda: CubaLIF(threshold, du, dv, bias)


@st.composite
def network_cases(draw) -> Case:
    """Build a network from drawn parts, some of them corrupted."""
    v = Verdict(draw)
    rng = np.random.default_rng(v.integer(0, 2**31))
    conv = v.coin()
    if conv:
        c, h = v.integer(1, 2), v.integer(3, 6)
        kernel = v.integer(1, 3)
        input_shape = (c, h, h)
        weight = v.pick(rng.normal(0, 0.5, (2, c, kernel, kernel)),
                             bad_arrays((2, c, kernel, kernel)))
        stride = v.pick(1, _bad_pairs("stride"))
        padding = v.pick(kernel // 2, _bad_pairs("padding")[1:] + [
            ("padding 10**7", 10**7, "error"),
            ("padding above half the kernel", kernel // 2 + 1, "error")])
        bias = v.pick(None, [("bias wrong length", np.ones(5), "error"),
                                        ("bias NaN", np.full(2, np.nan), "error"),
                                        ("bias 2-D", np.ones((2, 1)), "error"),
                                        ("bias complex", np.ones(2) * 1j, "error")])
        side = (h + 2 * (kernel // 2) - kernel) // 1 + 1
        first = [lambda: Conv2d(weight, bias, stride=stride, padding=padding)]
        pool_kernel = v.pick(1, [("pool kernel 0", 0, "error"),
                                            ("pool kernel huge", 99, "error"),
                                            ("pool kernel '2'", "2", "error")])
        first.append(lambda: SumPool2d(pool_kernel))
        features = 2 * side * side
        second = [lambda: Flatten(), lambda: Dense(rng.normal(0, 0.5, (3, features)))]
    else:
        n_in = v.integer(1, 6)
        input_shape = (n_in,)
        weight = v.pick(rng.normal(0, 0.5, (4, n_in)), bad_arrays((4, n_in))
                             + [("wrong input size", np.ones((4, n_in + 1)), "error")])
        bias = v.pick(None, [("bias wrong length", np.ones(5), "error"),
                                        ("bias NaN", np.full(4, np.nan), "error"),
                                        ("bias a string", "b", "error")])
        first = [lambda: Dense(weight, bias)]
        if v.coin():
            scale = v.pick(2.0, [("Scale weight not broadcastable", np.ones(7),
                                             "error"),
                                            ("Scale weight NaN", float("nan"), "error")])
            first.append(lambda: Scale(scale, 0.5))
        second = [lambda: Dense(rng.normal(0, 0.5, (3, 4)))]
    neuron = neuron_values(v)
    input_shape = v.pick(input_shape, [
        ("input_shape ()", (), "error"), ("input_shape (0,)", (0,), "error"),
        ("input_shape negative", (-3,), "error"), ("input_shape strings", ("a",), "error"),
        ("input_shape 2.5", (2.5,), "error"), ("input_shape None", None, "error"),
        ("input_shape an int", 5, "error"),
        ("input_shape numpy", np.array(input_shape), "valid")])
    encoding = v.pick(v.choice(["direct", "rate"]), [
        ("encoding bogus", "spiky", "error"), ("encoding None", None, "error"),
        ("encoding a number", 3, "error")])
    structure = v.pick("ok", [
        ("no stages", "none", "error"), ("readout first", "readout first", "error"),
        ("no readout", "no readout", "error"), ("a string as stage", "string", "error"),
        ("ops not a list", "bare op", "error"), ("no synaptic op", "flatten only", "error"),
        ("a neuron class, not an instance", "class", "error"),
        ("a string as op", "string op", "error"),
        ("a stage tuple", "tuple", "error")])
    name = v.pick("net", [("name a number", 5, "error"),
                                     ("name None", None, "valid")])

    def build() -> Network:
        ops1 = [make() for make in first]
        ops2 = [make() for make in second]
        spiking = Stage(ops1, neuron())
        readout = Stage(ops2, None)
        stages = [spiking, readout]
        if structure == "none":
            stages = []
        elif structure == "readout first":
            stages = [readout, spiking]
        elif structure == "no readout":
            stages = [spiking]
        elif structure == "string":
            stages = [spiking, "readout"]
        elif structure == "bare op":
            stages = [Stage(ops1[0], neuron()), readout]
        elif structure == "flatten only":
            stages = [Stage([Flatten()], neuron()), readout]
        elif structure == "class":
            stages = [Stage(ops1, IF), readout]
        elif structure == "string op":
            stages = [Stage([*ops1, "relu"], neuron()), readout]
        elif structure == "tuple":
            stages = [(ops1, neuron()), readout]
        return Network(input_shape, stages, input_encoding=encoding, name=name)

    label = v.label("conv network" if conv else "dense network")
    return Case("network", label, build, v.expect, check_network)


# --- area: schedules --------------------------------------------------------------------------

MAX_T_SMALL = 64


@st.composite
def schedule_cases(draw) -> Case:
    v = Verdict(draw)
    stages = v.integer(1, 4)
    steps = [v.integer(1, MAX_T_SMALL) for _ in range(stages)]
    bad_T = [("T 0", 0, "error"), ("T -1", -1, "error"), ("T 2.5", 2.5, "error"),
             ("T 2.0", 2.0, "error"), ("T True", True, "error"), ("T '3'", "3", "error"),
             ("T None", None, "error"), ("T NaN", float("nan"), "error"),
             ("T numpy int", np.int64(3), "valid"), ("T 10**9", 10**9, "either"),
             ("T 2**40", 2**40, "either"), ("T 10**30", 10**30, "error")]
    index = v.integer(0, stages - 1)
    steps[index] = v.pick(steps[index], bad_T, 0.3)
    timesteps = v.pick(steps, [
        ("timesteps empty", [], "error"), ("timesteps an int", 3, "error"),
        ("timesteps a string", "333", "error"), ("timesteps None", None, "error"),
        ("timesteps a dict", {0: 3}, "error"), ("timesteps a set", {3}, "either"),
        ("timesteps numpy", lambda: np.array(steps, dtype=np.int64)
         if all(type(t) is int and 0 < t < 2**62 for t in steps) else steps, "valid"),
        ("timesteps a generator", lambda: (t for t in steps), "either")])
    gaps = stages - 1
    buffers = v.choice(["rate", ["rate"] * gaps])
    buffers = v.pick(buffers, [
        ("buffers unknown", "fifo", "error"), ("buffers wrong length", ["rate"] * (gaps + 1),
                                               "error"),
        ("buffers None", None, "error"), ("buffers a number", 3, "error"),
        ("buffers replay on unequal T", "replay", "either")])
    mode = v.pick(v.choice(["sequential", "pipelined"]), [
        ("mode unknown", "parallel", "error"), ("mode a list", ["sequential"], "error"),
        ("mode None", None, "error")])
    if buffers == "replay" and isinstance(timesteps, list) and len(set(map(repr, timesteps))) > 1:
        v.verdicts.append("error")

    def check(schedule) -> None:
        assert isinstance(schedule, Schedule)
        assert all(isinstance(t, int) and t >= 1 for t in schedule.timesteps)
        assert len(schedule.buffers) == schedule.num_stages - 1
        again = Schedule.from_json(schedule.to_json())
        assert again == schedule, "JSON round trip"

    return Case("schedule", v.label(f"Schedule x{stages}"),
                lambda: Schedule(timesteps, buffers, mode), v.expect, check)


@st.composite
def schedule_text_cases(draw) -> Case:
    """Schedule.from_json on random text, or on a valid document with random values."""
    if draw(st.booleans()):
        text = draw(st.text(max_size=60))
        return Case("schedule-json", "from_json(random text)", lambda: Schedule.from_json(text),
                    "either", _schedule_sane)
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers(-5, 10**12) | st.floats() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5),
                                                                   inner, max_size=3),
        max_leaves=8)
    document = {"format": "ldsnn-schedule", "version": 1, "timesteps": [2, 2],
                "buffers": ["rate"], "mode": "sequential"}
    key = draw(st.sampled_from(sorted(document)))
    document[key] = draw(json_values)
    return Case("schedule-json", f"from_dict({key}=random)", lambda: Schedule.from_dict(document),
                "either", _schedule_sane)


def _schedule_sane(schedule) -> None:
    assert isinstance(schedule, Schedule)
    assert all(type(t) is int and t >= 1 for t in schedule.timesteps), schedule.timesteps
    assert schedule.mode in ("sequential", "pipelined")


# --- area: evaluate ---------------------------------------------------------------------------


def _bad_inputs(net: Network, n: int, rng, fill: float) -> list[tuple[str, object, str]]:
    """Bad inputs for ``net``; ``fill`` is a valid input value (an integer for fixed point)."""
    shape = (n, *net.input_shape)
    bad = [
        ("x NaN", lambda: np.full(shape, np.nan), "error"),
        ("x one inf", lambda: np.where(np.arange(np.prod(shape)).reshape(shape) == 1,
                                       np.inf, 0.5), "error"),
        ("x complex", lambda: np.full(shape, 0.5 + 0.5j), "error"),
        ("x complex, zero imaginary", lambda: np.full(shape, 0.5, dtype=complex), "error"),
        ("x strings", lambda: np.full(shape, "a"), "error"),
        ("x objects", lambda: np.full(shape, None, dtype=object), "error"),
        ("x None", None, "error"),
        ("x a string", "inputs", "error"),
        ("x no samples", lambda: np.zeros((0, *net.input_shape)), "error"),
        ("x one sample without batch axis", lambda: np.zeros(net.input_shape), "error"),
        ("x wrong shape", lambda: np.zeros((n, *net.input_shape, 2)), "error"),
        ("x wrong size", lambda: np.zeros((n, int(np.prod(net.input_shape)) + 1)), "error"),
        ("x ragged", [[0.5], [0.5, 0.5]], "error"),
        ("x ints", lambda: np.ones(shape, dtype=np.int64), "valid"),
        ("x bools", lambda: np.ones(shape, dtype=bool), "valid"),
        ("x float16 tensor", lambda: torch.full(shape, fill, dtype=torch.float16), "valid"),
        ("x list", lambda: np.full(shape, fill).tolist(), "valid"),
    ]
    if net.input_encoding == "rate":
        bad += [("rate x 0-255 pixels", lambda: rng.integers(0, 256, shape).astype(np.uint8),
                 "error"),
                ("rate x negative", lambda: np.full(shape, -0.1), "error"),
                ("rate x 1 + 1e-9", lambda: np.full(shape, 1 + 1e-9), "error")]
    else:
        bad.append(("x 1e39 (float32 overflow)", lambda: np.full(shape, 1e39), "either"))
    return bad


@st.composite
def evaluate_cases(draw) -> Case:
    v = Verdict(draw)
    kind = v.choice(sorted(NETS))
    rng = np.random.default_rng(v.integer(0, 2**31))
    net = NETS[kind](rng)
    n = v.integer(1, 7)
    steps = [v.integer(1, 12) for _ in range(net.num_stages)]
    uniform = v.integer(0, 9) == 0
    stage = 0 if uniform else v.integer(0, net.num_stages - 1)
    steps[stage] = v.pick(steps[stage], [
        ("T 10**9", 10**9, "error"), ("T 2**40", 2**40, "error"),
        ("T 2**24 (the most allowed)", 2**24, "either"), ("T 100000", 100_000, "either")],
        0.1)
    mode = v.choice(["sequential", "pipelined"])

    def make_schedule():  # at call time: a schedule beyond the limits is an error to classify
        return Schedule.uniform(net, steps[0], mode) if uniform else Schedule(steps, "rate",
                                                                              mode)

    make_schedule = v.pick(make_schedule, [
        ("schedule too short", lambda: lambda: Schedule([3] * (net.num_stages - 1) or [3, 3]),
         "error"),
        ("schedule too long", lambda: lambda: Schedule([3] * (net.num_stages + 1)), "error"),
        ("schedule a list", lambda: lambda: [3] * net.num_stages, "error"),
        ("schedule None", lambda: lambda: None, "error")], 0.08)
    precision = "fixed" if kind == "fixed" and v.coin() else "float"
    x = sample_inputs(net, n, rng)
    fill = 1.0 if precision == "fixed" else 0.5
    x = v.pick(x, _bad_inputs(net, n, rng, fill), 0.3)
    precision = v.pick(precision, [
        ("precision bogus", "double", "error"), ("precision None", None, "error"),
        ("fixed on a float network", "fixed" if kind != "fixed" else "bogus", "error")], 0.08)
    options = {}
    batch = v.pick(v.choice([None, 1, 2, 64]), [
        ("batch_size 0", 0, "error"), ("batch_size -1", -1, "error"),
        ("batch_size 1.5", 1.5, "error"), ("batch_size '8'", "8", "error"),
        ("batch_size True", True, "error"), ("batch_size 10**12", 10**12, "valid")], 0.1)
    options["batch_size"] = batch
    options["dtype"] = v.pick(torch.float32, [
        ("dtype float16", torch.float16, "error"), ("dtype int64", torch.int64, "error"),
        ("dtype numpy float32", lambda: np.float32, "error"),
        ("dtype 'float32'", "float32", "error"),
        ("dtype float64", torch.float64, "valid")], 0.08)
    options["device"] = v.pick("cpu", [
        ("device cuda (absent)", "cuda", "error"), ("device gpu", "gpu", "error"),
        ("device 3", 3, "error"), ("device torch cpu", torch.device("cpu"), "valid"),
        ("device meta", "meta", "error")], 0.08)
    options["record_spikes"] = v.pick(True, [
        ("record_spikes False", False, "valid"), ("record_spikes 'yes'", "yes", "error")],
        0.05)
    record = options["record_spikes"]

    def check(result) -> None:
        assert list(result.schedule.timesteps) == list(steps) or uniform, "another schedule"
        assert record or result.spike_counts is None
        check_eval(net, result.schedule, n)(result)

    return Case("evaluate", v.label(f"evaluate {kind}"),
                lambda: evaluate(net, make_schedule(), x, precision=precision, progress=False,
                                 **options),
                v.expect, check)


# --- area: optimize ---------------------------------------------------------------------------


def check_optimize(net: Network, x, y, max_drop, precision: str = "float"):
    """The chosen point is in budget, never costlier than the best uniform one, and
    ``evaluate`` of its schedule reproduces its accuracy and counters."""
    from ldsnn_lava.optimize import OptimizeResult

    def check(result) -> None:
        assert isinstance(result, OptimizeResult)
        points = [result.chosen, result.given, result.best_uniform, *result.visited]
        for point in points:
            assert 0.0 <= point.accuracy <= 1.0, f"accuracy {point.accuracy}"
            assert math.isfinite(point.cost) and point.cost >= 0, f"cost {point.cost}"
            point.schedule.check(net)
        assert result.given.schedule == Schedule.uniform(net, result.base_T)
        if max_drop is not None:  # in points: 1.0 is 0.01 of accuracy
            floor = result.given.accuracy - max_drop / 100 - 1e-9
            assert result.chosen.accuracy >= floor, "budget"
            if result.best_uniform.accuracy >= floor:
                assert result.chosen.cost <= result.best_uniform.cost * (1 + 1e-12), "cost"
        again = evaluate(net, result.schedule, x, precision=precision, progress=False)
        assert again.accuracy(y) == result.chosen.accuracy, (
            f"re-evaluated accuracy {again.accuracy(y)} != {result.chosen.accuracy}")
        for name, value in again.counters.total.items():
            assert math.isclose(value, result.chosen.counters.total[name], rel_tol=1e-9,
                                abs_tol=1e-9), f"{name}: {value} != " \
                f"{result.chosen.counters.total[name]}"
    return check


@st.composite
def optimize_cases(draw) -> Case:
    from ldsnn_lava.optimize import optimize

    v = Verdict(draw)
    rng = np.random.default_rng(v.integer(0, 2**31))
    kind = v.choice(["mlp", "mlp4", "rate mlp", "fixed"])
    net = NETS[kind](rng)
    precision = "fixed" if kind == "fixed" else "float"
    n = v.integer(2, 12)
    x = sample_inputs(net, n, rng)
    classes = net.num_classes
    y = rng.integers(0, classes, n)
    x_bad = v.pick(x, [("x NaN", lambda: np.full_like(x, np.nan), "error"),
                                  ("x complex", lambda: x + 1j, "error"),
                                  ("x wrong shape", lambda: x[:, :-1], "error")], 0.08)
    y_bad = v.pick(y, [
        ("labels + 100", lambda: y + 100, "error"), ("labels negative", lambda: y - classes,
                                                     "error"),
        ("labels NaN", lambda: np.full(n, np.nan), "error"),
        ("labels fractional", lambda: y + 0.5, "error"),
        ("labels strings", lambda: y.astype(str), "error"),
        ("labels 2-D", lambda: np.eye(classes)[y], "error"),
        ("labels too few", lambda: y[:-1], "error"),
        ("labels complex", lambda: y + 0j, "error"),
        ("labels float integral", lambda: y.astype(float), "valid"),
        ("labels a list", lambda: y.tolist(), "valid")], 0.25)
    val = v.pick((x_bad, y_bad), [
        ("val a list", [x_bad, y_bad], "either"), ("val three items", (x_bad, y_bad, y_bad),
                                                   "error"),
        ("val None", None, "error")], 0.05)
    base_T = v.pick(v.integer(1, 5), [
        ("base_T 0", 0, "error"), ("base_T -1", -1, "error"), ("base_T 2.5", 2.5, "error"),
        ("base_T True", True, "error"), ("base_T '4'", "4", "error"),
        ("base_T 10**7", 10**7, "either"), ("base_T 5000000", 5_000_000, "either"),
        ("base_T numpy", np.int64(3), "valid")], 0.15)
    max_drop = v.pick(v.choice([0.0, 1.0, 10.0]), [  # points of accuracy
        ("max_drop NaN", float("nan"), "error"), ("max_drop -1", -1.0, "error"),
        ("max_drop 150", 150.0, "error"), ("max_drop '1'", "1", "error"),
        ("max_drop inf", float("inf"), "error")], 0.1)
    cost = v.pick(v.choice(["synaptic_updates", "neurons_evaluated",
                                                   "energy"]), [
        ("cost bogus", "speed", "error"), ("cost None", None, "error"),
        ("cost latency without profile", "latency", "error")], 0.08)
    options = {"restarts": v.pick(v.integer(0, 1), [
        ("restarts -1", -1, "error"), ("restarts 1.5", 1.5, "error"),
        ("restarts '2'", "2", "error")], 0.05)}
    options["work_budget"] = v.pick(v.choice([None, 5.0, 100.0]), [
        ("work_budget 0", 0, "error"), ("work_budget -1", -1.0, "error"),
        ("work_budget NaN", float("nan"), "error"), ("work_budget 'x'", "x", "error")], 0.05)
    options["batch_size"] = v.pick(None, [
        ("batch_size 0", 0, "error"), ("batch_size -3", -3, "error"),
        ("batch_size 1.5", 1.5, "error"), ("batch_size 1", 1, "valid")], 0.08)
    options["max_T"] = v.pick(None, [
        ("max_T below base_T", 0, "error"), ("max_T a string", "8", "error"),
        ("max_T 10**9", 10**9, "either")], 0.05)
    options["seed"] = v.pick(0, [("seed a string", "x", "error"),
                                            ("seed negative", -1, "error")], 0.03)
    options["device"] = v.pick("cpu", [("device cuda (absent)", "cuda", "error"),
                                                  ("device bogus", "gpu0", "error")], 0.03)
    options["precision"] = v.pick(precision, [
        ("precision bogus", "half", "error")], 0.03)
    if kind != "fixed" and options["precision"] == "fixed":
        v.verdicts.append("error")
    check = check_optimize(net, x, y, max_drop if isinstance(max_drop, float) else None,
                           precision)
    return Case("optimize", v.label(f"optimize {kind}"),
                lambda: optimize(net, base_T=base_T, val=val, max_drop=max_drop, cost=cost,
                                 progress=False, **options),
                v.expect, check)


# --- area: output paths -----------------------------------------------------------------------


def _no_temp_files(folder: Path) -> None:
    leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


@st.composite
def output_cases(draw) -> Case:
    """Writers (network, schedule, result, report, netx export) given bad output paths."""
    from ldsnn_fuzz_corpus import base_fixed_network

    from ldsnn_lava.formats.netx import write_network as export_netx

    folder = Path(tempfile.mkdtemp(prefix="ldsnn-fuzz-out-"))
    (folder / "a_file").write_text("x")
    (folder / "a_dir").mkdir()
    (folder / "existing.json").write_text("old")
    rng = np.random.default_rng(0)
    net, fixed = mlp(rng), base_fixed_network()
    writers = {
        "Network.save": lambda p: net.save(p),
        "Schedule.save": lambda p: Schedule([2, 2], "rate").save(p),
        "export_netx": lambda p: export_netx(fixed, Schedule([2, 2], "rate"), p),
    }
    writer = draw(st.sampled_from(sorted(writers)))
    target, expect = draw(st.sampled_from([
        ("/sys/ldsnn-fuzz.out", "error"), ("/proc/self/ldsnn-fuzz.out", "error"),
        (str(folder / "a_dir"), "error"), (str(folder / "a_file" / "child.out"), "error"),
        ("", "error"), (str(folder / "nul\0byte.out"), "error"),
        (str(folder / ("n" * 300 + ".out")), "error"),
        (str(folder / "new" / "deeper" / "file.out"), "valid"),
        (str(folder / "existing.json"), "valid"),
        (str(folder / "plain.out"), "valid"),
        (str(folder / "a_fifo"), "error")]))
    os.mkfifo(folder / "a_fifo")

    def call():
        writers[writer](target)
        return Path(target)

    def check(path: Path) -> None:
        assert path.is_file() and path.stat().st_size > 0, "nothing written"
        _no_temp_files(path.parent)

    return Case("outputs", f"{writer} -> {target[:60]!r}", call, expect, check)


# --- area: the command line -------------------------------------------------------------------

_WORKSPACE: dict[str, Path] = {}


def workspace() -> dict[str, Path]:
    """Files the CLI cases use (made once per process): a schedule and an optimization result
    for the zoo's ``mlp_digits``, a folder, a plain file, a FIFO, a network file."""
    if _WORKSPACE:
        return _WORKSPACE
    from ldsnn_lava import datasets, zoo
    from ldsnn_lava.optimize import optimize

    folder = Path(tempfile.mkdtemp(prefix="ldsnn-fuzz-cli-"))
    model = zoo.load("mlp_digits")
    x, y = datasets.load("digits").split("validation")
    result = optimize(model.network, base_T=model.base_T, val=(model.preprocess(x[:30]), y[:30]),
                      restarts=0, work_budget=3)
    result.save(folder / "result.json")
    result.schedule.save(folder / "schedule.json")
    Schedule([2, 2], "rate").save(folder / "schedule_2stages.json")
    Schedule([2**24, 2, 2], "rate").save(folder / "schedule_huge.json")  # the most allowed
    (folder / "schedule_too_long.json").write_text(  # beyond MAX_TIMESTEPS: not a schedule
        Schedule([2, 2, 2], "rate").to_json().replace('"timesteps": [\n    2,',
                                                      '"timesteps": [\n    1000000000,'))
    (folder / "a_dir").mkdir()
    (folder / "a_file").write_text("x")
    os.mkfifo(folder / "a_fifo")
    mlp(np.random.default_rng(0), (64, 8, 10)).save(folder / "net64.npz")
    _WORKSPACE.update({name: folder / name for name in (
        "result.json", "schedule.json", "schedule_2stages.json", "schedule_huge.json",
        "schedule_too_long.json", "a_dir", "a_file", "a_fifo", "net64.npz")})
    _WORKSPACE["root"] = folder
    return _WORKSPACE


_NUMBER_BAD = [("-5", "error"), ("0", "error"), ("x", "error"), ("nan", "error"),
               ("inf", "error"), ("1e400", "error"), ("", "error")]


def _option(draw, v: Verdict, flag: str, valid: str | None,
            bad: list[tuple[str, str]], p_bad: float = 0.12) -> list[str]:
    """``[flag, value]`` (or ``[]`` when ``valid`` is None and no bad value is drawn)."""
    value = v.pick(valid, [(f"{flag} {b!r}", b, e) for b, e in bad], p_bad)
    return [] if value is None else [flag, value]


def _out_paths(ws, name: str) -> list[tuple[str, str]]:
    return [("/sys/ldsnn-fuzz/" + name, "error"), (str(ws["a_dir"]), "error"),
            (str(ws["a_file"] / name), "error"), ("", "error"),
            ("/proc/self/" + name, "error")]


@st.composite
def cli_cases(draw) -> Case:
    from ldsnn_fuzz import run_cli

    ws = workspace()
    v = Verdict(draw)
    out = Path(tempfile.mkdtemp(prefix="ldsnn-fuzz-run-", dir=ws["root"]))
    command = v.choice(["optimize", "evaluate", "report", "demo", "estimate",
                                    "export", "evaluate", "estimate"])
    model_bad = [("nope", "error"), ("missing.npz", "error"), (str(ws["a_dir"]), "error"),
                 (str(ws["a_file"]), "error"), (str(ws["a_fifo"]) + ".npz", "error"),
                 ("mlp_digits.json", "error"), ("", "error")]
    argv = [command]
    search = []
    if command in ("optimize", "demo"):
        search += _option(draw, v, "--limit", str(v.integer(12, 30)), _NUMBER_BAD)
        search += _option(draw, v, "--restarts", "0", [("-1", "error"), ("x", "error")])
        search += _option(draw, v, "--work-budget", "3", [("-1", "error"), ("nan", "error"),
                                                          ("x", "error")])
        search += _option(draw, v, "--max-drop", None, [("-1", "error"), ("101", "error"),
                                                        ("nan", "error"), ("x", "error")])
        search += _option(draw, v, "--base-T", None, [
            ("0", "error"), ("-3", "error"), ("5000000", "either"), ("2.5", "error")])
        search += _option(draw, v, "--cost", None, [("speed", "error")])
        search += _option(draw, v, "--cost-target", None, [("0", "error"), ("-1", "error"),
                                                           ("nan", "error"), ("inf", "error")],
                          0.05)
        search += _option(draw, v, "--seed", None, [("x", "error")], 0.03)
        search += _option(draw, v, "--device", None, [("cuda", "error"), ("gpu", "error")],
                          0.05)
    if command == "optimize":
        argv += [v.pick("mlp_digits", [(m, m, e) for m, e in model_bad])]
        argv += _option(draw, v, "--data", None, [("mnist5k", "error"), ("cifar", "error")])
        argv += search
        argv += _option(draw, v, "--out", str(out / "s.json"), _out_paths(ws, "s.json"), 0.15)
        argv += _option(draw, v, "--result", None, _out_paths(ws, "r.json"), 0.08)
        argv += _option(draw, v, "--report", None, _out_paths(ws, "report"), 0.08)

        def check(stdout: str) -> None:
            if "--out" in argv:
                assert Schedule.load(argv[argv.index("--out") + 1]) is not None
            assert "Held-out test split" in stdout
    elif command == "demo":
        argv += _option(draw, v, "--model", "mlp_digits", [("nope", "error")])
        argv += search
        argv += _option(draw, v, "--lava-samples", "0", [("-350", "error"), ("x", "error"),
                                                         ("-1", "error")])
        argv += _option(draw, v, "--out", str(out / "demo"), _out_paths(ws, "demo"))

        def check(stdout: str) -> None:
            assert "Held-out test split" in stdout
    elif command == "evaluate":
        argv += [v.pick("mlp_digits", [(m, m, e) for m, e in model_bad])]
        argv += _option(draw, v, "--schedule", str(ws["schedule.json"]), [
            (str(ws["schedule_2stages.json"]), "error"), (str(ws["a_dir"]), "error"),
            (str(ws["a_fifo"]), "error"), ("missing.json", "error"),
            (str(ws["result.json"]), "error"), (str(ws["schedule_huge.json"]), "either"),
            (str(ws["schedule_too_long.json"]), "error")], 0.3)
        argv += _option(draw, v, "--limit", str(v.integer(1, 40)), _NUMBER_BAD)
        argv += _option(draw, v, "--split", None, [("holdout", "error")])
        argv += _option(draw, v, "--backend", None, [("tpu", "error")])
        argv += _option(draw, v, "--device", None, [("cuda", "error"), ("gpu", "error")], 0.05)
        argv += _option(draw, v, "--data", None, [("mnist5k", "error"), ("cifar", "error")])

        def check(stdout: str) -> None:
            assert "accuracy:" in stdout
    elif command == "report":
        argv += [v.pick("mlp_digits", [(m, m, e) for m, e in model_bad])]
        argv += _option(draw, v, "--result", str(ws["result.json"]), [
            (str(ws["schedule.json"]), "error"), (str(ws["a_dir"]), "error"),
            ("missing.json", "error"), (str(ws["a_fifo"]), "error")], 0.3)
        argv += _option(draw, v, "--out", str(out / "report"), _out_paths(ws, "report"), 0.2)
        argv += _option(draw, v, "--limit", str(v.integer(5, 30)), _NUMBER_BAD)

        def check(stdout: str) -> None:
            assert (Path(argv[argv.index("--out") + 1]) / "report.md").is_file()
    elif command == "estimate":
        argv += [v.pick(v.choice(["mlp_digits", str(ws["net64.npz"])]),
                             [(m, m, e) for m, e in model_bad])]
        argv += _option(draw, v, "--samples", str(v.integer(1, 20)), [
            ("-5", "error"), ("0", "error"), ("x", "error")], 0.2)
        argv += _option(draw, v, "--uniform-T", None, [
            ("0", "error"), ("-4", "error"), ("100000000", "either"), ("x", "error")], 0.2)
        argv += _option(draw, v, "--schedule", None, [
            (str(ws["schedule_2stages.json"]), "error"), (str(ws["a_dir"]), "error"),
            ("missing.json", "error")])
        argv += _option(draw, v, "--precision", None, [("double", "error")], 0.05)

        def check(stdout: str) -> None:
            assert "LD/uniform energy" in stdout
    else:  # export
        argv += [v.pick("lava_dl_mnist", [("mlp_digits", "mlp_digits", "error")]
                             + [(m, m, e) for m, e in model_bad])]
        Schedule([2, 2, 1, 1], "rate").save(out / "s4.json")
        argv += [v.pick(str(out / "s4.json"), [
            (s, s, "error") for s in (str(ws["schedule.json"]), str(ws["a_dir"]),
                                      "missing.json")])]
        argv += [v.pick(str(out / "x.net"), [(p, p, e) for p, e in
                                                        _out_paths(ws, "x.net")])]

        def check(stdout: str) -> None:
            assert "wrote" in stdout
    return Case("cli", v.label("ldsnn " + " ".join(a[:40] for a in argv[:2])),
                lambda: run_cli(argv), v.expect, check, timeout=60)


# --- area: files (the corpus) -----------------------------------------------------------------


def check_result(result) -> None:
    from ldsnn_lava.optimize import OptimizeResult

    assert isinstance(result, OptimizeResult)
    assert result.schedule.timesteps == result.chosen.schedule.timesteps, "schedule vs chosen"
    for point in (result.chosen, result.given, result.best_uniform, *result.visited,
                  *result.front):
        assert 0 <= point.accuracy <= 1 and math.isfinite(point.cost) and point.cost >= 0
        assert point.schedule.num_stages == result.schedule.num_stages
        for values in point.counters.per_stage.values():
            assert len(values) == result.schedule.num_stages
            assert np.all(np.isfinite(values)) and np.all(np.asarray(values) >= 0)
    assert isinstance(result.base_T, int) and result.base_T >= 1
    assert result.visited, "no visited points"


def check_model(model) -> None:
    """A model read from a file: a sane network, and a base T that is a valid timestep."""
    check_network(model.network)
    assert model.base_T is None or (type(model.base_T) is int and model.base_T >= 1), \
        model.base_T


def corpus_cases(files) -> list[Case]:
    """Each corpus file through its reader, and the model/schedule/result files also through
    the CLI command that reads them."""
    from ldsnn_fuzz import run_cli

    from ldsnn_lava.formats import read_model
    from ldsnn_lava.optimize import OptimizeResult

    readers = {
        "npz": (read_model, check_model),
        "netx": (read_model, check_model),
        "nir": (read_model, check_model),
        "schedule": (Schedule.load, _schedule_sane),
        "result": (OptimizeResult.load, check_result),
    }
    cases = []
    for item in files:
        read, check = readers[item.kind]
        label = f"{item.kind}: {item.mutation} ({item.path.name})"
        cases.append(Case("files", label, lambda read=read, p=item.path: read(p), item.expect,
                          check, timeout=20))
        argv = None
        if item.kind in ("npz", "netx"):
            argv = ["estimate", str(item.path), "--samples", "2"]
        elif item.kind == "schedule":
            argv = ["evaluate", "mlp_digits", "--schedule", str(item.path), "--limit", "5"]
        elif item.kind == "result":
            out = tempfile.mkdtemp(prefix="ldsnn-fuzz-report-")
            argv = ["report", "mlp_digits", "--result", str(item.path), "--limit", "5",
                    "--out", out]
        if argv is not None:
            cases.append(Case("files-cli", "ldsnn " + argv[0] + " on " + label,
                              lambda argv=argv: run_cli(argv), item.cli_expect or item.expect,
                              None, timeout=60))
    return cases


# --- area: the Lava backend (boundary only: every case is refused before Lava runs) ----------


@st.composite
def lava_cases(draw) -> Case:
    from ldsnn_lava.processes.graph import to_lava

    v = Verdict(draw)
    kind = v.choice(["mlp", "rate mlp", "fixed"])
    rng = np.random.default_rng(v.integer(0, 2**31))
    net = NETS[kind](rng)
    x = sample_inputs(net, 3, rng)
    schedule = Schedule([3] * net.num_stages, "rate")
    precision = "fixed" if kind == "fixed" else "float"
    bad = [("x NaN", "x", np.full_like(x, np.nan)), ("x complex", "x", x + 1j),
           ("x no samples", "x", x[:0]), ("x wrong shape", "x", x[:, :-1]),
           ("x strings", "x", x.astype(str)), ("precision bogus", "precision", "double"),
           ("model bogus", "model", "fast"), ("schedule too long", "schedule",
                                               Schedule([3] * (net.num_stages + 1))),
           ("schedule None", "schedule", None), ("network None", "net", None),
           ("10**6 steps (time guard)", "schedule", Schedule([10**6] * net.num_stages))]
    if kind == "rate mlp":
        bad += [("rate x 0-255 pixels", "x", (x * 255).round()),
                ("rate x negative", "x", x - 1.0)]
    if kind == "mlp":
        bad.append(("fixed on a float network", "precision", "fixed"))
    label, target, value = v.choice(bad)
    args = {"net": net, "schedule": schedule, "precision": precision, "model": "step", "x": x}
    args[target] = value
    return Case("lava", f"to_lava {kind}: {label}",
                lambda: to_lava(args["net"], args["schedule"], args["precision"],
                                args["model"]).run(args["x"]),
                "error", None, timeout=30)


# --- area: conversion from torch, quantization ------------------------------------------------


@st.composite
def convert_cases(draw) -> Case:
    from torch import nn

    from ldsnn_lava import quantize
    from ldsnn_lava.formats.torch_ann import from_torch

    v = Verdict(draw)
    torch.manual_seed(v.integer(0, 2**31))
    if v.coin():  # from_torch
        layers = [nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)]
        layers = v.pick(layers, [
            ("a Sigmoid", lambda: [nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 3)], "error"),
            ("a MaxPool", lambda: [nn.Unflatten(1, (1, 6)), nn.MaxPool1d(2), nn.Flatten(),
                                   nn.Linear(3, 3)], "error"),
            ("a final ReLU", lambda: [nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3), nn.ReLU()],
             "error"),
            ("an LSTM", lambda: [nn.LSTM(6, 5)], "error")], 0.2)
        model = v.pick(nn.Sequential(*layers), [
            ("model a function", lambda: (lambda t: t), "error"),
            ("model None", None, "error")], 0.05)
        x = np.random.default_rng(0).random((20, 6))
        x = v.pick(x, [("calibration NaN", lambda: np.full((20, 6), np.nan), "error"),
                       ("calibration complex", lambda: x + 1j, "error"),
                       ("calibration empty", lambda: x[:0], "error"),
                       ("calibration wrong shape", lambda: x[:, :4], "error"),
                       ("calibration strings", lambda: x.astype(str), "error"),
                       ("calibration 1-D", lambda: x[0], "error"),
                       ("calibration a list", lambda: x.tolist(), "valid")], 0.25)
        percentile = v.pick(99.9, [("percentile 0", 0, "error"),
                                   ("percentile 150", 150, "error"),
                                   ("percentile NaN", float("nan"), "error"),
                                   ("percentile '99'", "99", "error")], 0.1)
        return Case("convert", v.label("from_torch"),
                    lambda: from_torch(model, x, percentile), v.expect, check_network)
    net = NETS[v.choice(["mlp", "conv", "lif mlp"])](np.random.default_rng(v.integer(0, 99)))
    bits = v.pick(8, [("weight_bits 1", 1, "error"), ("weight_bits 25", 25, "error"),
                      ("weight_bits 8.5", 8.5, "error"), ("weight_bits '8'", "8", "error"),
                      ("weight_bits True", True, "error")], 0.25)
    exponent = v.pick(8, [("input_exponent -1", -1, "error"),
                          ("input_exponent 1.5", 1.5, "error")], 0.15)
    target = v.pick(net, [("net None", None, "error"), ("net a Stage", lambda: net.stages[0],
                                                        "error")], 0.1)

    def check(quantized) -> None:
        fixed = quantized.network
        x = quantized.encode_input(sample_inputs(net, 3, np.random.default_rng(1)))
        result = evaluate(fixed, Schedule.uniform(fixed, 3), x, precision="fixed")
        check_eval(fixed, result.schedule, 3)(result)

    return Case("convert", v.label("quantize"), lambda: quantize(target, bits, exponent),
                v.expect, check)


# --- area: round trips through every writer and its reader -----------------------------------


@st.composite
def roundtrip_cases(draw) -> Case:
    """A network written by a writer is read back by its reader and evaluates the same (or
    the writer refuses it with a named error: IF neurons and pooling have no netx form)."""
    from ldsnn_lava.formats.netx import read_network as read_netx
    from ldsnn_lava.formats.netx import write_network as write_netx
    from ldsnn_lava.formats.nir import read_network as read_nir
    from ldsnn_lava.formats.nir import write_network as write_nir

    v = Verdict(draw)
    kind = v.choice(sorted(NETS))
    net = NETS[kind](np.random.default_rng(v.integer(0, 2**31)))
    fmt = v.choice(["npz", "netx", "nir"])
    folder = Path(tempfile.mkdtemp(prefix="ldsnn-fuzz-roundtrip-"))
    path = folder / f"net.{'net' if fmt == 'netx' else fmt}"
    schedule = Schedule([2] * net.num_stages, "rate")
    precision = "fixed" if kind == "fixed" else "float"
    if fmt == "npz":
        expect, call = "valid", lambda: (net.save(path), Network.load(path))[1]
    elif fmt == "netx":
        expect = "valid" if kind == "fixed" else "error"
        call = lambda: (write_netx(net, schedule, path), read_netx(path))[1]  # noqa: E731
    else:
        expect = "valid"  # the input encoding travels in the graph's ldsnn metadata
        call = lambda: (write_nir(net, path, schedule), read_nir(path))[1]  # noqa: E731

    def check(again) -> None:
        x = sample_inputs(net, 4, np.random.default_rng(3))
        a = evaluate(net, schedule, x, precision=precision, dtype=torch.float64)
        b = evaluate(again, schedule, x, precision=precision, dtype=torch.float64)
        np.testing.assert_allclose(b.readout, a.readout, rtol=1e-9, atol=1e-9)
        for c, d in zip(a.spike_counts, b.spike_counts, strict=True):
            np.testing.assert_array_equal(c, d)

    def call_then_clean():
        try:
            return call()
        finally:
            leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
            assert not leftovers, f"temporary files left: {leftovers}"

    return Case("roundtrip", f"{fmt} round trip of {kind}", call_then_clean, expect, check)


# --- area: sequence input (events, frames) and delays -----------------------------------------


def check_sequence_eval(net: Network, n: int, chunks: int):
    """A sanity check of ``evaluate`` on ``n`` sequences of ``chunks`` chunks each."""
    def check(result) -> None:
        steps = result.schedule.timesteps
        readout = np.asarray(result.readout)
        assert readout.shape == (n, net.num_classes) and np.all(np.isfinite(readout))
        assert np.array_equal(result.predictions, np.argmax(readout, axis=1)), "predictions"
        for index, counts in enumerate(result.spike_counts or []):
            assert counts.min() >= 0 and counts.max() <= steps[index] * chunks, "counts range"
        neurons = np.array(net.num_neurons, dtype=float)
        assert np.allclose(result.counters.per_stage["neurons_evaluated"],
                           chunks * neurons * np.array(steps)), "neurons evaluated"
        for values in result.counters.per_stage.values():
            assert np.all(np.isfinite(values)) and np.all(np.asarray(values) >= 0)
    return check


@st.composite
def sequence_cases(draw) -> Case:
    v = Verdict(draw)
    rng = np.random.default_rng(v.integer(0, 2**31))
    encoding = v.choice(["events", "frames"])
    n_in = v.integer(1, 5)
    delay = v.pick(None, [("delay 1 per neuron", lambda: np.ones(4, dtype=int), "either"),
                          ("delay negative", lambda: -np.ones(4), "error"),
                          ("delay fractional", lambda: np.full(4, 0.5), "error"),
                          ("delay wrong length", lambda: np.ones(3), "error"),
                          ("delay 10**6 (not shorter than the window)",
                           lambda: np.full(4, 10**6), "error")], 0.1)

    def make_net() -> Network:
        return Network((n_in,), [Stage([Dense(rng.normal(0, 0.8, (4, n_in)))], IF(1.0),
                                       delay=delay),
                                 Stage([Dense(rng.normal(0, 0.8, (2, 4)))], None)],
                       input_encoding=encoding)

    chunk, chunks, n = v.integer(1, 6), v.integer(1, 4), v.integer(1, 4)
    steps = [v.integer(1, 8), v.integer(1, 8)]
    schedule_chunk = v.pick(chunk, [("no chunk", None, "error"), ("chunk 0", 0, "error"),
                                    ("chunk 10**9", 10**9, "error"),
                                    ("chunk True", True, "error")], 0.08)
    shape = (n, chunk * chunks, n_in)
    x = (rng.random(shape) < 0.4).astype(float) if encoding == "events" else rng.random(shape)
    x = v.pick(x, [
        ("S not a multiple of the chunk", lambda: x[:, :-1] if chunk > 1 else
         np.concatenate([x, x[:, :1]], axis=1), "error" if chunk > 1 else "either"),
        ("one step per sample missing its axis", lambda: x[:, 0], "error"),
        ("wrong channel count", lambda: np.concatenate([x, x[..., :1]], axis=-1), "error"),
        ("NaN", lambda: np.where(rng.random(shape) < 0.5, np.nan, x), "error"),
        ("complex", lambda: x + 1j, "error"),
        ("strings", lambda: x.astype(str), "error"),
        ("no samples", lambda: x[:0], "error"),
        ("no steps", lambda: x[:, :0], "error"),
        ("values 0.5 as events", lambda: np.full(shape, 0.5),
         "error" if encoding == "events" else "valid"),
        ("frames 1e39", lambda: np.full(shape, 1e39),
         "error" if encoding == "events" else "either")], 0.3)

    def call():
        net = make_net()
        return evaluate(net, Schedule(steps, "rate", chunk=schedule_chunk), x, progress=False)

    def check(result) -> None:
        check_sequence_eval(make_net(), n, chunks)(result)

    return Case("sequence", v.label(f"{encoding} sequences"), call, v.expect, check)
