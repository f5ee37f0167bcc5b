"""Independent oracles and strategies for temporal networks (sequence input, delays, chunks).

Written from ``docs/design.md`` (temporal input) alone, in numpy, without the engine's code:
explicit per-step loops over all stages, a hand-written delay line per stage, the buffers'
integer accumulator one step at a time (``ldsnn_testing.rate_emit_ref``), hand-written ops
(``ldsnn_testing.apply_ops_ref``), and Loihi's fixed-point CUBA-LIF written out again from
Lava's bit-accurate ``LIF`` model. Float weights are dyadic, so float sums are exact.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from ldsnn_testing import apply_ops_ref, dyadic, rate_emit_ref

from ldsnn_lava import IF, Conv2d, CubaLIF, Dense, Flatten, Network, Schedule, Stage

STATE_LIMIT = 1 << 23


# --- neurons, by hand (float and Loihi fixed point, optional refractory period) ---------------


def _truncating_decay(value: np.ndarray, keep: int) -> np.ndarray:
    product = value.astype(np.int64) * keep
    return np.sign(product) * (np.abs(product) >> 12)


class NeuronRef:
    """One population's state and step."""

    def __init__(self, neuron, shape, fixed: bool):
        self.neuron, self.fixed = neuron, fixed
        dtype = np.int64 if fixed else np.float64
        if isinstance(neuron, IF):
            v0 = 0.5 * neuron.threshold if neuron.v_init is None else neuron.v_init
            self.v = np.full(shape, v0, dtype=dtype)
        else:
            self.u, self.v = np.zeros(shape, dtype), np.zeros(shape, dtype)
            self.waiting = np.zeros(shape, dtype=np.int64)

    def step(self, current: np.ndarray) -> np.ndarray:
        n = self.neuron
        if isinstance(n, IF):
            self.v = self.v + current
            spikes = self.v >= n.threshold
            self.v = np.where(spikes, self.v - n.threshold, self.v).astype(self.v.dtype)
            return spikes
        if self.fixed:
            du, dv = round(n.current_decay * 4096), round(n.voltage_decay * 4096)
            u = _truncating_decay(self.u, 4096 - du) + (current.astype(np.int64) << 6)
            u = np.where(u > STATE_LIMIT, u - 2 * STATE_LIMIT, u)
            self.u = np.where(u <= -STATE_LIMIT, u + 2 * STATE_LIMIT, u)
            v = _truncating_decay(self.v, 4096 - dv) + self.u + (int(n.bias) << 6)
            v = np.clip(v, -STATE_LIMIT + 1, STATE_LIMIT - 1)
            threshold = int(n.threshold) << 6
        else:
            self.u = self.u * (1 - n.current_decay) + current
            v = self.v * (1 - n.voltage_decay) + self.u + n.bias
            threshold = n.threshold
        self.v = np.where(self.waiting > 0, self.v, v)
        spikes = self.v > threshold
        self.v = np.where(spikes, 0, self.v)
        self.waiting = np.where(spikes, n.refractory, np.maximum(self.waiting - 1, 0))
        return spikes


class DelayLineRef:
    """Neuron i's current at step t is the ops' output at step t - delays[i] (0 before)."""

    def __init__(self, delays: np.ndarray):
        self.delays, self.history = delays, []

    def push(self, current: np.ndarray) -> np.ndarray:
        self.history.append(current)
        now, out = len(self.history) - 1, np.zeros_like(current)
        for index in np.ndindex(self.delays.shape):
            source = now - int(self.delays[index])
            if source >= 0:
                out[(slice(None), *index)] = self.history[source][(slice(None), *index)]
        return out


def _current(stage, signal: np.ndarray, fixed: bool) -> np.ndarray:
    current = apply_ops_ref(stage.ops, signal.astype(np.float64))
    if fixed:
        assert np.array_equal(current, np.round(current)), "fixed currents must be integers"
        return np.round(current).astype(np.int64)
    return current


