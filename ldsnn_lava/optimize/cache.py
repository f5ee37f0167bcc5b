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


def count_dtype(timesteps: Sequence[int]) -> torch.dtype:
    """The integer type that holds a stage's spike counts (at most T) under these timesteps."""
    return torch.uint8 if max(timesteps) <= 255 else torch.int32


class PrefixIndex:
    """Which prefixes' spike counts a :class:`PrefixCache` keeps, and how often each stage ran.

    The bookkeeping of the cache without the data: a prefix is keyed as the cache keys it
    (:func:`_key`: its timesteps and the buffer kinds between its stages); a prefix of k stages
    takes ``samples`` times ``chunks`` times stage k-1's output size times the count type's
    bytes; prefixes are kept least recently used first within ``max_bytes``. What it holds
    depends only on the schedules evaluated and their order, so a coordinator that holds no
    data (:class:`ldsnn_lava.optimize.split.ShardedSplit`) knows what each evaluation re-runs,
    exactly as a single cache would.

    Parameters
    ----------
    net : Network
    samples : int
        Samples of the split.
    max_bytes : float
        Bound on the bytes of the kept spike counts.
    chunks : int
        Chunks per sample (sequence input keeps counts per chunk; else 1).

    Attributes
    ----------
    stage_runs : numpy.ndarray
        How many times each stage was run over the whole split.
    """

    def __init__(self, net: Network, samples: int, max_bytes: float, chunks: int = 1):
        self.net, self.samples, self.max_bytes, self.chunks = net, samples, max_bytes, chunks
        self._sizes: OrderedDict[tuple, int] = OrderedDict()
        self._bytes = 0
        self.stage_runs = np.zeros(net.num_stages, dtype=np.int64)

    def __contains__(self, key: tuple) -> bool:
        return key in self._sizes

    def first_stage_to_run(self, schedule: Schedule) -> int:
        """The first stage an evaluation of ``schedule`` would run: the length of its longest
        kept prefix (0 if none)."""
        for k in range(schedule.num_stages - 1, 0, -1):
            if _key(schedule, k) in self._sizes:
                return k
        return 0

    def begin(self, schedule: Schedule) -> int:
        """Start evaluating ``schedule``: returns :meth:`first_stage_to_run`, marks that prefix
        used and counts the runs of the stages from there."""
        start = self.first_stage_to_run(schedule)
        if start:
            self._sizes.move_to_end(_key(schedule, start))
        self.stage_runs[start:] += 1
        return start

    def store(self, schedule: Schedule, stages: int) -> list[tuple]:
        """Keep the prefix of ``schedule``'s first ``stages`` stages; returns the keys evicted
        to make room (that prefix's own, alone, if it is larger than ``max_bytes``)."""
        key = _key(schedule, stages)
        size = (self.samples * self.chunks * int(np.prod(self.net.output_shape_of(stages - 1)))
                * count_dtype(schedule.timesteps).itemsize)
        if size > self.max_bytes:
            return [key]
        self._sizes[key] = size
        self._bytes += size
        evicted = []
        while self._bytes > self.max_bytes:
            old, old_size = self._sizes.popitem(last=False)
            self._bytes -= old_size
            evicted.append(old)
        return evicted

    def record(self, schedule: Schedule) -> int:
        """Book an evaluation of ``schedule`` as a :class:`PrefixCache` would do it (begin, then
        keep every prefix it computed); returns its first stage run."""
        start = self.begin(schedule)
        for k in range(start, schedule.num_stages - 1):
            self.store(schedule, k + 1)
        return start


