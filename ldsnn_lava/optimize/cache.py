"""Evaluating many LD schedules of one network on one data split, reusing shared prefixes.

In an LD schedule whose buffers are all ``rate``, stage k's input depends only on stage
k-1's per-neuron spike counts and on T_{k-1}, T_k (``docs/design.md``). So the spike counts
of stages 0..k-1 are a function of the prefix ``(T_0, ..., T_{k-1})`` alone: this module keeps
them, keyed by prefix, and a schedule that shares a prefix with one evaluated before re-runs
only the stages after it (:func:`ldsnn_lava.engine.run_batch` from the cached counts). The
optimizer's moves change one stage at a time, so a move at stage k re-evaluates stages k..L only.
For sequence input the same holds chunk by chunk: the cache keeps each stage's counts per chunk,
which determine the next stage's whole input.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

from ldsnn_lava.engine.driver import StageEngine, as_input, run_batch
from ldsnn_lava.engine.result import Evaluation, count_work
from ldsnn_lava.engine.temporal import SequenceEngine
from ldsnn_lava.errors import InvalidInput, InvalidOption
from ldsnn_lava.network import Network
from ldsnn_lava.options import BufferKind, Precision
from ldsnn_lava.schedule import Schedule
from ldsnn_lava.sequences import check_delays, check_sequence


def ld_schedule(timesteps: Sequence[int], chunk: int | None = None) -> Schedule:
    """The LD schedule with these timesteps: a ``rate`` buffer on every gap (``chunk``: input
    steps per chunk, for sequence input)."""
    return Schedule(tuple(int(t) for t in timesteps), buffers=BufferKind.RATE, chunk=chunk)


def count_dtype(timesteps: Sequence[int]) -> torch.dtype:
    """The integer type that holds a stage's spike counts under these timesteps."""
    return torch.uint8 if max(timesteps) <= 255 else torch.int16


