"""``optimize()``: the methodology's entry point (``docs/design.md``, methodology).

It checks the arguments, places the validation split on the executor's workers (one shard in
this process by default), evaluates the uniform baselines in one sweep, builds the objective and
runs the search of :mod:`ldsnn_lava.optimize.search` (descent, then seeded restarts) under the
work budget, and returns an :class:`~ldsnn_lava.optimize.result.OptimizeResult`.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ldsnn_lava import guards, validate
from ldsnn_lava.engine import evaluate
from ldsnn_lava.engine.driver import StageEngine, value_bytes
from ldsnn_lava.errors import InvalidNetwork, InvalidOption, LikelyPreprocessingMismatch
from ldsnn_lava.network import Network
from ldsnn_lava.optimize.calibrate import Calibrator
from ldsnn_lava.optimize.costs import Cost, LatencyProfile, get_cost
from ldsnn_lava.optimize.executor import Executor, InProcessExecutor
from ldsnn_lava.optimize.objective import AccuracyBudget, CostTarget, Objective
from ldsnn_lava.optimize.result import OptimizeResult, Point, pareto_front
from ldsnn_lava.optimize.search import Search, descend, line_search, restart, start_point
from ldsnn_lava.optimize.split import ShardedSplit
from ldsnn_lava.options import BufferKind, Precision, parse_option
from ldsnn_lava.progress import Progress
from ldsnn_lava.schedule import MAX_TIMESTEPS, Schedule

DEFAULT_WORK_BUDGET = 100.0
STRATEGIES = ("descent", "coordinate")
MAX_KEEP_BYTES = 4e9


def keep_bytes() -> float:
    """Bytes of spike counts the search's workers keep together: a third of the memory limit
    (:func:`ldsnn_lava.guards.limits`), at most :data:`MAX_KEEP_BYTES`. The work budget is
    charged against a 512 MB cache whatever this is (the search's path and result do not
    depend on the machine); keeping more only re-runs fewer stages."""
    return min(MAX_KEEP_BYTES, guards.limits().memory / 3)


def optimize(
    net: Network,
    *,
    base_T: int,
    val: tuple,
    max_drop: float | None = 1.0,
    cost: str | Cost = "synaptic_updates",
    cost_target: float | None = None,
    max_T: int | None = None,
    restarts: int = 8,
    work_budget: float | None = DEFAULT_WORK_BUDGET,
    seed: int = 0,
    profile: LatencyProfile | None = None,
    device: str = "cpu",
    precision: Precision | str = Precision.FLOAT,
    batch_size: int | None = None,
    progress: bool | None = None,
    strategy: str = "descent",
    calibration_x=None,
    reference_T: int | None = None,
    buffer_kinds: Sequence[BufferKind | str] = (BufferKind.RATE,),
    executor: Executor | None = None,
) -> OptimizeResult:
    """Find per-stage timesteps of ``net`` that minimize ``cost`` within an accuracy budget.

    Parameters
    ----------
    net : Network
        The given SNN.
    base_T : int
        Its timesteps: the uniform schedule at ``base_T`` is the given SNN. For sequence input
        it is also the chunk (input steps per chunk) every schedule of the search uses: the
        given SNN runs base_T steps per base_T input steps, its own resolution.
    val : tuple of (x, y)
        The validation split the search sees: ``(N, *net.input_shape)`` inputs (sequences:
        ``(N, S, *net.input_shape)``) and ``(N,)`` integer labels. Never pass the test split.
    max_drop : float or None
        The budget, in **points** of top-1 accuracy (percentage points, 0..100; the unit of the
        command line's ``--max-drop``): at most this much validation accuracy below the given
        SNN, so ``1.0`` allows one point (e.g. 95.0 % -> 94.0 %). ``None`` selects the
        cost-target mode.
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
    precision : Precision or str
        Engine precision (``fixed``: the Loihi integer definition, for quantized networks).
    batch_size : int, optional
        Samples per engine batch; default: the engine's (sized for the caches).
    progress : bool, optional
        Report progress over evaluations (:class:`ldsnn_lava.progress.Progress`): ``True`` a
        bar on a terminal, else a line every 30 s; default: a bar on a terminal only.
    strategy : {"descent", "coordinate"}
        ``"descent"``: greedy descent with exchange moves, then restarts. ``"coordinate"``:
        the same, and every descent's end is polished by per-stage line searches with repair
        (:func:`ldsnn_lava.optimize.search.line_search`; accuracy-budget mode only). Both are
        deterministic for a seed and run under the same work budget.
    calibration_x : array-like, optional
        Training-split inputs (never validation or test): when given, every schedule the
        search evaluates, the uniform baselines included, runs the network with per-stage
        threshold factors fitted on these inputs for its timesteps
        (:mod:`ldsnn_lava.optimize.calibrate`); the given SNN stays uncalibrated. The factors
        of the chosen and the best uniform schedule are in ``result.calibration``. Float IF
        networks with static input only.
    reference_T : int, optional
        The long window the calibration matches; default ``4 * base_T``.
    buffer_kinds : sequence of BufferKind or str
        The buffer kinds the search may give each gap: ``"rate"`` (default, alone: the search
        of earlier releases, result for result) and ``"graded"``; the first is every gap's at
        the start, and with more than one the search also tries switching a gap's kind.
    executor : Executor, optional
        Where the evaluations run: default in this process
        (:class:`~ldsnn_lava.optimize.executor.InProcessExecutor`); a
        :class:`~ldsnn_lava.optimize.ray_executor.RayExecutor` spreads the validation split over
        Ray workers. The result is the same for any executor and number of workers (only
        ``seconds`` differs).

    Returns
    -------
    OptimizeResult

    Raises
    ------
    InvalidOption, InvalidNetwork
        For a bad argument (named in the message).
    InvalidInput
        For validation inputs or labels that do not fit the network (labels must be integers
        in ``[0, classes)``, one per sample).
    ResourceLimitError
        If the uniform sweep is estimated to exceed the time limit, or a batch at ``max_T``
        the memory limit (:mod:`ldsnn_lava.guards`).
    NumericalError
        If the network overflows float32 (:mod:`ldsnn_lava.numerics`).

    Warns
    -----
    LikelyPreprocessingMismatch
        When the given SNN is near chance on the validation split (see
        :func:`near_chance_warning`); the text is also kept in ``result.warnings``.

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
    base_T, max_T = _check_arguments(net, base_T, max_drop, cost_target, max_T, restarts,
                                     work_budget, seed, batch_size, val, strategy)
    precision = parse_option(Precision, precision, "precision")
    kinds = _check_buffer_kinds(buffer_kinds)
    progress = None if progress is None else validate.flag(progress, "progress")
    cost_fn = get_cost(cost, profile=profile)
    x, y = val
    chunk = base_T if net.input_encoding.is_sequence else None
    calibrator = _calibrator(net, calibration_x, reference_T or 4 * base_T, precision, kinds,
                             device)
    batch_size = _guarded_batch(net, x, base_T, max_T, chunk, precision, device, batch_size)
    executor = executor or InProcessExecutor()
    with executor.open_split(net, x, y, device=device, precision=precision,
                             batch_size=batch_size, keep_bytes=keep_bytes(), chunk=chunk,
                             network_for=None if calibrator is None else calibrator.network
                             ) as split:
        result = _search(split, x, base_T, max_drop, cost_fn, cost_target, max_T, restarts,
                         work_budget, seed, progress, kinds, strategy,
                         _Calibration(calibrator, device, batch_size))
    result.seconds = time.perf_counter() - start_time
    return result


@dataclass(frozen=True)
class _Calibration:
    """What the calibrated uniform baseline needs (``calibrator`` None: uncalibrated)."""

    calibrator: Calibrator | None
    device: str
    batch_size: int


def _search(split: ShardedSplit, x, base_T: int, max_drop: float | None, cost_fn: Cost,
            cost_target: float | None, max_T: int, restarts: int, work_budget: float | None,
            seed: int, progress: bool | None, kinds: tuple[BufferKind, ...], strategy: str,
            calibration: _Calibration) -> OptimizeResult:
    """The baselines, the descent and the restarts on a split placed on the workers (``x``:
    the split's inputs, for the near-chance warning and the calibrated baseline)."""
    calibrator = calibration.calibrator
    search: Search | None = None
    with Progress("optimize", "LD schedules evaluated", enabled=progress,
                  detail=lambda: _work_spent(search, work_budget)) as bar:
        uniform = _uniform_points(split, base_T, cost_fn)
        bar.line(f"; the given SNN and uniform T = 1..{base_T} evaluated")
        given = uniform[0]
        warning = near_chance_warning(given.accuracy, split.y, x)
        if warning is not None:
            warnings.warn(LikelyPreprocessingMismatch(warning), stacklevel=3)
        resolution = 1.0 / len(split.y)
        objective: Objective = (
            CostTarget(cost_target, resolution) if max_drop is None else
            AccuracyBudget(given.accuracy - max_drop / 100 - 1e-12, resolution))
        if calibrator is not None:
            uniform = [given] + _calibrated_uniform_points(
                calibrator, x, split.y, base_T, cost_fn, objective, calibration.device,
                calibration.batch_size)
        in_budget = [p for p in uniform if objective.acceptable(p)]
        best_uniform = min(in_budget, key=objective.rank) if in_budget else None

        search = Search(split, cost_fn, objective, work_budget, base_T,
                        on_points=bar.update, buffer_kinds=kinds)
        for p in uniform:
            search.add(p)
        history: list[dict] = []
        _descend_and_restart(search, start_point(search, best_uniform, base_T), max_T,
                             restarts, seed, strategy, history)

    chosen = _best_visited(search, objective, cost_target, cost_fn)
    best_uniform = best_uniform or min(uniform, key=objective.rank)  # none in budget: cheapest
    return OptimizeResult(
        schedule=chosen.schedule, chosen=chosen, given=given, best_uniform=best_uniform,
        front=pareto_front(search.visited), visited=search.visited, history=history,
        cost_name=cost_fn.name, cost_unit=cost_fn.unit, base_T=base_T, max_drop=max_drop,
        cost_target=cost_target,
        min_accuracy=objective.min_accuracy if max_drop is not None else None,
        stage_runs=[int(v) for v in split.stage_runs], work=search.work,
        work_budget=work_budget, warnings=[warning] if warning is not None else [],
        calibration=_calibration_record(calibrator, chosen, best_uniform),
    )


def _descend_and_restart(search: Search, start, max_T: int, restarts: int, seed: int,
                         strategy: str, history: list[dict]) -> None:
    """The descent from ``start``, then ``restarts`` seeded perturb-and-descend rounds; with
    ``strategy="coordinate"`` each descent's end is polished by :func:`line_search`."""
    objective = search.objective

    def polish(point: Point | None) -> Point | None:
        if (strategy == "coordinate" and isinstance(objective, AccuracyBudget)
                and point is not None and objective.feasible(point)):
            return line_search(search, point, max_T, history)
        return point

    best = polish(descend(search, start, max_T, history))
    rng = np.random.default_rng(seed)
    for _ in range(restarts):
        if best is None or search.exhausted:
            break
        end = polish(restart(search, best, rng, max_T, history))
        if end is not None and objective.feasible(end) and \
                objective.rank(end) < objective.rank(best):
            best = end


def _guarded_batch(net: Network, x, base_T: int, max_T: int, chunk: int | None,
                   precision: Precision, device, batch_size: int | None) -> int:
    """The batch size the search runs with (the engine's default, smaller where ``max_T``
    needs it), after refusing a uniform sweep or search beyond the memory or time limits
    (:mod:`ldsnn_lava.guards`)."""
    checked = validate.inputs(x, net, "validation input")
    samples = len(checked.x)
    windows = checked.x.shape[1] // chunk if chunk else 1  # chunks per sequence
    batch_given = batch_size is not None
    size = value_bytes(precision, torch.float32)
    if not batch_given:  # the engine's default batch, smaller where max_T needs it
        engine = StageEngine.of(net, validate.device(device), precision=precision)
        batch_size = guards.fitting_batch(net, [max_T] * net.num_stages, engine.batch_size(),
                                          size)
    batch = min(batch_size, samples)
    what = f"the uniform sweep up to base_T = {base_T}"
    sweep = guards.check_evaluation(net, [base_T] * net.num_stages, samples, batch,
                                    batch_given=batch_given, value_bytes=size, windows=windows,
                                    what=what)
    # the sweep then reads the readout at every T = 1..base_T, batch by batch, and makes a
    # point of each T
    guards.check_time(sweep.seconds + math.ceil(samples / batch) * base_T * guards.STEP_SECONDS
                      + base_T * guards.POINT_SECONDS, what)
    # the search's moves reach at most max_T in any stage
    guards.check_memory(guards.estimate_evaluation(net, [max_T] * net.num_stages, samples,
                                                   batch, size),
                        f"the search up to max_T = {max_T}", batch_given)
    return batch_size


def _calibrator(net: Network, calibration_x, reference_T: int, precision: Precision,
                kinds: tuple[BufferKind, ...], device: str) -> Calibrator | None:
    """The calibrator of ``optimize(calibration_x=...)``, or ``None`` without calibration."""
    if calibration_x is None:
        return None
    if precision != Precision.FLOAT:
        raise InvalidOption("calibration fits float networks; quantize after calibrating")
    if kinds != (BufferKind.RATE,):
        raise InvalidOption("calibration is fitted for rate buffers; give buffer_kinds=('rate',)")
    return Calibrator(net, calibration_x, reference_T, device=device)


def _calibration_record(calibrator: Calibrator | None, chosen: Point, best_uniform: Point
                        ) -> dict | None:
    """What ``result.calibration`` holds: the factors of the chosen and the uniform point."""
    if calibrator is None:
        return None

    def scales(point: Point) -> list[float]:  # the given SNN runs uncalibrated
        if point.kind == "given":
            return [1.0] * (calibrator.net.num_stages - 1)
        return list(calibrator.scales(point.schedule.timesteps))

    return {"method": "per-stage threshold factors (ldsnn_lava.optimize.calibrate)",
            "reference_T": calibrator.reference_T, "samples": int(calibrator.x.shape[0]),
            "chosen": scales(chosen), "best_uniform": scales(best_uniform)}


def _calibrated_uniform_points(calibrator: Calibrator, x, y, base_T: int, cost: Cost,
                               objective: Objective, device: str, batch_size: int | None
                               ) -> list[Point]:
    """Uniform T = 1, 2, ... (replay buffers), each with the network calibrated for its
    timesteps (one engine run per T: the networks differ), up to the first T that is
    acceptable to ``objective`` or ``base_T - 1``: a uniform schedule's work grows with T, so
    the first acceptable T is the cheapest uniform baseline."""
    points = []
    for T in range(1, base_T):
        schedule = Schedule.uniform(calibrator.net, T)
        run = evaluate(calibrator.network(schedule.timesteps), schedule, x, device=device,
                       batch_size=batch_size, record_spikes=False, progress=False)
        points.append(Point(schedule, run.accuracy(y), cost(schedule, run.counters),
                            run.counters, "uniform"))
        if objective.acceptable(points[-1]):
            break
    return points


def _check_buffer_kinds(kinds: Sequence[BufferKind | str]) -> tuple[BufferKind, ...]:
    """``kinds`` as distinct members, ``rate`` and ``graded`` only (``replay`` needs equal
    windows, which the uniform baselines cover)."""
    if isinstance(kinds, str) or not kinds:
        raise InvalidOption(f"buffer_kinds must be a non-empty sequence of 'rate' and "
                            f"'graded', got {kinds!r}")
    parsed = tuple(dict.fromkeys(parse_option(BufferKind, k, "buffer kind") for k in kinds))
    if BufferKind.REPLAY in parsed:
        raise InvalidOption("buffer_kinds: the search gives gaps 'rate' or 'graded' buffers; "
                            "'replay' schedules are the uniform baselines")
    return parsed


def _best_visited(search: Search, objective: Objective, cost_target, cost_fn: Cost):
    """The best acceptable point the search visited (with a cost target, an error naming the
    cheapest visited cost when none meets it)."""
    candidates = [p for p in search.visited if objective.acceptable(p)]
    if not candidates:
        cheapest = min(p.cost for p in search.visited)
        raise InvalidOption(f"no schedule visited meets cost target {cost_target:g} "
                            f"{cost_fn.unit}; the cheapest visited costs {cheapest:g}")
    return min(candidates, key=objective.rank)


CHANCE_MARGIN = 0.25
"""A given SNN less than this fraction of the way from chance to 100 % is "near chance"."""


def near_chance_warning(accuracy: float, labels, x) -> str | None:
    """A warning text when the given SNN's accuracy is near chance, else ``None``.

    Chance is the share of the most common label (what always guessing it scores). Below
    ``chance + CHANCE_MARGIN * (1 - chance)`` (32.5 % for ten balanced classes) the network
    almost certainly sees its input differently from how it was trained (scale, offset,
    layout), and optimizing its timesteps is meaningless: the message names the range of the
    input the network saw, the usual culprit.
    """
    labels = np.asarray(labels)
    chance = float(np.bincount(labels).max() / len(labels))
    if accuracy >= chance + CHANCE_MARGIN * (1.0 - chance):
        return None
    x = np.asarray(x)
    return (f"the given SNN scores {100 * accuracy:.1f} % on the validation split, near chance "
            f"({100 * chance:.1f} % by always guessing the most common class): likely a "
            f"preprocessing mismatch. Its input ranged over [{float(x.min()):.4g}, "
            f"{float(x.max()):.4g}]; check the range and layout the network was trained on "
            f"(the command line's --input-scale/--input-shift map x to x * scale + shift)")


def _work_spent(search: Search | None, work_budget: float | None) -> str:
    """The progress line's account of the work spent."""
    budget = "" if work_budget is None else f" of {work_budget:g}"
    work = 0.0 if search is None else search.work
    return f"work {work:.1f}{budget} passes of the given SNN"


def _check_arguments(net, base_T, max_drop, cost_target, max_T, restarts, work_budget,
                     seed, batch_size, val, strategy) -> tuple[int, int]:
    """Raise :class:`InvalidOption` (or InvalidNetwork) on a bad argument; returns ``base_T``
    and ``max_T`` (default ``2 base_T``) as ints."""
    if strategy not in STRATEGIES:
        raise InvalidOption(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if not isinstance(net, Network):
        raise InvalidNetwork(f"expected a Network, got {type(net).__name__}")
    base_T = validate.integer(base_T, "base_T", low=1, high=MAX_TIMESTEPS)
    if max_drop is None:
        if cost_target is None:
            raise InvalidOption("with max_drop=None give a cost_target > 0")
        validate.number(cost_target, "cost_target", low=0.0, low_open=True)
    else:
        if cost_target is not None:
            raise InvalidOption("give either max_drop or cost_target (with max_drop=None), "
                                "not both")
        if isinstance(max_drop, bool) or not isinstance(max_drop, numbers.Real) \
                or not math.isfinite(max_drop) or not 0 <= max_drop <= 100:
            raise InvalidOption(f"max_drop is in points of accuracy (1.0 = one point), "
                                f"allowed 0..100, got {max_drop!r}")
    max_T = min(2 * base_T, MAX_TIMESTEPS) if max_T is None else validate.integer(
        max_T, "max_T", high=MAX_TIMESTEPS)
    if max_T < base_T:
        raise InvalidOption(f"max_T ({max_T}) must be >= base_T ({base_T})")
    validate.integer(restarts, "restarts", low=0)
    if work_budget is not None:
        validate.number(work_budget, "work_budget (passes; None: unbounded)", low=0.0,
                        low_open=True)
    validate.integer(seed, "seed", low=0)
    if batch_size is not None:
        validate.integer(batch_size, "batch_size", low=1)
    if not isinstance(val, tuple | list) or len(val) != 2:
        raise InvalidOption(f"val must be a pair (x, y) of validation inputs and labels, got "
                            f"{type(val).__name__}" + (f" of {len(val)}" if isinstance(
                                val, tuple | list) else ""))
    return base_T, max_T


def _uniform_points(split: ShardedSplit, base_T: int, cost: Cost) -> list[Point]:
    """The given SNN at every T in base_T..1 (replay buffers), from one run at base_T."""
    sweep = split.uniform_sweep(base_T)
    return [Point(p.schedule, p.accuracy, cost(p.schedule, p.counters), p.counters,
                  "given" if p.schedule.timesteps[0] == base_T else "uniform")
            for p in reversed(sweep)]
