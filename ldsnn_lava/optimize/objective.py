"""What the search optimizes: an accuracy budget or a cost target, as small classes.

An :class:`Objective` answers the four questions the search asks of two evaluated points p
(a candidate) and q (the current point): is p allowed (:meth:`feasible`), is it an improvement
(:meth:`better`), how good a move is it (:meth:`score`, higher first) and which of all points is
best (:meth:`rank`, lower first).
"""

from __future__ import annotations

from dataclasses import dataclass

from ldsnn_lava.optimize.result import Point


class Objective:
    """Base class; see the module docstring."""

    def feasible(self, p: Point) -> bool:
        raise NotImplementedError

    def better(self, p: Point, q: Point) -> bool:
        raise NotImplementedError

    def score(self, p: Point, q: Point) -> float:
        raise NotImplementedError

    def rank(self, p: Point) -> tuple:
        raise NotImplementedError

    def acceptable(self, p: Point) -> bool:
        """Whether ``p`` may be the search's answer (feasible, and within any target)."""
        return self.feasible(p)


def _saving_per_point(p: Point, q: Point, resolution: float) -> float:
    """Cost saved per unit of accuracy lost from q to p (accuracy losses below one sample
    count as one sample)."""
    return (q.cost - p.cost) / (max(q.accuracy - p.accuracy, 0.0) + resolution)


@dataclass(frozen=True)
class AccuracyBudget(Objective):
    """Minimize cost with validation accuracy at least ``min_accuracy``.

    Parameters
    ----------
    min_accuracy : float
        The lowest accuracy allowed (the given SNN's, less the budget).
    resolution : float
        One sample's worth of accuracy (1 / N of the split).
    """

    min_accuracy: float
    resolution: float

    def feasible(self, p: Point) -> bool:
        return p.accuracy >= self.min_accuracy

    def better(self, p: Point, q: Point) -> bool:
        return p.cost < q.cost

    def score(self, p: Point, q: Point) -> float:
        return _saving_per_point(p, q, self.resolution)

    def rank(self, p: Point) -> tuple:
        return (p.cost, -p.accuracy)


@dataclass(frozen=True)
class CostTarget(Objective):
    """Maximize accuracy among schedules whose cost is at most ``target``.

    Every point is feasible; above the target the search moves toward it (cheaper first), at
    or below it toward higher accuracy.
    """

    target: float
    resolution: float

    def feasible(self, p: Point) -> bool:
        return True

    def better(self, p: Point, q: Point) -> bool:
        if q.cost > self.target:
            return p.cost < q.cost
        return p.cost <= self.target and p.accuracy > q.accuracy

    def score(self, p: Point, q: Point) -> float:
        if q.cost > self.target:
            return _saving_per_point(p, q, self.resolution)
        return p.accuracy - q.accuracy

    def rank(self, p: Point) -> tuple:
        return (p.cost > self.target, -p.accuracy, p.cost)

    def acceptable(self, p: Point) -> bool:
        return p.cost <= self.target
