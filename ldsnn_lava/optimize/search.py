"""The search (``docs/design.md``, methodology): find the per-stage timesteps of a given SNN
that minimize a cost within an accuracy budget, on a validation split.

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
   With more than one allowed buffer kind (``buffer_kinds``, e.g. ``rate`` and ``graded``),
   a round also tries switching one gap's buffer, alone or with a lower T of the stage after
   it (:func:`~ldsnn_lava.optimize.moves.buffer_moves`); with ``rate`` alone (the default)
   the search is the one above, move for move.
4. **Restarts** (``restarts`` > 0): the best point is perturbed at random (seeded) and the
   descent re-run from there; the best point over all runs is kept.
5. **Work budget** (``work_budget``): every evaluation is charged the work of the stages it
   re-runs, in passes of the given SNN over the split (stage l weighs
   ``T_l * (synapses_l + neurons_l)``); once the next evaluation would exceed the budget, the
   search stops where it is (after taking the best move among those already evaluated).
   Within a round, the moves are evaluated cheapest first. The charge is computed from the
   network, not timed, so the search stays deterministic.

Each candidate shares all stages before the one it changes with a point already evaluated, so
:class:`ldsnn_lava.optimize.cache.PrefixCache` re-runs stages k..L only. The chosen schedule is
the cheapest within-budget point visited, uniform ones included, so the LD result never costs
more than the best uniform baseline; since the descent starts there, it only has to find the
savings below it.

How good it is: on the tiny networks of ``tests/test_optimize.py`` the search is compared with
an exhaustive search of every schedule in a small grid; the docstring of
:func:`ldsnn_lava.optimize.optimize` states the measured gap.

With ``max_drop=None`` and a ``cost_target``, the search instead maximizes validation accuracy
among the schedules whose cost is at most the target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ldsnn_lava.network import Network
from ldsnn_lava.optimize.costs import Cost
from ldsnn_lava.optimize.moves import MOVE_KINDS, Buffers, Steps, buffer_moves, neighbours
from ldsnn_lava.optimize.objective import Objective
from ldsnn_lava.optimize.result import Point
from ldsnn_lava.optimize.split import ShardedSplit
from ldsnn_lava.options import BufferKind
from ldsnn_lava.schedule import Schedule


def stage_work(net: Network) -> np.ndarray:
    """Work of one timestep of each stage over one sample: its synapses plus its neurons.

    The work budget charges an evaluation ``sum(stage_work[l] * T_l)`` over the stages it
    re-runs.
    """
    return np.array([float(f.sum()) + n for f, n in zip(net.fan_outs, net.num_neurons,
                                                        strict=True)])


class Search:
    """The state of one optimization: the cache, the cost, the work spent and every point
    visited.

    Parameters
    ----------
    cache : ShardedSplit
        Evaluates schedules on the validation split (the split the optimizer's executor placed
        on the workers).
    cost : Cost
    objective : Objective
    budget : float or None
        Work budget in passes of the given SNN at ``base_T`` over the split; ``None``:
        unbounded. Once an evaluation would exceed it, :meth:`point` returns ``None`` for every
        schedule not evaluated before and :attr:`exhausted` is set.
    base_T : int
    on_points : callable, optional
        Called with a number of schedules newly evaluated, as they are (progress reporting;
        within a round where the executor reports it, else when the round ends).
    buffer_kinds : sequence of BufferKind
        The buffer kinds a gap may have (``rate``, ``graded``); the first is every gap's at the
        start. More than one adds the buffer moves.
    """

    def __init__(self, cache: ShardedSplit, cost: Cost, objective: Objective,
                 budget: float | None, base_T: int, on_points=None,
                 buffer_kinds: Sequence[BufferKind] = (BufferKind.RATE,)):
        self.cache, self.cost, self.objective = cache, cost, objective
        self.buffer_kinds = tuple(buffer_kinds)
        self.visited: list[Point] = []
        self._seen: dict[tuple[Steps, Buffers], Point] = {}
        self.stage_weights = stage_work(cache.net)
        self.budget, self.pass_work = budget, float(self.stage_weights.sum() * base_T)
        self.work = 0.0
        self.exhausted = False
        self._on_points = on_points

    def buffers(self, steps: Steps, buffers: Buffers | None = None) -> Buffers:
        """``buffers``, or the start's: every gap the first of :attr:`buffer_kinds`."""
        return (self.buffer_kinds[0],) * (len(steps) - 1) if buffers is None else buffers

    def charge(self, steps: Steps, buffers: Buffers | None = None) -> float:
        """Work (in passes of the given SNN) that evaluating ``steps`` would take now."""
        return self._charge(steps, self.cache.first_stage_to_run(steps,
                                                                 self.buffers(steps, buffers)))

    def _charge(self, steps: Steps, first: int) -> float:
        """Work of running stages ``first..L`` of ``steps``, in passes of the given SNN."""
        return float(self.stage_weights[first:] @ np.asarray(steps[first:], dtype=np.float64)
                     ) / self.pass_work

    def point(self, steps: Steps, buffers: Buffers | None = None) -> Point | None:
        """The point of the LD schedule ``steps`` with ``buffers`` (default: :meth:`buffers`),
        evaluated once, then remembered; ``None`` once the work budget is spent."""
        return self.points([(steps, buffers)])[0]

    def points(self, schedules: list[tuple[Steps, Buffers | None]]) -> list[Point | None]:
        """:meth:`point` of each ``(timesteps, buffers)``, evaluated in this order in one call
        to the split, which lets the workers share stage runs between them; the work charged
        and the points are those of evaluating them one by one."""
        schedules = [(steps, self.buffers(steps, buffers)) for steps, buffers in schedules]
        new = [s for s in schedules if s not in self._seen]
        if new and not self.exhausted:
            reported = 0  # schedules the executor reported done during the call

            def one_done() -> None:
                nonlocal reported
                reported += 1
                self._report(1)

            added = 0
            for ev in self.cache.evaluate_many(new, admit=self._admit, progress=one_done):
                key = ev and (ev.schedule.timesteps, ev.schedule.buffers)
                if ev is None or key in self._seen:  # left out, or a repeat
                    continue
                p = Point(ev.schedule, ev.accuracy, self.cost(ev.schedule, ev.counters),
                          ev.counters, "ld")
                self._seen[key] = p
                self.visited.append(p)
                added += 1
            self._report(added - reported)
        return [self._seen.get(s) for s in schedules]

    def _report(self, done: int) -> None:
        if done > 0 and self._on_points is not None:
            self._on_points(done)

    def _admit(self, schedule: Schedule, first: int) -> bool:
        """Charge an evaluation whose first stage run is ``first``, unless it would exceed the
        work budget (then the budget is exhausted)."""
        charge = self._charge(schedule.timesteps, first)
        if self.budget is not None and self.work + charge > self.budget:
            self.exhausted = True
            return False
        self.work += charge
        return True

    def add(self, point: Point) -> None:
        """Record a point evaluated elsewhere (the uniform baselines)."""
        self.visited.append(point)

    def evaluate_moves(self, moves: list[tuple]) -> list[tuple[str, Point | None]]:
        """The points of ``moves`` (``(label, timesteps)`` or ``(label, timesteps, buffers)``),
        in their order; evaluated cheapest first, so that a work budget running out mid-round
        leaves the expensive ones (``None``) unevaluated."""
        order = sorted(range(len(moves)), key=lambda i: self.charge(*moves[i][1:]))
        points: list[Point | None] = [None] * len(moves)
        schedules = [(moves[i][1], moves[i][2] if len(moves[i]) > 2 else None) for i in order]
        for i, p in zip(order, self.points(schedules), strict=True):
            points[i] = p
        return [(move[0], p) for move, p in zip(moves, points, strict=True)]

    def moves(self, current: Point, max_T: int, kind: str) -> list[tuple]:
        """The moves of ``kind`` from ``current`` (its buffers kept), and for ``"down"`` the
        buffer moves too when more than one buffer kind is allowed."""
        steps, buffers = current.schedule.timesteps, current.schedule.buffers
        moves = [(label, new, buffers) for label, new in neighbours(steps, max_T, kind)]
        if kind == "down" and len(self.buffer_kinds) > 1:
            moves += buffer_moves(steps, buffers, self.buffer_kinds)
        return moves


