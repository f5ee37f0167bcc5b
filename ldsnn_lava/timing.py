"""Honest wall-clock: medians of warmed, interleaved repeats, with their spread.

One cold run of each schedule, timed one after the other, says little: the first run pays for
warm-up (allocations, caches, lazy imports) and background load hits whichever runs at that
moment: three identical ``ldsnn report lava_dl_mnist`` runs that timed each schedule once
gave the LD-SNN 4.4x, 10.8x and 5.4x the given SNN's speed on a shared 2-core machine. So every
time this project prints in a table or report is measured like this:

1. **warm-up**: each task runs once untimed (or the caller says it already ran once);
2. **interleaved repeats**: ``repeats`` rounds, each timing every task once, the order
   rotating from round to round so that no task is always first;
3. **summary**: per task the median and the min-max of its repeats (:class:`Timing`);
4. **ratios** only from medians (:meth:`Timing.ratio_to`), with a spread from the two min-max
   ranges: from ``min(a) / max(b)`` to ``max(a) / min(b)``, the ratios the measured times
   allow.

:class:`TimingSetup` records how it was measured (repeats, torch threads, device, load average
at the start) and :meth:`TimingSetup.describe` says it in words for reports. Speed is never
asserted in the tests: this module only measures.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ldsnn_lava.errors import InvalidOption


@dataclass(frozen=True)
class Ratio:
    """A ratio of two medians and the range the two min-max spreads allow."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.2f}x [{self.low:.2f}-{self.high:.2f}]"


@dataclass(frozen=True)
class Timing:
    """The timed repeats of one task, in seconds."""

    seconds: tuple[float, ...]

    def __post_init__(self):
        if not self.seconds:
            raise InvalidOption("a Timing needs at least one repeat")

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def min(self) -> float:
        return min(self.seconds)

    @property
    def max(self) -> float:
        return max(self.seconds)

    def ratio_to(self, other: Timing) -> Ratio:
        """``self.median / other.median``, spread from ``self.min / other.max`` to
        ``self.max / other.min`` (a baseline's time over an LD-SNN's: above 1, the LD-SNN is
        faster)."""
        return Ratio(self.median / other.median, self.min / other.max, self.max / other.min)

    def __str__(self) -> str:
        return f"{self.median:.3f} [{self.min:.3f}-{self.max:.3f}]"

    def to_dict(self) -> dict:
        return {"seconds": list(self.seconds), "median": self.median, "min": self.min,
                "max": self.max}


@dataclass(frozen=True)
class TimingSetup:
    """How a set of timings was measured."""

    repeats: int
    threads: int
    device: str
    load_average: float | None
    what: str = "task"
    tasks: int = 1

    def describe(self) -> str:
        """One sentence for a report or under a table."""
        load = ("" if self.load_average is None
                else f"; 1-minute load average {self.load_average:.2f} at the start")
        several = (f", the {self.tasks} {self.what}s interleaved in rotating order"
                   if self.tasks > 1 else "")
        ratios = (" Ratios are ratios of medians, in brackets the range the min-max spreads "
                  "allow." if self.tasks > 1 else "")
        return (f"Wall-clock: median of {self.repeats} timed runs per {self.what} after one "
                f"untimed warm-up run{' each' if self.tasks > 1 else ''}{several}; [min-max] "
                f"of the runs in brackets.{ratios} torch {torch.__version__.split('+')[0]}, "
                f"{self.threads} thread(s), device {self.device}{load}.")

    def to_dict(self) -> dict:
        return {"repeats": self.repeats, "threads": self.threads, "device": self.device,
                "load_average": self.load_average, "tasks": self.tasks,
                "method": self.describe()}


def load_average() -> float | None:
    """The 1-minute load average, where the system reports one."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def interleaved(tasks: dict[str, Callable[[], object]], repeats: int, *,
                warm_up: bool = True, device: str = "cpu", what: str = "task",
                on_round: Callable[[int], None] | None = None
                ) -> tuple[dict[str, Timing], TimingSetup]:
    """Time every task ``repeats`` times, interleaved, after a warm-up (module docstring).

    Parameters
    ----------
    tasks : dict of str to callable
        Functions of no argument; what they return is dropped.
    repeats : int
        Timed rounds, >= 1.
    warm_up : bool
        Run every task once untimed first (``False`` when the caller just ran each once).
    device : str
        Torch device the tasks use: CUDA work is synchronized before each clock reading.
    what : str
        What a task is, for :meth:`TimingSetup.describe` (e.g. ``"schedule"``).
    on_round : callable, optional
        Called with the number of rounds done after each round (progress).

    Returns
    -------
    (dict of str to Timing, TimingSetup)
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise InvalidOption(f"repeats must be an int >= 1, got {repeats!r}")
    if not tasks:
        raise InvalidOption("nothing to time: no tasks")
    setup = TimingSetup(repeats, torch.get_num_threads(), str(device), load_average(), what,
                        len(tasks))
    cuda = str(device).startswith("cuda")

    def run(task: Callable[[], object]) -> float:
        start = time.perf_counter()
        task()
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - start

    if warm_up:
        for task in tasks.values():
            run(task)
    names = list(tasks)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(run(tasks[name]))
        if on_round is not None:
            on_round(round_ + 1)
    return {name: Timing(tuple(values)) for name, values in times.items()}, setup
