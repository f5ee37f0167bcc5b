"""The given SNN at every uniform T = 1..max_T, in one pass.

Under a uniform schedule (every stage T steps, ``replay`` buffers) stage l's spikes at step t
depend only on steps <= t, and every stage starts from the same initial state whatever T is.
So the first T steps of a run at ``max_T`` are exactly a run at T: one run
(:func:`ldsnn_lava.engine.run_batch`, watching every chunk) gives each T's spikes, hence its
synaptic updates (input spikes of the first T steps times fan-out), and its readout, the
readout stage's currents summed over the first T steps in step order, as
:func:`ldsnn_lava.evaluate` sums them (so results equal it bit for bit; tests check it). Under
``rate`` input encoding the input raster itself depends on T, so each T is evaluated
separately; so it is for sequence input (each T runs T steps per chunk of ``chunk`` input
steps, its input gap depending on T) and for networks with delays.
"""

from __future__ import annotations

import numpy as np
import torch

from ldsnn_lava import validate
from ldsnn_lava.engine.driver import StageEngine, evaluate, run_batch
from ldsnn_lava.engine.result import Evaluation, count_work, weighted_counts
from ldsnn_lava.network import Network
from ldsnn_lava.options import InputEncoding, Precision
from ldsnn_lava.schedule import MAX_TIMESTEPS, Schedule


def uniform_sweep(
    net: Network,
    x,
    y,
    max_T: int,
    *,
    device: str | torch.device = "cpu",
    batch_size: int | None = None,
    dtype: torch.dtype = torch.float32,
    precision: Precision | str = Precision.FLOAT,
    chunk: int | None = None,
) -> list[Evaluation]:
    """Accuracy and counters of ``net`` under ``Schedule.uniform(net, T)`` for T = 1..max_T.

    Parameters
    ----------
    net : Network
    x : array-like
        (N, *net.input_shape) inputs, already preprocessed.
    y : array-like
        (N,) integer labels.
    max_T : int
        Largest T.
    device, batch_size, dtype, precision
        As in :func:`ldsnn_lava.evaluate`.
    chunk : int, optional
        For sequence input: input steps per chunk (default ``max_T``, so that the point at
        ``max_T`` is the given SNN at the input's resolution).

    Returns
    -------
    list of Evaluation
        Entry ``T - 1`` is the schedule at T.
    """
    max_T = validate.integer(max_T, "max_T", low=1, high=MAX_TIMESTEPS)
    if batch_size is not None:
        batch_size = validate.integer(batch_size, "batch_size", low=1)
    checked = validate.inputs(x, net)
    x = checked.x
    y = validate.labels(y, len(x), net.num_classes)
    sequence = net.input_encoding.is_sequence
    chunk = (chunk or max_T) if sequence else None
    schedules = [Schedule.uniform(net, T, chunk=chunk) for T in range(1, max_T + 1)]
    if net.input_encoding == InputEncoding.RATE or sequence or net.has_delays:
        results = [evaluate(net, s, x, device=device, batch_size=batch_size, dtype=dtype,
                            precision=precision, record_spikes=False, progress=False)
                   for s in schedules]
        return [Evaluation(s, r.accuracy(y), r.counters)
                for s, r in zip(schedules, results, strict=True)]
    engine = StageEngine.of(net, validate.device(device), validate.float_dtype(dtype), precision)
    engine.watch([max_T] * net.num_stages, checked.magnitude)
    batch_size = batch_size or engine.batch_size()
    correct = np.zeros(max_T, dtype=np.int64)
    synaptic = np.zeros((max_T, net.num_stages))  # per T, summed over samples
    with torch.inference_mode():
        for begin in range(0, len(x), batch_size):
            batch = x[begin:begin + batch_size].to(engine.device)
            currents, per_step = _watch_run(engine, schedules[-1], batch)
            readouts = currents.cumsum(0)  # in step order, as evaluate sums them
            labels = torch.as_tensor(y[begin:begin + len(batch)], device=engine.device)
            correct += (readouts.argmax(2) == labels).sum(1).cpu().numpy()
            synaptic += per_step.cumsum(0).cpu().numpy()
    return [Evaluation(s, correct[i] / len(x), count_work(net, s, synaptic[i] / len(x)))
            for i, s in enumerate(schedules)]


def _watch_run(engine: StageEngine, schedule: Schedule, batch: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``batch`` under a uniform ``schedule``; returns the readout stage's currents
    ``(T, B, classes)`` and each step's synaptic updates per stage ``(T, stages)``, summed
    over the batch."""
    steps, size, last = schedule.timesteps[0], batch.shape[0], schedule.num_stages - 1
    currents = torch.empty((steps, size, engine.net.num_classes), dtype=torch.float64,
                           device=engine.device)
    per_step = torch.zeros((steps, schedule.num_stages), dtype=torch.float64,
                           device=engine.device)

    def watch(stage: int, first: int, rows: slice, inputs: torch.Tensor, out: torch.Tensor
              ) -> None:
        chunk = out.shape[0]
        if stage == last:
            currents[first:first + chunk, rows] = out
        if stage > 0:  # each step's input spikes, summed over the samples (exact)
            per_step[first:first + chunk, stage] += weighted_counts(
                inputs.sum(1).reshape(chunk, -1), engine.stages[stage].fan_out)

    run_batch(engine, schedule, batch, on_chunk=watch)
    return currents, per_step
