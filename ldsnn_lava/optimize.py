"""The methodology (DESIGN.md section 3): find the per-stage timesteps of a given SNN that
minimize a cost within an accuracy budget, on a validation split.

The search
----------
1. **Baselines.** The given SNN (uniform schedule at ``base_T``, ``replay`` buffers) and every
   uniform schedule T = 1..base_T are evaluated in one pass (:func:`uniform_sweep`); the
   cheapest uniform one within budget is the second baseline.
2. **Descent.** From the best uniform baseline's T as an LD schedule (``rate`` buffers
   everywhere; if that is out of budget, the next larger T whose LD form is in budget, else
   ``base_T``), each round tries, for every stage k, lowering T_k to ``T_k - 1``,
   ``round(0.75 T_k)`` and ``T_k // 2``; among the moves that stay within budget and lower the
   cost it takes the one that saves the most cost per point of accuracy lost (ties: the
   earlier stage and larger T_k in the order of the moves).
3. **Exchange.** When no single move is left, it tries pairs: lower one stage (as above) while
   raising another by one step (up to ``max_T``); the cheapest such pair within budget is
   taken and the descent resumes. The search stops when no move or pair stays in budget and
   lowers the cost.
4. **Restarts** (``restarts`` > 0): the best point is perturbed at random (seeded) and the
   descent re-run from there; the best point over all runs is kept.
5. **Work budget** (``work_budget``): every evaluation is charged the work of the stages it
   re-runs, in passes of the given SNN over the split (stage l weighs
   ``T_l * (synapses_l + neurons_l)``); once the next evaluation would exceed the budget, the
   search stops where it is (after taking the best move among those already evaluated).
   Within a round, the moves are evaluated cheapest first. The charge is computed from the
   network, not timed, so the search stays deterministic.

Each candidate shares all stages before the one it changes with a point already evaluated, so
:class:`ldsnn_lava.stage_cache.PrefixCache` re-runs stages k..L only. The chosen schedule is
the cheapest within-budget point visited, uniform ones included, so the LD result never costs
more than the best uniform baseline; since the descent starts there, it only has to find the
savings below it.

How good it is: on the tiny networks of ``tests/test_optimize.py`` the search is compared with
an exhaustive search of every schedule in a small grid; the docstring of :func:`optimize`
states the measured gap.

With ``max_drop=None`` and a ``cost_target``, the search instead maximizes validation accuracy
among the schedules whose cost is at most the target.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ldsnn_lava._io import atomic_write_text
from ldsnn_lava.costs import Cost, LatencyProfile, get_cost
from ldsnn_lava.engine import Counters, auto_batch_size
from ldsnn_lava.network import Network
from ldsnn_lava.schedule import Schedule
from ldsnn_lava.stage_cache import Evaluation, PrefixCache
from ldsnn_lava.uniform import uniform_sweep

RESULT_FORMAT = "ldsnn-optimize-result"
RESULT_VERSION = 1
DEFAULT_WORK_BUDGET = 100.0


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
            "accuracy": self.accuracy,
            "cost": self.cost,
            "kind": self.kind,
            "counters": {name: float(v) for name, v in self.counters.total.items()},
            "per_stage": {name: [float(x) for x in v]
                          for name, v in self.counters.per_stage.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> Point:
        schedule = Schedule(data["timesteps"], data["buffers"])
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
    max_drop, cost_target : float or None
    min_accuracy : float or None
        The budget: the lowest validation accuracy allowed (``max_drop`` mode).
    stage_runs : list of int
        How many times each stage was run over the split by the search.
    work : float
        Work the search spent, in passes of the given SNN over the split.
    work_budget : float or None
        The ``work_budget`` it ran under.
    seconds : float
        Wall-clock time of the whole optimization.
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

    def to_dict(self) -> dict:
        return {
            "format": RESULT_FORMAT,
            "version": RESULT_VERSION,
            "schedule": self.schedule.to_dict(),
            "cost": {"name": self.cost_name, "unit": self.cost_unit},
            "base_T": self.base_T,
            "max_drop": self.max_drop,
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
            raise ValueError(f"{path}: not valid JSON ({err})") from None
        if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT:
            raise ValueError(f"{path}: not an ldsnn optimization result "
                             f"(expected format {RESULT_FORMAT!r})")
        try:
            points = {key: Point.from_dict(data[key]) for key in ("chosen", "given",
                                                                   "best_uniform")}
            return cls(
                schedule=Schedule.from_dict(data["schedule"]), **points,
                front=[Point.from_dict(p) for p in data["front"]],
                visited=[Point.from_dict(p) for p in data["visited"]],
                history=data["history"], cost_name=data["cost"]["name"],
                cost_unit=data["cost"]["unit"], base_T=int(data["base_T"]),
                max_drop=data["max_drop"], cost_target=data["cost_target"],
                min_accuracy=data["min_accuracy"], stage_runs=data["stage_runs"],
                work=float(data.get("work", 0.0)), work_budget=data.get("work_budget"),
                seconds=float(data["seconds"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: malformed optimization result ({err})") from None


def pareto_front(points: list[Point]) -> list[Point]:
    """The points no other point beats on both cost (lower) and accuracy (higher), by cost.

    Of several points with equal cost and accuracy the first one is kept.
    """
    front: list[Point] = []
    for point in sorted(points, key=lambda p: (p.cost, -p.accuracy)):
        if not front or point.accuracy > front[-1].accuracy:
            front.append(point)
    return front


def _down_moves(T: int) -> list[int]:
    return sorted({t for t in (T - 1, round(0.75 * T), T // 2) if 1 <= t < T}, reverse=True)


def stage_work(net: Network) -> np.ndarray:
    """Work of one timestep of each stage over one sample: its synapses plus its neurons.

    The optimizer's work budget charges an evaluation ``sum(stage_work[l] * T_l)`` over the
    stages it re-runs.
    """
    return np.array([float(f.sum()) + n for f, n in zip(net.fan_outs, net.num_neurons,
                                                        strict=True)])


class _Search:
    """The state of one optimization: the cache, the cost, the work spent and every point
    visited.

    ``budget`` is in units of ``pass_work`` (the work of one pass of the given SNN); ``None``
    is unbounded. Once an evaluation would exceed it, :meth:`point` returns ``None`` for every
    schedule not evaluated before and ``exhausted`` is set.
    """

    def __init__(self, net: Network, cache: PrefixCache, cost: Cost, bar,
                 budget: float | None, pass_work: float):
        self.net, self.cache, self.cost, self.bar = net, cache, cost, bar
        self.visited: list[Point] = []
        self._seen: dict[tuple[int, ...], Point] = {}
        self.budget, self.pass_work = budget, pass_work
        self._weights = stage_work(net)
        self.work = 0.0
        self.exhausted = False

    def charge(self, steps: tuple[int, ...]) -> float:
        """Work (in passes of the given SNN) that evaluating ``steps`` would take now."""
        first = self.cache.first_stage_to_run(steps)
        return float(self._weights[first:] @ np.asarray(steps[first:], dtype=np.float64)
                     ) / self.pass_work

    def point(self, steps: tuple[int, ...]) -> Point | None:
        if steps not in self._seen:
            if self.exhausted:
                return None
            charge = self.charge(steps)
            if self.budget is not None and self.work + charge > self.budget:
                self.exhausted = True
                return None
            self.work += charge
            ev: Evaluation = self.cache.evaluate(steps)
            p = Point(ev.schedule, ev.accuracy, self.cost(ev.schedule, ev.counters),
                      ev.counters, "ld")
            self._seen[steps] = p
            self.visited.append(p)
            self.bar.update(1)
        return self._seen[steps]

    def add(self, point: Point) -> None:
        self.visited.append(point)


def _replace(steps: tuple[int, ...], stage: int, T: int) -> tuple[int, ...]:
    return steps[:stage] + (T,) + steps[stage + 1:]


def _up_moves(T: int, max_T: int) -> list[int]:
    return sorted({t for t in (T + 1, T + 2, math.ceil(1.25 * T)) if T < t <= max_T})


def _neighbours(steps: tuple[int, ...], max_T: int, kind: str
                ) -> list[tuple[str, tuple[int, ...]]]:
    """Moves from ``steps`` as ``(label, new timesteps)``, in a fixed order.

    ``kind`` is ``"down"`` (one stage lower), ``"up"`` (one stage higher), ``"pair"`` (one
    stage lower, another higher) or ``"all-up"`` (every stage one higher, up to ``max_T``).
    """
    moves = []
    if kind == "all-up" and min(steps) < max_T:
        raised = tuple(min(T + 1, max_T) for T in steps)
        return [(f"all stages +1: {list(raised)}", raised)]
    for k, T in enumerate(steps):
        if kind == "all-up":
            break
        if kind == "up":
            moves += [(f"stage {k}: {T}->{t}", _replace(steps, k, t)) for t in _up_moves(T, max_T)]
            continue
        for lower in _down_moves(T):
            down = _replace(steps, k, lower)
            if kind == "down":
                moves.append((f"stage {k}: {T}->{lower}", down))
                continue
            for j, Tj in enumerate(steps):
                if j == k:
                    continue
                for higher in _up_moves(Tj, max_T):
                    moves.append((f"stage {k}: {T}->{lower}, stage {j}: {Tj}->{higher}",
                                  _replace(down, j, higher)))
    return moves


def _repair_step(search: _Search, current: Point, feasible, max_T: int):
    """From a point out of budget: the cheapest move into budget, else the move that gains
    the most accuracy (ties: cheaper). ``None`` when no move gains accuracy."""
    moves = [move for kind in ("down", "up", "pair", "all-up")
             for move in _neighbours(current.schedule.timesteps, max_T, kind)]
    points = [(label, p) for label, p in _evaluate_moves(search, moves) if p is not None]
    inside = [(label, p) for label, p in points if feasible(p)]
    if inside:
        return min(inside, key=lambda c: c[1].cost)
    gains = [(label, p) for label, p in points if p.accuracy > current.accuracy]
    return min(gains, key=lambda c: (-c[1].accuracy, c[1].cost)) if gains else None


def _evaluate_moves(search: _Search, moves: list[tuple[str, tuple[int, ...]]]
                    ) -> list[tuple[str, Point | None]]:
    """The points of ``moves``, in their order; evaluated cheapest first, so that a work
    budget running out mid-round leaves the expensive ones (``None``) unevaluated."""
    order = sorted(range(len(moves)), key=lambda i: search.charge(moves[i][1]))
    points: list[Point | None] = [None] * len(moves)
    for i in order:
        points[i] = search.point(moves[i][1])
    return [(label, p) for (label, _), p in zip(moves, points, strict=True)]


def _descend(search: _Search, start: tuple[int, ...], feasible, better, score, max_T: int,
             history: list[dict]) -> Point | None:
    """Greedy descent with exchange moves from ``start``; returns the final point (``None``
    if the work budget ran out before ``start`` was evaluated).

    A start out of budget is first repaired (see :func:`_repair_step`).
    """
    current = search.point(start)
    while current is not None and not search.exhausted:
        chosen = None
        if not feasible(current):
            chosen = _repair_step(search, current, feasible, max_T)
        else:
            for kind in ("down", "pair"):
                candidates = []
                moves = _neighbours(current.schedule.timesteps, max_T, kind)
                for label, p in _evaluate_moves(search, moves):
                    if p is not None and feasible(p) and better(p, current):
                        candidates.append((score(p, current), label, p))
                if candidates:
                    # the best score; ties: the earlier move in the fixed order (stable sort)
                    candidates.sort(key=lambda c: c[0], reverse=True)
                    chosen = candidates[0][1:]
                    break
        if chosen is None:
            return current
        label, current = chosen
        history.append({"move": label, "timesteps": list(current.schedule.timesteps),
                        "accuracy": current.accuracy, "cost": current.cost,
                        "evaluations": len(search.cache)})
    return current


def _uniform_points(net: Network, x, y, base_T: int, cost: Cost, device: str, precision: str,
                    batch_size: int) -> list[Point]:
    """The given SNN at every T in base_T..1 (replay buffers), from one run at base_T."""
    sweep = uniform_sweep(net, x, y, base_T, device=device, batch_size=batch_size,
                          precision=precision)
    return [Point(p.schedule, p.accuracy, cost(p.schedule, p.counters), p.counters,
                  "given" if p.schedule.timesteps[0] == base_T else "uniform")
            for p in reversed(sweep)]


def _start(search: _Search, best_uniform: Point | None, base_T: int, feasible
           ) -> tuple[int, ...]:
    """Where the descent starts: the LD form (``rate`` buffers) of the smallest uniform T from
    the best uniform baseline's up to ``base_T`` that is in budget, else ``base_T``."""
    stages = search.net.num_stages
    if best_uniform is None:
        return (base_T,) * stages
    for T in range(best_uniform.schedule.timesteps[0], base_T):
        p = search.point((T,) * stages)
        if p is not None and feasible(p):
            return (T,) * stages
    return (base_T,) * stages


