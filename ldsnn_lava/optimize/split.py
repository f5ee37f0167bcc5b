"""The validation split spread over an executor's shard workers, seen as one prefix cache.

:class:`ShardedSplit` answers the search exactly as a single
:class:`~ldsnn_lava.optimize.cache.PrefixCache` over the whole split would: the same
accuracies and counters (the shards' integer totals summed, divided once, see
:mod:`ldsnn_lava.optimize.shards`), and the same first stage to re-run for every schedule, hence
the same work charged. That answer comes from a :class:`~ldsnn_lava.optimize.cache.PrefixIndex`
kept here, never from the workers: what a worker actually has cached can differ (a worker that
was lost and restarted starts with an empty cache and re-runs more stages), which costs time but
changes no result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ldsnn_lava.engine.result import Evaluation, count_work
from ldsnn_lava.network import Network
from ldsnn_lava.optimize.cache import PrefixIndex, chunks_of, ld_schedule
from ldsnn_lava.optimize.shards import ShardTotals, sum_totals
from ldsnn_lava.options import BufferKind
from ldsnn_lava.schedule import Schedule

#: ``call(method, *args)``: runs ``ShardWorker.method(*args)`` on every shard, returns the
#: results in shard order
ShardCall = Callable[..., list[Any]]


class ShardedSplit:
    """A split whose shards live on workers; evaluates schedules like a :class:`PrefixCache`.

    Made by :meth:`ldsnn_lava.optimize.executor.Executor.open_split`; use it as a context
    manager or call :meth:`close`.

    Parameters
    ----------
    net : Network
    x, y : numpy.ndarray
        The whole split (only its shape is used here: the samples live on the workers).
    call : callable
        ``call(method, *args)`` runs a :class:`~ldsnn_lava.optimize.shards.ShardWorker` method
        on every shard and returns the results in shard order.
    close : callable
        Releases the workers' shards.
    max_bytes : float
        The cache bound the search is charged against (as ``PrefixCache``'s ``max_bytes``).
    chunk : int, optional
        Input steps per chunk, for sequence input.
    """

    def __init__(self, net: Network, x: np.ndarray, y: np.ndarray, call: ShardCall,
                 close: Callable[[], None], max_bytes: float = 512e6, chunk: int | None = None):
        self.net, self.y, self.chunk = net, np.asarray(y), chunk
        self.index = PrefixIndex(net, len(self.y), max_bytes, chunks_of(net, x, chunk))
        self._call, self._close = call, close
        self._results: dict[tuple, Evaluation] = {}  # (timesteps, buffers) -> evaluation
        self._progress: Callable[[], None] | None = None  # of the evaluate_many under way

    def __len__(self) -> int:
        """Number of distinct schedules evaluated."""
        return len(self._results)

    def __enter__(self) -> ShardedSplit:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the workers' shards (the executor itself stays open)."""
        self._close()

    @property
    def stage_runs(self) -> np.ndarray:
        """How many times each stage was run over the split, as by a single cache."""
        return self.index.stage_runs

    def first_stage_to_run(self, timesteps: Sequence[int],
                           buffers: Sequence[BufferKind] | None = None) -> int:
        """As :meth:`PrefixCache.first_stage_to_run`."""
        schedule = ld_schedule(timesteps, self.chunk, buffers)
        if (schedule.timesteps, schedule.buffers) in self._results:
            return self.net.num_stages
        return self.index.first_stage_to_run(schedule)

    def evaluate(self, timesteps: Sequence[int],
                 buffers: Sequence[BufferKind] | None = None) -> Evaluation:
        """Accuracy and counters of the LD schedule with these timesteps and buffers (default:
        ``rate`` on every gap), as :meth:`PrefixCache.evaluate`."""
        return self.evaluate_many([(timesteps, buffers)])[0]

    def evaluate_many(self, schedules: Sequence[tuple[Sequence[int], Sequence[BufferKind] | None]],
                      admit: Callable[[Schedule, int], bool] | None = None,
                      progress: Callable[[], None] | None = None) -> list[Evaluation | None]:
        """:meth:`evaluate` of each ``(timesteps, buffers)``, in this order, in one call to the
        workers (whose caches then share stage runs between them, see
        :meth:`PrefixCache.evaluate_many`).

        ``admit(schedule, first_stage)`` is asked, in order, for each schedule not evaluated
        before, with the first stage it would be charged for after those before it; once it
        answers ``False`` that schedule and the new ones after it are left out (``None``).
        The booking, and so every later charge, is that of evaluating them one by one.
        ``progress()`` is called as each booked schedule is done on the first shard, where the
        executor reports it (workers in this process; Ray's report nothing within a call).
        """
        wanted = [ld_schedule(steps, self.chunk, buffers) for steps, buffers in schedules]
        by_key = {(s.timesteps, s.buffers): s for s in wanted}
        booked: list[tuple] = []
        for key, schedule in by_key.items():
            schedule.check(self.net)
            if key in self._results:
                continue
            if admit is not None and not admit(schedule,
                                               self.index.first_stage_to_run(schedule)):
                break
            self.index.record(schedule)
            booked.append(key)
        if booked:
            self._progress = progress
            try:
                parts = self._call("evaluate", booked)
            finally:
                self._progress = None
            for i, key in enumerate(booked):
                self._results[key] = Evaluation(by_key[key], *self._combine(
                    by_key[key], [p[i] for p in parts]))
        return [self._results.get((s.timesteps, s.buffers)) for s in wanted]

    def schedule_done(self) -> None:
        """The first shard finished a schedule of the call under way (executors call it)."""
        if self._progress is not None:
            self._progress()

    def uniform_sweep(self, max_T: int) -> list[Evaluation]:
        """As :func:`ldsnn_lava.optimize.uniform.uniform_sweep` on the whole split."""
        parts = self._call("uniform_sweep", max_T)
        schedules = [Schedule.uniform(self.net, T, chunk=self.chunk) for T in range(1, max_T + 1)]
        return [Evaluation(s, *self._combine(s, [p[i] for p in parts]))
                for i, s in enumerate(schedules)]

    def worker_stage_runs(self) -> list[list[int]]:
        """Each worker's real stage runs over its shard: fewer than :attr:`stage_runs` where
        one run over a wider window served shorter ones, more where a worker was restarted."""
        return self._call("stage_runs")

    def worker_cpu_seconds(self) -> list[float]:
        """Each worker's CPU seconds spent evaluating (see ``ShardWorker.cpu_seconds``)."""
        return self._call("cpu_seconds")

    def _combine(self, schedule: Schedule, parts: list[ShardTotals]):
        total = sum_totals(parts)
        n = len(self.y)
        return total.correct / n, count_work(self.net, schedule, total.synaptic / n,
                                             self.index.chunks)