def _graded_current(stage, counts: np.ndarray, step: int, t_in: int, t_out: int, fixed: bool):
    """Behind a graded buffer: the zero-input current, plus in the window's first step the
    payloads' own current scaled by t_out / t_in (fixed point: integers, halves up)."""
    zero = _current(stage, np.zeros_like(counts), fixed)
    if step:
        return zero
    linear = _current(stage, counts, fixed) - zero
    if fixed:
        return zero + (linear * t_out + t_in // 2) // t_in
    return zero + (linear * t_out) / t_in


# --- the given SNN: every stage stepped together at the input's resolution ---------------------


def simulate_sequence_stepwise(net: Network, x: np.ndarray, fixed: bool = False):
    """All stages stepped together over the S input steps of ``x`` (N, S, *input_shape).

    Returns ``(readout, rasters)``: the readout's sum over all steps and one boolean raster
    (N, S, *shape) per spiking stage."""
    neurons, lines = [None] * net.num_stages, [None] * net.num_stages
    rasters = [[] for _ in net.stages[:-1]]
    readout = 0
    for t in range(x.shape[1]):
        signal = x[:, t]
        for index, stage in enumerate(net.stages):
            current = _current(stage, signal, fixed)
            if stage.delay is not None:
                delays = np.broadcast_to(stage.delay, current.shape[1:])
                lines[index] = lines[index] or DelayLineRef(delays)
                current = lines[index].push(current)
            if stage.is_readout:
                readout = readout + current
                break
            neurons[index] = neurons[index] or NeuronRef(stage.neuron, current.shape, fixed)
            signal = neurons[index].step(current)
            rasters[index].append(signal)
    return readout, [np.stack(r, axis=1) for r in rasters]


# --- an LD schedule: chunk by chunk, layer by layer, explicit buffers -------------------------


def scaled_delays(delay: np.ndarray, T: int, chunk: int) -> np.ndarray:
    """``round(d * T / chunk)``, halves up, written as a float rounding."""
    return np.floor(delay * T / chunk + 0.5).astype(np.int64)


def simulate_chunked(net: Network, schedule: Schedule, x: np.ndarray, fixed: bool = False):
    """The chunked LD semantics: returns ``(readout, rasters)`` with each spiking stage's raster
    (N, K * T_l, *shape), its steps of all K chunks in order."""
    steps, chunk = schedule.timesteps, schedule.chunk
    neurons, lines = [None] * net.num_stages, [None] * net.num_stages
    rasters = [[] for _ in net.stages[:-1]]
    readout = 0
    for k in range(x.shape[1] // chunk):
        part = x[:, k * chunk:(k + 1) * chunk]
        if steps[0] == chunk:
            signals = [part[:, j] for j in range(chunk)]
        elif net.input_encoding == "events":
            signals = list(rate_emit_ref(part.sum(1).astype(np.int64), chunk, steps[0]))
        else:  # frames: sample and hold
            signals = [part[:, (j * chunk) // steps[0]] for j in range(steps[0])]
        for index, stage in enumerate(net.stages):
            outputs = []
            graded = index and schedule.buffers[index - 1] == "graded"
            for j, signal in enumerate(signals):
                if graded:  # signals: the chunk's counts in step 0, then zeros
                    current = _graded_current(stage, np.asarray(signals[0]), j, steps[index - 1],
                                              steps[index], fixed)
                else:
                    current = _current(stage, np.asarray(signal), fixed)
                if stage.delay is not None:
                    delays = scaled_delays(np.broadcast_to(stage.delay, current.shape[1:]),
                                           steps[index], chunk)
                    lines[index] = lines[index] or DelayLineRef(delays)
                    current = lines[index].push(current)
                if stage.is_readout:
                    readout = readout + current
                    continue
                neurons[index] = neurons[index] or NeuronRef(stage.neuron, current.shape, fixed)
                outputs.append(neurons[index].step(current))
            if stage.is_readout:
                break
            rasters[index] += outputs
            counts = np.sum(outputs, axis=0).astype(np.int64)
            if schedule.buffers[index] == "replay":
                signals = outputs
            elif schedule.buffers[index] == "graded":
                signals = [counts] + [np.zeros_like(counts)] * (steps[index + 1] - 1)
            else:
                signals = list(rate_emit_ref(counts, steps[index], steps[index + 1]))
    return readout, [np.stack(r, axis=1) for r in rasters]


# --- strategies --------------------------------------------------------------------------------


@st.composite
def temporal_neurons(draw, fixed: bool, refractory: bool = True):
    if draw(st.booleans()):
        threshold = draw(st.sampled_from([2, 4, 6] if fixed else [0.5, 1.0, 2.0]))
        return IF(threshold, draw(st.sampled_from([None, 0, 1] if fixed else [None, 0.0, 0.25])))
    return CubaLIF(threshold=draw(st.sampled_from([4, 8, 16] if fixed else [0.5, 1.0, 1.5])),
                   current_decay=draw(st.sampled_from([0.0, 0.25, 1.0])),
                   voltage_decay=draw(st.sampled_from([0.0, 0.125, 0.5])),
                   bias=draw(st.sampled_from([0, 1] if fixed else [0.0, 0.125])),
                   refractory=draw(st.sampled_from([0, 0, 1, 2] if refractory else [0])))


def _weights(rng, shape, fixed: bool) -> np.ndarray:
    return rng.integers(-4, 6, size=shape).astype(np.float64) if fixed else dyadic(rng, shape)


@st.composite
def temporal_networks(draw, fixed: bool = False, delays: bool | None = None,
                      refractory: bool = True):
    """Small random dense or conv networks taking ``events`` or ``frames`` sequences, with or
    without per-neuron delays (0..6 steps) on any stage (``refractory``: CubaLIF neurons may
    have a refractory period)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    with_delays = draw(st.booleans()) if delays is None else delays

    def delay(shape):
        return rng.integers(0, 7, size=shape) if with_delays and draw(st.booleans()) else None

    stages = []
    if draw(st.booleans()):  # conv
        channels, size = draw(st.integers(1, 2)), draw(st.integers(3, 5))
        input_shape, out_c = (channels, size, size), draw(st.integers(1, 3))
        conv = Conv2d(_weights(rng, (out_c, channels, 3, 3), fixed), None, 1, 1)
        shape = conv.output_shape(input_shape)
        stages.append(Stage([conv], draw(temporal_neurons(fixed, refractory)),
                            delay=delay((out_c, 1, 1))))
        ops, width = [Flatten()], int(np.prod(shape))
    else:
        width = draw(st.integers(2, 8))
        input_shape, ops = (width,), []
    for _ in range(draw(st.integers(1, 2))):
        out = draw(st.integers(2, 8))
        ops.append(Dense(_weights(rng, (out, width), fixed)))
        stages.append(Stage(ops, draw(temporal_neurons(fixed, refractory)), delay=delay((out,))))
        ops, width = [], out
    classes = draw(st.integers(2, 4))
    stages.append(Stage([*ops, Dense(_weights(rng, (classes, width), fixed))], None,
                        delay=delay((classes,))))
    return Network(input_shape, stages, draw(st.sampled_from(["events", "frames"])))


@st.composite
def sequences(draw, net: Network, chunk: int, fixed: bool = False, min_steps: int = 7):
    """(N, K * chunk, *input_shape) events (0/1) or frames (dyadic, or small ints if fixed);
    at least ``min_steps`` steps (past the strategies' longest delay, 6), up to 3 chunks more."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    fewest = -(-min_steps // chunk)
    shape = (draw(st.integers(1, 3)), chunk * draw(st.integers(fewest, fewest + 3)),
             *net.input_shape)
    if net.input_encoding == "events":
        return (rng.random(shape) < draw(st.sampled_from([0.2, 0.5]))).astype(np.float64)
    return rng.integers(-2, 5, size=shape).astype(np.float64) if fixed else dyadic(rng, shape, 4)


@st.composite
def chunked_schedules(draw, net: Network, chunk: int, max_T: int = 6, graded: bool = False):
    """Random chunked schedules; ``graded``: a gap may also be ``graded``."""
    steps = [draw(st.integers(1, max_T)) for _ in net.stages]
    counted = ["rate", "graded"] if graded else ["rate"]
    buffers = [draw(st.sampled_from(counted + ["replay"] if steps[g] == steps[g + 1]
                                    else counted)) for g in range(len(steps) - 1)]
    return Schedule(steps, buffers, draw(st.sampled_from(["sequential", "pipelined"])), chunk)
