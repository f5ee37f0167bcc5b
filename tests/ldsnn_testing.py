"""Test oracles and hypothesis strategies, written independently of the engine.

The reference simulators here re-implement the semantics of docs/design.md directly in numpy float64
(explicit loops for convolution, an explicit per-step buffer accumulator), so that a bug in the
engine cannot hide behind shared code. Weights are small multiples of 1/8 so every float sum
is exact and results can be compared for equality.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ldsnn_lava import IF, AvgPool2d, Conv2d, CubaLIF, Dense, Flatten, Network, Schedule, Stage

# --- linear ops, by hand -----------------------------------------------------------------------


def conv2d_ref(x: np.ndarray, w: np.ndarray, b, stride, padding) -> np.ndarray:
    """x: (B, C, H, W) -> (B, O, Ho, Wo), by explicit taps."""
    (sh, sw), (ph, pw) = stride, padding
    batch, _, h, width = x.shape
    out_c, _, kh, kw = w.shape
    xp = np.zeros((batch, x.shape[1], h + 2 * ph, width + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + width] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    out = np.zeros((batch, out_c, ho, wo))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
            out += np.einsum("bchw,oc->bohw", patch, w[:, :, i, j])
    if b is not None:
        out += b[None, :, None, None]
    return out


def avgpool_ref(x: np.ndarray, kernel, stride) -> np.ndarray:
    (kh, kw), (sh, sw) = kernel, stride
    ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = np.zeros((*x.shape[:2], ho, wo))
    for i in range(kh):
        for j in range(kw):
            out += x[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
    return out / (kh * kw)


def apply_ops_ref(ops, x: np.ndarray) -> np.ndarray:
    for op in ops:
        if isinstance(op, Dense):
            x = x @ op.weight.T + (0 if op.bias is None else op.bias)
        elif isinstance(op, Conv2d):
            x = conv2d_ref(x, op.weight, op.bias, op.stride, op.padding)
        elif isinstance(op, AvgPool2d):
            x = avgpool_ref(x, op.kernel, op.stride)
        elif isinstance(op, Flatten):
            x = x.reshape(x.shape[0], -1)
        else:
            raise NotImplementedError(type(op))
    return x


# --- neurons, by hand --------------------------------------------------------------------------


def neuron_init_ref(neuron, shape):
    if isinstance(neuron, IF):
        v0 = 0.5 * neuron.threshold if neuron.v_init is None else neuron.v_init
        return {"v": np.full(shape, v0)}
    return {"u": np.zeros(shape), "v": np.full(shape, neuron.v_init)}


def _fired(v, neuron):
    return v >= neuron.threshold if neuron.compare == ">=" else v > neuron.threshold


def neuron_step_ref(neuron, state, current) -> np.ndarray:
    if isinstance(neuron, IF):
        state["v"] = state["v"] + current
    else:
        state["u"] = state["u"] * (1 - neuron.current_decay) + current
        previous = state["v"]
        state["v"] = state["v"] * (1 - neuron.voltage_decay) + state["u"] + neuron.bias
        if neuron.reset == "delayed_subtract":  # snnTorch: subtract for last step's spike
            state["v"] = np.where(_fired(previous, neuron), state["v"] - neuron.threshold,
                                  state["v"])
    spikes = _fired(state["v"], neuron)
    if neuron.reset == "subtract":
        state["v"] = np.where(spikes, state["v"] - neuron.threshold, state["v"])
    elif neuron.reset == "hard":
        state["v"] = np.where(spikes, neuron.v_reset, state["v"])
    return spikes


def cuba_lif_fixed_ref(threshold: int, du: int, dv: int, bias: int, currents) -> tuple:
    """Lava's bit-accurate LIF (``PyLifModelBitAcc``, lava/proc/lif/models.py) for ONE neuron,
    written out in Python integers: returns (spikes, final u, final v).

    Currents and the bias enter left-shifted by 6 bits, the threshold too; decays of
    ``x * (4096 - d) / 4096`` truncate toward zero; u wraps modulo 2**24 into (-2**23, 2**23];
    v saturates at +-(2**23 - 1); a spike is ``v > threshold << 6`` and resets v to 0.
    """
    def decay(x: int, d: int) -> int:
        product = x * (4096 - d)
        return (abs(product) >> 12) * (1 if product >= 0 else -1)

    u = v = 0
    spikes = []
    for current in currents:
        u = decay(u, du) + (int(current) << 6)
        if u > 2**23:
            u -= 2**24
        elif u <= -2**23:
            u += 2**24
        v = min(max(decay(v, dv) + u + (bias << 6), -2**23 + 1), 2**23 - 1)
        spikes.append(v > threshold << 6)
        if spikes[-1]:
            v = 0
    return spikes, u, v


# --- simulators --------------------------------------------------------------------------------


def simulate_uniform_stepwise(net: Network, x: np.ndarray, T: int):
    """Step all layers together, delay-free: at each step every stage sees its predecessor's
    output of the same step. Returns (readout, [spike counts per spiking stage])."""
    stages = net.stages
    states = [None] * len(stages)
    counts = [0 for _ in stages[:-1]]
    readout = 0.0
    for t in range(T):
        signal = x if net.input_encoding == "direct" else rate_input_ref(x, T)[t]
        for index, stage in enumerate(stages):
            current = apply_ops_ref(stage.ops, signal)
            if stage.is_readout:
                readout = readout + current
                break
            if states[index] is None:
                states[index] = neuron_init_ref(stage.neuron, current.shape)
            signal = neuron_step_ref(stage.neuron, states[index], current).astype(np.float64)
            counts[index] = counts[index] + signal
    return readout, [np.asarray(c) for c in counts]


def rate_emit_ref(counts: np.ndarray, t_in: int, t_out: int) -> np.ndarray:
    """The buffer's integer accumulator, one step at a time."""
    acc = np.full(counts.shape, t_in // 2, dtype=np.int64)
    raster = np.zeros((t_out, *counts.shape), dtype=bool)
    for t in range(t_out):
        acc += counts.astype(np.int64)
        raster[t] = acc >= t_in
        acc[raster[t]] -= t_in
    return raster


def rate_input_ref(x: np.ndarray, T: int) -> np.ndarray:
    counts = np.floor(np.clip(x.astype(np.float64), 0, 1) * T + 0.5).astype(np.int64)
    return rate_emit_ref(counts, T, T).astype(np.float64)


def graded_current_ref(stage, counts: np.ndarray, t_in: int, t_out: int) -> tuple:
    """A stage's currents behind a graded buffer, by the definition: (first step, other steps).
    The payloads' current minus the zero-input current, times t_out / t_in, plus the latter."""
    zero = apply_ops_ref(stage.ops, np.zeros_like(counts, dtype=np.float64))
    linear = apply_ops_ref(stage.ops, counts.astype(np.float64)) - zero
    return zero + (linear * t_out) / t_in, zero


def simulate_layerwise(net: Network, schedule: Schedule, x: np.ndarray):
    """Layer by layer with explicit buffers.

    Returns (readout, [spike counts per spiking stage], [input raster of every stage]);
    stage 0's raster under direct input is the input repeated every step; behind a graded
    buffer the raster holds the graded events (1 where a non-zero count is sent, in the
    window's first step).
    """
    steps = schedule.timesteps
    if net.input_encoding == "direct":
        raster = np.broadcast_to(x, (steps[0], *x.shape))
    else:
        raster = rate_input_ref(x, steps[0])
    counts, rasters, graded = [], [], None
    for index, stage in enumerate(net.stages):
        T = steps[index]
        if graded is not None:  # (currents of the first step, of the others)
            first, zero = graded_current_ref(stage, graded, steps[index - 1], T)
            currents = [first] + [zero] * (T - 1)
            raster = np.zeros((T, *graded.shape))
            raster[0] = graded != 0
        else:
            currents = [apply_ops_ref(stage.ops, raster[t]) for t in range(T)]
        rasters.append(raster)
        if stage.is_readout:
            return sum(currents), counts, rasters
        state, out = None, []
        for current in currents:
            state = state or neuron_init_ref(stage.neuron, current.shape)
            out.append(neuron_step_ref(stage.neuron, state, current))
        out = np.array(out)
        counts.append(out.sum(0))
        graded = None
        if schedule.buffers[index] == "replay":
            raster = out.astype(np.float64)
        elif schedule.buffers[index] == "graded":
            graded = out.sum(0)
        else:
            raster = rate_emit_ref(out.sum(0), T, steps[index + 1]).astype(np.float64)
    raise AssertionError("network without readout")


# --- brute-force work counters ----------------------------------------------------------------


def connectivity_ref(ops, in_shape) -> np.ndarray:
    """Boolean (out_size, in_size) matrix: which outputs each input reaches, by index
    arithmetic (no use of the ops' own fan-out code)."""
    size = int(np.prod(in_shape))
    reach = np.eye(size, dtype=bool).reshape(size, *in_shape)  # one row per input element
    for op in ops:
        if isinstance(op, Dense):
            reach = np.repeat(reach.any(axis=1, keepdims=True), op.weight.shape[0], axis=1)
        elif isinstance(op, Conv2d | AvgPool2d):
            if isinstance(op, Conv2d):
                kernel, stride, padding = op.kernel, op.stride, op.padding
            else:
                kernel, stride, padding = op.kernel, op.stride, (0, 0)
            c, h, w = reach.shape[1:]
            ho = (h + 2 * padding[0] - kernel[0]) // stride[0] + 1
            wo = (w + 2 * padding[1] - kernel[1]) // stride[1] + 1
            channels = op.weight.shape[0] if isinstance(op, Conv2d) else c
            out = np.zeros((size, channels, ho, wo), dtype=bool)
            for oi in range(ho):
                for oj in range(wo):
                    for ki in range(kernel[0]):
                        for kj in range(kernel[1]):
                            i = oi * stride[0] + ki - padding[0]
                            j = oj * stride[1] + kj - padding[1]
                            if 0 <= i < h and 0 <= j < w:
                                if isinstance(op, Conv2d):
                                    out[:, :, oi, oj] |= reach[:, :, i, j].any(1, keepdims=True)
                                else:
                                    out[:, :, oi, oj] |= reach[:, :, i, j]
            reach = out
        elif isinstance(op, Flatten):
            reach = reach.reshape(size, -1)
    return reach.reshape(size, -1).T


def synaptic_updates_ref(net: Network, schedule: Schedule, x: np.ndarray) -> np.ndarray:
    """Per-stage mean synaptic updates: every input spike times the number of outputs its
    connectivity reaches (stage 0 under direct input does MACs instead, reported as 0)."""
    _, _, rasters = simulate_layerwise(net, schedule, x)
    totals = np.zeros(net.num_stages)
    for index, raster in enumerate(rasters):
        if index == 0 and net.input_encoding == "direct":
            continue
        fan_out = connectivity_ref(net.stages[index].ops, net.input_shape_of(index)).sum(0)
        totals[index] = (raster.sum(0).reshape(len(x), -1) * fan_out).sum() / len(x)
    return totals


# --- hypothesis strategies ---------------------------------------------------------------------


def dyadic(rng: np.random.Generator, shape, scale: int = 8, span: int = 8) -> np.ndarray:
    """Random multiples of 1/scale in [-span/scale, span/scale]: exact in float32 sums."""
    return rng.integers(-span, span + 1, size=shape) / scale


@st.composite
def neurons(draw, fixed_friendly: bool = False):
    kind = draw(st.sampled_from(["IF", "CubaLIF"]))
    if kind == "IF":
        threshold = draw(st.sampled_from([0.5, 1.0, 2.0]))
        v_init = draw(st.sampled_from([None, 0.0, 0.25]))
        reset = draw(st.sampled_from(["subtract", "hard"]))
        v_reset = draw(st.sampled_from([0.0, -0.25])) if reset == "hard" else 0.0
        return IF(threshold, v_init, reset=reset, v_reset=v_reset,
                  compare=draw(st.sampled_from([">=", ">"])))
    reset = draw(st.sampled_from(["hard", "subtract", "delayed_subtract"]))
    return CubaLIF(
        threshold=draw(st.sampled_from([0.5, 1.0, 1.5])),
        current_decay=draw(st.sampled_from([0.0, 0.25, 0.5, 1.0])),
        voltage_decay=draw(st.sampled_from([0.0, 0.125, 0.5])),
        bias=draw(st.sampled_from([0.0, 0.125])),
        reset=reset,
        v_reset=draw(st.sampled_from([0.0, 0.25])) if reset == "hard" else 0.0,
        compare=draw(st.sampled_from([">", ">="])),
        v_init=draw(st.sampled_from([0.0, -0.125])),
    )


@st.composite
def networks(draw, max_stages: int = 3):
    """Small random dense or conv networks with dyadic weights, any neuron mix."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    conv = draw(st.booleans())
    encoding = draw(st.sampled_from(["direct", "rate"]))
    hidden = draw(st.integers(1, max_stages - 1))
    stages = []
    if conv:
        channels, size = draw(st.integers(1, 2)), draw(st.integers(4, 6))
        input_shape = (channels, size, size)
        out_c = draw(st.integers(1, 3))
        kernel = draw(st.integers(1, 3))
        stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 1))
        stages.append(Stage([Conv2d(dyadic(rng, (out_c, channels, kernel, kernel)),
                                    dyadic(rng, (out_c,)), stride, padding)], draw(neurons())))
        shape = stages[0].ops[0].output_shape(input_shape)
        ops = []
        if draw(st.booleans()) and min(shape[1:]) >= 2:
            ops.append(AvgPool2d(2))
            shape = ops[-1].output_shape(shape)
        ops.append(Flatten())
        width = int(np.prod(shape))
    else:
        width = draw(st.integers(2, 12))
        input_shape, ops = (width,), []
        hidden += 1
    for _ in range(hidden - 1):
        out = draw(st.integers(2, 10))
        ops.append(Dense(dyadic(rng, (out, width)), dyadic(rng, (out,)) if rng.random() < 0.5
                         else None))
        stages.append(Stage(ops, draw(neurons())))
        ops, width = [], out
    ops.append(Dense(dyadic(rng, (draw(st.integers(2, 5)), width))))
    stages.append(Stage(ops, None))
    return Network(input_shape, stages, input_encoding=encoding)


@st.composite
def schedules(draw, net: Network, max_T: int = 8, graded: bool = False):
    """Random schedules; ``graded``: the buffer kind of every gap may also be ``graded``."""
    steps = [draw(st.integers(1, max_T)) for _ in net.stages]
    counted = ["rate", "graded"] if graded else ["rate"]
    buffers = [
        draw(st.sampled_from(counted + ["replay"] if steps[g] == steps[g + 1] else counted))
        for g in range(len(steps) - 1)
    ]
    return Schedule(steps, buffers, draw(st.sampled_from(["sequential", "pipelined"])))


@st.composite
def inputs(draw, net: Network, max_n: int = 6):
    n = draw(st.integers(1, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if net.input_encoding == "rate":
        return rng.random((n, *net.input_shape))
    return dyadic(rng, (n, *net.input_shape), scale=4, span=8)


def small_net(weight: float = 0.5) -> Network:
    """A 4 -> 3 (IF, threshold 2) -> 2 network with constant weights, for error-path tests."""
    return Network((4,), [Stage([Dense(np.full((3, 4), weight))], IF(2.0)),
                          Stage([Dense(np.ones((2, 3)))], None)])