class PrefixIndex:
    """Which prefixes' spike counts a :class:`PrefixCache` keeps, and how often each stage ran.

    The bookkeeping of the cache without the data: a prefix of k stages takes ``samples`` times
    ``chunks`` times stage k-1's output size times the count type's bytes; prefixes are kept
    least recently used first within ``max_bytes``. What it holds depends only on the schedules
    evaluated and their order, so a coordinator that holds no data
    (:class:`ldsnn_lava.optimize.split.ShardedSplit`) knows what each evaluation re-runs,
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
        self._sizes: OrderedDict[tuple[int, ...], int] = OrderedDict()
        self._bytes = 0
        self.stage_runs = np.zeros(net.num_stages, dtype=np.int64)

    def __contains__(self, prefix: tuple[int, ...]) -> bool:
        return prefix in self._sizes

    def first_stage_to_run(self, steps: tuple[int, ...]) -> int:
        """The first stage an evaluation of ``steps`` would run: the length of its longest
        kept prefix (0 if none)."""
        for k in range(len(steps) - 1, 0, -1):
            if steps[:k] in self._sizes:
                return k
        return 0

    def begin(self, steps: tuple[int, ...]) -> int:
        """Start evaluating ``steps``: returns :meth:`first_stage_to_run`, marks that prefix
        used and counts the runs of the stages from there."""
        start = self.first_stage_to_run(steps)
        if start:
            self._sizes.move_to_end(steps[:start])
        self.stage_runs[start:] += 1
        return start

    def store(self, prefix: tuple[int, ...], timesteps: Sequence[int]) -> list[tuple[int, ...]]:
        """Keep ``prefix`` (of a schedule with these timesteps); returns the prefixes evicted
        to make room (``prefix`` itself, alone, if it is larger than ``max_bytes``)."""
        size = (self.samples * self.chunks * int(np.prod(self.net.output_shape_of(len(prefix) - 1)))
                * count_dtype(timesteps).itemsize)
        if size > self.max_bytes:
            return [prefix]
        self._sizes[prefix] = size
        self._bytes += size
        evicted = []
        while self._bytes > self.max_bytes:
            old, old_size = self._sizes.popitem(last=False)
            self._bytes -= old_size
            evicted.append(old)
        return evicted

    def record(self, steps: tuple[int, ...]) -> int:
        """Book an evaluation of ``steps`` as a :class:`PrefixCache` would do it (begin, then
        keep every prefix it computed); returns its first stage run."""
        start = self.begin(steps)
        for k in range(start, len(steps) - 1):
            self.store(steps[:k + 1], steps)
        return start


def chunks_of(net: Network, x, chunk: int | None) -> int:
    """Chunks per sample of the inputs ``x`` (sequence input: input steps over ``chunk``)."""
    return x.shape[1] // chunk if net.input_encoding.is_sequence else 1


class PrefixCache:
    """Evaluates all-``rate`` schedules of ``net`` on ``(x, y)``, caching stage spike counts.

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

    Attributes
    ----------
    index : PrefixIndex
        Which prefixes are kept; its ``stage_runs`` counts how many times each stage was run
        over the whole split (for tests and reports).
    """

    def __init__(self, net: Network, x, y, *, device: str = "cpu",
                 precision: Precision | str = Precision.FLOAT, batch_size: int | None = None,
                 max_bytes: float = 512e6, chunk: int | None = None):
        self.net, self.chunk = net, chunk
        if net.input_encoding.is_sequence:
            self.x = torch.as_tensor(np.asarray(x), dtype=torch.float64)
            check_sequence(net, ld_schedule([chunk] * net.num_stages, chunk), self.x.numpy())
        else:
            self.x = as_input(x, net)
        self.y = np.asarray(y)
        if self.x.shape[0] == 0:
            raise InvalidInput("the split holds no samples")
        if self.y.shape != (self.x.shape[0],):
            raise InvalidInput(f"labels must have shape ({self.x.shape[0]},), got "
                               f"{self.y.shape}")
        self.engine = StageEngine.of(net, device, precision=precision)
        self.batch_size = batch_size or self.engine.batch_size()
        if self.batch_size < 1:
            raise InvalidOption(f"batch_size must be >= 1, got {batch_size}")
        self.index = PrefixIndex(net, self.x.shape[0], max_bytes, chunks_of(net, self.x, chunk))
        # prefix -> (spike counts of its last stage, summed synaptic updates of its stages)
        self._counts: dict[tuple[int, ...], tuple[torch.Tensor, np.ndarray]] = {}
        self._results: dict[tuple[int, ...], Evaluation] = {}

    def __len__(self) -> int:
        """Number of distinct schedules evaluated."""
        return len(self._results)

    @property
    def stage_runs(self) -> np.ndarray:
        """How many times each stage was run over the whole split."""
        return self.index.stage_runs

    def _store(self, prefix: tuple[int, ...], steps: tuple[int, ...], counts: torch.Tensor,
               synaptic: np.ndarray) -> None:
        for old in self.index.store(prefix, steps):
            self._counts.pop(old, None)
        if prefix in self.index:
            self._counts[prefix] = (counts, synaptic)

    def first_stage_to_run(self, timesteps: Sequence[int]) -> int:
        """The first stage :meth:`evaluate` would run for these timesteps (``num_stages`` if
        the schedule was evaluated before, 0 if no prefix is cached)."""
        steps = tuple(int(t) for t in timesteps)
        if steps in self._results:
            return self.net.num_stages
        return self.index.first_stage_to_run(steps)

    def evaluate(self, timesteps: Sequence[int]) -> Evaluation:
        """Accuracy and counters of the all-``rate`` schedule with these timesteps."""
        schedule = ld_schedule(timesteps, self.chunk)
        schedule.check(self.net)
        steps = schedule.timesteps
        if steps in self._results:
            return self._results[steps]
        start = self.index.begin(steps)
        synaptic = np.zeros(self.net.num_stages)  # summed over samples: exact integers
        cached = None
        if start:
            cached, synaptic[:start] = self._counts[steps[:start]]
        if self.net.input_encoding.is_sequence or self.net.has_delays:
            return self._evaluate_chunked(schedule, start, cached, synaptic)
        dtype = count_dtype(steps)
        new_counts: list[list[torch.Tensor]] = [[] for _ in range(self.net.num_stages - 1)]
        correct, n, engine = 0, self.x.shape[0], self.engine
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
            self._store(steps[:k + 1], steps, torch.cat(new_counts[k]), synaptic[:k + 1].copy())
        result = Evaluation(schedule, correct / n, count_work(self.net, schedule, synaptic / n))
        self._results[steps] = result
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
            self._store(steps[:k + 1], steps, torch.cat(new_counts[k]), synaptic[:k + 1].copy())
        accuracy = float(np.mean(np.concatenate(predictions) == self.y))
        result = Evaluation(schedule, accuracy,
                            count_work(self.net, schedule, synaptic / n, self.index.chunks))
        self._results[steps] = result
        return result
