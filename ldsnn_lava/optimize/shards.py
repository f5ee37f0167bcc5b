"""A validation split cut into shards, and the worker that evaluates schedules on one shard.

Every evaluation the search makes is a sum over samples: top-1 accuracy is the number of
correct predictions over N, and each stage's synaptic updates are a per-sample count
(input spikes times structural fan-out, an integer) averaged over N. So an evaluation on the
whole split is exactly the sum of its evaluations on contiguous shards, provided the shards
hand back *integer totals* (correct predictions, summed synaptic updates) and the division by
N happens once, after the sum, as :func:`ldsnn_lava.evaluate` and
:class:`~ldsnn_lava.optimize.cache.PrefixCache` do it. Integer sums do not depend on their
order or grouping, so the result is bit for bit the single-process one, whatever the number of
shards.

A :class:`ShardWorker` holds one shard and a :class:`PrefixCache` over it; an executor
(:mod:`ldsnn_lava.optimize.executor`) runs one per shard, in this process or on a Ray worker.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ldsnn_lava.errors import InvalidInput
from ldsnn_lava.network import Network
from ldsnn_lava.optimize.cache import PrefixCache
from ldsnn_lava.optimize.uniform import uniform_sweep
from ldsnn_lava.options import BufferKind, Precision


class Stopped(Exception):
    """A :class:`ShardWorker` call ended early: its executor is shutting down."""


def shard_bounds(samples: int, shards: int) -> list[tuple[int, int]]:
    """``shards`` contiguous ``(begin, stop)`` ranges covering ``range(samples)``, in order,
    sizes differing by at most one (the first ones larger)."""
    if shards < 1:
        raise InvalidInput(f"the number of shards must be >= 1, got {shards}")
    if samples < shards:
        raise InvalidInput(f"cannot cut {samples} samples into {shards} shards: give at most "
                           f"{samples} workers or more samples")
    size, extra = divmod(samples, shards)
    bounds, begin = [], 0
    for i in range(shards):
        stop = begin + size + (i < extra)
        bounds.append((begin, stop))
        begin = stop
    return bounds


@dataclass(frozen=True)
class ShardTotals:
    """One evaluation on one shard, as integer totals over its samples.

    Attributes
    ----------
    correct : int
        Correct top-1 predictions.
    synaptic : numpy.ndarray
        Per-stage synaptic updates summed over the shard's samples (int64).
    """

    correct: int
    synaptic: np.ndarray


def _to_integer(value: np.ndarray | float, what: str) -> np.ndarray:
    """Round per-shard totals recovered from means; they are counts, so they must be integral
    up to the rounding of one division."""
    value = np.asarray(value, dtype=np.float64)
    rounded = np.rint(value)
    if not np.all(np.abs(value - rounded) <= 1e-6 * np.maximum(1.0, np.abs(value))):
        raise InvalidInput(f"{what} summed over a shard is not an integer count ({value}); "
                           f"sharded evaluation needs integer structural fan-outs")
    return rounded.astype(np.int64)


def totals_of(accuracy: float, synaptic_per_sample: np.ndarray, samples: int) -> ShardTotals:
    """The integer totals behind an evaluation's per-sample means on ``samples`` samples."""
    correct = int(_to_integer(accuracy * samples, "correct predictions"))
    return ShardTotals(correct, _to_integer(np.asarray(synaptic_per_sample) * samples,
                                            "synaptic updates"))


def sum_totals(parts: Sequence[ShardTotals]) -> ShardTotals:
    """The totals of the union of the shards."""
    return ShardTotals(sum(p.correct for p in parts),
                       np.sum([p.synaptic for p in parts], axis=0, dtype=np.int64))