def _repair_step(search: Search, current: Point, max_T: int) -> tuple[str, Point] | None:
    """From a point out of budget: the cheapest move into budget, else the move that gains
    the most accuracy (ties: cheaper). ``None`` when no move gains accuracy."""
    moves = [move for kind in MOVE_KINDS for move in search.moves(current, max_T, kind)]
    points = [(label, p) for label, p in search.evaluate_moves(moves) if p is not None]
    inside = [(label, p) for label, p in points if search.objective.feasible(p)]
    if inside:
        return min(inside, key=lambda c: c[1].cost)
    gains = [(label, p) for label, p in points if p.accuracy > current.accuracy]
    return min(gains, key=lambda c: (-c[1].accuracy, c[1].cost)) if gains else None


def _improving_step(search: Search, current: Point, max_T: int) -> tuple[str, Point] | None:
    """The best feasible improving move (single stage down first, then pairs), or ``None``."""
    objective = search.objective
    for kind in ("down", "pair"):
        moves = search.moves(current, max_T, kind)
        candidates = [(objective.score(p, current), label, p)
                      for label, p in search.evaluate_moves(moves)
                      if p is not None and objective.feasible(p) and objective.better(p, current)]
        if candidates:
            # the best score; ties: the earlier move in the fixed order (stable sort)
            candidates.sort(key=lambda c: c[0], reverse=True)
            return candidates[0][1:]
    return None


