"""The evaluation driver: a network's stages, compiled once, run over time in chunks.

One stage step maps (carried state, input chunk) to (new state, output chunk)::

    state = engine.start(k, batch)            # before stage k's window
    currents = engine.currents(k, inputs)     # the stage's ops on a chunk (T, B, *in_shape)
    out = engine.fire(k, state, currents)     # its neurons: spikes (T, B, *out_shape)

``state`` (:class:`StageState`) carries the neuron state, the spike counts so far and, for the
readout, its sums. :func:`run_batch` chains the steps for one batch under a schedule: stages
joined by ``replay`` buffers run together, chunk by chunk (each chunk of steps passes through
all of them before the next chunk starts, so it stays in cache); a ``rate`` buffer waits for its
stage's window, then emits the next stage's input chunk by chunk from the spike counts. Because
the chain is feed-forward this gives exactly the spikes of stepping all layers together
(``docs/design.md``), whatever the chunk size. :func:`evaluate`, the optimizer's prefix cache
and the uniform sweep all run through :func:`run_batch`; the work counters come from the spike
counts (:func:`ldsnn_lava.engine.result.synaptic_updates`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ldsnn_lava import guards, numerics, validate
from ldsnn_lava.buffers import graded_current, graded_events, quantize_rate_input
from ldsnn_lava.engine.kernels import RateEmitter, accumulate_steps
from ldsnn_lava.engine.result import EvalResult, count_work, synaptic_updates
from ldsnn_lava.engine.stages import (
    EXACT_FLOAT32,
    CompiledStage,
    compile_ops,
    compile_stage,
    partial_sum_bound,
)
from ldsnn_lava.errors import InvalidNetwork, InvalidOption, InvalidSchedule
from ldsnn_lava.network import Network
from ldsnn_lava.ops import Conv2d
from ldsnn_lava.options import BufferKind, InputEncoding, Precision, parse_option
from ldsnn_lava.schedule import Schedule
from ldsnn_lava.sequences import num_chunks

CHUNK_BYTES = 16 << 20
"""Working set of one chunk of the largest stage (its input, currents and spikes): large enough
to amortize the per-call overhead, small enough for the caches (measured:
``benchmarks/chunking.py``)."""
MAX_BATCH = 1024
STATE_BYTES = 64 << 20


@dataclass
class StageState:
    """What a stage carries from one chunk to the next, for one batch.

    Attributes
    ----------
    batch : int
    neuron : tuple of torch.Tensor or None
        The neuron state, flat over batch and neurons; ``None`` before the first step.
    counts : torch.Tensor or None
        ``(B * N,)`` int32 spikes so far (spiking stages).
    readout : torch.Tensor or None
        ``(B, classes)`` float64 sums so far (the readout stage).
    steps : int
        Steps done.
    input_counts : torch.Tensor or None
        After :func:`run_batch`: ``(B * n_inputs,)`` int32 spikes the stage received, in the
        order of :attr:`StageEngine.input_fan_outs` (``None`` under direct input).
    """

    batch: int
    neuron: tuple[torch.Tensor, ...] | None = None
    counts: torch.Tensor | None = None
    readout: torch.Tensor | None = None
    steps: int = 0
    input_counts: torch.Tensor | None = None


class StageEngine:
    """A network's stages compiled for one device, dtype and precision.

    Weights are converted once, when the engine is built; :meth:`of` keeps one engine per
    (network, device, dtype, precision), on the network object (it goes with the network).

    Parameters
    ----------
    net : Network
    device : str or torch.device
    dtype : torch.dtype
        float32 or float64: the arithmetic of currents and neuron state in ``float``
        precision.
    precision : Precision or str
        ``"fixed"`` is the Loihi-style integer definition (see :mod:`ldsnn_lava.neurons`); it
        needs integer weights, biases and neuron parameters (e.g. from
        :func:`ldsnn_lava.quantize`) and integer currents. Sums run in float32 where the
        stage's bounds prove them exact, else in float64 (see
        :mod:`ldsnn_lava.engine.stages`); neuron state is int64.
    """

    def __init__(self, net: Network, device="cpu", dtype: torch.dtype = torch.float32,
                 precision: Precision | str = Precision.FLOAT):
        if dtype not in (torch.float32, torch.float64):
            raise InvalidOption(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.precision = parse_option(Precision, precision, "precision")
        self.net, self.device = net, torch.device(device)
        self.fixed = self.precision == Precision.FIXED
        self.stages: list[CompiledStage] = []
        for k in range(net.num_stages):
            channels_last = (self.stages[-1].channels_last_out if k else
                             len(net.input_shape) == 3
                             and any(isinstance(op, Conv2d) for op in net.stages[0].ops))
            self.stages.append(compile_stage(net, k, self.device, dtype, self.fixed,
                                             channels_last))
        #: each stage's fan-out per input, in the order its input spikes arrive (the upstream
        #: stage's memory order); float64, for :func:`~ldsnn_lava.engine.result.synaptic_updates`
        self.input_fan_outs = [c.fan_out if k == 0 else self.memory_order(
            k - 1, c.fan_out.view(1, *c.in_shape))[0] for k, c in enumerate(self.stages)]
        #: the float dtype asked for (the arithmetic of ``float`` precision)
        self.dtype = dtype
        #: per stage, whether its values could overflow and are checked once per batch
        self.watched = [False] * net.num_stages
        self._bounds: tuple[float, list[float]] | None = None  # (input magnitude, currents)
        self._graded_ops: dict[int, list[Callable]] = {}
        self._graded_bounds: dict[int, float] = {}

    def watch(self, timesteps: Sequence[int], input_magnitude: float) -> None:
        """Prepare the overflow checks (:mod:`ldsnn_lava.numerics`) for runs of at most
        ``timesteps`` on inputs of magnitude at most ``input_magnitude``: fixed point is
        refused if it could overflow; in float, the stages whose bounds exceed the dtype's safe
        range are checked for non-finite values once per batch (:meth:`check_finite`)."""
        if self._bounds is None or self._bounds[0] != input_magnitude:
            self._bounds = (input_magnitude, numerics.current_bounds(self.net, input_magnitude))
        if self.fixed:
            numerics.check_fixed_range(self.net, timesteps, self._bounds[1])
        else:
            self.watched = numerics.stages_to_watch(self.net, timesteps, self._bounds[1],
                                                    self.dtype)

    def check_finite(self, states: Sequence[StageState | None]) -> None:
        """The overflow checks of the watched stages (:meth:`watch`) on final states: each
        stage's neuron state, the readout's sums (``inf`` and NaN persist, so the final values
        reveal any step).

        Raises
        ------
        NumericalError
        """
        for stage, state in enumerate(states):
            if state is None or not self.watched[stage]:
                continue
            values = [state.readout] if state.readout is not None else list(state.neuron or ())
            numerics.check_finite(values, stage, self.dtype)

    @classmethod
    def of(cls, net: Network, device="cpu", dtype: torch.dtype = torch.float32,
           precision: Precision | str = Precision.FLOAT) -> StageEngine:
        """The engine for these arguments: built on first use, then reused."""
        key = (str(torch.device(device)), dtype, parse_option(Precision, precision, "precision"))
        engines = net.__dict__.setdefault("_stage_engines", {})
        if key not in engines:
            engines[key] = cls(net, device, dtype, precision)
        return engines[key]

    # --- one stage step ---------------------------------------------------------------------

    def start(self, stage: int, batch: int) -> StageState:
        """The state of ``stage`` before its window, for ``batch`` samples."""
        compiled = self.stages[stage]
        state = StageState(batch)
        if compiled.kernel is None:
            state.readout = torch.zeros((batch, compiled.neurons), dtype=torch.float64,
                                        device=self.device)
        else:
            state.counts = torch.zeros(batch * compiled.neurons, dtype=torch.int32,
                                       device=self.device)
        return state

    def currents(self, stage: int, inputs: torch.Tensor, spikes: bool = True,
                 ops: Sequence[Callable] | None = None, dtype: torch.dtype = torch.float64,
                 proven: bool = False) -> torch.Tensor:
        """The stage's ops on a chunk of inputs ``(T, B, *in_shape)``: currents ``(T, B, N)``,
        the N neurons in the stage's memory order (see :meth:`logical`).

        ``spikes``: the inputs are 0/1, so the exact shortcuts of
        :mod:`ldsnn_lava.engine.stages` apply. A chunk broadcast over T (stride 0, as direct
        input is) has its ops applied once and its currents broadcast the same way. ``ops``
        and ``dtype``: other compiled ops of the stage (:meth:`graded_ops`, float64; the
        stage's ``direct_ops``, float32) and the dtype they compute in. ``proven``: the
        currents are known to be integers, so fixed precision does not check them.
        """
        compiled = self.stages[stage]
        steps, batch = inputs.shape[:2]
        once = steps > 1 and inputs.stride(0) == 0
        x = (inputs[:1] if once else inputs).reshape(-1, *compiled.in_shape)
        dtype = compiled.dtype if ops is None else dtype
        if x.dtype != dtype:
            x = x.to(dtype)
        if compiled.channels_last_in:
            x = x.contiguous(memory_format=torch.channels_last)
        for fn in ops if ops is not None else compiled.spike_ops if spikes else compiled.ops:
            x = fn(x)
        if compiled.channels_last_out:  # the memory order, (N, H, W, C)
            x = x.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1)
        x = x.reshape(1 if once else steps, batch, compiled.neurons)
        if compiled.check_integer and not proven and not bool((torch.round(x) == x).all()):
            raise InvalidNetwork(
                f"stage {stage}: fixed precision needs integer synaptic currents, got "
                f"fractional values; quantize the network (ldsnn_lava.quantize) and give it "
                f"integer inputs")
        return x.expand(steps, batch, compiled.neurons) if once else x

    def graded_currents(self, stage: int, counts: torch.Tensor, t_in: int, t_out: int
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """What stage ``stage`` receives behind a ``graded`` buffer from the upstream counts
        ``(B, N_up)`` (upstream memory order): the current of its window's first step
        ``(1, B, N)`` (:func:`ldsnn_lava.buffers.graded_current`) and of every other step, its
        zero-input current ``(1, 1, N)``.

        Fixed point computes the payloads' currents in float64 (exact integers: payloads up to
        ``t_in`` can take partial sums past float32's 2**24); a stage whose bound times
        ``t_in * t_out`` reaches 2**53 is refused.
        """
        compiled = self.stages[stage]
        payload = self.logical(stage - 1, counts.unsqueeze(0))
        ops = None
        if self.fixed:
            ops = self.graded_ops(stage)
            bound = self._graded_bounds.setdefault(stage, partial_sum_bound(
                self.net.stages[stage].ops, compiled.in_shape))
            if bound * t_in * t_out >= 2.0 ** 53:
                raise InvalidSchedule(
                    f"stage {stage}: graded payloads up to T_{stage - 1}={t_in} scaled by "
                    f"T_{stage}={t_out} can reach {bound * t_in * t_out:.3g}, beyond exact "
                    f"integers (2**53) in fixed point; use a 'rate' buffer there")
        current = self.currents(stage, payload, spikes=False, ops=ops)
        zero = self.currents(stage, torch.zeros_like(payload[:, :1]), spikes=False, ops=ops)
        first = graded_current(current, zero, t_in, t_out, self.fixed)
        if not self.fixed:
            return first, zero
        dtype = (compiled.dtype if max(float(first.abs().max()), float(zero.abs().max()))
                 < EXACT_FLOAT32 else torch.float64)
        return first.to(dtype), zero.to(dtype)

    def graded_ops(self, stage: int) -> list[Callable]:
        """The stage's ops in float64 for any input (compiled on first use): fixed-point
        currents of graded payloads."""
        if stage not in self._graded_ops:
            compiled = self.stages[stage]
            self._graded_ops[stage] = compile_ops(
                self.net.stages[stage].ops, compiled.in_shape, self.device, torch.float64,
                False, compiled.channels_last_in)[0]
        return self._graded_ops[stage]

    def fire(self, stage: int, state: StageState, currents: torch.Tensor) -> torch.Tensor:
        """Advance ``stage`` over a chunk of currents ``(T, B, N)``, updating ``state``.

        Returns the spikes ``(T, B, *out_shape)`` as 0/1 in the currents' dtype, or, for the
        readout, the currents themselves (``state.readout`` adds them up in float64, step after
        step).
        """
        compiled = self.stages[stage]
        steps = currents.shape[0]
        state.steps += steps
        flat = currents.reshape(steps, -1)
        if compiled.kernel is None:
            accumulate_steps(flat, state.readout.view(-1))
            return currents
        if state.neuron is None:
            state.neuron = compiled.kernel.start(flat[0])
        out = torch.empty(flat.shape, dtype=flat.dtype, device=self.device)
        compiled.kernel.run(flat, state.neuron, out, state.counts)
        return self.logical(stage, out.view(steps, state.batch, compiled.neurons))

    def step(self, stage: int, state: StageState, inputs: torch.Tensor) -> torch.Tensor:
        """One stage step: ``fire(stage, state, currents(stage, inputs))``."""
        return self.fire(stage, state, self.currents(stage, inputs))

    def synaptic_updates(self, states: Sequence[StageState | None]) -> np.ndarray:
        """Each stage's synaptic updates in a :func:`run_batch` result, summed over the batch
        (0 for stages not run)."""
        return synaptic_updates([None if s is None or s.input_counts is None
                                 else s.input_counts.view(s.batch, -1) for s in states],
                                self.input_fan_outs)

    def counts(self, stage: int, state: StageState) -> torch.Tensor:
        """The spike counts of ``stage`` so far, ``(B, *out_shape)`` int32 (a view)."""
        return self.logical(stage, state.counts.view(state.batch, -1))

    def logical(self, stage: int, flat: torch.Tensor) -> torch.Tensor:
        """A ``(..., N)`` tensor of the stage's neurons in its memory order, viewed as
        ``(..., *out_shape)``: channels-last feature maps are permuted views."""
        compiled = self.stages[stage]
        if not compiled.channels_last_out:
            return flat.view(*flat.shape[:-1], *compiled.out_shape)
        c, h, w = compiled.out_shape
        lead = flat.dim() - 1
        return flat.view(*flat.shape[:-1], h, w, c).permute(*range(lead), lead + 2, lead,
                                                              lead + 1)

    def memory_order(self, stage: int, tensor: torch.Tensor) -> torch.Tensor:
        """``(B, *out_shape)`` values of the stage's neurons as ``(B, N)`` in its memory order."""
        if self.stages[stage].channels_last_out:
            tensor = tensor.permute(0, 2, 3, 1)
        return tensor.reshape(tensor.shape[0], -1)

    # --- chunk sizes ------------------------------------------------------------------------

    def _step_bytes(self, stage: int) -> int:
        """Bytes one sample's step of ``stage`` touches: inputs, currents and spikes."""
        compiled = self.stages[stage]
        return (compiled.inputs + 2 * compiled.neurons) * (torch.finfo(compiled.dtype).bits // 8)

    def chunk_rows(self, stages: Sequence[int]) -> int:
        """Sample-steps per chunk for ``stages`` run together: as many as keep the largest
        stage's chunk within :data:`CHUNK_BYTES` (at least one)."""
        return max(1, CHUNK_BYTES // max(self._step_bytes(k) for k in stages))

    def chunk_shape(self, stages: Sequence[int], steps: int, batch: int) -> tuple[int, int]:
        """(samples, steps) per chunk when ``stages`` run a window of ``steps`` steps on
        ``batch`` samples: the whole window of as many samples as fit in a chunk (at least
        one), or, when one sample's window does not fit, as many steps of one sample as do."""
        rows = self.chunk_rows(stages)
        if rows >= steps:
            return min(batch, rows // steps), steps
        return 1, rows

    def batch_size(self) -> int:
        """The default batch: at most :data:`MAX_BATCH` samples whose carried state (every
        stage's neuron state and counts) fits in :data:`STATE_BYTES`. Within a batch each
        stage runs in chunks sized for the caches (:meth:`chunk_shape`), so this bounds
        memory and call overhead, not speed."""
        state = sum(c.neurons * 16 for c in self.stages)
        return int(max(1, min(MAX_BATCH, STATE_BYTES // state)))


ChunkHook = Callable[[int, int, slice, torch.Tensor, torch.Tensor], None]
"""``hook(stage, first_step, samples, inputs, outputs)``, called after every stage step:
``samples`` is the slice of the batch the chunk covers."""


def run_batch(engine: StageEngine, schedule: Schedule, x: torch.Tensor | None = None, *,
              start: int = 0, start_counts: torch.Tensor | None = None,
              stop: int | None = None, chunk: tuple[int, int] | None = None,
              on_chunk: ChunkHook | None = None) -> list[StageState | None]:
    """Run one batch through stages ``start..stop-1`` under ``schedule``, chunk by chunk.

    Each run of stages joined by ``replay`` buffers goes through the batch in chunks of
    (samples, steps) sized for the caches (:meth:`StageEngine.chunk_shape`): the samples of a
    chunk go through every stage of the run before the next chunk starts.

    Parameters
    ----------
    engine : StageEngine
    schedule : Schedule
    x : torch.Tensor, optional
        ``(B, *input_shape)`` inputs on the engine's device, when ``start == 0``.
    start : int
        The first stage to run. With ``start > 0`` the stages before it are summed up by
        ``start_counts``, and buffer ``start - 1`` must be ``rate`` or ``graded``.
    start_counts : torch.Tensor, optional
        ``(B, *out_shape)`` spike counts of stage ``start - 1``.
    stop : int, optional
        One past the last stage to run; default: all.
    chunk : (int, int), optional
        (samples, steps) per chunk instead of the cache-sized default. It changes speed,
        never results.
    on_chunk : ChunkHook, optional
        Called after every stage step, e.g. to collect per-step outputs.

    Returns
    -------
    list of StageState or None
        Each stage's final state over the whole batch (``None`` outside ``start..stop-1``).
    """
    net, steps = engine.net, schedule.timesteps
    stop = net.num_stages if stop is None else stop
    states: list[StageState | None] = [None] * net.num_stages
    if start == 0:
        batch, upstream = x.shape[0], None
    else:
        if not schedule.buffers[start - 1].from_counts:
            raise InvalidOption(f"stage {start} can start from spike counts only behind a "
                                f"rate or graded buffer, not {schedule.buffers[start - 1]!r}")
        batch, upstream = start_counts.shape[0], engine.memory_order(start - 1, start_counts)
    for group in _replay_groups(schedule, start, stop):
        window = steps[group[0]]
        samples, chunk_steps = chunk or engine.chunk_shape(group, window, batch)
        parts = []
        for low in range(0, batch, samples):
            rows = slice(low, min(low + samples, batch))
            source = _source(engine, schedule, group[0], x, upstream, rows)
            part = [engine.start(k, rows.stop - rows.start) for k in group]
            part[0].input_counts = source.emitted
            for first in range(0, window, chunk_steps):
                size = min(chunk_steps, window - first)
                inputs = source.next(size)
                for k, state in zip(group, part, strict=True):
                    out = (engine.fire(k, state, source.currents(first, size))
                           if k == group[0] and isinstance(source, _Constant | _Graded)
                           else engine.step(k, state, inputs))
                    if on_chunk is not None:
                        on_chunk(k, first, rows, inputs, out)
                    inputs = out
            parts.append(part)
        for i, k in enumerate(group):
            states[k] = _joined([part[i] for part in parts])
            if i:  # a replay buffer hands on exactly the spikes of the stage before
                states[k].input_counts = states[k - 1].counts
        upstream = states[group[-1]].counts
        if upstream is not None:
            upstream = upstream.view(batch, -1)
    engine.check_finite(states)
    return states


def _source(engine: StageEngine, schedule: Schedule, stage: int, x: torch.Tensor | None,
            upstream: torch.Tensor | None, rows: slice):
    """What feeds ``stage`` for the samples ``rows``: the input (direct or rate-encoded) for
    stage 0, else the ``rate`` or ``graded`` buffer behind it, from the upstream counts (memory
    order)."""
    net, steps = engine.net, schedule.timesteps
    if stage > 0 and schedule.buffers[stage - 1] == BufferKind.GRADED:
        return _Graded(engine, stage, upstream[rows], steps[stage - 1], steps[stage])
    if stage > 0:
        return _Rate(upstream[rows], steps[stage - 1], engine.stages[stage].dtype,
                     functools.partial(engine.logical, stage - 1))
    if net.input_encoding == InputEncoding.DIRECT:
        return _Constant(engine, x[rows])
    counts = quantize_rate_input(x[rows], steps[0])
    return _Rate(counts.reshape(counts.shape[0], -1), steps[0], engine.stages[0].dtype,
                 lambda flat: flat.view(*flat.shape[:2], *net.input_shape))


def _joined(parts: list[StageState]) -> StageState:
    """One stage's states of consecutive parts of a batch as the state of the whole batch."""
    if len(parts) == 1:
        return parts[0]

    def cat(tensors):
        return None if tensors[0] is None else torch.cat(tensors)

    return StageState(
        batch=sum(p.batch for p in parts), steps=parts[0].steps,
        neuron=None if parts[0].neuron is None else tuple(
            torch.cat(values) for values in zip(*(p.neuron for p in parts), strict=True)),
        counts=cat([p.counts for p in parts]), readout=cat([p.readout for p in parts]),
        input_counts=cat([p.input_counts for p in parts]))


def _replay_groups(schedule: Schedule, start: int, stop: int) -> list[list[int]]:
    """Stages ``start..stop-1`` in runs joined by ``replay`` buffers."""
    groups = [[start]]
    for k in range(start + 1, stop):
        if schedule.buffers[k - 1] == BufferKind.REPLAY:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def _integers_within(x: torch.Tensor, bound: int) -> bool:
    """Whether every value of ``x`` is an integer of magnitude at most ``bound``."""
    return bool((x.abs() <= bound).all()) and bool((torch.round(x) == x).all())


class _Constant:
    """Direct input: stage 0's currents, computed once per batch, are the same every step."""

    emitted = None  # no input spikes: stage 0 does input MACs

    def __init__(self, engine: StageEngine, x: torch.Tensor):
        self.x = x
        compiled = engine.stages[0]
        if engine.fixed and compiled.direct_ops is not None and _integers_within(
                x, compiled.direct_input_bound):  # float32 sums are exact: proven integers
            self.current = engine.currents(0, x.unsqueeze(0), spikes=False,
                                           ops=compiled.direct_ops, dtype=torch.float32,
                                           proven=True)
            return
        current = engine.currents(0, x.unsqueeze(0), spikes=False)
        if (engine.fixed and current.dtype == torch.float64
                and bool(current.abs().max() < EXACT_FLOAT32)):
            current = current.to(torch.float32)  # exact: integers below 2**24
        self.current = current

    def next(self, steps: int) -> torch.Tensor:
        return self.x.unsqueeze(0).expand(steps, *self.x.shape)

    def currents(self, first: int, steps: int) -> torch.Tensor:
        return self.current.expand(steps, *self.current.shape[1:])


class _Graded:
    """A ``graded`` buffer: from the upstream counts ``(B, N_up)`` (memory order), one graded
    event per non-zero count in the first step of the window; the next stage's currents are
    :meth:`StageEngine.graded_currents` (first step) and its zero-input current (the rest)."""

    def __init__(self, engine: StageEngine, stage: int, counts: torch.Tensor, t_in: int,
                 t_out: int):
        self.first, self.zero = engine.graded_currents(stage, counts, t_in, t_out)
        #: one event per non-zero count: what the synaptic updates count
        self.emitted = graded_events(counts).to(torch.int32).reshape(-1)
        self.payload = engine.logical(stage - 1, counts.unsqueeze(0)).to(
            engine.stages[stage].dtype)
        self.sent = False

    def next(self, steps: int) -> torch.Tensor:
        """The payloads as the next stage's input chunk (for chunk hooks): the counts in the
        window's first step, zeros after."""
        chunk = torch.zeros((steps, *self.payload.shape[1:]), dtype=self.payload.dtype,
                            device=self.payload.device)
        if not self.sent:
            chunk[0] = self.payload[0]
            self.sent = True
        return chunk

    def currents(self, first: int, steps: int) -> torch.Tensor:
        rest = self.zero.expand(steps, *self.first.shape[1:])
        if first > 0:
            return rest
        return torch.cat([self.first, rest[1:]])


class _Rate:
    """A ``rate`` buffer, or rate-encoded input: emits chunk by chunk from spike counts
    ``(B, N)`` in the upstream memory order; ``logical`` views a ``(T, B, N)`` chunk as the
    next stage's input ``(T, B, *in_shape)``."""

    def __init__(self, counts: torch.Tensor, t_in: int, dtype: torch.dtype,
                 logical: Callable[[torch.Tensor], torch.Tensor]):
        self.emitter = RateEmitter(counts, t_in, dtype)
        self.batch, self.logical = counts.shape[0], logical
        #: the spikes emitted so far, per input
        self.emitted = torch.zeros(counts.numel(), dtype=torch.int32, device=counts.device)

    def next(self, steps: int) -> torch.Tensor:
        return self.logical(self.emitter.emit(steps, self.emitted).view(steps, self.batch, -1))


def as_input(x, net: Network) -> torch.Tensor:
    """``x`` as a floating tensor ``(N, *net.input_shape)``, checked by
    :func:`ldsnn_lava.validate.inputs` (:class:`~ldsnn_lava.errors.InvalidInput` on a wrong
    type or shape, no samples, a NaN/inf value, or rate input outside [0, 1])."""
    return validate.inputs(x, net).x


def value_bytes(precision: Precision, dtype: torch.dtype) -> int:
    """Bytes per current value for the memory estimate: float32 4, float64 8; fixed point
    keeps float64 sums, their rounding and int64 currents (24)."""
    return 24 if precision == Precision.FIXED else torch.finfo(dtype).bits // 8


def check_call(net, schedule) -> None:
    """The network and schedule arguments of an evaluation: their types, and that they fit."""
    if not isinstance(net, Network):
        raise InvalidNetwork(f"expected a Network, got {type(net).__name__}")
    if not isinstance(schedule, Schedule):
        raise InvalidSchedule(f"expected a Schedule, got {type(schedule).__name__} (make one "
                              f"with Schedule(timesteps, buffers))")
    schedule.check(net)


def evaluate(
    net: Network,
    schedule: Schedule,
    x,
    *,
    device: str | torch.device = "cpu",
    batch_size: int | None = None,
    dtype: torch.dtype = torch.float32,
    precision: Precision | str = Precision.FLOAT,
    record_spikes: bool = True,
    record_rasters: bool = False,
    progress: bool | None = None,
) -> EvalResult:
    """Evaluate ``net`` under ``schedule`` on a batch of inputs.

    Parameters
    ----------
    net : Network
    schedule : Schedule
        Must have one timestep per stage of ``net``.
    x : array-like or torch.Tensor
        (N, *net.input_shape) inputs; for sequence input (``events``/``frames``) (N, S,
        *net.input_shape), S a multiple of ``schedule.chunk``.
    device : str or torch.device
        ``"cpu"`` or ``"cuda"``.
    batch_size : int, optional
        Samples per batch (default: :meth:`StageEngine.batch_size`, bounded by memory; each
        stage then runs in chunks sized for the caches). It never changes results.
    dtype : torch.dtype
        float32 (default) or float64, in ``float`` precision.
    precision : Precision or str
        ``"fixed"``: the Loihi-style integer definition (see :class:`StageEngine`).
    record_spikes : bool
        Keep each spiking stage's per-neuron spike counts.
    record_rasters : bool
        Also keep each spiking stage's spikes step by step (``EvalResult.rasters``), to compare
        traces with another simulator.
    progress : bool, optional
        Show a progress bar; default: when writing to a terminal.

    Returns
    -------
    EvalResult

    Raises
    ------
    InvalidNetwork, InvalidSchedule
        If ``net`` or ``schedule`` is not one, or they do not fit each other.
    InvalidInput
        If ``x`` is not real finite numbers of shape ``(N, *net.input_shape)`` with N >= 1, or
        lies outside [0, 1] under rate encoding.
    InvalidOption, BackendUnavailable
        For a bad option, or a device this machine does not have.
    ResourceLimitError
        If the evaluation is estimated to exceed the memory or time limit
        (:mod:`ldsnn_lava.guards`).
    NumericalError
        If currents or potentials overflow ``dtype`` (:mod:`ldsnn_lava.numerics`).

    Examples
    --------
    >>> result = evaluate(net, Schedule([8, 4, 4], "rate"), x_test)  # doctest: +SKIP
    >>> result.accuracy(y_test), result.counters.total["synaptic_updates"]  # doctest: +SKIP
    """
    begin_time = time.perf_counter()
    check_call(net, schedule)
    checked = validate.inputs(x, net, schedule=schedule)
    x, n = checked.x, checked.x.shape[0]
    device, dtype = validate.device(device), validate.float_dtype(dtype)
    precision = parse_option(Precision, precision, "precision")
    record_spikes = validate.flag(record_spikes, "record_spikes")
    record_rasters = validate.flag(record_rasters, "record_rasters")
    if progress is not None:
        progress = validate.flag(progress, "progress")
    engine = StageEngine.of(net, device, dtype, precision)
    batch_given = batch_size is not None
    size = value_bytes(precision, dtype)
    if batch_given:
        batch_size = min(n, validate.integer(batch_size, "batch_size", low=1))
    else:
        batch_size = guards.fitting_batch(net, schedule.timesteps,
                                          min(n, engine.batch_size()), size)
    windows = num_chunks(schedule, x.shape[1]) if net.input_encoding.is_sequence else 1
    guards.check_evaluation(net, schedule.timesteps, n, batch_size, batch_given=batch_given,
                            value_bytes=size, windows=windows)
    if net.input_encoding.is_sequence or net.has_delays:
        from ldsnn_lava.engine.temporal import evaluate_chunked

        return evaluate_chunked(net, schedule, x, device=device, batch_size=batch_size,
                                dtype=dtype, precision=precision, record_spikes=record_spikes,
                                record_rasters=record_rasters, progress=progress,
                                start=begin_time, input_magnitude=checked.magnitude)
    engine.watch(schedule.timesteps, checked.magnitude)
    readouts, synaptic = [], np.zeros(net.num_stages)
    recorded: list[list[np.ndarray]] = [[] for _ in range(net.num_stages - 1)]
    rasters: list[list[np.ndarray]] = [[] for _ in range(net.num_stages - 1)]
    count_dtypes = [np.uint8 if T <= 255 else np.int32 for T in schedule.timesteps]
    batches = range(0, n, batch_size)
    shown = len(batches) > 1 if progress is None else progress
    bar = tqdm(batches, desc="evaluate", unit="batch", leave=False) if shown else batches
    with torch.inference_mode():
        for begin in bar:
            batch = x[begin:begin + batch_size].to(engine.device)
            hook, batch_rasters = (_raster_recorder(net, schedule, batch.shape[0])
                                   if record_rasters else (None, []))
            states = run_batch(engine, schedule, batch, on_chunk=hook)
            for k, raster in enumerate(batch_rasters):
                rasters[k].append(raster.cpu().numpy())
            synaptic += engine.synaptic_updates(states)
            readouts.append(states[-1].readout.cpu().numpy())
            if record_spikes:
                for k, state in enumerate(states[:-1]):
                    recorded[k].append(engine.counts(k, state).cpu().numpy().astype(
                        count_dtypes[k]))
    readout = np.concatenate(readouts)
    return EvalResult(
        readout=readout,
        predictions=np.argmax(readout, axis=1),
        spike_counts=[np.concatenate(c) for c in recorded] if record_spikes else None,
        counters=count_work(net, schedule, synaptic / n),
        schedule=schedule,
        seconds=time.perf_counter() - begin_time,
        rasters=[np.concatenate(r) for r in rasters] if record_rasters else None,
    )


def _raster_recorder(net: Network, schedule: Schedule, batch: int
                     ) -> tuple[ChunkHook, list[torch.Tensor]]:
    """A chunk hook that records every spiking stage's spikes, and the (B, T_l, *shape)
    boolean rasters it fills."""
    rasters = [torch.empty((batch, schedule.timesteps[k], *net.output_shape_of(k)),
                           dtype=torch.bool) for k in range(net.num_stages - 1)]

    def record(stage: int, first: int, rows: slice, inputs: torch.Tensor,
               out: torch.Tensor) -> None:
        if stage < net.num_stages - 1:
            rasters[stage][rows, first:first + out.shape[0]] = out.transpose(0, 1).cpu().bool()

    return record, rasters
