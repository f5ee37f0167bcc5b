"""What an optimization returns, and its JSON form.

:class:`Point` is one evaluated schedule (accuracy, cost, counters); :class:`OptimizeResult` is
the whole search: the chosen schedule, both baselines, the Pareto front and every point visited,
saved and loaded as versioned JSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ldsnn_lava._io import atomic_write_text, check_readable, recover
from ldsnn_lava.engine import COUNTER_NAMES, Counters
from ldsnn_lava.errors import FileFormatError, LDSNNError
from ldsnn_lava.schedule import MAX_TIMESTEPS, Schedule

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
        """A point from :meth:`to_dict`; :class:`FileFormatError` naming a malformed field."""
        return _point_from_dict(data, "point", None)


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

    def to_json(self) -> str:
        """The JSON text :meth:`save` writes."""
        return json.dumps(self.to_dict(), indent=1) + "\n"

    def save(self, path: str | Path) -> None:
        """Write the result as JSON, atomically."""
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> OptimizeResult:
        """Read a result written by :meth:`save`.

        Every field is checked (types, ranges, one value per stage, the chosen schedule
        equal to the chosen point's), so a damaged or hand-edited file is refused rather than
        reported.

        Raises
        ------
        FileAccessError
            If the path is missing, a folder or not a regular file.
        FileFormatError
            If it is not an optimization result of this version; the message names the file
            and the field.
        """
        path = check_readable(path, "result file")
        recover(path.parent)  # finish or undo a set of files a killed writer left
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as err:
            raise FileFormatError(f"{path}: not UTF-8 text ({err.reason})") from None
        except (ValueError, RecursionError) as err:
            raise FileFormatError(f"{path}: not valid JSON ({err})") from None
        try:
            return _result_from_dict(data)
        except FileFormatError as err:
            raise FileFormatError(f"{path}: {err}") from None


_KINDS = ("given", "uniform", "ld")


def _get(record, key: str, kinds, where: str):
    """``record[key]`` if it has one of the JSON ``kinds`` (bool is not a number)."""
    if not isinstance(record, dict):
        raise FileFormatError(f"{where}: expected an object, got {type(record).__name__}")
    if key not in record:
        raise FileFormatError(f"{where}: missing field {key!r}")
    value = record[key]
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise FileFormatError(f"{where}: field {key!r} has the wrong type "
                              f"({type(value).__name__}: {value!r:.40})")
    return value


def _number(record, key: str, where: str, low: float = 0.0, high: float = math.inf,
            optional: bool = False) -> float | None:
    value = _get(record, key, (int, float, type(None)) if optional else (int, float), where)
    if value is None:
        return None
    if not (math.isfinite(value) and low <= value <= high):
        raise FileFormatError(f"{where}: field {key!r} must be a finite number in "
                              f"[{low:g}, {high:g}], got {value!r}")
    return float(value)


def _point_from_dict(data, where: str, stages: int | None) -> Point:
    chunk = data.get("chunk") if isinstance(data, dict) else None  # sequence input only
    try:
        schedule = Schedule(_get(data, "timesteps", list, where), _get(data, "buffers", list,
                                                                       where), chunk=chunk)
    except LDSNNError as err:
        raise FileFormatError(f"{where}: {err}") from None
    if stages is not None and schedule.num_stages != stages:
        raise FileFormatError(f"{where}: {schedule.num_stages} stages, the result's schedule "
                              f"has {stages}")
    per_stage = _get(data, "per_stage", dict, where)
    if set(per_stage) != set(COUNTER_NAMES):
        raise FileFormatError(f"{where}: per_stage counters must be {list(COUNTER_NAMES)}, "
                              f"got {sorted(per_stage)}")
    counters = {}
    for name in COUNTER_NAMES:
        values = _get(per_stage, name, list, f"{where} per_stage")
        if len(values) != schedule.num_stages or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                and v >= 0 for v in values):
            raise FileFormatError(f"{where}: per_stage {name!r} must be {schedule.num_stages} "
                                  f"finite numbers >= 0, got {values!r:.60}")
        counters[name] = np.asarray(values, dtype=np.float64)
    kind = _get(data, "kind", str, where)
    if kind not in _KINDS:
        raise FileFormatError(f"{where}: kind must be one of {_KINDS}, got {kind!r}")
    return Point(schedule, _number(data, "accuracy", where, 0.0, 1.0),
                 _number(data, "cost", where), Counters(counters), kind)


def _result_from_dict(data) -> OptimizeResult:
    if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT:
        raise FileFormatError(f"not an ldsnn optimization result (expected format "
                              f"{RESULT_FORMAT!r})")
    version = data.get("version")
    if type(version) is not int or version not in (1, RESULT_VERSION):
        raise FileFormatError(f"unsupported result version {version!r} (this ldsnn-lava reads "
                              f"versions 1 and {RESULT_VERSION})")
    schedule = Schedule.from_dict(_get(data, "schedule", dict, "result"), "schedule")
    stages = schedule.num_stages
    points = {key: _point_from_dict(_get(data, key, dict, "result"), key, stages)
              for key in ("chosen", "given", "best_uniform")}
    chosen = points["chosen"].schedule
    if (chosen.timesteps, chosen.buffers, chosen.chunk) != (schedule.timesteps,
                                                           schedule.buffers, schedule.chunk):
        raise FileFormatError(f"the schedule {schedule} is not the chosen point's {chosen}")
    lists = {key: [_point_from_dict(p, f"{key}[{i}]", stages)
                   for i, p in enumerate(_get(data, key, list, "result"))]
             for key in ("front", "visited")}
    if not lists["visited"]:
        raise FileFormatError("no visited points")
    cost = _get(data, "cost", dict, "result")
    history = _get(data, "history", list, "result")
    if not all(isinstance(entry, dict) for entry in history):
        raise FileFormatError("history must be a list of objects")
    stage_runs = _get(data, "stage_runs", list, "result")
    if len(stage_runs) != stages or not all(type(v) is int and v >= 0 for v in stage_runs):
        raise FileFormatError(f"stage_runs must be {stages} integers >= 0, got "
                              f"{stage_runs!r:.60}")
    # version 1 stored max_drop as a fraction, version 2 in points (BUDGET_UNIT)
    max_drop = _number(data, "max_drop", "result", 0.0, 1.0 if version == 1 else 100.0,
                       optional=True)
    if version == 1 and max_drop is not None:
        max_drop *= 100
    cost_target = _number(data, "cost_target", "result", optional=True)
    if (max_drop is None) == (cost_target is None):
        raise FileFormatError("exactly one of max_drop and cost_target must be set")
    base_T = _get(data, "base_T", int, "result")
    if not 1 <= base_T <= MAX_TIMESTEPS:
        raise FileFormatError(f"base_T must be in [1, {MAX_TIMESTEPS}], got {base_T}")
    info = data.get("info") or {}  # version 2; optional
    if not isinstance(info, dict):
        raise FileFormatError(f"info must be an object, got {type(info).__name__}")
    warnings = data.get("warnings") or []
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise FileFormatError(f"warnings must be a list of strings, got {warnings!r:.60}")
    return OptimizeResult(
        schedule=schedule, **points, **lists, history=history,
        cost_name=_get(cost, "name", str, "cost"), cost_unit=_get(cost, "unit", str, "cost"),
        base_T=base_T, max_drop=max_drop, cost_target=cost_target,
        min_accuracy=_number(data, "min_accuracy", "result", -1.0, 1.0, optional=True),
        stage_runs=stage_runs, work=_number(data, "work", "result"),
        work_budget=_number(data, "work_budget", "result", optional=True),
        seconds=_number(data, "seconds", "result"), info=dict(info), warnings=list(warnings))


def pareto_front(points: list[Point]) -> list[Point]:
    """The points no other point beats on both cost (lower) and accuracy (higher), by cost.

    Of several points with equal cost and accuracy the first one is kept.
    """
    front: list[Point] = []
    for point in sorted(points, key=lambda p: (p.cost, -p.accuracy)):
        if not front or point.accuracy > front[-1].accuracy:
            front.append(point)
    return front
