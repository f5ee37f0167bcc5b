"""The given SNN at every uniform T = 1..max_T, in one pass.

Under a uniform schedule (every stage T steps, ``replay`` buffers) stage l's spikes at step t
depend only on steps <= t, and every stage starts from the same initial state whatever T is.
So the first T steps of a run at ``max_T`` are exactly a run at T: one run gives each T's
spikes, hence its synaptic updates (input spikes of the first T steps times fan-out), and the
readout at T is the readout stage's input summed over the first T steps (computed per T with
the engine's own readout, so results equal :func:`ldsnn_lava.evaluate` at that T bit for bit;
tests check it). Under ``rate`` input encoding the input raster itself depends on T, so each T
is evaluated separately; so it is for sequence input (each T runs T steps per chunk of
``chunk`` input steps, its input gap depending on T) and for networks with delays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ldsnn_lava.engine.driver import StageEngine, StageInput, _as_tensor, evaluate
from ldsnn_lava.engine.result import Counters, count_work
from ldsnn_lava.network import Network
from ldsnn_lava.options import InputEncoding, Precision
from ldsnn_lava.schedule import Schedule


@dataclass(frozen=True)
class UniformPoint:
    """The given SNN at one uniform T: its schedule, accuracy and work counters."""

    schedule: Schedule
    accuracy: float
    counters: Counters


def uniform_sweep(
    net: Network,
    x,
    y,
    max_T: int,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 128,
    dtype: torch.dtype = torch.float32,
    precision: Precision | str = Precision.FLOAT,
    chunk: int | None = None,
) -> list[UniformPoint]:
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
    list of UniformPoint
        Entry ``T - 1`` is the point at T.
    """
    if max_T < 1 or batch_size < 1:
        raise ValueError(f"max_T and batch_size must be >= 1, got {max_T}, {batch_size}")
    sequence = net.input_encoding.is_sequence
    x = np.asarray(x) if not isinstance(x, torch.Tensor) else x
    x, y = (torch.as_tensor(x) if sequence else _as_tensor(x, net)), np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must hold the same number N >= 1 of samples, got "
                         f"{len(x)} and {len(y)}")
    chunk = (chunk or max_T) if sequence else None
    schedules = [Schedule.uniform(net, T, chunk=chunk) for T in range(1, max_T + 1)]
    if net.input_encoding == InputEncoding.RATE or sequence or net.has_delays:
        results = [evaluate(net, s, x, device=device, batch_size=batch_size, dtype=dtype,
                            precision=precision, record_spikes=False, progress=False)
                   for s in schedules]
        return [UniformPoint(s, r.accuracy(y), r.counters)
                for s, r in zip(schedules, results, strict=True)]
    engine = StageEngine(net, device, dtype, precision)
    last = net.num_stages - 1
    correct = np.zeros(max_T, dtype=np.int64)
    synaptic = np.zeros((max_T, net.num_stages))  # per T, summed over samples
    with torch.inference_mode():
        for begin in range(0, len(x), batch_size):
            inp = engine.encode(x[begin:begin + batch_size].to(engine.device), max_T)
            for stage in range(last + 1):
                if stage > 0:
                    per_step = inp.raster.flatten(2).to(torch.float64) @ engine.fan_outs[stage]
                    synaptic[:, stage] += per_step.sum(1).cumsum(0).cpu().numpy()
                if stage < last:
                    inp = StageInput(raster=engine.forward(stage, inp, max_T).raster)
            labels = torch.as_tensor(y[begin:begin + batch_size])
            for T in range(1, max_T + 1):
                prefix = inp if inp.constant is not None else StageInput(raster=inp.raster[:T])
                readout = engine.forward(last, prefix, T).readout
                predictions = np.argmax(readout.cpu().numpy(), axis=1)  # as evaluate: first max
                correct[T - 1] += int((predictions == labels.numpy()).sum())
    return [UniformPoint(s, correct[i] / len(x), count_work(net, s, synaptic[i] / len(x)))
            for i, s in enumerate(schedules)]