class ShardWorker:
    """Evaluates schedules on one shard of a split, keeping a prefix cache over it.

    Parameters
    ----------
    net : Network
    x, y : array-like
        The shard: ``(n, *net.input_shape)`` inputs and ``(n,)`` labels.
    device : str
    precision : Precision or str
    batch_size : int, optional
        Samples per engine batch; default: the engine's.
    max_bytes, keep_bytes : float
        This shard's cache bound the charges assume, and the bytes it really keeps (see
        :class:`PrefixCache`).
    chunk : int, optional
        Input steps per chunk, for sequence input.
    threads : int, optional
        Torch threads of this worker's process (``torch.set_num_threads``); default: leave
        torch's setting alone.
    network_for : callable, optional
        The network to run for given timesteps (calibration; see ``PrefixCache``).
    clock : callable
        The CPU clock of :meth:`cpu_seconds`: ``time.process_time`` for a worker with a process
        of its own, ``time.thread_time`` for one of several threads.
    stop : callable, optional
        Asked after each schedule of :meth:`evaluate`: ``True`` ends the call with
        :class:`Stopped` (threads of an executor shutting down).
    on_schedule : callable, optional
        Called after each schedule of :meth:`evaluate` (progress within a call).
    """

    def __init__(self, net: Network, x, y, *, device: str = "cpu",
                 precision: Precision | str = Precision.FLOAT, batch_size: int | None = None,
                 max_bytes: float = 512e6, keep_bytes: float | None = None,
                 chunk: int | None = None, threads: int | None = None,
                 network_for: Callable | None = None,
                 clock: Callable[[], float] = time.process_time,
                 stop: Callable[[], bool] | None = None,
                 on_schedule: Callable[[], None] | None = None):
        if threads is not None:
            torch.set_num_threads(threads)
        # arrays from Ray's object store are read-only, which torch warns about: copy those
        x = np.asarray(x)
        self.net, self.x = copy.deepcopy(net), x if x.flags.writeable else x.copy()
        self.y = np.array(y)  # small: always a (writable) copy
        self.device, self.precision, self.batch_size = device, precision, batch_size
        self.chunk = chunk
        self.cache = PrefixCache(self.net, self.x, self.y, device=device, precision=precision,
                                 batch_size=batch_size, max_bytes=max_bytes,
                                 keep_bytes=keep_bytes, chunk=chunk,
                                 network_for=network_for)
        self._cpu_seconds, self._clock = 0.0, clock
        self._stop, self._on_schedule = stop, on_schedule

    @property
    def samples(self) -> int:
        return len(self.y)

    def evaluate(self, schedules: Sequence[tuple[Sequence[int], Sequence[BufferKind]]]
                 ) -> list[ShardTotals]:
        """Totals of the LD schedules with these ``(timesteps, buffers)``, evaluated in this
        order through the shard's prefix cache (:meth:`PrefixCache.evaluate_many`)."""
        start, out = self._clock(), []
        try:
            with contextlib.closing(self.cache.evaluations(schedules)) as evaluations:
                for ev in evaluations:
                    out.append(totals_of(ev.accuracy, ev.counters.per_stage["synaptic_updates"],
                                         self.samples))
                    if self._on_schedule is not None:
                        self._on_schedule()
                    if self._stop is not None and self._stop() and len(out) < len(schedules):
                        raise Stopped(f"stopped after {len(out)} of {len(schedules)} schedules")
        finally:
            self._cpu_seconds += self._clock() - start
        return out

    def uniform_sweep(self, max_T: int) -> list[ShardTotals]:
        """Totals of the uniform schedules T = 1..max_T (see :func:`uniform_sweep`)."""
        start = self._clock()
        points = uniform_sweep(self.net, self.x, self.y, max_T, device=self.device,
                               batch_size=self.batch_size, precision=self.precision,
                               chunk=self.chunk)
        self._cpu_seconds += self._clock() - start
        return [totals_of(p.accuracy, p.counters.per_stage["synaptic_updates"], self.samples)
                for p in points]

    def stage_runs(self) -> list[int]:
        """How many times this worker ran each stage over its shard (its real work)."""
        return [int(v) for v in self.cache.runs_done]

    def cpu_seconds(self) -> float:
        """CPU time (its ``clock``) this worker spent in :meth:`evaluate` and
        :meth:`uniform_sweep`: its share of the work, whatever else loads the machine."""
        return self._cpu_seconds

    def pid(self) -> int:
        """The id of the process this worker runs in."""
        return os.getpid()
