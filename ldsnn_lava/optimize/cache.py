"""Evaluating many LD schedules of one network on one data split, reusing shared prefixes.

In an LD schedule whose buffers all work from counts (``rate`` or ``graded``), stage k's input
depends only on stage k-1's per-neuron spike counts, on T_{k-1}, T_k and the buffer kind
between them (``docs/design.md``). So the spike counts of stages 0..k-1 are a function of the
prefix ``(T_0, ..., T_{k-1})`` and its buffer kinds alone: this module keeps them, keyed by
prefix, and a schedule that shares a prefix with one evaluated before re-runs
only the stages after it (:func:`ldsnn_lava.engine.run_batch` from the cached counts). The
optimizer's moves change one stage at a time, so a move at stage k re-evaluates stages k..L only.
For sequence input the same holds chunk by chunk: the cache keeps each stage's counts per chunk,
which determine the next stage's whole input.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ldsnn_lava import validate
from ldsnn_lava.engine.driver import StageEngine, run_batch
from ldsnn_lava.engine.result import Evaluation, count_work
from ldsnn_lava.engine.temporal import SequenceEngine
from ldsnn_lava.errors import InvalidOption
from ldsnn_lava.network import Network
from ldsnn_lava.options import BufferKind, Precision
from ldsnn_lava.schedule import Schedule
from ldsnn_lava.sequences import check_delays

Buffers = tuple[BufferKind, ...]


def ld_schedule(timesteps: Sequence[int], chunk: int | None = None,
                buffers: Sequence[BufferKind] | None = None) -> Schedule:
    """The LD schedule with these timesteps: a ``rate`` buffer on every gap, or the given
    ``buffers`` (``chunk``: input steps per chunk, for sequence input)."""
    return Schedule(tuple(int(t) for t in timesteps),
                    buffers=BufferKind.RATE if buffers is None else tuple(buffers), chunk=chunk)


def _key(schedule: Schedule, stages: int) -> tuple:
    """The cache key of the first ``stages`` stages: their timesteps and the buffers between
    them."""
    return schedule.timesteps[:stages], schedule.buffers[:stages - 1]


class PrefixCache:
    """Evaluates LD schedules of ``net`` (``rate`` or ``graded`` buffers; all ``rate`` unless
    given) on ``(x, y)``, caching stage spike counts.

    Parameters
    ----------
    net : Network
    x, y : array-like
        The split: ``(N, *net.input_shape)`` inputs (``(N, S, *net.input_shape)`` sequences)
        and ``(N,)`` integer labels.
    device : str
    precision : Precision or str
        Engine precision (see :class:`ldsnn_lava.engine.StageEngine`).
    batch_size : int, optional
        Samples per engine batch; default: the engine's (:meth:`StageEngine.batch_size`).
    max_bytes : float
        Bound on the memory of cached spike counts; least recently used prefixes go first.
    chunk : int, optional
        Input steps per chunk, for sequence input (required there).
    network_for : callable, optional
        Timesteps -> the network to run for them (a calibrated form of ``net``, see
        :mod:`ldsnn_lava.optimize.calibrate`). Its stages 0..k must depend on the first k + 1
        timesteps only, so that cached counts stay valid; static input only.

    Attributes
    ----------
    stage_runs : numpy.ndarray
        How many times each stage was run over the whole split (for tests and reports).
    """

    def __init__(self, net: Network, x, y, *, device: str = "cpu",
                 precision: Precision | str = Precision.FLOAT, batch_size: int | None = None,
                 max_bytes: float = 512e6, chunk: int | None = None,
                 network_for: Callable[[tuple[int, ...]], Network] | None = None):
        self.net, self.chunk, self.network_for = net, chunk, network_for
        self.precision = precision
        sequence = net.input_encoding.is_sequence
        if network_for is not None and (sequence or net.has_delays):
            raise InvalidOption("a per-schedule network (calibration) needs static input "
                                "without delays")
        checked = validate.inputs(x, net, "validation input", schedule=ld_schedule(
            [chunk] * net.num_stages, chunk) if sequence else None)
        self.x, self._magnitude = checked.x, checked.magnitude
        if sequence:
            self.x = self.x.to(torch.float64)
        self.y = validate.labels(y, self.x.shape[0], net.num_classes, "validation labels")
        self.engine = StageEngine.of(net, validate.device(device), precision=precision)
        self.batch_size = (self.engine.batch_size() if batch_size is None
                           else validate.integer(batch_size, "batch_size", low=1))
        self.max_bytes = max_bytes
        # prefix -> (spike counts of its last stage, synaptic updates of its stages)
        self._counts: OrderedDict[tuple, tuple[torch.Tensor, np.ndarray]] = OrderedDict()
        self._bytes = 0
        self._results: dict[tuple, Evaluation] = {}
        self.stage_runs = np.zeros(net.num_stages, dtype=np.int64)

    def __len__(self) -> int:
        """Number of distinct schedules evaluated."""
        return len(self._results)

    def _store(self, prefix: tuple, counts: torch.Tensor, synaptic: np.ndarray
               ) -> None:
        size = counts.numel() * counts.element_size()
        if size > self.max_bytes:
            return
        self._counts[prefix] = (counts, synaptic)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (old, _) = self._counts.popitem(last=False)
            self._bytes -= old.numel() * old.element_size()

    def first_stage_to_run(self, timesteps: Sequence[int],
                           buffers: Sequence[BufferKind] | None = None) -> int:
        """The first stage :meth:`evaluate` would run for these timesteps and buffers
        (``num_stages`` if the schedule was evaluated before, 0 if no prefix is cached)."""
        schedule = ld_schedule(timesteps, self.chunk, buffers)
        stages = schedule.num_stages
        if _key(schedule, stages) in self._results:
            return self.net.num_stages
        for k in range(stages - 1, 0, -1):
            if _key(schedule, k) in self._counts:
                return k
        return 0

    def evaluate(self, timesteps: Sequence[int],
                 buffers: Sequence[BufferKind] | None = None) -> Evaluation:
        """Accuracy and counters of the LD schedule with these timesteps and buffers (default:
        ``rate`` on every gap)."""
        schedule = ld_schedule(timesteps, self.chunk, buffers)
        schedule.check(self.net)
        steps, key = schedule.timesteps, _key(schedule, schedule.num_stages)
        if key in self._results:
            return self._results[key]
        start = self.first_stage_to_run(steps, schedule.buffers)
        synaptic = np.zeros(self.net.num_stages)
        if start:
            self._counts.move_to_end(_key(schedule, start))
            cached, synaptic[:start] = self._counts[_key(schedule, start)]
        chunks = self.x.shape[1] // self.chunk if self.net.input_encoding.is_sequence else 1
        self.engine.watch([T * chunks for T in steps], self._magnitude)  # state spans chunks
        if self.net.input_encoding.is_sequence or self.net.has_delays:
            return self._evaluate_chunked(schedule, start, synaptic)
        dtype = torch.uint8 if max(steps) <= 255 else torch.int32  # counts up to T
        new_counts: list[list[torch.Tensor]] = [[] for _ in range(self.net.num_stages - 1)]
        correct, n, engine = 0, self.x.shape[0], self.engine
        if self.network_for is not None:
            engine = StageEngine.of(self.network_for(steps), self.engine.device,
                                    precision=self.precision)
            engine.watch(list(steps), self._magnitude)
        with torch.inference_mode():
            for begin in range(0, n, self.batch_size):
                stop = min(n, begin + self.batch_size)
                if start == 0:
                    states = run_batch(engine, schedule, self.x[begin:stop].to(engine.device))
                else:
                    states = run_batch(engine, schedule, start=start, start_counts=cached[
                        begin:stop].to(engine.device))
                for k in range(start, self.net.num_stages - 1):
                    new_counts[k].append(engine.counts(k, states[k]).to(dtype).cpu())
                synaptic += engine.synaptic_updates(states) / n
                predictions = states[-1].readout.argmax(1).cpu().numpy()
                correct += int((predictions == self.y[begin:stop]).sum())
        self.stage_runs[start:] += 1
        for k in range(start, self.net.num_stages - 1):
            self._store(_key(schedule, k + 1), torch.cat(new_counts[k]), synaptic[:k + 1].copy())
        result = Evaluation(schedule, correct / n, count_work(self.net, schedule, synaptic))
        self._results[key] = result
        return result

    def _evaluate_chunked(self, schedule: Schedule, start: int, synaptic: np.ndarray
                          ) -> Evaluation:
        """:meth:`evaluate` for sequence input or delays: stages ``start..L`` chunk by chunk,
        from the cached per-chunk counts of stage ``start - 1``."""
        steps, n = schedule.timesteps, self.x.shape[0]
        sequence = self.net.input_encoding.is_sequence
        check_delays(self.net, schedule, self.x.shape[1] if sequence else None)
        engine = SequenceEngine(self.engine, schedule)
        dtype = torch.uint8 if max(steps) <= 255 else torch.int32  # counts up to T
        new_counts: list[list[torch.Tensor]] = [[] for _ in range(self.net.num_stages - 1)]
        predictions = []
        with torch.inference_mode():
            for begin in range(0, n, self.batch_size):
                stop = min(n, begin + self.batch_size)
                upstream = None
                if start:
                    upstream = self._counts[_key(schedule, start)][0][begin:stop].to(
                        self.engine.device)
                run = engine.run(self.x[begin:stop].to(self.engine.device) if not start else None,
                                 record_counts=False, start=start, upstream=upstream,
                                 keep_chunk_counts=True)
                synaptic += run.synaptic / n
                predictions.append(run.readout.argmax(1).cpu().numpy())
                for k in range(start, self.net.num_stages - 1):
                    new_counts[k].append(torch.stack(run.chunk_counts[k], dim=1).to(dtype).cpu())
        self.stage_runs[start:] += 1
        for k in range(start, self.net.num_stages - 1):
            self._store(_key(schedule, k + 1), torch.cat(new_counts[k]), synaptic[:k + 1].copy())
        accuracy = float(np.mean(np.concatenate(predictions) == self.y))
        chunks = self.x.shape[1] // self.chunk if sequence else 1
        result = Evaluation(schedule, accuracy, count_work(self.net, schedule, synaptic, chunks))
        self._results[_key(schedule, schedule.num_stages)] = result
        return result