def chunks_of(net: Network, x, chunk: int | None) -> int:
    """Chunks per sample of the inputs ``x`` (sequence input: input steps over ``chunk``)."""
    return x.shape[1] // chunk if net.input_encoding.is_sequence else 1


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
    index : PrefixIndex
        Which prefixes are kept; its ``stage_runs`` counts how many times each stage was run
        over the whole split (for tests and reports).
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
        self.index = PrefixIndex(net, self.x.shape[0], max_bytes, chunks_of(net, self.x, chunk))
        # key (see _key) -> (spike counts of the prefix's last stage, summed synaptic updates
        # of its stages)
        self._counts: dict[tuple, tuple[torch.Tensor, np.ndarray]] = {}
        self._results: dict[tuple, Evaluation] = {}

    def __len__(self) -> int:
        """Number of distinct schedules evaluated."""
        return len(self._results)

    @property
    def stage_runs(self) -> np.ndarray:
        """How many times each stage was run over the whole split."""
        return self.index.stage_runs

    def _store(self, schedule: Schedule, stages: int, counts: torch.Tensor,
               synaptic: np.ndarray) -> None:
        for old in self.index.store(schedule, stages):
            self._counts.pop(old, None)
        key = _key(schedule, stages)
        if key in self.index:
            self._counts[key] = (counts, synaptic)

    def first_stage_to_run(self, timesteps: Sequence[int],
                           buffers: Sequence[BufferKind] | None = None) -> int:
        """The first stage :meth:`evaluate` would run for these timesteps and buffers
        (``num_stages`` if the schedule was evaluated before, 0 if no prefix is cached)."""
        schedule = ld_schedule(timesteps, self.chunk, buffers)
        if _key(schedule, schedule.num_stages) in self._results:
            return self.net.num_stages
        return self.index.first_stage_to_run(schedule)

    def evaluate(self, timesteps: Sequence[int],
                 buffers: Sequence[BufferKind] | None = None) -> Evaluation:
        """Accuracy and counters of the LD schedule with these timesteps and buffers (default:
        ``rate`` on every gap)."""
        schedule = ld_schedule(timesteps, self.chunk, buffers)
        schedule.check(self.net)
        steps, key = schedule.timesteps, _key(schedule, schedule.num_stages)
        if key in self._results:
            return self._results[key]
        start = self.index.begin(schedule)
        synaptic = np.zeros(self.net.num_stages)  # summed over samples: exact integers
        cached = None
        if start:
            cached, synaptic[:start] = self._counts[_key(schedule, start)]
        # the state spans the chunks
        self.engine.watch([T * self.index.chunks for T in steps], self._magnitude)
        if self.net.input_encoding.is_sequence or self.net.has_delays:
            return self._evaluate_chunked(schedule, start, cached, synaptic)
        dtype = count_dtype(steps)
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
                synaptic += engine.synaptic_updates(states)
                predictions = states[-1].readout.argmax(1).cpu().numpy()
                correct += int((predictions == self.y[begin:stop]).sum())
        for k in range(start, self.net.num_stages - 1):
            self._store(schedule, k + 1, torch.cat(new_counts[k]), synaptic[:k + 1].copy())
        result = Evaluation(schedule, correct / n, count_work(self.net, schedule, synaptic / n))
        self._results[key] = result
        return result

    def _evaluate_chunked(self, schedule: Schedule, start: int, cached: torch.Tensor | None,
                          synaptic: np.ndarray) -> Evaluation:
        """:meth:`evaluate` for sequence input or delays: stages ``start..L`` chunk by chunk,
        from the cached per-chunk counts of stage ``start - 1`` (``cached``)."""
        steps, n = schedule.timesteps, self.x.shape[0]
        sequence = self.net.input_encoding.is_sequence
        check_delays(self.net, schedule, self.x.shape[1] if sequence else None)
        engine = SequenceEngine(self.engine, schedule)
        dtype = count_dtype(steps)
        new_counts: list[list[torch.Tensor]] = [[] for _ in range(self.net.num_stages - 1)]
        predictions = []
        with torch.inference_mode():
            for begin in range(0, n, self.batch_size):
                stop = min(n, begin + self.batch_size)
                upstream = None
                if start:
                    upstream = cached[begin:stop].to(self.engine.device)
                run = engine.run(self.x[begin:stop].to(self.engine.device) if not start else None,
                                 record_counts=False, start=start, upstream=upstream,
                                 keep_chunk_counts=True)
                synaptic += run.synaptic
                predictions.append(run.readout.argmax(1).cpu().numpy())
                for k in range(start, self.net.num_stages - 1):
                    new_counts[k].append(torch.stack(run.chunk_counts[k], dim=1).to(dtype).cpu())
        for k in range(start, self.net.num_stages - 1):
            self._store(schedule, k + 1, torch.cat(new_counts[k]), synaptic[:k + 1].copy())
        accuracy = float(np.mean(np.concatenate(predictions) == self.y))
        result = Evaluation(schedule, accuracy,
                            count_work(self.net, schedule, synaptic / n, self.index.chunks))
        self._results[_key(schedule, schedule.num_stages)] = result
        return result
