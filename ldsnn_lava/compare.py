"""Honest evaluation of an optimization on held-out data (``docs/design.md``, methodology).

:func:`held_out` runs the three schedules every result names (the given SNN at its base T,
the cheapest uniform schedule within budget, the LD schedule) on a split the search never
saw; :func:`time_held_out` measures their wall-clock as :mod:`ldsnn_lava.timing` defines it
(medians of warmed, interleaved repeats); :func:`comparison_table` prints them side by side with
each reduction as a ratio, and the wall-clock only when it was measured that way.
"""

from __future__ import annotations

import dataclasses

from ldsnn_lava.engine import EvalResult, evaluate
from ldsnn_lava.network import Network
from ldsnn_lava.optimize import OptimizeResult
from ldsnn_lava.options import Mode, parse_option
from ldsnn_lava.schedule import Schedule
from ldsnn_lava.timing import Timing, TimingSetup, interleaved

LABELS = {"given": "given SNN", "best_uniform": "cheapest uniform in budget", "ld": "LD-SNN"}
COLUMNS = (("synaptic_updates", "synaptic updates"), ("input_macs", "input MACs"),
           ("neurons_evaluated", "neurons evaluated"), ("buffer_updates", "buffer updates"))


def schedules_of(result: OptimizeResult, mode: Mode | str | None = None
                 ) -> dict[str, Schedule]:
    """The three schedules of a result (keys as :data:`LABELS`), in ``mode`` if given (the
    mode changes how a clocked runtime interleaves stages, never the results per sample)."""
    schedules = {"given": result.given.schedule, "best_uniform": result.best_uniform.schedule,
                 "ld": result.schedule}
    if mode is None:
        return schedules
    mode = parse_option(Mode, mode, "mode")
    return {key: dataclasses.replace(s, mode=mode) for key, s in schedules.items()}


def held_out(net: Network, result: OptimizeResult, x, *, device: str = "cpu",
             precision: str = "float", progress: bool | None = None,
             mode: Mode | str | None = None) -> dict[str, EvalResult]:
    """Evaluate the given SNN, the cheapest uniform schedule and the LD schedule on ``x``.

    Parameters
    ----------
    net : Network
    result : OptimizeResult
    x : array-like
        Held-out inputs (the test split), ``(N, *net.input_shape)``.
    device, precision : str
        As for :func:`ldsnn_lava.evaluate`.
    progress : bool, optional
    mode : Mode or str, optional
        Label the schedules with this mode (see :func:`schedules_of`).

    Returns
    -------
    dict of str to EvalResult
        Keys ``"given"``, ``"best_uniform"``, ``"ld"``.
    """
    return {key: evaluate(net, schedule, x, device=device, precision=precision,
                          record_spikes=False, progress=progress)
            for key, schedule in schedules_of(result, mode).items()}


def time_held_out(net: Network, schedules: dict[str, Schedule], x, repeats: int, *,
                  device: str = "cpu", precision: str = "float", warm_up: bool = True,
                  on_round=None) -> tuple[dict[str, Timing], TimingSetup]:
    """Wall-clock of evaluating each schedule on ``x``: medians of ``repeats`` warmed,
    interleaved runs (:func:`ldsnn_lava.timing.interleaved`).

    ``warm_up=False`` when each schedule was just evaluated on ``x`` (e.g. by
    :func:`held_out`): that run is the warm-up.
    """
    tasks = {key: (lambda s=schedule: evaluate(net, s, x, device=device, precision=precision,
                                               record_spikes=False, progress=False))
             for key, schedule in schedules.items()}
    return interleaved(tasks, repeats, warm_up=warm_up, device=device, what="schedule",
                       on_round=on_round)


def _ratio(before: float, after: float) -> str:
    if before == 0 or after == 0:
        return "n/a" if before == after else ("LD only" if before == 0 else "inf")
    return f"{before / after:.2f}x"


def comparison_table(results: dict[str, EvalResult], y,
                     timings: dict[str, Timing] | None = None) -> str:
    """A Markdown table of :func:`held_out`'s results with reductions as ratios.

    Ratios are baseline / LD: above 1 means the LD-SNN does less work (or is faster). Work
    the baseline does not do at all (buffer updates of a uniform schedule) reads "LD only".
    The wall-clock column appears only with ``timings`` from :func:`time_held_out`: each cell
    the median in seconds with the [min-max] of its runs, each ratio a ratio of medians with
    the range the spreads allow.
    """
    header = ["", "schedule", "accuracy", *[label for _, label in COLUMNS]]
    if timings is not None:
        header.append("wall-clock (s)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, res in results.items():
        cells = [LABELS[key], f"`{res.schedule}`", f"{100 * res.accuracy(y):.2f} %"]
        cells += [f"{res.counters.total[name]:,.0f}" for name, _ in COLUMNS]
        if timings is not None:
            cells.append(str(timings[key]))
        lines.append("| " + " | ".join(cells) + " |")
    ld = results["ld"]
    for key in ("given", "best_uniform"):
        base = results[key]
        drop = 100 * (ld.accuracy(y) - base.accuracy(y))
        cells = [f"reduction vs {LABELS[key]}", "", f"{drop:+.2f} pts"]
        cells += [_ratio(base.counters.total[name], ld.counters.total[name]) for name, _ in COLUMNS]
        if timings is not None:
            cells.append(str(timings[key].ratio_to(timings["ld"])))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
