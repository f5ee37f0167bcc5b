"""The torch engine for sequence input and delays: chunk by chunk, state carried.

A network with ``events``/``frames`` input (or with per-neuron delays) is evaluated as
``docs/design.md`` (temporal input) defines it. For every chunk of ``schedule.chunk`` input steps
(one chunk of T_l steps for static input), stage after stage:

1. stage 0's input is the chunk brought to T_0 steps (unchanged when T_0 equals the chunk;
   ``events`` counts re-emitted by the rate rule; ``frames`` sampled and held);
2. the stage's ops turn its input raster into currents (one batched call for the chunk), its
   delay line shifts each neuron's currents by its scaled delay (history carried from the
   previous chunk), and its neurons step through the chunk from the state the previous chunk
   left;
3. the buffer turns the chunk's output into the next stage's input (``replay``, ``rate`` on the
   chunk's counts, or ``graded``: the chunk's counts as one graded event per neuron in the
   first step, the next stage's currents from :meth:`StageEngine.graded_currents`); the readout
   adds the chunk's currents to its sum.

Each stage step is :class:`~ldsnn_lava.engine.driver.StageEngine`'s (its compiled ops, then
its neuron kernel from the carried :class:`~ldsnn_lava.engine.driver.StageState`), so currents,
spikes and synaptic counts are computed as for static input; the delay line sits between the
two, on the currents in the stage's memory order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ldsnn_lava.buffers import graded_events, quantize_rate_input
from ldsnn_lava.engine.driver import StageEngine, as_input
from ldsnn_lava.engine.kernels import RateEmitter
from ldsnn_lava.engine.result import EvalResult, count_work, weighted_counts
from ldsnn_lava.errors import InvalidInput, InvalidOption
from ldsnn_lava.network import Network
from ldsnn_lava.options import BufferKind, InputEncoding
from ldsnn_lava.schedule import Schedule
from ldsnn_lava.sequences import check_delays, check_sequence, hold_steps, num_chunks, scaled_delays


@dataclass
class DelayLine:
    """A stage's per-neuron delays in its own steps, with the currents still in flight."""

    delays: torch.Tensor  # (n,) int64, flattened neurons
    history: torch.Tensor | None = None  # (max delay, B, n): the last currents

    def shift(self, currents: torch.Tensor) -> torch.Tensor:
        """``currents`` (T, B, n) as the neurons receive them: neuron i's current at step t is
        the one produced ``delays[i]`` steps earlier (zero before the sample started)."""
        steps, batch, size = currents.shape
        depth = int(self.delays.max())
        if self.history is None:
            self.history = currents.new_zeros((depth, batch, size))
        full = torch.cat([self.history, currents])
        index = depth + torch.arange(steps, device=currents.device)[:, None] - self.delays
        self.history = full[steps:]
        return full.gather(0, index[:, None, :].expand(steps, batch, size))


@dataclass
class SequenceRun:
    """One batch's results, summed over its chunks (``chunk_counts``: each stage's counts per
    chunk, kept on request for the optimizer's prefix cache)."""

    readout: torch.Tensor | None = None
    synaptic: np.ndarray | None = None
    counts: list[torch.Tensor | None] = field(default_factory=list)
    rasters: list[list[torch.Tensor]] = field(default_factory=list)
    chunk_counts: list[list[torch.Tensor]] = field(default_factory=list)


def stage0_chunk_input(net: Network, schedule: Schedule, part: torch.Tensor) -> torch.Tensor:
    """A chunk ``part`` (B, C, *shape) of sequences as stage 0's input raster (T_0, B, *shape):
    unchanged when T_0 = C, ``events`` counts re-emitted by the rate rule, ``frames`` held."""
    T, chunk = schedule.timesteps[0], part.shape[1]
    if T == chunk:
        return part.transpose(0, 1)
    if net.input_encoding == InputEncoding.EVENTS:
        counts = part.sum(1).to(torch.int64)
        spikes = RateEmitter(counts, chunk, torch.float32).emit(T)
        return spikes.view(T, *counts.shape).bool()
    return part[:, torch.as_tensor(hold_steps(chunk, T), device=part.device)].transpose(0, 1)


def _rate(engine: StageEngine, stage: int, counts: torch.Tensor, t_in: int, t_out: int
          ) -> torch.Tensor:
    """The ``rate`` buffer after ``stage`` emitting ``counts`` (B, *out_shape) over ``t_out``
    steps: (t_out, B, *out_shape) 0/1 spikes."""
    flat = engine.memory_order(stage, counts)
    spikes = RateEmitter(flat, t_in, engine.stages[stage + 1].dtype).emit(t_out)
    return engine.logical(stage, spikes.view(t_out, *flat.shape))


