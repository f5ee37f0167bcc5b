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

import dataclasses
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from ldsnn_lava import validate
from ldsnn_lava.buffers import expected_rate_total
from ldsnn_lava.engine.driver import StageEngine, run_batch
from ldsnn_lava.engine.result import Evaluation, count_work, synaptic_updates
from ldsnn_lava.engine.temporal import SequenceEngine
from ldsnn_lava.errors import InvalidOption
from ldsnn_lava.network import Network
from ldsnn_lava.options import BufferKind, InputEncoding, Precision
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

    def prefix_bytes(self, stages: int, timesteps: Sequence[int]) -> int:
        """Bytes of the counts of a ``stages``-stage prefix: its last stage's output over the
        split, in the count type of ``timesteps`` (:func:`count_dtype`)."""
        return (self.samples * self.chunks * math.prod(self.net.output_shape_of(stages - 1))
                * count_dtype(timesteps).itemsize)

    def store(self, schedule: Schedule, stages: int) -> list[tuple]:
        """Keep the prefix of ``schedule``'s first ``stages`` stages; returns the keys evicted
        to make room (that prefix's own, alone, if it is larger than ``max_bytes``)."""
        key = _key(schedule, stages)
        size = self.prefix_bytes(stages, schedule.timesteps)
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


def run_windows(engine: StageEngine, schedule: Schedule, stage: int, windows: Sequence[int],
                x: torch.Tensor | None, upstream: torch.Tensor | None
                ) -> dict[int, tuple[torch.Tensor, float]]:
    """Run ``stage`` of ``schedule`` once over the widest of ``windows`` (sorted, widest last)
    and return, per window, its spike counts ``(B, *out_shape)`` after that many steps and its
    synaptic updates summed over the batch.

    The stage's input must not depend on its window: direct input (``x``, stage 0) or a
    ``rate`` buffer from the upstream counts ``upstream`` (``(B, *upstream_shape)``), whose
    first t emissions depend only on the counts and the upstream window; the rate rule's
    closed form gives the spikes received within t steps.
    """
    widest = windows[-1]
    batch = x.shape[0] if x is not None else upstream.shape[0]
    counts = {t: torch.zeros((batch, *engine.net.output_shape_of(stage)), dtype=torch.int32,
                             device=engine.device) for t in windows[:-1]}

    def count(k: int, first: int, rows: slice, inputs: torch.Tensor, out: torch.Tensor) -> None:
        for t, spikes in counts.items():
            n = min(out.shape[0], t - first)
            if n > 0:
                spikes[rows] += out[:n].sum(0).to(torch.int32)

    steps = list(schedule.timesteps)
    steps[stage] = widest
    wide = dataclasses.replace(schedule, timesteps=tuple(steps))
    states = run_batch(engine, wide, x, start=stage, start_counts=upstream, stop=stage + 1,
                       on_chunk=count)
    out = {widest: (engine.counts(stage, states[stage]),
                    float(engine.synaptic_updates(states)[stage]))}
    for t, spikes in counts.items():
        received = [None] * engine.net.num_stages
        if stage > 0:
            received[stage] = expected_rate_total(engine.memory_order(stage - 1, upstream),
                                                  schedule.timesteps[stage - 1], t)
        out[t] = (spikes, float(synaptic_updates(received, engine.input_fan_outs)[stage]))
    return dict(sorted(out.items()))


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
        The cache the charges assume (:attr:`index`, :attr:`stage_runs`,
        :meth:`first_stage_to_run`): one that keeps spike counts of this many bytes, least
        recently used prefixes out first.
    keep_bytes : float, optional
        The bytes of spike counts really kept (default and at least ``max_bytes``): more keeps
        more prefixes and re-runs fewer stages than charged, never changing a result.
    chunk : int, optional
        Input steps per chunk, for sequence input (required there).
    network_for : callable, optional
        Timesteps -> the network to run for them (a calibrated form of ``net``, see
        :mod:`ldsnn_lava.optimize.calibrate`). Its stages 0..k must depend on the first k + 1
        timesteps only, so that cached counts stay valid; static input only.

    Attributes
    ----------
    index : PrefixIndex
        Which prefixes are kept; its ``stage_runs`` counts how many times each stage was
        charged for over the whole split (for tests and reports).

    Notes
    -----
    :meth:`evaluate_many` runs a stage once for several schedules that need it from the same
    prefix with different windows (e.g. the search's moves T_k -> T_k - 1, 3 T_k / 4, T_k / 2):
    a stage fed by direct input or a ``rate`` buffer steps the same in its first t steps
    whatever its window, so the counts after t steps of the widest window are those of window
    t. Results, the prefixes booked and :attr:`stage_runs` are those of evaluating the
    schedules one by one; only :attr:`runs_done` is lower.
    """

    def __init__(self, net: Network, x, y, *, device: str = "cpu",
                 precision: Precision | str = Precision.FLOAT, batch_size: int | None = None,
                 max_bytes: float = 512e6, keep_bytes: float | None = None,
                 chunk: int | None = None,
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
        chunks = chunks_of(net, self.x, chunk)
        self.index = PrefixIndex(net, self.x.shape[0], max_bytes, chunks)
        # what is really kept: at least what the charges assume
        self._kept = PrefixIndex(net, self.x.shape[0], max(max_bytes, keep_bytes or 0.0), chunks)
        # key (see _key) -> (spike counts of the prefix's last stage, summed synaptic updates
        # of its stages)
        self._counts: dict[tuple, tuple[torch.Tensor, np.ndarray]] = {}
        # the same for shorter windows run ahead for later schedules of one evaluate_many
        self._pending: dict[tuple, tuple[torch.Tensor, np.ndarray]] = {}
        self._results: dict[tuple, Evaluation] = {}
        #: how many times each stage was actually run over the whole split (at most
        #: :attr:`stage_runs`: a run over a wider window also serves shorter ones)
        self.runs_done = np.zeros(net.num_stages, dtype=np.int64)

    def __len__(self) -> int:
        """Number of distinct schedules evaluated."""
        return len(self._results)

    @property
    def stage_runs(self) -> np.ndarray:
        """How many times each stage was charged for over the whole split: the runs of a cache
        that keeps the prefixes :attr:`index` books and nothing else (what the search's work
        budget counts; :attr:`runs_done` are the runs made)."""
        return self.index.stage_runs

    def first_stage_to_run(self, timesteps: Sequence[int],
                           buffers: Sequence[BufferKind] | None = None) -> int:
        """The first stage :meth:`evaluate` is charged for with these timesteps and buffers
        (``num_stages`` if the schedule was evaluated before, 0 if no prefix is kept), as
        :attr:`index` books it."""
        schedule = ld_schedule(timesteps, self.chunk, buffers)
        if _key(schedule, schedule.num_stages) in self._results:
            return self.net.num_stages
        return self.index.first_stage_to_run(schedule)

    def evaluate(self, timesteps: Sequence[int],
                 buffers: Sequence[BufferKind] | None = None) -> Evaluation:
        """Accuracy and counters of the LD schedule with these timesteps and buffers (default:
        ``rate`` on every gap)."""
        return self._evaluate(ld_schedule(timesteps, self.chunk, buffers), [])

    def evaluate_many(self, schedules: Sequence[tuple[Sequence[int], Sequence[BufferKind]]]
                      ) -> list[Evaluation]:
        """:meth:`evaluate` of each ``(timesteps, buffers)``, in this order; a stage that
        several of them run from the same prefix with different windows runs once, over the
        widest (see :class:`PrefixCache`)."""
        return list(self.evaluations(schedules))

    def evaluations(self, schedules: Sequence[tuple[Sequence[int], Sequence[BufferKind]]]
                    ) -> Iterator[Evaluation]:
        """:meth:`evaluate_many`, one evaluation at a time (each computed when asked for)."""
        wanted = [ld_schedule(steps, self.chunk, buffers) for steps, buffers in schedules]
        try:
            for i, schedule in enumerate(wanted):
                yield self._evaluate(schedule, wanted[i + 1:])
        finally:
            self._pending.clear()

    def _evaluate(self, schedule: Schedule, later: Sequence[Schedule]) -> Evaluation:
        """:meth:`evaluate` of ``schedule``, keeping the counts of shorter windows that the
        ``later`` schedules of the same call need (:meth:`_windows`)."""
        schedule.check(self.net)
        steps, key = schedule.timesteps, _key(schedule, schedule.num_stages)
        if key in self._results:
            return self._results[key]
        self.index.record(schedule)  # what this evaluation is charged for
        kept = self._kept.begin(schedule)
        start, cached, synaptic = self._held(schedule)
        self.runs_done[start:] += 1
        if self.net.input_encoding.is_sequence or self.net.has_delays:
            self.engine.watch([T * self.index.chunks for T in steps], self._magnitude)
            result = self._evaluate_chunked(schedule, kept, start, cached, synaptic)
            self._results[key] = result
            return result
        windows = self._windows(schedule, start, later)
        watched = list(steps)
        if windows:
            watched[start] = windows[-1]
        self.engine.watch(watched, self._magnitude)
        dtype = count_dtype(watched)
        new_counts: list[list[torch.Tensor]] = [[] for _ in range(self.net.num_stages - 1)]
        shorter: dict[int, list[torch.Tensor]] = {t: [] for t in windows if t != steps[start]}
        shorter_synaptic = dict.fromkeys(shorter, 0.0)
        correct, n, engine = 0, self.x.shape[0], self.engine
        if self.network_for is not None:
            engine = StageEngine.of(self.network_for(steps), self.engine.device,
                                    precision=self.precision)
            engine.watch(list(steps), self._magnitude)
        with torch.inference_mode():
            for begin in range(0, n, self.batch_size):
                stop = min(n, begin + self.batch_size)
                x = self.x[begin:stop].to(engine.device) if start == 0 else None
                upstream = None if start == 0 else cached[begin:stop].to(engine.device)
                first = start
                if windows:  # stage `start` once, over the widest window
                    for t, (counts, updates) in run_windows(engine, schedule, start, windows,
                                                            x, upstream).items():
                        if t == steps[start]:
                            new_counts[start].append(counts.to(dtype).cpu())
                            synaptic[start] += updates
                            upstream, first = counts, start + 1
                        else:
                            shorter[t].append(counts.to(dtype).cpu())
                            shorter_synaptic[t] += updates
                states = run_batch(engine, schedule, x if first == 0 else None, start=first,
                                   start_counts=upstream)
                for k in range(first, self.net.num_stages - 1):
                    new_counts[k].append(engine.counts(k, states[k]).to(dtype).cpu())
                synaptic += engine.synaptic_updates(states)
                predictions = states[-1].readout.argmax(1).cpu().numpy()
                correct += int((predictions == self.y[begin:stop]).sum())
        for t, parts in shorter.items():
            self._pending[steps[:start] + (t,), schedule.buffers[:start]] = (
                torch.cat(parts), np.append(synaptic[:start], shorter_synaptic[t]))
        self._keep(schedule, kept, start, new_counts, synaptic)
        result = Evaluation(schedule, correct / n, count_work(self.net, schedule, synaptic / n))
        self._results[key] = result
        return result

    def _held(self, schedule: Schedule) -> tuple[int, torch.Tensor | None, np.ndarray]:
        """The longest prefix of ``schedule`` whose counts are held (kept, or pending from an
        earlier schedule of the same :meth:`evaluate_many`): its length, the counts of its last
        stage and the summed synaptic updates of its stages (zeros beyond), or 0, None, zeros."""
        synaptic = np.zeros(self.net.num_stages)  # summed over samples: exact integers
        kept = self._kept.first_stage_to_run(schedule)
        for k in range(self.net.num_stages - 1, 0, -1):
            key = _key(schedule, k)
            held = self._pending.get(key) if k > kept else self._counts.get(key)
            if held is not None:
                synaptic[:k] = held[1]
                return k, held[0], synaptic
        return 0, None, synaptic

    def _windows(self, schedule: Schedule, start: int, later: Sequence[Schedule]
                 ) -> list[int]:
        """The windows to run stage ``start`` over for ``schedule`` and the ``later``
        schedules, widest last, or ``[]`` (only ``schedule``'s own).

        A stage's first t steps do not depend on its window when its input does not (direct
        input, or a ``rate`` buffer, whose emissions depend on the upstream window alone), so
        one run over the widest window gives the counts of every shorter one. A later schedule
        joins when it shares the prefix before ``start``, needs stage ``start`` over another
        window and has no longer prefix held; the shorter windows' counts wait in
        :attr:`_pending` (within ``keep_bytes``) until the schedule that needs them.
        """
        net = self.net
        if (start >= net.num_stages - 1 or self.network_for is not None
                or (start == 0 and net.input_encoding != InputEncoding.DIRECT)
                or (start > 0 and schedule.buffers[start - 1] != BufferKind.RATE)):
            return []
        steps, buffers = schedule.timesteps, schedule.buffers
        windows = {steps[start]}
        for other in later:  # the same stages and gaps before stage `start`, another window
            if (other.timesteps[:start] == steps[:start]
                    and other.buffers[:start] == buffers[:start]
                    and other.timesteps[start] not in windows
                    and self._held(other)[0] <= start):
                windows.add(other.timesteps[start])
        size = self._kept.prefix_bytes(start + 1, [*steps, *windows])  # as they are stored
        pending = sum(counts.numel() * counts.element_size() for counts, _ in
                      self._pending.values())
        if len(windows) == 1 or pending + size * (len(windows) - 1) > self._kept.max_bytes:
            return []
        return sorted(windows)

    def _keep(self, schedule: Schedule, kept: int, start: int,
              new_counts: list[list[torch.Tensor]], synaptic: np.ndarray) -> None:
        """Keep the counts of ``schedule``'s prefixes longer than the ``kept`` one (within
        ``keep_bytes``, least recently used first out): computed from ``start`` on, or
        pending."""
        for k in range(kept, self.net.num_stages - 1):
            key = _key(schedule, k + 1)
            held = ((torch.cat(new_counts[k]), synaptic[:k + 1].copy()) if k >= start
                    else self._pending.pop(key, None))
            if held is None:
                continue  # run from a longer pending prefix: this one was never computed
            for old in self._kept.store(schedule, k + 1):
                self._counts.pop(old, None)
            if key in self._kept:
                self._counts[key] = held

    def _evaluate_chunked(self, schedule: Schedule, kept: int, start: int,
                          cached: torch.Tensor | None, synaptic: np.ndarray) -> Evaluation:
        """:meth:`evaluate` for sequence input or delays: stages ``start..L`` chunk by chunk,
        from the cached per-chunk counts of stage ``start - 1`` (``cached``); the prefixes
        longer than the ``kept`` one are kept."""
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
        self._keep(schedule, kept, start, new_counts, synaptic)
        accuracy = float(np.mean(np.concatenate(predictions) == self.y))
        return Evaluation(schedule, accuracy,
                          count_work(self.net, schedule, synaptic / n, self.index.chunks))