def descend(search: Search, start: Steps, max_T: int, history: list[dict],
            buffers: Buffers | None = None) -> Point | None:
    """Greedy descent with exchange moves from ``start`` (with ``buffers``, default
    :meth:`Search.buffers`); returns the final point (``None`` if the work budget ran out
    before ``start`` was evaluated).

    A start out of budget is first repaired (see :func:`_repair_step`). Each accepted move is
    appended to ``history``.
    """
    current = search.point(start, buffers)
    while current is not None and not search.exhausted:
        if search.objective.feasible(current):
            step = _improving_step(search, current, max_T)
        else:
            step = _repair_step(search, current, max_T)
        if step is None:
            return current
        label, current = step
        history.append({"move": label, "timesteps": list(current.schedule.timesteps),
                        "accuracy": current.accuracy, "cost": current.cost,
                        "evaluations": len(search.cache)})
        if len(search.buffer_kinds) > 1:
            history[-1]["buffers"] = [str(b) for b in current.schedule.buffers]
    return current


def _raise_others(search: Search, point: Point, stage: int, max_T: int, limit: int
                  ) -> Point | None:
    """Bring an out-of-budget ``point`` back into budget by raising stages other than
    ``stage`` (its buffers kept; at most ``limit`` moves): each move takes the cheapest
    in-budget raise, else the raise that gains the most accuracy per unit of cost added.
    ``None`` if it fails."""
    for _ in range(limit):
        steps, buffers = point.schedule.timesteps, point.schedule.buffers
        moves = [(label, new, buffers) for label, new in neighbours(steps, max_T, "up")
                 if new[stage] == steps[stage]]
        points = [p for _, p in search.evaluate_moves(moves) if p is not None]
        inside = [p for p in points if search.objective.feasible(p)]
        if inside:
            return min(inside, key=search.objective.rank)
        gains = [p for p in points if p.accuracy > point.accuracy]
        if not gains:
            return None
        point = max(gains, key=lambda p: (p.accuracy - point.accuracy)
                    / max(p.cost - point.cost, 1e-12))
    return None


def _line(search: Search, current: Point, k: int, max_T: int) -> Point | None:
    """The cheapest in-budget point that lowers ``current``'s cost with T_k lowered one step
    at a time (each point out of budget repaired by :func:`_raise_others`), or ``None``."""
    steps, buffers = current.schedule.timesteps, current.schedule.buffers
    best = None
    for t in range(steps[k] - 1, 0, -1):
        p = search.point(steps[:k] + (t,) + steps[k + 1:], buffers)
        if p is not None and not search.objective.feasible(p):
            p = _raise_others(search, p, k, max_T, 2 * len(steps))
        if p is None:
            break  # not repairable (or the work budget is spent): lower T_k fails too
        if search.objective.better(p, current) and (
                best is None or search.objective.rank(p) < search.objective.rank(best)):
            best = p
    return best


def line_search(search: Search, start: Point, max_T: int, history: list[dict]) -> Point:
    """Polish a feasible point by per-stage line searches with repair.

    Stages are visited by decreasing share of the cost (``stage_work[l] * T_l``, the stage that
    costs most first). For stage k, T_k is lowered one step at a time (``T_k - 1`` down to 1);
    a lowered point out of budget is repaired by raising the other stages
    (:func:`_raise_others`, at most ``2 L`` raises), and the line stops at the first T_k that
    cannot be repaired. The cheapest in-budget point found that lowers the cost is taken. When a
    whole sweep over the stages changes nothing, :func:`descend` runs once more from the point;
    the search stops when neither improves (or the work budget is spent).
    """
    current = start
    while not search.exhausted:
        improved = False
        order = sorted(range(len(current.schedule.timesteps)),
                       key=lambda k: -search.stage_weights[k] * current.schedule.timesteps[k])
        for k in order:
            before = current.schedule.timesteps[k]
            best = _line(search, current, k, max_T)
            if best is not None:
                current, improved = best, True
                history.append({"move": f"stage {k}: {before}->{best.schedule.timesteps[k]}"
                                        f" (line, repaired)",
                                "timesteps": list(current.schedule.timesteps),
                                "accuracy": current.accuracy, "cost": current.cost,
                                "evaluations": len(search.cache)})
        if not improved:
            end = descend(search, current.schedule.timesteps, max_T, history,
                          current.schedule.buffers)
            if end is None or not search.objective.better(end, current):
                return current
            current = end
    return current


def start_point(search: Search, best_uniform: Point | None, base_T: int) -> Steps:
    """Where the descent starts: the LD form (``rate`` buffers) of the smallest uniform T from
    the best uniform baseline's up to ``base_T`` that is in budget, else ``base_T``."""
    stages = search.cache.net.num_stages
    if best_uniform is None:
        return (base_T,) * stages
    for T in range(best_uniform.schedule.timesteps[0], base_T):
        p = search.point((T,) * stages)
        if p is not None and search.objective.feasible(p):
            return (T,) * stages
    return (base_T,) * stages


def restart(search: Search, best: Point, rng: np.random.Generator, max_T: int,
            history: list[dict]) -> Point | None:
    """Perturb ``best`` at random (two stages by -2..+2 steps; its buffers kept) and descend
    from there."""
    steps = np.array(best.schedule.timesteps)
    stages = rng.choice(len(steps), size=min(2, len(steps)), replace=False)
    for k in stages:
        steps[k] = int(np.clip(steps[k] + rng.choice([-2, -1, 1, 2]), 1, max_T))
    return descend(search, tuple(int(t) for t in steps), max_T, history,
                   best.schedule.buffers)