@dataclass
class GradedInput:
    """A chunk's counts ``(B, *out_shape)`` of stage ``stage - 1`` on their way through a
    ``graded`` buffer to ``stage``, which runs ``t_out`` steps per chunk."""

    counts: torch.Tensor
    t_in: int
    t_out: int

    def currents(self, engine: StageEngine, stage: int) -> torch.Tensor:
        """Stage ``stage``'s currents over the chunk ``(t_out, B, N)``: the graded current in
        the first step, the zero-input current after."""
        first, zero = engine.graded_currents(
            stage, engine.memory_order(stage - 1, self.counts), self.t_in, self.t_out)
        return torch.cat([first, zero.expand(self.t_out - 1, *first.shape[1:])])

    def events(self) -> torch.Tensor:
        """``(1, n_inputs)``: graded events per input over the batch (one per non-zero
        count)."""
        return graded_events(self.counts).reshape(self.counts.shape[0], -1).sum(
            0, keepdim=True)


def _buffered(engine: StageEngine, schedule: Schedule, stage: int, counts: torch.Tensor):
    """What the count-based buffer after ``stage`` hands on from a chunk's ``counts``: a
    ``rate`` raster, or the counts for a ``graded`` buffer."""
    steps = schedule.timesteps
    if schedule.buffers[stage] == BufferKind.GRADED:
        return GradedInput(counts, steps[stage], steps[stage + 1])
    return _rate(engine, stage, counts, steps[stage], steps[stage + 1])


class SequenceEngine:
    """Runs a network under a schedule on batches of sequences (or static samples), chunk by
    chunk, carrying neuron state and delay lines.

    Parameters
    ----------
    engine : StageEngine
        The network's compiled stages.
    schedule : Schedule
    """

    def __init__(self, engine: StageEngine, schedule: Schedule):
        self.engine, self.schedule, self.net = engine, schedule, engine.net
        chunk = schedule.chunk
        # per neuron, in the stage's memory order (the order of its currents)
        self.delays = [
            None if stage.delay is None or not stage.delay.any() else engine.memory_order(
                i, torch.as_tensor(scaled_delays(self.net.delays_of(i), schedule.timesteps[i],
                                                 chunk), device=engine.device)[None])[0]
            for i, stage in enumerate(self.net.stages)]

    def _stage0_input(self, part: torch.Tensor) -> torch.Tensor:
        return stage0_chunk_input(self.net, self.schedule, part)

    def _static_input(self, x: torch.Tensor) -> torch.Tensor:
        """A static batch as stage 0's input over its window: the direct input every step (a
        broadcast view), or the rate-encoded raster."""
        T = self.schedule.timesteps[0]
        if self.net.input_encoding == InputEncoding.DIRECT:
            return x.unsqueeze(0).expand(T, *x.shape)
        counts = quantize_rate_input(x, T)
        spikes = RateEmitter(counts, T, self.engine.stages[0].dtype).emit(T)
        return spikes.view(T, *x.shape)

    def run(self, x: torch.Tensor | None, *, record_counts: bool = True,
            record_rasters: bool = False, start: int = 0, upstream: torch.Tensor | None = None,
            keep_chunk_counts: bool = False) -> SequenceRun:
        """Evaluate one batch.

        Parameters
        ----------
        x : torch.Tensor or None
            (B, S, *input_shape) for sequence input, (B, *input_shape) for static input; only
            needed when ``start`` is 0.
        record_counts, record_rasters : bool
            Keep each stage's spike counts over the sample / its spikes step by step.
        start : int
            First stage to run; stage ``start - 1``'s spike counts per chunk are ``upstream``,
            (B, K, *shape), re-emitted by its ``rate`` or ``graded`` buffer (the optimizer's
            cached prefix).
        keep_chunk_counts : bool
            Keep each stage's spike counts per chunk (``SequenceRun.chunk_counts``).
        """
        net, engine = self.net, self.engine
        sequence, chunk = net.input_encoding.is_sequence, self.schedule.chunk
        if start:
            chunks = upstream.shape[1]
        else:
            chunks = x.shape[1] // chunk if sequence else 1
        batch = upstream.shape[0] if start else x.shape[0]
        states = [engine.start(k, batch) for k in range(net.num_stages)]
        delays = [None if d is None else DelayLine(d) for d in self.delays]
        spiking = net.num_stages - 1
        run = SequenceRun(synaptic=np.zeros(net.num_stages), counts=[None] * spiking,
                          rasters=[[] for _ in range(spiking)],
                          chunk_counts=[[] for _ in range(spiking)])
        for k in range(chunks):
            if start:
                signal = _buffered(engine, self.schedule, start - 1, upstream[:, k])
            elif sequence:
                signal = self._stage0_input(x[:, k * chunk:(k + 1) * chunk])
            else:
                signal = self._static_input(x)
            for index in range(start, net.num_stages):
                spikes = index > 0 or net.input_encoding in (InputEncoding.EVENTS,
                                                            InputEncoding.RATE)
                if isinstance(signal, GradedInput):
                    currents = signal.currents(engine, index)
                    per_input = signal.events()
                else:
                    signal = signal.to(engine.stages[index].dtype)
                    currents = engine.currents(index, signal, spikes=spikes)
                    per_input = (signal.sum(0).reshape(batch, -1).sum(0, keepdim=True)
                                 if spikes else None)
                if spikes:  # input spikes (graded events) of the chunk times their fan-out
                    run.synaptic[index] += float(weighted_counts(
                        per_input, engine.stages[index].fan_out)[0])
                if delays[index] is not None:
                    currents = delays[index].shift(currents)
                out = engine.fire(index, states[index], currents)
                if net.stages[index].is_readout:
                    run.readout = states[index].readout
                    break
                raster = out.bool()
                counted = raster.sum(0, dtype=torch.int32)
                if keep_chunk_counts:
                    run.chunk_counts[index].append(counted)
                if record_counts:
                    run.counts[index] = counted if run.counts[index] is None else \
                        run.counts[index] + counted
                if record_rasters:
                    run.rasters[index].append(raster.transpose(0, 1).cpu())
                if self.schedule.buffers[index] == BufferKind.REPLAY:
                    signal = out
                else:
                    signal = _buffered(engine, self.schedule, index, counted)
        engine.check_finite(states)
        return run