def optimize(
    net: Network,
    *,
    base_T: int,
    val: tuple,
    max_drop: float | None = 0.01,
    cost: str | Cost = "synaptic_updates",
    cost_target: float | None = None,
    max_T: int | None = None,
    restarts: int = 8,
    work_budget: float | None = DEFAULT_WORK_BUDGET,
    seed: int = 0,
    profile: LatencyProfile | None = None,
    device: str = "cpu",
    precision: str = "float",
    batch_size: int | None = None,
    progress: bool | None = None,
) -> OptimizeResult:
    """Find per-stage timesteps of ``net`` that minimize ``cost`` within an accuracy budget.

    Parameters
    ----------
    net : Network
        The given SNN.
    base_T : int
        Its timesteps: the uniform schedule at ``base_T`` is the given SNN.
    val : tuple of (x, y)
        The validation split the search sees: ``(N, *net.input_shape)`` inputs and ``(N,)``
        integer labels. Never pass the test split here.
    max_drop : float or None
        The budget: at most this much validation accuracy (a fraction, 0.01 = one point) below
        the given SNN. ``None`` selects the cost-target mode.
    cost : str or Cost
        ``"synaptic_updates"`` (default), ``"neurons_evaluated"``, ``"energy"``,
        ``"latency"`` (needs ``profile``) or a :class:`ldsnn_lava.costs.Cost`.
    cost_target : float, optional
        With ``max_drop=None``: the most accurate schedule whose cost is at most this.
    max_T : int, optional
        Upper limit of any stage's timesteps in exchange moves; default ``2 * base_T``.
    restarts : int
        Random perturb-and-descend rounds after the first descent (0: none).
    work_budget : float or None
        Most work the search may spend, in passes of the given SNN over the split (each
        evaluation is charged the stages it re-runs, see the module docstring); when it runs
        out the search stops and returns the best point visited. ``None``: unbounded.
    seed : int
        Seed of the restarts' perturbations; the search is deterministic for a seed.
    profile : LatencyProfile, optional
        For ``cost="latency"``.
    device : str
        ``"cpu"`` or ``"cuda"``.
    precision : {"float", "fixed"}
        Engine precision (``fixed``: the Loihi integer definition, for quantized networks).
    batch_size : int, optional
        Samples per engine batch; default bounded by memory.
    progress : bool, optional
        Progress bar over evaluations; default: when writing to a terminal.

    Returns
    -------
    OptimizeResult

    Notes
    -----
    Quality: the search is a greedy local search, not exhaustive. ``tests/test_optimize.py``
    compares it with every schedule of the grid T_l in 1..8 of a 3-stage digits MLP
    (base_T = max_T = 8, budgets of 1 and 3 points): with the default ``restarts=8`` it
    reaches the exhaustive optimum; without restarts (``restarts=0``) it ended up to 53 %
    above it (synaptic updates, 3-point budget: the descent from the best uniform schedule
    found no move in budget, so the result was that uniform schedule). On larger T the
    accuracy landscape is smoother, but no bound is proven there. A ``work_budget`` that runs
    out stops the search early; the result is then still in budget and never costlier than
    the best uniform baseline.
    """
    start_time = time.perf_counter()
    if isinstance(base_T, bool) or not isinstance(base_T, int) or base_T < 1:
        raise ValueError(f"base_T must be an int >= 1, got {base_T!r}")
    if max_drop is None:
        if cost_target is None or not math.isfinite(cost_target) or cost_target <= 0:
            raise ValueError("with max_drop=None give a cost_target > 0")
    else:
        if cost_target is not None:
            raise ValueError("give either max_drop or cost_target (with max_drop=None), not both")
        if not math.isfinite(max_drop) or not 0 <= max_drop <= 1:
            raise ValueError(f"max_drop must be a fraction in [0, 1] (0.01 = one point), "
                             f"got {max_drop!r}")
    max_T = 2 * base_T if max_T is None else max_T
    if max_T < base_T:
        raise ValueError(f"max_T ({max_T}) must be >= base_T ({base_T})")
    if restarts < 0:
        raise ValueError(f"restarts must be >= 0, got {restarts}")
    if work_budget is not None and not work_budget > 0:
        raise ValueError(f"work_budget must be > 0 or None, got {work_budget!r}")
    if not isinstance(val, tuple) or len(val) != 2:
        raise ValueError("val must be a tuple (x, y)")
    cost_fn = get_cost(cost, profile=profile)
    x, y = val
    batch_size = batch_size or auto_batch_size(net, Schedule.uniform(net, max_T))
    cache = PrefixCache(net, x, y, device=device, precision=precision, batch_size=batch_size)
    uniform = _uniform_points(net, x, cache.y, base_T, cost_fn, device, precision, batch_size)
    given = uniform[0]

    if max_drop is not None:
        min_accuracy = given.accuracy - max_drop - 1e-12

        def feasible(p: Point) -> bool:
            return p.accuracy >= min_accuracy

        def better(p: Point, q: Point) -> bool:
            return p.cost < q.cost

        def score(p: Point, q: Point) -> float:
            return (q.cost - p.cost) / (max(q.accuracy - p.accuracy, 0.0) + 1.0 / len(cache.y))

        def rank(p: Point):  # lower is better
            return (p.cost, -p.accuracy)
    else:
        min_accuracy = None

        def feasible(p: Point) -> bool:
            return True

        def better(p: Point, q: Point) -> bool:  # toward the target, then more accurate
            if q.cost > cost_target:
                return p.cost < q.cost
            return p.cost <= cost_target and p.accuracy > q.accuracy

        def score(p: Point, q: Point) -> float:
            if q.cost > cost_target:
                return (q.cost - p.cost) / (max(q.accuracy - p.accuracy, 0.0)
                                            + 1.0 / len(cache.y))
            return p.accuracy - q.accuracy

        def rank(p: Point):
            return (p.cost > cost_target, -p.accuracy, p.cost)

    in_budget = [p for p in uniform if feasible(p)
                 and (max_drop is not None or p.cost <= cost_target)]
    best_uniform = min(in_budget, key=rank) if in_budget else None

    show = progress if progress is not None else None
    with tqdm(desc="optimize", unit="schedule", leave=False,
              disable=None if show is None else not show) as bar:
        pass_work = float(stage_work(net).sum() * base_T)
        search = _Search(net, cache, cost_fn, bar, work_budget, pass_work)
        for p in uniform:
            search.add(p)
        history: list[dict] = []
        best = _descend(search, _start(search, best_uniform, base_T, feasible), feasible,
                        better, score, max_T, history)
        rng = np.random.default_rng(seed)
        for _ in range(restarts):
            if best is None or search.exhausted:
                break
            steps = np.array(best.schedule.timesteps)
            stages = rng.choice(net.num_stages, size=min(2, net.num_stages), replace=False)
            for k in stages:
                steps[k] = int(np.clip(steps[k] + rng.choice([-2, -1, 1, 2]), 1, max_T))
            end = _descend(search, tuple(int(t) for t in steps), feasible, better, score,
                           max_T, history)
            if end is not None and feasible(end) and rank(end) < rank(best):
                best = end

    candidates = [p for p in search.visited if feasible(p)]
    if max_drop is None:
        candidates = [p for p in candidates if p.cost <= cost_target]
        if not candidates:
            cheapest = min(p.cost for p in search.visited)
            raise ValueError(f"no schedule visited meets cost target {cost_target:g} "
                             f"{cost_fn.unit}; the cheapest visited costs {cheapest:g}")
    chosen = min(candidates, key=rank)
    return OptimizeResult(
        schedule=chosen.schedule, chosen=chosen, given=given,
        best_uniform=best_uniform if best_uniform is not None else min(uniform, key=rank),
        front=pareto_front(search.visited), visited=search.visited, history=history,
        cost_name=cost_fn.name, cost_unit=cost_fn.unit, base_T=base_T, max_drop=max_drop,
        cost_target=cost_target, min_accuracy=min_accuracy,
        stage_runs=[int(v) for v in cache.stage_runs], work=search.work,
        work_budget=work_budget, seconds=time.perf_counter() - start_time,
    )

