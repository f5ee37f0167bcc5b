"""Evaluating many LD schedules of one network on one data split, reusing shared prefixes.

In an LD schedule whose buffers are all ``rate``, stage k's input depends only on stage
k-1's per-neuron spike counts and on T_{k-1}, T_k (``docs/design.md``). So the spike counts
of stages 0..k-1 are a function of the prefix ``(T_0, ..., T_{k-1})`` alone: this module keeps
them, keyed by prefix, and a schedule that shares a prefix with one evaluated before re-runs
only the stages after it. The optimizer's moves change one stage at a time, so a move at
stage k re-evaluates stages k..L only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ldsnn_lava import validate
from ldsnn_lava.buffers import rate_raster
from ldsnn_lava.engine.driver import StageEngine, StageInput
from ldsnn_lava.engine.result import Counters, count_work
from ldsnn_lava.network import Network
from ldsnn_lava.options import BufferKind, Precision
from ldsnn_lava.schedule import Schedule


@dataclass(frozen=True)
class Evaluation:
    """One schedule evaluated on the split.

    Attributes
    ----------
    schedule : Schedule
    accuracy : float
        Top-1 accuracy on the split.
    counters : Counters
        Per-sample mean work counters.
    """

    schedule: Schedule
    accuracy: float
    counters: Counters


def ld_schedule(timesteps: Sequence[int]) -> Schedule:
    """The LD schedule with these timesteps: a ``rate`` buffer on every gap."""
    return Schedule(tuple(int(t) for t in timesteps), buffers=BufferKind.RATE)


class PrefixCache:
    """Evaluates all-``rate`` schedules of ``net`` on ``(x, y)``, caching stage spike counts.

    Parameters
    ----------
    net : Network
    x, y : array-like
        The split: ``(N, *net.input_shape)`` inputs and ``(N,)`` integer labels.
    device : str
    precision : Precision or str
        Engine precision (see :class:`ldsnn_lava.engine.StageEngine`).
    batch_size : int
        Samples per engine batch.
    max_bytes : float
        Bound on the memory of cached spike counts; least recently used prefixes go first.

    Attributes
    ----------
    stage_runs : numpy.ndarray
        How many times each stage was run over the whole split (for tests and reports).
    """

    def __init__(self, net: Network, x, y, *, device: str = "cpu",
                 precision: Precision | str = Precision.FLOAT, batch_size: int = 256,
                 max_bytes: float = 512e6):
        self.net = net
        checked = validate.inputs(x, net, "validation input")
        self.x, self._magnitude = checked.x, checked.magnitude
        self.y = validate.labels(y, self.x.shape[0], net.num_classes, "validation labels")
        batch_size = validate.integer(batch_size, "batch_size", low=1)
        self.engine = StageEngine(net, validate.device(device), precision=precision)
        self.batch_size = batch_size
        self.max_bytes = max_bytes
        # prefix -> (spike counts of its last stage, synaptic updates of its stages)
        self._counts: OrderedDict[tuple[int, ...], tuple[torch.Tensor, np.ndarray]] = (
            OrderedDict())
        self._bytes = 0
        self._results: dict[tuple[int, ...], Evaluation] = {}
        self.stage_runs = np.zeros(net.num_stages, dtype=np.int64)

    def __len__(self) -> int:
        """Number of distinct schedules evaluated."""
        return len(self._results)

    def _store(self, prefix: tuple[int, ...], counts: torch.Tensor, synaptic: np.ndarray
               ) -> None:
        size = counts.numel() * counts.element_size()
        if size > self.max_bytes:
            return
        self._counts[prefix] = (counts, synaptic)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (old, _) = self._counts.popitem(last=False)
            self._bytes -= old.numel() * old.element_size()

    def _longest_prefix(self, steps: tuple[int, ...]) -> int:
        """Number of leading stages whose spike counts are cached for ``steps``."""
        for k in range(len(steps) - 1, 0, -1):
            if steps[:k] in self._counts:
                self._counts.move_to_end(steps[:k])
                return k
        return 0

    def first_stage_to_run(self, timesteps: Sequence[int]) -> int:
        """The first stage :meth:`evaluate` would run for these timesteps (``num_stages`` if
        the schedule was evaluated before, 0 if no prefix is cached)."""
        steps = tuple(int(t) for t in timesteps)
        if steps in self._results:
            return self.net.num_stages
        for k in range(len(steps) - 1, 0, -1):
            if steps[:k] in self._counts:
                return k
        return 0

    def evaluate(self, timesteps: Sequence[int]) -> Evaluation:
        """Accuracy and counters of the all-``rate`` schedule with these timesteps."""
        schedule = ld_schedule(timesteps)
        schedule.check(self.net)
        steps = schedule.timesteps
        if steps in self._results:
            return self._results[steps]
        start = self._longest_prefix(steps)
        synaptic = np.zeros(self.net.num_stages)
        if start:
            synaptic[:start] = self._counts[steps[:start]][1]
        self.engine.watch(steps, self._magnitude)
        dtype = torch.uint8 if max(steps) <= 255 else torch.int32  # counts up to T
        new_counts = [[] for _ in range(self.net.num_stages - 1)]
        predictions = []
        n = self.x.shape[0]
        with torch.inference_mode():
            for begin in range(0, n, self.batch_size):
                stop = min(n, begin + self.batch_size)
                if start == 0:
                    inp = self.engine.encode(self.x[begin:stop].to(self.engine.device), steps[0])
                else:
                    counts = self._counts[steps[:start]][0][begin:stop].to(self.engine.device)
                    inp = StageInput(raster=rate_raster(counts, steps[start - 1], steps[start]))
                for k in range(start, self.net.num_stages):
                    out = self.engine.forward(k, inp, steps[k])
                    synaptic[k] += float(out.synaptic_updates.sum()) / n
                    if out.readout is not None:
                        predictions.append(out.readout.argmax(1).cpu().numpy())
                        break
                    counts = out.raster.sum(0, dtype=torch.int32)
                    new_counts[k].append(counts.to(dtype).cpu())
                    inp = StageInput(raster=rate_raster(counts, steps[k], steps[k + 1]))
        self.stage_runs[start:] += 1
        for k in range(start, self.net.num_stages - 1):
            self._store(steps[:k + 1], torch.cat(new_counts[k]), synaptic[:k + 1].copy())
        accuracy = float(np.mean(np.concatenate(predictions) == self.y))
        result = Evaluation(schedule, accuracy, count_work(self.net, schedule, synaptic))
        self._results[steps] = result
        return result