def _as_input(x, net: Network, schedule: Schedule) -> torch.Tensor:
    """``x`` as a floating tensor after the checks of its kind (sequence or static)."""
    x = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
    if net.input_encoding.is_sequence:
        check_sequence(net, schedule, x.cpu().numpy())
    else:
        x = as_input(x, net)
    return x if torch.is_floating_point(x) else x.to(torch.float64)


def evaluate_chunked(net: Network, schedule: Schedule, x, *, device, batch_size, dtype,
                     precision, record_spikes: bool, record_rasters: bool, progress,
                     start: float, input_magnitude: float | None = None) -> EvalResult:
    """:func:`ldsnn_lava.evaluate` for sequence input or networks with delays (same
    parameters; ``start`` is the caller's clock; ``input_magnitude``, the largest ``|x|``, arms
    the overflow checks of :mod:`ldsnn_lava.numerics`)."""
    x = _as_input(x, net, schedule)
    n = x.shape[0]
    if n == 0:
        raise InvalidInput("input holds no samples")
    steps = x.shape[1] if net.input_encoding.is_sequence else None
    check_delays(net, schedule, steps)
    stages = StageEngine.of(net, device, dtype, precision)
    if input_magnitude is not None:  # state carries over chunks: bound the whole sequence
        chunks = num_chunks(schedule, steps or 0)
        stages.watch([T * chunks for T in schedule.timesteps], input_magnitude)
    engine = SequenceEngine(stages, schedule)
    batch_size = batch_size or stages.batch_size()
    if batch_size < 1:
        raise InvalidOption(f"batch_size must be >= 1, got {batch_size}")
    readouts, synaptic = [], np.zeros(net.num_stages)
    counts = [[] for _ in range(net.num_stages - 1)]
    rasters = [[] for _ in range(net.num_stages - 1)]
    batches = range(0, n, batch_size)
    bar = tqdm(batches, desc="evaluate", unit="batch", leave=False,
               disable=(len(batches) < 2) if progress is None else not progress)
    with torch.inference_mode():
        for begin in bar:
            run = engine.run(x[begin:begin + batch_size].to(engine.engine.device),
                             record_counts=record_spikes, record_rasters=record_rasters)
            readouts.append(run.readout.cpu().numpy())
            synaptic += run.synaptic
            for stage in range(net.num_stages - 1):
                if record_spikes:
                    counts[stage].append(run.counts[stage].cpu().numpy())
                if record_rasters:
                    rasters[stage].append(torch.cat(run.rasters[stage], dim=1).numpy())
    readout = np.concatenate(readouts)
    return EvalResult(
        readout=readout,
        predictions=np.argmax(readout, axis=1),
        spike_counts=[np.concatenate(c) for c in counts] if record_spikes else None,
        counters=count_work(net, schedule, synaptic / n, num_chunks(schedule, steps or 0)),
        schedule=schedule,
        seconds=time.perf_counter() - start,
        rasters=[np.concatenate(r) for r in rasters] if record_rasters else None,
    )
