"""What an optimization returns, and its JSON form.

:class:`Point` is one evaluated schedule (accuracy, cost, counters); :class:`OptimizeResult` is
the whole search: the chosen schedule, both baselines, the Pareto front and every point visited,
saved and loaded as versioned JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.engine import Counters
from ldsnn_lava.errors import FileFormatError
from ldsnn_lava.schedule import Schedule

RESULT_FORMAT = "ldsnn-optimize-result"
RESULT_VERSION = 2
"""Version 2: ``max_drop`` in points of accuracy (version 1 stored a fraction), and ``info``."""
BUDGET_UNIT = "points"
"""The unit of ``max_drop``: percentage points of top-1 accuracy (1.0 = one point)."""


@dataclass(frozen=True)
class Point:
    """One evaluated schedule.

    Attributes
    ----------
    schedule : Schedule
    accuracy : float
        Top-1 accuracy on the split it was evaluated on.
    cost : float
    counters : Counters
    kind : {"given", "uniform", "ld"}
        The given SNN, another uniform schedule, or an LD schedule visited by the search.
    """

    schedule: Schedule
    accuracy: float
    cost: float
    counters: Counters
    kind: str

    def to_dict(self) -> dict:
        return {
            "timesteps": list(self.schedule.timesteps),
            "buffers": list(self.schedule.buffers),
            **({} if self.schedule.chunk is None else {"chunk": self.schedule.chunk}),
            "accuracy": self.accuracy,
            "cost": self.cost,
            "kind": self.kind,
            "counters": {name: float(v) for name, v in self.counters.total.items()},
            "per_stage": {name: [float(x) for x in v]
                          for name, v in self.counters.per_stage.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> Point:
        schedule = Schedule(data["timesteps"], data["buffers"], chunk=data.get("chunk"))
        counters = Counters({name: np.asarray(v, dtype=np.float64)
                             for name, v in data["per_stage"].items()})
        return cls(schedule, float(data["accuracy"]), float(data["cost"]), counters,
                   data["kind"])


@dataclass
class OptimizeResult:
    """What :func:`optimize` returns (all numbers on the validation split).

    Attributes
    ----------
    schedule : Schedule
        The chosen schedule.
    chosen, given, best_uniform : Point
        The chosen schedule; the given SNN at ``base_T``; the cheapest uniform schedule within
        budget (with ``max_drop=None``: the most accurate uniform schedule within the cost
        target, or the cheapest uniform one when none is).
    front : list of Point
        The accuracy/cost Pareto front of every point visited, by increasing cost.
    visited : list of Point
        Every point evaluated, in order.
    history : list of dict
        One entry per accepted move: the move, the new timesteps, accuracy and cost.
    cost_name, cost_unit : str
    base_T : int
    max_drop : float or None
        The accuracy budget in points (:data:`BUDGET_UNIT`; 1.0 = one point of top-1 accuracy
        below the given SNN).
    cost_target : float or None
    min_accuracy : float or None
        The budget as an accuracy: the lowest validation accuracy allowed (a fraction, like
        every ``accuracy``; ``max_drop`` mode).
    stage_runs : list of int
        How many times each stage was run over the split by the search.
    work : float
        Work the search spent, in passes of the given SNN over the split.
    work_budget : float or None
        The ``work_budget`` it ran under.
    seconds : float
        Wall-clock time of the whole optimization.
    info : dict
        How the run was set up, as its caller records it (the command line records the model,
        data set, input scaling, seed and command); saved with the result.
    warnings : list of str
        Warnings about the run, e.g. a given SNN near chance accuracy.
    """

    schedule: Schedule
    chosen: Point
    given: Point
    best_uniform: Point
    front: list[Point]
    visited: list[Point]
    history: list[dict]
    cost_name: str
    cost_unit: str
    base_T: int
    max_drop: float | None
    cost_target: float | None
    min_accuracy: float | None
    stage_runs: list[int] = field(default_factory=list)
    work: float = 0.0
    work_budget: float | None = None
    seconds: float = 0.0
    info: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "format": RESULT_FORMAT,
            "version": RESULT_VERSION,
            "schedule": self.schedule.to_dict(),
            "cost": {"name": self.cost_name, "unit": self.cost_unit},
            "base_T": self.base_T,
            "max_drop": self.max_drop,
            "max_drop_unit": BUDGET_UNIT,
            "cost_target": self.cost_target,
            "min_accuracy": self.min_accuracy,
            "chosen": self.chosen.to_dict(),
            "given": self.given.to_dict(),
            "best_uniform": self.best_uniform.to_dict(),
            "front": [p.to_dict() for p in self.front],
            "visited": [p.to_dict() for p in self.visited],
            "history": self.history,
            "stage_runs": self.stage_runs,
            "work": self.work,
            "work_budget": self.work_budget,
            "seconds": self.seconds,
            "info": self.info,
            "warnings": self.warnings,
        }

    def save(self, path: str | Path) -> None:
        """Write the result as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> OptimizeResult:
        """Read a result written by :meth:`save`; ``ValueError`` if it is not one."""
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as err:
            raise FileFormatError(f"{path}: not valid JSON ({err})") from None
        if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT:
            raise FileFormatError(f"{path}: not an ldsnn optimization result "
                                  f"(expected format {RESULT_FORMAT!r})")
        version = data.get("version")
        if version not in (1, RESULT_VERSION):
            raise FileFormatError(f"{path}: unsupported optimization result version "
                                  f"{version!r} (this ldsnn-lava reads 1 and {RESULT_VERSION})")
        try:
            max_drop = data["max_drop"]
            if version == 1 and max_drop is not None:
                max_drop = 100 * max_drop  # version 1 stored the budget as a fraction
            points = {key: Point.from_dict(data[key]) for key in ("chosen", "given",
                                                                   "best_uniform")}
            return cls(
                schedule=Schedule.from_dict(data["schedule"]), **points,
                front=[Point.from_dict(p) for p in data["front"]],
                visited=[Point.from_dict(p) for p in data["visited"]],
                history=data["history"], cost_name=data["cost"]["name"],
                cost_unit=data["cost"]["unit"], base_T=int(data["base_T"]),
                max_drop=max_drop, cost_target=data["cost_target"],
                min_accuracy=data["min_accuracy"], stage_runs=data["stage_runs"],
                work=float(data.get("work", 0.0)), work_budget=data.get("work_budget"),
                seconds=float(data["seconds"]), info=dict(data.get("info") or {}),
                warnings=[str(w) for w in data.get("warnings") or []])
        except (KeyError, TypeError, ValueError) as err:
            raise FileFormatError(f"{path}: malformed optimization result ({err})") from None


def pareto_front(points: list[Point]) -> list[Point]:
    """The points no other point beats on both cost (lower) and accuracy (higher), by cost.

    Of several points with equal cost and accuracy the first one is kept.
    """
    front: list[Point] = []
    for point in sorted(points, key=lambda p: (p.cost, -p.accuracy)):
        if not front or point.accuracy > front[-1].accuracy:
            front.append(point)
    return front
